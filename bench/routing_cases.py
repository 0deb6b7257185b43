"""The two networks of the routing benchmark (``python -m bench.bench_routing``).

* :func:`make_road_graph`: the **generated** road-like, osmnx-style ``MultiDiGraph``;
  :func:`run_generated` measures it.
* :func:`run_andorra`: the real Andorra extract (:data:`ANDORRA`) with its real amenities
  (:func:`read_amenities`) as facilities.
* :func:`points_near_roads`: seeded random sites and facilities near the roads of a graph.

Each ``run_*`` builds its network, then measures every peer on it with
:mod:`bench.routing_queries` and returns the filled :class:`~bench.routing_queries.Case`.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import osmnx as ox
import pyproj
import shapely
from numpy.typing import NDArray

from anzhi.core.settings import override
from bench.report import SHARED_DATA, fmt_mib, fmt_secs, log, peak_extra
from bench.routing_queries import Case, bench_queries, bench_snapping
from geo.roads import RoadGraph, load_profile
from geo.routing import snap_points
from layers.osm import load_road_graph

__all__ = ["ANDORRA", "ANDORRA_AMENITIES", "GENERATED_TYPES", "make_road_graph",
           "points_near_roads", "read_amenities", "run_generated", "run_andorra"]

ANDORRA = SHARED_DATA / "osm" / "andorra-2020-05-01.osm.bz2"

#: Amenity values read from Andorra as facility types (one type per value).
ANDORRA_AMENITIES = ("hospital", "doctors", "clinic", "school", "kindergarten", "police", "pharmacy")

#: The 8 facility types of the generated network.
GENERATED_TYPES = ("clinic", "township_health_centre", "kindergarten", "primary_school",
                   "middle_school", "police_room", "police_station", "elderly_care")

_LOCAL = np.array(["residential", "unclassified", "track", "service"])
_LOCAL_P = np.array([0.5, 0.25, 0.15, 0.10])


def _grid_nodes(side: int, rng: np.random.Generator) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """(lon, lat) of a jittered ``side × side`` grid of ~150 m blocks around 106.7°E 26.6°N."""
    n = side * side
    i, j = np.divmod(np.arange(n), side)
    spacing_m = 150.0
    dlat = spacing_m / 111_320.0
    dlon = spacing_m / (111_320.0 * math.cos(math.radians(26.6)))
    lat = 26.6 + (i - side / 2) * dlat + rng.uniform(-0.3, 0.3, n) * dlat
    lon = 106.7 + (j - side / 2) * dlon + rng.uniform(-0.3, 0.3, n) * dlon
    return lon, lat


def _grid_edges(side: int, rng: np.random.Generator
                ) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.str_], NDArray[np.bool_]]:
    """Directed edges (u, v, highway, oneway) of the grid: streets, arterial rows/columns,
    random diagonal tracks, some local streets removed and some oneway."""
    n = side * side
    i, j = np.divmod(np.arange(n), side)
    idx = np.arange(n)
    h_a = idx[j < side - 1]
    v_a = idx[i < side - 1]
    cells = idx[(i < side - 1) & (j < side - 1)]
    diag = cells[rng.random(len(cells)) < 0.06]
    flip = rng.random(len(diag)) < 0.5
    d_a = np.where(flip, diag + 1, diag)
    d_b = np.where(flip, diag + side, diag + side + 1)

    def classes(line: NDArray[np.int64]) -> NDArray[np.str_]:
        local = rng.choice(_LOCAL, size=len(line), p=_LOCAL_P)
        return np.where(line % 40 == 0, "primary", np.where(line % 10 == 0, "secondary", local))

    a = np.concatenate([h_a, v_a, d_a])
    b = np.concatenate([h_a + 1, v_a + side, d_b])
    cls = np.concatenate([classes(i[h_a]), classes(j[v_a]), np.full(len(d_a), "track")])
    local = ~np.isin(cls, ["primary", "secondary"])
    keep = ~(local & (rng.random(len(a)) < 0.08))
    a, b, cls = a[keep], b[keep], cls[keep]
    oneway = np.isin(cls, ["residential", "service"]) & (rng.random(len(a)) < 0.03)
    swap = oneway & (rng.random(len(a)) < 0.5)
    a, b = np.where(swap, b, a), np.where(swap, a, b)
    two = ~oneway
    return (np.concatenate([a, b[two]]), np.concatenate([b, a[two]]),
            np.concatenate([cls, cls[two]]), np.concatenate([oneway, oneway[two]]))


def make_road_graph(n_edges: int, *, seed: int = 7) -> nx.MultiDiGraph:
    """A seeded road-like osmnx-style ``MultiDiGraph`` with at least ``n_edges`` directed edges.

    Parameters
    ----------
    n_edges
        Least number of directed edges (the grid side is the smallest that reaches it).
    seed
        Random seed (jitter, classes, removed and oneway streets).

    Returns
    -------
    networkx.MultiDiGraph
        EPSG:4326, integer node ids with ``x`` (lon) / ``y`` (lat), edges with ``length``
        (great-circle m, :func:`osmnx.distance.great_circle`), ``highway`` (primary,
        secondary, residential, unclassified, track, service) and ``oneway``; no edge
        geometry (straight segments).  ``G.graph["grid_side"]`` holds the grid side.
    """
    side = max(4, math.ceil(math.sqrt(max(n_edges, 1) / 3.75)))
    while True:
        rng = np.random.default_rng(seed)
        lon, lat = _grid_nodes(side, rng)
        u, v, highway, oneway = _grid_edges(side, rng)
        if len(u) >= n_edges:
            break
        side += 1
    node_id = 10_000_000 + np.arange(side * side)
    length = np.asarray(ox.distance.great_circle(lat[u], lon[u], lat[v], lon[v]), dtype=np.float64)
    G = nx.MultiDiGraph(crs="epsg:4326", grid_side=side)
    used = np.unique(np.concatenate([u, v]))
    G.add_nodes_from(
        (nid, {"x": x, "y": y})
        for nid, x, y in zip(node_id[used].tolist(), lon[used].tolist(), lat[used].tolist(),
                             strict=True)
    )
    G.add_edges_from(
        (uu, vv, {"length": ln, "highway": hw, "oneway": ow})
        for uu, vv, ln, hw, ow in zip(node_id[u].tolist(), node_id[v].tolist(), length.tolist(),
                                      highway.tolist(), oneway.tolist(), strict=True)
    )
    return G


def points_near_roads(
    graph: RoadGraph, count: int, rng: np.random.Generator, *, max_offset_m: float = 150.0
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """``count`` random WGS84 points within ``max_offset_m`` metres of random physical edges."""
    e = rng.integers(0, graph.n_pedges, count)
    pos = shapely.line_interpolate_point(graph.pedge_geometry[e], rng.random(count), normalized=True)
    ang = rng.uniform(0.0, 2.0 * math.pi, count)
    r = rng.uniform(0.0, max_offset_m, count)
    x = shapely.get_x(pos) + r * np.cos(ang)
    y = shapely.get_y(pos) + r * np.sin(ang)
    tr = pyproj.Transformer.from_crs(graph.crs_metric, "EPSG:4326", always_xy=True)
    lon, lat = tr.transform(x, y)
    return np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)


def read_amenities(path: Path, values: tuple[str, ...] = ANDORRA_AMENITIES
                   ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.str_]]:
    """(lon, lat, amenity) of the OSM nodes and ways tagged ``amenity=<one of values>``.

    A way stands at its centroid (closed ways as polygons, open ones as lines).
    """
    import osmium

    fp = (osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY)
          .with_locations()
          .with_filter(osmium.filter.KeyFilter("amenity")))
    lon: list[float] = []
    lat: list[float] = []
    kind: list[str] = []
    wanted = set(values)
    for obj in fp:
        value = obj.tags.get("amenity")
        if value not in wanted:
            continue
        if isinstance(obj, osmium.osm.Node):
            if not obj.location.valid():
                continue
            lon.append(obj.location.lon)
            lat.append(obj.location.lat)
        elif isinstance(obj, osmium.osm.Way):
            pts = [(n.lon, n.lat) for n in obj.nodes if n.location.valid()]
            if not pts:
                continue
            if len(pts) >= 4 and pts[0] == pts[-1]:
                c = shapely.Polygon(pts).centroid
            elif len(pts) >= 2:
                c = shapely.LineString(pts).centroid
            else:
                c = shapely.Point(pts[0])
            lon.append(c.x)
            lat.append(c.y)
        else:
            continue
        kind.append(value)
    return np.asarray(lon), np.asarray(lat), np.asarray(kind, dtype=str)


def run_generated(*, edges: int, sites: int, facilities: int, repeat: int, loop_sample: int,
                  loop_budget_s: float, seed: int, pandana_on: bool, pandana_timeout_s: float | None = None,
                  profile_on: bool = False) -> Case:
    """The generated network: build, snapping, nearest facility per type."""
    rng = np.random.default_rng(seed)
    with peak_extra() as mem:
        t0 = time.perf_counter()
        G = make_road_graph(edges, seed=seed)
        t_gen = time.perf_counter() - t0
    log(f"generated: {G.number_of_nodes():,} nodes, {G.number_of_edges():,} edges in {t_gen:.1f} s")
    profile = load_profile("drive")
    with peak_extra() as mem2:
        t0 = time.perf_counter()
        graph = RoadGraph.from_networkx(G, profile=profile)
        t_build = time.perf_counter() - t0
    log(f"generated: RoadGraph.from_networkx {t_build:.1f} s")
    t0 = time.perf_counter()
    graph.weight_csr("length", reverse=True)
    t_rev = time.perf_counter() - t0
    n_oneway = sum(1 for _, _, d in G.edges(data=True) if d["oneway"])
    side = G.graph["grid_side"]
    per_type = facilities // len(GENERATED_TYPES)
    case = Case(
        name="generated",
        description=(
            f"Generated road-like graph (seed {seed}): {side}×{side} jittered grid of ~150 m blocks "
            f"around 106.7°E 26.6°N, {graph.n_nodes:,} nodes, **{graph.n_edges:,} directed edges** "
            f"({n_oneway:,} oneway), {graph.n_pedges:,} physical edges; {sites:,} sites and "
            f"{per_type * len(GENERATED_TYPES):,} facilities of {len(GENERATED_TYPES)} types "
            f"({per_type:,} each), random points within 150 m of a road."
        ),
    )
    case.build_rows.append(("generate the osmnx-style `MultiDiGraph` (networkx)", fmt_secs(t_gen),
                            fmt_mib(mem["peak_mib"])))
    case.build_rows.append(("Anzhi `RoadGraph.from_networkx(G, profile=drive)`", fmt_secs(t_build),
                            fmt_mib(mem2["peak_mib"])))
    case.build_rows.append(("Anzhi transposed length CSR (`weight_csr(reverse=True)`, cached)",
                            fmt_secs(t_rev), "n/a"))

    s_lon, s_lat = points_near_roads(graph, sites, rng)
    f_lon, f_lat = points_near_roads(graph, per_type * len(GENERATED_TYPES), rng)
    f_type = np.repeat(np.asarray(GENERATED_TYPES), per_type)
    bench_snapping(case, G, graph, s_lon, s_lat, repeat=repeat, loop_budget_s=loop_budget_s)
    del G
    s_node = snap_points(graph, s_lon, s_lat).node
    f_node = snap_points(graph, f_lon, f_lat).node
    fac_nodes = {t: f_node[(f_type == t) & (f_node >= 0)] for t in GENERATED_TYPES}
    bench_queries(case, graph, s_node[s_node >= 0], fac_nodes, repeat=repeat,
                  loop_sample=loop_sample, rng=rng, pandana_on=pandana_on,
                  pandana_timeout_s=pandana_timeout_s, force_profile=profile_on)
    return case


def run_andorra(path: Path, *, sites: int, repeat: int, loop_sample: int, loop_budget_s: float,
                seed: int, pandana_on: bool, pandana_timeout_s: float | None = None,
                  profile_on: bool = False) -> Case:
    """Andorra: real roads (drive profile) and real amenities."""
    rng = np.random.default_rng(seed + 1)
    t0 = time.perf_counter()
    with override(progress=False):
        G = load_road_graph(path)
    t_load = time.perf_counter() - t0
    profile = load_profile("drive")
    with peak_extra() as mem:
        t0 = time.perf_counter()
        graph = RoadGraph.from_networkx(G, profile=profile)
        t_build = time.perf_counter() - t0
    graph.weight_csr("length", reverse=True)
    log(f"andorra: load {t_load:.1f} s, RoadGraph {t_build:.2f} s, {graph.n_edges:,} edges")
    # the osmnx peers snap onto the same drivable roads as Anzhi
    drivable = [(u, v, k) for u, v, k, d in G.edges(keys=True, data=True)
                if _drivable(profile, d.get("highway"))]
    G_drive = G.edge_subgraph(drivable).copy()
    f_lon, f_lat, f_kind = read_amenities(path)
    s_lon, s_lat = points_near_roads(graph, sites, rng)
    case = Case(name="andorra", description="")
    case.build_rows.append(("`load_road_graph` (filter highways, osmnx read + simplify)",
                            fmt_secs(t_load), "n/a"))
    case.build_rows.append(("Anzhi `RoadGraph.from_networkx(G, profile=drive)`", fmt_secs(t_build),
                            fmt_mib(mem["peak_mib"])))
    bench_snapping(case, G_drive, graph, s_lon, s_lat, repeat=repeat, loop_budget_s=loop_budget_s)
    del G, G_drive
    s_node = snap_points(graph, s_lon, s_lat).node
    f_snap = snap_points(graph, f_lon, f_lat)
    on_net = f_snap.node >= 0
    types = [t for t in ANDORRA_AMENITIES if ((f_kind == t) & on_net).any()]
    counts = ", ".join(f"{t} {int(((f_kind == t) & on_net).sum())}" for t in types)
    absent = [t for t in ANDORRA_AMENITIES if t not in types]
    case.description = (
        f"Andorra (`{path.name}`, `load_road_graph` + drive profile): {graph.n_nodes:,} nodes, "
        f"{graph.n_edges:,} directed edges; {sites:,} random sites within 150 m of a road; "
        f"facilities = the real amenities by type ({counts}"
        + (f"; none of {', '.join(absent)}" if absent else "") + ") read with pyosmium (nodes, "
        "and ways at their centroid), those within 2,000 m of a drivable road."
    )
    fac_nodes = {t: f_snap.node[(f_kind == t) & on_net] for t in types}
    bench_queries(case, graph, s_node[s_node >= 0], fac_nodes, repeat=repeat,
                  loop_sample=loop_sample, rng=rng, pandana_on=pandana_on,
                  pandana_timeout_s=pandana_timeout_s, force_profile=profile_on)
    return case


def _drivable(profile: Any, highway: Any) -> bool:
    """Whether an edge with this ``highway`` value is kept by ``RoadGraph`` for ``profile``."""
    if highway is None:
        return profile.speed_kph("default") is not None
    classes = highway if isinstance(highway, list) else [highway]
    return any(profile.speed_kph(str(c)) is not None for c in classes)
