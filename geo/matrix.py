"""Site × facility cost tables and the k nearest facilities by road: the geo adapters of the
pair core.

Array core and geo adapter (CONVENTIONS.md §3):

* :func:`cost_matrix` and :func:`k_nearest` (the array core, :mod:`geo.paircosts`) — every
  site → facility pair within a cutoff as a :class:`PairCosts`, and the ``k ≤ 5`` cheapest
  facilities of every site, exact; :func:`find_direct_legs` (:mod:`geo.pairs`) — the pairs
  that may be walked straight (the *direct leg* rule); all importable from here;
* :func:`k_nearest_table` and :func:`cost_table` — the geo adapters: they validate the
  site and facility GeoDataFrames like :func:`geo.routing.access_table`, snap the points
  once, call the core per facility type and return long DataFrames (docs/schemas.md,
  "k nearest facilities" and "cost table").  :func:`cost_table` feeds
  :func:`analysis.capacity.two_step_fca_table` directly.

How costs are counted
---------------------
Exactly as in :mod:`geo.routing` (read the module notes of :mod:`geo.network`): points are
snapped to the nearest point of the nearest physical edge; off-road legs are great-circle
metres walked at the profile's ``offroad_speed_kph``; a site leaves along its edge towards
either end the edge is open to, a facility is reached along its edge from either end that
leads to it; a site and a facility on one physical edge are also joined straight along it;
and a *direct leg* joins a site to any facility no farther (great-circle) than the site's
own road, or, for a site off the network, within ``get_settings().at_site_radius_m``.  The
cost of a pair is the least of these ways, so **the cost of a site to a facility here is
what** :func:`geo.routing.nearest_facility` **(plus** :func:`~geo.routing.access_table`'s
**direct leg) gives when that facility is the only one**.  Costs are metres
(``weight="length"``) or minutes (``weight="time"``).

**Slope-aware legs.**  Given ``elevation_m`` (a DEM sampler) and a slope-aware profile
(``walk``), the adapters walk the off-road legs — site → road, road → facility and the
direct leg — on their grade with Tobler's hiking function, exactly as
:func:`~geo.routing.access_table` with the same ``elevation_m`` (one helper,
:func:`geo.network.offroad_legs`, computes them for both): only minutes change, metres
never do.  Road times are the graph's (slope-aware when it was built with
:func:`geo.tobler.with_slope_times`).  The second cost column of the tables (``time_min``
when ranking by length, ``dist_m`` when ranking by time) is the exact least cost of the
same pair in the other weight (:func:`geo.paircosts.pair_costs`, bounded by
:func:`geo.paircosts.other_bound`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from numpy.typing import NDArray
from tqdm import tqdm

from anzhi.core.errors import InputError, ProblemCollector
from anzhi.core.settings import get_settings
from geo.inputs import check_access_inputs, check_elevation, select_types, snap_layers
from geo.network import OffroadLegs, SnapResult, offroad_legs, to_metric
from geo.paircosts import PairCosts, cost_matrix, k_nearest, other_bound, pair_costs
from geo.pairs import (
    K_MAX,
    Direct,
    PairPoints,
    check_chunk,
    check_k,
    check_max_cost,
    find_direct_legs,
    prepare_points,
)
from geo.roads import Profile, RoadGraph, Weight
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

#: Columns of :func:`k_nearest_table` in order (docs/schemas.md).
K_NEAREST_COLUMNS: tuple[str, ...] = (
    "site_id", "facility_type", "rank", "facility_id", "dist_m", "time_min", "reason",
)

#: Columns of :func:`cost_table` in order (docs/schemas.md).
COST_TABLE_COLUMNS: tuple[str, ...] = (
    "site_id", "facility_id", "facility_type", "cost", "dist_m", "time_min",
)


@dataclass(frozen=True, eq=False)
class _Region:
    """Sites and facilities snapped once, with their direct legs."""

    site_ids: NDArray[np.object_]
    """``site_id`` of each site (``str``)."""
    fac_ids: NDArray[np.object_]
    """``facility_id`` of each facility (``str``)."""
    fac_type: NDArray[np.object_]
    """``facility_type`` of each facility (``str``)."""
    types: list[str]
    """The facility types to report, in order."""
    s_snap: SnapResult
    """Where the sites join the road."""
    f_snap: SnapResult
    """Where the facilities join the road."""
    d_site: NDArray[np.int64]
    """Site index of each direct leg."""
    d_fac: NDArray[np.int64]
    """Facility index of each direct leg."""
    d_m: NDArray[np.float64]
    """Great-circle metres of each direct leg."""
    legs: OffroadLegs | None = None
    """Off-road legs walked on their grade (``None``: flat, at ``offroad_speed_kph``)."""
    d_min: NDArray[np.float64] | None = None
    """Minutes of each direct leg on its grade (with ``legs``)."""


def _check_weight(weight: object, pc: ProblemCollector) -> None:
    """``weight`` must be ``"length"`` or ``"time"`` (problem collected in ``pc``)."""
    if weight not in ("length", "time"):
        pc.add("weight must be 'length' (metres) or 'time' (minutes)", value=weight,
               fix="give weight='time' or weight='length'")


def _region(
    graph: RoadGraph, sites: gpd.GeoDataFrame, facilities: gpd.GeoDataFrame,
    facility_types: Sequence[str] | None, max_snap_dist_m: float | None, profile: Profile,
    elevation_m: ElevationFn | None,
) -> _Region:
    """Snap the sites and facilities once and find their direct legs (and sloped legs)."""
    fac_type = facilities["facility_type"].astype(str).to_numpy(dtype=object)
    types = select_types(fac_type, facility_types)
    limit = get_settings().max_snap_dist_m if max_snap_dist_m is None else float(max_snap_dist_m)
    s_lon, s_lat, s_snap, f_lon, f_lat, f_snap = snap_layers(graph, sites, facilities, limit)
    walk = np.where(s_snap.node >= 0, s_snap.snap_dist_m, get_settings().at_site_radius_m)
    d_site, d_fac, d_m = find_direct_legs(graph, s_lon, s_lat, f_lon, f_lat, site_walk_m=walk)
    legs: OffroadLegs | None = None
    d_min: NDArray[np.float64] | None = None
    if elevation_m is not None and profile.slope_aware:
        # the same legs as access_table: one elevation lookup of every point and snapped point
        s_xy = to_metric(graph.crs_metric, s_lon, s_lat) if len(s_lon) else np.empty((0, 2))
        f_xy = to_metric(graph.crs_metric, f_lon, f_lat) if len(f_lon) else np.empty((0, 2))
        legs = offroad_legs(graph, profile, s_xy, s_snap, f_xy, f_snap, elevation_m)
        d_min = np.atleast_1d(np.asarray(legs.direct_min(d_m, d_site, d_fac), dtype=np.float64))
    return _Region(
        site_ids=sites["site_id"].astype(str).to_numpy(dtype=object),
        fac_ids=facilities["facility_id"].astype(str).to_numpy(dtype=object),
        fac_type=fac_type, types=types, s_snap=s_snap, f_snap=f_snap,
        d_site=d_site, d_fac=d_fac, d_m=d_m, legs=legs, d_min=d_min,
    )


def _type_points(
    graph: RoadGraph, reg: _Region, idx: NDArray[np.int64], weight: Weight
) -> PairPoints:
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
    return prepare_points(
        graph, s.edge, s.fraction, s.snap_dist_m,
        f.edge[idx], f.fraction[idx], f.snap_dist_m[idx],
        weight, direct, site_leg=site_leg, fac_leg=fac_leg,
    )


def _unrouted_reason(reg: _Region, idx: NDArray[np.int64]) -> NDArray[np.object_]:
    """:func:`geo.routing.access_table`'s reason for a site with no route to any facility of ``idx``."""
    if len(idx) == 0:
        return np.full(len(reg.site_ids), "no_facility", dtype=object)
    on_net = (reg.f_snap.node[idx] >= 0).any()
    return np.where(reg.s_snap.node < 0, "no_road_nearby",
                    "isolated_network" if on_net else "no_facility").astype(object)


#: The columns of :func:`_k_rows`, empty (a table without types).
_K_ROWS_EMPTY: dict[str, NDArray[Any]] = {
    "site": np.empty(0, dtype=np.int64), "type": np.empty(0, dtype=np.int64),
    "rank": np.empty(0), "fac": np.empty(0, dtype=object), "cost": np.empty(0),
    "other": np.empty(0), "reason": np.empty(0, dtype=object),
}


def _core_args(pts: PairPoints) -> dict[str, Any]:
    """The array core's point arguments (positions, snap distances, legs, direct legs)."""
    return {"site_edge": pts.site.edge, "site_fraction": pts.site.fraction,
            "site_snap_m": pts.site.snap_m, "fac_edge": pts.fac.edge,
            "fac_fraction": pts.fac.fraction, "fac_snap_m": pts.fac.snap_m,
            "direct": (pts.d_site, pts.d_fac, pts.d_m, pts.d_cost),
            "site_leg": pts.site.leg, "fac_leg": pts.fac.leg}


def _k_rows(
    graph: RoadGraph, reg: _Region, idx: NDArray[np.int64], *, k: int, weight: Weight
) -> dict[str, NDArray[Any]]:
    """The rows of one facility type (facilities ``idx``) of :func:`k_nearest_table`.

    Site index, rank, facility id, the ranking weight's cost, the other weight's cost and
    the reason: the ranked rows of the sites reaching a facility, then one row per site
    reaching none.
    """
    other: Weight = "length" if weight == "time" else "time"
    n_s = len(reg.site_ids)
    fac = np.full((n_s, k), -1, dtype=np.int64)
    cost = np.full((n_s, k), np.inf)
    if len(idx):
        pts = _type_points(graph, reg, idx, weight)
        fac, cost = k_nearest(graph, k=k, weight=weight, **_core_args(pts))
    si, r = np.nonzero(fac >= 0)
    lf = fac[si, r]
    c = cost[si, r]
    oc = np.empty(0)
    if len(si):
        pts_o = _type_points(graph, reg, idx, other)
        oc = pair_costs(graph, pts_o, si, lf, other_bound(graph, pts, pts_o, si, lf, c),
                        chunk=64)
    none = np.flatnonzero(fac[:, 0] < 0)
    return {
        "site": np.concatenate([si, none]),
        "rank": np.concatenate([(r + 1).astype(np.float64), np.full(len(none), np.nan)]),
        "fac": np.concatenate([reg.fac_ids[idx[lf]] if len(si) else np.empty(0, dtype=object),
                               np.full(len(none), "", dtype=object)]),
        "cost": np.concatenate([c, np.full(len(none), np.nan)]),
        "other": np.concatenate([oc, np.full(len(none), np.nan)]),
        "reason": np.concatenate([np.full(len(si), "", dtype=object),
                                  _unrouted_reason(reg, idx)[none]]),
    }


def k_nearest_table(
    graph: RoadGraph, sites: gpd.GeoDataFrame, facilities: gpd.GeoDataFrame, *,
    profile: Profile, k: int = 3, weight: Weight = "time",
    facility_types: Sequence[str] | None = None, max_snap_dist_m: float | None = None,
    progress: bool | None = None, elevation_m: ElevationFn | None = None,
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
    facility_types, max_snap_dist_m, progress
        As :func:`geo.routing.access_table`: the types to report, in this order (default
        every type present, vocabulary order, then others sorted); the farthest a site or
        facility may be from the road (m, default ``get_settings().max_snap_dist_m``); a
        progress bar per facility type (default ``get_settings().progress``).
    elevation_m
        As :func:`geo.routing.access_table`: the ground elevation (m) at points given in
        ``graph.crs_metric`` (NaN where unknown), e.g.
        ``layers.raster.dem_elevation_sampler(dem, crs=graph.crs_metric)``; with a
        slope-aware profile the off-road legs (site → road, road → facility, and the direct
        leg) are walked on their grade (Tobler, :func:`geo.tobler.offroad_leg_min`), road
        times are the graph's (:func:`geo.tobler.with_slope_times`); ignored for other
        profiles.  Only minutes change (``time_min``, and the ranking by ``"time"``);
        metres never do.

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
    check_access_inputs(graph, sites, facilities, profile, pc)
    try:
        k = check_k(k)
    except InputError as exc:
        pc.extend(exc.problems)
    _check_weight(weight, pc)
    check_elevation(elevation_m, pc)
    pc.raise_if_any()
    show_bar = get_settings().progress if progress is None else bool(progress)
    reg = _region(graph, sites, facilities, facility_types, max_snap_dist_m, profile,
                  elevation_m)
    n_t = len(reg.types)

    parts: dict[str, list[NDArray[Any]]] = {key: [] for key in _K_ROWS_EMPTY}
    for t, ftype in enumerate(tqdm(reg.types, desc="k nearest", unit="type",
                                   disable=not show_bar)):
        rows = _k_rows(graph, reg, np.flatnonzero(reg.fac_type == ftype), k=k, weight=weight)
        rows["type"] = np.full(len(rows["site"]), t, dtype=np.int64)
        for key, part in rows.items():
            parts[key].append(part)
    col = {key: np.concatenate(parts[key]) if n_t else empty
           for key, empty in _K_ROWS_EMPTY.items()}
    site, typ, rank = col["site"], col["type"], col["rank"]
    order = np.lexsort((np.nan_to_num(rank, nan=0.0), typ, site))
    fac_col, reason = col["fac"][order], col["reason"][order]
    cost_w, cost_o = col["cost"][order], np.where(np.isfinite(col["other"]), col["other"],
                                                  np.nan)[order]
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
    graph: RoadGraph, sites: gpd.GeoDataFrame, facilities: gpd.GeoDataFrame, *,
    profile: Profile, max_cost: float, weight: Weight = "time",
    facility_types: Sequence[str] | None = None, max_snap_dist_m: float | None = None,
    progress: bool | None = None, chunk: int = 64, elevation_m: ElevationFn | None = None,
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
    check_access_inputs(graph, sites, facilities, profile, pc)
    _check_weight(weight, pc)
    check_elevation(elevation_m, pc)
    # Typed: mypy 1.10 joins the two checkers to an uncallable ``function``.
    checks: tuple[tuple[Callable[[object], object], object], ...] = (
        (check_max_cost, max_cost), (check_chunk, chunk))
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
        pairs = cost_matrix(graph, weight=weight, max_cost=max_cost, chunk=chunk,
                            **_core_args(pts))
        pts_o = _type_points(graph, reg, idx, other)
        oc = pair_costs(graph, pts_o, pairs.site, pairs.fac,
                         other_bound(graph, pts, pts_o, pairs.site, pairs.fac, pairs.cost),
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
