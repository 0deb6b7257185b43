"""Tests of the synthetic demo county (layers.demo)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import openpyxl
import osmnx as ox
import pandas as pd
import pyproj
import pytest
import rasterio
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from anzhi.core.vocabulary import FACILITY_TYPES
from anzhi.core.errors import InputError
from anzhi.core.settings import override
from geo.coords import gcj02_to_wgs84
from layers.demo import DEMO_VERSION, DemoPaths, build_demo, default_demo_dir

SMALL = {"size_km": 8.0, "res_m": 60.0, "n_sites": 12}
HEADERS = ["编号", "安置点名称", "县", "乡镇", "村(社区)", "户数", "人数", "安置方式",
           "经度", "纬度", "坐标系", "卫生室"]
SHIDIAN_TOWNSHIPS = {"甸阳镇", "由旺镇", "仁和镇", "姚关镇", "太平镇",
                     "酒房乡", "水长乡", "木老元乡", "摆榔乡", "何元乡"}
GEOD = pyproj.Geod(ellps="WGS84")
TO_GK = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:4542", always_xy=True)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def horn_slope_deg(z: np.ndarray, res_m: float, nodata: float) -> np.ndarray:
    """Horn slope (degrees) of the interior pixels whose 3×3 window is all valid."""
    zf = np.where(z == nodata, np.nan, z.astype(np.float64))
    a, b, c = zf[:-2, :-2], zf[:-2, 1:-1], zf[:-2, 2:]
    d, f = zf[1:-1, :-2], zf[1:-1, 2:]
    g, h, i = zf[2:, :-2], zf[2:, 1:-1], zf[2:, 2:]
    dzdx = ((c + 2 * f + i) - (a + 2 * d + g)) / (8 * res_m)
    dzdy = ((g + 2 * h + i) - (a + 2 * b + c)) / (8 * res_m)
    slope = np.degrees(np.arctan(np.hypot(dzdx, dzdy)))
    return slope[np.isfinite(slope)]


def read_osm(path: Path) -> tuple[ET.Element, dict[str, tuple[float, float]], list[dict]]:
    root = ET.parse(path).getroot()
    nodes = {n.get("id"): (float(n.get("lon")), float(n.get("lat"))) for n in root.iter("node")}
    ways = []
    for w in root.iter("way"):
        ways.append({
            "id": w.get("id"),
            "nodes": [nd.get("ref") for nd in w.iter("nd")],
            "tags": {t.get("k"): t.get("v") for t in w.iter("tag")},
        })
    return root, nodes, ways


# ---------------------------------------------------------------------------------------------
# fixtures
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoPaths:
    """The default-size demo county (40 km, 30 m, 60 sites), built once."""
    out = tmp_path_factory.mktemp("demo") / "default"
    t0 = time.perf_counter()
    paths = build_demo(out)
    print(f"\ndefault demo county built in {time.perf_counter() - t0:.1f} s")  # not asserted
    return paths


@pytest.fixture(scope="module")
def manifest(demo: DemoPaths) -> dict:
    return json.loads(demo.manifest.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def sites(demo: DemoPaths) -> pd.DataFrame:
    df = pd.read_excel(demo.sites, sheet_name="安置点", dtype={"编号": str})
    truth = pd.read_csv(demo.sites_truth, dtype={"site_id": str})
    return df.merge(truth, left_on="编号", right_on="site_id", validate="one_to_one")


@pytest.fixture(scope="module")
def road_lines(demo: DemoPaths) -> tuple[list[shapely.LineString], list[dict], int]:
    """Highway lines in EPSG:4542 metres, their ways, and the index of the largest component."""
    _, nodes, ways = read_osm(demo.roads)
    hw = [w for w in ways if "highway" in w["tags"] and w["tags"].get("area") != "yes"]
    lines = []
    for w in hw:
        lon, lat = np.array([nodes[n] for n in w["nodes"]]).T
        x, y = TO_GK.transform(lon, lat)
        lines.append(shapely.LineString(np.column_stack([x, y])))
    g = nx.Graph()
    for k, w in enumerate(hw):
        g.add_node(("way", k))
        for n in w["nodes"]:
            g.add_edge(("way", k), ("node", n))
    comp = {}
    for ci, c in enumerate(sorted(nx.connected_components(g), key=len, reverse=True)):
        for item in c:
            if item[0] == "way":
                comp[item[1]] = ci
    for k, w in enumerate(hw):
        w["component"] = comp[k]
    return lines, hw, 0


# ---------------------------------------------------------------------------------------------
# API, folder handling, determinism
# ---------------------------------------------------------------------------------------------


def test_demo_paths_is_frozen_with_the_files(demo: DemoPaths) -> None:
    assert dataclasses.is_dataclass(demo)
    with pytest.raises(dataclasses.FrozenInstanceError, match="cannot assign"):
        demo.dem = Path("x")  # type: ignore[misc]
    for name in ("root", "dem", "roads", "sites", "facilities", "townships", "parcels",
                 "manifest"):
        assert isinstance(getattr(demo, name), Path)
    assert demo.county == "施甸县"
    for p in (demo.dem, demo.roads, demo.sites, demo.facilities, demo.townships, demo.parcels,
              demo.manifest, demo.sites_truth, demo.readme):
        assert p.is_file() and p.parent == demo.root


def test_same_seed_gives_byte_identical_files_and_another_seed_differs(tmp_path: Path) -> None:
    a = build_demo(tmp_path / "a", seed=7, **SMALL)
    b = build_demo(tmp_path / "b", seed=7, **SMALL)
    names = sorted(p.name for p in a.root.iterdir())
    assert names == sorted(p.name for p in b.root.iterdir())
    assert len(names) == 9
    for name in names:
        assert sha256(a.root / name) == sha256(b.root / name), name
    c = build_demo(tmp_path / "c", seed=8, **SMALL)
    assert sha256(c.dem) != sha256(a.dem)
    with rasterio.open(a.dem) as ra, rasterio.open(c.dem) as rc:
        assert np.abs(ra.read(1) - rc.read(1)).max() > 50.0


def test_complete_folder_is_reused_and_force_rebuilds(tmp_path: Path) -> None:
    p = build_demo(tmp_path / "d", seed=3, **SMALL)
    before = {f.name: f.stat().st_mtime_ns for f in p.root.iterdir()}
    again = build_demo(tmp_path / "d", seed=3, **SMALL)
    assert again == p
    assert {f.name: f.stat().st_mtime_ns for f in p.root.iterdir()} == before
    digest = sha256(p.dem)
    p.readme.unlink()  # incomplete now: rebuilt without force
    build_demo(tmp_path / "d", seed=3, **SMALL)
    assert p.readme.is_file()
    forced = build_demo(tmp_path / "d", seed=3, force=True, **SMALL)
    assert sha256(forced.dem) == digest
    # never a temporary folder left beside it
    assert sorted(x.name for x in tmp_path.iterdir()) == ["d"]


def test_default_folder_comes_from_settings(tmp_path: Path) -> None:
    with override(cache_dir=tmp_path, demo_seed=11):
        p = build_demo(**SMALL)
        expected = tmp_path / "demo" / f"v{DEMO_VERSION}-s11-8km-60m-12"
        assert p.root == expected == default_demo_dir(**SMALL)
    assert json.loads(p.manifest.read_text(encoding="utf-8"))["seed"] == 11


def test_refuses_a_foreign_non_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me", encoding="utf-8")
    with pytest.raises(InputError, match="not empty and holds no demo county"):
        build_demo(tmp_path / "mine", **SMALL)
    assert (tmp_path / "mine" / "notes.txt").read_text(encoding="utf-8") == "keep me"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"size_km": -1.0}, "size_km must be a positive number"),
        ({"res_m": 0.0}, "res_m must be a positive number"),
        ({"size_km": 4.0, "res_m": 90.0}, "only 44 pixels wide"),
        ({"n_sites": 0}, "n_sites must be a positive integer"),
        ({"seed": -5}, "seed must be a non-negative integer"),
    ],
)
def test_bad_parameters_are_refused(tmp_path: Path, kwargs: dict, match: str) -> None:
    with pytest.raises(InputError, match=match):
        build_demo(tmp_path / "x", **kwargs)
    assert not (tmp_path / "x").exists()


@settings(max_examples=25, deadline=None)
@given(n=st.integers(max_value=0), size=st.floats(max_value=0.0, allow_nan=False))
def test_every_bad_parameter_is_listed_once(n: int, size: float) -> None:
    with pytest.raises(InputError, match="2 problems") as err:
        build_demo("/nonexistent/never-written", n_sites=n, size_km=size)
    text = str(err.value)
    assert "n_sites" in text and "size_km" in text


# ---------------------------------------------------------------------------------------------
# DEM
# ---------------------------------------------------------------------------------------------


def test_dem_format(demo: DemoPaths) -> None:
    with rasterio.open(demo.dem) as src:
        assert src.crs.to_epsg() == 4542
        assert src.res == (30.0, 30.0)
        assert src.nodata == -9999.0
        assert src.dtypes == ("float32",)
        assert 39_000 < src.width * 30 <= 41_000 and src.width == src.height
        assert src.profile["tiled"] and src.profile["compress"] == "deflate"
        assert src.tags()["SYNTHETIC"] == "true"
        assert "SYNTHETIC" in src.tags()["TIFFTAG_IMAGEDESCRIPTION"]
        assert "TIFFTAG_DATETIME" not in src.tags()
        # centred near Shidian
        lon, lat = pyproj.Transformer.from_crs(src.crs, "EPSG:4326", always_xy=True).transform(
            *src.xy(src.height // 2, src.width // 2))
        assert abs(lon - 99.2) < 0.01 and abs(lat - 24.7) < 0.01


def test_dem_relief_is_steep_mountain_country_with_a_corner_void(demo: DemoPaths) -> None:
    with rasterio.open(demo.dem) as src:
        z = src.read(1)
        res = src.res[0]
    void = z == -9999.0
    assert 5 <= void.sum() <= 50
    rows, cols = np.nonzero(void)
    assert rows.max() < 20 and cols.min() > z.shape[1] - 20  # north-east corner
    valid = z[~void]
    assert 650 < valid.min() < 900 and 2500 < valid.max() < 3100
    slope = horn_slope_deg(z, res, -9999.0)
    share = float((slope > 25.0).mean())
    print(f"share of pixels steeper than 25°: {share:.3f}")
    assert 0.20 <= share <= 0.60
    assert (slope < 6.0).mean() > 0.05  # valley floors and basins exist


# ---------------------------------------------------------------------------------------------
# roads
# ---------------------------------------------------------------------------------------------


def test_osm_xml_is_a_plausible_extract(demo: DemoPaths) -> None:
    text = demo.roads.read_text(encoding="utf-8")
    assert "SYNTHETIC" in text.split("<osm", 1)[0]
    root, nodes, ways = read_osm(demo.roads)
    assert root.get("version") == "0.6" and "synthetic" in root.get("generator")
    b = root.find("bounds")
    assert b is not None and float(b.get("minlon")) < 99.2 < float(b.get("maxlon"))
    first = root.find("node")
    assert len(first.get("lat").split(".")[1]) >= 7 and len(first.get("lon").split(".")[1]) >= 7
    tags = [w["tags"] for w in ways]
    classes = Counter(t["highway"] for t in tags if "highway" in t)
    for hw in ("trunk", "secondary", "unclassified", "residential", "track", "path"):
        assert classes[hw] >= 1, hw
    assert any(t.get("building") == "yes" for t in tags)
    assert any(t.get("landuse") == "farmland" for t in tags)
    assert any(t.get("highway") == "pedestrian" and t.get("area") == "yes" for t in tags)
    names = [t["name"] for t in tags if t.get("highway") in ("trunk", "secondary", "unclassified")]
    assert names and all(any("\u4e00" <= ch <= "\u9fff" for ch in n) for n in names)
    # every way references existing nodes, at most ~100 m apart on roads
    for w in ways:
        assert all(n in nodes for n in w["nodes"])
    lon, lat = np.array([nodes[n] for n in ways[0]["nodes"]]).T
    _, _, seg = GEOD.inv(lon[:-1], lat[:-1], lon[1:], lat[1:])
    assert seg.max() < 160.0


def test_osmnx_reads_the_roads(demo: DemoPaths) -> None:
    G = ox.graph_from_xml(demo.roads, simplify=True, retain_all=True)
    hw: set[str] = set()
    for _, _, data in G.edges(data=True):
        h = data.get("highway")
        hw.update(h if isinstance(h, list) else [h] if h else [])
    assert {"trunk", "secondary", "unclassified", "residential", "track"} <= hw
    sizes = sorted((len(c) for c in nx.weakly_connected_components(G)), reverse=True)
    assert len(sizes) >= 2  # the isolated track
    assert sizes[0] >= 0.9 * len(G)  # mostly connected


def test_sites_lie_near_roads_except_the_deliberate_ones(
    demo: DemoPaths, sites: pd.DataFrame, manifest: dict, road_lines: tuple
) -> None:
    lines, ways, main = road_lines
    x, y = TO_GK.transform(sites["lon"].to_numpy(), sites["lat"].to_numpy())
    tree = shapely.STRtree(lines)
    idx, dist = tree.query_nearest(shapely.points(x, y), return_distance=True, all_matches=False)
    nearest_way = idx[1]
    far = set(manifest["notes"]["far_from_road_site_ids"])
    iso = set(manifest["notes"]["isolated_track_site_ids"])
    assert 1 <= len(far) <= 2 and len(iso) == 1
    is_far = sites["编号"].isin(far).to_numpy()
    is_iso = sites["编号"].isin(iso).to_numpy()
    regular = ~(is_far | is_iso)
    assert dist[regular].min() >= 49.0 and dist[regular].max() <= 801.0
    assert (dist[is_far] > 2500.0).all()
    # the isolated site's nearest road is a track connected to nothing else
    k = int(nearest_way[is_iso][0])
    assert dist[is_iso][0] < 400.0
    assert ways[k]["tags"]["highway"] == "track"
    assert ways[k]["component"] != main
    assert sum(w["component"] == ways[k]["component"] for w in ways) == 1


# ---------------------------------------------------------------------------------------------
# sites
# ---------------------------------------------------------------------------------------------


def test_sites_xlsx_has_chinese_headers_and_a_synthetic_note(demo: DemoPaths) -> None:
    wb = openpyxl.load_workbook(demo.sites, read_only=True)
    assert wb.sheetnames == ["安置点", "说明"]
    header = [c.value for c in next(wb["安置点"].iter_rows(max_row=1))]
    assert header == HEADERS
    note = " ".join(str(c.value) for row in wb["说明"].iter_rows() for c in row if c.value)
    assert "合成" in note and "SYNTHETIC" in note
    assert "synthetic" in (wb.properties.description or "").lower()
    assert wb.properties.created.year == 2021
    wb.close()


def test_site_coordinates_are_gcj02_shifted_from_the_truth(sites: pd.DataFrame) -> None:
    assert set(sites["坐标系"]) == {"GCJ-02"}
    _, _, shift = GEOD.inv(sites["经度"].to_numpy(), sites["纬度"].to_numpy(),
                           sites["lon"].to_numpy(), sites["lat"].to_numpy())
    assert shift.min() > 300.0 and shift.max() < 600.0
    lon, lat = gcj02_to_wgs84(sites["经度"].to_numpy(), sites["纬度"].to_numpy())
    _, _, err = GEOD.inv(lon, lat, sites["lon"].to_numpy(), sites["lat"].to_numpy())
    assert err.max() < 1.0


def test_site_sizes_echo_baoshan_2021(sites: pd.DataFrame) -> None:
    pop = sites["人数"].to_numpy()
    hh = sites["户数"].to_numpy()
    assert len(sites) == 60 and sites["编号"].is_unique
    assert (pop < 1000).mean() >= 0.8
    assert ((pop >= 100) & (pop <= 800)).mean() >= 0.6
    assert (pop > 10000).sum() == 1
    assert 2 <= ((pop >= 1000) & (pop <= 10000)).sum() <= 10
    assert ((pop >= 800) & (pop <= 900)).sum() >= 2
    assert ((pop >= 3000) & (pop <= 3500)).sum() >= 1
    assert (hh <= pop).all() and (hh >= 1).all()
    ratio = pop / hh
    assert 3.5 < ratio.min() and ratio.max() < 5.0 and abs(np.median(ratio) - 4.2) < 0.3
    big = sites.loc[sites["人数"].idxmax()]
    assert big["安置方式"] == "城镇" and big["乡镇"] == "甸阳镇"
    assert set(sites["安置方式"]) == {"城镇", "农村"}
    assert set(sites["卫生室"]) == {"有", "无"}
    assert set(sites["县"]) == {"施甸县"}
    assert set(sites["乡镇"]) <= SHIDIAN_TOWNSHIPS and 6 <= sites["乡镇"].nunique() <= 8
    assert sites["安置点名称"].str.endswith("安置点").all()
    assert sites["安置点名称"].is_unique


def test_sites_lie_in_their_township_polygon(demo: DemoPaths, sites: pd.DataFrame) -> None:
    town = gpd.read_file(demo.townships, layer="townships")
    assert town.crs.to_epsg() == 4326
    assert list(town.columns) == ["township", "county", "geometry"]
    assert town["township"].is_unique and set(town["county"]) == {"施甸县"}
    pts = gpd.GeoDataFrame(sites, geometry=gpd.points_from_xy(sites["lon"], sites["lat"]),
                           crs=4326)
    joined = gpd.sjoin(pts, town, predicate="within", how="left")
    assert (joined["township"] == joined["乡镇"]).all()
    # the polygons tile the area without overlaps
    area = town.to_crs(4542).area
    union = town.to_crs(4542).union_all().area
    assert abs(area.sum() - union) < 1e-6 * union
    assert 1.5e9 < union < 1.7e9


# ---------------------------------------------------------------------------------------------
# facilities and parcels
# ---------------------------------------------------------------------------------------------


def test_facilities_cover_every_type_with_deliberate_gaps(
    demo: DemoPaths, sites: pd.DataFrame
) -> None:
    fac = gpd.read_file(demo.facilities, layer="facilities")
    assert fac.crs.to_epsg() == 4326
    assert list(fac.columns) == ["facility_id", "name", "facility_type", "capacity", "geometry"]
    assert fac["facility_id"].is_unique
    assert set(fac["facility_type"]) == set(FACILITY_TYPES)
    assert fac["capacity"].dtype == np.float64
    assert fac.loc[fac["facility_type"] == "clinic", "capacity"].isna().all()
    for ftype in ("kindergarten", "police_room", "police_station", "elderly_care"):
        cap = fac.loc[fac["facility_type"] == ftype, "capacity"]
        assert cap.notna().any() and (cap.dropna() > 0).all(), ftype
    assert (fac.loc[fac["facility_type"] == "kindergarten", "capacity"] <= 360).all()
    # site clinics come from the 卫生室 column only
    assert not fac.loc[fac["facility_type"] == "clinic", "name"].str.contains("安置点").any()
    # several sites of 800+ people have no police room within 300 m
    fx, fy = TO_GK.transform(fac.geometry.x.to_numpy(), fac.geometry.y.to_numpy())
    sx, sy = TO_GK.transform(sites["lon"].to_numpy(), sites["lat"].to_numpy())
    police = (fac["facility_type"] == "police_room").to_numpy()
    d = np.hypot(sx[:, None] - fx[None, police], sy[:, None] - fy[None, police]).min(axis=1)
    big = sites["人数"].to_numpy() >= 800
    assert (big & (d > 300.0)).sum() >= 2
    assert (big & (d <= 300.0)).sum() >= 2
    # and some sites without a clinic are far from every other clinic
    clinic = (fac["facility_type"] == "clinic").to_numpy()
    has = sites["卫生室"].to_numpy() == "有"
    cx = np.concatenate([fx[clinic], sx[has]])
    cy = np.concatenate([fy[clinic], sy[has]])
    dn = np.hypot(sx[~has, None] - cx[None, :], sy[~has, None] - cy[None, :]).min(axis=1)
    assert (dn > 2000.0).sum() >= 2


def test_parcels_are_small_upland_polygons(demo: DemoPaths) -> None:
    par = gpd.read_file(demo.parcels, layer="parcels")
    assert par.crs.to_epsg() == 4326
    assert list(par.columns) == ["parcel_id", "village", "household_id", "land_use",
                                 "ledger_status", "reclaimed_m2", "quota_m2", "geometry"]
    # the ledger (迁出地台账) is kept for house plots only
    house = par["land_use"] == "宅基地"
    assert par.loc[house, "ledger_status"].notna().all() and par.loc[~house, "ledger_status"].isna().all()
    assert 200 <= len(par) <= 600 and par["parcel_id"].is_unique
    assert set(par["land_use"]) == {"耕地", "林地", "宅基地"}
    assert par.is_valid.all() and (par.geom_type == "Polygon").all()
    area_ha = par.to_crs(4542).area / 1e4
    assert area_ha.min() > 0.19 and area_ha.max() < 5.1
    metric = par.to_crs(4542)
    assert metric.sjoin(metric, predicate="overlaps").empty
    # on slopes in the uplands: mostly above the valley floors
    with rasterio.open(demo.dem) as src:
        z = np.array([v[0] for v in src.sample(zip(metric.centroid.x, metric.centroid.y))])
        zmin = src.read(1, masked=True).min()
    assert np.median(z) > zmin + 400.0


def test_manifest_lists_every_file_with_its_hash(demo: DemoPaths, manifest: dict) -> None:
    assert manifest["synthetic"] is True
    assert manifest["version"] == DEMO_VERSION
    assert manifest["params"] == {"size_km": 40.0, "res_m": 30.0, "n_sites": 60}
    files = manifest["files"]
    assert set(files) == {p.name for p in demo.root.iterdir()} - {"manifest.json"}
    for name, info in files.items():
        assert sha256(demo.root / name) == info["sha256"], name
    readme = demo.readme.read_text(encoding="utf-8")
    assert "SYNTHETIC" in readme and "合成" in readme and "void" in readme.lower()


def test_geopackages_are_labelled_synthetic(demo: DemoPaths) -> None:
    import pyogrio

    for path, layer in ((demo.facilities, "facilities"), (demo.townships, "townships"),
                        (demo.parcels, "parcels")):
        info = pyogrio.read_info(path, layer=layer)
        assert info["layer_metadata"]["synthetic"] == "true"
        assert "SYNTHETIC" in info["layer_metadata"]["DESCRIPTION"]
    # reading leaves no sidecar files behind
    assert not list(demo.root.glob("*.aux.xml"))
