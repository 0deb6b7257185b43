"""Siting runs: LSCP, MCLP and p-median over one or several facility types, exact (HiGHS)
within a size limit and greedy beyond it, with the answer read back per type.

:func:`site_facilities` validates the types (:func:`analysis.siting.problem.check_types`),
pre-reduces each (:func:`analysis.siting.reduce.reduce_type`), solves the run as one
programme (:func:`analysis.siting.formulate.solve_exact`) or greedily
(:func:`analysis.siting.greedy.greedy`), and returns a :class:`SitingResult`: per type the
chosen candidates, the sites covered, the uncoverable sites, the type's objective; for the run
the objective, the dual bound, the optimality gap, the solver status, ``exact`` or ``greedy``
and the wall time.  :func:`lscp`, :func:`mclp` and :func:`p_median` are the same call with
the model fixed.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from anzhi.core.errors import InputError
from analysis.siting.dominance import dominate, parts
from analysis.siting.formulate import Block, Solution, model_size, solve_exact
from analysis.siting.greedy import Greedy, greedy
from analysis.siting.problem import CheckedType, SitingType, check_types
from analysis.siting.reduce import Reduced, reduce_type

__all__ = ["EXACT_LIMIT", "TypeResult", "SitingResult", "site_facilities", "lscp", "mclp",
           "p_median"]

#: Largest programme (constraint-matrix nonzeros) solved exactly; beyond it, greedy.
EXACT_LIMIT = 4_000_000

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True, eq=False)
class TypeResult:
    """One facility type's answer.

    Attributes
    ----------
    name
        The facility type.
    chosen
        Candidate indices (columns of ``cost_min``) to build, ascending.
    covered
        Per site: within reach of a new or existing facility (capacitated: its whole demand
        served); ``False`` for sites the rule does not require.
    served_share
        Per site: share of its demand served (0–1; uncapacitated 0 or 1); NaN where the rule
        does not require the site.
    time_min
        Per site (p-median): minutes to the facility serving it (capacitated: the
        demand-weighted mean over its facilities), ``inf`` = none; NaN for the other models
        and for sites not required.
    uncoverable
        Required sites that no candidate (nor existing facility) reaches within the reach:
        left out of the model, never silently.
    n_new
        ``len(chosen)``.
    covered_pop
        People at required sites served (share-weighted when capacitated).
    objective
        This type's part of the run's objective: ``n_new`` (LSCP), ``covered_pop`` (MCLP),
        people × minutes (p-median).
    """

    name: str
    chosen: IntArray
    covered: BoolArray
    served_share: FloatArray
    time_min: FloatArray
    uncoverable: IntArray
    n_new: int
    covered_pop: float
    objective: float


@dataclass(frozen=True, eq=False)
class SitingResult:
    """The answer of a siting run.

    Attributes
    ----------
    model
        ``lscp``, ``mclp`` or ``p_median``.
    types
        One :class:`TypeResult` per type, in input order (``result["kindergarten"]``).
    objective
        New facilities (LSCP), people covered (MCLP) or people × minutes (p-median), over all
        types; NaN when infeasible.
    bound
        The solver's proven bound on the objective (lower for LSCP and p-median, upper for
        MCLP); ``None`` for greedy answers.
    gap
        Relative optimality gap ``|objective − bound| / |objective|`` (``0.0`` = proven
        optimum); ``None`` when unknown (greedy).
    status
        ``optimal``, ``time_limit`` (best found within the time limit, see ``gap``),
        ``infeasible`` or ``greedy``.
    method
        ``exact`` (HiGHS) or ``greedy``.
    note
        What the planner must know: greedy and why, uncoverable sites, infeasibility.
    time_s
        Wall time of the run, seconds.
    """

    model: str
    types: tuple[TypeResult, ...]
    objective: float
    bound: float | None
    gap: float | None
    status: str
    method: str
    note: str
    time_s: float

    def __getitem__(self, name: str) -> TypeResult:
        for t in self.types:
            if t.name == name:
                return t
        raise KeyError(f"no facility type {name!r} in this result "
                       f"(types: {[t.name for t in self.types]})")


def _evaluate(t: CheckedType, chosen: IntArray, model: str) -> tuple[BoolArray, FloatArray]:
    """Uncapacitated reading of ``chosen``: sites covered, and p-median minutes per site."""
    p = t.pairs
    is_chosen = np.zeros(t.n_candidates, dtype=bool)
    is_chosen[chosen] = True
    sel = is_chosen[p.fac]
    covered = t.covered.copy()
    covered[p.site[sel]] = True
    minutes = np.full(t.n_sites, np.nan)
    if model == "p_median":
        minutes = t.time0_min.copy()
        np.minimum.at(minutes, p.site[sel], p.cost[sel])
    return covered & t.required, minutes


def _type_result(red: Reduced, chosen: IntArray, share_rows: FloatArray | None,
                 time_rows: FloatArray | None) -> TypeResult:
    """Assemble one type's answer from its opened candidates (original indices) and
    (capacitated) served shares per row."""
    t, model = red.checked, red.model
    chosen = np.sort(np.asarray(chosen, dtype=np.int64))
    covered, minutes = _evaluate(t, chosen, model)
    share = covered.astype(float)
    if model == "p_median":
        share = np.where(np.isfinite(minutes), 1.0, 0.0)
    rows = red.group >= 0
    if share_rows is not None:
        share[rows] = share_rows[red.group[rows]]
    if time_rows is not None:
        minutes[rows] = time_rows[red.group[rows]]
    if red.capacitated:
        covered = t.required & ((share >= 1.0 - 1e-6) | t.covered)
        share = np.where(t.covered & (red.group < 0), 1.0, share)
    share = np.where(t.required, share, np.nan)
    minutes = np.where(t.required, minutes, np.nan) if model == "p_median" \
        else np.full(t.n_sites, np.nan)
    pop = np.where(t.required, t.pop, 0.0)
    covered_pop = float(np.nansum(pop * share))
    if model == "lscp":
        objective = float(len(chosen))
    elif model == "mclp":
        objective = covered_pop
    else:
        served = np.isfinite(minutes)
        objective = float(np.sum(pop[served] * minutes[served]))
    return TypeResult(name=t.name, chosen=chosen, covered=covered, served_share=share,
                      time_min=minutes, uncoverable=red.uncoverable, n_new=len(chosen),
                      covered_pop=covered_pop, objective=objective)


def _read_exact(red: Reduced, blk: Block, x: FloatArray) -> TypeResult:
    """One type's answer from HiGHS's variables."""
    cols = np.flatnonzero(x[blk.y:blk.y + red.n_cols] > 0.5).astype(np.int64)
    share_rows = time_rows = None
    if red.capacitated or red.model == "p_median":
        xv = np.clip(x[blk.x:blk.x + len(red.r)], 0.0, 1.0)
        xe = np.clip(x[blk.xe:blk.xe + len(red.er)], 0.0, 1.0)
        x0 = np.clip(x[blk.x0:blk.x0 + len(blk.x0_rows)], 0.0, 1.0)
        n = red.n_rows
        share_rows = np.asarray(np.bincount(red.r, xv, n) + np.bincount(red.er, xe, n)
                                + np.bincount(blk.x0_rows, x0, n), dtype=np.float64)
        if red.model == "p_median" and red.capacitated:
            spent = (np.bincount(red.r, xv * red.cost, n) + np.bincount(red.er, xe * red.ecost, n)
                     + np.bincount(blk.x0_rows, x0 * red.t0[blk.x0_rows], n))
            with np.errstate(invalid="ignore", divide="ignore"):
                time_rows = np.where(share_rows > 1e-9, spent / share_rows, np.inf)
        if not red.capacitated:
            share_rows = None
    return _type_result(red, red.cand[cols], share_rows, time_rows)


def _run_greedy(reduced: list[Reduced], slots: IntArray | None) -> list[TypeResult]:
    """Greedy answers, type after type (slots used up in that order)."""
    left = None if slots is None else slots.astype(np.int64).copy()
    out = []
    for red in reduced:
        avail = np.ones(red.n_cols, dtype=bool) if left is None else left[red.cand] > 0
        g: Greedy = greedy(red, avail)
        if left is not None:
            np.subtract.at(left, red.cand[g.cols], 1)
        share = g.share
        time_rows = g.time_min if red.model == "p_median" else None
        out.append(_type_result(red, red.cand[g.cols], share, time_rows))
    return out


def _solve_parts(reduced: list[Reduced], *, time_limit_s: float, mip_rel_gap: float,
                 t_start: float) -> tuple[list[TypeResult], float, float | None, str, list[str]]:
    """Uncapacitated LSCP without slots: every connected part its own programme.

    Returns the types' answers, the objective, the bound (``None`` if a part has none),
    the status and notes."""
    out, bound, status, notes = [], 0.0, "optimal", []
    for red in reduced:
        chosen: list[IntArray] = []
        for part in parts(red):
            left = max(time_limit_s - (time.perf_counter() - t_start), 0.1)
            sol = solve_exact([part], slots=None, time_limit_s=left, mip_rel_gap=mip_rel_gap)
            if sol.x is None:
                g = greedy(part, np.ones(part.n_cols, dtype=bool))
                chosen.append(part.cand[g.cols])
                status, bound = "time_limit", math.nan
                notes.append(f"type {red.checked.name!r}: a part of {part.n_rows} rows had no "
                             "solution within the time limit and was covered greedily")
                continue
            chosen.append(part.cand[np.flatnonzero(sol.x[:part.n_cols] > 0.5)])
            bound += math.ceil(sol.bound - 1e-6) if sol.bound is not None else math.nan
            if sol.status != "optimal":
                status = "time_limit"
        cols = np.concatenate(chosen) if chosen else np.zeros(0, dtype=np.int64)
        out.append(_type_result(red, cols, None, None))
    obj = _total("lscp", out)
    return out, obj, (None if math.isnan(bound) else float(bound)), status, notes


def _uncoverable_note(reduced: list[Reduced]) -> list[str]:
    """One sentence per type with required sites that nothing reaches."""
    notes = []
    for red in reduced:
        u = red.uncoverable
        if len(u):
            shown = ", ".join(str(i) for i in u[:10]) + (" …" if len(u) > 10 else "")
            notes.append(
                f"type {red.checked.name!r}: {len(u)} required site(s) are beyond "
                f"{red.checked.reach_min:g} min of every candidate and existing facility "
                f"(sites {shown}); they are reported as uncoverable and the rest is solved — "
                "add candidates near them or a longer reach")
    return notes


def _total(model: str, types: Sequence[TypeResult]) -> float:
    """The run's objective from its types."""
    return float(sum(t.objective for t in types))


def _empty(red: Reduced) -> TypeResult:
    """No facility chosen (an infeasible run)."""
    return _type_result(red, np.zeros(0, dtype=np.int64), None, None)


def _infeasible_reason(model: str) -> str:
    """Why an exact model can have no solution."""
    if model == "p_median":
        return ("some sites have no existing facility and the budget cannot open one within "
                "reach of each (or capacity is short) — raise the budget, give "
                "existing_time_min, or lower the demand")
    return ("the capacity of the candidates (and existing facilities) within reach, or the "
            "shared slots, cannot serve every required site — add candidates or capacity, "
            "or use model='mclp'")


def site_facilities(
    types: SitingType | Sequence[SitingType], *, model: str,
    slots: ArrayLike | None = None, time_limit_s: float = 60.0, mip_rel_gap: float = 0.0,
    exact_limit: int = EXACT_LIMIT, unserved_min: float | None = None,
) -> SitingResult:
    """Recommend new facility locations for one or several facility types.

    Parameters
    ----------
    types
        The facility types (:class:`analysis.siting.problem.SitingType`), each with its own
        matrix, reach, demand, budget and existing facilities.
    model
        ``"lscp"`` (fewest new facilities covering every required site), ``"mclp"`` (most
        people covered with ``budget`` new facilities per type) or ``"p_median"`` (least
        people × minutes to the nearest facility, existing ones included, with ``budget``).
    slots
        Optional ``(n_candidates,)`` count of facilities each candidate may hold, shared by
        all types (they must then have the same candidates): couples the types in one model.
    time_limit_s
        HiGHS time limit, seconds; on reaching it the best solution is returned with its gap.
    mip_rel_gap
        Relative gap at which HiGHS stops (``0.0``: proven optimum).
    exact_limit
        Largest programme (constraint nonzeros) solved exactly; larger ones go greedy.
    unserved_min
        p-median only: minutes charged to a site that no facility serves within the reach
        (its ``time_min`` then shows this value); ``None`` (default): every required site
        must be served, by an existing facility (``existing_time_min``) or a new one.

    Returns
    -------
    SitingResult

    Raises
    ------
    InputError
        Every problem with the types, collected (bad arrays, lengths, budget < 0, a budget
        missing or given to LSCP, all candidates excluded, ...); a capacitated p-median too
        big for the exact solver.
    """
    t_start = time.perf_counter()
    checked, slot_arr = check_types(types, model, slots=slots)
    for name, v in (("time_limit_s", time_limit_s), ("mip_rel_gap", mip_rel_gap)):
        if not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0):
            raise InputError(f"siting: {name} = {v!r} is not a number >= 0 — fix: give e.g. "
                             f"{name}={60.0 if name == 'time_limit_s' else 0.0}")
    if unserved_min is not None:
        if not (isinstance(unserved_min, (int, float)) and unserved_min >= 0
                and model == "p_median"):
            raise InputError(f"siting: unserved_min = {unserved_min!r} — fix: give minutes "
                             ">= 0, and only with model='p_median'")
        checked = [dataclasses.replace(t, time0_min=np.minimum(t.time0_min, unserved_min))
                   for t in checked]
    reduced = [reduce_type(t, model, merge_columns=slot_arr is None) for t in checked]
    notes = _uncoverable_note(reduced)
    size = model_size(reduced)
    sol: Solution | None = None
    if size <= exact_limit and model in ("lscp", "mclp"):
        reduced = [red if red.capacitated else
                   dominate(red, rows=model == "lscp", cols=slot_arr is None) for red in reduced]
    if size <= exact_limit and model == "lscp" and slot_arr is None \
            and not any(red.capacitated for red in reduced):
        res, obj, bound, status, more = _solve_parts(
            reduced, time_limit_s=time_limit_s, mip_rel_gap=mip_rel_gap, t_start=t_start)
        gap = None if bound is None else (0.0 if obj - bound < 1e-9 else (obj - bound) / obj)
        return SitingResult(model, tuple(res), obj, bound, gap, status, "exact",
                            "; ".join(more + notes), time.perf_counter() - t_start)
    if size <= exact_limit:
        sol = solve_exact(reduced, slots=slot_arr, time_limit_s=time_limit_s,
                          mip_rel_gap=mip_rel_gap)
    if sol is not None and sol.x is not None:
        res = [_read_exact(red, blk, sol.x) for red, blk in zip(reduced, sol.blocks)]
        obj = _total(model, res)
        sign = -1.0 if model == "mclp" else 1.0
        bound = None if sol.bound is None else sign * sol.bound
        if sol.status == "time_limit":
            notes.insert(0, f"HiGHS stopped at the time limit ({time_limit_s:g} s): best "
                            f"solution found, relative gap {sol.gap:.3g}")
        return SitingResult(model, tuple(res), obj, bound, sol.gap, sol.status, "exact",
                            "; ".join(notes), time.perf_counter() - t_start)
    if sol is not None and sol.status == "infeasible":
        notes.insert(0, f"no solution exists: {_infeasible_reason(model)}")
        return SitingResult(model, tuple(_empty(r) for r in reduced), math.nan, None, None,
                            "infeasible", "exact", "; ".join(notes),
                            time.perf_counter() - t_start)
    why = (f"the model has {size:,} nonzeros, over exact_limit = {exact_limit:,}"
           if sol is None else f"HiGHS found no solution ({sol.message})")
    res = _run_greedy(reduced, slot_arr)
    for r in res if model != "mclp" else []:
        short = np.flatnonzero(r.served_share < 1.0 - 1e-6)
        short = np.setdiff1d(short, r.uncoverable)
        if len(short):
            notes.append(f"type {r.name!r}: the greedy answer leaves {len(short)} required "
                         f"site(s) not fully served (sites {', '.join(map(str, short[:10]))}"
                         f"{' …' if len(short) > 10 else ''})")
    notes.insert(0, f"greedy answer, not proven optimal: {why} — raise exact_limit / "
                    "time_limit_s, or site a smaller area, for an exact answer")
    return SitingResult(model, tuple(res), _total(model, res), None, None, "greedy", "greedy",
                        "; ".join(notes), time.perf_counter() - t_start)


def lscp(types: SitingType | Sequence[SitingType], **options: object) -> SitingResult:
    """:func:`site_facilities` with ``model="lscp"`` (same keyword options)."""
    return site_facilities(types, model="lscp", **options)  # type: ignore[arg-type]


def mclp(types: SitingType | Sequence[SitingType], **options: object) -> SitingResult:
    """:func:`site_facilities` with ``model="mclp"`` (same keyword options)."""
    return site_facilities(types, model="mclp", **options)  # type: ignore[arg-type]


def p_median(types: SitingType | Sequence[SitingType], **options: object) -> SitingResult:
    """:func:`site_facilities` with ``model="p_median"`` (same keyword options)."""
    return site_facilities(types, model="p_median", **options)  # type: ignore[arg-type]
