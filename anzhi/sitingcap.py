"""Capacity in siting runs (issue 14): demand, the existing facilities' capacity and the size
of each new facility, as ``anzhi gaps`` judges them.

``anzhi gaps`` marks a served site ``gap_capacity`` when the facility group serving it (the
facilities at a site form one group, a shared facility elsewhere is its own group) has less
capacity than the demand of all the sites it serves (:mod:`analysis.capacity`).  A siting
run of a type whose rules carry a capacity norm therefore

1. takes the norm (:func:`capacity_norm`: the strictest of the type's rules) and each site's
   demand under it (:func:`analysis.capacity.site_demand`: residents, or children aged 3–5);
2. gives the core (:class:`analysis.siting.problem.SitingType`) the existing groups of known
   capacity as facilities of limited capacity, each site paired only with the group that
   serves it now (``anzhi gaps`` assigns a site to its nearest facility, never elsewhere),
   and new facilities sized to the demand they serve (:func:`core_fields`);
3. reads the answer back as ``anzhi gaps`` will see it (:func:`size_new`): each site goes to
   a new facility at the site or nearer than its present one, the new facilities join the
   group of the site they stand at, and each new facility gets the capacity units (places,
   officers) that its group's demand needs beyond the existing capacity, at least one — so
   that ``anzhi gaps --facilities facilities_after.csv`` finds the group big enough.

Sites served by a group of unknown capacity (blank ``capacity``) get no verdict, as in
``anzhi gaps``, and count as covered.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from analysis.capacity import site_demand
from analysis.rules import Capacity, Rule
from geo.paircosts import PairCosts

__all__ = ["CapacityInputs", "NewSizes", "capacity_inputs", "capacity_norm", "core_fields",
           "coverage_table", "facility_groups", "nearest_chosen", "pair_mask", "rule_limits", "size_new",
           "stuck_note"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]
ObjArray = NDArray[np.object_]

#: Relative margin kept inside a radius (as :mod:`anzhi.siting` does for every limit).
_TOL = 1e-6


@dataclass(frozen=True, eq=False)
class CapacityInputs:
    """One facility type's capacity state before siting.

    Attributes
    ----------
    rule_id, norm
        The rule whose capacity norm is modelled, and the norm.
    radius_m
        That rule's at-site radius (metres): a facility this close to a site belongs to the
        site's group.
    demand
        Per site: demand under the norm (children, residents); 0 where the rule does not
        apply or the population is missing.
    group
        Per site: the group serving it now (``site:<id>`` / ``fac:<id>``), ``""`` for none.
    group_units
        Capacity units (places, officers) of every existing group; NaN = unknown.
    at_site
        Per site: the facility serving it now is at the site (a new one by road does not
        take it over).
    cand_group
        Per kept candidate (matrix column): the group a new facility there joins
        (``site:<id>`` when within ``radius_m`` of a site, the nearest one; else ``""``:
        its own group).
    site_key
        Per site: ``site:<id>``, the name of the group of the facilities at it.
    size_demand
        Per site: demand under the norm wherever a rule of the type applies (a site below the
        norm's rule still has children): what a new facility is sized for.
    """

    rule_id: str
    norm: Capacity
    radius_m: float
    demand: FloatArray
    group: ObjArray
    group_units: pd.Series
    at_site: BoolArray
    cand_group: ObjArray
    site_key: ObjArray
    size_demand: FloatArray

    @property
    def per_unit(self) -> float:
        """Demand one capacity unit may serve."""
        return float(self.norm.max_per_unit)

    def group_demand_cap(self) -> FloatArray:
        """Per site: the capacity (demand units) of the group serving it now (NaN unknown)."""
        units = pd.Series(self.group).map(self.group_units).to_numpy(dtype=float)
        return units * self.per_unit


def rule_limits(rule: Rule, default_radius: float) -> tuple[float, float, float, bool]:
    """``(radius_m, max_dist_m, max_time_min, has_reach)`` of a rule (inf = no limit)."""
    at = rule.satisfied_by.at_site
    radius = at.radius_m if at is not None and at.radius_m is not None else default_radius
    wr = rule.satisfied_by.within_reach
    d = wr.max_dist_m if wr is not None and wr.max_dist_m is not None else math.inf
    t = wr.max_time_min if wr is not None and wr.max_time_min is not None else math.inf
    return float(radius), float(d), float(t), wr is not None


def capacity_norm(rules: Iterable[Rule], facility_type: str) -> Rule | None:
    """The rule of ``facility_type`` whose capacity norm is modelled: the one serving the
    least demand per unit (``police-ratio``'s 5,000 residents per officer before
    ``police-3000``'s one officer whatever the residents); ``None`` when no rule has one."""
    mine = [r for r in rules if r.facility_type == facility_type and r.capacity is not None]
    if not mine:
        return None
    return min(mine, key=lambda r: float(r.capacity.max_per_unit))  # type: ignore[union-attr]


def facility_groups(fac: pd.DataFrame, facility_type: str, site_ids: ObjArray,
                    site_xy: FloatArray, fac_xy: FloatArray, *, radius_m: float
                    ) -> tuple[pd.Series, pd.Series]:
    """Facility id → capacity group, and each group's capacity units (NaN if any is unknown),
    as ``anzhi gaps`` forms them.

    Parameters
    ----------
    fac
        The facilities (``facility_id``, ``facility_type``, optional ``capacity`` and
        ``site_id``), aligned with ``fac_xy``.
    site_ids, site_xy, fac_xy
        Site ids, and site and facility positions in metres (one local projected CRS).
    radius_m
        A facility of no known site within this distance (straight) of a site is at it.
    """
    sel = fac["facility_type"].astype(str).to_numpy() == facility_type
    ids = fac["facility_id"].astype(str).to_numpy(dtype=object)[sel]
    cap = (pd.to_numeric(fac["capacity"], errors="coerce").to_numpy(dtype=float)[sel]
           if "capacity" in fac.columns else np.full(len(ids), np.nan))
    groups = np.array(["fac:" + i for i in ids], dtype=object)
    f_site = (fac["site_id"].fillna("").astype(str).to_numpy(dtype=object)[sel]
              if "site_id" in fac.columns else np.full(len(ids), "", dtype=object))
    known = np.isin(f_site, site_ids) & (f_site != "")
    groups[known] = np.array(["site:" + s for s in f_site[known]], dtype=object)
    xy = fac_xy[sel]
    todo = ~known & np.isfinite(xy).all(axis=1)
    s_ok = np.isfinite(site_xy).all(axis=1)
    if todo.any() and s_ok.any():
        d, idx = cKDTree(site_xy[s_ok]).query(xy[todo], k=1)
        near = d <= radius_m
        groups[np.flatnonzero(todo)[near]] = np.array(
            ["site:" + s for s in site_ids[s_ok][idx[near]]], dtype=object)
    frame = pd.DataFrame({"g": groups, "cap": cap})
    g_cap = frame.groupby("g", sort=False)["cap"].agg(lambda c: c.sum() if c.notna().all()
                                                      else np.nan)
    by_id = pd.Series(groups, index=pd.Index(ids, dtype=object))
    return by_id[~by_id.index.duplicated()], g_cap.astype(float)


def capacity_inputs(rule: Rule, *, sites: pd.DataFrame, site_xy: FloatArray,
                    facilities: pd.DataFrame, fac_xy: FloatArray, rows: pd.DataFrame,
                    cand_xy: FloatArray, radius_m: float) -> CapacityInputs:
    """The capacity state of ``rule``'s type before siting.

    ``rows`` are the type's gap rows with ``s`` (site position); ``cand_xy`` the kept
    candidates' positions (metres, the CRS of ``site_xy`` and ``fac_xy``).
    """
    norm = rule.capacity
    if norm is None:
        raise ValueError(f"rule {rule.id!r} has no capacity norm (choose it with capacity_norm)")
    n = len(site_xy)
    site_ids = sites["site_id"].astype(str).to_numpy(dtype=object)
    by_id, g_units = facility_groups(facilities, rule.facility_type, site_ids, site_xy, fac_xy,
                                     radius_m=radius_m)
    mine = rows[rows["rule_id"] == rule.id]
    s = mine["s"].to_numpy(dtype=np.int64)
    full = np.nan_to_num(site_demand(sites, norm), nan=0.0)
    demand, size_demand = np.zeros(n), np.zeros(n)
    demand[s] = full[s]
    every = rows["s"].to_numpy(dtype=np.int64)
    size_demand[every] = full[every]
    served = mine["status"].isin(["ok", "ok_shared", "gap_capacity"]).to_numpy()
    fid = mine["nearest_facility_id"].fillna("").astype(str).to_numpy(dtype=object)
    group = np.full(n, "", dtype=object)
    group[s[served]] = by_id.reindex(pd.Index(fid[served], dtype=object)).fillna("").to_numpy()
    at_site = np.zeros(n, dtype=bool)
    dist = pd.to_numeric(mine["dist_m"], errors="coerce").to_numpy(dtype=float)
    at_site[s[served]] = (group[s[served]] == "site:" + site_ids[s[served]]) | \
        (dist[served] <= radius_m)
    cand_group = np.full(len(cand_xy), "", dtype=object)
    if len(cand_xy) and n:
        d, idx = cKDTree(site_xy).query(cand_xy, k=1)
        near = d <= radius_m * (1 - _TOL)
        cand_group[near] = np.array(["site:" + x for x in site_ids[idx[near]]], dtype=object)
    return CapacityInputs(rule.id, norm, float(radius_m), demand, group, g_units,
                          at_site, cand_group, np.char.add("site:", site_ids.astype(str))
                          .astype(object), size_demand)


def pair_mask(cap: CapacityInputs, site: IntArray, col: IntArray, cost: FloatArray,
              cost0: FloatArray, reach_met: BoolArray) -> BoolArray:
    """Which site × candidate pairs a new facility would really take over.

    A site whose rules are met by reach (perhaps over capacity) moves to a new facility only
    when ``anzhi gaps`` would then pick it: one at the site, or one nearer (``cost`` below
    the site's ``cost0``) when the present facility is not at the site.  Sites with a rule
    unmet keep every pair.
    """
    here = cap.cand_group[col] == cap.site_key[site]
    nearer = ~cap.at_site[site] & (cost < cost0[site])
    return np.asarray(~reach_met[site] | here | nearer, dtype=bool)


def core_fields(cap: CapacityInputs, *, covered: BoolArray, reach_met: BoolArray,
                cost0: FloatArray, has_pair: BoolArray, reach: float, n_cols: int,
                weight: str) -> dict[str, Any]:
    """The capacity fields of :class:`analysis.siting.problem.SitingType`.

    Every site whose rules are met by reach and whose group's capacity is known is paired
    with that group alone (``existing_cost_min``, ``existing_capacity`` = units × demand per
    unit) and is demand, not ``covered``; a new facility may serve any demand (its size is
    set afterwards, :func:`size_new`).  Such a site that no candidate can take over
    (``has_pair`` false) stays with its group whatever is built: its demand is taken off the
    group's capacity and it is left out (``covered``), so that it never makes LSCP
    infeasible.
    """
    n = len(cap.demand)
    units = pd.Series(cap.group).map(cap.group_units).to_numpy(dtype=float)
    tied = reach_met & (cap.group != "") & np.isfinite(units)
    pinned = tied & has_pair
    stuck = pd.Series(cap.demand[tied & ~has_pair]).groupby(cap.group[tied & ~has_pair]).sum()
    names, col = np.unique(cap.group[pinned].astype(str), return_inverse=True)
    rows = np.flatnonzero(pinned)
    cost = np.minimum(np.where(np.isfinite(cost0[rows]), cost0[rows], reach), reach)
    existing = PairCosts(rows.astype(np.int64), col.astype(np.int64), cost.astype(float), n,
                         len(names), weight, reach)
    index = pd.Index(names, dtype=object)
    ecap = cap.group_units.reindex(index).to_numpy(dtype=float) * cap.per_unit \
        - stuck.reindex(index).fillna(0.0).to_numpy(dtype=float)
    total = float(cap.demand.sum())
    return {"capacity": np.full(n_cols, total + 1.0), "existing_cost_min": existing,
            "existing_capacity": np.maximum(ecap, 0.0), "demand": cap.demand,
            "covered": (covered & ~pinned) | (tied & ~has_pair)}


@dataclass(frozen=True, eq=False)
class NewSizes:
    """The answer read back as ``anzhi gaps`` will see it.

    Attributes
    ----------
    col
        Per site: the new facility (matrix column) serving it after siting, -1 for none.
    cap_ok
        Per site: the group serving it after siting is big enough (or of unknown capacity,
        or the site has no facility at all — a reach gap, not a capacity one).
    units
        Capacity units of each new facility (places, officers), by matrix column.
    demand
        Demand each new facility's group serves after siting, by matrix column.
    """

    col: IntArray
    cap_ok: BoolArray
    units: Mapping[int, float]
    demand: Mapping[int, float]


def size_new(cap: CapacityInputs, chosen: IntArray, best_col: IntArray, best_cost: FloatArray,
             cost0: FloatArray, reach_met: BoolArray) -> NewSizes:
    """Who serves each site after siting, and how big each new facility must be.

    A site served at the site now stays with its group (which a new facility at the site
    joins); else it moves to a new facility at the site, or to the nearest new one within its
    rules when that is nearer than its present facility (or it has none that meets them).
    A new facility joins the group of the site it stands at; each group with new facilities
    gets the units its demand needs beyond the existing units (``size_demand``: sites below
    the norm's own rule counted too), at least one per new facility.
    """
    n = len(cap.demand)
    chosen = np.asarray(chosen, dtype=np.int64)
    new_group = np.array([cap.cand_group[j] or f"new:{j}" for j in chosen], dtype=object)
    first_at = {g: int(j) for g, j in zip(new_group[::-1], chosen[::-1], strict=True)}
    group = cap.group.copy()
    col = np.full(n, -1, dtype=np.int64)
    stay = cap.at_site & (group != "")
    here = ~stay & np.isin(cap.site_key, new_group)
    group[here] = cap.site_key[here]
    moves = ~stay & ~here & (best_col >= 0) & (~reach_met | (best_cost < cost0))
    group[moves] = np.array([cap.cand_group[j] or f"new:{j}" for j in best_col[moves]],
                            dtype=object)
    col[moves] = best_col[moves]
    has_new = np.isin(group, new_group)
    col[~moves & has_new] = [first_at[g] for g in group[~moves & has_new]]
    load = pd.Series(cap.demand).groupby(group).sum()
    size = pd.Series(np.maximum(cap.size_demand, cap.demand)).groupby(group).sum()
    pu = cap.per_unit
    units: dict[int, float] = {}
    served: dict[int, float] = {}
    for g in dict.fromkeys(new_group.tolist()):
        mine = chosen[new_group == g]
        have = float(cap.group_units.get(g, 0.0))
        have = 0.0 if not math.isfinite(have) else have
        short = math.ceil(float(size.get(g, 0.0)) / pu - have - 1e-9)
        each = max(1, math.ceil(max(short, 0) / len(mine)))
        for j in mine:
            units[int(j)], served[int(j)] = float(each), float(size.get(g, 0.0))
    g_units = pd.Series(group).map(cap.group_units).to_numpy(dtype=float)
    g_load = pd.Series(group).map(load).to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        cap_ok = (group == "") | has_new | ~np.isfinite(g_units) | \
            (g_load <= g_units * pu * (1 + 1e-9))
    return NewSizes(col, np.asarray(cap_ok, dtype=bool), units, served)


def nearest_chosen(site: IntArray, cand: IntArray, cost: FloatArray, required: BoolArray,
                   chosen: IntArray, n_cols: int) -> tuple[IntArray, FloatArray]:
    """Per site: the chosen column nearest to it among its pairs (``site``, ``cand``,
    ``cost``; -1: none, ties to the lowest column), and that cost (``inf``: none)."""
    is_chosen = np.zeros(n_cols, dtype=bool)
    is_chosen[chosen] = True
    sel = np.flatnonzero(is_chosen[cand] & required[site])
    n = len(required)
    best_col = np.full(n, -1, dtype=np.int64)
    best_cost = np.full(n, np.inf)
    if len(sel):
        order = sel[np.lexsort((cand[sel], cost[sel], site[sel]))]
        first = np.ones(len(order), dtype=bool)
        first[1:] = site[order][1:] != site[order][:-1]
        top = order[first]
        best_col[site[top]] = cand[top]
        best_cost[site[top]] = cost[top]
    return best_col, best_cost


def coverage_table(status: pd.DataFrame, recommended: pd.DataFrame) -> pd.DataFrame:
    """The coverage table of a run: before/after per facility type (``level`` ``all``) and
    per township, from ``site_status`` and the recommended facilities."""
    rows = []
    for (ftype, level, town), g in pd.concat(
            [status.assign(level="all", key=""), status.assign(level="township",
                                                               key=status["township"])]
    ).groupby(["facility_type", "level", "key"], sort=False):
        pop = g["population"].to_numpy(dtype=float)
        before, after = g["covered_before"].to_numpy(bool), g["covered_after"].to_numpy(bool)
        total = float(pop.sum())
        rows.append({
            "facility_type": ftype, "level": level, "township": town,
            "sites_required": len(g), "sites_covered_before": int(before.sum()),
            "sites_covered_after": int(after.sum()), "pop_required": total,
            "pop_covered_before": float(pop[before].sum()),
            "pop_covered_after": float(pop[after].sum()),
            "share_pop_before": float(pop[before].sum()) / total if total else np.nan,
            "share_pop_after": float(pop[after].sum()) / total if total else np.nan,
            "new_facilities": int((recommended["facility_type"] == ftype).sum())
            if level == "all" else np.nan})
    return pd.DataFrame(rows, columns=[
        "facility_type", "level", "township", "sites_required", "sites_covered_before",
        "sites_covered_after", "pop_required", "pop_covered_before", "pop_covered_after",
        "share_pop_before", "share_pop_after", "new_facilities"])


def stuck_note(name: str, site_ids: ObjArray, over: BoolArray, site: IntArray) -> list[str]:
    """The note on sites over capacity (``over``) that no candidate can take over (no pair in
    ``site``): ``[]`` when there are none."""
    stuck = np.flatnonzero(over & (np.bincount(site, minlength=len(over)) == 0))
    if not len(stuck):
        return []
    shown = ", ".join(site_ids[stuck[:10]]) + (" …" if len(stuck) > 10 else "")
    return [f"type {name!r}: {len(stuck)} site(s) over capacity ({shown}) have no candidate at "
            "the site or nearer than the facility serving them — enlarge that facility, or "
            "add candidates there (--candidates)"]
