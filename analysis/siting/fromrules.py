"""Siting types from a rule set: the reach and the capacity norm of a facility type's rule.

:func:`type_from_rules` finds the rule(s) of a facility type and builds its
:class:`analysis.siting.problem.SitingType`: the reach is the rule's
``within_reach.max_time_min`` (the strictest, when several rules name the type) and the
capacity of a candidate is its units × the norm's ``max_per_unit`` (places × 1 child,
officers × 5,000 residents).  :func:`chosen_table` is the thin pandas view of a result.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike

from anzhi.core.errors import InputError, ProblemCollector
from analysis.rules import Rule
from analysis.siting.problem import SitingType
from analysis.siting.solve import SitingResult

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["type_from_rules", "chosen_table"]


def _units(units: ArrayLike | None, per_unit: float) -> np.ndarray[Any, np.dtype[np.float64]] | None:
    """Capacity in demand units: ``units × per_unit``."""
    return None if units is None else np.asarray(units, dtype=np.float64) * float(per_unit)


def type_from_rules(
    rules: Iterable[Rule], facility_type: str, *, cost_min: Any, pop: ArrayLike,
    required: ArrayLike | None = None, budget: int | None = None,
    candidate_units: ArrayLike | None = None, existing_units: ArrayLike | None = None,
    **fields: Any,
) -> SitingType:
    """The :class:`SitingType` of ``facility_type`` under its rules.

    Parameters
    ----------
    rules
        The run's rules (a :class:`analysis.rules.RuleSet`'s rules).
    facility_type
        The type to site; at least one rule must name it.
    cost_min, pop, required, budget
        As :class:`SitingType` (``required``: the sites the rules apply to and find short).
    candidate_units, existing_units
        Capacity units of each candidate / existing facility (places, officers), needed when
        the rule has a capacity norm with a limit per unit.
    **fields
        Any other :class:`SitingType` field (``existing_cost_min``, ``covered``,
        ``existing_time_min``, ``demand``, ``excluded``).

    Raises
    ------
    InputError
        No rule for the type, no time reach in its rules, or capacity units missing.
    """
    pc = ProblemCollector(file="siting")
    rules = list(rules)
    mine = [r for r in rules if r.facility_type == facility_type]
    if not mine:
        have = sorted({r.facility_type for r in rules})
        raise InputError(pc_message(facility_type, have))
    reach = [r.satisfied_by.within_reach.max_time_min for r in mine
             if r.satisfied_by.within_reach is not None
             and r.satisfied_by.within_reach.max_time_min is not None]
    if not reach:
        pc.add(f"no rule of facility type {facility_type!r} has a travel-time reach "
               f"(rules {[r.id for r in mine]})", value=None,
               fix="give the rule within_reach.max_time_min: siting works on travel minutes")
    norm = next((r.capacity for r in mine if r.capacity is not None
                 and not r.capacity.unlimited), None)
    capacity = existing_capacity = None
    if norm is not None:
        if candidate_units is None:
            pc.add(f"the rule of {facility_type!r} limits demand per "
                   f"{norm.unit_en or 'unit'} ({norm.describe('en')})", value=None,
                   fix="give candidate_units (units each new facility would have)")
        capacity = _units(candidate_units, norm.max_per_unit)
        existing_capacity = _units(existing_units, norm.max_per_unit)
    pc.raise_if_any()
    return SitingType(name=facility_type, cost_min=cost_min, reach_min=float(min(reach)),
                      pop=pop, required=required, budget=budget, capacity=capacity,
                      existing_capacity=existing_capacity, **fields)


def pc_message(facility_type: str, have: list[str]) -> str:
    """The message for a facility type no rule names."""
    return (f"siting: facility type {facility_type!r} has no rule in the rule set (types with "
            f"rules: {have}) — fix: add a rule for it, or leave it out of the siting run")


def chosen_table(result: SitingResult) -> pd.DataFrame:
    """One row per chosen candidate: ``facility_type``, ``candidate`` (column index of its
    matrix), ``model``, ``method``."""
    import pandas as pd

    rows = [(t.name, int(j)) for t in result.types for j in t.chosen]
    out = pd.DataFrame(rows, columns=["facility_type", "candidate"])
    out["model"] = result.model
    out["method"] = result.method
    return out
