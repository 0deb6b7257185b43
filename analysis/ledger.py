"""The out-migration ledger (迁出地台账): old houses pulled down, house plots reclaimed, quotas.

Guizhou 2019 三(二)9 asks to "稳步推进搬迁户旧房拆除和宅基地复垦复绿工作,用好用足城乡建设用地增减
挂钩政策" and Dazhou 2019 二(二)4 for "拆旧复垦、节余指标收集、增减挂钩台账建立、申报验收": a ledger of
each household's parcels, where each stands (:data:`LEDGER_STATUSES`: 旧房拆除 demolished,
宅基地复垦复绿 reclaimed, 待处理 pending), its area and the 增减挂钩 节余指标 (surplus
construction-land quota) it yields.  Counties keep these as columns of their parcel layer;
``layers.ledger`` reads them, :func:`ledger_table` makes the ledger and :func:`ledger_totals`
its sums.  Pure: frames in, frames out.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.land import basis_text
from anzhi.core.errors import InputError, ProblemCollector

__all__ = [
    "LedgerStatus",
    "LEDGER_STATUSES",
    "LEDGER_INPUT_COLUMNS",
    "LEDGER_COLUMNS",
    "LEDGER_TOTAL_COLUMNS",
    "ledger_status",
    "ledger_table",
    "ledger_totals",
]


@dataclass(frozen=True)
class LedgerStatus:
    """Where one parcel of the ledger stands.

    Attributes
    ----------
    code
        ``demolished``, ``reclaimed`` or ``pending`` (the English cell value).
    zh
        The Chinese cell value (旧房拆除, 宅基地复垦复绿, 待处理).
    aliases
        Other words a county's ledger uses for it (matched ignoring case, width and spaces).
    next_zh, next_en
        What the documents ask next for a parcel in this state.
    """

    code: str
    zh: str
    aliases: tuple[str, ...]
    next_zh: str
    next_en: str


#: The states of a ledger parcel, in ledger order.
LEDGER_STATUSES: tuple[LedgerStatus, ...] = (
    LedgerStatus("demolished", "旧房拆除", ("已拆除", "拆除", "已拆旧", "旧房已拆除", "已拆", "拆旧"),
                 "宅基地复垦复绿", "reclaim and re-green the house plot"),
    LedgerStatus("reclaimed", "宅基地复垦复绿",
                 ("已复垦", "已复垦复绿", "复垦复绿", "已复绿", "复垦", "已复垦复绿完成"),
                 "计入承包面积确权登记;节余指标收集、增减挂钩申报验收",
                 "register it in the household's contracted land; collect the surplus quota "
                 "and file it for 增减挂钩 acceptance"),
    LedgerStatus("pending", "待处理", ("未处理", "未拆除", "待拆除", "未拆旧", "待复垦"),
                 "旧房拆除,宅基地复垦复绿", "pull down the old house, then reclaim and "
                 "re-green the plot"),
)
#: Ledger columns of a parcel layer after ``layers.ledger`` reads them: the status code
#: (None when blank), the reclaimed area and the 节余指标 quota (m², NaN when blank).
LEDGER_INPUT_COLUMNS: tuple[str, ...] = ("ledger_status", "reclaimed_m2", "quota_m2")
#: Columns of :func:`ledger_table`, in order (``status`` Chinese, ``status_en`` the code).
LEDGER_COLUMNS: tuple[str, ...] = (
    "parcel_id", "village", "household_id", "land_use", "status", "status_en", "area_m2",
    "area_gt25_m2", "reclaimed_m2", "quota_m2", "next_step", "next_step_en", "basis",
    "basis_en",
)
#: Columns of :func:`ledger_totals`, in order.
LEDGER_TOTAL_COLUMNS: tuple[str, ...] = (
    "status", "status_en", "n_parcels", "area_m2", "reclaimed_m2", "quota_m2",
)


def _key(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split()).casefold()


_BY_WORD: dict[str, LedgerStatus] = {
    _key(w): s for s in LEDGER_STATUSES for w in (s.code, s.zh, *s.aliases)
}


def ledger_status(text: str) -> LedgerStatus | None:
    """The status a ledger cell names (Chinese or English), None when it names none.

    Examples
    --------
    >>> [ledger_status(t).code for t in ("旧房拆除", "已复垦", "Pending")]
    ['demolished', 'reclaimed', 'pending']
    >>> ledger_status("拆了一半") is None
    True
    """
    return _BY_WORD.get(_key(text))


def ledger_table(parcel_table: pd.DataFrame, ledger: pd.DataFrame) -> pd.DataFrame:
    """The out-migration ledger: one row per parcel with a status, in parcel order.

    Parameters
    ----------
    parcel_table
        ``analysis.land.parcel_land_table`` of the parcels (``area_m2``, ``area_gt25_m2``).
    ledger
        The parcels' ledger columns: ``parcel_id``, :data:`LEDGER_INPUT_COLUMNS` (status
        codes of :data:`LEDGER_STATUSES`, areas in m²) and optionally ``household_id``.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`LEDGER_COLUMNS`: the parcel's computed ``area_m2`` and
        ``area_gt25_m2`` (m², WGS84 ellipsoid) beside the ledger's own ``reclaimed_m2`` and
        ``quota_m2`` (m², blank where the ledger is), the status in Chinese and English,
        the next step the documents ask for and its 依据 (Guizhou 2019 三(二)9, Dazhou 2019
        二(二)4).

    Raises
    ------
    InputError
        A missing column, an unknown status code, a parcel of the ledger absent from the
        parcel table.
    """
    pc = ProblemCollector(file="ledger")
    for col in ("parcel_id", *LEDGER_INPUT_COLUMNS):
        if col not in ledger.columns:
            pc.add(f"the ledger has no {col!r} column", column=col)
    pc.raise_if_any()
    by_code = {s.code: s for s in LEDGER_STATUSES}
    codes = ledger["ledger_status"].astype(object).where(ledger["ledger_status"].notna(), None)
    unknown = sorted({str(c) for c in codes if c is not None and c not in by_code})
    if unknown:
        raise InputError(f"unknown ledger status codes {unknown}: use one of {', '.join(by_code)}")
    has = codes.notna().to_numpy()
    rows = ledger[has]
    table = parcel_table.set_index(parcel_table["parcel_id"].astype(str))
    ids = rows["parcel_id"].astype(str)
    missing = sorted(set(ids) - set(table.index))
    if missing:
        raise InputError(f"ledger parcels {missing[:5]} are not in the parcel table")
    p = table.loc[ids]
    states = [by_code[c] for c in codes[has]]
    hh = rows["household_id"].fillna("").astype(str).to_numpy() if "household_id" in rows.columns \
        else np.full(len(rows), "", dtype=object)
    out = pd.DataFrame({
        "parcel_id": ids.to_numpy(),
        "village": p["village"].to_numpy(),
        "household_id": hh,
        "land_use": p["land_use"].to_numpy(),
        "status": [s.zh for s in states],
        "status_en": [s.code for s in states],
        "area_m2": p["area_m2"].to_numpy(dtype=np.float64),
        "area_gt25_m2": p["area_gt25_m2"].to_numpy(dtype=np.float64),
        "reclaimed_m2": pd.to_numeric(rows["reclaimed_m2"]).to_numpy(dtype=np.float64),
        "quota_m2": pd.to_numeric(rows["quota_m2"]).to_numpy(dtype=np.float64),
        "next_step": [s.next_zh for s in states],
        "next_step_en": [s.next_en for s in states],
        "basis": basis_text("ledger", "zh"),
        "basis_en": basis_text("ledger", "en"),
    })
    return out[list(LEDGER_COLUMNS)]


def ledger_totals(ledger: pd.DataFrame) -> pd.DataFrame:
    """Parcels, areas and quota (m²) per status of :func:`ledger_table`, and their total.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`LEDGER_TOTAL_COLUMNS`: one row per status in :data:`LEDGER_STATUSES`
        order (statuses with no parcel included, as 0), then the total (``合计``/``total``).
        Blank areas count as 0.
    """
    rows = []
    for s in LEDGER_STATUSES:
        g = ledger[ledger["status_en"] == s.code]
        rows.append((s.zh, s.code, len(g), *(float(np.nansum(g[c].to_numpy(dtype=np.float64)))
                                             for c in ("area_m2", "reclaimed_m2", "quota_m2"))))
    total = ("合计", "total", len(ledger),
             *(float(np.nansum(ledger[c].to_numpy(dtype=np.float64)))
               for c in ("area_m2", "reclaimed_m2", "quota_m2")))
    return pd.DataFrame([*rows, total], columns=list(LEDGER_TOTAL_COLUMNS))
