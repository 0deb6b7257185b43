"""DEM checks through real rasterio I/O."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyproj
import pytest
import rasterio
from affine import Affine
from hypothesis import given, settings
from hypothesis import strategies as st

from anzhi.core.errors import DataSourceError, InputError
from layers.raster import check_dem, dem_elevation_sampler


def _write(path: Path, *, crs: str | None, count: int = 1) -> None:
    data = np.arange(count * 12, dtype="float32").reshape(count, 3, 4)
    with rasterio.open(path, "w", driver="GTiff", width=4, height=3, count=count, dtype="float32",
                       crs=crs, transform=Affine(30, 0, 500000, 0, -30, 2700000), nodata=-9999) as dst:
        dst.write(data)


def test_demo_dem_is_projected(demo) -> None:  # type: ignore[no-untyped-def]
    info = check_dem(demo.dem)
    assert info.crs == "EPSG:4542" and not info.geographic
    assert info.res == pytest.approx((30.0, 30.0), rel=0.05)
    assert info.nodata == -9999


def test_srtm_tile_is_geographic(shared_data: Path) -> None:
    info = check_dem(shared_data / "dem" / "N42E001_SRTM3v2.1.tif")
    assert info.geographic and (info.width, info.height) == (1201, 1201)
    zipped = check_dem(shared_data / "dem" / "N42E001.hgt.zip")  # the tile as distributed
    assert zipped.path.endswith("N42E001.hgt.zip/N42E001.hgt")
    assert (zipped.width, zipped.crs) == (1201, info.crs)


test_srtm_tile_is_geographic = pytest.mark.realdata(test_srtm_tile_is_geographic)


def test_bad_dems_are_named(tmp_path: Path) -> None:
    junk = tmp_path / "junk.tif"
    junk.write_bytes(b"\x00" * 10)
    with pytest.raises(DataSourceError, match="junk.tif: cannot open the DEM"):
        check_dem(junk)
    badzip = tmp_path / "tile.hgt.zip"
    badzip.write_bytes(b"PK not really")
    with pytest.raises(DataSourceError, match="tile.hgt.zip: cannot read the zip"):
        check_dem(badzip)
    nocrs = tmp_path / "nocrs.tif"
    _write(nocrs, crs=None)
    with pytest.raises(InputError, match="nocrs.tif: the DEM has no CRS"):
        check_dem(nocrs)
    multi = tmp_path / "rgb.tif"
    _write(multi, crs="EPSG:4542", count=3)
    with pytest.raises(InputError, match="rgb.tif: the DEM has 3 bands"):
        check_dem(multi)


# --------------------------------------------------------------------------- dem_elevation_sampler

X0, Y0, PX = 500000.0, 2700000.0, 30.0  # EPSG:4542 (CGCS2000 GK CM 99°E), near Shidian
HOLE = (2, 5)  # row, column of the nodata pixel


def _plane(col_f: np.ndarray, row_f: np.ndarray) -> np.ndarray:
    """The plane the test DEM samples at pixel centres: 1000 + 2·column + 3·row."""
    return 1000.0 + 2.0 * (col_f - 0.5) + 3.0 * (row_f - 0.5)


@pytest.fixture(scope="module")
def plane_dem(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An 8 × 6 float32 GeoTIFF of a plane with one nodata pixel."""
    path = tmp_path_factory.mktemp("dem") / "plane.tif"
    rows, cols = np.mgrid[0:6, 0:8]
    data = _plane(cols + 0.5, rows + 0.5).astype("float32")
    data[HOLE] = -9999
    with rasterio.open(path, "w", driver="GTiff", width=8, height=6, count=1, dtype="float32",
                       crs="EPSG:4542", transform=Affine(PX, 0, X0, 0, -PX, Y0), nodata=-9999) as dst:
        dst.write(data, 1)
    return path


def _xy(col_f: np.ndarray, row_f: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return X0 + PX * np.asarray(col_f), Y0 - PX * np.asarray(row_f)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.floats(0.5, 7.5), st.floats(0.5, 5.5)), min_size=1, max_size=20))
def test_sampler_is_exact_on_a_plane(plane_dem: Path, pts: list[tuple[float, float]]) -> None:
    cols, rows = np.array(pts).T
    z = dem_elevation_sampler(plane_dem, crs="EPSG:4542")(*_xy(cols, rows))
    # a point needs the four pixel centres around it; NaN when one of them is the hole
    near_hole = (np.abs(cols - (HOLE[1] + 0.5)) < 1) & (np.abs(rows - (HOLE[0] + 0.5)) < 1)
    assert np.isnan(z[near_hole]).all()
    np.testing.assert_allclose(z[~near_hole], _plane(cols, rows)[~near_hole], rtol=0, atol=1e-9)


def test_sampler_voids_edges_and_outside(plane_dem: Path) -> None:
    sample = dem_elevation_sampler(plane_dem, crs="EPSG:4542")
    cols = np.array([5.5, 4.5, 5.0, 0.2, 8.5, -0.1, 3.0])
    rows = np.array([2.5, 2.5, 3.0, 3.0, 1.0, 2.0, 6.2])
    z = sample(*_xy(cols, rows))
    assert np.isnan(z[0])  # on the hole
    assert z[1] == pytest.approx(1000 + 2 * 4 + 3 * 2)  # a valid centre next to it
    assert np.isnan(z[2])  # between the hole and its neighbours
    assert z[3] == pytest.approx(1000 + 0 + 3 * 2.5)  # outer half pixel: the edge pixel extended
    assert np.isnan(z[4:]).all()  # outside the raster
    # shapes are kept; a second call in another window reads it correctly
    grid = sample(*_xy(np.array([[1.5, 2.0], [6.5, 7.25]]), np.array([[0.5, 1.0], [4.5, 5.0]])))
    assert grid.shape == (2, 2)
    np.testing.assert_allclose(grid, _plane(np.array([[1.5, 2.0], [6.5, 7.25]]),
                                            np.array([[0.5, 1.0], [4.5, 5.0]])))
    # inside the window just read (kept and reused), then outside it again
    assert sample(*_xy(np.array([3.0]), np.array([3.0])))[0] == pytest.approx(_plane(3.0, 3.0))
    assert sample(*_xy(np.array([0.6]), np.array([0.7])))[0] == pytest.approx(_plane(0.6, 0.7))


def test_sampler_reprojects_points(plane_dem: Path) -> None:
    cols, rows = np.array([0.7, 3.2, 6.9, 2.0]), np.array([0.6, 4.4, 1.3, 2.2])
    x, y = _xy(cols, rows)
    lon, lat = pyproj.Transformer.from_crs("EPSG:4542", "EPSG:4326", always_xy=True).transform(x, y)
    assert 98.9 < lon.min() and lat.max() < 24.5  # really somewhere else in degrees
    z = dem_elevation_sampler(plane_dem, crs="EPSG:4326")(lon, lat)
    np.testing.assert_allclose(z, _plane(cols, rows), atol=1e-6)


def test_sampler_on_an_srtm_like_tile(tmp_path: Path) -> None:
    """int16 in degrees with −32768 voids, as SRTM is distributed."""
    path = tmp_path / "srtm.tif"
    data = (np.arange(25, dtype="int16").reshape(5, 5) * 10 + 500).astype("int16")
    data[0, 0] = -32768
    step = 1 / 1200
    with rasterio.open(path, "w", driver="GTiff", width=5, height=5, count=1, dtype="int16",
                       crs="EPSG:4326", transform=Affine(step, 0, 1.5, 0, -step, 42.5),
                       nodata=-32768) as dst:
        dst.write(data, 1)
    sample = dem_elevation_sampler(path, crs="EPSG:4326")
    lon = 1.5 + step * np.array([2.5, 3.0, 0.5, 0.9])
    lat = 42.5 - step * np.array([1.5, 1.5, 0.5, 0.9])
    z = sample(lon, lat)
    assert z[0] == pytest.approx(500 + 10 * (1 * 5 + 2))
    assert z[1] == pytest.approx(500 + 10 * (1 * 5 + 2.5))
    assert np.isnan(z[2:]).all()


def test_sampler_errors(tmp_path: Path, plane_dem: Path) -> None:
    junk = tmp_path / "junk.tif"
    junk.write_bytes(b"\x00" * 10)
    with pytest.raises(DataSourceError, match="junk.tif: cannot open the DEM"):
        dem_elevation_sampler(junk, crs="EPSG:4326")
    with pytest.raises(InputError, match="'EPSG:99999' is not a coordinate reference system"):
        dem_elevation_sampler(plane_dem, crs="EPSG:99999")
    nocrs = tmp_path / "nocrs.tif"
    _write(nocrs, crs=None)
    with pytest.raises(InputError, match="nocrs.tif: the DEM has no CRS"):
        dem_elevation_sampler(nocrs, crs="EPSG:4326")


@pytest.mark.realdata
def test_sampler_on_the_srtm_tile(shared_data: Path) -> None:
    path = shared_data / "dem" / "N42E001_SRTM3v2.1.tif"
    sample = dem_elevation_sampler(path, crs="EPSG:4326")
    with rasterio.open(path) as src:
        raw = src.read(1)
        # pixel centres of a few valid pixels and one void
        void_r, void_c = (int(v[0]) for v in np.nonzero(raw == -32768))
        ok_r, ok_c = np.array([300, 600, 900]), np.array([400, 700, 1000])
        lon, lat = src.xy(np.r_[ok_r, void_r], np.r_[ok_c, void_c])
    z = sample(np.asarray(lon), np.asarray(lat))
    np.testing.assert_allclose(z[:3], raw[ok_r, ok_c], atol=1e-6)
    assert np.isnan(z[3])
