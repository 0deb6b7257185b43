"""``dem.tif`` of the demo county: the terrain sampled on the DEM grid (SYNTHETIC DATA)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import rasterio
from rasterio.crs import CRS
from rasterio.transform import Affine
from rasterio.windows import Window

from layers.demo.county import DEMO_CRS, DEMO_VERSION, GENERATOR, NODATA, SYNTHETIC_NOTE, County

__all__ = ["write_dem"]


def write_dem(county: County, path: Path) -> None:
    """Write ``county``'s elevation (m) to ``path``: float32 GeoTIFF in :data:`DEMO_CRS`.

    Tiled 256 × 256, deflate, nodata -9999, written in strips of rows so memory stays
    bounded; a void of a few nodata pixels sits in the north-east corner.
    """
    n, res, L = county.n_px, county.res_m, county.side_m
    profile = {
        "driver": "GTiff", "width": n, "height": n, "count": 1, "dtype": "float32",
        "crs": CRS.from_string(DEMO_CRS),
        "transform": Affine(res, 0.0, county.x0, 0.0, -res, county.y0 + L),
        "nodata": NODATA, "tiled": True, "blockxsize": 256, "blockysize": 256,
        "compress": "deflate", "predictor": 3, "zlevel": 6, "interleave": "band",
        "BIGTIFF": "IF_SAFER",
    }
    us = (np.arange(n) + 0.5) * res
    # a void (nodata) of a few pixels in the north-east corner
    void = [(r, c) for r in range(3, 7) for c in range(n - 9, n - 4)
            if (r, c) not in ((3, n - 9), (6, n - 5))]
    county.notes["dem_void_pixels"] = {"rows": "3-6", "cols": f"{n - 9}-{n - 5}",
                                       "count": len(void), "corner": "north-east"}
    stats_min, stats_max = math.inf, -math.inf
    strip = 512 if n * 512 <= 4_000_000 else 256
    with rasterio.open(path, "w", **profile) as dst:
        dst.update_tags(
            SYNTHETIC="true", GENERATOR=f"{GENERATOR} v{DEMO_VERSION}",
            DESCRIPTION=SYNTHETIC_NOTE, SEED=str(county.seed), UNITS="metre",
            TIFFTAG_IMAGEDESCRIPTION=SYNTHETIC_NOTE,
            TIFFTAG_SOFTWARE=f"{GENERATOR} v{DEMO_VERSION}",
        )
        dst.set_band_description(1, "elevation (m), synthetic")
        dst.update_tags(1, UNITS="metre")
        for r0 in range(0, n, strip):
            r1 = min(n, r0 + strip)
            vs = L - (np.arange(r0, r1) + 0.5) * res
            e, _ = county.terrain.grid(us, vs, min_wavelength_m=2 * res)
            stats_min = min(stats_min, float(e.min()))
            stats_max = max(stats_max, float(e.max()))
            arr = e.astype(np.float32)
            for r, c in void:
                if r0 <= r < r1:
                    arr[r - r0, c] = NODATA
            dst.write(arr, 1, window=Window(0, r0, n, r1 - r0))
    county.notes["dem_elevation_range_m"] = [round(stats_min, 1), round(stats_max, 1)]
