"""Candidate locations for siting (geo.candidates): points along lines, thinning to a spacing,
road candidates of a graph, combining them with sites and user points, exclusion reasons."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial import cKDTree

from anzhi.core.errors import InputError
from geo.candidates import (EXCLUSION_REASONS, combine_candidates, count_reasons, edge_points,
                            exclusion_reasons, road_candidates, steep_mask, thin_points)
from geo.roads import RoadGraph
from tests.geo._networks import PROFILES, jittered_grid


def test_edge_points_every_spacing_ends_left_out() -> None:
    lines = np.array([shapely.LineString([(0, 0), (1000, 0)]),
                      shapely.LineString([(0, 0), (0, 150)]),
                      shapely.LineString([(0, 0), (300, 0), (300, 100)])], dtype=object)
    x, y, line = edge_points(lines, spacing_m=200.0)
    assert line.tolist() == [0, 0, 0, 0, 2]  # 1000 m: 200..800; 150 m: none; 400 m: 200 only
    assert x.tolist() == [200.0, 400.0, 600.0, 800.0, 200.0]
    assert y.tolist() == [0.0, 0.0, 0.0, 0.0, 0.0]
    x2, _, line2 = edge_points(lines[2:], spacing_m=50.0)  # 400 m every 50 m: 7 points
    assert len(line2) == 7 and x2[-1] == 300.0  # the bend is followed: 350 m is (300, 50)


@pytest.mark.parametrize("bad", [0, -5, float("nan"), float("inf"), "x"])
def test_spacing_must_be_a_positive_distance(bad: object) -> None:
    with pytest.raises(InputError, match=r"spacing_m = .* is not a distance > 0 .* spacing_m=200"):
        thin_points([0.0], [0.0], spacing_m=bad)  # type: ignore[arg-type]


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 400), spacing=st.floats(5.0, 300.0))
def test_thinning_keeps_points_apart_and_near_every_dropped_one(seed: int, n: int,
                                                                spacing: float) -> None:
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 2000, size=(n, 2))
    xy[rng.random(n) < 0.1] = xy[0]  # some duplicates
    kept = thin_points(xy[:, 0], xy[:, 1], spacing_m=spacing)
    assert len(kept) >= 1 and np.all(np.diff(kept) > 0)
    tree = cKDTree(xy[kept])
    if len(kept) > 1:
        d, _ = tree.query(xy[kept], k=2)
        assert d[:, 1].min() >= spacing  # no two kept points closer than the spacing
    d_all, _ = tree.query(xy, k=1)
    assert d_all.max() <= 2 * spacing  # every dropped point has a kept one near it


def test_thinning_follows_priority() -> None:
    x = np.array([0.0, 50.0, 100.0, 1000.0])
    y = np.zeros(4)
    assert thin_points(x, y, spacing_m=120.0).tolist() == [0, 3]  # input order: 0 wins
    prio = np.array([0.0, 5.0, 0.0, 0.0])
    assert thin_points(x, y, spacing_m=120.0, priority=prio).tolist() == [1, 3]


@pytest.fixture(scope="module")
def graph() -> RoadGraph:
    return RoadGraph.from_networkx(jittered_grid(3, n=6, curved_share=0.3),
                                   profile=PROFILES["walk"])


def test_road_candidates_lie_on_roads_apart(graph: RoadGraph) -> None:
    c = road_candidates(graph, spacing_m=100.0)
    assert set(c.source) == {"node", "edge"}
    pts = shapely.points(c.x_m, c.y_m)
    _, dist = graph.pedge_tree.query_nearest(pts, return_distance=True)
    assert dist.max() < 1e-6  # on a road
    d, _ = cKDTree(np.column_stack([c.x_m, c.y_m])).query(np.column_stack([c.x_m, c.y_m]), k=2)
    assert d[:, 1].min() >= 100.0
    # junctions come first: they are thinned among themselves only, before any other point
    nodes = c.ref[c.source == "node"].astype(int)
    deg = np.bincount(np.concatenate([graph.pedge_u, graph.pedge_v]), minlength=graph.n_nodes)
    junctions = np.flatnonzero(deg >= 3)
    first = junctions[thin_points(graph.x_m[junctions], graph.y_m[junctions], spacing_m=100.0)]
    assert len(first) > 5 and set(first.tolist()) <= set(nodes.tolist())
    back_lon, back_lat = graph.lon[nodes], graph.lat[nodes]
    assert np.allclose(c.lon[c.source == "node"], back_lon)
    assert np.allclose(c.lat[c.source == "node"], back_lat)
    # edge points get WGS84 positions consistent with their metres
    e = c.take(c.source == "edge")
    assert len(e) > 0 and np.all((e.lon > 99.1) & (e.lon < 99.3) & (e.lat > 24.6) & (e.lat < 24.8))
    # a larger spacing gives fewer candidates
    assert len(road_candidates(graph, spacing_m=400.0)) < len(c)


def test_combine_candidates_sources_refs_and_ids(graph: RoadGraph) -> None:
    road = road_candidates(graph, spacing_m=200.0)
    c = combine_candidates(road, crs=graph.crs_metric, site_lon=[99.201], site_lat=[24.701],
                           site_ids=["S1"], user_lon=[99.203, 99.204], user_lat=[24.702, 24.703],
                           user_ids=["P-1", "P-2"])
    assert len(c) == len(road) + 3
    assert c.source[-3:].tolist() == ["site", "user", "user"]
    ids = c.ids
    assert ids[-3:].tolist() == ["site:S1", "P-1", "P-2"]
    assert len(set(ids)) == len(ids)
    assert np.isfinite(c.x_m).all() and c.x_m[-1] > c.x_m[-2]  # 99.204 is east of 99.203
    with pytest.raises(InputError, match="site candidates: 1 lon, 1 lat and 2 ids"):
        combine_candidates(None, crs=graph.crs_metric, site_lon=[99.2], site_lat=[24.7],
                           site_ids=["a", "b"])
    with pytest.raises(InputError, match="user candidate 'X' has no finite position"):
        combine_candidates(None, crs=graph.crs_metric, user_lon=[np.nan], user_lat=[24.7],
                           user_ids=["X"])
    with pytest.raises(InputError, match="road candidates are in"):
        combine_candidates(road, crs="EPSG:4326")


def test_exclusion_reasons_first_reason_counted_once() -> None:
    area = np.array([True, False, False, True, False])
    steep = np.array([True, True, False, False, False])
    off = np.array([True, True, True, False, False])
    r = exclusion_reasons(5, {"exclusion_area": area, "steep_slope": steep, "off_network": off})
    assert r.tolist() == ["exclusion_area", "steep_slope", "off_network", "exclusion_area", ""]
    counts = count_reasons(r)
    assert counts == {"exclusion_area": 2, "steep_slope": 1, "off_network": 1, "kept": 1}
    assert sum(counts.values()) == 5
    assert exclusion_reasons(2, {"steep_slope": None}).tolist() == ["", ""]
    assert tuple(EXCLUSION_REASONS) == ("exclusion_area", "steep_slope", "off_network")
    with pytest.raises(InputError, match=r"unknown exclusion reason\(s\) \['flood'\]"):
        exclusion_reasons(2, {"flood": np.zeros(2, dtype=bool)})
    with pytest.raises(InputError, match=r"has shape \(3,\).*expected \(2,\) bool"):
        exclusion_reasons(2, {"steep_slope": np.zeros(3, dtype=bool)})


def test_steep_mask_unknown_slope_is_not_steep() -> None:
    m = steep_mask([10.0, 25.0, 25.5, np.nan], max_slope_deg=25.0)
    assert m.tolist() == [False, False, True, False]
    with pytest.raises(InputError, match="max_slope_deg = 95 is not an angle"):
        steep_mask([1.0], max_slope_deg=95)
