"""Greedy siting, for models beyond the size limit of the exact solver (said so in the output).

Each step opens the available candidate that gains most, until the budget is spent (MCLP,
p-median) or every row is served (LSCP) or no candidate gains anything:

* LSCP / MCLP: the gain of a candidate is the rows (LSCP) or people (MCLP) it newly covers
  (Chvátal's greedy set cover; the ``1 − 1/e`` greedy of maximal coverage);
* p-median: the drop of the population-weighted travel time (the greedy-add heuristic);
* capacitated LSCP / MCLP: a candidate fills its capacity with the unserved demand it reaches,
  nearest first, and gains the share of rows (LSCP) or people (MCLP) so served; the existing
  facilities of limited capacity are filled first, the same way.

No bound comes with a greedy answer: its optimality gap is unknown (``None``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from anzhi.core.errors import InputError
from analysis.siting.reduce import Reduced

__all__ = ["Greedy", "greedy"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

#: Demand counted for a row of zero demand in the capacitated fill (so it is served once a
#: candidate with any room reaches it).
_TINY = 1e-9


@dataclass(frozen=True, eq=False)
class Greedy:
    """Greedy answer of one type: ``cols`` opened (reduced columns, in the order opened),
    per row the served share (capacitated) or the minutes of p-median (``None`` otherwise)."""

    cols: IntArray
    share: FloatArray | None
    time_min: FloatArray | None


def _cover(red: Reduced, avail: BoolArray, limit: int | None) -> IntArray:
    """Uncapacitated LSCP (``limit=None``: until all covered) or MCLP (``limit`` = budget)."""
    a = sp.csr_matrix((np.ones(len(red.r)), (red.c, red.r)), shape=(red.n_cols, red.n_rows))
    weight = np.ones(red.n_rows) if limit is None else red.w.astype(float)
    open_rows = np.ones(red.n_rows, dtype=bool)
    chosen: list[int] = []
    while open_rows.any() and (limit is None or len(chosen) < limit):
        gain = a @ (weight * open_rows)
        gain[~avail] = -1.0
        j = int(np.argmax(gain))
        if gain[j] <= 0:
            break
        chosen.append(j)
        avail = avail.copy()
        avail[j] = False
        open_rows[a.indices[a.indptr[j]:a.indptr[j + 1]]] = False
    return np.asarray(chosen, dtype=np.int64)


def _median(red: Reduced, avail: BoolArray, limit: int) -> tuple[IntArray, FloatArray]:
    """Uncapacitated p-median, greedy add."""
    finite = np.concatenate([red.cost, red.t0[np.isfinite(red.t0)], [0.0]])
    big = 10.0 * (float(finite.max()) + 1.0)
    cur = np.where(np.isfinite(red.t0), red.t0, big)
    chosen: list[int] = []
    avail = avail.copy()
    while len(chosen) < limit:
        drop = red.w[red.r] * np.maximum(0.0, cur[red.r] - red.cost)
        gain = np.bincount(red.c, weights=drop, minlength=red.n_cols)
        gain[~avail] = -1.0
        j = int(np.argmax(gain)) if red.n_cols else 0
        if red.n_cols == 0 or gain[j] <= 0:
            break
        chosen.append(j)
        avail[j] = False
        sel = red.c == j
        np.minimum.at(cur, red.r[sel], red.cost[sel])
    return np.asarray(chosen, dtype=np.int64), np.where(cur >= big, np.inf, cur)


def _fill(rows: IntArray, cols: IntArray, cost: FloatArray, cap: FloatArray, rem: FloatArray,
          n_cols: int) -> FloatArray:
    """Demand each pair would take if its column filled its capacity with ``rem``, nearest first."""
    if len(rows) == 0:
        return np.zeros(0)
    order = np.lexsort((cost, cols))
    r, c = rows[order], cols[order]
    amt = rem[r]
    before_all = np.concatenate([[0.0], np.cumsum(amt)])  # demand of the pairs before each
    col_start = before_all[np.searchsorted(c, np.arange(n_cols))]
    before = before_all[:-1] - col_start[c]
    take = np.clip(cap[c] - before, 0.0, amt)
    out = np.zeros(len(rows))
    out[order] = take
    return out


def _capacitated(red: Reduced, avail: BoolArray, limit: int | None) -> tuple[IntArray, FloatArray]:
    """Capacitated LSCP (``limit=None``) or MCLP by nearest-first filling."""
    d = np.where(red.d > 0, red.d, _TINY)
    rem = d.copy()
    if red.ecap is not None and len(red.er):
        take = _fill(red.er, red.ec, red.ecost, red.ecap, rem, len(red.ecap))
        np.subtract.at(rem, red.er, take)
        rem = np.maximum(rem, 0.0)
    value = (np.ones(red.n_rows) if limit is None else red.w) / d
    cap = red.cap if red.cap is not None else np.full(red.n_cols, np.inf)
    chosen: list[int] = []
    avail = avail.copy()
    while (rem > _TINY * 1e-3).any() and (limit is None or len(chosen) < limit):
        take = _fill(red.r, red.c, red.cost, cap, rem, red.n_cols)
        gain = np.bincount(red.c, weights=take * value[red.r], minlength=red.n_cols)
        gain[~avail] = -1.0
        j = int(np.argmax(gain)) if red.n_cols else 0
        if red.n_cols == 0 or gain[j] <= 0:
            break
        chosen.append(j)
        avail[j] = False
        sel = red.c == j
        np.subtract.at(rem, red.r[sel], take[sel])
        rem = np.maximum(rem, 0.0)
    return np.asarray(chosen, dtype=np.int64), np.clip(1.0 - rem / d, 0.0, 1.0)


def greedy(red: Reduced, avail: BoolArray) -> Greedy:
    """The greedy answer of one reduced type; ``avail`` marks the columns it may open."""
    budget = red.checked.budget
    if red.model == "p_median":
        if red.capacitated:
            raise InputError(
                f"type {red.checked.name!r}: the capacitated p-median is beyond the exact size "
                "limit and has no greedy fallback — fix: raise exact_limit, give fewer "
                "candidates or a smaller reach, or drop the capacity")
        cols, time_min = _median(red, avail, int(budget or 0))
        return Greedy(cols, None, time_min)
    limit = None if red.model == "lscp" else int(budget or 0)
    if red.capacitated:
        cols, share = _capacitated(red, avail, limit)
        return Greedy(cols, share, None)
    return Greedy(_cover(red, avail, limit), None, None)
