"""End to end: the ``anzhi`` command on the demo county and on bad input."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pyproj import Geod

from anzhi.cli import main, parse_set_options
from anzhi.core.errors import InputError

GAPS_COLUMNS = [
    "site_id", "site_name", "county", "township", "population", "households", "facility_type",
    "rule_id", "status", "nearest_facility_id", "dist_m", "time_min", "reason",
]
ACCESS_COLUMNS = ["site_id", "facility_type", "nearest_facility_id", "dist_m", "time_min"]
STATUSES = {"ok", "ok_shared", "gap_missing", "gap_capacity", "unroutable"}


@pytest.fixture(scope="module")
def demo_run(demo, tmp_path_factory):  # type: ignore[no-untyped-def]
    out = tmp_path_factory.mktemp("cli") / "out"
    rc = main(["gaps", "--demo", "--out", str(out), "--quiet"])
    assert rc == 0
    return out


def test_gaps_demo_writes_the_four_files(demo_run: Path) -> None:
    names = sorted(p.name for p in demo_run.iterdir())
    assert names == ["access.csv", "coverage.csv", "gaps.csv", "gaps.gpkg", "gaps.xlsx"]
    gaps = pd.read_csv(demo_run / "gaps.csv", encoding="utf-8-sig")
    access = pd.read_csv(demo_run / "access.csv", encoding="utf-8-sig")
    assert list(gaps.columns[: len(GAPS_COLUMNS)]) == GAPS_COLUMNS
    assert set(ACCESS_COLUMNS) <= set(access.columns)
    assert set(gaps["status"]) <= STATUSES
    # The demo is built to have both served and unserved sites.
    assert (gaps["status"] == "gap_missing").any()
    assert gaps["status"].isin(["ok", "ok_shared"]).any()


def help_outputs(command: str, capsys: pytest.CaptureFixture[str]) -> set[str]:
    """The file names the ``outputs`` paragraph of ``anzhi COMMAND --help`` lists."""
    with pytest.raises(SystemExit):
        main([command, "--help"])
    text = capsys.readouterr().out
    block = re.search(r"^outputs.*?(?:\n\n|\Z)", text, flags=re.M | re.S)
    assert block is not None, f"anzhi {command} --help lists no outputs"
    return set(re.findall(r"[\w.]+\.(?:csv|xlsx|gpkg|tif|osm|txt|json)\b", block.group()))


def test_gaps_help_lists_exactly_the_files_a_run_writes(
        demo_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert help_outputs("gaps", capsys) == {p.name for p in demo_run.iterdir()}


def test_format_parquet_adds_geoparquet_that_geopandas_reads(
        demo_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import geopandas as gpd

    out = tmp_path / "pq"
    assert main(["gaps", "--demo", "--format", "parquet", "--out", str(out), "--quiet"]) == 0
    names = {p.name for p in out.iterdir()}
    assert names == {p.name for p in demo_run.iterdir()} | {"gaps.parquet", "sites.parquet"}
    gaps_csv = pd.read_csv(out / "gaps.csv", encoding="utf-8-sig", dtype={"site_id": str})
    gaps = gpd.read_parquet(out / "gaps.parquet")
    assert gaps.crs is not None and gaps.crs.to_epsg() == 4326
    assert len(gaps) == len(gaps_csv)
    assert (gaps["status"].value_counts().sort_index()
            == gaps_csv["status"].value_counts().sort_index()).all()
    sites = gpd.read_parquet(out / "sites.parquet")
    assert set(sites["site_id"].astype(str)) == set(gaps_csv["site_id"])
    # the help says so
    with pytest.raises(SystemExit):
        main(["gaps", "--help"])
    text = capsys.readouterr().out
    assert "--format" in text and "gaps.parquet" in text and "sites.parquet" in text


def test_demo_help_lists_exactly_the_demo_files(demo, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    assert help_outputs("demo", capsys) == {p.name for p in Path(demo.root).iterdir()}


def test_every_site_is_in_access_and_every_site_has_a_clinic_check(demo_run: Path, demo) -> None:  # type: ignore[no-untyped-def]
    from layers.sites import read_sites

    sites = read_sites(demo.sites)
    access = pd.read_csv(demo_run / "access.csv", encoding="utf-8-sig", dtype={"site_id": str})
    gaps = pd.read_csv(demo_run / "gaps.csv", encoding="utf-8-sig", dtype={"site_id": str})
    # one access row per site and type: no site silently dropped
    per_type = access.groupby("facility_type")["site_id"].apply(lambda s: sorted(s))
    for ids in per_type:
        assert ids == sorted(sites["site_id"])
    clinic = gaps[gaps["rule_id"] == "health-every-site"]
    assert sorted(clinic["site_id"]) == sorted(sites["site_id"])
    # unroutable sites carry their reason instead of a distance
    unroutable = access[access["reason"].fillna("").ne("")]
    assert unroutable["dist_m"].isna().all()


def test_police_rules_follow_the_thresholds(demo_run: Path) -> None:
    gaps = pd.read_csv(demo_run / "gaps.csv", encoding="utf-8-sig")
    p800 = gaps[gaps["rule_id"] == "police-800"]
    p3000 = gaps[gaps["rule_id"] == "police-3000"]
    assert (p800["population"] >= 800).all() and len(p800) > 0
    assert (p3000["population"] >= 3000).all() and len(p3000) > 0
    assert len(p3000) < len(p800)


def test_set_override_changes_the_gap_list(demo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "whatif"
    assert main(["gaps", "--demo", "--set", "police-800.min_population=1000", "--out", str(out), "--quiet"]) == 0
    gaps = pd.read_csv(out / "gaps.csv", encoding="utf-8-sig")
    assert (gaps.loc[gaps["rule_id"] == "police-800", "population"] >= 1000).all()


def test_demo_sites_load_within_1m_of_truth(demo) -> None:  # type: ignore[no-untyped-def]
    """The demo's xlsx has Chinese headers and GCJ-02 coordinates; loading recovers WGS84."""
    from layers.sites import read_sites

    raw = pd.read_excel(demo.sites)
    assert {"安置点名称", "人数", "经度", "纬度"} <= set(raw.columns)
    sites = read_sites(demo.sites)
    truth = pd.read_csv(demo.root / "sites_truth.csv", dtype={"site_id": str}).set_index("site_id")
    t = truth.loc[sites["site_id"]]
    _, _, d = Geod(ellps="WGS84").inv(sites.geometry.x.to_numpy(), sites.geometry.y.to_numpy(),
                                      t["lon"].to_numpy(), t["lat"].to_numpy())
    assert np.max(d) < 1.0
    _, _, shift = Geod(ellps="WGS84").inv(raw["经度"].to_numpy(float), raw["纬度"].to_numpy(float),
                                          t["lon"].to_numpy(), t["lat"].to_numpy())
    assert np.min(shift) > 100.0  # the raw GCJ-02 positions really are shifted


def test_bad_site_table_exits_2_and_writes_nothing(demo, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    bad = pd.read_excel(demo.sites).astype(object)
    bad.loc[2, "人数"] = -5
    bad.loc[4, "人数"] = "很多"
    lon = bad.loc[6, "经度"]
    bad.loc[6, "经度"] = bad.loc[6, "纬度"]
    bad.loc[6, "纬度"] = lon
    path = tmp_path / "坏的安置点.xlsx"
    bad.to_excel(path, index=False)
    before = path.read_bytes()
    out = tmp_path / "out"
    rc = main(["gaps", "--sites", str(path), "--roads", str(demo.roads),
               "--facilities", str(demo.facilities), "--out", str(out), "--quiet"])
    err = capsys.readouterr().err
    assert rc == 2
    assert "坏的安置点.xlsx" in err
    assert "row 4" in err and "row 6" in err and "row 8" in err  # header is row 1
    assert "人数" in err and "-5" in err and "很多" in err
    assert "swap" in err
    assert not out.exists()
    assert path.read_bytes() == before  # input files are never modified


def test_failed_run_leaves_existing_outputs_alone(demo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "out"
    out.mkdir()
    (out / "gaps.csv").write_text("previous run\n", encoding="utf-8")
    rc = main(["gaps", "--sites", str(tmp_path / "missing.xlsx"), "--roads", str(demo.roads),
               "--out", str(out), "--quiet"])
    assert rc == 2
    assert sorted(p.name for p in out.iterdir()) == ["gaps.csv"]
    assert (out / "gaps.csv").read_text(encoding="utf-8") == "previous run\n"


def test_missing_inputs_are_named(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    rc = main(["gaps", "--out", str(tmp_path / "o")])
    assert rc == 2
    assert "--sites and --roads" in capsys.readouterr().err


def test_parse_set_options() -> None:
    assert parse_set_options(["police-800.min_population=1000", "health-every-site.max_time_min=22.5"]) == {
        "police-800.min_population": 1000,
        "health-every-site.max_time_min": 22.5,
    }
    with pytest.raises(InputError, match="RULE.FIELD=VALUE.*'police800'"):
        parse_set_options(["police800"])


def test_console_script_is_installed() -> None:
    exe = Path(sys.executable).with_name("anzhi")
    out = subprocess.run([str(exe), "gaps", "--help"], capture_output=True, text=True, check=True)
    assert "--coords" in out.stdout and "gcj02" in out.stdout


def test_unreadable_dem_is_a_clear_error(demo, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    dem = tmp_path / "dem.tif"
    dem.write_text("not a raster", encoding="utf-8")
    rc = main(["gaps", "--sites", str(demo.sites), "--roads", str(demo.roads), "--dem", str(dem),
               "--out", str(tmp_path / "out"), "--quiet"])
    assert rc == 2
    assert "dem.tif: cannot open the DEM" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_hazard_screen_is_in_the_gap_outputs_when_a_dem_is_given(demo_run: Path) -> None:
    gaps = pd.read_csv(demo_run / "gaps.csv", encoding="utf-8-sig")
    per_site = gaps.drop_duplicates("site_id")
    assert {"slope_deg", "share_gt25", "hazard", "hazard_reason"} <= set(gaps.columns)
    flagged = per_site[per_site["hazard"].astype(bool)]
    assert 0 < len(flagged) < len(per_site)
    # the flag follows the screen's thresholds (25° at the site, 30% > 25° within 100 m)
    assert ((flagged["slope_deg"] > 25) | (flagged["share_gt25"] > 0.3)).all()
    calm = per_site[~per_site["hazard"].astype(bool) & per_site["slope_deg"].notna()]
    assert ((calm["slope_deg"] <= 25) & (calm["share_gt25"] <= 0.3)).all()
    assert flagged["hazard_reason"].str.contains("地质灾害").all()


def test_no_dem_means_no_hazard_columns(demo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "nodem"
    rc = main(["gaps", "--sites", str(demo.sites), "--roads", str(demo.roads),
               "--facilities", str(demo.facilities), "--out", str(out), "--quiet"])
    assert rc == 0
    gaps = pd.read_csv(out / "gaps.csv", encoding="utf-8-sig")
    assert "hazard" not in gaps.columns


@pytest.mark.parametrize("command", ["gaps", "access", "slope", "slope-aspect", "land",
                                     "land-into-dem"])
def test_no_command_replaces_its_input(demo, tmp_path: Path, command: str,  # type: ignore[no-untyped-def]
                                       capsys: pytest.CaptureFixture[str]) -> None:
    """Refused before anything runs (issue 18.4): the error names both paths, the inputs'
    bytes are unchanged and nothing is added next to them."""
    dem = tmp_path / "dem.tif"
    dem.write_bytes(Path(demo.dem).read_bytes())
    sites = tmp_path / "gaps.csv"  # named like an output of `gaps --out FOLDER`
    sites.write_text("安置点名称,经度,纬度,人数\nA,99.2,24.7,100\n", encoding="utf-8")
    link = tmp_path / "link.csv"
    link.symlink_to(sites)  # an --out that links to the input is the input
    before = {p: p.read_bytes() for p in (dem, sites)}
    args, named = {
        "gaps": (["gaps", "--sites", str(sites), "--roads", str(demo.roads), "--out",
                  str(tmp_path)], str(sites)),
        "access": (["access", "--sites", str(sites), "--roads", str(demo.roads), "--out",
                    str(link)], str(link)),
        "slope": (["slope", "--dem", str(dem), "--out", str(dem)], str(dem)),
        "slope-aspect": (["slope", "--dem", str(dem), "--out", str(tmp_path / "s.tif"),
                          "--aspect", str(dem)], str(dem)),
        "land": (["land", "--dem", str(dem), "--parcels", str(demo.parcels), "--out",
                  str(tmp_path / "s" / "..")], "slope.tif"),
        "land-into-dem": (["land", "--dem", str(dem), "--parcels", str(demo.parcels),
                           "--out", str(dem)], f"output folder {dem}"),
    }[command]
    if command == "land":
        (tmp_path / "s").mkdir()
        (tmp_path / "slope.tif").symlink_to(dem)  # land would write slope.tif over the DEM
    names = {p.name for p in tmp_path.iterdir()}
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "is also an input" in err and named in err and "--out" in err  # what and the fix
    assert "Traceback" not in err
    assert {p: p.read_bytes() for p in (dem, sites)} == before
    assert {p.name for p in tmp_path.iterdir()} == names


def test_demo_with_facilities_replaces_the_demo_layer(demo, demo_run: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import geopandas as gpd

    # the demo's facility layer without its police rooms, given back with --demo
    fac = gpd.read_file(demo.facilities, layer="facilities")
    fewer = tmp_path / "fewer.gpkg"
    fac[fac["facility_type"] != "police_room"].to_file(fewer, layer="facilities", driver="GPKG")
    out = tmp_path / "out"
    assert main(["gaps", "--demo", "--facilities", str(fewer), "--out", str(out), "--quiet"]) == 0
    got = pd.read_csv(out / "gaps.csv", encoding="utf-8-sig")
    base = pd.read_csv(demo_run / "gaps.csv", encoding="utf-8-sig")
    police = got[got["facility_type"] == "police_room"]
    assert len(police) and police["status"].isin(["gap_missing", "unroutable"]).all()
    assert (base.loc[base["facility_type"] == "police_room", "status"] == "ok").any()
    # every other type is judged as before
    other = lambda g: g[g["facility_type"] != "police_room"].reset_index(drop=True)  # noqa: E731
    pd.testing.assert_frame_equal(other(got).loc[:, ["site_id", "rule_id", "status"]],
                                  other(base).loc[:, ["site_id", "rule_id", "status"]])
