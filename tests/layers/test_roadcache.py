"""The road graph cache: a stored graph is the built graph, array for array; keys follow
the file's content, the profile and the DEM; broken cache files are rebuilt."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import numpy as np
import pytest
import shapely

from geo.roads import RoadGraph, load_profile
from layers.osm import load_road_graph
from geo.routing import nearest_facility
from layers.roadcache import (
    cached_road_graph,
    load_saved_road_graph,
    road_graph_key,
    save_road_graph,
)


@pytest.fixture(scope="module")
def demo_nx(demo):  # type: ignore[no-untyped-def]
    return load_road_graph(demo.roads)


def _same(a: RoadGraph, b: RoadGraph) -> None:
    for name in ("node_ids", "lon", "lat", "x_m", "y_m", "edge_u", "edge_v", "edge_length_m",
                 "edge_time_min", "edge_highway", "edge_pedge", "edge_pedge_reversed",
                 "pedge_u", "pedge_v", "pedge_length_fwd_m", "pedge_length_bwd_m",
                 "pedge_time_fwd_min", "pedge_time_bwd_min"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    assert a.crs_metric == b.crs_metric
    assert shapely.equals_exact(a.pedge_geometry, b.pedge_geometry, tolerance=0).all()
    for name in ("length_m", "time_min"):
        ma, mb = getattr(a, name), getattr(b, name)
        assert (ma != mb).nnz == 0 and ma.nnz == mb.nnz, name


@pytest.mark.parametrize("profile_name", ["walk", "drive"])
def test_round_trip_is_exact(demo_nx, tmp_path: Path, profile_name: str) -> None:  # type: ignore[no-untyped-def]
    profile = load_profile(profile_name)
    built = RoadGraph.from_networkx(demo_nx, profile=profile)
    path = save_road_graph(built, tmp_path / "g.npz")
    loaded = load_saved_road_graph(path, profile=profile)
    _same(built, loaded)
    # and it routes the same
    rng = np.random.default_rng(1)
    s = rng.integers(0, built.n_nodes, 30)
    f = rng.integers(0, built.n_nodes, 5)
    for w in ("length", "time"):
        a = nearest_facility(built, s, np.zeros(30), f, np.zeros(5), f.astype(str), weight=w)
        b = nearest_facility(loaded, s, np.zeros(30), f, np.zeros(5), f.astype(str), weight=w)
        np.testing.assert_array_equal(a[1], b[1])
        assert list(a[0]) == list(b[0])


def test_profile_mismatch_is_refused(demo_nx, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = save_road_graph(RoadGraph.from_networkx(demo_nx, profile=load_profile("walk")),
                           tmp_path / "g.npz")
    with pytest.raises(ValueError, match="another profile than 'drive'"):
        load_saved_road_graph(path, profile=load_profile("drive"))


def test_cache_hit_miss_and_keys(demo, demo_nx, tmp_path: Path, caplog) -> None:  # type: ignore[no-untyped-def]
    walk, drive = load_profile("walk"), load_profile("drive")
    calls: list[str] = []

    def build(profile=walk):  # type: ignore[no-untyped-def]
        calls.append(profile.name)
        return RoadGraph.from_networkx(demo_nx, profile=profile)

    roads = tmp_path / "roads.osm"
    shutil.copy(demo.roads, roads)
    cache = tmp_path / "cache"
    g1, hit1 = cached_road_graph(roads, profile=walk, build=build, cache_dir=cache)
    g2, hit2 = cached_road_graph(roads, profile=walk, build=build, cache_dir=cache)
    assert (hit1, hit2) == (False, True) and calls == ["walk"]
    _same(g1, g2)
    # another profile, another key
    _, hit3 = cached_road_graph(roads, profile=drive, build=lambda: build(drive), cache_dir=cache)
    assert not hit3 and calls == ["walk", "drive"]
    # the same bytes under another name hit; changed bytes miss
    moved = tmp_path / "elsewhere.osm"
    shutil.copy(roads, moved)
    assert road_graph_key(moved, walk) == road_graph_key(roads, walk)
    roads.write_bytes(roads.read_bytes().replace(b"</osm>", b"<!-- edited --></osm>"))
    assert road_graph_key(moved, walk) != road_graph_key(roads, walk)
    # a DEM is part of the key
    assert road_graph_key(moved, walk, dem=demo.dem) != road_graph_key(moved, walk)
    # use_cache=False neither reads nor writes
    before = sorted(p.name for p in cache.iterdir())
    cached_road_graph(moved, profile=walk, build=build, cache_dir=cache, use_cache=False)
    assert sorted(p.name for p in cache.iterdir()) == before and calls[-1] == "walk"
    assert not [p for p in cache.iterdir() if ".tmp" in p.name]  # no temporary file left


def test_broken_cache_file_is_rebuilt(demo, demo_nx, tmp_path: Path, caplog) -> None:  # type: ignore[no-untyped-def]
    walk = load_profile("walk")
    cache = tmp_path / "cache"
    calls = []

    def build() -> RoadGraph:
        calls.append(1)
        return RoadGraph.from_networkx(demo_nx, profile=walk)

    cached_road_graph(demo.roads, profile=walk, build=build, cache_dir=cache)
    (stored,) = cache.glob("*.npz")
    stored.write_bytes(stored.read_bytes()[: stored.stat().st_size // 2])  # truncated
    with caplog.at_level(logging.WARNING, logger="layers.roadcache"):
        g, hit = cached_road_graph(demo.roads, profile=walk, build=build, cache_dir=cache)
    assert not hit and len(calls) == 2
    assert "unreadable" in caplog.text and "rebuilding" in caplog.text
    g2, hit2 = cached_road_graph(demo.roads, profile=walk, build=build, cache_dir=cache)
    assert hit2 and len(calls) == 2
    _same(g, g2)


def test_failed_build_leaves_nothing(demo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cache = tmp_path / "cache"

    def build() -> RoadGraph:
        raise RuntimeError("killed half way")

    with pytest.raises(RuntimeError, match="killed half way"):
        cached_road_graph(demo.roads, profile=load_profile("walk"), build=build, cache_dir=cache)
    assert not cache.exists() or not list(cache.iterdir())
