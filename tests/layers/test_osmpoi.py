"""Facilities from OSM extracts: nodes, ways (closed and open, clipped) and relations."""

from __future__ import annotations

import bz2
from pathlib import Path

import pytest
import shapely

from anzhi.core.errors import DataSourceError, InputError
from layers.facilities import read_facilities
from layers.osmpoi import is_osm_file, read_osm_pois

OSM_XML = """<?xml version="1.0" encoding="UTF-8"?>
<osm version="0.6" generator="test">
  <node id="1" lat="26.600" lon="106.700"><tag k="amenity" v="clinic"/><tag k="name" v="村卫生室"/></node>
  <node id="2" lat="26.601" lon="106.701"><tag k="amenity" v="restaurant"/></node>
  <node id="3" lat="26.610" lon="106.710"/>
  <node id="4" lat="26.610" lon="106.712"/>
  <node id="5" lat="26.612" lon="106.712"/>
  <node id="6" lat="26.612" lon="106.710"/>
  <node id="7" lat="26.620" lon="106.720"/>
  <node id="8" lat="26.622" lon="106.724"/>
  <node id="9" lat="26.630" lon="106.730"><tag k="healthcare" v="hospital"/><tag k="name:zh" v="卫生院"/></node>
  <way id="100"><nd ref="3"/><nd ref="4"/><nd ref="5"/><nd ref="6"/><nd ref="3"/>
    <tag k="amenity" v="school"/><tag k="name" v="希望小学"/></way>
  <way id="101"><nd ref="7"/><nd ref="8"/><tag k="amenity" v="police"/></way>
  <way id="102"><nd ref="998"/><nd ref="999"/><tag k="amenity" v="kindergarten"/></way>
  <way id="103"><nd ref="7"/><nd ref="999"/><tag k="amenity" v="kindergarten"/></way>
  <relation id="200"><member type="way" ref="100" role="outer"/>
    <tag k="type" v="multipolygon"/><tag k="amenity" v="hospital"/></relation>
</osm>
"""


@pytest.fixture()
def osm_file(tmp_path: Path) -> Path:
    path = tmp_path / "pois.osm"
    path.write_text(OSM_XML, encoding="utf-8")
    return path


def test_nodes_ways_and_what_is_left_out(osm_file: Path) -> None:
    pois = read_osm_pois(osm_file)
    assert list(pois["element"] + "/" + pois["osmid"]) == [
        "node/1", "node/2", "node/9", "way/100", "way/101", "way/103"]
    assert pois.attrs["n_relations_skipped"] == 1
    assert pois.attrs["n_ways_without_nodes"] == 1  # way 102: none of its nodes in the file
    school = pois.geometry[pois["osmid"] == "100"].iloc[0]
    square = shapely.Polygon([(106.710, 26.610), (106.712, 26.610), (106.712, 26.612),
                              (106.710, 26.612)])
    assert square.contains(school)
    police = pois.geometry[pois["osmid"] == "101"].iloc[0]
    assert police.x == pytest.approx(106.722) and police.y == pytest.approx(26.621)
    clipped = pois.geometry[pois["osmid"] == "103"].iloc[0]  # only node 7 is present
    assert (clipped.x, clipped.y) == pytest.approx((106.720, 26.620))


def test_read_facilities_maps_tags_and_builds_osm_ids(osm_file: Path) -> None:
    fac = read_facilities(osm_file)
    got = dict(zip(fac["facility_id"], fac["facility_type"], strict=True))
    assert got == {
        "node/1": "clinic",
        "node/9": "township_health_centre",
        "way/100": "primary_school",
        "way/101": "police_station",
        "way/103": "kindergarten",
    }  # the restaurant is not a public facility
    assert fac.loc[fac["facility_id"] == "way/100", "name"].iloc[0] == "希望小学"
    assert fac.loc[fac["facility_id"] == "node/9", "name"].iloc[0] == "卫生院"
    assert fac.crs.to_epsg() == 4326


BUS_XML = """<?xml version="1.0" encoding="UTF-8"?>
<osm version="0.6" generator="test">
  <node id="1" lat="26.600" lon="106.700"><tag k="highway" v="bus_stop"/><tag k="name" v="安置点公交站"/></node>
  <node id="2" lat="26.601" lon="106.701"><tag k="highway" v="crossing"/></node>
  <node id="3" lat="26.602" lon="106.702"/>
  <node id="4" lat="26.603" lon="106.703"><tag k="highway" v="bus_stop"/><tag k="amenity" v="bus_station"/></node>
  <way id="100"><nd ref="1"/><nd ref="2"/><nd ref="3"/><tag k="highway" v="residential"/></way>
</osm>
"""


def test_bus_stops_are_read_and_roads_are_not(tmp_path: Path) -> None:
    path = tmp_path / "bus.osm"
    path.write_text(BUS_XML, encoding="utf-8")
    pois = read_osm_pois(path)
    # node 4 carries an amenity too: read once, in the first pass; the road way never
    assert list(pois["element"] + "/" + pois["osmid"]) == ["node/4", "node/1"]
    assert list(pois["highway"]) == ["", "bus_stop"]
    fac = read_facilities(path)
    assert dict(zip(fac["facility_id"], fac["facility_type"], strict=True)) == {
        "node/4": "bus_stop", "node/1": "bus_stop"}
    assert fac.loc[fac["facility_id"] == "node/1", "name"].iloc[0] == "安置点公交站"


def test_compressed_xml_reads_the_same(osm_file: Path, tmp_path: Path) -> None:
    packed = tmp_path / "pois.osm.bz2"
    packed.write_bytes(bz2.compress(osm_file.read_bytes()))
    a, b = read_facilities(osm_file), read_facilities(packed)
    assert list(a["facility_id"]) == list(b["facility_id"])
    assert a.geometry.equals(b.geometry)


def test_suffixes() -> None:
    assert is_osm_file("x.osm.pbf") and is_osm_file("X.OSM.BZ2") and is_osm_file("a.osm")
    assert not is_osm_file("a.csv.bz2") and not is_osm_file("a.gpkg")


def test_bad_files(tmp_path: Path) -> None:
    with pytest.raises(DataSourceError, match="does not exist"):
        read_osm_pois(tmp_path / "missing.osm.pbf")
    fake = tmp_path / "fake.osm.pbf"
    fake.write_text("this is not a pbf file")
    with pytest.raises(DataSourceError, match="cannot read OSM file fake.osm.pbf"):
        read_facilities(fake)
    good = tmp_path / "good.osm"
    good.write_text(OSM_XML, encoding="utf-8")
    with pytest.raises(InputError, match="an OSM file has no sheets"):
        read_facilities(good, sheet=1)


@pytest.mark.realdata
def test_andorra_amenities_as_the_data_readme_counts(shared_data: Path) -> None:
    pois = read_osm_pois(shared_data / "osm" / "andorra-2020-05-01.osm.pbf")
    counts = pois["amenity"].value_counts()
    # ../shared/data/README.md: hospital 8, doctors 4, kindergarten 1, school 12, police 6,
    # pharmacy 30 (nodes and ways together)
    assert {k: int(counts[k]) for k in ("hospital", "doctors", "kindergarten", "school",
                                        "police", "pharmacy")} == {
        "hospital": 8, "doctors": 4, "kindergarten": 1, "school": 12, "police": 6,
        "pharmacy": 30}
    xml = read_osm_pois(shared_data / "osm" / "andorra-2020-05-01.osm.bz2")
    assert list(xml["osmid"]) == list(pois["osmid"])
    assert xml.geometry.geom_equals_exact(pois.geometry, tolerance=1e-7).all()
    fac = read_facilities(shared_data / "osm" / "andorra-2020-05-01.osm.pbf")
    assert (fac["facility_type"] == "police_station").sum() == 6
    assert fac["facility_id"].is_unique
