"""Road graph building: the pure osmnx path against Anzhi's direct pyosmium → CSR path, and
the cached second run.

``python -m bench.bench_roads`` builds the walking graph (``RoadGraph``) of each real OSM
extract in ``../shared/data/osm`` three ways, every build in a fresh Python process so that
its peak memory is its own:

* **osmnx**: ``layers.osm.load_road_graph`` (highways filtered to a temporary OSM XML, then
  ``osmnx.graph_from_xml`` + ``osmnx.simplify_graph``) and ``RoadGraph.from_networkx`` —
  what a notebook built on osmnx does;
* **direct**: ``layers.osm.read_osm_ways`` (pyosmium, two passes) and
  ``geo.osmgraph.road_graph_from_ways`` (vectorised simplification, the same graph);
* **cached**: ``layers.roadcache.cached_road_graph`` on an empty cache (build + store), then
  again on the filled cache (a second run: the arrays are loaded, the file is only hashed).

Before any ratio is reported the graphs are checked to be the same (node and directed-edge
counts).  Peak memory is the process's peak resident set (``ru_maxrss``) and, since every
process first imports the same libraries, also the peak *above* the resident set measured
right after the imports: the memory the build itself needs.  The section ``roads`` of
docs/benchmarks.md is rewritten.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.report import REPO, SHARED_DATA, bench_args, publish

SHARED = SHARED_DATA / "osm"
#: (label, file for the osmnx path, file for the direct path)
EXTRACTS = (
    ("Andorra 2020 (.osm.bz2 / .osm.pbf)", "andorra-2020-05-01.osm.bz2", "andorra-2020-05-01.osm.pbf"),
    ("Andorra 2020 (.osm.pbf both)", "andorra-2020-05-01.osm.pbf", "andorra-2020-05-01.osm.pbf"),
    ("Liechtenstein 2015 (.osm.pbf)", "liechtenstein-2015-07-27.osm.pbf",
     "liechtenstein-2015-07-27.osm.pbf"),
)
TARGET_SPEED = 5.0  # direct at least 5x faster than osmnx
TARGET_MEMORY = 1 / 3  # direct at most 1/3 of osmnx's memory
TARGET_CACHE = 10.0  # cached second run at least 10x faster than the first

_PATHS_NOTE = (
    "The osmnx path reads `.osm.pbf` through the same pyosmium highway filter into a "
    "temporary OSM XML (osmnx cannot read PBF), so the second Andorra row compares the "
    "parsers on the same input file. The cached second run hashes the file (SHA-256) and "
    "loads the stored arrays; it never parses the file."
)


def _rss_mib() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return float(line.split()[1]) / 1024.0
    except OSError:
        pass
    return float("nan")


def child(mode: str, path: str, profile: str, cache_dir: str) -> dict[str, Any]:
    """One build in this process; returns times (s), memory (MiB) and graph sizes."""
    import geo.osmgraph  # noqa: F401  (every mode imports the same stack first)
    import layers.osm  # noqa: F401
    import layers.roadcache  # noqa: F401
    from geo.roads import RoadGraph, load_profile
    from layers.osm import load_road_graph

    prof = load_profile(profile)
    base = _rss_mib()
    hit = False
    t0 = time.perf_counter()
    if mode == "osmnx":
        graph = RoadGraph.from_networkx(load_road_graph(path), profile=prof)
    elif mode == "direct":
        from geo.osmgraph import road_graph_from_ways
        from layers.osm import read_osm_ways

        graph = road_graph_from_ways(read_osm_ways(path, progress=False), profile=prof)
    elif mode == "cached":
        from geo.osmgraph import road_graph_from_ways
        from layers.osm import read_osm_ways
        from layers.roadcache import cached_road_graph

        graph, hit = cached_road_graph(
            path, profile=prof, cache_dir=cache_dir,
            build=lambda: road_graph_from_ways(read_osm_ways(path, progress=False), profile=prof))
    else:
        raise SystemExit(f"unknown mode {mode}")
    wall = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    return {"mode": mode, "wall_s": wall, "peak_mib": peak, "base_mib": base,
            "above_base_mib": peak - base, "n_nodes": graph.n_nodes, "n_edges": graph.n_edges,
            "hit": hit}


def _spawn(mode: str, path: Path, profile: str, cache_dir: Path) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "bench.bench_roads", "--child", mode, str(path), profile,
         str(cache_dir)],
        cwd=REPO, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure(profile: str, repeat: int) -> list[dict[str, Any]]:
    """Every extract × path, ``repeat`` times each (best wall time, max memory kept)."""
    rows = []
    for label, xml_name, direct_name in EXTRACTS:
        osmnx_file, direct_file = SHARED / xml_name, SHARED / direct_name
        if not (osmnx_file.is_file() and direct_file.is_file()):
            print(f"skipping {label}: data absent", file=sys.stderr)
            continue
        res: dict[str, Any] = {"label": label, "osmnx_file": xml_name, "direct_file": direct_name}
        for mode, f in (("osmnx", osmnx_file), ("direct", direct_file)):
            runs = [_spawn(mode, f, profile, Path(tempfile.mkdtemp())) for _ in range(repeat)]
            res[mode] = min(runs, key=lambda r: r["wall_s"])
            res[mode]["peak_mib"] = max(r["peak_mib"] for r in runs)
            res[mode]["above_base_mib"] = max(r["above_base_mib"] for r in runs)
        cold, warm = [], []
        for _ in range(repeat):
            cache = Path(tempfile.mkdtemp(prefix="anzhi-bench-cache-"))
            cold.append(_spawn("cached", direct_file, profile, cache))
            warm.append(_spawn("cached", direct_file, profile, cache))
        if any(r["hit"] for r in cold) or not all(r["hit"] for r in warm):
            raise RuntimeError("cache runs did not miss then hit as expected")
        res["cold"] = min(cold, key=lambda r: r["wall_s"])
        res["warm"] = min(warm, key=lambda r: r["wall_s"])
        sizes = {(res[m]["n_nodes"], res[m]["n_edges"]) for m in ("osmnx", "direct", "cold", "warm")}
        if len(sizes) != 1:
            raise RuntimeError(f"{label}: the paths built different graphs: {sizes}")
        rows.append(res)
        print(f"{label}: osmnx {res['osmnx']['wall_s']:.2f} s, direct {res['direct']['wall_s']:.2f} s,"
              f" cached {res['cold']['wall_s']:.2f} → {res['warm']['wall_s']:.3f} s", file=sys.stderr)
    return rows


def report(rows: list[dict[str, Any]], profile: str, repeat: int) -> str:
    """The markdown body of the section."""
    def verdict(ok: bool) -> str:
        return "yes" if ok else "**no**"

    lines = [
        f"Walking graph (`{profile}` profile) of the real extracts in `../shared/data/osm`, "
        f"each build in a fresh process, best wall time of {repeat}; memory = peak resident "
        "set of that process (*peak*) and its peak above the resident set right after the "
        "imports (*build*: the memory the build itself needs; every process imports the same "
        "libraries first). All paths gave the same graph (node and directed-edge counts "
        "checked before any ratio).",
        "",
        "| extract | nodes / directed edges | osmnx path s | direct s | speed-up (≥ 5) | "
        "osmnx build MiB (peak) | direct build MiB (peak) | memory ratio (≤ 1/3) | "
        "cached 1st run s | cached 2nd run s | 2nd-run speed-up (≥ 10) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        o, d, c, w = r["osmnx"], r["direct"], r["cold"], r["warm"]
        speed = o["wall_s"] / d["wall_s"]
        mem = d["above_base_mib"] / o["above_base_mib"]
        cache = c["wall_s"] / w["wall_s"]
        lines.append(
            f"| {r['label']} | {o['n_nodes']:,} / {o['n_edges']:,} | {o['wall_s']:.2f} | "
            f"{d['wall_s']:.2f} | {speed:.1f}× {verdict(speed >= TARGET_SPEED)} | "
            f"{o['above_base_mib']:.0f} ({o['peak_mib']:.0f}) | "
            f"{d['above_base_mib']:.0f} ({d['peak_mib']:.0f}) | "
            f"{mem:.2f} {verdict(mem <= TARGET_MEMORY)} | {c['wall_s']:.2f} | {w['wall_s']:.3f} | "
            f"{cache:.0f}× {verdict(cache >= TARGET_CACHE)} |")
    return "\n".join([*lines, "", _PATHS_NOTE])


def main(argv: list[str] | None = None) -> int:
    args = bench_args(__doc__, argv, {
        "--profile": {"default": "walk", "help": "travel profile (default: %(default)s)"},
        "--repeat": {"type": int, "default": 3, "help": "builds per path (default: %(default)s)"},
        "--child": {"nargs": 4, "metavar": ("MODE", "FILE", "PROFILE", "CACHE"),
                    "help": argparse.SUPPRESS},
    })
    if args.child:
        print(json.dumps(child(*args.child)))
        return 0
    rows = measure(args.profile, args.repeat)
    if not rows:
        print("no extract found in ../shared/data/osm; nothing measured", file=sys.stderr)
        return 1
    publish("roads", report(rows, args.profile, args.repeat),
            command=f"python -m bench.bench_roads --repeat {args.repeat}", write=not args.no_write)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
