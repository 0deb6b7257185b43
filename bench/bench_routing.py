"""Routing benchmark: snapping and nearest facility per type vs networkx, scipy, osmnx, pandana.

Run ``python -m bench.bench_routing`` (about 11 minutes on 2 cores, 8 of them waiting for
pandana; ``--quick`` for a smoke run of ~15 s).  Writes the ``routing`` section of ``docs/benchmarks.md``.

Two networks, each measured in this one run with every peer:

* **Generated**: a seeded, road-like, osmnx-style ``MultiDiGraph`` around 106.7°E 26.6°N
  (Guizhou): a jittered grid (~150 m blocks) with arterial rows/columns, random diagonals
  (tracks), 8 % of local streets removed and 3 % of residential/service streets oneway;
  edge ``length`` is osmnx's great-circle metres.  Default ≥ 1,000,000 directed edges,
  5,000 sites and 20,000 facilities of 8 types (2,500 each), random points within 150 m of
  a road.
* **Andorra** (``../shared/data/osm/andorra-2020-05-01.osm.bz2`` through
  :func:`layers.osm.load_road_graph`, drive profile): 5,000 random sites near roads and the
  real amenities (hospital, doctors, clinic, school, kindergarten, police, pharmacy; nodes
  and way centroids, read with pyosmium) as facilities, one type per amenity value.

Measured:

* **Snapping** the sites: Anzhi's :func:`geo.routing.snap_points` (STRtree of the physical
  edges built once per graph, reported separately) against osmnx ``nearest_edges`` and
  ``nearest_nodes`` called per point (as scripts do: a sample of points is measured and
  extrapolated, which the table says) and in bulk, and a direct ``cKDTree`` on the node
  coordinates.  The peers answer easier questions (nearest edge in degrees, nearest node).
* **Nearest facility of each type for every site**, sites and facilities at their snapped
  nodes so that every peer answers the same question (the road length from the site's node
  to the nearest facility node; the graph's ``length`` CSR, drive profile, oneway streets
  respected): Anzhi as :func:`geo.routing.access_table` runs it — the sites placed once
  (:func:`geo.routing.place_sites`), then :func:`geo.routing.nearest_facility_index` per
  type (routing only; the one-call adapter :func:`geo.routing.nearest_facility` is shown
  too) — against the bare
  ``scipy.sparse.csgraph.dijkstra(min_only=True)`` call it wraps, networkx
  ``multi_source_dijkstra_path_length`` on the transposed ``DiGraph`` of the same CSR, a
  per-site networkx loop (``dijkstra_path_length`` to a sink joined to every facility, so
  each run stops at the nearest facility; a sample of sites, extrapolated) and pandana
  (contraction hierarchy built from the same directed edges, then ``set_pois`` +
  ``nearest_pois``; in its own process, stopped after ``--pandana-timeout`` seconds: its CH
  build grows faster than linearly on grid-like graphs and does not finish within the
  default 480 s on the 1M-edge grid of this 2-core machine).  Every answer is compared with
  scipy's before any ratio is shown; :func:`main` returns 1 when any answer disagrees.

Memory: build steps report the process's peak RSS during the step above its RSS before it
(``/proc/self/clear_refs`` resets the peak); query calls the ``tracemalloc`` peak of one
extra, untimed call for the first type; pandana the peak RSS of its whole process.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import math
import pstats
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, cast

import networkx as nx
import numpy as np
import osmnx as ox
import pyproj
import scipy.sparse as sp
import shapely
from numpy.typing import NDArray
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from anzhi.core.settings import override
from bench._report import REPO, timed, write_section
from geo.roads import RoadGraph, load_profile
from layers.osm import load_road_graph
from geo.routing import (
    nearest_facility,
    nearest_facility_index,
    place_sites,
    snap_points,
)

ANDORRA = REPO.parent / "shared" / "data" / "osm" / "andorra-2020-05-01.osm.bz2"

#: Amenity values read from Andorra as facility types (one type per value).
ANDORRA_AMENITIES = ("hospital", "doctors", "clinic", "school", "kindergarten", "police", "pharmacy")

#: The 8 facility types of the generated network.
GENERATED_TYPES = ("clinic", "township_health_centre", "kindergarten", "primary_school",
                   "middle_school", "police_room", "police_station", "elderly_care")

#: Tolerance (m) of the exact peers (scipy, networkx) against each other.
EXACT_TOL_M = 1e-6
#: pandana's contraction hierarchy stores edge weights as integers (× DISTANCEMULTFACT =
#: 1000, i.e. millimetres), so its sums drift by up to ~1 mm per edge of the path.
PANDANA_TOL_M = 1.0

_LOCAL = np.array(["residential", "unclassified", "track", "service"])
_LOCAL_P = np.array([0.5, 0.25, 0.15, 0.10])


def _log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ====================================================================================== memory


def _status_mib(key: str) -> float:
    """A ``VmRSS``/``VmHWM`` line of ``/proc/self/status`` in MiB (NaN where unavailable)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return math.nan


@contextlib.contextmanager
def peak_extra() -> Iterator[dict[str, float]]:
    """Measure a block's peak RSS above the RSS before it (MiB) as ``rec["peak_mib"]``.

    Resets the kernel's peak-RSS mark (``echo 5 > /proc/self/clear_refs``) first; where that
    is not possible the value is NaN.
    """
    rec: dict[str, float] = {}
    base = _status_mib("VmRSS")
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
            fh.write("5")
        ok = True
    except OSError:
        ok = False
    try:
        yield rec
    finally:
        rec["peak_mib"] = (_status_mib("VmHWM") - base) if ok else math.nan
        rec["growth_mib"] = _status_mib("VmRSS") - base


def _fmt_mib(value: float) -> str:
    if not math.isfinite(value):
        return "n/a"
    value = max(value, 0.0)
    return f"{value:.1f} MiB" if value < 10 else f"{value:,.0f} MiB"


# ====================================================================================== data


@dataclass(frozen=True)
class GridArrays:
    """The generated network as arrays (directed edges)."""

    side: int
    node_id: NDArray[np.int64]
    lon: NDArray[np.float64]
    lat: NDArray[np.float64]
    u: NDArray[np.int64]
    v: NDArray[np.int64]
    highway: NDArray[np.str_]
    oneway: NDArray[np.bool_]


def _grid_arrays(side: int, seed: int) -> GridArrays:
    """A jittered ``side × side`` grid around 106.7°E 26.6°N as directed edge arrays."""
    rng = np.random.default_rng(seed)
    n = side * side
    i, j = np.divmod(np.arange(n), side)
    spacing_m = 150.0
    dlat = spacing_m / 111_320.0
    dlon = spacing_m / (111_320.0 * math.cos(math.radians(26.6)))
    lat = 26.6 + (i - side / 2) * dlat + rng.uniform(-0.3, 0.3, n) * dlat
    lon = 106.7 + (j - side / 2) * dlon + rng.uniform(-0.3, 0.3, n) * dlon
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
    u = np.concatenate([a, b[two]])
    v = np.concatenate([b, a[two]])
    hw = np.concatenate([cls, cls[two]])
    ow = np.concatenate([oneway, oneway[two]])
    return GridArrays(side=side, node_id=10_000_000 + idx, lon=lon, lat=lat, u=u, v=v,
                      highway=hw, oneway=ow)


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
        arr = _grid_arrays(side, seed)
        if len(arr.u) >= n_edges:
            break
        side += 1
    length = np.asarray(ox.distance.great_circle(arr.lat[arr.u], arr.lon[arr.u],
                                                 arr.lat[arr.v], arr.lon[arr.v]), dtype=np.float64)
    G = nx.MultiDiGraph(crs="epsg:4326", grid_side=side)
    used = np.unique(np.concatenate([arr.u, arr.v]))
    G.add_nodes_from(
        (nid, {"x": x, "y": y})
        for nid, x, y in zip(arr.node_id[used].tolist(), arr.lon[used].tolist(),
                             arr.lat[used].tolist(), strict=True)
    )
    G.add_edges_from(
        (uu, vv, {"length": ln, "highway": hw, "oneway": ow})
        for uu, vv, ln, hw, ow in zip(arr.node_id[arr.u].tolist(), arr.node_id[arr.v].tolist(),
                                      length.tolist(), arr.highway.tolist(), arr.oneway.tolist(),
                                      strict=True)
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


# ====================================================================================== helpers


def _mismatches(got: NDArray[np.float64], ref: NDArray[np.float64], tol: float) -> tuple[int, float]:
    """(count of answers that differ by more than ``tol`` or in reachability, max |diff|)."""
    got = np.asarray(got, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    fin_g, fin_r = np.isfinite(got), np.isfinite(ref)
    both = fin_g & fin_r
    diff = np.abs(got[both] - ref[both])
    bad = int((fin_g != fin_r).sum()) + int((diff > tol).sum())
    return bad, float(diff.max()) if len(diff) else 0.0


def _nx_digraph(csr: sp.csr_matrix) -> nx.DiGraph:
    """A networkx ``DiGraph`` with the CSR's entries (explicit zeros kept) as ``weight``."""
    coo = csr.tocoo()
    G = nx.DiGraph()
    G.add_nodes_from(range(csr.shape[0]))
    G.add_weighted_edges_from(zip(coo.row.tolist(), coo.col.tolist(), coo.data.tolist(), strict=True))
    return G


def _per_call(fn: Callable[[int], Any], n_total: int, *, budget_s: float, max_calls: int
              ) -> tuple[float, int]:
    """Mean seconds per call of ``fn(i)`` over a sample (at least 1 call, stop at the budget)."""
    t0 = time.perf_counter()
    k = 0
    while k < min(max_calls, n_total):
        fn(k)
        k += 1
        if time.perf_counter() - t0 >= budget_s:
            break
    return (time.perf_counter() - t0) / max(k, 1), k


def _secs(t: float) -> str:
    if t >= 3600:
        return f"{t / 3600:,.1f} h"
    if t >= 100:
        return f"{t:,.0f} s"
    if t >= 1:
        return f"{t:.2f} s"
    return f"{t * 1000:.1f} ms"


def _x(r: float) -> str:
    return f"{r:,.0f}×" if r >= 100 else f"{r:.1f}×" if r >= 10 else f"{r:.2f}×"


@dataclass
class Case:
    """Results of one network (generated or Andorra)."""

    name: str
    description: str
    build_rows: list[tuple[str, str, str]] = field(default_factory=list)  # (step, time, memory)
    snap_rows: list[tuple[str, str, float, str]] = field(default_factory=list)  # (method, answer, s, note)
    snap_notes: list[str] = field(default_factory=list)
    #: (method, seconds, "" or "> " for a lower bound, answers check, memory)
    query_rows: list[tuple[str, float, str, str, str]] = field(default_factory=list)
    per_type: list[tuple[str, int, dict[str, float]]] = field(default_factory=list)
    query_notes: list[str] = field(default_factory=list)
    targets: list[tuple[str, str, bool]] = field(default_factory=list)
    disagreements: dict[str, int] = field(default_factory=dict)
    profile: str = ""
    n_sites: int = 0


# ====================================================================================== snapping


def bench_snapping(case: Case, G: nx.MultiDiGraph, graph: RoadGraph, lon: NDArray[np.float64],
                   lat: NDArray[np.float64], *, repeat: int, loop_budget_s: float) -> None:
    """Anzhi ``snap_points`` vs osmnx ``nearest_edges``/``nearest_nodes`` and a cKDTree."""
    n = len(lon)
    t0 = time.perf_counter()
    _ = graph.pedge_tree, graph.pedge_vertex_measure, graph.pedge_geom_length_m
    t_tree = time.perf_counter() - t0
    t_anzhi, snap = timed(lambda: snap_points(graph, lon, lat), repeat=repeat)
    case.snap_rows.append((
        (f"**Anzhi `snap_points`** (bulk; STRtree built once per graph in {_secs(t_tree)}, "
        "not included)"),
        "nearest point of the nearest road, metric CRS", t_anzhi, ""))
    _log(f"{case.name}: snap_points {t_anzhi:.3f} s (tree {t_tree:.2f} s)")

    to_m = pyproj.Transformer.from_crs("EPSG:4326", graph.crs_metric, always_xy=True)

    def kdtree() -> tuple[NDArray[np.float64], NDArray[np.int64]]:
        tree = cKDTree(np.column_stack([graph.x_m, graph.y_m]))
        px, py = to_m.transform(lon, lat)
        d, k = tree.query(np.column_stack([px, py]), k=1)
        return np.asarray(d), np.asarray(k, dtype=np.int64)

    t_kd, (_, kd_node) = timed(kdtree, repeat=repeat)
    case.snap_rows.append((
        "scipy `cKDTree` on the node coordinates (build + query, points projected)",
        "nearest node, metric CRS", t_kd, ""))

    t_nn_bulk, nn_ids = timed(lambda: ox.distance.nearest_nodes(G, lon, lat), repeat=1)
    per_nn, k_nn = _per_call(lambda i: ox.distance.nearest_nodes(G, float(lon[i]), float(lat[i])),
                             n, budget_s=loop_budget_s, max_calls=200)
    _log(f"{case.name}: nearest_nodes bulk {t_nn_bulk:.2f} s, per point {per_nn:.3f} s × {k_nn}")
    t_ne_bulk, ne_ids = timed(lambda: ox.distance.nearest_edges(G, lon, lat), repeat=1)
    per_ne, k_ne = _per_call(lambda i: ox.distance.nearest_edges(G, float(lon[i]), float(lat[i])),
                             n, budget_s=loop_budget_s, max_calls=200)
    _log(f"{case.name}: nearest_edges bulk {t_ne_bulk:.2f} s, per point {per_ne:.3f} s × {k_ne}")
    extrap = "measured" if k_ne >= n else f"{k_ne} of {n:,} points measured, × {n:,} extrapolated"
    case.snap_rows.append(("osmnx `nearest_edges`, one call per point (as scripts do)",
                           "nearest edge in lon/lat degrees", per_ne * n, extrap))
    case.snap_rows.append(("osmnx `nearest_edges`, one bulk call", "nearest edge in lon/lat degrees",
                           t_ne_bulk, ""))
    extrap = "measured" if k_nn >= n else f"{k_nn} of {n:,} points measured, × {n:,} extrapolated"
    case.snap_rows.append(("osmnx `nearest_nodes`, one call per point (as scripts do)",
                           "nearest node (haversine BallTree)", per_nn * n, extrap))
    case.snap_rows.append(("osmnx `nearest_nodes`, one bulk call", "nearest node (haversine BallTree)",
                           t_nn_bulk, ""))

    # answers: the nearest road point is never farther than the nearest node (a point of a road)
    node_gc = np.asarray(ox.distance.great_circle(lat, lon, graph.lat[kd_node], graph.lon[kd_node]))
    farther = int((snap.snap_dist_m > node_gc * 1.001 + 0.01).sum())
    case.disagreements[f"{case.name}: snap distance > nearest-node distance"] = farther
    a_u = graph.node_ids[graph.pedge_u[snap.edge]]
    a_v = graph.node_ids[graph.pedge_v[snap.edge]]
    ne = np.asarray([(e[0], e[1]) for e in ne_ids], dtype=np.int64).reshape(-1, 2)
    same_edge = ((np.minimum(a_u, a_v) == ne.min(axis=1)) & (np.maximum(a_u, a_v) == ne.max(axis=1)))
    same_node = graph.node_ids[kd_node] == np.asarray(nn_ids, dtype=np.int64)
    case.snap_notes.append(
        f"Answers: every Anzhi snap distance is ≤ the distance to the nearest node "
        f"({farther} exceptions); osmnx `nearest_edges` picks the same street as Anzhi for "
        f"{same_edge.mean():.1%} of the points (it measures in degrees on the unprojected graph, "
        f"which stretches east–west distances); osmnx `nearest_nodes` and the cKDTree agree on "
        f"{same_node.mean():.1%} (haversine vs projected metres: near-ties)."
    )


# ====================================================================================== queries


def _pandana_child(inp: Path, out: Path) -> None:
    """In a fresh process: pandana CH build, then ``set_pois`` + ``nearest_pois`` per type."""
    import pandana  # type: ignore[import-untyped]
    import pandas as pd

    data = np.load(inp, allow_pickle=False)
    types = [str(t) for t in data["types"]]
    offsets = data["fac_offsets"]
    out.with_suffix(".started").write_text(repr(time.time()))  # CH build starts now
    t0 = time.perf_counter()
    net = pandana.Network(pd.Series(data["lon"]), pd.Series(data["lat"]), pd.Series(data["frm"]),
                          pd.Series(data["to"]), pd.DataFrame({"length": data["w"]}), twoway=False)
    t_ch = time.perf_counter() - t0
    result: dict[str, NDArray[Any]] = {"t_ch": np.array(t_ch)}
    t_set, t_query = [], []
    for i, ftype in enumerate(types):
        fnodes = data["fac_nodes"][offsets[i]:offsets[i + 1]]
        cap = float(data["caps"][i])
        t0 = time.perf_counter()
        net.set_pois(category=ftype, maxdist=cap, maxitems=1, x_col=pd.Series(data["lon"][fnodes]),
                     y_col=pd.Series(data["lat"][fnodes]))
        t_set.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        res = net.nearest_pois(cap, ftype, num_pois=1, max_distance=np.inf)
        t_query.append(time.perf_counter() - t0)
        result[f"dist_{i}"] = res[1].to_numpy(dtype=np.float64)[data["site_nodes"]]
    result["t_set"] = np.asarray(t_set)
    result["t_query"] = np.asarray(t_query)
    result["peak_mib"] = np.array(_status_mib("VmHWM"))
    np.savez(out, **cast(dict[str, Any], result))


@dataclass
class PandanaRun:
    """What the pandana child process reported."""

    status: str  # "ok", "timeout" or an error message
    t_ch: float = math.nan
    t_set: NDArray[np.float64] | None = None
    t_query: NDArray[np.float64] | None = None
    dist: list[NDArray[np.float64]] = field(default_factory=list)
    peak_mib: float = math.nan


def _run_pandana(graph: RoadGraph, site_nodes: NDArray[np.int64],
                 fac_nodes: dict[str, NDArray[np.int64]], caps: list[float], *,
                 timeout_s: float | None) -> PandanaRun:
    """pandana in a child process (its own peak memory, stopped after ``timeout_s``)."""
    fwd = graph.weight_csr("length").tocoo()
    nodes = list(fac_nodes.values())
    with tempfile.TemporaryDirectory(prefix="anzhi-bench-pandana-") as tmp:
        inp, out = Path(tmp) / "in.npz", Path(tmp) / "out.npz"
        np.savez(inp, lon=graph.lon, lat=graph.lat, frm=fwd.row.astype(np.int64),
                 to=fwd.col.astype(np.int64), w=fwd.data.astype(np.float64),
                 site_nodes=site_nodes.astype(np.int64),
                 types=np.asarray(list(fac_nodes), dtype=str),
                 fac_nodes=np.concatenate(nodes).astype(np.int64),
                 fac_offsets=np.concatenate([[0], np.cumsum([len(x) for x in nodes])]).astype(np.int64),
                 caps=np.asarray(caps, dtype=np.float64))
        cmd = [sys.executable, "-m", "bench.bench_routing", "--pandana-child", str(inp), str(out)]
        try:
            proc = subprocess.run(cmd, check=False, cwd=REPO, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, text=True, timeout=timeout_s)
        except subprocess.TimeoutExpired:
            started = out.with_suffix(".started")
            ran = time.time() - float(started.read_text()) if started.exists() else 0.0
            return PandanaRun(status="timeout", t_ch=ran)
        if proc.returncode != 0:
            return PandanaRun(status=f"failed: {proc.stderr.strip().splitlines()[-1:]}")
        res = np.load(out)
        return PandanaRun(status="ok", t_ch=float(res["t_ch"]), t_set=res["t_set"],
                          t_query=res["t_query"], peak_mib=float(res["peak_mib"]),
                          dist=[res[f"dist_{i}"] for i in range(len(nodes))])


def bench_queries(case: Case, graph: RoadGraph, site_nodes: NDArray[np.int64],
                  fac_nodes: dict[str, NDArray[np.int64]], *, repeat: int, loop_sample: int,
                  rng: np.random.Generator, pandana_on: bool, pandana_timeout_s: float | None,
                  force_profile: bool = False) -> None:
    """Nearest facility of each type for every site: Anzhi vs scipy, networkx, pandana."""
    n_sites = len(site_nodes)
    rev = graph.weight_csr("length", reverse=True)
    with peak_extra() as mem:
        t0 = time.perf_counter()
        g_rev = _nx_digraph(rev)
        t_nxbuild = time.perf_counter() - t0
    case.build_rows.append(("networkx `DiGraph` of the transposed CSR (peer input)",
                            _secs(t_nxbuild), _fmt_mib(mem["peak_mib"])))
    g_fwd = g_rev.reverse(copy=False)  # a view: the forward graph for the per-site loop
    _log(f"{case.name}: networkx DiGraph {t_nxbuild:.1f} s")

    sample = np.sort(rng.choice(n_sites, size=min(loop_sample, n_sites), replace=False))
    # per-site loop: a sink joined from every facility node (weight 0) makes networkx stop at
    # the first facility popped; edges added to the transposed graph appear reversed in the
    # forward view
    sink = graph.n_nodes

    def one_site(s: int) -> float:
        try:
            return float(nx.dijkstra_path_length(g_fwd, s, sink, weight="weight"))
        except nx.NetworkXNoPath:
            return math.inf

    tot: dict[str, float] = {k: 0.0 for k in ("anzhi", "scipy", "scipy_dist", "nx", "loop",
                                               "wrapper")}
    peaks: dict[str, float] = {}  # MiB, tracemalloc peak of one call of the first type
    bad: dict[str, int] = {"Anzhi": 0, "networkx multi-source": 0, "networkx per-site loop": 0}
    maxdiff: dict[str, float] = {k: 0.0 for k in bad}
    refs: list[NDArray[np.float64]] = []
    other_winner = 0
    zeros_s = np.zeros(n_sites)
    # Anzhi as access_table runs it: the sites join the network once per weight
    # (place_sites), then one nearest_facility_index call per type; the placement's time
    # is counted once in the total
    place = partial(place_sites, graph, site_nodes, zeros_s, weight="length")
    place()  # warm-up
    t_place, placed = timed(place, repeat=repeat)
    tot["anzhi"] += t_place
    for ftype, fnodes in fac_nodes.items():
        k = len(fnodes)
        ids = np.asarray([f"{ftype}-{i}" for i in range(k)], dtype=object)
        zeros_f = np.zeros(k)
        anzhi = partial(nearest_facility_index, graph, placed, fnodes, zeros_f)
        anzhi()  # warm-up
        bare = partial(dijkstra, rev, directed=True, indices=fnodes, min_only=True,
                       return_predecessors=True)
        # interleaved, so that a slow spell of the machine hits both
        t_a = t_s = math.inf
        for _ in range(repeat):
            t_one, (a_fac, a_cost) = timed(anzhi, repeat=1)
            t_a = min(t_a, t_one)
            t_one, (s_dist, _pred, s_src) = timed(bare, repeat=1)
            t_s = min(t_s, t_one)
        wrapper = partial(nearest_facility, graph, site_nodes, zeros_s, fnodes, zeros_f, ids,
                          weight="length")
        t_w, (w_ids, w_cost) = timed(wrapper, repeat=repeat)
        if not peaks:  # memory of one call, first type only (tracemalloc slows the call)
            peaks["anzhi"] = traced_peak_mib(anzhi)
            peaks["scipy"] = traced_peak_mib(bare)
        t_sd, _ = timed(partial(dijkstra, rev, directed=True, indices=fnodes, min_only=True),
                        repeat=repeat)
        ref = np.asarray(s_dist[site_nodes], dtype=np.float64)
        refs.append(ref)
        n_bad, md = _mismatches(a_cost, ref, EXACT_TOL_M)
        # the one-call adapter must name the same facilities at the same costs
        n_bad += int((w_cost != a_cost).sum())
        n_bad += int((w_ids != np.append(ids, "")[a_fac].astype(str)).sum())
        bad["Anzhi"] += n_bad
        maxdiff["Anzhi"] = max(maxdiff["Anzhi"], md)
        # which facility: Anzhi's must stand on the node of scipy's winning source (else a tie)
        named = a_fac >= 0
        other_winner += int((fnodes[a_fac[named]] != s_src[site_nodes[named]]).sum())

        fset = set(fnodes.tolist())
        nx_multi = partial(nx.multi_source_dijkstra_path_length, g_rev, fset, weight="weight")
        t_n, nx_len = timed(nx_multi, repeat=1)
        if "nx" not in peaks:
            peaks["nx"] = traced_peak_mib(nx_multi)
        nx_dist = np.asarray([nx_len.get(s, np.inf) for s in site_nodes.tolist()])
        del nx_len
        n_bad, md = _mismatches(nx_dist, ref, EXACT_TOL_M)
        bad["networkx multi-source"] += n_bad
        maxdiff["networkx multi-source"] = max(maxdiff["networkx multi-source"], md)

        g_rev.add_weighted_edges_from((sink, f, 0.0) for f in fset)
        t0 = time.perf_counter()
        loop_dist = np.asarray([one_site(int(site_nodes[i])) for i in sample])
        t_l = (time.perf_counter() - t0) / len(sample) * n_sites
        g_rev.remove_node(sink)
        n_bad, md = _mismatches(loop_dist, ref[sample], EXACT_TOL_M)
        bad["networkx per-site loop"] += n_bad
        maxdiff["networkx per-site loop"] = max(maxdiff["networkx per-site loop"], md)

        for key, t in (("anzhi", t_a), ("scipy", t_s), ("scipy_dist", t_sd), ("nx", t_n),
                       ("loop", t_l), ("wrapper", t_w)):
            tot[key] += t
        case.per_type.append((ftype, k, {"anzhi": t_a, "scipy": t_s, "nx": t_n, "loop": t_l,
                                         "pd_query": math.nan}))
        _log(f"{case.name}: {ftype} ({k}): anzhi {t_a:.3f} s, scipy {t_s:.3f} s, nx {t_n:.2f} s, "
             f"loop≈{t_l:.1f} s")

    n_t = len(fac_nodes)
    t_a = tot["anzhi"]

    def check(who: str) -> str:
        return (("agree" if bad[who] == 0 else f"**{bad[who]:,} disagree**")
                + f" (max diff {maxdiff[who]:.2g} m)")

    case.query_rows.append((
        ("**Anzhi** `place_sites` once + `nearest_facility_index` per type, as `access_table` "
         "runs (routing only; sites and facilities at nodes)"),
        t_a, "", check("Anzhi"), _fmt_mib(peaks["anzhi"]) + "*"))
    case.query_rows.append((
        ("Anzhi `nearest_facility` per type (the one-call adapter: places the sites again on "
         "every call and maps facility ids; same answers)"),
        tot["wrapper"], "", check("Anzhi"), "n/a"))
    case.query_rows.append((
        ("bare `scipy.sparse.csgraph.dijkstra(min_only=True, return_predecessors=True)` on the "
        "transposed CSR (the call Anzhi wraps)"),
        tot["scipy"], "", "reference", _fmt_mib(peaks["scipy"]) + "*"))
    case.query_rows.append(("networkx `multi_source_dijkstra_path_length` (transposed `DiGraph`)",
                            tot["nx"], "", check("networkx multi-source"),
                            _fmt_mib(peaks["nx"]) + "*"))
    case.query_rows.append((
        (f"networkx per-site loop (`dijkstra_path_length` to a sink behind every facility, "
         f"stops at the nearest; {len(sample)} of {n_sites:,} sites per type measured, "
         "**extrapolated**)"),
        tot["loop"], "", check("networkx per-site loop"), "n/a"))
    case.query_notes.append(
        f"Times are sums over the {n_t} types (best of {repeat} for Anzhi and scipy, "
        f"interleaved call by call, one run for the others); Anzhi's includes one `place_sites` "
        f"({_secs(t_place)}). Bare scipy without predecessors (distances only, no winning facility): "
        f"{_secs(tot['scipy_dist'])}. *Memory: peak of the Python/NumPy allocations of one "
        f"`nearest_facility_index` / scipy call for the first type ({next(iter(fac_nodes))}), measured with `tracemalloc` in an "
        "extra, untimed call. Anzhi names a facility on another node than scipy's "
        f"winning source for {other_winner:,} of {n_sites * n_t:,} site × type answers (equal "
        "distances: ties)."
    )

    r_nx = tot["nx"] / t_a
    r_scipy = t_a / tot["scipy"]
    case.targets.append(("Anzhi ≥ 10× faster than networkx `multi_source_dijkstra_path_length`",
                         f"{_x(r_nx)} faster", r_nx >= 10.0))
    case.targets.append((
        "far ahead of a per-site networkx loop (no number set; ≥ 10× read as far ahead)",
        f"{_x(tot['loop'] / t_a)} faster (extrapolated)", tot["loop"] / t_a >= 10.0))

    if pandana_on:
        caps = []
        for ref in refs:
            finite = ref[np.isfinite(ref)]
            caps.append(float(math.ceil((finite.max() if len(finite) else 1000.0) * 1.05 + 10.0)))
        _log(f"{case.name}: pandana (child process, timeout {pandana_timeout_s} s)")
        t0 = time.perf_counter()
        pdr = _run_pandana(graph, site_nodes, fac_nodes, caps, timeout_s=pandana_timeout_s)
        _log(f"{case.name}: pandana {pdr.status} after {time.perf_counter() - t0:.0f} s")
        label_ch = ("pandana `Network` (contraction hierarchy of the same directed edges, "
                    "`twoway=False`; own process)")
        if pdr.status == "ok":
            assert pdr.t_set is not None and pdr.t_query is not None
            n_bad = 0
            md = 0.0
            for i, ref in enumerate(refs):
                # beyond the cap pandana answers max_distance (inf here); scipy's is then > cap
                ref_cap = np.where(ref <= caps[i], ref, np.inf)
                b, m = _mismatches(pdr.dist[i], ref_cap, PANDANA_TOL_M)
                n_bad, md = n_bad + b, max(md, m)
                case.per_type[i][2]["pd_query"] = float(pdr.t_set[i] + pdr.t_query[i])
            bad["pandana"], maxdiff["pandana"] = n_bad, md
            t_pq = float(pdr.t_set.sum() + pdr.t_query.sum())
            case.build_rows.append((label_ch, _secs(pdr.t_ch),
                                    f"{_fmt_mib(pdr.peak_mib)} (whole pandana process)"))
            case.query_rows.append(("pandana `set_pois` + `nearest_pois` (query only, CH built)",
                                    t_pq, "", check("pandana"), "see build"))
            case.query_rows.append((
                f"pandana CH build ({_secs(pdr.t_ch)}) + `set_pois` + `nearest_pois`",
                pdr.t_ch + t_pq, "", check("pandana"), "see build"))
            r_pd = (pdr.t_ch + t_pq) / t_a
            case.targets.append((
                "Anzhi faster than pandana (CH build + `set_pois` + `nearest_pois`)",
                f"{_x(r_pd)} faster (query alone: {_x(t_pq / t_a)})", r_pd > 1.0))
        elif pdr.status == "timeout":
            ran = pdr.t_ch  # how long the CH build had run when the process was stopped
            case.build_rows.append((
                label_ch, f"**not finished**: stopped after {_secs(ran)} of CH build", "n/a"))
            case.query_rows.append((
                (f"pandana CH build + `set_pois` + `nearest_pois` (CH build stopped after "
                f"{_secs(ran)})"), ran, "> ", "not compared (no answer)", "n/a"))
            case.targets.append((
                "Anzhi faster than pandana (CH build + `set_pois` + `nearest_pois`)",
                f"> {_x(ran / t_a)} faster (lower bound: pandana's CH build was stopped)",
                ran > t_a))
            bad["pandana"] = 0
        else:
            case.build_rows.append((label_ch, f"**{pdr.status}**", "n/a"))
            case.targets.append(("Anzhi faster than pandana", f"pandana {pdr.status}", False))
            bad["pandana run failed"] = 1
        if pdr.status == "ok":
            case.query_notes.append(
                "pandana: `nearest_pois` answers for every node of the network (it cannot be asked "
                "for the sites only) and only within a distance cap; the cap was set per type just "
                "above the largest true answer among the sites (known from scipy: "
                f"{min(caps):,.0f}–{max(caps):,.0f} m), which favours pandana — in real use the cap "
                "is guessed and answers beyond it come back as the cap. Its CH stores edge weights "
                "as integer millimetres, so distances are compared within "
                f"{PANDANA_TOL_M:g} m; which facility wins a tie is not compared. `precompute` is "
                "not run: `nearest_pois` does not use it (it caches range queries for "
                "`aggregate`). pandana runs in its own process (fresh interpreter; its start-up "
                "is not counted)."
            )
        elif pdr.status == "timeout":
            case.query_notes.append(
                f"pandana: the contraction hierarchy of this graph did not finish within the "
                f"{_secs(pandana_timeout_s or 0)} allowed (`--pandana-timeout`), so pandana gave no "
                "answer here and its answers are checked on the other network(s) only (CH "
                "preprocessing grows faster than linearly with the size of grid-like graphs); "
                "rerun with `--pandana-timeout 0` to wait for it."
            )
    case.disagreements.update({f"{case.name}: {k}": v for k, v in bad.items()})
    case.targets.append(("Anzhi's routing step ≤ 2× the bare scipy call it wraps",
                         f"Anzhi / scipy = {r_scipy:.2f}", r_scipy <= 2.0))
    case.n_sites = max(case.n_sites, n_sites)
    if force_profile or not all(ok for _, _, ok in case.targets):
        case.profile = _profile(graph, site_nodes, next(iter(fac_nodes.values())))
        case.query_notes.append(case.profile.split("\n\n", 1)[0])


def traced_peak_mib(fn: Callable[[], Any]) -> float:
    """Peak of the Python and NumPy allocations (MiB, ``tracemalloc``) during one ``fn()``."""
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def _profile(graph: RoadGraph, site_nodes: NDArray[np.int64], fnodes: NDArray[np.int64]) -> str:
    """Where one ``nearest_facility_index`` call spends its time (cProfile over repeated calls)."""
    placed = place_sites(graph, site_nodes, np.zeros(len(site_nodes)), weight="length")
    call = partial(nearest_facility_index, graph, placed, fnodes, np.zeros(len(fnodes)))
    bare = partial(dijkstra, graph.weight_csr("length", reverse=True), directed=True,
                   indices=fnodes, min_only=True, return_predecessors=True)
    t_call, _ = timed(call, repeat=5)
    t_bare, _ = timed(bare, repeat=5)
    n = max(1, min(300, int(0.5 / max(t_call, 1e-6))))
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(n):
        call()
    prof.disable()
    out = io.StringIO()
    out.write(f"{len(site_nodes):,} sites, {len(fnodes):,} facilities, {graph.n_nodes:,} nodes: "
              f"nearest_facility_index {t_call * 1e3:.2f} ms per call, bare scipy dijkstra "
              f"{t_bare * 1e3:.2f} ms (the Dijkstra runs inside _from_facilities' own time: "
              f"scipy's csgraph is compiled and has no profile entry). cProfile of {n} calls:\n")
    stats = pstats.Stats(prof, stream=out)
    stats.sort_stats("tottime").print_stats(12)
    top = sorted(stats.stats.items(), key=lambda kv: -kv[1][2])[:5]  # type: ignore[attr-defined]
    parts = [f"`{Path(f).name}:{fn}` {tt / n * 1e3:.2f} ms" for (f, _, fn), (_, _, tt, _, _) in top]
    summary = (f"Where Anzhi's time goes ({len(site_nodes):,} sites, {len(fnodes):,} facilities "
               f"of the first type, {graph.n_nodes:,} nodes): `nearest_facility_index` "
               f"{t_call * 1e3:.2f} ms per call against {t_bare * 1e3:.2f} ms for the bare scipy "
               f"call; own time per call (cProfile over {n} calls; the compiled Dijkstra counts in "
               f"`_from_facilities`): " + ", ".join(parts) + ".")
    return summary + "\n\n" + out.getvalue()


# ====================================================================================== cases


def run_generated(*, edges: int, sites: int, facilities: int, repeat: int, loop_sample: int,
                  loop_budget_s: float, seed: int, pandana_on: bool, pandana_timeout_s: float | None = None,
                  profile_on: bool = False) -> Case:
    """The generated network: build, snapping, nearest facility per type."""
    rng = np.random.default_rng(seed)
    with peak_extra() as mem:
        t0 = time.perf_counter()
        G = make_road_graph(edges, seed=seed)
        t_gen = time.perf_counter() - t0
    _log(f"generated: {G.number_of_nodes():,} nodes, {G.number_of_edges():,} edges in {t_gen:.1f} s")
    profile = load_profile("drive")
    with peak_extra() as mem2:
        t0 = time.perf_counter()
        graph = RoadGraph.from_networkx(G, profile=profile)
        t_build = time.perf_counter() - t0
    _log(f"generated: RoadGraph.from_networkx {t_build:.1f} s")
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
    case.build_rows.append(("generate the osmnx-style `MultiDiGraph` (networkx)", _secs(t_gen),
                            _fmt_mib(mem["peak_mib"])))
    case.build_rows.append(("Anzhi `RoadGraph.from_networkx(G, profile=drive)`", _secs(t_build),
                            _fmt_mib(mem2["peak_mib"])))
    case.build_rows.append(("Anzhi transposed length CSR (`weight_csr(reverse=True)`, cached)",
                            _secs(t_rev), "n/a"))

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
    _log(f"andorra: load {t_load:.1f} s, RoadGraph {t_build:.2f} s, {graph.n_edges:,} edges")
    # the osmnx peers snap onto the same drivable roads as Anzhi
    drivable = [(u, v, k) for u, v, k, d in G.edges(keys=True, data=True)
                if _drivable(profile, d.get("highway"))]
    G_drive = G.edge_subgraph(drivable).copy()
    f_lon, f_lat, f_kind = read_amenities(path)
    s_lon, s_lat = points_near_roads(graph, sites, rng)
    case = Case(name="andorra", description="")
    case.build_rows.append(("`load_road_graph` (filter highways, osmnx read + simplify)",
                            _secs(t_load), "n/a"))
    case.build_rows.append(("Anzhi `RoadGraph.from_networkx(G, profile=drive)`", _secs(t_build),
                            _fmt_mib(mem["peak_mib"])))
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


# ====================================================================================== report


def render(cases: list[Case]) -> str:
    """The markdown body of the ``routing`` section."""
    parts: list[str] = []
    for case in cases:
        parts.append(f"### {case.name}\n\n{case.description}\n")
        parts.append("Build (not part of any query time):\n\n| step | time | peak RSS above the "
                     "step's start |\n"
                     "|---|---|---|\n" + "\n".join(
                         f"| {s} | {t} | {m} |" for s, t, m in case.build_rows) + "\n")
        a_snap = case.snap_rows[0][2]
        parts.append(
            f"Snapping the {case.n_sites:,} sites (best of the runs for Anzhi and "
            "the cKDTree; one run for osmnx):\n\n"
            "| method | answers | time | Anzhi is × faster | note |\n|---|---|---|---|---|\n"
            + "\n".join(f"| {m} | {ans} | {_secs(t)} | {'—' if i == 0 else _x(t / a_snap)} | {note} |"
                        for i, (m, ans, t, note) in enumerate(case.snap_rows))
            + "\n\n" + "\n".join(f"- {n}" for n in case.snap_notes) + "\n"
        )
        a_q = case.query_rows[0][1]
        parts.append(
            "Nearest facility of each type for every site (by road length; sites and facilities "
            "at their snapped nodes):\n\n"
            "| method | time | Anzhi is × faster | answers vs scipy | memory* |\n"
            "|---|---|---|---|---|\n"
            + "\n".join(f"| {m} | {lb}{_secs(t)} | {'—' if i == 0 else lb + _x(t / a_q)} | {c} | {mib} |"
                        for i, (m, t, lb, c, mib) in enumerate(case.query_rows)) + "\n"
        )
        parts.append(
            "Per type:\n\n| type | facilities | Anzhi `nearest_facility_index` | bare scipy | "
            "networkx multi-source | networkx loop (extrapolated) | pandana query |\n"
            "|---|---|---|---|---|---|---|\n"
            + "\n".join(f"| {t} | {k:,} | {_secs(d['anzhi'])} | {_secs(d['scipy'])} | "
                        f"{_secs(d['nx'])} | {_secs(d['loop'])} | "
                        f"{'—' if math.isnan(d['pd_query']) else _secs(d['pd_query'])} |"
                        for t, k, d in case.per_type) + "\n"
        )
        parts.append("Targets:\n\n| target | measured | met |\n|---|---|---|\n" + "\n".join(
            f"| {t} | {m} | {'met' if ok else '**NOT met**'} |" for t, m, ok in case.targets) + "\n")
        parts.append("\n".join(f"- {n}" for n in case.query_notes) + "\n")
    return "\n".join(parts)


def run(args: argparse.Namespace) -> tuple[str, dict[str, int], list[Case]]:
    """Run the benchmark; (markdown body, disagreement counts, cases)."""
    cases: list[Case] = []
    cases.append(run_generated(edges=args.edges, sites=args.sites, facilities=args.facilities,
                               repeat=args.repeat, loop_sample=args.loop_sample,
                               loop_budget_s=args.loop_budget, seed=args.seed,
                               pandana_on=not args.no_pandana, profile_on=args.profile,
                               pandana_timeout_s=args.pandana_timeout or None))
    notes: list[str] = []
    if not args.no_andorra:
        if ANDORRA.is_file():
            # Andorra's calls take under a millisecond: more runs for a stable best
            cases.append(run_andorra(ANDORRA, sites=args.sites, repeat=max(args.repeat, 25),
                                     loop_sample=args.loop_sample, loop_budget_s=args.loop_budget,
                                     seed=args.seed, pandana_on=not args.no_pandana,
                                     profile_on=args.profile,
                                     pandana_timeout_s=args.pandana_timeout or None))
        else:
            notes.append(f"The Andorra section was skipped: {ANDORRA} is absent.")
    else:
        notes.append("The Andorra section was not part of this run (`--no-andorra`).")
    disagreements: dict[str, int] = {}
    for c in cases:
        disagreements.update(c.disagreements)
    n_bad = sum(disagreements.values())
    head = (
        "Anzhi's routing against its peers, each measured in this run on this machine. Times "
        "are wall times; \"Anzhi is × faster\" is the peer's time divided by Anzhi's (below 1: "
        "Anzhi is slower). Build steps show the process's peak RSS during the step above its RSS "
        "before it (`/proc/self/clear_refs`; memory freed by earlier steps and reused is not "
        "counted); query memory is explained under each table. Every answer is checked against scipy's before ratios are read: "
        + ("**all answers agree**." if n_bad == 0 else
           f"**{n_bad:,} answers disagree** (see the tables).") + "\n"
    )
    body = head + "\n" + render(cases)
    if notes:
        body += "\n" + "\n".join(f"- {n}" for n in notes) + "\n"
    return body, disagreements, cases


def main(argv: list[str] | None = None) -> int:
    """Command line; returns 0 when every answer agrees with scipy's, 1 otherwise."""
    p = argparse.ArgumentParser(prog="python -m bench.bench_routing",
                                description=(__doc__ or "").split("\n")[0])
    p.add_argument("--edges", type=int, default=None,
                   help="least number of directed edges of the generated graph (default 1,000,000)")
    p.add_argument("--sites", type=int, default=None, help="number of sites (default 5,000)")
    p.add_argument("--facilities", type=int, default=None,
                   help="number of facilities of the generated graph, split over 8 types "
                        "(default 20,000)")
    p.add_argument("--quick", action="store_true",
                   help="small sizes for a smoke run (20,000 edges, 300 sites, 800 facilities)")
    p.add_argument("--repeat", type=int, default=3,
                   help="runs of the fast steps, best kept (default 3; Andorra's sub-millisecond "
                        "calls at least 25)")
    p.add_argument("--loop-sample", type=int, default=None,
                   help="sites per type measured in the networkx per-site loop (default 20)")
    p.add_argument("--loop-budget", type=float, default=None,
                   help="seconds spent at most per osmnx per-point loop before extrapolating "
                        "(default 20)")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--no-andorra", action="store_true", help="skip the Andorra section")
    p.add_argument("--no-pandana", action="store_true", help="skip the pandana peer")
    p.add_argument("--pandana-timeout", type=float, default=480.0,
                   help="seconds allowed to the pandana process per network (CH build + "
                        "queries; 0 = no limit; default 480)")
    p.add_argument("--no-write", action="store_true", help="print, do not update docs/benchmarks.md")
    p.add_argument("--pandana-child", nargs=2, default=None, help=argparse.SUPPRESS)
    p.add_argument("--profile", action="store_true",
                   help="print a cProfile of one Anzhi nearest_facility_index call per network "
                        "(always printed when a target is missed)")
    args = p.parse_args(argv)
    if args.pandana_child:
        _pandana_child(Path(args.pandana_child[0]), Path(args.pandana_child[1]))
        return 0
    quick = args.quick
    args.edges = args.edges or (20_000 if quick else 1_000_000)
    args.sites = args.sites or (300 if quick else 5_000)
    args.facilities = args.facilities or (800 if quick else 20_000)
    args.loop_sample = args.loop_sample or (10 if quick else 20)
    args.loop_budget = args.loop_budget or (1.0 if quick else 20.0)
    if args.facilities < len(GENERATED_TYPES):
        p.error(f"--facilities must be at least {len(GENERATED_TYPES)} (one per type)")
    t0 = time.perf_counter()
    body, disagreements, cases = run(args)
    wall = time.perf_counter() - t0
    body += f"\nWhole run: {wall / 60:.1f} min.\n"
    print(body)
    for case in cases:
        if case.profile:
            print(f"\nProfile of one Anzhi nearest_facility_index call ({case.name}, first type):\n"
                  + case.profile)
    n_bad = sum(disagreements.values())
    print("agreement: all answers agree" if n_bad == 0 else
          "agreement: DISAGREEMENTS " + ", ".join(f"{k}={v}" for k, v in disagreements.items() if v))
    if not args.no_write:
        cmd = "python -m bench.bench_routing" + ("" if not argv else " " + " ".join(argv))
        write_section("routing", body, command=cmd)
    return 0 if n_bad == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
