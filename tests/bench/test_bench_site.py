"""Smoke test of the siting end-to-end benchmark (``bench/bench_site.py``): no timing is
asserted, only that the quick run runs every ``anzhi site`` command in its own process (cold
and warm), that the section holds a row with numbers for each and the target, and that the
table's figures are the runs' median, extremes and peak."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

from bench.bench_site import (CASES, COLD_CASE, TARGET_S, SiteRun, main, parse_summary,
                              render, site_argv)
from bench.report import DOC

#: A table row with numbers: label, runs, four durations, a memory, the target, the verdict.
_ROW = (r"^\| {label} \| {runs} \| [\d.]+ m?s \| [\d.]+ m?s \| [\d.]+ m?s \| [\d.]+ m?s \| "
        r"[\d,.]+ MiB \| < 10 s \| (yes|\*\*no\*\*) \|$")


def test_quick_run_has_every_row_with_numbers(capsys: pytest.CaptureFixture[str],
                                             tmp_path: Path) -> None:
    before = DOC.read_text(encoding="utf-8") if DOC.exists() else None
    assert main(["--quick", "--no-write", "--work", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "command: python -m bench.bench_site --quick" in out
    assert ("| run | runs | median wall | min | max | CPU median | peak | target < 10 s | met |"
            in out)
    for case in CASES:
        label = re.escape(f"{case.label} (warm)")
        assert re.search(_ROW.format(label=label, runs=1), out, re.M), case.key
    cold = re.escape(f"{COLD_CASE.label} (cold: demo built, graph parsed)")
    assert re.search(_ROW.format(label=cold, runs=1), out, re.M)
    assert "one untimed run" in out and "Load average (1, 5, 15 min):" in out
    # what each command solved, read from its own output: exact solutions, new facilities
    assert re.search(r"\| LSCP, clinic \+ police room \| lscp: \d+ new facilities "
                     r"\(clinic \d+, police_room \d+\), exact optimal", out)
    assert re.search(r"\| MCLP budget 3, clinic \+ police room \| mclp: \d+ new facilities "
                     r"\(clinic [0-3], police_room [0-3]\)", out)
    assert re.search(r"\| LSCP, kindergarten, capacity in places \| lscp: \d+ new facilities "
                     r"\(kindergarten \d+\)", out)
    # each run in its own --out; the cold run built the demo county in its own cache folder
    assert len(list(tmp_path.glob("out-*/out/siting.csv"))) == len(CASES) + 2  # + cold, warm-up
    assert any((tmp_path / "cache-cold" / "demo").iterdir())
    assert any((tmp_path / "cache" / "roads").iterdir())
    # --no-write leaves docs/benchmarks.md alone
    assert (DOC.read_text(encoding="utf-8") if DOC.exists() else None) == before


def _run(key: str, wall_s: float, *, cpu_s: float = 1.0, peak_mib: float = 300.0) -> SiteRun:
    return SiteRun(key, wall_s, cpu_s, peak_mib, 1.5, f"{key}: 2 new facilities (clinic 2)")


def test_render_takes_median_extremes_and_peak() -> None:
    runs = [_run("lscp", 4.0, cpu_s=2.0, peak_mib=300.0), _run("lscp", 6.0, cpu_s=3.0),
            _run("lscp", 5.0, cpu_s=9.0, peak_mib=410.0),
            _run("mclp", 12.0), _run("capacity", 0.25)]
    body = render(runs, _run("cold", 11.0), load_before="1.00, 1.00, 1.00",
                  load_after="2.00, 1.50, 1.00", machine_line="a test machine")
    assert "| LSCP, clinic + police room (warm) | 3 | 5.00 s | 4.00 s | 6.00 s | 3.00 s | " \
           "410 MiB | < 10 s | yes |" in body
    assert f"| {CASES[1].label} (warm) | 1 | 12.00 s |" in body
    assert body.count("| **no** |") == 2  # MCLP and the cold run: over 10 s
    assert "| LSCP, kindergarten, capacity in places (warm) | 1 | 250.0 ms |" in body
    assert "Machine: a test machine. Load average (1, 5, 15 min): 1.00, 1.00, 1.00 before, " \
           "2.00, 1.50, 1.00 after." in body
    assert TARGET_S == 10.0


def test_summary_line_and_arguments() -> None:
    text, secs = parse_summary("lscp: 17 new facilities (clinic 13, police_room 4), exact "
                               "optimal, gap 0.00% (1.1 s)\n  clinic: sites covered 47 → 60\n")
    assert text == "lscp: 17 new facilities (clinic 13, police_room 4), exact optimal, gap 0.00%"
    assert secs == 1.1
    text, secs = parse_summary("something else\n")
    assert text == "something else" and math.isnan(secs)
    assert parse_summary("")[0] == ""
    argv = site_argv(CASES[1], Path("/o"))
    assert argv == ["site", "--demo", "--type", "clinic,police_room", "--model", "mclp",
                    "--budget", "3", "--out", "/o", "--quiet"]
