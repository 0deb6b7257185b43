"""End to end: ``anzhi access`` on a real extract against an osmnx + networkx script, same run.

``python -m bench.bench_e2e`` (about 2 minutes on 2 cores) measures, on the Andorra extract of
``../shared/data/osm`` (skipped cleanly when it is absent):

* **Anzhi**: the real command line, ``anzhi access --roads andorra.osm.pbf --sites S.csv
  --facilities andorra.osm.pbf --types ... --outside-china --out access.csv`` (walk profile),
  run as a subprocess and timed wall-clock end to end, interpreter start-up included: once
  with ``--no-cache`` (the road file read and the graph built) and once with the road graph
  from its cache (a second run on the same file).
* **The peer**: a standalone Python script using osmnx and networkx only (written to a
  temporary file, :data:`PEER_SCRIPT`), run as a subprocess the same way:
  ``osmnx.graph_from_xml`` on the same data as OSM XML (osmnx reads no PBF; the ``.osm.bz2``
  is decompressed beforehand, untimed, so the script reads plain XML, its fastest input),
  bidirectional (walking), the highways the walk profile uses kept; ``osmnx.features_from_xml``
  for the facilities (the same amenity/healthcare tags Anzhi maps); ``osmnx.distance.
  nearest_nodes`` for sites and facilities; per type one ``networkx.multi_source_dijkstra``
  from the facility nodes (the multi-source search of ``multi_source_dijkstra_path_length``,
  plus the paths, whose first node names the nearest facility); a CSV like ``access.csv``.

Inputs are generated reproducibly from the extract: :data:`E2E_SITES` sites within 150 m of a
walkable road (seeded, :func:`bench.routing_cases.points_near_roads` on the graph Anzhi
builds), and as facilities the extract's own OSM amenities of the four :data:`E2E_TYPES`.

The two answers are compared, not asserted equal: Anzhi snaps every point to the nearest point
of the nearest road and adds the off-road legs; the script snaps to the nearest graph node
(:func:`agreement` explains the tolerance).  The **routing step alone** is measured too, on
the graph ``anzhi access`` builds: Anzhi's :func:`geo.routing.place_sites` +
:func:`geo.routing.nearest_facility_index` against the bare
``scipy.sparse.csgraph.dijkstra`` multi-source call on the same CSR
(:func:`bench.routing_queries.race_scipy`).  Writes the ``e2e`` section of
``docs/benchmarks.md``.
"""

from __future__ import annotations

import bz2
import json
import math
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from bench.report import (SHARED_DATA, bench_args, fmt_ratio, fmt_secs, log, publish,
                          run_child)

__all__ = ["ANDORRA_PBF", "ANDORRA_XML", "E2E_TYPES", "E2E_SITES", "PEER_SCRIPT", "Inputs",
           "make_inputs", "Runs", "run_e2e", "Agreement", "agreement", "RoutingStep",
           "routing_step", "E2E", "measure", "render", "main"]

ANDORRA_PBF = SHARED_DATA / "osm" / "andorra-2020-05-01.osm.pbf"
#: The same data as OSM XML, for osmnx (which reads no PBF).
ANDORRA_XML = SHARED_DATA / "osm" / "andorra-2020-05-01.osm.bz2"

#: Facility types routed (Andorra has health centres, doctors, schools and police).
E2E_TYPES = ("township_health_centre", "clinic", "primary_school", "police_station")
#: Number of generated sites.
E2E_SITES = 2_000
PROFILE = "walk"
#: End to end, Anzhi (no cache) at least this many times faster than the script.
TARGET_E2E = 7.0
#: Anzhi's routing step at most this many times the bare scipy call.
TARGET_ROUTING = 1.5

PEER_SCRIPT = r'''"""osmnx + networkx: walking distance from every site to the nearest facility of each type.

The peer of ``anzhi access`` in bench/bench_e2e.py: usage ``python peer.py config.json``;
prints the seconds of each step as JSON.
"""
import json
import sys
import time

t0 = time.perf_counter()
import networkx as nx
import osmnx as ox
import pandas as pd

steps = {"imports": time.perf_counter() - t0}
cfg = json.load(open(sys.argv[1], encoding="utf-8"))


def step(name, since):
    now = time.perf_counter()
    steps[name] = now - since
    return now


t = time.perf_counter()
G = ox.graph_from_xml(cfg["xml"], bidirectional=True, simplify=False, retain_all=True)
excluded = set(cfg["excluded_highways"])
walkable = [(u, v, k) for u, v, k, d in G.edges(keys=True, data=True)
            if isinstance(d.get("highway"), str) and d["highway"] not in excluded
            and d.get("area") != "yes"]
G = G.edge_subgraph(walkable).copy()
t = step("graph_from_xml + walkable highways", t)

sites = pd.read_csv(cfg["sites"], dtype={"site_id": str})
s_node, s_gap = ox.distance.nearest_nodes(G, sites["lon"].to_numpy(), sites["lat"].to_numpy(),
                                          return_dist=True)
t = step("nearest_nodes (sites)", t)

mapping = {(k, v): ft for k, v, ft in cfg["osm_tags"]}
tags = {}
for k, v in mapping:
    tags.setdefault(k, []).append(v)
F = ox.features_from_xml(cfg["xml"], tags=tags)
F = F[F.index.get_level_values(0).isin(["node", "way"])]  # relations: as Anzhi, left out
keys = [k for k in ("amenity", "healthcare", "office") if k in F.columns]
f_type = []
for rec in F[keys].to_dict("records"):
    found = [mapping[(k, rec[k])] for k in keys if isinstance(rec[k], str) and (k, rec[k]) in mapping]
    f_type.append(found[0] if found else None)
pts = F.geometry.representative_point()
f_node, f_gap = ox.distance.nearest_nodes(G, pts.x.to_numpy(), pts.y.to_numpy(), return_dist=True)
f_id = [f"{element}/{osmid}" for element, osmid in F.index]
t = step("features_from_xml + nearest_nodes (facilities)", t)

rows = []
for ftype in cfg["types"]:
    fac = [i for i, ft in enumerate(f_type) if ft == ftype]
    on_node = {}
    for i in fac:
        on_node.setdefault(int(f_node[i]), i)  # the first facility in file order
    dist, paths = nx.multi_source_dijkstra(G, set(on_node), weight="length") if fac else ({}, {})
    for sid, node, gap in zip(sites["site_id"], s_node.tolist(), s_gap.tolist()):
        if node in dist:
            i = on_node[paths[node][0]]
            rows.append((sid, ftype, f_id[i], dist[node], gap, float(f_gap[i])))
        else:
            rows.append((sid, ftype, "", float("nan"), gap, float("nan")))
t = step("multi_source_dijkstra per type", t)
pd.DataFrame(rows, columns=["site_id", "facility_type", "nearest_facility_id", "dist_m",
                            "site_node_m", "facility_node_m"]).to_csv(cfg["out"], index=False)
step("write the csv", t)
print(json.dumps(steps))
'''


# ====================================================================================== inputs


@dataclass
class Inputs:
    """The generated inputs of one run, and the graph ``anzhi access`` builds from the roads."""

    roads: Path  # what Anzhi reads
    xml: Path  # what the script reads (the same data as OSM XML)
    sites_csv: Path
    sites: pd.DataFrame  # site_id, lon, lat (as written to sites_csv)
    facilities: Any  # geopandas.GeoDataFrame: the extract's facilities of the types
    types: tuple[str, ...]  # the types with facilities, in E2E_TYPES order
    graph: Any  # geo.roads.RoadGraph of the walk profile
    seed: int


def plain_xml(xml: Path, work: Path) -> Path:
    """``xml`` itself, or a bz2-compressed OSM XML file decompressed into ``work``: the peer
    is timed on plain XML so that decompression is not counted against it."""
    if xml.suffix.lower() != ".bz2":
        return xml
    out = work / xml.name[: -len(".bz2")]
    with bz2.open(xml, "rb") as src, out.open("wb") as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
    return out


def make_inputs(roads: Path, xml: Path, work: Path, *, n_sites: int, seed: int,
                types: tuple[str, ...] = E2E_TYPES) -> Inputs:
    """Sites near the roads of ``roads`` (seeded) as a csv, and the extract's own facilities.

    The graph is the one ``anzhi access`` builds (pyosmium → arrays, walk profile, no DEM).
    """
    from bench.routing_cases import points_near_roads
    from geo.osmgraph import road_graph_from_ways
    from geo.roads import load_profile
    from layers.facilities import read_facilities
    from layers.osm import read_osm_ways

    graph = road_graph_from_ways(read_osm_ways(roads, progress=False), profile=load_profile(PROFILE))
    lon, lat = points_near_roads(graph, n_sites, np.random.default_rng(seed))
    sites_csv = work / "sites.csv"
    sites = pd.DataFrame({
        "site_id": [f"S{i:04d}" for i in range(1, n_sites + 1)],
        "site_name": [f"site {i}" for i in range(1, n_sites + 1)],
        "lon": lon, "lat": lat, "population": 300,
    })
    sites.to_csv(sites_csv, index=False)
    fac = read_facilities(roads)
    fac = fac[fac["facility_type"].isin(types)].reset_index(drop=True)
    present = tuple(t for t in types if (fac["facility_type"] == t).any())
    return Inputs(roads=roads, xml=plain_xml(xml, work), sites_csv=sites_csv, sites=sites,
                  facilities=fac,
                  types=present, graph=graph, seed=seed)


# ====================================================================================== end to end


def _anzhi_command() -> list[str]:
    """The ``anzhi`` console script of this interpreter (else the same entry point via -c)."""
    script = Path(sys.executable).with_name("anzhi")
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from anzhi.cli import main; sys.exit(main())"]


def _peer_config(inputs: Inputs, work: Path, out: Path) -> Path:
    """The script's config: files, types, the OSM tags of each type, the excluded highways."""
    from anzhi.core.osmtags import NOT_ROADS
    from anzhi.core.vocabulary import OSM_TAGS
    from geo.roads import load_profile

    profile = load_profile(PROFILE)
    excluded = sorted(NOT_ROADS | {c for c in profile.speeds_kph if profile.speed_kph(c) is None})
    cfg = {
        "xml": str(inputs.xml), "sites": str(inputs.sites_csv), "out": str(out),
        "types": list(inputs.types), "excluded_highways": excluded,
        "osm_tags": [[k, v, t] for (k, v), t in OSM_TAGS.items() if t in inputs.types],
    }
    path = work / "peer.json"
    path.write_text(json.dumps(cfg, ensure_ascii=False, indent=1), encoding="utf-8")
    return path


@dataclass
class Runs:
    """Best wall time (s) and peak RSS (MiB) of each side over the repeats, and its output."""

    wall_s: dict[str, float] = field(default_factory=dict)
    peak_mib: dict[str, float] = field(default_factory=dict)
    peer_steps: dict[str, float] = field(default_factory=dict)  # of the script's best run
    anzhi_csv: Path | None = None
    peer_csv: Path | None = None
    anzhi_cmd: str = ""
    repeat: int = 1

    def add(self, key: str, wall: float, peak: float) -> bool:
        """Record a run; True when it is the best so far."""
        best = wall < self.wall_s.get(key, math.inf)
        self.wall_s[key] = min(wall, self.wall_s.get(key, math.inf))
        self.peak_mib[key] = max(peak, self.peak_mib.get(key, 0.0))
        return best


def run_e2e(inputs: Inputs, work: Path, *, repeat: int) -> Runs:
    """Both sides as subprocesses, interleaved run by run: Anzhi cold (``--no-cache``), the
    script, then Anzhi with the road graph from its cache (one untimed run fills it)."""
    script = work / "peer.py"
    script.write_text(PEER_SCRIPT, encoding="utf-8")
    runs = Runs(anzhi_csv=work / "access.csv", peer_csv=work / "peer.csv", repeat=repeat)
    assert runs.anzhi_csv is not None and runs.peer_csv is not None
    config = _peer_config(inputs, work, runs.peer_csv)
    env = {**os.environ, "ANZHI_CACHE_DIR": str(work / "cache")}
    anzhi = [*_anzhi_command(), "access", "--roads", str(inputs.roads), "--sites",
             str(inputs.sites_csv), "--facilities", str(inputs.roads), "--types",
             ",".join(inputs.types), "--outside-china", "--quiet", "--out", str(runs.anzhi_csv)]
    runs.anzhi_cmd = ("anzhi access --roads R --sites S.csv --facilities R --types "
                      f"{','.join(inputs.types)} --outside-china --quiet --out access.csv")
    for k in range(repeat):
        wall, peak, _ = run_child([*anzhi, "--no-cache"], cwd=work, env=env)
        runs.add("anzhi_cold", wall, peak)
        log(f"e2e {k + 1}/{repeat}: anzhi --no-cache {wall:.2f} s")
        wall, peak, out = run_child([sys.executable, str(script), str(config)], cwd=work)
        if runs.add("peer", wall, peak):
            runs.peer_steps = json.loads(out.strip().splitlines()[-1])
        log(f"e2e {k + 1}/{repeat}: osmnx + networkx script {wall:.2f} s")
    run_child(anzhi, cwd=work, env=env)  # fills the cache
    for _ in range(repeat):
        wall, peak, _ = run_child(anzhi, cwd=work, env=env)
        runs.add("anzhi_warm", wall, peak)
    return runs


# ====================================================================================== answers


@dataclass
class Agreement:
    """How the two answers compare, row by row (site × type)."""

    n_rows: int
    n_both: int  # routed by both sides
    n_one_side: int  # routed by one side only
    same_facility: float  # share of n_both naming the same facility
    within_tol: float  # share of n_both whose distances agree within the tolerance
    median_abs_m: float
    p90_abs_m: float
    median_rel: float


def agreement(anzhi_csv: Path, peer_csv: Path) -> Agreement:
    """Compare Anzhi's ``access.csv`` with the script's csv.

    Anzhi's ``dist_m`` is the site's off-road leg + the road distance between the nearest
    points of the nearest roads + the facility's off-road leg; the script's is the road
    distance between the nearest graph nodes.  On each end the two differ by at most the
    off-road leg plus the stretch of road between the nearest road point and the nearest
    node.  The leg is never longer than the straight line to the nearest node (a node is a
    point of a road), and when that node lies on the same street the stretch is at most the
    straight line road point → point → node, so one end contributes at most 3 × its
    point-to-node distance.  Tolerance per row: 3 × (site→node + facility→node) + 1 % of the
    distance + 5 m (different length models: metric CRS vs haversine).  Rows where the nearest
    node lies across a block from the nearest road (another street) can differ by more; the
    share within the tolerance says how often that happens.
    """
    a = pd.read_csv(anzhi_csv, dtype={"site_id": str, "nearest_facility_id": str},
                    keep_default_na=False, na_values=[""])
    p = pd.read_csv(peer_csv, dtype={"site_id": str, "nearest_facility_id": str},
                    keep_default_na=False, na_values=[""])
    m = a.merge(p, on=["site_id", "facility_type"], how="outer", suffixes=("_a", "_p"))
    ok_a = m["dist_m_a"].notna().to_numpy()
    ok_p = m["dist_m_p"].notna().to_numpy()
    both = m[ok_a & ok_p]
    d_a = both["dist_m_a"].to_numpy(dtype=float)
    d_p = both["dist_m_p"].to_numpy(dtype=float)
    diff = np.abs(d_a - d_p)
    tol = 3.0 * (both["site_node_m"].to_numpy(dtype=float)
                 + both["facility_node_m"].to_numpy(dtype=float)) + 0.01 * d_p + 5.0
    rel = diff / np.maximum(d_p, 1.0)

    def share(mask: NDArray[np.bool_]) -> float:
        return float(mask.mean()) if len(mask) else math.nan

    def q(x: NDArray[np.float64], k: float) -> float:
        return float(np.quantile(x, k)) if len(x) else math.nan

    return Agreement(
        n_rows=len(m), n_both=len(both), n_one_side=int((ok_a != ok_p).sum()),
        same_facility=share((both["nearest_facility_id_a"] == both["nearest_facility_id_p"])
                            .to_numpy()),
        within_tol=share(diff <= tol), median_abs_m=q(diff, 0.5), p90_abs_m=q(diff, 0.9),
        median_rel=q(rel, 0.5),
    )


# ====================================================================================== routing


@dataclass
class RoutingStep:
    """Anzhi's routing against bare scipy on the graph ``anzhi access`` builds."""

    n_sites: int
    per_type: list[tuple[str, int, float, float]]  # (type, facilities, Anzhi s, scipy s)
    t_place: float
    anzhi_s: float  # place_sites once + nearest_facility_index per type
    scipy_s: float
    n_bad: int  # answers that differ from scipy's
    repeat: int


def routing_step(inputs: Inputs, *, repeat: int) -> RoutingStep:
    """Sites and facilities at their snapped nodes, by length, every type: Anzhi vs scipy."""
    from bench.routing_queries import EXACT_TOL_M, mismatches, place_timed, race_scipy
    from geo.routing import snap_points

    graph, fac = inputs.graph, inputs.facilities
    s_node = snap_points(graph, inputs.sites["lon"].to_numpy(), inputs.sites["lat"].to_numpy()).node
    site_nodes = s_node[s_node >= 0]
    f_node = snap_points(graph, fac.geometry.x.to_numpy(), fac.geometry.y.to_numpy()).node
    f_type = fac["facility_type"].to_numpy(dtype=str)
    t_place, placed = place_timed(graph, site_nodes, repeat=repeat)
    per_type = []
    n_bad = 0
    for ftype in inputs.types:
        fnodes = f_node[(f_type == ftype) & (f_node >= 0)]
        if not len(fnodes):
            continue
        race = race_scipy(graph, placed, fnodes, repeat=repeat)
        n_bad += mismatches(race.a_cost, np.asarray(race.s_dist[site_nodes], dtype=np.float64),
                            EXACT_TOL_M)[0]
        per_type.append((ftype, len(fnodes), race.anzhi_s, race.scipy_s))
    return RoutingStep(n_sites=len(site_nodes), per_type=per_type, t_place=t_place,
                       anzhi_s=t_place + sum(t[2] for t in per_type),
                       scipy_s=sum(t[3] for t in per_type), n_bad=n_bad, repeat=repeat)


# ====================================================================================== report


@dataclass
class E2E:
    """Everything one run measured."""

    inputs: Inputs
    runs: Runs
    agree: Agreement
    routing: RoutingStep

    @property
    def speedup(self) -> float:
        """The script's wall time over Anzhi's (no cache)."""
        return self.runs.wall_s["peer"] / self.runs.wall_s["anzhi_cold"]

    @property
    def routing_ratio(self) -> float:
        """Anzhi's routing step over the bare scipy call."""
        return self.routing.anzhi_s / self.routing.scipy_s


def measure(roads: Path, xml: Path, *, n_sites: int = E2E_SITES, seed: int = 7, repeat: int = 3,
            routing_repeat: int = 50, types: tuple[str, ...] = E2E_TYPES,
            work: Path | None = None) -> E2E:
    """Generate the inputs, run both sides, compare them and time the routing step."""
    tmp = Path(tempfile.mkdtemp(prefix="anzhi-bench-e2e-")) if work is None else work
    tmp.mkdir(parents=True, exist_ok=True)
    try:
        inputs = make_inputs(roads, xml, tmp, n_sites=n_sites, seed=seed, types=types)
        log(f"e2e inputs: {n_sites:,} sites, {len(inputs.facilities)} facilities of "
            f"{len(inputs.types)} types, graph {inputs.graph.n_nodes:,} nodes")
        runs = run_e2e(inputs, tmp, repeat=repeat)
        assert runs.anzhi_csv is not None and runs.peer_csv is not None
        agree = agreement(runs.anzhi_csv, runs.peer_csv)
        return E2E(inputs, runs, agree, routing_step(inputs, repeat=routing_repeat))
    finally:
        if work is None:
            shutil.rmtree(tmp, ignore_errors=True)


def _ms(t: float) -> str:
    return f"{t * 1e3:.2f} ms"


def _verdict(ok: bool) -> str:
    return "met" if ok else "**NOT met**"


def render(e: E2E) -> str:
    """The markdown body of the ``e2e`` section."""
    inp, runs, ag, rt = e.inputs, e.runs, e.agree, e.routing
    counts = ", ".join(f"{t} {int((inp.facilities['facility_type'] == t).sum())}"
                       for t in inp.types)
    w, mib = runs.wall_s, runs.peak_mib
    lines = [
        f"`anzhi access` against a standalone osmnx + networkx script on the same extract, both "
        f"run as subprocesses in this run on this machine, wall-clock end to end (interpreter "
        f"start-up, reading, snapping, routing, writing the csv), best of {runs.repeat}. Anzhi "
        f"reads `{inp.roads.name}`, the script `{inp.xml.name}` (the same data; osmnx reads OSM "
        f"XML only). Walk profile; {len(inp.sites):,} sites generated with seed {inp.seed} "
        f"within 150 m of a walkable road; facilities: the extract's own OSM amenities of "
        f"{len(inp.types)} types ({counts}).",
        "",
        "| run | wall time | peak RSS | the script's time / this |",
        "|---|---|---|---|",
        f"| **Anzhi** `{runs.anzhi_cmd} --no-cache` (reads the roads, builds the graph) | "
        f"{fmt_secs(w['anzhi_cold'])} | {mib['anzhi_cold']:,.0f} MiB | {fmt_ratio(e.speedup)} |",
        f"| Anzhi, the same command again (road graph from its cache) | "
        f"{fmt_secs(w['anzhi_warm'])} | {mib['anzhi_warm']:,.0f} MiB | "
        f"{fmt_ratio(w['peer'] / w['anzhi_warm'])} |",
        f"| osmnx + networkx script (`graph_from_xml`, `features_from_xml`, `nearest_nodes`, "
        f"`multi_source_dijkstra` per type) | {fmt_secs(w['peer'])} | {mib['peer']:,.0f} MiB | — |",
        "",
        "The script's steps (its best run): " + ", ".join(
            f"{name} {fmt_secs(t)}" for name, t in runs.peer_steps.items()) + ".",
        "",
        f"Routing step alone (on the graph `anzhi access` builds, {rt.n_sites:,} sites and the "
        f"facilities at their snapped nodes, by length; best of {rt.repeat}, Anzhi and scipy "
        "interleaved call by call):",
        "",
        "| type | facilities | Anzhi `nearest_facility_index` | bare scipy `dijkstra(min_only=True)` |",
        "|---|---|---|---|",
        *(f"| {t} | {k} | {_ms(ta)} | {_ms(ts)} |" for t, k, ta, ts in rt.per_type),
        f"| **all types** (Anzhi: + one `place_sites`, {_ms(rt.t_place)}) | | "
        f"{_ms(rt.anzhi_s)} | {_ms(rt.scipy_s)} |",
        "",
        f"Answers: the routing step's agree with scipy's for every site and type "
        f"({rt.n_bad} disagree). End to end, of {ag.n_rows:,} site × type rows {ag.n_both:,} "
        f"are routed by both ({ag.n_one_side} by one side only); both name the same facility "
        f"for {ag.same_facility:.1%}; the distances differ by {ag.median_abs_m:.0f} m at the "
        f"median ({ag.median_rel:.1%}) and {ag.p90_abs_m:.0f} m at the 90th percentile, and "
        f"{ag.within_tol:.1%} agree within the tolerance: 3 × (site→node + facility→node) + "
        "1 % + 5 m. Anzhi snaps every point to the nearest point of the nearest road and adds "
        "the off-road legs; the script snaps to the nearest graph node, so each end may differ "
        "by up to its leg plus the road between the two snap points (at most ~3× the "
        "point-to-node distance when the node is on the same street). A different facility is "
        "a near-tie that the two snapping models break differently.",
        "",
        "Targets:",
        "",
        "| target | measured | met |",
        "|---|---|---|",
        f"| end to end ≥ {TARGET_E2E:g}× faster than the osmnx + networkx script (no cache) | "
        f"{fmt_ratio(e.speedup)} | {_verdict(e.speedup >= TARGET_E2E)} |",
        f"| routing step ≤ {TARGET_ROUTING:g}× the bare scipy call | Anzhi / scipy = "
        f"{e.routing_ratio:.2f} | {_verdict(e.routing_ratio <= TARGET_ROUTING)} |",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command line; returns 0 (also when the data are absent), 1 when the routing step's
    answers disagree with scipy's."""
    args = bench_args(__doc__, argv, {
        "--roads": {"type": Path, "default": ANDORRA_PBF,
                    "help": "OSM extract Anzhi reads (default: the Andorra .osm.pbf)"},
        "--xml": {"type": Path, "default": None,
                  "help": "the same data as OSM XML for osmnx (default: the Andorra .osm.bz2 "
                          "with the default --roads, else --roads itself)"},
        "--sites": {"type": int, "default": E2E_SITES,
                    "help": "number of generated sites (default: %(default)s)"},
        "--seed": {"type": int, "default": 7, "help": "random seed (default: %(default)s)"},
        "--repeat": {"type": int, "default": 3,
                     "help": "end-to-end runs per side, best kept (default: %(default)s)"},
        "--work": {"type": Path, "default": None,
                   "help": "folder for the inputs and outputs (kept; default: a temporary one)"},
    })
    xml = args.xml or (ANDORRA_XML if args.roads == ANDORRA_PBF else args.roads)
    missing = [p for p in (args.roads, xml) if not Path(p).is_file()]
    if missing:
        print(f"bench_e2e skipped: {', '.join(map(str, missing))} absent", file=sys.stderr)
        return 0
    e = measure(args.roads, xml, n_sites=args.sites, seed=args.seed, repeat=args.repeat,
                work=args.work)
    cmd = "python -m bench.bench_e2e" + ("" if not argv else " " + " ".join(argv))
    publish("e2e", render(e), command=cmd, write=not args.no_write)
    return 0 if e.routing.n_bad == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
