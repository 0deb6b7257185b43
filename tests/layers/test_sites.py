"""layers.sites.read_sites: real xlsx/csv/GeoPackage/GeoJSON/Shapefile inputs written to tmp_path."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pyproj
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyproj import Geod
from shapely.geometry import Point, Polygon

from anzhi.core.errors import DataSourceError, InputError
from geo.coords import wgs84_to_bd09, wgs84_to_gcj02
from layers.cells import parse_degrees, parse_number, parse_yes_no
from layers.facilities import facilities_from_sites
from layers.sites import read_sites
from layers.tables import fold

GEOD = Geod(ellps="WGS84")

# WGS84 truth: five sites around Baoshan (Yunnan), all in 3-degree Gauss-Krüger zone 33.
TRUTH_LON = np.array([99.1612, 99.2034, 99.2511, 98.9876, 99.3399])
TRUTH_LAT = np.array([25.1123, 25.1207, 25.2034, 24.9876, 25.3012])
NAMES = ["幸福小区", "阳光社区", "和谐家园", "新村安置点", "团结小区"]
POP = [1250, 860, 430, 3120, 95]
HH = [310, 215, 101, 790, 24]

SITE_COLUMNS = ["site_id", "site_name", "county", "township", "village", "households",
                "population", "kind"]


def dist_m(gdf: gpd.GeoDataFrame, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Geodesic distance (m) between the loaded points and the truth."""
    _, _, d = GEOD.inv(gdf.geometry.x.to_numpy(), gdf.geometry.y.to_numpy(), lon, lat)
    return np.asarray(d)


def chinese_table(lon: np.ndarray, lat: np.ndarray) -> pd.DataFrame:
    """A county-style site table with Chinese headers (object columns, so cells can be spoilt)."""
    return pd.DataFrame(
        {
            "编号": ["BS01", "BS02", "BS03", "BS04", "BS05"],
            "安置点名称": NAMES,
            "县（市、区）": ["隆阳区"] * 5,
            "乡(镇)": ["板桥镇", "河图镇", "金鸡乡", "汉庄镇", "瓦房乡"],
            "村（社区）": ["青龙社区", "河图村", "金鸡村", "汉庄村", "瓦房村"],
            "户数": HH,
            "人数": POP,
            "经度": lon,
            "纬度": lat,
            "安置方式": ["城镇安置", "城镇", "农村", "urban", "rural"],
            "卫生室": ["有", "无", "是", None, "否"],
            "警务室": ["√", "×", "", "1", "0"],
            "幼儿园": ["yes", "no", "Y", "n", "TRUE"],
        }
    ).astype(object)


def write_xlsx(df: pd.DataFrame, path: Path) -> Path:
    df.to_excel(path, index=False)
    return path


def problems_of(excinfo: pytest.ExceptionInfo[InputError]) -> list[tuple[int | None, str | None]]:
    return [(p.row, p.column) for p in excinfo.value.problems]


# --------------------------------------------------------------------------- positive


def test_xlsx_chinese_headers_gcj02_loads_within_1m(tmp_path: Path) -> None:
    glon, glat = wgs84_to_gcj02(TRUTH_LON, TRUTH_LAT)
    path = write_xlsx(chinese_table(glon, glat), tmp_path / "安置点.xlsx")
    sites = read_sites(path, coords="gcj02")

    assert sites.crs.equals("EPSG:4326")
    assert list(sites.index) == list(range(5))
    assert list(sites.columns[:8]) == SITE_COLUMNS
    assert list(sites.columns[8:]) == ["has_clinic", "has_police_room", "has_kindergarten",
                                       "geometry"]
    assert sites["population"].dtype == np.int64
    assert sites["households"].dtype == np.float64
    assert sites["has_clinic"].dtype == bool
    assert list(sites["site_id"]) == ["BS01", "BS02", "BS03", "BS04", "BS05"]
    assert list(sites["site_name"]) == NAMES
    assert list(sites["population"]) == POP
    assert list(sites["households"]) == [float(h) for h in HH]
    assert set(sites["county"]) == {"隆阳区"}
    assert sites.loc[0, "township"] == "板桥镇" and sites.loc[0, "village"] == "青龙社区"
    assert list(sites["kind"]) == ["城镇", "城镇", "农村", "城镇", "农村"]
    assert list(sites["has_clinic"]) == [True, False, True, False, False]
    assert list(sites["has_police_room"]) == [True, False, False, True, False]
    assert list(sites["has_kindergarten"]) == [True, False, True, False, True]

    assert dist_m(sites, TRUTH_LON, TRUTH_LAT).max() < 1.0
    # The raw GCJ-02 input really was shifted by hundreds of metres.
    _, _, shift = GEOD.inv(glon, glat, TRUTH_LON, TRUTH_LAT)
    assert np.min(shift) > 100.0


def test_without_coords_wgs84_is_assumed(tmp_path: Path) -> None:
    path = write_xlsx(chinese_table(TRUTH_LON, TRUTH_LAT), tmp_path / "wgs.xlsx")
    sites = read_sites(path)
    assert dist_m(sites, TRUTH_LON, TRUTH_LAT).max() < 1e-6


def test_bd09_from_a_coordinate_system_column(tmp_path: Path) -> None:
    blon, blat = wgs84_to_bd09(TRUTH_LON, TRUTH_LAT)
    df = chinese_table(blon, blat)
    df["坐标系"] = ["百度", "BD-09", "bd09", "baidu", "百度坐标"]
    sites = read_sites(write_xlsx(df, tmp_path / "baidu.xlsx"))
    assert dist_m(sites, TRUTH_LON, TRUTH_LAT).max() < 1.0
    _, _, shift = GEOD.inv(blon, blat, TRUTH_LON, TRUTH_LAT)
    assert np.min(shift) > 100.0


def test_mixed_systems_per_row(tmp_path: Path) -> None:
    glon, glat = wgs84_to_gcj02(TRUTH_LON, TRUTH_LAT)
    blon, blat = wgs84_to_bd09(TRUTH_LON, TRUTH_LAT)
    lon = np.array([glon[0], blon[1], TRUTH_LON[2], TRUTH_LON[3], glon[4]])
    lat = np.array([glat[0], blat[1], TRUTH_LAT[2], TRUTH_LAT[3], glat[4]])
    df = chinese_table(lon, lat)
    df["坐标系"] = ["高德", "百度", "WGS84", "", "火星坐标"]  # blank row falls back to WGS84
    sites = read_sites(write_xlsx(df, tmp_path / "mixed.xlsx"))
    assert dist_m(sites, TRUTH_LON, TRUTH_LAT).max() < 1.0


def test_gauss_kruger_prefixed_survey_convention_x_is_northing(tmp_path: Path) -> None:
    # EPSG:4521 = CGCS2000 3-degree GK zone 33 with the zone prefix in the easting.
    tr = pyproj.Transformer.from_crs("EPSG:4490", "EPSG:4521", always_xy=True)
    east, north = tr.transform(TRUTH_LON, TRUTH_LAT)
    assert np.all(east > 33_000_000) and np.all(north > 2_000_000)
    df = pd.DataFrame({"安置点名称": NAMES, "人数": POP,
                       "X坐标": north, "Y坐标": east})  # Chinese survey convention: X = northing
    sites = read_sites(write_xlsx(df, tmp_path / "gk.xlsx"))
    assert dist_m(sites, TRUTH_LON, TRUTH_LAT).max() < 1.0
    assert list(sites["site_id"]) == ["S0001", "S0002", "S0003", "S0004", "S0005"]


def test_gauss_kruger_six_digit_eastings_need_crs(tmp_path: Path) -> None:
    # EPSG:4542 = CGCS2000 3-degree GK, central meridian 99°E, 6-digit eastings.
    tr = pyproj.Transformer.from_crs("EPSG:4490", "EPSG:4542", always_xy=True)
    east, north = tr.transform(TRUTH_LON, TRUTH_LAT)
    path = tmp_path / "gk6.csv"
    pd.DataFrame({"name": NAMES, "population": POP, "easting": east,
                  "northing": north}).to_csv(path, index=False)
    with pytest.raises(InputError, match=r"cannot tell the Gauss-Krüger zone.*EPSG:45xx"):
        read_sites(path)
    sites = read_sites(path, crs="EPSG:4542")
    assert dist_m(sites, TRUTH_LON, TRUTH_LAT).max() < 1.0
    # x/y headers with values in metres are read as Gauss-Krüger too.
    path2 = tmp_path / "gk_xy.csv"
    pd.DataFrame({"name": NAMES, "pop": POP, "x": east, "y": north}).to_csv(path2, index=False)
    assert dist_m(read_sites(path2, crs=4542), TRUTH_LON, TRUTH_LAT).max() < 1.0


def test_csv_in_gbk_loads(tmp_path: Path) -> None:
    glon, glat = wgs84_to_gcj02(TRUTH_LON, TRUTH_LAT)
    path = tmp_path / "安置点_gbk.csv"
    chinese_table(glon, glat).to_csv(path, index=False, encoding="gbk")
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")  # really not UTF-8
    sites = read_sites(path, coords="高德")
    assert list(sites["site_name"]) == NAMES
    assert list(sites["township"])[:2] == ["板桥镇", "河图镇"]
    assert dist_m(sites, TRUTH_LON, TRUTH_LAT).max() < 1.0


def test_csv_utf8_with_bom_and_english_headers(tmp_path: Path) -> None:
    path = tmp_path / "sites.csv"
    pd.DataFrame({"Site_ID": ["a", "b", "c", "d", "e"], "Name": NAMES, "County": ["X"] * 5,
                  "Township": ["T"] * 5, "Village": ["V"] * 5, "Households": HH,
                  "Population": POP, "Longitude": TRUTH_LON, "Latitude": TRUTH_LAT,
                  "Kind": ["urban", "rural", "", "城镇", "农村"],
                  "has_clinic": [True, False, True, False, True]}).to_csv(
        path, index=False, encoding="utf-8-sig")
    sites = read_sites(path)
    assert list(sites["site_id"]) == ["a", "b", "c", "d", "e"]
    assert list(sites["kind"]) == ["城镇", "农村", "", "城镇", "农村"]
    assert list(sites["has_clinic"]) == [True, False, True, False, True]
    assert dist_m(sites, TRUTH_LON, TRUTH_LAT).max() < 1e-6


def test_title_line_blank_rows_and_units_keep_excel_row_numbers(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "安置点"
    ws.append(["隆阳区易地扶贫搬迁安置点统计表"])  # row 1: title
    ws.append([])  # row 2: blank
    ws.append(["序号", "安置点名称", "人数（人）", "户数（户）", "经度", "纬度"])  # row 3: header
    ws.append([1, NAMES[0], POP[0], HH[0], TRUTH_LON[0], TRUTH_LAT[0]])  # row 4
    ws.append([])  # row 5: blank, skipped
    ws.append([2, NAMES[1], "1,200", HH[1], TRUTH_LON[1], TRUTH_LAT[1]])  # row 6
    ws.append([3, NAMES[2], "很多", HH[2], TRUTH_LON[2], TRUTH_LAT[2]])  # row 7: bad
    path = tmp_path / "title.xlsx"
    wb.save(path)
    with pytest.raises(InputError, match=r"title\.xlsx, row 7, column '人数（人）'.*'很多'") as ei:
        read_sites(path)
    assert problems_of(ei) == [(7, "人数（人）")]

    ws.delete_rows(7)
    wb.save(path)
    sites = read_sites(path)
    assert list(sites["site_id"]) == ["1", "2"]  # 序号 used: no 编号-like column
    assert list(sites["population"]) == [POP[0], 1200]


def test_second_header_row_under_merged_cell(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["编号", "安置点名称", "人数", "坐标", None])
    ws.append([None, None, None, "经度", "纬度"])
    for i in range(3):
        ws.append([f"P{i}", NAMES[i], POP[i], TRUTH_LON[i], TRUTH_LAT[i]])
    ws.merge_cells("D1:E1")
    path = tmp_path / "merged.xlsx"
    wb.save(path)
    sites = read_sites(path)
    assert list(sites["site_id"]) == ["P0", "P1", "P2"]
    assert dist_m(sites, TRUTH_LON[:3], TRUTH_LAT[:3]).max() < 1e-6


def test_bianhao_wins_over_xuhao_and_sheet_choice(tmp_path: Path) -> None:
    df = chinese_table(TRUTH_LON, TRUTH_LAT)
    df.insert(0, "序号", [1, 2, 3, 4, 5])
    path = tmp_path / "two_sheets.xlsx"
    with pd.ExcelWriter(path) as xw:
        pd.DataFrame({"说明": ["本表为示例"]}).to_excel(xw, sheet_name="说明", index=False)
        df.to_excel(xw, sheet_name="安置点", index=False)
    with pytest.raises(InputError, match=r"no site_name column.*安置点名称"):
        read_sites(path)  # first sheet is the notes sheet
    sites = read_sites(path, sheet="安置点")
    assert list(sites["site_id"]) == ["BS01", "BS02", "BS03", "BS04", "BS05"]
    assert len(read_sites(path, sheet=1)) == 5
    with pytest.raises(InputError, match=r"no sheet 'Sheet9'.*0: '说明', 1: '安置点'"):
        read_sites(path, sheet="Sheet9")


def test_dms_and_fullwidth_numbers(tmp_path: Path) -> None:
    path = tmp_path / "dms.csv"
    pd.DataFrame({"安置点名称": ["甲"], "人数": ["１２５０"], "经度": ["99°9'40.32\"E"],
                  "纬度": ["25度6分44.28秒"]}).to_csv(path, index=False)
    sites = read_sites(path)
    assert sites.loc[0, "population"] == 1250
    assert dist_m(sites, np.array([99.1612]), np.array([25.1123])).max() < 0.5


def test_geopackage_wgs84_with_gcj02_coords_is_converted(tmp_path: Path) -> None:
    glon, glat = wgs84_to_gcj02(TRUTH_LON, TRUTH_LAT)
    gdf = gpd.GeoDataFrame({"安置点名称": NAMES, "人数": POP, "户数": HH},
                           geometry=gpd.points_from_xy(glon, glat), crs="EPSG:4326")
    path = tmp_path / "sites.gpkg"
    gdf.to_file(path, layer="安置点")
    sites = read_sites(path, coords="gcj02")
    assert dist_m(sites, TRUTH_LON, TRUTH_LAT).max() < 1.0
    assert list(sites["households"]) == [float(h) for h in HH]
    # Without coords the file's own EPSG:4326 is taken as it is.
    assert dist_m(read_sites(path), glon, glat).max() < 1e-6


def test_projected_geopackage_is_reprojected(tmp_path: Path) -> None:
    gdf = gpd.GeoDataFrame({"name": NAMES, "population": POP},
                           geometry=gpd.points_from_xy(TRUTH_LON, TRUTH_LAT), crs="EPSG:4326")
    path = tmp_path / "gk.gpkg"
    gdf.to_crs("EPSG:4521").to_file(path)
    sites = read_sites(path)
    assert dist_m(sites, TRUTH_LON, TRUTH_LAT).max() < 0.01
    with pytest.raises(InputError, match=r"GCJ-02/BD-09.*projected"):
        read_sites(path, coords="gcj02")


def test_other_datum_lonlat_layer_is_reprojected_and_refuses_gcj02(tmp_path: Path) -> None:
    gdf = gpd.GeoDataFrame({"name": NAMES, "population": POP},
                           geometry=gpd.points_from_xy(TRUTH_LON, TRUTH_LAT), crs="EPSG:4326")
    path = tmp_path / "beijing54.gpkg"
    gdf.to_crs("EPSG:4214").to_file(path)  # Beijing 1954 longitude/latitude
    sites = read_sites(path)
    # the datum shift is undone by the transform, up to PROJ's accuracy for this datum
    assert dist_m(sites, TRUTH_LON, TRUTH_LAT).max() < 1.0
    with pytest.raises(InputError, match=r"GCJ-02/BD-09.*in another datum \(EPSG:4214\)"):
        read_sites(path, coords="gcj02")


def test_geojson_polygon_sites_use_a_point_inside(tmp_path: Path) -> None:
    square = Polygon([(99.16, 25.11), (99.17, 25.11), (99.17, 25.12), (99.16, 25.12)])
    gdf = gpd.GeoDataFrame({"name": ["甲", "乙"], "pop": [10, 20]},
                           geometry=[square, Point(99.2, 25.2)], crs="EPSG:4326")
    path = tmp_path / "sites.geojson"
    gdf.to_file(path, driver="GeoJSON")
    sites = read_sites(path)
    assert sites.geometry.iloc[0].within(square)
    assert sites.geometry.iloc[1].equals(Point(99.2, 25.2))


def test_shapefile_without_prj_takes_crs(tmp_path: Path) -> None:
    tr = pyproj.Transformer.from_crs("EPSG:4490", "EPSG:4542", always_xy=True)
    east, north = tr.transform(TRUTH_LON, TRUTH_LAT)
    gdf = gpd.GeoDataFrame({"name": NAMES, "pop": POP}, geometry=gpd.points_from_xy(east, north))
    path = tmp_path / "sites.shp"
    with pytest.warns(UserWarning, match="crs"):
        gdf.to_file(path)
    assert not path.with_suffix(".prj").exists()
    with pytest.raises(InputError, match="cannot tell the Gauss-Krüger zone"):
        read_sites(path)
    sites = read_sites(path, crs="EPSG:4542")
    assert list(sites["site_name"]) == NAMES
    assert dist_m(sites, TRUTH_LON, TRUTH_LAT).max() < 1.0


def test_yes_no_columns_become_facilities(tmp_path: Path) -> None:
    df = chinese_table(TRUTH_LON, TRUTH_LAT)
    df = df.rename(columns={"卫生室": "是否有卫生室", "警务室": "警务室（有/无）"})
    sites = read_sites(write_xlsx(df, tmp_path / "yn.xlsx"))
    assert {"has_clinic", "has_police_room", "has_kindergarten"} <= set(sites.columns)
    fac = facilities_from_sites(sites)
    expected = (sites["has_clinic"].sum() + sites["has_police_room"].sum()
                + sites["has_kindergarten"].sum())
    assert len(fac) == expected == 7
    assert fac.crs.equals("EPSG:4326")
    assert list(fac.columns) == ["facility_id", "name", "facility_type", "capacity", "site_id",
                                 "geometry"]
    first = fac.iloc[0]
    assert first["facility_id"] == "BS01-clinic"
    assert first["name"] == "幸福小区 卫生室"
    assert first["site_id"] == "BS01"
    assert np.isnan(first["capacity"])
    assert set(fac.loc[fac["site_id"] == "BS01", "facility_type"]) == {
        "clinic", "police_room", "kindergarten"}
    assert "BS02" not in set(fac["site_id"])  # 无/×/no everywhere
    by_site = sites.set_index("site_id").geometry
    assert all(g.equals(by_site[s]) for g, s in zip(fac.geometry, fac["site_id"], strict=True))


def test_china_only_switch(tmp_path: Path) -> None:
    path = tmp_path / "abroad.csv"
    pd.DataFrame({"name": ["Andorra la Vella"], "population": [100], "lon": [1.5218],
                  "lat": [42.5063]}).to_csv(path, index=False)
    with pytest.raises(InputError, match=r"row 2.*outside China.*china_only=False"):
        read_sites(path)
    sites = read_sites(path, china_only=False)
    assert sites.geometry.iloc[0].equals(Point(1.5218, 42.5063))


# --------------------------------------------------------------------------- bad input


@pytest.fixture()
def good_df() -> pd.DataFrame:
    return chinese_table(TRUTH_LON, TRUTH_LAT)


def test_missing_required_columns_list_accepted_headers(tmp_path: Path,
                                                       good_df: pd.DataFrame) -> None:
    df = good_df.drop(columns=["安置点名称", "人数", "经度", "纬度"])
    path = write_xlsx(df, tmp_path / "cols.xlsx")
    with pytest.raises(InputError, match="3 problems") as ei:
        read_sites(path)
    text = str(ei.value)
    assert "no site_name column" in text and "安置点名称/安置点/名称" in text
    assert "no population column" in text and "人数/搬迁人口/安置人数/人口" in text
    assert "no coordinate columns" in text and "经度/lon/lng" in text and "东坐标" in text


def test_population_and_households_problems(tmp_path: Path, good_df: pd.DataFrame) -> None:
    df = good_df
    df.loc[0, "人数"] = "很多"
    df.loc[1, "人数"] = -5
    df.loc[2, "人数"] = 12.5
    df.loc[3, "户数"] = "三百"
    df.loc[4, "户数"] = 200  # more households than the 95 people
    df.loc[4, "人数"] = 95
    path = write_xlsx(df, tmp_path / "pop.xlsx")
    with pytest.raises(InputError, match="5 problems") as ei:
        read_sites(path)
    assert problems_of(ei) == [(2, "人数"), (3, "人数"), (4, "人数"), (5, "户数"), (6, "户数")]
    text = str(ei.value)
    assert "'很多'" in text and "population is not a number" in text
    assert "population is negative (value: -5)" in text
    assert "not a whole number (value: 12.5)" in text
    assert "households is not a number (value: '三百')" in text
    assert "200 households but only 95 people" in text


def test_missing_population_and_blank_name(tmp_path: Path, good_df: pd.DataFrame) -> None:
    good_df.loc[1, "人数"] = None
    good_df.loc[2, "安置点名称"] = " "
    with pytest.raises(InputError, match=r"row 3, column '人数': population is missing") as ei:
        read_sites(write_xlsx(good_df, tmp_path / "blank.xlsx"))
    assert problems_of(ei) == [(3, "人数"), (4, "安置点名称")]
    assert "site name is empty" in str(ei.value)


def test_swapped_lat_lon_is_named(tmp_path: Path, good_df: pd.DataFrame) -> None:
    good_df.loc[2, "经度"], good_df.loc[2, "纬度"] = good_df.loc[2, "纬度"], good_df.loc[2, "经度"]
    with pytest.raises(InputError,
                       match=r"swap\.xlsx, row 4, column '纬度': 99\.2511 is not a latitude; "
                             r"did you swap 经度/纬度\?"):
        read_sites(write_xlsx(good_df, tmp_path / "swap.xlsx"))


def test_swapped_but_valid_looking_outside_china_hints_swap(tmp_path: Path) -> None:
    # lon 25.1 / lat 89.9 is a valid position (Arctic) but swapped it is in China.
    path = tmp_path / "swap2.csv"
    pd.DataFrame({"name": ["甲"], "population": [10], "lon": [25.1], "lat": [89.9]}).to_csv(
        path, index=False)
    with pytest.raises(InputError, match=r"outside China, but swapped it is inside; did you swap"):
        read_sites(path)


def test_outside_china_and_missing_coordinates(tmp_path: Path, good_df: pd.DataFrame) -> None:
    good_df.loc[0, "经度"] = 9.16  # a typo: Europe
    good_df.loc[1, "经度"] = None
    good_df.loc[1, "纬度"] = None
    good_df.loc[2, "纬度"] = None
    good_df.loc[3, "经度"] = "九十九"
    good_df.loc[4, "经度"] = 0.0
    good_df.loc[4, "纬度"] = 0.0
    with pytest.raises(InputError, match="5 problems") as ei:
        read_sites(write_xlsx(good_df, tmp_path / "where.xlsx"))
    text = str(ei.value)
    assert problems_of(ei) == [(2, "经度"), (3, "经度"), (4, "纬度"), (5, "经度"), (6, "经度")]
    assert "(9.16, 25.1123) are outside China" in text
    assert "the site has no coordinates" in text
    assert "only one of its two coordinates" in text
    assert "not a number (value: '九十九')" in text
    assert "(0, 0)" in text


def test_empty_geometry_in_geopackage(tmp_path: Path) -> None:
    gdf = gpd.GeoDataFrame({"name": ["甲", "乙", "丙"], "population": [1, 2, 3]},
                           geometry=[Point(99.2, 25.1), None, Point()], crs="EPSG:4326")
    path = tmp_path / "holes.gpkg"
    gdf.to_file(path)
    with pytest.raises(InputError, match=r"row 2, column 'geometry': the feature has empty "
                                         r"geometry") as ei:
        read_sites(path)
    assert problems_of(ei) == [(2, "geometry"), (3, "geometry")]


def test_duplicate_and_blank_site_ids(tmp_path: Path, good_df: pd.DataFrame) -> None:
    good_df.loc[2, "编号"] = "BS01"
    good_df.loc[4, "编号"] = "BS01"
    good_df.loc[3, "编号"] = None
    with pytest.raises(InputError, match=r"site id 'BS01' is used twice \(first in row 2\)") as ei:
        read_sites(write_xlsx(good_df, tmp_path / "ids.xlsx"))
    assert problems_of(ei) == [(4, "编号"), (5, "编号"), (6, "编号")]
    assert "the site has no id" in str(ei.value)


def test_unknown_kind_and_yes_no_values(tmp_path: Path, good_df: pd.DataFrame) -> None:
    good_df.loc[0, "安置方式"] = "城市"
    good_df.loc[1, "卫生室"] = "在建"
    good_df.loc[2, "幼儿园"] = 2
    with pytest.raises(InputError, match="3 problems") as ei:
        read_sites(write_xlsx(good_df, tmp_path / "values.xlsx"))
    assert problems_of(ei) == [(2, "安置方式"), (3, "卫生室"), (4, "幼儿园")]
    text = str(ei.value)
    assert "unknown 安置方式" in text and "'城市'" in text and "城镇" in text
    assert "not a yes/no value (value: '在建')" in text and "有 or 无" in text
    assert "not a yes/no value (value: 2)" in text


def test_unknown_coordinate_systems(tmp_path: Path, good_df: pd.DataFrame) -> None:
    good_df["坐标系"] = ["高德", "北京54", "gcj02", "", "火星坐标"]
    path = write_xlsx(good_df, tmp_path / "cs.xlsx")
    with pytest.raises(InputError, match=r"row 3, column '坐标系': unknown coordinate system "
                                         r"\(value: '北京54'\)"):
        read_sites(path)
    with pytest.raises(InputError, match=r"coords='mars'.*unknown coordinate system"):
        read_sites(tmp_path / "cs.xlsx", coords="mars")


def test_coords_option_disagreeing_with_column(tmp_path: Path, good_df: pd.DataFrame) -> None:
    good_df["坐标系"] = ["高德", "百度", "", "", ""]
    path = write_xlsx(good_df, tmp_path / "disagree.xlsx")
    with pytest.raises(InputError, match=r"row 3, column '坐标系'.*says bd09 but coords='gcj02'"):
        read_sites(path, coords="gcj02")


def test_total_line_is_reported(tmp_path: Path, good_df: pd.DataFrame) -> None:
    total = {c: None for c in good_df.columns}
    total.update({"安置点名称": "合计", "人数": sum(POP), "户数": sum(HH)})
    df = pd.concat([good_df, pd.DataFrame([total])], ignore_index=True)
    with pytest.raises(InputError, match=r"row 7, column '安置点名称': this looks like a total "
                                         r"line") as ei:
        read_sites(write_xlsx(df, tmp_path / "total.xlsx"))
    assert len(ei.value.problems) == 1  # no extra "no coordinates" noise for the total line


def test_one_error_lists_three_bad_rows(tmp_path: Path, good_df: pd.DataFrame) -> None:
    good_df.loc[1, "人数"] = -5
    good_df.loc[3, "人数"] = "很多"
    good_df.loc[4, "经度"], good_df.loc[4, "纬度"] = good_df.loc[4, "纬度"], good_df.loc[4, "经度"]
    path = write_xlsx(good_df, tmp_path / "坏的安置点.xlsx")
    with pytest.raises(InputError, match="3 problems in the input") as ei:
        read_sites(path)
    assert [p.row for p in ei.value.problems] == [3, 5, 6]
    assert all(p.file == "坏的安置点.xlsx" for p in ei.value.problems)
    text = str(ei.value)
    assert "row 3" in text and "row 5" in text and "row 6" in text and "swap" in text


def test_ambiguous_columns(tmp_path: Path, good_df: pd.DataFrame) -> None:
    good_df["搬迁人口"] = POP
    with pytest.raises(InputError, match=r"columns '人数' and '搬迁人口' both look like the "
                                         r"'population' column"):
        read_sites(write_xlsx(good_df, tmp_path / "amb.xlsx"))


def test_unreadable_inputs(tmp_path: Path) -> None:
    with pytest.raises(DataSourceError, match="file not found"):
        read_sites(tmp_path / "missing.xlsx")
    (tmp_path / "sites.docx").write_text("x", encoding="utf-8")
    with pytest.raises(InputError, match=r"unsupported file type '\.docx'.*\.xlsx"):
        read_sites(tmp_path / "sites.docx")
    (tmp_path / "broken.xlsx").write_bytes(b"not a zip file")
    with pytest.raises(DataSourceError, match="cannot open as an Excel workbook"):
        read_sites(tmp_path / "broken.xlsx")
    (tmp_path / "ok.csv").write_text("name,population,lon,lat\n甲,1,99.2,25.1\n",
                                     encoding="utf-8")
    with pytest.raises(InputError, match="a csv file has no sheets"):
        read_sites(tmp_path / "ok.csv", sheet="x")
    (tmp_path / "header_only.csv").write_text("name,population,lon,lat\n\n", encoding="utf-8")
    with pytest.raises(InputError, match="holds no sites"):
        read_sites(tmp_path / "header_only.csv")


def test_csv_line_numbers_count_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "lines.csv"
    path.write_text("name,population,lon,lat\n甲,10,99.2,25.1\n\n乙,abc,99.3,25.2\n",
                    encoding="utf-8")
    with pytest.raises(InputError, match=r"lines\.csv, row 4, column 'population'") as ei:
        read_sites(path)
    assert problems_of(ei) == [(4, "population")]


# --------------------------------------------------------------------------- cell parsers


def test_cell_parsers() -> None:
    assert parse_number("1,234") == 1234.0
    assert parse_number(" ３５ ") == 35.0
    assert parse_number("") is None and parse_number(float("nan")) is None
    with pytest.raises(ValueError, match="12,5"):
        parse_number("12,5")  # not a thousands grouping: refuse rather than guess
    with pytest.raises(ValueError, match="True"):
        parse_number(True)
    assert parse_degrees("25°30'S") == pytest.approx(-25.5)
    with pytest.raises(ValueError, match="61"):
        parse_degrees("25°61'")
    assert parse_yes_no("有") is True and parse_yes_no("×") is False and parse_yes_no(None) is False
    with pytest.raises(ValueError, match="maybe"):
        parse_yes_no("maybe")
    assert fold("  Site_ID* ") == "siteid" and fold("县（市、区）") == "县(市、区)"


@settings(max_examples=25, deadline=None)
@given(st.integers(min_value=0, max_value=10**9))
def test_thousands_separators_round_trip(n: int) -> None:
    assert parse_number(f"{n:,}") == float(n)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    lon=st.floats(min_value=97.5, max_value=110.0),
    lat=st.floats(min_value=21.5, max_value=34.0),
    system=st.sampled_from(["gcj02", "bd09", "wgs84"]),
)
def test_any_point_in_the_southwest_round_trips_within_1m(
    tmp_path: Path, lon: float, lat: float, system: str
) -> None:
    x, y = {"gcj02": wgs84_to_gcj02, "bd09": wgs84_to_bd09,
            "wgs84": lambda a, b: (np.asarray(a), np.asarray(b))}[system](lon, lat)
    path = tmp_path / f"p_{system}.csv"
    pd.DataFrame({"安置点名称": ["甲"], "人数": [10], "经度": [float(x)], "纬度": [float(y)],
                  "坐标系": [system]}).to_csv(path, index=False)
    sites = read_sites(path)
    assert dist_m(sites, np.array([lon]), np.array([lat]))[0] < 1.0


def test_geojson_with_null_geometry_uses_coordinate_properties(tmp_path: Path) -> None:
    gdf = gpd.GeoDataFrame({"安置点名称": NAMES[:2], "人数": POP[:2], "经度": TRUTH_LON[:2],
                            "纬度": TRUTH_LAT[:2]}, geometry=[None, None], crs="EPSG:4326")
    path = tmp_path / "nogeom.geojson"
    gdf.to_file(path, driver="GeoJSON")
    sites = read_sites(path)
    assert dist_m(sites, TRUTH_LON[:2], TRUTH_LAT[:2]).max() < 1e-6


def test_template_lines_with_only_a_serial_number_are_skipped(tmp_path: Path) -> None:
    df = pd.DataFrame({"序号": [1, 2, 3, 4], "安置点名称": ["甲", "乙", None, None],
                       "人数": [10, 20, None, None], "经度": [99.2, 99.3, None, None],
                       "纬度": [25.1, 25.2, None, None]})
    sites = read_sites(write_xlsx(df, tmp_path / "template.xlsx"))
    assert list(sites["site_id"]) == ["1", "2"]
    # a real id column is not a serial number: a line with only an id is a broken site
    df = df.rename(columns={"序号": "编号"})
    with pytest.raises(InputError, match=r"row 4, column '人数': population is missing"):
        read_sites(write_xlsx(df, tmp_path / "ids.xlsx"))


# --------------------------------------------------------------------------- children 3-5


def test_optional_children_column(tmp_path: Path) -> None:
    df = chinese_table(TRUTH_LON, TRUTH_LAT)
    plain = read_sites(write_xlsx(df, tmp_path / "plain.xlsx"))
    assert "children_3_5" not in plain.columns  # absent column: contract unchanged
    df.insert(7, "3-5岁儿童数(人)", [50, 30, None, 120, 4])
    sites = read_sites(write_xlsx(df, tmp_path / "kids.xlsx"))
    assert list(sites.columns[:8]) == SITE_COLUMNS
    assert sites["children_3_5"].dtype == "float64"
    assert sites["children_3_5"].tolist()[:2] == [50.0, 30.0]
    assert np.isnan(sites["children_3_5"].iloc[2])  # blank = unknown (estimated later)
    assert not sites["has_kindergarten"].isna().any()  # the 幼儿园 yes/no column still read


def test_children_column_is_validated(tmp_path: Path) -> None:
    df = chinese_table(TRUTH_LON, TRUTH_LAT)
    df["children_3_5"] = [50, "很多", 500, -1, 4]
    with pytest.raises(InputError, match="children aged 3-5") as exc:
        read_sites(write_xlsx(df, tmp_path / "bad.xlsx"))
    text = str(exc.value)
    assert "row 3" in text and "'很多'" in text               # not a number
    assert "500 children aged 3-5 but only 430 people" in text  # more children than people
    assert "row 5" in text and "negative" in text
