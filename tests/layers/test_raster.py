"""DEM checks through real rasterio I/O."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine

from anzhi.errors import DataSourceError, InputError
from layers.raster import check_dem


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
