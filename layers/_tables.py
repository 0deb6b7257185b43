"""Shared machinery of the site and facility readers (private to :mod:`layers`).

* :func:`read_table` opens an xlsx/xls sheet, a csv file (UTF-8 or GBK/GB18030) or a vector
  layer (GeoPackage, GeoJSON, Shapefile) as a :class:`RawTable`: every cell as written,
  indexed by the row number a user sees (sheet row with the header as row 1, csv line,
  or 1-based feature number for vector layers).
* :class:`Field` and :func:`match_fields` find columns by their Chinese or English aliases,
  ignoring case, spaces, ``_``/``-``, full-width characters and a trailing unit in brackets
  (``人数(人)``).
* :func:`parse_number`, :func:`parse_degrees`, :func:`parse_yes_no`, :func:`cell_text` and
  :func:`id_text` read single cells.
* :func:`resolve_points` turns longitude/latitude columns, Gauss-Krüger metre columns or
  the layer's geometry into WGS84 longitude/latitude, validating each row.

Every problem goes into a :class:`~anzhi.core.errors.ProblemCollector`; nothing here raises
:class:`~anzhi.core.errors.InputError` itself except through the collector's owner.  Files
that cannot be opened raise :class:`~anzhi.core.errors.DataSourceError` at once.
"""

from __future__ import annotations

import csv
import io
import math
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal, cast

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from numpy.typing import NDArray

from anzhi.core.errors import DataSourceError, InputError, ProblemCollector
from geo import coords as gc
from layers.osmpoi import OSM_SUFFIXES, is_osm_file, read_osm_pois

__all__ = [
    "unique_ids",
    "SHEET_SUFFIXES",
    "CSV_SUFFIXES",
    "VECTOR_SUFFIXES",
    "RawTable",
    "Field",
    "fold",
    "header_keys",
    "match_fields",
    "read_table",
    "is_blank",
    "parse_number",
    "parse_degrees",
    "parse_yes_no",
    "cell_text",
    "id_text",
    "shown",
    "YES_NO_HELP",
    "CoordColumns",
    "COORD_FIELDS",
    "coord_columns",
    "resolve_points",
    "parse_crs",
    "facility_type_of_header",
    "TOTAL_WORDS",
    "raise_sorted",
    "SERIAL_HEADERS",
]

SHEET_SUFFIXES: Final = (".xlsx", ".xlsm", ".xls")
CSV_SUFFIXES: Final = (".csv",)
VECTOR_SUFFIXES: Final = (".geojson", ".json", ".gpkg", ".shp")

TableKind = Literal["sheet", "csv", "vector"]

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

    Attributes
    ----------
    key
        Name of the output column (or an internal name such as ``"lon"``).
    tiers
        Aliases, best first.  A column matching a higher tier wins over one matching a
        lower tier (``编号`` beats ``序号``); two columns in the same tier are ambiguous.
    """

    key: str
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


# --------------------------------------------------------------------------- cells


def is_blank(value: object) -> bool:
    """True for None, NaN, pandas NA and text that is empty after stripping."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float | np.floating):
        return bool(np.isnan(value))
    if isinstance(value, str):
        return not value.strip()
    return False


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
    if isinstance(value, bool | np.bool_):
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
    """

    label: str
    kind: TableKind
    headers: list[str]
    cells: pd.DataFrame
    geometry: gpd.GeoSeries | None = None
    crs: pyproj.CRS | None = None

    def column(self, pos: int) -> pd.Series:
        """The cells of the column at ``pos``."""
        return self.cells[pos]

    def drop_rows_blank_except(self, pos: int) -> None:
        """Drop rows whose only non-blank cell is in column ``pos`` (pre-numbered 序号 lines
        of a template), geometry included."""
        if self.cells.empty or pos not in self.cells.columns:
            return
        others = self.cells.drop(columns=[pos])
        blank = others.map(is_blank).all(axis=1) if others.shape[1] else pd.Series(
            True, index=self.cells.index)
        if self.geometry is not None:
            blank &= self.geometry.isna() | self.geometry.is_empty
        keep = ~blank.to_numpy()
        self.cells = self.cells.loc[keep]
        if self.geometry is not None:
            self.geometry = self.geometry.loc[keep]

    def drop_blank_rows(self) -> None:
        """Drop rows whose cells are all blank (and that have no geometry)."""
        if self.cells.empty:
            return
        blank = self.cells.map(is_blank).all(axis=1)
        if self.geometry is not None:
            blank &= self.geometry.isna() | self.geometry.is_empty
        keep = ~blank.to_numpy()
        self.cells = self.cells.loc[keep]
        if self.geometry is not None:
            self.geometry = self.geometry.loc[keep]


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


def _read_xlsx(p: Path, sheet: str | int | None) -> tuple[list[list[Any]], list[int]]:
    import openpyxl

    try:
        wb = openpyxl.load_workbook(p, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a broken file
        raise DataSourceError(
            f"{p.name}: cannot open as an Excel workbook ({type(exc).__name__}: {exc}); "
            "open it in Excel/WPS and save it again as .xlsx"
        ) from exc
    try:
        ws = wb[_pick_sheet(p.name, list(wb.sheetnames), sheet, "sheet")]
        rows = [list(r) for r in ws.iter_rows(min_row=1, min_col=1, values_only=True)]
    finally:
        wb.close()
    return rows, list(range(1, len(rows) + 1))


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
            numbers.append(prev + 1)
            prev = reader.line_num
    except csv.Error as exc:
        raise DataSourceError(f"{p.name}, line {prev + 1}: cannot parse the csv: {exc}") from exc
    return rows, numbers


def _read_vector(p: Path, sheet: str | int | None) -> RawTable:
    import pyogrio

    try:
        layers = pyogrio.list_layers(p)
    except Exception as exc:
        raise DataSourceError(f"{p.name}: cannot open as a GIS layer: {exc}") from exc
    names = [str(row[0]) for row in layers]
    layer = _pick_sheet(p.name, names, sheet, "layer")
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
        elif suffix == ".xls":
            rows, numbers = _read_xls(p, sheet)
            kind = "sheet"
        else:
            rows, numbers = _read_xlsx(p, sheet)
            kind = "sheet"
        table = _rows_to_table(p.name, kind, rows, numbers, is_known)
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


# --------------------------------------------------------------------------- coordinates

#: Coordinate fields shared by sites and facilities.
COORD_FIELDS: Final[tuple[Field, ...]] = (
    Field("lon", (("经度", "lon", "lng", "long", "longitude", "x"),)),
    Field("lat", (("纬度", "lat", "latitude", "y"),)),
    Field("east", (("东坐标", "X坐标", "easting", "东向坐标", "横坐标"),)),
    Field("north", (("北坐标", "Y坐标", "northing", "北向坐标", "纵坐标"),)),
    Field("coord_system", (("坐标系", "坐标系统", "coords", "crs", "coordinate system"),)),
)


@dataclass(frozen=True)
class CoordColumns:
    """Positions of the coordinate columns found in a table (None when absent)."""

    lon: int | None = None
    lat: int | None = None
    east: int | None = None
    north: int | None = None
    system: int | None = None

    @property
    def has_lonlat(self) -> bool:
        return self.lon is not None and self.lat is not None

    @property
    def has_gk(self) -> bool:
        return self.east is not None and self.north is not None


def coord_columns(found: dict[str, int]) -> CoordColumns:
    """The :class:`CoordColumns` of a :func:`match_fields` result."""
    return CoordColumns(
        lon=found.get("lon"), lat=found.get("lat"), east=found.get("east"),
        north=found.get("north"), system=found.get("coord_system"),
    )


def parse_crs(crs: str | int | None, pc: ProblemCollector) -> pyproj.CRS | None:
    """``crs=`` as a :class:`pyproj.CRS`; an unknown one is recorded as a problem."""
    if crs is None:
        return None
    try:
        return pyproj.CRS.from_user_input(crs)
    except (pyproj.exceptions.CRSError, TypeError, ValueError):
        pc.add(
            f"crs={crs!r} is not a coordinate reference system",
            value=crs,
            fix="give an EPSG code such as 'EPSG:4521' (CGCS2000 3-degree Gauss-Krüger zone "
            "33 with zone prefix) or 4542 (central meridian 99°E, 6-digit eastings)",
        )
        return None


_GEOGRAPHIC_EPSG_SYSTEM: Final = {4326: "wgs84", 4490: "cgcs2000"}


@dataclass
class _Pending:
    """Rows waiting for conversion: degrees (per system) or metres (per zone/CRS)."""

    rows: list[int]
    a: list[float]
    b: list[float]

    def add(self, row: int, a: float, b: float) -> None:
        self.rows.append(row)
        self.a.append(a)
        self.b.append(b)


def _is_easting(v: float) -> bool:
    return (100_000 <= v < 1_000_000) or (10_000_000 <= v < 100_000_000)


def _is_northing(v: float) -> bool:
    return 1_000_000 <= v < 10_000_000


def resolve_points(
    table: RawTable,
    cols: CoordColumns,
    pc: ProblemCollector,
    *,
    coords: str | None,
    crs: str | int | None,
    china_only: bool,
    what: str,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """WGS84 longitude/latitude of every row of ``table``, validating as it goes.

    Sources, in order: the layer geometry (vector files with a geometry column; points,
    or the representative point of polygons), else longitude/latitude columns, else
    Gauss-Krüger easting/northing columns (also used row by row when the lon/lat cells of a
    row are blank).  Values over 1,000 in ``x``/``y`` or 经度/纬度 columns are taken as
    metres.  Easting and northing are told apart by magnitude (northing 7 digits, easting
    6 digits or 8 with the zone prefix), so the survey convention X = northing works.

    Degree values are converted from the row's coordinate system: the 坐标系 cell, else
    ``coords``, else WGS84 (documented default).  Metres are converted with the CGCS2000
    3-degree Gauss-Krüger zone from ``crs`` (``EPSG:4513``–``4554``, or any projected CRS)
    or from the 8-digit easting's zone prefix.  A projected ``crs`` does not apply to
    degree values, and a vector layer's own CRS always wins over ``crs`` (which only fills
    in a missing one), so one ``--crs`` option can serve a run with mixed inputs.

    Parameters
    ----------
    table
        The table (blank rows already dropped).
    cols
        Coordinate column positions.
    pc
        Collects every problem (row, column, value, fix).
    coords
        ``coords=`` as given by the caller, or None.
    crs
        ``crs=`` as given by the caller, or None.
    china_only
        Report points outside China's bounding box.
    what
        ``"site"`` or ``"facility"``, for messages.

    Returns
    -------
    tuple of numpy.ndarray
        WGS84 longitude and latitude, decimal degrees, aligned with ``table.cells``; NaN
        for rows with a problem, and for every row when the table has no geometry and no
        coordinate columns (the caller reports those missing columns).
    """
    n = len(table.cells)
    out_lon = np.full(n, np.nan)
    out_lat = np.full(n, np.nan)
    if table.geometry is None and not cols.has_lonlat and not cols.has_gk:
        return out_lon, out_lat
    row_numbers = table.cells.index.to_list()
    pos_of = {r: i for i, r in enumerate(row_numbers)}

    default_system: str | None = None
    if coords is not None:
        try:
            default_system = gc.normalise_coord_system(coords)
        except InputError as exc:
            pc.add(f"coords={coords!r}: {exc}", value=coords)
    crs_obj = parse_crs(crs, pc)

    row_systems = _row_systems(table, cols, pc, coords, default_system)

    deg = _Pending([], [], [])
    metres = _Pending([], [], [])
    lon_h = table.headers[cols.lon] if cols.lon is not None else "经度"
    lat_h = table.headers[cols.lat] if cols.lat is not None else "纬度"

    if (
        table.geometry is not None
        and (cols.has_lonlat or cols.has_gk)
        and bool((table.geometry.isna() | table.geometry.is_empty).all())
    ):
        # A layer without any geometry but with coordinate attributes (e.g. GeoJSON
        # features with null geometry and 经度/纬度 properties): use the attributes.
        table.geometry = None
    if table.geometry is not None:
        names = _from_geometry(table, crs_obj, pc, row_systems, deg, metres, coords)
        lon_h, lat_h = names
    else:
        if not (cols.has_lonlat or cols.has_gk):
            accepted_ll = f"{COORD_FIELDS[0].accepted()} and {COORD_FIELDS[1].accepted()}"
            accepted_gk = f"{COORD_FIELDS[2].accepted()} and {COORD_FIELDS[3].accepted()}"
            pc.add(
                f"no coordinate columns found (columns are: {', '.join(h for h in table.headers if h)})",
                fix=f"add longitude/latitude columns ({accepted_ll}) or Gauss-Krüger metre "
                f"columns ({accepted_gk})",
            )
            return out_lon, out_lat
        _from_columns(table, cols, pc, what, deg, metres)

    if crs_obj is not None and deg.rows and table.geometry is None and crs_obj.is_geographic:
        sys_name = _GEOGRAPHIC_EPSG_SYSTEM.get(crs_obj.to_epsg() or 0)
        if sys_name is None:
            pc.add(
                f"crs={crs!r} is a geographic CRS other than WGS84 (EPSG:4326) or CGCS2000 "
                "(EPSG:4490)",
                value=crs,
                fix="convert the coordinates to WGS84 or CGCS2000 first",
            )
        else:
            for r in deg.rows:
                if row_systems.get(r) is None:
                    row_systems[r] = sys_name

    # ---- degrees
    if deg.rows:
        a = np.asarray(deg.a, dtype=np.float64)
        b = np.asarray(deg.b, dtype=np.float64)
        keep = _check_degrees(deg.rows, a, b, pc, china_only=china_only, lon_h=lon_h, lat_h=lat_h,
                              what=what)
        groups: dict[str, list[int]] = {}
        for k, r in enumerate(deg.rows):
            if keep[k]:
                groups.setdefault(row_systems.get(r) or "wgs84", []).append(k)
        for system, ks in groups.items():
            x, y = gc.to_wgs84(a[ks], b[ks], system)
            idx = [pos_of[deg.rows[k]] for k in ks]
            out_lon[idx] = x
            out_lat[idx] = y

    # ---- metres
    if metres.rows:
        for r in metres.rows:
            if row_systems.get(r) in ("gcj02", "bd09"):
                pc.add(
                    f"Gauss-Krüger metres cannot be in {row_systems[r]}, which applies to "
                    "longitude/latitude only",
                    row=r,
                    fix="give longitude/latitude for GCJ-02/BD-09 points, or set the "
                    "coordinate system to cgcs2000 for survey metres",
                )
        _convert_metres(table, metres, crs_obj, crs, pc, out_lon, out_lat, pos_of,
                        china_only=china_only, what=what)
    return out_lon, out_lat


def _row_systems(
    table: RawTable,
    cols: CoordColumns,
    pc: ProblemCollector,
    coords: str | None,
    default_system: str | None,
) -> dict[int, str | None]:
    systems: dict[int, str | None] = {r: default_system for r in table.cells.index}
    if cols.system is None:
        return systems
    header = table.headers[cols.system]
    # The index holds the row numbers a user sees (pandas-stubs: Hashable labels).
    for r, v in table.column(cols.system).items():
        if is_blank(v):
            continue
        try:
            s = gc.normalise_coord_system(cell_text(v))
        except InputError:
            pc.add(
                "unknown coordinate system",
                row=int(cast(int, r)),
                column=header,
                value=cell_text(v),
                fix="write one of wgs84, cgcs2000, gcj02 (高德/腾讯), bd09 (百度); for "
                "Gauss-Krüger metres use easting/northing columns and crs='EPSG:45xx'",
            )
            continue
        if default_system is not None and s != default_system:
            pc.add(
                f"the {header!r} cell says {s} but coords={coords!r} was given",
                row=int(cast(int, r)),
                column=header,
                value=cell_text(v),
                fix="leave coords out to use the column, or correct the cell",
            )
            continue
        systems[int(cast(int, r))] = s
    return systems


def _from_columns(
    table: RawTable,
    cols: CoordColumns,
    pc: ProblemCollector,
    what: str,
    deg: _Pending,
    metres: _Pending,
) -> None:
    def hdr(pos: int | None) -> str:
        return table.headers[pos] if pos is not None else "?"

    lon_s = table.column(cols.lon) if cols.lon is not None else None
    lat_s = table.column(cols.lat) if cols.lat is not None else None
    east_s = table.column(cols.east) if cols.east is not None else None
    north_s = table.column(cols.north) if cols.north is not None else None
    for r in table.cells.index:
        r = int(r)
        pair: list[tuple[int | None, object]]
        use_ll = lon_s is not None and lat_s is not None and not (
            is_blank(lon_s[r]) and is_blank(lat_s[r]) and east_s is not None
            and north_s is not None
        )
        if lon_s is not None and lat_s is not None and use_ll:
            pair = [(cols.lon, lon_s[r]), (cols.lat, lat_s[r])]
        elif east_s is not None and north_s is not None:
            pair = [(cols.east, east_s[r]), (cols.north, north_s[r])]
        else:
            pair = [(cols.lon, None), (cols.lat, None)]
        values: list[float | None] = []
        bad = False
        for pos, v in pair:
            try:
                values.append(parse_degrees(v))
            except ValueError:
                bad = True
                pc.add(
                    "not a number",
                    row=r,
                    column=hdr(pos),
                    value=cell_text(v),
                    fix="give decimal degrees (e.g. 104.61234), degrees-minutes-seconds "
                    "(104°36'44\") or Gauss-Krüger metres",
                )
        if bad:
            continue
        x, y = values
        if x is None or y is None:
            names = "/".join(hdr(p) for p, _ in pair)
            pc.add(
                f"the {what} has no coordinates" if x is None and y is None
                else f"the {what} has only one of its two coordinates",
                row=r,
                column=hdr(pair[0][0] if x is None else pair[1][0]),
                fix=f"fill in {names}",
            )
            continue
        if use_ll and abs(x) <= 1000 and abs(y) <= 1000:
            deg.add(r, x, y)
        elif abs(x) > 1000 and abs(y) > 1000:
            metres.add(r, x, y)
        else:
            pc.add(
                "one coordinate looks like degrees and the other like metres" if use_ll
                else "these look like degrees, not Gauss-Krüger metres",
                row=r,
                column="/".join(hdr(p) for p, _ in pair),
                value=(x, y),
                fix="give both as decimal degrees (经度/纬度) or both as metres (东坐标/北坐标)",
            )


def _point_of(geom: Any) -> tuple[float, float] | str:
    """(x, y) of a geometry used as a point, or the reason it cannot be one."""
    if geom is None or geom.is_empty:
        return "empty geometry"
    gtype = geom.geom_type
    if gtype == "Point":
        return float(geom.x), float(geom.y)
    if gtype == "MultiPoint":
        if len(geom.geoms) == 1:
            p = geom.geoms[0]
            return float(p.x), float(p.y)
        return f"a MultiPoint with {len(geom.geoms)} points"
    if gtype in ("Polygon", "MultiPolygon"):
        p = shapely.point_on_surface(geom)
        return float(p.x), float(p.y)
    return f"a {gtype}, not a point or area"


def _from_geometry(
    table: RawTable,
    crs_obj: pyproj.CRS | None,
    pc: ProblemCollector,
    row_systems: dict[int, str | None],
    deg: _Pending,
    metres: _Pending,
    coords: str | None,
) -> tuple[str, str]:
    geometry = table.geometry
    if geometry is None:
        return "x", "y"
    file_crs = table.crs
    if file_crs is None and crs_obj is not None:
        file_crs = crs_obj  # crs= only fills in a missing CRS; the file's own CRS wins
    rows: list[int] = []
    xs: list[float] = []
    ys: list[float] = []
    for r, geom in geometry.items():
        got = _point_of(geom)
        if isinstance(got, str):
            pc.add(
                f"the feature has {got}" if got == "empty geometry" else f"the feature is {got}",
                row=int(r),
                column="geometry",
                fix="draw the feature as one point (or give it a position) in QGIS",
            )
            continue
        if not (math.isfinite(got[0]) and math.isfinite(got[1])):
            pc.add("the feature's point has non-finite coordinates", row=int(r),
                   column="geometry", value=got, fix="redraw the point")
            continue
        rows.append(int(r))
        xs.append(got[0])
        ys.append(got[1])
    if not rows:
        return "x", "y"
    if file_crs is None:
        # No CRS: judge by magnitude like x/y columns.
        for r, x, y in zip(rows, xs, ys, strict=True):
            if abs(x) <= 1000 and abs(y) <= 1000:
                deg.add(r, x, y)
            elif abs(x) > 1000 and abs(y) > 1000:
                metres.add(r, x, y)
            else:
                pc.add("one coordinate looks like degrees and the other like metres", row=r,
                       column="geometry", value=(x, y),
                       fix="set the layer's CRS in QGIS, or pass crs=")
        return "x", "y"
    epsg = file_crs.to_epsg() if file_crs.is_geographic else None
    if epsg in _GEOGRAPHIC_EPSG_SYSTEM:
        # WGS84/CGCS2000 lon/lat: the declared system (e.g. GCJ-02 picked on Amap) applies.
        for r in rows:
            if row_systems.get(r) is None:
                row_systems[r] = _GEOGRAPHIC_EPSG_SYSTEM[epsg]
        x_arr, y_arr = np.asarray(xs), np.asarray(ys)
    else:
        # Any other CRS (projected, or another datum): GCJ-02/BD-09 cannot apply to it.
        if any(row_systems.get(r) in ("gcj02", "bd09") for r in rows):
            pc.add(
                f"GCJ-02/BD-09 (coords={coords!r} or the 坐标系 column) applies to WGS84/CGCS2000 "
                f"longitude/latitude only, but the layer is "
                f"{'projected' if file_crs.is_projected else 'in another datum'} ({file_crs.to_string()})",
                fix="leave coords out for this layer, or reproject it to EPSG:4326 first",
            )
            return "x", "y"
        x_arr, y_arr = _transform(file_crs, xs, ys)
        for r in rows:
            row_systems[r] = "wgs84"
    deg.rows.extend(rows)
    deg.a.extend(x_arr.tolist())
    deg.b.extend(y_arr.tolist())
    return "x", "y"


def _transform(
    crs: pyproj.CRS, xs: Sequence[float], ys: Sequence[float]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Points in ``crs`` to EPSG:4326 longitude/latitude (always x = longitude)."""
    tr = pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    x, y = tr.transform(np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64))
    return np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)


def _check_degrees(
    rows: list[int],
    lon: NDArray[np.float64],
    lat: NDArray[np.float64],
    pc: ProblemCollector,
    *,
    china_only: bool,
    lon_h: str,
    lat_h: str,
    what: str,
) -> NDArray[np.bool_]:
    """Validate lon/lat pairs; returns the mask of rows without problems."""
    keep = np.ones(len(rows), dtype=bool)
    valid = (np.abs(lon) <= 180) & (np.abs(lat) <= 90)
    swapped_valid = (np.abs(lat) <= 180) & (np.abs(lon) <= 90)
    inside = gc.in_china(lon, lat)
    inside_swapped = gc.in_china(lat, lon)
    swap_hint = f"did you swap {lon_h}/{lat_h}?"
    for k, r in enumerate(rows):
        x, y = float(lon[k]), float(lat[k])
        if x == 0 and y == 0:
            pc.add(
                "coordinates are (0, 0), which usually means a missing position",
                row=r, column=lon_h, value=(x, y), fix=f"fill in the {what}'s real {lon_h}/{lat_h}",
            )
            keep[k] = False
        elif not valid[k]:
            if abs(y) > 90:
                col, val, msg = lat_h, y, f"{y:g} is not a latitude"
            else:
                col, val, msg = lon_h, x, f"{x:g} is not a longitude"
            fix = (
                f"put the longitude (e.g. 104.6) in {lon_h} and the latitude "
                f"(e.g. 26.5) in {lat_h}"
                if swapped_valid[k]
                else "give longitude in -180..180 and latitude in -90..90 decimal degrees"
            )
            if swapped_valid[k]:
                msg += f"; {swap_hint}"
            pc.add(msg, row=r, column=col, value=val, fix=fix)
            keep[k] = False
        elif china_only and not inside[k]:
            if inside_swapped[k]:
                pc.add(
                    f"({x:g}, {y:g}) is outside China, but swapped it is inside; {swap_hint}",
                    row=r, column=lat_h, value=y,
                    fix=f"put the longitude in {lon_h} and the latitude in {lat_h}",
                )
            else:
                pc.add(
                    f"coordinates ({x:g}, {y:g}) are outside China",
                    row=r, column=lon_h, value=(x, y),
                    fix=f"check {lon_h}/{lat_h} (decimal degrees, longitude 73–135, latitude "
                    "18–54 in China); pass china_only=False to load sites elsewhere",
                )
            keep[k] = False
    return keep


def _convert_metres(
    table: RawTable,
    metres: _Pending,
    crs_obj: pyproj.CRS | None,
    crs: str | int | None,
    pc: ProblemCollector,
    out_lon: NDArray[np.float64],
    out_lat: NDArray[np.float64],
    pos_of: dict[int, int],
    *,
    china_only: bool,
    what: str,
) -> None:
    """Convert Gauss-Krüger (or other projected) metres to WGS84, row problems collected."""
    fix_zone = (
        "give crs='EPSG:45xx' (CGCS2000 3-degree Gauss-Krüger: 4513–4533 for 8-digit "
        "eastings with zone prefix, 4534–4554 for 6-digit eastings; e.g. EPSG:4542 for "
        "central meridian 99°E) or use 8-digit eastings with the zone prefix"
    )
    if crs_obj is not None and crs_obj.is_geographic:
        pc.add(
            f"crs={crs!r} is geographic (degrees), but {len(metres.rows)} row(s) hold metres "
            f"(first: row {metres.rows[0]})",
            value=crs,
            fix=fix_zone,
        )
        return
    gk_epsg: int | None = None
    if crs_obj is not None:
        code = crs_obj.to_epsg()
        if code is not None and (4513 <= code <= 4554):
            gk_epsg = code

    groups: dict[object, list[int]] = {}  # zone/epsg/"crs" -> indices into metres
    east_n: list[float] = []
    north_n: list[float] = []
    no_zone: list[int] = []
    for k, (r, a, b) in enumerate(zip(metres.rows, metres.a, metres.b, strict=True)):
        if _is_easting(a) and _is_northing(b):
            e, nn = a, b
        elif _is_easting(b) and _is_northing(a):
            e, nn = b, a  # survey convention: X = northing, Y = easting
        elif crs_obj is not None and gk_epsg is None:
            e, nn = a, b  # another projected CRS: trust the column order
        else:
            pc.add(
                "not Gauss-Krüger metres: expected a 7-digit northing and a 6- or 8-digit "
                "easting",
                row=r,
                value=(a, b),
                fix="check the easting (东坐标, e.g. 35512345.6 or 512345.6) and northing "
                "(北坐标, e.g. 2934567.8) values",
            )
            east_n.append(math.nan)
            north_n.append(math.nan)
            continue
        east_n.append(e)
        north_n.append(nn)
        if crs_obj is not None:
            groups.setdefault("crs", []).append(k)
        elif e >= 10_000_000:
            zone = int(e // 1_000_000)
            if not 25 <= zone <= 45:
                pc.add(
                    f"easting prefix {zone} is not a CGCS2000 3-degree zone of China (25–45)",
                    row=r, value=e, fix=fix_zone,
                )
                continue
            groups.setdefault(zone, []).append(k)
        else:
            no_zone.append(r)
    if no_zone:
        pc.add(
            f"cannot tell the Gauss-Krüger zone: {len(no_zone)} row(s), from this one on, "
            "have 6-digit eastings without the zone prefix",
            row=no_zone[0],
            fix=fix_zone,
        )
    e_arr = np.asarray(east_n, dtype=np.float64)
    n_arr = np.asarray(north_n, dtype=np.float64)
    for key, ks in groups.items():
        try:
            if key == "crs":
                if gk_epsg is not None:
                    x, y = gc.gk_to_wgs84(e_arr[ks], n_arr[ks], epsg=gk_epsg)
                elif crs_obj is not None:
                    x, y = _transform(crs_obj, e_arr[ks].tolist(), n_arr[ks].tolist())
                else:
                    continue
            else:
                x, y = gc.gk_to_wgs84(e_arr[ks], n_arr[ks], zone=int(key))  # type: ignore[call-overload]
        except InputError as exc:
            pc.add(str(exc), row=metres.rows[ks[0]], fix=fix_zone)
            continue
        for j, k in enumerate(ks):
            r = metres.rows[k]
            lon_j, lat_j = float(x[j]), float(y[j])
            if not (math.isfinite(lon_j) and math.isfinite(lat_j)) or (
                china_only and not bool(gc.in_china(lon_j, lat_j))
            ):
                pc.add(
                    f"easting/northing ({e_arr[k]:.10g}, {n_arr[k]:.10g}) convert to "
                    f"({lon_j:.6g}, {lat_j:.6g}), "
                    + ("outside China" if china_only else "not a valid position"),
                    row=r,
                    value=(float(e_arr[k]), float(n_arr[k])),
                    fix="check the values and the zone (crs='EPSG:45xx' or the easting's "
                    "zone prefix)",
                )
                continue
            out_lon[pos_of[r]] = lon_j
            out_lat[pos_of[r]] = lat_j
