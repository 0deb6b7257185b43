"""Capacity: is a facility big enough for the people who depend on it?

Three measures, all pure array work:

* :func:`site_demand` — the demand a capacity norm counts at each site: residents, or
  children aged 3–5 (kindergarten places), taken from the site table's ``children_3_5``
  column where given and otherwise estimated as ``population * child_share``.
* :func:`capacity_check` — the check behind the ``gap_capacity`` status of
  :func:`analysis.gaps.evaluate`: every served site's demand is assigned to the facility
  group serving it (the facilities at a site form one group; a shared facility elsewhere is
  its own group) and a group is over capacity when ``demand > capacity * max_per_unit``
  (e.g. 1 officer per 5,000 residents, 保山民政 2021 三; 1 child per kindergarten place).
* :func:`two_step_fca` / :func:`two_step_fca_table` — the two-step floating catchment area
  (2SFCA) index of Luo & Wang (2003), defined exactly as PySAL ``access``
  (``access.fca.two_stage_fca`` without a weight function):

  1. for each facility *j*: ``R_j = S_j / Σ_{i: c_ij ≤ d0} D_i`` (supply over the demand of
     every site within the catchment ``d0``; a cost equal to ``d0`` is inside);
  2. for each site *i*: ``A_i = Σ_{j: c_ij ≤ d0} R_j``.

  ``A_i`` is capacity units per person (places per child, officers per resident).  Two
  documented differences from ``access``: a site with no facility within ``d0`` gets
  ``0.0`` (``access`` gives NaN), and a facility whose catchment holds no demand
  contributes nothing (``access`` would divide by zero).

The 2SFCA needs a site × facility cost matrix.  Until routing provides one, pass it in
yourself: a ``(n_sites, n_facilities)`` array of road distances (metres) or travel times
(minutes) with ``inf``/NaN for "unreachable", or for the table form a long DataFrame with
columns ``site_id``, ``facility_id``, ``cost`` (pairs absent = unreachable).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from anzhi.core.errors import InputError, Problem
from analysis.rules import Capacity

__all__ = [
    "CHILDREN_COLUMN",
    "site_demand",
    "capacity_check",
    "two_step_fca",
    "two_step_fca_table",
]

#: Optional site-table column with the number of children aged 3–5 at each site.
CHILDREN_COLUMN = "children_3_5"

FloatArray = NDArray[np.float64]


def site_demand(sites: pd.DataFrame, capacity: Capacity) -> FloatArray:
    """Demand (people) a capacity norm counts at each site.

    Parameters
    ----------
    sites
        Site table with ``population`` (people) and optionally ``children_3_5`` (children
        aged 3–5; NaN or absent = unknown).
    capacity
        The rule's capacity norm.

    Returns
    -------
    numpy.ndarray
        ``population`` for ``demand: population``; for ``demand: children_3_5`` the
        site's own count where given, else ``population * child_share``.  NaN where
        population is missing.
    """
    pop = pd.to_numeric(sites["population"], errors="coerce").to_numpy(dtype=float)
    if capacity.demand == "population":
        return pop
    share = capacity.child_share if capacity.child_share is not None else 0.0
    est = pop * float(share)
    if CHILDREN_COLUMN in sites.columns:
        own = pd.to_numeric(sites[CHILDREN_COLUMN], errors="coerce").to_numpy(dtype=float)
        return np.where(np.isfinite(own), own, est)
    return est


def capacity_check(
    groups: ArrayLike,
    demand: ArrayLike,
    group_capacity: pd.Series,
    *,
    max_per_unit: float,
) -> tuple[NDArray[np.bool_], FloatArray, FloatArray]:
    """Which served rows depend on a facility group that is over capacity.

    Parameters
    ----------
    groups
        Facility group serving each row (one row per served site); "" = none.
    demand
        Demand of each row's site (people or children, see :func:`site_demand`).
    group_capacity
        Capacity of each group (officers, places), indexed by group; NaN = unknown
        (no verdict).
    max_per_unit
        Most demand one unit of capacity may serve (> 0).

    Returns
    -------
    over, group_demand, group_cap
        Per row: True when the group's total demand exceeds ``capacity * max_per_unit``;
        the group's total demand; the group's capacity (NaN when unknown).
    """
    if not max_per_unit > 0:
        raise InputError(Problem("max_per_unit must be > 0", value=max_per_unit,
                                 fix="e.g. 5000 residents per officer, 1 child per place"))
    g = pd.Series(np.asarray(groups, dtype=object))
    d = pd.Series(np.asarray(demand, dtype=float)).fillna(0.0)
    valid = g != ""
    totals = d[valid].groupby(g[valid], sort=False).sum()
    g_dem = g.map(totals).to_numpy(dtype=float)
    g_cap = g.map(group_capacity).to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        over = valid.to_numpy() & np.isfinite(g_cap) & (g_dem > g_cap * float(max_per_unit))
    return over, g_dem, g_cap


def two_step_fca(
    demand: ArrayLike,
    supply: ArrayLike,
    cost: ArrayLike,
    *,
    max_cost: float,
    weight_fn: Callable[[FloatArray], FloatArray] | None = None,
) -> FloatArray:
    """Two-step floating catchment area index of each site (array core).

    Parameters
    ----------
    demand
        ``(n,)`` demand at each site (people; NaN counts as 0).
    supply
        ``(m,)`` capacity of each facility (places, officers, beds; NaN counts as 0).
    cost
        ``(n, m)`` travel cost from site *i* to facility *j* in the unit of ``max_cost``
        (metres or minutes); ``inf`` or NaN = unreachable.
    max_cost
        Catchment size; a pair is inside when ``cost <= max_cost``.
    weight_fn
        Optional distance decay applied to the cost of each pair inside the catchment
        (vectorised: takes and returns an array), as ``access``'s ``weight_fn``.

    Returns
    -------
    numpy.ndarray
        ``(n,)`` index ``A_i`` in capacity units per unit of demand; 0 where no facility
        is within the catchment.
    """
    d = np.nan_to_num(np.asarray(demand, dtype=float), nan=0.0)
    s = np.nan_to_num(np.asarray(supply, dtype=float), nan=0.0)
    c = np.asarray(cost, dtype=float)
    if c.shape != (d.size, s.size):
        raise InputError(Problem(
            f"cost matrix has shape {c.shape}, expected (sites, facilities) = "
            f"({d.size}, {s.size})", fix="one row per site, one column per facility"))
    with np.errstate(invalid="ignore"):
        inside = np.isfinite(c) & (c <= max_cost)
    w = np.where(inside, 1.0, 0.0)
    if weight_fn is not None:
        w = np.where(inside, weight_fn(np.where(inside, c, 0.0)), 0.0)
    catch = d @ w  # demand in each facility's catchment
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(catch > 0, s / np.where(catch > 0, catch, 1.0), 0.0)
    return np.asarray(w @ ratio, dtype=float)


def two_step_fca_table(
    sites: pd.DataFrame,
    facilities: pd.DataFrame,
    cost: pd.DataFrame,
    *,
    max_cost: float,
    demand_col: str = "population",
    supply_col: str = "capacity",
) -> pd.DataFrame:
    """2SFCA index per site and facility type, from a long cost table.

    Parameters
    ----------
    sites
        ``site_id`` and ``demand_col`` (people per site).
    facilities
        ``facility_id``, ``facility_type`` and ``supply_col`` (capacity; NaN counts as 0).
    cost
        Long table ``site_id``, ``facility_id``, ``cost`` (metres or minutes, as
        ``max_cost``); a pair that is absent is unreachable.
    max_cost
        Catchment size (same unit as ``cost``).
    demand_col, supply_col
        Columns holding demand and supply.

    Returns
    -------
    pandas.DataFrame
        Columns ``site_id``, ``facility_type``, ``fca2`` (capacity per person), one row per
        site × facility type present in ``facilities``.
    """
    problems = []
    for name, df, cols in (("sites", sites, ("site_id", demand_col)),
                           ("facilities", facilities, ("facility_id", "facility_type",
                                                       supply_col)),
                           ("cost", cost, ("site_id", "facility_id", "cost"))):
        problems += [Problem(f"column {c!r} is missing", file=name, column=c)
                     for c in cols if c not in df.columns]
    if problems:
        raise InputError(problems)
    sid = sites["site_id"].astype(str).to_numpy(dtype=object)
    fid = facilities["facility_id"].astype(str).to_numpy(dtype=object)
    s_pos = pd.Index(sid).get_indexer(cost["site_id"].astype(str).to_numpy(dtype=object))
    f_pos = pd.Index(fid).get_indexer(cost["facility_id"].astype(str).to_numpy(dtype=object))
    known = (s_pos >= 0) & (f_pos >= 0)
    mat = np.full((len(sid), len(fid)), np.inf)
    mat[s_pos[known], f_pos[known]] = pd.to_numeric(cost["cost"], errors="coerce").to_numpy(
        dtype=float)[known]
    demand = pd.to_numeric(sites[demand_col], errors="coerce").to_numpy(dtype=float)
    supply = pd.to_numeric(facilities[supply_col], errors="coerce").to_numpy(dtype=float)
    ftype = facilities["facility_type"].astype(str).to_numpy(dtype=object)
    parts = []
    for t in dict.fromkeys(ftype.tolist()):
        sel = ftype == t
        a = two_step_fca(demand, supply[sel], mat[:, sel], max_cost=max_cost)
        parts.append(pd.DataFrame({"site_id": sid.astype(str), "facility_type": t, "fca2": a}))
    if not parts:
        return pd.DataFrame({"site_id": pd.Series(dtype=str),
                             "facility_type": pd.Series(dtype=str),
                             "fca2": pd.Series(dtype=float)})
    return pd.concat(parts, ignore_index=True)
