"""The site hazard screen straight from a DEM, read only in windows around the sites.

:func:`layers.terrain.site_hazard_from_raster` screens the sites on a slope GeoTIFF of the
whole DEM; :func:`site_hazard_from_dem` gives the same table without one, reading only small
windows of the DEM (so a province-wide or huge sparse DEM is screened where the sites are,
the pixel limit applying to each window).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import shapely
from affine import Affine
from numpy.typing import NDArray
from rasterio.windows import Window

from analysis.land import site_hazard
from anzhi.core.errors import InputError
from geo.terrain import GridSpec, slope_window
from layers.raster import check_dem, check_window_pixels, point_windows, window_transform

__all__ = ["HAZARD_PAD_PX", "site_hazard_from_dem"]


#: Pixels read beyond each site's circle by :func:`site_hazard_from_dem`: exactextract's
#: reach and one block of the cell-area lattice (:meth:`geo.terrain.GridSpec.cell_area_m2`),
#: so each window gives the areas the whole raster gives.
HAZARD_PAD_PX: int = 64


def site_hazard_from_dem(sites: gpd.GeoDataFrame, dem: str | Path, *, radius_m: float = 100.0,
                         max_slope_deg: float = 25.0, max_share_gt25: float = 0.3,
                         group_px: int = 1024) -> pd.DataFrame:
    """:func:`analysis.land.site_hazard` straight from a DEM, read only in windows around the sites.

    No slope raster of the whole DEM is made: the sites are grouped by the
    ``group_px`` × ``group_px`` block of the DEM they stand in
    (:func:`layers.raster.point_windows`), and for each group only the window of its
    circles (``radius_m`` plus :data:`HAZARD_PAD_PX` pixels, aligned on 32 pixels) is read,
    its slope computed with the DEM's own halo (:func:`geo.terrain.slope_window`, the same
    float32 values as :func:`layers.terrain.write_slope` of the whole DEM) and screened.  A county's sites
    give a few windows, sites scattered over a province-wide DEM one small window each;
    the result equals :func:`layers.terrain.site_hazard_from_raster` on the whole DEM's slope.

    Parameters
    ----------
    sites
        Site points with ``site_id`` (any CRS with a definition; ``layers.sites.read_sites``
        gives EPSG:4326).
    dem
        The DEM (as :func:`layers.terrain.write_slope`); its declared size is not limited, each window is
        (``settings.max_raster_pixels``, :func:`layers.raster.check_window_pixels`).
    radius_m, max_slope_deg, max_share_gt25
        As :func:`analysis.land.site_hazard`.
    group_px
        Block size (pixels) of the grouping.

    Returns
    -------
    pandas.DataFrame
        As :func:`analysis.land.site_hazard`, indexed like ``sites``.

    Raises
    ------
    DataSourceError, InputError
        An unreadable DEM, no CRS, several bands, a rotated grid, or a window above the limit.
    """
    info = check_dem(dem, whole=False)
    name = Path(str(dem)).name
    if sites.crs is None or not len(sites):
        return site_hazard(sites, np.full((1, 1), np.nan, dtype=np.float32),
                           GridSpec.from_crs(1, 1, Affine.identity(), "EPSG:4326"), radius_m=radius_m,
                           max_slope_deg=max_slope_deg, max_share_gt25=max_share_gt25)
    geoms = sites.geometry.to_crs("EPSG:4326").values
    lon, lat = shapely.get_x(geoms), shapely.get_y(geoms)
    groups = point_windows(info, lon, lat, margin_m=float(radius_m) * 1.02 if radius_m > 0 else 0.0,
                           pad_px=HAZARD_PAD_PX, group_px=group_px, align_px=32)
    parts, order = [], []
    with rasterio.open(info.path) as src:
        try:
            grid = GridSpec.from_crs(src.height, src.width, src.transform, src.crs)
        except InputError as exc:
            raise InputError(f"{name}: {exc}") from exc

        def read(r0: int, r1: int, c0: int, c1: int) -> NDArray[Any]:
            return src.read(1, window=Window(c0, r0, c1 - c0, r1 - r0))

        for win, idx in groups:
            # a group off the DEM is screened on its corner pixel: "no slope data"
            r0, r1, c0, c1 = win if win is not None else (0, 1, 0, 1)
            check_window_pixels(name, r1 - r0, c1 - c0, what=f"around {len(idx)} site(s)")
            # aspect=False: the slope array alone
            slope = cast(NDArray[np.float32], slope_window(read, grid, (r0, r1, c0, c1),
                                                            nodata=src.nodata))
            sub = GridSpec.from_crs(r1 - r0, c1 - c0, window_transform(src.transform, r0, c0), src.crs)
            parts.append(site_hazard(sites.iloc[idx], slope, sub, radius_m=radius_m,
                                     max_slope_deg=max_slope_deg, max_share_gt25=max_share_gt25))
            order.append(idx)
    out = pd.concat(parts)
    pos = np.empty(len(sites), dtype=np.int64)
    pos[np.concatenate(order)] = np.arange(len(sites))
    out = out.iloc[pos]
    out.index = sites.index
    return out
