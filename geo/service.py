"""Service areas by road: where the network reaches a facility of each type in time.

* :func:`reached_lines` — per facility type, the road network from which a facility is
  reached within a time limit: one multi-source Dijkstra by time from the facilities on the
  transposed graph (:func:`geo.network.from_facilities`, as :func:`geo.routing.access_table`
  counts the facility end), the edges cut where the budget runs out;
* :func:`service_areas` — that line work buffered into polygons ("buffered reached edges").
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

from anzhi.core.errors import ProblemCollector
from geo.inputs import check_elevation, check_layer, is_wgs84, lonlat, select_types, show_crs
from geo.network import from_facilities, side_legs_min, snap_points, to_metric
from geo.roads import RoadGraph
from geo.tobler import ElevationFn

__all__ = ["SERVICE_AREA_COLUMNS", "SERVICE_AREA_METHOD", "reached_lines", "service_areas"]

#: ``method`` column of :func:`service_areas`.
SERVICE_AREA_METHOD = "buffered reached edges"

#: Columns of :func:`service_areas` (plus ``geometry``).
SERVICE_AREA_COLUMNS: tuple[str, ...] = (
    "facility_type", "minutes", "n_facilities", "area_km2", "method",
)


def _planar_at(
    graph: RoadGraph, edge: NDArray[np.int64], fraction: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Planar distance (m, metric CRS) along each edge's line at a cost ``fraction``.

    The inverse of the snapped fraction (:func:`geo.network.snap_points`): ``fraction`` is
    the share of the edge's great-circle length from ``pedge_u`` (costs along an edge are
    proportional to it).
    """
    first, cum_pl, cum_gc = graph.pedge_vertex_measure
    s0, s1 = first[edge], first[edge + 1] - 1
    total_gc = cum_gc[s1] - cum_gc[s0]
    target = cum_gc[s0] + fraction * total_gc
    k = np.clip(np.searchsorted(cum_gc, target, side="right") - 1, s0, np.maximum(s1 - 1, s0))
    seg_gc = cum_gc[np.minimum(k + 1, s1)] - cum_gc[k]
    seg_pl = cum_pl[np.minimum(k + 1, s1)] - cum_pl[k]
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.clip(np.where(seg_gc > 0, (target - cum_gc[k]) / seg_gc, 0.0), 0.0, 1.0)
        planar = cum_pl[k] - cum_pl[s0] + t * seg_pl
    plen = cum_pl[s1] - cum_pl[s0]
    return np.clip(np.where(total_gc > 0, planar, fraction * plen), 0.0, plen)


def _substrings(
    graph: RoadGraph, edge: NDArray[np.int64], start_m: NDArray[np.float64],
    end_m: NDArray[np.float64],
) -> NDArray[np.object_]:
    """The parts ``[start_m, end_m]`` (planar metres along the line) of physical edges.

    Vectorised ``shapely.ops.substring``: the interpolated end points plus the line's
    vertices strictly between them, assembled with one ``shapely.linestrings`` call.
    """
    if len(edge) == 0:
        return np.empty(0, dtype=object)
    first, cum_pl, _ = graph.pedge_vertex_measure
    all_xy = np.asarray(shapely.get_coordinates(graph.pedge_geometry), dtype=np.float64)
    s0, s1 = first[edge], first[edge + 1] - 1
    base = cum_pl[s0]
    lo = np.clip(np.searchsorted(cum_pl, base + start_m, side="right"), s0 + 1, s1)
    hi = np.clip(np.searchsorted(cum_pl, base + end_m, side="left"), s0 + 1, s1)
    n_inner = np.maximum(hi - lo, 0)
    geom = graph.pedge_geometry[edge]
    p0 = shapely.get_coordinates(shapely.line_interpolate_point(geom, start_m))
    p1 = shapely.get_coordinates(shapely.line_interpolate_point(geom, end_m))
    count = n_inner + 2
    m = len(edge)
    offsets = np.concatenate([[0], np.cumsum(count)])
    out = np.empty((int(offsets[-1]), 2))
    out[offsets[:-1]] = p0
    out[offsets[1:] - 1] = p1
    total_inner = int(n_inner.sum())
    if total_inner:
        which = np.repeat(np.arange(m), n_inner)
        within = np.arange(total_inner) - np.repeat(np.cumsum(n_inner) - n_inner, n_inner)
        out[offsets[:-1][which] + 1 + within] = all_xy[lo[which] + within]
    return np.asarray(shapely.linestrings(out, indices=np.repeat(np.arange(m), count)),
                      dtype=object)


def _reached_intervals(
    graph: RoadGraph, dist: NDArray[np.float64], f_edge: NDArray[np.int64],
    f_frac: NDArray[np.float64], f_leg_min: NDArray[np.float64], minutes: float,
) -> tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.float64]]:
    """Reached parts of the physical edges as (edge, start fraction, end fraction).

    ``dist`` is the node → nearest facility time (min) of :func:`from_facilities`.  A
    point at fraction ``p`` of edge ``u–v`` reaches a facility through ``u`` (along
    ``v → u``, cost ``p·w_bwd``) or through ``v`` (along ``u → v``, ``(1 − p)·w_fwd``), or
    directly along the edge when a facility is on it.  A node reached at cost ``c`` leaves
    the budget ``r = minutes − c``, which covers ``r / w`` of an adjacent edge.
    """
    n = graph.n_nodes
    u, v = graph.pedge_u, graph.pedge_v
    w_fwd, w_bwd = graph.pedge_weight("time")
    r_u = minutes - dist[:n][u]
    r_v = minutes - dist[:n][v]
    with np.errstate(invalid="ignore", divide="ignore"):
        a = np.where((r_u >= 0) & np.isfinite(w_bwd),
                     np.where(w_bwd > 0, np.clip(r_u / w_bwd, 0.0, 1.0), 1.0), -1.0)
        b = np.where((r_v >= 0) & np.isfinite(w_fwd),
                     np.where(w_fwd > 0, 1.0 - np.clip(r_v / w_fwd, 0.0, 1.0), 0.0), 2.0)
    whole = (a >= 0) & (b <= 1) & (a >= b)
    from_u = (a > 0) & ~whole
    from_v = (b < 1) & ~whole
    e_parts = [np.flatnonzero(whole), np.flatnonzero(from_u), np.flatnonzero(from_v)]
    lo_parts = [np.zeros(len(e_parts[0])), np.zeros(len(e_parts[1])), b[e_parts[2]]]
    hi_parts = [np.ones(len(e_parts[0])), a[e_parts[1]], np.ones(len(e_parts[2]))]
    # the facilities' own edges: straight along the edge from the facility's position
    on = (f_edge >= 0) & (minutes - f_leg_min > 0)
    e, p, r = f_edge[on], f_frac[on], (minutes - f_leg_min)[on]
    with np.errstate(invalid="ignore", divide="ignore"):
        # points before p reach it along u→v, points after p along v→u
        lo = np.where(np.isfinite(w_fwd[e]),
                      np.where(w_fwd[e] > 0, p - r / w_fwd[e], 0.0), p)
        hi = np.where(np.isfinite(w_bwd[e]),
                      np.where(w_bwd[e] > 0, p + r / w_bwd[e], 1.0), p)
    e_parts.append(e)
    lo_parts.append(np.clip(lo, 0.0, 1.0))
    hi_parts.append(np.clip(hi, 0.0, 1.0))
    edge = np.concatenate(e_parts).astype(np.int64)
    lo_f = np.concatenate(lo_parts)
    hi_f = np.concatenate(hi_parts)
    keep = hi_f > lo_f
    return edge[keep], lo_f[keep], hi_f[keep]


def _check_service_inputs(
    graph: RoadGraph, facilities: object, minutes: float, buffer_m: float | None,
    elevation_m: object = None,
) -> None:
    pc = ProblemCollector()
    check_elevation(elevation_m, pc)
    if check_layer(facilities, "facilities", ["facility_type"], pc):
        crs = facilities.crs  # type: ignore[attr-defined]
        if not is_wgs84(crs):
            pc.add(
                f"facilities must be in EPSG:4326 (WGS84 lon/lat), got {show_crs(crs)}; the road "
                f"graph's metric CRS is {graph.crs_metric}, used internally",
                fix="convert with facilities.to_crs('EPSG:4326') (or set_crs if the CRS is missing "
                    "but the coordinates are lon/lat)",
            )
    if isinstance(minutes, bool) or not (isinstance(minutes, int | float | np.number)
                                         and math.isfinite(minutes) and minutes >= 0):
        pc.add("minutes must be a finite number of minutes >= 0", value=minutes,
               fix="give e.g. minutes=15")
    if buffer_m is not None and not (isinstance(buffer_m, int | float | np.number)
                                     and math.isfinite(buffer_m) and buffer_m >= 0):
        pc.add("buffer_m must be a finite number of metres >= 0", value=buffer_m,
               fix="give e.g. buffer_m=50")
    pc.raise_if_any()


def reached_lines(
    graph: RoadGraph, facilities: gpd.GeoDataFrame, *, minutes: float,
    facility_types: Sequence[str] | None = None, max_snap_dist_m: float | None = None,
    elevation_m: ElevationFn | None = None,
) -> gpd.GeoDataFrame:
    """The road network within ``minutes`` of a facility of each type, as unbuffered lines.

    The line work of :func:`service_areas` before buffering (see there for the method).

    Parameters
    ----------
    graph
        Road graph; travel times by ``graph.profile``.
    facilities
        EPSG:4326 points with a ``facility_type`` column.
    minutes
        Travel-time limit, minutes (off-road legs walked at ``profile.offroad_speed_kph``).
    facility_types
        Types to report, in this order; default every type present (vocabulary order).
        Types without a facility get no row.
    max_snap_dist_m
        Facilities farther than this from every road (m) are not on the network and reach
        nothing; default ``get_settings().max_snap_dist_m``.
    elevation_m
        Ground elevation (m) at points in ``graph.crs_metric``, as for
        :func:`geo.routing.access_table`: with a slope-aware profile each facility's off-road leg (road
        → facility) is walked on its grade (Tobler); road times come from the graph.

    Returns
    -------
    geopandas.GeoDataFrame
        In ``graph.crs_metric`` (metres): ``facility_type``, ``minutes``, ``n_facilities``
        (facilities of the type in the input), ``length_m`` (planar length of the reached
        line work in the metric CRS; overlapping parts counted once) and ``geometry`` (a
        ``MultiLineString``, empty when nothing is reached).

    Raises
    ------
    InputError
        Not a GeoDataFrame of points, no ``facility_type`` column, a CRS other than
        EPSG:4326 (both CRSs named), a negative or non-finite ``minutes``, or an unknown
        facility type.
    """
    _check_service_inputs(graph, facilities, minutes, None, elevation_m)
    minutes = float(minutes)
    fac_type = facilities["facility_type"].astype(str).to_numpy()
    types = [t for t in select_types(fac_type, facility_types) if (fac_type == t).any()]
    lon, lat = lonlat(facilities)
    snap = snap_points(graph, lon, lat, max_snap_dist_m=max_snap_dist_m)
    xy = to_metric(graph.crs_metric, lon, lat) if len(lon) else np.empty((0, 2))
    leg_min, _ = side_legs_min(
        graph, xy, snap, elevation_m if graph.profile.slope_aware else None,
        flat_speed_kph=float(graph.profile.offroad_speed_kph), to_road=False)
    rows: list[dict[str, object]] = []
    geoms: list[shapely.Geometry] = []
    for ftype in types:
        of_type = fac_type == ftype
        on_net = np.flatnonzero(of_type & (snap.edge >= 0))
        lines = np.empty(0, dtype=object)
        if len(on_net) and graph.n_pedges:
            f_edge = snap.edge[on_net]
            f_frac = snap.fraction[on_net]
            f_leg = leg_min[on_net]
            dist, _ = from_facilities(
                graph, np.full(len(on_net), -1, dtype=np.int64), f_leg, f_edge, f_frac,
                weight="time",
            )
            e, lo, hi = _reached_intervals(graph, dist, f_edge, f_frac, f_leg, minutes)
            lines = _substrings(graph, e, _planar_at(graph, e, lo), _planar_at(graph, e, hi))
        if len(lines):
            merged = shapely.line_merge(shapely.union_all(lines))
            parts = shapely.get_parts(merged)
            geom = shapely.multilinestrings(parts[shapely.get_type_id(parts) == 1])
        else:
            geom = shapely.MultiLineString()
        geoms.append(geom)
        rows.append({"facility_type": ftype, "minutes": minutes,
                     "n_facilities": int(of_type.sum()), "length_m": float(shapely.length(geom))})
    df = pd.DataFrame(rows, columns=["facility_type", "minutes", "n_facilities", "length_m"])
    df["facility_type"] = df["facility_type"].astype(str)
    df["minutes"] = df["minutes"].astype(np.float64)
    df["n_facilities"] = df["n_facilities"].astype(np.int64)
    df["length_m"] = df["length_m"].astype(np.float64)
    return gpd.GeoDataFrame(df, geometry=gpd.GeoSeries(geoms, crs=graph.crs_metric),
                            crs=graph.crs_metric)


def service_areas(
    graph: RoadGraph, facilities: gpd.GeoDataFrame, *, minutes: float,
    facility_types: Sequence[str] | None = None, buffer_m: float = 50.0,
    max_snap_dist_m: float | None = None, elevation_m: ElevationFn | None = None,
) -> gpd.GeoDataFrame:
    """Service areas by road: where the network reaches a facility of each type in time.

    Method: **buffered reached edges**.

    1. The type's facilities are snapped to the road (:func:`geo.network.snap_points`) and
       one multi-source Dijkstra by time runs on the *transposed* graph from one virtual node
       per facility (its off-road leg walked at ``graph.profile.offroad_speed_kph``, or on
       its grade with ``elevation_m``, plus the part of its edge), exactly as
       :func:`geo.routing.access_table` does for the facility end: the cost found at a node is the least time *from that node to* a facility, so the
       area answers "who can reach a facility within ``minutes``" (oneway streets count in
       the direction of travel to the facility).
    2. Every physical edge whose two ends are reached with budget to cross it is taken
       whole; an edge reached from one end only is cut where the budget runs out: a node
       reached at cost ``c`` with remaining budget ``r = minutes − c`` covers ``r / w`` of
       an adjacent edge whose time towards that node is ``w`` (cut with a vectorised
       substring of the line in the metric CRS, positions in great-circle shares as in
       :func:`geo.network.snap_points`).  A facility's own edge is covered around it,
       straight along the edge, for the budget left after its off-road leg.
    3. The reached line work of each type is buffered by ``buffer_m`` metres in
       ``graph.crs_metric``, dissolved, and transformed to EPSG:4326.

    The polygons show the roads and their immediate surroundings, not the land between
    roads (a plain buffer, no concave hull): a site far from any road is outside even if
    its road is inside.

    Parameters
    ----------
    graph
        Road graph; travel times by ``graph.profile``.
    facilities
        EPSG:4326 points with a ``facility_type`` column (docs/schemas.md).
    minutes
        Travel-time limit, minutes (>= 0).
    facility_types
        Types to report, in this order; default every type present (vocabulary order, then
        others sorted).  Types without any facility get no row.
    buffer_m
        Buffer around the reached roads, metres (>= 0; 0 gives empty polygons).
    max_snap_dist_m
        Facilities farther than this from every road (m) reach nothing; default
        ``get_settings().max_snap_dist_m``.
    elevation_m
        Ground elevation (m) at points in ``graph.crs_metric`` (NaN where unknown), e.g.
        ``layers.raster.dem_elevation_sampler(dem, crs=graph.crs_metric)``: with a
        slope-aware profile the facilities' off-road legs are walked on their grade, as in
        :func:`geo.routing.access_table` (build the graph with :func:`geo.tobler.with_slope_times` for
        the roads).  Ignored for other profiles.

    Returns
    -------
    geopandas.GeoDataFrame
        EPSG:4326, one row per type with at least one facility: ``facility_type``,
        ``minutes``, ``n_facilities`` (facilities of the type), ``area_km2`` (area of the
        polygon in the metric CRS, km²), ``method`` (``"buffered reached edges"``) and a
        (Multi)Polygon ``geometry`` (empty when no road is reached).

    Raises
    ------
    InputError
        Not a GeoDataFrame of points, no ``facility_type`` column, a CRS other than
        EPSG:4326, a negative or non-finite ``minutes`` or ``buffer_m``, or an unknown
        facility type.
    """
    _check_service_inputs(graph, facilities, minutes, buffer_m, elevation_m)
    lines = reached_lines(graph, facilities, minutes=minutes, facility_types=facility_types,
                          max_snap_dist_m=max_snap_dist_m, elevation_m=elevation_m)
    geom = lines.geometry.values
    poly = np.asarray(shapely.buffer(geom, float(buffer_m)), dtype=object) if len(geom) else geom
    out = pd.DataFrame({
        "facility_type": lines["facility_type"].astype(str),
        "minutes": lines["minutes"].astype(np.float64),
        "n_facilities": lines["n_facilities"].astype(np.int64),
        "area_km2": np.asarray(shapely.area(poly), dtype=np.float64) / 1e6 if len(geom) else [],
        "method": pd.Series([SERVICE_AREA_METHOD] * len(lines), dtype=str, index=lines.index),
    }, columns=list(SERVICE_AREA_COLUMNS))
    gdf = gpd.GeoDataFrame(out, geometry=gpd.GeoSeries(poly, crs=graph.crs_metric, index=lines.index))
    return gdf.to_crs("EPSG:4326").reset_index(drop=True)
