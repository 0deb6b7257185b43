"""Routing on the array core: snapping, nearest facility per site, the access table.

Array core and geo adapter (CONVENTIONS.md §3):

* :func:`snap_points` — points → the nearest point on the nearest road (one bulk
  ``shapely.STRtree`` query per call, the tree built once per graph);
* :func:`nearest_facility` — nearest of a set of facilities for every site, by length or
  time, with **one** multi-source Dijkstra run;
* :func:`access_table` — validates the site and facility GeoDataFrames, calls the two above
  per facility type and returns the ``access.csv`` table of ``docs/schemas.md``.
* :func:`service_areas` — per facility type, the road network from which a facility is
  reached within a time limit (the same multi-source Dijkstra from the facilities on the
  transposed graph), buffered into polygons ("buffered reached edges");
  :func:`reached_lines` gives the unbuffered line work.

How costs are counted
---------------------
* **Snapping to edges.**  A point joins the road at the nearest point of the nearest
  *physical edge* (a street between two graph nodes, both directions in one; see
  :mod:`geo.roads`), found in the graph's metric CRS with one bulk
  ``STRtree.query_nearest`` and ``shapely.line_locate_point``.  Its position is kept as the
  edge and a *fraction* ``0 ≤ a ≤ 1`` of the way from the edge's node ``u`` to its node
  ``v``, measured along the line in great-circle metres (the segment and the position on it
  come from the planar location; each segment counts its haversine length, osmnx's measure
  of ``length``).  Costs along an edge are that fraction of the edge's length (m) or time
  (min) in the direction travelled, so a point snapped at a node costs exactly what the
  node does, and on an osmnx graph the cost from ``u`` is the haversine length of the line
  up to the point.  A point within ``1e-7`` m of an end of the line is *at that node* and
  joins it directly, whatever the edge's direction.
* **Off-road legs.**  The leg is the great-circle distance between the point and its
  snapped point — the measure osmnx uses for edge lengths, so that a road distance is never
  shorter than the straight line — walked at the profile's ``offroad_speed_kph``.  Points
  farther than ``max_snap_dist_m`` from every road are not placed on the network.
* **Leaving a site.**  A site at fraction ``a`` of edge ``u–v`` leaves towards ``v``
  (cost ``(1 − a)·w(u→v)``, if the edge is open that way) or towards ``u``
  (``a·w(v→u)``, if open), then follows the network.
* **Reaching a facility, exactly.**  ``scipy.sparse.csgraph.dijkstra(min_only=True)`` starts
  every source at cost 0, but each facility has its own off-road leg and position on its
  edge.  A traveller reaches a facility at fraction ``b`` of edge ``u–v`` from ``u`` along
  ``u→v`` (cost ``b·w(u→v)``) or from ``v`` along ``v→u`` (``(1 − b)·w(v→u)``).  On the
  *transposed* graph we add one virtual node per facility with those edges, to ``u`` and to
  ``v``, each weighted with the facility's off-road leg plus that cost, and start Dijkstra
  from the virtual nodes.  The cost it finds at a node ``x`` is then
  ``min_f(road(x → f) + leg_f)`` exactly, and the ``sources`` array names the winning
  virtual node, hence the facility.  Running on the transposed graph gives site → facility
  costs, which matters on oneway streets.
* **Same edge.**  A site and a facility on the same physical edge are also joined directly
  along it: ``|b − a|`` of the edge, forward if ``b ≥ a`` and the edge is open ``u→v``,
  backward if ``b ≤ a`` and it is open ``v→u``.
* **Direct leg.**  A site on the network may also walk straight to a facility that is no
  farther from it than its own road (``dist ≤ site's snap distance``): whoever walks to the
  road can walk that far.  A site off the network (``no_road_nearby``) may walk straight to
  a facility within ``get_settings().at_site_radius_m`` (a facility *at the site*).  So a
  facility standing at the site has ``dist_m ≈ 0`` even when the site is away from the
  road (by road it would cost both off-road legs, twice the snap distance).  Longer
  cross-country shortcuts are never taken (two villages 2 km apart across a gorge stay far
  apart).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import scipy.sparse as sp
import shapely
from numpy.typing import ArrayLike, NDArray
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree
from tqdm import tqdm

from anzhi.core.vocabulary import FACILITY_TYPES
from anzhi.core.errors import InputError, ProblemCollector
from anzhi.core.settings import get_settings
from geo.geodesy import great_circle_m
from geo.roads import Profile, RoadGraph

__all__ = [
    "ACCESS_COLUMNS",
    "REASONS",
    "SERVICE_AREA_COLUMNS",
    "SERVICE_AREA_METHOD",
    "SitePlacement",
    "SnapResult",
    "access_table",
    "nearest_facility",
    "nearest_facility_index",
    "place_sites",
    "reached_lines",
    "service_areas",
    "snap_points",
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

#: A snapped point this close (metres, along the line) to an end of its edge is at that node.
_AT_NODE_M = 1e-7


@dataclass(frozen=True, eq=False)
class SnapResult:
    """Where points join the road graph.

    Attributes
    ----------
    node
        Index of the end node of the snapped edge nearer along it (``u`` when
        ``fraction <= 0.5``, else ``v``), ``int64``; ``-1`` when the point is farther than
        the snapping limit.
    snap_dist_m
        Great-circle distance from the point to its snapped point (the nearest point of the
        nearest road), metres, also for points beyond the limit (``NaN`` only when the
        graph has no edge).
    reason
        ``""`` when snapped, ``"no_road_nearby"`` otherwise (``str`` array).
    edge
        Physical edge the point is snapped to (index into ``RoadGraph.pedge_*``), ``int64``;
        ``-1`` when not snapped.
    fraction
        Position of the snapped point along that edge, from ``pedge_u`` (0) to ``pedge_v``
        (1), as a share of the line's great-circle length (see the module notes); exactly 0
        or 1 when the point is at a node (within ``1e-7`` m).  ``NaN`` when not snapped.
    snap_lon, snap_lat
        WGS84 position of the snapped point, degrees; ``NaN`` when not snapped.
    """

    node: NDArray[np.int64]
    snap_dist_m: NDArray[np.float64]
    reason: NDArray[np.str_]
    edge: NDArray[np.int64]
    fraction: NDArray[np.float64]
    snap_lon: NDArray[np.float64]
    snap_lat: NDArray[np.float64]


def _to_metric(
    crs_metric: str, lon: NDArray[np.float64], lat: NDArray[np.float64]
) -> NDArray[np.float64]:
    """(k, 2) array of points in ``crs_metric`` (metres) from WGS84 lon/lat."""
    tr = pyproj.Transformer.from_crs("EPSG:4326", crs_metric, always_xy=True)
    x, y = tr.transform(lon, lat)
    return np.column_stack([np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)])


def _to_wgs84(
    crs_metric: str, x: NDArray[np.float64], y: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """WGS84 (lon, lat) of points given in ``crs_metric`` (metres)."""
    tr = pyproj.Transformer.from_crs(crs_metric, "EPSG:4326", always_xy=True)
    lon, lat = tr.transform(x, y)
    return np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)


def _gc_fraction(
    graph: RoadGraph, edge: NDArray[np.int64], located_m: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Share of each edge's great-circle length from its node ``u`` to a point on its line.

    ``located_m`` is the planar distance along the line (``shapely.line_locate_point`` in the
    metric CRS); the segment it falls on and the position within it are found by
    ``searchsorted`` on the running planar lengths, and the same position is measured with
    the great-circle lengths of the segments (osmnx's measure), so that a point's cost from
    ``u`` is exactly the haversine length of the line up to it when ``length`` is osmnx's.
    """
    first, cum_pl, cum_gc = graph.pedge_vertex_measure
    s0, s1 = first[edge], first[edge + 1] - 1  # first and last vertex of each edge
    where = cum_pl[s0] + located_m
    k = np.clip(np.searchsorted(cum_pl, where, side="right") - 1, s0, s1 - 1)
    seg_pl = cum_pl[k + 1] - cum_pl[k]
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.clip(np.where(seg_pl > 0, (where - cum_pl[k]) / seg_pl, 0.0), 0.0, 1.0)
        along = cum_gc[k] - cum_gc[s0] + t * (cum_gc[k + 1] - cum_gc[k])
        total = cum_gc[s1] - cum_gc[s0]
        return np.clip(np.where(total > 0, along / total, 0.0), 0.0, 1.0)


def snap_points(
    graph: RoadGraph,
    lon: ArrayLike,
    lat: ArrayLike,
    *,
    max_snap_dist_m: float | None = None,
) -> SnapResult:
    """Join points to the nearest point of the nearest road.

    Parameters
    ----------
    graph
        The road graph (its STRtree of physical edges is built on first use and kept).
    lon, lat
        WGS84 (EPSG:4326) longitude and latitude of the points, decimal degrees.
    max_snap_dist_m
        Points farther than this from every road (great-circle metres to the snapped point)
        are not snapped (``node = edge = -1``, reason ``no_road_nearby``).  Default
        ``get_settings().max_snap_dist_m`` (2,000 m).

    Returns
    -------
    SnapResult

    Raises
    ------
    InputError
        Non-finite coordinates, or a negative limit.

    Notes
    -----
    The nearest edge is found in the graph's metric CRS (``graph.crs_metric``) by one bulk
    ``STRtree.query_nearest`` (ties, e.g. a point nearest to a junction: the first edge the
    tree visits; a point at a node is at that node whichever edge it took); the position
    along it by ``shapely.line_locate_point``.  The reported distance is the great-circle
    distance from the point to the snapped point, the measure of the graph's edge lengths;
    it differs from the planar distance in the metric CRS by up to ~0.5 % (the haversine's
    sphere against the ellipsoid), which is why the limit is applied to it and not to the
    planar one.
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
    if graph.n_pedges == 0 or n == 0:
        return SnapResult(
            node=np.full(n, -1, dtype=np.int64),
            snap_dist_m=np.full(n, np.nan),
            reason=np.full(n, "no_road_nearby", dtype="<U14"),
            edge=np.full(n, -1, dtype=np.int64),
            fraction=np.full(n, np.nan),
            snap_lon=np.full(n, np.nan),
            snap_lat=np.full(n, np.nan),
        )
    pts = shapely.points(_to_metric(graph.crs_metric, x, y))
    hit = graph.pedge_tree.query_nearest(pts, all_matches=False)
    edge = np.zeros(n, dtype=np.int64)
    found = np.zeros(n, dtype=bool)
    edge[hit[0]] = hit[1]
    found[hit[0]] = True
    geom = graph.pedge_geometry[edge]
    glen = graph.pedge_geom_length_m[edge]
    located = np.asarray(shapely.line_locate_point(geom, pts), dtype=np.float64)
    at_u = (located <= _AT_NODE_M) | (glen <= _AT_NODE_M)
    at_v = ~at_u & (glen - located <= _AT_NODE_M)
    fraction = np.where(at_u, 0.0, np.where(at_v, 1.0, _gc_fraction(graph, edge, located)))
    u, v = graph.pedge_u[edge], graph.pedge_v[edge]
    on_line = shapely.line_interpolate_point(geom, located)
    s_lon, s_lat = _to_wgs84(graph.crs_metric, shapely.get_x(on_line), shapely.get_y(on_line))
    s_lon = np.where(at_u, graph.lon[u], np.where(at_v, graph.lon[v], s_lon))
    s_lat = np.where(at_u, graph.lat[u], np.where(at_v, graph.lat[v], s_lat))
    dist = np.where(found, great_circle_m(y, x, s_lat, s_lon), np.nan)
    far = ~found | ~(dist <= limit)
    return SnapResult(
        node=np.where(far, -1, np.where(fraction <= 0.5, u, v)).astype(np.int64),
        snap_dist_m=dist,
        reason=np.where(far, "no_road_nearby", "").astype("<U14"),
        edge=np.where(far, -1, edge).astype(np.int64),
        fraction=np.where(far, np.nan, fraction),
        snap_lon=np.where(far, np.nan, s_lon),
        snap_lat=np.where(far, np.nan, s_lat),
    )


def _positions(
    graph: RoadGraph,
    nodes: NDArray[np.int64],
    edge: ArrayLike | None,
    fraction: ArrayLike | None,
    label: str,
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Validated (edge, fraction) of points; without edges, points sit at their nodes.

    A point at a node is given as edge ``-1`` with fraction ``NaN``; callers look at
    ``nodes`` for those.  With edges, ``nodes`` are ignored (a point is placed iff its edge
    is ``>= 0``).
    """
    k = len(nodes)
    if edge is None and fraction is None:
        return np.full(k, -1, dtype=np.int64), np.full(k, np.nan)
    if edge is None or fraction is None:
        raise InputError(f"give both {label}_edge and {label}_fraction, or neither")
    e = np.atleast_1d(np.asarray(edge, dtype=np.int64))
    a = np.atleast_1d(np.asarray(fraction, dtype=np.float64))
    if not (len(e) == len(a) == k):
        raise InputError(
            f"{label}_edge and {label}_fraction must have one value per {label} ({k}), got "
            f"{len(e)} and {len(a)}"
        )
    placed = e >= 0
    bad = placed & ((e >= graph.n_pedges) | ~(a >= 0) | ~(a <= 1))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(
            f"{int(bad.sum())} {label} position(s) are not on the graph (first: edge {int(e[i])}, "
            f"fraction {float(a[i])!r}); use the edge and fraction of snap_points on this graph"
        )
    return e, a


def _attachments(
    graph: RoadGraph,
    nodes: NDArray[np.int64],
    edge: NDArray[np.int64],
    fraction: NDArray[np.float64],
    *,
    weight: Literal["length", "time"],
    leaving: bool,
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """The (up to two) graph nodes a point is joined to and the cost along its edge.

    ``leaving=True`` (a site): cost from the point to the node; ``False`` (a facility):
    from the node to the point.  Returns ``(k, 2)`` node indices (``-1`` = none) and costs
    (``inf`` = none), not counting the off-road leg.
    """
    k = len(nodes)
    att_node = np.full((k, 2), -1, dtype=np.int64)
    att_cost = np.full((k, 2), np.inf)
    by_node = (edge < 0) & (nodes >= 0)
    att_node[:, 0] = np.where(by_node, nodes, -1)  # np.where beats masked assignment here
    att_cost[:, 0] = np.where(by_node, 0.0, np.inf)
    on_edge = np.flatnonzero(edge >= 0)
    if len(on_edge) == 0:
        return att_node, att_cost
    e = edge[on_edge]
    a = fraction[on_edge]
    u, v = graph.pedge_u[e], graph.pedge_v[e]
    w_fwd_all, w_bwd_all = graph.pedge_weight(weight)
    w_fwd, w_bwd = w_fwd_all[e], w_bwd_all[e]
    degenerate = graph.pedge_geom_length_m[e] <= _AT_NODE_M
    at_u = (a <= 0.0) | degenerate
    at_v = (a >= 1.0) | degenerate
    inner = ~(at_u | at_v)
    with np.errstate(invalid="ignore"):
        if leaving:  # towards v along u→v, towards u along v→u
            c0, n0 = (1.0 - a) * w_fwd, v
            c1, n1 = a * w_bwd, u
        else:  # arriving from u along u→v, from v along v→u
            c0, n0 = a * w_fwd, u
            c1, n1 = (1.0 - a) * w_bwd, v
    c0 = np.where(inner & np.isfinite(c0), c0, np.inf)
    c1 = np.where(inner & np.isfinite(c1), c1, np.inf)
    n0 = np.where(np.isfinite(c0), n0, -1)
    n1 = np.where(np.isfinite(c1), n1, -1)
    # a point at a node joins that node directly, whatever the edge's directions
    n0 = np.where(at_u, u, np.where(at_v, v, n0))
    c0 = np.where(at_u | at_v, 0.0, c0)
    both = at_u & at_v
    n1 = np.where(both, v, np.where(at_u | at_v, -1, n1))
    c1 = np.where(both, 0.0, np.where(at_u | at_v, np.inf, c1))
    att_node[on_edge, 0], att_cost[on_edge, 0] = n0, c0
    att_node[on_edge, 1], att_cost[on_edge, 1] = n1, c1
    return att_node, att_cost


def _same_edge(
    graph: RoadGraph,
    s_edge: NDArray[np.int64],
    s_frac: NDArray[np.float64],
    f_edge: NDArray[np.int64],
    f_frac: NDArray[np.float64],
    *,
    weight: Literal["length", "time"],
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
    """Every (site, facility) pair on one physical edge and the cost between them along it.

    Vectorised: facilities are sorted by edge and each site takes the block of its edge.
    Returns site indices, facility indices and costs (``inf`` when the edge's direction
    forbids the way from the site to the facility).
    """
    f_on = np.flatnonzero(f_edge >= 0)
    s_on = np.flatnonzero(s_edge >= 0)
    empty = np.empty(0, dtype=np.int64)
    if len(f_on) == 0 or len(s_on) == 0:
        return empty, empty, np.empty(0)
    order = f_on[np.argsort(f_edge[f_on], kind="stable")]
    sorted_edges = f_edge[order]
    lo = np.searchsorted(sorted_edges, s_edge[s_on], side="left")
    hi = np.searchsorted(sorted_edges, s_edge[s_on], side="right")
    count = hi - lo
    if count.sum() == 0:
        return empty, empty, np.empty(0)
    owner, pos = _block_entries(lo, count)
    pair_s, pair_f = s_on[owner], order[pos]
    cost = _along_edge(graph, weight, s_edge[pair_s], f_frac[pair_f] - s_frac[pair_s])
    return pair_s, pair_f, cost


def _block_entries(
    lo: NDArray[np.int64], count: NDArray[np.int64]
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Blocks of a sorted array (block ``i`` = positions ``lo[i]`` … ``lo[i] + count[i] − 1``)
    flattened: each entry's block index and its position."""
    owner = np.repeat(np.arange(len(lo)), count)
    within = np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count)
    return owner, np.repeat(lo, count) + within


def _along_edge(
    graph: RoadGraph, weight: Literal["length", "time"], e: NDArray[np.int64],
    d: NDArray[np.float64],
) -> NDArray[np.float64]:
    """Cost straight along physical edges ``e`` from one point to another ``d`` further on
    (fractions; ``d < 0`` = back towards ``u``): ``inf`` where the edge is closed that way."""
    w_fwd_all, w_bwd_all = graph.pedge_weight(weight)
    with np.errstate(invalid="ignore"):
        fwd = np.where(d > 0, d * w_fwd_all[e], np.inf)
        bwd = np.where(d < 0, -d * w_bwd_all[e], np.inf)
    return np.where(d == 0, 0.0, np.minimum(fwd, bwd))


def _augmented(
    base: sp.csr_matrix, att: NDArray[np.int64], cost: NDArray[np.float64]
) -> sp.csr_matrix:
    """``base`` with one virtual node per row of ``att`` appended (edges to its nodes).

    Virtual node ``n + r`` gets an edge to each node ``att[r, j] >= 0`` with a finite
    ``cost[r, j]`` (the cheaper one when both name the same node: scipy must not see
    duplicate entries).  Zero weights stay explicit edges.  The graph's own index dtype is
    kept (int32 below 2**31 entries): no copy-and-widen of the whole graph on every call.
    """
    n, c = base.shape[0], len(att)
    keep = (att >= 0) & np.isfinite(cost)
    if att.shape[1] == 1:  # at most one edge per virtual node: nothing to merge
        rows = np.flatnonzero(keep[:, 0])
        cols, vals = att[rows, 0], cost[rows, 0]
    else:
        rows = np.repeat(np.arange(c), att.shape[1])[keep.reshape(-1)]
        cols, vals = att[keep], cost[keep]
        order = np.lexsort((vals, cols, rows))
        rows, cols, vals = rows[order], cols[order], vals[order]
        first = np.ones(len(rows), dtype=bool)
        first[1:] = (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])
        rows, cols, vals = rows[first], cols[first], vals[first]
    nnz = int(base.indptr[-1])
    v_indptr = nnz + np.cumsum(np.bincount(rows, minlength=c))
    idx = np.int32 if (n + c < 2**31 and nnz + len(cols) < 2**31) else np.int64
    return sp.csr_matrix(
        (
            np.concatenate([base.data, vals]),
            np.concatenate([base.indices.astype(idx, copy=False), cols.astype(idx)]),
            np.concatenate([base.indptr.astype(idx, copy=False), v_indptr.astype(idx)]),
        ),
        shape=(n + c, n + c),
    )


def _from_facilities(
    graph: RoadGraph,
    f_nodes: NDArray[np.int64],
    f_leg: NDArray[np.float64],
    f_edge: NDArray[np.int64],
    f_frac: NDArray[np.float64],
    *,
    weight: Literal["length", "time"],
) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Cost of reaching the nearest facility from every node: one multi-source Dijkstra.

    One virtual node per facility is appended to the *transposed* graph, with an edge to
    each end of its physical edge that leads to it (weight = its off-road leg ``f_leg``,
    already in the units of ``weight``, plus the partial edge); Dijkstra starts from all
    virtual nodes with ``min_only=True``.  Facilities are given as in
    :func:`nearest_facility` (``f_edge >= 0`` with ``f_frac``, or at ``f_nodes``).

    Returns
    -------
    (dist, sources)
        Arrays of length ``n_nodes + k``: ``dist[x]`` = ``min_f(road(x → f) + leg_f)`` (inf
        when no facility is reachable) and ``sources[x]`` the winning virtual node
        (``n_nodes + f``; ``-9999`` when unreachable).
    """
    n, k = graph.n_nodes, len(f_nodes)
    if not (f_edge >= 0).any():  # every facility at its node: one edge each
        att, cost = f_nodes[:, None], np.asarray(f_leg, dtype=np.float64)[:, None]
    else:
        att, cost = _attachments(graph, f_nodes, f_edge, f_frac, weight=weight, leaving=False)
        cost = cost + np.asarray(f_leg, dtype=np.float64)[:, None]
    aug = _augmented(graph.weight_csr(weight, reverse=True), att, cost)
    dist, _, sources = dijkstra(
        aug, directed=True, indices=np.arange(n, n + k), min_only=True, return_predecessors=True
    )
    return np.asarray(dist, dtype=np.float64), np.asarray(sources, dtype=np.int64)


@dataclass(frozen=True, eq=False)
class SitePlacement:
    """Sites joined to the road graph for one weight: computed once, reused for every type.

    Build it with :func:`place_sites`; :func:`nearest_facility_index` then routes every site
    to the nearest facility of a set with one Dijkstra run and a few gathers.  Everything
    that depends only on the sites (their ways onto the network, off-road legs, the order
    of the sites by edge for the same-edge rule) is here, so a run over many facility types
    pays for it once.
    """

    weight: Literal["length", "time"]
    """Routing weight the costs are in (metres or minutes)."""
    n_nodes: int
    """Node count of the graph the sites were placed on."""
    node: NDArray[np.int64]
    """``(n_sites, m)`` graph nodes where each site joins the network (``m`` = 1 when every
    placed site sits at a node, else 2); ``0`` where there is no such way (cost ``inf``)."""
    cost: NDArray[np.float64]
    """``(n_sites, m)`` cost from the site's road point to ``node`` along its edge;
    ``inf`` = no way (closed direction, or the site is not placed)."""
    leg: NDArray[np.float64]
    """Off-road leg of each site in the weight's unit; ``inf`` when not placed."""
    edge: NDArray[np.int64]
    """Physical edge of each site, ``-1`` = at a node or not placed."""
    fraction: NDArray[np.float64]
    """Position along ``edge`` from ``pedge_u`` (0) to ``pedge_v`` (1)."""
    by_edge: NDArray[np.int64]
    """Indices of the sites on an edge, sorted by edge (stable)."""
    by_edge_key: NDArray[np.int64]
    """Their edges, sorted: ``edge[by_edge]``."""

    @property
    def n_sites(self) -> int:
        """Number of sites."""
        return len(self.leg)

    @property
    def placed(self) -> NDArray[np.bool_]:
        """Whether each site is on the network (its leg is finite)."""
        return np.isfinite(self.leg)


def _leg_per_m(graph: RoadGraph, weight: object) -> float:
    """Off-road cost per metre for ``weight``: 1 (metres) or minutes at the off-road speed."""
    if weight == "length":
        return 1.0
    if weight == "time":
        return 60.0 / (graph.profile.offroad_speed_kph * 1000.0)
    raise InputError(f"unknown routing weight {weight!r}; use 'length' or 'time'")


def place_sites(
    graph: RoadGraph,
    site_nodes: ArrayLike,
    site_snap_m: ArrayLike,
    *,
    weight: Literal["length", "time"],
    site_edge: ArrayLike | None = None,
    site_fraction: ArrayLike | None = None,
    site_leg: ArrayLike | None = None,
) -> SitePlacement:
    """Join sites to the road graph for ``weight``, once for every facility type.

    Parameters
    ----------
    graph
        The road graph.
    site_nodes
        Graph node index of each site, ``-1`` for sites not on the network.  Ignored when
        ``site_edge`` is given (then a site is placed iff its edge is ``>= 0``).
    site_snap_m
        Off-road leg of each site, metres (non-finite = not placed).
    weight
        ``"length"`` (metres) or ``"time"`` (minutes).
    site_edge, site_fraction
        Position of each site on the road (physical edge, ``-1`` = not on the network, and
        fraction from ``pedge_u`` to ``pedge_v``), as :class:`SnapResult` gives them.
        Default: each site sits at its node.
    site_leg
        Cost of each site's off-road leg in the unit of ``weight`` (e.g. slope-aware
        minutes); default the snap distance, in metres or walked at
        ``graph.profile.offroad_speed_kph``.

    Returns
    -------
    SitePlacement

    Raises
    ------
    InputError
        Arrays of mismatched lengths, an unknown weight, or positions not on the graph.
    """
    per_m = _leg_per_m(graph, weight)
    s_nodes = np.atleast_1d(np.asarray(site_nodes, dtype=np.int64))
    s_snap = np.atleast_1d(np.asarray(site_snap_m, dtype=np.float64))
    if len(s_nodes) != len(s_snap):
        raise InputError(
            f"site_nodes and site_snap_m must have one value per site, got {len(s_nodes)} and "
            f"{len(s_snap)}"
        )
    s_leg = (s_snap * per_m if site_leg is None
             else np.atleast_1d(np.asarray(site_leg, dtype=np.float64)))
    if len(s_leg) != len(s_snap):
        raise InputError(
            f"site_leg must have one value per site ({len(s_snap)}), got {len(s_leg)}"
        )
    s_edge, s_frac = _positions(graph, s_nodes, site_edge, site_fraction, "site")
    if site_edge is not None:
        s_nodes = np.full(len(s_nodes), -1, dtype=np.int64)
    placed = ((s_nodes >= 0) | (s_edge >= 0)) & np.isfinite(s_snap) & np.isfinite(s_leg)
    leg = np.where(placed, s_leg, np.inf)
    if (s_edge >= 0).any():
        att, att_cost = _attachments(graph, s_nodes, s_edge, s_frac, weight=weight, leaving=True)
    else:  # every site at its node (or not placed): one way onto the network each
        att, att_cost = s_nodes[:, None], np.where(s_nodes >= 0, 0.0, np.inf)[:, None]
    att_cost = np.where(placed[:, None] & (att >= 0), att_cost, np.inf)
    on = np.flatnonzero(placed & (s_edge >= 0))
    by_edge = on[np.argsort(s_edge[on], kind="stable")]
    return SitePlacement(
        weight=weight,
        n_nodes=graph.n_nodes,
        node=np.ascontiguousarray(np.maximum(att, 0)),
        cost=np.ascontiguousarray(att_cost),
        leg=leg,
        edge=np.where(placed, s_edge, -1),
        fraction=s_frac,
        by_edge=by_edge,
        by_edge_key=s_edge[by_edge],
    )


def _same_edge_placed(
    graph: RoadGraph,
    sites: SitePlacement,
    f_edge: NDArray[np.int64],
    f_frac: NDArray[np.float64],
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
    """Every (site, facility) pair on one physical edge and the cost along it (no legs).

    The facilities (few) are looked up in the sites' edge order of the placement.  Pairs
    come ordered by facility, then site; costs are ``inf`` where the edge's direction
    forbids the way from the site to the facility.
    """
    empty = np.empty(0, dtype=np.int64)
    f_on = np.flatnonzero(f_edge >= 0)
    if len(f_on) == 0 or len(sites.by_edge) == 0:
        return empty, empty, np.empty(0)
    lo = np.searchsorted(sites.by_edge_key, f_edge[f_on], side="left")
    hi = np.searchsorted(sites.by_edge_key, f_edge[f_on], side="right")
    count = hi - lo
    if int(count.sum()) == 0:
        return empty, empty, np.empty(0)
    owner, pos = _block_entries(lo, count)
    pair_f, pair_s = f_on[owner], sites.by_edge[pos]
    cost = _along_edge(graph, sites.weight, f_edge[pair_f], f_frac[pair_f] - sites.fraction[pair_s])
    return pair_s, pair_f, cost


def nearest_facility_index(
    graph: RoadGraph,
    sites: SitePlacement,
    fac_nodes: ArrayLike,
    fac_snap_m: ArrayLike,
    *,
    fac_edge: ArrayLike | None = None,
    fac_fraction: ArrayLike | None = None,
    fac_leg: ArrayLike | None = None,
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Nearest facility of a set for every placed site: the array core, one Dijkstra run.

    Parameters
    ----------
    graph
        The road graph the sites were placed on.
    sites
        The sites, from :func:`place_sites` (its weight is the weight here).
    fac_nodes, fac_snap_m
        Graph node index (``-1`` = not on the network, ignored; unused when ``fac_edge`` is
        given) and off-road leg (m) of each candidate facility.
    fac_edge, fac_fraction
        Position of each facility on the road, as for the sites.  Default: at its node.
    fac_leg
        Cost of each facility's off-road leg in the unit of the weight; default the snap
        distance in metres or walked at ``graph.profile.offroad_speed_kph``.

    Returns
    -------
    (fac_index, cost)
        Per site: index (into the given facility arrays) of the facility with the least
        site → facility cost (off-road legs at both ends and the partial edges at both ends
        included) and that cost in the weight's unit; ``-1`` and ``inf`` when no facility
        is reachable or the site is not placed.

    Raises
    ------
    InputError
        Arrays of mismatched lengths, positions not on the graph, or a placement made on
        another graph.
    """
    weight = sites.weight
    if sites.n_nodes != graph.n_nodes:
        raise InputError(
            f"the sites were placed on a graph of {sites.n_nodes} nodes, this one has "
            f"{graph.n_nodes}; place them with place_sites on this graph"
        )
    f_nodes = np.atleast_1d(np.asarray(fac_nodes, dtype=np.int64))
    f_snap = np.atleast_1d(np.asarray(fac_snap_m, dtype=np.float64))
    if len(f_nodes) != len(f_snap):
        raise InputError(
            f"fac_nodes and fac_snap_m must have one value per facility, got {len(f_nodes)} "
            f"and {len(f_snap)}"
        )
    f_leg = (f_snap * _leg_per_m(graph, weight) if fac_leg is None
             else np.atleast_1d(np.asarray(fac_leg, dtype=np.float64)))
    if len(f_leg) != len(f_snap):
        raise InputError(
            f"fac_leg must have one value per facility ({len(f_snap)}), got {len(f_leg)}"
        )
    f_edge, f_frac = _positions(graph, f_nodes, fac_edge, fac_fraction, "fac")
    if fac_edge is not None:
        f_nodes = np.full(len(f_nodes), -1, dtype=np.int64)
    n_s = sites.n_sites
    on_net = np.flatnonzero(((f_nodes >= 0) | (f_edge >= 0)) & np.isfinite(f_snap)
                            & np.isfinite(f_leg))
    if len(on_net) == 0 or n_s == 0:
        return np.full(n_s, -1, dtype=np.int64), np.full(n_s, np.inf)
    subset = len(on_net) < len(f_nodes)
    if subset:
        f_nodes, f_leg = f_nodes[on_net], f_leg[on_net]
        f_edge, f_frac = f_edge[on_net], f_frac[on_net]

    n = graph.n_nodes
    dist, sources = _from_facilities(graph, f_nodes, f_leg, f_edge, f_frac, weight=weight)
    # sites: the better of their (up to two) ways onto the network; a missing way has cost
    # inf (at the safe node 0), so its total stays inf without masking
    if sites.node.shape[1] == 1:
        node0 = sites.node[:, 0]
        cost = sites.cost[:, 0] + dist[node0]
        win = sources[node0]
    else:
        node0, node1 = sites.node[:, 0], sites.node[:, 1]
        t0 = sites.cost[:, 0] + dist[node0]
        t1 = sites.cost[:, 1] + dist[node1]
        second = t1 < t0  # ties go to the first way
        cost = np.where(second, t1, t0)
        win = sources[np.where(second, node1, node0)]
    cost += sites.leg  # inf for sites not placed
    reached = np.isfinite(cost)
    fac = np.where(reached, win - n, -1)

    # a facility on the site's own edge, straight along it
    pair_s, pair_f, along = _same_edge_placed(graph, sites, f_edge, f_frac)
    if len(pair_s):
        pair_cost = along + sites.leg[pair_s] + f_leg[pair_f]
        order = np.lexsort((pair_cost, pair_s))
        pair_s, pair_f, pair_cost = pair_s[order], pair_f[order], pair_cost[order]
        head = np.ones(len(pair_s), dtype=bool)
        head[1:] = pair_s[1:] != pair_s[:-1]
        ps, pf, pc = pair_s[head], pair_f[head], pair_cost[head]
        better = pc < cost[ps]
        cost[ps[better]] = pc[better]
        fac[ps[better]] = pf[better]
    if subset:  # back to indices into the given facility arrays
        fac = np.where(fac >= 0, on_net[np.maximum(fac, 0)], -1)
    return fac, cost


def nearest_facility(
    graph: RoadGraph,
    site_nodes: ArrayLike,
    site_snap_m: ArrayLike,
    fac_nodes: ArrayLike,
    fac_snap_m: ArrayLike,
    fac_ids: ArrayLike,
    *,
    weight: Literal["length", "time"],
    site_edge: ArrayLike | None = None,
    site_fraction: ArrayLike | None = None,
    fac_edge: ArrayLike | None = None,
    fac_fraction: ArrayLike | None = None,
    site_leg: ArrayLike | None = None,
    fac_leg: ArrayLike | None = None,
) -> tuple[NDArray[np.str_], NDArray[np.float64]]:
    """Nearest facility of a set for every site, with one multi-source Dijkstra.

    The id-mapping adapter of :func:`place_sites` + :func:`nearest_facility_index`; to route
    the same sites to many facility types, place them once and call
    :func:`nearest_facility_index` per type.

    Parameters
    ----------
    graph
        The road graph.
    site_nodes
        Graph node index of each site, ``-1`` for sites not on the network.  Ignored when
        ``site_edge`` is given (then a site is placed iff its edge is ``>= 0``).
    site_snap_m
        Off-road leg of each site, metres.
    fac_nodes, fac_snap_m, fac_ids
        Graph node index (``-1`` = not on the network, ignored; unused when ``fac_edge``
        is given), off-road leg (m) and id of each candidate facility.
    weight
        ``"length"``: cost in metres; ``"time"``: cost in minutes, road edges at the
        profile's speeds and off-road legs at ``graph.profile.offroad_speed_kph``.
    site_edge, site_fraction
        Position of each site on the road: physical edge (``-1`` = not on the network) and
        fraction along it from ``pedge_u`` to ``pedge_v``, as :class:`SnapResult` gives
        them.  Default: each site sits at its node.
    fac_edge, fac_fraction
        The same for the facilities.
    site_leg, fac_leg
        Cost of each site's / facility's off-road leg in the unit of ``weight`` (m or min),
        e.g. slope-aware walking minutes (:func:`geo.tobler.offroad_leg_min`).  Default: the
        snap distance, in metres or walked at ``graph.profile.offroad_speed_kph``.

    Returns
    -------
    (ids, cost)
        Per site (a numpy ``str`` array): id of the facility with the least site → facility cost
        (off-road legs at both ends and the partial edges at both ends included) and that
        cost; ``""`` and ``inf`` when no facility is reachable.

    Raises
    ------
    InputError
        Arrays of mismatched lengths, an unknown weight, or positions not on the graph.

    Notes
    -----
    One virtual node per facility is appended to the transposed graph with an edge to each
    end of its edge that leads to it (weight = off-road leg + the partial edge); Dijkstra
    starts from all virtual nodes with ``min_only=True``, so the legs are counted exactly
    and ``sources`` names the winning facility.  A site then takes the better of its two
    ways onto the network, or a facility on its own edge (see the module notes).
    """
    # ids as a fixed-width str array: gathering them per site is then a plain memory copy
    f_ids = np.atleast_1d(np.asarray(fac_ids)).astype(str)
    f_snap = np.atleast_1d(np.asarray(fac_snap_m, dtype=np.float64))
    if len(f_ids) != len(f_snap):
        raise InputError("site and facility arrays must have matching lengths")
    placed = place_sites(graph, site_nodes, site_snap_m, weight=weight, site_edge=site_edge,
                         site_fraction=site_fraction, site_leg=site_leg)
    fac, cost = nearest_facility_index(graph, placed, fac_nodes, f_snap, fac_edge=fac_edge,
                                       fac_fraction=fac_fraction, fac_leg=fac_leg)
    out_ids = np.append(f_ids, "")[fac]  # one gather: "" where fac is -1
    return out_ids, cost


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


def _check_access_inputs(
    graph: RoadGraph,
    sites: object,
    facilities: object,
    profile: Profile,
    pc: ProblemCollector,
) -> None:
    """The input checks of :func:`access_table` and the :mod:`geo.matrix` tables
    (problems collected in ``pc``)."""
    ok_s = _check_layer(sites, "sites", ["site_id"], pc)
    ok_f = _check_layer(facilities, "facilities", ["facility_id", "facility_type"], pc)
    if ok_s and ok_f:
        crs_s, crs_f = sites.crs, facilities.crs  # type: ignore[attr-defined]
        if not (_is_wgs84(crs_s) and _is_wgs84(crs_f)):
            pc.add(
                f"sites and facilities must both be in EPSG:4326 (WGS84 lon/lat), got sites in "
                f"{_show_crs(crs_s)} and facilities in {_show_crs(crs_f)}",
                fix="convert with .to_crs('EPSG:4326') (or set_crs if the CRS is missing but the "
                    "coordinates are lon/lat)",
            )
    if profile != graph.profile:
        pc.add(
            f"the road graph was built for profile {graph.profile.name!r}, not for "
            f"{getattr(profile, 'name', profile)!r}",
            fix="build it with RoadGraph.from_networkx(G, profile=profile)",
        )


def _check_elevation(elevation_m: object, pc: ProblemCollector) -> None:
    """An ``elevation_m`` argument must be a function of metric x, y (or ``None``)."""
    if elevation_m is not None and not callable(elevation_m):
        pc.add("elevation_m must be a function elevation_m(x_m, y_m) -> metres, or None",
               value=type(elevation_m).__name__,
               fix="pass layers.raster.dem_elevation_sampler(dem, crs=graph.crs_metric)")


def _is_wgs84(crs: object) -> bool:
    return crs is not None and pyproj.CRS.from_user_input(crs) == pyproj.CRS.from_epsg(4326)


def _show_crs(crs: object) -> str:
    return "none" if crs is None else str(pyproj.CRS.from_user_input(crs).to_string())


def _select_types(fac_type: NDArray[np.object_] | NDArray[np.str_],
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


def _lonlat(gdf: gpd.GeoDataFrame) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    geom = gdf.geometry.values
    return (
        np.asarray(shapely.get_x(geom), dtype=np.float64),
        np.asarray(shapely.get_y(geom), dtype=np.float64),
    )


def _snap_layers(
    graph: RoadGraph, sites: gpd.GeoDataFrame, facilities: gpd.GeoDataFrame, limit_m: float
) -> tuple[NDArray[np.float64], NDArray[np.float64], SnapResult,
           NDArray[np.float64], NDArray[np.float64], SnapResult]:
    """Snap the sites and the facilities (lon, lat and :class:`SnapResult` of each), warning
    about facilities farther than ``limit_m`` from every road."""
    s_lon, s_lat = _lonlat(sites)
    f_lon, f_lat = _lonlat(facilities)
    s_snap = snap_points(graph, s_lon, s_lat, max_snap_dist_m=limit_m)
    f_snap = snap_points(graph, f_lon, f_lat, max_snap_dist_m=limit_m)
    n_far = int((f_snap.node < 0).sum())
    if n_far:
        log.warning("%d facilit%s farther than %.0f m from any road: only reachable on foot "
                    "from sites within their own distance to the road", n_far,
                    "y is" if n_far == 1 else "ies are", limit_m)
    return s_lon, s_lat, s_snap, f_lon, f_lat, f_snap


@dataclass(frozen=True, eq=False)
class OffroadLegs:
    """Walking minutes of the off-road legs of snapped sites and facilities.

    Flat (the profile's ``offroad_speed_kph``) or, with an elevation function and a
    slope-aware profile, on each leg's grade with Tobler's hiking function
    (:func:`geo.tobler.offroad_leg_min`).  Build it with :func:`_offroad_legs`.
    """

    site_min: NDArray[np.float64]
    """Site → its snapped point on the road, minutes (NaN for sites not placed)."""
    fac_min: NDArray[np.float64]
    """Snapped point on the road → facility, minutes (NaN for facilities not placed)."""
    flat_speed_kph: float
    """Off-road walking speed on flat ground, km/h."""
    site_z_m: NDArray[np.float64] | None = None
    """Ground elevation at each site, metres (``None`` when flat; NaN where unknown)."""
    fac_z_m: NDArray[np.float64] | None = None
    """Ground elevation at each facility, metres (``None`` when flat)."""

    def direct_min(self, dist_m: NDArray[np.float64], site: NDArray[np.int64],
                   fac: NDArray[np.int64]) -> NDArray[np.float64]:
        """Minutes to walk straight from sites ``site`` to facilities ``fac`` (``dist_m`` apart)."""
        if self.site_z_m is None or self.fac_z_m is None:
            return np.asarray(dist_m, dtype=np.float64) * (60.0 / (self.flat_speed_kph * 1000.0))
        from geo.tobler import offroad_leg_min

        return offroad_leg_min(dist_m, self.fac_z_m[fac] - self.site_z_m[site],
                               flat_speed_kph=self.flat_speed_kph)


def _side_legs_min(
    graph: RoadGraph,
    xy: NDArray[np.float64],
    snap: SnapResult,
    elevation_m: Callable[[NDArray[np.float64], NDArray[np.float64]], NDArray[np.float64]] | None,
    *,
    flat_speed_kph: float,
    to_road: bool,
) -> tuple[NDArray[np.float64], NDArray[np.float64] | None]:
    """Off-road legs of one layer in minutes, and the ground elevation at its points.

    ``to_road=True`` walks from each point to its snapped road point (sites), ``False``
    from the road point to the point (facilities).  Without ``elevation_m`` the legs are
    flat and the elevation is ``None``.  A NaN elevation walks that leg flat; a point not
    placed keeps its (NaN) snap distance.
    """
    per_min = flat_speed_kph * 1000.0 / 60.0  # off-road metres per minute
    if elevation_m is None:
        return snap.snap_dist_m / per_min, None
    from geo.tobler import offroad_leg_min

    def z_at(pts: NDArray[np.float64]) -> NDArray[np.float64]:
        if not len(pts):
            return np.empty(0)
        return np.asarray(elevation_m(pts[:, 0], pts[:, 1]), dtype=np.float64)

    ok = np.isfinite(snap.snap_lon) & np.isfinite(snap.snap_lat)
    road_xy = np.full((len(snap.snap_lon), 2), np.nan)
    if ok.any():
        road_xy[ok] = _to_metric(graph.crs_metric, snap.snap_lon[ok], snap.snap_lat[ok])
    z_pt, z_road = z_at(xy), z_at(road_xy)
    rise = (z_road - z_pt) if to_road else (z_pt - z_road)
    leg = offroad_leg_min(np.nan_to_num(snap.snap_dist_m, nan=0.0), rise,
                          flat_speed_kph=flat_speed_kph)
    return np.where(np.isfinite(snap.snap_dist_m), leg, np.nan), z_pt


def _offroad_legs(
    graph: RoadGraph,
    profile: Profile,
    s_xy: NDArray[np.float64],
    s_snap: SnapResult,
    f_xy: NDArray[np.float64],
    f_snap: SnapResult,
    elevation_m: Callable[[NDArray[np.float64], NDArray[np.float64]], NDArray[np.float64]] | None,
) -> OffroadLegs:
    """Off-road legs in minutes: flat, or on their grade when ``elevation_m`` is given and
    the profile is slope-aware (sites walk down/up to their road, facilities from theirs).

    ``s_xy`` / ``f_xy`` are the points in ``graph.crs_metric``; ``elevation_m`` takes
    metric ``x, y`` and gives metres (NaN where unknown: that leg is walked flat).
    """
    flat = float(profile.offroad_speed_kph)
    elev = elevation_m if profile.slope_aware else None
    site_min, z_s = _side_legs_min(graph, s_xy, s_snap, elev, flat_speed_kph=flat, to_road=True)
    fac_min, z_f = _side_legs_min(graph, f_xy, f_snap, elev, flat_speed_kph=flat, to_road=False)
    return OffroadLegs(site_min=site_min, fac_min=fac_min, flat_speed_kph=flat,
                       site_z_m=z_s, fac_z_m=z_f)


def access_table(
    graph: RoadGraph,
    sites: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    *,
    profile: Profile,
    facility_types: Sequence[str] | None = None,
    max_snap_dist_m: float | None = None,
    progress: bool | None = None,
    elevation_m: Callable[[NDArray[np.float64], NDArray[np.float64]], NDArray[np.float64]]
    | None = None,
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
    elevation_m
        Ground elevation (m) at points given in ``graph.crs_metric`` (NaN where unknown),
        e.g. ``layers.raster.dem_elevation_sampler(dem, crs=graph.crs_metric)``.  With a
        slope-aware profile the off-road legs (site → road, road → facility, and the direct
        leg) are then walked with Tobler's hiking function on their grade
        (:func:`geo.tobler.offroad_leg_min`); road times come from the graph (build it with
        :func:`geo.tobler.with_slope_times`).  Ignored for other profiles.

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
    _check_access_inputs(graph, sites, facilities, profile, pc)
    _check_elevation(elevation_m, pc)
    pc.raise_if_any()

    fac_type = facilities["facility_type"].astype(str).to_numpy()
    types = _select_types(fac_type, facility_types)

    limit = get_settings().max_snap_dist_m if max_snap_dist_m is None else float(max_snap_dist_m)
    show_bar = get_settings().progress if progress is None else bool(progress)

    site_ids = sites["site_id"].astype(str).to_numpy()
    fac_ids = facilities["facility_id"].astype(str).to_numpy()
    s_lon, s_lat, s_snap, f_lon, f_lat, f_snap = _snap_layers(graph, sites, facilities, limit)
    s_xy = _to_metric(graph.crs_metric, s_lon, s_lat) if len(s_lon) else np.empty((0, 2))
    f_xy = _to_metric(graph.crs_metric, f_lon, f_lat) if len(f_lon) else np.empty((0, 2))
    # how far a site may walk straight to a facility: no farther than to its road, or, for a
    # site off the network, within the at-site radius
    site_walk_m = np.where(s_snap.node >= 0, s_snap.snap_dist_m, get_settings().at_site_radius_m)
    # off-road legs in minutes: flat at the profile's off-road speed, or on their grade
    legs = _offroad_legs(graph, profile, s_xy, s_snap, f_xy, f_snap, elevation_m)
    s_leg_min, f_leg_min = legs.site_min, legs.fac_min

    # the sites join the network once per weight, for every type
    placed_l = place_sites(graph, s_snap.node, s_snap.snap_dist_m, weight="length",
                           site_edge=s_snap.edge, site_fraction=s_snap.fraction)
    placed_t = place_sites(graph, s_snap.node, s_snap.snap_dist_m, weight="time",
                           site_edge=s_snap.edge, site_fraction=s_snap.fraction,
                           site_leg=s_leg_min)

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
        fac_l, cost_l = nearest_facility_index(
            graph, placed_l, f_snap.node[on_net], f_snap.snap_dist_m[on_net],
            fac_edge=f_snap.edge[on_net], fac_fraction=f_snap.fraction[on_net],
        )
        ids_l = np.append(fac_ids[on_net], "")[fac_l]
        _, cost_t = nearest_facility_index(
            graph, placed_t, f_snap.node[on_net], f_snap.snap_dist_m[on_net],
            fac_edge=f_snap.edge[on_net], fac_fraction=f_snap.fraction[on_net],
            fac_leg=f_leg_min[on_net],
        )
        # direct leg to the straight-line nearest facility of the type, if close enough
        if n_s:
            cand = np.flatnonzero(of_type)
            _, k = cKDTree(f_xy[cand]).query(s_xy, k=1)
            best = cand[np.asarray(k, dtype=np.int64)]
            direct_m = great_circle_m(s_lat, s_lon, f_lat[best], f_lon[best])
            walkable = direct_m <= site_walk_m
            take = walkable & (direct_m <= cost_l)
            ids_l = np.where(take, fac_ids[best], ids_l)
            cost_l = np.where(take, direct_m, cost_l)
            direct_min = legs.direct_min(direct_m, np.arange(n_s), best)
            cost_t = np.where(walkable, np.minimum(cost_t, direct_min), cost_t)
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


# =========================================================================== service areas

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

    The inverse of :func:`_gc_fraction`: ``fraction`` is the share of the edge's
    great-circle length from ``pedge_u`` (costs along an edge are proportional to it).
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
    graph: RoadGraph,
    dist: NDArray[np.float64],
    f_edge: NDArray[np.int64],
    f_frac: NDArray[np.float64],
    f_leg_min: NDArray[np.float64],
    minutes: float,
) -> tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.float64]]:
    """Reached parts of the physical edges as (edge, start fraction, end fraction).

    ``dist`` is the node → nearest facility time (min) of :func:`_from_facilities`.  A
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
    _check_elevation(elevation_m, pc)
    if _check_layer(facilities, "facilities", ["facility_type"], pc):
        crs = facilities.crs  # type: ignore[attr-defined]
        if not _is_wgs84(crs):
            pc.add(
                f"facilities must be in EPSG:4326 (WGS84 lon/lat), got {_show_crs(crs)}; the road "
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
    graph: RoadGraph,
    facilities: gpd.GeoDataFrame,
    *,
    minutes: float,
    facility_types: Sequence[str] | None = None,
    max_snap_dist_m: float | None = None,
    elevation_m: Callable[[NDArray[np.float64], NDArray[np.float64]], NDArray[np.float64]]
    | None = None,
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
        :func:`access_table`: with a slope-aware profile each facility's off-road leg (road
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
    types = [t for t in _select_types(fac_type, facility_types) if (fac_type == t).any()]
    lon, lat = _lonlat(facilities)
    snap = snap_points(graph, lon, lat, max_snap_dist_m=max_snap_dist_m)
    xy = _to_metric(graph.crs_metric, lon, lat) if len(lon) else np.empty((0, 2))
    leg_min, _ = _side_legs_min(
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
            dist, _ = _from_facilities(
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
    graph: RoadGraph,
    facilities: gpd.GeoDataFrame,
    *,
    minutes: float,
    facility_types: Sequence[str] | None = None,
    buffer_m: float = 50.0,
    max_snap_dist_m: float | None = None,
    elevation_m: Callable[[NDArray[np.float64], NDArray[np.float64]], NDArray[np.float64]]
    | None = None,
) -> gpd.GeoDataFrame:
    """Service areas by road: where the network reaches a facility of each type in time.

    Method: **buffered reached edges**.

    1. The type's facilities are snapped to the road (:func:`snap_points`) and one
       multi-source Dijkstra by time runs on the *transposed* graph from one virtual node
       per facility (its off-road leg walked at ``graph.profile.offroad_speed_kph``, or on
       its grade with ``elevation_m``, plus the part of its edge), exactly as :func:`access_table` does for the facility end:
       the cost found at a node is the least time *from that node to* a facility, so the
       area answers "who can reach a facility within ``minutes``" (oneway streets count in
       the direction of travel to the facility).
    2. Every physical edge whose two ends are reached with budget to cross it is taken
       whole; an edge reached from one end only is cut where the budget runs out: a node
       reached at cost ``c`` with remaining budget ``r = minutes − c`` covers ``r / w`` of
       an adjacent edge whose time towards that node is ``w`` (cut with a vectorised
       substring of the line in the metric CRS, positions in great-circle shares as in
       :func:`snap_points`).  A facility's own edge is covered around it, straight along
       the edge, for the budget left after its off-road leg.
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
        :func:`access_table` (build the graph with :func:`geo.tobler.with_slope_times` for
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
