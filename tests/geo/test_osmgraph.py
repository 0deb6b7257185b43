"""The direct OSM → RoadGraph path (geo.osmgraph) against the pure osmnx path (load_road_graph).

Every case checks that ``road_graph_from_ways(read_osm_ways(f))`` equals
``RoadGraph.from_networkx(load_road_graph(f))`` array for array (after sorting) for the walk
and drive profiles, and that ``ways_to_networkx`` equals the osmnx graph itself.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from anzhi.core.errors import InputError
from geo.osmgraph import OsmWays, road_graph_from_ways, ways_to_networkx
from geo.roads import RoadGraph, load_profile
from layers.osm import load_road_graph
from layers.osm import read_osm_ways

from tests._osmxml import LAT0, LON0, STEP, Nodes, Ways, osm_xml


def write_osm(folder: Path, nodes: Nodes, ways: Ways, name: str = "roads.osm") -> Path:
    path = folder / name
    path.write_text(osm_xml(nodes, ways), encoding="utf-8")
    return path


def line(ids: range | list[int], *, lat_step: float = 0.0) -> Nodes:
    """Nodes along a west-east line (one STEP apart), optionally rising northwards."""
    return {nid: (LON0 + k * STEP, LAT0 + k * lat_step) for k, nid in enumerate(ids)}


# --------------------------------------------------------------------------- comparison


def _canonical(rg: RoadGraph) -> dict[str, Any]:
    """An order-free description of a RoadGraph: sorted edges, sorted physical edges."""
    coords, which = shapely.get_coordinates(rg.pedge_geometry, return_index=True)
    first = np.searchsorted(which, np.arange(rg.n_pedges + 1))
    pkeys = [(int(rg.pedge_u[k]), int(rg.pedge_v[k]), coords[first[k]:first[k + 1]].tobytes())
             for k in range(rg.n_pedges)]
    porder = sorted(range(rg.n_pedges), key=pkeys.__getitem__)
    rank = np.empty(rg.n_pedges, dtype=np.int64)
    rank[porder] = np.arange(rg.n_pedges)
    erank = rank[rg.edge_pedge]
    eorder = np.lexsort((rg.edge_length_m, rg.edge_pedge_reversed, erank, rg.edge_highway,
                         rg.edge_v, rg.edge_u))
    return {
        "pkeys": [pkeys[k] for k in porder],
        "porder": np.asarray(porder, dtype=np.int64),
        "eorder": eorder,
        "erank": erank[eorder],
    }


def assert_same_road_graph(ref: RoadGraph, got: RoadGraph) -> None:
    """Same nodes, directed edges, physical edges and CSR matrices (orders aside)."""
    np.testing.assert_array_equal(got.node_ids, ref.node_ids)
    np.testing.assert_array_equal(got.lon, ref.lon)
    np.testing.assert_array_equal(got.lat, ref.lat)
    assert got.crs_metric == ref.crs_metric
    np.testing.assert_allclose(got.x_m, ref.x_m, rtol=0, atol=1e-6)
    assert (got.n_edges, got.n_pedges) == (ref.n_edges, ref.n_pedges)
    a, b = _canonical(ref), _canonical(got)
    assert b["pkeys"] == a["pkeys"]  # same ends and same metric line, vertex for vertex
    ea, eb = a["eorder"], b["eorder"]
    np.testing.assert_array_equal(got.edge_u[eb], ref.edge_u[ea])
    np.testing.assert_array_equal(got.edge_v[eb], ref.edge_v[ea])
    np.testing.assert_array_equal(got.edge_highway[eb], ref.edge_highway[ea])
    np.testing.assert_array_equal(b["erank"], a["erank"])
    np.testing.assert_array_equal(got.edge_pedge_reversed[eb], ref.edge_pedge_reversed[ea])
    np.testing.assert_allclose(got.edge_length_m[eb], ref.edge_length_m[ea], rtol=1e-9)
    np.testing.assert_allclose(got.edge_time_min[eb], ref.edge_time_min[ea], rtol=1e-9)
    pa, pb = a["porder"], b["porder"]
    for name in ("pedge_length_fwd_m", "pedge_length_bwd_m", "pedge_time_fwd_min",
                 "pedge_time_bwd_min"):
        np.testing.assert_allclose(getattr(got, name)[pb], getattr(ref, name)[pa], rtol=1e-9)
    for name in ("length_m", "time_min"):
        x, y = getattr(ref, name), getattr(got, name)
        np.testing.assert_array_equal(y.indptr, x.indptr)
        np.testing.assert_array_equal(y.indices, x.indices)
        np.testing.assert_allclose(y.data, x.data, rtol=1e-9)


def _norm(value: Any) -> Any:
    if isinstance(value, list):
        return ("list", tuple(sorted(value, key=repr)))
    if isinstance(value, shapely.LineString):
        return ("line", tuple(value.coords))
    if isinstance(value, float):
        return round(value, 6)
    return value


def _edges(G: nx.MultiDiGraph) -> list[Any]:
    return sorted(((u, v, tuple(sorted((k, _norm(x)) for k, x in d.items())))
                   for u, v, d in G.edges(data=True)), key=repr)


def assert_same_networkx(ref: nx.MultiDiGraph, got: nx.MultiDiGraph, *,
                         same_file: bool = True) -> None:
    """Same nodes with the same attributes, same multiset of edges with the same attributes."""
    assert dict(got.nodes(data=True)) == dict(ref.nodes(data=True))
    assert _edges(got) == _edges(ref)
    for key in ("crs", "simplified", "n_cut_ways", *(["source_file"] if same_file else [])):
        assert got.graph[key] == ref.graph[key]


def check_both_paths(path: Path) -> tuple[nx.MultiDiGraph, OsmWays]:
    """Compare the two paths on one file, for both shipped profiles; return (osmnx G, ways)."""
    G = load_road_graph(path, progress=False)
    ways = read_osm_ways(path, progress=False)
    for name in ("walk", "drive"):
        profile = load_profile(name)
        try:
            ref = RoadGraph.from_networkx(G, profile=profile)
        except InputError as exc:
            with pytest.raises(InputError, match=re.escape(str(exc))):
                road_graph_from_ways(ways, profile=profile)
            continue
        assert_same_road_graph(ref, road_graph_from_ways(ways, profile=profile))
    assert_same_networkx(G, ways_to_networkx(ways))
    return G, ways


def drive_edges(path: Path) -> set[tuple[int, int]]:
    """Directed (from, to) OSM node pairs of the drive graph on the direct path."""
    rg = road_graph_from_ways(read_osm_ways(path, progress=False), profile=load_profile("drive"))
    ids = rg.node_ids.tolist()
    return {(ids[u], ids[v]) for u, v in zip(rg.edge_u.tolist(), rg.edge_v.tolist(), strict=True)}


# --------------------------------------------------------------------------- hand-made cases


def test_oneway_values(tmp_path: Path) -> None:
    values = ["yes", "-1", "reverse", "no", "T", "F", "true", "1"]
    nodes: Nodes = {}
    ways: Ways = []
    for k, value in enumerate(values):
        ids = [10 * k + 1, 10 * k + 2, 10 * k + 3]
        nodes.update({nid: (LON0 + j * STEP, LAT0 + k * STEP) for j, nid in enumerate(ids)})
        ways.append((100 + k, ids, {"highway": "residential", "oneway": value}))
    path = write_osm(tmp_path, nodes, ways)
    check_both_paths(path)
    edges = drive_edges(path)
    forward = {"yes", "F", "true", "1"}
    for k, value in enumerate(values):
        a, c = 10 * k + 1, 10 * k + 3
        # osmnx: -1/reverse/T run against the node order; "no" is two-way
        assert ((a, c) in edges) == (value in forward | {"no"}), value
        assert ((c, a) in edges) == (value in {"-1", "reverse", "T", "no"}), value


def test_roundabout_is_oneway(tmp_path: Path) -> None:
    ring = {20: (LON0, LAT0), 21: (LON0 + STEP, LAT0 + STEP), 22: (LON0, LAT0 + 2 * STEP),
            23: (LON0 - STEP, LAT0 + STEP)}
    nodes = {**ring, 1: (LON0, LAT0 - 2 * STEP), 2: (LON0, LAT0 + 4 * STEP)}
    ways: Ways = [
        (1, [20, 21, 22, 23, 20], {"highway": "primary", "junction": "roundabout"}),
        (2, [1, 20], {"highway": "primary"}),
        (3, [22, 2], {"highway": "primary"}),
    ]
    path = write_osm(tmp_path, nodes, ways)
    G, _ = check_both_paths(path)
    assert drive_edges(path) == {(1, 20), (20, 1), (22, 2), (2, 22), (20, 22), (22, 20)}
    assert G.edges[20, 22, 0]["oneway"] is True and G.edges[20, 22, 0]["junction"] == "roundabout"


def test_class_change_mid_street_keeps_nodes(tmp_path: Path) -> None:
    nodes = line(range(1, 8))
    ways: Ways = [(1, [1, 2, 3], {"highway": "tertiary"}), (2, [3, 4, 5], {"highway": "track"}),
                  (3, [5, 6, 7], {"highway": "tertiary", "name": "R&D <路> \"x\""})]
    G, _ = check_both_paths(write_osm(tmp_path, nodes, ways))
    assert set(G.nodes) == {1, 3, 5, 7}
    assert G.edges[5, 7, 0]["name"] == "R&D <路> \"x\""  # escaped in the temporary XML


def test_ring_without_endpoints_is_dropped(tmp_path: Path) -> None:
    square = {30: (LON0, LAT0), 31: (LON0 + STEP, LAT0), 32: (LON0 + STEP, LAT0 + STEP),
              33: (LON0, LAT0 + STEP)}
    oneway_ring = {k + 10: (lon + 0.01, lat) for k, (lon, lat) in square.items()}
    nodes = {**square, **oneway_ring, **line([1, 2, 3], lat_step=STEP)}
    ways: Ways = [
        (1, [30, 31, 32, 33, 30], {"highway": "footway"}),
        (2, [40, 41, 42, 43, 40], {"highway": "service", "oneway": "yes"}),
        (3, [1, 2, 3], {"highway": "residential"}),
    ]
    G, _ = check_both_paths(write_osm(tmp_path, nodes, ways))
    assert set(G.nodes) == {1, 3}


def test_self_loop_and_revisited_node(tmp_path: Path) -> None:
    nodes = {1: (LON0 - STEP, LAT0), 2: (LON0, LAT0), 3: (LON0 + STEP, LAT0 + STEP),
             4: (LON0 + 2 * STEP, LAT0), 5: (LON0 + STEP, LAT0 - STEP),
             6: (LON0, LAT0 + 0.01), 7: (LON0 + STEP, LAT0 + 0.01), 8: (LON0 + 2 * STEP, LAT0 + 0.01),
             9: (LON0 + STEP, LAT0 + 0.012), 10: (LON0 + 3 * STEP, LAT0 + 0.01)}
    ways: Ways = [
        (1, [1, 2], {"highway": "residential"}),
        (2, [2, 3, 4, 5, 2], {"highway": "residential"}),  # a loop hanging off node 2
        (3, [6, 7, 8, 9, 7, 10], {"highway": "track"}),  # revisits node 7
    ]
    path = write_osm(tmp_path, nodes, ways)
    G, _ = check_both_paths(path)
    # each loop (2-3-4-5-2, and 7-8-9-7 of the way revisiting 7) once each way round
    assert G.number_of_edges(2, 2) == 2 and G.number_of_edges(7, 7) == 2
    assert 3 not in G and 8 not in G
    rg = road_graph_from_ways(read_osm_ways(path, progress=False), profile=load_profile("walk"))
    loops = np.flatnonzero(rg.edge_u == rg.edge_v)
    # walking doubles the 4 loop edges; both directions of a loop are one physical edge
    assert len(loops) == 8 and len(set(rg.edge_pedge[loops].tolist())) == 2


def test_areas_buildings_and_unbuilt_roads_are_not_roads(tmp_path: Path) -> None:
    nodes = line(range(1, 13))
    ways: Ways = [
        (1, [1, 2, 3], {"highway": "residential"}),
        (2, [4, 5, 6, 4], {"highway": "pedestrian", "area": "yes"}),
        (3, [7, 8, 9, 7], {"building": "yes"}),
        (4, [10, 11], {"highway": "proposed"}),
        (5, [11, 12], {"highway": "no"}),
    ]
    G, ways_read = check_both_paths(write_osm(tmp_path, nodes, ways))
    assert ways_read.way_ids.tolist() == [1] and ways_read.n_ways_read == 5
    assert set(G.nodes) == {1, 3}


def test_duplicate_consecutive_nodes(tmp_path: Path) -> None:
    nodes = line(range(1, 6))
    ways: Ways = [(1, [1, 1, 2, 2, 3], {"highway": "residential"}),
                  (2, [3, 4, 4, 5], {"highway": "residential", "oneway": "yes"}),
                  (3, [5, 5], {"highway": "residential"})]  # no edge at all
    G, _ = check_both_paths(write_osm(tmp_path, nodes, ways))
    assert not any(u == v for u, v in G.edges())
    assert G.edges[1, 3, 0]["length"] == pytest.approx(G.edges[3, 1, 0]["length"])


def test_parallel_ways(tmp_path: Path) -> None:
    nodes = {**line([1, 2, 3]), 4: (LON0 + STEP, LAT0 + STEP), 5: (LON0 + STEP, LAT0 - STEP),
             **{k + 10: (lon, lat + 0.01) for k, (lon, lat) in line([1, 2, 3]).items()}}
    ways: Ways = [
        (1, [1, 2, 3], {"highway": "residential"}),
        (2, [1, 2, 3], {"highway": "track"}),  # the same street mapped twice, another class
        (3, [1, 4, 3], {"highway": "residential"}),  # a second street between 1 and 3
        (4, [1, 5, 3], {"highway": "residential"}),
        (5, [11, 12, 13], {"highway": "service", "oneway": "yes"}),  # a oneway mapped twice
        (6, [11, 12, 13], {"highway": "service", "oneway": "yes"}),
    ]
    path = write_osm(tmp_path, nodes, ways)
    G, _ = check_both_paths(path)
    assert G.number_of_edges(11, 13) == 1  # osmnx keeps one edge through a doubled oneway
    assert G.number_of_edges(1, 3) == 2  # 1-4-3 and 1-5-3
    # node 2 stays (8 directed edges): 1→2 once per class
    assert sorted(d["highway"] for d in G.get_edge_data(1, 2).values()) == ["residential", "track"]


def test_simplification_quirks(tmp_path: Path) -> None:
    """Oneway/two-way mixes where osmnx's path building ends early or drops an edge."""
    nodes = {**line([1, 2, 3]), **{k + 10: (lon, lat + 0.01) for k, (lon, lat) in
                                    line([1, 2, 3]).items()}}
    ways: Ways = [
        (1, [1, 2], {"highway": "residential"}),
        (2, [1, 2], {"highway": "residential", "oneway": "yes"}),
        (3, [2, 3], {"highway": "residential", "oneway": "yes"}),
        (4, [11, 12], {"highway": "residential"}),
        (5, [13, 12], {"highway": "residential", "oneway": "yes"}),
        (6, [13, 12], {"highway": "residential", "oneway": "yes"}),
    ]
    G, _ = check_both_paths(write_osm(tmp_path, nodes, ways))
    assert sorted(G.edges(keys=False)) == [(1, 3), (13, 11)]


def test_clipped_extract_both_paths(tmp_path: Path) -> None:
    nodes = line(range(1, 10))
    del nodes[4], nodes[9]
    ways: Ways = [
        (1, [1, 2, 3, 4, 5, 6], {"highway": "residential"}),  # gap in the middle → 2 pieces
        (2, [6, 7, 8, 9], {"highway": "track"}),  # cut at its end
        (3, [9, 4], {"highway": "track"}),  # nothing left
    ]
    G, ways_read = check_both_paths(write_osm(tmp_path, nodes, ways))
    assert (ways_read.n_cut_ways, ways_read.n_dropped_ways) == (2, 1)
    assert ways_read.way_ids.tolist() == [1, 1, 2]
    assert G.graph["n_cut_ways"] == 2
    assert G.edges[1, 3, 0]["osmid"] == 1 and G.edges[5, 6, 0]["osmid"] == 1


def test_no_usable_road_raises_like_from_networkx(tmp_path: Path) -> None:
    path = write_osm(tmp_path, line([1, 2]), [(1, [1, 2], {"highway": "footway"})])
    check_both_paths(path)  # walk works; drive must fail with the same message
    with pytest.raises(InputError, match="no road in the graph is usable by travel profile 'drive'"):
        road_graph_from_ways(read_osm_ways(path, progress=False), profile=load_profile("drive"))


# --------------------------------------------------------------------------- random networks

HIGHWAYS = ["residential", "track", "footway", "primary"]
ONEWAYS = [None, None, "yes", "-1", "no", "reverse"]


@st.composite
def networks(draw: st.DrawFn) -> tuple[Nodes, Ways]:
    """Small random road networks: ways wander over a few nodes, revisit them, stutter, go
    oneway or round, change class, and sometimes use nodes missing from the file."""
    n = draw(st.integers(3, 9))
    nodes: Nodes = {i + 1: (LON0 + (i % 3) * STEP, LAT0 + (i // 3) * STEP) for i in range(n)}
    if draw(st.booleans()):  # two nodes at one location (happens in OSM)
        nodes[n + 1] = nodes[1]
    n_missing = draw(st.integers(0, 2))
    refs = st.integers(1, len(nodes) + n_missing)
    ways: Ways = []
    for k in range(draw(st.integers(1, 7))):
        tags = {"highway": draw(st.sampled_from(HIGHWAYS))}
        oneway = draw(st.sampled_from(ONEWAYS))
        if oneway is not None:
            tags["oneway"] = oneway
        if draw(st.integers(0, 9)) == 0:
            tags["junction"] = "roundabout"
        ways.append((k + 1, draw(st.lists(refs, min_size=1, max_size=8)), tags))
    missing = {len(nodes) + j + 1 for j in range(n_missing)}
    return {k: v for k, v in nodes.items() if k not in missing}, ways


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(networks())
def test_random_networks_match_osmnx(net: tuple[Nodes, Ways]) -> None:
    nodes, ways = net
    with tempfile.TemporaryDirectory() as tmp:
        path = write_osm(Path(tmp), nodes, ways)
        try:
            G = load_road_graph(path, progress=False)
        except InputError as exc:  # no road piece at all: the fast reader says the same
            with pytest.raises(InputError, match=re.escape(str(exc))):
                read_osm_ways(path, progress=False)
            return
        got = check_both_paths(path)[0]
        assert len(got) == len(G)


# --------------------------------------------------------------------------- demo, imports


def test_demo_county_roads(demo) -> None:  # type: ignore[no-untyped-def]
    G, ways = check_both_paths(demo.roads)
    assert G.number_of_edges() > 100 and ways.n_cut_ways == 0


def test_fast_path_does_not_import_osmnx() -> None:
    code = ("import sys, geo.osmgraph, layers.osm; "
            "print(sorted(m for m in ('osmnx', 'matplotlib', 'sklearn', 'pandas') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_inconsistent_ways_are_refused() -> None:
    with pytest.raises(InputError, match="way_nodes must be indices"):
        OsmWays(node_ids=np.array([1, 2]), lon=np.zeros(2), lat=np.zeros(2),
                way_ids=np.array([5]), way_first=np.array([0, 2]), way_nodes=np.array([0, 7]),
                tags={"highway": np.array(["residential"], dtype=object)}, source_file="x.osm",
                n_ways_read=1, n_cut_ways=0, n_dropped_ways=0)


# --------------------------------------------------------------------------- real data


@pytest.fixture(scope="module")
def andorra_ways(shared_data: Path) -> OsmWays:
    return read_osm_ways(shared_data / "osm" / "andorra-2020-05-01.osm.pbf", progress=False)


@pytest.mark.realdata
@pytest.mark.parametrize("profile_name", ["walk", "drive"])
def test_andorra_pbf_direct_equals_osmnx(andorra_ways: OsmWays, andorra_osmnx_graph: nx.MultiDiGraph,
                                         profile_name: str) -> None:
    profile = load_profile(profile_name)
    ref = RoadGraph.from_networkx(andorra_osmnx_graph, profile=profile)
    got = road_graph_from_ways(andorra_ways, profile=profile)
    assert got.n_nodes > 4000 and got.n_edges > 8000
    assert_same_road_graph(ref, got)


@pytest.mark.realdata
def test_andorra_pbf_networkx_equals_osmnx(andorra_ways: OsmWays,
                                           andorra_osmnx_graph: nx.MultiDiGraph) -> None:
    G = ways_to_networkx(andorra_ways)
    assert (len(G), G.number_of_edges()) == (len(andorra_osmnx_graph),
                                             andorra_osmnx_graph.number_of_edges())
    assert_same_networkx(andorra_osmnx_graph, G, same_file=False)


@pytest.mark.realdata
def test_andorra_load_pbf_equals_bz2(shared_data: Path, andorra_osmnx_graph: nx.MultiDiGraph) -> None:
    G = load_road_graph(shared_data / "osm" / "andorra-2020-05-01.osm.pbf", progress=False)
    assert (len(G), G.number_of_edges()) == (len(andorra_osmnx_graph),
                                             andorra_osmnx_graph.number_of_edges())
    assert G.graph["n_cut_ways"] == andorra_osmnx_graph.graph["n_cut_ways"] == 0


@pytest.mark.realdata
def test_andorra_clipped_to_a_box(shared_data: Path, tmp_path: Path) -> None:
    """A real clipped extract: Andorra la Vella's nodes only, but every highway way."""
    import osmium

    box = (1.50, 42.49, 1.56, 42.53)  # left, bottom, right, top (degrees)
    clipped = tmp_path / "andorra-la-vella.osm.pbf"
    with osmium.SimpleWriter(str(clipped)) as writer:
        for obj in osmium.FileProcessor(str(shared_data / "osm" / "andorra-2020-05-01.osm.pbf"),
                                        osmium.osm.NODE | osmium.osm.WAY):
            if obj.is_node():
                loc = obj.location
                if box[0] <= loc.lon <= box[2] and box[1] <= loc.lat <= box[3]:
                    writer.add_node(obj)
            elif "highway" in obj.tags:
                writer.add_way(obj)
    G, ways = check_both_paths(clipped)
    assert (ways.n_cut_ways, ways.n_dropped_ways) == (39, 3663)
    assert G.graph["n_cut_ways"] == ways.n_cut_ways and len(G) > 500
    inside = (box[0] <= ways.lon) & (ways.lon <= box[2]) & (box[1] <= ways.lat) & (ways.lat <= box[3])
    assert inside.all()
