"""The ``anzhi`` command under Ctrl-C, SIGTERM and a closed pipe: one line, no traceback, no
temporary files left (issues 16.4 and 18.4).  Real processes, real signals."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from layers.export import remove_stale_temps

ANZHI = [sys.executable, "-c", "import sys; from anzhi.cli import main; sys.exit(main())"]


def _started(cache: Path, proc: subprocess.Popen[str], timeout_s: float = 60) -> None:
    """Wait until the run is building the demo county (its cache folder appears)."""
    end = time.monotonic() + timeout_s
    while not (cache / "demo").exists():
        if proc.poll() is not None or time.monotonic() > end:
            raise AssertionError(f"the run did not start building: rc={proc.poll()}")
        time.sleep(0.02)


def _temps(*folders: Path) -> list[Path]:
    return [p for f in folders if f.exists() for p in f.rglob("*") if ".tmp-" in p.name]


@pytest.mark.parametrize("sig, rc, word", [(signal.SIGINT, 130, "interrupted"),
                                           (signal.SIGTERM, 143, "terminated")])
def test_signal_ends_in_one_line_and_cleans_up(tmp_path: Path, sig: int, rc: int,
                                               word: str) -> None:
    cache, out = tmp_path / "cache", tmp_path / "out"
    env = {**os.environ, "ANZHI_CACHE_DIR": str(cache)}
    proc = subprocess.Popen([*ANZHI, "gaps", "--demo", "--out", str(out), "--quiet"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _started(cache, proc)
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == rc, stderr
    assert "Traceback" not in stderr
    assert stderr.strip().splitlines()[-1] == f"anzhi gaps: {'已中断' if rc == 130 else '已终止'} / {word}"
    assert not out.exists()  # complete or absent: the run stopped before writing
    assert _temps(cache, tmp_path) == []


def test_closed_pipe_ends_quietly() -> None:
    proc = subprocess.Popen([*ANZHI, "rules", "show", "default"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # like `| head -0`: gone before the command prints (it imports first)
    stderr = proc.stderr.read().decode()
    proc.wait(timeout=60)
    assert "Traceback" not in stderr and "BrokenPipe" not in stderr
    assert proc.returncode == 141


def test_stale_temp_folders_of_dead_runs_are_removed(tmp_path: Path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".out.tmp-{dead.pid}-abcd"
    live = tmp_path / f".out.tmp-{os.getpid()}-efgh"
    other = tmp_path / f".other.tmp-{dead.pid}-ijkl"
    for d in (stale, live, other):
        d.mkdir()
        (d / "gaps.csv").write_text("complete-looking")
    assert remove_stale_temps(tmp_path, "out") == [stale]
    assert not stale.exists() and live.exists() and other.exists()
