"""Site × facility cost matrices and the k nearest facilities, on the routing core.

Array core and geo adapter (CONVENTIONS.md §3), beside :mod:`geo.routing`:

* :func:`cost_matrix` — every site → facility pair whose cost is within a cutoff, as a
  :class:`PairCosts` (site index, facility index, cost), by chunked
  ``scipy.sparse.csgraph.dijkstra(indices=chunk, limit=max_cost)`` runs from the smaller
  side (the facilities on the transposed graph, or the sites on the forward graph);
* :func:`k_nearest` — the ``k ≤ 5`` cheapest facilities of every site, exact, with one
  *k-label* multi-source Dijkstra (every node settled at most ``k`` times, by distinct
  facilities) started from the virtual facility nodes;
* :func:`find_direct_legs` — the site → facility pairs that may be walked straight (the
  *direct leg* rule);
* :func:`k_nearest_table` and :func:`cost_table` — the geo adapters: they validate the
  site and facility GeoDataFrames like :func:`geo.routing.access_table`, snap the points
  once, call the core per facility type and return long DataFrames (docs/schemas.md,
  "k nearest facilities" and "cost table").  :func:`cost_table` feeds
  :func:`analysis.capacity.two_step_fca_table` directly.

How costs are counted
---------------------
Exactly as in :mod:`geo.routing` (read its module notes): points are snapped to the nearest
point of the nearest physical edge; off-road legs are great-circle metres walked at the
profile's ``offroad_speed_kph``; a site leaves along its edge towards either end the edge is
open to, a facility is reached along its edge from either end that leads to it; a site and a
facility on one physical edge are also joined straight along it; and a *direct leg* joins a
site to any facility no farther (great-circle) than the site's own road, or, for a site off
the network, within ``get_settings().at_site_radius_m``.  The cost of a pair is the least of
these ways, so **the cost of a site to a facility here is what**
:func:`geo.routing.nearest_facility` **(plus** :func:`~geo.routing.access_table`'s **direct
leg) gives when that facility is the only one**.  Costs are metres (``weight="length"``)
or minutes (``weight="time"``).

**Slope-aware legs.**  Given ``elevation_m`` (a DEM sampler) and a slope-aware profile
(``walk``), the adapters walk the off-road legs — site → road, road → facility and the
direct leg — on their grade with Tobler's hiking function, exactly as
:func:`~geo.routing.access_table` with the same ``elevation_m`` (one helper,
``geo.routing._offroad_legs``, computes them for both): only minutes change, metres never
do.  Road times are the graph's (slope-aware when it was built with
:func:`geo.tobler.with_slope_times`).  The array core takes such legs as costs in the
unit of the weight: ``site_leg`` and ``fac_leg`` (as :func:`geo.routing.nearest_facility`)
and an optional 4th array of ``direct`` (the cost of each direct leg); without them a leg
costs its metres, or its metres at ``offroad_speed_kph``.

Scaling
-------
:func:`cost_matrix` never holds a dense ``n_sources × n_nodes`` array of a whole side:
Dijkstra runs on ``chunk`` sources at a time (``chunk × (n_nodes + chunk)`` floats each),
with ``limit=max_cost`` so that a small cutoff stops every run early.  :func:`k_nearest`
needs no cutoff: its heap holds at most ``k`` labels per node and edge, and it stops once
every node a site joins the road at has its ``k`` labels.  The adapters' second cost column
(``time_min`` when ranking by length, ``dist_m`` when ranking by time) is the exact shortest
cost of the same pair in the other weight (with the same off-road legs), from chunked runs
bounded per pair by the pair's own legs in the other weight plus its road part
(``cost − legs``) at the graph's fastest road speed (or slowest road pace), or its direct
leg's other-weight cost, whichever is larger (see ``_other_bound``): no assumption on how
fast the legs are walked, so sloped legs cannot make it lose a pair.
"""

from __future__ import annotations

import heapq
import math
import numbers
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree
from tqdm import tqdm

from anzhi.core.errors import InputError, ProblemCollector
from anzhi.core.settings import get_settings
from geo.geodesy import great_circle_m
from geo.roads import Profile, RoadGraph
from geo.routing import (
    OffroadLegs,
    SnapResult,
    _attachments,
    _augmented,
    _check_access_inputs,
    _check_elevation,
    _leg_per_m,
    _offroad_legs,
    _positions,
    _same_edge,
    _select_types,
    _snap_layers,
    _to_metric,
)
from geo.tobler import ElevationFn

__all__ = [
    "COST_TABLE_COLUMNS",
    "K_MAX",
    "K_NEAREST_COLUMNS",
    "PairCosts",
    "cost_matrix",
    "cost_table",
    "find_direct_legs",
    "k_nearest",
    "k_nearest_table",
]


Weight = Literal["length", "time"]

#: Largest ``k`` of :func:`k_nearest` and :func:`k_nearest_table`.
K_MAX = 5

#: Columns of :func:`k_nearest_table` in order (docs/schemas.md).
K_NEAREST_COLUMNS: tuple[str, ...] = (
    "site_id", "facility_type", "rank", "facility_id", "dist_m", "time_min", "reason",
)

#: Columns of :func:`cost_table` in order (docs/schemas.md).
COST_TABLE_COLUMNS: tuple[str, ...] = (
    "site_id", "facility_id", "facility_type", "cost", "dist_m", "time_min",
)

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


# =========================================================================== inputs


@dataclass(frozen=True, eq=False)
class _Points:
    """Validated positions of the sites and facilities for one weight."""

    weight: Weight
    s_edge: NDArray[np.int64]
    s_frac: NDArray[np.float64]
    s_snap: NDArray[np.float64]
    s_ok: NDArray[np.bool_]
    s_att: NDArray[np.int64]
    s_attc: NDArray[np.float64]
    f_edge: NDArray[np.int64]
    f_frac: NDArray[np.float64]
    f_snap: NDArray[np.float64]
    f_ok: NDArray[np.bool_]
    f_att: NDArray[np.int64]
    f_attc: NDArray[np.float64]
    d_site: NDArray[np.int64]
    d_fac: NDArray[np.int64]
    d_m: NDArray[np.float64]
    s_leg: NDArray[np.float64]  # off-road leg of each site, in the unit of the weight
    f_leg: NDArray[np.float64]  # off-road leg of each facility, in the unit of the weight
    d_cost: NDArray[np.float64]  # cost of each direct leg, in the unit of the weight

    @property
    def n_s(self) -> int:
        return len(self.s_edge)

    @property
    def n_f(self) -> int:
        return len(self.f_edge)


def _check_max_cost(max_cost: object, label: str = "max_cost") -> float:
    if isinstance(max_cost, bool) or not isinstance(max_cost, numbers.Real) or not (
        float(max_cost) >= 0
    ):
        raise InputError(
            f"{label} must be a number >= 0 (metres for weight='length', minutes for "
            f"'time'; inf = no cutoff), got {max_cost!r}"
        )
    return float(max_cost)


def _check_chunk(chunk: object) -> int:
    if isinstance(chunk, bool) or not isinstance(chunk, numbers.Integral) or int(chunk) < 1:
        raise InputError(f"chunk must be a whole number of Dijkstra sources >= 1, got {chunk!r}")
    return int(chunk)


def _check_k(k: object) -> int:
    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or not 1 <= int(k) <= K_MAX:
        raise InputError(
            f"k must be a whole number from 1 to {K_MAX} (nearest facilities per site and "
            f"type), got {k!r}"
        )
    return int(k)


#: What ``direct`` holds: the pairs that may be walked straight, optionally with their costs.
Direct = (tuple[ArrayLike, ArrayLike, ArrayLike]
          | tuple[ArrayLike, ArrayLike, ArrayLike, ArrayLike])


def _check_legs(
    leg: ArrayLike | None, snap_m: NDArray[np.float64], per_m: float, label: str, who: str
) -> NDArray[np.float64]:
    """Off-road leg costs in the unit of the weight: ``leg`` checked, or ``snap_m × per_m``."""
    if leg is None:
        return snap_m * per_m
    try:
        arr = np.atleast_1d(np.asarray(leg, dtype=np.float64))
    except (TypeError, ValueError):
        raise InputError(
            f"{label} must be numbers (the cost of each {who}'s off-road leg in the unit of "
            f"weight: minutes for 'time', metres for 'length'), got {type(leg).__name__}"
        ) from None
    if arr.ndim != 1 or len(arr) != len(snap_m):
        raise InputError(
            f"{label} must hold one off-road leg cost per {who} ({len(snap_m)}), got "
            f"{arr.size} value(s) of shape {arr.shape}; give e.g. OffroadLegs.{who}_min of "
            f"geo.routing._offroad_legs for weight='time'"
        )
    neg = arr < 0
    if neg.any():
        i = int(np.flatnonzero(neg)[0])
        raise InputError(
            f"{label} holds {int(neg.sum())} negative off-road leg cost(s) (first at position "
            f"{i}: {float(arr[i])!r}); a leg costs >= 0 in the unit of weight (NaN = the "
            f"{who} is not on the network)"
        )
    return arr


def _check_direct(
    direct: Direct | None, n_s: int, n_f: int, per_m: float
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64], NDArray[np.float64]]:
    """Validated direct legs: site and facility index, metres and cost in the weight's unit."""
    if direct is None:
        none = np.empty(0, dtype=np.int64)
        return none, none, np.empty(0), np.empty(0)
    if len(direct) not in (3, 4):
        raise InputError(
            f"direct must be (site index, facility index, metres) arrays, optionally with a "
            f"4th array of their costs in the unit of weight, got {len(direct)} array(s)"
        )
    d_site = np.atleast_1d(np.asarray(direct[0], dtype=np.int64))
    d_fac = np.atleast_1d(np.asarray(direct[1], dtype=np.int64))
    d_m = np.atleast_1d(np.asarray(direct[2], dtype=np.float64))
    if not (len(d_site) == len(d_fac) == len(d_m)):
        raise InputError(
            f"direct legs need one site index, facility index and distance per pair, got "
            f"{len(d_site)}, {len(d_fac)} and {len(d_m)}"
        )
    bad = ((d_site < 0) | (d_site >= n_s) | (d_fac < 0) | (d_fac >= n_f)
           | ~np.isfinite(d_m) | (d_m < 0))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(
            f"{int(bad.sum())} direct leg(s) name no site/facility or have no finite "
            f"distance >= 0 (first: site {int(d_site[i])}, facility {int(d_fac[i])}, "
            f"{float(d_m[i])!r} m); use find_direct_legs"
        )
    if len(direct) == 3:
        return d_site, d_fac, d_m, d_m * per_m
    d_cost = np.atleast_1d(np.asarray(direct[3], dtype=np.float64))
    if len(d_cost) != len(d_m):
        raise InputError(
            f"direct leg costs (the 4th array of direct) need one value per direct leg "
            f"({len(d_m)}), got {len(d_cost)}"
        )
    bad = ~np.isfinite(d_cost) | (d_cost < 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(
            f"{int(bad.sum())} direct leg cost(s) are not finite numbers >= 0 (first: site "
            f"{int(d_site[i])}, facility {int(d_fac[i])}, {float(d_cost[i])!r}); give the "
            f"cost of each straight walk in the unit of weight, e.g. OffroadLegs.direct_min "
            f"for weight='time'"
        )
    return d_site, d_fac, d_m, d_cost


def _prepare(
    graph: RoadGraph,
    site_edge: ArrayLike,
    site_fraction: ArrayLike,
    site_snap_m: ArrayLike,
    fac_edge: ArrayLike,
    fac_fraction: ArrayLike,
    fac_snap_m: ArrayLike,
    weight: object,
    direct: Direct | None,
    *,
    site_leg: ArrayLike | None = None,
    fac_leg: ArrayLike | None = None,
) -> _Points:
    """Validate the core's inputs and join the points to the graph for ``weight``."""
    per_m = _leg_per_m(graph, weight)
    s_snap = np.atleast_1d(np.asarray(site_snap_m, dtype=np.float64))
    f_snap = np.atleast_1d(np.asarray(fac_snap_m, dtype=np.float64))
    n_s, n_f = len(s_snap), len(f_snap)
    s_edge, s_frac = _positions(graph, np.full(n_s, -1, dtype=np.int64), site_edge,
                                site_fraction, "site")
    f_edge, f_frac = _positions(graph, np.full(n_f, -1, dtype=np.int64), fac_edge,
                                fac_fraction, "fac")
    for label, snap in (("site_snap_m", s_snap), ("fac_snap_m", f_snap)):
        if (snap < 0).any():
            i = int(np.flatnonzero(snap < 0)[0])
            raise InputError(
                f"{label} holds {int((snap < 0).sum())} negative off-road distance(s) (first "
                f"at position {i}: {float(snap[i])!r}); use snap_dist_m of snap_points"
            )
    s_leg = _check_legs(site_leg, s_snap, per_m, "site_leg", "site")
    f_leg = _check_legs(fac_leg, f_snap, per_m, "fac_leg", "fac")
    # a point is on the network with a position, a finite snap distance and a finite leg
    s_ok = (s_edge >= 0) & np.isfinite(s_snap) & np.isfinite(s_leg)
    f_ok = (f_edge >= 0) & np.isfinite(f_snap) & np.isfinite(f_leg)
    s_edge = np.where(s_ok, s_edge, -1).astype(np.int64)
    f_edge = np.where(f_ok, f_edge, -1).astype(np.int64)
    none = np.full(n_s, -1, dtype=np.int64)
    s_att, s_attc = _attachments(graph, none, s_edge, s_frac, weight=weight,  # type: ignore[arg-type]
                                 leaving=True)
    f_att, f_attc = _attachments(graph, np.full(n_f, -1, dtype=np.int64), f_edge, f_frac,
                                 weight=weight, leaving=False)  # type: ignore[arg-type]
    d_site, d_fac, d_m, d_cost = _check_direct(direct, n_s, n_f, per_m)
    return _Points(
        weight=weight,  # type: ignore[arg-type]
        s_edge=s_edge, s_frac=s_frac, s_snap=s_snap, s_ok=s_ok, s_att=s_att, s_attc=s_attc,
        f_edge=f_edge, f_frac=f_frac, f_snap=f_snap, f_ok=f_ok, f_att=f_att, f_attc=f_attc,
        d_site=d_site, d_fac=d_fac, d_m=d_m, s_leg=s_leg, f_leg=f_leg, d_cost=d_cost,
    )


def find_direct_legs(
    graph: RoadGraph,
    site_lon: ArrayLike,
    site_lat: ArrayLike,
    fac_lon: ArrayLike,
    fac_lat: ArrayLike,
    *,
    site_walk_m: ArrayLike,
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
    """Every site → facility pair that may be walked straight (the *direct leg* rule).

    Parameters
    ----------
    graph
        The road graph (its metric CRS is used for a KD-tree pre-selection).
    site_lon, site_lat, fac_lon, fac_lat
        WGS84 (EPSG:4326) positions, decimal degrees.
    site_walk_m
        How far each site may walk straight, metres: its snap distance when it is on the
        network, ``get_settings().at_site_radius_m`` when it is not (as
        :func:`geo.routing.access_table` does).

    Returns
    -------
    (site, fac, dist_m)
        Indices of the pairs whose great-circle distance is ``<= site_walk_m`` of the site,
        and that distance in metres; sorted by site then facility.
    """
    s_lon = np.atleast_1d(np.asarray(site_lon, dtype=np.float64))
    s_lat = np.atleast_1d(np.asarray(site_lat, dtype=np.float64))
    f_lon = np.atleast_1d(np.asarray(fac_lon, dtype=np.float64))
    f_lat = np.atleast_1d(np.asarray(fac_lat, dtype=np.float64))
    walk = np.atleast_1d(np.asarray(site_walk_m, dtype=np.float64))
    empty = (np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64), np.empty(0))
    if len(s_lon) == 0 or len(f_lon) == 0:
        return empty
    s_xy = _to_metric(graph.crs_metric, s_lon, s_lat)
    f_xy = _to_metric(graph.crs_metric, f_lon, f_lat)
    # planar and great-circle metres differ by < 1 % (sphere vs ellipsoid, map scale)
    radius = np.where(np.isfinite(walk) & (walk >= 0), walk * 1.02 + 1.0, 0.0)
    hits = cKDTree(f_xy).query_ball_point(s_xy, r=radius)
    count = np.fromiter((len(h) for h in hits), dtype=np.int64, count=len(hits))
    if count.sum() == 0:
        return empty
    site = np.repeat(np.arange(len(s_lon), dtype=np.int64), count)
    fac = np.concatenate([np.asarray(h, dtype=np.int64) for h in hits if len(h)])
    dist = great_circle_m(s_lat[site], s_lon[site], f_lat[fac], f_lon[fac])
    keep = dist <= walk[site]
    site, fac, dist = site[keep], fac[keep], dist[keep]
    order = np.lexsort((fac, site))
    return site[order], fac[order], dist[order]


# =========================================================================== array core


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
    graph: RoadGraph,
    pts: _Points,
    *,
    from_sites: bool,
    src: NDArray[np.int64],
    dst: NDArray[np.int64],
    limit: NDArray[np.float64],
    chunk: int,
) -> Iterator[tuple[int, int, NDArray[np.float64]]]:
    """Road costs of ``src × dst`` pairs, ``chunk`` Dijkstra sources at a time.

    ``from_sites=False``: the sources are facilities (virtual nodes on the *transposed*
    graph, edges = off-road leg + the part of their edge, as ``_from_facilities``), the
    destinations sites (cost = the better of their two ways onto the network, plus their
    off-road leg).  ``from_sites=True``: the mirror image on the forward graph.  ``limit``
    (aligned with ``src``) bounds each chunk's Dijkstra (the chunk's largest limit); costs
    beyond it may come out ``inf``.

    Yields
    ------
    (start, stop, block)
        ``block[a, b]`` = cost from ``src[start + a]`` to ``dst[b]`` (site → facility
        direction either way), ``inf`` when not reached.
    """
    n = graph.n_nodes
    if from_sites:
        base = graph.weight_csr(pts.weight)
        a_att, a_cost = pts.s_att, pts.s_attc + pts.s_leg[:, None]
        b_att, b_cost, b_leg = pts.f_att[dst], pts.f_attc[dst], pts.f_leg[dst]
    else:
        base = graph.weight_csr(pts.weight, reverse=True)
        a_att, a_cost = pts.f_att, pts.f_attc + pts.f_leg[:, None]
        b_att, b_cost, b_leg = pts.s_att[dst], pts.s_attc[dst], pts.s_leg[dst]
    b_ok = b_att >= 0
    b_safe = np.where(b_ok, b_att, 0)
    for start in range(0, len(src), chunk):
        stop = min(start + chunk, len(src))
        idx = src[start:stop]
        aug = _augmented(base, a_att[idx], a_cost[idx])
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
    graph: RoadGraph, pts: _Points
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
    """Pairs on one physical edge, straight along it, with both off-road legs."""
    ps, pf, along = _same_edge(graph, pts.s_edge, pts.s_frac, pts.f_edge, pts.f_frac,
                               weight=pts.weight)
    cost = along + pts.s_leg[ps] + pts.f_leg[pf]
    ok = np.isfinite(cost)
    return ps[ok], pf[ok], cost[ok]


def cost_matrix(
    graph: RoadGraph,
    *,
    site_edge: ArrayLike,
    site_fraction: ArrayLike,
    site_snap_m: ArrayLike,
    fac_edge: ArrayLike,
    fac_fraction: ArrayLike,
    fac_snap_m: ArrayLike,
    weight: Weight,
    max_cost: float = math.inf,
    chunk: int = 64,
    direct: Direct | None = None,
    site_leg: ArrayLike | None = None,
    fac_leg: ArrayLike | None = None,
) -> PairCosts:
    """Every site → facility cost within ``max_cost``: the sparse cost matrix.

    Parameters
    ----------
    graph
        The road graph.
    site_edge, site_fraction, site_snap_m
        Where each site joins the road, as :class:`geo.routing.SnapResult` gives it:
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
        walked straight (:func:`find_direct_legs`); their cost is at most that walk.  A
        4th array, aligned with them, gives the cost of each walk in the unit of
        ``weight`` (e.g. slope-aware minutes, :meth:`geo.routing.OffroadLegs.direct_min`);
        without it a walk costs its metres, or its metres at
        ``graph.profile.offroad_speed_kph`` for ``"time"``.
    site_leg, fac_leg
        Cost of each site's / facility's off-road leg in the unit of ``weight`` (m or min),
        e.g. slope-aware walking minutes (:func:`geo.tobler.offroad_leg_min`,
        :class:`geo.routing.OffroadLegs`); ``>= 0``, a non-finite leg = not on the network.
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
    pts = _prepare(graph, site_edge, site_fraction, site_snap_m, fac_edge, fac_fraction,
                   fac_snap_m, weight, direct, site_leg=site_leg, fac_leg=fac_leg)
    max_cost = _check_max_cost(max_cost)
    chunk = _check_chunk(chunk)
    parts_s: list[NDArray[np.int64]] = []
    parts_f: list[NDArray[np.int64]] = []
    parts_c: list[NDArray[np.float64]] = []
    s_on = np.flatnonzero(pts.s_ok)
    f_on = np.flatnonzero(pts.f_ok)
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
    ps, pf, pc = _same_edge_costs(graph, pts)
    parts_s.append(ps)
    parts_f.append(pf)
    parts_c.append(pc)
    parts_s.append(pts.d_site)
    parts_f.append(pts.d_fac)
    parts_c.append(pts.d_cost)
    s = np.concatenate(parts_s).astype(np.int64)
    f = np.concatenate(parts_f).astype(np.int64)
    c = np.concatenate(parts_c).astype(np.float64)
    keep = np.isfinite(c) & (c <= max_cost)
    s, f, c = _min_pairs(s[keep], f[keep], c[keep])
    return PairCosts(site=s, fac=f, cost=c, n_sites=pts.n_s, n_facs=pts.n_f,
                     weight=str(weight), max_cost=max_cost)


def _k_labels(
    graph: RoadGraph, pts: _Points, k: int, max_cost: float, need: NDArray[np.int64]
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
    start_c = pts.f_attc + pts.f_leg[:, None]
    for f in np.flatnonzero(pts.f_ok).tolist():
        for j in range(2):
            x = int(pts.f_att[f, j])
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
    graph: RoadGraph,
    *,
    site_edge: ArrayLike,
    site_fraction: ArrayLike,
    site_snap_m: ArrayLike,
    fac_edge: ArrayLike,
    fac_fraction: ArrayLike,
    fac_snap_m: ArrayLike,
    k: int,
    weight: Weight,
    max_cost: float = math.inf,
    direct: Direct | None = None,
    site_leg: ArrayLike | None = None,
    fac_leg: ArrayLike | None = None,
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
    k = _check_k(k)
    pts = _prepare(graph, site_edge, site_fraction, site_snap_m, fac_edge, fac_fraction,
                   fac_snap_m, weight, direct, site_leg=site_leg, fac_leg=fac_leg)
    max_cost = _check_max_cost(max_cost)
    out_f = np.full((pts.n_s, k), -1, dtype=np.int64)
    out_c = np.full((pts.n_s, k), np.inf)
    parts_s: list[NDArray[np.int64]] = []
    parts_f: list[NDArray[np.int64]] = []
    parts_c: list[NDArray[np.float64]] = []
    on = pts.s_att >= 0
    if on.any() and pts.f_ok.any():
        lab_f, lab_c = _k_labels(graph, pts, k, max_cost, np.unique(pts.s_att[on]))
        si, j = np.nonzero(on)
        nodes = pts.s_att[si, j]
        # as nearest_facility: (leaving cost + node cost) + the site's off-road leg
        cand = (pts.s_attc[si, j][:, None] + lab_c[nodes]) + pts.s_leg[si][:, None]
        ok = lab_f[nodes] >= 0
        parts_s.append(np.broadcast_to(si[:, None], ok.shape)[ok])
        parts_f.append(lab_f[nodes][ok])
        parts_c.append(cand[ok])
    ps, pf, pc = _same_edge_costs(graph, pts)
    parts_s += [ps, pts.d_site]
    parts_f += [pf, pts.d_fac]
    parts_c += [pc, pts.d_cost]
    s = np.concatenate(parts_s).astype(np.int64)
    f = np.concatenate(parts_f).astype(np.int64)
    c = np.concatenate(parts_c).astype(np.float64)
    keep = np.isfinite(c) & (c <= max_cost)
    s, f, c = _min_pairs(s[keep], f[keep], c[keep])
    if len(s):
        order = np.lexsort((f, c, s))
        s, f, c = s[order], f[order], c[order]
        first = np.searchsorted(s, s, side="left")
        rank = np.arange(len(s)) - first
        top = rank < k
        out_f[s[top], rank[top]] = f[top]
        out_c[s[top], rank[top]] = c[top]
    return out_f, out_c


def _pair_costs(
    graph: RoadGraph,
    pts: _Points,
    ps: NDArray[np.int64],
    pf: NDArray[np.int64],
    bound: NDArray[np.float64],
    *,
    chunk: int,
) -> NDArray[np.float64]:
    """Exact least cost of given (site, facility) pairs, each known to be ``<= bound``.

    Dijkstra runs from the smaller side of the pairs, the sources sorted by their largest
    bound so that each chunk's ``limit`` stays tight.  Pairs are unique.
    """
    out = np.full(len(ps), np.inf)
    if len(ps) == 0:
        return out
    road = pts.s_ok[ps] & pts.f_ok[pf]
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
        q, i = _find_pairs(ps, pf, pts.n_f, s, f)
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


def _other_bound(
    graph: RoadGraph,
    pts: _Points,
    pts_o: _Points,
    ps: NDArray[np.int64],
    pf: NDArray[np.int64],
    cost: NDArray[np.float64],
) -> NDArray[np.float64]:
    """Upper bound of the other weight's least cost of pairs ``(ps, pf)`` costing ``cost``.

    ``pts`` holds the points for the ranking weight, ``pts_o`` the same points for the
    other weight (same off-road legs, each in its own unit).

    Why it is valid: let ``P`` be the path that gave ``cost`` (the best by the ranking
    weight).  The least cost in the other weight is at most the other-weight cost of
    ``P``, and ``P`` is one of two forms (module notes):

    * the site's off-road leg, road (partial edges included, also straight along a shared
      edge) and the facility's off-road leg.  Both legs are the points' own, known in both
      weights (``pts.s_leg``/``pts_o.s_leg``..., however they were walked: flat or on their
      grade), so the road part costs ``cost − legs`` in the ranking weight and at most
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
    legs_w = pts.s_leg[ps] + pts.f_leg[pf]
    legs_o = pts_o.s_leg[ps] + pts_o.f_leg[pf]
    placed = np.isfinite(legs_w) & np.isfinite(legs_o)
    if math.isinf(ratio):
        bound = np.where(placed, np.inf, 0.0)
    else:
        with np.errstate(invalid="ignore"):
            road_w = np.maximum(cost - legs_w, 0.0) + _BOUND_REL * (cost + legs_w)
            bound = np.where(placed, legs_o + road_w * ratio, 0.0)
    q, i = _find_pairs(ps, pf, pts.n_f, pts_o.d_site, pts_o.d_fac)
    np.maximum.at(bound, q, pts_o.d_cost[i])
    return bound * (1.0 + _BOUND_REL) + _BOUND_ABS


# =========================================================================== geo adapters


@dataclass(frozen=True, eq=False)
class _Region:
    """Sites and facilities snapped once, with their direct legs."""

    site_ids: NDArray[np.object_]
    fac_ids: NDArray[np.object_]
    fac_type: NDArray[np.object_]
    types: list[str]
    s_snap: SnapResult
    f_snap: SnapResult
    d_site: NDArray[np.int64]
    d_fac: NDArray[np.int64]
    d_m: NDArray[np.float64]
    legs: OffroadLegs | None = None
    """Off-road legs walked on their grade (``None``: flat, at ``offroad_speed_kph``)."""
    d_min: NDArray[np.float64] | None = None
    """Minutes of each direct leg on its grade (with ``legs``)."""


def _check_weight(weight: object, pc: ProblemCollector) -> None:
    if weight not in ("length", "time"):
        pc.add("weight must be 'length' (metres) or 'time' (minutes)", value=weight,
               fix="give weight='time' or weight='length'")


def _region(
    graph: RoadGraph,
    sites: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    facility_types: Sequence[str] | None,
    max_snap_dist_m: float | None,
    profile: Profile,
    elevation_m: ElevationFn | None,
) -> _Region:
    fac_type = facilities["facility_type"].astype(str).to_numpy(dtype=object)
    types = _select_types(fac_type, facility_types)
    limit = get_settings().max_snap_dist_m if max_snap_dist_m is None else float(max_snap_dist_m)
    s_lon, s_lat, s_snap, f_lon, f_lat, f_snap = _snap_layers(graph, sites, facilities, limit)
    walk = np.where(s_snap.node >= 0, s_snap.snap_dist_m, get_settings().at_site_radius_m)
    d_site, d_fac, d_m = find_direct_legs(graph, s_lon, s_lat, f_lon, f_lat, site_walk_m=walk)
    legs: OffroadLegs | None = None
    d_min: NDArray[np.float64] | None = None
    if elevation_m is not None and profile.slope_aware:
        # the same legs as access_table: one elevation lookup of every point and snapped point
        s_xy = _to_metric(graph.crs_metric, s_lon, s_lat) if len(s_lon) else np.empty((0, 2))
        f_xy = _to_metric(graph.crs_metric, f_lon, f_lat) if len(f_lon) else np.empty((0, 2))
        legs = _offroad_legs(graph, profile, s_xy, s_snap, f_xy, f_snap, elevation_m)
        d_min = np.atleast_1d(np.asarray(legs.direct_min(d_m, d_site, d_fac), dtype=np.float64))
    return _Region(
        site_ids=sites["site_id"].astype(str).to_numpy(dtype=object),
        fac_ids=facilities["facility_id"].astype(str).to_numpy(dtype=object),
        fac_type=fac_type,
        types=types,
        s_snap=s_snap,
        f_snap=f_snap,
        d_site=d_site,
        d_fac=d_fac,
        d_m=d_m,
        legs=legs,
        d_min=d_min,
    )


def _type_points(
    graph: RoadGraph, reg: _Region, idx: NDArray[np.int64], weight: Weight
) -> _Points:
    """The core's inputs for the facilities ``idx`` (one type) and every site.

    Time-weighted legs are the region's sloped legs when it has them; metres stay metres.
    """
    s, f = reg.s_snap, reg.f_snap
    local = np.full(len(reg.fac_ids), -1, dtype=np.int64)
    local[idx] = np.arange(len(idx))
    sel = local[reg.d_fac] >= 0
    direct: Direct = (reg.d_site[sel], local[reg.d_fac[sel]], reg.d_m[sel])
    site_leg = fac_leg = None
    if weight == "time" and reg.legs is not None and reg.d_min is not None:
        direct = (*direct, reg.d_min[sel])
        site_leg, fac_leg = reg.legs.site_min, reg.legs.fac_min[idx]
    return _prepare(
        graph, s.edge, s.fraction, s.snap_dist_m,
        f.edge[idx], f.fraction[idx], f.snap_dist_m[idx],
        weight, direct, site_leg=site_leg, fac_leg=fac_leg,
    )


def _unrouted_reason(reg: _Region, idx: NDArray[np.int64]) -> NDArray[np.object_]:
    """``access_table``'s reason for a site with no route to any facility of ``idx``."""
    if len(idx) == 0:
        return np.full(len(reg.site_ids), "no_facility", dtype=object)
    on_net = (reg.f_snap.node[idx] >= 0).any()
    return np.where(reg.s_snap.node < 0, "no_road_nearby",
                    "isolated_network" if on_net else "no_facility").astype(object)


def k_nearest_table(
    graph: RoadGraph,
    sites: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    *,
    profile: Profile,
    k: int = 3,
    weight: Weight = "time",
    facility_types: Sequence[str] | None = None,
    max_snap_dist_m: float | None = None,
    progress: bool | None = None,
    elevation_m: ElevationFn | None = None,
) -> pd.DataFrame:
    """The ``k`` nearest facilities of each type for every site, by road.

    Parameters
    ----------
    graph
        Road graph built for ``profile``.
    sites
        EPSG:4326 points with a ``site_id`` column.
    facilities
        EPSG:4326 points with ``facility_id`` and ``facility_type`` columns.
    profile
        The travel profile (must be the graph's).
    k
        Facilities per site and type, 1 to 5.
    weight
        What ``rank`` orders by: ``"time"`` (minutes) or ``"length"`` (metres).
    facility_types
        Types to report, in this order; default every type present (vocabulary order, then
        others sorted), as :func:`geo.routing.access_table`.
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
        :func:`geo.tobler.with_slope_times`).  Ignored for other profiles.  Only minutes
        change (``time_min``, and the ranking by ``"time"``); metres never do.

    Returns
    -------
    pandas.DataFrame
        :data:`K_NEAREST_COLUMNS`, sites in input order, then types in type order, then
        ``rank``: ``rank`` 1..k (``float``; by ``weight``, ties by facility input order),
        ``facility_id``, ``dist_m`` (road metres incl. off-road legs) and ``time_min``
        (minutes) of that site → facility pair — the ranking weight's cost and the exact
        least cost of the same pair in the other weight (it may follow another path) —
        and ``reason`` ``""``.  Unreachable ranks are left out; a site that reaches no
        facility of a type gets one row with ``rank`` NaN, ``facility_id`` ``""``, NaN
        costs and the reason :func:`geo.routing.access_table` gives (``no_facility``,
        ``no_road_nearby``, ``isolated_network``).  Rank 1 is ``access_table``'s nearest
        facility by the same weight (with the same ``elevation_m``).

    Raises
    ------
    InputError
        Every problem of the inputs at once: missing columns, non-point or empty
        geometries, a CRS other than EPSG:4326 (both named), a profile other than the
        graph's, ``k`` outside 1..5, an unknown weight, an ``elevation_m`` that is not a
        function; then an unknown facility type.
    """
    pc = ProblemCollector()
    _check_access_inputs(graph, sites, facilities, profile, pc)
    try:
        k = _check_k(k)
    except InputError as exc:
        pc.extend(exc.problems)
    _check_weight(weight, pc)
    _check_elevation(elevation_m, pc)
    pc.raise_if_any()
    other: Weight = "length" if weight == "time" else "time"
    show_bar = get_settings().progress if progress is None else bool(progress)
    reg = _region(graph, sites, facilities, facility_types, max_snap_dist_m, profile,
                  elevation_m)
    n_s, n_t = len(reg.site_ids), len(reg.types)

    out_site: list[NDArray[np.int64]] = []
    out_type: list[NDArray[np.int64]] = []
    out_rank: list[NDArray[np.float64]] = []
    out_fac: list[NDArray[np.object_]] = []
    out_cost: list[NDArray[np.float64]] = []
    out_other: list[NDArray[np.float64]] = []
    out_reason: list[NDArray[np.object_]] = []
    for t, ftype in enumerate(tqdm(reg.types, desc="k nearest", unit="type",
                                   disable=not show_bar)):
        idx = np.flatnonzero(reg.fac_type == ftype)
        fac = np.full((n_s, k), -1, dtype=np.int64)
        cost = np.full((n_s, k), np.inf)
        if len(idx):
            pts = _type_points(graph, reg, idx, weight)
            fac, cost = k_nearest(
                graph, site_edge=pts.s_edge, site_fraction=pts.s_frac, site_snap_m=pts.s_snap,
                fac_edge=pts.f_edge, fac_fraction=pts.f_frac, fac_snap_m=pts.f_snap, k=k,
                weight=weight, direct=(pts.d_site, pts.d_fac, pts.d_m, pts.d_cost),
                site_leg=pts.s_leg, fac_leg=pts.f_leg,
            )
        si, r = np.nonzero(fac >= 0)
        lf = fac[si, r]
        c = cost[si, r]
        oc = np.empty(0)
        if len(si):
            pts_o = _type_points(graph, reg, idx, other)
            oc = _pair_costs(graph, pts_o, si, lf, _other_bound(graph, pts, pts_o, si, lf, c),
                             chunk=64)
        out_site.append(si)
        out_type.append(np.full(len(si), t, dtype=np.int64))
        out_rank.append((r + 1).astype(np.float64))
        out_fac.append(reg.fac_ids[idx[lf]] if len(si) else np.empty(0, dtype=object))
        out_cost.append(c)
        out_other.append(oc)
        out_reason.append(np.full(len(si), "", dtype=object))
        none = np.flatnonzero(fac[:, 0] < 0)
        out_site.append(none)
        out_type.append(np.full(len(none), t, dtype=np.int64))
        out_rank.append(np.full(len(none), np.nan))
        out_fac.append(np.full(len(none), "", dtype=object))
        out_cost.append(np.full(len(none), np.nan))
        out_other.append(np.full(len(none), np.nan))
        out_reason.append(_unrouted_reason(reg, idx)[none])

    site = np.concatenate(out_site) if n_t else np.empty(0, dtype=np.int64)
    typ = np.concatenate(out_type) if n_t else np.empty(0, dtype=np.int64)
    rank = np.concatenate(out_rank) if n_t else np.empty(0)
    cost_w = np.concatenate(out_cost) if n_t else np.empty(0)
    cost_o = np.concatenate(out_other) if n_t else np.empty(0)
    order = np.lexsort((np.nan_to_num(rank, nan=0.0), typ, site))
    fac_col = np.concatenate(out_fac)[order] if n_t else np.empty(0, dtype=object)
    reason = np.concatenate(out_reason)[order] if n_t else np.empty(0, dtype=object)
    cost_w, cost_o = cost_w[order], np.where(np.isfinite(cost_o), cost_o, np.nan)[order]
    dist_m, time_min = (cost_o, cost_w) if weight == "time" else (cost_w, cost_o)
    return pd.DataFrame(
        {
            "site_id": pd.Series(reg.site_ids[site[order]], dtype=str),
            "facility_type": pd.Series(np.asarray(reg.types, dtype=object)[typ[order]]
                                       if n_t else [], dtype=str),
            "rank": rank[order].astype(np.float64),
            "facility_id": pd.Series(fac_col, dtype=str),
            "dist_m": np.asarray(dist_m, dtype=np.float64),
            "time_min": np.asarray(time_min, dtype=np.float64),
            "reason": pd.Series(reason, dtype=str),
        },
        columns=list(K_NEAREST_COLUMNS),
    )


def cost_table(
    graph: RoadGraph,
    sites: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    *,
    profile: Profile,
    max_cost: float,
    weight: Weight = "time",
    facility_types: Sequence[str] | None = None,
    max_snap_dist_m: float | None = None,
    progress: bool | None = None,
    chunk: int = 64,
    elevation_m: ElevationFn | None = None,
) -> pd.DataFrame:
    """Every site → facility pair within ``max_cost``, as a long table (for capacity methods).

    Parameters
    ----------
    graph, sites, facilities, profile, facility_types, max_snap_dist_m, progress
        As :func:`k_nearest_table`.
    max_cost
        Cutoff in the unit of ``weight``: minutes (``"time"``) or metres (``"length"``);
        a pair costing exactly ``max_cost`` is kept (the 2SFCA catchment rule).
    weight
        What ``cost`` and the cutoff measure.
    chunk
        Dijkstra sources per run (see :func:`cost_matrix`).
    elevation_m
        As :func:`k_nearest_table`: with a slope-aware profile the off-road and direct legs
        are walked on their grade; only minutes change, metres never do.

    Returns
    -------
    pandas.DataFrame
        :data:`COST_TABLE_COLUMNS`, one row per pair with ``cost <= max_cost`` (sites in
        input order, then types in type order, then cost, then facility input order):
        ``site_id``, ``facility_id``, ``facility_type``, ``cost`` (the unit of ``weight``),
        ``dist_m`` and ``time_min`` (the pair's least road distance and least travel time,
        each by its own weight, off-road legs included; one of them equals ``cost``).
        Pairs absent are unreachable or beyond the cutoff.  Directly usable as the
        ``cost`` argument of :func:`analysis.capacity.two_step_fca_table` with the same
        ``max_cost``.

    Raises
    ------
    InputError
        The problems of :func:`k_nearest_table`'s inputs, a negative or NaN ``max_cost``
        or a ``chunk`` below 1, all at once; then an unknown facility type.
    """
    pc = ProblemCollector()
    _check_access_inputs(graph, sites, facilities, profile, pc)
    _check_weight(weight, pc)
    _check_elevation(elevation_m, pc)
    # Typed: mypy 1.10 joins the two checkers to an uncallable ``function``.
    checks: tuple[tuple[Callable[[object], object], object], ...] = (
        (_check_max_cost, max_cost), (_check_chunk, chunk))
    for check, value in checks:
        try:
            check(value)
        except InputError as exc:
            pc.extend(exc.problems)
    pc.raise_if_any()
    max_cost = float(max_cost)
    other: Weight = "length" if weight == "time" else "time"
    show_bar = get_settings().progress if progress is None else bool(progress)
    reg = _region(graph, sites, facilities, facility_types, max_snap_dist_m, profile,
                  elevation_m)

    cols: dict[str, list[NDArray[np.generic]]] = {c: [] for c in ("s", "t", "f", "c", "o")}
    for t, ftype in enumerate(tqdm(reg.types, desc="cost table", unit="type",
                                   disable=not show_bar)):
        idx = np.flatnonzero(reg.fac_type == ftype)
        if len(idx) == 0:
            continue
        pts = _type_points(graph, reg, idx, weight)
        pairs = cost_matrix(
            graph, site_edge=pts.s_edge, site_fraction=pts.s_frac, site_snap_m=pts.s_snap,
            fac_edge=pts.f_edge, fac_fraction=pts.f_frac, fac_snap_m=pts.f_snap,
            weight=weight, max_cost=max_cost, chunk=chunk,
            direct=(pts.d_site, pts.d_fac, pts.d_m, pts.d_cost),
            site_leg=pts.s_leg, fac_leg=pts.f_leg,
        )
        pts_o = _type_points(graph, reg, idx, other)
        oc = _pair_costs(graph, pts_o, pairs.site, pairs.fac,
                         _other_bound(graph, pts, pts_o, pairs.site, pairs.fac, pairs.cost),
                         chunk=chunk)
        cols["s"].append(pairs.site)
        cols["t"].append(np.full(len(pairs), t, dtype=np.int64))
        cols["f"].append(idx[pairs.fac])
        cols["c"].append(pairs.cost)
        cols["o"].append(oc)
    if cols["s"]:
        s, t_, f, c, o = (np.concatenate(cols[key]) for key in ("s", "t", "f", "c", "o"))
    else:
        s = t_ = f = np.empty(0, dtype=np.int64)
        c = o = np.empty(0)
    order = np.lexsort((f, c, t_, s))
    s, t_, f, c, o = s[order], t_[order], f[order], c[order], o[order]
    o = np.where(np.isfinite(o), o, np.nan)
    dist_m, time_min = (o, c) if weight == "time" else (c, o)
    return pd.DataFrame(
        {
            "site_id": pd.Series(reg.site_ids[s], dtype=str),
            "facility_id": pd.Series(reg.fac_ids[f], dtype=str),
            "facility_type": pd.Series(np.asarray(reg.types, dtype=object)[t_]
                                       if len(t_) else [], dtype=str),
            "cost": np.asarray(c, dtype=np.float64),
            "dist_m": np.asarray(dist_m, dtype=np.float64),
            "time_min": np.asarray(time_min, dtype=np.float64),
        },
        columns=list(COST_TABLE_COLUMNS),
    )
