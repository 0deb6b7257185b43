"""Points joined to the road graph: the shared array core of routing, the matrix and the
service areas.

* :func:`snap_points` — points → the nearest point on the nearest road (one bulk
  ``shapely.STRtree`` query per call, the tree built once per graph), as a
  :class:`SnapResult`;
* :func:`positions`, :func:`attachments`, :func:`same_edge` — where snapped points join the
  network (up to two nodes each, and the cost along their edge), and the pairs of points on
  one physical edge;
* :func:`augmented` and :func:`from_facilities` — the graph with one virtual node per
  facility, and the one multi-source Dijkstra from those nodes on the transposed graph;
* :class:`OffroadLegs` and :func:`offroad_legs` — the walking minutes of the off-road legs,
  flat or on their grade (Tobler).

Used by :mod:`geo.routing` (nearest facility, access table), :mod:`geo.pairs` /
:mod:`geo.paircosts` (cost matrix, k nearest) and :mod:`geo.service` (service areas).

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

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyproj
import scipy.sparse as sp
import shapely
from numpy.typing import ArrayLike, NDArray
from scipy.sparse.csgraph import dijkstra

from anzhi.core.errors import InputError
from anzhi.core.settings import get_settings
from geo.geodesy import great_circle_m
from geo.roads import Profile, RoadGraph, Weight
from geo.tobler import ElevationFn

__all__ = [
    "OffroadLegs",
    "SnapResult",
    "along_edge",
    "attachments",
    "augmented",
    "block_entries",
    "from_facilities",
    "leg_per_m",
    "offroad_legs",
    "positions",
    "refuse_bad",
    "same_edge",
    "side_legs_min",
    "snap_points",
    "to_metric",
]

#: A snapped point this close (metres, along the line) to an end of its edge is at that node.
_AT_NODE_M = 1e-7


def refuse_bad(bad: NDArray[np.bool_], message: Callable[[int, int], str]) -> None:
    """Raise :class:`InputError` with ``message(count, first)`` when any entry of ``bad`` is
    set: how many are, and the position of the first."""
    if bad.any():
        raise InputError(message(int(bad.sum()), int(np.flatnonzero(bad)[0])))


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


def to_metric(
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
    refuse_bad(~(np.isfinite(x) & np.isfinite(y)), lambda n, i: (
        f"{n} point(s) have no finite longitude/latitude (first at position {i}); fix or "
        f"remove them before routing"))
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
    pts = shapely.points(to_metric(graph.crs_metric, x, y))
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


def positions(
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
    refuse_bad(placed & ((e >= graph.n_pedges) | ~(a >= 0) | ~(a <= 1)), lambda n, i: (
        f"{n} {label} position(s) are not on the graph (first: edge {int(e[i])}, fraction "
        f"{float(a[i])!r}); use the edge and fraction of snap_points on this graph"))
    return e, a


def attachments(
    graph: RoadGraph, nodes: NDArray[np.int64], edge: NDArray[np.int64],
    fraction: NDArray[np.float64], *, weight: Weight, leaving: bool,
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


def same_edge(
    graph: RoadGraph, s_edge: NDArray[np.int64], s_frac: NDArray[np.float64],
    f_edge: NDArray[np.int64], f_frac: NDArray[np.float64], *, weight: Weight,
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
    owner, pos = block_entries(lo, count)
    pair_s, pair_f = s_on[owner], order[pos]
    cost = along_edge(graph, weight, s_edge[pair_s], f_frac[pair_f] - s_frac[pair_s])
    return pair_s, pair_f, cost


def block_entries(
    lo: NDArray[np.int64], count: NDArray[np.int64]
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Blocks of a sorted array (block ``i`` = positions ``lo[i]`` … ``lo[i] + count[i] − 1``)
    flattened: each entry's block index and its position."""
    owner = np.repeat(np.arange(len(lo)), count)
    within = np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count)
    return owner, np.repeat(lo, count) + within


def along_edge(
    graph: RoadGraph, weight: Weight, e: NDArray[np.int64], d: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Cost straight along physical edges ``e`` from one point to another ``d`` further on
    (fractions; ``d < 0`` = back towards ``u``): ``inf`` where the edge is closed that way."""
    w_fwd_all, w_bwd_all = graph.pedge_weight(weight)
    with np.errstate(invalid="ignore"):
        fwd = np.where(d > 0, d * w_fwd_all[e], np.inf)
        bwd = np.where(d < 0, -d * w_bwd_all[e], np.inf)
    return np.where(d == 0, 0.0, np.minimum(fwd, bwd))


def augmented(
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


def from_facilities(
    graph: RoadGraph, f_nodes: NDArray[np.int64], f_leg: NDArray[np.float64],
    f_edge: NDArray[np.int64], f_frac: NDArray[np.float64], *, weight: Weight,
) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Cost of reaching the nearest facility from every node: one multi-source Dijkstra.

    One virtual node per facility is appended to the *transposed* graph, with an edge to
    each end of its physical edge that leads to it (weight = its off-road leg ``f_leg``,
    already in the units of ``weight``, plus the partial edge); Dijkstra starts from all
    virtual nodes with ``min_only=True``.  Facilities are given as in
    :func:`geo.routing.nearest_facility` (``f_edge >= 0`` with ``f_frac``, or at
    ``f_nodes``).

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
        att, cost = attachments(graph, f_nodes, f_edge, f_frac, weight=weight, leaving=False)
        cost = cost + np.asarray(f_leg, dtype=np.float64)[:, None]
    aug = augmented(graph.weight_csr(weight, reverse=True), att, cost)
    dist, _, sources = dijkstra(
        aug, directed=True, indices=np.arange(n, n + k), min_only=True, return_predecessors=True
    )
    return np.asarray(dist, dtype=np.float64), np.asarray(sources, dtype=np.int64)


def leg_per_m(graph: RoadGraph, weight: object) -> float:
    """Off-road cost per metre for ``weight``: 1 (metres) or minutes at the off-road speed."""
    if weight == "length":
        return 1.0
    if weight == "time":
        return 60.0 / (graph.profile.offroad_speed_kph * 1000.0)
    raise InputError(f"unknown routing weight {weight!r}; use 'length' or 'time'")


@dataclass(frozen=True, eq=False)
class OffroadLegs:
    """Walking minutes of the off-road legs of snapped sites and facilities.

    Flat (the profile's ``offroad_speed_kph``) or, with an elevation function and a
    slope-aware profile, on each leg's grade with Tobler's hiking function
    (:func:`geo.tobler.offroad_leg_min`).  Build it with :func:`offroad_legs`.
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


def side_legs_min(
    graph: RoadGraph, xy: NDArray[np.float64], snap: SnapResult,
    elevation_m: ElevationFn | None, *, flat_speed_kph: float, to_road: bool,
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
        road_xy[ok] = to_metric(graph.crs_metric, snap.snap_lon[ok], snap.snap_lat[ok])
    z_pt, z_road = z_at(xy), z_at(road_xy)
    rise = (z_road - z_pt) if to_road else (z_pt - z_road)
    leg = offroad_leg_min(np.nan_to_num(snap.snap_dist_m, nan=0.0), rise,
                          flat_speed_kph=flat_speed_kph)
    return np.where(np.isfinite(snap.snap_dist_m), leg, np.nan), z_pt


def offroad_legs(
    graph: RoadGraph, profile: Profile, s_xy: NDArray[np.float64], s_snap: SnapResult,
    f_xy: NDArray[np.float64], f_snap: SnapResult, elevation_m: ElevationFn | None,
) -> OffroadLegs:
    """Off-road legs in minutes: flat, or on their grade when ``elevation_m`` is given and
    the profile is slope-aware (sites walk down/up to their road, facilities from theirs).

    ``s_xy`` / ``f_xy`` are the points in ``graph.crs_metric``; ``elevation_m`` takes
    metric ``x, y`` and gives metres (NaN where unknown: that leg is walked flat).
    """
    flat = float(profile.offroad_speed_kph)
    elev = elevation_m if profile.slope_aware else None
    site_min, z_s = side_legs_min(graph, s_xy, s_snap, elev, flat_speed_kph=flat, to_road=True)
    fac_min, z_f = side_legs_min(graph, f_xy, f_snap, elev, flat_speed_kph=flat, to_road=False)
    return OffroadLegs(site_min=site_min, fac_min=fac_min, flat_speed_kph=flat,
                       site_z_m=z_s, fac_z_m=z_f)
