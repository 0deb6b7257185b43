"""Smoke test of the export benchmark (``bench/bench_export.py``) on a few hundred sites: no
timing is asserted, only that the generated table is a valid gap table, that both sides run
as child processes and write their files, and that the section names both and the targets."""

from __future__ import annotations

from pathlib import Path

import openpyxl

from analysis.gaps import GAPS_COLUMNS
from bench.bench_export import BENCH_RULES, make_tables, measure, render


def test_generated_table_is_a_gap_table() -> None:
    t = make_tables(50)
    assert tuple(t.gaps.columns) == GAPS_COLUMNS and len(t.gaps) == 50 * len(BENCH_RULES)
    assert set(t.gaps["rule_id"]) == set(BENCH_RULES) == set(t.rules.rule_ids)
    assert t.gaps["households"].isna().any() and t.gaps["dist_m"].isna().any()
    assert make_tables(50).gaps.equals(t.gaps)  # seeded


def test_both_sides_run_and_render(tmp_path: Path) -> None:
    results = measure(200, work=tmp_path)
    assert [r["side"] for r in results] == ["anzhi", "pandas"]
    for r in results:
        assert r["rows"] == 200 * len(BENCH_RULES)
        assert r["write_s"] > 0 and r["wall_s"] > r["write_s"] and r["peak_mib"] > 0
    assert set(results[0]["bytes"]) == {"gaps.csv", "gaps.xlsx", "coverage.csv", "access.csv"}
    wb = openpyxl.load_workbook(tmp_path / "anzhi" / "gaps.xlsx", read_only=True)
    assert wb.sheetnames[:4] == ["汇总", "缺口清单", "一点一策", "规则"]
    body = render(results, 200)
    for text in ("| anzhi |", "| pandas |", "| write < 60 s |", "| peak < 2 GB |"):
        assert text in body
