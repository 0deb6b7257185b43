"""Run-comparison benchmark: ``anzhi diff`` of two 5,000-site runs (issue 17: < 1 s).

Run ``python -m bench.bench_diff`` (``--sites 5000`` by default; ``--no-write`` only prints).
Writes the ``diff`` section of ``docs/benchmarks.md``.

The old run is the generated gap list of :func:`bench.bench_export.make_tables` (``--sites``
sites × 6 rules of the default set, realistic columns); the new run is the same list with
5 % of the rows' statuses redrawn, 1 % of the sites removed and as many added, and the
``police-800`` rows of 10 % of the sites dropped (a threshold raised).  Both are written
with :func:`layers.export.write_outputs` (gaps.csv, gaps.xlsx, coverage.csv, access.csv),
then timed, each the best of ``--repeat`` calls in this process:

* **compare**: :func:`analysis.diff.compare` on the two gap tables in memory (the app's
  "与上次比较" panel re-runs this when the current run changes);
* **read folder** / **read gaps.xlsx**: :func:`layers.runs.read_run` of an output folder
  (gaps.csv, access.csv and the rules sheet of gaps.xlsx) and of the workbook alone (what
  the app reads from an upload);
* **write**: :func:`layers.diff.write_diff` (diff.xlsx, diff.csv, diff_coverage.csv);
* **anzhi diff**: the whole command in a fresh process (Python start-up and imports
  included), once.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench.report import REPO, bench_args, fmt_secs, log, publish

#: Target of issue 17 for the comparison of two 5,000-site runs, seconds.
TARGET_S = 1.0


def timed_cpu(fn: Callable[[], Any], *, repeat: int) -> tuple[float, float, Any]:
    """Best wall time and best CPU time (s) of ``repeat`` calls, and the last result.

    The CPU time (this process, all threads) is what the step costs on an idle machine; the
    wall time grows with the machine's load (shown in the section)."""
    wall, cpu, result = float("inf"), float("inf"), None
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        result = fn()
        wall = min(wall, time.perf_counter() - t0)
        cpu = min(cpu, time.process_time() - c0)
    return wall, cpu, result


def make_runs(n_sites: int, *, seed: int = 11) -> tuple[Any, Any]:
    """The old and the new run's tables (:class:`bench.bench_export.Tables`).

    Parameters
    ----------
    n_sites
        Sites of the old run (≥ 100).
    seed
        Seed of the changes (the old run is ``make_tables``'s own seeded table).
    """
    from analysis.coverage import coverage_table
    from bench.bench_export import Tables, make_tables

    old = make_tables(n_sites)
    rng = np.random.default_rng(seed)
    g = old.gaps.copy()
    redraw = rng.random(len(g)) < 0.05
    g.loc[redraw, "status"] = rng.choice(np.array(["ok", "ok_shared", "gap_missing",
                                                   "gap_capacity", "unroutable"], dtype=object),
                                         int(redraw.sum()))
    sites = g["site_id"].unique()
    k = max(n_sites // 100, 1)
    removed = set(rng.choice(sites, k, replace=False))
    raised = set(rng.choice(sites, n_sites // 10, replace=False))
    keep = ~g["site_id"].isin(removed) & ~((g["rule_id"] == "police-800")
                                           & g["site_id"].isin(raised))
    donors = g[g["site_id"].isin(set(rng.choice(sites, k, replace=False)))].copy()
    donors["site_id"] = "N" + donors["site_id"].astype(str)
    donors["site_name"] = "新" + donors["site_name"].astype(str)
    new_gaps = pd.concat([g[keep], donors], ignore_index=True)
    access = old.access[old.access["site_id"].isin(set(new_gaps["site_id"]))]
    new = Tables(gaps=new_gaps, coverage=coverage_table(new_gaps), access=access,
                 rules=old.rules)
    return old, new


def measure(n_sites: int, *, work: Path, repeat: int = 5) -> dict[str, Any]:
    """Write both runs into ``work`` and time the steps; seconds, rows and change counts."""
    from analysis.diff import compare
    from layers.export import write_outputs
    from layers.diff import write_diff
    from layers.runs import compare_runs, read_run

    log(f"building two runs of {n_sites:,} sites")
    old, new = make_runs(n_sites)
    for name, t in (("old", old), ("new", new)):
        write_outputs(work / name, gaps=t.gaps, coverage=t.coverage, access=t.access,
                      rules=t.rules)
    log("timing")
    load = os.getloadavg()[0]
    steps: dict[str, tuple[float, float]] = {}
    comparison = compare_runs(work / "old", work / "new")
    calls: dict[str, Callable[[], Any]] = {
        "compare": lambda: compare(old.gaps, new.gaps),
        "read_folder": lambda: read_run(work / "old"),
        "read_xlsx": lambda: read_run(work / "old" / "gaps.xlsx"),
        "write": lambda: write_diff(work / "out", comparison.diff, old=comparison.old,
                                    new=comparison.new),
    }
    for name, call in calls.items():
        wall, cpu, _ = timed_cpu(call, repeat=repeat)
        steps[name] = (wall, cpu)
    diff = comparison.diff
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", "import sys; from anzhi.cli import main; "
                           "sys.exit(main(sys.argv[1:]))", "diff", str(work / "old"),
                           str(work / "new"), "--out", str(work / "cli")],
                          cwd=REPO, capture_output=True, text=True, check=False)
    cli_s = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"anzhi diff failed: {proc.stderr}")
    return {"sites": n_sites, "old_rows": len(old.gaps), "new_rows": len(new.gaps),
            "diff_rows": len(diff.rows), "totals": diff.totals(), "steps": steps,
            "cli_s": cli_s, "load": load, "cpus": os.cpu_count(),
            "bytes": {p.name: p.stat().st_size for p in sorted((work / "out").iterdir())}}


def render(r: dict[str, Any]) -> str:
    """The ``diff`` section: the runs, the timings (wall and CPU) and the issue's target."""
    changes = ", ".join(f"{k} {v:,}" for k, v in r["totals"].items() if v)
    st = r["steps"]
    wall = st["compare"][0] + 2 * st["read_folder"][0]
    cpu = st["compare"][1] + 2 * st["read_folder"][1]
    names = {"compare": "compare (analysis.diff.compare, in memory)",
             "read_folder": "read one run folder (gaps.csv, access.csv, rules sheet)",
             "read_xlsx": "read one gaps.xlsx (the app's upload)",
             "write": "write diff.xlsx, diff.csv, diff_coverage.csv"}
    lines = [
        f"Two generated runs of {r['sites']:,} sites × 6 rules ({r['old_rows']:,} and "
        f"{r['new_rows']:,} gap rows) → {r['diff_rows']:,} diff rows ({changes}).  Load "
        f"average {r['load']:.1f} on {r['cpus']} CPUs while measuring: the CPU time is what a "
        "step costs on an idle machine.",
        "",
        "| step | wall | CPU |",
        "|---|---|---|",
        *(f"| {names[k]} | {fmt_secs(w)} | {fmt_secs(c)} |" for k, (w, c) in st.items()),
        f"| `anzhi diff OLD NEW --out DIR`, fresh process | {fmt_secs(r['cli_s'])} | |",
        "",
        "| target (issue 17) | wall | CPU | |",
        "|---|---|---|---|",
        f"| diff of two 5,000-site runs < 1 s (two folders read + compare) | "
        f"{fmt_secs(wall)} | {fmt_secs(cpu)} | "
        f"{'met' if cpu < TARGET_S else '**missed**'} (CPU) |",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = bench_args(__doc__, argv, {
        "--sites": {"type": int, "default": 5000, "help": "sites of each run"},
        "--repeat": {"type": int, "default": 5, "help": "calls per timed step (best kept)"},
    })
    with tempfile.TemporaryDirectory(prefix="anzhi-bench-diff-") as tmp:
        result = measure(args.sites, work=Path(tmp), repeat=args.repeat)
    cmd = "python -m bench.bench_diff" + (f" --sites {args.sites}" if args.sites != 5000
                                          else "")
    publish("diff", render(result), command=cmd, write=not args.no_write)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
