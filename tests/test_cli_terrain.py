"""``anzhi slope`` and ``anzhi land`` end to end on the demo county: tables, the candidates' clause,
exclusion layers and the out-migration ledger."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rasterio

from analysis.land import PARCEL_COLUMNS, VILLAGE_COLUMNS
from anzhi.cli import SUBCOMMAND_MODULES, main
from tests.test_cli import help_outputs


def test_terrain_commands_are_registered() -> None:
    assert "anzhi.cli.terrain" in SUBCOMMAND_MODULES


def test_slope_command(demo, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "slope.tif"
    assert main(["slope", "--dem", str(demo.dem), "--out", str(out), "--aspect", str(tmp_path / "a.tif")]) == 0
    assert "slope:" in capsys.readouterr().out
    with rasterio.open(out) as ds:
        assert ds.profile["tiled"] and ds.nodata == -9999.0
        assert 0 < float(ds.read(1, masked=True).max()) < 90
    assert (tmp_path / "a.tif").exists()


def test_land_command(demo, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "land"
    assert main(["land", "--dem", str(demo.dem), "--parcels", str(demo.parcels), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "ha > 25°" in text
    # --help lists exactly what the run wrote (the demo has steep land, so steep_gt25.gpkg too)
    assert help_outputs("land", capsys) == {p.name for p in out.iterdir()}
    assert {p.name for p in out.iterdir()} == {"land_parcels.csv", "land_villages.csv", "land.xlsx",
                                               "land.gpkg", "steep_gt25.gpkg", "slope.tif",
                                               "land_ledger.csv"}
    parcels = pd.read_csv(out / "land_parcels.csv", encoding="utf-8-sig")
    villages = pd.read_csv(out / "land_villages.csv", encoding="utf-8-sig")
    assert list(parcels.columns) == list(PARCEL_COLUMNS)
    assert list(villages.columns) == list(VILLAGE_COLUMNS)
    assert parcels["share_gt25"].between(0, 1).all()
    assert villages["area_gt25_m2"].sum() == pytest.approx(parcels["area_gt25_m2"].sum())


def test_land_command_writes_english_headers(demo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from openpyxl import load_workbook

    out = tmp_path / "land"
    assert main(["land", "--demo", "--lang", "en", "--format", "parquet", "--out", str(out)]) == 0
    wb = load_workbook(out / "land.xlsx", read_only=True)
    assert wb.sheetnames == ["Parcels", "Villages", "Candidates", "Ledger", "Notes"]
    assert [c.value for c in next(wb["Parcels"].iter_rows(max_row=1))][:5] == [
        "Parcel ID", "Village", "Land use", "Area (m²)", "Area (ha)"]
    cand = [c.value for c in next(wb["Candidates"].iter_rows(max_row=1))]
    assert cand[-3:] == ["Basis", "Caveat", "Suggested measure"]
    ledger = pd.read_csv(out / "land_ledger.csv", encoding="utf-8-sig")
    assert list(ledger.columns)[:5] == ["Parcel ID", "Village", "Household ID", "Land use", "Ledger status"]
    assert set(ledger["Ledger status"]) == {"demolished", "reclaimed", "pending"}
    # --format parquet: the parcels with their polygons, read back by geopandas
    import geopandas as gpd

    pq = gpd.read_parquet(out / "land_parcels.parquet")
    csv = pd.read_csv(out / "land_parcels.csv", encoding="utf-8-sig", dtype={"parcel_id": str})
    assert pq.crs is not None and pq.crs.to_epsg() == 4326 and len(pq) == len(csv)
    assert list(pq["parcel_id"].astype(str)) == list(csv["parcel_id"])
    assert pq["area_gt25_m2"].sum() == pytest.approx(csv["area_gt25_m2"].sum())
    assert pq.geometry.geom_type.isin(["Polygon", "MultiPolygon"]).all()


def _rows(ws) -> tuple[list[str], list[tuple]]:  # type: ignore[no-untyped-def]
    rows = list(ws.iter_rows(values_only=True))
    return [str(h) for h in rows[0]], rows[1:]


def test_land_demo_writes_the_ledger_and_cites_each_candidate(demo, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    import geopandas as gpd
    from openpyxl import load_workbook

    out = tmp_path / "land"
    assert main(["land", "--demo", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    par = gpd.read_file(demo.parcels, layer="parcels")
    in_ledger = par[par["ledger_status"].notna()]
    assert len(in_ledger) > 20 and set(in_ledger["land_use"]) == {"宅基地"}
    # land_ledger.csv: one row per parcel with a status, its sums those of the parcel columns
    csv = pd.read_csv(out / "land_ledger.csv", encoding="utf-8-sig", dtype={"地块编号": str})
    assert list(csv["地块编号"]) == list(in_ledger["parcel_id"])
    assert set(csv["台账状态"]) == {"旧房拆除", "宅基地复垦复绿", "待处理"}
    assert csv["复垦复绿面积(平方米)"].sum() == pytest.approx(in_ledger["reclaimed_m2"].sum(), rel=1e-12)
    assert csv["增减挂钩节余指标(平方米)"].sum() == pytest.approx(in_ledger["quota_m2"].sum(), rel=1e-12)
    counts = csv["台账状态"].value_counts()
    assert (counts == in_ledger["ledger_status"].value_counts()).all()
    assert f"ledger: {len(csv)} parcels ({counts['旧房拆除']} demolished, " in text
    assert csv["依据"].str.contains("三(二)9", regex=False).all()
    # the 迁出地台账 sheet holds the same rows, m² rounded, with 公顷 and 亩
    wb = load_workbook(out / "land.xlsx", read_only=True)
    assert wb.sheetnames == ["地块", "村", "候选地块", "迁出地台账", "说明"]
    head, rows = _rows(wb["迁出地台账"])
    col = {h: i for i, h in enumerate(head)}
    assert [r[col["地块编号"]] for r in rows] == list(csv["地块编号"])
    quota = [r[col["增减挂钩节余指标(平方米)"]] for r in rows]
    assert quota == [None if pd.isna(v) else round(v) for v in csv["增减挂钩节余指标(平方米)"]]
    mu = sum(r[col["增减挂钩节余指标(亩)"]] or 0 for r in rows)
    assert mu == pytest.approx(in_ledger["quota_m2"].sum() * 15 / 10_000, abs=0.005 * len(rows))
    # every candidate cites its clause; house plots get 复垦复绿, cropland the 进出平衡 caveat
    head, rows = _rows(wb["候选地块"])
    col = {h: i for i, h in enumerate(head)}
    assert rows and all(isinstance(r[col["依据"]], str) and len(r[col["依据"]]) > 20 for r in rows)
    by_use = {u: [r for r in rows if r[col["地类"]] == u] for u in ("耕地", "林地", "宅基地")}
    assert all(by_use.values())
    assert {r[col["建议措施"]] for r in by_use["宅基地"]} == {"宅基地复垦复绿"}
    assert all("不占耕地或落实进出平衡" in r[col["注意事项"]] for r in by_use["耕地"])
    assert all(not r[col["注意事项"]] for r in by_use["林地"])
    assert all("第10项" in r[col["依据"]] for r in by_use["耕地"] + by_use["林地"])


def test_land_exclude_keeps_masked_parcels_out_of_the_forest_measures(  # type: ignore[no-untyped-def]
        demo, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import geopandas as gpd

    plain = tmp_path / "plain"
    assert main(["land", "--demo", "--out", str(plain)]) == 0
    cand = gpd.read_file(plain / "land.gpkg", layer="candidates")
    crop = cand[cand["priority"] == 1].head(3)
    mask = gpd.GeoDataFrame(geometry=crop.to_crs(4542).buffer(5.0), crs=4542)  # a little larger
    mask.to_file(tmp_path / "永久基本农田.gpkg")
    out = tmp_path / "masked"
    capsys.readouterr()
    assert main(["land", "--demo", "--exclude", str(tmp_path / "永久基本农田.gpkg"), "--out", str(out)]) == 0
    assert "exclusion layers: " in capsys.readouterr().out
    got = gpd.read_file(out / "land.gpkg", layer="candidates").set_index("parcel_id")
    inside = got.loc[crop["parcel_id"]]
    assert (inside["priority"] == 3).all() and (inside["excluded_by"] == "永久基本农田").all()
    assert inside["measure"].str.startswith("不纳入退耕还林").all()
    assert np.allclose(inside["excluded_m2"], inside["area_m2"], rtol=1e-7)  # lon/lat rounding
    assert np.allclose(inside["excluded_gt25_m2"], inside["area_gt25_m2"], rtol=1e-6)
    others = got.drop(index=crop["parcel_id"])
    assert (others["priority"] < 3).all()
    # the other candidates are as without the mask, but for the exclusion columns
    before = cand.set_index("parcel_id").loc[others.index]
    assert (before["measure"] == others["measure"]).all()
    assert len(got) == len(cand)


def test_slope_help_names_its_outputs(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["slope", "--help"])
    assert "\noutputs: --out (slope GeoTIFF, degrees) and, with --aspect," in capsys.readouterr().out


def test_land_command_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["land", "--dem", str(tmp_path / "x.tif"), "--out", str(tmp_path / "o")]) == 2
    assert "missing --parcels" in capsys.readouterr().err
    assert main(["slope", "--dem", str(tmp_path / "nope.tif"), "--out", str(tmp_path / "s.tif")]) == 2
    err = capsys.readouterr().err
    assert "anzhi slope: error:" in err and "nope.tif" in err
    assert not (tmp_path / "s.tif").exists()


@pytest.mark.realdata
def test_land_command_on_the_srtm_tile(shared_data: Path, tmp_path: Path) -> None:
    import geopandas as gpd
    import shapely

    parcels = gpd.GeoDataFrame(
        {"地块编号": ["A", "B", "C"], "村": ["甲", "甲", "乙"], "地类": ["耕地", "林地", "耕地"]},
        geometry=[shapely.box(1.50, 42.50, 1.51, 42.51), shapely.box(1.505, 42.505, 1.52, 42.52),  # overlap
                  shapely.box(1.80, 42.30, 1.82, 42.31)], crs="EPSG:4326")
    parcels.to_file(tmp_path / "parcels.gpkg", layer="parcels")
    out = tmp_path / "out"
    dem = shared_data / "dem" / "N42E001.hgt.zip"
    assert main(["land", "--dem", str(dem), "--parcels", str(tmp_path / "parcels.gpkg"), "--out", str(out)]) == 0
    t = pd.read_csv(out / "land_parcels.csv", encoding="utf-8-sig")
    ratio = (t["area_slope_m2"] / t["area_m2"]).tolist()
    # A holds 13 SRTM voids: they and their neighbours have no slope and are left out
    assert ratio[0] < 0.9
    # C is void-free: the 3" pixels, measured on the ellipsoid, add up to the parcel's area
    assert ratio[2] == pytest.approx(1.0, abs=1e-3)
    assert ratio[1] > 0.99
    assert t["area_m2"].iloc[0] == pytest.approx(0.01 * 111_100 * 0.01 * 111_100 * 0.7367, rel=0.01)
