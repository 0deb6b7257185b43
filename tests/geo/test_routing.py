"""Routing: snapping, nearest facility by one Dijkstra, the access table — against networkx."""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import numpy as np
import osmnx as ox
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from anzhi.errors import InputError
from anzhi.settings import override
from geo.roads import Profile, RoadGraph, load_profile
from geo.routing import ACCESS_COLUMNS, access_table, nearest_facility, snap_points

LON0, LAT0, STEP = 99.2, 24.7, 0.002  # ~200 m grid near Shidian, Yunnan
CLASSES = ["primary", "secondary", "tertiary", "residential", "track", "service"]
PROFILES = {"walk": load_profile("walk"), "drive": load_profile("drive")}


def gc(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    return float(ox.distance.great_circle(lat1, lon1, lat2, lon2))


def perturbed_grid(seed: int, n: int = 7, *, oneway_share: float = 0.2) -> nx.MultiDiGraph:
    """An osmnx-style graph: jittered n × n grid, random classes, some oneways and gaps.

    Edge lengths are the great-circle chord times 1–1.3 (roads wind), as in a real graph.
    """
    rng = np.random.default_rng(seed)
    G = nx.MultiDiGraph(crs="epsg:4326")
    for r in range(n):
        for c in range(n):
            G.add_node(
                1000 + r * n + c,
                x=LON0 + c * STEP + rng.uniform(-0.3, 0.3) * STEP,
                y=LAT0 + r * STEP + rng.uniform(-0.3, 0.3) * STEP,
            )
    for r in range(n):
        for c in range(n):
            u = 1000 + r * n + c
            for v in ([u + 1] if c < n - 1 else []) + ([u + n] if r < n - 1 else []):
                if rng.random() < 0.1:
                    continue  # a missing street
                a, b = (u, v) if rng.random() < 0.5 else (v, u)
                chord = gc(G.nodes[a]["x"], G.nodes[a]["y"], G.nodes[b]["x"], G.nodes[b]["y"])
                attrs = {"length": chord * rng.uniform(1.0, 1.3), "highway": str(rng.choice(CLASSES))}
                G.add_edge(a, b, **attrs, oneway=True)
                if rng.random() >= oneway_share:
                    G.add_edge(b, a, **attrs, oneway=False)
                if rng.random() < 0.1:  # a parallel, longer street
                    G.add_edge(a, b, length=attrs["length"] * 1.5, highway="track")
    return G


def reference_graph(G: nx.MultiDiGraph, profile: Profile) -> nx.MultiDiGraph:
    """The graph networkx should route on: usable edges, symmetrised when oneway is ignored."""
    H = nx.MultiDiGraph()
    H.add_nodes_from(G.nodes(data=True))
    for u, v, d in G.edges(data=True):
        speed = profile.speed_kph(d["highway"])
        if speed is None:
            continue
        attrs = {"length": d["length"], "time": d["length"] / (speed * 1000 / 60)}
        H.add_edge(u, v, **attrs)
        if not profile.respect_oneway:
            H.add_edge(v, u, **attrs)
    return H


def points(lon: list[float] | np.ndarray, lat: list[float] | np.ndarray, **cols: object) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(cols, geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")


def sites_at(G: nx.MultiDiGraph, nodes: list[int], *, dlat: float = 0.0) -> gpd.GeoDataFrame:
    return points([G.nodes[k]["x"] for k in nodes], [G.nodes[k]["y"] + dlat for k in nodes],
                  site_id=[f"S{k}" for k in nodes])


def facilities_at(G: nx.MultiDiGraph, nodes: list[int], types: list[str], *, dlat: float = 0.0) -> gpd.GeoDataFrame:
    return points([G.nodes[k]["x"] for k in nodes], [G.nodes[k]["y"] + dlat for k in nodes],
                  facility_id=[f"F{k}-{t}" for k, t in zip(nodes, types, strict=True)],
                  facility_type=types)


def table(G: nx.MultiDiGraph, sites: gpd.GeoDataFrame, facs: gpd.GeoDataFrame, profile: str = "drive",
          **kw: object) -> pd.DataFrame:
    prof = PROFILES[profile]
    rg = RoadGraph.from_networkx(G, profile=prof)
    return access_table(rg, sites, facs, profile=prof, progress=False, **kw)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- exactness


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("profile", ["walk", "drive"])
def test_distances_equal_networkx(seed: int, profile: str) -> None:
    G = perturbed_grid(seed)
    rng = np.random.default_rng(100 + seed)
    nodes = sorted(G.nodes)
    site_nodes = [int(k) for k in rng.choice(nodes, 25, replace=False)]
    fac_nodes = [int(k) for k in rng.choice(nodes, 9, replace=False)]
    types = ["clinic", "kindergarten", "police_room"] * 3
    out = table(G, sites_at(G, site_nodes), facilities_at(G, fac_nodes, types), profile)
    assert len(out) == 25 * 3
    H = reference_graph(G, PROFILES[profile])
    R = H.reverse(copy=True)
    for ftype in ["clinic", "kindergarten", "police_room"]:
        srcs = [k for k, t in zip(fac_nodes, types, strict=True) if t == ftype]
        ref_len = nx.multi_source_dijkstra_path_length(R, srcs, weight="length")
        ref_time = nx.multi_source_dijkstra_path_length(R, srcs, weight="time")
        rows = out[out["facility_type"] == ftype].set_index("site_id")
        for k in site_nodes:
            row = rows.loc[f"S{k}"]
            assert row["snap_dist_m"] == pytest.approx(0.0, abs=1e-9)
            if k in ref_len:
                assert row["reason"] == ""
                assert row["dist_m"] == pytest.approx(ref_len[k], abs=1e-6)
                assert row["time_min"] == pytest.approx(ref_time[k], abs=1e-9)
                # the named facility is one at that distance
                fac_node = int(row["nearest_facility_id"][1:].split("-")[0])
                d_named = nx.shortest_path_length(H, k, fac_node, weight="length")
                assert d_named == pytest.approx(row["dist_m"], abs=1e-6)
            else:
                assert row["reason"] == "isolated_network"
                assert np.isnan(row["dist_m"]) and np.isnan(row["time_min"])
                assert row["nearest_facility_id"] == ""


def test_offroad_legs_are_added_at_both_ends() -> None:
    G = perturbed_grid(7, oneway_share=0.0)
    s_node, f_node = 1000, 1000 + 7 * 7 - 1  # opposite corners
    d_site, d_fac = 0.0002, -0.0003  # ~22 m north of the site's node, ~33 m south of the facility's
    sites = sites_at(G, [s_node], dlat=d_site)
    facs = facilities_at(G, [f_node], ["clinic"], dlat=d_fac)
    out = table(G, sites, facs, "walk").iloc[0]
    H = reference_graph(G, PROFILES["walk"])
    road_m = nx.shortest_path_length(H, s_node, f_node, weight="length")
    road_min = nx.shortest_path_length(H, s_node, f_node, weight="time")
    leg_s = gc(G.nodes[s_node]["x"], G.nodes[s_node]["y"], G.nodes[s_node]["x"], G.nodes[s_node]["y"] + d_site)
    leg_f = gc(G.nodes[f_node]["x"], G.nodes[f_node]["y"], G.nodes[f_node]["x"], G.nodes[f_node]["y"] + d_fac)
    assert leg_s == pytest.approx(22.2, abs=0.5) and leg_f == pytest.approx(33.4, abs=0.5)
    assert out["snap_dist_m"] == pytest.approx(leg_s, abs=1e-6)
    assert out["dist_m"] == pytest.approx(road_m + leg_s + leg_f, abs=1e-6)
    walk_m_per_min = 4500 / 60
    assert out["time_min"] == pytest.approx(road_min + (leg_s + leg_f) / walk_m_per_min, abs=1e-9)


def test_facility_offroad_leg_decides_the_winner() -> None:
    # line 1 —300 m— 2 —100 m— 3; site at 2; F1 on node 1 (leg 0), F3 at node 3 but 500 m off-road
    G = nx.MultiDiGraph(crs="epsg:4326")
    for i, k in enumerate([1, 2, 3]):
        G.add_node(k, x=LON0 + i * STEP, y=LAT0)
    for u, v, d in [(1, 2, 300.0), (2, 3, 100.0)]:
        G.add_edge(u, v, length=d, highway="residential")
    rg = RoadGraph.from_networkx(G, profile=PROFILES["walk"])
    ids, cost = nearest_facility(rg, [1], [0.0], [0, 2], [0.0, 500.0], ["F1", "F3"], weight="length")
    assert ids.tolist() == ["F1"] and cost.tolist() == [300.0]
    ids, cost = nearest_facility(rg, [1], [10.0], [0, 2], [250.0, 150.0], ["F1", "F3"], weight="length")
    assert ids.tolist() == ["F3"] and cost.tolist() == [260.0]
    ids, cost = nearest_facility(rg, [1, -1], [0.0, 0.0], [2], [60.0], ["F3"], weight="time")
    assert ids.tolist() == ["F3", ""]
    assert cost[0] == pytest.approx(100.0 / 75.0 + 60.0 / 75.0) and np.isinf(cost[1])


# --------------------------------------------------------------------------- oneway


def oneway_pair() -> nx.MultiDiGraph:
    G = nx.MultiDiGraph(crs="epsg:4326")
    G.add_node(1, x=LON0, y=LAT0)
    G.add_node(2, x=LON0 + STEP, y=LAT0)
    G.add_edge(1, 2, length=250.0, highway="residential", oneway=True)  # 1 → 2 only
    return G


def test_oneway_respected_when_driving_ignored_when_walking() -> None:
    G = oneway_pair()
    facs = facilities_at(G, [1], ["clinic"])
    against = sites_at(G, [2])  # its only way to the clinic runs against the oneway street
    drive = table(G, against, facs, "drive").iloc[0]
    walk = table(G, against, facs, "walk").iloc[0]
    assert drive["reason"] == "isolated_network" and np.isnan(drive["dist_m"])
    assert walk["reason"] == "" and walk["dist_m"] == pytest.approx(250.0)
    assert walk["time_min"] == pytest.approx(250.0 / 75.0)
    along = table(G, sites_at(G, [1]), facilities_at(G, [2], ["clinic"]), "drive").iloc[0]
    assert along["reason"] == "" and along["dist_m"] == pytest.approx(250.0)
    assert along["time_min"] == pytest.approx(250.0 / (20_000 / 60))  # residential at 20 km/h


# --------------------------------------------------------------------------- reasons


def test_reasons_and_no_site_dropped() -> None:
    G = perturbed_grid(4, oneway_share=0.0)
    G.add_node(1, x=LON0 + 0.05, y=LAT0)  # a separate road, ~5 km east
    G.add_node(2, x=LON0 + 0.052, y=LAT0)
    G.add_edge(1, 2, length=250.0, highway="track")
    G.add_edge(2, 1, length=250.0, highway="track")
    sites = points(
        [G.nodes[1000]["x"], LON0 - 0.1, G.nodes[1]["x"], G.nodes[1024]["x"]],
        [G.nodes[1000]["y"], LAT0, G.nodes[1]["y"], G.nodes[1024]["y"]],
        site_id=["grid", "far", "island", "grid2"],
    )
    facs = points(
        [G.nodes[1030]["x"], LON0 + 0.3],
        [G.nodes[1030]["y"], LAT0],
        facility_id=["C1", "K1"],
        facility_type=["clinic", "kindergarten"],  # the kindergarten is 30 km from any road
    )
    out = table(G, sites, facs, "walk", facility_types=["clinic", "kindergarten", "police_room"])
    assert list(out.columns) == list(ACCESS_COLUMNS)
    assert len(out) == 4 * 3
    assert out.groupby(["site_id", "facility_type"]).size().eq(1).all()
    got = {(r.site_id, r.facility_type): r.reason for r in out.itertuples()}
    assert got == {
        ("grid", "clinic"): "", ("grid", "kindergarten"): "no_facility", ("grid", "police_room"): "no_facility",
        ("far", "clinic"): "no_road_nearby", ("far", "kindergarten"): "no_road_nearby",
        ("far", "police_room"): "no_facility",
        ("island", "clinic"): "isolated_network", ("island", "kindergarten"): "no_facility",
        ("island", "police_room"): "no_facility",
        ("grid2", "clinic"): "", ("grid2", "kindergarten"): "no_facility", ("grid2", "police_room"): "no_facility",
    }
    unrouted = out[out["reason"] != ""]
    assert unrouted["dist_m"].isna().all() and unrouted["time_min"].isna().all()
    assert (unrouted["nearest_facility_id"] == "").all()
    routed = out[out["reason"] == ""]
    assert (routed["nearest_facility_id"] == "C1").all() and (routed["dist_m"] > 0).all()
    far = out[out["site_id"] == "far"]["snap_dist_m"]
    assert (far > 9000).all()  # the far site's straight-line distance to the road is reported
    assert out["site_id"].tolist()[:3] == ["grid"] * 3  # site order, then type order
    assert str(out["site_id"].dtype) == "str" and str(out["reason"].dtype) == "str"


def test_default_types_are_those_present_in_vocabulary_order() -> None:
    G = perturbed_grid(5)
    facs = facilities_at(G, [1001, 1002, 1003], ["police_room", "clinic", "police_room"])
    out = table(G, sites_at(G, [1010, 1020]), facs)
    assert out["facility_type"].tolist() == ["clinic", "police_room"] * 2


def test_facility_at_the_site_is_at_distance_zero() -> None:
    G = perturbed_grid(6)
    node = G.nodes[1027]  # on the east edge of the grid
    # a site 500 m off the road and one 5 km off the road, each with its own clinic on the spot,
    # plus a clinic on the road network far away
    lon = [node["x"] + 0.005, node["x"] + 0.05]
    lat = [node["y"], node["y"]]
    sites = points(lon, lat, site_id=["near", "remote"])
    facs = points(lon + [G.nodes[1000]["x"]], lat + [G.nodes[1000]["y"]],
                  facility_id=["C-near", "C-remote", "C-grid"], facility_type=["clinic"] * 3)
    out = table(G, sites, facs, "walk").set_index("site_id")
    for site in ["near", "remote"]:
        assert out.loc[site, "reason"] == ""
        assert out.loc[site, "nearest_facility_id"] == f"C-{site}"
        assert out.loc[site, "dist_m"] == pytest.approx(0.0, abs=1e-6)
        assert out.loc[site, "time_min"] == pytest.approx(0.0, abs=1e-6)
    assert out.loc["near", "snap_dist_m"] > 300 and out.loc["remote", "snap_dist_m"] > 4000


def test_no_crosscountry_shortcut_beyond_the_road() -> None:
    # a facility 1 km away in a straight line, but the site's road is 20 m away: go by road
    G = perturbed_grid(8, oneway_share=0.0)
    a, b = G.nodes[1000], G.nodes[1006]
    sites = points([a["x"]], [a["y"] + 0.0002], site_id=["S"])
    facs = points([b["x"]], [b["y"]], facility_id=["F"], facility_type=["clinic"])
    out = table(G, sites, facs, "walk").iloc[0]
    straight = gc(a["x"], a["y"] + 0.0002, b["x"], b["y"])
    assert out["dist_m"] > straight + 10


# --------------------------------------------------------------------------- snapping


def test_snap_points_limit_and_settings() -> None:
    G = perturbed_grid(9)
    rg = RoadGraph.from_networkx(G, profile=PROFILES["walk"])
    n = G.nodes[1000]
    lon, lat = np.array([n["x"], n["x"]]), np.array([n["y"] + 0.0001, n["y"] + 0.05])
    res = snap_points(rg, lon, lat)
    assert res.node[0] == int(np.flatnonzero(rg.node_ids == 1000)[0])
    assert res.node[1] == -1 and res.reason.tolist() == ["", "no_road_nearby"]
    assert res.snap_dist_m[0] == pytest.approx(gc(n["x"], n["y"], n["x"], n["y"] + 0.0001), abs=1e-9)
    assert snap_points(rg, lon, lat, max_snap_dist_m=5.0).reason.tolist() == ["no_road_nearby"] * 2
    with override(max_snap_dist_m=10_000.0):
        assert snap_points(rg, lon, lat).reason.tolist() == ["", ""]
    with pytest.raises(InputError, match="1 point.*no finite longitude/latitude"):
        snap_points(rg, [n["x"], np.nan], [n["y"], n["y"]])


# --------------------------------------------------------------------------- input checks


def test_crs_must_be_wgs84_and_both_are_named() -> None:
    G = perturbed_grid(10)
    sites = sites_at(G, [1000]).to_crs("EPSG:32647")
    facs = facilities_at(G, [1001], ["clinic"])
    with pytest.raises(InputError, match=r"sites in EPSG:32647 and facilities in EPSG:4326"):
        table(G, sites, facs)


def test_missing_columns_and_bad_geometry_are_all_reported() -> None:
    G = perturbed_grid(10)
    sites = sites_at(G, [1000]).rename(columns={"site_id": "id"})
    facs = facilities_at(G, [1001, 1002], ["clinic", "clinic"])
    facs.loc[1, "geometry"] = None
    with pytest.raises(InputError, match=r"2 problems") as info:
        table(G, sites, facs)
    assert "sites lack column(s) site_id" in str(info.value)
    assert "1 row(s) has no geometry" in str(info.value)


def test_profile_must_match_the_graph() -> None:
    G = perturbed_grid(11)
    rg = RoadGraph.from_networkx(G, profile=PROFILES["walk"])
    with pytest.raises(InputError, match="built for profile 'walk', not for 'drive'"):
        access_table(rg, sites_at(G, [1000]), facilities_at(G, [1001], ["clinic"]),
                     profile=PROFILES["drive"], progress=False)


def test_unknown_facility_type_is_refused() -> None:
    G = perturbed_grid(11)
    with pytest.raises(InputError, match="unknown facility type.*clinc"):
        table(G, sites_at(G, [1000]), facilities_at(G, [1001], ["clinic"]), facility_types=["clinc"])


def test_progress_bar_per_type(capsys: pytest.CaptureFixture[str]) -> None:
    G = perturbed_grid(12)
    prof = PROFILES["walk"]
    rg = RoadGraph.from_networkx(G, profile=prof)
    access_table(rg, sites_at(G, [1000]), facilities_at(G, [1001, 1002], ["clinic", "kindergarten"]),
                 profile=prof, progress=True)
    assert "routing" in capsys.readouterr().err
    access_table(rg, sites_at(G, [1000]), facilities_at(G, [1001], ["clinic"]), profile=prof, progress=False)
    assert capsys.readouterr().err == ""


# --------------------------------------------------------------------------- properties


def _random_points(rng: np.random.Generator, k: int, n: int = 7) -> tuple[np.ndarray, np.ndarray]:
    span = (n - 1) * STEP
    return LON0 + rng.uniform(-0.1, 1.1, k) * span, LAT0 + rng.uniform(-0.1, 1.1, k) * span


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n_fac=st.integers(1, 5),
    profile=st.sampled_from(["walk", "drive"]),
)
def test_adding_a_facility_never_increases_distance(seed: int, n_fac: int, profile: str) -> None:
    G = perturbed_grid(seed % 50)
    rng = np.random.default_rng(seed)
    s_lon, s_lat = _random_points(rng, 15)
    f_lon, f_lat = _random_points(rng, n_fac + 1)
    sites = points(s_lon, s_lat, site_id=[f"S{i}" for i in range(15)])
    ids = [f"F{i}" for i in range(n_fac + 1)]
    before = table(G, sites, points(f_lon[:-1], f_lat[:-1], facility_id=ids[:-1],
                                    facility_type=["clinic"] * n_fac), profile)
    after = table(G, sites, points(f_lon, f_lat, facility_id=ids,
                                   facility_type=["clinic"] * (n_fac + 1)), profile)
    for col in ("dist_m", "time_min"):
        b = before[col].fillna(np.inf).to_numpy()
        a = after[col].fillna(np.inf).to_numpy()
        assert (a <= b + 1e-9).all()
    assert not ((before["reason"] == "") & (after["reason"] != "")).any()


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), profile=st.sampled_from(["walk", "drive"]))
def test_road_distance_is_never_below_straight_line(seed: int, profile: str) -> None:
    G = perturbed_grid(seed % 50)
    rng = np.random.default_rng(seed)
    s_lon, s_lat = _random_points(rng, 20)
    f_lon, f_lat = _random_points(rng, 6)
    sites = points(s_lon, s_lat, site_id=[f"S{i}" for i in range(20)])
    facs = points(f_lon, f_lat, facility_id=[f"F{i}" for i in range(6)],
                  facility_type=["clinic", "kindergarten"] * 3)
    out = table(G, sites, facs, profile)
    where = dict(zip(facs["facility_id"], zip(f_lon, f_lat, strict=True), strict=True))
    routed = out[out["reason"] == ""]
    assert len(routed) > 0
    for r in routed.itertuples():
        i = int(r.site_id[1:])
        fx, fy = where[r.nearest_facility_id]
        straight = gc(s_lon[i], s_lat[i], fx, fy)
        assert r.dist_m >= straight - 1e-6 * max(1.0, straight)
        assert r.dist_m >= r.snap_dist_m - 1e-9 or r.dist_m == pytest.approx(straight)
