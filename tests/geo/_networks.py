"""Seeded generated road networks and point layers shared by the routing, network, pair-core,
matrix and service-area tests (osmnx-style MultiDiGraphs built by hand near Shidian, Yunnan)."""

from __future__ import annotations

import itertools

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely

from anzhi.core.settings import get_settings
from geo.network import SnapResult, snap_points
from geo.pairs import find_direct_legs
from geo.roads import RoadGraph, load_profile
from geo.routing import access_table
from tests.geo._reference import gc, points_beside_edge

LON0, LAT0, STEP = 99.2, 24.7, 0.002  # ~200 m grid near Shidian, Yunnan
#: Highway classes of the generated streets (all open to walking and driving).
CLASSES = ["primary", "secondary", "tertiary", "residential", "track", "service"]
PROFILES = {"walk": load_profile("walk"), "drive": load_profile("drive")}


def jittered_grid(
    seed: int, n: int = 7, *, classes: list[str] = CLASSES, oneway_share: float = 0.2,
    curved_share: float = 0.0, missing_share: float = 0.1, parallel_share: float = 0.1,
) -> nx.MultiDiGraph:
    """An osmnx-style graph: a jittered n × n grid of streets of random ``classes``.

    About ``missing_share`` of the streets are missing and ``oneway_share`` are oneway.
    Edge lengths are the great-circle length of the line times 1–1.3 (roads wind), as in a
    real graph.  With ``curved_share`` > 0 that share of the streets gets a bent ``geometry``
    (WGS84 LineString from u to v, reversed on the v→u edge, as osmnx draws simplified edges);
    the others have none (straight).  About ``parallel_share`` of the streets get a parallel,
    longer ``track`` without geometry (a separate line when the street is bent, the same line
    when it is straight).  A share of 0 draws no random number for that feature.
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
                if rng.random() < missing_share:
                    continue  # a missing street
                a, b = (u, v) if rng.random() < 0.5 else (v, u)
                pa = (G.nodes[a]["x"], G.nodes[a]["y"])
                pb = (G.nodes[b]["x"], G.nodes[b]["y"])
                line = [pa, pb]
                if curved_share > 0 and rng.random() < curved_share:
                    bend = rng.uniform(-0.3, 0.3)
                    mid = ((pa[0] + pb[0]) / 2 - (pb[1] - pa[1]) * bend,
                           (pa[1] + pb[1]) / 2 + (pb[0] - pa[0]) * bend)
                    line = [pa, mid, pb]
                gc_len = sum(gc(*p, *q) for p, q in itertools.pairwise(line))
                attrs = {"length": gc_len * rng.uniform(1.0, 1.3), "highway": str(rng.choice(classes))}
                fwd, bwd = dict(attrs), dict(attrs)
                if len(line) > 2:
                    fwd["geometry"] = shapely.LineString(line)
                    bwd["geometry"] = shapely.LineString(line[::-1])
                G.add_edge(a, b, **fwd, oneway=True)
                if rng.random() >= oneway_share:
                    G.add_edge(b, a, **bwd, oneway=False)
                if parallel_share > 0 and rng.random() < parallel_share:  # a parallel, longer street
                    G.add_edge(a, b, length=attrs["length"] * 1.5, highway="track")
    return G


def line_graph(coords: list[tuple[float, float]], *, length: float | None = None,
               geometry: list[tuple[float, float]] | None = None, oneway: bool = False) -> nx.MultiDiGraph:
    """A chain of two-way (or oneway) residential streets through ``coords`` (nodes 1, 2, ...).

    ``geometry`` (only with two nodes) bends the single street; ``length`` overrides its length.
    """
    G = nx.MultiDiGraph(crs="epsg:4326")
    for k, (x, y) in enumerate(coords, start=1):
        G.add_node(k, x=x, y=y)
    for k in range(1, len(coords)):
        a, b = coords[k - 1], coords[k]
        line = geometry if geometry is not None else [a, b]
        d = length if length is not None else sum(gc(*p, *q) for p, q in zip(line[:-1], line[1:], strict=True))
        attrs: dict[str, object] = {"length": d, "highway": "residential"}
        if geometry is not None:
            G.add_edge(k, k + 1, **attrs, geometry=shapely.LineString(line))
            if not oneway:
                G.add_edge(k + 1, k, **attrs, geometry=shapely.LineString(line[::-1]))
        else:
            G.add_edge(k, k + 1, **attrs)
            if not oneway:
                G.add_edge(k + 1, k, **attrs)
    return G


def points(lon: list[float] | np.ndarray, lat: list[float] | np.ndarray, **cols: object) -> gpd.GeoDataFrame:
    """EPSG:4326 points with the columns ``cols``."""
    return gpd.GeoDataFrame(cols, geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")


def sites_at(G: nx.MultiDiGraph, nodes: list[int], *, dlat: float = 0.0) -> gpd.GeoDataFrame:
    """Sites ``S<node>`` at graph nodes (``dlat`` degrees north of them)."""
    return points([G.nodes[k]["x"] for k in nodes], [G.nodes[k]["y"] + dlat for k in nodes],
                  site_id=[f"S{k}" for k in nodes])


def facilities_at(G: nx.MultiDiGraph, nodes: list[int], types: list[str], *, dlat: float = 0.0) -> gpd.GeoDataFrame:
    """Facilities ``F<node>-<type>`` at graph nodes (``dlat`` degrees north of them)."""
    return points([G.nodes[k]["x"] for k in nodes], [G.nodes[k]["y"] + dlat for k in nodes],
                  facility_id=[f"F{k}-{t}" for k, t in zip(nodes, types, strict=True)],
                  facility_type=types)


def table(G: nx.MultiDiGraph, sites: gpd.GeoDataFrame, facs: gpd.GeoDataFrame, profile: str = "drive",
          **kw: object) -> pd.DataFrame:
    """The access table of ``G`` built for ``profile``."""
    prof = PROFILES[profile]
    rg = RoadGraph.from_networkx(G, profile=prof)
    return access_table(rg, sites, facs, profile=prof, progress=False, **kw)  # type: ignore[arg-type]


def scatter(rng: np.random.Generator, k: int, n: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """``k`` random points over an n × n grid and a margin around it."""
    span = (n - 1) * STEP
    return LON0 + rng.uniform(-0.1, 1.1, k) * span, LAT0 + rng.uniform(-0.1, 1.1, k) * span


def core_inputs(rg: RoadGraph, s_lon: np.ndarray, s_lat: np.ndarray, f_lon: np.ndarray, f_lat: np.ndarray
                ) -> tuple[SnapResult, SnapResult, dict[str, object]]:
    """Snap both sides and find the direct legs, as the adapters do."""
    ss, fs = snap_points(rg, s_lon, s_lat), snap_points(rg, f_lon, f_lat)
    walk = np.where(ss.edge >= 0, ss.snap_dist_m, get_settings().at_site_radius_m)
    kw = {"site_edge": ss.edge, "site_fraction": ss.fraction, "site_snap_m": ss.snap_dist_m,
          "fac_edge": fs.edge, "fac_fraction": fs.fraction, "fac_snap_m": fs.snap_dist_m,
          "direct": find_direct_legs(rg, s_lon, s_lat, f_lon, f_lat, site_walk_m=walk)}
    return ss, fs, kw


#: The classes of the matrix tests' grids: footways are closed to cars.
MATRIX_CLASSES = [*CLASSES, "footway"]


def random_grid(seed: int, n: int = 7, *, oneway_share: float = 0.3) -> nx.MultiDiGraph:
    """The matrix tests' grid: footways too, about 30 % oneway, 40 % bent, 8 % missing and 8 %
    with a parallel track (:func:`jittered_grid`)."""
    return jittered_grid(seed, n, classes=MATRIX_CLASSES, oneway_share=oneway_share,
                         curved_share=0.4, missing_share=0.08, parallel_share=0.08)


def grid_case(seed: int, profile: str, n_s: int, n_f: int):  # type: ignore[no-untyped-def]
    """A random grid with sites and facilities scattered over it, a few on one long edge
    (same-edge pairs) and a site far from every road with its own facility (direct leg)."""
    prof = PROFILES[profile]
    G = random_grid(seed)
    rg = RoadGraph.from_networkx(G, profile=prof)
    rng = np.random.default_rng(seed)
    long_edges = np.flatnonzero(rg.pedge_geom_length_m > 150)
    e_star = int(long_edges[rng.integers(len(long_edges))])
    es_lon, es_lat = points_beside_edge(rg, e_star, [0.2, 0.6], [4.0, -6.0])
    ef_lon, ef_lat = points_beside_edge(rg, e_star, [0.4, 0.8], [-5.0, 7.0])
    far = (LON0 + 0.05, LAT0)  # ~5 km east of the grid; a facility 120 m from it
    s_lon, s_lat = scatter(rng, n_s - 3)
    f_lon, f_lat = scatter(rng, n_f - 3)
    s_lon = np.concatenate([s_lon, es_lon, [far[0]]])
    s_lat = np.concatenate([s_lat, es_lat, [far[1]]])
    f_lon = np.concatenate([f_lon, ef_lon, [far[0] + 0.0012]])
    f_lat = np.concatenate([f_lat, ef_lat, [far[1]]])
    return G, prof, rg, (s_lon, s_lat), (f_lon, f_lat), e_star
