"""Routing on the array core: nearest facility per site, the access table.

Array core and geo adapter (CONVENTIONS.md §3):

* :func:`snap_points` (from :mod:`geo.network`) — points → the nearest point on the
  nearest road;
* :func:`place_sites` and :func:`nearest_facility_index` — the sites joined to the network
  once per weight, then the nearest of a set of facilities for every site, by length or
  time, with **one** multi-source Dijkstra run per set; :func:`nearest_facility` is the
  one-call adapter with facility ids;
* :func:`access_table` — validates the site and facility GeoDataFrames, calls the above
  per facility type and returns the ``access.csv`` table of ``docs/schemas.md``.

Service areas are in :mod:`geo.service` (:func:`service_areas` and :func:`reached_lines`),
cost matrices and the k nearest
facilities in :mod:`geo.matrix`.  How costs are counted (snapping to edges, off-road legs,
leaving a site, reaching a facility exactly, the same edge, the direct leg): the module
notes of :mod:`geo.network`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy.spatial import cKDTree
from tqdm import tqdm

from anzhi.core.errors import InputError, ProblemCollector
from anzhi.core.settings import get_settings
from geo.geodesy import great_circle_m
from geo.inputs import check_access_inputs, check_elevation, select_types, snap_layers
from geo.network import (
    SnapResult,
    along_edge,
    attachments,
    block_entries,
    from_facilities,
    leg_per_m,
    offroad_legs,
    positions,
    snap_points,
    to_metric,
)
from geo.roads import Profile, RoadGraph, Weight
from geo.tobler import ElevationFn

__all__ = [
    "ACCESS_COLUMNS",
    "REASONS",
    "SitePlacement",
    "SnapResult",
    "access_table",
    "nearest_facility",
    "nearest_facility_index",
    "place_sites",
    "snap_points",
]

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
class SitePlacement:
    """Sites joined to the road graph for one weight: computed once, reused for every type.

    Build it with :func:`place_sites`; :func:`nearest_facility_index` then routes every site
    to the nearest facility of a set with one Dijkstra run and a few gathers.  Everything
    that depends only on the sites (their ways onto the network, off-road legs, the order
    of the sites by edge for the same-edge rule) is here, so a run over many facility types
    pays for it once.
    """

    weight: Weight
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


def _checked_points(
    graph: RoadGraph, nodes: ArrayLike, snap_m: ArrayLike, leg: ArrayLike | None,
    edge: ArrayLike | None, fraction: ArrayLike | None, *, per_m: float, label: str, who: str,
) -> tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.float64], NDArray[np.int64],
           NDArray[np.float64]]:
    """Checked nodes, snap distances (m), leg costs, edges and fractions of sites or facilities.

    ``label`` is the arguments' prefix (``site`` / ``fac``), ``who`` one point in messages;
    a leg costs its snap distance times ``per_m`` unless ``leg`` is given.  With ``edge``
    given the nodes are unused and come back as ``-1``.
    """
    p_nodes = np.atleast_1d(np.asarray(nodes, dtype=np.int64))
    p_snap = np.atleast_1d(np.asarray(snap_m, dtype=np.float64))
    if len(p_nodes) != len(p_snap):
        raise InputError(
            f"{label}_nodes and {label}_snap_m must have one value per {who}, got "
            f"{len(p_nodes)} and {len(p_snap)}"
        )
    p_leg = (p_snap * per_m if leg is None
             else np.atleast_1d(np.asarray(leg, dtype=np.float64)))
    if len(p_leg) != len(p_snap):
        raise InputError(
            f"{label}_leg must have one value per {who} ({len(p_snap)}), got {len(p_leg)}"
        )
    p_edge, p_frac = positions(graph, p_nodes, edge, fraction, label)
    if edge is not None:
        p_nodes = np.full(len(p_nodes), -1, dtype=np.int64)
    return p_nodes, p_snap, p_leg, p_edge, p_frac


def place_sites(
    graph: RoadGraph, site_nodes: ArrayLike, site_snap_m: ArrayLike, *, weight: Weight,
    site_edge: ArrayLike | None = None, site_fraction: ArrayLike | None = None,
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
    s_nodes, s_snap, s_leg, s_edge, s_frac = _checked_points(
        graph, site_nodes, site_snap_m, site_leg, site_edge, site_fraction,
        per_m=leg_per_m(graph, weight), label="site", who="site")
    placed = ((s_nodes >= 0) | (s_edge >= 0)) & np.isfinite(s_snap) & np.isfinite(s_leg)
    leg = np.where(placed, s_leg, np.inf)
    if (s_edge >= 0).any():
        att, att_cost = attachments(graph, s_nodes, s_edge, s_frac, weight=weight, leaving=True)
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


def _running_min(v: NDArray[np.float64], start: NDArray[np.bool_], *, ties_last: bool = False
                 ) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Running minimum of ``v`` within segments (``start`` marks each segment's first entry)
    and the position of that minimum (the first one on ties, or the last)."""
    import pandas as pd

    seg = np.cumsum(start) - 1
    run = pd.Series(v).groupby(seg).cummin().to_numpy(dtype=np.float64)
    prev = np.empty_like(run)
    prev[0], prev[1:] = np.inf, run[:-1]
    new = start | ((v <= prev) if ties_last else (v < prev))
    at = np.maximum.accumulate(np.where(new, np.arange(len(v)), 0))
    return run, at


def _same_edge_best(
    graph: RoadGraph,
    sites: SitePlacement,
    f_edge: NDArray[np.int64],
    f_frac: NDArray[np.float64],
    f_leg: NDArray[np.float64],
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
    """For every placed site with a facility on its own physical edge: the best of them
    straight along the edge (off-road legs at both ends included).

    Straight along an edge of forward cost ``W_f`` and backward ``W_b`` per unit fraction,
    a site at fraction ``a`` reaches a facility at ``b`` with leg ``l`` for
    ``(b·W_f + l) − a·W_f`` ahead (``b > a``), ``a·W_b + (l − b·W_b)`` behind (``b < a``) and
    ``l`` at the same point: so with the facilities of each edge sorted by fraction, the best
    ahead is a suffix minimum and the best behind a prefix minimum, found for every site by
    a binary search — no (site, facility) pair is formed, however many sites share an edge
    with facilities.  Returns (site, facility, cost) per such site; ties go to the
    facility first in (edge, fraction, index) order.
    """
    empty = np.empty(0, dtype=np.int64)
    f_on = np.flatnonzero(f_edge >= 0)
    if len(f_on) == 0 or len(sites.by_edge) == 0:
        return empty, empty, np.empty(0)
    s_idx = sites.by_edge[np.isin(sites.by_edge_key, f_edge[f_on])]
    if len(s_idx) == 0:
        return empty, empty, np.empty(0)
    order = f_on[np.lexsort((f_on, f_frac[f_on], f_edge[f_on]))]
    e, b, leg = f_edge[order], f_frac[order], f_leg[order]
    w_fwd_all, w_bwd_all = graph.pedge_weight(sites.weight)
    w_f, w_b = w_fwd_all[e], w_bwd_all[e]
    first = np.ones(len(e), dtype=bool)
    first[1:] = e[1:] != e[:-1]
    last = np.ones(len(e), dtype=bool)
    last[:-1] = e[1:] != e[:-1]
    with np.errstate(invalid="ignore"):
        ahead_v = np.where(np.isfinite(w_f), b * w_f + leg, np.inf)
        behind_v = np.where(np.isfinite(w_b), leg - b * w_b, np.inf)
    behind_min, behind_at = _running_min(behind_v, first)
    rev_min, rev_at = _running_min(ahead_v[::-1], last[::-1], ties_last=True)
    ahead_min, ahead_at = rev_min[::-1], (len(e) - 1 - rev_at)[::-1]
    # one sorted search key: the fraction offset by the edge's rank (monotonic; fractions
    # closer than ~1e-11 may share a key and count as one point)
    rank = np.cumsum(first) - 1
    key = rank * 2.0 + b
    # the facilities at one point: the least leg (first on ties)
    pt_first = first.copy()
    pt_first[1:] |= key[1:] != key[:-1]
    pt_min, pt_at = _running_min(leg, pt_first)  # the value at a point's last entry is its min

    se, sa = sites.edge[s_idx], sites.fraction[s_idx]
    seg_lo = np.searchsorted(e, se, side="left")
    seg_hi = np.searchsorted(e, se, side="right")
    s_key = rank[seg_lo] * 2.0 + sa
    lo = np.searchsorted(key, s_key, side="left")  # first facility with b >= a
    hi = np.searchsorted(key, s_key, side="right")  # first facility with b > a
    best = np.full(len(s_idx), np.inf)
    pos = np.full(len(s_idx), -1, dtype=np.int64)
    w_fs, w_bs = w_fwd_all[se], w_bwd_all[se]
    with np.errstate(invalid="ignore"):
        has = hi < seg_hi  # something ahead
        j = np.minimum(hi, len(e) - 1)
        c = np.where(has, ahead_min[j] - sa * w_fs, np.inf)
        take = c < best
        best, pos = np.where(take, c, best), np.where(take, ahead_at[j], pos)
        has = lo > seg_lo  # something behind
        j = np.maximum(lo - 1, 0)
        c = np.where(has, sa * w_bs + behind_min[j], np.inf)
        take = c < best
        best, pos = np.where(take, c, best), np.where(take, behind_at[j], pos)
        has = hi > lo  # something at the site's point
        j = np.maximum(hi - 1, 0)
        c = np.where(has, pt_min[j], np.inf)
        take = c <= best  # at the point: cost is the leg alone, no rounding of a·W
        best, pos = np.where(take, c, best), np.where(take, pt_at[j], pos)
    ok = pos >= 0
    return s_idx[ok], order[pos[ok]], best[ok] + sites.leg[s_idx[ok]]


def nearest_facility_index(
    graph: RoadGraph, sites: SitePlacement, fac_nodes: ArrayLike, fac_snap_m: ArrayLike, *,
    fac_edge: ArrayLike | None = None, fac_fraction: ArrayLike | None = None,
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
    f_nodes, f_snap, f_leg, f_edge, f_frac = _checked_points(
        graph, fac_nodes, fac_snap_m, fac_leg, fac_edge, fac_fraction,
        per_m=leg_per_m(graph, weight), label="fac", who="facility")
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
    dist, sources = from_facilities(graph, f_nodes, f_leg, f_edge, f_frac, weight=weight)
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
    ps, pf, pc = _same_edge_best(graph, sites, f_edge, f_frac, f_leg)
    if len(ps):
        better = pc < cost[ps]
        cost[ps[better]] = pc[better]
        fac[ps[better]] = pf[better]
    if subset:  # back to indices into the given facility arrays
        fac = np.where(fac >= 0, on_net[np.maximum(fac, 0)], -1)
    return fac, cost


def nearest_facility(
    graph: RoadGraph, site_nodes: ArrayLike, site_snap_m: ArrayLike,
    fac_nodes: ArrayLike, fac_snap_m: ArrayLike, fac_ids: ArrayLike, *, weight: Weight,
    site_edge: ArrayLike | None = None, site_fraction: ArrayLike | None = None,
    fac_edge: ArrayLike | None = None, fac_fraction: ArrayLike | None = None,
    site_leg: ArrayLike | None = None, fac_leg: ArrayLike | None = None,
) -> tuple[NDArray[np.str_], NDArray[np.float64]]:
    """Nearest facility of a set for every site, with one multi-source Dijkstra.

    The id-mapping adapter of :func:`place_sites` + :func:`nearest_facility_index`; to route
    the same sites to many facility types, place them once and call
    :func:`nearest_facility_index` per type.

    Parameters
    ----------
    graph
        The road graph.
    site_nodes, site_snap_m
        Graph node index of each site (``-1`` for sites not on the network; ignored when
        ``site_edge`` is given, then a site is placed iff its edge is ``>= 0``) and its
        off-road leg, metres.
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
    ways onto the network, or a facility on its own edge (the notes of :mod:`geo.network`).
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


def access_table(
    graph: RoadGraph, sites: gpd.GeoDataFrame, facilities: gpd.GeoDataFrame, *,
    profile: Profile, facility_types: Sequence[str] | None = None,
    max_snap_dist_m: float | None = None, progress: bool | None = None,
    elevation_m: ElevationFn | None = None,
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
        by the *direct leg* of :mod:`geo.network` (a facility no farther than its road, or
        within ``at_site_radius_m`` for a site off the network), whatever its snapping.

    Raises
    ------
    InputError
        Missing columns, non-point or empty geometries, a CRS other than EPSG:4326 (both
        CRSs named), an unknown facility type, or a profile other than the graph's.
    """
    pc = ProblemCollector()
    check_access_inputs(graph, sites, facilities, profile, pc)
    check_elevation(elevation_m, pc)
    pc.raise_if_any()

    fac_type = facilities["facility_type"].astype(str).to_numpy()
    types = select_types(fac_type, facility_types)

    limit = get_settings().max_snap_dist_m if max_snap_dist_m is None else float(max_snap_dist_m)
    show_bar = get_settings().progress if progress is None else bool(progress)

    site_ids = sites["site_id"].astype(str).to_numpy()
    fac_ids = facilities["facility_id"].astype(str).to_numpy()
    s_lon, s_lat, s_snap, f_lon, f_lat, f_snap = snap_layers(graph, sites, facilities, limit)
    s_xy = to_metric(graph.crs_metric, s_lon, s_lat) if len(s_lon) else np.empty((0, 2))
    f_xy = to_metric(graph.crs_metric, f_lon, f_lat) if len(f_lon) else np.empty((0, 2))
    # how far a site may walk straight to a facility: no farther than to its road, or, for a
    # site off the network, within the at-site radius
    site_walk_m = np.where(s_snap.node >= 0, s_snap.snap_dist_m, get_settings().at_site_radius_m)
    # off-road legs in minutes: flat at the profile's off-road speed, or on their grade
    legs = offroad_legs(graph, profile, s_xy, s_snap, f_xy, f_snap, elevation_m)
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
