"""Reading OSM files: the road ways with pyosmium (read_osm_ways), the osmnx graph (load_road_graph)."""

from __future__ import annotations

import bz2
import gzip
import logging
from pathlib import Path

import numpy as np
import osmium
import osmnx as ox
import pytest

from anzhi.core.errors import DataSourceError, InputError
from anzhi.core.settings import override
from geo.osmgraph import OsmWays
from layers.osm import load_road_graph, read_osm_ways

from tests._osmxml import (
    GRID_NODES,
    GRID_OTHER_NODES,
    GRID_WAYS,
    LAT0,
    LON0,
    STEP,
    Nodes,
    Ways,
    grid_xml,
    osm_xml,
    write_grid,
)

NODES: Nodes = {i: (LON0 + (i % 5) * STEP, LAT0 + (i // 5) * STEP) for i in range(1, 16)}
WAYS: Ways = [
    (7, [1, 2, 3, 4], {"highway": "tertiary", "name": "和平路", "oneway": "yes", "surface": "x"}),
    (8, [4, 9, 14], {"highway": "track"}),
    (9, [6, 7, 8, 6], {"building": "yes"}),
    (10, [11, 12, 13, 11], {"highway": "pedestrian", "area": "yes"}),
    (11, [5, 10], {"highway": "construction"}),
    (12, [15, 14], {"highway": "residential", "junction": "roundabout"}),
]
NODE_TAGS = {4: {"highway": "traffic_signals", "crossing": "zebra"}, 6: {"highway": "street_lamp"}}


@pytest.fixture
def osm_file(tmp_path: Path) -> Path:
    path = tmp_path / "roads.osm"
    path.write_text(osm_xml(NODES, WAYS, node_tags=NODE_TAGS), encoding="utf-8")
    return path


def assert_same_ways(a: OsmWays, b: OsmWays) -> None:
    for name in ("node_ids", "lon", "lat", "way_ids", "way_first", "way_nodes"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert set(a.tags) == set(b.tags)
    for key in a.tags:
        assert a.tags[key].tolist() == b.tags[key].tolist()
    for key in a.node_tags:
        assert a.node_tags[key].tolist() == b.node_tags[key].tolist()
    assert (a.n_ways_read, a.n_cut_ways, a.n_dropped_ways) == (b.n_ways_read, b.n_cut_ways,
                                                                b.n_dropped_ways)


# --------------------------------------------------------------------------- reading


def test_reads_roads_only_with_their_nodes_and_tags(osm_file: Path) -> None:
    ways = read_osm_ways(osm_file, progress=False)
    assert ways.way_ids.tolist() == [7, 8, 12]  # no building, area=yes or construction
    assert ways.node_ids.tolist() == [1, 2, 3, 4, 9, 14, 15]
    pieces = [ways.node_ids[ways.way_nodes[a:b]].tolist()
              for a, b in zip(ways.way_first[:-1], ways.way_first[1:], strict=True)]
    assert pieces == [[1, 2, 3, 4], [4, 9, 14], [15, 14]]
    assert ways.tags["name"].tolist() == ["和平路", None, None]
    assert ways.tags["oneway"].tolist() == ["yes", None, None]
    assert ways.tags["junction"].tolist() == [None, None, "roundabout"]
    assert "surface" not in ways.tags  # only the tags osmnx keeps
    assert ways.node_tags["highway"].tolist() == [None, None, None, "traffic_signals", None, None,
                                                  None]
    assert ways.lon[3] == pytest.approx(NODES[4][0], abs=1e-9)
    assert ways.lat[3] == pytest.approx(NODES[4][1], abs=1e-9)
    assert (ways.n_ways_read, ways.n_cut_ways, ways.n_dropped_ways) == (6, 0, 0)
    assert ways.source_file == "roads.osm"


def test_every_format_gives_the_same_ways(osm_file: Path, tmp_path: Path) -> None:
    data = osm_file.read_bytes()
    (tmp_path / "roads.osm.bz2").write_bytes(bz2.compress(data))
    (tmp_path / "roads.osm.gz").write_bytes(gzip.compress(data))
    pbf = tmp_path / "roads.osm.pbf"
    with osmium.SimpleWriter(str(pbf)) as writer:
        osmium.apply(str(osm_file), writer)
    ref = read_osm_ways(osm_file, progress=False)
    for name in ("roads.osm.bz2", "roads.osm.gz", "roads.osm.pbf"):
        got = read_osm_ways(tmp_path / name, progress=False)
        assert got.source_file == name
        assert_same_ways(ref, got)


def test_clipped_extract_is_cut_into_pieces(tmp_path: Path,
                                            caplog: pytest.LogCaptureFixture) -> None:
    nodes = {i: (LON0 + i * STEP, LAT0) for i in range(1, 12) if i not in (4, 9, 10)}
    ways: Ways = [
        (1, [1, 2, 3, 4, 5, 6], {"highway": "residential"}),  # gap in the middle: 2 pieces
        (2, [6, 7, 8, 9], {"highway": "track"}),  # leaves at its end
        (3, [9, 10, 11], {"highway": "track"}),  # one node left: dropped
        (4, [2, 3], {"highway": "service"}),  # complete
    ]
    path = tmp_path / "clipped.osm"
    path.write_text(osm_xml(nodes, ways), encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="layers.osm"):
        got = read_osm_ways(path, progress=False)
    assert got.way_ids.tolist() == [1, 1, 2, 4]
    pieces = [got.node_ids[got.way_nodes[a:b]].tolist()
              for a, b in zip(got.way_first[:-1], got.way_first[1:], strict=True)]
    assert pieces == [[1, 2, 3], [5, 6], [6, 7, 8], [2, 3]]
    assert got.tags["highway"].tolist() == ["residential", "residential", "track", "service"]
    assert (got.n_cut_ways, got.n_dropped_ways) == (2, 1)
    assert 11 not in got.node_ids  # used only by the dropped way
    assert "clipped.osm: 2 road way(s) were cut at the extract boundary" in caplog.text
    assert "1 road way(s) were left out" in caplog.text and "complete_ways" in caplog.text


def test_complete_extract_logs_nothing(osm_file: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="layers.osm"):
        read_osm_ways(osm_file, progress=False)
    assert caplog.records == []


def test_progress_bars_follow_the_settings(osm_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    read_osm_ways(osm_file, progress=True)
    shown = capsys.readouterr().err
    assert "roads.osm: ways" in shown and "roads.osm: nodes" in shown
    with override(progress=False):
        read_osm_ways(osm_file)
    assert capsys.readouterr().err == ""


# --------------------------------------------------------------------------- errors


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataSourceError, match=r"nowhere\.osm\.pbf does not exist.*check the path"):
        read_osm_ways(tmp_path / "nowhere.osm.pbf")


def test_text_file_renamed_pbf(tmp_path: Path) -> None:
    path = tmp_path / "roads.osm.pbf"
    path.write_text("this is a shopping list, not OpenStreetMap data\n", encoding="utf-8")
    with pytest.raises(DataSourceError,
                       match=r"cannot read road file roads\.osm\.pbf: it is not a valid OSM PBF "
                             r"file .*download the extract again"):
        read_osm_ways(path, progress=False)


def test_truncated_pbf(osm_file: Path, tmp_path: Path) -> None:
    pbf = tmp_path / "full.osm.pbf"
    with osmium.SimpleWriter(str(pbf)) as writer:
        osmium.apply(str(osm_file), writer)
    cut = tmp_path / "cut.osm.pbf"
    cut.write_bytes(pbf.read_bytes()[:-40])
    with pytest.raises(DataSourceError, match=r"cut\.osm\.pbf: it is not a valid OSM PBF file"):
        read_osm_ways(cut, progress=False)


def test_xml_without_roads(tmp_path: Path) -> None:
    path = tmp_path / "buildings.osm"
    path.write_text(osm_xml(NODES, [w for w in WAYS if w[0] in (9, 10, 11)]), encoding="utf-8")
    with pytest.raises(InputError, match=r"buildings\.osm: no road in the file — none of its "
                                         r"3 ways has a usable highway=\* tag"):
        read_osm_ways(path, progress=False)


def test_roads_entirely_outside_the_extract(tmp_path: Path) -> None:
    path = tmp_path / "elsewhere.osm"
    path.write_text(osm_xml({1: (LON0, LAT0)}, [(1, [1, 2, 3], {"highway": "primary"})]),
                    encoding="utf-8")
    with pytest.raises(InputError, match=r"elsewhere\.osm: no road left — none of its 1 road "
                                         r"way\(s\) has two consecutive nodes in the file"):
        read_osm_ways(path, progress=False)


def test_not_well_formed_xml(tmp_path: Path) -> None:
    path = tmp_path / "bad.osm"
    path.write_text('<osm version="0.6"><node id="1" lat="1" lon="1"></osm', encoding="utf-8")
    with pytest.raises(DataSourceError, match=r"bad\.osm: not well-formed OSM XML .*re-export"):
        read_osm_ways(path, progress=False)


def test_xml_that_is_not_osm(tmp_path: Path) -> None:
    path = tmp_path / "page.xml"
    path.write_text("<html><body/></html>", encoding="utf-8")
    with pytest.raises(DataSourceError, match=r"not an OSM XML file \(root element <html>"):
        read_osm_ways(path, progress=False)


def test_osm_root_without_version(tmp_path: Path) -> None:
    path = tmp_path / "old.osm"
    path.write_text(osm_xml(NODES, WAYS, root="<osm>"), encoding="utf-8")
    with pytest.raises(DataSourceError, match=r'old\.osm: .*add version="0\.6" to its <osm>'):
        read_osm_ways(path, progress=False)


def test_corrupt_bz2(tmp_path: Path) -> None:
    path = tmp_path / "roads.osm.bz2"
    path.write_bytes(b"BZh9 definitely not bzip2 data")
    with pytest.raises(DataSourceError, match=r"roads\.osm\.bz2: the compressed data is corrupt"):
        read_osm_ways(path, progress=False)


# --------------------------------------------------------------------------- load_road_graph


@pytest.fixture
def grid_file(tmp_path: Path) -> Path:
    return write_grid(tmp_path)


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
    path.write_text(grid_xml(nodes, ways, relation=False), encoding="utf-8")
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


@pytest.mark.parametrize(
    ("name", "content", "match"),
    [
        ("nowhere.osm", None, "does not exist"),
        ("bad.osm", b"<osm><node id='1' lat='1' lon='1'></osm", "not well-formed"),
        ("bad.osm.bz2", b"BZh9 definitely not bzip2 data", "cannot read road file"),
        ("doc.xml", b"<html><body/></html>", "not an OSM XML file"),
        ("x.osm.pbf", b"\x00 not a protocol buffer",
         "x.osm.pbf.*not a valid OSM PBF file.*download"),
    ],
    ids=["missing", "not-well-formed", "corrupt-bz2", "not-osm", "broken-pbf"],
)
def test_load_refuses_unreadable_files(
    tmp_path: Path, name: str, content: bytes | None, match: str
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(DataSourceError, match=match):
        load_road_graph(path)


def test_load_no_highways(tmp_path: Path) -> None:
    path = tmp_path / "buildings.osm"
    ways = [w for w in GRID_WAYS if w[0] in (107, 108, 110)]
    path.write_text(grid_xml(GRID_OTHER_NODES, ways), encoding="utf-8")
    with pytest.raises(InputError, match=r"no road in the file.*3 ways"):
        load_road_graph(path)


def test_load_clipped_extract_cuts_ways(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "clipped.osm"
    nodes = {k: v for k, v in GRID_NODES.items() if k != 3}  # way 101 and 106 use node 3
    path.write_text(grid_xml(nodes, GRID_WAYS[:6], relation=False), encoding="utf-8")
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
    pbf = tmp_path / "grid.osm.pbf"
    with osmium.SimpleWriter(str(pbf)) as writer:
        osmium.apply(str(grid_file), writer)
    a, b = load_road_graph(grid_file), load_road_graph(pbf)
    assert set(a.nodes) == set(b.nodes) and len(a) == 11
    assert sorted(a.edges(keys=True)) == sorted(b.edges(keys=True))
    assert b.graph["source_file"] == "grid.osm.pbf" and b.graph["n_cut_ways"] == 0


# --------------------------------------------------------------------------- real data


@pytest.mark.realdata
def test_andorra_pbf_and_bz2_give_the_same_ways(shared_data: Path) -> None:
    pbf = read_osm_ways(shared_data / "osm" / "andorra-2020-05-01.osm.pbf", progress=False)
    xml = read_osm_ways(shared_data / "osm" / "andorra-2020-05-01.osm.bz2", progress=False)
    assert_same_ways(pbf, xml)
    assert pbf.n_pieces == 4590 and pbf.n_cut_ways == 0  # README: 4,611 highway ways
    inside = (1.3 < pbf.lon) & (pbf.lon < 1.9) & (42.3 < pbf.lat) & (pbf.lat < 42.8)
    assert inside.all()  # Andorra and the roads just across its borders


@pytest.mark.realdata
def test_liechtenstein_pbf_reads(shared_data: Path) -> None:
    ways = read_osm_ways(shared_data / "osm" / "liechtenstein-2015-07-27.osm.pbf", progress=False)
    assert ways.n_pieces > 4000 and ways.n_nodes > 10_000
    assert set(ways.tags["highway"].tolist()).isdisjoint({"proposed", "construction", None})
    assert (ways.n_cut_ways, ways.n_dropped_ways) == (0, 0)  # a complete-ways extract
    assert ways.n_ways_read > ways.n_pieces and int(np.diff(ways.way_first).min()) >= 2
    inside = (9.4 < ways.lon) & (ways.lon < 9.7) & (47.0 < ways.lat) & (ways.lat < 47.3)
    assert inside.all()
