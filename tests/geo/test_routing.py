"""Routing (geo.routing): nearest facility by one Dijkstra, the sites placed once, the access
table — against networkx."""

from __future__ import annotations

import json

import networkx as nx
import numpy as np
import pyproj
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from anzhi.core.errors import InputError
from geo.roads import RoadGraph, load_profile
from layers.osm import load_road_graph
from geo.routing import (
    ACCESS_COLUMNS,
    access_table,
    nearest_facility,
    nearest_facility_index,
    place_sites,
    snap_points,
)
from tests.geo._networks import (
    LAT0,
    LON0,
    PROFILES,
    STEP,
    facilities_at,
    jittered_grid,
    line_graph,
    points,
    scatter,
    sites_at,
    table,
)
from tests.geo._reference import gc, points_beside_edge, reference_graph, split_reference


# --------------------------------------------------------------------------- the split reference


TYPES = ["clinic", "kindergarten", "police_room"]


@pytest.mark.parametrize("seed, dense", [(21, False), (22, False), (23, False), (24, True), (25, True)])
@pytest.mark.parametrize("profile", ["walk", "drive"])
def test_edge_snapping_equals_networkx_on_split_edges(seed: int, dense: bool, profile: str) -> None:
    """``dense``: 16 sites and 8 clinics on the one street, one clinic exactly at a site and
    two at one point (the same-edge search by running minima, not by pairs)."""
    prof = PROFILES[profile]
    G = jittered_grid(seed, oneway_share=0.35, curved_share=0.5)
    rg = RoadGraph.from_networkx(G, profile=prof)
    rng = np.random.default_rng(seed)
    # one long street, oneway when driving if there is such a street, gets several sites and
    # facilities beside it on both sides
    glen = rg.pedge_geom_length_m
    oneway = rg.pedge_fwd_ok != rg.pedge_bwd_ok
    pool = np.flatnonzero(oneway & (glen > 150)) if profile == "drive" else np.flatnonzero(glen > 150)
    assert len(pool) > 0
    e_star = int(pool[rng.integers(len(pool))])
    s_frac, s_off = [0.15, 0.3, 0.55, 0.8], [4.0, -6.0, 8.0, -3.0]
    f_frac, f_off = [0.4, 0.7], [-5.0, 7.0]
    if dense:
        s_frac += list(np.round(rng.uniform(0.1, 0.9, 12), 3))
        s_off += list(np.round(rng.uniform(-6, 6, 12), 1))
        f_frac += [s_frac[5], 0.62, 0.62, *np.round(rng.uniform(0.1, 0.9, 3), 3)]
        f_off += [s_off[5], 3.0, 3.0, *np.round(rng.uniform(-6, 6, 3), 1)]
    es_lon, es_lat = points_beside_edge(rg, e_star, s_frac, s_off)
    ef_lon, ef_lat = points_beside_edge(rg, e_star, f_frac, f_off)
    span = 6 * STEP
    n_rand_s, n_rand_f = 30, 9
    s_lon = np.concatenate([LON0 + rng.uniform(-0.1, 1.1, n_rand_s) * span, es_lon])
    s_lat = np.concatenate([LAT0 + rng.uniform(-0.1, 1.1, n_rand_s) * span, es_lat])
    f_lon = np.concatenate([LON0 + rng.uniform(-0.1, 1.1, n_rand_f) * span, ef_lon])
    f_lat = np.concatenate([LAT0 + rng.uniform(-0.1, 1.1, n_rand_f) * span, ef_lat])
    f_type = TYPES * 3 + ["clinic"] * len(f_frac)  # the facilities on the long street are clinics
    n_s, n_f = len(s_lon), len(f_lon)
    sites = points(s_lon, s_lat, site_id=[f"S{i}" for i in range(n_s)])
    facs = points(f_lon, f_lat, facility_id=[f"F{j}" for j in range(n_f)], facility_type=f_type)

    s_snap = snap_points(rg, s_lon, s_lat)
    f_snap = snap_points(rg, f_lon, f_lat)
    assert (s_snap.edge[n_rand_s:] == e_star).all() and (f_snap.edge[n_rand_f:] == e_star).all()
    assert (s_snap.reason == "").all() and (f_snap.reason == "").all()

    out = access_table(rg, sites, facs, profile=prof, progress=False)
    assert len(out) == n_s * 3
    H = split_reference(G, prof, rg, (s_lon, s_lat, s_snap), (f_lon, f_lat, f_snap))
    R = H.reverse(copy=True)
    n_routed = 0
    for ftype in TYPES:
        srcs = [("F", j) for j in range(n_f) if f_type[j] == ftype]
        ref_len = nx.multi_source_dijkstra_path_length(R, srcs, weight="length")
        ref_time = nx.multi_source_dijkstra_path_length(R, srcs, weight="time")
        rows = out[out["facility_type"] == ftype].set_index("site_id")
        for i in range(n_s):
            row = rows.loc[f"S{i}"]
            assert row["snap_dist_m"] == s_snap.snap_dist_m[i]
            if ("S", i) in ref_len:
                n_routed += 1
                assert row["reason"] == ""
                assert row["dist_m"] == pytest.approx(ref_len[("S", i)], abs=1e-6)
                assert row["time_min"] == pytest.approx(ref_time[("S", i)], abs=1e-6)
                # the named facility is one at that distance
                j = int(row["nearest_facility_id"][1:])
                assert f_type[j] == ftype
                d_named = nx.shortest_path_length(H, ("S", i), ("F", j), weight="length")
                assert d_named == pytest.approx(row["dist_m"], abs=1e-6)
            else:
                assert row["reason"] == "isolated_network"
                assert np.isnan(row["dist_m"]) and np.isnan(row["time_min"])
    assert n_routed > 0.8 * n_s * 3
    # the sites beside the long street reach its clinics along it, not via the far node
    along = out[(out["facility_type"] == "clinic") & out["site_id"].isin([f"S{i}" for i in range(n_rand_s, n_s)])]
    assert (along["dist_m"] < glen[e_star] * 1.3 * 1.5 + 30).sum() >= 2


@pytest.mark.parametrize("profile", ["walk", "drive"])
def test_points_on_a_loop_street_equal_networkx_on_split_edges(profile: str) -> None:
    # a street 1–2 and a oneway ring from node 2 back to node 2 (osmnx keeps such self-loops);
    # sites and facilities beside the ring, one facility at node 1
    prof = PROFILES[profile]
    G = line_graph([(LON0, LAT0), (LON0 + STEP, LAT0)])
    ring = [(LON0 + STEP, LAT0), (LON0 + 2 * STEP, LAT0 + STEP), (LON0 + 3 * STEP, LAT0),
            (LON0 + 2 * STEP, LAT0 - STEP), (LON0 + STEP, LAT0)]
    ring_len = sum(gc(*p, *q) for p, q in zip(ring[:-1], ring[1:], strict=True))
    G.add_edge(2, 2, length=ring_len * 1.1, highway="residential", geometry=shapely.LineString(ring))
    rg = RoadGraph.from_networkx(G, profile=prof)
    loop = int(np.flatnonzero(rg.pedge_u == rg.pedge_v)[0])
    s_lon, s_lat = points_beside_edge(rg, loop, [0.1, 0.45, 0.7, 0.9], [5.0, -5.0, 6.0, -4.0])
    f_lon, f_lat = points_beside_edge(rg, loop, [0.3, 0.8], [-3.0, 3.0])
    f_lon, f_lat = np.append(f_lon, LON0), np.append(f_lat, LAT0 - 0.0002)
    s_snap, f_snap = snap_points(rg, s_lon, s_lat), snap_points(rg, f_lon, f_lat)
    assert (s_snap.edge == loop).all() and (f_snap.edge[:2] == loop).all()
    sites = points(s_lon, s_lat, site_id=[f"S{i}" for i in range(4)])
    f_type = ["clinic", "police_room", "police_room"]
    facs = points(f_lon, f_lat, facility_id=["F0", "F1", "F2"], facility_type=f_type)
    out = access_table(rg, sites, facs, profile=prof, progress=False)
    H = split_reference(G, prof, rg, (s_lon, s_lat, s_snap), (f_lon, f_lat, f_snap))
    R = H.reverse(copy=True)
    for ftype in ("clinic", "police_room"):
        srcs = [("F", j) for j in range(3) if f_type[j] == ftype]
        ref_len = nx.multi_source_dijkstra_path_length(R, srcs, weight="length")
        ref_time = nx.multi_source_dijkstra_path_length(R, srcs, weight="time")
        rows = out[out["facility_type"] == ftype].set_index("site_id")
        for i in range(4):
            assert rows.loc[f"S{i}", "reason"] == ""
            assert rows.loc[f"S{i}", "dist_m"] == pytest.approx(ref_len[("S", i)], abs=1e-6)
            assert rows.loc[f"S{i}", "time_min"] == pytest.approx(ref_time[("S", i)], abs=1e-6)
    if profile == "drive":  # one way round: some site must go almost all the way round
        clinic = out[out["facility_type"] == "clinic"]["dist_m"]
        assert clinic.max() > 0.5 * ring_len


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("profile", ["walk", "drive"])
def test_sites_on_nodes_equal_plain_networkx(seed: int, profile: str) -> None:
    # points exactly on nodes join the node itself, whatever the direction of the edge they
    # snapped to: the plain node-to-node networkx distances must come out
    G = jittered_grid(seed)
    rng = np.random.default_rng(100 + seed)
    nodes = sorted(G.nodes)
    site_nodes = [int(k) for k in rng.choice(nodes, 25, replace=False)]
    fac_nodes = [int(k) for k in rng.choice(nodes, 9, replace=False)]
    types = TYPES * 3
    out = table(G, sites_at(G, site_nodes), facilities_at(G, fac_nodes, types), profile)
    assert len(out) == 25 * 3
    H = reference_graph(G, PROFILES[profile])
    R = H.reverse(copy=True)
    for ftype in TYPES:
        srcs = [k for k, t in zip(fac_nodes, types, strict=True) if t == ftype]
        ref_len = nx.multi_source_dijkstra_path_length(R, srcs, weight="length")
        ref_time = nx.multi_source_dijkstra_path_length(R, srcs, weight="time")
        rows = out[out["facility_type"] == ftype].set_index("site_id")
        for k in site_nodes:
            row = rows.loc[f"S{k}"]
            assert row["snap_dist_m"] == pytest.approx(0.0, abs=1e-9)
            if k in ref_len:
                assert row["reason"] == ""
                assert row["dist_m"] == pytest.approx(ref_len[k], abs=1e-6)
                assert row["time_min"] == pytest.approx(ref_time[k], abs=1e-9)
                fac_node = int(row["nearest_facility_id"][1:].split("-")[0])
                d_named = nx.shortest_path_length(H, k, fac_node, weight="length")
                assert d_named == pytest.approx(row["dist_m"], abs=1e-6)
            else:
                assert row["reason"] == "isolated_network"
                assert np.isnan(row["dist_m"]) and np.isnan(row["time_min"])
                assert row["nearest_facility_id"] == ""


# --------------------------------------------------------------------------- legs and winners


def test_facility_offroad_leg_decides_the_winner() -> None:
    # line 1 —300 m— 2 —100 m— 3; site at 2; F1 on node 1 (leg 0), F3 at node 3 but 500 m off-road
    G = nx.MultiDiGraph(crs="epsg:4326")
    for i, k in enumerate([1, 2, 3]):
        G.add_node(k, x=LON0 + i * STEP, y=LAT0)
    for u, v, d in [(1, 2, 300.0), (2, 3, 100.0)]:
        G.add_edge(u, v, length=d, highway="residential")
    rg = RoadGraph.from_networkx(G, profile=PROFILES["walk"])
    ids, cost = nearest_facility(rg, [1], [0.0], [0, 2], [0.0, 500.0], ["F1", "F3"], weight="length")
    assert ids.tolist() == ["F1"] and cost.tolist() == [300.0]
    ids, cost = nearest_facility(rg, [1], [10.0], [0, 2], [250.0, 150.0], ["F1", "F3"], weight="length")
    assert ids.tolist() == ["F3"] and cost.tolist() == [260.0]
    ids, cost = nearest_facility(rg, [1, -1], [0.0, 0.0], [2], [60.0], ["F3"], weight="time")
    assert ids.tolist() == ["F3", ""]
    assert cost[0] == pytest.approx(100.0 / 75.0 + 60.0 / 75.0) and np.isinf(cost[1])
    # the same with edge positions: the site a quarter along 1–2, the facilities mid 2–3 and at 1
    e12 = int(np.flatnonzero((rg.pedge_u == 0) & (rg.pedge_v == 1))[0])
    e23 = int(np.flatnonzero((rg.pedge_u == 1) & (rg.pedge_v == 2))[0])
    ids, cost = nearest_facility(rg, [-1], [5.0], [-1, -1], [20.0, 0.0], ["F23", "F1"], weight="length",
                                 site_edge=[e12], site_fraction=[0.25],
                                 fac_edge=[e23, e12], fac_fraction=[0.5, 0.0])
    assert ids.tolist() == ["F1"] and cost[0] == pytest.approx(5.0 + 75.0)
    ids, cost = nearest_facility(rg, [-1], [5.0], [-1], [20.0], ["F23"], weight="length",
                                 site_edge=[e12], site_fraction=[0.25], fac_edge=[e23], fac_fraction=[0.5])
    assert cost[0] == pytest.approx(5.0 + 225.0 + 50.0 + 20.0)


@pytest.mark.parametrize("seed", [31, 32])
@pytest.mark.parametrize("profile", ["walk", "drive"])
def test_sites_placed_once_route_every_type_as_networkx(seed: int, profile: str) -> None:
    """place_sites once per weight, then nearest_facility_index per type (as access_table
    runs), equals networkx on the split graph for every type, and the returned index points
    into the given facility arrays even when some facilities are off the network."""
    prof = PROFILES[profile]
    G = jittered_grid(seed, oneway_share=0.35, curved_share=0.5)
    rg = RoadGraph.from_networkx(G, profile=prof)
    rng = np.random.default_rng(seed)
    s_lon, s_lat = scatter(rng, 40)
    f_lon, f_lat = scatter(rng, 12)
    f_lon[3], f_lat[3] = LON0 + 1.0, LAT0 + 1.0  # far from every road: not on the network
    s_snap, f_snap = snap_points(rg, s_lon, s_lat), snap_points(rg, f_lon, f_lat)
    assert f_snap.node[3] == -1 and (s_snap.node >= 0).sum() >= 30
    H = split_reference(G, prof, rg, (s_lon, s_lat, s_snap), (f_lon, f_lat, f_snap))
    H.remove_edges_from([(a, b) for a, b in H.edges()  # no direct legs here (access_table adds them)
                         if isinstance(a, tuple) and isinstance(b, tuple) and a[0] == "S" and b[0] == "F"])
    R = H.reverse(copy=True)
    f_type = np.array(["a", "b", "c"] * 4)
    for weight in ("length", "time"):
        placed = place_sites(rg, s_snap.node, s_snap.snap_dist_m, weight=weight,
                             site_edge=s_snap.edge, site_fraction=s_snap.fraction)
        assert placed.node.shape == (40, 2)
        for t in ("a", "b", "c"):
            sel = np.flatnonzero(f_type == t)
            fac, cost = nearest_facility_index(
                rg, placed, f_snap.node[sel], f_snap.snap_dist_m[sel],
                fac_edge=f_snap.edge[sel], fac_fraction=f_snap.fraction[sel])
            ref = nx.multi_source_dijkstra_path_length(
                R, [("F", int(j)) for j in sel if ("F", int(j)) in R], weight=weight)
            for i in range(40):
                if ("S", i) in ref:
                    assert cost[i] == pytest.approx(ref[("S", i)], abs=1e-6)
                    j = int(sel[fac[i]])  # an index into the arrays given for this type
                    assert j != 3
                    named = nx.shortest_path_length(H, ("S", i), ("F", j), weight=weight)
                    assert named == pytest.approx(cost[i], abs=1e-6)
                else:
                    assert fac[i] == -1 and cost[i] == np.inf
            # the one-call adapter gives the same answer, with ids
            ids, cost1 = nearest_facility(
                rg, s_snap.node, s_snap.snap_dist_m, f_snap.node[sel], f_snap.snap_dist_m[sel],
                [f"F{j}" for j in sel], weight=weight, site_edge=s_snap.edge,
                site_fraction=s_snap.fraction, fac_edge=f_snap.edge[sel],
                fac_fraction=f_snap.fraction[sel])
            assert np.array_equal(cost1, cost)
            assert ids.tolist() == [f"F{sel[k]}" if k >= 0 else "" for k in fac]


def test_sites_at_nodes_cost_what_the_same_points_on_their_edges_cost() -> None:
    """A placement of sites at nodes (one way onto the network each) gives exactly what the
    same sites given as edge positions at fraction 0 or 1 give (two ways each)."""
    G = jittered_grid(41, oneway_share=0.35)
    rg = RoadGraph.from_networkx(G, profile=PROFILES["drive"])
    rng = np.random.default_rng(41)
    edges = rng.choice(rg.n_pedges, 25, replace=False)
    at_v = rng.random(25) < 0.5
    nodes = np.where(at_v, rg.pedge_v[edges], rg.pedge_u[edges])
    legs = rng.uniform(0, 80, 25)
    f = rng.choice(rg.n_nodes, 4, replace=False)
    for weight in ("length", "time"):
        by_node = place_sites(rg, nodes, legs, weight=weight)
        by_edge = place_sites(rg, nodes, legs, weight=weight, site_edge=edges,
                              site_fraction=np.where(at_v, 1.0, 0.0))
        assert by_node.node.shape == (25, 1) and by_edge.node.shape == (25, 2)
        a = nearest_facility_index(rg, by_node, f, np.full(4, 10.0))
        b = nearest_facility_index(rg, by_edge, f, np.full(4, 10.0))
        assert np.isfinite(a[1]).sum() >= 20
        assert np.array_equal(a[1], b[1]) and np.array_equal(a[0], b[0])


def test_placement_is_refused_on_another_graph_and_lengths_are_checked() -> None:
    rg = RoadGraph.from_networkx(jittered_grid(5), profile=PROFILES["walk"])
    other = RoadGraph.from_networkx(jittered_grid(6, n=5), profile=PROFILES["walk"])
    placed = place_sites(rg, [0, 1], [0.0, 0.0], weight="length")
    with pytest.raises(InputError, match="placed on a graph of 49 nodes, this one has 25"):
        nearest_facility_index(other, placed, [0], [0.0])
    with pytest.raises(InputError, match="fac_leg must have one value per facility \\(1\\), got 2"):
        nearest_facility_index(rg, placed, [0], [0.0], fac_leg=[1.0, 2.0])
    with pytest.raises(InputError, match="site_nodes and site_snap_m .* got 2 and 3"):
        place_sites(rg, [0, 1], [0.0, 0.0, 1.0], weight="time")
    with pytest.raises(InputError, match="unknown routing weight 'speed'"):
        place_sites(rg, [0], [0.0], weight="speed")  # type: ignore[arg-type]


def test_nearest_facility_refuses_positions_off_the_graph() -> None:
    G = oneway_pair()
    rg = RoadGraph.from_networkx(G, profile=PROFILES["walk"])
    with pytest.raises(InputError, match=r"1 site position\(s\) are not on the graph.*fraction 1.5"):
        nearest_facility(rg, [0], [0.0], [1], [0.0], ["F"], weight="length",
                         site_edge=[0], site_fraction=[1.5])
    with pytest.raises(InputError, match="give both fac_edge and fac_fraction"):
        nearest_facility(rg, [0], [0.0], [1], [0.0], ["F"], weight="length", fac_edge=[0])
    with pytest.raises(InputError, match="unknown routing weight 'speed'"):
        nearest_facility(rg, [0], [0.0], [1], [0.0], ["F"], weight="speed")  # type: ignore[arg-type]


@pytest.mark.parametrize("profile", ["walk", "drive"])
def test_many_points_on_one_street_equal_the_pairwise_minimum(profile: str) -> None:
    """The same-edge search (running minima over the facilities of an edge) against every
    (site, facility) pair on one oneway street of 250 m: ahead, behind, at the same point, two
    facilities at one point (the first wins), different legs; only that street, so the
    network never offers a shorter way."""
    rg = RoadGraph.from_networkx(oneway_pair(), profile=PROFILES[profile])
    rng = np.random.default_rng(3)
    s_frac = np.round(rng.uniform(0, 1, 40), 2)
    f_frac = np.concatenate([np.round(rng.uniform(0, 1, 12), 2), s_frac[:3], [0.5, 0.5]])
    f_snap = np.round(rng.uniform(0, 30, len(f_frac)), 1)
    f_snap[-2:] = 7.0  # two facilities at one point with one leg: the first (index) wins
    s_snap = np.round(rng.uniform(0, 20, len(s_frac)), 1)
    n_f = len(f_frac)
    for weight in ("length", "time"):
        placed = place_sites(rg, np.zeros(len(s_frac), dtype=np.int64), s_snap, weight=weight,
                             site_edge=np.zeros(len(s_frac), dtype=np.int64), site_fraction=s_frac)
        fac, cost = nearest_facility_index(rg, placed, np.zeros(n_f, dtype=np.int64), f_snap,
                                           fac_edge=np.zeros(n_f, dtype=np.int64),
                                           fac_fraction=f_frac)
        w_f, w_b = rg.pedge_weight(weight)
        per_m = 1.0 if weight == "length" else 60.0 / (rg.profile.offroad_speed_kph * 1000.0)
        d = f_frac[None, :] - s_frac[:, None]
        with np.errstate(invalid="ignore"):
            along = np.where(d == 0, 0.0, np.where(d > 0, d * w_f[0], np.where(d < 0, -d * w_b[0], np.inf)))
        brute = along + (s_snap[:, None] + f_snap[None, :]) * per_m
        np.testing.assert_allclose(cost, brute.min(axis=1), rtol=1e-12, atol=1e-9)
        assert (brute[np.arange(len(s_frac)), fac] <= brute.min(axis=1) + 1e-9).all()
        if profile == "drive":  # against the oneway street: only facilities ahead (or at it)
            assert np.isinf(brute[s_frac > f_frac.max()].min(axis=1)).all()
    # the tie at 0.5: never the second of the two equal facilities
    assert not (fac == n_f - 1).any()


# --------------------------------------------------------------------------- oneway


def oneway_pair() -> nx.MultiDiGraph:
    G = nx.MultiDiGraph(crs="epsg:4326")
    G.add_node(1, x=LON0, y=LAT0)
    G.add_node(2, x=LON0 + STEP, y=LAT0)
    G.add_edge(1, 2, length=250.0, highway="residential", oneway=True)  # 1 → 2 only
    return G


def test_oneway_respected_when_driving_ignored_when_walking() -> None:
    G = oneway_pair()
    facs = facilities_at(G, [1], ["clinic"])
    against = sites_at(G, [2])  # its only way to the clinic runs against the oneway street
    drive = table(G, against, facs, "drive").iloc[0]
    walk = table(G, against, facs, "walk").iloc[0]
    assert drive["reason"] == "isolated_network" and np.isnan(drive["dist_m"])
    assert walk["reason"] == "" and walk["dist_m"] == pytest.approx(250.0)
    assert walk["time_min"] == pytest.approx(250.0 / 75.0)
    along = table(G, sites_at(G, [1]), facilities_at(G, [2], ["clinic"]), "drive").iloc[0]
    assert along["reason"] == "" and along["dist_m"] == pytest.approx(250.0)
    assert along["time_min"] == pytest.approx(250.0 / (20_000 / 60))  # residential at 20 km/h


# --------------------------------------------------------------------------- reasons


def test_reasons_and_no_site_dropped() -> None:
    G = jittered_grid(4, oneway_share=0.0)
    G.add_node(1, x=LON0 + 0.05, y=LAT0)  # a separate road, ~5 km east
    G.add_node(2, x=LON0 + 0.052, y=LAT0)
    G.add_edge(1, 2, length=250.0, highway="track")
    G.add_edge(2, 1, length=250.0, highway="track")
    sites = points(
        [G.nodes[1000]["x"], LON0 - 0.1, G.nodes[1]["x"], G.nodes[1024]["x"]],
        [G.nodes[1000]["y"], LAT0, G.nodes[1]["y"], G.nodes[1024]["y"]],
        site_id=["grid", "far", "island", "grid2"],
    )
    facs = points(
        [G.nodes[1030]["x"], LON0 + 0.3],
        [G.nodes[1030]["y"], LAT0],
        facility_id=["C1", "K1"],
        facility_type=["clinic", "kindergarten"],  # the kindergarten is 30 km from any road
    )
    out = table(G, sites, facs, "walk", facility_types=["clinic", "kindergarten", "police_room"])
    assert list(out.columns) == list(ACCESS_COLUMNS)
    assert len(out) == 4 * 3
    assert out.groupby(["site_id", "facility_type"]).size().eq(1).all()
    got = {(r.site_id, r.facility_type): r.reason for r in out.itertuples()}
    assert got == {
        ("grid", "clinic"): "", ("grid", "kindergarten"): "no_facility", ("grid", "police_room"): "no_facility",
        ("far", "clinic"): "no_road_nearby", ("far", "kindergarten"): "no_road_nearby",
        ("far", "police_room"): "no_facility",
        ("island", "clinic"): "isolated_network", ("island", "kindergarten"): "no_facility",
        ("island", "police_room"): "no_facility",
        ("grid2", "clinic"): "", ("grid2", "kindergarten"): "no_facility", ("grid2", "police_room"): "no_facility",
    }
    unrouted = out[out["reason"] != ""]
    assert unrouted["dist_m"].isna().all() and unrouted["time_min"].isna().all()
    assert (unrouted["nearest_facility_id"] == "").all()
    routed = out[out["reason"] == ""]
    assert (routed["nearest_facility_id"] == "C1").all() and (routed["dist_m"] > 0).all()
    far = out[out["site_id"] == "far"]["snap_dist_m"]
    assert (far > 9000).all()  # the far site's straight-line distance to the road is reported
    assert out["site_id"].tolist()[:3] == ["grid"] * 3  # site order, then type order
    assert str(out["site_id"].dtype) == "str" and str(out["reason"].dtype) == "str"


def test_default_types_are_those_present_in_vocabulary_order() -> None:
    G = jittered_grid(5)
    facs = facilities_at(G, [1001, 1002, 1003], ["police_room", "clinic", "police_room"])
    out = table(G, sites_at(G, [1010, 1020]), facs)
    assert out["facility_type"].tolist() == ["clinic", "police_room"] * 2


def test_facility_at_the_site_is_at_distance_zero() -> None:
    G = jittered_grid(6)
    node = G.nodes[1027]  # on the east edge of the grid
    # a site 500 m off the road and one 5 km off the road, each with its own clinic on the spot,
    # plus a clinic on the road network far away
    lon = [node["x"] + 0.005, node["x"] + 0.05]
    lat = [node["y"], node["y"]]
    sites = points(lon, lat, site_id=["near", "remote"])
    facs = points(lon + [G.nodes[1000]["x"]], lat + [G.nodes[1000]["y"]],
                  facility_id=["C-near", "C-remote", "C-grid"], facility_type=["clinic"] * 3)
    out = table(G, sites, facs, "walk").set_index("site_id")
    for site in ["near", "remote"]:
        assert out.loc[site, "reason"] == ""
        assert out.loc[site, "nearest_facility_id"] == f"C-{site}"
        assert out.loc[site, "dist_m"] == pytest.approx(0.0, abs=1e-6)
        assert out.loc[site, "time_min"] == pytest.approx(0.0, abs=1e-6)
    assert out.loc["near", "snap_dist_m"] > 300 and out.loc["remote", "snap_dist_m"] > 4000


def test_no_crosscountry_shortcut_beyond_the_road() -> None:
    # a facility 1 km away in a straight line, but the site's road is 20 m away: go by road
    G = jittered_grid(8, oneway_share=0.0)
    a, b = G.nodes[1000], G.nodes[1006]
    sites = points([a["x"]], [a["y"] + 0.0002], site_id=["S"])
    facs = points([b["x"]], [b["y"]], facility_id=["F"], facility_type=["clinic"])
    out = table(G, sites, facs, "walk").iloc[0]
    straight = gc(a["x"], a["y"] + 0.0002, b["x"], b["y"])
    assert out["dist_m"] > straight + 10


# --------------------------------------------------------------------------- input checks


def test_crs_must_be_wgs84_and_both_are_named() -> None:
    G = jittered_grid(10)
    sites = sites_at(G, [1000]).to_crs("EPSG:32647")
    facs = facilities_at(G, [1001], ["clinic"])
    with pytest.raises(InputError, match=r"sites in EPSG:32647 and facilities in EPSG:4326"):
        table(G, sites, facs)
    # every problem at once: the CRS and an elevation that is a file name, not a function
    prof = PROFILES["drive"]
    rg = RoadGraph.from_networkx(G, profile=prof)
    with pytest.raises(InputError, match=r"(?s)EPSG:32647.*elevation_m must be a function"):
        access_table(rg, sites, facs, profile=prof, progress=False,
                     elevation_m="dem.tif")  # type: ignore[arg-type]


def test_missing_columns_and_bad_geometry_are_all_reported() -> None:
    G = jittered_grid(10)
    sites = sites_at(G, [1000]).rename(columns={"site_id": "id"})
    facs = facilities_at(G, [1001, 1002], ["clinic", "clinic"])
    facs.loc[1, "geometry"] = None
    with pytest.raises(InputError, match=r"2 problems") as info:
        table(G, sites, facs)
    assert "sites lack column(s) site_id" in str(info.value)
    assert "1 row(s) has no geometry" in str(info.value)


def test_profile_must_match_the_graph() -> None:
    G = jittered_grid(11)
    rg = RoadGraph.from_networkx(G, profile=PROFILES["walk"])
    with pytest.raises(InputError, match="built for profile 'walk', not for 'drive'"):
        access_table(rg, sites_at(G, [1000]), facilities_at(G, [1001], ["clinic"]),
                     profile=PROFILES["drive"], progress=False)


def test_unknown_facility_type_is_refused() -> None:
    G = jittered_grid(11)
    with pytest.raises(InputError, match="unknown facility type.*clinc"):
        table(G, sites_at(G, [1000]), facilities_at(G, [1001], ["clinic"]), facility_types=["clinc"])


def test_progress_bar_per_type(capsys: pytest.CaptureFixture[str]) -> None:
    G = jittered_grid(12)
    prof = PROFILES["walk"]
    rg = RoadGraph.from_networkx(G, profile=prof)
    access_table(rg, sites_at(G, [1000]), facilities_at(G, [1001, 1002], ["clinic", "kindergarten"]),
                 profile=prof, progress=True)
    assert "routing" in capsys.readouterr().err
    access_table(rg, sites_at(G, [1000]), facilities_at(G, [1001], ["clinic"]), profile=prof, progress=False)
    assert capsys.readouterr().err == ""


# --------------------------------------------------------------------------- properties


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n_fac=st.integers(1, 5),
    profile=st.sampled_from(["walk", "drive"]),
)
def test_adding_a_facility_never_increases_distance(seed: int, n_fac: int, profile: str) -> None:
    G = jittered_grid(seed % 50, curved_share=0.3)
    rng = np.random.default_rng(seed)
    s_lon, s_lat = scatter(rng, 15)
    f_lon, f_lat = scatter(rng, n_fac + 1)
    sites = points(s_lon, s_lat, site_id=[f"S{i}" for i in range(15)])
    ids = [f"F{i}" for i in range(n_fac + 1)]
    before = table(G, sites, points(f_lon[:-1], f_lat[:-1], facility_id=ids[:-1],
                                    facility_type=["clinic"] * n_fac), profile)
    after = table(G, sites, points(f_lon, f_lat, facility_id=ids,
                                   facility_type=["clinic"] * (n_fac + 1)), profile)
    for col in ("dist_m", "time_min"):
        b = before[col].fillna(np.inf).to_numpy()
        a = after[col].fillna(np.inf).to_numpy()
        assert (a <= b + 1e-9).all()
    assert not ((before["reason"] == "") & (after["reason"] != "")).any()


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), profile=st.sampled_from(["walk", "drive"]))
def test_road_distance_is_never_below_straight_line(seed: int, profile: str) -> None:
    # on bent streets too: a point's cost along its edge is its share of the line's haversine
    # length (times the edge's winding factor >= 1), so the triangle inequality on the sphere
    # holds up to rounding; the off-road legs are great-circle like the straight line
    G = jittered_grid(seed % 50, curved_share=0.3)
    rng = np.random.default_rng(seed)
    s_lon, s_lat = scatter(rng, 20)
    f_lon, f_lat = scatter(rng, 6)
    sites = points(s_lon, s_lat, site_id=[f"S{i}" for i in range(20)])
    facs = points(f_lon, f_lat, facility_id=[f"F{i}" for i in range(6)],
                  facility_type=["clinic", "kindergarten"] * 3)
    out = table(G, sites, facs, profile)
    where = dict(zip(facs["facility_id"], zip(f_lon, f_lat, strict=True), strict=True))
    routed = out[out["reason"] == ""]
    assert len(routed) > 0
    for r in routed.itertuples():
        i = int(r.site_id[1:])
        fx, fy = where[r.nearest_facility_id]
        straight = gc(s_lon[i], s_lat[i], fx, fy)
        assert r.dist_m >= straight - 1e-6 * max(1.0, straight)
        assert r.dist_m >= r.snap_dist_m - 1e-9 or r.dist_m == pytest.approx(straight)


# --------------------------------------------------------------------------- the demo county


def test_demo_county_only_the_deliberately_remote_sites_are_off_the_road(demo) -> None:  # type: ignore[no-untyped-def]
    """After osmnx simplification the demo keeps only junction and end nodes (~240), so
    nearest-node snapping put 9 of 60 sites "> 2 km from a road"; by edges only the sites the
    demo deliberately places far from every road are (its manifest lists them)."""
    from layers.facilities import (
        combine_facilities,
        facilities_from_sites,
        read_facilities,
    )
    from layers.sites import read_sites

    notes = json.loads(demo.manifest.read_text(encoding="utf-8"))["notes"]
    far_ids = set(notes["far_from_road_site_ids"])
    iso_ids = set(notes["isolated_track_site_ids"])
    truth_m = notes["site_road_dist_m"]  # the demo's own planar distances to its road lines
    assert len(far_ids) >= 1 and len(iso_ids) >= 1

    prof = PROFILES["walk"]
    rg = RoadGraph.from_networkx(load_road_graph(demo.roads), profile=prof)
    sites = read_sites(demo.sites)
    facs = combine_facilities(read_facilities(demo.facilities), facilities_from_sites(sites))
    out = access_table(rg, sites, facs, profile=prof, progress=False)
    limit = 2000.0
    assert set(out.loc[out["reason"] == "no_road_nearby", "site_id"]) == far_ids
    snap = out.drop_duplicates("site_id").set_index("site_id")["snap_dist_m"]
    assert (snap[sorted(far_ids)] > limit).all() and (snap.drop(sorted(far_ids)) <= limit).all()
    # independent distances (site truth to the demo's road lines, its own metric CRS): equal up
    # to the haversine's sphere (< 0.6 %) and the GCJ-02 round trip of the site table
    for sid, d in truth_m.items():
        assert snap[sid] == pytest.approx(d, rel=6e-3), sid
    iso = out[out["site_id"].isin(sorted(iso_ids))]
    assert set(iso["reason"]) <= {"", "isolated_network"} and (iso["reason"] == "isolated_network").any()
    rest = out[~out["site_id"].isin(sorted(far_ids | iso_ids))]
    assert not rest["reason"].isin(["no_road_nearby", "isolated_network"]).any()
    assert (rest["reason"] == "").mean() > 0.9

    # the regression: sites more than 2 km from every graph node, routed now
    xy = np.column_stack(pyproj.Transformer.from_crs("EPSG:4326", rg.crs_metric, always_xy=True)
                         .transform(sites.geometry.x.to_numpy(), sites.geometry.y.to_numpy()))
    node_dist, _ = rg.node_tree.query(xy)
    beyond_nodes = set(sites["site_id"][node_dist > limit * 1.006]) - far_ids
    assert len(beyond_nodes) >= 3
    assert (out[out["site_id"].isin(sorted(beyond_nodes))]["reason"] == "").all()


def test_motorbike_keeps_off_the_expressway_and_rides_tracks() -> None:
    """Two ways from the site's node 1 to the clinic's node 3: a short expressway (1→2→3) and a
    longer track (1→4→3). Driving takes the expressway, the motorbike the track, at the
    profile's track speed; walking cannot use the expressway either."""
    G = nx.MultiDiGraph(crs="epsg:4326")
    for k, (x, y) in {1: (LON0, LAT0), 2: (LON0 + STEP, LAT0), 3: (LON0 + 2 * STEP, LAT0),
                      4: (LON0 + STEP, LAT0 + STEP)}.items():
        G.add_node(k, x=x, y=y)
    for u, v, length, hw in ((1, 2, 200.0, "motorway"), (2, 3, 200.0, "motorway"),
                             (1, 4, 300.0, "track"), (4, 3, 300.0, "track")):
        G.add_edge(u, v, length=length, highway=hw)
        G.add_edge(v, u, length=length, highway=hw)
    times = {}
    for name in ("drive", "motorbike", "walk"):
        prof = load_profile(name)
        rg = RoadGraph.from_networkx(G, profile=prof)
        i1, i3 = (int(np.flatnonzero(rg.node_ids == k)[0]) for k in (1, 3))
        _, length = nearest_facility(rg, [i1], [0.0], [i3], [0.0], ["C"], weight="length")
        _, minutes = nearest_facility(rg, [i1], [0.0], [i3], [0.0], ["C"], weight="time")
        times[name] = (float(length[0]), float(minutes[0]), prof)
    assert times["drive"][0] == pytest.approx(400.0)
    assert times["motorbike"][0] == pytest.approx(600.0)
    assert times["walk"][0] == pytest.approx(600.0)
    moto = times["motorbike"][2]
    assert times["motorbike"][1] == pytest.approx(600.0 / (moto.speed_kph("track") * 1000 / 60))
    assert times["motorbike"][1] < times["walk"][1]
