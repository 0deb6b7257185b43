"""The exact siting models as one mixed-integer programme, solved by HiGHS
(``scipy.optimize.milp``).

Every type of a run gets its own block of variables — ``y_j`` (binary: open candidate ``j``)
and, by model, ``z_i`` (row ``i`` covered, continuous in [0, 1]: integral at the optimum) or
``x_ij`` (share of row ``i``'s demand assigned to ``j``, only on the sparse pairs) — and its
own constraints; the types are coupled only by the shared ``slots`` (``Σ_types y_j ≤
slots_j``).  In minimisation form:

* LSCP: ``min Σ y``; uncapacitated ``Σ_{j∈N(i)} y_j ≥ 1``; capacitated ``Σ_j x_ij = 1``,
  ``Σ_i d_i x_ij ≤ C_j y_j``, ``x_ij ≤ y_j`` (the existing facilities of limited capacity
  are columns with ``y = 1``, a constant);
* MCLP: ``min −Σ w_i z_i`` with ``z_i ≤ Σ_{j∈N(i)} y_j``, ``Σ y ≤ p``; capacitated
  ``min −Σ w_i x_ij`` with ``Σ_j x_ij ≤ 1`` and the capacity and linking rows;
* p-median: ``min Σ w_i c_ij x_ij + Σ w_i t0_i x_i0`` with ``Σ_j x_ij + x_i0 = 1`` (``x_i0``:
  the site keeps its existing fallback, only where ``t0_i`` is finite), ``x_ij ≤ y_j``,
  ``Σ y ≤ p``, and the capacity rows when capacitated.

The objective constant of the pre-reduction (:attr:`analysis.siting.reduce.Reduced.constant`)
is added back when the result is read.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from scipy.optimize import Bounds, LinearConstraint, milp

from analysis.siting.reduce import Reduced

__all__ = ["Block", "Solution", "model_size", "solve_exact"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass
class _Builder:
    """Variables and constraint triplets of a MILP, added in pieces."""

    c: list[FloatArray] = field(default_factory=list)
    lb: list[FloatArray] = field(default_factory=list)
    ub: list[FloatArray] = field(default_factory=list)
    integ: list[FloatArray] = field(default_factory=list)
    rr: list[IntArray] = field(default_factory=list)
    cc: list[IntArray] = field(default_factory=list)
    vv: list[FloatArray] = field(default_factory=list)
    bl: list[FloatArray] = field(default_factory=list)
    bu: list[FloatArray] = field(default_factory=list)
    nv: int = 0
    nr: int = 0

    def add_vars(self, obj: FloatArray, *, integer: bool, lb: float = 0.0,
                 ub: float = 1.0) -> int:
        """Add ``len(obj)`` variables in ``[lb, ub]``; returns the index of the first."""
        k = len(obj)
        self.c.append(np.asarray(obj, dtype=np.float64))
        self.lb.append(np.full(k, lb))
        self.ub.append(np.full(k, ub))
        self.integ.append(np.full(k, 1.0 if integer else 0.0))
        start, self.nv = self.nv, self.nv + k
        return start

    def add_rows(self, rows: IntArray, cols: IntArray, vals: FloatArray | float,
                 lo: FloatArray | float, hi: FloatArray | float, n: int) -> None:
        """Add ``n`` constraints ``lo ≤ Σ vals·x ≤ hi`` (``rows`` local, 0..n-1)."""
        if n == 0:
            return
        self.rr.append(np.asarray(rows, dtype=np.int64) + self.nr)
        self.cc.append(np.asarray(cols, dtype=np.int64))
        self.vv.append(np.broadcast_to(np.asarray(vals, dtype=np.float64), (len(rows),)))
        self.bl.append(np.broadcast_to(np.asarray(lo, dtype=np.float64), (n,)))
        self.bu.append(np.broadcast_to(np.asarray(hi, dtype=np.float64), (n,)))
        self.nr += n

    def cat(self, parts: list[FloatArray] | list[IntArray]) -> NDArray[np.generic]:
        """The parts joined (empty float array when none)."""
        return np.concatenate(parts) if parts else np.zeros(0)


@dataclass(frozen=True)
class Block:
    """Where one type's variables sit in the programme: ``y`` (columns), ``x`` (pairs),
    ``xe`` (existing pairs), ``x0`` (fallback rows, p-median) and ``z`` (MCLP rows)."""

    y: int
    x: int = -1
    xe: int = -1
    x0: int = -1
    x0_rows: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    z: int = -1


@dataclass(frozen=True, eq=False)
class Solution:
    """HiGHS's answer: the variables (``None`` when it found none), status, objective with the
    constant added back, dual bound, relative gap, and where each type's variables are."""

    x: FloatArray | None
    status: str
    message: str
    objective: float | None
    bound: float | None
    gap: float | None
    blocks: tuple[Block, ...]


def model_size(reduced: list[Reduced]) -> int:
    """Nonzeros of the programme (the size the exact limit is compared with)."""
    total = 0
    for red in reduced:
        nnz, ne = len(red.r), len(red.er)
        total += (3 * nnz + 2 * ne) if red.capacitated or red.model == "p_median" else nnz
        total += red.n_rows + red.n_cols
    return total


def _assignment(b: _Builder, red: Reduced, y: int, budget: int | None) -> Block:
    """Capacitated models and p-median: assignment variables on the pairs."""
    w, m = red.w, red.model
    nnz = len(red.r)
    if m == "lscp":
        ox, oe = np.zeros(nnz), np.zeros(len(red.er))
    elif m == "mclp":
        ox, oe = -w[red.r], -w[red.er]
    else:
        ox, oe = w[red.r] * red.cost, w[red.er] * red.ecost
    x = b.add_vars(ox, integer=False)
    xe = b.add_vars(oe, integer=False)
    x0_rows = np.flatnonzero(np.isfinite(red.t0)).astype(np.int64) if m == "p_median" \
        else np.zeros(0, dtype=np.int64)
    x0 = b.add_vars(w[x0_rows] * red.t0[x0_rows], integer=False)
    rows = np.concatenate([red.r, red.er, x0_rows])
    cols = np.concatenate([x + np.arange(nnz), xe + np.arange(len(red.er)),
                           x0 + np.arange(len(x0_rows))])
    lo = -np.inf if m == "mclp" else 1.0
    b.add_rows(rows, cols, 1.0, lo, 1.0, red.n_rows)
    # linking: x_ij - y_j <= 0
    k = np.arange(nnz)
    b.add_rows(np.concatenate([k, k]), np.concatenate([x + k, y + red.c]),
               np.concatenate([np.ones(nnz), -np.ones(nnz)]), -np.inf, 0.0, nnz)
    if red.cap is not None:
        n_cols = red.n_cols
        b.add_rows(np.concatenate([red.c, np.arange(n_cols)]),
                   np.concatenate([x + k, y + np.arange(n_cols)]),
                   np.concatenate([red.d[red.r], -red.cap]), -np.inf, 0.0, n_cols)
        if red.ecap is not None and len(red.ecap):
            b.add_rows(red.ec, xe + np.arange(len(red.er)), red.d[red.er], -np.inf,
                       red.ecap, len(red.ecap))
    _budget_row(b, red, y, budget)
    return Block(y=y, x=x, xe=xe, x0=x0, x0_rows=x0_rows)


def _budget_row(b: _Builder, red: Reduced, y: int, budget: int | None) -> None:
    """``Σ y ≤ budget`` (when the type has a budget)."""
    if budget is not None and red.n_cols:
        b.add_rows(np.zeros(red.n_cols, dtype=np.int64), y + np.arange(red.n_cols), 1.0,
                   -np.inf, float(budget), 1)


def _block(b: _Builder, red: Reduced) -> Block:
    """Add one type's variables and constraints."""
    budget = red.checked.budget
    y = b.add_vars(np.full(red.n_cols, 1.0 if red.model == "lscp" else 0.0), integer=True)
    if red.capacitated or red.model == "p_median":
        return _assignment(b, red, y, budget)
    if red.model == "lscp":
        b.add_rows(red.r, y + red.c, 1.0, 1.0, np.inf, red.n_rows)
        return Block(y=y)
    z = b.add_vars(-red.w, integer=False)
    n = red.n_rows
    b.add_rows(np.concatenate([np.arange(n), red.r]), np.concatenate([z + np.arange(n), y + red.c]),
               np.concatenate([np.ones(n), -np.ones(len(red.r))]), -np.inf, 0.0, n)
    _budget_row(b, red, y, budget)
    return Block(y=y, z=z)


def _slot_rows(b: _Builder, reduced: list[Reduced], blocks: list[Block],
               slots: IntArray) -> None:
    """``Σ_types y_j ≤ slots_j`` for every candidate that more than ``slots_j`` types use."""
    cand = np.concatenate([red.cand for red in reduced])
    var = np.concatenate([blk.y + np.arange(red.n_cols) for red, blk in zip(reduced, blocks)])
    uses = np.bincount(cand, minlength=len(slots))
    tight = np.flatnonzero(uses > slots)
    if len(tight) == 0:
        return
    row = np.full(len(slots), -1, dtype=np.int64)
    row[tight] = np.arange(len(tight))
    sel = row[cand] >= 0
    b.add_rows(row[cand[sel]], var[sel], 1.0, -np.inf, slots[tight].astype(float), len(tight))


def _status(res: object) -> str:
    """``optimal`` / ``time_limit`` / ``infeasible`` / ``failed`` from a milp result."""
    code = getattr(res, "status", 4)
    return {0: "optimal", 1: "time_limit", 2: "infeasible"}.get(code, "failed")


def solve_exact(reduced: list[Reduced], *, slots: IntArray | None, time_limit_s: float,
                mip_rel_gap: float) -> Solution:
    """Build the programme of the run and solve it with HiGHS."""
    b = _Builder()
    blocks = [_block(b, red) for red in reduced]
    if slots is not None:
        _slot_rows(b, reduced, blocks, slots)
    const = float(sum(red.constant for red in reduced))
    if b.nv == 0:
        return Solution(np.zeros(0), "optimal", "nothing to decide", const, const, 0.0,
                        tuple(blocks))
    c = np.asarray(b.cat(b.c), dtype=np.float64)
    cons = []
    if b.nr:
        a = sp.csr_matrix((b.cat(b.vv), (b.cat(b.rr), b.cat(b.cc))), shape=(b.nr, b.nv))
        cons = [LinearConstraint(a, b.cat(b.bl), b.cat(b.bu))]
    res = milp(c, integrality=b.cat(b.integ), bounds=Bounds(b.cat(b.lb), b.cat(b.ub)),
               constraints=cons, options={"time_limit": float(time_limit_s),
                                          "mip_rel_gap": float(mip_rel_gap), "disp": False})
    status = _status(res)
    x = None if res.x is None else np.asarray(res.x, dtype=np.float64)
    if x is None:
        return Solution(None, status, str(res.message), None, None, None, tuple(blocks))
    obj = float(c @ x) + const
    bound = getattr(res, "mip_dual_bound", None)
    bound = obj if status == "optimal" and bound is None else bound
    bound_total = None if bound is None else float(bound) + const
    gap = None
    if bound_total is not None:
        gap = abs(obj - bound_total) / max(abs(obj), 1e-9) if abs(obj - bound_total) > 1e-9 else 0.0
    return Solution(x, status, str(res.message), obj, bound_total, gap, tuple(blocks))
