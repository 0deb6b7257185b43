"""Polygon overlays for the map and the outputs: township boundaries, any polygon layer.

Read with GDAL (GeoPackage, GeoJSON, Shapefile) and returned in EPSG:4326.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pyogrio.errors

from anzhi.core.errors import DataSourceError
from layers.guard import check_opened_driver, check_vector_file

__all__ = ["read_polygons", "read_townships"]


def read_polygons(path: str | Path, *, what: str, layer: str | None = None) -> gpd.GeoDataFrame:
    """Read an overlay (township boundaries, parcels) for the map, in EPSG:4326.

    Parameters
    ----------
    path
        Any vector file GDAL reads (GeoPackage, GeoJSON, Shapefile).
    what
        What the layer is, for messages (``"township boundaries"``, ``"parcels"``).
    layer
        Layer name; default the first layer.

    Raises
    ------
    DataSourceError
        The file is missing, unreadable, or has no CRS.
    """
    p = Path(path)
    check_opened_driver(p, check_vector_file(p, what=what), what=what)
    try:
        gdf = gpd.read_file(p, layer=layer)
    except (OSError, pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise DataSourceError(f"{p}: cannot read {what} ({exc})") from exc
    if gdf.crs is None:
        raise DataSourceError(
            f"{p}: {what} have no coordinate system; save them with a CRS "
            "(e.g. EPSG:4326 or CGCS2000 EPSG:4490)"
        )
    return gdf.to_crs(4326) if gdf.crs.to_epsg() != 4326 else gdf


def read_townships(path: str | Path, *, layer: str | None = None) -> gpd.GeoDataFrame:
    """Read township boundary polygons for the map, in EPSG:4326.

    :func:`read_polygons` with ``what="township boundaries"``, e.g. for the demo's
    ``townships.gpkg`` (layer ``townships``, columns ``township``, ``county``); the same
    ``path``, ``layer`` and errors.
    """
    return read_polygons(path, what="township boundaries", layer=layer)
