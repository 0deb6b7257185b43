"""``anzhi site`` (issue 14): recommended facilities for the demo county, checked by running
the gap evaluation again with them — the gaps the solution claims to close must be closed."""

from __future__ import annotations

import json
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from openpyxl import load_workbook

from anzhi.cli import main
from anzhi.pipeline import RegionInputs, load_region, run_region
from layers.siting import FACILITIES_AFTER_COLUMNS, SITE_STATUS_COLUMNS, SITING_COLUMNS, SITING_FILES

TYPES = ("clinic", "police_room")
#: A run with capacity gaps: the demo's two kindergartens too small for their sites, and
#: police rooms made too small by a stricter norm (2,000 residents per officer, not 5,000).
CAP_TYPES = ("police_room", "kindergarten")
CAP_SET = {"police-ratio.max_per_unit": 2000}


def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, encoding="utf-8-sig", keep_default_na=False, na_values=[""],
                       dtype={"covers": str, "served_by": str, "site_id": str})


@pytest.fixture(scope="module")
def lscp_dir(demo, tmp_path_factory: pytest.TempPathFactory) -> Path:  # type: ignore[no-untyped-def]
    out = tmp_path_factory.mktemp("site") / "lscp"
    code = main(["site", "--demo", "--type", ",".join(TYPES), "--model", "lscp", "--out",
                 str(out), "--quiet"])
    assert code == 0
    return out


@pytest.fixture(scope="module")
def mclp_dir(demo, tmp_path_factory: pytest.TempPathFactory) -> Path:  # type: ignore[no-untyped-def]
    out = tmp_path_factory.mktemp("site") / "mclp"
    code = main(["site", "--demo", "--type", "clinic", "--model", "mclp", "--budget", "2",
                 "--out", str(out), "--quiet"])
    assert code == 0
    return out


@pytest.fixture(scope="module")
def cap_dir(demo, tmp_path_factory: pytest.TempPathFactory) -> Path:  # type: ignore[no-untyped-def]
    out = tmp_path_factory.mktemp("site") / "capacity"
    sets = [a for k, v in CAP_SET.items() for a in ("--set", f"{k}={v}")]
    code = main(["site", "--demo", "--type", ",".join(CAP_TYPES), "--model", "lscp", *sets,
                 "--out", str(out), "--quiet"])
    assert code == 0
    return out


def _gaps_after(demo, folder: Path, overrides: dict[str, float] | None = None  # type: ignore[no-untyped-def]
                ) -> pd.DataFrame:
    """The gap list of the demo county with ``facilities_after.csv`` as its facility file."""
    inputs = RegionInputs(sites=demo.sites, roads=demo.roads, dem=demo.dem,
                          facilities=(folder / "facilities_after.csv",))
    return run_region(inputs, progress=False, overrides=overrides).gaps


def test_lscp_outputs_and_columns(lscp_dir: Path) -> None:
    for name in SITING_FILES:
        assert (lscp_dir / name).is_file(), name
    rec = _read(lscp_dir / "siting.csv")
    assert tuple(rec.columns[:len(SITING_COLUMNS)]) == SITING_COLUMNS
    assert set(rec["facility_type"]) == set(TYPES)
    assert not rec.duplicated(["facility_type", "candidate_id"]).any()
    assert ((rec["lon"] > 99.0) & (rec["lon"] < 99.6) & (rec["lat"] > 24.4) & (rec["lat"] < 25.0)).all()
    # GCJ-02 is shifted by a few hundred metres in this part of China
    shift = np.hypot(rec["lon_gcj02"] - rec["lon"], rec["lat_gcj02"] - rec["lat"])
    assert ((shift > 1e-3) & (shift < 1e-2)).all()
    assert (rec["sites_covered"] == rec["covers"].fillna("").map(
        lambda s: len(s.split(";")) if s else 0)).all()
    st = _read(lscp_dir / "site_status.csv")
    assert tuple(st.columns) == SITE_STATUS_COLUMNS
    # LSCP covers every required site that can be covered
    assert set(st["change"]) <= {"already_covered", "newly_covered", "uncoverable"}
    newly = st[st["change"] == "newly_covered"]
    assert len(newly) > 0 and newly["served_by"].notna().all()
    assert int(rec["sites_covered"].sum()) == len(newly)
    assert rec["pop_covered_new"].sum() == pytest.approx(newly["population"].sum())
    fac = _read(lscp_dir / "facilities_after.csv")
    assert tuple(fac.columns) == FACILITIES_AFTER_COLUMNS
    assert (fac["status"] == "recommended").sum() == len(rec)
    assert fac["facility_id"].is_unique


@pytest.mark.parametrize("run", ["lscp_dir", "cap_dir"])
def test_lscp_closes_the_gaps_it_claims(demo, run: str, request: pytest.FixtureRequest) -> None:  # type: ignore[no-untyped-def]
    folder: Path = request.getfixturevalue(run)
    overrides = CAP_SET if run == "cap_dir" else None
    st = _read(folder / "site_status.csv")
    before = pd.read_csv(folder / "site_status.csv", encoding="utf-8-sig")
    assert (~before["covered_before"]).sum() > 0  # there were gaps to close
    gaps = _gaps_after(demo, folder, overrides)
    claimed = st[st["covered_after"]]
    rows = gaps.merge(claimed[["site_id", "facility_type", "change", "status_before"]],
                      on=["site_id", "facility_type"], how="inner")
    assert len(rows) >= len(claimed)  # every claimed site × type has its rule rows
    # covered means covered: within reach and big enough (no gap_capacity left)
    bad = rows[~rows["status"].isin(["ok", "ok_shared"])]
    assert bad.empty, bad[["site_id", "facility_type", "rule_id", "status", "reason_en"]]
    newly = rows[rows["change"] == "newly_covered"]
    assert len(newly) > 0 and newly["status"].isin(["ok", "ok_shared"]).all()
    if run == "cap_dir":
        # the capacity gaps were demand, and anzhi gaps finds them closed
        was_cap = st[(st["status_before"] == "gap_capacity")]
        assert set(was_cap["facility_type"]) == set(CAP_TYPES)
        assert was_cap["covered_after"].all() and (was_cap["change"] == "newly_covered").all()


def test_new_facilities_sized_to_the_demand_they_serve(lscp_dir: Path, cap_dir: Path) -> None:
    rec = _read(cap_dir / "siting.csv")
    cap = rec["capacity"].to_numpy(dtype=float)
    assert (cap >= 1).all() and (cap == np.round(cap)).all()  # whole places / officers
    fac = _read(cap_dir / "facilities_after.csv")
    new = fac[fac["status"] == "recommended"].set_index("facility_id")["capacity"]
    assert new.loc[rec["facility_id"]].tolist() == rec["capacity"].tolist()
    # a stricter norm on the same run needs more officers than one per room
    assert rec.loc[rec["facility_type"] == "police_room", "capacity"].max() > 1
    # a type without a capacity norm has no capacity
    clinic = _read(lscp_dir / "siting.csv")
    assert clinic.loc[clinic["facility_type"] == "clinic", "capacity"].isna().all()


def test_lscp_after_siting_needs_nothing_more(demo, lscp_dir: Path) -> None:  # type: ignore[no-untyped-def]
    # the existing facilities now include the recommended ones: LSCP must find 0 new ones
    from anzhi.siting import site_region

    inputs = RegionInputs(sites=demo.sites, roads=demo.roads, dem=demo.dem,
                          facilities=(lscp_dir / "facilities_after.csv",))
    run = site_region(inputs, types=TYPES, model="lscp", progress=False)
    assert [t.n_new for t in run.result.types] == [0, 0]
    st = run.tables.site_status
    assert (st["change"] == "already_covered").all()


def test_capacity_run_after_siting_needs_nothing_more(demo, cap_dir: Path) -> None:  # type: ignore[no-untyped-def]
    # the recommended facilities with their capacity make every site covered and big enough
    from anzhi.siting import site_region

    inputs = RegionInputs(sites=demo.sites, roads=demo.roads, dem=demo.dem,
                          facilities=(cap_dir / "facilities_after.csv",))
    run = site_region(inputs, types=CAP_TYPES, model="lscp", overrides=CAP_SET, progress=False)
    assert [t.n_new for t in run.result.types] == [0, 0]
    assert (run.tables.site_status["change"] == "already_covered").all()


def test_xlsx_sheets_and_gpkg_layers(lscp_dir: Path) -> None:
    wb = load_workbook(lscp_dir / "siting.xlsx", read_only=True)
    assert wb.sheetnames == ["推荐选址", "安置点状态", "覆盖率", "说明"]
    head = [c.value for c in next(wb["推荐选址"].iter_rows(max_row=1))]
    assert head[:4] == ["设施类型", "候选点编号", "经度(WGS84)", "纬度(WGS84)"]
    assert {"经度(GCJ-02)", "新覆盖人数", "覆盖的安置点", "候选点来源", "新设施编号"} <= set(head)
    notes = {r[0]: r[1] for r in wb["说明"].iter_rows(min_row=2, values_only=True)}
    assert notes["最优性间隙"] == "0.0000%"
    assert "exact" in notes["求解方法"]
    assert int(notes["可用候选点"]) > 100
    assert any(k.startswith("排除:坡度大于 25°") for k in notes)  # the demo has a DEM
    layers = {name for name, _ in pyogrio.list_layers(lscp_dir / "siting.gpkg")}
    assert layers == {"recommended", "site_status", "candidates", "links"}
    cand = gpd.read_file(lscp_dir / "siting.gpkg", layer="candidates")
    assert set(cand["excluded"].fillna("")) <= {"", "steep_slope", "off_network", "exclusion_area"}
    assert (cand["chosen"].fillna("") != "").sum() >= 1
    links = gpd.read_file(lscp_dir / "siting.gpkg", layer="links")
    assert (links.geom_type == "LineString").all()


def test_mclp_budget_respected_and_claims_hold(demo, mclp_dir: Path) -> None:  # type: ignore[no-untyped-def]
    rec = _read(mclp_dir / "siting.csv")
    assert 1 <= len(rec) <= 2 and set(rec["facility_type"]) == {"clinic"}
    st = _read(mclp_dir / "site_status.csv")
    assert (st["change"] == "still_gap").any()  # two clinics cannot close every gap
    gaps = _gaps_after(demo, mclp_dir)
    newly = st.loc[st["change"] == "newly_covered", "site_id"]
    rows = gaps[(gaps["facility_type"] == "clinic") & gaps["site_id"].isin(newly)]
    assert len(rows) == len(newly) and rows["status"].isin(["ok", "ok_shared"]).all()


def test_larger_budget_never_covers_fewer_people(demo) -> None:  # type: ignore[no-untyped-def]
    from anzhi.siting import prepare_siting, solve_siting

    prep = prepare_siting(RegionInputs.demo(), types=TYPES, progress=False)
    covered = []
    for b in range(0, 6):
        run = solve_siting(prep, model="mclp", budget=b)
        assert all(t.n_new <= b for t in run.result.types)
        covered.append(run.result.objective)
    assert all(a <= b + 1e-9 for a, b in zip(covered, covered[1:]))
    assert covered[-1] > covered[0]
    per_type = solve_siting(prep, model="mclp", budget={"clinic": 1, "police_room": 0})
    assert [t.n_new for t in per_type.result.types] == [1, 0]
    pm = [solve_siting(prep, model="pmedian", budget=b).result.objective for b in (0, 1, 3)]
    assert pm[0] >= pm[1] >= pm[2]


def _error(args: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    code = main(args)
    err = capsys.readouterr().err
    assert code == 2, err
    return err


@pytest.mark.parametrize("args, expected", [
    (["--model", "mclp", "--budget", "-1"], r"--budget '-1': '-1' is not a whole number >= 0 — fix"),
    (["--model", "mclp", "--budget", "clinic=x"], r"'x' is not a whole number >= 0"),
    (["--model", "mclp"], r"model mclp needs a budget .* fix: give --budget N"),
    (["--model", "lscp", "--budget", "3"], r"LSCP finds the fewest .* fix: drop --budget"),
    (["--model", "mclp", "--budget", "kindergarten=1"], r"budget for 'kindergarten', which is not sited"),
])
def test_bad_budgets(args: list[str], expected: str, tmp_path: Path,
                     capsys: pytest.CaptureFixture[str]) -> None:
    err = _error(["site", "--demo", "--type", "clinic", *args, "--out", str(tmp_path / "o"),
                  "--quiet"], capsys)
    assert re.search(expected, err), err
    assert not (tmp_path / "o").exists()


def test_type_without_rule(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = _error(["site", "--demo", "--type", "clinic,village_committee", "--model", "lscp",
                  "--out", str(tmp_path / "o"), "--quiet"], capsys)
    assert "facility type(s) ['village_committee'] have no rule" in err
    assert "types with rules:" in err and "clinic" in err and "fix:" in err


def test_candidates_without_geometry(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    table = tmp_path / "parcels.gpkg"
    pyogrio.write_dataframe(pd.DataFrame({"id": ["P1", "P2"]}), table, driver="GPKG")
    err = _error(["site", "--demo", "--type", "clinic", "--model", "lscp", "--candidates",
                  str(table), "--out", str(tmp_path / "o"), "--quiet"], capsys)
    assert "parcels.gpkg: the candidate layer has no geometry" in err and "fix:" in err
    nulls = tmp_path / "nulls.geojson"
    nulls.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"id": "P1"}, "geometry": None}]}), encoding="utf-8")
    err = _error(["site", "--demo", "--type", "clinic", "--model", "lscp", "--candidates",
                  str(nulls), "--out", str(tmp_path / "o"), "--quiet"], capsys)
    assert "a candidate has no geometry" in err and "row 1" in err


def test_all_candidates_excluded(demo, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    box = tmp_path / "red_line.gpkg"
    gpd.GeoDataFrame({"name": ["all"]}, geometry=[shapely.box(98.0, 23.0, 101.0, 26.0)],
                     crs="EPSG:4326").to_file(box, driver="GPKG")
    err = _error(["site", "--demo", "--type", "clinic", "--model", "lscp", "--exclude", str(box),
                  "--out", str(tmp_path / "o"), "--quiet"], capsys)
    assert "candidates are excluded (inside an exclusion layer" in err
    assert "fix: give fewer or smaller --exclude layers" in err


def test_user_candidates_and_exclusions_counted(demo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from anzhi.siting import prepare_siting, solve_siting

    inputs = RegionInputs.demo()
    site_pts = load_region(inputs).sites
    first = site_pts.geometry.iloc[0]
    # parcels: two squares of ~100 m, one of them at the first site
    parcels = gpd.GeoDataFrame(
        {"地块编号": ["A-1", "A-2"]},
        geometry=[shapely.box(first.x - 5e-4, first.y - 5e-4, first.x + 5e-4, first.y + 5e-4),
                  shapely.box(first.x + 0.01, first.y, first.x + 0.011, first.y + 0.001)],
        crs="EPSG:4326")
    parcels.to_file(tmp_path / "parcels.gpkg", driver="GPKG")
    red = gpd.GeoDataFrame(geometry=[first.buffer(0.003)], crs="EPSG:4326")
    red.to_file(tmp_path / "red.gpkg", driver="GPKG")
    prep = prepare_siting(inputs, types="clinic", candidates=tmp_path / "parcels.gpkg",
                          exclude=[tmp_path / "red.gpkg"], progress=False)
    user = prep.candidates.source == "user"
    assert prep.ids[user].tolist() == ["A-1", "A-2"]
    assert prep.excluded[user][0] == "exclusion_area"  # inside the red line
    site0 = prep.ids.tolist().index(f"site:{site_pts['site_id'].iloc[0]}")
    assert prep.excluded[site0] == "exclusion_area"
    notes = {en: v for _, en, v in prep.notes}
    n_inside = int(notes["excluded: inside an exclusion layer"])
    assert n_inside >= 2 and notes["candidates inside red.gpkg"] == str(n_inside)
    run = solve_siting(prep, model="mclp", budget=1)
    assert len(run.tables.recommended) == 1
    assert "A-1" not in set(run.tables.recommended["candidate_id"])


def test_uncoverable_sites_named_by_id(demo) -> None:  # type: ignore[no-untyped-def]
    from anzhi.siting import site_region

    run = site_region(RegionInputs.demo(), types="primary_school", model="mclp", budget=0,
                      progress=False)
    t = run.result["primary_school"]
    ids = run.prep.data.sites["site_id"].astype(str).to_numpy()
    st = run.tables.site_status
    assert set(st.loc[st["change"] == "uncoverable", "site_id"]) == set(ids[t.uncoverable])
    if len(t.uncoverable):  # the demo has one (its only candidate, the site, is too steep)
        assert all(i in run.note for i in ids[t.uncoverable[:10]])
        assert "(sites " not in run.note  # positions are never shown
    assert run.result.objective == pytest.approx(
        st.loc[st["covered_before"], "population"].sum())


def test_candidate_ids_checked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pts = gpd.GeoDataFrame({"编号": ["A", "A", None]},
                           geometry=gpd.points_from_xy([99.2, 99.21, 99.22], [24.7] * 3),
                           crs="EPSG:4326")
    pts.to_file(tmp_path / "pts.gpkg", driver="GPKG")
    err = _error(["site", "--demo", "--type", "clinic", "--model", "lscp", "--candidates",
                  str(tmp_path / "pts.gpkg"), "--out", str(tmp_path / "o"), "--quiet"], capsys)
    assert "candidate id 'A' occurs twice (rows 1 and 2)" in err
    assert "blank candidate id" in err and "row 3" in err


def test_slope_at_candidates_is_the_slope_raster(demo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import pyproj
    import rasterio

    from anzhi.siting import prepare_siting
    from layers.terrain import write_slope

    prep = prepare_siting(RegionInputs.demo(), types="police_room", progress=False)
    slope_tif = write_slope(demo.dem, tmp_path / "slope.tif")
    c = prep.candidates
    with rasterio.open(slope_tif) as src:
        tr = pyproj.Transformer.from_crs("EPSG:4326", src.crs, always_xy=True)
        x, y = tr.transform(c.lon, c.lat)
        want = np.array([v[0] for v in src.sample(zip(x, y), masked=False)], dtype=float)
        if src.nodata is not None:
            want[want == src.nodata] = np.nan
    got = prep.slope_deg
    both = np.isfinite(want) & np.isfinite(got)
    assert both.mean() > 0.95
    np.testing.assert_allclose(got[both], want[both], rtol=1e-6, atol=1e-4)
    steep = prep.excluded == "steep_slope"
    assert steep.any() and (got[steep] > 25).all() and not (got[~steep & both] > 25).any()


def test_help_lists_exactly_the_files_a_run_writes(lscp_dir: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["site", "--help"])
    text = capsys.readouterr().out
    block = re.search(r"^outputs.*?(?:\n\n|\Z)", text, flags=re.M | re.S)
    assert block is not None
    listed = set(re.findall(r"[\w.]+\.(?:csv|xlsx|gpkg)\b", block.group()))
    assert listed == {p.name for p in lscp_dir.iterdir()} == set(SITING_FILES)
    for word in ("lscp", "mclp", "pmedian", "TYPE=N", "--exclude", "--candidates"):
        assert word in text
