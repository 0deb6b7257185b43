"""The out-migration ledger (迁出地台账): statuses, rows, sums and the clause it cites."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from analysis.ledger import (
    LEDGER_COLUMNS,
    LEDGER_STATUSES,
    LEDGER_TOTAL_COLUMNS,
    ledger_status,
    ledger_table,
    ledger_totals,
)
from anzhi.core.errors import InputError


def test_status_words_in_chinese_and_english() -> None:
    assert [s.code for s in LEDGER_STATUSES] == ["demolished", "reclaimed", "pending"]
    assert [s.zh for s in LEDGER_STATUSES] == ["旧房拆除", "宅基地复垦复绿", "待处理"]
    for word, code in (("旧房拆除", "demolished"), ("已拆除", "demolished"), ("DEMOLISHED", "demolished"),
                       ("宅基地复垦复绿", "reclaimed"), (" 已复垦 ", "reclaimed"), ("reclaimed", "reclaimed"),
                       ("待处理", "pending"), ("未拆除", "pending"), ("Ｐｅｎｄｉｎｇ", "pending")):
        s = ledger_status(word)
        assert s is not None and s.code == code, word
    assert ledger_status("拆了一半") is None and ledger_status("") is None


def _parcels() -> pd.DataFrame:
    return pd.DataFrame({"parcel_id": ["P1", "P2", "P3", "P4"], "village": ["甲", "甲", "乙", "乙"],
                         "land_use": ["宅基地", "宅基地", "耕地", "宅基地"],
                         "area_m2": [2500.0, 3000.0, 9000.0, 2000.0],
                         "area_gt25_m2": [0.0, 3000.0, 4500.0, 1000.0]})


def _ledger() -> pd.DataFrame:
    return pd.DataFrame({"parcel_id": ["P1", "P2", "P3", "P4"],
                         "household_id": ["H1", "H1", "H2", None],
                         "ledger_status": ["reclaimed", "demolished", None, "pending"],
                         "reclaimed_m2": [2400.5, np.nan, np.nan, np.nan],
                         "quota_m2": [1800.25, np.nan, np.nan, np.nan]})


def test_ledger_rows_are_the_parcels_with_a_status() -> None:
    t = ledger_table(_parcels(), _ledger())
    assert list(t.columns) == list(LEDGER_COLUMNS)
    assert t["parcel_id"].tolist() == ["P1", "P2", "P4"]  # P3 has no status
    assert t["status"].tolist() == ["宅基地复垦复绿", "旧房拆除", "待处理"]
    assert t["status_en"].tolist() == ["reclaimed", "demolished", "pending"]
    assert t["household_id"].tolist() == ["H1", "H1", ""]
    assert t["area_m2"].tolist() == [2500.0, 3000.0, 2000.0]  # the parcel table's areas
    assert t["area_gt25_m2"].tolist() == [0.0, 3000.0, 1000.0]
    assert t["reclaimed_m2"].iloc[0] == 2400.5 and math.isnan(t["reclaimed_m2"].iloc[1])
    assert t["next_step"].tolist() == ["计入承包面积确权登记;节余指标收集、增减挂钩申报验收",
                                       "宅基地复垦复绿", "旧房拆除,宅基地复垦复绿"]
    assert t["basis"].str.contains("三(二)9", regex=False).all()
    assert t["basis"].str.contains("达市府办函〔2019〕30号,2019年) 二(二)4", regex=False).all()
    assert t["basis_en"].str.startswith("CPC Guizhou").all()


def test_ledger_totals_add_up() -> None:
    t = ledger_table(_parcels(), _ledger())
    tot = ledger_totals(t)
    assert list(tot.columns) == list(LEDGER_TOTAL_COLUMNS)
    assert tot["status_en"].tolist() == ["demolished", "reclaimed", "pending", "total"]
    assert tot["n_parcels"].tolist() == [1, 1, 1, 3]
    assert tot["area_m2"].tolist() == [3000.0, 2500.0, 2000.0, 7500.0]
    assert tot.set_index("status_en").loc["total", "quota_m2"] == 1800.25
    assert tot.set_index("status_en").loc["pending", "reclaimed_m2"] == 0.0
    empty = ledger_totals(t.iloc[:0])
    assert empty["n_parcels"].tolist() == [0, 0, 0, 0]


def test_ledger_refuses_what_it_cannot_place() -> None:
    bad = _ledger().assign(ledger_status=["reclaimed", "burnt", None, None])
    with pytest.raises(InputError, match=r"unknown ledger status codes \['burnt'\]"):
        ledger_table(_parcels(), bad)
    stray = _ledger().assign(parcel_id=["P1", "P2", "P3", "P9"])
    with pytest.raises(InputError, match=r"ledger parcels \['P9'\] are not in the parcel table"):
        ledger_table(_parcels(), stray)
    with pytest.raises(InputError, match="no 'quota_m2' column"):
        ledger_table(_parcels(), _ledger().drop(columns="quota_m2"))
