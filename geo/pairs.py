"""The inputs of the site × facility pair core (:mod:`geo.paircosts`): points joined to the
graph for one weight, their off-road legs and the direct legs, all checked.

* :func:`prepare_points` — validates the snapped positions, off-road distances, leg costs
  and direct legs of the sites and facilities and joins both sides to the graph for one
  weight (:func:`geo.network.attachments`), as a :class:`PairPoints`;
* :func:`find_direct_legs` — the site → facility pairs that may be walked straight (the
  *direct leg* rule of :mod:`geo.network`);
* :func:`check_max_cost`, :func:`check_chunk`, :func:`check_k` — the scalar options of the
  core and of the :mod:`geo.matrix` tables.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.spatial import cKDTree

from anzhi.core.errors import InputError
from geo.geodesy import great_circle_m
from geo.network import attachments, leg_per_m, positions, refuse_bad, to_metric
from geo.roads import RoadGraph, Weight

__all__ = [
    "Direct",
    "K_MAX",
    "PairPoints",
    "PairSide",
    "check_chunk",
    "check_k",
    "check_max_cost",
    "find_direct_legs",
    "prepare_points",
]

#: Largest ``k`` of :func:`geo.paircosts.k_nearest` and :func:`geo.matrix.k_nearest_table`.
K_MAX = 5

#: What ``direct`` holds: the pairs that may be walked straight, optionally with their costs.
Direct = (tuple[ArrayLike, ArrayLike, ArrayLike]
          | tuple[ArrayLike, ArrayLike, ArrayLike, ArrayLike])


@dataclass(frozen=True, eq=False)
class PairSide:
    """One side of the pairs (the sites, or the facilities) joined to the graph for a weight."""

    edge: NDArray[np.int64]
    """Physical edge of each point, ``-1`` = not on the network."""
    fraction: NDArray[np.float64]
    """Position along ``edge`` from ``pedge_u`` (0) to ``pedge_v`` (1)."""
    snap_m: NDArray[np.float64]
    """Off-road distance of each point to its road, great-circle metres."""
    leg: NDArray[np.float64]
    """Off-road leg of each point, in the unit of the weight."""
    ok: NDArray[np.bool_]
    """Whether each point is on the network: a position, a finite snap distance and leg."""
    att: NDArray[np.int64]
    """``(k, 2)`` graph nodes each point joins the network at, ``-1`` = none."""
    att_cost: NDArray[np.float64]
    """``(k, 2)`` cost along the edge between ``att`` and the point, from the point for the
    sites and to it for the facilities (``inf`` = none)."""

    def __len__(self) -> int:
        return len(self.edge)


@dataclass(frozen=True, eq=False)
class PairPoints:
    """Validated positions of the sites and facilities for one weight, with the direct legs."""

    weight: Weight
    """Routing weight of the costs (metres or minutes)."""
    site: PairSide
    """The sites (leaving along their edge)."""
    fac: PairSide
    """The facilities (reached along their edge)."""
    d_site: NDArray[np.int64]
    """Site index of each direct leg."""
    d_fac: NDArray[np.int64]
    """Facility index of each direct leg."""
    d_m: NDArray[np.float64]
    """Great-circle metres of each direct leg."""
    d_cost: NDArray[np.float64]
    """Cost of each direct leg, in the unit of the weight."""


def check_max_cost(max_cost: object, label: str = "max_cost") -> float:
    """A cutoff: a number ``>= 0`` (``inf`` = none), as ``float``."""
    if isinstance(max_cost, bool) or not isinstance(max_cost, numbers.Real) or not (
        float(max_cost) >= 0
    ):
        raise InputError(
            f"{label} must be a number >= 0 (metres for weight='length', minutes for "
            f"'time'; inf = no cutoff), got {max_cost!r}"
        )
    return float(max_cost)


def check_chunk(chunk: object) -> int:
    """Dijkstra sources per run: a whole number ``>= 1``."""
    if isinstance(chunk, bool) or not isinstance(chunk, numbers.Integral) or int(chunk) < 1:
        raise InputError(f"chunk must be a whole number of Dijkstra sources >= 1, got {chunk!r}")
    return int(chunk)


def check_k(k: object) -> int:
    """Facilities per site: a whole number from 1 to :data:`K_MAX`."""
    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or not 1 <= int(k) <= K_MAX:
        raise InputError(
            f"k must be a whole number from 1 to {K_MAX} (nearest facilities per site and "
            f"type), got {k!r}"
        )
    return int(k)


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
            f"geo.network.offroad_legs for weight='time'"
        )
    refuse_bad(arr < 0, lambda n, i: (
        f"{label} holds {n} negative off-road leg cost(s) (first at position {i}: "
        f"{float(arr[i])!r}); a leg costs >= 0 in the unit of weight (NaN = the {who} is not "
        f"on the network)"))
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
    refuse_bad(bad, lambda n, i: (
        f"{n} direct leg(s) name no site/facility or have no finite distance >= 0 (first: "
        f"site {int(d_site[i])}, facility {int(d_fac[i])}, {float(d_m[i])!r} m); use "
        f"find_direct_legs"))
    if len(direct) == 3:
        return d_site, d_fac, d_m, d_m * per_m
    d_cost = np.atleast_1d(np.asarray(direct[3], dtype=np.float64))
    if len(d_cost) != len(d_m):
        raise InputError(
            f"direct leg costs (the 4th array of direct) need one value per direct leg "
            f"({len(d_m)}), got {len(d_cost)}"
        )
    refuse_bad(~np.isfinite(d_cost) | (d_cost < 0), lambda n, i: (
        f"{n} direct leg cost(s) are not finite numbers >= 0 (first: site {int(d_site[i])}, "
        f"facility {int(d_fac[i])}, {float(d_cost[i])!r}); give the cost of each straight walk "
        f"in the unit of weight, e.g. OffroadLegs.direct_min for weight='time'"))
    return d_site, d_fac, d_m, d_cost


def _join_side(
    graph: RoadGraph, edge: NDArray[np.int64], fraction: NDArray[np.float64],
    snap_m: NDArray[np.float64], leg: NDArray[np.float64], *, weight: Weight, leaving: bool,
) -> PairSide:
    """One side joined to the graph: a point is on the network with a position, a finite
    snap distance and a finite leg; its (up to two) nodes and the costs along its edge."""
    ok = (edge >= 0) & np.isfinite(snap_m) & np.isfinite(leg)
    edge = np.where(ok, edge, -1).astype(np.int64)
    att, att_cost = attachments(graph, np.full(len(edge), -1, dtype=np.int64), edge, fraction,
                                weight=weight, leaving=leaving)
    return PairSide(edge=edge, fraction=fraction, snap_m=snap_m, leg=leg, ok=ok, att=att,
                    att_cost=att_cost)


def prepare_points(
    graph: RoadGraph, site_edge: ArrayLike, site_fraction: ArrayLike, site_snap_m: ArrayLike,
    fac_edge: ArrayLike, fac_fraction: ArrayLike, fac_snap_m: ArrayLike, weight: object,
    direct: Direct | None, *, site_leg: ArrayLike | None = None,
    fac_leg: ArrayLike | None = None,
) -> PairPoints:
    """Validate the core's inputs and join the points to the graph for ``weight``.

    The arguments are those of :func:`geo.paircosts.cost_matrix`.

    Raises
    ------
    InputError
        An unknown weight, positions not on the graph, mismatched lengths, negative
        off-road distances, bad leg costs or bad direct legs.
    """
    per_m = leg_per_m(graph, weight)
    s_snap = np.atleast_1d(np.asarray(site_snap_m, dtype=np.float64))
    f_snap = np.atleast_1d(np.asarray(fac_snap_m, dtype=np.float64))
    n_s, n_f = len(s_snap), len(f_snap)
    s_edge, s_frac = positions(graph, np.full(n_s, -1, dtype=np.int64), site_edge,
                               site_fraction, "site")
    f_edge, f_frac = positions(graph, np.full(n_f, -1, dtype=np.int64), fac_edge,
                               fac_fraction, "fac")
    for label, snap in (("site_snap_m", s_snap), ("fac_snap_m", f_snap)):
        refuse_bad(snap < 0, lambda n, i: (
            f"{label} holds {n} negative off-road distance(s) (first at position {i}: "
            f"{float(snap[i])!r}); use snap_dist_m of snap_points"))
    s_leg = _check_legs(site_leg, s_snap, per_m, "site_leg", "site")
    f_leg = _check_legs(fac_leg, f_snap, per_m, "fac_leg", "fac")
    d_site, d_fac, d_m, d_cost = _check_direct(direct, n_s, n_f, per_m)
    return PairPoints(
        weight=weight,  # type: ignore[arg-type]
        site=_join_side(graph, s_edge, s_frac, s_snap, s_leg, weight=weight,  # type: ignore[arg-type]
                        leaving=True),
        fac=_join_side(graph, f_edge, f_frac, f_snap, f_leg, weight=weight,  # type: ignore[arg-type]
                       leaving=False),
        d_site=d_site, d_fac=d_fac, d_m=d_m, d_cost=d_cost,
    )


def find_direct_legs(
    graph: RoadGraph, site_lon: ArrayLike, site_lat: ArrayLike, fac_lon: ArrayLike,
    fac_lat: ArrayLike, *, site_walk_m: ArrayLike,
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
    s_xy = to_metric(graph.crs_metric, s_lon, s_lat)
    f_xy = to_metric(graph.crs_metric, f_lon, f_lat)
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
