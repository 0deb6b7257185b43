"""Worksheets streamed to an xlsx file: openpyxl's write-only mode, text always text.

:func:`write_table` writes one table as a sheet of a write-only :class:`openpyxl.Workbook`
(``Workbook(write_only=True)``): a bold frozen header, an autofilter over the table, column
widths fitted to the first 2,000 rows, number formats per column, and rows streamed to the
file as they are written, so memory holds the table's values once and never a cell object per
value.  A table longer than a sheet holds (1,048,576 rows) continues on further sheets.  Long
columns come as :class:`Cells` (:func:`column_cells`: integer codes and each distinct value
once), so 800,000 gap rows are rendered value by value and gathered with NumPy, and
:func:`save_workbook` deflates the parts at zlib level 1.

Text is written as text: a site name such as ``=HYPERLINK(...)`` is an inline string, never
a formula nor an error value (issue 18.2).
"""

from __future__ import annotations

import datetime as dt
import decimal
import functools
import math
import os
import unicodedata
import zipfile
from collections.abc import Callable, Sequence
from typing import Any, cast

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from openpyxl import Workbook
from openpyxl.cell import Cell, WriteOnlyCell
from openpyxl.cell.cell import ERROR_CODES, ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

__all__ = ["Cells", "cell_values", "column_cells", "save_workbook", "sheet_title",
           "write_table"]


#: Rows of one worksheet, header included (Excel's limit); a longer table continues on
#: further sheets named ``<title> (2)``...
_XLSX_MAX_ROWS = 1_048_576


#: Python types a cell holds after :func:`_cell` (anything else is refused before writing).
_XLSX_TYPES = (str, int, float)


def _cell(v: Any) -> Any:
    """A value openpyxl can store: NaN/None -> empty, numpy scalars -> Python, text with
    the control characters a worksheet cannot hold replaced by U+FFFD."""
    if type(v) is str:
        return ILLEGAL_CHARACTERS_RE.sub("\ufffd", v) if ILLEGAL_CHARACTERS_RE.search(v) else v
    if v is None:
        return None
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, (dt.date, dt.time)):
        return v.isoformat()
    if isinstance(v, decimal.Decimal):
        v = float(v)
        return v if math.isfinite(v) else None
    if isinstance(v, str):
        return ILLEGAL_CHARACTERS_RE.sub("\ufffd", v) if ILLEGAL_CHARACTERS_RE.search(v) else v
    if hasattr(v, "item") and not isinstance(v, bytes):
        try:
            v = v.item()
        except (ValueError, AttributeError):
            return v
        if isinstance(v, float) and not math.isfinite(v):
            return None
    if not isinstance(v, _XLSX_TYPES):
        # checked here, before a sheet is streamed: write-only mode loses openpyxl's message
        raise ValueError(f"Cannot convert {v!r} to Excel")
    return v


def cell_values(values: Sequence[Any], column: str) -> list[Any]:
    """The cell values (:func:`_cell`) of one column, named in the error."""
    try:
        return [_cell(v) for v in values]
    except ValueError as exc:
        raise ValueError(f"{exc} (column {column!r})") from None


#: Kinds of object columns (``pandas.api.types.infer_dtype``) that :func:`column_cells`
#: factorises: values equal there are rendered alike (``1`` and ``1.0``), unlike ``True`` and
#: ``1`` in a mixed column.
_FACTORISED = frozenset({"string", "empty", "floating", "integer", "mixed-integer-float",
                         "boolean"})


class Cells(Sequence[Any]):
    """The cell values of one long column, each distinct value held once.

    ``values[codes[i]]`` is row ``i``'s value (:func:`_cell` applied); a sequence like the
    list :func:`cell_values` returns, but for a 1,000,000-row column it holds 4 MB of codes
    and the distinct values instead of a Python object per row, and :func:`write_table`
    renders each distinct value once and gathers rows with NumPy.
    """

    __slots__ = ("codes", "values")

    def __init__(self, codes: NDArray[np.int32], values: list[Any]) -> None:
        self.codes = codes
        self.values = values

    def __len__(self) -> int:
        return len(self.codes)

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return [self.values[c] for c in self.codes[i].tolist()]
        return self.values[self.codes[i]]

    def __iter__(self) -> Any:
        values = self.values
        return (values[c] for c in self.codes.tolist())


def column_cells(values: Any, column: str) -> Cells | list[Any]:
    """The cell values of one column (:func:`cell_values`), as :class:`Cells` when that is exact.

    A pandas Series (or NumPy array) of numbers, booleans or text is factorised: :func:`_cell`
    runs once per distinct value, and missing values (None, NaN, NA) become empty cells.  A
    column of mixed Python objects (where ``True`` and ``1`` would fall together) and a plain
    sequence give the list of :func:`cell_values`.
    """
    if isinstance(values, np.ndarray):
        values = pd.Series(values, copy=False)
    if not isinstance(values, pd.Series):
        return cell_values(values, column)
    if values.dtype == object and pd.api.types.infer_dtype(values, skipna=True) not in _FACTORISED:
        return cell_values(values.tolist(), column)
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    cleaned = cell_values(uniques.tolist() if hasattr(uniques, "tolist") else list(uniques),
                          column)
    cleaned.append(None)  # the code of a missing value
    codes = codes.astype(np.int32, copy=False)
    codes[codes < 0] = len(cleaned) - 1
    return Cells(codes, cleaned)


def _is_formula_text(v: str) -> bool:
    """Text openpyxl would store as a formula or an error value instead of as text."""
    return (len(v) > 1 and v.startswith("=")) or v in ERROR_CODES


def _text_width(v: Any) -> int:
    """Display width of a cell's text (East Asian wide characters count twice)."""
    return _str_width("" if v is None else str(v))


@functools.lru_cache(maxsize=65536)
def _str_width(s: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in s)


def _formula_texts(columns: Sequence[Sequence[Any]]) -> dict[int, set[int]]:
    """Column -> row positions of the text that openpyxl would take for a formula."""
    out: dict[int, set[int]] = {}
    for j, col in enumerate(columns):
        hits = {i for i, v in enumerate(col) if isinstance(v, str) and _is_formula_text(v)}
        if hits:
            out[j] = hits
    return out


def _text_cell(ws: WriteOnlyWorksheet, text: str) -> Cell:
    """A cell that holds ``text`` as text, even when it starts with ``=`` (never a formula)."""
    c = WriteOnlyCell(ws, value=text)
    c.data_type = "s"
    return c


#: Stream data rows as XML written by :func:`_rows_xml` (False: cell by cell through
#: openpyxl, several times slower; the two write the same sheets).
_FAST_ROWS = True
#: Rows joined into one write of the fast path.
_ROWS_PER_WRITE = 10_000


def _raw_writer(ws: WriteOnlyWorksheet) -> Callable[[str], Any] | None:
    """The function that writes raw XML into the ``sheetData`` of ``ws``, once its first
    row is appended; None where openpyxl streams another way (e.g. through lxml).

    openpyxl's write-only sheet spends ~8 µs per cell building and serialising an
    ElementTree element; the data rows of the big sheets are plain text and numbers, so
    :func:`_rows_xml` writes them directly into the same stream (inline strings: text is
    never a formula).  Styles, views, filters and columns stay openpyxl's.
    """
    frame = getattr(getattr(ws, "_rows", None), "gi_frame", None)
    xf = frame.f_locals.get("xf") if frame is not None else None
    write = getattr(xf, "_file", None)
    if type(xf).__module__ != "et_xmlfile.xmlfile" or not callable(write):
        return None
    return cast(Callable[[str], Any], write)


def _xml_text(v: str) -> str:
    """An inline-string cell body (``<is><t>``), whitespace kept."""
    esc = v.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    space = ' xml:space="preserve"' if v.strip() != v else ""
    return f"<is><t{space}>{esc}</t></is>"


_Rendered = tuple[NDArray[np.int32], NDArray[np.object_], NDArray[np.bool_]]


def _as_cells(col: Sequence[Any]) -> Cells:
    """A column of cell values as :class:`Cells` (equal values of one type held once)."""
    if isinstance(col, Cells):
        return col
    memo: dict[tuple[type, Any], int] = {}
    codes = np.fromiter((memo.setdefault((type(v), v), len(memo)) for v in col),
                        dtype=np.int32, count=len(col))
    return Cells(codes, [v for _t, v in memo])


def _render(v: Any, style: str) -> str | None:
    """The end of a cell's ``<c>`` element (after ``r="A2"``); None for an empty cell."""
    if v is None or v == "":
        return None
    if type(v) is str:
        return f' t="inlineStr">{_xml_text(v)}</c>'
    if type(v) is bool:
        return f' t="b"><v>{int(v)}</v></c>'
    return f'{style} t="n"><v>{v:.16g}</v></c>'


def _rendered(columns: Sequence[Sequence[Any]], styles: Sequence[str]) -> list[_Rendered]:
    """Each column of ``columns`` as (codes, rendered distinct values, which are empty): the
    rendered value (:func:`_render`) of row ``i`` is ``bodies[codes[i]]``."""
    out: list[_Rendered] = []
    for col, style in zip(columns, styles, strict=True):
        cells = _as_cells(col)
        bodies = [_render(v, style) for v in cells.values]
        empty = np.array([b is None for b in bodies], dtype=bool)
        out.append((cells.codes, np.array([b or "" for b in bodies], dtype=object), empty))
    return out


def _rows_xml(first_row: int, cells: Sequence[_Rendered], pos: Sequence[int] | NDArray[np.intp]
              ) -> str:
    """``<row>`` elements for rows ``pos`` of the rendered ``cells`` (:func:`_rendered`),
    numbered from ``first_row``; built column by column with NumPy object arrays.

    Every cell keeps its reference (``r="B7"``: optional in SpreadsheetML, but readers such
    as :mod:`layers.runs` look for it); each cell is three pieces laid side by side — the
    column's ``<c r="B``, the row's ``7"`` and the value's rendered rest — joined once for
    the whole block, so no string is built per cell.
    """
    idx = np.asarray(pos, dtype=np.intp)
    n = len(idx)
    if n == 0:
        return ""
    rs = np.array([str(r) for r in range(first_row, first_row + n)], dtype=object)
    tail = rs + '"'
    parts = np.empty((n, 3 * len(cells) + 2), dtype=object)
    parts[:, 0] = '<row r="' + rs + '">'
    for j, (codes, bodies, empty) in enumerate(cells):
        c = codes[idx]
        start = f'<c r="{get_column_letter(j + 1)}'
        e = empty[c]
        if e.any():
            keep = ~e
            parts[:, 3 * j + 1] = np.where(keep, start, "")
            parts[:, 3 * j + 2] = np.where(keep, tail, "")
        else:
            parts[:, 3 * j + 1] = start
            parts[:, 3 * j + 2] = tail
        parts[:, 3 * j + 3] = bodies[c]  # "" for an empty cell
    parts[:, -1] = "</row>"
    return "".join(parts.ravel().tolist())


def write_table(wb: Workbook, title: str, used: set[str], headers: list[str],
                 columns: Sequence[Sequence[Any]], *,
                 take: Sequence[int] | NDArray[np.intp] | None = None,
                 number_formats: dict[int, str] | None = None,
                 formula_texts: dict[int, set[int]] | None = None,
                 rendered: dict[int, Any] | None = None,
                 max_width: int = 60) -> None:
    """One table as a streamed sheet: bold frozen header, autofilter, fitted column widths.

    ``columns`` hold the values of each column (from :func:`cell_values` or, for long
    columns, :func:`column_cells`), ``take`` the row
    positions to write (all rows when None), ``formula_texts`` the positions of the text
    that looks like a formula, per column (:func:`_formula_texts`; found when None);
    ``rendered`` (an empty dict the caller keeps) holds the rendered cells of ``columns``
    for the next sheet of the same columns in the same workbook (:func:`_rendered`).  Text
    is always written as text; the number formats apply to the numbers of their columns.  A table longer than a sheet holds
    continues on the next sheets.
    """
    n = len(take) if take is not None else (len(columns[0]) if columns else 0)
    pos: Sequence[int] | NDArray[np.intp] = take if take is not None else np.arange(n)
    fmts = sorted((number_formats or {}).items())
    widths = [_text_width(h) + 4 for h in headers]  # room for the filter button
    for i in pos[:2000]:  # enough to size the columns
        for j, col in enumerate(columns):
            widths[j] = max(widths[j], _text_width(col[i]) + 2)
    per_sheet = _XLSX_MAX_ROWS - 1
    for start in range(0, max(n, 1), per_sheet):
        name = sheet_title(title, used)
        used.add(name)
        ws = wb.create_sheet(name)
        chunk = pos[start:start + per_sheet]
        # views, filter and columns go before the first row in write-only mode
        ws.freeze_panes = "A2"
        ws.auto_filter.ref = f"A1:{get_column_letter(len(headers))}{len(chunk) + 1}"
        for j, w in enumerate(widths):
            ws.column_dimensions[get_column_letter(j + 1)].width = min(max(w, 6), max_width)
        head = []
        for h in headers:
            c = _text_cell(ws, h)
            c.font = Font(bold=True)
            c.alignment = Alignment(vertical="center")
            head.append(c)
        ws.append(head)
        raw = _raw_writer(ws) if _FAST_ROWS else None
        if raw is not None:
            key = id(columns)
            if rendered is None or key not in rendered:
                styles = [""] * len(columns)
                for j, fmt in fmts:
                    c = WriteOnlyCell(ws, value=0)
                    c.number_format = fmt
                    styles[j] = f' s="{c.style_id}"'  # one id per format in the workbook
                cells = _rendered(columns, styles)
                if rendered is not None:
                    rendered[key] = cells
            else:
                cells = rendered[key]
            for k in range(0, len(chunk), _ROWS_PER_WRITE):
                raw(_rows_xml(k + 2, cells, chunk[k:k + _ROWS_PER_WRITE]))
            continue
        for i in chunk:
            row = [col[i] for col in columns]
            if formula_texts is None:
                formula_texts = _formula_texts(columns)
            for j, hits in formula_texts.items():
                if i in hits:
                    row[j] = _text_cell(ws, row[j])
            for j, fmt in fmts:
                v = row[j]
                if v is not None and not isinstance(v, (str, Cell)):
                    c = WriteOnlyCell(ws, value=v)
                    c.number_format = fmt
                    row[j] = c
            ws.append(row)


#: zlib level of the xlsx parts written by :func:`save_workbook`: level 1 deflates the
#: repetitive sheet XML ~3× faster than zlib's default (6), the file ~15 % larger.
XLSX_COMPRESSLEVEL = 1


def save_workbook(wb: Workbook, path: str | os.PathLike[str], *,
                  compresslevel: int = XLSX_COMPRESSLEVEL) -> None:
    """Save ``wb`` as ``Workbook.save`` does (openpyxl's ``save_workbook``), deflating its
    parts at ``compresslevel`` (0-9).  A write-only workbook can be saved once."""
    from openpyxl.writer.excel import ExcelWriter

    if wb.write_only and not wb.worksheets:
        wb.create_sheet()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, allowZip64=True,
                         compresslevel=compresslevel) as archive:
        wb.properties.modified = dt.datetime.now(tz=dt.timezone.utc).replace(tzinfo=None)
        ExcelWriter(wb, archive).save()


def sheet_title(name: str, used: set[str]) -> str:
    """A valid, unused sheet title (≤ 31 characters, none of ``[]:*?/\\``)."""
    base = "".join("_" if ch in "[]:*?/\\" else ch for ch in name)[:31] or "Sheet"
    title, k = base, 2
    while title in used:
        suffix = f" ({k})"
        title, k = base[: 31 - len(suffix)] + suffix, k + 1
    return title
