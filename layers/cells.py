"""Single cells of a site or facility table: blanks, numbers, degrees, yes/no, text.

Also the two things about an xlsx sheet's cells that read-only openpyxl does not show, read
from the sheet's XML: merged ranges and formulas without a saved value.

Used by :mod:`layers.tables`, :mod:`layers.points` and the readers of :mod:`layers.sites` and
:mod:`layers.facilities`.  Every parser takes a cell as read (a number, a text, None or NaN)
and raises :class:`ValueError` for a value it cannot read; the readers turn that into a
problem with the row, column, value and fix.
"""

from __future__ import annotations

import gc
import math
import re
import unicodedata
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, cast

import numpy as np
import pandas as pd
from numpy.typing import NDArray

__all__ = [
    "UnsavedFormula",
    "UNSAVED_FORMULA_FIX",
    "is_blank",
    "blank_mask",
    "plain_number",
    "parse_number",
    "parse_degrees",
    "parse_yes_no",
    "YES_NO_HELP",
    "cell_text",
    "shown",
    "id_text",
    "sheet_marks",
    "sheet_xml",
    "fast_sheet_rows",
    "fill_merged",
    "paused_gc",
]


#: The fix offered for a formula cell whose result the workbook does not hold.
UNSAVED_FORMULA_FIX: Final = ("open the file in Excel/WPS and save it (so that the formula's "
                              "result is stored), or type the value instead of the formula")


@dataclass(frozen=True)
class UnsavedFormula:
    """An xlsx cell holding a formula but no saved result (a file written by a program, not
    saved by Excel/WPS): not blank, and not a number or a text of any parser."""

    #: The formula as written, without its ``=``.
    formula: str

    def __str__(self) -> str:
        return f"={self.formula[:60]} (a formula with no saved value)"


def is_blank(value: object) -> bool:
    """True for None, NaN, pandas NA and text that is empty after stripping."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float | np.floating):
        return bool(np.isnan(value))
    if isinstance(value, str):
        return not value.strip()
    return False


def blank_mask(values: Any) -> NDArray[np.bool_]:
    """:func:`is_blank` of every cell of ``values`` (a column or list), as a bool array;
    plain texts, ints and floats are judged inline, other cells by :func:`is_blank`."""
    return np.array([v is None or (v.__class__ is str and not v.strip())
                     or (v.__class__ is float and v != v)
                     or (v.__class__ not in _PLAIN and is_blank(v)) for v in values],
                    dtype=bool).reshape(-1)


_PLAIN: Final = frozenset({str, int, float})


def plain_number(value: object) -> float | None:
    """A cell that is a Python int, a finite float or a text of ASCII digits (``"1250"``,
    ``"-3.5e2"``) as a float: what :func:`parse_number` gives for it; None for any other
    cell, which needs :func:`parse_number`."""
    cls = value.__class__
    if cls is int or cls is float or (cls is str and _ASCII_NUM_RE.fullmatch(cast(str, value))):
        v = float(cast(float, value))
        return v if math.isfinite(v) else None
    return None


_ASCII_NUM_RE: Final = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


_NUM_RE: Final = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_THOUSANDS_RE: Final = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?")


def parse_number(value: object) -> float | None:
    """A cell as a finite float; None when blank.

    Text may use full-width digits and thousands separators (``1,234``).

    Raises
    ------
    ValueError
        When the cell is not a number (booleans included).
    """
    if is_blank(value):
        return None
    if isinstance(value, bool | np.bool_ | UnsavedFormula):
        raise ValueError(value)
    if isinstance(value, int | float | np.integer | np.floating):
        v = float(value)
    else:
        s = unicodedata.normalize("NFKC", str(value)).strip()
        if _THOUSANDS_RE.fullmatch(s):
            s = s.replace(",", "")
        if not _NUM_RE.fullmatch(s):
            raise ValueError(value)
        v = float(s)
    if not math.isfinite(v):
        raise ValueError(value)
    return v


_DMS_RE: Final = re.compile(
    r"([NSEW东西南北])?\s*([+-]?\d+(?:\.\d+)?)\s*[°度]\s*"
    r"(?:(\d+(?:\.\d+)?)\s*['′’分]\s*)?"
    r"(?:(\d+(?:\.\d+)?)\s*(?:\"|″|”|''|′′|秒)\s*)?"
    r"([NSEW东西南北])?"
)


def parse_degrees(value: object) -> float | None:
    """A coordinate cell as a float: decimal degrees/metres, or degrees-minutes-seconds.

    Accepts ``104.5``, ``"104°30'00\\""``, ``"104度30分0秒"`` and a hemisphere letter
    (``E``/``W``/``N``/``S`` or 东/西/南/北); W and S (西/南) make the value negative.

    Raises
    ------
    ValueError
        When the cell is neither a number nor a degrees-minutes-seconds text.
    """
    try:
        return parse_number(value)
    except ValueError:
        pass
    s = unicodedata.normalize("NFKC", str(value)).strip().upper()
    m = _DMS_RE.fullmatch(s)
    if not m:
        raise ValueError(value)
    hemi_a, deg, minutes, seconds, hemi_b = m.groups()
    if hemi_a and hemi_b:
        raise ValueError(value)
    mins = float(minutes) if minutes else 0.0
    secs = float(seconds) if seconds else 0.0
    if mins >= 60 or secs >= 60:
        raise ValueError(value)
    d = float(deg)
    out = abs(d) + mins / 60.0 + secs / 3600.0
    hemi = hemi_a or hemi_b
    if d < 0 or hemi in ("W", "S", "西", "南"):
        out = -out
    return out


_YES: Final = frozenset({"有", "是", "yes", "y", "1", "true", "t", "√", "✓", "✔", "☑"})
_NO: Final = frozenset({"无", "否", "no", "n", "0", "false", "f", "×", "✗", "✘", "没有", "☐"})

#: Accepted yes/no spellings, for fix messages.
YES_NO_HELP: Final = (
    "write 有 or 无 (also accepted: 是/否, yes/no, y/n, 1/0, true/false, √/×; blank means 无)"
)


def parse_yes_no(value: object) -> bool:
    """A yes/no cell (有/无, 是/否, yes/no, y/n, 1/0, true/false, √/×); blank is no.

    Raises
    ------
    ValueError
        For any other value.
    """
    if is_blank(value):
        return False
    if isinstance(value, UnsavedFormula):
        raise ValueError(value)
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | float | np.integer | np.floating):
        if value == 1:
            return True
        if value == 0:
            return False
        raise ValueError(value)
    s = unicodedata.normalize("NFKC", str(value)).strip().casefold()
    if s in _YES:
        return True
    if s in _NO:
        return False
    raise ValueError(value)


def cell_text(value: object) -> str:
    """A cell as stripped text; ``""`` when blank; ``12.0`` becomes ``"12"``."""
    if is_blank(value):
        return ""
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value).strip()


def shown(value: object) -> object:
    """A cell as it should appear in a message: numbers as numbers, the rest as text."""
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return int(value) if float(value).is_integer() else float(value)
    return cell_text(value)


def id_text(value: object) -> str:
    """An identifier cell as text (``""`` when blank); whole numbers lose their ``.0``."""
    return cell_text(value)


# --------------------------------------------------------------------------- xlsx sheet XML

_MERGE_RE: Final = re.compile(rb'<(?:\w+:)?mergeCell\s[^>]*?ref="([A-Z]+\d+:[A-Z]+\d+)"')
# a cell whose content is a formula and no (or an empty) saved value
_UNSAVED_RE: Final = re.compile(
    rb'<(?:\w+:)?c\s([^>]*?[^/])?>\s*<(?:\w+:)?f\b[^>]*?(?:/>|>(.*?)</(?:\w+:)?f>)\s*'
    rb'(?:<(?:\w+:)?v\s*/>|<(?:\w+:)?v>\s*</(?:\w+:)?v>)?\s*</(?:\w+:)?c>', re.DOTALL)
_REF_RE: Final = re.compile(rb'\br="([A-Z]+)(\d+)"')


def sheet_xml(p: Path, member: str | None) -> bytes | None:
    """The XML of the workbook part ``member`` (a sheet), None when it cannot be read."""
    if not member:
        return None
    try:
        with zipfile.ZipFile(p) as zf:
            return zf.read(member.lstrip("/"))
    except (OSError, KeyError, zipfile.BadZipFile):
        return None


def sheet_marks(
    p: Path, member: str | None, *, data: bytes | None = None
) -> tuple[list[str], list[tuple[int, int, str]]]:
    """Merged ranges (``"A3:A7"``) and formulas without a saved value (row, column, formula,
    both 1-based) of one sheet, from its XML (``data``, else read from ``p``): read-only
    openpyxl shows neither."""
    from openpyxl.utils import column_index_from_string

    if data is None:
        data = sheet_xml(p, member)
    if data is None:
        return [], []
    merged = [m.decode() for m in _MERGE_RE.findall(data)] if b"mergeCell" in data else []
    unsaved: list[tuple[int, int, str]] = []
    if b"<f" in data or b":f" in data:
        for m in _UNSAVED_RE.finditer(data):
            ref = _REF_RE.search(m.group(1) or b"")
            if ref:
                formula = (m.group(2) or b"").decode("utf-8", "replace")
                unsaved.append((int(ref.group(2)), column_index_from_string(ref.group(1).decode()),
                                formula or "(shared formula)"))
    return merged, unsaved


def fill_merged(rows: list[list[Any]], merged: list[str]) -> list[str]:
    """Give every cell of a merged range its top-left value (merged county/township cells
    of a government table leave the lower rows empty); the ranges that changed a cell."""
    from openpyxl.utils import range_boundaries

    filled = []
    for ref in merged:
        c0, r0, c1, r1 = (int(v) for v in range_boundaries(ref))
        if r0 > len(rows) or c0 > len(rows[r0 - 1]):
            continue
        value = rows[r0 - 1][c0 - 1]
        if is_blank(value):
            continue
        changed = False
        for r in range(r0, min(r1, len(rows)) + 1):
            row = rows[r - 1]
            for c in range(c0, c1 + 1):
                if (r, c) != (r0, c0):
                    if c > len(row):
                        row.extend([None] * (c - len(row)))
                    if is_blank(row[c - 1]):
                        row[c - 1] = value
                        changed = True
        if changed:
            filled.append(ref)
    return filled


# one token of <sheetData>: a row's start (its r), a row's end, or a cell of the plain kind
# Excel/WPS and most writers produce (r, s, t attributes in that order; an optional formula,
# ignored like openpyxl's data_only; an optional value without entities)
_SHEET_TOKEN_RE: Final = re.compile(
    rb'<(?:row r="(\d+)"[^>]*?(/?)>|(/row>)|c r="([A-Z]{1,3})\d+"(?: s="(\d+)")?(?: t="(\w+)")?\s*'
    rb'(?:/>|>(?:<f\b[^>]*?(?:/>|>[^<]*</f>))?(?:<v>([^<]*)</v>|<v/>)?</c>'
    rb'|><is><t(?: xml:space="preserve")?>([^<]*)</t></is></c>))')
_N_GROUPS: Final = 8
_MAX_GRID_CELLS: Final = 50_000_000
_CHUNK_BYTES: Final = 4 * 2**20
_NULL: Final[Any] = None  # None, for numpy's elementwise comparisons of object arrays
_XML_DECL_RE: Final = re.compile(rb'<\?xml[^>]*encoding="(?!utf-8|UTF-8)', re.IGNORECASE)
_KINDS: Final = frozenset({None, b"n", b"s", b"b", b"str", b"e", b"inlineStr"})


def fast_sheet_rows(
    data: bytes,
    shared_strings: list[Any],
    date_styles: set[int],
    *,
    max_col: int | None,
    max_row: int | None,
    max_rows: int,
) -> list[list[Any]] | None:
    """The values of a sheet's XML as read-only openpyxl's ``iter_rows(values_only=True)``
    gives them (same types, padding and dimension limits), several times faster; None
    when the sheet holds anything beyond plain cells (inline strings, dates, XML
    entities, other attributes or namespaces), so that openpyxl reads it instead.

    Parameters
    ----------
    data
        The sheet's XML part.
    shared_strings
        The workbook's shared strings, by index.
    date_styles
        Style ids whose numbers are dates (openpyxl turns those into datetimes).
    max_col, max_row
        The sheet's dimension (1-based, inclusive), None when it declares none.
    max_rows
        Stop after this many rows (the caller refuses a table that long; gaps in the row
        numbers would otherwise fill memory with empty rows).
    """
    if _XML_DECL_RE.match(data) or data.count(b"<sheetData") != 1:
        return None
    start = data.find(b"<sheetData>")
    end = data.find(b"</sheetData>")
    if start < 0 or end < start:
        return [] if b"<sheetData/>" in data else None
    pos, stop = start + len(b"<sheetData>"), end
    numbers: list[NDArray[np.int64]] = []
    grids: list[NDArray[np.object_]] = []
    while pos < stop:  # whole rows of about 4 MB at a time, to bound the tokens in memory
        cut = data.find(b"</row>", min(pos + _CHUNK_BYTES, stop), stop)
        nxt = stop if cut < 0 else cut + len(b"</row>")
        got = _chunk_cells(data[pos:nxt], shared_strings, date_styles)
        if got is None:
            return None
        numbers.append(got[0])
        grids.append(got[1])
        pos = nxt
        if sum(len(n) for n in numbers) > max_rows:
            return [[] for _ in range(max_rows + 1)]  # the caller refuses it
    width = max((g.shape[1] for g in grids), default=1)
    row_numbers = np.concatenate(numbers) if numbers else np.empty(0, np.int64)
    if len(row_numbers) * width > _MAX_GRID_CELLS:
        return None  # far-out cells: openpyxl's rows are as wide
    if len(row_numbers) and ((np.diff(row_numbers) <= 0).any() or row_numbers[0] < 1):
        return None  # out of order: leave it to openpyxl
    grid = np.vstack([np.hstack([g, np.full((len(g), width - g.shape[1]), None, dtype=object)])
                      for g in grids]) if grids else np.full((0, 1), None, dtype=object)
    return _rows_of_grid(row_numbers, grid, max_col=max_col, max_row=max_row,
                         max_rows=max_rows)


def _chunk_cells(
    chunk: bytes, shared_strings: list[Any], date_styles: set[int]
) -> tuple[NDArray[np.int64], NDArray[np.object_]] | None:
    """:func:`_sheet_cells` of whole rows of ``<sheetData>``."""
    parts = _SHEET_TOKEN_RE.split(chunk)
    step = _N_GROUPS + 1
    if b"".join(parts[::step]).strip():
        return None  # something the pattern does not know: leave it to openpyxl
    try:
        return _sheet_cells(*(parts[k::step] for k in (1, 2, 4, 5, 6, 7, 8)),
                            shared_strings=shared_strings, date_styles=date_styles)
    except (ValueError, IndexError, OverflowError, UnicodeDecodeError):
        return None  # openpyxl says what it makes of it


def _sheet_cells(
    starts: list[Any], closes: list[Any], cols: list[Any], styles: list[Any],
    kinds: list[Any], raws: list[Any], inlines: list[Any], *, shared_strings: list[Any],
    date_styles: set[int],
) -> tuple[NDArray[np.int64], NDArray[np.object_]] | None:
    """The row numbers and a (row, column) grid of values, from the groups of
    :data:`_SHEET_TOKEN_RE` (one entry per token); None for what openpyxl should read."""
    start = np.not_equal(np.asarray(starts, dtype=object), _NULL)
    cell = np.not_equal(np.asarray(cols, dtype=object), _NULL)
    shut = np.equal(np.asarray(closes, dtype=object), b"/")  # <row .../>
    opens = start & ~shut
    # every token is a row start, a row end or a cell; cells only inside rows
    depth = np.cumsum(opens.astype(np.int64) - (~start & ~cell))
    inside = depth == 1
    if (inside[~opens & ~cell]).any() or (~inside[opens | cell]).any():
        return None
    if not set(kinds) <= _KINDS:
        return None
    row_numbers = _ascii_ints(np.asarray(starts, dtype=object)[start].tolist())
    if len(row_numbers) and ((np.diff(row_numbers) <= 0).any() or row_numbers[0] < 1):
        return None  # out of order: leave it to openpyxl
    row_of = (np.cumsum(start) - 1)[cell]
    letters = _byte_matrix(np.asarray(cols, dtype=object)[cell].tolist())
    col_of = np.zeros(len(letters), dtype=np.int64)
    for j in range(letters.shape[1]):  # A=1 … Z=26, AA=27 …; bytes arrays pad with NUL
        ch = letters[:, j].astype(np.int64)
        col_of = np.where(ch > 0, col_of * 26 + ch - 64, col_of)
    if (np.diff(row_of * 20000 + col_of) <= 0).any():
        return None  # columns out of order or repeated within a row
    kind_c = np.asarray(kinds, dtype=object)[cell]
    raw_c = np.asarray(raws, dtype=object)[cell]
    has = np.not_equal(raw_c, _NULL) & np.not_equal(raw_c, b"")
    values = np.full(len(raw_c), None, dtype=object)
    number = has & (np.equal(kind_c, _NULL) | np.equal(kind_c, b"n"))
    if date_styles and number.any():
        style_c = np.asarray(styles, dtype=object)[cell][number]
        if {int(v) for v in set(style_c.tolist()) if v} & date_styles:
            return None
    values[number] = _numbers(raw_c[number].tolist())
    text = has & np.equal(kind_c, b"s")
    strings = np.empty(len(shared_strings), dtype=object)
    strings[:] = shared_strings
    values[text] = strings[_ascii_ints(raw_c[text].tolist())]
    flag = has & np.equal(kind_c, b"b")
    values[flag] = [bool(int(v)) for v in raw_c[flag].tolist()]
    plain = has & (np.equal(kind_c, b"str") | np.equal(kind_c, b"e"))
    values[plain] = [_xml_text(v) for v in raw_c[plain].tolist()]
    inline_c = np.asarray(inlines, dtype=object)[cell]
    inline = np.equal(kind_c, b"inlineStr") & np.not_equal(inline_c, _NULL)
    values[inline] = [_xml_text(v) for v in inline_c[inline].tolist()]
    width = int(col_of.max()) if len(col_of) else 0
    if len(row_numbers) * (width + 1) > _MAX_GRID_CELLS:
        return None  # a far-out cell: openpyxl's rows are as wide
    grid = np.full((len(row_numbers), width + 1), None, dtype=object)
    grid[row_of, col_of] = values
    last = np.zeros(len(row_numbers), dtype=np.int64)
    last[row_of] = col_of  # columns increase within a row: the last cell's column
    grid[:, 0] = last
    return row_numbers, grid


def _xml_text(raw: bytes) -> str:
    """A text node's bytes as XML reads them: line ends as \\n, references replaced
    (ValueError for an entity XML does not define)."""
    text = raw.decode("utf-8")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "&" in text:
        if "&" in _ENTITY_RE.sub("", text):
            raise ValueError("undefined entity")
        text = _ENTITY_RE.sub(_entity, text)
    return text


def _byte_matrix(raws: list[bytes]) -> NDArray[np.uint8]:
    """Equal-length byte strings as a (n, width) uint8 matrix, NUL-padded."""
    arr = np.array(raws, dtype=bytes)
    return arr.view(np.uint8).reshape(len(arr), -1) if len(arr) else np.empty((0, 0), np.uint8)


def _ascii_ints(raws: list[bytes]) -> NDArray[np.int64]:
    """Texts of ASCII digits as int64 (ValueError for anything else)."""
    chars = _byte_matrix(raws)
    if not _DIGIT_BYTES[chars].all():
        raise ValueError("not plain digits")
    return np.array(raws, dtype=bytes).astype(np.int64) if raws else np.empty(0, np.int64)


def _numbers(raws: list[bytes]) -> list[Any]:
    """openpyxl's reading of a number's text: float with a point or exponent, else int
    (parsed by numpy when every text is plain ASCII digits, signs, points and exponents)."""
    arr = np.array(raws, dtype=bytes)
    chars = _byte_matrix(raws)
    if not _NUMBER_BYTES[chars].all():
        return [float(v) if b"." in v or b"e" in v or b"E" in v else int(v) for v in raws]
    is_float = _FLOAT_BYTES[chars].any(axis=1)
    floats = arr.astype(np.float64)
    out = np.empty(len(arr), dtype=object)
    out[is_float] = floats[is_float].tolist()
    whole = floats[~is_float]
    if len(whole) and np.abs(whole).max() < 2.0**53:  # exact as float: the same int
        out[~is_float] = whole.astype(np.int64).tolist()
    else:
        out[~is_float] = [int(v) for v in arr[~is_float].tolist()]
    return list(out)


def _byte_set(chars: bytes) -> NDArray[np.bool_]:
    """A lookup table: True at the byte values in ``chars``."""
    table = np.zeros(256, dtype=bool)
    table[np.frombuffer(chars, dtype=np.uint8)] = True
    return table


def _rows_of_grid(
    row_numbers: NDArray[np.int64],
    grid: NDArray[np.object_],
    *,
    max_col: int | None,
    max_row: int | None,
    max_rows: int,
) -> list[list[Any]]:
    """Rows as openpyxl's read-only ``_cells_by_row`` yields them from ``min_row=1`` (rows
    in increasing order): missing rows empty, each row ``max_col`` wide (else as wide as its
    last cell), nothing beyond ``max_row``."""
    keep = row_numbers <= max_row if max_row is not None else np.ones(len(row_numbers), bool)
    n_out = int(row_numbers[keep][-1]) if keep.any() else 0
    if not keep.all() and max_row is not None:
        n_out = max_row  # openpyxl fills up to the dimension after the first row beyond it
    if n_out > max_rows:
        return [[] for _ in range(max_rows + 1)]  # the caller refuses it
    kept = grid[keep]
    if max_col is not None:
        body = kept[:, 1:max_col + 1]
        if body.shape[1] < max_col:
            body = np.hstack([body, np.full((len(body), max_col - body.shape[1]), None,
                                            dtype=object)])
        rows = body.tolist()
    else:
        rows = [r[1:int(r[0]) + 1] for r in kept.tolist()]
    if n_out == len(rows):
        return rows
    empty: list[Any] = [None] * max_col if max_col is not None else []
    out: list[list[Any]] = [list(empty) for _ in range(n_out)]
    for k, r in enumerate(row_numbers[keep].tolist()):
        out[r - 1] = rows[k]
    return out


_NUMBER_BYTES: Final = _byte_set(b"\x000123456789+-.eE")
_FLOAT_BYTES: Final = _byte_set(b".eE")
_DIGIT_BYTES: Final = _byte_set(b"\x000123456789")


# --------------------------------------------------------------------------- shared strings

# one shared string of the plain kind: a single text, perhaps with phonetic properties
_SST_RE: Final = re.compile(
    rb'<si>\s*(?:<t(?: xml:space="preserve")?>([^<]*)</t>|<t/>)\s*(?:<phoneticPr\b[^>]*/>\s*)?'
    rb'</si>')
_ENTITY_RE: Final = re.compile(r"&(?:(lt|gt|amp|quot|apos)|#([0-9]+)|#x([0-9a-fA-F]+));")
_ENTITIES: Final = {"lt": "<", "gt": ">", "amp": "&", "quot": '"', "apos": "'"}


def _entity(m: re.Match[str]) -> str:
    name, dec, hexa = m.groups()
    return _ENTITIES[name] if name else chr(int(dec) if dec else int(hexa, 16))


def fast_shared_strings(data: bytes) -> list[str] | None:
    """The texts of a workbook's ``sharedStrings.xml`` as openpyxl's ``read_string_table``
    gives them; None when a string is more than one plain text (rich-text runs, phonetic
    runs, namespaces), so that openpyxl reads the table instead."""
    start = data.find(b"<sst")
    end = data.rfind(b"</sst>")
    if _XML_DECL_RE.match(data) or start < 0 or end < start:
        return None
    parts = _SST_RE.split(data[data.find(b">", start) + 1:end])
    if b"".join(parts[::2]).strip():
        return None
    try:
        out = [_xml_text(v) if v else "" for v in parts[1::2]]
    except (ValueError, OverflowError, UnicodeDecodeError):
        return None  # openpyxl says what it makes of it
    if b"x005F_" in data:
        out = [v.replace("x005F_", "") for v in out]
    return out


def open_workbook(p: Path) -> Any:
    """``openpyxl.load_workbook(p, read_only=True, data_only=True)``, with the shared
    strings read by :func:`fast_shared_strings` when they are plain."""
    from openpyxl.reader.excel import ExcelReader
    from openpyxl.xml.constants import SHARED_STRINGS

    class _Reader(ExcelReader):  # type: ignore[misc]
        def read_strings(self) -> None:
            ct = self.package.find(SHARED_STRINGS)
            if ct is not None:
                fast = fast_shared_strings(self.archive.read(ct.PartName[1:]))
                if fast is not None:
                    self.shared_strings = fast
                    return
            super().read_strings()

    reader = _Reader(p, read_only=True, data_only=True)
    reader.read()
    return reader.wb


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause Python's cycle collector, as a context or decorator: a large table makes
    millions of objects and no cycles, and collections would take a fifth of the time."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()
