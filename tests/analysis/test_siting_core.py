"""analysis.siting core: the time-limited answer never worse than greedy, the LSCP parts
solved directly / batched / sharing the time limit, existing facilities beyond the reach
the same in both forms, and the unit of the reach in the notes."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from anzhi.core.errors import InputError
from analysis.siting import SitingType, lscp, p_median, site_facilities
from tests.analysis.siting_cases import brute_lscp, brute_median, make_case


def _random(seed: int, n: int, m: int, *, reach: float = 8.0, side_km: float = 20.0
            ) -> tuple[sp.csr_matrix, np.ndarray]:
    """Random sites and candidates, 3 min/km, pairs within ``reach``; people per site."""
    rng = np.random.default_rng(seed)
    s, c = rng.uniform(0, side_km, (n, 2)), rng.uniform(0, side_km, (m, 2))
    d = 3.0 * np.linalg.norm(s[:, None] - c[None], axis=2)
    i, j = np.nonzero(d <= reach)
    return sp.csr_matrix((d[i, j], (i, j)), shape=d.shape), rng.integers(1, 500, n).astype(float)


# --------------------------------------------------------------------------------------
# 1. a time-limited HiGHS answer is never worse than the greedy one
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("time_limit_s", [0.2, 0.5])
def test_time_limited_answer_is_never_worse_than_greedy(time_limit_s: float) -> None:
    # a p-median HiGHS cannot finish in a fraction of a second: its incumbent at the time
    # limit is far worse than the greedy-add answer, which must then be kept
    csr, pop = _random(1, 800, 400)
    t = SitingType("school", csr, 8.0, pop, budget=8, unserved_min=60.0)
    greedy = p_median(t, exact_limit=0)
    res = p_median(t, time_limit_s=time_limit_s)
    assert greedy.method == "greedy"
    assert res.objective <= greedy.objective + 1e-6
    if res.status == "time_limit":
        assert "HiGHS stopped at the time limit" in res.note
        kept = "kept the greedy answer" if res.method == "greedy" else "kept HiGHS's best"
        assert kept in res.note
        assert res.bound is not None and res.bound <= res.objective + 1e-6
    chosen = res["school"].chosen
    assert len(chosen) <= 8


def test_greedy_kept_over_time_limit_respects_slots_and_existing() -> None:
    csr, pop = _random(2, 800, 400)
    slots = np.ones(400, dtype=np.int64)
    slots[:200] = 0  # half the candidates may hold nothing
    ex = csr[:, [400 - 1]]  # one existing facility, fixed open
    t = SitingType("school", csr, 8.0, pop, budget=8, existing_cost_min=ex, unserved_min=60.0)
    greedy = p_median(t, exact_limit=0, slots=slots)
    res = p_median(t, time_limit_s=0.2, slots=slots)
    assert res.objective <= greedy.objective + 1e-6
    assert not set(res["school"].chosen) & set(range(200))
    # the existing facility serves its sites: nobody it reaches pays more than its minutes
    coo = ex.tocoo()
    assert len(coo.row) > 0
    assert np.all(res["school"].time_min[coo.row] <= coo.data + 1e-9)


# --------------------------------------------------------------------------------------
# 2. LSCP parts: trivial ones without HiGHS, small ones batched, same optimum
# --------------------------------------------------------------------------------------


def _blocks(n_single: int, n_triangle: int) -> sp.csr_matrix:
    """``n_single`` sites each with two candidates of its own, then ``n_triangle`` parts of
    three sites and three candidates, each candidate reaching two of the three."""
    rows, cols = [], []
    for i in range(n_single):
        rows += [i, i]
        cols += [2 * i, 2 * i + 1]
    base_r, base_c = n_single, 2 * n_single
    for k in range(n_triangle):
        r0, c0 = base_r + 3 * k, base_c + 3 * k
        for j, (a, b) in enumerate([(0, 1), (1, 2), (0, 2)]):
            rows += [r0 + a, r0 + b]
            cols += [c0 + j, c0 + j]
    n, m = base_r + 3 * n_triangle, base_c + 3 * n_triangle
    data = np.linspace(1.0, 5.0, len(rows))
    return sp.csr_matrix((data, (rows, cols)), shape=(n, m))


def test_single_row_parts_need_no_solver() -> None:
    mat = _blocks(200, 0)
    res = lscp(SitingType("clinic", mat, 10.0, np.ones(200)))
    assert res.status == "optimal" and res.gap == 0.0 and res.bound == 200
    assert res.objective == 200 and res.solver_calls == 0
    assert res["clinic"].covered.all()


def test_small_parts_are_batched_into_one_call() -> None:
    mat = _blocks(50, 30)
    n = mat.shape[0]
    res = lscp(SitingType("clinic", mat, 10.0, np.ones(n)))
    assert res.status == "optimal" and res.gap == 0.0
    assert res.objective == 50 + 2 * 30 and res.bound == 50 + 2 * 30
    assert res.solver_calls == 1
    assert res["clinic"].covered.all()


def test_hard_parts_are_solved_alone_and_never_worse_than_greedy() -> None:
    # two dense clusters no candidate joins: two hard parts, one HiGHS call each, sharing
    # a time limit too short for either; each part keeps the better of HiGHS and greedy
    a, _ = _random(5, 600, 600, reach=6.0, side_km=14.0)
    b, _ = _random(6, 600, 600, reach=6.0, side_km=14.0)
    t = SitingType("clinic", sp.block_diag([a, b]).tocsr(), 6.0, np.ones(1200))
    res = lscp(t, time_limit_s=1.0)
    greedy = lscp(t, exact_limit=0)
    assert res.solver_calls == 2 and res.method == "exact"
    assert res.objective <= greedy.objective
    assert res["clinic"].covered.all()
    assert res.bound is not None and res.bound <= res.objective
    if res.status == "time_limit" and "kept the greedy cover" in res.note:
        assert "part(s)" in res.note


@pytest.mark.parametrize("seed", range(10))
def test_lscp_in_many_parts_equals_brute_force(seed: int) -> None:
    # a short reach splits the sites into many parts: single rows, one column covering
    # all, and real programmes
    case = make_case(seed, n_sites=30, n_cand=12, reach=5.0)
    excluded = np.zeros(12, dtype=bool)
    excluded[5] = True
    t = SitingType("clinic", case.csr, case.reach, case.pop, required=case.required,
                   excluded=excluded)
    res = lscp(t)
    allowed = [j for j in range(12) if j != 5]
    best = brute_lscp(case.dense, case.reach, case.required, np.zeros(30, bool), allowed)
    assert res.status == "optimal" and res.objective == best and res.bound == best
    assert res.solver_calls <= 1
    tr = res["clinic"]
    need = case.required & (case.dense[:, allowed] <= case.reach).any(axis=1)
    assert np.array_equal(tr.covered, need)


# --------------------------------------------------------------------------------------
# 4. an existing facility beyond the reach: the same in both forms
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("unserved", [None, 60.0])
def test_existing_beyond_reach_is_the_same_as_matrix_or_times(seed: int,
                                                             unserved: float | None) -> None:
    case = make_case(seed, n_cand=10, reach=12.0, cutoff=20.0)
    rng = np.random.default_rng(seed + 50)
    n = len(case.pop)
    ex = np.where(rng.random((n, 2)) < 0.5, rng.uniform(0, 25, (n, 2)), np.inf)
    s, f = np.nonzero(np.isfinite(ex))
    ex_csr = sp.csr_matrix((ex[s, f], (s, f)), shape=(n, 2))
    time0 = ex.min(axis=1)
    assert (np.isfinite(time0) & (time0 > case.reach)).any()  # some only beyond the reach
    kw = {"budget": 2, "required": case.required}
    as_matrix = p_median(SitingType("school", case.csr, case.reach, case.pop,
                                    existing_cost_min=ex_csr, **kw), unserved_min=unserved)
    as_times = p_median(SitingType("school", case.csr, case.reach, case.pop,
                                   existing_time_min=time0, **kw), unserved_min=unserved)
    assert as_matrix.status == as_times.status
    best = brute_median(case.dense, case.reach, case.pop, case.required, time0,
                        list(range(10)), 2, unserved=np.inf if unserved is None else unserved)
    if np.isinf(best):
        assert as_matrix.status == "infeasible"
        return
    assert as_matrix.objective == pytest.approx(as_times.objective, rel=1e-9)
    assert as_matrix.objective == pytest.approx(best, rel=1e-9)


def test_type_unserved_charge_is_the_run_one_per_type() -> None:
    case = make_case(3, n_cand=10, reach=6.0)
    run = p_median(SitingType("school", case.csr, case.reach, case.pop, budget=1),
                   unserved_min=60.0)
    own = p_median(SitingType("school", case.csr, case.reach, case.pop, budget=1,
                              unserved_min=60.0))
    assert own.status == "optimal" and own.objective == pytest.approx(run.objective)
    with pytest.raises(InputError, match=r"unserved_min = -1.*fix"):
        p_median(SitingType("school", case.csr, case.reach, case.pop, budget=1,
                            unserved_min=-1.0))


# --------------------------------------------------------------------------------------
# 5. the unit of the reach in notes and messages
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("unit,text", [("min", "beyond 30 min"), ("m", "beyond 2000 m")])
def test_notes_state_the_reach_in_its_unit(unit: str, text: str) -> None:
    reach = 30.0 if unit == "min" else 2000.0
    dense = np.array([[1.0, np.inf], [np.inf, 2.0], [3 * reach, np.inf]])
    res = lscp(SitingType("clinic", dense, reach, np.ones(3), reach_unit=unit))
    assert list(res["clinic"].uncoverable) == [2]
    assert text in res.note
    other = "min" if unit == "m" else " m "
    assert other not in res.note.split("beyond")[1].split("of every")[0]


def test_reach_unit_is_checked_and_named_in_errors() -> None:
    dense = np.array([[1.0]])
    with pytest.raises(InputError, match=r"reach_unit = 'km' is not a unit.*fix: use one of"):
        lscp(SitingType("clinic", dense, 30.0, np.ones(1), reach_unit="km"))
    with pytest.raises(InputError, match=r"reach_min = -5.0 is not a distance in metres"):
        lscp(SitingType("clinic", dense, -5.0, np.ones(1), reach_unit="m"))
    with pytest.raises(TypeError):
        SitingType("clinic", dense, 30.0, np.ones(1), None, None, None, None, None, None,
                   None, None, None, "m")  # type: ignore[call-arg]
    assert site_facilities(SitingType("c", dense, 30.0, np.ones(1), reach_unit="m"),
                           model="lscp").objective == 1
