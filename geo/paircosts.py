"""The array core of the site × facility costs: the cost matrix, the k nearest facilities
and the exact costs of given pairs.

* :func:`cost_matrix` — every site → facility pair whose cost is within a cutoff, as a
  :class:`PairCosts` (site index, facility index, cost), by chunked
  ``scipy.sparse.csgraph.dijkstra(indices=chunk, limit=max_cost)`` runs from the smaller
  side (the facilities on the transposed graph, or the sites on the forward graph);
* :func:`k_nearest` — the ``k ≤ 5`` cheapest facilities of every site, exact, with one
  *k-label* multi-source Dijkstra (every node settled at most ``k`` times, by distinct
  facilities) started from the virtual facility nodes;
* :func:`pair_costs` and :func:`other_bound` — the exact least cost of given pairs in the
  other weight, bounded per pair (the second cost column of the :mod:`geo.matrix` tables).

The points come validated and joined to the graph as a :class:`geo.pairs.PairPoints`
(:func:`geo.pairs.prepare_points`); costs are counted as in :mod:`geo.network` (read its
module notes), in metres (``weight="length"``) or minutes (``weight="time"``).  Off-road
legs are costs in the unit of the weight: ``site_leg`` and ``fac_leg`` (as
:func:`geo.routing.nearest_facility`) and an optional 4th array of ``direct`` (the cost of
each direct leg); without them a leg costs its metres, or its metres at
``offroad_speed_kph``.

Scaling
-------
:func:`cost_matrix` never holds a dense ``n_sources × n_nodes`` array of a whole side:
Dijkstra runs on ``chunk`` sources at a time (``chunk × (n_nodes + chunk)`` floats each),
with ``limit=max_cost`` so that a small cutoff stops every run early.  :func:`k_nearest`
needs no cutoff: its heap holds at most ``k`` labels per node and edge, and it stops once
every node a site joins the road at has its ``k`` labels.  The tables' second cost column
(``time_min`` when ranking by length, ``dist_m`` when ranking by time) is the exact shortest
cost of the same pair in the other weight (with the same off-road legs), from chunked runs
(:func:`pair_costs`) bounded per pair by the pair's own legs in the other weight plus its
road part (``cost − legs``) at the graph's fastest road speed (or slowest road pace), or its
direct leg's other-weight cost, whichever is larger (:func:`other_bound`): no assumption on
how fast the legs are walked, so sloped legs cannot make it lose a pair.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray
from scipy.sparse.csgraph import dijkstra

from geo.network import augmented, same_edge
from geo.pairs import Direct, PairPoints, check_chunk, check_k, check_max_cost, prepare_points
from geo.roads import RoadGraph, Weight

__all__ = ["PairCosts", "cost_matrix", "k_nearest", "other_bound", "pair_costs"]

#: Relative and absolute slack of the other-weight Dijkstra bound (rounding only).
_BOUND_REL, _BOUND_ABS = 1e-9, 1e-9


@dataclass(frozen=True, eq=False)
class PairCosts:
    """Site × facility costs within a cutoff, as a sparse list of pairs.

    A pair is *present* iff it is listed; its cost may be exactly ``0.0`` (a facility at
    the site).  ``scipy.sparse`` formats drop explicit zeros in many operations, so the
    pairs are kept as three aligned arrays; :meth:`to_dense` gives ``inf`` for absent pairs
    and :meth:`to_csr` a CSR matrix that stores zeros explicitly (read it through its
    ``indptr``/``indices``/``data``, not through ``!= 0``).

    Attributes
    ----------
    site, fac
        Site and facility index (positions in the input arrays) of every pair, ``int64``,
        sorted by site then facility; each pair once.
    cost
        Cost of the pair, metres (``weight="length"``) or minutes (``"time"``),
        ``float64``, finite and ``<= max_cost``.
    n_sites, n_facs
        Shape of the full matrix.
    weight
        ``"length"`` or ``"time"``.
    max_cost
        The cutoff the pairs were selected with (``inf`` = none).
    """

    site: NDArray[np.int64]
    fac: NDArray[np.int64]
    cost: NDArray[np.float64]
    n_sites: int
    n_facs: int
    weight: str
    max_cost: float

    def __len__(self) -> int:
        return len(self.site)

    @property
    def shape(self) -> tuple[int, int]:
        """``(n_sites, n_facs)``."""
        return (self.n_sites, self.n_facs)

    def to_dense(self) -> NDArray[np.float64]:
        """``(n_sites, n_facs)`` array of the costs, ``inf`` where a pair is absent."""
        out = np.full(self.shape, np.inf)
        out[self.site, self.fac] = self.cost
        return out

    def to_csr(self) -> sp.csr_matrix:
        """The pairs as a CSR matrix with explicit zeros (absent = not stored)."""
        indptr = np.zeros(self.n_sites + 1, dtype=np.int64)
        np.cumsum(np.bincount(self.site, minlength=self.n_sites), out=indptr[1:])
        return sp.csr_matrix((self.cost.copy(), self.fac.copy(), indptr), shape=self.shape)



def _min_pairs(
    s: NDArray[np.int64], f: NDArray[np.int64], c: NDArray[np.float64]
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
    """Each (site, facility) pair once with its least cost, sorted by site then facility."""
    if len(s) == 0:
        return s.astype(np.int64), f.astype(np.int64), c.astype(np.float64)
    order = np.lexsort((c, f, s))
    s, f, c = s[order], f[order], c[order]
    head = np.ones(len(s), dtype=bool)
    head[1:] = (s[1:] != s[:-1]) | (f[1:] != f[:-1])
    return s[head].astype(np.int64), f[head].astype(np.int64), c[head].astype(np.float64)


def _road_blocks(
    graph: RoadGraph, pts: PairPoints, *, from_sites: bool, src: NDArray[np.int64],
    dst: NDArray[np.int64], limit: NDArray[np.float64], chunk: int,
) -> Iterator[tuple[int, int, NDArray[np.float64]]]:
    """Road costs of ``src × dst`` pairs, ``chunk`` Dijkstra sources at a time.

    ``from_sites=False``: the sources are facilities (virtual nodes on the *transposed*
    graph, edges = off-road leg + the part of their edge, as
    :func:`geo.network.from_facilities`), the destinations sites (cost = the better of
    their two ways onto the network, plus their off-road leg).  ``from_sites=True``: the
    mirror image on the forward graph.  ``limit`` (aligned with ``src``) bounds each
    chunk's Dijkstra (the chunk's largest limit); costs beyond it may come out ``inf``.

    Yields
    ------
    (start, stop, block)
        ``block[a, b]`` = cost from ``src[start + a]`` to ``dst[b]`` (site → facility
        direction either way), ``inf`` when not reached.
    """
    n = graph.n_nodes
    a, b = (pts.site, pts.fac) if from_sites else (pts.fac, pts.site)
    base = graph.weight_csr(pts.weight, reverse=not from_sites)
    a_att, a_cost = a.att, a.att_cost + a.leg[:, None]
    b_att, b_cost, b_leg = b.att[dst], b.att_cost[dst], b.leg[dst]
    b_ok = b_att >= 0
    b_safe = np.where(b_ok, b_att, 0)
    for start in range(0, len(src), chunk):
        stop = min(start + chunk, len(src))
        idx = src[start:stop]
        aug = augmented(base, a_att[idx], a_cost[idx])
        lim = float(np.max(limit[start:stop]))
        dist = np.asarray(
            dijkstra(aug, directed=True, indices=np.arange(n, n + len(idx)), limit=lim),
            dtype=np.float64,
        )
        # the better of the (up to two) attachments of each destination
        with np.errstate(invalid="ignore"):
            via = np.where(b_ok[None, :, :], b_cost[None, :, :] + dist[:, b_safe], np.inf)
        yield start, stop, via.min(axis=2) + b_leg[None, :]


def _smaller_side(s_sel: NDArray[np.int64], f_sel: NDArray[np.int64]) -> bool:
    """``True`` to run Dijkstra from the sites (fewer of them than facilities)."""
    return len(np.unique(s_sel)) < len(np.unique(f_sel))


def _same_edge_costs(
    graph: RoadGraph, pts: PairPoints
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
    """Pairs on one physical edge, straight along it, with both off-road legs."""
    ps, pf, along = same_edge(graph, pts.site.edge, pts.site.fraction, pts.fac.edge,
                              pts.fac.fraction, weight=pts.weight)
    cost = along + pts.site.leg[ps] + pts.fac.leg[pf]
    ok = np.isfinite(cost)
    return ps[ok], pf[ok], cost[ok]


def _merged_pairs(
    graph: RoadGraph, pts: PairPoints, parts_s: list[NDArray[np.int64]],
    parts_f: list[NDArray[np.int64]], parts_c: list[NDArray[np.float64]], max_cost: float,
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
    """The road pairs (``parts_*``: site, facility and cost arrays) with the same-edge pairs
    and the direct legs merged in: each pair once with its least cost, ``<= max_cost``."""
    ps, pf, pc = _same_edge_costs(graph, pts)
    s = np.concatenate([*parts_s, ps, pts.d_site]).astype(np.int64)
    f = np.concatenate([*parts_f, pf, pts.d_fac]).astype(np.int64)
    c = np.concatenate([*parts_c, pc, pts.d_cost]).astype(np.float64)
    keep = np.isfinite(c) & (c <= max_cost)
    return _min_pairs(s[keep], f[keep], c[keep])


def cost_matrix(
    graph: RoadGraph, *,
    site_edge: ArrayLike, site_fraction: ArrayLike, site_snap_m: ArrayLike,
    fac_edge: ArrayLike, fac_fraction: ArrayLike, fac_snap_m: ArrayLike,
    weight: Weight, max_cost: float = math.inf, chunk: int = 64, direct: Direct | None = None,
    site_leg: ArrayLike | None = None, fac_leg: ArrayLike | None = None,
) -> PairCosts:
    """Every site → facility cost within ``max_cost``: the sparse cost matrix.

    Parameters
    ----------
    graph
        The road graph.
    site_edge, site_fraction, site_snap_m
        Where each site joins the road, as :class:`geo.network.SnapResult` gives it:
        physical edge (``-1`` = not on the network), fraction along it from ``pedge_u``
        and the off-road leg (great-circle metres; a non-finite leg = not on the network).
    fac_edge, fac_fraction, fac_snap_m
        The same for the facilities.
    weight
        ``"length"`` (metres) or ``"time"`` (minutes; roads at the graph's times,
        off-road legs at ``graph.profile.offroad_speed_kph`` unless ``site_leg`` /
        ``fac_leg`` / ``direct`` give their costs).
    max_cost
        Cutoff in the unit of ``weight``; pairs costing more are left out (a cost equal to
        it is kept).  Default ``inf``: every reachable pair.
    chunk
        Dijkstra sources per run (memory ``≈ 8 · chunk · (n_nodes + chunk)`` bytes, plus
        ``16 · chunk · n_other_side``).
    direct
        Optional ``(site index, facility index, metres)`` arrays of the pairs that may be
        walked straight (:func:`geo.pairs.find_direct_legs`); their cost is at most that walk.  A
        4th array, aligned with them, gives the cost of each walk in the unit of
        ``weight`` (e.g. slope-aware minutes, :meth:`geo.network.OffroadLegs.direct_min`);
        without it a walk costs its metres, or its metres at
        ``graph.profile.offroad_speed_kph`` for ``"time"``.
    site_leg, fac_leg
        Cost of each site's / facility's off-road leg in the unit of ``weight`` (m or min),
        e.g. slope-aware walking minutes (:func:`geo.tobler.offroad_leg_min`,
        :class:`geo.network.OffroadLegs`); ``>= 0``, a non-finite leg = not on the network.
        Default: the snap distance, in metres or walked at
        ``graph.profile.offroad_speed_kph``.

    Returns
    -------
    PairCosts
        The pairs with a finite cost ``<= max_cost``; absent = unreachable or beyond the
        cutoff.  A listed cost may be exactly 0 (see :class:`PairCosts`).

    Raises
    ------
    InputError
        An unknown weight, positions not on the graph, mismatched lengths, a negative or
        NaN ``max_cost``, a ``chunk`` below 1, negative or misaligned ``site_leg`` /
        ``fac_leg``, or bad direct legs or direct leg costs.

    Notes
    -----
    Dijkstra runs from the side with fewer points on the network: from the facilities on
    the transposed graph (one virtual node per facility, as
    :func:`geo.routing.nearest_facility`), or from the sites on the forward graph (one
    virtual node per site with edges to the ends of its edge it can leave towards), in
    chunks of ``chunk`` sources with ``limit=max_cost``.  Pairs on one physical edge and
    direct legs are then merged in, each pair keeping its least cost.
    """
    pts = prepare_points(graph, site_edge, site_fraction, site_snap_m, fac_edge, fac_fraction,
                         fac_snap_m, weight, direct, site_leg=site_leg, fac_leg=fac_leg)
    max_cost = check_max_cost(max_cost)
    chunk = check_chunk(chunk)
    parts_s: list[NDArray[np.int64]] = []
    parts_f: list[NDArray[np.int64]] = []
    parts_c: list[NDArray[np.float64]] = []
    s_on = np.flatnonzero(pts.site.ok)
    f_on = np.flatnonzero(pts.fac.ok)
    if len(s_on) and len(f_on):
        from_sites = len(s_on) < len(f_on)
        src, dst = (s_on, f_on) if from_sites else (f_on, s_on)
        lim = np.full(len(src), max_cost)
        for start, _, block in _road_blocks(graph, pts, from_sites=from_sites, src=src,
                                            dst=dst, limit=lim, chunk=chunk):
            r, q = np.nonzero(np.isfinite(block) & (block <= max_cost))
            a, b = src[start + r], dst[q]
            parts_s.append(a if from_sites else b)
            parts_f.append(b if from_sites else a)
            parts_c.append(block[r, q])
    s, f, c = _merged_pairs(graph, pts, parts_s, parts_f, parts_c, max_cost)
    return PairCosts(site=s, fac=f, cost=c, n_sites=len(pts.site), n_facs=len(pts.fac),
                     weight=str(weight), max_cost=max_cost)


def _k_labels(
    graph: RoadGraph, pts: PairPoints, k: int, max_cost: float, need: NDArray[np.int64]
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """k-label multi-source Dijkstra from the virtual facility nodes (transposed graph).

    Labels ``(cost, facility)`` are popped in lexicographic order; a node keeps the first
    ``k`` labels of distinct facilities it is reached with (each the least cost from that
    node to that facility, off-road leg included), and only a settled label is extended to
    the node's neighbours.  Exact: if facility ``f`` is among the ``k`` best of node ``x``
    and ``y`` is the next node on the way from ``x`` to ``f``, then ``f`` is among the
    ``k`` best of ``y`` (any facility beating ``f`` at ``y`` beats it at ``x``).  Stops
    once every node of ``need`` holds ``k`` labels.

    Returns
    -------
    (fac, cost)
        ``(n_nodes, k)`` facility indices (``-1`` = none) and costs (``inf``), each row
        sorted by (cost, facility).
    """
    n = graph.n_nodes
    rev = graph.weight_csr(pts.weight, reverse=True)
    indptr = rev.indptr.tolist()
    indices = rev.indices.tolist()
    data = rev.data.tolist()
    labels_f: list[list[int]] = [[] for _ in range(n)]
    labels_c: list[list[float]] = [[] for _ in range(n)]
    heap: list[tuple[float, int, int]] = []
    start_c = pts.fac.att_cost + pts.fac.leg[:, None]
    for f in np.flatnonzero(pts.fac.ok).tolist():
        for j in range(2):
            x = int(pts.fac.att[f, j])
            c0 = float(start_c[f, j])
            if x >= 0 and c0 <= max_cost:
                heap.append((c0, f, x))
    heapq.heapify(heap)
    needed = np.zeros(n, dtype=bool)
    needed[need] = True
    is_needed = needed.tolist()
    remaining = int(needed.sum())
    pop, push = heapq.heappop, heapq.heappush
    while heap and remaining:
        c, f, x = pop(heap)
        lf = labels_f[x]
        if len(lf) >= k or f in lf:
            continue
        lf.append(f)
        labels_c[x].append(c)
        if len(lf) == k and is_needed[x]:
            remaining -= 1
        for p in range(indptr[x], indptr[x + 1]):
            y = indices[p]
            ly = labels_f[y]
            if len(ly) < k and f not in ly:
                nc = c + data[p]
                if nc <= max_cost:
                    push(heap, (nc, f, y))
    out_f = np.full((n, k), -1, dtype=np.int64)
    out_c = np.full((n, k), np.inf)
    for x in np.flatnonzero(needed).tolist():
        m = len(labels_f[x])
        if m:
            out_f[x, :m] = labels_f[x]
            out_c[x, :m] = labels_c[x]
    return out_f, out_c


def k_nearest(
    graph: RoadGraph, *,
    site_edge: ArrayLike, site_fraction: ArrayLike, site_snap_m: ArrayLike,
    fac_edge: ArrayLike, fac_fraction: ArrayLike, fac_snap_m: ArrayLike,
    k: int, weight: Weight, max_cost: float = math.inf, direct: Direct | None = None,
    site_leg: ArrayLike | None = None, fac_leg: ArrayLike | None = None,
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """The ``k`` cheapest facilities of every site, exact.

    Parameters
    ----------
    graph, site_edge, site_fraction, site_snap_m, fac_edge, fac_fraction, fac_snap_m
        As :func:`cost_matrix`.
    k
        Facilities per site, ``1 ≤ k ≤ 5``.
    weight
        ``"length"`` (metres) or ``"time"`` (minutes).
    max_cost
        Optional cutoff in the unit of ``weight`` (prunes the search; pairs above it are
        not reported).
    direct, site_leg, fac_leg
        Optional direct legs (with their costs) and off-road leg costs, as
        :func:`cost_matrix`.

    Returns
    -------
    (fac, cost)
        ``(n_sites, k)`` facility indices (positions in the facility arrays; ``-1`` pads
        when fewer than ``k`` are reachable) and costs (``inf`` pads), each row sorted by
        cost then facility index.  The cost of a pair equals its :func:`cost_matrix`
        entry; ``k = 1`` equals :func:`geo.routing.nearest_facility` (plus the direct
        legs).

    Raises
    ------
    InputError
        ``k`` outside 1..5, and the errors of :func:`cost_matrix`.

    Notes
    -----
    One k-label multi-source Dijkstra on the transposed graph (heapq over the CSR
    arrays): every node is settled at most ``k`` times, by distinct facilities, starting
    from each facility's virtual node (its off-road leg plus the part of its edge).  A
    site's candidates are the labels of the (up to two) nodes it joins the road at, the
    facilities on its own edge and its direct legs; the ``k`` best distinct ones are kept.
    """
    k = check_k(k)
    pts = prepare_points(graph, site_edge, site_fraction, site_snap_m, fac_edge, fac_fraction,
                         fac_snap_m, weight, direct, site_leg=site_leg, fac_leg=fac_leg)
    max_cost = check_max_cost(max_cost)
    out_f = np.full((len(pts.site), k), -1, dtype=np.int64)
    out_c = np.full((len(pts.site), k), np.inf)
    parts_s: list[NDArray[np.int64]] = []
    parts_f: list[NDArray[np.int64]] = []
    parts_c: list[NDArray[np.float64]] = []
    on = pts.site.att >= 0
    if on.any() and pts.fac.ok.any():
        lab_f, lab_c = _k_labels(graph, pts, k, max_cost, np.unique(pts.site.att[on]))
        si, j = np.nonzero(on)
        nodes = pts.site.att[si, j]
        # as nearest_facility: (leaving cost + node cost) + the site's off-road leg
        cand = (pts.site.att_cost[si, j][:, None] + lab_c[nodes]) + pts.site.leg[si][:, None]
        ok = lab_f[nodes] >= 0
        parts_s.append(np.broadcast_to(si[:, None], ok.shape)[ok])
        parts_f.append(lab_f[nodes][ok])
        parts_c.append(cand[ok])
    s, f, c = _merged_pairs(graph, pts, parts_s, parts_f, parts_c, max_cost)
    if len(s):
        order = np.lexsort((f, c, s))
        s, f, c = s[order], f[order], c[order]
        first = np.searchsorted(s, s, side="left")
        rank = np.arange(len(s)) - first
        top = rank < k
        out_f[s[top], rank[top]] = f[top]
        out_c[s[top], rank[top]] = c[top]
    return out_f, out_c


def pair_costs(
    graph: RoadGraph, pts: PairPoints, ps: NDArray[np.int64], pf: NDArray[np.int64],
    bound: NDArray[np.float64], *, chunk: int,
) -> NDArray[np.float64]:
    """Exact least cost of given (site, facility) pairs, each known to be ``<= bound``.

    Dijkstra runs from the smaller side of the pairs, the sources sorted by their largest
    bound so that each chunk's ``limit`` stays tight.  Pairs are unique.
    """
    out = np.full(len(ps), np.inf)
    if len(ps) == 0:
        return out
    road = pts.site.ok[ps] & pts.fac.ok[pf]
    if road.any():
        rp = np.flatnonzero(road)
        from_sites = _smaller_side(ps[rp], pf[rp])
        src_p, dst_p = (ps[rp], pf[rp]) if from_sites else (pf[rp], ps[rp])
        src, src_inv = np.unique(src_p, return_inverse=True)
        lim = np.zeros(len(src))
        np.maximum.at(lim, src_inv, bound[rp])
        order = np.argsort(lim, kind="stable")
        src, lim = src[order], lim[order]
        pos = np.empty(len(order), dtype=np.int64)
        pos[order] = np.arange(len(order))
        pair_src = pos[src_inv]  # position of each road pair's source in src
        dst = np.unique(dst_p)
        pair_dst = np.searchsorted(dst, dst_p)
        for start, stop, block in _road_blocks(graph, pts, from_sites=from_sites, src=src,
                                               dst=dst, limit=lim, chunk=chunk):
            sel = (pair_src >= start) & (pair_src < stop)
            out[rp[sel]] = block[pair_src[sel] - start, pair_dst[sel]]
    es, ef, ec = _same_edge_costs(graph, pts)
    for s, f, c in ((es, ef, ec), (pts.d_site, pts.d_fac, pts.d_cost)):
        q, i = _find_pairs(ps, pf, len(pts.fac), s, f)
        np.minimum.at(out, q, c[i])
    return out


def _find_pairs(
    ps: NDArray[np.int64], pf: NDArray[np.int64], n_f: int,
    s: NDArray[np.int64], f: NDArray[np.int64],
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Positions ``q`` in the unique pairs ``(ps, pf)`` and ``i`` in ``(s, f)`` of the same pair."""
    if len(s) == 0 or len(ps) == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    key = ps * n_f + pf
    order = np.argsort(key, kind="stable")
    skey = key[order]
    want = s * n_f + f
    where = np.searchsorted(skey, want)
    hit = where < len(skey)
    hit[hit] = skey[where[hit]] == want[hit]
    return order[where[hit]].astype(np.int64), np.flatnonzero(hit).astype(np.int64)


def _road_ratio(graph: RoadGraph, weight: Weight) -> float:
    """Largest other-weight cost per unit of ``weight`` of any road edge of the graph.

    ``weight="time"``: the fastest road speed, metres per minute; ``"length"``: the
    slowest road pace, minutes per metre.  ``inf`` when an edge costs nothing in
    ``weight`` but something in the other weight (no bound then).
    """
    length, time = graph.edge_length_m, graph.edge_time_min
    num, den = (length, time) if weight == "time" else (time, length)
    if ((den <= 0) & (num > 0)).any():
        return math.inf
    pos = den > 0
    return float((num[pos] / den[pos]).max()) if pos.any() else 0.0


def other_bound(
    graph: RoadGraph, pts: PairPoints, pts_o: PairPoints, ps: NDArray[np.int64],
    pf: NDArray[np.int64], cost: NDArray[np.float64],
) -> NDArray[np.float64]:
    """Upper bound of the other weight's least cost of pairs ``(ps, pf)`` costing ``cost``.

    ``pts`` holds the points for the ranking weight, ``pts_o`` the same points for the
    other weight (same off-road legs, each in its own unit).

    Why it is valid: let ``P`` be the path that gave ``cost`` (the best by the ranking
    weight).  The least cost in the other weight is at most the other-weight cost of
    ``P``, and ``P`` is one of two forms (the module notes of :mod:`geo.network`):

    * the site's off-road leg, road (partial edges included, also straight along a shared
      edge) and the facility's off-road leg.  Both legs are the points' own, known in both
      weights (``pts.site.leg`` / ``pts_o.site.leg``..., however they were walked: flat or
      on their grade), so the road part costs ``cost − legs`` in the ranking weight and at most
      that times :func:`_road_ratio` (fastest road m/min, or slowest road min/m; a partial
      edge has its edge's ratio, a parallel edge kept by one weight is no better in the
      other) in the other: ``bound = legs_o + (cost − legs) × ratio``;
    * a direct leg, which costs exactly its own other-weight cost ``pts_o.d_cost``.

    Not knowing which form ``P`` is, the bound is the larger of the two.  Nothing here
    assumes the legs move at ``offroad_speed_kph``: a leg walked slowly uphill (Tobler
    down to ~3 % of the flat speed on the steepest grades) or fast downhill (~1.19×)
    enters with its own costs.  Slack covers the rounding of ``cost − legs`` and of the
    Dijkstra sums.
    """
    ratio = _road_ratio(graph, pts.weight)
    legs_w = pts.site.leg[ps] + pts.fac.leg[pf]
    legs_o = pts_o.site.leg[ps] + pts_o.fac.leg[pf]
    placed = np.isfinite(legs_w) & np.isfinite(legs_o)
    if math.isinf(ratio):
        bound = np.where(placed, np.inf, 0.0)
    else:
        with np.errstate(invalid="ignore"):
            road_w = np.maximum(cost - legs_w, 0.0) + _BOUND_REL * (cost + legs_w)
            bound = np.where(placed, legs_o + road_w * ratio, 0.0)
    q, i = _find_pairs(ps, pf, len(pts.fac), pts_o.d_site, pts_o.d_fac)
    np.maximum.at(bound, q, pts_o.d_cost[i])
    return bound * (1.0 + _BOUND_REL) + _BOUND_ABS

