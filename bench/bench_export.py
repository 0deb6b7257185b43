"""Export benchmark: writing a large run's outputs (gaps.xlsx above all) vs pandas ``to_excel``.

Run ``python -m bench.bench_export`` (``--sites 100000`` by default; ``--no-write`` only
prints).  Writes the ``export`` section of ``docs/benchmarks.md``.

The table is a generated gap list of ``--sites`` sites × 6 rules of the default rule set
(one row per site and rule, the columns of ``analysis.gaps.GAPS_COLUMNS``: Chinese names,
counties and townships, populations, households with blanks, distances and times with
blanks for unroutable rows, Chinese and English reasons, sources and clauses), with its
coverage and access tables.  Each side runs in a fresh child process (``python -m
bench.bench_export --child SIDE``) so the peak memory reported is that run's own:

* **Anzhi**: :func:`layers.export.write_outputs` — gaps.csv, gaps.xlsx (summary, gap list,
  rules, one sheet per facility type: every gap row is written twice), coverage.csv and
  access.csv, atomically.
* **pandas**: ``DataFrame.to_excel(engine="openpyxl")`` of the same gap table, one sheet,
  no styles: the usual way a script writes such a table.

Wall time and the peak RSS are of the whole child (Python start-up, building the table and
writing); the write step alone is timed inside the child.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench.report import REPO, bench_args, fmt_mib, fmt_ratio, fmt_secs, log, publish, run_child

#: Rules of the default set used for the generated gap table (6 facility types).
BENCH_RULES: tuple[str, ...] = ("health-every-site", "police-800", "employment-800",
                                "admin-1000", "kindergarten-scale", "primary-rural-30min")
SIDES: tuple[str, ...] = ("anzhi", "pandas")


@dataclasses.dataclass(frozen=True)
class Tables:
    """A generated run's tables: the gap list, its coverage and access tables, the rules."""

    gaps: pd.DataFrame
    coverage: pd.DataFrame
    access: pd.DataFrame
    rules: Any  # analysis.rules.RuleSet


def make_tables(n_sites: int, *, seed: int = 7) -> Tables:
    """A gap table of ``n_sites`` sites × :data:`BENCH_RULES`, with realistic columns.

    Parameters
    ----------
    n_sites
        Number of sites (≥ 1); the gap table has ``n_sites × 6`` rows.
    seed
        Seed of the generator (same seed, same tables).
    """
    from analysis.coverage import coverage_table
    from analysis.rules import load_rules

    rs = load_rules()
    rules = dataclasses.replace(rs, rules=tuple(r for r in rs if r.id in BENCH_RULES))
    rng = np.random.default_rng(seed)
    n_rules = len(rules.rules)
    sid = np.array([f"S{i:06d}" for i in range(n_sites)], dtype=object)
    counties = np.array([f"{c}县" for c in "施甸龙陵昌宁腾冲隆阳"], dtype=object)
    county = counties[rng.integers(0, len(counties), n_sites)]
    township = np.array([f"{c}第{k}镇" for c, k in
                         zip(county, rng.integers(1, 40, n_sites), strict=True)], dtype=object)
    name = np.array([f"幸福{i}号安置点" for i in range(n_sites)], dtype=object)
    pop = rng.integers(30, 12000, n_sites).astype("int64")
    hh = np.round(pop / rng.uniform(3.0, 4.5, n_sites))
    hh[rng.random(n_sites) < 0.1] = np.nan
    rep = np.repeat
    n = n_sites * n_rules
    ftype = np.tile(np.array([r.facility_type for r in rules.rules], dtype=object), n_sites)
    rule_id = np.tile(np.array([r.id for r in rules.rules], dtype=object), n_sites)
    source = np.tile(np.array([r.source for r in rules.rules], dtype=object), n_sites)
    clause = np.tile(np.array([r.clause for r in rules.rules], dtype=object), n_sites)
    grade = np.tile(np.array([r.grade for r in rules.rules], dtype=object), n_sites)
    status = rng.choice(np.array(["ok", "ok_shared", "gap_missing", "gap_capacity",
                                  "unroutable"], dtype=object), n, p=[.55, .1, .25, .05, .05])
    dist = np.round(rng.gamma(2.0, 1500.0, n), 1)
    time_min = np.round(dist / 4000 * 60, 2)
    unroutable = status == "unroutable"
    dist[unroutable] = np.nan
    time_min[unroutable] = np.nan
    nearest = np.array([f"F{k:06d}" for k in rng.integers(0, n_sites // 5 + 1, n)], dtype=object)
    nearest[unroutable] = ""
    reason = np.array([f"最近设施 {d / 1000:.1f} km,步行 {t:.0f} 分钟" for d, t in
                       zip(dist, time_min, strict=True)], dtype=object)
    reason_en = np.array([f"nearest facility {d / 1000:.1f} km, {t:.0f} min on foot"
                          for d, t in zip(dist, time_min, strict=True)], dtype=object)
    reason[unroutable] = "距道路 2.6 km,无法到达"
    reason_en[unroutable] = "2.6 km from the nearest road: unroutable"
    gaps = pd.DataFrame({
        "site_id": rep(sid, n_rules), "site_name": rep(name, n_rules),
        "county": rep(county, n_rules), "township": rep(township, n_rules),
        "population": rep(pop, n_rules), "households": rep(hh, n_rules),
        "facility_type": ftype, "rule_id": rule_id, "status": status,
        "nearest_facility_id": nearest, "dist_m": dist, "time_min": time_min,
        "reason": reason, "reason_en": reason_en, "source": source, "clause": clause,
        "grade": grade})
    access = pd.DataFrame({
        "site_id": gaps["site_id"], "facility_type": gaps["facility_type"],
        "nearest_facility_id": gaps["nearest_facility_id"], "dist_m": gaps["dist_m"],
        "time_min": gaps["time_min"], "snap_dist_m": np.round(rng.gamma(1.5, 40.0, n), 1),
        "reason": np.where(unroutable, "no_road_nearby", "")})
    return Tables(gaps=gaps, coverage=coverage_table(gaps), access=access, rules=rules)


# --------------------------------------------------------------------------------------
# One side, in its own process
# --------------------------------------------------------------------------------------


def run_side(side: str, n_sites: int, out: Path) -> dict[str, Any]:
    """Build the tables and write them with one side; the write step's wall time (s), the
    gap rows and the bytes written."""
    t0 = time.perf_counter()
    tables = make_tables(n_sites)
    build_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    if side == "anzhi":
        from layers.export import write_outputs

        paths = write_outputs(out, gaps=tables.gaps, coverage=tables.coverage,
                              access=tables.access, rules=tables.rules)
        written = {k: p.stat().st_size for k, p in paths.items()}
    elif side == "pandas":
        out.mkdir(parents=True, exist_ok=True)
        target = out / "gaps.xlsx"
        tables.gaps.to_excel(target, index=False, engine="openpyxl")
        written = {"gaps.xlsx": target.stat().st_size}
    else:
        raise ValueError(f"unknown side {side!r}; use one of {', '.join(SIDES)}")
    return {"side": side, "build_s": build_s, "write_s": time.perf_counter() - t0,
            "rows": len(tables.gaps), "bytes": written}


def measure(n_sites: int, *, work: Path, sides: Sequence[str] = SIDES) -> list[dict[str, Any]]:
    """Each side in a fresh child process: its result (:func:`run_side`) with the child's
    wall time ``wall_s`` and peak RSS ``peak_mib``."""
    results = []
    for side in sides:
        log(f"bench_export: {side}, {n_sites:,} sites")
        wall, peak, stdout = run_child(
            [sys.executable, "-m", "bench.bench_export", "--child", side, "--sites",
             str(n_sites), "--work", str(work / side)], cwd=REPO)
        rec = json.loads(stdout.strip().splitlines()[-1])
        rec.update(wall_s=wall, peak_mib=peak)
        results.append(rec)
    return results


def render(results: Sequence[dict[str, Any]], n_sites: int) -> str:
    """The ``export`` section's body: one table row per side, and the targets."""
    by = {r["side"]: r for r in results}
    rows = by[results[0]["side"]]["rows"]
    lines = [
        f"{n_sites:,} sites × {len(BENCH_RULES)} rules = {rows:,} gap rows (generated, "
        "`bench.bench_export.make_tables`). Each side runs in its own process; *write* is "
        "the write step alone, *process* the whole child (start-up, building the table, "
        "writing), *peak* its peak RSS.",
        "",
        "| side | what it writes | write | process | peak | gaps.xlsx |",
        "|---|---|---|---|---|---|",
    ]
    what = {"anzhi": "**Anzhi** `write_outputs`: gaps.csv, gaps.xlsx (summary, gap list, "
                     "rules, a sheet per type: every row twice, styled), coverage.csv, "
                     "access.csv",
            "pandas": "pandas `to_excel(engine=\"openpyxl\")`: gaps.xlsx, one unstyled sheet"}
    for r in results:
        size = r["bytes"].get("gaps.xlsx", 0) / 2**20
        lines.append(f"| {r['side']} | {what.get(r['side'], r['side'])} | "
                     f"{fmt_secs(r['write_s'])} | {fmt_secs(r['wall_s'])} | "
                     f"{fmt_mib(r['peak_mib'])} | {size:,.0f} MiB |")
    if "anzhi" in by and "pandas" in by:
        a, p = by["anzhi"], by["pandas"]
        lines += ["", f"Anzhi writes all four files (twice the xlsx rows, styled) in "
                      f"{fmt_secs(a['write_s'])}; pandas takes {fmt_secs(p['write_s'])} "
                      f"for the gap list alone ({fmt_ratio(p['write_s'] / a['write_s'])} "
                      f"Anzhi's time), at {fmt_ratio(p['peak_mib'] / a['peak_mib'])} "
                      "Anzhi's peak memory."]
    if "anzhi" in by:
        a = by["anzhi"]
        ok_t = "met" if a["write_s"] < 60 else "**missed**"
        ok_m = "met" if a["peak_mib"] < 2048 else "**missed**"
        lines += ["", "| target (issue 18.7) | Anzhi | |", "|---|---|---|",
                  f"| write < 60 s | {fmt_secs(a['write_s'])} | {ok_t} |",
                  f"| peak < 2 GB | {fmt_mib(a['peak_mib'])} | {ok_m} |"]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = bench_args(__doc__, argv, {
        "--sites": {"type": int, "default": 100_000, "help": "sites in the gap table"},
        "--child": {"choices": SIDES, "help": "internal: run one side in this process"},
        "--work": {"type": Path, "help": "internal: output folder of --child"},
        "--sides": {"nargs": "+", "choices": SIDES, "default": list(SIDES)},
    })
    if args.child:
        print(json.dumps(run_side(args.child, args.sites, args.work)))
        return 0
    with tempfile.TemporaryDirectory(prefix="anzhi-bench-export-") as tmp:
        results = measure(args.sites, work=Path(tmp), sides=args.sides)
    cmd = "python -m bench.bench_export" + (f" --sites {args.sites}"
                                            if args.sites != 100_000 else "")
    publish("export", render(results, args.sites), command=cmd, write=not args.no_write)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
