"""The out-migration ledger's files: its optional parcel columns read, ``land_ledger.csv`` written.

A county's parcel layer may carry its 迁出地台账 as columns (:data:`LEDGER_FIELDS`): the status
(旧房拆除 / 宅基地复垦复绿 / 待处理, or demolished / reclaimed / pending), the reclaimed area
and the 增减挂钩 节余指标.  Headers are found in Chinese or English, with the unit in the
header (``复垦面积(亩)``, ``quota_m2``, ``节余指标(公顷)``: 平方米/m², 亩/mu, 公顷/ha; m²
when none); :func:`read_ledger_columns` turns them into :data:`analysis.ledger.LEDGER_INPUT_COLUMNS`
(status codes, m²), every bad cell reported with its row, column and value.
:func:`write_ledger_csv` writes :func:`analysis.ledger.ledger_table` with Chinese (or English)
headers.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.ledger import LEDGER_COLUMNS, LEDGER_STATUSES, ledger_status
from anzhi.core.errors import ProblemCollector
from anzhi.core.files import atomic_write
from layers.cells import cell_text, is_blank, parse_number, shown
from layers.export import csv_safe

__all__ = [
    "M2_PER_HA",
    "M2_PER_MU",
    "LEDGER_FIELDS",
    "LEDGER_HEADERS",
    "read_ledger_columns",
    "ledger_csv_frame",
    "write_ledger_csv",
]

#: m² per 公顷 (hectare) and per 亩 (1 亩 = 1/15 公顷 ≈ 666.67 m²).
M2_PER_HA: float = 10_000.0
M2_PER_MU: float = M2_PER_HA / 15

#: Ledger columns of a parcel layer: canonical name → the header names (without a unit)
#: that give it, Chinese and English.
LEDGER_FIELDS: dict[str, tuple[str, ...]] = {
    "ledger_status": ("ledger_status", "demolition_status", "reclamation_status", "台账状态",
                      "拆旧复垦状态", "拆旧复垦", "处置状态", "拆复垦状态", "旧房拆除状态", "复垦状态"),
    "reclaimed_m2": ("reclaimed", "reclaimed_area", "复垦面积", "复垦复绿面积", "宅基地复垦面积",
                     "宅基地复垦复绿面积", "已复垦面积"),
    "quota_m2": ("quota", "surplus_quota", "节余指标", "增减挂钩节余指标", "节余指标面积",
                 "挂钩节余指标"),
}
_UNITS: dict[str, float] = {"": 1.0, "平方米": 1.0, "m2": 1.0, "亩": M2_PER_MU, "mu": M2_PER_MU,
                            "公顷": M2_PER_HA, "ha": M2_PER_HA}
_STATUS_HELP = ", ".join(f"{s.zh} ({s.code})" for s in LEDGER_STATUSES)

#: Headers of the ledger (land_ledger.csv and the 迁出地台账 sheet), ``column: (中文, English)``.
LEDGER_HEADERS: dict[str, tuple[str, str]] = {
    "parcel_id": ("地块编号", "Parcel ID"), "village": ("村", "Village"),
    "household_id": ("户编号", "Household ID"), "land_use": ("地类", "Land use"),
    "status": ("台账状态", "Ledger status"), "area_m2": ("面积(平方米)", "Area (m²)"),
    "area_gt25_m2": ("坡度>25°面积(平方米)", "Area > 25° (m²)"),
    "reclaimed_m2": ("复垦复绿面积(平方米)", "Reclaimed area (m²)"),
    "quota_m2": ("增减挂钩节余指标(平方米)", "Surplus quota (m²)"),
    "next_step": ("下一步", "Next step"), "basis": ("依据", "Basis"),
}


def _norm(text: str) -> str:
    """A header as compared: NFKC, no spaces, ``_`` or ``-``, case folded."""
    return re.sub(r"[\s_\-]+", "", unicodedata.normalize("NFKC", text)).casefold()


_NAMES: dict[str, str] = {_norm(n): f for f, names in LEDGER_FIELDS.items() for n in names}


def _header(name: object) -> tuple[str, float] | None:
    """``(field, m² per unit)`` of a header that names a ledger field, else None."""
    s = "".join(unicodedata.normalize("NFKC", str(name)).split()).replace("²", "2")
    unit = ""
    if m := re.fullmatch(r"(.+?)\((.*)\)", s):
        s, unit = m.group(1), m.group(2).casefold()
    elif m := re.fullmatch(r"(.+?)_(m2|mu|ha)", s, flags=re.I):
        s, unit = m.group(1), m.group(2).casefold()
    field = _NAMES.get(_norm(s))
    if field is None:
        return None
    if field == "ledger_status":
        return (field, 1.0) if unit == "" else None
    factor = _UNITS.get(unit)
    return None if factor is None else (field, factor)


def read_ledger_columns(frame: pd.DataFrame, pc: ProblemCollector
                        ) -> tuple[pd.DataFrame, list[str]] | None:
    """The ledger columns of a parcel layer, read; None when it has none.

    Parameters
    ----------
    frame
        The parcel layer as read (original headers).
    pc
        Collects the problems (the caller raises them with its own).

    Returns
    -------
    tuple or None
        ``(ledger, source columns)``: ``ledger`` indexed like ``frame`` with
        :data:`analysis.ledger.LEDGER_INPUT_COLUMNS` (status code or None, areas in m² or
        NaN; a field the layer lacks is all blank), and the headers it was read from (to
        drop from the layer).  Problems: two columns for one field, a status no
        :data:`analysis.ledger.LEDGER_STATUSES` word names, an area that is not a number
        >= 0, an area or quota on a row with no status (row numbers count features from 1).
    """
    found: dict[str, tuple[str, float]] = {}
    for col in frame.columns:
        hit = _header(col)
        if hit is None:
            continue
        if hit[0] in found:
            pc.add(f"two columns give the ledger's {hit[0]}: {found[hit[0]][0]!r} and {col!r}",
                   column=str(col), fix="keep one of them")
            continue
        found[hit[0]] = (str(col), hit[1])
    if not found:
        return None
    n = len(frame)
    status: list[str | None] = [None] * n
    values = {f: np.full(n, np.nan) for f in ("reclaimed_m2", "quota_m2")}
    if "ledger_status" in found:
        col = found["ledger_status"][0]
        for i, v in enumerate(frame[col].tolist()):
            if is_blank(v):
                continue
            s = ledger_status(cell_text(v))
            if s is None:
                pc.add("unknown ledger status", row=i + 1, column=col, value=shown(v),
                       fix=f"use one of: {_STATUS_HELP}")
            else:
                status[i] = s.code
    for f in ("reclaimed_m2", "quota_m2"):
        if f not in found:
            continue
        col, factor = found[f]
        for i, v in enumerate(frame[col].tolist()):
            try:
                x = parse_number(v)
            except ValueError:
                pc.add("not a number", row=i + 1, column=col, value=shown(v),
                       fix="give the area as a number (the unit is in the header)")
                continue
            if x is None:
                continue
            if x < 0:
                pc.add("a negative area", row=i + 1, column=col, value=shown(v), fix="give an area >= 0")
                continue
            values[f][i] = x * factor
            if "ledger_status" in found and is_blank(frame[found["ledger_status"][0]].iloc[i]):
                pc.add("an area or quota on a parcel with no ledger status", row=i + 1, column=col,
                       value=shown(v), fix=f"fill in its status ({_STATUS_HELP})")
    if "ledger_status" not in found:
        pc.add("ledger columns without a status column",
               column=", ".join(c for c, _ in found.values()),
               fix=f"add a status column (状态 / ledger_status: {_STATUS_HELP})")
    ledger = pd.DataFrame({"ledger_status": pd.Series(status, index=frame.index, dtype=object),
                           **{f: pd.Series(v, index=frame.index) for f, v in values.items()}})
    return ledger, [c for c, _ in found.values()]


def ledger_csv_frame(ledger: pd.DataFrame, *, lang: str = "zh") -> pd.DataFrame:
    """The ledger as land_ledger.csv holds it: headers and texts in ``lang``, m² in full.

    Each column ``X`` with an English twin ``X_en`` shows ``X_en`` in English; headers are
    :data:`LEDGER_HEADERS`.
    """
    li = 0 if lang == "zh" else 1
    cols = [c for c in LEDGER_COLUMNS if c in ledger.columns and not
            (c.endswith("_en") and c[:-3] in ledger.columns)]
    out = pd.DataFrame({
        LEDGER_HEADERS.get(c, (c, c))[li]:
            ledger[f"{c}_en" if li and f"{c}_en" in ledger.columns else c].to_numpy()
        for c in cols})
    return out


def write_ledger_csv(ledger: pd.DataFrame, path: str | Path, *, lang: str = "zh") -> Path:
    """Write ``land_ledger.csv`` (UTF-8 with BOM, atomically): :func:`ledger_csv_frame`."""
    frame = csv_safe(ledger_csv_frame(ledger, lang=lang))
    return atomic_write(Path(path), lambda t: frame.to_csv(t, index=False, encoding="utf-8-sig"))
