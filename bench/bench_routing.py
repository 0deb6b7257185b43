"""Routing benchmark: snapping and nearest facility per type vs networkx, scipy, osmnx, pandana.

Run ``python -m bench.bench_routing`` (about 11 minutes on 2 cores, 8 of them waiting for
pandana; ``--quick`` for a smoke run of ~15 s).  Writes the ``routing`` section of ``docs/benchmarks.md``.
The networks are built in :mod:`bench.routing_cases`, the peers measured in
:mod:`bench.routing_queries`; this module renders the section and holds the command line.

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
import math
import sys
import time
from pathlib import Path

from bench.report import fmt_ratio, fmt_secs, write_section
from bench.routing_cases import ANDORRA, GENERATED_TYPES, run_andorra, run_generated
from bench.routing_queries import Case, pandana_child

__all__ = ["render", "run", "main"]


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
            + "\n".join(f"| {m} | {ans} | {fmt_secs(t)} | {'—' if i == 0 else fmt_ratio(t / a_snap)} | {note} |"
                        for i, (m, ans, t, note) in enumerate(case.snap_rows))
            + "\n\n" + "\n".join(f"- {n}" for n in case.snap_notes) + "\n"
        )
        a_q = case.query_rows[0][1]
        parts.append(
            "Nearest facility of each type for every site (by road length; sites and facilities "
            "at their snapped nodes):\n\n"
            "| method | time | Anzhi is × faster | answers vs scipy | memory* |\n"
            "|---|---|---|---|---|\n"
            + "\n".join(f"| {m} | {lb}{fmt_secs(t)} | {'—' if i == 0 else lb + fmt_ratio(t / a_q)} | {c} | {mib} |"
                        for i, (m, t, lb, c, mib) in enumerate(case.query_rows)) + "\n"
        )
        parts.append(
            "Per type:\n\n| type | facilities | Anzhi `nearest_facility_index` | bare scipy | "
            "networkx multi-source | networkx loop (extrapolated) | pandana query |\n"
            "|---|---|---|---|---|---|---|\n"
            + "\n".join(f"| {t} | {k:,} | {fmt_secs(d['anzhi'])} | {fmt_secs(d['scipy'])} | "
                        f"{fmt_secs(d['nx'])} | {fmt_secs(d['loop'])} | "
                        f"{'—' if math.isnan(d['pd_query']) else fmt_secs(d['pd_query'])} |"
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
        pandana_child(Path(args.pandana_child[0]), Path(args.pandana_child[1]))
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
