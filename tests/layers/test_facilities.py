"""layers.facilities: read_facilities, facilities_from_sites, combine_facilities on real files."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
from pyproj import Geod
from shapely.geometry import Point, Polygon

from anzhi.core.vocabulary import FACILITY_TYPES
from anzhi.core.errors import InputError
from geo.coords import wgs84_to_gcj02
from layers.facilities import (
    combine_facilities,
    empty_facilities,
    facilities_from_sites,
    read_facilities,
)
from layers.sites import read_sites

GEOD = Geod(ellps="WGS84")
COLUMNS = ["facility_id", "name", "facility_type", "capacity", "site_id", "geometry"]

LON = np.array([99.1612, 99.2034, 99.2511, 98.9876])
LAT = np.array([25.1123, 25.1207, 25.2034, 24.9876])


def dist_m(gdf: gpd.GeoDataFrame, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    _, _, d = GEOD.inv(gdf.geometry.x.to_numpy(), gdf.geometry.y.to_numpy(), lon, lat)
    return np.asarray(d)


def facility_table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "编号": ["F1", "F2", "F3", "F4"],
            "设施名称": ["板桥卫生院", "青龙社区警务室", "金鸡幼儿园", "汉庄小学"],
            "设施类型": ["卫生院", "警务室", "kindergarten", "Primary School"],
            "学位": [None, None, 180, 720],
            "经度": LON,
            "纬度": LAT,
        }
    ).astype(object)


def problems_of(excinfo: pytest.ExceptionInfo[InputError]) -> list[tuple[int | None, str | None]]:
    return [(p.row, p.column) for p in excinfo.value.problems]


# --------------------------------------------------------------------------- read_facilities


def test_xlsx_with_chinese_headers(tmp_path: Path) -> None:
    path = tmp_path / "设施.xlsx"
    facility_table().to_excel(path, index=False)
    fac = read_facilities(path)
    assert list(fac.columns) == COLUMNS
    assert fac.crs.equals("EPSG:4326")
    assert list(fac.index) == [0, 1, 2, 3]
    assert list(fac["facility_id"]) == ["F1", "F2", "F3", "F4"]
    assert list(fac["facility_type"]) == [
        "township_health_centre", "police_room", "kindergarten", "primary_school"]
    assert list(fac["name"])[:2] == ["板桥卫生院", "青龙社区警务室"]
    assert np.isnan(fac["capacity"].iloc[0]) and fac["capacity"].iloc[3] == 720.0
    assert fac["capacity"].dtype == np.float64
    assert list(fac["site_id"]) == [""] * 4
    assert dist_m(fac, LON, LAT).max() < 1e-6


def test_csv_gcj02_english_headers_generated_ids(tmp_path: Path) -> None:
    glon, glat = wgs84_to_gcj02(LON, LAT)
    path = tmp_path / "fac.csv"
    pd.DataFrame({"name": ["a", "b", "c", "d"], "type": ["clinic", "卫生室", "村卫生室", "Clinic"],
                  "capacity": [1, 2, 3, None], "lng": glon, "lat": glat}).to_csv(
        path, index=False, encoding="gbk")
    fac = read_facilities(path, coords="gcj02")
    assert list(fac["facility_id"]) == ["F0001", "F0002", "F0003", "F0004"]
    assert set(fac["facility_type"]) == {"clinic"}
    assert dist_m(fac, LON, LAT).max() < 1.0


def test_default_coords_fill_in_only_what_declares_nothing(tmp_path: Path) -> None:
    glon, glat = wgs84_to_gcj02(LON, LAT)
    table = facility_table().drop(columns=["学位"])
    table["经度"], table["纬度"] = glon, glat
    table.to_csv(tmp_path / "gcj.csv", index=False)
    # a table without a 坐标系 column takes the default system (metres from the truth)
    assert dist_m(read_facilities(tmp_path / "gcj.csv", default_coords="gcj02"), LON, LAT).max() < 1.0
    assert dist_m(read_facilities(tmp_path / "gcj.csv"), LON, LAT).min() > 300
    # its own 坐标系 column wins over the default, silently
    table["经度"], table["纬度"], table["坐标系"] = LON, LAT, "wgs84"
    table.to_csv(tmp_path / "own.csv", index=False)
    assert dist_m(read_facilities(tmp_path / "own.csv", default_coords="gcj02"), LON, LAT).max() < 1e-6
    # a layer declaring EPSG:4326 keeps it; only an explicit coords= moves it
    gpd.GeoDataFrame({"类型": ["卫生室"] * 4}, geometry=gpd.points_from_xy(LON, LAT),
                     crs="EPSG:4326").to_file(tmp_path / "f.gpkg")
    kept = read_facilities(tmp_path / "f.gpkg", default_coords="gcj02")
    assert dist_m(kept, LON, LAT).max() < 1e-6
    moved = dist_m(read_facilities(tmp_path / "f.gpkg", coords="gcj02"), LON, LAT)
    assert ((moved > 300) & (moved < 600)).all()
    # Gauss-Krüger metres are never GCJ-02: the default does not touch (or refuse) them
    tr = pyproj.Transformer.from_crs("EPSG:4490", "EPSG:4521", always_xy=True)
    east, north = tr.transform(LON, LAT)
    pd.DataFrame({"类型": ["幼儿园"] * 4, "东坐标": east, "北坐标": north}).to_csv(
        tmp_path / "gk.csv", index=False)
    assert dist_m(read_facilities(tmp_path / "gk.csv", default_coords="gcj02"), LON, LAT).max() < 1.0


def test_unknown_default_coords_is_reported(tmp_path: Path) -> None:
    facility_table().to_csv(tmp_path / "f.csv", index=False)
    with pytest.raises(InputError, match=r"coords='mars'"):
        read_facilities(tmp_path / "f.csv", default_coords="mars")


def test_gauss_kruger_facilities(tmp_path: Path) -> None:
    tr = pyproj.Transformer.from_crs("EPSG:4490", "EPSG:4521", always_xy=True)
    east, north = tr.transform(LON, LAT)
    path = tmp_path / "gk.csv"
    pd.DataFrame({"名称": list("abcd"), "类型": ["幼儿园"] * 4, "东坐标": east,
                  "北坐标": north}).to_csv(path, index=False)
    fac = read_facilities(path)
    assert dist_m(fac, LON, LAT).max() < 1.0


def test_geopackage_outside_china_is_fine(tmp_path: Path) -> None:
    # Facilities may lie anywhere (the OSM test data is Andorra).
    gdf = gpd.GeoDataFrame(
        {"id": ["h1", "p1"], "name": ["Hospital", "Policia"], "type": ["hospital", "police"],
         "capacity": [120.0, None]},
        geometry=[Point(1.5218, 42.5063), Point(1.53, 42.51)], crs="EPSG:4326")
    path = tmp_path / "andorra.gpkg"
    gdf.to_file(path)
    fac = read_facilities(path)
    assert list(fac["facility_type"]) == ["township_health_centre", "police_station"]
    assert fac.geometry.iloc[0].equals(Point(1.5218, 42.5063))
    # a projected layer (UTM 31N) is reprojected
    gdf.to_crs("EPSG:32631").to_file(tmp_path / "utm.gpkg")
    fac2 = read_facilities(tmp_path / "utm.gpkg")
    assert dist_m(fac2, np.array([1.5218, 1.53]), np.array([42.5063, 42.51])).max() < 0.01


def test_osm_style_layer_maps_tags_and_drops_other_amenities(tmp_path: Path) -> None:
    # Shaped like an osmnx features export: (element, id) index, tag columns, polygons.
    index = pd.MultiIndex.from_tuples(
        [("node", 1), ("way", 1), ("node", 5), ("node", 7), ("node", 9)], names=["element", "id"])
    building = Polygon([(1.50, 42.50), (1.51, 42.50), (1.51, 42.51), (1.50, 42.51)])
    gdf = gpd.GeoDataFrame(
        {"amenity": ["clinic", "hospital", "restaurant", None, "kindergarten"],
         "healthcare": [None, "hospital", None, "doctor", None],
         "office": [None, None, None, None, None],
         "name": ["CAP Andorra", "Hospital", None, "Dr. Pi", "Escola bressol"]},
        geometry=[Point(1.52, 42.50), building, Point(1.53, 42.51), Point(1.54, 42.52),
                  Point(1.55, 42.53)],
        index=index, crs="EPSG:4326")
    path = tmp_path / "osm.gpkg"
    gdf.to_file(path)
    fac = read_facilities(path)
    assert list(fac["facility_id"]) == ["node/1", "way/1", "node/7", "node/9"]  # restaurant left out
    assert list(fac["facility_type"]) == ["clinic", "township_health_centre", "clinic",
                                          "kindergarten"]
    assert fac.geometry.iloc[1].within(building)
    assert fac["name"].iloc[1] == "Hospital"


def test_osm_geojson_without_names(tmp_path: Path) -> None:
    gdf = gpd.GeoDataFrame({"amenity": ["police", "school"]},
                           geometry=[Point(1.52, 42.5), Point(1.53, 42.51)], crs="EPSG:4326")
    path = tmp_path / "osm.geojson"
    gdf.to_file(path, driver="GeoJSON")
    fac = read_facilities(path)
    assert list(fac["name"]) == ["", ""]
    assert list(fac["facility_type"]) == ["police_station", "primary_school"]


def test_empty_table_gives_empty_layer(tmp_path: Path) -> None:
    path = tmp_path / "none.csv"
    path.write_text("id,name,type,lon,lat\n", encoding="utf-8")
    fac = read_facilities(path)
    assert len(fac) == 0 and list(fac.columns) == COLUMNS and fac.crs.equals("EPSG:4326")


# --------------------------------------------------------------------------- bad input


def test_unknown_type_lists_known_keys_and_labels(tmp_path: Path) -> None:
    df = facility_table()
    df.loc[1, "设施类型"] = "公共厕所"
    path = tmp_path / "types.xlsx"
    df.to_excel(path, index=False)
    with pytest.raises(InputError, match=r"row 3, column '设施类型': unknown facility type "
                                         r"\(value: '公共厕所'\)") as ei:
        read_facilities(path)
    fix = ei.value.problems[0].fix or ""
    for key, ft in FACILITY_TYPES.items():
        assert f"{key} ({ft.zh})" in fix


def test_missing_type_and_coordinate_columns(tmp_path: Path) -> None:
    path = tmp_path / "cols.csv"
    pd.DataFrame({"编号": ["a"], "名称": ["b"]}).to_csv(path, index=False)
    with pytest.raises(InputError, match="2 problems") as ei:
        read_facilities(path)
    text = str(ei.value)
    assert "no facility type column" in text and "类型/设施类型" in text and "amenity" in text
    assert "no coordinate columns" in text and "经度" in text


def test_invalid_and_swapped_coordinates(tmp_path: Path) -> None:
    df = facility_table()
    df.loc[0, "经度"], df.loc[0, "纬度"] = LAT[0], LON[0]  # swapped: lat 99 is impossible
    df.loc[1, "经度"] = 199.0
    df.loc[2, "纬度"] = None
    path = tmp_path / "where.xlsx"
    df.to_excel(path, index=False)
    with pytest.raises(InputError, match="3 problems") as ei:
        read_facilities(path)
    assert problems_of(ei) == [(2, "纬度"), (3, "经度"), (4, "纬度")]
    text = str(ei.value)
    assert "99.1612 is not a latitude; did you swap 经度/纬度?" in text
    assert "199 is not a longitude" in text
    assert "only one of its two coordinates" in text


def test_duplicate_blank_ids_bad_capacity_blank_type(tmp_path: Path) -> None:
    df = facility_table()
    df.loc[1, "编号"] = "F1"
    df.loc[2, "编号"] = None
    df.loc[3, "学位"] = "-20"
    df.loc[0, "设施类型"] = None
    path = tmp_path / "ids.xlsx"
    df.to_excel(path, index=False)
    with pytest.raises(InputError, match="4 problems") as ei:
        read_facilities(path)
    assert problems_of(ei) == [(2, "设施类型"), (3, "编号"), (4, "编号"), (5, "学位")]
    text = str(ei.value)
    assert "facility id 'F1' is used twice (first in row 2)" in text
    assert "the facility has no id" in text
    assert "capacity is negative (value: '-20')" in text
    assert "the facility has no type" in text


def test_empty_geometry_and_lines(tmp_path: Path) -> None:
    from shapely.geometry import LineString

    gdf = gpd.GeoDataFrame({"type": ["clinic", "clinic", "clinic"]},
                           geometry=[None, LineString([(1, 42), (1.1, 42.1)]), Point(1.5, 42.5)],
                           crs="EPSG:4326")
    path = tmp_path / "geom.gpkg"
    gdf.to_file(path)
    with pytest.raises(InputError, match="2 problems") as ei:
        read_facilities(path)
    assert problems_of(ei) == [(1, "geometry"), (2, "geometry")]
    assert "empty geometry" in str(ei.value) and "LineString" in str(ei.value)


# --------------------------------------------------------------------------- derive, combine


def _sites(tmp_path: Path) -> gpd.GeoDataFrame:
    path = tmp_path / "sites.csv"
    pd.DataFrame({"编号": ["S1", "S2"], "安置点名称": ["幸福小区", "阳光社区"], "人数": [900, 300],
                  "经度": LON[:2], "纬度": LAT[:2], "卫生室": ["有", "有"],
                  "警务室": ["有", "无"]}).to_csv(path, index=False)
    return read_sites(path)


def test_facilities_from_sites(tmp_path: Path) -> None:
    fac = facilities_from_sites(_sites(tmp_path))
    assert list(fac["facility_id"]) == ["S1-clinic", "S1-police_room", "S2-clinic"]
    assert list(fac["name"]) == ["幸福小区 卫生室", "幸福小区 警务室", "阳光社区 卫生室"]
    assert list(fac["site_id"]) == ["S1", "S1", "S2"]
    assert fac["capacity"].isna().all()
    assert dist_m(fac, LON[[0, 0, 1]], LAT[[0, 0, 1]]).max() < 1e-6


def test_facilities_from_sites_refuses_other_crs_and_bad_columns(tmp_path: Path) -> None:
    sites = _sites(tmp_path)
    with pytest.raises(InputError, match=r"EPSG:4521, not EPSG:4326"):
        facilities_from_sites(sites.to_crs("EPSG:4521"))
    bad = sites.assign(has_clinic=["yes", "no"], has_swimming_pool=[True, False])
    with pytest.raises(InputError, match="2 problems") as ei:
        facilities_from_sites(bad)
    text = str(ei.value)
    assert "'has_clinic' is not a yes/no" in text and "'has_swimming_pool' names no facility" in text
    none = sites.assign(has_clinic=False, has_police_room=False)
    assert len(facilities_from_sites(none)) == 0


def test_combine_facilities(tmp_path: Path) -> None:
    path = tmp_path / "fac.xlsx"
    facility_table().to_excel(path, index=False)
    layer = read_facilities(path)
    from_sites = facilities_from_sites(_sites(tmp_path))
    both = combine_facilities(layer, from_sites)
    assert len(both) == len(layer) + len(from_sites) == 7
    assert list(both.columns) == COLUMNS and list(both.index) == list(range(7))
    assert both.crs.equals("EPSG:4326")
    assert list(both["site_id"]) == ["", "", "", "", "S1", "S1", "S2"]
    assert len(combine_facilities()) == 0
    assert len(combine_facilities(empty_facilities(), layer)) == 4


def test_combine_refuses_duplicate_ids_and_other_crs(tmp_path: Path) -> None:
    path = tmp_path / "fac.xlsx"
    facility_table().to_excel(path, index=False)
    layer = read_facilities(path)
    with pytest.raises(InputError, match=r"facility id 'F1' occurs 2 times \(layer 1 \(fac\.xlsx\), "
                                         r"layer 2 \(fac\.xlsx\)\)") as ei:
        combine_facilities(layer, layer.iloc[:2])
    assert len(ei.value.problems) == 2  # F1 and F2
    with pytest.raises(InputError, match=r"layer 2.*is in EPSG:3857, but facilities must be in "
                                         r"EPSG:4326"):
        combine_facilities(layer, layer.to_crs("EPSG:3857"))


def test_crs_option_for_metres_does_not_disturb_degree_inputs(tmp_path: Path) -> None:
    # One --crs for a Gauss-Krüger site table must not break facilities in degrees.
    path = tmp_path / "fac.xlsx"
    facility_table().to_excel(path, index=False)
    assert dist_m(read_facilities(path, crs="EPSG:4521"), LON, LAT).max() < 1e-6
    gdf = gpd.GeoDataFrame({"type": ["clinic"] * 4}, geometry=gpd.points_from_xy(LON, LAT),
                           crs="EPSG:4326")
    gdf.to_file(tmp_path / "fac.gpkg")
    assert dist_m(read_facilities(tmp_path / "fac.gpkg", crs=4521), LON, LAT).max() < 1e-6
    # but metres with a geographic crs contradict each other
    tr = pyproj.Transformer.from_crs("EPSG:4490", "EPSG:4521", always_xy=True)
    east, north = tr.transform(LON, LAT)
    pd.DataFrame({"类型": ["幼儿园"] * 4, "东坐标": east, "北坐标": north}).to_csv(
        tmp_path / "gk.csv", index=False)
    with pytest.raises(InputError, match=r"crs=4326 is geographic \(degrees\), but 4 row\(s\) "
                                         r"hold metres"):
        read_facilities(tmp_path / "gk.csv", crs=4326)
    with pytest.raises(InputError, match=r"crs='EPSG:99999' is not a coordinate reference"):
        read_facilities(tmp_path / "gk.csv", crs="EPSG:99999")
