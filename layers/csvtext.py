"""CSV text of a table, column by column with NumPy: what ``DataFrame.to_csv`` writes, faster.

``pandas.DataFrame.to_csv`` formats object and string columns one cell at a time in Python
(15 s for the 800,000-row gap list of 100,000 sites).  :func:`write_csv` renders each column
once as an array of cell texts (floats by their shortest round-trip form, as pandas writes
them; missing cells empty; text quoted only where it holds the separator, a quote or a line
break, quotes doubled) and joins the rows in blocks.  Columns of another kind (dates,
categories, objects that are not text) hand the whole table to pandas, so the bytes are
always those ``to_csv(index=False)`` writes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

__all__ = ["csv_text_columns", "write_csv"]

#: Rows joined into one block of text (bounds the memory of the joined strings).
_BLOCK_ROWS = 100_000


def _quoted(text: pa.Array) -> pa.Array:
    """Cells quoted as the csv module's QUOTE_MINIMAL does with ``,``, ``"`` and ``\n``."""
    need = pc.or_(pc.or_(pc.match_substring(text, ","), pc.match_substring(text, '"')),
                  pc.match_substring(text, "\n"))
    if not pc.any(need).as_py():
        return text
    quoted = pc.binary_join_element_wise('"', pc.replace_substring(text, '"', '""'), '"', "")
    return pc.if_else(need, quoted, text)


def _strings(v: NDArray[Any], missing: NDArray[np.bool_] | None) -> pa.Array:
    """Texts of a NumPy array as an Arrow string array, ``""`` where ``missing``."""
    out = pa.array(v.astype(str), type=pa.string())
    if missing is not None and missing.any():
        out = pc.if_else(pa.array(missing), "", out)
    return out


def _column_text(col: pd.Series) -> pa.Array | None:
    """The cell texts of one column, or ``None`` when only pandas knows how it writes it."""
    dt = col.dtype
    ext = isinstance(dt, pd.api.extensions.ExtensionDtype)
    if pd.api.types.is_bool_dtype(dt) and not ext:
        return pa.array(np.where(col.to_numpy(dtype=bool), "True", "False"), type=pa.string())
    if dt.kind == "f" and not ext:
        # each distinct value formatted once (distances and times are rounded: few distinct)
        # (by bit pattern: -0.0 is not 0.0)
        v = np.ascontiguousarray(col.to_numpy(dtype=np.float64))
        codes, uniq = pd.factorize(v.view(np.int64))
        text = pa.array(np.append(uniq.view(np.float64).astype(str), ""), type=pa.string())
        return text.take(pa.array(np.where(np.isnan(v), len(uniq), codes)))  # NaN: ""
    if dt.kind in "iu" and not ext:
        return _strings(col.to_numpy(), None)
    if isinstance(dt, pd.Int64Dtype | pd.Int32Dtype):
        return _strings(col.to_numpy(dtype=np.int64, na_value=0), col.isna().to_numpy(dtype=bool))
    if pd.api.types.is_string_dtype(dt) or dt == object:
        try:
            arr = pa.array(col, from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            return None
        if isinstance(arr, pa.ChunkedArray):
            arr = arr.combine_chunks()
        if pa.types.is_large_string(arr.type):
            arr = arr.cast(pa.string())
        if pa.types.is_null(arr.type):
            arr = arr.cast(pa.string())
        if not pa.types.is_string(arr.type):
            return None
        return _quoted(arr.fill_null(""))
    return None


def csv_text_columns(df: pd.DataFrame) -> list[pa.Array] | None:
    """Each column's cell texts (:func:`write_csv`), or ``None`` if one needs pandas."""
    cols: list[pa.Array] = []
    for name in df.columns:
        text = _column_text(df[name])
        if text is None:
            return None
        cols.append(text)
    return cols


def write_csv(df: pd.DataFrame, path: str | Path, *, encoding: str = "utf-8-sig") -> None:
    """Write ``df`` as ``df.to_csv(path, index=False, encoding=encoding)`` does.

    Parameters
    ----------
    df
        The table; its column names are the header.
    path
        The file (created or replaced).
    encoding
        Text encoding; the default writes UTF-8 with a byte-order mark (Excel/WPS read
        Chinese text right).
    """
    # one column: the csv module writes an empty cell alone on its row as ""; Arrow's text
    # is UTF-8
    utf8 = encoding.lower().replace("_", "-") in ("utf-8", "utf-8-sig", "utf8")
    cols = csv_text_columns(df) if len(df.columns) > 1 and utf8 else None
    if cols is None:
        df.to_csv(path, index=False, encoding=encoding)
        return
    header = _quoted(pa.array([str(c) for c in df.columns], type=pa.string()))
    n = len(df)
    with open(path, "wb") as f:
        if encoding.lower().replace("_", "-") == "utf-8-sig":
            f.write(b"\xef\xbb\xbf")
        f.write((",".join(header.to_pylist()) + "\n").encode("utf-8"))
        for start in range(0, n, _BLOCK_ROWS):
            stop = min(start + _BLOCK_ROWS, n)
            lines = pc.binary_join_element_wise(*(c[start:stop] for c in cols), ",")
            block = pa.ListArray.from_arrays(pa.array([0, stop - start], type=pa.int32()), lines)
            f.write(pc.binary_join(block, "\n")[0].as_buffer())
            f.write(b"\n")
