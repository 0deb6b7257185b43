"""Points joined to the road (geo.network): snapping to the nearest point of the nearest edge,
costs along the edge, off-road legs at both ends, flat and on their grade."""

from __future__ import annotations

import numpy as np
import pyproj
import pytest
import shapely

from anzhi.core.errors import InputError
from anzhi.core.settings import override
from geo.network import snap_points
from geo.roads import RoadGraph
from geo.routing import access_table
from tests.geo._networks import LAT0, LON0, PROFILES, STEP, jittered_grid, line_graph, points, table
from tests.geo._reference import edge_line, gc

WALK_M_PER_MIN = 4500 / 60


# --------------------------------------------------------------------------- snapping to edges


def test_site_beside_the_middle_of_a_long_edge_snaps_to_the_projected_point() -> None:
    # one straight 3 km street (osmnx length 10 % longer than the chord, as a winding road)
    a, b = (LON0, LAT0), (LON0 + 0.03, LAT0)
    chord = gc(*a, *b)
    G = line_graph([a, b], length=chord * 1.1)
    rg = RoadGraph.from_networkx(G, profile=PROFILES["walk"])
    site_lon, site_lat = LON0 + 0.012, LAT0 + 0.00063  # ~70 m north of the street, 40 % along
    res = snap_points(rg, [site_lon], [site_lat])
    perpendicular = gc(site_lon, LAT0, site_lon, site_lat)
    assert perpendicular == pytest.approx(70.0, abs=1.0)
    assert res.reason.tolist() == [""] and res.edge.tolist() == [0]
    # not the 1.2 km to node 1; the street is straight in the metric CRS, whereas the parallel
    # of latitude through its ends bows ~8 cm north of that chord over 3 km
    assert res.snap_dist_m[0] == pytest.approx(perpendicular, abs=0.2)
    assert res.fraction[0] == pytest.approx(0.4, abs=1e-3)
    assert res.snap_lon[0] == pytest.approx(site_lon, abs=1e-6)
    assert res.node[0] == 0  # node 1 is the nearer end along the street
    # routed along the street: fraction × osmnx length, plus both off-road legs
    facs = points([b[0]], [b[1]], facility_id=["F"], facility_type=["clinic"])
    out = table(G, points([site_lon], [site_lat], site_id=["S"]), facs, "walk").iloc[0]
    assert out["reason"] == ""
    assert out["dist_m"] == pytest.approx(res.snap_dist_m[0] + (1 - res.fraction[0]) * chord * 1.1, abs=1e-6)
    # with a 500 m limit, nearest-node snapping would call it no_road_nearby; edges do not
    with override(max_snap_dist_m=500.0):
        assert snap_points(rg, [site_lon], [site_lat]).reason.tolist() == [""]


def test_bent_edge_fraction_follows_its_geometry_and_scales_to_its_length() -> None:
    # an L-shaped street from node 1 north 1.1 km to a bend, then east 1 km to node 2; osmnx
    # length = the haversine length of its line; a site 55 m north of the east leg
    a, bend, b = (LON0, LAT0), (LON0, LAT0 + 0.01), (LON0 + 0.01, LAT0 + 0.01)
    leg1, leg2 = gc(*a, *bend), gc(*bend, *b)
    G = line_graph([a, b], geometry=[a, bend, b])
    assert G.edges[1, 2, 0]["length"] == pytest.approx(leg1 + leg2, rel=1e-12)
    rg = RoadGraph.from_networkx(G, profile=PROFILES["walk"])
    assert rg.n_pedges == 1 and rg.pedge_fwd_ok.all() and rg.pedge_bwd_ok.all()
    s_lon, s_lat = LON0 + 0.004, LAT0 + 0.0105
    res = snap_points(rg, [s_lon], [s_lat])
    on_road = gc(*bend, res.snap_lon[0], res.snap_lat[0])
    assert on_road == pytest.approx(404.0, abs=2.0) and res.snap_dist_m[0] == pytest.approx(55.6, abs=0.5)
    # the share of the haversine length, not of the planar one (that would be 1.8 m off here)
    assert res.fraction[0] * (leg1 + leg2) == pytest.approx(leg1 + on_road, abs=1e-3)
    facs = points([a[0], b[0]], [a[1], b[1]], facility_id=["F1", "F2"], facility_type=["clinic", "police_room"])
    out = table(G, points([s_lon], [s_lat], site_id=["S"]), facs, "walk").set_index("facility_type")
    assert out.loc["clinic", "dist_m"] == pytest.approx(res.snap_dist_m[0] + leg1 + on_road, abs=1e-3)
    assert out.loc["police_room", "dist_m"] == pytest.approx(res.snap_dist_m[0] + leg2 - on_road, abs=1e-3)
    # an edge 20 % longer than its line (a winding road drawn coarsely): costs scale with it
    G2 = line_graph([a, b], geometry=[a, bend, b], length=1.2 * (leg1 + leg2))
    out2 = table(G2, points([s_lon], [s_lat], site_id=["S"]), facs, "walk").set_index("facility_type")
    assert out2.loc["clinic", "dist_m"] == pytest.approx(res.snap_dist_m[0] + 1.2 * (leg1 + on_road), abs=1e-3)


def test_offroad_legs_are_added_at_both_ends() -> None:
    # an L of two streets 1-2-3; the site lies beyond node 1 and the facility beyond node 3, so
    # both snap to the end nodes
    a, b, c = (LON0, LAT0), (LON0 + STEP, LAT0), (LON0 + STEP, LAT0 + STEP)
    G = line_graph([a, b, c])
    s_lon, s_lat = LON0 - 0.0002, LAT0 - 0.0001
    f_lon, f_lat = LON0 + STEP + 0.0001, LAT0 + STEP + 0.0003
    out = table(G, points([s_lon], [s_lat], site_id=["S"]),
                points([f_lon], [f_lat], facility_id=["F"], facility_type=["clinic"]), "walk").iloc[0]
    road_m = G.edges[1, 2, 0]["length"] + G.edges[2, 3, 0]["length"]
    leg_s, leg_f = gc(s_lon, s_lat, *a), gc(f_lon, f_lat, *c)
    assert leg_s == pytest.approx(22.5, abs=1.0) and leg_f == pytest.approx(35.0, abs=1.0)
    assert out["snap_dist_m"] == pytest.approx(leg_s, abs=1e-6)
    assert out["dist_m"] == pytest.approx(road_m + leg_s + leg_f, abs=1e-6)
    assert out["time_min"] == pytest.approx((road_m + leg_s + leg_f) / WALK_M_PER_MIN, abs=1e-9)


def test_site_and_facility_on_one_oneway_edge() -> None:
    # a 1 km oneway street 1 → 2 between two-way streets back (2 → 3 → 1 is a long loop)
    a, b = (LON0, LAT0), (LON0 + 0.01, LAT0)
    G = line_graph([a, b], oneway=True)
    G.add_node(3, x=LON0 + 0.005, y=LAT0 + 0.01)
    for u, v in [(2, 3), (3, 1)]:
        d = gc(G.nodes[u]["x"], G.nodes[u]["y"], G.nodes[v]["x"], G.nodes[v]["y"])
        G.add_edge(u, v, length=d, highway="residential")
    L = G.edges[1, 2, 0]["length"]
    loop = G.edges[2, 3, 0]["length"] + G.edges[3, 1, 0]["length"]
    dl = 0.0001  # ~11 m south of the street
    sites = points([LON0 + 0.002, LON0 + 0.008], [LAT0 - dl] * 2, site_id=["up", "down"])
    facs = points([LON0 + 0.005], [LAT0 - dl], facility_id=["F"], facility_type=["clinic"])
    prof = PROFILES["drive"]
    rg = RoadGraph.from_networkx(G, profile=prof)
    snap = snap_points(rg, [LON0 + 0.002, LON0 + 0.008, LON0 + 0.005], [LAT0 - dl] * 3)
    fr = snap.fraction
    assert fr[0] == pytest.approx(0.2, abs=1e-3) and fr[2] == pytest.approx(0.5, abs=1e-3)
    out = access_table(rg, sites, facs, profile=prof, progress=False).set_index("site_id")
    legs = snap.snap_dist_m[0] + snap.snap_dist_m[2]
    # upstream: straight along the street; downstream: round the loop and back in
    assert out.loc["up", "dist_m"] == pytest.approx(legs + (fr[2] - fr[0]) * L, abs=1e-6)
    legs_d = snap.snap_dist_m[1] + snap.snap_dist_m[2]
    assert out.loc["down", "dist_m"] == pytest.approx(legs_d + (1 - fr[1]) * L + loop + fr[2] * L, abs=1e-6)
    walk = table(G, sites, facs, "walk").set_index("site_id")
    assert walk.loc["down", "dist_m"] == pytest.approx(legs_d + (fr[1] - fr[2]) * L, abs=1e-6)


def test_snap_points_limit_and_settings() -> None:
    G = jittered_grid(9)
    rg = RoadGraph.from_networkx(G, profile=PROFILES["walk"])
    n = G.nodes[1000]
    # south-west of the grid's corner node (nothing else near), and 5.5 km north
    lon, lat = np.array([n["x"] - 0.0001, n["x"]]), np.array([n["y"] - 0.0001, n["y"] + 0.05])
    res = snap_points(rg, lon, lat)
    assert res.node[0] == int(np.flatnonzero(rg.node_ids == 1000)[0])
    assert res.fraction[0] in (0.0, 1.0)
    assert res.snap_dist_m[0] == pytest.approx(gc(n["x"], n["y"], lon[0], lat[0]), abs=1e-9)
    assert res.node[1] == -1 and res.edge[1] == -1 and np.isnan(res.fraction[1])
    assert res.reason.tolist() == ["", "no_road_nearby"]
    assert res.snap_dist_m[1] > 4000  # still reported beyond the limit
    assert snap_points(rg, lon, lat, max_snap_dist_m=5.0).reason.tolist() == ["no_road_nearby"] * 2
    with override(max_snap_dist_m=10_000.0):
        assert snap_points(rg, lon, lat).reason.tolist() == ["", ""]
    with pytest.raises(InputError, match="1 point.*no finite longitude/latitude"):
        snap_points(rg, [n["x"], np.nan], [n["y"], n["y"]])


def test_snapping_5000_points_finds_the_nearest_point_of_the_network() -> None:
    # bulk STRtree query (no Python loop per point); checked against brute force over every line
    G = jittered_grid(31, curved_share=0.5)
    rg = RoadGraph.from_networkx(G, profile=PROFILES["walk"])
    rng = np.random.default_rng(31)
    lon = LON0 + rng.uniform(-0.2, 1.2, 5000) * 6 * STEP
    lat = LAT0 + rng.uniform(-0.2, 1.2, 5000) * 6 * STEP
    res = snap_points(rg, lon, lat)
    assert (res.reason == "").all()
    to_m = pyproj.Transformer.from_crs("EPSG:4326", rg.crs_metric, always_xy=True)
    pts = shapely.points(np.column_stack(to_m.transform(lon, lat)))
    lines = [shapely.LineString(np.column_stack(to_m.transform(*edge_line(G, u, v, d).T)))
             for u, v, d in G.edges(data=True)]
    brute = shapely.distance(pts[:, None], np.asarray(lines)[None, :]).min(axis=1)
    snapped = shapely.points(np.column_stack(to_m.transform(res.snap_lon, res.snap_lat)))
    assert np.allclose(shapely.distance(pts, snapped), brute, atol=1e-6)
    # the great-circle distance reported (osmnx's haversine on a sphere of radius 6,371 km)
    # differs from the planar UTM one by the sphere-vs-ellipsoid radii at 24.7° N (north-south
    # +0.4 %, east-west -0.2 %) and the UTM scale (-0.04 %)
    ratio = res.snap_dist_m[brute > 1] / brute[brute > 1]
    assert ratio.min() > 0.995 and ratio.max() < 1.006
    assert np.array_equal(res.edge >= 0, res.node >= 0)



def test_offroad_legs_walked_on_their_slope_when_an_elevation_is_given() -> None:
    # the L of test_offroad_legs_are_added_at_both_ends on a plane rising 20 m per 100 m
    # northwards: the site leg climbs to the road, the facility leg climbs from the road; road
    # times stay those of the graph
    from geo.tobler import offroad_leg_min

    a, b, c = (LON0, LAT0), (LON0 + STEP, LAT0), (LON0 + STEP, LAT0 + STEP)
    G = line_graph([a, b, c])
    s_lon, s_lat = LON0 - 0.0002, LAT0 - 0.0001
    f_lon, f_lat = LON0 + STEP + 0.0001, LAT0 + STEP + 0.0003
    prof = PROFILES["walk"]
    rg = RoadGraph.from_networkx(G, profile=prof)
    to_m = pyproj.Transformer.from_crs("EPSG:4326", rg.crs_metric, always_xy=True)

    def plane(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return 0.2 * np.asarray(y, dtype=float)

    sites = points([s_lon], [s_lat], site_id=["S"])
    facs = points([f_lon], [f_lat], facility_id=["F"], facility_type=["clinic"])
    flat = access_table(rg, sites, facs, profile=prof, progress=False).iloc[0]
    hill = access_table(rg, sites, facs, profile=prof, progress=False, elevation_m=plane).iloc[0]
    road_m = G.edges[1, 2, 0]["length"] + G.edges[2, 3, 0]["length"]
    leg_s, leg_f = gc(s_lon, s_lat, *a), gc(f_lon, f_lat, *c)

    def z(lon: float, lat: float) -> float:
        return float(plane(*to_m.transform(lon, lat)))

    expect = (road_m / WALK_M_PER_MIN
              + float(offroad_leg_min(leg_s, z(*a) - z(s_lon, s_lat), flat_speed_kph=prof.offroad_speed_kph))
              + float(offroad_leg_min(leg_f, z(f_lon, f_lat) - z(*c), flat_speed_kph=prof.offroad_speed_kph)))
    assert hill["time_min"] == pytest.approx(expect, rel=1e-9)
    assert hill["time_min"] > flat["time_min"]  # both legs climb
    assert hill["dist_m"] == pytest.approx(flat["dist_m"], abs=1e-9)  # distances never change
    # a driving profile ignores the elevation
    drive = PROFILES["drive"]
    rd = RoadGraph.from_networkx(G, profile=drive)
    d0 = access_table(rd, sites, facs, profile=drive, progress=False).iloc[0]
    d1 = access_table(rd, sites, facs, profile=drive, progress=False, elevation_m=plane).iloc[0]
    assert d0["time_min"] == d1["time_min"]
