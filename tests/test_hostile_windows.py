"""Hostile and messy inputs (issue 18), second part: DEMs that miss the sites, huge sparse
DEMs read only in windows, and upload names that are too long or given twice.

* A DEM outside the sites, partly outside, or all nodata is used with a warning that names
  the file, its extent and CRS, the sites' extent and the fix (the CLI logs it, the app shows
  ``RegionData.warnings``).
* The hazard screen and the map's steep land read only windows of the DEM around the sites;
  on the demo county and on a real SRTM tile (rewritten by rasterio here) they give what the
  whole raster gives, and a GeoTIFF that declares 200,000 × 200,000 pixels works when the
  window is small (the pixel limit applies to the window, not to the declared size).
* Upload names longer than a file system takes are shortened keeping their type ending; two
  uploads of one name are both kept; a file the server cannot write is refused with a
  message that names the upload, not the server's folder.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any

import geopandas as gpd
import hypothesis
import hypothesis.strategies as st
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from affine import Affine
from rasterio.windows import Window

from anzhi.cli import main
from anzhi.core.errors import InputError, ProblemCollector
from anzhi.core.settings import override
from anzhi.pipeline import RegionInputs, load_region, screen_hazards, steep_land
from anzhi.ui.uploads import (MAX_NAME_BYTES, UPLOAD_KINDS, SessionFolder, safe_filename,
                              save_upload, stage_uploads)
from layers.hazard import site_hazard_from_dem
from layers.raster import check_dem, dem_coverage, dem_elevation_sampler, point_windows
from layers.sites import read_sites
from layers.terrain import (land_statistics, read_parcels, site_hazard_from_raster,
                            steep_polygons, write_slope)

# --------------------------------------------------------------------------- helpers


def _dem_profile(path: Path) -> tuple[dict[str, Any], np.ndarray]:
    with rasterio.open(path) as src:
        return dict(src.profile), src.read(1)


def _moved_dem(demo: Any, tmp: Path, name: str, *, dx_m: float = 0.0, fill: float | None = None) -> Path:
    """The demo DEM shifted east by ``dx_m`` (or filled with ``fill``), as a new GeoTIFF."""
    profile, z = _dem_profile(Path(demo.dem))
    t = profile["transform"]
    profile["transform"] = Affine(t.a, t.b, t.c + dx_m, t.d, t.e, t.f)
    out = tmp / name
    with rasterio.open(out, "w", **profile) as dst:
        dst.write(np.full_like(z, fill) if fill is not None else z, 1)
    return out


def _same_hazard(a: pd.DataFrame, b: pd.DataFrame) -> None:
    """Two hazard screens agree: slopes bit for bit, shares to 1e-9, flags and reasons."""
    assert a["site_id"].tolist() == b["site_id"].tolist()
    np.testing.assert_array_equal(a["slope_deg"].to_numpy(), b["slope_deg"].to_numpy())
    np.testing.assert_allclose(a["share_gt25"].to_numpy(), b["share_gt25"].to_numpy(),
                               rtol=1e-9, atol=1e-12)
    assert a["hazard"].tolist() == b["hazard"].tolist()
    assert a["hazard_reason_en"].tolist() == b["hazard_reason_en"].tolist()


def _window_pixels(dem: Path, sites: gpd.GeoDataFrame, **kw: Any) -> int:
    info = check_dem(dem, whole=False)
    groups = point_windows(info, sites.geometry.x, sites.geometry.y, margin_m=102.0, pad_px=64, **kw)
    return sum((w[1] - w[0]) * (w[3] - w[2]) for w, _ in groups if w is not None)


# --------------------------------------------------------------------------- (a) DEM warnings


def test_a_dem_beside_the_sites_warns_in_the_cli(demo, tmp_path: Path, caplog) -> None:  # type: ignore[no-untyped-def]
    far = _moved_dem(demo, tmp_path, "far.tif", dx_m=100_000)
    out = tmp_path / "access.csv"
    with caplog.at_level(logging.WARNING):
        assert main(["access", "--sites", str(demo.sites), "--roads", str(demo.roads),
                     "--facilities", str(demo.facilities), "--dem", str(far), "--quiet",
                     "--out", str(out)]) == 0
    text = caplog.text
    assert "far.tif" in text and "none of the 60 sites lies inside the DEM" in text
    assert "EPSG:4542" in text and "the sites span lon 99.0" in text
    assert "fix: give a DEM covering the county" in text and "没有一个安置点落在 DEM 范围内" in text
    assert out.is_file()  # warned, not refused


def test_partial_and_all_nodata_dems_warn_with_counts(demo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    inputs = RegionInputs.demo()
    sites = read_sites(demo.sites)
    assert load_region(inputs).warnings == ()  # the demo DEM covers every site
    east = _moved_dem(demo, tmp_path, "east.tif", dx_m=20_000)
    # the expected count, from the sites' own coordinates against the moved extent
    with rasterio.open(east) as src:
        left = src.bounds.left
    from pyproj import Transformer
    x, _ = Transformer.from_crs(4326, 4542, always_xy=True).transform(sites.geometry.x, sites.geometry.y)
    n_out = int((np.asarray(x) < left).sum())
    assert 0 < n_out < len(sites)
    warnings = load_region(dataclasses.replace(inputs, dem=east)).warnings
    assert len(warnings) == 1
    assert f"{n_out} of the {len(sites)} sites get no elevation: {n_out} lie outside the DEM" in warnings[0]
    assert "east.tif" in warnings[0] and f"{left:.0f}" in warnings[0]

    blank = _moved_dem(demo, tmp_path, "blank.tif", fill=-9999.0)
    (warning,) = load_region(dataclasses.replace(inputs, dem=blank)).warnings
    assert "blank.tif" in warning and "holds no elevation at all" in warning
    hazard = screen_hazards(load_region(dataclasses.replace(inputs, dem=blank)))
    assert hazard is not None and hazard["hazard_reason_en"].str.contains("not screened").all()


def test_void_sites_inside_the_dem_are_counted_apart(demo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    profile, z = _dem_profile(Path(demo.dem))
    sites = read_sites(demo.sites)
    info = check_dem(demo.dem)
    with rasterio.open(demo.dem) as src:
        rows, cols = rasterio.transform.rowcol(src.transform, *_to_4542(sites))
    z = z.copy()
    z[rows[0], cols[0]] = profile["nodata"]  # one site on a void pixel
    holed = tmp_path / "holed.tif"
    with rasterio.open(holed, "w", **profile) as dst:
        dst.write(z, 1)
    cov = dem_coverage(holed, sites.geometry.x, sites.geometry.y)
    assert (cov.n_points, cov.n_inside, cov.n_valued) == (len(sites), len(sites), len(sites) - 1)
    assert cov.crs == info.crs
    (warning,) = load_region(dataclasses.replace(RegionInputs.demo(), dem=holed)).warnings
    assert f"1 of the {len(sites)} sites get no elevation: 1 on its nodata" in warning


def _to_4542(sites: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
    pts = sites.geometry.to_crs("EPSG:4542")
    return pts.x.to_numpy(), pts.y.to_numpy()


def test_land_and_slope_warn_when_the_dem_misses_or_is_empty(demo, tmp_path: Path, caplog) -> None:  # type: ignore[no-untyped-def]
    east = _moved_dem(demo, tmp_path, "east.tif", dx_m=20_000)
    parcels = read_parcels(demo.parcels)
    with caplog.at_level(logging.WARNING):
        result = land_statistics(parcels, write_slope(east, tmp_path / "s.tif"), dem=east)
    k = int((result.parcels["area_slope_m2"] <= 0).sum())
    assert 0 < k < len(parcels)
    assert len(result.warnings) == 1 and f"{k} of the {len(parcels)} parcels get no slope" in result.warnings[0]
    assert "east.tif" in caplog.text and "EPSG:4542" in result.warnings[0]

    blank = _moved_dem(demo, tmp_path, "blank.tif", fill=-9999.0)
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        assert main(["slope", "--dem", str(blank), "--out", str(tmp_path / "blank_slope.tif")]) == 0
    assert "blank.tif" in caplog.text and "all nodata" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        write_slope(demo.dem, tmp_path / "ok.tif")
    assert "all nodata" not in caplog.text  # the check can fail


# --------------------------------------------------------------------------- (b) windows


def test_windowed_hazard_equals_the_whole_raster_on_the_demo(demo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sites = read_sites(demo.sites)
    whole = site_hazard_from_raster(sites, write_slope(demo.dem, tmp_path / "slope.tif"))
    assert whole["hazard"].any() and not whole["hazard"].all()
    _same_hazard(whole, site_hazard_from_dem(sites, demo.dem))
    # one window per site (sparse sites) reads far less than the DEM, and agrees too
    per_site = site_hazard_from_dem(sites, demo.dem, group_px=1)
    _same_hazard(whole, per_site)
    with rasterio.open(demo.dem) as src:
        assert _window_pixels(Path(demo.dem), sites, group_px=1) < src.width * src.height
    # a few sites in one corner: one small window, the same answers
    corner = sites.iloc[np.argsort(sites.geometry.x.to_numpy())[:5]]
    _same_hazard(whole.loc[corner.index], site_hazard_from_dem(corner, demo.dem))


@pytest.mark.realdata
def test_windowed_hazard_and_steep_land_on_a_real_srtm_tile(shared_data: Path, tmp_path: Path) -> None:
    with rasterio.open(shared_data / "dem" / "N42E001_SRTM3v2.1.tif") as src:
        profile, z = dict(src.profile), src.read(1)
    profile.update(tiled=True, blockxsize=256, blockysize=256, compress="deflate")
    dem = tmp_path / "srtm.tif"
    with rasterio.open(dem, "w", **profile) as dst:  # the real pixels, written by rasterio here
        dst.write(z, 1)
    rng = np.random.default_rng(18)
    lon = np.r_[rng.uniform(1.42, 1.78, 30), 0.5, 1.9995]
    lat = np.r_[rng.uniform(42.43, 42.65, 30), 42.5, 42.0005]  # one outside, one on the edge
    sites = gpd.GeoDataFrame({"site_id": [f"S{i}" for i in range(len(lon))]},
                             geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")
    whole_slope = write_slope(dem, tmp_path / "slope.tif")
    whole = site_hazard_from_raster(sites, whole_slope)
    assert whole["hazard"].sum() > 5 and whole["slope_deg"].isna().sum() >= 1
    for group_px in (1024, 1, 40):
        _same_hazard(whole, site_hazard_from_dem(sites, dem, group_px=group_px))

    # the steep layer's window: the pixels are the whole slope raster's, polygons away from
    # the window's edge are the same polygons
    bounds = (1.45, 42.45, 1.65, 42.6)
    win_slope = write_slope(dem, tmp_path / "win.tif", bounds=bounds, margin_m=2000)
    _same_pixels(whole_slope, win_slope)
    _same_inner_polygons(whole_slope, win_slope)


def _same_pixels(whole: Path, part: Path) -> Window:
    with rasterio.open(whole) as w, rasterio.open(part) as p:
        assert p.width * p.height < w.width * w.height
        win = rasterio.windows.from_bounds(*p.bounds, transform=w.transform)
        win = Window(round(win.col_off), round(win.row_off), p.width, p.height)
        np.testing.assert_array_equal(w.read(1, window=win), p.read(1))
        return win


def _same_inner_polygons(whole: Path, part: Path) -> None:
    """Steep zones well inside the window (10 pixels from its edge) are the same polygons,
    with the same areas, whether polygonised from the whole raster or from the window (the
    pixel outlines: Douglas–Peucker breaks the ties of a staircase outline by rounding, so
    the simplified shapes may differ by a pixel where the window's origin moves)."""
    with rasterio.open(part) as p:
        res = max(abs(p.transform.a), abs(p.transform.e))
        # a quarter pixel off the pixel edges, so no outline sits on it
        inner = gpd.GeoSeries([shapely.box(*p.bounds).buffer(-10.25 * res, join_style="mitre")],
                              crs=p.crs)
    inner_ll = inner.to_crs("EPSG:4326").iloc[0]
    a, b = steep_polygons(whole, simplify_px=0), steep_polygons(part, simplify_px=0)
    a = a[a.within(inner_ll)].sort_values("area_m2", ignore_index=True)
    b = b[b.within(inner_ll)].sort_values("area_m2", ignore_index=True)
    assert len(a) > 3 and len(a) == len(b)
    np.testing.assert_allclose(a["area_m2"], b["area_m2"], rtol=1e-9)
    for x, y in zip(a.geometry, b.geometry, strict=True):
        assert x.symmetric_difference(y).area < 1e-9 * x.area


def test_steep_land_reads_the_window_of_the_sites(demo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sites = read_sites(demo.sites)
    corner = sites.iloc[np.argsort(sites.geometry.y.to_numpy())[:8]]
    bounds = tuple(corner.geometry.total_bounds)
    whole_slope = write_slope(demo.dem, tmp_path / "slope.tif")
    part = write_slope(demo.dem, tmp_path / "part.tif", bounds=bounds, margin_m=1500)
    win = _same_pixels(whole_slope, part)
    assert win.col_off % 32 == 0 and win.row_off % 32 == 0  # aligned: one cell-area lattice
    _same_inner_polygons(whole_slope, part)
    steep = steep_land(demo.dem, bounds=bounds, margin_m=1500)  # what the app draws
    assert len(steep) > 0 and steep.crs.to_epsg() == 4326
    everything = steep_land(demo.dem)
    assert steep["area_m2"].sum() < everything["area_m2"].sum()
    # a DEM beside the sites: no steep land drawn (the load warns), no error
    far = _moved_dem(demo, tmp_path, "far.tif", dx_m=100_000)
    assert len(steep_land(far, bounds=bounds)) == 0


_HUGE = 200_000
_BLOCK_ROW, _BLOCK_COL = 64_000, 96_256  # where the demo DEM sits in the huge grid


@pytest.fixture()
def huge_dem(demo, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    """A GeoTIFF declaring 200,000 × 200,000 pixels (≈ 6,000 km square, 40 G pixels) that
    holds the demo DEM's pixels at their place and nodata (sparse, unwritten) elsewhere."""
    profile, z = _dem_profile(Path(demo.dem))
    t = profile["transform"]
    path = tmp_path / "huge.tif"
    with rasterio.open(path, "w", driver="GTiff", width=_HUGE, height=_HUGE, count=1,
                       dtype=profile["dtype"], nodata=profile["nodata"], crs=profile["crs"],
                       transform=Affine(t.a, 0, t.c - _BLOCK_COL * t.a, 0, t.e, t.f - _BLOCK_ROW * t.e),
                       tiled=True, blockxsize=512, blockysize=512, sparse_ok=True,
                       compress="deflate", BIGTIFF="YES") as dst:
        dst.write(z, 1, window=Window(_BLOCK_COL, _BLOCK_ROW, z.shape[1], z.shape[0]))
    assert path.stat().st_size < 50_000_000
    return path


def test_a_huge_sparse_dem_is_screened_through_small_windows(demo, huge_dem: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sites = read_sites(demo.sites)
    with pytest.raises(InputError, match=r"200,000 × 200,000 pixels.*max_raster_pixels"):
        check_dem(huge_dem)  # whole-raster work is still refused
    assert check_dem(huge_dem, whole=False).width == _HUGE
    whole = site_hazard_from_raster(sites, write_slope(demo.dem, tmp_path / "slope.tif"))
    _same_hazard(whole, site_hazard_from_dem(sites, huge_dem))
    assert _window_pixels(huge_dem, sites) < 4_000_000
    # the map's steep land of the sites' extent: the demo's pixels, read from the huge grid
    bounds = tuple(sites.geometry.total_bounds)
    part = write_slope(huge_dem, tmp_path / "part.tif", bounds=bounds, margin_m=500)
    with rasterio.open(part) as p, rasterio.open(tmp_path / "slope.tif") as county:
        assert p.width * p.height < 2 * county.width * county.height
        win = rasterio.windows.from_bounds(*county.bounds, transform=p.transform)
        win = Window(round(win.col_off), round(win.row_off), county.width, county.height)
        got = p.read(1)
        np.testing.assert_array_equal(got[win.toslices()], county.read(1))
        got[win.toslices()] = p.nodata
        assert (got == p.nodata).all()  # around the county: the huge grid's nodata
    assert len(steep_land(huge_dem, bounds=bounds)) > 0
    # elevations by road (Tobler) read only the window of their points
    z = dem_elevation_sampler(huge_dem, crs="EPSG:4326")(sites.geometry.x, sites.geometry.y)
    z0 = dem_elevation_sampler(demo.dem, crs="EPSG:4326")(sites.geometry.x, sites.geometry.y)
    np.testing.assert_allclose(z, z0, rtol=1e-12)  # the same pixels; the origin's rounding


def test_a_window_above_the_limit_is_refused_naming_it(demo, huge_dem: Path) -> None:  # type: ignore[no-untyped-def]
    sites = read_sites(demo.sites)
    far = (float(sites.geometry.x.min()), float(sites.geometry.y.min()), 140.0, 50.0)
    with pytest.raises(InputError, match=r"huge.tif: the DEM window around the sites is .* pixels, "
                                         r"more than the limit of 1,000,000,000 \(setting max_raster_pixels\)"):
        steep_land(huge_dem, bounds=far)
    with override(max_raster_pixels=10_000), \
            pytest.raises(InputError, match=r"limit of 10,000 \(setting max_raster_pixels\)"):
        site_hazard_from_dem(sites, huge_dem)
    with override(max_raster_pixels=10_000), pytest.raises(InputError, match="max_raster_pixels"):
        dem_elevation_sampler(huge_dem, crs="EPSG:4326")(sites.geometry.x, sites.geometry.y)


@pytest.mark.slow
def test_gaps_on_a_huge_sparse_dem_match_the_county_dem(demo, huge_dem: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    def run(dem: Path, out: Path) -> pd.DataFrame:
        assert main(["gaps", "--sites", str(demo.sites), "--roads", str(demo.roads),
                     "--facilities", str(demo.facilities), "--dem", str(dem), "--quiet",
                     "--out", str(out)]) == 0
        return pd.read_csv(out / "gaps.csv", encoding="utf-8-sig")

    county, huge = run(Path(demo.dem), tmp_path / "county"), run(huge_dem, tmp_path / "huge")
    cols = ["site_id", "facility_type", "slope_deg", "share_gt25", "hazard"]
    pd.testing.assert_frame_equal(county[cols], huge[cols])
    assert county["hazard"].any()


# --------------------------------------------------------------------------- (c) uploads


class _Upload:
    """Stands in for Streamlit's UploadedFile (name, size, getvalue)."""

    def __init__(self, name: str, data: bytes) -> None:
        self.name, self.data = name, data

    @property
    def size(self) -> int:
        return len(self.data)

    def getvalue(self) -> bytes:
        return self.data


@pytest.fixture()
def folder():  # type: ignore[no-untyped-def]
    f = SessionFolder()
    yield f
    f.cleanup()


def test_a_100_character_chinese_name_is_shortened_keeping_its_type(demo, folder) -> None:  # type: ignore[no-untyped-def]
    long = "云南省保山市施甸县易地扶贫搬迁集中安置点基本情况统计表" * 4  # 108 characters
    assert len(long.encode("utf-8")) > 255
    inputs = stage_uploads({
        "sites": _Upload(long + ".xlsx", Path(demo.sites).read_bytes()),
        "roads": _Upload(long + ".osm", Path(demo.roads).read_bytes()),
        "facilities": [_Upload(long + ".gpkg", Path(demo.facilities).read_bytes())],
    }, folder)
    for path, suffix in ((inputs.sites, ".xlsx"), (inputs.roads, ".osm"), (inputs.facilities[0], ".gpkg")):
        assert len(path.name.encode("utf-8")) <= MAX_NAME_BYTES
        assert path.name.endswith(suffix) and path.name.startswith("云南省保山市")
        assert folder.path in path.parents
    assert len(read_sites(inputs.sites)) == 60  # the shortened file is the upload


@pytest.mark.parametrize("suffix", [".osm.pbf", ".shp.zip", ".osm.bz2", ".gpkg", ".tif"])
def test_compound_endings_survive_shortening(suffix: str) -> None:
    name = "地" * 200 + suffix
    out = safe_filename(name)
    assert out.endswith(suffix) and len(out.encode("utf-8")) <= MAX_NAME_BYTES
    assert out != safe_filename("天" * 200 + suffix)  # two long names stay apart
    assert safe_filename("短.gpkg") == "短.gpkg"  # short names are left alone


@hypothesis.given(st.text(min_size=0, max_size=300), st.integers(min_value=40, max_value=255))
def test_safe_names_fit_any_name_limit(name: str, limit: int) -> None:
    out = safe_filename(name, max_bytes=limit)
    assert 0 < len(out.encode("utf-8")) <= limit
    assert "/" not in out and "\\" not in out and not out.startswith(".")


def test_two_uploads_of_one_name_are_both_kept(demo, folder) -> None:  # type: ignore[no-untyped-def]
    fac = gpd.read_file(demo.facilities)
    first, second = Path(demo.facilities).read_bytes(), None
    other = folder.path.parent / f"{folder.path.name}-other.gpkg"
    try:
        extra = fac.iloc[:3].copy()
        extra["facility_id"] = "X" + extra["facility_id"].astype(str)
        extra.to_file(other)
        second = other.read_bytes()
    finally:
        other.unlink(missing_ok=True)
    inputs = stage_uploads({
        "sites": _Upload("sites.xlsx", Path(demo.sites).read_bytes()),
        "roads": _Upload("roads.osm", Path(demo.roads).read_bytes()),
        "facilities": [_Upload("设施.gpkg", first), _Upload("设施.gpkg", second)],
    }, folder)
    a, b = inputs.facilities
    assert a != b and a.name == b.name == "设施.gpkg"
    assert a.read_bytes() == first and b.read_bytes() == second
    ids = set(load_region(inputs).facilities["facility_id"].astype(str))
    assert {"F0001", "XF0001"} <= ids  # both layers are read


def test_a_file_the_server_cannot_write_is_refused_without_its_path(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    folder = SessionFolder()
    try:
        real = folder.path
        folder.path = blocker / "session"  # a file stands where the folder should be
        pc = ProblemCollector(file="upload")
        assert save_upload(_Upload("sites.csv", b"a,b\n1,2\n"), UPLOAD_KINDS["sites"], folder, pc) is None
        (problem,) = pc.problems
        text = str(problem)
        assert "sites.csv" in text and "could not save the file" in text
        assert str(tmp_path) not in text and "not-a-folder" not in text
    finally:
        folder.path = real
        folder.cleanup()
