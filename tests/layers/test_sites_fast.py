"""The fast readers of xlsx parts (layers.cells) give what openpyxl gives, or step aside."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl.reader.strings import read_string_table
from shapely.geometry import Point

from layers.cells import fast_shared_strings, fast_sheet_rows, open_workbook, sheet_xml
from layers.facilities import facilities_from_sites
from layers.sites import read_sites


def _openpyxl_rows(p: Path) -> list[list[Any]]:
    wb = openpyxl.load_workbook(p, read_only=True, data_only=True)
    try:
        return [list(r) for r in wb.worksheets[0].iter_rows(min_row=1, min_col=1,
                                                             values_only=True)]
    finally:
        wb.close()


def _fast_rows(p: Path) -> list[list[Any]] | None:
    wb = open_workbook(p)
    try:
        ws = wb.worksheets[0]
        data = sheet_xml(p, ws._worksheet_path)
        assert data is not None
        return fast_sheet_rows(data, ws._shared_strings, set(wb._date_formats),
                               max_col=ws.max_column, max_row=ws.max_row, max_rows=10**6)
    finally:
        wb.close()


def _typed(rows: list[list[Any]]) -> list[list[tuple[type, Any]]]:
    return [[(type(v), v) for v in r] for r in rows]


def _save(tmp_path: Path, cells: dict[tuple[int, int], Any], name: str = "t.xlsx") -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    for (r, c), v in cells.items():
        ws.cell(row=r, column=c, value=v)
    p = tmp_path / name
    wb.save(p)
    return p


def test_plain_sheet_is_read_fast_and_the_same(tmp_path: Path) -> None:
    p = _save(tmp_path, {
        (1, 1): "编号", (1, 2): "人数", (1, 3): "经度", (1, 5): "备注",
        (2, 1): "S1", (2, 2): 120, (2, 3): 104.5, (2, 5): "a & b <c>",
        (4, 1): "S2", (4, 2): 12345678901234567890, (4, 3): -1.5e-7, (4, 4): True,
        (5, 1): " 多行\n文字 ", (5, 2): 0, (5, 3): 1e22,
    })
    fast = _fast_rows(p)
    assert fast is not None, "a plain sheet must take the fast path"
    assert _typed(fast) == _typed(_openpyxl_rows(p))


def test_dates_leave_the_sheet_to_openpyxl(tmp_path: Path) -> None:
    p = _save(tmp_path, {(1, 1): "日期", (2, 1): dt.datetime(2024, 5, 1), (3, 1): 5})
    assert _fast_rows(p) is None
    # and read_table's result still has the datetime openpyxl makes
    from layers.tables import read_table
    table = read_table(p)
    assert table.cells.iloc[0, 0] == dt.datetime(2024, 5, 1)


def _rewrite_sheet(src: Path, dst: Path, edit: Any) -> Path:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = edit(data)
            zout.writestr(item, data)
    return dst


@pytest.mark.parametrize("edit", [
    # a row number gap and a row out of the dimension
    lambda d: d.replace(b'<row r="3"', b'<row r="9"').replace(b'"A3"', b'"A9"'),
    # a str (formula result) cell with an entity: openpyxl decodes it
    lambda d: d.replace(b'<c r="B2" t="n"><v>7</v></c>',
                        b'<c r="B2" t="str"><f>A1</f><v>x &amp; y</v></c>'),
    # a formula with its cached number, an error value, an empty value
    lambda d: d.replace(b'<c r="B2" t="n"><v>7</v></c>',
                        b'<c r="B2"><f>1+6</f><v>7.0</v></c><c r="C2" t="e"><v>#N/A</v></c>'
                        b'<c r="D2"><v></v></c>'),
    # a dimension narrower than the data: openpyxl cuts the rows
    lambda d: d.replace(b'<dimension ref="A1:B3" />', b'<dimension ref="A1:A2"/>'),
    # no dimension at all: rows as wide as their last cell
    lambda d: d.replace(b'<dimension ref="A1:B3" />', b""),
    # an inline string: openpyxl reads it
    lambda d: d.replace(b'<c r="B2" t="n"><v>7</v></c>',
                        '<c r="B2" t="inlineStr"><is><t>内联</t></is></c>'.encode()),
    # a self-closed empty row and row attributes Excel writes
    lambda d: d.replace(b'<row r="2">', b'<row r="2" spans="1:2" ht="20" customHeight="1">')
              .replace(b'<row r="3">', b'<row r="3"/><row r="4">').replace(b'"A3"', b'"A4"')
              .replace(b'"B3"', b'"B4"'),
])
def test_edited_sheets_read_as_openpyxl_does(tmp_path: Path, edit: Any) -> None:
    base = _save(tmp_path, {(1, 1): "a", (1, 2): "b", (2, 1): "x", (2, 2): 7,
                            (3, 1): "y", (3, 2): 2.5}, "base.xlsx")
    with zipfile.ZipFile(base) as zf:
        original = zf.read("xl/worksheets/sheet1.xml")
    edited = edit(original)
    assert edited != original, "the edit must change the sheet"
    p = _rewrite_sheet(base, tmp_path / "edited.xlsx", edit)
    want = _openpyxl_rows(p)
    fast = _fast_rows(p)
    if fast is not None:
        assert _typed(fast) == _typed(want)
    from layers.tables import read_table
    got = read_table(p).cells
    assert len(got) == sum(1 for r in want[1:] if any(v is not None for v in r))


_cell = st.one_of(
    st.none(), st.integers(-10**12, 10**12), st.booleans(),
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cc"]), max_size=8),
    st.sampled_from(["有", "无", "=x", "a&b", " 空格 ", "x\ny"]),
)


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(grid=st.lists(st.lists(_cell, min_size=0, max_size=5), min_size=1, max_size=6))
def test_random_sheets_read_as_openpyxl_does(tmp_path: Path, grid: list[list[Any]]) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    for r, row in enumerate(grid, start=1):
        for c, v in enumerate(row, start=1):
            if isinstance(v, str) and v.startswith("="):
                v = "'" + v  # a text, not a formula
            try:
                ws.cell(row=r, column=c, value=v)
            except Exception:  # openpyxl refuses some texts (control characters)
                ws.cell(row=r, column=c, value=None)
    p = tmp_path / "h.xlsx"
    wb.save(p)
    fast = _fast_rows(p)
    want = _openpyxl_rows(p)
    assert fast is None or _typed(fast) == _typed(want)


@settings(max_examples=50, deadline=None)
@given(texts=st.lists(st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00"),
                              max_size=10), max_size=8))
def test_shared_strings_read_as_openpyxl_does(texts: list[str]) -> None:
    from xml.sax.saxutils import escape
    clean = ["".join(ch for ch in t if ch in "\t\n\r" or ord(ch) >= 32) for t in texts]
    sis = "".join(f"<si><t xml:space=\"preserve\">{escape(t)}</t></si>" for t in clean)
    xml = ('<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.'
           f'org/spreadsheetml/2006/main" count="{len(clean)}">{sis}</sst>').encode()
    fast = fast_shared_strings(xml)
    assert fast is not None
    assert fast == read_string_table(io.BytesIO(xml))


def test_rich_text_shared_strings_go_to_openpyxl() -> None:
    xml = (b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
           b'<si><r><t>a</t></r><r><rPr><b/></rPr><t>b</t></r></si></sst>')
    assert fast_shared_strings(xml) is None
    assert read_string_table(io.BytesIO(xml)) == ["ab"]


def test_read_sites_xlsx_same_as_csv(tmp_path: Path) -> None:
    rows: list[list[Any]] = [["编号", "安置点名称", "县", "人数", "户数", "经度", "纬度", "卫生室", "警务室"],
                             ["A1", "甲 & 乙", "施甸县", 120, 30, 99.1, 24.6, "有", "无"],
                             ["A2", "丙", "施甸县", 80, None, 99.2, 24.7, "无", "有"],
                             ["A3", "丁", "施甸县", 55, 12.0, 99.3, 24.8, "有", "有"]]
    wb = openpyxl.Workbook()
    for r in rows:
        wb.active.append(r)
    xlsx = tmp_path / "s.xlsx"
    wb.save(xlsx)
    csv = tmp_path / "s.csv"
    csv.write_text("\n".join(",".join("" if v is None else str(v) for v in r) for r in rows),
                   encoding="utf-8")
    a, b = read_sites(xlsx), read_sites(csv)
    assert a.drop(columns="geometry").equals(b.drop(columns="geometry"))
    assert a.geometry.geom_equals(b.geometry).all()
    fac = facilities_from_sites(a)
    # site order, then column order
    assert fac["facility_id"].tolist() == ["A1-clinic", "A2-police_room", "A3-clinic", "A3-police_room"]
    assert fac["name"].tolist()[0] == "甲 & 乙 卫生室"


def test_facilities_from_sites_keeps_site_order_and_points() -> None:
    sites = gpd.GeoDataFrame(
        {"site_id": ["b", "a"], "site_name": ["B", "A"],
         "has_clinic": [True, True], "has_police_room": [np.bool_(True), False]},
        geometry=[Point(100, 25), Point(101, 26)], crs="EPSG:4326")
    fac = facilities_from_sites(sites)
    assert fac["facility_id"].tolist() == ["b-clinic", "b-police_room", "a-clinic"]
    assert [g.x for g in fac.geometry] == [100, 100, 101]
    assert fac.index.tolist() == [0, 1, 2]
