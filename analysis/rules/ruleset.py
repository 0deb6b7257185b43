"""The rule set: a named, versioned, ordered set of rules, read from its dict form, with
figures that can be overridden (``<rule id>.<field>``) and re-validated."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from anzhi.core.errors import InputError, Problem
from analysis.rules.model import Rule
from analysis.rules.parse import Checker, parse_rule_list

__all__ = ["RuleSet", "parse_rules"]

_TOP_KEYS = {"name", "version", "description", "rules"}

#: Fields that :meth:`RuleSet.with_overrides` may change, as ``<rule id>.<field>``, with the
#: path of the field inside a rule's dict form.
_OVERRIDABLE: dict[str, tuple[str, ...]] = {
    "min_population": ("applies", "min_population"),
    "max_population": ("applies", "max_population"),
    "min_households": ("applies", "min_households"),
    "kind": ("applies", "kind"),
    "radius_m": ("satisfied_by", "at_site", "radius_m"),
    "max_dist_m": ("satisfied_by", "within_reach", "max_dist_m"),
    "max_time_min": ("satisfied_by", "within_reach", "max_time_min"),
    "profile": ("satisfied_by", "within_reach", "profile"),
    "max_per_unit": ("capacity", "max_per_unit"),
    "min_per_unit": ("capacity", "min_per_unit"),
    "child_share": ("capacity", "child_share"),
}
_NUMERIC_FIELDS = {"min_population", "max_population", "min_households", "radius_m",
                   "max_dist_m", "max_time_min", "max_per_unit", "min_per_unit", "child_share"}


@dataclass(frozen=True)
class RuleSet:
    """A named, versioned, ordered set of rules.

    Attributes
    ----------
    name, version, description
        From the YAML file.
    rules
        The rules, in file order (the order of the gap list).
    origin
        Where the set came from (preset name or file name), for messages.
    overrides
        ``(key, value)`` pairs applied by :meth:`with_overrides`, in order, so that outputs
        can say which figures were changed from the file.
    """

    name: str
    version: str
    description: str
    rules: tuple[Rule, ...]
    origin: str = ""
    overrides: tuple[tuple[str, Any], ...] = field(default=())

    def __iter__(self) -> Iterator[Rule]:
        return iter(self.rules)

    def __len__(self) -> int:
        return len(self.rules)

    @property
    def rule_ids(self) -> list[str]:
        """Rule ids in order."""
        return [r.id for r in self.rules]

    @property
    def facility_types(self) -> tuple[str, ...]:
        """Facility types the rules need (each once, in rule order, a rule's
        ``also_types`` after its own type): route these."""
        return tuple(dict.fromkeys(t for r in self.rules
                                   for t in (r.facility_type, *r.satisfied_by.also_types)))

    def get(self, rule_id: str) -> Rule:
        """The rule with this id; unknown ids raise :class:`~anzhi.core.errors.InputError`."""
        for r in self.rules:
            if r.id == rule_id:
                return r
        raise InputError(Problem(
            f"rule set {self.name!r} has no rule {rule_id!r}", value=rule_id,
            fix=f"use one of: {', '.join(self.rule_ids)}"))

    def to_dict(self) -> dict[str, Any]:
        """Dict form as in the YAML file."""
        return {"name": self.name, "version": self.version, "description": self.description,
                "rules": [r.to_dict() for r in self.rules]}

    def with_overrides(self, overrides: Mapping[str, Any]) -> RuleSet:
        """Return a new rule set with some figures changed.

        Parameters
        ----------
        overrides
            ``{"<rule id>.<field>": value}``.  Fields: ``min_population``,
            ``max_population``, ``min_households``, ``kind``, ``radius_m`` (at-site radius,
            m), ``max_dist_m``, ``max_time_min``, ``profile``, ``max_per_unit``,
            ``min_per_unit`` and ``child_share`` (capacity norm; a ``max_per_unit`` below
            ``min_per_unit`` drops the range); the longer forms
            ``applies.min_population``, ``within_reach.max_time_min``,
            ``satisfied_by.within_reach.max_time_min`` are accepted too.  Values may be
            strings as typed on a command line (``"1000"``); ``None``/``"none"`` removes a
            limit.  Setting a ``within_reach`` field on a rule without one lets a nearby
            facility count for it.

        Returns
        -------
        RuleSet
            A new set; this one is unchanged.

        Raises
        ------
        InputError
            Unknown rule or field, or a value the rule file itself would refuse; every
            problem is listed.
        """
        problems: list[Problem] = []
        dicts = {r.id: r.to_dict() for r in self.rules}
        fields_help = ", ".join(_OVERRIDABLE)
        applied: list[tuple[str, Any]] = []
        for key, value in overrides.items():
            rule_id, _, fld = str(key).partition(".")
            if rule_id not in dicts:
                problems.append(Problem(
                    f"override {key!r}: rule set {self.name!r} has no rule {rule_id!r}",
                    file="overrides", value=value,
                    fix=f"use <rule id>.<field> with a rule id among {', '.join(self.rule_ids)}"))
                continue
            leaf = fld.split(".")[-1] if fld else ""
            path = _OVERRIDABLE.get(leaf)
            if path is None or not _suffix_of(fld, path):
                problems.append(Problem(
                    f"override {key!r}: {fld!r} is not a field that can be changed",
                    file="overrides", value=value, fix=f"use one of: {fields_help}"))
                continue
            ok, coerced = _coerce_override(value, numeric=leaf in _NUMERIC_FIELDS)
            if not ok:
                problems.append(Problem(
                    f"override {key!r}: {value!r} is not a number", file="overrides",
                    value=value, fix="give a plain number such as 1000 (no thousands separators)"))
                continue
            _set_path(dicts[rule_id], path, coerced)
            _keep_range(dicts[rule_id], leaf, coerced)
            applied.append((str(key), coerced))
        if problems:
            raise InputError(problems)
        origin = f"{self.origin} + overrides" if self.origin else "overrides"
        rules, rule_problems = parse_rule_list(list(dicts.values()), origin)
        if rule_problems:
            raise InputError(rule_problems)
        return dataclasses.replace(self, rules=tuple(rules),
                                   overrides=self.overrides + tuple(applied))


def _keep_range(d: dict[str, Any], leaf: str, value: Any) -> None:
    """A ``max_per_unit`` set below the range's ``min_per_unit`` (``--set
    police-ratio.max_per_unit=2000``) drops the range: the new figure is the norm."""
    cap = d.get("capacity")
    if leaf != "max_per_unit" or not isinstance(cap, dict) or value is None:
        return
    low = cap.get("min_per_unit")
    if isinstance(value, (int, float)) and isinstance(low, (int, float)) and low > value:
        cap.pop("min_per_unit")


def _suffix_of(fld: str, path: tuple[str, ...]) -> bool:
    parts = tuple(fld.split("."))
    return parts == path[-len(parts):]


def _coerce_override(value: Any, *, numeric: bool) -> tuple[bool, Any]:
    if value is None or (isinstance(value, str) and value.strip().lower() in {"", "none", "null"}):
        return True, None
    if not numeric:
        return True, value
    if isinstance(value, bool):
        return False, value
    if isinstance(value, (int, float)):
        return True, value
    try:
        f = float(str(value).strip())
    except ValueError:
        return False, value
    return True, int(f) if f.is_integer() else f


def _set_path(d: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    cur = d
    for p in path[:-1]:
        nxt = cur.get(p)
        if not isinstance(nxt, dict):
            nxt = {}
            cur[p] = nxt
        cur = nxt
    if value is None:
        cur.pop(path[-1], None)
        # a within_reach left without any limit means "no sharing"
        if path[-2] == "within_reach" and not ({"max_dist_m", "max_time_min"} & cur.keys()):
            d["satisfied_by"].pop("within_reach", None)
    else:
        cur[path[-1]] = value


def parse_rules(data: Any, *, source: str) -> RuleSet:
    """Validate a rule set in dict form (as loaded from YAML) and build a :class:`RuleSet`.

    Parameters
    ----------
    data
        The parsed YAML document: ``{name, version, description, rules: [...]}``.
    source
        File or preset name, used in every problem message and kept as ``origin``.

    Returns
    -------
    RuleSet
        The rules in file order, with ``origin`` = ``source``.

    Raises
    ------
    InputError
        Listing every problem found (unknown keys, unknown facility type, min >= max,
        missing source/clause/grade, bad grade, C grade not adjustable, duplicate ids...),
        each naming the file and the rule id.
    """
    c = Checker(source, None)
    if not isinstance(data, Mapping):
        c.add("a rule set must be a mapping with name, version, description and rules",
              value=type(data).__name__,
              fix="start the file with 'name: ...', 'version: ...' and 'rules:'")
        raise InputError(c.problems)
    c.unknown_keys(data, _TOP_KEYS, "the rule set")
    name = c.text(data, "name", required=True)
    version = c.text(data, "version", required=True)
    description = c.text(data, "description", required=False) or ""
    raw_rules = data.get("rules")
    rules: list[Rule] = []
    if not isinstance(raw_rules, list) or not raw_rules:
        c.add("rules is missing or not a list", key="rules", value=raw_rules,
              fix="list the rules under 'rules:', each starting with '- id: ...'")
    else:
        rules, probs = parse_rule_list(raw_rules, source)
        c.problems.extend(probs)
    if c.problems:
        raise InputError(c.problems)
    return RuleSet(name=name or "", version=version or "", description=description,
                   rules=tuple(rules), origin=source)

