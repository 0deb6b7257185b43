"""Service areas by road (geo.service: service_areas / reached_lines) against networkx."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pyproj
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from anzhi.core.errors import InputError
from geo.network import snap_points
from geo.roads import Profile, RoadGraph, load_profile
from geo.service import SERVICE_AREA_COLUMNS, SERVICE_AREA_METHOD, reached_lines, service_areas
from tests.geo._networks import LAT0, LON0, PROFILES, facilities_at, jittered_grid, points

BUFFER_M = 50.0


def grid(seed: int, n: int = 7) -> nx.MultiDiGraph:
    """A jittered n × n grid of straight streets, 20 % oneway, without parallel tracks."""
    return jittered_grid(seed, n, parallel_share=0.0)


def reference_times(G: nx.MultiDiGraph, profile: Profile, sources: list[int]) -> dict[int, float]:
    """Least time (min) from every node to the nearest source node, by plain networkx."""
    H = nx.DiGraph()
    H.add_nodes_from(G.nodes)
    for u, v, d in G.edges(data=True):
        speed = profile.speed_kph(d["highway"])
        if speed is None:
            continue
        t = d["length"] / (speed * 1000 / 60)
        pairs = [(u, v)] if profile.respect_oneway else [(u, v), (v, u)]
        for a, b in pairs:
            if not H.has_edge(a, b) or H[a][b]["time"] > t:
                H.add_edge(a, b, time=t)
    return dict(nx.multi_source_dijkstra_path_length(H.reverse(copy=True), sources, weight="time"))


def to_metric(rg: RoadGraph, lon: list[float], lat: list[float]) -> np.ndarray:
    x, y = pyproj.Transformer.from_crs("EPSG:4326", rg.crs_metric, always_xy=True).transform(lon, lat)
    return shapely.points(np.asarray(x), np.asarray(y))


@pytest.mark.parametrize("profile", ["walk", "drive"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_area_holds_what_networkx_reaches_and_leaves_out_what_it_does_not(seed: int, profile: str) -> None:
    G = grid(seed)
    prof = PROFILES[profile]
    rg = RoadGraph.from_networkx(G, profile=prof)
    nodes = sorted(G.nodes)
    fac_nodes = [nodes[8], nodes[-10]]
    facs = facilities_at(G, fac_nodes, ["clinic", "clinic"])
    ref = reference_times(G, prof, fac_nodes)
    minutes = float(np.quantile(list(ref.values()), 0.4))
    area = service_areas(rg, facs, minutes=minutes, buffer_m=BUFFER_M)
    lines = reached_lines(rg, facs, minutes=minutes)
    assert area.crs == "EPSG:4326" and len(area) == 1
    poly = area.geometry.iloc[0]
    line = lines.geometry.iloc[0]

    inside = [k for k in nodes if ref.get(k, np.inf) <= minutes]
    assert len(inside) >= 3
    assert all(poly.contains(shapely.Point(G.nodes[k]["x"], G.nodes[k]["y"])) for k in inside)

    # midpoints of edges reached within the limit: on the reached lines, inside the area
    n_mid = 0
    for u, v, d in G.edges(data=True):
        speed = prof.speed_kph(d["highway"])
        if speed is None:
            continue
        t_mid = 0.5 * d["length"] / (speed * 1000 / 60) + ref.get(v, np.inf)
        if t_mid <= minutes - 1e-6:
            lon = (G.nodes[u]["x"] + G.nodes[v]["x"]) / 2
            lat = (G.nodes[u]["y"] + G.nodes[v]["y"]) / 2
            assert poly.contains(shapely.Point(lon, lat)), (u, v, t_mid, minutes)
            assert shapely.distance(to_metric(rg, [lon], [lat])[0], line) < 0.5
            n_mid += 1
    assert n_mid >= 3

    # nodes reached later than the limit by a margin: farther than buffer_m from the lines
    slowest_m_per_min = min(
        (prof.speed_kph(d["highway"]) or np.inf) * 1000 / 60 for *_, d in G.edges(data=True)
    )
    margin_min = (BUFFER_M + 10.0) * 1.3 / slowest_m_per_min
    outside = [k for k in nodes if ref.get(k, np.inf) > minutes + margin_min]
    assert len(outside) >= 3
    pts = to_metric(rg, [G.nodes[k]["x"] for k in outside], [G.nodes[k]["y"] for k in outside])
    assert np.all(shapely.distance(pts, line) > BUFFER_M)
    assert not any(poly.contains(shapely.Point(G.nodes[k]["x"], G.nodes[k]["y"])) for k in outside)


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 50), q1=st.floats(0.05, 0.9), dq=st.floats(0.01, 0.5),
       profile=st.sampled_from(["walk", "drive"]))
def test_more_minutes_give_an_area_containing_the_smaller_one(seed: int, q1: float, dq: float,
                                                              profile: str) -> None:
    G = grid(seed, n=5)
    rg = RoadGraph.from_networkx(G, profile=PROFILES[profile])
    nodes = sorted(G.nodes)
    facs = facilities_at(G, [nodes[3], nodes[17]], ["clinic", "police_room"])
    facs.loc[len(facs)] = ["F-x", "clinic", shapely.Point(G.nodes[nodes[12]]["x"] + 0.0003,
                                                          G.nodes[nodes[12]]["y"] + 0.0004)]
    m1, m2 = 20.0 * q1, 20.0 * (q1 + dq)
    small = service_areas(rg, facs, minutes=m1).to_crs(rg.crs_metric)
    large = service_areas(rg, facs, minutes=m2).to_crs(rg.crs_metric)
    assert list(small["facility_type"]) == list(large["facility_type"]) == ["clinic", "police_room"]
    for a, b in zip(small.geometry, large.geometry, strict=True):
        # 0.5 m: the buffers' arcs are polygons (8 segments a quarter: sagitta 0.24 m at 50 m)
        assert a.difference(b.buffer(0.5)).area < 1e-6
        assert b.area >= a.area - 1.0
    ls = reached_lines(rg, facs, minutes=m1)
    ll = reached_lines(rg, facs, minutes=m2)
    for a, b in zip(ls.geometry, ll.geometry, strict=True):
        pts = shapely.line_interpolate_point(a, np.linspace(0.0, a.length, 500))
        assert shapely.distance(pts, b).max() < 1e-6
    assert np.all(ll["length_m"].to_numpy() >= ls["length_m"].to_numpy() - 1e-6)


def single_edge(*, oneway: bool = False) -> tuple[nx.MultiDiGraph, RoadGraph]:
    """One straight residential street ~5 km long whose length is its planar length in the
    graph's metric CRS (so a reached share of it is measured exactly in metres)."""
    G = nx.MultiDiGraph(crs="epsg:4326")
    G.add_node(1, x=LON0, y=LAT0)
    G.add_node(2, x=LON0 + 0.05, y=LAT0 + 0.001)
    G.add_edge(1, 2, length=1.0, highway="residential")
    rg = RoadGraph.from_networkx(G, profile=PROFILES["walk"])
    planar = float(rg.pedge_geom_length_m[0])
    G = nx.MultiDiGraph(crs="epsg:4326")
    G.add_node(1, x=LON0, y=LAT0)
    G.add_node(2, x=LON0 + 0.05, y=LAT0 + 0.001)
    G.add_edge(1, 2, length=planar, highway="residential")
    if not oneway:
        G.add_edge(2, 1, length=planar, highway="residential")
    prof = load_profile("drive") if oneway else PROFILES["walk"]
    return G, RoadGraph.from_networkx(G, profile=prof)


def test_partial_edge_reaches_speed_times_minutes() -> None:
    G, rg = single_edge()
    speed_m_min = PROFILES["walk"].speed_kph("residential") * 1000 / 60
    planar = float(rg.pedge_geom_length_m[0])
    # a facility at node 1: one stretch from the node
    facs = facilities_at(G, [1], ["clinic"])
    for minutes in (3.0, 10.0, 25.0):
        got = float(reached_lines(rg, facs, minutes=minutes)["length_m"].iloc[0])
        assert got == pytest.approx(speed_m_min * minutes, rel=1e-6)
    # past the far end: the whole edge, no more
    big = reached_lines(rg, facs, minutes=2 * planar / speed_m_min)
    assert float(big["length_m"].iloc[0]) == pytest.approx(planar, rel=1e-9)
    # a facility 100 m off the middle of the street: both ways, minus its walked leg
    mid_lon, mid_lat = LON0 + 0.025, LAT0 + 0.0005
    facs = points([mid_lon], [mid_lat + 0.0009], facility_id=["F"], facility_type=["clinic"])
    leg_m = float(snap_points(rg, [mid_lon], [mid_lat + 0.0009]).snap_dist_m[0])
    leg_min = leg_m / (PROFILES["walk"].offroad_speed_kph * 1000 / 60)
    got = float(reached_lines(rg, facs, minutes=10.0)["length_m"].iloc[0])
    assert got == pytest.approx(2 * speed_m_min * (10.0 - leg_min), rel=1e-6)
    # a walk shorter than the off-road leg reaches no road
    none = reached_lines(rg, facs, minutes=leg_min * 0.9)
    assert float(none["length_m"].iloc[0]) == 0.0
    assert service_areas(rg, facs, minutes=leg_min * 0.9).geometry.iloc[0].is_empty


def test_oneway_street_counts_travel_towards_the_facility() -> None:
    G, rg = single_edge(oneway=True)  # drive, 1 → 2 only
    speed_m_min = load_profile("drive").speed_kph("residential") * 1000 / 60
    at_end = reached_lines(rg, facilities_at(G, [2], ["clinic"]), minutes=1.0)
    assert float(at_end["length_m"].iloc[0]) == pytest.approx(speed_m_min * 1.0, rel=1e-6)
    # the reached stretch is the one just before node 2
    end = to_metric(rg, [G.nodes[2]["x"]], [G.nodes[2]["y"]])[0]
    assert shapely.distance(end, at_end.geometry.iloc[0]) < 1e-6
    at_start = reached_lines(rg, facilities_at(G, [1], ["clinic"]), minutes=1.0)
    assert float(at_start["length_m"].iloc[0]) == 0.0  # nobody on the street can drive back


def test_columns_and_types_without_facilities_get_no_row() -> None:
    G = grid(4, n=4)
    rg = RoadGraph.from_networkx(G, profile=PROFILES["walk"])
    nodes = sorted(G.nodes)
    facs = facilities_at(G, [nodes[0], nodes[5]], ["clinic", "clinic"])
    sa = service_areas(rg, facs, minutes=5.0, facility_types=["police_room", "clinic"])
    assert list(sa.columns) == [*SERVICE_AREA_COLUMNS, "geometry"]
    assert sa["facility_type"].tolist() == ["clinic"]
    assert sa["n_facilities"].tolist() == [2] and sa["minutes"].tolist() == [5.0]
    assert sa["method"].tolist() == [SERVICE_AREA_METHOD] == ["buffered reached edges"]
    metric_area = sa.to_crs(rg.crs_metric).geometry.area.iloc[0] / 1e6
    assert sa["area_km2"].iloc[0] == pytest.approx(metric_area, rel=1e-3) and metric_area > 0
    empty = service_areas(rg, facs.iloc[:0], minutes=5.0)
    assert len(empty) == 0 and list(empty.columns) == [*SERVICE_AREA_COLUMNS, "geometry"]
    assert empty.crs == "EPSG:4326"


def test_bad_inputs_raise_input_error() -> None:
    G = grid(5, n=4)
    rg = RoadGraph.from_networkx(G, profile=PROFILES["walk"])
    facs = facilities_at(G, [min(G.nodes)], ["clinic"])
    with pytest.raises(InputError, match=r"EPSG:4326.*got EPSG:3857"):
        service_areas(rg, facs.to_crs(3857), minutes=5.0)
    with pytest.raises(InputError, match="EPSG:4326"):
        reached_lines(rg, facs.set_crs(None, allow_override=True), minutes=5.0)
    with pytest.raises(InputError, match="minutes must be a finite number"):
        service_areas(rg, facs, minutes=-1.0)
    with pytest.raises(InputError, match="buffer_m must be"):
        service_areas(rg, facs, minutes=5.0, buffer_m=float("nan"))
    with pytest.raises(InputError, match="lack column"):
        service_areas(rg, facs.drop(columns="facility_type"), minutes=5.0)
    with pytest.raises(InputError, match="unknown facility type"):
        service_areas(rg, facs, minutes=5.0, facility_types=["spaceport"])
    with pytest.raises(InputError, match=r"elevation_m must be a function.*value: 'str'"):
        service_areas(rg, facs, minutes=5.0, elevation_m="dem.tif")  # type: ignore[arg-type]


def test_facility_leg_is_walked_on_its_grade_when_an_elevation_is_given() -> None:
    """A facility 100 m up a slope from the middle of a flat street: its off-road leg costs
    Tobler's time for that climb (road → facility), so the reached street is shorter than
    on flat ground by exactly the extra minutes; a level DEM changes nothing and a driving
    profile ignores the elevation."""
    from geo.tobler import offroad_leg_min

    _, rg = single_edge()
    prof = PROFILES["walk"]
    speed_m_min = prof.speed_kph("residential") * 1000 / 60
    mid_lon, mid_lat = LON0 + 0.025, LAT0 + 0.0005
    facs = points([mid_lon], [mid_lat + 0.0009], facility_id=["F"], facility_type=["clinic"])
    snap = snap_points(rg, [mid_lon], [mid_lat + 0.0009])
    leg_m = float(snap.snap_dist_m[0])
    to_m = pyproj.Transformer.from_crs("EPSG:4326", rg.crs_metric, always_xy=True)
    road_y = to_m.transform(float(snap.snap_lon[0]), float(snap.snap_lat[0]))[1]

    def hill(x: np.ndarray, y: np.ndarray) -> np.ndarray:  # rises 30 m per 100 m north of the road
        return 0.3 * np.maximum(np.asarray(y, dtype=float) - road_y, 0.0)

    fac_y = to_m.transform(mid_lon, mid_lat + 0.0009)[1]
    climb_min = float(offroad_leg_min(leg_m, 0.3 * (fac_y - road_y),
                                      flat_speed_kph=prof.offroad_speed_kph))
    flat_min = leg_m / (prof.offroad_speed_kph * 1000 / 60)
    assert climb_min > 1.5 * flat_min
    flat = float(reached_lines(rg, facs, minutes=10.0)["length_m"].iloc[0])
    sloped = float(reached_lines(rg, facs, minutes=10.0, elevation_m=hill)["length_m"].iloc[0])
    assert flat == pytest.approx(2 * speed_m_min * (10.0 - flat_min), rel=1e-6)
    assert sloped == pytest.approx(2 * speed_m_min * (10.0 - climb_min), rel=1e-6)

    def level(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return np.full(np.shape(x), 812.0)

    same = reached_lines(rg, facs, minutes=10.0, elevation_m=level)["length_m"].iloc[0]
    assert float(same) == pytest.approx(flat, rel=1e-12)
    # service_areas passes the elevation on: a smaller area uphill
    a_flat = float(service_areas(rg, facs, minutes=10.0)["area_km2"].iloc[0])
    a_hill = float(service_areas(rg, facs, minutes=10.0, elevation_m=hill)["area_km2"].iloc[0])
    assert a_hill < a_flat
    _, rd = single_edge(oneway=True)  # a driving profile walks its legs flat
    d0 = reached_lines(rd, facs, minutes=3.0)["length_m"].iloc[0]
    d1 = reached_lines(rd, facs, minutes=3.0, elevation_m=hill)["length_m"].iloc[0]
    assert d0 == d1
