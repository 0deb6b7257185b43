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

When HiGHS stops at the time limit, the greedy answer (slots, capacity and existing
facilities respected) is computed too and the better of the two kept, said in the note.  An
uncapacitated LSCP without slots falls apart into connected parts: those with no row, one
row, one column or one column covering every row are solved directly, the small ones of a
type in one block-diagonal HiGHS call, each hard one (dominance-reduced again) alone, the
time left shared between the calls in proportion to their size.
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

#: Connected parts of an LSCP at most this big (programme nonzeros) are solved together,
#: as one block-diagonal programme in one HiGHS call.
SMALL_PART = 5_000

#: Least HiGHS time limit of one call, seconds (a part never gets less).
_MIN_LIMIT_S = 0.1

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
        ``exact`` (HiGHS) or ``greedy`` (beyond the size limit, HiGHS found nothing, or
        HiGHS stopped at the time limit with an answer worse than the greedy one: then
        ``status`` is ``time_limit`` and ``bound`` is still HiGHS's).
    note
        What the planner must know: greedy and why (and which answer was kept when HiGHS
        stopped at the time limit), uncoverable sites, infeasibility.
    time_s
        Wall time of the run, seconds.
    solver_calls
        HiGHS calls of the run (``0``: every part solved directly, or greedy).
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
    solver_calls: int = 0

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


def _trivial(part: Reduced) -> IntArray | None:
    """The optimum (local columns) of an LSCP part that needs no solver — no rows, one row,
    one column, or one column covering every row — else ``None``."""
    if part.n_rows == 0:
        return np.zeros(0, dtype=np.int64)
    if part.n_cols == 0:
        return None
    deg = np.bincount(part.c, minlength=part.n_cols)  # distinct rows of each column
    j = int(np.argmax(deg))
    return np.array([j], dtype=np.int64) if deg[j] == part.n_rows else None


@dataclass
class _PartsRun:
    """What the parts of an LSCP run gave: per type the chosen candidates, the summed
    bound (NaN: unknown), the status, the HiGHS calls and the counts behind the notes."""

    chosen: list[list[IntArray]]
    bound: float = 0.0
    status: str = "optimal"
    calls: int = 0
    no_solution: dict[str, int] = dataclasses.field(default_factory=dict)
    greedy_kept: dict[str, int] = dataclasses.field(default_factory=dict)

    def count(self, which: dict[str, int], name: str) -> None:
        """One more part of type ``name`` in ``which``."""
        which[name] = which.get(name, 0) + 1


def _split(reduced: list[Reduced], run: _PartsRun) -> list[tuple[int, list[Reduced]]]:
    """The parts of every type: trivial ones solved into ``run``; the others as HiGHS jobs
    ``(type index, parts)``: all small parts of a type in one job, each hard part alone."""
    jobs: list[tuple[int, list[Reduced]]] = []
    for k, red in enumerate(reduced):
        small: list[Reduced] = []
        for part in parts(red):
            cols = _trivial(part)
            if cols is not None:
                run.chosen[k].append(part.cand[cols])
                run.bound += len(cols)
            elif model_size([part]) <= SMALL_PART:
                small.append(part)
            else:
                jobs.append((k, [dominate(part, rows=True, cols=True)]))
        if small:
            jobs.insert(0, (k, small))
    return jobs


def _read_job(red: Reduced, batch: list[Reduced], sol: Solution, run: _PartsRun, k: int) -> None:
    """Chosen candidates of a job's parts into ``run`` (greedy where HiGHS found none or
    the greedy cover is smaller than HiGHS's time-limited one)."""
    name = red.checked.name
    for part, blk in zip(batch, sol.blocks):
        if sol.x is None:
            cols = greedy(part, np.ones(part.n_cols, dtype=bool)).cols
            run.count(run.no_solution, name)
        else:
            cols = np.flatnonzero(sol.x[blk.y:blk.y + part.n_cols] > 0.5).astype(np.int64)
            if sol.status != "optimal":
                g = greedy(part, np.ones(part.n_cols, dtype=bool)).cols
                if len(g) < len(cols):
                    cols = g
                    run.count(run.greedy_kept, name)
        run.chosen[k].append(part.cand[cols])
    if sol.x is None or sol.bound is None:
        run.bound = math.nan
    else:
        run.bound += math.ceil(sol.bound - 1e-6)
    if sol.status != "optimal":
        run.status = "time_limit"


def _solve_parts(reduced: list[Reduced], *, time_limit_s: float, mip_rel_gap: float,
                 t_start: float) -> tuple[list[TypeResult], float, float | None, str, list[str],
                                          int]:
    """Uncapacitated LSCP without slots: every connected part its own programme.

    Trivial parts are solved directly, the small ones of a type batched into one
    block-diagonal programme, the hard ones alone; the time left is shared between the
    HiGHS calls in proportion to their size (what one leaves is carried forward).

    Returns the types' answers, the objective, the bound (``None`` if a part has none),
    the status, notes and the number of HiGHS calls."""
    run = _PartsRun(chosen=[[] for _ in reduced])
    jobs = _split(reduced, run)
    sizes = [model_size(batch) for _, batch in jobs]
    size_left = float(sum(sizes))
    for (k, batch), size in zip(jobs, sizes):
        time_left = max(time_limit_s - (time.perf_counter() - t_start), 0.0)
        limit = max(time_left * size / size_left, _MIN_LIMIT_S)
        size_left -= size
        sol = solve_exact(batch, slots=None, time_limit_s=limit, mip_rel_gap=mip_rel_gap)
        run.calls += 1
        _read_job(reduced[k], batch, sol, run, k)
    out = []
    for red, chosen in zip(reduced, run.chosen):
        cols = np.concatenate(chosen) if chosen else np.zeros(0, dtype=np.int64)
        out.append(_type_result(red, cols, None, None))
    notes = [f"type {name!r}: {n} part(s) had no solution within the time limit and were "
             "covered greedily" for name, n in run.no_solution.items()]
    notes += [f"type {name!r}: HiGHS stopped at the time limit on {n} part(s); kept the "
              "greedy cover there, smaller than HiGHS's best" for name, n in run.greedy_kept.items()]
    obj = _total("lscp", out)
    bound = None if math.isnan(run.bound) else float(run.bound)
    return out, obj, bound, run.status, notes, run.calls


def _reach_text(t: CheckedType) -> str:
    """The reach of ``t`` with its unit: ``30 min``, ``2000 m``."""
    return f"{t.reach_min:g} {t.reach_unit}"


def _uncoverable_note(reduced: list[Reduced]) -> list[str]:
    """One sentence per type with required sites that nothing reaches."""
    notes = []
    for red in reduced:
        u = red.uncoverable
        if len(u):
            shown = ", ".join(str(i) for i in u[:10]) + (" …" if len(u) > 10 else "")
            notes.append(
                f"type {red.checked.name!r}: {len(u)} required site(s) are beyond "
                f"{_reach_text(red.checked)} of every candidate and existing facility "
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


def _gap(obj: float, bound: float | None) -> float | None:
    """Relative gap of ``obj`` to ``bound`` (``None`` when no bound)."""
    if bound is None or math.isnan(bound):
        return None
    return 0.0 if abs(obj - bound) < 1e-9 else abs(obj - bound) / max(abs(obj), 1e-9)


def _check_options(model: str, time_limit_s: object, mip_rel_gap: object,
                   unserved_min: object) -> None:
    """The run's numeric options, or an :class:`InputError` naming the value and the fix."""
    for name, v in (("time_limit_s", time_limit_s), ("mip_rel_gap", mip_rel_gap)):
        if not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0):
            raise InputError(f"siting: {name} = {v!r} is not a number >= 0 — fix: give e.g. "
                             f"{name}={60.0 if name == 'time_limit_s' else 0.0}")
    if unserved_min is not None:
        if not (isinstance(unserved_min, (int, float)) and unserved_min >= 0
                and model == "p_median"):
            raise InputError(f"siting: unserved_min = {unserved_min!r} — fix: give minutes "
                             ">= 0, and only with model='p_median'")


def _with_unserved(t: CheckedType, run_unserved: float | None) -> CheckedType:
    """``t`` with its unserved charge (its own, else the run's) as every site's fallback."""
    u = t.unserved_min if t.unserved_min is not None else run_unserved
    if u is None:
        return t
    return dataclasses.replace(t, time0_min=np.minimum(t.time0_min, float(u)))


def _serves_all(model: str, red: Reduced, r: TypeResult) -> bool:
    """Does answer ``r`` serve every required site it must (LSCP, p-median; MCLP: always)?"""
    if model == "mclp":
        return True
    t = red.checked
    if model == "lscp":
        short = t.required & ~r.covered
    else:
        short = t.required & (t.pop > 0) & ~np.isfinite(r.time_min)
    short[r.uncoverable] = False
    return not bool(short.any())


def _feasible_greedy(reduced: list[Reduced], slots: IntArray | None,
                     model: str) -> list[TypeResult] | None:
    """The greedy answer when it is a feasible one of the model, else ``None``."""
    try:
        res = _run_greedy(reduced, slots)
    except InputError:  # the capacitated p-median has no greedy
        return None
    ok = all(_serves_all(model, red, r) for red, r in zip(reduced, res))
    return res if ok else None


def _exact_result(model: str, reduced: list[Reduced], sol: Solution, slots: IntArray | None,
                  notes: list[str], *, time_limit_s: float, t_start: float) -> SitingResult:
    """The result of a HiGHS answer; at the time limit, the better of it and the greedy one
    (by the model's objective), which one said in the notes."""
    assert sol.x is not None
    res = [_read_exact(red, blk, sol.x) for red, blk in zip(reduced, sol.blocks)]
    obj = _total(model, res)
    sign = -1.0 if model == "mclp" else 1.0
    bound = None if sol.bound is None else sign * sol.bound
    gap, method = sol.gap, "exact"
    if sol.status == "time_limit":
        g = _feasible_greedy(reduced, slots, model)
        g_obj = None if g is None else _total(model, g)
        better = g_obj is not None and (g_obj > obj + 1e-9 if model == "mclp"
                                        else g_obj < obj - 1e-9)
        head = f"HiGHS stopped at the time limit ({time_limit_s:g} s)"
        if g is not None and g_obj is not None and better:
            note = (f"{head}: kept the greedy answer (objective {g_obj:g}), better than "
                    f"HiGHS's best ({obj:g})")
            res, obj, method = g, g_obj, "greedy"
            gap = _gap(obj, bound)
        else:
            other = "no feasible greedy answer" if g_obj is None else f"greedy {g_obj:g}"
            note = f"{head}: kept HiGHS's best solution (objective {obj:g}; {other})"
        notes.insert(0, note + ("" if gap is None else f", relative gap {gap:.3g}"))
    return SitingResult(model, tuple(res), obj, bound, gap, sol.status, method,
                        "; ".join(notes), time.perf_counter() - t_start, 1)


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
        HiGHS time limit, seconds; on reaching it the best solution is returned with its
        gap — or the greedy answer when that is better by the model's objective (said in
        ``note``).  An uncapacitated LSCP without slots is solved part by part (connected
        parts: trivial ones directly, small ones batched in one call) and the time left is
        shared between its HiGHS calls in proportion to their size.
    mip_rel_gap
        Relative gap at which HiGHS stops (``0.0``: proven optimum).
    exact_limit
        Largest programme (constraint nonzeros) solved exactly; larger ones go greedy.
    unserved_min
        p-median only: minutes charged to a site that no facility serves within the reach
        (its ``time_min`` then shows this value), for every type without its own
        ``SitingType.unserved_min``; ``None`` (default): every required site must be served
        within the reach, by an existing facility or a new one (an existing facility beyond
        the reach does not serve: see :class:`analysis.siting.problem.SitingType`).

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
    _check_options(model, time_limit_s, mip_rel_gap, unserved_min)
    checked = [_with_unserved(t, unserved_min) for t in checked]
    reduced = [reduce_type(t, model, merge_columns=slot_arr is None) for t in checked]
    notes = _uncoverable_note(reduced)
    size = model_size(reduced)
    if size <= exact_limit and model in ("lscp", "mclp"):
        reduced = [red if red.capacitated else
                   dominate(red, rows=model == "lscp", cols=slot_arr is None) for red in reduced]
    if size <= exact_limit and model == "lscp" and slot_arr is None \
            and not any(red.capacitated for red in reduced):
        res, obj, bound, status, more, calls = _solve_parts(
            reduced, time_limit_s=time_limit_s, mip_rel_gap=mip_rel_gap, t_start=t_start)
        return SitingResult(model, tuple(res), obj, bound, _gap(obj, bound), status, "exact",
                            "; ".join(more + notes), time.perf_counter() - t_start, calls)
    sol: Solution | None = None
    if size <= exact_limit:
        sol = solve_exact(reduced, slots=slot_arr, time_limit_s=time_limit_s,
                          mip_rel_gap=mip_rel_gap)
    if sol is not None and sol.x is not None:
        return _exact_result(model, reduced, sol, slot_arr, notes, time_limit_s=time_limit_s,
                             t_start=t_start)
    calls = 0 if sol is None else 1
    if sol is not None and sol.status == "infeasible":
        notes.insert(0, f"no solution exists: {_infeasible_reason(model)}")
        return SitingResult(model, tuple(_empty(r) for r in reduced), math.nan, None, None,
                            "infeasible", "exact", "; ".join(notes),
                            time.perf_counter() - t_start, calls)
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
                        "; ".join(notes), time.perf_counter() - t_start, calls)


def lscp(types: SitingType | Sequence[SitingType], **options: object) -> SitingResult:
    """:func:`site_facilities` with ``model="lscp"`` (same keyword options)."""
    return site_facilities(types, model="lscp", **options)  # type: ignore[arg-type]


def mclp(types: SitingType | Sequence[SitingType], **options: object) -> SitingResult:
    """:func:`site_facilities` with ``model="mclp"`` (same keyword options)."""
    return site_facilities(types, model="mclp", **options)  # type: ignore[arg-type]


def p_median(types: SitingType | Sequence[SitingType], **options: object) -> SitingResult:
    """:func:`site_facilities` with ``model="p_median"`` (same keyword options)."""
    return site_facilities(types, model="p_median", **options)  # type: ignore[arg-type]
