"""What the app's rule controls edit: each rule's figures, the reach profile, service minutes.

Pure functions of a :class:`analysis.rules.RuleSet` (no Streamlit): the app draws one number
input per :class:`Threshold` of :func:`rule_thresholds` and hands the changed values to
:meth:`RuleSet.with_overrides` as ``{"<rule id>.<field>": value}``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from analysis.rules import Rule, RuleSet

__all__ = [
    "ANY_STAFFING_PER_UNIT",
    "Threshold",
    "rule_thresholds",
    "threshold_step",
    "profile_overrides",
    "service_minutes",
]

#: A capacity norm at or above this many people per unit encodes "any staffing" (一室一警,
#: written as 1e9 per officer), not a figure a planner edits.
ANY_STAFFING_PER_UNIT = 1e6


@dataclass(frozen=True)
class Threshold:
    """One editable figure of a rule: ``<rule_id>.<field>`` as :meth:`RuleSet.with_overrides`
    takes it."""

    rule_id: str
    field: str
    value: float
    integer: bool

    @property
    def override_key(self) -> str:
        """``police-800.min_population``."""
        return f"{self.rule_id}.{self.field}"

    @property
    def widget_key(self) -> str:
        """``thr:police-800.min_population``."""
        return f"thr:{self.override_key}"


@dataclass(frozen=True)
class _Figures:
    """Where a group of a rule's figures lives, and how they are edited."""

    part: Callable[[Rule], Any]  # the rule's part holding the fields (or None)
    fields: tuple[str, ...]
    integer: bool
    below: float | None = None  # only values below this are figures


#: The groups in the order the controls show them: population/household thresholds, reach
#: limits, capacity norms.
_GROUPS: tuple[_Figures, ...] = (
    _Figures(lambda r: r.applies, ("min_population", "max_population", "min_households"), True),
    _Figures(lambda r: r.satisfied_by.within_reach, ("max_time_min", "max_dist_m"), False),
    _Figures(lambda r: r.capacity, ("max_per_unit", "child_share"), False,
             below=ANY_STAFFING_PER_UNIT),
)


def rule_thresholds(ruleset: RuleSet) -> list[Threshold]:
    """The population/household thresholds, reach limits and capacity norms each rule has,
    in rule order."""
    out: list[Threshold] = []
    for rule in ruleset:
        for group in _GROUPS:
            part = group.part(rule)
            if part is None:
                continue
            for fld in group.fields:
                v = getattr(part, fld)
                if v is not None and (group.below is None or v < group.below):
                    out.append(Threshold(rule.id, fld, v, integer=group.integer))
    return out


def threshold_step(field: str, value: float) -> float:
    """Sensible increment of a (non-integer) threshold's number input."""
    if field == "max_time_min":
        return 5.0
    if field == "child_share":
        return 0.005
    if field == "max_per_unit":
        return 500.0 if value >= 1000 else 0.1
    return 100.0


def profile_overrides(ruleset: RuleSet, profile: str) -> dict[str, str]:
    """``{"<rule id>.profile": profile}`` for every reach rule written for another profile.

    The access table is computed with the chosen travel profile, so every reach limit then
    applies to it.
    """
    out: dict[str, str] = {}
    for rule in ruleset:
        wr = rule.satisfied_by.within_reach
        if wr is not None and wr.profile != profile:
            out[f"{rule.id}.profile"] = profile
    return out


def service_minutes(ruleset: RuleSet, types: Sequence[str], default_min: float) -> dict[str, float]:
    """Minutes of each type's service area: the largest time limit of its reach rules, or
    ``default_min`` when none of its rules has one."""
    out = {ft: float(default_min) for ft in types}
    limits: dict[str, float] = {}
    for rule in ruleset:
        wr = rule.satisfied_by.within_reach
        if wr is not None and wr.max_time_min and rule.facility_type in out:
            limits[rule.facility_type] = max(limits.get(rule.facility_type, 0.0), float(wr.max_time_min))
    out.update(limits)
    return out
