"""Horn slope: against gdaldem, analytic surfaces on lon/lat grids, windows, voids, areas."""

from __future__ import annotations

import math
import subprocess
from pathlib import Path

import numpy as np
import pyproj
import pytest
import rasterio
from affine import Affine
from hypothesis import given, settings
from hypothesis import strategies as st

from anzhi.core.errors import InputError
from geo.terrain import GridSpec, horn_slope, iter_windows, slope_deg

WGS84 = pyproj.CRS.from_epsg(4326).to_wkt()
GK = pyproj.CRS.from_epsg(4542).to_wkt()


def _read(path: Path) -> tuple[np.ndarray, GridSpec, float | None]:
    with rasterio.open(path) as src:
        return src.read(1), GridSpec.from_crs(src.height, src.width, src.transform, src.crs), src.nodata


def _gdaldem(gdaldem: str, mode: str, src: Path, dst: Path) -> np.ndarray:
    subprocess.run([gdaldem, mode, str(src), str(dst), "-alg", "Horn", "-q"], check=True)
    with rasterio.open(dst) as ds:
        a = ds.read(1).astype(np.float64)
        a[a == ds.nodata] = np.nan
    return a


def _f64_reference(z: np.ndarray, dx: float, dy: float) -> tuple[np.ndarray, np.ndarray]:
    """Horn in float64 straight from the textbook formula (interior only)."""
    a, b, c = z[:-2, :-2], z[:-2, 1:-1], z[:-2, 2:]
    d, f = z[1:-1, :-2], z[1:-1, 2:]
    g, h, i = z[2:, :-2], z[2:, 1:-1], z[2:, 2:]
    p = ((c + 2 * f + i) - (a + 2 * d + g)) / (8 * dx)
    q = ((g + 2 * h + i) - (a + 2 * b + c)) / (8 * dy)
    s = np.full(z.shape, np.nan)
    asp = np.full(z.shape, np.nan)
    s[1:-1, 1:-1] = np.degrees(np.arctan(np.hypot(p, q)))
    asp[1:-1, 1:-1] = np.degrees(np.arctan2(-p, q)) % 360
    return s, asp


def test_equals_gdaldem_on_the_projected_demo_dem(demo, gdaldem_bin: str, tmp_path: Path) -> None:
    z, grid, nodata = _read(demo.dem)
    assert not grid.geographic
    ours = slope_deg(z, grid, nodata=nodata)
    ref = _gdaldem(gdaldem_bin, "slope", demo.dem, tmp_path / "s.tif")
    # Same pixels have a slope (the demo DEM has a void: its ring must be nodata in both).
    assert np.array_equal(np.isnan(ours), np.isnan(ref))
    assert (z == nodata).sum() > 0
    valid = ~np.isnan(ref)
    assert valid.sum() > 0.99 * (z.shape[0] - 2) * (z.shape[1] - 2) - 200
    assert np.max(np.abs(ours[valid] - ref[valid])) < 0.01


def test_aspect_matches_float64_reference_and_gdaldem(demo, gdaldem_bin: str, tmp_path: Path) -> None:
    z, grid, nodata = _read(demo.dem)
    s, asp = slope_deg(z, grid, nodata=nodata, aspect=True)
    zz = z.astype(np.float64)
    zz[z == nodata] = np.nan
    ref_s, ref_a = _f64_reference(zz, abs(grid.transform.a), abs(grid.transform.e))
    ok = np.isfinite(ref_s) & (ref_s > 0.5)
    assert np.nanmax(np.abs(s - ref_s)) < 1e-3
    assert np.max(np.abs((asp[ok] - ref_a[ok] + 180) % 360 - 180)) < 0.05
    # gdaldem (GDAL 3.6) sums elevations in single precision, so compare on real slopes only.
    g = _gdaldem(gdaldem_bin, "aspect", demo.dem, tmp_path / "a.tif")
    steep = np.isfinite(g) & (ref_s > 5)
    assert steep.sum() > 1000
    assert np.max(np.abs((asp[steep] - g[steep] + 180) % 360 - 180)) < 0.1


def test_aspect_of_a_plane_facing_east() -> None:
    x = np.arange(10, dtype=np.float64)
    z = np.tile(-x * 10.0, (10, 1))  # falls towards the east by 10 m per 10 m pixel: 45°
    grid = GridSpec(10, 10, Affine(10, 0, 0, 0, -10, 100), GK)
    s, a = slope_deg(z, grid, aspect=True)
    assert np.allclose(s[1:-1, 1:-1], 45.0, atol=1e-4)
    assert np.allclose(a[1:-1, 1:-1], 90.0, atol=1e-4)


def _lonlat_grid(lat_top: float, lon_left: float, n: int, res_deg: float) -> tuple[GridSpec, np.ndarray, np.ndarray]:
    t = Affine(res_deg, 0, lon_left, 0, -res_deg, lat_top)
    grid = GridSpec(n, n, t, WGS84)
    cols, rows = np.meshgrid(np.arange(n) + 0.5, np.arange(n) + 0.5)
    lon, lat = t.c + t.a * cols, t.f + t.e * rows
    return grid, np.asarray(lon), np.asarray(lat)


@pytest.mark.parametrize("lat_top", [42.5, 62.0])
def test_tilted_plane_on_a_lonlat_grid(lat_top: float) -> None:
    # z rises northwards by tan(20°) per metre of meridian arc: slope exactly 20° everywhere.
    grid, lon, lat = _lonlat_grid(lat_top, 1.0, 120, 3 / 3600)
    geod = pyproj.Geod(ellps="WGS84")
    # (measured from the grid's bottom edge so elevations stay small enough for float32)
    lat0 = lat_top - 120 * 3 / 3600
    _, _, north_m = geod.inv(np.full(lat.shape, 1.0), np.full(lat.shape, lat0), np.full(lat.shape, 1.0), lat)
    z = math.tan(math.radians(20)) * north_m
    s = slope_deg(z, grid)
    inner = s[1:-1, 1:-1]
    assert np.all(np.isfinite(inner))
    assert np.max(np.abs(inner - 20.0)) < 0.01


@pytest.mark.parametrize("lat_top", [42.5, 62.0])
def test_plane_facing_any_direction_and_a_cone_on_a_lonlat_grid(lat_top: float) -> None:
    # z = tan(30°) × geodesic distance to an apex: the slope is 30° at every pixel (the surface's
    # gradient has length tan 30° everywhere).  A far apex (200 km south-west) makes a tilted
    # plane facing north-east; an apex in the grid makes a cone.
    n = 150
    grid, lon, lat = _lonlat_grid(lat_top, 1.0, n, 3 / 3600)
    geod = pyproj.Geod(ellps="WGS84")
    k = math.tan(math.radians(30))
    far_lon, far_lat, _ = geod.fwd(1.06, lat_top - 0.06, 225.0, 200_000.0)
    _, _, d_far = geod.inv(np.full(lon.shape, far_lon), np.full(lon.shape, far_lat), lon, lat)
    s = slope_deg(k * (d_far - 190_000.0), grid)
    assert np.max(np.abs(s[1:-1, 1:-1] - 30.0)) < 0.01
    # E-W component matters: a single mid-tile scale would be off at the tile edges.
    c_lon, c_lat = lon[n // 2, n // 2], lat[n // 2, n // 2]
    _, _, d = geod.inv(np.full(lon.shape, c_lon), np.full(lon.shape, c_lat), lon, lat)
    s = slope_deg(k * d, grid)
    far_from_apex = d > 15 * 90  # the apex itself has no single slope
    inner = np.zeros_like(far_from_apex)
    inner[1:-1, 1:-1] = True
    err = np.abs(s[far_from_apex & inner] - 30.0)
    # Horn on a cone of curvature 1/r: the error falls as (pixel/r)²; < 0.05° from 15 pixels out.
    assert np.max(err) < 0.05
    assert np.median(err) < 0.01


def test_geographic_scale_is_per_row() -> None:
    grid, _, _ = _lonlat_grid(60.0, 1.0, 3, 1.0)
    dx, dy = grid.pixel_size_m([0, 2])
    # widths follow cos φ (59.5° vs 57.5° centre latitudes), heights barely change
    assert dx[1] / dx[0] == pytest.approx(math.cos(math.radians(57.5)) / math.cos(math.radians(59.5)), rel=2e-3)
    assert dy[0] == pytest.approx(dy[1], rel=1e-3)
    assert 110_000 < dy[0] < 112_000


def test_a_void_never_yields_a_slope_for_its_neighbours() -> None:
    rng = np.random.default_rng(3)
    z = rng.normal(1000, 30, (40, 50)).astype(np.float32)
    z[20, 25] = -9999
    z[5, 0] = np.nan
    grid = GridSpec(40, 50, Affine(30, 0, 500000, 0, -30, 2700000), GK)
    s = slope_deg(z, grid, nodata=-9999)
    assert np.all(np.isnan(s[19:22, 24:27]))
    assert np.all(np.isnan(s[4:7, 0:2]))
    assert np.all(np.isnan(s[0, :])) and np.all(np.isnan(s[:, -1]))  # outer ring
    # outer ring 2·50 + 2·38, the interior void's 3 × 3, the edge void's 3 × 2 less its ring part
    assert np.isnan(s).sum() == 176 + 9 + 3
    assert np.isfinite(s[18, 25]) and np.isfinite(s[20, 23])


def _rough_dem(h: int, w: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    z = np.cumsum(np.cumsum(rng.normal(0, 3, (h, w)), 0), 1).astype(np.float32) + 1500
    z[rng.random((h, w)) < 0.01] = -32768
    return z


@pytest.mark.parametrize("geographic", [False, True])
@pytest.mark.parametrize("block", [(1, None), (2, 3), (7, 5), (64, 100), (333, None), (17, 1)])
def test_windowed_equals_whole_array(geographic: bool, block: tuple[int, int | None]) -> None:
    z = _rough_dem(97, 83, 7)
    if geographic:
        grid = GridSpec(97, 83, Affine(1 / 1200, 0, 1.0, 0, -1 / 1200, 43.0), WGS84)
    else:
        grid = GridSpec(97, 83, Affine(30, 0, 500000, 0, -30, 2700000), GK)
    whole, whole_a = slope_deg(z, grid, nodata=-32768, aspect=True)
    part, part_a = slope_deg(z, grid, nodata=-32768, block_rows=block[0], block_cols=block[1], aspect=True)
    assert np.array_equal(whole, part, equal_nan=True)
    assert np.array_equal(whole_a, part_a, equal_nan=True)
    assert np.isfinite(whole).sum() > 0.8 * z.size


@settings(max_examples=25, deadline=None)
@given(h=st.integers(3, 40), w=st.integers(3, 40), br=st.integers(1, 45), bc=st.integers(1, 45),
       seed=st.integers(0, 1000))
def test_windowed_equals_whole_property(h: int, w: int, br: int, bc: int, seed: int) -> None:
    z = _rough_dem(h, w, seed)
    grid = GridSpec(h, w, Affine(1 / 1200, 0, 100.0, 0, -1 / 1200, 25.0), WGS84)
    assert np.array_equal(slope_deg(z, grid, nodata=-32768),
                          slope_deg(z, grid, nodata=-32768, block_rows=br, block_cols=bc), equal_nan=True)


def test_iter_windows_cover_the_raster_once() -> None:
    seen = np.zeros((10, 7), dtype=int)
    for r0, r1, c0, c1 in iter_windows(10, 7, block_rows=3, block_cols=4):
        seen[r0:r1, c0:c1] += 1
    assert np.all(seen == 1)
    with pytest.raises(InputError, match="at least 1 × 1"):
        list(iter_windows(10, 7, block_rows=0))


def test_cell_areas_are_ellipsoidal() -> None:
    geod = pyproj.Geod(ellps="WGS84")
    grid = GridSpec(120, 60, Affine(1 / 60, 0, 99.0, 0, -1 / 60, 26.0), WGS84)
    total = grid.cell_area_m2(0, 120, 0, 60).sum()
    # the cells are bounded by parallels, so the reference box follows them densely
    lons = np.linspace(99, 100, 2001)
    box_area, _ = geod.polygon_area_perimeter(np.r_[lons, lons[::-1]], np.r_[np.full(2001, 26.0), np.full(2001, 24.0)])
    assert total == pytest.approx(abs(box_area), rel=1e-9)
    # Projected (Gauss-Krüger): pixel area / areal scale, checked against pyproj at every pixel.
    t = Affine(30, 0, 600000, 0, -30, 2750000)  # ≈ 100 km east of the central meridian
    g2 = GridSpec(50, 70, t, GK)
    cols, rows = np.meshgrid(np.arange(70) + 0.5, np.arange(50) + 0.5)
    x, y = t.c + t.a * cols, t.f + t.e * rows
    crs = pyproj.CRS.from_wkt(GK)
    lon, lat = pyproj.Transformer.from_crs(crs, crs.geodetic_crs, always_xy=True).transform(x, y)
    exact = 900.0 / np.asarray(pyproj.Proj(crs).get_factors(lon, lat).areal_scale).reshape(50, 70)
    got = g2.cell_area_m2(0, 50, 0, 70)
    assert np.max(np.abs(got / exact - 1)) < 1e-8
    assert np.all(got < 900.0)  # conformal GK enlarges away from the meridian


def test_bad_grids_are_refused() -> None:
    with pytest.raises(InputError, match="rotated"):
        GridSpec(10, 10, Affine(30, 1, 0, 0, -30, 0), GK)
    with pytest.raises(InputError, match="units"):
        GridSpec(10, 10, Affine(30, 0, 0, 0, -30, 0), pyproj.CRS.from_epsg(2227).to_wkt())  # US feet
    with pytest.raises(InputError, match="at least 3 × 3"):
        horn_slope(np.zeros((2, 5)), dx_m=1.0, dy_m=1.0)
    grid = GridSpec(10, 10, Affine(30, 0, 0, 0, -30, 0), GK)
    with pytest.raises(InputError, match="does not match the grid"):
        slope_deg(np.zeros((9, 10)), grid)


@pytest.mark.realdata
def test_srtm_tile_against_gdaldem_on_a_utm_copy(shared_data: Path, gdaldem_bin: str, tmp_path: Path) -> None:
    """Real SRTM 3" tile (42–43°N): our geographic slope vs gdaldem on a UTM-31N copy.

    Tolerance.  The copy is resampled (cubic) onto a 90 m UTM grid, which smooths the relief
    and moves pixel centres by up to half a pixel, so single pixels differ by degrees on
    rough ground whatever the slope method: a per-pixel tolerance would measure the
    resampling.  What a wrong ground scale changes is systematic: ignoring cos φ, or
    gdaldem's single ``-s 111120`` scale on degrees, flattens east–west slopes by cos 42.5°
    (tan ratio ≈ 0.74) and leaves north–south slopes alone.  So, on pixels steeper than 3°:

    * the median difference (ours − gdaldem/UTM) is within 0.3° (measured 0.17°, the
      smoothing of the cubic copy; 1.7° for the single-scale control below);
    * the median tan-slope ratio of east/west-facing pixels over that of north/south-facing
      pixels is 1 ± 0.02 (measured 1.004; the control gives 0.76).

    The control (gdaldem ``-s 111120`` on the geographic tile, warped the same way) must
    fail both checks, proving they can.
    """
    src = shared_data / "dem" / "N42E001_SRTM3v2.1.tif"
    z, grid, nodata = _read(src)
    assert grid.geographic
    ours = slope_deg(z, grid, nodata=nodata)
    ours_tif = tmp_path / "ours.tif"
    with rasterio.open(src) as s:
        prof = s.profile | {"dtype": "float32", "nodata": -9999.0}
    with rasterio.open(ours_tif, "w", **prof) as dst:
        dst.write(np.where(np.isnan(ours), -9999.0, ours).astype(np.float32), 1)

    te = ["340000", "4660000", "410000", "4750000"]  # ≈ 1.1–1.9°E, 42.1–42.9°N in UTM 31N

    def warp(inp: Path, name: str) -> np.ndarray:
        out = tmp_path / name
        subprocess.run(["gdalwarp", "-q", "-t_srs", "EPSG:32631", "-tr", "90", "90", "-te", *te,
                        "-r", "cubic", "-dstnodata", "-9999", str(inp), str(out)], check=True)
        with rasterio.open(out) as ds:
            a = ds.read(1).astype(np.float64)
            a[a == -9999] = np.nan
        return a

    warp(src, "utm.tif")
    ref = _gdaldem(gdaldem_bin, "slope", tmp_path / "utm.tif", tmp_path / "ref.tif")
    asp = _gdaldem(gdaldem_bin, "aspect", tmp_path / "utm.tif", tmp_path / "asp.tif")
    mine = warp(ours_tif, "ours_utm.tif")
    subprocess.run([gdaldem_bin, "slope", "-q", "-s", "111120", str(src), str(tmp_path / "naive.tif")], check=True)
    naive = warp(tmp_path / "naive.tif", "naive_utm.tif")

    ok = np.isfinite(ref) & np.isfinite(mine) & np.isfinite(naive) & np.isfinite(asp) & (ref > 3)
    assert ok.sum() > 500_000
    ew = ok & ((np.abs(asp - 90) < 20) | (np.abs(asp - 270) < 20))
    ns = ok & ((asp < 20) | (asp > 340) | (np.abs(asp - 180) < 20))

    def checks(x: np.ndarray) -> tuple[float, float]:
        ratio = np.tan(np.radians(x[ok])) / np.tan(np.radians(ref[ok]))
        r = np.full(ref.shape, np.nan)
        r[ok] = ratio
        return float(np.median(x[ok] - ref[ok])), float(np.median(r[ew]) / np.median(r[ns]))

    bias, anisotropy = checks(mine)
    assert abs(bias) < 0.3
    assert abs(anisotropy - 1) < 0.02
    bias_n, anisotropy_n = checks(naive)
    assert abs(bias_n) > 0.3 and abs(anisotropy_n - 1) > 0.02
