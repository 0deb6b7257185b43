"""Siting end to end: the whole ``anzhi site`` command on the demo county (issue 14: < 10 s).

Run ``python -m bench.bench_site`` (about a minute on 2 cores); ``--repeat K`` times each
command ``K`` times (default 3); ``--quick`` runs each once (a smoke test, never written to
docs/).  Writes the ``site`` section of ``docs/benchmarks.md`` (``--no-write`` only prints).

Each run is the real command line in its own child process, started from the repository
with the ``anzhi`` console script of this interpreter's environment, writing into a fresh
``--out`` folder:

* ``anzhi site --demo --type clinic,police_room --model lscp --out DIR --quiet`` (fewest new
  clinics and police rooms so every site is covered, existing facilities fixed);
* ``anzhi site --demo --type clinic,police_room --model mclp --budget 3 --out DIR --quiet``
  (3 new facilities of each type, most people covered);
* ``anzhi site --demo --type kindergarten --model lscp --out DIR --quiet`` (with the rule's
  capacity norm: places per child).

*wall* is the child's start to exit (interpreter start-up and imports included), *CPU* its
user + system time (all threads), *peak* its peak RSS, through the launcher of
:func:`bench.report.run_command`.  The timed runs share one cache folder
(``ANZHI_CACHE_DIR``) that one untimed run of the first command warms first: the demo county
already built and the road graph already in the cache, as on a planner's second run.  One
further *cold* run of the first command starts from an empty cache folder: the demo county
is built and the OSM road file parsed into the graph within the timed run.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import statistics
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from bench.report import REPO, bench_args, fmt_mib, fmt_secs, log, machine, publish
from bench.report import run_command

__all__ = ["TARGET_S", "Case", "CASES", "COLD_CASE", "SiteRun", "anzhi_command", "site_argv",
           "parse_summary", "run_site", "measure", "load_average", "render", "main"]

#: Target of issue 14: the whole ``anzhi site`` run on the demo county (wall time, s).
TARGET_S = 10.0


@dataclasses.dataclass(frozen=True)
class Case:
    """One measured command: its key, its label in the table and its ``anzhi site`` options."""

    key: str
    label: str
    options: tuple[str, ...]


#: The measured commands (each with ``--demo --out DIR --quiet``).
CASES: tuple[Case, ...] = (
    Case("lscp", "LSCP, clinic + police room",
         ("--type", "clinic,police_room", "--model", "lscp")),
    Case("mclp", "MCLP budget 3, clinic + police room",
         ("--type", "clinic,police_room", "--model", "mclp", "--budget", "3")),
    Case("capacity", "LSCP, kindergarten, capacity in places",
         ("--type", "kindergarten", "--model", "lscp")),
)
#: The command of the cold run (empty cache folder) and of the untimed warm-up run.
COLD_CASE: Case = CASES[0]


@dataclasses.dataclass(frozen=True)
class SiteRun:
    """One ``anzhi site`` run in a child process.

    Attributes
    ----------
    key
        The :class:`Case` key (``"cold"`` for the cold run).
    wall_s, cpu_s
        Wall time from start to exit and CPU time (user + system) of the child, seconds.
    peak_mib
        Peak RSS of the child, MiB.
    cli_s
        The command's own figure (siting and writing, without start-up), seconds; NaN when
        its summary line was not found.
    summary
        The command's first output line without that figure (model, new facilities, solver).
    """

    key: str
    wall_s: float
    cpu_s: float
    peak_mib: float
    cli_s: float
    summary: str


def anzhi_command() -> list[str]:
    """The ``anzhi`` console script of this interpreter's environment (else ``python -c``)."""
    script = Path(sys.executable).with_name("anzhi")
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from anzhi.cli import main; sys.exit(main())"]


def site_argv(case: Case, out: Path) -> list[str]:
    """The arguments of ``anzhi site`` for ``case``, writing into the folder ``out``."""
    return ["site", "--demo", *case.options, "--out", str(out), "--quiet"]


_SUMMARY = re.compile(r"^(?P<text>\w+: .*?) \((?P<secs>[\d.]+) s\)\s*$")


def parse_summary(stdout: str) -> tuple[str, float]:
    """The first line of ``anzhi site``'s output without its time, and that time (s).

    ``"lscp: 17 new facilities (clinic 13, police_room 4), exact optimal, gap 0.00% (1.1 s)"``
    gives ``("lscp: 17 new facilities (clinic 13, police_room 4), exact optimal, gap 0.00%",
    1.1)``; output without such a line gives its first line (or ``""``) and NaN.
    """
    lines = stdout.strip().splitlines()
    first = lines[0].strip() if lines else ""
    hit = _SUMMARY.match(first)
    if hit is None:
        return first, float("nan")
    return hit["text"], float(hit["secs"])


def run_site(case: Case, *, work: Path, cache: Path, key: str | None = None) -> SiteRun:
    """Run ``anzhi site`` for ``case`` in a child process with the cache folder ``cache``
    (``ANZHI_CACHE_DIR``) and a fresh ``--out`` folder under ``work``.

    Raises
    ------
    RuntimeError
        When the command fails (with the end of its stderr).
    """
    cache.mkdir(parents=True, exist_ok=True)
    out = Path(tempfile.mkdtemp(prefix=f"out-{case.key}-", dir=work)) / "out"
    env = {**os.environ, "ANZHI_CACHE_DIR": str(cache)}
    wall, peak, cpu, stdout = run_command([*anzhi_command(), *site_argv(case, out)],
                                          cwd=REPO, env=env)
    summary, cli_s = parse_summary(stdout)
    return SiteRun(key or case.key, wall, cpu, peak, cli_s, summary)


def measure(*, work: Path, repeat: int = 3) -> tuple[list[SiteRun], SiteRun]:
    """The timed runs (every case ``repeat`` times, warm cache) and the cold run.

    The cold run (:data:`COLD_CASE`, empty cache folder ``work/cache-cold``) comes first; then
    one untimed run of :data:`COLD_CASE` warms ``work/cache`` (demo county built, road graph
    cached) and every case runs ``repeat`` times on it, case after case in turn.
    """
    log("bench_site: cold run (empty cache: demo county built, road file parsed)")
    cold = run_site(COLD_CASE, work=work, cache=work / "cache-cold", key="cold")
    log(f"bench_site: cold {fmt_secs(cold.wall_s)}; warming the cache (untimed run)")
    run_site(COLD_CASE, work=work, cache=work / "cache")
    runs: list[SiteRun] = []
    for k in range(max(1, repeat)):
        for case in CASES:
            runs.append(run_site(case, work=work, cache=work / "cache"))
            log(f"bench_site: {case.key} run {k + 1}: {fmt_secs(runs[-1].wall_s)}, "
                f"{fmt_mib(runs[-1].peak_mib)}")
    return runs, cold


def load_average() -> str:
    """The load average over 1, 5 and 15 minutes, as text (``n/a`` where unavailable)."""
    try:
        return ", ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def _row(label: str, runs: Sequence[SiteRun]) -> str:
    """One table row: the runs' median, min and max wall, median CPU, max peak, verdict."""
    walls = [r.wall_s for r in runs]
    med = statistics.median(walls)
    cpu = statistics.median(r.cpu_s for r in runs)
    peak = max(r.peak_mib for r in runs)
    met = "yes" if med < TARGET_S else "**no**"
    return (f"| {label} | {len(runs)} | {fmt_secs(med)} | {fmt_secs(min(walls))} | "
            f"{fmt_secs(max(walls))} | {fmt_secs(cpu)} | {fmt_mib(peak)} | "
            f"< {TARGET_S:g} s | {met} |")


def render(runs: Sequence[SiteRun], cold: SiteRun, *, load_before: str, load_after: str,
           machine_line: str | None = None) -> str:
    """The ``site`` section's body: one row per case (warm cache) and the cold run, the
    machine and its load, and what each command solved."""
    lines = [
        "The whole `anzhi site` command on the synthetic demo county (40 × 40 km, 60 sites, "
        "its OSM roads, DEM and facilities), each run the real command line in its own "
        "process (`anzhi site --demo --type T --model M [--budget N] --out DIR --quiet`, a "
        "fresh `--out` each time). *wall* is the child's start to exit (interpreter start-up "
        "and imports included), *CPU* its user + system time, *peak* its largest peak RSS "
        "over the runs. The warm rows share one cache folder that **one untimed run** of "
        "the first command warmed (demo county built, road graph cached); the cold row "
        "starts from an empty `ANZHI_CACHE_DIR` (the demo county built and the OSM road file "
        "parsed within the run). *met* compares the median wall time with the target.",
        "",
        f"| run | runs | median wall | min | max | CPU median | peak | target < {TARGET_S:g} s "
        "| met |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for case in CASES:
        mine = [r for r in runs if r.key == case.key]
        if mine:
            lines.append(_row(f"{case.label} (warm)", mine))
    lines.append(_row(f"{COLD_CASE.label} (cold: demo built, graph parsed)", [cold]))
    lines += [
        "",
        f"Machine: {machine_line or machine()}. Load average (1, 5, 15 min): {load_before} "
        f"before, {load_after} after.",
        "",
        "What each command solved (its first output line; *own time* is the command's "
        "figure for siting and writing, without start-up, imports and the demo county's build, "
        "median):",
        "",
        "| run | result | own time |",
        "|---|---|---|",
    ]
    for case in CASES:
        mine = [r for r in runs if r.key == case.key]
        if mine:
            own = statistics.median(r.cli_s for r in mine)
            lines.append(f"| {case.label} | {mine[-1].summary} | {fmt_secs(own)} |")
    lines.append(f"| {COLD_CASE.label} (cold) | {cold.summary} | {fmt_secs(cold.cli_s)} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = bench_args(__doc__, argv, {
        "--repeat": {"type": int, "default": 3, "help": "timed runs of each command (default 3)"},
        "--quick": {"action": "store_true", "help": "each command once (smoke test, not written)"},
        "--work": {"type": Path, "help": "keep the caches and outputs in this folder"},
    })
    repeat = 1 if args.quick else max(1, args.repeat)
    load_before = load_average()
    with contextlib.ExitStack() as stack:
        work = args.work or Path(stack.enter_context(
            tempfile.TemporaryDirectory(prefix="anzhi-bench-site-")))
        work.mkdir(parents=True, exist_ok=True)
        runs, cold = measure(work=work, repeat=repeat)
    body = render(runs, cold, load_before=load_before, load_after=load_average())
    cmd = "python -m bench.bench_site" + (" --quick" if args.quick else "") + (
        f" --repeat {repeat}" if not args.quick and repeat != 3 else "")
    print(f"command: {cmd}")
    publish("site", body, command=cmd, write=not (args.no_write or args.quick))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
