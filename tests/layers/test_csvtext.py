"""layers.csvtext writes the bytes pandas' to_csv writes, for every column kind it handles."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from layers.csvtext import csv_text_columns, write_csv

TEXT = st.text(alphabet=st.sampled_from(list('ab,"\n\r =+-@ 中文\t') + ["\u00e9"]), max_size=8)


def _same(df: pd.DataFrame, tmp: Path, encoding: str = "utf-8-sig") -> None:
    df.to_csv(tmp / "pandas.csv", index=False, encoding=encoding)
    write_csv(df, tmp / "fast.csv", encoding=encoding)
    assert (tmp / "fast.csv").read_bytes() == (tmp / "pandas.csv").read_bytes()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(
    st.one_of(st.none(), TEXT),
    st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.just(-0.0), st.just(1e-7)),
    st.one_of(st.none(), st.integers(-10**12, 10**12)),
    st.booleans(),
    st.integers(-10**6, 10**6),
), min_size=0, max_size=30))
def test_random_tables_are_written_byte_for_byte_as_pandas_writes_them(tmp_path: Path, rows: list) -> None:
    df = pd.DataFrame({
        "text": pd.Series([r[0] for r in rows], dtype="str"),
        "obj": pd.Series([r[0] for r in rows], dtype=object),
        "x,float": [r[1] for r in rows],
        "count": pd.array([r[2] for r in rows], dtype="Int64"),
        "flag": pd.Series([r[3] for r in rows], dtype=bool),
        "n": pd.Series([r[4] for r in rows], dtype="int64"),
    })
    assert csv_text_columns(df) is not None  # the fast path, not pandas
    _same(df, tmp_path)


def test_quotes_line_breaks_and_separators_are_quoted_formulas_left_to_the_caller(tmp_path: Path) -> None:
    df = pd.DataFrame({"a": ["x,y", 'q"t', "l\nb", "", None, " s", "\r", "'=cmd"], "b": range(8)})
    _same(df, tmp_path)
    text = (tmp_path / "fast.csv").read_text(encoding="utf-8-sig")
    assert '"x,y"' in text and '"q""t"' in text and '"l\nb"' in text and "'=cmd" in text


def test_other_columns_and_encodings_go_to_pandas(tmp_path: Path) -> None:
    df = pd.DataFrame({"when": [dt.date(2026, 1, 1), None], "cat": pd.Categorical(["a", "b"]),
                       "mixed": [1, "a"]})
    assert csv_text_columns(df) is None
    _same(df, tmp_path)
    _same(pd.DataFrame({"a": ["中文", "x"], "b": [1.5, np.nan]}), tmp_path, encoding="gb18030")
    _same(pd.DataFrame({"only": ["", "a", None]}), tmp_path)  # one column: "" alone on a row
    _same(pd.DataFrame({"z": [-0.0, 0.0, np.nan, -0.0], "k": ["a"] * 4}), tmp_path)  # not one value
    _same(pd.DataFrame({"a": pd.Series([], dtype=str), "b": pd.Series([], dtype=float)}), tmp_path)


@pytest.mark.parametrize("n", [1, 250_001])
def test_blocks_join_without_a_seam(tmp_path: Path, n: int) -> None:
    df = pd.DataFrame({"id": [f"S{i}" for i in range(n)], "v": np.arange(n) / 7})
    _same(df, tmp_path)
