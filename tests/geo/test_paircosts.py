"""The pair core (geo.paircosts): cost matrix and k nearest facilities — against networkx on
split edges."""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from anzhi.core.errors import InputError
from geo.paircosts import PairCosts, cost_matrix, k_nearest
from geo.roads import RoadGraph
from geo.routing import nearest_facility
from tests.geo._networks import LAT0, LON0, PROFILES, STEP, core_inputs, grid_case, random_grid, scatter
from tests.geo._reference import gc, reference_matrix, split_reference

WEIGHTS = ("length", "time")


# --------------------------------------------------------------------------- cost_matrix


@pytest.mark.parametrize("seed", [41, 42])
@pytest.mark.parametrize("profile", ["walk", "drive"])
@pytest.mark.parametrize("sizes", [(24, 9), (6, 14)], ids=["from-facilities", "from-sites"])
def test_cost_matrix_equals_networkx_on_split_edges(seed: int, profile: str, sizes: tuple[int, int]) -> None:
    n_s, n_f = sizes
    G, prof, rg, (s_lon, s_lat), (f_lon, f_lat), e_star = grid_case(seed, profile, n_s, n_f)
    ss, fs, kw = core_inputs(rg, s_lon, s_lat, f_lon, f_lat)
    assert (ss.edge[n_s - 3:n_s - 1] == e_star).all() and (fs.edge[n_f - 3:n_f - 1] == e_star).all()
    assert ss.reason[-1] == "no_road_nearby" and fs.reason[-1] == "no_road_nearby"
    H = split_reference(G, prof, rg, (s_lon, s_lat, ss), (f_lon, f_lat, fs))
    for weight in WEIGHTS:
        ref = reference_matrix(H, n_s, n_f, weight)
        got = cost_matrix(rg, weight=weight, **kw)  # type: ignore[arg-type]
        assert isinstance(got, PairCosts) and got.shape == (n_s, n_f)
        dense = got.to_dense()
        assert np.array_equal(np.isfinite(dense), np.isfinite(ref))
        fin = np.isfinite(ref)
        assert np.abs(dense[fin] - ref[fin]).max() < 1e-6
        assert fin.sum() > 0.3 * n_s * n_f  # not vacuous (drive: oneways, no footways)
        # the far site reaches only its own facility, straight (direct leg)
        assert np.isfinite(dense[-1]).sum() == 1
        assert dense[-1, -1] == pytest.approx(gc(s_lon[-1], s_lat[-1], f_lon[-1], f_lat[-1])
                                              * (1.0 if weight == "length" else 60 / 4500), abs=1e-9)
        # the cutoff drops exactly the pairs above it; a pair at the cutoff stays
        cut = float(np.median(dense[fin]))
        part = cost_matrix(rg, weight=weight, max_cost=cut, chunk=3, **kw)  # type: ignore[arg-type]
        kept = np.zeros((n_s, n_f), dtype=bool)
        kept[part.site, part.fac] = True
        assert np.array_equal(kept, fin & (dense <= cut))
        assert np.array_equal(part.cost, dense[part.site, part.fac])
        assert (ref[fin & ~kept] > cut - 1e-6).all() and (ref[kept] <= cut + 1e-6).all()
        # pairs sorted by site then facility, each once
        key = part.site * n_f + part.fac
        assert (np.diff(key) > 0).all()


def test_cost_matrix_keeps_exact_zeros_and_the_cost_equal_to_the_cutoff() -> None:
    # a straight two-way street 1 → 2 of exactly 250 m; a site and a facility on node 1, a
    # facility on node 2
    G = nx.MultiDiGraph(crs="epsg:4326")
    G.add_node(1, x=LON0, y=LAT0)
    G.add_node(2, x=LON0 + STEP, y=LAT0)
    G.add_edge(1, 2, length=250.0, highway="residential")
    G.add_edge(2, 1, length=250.0, highway="residential")
    rg = RoadGraph.from_networkx(G, profile=PROFILES["walk"])
    _, _, kw = core_inputs(rg, np.array([LON0]), np.array([LAT0]),
                           np.array([LON0, LON0 + STEP]), np.array([LAT0, LAT0]))
    full = cost_matrix(rg, weight="length", **kw)  # type: ignore[arg-type]
    assert full.site.tolist() == [0, 0] and full.fac.tolist() == [0, 1]
    assert full.cost.tolist() == pytest.approx([0.0, 250.0], abs=1e-9)
    csr = full.to_csr()
    assert csr.nnz == 2 and csr.indices.tolist() == [0, 1] and csr.data[0] == 0.0  # zero stored
    assert full.to_dense().ravel().tolist() == pytest.approx([0.0, 250.0], abs=1e-9)
    assert len(cost_matrix(rg, weight="length", max_cost=250.0, **kw)) == 2  # type: ignore[arg-type]
    at = cost_matrix(rg, weight="length", max_cost=249.999, **kw)  # type: ignore[arg-type]
    assert at.fac.tolist() == [0] and np.isinf(at.to_dense()[0, 1])
    assert len(cost_matrix(rg, weight="length", max_cost=0.0, **kw)) == 1  # type: ignore[arg-type]


def test_cost_matrix_input_errors() -> None:
    G = random_grid(3)
    rg = RoadGraph.from_networkx(G, profile=PROFILES["walk"])
    _, _, kw = core_inputs(rg, *scatter(np.random.default_rng(3), 4), *scatter(np.random.default_rng(4), 3))
    with pytest.raises(InputError, match="max_cost must be a number >= 0.*-1"):
        cost_matrix(rg, weight="time", max_cost=-1.0, **kw)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="max_cost must be a number >= 0.*nan"):
        cost_matrix(rg, weight="time", max_cost=math.nan, **kw)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="chunk must be a whole number.*0"):
        cost_matrix(rg, weight="time", chunk=0, **kw)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="unknown routing weight 'speed'"):
        cost_matrix(rg, weight="speed", **kw)  # type: ignore[arg-type]
    bad = dict(kw, site_fraction=np.full(4, 1.5))
    with pytest.raises(InputError, match=r"site position\(s\) are not on the graph"):
        cost_matrix(rg, weight="time", **bad)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="direct leg.*name no site/facility"):
        cost_matrix(rg, weight="time", **dict(kw, direct=([0], [7], [1.0])))  # type: ignore[arg-type]


# --------------------------------------------------------------------------- k_nearest


@pytest.mark.parametrize("seed", [5, 6, 7])
@pytest.mark.parametrize("profile", ["walk", "drive"])
def test_k1_equals_nearest_facility(seed: int, profile: str) -> None:
    _, _, rg, (s_lon, s_lat), (f_lon, f_lat), _ = grid_case(seed, profile, 30, 10)
    ss, fs, kw = core_inputs(rg, s_lon, s_lat, f_lon, f_lat)
    kw.pop("direct")  # nearest_facility has no direct legs (access_table adds them)
    for weight in WEIGHTS:
        fac, cost = k_nearest(rg, k=1, weight=weight, **kw)  # type: ignore[arg-type]
        assert fac.shape == (30, 1) and fac.dtype == np.int64 and cost.dtype == np.float64
        ids, ref = nearest_facility(rg, ss.node, ss.snap_dist_m, fs.node, fs.snap_dist_m,
                                    [str(j) for j in range(10)], weight=weight,
                                    site_edge=ss.edge, site_fraction=ss.fraction,
                                    fac_edge=fs.edge, fac_fraction=fs.fraction)
        reached = np.isfinite(ref)
        assert reached.sum() >= 20
        assert np.array_equal(np.isfinite(cost[:, 0]), reached)
        assert np.array_equal(fac[:, 0] >= 0, reached)
        assert np.abs(cost[reached, 0] - ref[reached]).max() < 1e-9
        assert [str(j) for j in fac[reached, 0]] == ids[reached].tolist()


@pytest.mark.parametrize("seed", [8, 9])
@pytest.mark.parametrize("profile", ["walk", "drive"])
def test_k_nearest_equals_the_sorted_rows_of_the_full_matrix(seed: int, profile: str) -> None:
    _, _, rg, (s_lon, s_lat), (f_lon, f_lat), _ = grid_case(seed, profile, 25, 12)
    _, _, kw = core_inputs(rg, s_lon, s_lat, f_lon, f_lat)
    for weight in WEIGHTS:
        dense = cost_matrix(rg, weight=weight, **kw).to_dense()  # type: ignore[arg-type]
        order = np.lexsort((np.broadcast_to(np.arange(12), dense.shape), dense), axis=1)
        for k in range(2, 6):
            fac, cost = k_nearest(rg, k=k, weight=weight, **kw)  # type: ignore[arg-type]
            assert fac.shape == cost.shape == (25, k)
            exp_f = order[:, :k]
            exp_c = np.take_along_axis(dense, exp_f, axis=1)
            exp_f = np.where(np.isfinite(exp_c), exp_f, -1)
            assert np.array_equal(np.isfinite(cost), np.isfinite(exp_c))
            assert np.array_equal(fac >= 0, exp_f >= 0)
            fin = np.isfinite(exp_c)
            assert np.abs(cost[fin] - exp_c[fin]).max() < 1e-9
            # the facility named has that cost in the matrix (ties may swap equal facilities)
            rows = np.nonzero(fin)[0]
            assert np.abs(dense[rows, fac[fin]] - cost[fin]).max() < 1e-9
            assert (cost[:, :-1] <= cost[:, 1:]).all()  # sorted, inf padding last
            # with a cutoff: the same, truncated
            cut = float(np.nanmedian(np.where(fin, exp_c, np.nan)))
            fc, cc = k_nearest(rg, k=k, weight=weight, max_cost=cut, **kw)  # type: ignore[arg-type]
            assert np.array_equal(fc >= 0, inside := fin & (exp_c <= cut))
            assert np.array_equal(np.isfinite(cc), inside)
            assert np.abs(cc[inside] - exp_c[inside]).max(initial=0.0) < 1e-9


def test_k_must_be_1_to_5() -> None:
    G = random_grid(3)
    rg = RoadGraph.from_networkx(G, profile=PROFILES["walk"])
    _, _, kw = core_inputs(rg, *scatter(np.random.default_rng(3), 4), *scatter(np.random.default_rng(4), 3))
    for bad in (0, 6, 2.5, True):
        with pytest.raises(InputError, match=r"k must be a whole number from 1 to 5.*" + str(bad)):
            k_nearest(rg, k=bad, weight="time", **kw)  # type: ignore[arg-type]
    fac, cost = k_nearest(rg, k=5, weight="time", **kw)  # type: ignore[arg-type]
    assert (fac[:, 3:] == -1).all() and np.isinf(cost[:, 3:]).all()  # 3 facilities: padded


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), n_fac=st.integers(1, 7), profile=st.sampled_from(["walk", "drive"]),
       weight=st.sampled_from(WEIGHTS))
def test_adding_a_facility_never_increases_any_jth_nearest_cost(seed: int, n_fac: int, profile: str,
                                                                weight: str) -> None:
    G = random_grid(seed % 40)
    rg = RoadGraph.from_networkx(G, profile=PROFILES[profile])
    rng = np.random.default_rng(seed)
    s_lon, s_lat = scatter(rng, 12)
    f_lon, f_lat = scatter(rng, n_fac + 1)
    _, _, kw = core_inputs(rg, s_lon, s_lat, f_lon, f_lat)
    d_s, d_f, d_m = kw["direct"]  # type: ignore[misc]
    old = d_f < n_fac
    before_kw = {key: (val[:n_fac] if key.startswith("fac_") else val) for key, val in kw.items()}
    before_kw["direct"] = (d_s[old], d_f[old], d_m[old])
    _, before = k_nearest(rg, k=5, weight=weight, **before_kw)  # type: ignore[arg-type]
    _, after = k_nearest(rg, k=5, weight=weight, **kw)  # type: ignore[arg-type]
    assert (after <= before + 1e-9).all()
    assert (after[:, :-1] <= after[:, 1:]).all()
    # and a pair's cost does not depend on the other facilities
    m_before = cost_matrix(rg, weight=weight, **before_kw).to_dense()  # type: ignore[arg-type]
    m_after = cost_matrix(rg, weight=weight, **kw).to_dense()  # type: ignore[arg-type]
    assert np.array_equal(m_after[:, :n_fac], m_before)



def test_leg_costs_of_the_core_are_checked_and_used() -> None:
    G = random_grid(3)
    rg = RoadGraph.from_networkx(G, profile=PROFILES["walk"])
    _, _, kw = core_inputs(rg, *scatter(np.random.default_rng(3), 4), *scatter(np.random.default_rng(4), 3))
    d_s, d_f, d_m = kw["direct"]  # type: ignore[misc]
    for fn, extra in ((cost_matrix, {}), (k_nearest, {"k": 2})):
        def call(fn=fn, extra=extra, **over):  # type: ignore[no-untyped-def]
            return fn(rg, weight="time", **extra, **dict(kw, **over))
        with pytest.raises(InputError, match=r"site_leg must hold one off-road leg cost per site \(4\), got 3"):
            call(site_leg=[1.0, 2.0, 3.0])
        with pytest.raises(InputError, match=r"fac_leg holds 1 negative off-road leg cost\(s\) \(first at position 1: -0.5\)"):
            call(fac_leg=[1.0, -0.5, 2.0])
        with pytest.raises(InputError, match="site_leg must be numbers"):
            call(site_leg=["a", "b", "c", "d"])
        with pytest.raises(InputError, match=r"direct leg costs \(the 4th array of direct\) need one value per direct "
                                             rf"leg \({len(d_m)}\), got {len(d_m) + 1}"):
            call(direct=(d_s, d_f, d_m, np.ones(len(d_m) + 1)))
        with pytest.raises(InputError, match=r"1 direct leg cost\(s\) are not finite numbers >= 0.*nan"):
            call(direct=([0], [0], [5.0], [math.nan]))
        with pytest.raises(InputError, match="direct must be .*got 5 array"):
            call(direct=([0], [0], [5.0], [1.0], [2.0]))
    # explicit flat legs are the default; doubled legs add exactly the extra legs to road pairs
    flat = cost_matrix(rg, weight="time", **kw).to_dense()  # type: ignore[arg-type]
    per_m = 60 / (PROFILES["walk"].offroad_speed_kph * 1000)
    s_leg, f_leg = kw["site_snap_m"] * per_m, kw["fac_snap_m"] * per_m  # type: ignore[operator]
    same = cost_matrix(rg, weight="time", **dict(kw, site_leg=s_leg, fac_leg=f_leg,  # type: ignore[arg-type]
                                                 direct=(d_s, d_f, d_m, d_m * per_m))).to_dense()
    assert np.array_equal(same, flat)
    slow = cost_matrix(rg, weight="time", **dict(kw, site_leg=2 * s_leg, fac_leg=2 * f_leg, direct=None)).to_dense()  # type: ignore[arg-type]
    no_direct = cost_matrix(rg, weight="time", **dict(kw, direct=None)).to_dense()  # type: ignore[arg-type]
    fin = np.isfinite(no_direct)
    assert fin.sum() >= 6
    assert np.allclose(slow[fin], (no_direct + s_leg[:, None] + f_leg[None, :])[fin], rtol=0, atol=1e-9)
    # a site whose leg is NaN is off the network: only its direct legs remain
    off = cost_matrix(rg, weight="time", **dict(kw, site_leg=np.where(np.arange(4) == 0, np.nan, s_leg))).to_dense()  # type: ignore[arg-type]
    assert np.isinf(off[0, np.setdiff1d(np.arange(3), d_f[d_s == 0])]).all() and np.array_equal(off[1:], flat[1:])


# --------------------------------------------------------------------------- real data: Andorra


@pytest.mark.realdata
@pytest.mark.parametrize(("profile", "weight"), [("walk", "length"), ("drive", "time")])
def test_andorra_cost_matrix_equals_networkx_on_split_edges(andorra_osmnx_graph, profile: str,  # type: ignore[no-untyped-def]
                                                            weight: str) -> None:
    G = andorra_osmnx_graph
    prof = PROFILES[profile]
    rg = RoadGraph.from_networkx(G, profile=prof)
    rng = np.random.default_rng(2020)
    # points up to ~150 m from random road nodes: most snap somewhere along an edge
    pick = rng.integers(rg.n_nodes, size=50)
    lon = rg.lon[pick] + rng.uniform(-0.0015, 0.0015, 50)
    lat = rg.lat[pick] + rng.uniform(-0.0012, 0.0012, 50)
    s_lon, s_lat, f_lon, f_lat = lon[:20], lat[:20], lon[20:], lat[20:]
    ss, fs, kw = core_inputs(rg, s_lon, s_lat, f_lon, f_lat)
    assert ((ss.fraction > 0) & (ss.fraction < 1)).sum() >= 10
    H = split_reference(G, prof, rg, (s_lon, s_lat, ss), (f_lon, f_lat, fs))
    ref = reference_matrix(H, 20, 30, weight)
    got = cost_matrix(rg, weight=weight, **kw).to_dense()  # type: ignore[arg-type]
    assert np.array_equal(np.isfinite(got), np.isfinite(ref))
    fin = np.isfinite(ref)
    assert fin.mean() > 0.5
    assert np.abs(got[fin] - ref[fin]).max() < 1e-6
    fac, cost = k_nearest(rg, k=5, weight=weight, **kw)  # type: ignore[arg-type]
    assert np.allclose(np.nan_to_num(cost, posinf=-1.0), np.nan_to_num(np.sort(ref, axis=1)[:, :5], posinf=-1.0),
                       rtol=0, atol=1e-6)
    named = fac >= 0
    assert np.abs(ref[np.nonzero(named)[0], fac[named]] - cost[named]).max() < 1e-6
