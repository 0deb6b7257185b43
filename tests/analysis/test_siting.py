"""analysis.siting: every model's optimum equals brute force on small random instances,
the monotonicity properties, the greedy fallback said so, and clear errors."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from anzhi.core.errors import InputError
from analysis.rules import load_rules
from analysis.siting import (SitingType, chosen_table, lscp, mclp, p_median, site_facilities,
                             type_from_rules)
from geo.paircosts import PairCosts
from tests.analysis.siting_cases import (assignment_lp, brute_lscp, brute_mclp, brute_median,
                                         make_case, subsets)

SEEDS = [0, 1, 2, 3, 4, 5, 6, 7]


def _existing(case, seed: int) -> tuple[sp.csr_matrix, np.ndarray]:  # type: ignore[no-untyped-def]
    """Two existing facilities (random points) as a sparse matrix, and the sites they cover."""
    rng = np.random.default_rng(seed + 100)
    n = case.dense.shape[0]
    minutes = np.where(rng.random((n, 2)) < 0.3, rng.uniform(0, 20, (n, 2)), np.inf)
    s, f = np.nonzero(np.isfinite(minutes))
    mat = sp.csr_matrix((minutes[s, f], (s, f)), shape=(n, 2))
    return mat, (minutes <= case.reach).any(axis=1)


# --------------------------------------------------------------------------------------
# brute force, uncapacitated
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("with_existing", [False, True])
def test_lscp_equals_brute_force(seed: int, with_existing: bool) -> None:
    case = make_case(seed, n_cand=12)
    ex, covered = _existing(case, seed) if with_existing else (None, np.zeros(len(case.pop), bool))
    excluded = np.zeros(12, dtype=bool)
    excluded[[3, 7]] = True
    t = SitingType("clinic", case.csr, case.reach, case.pop, required=case.required,
                   existing_cost_min=ex, excluded=excluded)
    res = lscp(t)
    allowed = [j for j in range(12) if not excluded[j]]
    assert res.status == "optimal" and res.method == "exact" and res.gap == 0.0
    assert res.objective == brute_lscp(case.dense, case.reach, case.required, covered, allowed)
    tr = res["clinic"]
    assert not set(tr.chosen) & {3, 7}
    # every required site is covered except the uncoverable ones, which nothing reaches
    reach_any = (case.dense[:, allowed] <= case.reach).any(axis=1) | covered
    assert set(tr.uncoverable) == set(np.flatnonzero(case.required & ~reach_any))
    assert np.array_equal(tr.covered, case.required & reach_any)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("budget", [0, 1, 2, 3])
def test_mclp_equals_brute_force(seed: int, budget: int) -> None:
    case = make_case(seed, n_cand=11)
    ex, covered = _existing(case, seed)
    t = SitingType("kindergarten", case.csr, case.reach, case.pop, required=case.required,
                   budget=budget, existing_cost_min=ex)
    res = mclp(t)
    best = brute_mclp(case.dense, case.reach, case.pop, case.required, covered,
                      list(range(11)), budget)
    assert res.status == "optimal" and res.gap == 0.0
    assert res.objective == pytest.approx(best, abs=1e-6)
    assert res.bound == pytest.approx(best, abs=1e-6)
    tr = res["kindergarten"]
    assert tr.n_new <= budget
    assert tr.covered_pop == pytest.approx(best, abs=1e-6)
    assert tr.covered_pop == pytest.approx(float(case.pop[tr.covered].sum()))


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("budget", [1, 2, 3])
def test_p_median_equals_brute_force(seed: int, budget: int) -> None:
    case = make_case(seed, n_cand=10, cutoff=40.0, reach=30.0)
    rng = np.random.default_rng(seed + 7)
    time0 = np.where(rng.random(len(case.pop)) < 0.5, rng.uniform(2, 40, len(case.pop)), np.inf)
    t = SitingType("school", case.csr, case.reach, case.pop, required=case.required,
                   budget=budget, existing_time_min=time0)
    res = p_median(t)
    best = brute_median(case.dense, case.reach, case.pop, case.required, time0,
                        list(range(10)), budget)
    if math.isinf(best):
        assert res.status == "infeasible" and "no solution" in res.note
        return
    assert res.status == "optimal" and res.gap == pytest.approx(0.0, abs=1e-9)
    assert res.objective == pytest.approx(best, rel=1e-9)
    tr = res["school"]
    req = case.required & np.isfinite(tr.time_min)
    assert float(np.sum(case.pop[req] * tr.time_min[req])) == pytest.approx(best, rel=1e-9)


def test_p_median_unserved_minutes_make_it_feasible() -> None:
    case = make_case(3, n_cand=10, reach=6.0)
    t = SitingType("school", case.csr, case.reach, case.pop, budget=1)
    assert p_median(t).status == "infeasible"
    res = p_median(t, unserved_min=60.0)
    best = brute_median(case.dense, case.reach, case.pop, np.ones(len(case.pop), bool),
                        np.full(len(case.pop), np.inf), list(range(10)), 1, unserved=60.0)
    assert res.status == "optimal" and res.objective == pytest.approx(best)


# --------------------------------------------------------------------------------------
# brute force, capacitated (each subset scored by its own dense assignment LP)
# --------------------------------------------------------------------------------------


def _cap_case(seed: int):  # type: ignore[no-untyped-def]
    case = make_case(seed, n_sites=10, n_cand=7)
    rng = np.random.default_rng(seed + 50)
    cap = rng.uniform(100, 500, 7).round()
    demand = np.where(case.pop > 0, case.pop, rng.integers(1, 5, len(case.pop)).astype(float))
    return case, cap, demand


@pytest.mark.parametrize("seed", SEEDS[:6])
def test_capacitated_lscp_equals_brute_force(seed: int) -> None:
    case, cap, demand = _cap_case(seed)
    t = SitingType("police_room", case.csr, case.reach, case.pop, required=case.required,
                   capacity=cap, demand=demand)
    res = lscp(t)
    need = [i for i in np.flatnonzero(case.required)
            if (case.dense[i] <= case.reach).any()]
    best = next((len(s) for s in subsets(list(range(7))) if assignment_lp(
        case.dense, case.reach, demand, need, list(s), cap, "feasible") is not None), None)
    if best is None:
        assert res.status == "infeasible"
        return
    assert res.status == "optimal" and res.objective == best
    share = res["police_room"].served_share
    assert np.allclose(share[need], 1.0, atol=1e-6)


@pytest.mark.parametrize("seed", SEEDS[:6])
@pytest.mark.parametrize("budget", [1, 2])
def test_capacitated_mclp_with_existing_equals_brute_force(seed: int, budget: int) -> None:
    case, cap, demand = _cap_case(seed)
    ex, _ = _existing(case, seed)
    ecap = np.array([150.0, 80.0])
    t = SitingType("kindergarten", case.csr, case.reach, case.pop, required=case.required,
                   budget=budget, capacity=cap, demand=demand, existing_cost_min=ex,
                   existing_capacity=ecap)
    res = mclp(t)
    both = np.hstack([case.dense, ex.toarray() + np.where(ex.toarray() > 0, 0, np.inf)])
    both[:, 7:][ex.toarray() > 0] = ex.toarray()[ex.toarray() > 0]
    caps = np.concatenate([cap, ecap])
    sites = list(np.flatnonzero(case.required))
    best = max(assignment_lp(both, case.reach, demand, sites, list(s) + [7, 8], caps, "cover",
                             pop=case.pop) or 0.0 for s in subsets(list(range(7)), budget))
    assert res.status == "optimal"
    assert res.objective == pytest.approx(best, rel=1e-7, abs=1e-6)


@pytest.mark.parametrize("seed", SEEDS[:5])
def test_capacitated_p_median_equals_brute_force(seed: int) -> None:
    case, cap, demand = _cap_case(seed)
    case = make_case(seed, n_sites=10, n_cand=7, reach=30.0, cutoff=30.0)
    t = SitingType("kindergarten", case.csr, case.reach, case.pop, budget=3, capacity=cap * 2,
                   demand=demand)
    res = p_median(t)
    sites = [i for i in range(10) if case.pop[i] > 0 or demand[i] > 0]
    vals = [assignment_lp(case.dense, case.reach, demand, sites, list(s), cap * 2, "median",
                          pop=case.pop) for s in subsets(list(range(7)), 3)]
    vals = [v for v in vals if v is not None]
    if not vals:
        assert res.status == "infeasible"
        return
    assert res.status == "optimal"
    assert res.objective == pytest.approx(min(vals), rel=1e-7)


# --------------------------------------------------------------------------------------
# several types, coupled by slots
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS[:5])
@pytest.mark.parametrize("model", ["lscp", "mclp"])
def test_two_types_sharing_slots_equal_brute_force(seed: int, model: str) -> None:
    a, b = make_case(seed, n_cand=6), make_case(seed + 1000, n_cand=6, reach=9.0)
    b.dense = b.dense.copy()
    budget = None if model == "lscp" else 2
    ta = SitingType("clinic", a.csr, a.reach, a.pop, required=a.required, budget=budget)
    tb = SitingType("police_room", b.csr, b.reach, a.pop, required=b.required, budget=budget)
    res = site_facilities([ta, tb], model=model, slots=np.ones(6))
    none = np.zeros(len(a.pop), dtype=bool)
    best = math.inf if model == "lscp" else -math.inf
    for sa in subsets(list(range(6)), budget):
        for sb in subsets([j for j in range(6) if j not in sa], budget):
            if model == "lscp":
                ok_a = brute_lscp(a.dense, a.reach, a.required, none, list(sa)) == len(sa) \
                    and all((a.dense[i, list(sa)] <= a.reach).any() for i in np.flatnonzero(a.required)
                            if (a.dense[i] <= a.reach).any())
                ok_b = all((b.dense[i, list(sb)] <= b.reach).any() for i in np.flatnonzero(b.required)
                           if (b.dense[i] <= b.reach).any())
                if ok_a and ok_b:
                    best = min(best, len(sa) + len(sb))
            else:
                val = brute_mclp(a.dense, a.reach, a.pop, a.required, none, list(sa), len(sa)) \
                    + brute_mclp(b.dense, b.reach, a.pop, b.required, none, list(sb), len(sb))
                best = max(best, val)
    if math.isinf(best):
        assert res.status == "infeasible"
        return
    assert res.status == "optimal" and res.objective == pytest.approx(best)
    assert not set(res["clinic"].chosen) & set(res["police_room"].chosen)
    # without the slots the types are independent: the sum of their own optima
    free = site_facilities([ta, tb], model=model)
    own = site_facilities([ta], model=model).objective + site_facilities([tb], model=model).objective
    assert free.objective == pytest.approx(own)


# --------------------------------------------------------------------------------------
# properties
# --------------------------------------------------------------------------------------


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), budget=st.integers(0, 5), cap=st.booleans())
def test_a_larger_budget_never_covers_fewer_people(seed: int, budget: int, cap: bool) -> None:
    case = make_case(seed, n_sites=25, n_cand=12)
    capacity = np.full(12, 400.0) if cap else None
    t = SitingType("x", case.csr, case.reach, case.pop, required=case.required, budget=budget,
                   capacity=capacity)
    lo, hi = mclp(t), mclp(dataclasses.replace(t, budget=budget + 1))
    assert hi.objective >= lo.objective - 1e-6
    pm = SitingType("x", case.csr, case.reach, case.pop, budget=budget + 1,
                    unserved_min=45.0)
    assert p_median(dataclasses.replace(pm, budget=budget + 2)).objective \
        <= p_median(pm).objective + 1e-6


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), fixed=st.integers(0, 11), cap=st.booleans())
def test_fixing_an_existing_facility_never_needs_more_new_ones(seed: int, fixed: int,
                                                               cap: bool) -> None:
    case = make_case(seed, n_sites=20, n_cand=12)
    capacity = np.full(12, 800.0) if cap else None
    t = SitingType("x", case.csr, case.reach, case.pop, required=case.required,
                   capacity=capacity)
    before = lscp(t)
    ex = case.csr[:, [fixed]]
    after = lscp(dataclasses.replace(
        t, existing_cost_min=ex, existing_capacity=np.array([800.0]) if cap else None))
    if before.status == "infeasible":
        return
    assert after.status == "optimal"
    assert after.objective <= before.objective


# --------------------------------------------------------------------------------------
# inputs, zero costs, uncoverable sites, greedy fallback
# --------------------------------------------------------------------------------------


def test_zero_minute_pairs_count_and_pair_costs_are_accepted() -> None:
    # two sites, two candidates each standing on one site: 0.0 minute pairs, reach 0
    pc = PairCosts(site=np.array([0, 1]), fac=np.array([0, 1]), cost=np.array([0.0, 0.0]),
                   n_sites=2, n_facs=2, weight="time", max_cost=0.0)
    res = lscp(SitingType("x", pc, 0.0, np.array([5.0, 6.0])))
    assert res.objective == 2 and list(res["x"].chosen) == [0, 1]
    res = lscp(SitingType("x", pc.to_csr(), 0.0, np.array([5.0, 6.0])))
    assert res.objective == 2 and res["x"].covered.all()


def test_uncoverable_sites_are_reported_and_the_rest_solved() -> None:
    dense = np.array([[1.0, np.inf], [np.inf, 2.0], [50.0, np.inf], [np.inf, np.inf]])
    res = lscp(SitingType("clinic", dense, 10.0, np.array([1.0, 1, 1, 1])))
    tr = res["clinic"]
    assert list(tr.uncoverable) == [2, 3]
    assert res.status == "optimal" and res.objective == 2
    assert "2 required site(s)" in res.note and "sites 2, 3" in res.note
    assert list(tr.covered) == [True, True, False, False]


@pytest.mark.parametrize("model", ["lscp", "mclp", "p_median"])
@pytest.mark.parametrize("cap", [False, True])
def test_greedy_fallback_says_so(model: str, cap: bool) -> None:
    case = make_case(11, n_sites=60, n_cand=12)
    budget = None if model == "lscp" else 3
    t = SitingType("x", case.csr, case.reach, case.pop, budget=budget,
                   capacity=np.full(12, 3000.0) if cap else None,
                   unserved_min=50.0 if model == "p_median" else None)
    if model == "p_median" and cap:
        with pytest.raises(InputError, match="no greedy fallback.*fix: raise exact_limit"):
            p_median(t, exact_limit=0)
        return
    exact = site_facilities(t, model=model)
    greedy = site_facilities(t, model=model, exact_limit=0)
    assert greedy.method == "greedy" and greedy.status == "greedy" and greedy.gap is None
    assert "greedy answer, not proven optimal" in greedy.note and "exact_limit" in greedy.note
    assert exact.method == "exact"
    if model == "mclp":
        assert greedy.objective <= exact.objective + 1e-6
        assert greedy["x"].n_new <= 3
    else:
        assert greedy.objective >= exact.objective - 1e-6
    if model == "lscp" and not cap:
        coverable = (case.dense <= case.reach).any(axis=1)
        assert greedy["x"].covered[coverable].all()


def test_type_from_rules_and_table() -> None:
    rules = list(load_rules("default"))
    case = make_case(2)
    t = type_from_rules(rules, "clinic", cost_min=case.csr, pop=case.pop)
    assert t.reach_min == 30.0 and t.capacity is None
    with pytest.raises(InputError, match=r"'swimming_pool' has no rule.*fix: add a rule"):
        type_from_rules(rules, "swimming_pool", cost_min=case.csr, pop=case.pop)
    # a capacity norm: 1 child per place, candidates of 60 places
    kg = next(r for r in load_rules("baoshan-2023") if r.id == "kindergarten-scale")
    reach = dataclasses.replace(next(r for r in rules if r.facility_type == "clinic")
                                .satisfied_by)
    kg = dataclasses.replace(kg, satisfied_by=reach)
    with pytest.raises(InputError, match="candidate_units"):
        type_from_rules([kg], "kindergarten", cost_min=case.csr, pop=case.pop)
    t = type_from_rules([kg], "kindergarten", cost_min=case.csr, pop=case.pop,
                        candidate_units=np.full(10, 60.0), budget=2)
    assert np.all(t.capacity == 60.0 * kg.capacity.max_per_unit)
    res = mclp(t)
    table = chosen_table(res)
    assert list(table["candidate"]) == list(res["kindergarten"].chosen)
    assert set(table["method"]) == {"exact"}


@pytest.mark.parametrize("change, model, match", [
    ({"budget": -1}, "mclp", r"budget = -1 is not an integer >= 0.*fix"),
    ({"budget": 2.5}, "mclp", r"budget = 2.5 is not an integer"),
    ({}, "mclp", r"mclp needs a budget.*fix: give budget=N"),
    ({"budget": 3}, "lscp", r"LSCP takes no budget.*fix"),
    ({"excluded": np.ones(10, bool)}, "lscp", r"all 10 candidates are excluded.*fix"),
    ({"reach_min": -5.0}, "lscp", r"reach_min = -5.0 is not a time.*fix"),
    ({"pop": np.ones(3)}, "lscp", r"pop has shape \(3,\), expected \(14,\)"),
    ({"pop": np.full(14, np.nan)}, "lscp", r"pop\[0\] = nan"),
    ({"cost_min": -np.ones((14, 10))}, "lscp", r"140 negative.*fix"),
    ({"capacity": np.ones(4)}, "lscp", r"capacity \(per candidate\) has shape"),
    ({"existing_capacity": np.ones(2)}, "lscp", r"existing_capacity needs existing_cost_min"),
    ({"required": np.ones(14)}, "lscp", r"required must be a bool mask"),
    ({"covered": np.zeros(14, bool), "budget": 1}, "p_median", r"p-median needs the times"),
    ({}, "k-centre", r"unknown siting model 'k-centre'.*fix: use one of"),
])
def test_bad_input_names_the_value_and_the_fix(change: dict, model: str, match: str) -> None:
    case = make_case(0)
    t = dataclasses.replace(SitingType("clinic", case.csr, case.reach, case.pop), **change)
    with pytest.raises(InputError, match=match):
        site_facilities(t, model=model)


def test_several_problems_are_reported_at_once() -> None:
    case = make_case(0)
    t = SitingType("clinic", case.csr, case.reach, case.pop, budget=-2,
                   excluded=np.ones(10, bool))
    with pytest.raises(InputError, match=r"problems in the input") as err:
        mclp([t, dataclasses.replace(t, name="police_room")])
    assert len(err.value.problems) == 4
    with pytest.raises(InputError, match=r"facility types named twice: \['clinic'\]"):
        lscp([SitingType("clinic", case.csr, 12.0, case.pop)] * 2)
    with pytest.raises(InputError, match=r"slots are shared by candidates"):
        other = make_case(1, n_cand=5)
        lscp([SitingType("a", case.csr, 12.0, case.pop),
              SitingType("b", other.csr, 12.0, other.pop)], slots=np.ones(10))
    with pytest.raises(InputError, match=r"time_limit_s = -1"):
        lscp(SitingType("a", case.csr, 12.0, case.pop), time_limit_s=-1)
