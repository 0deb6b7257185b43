"""The geo adapters of the pair core (geo.matrix: k nearest table, cost table) — against the
access table, the brute-force matrix and one facility at a time, flat and on slopes."""

from __future__ import annotations

import math

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pyproj
import pytest

from analysis.capacity import two_step_fca, two_step_fca_table
from anzhi.core.errors import InputError
from geo.matrix import (
    COST_TABLE_COLUMNS,
    K_NEAREST_COLUMNS,
    cost_matrix,
    cost_table,
    k_nearest_table,
)
from geo.network import OffroadLegs, SnapResult, offroad_legs, snap_points
from geo.roads import Profile, RoadGraph
from geo.routing import access_table, nearest_facility
from geo.tobler import offroad_leg_min, tobler_factor, with_slope_times
from layers.raster import dem_elevation_sampler
from tests.geo._networks import LAT0, LON0, PROFILES, STEP, core_inputs, grid_case, random_grid
from tests.geo._reference import gc

WEIGHTS = ("length", "time")


# --------------------------------------------------------------------------- adapters: the demo county


@pytest.fixture(scope="module")
def region(demo):  # type: ignore[no-untyped-def]
    from anzhi.pipeline import RegionInputs, load_region

    data = load_region(RegionInputs.demo())
    graphs = {p: RoadGraph.from_networkx(data.graph, profile=PROFILES[p]) for p in PROFILES}
    return data, graphs


def type_matrices(rg: RoadGraph, sites: gpd.GeoDataFrame, facs: gpd.GeoDataFrame, ftype: str
                  ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Brute force: the full cost_matrix of every site to the facilities of one type."""
    idx = np.flatnonzero(facs["facility_type"].to_numpy() == ftype)
    _, _, kw = core_inputs(rg, sites.geometry.x.to_numpy(), sites.geometry.y.to_numpy(),
                           facs.geometry.x.to_numpy()[idx], facs.geometry.y.to_numpy()[idx])
    return idx, {w: cost_matrix(rg, weight=w, **kw).to_dense() for w in WEIGHTS}  # type: ignore[arg-type]


@pytest.mark.parametrize("profile", ["walk", "drive"])
def test_k_nearest_table_rank1_agrees_with_access_table(region, profile: str) -> None:  # type: ignore[no-untyped-def]
    data, graphs = region
    rg, prof = graphs[profile], PROFILES[profile]
    acc = access_table(rg, data.sites, data.facilities, profile=prof, progress=False)
    acc = acc.set_index(["site_id", "facility_type"])
    for weight, col in (("time", "time_min"), ("length", "dist_m")):
        kt = k_nearest_table(rg, data.sites, data.facilities, profile=prof, k=3, weight=weight,
                             progress=False)
        assert list(kt.columns) == list(K_NEAREST_COLUMNS)
        assert str(kt["site_id"].dtype) == "str" and kt["rank"].dtype == np.float64
        first = kt[(kt["rank"] == 1) | kt["rank"].isna()].set_index(["site_id", "facility_type"])
        assert first.index.equals(acc.index)  # one per site × type, in access_table's order
        assert (first["reason"] == acc["reason"]).all()
        routed = acc["reason"] == ""
        assert routed.mean() > 0.8 and (~routed).any()
        assert np.abs(first.loc[routed, col] - acc.loc[routed, col]).max() < 1e-9
        other = "dist_m" if col == "time_min" else "time_min"
        # the other column is this pair's own least cost, never below the type's least
        assert (first.loc[routed, other] >= acc.loc[routed, other] - 1e-9).all()
        if weight == "length":
            assert (first.loc[routed, "facility_id"] == acc.loc[routed, "nearest_facility_id"]).mean() > 0.98
        unrouted = first[~routed]
        assert unrouted["rank"].isna().all() and (unrouted["facility_id"] == "").all()
        assert unrouted["dist_m"].isna().all() and unrouted["time_min"].isna().all()
        # ranks 1..m per site and type, increasing cost, distinct facilities
        g = kt.dropna(subset=["rank"]).groupby(["site_id", "facility_type"], sort=False)
        assert g["rank"].apply(lambda r: r.tolist() == list(range(1, len(r) + 1))).all()
        assert g[col].apply(lambda c: bool((np.diff(c.to_numpy()) >= 0).all())).all()
        assert g["facility_id"].nunique().eq(g.size()).all() and g.size().max() == 3


def test_k_nearest_table_costs_equal_the_brute_force_matrix(region) -> None:  # type: ignore[no-untyped-def]
    data, graphs = region
    rg, prof = graphs["drive"], PROFILES["drive"]
    kt = k_nearest_table(rg, data.sites, data.facilities, profile=prof, k=4, weight="time", progress=False,
                         facility_types=["clinic", "kindergarten", "police_room", "middle_school"])
    fac_ids = data.facilities["facility_id"].to_numpy()
    site_pos = {s: i for i, s in enumerate(data.sites["site_id"])}
    for ftype in ["clinic", "kindergarten", "police_room", "middle_school"]:
        idx, mats = type_matrices(rg, data.sites, data.facilities, ftype)
        col_of = {fac_ids[j]: c for c, j in enumerate(idx)}
        rows = kt[(kt["facility_type"] == ftype) & kt["rank"].notna()]
        i = rows["site_id"].map(site_pos).to_numpy()
        j = rows["facility_id"].map(col_of).to_numpy()
        assert np.abs(rows["time_min"].to_numpy() - mats["time"][i, j]).max() < 1e-9
        assert np.abs(rows["dist_m"].to_numpy() - mats["length"][i, j]).max() < 1e-6
        # the k smallest of each row, by time
        n_ranked = rows.groupby("site_id").size().reindex(data.sites["site_id"], fill_value=0).to_numpy()
        expect = np.minimum(np.isfinite(mats["time"]).sum(axis=1), 4)
        assert np.array_equal(n_ranked, expect)
        kth = np.sort(mats["time"], axis=1)[:, :4]
        got = rows.pivot(index="site_id", columns="rank", values="time_min").reindex(data.sites["site_id"])
        got = got.reindex(columns=[1.0, 2.0, 3.0, 4.0]).to_numpy()
        assert np.allclose(np.nan_to_num(got, nan=np.inf), kth, rtol=0, atol=1e-9)


@pytest.mark.parametrize(("weight", "max_cost"), [("time", 20.0), ("length", 3000.0)])
def test_cost_table_matches_the_matrix_and_feeds_two_step_fca(region, weight: str, max_cost: float) -> None:  # type: ignore[no-untyped-def]
    data, graphs = region
    rg, prof = graphs["walk"], PROFILES["walk"]
    ct = cost_table(rg, data.sites, data.facilities, profile=prof, max_cost=max_cost, weight=weight,
                    progress=False)
    assert list(ct.columns) == list(COST_TABLE_COLUMNS)
    assert len(ct) > 60 and (ct["cost"] <= max_cost).all()
    assert (ct["cost"] == 0.0).any()  # facilities at their sites, kept
    unit = "time_min" if weight == "time" else "dist_m"
    assert np.array_equal(ct["cost"].to_numpy(), ct[unit].to_numpy())
    facs = data.facilities.copy()
    facs["capacity"] = 1.0 + np.arange(len(facs)) % 3
    fac_ids = facs["facility_id"].to_numpy()
    dense_parts = []
    for ftype in facs["facility_type"].unique():
        idx, mats = type_matrices(rg, data.sites, facs, ftype)
        cost_w = mats[weight]
        inside = np.isfinite(cost_w) & (cost_w <= max_cost)
        rows = ct[ct["facility_type"] == ftype]
        col_of = {fac_ids[j]: c for c, j in enumerate(idx)}
        # (a type with no facility within max_cost has no rows: empty integer indices)
        i = rows["site_id"].map({s: k for k, s in enumerate(data.sites["site_id"])}).to_numpy(np.int64)
        j = rows["facility_id"].map(col_of).to_numpy(np.int64)
        got = np.zeros_like(inside)
        got[i, j] = True
        assert np.array_equal(got, inside), ftype
        assert np.array_equal(rows["cost"].to_numpy(), cost_w[i, j])
        assert np.abs(rows["dist_m"].to_numpy() - mats["length"][i, j]).max(initial=0.0) < 1e-6
        assert np.abs(rows["time_min"].to_numpy() - mats["time"][i, j]).max(initial=0.0) < 1e-9
        a = two_step_fca(data.sites["population"].to_numpy(dtype=float),
                         facs["capacity"].to_numpy()[idx], cost_w, max_cost=max_cost)
        dense_parts.append(pd.DataFrame({"site_id": data.sites["site_id"].astype(str),
                                         "facility_type": ftype, "fca2": a}))
    fca = two_step_fca_table(data.sites, facs, ct, max_cost=max_cost)
    brute = pd.concat(dense_parts, ignore_index=True)
    merged = fca.merge(brute, on=["site_id", "facility_type"], suffixes=("", "_brute"), validate="1:1")
    assert len(merged) == len(brute) == len(data.sites) * facs["facility_type"].nunique()
    assert np.allclose(merged["fca2"], merged["fca2_brute"], rtol=1e-12, atol=0)
    assert (merged["fca2"] > 0).sum() >= 150  # not vacuous (the demo v2 types are sparser)


def test_reasons_and_requested_types_without_facilities() -> None:
    # a grid, a separate road ~5 km east (an island), a site 10 km away; the kindergarten
    # stands 30 km from any road
    G = random_grid(4, oneway_share=0.0)
    G.add_node(1, x=LON0 + 0.05, y=LAT0)
    G.add_node(2, x=LON0 + 0.052, y=LAT0)
    G.add_edge(1, 2, length=250.0, highway="track")
    G.add_edge(2, 1, length=250.0, highway="track")
    prof = PROFILES["walk"]
    rg = RoadGraph.from_networkx(G, profile=prof)
    n0, n1 = G.nodes[1000], G.nodes[1030]
    sites = gpd.GeoDataFrame({"site_id": ["grid", "far", "island"]},
                             geometry=gpd.points_from_xy([n0["x"], LON0 - 0.1, LON0 + 0.05], [n0["y"], LAT0, LAT0]),
                             crs="EPSG:4326")
    facs = gpd.GeoDataFrame({"facility_id": ["C1", "C2", "K1"], "facility_type": ["clinic", "clinic", "kindergarten"]},
                            geometry=gpd.points_from_xy([n1["x"], G.nodes[1040]["x"], LON0 + 0.3],
                                                        [n1["y"], G.nodes[1040]["y"], LAT0]),
                            crs="EPSG:4326")
    types = ["clinic", "kindergarten", "police_room"]
    kt = k_nearest_table(rg, sites, facs, profile=prof, k=5, facility_types=types, progress=False)
    acc = access_table(rg, sites, facs, profile=prof, facility_types=types, progress=False)
    got = kt.groupby(["site_id", "facility_type"], sort=False)["reason"].first()
    assert got.to_dict() == {(r.site_id, r.facility_type): r.reason for r in acc.itertuples()}
    grid = kt[(kt["site_id"] == "grid") & (kt["facility_type"] == "clinic")]
    assert grid["rank"].tolist() == [1.0, 2.0] and set(grid["facility_id"]) == {"C1", "C2"}
    assert kt["site_id"].tolist()[:4] == ["grid"] * 4  # site order, then type order, then rank
    ct = cost_table(rg, sites, facs, profile=prof, max_cost=math.inf, facility_types=types, progress=False)
    assert set(zip(ct["site_id"], ct["facility_id"], strict=True)) == {("grid", "C1"), ("grid", "C2")}


def test_adapters_report_every_input_problem_at_once() -> None:
    G = random_grid(11)
    rg = RoadGraph.from_networkx(G, profile=PROFILES["walk"])
    sites = gpd.GeoDataFrame({"site_id": ["S"]}, geometry=gpd.points_from_xy([LON0], [LAT0]),
                             crs="EPSG:4326").to_crs("EPSG:32647")
    facs = gpd.GeoDataFrame({"facility_id": ["F"], "facility_type": ["clinic"]},
                            geometry=gpd.points_from_xy([LON0], [LAT0]), crs="EPSG:4326")
    with pytest.raises(InputError, match="4 problems") as info:
        k_nearest_table(rg, sites, facs, profile=PROFILES["drive"], k=7, weight="speed")  # type: ignore[arg-type]
    text = str(info.value)
    assert "sites in EPSG:32647 and facilities in EPSG:4326" in text
    assert "built for profile 'walk', not for 'drive'" in text
    assert "k must be a whole number from 1 to 5" in text and "weight must be 'length'" in text
    with pytest.raises(InputError, match=r"(?s)2 problems.*max_cost must be a number >= 0.*chunk must be"):
        cost_table(rg, sites.to_crs("EPSG:4326"), facs, profile=PROFILES["walk"], max_cost=-5.0, chunk=0)
    with pytest.raises(InputError, match="facilities lack column.*facility_type"):
        cost_table(rg, sites.to_crs("EPSG:4326"), facs.drop(columns="facility_type"),
                   profile=PROFILES["walk"], max_cost=10.0)
    with pytest.raises(InputError, match="unknown facility type.*clinc"):
        k_nearest_table(rg, sites.to_crs("EPSG:4326"), facs, profile=PROFILES["walk"], facility_types=["clinc"])


# --------------------------------------------------------------------------- slope-aware off-road legs


def metric_xy(rg: RoadGraph, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    x, y = pyproj.Transformer.from_crs("EPSG:4326", rg.crs_metric, always_xy=True).transform(lon, lat)
    return np.column_stack([np.asarray(x, dtype=float), np.asarray(y, dtype=float)]).reshape(-1, 2)


def sloped_inputs(rg: RoadGraph, prof: Profile, s_lon: np.ndarray, s_lat: np.ndarray, f_lon: np.ndarray,
                  f_lat: np.ndarray, elevation_m) -> tuple[SnapResult, SnapResult, OffroadLegs, dict, dict]:  # type: ignore[no-untyped-def,type-arg]
    """The core's inputs as the adapters build them: metres (``kw``) and sloped minutes (``kw_t``)."""
    ss, fs, kw = core_inputs(rg, s_lon, s_lat, f_lon, f_lat)
    legs = offroad_legs(rg, prof, metric_xy(rg, s_lon, s_lat), ss, metric_xy(rg, f_lon, f_lat), fs, elevation_m)
    d_s, d_f, d_m = kw["direct"]  # type: ignore[misc]
    kw_t = dict(kw, site_leg=legs.site_min, fac_leg=legs.fac_min,
                direct=(d_s, d_f, d_m, np.atleast_1d(legs.direct_min(d_m, d_s, d_f))))
    return ss, fs, legs, kw, kw_t


@pytest.fixture(scope="module")
def sloped(region):  # type: ignore[no-untyped-def]
    """The demo county's walk graph with slope times from its DEM (a real GeoTIFF) and the sampler."""
    data, graphs = region
    rg = graphs["walk"]
    z = dem_elevation_sampler(data.inputs.dem, crs=rg.crs_metric)
    return data, with_slope_times(rg, z), z


def lonlat(gdf: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
    return gdf.geometry.x.to_numpy(), gdf.geometry.y.to_numpy()


def test_sloped_k_nearest_table_equals_access_table_and_the_brute_force_matrix(sloped) -> None:  # type: ignore[no-untyped-def]
    data, rg, z = sloped
    prof = PROFILES["walk"]
    types = ["clinic", "kindergarten", "police_room", "middle_school"]
    acc = access_table(rg, data.sites, data.facilities, profile=prof, facility_types=types, progress=False,
                       elevation_m=z).set_index(["site_id", "facility_type"])
    flat_acc = access_table(rg, data.sites, data.facilities, profile=prof, facility_types=types,
                            progress=False).set_index(["site_id", "facility_type"])
    routed = acc["reason"] == ""
    assert routed.mean() > 0.8
    # not vacuous: the DEM changes many legs, some by minutes
    change = (acc.loc[routed, "time_min"] - flat_acc.loc[routed, "time_min"]).abs()
    assert (change > 1e-3).mean() > 0.5 and change.max() > 1.0
    k1 = k_nearest_table(rg, data.sites, data.facilities, profile=prof, k=1, weight="time", facility_types=types,
                         progress=False, elevation_m=z).set_index(["site_id", "facility_type"])
    assert k1.index.equals(acc.index)
    assert (k1["reason"] == acc["reason"]).all()
    assert np.abs(k1.loc[routed, "time_min"] - acc.loc[routed, "time_min"]).max() < 1e-9

    fac_ids = data.facilities["facility_id"].to_numpy()
    site_pos = {sid: i for i, sid in enumerate(data.sites["site_id"])}
    for weight, col in (("time", "time_min"), ("length", "dist_m")):
        kt = k_nearest_table(rg, data.sites, data.facilities, profile=prof, k=5, weight=weight,
                             facility_types=types, progress=False, elevation_m=z)
        for ftype in types:
            idx = np.flatnonzero(data.facilities["facility_type"].to_numpy() == ftype)
            _, _, _, kw, kw_t = sloped_inputs(rg, prof, *lonlat(data.sites), *lonlat(data.facilities.iloc[idx]), z)
            mats = {"time_min": cost_matrix(rg, weight="time", **kw_t).to_dense(),  # type: ignore[arg-type]
                    "dist_m": cost_matrix(rg, weight="length", **kw).to_dense()}  # type: ignore[arg-type]
            rows = kt[(kt["facility_type"] == ftype) & kt["rank"].notna()]
            i = rows["site_id"].map(site_pos).to_numpy()
            j = rows["facility_id"].map({fac_ids[c]: n for n, c in enumerate(idx)}).to_numpy()
            # both columns are the pair's own least cost with the same (sloped) legs
            assert np.abs(rows["time_min"].to_numpy() - mats["time_min"][i, j]).max() < 1e-9
            assert np.abs(rows["dist_m"].to_numpy() - mats["dist_m"][i, j]).max() < 1e-6
            # ranks 1..5 are the 5 smallest of each row of the ranking weight
            kth = np.sort(mats[col], axis=1)[:, :5]
            got = rows.pivot(index="site_id", columns="rank", values=col).reindex(data.sites["site_id"])
            got = got.reindex(columns=[1.0, 2.0, 3.0, 4.0, 5.0]).to_numpy()
            assert np.allclose(np.nan_to_num(got, nan=np.inf), kth, rtol=0, atol=1e-9), (weight, ftype)


def brute_pairs(rg: RoadGraph, prof: Profile, sites: gpd.GeoDataFrame, facs: gpd.GeoDataFrame, z
                ) -> dict[str, np.ndarray]:  # type: ignore[no-untyped-def]
    """Per pair, one facility at a time: nearest_facility with explicit legs, plus the direct leg."""
    ss, fs, legs, kw, _ = sloped_inputs(rg, prof, *lonlat(sites), *lonlat(facs), z)
    d_s, d_f, d_m = kw["direct"]
    d_min = np.atleast_1d(legs.direct_min(d_m, d_s, d_f))
    out = {"time_min": np.full((len(sites), len(facs)), np.inf), "dist_m": np.full((len(sites), len(facs)), np.inf)}
    for j in range(len(facs)):
        one = [j]
        for weight, col, extra in (("time", "time_min", {"site_leg": legs.site_min, "fac_leg": legs.fac_min[one]}),
                                   ("length", "dist_m", {})):
            _, c = nearest_facility(rg, ss.node, ss.snap_dist_m, fs.node[one], fs.snap_dist_m[one], ["F"],
                                    weight=weight, site_edge=ss.edge, site_fraction=ss.fraction,  # type: ignore[arg-type]
                                    fac_edge=fs.edge[one], fac_fraction=fs.fraction[one], **extra)
            out[col][:, j] = c
        mine = d_f == j
        out["time_min"][d_s[mine], j] = np.minimum(out["time_min"][d_s[mine], j], d_min[mine])
        out["dist_m"][d_s[mine], j] = np.minimum(out["dist_m"][d_s[mine], j], d_m[mine])
    return out


@pytest.mark.parametrize(("weight", "max_cost"), [("time", 45.0), ("length", 3000.0)])
def test_sloped_cost_table_equals_one_facility_at_a_time(sloped, weight: str, max_cost: float) -> None:  # type: ignore[no-untyped-def]
    data, rg, z = sloped
    prof = PROFILES["walk"]
    types = ["clinic", "kindergarten", "police_room", "middle_school"]
    ct = cost_table(rg, data.sites, data.facilities, profile=prof, max_cost=max_cost, weight=weight,
                    facility_types=types, progress=False, elevation_m=z)
    flat = cost_table(rg, data.sites, data.facilities, profile=prof, max_cost=max_cost, weight=weight,
                      facility_types=types, progress=False)
    unit = "time_min" if weight == "time" else "dist_m"
    assert np.array_equal(ct["cost"].to_numpy(), ct[unit].to_numpy())
    site_pos = {sid: i for i, sid in enumerate(data.sites["site_id"])}
    n_slow = n_inside = 0
    for ftype in types:
        facs = data.facilities[data.facilities["facility_type"] == ftype]
        ref = brute_pairs(rg, prof, data.sites, facs, z)
        inside = ref[unit] <= max_cost
        assert not (np.abs(ref[unit] - max_cost) < 1e-6).any()  # nothing on the edge of the cutoff
        rows = ct[ct["facility_type"] == ftype]
        i = rows["site_id"].map(site_pos).to_numpy()
        j = rows["facility_id"].map({f: n for n, f in enumerate(facs["facility_id"])}).to_numpy()
        got = np.zeros_like(inside)
        got[i, j] = True
        assert np.array_equal(got, inside), ftype
        n_inside += int(inside.sum())
        # both columns, also the other weight's (its bound must hold with sloped legs)
        assert np.abs(rows["time_min"].to_numpy() - ref["time_min"][i, j]).max() < 1e-9
        assert np.abs(rows["dist_m"].to_numpy() - ref["dist_m"][i, j]).max() < 1e-6
        # pairs walked slower than the flat off-road speed allows: the old flat-speed bound
        # would have lost their other-weight cost
        n_slow += int((ref["time_min"][i, j] > ref["dist_m"][i, j] / (prof.offroad_speed_kph * 1000 / 60)).sum())
    assert n_inside >= 40
    if weight == "length":
        # metres never change with the DEM: the same pairs and distances, other minutes
        assert ct[["site_id", "facility_id", "cost", "dist_m"]].equals(flat[["site_id", "facility_id", "cost", "dist_m"]])
        assert (np.abs(ct["time_min"] - flat["time_min"]) > 1e-3).mean() > 0.3
        assert n_slow > 0
    else:
        assert not ct[["site_id", "facility_id"]].equals(flat[["site_id", "facility_id"]])


def east_west_street():  # type: ignore[no-untyped-def]
    """A 400 m two-way street running east from (LON0, LAT0), its walk graph, the metric
    position (x0, y0) of its west end and ``at(dx, dy)``: lon/lat of points dx, dy metres
    east/north of that end."""
    G = nx.MultiDiGraph(crs="epsg:4326")
    for k in range(3):
        G.add_node(k + 1, x=LON0 + k * STEP, y=LAT0)
    for k in (1, 2):
        d = gc(LON0 + (k - 1) * STEP, LAT0, LON0 + k * STEP, LAT0)
        G.add_edge(k, k + 1, length=d, highway="residential")
        G.add_edge(k + 1, k, length=d, highway="residential")
    rg = RoadGraph.from_networkx(G, profile=PROFILES["walk"])
    x0, y0 = metric_xy(rg, np.array([LON0]), np.array([LAT0]))[0]
    to_ll = pyproj.Transformer.from_crs(rg.crs_metric, "EPSG:4326", always_xy=True)

    def at(dx: list[float], dy: list[float]) -> tuple[np.ndarray, np.ndarray]:
        lon, lat = to_ll.transform(x0 + np.asarray(dx, dtype=float), y0 + np.asarray(dy, dtype=float))
        return np.asarray(lon), np.asarray(lat)

    return rg, x0, y0, at


def test_legs_on_a_tilted_plane_cost_more_uphill_and_less_down_5_percent() -> None:
    # an east-west street; site S 80 m south of it, site S2 80 m north; clinic N 100 m north
    # and clinic So 110 m south of one point of the street; site D 150 m south of the street
    # with a kindergarten K 60 m north of it (a direct leg: nearer than D's road)
    prof = PROFILES["walk"]
    rg, _, y0, at = east_west_street()
    s_lon, s_lat = at([100, 100, 300], [-80, 80, -150])
    f_lon, f_lat = at([250, 250, 300], [100, -110, -90])
    sites = gpd.GeoDataFrame({"site_id": ["S", "S2", "D"]}, geometry=gpd.points_from_xy(s_lon, s_lat), crs="EPSG:4326")
    facs = gpd.GeoDataFrame({"facility_id": ["N", "So", "K"], "facility_type": ["clinic", "clinic", "kindergarten"]},
                            geometry=gpd.points_from_xy(f_lon, f_lat), crs="EPSG:4326")
    ss, fs = snap_points(rg, s_lon, s_lat), snap_points(rg, f_lon, f_lat)
    per_min = prof.offroad_speed_kph * 1000 / 60

    def plane(g: float):  # type: ignore[no-untyped-def]
        return lambda x, y: g * (np.asarray(y, dtype=float) - y0)

    def leg_min(z, lon, lat, slon, slat, dist, up: bool) -> float:  # type: ignore[no-untyped-def]
        # the leg walked from the point to the road (up=False: from the road to the point)
        zp = float(z(*metric_xy(rg, np.array([lon]), np.array([lat]))[0]))
        zr = float(z(*metric_xy(rg, np.array([slon]), np.array([slat]))[0]))
        return float(offroad_leg_min(dist, (zr - zp) if up else (zp - zr), flat_speed_kph=prof.offroad_speed_kph))

    for g in (0.05, -0.05):
        z = plane(g)
        graph = with_slope_times(rg, z)  # the street runs along the contour: nearly flat
        kw = {"profile": prof, "progress": False}
        flat_ct = cost_table(graph, sites, facs, max_cost=math.inf, **kw).set_index(["site_id", "facility_id"])
        hill_ct = cost_table(graph, sites, facs, max_cost=math.inf, elevation_m=z, **kw).set_index(["site_id", "facility_id"])
        flat_ct, hill_ct = flat_ct.sort_index(), hill_ct.sort_index()
        assert flat_ct.index.equals(hill_ct.index) and len(hill_ct) == 9  # one street: every pair
        assert np.array_equal(hill_ct["dist_m"].to_numpy(), flat_ct["dist_m"].to_numpy())
        up = g > 0  # the plane rises northwards
        for si, fj in ((0, 0), (0, 1), (1, 0), (1, 1)):
            key = (sites["site_id"][si], facs["facility_id"][fj])
            flat_legs = (ss.snap_dist_m[si] + fs.snap_dist_m[fj]) / per_min
            hill_legs = (leg_min(z, s_lon[si], s_lat[si], ss.snap_lon[si], ss.snap_lat[si], ss.snap_dist_m[si], True)
                         + leg_min(z, f_lon[fj], f_lat[fj], fs.snap_lon[fj], fs.snap_lat[fj], fs.snap_dist_m[fj], False))
            # the road part is the same; only the legs change, each by its own grade
            assert hill_ct.loc[key, "time_min"] - flat_ct.loc[key, "time_min"] == pytest.approx(
                hill_legs - flat_legs, abs=1e-9)
        # both legs climb: dearer than flat; both go down ~5 %: cheaper, by Tobler's peak factor
        climb, descend = (("S", "N"), ("S2", "So")) if up else (("S2", "So"), ("S", "N"))
        assert hill_ct.loc[climb, "time_min"] > flat_ct.loc[climb, "time_min"] + 0.3
        assert hill_ct.loc[descend, "time_min"] < flat_ct.loc[descend, "time_min"] - 0.3
        road = flat_ct.loc[descend, "time_min"] - (ss.snap_dist_m[1 if up else 0] + fs.snap_dist_m[1 if up else 0]) / per_min
        legs_down = hill_ct.loc[descend, "time_min"] - road
        flat_down = flat_ct.loc[descend, "time_min"] - road
        assert legs_down == pytest.approx(flat_down / float(tobler_factor(-0.05)), rel=2e-3)
        # the direct leg D → K: 60 m towards the north, walked on its grade
        dk = gc(s_lon[2], s_lat[2], f_lon[2], f_lat[2])
        expect = float(offroad_leg_min(dk, g * 60.0, flat_speed_kph=prof.offroad_speed_kph))
        assert hill_ct.loc[("D", "K"), "time_min"] == pytest.approx(expect, rel=1e-6)
        assert flat_ct.loc[("D", "K"), "time_min"] == pytest.approx(dk / per_min, rel=1e-12)
        assert (hill_ct.loc[("D", "K"), "time_min"] > flat_ct.loc[("D", "K"), "time_min"]) == up
        # the ranking follows: S's clinics swap when the plane rises north
        kt = k_nearest_table(graph, sites, facs, k=2, facility_types=["clinic"], elevation_m=z, **kw)
        kf = k_nearest_table(graph, sites, facs, k=2, facility_types=["clinic"], **kw)
        first = kt[(kt["site_id"] == "S") & (kt["rank"] == 1)]["facility_id"].item()
        assert kf[(kf["site_id"] == "S") & (kf["rank"] == 1)]["facility_id"].item() == "N"
        assert first == ("So" if up else "N")
        merged = kt.merge(hill_ct.reset_index(), on=["site_id", "facility_id"], suffixes=("", "_ct"))
        assert len(merged) == 6 and np.abs(merged["time_min"] - merged["time_min_ct"]).max() < 1e-9
        # ranking by length with sloped legs: the time column is still the pair's sloped time
        kl = k_nearest_table(graph, sites, facs, k=2, weight="length", facility_types=["clinic"],
                             elevation_m=z, **kw)
        merged = kl.merge(hill_ct.reset_index(), on=["site_id", "facility_id"], suffixes=("", "_ct"))
        assert len(merged) == 6 and np.abs(merged["time_min"] - merged["time_min_ct"]).max() < 1e-9


@pytest.mark.parametrize(("grade", "site_x", "site_dy", "fac_dy", "rank_by"),
                         [(0.3, 100.0, -400.0, 300.0, "length"),  # both legs climb 30 %: ~3× slower than flat
                          (-0.05, 185.0, -20.0, 500.0, "time")],  # both go down 5 %: ~1.19× faster
                         ids=["slow-legs", "fast-legs"])
def test_the_other_weight_is_exact_with_legs_slower_or_faster_than_the_offroad_speed(
        grade: float, site_x: float, site_dy: float, fac_dy: float, rank_by: str) -> None:
    # one site south and one facility (x = 300 m) north of an east-west street on a plane
    # rising (falling) northwards; the legs dominate the pair, so a bound of the other weight
    # that assumed the flat off-road speed would cut the search short and lose the pair
    prof = PROFILES["walk"]
    rg, _, y0, at = east_west_street()
    s_lon, s_lat = at([site_x], [site_dy])
    f_lon, f_lat = at([300.0], [fac_dy])
    sites = gpd.GeoDataFrame({"site_id": ["S"]}, geometry=gpd.points_from_xy(s_lon, s_lat), crs="EPSG:4326")
    facs = gpd.GeoDataFrame({"facility_id": ["F"], "facility_type": ["clinic"]},
                            geometry=gpd.points_from_xy(f_lon, f_lat), crs="EPSG:4326")

    def z(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return grade * (np.asarray(y, dtype=float) - y0)

    graph = with_slope_times(rg, z)
    kw = {"profile": prof, "progress": False, "elevation_m": z}
    by_time = cost_table(graph, sites, facs, max_cost=math.inf, weight="time", **kw).iloc[0]
    by_length = cost_table(graph, sites, facs, max_cost=math.inf, weight="length", **kw).iloc[0]
    kt = k_nearest_table(graph, sites, facs, k=1, weight=rank_by, **kw).iloc[0]  # type: ignore[arg-type]
    flat = cost_table(graph, sites, facs, max_cost=math.inf, profile=prof, progress=False).iloc[0]
    per_min = prof.offroad_speed_kph * 1000 / 60
    legs_m = by_length["dist_m"] - (300.0 - site_x)  # the rest is the street between them
    if rank_by == "length":
        assert by_time["time_min"] > 2.0 * flat["time_min"]  # the legs crawl up 30 %
    else:
        assert by_time["time_min"] < flat["time_min"] - 0.5 and legs_m > 450.0
    assert by_length["dist_m"] == flat["dist_m"] and by_time["dist_m"] == flat["dist_m"]
    # each table's other column is the pair's own least cost in that weight, never lost
    assert by_length["time_min"] == pytest.approx(by_time["time_min"], abs=1e-9)
    assert kt["facility_id"] == "F" and kt["reason"] == ""
    assert kt["time_min"] == pytest.approx(by_time["time_min"], abs=1e-9)
    assert kt["dist_m"] == pytest.approx(by_length["dist_m"], abs=1e-9)
    assert flat["time_min"] == pytest.approx(flat["dist_m"] / per_min, rel=1e-3)  # a nearly flat street


@pytest.mark.parametrize("seed", [21, 22])
def test_flat_elevation_gives_the_flat_result(seed: int) -> None:
    _, prof, rg, (s_lon, s_lat), (f_lon, f_lat), _ = grid_case(seed, "walk", 30, 14)
    sites = gpd.GeoDataFrame({"site_id": [f"S{i}" for i in range(30)]}, geometry=gpd.points_from_xy(s_lon, s_lat),
                             crs="EPSG:4326")
    facs = gpd.GeoDataFrame({"facility_id": [f"F{j}" for j in range(14)],
                             "facility_type": ["clinic", "kindergarten"] * 7},
                            geometry=gpd.points_from_xy(f_lon, f_lat), crs="EPSG:4326")

    def level(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return np.full(np.shape(x), 1834.0)

    key = ["site_id", "facility_type", "facility_id"]
    for weight in WEIGHTS:
        a = k_nearest_table(rg, sites, facs, profile=prof, k=5, weight=weight, progress=False)  # type: ignore[arg-type]
        b = k_nearest_table(rg, sites, facs, profile=prof, k=5, weight=weight, progress=False,  # type: ignore[arg-type]
                            elevation_m=level)
        assert len(a) > 100 and a[key + ["rank", "reason"]].equals(b[key + ["rank", "reason"]])
        # minutes: x·(60/4500) here and x/75 in the flat legs of access_table: equal to rounding
        assert np.array_equal(a["dist_m"].to_numpy(), b["dist_m"].to_numpy(), equal_nan=True)
        assert np.allclose(a["time_min"], b["time_min"], rtol=1e-12, atol=0, equal_nan=True)
        c = cost_table(rg, sites, facs, profile=prof, max_cost=math.inf, weight=weight, progress=False)  # type: ignore[arg-type]
        d = cost_table(rg, sites, facs, profile=prof, max_cost=math.inf, weight=weight, progress=False,  # type: ignore[arg-type]
                       elevation_m=level)
        assert len(c) > 200 and c[key].equals(d[key])
        assert np.array_equal(c["dist_m"].to_numpy(), d["dist_m"].to_numpy())
        assert np.allclose(c["time_min"], d["time_min"], rtol=1e-12, atol=0)
    # a driving profile ignores the elevation altogether: the very same tables
    drive = PROFILES["drive"]
    rd = RoadGraph.from_networkx(random_grid(seed), profile=drive)
    def hill(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return 0.3 * np.asarray(y, dtype=float)

    pd.testing.assert_frame_equal(
        k_nearest_table(rd, sites, facs, profile=drive, k=3, progress=False),
        k_nearest_table(rd, sites, facs, profile=drive, k=3, progress=False, elevation_m=hill))
    pd.testing.assert_frame_equal(
        cost_table(rd, sites, facs, profile=drive, max_cost=20.0, progress=False),
        cost_table(rd, sites, facs, profile=drive, max_cost=20.0, progress=False, elevation_m=hill))



def test_adapters_refuse_an_elevation_that_is_not_a_function() -> None:
    rg = RoadGraph.from_networkx(random_grid(11), profile=PROFILES["walk"])
    sites = gpd.GeoDataFrame({"site_id": ["S"]}, geometry=gpd.points_from_xy([LON0], [LAT0]), crs="EPSG:4326")
    facs = gpd.GeoDataFrame({"facility_id": ["F"], "facility_type": ["clinic"]},
                            geometry=gpd.points_from_xy([LON0], [LAT0]), crs="EPSG:4326")
    with pytest.raises(InputError, match="elevation_m must be a function.*str"):
        k_nearest_table(rg, sites, facs, profile=PROFILES["walk"], elevation_m="dem.tif")  # type: ignore[arg-type]
    with pytest.raises(InputError, match=r"(?s)2 problems.*elevation_m must be a function.*max_cost must be"):
        cost_table(rg, sites, facs, profile=PROFILES["walk"], max_cost=-1.0, elevation_m=3.0)  # type: ignore[arg-type]
