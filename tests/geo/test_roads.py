"""Road graph: OSM XML → highway-only osmnx graph → CSR core; travel profiles."""

from __future__ import annotations

import bz2
from pathlib import Path

import networkx as nx
import numpy as np
import osmnx as ox
import pytest
import shapely
from scipy.sparse.csgraph import dijkstra

from anzhi.core.errors import DataSourceError, InputError
from anzhi.core.settings import override
from geo.roads import Profile, RoadGraph, load_profile, profile_names
from layers.osm import load_road_graph

from tests._osmxml import Nodes, Ways
from tests._osmxml import osm_xml as _osm_xml

LON0, LAT0, STEP = 99.2, 24.7, 0.001  # ~100 m grid near Shidian, Yunnan

# 3 × 3 street grid (nodes 1..9, row by row from the south-west) plus node 20 inside the
# 3-6 street, which simplification removes.
GRID_NODES = {i + 1: (LON0 + (i % 3) * STEP, LAT0 + (i // 3) * STEP) for i in range(9)}
GRID_NODES[20] = (LON0 + 2 * STEP, LAT0 + 0.5 * STEP)
OTHER_NODES = {
    # building outline
    10: (LON0 + 0.0005, LAT0 + 0.0005), 11: (LON0 + 0.0007, LAT0 + 0.0005),
    12: (LON0 + 0.0007, LAT0 + 0.0007), 13: (LON0 + 0.0005, LAT0 + 0.0007),
    # pedestrian square mapped as an area
    14: (LON0 + 0.0012, LAT0 + 0.0012), 15: (LON0 + 0.0018, LAT0 + 0.0012),
    16: (LON0 + 0.0018, LAT0 + 0.0018), 17: (LON0 + 0.0012, LAT0 + 0.0018),
    # disconnected track
    18: (LON0 + 0.01, LAT0 + 0.01), 19: (LON0 + 0.011, LAT0 + 0.01),
    # a proposed road (not a road yet)
    30: (LON0 - 0.002, LAT0), 31: (LON0 - 0.003, LAT0),
    # a lone node used by nothing
    40: (LON0 + 0.05, LAT0 + 0.05),
}
WAYS: list[tuple[int, list[int], dict[str, str]]] = [
    (101, [1, 2, 3], {"highway": "residential", "name": "南街"}),
    (102, [4, 5, 6], {"highway": "residential"}),
    (103, [7, 8, 9], {"highway": "residential", "oneway": "yes"}),
    (104, [1, 4, 7], {"highway": "tertiary"}),
    (105, [2, 5, 8], {"highway": "residential"}),
    (106, [3, 20, 6, 9], {"highway": "unclassified"}),
    (107, [10, 11, 12, 13, 10], {"building": "yes"}),
    (108, [14, 15, 16, 17, 14], {"highway": "pedestrian", "area": "yes"}),
    (109, [18, 19], {"highway": "track"}),
    (110, [30, 31], {"highway": "proposed"}),
]


BOUNDS = ['  <bounds minlat="24.6" minlon="99.1" maxlat="24.8" maxlon="99.3"/>']
RELATION = ['  <relation id="900" version="1">', '    <member type="way" ref="107" role="outer"/>',
            '    <tag k="type" v="multipolygon"/>', "  </relation>"]


def osm_xml(nodes: Nodes, ways: Ways, *, relation: bool = True) -> str:
    """The grid's OSM XML document, with bounds and optionally a multipolygon relation."""
    return _osm_xml(nodes, ways, head=BOUNDS, tail=RELATION if relation else ())


@pytest.fixture
def grid_file(tmp_path: Path) -> Path:
    path = tmp_path / "grid.osm"
    path.write_text(osm_xml({**GRID_NODES, **OTHER_NODES}, WAYS), encoding="utf-8")
    return path


# --------------------------------------------------------------------------- load_road_graph


def test_load_keeps_only_highways(grid_file: Path) -> None:
    G = load_road_graph(grid_file)
    # grid nodes (20 simplified away) + the two track ends; no building, area, proposed or lone node
    assert set(G.nodes) == set(range(1, 10)) | {18, 19}
    # 10 two-way grid streets → 20 edges, the oneway street 7→8→9 → 2, the track → 2
    assert G.number_of_edges() == 24
    ways = {d["osmid"] for *_, d in G.edges(data=True)}
    assert ways == {101, 102, 103, 104, 105, 106, 109}
    assert G.graph["crs"].lower() == "epsg:4326"


def test_load_respects_oneway_and_simplifies(grid_file: Path) -> None:
    G = load_road_graph(grid_file)
    assert G.has_edge(7, 8) and G.has_edge(8, 9)
    assert not G.has_edge(8, 7) and not G.has_edge(9, 8)
    assert G.has_edge(4, 5) and G.has_edge(5, 4)
    # the 3-20-6 street became one edge whose length is the sum of its two segments
    length = G.edges[3, 6, 0]["length"]
    seg = ox.distance.great_circle(GRID_NODES[3][1], GRID_NODES[3][0], GRID_NODES[20][1], GRID_NODES[20][0])
    seg += ox.distance.great_circle(GRID_NODES[20][1], GRID_NODES[20][0], GRID_NODES[6][1], GRID_NODES[6][0])
    assert length == pytest.approx(seg, rel=1e-9)
    # every edge has exactly one highway class (class changes are kept as nodes)
    assert all(isinstance(d["highway"], str) for *_, d in G.edges(data=True))


def test_class_change_is_kept_as_a_node(tmp_path: Path) -> None:
    nodes = {i: (LON0 + i * STEP, LAT0) for i in range(1, 5)}
    ways = [(1, [1, 2, 3], {"highway": "tertiary"}), (2, [3, 4], {"highway": "track"})]
    path = tmp_path / "change.osm"
    path.write_text(osm_xml(nodes, ways, relation=False), encoding="utf-8")
    G = load_road_graph(path)
    assert set(G.nodes) == {1, 3, 4}  # 2 merged away, 3 kept where tertiary becomes track
    assert G.edges[3, 4, 0]["highway"] == "track"


def test_load_bz2_equals_plain(grid_file: Path, tmp_path: Path) -> None:
    packed = tmp_path / "grid.osm.bz2"
    packed.write_bytes(bz2.compress(grid_file.read_bytes()))
    a, b = load_road_graph(grid_file), load_road_graph(packed)
    assert set(a.nodes) == set(b.nodes)
    assert sorted(a.edges(keys=True)) == sorted(b.edges(keys=True))


def test_load_leaves_osmnx_settings_alone(grid_file: Path) -> None:
    before = (list(ox.settings.useful_tags_way), ox.settings.all_oneway, ox.settings.default_crs)
    load_road_graph(grid_file)
    after = (list(ox.settings.useful_tags_way), ox.settings.all_oneway, ox.settings.default_crs)
    assert after == before


def test_load_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataSourceError, match="does not exist"):
        load_road_graph(tmp_path / "nowhere.osm")


def test_load_garbage_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.osm"
    path.write_text("<osm><node id='1' lat='1' lon='1'></osm", encoding="utf-8")
    with pytest.raises(DataSourceError, match="not well-formed"):
        load_road_graph(path)


def test_load_corrupt_bz2(tmp_path: Path) -> None:
    path = tmp_path / "bad.osm.bz2"
    path.write_bytes(b"BZh9 definitely not bzip2 data")
    with pytest.raises(DataSourceError, match="cannot read road file"):
        load_road_graph(path)


def test_load_not_osm(tmp_path: Path) -> None:
    path = tmp_path / "doc.xml"
    path.write_text("<html><body/></html>", encoding="utf-8")
    with pytest.raises(DataSourceError, match="not an OSM XML file"):
        load_road_graph(path)


def test_load_no_highways(tmp_path: Path) -> None:
    path = tmp_path / "buildings.osm"
    ways = [w for w in WAYS if w[0] in (107, 108, 110)]
    path.write_text(osm_xml(OTHER_NODES, ways), encoding="utf-8")
    with pytest.raises(InputError, match=r"no road in the file.*3 ways"):
        load_road_graph(path)


def test_load_clipped_extract_cuts_ways(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "clipped.osm"
    nodes = {k: v for k, v in GRID_NODES.items() if k != 3}  # way 101 and 106 use node 3
    path.write_text(osm_xml(nodes, WAYS[:6], relation=False), encoding="utf-8")
    with caplog.at_level("WARNING"):
        G = load_road_graph(path, progress=False)
    assert G.graph["n_cut_ways"] == 2
    assert "2 road way(s) were cut at the extract boundary" in caplog.text
    assert 3 not in G
    # 101 (1-2-3) keeps 1-2, which now simply continues 105 (2-5-8): node 2 is merged away;
    # 106 (3-20-6-9) keeps 20-6-9, so 20 is now a dead end
    assert 2 not in G and sorted(G.edges[1, 5, 0]["osmid"]) == [101, 105]
    assert G.has_edge(20, 6) and G.edges[20, 6, 0]["osmid"] == 106


def test_load_pbf_equals_xml(grid_file: Path, tmp_path: Path) -> None:
    import osmium

    pbf = tmp_path / "grid.osm.pbf"
    with osmium.SimpleWriter(str(pbf)) as writer:
        osmium.apply(str(grid_file), writer)
    a, b = load_road_graph(grid_file), load_road_graph(pbf)
    assert set(a.nodes) == set(b.nodes) and len(a) == 11
    assert sorted(a.edges(keys=True)) == sorted(b.edges(keys=True))
    assert b.graph["source_file"] == "grid.osm.pbf" and b.graph["n_cut_ways"] == 0


def test_load_broken_pbf_is_refused_clearly(tmp_path: Path) -> None:
    path = tmp_path / "x.osm.pbf"
    path.write_bytes(b"\x00 not a protocol buffer")
    with pytest.raises(DataSourceError, match="x.osm.pbf.*not a valid OSM PBF file.*download"):
        load_road_graph(path)


# --------------------------------------------------------------------------- profiles


def test_shipped_profiles() -> None:
    assert {"walk", "drive", "motorbike"} <= set(profile_names())
    walk, drive, moto = load_profile("walk"), load_profile("drive"), load_profile("motorbike")
    assert walk.respect_oneway is False and drive.respect_oneway is True
    assert walk.speed_kph("residential") == pytest.approx(4.5)
    assert walk.speed_kph("motorway") is None
    assert walk.speed_kph("some_new_class") == pytest.approx(4.5)  # default
    assert drive.speed_kph("footway") is None
    assert drive.speed_kph("primary") == pytest.approx(60.0)
    assert drive.offroad_speed_kph == pytest.approx(4.5)
    # a motorbike keeps off expressways and footpaths, respects oneway, rides tracks faster
    # than a car and walks its off-road legs
    assert moto.respect_oneway is True and moto.slope_aware is False
    assert moto.speed_kph("motorway") is None and moto.speed_kph("footway") is None
    assert moto.speed_kph("track") > drive.speed_kph("track")
    assert moto.speed_kph("primary") <= drive.speed_kph("primary")
    assert moto.offroad_speed_kph == pytest.approx(4.5)
    for prof in (walk, drive, moto):
        assert set(prof.sources) == set(prof.speeds_kph)  # every class cites its source
        for cls, speed in prof.speeds_kph.items():
            assert speed is None or speed > 0, cls
            if prof.grades[cls] == "C":
                assert "default" in prof.sources[cls] or speed is None, cls
    assert "JTG B01-2014" in drive.sources["tertiary"]


def test_walk_speed_follows_settings() -> None:
    with override(walk_speed_kph=3.6):
        walk = load_profile("walk")
        drive = load_profile("drive")
    assert walk.speed_kph("track") == pytest.approx(3.6)
    assert walk.offroad_speed_kph == pytest.approx(3.6)
    assert drive.offroad_speed_kph == pytest.approx(3.6)
    assert walk != load_profile("walk")


def test_profile_from_file_allows_unknown_classes(tmp_path: Path) -> None:
    path = tmp_path / "moto.yaml"
    path.write_text(
        "name: motorbike\nrespect_oneway: true\noffroad_speed_kph: 4\nspeeds_kph:\n"
        "  default: {speed: 25, source: default}\n  hovercraft_lane: {speed: 7, source: default}\n",
        encoding="utf-8",
    )
    prof = load_profile(path)
    assert prof.name == "motorbike" and prof.speed_kph("hovercraft_lane") == 7.0
    assert prof.offroad_speed_kph == 4.0 and hash(prof) == hash(load_profile(str(path)))


def test_profile_missing_default(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("name: x\nspeeds_kph:\n  primary: {speed: 50, source: default}\n", encoding="utf-8")
    with pytest.raises(InputError, match="no 'default' entry"):
        load_profile(path)


def test_profile_collects_every_problem(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(
        "name: x\nspeed: 3\noffroad_speed_kph: -1\nspeeds_kph:\n"
        "  default: {speed: null, source: default}\n  primary: {speed: fast, source: default}\n"
        "  track: {speed: 10}\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError, match="5 problems") as info:
        load_profile(path)
    text = str(info.value)
    for part in ("unknown key(s) speed", "offroad_speed_kph", "speeds_kph.default.speed",
                 "speeds_kph.primary.speed", "speeds_kph.track has no 'source'"):
        assert part in text


def test_profile_unknown_name() -> None:
    with pytest.raises(InputError, match="unknown travel profile 'bicycle'.*drive, motorbike, walk"):
        load_profile("bicycle")


def test_profile_bad_yaml(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("name: [unclosed\n", encoding="utf-8")
    with pytest.raises(DataSourceError, match="not valid YAML"):
        load_profile(path)


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
    G = nx.MultiDiGraph(crs="epsg:4326")
    G.add_node(1, x=LON0, y=LAT0)
    G.add_node(2, x=LON0 + STEP, y=LAT0)
    G.add_node(3, x=LON0 + STEP, y=LAT0)
    G.add_edge(1, 2, length=150.0, highway="primary")
    G.add_edge(1, 2, length=120.0, highway="track")
    G.add_edge(2, 3, length=0.0, highway="primary")
    rg = RoadGraph.from_networkx(G, profile=load_profile("drive"))
    assert rg.length_m[0, 1] == 120.0
    assert rg.time_min[0, 1] == pytest.approx(150.0 / (60_000 / 60))  # primary is quicker
    assert rg.length_m.nnz == 2
    assert dijkstra(rg.length_m, indices=0)[2] == 120.0  # the zero-length edge is usable


def test_roadgraph_list_highway_uses_fastest_usable_class() -> None:
    G = nx.MultiDiGraph(crs="epsg:4326")
    G.add_node(1, x=LON0, y=LAT0)
    G.add_node(2, x=LON0 + STEP, y=LAT0)
    G.add_edge(1, 2, length=600.0, highway=["track", "footway", "secondary"])
    rg = RoadGraph.from_networkx(G, profile=load_profile("drive"))
    assert rg.edge_highway.tolist() == ["secondary"]
    assert rg.time_min[0, 1] == pytest.approx(600.0 / (40_000 / 60))


def test_roadgraph_drops_unusable_classes_and_their_nodes() -> None:
    G = nx.MultiDiGraph(crs="epsg:4326")
    for i in range(3):
        G.add_node(i + 1, x=LON0 + i * STEP, y=LAT0)
    G.add_edge(1, 2, length=100.0, highway="residential")
    G.add_edge(2, 3, length=100.0, highway="footway")
    drive = RoadGraph.from_networkx(G, profile=load_profile("drive"))
    assert drive.node_ids.tolist() == [1, 2]
    walk = RoadGraph.from_networkx(G, profile=load_profile("walk"))
    assert walk.node_ids.tolist() == [1, 2, 3] and walk.n_edges == 4


def test_roadgraph_refuses_bad_graphs() -> None:
    G = nx.MultiDiGraph(crs="epsg:4326")
    G.add_node(1, x=LON0, y=LAT0)
    G.add_node(2, x=LON0 + STEP, y=LAT0)
    G.add_edge(1, 2, highway="residential")
    with pytest.raises(InputError, match="edge 1→2 has no valid 'length'"):
        RoadGraph.from_networkx(G, profile=load_profile("walk"))
    G.edges[1, 2, 0]["highway"] = "footway"
    with pytest.raises(InputError, match="no road in the graph is usable by travel profile 'drive'"):
        RoadGraph.from_networkx(G, profile=load_profile("drive"))
    P = nx.MultiDiGraph(crs="EPSG:32647")
    P.add_node(1, x=0.0, y=0.0)
    with pytest.raises(InputError, match="EPSG:32647.*expected unprojected EPSG:4326"):
        RoadGraph.from_networkx(P, profile=load_profile("walk"))


def test_profile_is_a_value() -> None:
    assert isinstance(load_profile("walk"), Profile)
    assert load_profile("walk") == load_profile("walk")
    assert load_profile("walk") != load_profile("drive")


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
    G = nx.MultiDiGraph(crs="epsg:4326")
    G.add_node(1, x=LON0, y=LAT0)
    G.add_node(2, x=LON0 + STEP, y=LAT0)
    # the same straight line twice (two classes): one physical edge, each direction its minimum
    G.add_edge(1, 2, length=150.0, highway="primary")
    G.add_edge(1, 2, length=120.0, highway="track")
    # a bent street the other way: its own physical edge, usable 2 → 1 only when driving
    bent = shapely.LineString([(LON0 + STEP, LAT0), (LON0 + STEP / 2, LAT0 + STEP), (LON0, LAT0)])
    G.add_edge(2, 1, length=300.0, highway="residential", geometry=bent)
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
    G = nx.MultiDiGraph(crs="epsg:4326")
    G.add_node(1, x=LON0, y=LAT0)
    G.add_node(2, x=LON0 + STEP, y=LAT0)
    backwards = shapely.LineString([(LON0 + STEP, LAT0), (LON0 + STEP / 2, LAT0 + STEP / 4), (LON0, LAT0)])
    G.add_edge(1, 2, length=130.0, highway="residential", geometry=backwards)
    rg = RoadGraph.from_networkx(G, profile=load_profile("drive"))
    start = shapely.get_coordinates(rg.pedge_geometry[0])[0]
    assert np.allclose(start, [rg.x_m[0], rg.y_m[0]], atol=1e-6)
    assert rg.pedge_length_fwd_m.tolist() == [130.0] and not rg.pedge_bwd_ok[0]


def test_bad_edge_geometry_is_refused() -> None:
    G = nx.MultiDiGraph(crs="epsg:4326")
    G.add_node(1, x=LON0, y=LAT0)
    G.add_node(2, x=LON0 + STEP, y=LAT0)
    G.add_edge(1, 2, length=100.0, highway="residential", geometry=shapely.Point(LON0, LAT0))
    with pytest.raises(InputError, match="edge 1→2 has a 'geometry' that is not a line"):
        RoadGraph.from_networkx(G, profile=load_profile("walk"))
