"""Measuring the routing peers on one network (:mod:`bench.bench_routing`, :mod:`bench.bench_e2e`).

* :func:`bench_snapping`: Anzhi's :func:`geo.routing.snap_points` against osmnx
  ``nearest_edges``/``nearest_nodes`` (per point and in bulk) and a cKDTree.
* :func:`bench_queries`: the nearest facility of each type for every site, sites and
  facilities at their snapped nodes: Anzhi (:func:`place_timed` once, then
  :func:`race_scipy` per type against the bare ``scipy.sparse.csgraph.dijkstra`` call it
  wraps), its one-call adapter, networkx multi-source, a per-site networkx loop and pandana
  (:func:`run_pandana`, in its own process).  Every answer is checked against scipy's
  (:func:`mismatches`).

Results go into a :class:`Case`, which :func:`bench.bench_routing.render` turns into markdown.
"""

from __future__ import annotations

import cProfile
import io
import math
import pstats
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, cast

import networkx as nx
import numpy as np
import osmnx as ox
import pyproj
import scipy.sparse as sp
from numpy.typing import NDArray
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from bench.report import (REPO, fmt_mib, fmt_ratio, fmt_secs, log, peak_extra, status_mib, timed,
                          traced_peak_mib)
from geo.roads import RoadGraph
from geo.routing import (SitePlacement, nearest_facility, nearest_facility_index, place_sites,
                         snap_points)

__all__ = ["EXACT_TOL_M", "PANDANA_TOL_M", "Case", "mismatches", "nx_digraph", "per_call",
           "bench_snapping", "pandana_child", "run_pandana", "place_timed", "ScipyRace",
           "race_scipy", "bench_queries", "profile_call"]

#: Tolerance (m) of the exact peers (scipy, networkx) against each other.
EXACT_TOL_M = 1e-6
#: pandana's contraction hierarchy stores edge weights as integers (× DISTANCEMULTFACT =
#: 1000, i.e. millimetres), so its sums drift by up to ~1 mm per edge of the path.
PANDANA_TOL_M = 1.0


def mismatches(got: NDArray[np.float64], ref: NDArray[np.float64], tol: float) -> tuple[int, float]:
    """(count of answers that differ by more than ``tol`` or in reachability, max |diff|)."""
    got = np.asarray(got, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    fin_g, fin_r = np.isfinite(got), np.isfinite(ref)
    both = fin_g & fin_r
    diff = np.abs(got[both] - ref[both])
    bad = int((fin_g != fin_r).sum()) + int((diff > tol).sum())
    return bad, float(diff.max()) if len(diff) else 0.0


def nx_digraph(csr: sp.csr_matrix) -> nx.DiGraph:
    """A networkx ``DiGraph`` with the CSR's entries (explicit zeros kept) as ``weight``."""
    coo = csr.tocoo()
    G = nx.DiGraph()
    G.add_nodes_from(range(csr.shape[0]))
    G.add_weighted_edges_from(zip(coo.row.tolist(), coo.col.tolist(), coo.data.tolist(), strict=True))
    return G


def per_call(fn: Callable[[int], Any], n_total: int, *, budget_s: float, max_calls: int
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



def bench_snapping(case: Case, G: nx.MultiDiGraph, graph: RoadGraph, lon: NDArray[np.float64],
                   lat: NDArray[np.float64], *, repeat: int, loop_budget_s: float) -> None:
    """Anzhi ``snap_points`` vs osmnx ``nearest_edges``/``nearest_nodes`` and a cKDTree."""
    n = len(lon)
    t0 = time.perf_counter()
    _ = graph.pedge_tree, graph.pedge_vertex_measure, graph.pedge_geom_length_m
    t_tree = time.perf_counter() - t0
    t_anzhi, snap = timed(lambda: snap_points(graph, lon, lat), repeat=repeat)
    case.snap_rows.append((
        (f"**Anzhi `snap_points`** (bulk; STRtree built once per graph in {fmt_secs(t_tree)}, "
        "not included)"),
        "nearest point of the nearest road, metric CRS", t_anzhi, ""))
    log(f"{case.name}: snap_points {t_anzhi:.3f} s (tree {t_tree:.2f} s)")

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
    per_nn, k_nn = per_call(lambda i: ox.distance.nearest_nodes(G, float(lon[i]), float(lat[i])),
                             n, budget_s=loop_budget_s, max_calls=200)
    log(f"{case.name}: nearest_nodes bulk {t_nn_bulk:.2f} s, per point {per_nn:.3f} s × {k_nn}")
    t_ne_bulk, ne_ids = timed(lambda: ox.distance.nearest_edges(G, lon, lat), repeat=1)
    per_ne, k_ne = per_call(lambda i: ox.distance.nearest_edges(G, float(lon[i]), float(lat[i])),
                             n, budget_s=loop_budget_s, max_calls=200)
    log(f"{case.name}: nearest_edges bulk {t_ne_bulk:.2f} s, per point {per_ne:.3f} s × {k_ne}")
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



def pandana_child(inp: Path, out: Path) -> None:
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
    result["peak_mib"] = np.array(status_mib("VmHWM"))
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


def run_pandana(graph: RoadGraph, site_nodes: NDArray[np.int64],
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


def place_timed(graph: RoadGraph, site_nodes: NDArray[np.int64], *, repeat: int
                ) -> tuple[float, SitePlacement]:
    """Anzhi's placement of the sites at their nodes by length (:func:`geo.routing.place_sites`,
    once per weight as ``access_table`` runs it): best time of ``repeat`` after a warm-up."""
    place = partial(place_sites, graph, site_nodes, np.zeros(len(site_nodes)), weight="length")
    place()  # warm-up
    return timed(place, repeat=repeat)


@dataclass
class ScipyRace:
    """Anzhi's routing call on one facility type against the bare scipy call it wraps."""

    anzhi_s: float  # best time of nearest_facility_index
    scipy_s: float  # best time of dijkstra(min_only=True, return_predecessors=True)
    a_fac: NDArray[np.int64]  # Anzhi: winning facility (index into the type's facilities)
    a_cost: NDArray[np.float64]  # Anzhi: its cost per site
    s_dist: NDArray[np.float64]  # scipy: distance per graph node
    s_src: NDArray[np.int64]  # scipy: winning source node per graph node
    anzhi: Callable[[], Any]  # the two calls, for memory and profiles
    bare: Callable[[], Any]


def race_scipy(graph: RoadGraph, placed: SitePlacement, fnodes: NDArray[np.int64], *,
               repeat: int) -> ScipyRace:
    """Time :func:`geo.routing.nearest_facility_index` (facilities at their nodes) and the bare
    ``scipy.sparse.csgraph.dijkstra`` multi-source call on the same transposed length CSR,
    interleaved call by call so that a slow spell of the machine hits both; best of
    ``repeat``."""
    rev = graph.weight_csr("length", reverse=True)
    anzhi = partial(nearest_facility_index, graph, placed, fnodes, np.zeros(len(fnodes)))
    anzhi()  # warm-up
    bare = partial(dijkstra, rev, directed=True, indices=fnodes, min_only=True,
                   return_predecessors=True)
    t_a = t_s = math.inf
    for _ in range(repeat):
        t_one, (a_fac, a_cost) = timed(anzhi, repeat=1)
        t_a = min(t_a, t_one)
        t_one, (s_dist, _pred, s_src) = timed(bare, repeat=1)
        t_s = min(t_s, t_one)
    return ScipyRace(t_a, t_s, a_fac, a_cost, s_dist, s_src, anzhi, bare)


@dataclass
class _Tally:
    """Times (sums over the types), memory and answer checks of the query peers."""

    tot: dict[str, float] = field(default_factory=lambda: dict.fromkeys(
        ("anzhi", "scipy", "scipy_dist", "nx", "loop", "wrapper"), 0.0))
    peaks: dict[str, float] = field(default_factory=dict)  # MiB, one call of the first type
    bad: dict[str, int] = field(default_factory=lambda: dict.fromkeys(
        ("Anzhi", "networkx multi-source", "networkx per-site loop"), 0))
    maxdiff: dict[str, float] = field(default_factory=dict)
    refs: list[NDArray[np.float64]] = field(default_factory=list)  # scipy's answers per type
    other_winner: int = 0

    def compare(self, who: str, got: NDArray[np.float64], ref: NDArray[np.float64],
                tol: float = EXACT_TOL_M) -> None:
        """Count ``who``'s answers that disagree with ``ref``."""
        n_bad, md = mismatches(got, ref, tol)
        self.bad[who] = self.bad.get(who, 0) + n_bad
        self.maxdiff[who] = max(self.maxdiff.get(who, 0.0), md)

    def check(self, who: str) -> str:
        """The "answers vs scipy" cell of ``who``."""
        return (("agree" if self.bad[who] == 0 else f"**{self.bad[who]:,} disagree**")
                + f" (max diff {self.maxdiff[who]:.2g} m)")


@dataclass
class _Peers:
    """What every facility type is measured with on one network."""

    graph: RoadGraph
    site_nodes: NDArray[np.int64]
    placed: SitePlacement
    g_rev: nx.DiGraph  # networkx graph of the transposed CSR
    g_fwd: nx.DiGraph  # its reverse view: the forward graph for the per-site loop
    sample: NDArray[np.int64]  # sites of the per-site loop
    repeat: int


def _nx_peer_graph(case: Case, graph: RoadGraph) -> tuple[nx.DiGraph, nx.DiGraph]:
    """The networkx ``DiGraph`` of the transposed CSR (a build row) and its forward view."""
    rev = graph.weight_csr("length", reverse=True)
    with peak_extra() as mem:
        t0 = time.perf_counter()
        g_rev = nx_digraph(rev)
        t_nxbuild = time.perf_counter() - t0
    case.build_rows.append(("networkx `DiGraph` of the transposed CSR (peer input)",
                            fmt_secs(t_nxbuild), fmt_mib(mem["peak_mib"])))
    log(f"{case.name}: networkx DiGraph {t_nxbuild:.1f} s")
    return g_rev, g_rev.reverse(copy=False)


def _query_type(case: Case, peers: _Peers, ftype: str, fnodes: NDArray[np.int64],
                tally: _Tally) -> None:
    """One facility type: Anzhi, its one-call adapter, scipy and networkx, checked."""
    graph, site_nodes, n_sites = peers.graph, peers.site_nodes, len(peers.site_nodes)
    k = len(fnodes)
    ids = np.asarray([f"{ftype}-{i}" for i in range(k)], dtype=object)
    race = race_scipy(graph, peers.placed, fnodes, repeat=peers.repeat)
    wrapper = partial(nearest_facility, graph, site_nodes, np.zeros(n_sites), fnodes,
                      np.zeros(k), ids, weight="length")
    t_w, (w_ids, w_cost) = timed(wrapper, repeat=peers.repeat)
    if not tally.peaks:  # memory of one call, first type only (tracemalloc slows the call)
        tally.peaks["anzhi"] = traced_peak_mib(race.anzhi)
        tally.peaks["scipy"] = traced_peak_mib(race.bare)
    rev = graph.weight_csr("length", reverse=True)
    t_sd, _ = timed(partial(dijkstra, rev, directed=True, indices=fnodes, min_only=True),
                    repeat=peers.repeat)
    ref = np.asarray(race.s_dist[site_nodes], dtype=np.float64)
    tally.refs.append(ref)
    tally.compare("Anzhi", race.a_cost, ref)
    # the one-call adapter must name the same facilities at the same costs
    tally.bad["Anzhi"] += int((w_cost != race.a_cost).sum())
    tally.bad["Anzhi"] += int((w_ids != np.append(ids, "")[race.a_fac].astype(str)).sum())
    # which facility: Anzhi's must stand on the node of scipy's winning source (else a tie)
    named = race.a_fac >= 0
    tally.other_winner += int((fnodes[race.a_fac[named]] != race.s_src[site_nodes[named]]).sum())

    fset = set(fnodes.tolist())
    nx_multi = partial(nx.multi_source_dijkstra_path_length, peers.g_rev, fset, weight="weight")
    t_n, nx_len = timed(nx_multi, repeat=1)
    if "nx" not in tally.peaks:
        tally.peaks["nx"] = traced_peak_mib(nx_multi)
    tally.compare("networkx multi-source",
                  np.asarray([nx_len.get(s, np.inf) for s in site_nodes.tolist()]), ref)
    del nx_len
    t_l = _per_site_loop(peers, fset, ref, tally)

    for key, t in (("anzhi", race.anzhi_s), ("scipy", race.scipy_s), ("scipy_dist", t_sd),
                   ("nx", t_n), ("loop", t_l), ("wrapper", t_w)):
        tally.tot[key] += t
    case.per_type.append((ftype, k, {"anzhi": race.anzhi_s, "scipy": race.scipy_s, "nx": t_n,
                                     "loop": t_l, "pd_query": math.nan}))
    log(f"{case.name}: {ftype} ({k}): anzhi {race.anzhi_s:.3f} s, scipy {race.scipy_s:.3f} s, "
        f"nx {t_n:.2f} s, loop≈{t_l:.1f} s")


def _per_site_loop(peers: _Peers, fset: set[int], ref: NDArray[np.float64],
                   tally: _Tally) -> float:
    """The networkx per-site loop on the sample, checked; its time extrapolated to all sites.

    A sink joined from every facility node (weight 0) makes networkx stop at the first
    facility popped; edges added to the transposed graph appear reversed in the forward view.
    """
    sink = peers.graph.n_nodes

    def one_site(s: int) -> float:
        try:
            return float(nx.dijkstra_path_length(peers.g_fwd, s, sink, weight="weight"))
        except nx.NetworkXNoPath:
            return math.inf

    peers.g_rev.add_weighted_edges_from((sink, f, 0.0) for f in fset)
    t0 = time.perf_counter()
    loop_dist = np.asarray([one_site(int(peers.site_nodes[i])) for i in peers.sample])
    t_l = (time.perf_counter() - t0) / len(peers.sample) * len(peers.site_nodes)
    peers.g_rev.remove_node(sink)
    tally.compare("networkx per-site loop", loop_dist, ref[peers.sample])
    return t_l


def _query_rows(case: Case, tally: _Tally, t_place: float, n_sites: int, n_sample: int,
                fac_nodes: dict[str, NDArray[np.int64]], repeat: int) -> None:
    """The query table's rows, its note and the networkx targets."""
    tot, peaks, t_a, n_t = tally.tot, tally.peaks, tally.tot["anzhi"], len(fac_nodes)
    case.query_rows += [
        ("**Anzhi** `place_sites` once + `nearest_facility_index` per type, as `access_table` "
         "runs (routing only; sites and facilities at nodes)",
         t_a, "", tally.check("Anzhi"), fmt_mib(peaks["anzhi"]) + "*"),
        ("Anzhi `nearest_facility` per type (the one-call adapter: places the sites again on "
         "every call and maps facility ids; same answers)",
         tot["wrapper"], "", tally.check("Anzhi"), "n/a"),
        ("bare `scipy.sparse.csgraph.dijkstra(min_only=True, return_predecessors=True)` on the "
         "transposed CSR (the call Anzhi wraps)",
         tot["scipy"], "", "reference", fmt_mib(peaks["scipy"]) + "*"),
        ("networkx `multi_source_dijkstra_path_length` (transposed `DiGraph`)",
         tot["nx"], "", tally.check("networkx multi-source"), fmt_mib(peaks["nx"]) + "*"),
        (f"networkx per-site loop (`dijkstra_path_length` to a sink behind every facility, "
         f"stops at the nearest; {n_sample} of {n_sites:,} sites per type measured, "
         "**extrapolated**)",
         tot["loop"], "", tally.check("networkx per-site loop"), "n/a"),
    ]
    case.query_notes.append(
        f"Times are sums over the {n_t} types (best of {repeat} for Anzhi and scipy, "
        f"interleaved call by call, one run for the others); Anzhi's includes one `place_sites` "
        f"({fmt_secs(t_place)}). Bare scipy without predecessors (distances only, no winning facility): "
        f"{fmt_secs(tot['scipy_dist'])}. *Memory: peak of the Python/NumPy allocations of one "
        f"`nearest_facility_index` / scipy call for the first type ({next(iter(fac_nodes))}), measured with `tracemalloc` in an "
        "extra, untimed call. Anzhi names a facility on another node than scipy's "
        f"winning source for {tally.other_winner:,} of {n_sites * n_t:,} site × type answers (equal "
        "distances: ties)."
    )
    r_nx = tot["nx"] / t_a
    case.targets.append(("Anzhi ≥ 10× faster than networkx `multi_source_dijkstra_path_length`",
                         f"{fmt_ratio(r_nx)} faster", r_nx >= 10.0))
    case.targets.append((
        "far ahead of a per-site networkx loop (no number set; ≥ 10× read as far ahead)",
        f"{fmt_ratio(tot['loop'] / t_a)} faster (extrapolated)", tot["loop"] / t_a >= 10.0))


def bench_queries(case: Case, graph: RoadGraph, site_nodes: NDArray[np.int64],
                  fac_nodes: dict[str, NDArray[np.int64]], *, repeat: int, loop_sample: int,
                  rng: np.random.Generator, pandana_on: bool, pandana_timeout_s: float | None,
                  force_profile: bool = False) -> None:
    """Nearest facility of each type for every site: Anzhi vs scipy, networkx, pandana."""
    n_sites = len(site_nodes)
    g_rev, g_fwd = _nx_peer_graph(case, graph)
    sample = np.sort(rng.choice(n_sites, size=min(loop_sample, n_sites), replace=False))
    # Anzhi as access_table runs it: the sites join the network once per weight
    # (place_sites), then one nearest_facility_index call per type; the placement's time
    # is counted once in the total
    t_place, placed = place_timed(graph, site_nodes, repeat=repeat)
    tally = _Tally()
    tally.tot["anzhi"] += t_place
    peers = _Peers(graph, site_nodes, placed, g_rev, g_fwd, sample, repeat)
    for ftype, fnodes in fac_nodes.items():
        _query_type(case, peers, ftype, fnodes, tally)
    _query_rows(case, tally, t_place, n_sites, len(sample), fac_nodes, repeat)
    if pandana_on:
        _bench_pandana(case, graph, site_nodes, fac_nodes, tally, timeout_s=pandana_timeout_s)
    case.disagreements.update({f"{case.name}: {k}": v for k, v in tally.bad.items()})
    r_scipy = tally.tot["anzhi"] / tally.tot["scipy"]
    case.targets.append(("Anzhi's routing step ≤ 2× the bare scipy call it wraps",
                         f"Anzhi / scipy = {r_scipy:.2f}", r_scipy <= 2.0))
    case.n_sites = max(case.n_sites, n_sites)
    if force_profile or not all(ok for _, _, ok in case.targets):
        case.profile = profile_call(graph, site_nodes, next(iter(fac_nodes.values())))
        case.query_notes.append(case.profile.split("\n\n", 1)[0])


_PANDANA_CH = ("pandana `Network` (contraction hierarchy of the same directed edges, "
               "`twoway=False`; own process)")


def _bench_pandana(case: Case, graph: RoadGraph, site_nodes: NDArray[np.int64],
                   fac_nodes: dict[str, NDArray[np.int64]], tally: _Tally, *,
                   timeout_s: float | None) -> None:
    """pandana in its own process: rows, target and note for whatever it achieved."""
    caps = []
    for ref in tally.refs:
        finite = ref[np.isfinite(ref)]
        caps.append(float(math.ceil((finite.max() if len(finite) else 1000.0) * 1.05 + 10.0)))
    log(f"{case.name}: pandana (child process, timeout {timeout_s} s)")
    t0 = time.perf_counter()
    pdr = run_pandana(graph, site_nodes, fac_nodes, caps, timeout_s=timeout_s)
    log(f"{case.name}: pandana {pdr.status} after {time.perf_counter() - t0:.0f} s")
    t_a = tally.tot["anzhi"]
    if pdr.status == "ok":
        _pandana_answers(case, pdr, tally, caps)
    elif pdr.status == "timeout":
        ran = pdr.t_ch  # how long the CH build had run when the process was stopped
        case.build_rows.append((
            _PANDANA_CH, f"**not finished**: stopped after {fmt_secs(ran)} of CH build", "n/a"))
        case.query_rows.append((
            (f"pandana CH build + `set_pois` + `nearest_pois` (CH build stopped after "
             f"{fmt_secs(ran)})"), ran, "> ", "not compared (no answer)", "n/a"))
        case.targets.append((
            "Anzhi faster than pandana (CH build + `set_pois` + `nearest_pois`)",
            f"> {fmt_ratio(ran / t_a)} faster (lower bound: pandana's CH build was stopped)",
            ran > t_a))
        tally.bad["pandana"] = 0
        case.query_notes.append(
            f"pandana: the contraction hierarchy of this graph did not finish within the "
            f"{fmt_secs(timeout_s or 0)} allowed (`--pandana-timeout`), so pandana gave no "
            "answer here and its answers are checked on the other network(s) only (CH "
            "preprocessing grows faster than linearly with the size of grid-like graphs); "
            "rerun with `--pandana-timeout 0` to wait for it."
        )
    else:
        case.build_rows.append((_PANDANA_CH, f"**{pdr.status}**", "n/a"))
        case.targets.append(("Anzhi faster than pandana", f"pandana {pdr.status}", False))
        tally.bad["pandana run failed"] = 1


def _pandana_answers(case: Case, pdr: PandanaRun, tally: _Tally, caps: list[float]) -> None:
    """pandana's answers checked against scipy's, its rows, target and note."""
    assert pdr.t_set is not None and pdr.t_query is not None
    n_bad = 0
    md = 0.0
    for i, ref in enumerate(tally.refs):
        # beyond the cap pandana answers max_distance (inf here); scipy's is then > cap
        ref_cap = np.where(ref <= caps[i], ref, np.inf)
        b, m = mismatches(pdr.dist[i], ref_cap, PANDANA_TOL_M)
        n_bad, md = n_bad + b, max(md, m)
        case.per_type[i][2]["pd_query"] = float(pdr.t_set[i] + pdr.t_query[i])
    tally.bad["pandana"], tally.maxdiff["pandana"] = n_bad, md
    t_pq = float(pdr.t_set.sum() + pdr.t_query.sum())
    case.build_rows.append((_PANDANA_CH, fmt_secs(pdr.t_ch),
                            f"{fmt_mib(pdr.peak_mib)} (whole pandana process)"))
    case.query_rows.append(("pandana `set_pois` + `nearest_pois` (query only, CH built)",
                            t_pq, "", tally.check("pandana"), "see build"))
    case.query_rows.append((
        f"pandana CH build ({fmt_secs(pdr.t_ch)}) + `set_pois` + `nearest_pois`",
        pdr.t_ch + t_pq, "", tally.check("pandana"), "see build"))
    r_pd = (pdr.t_ch + t_pq) / tally.tot["anzhi"]
    case.targets.append((
        "Anzhi faster than pandana (CH build + `set_pois` + `nearest_pois`)",
        f"{fmt_ratio(r_pd)} faster (query alone: {fmt_ratio(t_pq / tally.tot['anzhi'])})",
        r_pd > 1.0))
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


def profile_call(graph: RoadGraph, site_nodes: NDArray[np.int64], fnodes: NDArray[np.int64]) -> str:
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
