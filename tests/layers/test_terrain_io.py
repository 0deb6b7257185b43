"""Slope GeoTIFFs written window by window, steep polygons, parcels, land outputs, hazard adapter."""

from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from affine import Affine
from openpyxl import load_workbook

from analysis.land import CLASS_AREA_COLUMNS, HAZARD_COLUMNS, PARCEL_COLUMNS
from anzhi.core.errors import DataSourceError, InputError
from geo.terrain import GridSpec, slope_deg
from layers.terrain import (
    LAND_FILES,
    SLOPE_NODATA,
    LandResult,
    land_statistics,
    open_slope,
    read_parcels,
    site_hazard_from_raster,
    steep_polygons,
    write_land,
    write_slope,
)


def _dem(path: Path, z: np.ndarray, transform: Affine, crs: str = "EPSG:4542", nodata: float = -9999.0,
         **extra: object) -> Path:
    profile = {"driver": "GTiff", "dtype": str(z.dtype), "count": 1, "height": z.shape[0], "width": z.shape[1],
               "crs": crs, "transform": transform, "nodata": nodata, **extra}
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(z, 1)
    return path


def _rough(h: int, w: int) -> np.ndarray:
    rng = np.random.default_rng(11)
    z = np.cumsum(np.cumsum(rng.normal(0, 2, (h, w)), 0), 1).astype(np.float32) + 1000
    z[300, 200] = -9999
    return z


def test_write_slope_is_tiled_compressed_and_equals_the_array_core(tmp_path: Path) -> None:
    t = Affine(30, 0, 500000, 0, -30, 2750000)
    z = _rough(1100, 700)
    dem = _dem(tmp_path / "dem.tif", z, t)
    out = write_slope(dem, tmp_path / "slope.tif", block_rows=1024)
    with rasterio.open(out) as ds:
        assert ds.profile["tiled"] and ds.profile["compress"] == "deflate"
        assert (ds.block_shapes[0]) == (512, 512)
        assert ds.nodata == SLOPE_NODATA and ds.dtypes[0] == "float32"
        assert ds.crs.to_epsg() == 4542 and ds.transform == t
        written = ds.read(1)
    expected = slope_deg(z, GridSpec.from_crs(1100, 700, t, "EPSG:4542"), nodata=-9999)
    assert np.array_equal(np.where(written == SLOPE_NODATA, np.nan, written), expected, equal_nan=True)
    # The window size changes nothing, bit for bit.
    out2 = write_slope(dem, tmp_path / "slope2.tif", block_rows=512, block_cols=512)
    with rasterio.open(out2) as ds:
        assert np.array_equal(ds.read(1), written)
    assert not list(tmp_path.glob(".*tmp*"))  # atomic: no temporary files left


def test_write_slope_with_aspect_and_overviews(tmp_path: Path) -> None:
    x = np.arange(600, dtype=np.float32) * 30
    z = np.tile(-x, (600, 1))  # 45° falling east
    dem = _dem(tmp_path / "dem.tif", z, Affine(30, 0, 500000, 0, -30, 2750000))
    write_slope(dem, tmp_path / "s.tif", aspect_out=tmp_path / "a.tif", overviews=True)
    with rasterio.open(tmp_path / "s.tif") as s, rasterio.open(tmp_path / "a.tif") as a:
        assert s.overviews(1) == [2]
        assert np.allclose(s.read(1)[1:-1, 1:-1], 45, atol=1e-4)
        assert np.allclose(a.read(1)[1:-1, 1:-1], 90, atol=1e-4)
        assert a.read(1)[0, 0] == SLOPE_NODATA


def test_write_slope_refuses_bad_dems(tmp_path: Path) -> None:
    bad = tmp_path / "nocrs.tif"
    with rasterio.open(bad, "w", driver="GTiff", dtype="float32", count=1, height=5, width=5,
                       transform=Affine(1, 0, 100, 0, -1, 100)) as dst:
        dst.write(np.zeros((5, 5), dtype=np.float32), 1)
    with pytest.raises(InputError, match="no CRS"):
        write_slope(bad, tmp_path / "s.tif")
    (tmp_path / "junk.tif").write_text("not a raster")
    with pytest.raises(DataSourceError, match="cannot open"):
        write_slope(tmp_path / "junk.tif", tmp_path / "s.tif")
    assert not (tmp_path / "s.tif").exists()


@pytest.mark.realdata
def test_write_slope_reads_srtm_hgt_zip(shared_data: Path, tmp_path: Path) -> None:
    out = write_slope(shared_data / "dem" / "N42E001.hgt.zip", tmp_path / "s.tif")
    tif = write_slope(shared_data / "dem" / "N42E001_SRTM3v2.1.tif", tmp_path / "s2.tif")
    with rasterio.open(out) as a, rasterio.open(tif) as b:
        sa, sb = a.read(1), b.read(1)
        assert a.crs.is_geographic
    valid = sa != SLOPE_NODATA
    assert valid.mean() > 0.95
    assert 5 < np.median(sa[valid]) < 40  # Pyrenean foothills
    assert np.array_equal(sa, sb)  # same tile, same numbers whatever the container


def test_steep_polygons_cover_the_steep_land(tmp_path: Path) -> None:
    # west half flat, east half 35°: the steep zone is the east half less the outer ring.
    x = np.arange(400) * 30.0
    z = np.tile(np.where(x < 6000, 0.0, (x - 6000) * math.tan(math.radians(35))), (300, 1)).astype(np.float32)
    t = Affine(30, 0, 500000, 0, -30, 2750000)
    dem = _dem(tmp_path / "dem.tif", z, t)
    s = write_slope(dem, tmp_path / "s.tif")
    polys = steep_polygons(s)
    assert polys.crs.to_epsg() == 4326
    assert len(polys) == 1
    assert polys["tolerance_m"].iloc[0] == pytest.approx(30.0)
    with open_slope(s) as sr:
        n_steep = int((sr.read(0, 300, 0, 400) > 25).sum())
        px_area = float(sr.grid.cell_area_m2(150, 151, 300, 301)[0, 0])
    assert polys["area_m2"].sum() == pytest.approx(n_steep * px_area, rel=1e-4)
    # the drawn polygon, after simplification, is still the same land within a pixel's width
    drawn = polys.to_crs("EPSG:4542").geometry.iloc[0]
    assert drawn.area == pytest.approx(n_steep * 900, rel=0.02)
    assert len(drawn.exterior.coords) <= 10  # a rectangle, not a staircase of pixels
    assert len(steep_polygons(s, threshold_deg=40)) == 0
    with pytest.raises(InputError, match="threshold_deg"):
        steep_polygons(s, threshold_deg=95)


def test_read_parcels_accepts_chinese_headers_and_lists_problems(tmp_path: Path) -> None:
    g = gpd.GeoDataFrame({"地块编号": [1, 2], "村": ["甲", "乙"], "地类": ["耕地", "林地"]},
                         geometry=[shapely.box(99.2, 24.7, 99.201, 24.701), shapely.box(99.3, 24.7, 99.301, 24.701)],
                         crs=4326)
    g.to_file(tmp_path / "p.gpkg", layer="parcels")
    p = read_parcels(tmp_path / "p.gpkg")
    assert {"parcel_id", "village", "land_use"} <= set(p.columns)
    assert p["parcel_id"].tolist() == ["1", "2"]
    bad = gpd.GeoDataFrame({"名称": ["x", "y"]}, geometry=[shapely.Point(0, 0), shapely.box(0, 0, 1, 1)], crs=4326)
    bad.to_file(tmp_path / "bad.gpkg")
    with pytest.raises(InputError, match=r"(?s)parcel_id.*village.*land_use.*row 1.*not a polygon"):
        read_parcels(tmp_path / "bad.gpkg")
    with pytest.raises(DataSourceError, match="cannot read the parcel layer"):
        read_parcels(tmp_path / "missing.gpkg")


def test_land_statistics_and_outputs_on_the_demo(demo, tmp_path: Path) -> None:
    slope = write_slope(demo.dem, tmp_path / "slope.tif")
    parcels = read_parcels(demo.parcels)
    res = land_statistics(parcels, slope)
    assert len(res.parcels) == len(parcels)
    assert list(res.parcels.columns) == list(PARCEL_COLUMNS)
    # Σ classes ≈ ellipsoidal parcel area (parcels lie inside the DEM, away from the void)
    ratio = res.parcels["area_slope_m2"] / res.parcels["area_m2"]
    assert ratio.median() == pytest.approx(1.0, abs=1e-4)
    assert res.villages["area_gt25_m2"].sum() == pytest.approx(res.parcels["area_gt25_m2"].sum())
    assert res.villages["area_gt25_m2"].is_monotonic_decreasing
    written = write_land(res, tmp_path / "out")
    assert set(written) == set(LAND_FILES)
    csv = pd.read_csv(written["land_parcels.csv"], encoding="utf-8-sig")
    assert list(csv.columns) == list(PARCEL_COLUMNS)
    assert set(CLASS_AREA_COLUMNS) <= set(csv.columns)
    _check_land_xlsx(written["land.xlsx"], res)
    layers = gpd.list_layers(written["land.gpkg"])["name"].tolist()
    assert layers == ["parcels", "candidates"]
    cand = gpd.read_file(written["land.gpkg"], layer="candidates")
    assert len(cand) == len(res.candidates) and cand["priority"].is_monotonic_increasing


def _check_land_xlsx(path: Path, res) -> None:  # type: ignore[no-untyped-def]
    """land.xlsx reads like gaps.xlsx: bold frozen headers, filters, rounded m² with 公顷 and 亩."""
    wb = load_workbook(path)
    assert wb.sheetnames[:3] == ["地块", "村", "候选地块"] and wb.sheetnames[-1] == "说明"
    assert wb.sheetnames[3:-1] in ([], ["迁出地台账"])  # the ledger when the parcels carry one
    ws = wb["地块"]
    headers = [c.value for c in ws[1]]
    assert headers[:10] == ["地块编号", "村", "地类", "面积(平方米)", "面积(公顷)", "面积(亩)",
                            "坡度>25°面积(平方米)", "坡度>25°面积(公顷)", "坡度>25°面积(亩)",
                            "坡度>25°占比"]
    for sheet in wb.worksheets:
        assert sheet.freeze_panes == "A2" and all(c.font.bold for c in sheet[1]), sheet.title
        assert sheet.auto_filter.ref == f"A1:{sheet.cell(1, sheet.max_column).column_letter}{sheet.max_row}"
        assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row)
    col = {h: i for i, h in enumerate(headers)}
    rows = list(ws.iter_rows(min_row=2))
    assert len(rows) == len(res.parcels)
    for row, (_, p) in zip(rows, res.parcels.iterrows(), strict=True):
        m2, ha, mu = (row[col[h]] for h in ("面积(平方米)", "面积(公顷)", "面积(亩)"))
        assert m2.value == round(p["area_m2"]) and isinstance(m2.value, int)
        assert ha.value == round(p["area_m2"] / 10_000, 2)
        assert mu.value == round(p["area_m2"] / (10_000 / 15), 2)  # 1 亩 = 666.67 m²
        assert (m2.number_format, ha.number_format, mu.number_format) == ("#,##0", "#,##0.00", "#,##0.00")
        assert row[col["坡度>25°占比"]].number_format == "0.0%"
    # a parcel of 14,694 m² is 1.47 公顷 and 22.04 亩
    first = res.parcels.iloc[0]
    assert rows[0][col["面积(亩)"]].value == pytest.approx(first["area_m2"] * 15 / 10_000, abs=0.005)
    villages = [c.value for c in wb["村"][1]]
    assert "坡度>25°耕地面积(亩)" in villages and "耕地面积(公顷)" in villages
    cand = [c.value for c in wb["候选地块"][1]]
    assert cand[-1] == "建议措施" and "Suggested measure" not in cand
    assert any("666.67" in str(r[0].value) for r in wb["说明"].iter_rows(min_row=2))
    widths = [ws.column_dimensions[c.column_letter].width for c in ws[1]]
    assert all(w >= len(str(h)) for w, h in zip(widths, headers, strict=True))


def test_write_land_refuses_an_unknown_language(tmp_path: Path) -> None:
    empty = pd.DataFrame()
    res = LandResult(parcels=empty, villages=empty, candidates=empty, geometry=gpd.GeoSeries())
    with pytest.raises(InputError, match="unknown language 'fr' for land.xlsx: use 'zh' or 'en'"):
        write_land(res, tmp_path / "out", lang="fr")
    assert not (tmp_path / "out").exists()


def test_site_hazard_from_raster_on_the_demo(demo, tmp_path: Path) -> None:
    from layers.sites import read_sites

    slope = write_slope(demo.dem, tmp_path / "slope.tif")
    sites = read_sites(demo.sites)
    h = site_hazard_from_raster(sites, slope)
    assert list(h.columns) == list(HAZARD_COLUMNS)
    assert h["site_id"].tolist() == sites["site_id"].tolist()
    assert h["slope_deg"].notna().all()
    flagged = h[h["hazard"]]
    assert (flagged["hazard_reason"] != "").all()
    assert ((flagged["slope_deg"] > 25) | (flagged["share_gt25"] > 0.3)).all()
    assert not ((h["slope_deg"] > 25) & ~h["hazard"]).any()
