"""Reading the road ways of OSM files with pyosmium (layers.osm.read_osm_ways)."""

from __future__ import annotations

import bz2
import gzip
import logging
from pathlib import Path

import numpy as np
import osmium
import pytest

from anzhi.core.errors import DataSourceError, InputError
from anzhi.core.settings import override
from geo.osmgraph import OsmWays
from layers.osm import read_osm_ways

from tests._osmxml import Nodes, Ways, osm_xml

LON0, LAT0, STEP = 99.2, 24.7, 0.001

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
