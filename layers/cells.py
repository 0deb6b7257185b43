"""Single cells of a site or facility table: blanks, numbers, degrees, yes/no, text.

Also the two things about an xlsx sheet's cells that read-only openpyxl does not show, read
from the sheet's XML: merged ranges and formulas without a saved value.

Used by :mod:`layers.tables`, :mod:`layers.points` and the readers of :mod:`layers.sites` and
:mod:`layers.facilities`.  Every parser takes a cell as read (a number, a text, None or NaN)
and raises :class:`ValueError` for a value it cannot read; the readers turn that into a
problem with the row, column, value and fix.
"""

from __future__ import annotations

import math
import re
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd

__all__ = [
    "UnsavedFormula",
    "UNSAVED_FORMULA_FIX",
    "is_blank",
    "parse_number",
    "parse_degrees",
    "parse_yes_no",
    "YES_NO_HELP",
    "cell_text",
    "shown",
    "id_text",
    "sheet_marks",
    "fill_merged",
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


def sheet_marks(p: Path, member: str | None) -> tuple[list[str], list[tuple[int, int, str]]]:
    """Merged ranges (``"A3:A7"``) and formulas without a saved value (row, column, formula,
    both 1-based) of one sheet, from its XML: read-only openpyxl shows neither."""
    from openpyxl.utils import column_index_from_string

    if not member:
        return [], []
    try:
        with zipfile.ZipFile(p) as zf:
            data = zf.read(member.lstrip("/"))
    except (OSError, KeyError, zipfile.BadZipFile):
        return [], []
    merged = [m.decode() for m in _MERGE_RE.findall(data)]
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
