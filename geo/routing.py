"""Routing on the array core: snapping, nearest facility per site, the access table.

Array core and geo adapter (CONVENTIONS.md §3):

* :func:`snap_points` — points → nearest graph node (one KD-tree per graph);
* :func:`nearest_facility` — nearest of a set of facilities for every site, by length or
  time, with **one** multi-source Dijkstra run;
* :func:`access_table` — validates the site and facility GeoDataFrames, calls the two above
  per facility type and returns the ``access.csv`` table of ``docs/schemas.md``.

How costs are counted
---------------------
* **Off-road legs.**  A point is joined to its nearest graph node (this first version snaps
  to nodes, not to points on edges).  The leg is the great-circle distance between the
  point and the node — the same measure osmnx uses for edge lengths, so that a road
  distance is never shorter than the straight line — and is walked at the profile's
  ``offroad_speed_kph``.  Points farther than ``max_snap_dist_m`` from every node are not
  placed on the network.
* **Facility legs, exactly.**  ``scipy.sparse.csgraph.dijkstra(min_only=True)`` starts every
  source at cost 0, but each facility has its own off-road leg.  We add one *virtual node
  per facility* to the reversed graph, with a single edge to the facility's road node whose
  weight is that leg, and start Dijkstra from the virtual nodes.  The cost it finds at a
  site's node is then ``min_f(leg_f + road(site → f))`` exactly, and the ``sources`` array it
  returns names the winning virtual node, hence the facility.  Running on the transposed
  graph gives site → facility costs, which matters on oneway streets.
* **Direct leg.**  A site on the network may also walk straight to a facility that is no
  farther from it than its own road (``dist ≤ site's snap distance``): whoever walks to the
  road can walk that far.  A site off the network (``no_road_nearby``) may walk straight to
  a facility within ``get_settings().at_site_radius_m`` (a facility *at the site*).  So a
  facility standing at the site has ``dist_m ≈ 0`` even when the site is away from the
  road.  Longer cross-country shortcuts are never taken (two villages 2 km apart across a
  gorge stay far apart).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import geopandas as gpd
import numpy as np
import osmnx as ox
import pandas as pd
import pyproj
import scipy.sparse as sp
import shapely
from numpy.typing import ArrayLike, NDArray
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree
from tqdm import tqdm

from analysis.vocabulary import FACILITY_TYPES
from anzhi.errors import InputError, ProblemCollector
from anzhi.settings import get_settings
from geo.roads import Profile, RoadGraph

__all__ = [
    "ACCESS_COLUMNS",
    "REASONS",
    "SnapResult",
    "snap_points",
    "nearest_facility",
    "access_table",
]

log = logging.getLogger(__name__)

#: Columns of ``access.csv`` in order (docs/schemas.md).
ACCESS_COLUMNS: tuple[str, ...] = (
    "site_id",
    "facility_type",
    "nearest_facility_id",
    "dist_m",
    "time_min",
    "snap_dist_m",
    "reason",
)

#: Why a site × facility type has no route ("" = routed).
REASONS: dict[str, str] = {
    "": "routed",
    "no_road_nearby": "the site is farther than max_snap_dist_m from every road",
    "isolated_network": "the site's road is not connected to any facility of this type",
    "no_facility": "no facility of this type exists, or none is near a road",
}


@dataclass(frozen=True, eq=False)
class SnapResult:
    """Where points join the road graph.

    Attributes
    ----------
    node
        Index of the nearest graph node (into the :class:`~geo.roads.RoadGraph` arrays),
        ``int64``; ``-1`` when the point is farther than the snapping limit.
    snap_dist_m
        Great-circle distance from the point to its nearest node, metres, also for points
        beyond the limit (``NaN`` only when the graph has no node).
    reason
        ``""`` when snapped, ``"no_road_nearby"`` otherwise (``str`` array).
    """

    node: NDArray[np.int64]
    snap_dist_m: NDArray[np.float64]
    reason: NDArray[np.str_]


def _great_circle_m(
    lon1: ArrayLike, lat1: ArrayLike, lon2: ArrayLike, lat2: ArrayLike
) -> NDArray[np.float64]:
    """Great-circle distance (m), the haversine osmnx uses for edge lengths."""
    return np.asarray(
        ox.distance.great_circle(
            np.asarray(lat1, dtype=np.float64),
            np.asarray(lon1, dtype=np.float64),
            np.asarray(lat2, dtype=np.float64),
            np.asarray(lon2, dtype=np.float64),
        ),
        dtype=np.float64,
    )


def _to_metric(
    crs_metric: str, lon: NDArray[np.float64], lat: NDArray[np.float64]
) -> NDArray[np.float64]:
    """(k, 2) array of points in ``crs_metric`` (metres) from WGS84 lon/lat."""
    tr = pyproj.Transformer.from_crs("EPSG:4326", crs_metric, always_xy=True)
    x, y = tr.transform(lon, lat)
    return np.column_stack([np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)])


def snap_points(
    graph: RoadGraph,
    lon: ArrayLike,
    lat: ArrayLike,
    *,
    max_snap_dist_m: float | None = None,
) -> SnapResult:
    """Join points to their nearest graph node.

    Parameters
    ----------
    graph
        The road graph (its KD-tree is built on first use and kept).
    lon, lat
        WGS84 (EPSG:4326) longitude and latitude of the points, decimal degrees.
    max_snap_dist_m
        Points farther than this from every node (great-circle metres) are not snapped
        (``node = -1``, reason ``no_road_nearby``).  Default
        ``get_settings().max_snap_dist_m`` (2,000 m).

    Returns
    -------
    SnapResult

    Raises
    ------
    InputError
        Non-finite coordinates, or a negative limit.
    """
    x = np.atleast_1d(np.asarray(lon, dtype=np.float64))
    y = np.atleast_1d(np.asarray(lat, dtype=np.float64))
    if x.shape != y.shape or x.ndim != 1:
        raise InputError(f"lon and lat must be 1-D arrays of one length, got {x.shape} and {y.shape}")
    bad = ~(np.isfinite(x) & np.isfinite(y))
    if bad.any():
        raise InputError(
            f"{int(bad.sum())} point(s) have no finite longitude/latitude (first at position "
            f"{int(np.flatnonzero(bad)[0])}); fix or remove them before routing"
        )
    limit = get_settings().max_snap_dist_m if max_snap_dist_m is None else float(max_snap_dist_m)
    if not limit >= 0:
        raise InputError(f"max_snap_dist_m must be >= 0 metres, got {max_snap_dist_m!r}")
    n = len(x)
    if graph.n_nodes == 0 or n == 0:
        return SnapResult(
            node=np.full(n, -1, dtype=np.int64),
            snap_dist_m=np.full(n, np.nan),
            reason=np.full(n, "no_road_nearby", dtype="<U14"),
        )
    _, idx = graph.node_tree.query(_to_metric(graph.crs_metric, x, y), k=1)
    idx = np.asarray(idx, dtype=np.int64)
    dist = _great_circle_m(x, y, graph.lon[idx], graph.lat[idx])
    far = dist > limit
    return SnapResult(
        node=np.where(far, -1, idx).astype(np.int64),
        snap_dist_m=dist,
        reason=np.where(far, "no_road_nearby", "").astype("<U14"),
    )


def nearest_facility(
    graph: RoadGraph,
    site_nodes: ArrayLike,
    site_snap_m: ArrayLike,
    fac_nodes: ArrayLike,
    fac_snap_m: ArrayLike,
    fac_ids: ArrayLike,
    *,
    weight: Literal["length", "time"],
) -> tuple[NDArray[np.object_], NDArray[np.float64]]:
    """Nearest facility of a set for every site, with one multi-source Dijkstra.

    Parameters
    ----------
    graph
        The road graph.
    site_nodes
        Graph node index of each site, ``-1`` for sites not on the network.
    site_snap_m
        Off-road leg of each site, metres.
    fac_nodes, fac_snap_m, fac_ids
        Graph node index (``-1`` = not on the network, ignored), off-road leg (m) and id of
        each candidate facility.
    weight
        ``"length"``: cost in metres; ``"time"``: cost in minutes, road edges at the
        profile's speeds and off-road legs at ``graph.profile.offroad_speed_kph``.

    Returns
    -------
    (ids, cost)
        Per site: id (``str``) of the facility with the least site → facility cost
        (off-road legs at both ends included) and that cost; ``""`` and ``inf`` when no
        facility is reachable.

    Notes
    -----
    One virtual node per facility is appended to the transposed graph with a single edge
    of weight = the facility's off-road leg; Dijkstra starts from all virtual nodes with
    ``min_only=True``, so the off-road legs are counted exactly and ``sources`` names the
    winning facility (see the module notes).
    """
    s_nodes = np.atleast_1d(np.asarray(site_nodes, dtype=np.int64))
    s_snap = np.atleast_1d(np.asarray(site_snap_m, dtype=np.float64))
    f_nodes = np.atleast_1d(np.asarray(fac_nodes, dtype=np.int64))
    f_snap = np.atleast_1d(np.asarray(fac_snap_m, dtype=np.float64))
    f_ids = np.atleast_1d(np.asarray(fac_ids, dtype=object))
    if not (len(s_nodes) == len(s_snap) and len(f_nodes) == len(f_snap) == len(f_ids)):
        raise InputError("site and facility arrays must have matching lengths")
    if weight == "length":
        per_m = 1.0
    elif weight == "time":
        per_m = 60.0 / (graph.profile.offroad_speed_kph * 1000.0)
    else:
        raise InputError(f"unknown routing weight {weight!r}; use 'length' or 'time'")

    out_ids = np.full(len(s_nodes), "", dtype=object)
    out_cost = np.full(len(s_nodes), np.inf)
    on_net = (f_nodes >= 0) & np.isfinite(f_snap)
    f_nodes, f_snap, f_ids = f_nodes[on_net], f_snap[on_net], f_ids[on_net]
    placed = s_nodes >= 0
    if len(f_nodes) == 0 or not placed.any():
        return out_ids, out_cost

    rev = graph.weight_csr(weight, reverse=True)
    n, k = graph.n_nodes, len(f_nodes)
    nnz = rev.indptr[-1]
    aug = sp.csr_matrix(
        (
            np.concatenate([rev.data, f_snap * per_m]),
            np.concatenate([rev.indices.astype(np.int64), f_nodes]),
            np.concatenate([rev.indptr.astype(np.int64), nnz + np.arange(1, k + 1, dtype=np.int64)]),
        ),
        shape=(n + k, n + k),
    )
    dist, _, sources = dijkstra(
        aug, directed=True, indices=np.arange(n, n + k), min_only=True, return_predecessors=True
    )
    at = s_nodes[placed]
    cost = dist[at] + s_snap[placed] * per_m
    src = sources[at]
    reached = np.isfinite(cost) & (src >= n)
    ids = np.full(len(at), "", dtype=object)
    ids[reached] = f_ids[src[reached] - n]
    cost[~reached] = np.inf
    out_ids[placed] = ids
    out_cost[placed] = cost
    return out_ids, out_cost


def _check_layer(
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


def _lonlat(gdf: gpd.GeoDataFrame) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    geom = gdf.geometry.values
    return (
        np.asarray(shapely.get_x(geom), dtype=np.float64),
        np.asarray(shapely.get_y(geom), dtype=np.float64),
    )


def access_table(
    graph: RoadGraph,
    sites: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    *,
    profile: Profile,
    facility_types: Sequence[str] | None = None,
    max_snap_dist_m: float | None = None,
    progress: bool | None = None,
) -> pd.DataFrame:
    """Nearest facility of each type for every site, by road: the ``access.csv`` table.

    Parameters
    ----------
    graph
        Road graph built for ``profile`` (:meth:`geo.roads.RoadGraph.from_networkx`).
    sites
        EPSG:4326 points with a ``site_id`` column (``layers.sites.read_sites``).
    facilities
        EPSG:4326 points with ``facility_id`` and ``facility_type`` columns.
    profile
        The travel profile (must be the graph's); off-road legs at its
        ``offroad_speed_kph``.
    facility_types
        Types to report, in this order; default every type present in ``facilities``
        (vocabulary order, then others sorted).  A requested type without facilities gets
        ``no_facility`` rows.
    max_snap_dist_m
        Farthest a site or facility may be from the road (m); default
        ``get_settings().max_snap_dist_m``.
    progress
        Show a progress bar per facility type; default ``get_settings().progress``.

    Returns
    -------
    pandas.DataFrame
        One row per site and facility type (sites in input order, types within a site in
        type order) with :data:`ACCESS_COLUMNS`: ``dist_m`` from the length-weighted run
        (off-road legs included, m), ``time_min`` from the time-weighted run (min; it may
        be reached at another facility than ``nearest_facility_id``, which is the nearest
        by length), ``snap_dist_m`` the site's straight-line distance to the road (m) and
        ``reason`` (:data:`REASONS`).  Unrouted rows have ``dist_m``/``time_min`` NaN and
        ``nearest_facility_id`` ``""``.  Reasons are checked in this order: ``no_facility``
        (the type has no facility at all), ``no_road_nearby`` (site), ``no_facility`` (no
        facility of the type near a road), ``isolated_network``.  A site may also be routed
        by the *direct leg* of the module notes (a facility no farther than its road, or
        within ``at_site_radius_m`` for a site off the network), whatever its snapping.

    Raises
    ------
    InputError
        Missing columns, non-point or empty geometries, a CRS other than EPSG:4326 (both
        CRSs named), an unknown facility type, or a profile other than the graph's.
    """
    pc = ProblemCollector()
    ok_s = _check_layer(sites, "sites", ["site_id"], pc)
    ok_f = _check_layer(facilities, "facilities", ["facility_id", "facility_type"], pc)
    if ok_s and ok_f:
        wgs84 = pyproj.CRS.from_epsg(4326)
        crs_s, crs_f = sites.crs, facilities.crs
        if crs_s is None or crs_f is None or crs_s != wgs84 or crs_f != wgs84:
            def show(c: object) -> str:
                return "none" if c is None else str(pyproj.CRS.from_user_input(c).to_string())
            pc.add(
                f"sites and facilities must both be in EPSG:4326 (WGS84 lon/lat), got sites in "
                f"{show(crs_s)} and facilities in {show(crs_f)}",
                fix="convert with .to_crs('EPSG:4326') (or set_crs if the CRS is missing but the "
                    "coordinates are lon/lat)",
            )
    if profile != graph.profile:
        pc.add(
            f"the road graph was built for profile {graph.profile.name!r}, not for "
            f"{profile.name!r}",
            fix="build it with RoadGraph.from_networkx(G, profile=profile)",
        )
    pc.raise_if_any()

    fac_type = facilities["facility_type"].astype(str).to_numpy()
    present = set(fac_type.tolist())
    if facility_types is None:
        types = [t for t in FACILITY_TYPES if t in present] + sorted(present - set(FACILITY_TYPES))
    else:
        types = list(dict.fromkeys(str(t) for t in facility_types))
        unknown = [t for t in types if t not in FACILITY_TYPES and t not in present]
        if unknown:
            raise InputError(
                f"unknown facility type(s) {', '.join(unknown)}: not in the vocabulary and not "
                f"among the facilities; known types: {', '.join(FACILITY_TYPES)}"
            )

    limit = get_settings().max_snap_dist_m if max_snap_dist_m is None else float(max_snap_dist_m)
    show_bar = get_settings().progress if progress is None else bool(progress)
    per_min = profile.offroad_speed_kph * 1000.0 / 60.0  # off-road metres per minute

    site_ids = sites["site_id"].astype(str).to_numpy()
    fac_ids = facilities["facility_id"].astype(str).to_numpy()
    s_lon, s_lat = _lonlat(sites)
    f_lon, f_lat = _lonlat(facilities)
    s_snap = snap_points(graph, s_lon, s_lat, max_snap_dist_m=limit)
    f_snap = snap_points(graph, f_lon, f_lat, max_snap_dist_m=limit)
    n_far = int((f_snap.node < 0).sum())
    if n_far:
        log.warning("%d facilit%s farther than %.0f m from any road: only reachable on foot "
                    "from sites within their own distance to the road", n_far,
                    "y is" if n_far == 1 else "ies are", limit)
    s_xy = _to_metric(graph.crs_metric, s_lon, s_lat) if len(s_lon) else np.empty((0, 2))
    f_xy = _to_metric(graph.crs_metric, f_lon, f_lat) if len(f_lon) else np.empty((0, 2))
    # how far a site may walk straight to a facility: no farther than to its road, or, for a
    # site off the network, within the at-site radius
    site_walk_m = np.where(s_snap.node >= 0, s_snap.snap_dist_m, get_settings().at_site_radius_m)

    n_s, n_t = len(site_ids), len(types)
    nearest = np.full((n_s, n_t), "", dtype=object)
    dist = np.full((n_s, n_t), np.nan)
    time = np.full((n_s, n_t), np.nan)
    reason = np.full((n_s, n_t), "", dtype=object)

    for j, ftype in enumerate(tqdm(types, desc="routing", unit="type", disable=not show_bar)):
        of_type = fac_type == ftype
        if not of_type.any():
            reason[:, j] = "no_facility"
            continue
        on_net = of_type & (f_snap.node >= 0)
        ids_l, cost_l = nearest_facility(
            graph, s_snap.node, s_snap.snap_dist_m, f_snap.node[on_net],
            f_snap.snap_dist_m[on_net], fac_ids[on_net], weight="length",
        )
        _, cost_t = nearest_facility(
            graph, s_snap.node, s_snap.snap_dist_m, f_snap.node[on_net],
            f_snap.snap_dist_m[on_net], fac_ids[on_net], weight="time",
        )
        # direct leg to the straight-line nearest facility of the type, if close enough
        if n_s:
            cand = np.flatnonzero(of_type)
            _, k = cKDTree(f_xy[cand]).query(s_xy, k=1)
            best = cand[np.asarray(k, dtype=np.int64)]
            direct_m = _great_circle_m(s_lon, s_lat, f_lon[best], f_lat[best])
            walkable = direct_m <= site_walk_m
            take = walkable & (direct_m <= cost_l)
            ids_l = np.where(take, fac_ids[best], ids_l)
            cost_l = np.where(take, direct_m, cost_l)
            cost_t = np.where(walkable, np.minimum(cost_t, direct_m / per_min), cost_t)
        routed = np.isfinite(cost_l)
        nearest[routed, j] = ids_l[routed]
        dist[routed, j] = cost_l[routed]
        time[routed, j] = np.where(np.isfinite(cost_t[routed]), cost_t[routed], np.nan)
        why = np.where(
            s_snap.node < 0, "no_road_nearby", "no_facility" if not on_net.any() else "isolated_network"
        )
        reason[~routed, j] = why[~routed]

    return pd.DataFrame(
        {
            "site_id": pd.Series(np.repeat(site_ids, n_t), dtype=str),
            "facility_type": pd.Series(np.tile(np.asarray(types, dtype=object), n_s), dtype=str),
            "nearest_facility_id": pd.Series(nearest.reshape(-1), dtype=str),
            "dist_m": dist.reshape(-1),
            "time_min": time.reshape(-1),
            "snap_dist_m": np.repeat(s_snap.snap_dist_m, n_t),
            "reason": pd.Series(reason.reshape(-1), dtype=str),
        },
        columns=list(ACCESS_COLUMNS),
    )
