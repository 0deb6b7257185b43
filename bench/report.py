"""Shared helpers for benchmarks: machine facts, timing, peak memory, number formats, and
docs/benchmarks.md sections.

Each benchmark owns one section of ``docs/benchmarks.md`` between the markers
``<!-- bench:NAME -->`` and ``<!-- /bench:NAME -->`` and rewrites only that section, so
benchmarks can be rerun one at a time.  Every section states the command that produced it,
the machine, and the date.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as _dt
import math
import os
import platform
import re
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "benchmarks.md"
#: The real test data (``../shared/data``, see its README); benchmarks skip what is absent.
SHARED_DATA = REPO.parent / "shared" / "data"

__all__ = ["machine", "timed", "run_measured", "run_child", "write_section", "publish", "bench_args", "REPO",
           "DOC",
           "SHARED_DATA", "log", "status_mib", "peak_extra", "traced_peak_mib", "fmt_mib",
           "fmt_secs", "fmt_ratio"]


def machine() -> str:
    """One line describing this machine (CPU, cores, memory, Python)."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (f"{cpu}, {os.cpu_count()} cores, {mem_gib:.0f} GiB, "
            f"Python {platform.python_version()} on {platform.system()} {platform.release()}")


def timed(fn: Callable[[], Any], *, repeat: int = 3) -> tuple[float, Any]:
    """Best wall time (s) of ``repeat`` calls and the last result."""
    best = float("inf")
    result = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def run_measured(cmd: Sequence[str], *, cwd: Path | None = None) -> tuple[float, float]:
    """Run a command; return (wall time s, peak RSS MiB of that child) via ``/usr/bin/time``-free rusage."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    subprocess.run(list(cmd), check=True, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    # ru_maxrss of children is the max over all waited-for children: run each measured
    # command in a fresh interpreter (python -m bench.x --child ...) when exact peaks matter.
    return wall, max(after, before) / 1024.0


#: A small launcher (``python -S -c``): forks, execs the command, waits for it with ``wait4``
#: and writes the command's wall time and peak RSS.  A child's peak (``ru_maxrss``) starts
#: at its parent's resident size, inherited at fork/exec, so a large benchmark process
#: cannot measure its children directly: the launcher, a few MiB, stands between.
_LAUNCHER = """
import os, sys, time
report, cmd = sys.argv[1], sys.argv[2:]
t0 = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.execvp(cmd[0], cmd)
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
wall = time.perf_counter() - t0
with open(report, "w") as fh:
    fh.write(f"{wall!r} {usage.ru_maxrss} {usage.ru_utime + usage.ru_stime!r}")
sys.exit(os.waitstatus_to_exitcode(status))
"""


def run_command(cmd: Sequence[str], *, cwd: Path | None = None,
                env: Mapping[str, str] | None = None) -> tuple[float, float, float, str]:
    """Run a command to its end: (wall time s, peak RSS MiB, CPU time s, its stdout).

    The wall time includes the command's start-up (e.g. the interpreter's); the peak and the
    CPU time (user + system, its threads and waited-for children) are the command's own,
    through a small launcher (:data:`_LAUNCHER`, not this process's size).

    Raises
    ------
    RuntimeError
        When the command fails (with the end of its stderr).
    """
    with tempfile.TemporaryDirectory(prefix="anzhi-bench-run-") as tmp:
        report = Path(tmp) / "usage"
        proc = subprocess.run([sys.executable, "-S", "-c", _LAUNCHER, str(report), *cmd],
                              cwd=cwd, env=None if env is None else dict(env),
                              capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            tail = proc.stderr.strip().splitlines()[-5:]
            raise RuntimeError(f"{' '.join(cmd[:3])} ... exited with {proc.returncode}: "
                               + " | ".join(tail))
        wall, peak_kib, cpu = report.read_text().split()
    return float(wall), int(peak_kib) / 1024.0, float(cpu), proc.stdout


def run_child(cmd: Sequence[str], *, cwd: Path | None = None,
              env: Mapping[str, str] | None = None) -> tuple[float, float, str]:
    """Run a command to its end: (wall time s, peak RSS MiB of that command, its stdout)
    (:func:`run_command` without the CPU time)."""
    wall, peak, _cpu, out = run_command(cmd, cwd=cwd, env=env)
    return wall, peak, out


def bench_args(doc: str | None, argv: Sequence[str] | None,
               options: Mapping[str, Mapping[str, Any]]) -> argparse.Namespace:
    """A benchmark's command line: ``options`` (flag -> ``add_argument`` settings), then
    ``--no-write``; the description is the first line of the module docstring ``doc``."""
    parser = argparse.ArgumentParser(description=(doc or "").splitlines()[0])
    for flag, settings in options.items():
        parser.add_argument(flag, **settings)
    parser.add_argument("--no-write", action="store_true", help="print, do not touch docs/")
    return parser.parse_args(argv)


def log(msg: str) -> None:
    """A progress line on stderr, with the time of day."""
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def status_mib(key: str) -> float:
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
    base = status_mib("VmRSS")
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
            fh.write("5")
        ok = True
    except OSError:
        ok = False
    try:
        yield rec
    finally:
        rec["peak_mib"] = (status_mib("VmHWM") - base) if ok else math.nan
        rec["growth_mib"] = status_mib("VmRSS") - base


def traced_peak_mib(fn: Callable[[], Any]) -> float:
    """Peak of the Python and NumPy allocations (MiB, ``tracemalloc``) during one ``fn()``."""
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def fmt_mib(value: float) -> str:
    """Memory for a table cell (``n/a`` when not measured)."""
    if not math.isfinite(value):
        return "n/a"
    value = max(value, 0.0)
    return f"{value:.1f} MiB" if value < 10 else f"{value:,.0f} MiB"


def fmt_secs(t: float) -> str:
    """A duration for a table cell, in h, s or ms."""
    if t >= 3600:
        return f"{t / 3600:,.1f} h"
    if t >= 100:
        return f"{t:,.0f} s"
    if t >= 1:
        return f"{t:.2f} s"
    return f"{t * 1000:.1f} ms"


def fmt_ratio(r: float) -> str:
    """A speed ratio for a table cell (``12.3×``)."""
    return f"{r:,.0f}×" if r >= 100 else f"{r:.1f}×" if r >= 10 else f"{r:.2f}×"


def write_section(name: str, body: str, *, command: str) -> Path:
    """Replace (or append) the section ``name`` of docs/benchmarks.md."""
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    section = (
        f"<!-- bench:{name} -->\n"
        f"## {name}\n\n"
        f"Command: `{command}` — run {stamp} on {machine()}.\n\n"
        f"{body.rstrip()}\n"
        f"<!-- /bench:{name} -->\n"
    )
    DOC.parent.mkdir(parents=True, exist_ok=True)
    text = DOC.read_text(encoding="utf-8") if DOC.exists() else (
        "# Benchmarks\n\nEvery number here was written by the command named in its section; "
        "rerun it to refresh the section. Peers are measured in the same run on the same machine.\n\n"
    )
    pattern = re.compile(rf"<!-- bench:{re.escape(name)} -->.*?<!-- /bench:{re.escape(name)} -->\n", re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _m: section, text)
    else:
        text = text.rstrip() + "\n\n" + section
    tmp = DOC.with_suffix(".md.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, DOC)
    return DOC


def publish(name: str, body: str, *, command: str, write: bool) -> Path | None:
    """Print a section's body and, with ``write``, put it into docs/benchmarks.md (saying so).

    Returns the file written, or None.
    """
    print(body)
    if not write:
        return None
    doc = write_section(name, body, command=command)
    print(f"written to {doc.relative_to(REPO)}")
    return doc


if __name__ == "__main__":  # pragma: no cover
    print(machine(), file=sys.stdout)
