"""Pre-reduction of a siting model: only the demand that a new facility can change, each
distinct coverage pattern once, each useful candidate once.

:func:`reduce_type` turns a :class:`analysis.siting.problem.CheckedType` into the
:class:`Reduced` instance the exact and the greedy solvers work on:

* demand rows: the required sites still to serve (LSCP: not covered by an existing facility;
  MCLP: not covered and with people; p-median: with people or demand); the required sites no
  candidate (nor existing facility) reaches are *uncoverable* and reported, not modelled;
* uncapacitated LSCP and MCLP: sites with the same set of candidates within reach are one
  row (their people summed), and candidates that reach the same set of rows are one column
  (when no slots couple the types); candidates that reach no row are dropped;
* p-median: a pair costing no less than the site's existing fallback time is dropped (it can
  never be the site's nearest facility), and the fallback is the row's constant cost when
  nothing else remains.

Every reduction keeps the optimum (the objective of the reduced model plus ``constant`` is the
objective of the full one).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from analysis.siting.problem import CheckedType

__all__ = ["Reduced", "reduce_type"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True, eq=False)
class Reduced:
    """One type's model after pre-reduction (rows = demand groups, columns = candidates).

    Attributes
    ----------
    checked
        The validated type.
    model
        ``lscp``, ``mclp`` or ``p_median``.
    group
        Per original site: its row, ``-1`` when not modelled.
    w, d, t0
        Per row: people (weight), demand (capacity units), fallback minutes (``inf`` = none;
        p-median only).
    cand
        Per column: the original candidate index.
    r, c, cost
        The pairs: row, column, minutes.
    er, ec, ecost
        Pairs with the capacitated existing facilities: row, existing index, minutes.
    cap, ecap
        Capacity per column and per existing facility (``None``: uncapacitated).
    constant
        Objective constant of the left-out rows (minimisation form: MCLP gives minus the
        people already covered, p-median the fallback minutes × people).
    uncoverable
        Original indices of required sites that nothing can serve within the reach.
    """

    checked: CheckedType
    model: str
    group: IntArray
    w: FloatArray
    d: FloatArray
    t0: FloatArray
    cand: IntArray
    r: IntArray
    c: IntArray
    cost: FloatArray
    er: IntArray
    ec: IntArray
    ecost: FloatArray
    cap: FloatArray | None
    ecap: FloatArray | None
    constant: float

    uncoverable: IntArray

    @property
    def n_rows(self) -> int:
        """Demand rows."""
        return len(self.w)

    @property
    def n_cols(self) -> int:
        """Candidate columns."""
        return len(self.cand)

    @property
    def capacitated(self) -> bool:
        """True for the capacitated model."""
        return self.cap is not None


def _keys(owner: IntArray, member: IntArray, n: int) -> IntArray:
    """Group label of each of ``n`` owners by its sorted set of members (same set, same label).

    ``owner``/``member`` are pairs sorted by owner then member."""
    starts = np.searchsorted(owner, np.arange(n + 1))
    label: dict[bytes, int] = {}
    out = np.empty(n, dtype=np.int64)
    for i in range(n):
        key = member[starts[i]:starts[i + 1]].tobytes()
        out[i] = label.setdefault(key, len(label))
    return out


def _merge_rows(site: IntArray, fac: IntArray, rows: IntArray, n_sites: int
                ) -> tuple[IntArray, IntArray, IntArray]:
    """Merge the demand rows ``rows`` (original sites) with equal candidate sets.

    Returns ``(group per original site, pair rows, pair columns)`` with the pairs deduplicated."""
    local = np.full(n_sites, -1, dtype=np.int64)
    local[rows] = np.arange(len(rows))
    keep = local[site] >= 0
    pr, pf = local[site[keep]], fac[keep]
    order = np.lexsort((pf, pr))
    pr, pf = pr[order], pf[order]
    lab = _keys(pr, pf, len(rows))
    group = np.full(n_sites, -1, dtype=np.int64)
    group[rows] = lab
    first = np.unique(lab, return_index=True)[1]
    rep = np.zeros(len(rows), dtype=bool)
    rep[first] = True
    sel = rep[pr]
    return group, lab[pr[sel]], pf[sel]


def _columns(r: IntArray, c: IntArray, merge: bool) -> tuple[IntArray, IntArray, IntArray]:
    """Drop unused candidate columns (and merge equal ones when ``merge``).

    Returns ``(cand: kept original candidates, r, c relabelled)``."""
    used = np.unique(c)
    if merge and len(used):
        order = np.lexsort((r, c))
        cs, rs = c[order], r[order]
        pos = np.searchsorted(used, cs)
        lab = _keys(pos, rs, len(used))
        first = np.unique(lab, return_index=True)[1]  # lowest candidate of each pattern
        used = used[first]
    col = np.full(int(c.max()) + 1 if len(c) else 0, -1, dtype=np.int64)
    col[used] = np.arange(len(used))
    keep = col[c] >= 0 if len(c) else np.zeros(0, dtype=bool)
    return used.astype(np.int64), r[keep], col[c[keep]]


def reduce_type(t: CheckedType, model: str, *, merge_columns: bool) -> Reduced:
    """Pre-reduce one checked type for ``model`` (see the module notes)."""
    p, n = t.pairs, t.n_sites
    cap = t.capacity is not None
    has_pair = np.bincount(p.site, minlength=n) > 0
    ex = t.existing
    has_ex = (np.bincount(ex.site, minlength=n) > 0) if ex is not None else np.zeros(n, bool)
    if model == "p_median":
        need = t.required & ((t.pop > 0) | (cap & (t.demand > 0)))
        reachable = has_pair | has_ex | np.isfinite(t.time0_min)
    else:
        need = t.required & ~t.covered
        if model == "mclp":
            need &= t.pop > 0
        reachable = has_pair | has_ex
    uncoverable = np.flatnonzero(need & ~reachable).astype(np.int64)
    need &= reachable
    site, fac, cost = p.site, p.fac, p.cost
    constant = 0.0
    if model == "p_median":
        useful = cost < t.time0_min[site]
        site, fac, cost = site[useful], fac[useful], cost[useful]
        lone = need & (np.bincount(site, minlength=n) == 0) & ~has_ex
        constant = float(np.sum(t.pop[lone] * t.time0_min[lone]))
        need &= ~lone
    elif model == "mclp":
        constant = -float(t.pop[t.required & t.covered].sum())
    rows = np.flatnonzero(need).astype(np.int64)
    merge = not cap and model != "p_median"
    if merge:
        group, r, c = _merge_rows(site, fac, rows, n)
        n_rows = int(group.max()) + 1 if len(rows) else 0
        w = np.bincount(group[rows], weights=t.pop[rows], minlength=n_rows).astype(np.float64)
        d = np.bincount(group[rows], weights=t.demand[rows], minlength=n_rows).astype(np.float64)
        rc = np.zeros(len(r))
    else:
        group = np.full(n, -1, dtype=np.int64)
        group[rows] = np.arange(len(rows))
        keep = group[site] >= 0
        r, c, rc = group[site[keep]], fac[keep], cost[keep]
        w, d = t.pop[rows].astype(float), t.demand[rows].astype(float)
    t0 = t.time0_min[rows].copy() if model == "p_median" else np.full(len(w), np.inf)
    # columns: dropped when unused (never reordering the pairs), merged only without costs
    cand, r, c = _columns(r, c, merge and merge_columns)
    if len(rc) != len(r):
        rc = np.zeros(len(r))
    er = ec = np.zeros(0, dtype=np.int64)
    ecost = np.zeros(0)
    if ex is not None:
        sel = group[ex.site] >= 0
        er, ec, ecost = group[ex.site[sel]], ex.fac[sel], ex.cost[sel]
    return Reduced(
        checked=t, model=model, group=group, w=w, d=d, t0=t0, cand=cand, r=r, c=c,
        cost=rc,
        er=er, ec=ec, ecost=ecost,
        cap=t.capacity[cand] if t.capacity is not None else None,
        ecap=t.existing_capacity, constant=constant, uncoverable=uncoverable)
