"""Reading the site and facility tables: files into cells, headers into columns.

* :func:`read_table` opens an xlsx/xls sheet, a csv file (UTF-8 or GBK/GB18030), a vector
  layer (GeoPackage, GeoJSON, Shapefile) or an OSM extract's amenities as a
  :class:`RawTable`: every cell as written, indexed by the row number a user sees (sheet
  row with the header as row 1, csv line, or 1-based feature number for vector layers).
* :class:`Field` and :func:`match_fields` find columns by their Chinese or English aliases,
  ignoring case, spaces, ``_``/``-``, full-width characters and a trailing unit in brackets
  (``人数(人)``); :func:`header_matcher` tells a known header for finding the header row.
* :func:`unique_ids`, :func:`non_negative_numbers` and :func:`raise_sorted` are the checks
  and the reporting the readers share.

Single cells are read by :mod:`layers.cells`; positions by :mod:`layers.points`.  Every
problem goes into a :class:`~anzhi.core.errors.ProblemCollector`; files that cannot be
opened raise :class:`~anzhi.core.errors.DataSourceError` at once.
"""

from __future__ import annotations

import csv
import io
import logging
import re
import unicodedata
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
from numpy.typing import NDArray

from anzhi.core.errors import DataSourceError, InputError, ProblemCollector
from anzhi.core.settings import get_settings
from layers.guard import check_opened_driver, check_vector_file, too_big
from layers.cells import (UNSAVED_FORMULA_FIX, UnsavedFormula, blank_mask, cell_text,
                          fast_sheet_rows, fill_merged, is_blank, open_workbook, parse_number,
                          paused_gc, plain_number, sheet_marks, sheet_xml, shown)
from layers.osmpoi import OSM_SUFFIXES, is_osm_file, read_osm_pois

__all__ = [
    "SHEET_SUFFIXES",
    "CSV_SUFFIXES",
    "VECTOR_SUFFIXES",
    "RawTable",
    "column_cells",
    "Field",
    "fold",
    "header_keys",
    "header_matcher",
    "match_fields",
    "facility_type_of_header",
    "SERIAL_HEADERS",
    "TOTAL_WORDS",
    "read_table",
    "unique_ids",
    "non_negative_numbers",
    "raise_sorted",
    "unsaved_formulas",
]

SHEET_SUFFIXES: Final = (".xlsx", ".xlsm", ".xls")
CSV_SUFFIXES: Final = (".csv",)
VECTOR_SUFFIXES: Final = (".geojson", ".json", ".gpkg", ".shp")

TableKind = Literal["sheet", "csv", "vector"]

log = logging.getLogger(__name__)

# Rows scanned for the header line (a title line such as "某县易地扶贫搬迁安置点统计表"
# often sits above it).
_HEADER_SCAN_ROWS: Final = 20

_BRACKETS: Final = str.maketrans({"【": "(", "】": ")", "〔": "(", "〕": ")", "[": "(", "]": ")",
                                  "{": "(", "}": ")", "〈": "(", "〉": ")", "<": "(", ">": ")"})


# --------------------------------------------------------------------------- headers


def fold(text: object) -> str:
    """Fold a header or a label for matching.

    NFKC-normalises (full-width letters, digits and brackets become ASCII), turns other
    bracket styles into ``()``, removes whitespace, ``_``, ``-`` and ``*`` (a "required"
    marker) and lower-cases.

    Examples
    --------
    >>> fold(" 县（市、区）"), fold("Site_ID*")
    ('县(市、区)', 'siteid')
    """
    s = unicodedata.normalize("NFKC", str(text)).translate(_BRACKETS)
    return re.sub(r"[\s_\-*]+", "", s).casefold()


def header_keys(text: object) -> list[str]:
    """Lookup keys of a header: the folded header, then without a trailing ``(unit)``.

    Examples
    --------
    >>> header_keys("人数（人）")
    ['人数(人)', '人数']
    """
    f = fold(text)
    keys = [f]
    m = re.fullmatch(r"(.+?)\([^()]*\)", f)
    if m:
        keys.append(m.group(1))
    return keys


@dataclass(frozen=True)
class Field:
    """A column the readers look for, with its aliases in priority tiers.

    A column matching a higher tier wins over one matching a lower tier (``编号`` beats
    ``序号``); two columns in the same tier are ambiguous.
    """

    #: Name of the output column (or an internal name such as ``"lon"``).
    key: str
    #: Aliases by tier, best tier first.
    tiers: tuple[tuple[str, ...], ...]

    @property
    def aliases(self) -> tuple[str, ...]:
        """All aliases, best first."""
        return tuple(a for tier in self.tiers for a in tier)

    def accepted(self) -> str:
        """The aliases as a readable list for messages."""
        return "/".join(self.aliases)


def match_fields(
    headers: Sequence[str],
    fields: Sequence[Field],
    pc: ProblemCollector,
) -> dict[str, int]:
    """Find the column position of each field.

    Parameters
    ----------
    headers
        Column headers as written, in file order.
    fields
        The fields to look for.
    pc
        Collector for "two columns mean the same field" problems.

    Returns
    -------
    dict
        Field key -> column position, for every field found once (or found best in a
        higher tier).
    """
    lookup: dict[str, tuple[str, int]] = {}
    for f in fields:
        for rank, tier in enumerate(f.tiers):
            for alias in tier:
                lookup.setdefault(fold(alias), (f.key, rank))
    hits: dict[str, list[tuple[int, int]]] = {}
    for pos, header in enumerate(headers):
        if not str(header).strip():
            continue
        for key in header_keys(header):
            if key in lookup:
                fkey, rank = lookup[key]
                hits.setdefault(fkey, []).append((rank, pos))
                break
    found: dict[str, int] = {}
    for fkey, cand in hits.items():
        best = min(rank for rank, _ in cand)
        positions = [pos for rank, pos in cand if rank == best]
        if len(positions) > 1:
            names = " and ".join(repr(headers[p]) for p in positions)
            pc.add(
                f"columns {names} both look like the {fkey!r} column",
                column=headers[positions[1]],
                fix="keep one of them, or rename the other so that it is not read as "
                f"{fkey!r}",
            )
        found[fkey] = positions[0]
    return found


def header_matcher(
    fields: Sequence[Field], *, also: Callable[[str], bool] | None = None
) -> Callable[[str], bool]:
    """A test of whether a header text names one of ``fields`` (or passes ``also``).

    :func:`read_table` uses it to find the header row below a title line.
    """
    known = frozenset(fold(a) for f in fields for a in f.aliases)

    def is_known(text: str) -> bool:
        return any(k in known for k in header_keys(text)) or (also is not None and also(text))

    return is_known


_YES_NO_PREFIXES: Final = ("是否建有", "是否配建", "是否配套", "是否设有", "是否有", "是否", "有无", "has")


def facility_type_of_header(header: object) -> str | None:
    """The facility type a yes/no column header names, or None.

    Accepts any label or alias of :data:`anzhi.core.vocabulary.FACILITY_TYPES` (``卫生室``,
    ``警务室``, ``Clinic``), also behind ``是否有``/``有无``/``has_`` and before a bracketed
    note (``卫生室(有/无)``), and the readers' own output headers (``has_clinic``).
    """
    from anzhi.core.vocabulary import normalise_facility_type

    for key in header_keys(header):
        for cand in (key, *(key[len(p):] for p in _YES_NO_PREFIXES if key.startswith(p))):
            if cand:
                ft = normalise_facility_type(cand)
                if ft is not None:
                    return ft
    return None


#: Headers of a running-number column (序号): a line with nothing else is an unused line.
SERIAL_HEADERS: Final = frozenset({"序号", "no", "no."})

#: Cell texts that mark a total line (合计) at the bottom of a county table.
TOTAL_WORDS: Final = frozenset({"合计", "总计", "小计", "共计", "total", "sum", "subtotal"})


# --------------------------------------------------------------------------- checks


def unique_ids(
    values: Sequence[str],
    rows: Sequence[int],
    *,
    header: str,
    noun: str,
    prefix: str,
    pc: ProblemCollector,
) -> list[str]:
    """Check that every row has an id and no id repeats; record a problem for each that fails.

    Parameters
    ----------
    values
        The ids as read (already normalised with :func:`id_text`), one per row.
    rows
        The user-visible row number of each value.
    header
        The id column's header as written in the file.
    noun
        ``"site"`` or ``"facility"``, for the messages.
    prefix
        Letter of the automatic numbering offered in the fix (``S`` → S0001, S0002, …).
    """
    first_row: dict[str, int] = {}
    plural = "sites" if noun == "site" else "them"
    for v, r in zip(values, rows):
        if not v:
            pc.add(
                f"the {noun} has no id",
                row=r,
                column=header,
                fix=f"give every {noun} a unique id in {header!r}, or delete that column to "
                f"number {plural} {prefix}0001, {prefix}0002, … automatically",
            )
        elif v in first_row:
            pc.add(
                f"{noun} id {v!r} is used twice (first in row {first_row[v]})",
                row=r,
                column=header,
                value=v,
                fix=f"give every {noun} its own id",
            )
        else:
            first_row[v] = r
    return list(values)


def non_negative_numbers(
    table: RawTable,
    pos: int | None,
    rows: Sequence[int],
    pc: ProblemCollector,
    *,
    label: str,
    fix_number: str,
    fix_negative: str,
    fix_missing: str | None = None,
    fix_whole: str | None = None,
    max_value: float | None = None,
    fix_max: str | None = None,
) -> NDArray[np.float64]:
    """The numbers of column ``pos`` as float64 (NaN when blank, bad or absent), each checked.

    Parameters
    ----------
    table, pos, rows
        The table, the column position (None: no such column) and the rows to read.
    pc
        Collects a problem for every cell that is not a number or is negative, blank cells
        when ``fix_missing`` is given and fractions when ``fix_whole`` is given.
    label
        What the column holds (``"population"``, ``"capacity"``), for the messages.
    fix_number, fix_negative, fix_missing, fix_whole
        The fix each kind of problem offers.
    max_value, fix_max
        A plausible upper bound (a cell above it is a problem, e.g. a population of 10²³ that
        would wrap around as an integer) and the fix offered.
    """
    out = np.full(len(rows), np.nan)
    if pos is None:
        return out
    header = table.headers[pos]
    for k, (r, raw) in enumerate(zip(rows, column_cells(table, pos, rows), strict=True)):
        v = plain_number(raw)  # ints and floats: the checks below, without parse_number
        if v is not None and v >= 0 and (fix_whole is None or v.is_integer()) and (
                max_value is None or v <= max_value):
            out[k] = v
            continue
        if isinstance(raw, UnsavedFormula):
            pc.add(f"a formula with no saved value, so the {label} is not in the file", row=r,
                   column=header, value=f"={raw.formula[:60]}", fix=UNSAVED_FORMULA_FIX)
            continue
        try:
            v = parse_number(raw)
        except ValueError:
            pc.add(f"{label} is not a number", row=r, column=header, value=shown(raw),
                   fix=fix_number)
            continue
        if v is None:
            if fix_missing is not None:
                pc.add(f"{label} is missing", row=r, column=header, fix=fix_missing)
            continue
        if v < 0:
            pc.add(f"{label} is negative", row=r, column=header, value=shown(raw),
                   fix=fix_negative)
            continue
        if fix_whole is not None and not float(v).is_integer():
            pc.add(f"{label} is not a whole number", row=r, column=header, value=shown(raw),
                   fix=fix_whole)
            continue
        if max_value is not None and v > max_value:
            pc.add(f"{label} {v:,.0f} is above the plausible bound of {max_value:,.0f}", row=r,
                   column=header, value=shown(raw), fix=fix_max)
            continue
        out[k] = v
    return out


def column_cells(table: RawTable, pos: int, rows: Sequence[int]) -> list[Any]:
    """The cells of column ``pos`` for ``rows`` (row numbers of ``table.cells``), as a list."""
    col = table.column(pos)
    if len(col) == len(rows) and (col.index == rows).all():
        return col.tolist()
    return [col[r] for r in rows]


def unsaved_formulas(table: RawTable, positions: Sequence[int], pc: ProblemCollector) -> None:
    """Record a problem for every formula without a saved value in the text columns at
    ``positions`` and blank it (numbers are reported by :func:`non_negative_numbers`)."""
    for pos in positions:
        col = table.column(pos)
        hit = np.array([isinstance(v, UnsavedFormula) for v in col.tolist()], dtype=bool)
        for r in col.index[hit]:
            raw = col[r]
            pc.add("a formula with no saved value, so the cell's text is not in the file",
                   row=int(r), column=table.headers[pos], value=f"={raw.formula[:60]}",
                   fix=UNSAVED_FORMULA_FIX)
            table.cells.at[r, pos] = None


def raise_sorted(pc: ProblemCollector) -> None:
    """Raise the collected problems, if any: file-level ones first, then by row."""
    pc.problems.sort(key=lambda p: (p.row is not None, p.row or 0))
    pc.raise_if_any()

# --------------------------------------------------------------------------- reading


@dataclass
class RawTable:
    """One table as read from a file, before any interpretation.

    Attributes
    ----------
    label
        The file name, for messages.
    kind
        ``"sheet"``, ``"csv"`` or ``"vector"``.
    headers
        Column headers as written, by position.
    cells
        Object-dtype cells; columns are the positions ``0..len(headers)-1``; the index is
        the row number a user sees (sheet row, csv line, or 1-based feature number).
    geometry
        The layer's geometry (vector files with a geometry column), aligned with
        ``cells``; None otherwise.
    crs
        The layer's CRS, or None (tables, or vector files without one).
    notes
        What reading changed and a run report should say (merged cells filled down).
    """

    label: str
    kind: TableKind
    headers: list[str]
    cells: pd.DataFrame
    geometry: gpd.GeoSeries | None = None
    crs: pyproj.CRS | None = None
    notes: list[str] = field(default_factory=list)

    def column(self, pos: int) -> pd.Series:
        """The cells of the column at ``pos``."""
        return self.cells[pos]

    def header_list(self) -> str:
        """The non-empty headers, quoted and comma-separated, for messages (``"none"``)."""
        names = [repr(h) for h in self.headers if h]
        return ", ".join(names) if names else "none"

    def keep_rows(self, keep: NDArray[np.bool_]) -> None:
        """Keep the rows where ``keep`` (aligned with ``cells``) is True, geometry included."""
        self.cells = self.cells.loc[keep]
        if self.geometry is not None:
            self.geometry = self.geometry.loc[keep]

    def drop_rows_blank_except(self, pos: int) -> None:
        """Drop rows whose only non-blank cell is in column ``pos`` (pre-numbered 序号 lines
        of a template), geometry included."""
        if self.cells.empty or pos not in self.cells.columns:
            return
        self._drop_blank(self._all_blank([c for c in self.cells.columns if c != pos]))

    def drop_blank_rows(self) -> None:
        """Drop rows whose cells are all blank (and that have no geometry)."""
        if self.cells.empty:
            return
        self._drop_blank(self._all_blank(list(self.cells.columns)))

    def _all_blank(self, columns: list[Any]) -> pd.Series:
        """True for the rows whose cells in ``columns`` are all blank (:func:`is_blank`)."""
        blank = np.ones(len(self.cells), dtype=bool)
        for c in columns:
            blank &= blank_mask(self.cells[c].to_numpy(dtype=object))
        return pd.Series(blank, index=self.cells.index)

    def _drop_blank(self, blank: pd.Series) -> None:
        """Drop the rows whose cells are ``blank`` and whose geometry is missing or empty."""
        if self.geometry is not None:
            blank &= self.geometry.isna() | self.geometry.is_empty
        self.keep_rows(~blank.to_numpy())


def _check_path(path: str | Path) -> Path:
    p = Path(path)
    if not p.exists():
        raise DataSourceError(f"{p}: file not found; check the path and file name")
    if p.is_dir():
        raise DataSourceError(f"{p} is a folder, not a file; give the path of the table itself")
    return p


def _pick_header(
    rows: list[list[Any]], is_known: Callable[[str], bool]
) -> tuple[int, list[str]]:
    """Index of the header row in ``rows`` and the headers.

    The header is the first of the first rows with at least two known headers; failing
    that, the first non-blank row.  A second header row directly below (headers under a
    merged cell such as 坐标 → 经度, 纬度; no numbers in it) is merged in.
    """
    first_nonblank: int | None = None
    chosen: int | None = None
    for i, row in enumerate(rows[:_HEADER_SCAN_ROWS]):
        if all(is_blank(v) for v in row):
            continue
        if first_nonblank is None:
            first_nonblank = i
        if sum(1 for v in row if not is_blank(v) and is_known(cell_text(v))) >= 2:
            chosen = i
            break
    if chosen is None:
        chosen = first_nonblank if first_nonblank is not None else 0
    width = max((len(r) for r in rows), default=0)
    top = list(rows[chosen]) + [None] * (width - len(rows[chosen])) if rows else []
    headers = [cell_text(v) for v in top]
    nxt = chosen + 1
    if nxt < len(rows):
        sub = list(rows[nxt]) + [None] * (width - len(rows[nxt]))
        texts = [cell_text(v) for v in sub]
        has_number = any(_is_numberish(v) for v in sub)
        if not has_number and any(t and is_known(t) for t in texts):
            headers = [t if t else h for t, h in zip(texts, headers, strict=True)]
            return nxt, headers
    return chosen, headers


def _is_numberish(value: object) -> bool:
    try:
        return parse_number(value) is not None
    except ValueError:
        return False


def _rows_to_table(
    label: str,
    kind: TableKind,
    rows: list[list[Any]],
    row_numbers: list[int],
    is_known: Callable[[str], bool],
) -> RawTable:
    if not rows or all(all(is_blank(v) for v in r) for r in rows):
        return RawTable(label, kind, [], pd.DataFrame(index=pd.Index([], dtype="int64")))
    h, headers = _pick_header(rows, is_known)  # as wide as the widest row
    width = len(headers)
    data = [list(r) + [None] * (width - len(r)) for r in rows[h + 1:]]
    index = pd.Index(row_numbers[h + 1:], dtype="int64")
    cells = pd.DataFrame(data, index=index, columns=range(len(headers)), dtype=object)
    return RawTable(label, kind, headers, cells)


def _row_limit(label: str, n_rows: int) -> None:
    """Refuse a table of more rows than ``max_table_rows`` (plus the header lines)."""
    limit = get_settings().max_table_rows
    if n_rows > limit + _HEADER_SCAN_ROWS:
        raise too_big(label, f"the table has more than {limit:,} rows", "max_table_rows", limit,
                      " rows")


def _unzipped_size(p: Path) -> None:
    """Refuse a workbook whose parts expand beyond ``max_decompressed_bytes`` (zip bomb)."""
    try:
        with zipfile.ZipFile(p) as zf:
            total = sum(i.file_size for i in zf.infolist())
    except (OSError, zipfile.BadZipFile):
        return  # openpyxl says what is wrong with it
    limit = get_settings().max_decompressed_bytes
    if total > limit:
        raise too_big(p.name, f"the workbook expands to {total:,} bytes",
                      "max_decompressed_bytes", limit, " bytes")


def _read_xlsx(p: Path, sheet: str | int | None) -> tuple[list[list[Any]], list[int], list[str]]:
    """Rows of one sheet (merged ranges filled, unsaved formulas marked) and the notes."""
    _unzipped_size(p)
    try:
        wb = open_workbook(p)
    except Exception as exc:  # openpyxl raises many types for a broken file
        raise DataSourceError(
            f"{p.name}: cannot open as an Excel workbook ({type(exc).__name__}: {exc}); "
            "open it in Excel/WPS and save it again as .xlsx"
        ) from exc
    try:
        ws = wb[_pick_sheet(p.name, list(wb.sheetnames), sheet, "sheet")]
        member = getattr(ws, "_worksheet_path", None)  # openpyxl's part name of the sheet
        data = sheet_xml(p, member if isinstance(member, str) else None)
        strings = getattr(ws, "_shared_strings", None)  # openpyxl's, to read plain sheets fast
        dates = getattr(wb, "_date_formats", None)
        fast = None if data is None or strings is None or dates is None else fast_sheet_rows(
            data, strings, set(dates), max_col=ws.max_column, max_row=ws.max_row,
            max_rows=get_settings().max_table_rows + _HEADER_SCAN_ROWS)
        rows: list[list[Any]] = [] if fast is None else fast
        for r in ws.iter_rows(min_row=1, min_col=1, values_only=True) if fast is None else ():
            rows.append(list(r))
            if len(rows) % 65536 == 0:
                _row_limit(p.name, len(rows))
        _row_limit(p.name, len(rows))
    finally:
        wb.close()
    merged, unsaved = sheet_marks(p, None, data=data) if data is not None else ([], [])
    for r, c, formula in unsaved:
        if r <= len(rows):
            row = rows[r - 1]
            if c > len(row):
                row.extend([None] * (c - len(row)))
            if row[c - 1] is None:
                row[c - 1] = UnsavedFormula(formula)
    notes = []
    filled = fill_merged(rows, merged)
    if filled:
        shown_ranges = ", ".join(filled[:20]) + (f" and {len(filled) - 20} more"
                                                 if len(filled) > 20 else "")
        notes.append(f"{p.name}: merged cells {shown_ranges} filled from their top cell "
                     f"(合并单元格已向下填充)")
        log.warning("%s", notes[-1])
    return rows, list(range(1, len(rows) + 1)), notes


def _read_xls(p: Path, sheet: str | int | None) -> tuple[list[list[Any]], list[int]]:
    try:
        import xlrd  # noqa: F401
    except ImportError:
        raise DataSourceError(
            f"{p.name}: old-style .xls workbooks need the 'xlrd' package, which is not "
            "installed; open the file in Excel/WPS and save it as .xlsx"
        ) from None
    try:
        book = pd.ExcelFile(p, engine="xlrd")
        name = _pick_sheet(p.name, [str(s) for s in book.sheet_names], sheet, "sheet")
        df = book.parse(name, header=None, dtype=object)
    except InputError:
        raise
    except Exception as exc:
        raise DataSourceError(f"{p.name}: cannot read the .xls workbook: {exc}") from exc
    _row_limit(p.name, len(df))
    rows = [[None if is_blank(v) else v for v in r] for r in df.itertuples(index=False)]
    return rows, list(range(1, len(rows) + 1))


def _pick_sheet(label: str, names: list[str], sheet: str | int | None, what: str) -> str:
    if not names:
        raise DataSourceError(f"{label}: the file has no {what}s")
    if sheet is None:
        return names[0]
    if isinstance(sheet, bool):
        pass
    elif isinstance(sheet, int):
        if 0 <= sheet < len(names):
            return names[sheet]
    elif str(sheet) in names:
        return str(sheet)
    listing = ", ".join(f"{i}: {n!r}" for i, n in enumerate(names))
    raise InputError(
        f"{label}: there is no {what} {sheet!r}; fix: give one of the {what}s by name or "
        f"0-based number ({listing})"
    )


def _decode(p: Path) -> str:
    raw = p.read_bytes()
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(enc)
        except UnicodeDecodeError:
            continue
    raise DataSourceError(
        f"{p.name}: the text is neither UTF-8 nor GBK/GB18030; save the csv as "
        "'CSV UTF-8' in Excel/WPS"
    )


def _read_csv(p: Path) -> tuple[list[list[Any]], list[int]]:
    text = _decode(p)
    first = next((ln for ln in text.splitlines() if ln.strip()), "")
    counts = {d: first.count(d) for d in (",", "\t", ";")}
    delimiter = max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows: list[list[Any]] = []
    numbers: list[int] = []
    prev = 0
    try:
        for rec in reader:
            rows.append(list(rec))
            if len(rows) % 65536 == 0:
                _row_limit(p.name, len(rows))
            numbers.append(prev + 1)
            prev = reader.line_num
    except csv.Error as exc:
        raise DataSourceError(f"{p.name}, line {prev + 1}: cannot parse the csv: {exc}") from exc
    _row_limit(p.name, len(rows))
    return rows, numbers


def _read_vector(p: Path, sheet: str | int | None) -> RawTable:
    import pyogrio

    driver = check_vector_file(p, what="table")
    check_opened_driver(p, driver, what="table")
    try:
        layers = pyogrio.list_layers(p)
    except Exception as exc:
        raise DataSourceError(f"{p.name}: cannot open as a GIS layer: {exc}") from exc
    names = [str(row[0]) for row in layers]
    layer = _pick_sheet(p.name, names, sheet, "layer")
    try:
        n_features = int(pyogrio.read_info(p, layer=layer)["features"])
    except Exception as exc:
        raise DataSourceError(f"{p.name}: cannot read layer {layer!r}: {exc}") from exc
    _row_limit(p.name, n_features)
    try:
        df = pyogrio.read_dataframe(p, layer=layer)
    except Exception as exc:
        raise DataSourceError(f"{p.name}: cannot read layer {layer!r}: {exc}") from exc
    return _frame_to_table(p.name, df)


def _frame_to_table(label: str, df: pd.DataFrame) -> RawTable:
    """A (Geo)DataFrame read from a GIS layer as a :class:`RawTable` (rows numbered from 1)."""
    geometry: gpd.GeoSeries | None = None
    crs: pyproj.CRS | None = None
    if isinstance(df, gpd.GeoDataFrame):
        geometry = df.geometry.reset_index(drop=True)
        crs = df.crs
        attrs = pd.DataFrame(df.drop(columns=df.geometry.name))
    else:
        attrs = pd.DataFrame(df)
    headers = [str(c) for c in attrs.columns]
    index = pd.Index(range(1, len(attrs) + 1), dtype="int64")
    cells = pd.DataFrame(
        {i: attrs.iloc[:, i].astype(object).to_numpy() for i in range(len(headers))},
        index=index,
        columns=range(len(headers)),
        dtype=object,
    )
    if geometry is not None:
        geometry.index = index
    return RawTable(label, "vector", headers, cells, geometry, crs)


@paused_gc()
def read_table(
    path: str | Path,
    *,
    sheet: str | int | None = None,
    is_known: Callable[[str], bool] = lambda _h: False,
) -> RawTable:
    """Read a sheet, csv or vector layer into a :class:`RawTable` (blank rows dropped).

    Parameters
    ----------
    path
        ``.xlsx``/``.xlsm``/``.xls``, ``.csv``, ``.geojson``/``.json``, ``.gpkg``, ``.shp``,
        or an OSM extract (``.osm``, ``.osm.bz2``, ``.osm.pbf``: its amenity/healthcare/
        office nodes and ways, :mod:`layers.osmpoi`).
    sheet
        Sheet (workbooks) or layer (GeoPackage) name, or its 0-based number; default the
        first.  Not allowed for csv.
    is_known
        Tells whether a header text is a known column; used to find the header row of
        sheets and csv files under a title line.

    Raises
    ------
    DataSourceError
        When the file is missing or unreadable.
    InputError
        For an unsupported file type or an unknown sheet/layer.
    """
    p = _check_path(path)
    suffix = p.suffix.lower()
    if suffix in SHEET_SUFFIXES or suffix in CSV_SUFFIXES:
        if suffix in CSV_SUFFIXES:
            if sheet is not None:
                raise InputError(
                    f"{p.name}: a csv file has no sheets, but sheet={sheet!r} was given; "
                    "fix: leave sheet out"
                )
            rows, numbers = _read_csv(p)
            kind: TableKind = "csv"
            notes: list[str] = []
        elif suffix == ".xls":
            rows, numbers = _read_xls(p, sheet)
            kind = "sheet"
            notes = []
        else:
            rows, numbers, notes = _read_xlsx(p, sheet)
            kind = "sheet"
        table = _rows_to_table(p.name, kind, rows, numbers, is_known)
        table.notes.extend(notes)
    elif suffix in VECTOR_SUFFIXES:
        table = _read_vector(p, sheet)
    elif is_osm_file(p):
        if sheet is not None:
            raise InputError(
                f"{p.name}: an OSM file has no sheets or layers, but sheet={sheet!r} was "
                "given; fix: leave sheet out"
            )
        table = _frame_to_table(p.name, read_osm_pois(p))
    else:
        allowed = ", ".join(SHEET_SUFFIXES + CSV_SUFFIXES + VECTOR_SUFFIXES + OSM_SUFFIXES)
        raise InputError(
            f"{p.name}: unsupported file type {suffix or '(none)'!r}; fix: give one of "
            f"{allowed} (save spreadsheets as .xlsx or .csv)"
        )
    table.drop_blank_rows()
    return table
