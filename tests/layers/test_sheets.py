"""layers.sheets: tables streamed as write-only sheets, both ways of writing rows alike."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import openpyxl
import pytest
from openpyxl import Workbook

import layers.sheets as sheets
from layers.sheets import cell_values, write_table

HEADERS = ["编号", "名称", "人数", "距离(米)"]
COLUMNS: list[list[Any]] = [["S1", "S2", "S3", "S4", "S5"],
           ["=1+1", "  spaced ", "a<b & c>d", "#REF!", None],
           [3200, 900, None, 120, 7],
           [1234.5, None, 0.0, -2.0, 1e6]]


def _write(path: Path, *, fast: bool, mp: pytest.MonkeyPatch) -> Path:
    mp.setattr(sheets, "_FAST_ROWS", fast)
    wb = Workbook(write_only=True)
    write_table(wb, "表", set(), HEADERS, COLUMNS, number_formats={2: "#,##0", 3: "0.0"})
    write_table(wb, "表", {"表"}, HEADERS, COLUMNS, take=[4, 0])
    wb.save(path)
    return path


def _dump(path: Path) -> list[tuple[object, ...]]:
    wb = openpyxl.load_workbook(path)
    return [(ws.title, ws.freeze_panes, ws.auto_filter.ref, c.coordinate, c.value, c.data_type,
             c.number_format, bool(c.font and c.font.b))
            for ws in wb.worksheets for row in ws.iter_rows() for c in row]


def test_fast_rows_write_what_openpyxl_writes(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    fast = _dump(_write(tmp_path / "fast.xlsx", fast=True, mp=monkeypatch))
    slow = _dump(_write(tmp_path / "slow.xlsx", fast=False, mp=monkeypatch))
    assert fast == slow
    cells = {(t, ref): (v, dtype, fmt) for t, _, _, ref, v, dtype, fmt, _ in fast}
    assert cells[("表", "B2")] == ("=1+1", "s", "General")  # text, not a formula
    assert cells[("表", "B3")][0] == "  spaced "
    assert cells[("表", "B4")][0] == "a<b & c>d"
    assert cells[("表", "B5")][:2] == ("#REF!", "s")  # text, not an error value
    assert cells[("表", "C2")] == (3200, "n", "#,##0")
    assert cells[("表", "D5")] == (-2, "n", "0.0")
    assert cells[("表 (2)", "A2")][0] == "S5" and cells[("表 (2)", "A3")][0] == "S1"
    heads = [r for r in fast if r[3] == "A1"]
    assert all(r[1] == "A2" and r[7] for r in heads)  # frozen, bold header
    assert {r[2] for r in heads} == {"A1:D6", "A1:D3"}


def test_a_table_longer_than_a_sheet_continues(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sheets, "_XLSX_MAX_ROWS", 3)  # header + 2 rows per sheet
    wb = Workbook(write_only=True)
    write_table(wb, "Gaps", set(), HEADERS, COLUMNS)
    wb.save(tmp_path / "long.xlsx")
    back = openpyxl.load_workbook(tmp_path / "long.xlsx")
    assert back.sheetnames == ["Gaps", "Gaps (2)", "Gaps (3)"]
    ids = [r[0] for ws in back.worksheets for r in ws.iter_rows(min_row=2, values_only=True)]
    assert ids == COLUMNS[0]
    assert [c.value for c in back["Gaps (3)"][1]] == HEADERS


def test_cell_values_refuse_what_a_cell_cannot_hold() -> None:
    assert cell_values([float("nan"), float("inf"), "a\x01b", 3], "x") == [None, None,
                                                                         "a\ufffdb", 3]
    with pytest.raises(ValueError, match=r"Cannot convert \{'a': 1\} to Excel \(column 'x'"):
        cell_values([{"a": 1}], "x")


def test_fast_rows_keep_every_cells_reference(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Readers that find cells by ``r="B7"`` (layers.runs, some spreadsheet tools) need it on
    every written cell, as openpyxl writes it."""
    import re
    import zipfile

    path = _write(tmp_path / "fast.xlsx", fast=True, mp=monkeypatch)
    with zipfile.ZipFile(path) as zf:
        xml = zf.read("xl/worksheets/sheet1.xml").decode("utf-8")
    cells = re.findall(r"<c\b[^>]*>", xml)
    assert cells and all(re.match(r'<c r="[A-Z]+\d+"', c) for c in cells), cells[:5]
