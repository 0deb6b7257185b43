"""The column-wise reasons of :func:`analysis.statuses.reasons` equal the one-row :func:`reason`."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.statuses import STATUSES, UNROUTABLE_REASONS, reason, reasons
from analysis.rules import load_rules

RULES = tuple(load_rules().rules)

# values on and near the rounding ties of every formatter, and the ones worded as "?"
TRICKY = [0.0, 0.5, 1.5, 2.5, 999.5, 999.49, 999.51, 1000.0, 1049.999, 1050.0, 1150.0,
          2.95, 2.96, 3.04, 3.05, 59.95, 1e15, 2.0 ** 53, -3.0, float("nan"), float("inf"),
          -float("inf")]
numbers = st.one_of(st.sampled_from(TRICKY),
                    st.floats(min_value=0.0, max_value=50_000.0, allow_nan=False),
                    st.integers(min_value=0, max_value=20_000).map(float))
access = st.sampled_from([None, "", "no_facility", *UNROUTABLE_REASONS])


@st.composite
def rows(draw: st.DrawFn) -> dict[str, object]:
    rule_k = draw(st.integers(0, len(RULES) - 1))
    rule = RULES[rule_k]
    served = draw(st.sampled_from(["", rule.facility_type, *rule.satisfied_by.also_types,
                                   "township_health_center"]))
    return {"status": draw(st.sampled_from(STATUSES)), "rule_k": rule_k,
            "pop": draw(numbers), "hh": draw(numbers), "by_id": draw(st.booleans()),
            "radius_m": draw(st.sampled_from([0.0, 300.0, 500.0])), "dist_m": draw(numbers),
            "time_min": draw(numbers), "access_reason": draw(access), "snap_m": draw(numbers),
            "cap": draw(st.none() | st.tuples(numbers, numbers, st.booleans())),
            "served_type": served}


def _check(batch: list[dict[str, object]]) -> None:
    cap = {k: r["cap"] for k, r in enumerate(batch) if r["cap"] is not None}
    col = lambda name: [r[name] for r in batch]  # noqa: E731
    zh, en = reasons(col("status"), RULES, np.array(col("rule_k"), dtype=np.int64),
                     pop=np.array(col("pop"), dtype=float), hh=np.array(col("hh"), dtype=float),
                     by_id=np.array(col("by_id"), dtype=bool),
                     radius_m=np.array(col("radius_m"), dtype=float),
                     dist_m=np.array(col("dist_m"), dtype=float),
                     time_min=np.array(col("time_min"), dtype=float),
                     access_reason=col("access_reason"), snap_m=np.array(col("snap_m"), dtype=float),
                     cap=cap, served_type=col("served_type"))
    assert len(zh) == len(en) == len(batch)
    for k, r in enumerate(batch):
        for lang, got in (("zh", zh), ("en", en)):
            want = reason(r["status"], RULES[r["rule_k"]], lang, pop=r["pop"], hh=r["hh"],  # type: ignore[arg-type]
                          by_id=r["by_id"], radius_m=r["radius_m"], dist_m=r["dist_m"],  # type: ignore[arg-type]
                          time_min=r["time_min"], access_reason=r["access_reason"],  # type: ignore[arg-type]
                          snap_m=r["snap_m"], cap=cap.get(k), served_type=r["served_type"])  # type: ignore[arg-type]
            assert got[k].as_py() == want, (k, lang, r)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(rows(), min_size=0, max_size=40))
def test_reasons_equal_one_row_reason(batch: list[dict[str, object]]) -> None:
    _check(batch)


def test_many_rows_sharing_templates_fill_in_their_own_numbers() -> None:
    rng = np.random.default_rng(7)
    n = 3000
    batch = [{"status": str(rng.choice(["gap_missing", "ok_shared", "ok", "unroutable"])),
              "rule_k": int(rng.integers(len(RULES))), "pop": float(rng.integers(0, 12_000)),
              "hh": float(rng.integers(0, 3_000)), "by_id": bool(rng.integers(2)),
              "radius_m": 300.0, "dist_m": float(rng.choice([rng.uniform(0, 9000), np.nan])),
              "time_min": float(rng.uniform(0, 120)), "access_reason": "",
              "snap_m": float(rng.uniform(0, 2000)), "cap": None, "served_type": ""}
             for _ in range(n)]
    for k in range(0, n, 97):  # a few capacity rows among them
        batch[k].update(status="gap_capacity", cap=(float(rng.integers(1, 900)), 30.0, False))
    _check(batch)


def test_no_rows_give_empty_arrays() -> None:
    zh, en = reasons([], RULES, np.zeros(0, dtype=np.int64), pop=np.zeros(0), hh=np.zeros(0),
                     by_id=np.zeros(0, dtype=bool), radius_m=np.zeros(0), dist_m=np.zeros(0),
                     time_min=np.zeros(0), access_reason=[], snap_m=np.zeros(0), cap={},
                     served_type=[])
    assert len(zh) == len(en) == 0


@pytest.mark.parametrize("value", TRICKY)
def test_every_tricky_value_in_every_field(value: float) -> None:
    base = {"status": "gap_missing", "rule_k": 0, "pop": 1200.0, "hh": 300.0, "by_id": False,
            "radius_m": 300.0, "dist_m": 2500.0, "time_min": 31.0, "access_reason": "",
            "snap_m": 40.0, "cap": None, "served_type": ""}
    batch = [dict(base)] + [dict(base, **{f: value}) for f in
                            ("pop", "hh", "dist_m", "time_min", "snap_m")]
    _check(batch)


@pytest.mark.parametrize("cap", [(float("nan"), 0.0, False), (400.0, float("nan"), True),
                                 (float("inf"), 30.0, False), (400.0, 30.0, False)])
def test_capacity_rows_with_unknown_numbers_are_worded_not_raised(
        cap: tuple[float, float, bool]) -> None:
    k = next(i for i, r in enumerate(RULES) if r.capacity is not None)
    batch = [{"status": "gap_capacity", "rule_k": k, "pop": 1200.0, "hh": 300.0, "by_id": False,
              "radius_m": 300.0, "dist_m": 0.0, "time_min": 0.0, "access_reason": "",
              "snap_m": 0.0, "cap": cap, "served_type": ""}]
    _check(batch)
    zh, en = reasons(["gap_capacity"], RULES, np.array([k]), pop=np.array([1200.0]),
                     hh=np.array([300.0]), by_id=np.zeros(1, dtype=bool),
                     radius_m=np.array([300.0]), dist_m=np.zeros(1), time_min=np.zeros(1),
                     access_reason=[""], snap_m=np.zeros(1), cap={0: cap}, served_type=[""])
    known = all(np.isfinite(cap[:2]))
    assert ("?" in en[0].as_py()) is not known
    assert ("?" in zh[0].as_py()) is not known
