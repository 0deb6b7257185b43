"""The site and facility GeoDataFrames of the routing adapters: their checks and snapping.

:func:`geo.routing.access_table`, the :mod:`geo.matrix` tables and the :mod:`geo.service`
areas validate their layers here (problems collected, raised once; CONVENTIONS.md §5),
choose the facility types to report with :func:`select_types` and snap both layers with
:func:`snap_layers`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pyproj
import shapely
from numpy.typing import NDArray

from anzhi.core.errors import InputError, ProblemCollector
from anzhi.core.vocabulary import FACILITY_TYPES
from geo.network import SnapResult, snap_points
from geo.roads import Profile, RoadGraph

__all__ = [
    "check_access_inputs",
    "check_elevation",
    "check_layer",
    "is_wgs84",
    "lonlat",
    "select_types",
    "show_crs",
    "snap_layers",
]

log = logging.getLogger(__name__)


def check_layer(
    gdf: object, label: str, columns: Sequence[str], pc: ProblemCollector
) -> bool:
    """Problems of one input layer; ``True`` when it can be used."""
    if not isinstance(gdf, gpd.GeoDataFrame):
        pc.add(f"{label} must be a GeoDataFrame of points", value=type(gdf).__name__,
               file=label, fix="read it with layers.sites.read_sites / layers.facilities.read_facilities")
        return False
    missing = [c for c in columns if c not in gdf.columns]
    if missing:
        pc.add(f"{label} lack column(s) {', '.join(missing)}", file=label,
               fix=f"{label} need {', '.join(columns)} (docs/schemas.md)")
    geom = gdf.geometry.values
    empty = shapely.is_missing(geom) | shapely.is_empty(geom)
    not_point = ~empty & (shapely.get_type_id(geom) != shapely.GeometryType.POINT)
    for mask, what in ((empty, "has no geometry"), (not_point, "is not a point")):
        if mask.any():
            rows = np.flatnonzero(mask)
            pc.add(f"{int(mask.sum())} row(s) {what} (first at index {gdf.index[rows[0]]!r})",
                   file=label, fix="give every row a point location (lon/lat)")
    return not missing and not empty.any() and not not_point.any()


def check_access_inputs(
    graph: RoadGraph, sites: object, facilities: object, profile: Profile, pc: ProblemCollector
) -> None:
    """The input checks of :func:`geo.routing.access_table` and the :mod:`geo.matrix` tables
    (problems collected in ``pc``)."""
    ok_s = check_layer(sites, "sites", ["site_id"], pc)
    ok_f = check_layer(facilities, "facilities", ["facility_id", "facility_type"], pc)
    if ok_s and ok_f:
        crs_s, crs_f = sites.crs, facilities.crs  # type: ignore[attr-defined]
        if not (is_wgs84(crs_s) and is_wgs84(crs_f)):
            pc.add(
                f"sites and facilities must both be in EPSG:4326 (WGS84 lon/lat), got sites in "
                f"{show_crs(crs_s)} and facilities in {show_crs(crs_f)}",
                fix="convert with .to_crs('EPSG:4326') (or set_crs if the CRS is missing but the "
                    "coordinates are lon/lat)",
            )
    if profile != graph.profile:
        pc.add(
            f"the road graph was built for profile {graph.profile.name!r}, not for "
            f"{getattr(profile, 'name', profile)!r}",
            fix="build it with RoadGraph.from_networkx(G, profile=profile)",
        )


def check_elevation(elevation_m: object, pc: ProblemCollector) -> None:
    """An ``elevation_m`` argument must be a function of metric x, y (or ``None``)."""
    if elevation_m is not None and not callable(elevation_m):
        pc.add("elevation_m must be a function elevation_m(x_m, y_m) -> metres, or None",
               value=type(elevation_m).__name__,
               fix="pass layers.raster.dem_elevation_sampler(dem, crs=graph.crs_metric)")


def is_wgs84(crs: object) -> bool:
    """Whether ``crs`` (anything pyproj reads) is EPSG:4326; ``False`` for ``None``."""
    return crs is not None and pyproj.CRS.from_user_input(crs) == pyproj.CRS.from_epsg(4326)


def show_crs(crs: object) -> str:
    """``crs`` as text for a message (``"none"`` when missing)."""
    return "none" if crs is None else str(pyproj.CRS.from_user_input(crs).to_string())


def select_types(fac_type: NDArray[np.object_] | NDArray[np.str_],
                 facility_types: Sequence[str] | None) -> list[str]:
    """Facility types to report: the requested ones (unknown ones refused) or those present."""
    present = set(np.asarray(fac_type).tolist())
    if facility_types is None:
        return [t for t in FACILITY_TYPES if t in present] + sorted(present - set(FACILITY_TYPES))
    types = list(dict.fromkeys(str(t) for t in facility_types))
    unknown = [t for t in types if t not in FACILITY_TYPES and t not in present]
    if unknown:
        raise InputError(
            f"unknown facility type(s) {', '.join(unknown)}: not in the vocabulary and not "
            f"among the facilities; known types: {', '.join(FACILITY_TYPES)}"
        )
    return types


def lonlat(gdf: gpd.GeoDataFrame) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Longitude and latitude (degrees) of a layer of EPSG:4326 points."""
    geom = gdf.geometry.values
    return (
        np.asarray(shapely.get_x(geom), dtype=np.float64),
        np.asarray(shapely.get_y(geom), dtype=np.float64),
    )


def snap_layers(
    graph: RoadGraph, sites: gpd.GeoDataFrame, facilities: gpd.GeoDataFrame, limit_m: float
) -> tuple[NDArray[np.float64], NDArray[np.float64], SnapResult,
           NDArray[np.float64], NDArray[np.float64], SnapResult]:
    """Snap the sites and the facilities (lon, lat and :class:`SnapResult` of each), warning
    about facilities farther than ``limit_m`` from every road."""
    s_lon, s_lat = lonlat(sites)
    f_lon, f_lat = lonlat(facilities)
    s_snap = snap_points(graph, s_lon, s_lat, max_snap_dist_m=limit_m)
    f_snap = snap_points(graph, f_lon, f_lat, max_snap_dist_m=limit_m)
    n_far = int((f_snap.node < 0).sum())
    if n_far:
        log.warning("%d facilit%s farther than %.0f m from any road: only reachable on foot "
                    "from sites within their own distance to the road", n_far,
                    "y is" if n_far == 1 else "ies are", limit_m)
    return s_lon, s_lat, s_snap, f_lon, f_lat, f_snap
