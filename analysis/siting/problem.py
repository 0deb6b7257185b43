"""Siting inputs: one facility type's cost matrix, reach, demand and existing facilities, checked.

:class:`SitingType` is what a caller builds (plain arrays and a sparse site × candidate
matrix of travel minutes, as :func:`geo.paircosts.cost_matrix` gives it); :func:`check_types`
validates a run's types together (every problem collected, one :class:`InputError`) and
returns them as :class:`CheckedType` records: float/bool/int arrays of the right length, the
candidate pairs within reach as aligned ``(site, candidate, cost)`` arrays (never through
``!= 0``: a pair may cost exactly 0 minutes), and the existing facilities reduced to what the
models need.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray

from anzhi.core.errors import ProblemCollector

__all__ = ["MODELS", "REACH_UNITS", "SitingType", "CheckedType", "Pairs", "check_types", "pairs_of"]

#: The siting models: fewest new facilities (LSCP), most people covered with a budget
#: (MCLP), least population-weighted travel time with a budget (p-median).
MODELS: tuple[str, ...] = ("lscp", "mclp", "p_median")

#: Units of a type's reach and costs: travel minutes, or road metres (distance-only rules).
REACH_UNITS: tuple[str, ...] = ("min", "m")

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True, eq=False)
class SitingType:
    """One facility type to site: where new facilities may go, whom they must serve.

    Attributes
    ----------
    name
        The facility type (``kindergarten``, ``police_room``, ...); unique within a run.
    cost_min
        ``(n_sites, n_candidates)`` travel times, minutes, site → candidate: a
        ``scipy.sparse`` matrix whose *stored* entries are the pairs (an explicit ``0.0`` is a
        candidate at the site), a :class:`geo.paircosts.PairCosts`, or a dense array with
        ``inf``/NaN for "no road".  Entries above ``reach_min`` are ignored.
    reach_min
        The rule's reach, minutes: a site is covered by a facility it reaches in at most this.
    pop
        People at each site, ``(n_sites,)``; the weight of a site in MCLP and p-median.
    required
        Sites the rule requires the facility for, ``(n_sites,)`` bool; ``None`` = every site.
        Only these sites are demand; the others are left out of every model.
    budget
        New facilities allowed (MCLP, p-median; LSCP takes none: it finds the fewest).
    existing_cost_min
        ``(n_sites, n_existing)`` travel times to the existing facilities of this type (same
        forms as ``cost_min``); they are always open.
    covered
        ``(n_sites,)`` bool: sites already covered by an existing facility, for callers that
        have no matrix of the existing ones (``existing_cost_min`` and ``covered`` add up).
    existing_time_min
        ``(n_sites,)`` minutes to the nearest existing facility (``inf`` = none), for callers
        that have no matrix of the existing ones; used by p-median for sites that no new
        facility serves better.  A value beyond the reach is ignored, exactly as an entry of
        ``existing_cost_min`` beyond the reach (see *Existing facilities beyond the reach*).
    capacity
        ``(n_candidates,)`` demand one new facility may serve (places, or residents =
        officers × residents per officer); ``None`` = unlimited.  Makes every model the
        capacitated one (a site's demand may be split between facilities).
    existing_capacity
        ``(n_existing,)`` capacity of the existing facilities (needs ``existing_cost_min``);
        ``None`` = unlimited.
    demand
        ``(n_sites,)`` demand counted against capacity (children aged 3–5 for places);
        default ``pop``.
    excluded
        ``(n_candidates,)`` bool: candidates that may not be chosen (protected land, ...).
    reach_unit
        Keyword only: the unit of ``reach_min`` and of every cost (``cost_min``,
        ``existing_cost_min``, ``existing_time_min``): ``"min"`` (travel minutes, default) or
        ``"m"`` (road metres, for rules that give only a distance).  The fields keep their
        ``_min`` names; the notes and messages of a run state the reach in this unit
        ("beyond 2000 m").
    unserved_min
        Keyword only, p-median: this type's charge (in ``reach_unit``) for a required site
        that no facility serves within the reach; ``None``: the run's ``unserved_min`` of
        :func:`analysis.siting.site_facilities` (default: every such site must be served).

    Notes
    -----
    *Existing facilities beyond the reach.*  In every model a facility — new or existing —
    serves a site only within the reach: p-median assigns a site to its nearest open
    facility *within the reach*, and a facility farther away does not serve it.  So an
    existing facility beyond the reach is ignored whether it is given as a column of
    ``existing_cost_min`` or as a time in ``existing_time_min``: the two forms of the same
    instance give the same objective.  A site that no facility serves within the reach must
    get a new one, or pays ``unserved_min`` when given (the type's own, else the run's of
    :func:`analysis.siting.site_facilities`): the way to charge a site that only a far
    facility serves.
    """

    name: str
    cost_min: Any
    reach_min: float
    pop: ArrayLike
    required: ArrayLike | None = None
    budget: int | None = None
    existing_cost_min: Any = None
    covered: ArrayLike | None = None
    existing_time_min: ArrayLike | None = None
    capacity: ArrayLike | None = None
    existing_capacity: ArrayLike | None = None
    demand: ArrayLike | None = None
    excluded: ArrayLike | None = None
    reach_unit: str = field(default="min", kw_only=True)
    unserved_min: float | None = field(default=None, kw_only=True)


@dataclass(frozen=True, eq=False)
class Pairs:
    """Site × facility pairs as aligned arrays, sorted by site then facility."""

    site: IntArray
    fac: IntArray
    cost: FloatArray
    n_sites: int
    n_facs: int

    def within(self, reach: float) -> Pairs:
        """The pairs costing at most ``reach``."""
        keep = self.cost <= reach
        return Pairs(self.site[keep], self.fac[keep], self.cost[keep], self.n_sites, self.n_facs)

    def pattern(self) -> sp.csr_matrix:
        """``(n_sites, n_facs)`` CSR of ones at the pairs."""
        return sp.csr_matrix((np.ones(len(self.site)), (self.site, self.fac)),
                             shape=(self.n_sites, self.n_facs))

    def site_min(self) -> FloatArray:
        """Least cost of each site over its pairs (``inf`` for none)."""
        out = np.full(self.n_sites, np.inf)
        np.minimum.at(out, self.site, self.cost)
        return out


@dataclass(frozen=True, eq=False)
class CheckedType:
    """A :class:`SitingType` validated: arrays of the right types and lengths.

    ``pairs`` are the candidate pairs within reach (excluded candidates dropped),
    ``existing`` the existing pairs within reach, ``covered`` the sites an existing facility
    of unlimited capacity covers, ``time0_min`` the nearest existing time (``inf`` = none).
    """

    name: str
    reach_min: float
    pop: FloatArray
    required: BoolArray
    budget: int | None
    pairs: Pairs
    existing: Pairs | None
    covered: BoolArray
    time0_min: FloatArray
    capacity: FloatArray | None
    existing_capacity: FloatArray | None
    demand: FloatArray
    allowed: BoolArray
    reach_unit: str = "min"
    unserved_min: float | None = None

    @property
    def n_sites(self) -> int:
        """Number of sites."""
        return len(self.pop)

    @property
    def n_candidates(self) -> int:
        """Number of candidates (excluded ones included)."""
        return len(self.allowed)


def pairs_of(matrix: Any, what: str, pc: ProblemCollector) -> Pairs | None:
    """``matrix`` (sparse, :class:`geo.paircosts.PairCosts` or dense) as :class:`Pairs`;
    a problem recorded (and ``None``) when it is none of them or holds negative/NaN costs."""
    if all(hasattr(matrix, a) for a in ("site", "fac", "cost", "n_sites", "n_facs")):
        s, f, c = (np.asarray(getattr(matrix, a)) for a in ("site", "fac", "cost"))
        shape = (int(matrix.n_sites), int(matrix.n_facs))
    elif sp.issparse(matrix):
        coo = sp.coo_matrix(matrix)  # keeps explicit zeros
        s, f, c, shape = coo.row, coo.col, coo.data, coo.shape
    else:
        try:
            dense = np.asarray(matrix, dtype=np.float64)
        except (TypeError, ValueError):
            pc.add(f"{what} is not a matrix of minutes", value=type(matrix).__name__,
                   fix="pass a scipy.sparse matrix, a geo.paircosts.PairCosts or a 2-D array")
            return None
        if dense.ndim != 2:
            pc.add(f"{what} must be 2-D (sites × facilities)", value=dense.shape,
                   fix="pass one row per site and one column per facility")
            return None
        s, f = np.nonzero(np.isfinite(dense))
        c, shape = dense[s, f], dense.shape
    c = np.asarray(c, dtype=np.float64)
    bad = ~(c >= 0) | ~np.isfinite(c)
    if bad.any():
        pc.add(f"{what} holds {int(bad.sum())} negative, infinite or NaN stored costs",
               value=c[bad][:3].tolist(), fix="store only reachable pairs with times >= 0")
        return None
    order = np.lexsort((c, f, s))
    s, f, c = np.asarray(s, np.int64)[order], np.asarray(f, np.int64)[order], c[order]
    head = np.ones(len(s), dtype=bool)
    head[1:] = (s[1:] != s[:-1]) | (f[1:] != f[:-1])
    return Pairs(s[head], f[head], c[head], int(shape[0]), int(shape[1]))


def _vector(value: Any, n: int, what: str, pc: ProblemCollector, *, kind: str = "float",
            default: Any = None) -> Any:
    """``value`` as a length-``n`` float (``>= 0``, finite) or bool array; ``default`` if None."""
    if value is None:
        return default
    arr = np.asarray(value)
    if arr.shape != (n,):
        pc.add(f"{what} has shape {arr.shape}, expected ({n},)", value=arr.shape,
               fix=f"give one value per {'candidate' if 'candidate' in what else 'site'}")
        return default
    if kind == "bool":
        if arr.dtype != np.bool_:
            pc.add(f"{what} must be a bool mask", value=str(arr.dtype),
                   fix="pass a numpy bool array (True/False per entry)")
            return default
        return arr.astype(bool)
    try:
        out = arr.astype(np.float64)
    except (TypeError, ValueError):
        pc.add(f"{what} must be numbers", value=arr[:3].tolist(), fix="pass numbers")
        return default
    nan_ok = kind == "time"
    bad = np.isnan(out) | (out < 0) | (~nan_ok & np.isinf(out))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        pc.add(f"{what}[{i}] = {float(out[i])!r} is not a {'time >= 0' if nan_ok else 'finite number >= 0'}"
               f" ({int(bad.sum())} such)", value=float(out[i]),
               fix="use numbers >= 0 (inf allowed only for 'no existing facility')"
               if nan_ok else "use finite numbers >= 0")
        return default
    return out


def _budget(t: SitingType, model: str, pc: ProblemCollector) -> int | None:
    """The checked budget of ``t`` for ``model``."""
    b = t.budget
    if model == "lscp":
        if b is not None:
            pc.add(f"type {t.name!r}: LSCP takes no budget (it finds the fewest new facilities)",
                   value=b, fix="leave budget=None for LSCP, or use model='mclp'")
        return None
    if b is None:
        pc.add(f"type {t.name!r}: {model} needs a budget of new facilities", value=None,
               fix="give budget=N (an integer >= 0)")
        return None
    if isinstance(b, bool) or not isinstance(b, (int, np.integer)) or b < 0:
        pc.add(f"type {t.name!r}: budget = {b!r} is not an integer >= 0", value=b,
               fix="give the number of new facilities allowed, e.g. budget=3")
        return None
    return int(b)


def _unserved(t: SitingType, model: str, pc: ProblemCollector) -> float | None:
    """The checked ``unserved_min`` of ``t`` (p-median only)."""
    u = t.unserved_min
    if u is None:
        return None
    if isinstance(u, bool) or not isinstance(u, (int, float, np.number)) \
            or not math.isfinite(float(u)) or float(u) < 0 or model != "p_median":
        pc.add(f"type {t.name!r}: unserved_min = {u!r} is not a charge >= 0 of a p-median",
               value=u, fix=f"give {t.reach_unit} >= 0, and only with model='p_median'")
        return None
    return float(u)


def _check_one(t: SitingType, model: str, pc: ProblemCollector) -> CheckedType | None:
    """Validate one type (problems recorded on ``pc``)."""
    n_before = len(pc.problems)
    name = t.name
    reach = t.reach_min
    unit = t.reach_unit
    if unit not in REACH_UNITS:
        pc.add(f"type {name!r}: reach_unit = {unit!r} is not a unit of reach", value=unit,
               fix=f"use one of {list(REACH_UNITS)} (travel minutes or road metres)")
        unit = "min"
    what = "a time in minutes" if unit == "min" else "a distance in metres"
    if isinstance(reach, bool) or not isinstance(reach, (int, float, np.number)) \
            or not math.isfinite(float(reach)) or float(reach) < 0:
        pc.add(f"type {name!r}: reach_min = {reach!r} is not {what} >= 0", value=reach,
               fix="give the rule's reach in " + ("minutes (within_reach.max_time_min)"
                                                 if unit == "min" else
                                                 "metres (within_reach.max_dist_m)"))
    budget = _budget(t, model, pc)
    pairs = pairs_of(t.cost_min, f"type {name!r}: cost_min", pc)
    if pairs is None:
        return None
    n, m = pairs.n_sites, pairs.n_facs
    if t.pop is None:
        pc.add(f"type {name!r}: pop is missing", value=None, fix="give the people at each site")
    pop = _vector(t.pop, n, f"type {name!r}: pop", pc, default=np.zeros(n))
    required = _vector(t.required, n, f"type {name!r}: required", pc, kind="bool",
                       default=np.ones(n, dtype=bool))
    covered = _vector(t.covered, n, f"type {name!r}: covered", pc, kind="bool",
                      default=np.zeros(n, dtype=bool))
    time0 = _vector(t.existing_time_min, n, f"type {name!r}: existing_time_min", pc,
                    kind="time", default=np.full(n, np.inf))
    capacity = _vector(t.capacity, m, f"type {name!r}: capacity (per candidate)", pc)
    demand = _vector(t.demand, n, f"type {name!r}: demand", pc, default=pop)
    excluded = _vector(t.excluded, m, f"type {name!r}: excluded (per candidate)", pc,
                       kind="bool", default=np.zeros(m, dtype=bool))
    existing = None
    if t.existing_cost_min is not None:
        existing = pairs_of(t.existing_cost_min, f"type {name!r}: existing_cost_min", pc)
        if existing is not None and existing.n_sites != n:
            pc.add(f"type {name!r}: existing_cost_min has {existing.n_sites} rows but cost_min "
                   f"has {n} sites", value=existing.n_sites, fix="use the same sites, in order")
            existing = None
    if model == "p_median" and t.covered is not None and t.existing_time_min is None \
            and t.existing_cost_min is None:
        pc.add(f"type {name!r}: p-median needs the times to the existing facilities, not only "
               "a covered mask", value="covered",
               fix="give existing_time_min (minutes per site) or existing_cost_min")
    n_exist = existing.n_facs if existing is not None else 0
    ecap = _vector(t.existing_capacity, n_exist, f"type {name!r}: existing_capacity", pc)
    if t.existing_capacity is not None and t.existing_cost_min is None:
        pc.add(f"type {name!r}: existing_capacity needs existing_cost_min", value=None,
               fix="give the site × existing facility minutes, or drop existing_capacity")
    if m == 0 or bool(excluded.all()):
        pc.add(f"type {name!r}: all {m} candidates are excluded (or there are none)", value=m,
               fix="give candidate locations, or exclude fewer of them")
    if len(pc.problems) > n_before:
        return None
    reach = float(reach)
    allowed = ~excluded
    within = pairs.within(reach)
    keep = allowed[within.fac]
    cand = Pairs(within.site[keep], within.fac[keep], within.cost[keep], n, m)
    time0 = np.where(time0 <= reach, time0, np.inf)  # beyond the reach: does not serve
    unserved = _unserved(t, model, pc)
    ex_in = existing.within(reach) if existing is not None else None
    if ex_in is not None and (capacity is None or ecap is None):
        # an existing facility of unlimited capacity covers its sites, and is their fallback
        time0 = np.minimum(time0, ex_in.site_min())
        covered = covered | (np.bincount(ex_in.site, minlength=n) > 0)
        ex_in, ecap = None, None
    return CheckedType(name=name, reach_min=reach, pop=pop, required=required, budget=budget,
                       pairs=cand, existing=ex_in, covered=covered, time0_min=time0,
                       capacity=capacity, existing_capacity=ecap if capacity is not None else None,
                       demand=demand, allowed=allowed, reach_unit=unit,
                       unserved_min=unserved)


def check_types(types: Any, model: str, *, slots: ArrayLike | None = None
                ) -> tuple[list[CheckedType], IntArray | None]:
    """Validate the types of one run (and the shared ``slots``), raising once for all problems.

    Returns
    -------
    (types, slots)
        The :class:`CheckedType` records in input order, and the slots as ``int64`` (or
        ``None``).

    Raises
    ------
    InputError
        An unknown model, no types, a duplicate name, bad arrays or lengths, a negative or
        missing budget, all candidates excluded, slots on types of different candidates.
    """
    pc = ProblemCollector(file="siting")
    if model not in MODELS:
        pc.add(f"unknown siting model {model!r}", value=model, fix=f"use one of {list(MODELS)}")
        pc.raise_if_any()
    if isinstance(types, SitingType):
        types = [types]
    types = list(types)
    if not types:
        pc.add("no facility types to site", value=[], fix="give at least one SitingType")
    names = [getattr(t, "name", None) for t in types]
    for t in types:
        if not isinstance(t, SitingType):
            pc.add("a type is not a SitingType", value=type(t).__name__,
                   fix="build each type with analysis.siting.SitingType(...)")
    dup = sorted({str(x) for x in names if names.count(x) > 1})
    if dup:
        pc.add(f"facility types named twice: {dup}", value=dup,
               fix="give each type once (one SitingType per facility type)")
    pc.raise_if_any()
    checked = [_check_one(t, model, pc) for t in types]
    pc.raise_if_any()
    out = [c for c in checked if c is not None]
    n_sites = {c.n_sites for c in out}
    if len(n_sites) > 1:
        pc.add(f"the types have different numbers of sites: {sorted(n_sites)}",
               value=sorted(n_sites), fix="give every type's matrices the same sites, in order")
    slot_arr = None
    if slots is not None:
        m = {c.n_candidates for c in out}
        if len(m) > 1:
            pc.add(f"slots are shared by candidates, but the types have {sorted(m)} candidates",
                   value=sorted(m), fix="give every type the same candidate list, or no slots")
        else:
            s = _vector(slots, m.pop(), "slots (per candidate)", pc)
            if s is not None and np.any(s != np.round(s)):
                pc.add("slots must be whole numbers", value=s[s != np.round(s)][:3].tolist(),
                       fix="give the number of facilities each candidate may hold")
            elif s is not None:
                slot_arr = s.astype(np.int64)
    pc.raise_if_any()
    return out, slot_arr
