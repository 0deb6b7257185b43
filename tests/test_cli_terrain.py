"""``anzhi slope`` and ``anzhi land`` end to end on the demo county."""

from __future__ import annotations

from pathlib import Path

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
                                               "land.gpkg", "steep_gt25.gpkg", "slope.tif"}
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
    assert wb.sheetnames == ["Parcels", "Villages", "Candidates", "Notes"]
    assert [c.value for c in next(wb["Parcels"].iter_rows(max_row=1))][:5] == [
        "Parcel ID", "Village", "Land use", "Area (m²)", "Area (ha)"]
    # --format parquet: the parcels with their polygons, read back by geopandas
    import geopandas as gpd

    pq = gpd.read_parquet(out / "land_parcels.parquet")
    csv = pd.read_csv(out / "land_parcels.csv", encoding="utf-8-sig", dtype={"parcel_id": str})
    assert pq.crs is not None and pq.crs.to_epsg() == 4326 and len(pq) == len(csv)
    assert list(pq["parcel_id"].astype(str)) == list(csv["parcel_id"])
    assert pq["area_gt25_m2"].sum() == pytest.approx(csv["area_gt25_m2"].sum())
    assert pq.geometry.geom_type.isin(["Polygon", "MultiPolygon"]).all()


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
