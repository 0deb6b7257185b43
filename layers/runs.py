"""Earlier runs read back for a comparison (与上次比较): an ``anzhi gaps`` output folder, or
its ``gaps.csv`` or ``gaps.xlsx``.

:func:`read_run` reads what ``anzhi gaps`` wrote: its output folder, or the ``gaps.csv`` or
``gaps.xlsx`` of one.  From a folder it reads ``gaps.csv`` (exact values, fast), else
``gaps.xlsx``, plus every site id from ``access.csv`` (a site no rule applies to has no gap
row) and the rule set from the workbook's rules sheet (its rules, the rule set's name and
version and the thresholds changed for the run).  The workbook's gap sheet is recognised by
its headers, Chinese (缺口清单) or English (``--lang en``), in any column order; statuses and
facility types are read back from their labels.  A ``gaps.csv`` saved again by Excel (GBK
encoding) is read as well.

The comparison itself is :func:`analysis.diff.compare` (:func:`compare_runs` reads and
compares); :mod:`layers.diff` writes it.
"""

from __future__ import annotations

import html
import posixpath
import re
import zipfile
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from openpyxl.utils import get_column_letter

from anzhi.core.errors import DataSourceError, InputError, Problem
from anzhi.core.settings import get_settings
from anzhi.core.vocabulary import normalise_facility_type
from analysis.diff import RunDiff, compare
from analysis.statuses import STATUSES
from layers.export import FORMULA_STARTS, GAPS_XLSX_HEADERS, STATUS_LABELS
from layers.guard import too_big
from layers.sheets import sheet_title

__all__ = ["Run", "RunComparison", "read_run", "compare_runs"]

#: Gap-table columns read back; the last two may be absent.
_READ: tuple[str, ...] = ("site_id", "site_name", "county", "township", "population",
                          "facility_type", "rule_id", "status", "nearest_facility_id", "dist_m")
_REQUIRED: tuple[str, ...] = _READ[:8]
#: Columns that tell the gap sheet from the 一点一策 sheet (same ids, rules and statuses).
_GAP_SHEET_ONLY: tuple[str, ...] = ("households", "reason")
_FIX_RUN = ("give the output folder of `anzhi gaps`, or its gaps.csv or gaps.xlsx")


def _fold(text: object) -> str:
    return "".join(str(text).split()).casefold()


#: Header (folded: key, Chinese or English of gaps.xlsx) -> gap-table column.
_HEADER_KEYS: dict[str, str] = {
    _fold(h): key for key, pair in GAPS_XLSX_HEADERS.items() for h in (key, *pair)}
#: Status (key, Chinese or English label of gaps.xlsx, folded) -> status key.
_STATUS_KEYS: dict[str, str] = {
    _fold(h): key for key, pair in STATUS_LABELS.items() for h in (key, *pair)}
#: Headers of the rules sheet of gaps.xlsx (``layers.export``) that are read here.
_RULES_SHEET_HEAD: tuple[tuple[str, str], ...] = (("规则", "名称"), ("rule", "name"))
_RULES_SHEET_COLUMNS: dict[str, str] = {
    "本次调整": "overridden", "changedforthisrun": "overridden",
    "规则集": "rule_set", "ruleset": "rule_set"}


@dataclass(frozen=True)
class Run:
    """One earlier run, read back by :func:`read_run`.

    Attributes
    ----------
    gaps
        Its gap table: ``site_id``, ``site_name``, ``county``, ``township`` (text),
        ``population`` (people, float), ``facility_type`` (key), ``rule_id``, ``status``
        (:data:`analysis.statuses.STATUSES`), ``nearest_facility_id`` and ``dist_m`` (m).
    source
        The file the gap table came from.
    files
        Every file read (for :func:`anzhi.core.files.check_outputs_apart`).
    site_ids
        Every site of the run (``access.csv``), None when unknown.
    rule_ids
        Every rule of its rule set, in order (rules sheet of ``gaps.xlsx``), None when unknown.
    rule_set
        ``"<name> <version>"`` of the rule set, None when unknown.
    overrides
        Thresholds changed for the run, ``"<rule id>: <field>=<value>"``.
    """

    gaps: pd.DataFrame
    source: Path
    files: tuple[Path, ...] = ()
    site_ids: tuple[str, ...] | None = None
    rule_ids: tuple[str, ...] | None = None
    rule_set: str | None = None
    overrides: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """How messages name the run: the path of its gap file."""
        return str(self.source)

    @property
    def n_sites(self) -> int:
        """Sites of the run (``site_ids``, else the sites of the gap table)."""
        ids = self.site_ids if self.site_ids is not None else ()
        return len(set(ids) | set(self.gaps["site_id"]))


@dataclass(frozen=True)
class RunComparison:
    """Two runs and their comparison (:func:`compare_runs`)."""

    old: Run
    new: Run
    diff: RunDiff


# --------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------


def _gap_file(path: Path) -> tuple[Path, Path | None, Path | None]:
    """The gap file to read, the access.csv and gaps.xlsx beside it (folders only)."""
    if not path.exists():
        raise InputError(Problem("no such file or folder", file=str(path), fix=_FIX_RUN))
    if path.is_dir():
        csv, xlsx, access = path / "gaps.csv", path / "gaps.xlsx", path / "access.csv"
        if not csv.is_file() and not xlsx.is_file():
            raise InputError(Problem("the folder holds neither gaps.csv nor gaps.xlsx",
                                     file=str(path), fix=_FIX_RUN))
        return ((csv if csv.is_file() else xlsx), access if access.is_file() else None,
                xlsx if xlsx.is_file() else None)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise InputError(Problem(f"cannot read a run from a {suffix or 'suffix-less'} file",
                                 file=str(path), value=path.name, fix=_FIX_RUN))
    return path, None, path if suffix == ".xlsx" else None


def _columns(headers: Sequence[object]) -> dict[str, int]:
    """Gap-table column -> position, from headers (keys, Chinese or English); first wins."""
    out: dict[str, int] = {}
    for pos, h in enumerate(headers):
        key = _HEADER_KEYS.get(_fold(h)) if h is not None else None
        if key is not None and key not in out:
            out[key] = pos
    return out


def _missing(found: dict[str, int], file: str, headers: Sequence[object]) -> None:
    missing = [c for c in _REQUIRED if c not in found]
    if missing:
        shown = ", ".join(str(h) for h in headers if h is not None)
        raise InputError([Problem(
            f"no {c} column ({' / '.join(GAPS_XLSX_HEADERS[c])})", file=file, column=c,
            fix=f"{_FIX_RUN} (columns now: {shown})") for c in missing])


def _cell_text(v: Any) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))  # an id that Excel turned into a number
    return str(v).strip()


def _text(values: Sequence[Any]) -> list[str]:
    """Cell values as text: blanks "", whole numbers without ``.0``; text as it is."""
    return [v if type(v) is str else _cell_text(v) for v in values]


def _unguard(values: list[str]) -> list[str]:
    """Undo the ``'`` that gaps.csv puts before text starting like a formula (``'=x`` -> ``=x``)."""
    return [v[1:] if v[:1] == "'" and v[1:2] in FORMULA_STARTS and v[1:2] else v
            for v in values]


def _keys(col: pd.Series, table: dict[str, str] | None, what: str, file: str,
          rows: np.ndarray, fix: str) -> pd.Series:
    """Statuses (``table``) or facility types (``table`` None) as keys; unknown ones raise."""
    uniq = pd.unique(col)
    mapping: dict[str, str | None] = {}
    for v in uniq:
        mapping[v] = (table.get(_fold(v)) if table is not None
                      else normalise_facility_type(v) if v else None)
    bad = [v for v, k in mapping.items() if k is None]
    if bad:
        problems = []
        for v in bad[:20]:
            first = int(rows[np.flatnonzero(col.to_numpy() == v)[0]])
            problems.append(Problem(f"unknown {what}", file=file, row=first, column=what,
                                    value=v, fix=fix))
        raise InputError(problems)
    return col.map(mapping)


def _normalised(cols: dict[str, list[Any] | pd.Series], file: str, rows: np.ndarray,
                *, guarded: bool) -> pd.DataFrame:
    """The read columns as the gap frame of :class:`Run` (keys, numbers, text)."""
    out = pd.DataFrame(index=pd.RangeIndex(len(rows)))
    for c in ("site_id", "site_name", "county", "township", "facility_type", "rule_id",
              "status", "nearest_facility_id"):
        raw = cols.get(c)
        text = (_text(raw.tolist() if isinstance(raw, pd.Series) else raw) if raw is not None
                else [""] * len(rows))
        out[c] = pd.Series(_unguard(text) if guarded else text, dtype=object)
    out["status"] = _keys(out["status"], _STATUS_KEYS, "status", file, rows,
                          f"statuses are {', '.join(STATUSES)} (or their labels in gaps.xlsx)")
    out["facility_type"] = _keys(out["facility_type"], None, "facility_type", file, rows,
                                 "a facility type key or label (docs/schemas.md)")
    for c in ("population", "dist_m"):
        raw = cols.get(c)
        out[c] = (pd.to_numeric(pd.Series(list(raw)), errors="coerce").astype(float)
                  if raw is not None else np.nan)
    return out


def _read_gaps_csv(p: Path) -> pd.DataFrame:
    """gaps.csv (UTF-8 with or without BOM, or GBK/GB18030 as Excel saves it again), read by
    pyarrow's csv reader: the wanted columns only, every cell as text."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    for enc in ("utf8", "gb18030"):
        try:
            opts = pacsv.ReadOptions(encoding=enc)
            with pacsv.open_csv(p, read_options=opts) as reader:
                head = list(reader.schema.names)
            found = _columns(head)
            _missing(found, p.name, head)
            names = [head[i] for c, i in found.items() if c in _READ]
            table = pacsv.read_csv(p, read_options=opts, convert_options=pacsv.ConvertOptions(
                include_columns=names, column_types={n: pa.string() for n in names},
                strings_can_be_null=False, quoted_strings_can_be_null=False))
            break
        except pa.ArrowInvalid as exc:
            if "UTF8" in str(exc) or "utf-8" in str(exc).lower():
                continue
            raise DataSourceError(f"{p}: cannot read as a csv table ({exc})") from exc
        except OSError as exc:
            raise DataSourceError(f"{p}: cannot read ({exc})") from exc
    else:
        raise DataSourceError(f"{p}: neither UTF-8 nor GB18030 text; save it again as "
                              "CSV UTF-8")
    cols = {c: table.column(head[i]).to_pylist() for c, i in found.items() if c in _READ}
    return _normalised(cols, p.name, np.arange(2, table.num_rows + 2), guarded=True)


#: Pieces of the SpreadsheetML of a worksheet (any namespace prefix): rows, cells, texts.
_ROW = re.compile(r"<(?:\w+:)?row\b([^>]*?)(?:/>|>(.*?)</(?:\w+:)?row>)", re.S)
_CELL = re.compile(r"<(?:\w+:)?c\b([^>]*?)(?:/>|>(.*?)</(?:\w+:)?c>)", re.S)
_REF = re.compile(r'\br="([A-Z]*)(\d*)"')
_TYPE = re.compile(r'\bt="(\w+)"')
_ROW_NO = re.compile(r'\br="(\d+)"')
_HEAD_ROW = re.compile(r'<(?:\w+:)?row\b[^>]*?\br="(\d+)"')
_T = re.compile(r"<(?:\w+:)?t\b[^>]*>(.*?)</(?:\w+:)?t>", re.S)
_V = re.compile(r"<(?:\w+:)?v>(.*?)</(?:\w+:)?v>", re.S)
_PHONETIC = re.compile(r"<(?:\w+:)?rPh\b.*?</(?:\w+:)?rPh>", re.S)
_SI = re.compile(r"<(?:\w+:)?si\b[^>]*?(?:/>|>(.*?)</(?:\w+:)?si>)", re.S)
_FIRST_ROW_END = re.compile(rb"</(?:\w+:)?row>|<(?:\w+:)?row\b[^>]*/>|</(?:\w+:)?sheetData>")
_REL_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"


def _xml_text(parts: Sequence[str]) -> str:
    text = "".join(parts)
    return html.unescape(text) if "&" in text else text


def _column_number(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n - 1


class _Workbook:
    """An xlsx read straight from its zip (SpreadsheetML): sheet names, the first row of a
    sheet without reading the rest, and the rows of a sheet.

    openpyxl's read-only mode parses every worksheet once just to size it when a workbook is
    opened (Anzhi's write-only sheets carry no dimension), ~20 s for a 5,000-site gaps.xlsx;
    here a sheet is read only when asked for, and only its wanted columns are decoded.
    """

    def __init__(self, p: Path) -> None:
        self.path = p
        limit = get_settings().max_decompressed_bytes
        fix = "open it in Excel/WPS and save it again as .xlsx"
        try:
            self.zf = zipfile.ZipFile(p)
        except (OSError, zipfile.BadZipFile) as exc:
            raise DataSourceError(f"{p}: cannot read as an Excel workbook ({exc}); {fix}"
                                  ) from exc
        total = sum(i.file_size for i in self.zf.infolist())
        if total > limit:
            self.zf.close()
            raise too_big(p.name, f"the workbook expands to {total:,} bytes",
                          "max_decompressed_bytes", limit, " bytes")
        try:
            self.parts = self._sheet_parts()
            self.shared = self._shared_strings()
        except (OSError, zipfile.BadZipFile, KeyError, ET.ParseError, ValueError,
                UnicodeDecodeError) as exc:
            self.zf.close()
            raise DataSourceError(f"{p}: cannot read as an Excel workbook ({exc}); {fix}"
                                  ) from exc
        self.sheetnames = list(self.parts)

    def _rels(self, part: str) -> dict[str, tuple[str, str]]:
        """Relationship id -> (type, part name) of ``part``."""
        folder, name = posixpath.split(part)
        root = ET.fromstring(self.zf.read(posixpath.join(folder, "_rels", name + ".rels")))
        out = {}
        for rel in root:
            target = rel.get("Target", "")
            path = (target.lstrip("/") if target.startswith("/")
                    else posixpath.normpath(posixpath.join(folder, target)))
            out[rel.get("Id", "")] = (rel.get("Type", ""), path)
        return out

    def _sheet_parts(self) -> dict[str, str]:
        top = self._rels("")
        self.book = next((p for t, p in top.values() if t.endswith("/officeDocument")),
                         "xl/workbook.xml")
        rels = self._rels(self.book)
        root = ET.fromstring(self.zf.read(self.book))
        return {el.get("name", ""): rels[el.get(_REL_NS, "")][1]
                for el in root.iter() if el.tag.rsplit("}", 1)[-1] == "sheet"}

    def _shared_strings(self) -> list[str]:
        part = next((p for t, p in self._rels(self.book).values()
                     if t.endswith("/sharedStrings")), None)
        if part is None or part not in self.zf.namelist():
            return []
        text = self.zf.read(part).decode("utf-8")
        return [_xml_text(_T.findall(_PHONETIC.sub("", body or ""))) for body in
                _SI.findall(text)]

    def _value(self, attrs: str, body: str | None) -> Any:
        if not body:
            return None
        kind = _TYPE.search(attrs) if 't="' in attrs else None
        t = kind.group(1) if kind else "n"
        if t == "inlineStr":
            if body.startswith("<is><t>") and body.endswith("</t></is>"):
                inner = body[7:-9]
                if "<" not in inner:
                    return html.unescape(inner) if "&" in inner else inner
            return _xml_text(_T.findall(_PHONETIC.sub("", body)))
        v = _V.search(body)
        if v is None:
            return None
        raw = v.group(1)
        if t == "s":
            return self.shared[int(raw)]
        if t in ("str", "e", "d"):
            return _xml_text([raw])
        if t == "b":
            return raw.strip() == "1"
        return float(raw)

    def _rows(self, text: str, columns: set[int] | None) -> Iterator[tuple[int, dict[int, Any]]]:
        """(sheet row number, {column: value}) of each row of the sheet XML ``text``."""
        row_no = 0
        for row_attrs, row_body in _ROW.findall(text):
            m = _ROW_NO.search(row_attrs)
            row_no = int(m.group(1)) if m else row_no + 1
            cells: dict[int, Any] = {}
            col = -1
            for attrs, body in _CELL.findall(row_body or ""):
                ref = _REF.search(attrs)
                col = _column_number(ref.group(1)) if ref and ref.group(1) else col + 1
                if columns is None or col in columns:
                    v = self._value(attrs, body)
                    if v is not None:
                        cells[col] = v
            yield row_no, cells

    def head(self, name: str) -> list[Any]:
        """The first row of sheet ``name`` (the beginning of its XML only is read)."""
        data = b""
        with self.zf.open(self.parts[name]) as fh:
            while True:
                chunk = fh.read(1 << 16)
                data += chunk
                m = _FIRST_ROW_END.search(data)
                if m or not chunk:
                    break
        end = m.end() if m else len(data)
        for _row_no, cells in self._rows(data[:end].decode("utf-8", "replace"), None):
            return [cells.get(i) for i in range(max(cells, default=-1) + 1)]
        return []

    def rows(self, name: str, columns: Sequence[int]) -> tuple[list[int], list[list[Any]]]:
        """Row numbers and values (at ``columns``) of the rows of sheet ``name`` below its
        first row; blank rows left out."""
        text = self.zf.read(self.parts[name]).decode("utf-8")
        k = len(columns)
        by_row: dict[int, list[Any]] = {}
        cells = self._wanted_cells(text, columns)
        if cells is None:  # cells without a leading r="A1": read every row and cell
            for row_no, got in self._rows(text, set(columns)):
                if got:
                    by_row[row_no] = [got.get(c) for c in columns]
        else:
            shared = self.shared
            for pos, row, t, attrs, body in cells:
                # the common cells inline: a number, a shared or an inline string
                if not body:
                    continue
                if not attrs and body[:3] == "<v>" and body[-4:] == "</v>":
                    raw = body[3:-4]
                    v = shared[int(raw)] if t == "s" else float(raw) if t in ("", "n") else \
                        self._value(f' t="{t}"', body)
                elif t == "inlineStr" and not attrs and body[:7] == "<is><t>" \
                        and body[-9:] == "</t></is>" and "<" not in body[7:-9]:
                    v = body[7:-9]
                    v = html.unescape(v) if "&" in v else v
                else:
                    v = self._value(f'{attrs} t="{t}"' if t else attrs, body)
                if v is not None:
                    r = int(row)
                    vals = by_row.get(r)
                    if vals is None:
                        vals = by_row[r] = [None] * k
                    vals[pos] = v
        head = _HEAD_ROW.search(text)  # the first row, the header
        numbers = sorted(r for r in by_row if r > (int(head.group(1)) if head else 1))
        return numbers, [by_row[r] for r in numbers]

    @staticmethod
    def _wanted_cells(text: str, columns: Sequence[int]
                      ) -> list[tuple[int, str, str, str, str]] | None:
        """(position in ``columns``, row, type, other attributes, body) of the cells in
        ``columns``, found by their ``r="B7"`` reference written first in the cell (then the
        style and the type), as Excel, WPS, LibreOffice and openpyxl write it; None when the
        sheet's cells are written otherwise."""
        letters = {get_column_letter(c + 1): i for i, c in enumerate(columns)}
        alternatives = "|".join(sorted(letters, key=len, reverse=True))
        pattern = re.compile(r'<(?:\w+:)?c r="(' + alternatives + r')(\d+)"(?: s="\d+")?'
                             r'(?: t="(\w+)")?([^>]*?)(?:/>|>(.*?)</(?:\w+:)?c>)', re.S)
        found = pattern.findall(text)
        if not found and _CELL.search(text) and not re.search(r'<(?:\w+:)?c r="', text):
            return None
        return [(letters[c], r, t, a.strip(), b) for c, r, t, a, b in found]

    def close(self) -> None:
        self.zf.close()


def _read_gaps_sheets(wb: _Workbook, p: Path) -> pd.DataFrame:
    """The gap sheet of gaps.xlsx (缺口清单 or Gaps, and its continuations ``… (2)``)."""
    title, found = None, {}
    for name in wb.sheetnames:
        found = _columns(wb.head(name))
        if all(c in found for c in (*_REQUIRED, *_GAP_SHEET_ONLY)):
            title = name
            break
    if title is None:
        raise InputError(Problem(
            "no sheet with the gap list (缺口清单 / Gaps: 安置点编号, 规则, 状态, 户数, 原因 …)",
            file=p.name, value=list(wb.sheetnames), fix=_FIX_RUN))
    keys = [c for c in _READ if c in found]
    positions = [found[c] for c in keys]
    numbers: list[int] = []
    rows: list[list[Any]] = []
    used = {title}
    name = title
    while name in wb.sheetnames and _columns(wb.head(name)) == found:
        got_numbers, got = wb.rows(name, positions)
        numbers += got_numbers
        rows += got
        name = sheet_title(title, used)  # the next sheet of a table too long for one
        used.add(name)
    cols: dict[str, list[Any]] = {c: [r[k] for r in rows] for k, c in enumerate(keys)}
    return _normalised(cols, f"{p.name} ({title})", np.asarray(numbers, dtype=np.int64),
                       guarded=False)


def _read_rules_sheet(wb: _Workbook) -> tuple[tuple[str, ...] | None, str | None,
                                              tuple[str, ...]]:
    """Rule ids, rule set and overrides from the rules sheet of gaps.xlsx (None if absent)."""
    for name in wb.sheetnames:
        head = [_fold(h) if h is not None else "" for h in wb.head(name)]
        if tuple(head[:2]) not in _RULES_SHEET_HEAD:
            continue
        pos = {_RULES_SHEET_COLUMNS[h]: i for i, h in enumerate(head)
               if h in _RULES_SHEET_COLUMNS}
        keys = list(pos)
        _, rows = wb.rows(name, [0, *pos.values()])
        ids: list[str] = []
        rule_set: str | None = None
        over: list[str] = []
        for r in rows:
            rid, *rest = _text(r)
            if not rid:
                continue
            ids.append(rid)
            cells = dict(zip(keys, rest, strict=True))
            rule_set = rule_set or cells.get("rule_set") or None
            if cells.get("overridden"):
                over.append(f"{rid}: {cells['overridden']}")
        return tuple(ids), rule_set, tuple(over)
    return None, None, ()


def _access_sites(p: Path) -> tuple[str, ...] | None:
    """Every site id of access.csv (None when it has no site_id column)."""
    try:
        df = pd.read_csv(p, usecols=lambda c: c == "site_id", dtype=str,
                         keep_default_na=False, encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError, ValueError, pd.errors.ParserError) as exc:
        raise DataSourceError(f"{p}: cannot read the site ids ({exc})") from exc
    if "site_id" not in df.columns:
        return None
    return tuple(pd.unique(np.asarray(_unguard(df["site_id"].tolist()), dtype=object)))


def read_run(path: str | Path) -> Run:
    """Read an earlier run: an ``anzhi gaps`` output folder, or its gaps.csv or gaps.xlsx.

    Parameters
    ----------
    path
        The output folder (``gaps.csv`` read when present, else ``gaps.xlsx``; the site ids
        of ``access.csv`` and the rules sheet of ``gaps.xlsx`` when present), or the
        ``gaps.csv`` or ``gaps.xlsx`` itself.

    Returns
    -------
    Run
        The gap table with keys for statuses and facility types, and what is known of the
        run's sites and rules.

    Raises
    ------
    InputError
        No such path, a folder without gap files, a file that is not csv/xlsx, missing
        columns (naming those found), unknown statuses or facility types (with the row),
        a workbook without a gap sheet, or one expanding beyond ``max_decompressed_bytes``.
    DataSourceError
        A file that cannot be read at all.
    """
    p = Path(path).expanduser()
    gap_file, access, xlsx = _gap_file(p)
    files = [f for f in (gap_file, access, xlsx) if f is not None]
    rule_ids: tuple[str, ...] | None = None
    rule_set: str | None = None
    overrides: tuple[str, ...] = ()
    gaps: pd.DataFrame | None = None
    if xlsx is not None:
        wb = _Workbook(xlsx)
        try:
            rule_ids, rule_set, overrides = _read_rules_sheet(wb)
            if gap_file == xlsx:
                gaps = _read_gaps_sheets(wb, xlsx)
        finally:
            wb.close()
    if gaps is None:
        gaps = _read_gaps_csv(gap_file)
    return Run(gaps=gaps, source=gap_file, files=tuple(dict.fromkeys(files)),
               site_ids=_access_sites(access) if access is not None else None,
               rule_ids=rule_ids, rule_set=rule_set, overrides=overrides)


def compare_runs(old: str | Path | Run, new: str | Path | Run, *,
                 check_ids: bool = True) -> RunComparison:
    """Read two runs (unless given as :class:`Run`) and compare them (:func:`analysis.diff.compare`).

    Raises
    ------
    InputError
        As :func:`read_run` and :func:`analysis.diff.compare` (sites identified by different
        id columns, naming both files).
    """
    a = old if isinstance(old, Run) else read_run(old)
    b = new if isinstance(new, Run) else read_run(new)
    diff = compare(a.gaps, b.gaps, old_sites=a.site_ids, new_sites=b.site_ids,
                   old_rules=a.rule_ids, new_rules=b.rule_ids, old_label=a.label,
                   new_label=b.label, check_ids=check_ids)
    return RunComparison(old=a, new=b, diff=diff)
