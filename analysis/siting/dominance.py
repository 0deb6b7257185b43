"""Dominance reductions and independent parts of the uncapacitated covering models.

* A row (demand group) whose candidate set contains another row's set is redundant in LSCP:
  covering the smaller set covers it (:func:`dominate`, ``rows=True``).
* A candidate whose set of rows is contained in another candidate's set can be swapped for
  that one in any LSCP or MCLP solution, never worse (``cols=True``; not with shared slots).
* The rows and candidates of an LSCP fall apart into connected parts (no candidate reaches
  two parts): each part is its own, much smaller, programme (:func:`parts`).

Containment is read off the sparse products ``A Aᵀ`` and ``Aᵀ A`` (the size of every
pairwise intersection), so memory stays that of the sparse overlaps.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from scipy.sparse.csgraph import connected_components

from analysis.siting.reduce import Reduced

__all__ = ["dominate", "parts"]

IntArray = NDArray[np.int64]


def _contained(a: sp.csr_matrix) -> NDArray[np.bool_]:
    """Rows of ``a`` (0/1) that contain a strictly smaller row of ``a``."""
    size = np.asarray(a.sum(axis=1)).ravel()
    m = (a @ a.T).tocoo()
    i, k, v = m.row, m.col, m.data
    hit = (i != k) & (v == size[k]) & ((size[k] < size[i]) | ((size[k] == size[i]) & (k < i)))
    out = np.zeros(a.shape[0], dtype=bool)
    out[i[hit]] = True
    return out


def _restrict(red: Reduced, keep_rows: NDArray[np.bool_], keep_cols: NDArray[np.bool_]) -> Reduced:
    """``red`` with only the kept rows and columns (uncapacitated: costs unused)."""
    new_row = np.cumsum(keep_rows) - 1
    new_col = np.cumsum(keep_cols) - 1
    sel = keep_rows[red.r] & keep_cols[red.c]
    group = np.where(red.group >= 0, np.where(keep_rows[np.maximum(red.group, 0)],
                                              new_row[np.maximum(red.group, 0)], -1), -1)
    return dataclasses.replace(
        red, group=group, w=red.w[keep_rows], d=red.d[keep_rows], t0=red.t0[keep_rows],
        cand=red.cand[keep_cols], r=new_row[red.r[sel]], c=new_col[red.c[sel]],
        cost=red.cost[sel])


def dominate(red: Reduced, *, rows: bool, cols: bool, rounds: int = 100) -> Reduced:
    """Drop dominated rows (LSCP) and columns (LSCP, MCLP) until nothing changes (at most
    ``rounds`` rounds; each round is one sparse product, and dropping a column can make a
    row dominated and back, so a few rounds rarely reach the fixed point: on a generated
    5,000 × 5,000 LSCP, 4 rounds left 1,956 rows × 1,940 columns, the fixed point 1,792 ×
    1,814)."""
    for _ in range(rounds):
        a = sp.csr_matrix((np.ones(len(red.r)), (red.r, red.c)), shape=(red.n_rows, red.n_cols))
        drop_r = _contained(a) if rows else np.zeros(red.n_rows, dtype=bool)
        if cols:
            at = sp.csr_matrix(a[~drop_r].T)
            # a column dominated by another: its row set is contained in the other's
            size = np.asarray(at.sum(axis=1)).ravel()
            m = (at @ at.T).tocoo()
            j, k, v = m.row, m.col, m.data
            hit = (j != k) & (v == size[j]) & ((size[j] < size[k]) | ((size[j] == size[k]) & (j > k)))
            drop_c = np.zeros(red.n_cols, dtype=bool)
            drop_c[j[hit]] = True
            drop_c |= size == 0
        else:
            drop_c = np.zeros(red.n_cols, dtype=bool)
        if not drop_r.any() and not drop_c.any():
            break
        red = _restrict(red, ~drop_r, ~drop_c)
    return red


def parts(red: Reduced) -> list[Reduced]:
    """The connected parts of an uncapacitated LSCP (rows joined through shared candidates)."""
    n, m = red.n_rows, red.n_cols
    if n == 0:
        return [red]
    g = sp.csr_matrix((np.ones(len(red.r)), (red.r, red.c + n)), shape=(n + m, n + m))
    k, label = connected_components(g, directed=False)
    if k == 1:
        return [red]
    out = []
    for part in np.unique(label[:n]):
        out.append(_restrict(red, label[:n] == part, label[n:] == part))
    return out
