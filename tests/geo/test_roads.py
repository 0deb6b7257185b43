"""Road graph (geo.roads): osmnx-style graph → CSR core and physical edges.

(Reading OSM files into that graph, :func:`layers.osm.load_road_graph`, is tested in
``tests/layers/test_osm.py``; the travel profiles in ``test_travel.py``.)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pytest
import shapely
from scipy.sparse.csgraph import dijkstra

import geo.roads
import geo.travel
from anzhi.core.errors import InputError
from geo.roads import RoadGraph, load_profile
from layers.osm import load_road_graph

from tests._osmxml import LAT0, LON0, STEP, Nodes, write_grid

#: Two nodes one STEP apart west → east.
TWO_NODES: Nodes = {1: (LON0, LAT0), 2: (LON0 + STEP, LAT0)}


@pytest.fixture
def grid_file(tmp_path: Path) -> Path:
    return write_grid(tmp_path)


def graph(*edges: tuple[int, int, dict[str, Any]], nodes: Nodes = TWO_NODES) -> nx.MultiDiGraph:
    """An unprojected osmnx-style graph of ``nodes`` (id → lon, lat) and ``(u, v, attrs)`` edges."""
    G = nx.MultiDiGraph(crs="epsg:4326")
    for nid, (lon, lat) in nodes.items():
        G.add_node(nid, x=lon, y=lat)
    for u, v, attrs in edges:
        G.add_edge(u, v, **attrs)
    return G


# --------------------------------------------------------------------------- RoadGraph


def test_roadgraph_walk_is_symmetric_drive_is_not(grid_file: Path) -> None:
    G = load_road_graph(grid_file)
    walk = RoadGraph.from_networkx(G, profile=load_profile("walk"))
    drive = RoadGraph.from_networkx(G, profile=load_profile("drive"))
    assert walk.crs_metric == "EPSG:32647" and walk.n_nodes == 11
    assert (walk.length_m != walk.length_m.T).nnz == 0
    i8, i7 = (int(np.flatnonzero(drive.node_ids == k)[0]) for k in (8, 7))
    assert drive.length_m[i7, i8] > 0 and drive.length_m[i8, i7] == 0  # no 8→7 when driving
    assert walk.length_m[i8, i7] == pytest.approx(drive.length_m[i7, i8])
    # travel time = length / speed of the class
    i4 = int(np.flatnonzero(drive.node_ids == 4)[0])
    assert drive.time_min[i4, i7] == pytest.approx(drive.length_m[i4, i7] / (30_000 / 60))
    assert walk.time_min[i4, i7] == pytest.approx(walk.length_m[i4, i7] / (4_500 / 60))
    assert drive.weight_csr("length", reverse=True)[i8, i7] == drive.length_m[i7, i8]


def test_roadgraph_distances_match_networkx(grid_file: Path) -> None:
    G = load_road_graph(grid_file)
    rg = RoadGraph.from_networkx(G, profile=load_profile("drive"))
    d = dijkstra(rg.length_m, directed=True, indices=0)
    ref = nx.single_source_dijkstra_path_length(G, int(rg.node_ids[0]), weight="length")
    for j, nid in enumerate(rg.node_ids.tolist()):
        assert d[j] == pytest.approx(ref.get(nid, np.inf), abs=1e-6)


def test_roadgraph_parallel_edges_take_the_shortest_and_zero_length_is_an_edge() -> None:
    G = graph((1, 2, {"length": 150.0, "highway": "primary"}),
              (1, 2, {"length": 120.0, "highway": "track"}),
              (2, 3, {"length": 0.0, "highway": "primary"}),
              nodes={**TWO_NODES, 3: (LON0 + STEP, LAT0)})
    rg = RoadGraph.from_networkx(G, profile=load_profile("drive"))
    assert rg.length_m[0, 1] == 120.0
    assert rg.time_min[0, 1] == pytest.approx(150.0 / (60_000 / 60))  # primary is quicker
    assert rg.length_m.nnz == 2
    assert dijkstra(rg.length_m, indices=0)[2] == 120.0  # the zero-length edge is usable


def test_roadgraph_list_highway_uses_fastest_usable_class() -> None:
    G = graph((1, 2, {"length": 600.0, "highway": ["track", "footway", "secondary"]}))
    rg = RoadGraph.from_networkx(G, profile=load_profile("drive"))
    assert rg.edge_highway.tolist() == ["secondary"]
    assert rg.time_min[0, 1] == pytest.approx(600.0 / (40_000 / 60))


def test_roadgraph_drops_unusable_classes_and_their_nodes() -> None:
    G = graph((1, 2, {"length": 100.0, "highway": "residential"}),
              (2, 3, {"length": 100.0, "highway": "footway"}),
              nodes={i + 1: (LON0 + i * STEP, LAT0) for i in range(3)})
    drive = RoadGraph.from_networkx(G, profile=load_profile("drive"))
    assert drive.node_ids.tolist() == [1, 2]
    walk = RoadGraph.from_networkx(G, profile=load_profile("walk"))
    assert walk.node_ids.tolist() == [1, 2, 3] and walk.n_edges == 4


def test_roadgraph_refuses_bad_graphs() -> None:
    G = graph((1, 2, {"highway": "residential"}))
    with pytest.raises(InputError, match="edge 1→2 has no valid 'length'"):
        RoadGraph.from_networkx(G, profile=load_profile("walk"))
    G.edges[1, 2, 0]["highway"] = "footway"
    with pytest.raises(InputError, match="no road in the graph is usable by travel profile 'drive'"):
        RoadGraph.from_networkx(G, profile=load_profile("drive"))
    P = nx.MultiDiGraph(crs="EPSG:32647")
    P.add_node(1, x=0.0, y=0.0)
    with pytest.raises(InputError, match="EPSG:32647.*expected unprojected EPSG:4326"):
        RoadGraph.from_networkx(P, profile=load_profile("walk"))


def test_profiles_are_exported_from_roads() -> None:
    # geo.roads stays an import of the travel profiles (pipeline, notebooks, geo/__init__)
    for name in geo.travel.__all__:
        assert getattr(geo.roads, name) is getattr(geo.travel, name), name
        assert name in geo.roads.__all__, name


# --------------------------------------------------------------------------- physical edges


def _pedge_between(rg: RoadGraph, a: int, b: int) -> list[int]:
    i, j = (int(np.flatnonzero(rg.node_ids == k)[0]) for k in (a, b))
    lo, hi = min(i, j), max(i, j)
    return np.flatnonzero((rg.pedge_u == lo) & (rg.pedge_v == hi)).tolist()


def test_physical_edges_merge_both_directions_of_a_street(grid_file: Path) -> None:
    G = load_road_graph(grid_file)
    walk = RoadGraph.from_networkx(G, profile=load_profile("walk"))
    drive = RoadGraph.from_networkx(G, profile=load_profile("drive"))
    # 10 two-way grid streets, the oneway 7→8→9 (two edges) and the track: 13 lines
    assert walk.n_pedges == drive.n_pedges == 13
    assert walk.pedge_fwd_ok.all() and walk.pedge_bwd_ok.all()
    for rg in (walk, drive):
        # every directed edge belongs to the physical edge with its two end nodes, in its direction
        pu, pv = rg.pedge_u[rg.edge_pedge], rg.pedge_v[rg.edge_pedge]
        rev = rg.edge_pedge_reversed
        assert (np.where(rev, pv, pu) == rg.edge_u).all() and (np.where(rev, pu, pv) == rg.edge_v).all()
        # lines run from pedge_u to pedge_v
        first = shapely.get_coordinates(shapely.get_point(rg.pedge_geometry, 0))
        last = shapely.get_coordinates(shapely.get_point(rg.pedge_geometry, -1))
        assert np.allclose(first, np.column_stack([rg.x_m[rg.pedge_u], rg.y_m[rg.pedge_u]]), atol=1e-6)
        assert np.allclose(last, np.column_stack([rg.x_m[rg.pedge_v], rg.y_m[rg.pedge_v]]), atol=1e-6)
    (e78,) = _pedge_between(drive, 7, 8)
    i7 = int(np.flatnonzero(drive.node_ids == 7)[0])
    fwd_is_7_to_8 = drive.pedge_u[e78] == i7
    ok_78 = drive.pedge_fwd_ok[e78] if fwd_is_7_to_8 else drive.pedge_bwd_ok[e78]
    ok_87 = drive.pedge_bwd_ok[e78] if fwd_is_7_to_8 else drive.pedge_fwd_ok[e78]
    assert ok_78 and not ok_87  # oneway when driving
    (e36,) = _pedge_between(walk, 3, 6)
    assert shapely.get_num_points(walk.pedge_geometry[e36]) == 3  # through the removed node 20
    assert walk.pedge_length_fwd_m[e36] == walk.pedge_length_bwd_m[e36] == G.edges[3, 6, 0]["length"]
    assert walk.pedge_time_fwd_min[e36] == pytest.approx(G.edges[3, 6, 0]["length"] / (4_500 / 60))
    # the running great-circle length over each line is osmnx's length of the edge
    first_v, _, cum_gc = walk.pedge_vertex_measure
    gc_len = cum_gc[first_v[1:] - 1] - cum_gc[first_v[:-1]]
    assert np.allclose(gc_len, walk.pedge_length_fwd_m, rtol=1e-9)
    assert np.allclose(walk.pedge_geom_length_m, gc_len, rtol=6e-3)  # planar ≈ great-circle


def test_physical_edges_parallel_streets() -> None:
    bent = shapely.LineString([(LON0 + STEP, LAT0), (LON0 + STEP / 2, LAT0 + STEP), (LON0, LAT0)])
    G = graph(
        # the same straight line twice (two classes): one physical edge, each direction its minimum
        (1, 2, {"length": 150.0, "highway": "primary"}),
        (1, 2, {"length": 120.0, "highway": "track"}),
        # a bent street the other way: its own physical edge, usable 2 → 1 only when driving
        (2, 1, {"length": 300.0, "highway": "residential", "geometry": bent}),
    )
    rg = RoadGraph.from_networkx(G, profile=load_profile("drive"))
    assert rg.n_pedges == 2
    straight, curved = sorted(range(2), key=lambda e: shapely.get_num_points(rg.pedge_geometry[e]))
    assert rg.pedge_length_fwd_m[straight] == 120.0 and np.isinf(rg.pedge_length_bwd_m[straight])
    assert rg.pedge_time_fwd_min[straight] == pytest.approx(150.0 / (60_000 / 60))  # primary is quicker
    assert np.isinf(rg.pedge_length_fwd_m[curved]) and rg.pedge_length_bwd_m[curved] == 300.0
    assert rg.pedge_fwd_ok.tolist()[curved] is False and rg.pedge_bwd_ok[curved]
    # the bent line is stored from node 1 to node 2 (reversed from the edge's own drawing)
    assert np.allclose(shapely.get_coordinates(rg.pedge_geometry[curved])[0], [rg.x_m[0], rg.y_m[0]])


def test_geometry_drawn_backwards_is_turned_round() -> None:
    backwards = shapely.LineString([(LON0 + STEP, LAT0), (LON0 + STEP / 2, LAT0 + STEP / 4), (LON0, LAT0)])
    G = graph((1, 2, {"length": 130.0, "highway": "residential", "geometry": backwards}))
    rg = RoadGraph.from_networkx(G, profile=load_profile("drive"))
    start = shapely.get_coordinates(rg.pedge_geometry[0])[0]
    assert np.allclose(start, [rg.x_m[0], rg.y_m[0]], atol=1e-6)
    assert rg.pedge_length_fwd_m.tolist() == [130.0] and not rg.pedge_bwd_ok[0]


def test_bad_edge_geometry_is_refused() -> None:
    G = graph((1, 2, {"length": 100.0, "highway": "residential",
                      "geometry": shapely.Point(LON0, LAT0)}))
    with pytest.raises(InputError, match="edge 1→2 has a 'geometry' that is not a line"):
        RoadGraph.from_networkx(G, profile=load_profile("walk"))
