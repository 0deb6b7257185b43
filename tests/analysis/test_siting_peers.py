"""analysis.siting against its peers on medium random instances (issue 14, Correctness).

* **spopt** (``spopt.locate`` 0.7, CBC through PuLP): LSCP, MCLP, p-median and the
  capacitated LSCP (CLSCP-SO) ``from_cost_matrix`` on the same matrix.  spopt reads a dense
  matrix and covers a pair when ``cost <= service_radius``: the pairs our sparse matrix
  does not store are ``inf``, those stored beyond the reach are kept and must be ignored by
  both.  Existing facilities are extra columns fixed open (``predefined_facilities_arr``;
  spopt's objective then counts them, and its budget ``p`` includes them).  spopt's
  p-median has no reach and assigns every site: the pairs beyond the reach cost ``BIG_MIN``
  there, which is exactly our ``unserved_min=BIG_MIN``.
* **Own PuLP/CBC formulations** (:func:`pulp_optimum`, written here from the issue's model
  statement, not from ``analysis.siting``) for what spopt cannot express: several types
  coupled by shared slots, capacitated MCLP and p-median with split demand (spopt's
  capacitated p-median is single-source), existing facilities of limited capacity next to
  excluded candidates and fallback times.
* **Properties** on medium instances: a larger MCLP budget never covers fewer people;
  fixing an existing facility never increases the number of new LSCP facilities (and
  lowers it by at most one); MCLP with the LSCP count covers everyone coverable.

Skips cleanly when spopt or PuLP is absent (``pip install spopt PuLP``).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

pulp = pytest.importorskip("pulp")
pytestmark = pytest.mark.filterwarnings(
    # PuLP 3.x announces its 4.0 API (prob.add_variable, COIN_CMD); the 2.x/3.x calls
    # used here work on every PuLP spopt 0.7 runs with
    "ignore:.*PuLP 4.0:DeprecationWarning")
spopt_locate = pytest.importorskip("spopt.locate")

from analysis.siting import SitingType, lscp, mclp, p_median, site_facilities  # noqa: E402

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

#: Minutes charged to a site served beyond the reach (spopt's p-median has no reach).
BIG_MIN = 1_000.0
SEEDS = [0, 1, 2, 3]


def cbc() -> Any:
    """A quiet CBC (proven optimum: CBC's default gaps are 0)."""
    return pulp.PULP_CBC_CMD(msg=False)


# --------------------------------------------------------------------------------------
# instances
# --------------------------------------------------------------------------------------


@dataclass
class Inst:
    """A medium instance: dense minutes (``inf`` = pair not stored), its CSR (explicit zeros
    kept), people, the required mask, the reach, and three existing facilities."""

    dense: FloatArray
    csr: sp.csr_matrix
    pop: FloatArray
    required: BoolArray
    reach: float
    ex_dense: FloatArray
    ex_csr: sp.csr_matrix


def _minutes(rng: np.random.Generator, a: FloatArray, b: FloatArray) -> FloatArray:
    """3 min/km straight line × a road detour factor in [1, 1.4)."""
    km = np.linalg.norm(a[:, None, :] - b[None, :, :], axis=2)
    return 3.0 * km * rng.uniform(1.0, 1.4, km.shape)


def _csr(dense: FloatArray) -> sp.csr_matrix:
    s, f = np.nonzero(np.isfinite(dense))
    out = sp.csr_matrix((dense[s, f], (s, f)), shape=dense.shape)
    assert out.nnz == len(s)  # explicit 0.0 pairs kept
    return out


def make_inst(seed: int, n_sites: int, n_cand: int, *, reach: float = 15.0,
              cutoff: float = 22.0, side_km: float = 20.0, every_reached: bool = False,
              min_pop: int = 0) -> Inst:
    """Random sites and candidates in a ``side_km`` square; pairs stored up to ``cutoff``
    minutes (beyond the reach too); three candidates stand on a site (0.0 minutes).

    ``every_reached`` gives every site a candidate within the reach (its nearest one's time
    is cut to 50–95 % of the reach)."""
    rng = np.random.default_rng(seed)
    sites = rng.uniform(0, side_km, (n_sites, 2))
    cands = rng.uniform(0, side_km, (n_cand, 2))
    cands[:3] = sites[:3]
    minutes = _minutes(rng, sites, cands)
    minutes[np.arange(3), np.arange(3)] = 0.0
    if every_reached:
        far = minutes.min(axis=1) > reach
        j = minutes.argmin(axis=1)
        minutes[far, j[far]] = rng.uniform(0.5, 0.95, int(far.sum())) * reach
    dense = np.where(minutes <= cutoff, minutes, np.inf)
    pop = rng.integers(min_pop, 500, n_sites).astype(float)
    pop[rng.random(n_sites) < 0.1] = float(min_pop)
    required = rng.random(n_sites) < 0.85
    ex = _minutes(rng, sites, rng.uniform(0, side_km, (3, 2)))
    ex_dense = np.where(ex <= cutoff, ex, np.inf)
    return Inst(dense, _csr(dense), pop, required, reach, ex_dense, _csr(ex_dense))


def coverable(inst: Inst, *, existing: bool) -> BoolArray:
    """Sites some candidate (or existing facility) reaches within the reach."""
    out: BoolArray = np.any(inst.dense <= inst.reach, axis=1)
    if existing:
        out = out | np.any(inst.ex_dense <= inst.reach, axis=1)
    return out


# --------------------------------------------------------------------------------------
# spopt on the same matrix
# --------------------------------------------------------------------------------------


def _with_existing(inst: Inst, existing: bool) -> tuple[FloatArray, FloatArray | None]:
    """spopt's columns: the candidates, then the existing facilities fixed open."""
    if not existing:
        return inst.dense, None
    n_c, n_e = inst.dense.shape[1], inst.ex_dense.shape[1]
    fixed = np.concatenate([np.zeros(n_c), np.ones(n_e)]).astype(int)
    return np.hstack([inst.dense, inst.ex_dense]), fixed


def spopt_lscp(inst: Inst, *, existing: bool, demand: FloatArray | None = None,
               cap: FloatArray | None = None) -> float:
    """spopt's LSCP (or CLSCP-SO) optimum over our required, coverable sites: new
    facilities only (the fixed existing ones subtracted)."""
    cost, fixed = _with_existing(inst, existing)
    rows = inst.required & coverable(inst, existing=existing)
    kw = {} if demand is None else {"demand_quantity_arr": demand[rows],
                                    "facility_capacity_arr": cap}
    m = spopt_locate.LSCP.from_cost_matrix(cost[rows], inst.reach,
                                           predefined_facilities_arr=fixed, **kw)
    m.solve(cbc(), results=False)  # raises RuntimeError unless optimal
    return float(pulp.value(m.problem.objective)) - (0 if fixed is None else int(fixed.sum()))


def spopt_mclp(inst: Inst, budget: int, *, existing: bool) -> float:
    """spopt's MCLP optimum (people covered) over our required sites, weights = pop."""
    cost, fixed = _with_existing(inst, existing)
    p = budget + (0 if fixed is None else int(fixed.sum()))
    rows = inst.required
    m = spopt_locate.MCLP.from_cost_matrix(cost[rows], inst.pop[rows], inst.reach,
                                           p_facilities=p, predefined_facilities_arr=fixed)
    m.solve(cbc(), results=False)
    return float(pulp.value(m.problem.objective))


def spopt_p_median(inst: Inst, budget: int, *, existing: bool, big_min: float = BIG_MIN
                   ) -> tuple[float, bool]:
    """spopt's p-median on the dense matrix, pairs beyond the reach costing ``big_min``:
    (objective, whether its answer sends people of some site beyond the reach)."""
    cost, fixed = _with_existing(inst, existing)
    beyond = cost > inst.reach
    cost = np.where(beyond, big_min, cost)
    p = budget + (0 if fixed is None else int(fixed.sum()))
    rows = inst.required
    m = spopt_locate.PMedian.from_cost_matrix(cost[rows], inst.pop[rows], p_facilities=p,
                                              predefined_facilities_arr=fixed)
    m.solve(cbc(), results=False)
    z = np.vectorize(lambda v: v.value() or 0.0)(m.cli_assgn_vars)
    used_beyond = bool(((z > 0.5) & beyond[rows] & (inst.pop[rows] > 0)[:, None]).any())
    return float(pulp.value(m.problem.objective)), used_beyond


@pytest.mark.parametrize("seed, n_sites, n_cand", [(0, 200, 80), (1, 120, 60), (2, 150, 40),
                                                   (3, 60, 30)])
@pytest.mark.parametrize("existing", [False, True])
def test_lscp_equals_spopt(seed: int, n_sites: int, n_cand: int, existing: bool) -> None:
    inst = make_inst(seed, n_sites, n_cand)
    t = SitingType("clinic", inst.csr, inst.reach, inst.pop, required=inst.required,
                   existing_cost_min=inst.ex_csr if existing else None)
    res = lscp(t)
    assert res.status == "optimal" and res.gap == 0.0
    peer = spopt_lscp(inst, existing=existing)
    assert res.objective == peer
    assert res.objective >= 5  # not a trivial instance
    tr = res["clinic"]
    # our answer really covers every coverable required site
    cov = coverable(inst, existing=existing) & inst.required
    assert np.array_equal(tr.covered, cov)
    assert set(tr.uncoverable) == set(np.flatnonzero(inst.required & ~cov))


@pytest.mark.parametrize("seed, n_sites, n_cand", [(0, 200, 80), (1, 120, 60), (2, 90, 45)])
@pytest.mark.parametrize("budget", [1, 4, 9])
@pytest.mark.parametrize("existing", [False, True])
def test_mclp_equals_spopt(seed: int, n_sites: int, n_cand: int, budget: int,
                           existing: bool) -> None:
    inst = make_inst(seed, n_sites, n_cand)
    t = SitingType("kindergarten", inst.csr, inst.reach, inst.pop, required=inst.required,
                   budget=budget, existing_cost_min=inst.ex_csr if existing else None)
    res = mclp(t)
    assert res.status == "optimal" and res.gap == 0.0
    peer = spopt_mclp(inst, budget, existing=existing)
    assert res.objective == pytest.approx(peer, abs=1e-6)
    tr = res["kindergarten"]
    assert tr.n_new <= budget
    assert tr.covered_pop == pytest.approx(float(inst.pop[tr.covered].sum()))


@pytest.mark.parametrize("seed, n_sites, n_cand", [(0, 80, 40), (1, 60, 30), (2, 100, 30)])
@pytest.mark.parametrize("budget", [2, 6])
@pytest.mark.parametrize("existing", [False, True])
def test_p_median_equals_spopt(seed: int, n_sites: int, n_cand: int, budget: int,
                               existing: bool) -> None:
    """Pairs beyond the reach cost BIG_MIN in spopt's dense matrix, which is exactly our
    ``unserved_min=BIG_MIN`` (a site no open facility reaches pays it)."""
    inst = make_inst(seed, n_sites, n_cand, reach=25.0, cutoff=35.0, every_reached=True)
    t = SitingType("school", inst.csr, inst.reach, inst.pop, required=inst.required,
                   budget=budget, existing_cost_min=inst.ex_csr if existing else None)
    res = p_median(t, unserved_min=BIG_MIN)
    assert res.status == "optimal" and res.gap == pytest.approx(0.0, abs=1e-9)
    peer, _ = spopt_p_median(inst, budget, existing=existing)
    assert res.objective == pytest.approx(peer, rel=1e-9)
    tr = res["school"]
    assert tr.n_new <= budget
    req = inst.required
    assert float(np.sum(inst.pop[req] * tr.time_min[req])) == pytest.approx(peer, rel=1e-9)


@pytest.mark.parametrize("seed, n_sites, n_cand", [(0, 80, 40), (1, 60, 30), (2, 100, 30)])
@pytest.mark.parametrize("existing", [False, True])
def test_p_median_serving_everyone_equals_spopt(seed: int, n_sites: int, n_cand: int,
                                               existing: bool) -> None:
    """Every site within reach of a candidate and a budget (the LSCP count) that can serve
    them all: our p-median without ``unserved_min`` (every site served within the reach)
    equals spopt's, whose answer then sends nobody beyond the reach."""
    inst = make_inst(seed, n_sites, n_cand, reach=25.0, cutoff=35.0, every_reached=True)
    ex = inst.ex_csr if existing else None
    cover = lscp(SitingType("school", inst.csr, inst.reach, inst.pop,
                            required=inst.required & (inst.pop > 0), existing_cost_min=ex))
    budget = int(cover.objective)
    t = SitingType("school", inst.csr, inst.reach, inst.pop, required=inst.required,
                   budget=budget, existing_cost_min=ex)
    res = p_median(t)
    assert res.status == "optimal" and res.gap == pytest.approx(0.0, abs=1e-9)
    peer, used_beyond = spopt_p_median(inst, budget, existing=existing, big_min=1e5)
    assert not used_beyond
    assert res.objective == pytest.approx(peer, rel=1e-9)
    req = inst.required & (inst.pop > 0)
    assert np.all(res["school"].time_min[req] <= inst.reach)
    # one facility fewer than the covering count cannot serve everyone within the reach
    if budget > 0 and not existing:
        assert p_median(dataclasses.replace(t, budget=budget - 1)).status == "infeasible"


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("existing", [False, True])
def test_capacitated_lscp_equals_spopt(seed: int, existing: bool) -> None:
    inst = make_inst(seed, 100, 40)
    rng = np.random.default_rng(seed + 1)
    cap = rng.uniform(400, 2500, 40).round()
    ecap = np.array([600.0, 300.0, 900.0])
    demand = inst.pop + 1.0  # every site needs places
    t = SitingType("police_room", inst.csr, inst.reach, inst.pop, required=inst.required,
                   capacity=cap, demand=demand,
                   existing_cost_min=inst.ex_csr if existing else None,
                   existing_capacity=ecap if existing else None)
    res = lscp(t)
    try:
        peer = spopt_lscp(inst, existing=existing, demand=demand,
                          cap=np.concatenate([cap, ecap]) if existing else cap)
    except RuntimeError as err:  # spopt: "Model is not solved: Infeasible"
        assert "Infeasible" in str(err) and res.status == "infeasible"
        return
    assert res.status == "optimal"
    assert res.objective == peer
    uncapacitated = lscp(dataclasses.replace(t, capacity=None, existing_capacity=None))
    assert res.objective >= uncapacitated.objective
    share = res["police_room"].served_share
    rows = inst.required & coverable(inst, existing=existing)
    assert np.allclose(share[rows], 1.0, atol=1e-6)


# --------------------------------------------------------------------------------------
# own PuLP/CBC formulation: fixed facilities, capacity, types coupled by slots
# --------------------------------------------------------------------------------------


@dataclass
class Spec:
    """One type for :func:`pulp_optimum`, as dense arrays (``inf`` = no pair)."""

    dense: FloatArray
    reach: float
    pop: FloatArray
    required: BoolArray
    budget: int | None = None
    ex: FloatArray | None = None
    cap: FloatArray | None = None
    ecap: FloatArray | None = None
    demand: FloatArray | None = None
    excluded: BoolArray | None = None
    time0: FloatArray | None = None


def _add_type(prob: Any, sp_: Spec, model: str, tag: str, y: dict[int, Any]
              ) -> tuple[list[Any], float]:
    """Add one type's variables and constraints; its objective terms and constant.

    The model statement: a pair serves when it costs at most the reach; existing
    facilities are open; of unlimited capacity (no ``ecap``, or an uncapacitated model)
    they cover their sites and give p-median a fallback time; capacitated, a site's demand
    may be split between open facilities within reach, each serving at most its capacity.
    """
    n, m = sp_.dense.shape
    allowed = np.ones(m, bool) if sp_.excluded is None else ~sp_.excluded
    a = (sp_.dense <= sp_.reach) & allowed[None, :]
    e = np.zeros((n, 0), bool) if sp_.ex is None else sp_.ex <= sp_.reach
    cap_mode = sp_.cap is not None
    limited = cap_mode and sp_.ecap is not None
    e_free = np.zeros((n, 0), bool) if limited else e
    e_lim = e if limited else np.zeros((n, 0), bool)
    ex_cov = e_free.any(axis=1)
    d = sp_.pop if sp_.demand is None else sp_.demand
    t0 = np.full(n, np.inf) if sp_.time0 is None else sp_.time0.copy()
    if model == "p_median" and sp_.ex is not None and not limited:
        t0 = np.minimum(t0, np.where(e_free, sp_.ex, np.inf).min(axis=1, initial=np.inf))
    terms: list[Any] = []
    const = 0.0
    if sp_.budget is not None:
        prob += pulp.lpSum(y.values()) <= sp_.budget
    if model == "lscp":
        terms += list(y.values())
        rows = sp_.required & ~ex_cov & (a.any(axis=1) | e_lim.any(axis=1))
    elif model == "mclp":
        const = float(sp_.pop[sp_.required & ex_cov].sum())
        rows = sp_.required & ~ex_cov & (sp_.pop > 0)
    else:
        rows = sp_.required & ((sp_.pop > 0) | (cap_mode & (d > 0)))
        rows &= a.any(axis=1) | e_lim.any(axis=1) | np.isfinite(t0)
    if not cap_mode and model != "p_median":
        for i in np.flatnonzero(rows):
            cover = pulp.lpSum(y[int(j)] for j in np.flatnonzero(a[i]))
            if model == "lscp":
                prob += cover >= 1
            else:
                z = pulp.LpVariable(f"z{tag}_{i}", cat="Binary")
                prob += z <= cover
                terms.append(float(sp_.pop[i]) * z)
        return terms, const
    load: dict[int, list[Any]] = {j: [] for j in y}
    eload: dict[int, list[Any]] = {k: [] for k in range(e_lim.shape[1])}
    for i in np.flatnonzero(rows):
        share: list[Any] = []
        for j in map(int, np.flatnonzero(a[i])):
            x = pulp.LpVariable(f"x{tag}_{i}_{j}", 0, 1)
            prob += x <= y[j]
            load[j].append(float(d[i]) * x)
            share.append(x)
            if model == "p_median":
                terms.append(float(sp_.pop[i] * sp_.dense[i, j]) * x)
        for k in map(int, np.flatnonzero(e_lim[i])):
            x = pulp.LpVariable(f"xe{tag}_{i}_{k}", 0, 1)
            eload[k].append(float(d[i]) * x)
            share.append(x)
            if model == "p_median":
                assert sp_.ex is not None
                terms.append(float(sp_.pop[i] * sp_.ex[i, k]) * x)
        if model == "p_median" and math.isfinite(t0[i]):
            x0 = pulp.LpVariable(f"x0{tag}_{i}", 0, 1)
            share.append(x0)
            terms.append(float(sp_.pop[i] * t0[i]) * x0)
        if model == "mclp":
            prob += pulp.lpSum(share) <= 1
            terms += [float(sp_.pop[i]) * x for x in share]
        else:
            prob += pulp.lpSum(share) == 1
    if sp_.cap is not None:
        for j, parts in load.items():
            prob += pulp.lpSum(parts) <= float(sp_.cap[j]) * y[j]
    if sp_.ecap is not None:
        for k, parts in eload.items():
            prob += pulp.lpSum(parts) <= float(sp_.ecap[k])
    return terms, const


def pulp_optimum(specs: list[Spec], model: str, *, slots: FloatArray | None = None
                 ) -> float | None:
    """The optimum of ``model`` over ``specs`` (coupled by ``slots``) by CBC; ``None`` when
    infeasible."""
    sense = pulp.LpMaximize if model == "mclp" else pulp.LpMinimize
    prob = pulp.LpProblem("peer", sense)
    ys: list[dict[int, Any]] = []
    terms: list[Any] = []
    const = 0.0
    for t, s in enumerate(specs):
        m = s.dense.shape[1]
        allowed = np.ones(m, bool) if s.excluded is None else ~s.excluded
        y = {int(j): pulp.LpVariable(f"y{t}_{j}", cat="Binary") for j in np.flatnonzero(allowed)}
        ys.append(y)
        more, c = _add_type(prob, s, model, str(t), y)
        terms += more
        const += c
    if slots is not None:
        for j in range(len(slots)):
            use = [y[j] for y in ys if j in y]
            if len(use) > slots[j]:
                prob += pulp.lpSum(use) <= float(slots[j])
    prob += pulp.lpSum(terms)
    status = prob.solve(cbc())
    if pulp.LpStatus[status] == "Infeasible":
        return None
    assert pulp.LpStatus[status] == "Optimal", pulp.LpStatus[status]
    return float(pulp.value(prob.objective) or 0.0) + const


def _types(seed: int, n_types: int, n_sites: int, n_cand: int
           ) -> tuple[list[SitingType], list[Spec]]:
    """``n_types`` types on the same sites and candidates (own minutes and reach each)."""
    ours, specs = [], []
    base = make_inst(seed, n_sites, n_cand)
    for t in range(n_types):
        inst = make_inst(seed + 100 * t, n_sites, n_cand, reach=12.0 + 3 * t)
        ours.append(SitingType(f"type{t}", inst.csr, inst.reach, base.pop,
                               required=inst.required))
        specs.append(Spec(inst.dense, inst.reach, base.pop, inst.required))
    return ours, specs


@pytest.mark.parametrize("seed, least_slots", [(2, 1), (3, 1), (0, 0)])
@pytest.mark.parametrize("model", ["lscp", "mclp", "p_median"])
def test_types_coupled_by_slots_equal_pulp(seed: int, least_slots: int, model: str) -> None:
    """Three types on the same candidates, each holding 0–2 facilities in all (the LSCP of
    seed 0 has no solution: CBC and HiGHS must agree on that too)."""
    n_sites, n_cand = (70, 30) if model == "p_median" else (120, 50)
    ours, specs = _types(seed, 3, n_sites, n_cand)
    slots = np.random.default_rng(seed).integers(least_slots, 3, n_cand).astype(float)
    budget = None if model == "lscp" else 4
    kw = {"unserved_min": 60.0} if model == "p_median" else {}
    ours = [dataclasses.replace(t, budget=budget) for t in ours]
    for s in specs:
        s.budget = budget
        if model == "p_median":
            s.time0 = np.full(n_sites, 60.0)
    res = site_facilities(ours, model=model, slots=slots, **kw)
    peer = pulp_optimum(specs, model, slots=slots)
    if peer is None:
        assert res.status == "infeasible" and (seed, model) == (0, "lscp")
        return
    assert res.status == "optimal"
    assert res.objective == pytest.approx(peer, rel=1e-9, abs=1e-6)
    used = np.zeros(n_cand)
    for t in ours:
        np.add.at(used, res[t.name].chosen, 1)
    assert (used <= slots).all()
    # the slots bind: without them the run is no worse, and equals the sum of the types
    free = site_facilities(ours, model=model, **kw)
    better = free.objective >= res.objective - 1e-6 if model == "mclp" \
        else free.objective <= res.objective + 1e-6
    assert better
    own = sum(site_facilities(t, model=model, **kw).objective for t in ours)
    assert free.objective == pytest.approx(own, rel=1e-9)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("model", ["lscp", "mclp", "p_median"])
def test_fixed_and_capacitated_existing_equal_pulp(seed: int, model: str) -> None:
    """Existing facilities of limited capacity, candidate capacities, excluded candidates,
    a fallback time: none of which spopt takes together."""
    n_sites, n_cand = (70, 30) if model == "p_median" else (100, 40)
    inst = make_inst(seed, n_sites, n_cand, reach=20.0, cutoff=28.0)
    rng = np.random.default_rng(seed + 9)
    cap = rng.uniform(500, 3000, n_cand).round()
    ecap = rng.uniform(200, 1500, 3).round()
    demand = np.round(inst.pop * rng.uniform(0.05, 0.2, n_sites)) * 10 + 1
    excluded = rng.random(n_cand) < 0.15
    time0 = np.where(rng.random(n_sites) < 0.3, rng.uniform(10, 45, n_sites), np.inf) \
        if model == "p_median" else None
    budget = None if model == "lscp" else 5
    t = SitingType("kindergarten", inst.csr, inst.reach, inst.pop, required=inst.required,
                   budget=budget, existing_cost_min=inst.ex_csr, capacity=cap,
                   existing_capacity=ecap, demand=demand, excluded=excluded,
                   existing_time_min=time0)
    spec = Spec(inst.dense, inst.reach, inst.pop, inst.required, budget=budget,
                ex=inst.ex_dense, cap=cap, ecap=ecap, demand=demand, excluded=excluded,
                time0=time0)
    kw = {"unserved_min": BIG_MIN} if model == "p_median" else {}
    if model == "p_median":
        spec.time0 = np.minimum(np.where(time0 <= inst.reach, time0, np.inf), BIG_MIN)  # type: ignore[arg-type]
    res = site_facilities(t, model=model, **kw)
    peer = pulp_optimum([spec], model)
    if peer is None:
        assert res.status == "infeasible"
        return
    assert res.status == "optimal"
    assert res.objective == pytest.approx(peer, rel=1e-7, abs=1e-6)
    assert not set(res["kindergarten"].chosen) & set(np.flatnonzero(excluded))
    # the same run uncapacitated, against the same formulation uncapacitated
    free_t = dataclasses.replace(t, capacity=None, existing_capacity=None, demand=None)
    free = site_facilities(free_t, model=model, **kw)
    free_peer = pulp_optimum([dataclasses.replace(spec, cap=None, ecap=None, demand=None)],
                             model)
    assert free.status == "optimal"
    assert free.objective == pytest.approx(free_peer, rel=1e-7, abs=1e-6)


# --------------------------------------------------------------------------------------
# properties on medium instances
# --------------------------------------------------------------------------------------


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 100_000), budget=st.integers(0, 12), cap=st.booleans())
def test_a_larger_mclp_budget_never_covers_fewer_people(seed: int, budget: int,
                                                        cap: bool) -> None:
    inst = make_inst(seed, 150, 60)
    capacity = np.full(60, 2500.0) if cap else None
    t = SitingType("x", inst.csr, inst.reach, inst.pop, required=inst.required,
                   budget=budget, capacity=capacity, existing_cost_min=inst.ex_csr)
    lo, hi = mclp(t), mclp(dataclasses.replace(t, budget=budget + 1))
    assert lo.status == hi.status == "optimal"
    assert hi.objective >= lo.objective - 1e-6
    # one more facility adds at most what the best single candidate reaches (drop it from
    # the larger answer: what remains is a smaller budget's answer)
    reached = (inst.dense <= inst.reach) & inst.required[:, None]
    best_one = float((inst.pop[:, None] * reached).sum(axis=0).max())
    assert hi.objective <= lo.objective + best_one + 1e-6


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 100_000), fixed=st.integers(0, 59))
def test_fixing_an_existing_facility_never_needs_more_new_ones(seed: int, fixed: int) -> None:
    inst = make_inst(seed, 150, 60)
    t = SitingType("x", inst.csr, inst.reach, inst.pop, required=inst.required)
    before = lscp(t)
    after = lscp(dataclasses.replace(t, existing_cost_min=inst.csr[:, [fixed]]))
    assert before.status == after.status == "optimal"
    # never more; and at most one fewer (before ≤ after's new ones + the fixed one)
    assert before.objective - 1 <= after.objective <= before.objective
    assert fixed not in set(after["x"].chosen)  # building again where one stands is useless


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 100_000))
def test_mclp_with_the_lscp_count_covers_everyone_coverable(seed: int) -> None:
    inst = make_inst(seed, 150, 60, min_pop=1)  # everyone counts
    t = SitingType("x", inst.csr, inst.reach, inst.pop, required=inst.required)
    k = int(lscp(t).objective)
    want = float(inst.pop[inst.required & coverable(inst, existing=False)].sum())
    full = mclp(dataclasses.replace(t, budget=k))
    assert full.objective == pytest.approx(want)
    short = mclp(dataclasses.replace(t, budget=k - 1))
    assert short.objective < want - 0.5  # the LSCP count is the least that covers all
