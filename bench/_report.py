"""Shared helpers for benchmarks: machine facts, peak memory, and docs/benchmarks.md sections.

Each benchmark owns one section of ``docs/benchmarks.md`` between the markers
``<!-- bench:NAME -->`` and ``<!-- /bench:NAME -->`` and rewrites only that section, so
benchmarks can be rerun one at a time.  Every section states the command that produced it,
the machine, and the date.
"""

from __future__ import annotations

import datetime as _dt
import os
import platform
import re
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "benchmarks.md"

__all__ = ["machine", "timed", "run_measured", "write_section", "REPO", "DOC"]


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


if __name__ == "__main__":  # pragma: no cover
    print(machine(), file=sys.stdout)
