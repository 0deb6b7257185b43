"""Random siting instances and brute-force optima, shared by the siting tests.

Sites and candidates are random points in a 10 km square; minutes are 3 min/km straight
line; a few candidates stand exactly on a site (a stored 0.0 minute pair, which sparse
matrices drop in many operations).  The brute force enumerates every subset of the
candidates and scores it with its own plain loops (and, when capacitated, its own dense
assignment LP) — no code of ``analysis.siting``.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from scipy.optimize import linprog

FloatArray = NDArray[np.float64]


@dataclass
class Case:
    """A random instance: dense minutes (inf = no pair), its CSR form, people, demand, mask."""

    dense: FloatArray
    csr: sp.csr_matrix
    pop: FloatArray
    required: NDArray[np.bool_]
    reach: float


def make_case(seed: int, *, n_sites: int = 14, n_cand: int = 10, reach: float = 12.0,
              cutoff: float | None = None) -> Case:
    """A random instance; pairs stored up to ``cutoff`` minutes (default the reach + 3)."""
    rng = np.random.default_rng(seed)
    sites = rng.uniform(0, 10, (n_sites, 2))
    cands = rng.uniform(0, 10, (n_cand, 2))
    cands[:2] = sites[:2]  # two candidates exactly at a site: cost 0.0
    minutes = 3.0 * np.linalg.norm(sites[:, None, :] - cands[None, :, :], axis=2)
    cut = reach + 3.0 if cutoff is None else cutoff
    dense = np.where(minutes <= cut, minutes, np.inf)
    s, f = np.nonzero(np.isfinite(dense))
    csr = sp.csr_matrix((dense[s, f], (s, f)), shape=dense.shape)
    assert csr.nnz == len(s)  # explicit zeros kept
    pop = rng.integers(0, 200, n_sites).astype(float)
    required = rng.random(n_sites) < 0.8
    return Case(dense, csr, pop, required, reach)


def subsets(cands: list[int], max_size: int | None = None):  # type: ignore[no-untyped-def]
    """Every subset of ``cands`` of at most ``max_size`` elements, smallest first."""
    top = len(cands) if max_size is None else min(max_size, len(cands))
    for k in range(top + 1):
        yield from itertools.combinations(cands, k)


def covers(dense: FloatArray, reach: float, chosen: tuple[int, ...], i: int) -> bool:
    """Does any of ``chosen`` reach site ``i``?"""
    return any(dense[i, j] <= reach for j in chosen)


def brute_lscp(dense: FloatArray, reach: float, required: NDArray[np.bool_],
               covered: NDArray[np.bool_], allowed: list[int]) -> int:
    """Fewest candidates covering every required, not yet covered, coverable site."""
    need = [i for i in range(dense.shape[0]) if required[i] and not covered[i]
            and any(dense[i, j] <= reach for j in allowed)]
    for sub in subsets(allowed):
        if all(covers(dense, reach, sub, i) for i in need):
            return len(sub)
    raise AssertionError("unreachable")


def brute_mclp(dense: FloatArray, reach: float, pop: FloatArray, required: NDArray[np.bool_],
               covered: NDArray[np.bool_], allowed: list[int], budget: int) -> float:
    """Most people at required sites covered by at most ``budget`` candidates."""
    best = -1.0
    for sub in subsets(allowed, budget):
        val = sum(pop[i] for i in range(dense.shape[0])
                  if required[i] and (covered[i] or covers(dense, reach, sub, i)))
        best = max(best, val)
    return best


def brute_median(dense: FloatArray, reach: float, pop: FloatArray, required: NDArray[np.bool_],
                 time0: FloatArray, allowed: list[int], budget: int, *,
                 unserved: float = math.inf) -> float:
    """Least people × minutes with at most ``budget`` candidates (sites nothing can serve
    left out; ``inf`` when a servable site is left without a facility).  An existing
    facility beyond the reach (``time0 > reach``) does not serve its site; a site nothing
    serves within the reach pays ``unserved`` minutes."""
    n = dense.shape[0]
    time0 = np.minimum(np.where(time0 <= reach, time0, np.inf), unserved)
    servable = [i for i in range(n) if required[i] and (math.isfinite(time0[i]) or any(
        dense[i, j] <= reach for j in allowed))]
    best = math.inf
    for sub in subsets(allowed, budget):
        total = 0.0
        for i in servable:
            t = min([time0[i]] + [dense[i, j] for j in sub if dense[i, j] <= reach])
            total += pop[i] * t if pop[i] > 0 else 0.0
            if not math.isfinite(t):
                total = math.inf
                break
        best = min(best, total)
    return best


def assignment_lp(dense: FloatArray, reach: float, demand: FloatArray, sites: list[int],
                  facs: list[int], cap: FloatArray, objective: str,
                  pop: FloatArray | None = None) -> float | None:
    """Capacitated assignment of ``sites`` to the open ``facs`` (dense LP, scipy linprog).

    ``objective``: ``"feasible"`` (every site served: 0.0 or None), ``"cover"`` (most people
    served, returned as a positive number) or ``"median"`` (least people × minutes, all
    served).  Returns ``None`` when infeasible."""
    pairs = [(a, b) for a, i in enumerate(sites) for b, j in enumerate(facs) if dense[i, j] <= reach]
    if not sites:
        return 0.0
    if not pairs:
        return 0.0 if objective == "cover" else None
    nv = len(pairs)
    a_eq = np.zeros((len(sites), nv))
    a_cap = np.zeros((len(facs), nv))
    c = np.zeros(nv)
    for k, (a, b) in enumerate(pairs):
        a_eq[a, k] = 1.0
        a_cap[b, k] = demand[sites[a]]
        if objective == "cover":
            c[k] = -(pop[sites[a]] if pop is not None else 1.0)
        elif objective == "median":
            c[k] = (pop[sites[a]] if pop is not None else 1.0) * dense[sites[a], facs[b]]
    capb = np.array([cap[j] for j in facs])
    if objective == "cover":
        r = linprog(c, A_ub=np.vstack([a_eq, a_cap]), b_ub=np.concatenate([np.ones(len(sites)), capb]),
                    bounds=(0, 1), method="highs")
        return -float(r.fun) if r.status == 0 else None
    r = linprog(c, A_ub=a_cap, b_ub=capb, A_eq=a_eq, b_eq=np.ones(len(sites)), bounds=(0, 1),
                method="highs")
    return float(r.fun) if r.status == 0 else None
