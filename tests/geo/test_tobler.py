"""Slope-aware walking times (Tobler's hiking function) on generated, demo and real graphs."""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Callable
from pathlib import Path

import networkx as nx
import numpy as np
import osmnx as ox
import pyproj
import pytest
import shapely
from hypothesis import given
from hypothesis import strategies as st
from scipy.sparse.csgraph import dijkstra

from anzhi.core.errors import InputError
from geo.roads import RoadGraph, load_profile
from layers.osm import load_road_graph
from geo.tobler import (
    TOBLER_FLAT_KPH,
    offroad_leg_min,
    tobler_factor,
    tobler_speed_kph,
    with_slope_times,
)
from layers.raster import dem_elevation_sampler

# --------------------------------------------------------------------------- tobler_factor


def test_flat_ground_keeps_the_speed() -> None:
    assert tobler_factor(0.0) == pytest.approx(1.0, abs=1e-15)
    assert tobler_speed_kph(0.0) == pytest.approx(TOBLER_FLAT_KPH, rel=1e-15)
    # hand value: 6·exp(−0.175) = 5.0367 km/h, Tobler's "about 5 km/h" on the flat
    assert float(tobler_speed_kph(0.0)) == pytest.approx(5.0367, abs=1e-4)


def test_published_values() -> None:
    # 10 % uphill: 6·exp(−3.5·0.15) = 3.5494 km/h, 0.7047 of the flat speed
    assert float(tobler_speed_kph(0.10)) == pytest.approx(3.5494, abs=1e-4)
    assert float(tobler_factor(0.10)) == pytest.approx(math.exp(-3.5 * 0.15) / math.exp(-3.5 * 0.05))
    assert float(tobler_factor(0.10)) == pytest.approx(0.7047, abs=1e-4)
    # 30 % uphill: exp(−3.5·0.30) = 0.3499 of the flat speed
    assert float(tobler_factor(0.30)) == pytest.approx(0.3499, abs=1e-4)
    # the peak, 6 km/h, on a 5 % descent
    assert float(tobler_speed_kph(-0.05)) == pytest.approx(6.0, abs=1e-12)
    assert float(tobler_factor(-0.05)) == pytest.approx(6.0 / 5.0367, abs=1e-4)
    # arrays in, arrays out, NaN stays NaN
    out = tobler_factor(np.array([0.0, np.nan, -0.05]))
    assert out.shape == (3,) and np.isnan(out[1]) and out[2] > out[0]


@given(st.floats(min_value=0.0, max_value=5.0), st.floats(min_value=-5.0, max_value=5.0))
def test_factor_is_symmetric_around_the_peak(d: float, g: float) -> None:
    assert float(tobler_factor(-0.05 + d)) == pytest.approx(float(tobler_factor(-0.05 - d)), rel=1e-9)
    assert float(tobler_factor(g)) <= float(tobler_factor(-0.05)) + 1e-15
    assert float(tobler_factor(g)) > 0
    if g > -0.05:  # decreasing uphill of the peak
        assert float(tobler_factor(g + 0.01)) < float(tobler_factor(g))


# --------------------------------------------------------------------------- offroad_leg_min


def test_offroad_leg() -> None:
    per_min = 4.5 * 1000 / 60
    assert float(offroad_leg_min(90.0, 0.0, flat_speed_kph=4.5)) == pytest.approx(90 / per_min)
    assert float(offroad_leg_min(90.0, np.nan, flat_speed_kph=4.5)) == pytest.approx(90 / per_min)
    assert float(offroad_leg_min(0.0, 12.0, flat_speed_kph=4.5)) == 0.0
    up = float(offroad_leg_min(100.0, 30.0, flat_speed_kph=4.5))
    down = float(offroad_leg_min(100.0, -30.0, flat_speed_kph=4.5))
    assert up == pytest.approx(100 / per_min / math.exp(-3.5 * 0.30))
    # steep both ways is slower than flat, uphill more so (30 %: 0.350 vs 0.497 of flat)
    assert up > down > 100 / per_min
    assert float(offroad_leg_min(100.0, -5.0, flat_speed_kph=4.5)) < 100 / per_min
    legs = offroad_leg_min(np.array([0.0, 50.0, np.nan]), np.array([1.0, np.nan, 3.0]),
                           flat_speed_kph=4.5)
    assert legs[0] == 0.0 and legs[1] == pytest.approx(50 / per_min) and np.isnan(legs[2])
    # a cliff: the grade is clipped at 100 %, the time stays finite
    cliff = float(offroad_leg_min(1.0, 500.0, flat_speed_kph=4.5))
    assert cliff == pytest.approx(1 / per_min / float(tobler_factor(1.0)))


@given(st.floats(min_value=0.01, max_value=3000), st.floats(min_value=-0.9, max_value=0.9))
def test_offroad_leg_is_distance_over_tobler_speed(dist: float, grade: float) -> None:
    t = float(offroad_leg_min(dist, grade * dist, flat_speed_kph=4.0))
    assert t == pytest.approx(dist / (4000 / 60) / math.exp(-3.5 * (abs(grade + 0.05) - 0.05)),
                              rel=1e-12)


def test_offroad_leg_refuses_bad_input() -> None:
    with pytest.raises(InputError, match=r"must be >= 0 metres, got \[-5.0\]"):
        offroad_leg_min(np.array([3.0, -5.0]), 0.0, flat_speed_kph=4.5)
    with pytest.raises(InputError, match="flat_speed_kph must be a positive finite number, got 0"):
        offroad_leg_min(3.0, 0.0, flat_speed_kph=0)


# --------------------------------------------------------------------------- generated graph

LON0, LAT0, STEP = 106.70, 26.55, 0.002  # ~200 m grid in Guizhou


def _gc_length(coords: list[tuple[float, float]]) -> float:
    return float(sum(ox.distance.great_circle(a[1], a[0], b[1], b[0])
                     for a, b in itertools.pairwise(coords)))


def _hand_graph() -> nx.MultiDiGraph:
    """A small osmnx-style graph: straight and bent edges, steps, a oneway track, parallel
    edges with one line, a loop, a very short edge, a motorway (not walkable)."""
    G = nx.MultiDiGraph(crs="epsg:4326")
    pos = {i + 1: (LON0 + (i % 3) * STEP, LAT0 + (i // 3) * STEP) for i in range(6)}
    pos[7] = (pos[6][0] + 0.00003, pos[6][1])  # ~3 m from node 6
    pos[8] = (LON0 + 0.01, LAT0 + 0.01)
    pos[9] = (LON0 + 0.0115, LAT0 + 0.0102)
    for nid, (x, y) in pos.items():
        G.add_node(nid, x=x, y=y)

    def add(u: int, v: int, highway: str, *, via: list[tuple[float, float]] | None = None,
            both: bool = True, key: int = 0) -> None:
        coords = [pos[u], *(via or []), pos[v]]
        attrs = {"highway": highway, "length": _gc_length(coords), "osmid": 1000 + u * 10 + v}
        if via:
            attrs["geometry"] = shapely.LineString(coords)
        G.add_edge(u, v, key=key, **attrs)
        if both:
            back = dict(attrs)
            if via:
                back["geometry"] = shapely.LineString(coords[::-1])
            G.add_edge(v, u, key=key, **back)

    add(1, 2, "residential")
    add(2, 3, "residential", via=[(LON0 + 1.3 * STEP, LAT0 + 0.4 * STEP),
                                  (LON0 + 1.7 * STEP, LAT0 - 0.2 * STEP)])
    add(1, 4, "path", via=[(LON0 + 0.3 * STEP, LAT0 + 0.2 * STEP),
                           (LON0 - 0.2 * STEP, LAT0 + 0.5 * STEP),
                           (LON0 + 0.2 * STEP, LAT0 + 0.8 * STEP)])
    add(2, 5, "footway")
    add(4, 5, "steps")
    add(5, 6, "track", both=False)  # oneway: walked both ways anyway
    add(3, 6, "residential", via=[(LON0 + 2.2 * STEP, LAT0 + 0.5 * STEP)])
    add(3, 6, "footway", via=[(LON0 + 2.2 * STEP, LAT0 + 0.5 * STEP)], key=1)  # same line
    add(6, 7, "service")
    add(6, 6, "path", via=[(pos[6][0] + 0.0004, pos[6][1] + 0.0002),
                           (pos[6][0] + 0.0001, pos[6][1] + 0.0005)], both=False)
    add(4, 6, "motorway", via=[(LON0 + STEP, LAT0 + 1.3 * STEP)])
    add(8, 9, "track", via=[(LON0 + 0.0108, LAT0 + 0.0109)])
    return G


@pytest.fixture(scope="module")
def hand() -> tuple[nx.MultiDiGraph, RoadGraph]:
    G = _hand_graph()
    return G, RoadGraph.from_networkx(G, profile=load_profile("walk"))


def _tobler(g: float) -> float:
    return math.exp(-3.5 * (abs(g + 0.05) - 0.05))


def _edge_time_by_hand(
    pts: list[tuple[float, float]], length_m: float, speed_kph: float,
    z_of: Callable[[float, float], float], step_m: float,
) -> float:
    """One directed edge, piece by piece, in plain Python (voids filled along the line)."""
    samples = [pts[0]]
    for (x0, y0), (x1, y1) in itertools.pairwise(pts):
        n = max(1, math.ceil(math.hypot(x1 - x0, y1 - y0) / step_m))
        samples += [(x0 + (x1 - x0) * i / n, y0 + (y1 - y0) * i / n) for i in range(1, n + 1)]
    z = [float(z_of(x, y)) for x, y in samples]
    s = [0.0]
    for a, b in itertools.pairwise(samples):
        s.append(s[-1] + math.hypot(b[0] - a[0], b[1] - a[1]))
    valid = [i for i, v in enumerate(z) if not math.isnan(v)]
    for i, v in enumerate(z):
        if not math.isnan(v):
            continue
        before = [j for j in valid if j < i]
        after = [j for j in valid if j > i]
        if before and after:
            p, q = before[-1], after[0]
            z[i] = z[p] + (z[q] - z[p]) * (s[i] - s[p]) / (s[q] - s[p])
        elif before or after:
            z[i] = z[(before or after)[-1 if before else 0]]
        else:
            z[i] = 0.0
    planar = s[-1]
    per_min = speed_kph * 1000 / 60
    if planar == 0:
        return length_m / per_min
    total = 0.0
    for k in range(len(samples) - 1):
        ground = (s[k + 1] - s[k]) * length_m / planar
        if ground > 0:
            total += ground / (per_min * _tobler((z[k + 1] - z[k]) / ground))
    return total


def _expected_times(
    G: nx.MultiDiGraph, rg: RoadGraph, z_of: Callable[[float, float], float], step_m: float = 30.0
) -> dict[tuple[int, int], float]:
    """Min time per (u, v) of every walkable directed edge (and its reverse), by hand."""
    prof = load_profile("walk")
    to_m = pyproj.Transformer.from_crs("EPSG:4326", rg.crs_metric, always_xy=True)
    out: dict[tuple[int, int], float] = {}
    for u, v, data in G.edges(data=True):
        speed = prof.speed_kph(data["highway"])
        if speed is None:
            continue
        geom = data.get("geometry")
        ll = (list(geom.coords) if geom is not None
              else [(G.nodes[u]["x"], G.nodes[u]["y"]), (G.nodes[v]["x"], G.nodes[v]["y"])])
        xs, ys = to_m.transform([c[0] for c in ll], [c[1] for c in ll])
        pts = list(zip(map(float, xs), map(float, ys), strict=True))
        for a, b, line in ((u, v, pts), (v, u, pts[::-1])):
            t = _edge_time_by_hand(line, data["length"], speed, z_of, step_m)
            out[(a, b)] = min(out.get((a, b), math.inf), t)
    return out


def _graph_times(rg: RoadGraph) -> dict[tuple[int, int], float]:
    out: dict[tuple[int, int], float] = {}
    for u, v, t in zip(rg.node_ids[rg.edge_u].tolist(), rg.node_ids[rg.edge_v].tolist(),
                       rg.edge_time_min.tolist(), strict=True):
        out[(u, v)] = min(out.get((u, v), math.inf), t)
    return out


def _dems(rg: RoadGraph) -> dict[str, Callable[[float, float], float]]:
    x0, y0 = float(rg.x_m.min()), float(rg.y_m.min())
    xc, yc = x0 + 250.0, y0 + 200.0

    def plane(x, y):  # type: ignore[no-untyped-def]
        return 800.0 + 0.25 * (x - x0) + 0.12 * (y - y0)

    def cone(x, y):  # type: ignore[no-untyped-def]
        return 1500.0 - 0.3 * np.hypot(x - xc, y - yc)

    def void_band(x, y):  # type: ignore[no-untyped-def]
        z = plane(x, y)
        return np.where((x - x0 > 150.0) & (x - x0 < 250.0), np.nan, z)

    return {"plane": plane, "cone": cone, "void_band": void_band}


@pytest.mark.parametrize("dem", ["plane", "cone", "void_band"])
def test_matches_a_segment_by_segment_computation(hand, dem: str) -> None:  # type: ignore[no-untyped-def]
    G, rg = hand
    z_of = _dems(rg)[dem]
    sloped = with_slope_times(rg, z_of)
    assert np.isfinite(sloped.edge_time_min).all()
    expected = _expected_times(G, rg, z_of)
    got = _graph_times(sloped)
    assert set(got) == set(expected)
    for key, t in expected.items():
        assert got[key] == pytest.approx(t, rel=1e-9, abs=1e-12), key
    # the CSR matrices route with those times: networkx Dijkstra on the hand weights
    D = nx.DiGraph()
    D.add_weighted_edges_from((u, v, t) for (u, v), t in expected.items())
    index = {int(n): i for i, n in enumerate(sloped.node_ids)}
    dist = dijkstra(sloped.time_min, indices=index[1])
    for node, t in nx.single_source_dijkstra_path_length(D, 1).items():
        assert dist[index[node]] == pytest.approx(t, rel=1e-9, abs=1e-12)
    # per-direction physical-edge times and the cached transpose follow the edge times
    fwd, bwd = sloped.pedge_weight("time")
    for j in range(sloped.n_edges):
        side = bwd if sloped.edge_pedge_reversed[j] else fwd
        assert side[sloped.edge_pedge[j]] <= sloped.edge_time_min[j] + 1e-15
    rev = sloped.weight_csr("time", reverse=True)
    assert abs(rev - sloped.time_min.T.tocsr()).max() < 1e-12
    # lengths are untouched, the input graph too
    assert np.array_equal(sloped.edge_length_m, rg.edge_length_m)
    assert np.array_equal(rg.edge_time_min, RoadGraph.from_networkx(G, profile=rg.profile).edge_time_min)


def test_uphill_is_slower_than_downhill(hand) -> None:  # type: ignore[no-untyped-def]
    G, rg = hand
    plane = _dems(rg)["plane"]
    got = _graph_times(with_slope_times(rg, plane))
    flat = _graph_times(rg)
    # 1 → 2 runs east, up the plane (0.25 m/m): slower than flat, and slower than 2 → 1
    assert got[(1, 2)] > flat[(1, 2)]
    assert got[(1, 2)] > got[(2, 1)]
    assert got[(2, 5)] > got[(5, 2)] and got[(1, 4)] > got[(4, 1)]
    # a 25 % straight climb: exactly the flat time over Tobler's factor of the grade
    u, v = 1, 2
    sloped = with_slope_times(rg, lambda x, y: 0.25 * x)
    t12 = _graph_times(sloped)[(u, v)]
    x_run = float((rg.x_m[rg.node_ids == v] - rg.x_m[rg.node_ids == u])[0])
    grade = 0.25 * x_run / G.edges[u, v, 0]["length"]  # rise over the edge's ground length
    assert 0.2 < grade < 0.3
    assert t12 == pytest.approx(flat[(u, v)] / _tobler(grade), rel=1e-9)


def test_flat_and_empty_dems_keep_the_flat_times(hand) -> None:  # type: ignore[no-untyped-def]
    _, rg = hand
    for z in (lambda x, y: np.full(np.shape(x), 1234.5),
              lambda x, y: np.full(np.shape(x), np.nan)):  # no DEM value anywhere: flat
        sloped = with_slope_times(rg, z, step_m=7.0)
        np.testing.assert_allclose(sloped.edge_time_min, rg.edge_time_min, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(sloped.pedge_time_fwd_min, rg.pedge_time_fwd_min, rtol=1e-9)
        np.testing.assert_allclose(sloped.pedge_time_bwd_min, rg.pedge_time_bwd_min, rtol=1e-9)
        assert abs(sloped.time_min - rg.time_min).max() < 1e-9


def test_void_band_interpolates_the_plane(hand) -> None:  # type: ignore[no-untyped-def]
    _, rg = hand
    dems = _dems(rg)
    with_void = _graph_times(with_slope_times(rg, dems["void_band"]))
    full = _graph_times(with_slope_times(rg, dems["plane"]))
    # 1 → 2 is one straight segment from outside the band (node 1) into it (node 2 at ~199 m):
    # its end is extrapolated flat from the last valid sample, so it differs from the plane
    assert with_void[(1, 2)] != pytest.approx(full[(1, 2)], rel=1e-6)
    # 2 – 5 lies wholly in the band: no valid sample, walked flat both ways
    flat = _graph_times(rg)
    assert with_void[(2, 5)] == pytest.approx(flat[(2, 5)], rel=1e-12)
    assert with_void[(5, 2)] == pytest.approx(flat[(5, 2)], rel=1e-12)
    # 3 – 6 and the isolated 8 – 9 never meet the band: same as the full plane
    for key in ((3, 6), (6, 3), (8, 9), (9, 8)):
        assert with_void[key] == pytest.approx(full[key], rel=1e-12)


def test_straight_edge_across_a_void_is_exact_on_a_plane(hand) -> None:  # type: ignore[no-untyped-def]
    """A void strictly inside a straight edge is filled linearly: exact on a plane."""
    _, rg = hand
    x0 = float(rg.x_m.min())

    def plane(x, y):  # type: ignore[no-untyped-def]
        return 300.0 + 0.2 * (x - x0) - 0.05 * y

    def holed(x, y):  # type: ignore[no-untyped-def]
        return np.where((x - x0 > 40.0) & (x - x0 < 160.0), np.nan, plane(x, y))

    a = _graph_times(with_slope_times(rg, plane))
    b = _graph_times(with_slope_times(rg, holed))
    assert b[(1, 2)] == pytest.approx(a[(1, 2)], rel=1e-9)
    assert b[(2, 1)] == pytest.approx(a[(2, 1)], rel=1e-9)


def test_cliffs_are_clipped_not_infinite(hand) -> None:  # type: ignore[no-untyped-def]
    _, rg = hand
    sloped = with_slope_times(rg, lambda x, y: 1000.0 * x)  # grade ±1000 east-west
    assert np.isfinite(sloped.edge_time_min).all()
    got, flat = _graph_times(sloped), _graph_times(rg)
    assert got[(1, 2)] == pytest.approx(flat[(1, 2)] / float(tobler_factor(1.0)), rel=1e-6)
    assert got[(2, 1)] == pytest.approx(flat[(2, 1)] / float(tobler_factor(-1.0)), rel=1e-6)


def test_twice_is_the_same(hand) -> None:  # type: ignore[no-untyped-def]
    _, rg = hand
    cone = _dems(rg)["cone"]
    once = with_slope_times(rg, cone)
    twice = with_slope_times(once, cone)
    assert np.array_equal(once.edge_time_min, twice.edge_time_min)


def test_refuses_drive_and_bad_arguments(hand) -> None:  # type: ignore[no-untyped-def]
    G, rg = hand
    drive = RoadGraph.from_networkx(G, profile=load_profile("drive"))
    with pytest.raises(InputError, match="profile 'drive' is not slope-aware.*slope_aware: true"):
        with_slope_times(drive, lambda x, y: np.zeros_like(x))
    with pytest.raises(InputError, match="step_m must be a positive finite number, got 0"):
        with_slope_times(rg, lambda x, y: np.zeros_like(x), step_m=0)
    with pytest.raises(InputError, match=r"returned an array of shape \(3,\) for \d+ points"):
        with_slope_times(rg, lambda x, y: np.zeros(3))


def test_profile_slope_aware_flag(tmp_path: Path) -> None:
    assert load_profile("walk").slope_aware and not load_profile("drive").slope_aware
    bad = tmp_path / "hike.yaml"
    bad.write_text("name: hike\nslope_aware: yes please\nspeeds_kph:\n"
                   "  default: {speed: 4, source: default}\n", encoding="utf-8")
    with pytest.raises(InputError, match="hike.yaml: 'slope_aware' must be true or false"):
        load_profile(bad)
    good = tmp_path / "hike2.yaml"
    good.write_text("name: hike\nslope_aware: true\nspeeds_kph:\n"
                    "  default: {speed: 4, source: default}\n", encoding="utf-8")
    hike = load_profile(good)
    assert hike.slope_aware
    assert dataclasses.replace(hike, slope_aware=False) != hike


# --------------------------------------------------------------------------- demo county


def test_demo_county_walks_slower_in_the_mountains(demo) -> None:  # type: ignore[no-untyped-def]
    rg = RoadGraph.from_networkx(load_road_graph(demo.roads), profile=load_profile("walk"))
    sloped = with_slope_times(rg, dem_elevation_sampler(demo.dem, crs=rg.crs_metric))
    assert np.isfinite(sloped.edge_time_min).all()
    assert np.isfinite(sloped.time_min.data).all()
    ok = rg.edge_length_m > 0
    factor = rg.edge_time_min[ok] / sloped.edge_time_min[ok]
    assert (factor < 0.9).sum() > 0.2 * ok.sum()  # many edges clearly slower than flat
    assert factor.mean() < 1.0
    assert (factor > 1.0).any()  # gentle descents are a little faster than flat


# --------------------------------------------------------------------------- real data


@pytest.mark.realdata
def test_andorra_with_srtm(shared_data: Path, andorra_osmnx_graph) -> None:  # type: ignore[no-untyped-def]
    rg = RoadGraph.from_networkx(andorra_osmnx_graph, profile=load_profile("walk"))
    dem = shared_data / "dem" / "N42E001_SRTM3v2.1.tif"
    sloped = with_slope_times(rg, dem_elevation_sampler(dem, crs=rg.crs_metric))
    assert np.isfinite(sloped.edge_time_min).all()
    assert np.isfinite(sloped.pedge_time_fwd_min).all() and np.isfinite(sloped.pedge_time_bwd_min).all()
    ok = rg.pedge_length_fwd_m > 1.0
    fwd, bwd = sloped.pedge_time_fwd_min[ok], sloped.pedge_time_bwd_min[ok]
    differ = np.abs(fwd - bwd) > 1e-6 * np.minimum(fwd, bwd)
    assert differ.mean() > 0.9
    factor = rg.edge_time_min[rg.edge_length_m > 0] / sloped.edge_time_min[rg.edge_length_m > 0]
    assert factor.mean() < 0.9
