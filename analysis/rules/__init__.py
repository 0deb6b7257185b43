"""Policy rule sets: what a relocation site must have, with the clause that says so.

A rule set is a versioned YAML file (``analysis/rules/<name>.yaml``) with the top-level keys
``name``, ``version``, ``description`` and ``rules``.  Each rule::

    - id: police-800                 # unique; letters, digits, '-' and '_' (no '.')
      facility_type: police_room     # key (or label/alias) of anzhi.core.vocabulary
      applies:                       # all conditions must hold; omit for "every site"
        min_population: 800          # population >= this
        max_population: 10000        # population <  this (exclusive upper bound)
        min_households: 200          # households >= this (sites without households: no)
        kind: any                    # 城镇 | 农村 | any (urban/rural accepted)
      satisfied_by:                  # at least one of at_site / within_reach:
        also_types: [township_health_centre]   # optional: other facility types that
                                     #   meet the rule too (at the site or within reach)
        at_site: {radius_m: 300}     # a facility at the site; radius defaults to
                                     #   settings.at_site_radius_m (``at_site: true``)
        within_reach:                # a facility elsewhere, by the access table
          max_dist_m: 1000           #   road distance, and/or
          max_time_min: 30           #   travel time (both must hold when both given)
          profile: walk              #   walk | drive: the profile the access table uses
          grade: B                   #   the reach figure's own grade/source (optional)
          source: "..."
          adjustable: true           #   required true when grade is C
          note: "..."
      source: "004_758abde250e123ca.txt 贵州 2019"   # seed file + document short name
      clause: "三(四)19"
      grade: A                       # A | B | C (POLICY-RULES.md)
      adjustable: false              # must be true for C-grade figures
      label_zh: "3000人以上安置点设警务室"
      label_en: "Police room at sites of 3,000+"
      note: "..."                    # optional
      capacity:                      # optional capacity norm (gap_capacity)
        demand: population           #   population | children_3_5 (people the facility serves)
        max_per_unit: 5000           #   most demand per unit of facility capacity
                                     #   (5,000 residents per officer; 1 child per place)
        child_share: 0.04            #   children_3_5 only: share of the population aged
                                     #   3-5 when the site table has no children_3_5 column
        unit_zh: 名民警               #   the unit of the facilities' capacity column
        unit_en: officers
        grade: A                     #   the norm's own grade/source; C needs adjustable
        source: "..."
        clause: "..."
        adjustable: false
        note: "..."

A facility *at the site* always satisfies a rule (a site with its own clinic is within any
reach); ``satisfied_by.at_site`` sets the radius that counts as "at the site".  A rule
without ``within_reach`` can only be met at the site (e.g. police rooms).

Parsing and validation are pure (:func:`parse_rules`, :func:`rules_from_yaml`).  The only
file access in ``analysis`` is :func:`load_rules` reading the YAML files packaged right here
(package data, via :mod:`importlib.resources`); user rule files are read by
:func:`layers.rulesfile.read_rules`.

Presets: ``guizhou-2019``, ``baoshan-2023``, ``gb50180-2018`` and ``default`` (their
documented union).  The validator refuses unknown keys so that a typo never silently
disables a rule.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, cast

import yaml

from anzhi.core.errors import InputError, Problem
from anzhi.core.vocabulary import FACILITY_TYPES, label, normalise_facility_type

__all__ = [
    "Applies",
    "AtSite",
    "WithinReach",
    "SatisfiedBy",
    "Capacity",
    "DEMANDS",
    "Rule",
    "RuleSet",
    "GRADES",
    "KINDS",
    "PROFILES",
    "parse_rules",
    "rules_from_yaml",
    "load_rules",
    "preset_names",
    "reach_phrase",
]

#: Evidence grades (POLICY-RULES.md): A stated in a source, B reliable restatement,
#: C common planning default (must be marked adjustable).
GRADES: tuple[str, ...] = ("A", "B", "C")
#: Site kinds a rule may be restricted to (``any`` = no restriction).
KINDS: tuple[str, ...] = ("城镇", "农村", "any")
#: Travel profiles an access table can be computed with.
PROFILES: tuple[str, ...] = ("walk", "drive", "motorbike")
#: What a capacity norm counts: all residents, or children aged 3-5 (kindergarten places).
DEMANDS: tuple[str, ...] = ("population", "children_3_5")

_KIND_ALIASES = {
    "城镇": "城镇", "城镇安置": "城镇", "urban": "城镇", "town": "城镇",
    "农村": "农村", "农村安置": "农村", "rural": "农村",
    "any": "any", "all": "any", "全部": "any", "不限": "any",
}
_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]*$")

_TOP_KEYS = {"name", "version", "description", "rules"}
_RULE_KEYS = {"id", "facility_type", "applies", "satisfied_by", "source", "clause", "grade",
              "adjustable", "label_zh", "label_en", "note", "capacity"}
_CAPACITY_KEYS = {"demand", "max_per_unit", "child_share", "unit_zh", "unit_en", "grade",
                  "source", "clause", "adjustable", "note"}
_APPLIES_KEYS = {"min_population", "max_population", "min_households", "kind"}
_SATISFIED_KEYS = {"at_site", "within_reach", "also_types"}
_AT_SITE_KEYS = {"radius_m"}
_REACH_KEYS = {"max_dist_m", "max_time_min", "profile", "grade", "source", "adjustable", "note"}

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
    "child_share": ("capacity", "child_share"),
}
_NUMERIC_FIELDS = {"min_population", "max_population", "min_households", "radius_m",
                   "max_dist_m", "max_time_min", "max_per_unit", "child_share"}


# --------------------------------------------------------------------------------------
# Data model
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Applies:
    """When a rule applies to a site (all given conditions must hold).

    Attributes
    ----------
    min_population
        Site population (people) must be >= this; ``None`` = no lower bound.
    max_population
        Site population must be < this (exclusive); ``None`` = no upper bound.
    min_households
        Households must be >= this; a site whose households are unknown (NaN) does not
        meet it.  ``None`` = no condition.
    kind
        ``城镇``, ``农村`` or ``any``; a site with an empty kind only meets ``any``.
    """

    min_population: int | None = None
    max_population: int | None = None
    min_households: float | None = None
    kind: str = "any"

    def to_dict(self) -> dict[str, Any]:
        """Dict form as in the YAML file (``None`` fields and ``kind: any`` left out)."""
        d: dict[str, Any] = {}
        for f in ("min_population", "max_population", "min_households"):
            v = getattr(self, f)
            if v is not None:
                d[f] = v
        if self.kind != "any":
            d["kind"] = self.kind
        return d


@dataclass(frozen=True)
class AtSite:
    """A facility within ``radius_m`` metres straight-line (or with the same ``site_id``)
    is *at the site*; ``None`` means ``settings.at_site_radius_m`` at evaluation time."""

    radius_m: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """Dict form as in the YAML file."""
        return {} if self.radius_m is None else {"radius_m": self.radius_m}


@dataclass(frozen=True)
class WithinReach:
    """A facility elsewhere counts when the access table puts it within these limits.

    Attributes
    ----------
    max_dist_m
        Largest road distance, metres (``None`` = no distance limit).
    max_time_min
        Largest travel time, minutes, by ``profile`` (``None`` = no time limit).
    profile
        Travel profile the access table must have been computed with (``walk``/``drive``/``motorbike``).
    grade, source, adjustable, note
        Evidence for the reach figure itself, which is often weaker than the rule's.
    """

    max_dist_m: float | None = None
    max_time_min: float | None = None
    profile: str = "walk"
    grade: str | None = None
    source: str | None = None
    adjustable: bool = False
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Dict form as in the YAML file."""
        d: dict[str, Any] = {}
        if self.max_dist_m is not None:
            d["max_dist_m"] = self.max_dist_m
        if self.max_time_min is not None:
            d["max_time_min"] = self.max_time_min
        d["profile"] = self.profile
        if self.grade is not None:
            d["grade"] = self.grade
        if self.source is not None:
            d["source"] = self.source
        if self.adjustable:
            d["adjustable"] = True
        if self.note:
            d["note"] = self.note
        return d


@dataclass(frozen=True)
class SatisfiedBy:
    """How a site meets a rule: at the site and/or within reach.

    ``also_types`` lists other facility types that meet the rule the same way as the
    rule's own type, e.g. a township health centre for the clinic rule (贵州 2019 三(一)3:
    no new village clinic where the township health centre stands).
    """

    at_site: AtSite | None = None
    within_reach: WithinReach | None = None
    also_types: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Dict form as in the YAML file."""
        d: dict[str, Any] = {}
        if self.also_types:
            d["also_types"] = list(self.also_types)
        if self.at_site is not None:
            d["at_site"] = self.at_site.to_dict()
        if self.within_reach is not None:
            d["within_reach"] = self.within_reach.to_dict()
        return d


@dataclass(frozen=True)
class Capacity:
    """A capacity norm: how much demand one unit of a facility's capacity may serve.

    A site that is served (``ok`` / ``ok_shared``) becomes ``gap_capacity`` when the
    facilities serving it have less capacity than the demand assigned to them needs:
    ``demand > capacity * max_per_unit`` (see :func:`analysis.capacity.capacity_check`).

    Attributes
    ----------
    demand
        ``population`` (residents) or ``children_3_5`` (children aged 3-5, from the site
        table's ``children_3_5`` column where given, else ``population * child_share``).
    max_per_unit
        Most demand one unit of capacity may serve: 5,000 residents per police officer
        (保山民政 2021: 3,000-5,000), 1 child per kindergarten place.
    child_share
        Share (0-1) of the population aged 3-5, used for ``children_3_5`` when the site
        has no count of its own.
    unit_zh, unit_en
        Unit of the facilities' ``capacity`` column (名民警 / officers, 个学位 / places).
    grade, source, clause, adjustable, note
        Evidence for the norm itself (C grade must be adjustable).
    """

    demand: str
    max_per_unit: float
    child_share: float | None = None
    unit_zh: str = ""
    unit_en: str = ""
    grade: str | None = None
    source: str | None = None
    clause: str | None = None
    adjustable: bool = False
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Dict form as in the YAML file."""
        d: dict[str, Any] = {"demand": self.demand, "max_per_unit": self.max_per_unit}
        for k in ("child_share", "grade", "source", "clause"):
            v = getattr(self, k)
            if v is not None:
                d[k] = v
        for k in ("unit_zh", "unit_en", "note"):
            v = getattr(self, k)
            if v:
                d[k] = v
        if self.adjustable:
            d["adjustable"] = True
        return d

    def describe(self, lang: str = "zh") -> str:
        """The norm in words: ``每名民警 ≤ 5,000 人`` / ``≤ 5,000 people per officer``."""
        zh = lang == "zh"
        unit = (self.unit_zh or "单位容量") if zh else (self.unit_en or "unit of capacity")
        if zh:
            who = "名3–5岁儿童" if self.demand == "children_3_5" else " 人"
            text = f"每{unit} ≤ {_num(self.max_per_unit)}{who}"
            if self.demand == "children_3_5" and self.child_share is not None:
                text += f";无儿童数时按人口 {self.child_share:.1%} 估算"
            return text
        who = "children aged 3–5" if self.demand == "children_3_5" else "people"
        text = f"≤ {_num(self.max_per_unit)} {who} per {unit.rstrip('s')}"
        if self.demand == "children_3_5" and self.child_share is not None:
            text += f"; estimated as {self.child_share:.1%} of the population where not given"
        return text


@dataclass(frozen=True)
class Rule:
    """One policy rule: a facility type a site must have when it meets ``applies``."""

    id: str
    facility_type: str
    applies: Applies
    satisfied_by: SatisfiedBy
    source: str
    clause: str
    grade: str
    adjustable: bool
    label_zh: str
    label_en: str
    note: str = ""
    capacity: Capacity | None = None

    def label(self, lang: str = "zh") -> str:
        """The rule's label in Chinese (``zh``) or English (``en``)."""
        return self.label_zh if lang == "zh" else self.label_en

    def to_dict(self) -> dict[str, Any]:
        """Dict form as in the YAML file; :func:`parse_rules` reads it back unchanged."""
        d: dict[str, Any] = {"id": self.id, "facility_type": self.facility_type}
        applies = self.applies.to_dict()
        if applies:
            d["applies"] = applies
        d["satisfied_by"] = self.satisfied_by.to_dict()
        d.update(source=self.source, clause=self.clause, grade=self.grade,
                 adjustable=self.adjustable, label_zh=self.label_zh, label_en=self.label_en)
        if self.note:
            d["note"] = self.note
        if self.capacity is not None:
            d["capacity"] = self.capacity.to_dict()
        return d

    def describe_applies(self, lang: str = "zh") -> str:
        """When the rule applies, in words (e.g. ``人数 ≥ 800``, ``population ≥ 800``)."""
        a = self.applies
        parts: list[str] = []
        pop = "人数" if lang == "zh" else "population"
        if a.min_population is not None and a.max_population is not None:
            parts.append(f"{a.min_population:,} ≤ {pop} < {a.max_population:,}")
        elif a.min_population is not None:
            parts.append(f"{pop} ≥ {a.min_population:,}")
        elif a.max_population is not None:
            parts.append(f"{pop} < {a.max_population:,}")
        if a.min_households is not None:
            hh = "户数" if lang == "zh" else "households"
            parts.append(f"{hh} ≥ {_num(a.min_households)}")
        if a.kind != "any":
            parts.append(f"{a.kind}安置点" if lang == "zh" else
                         ("urban sites" if a.kind == "城镇" else "rural sites"))
        if not parts:
            return "每个安置点" if lang == "zh" else "every site"
        return ("、" if lang == "zh" else ", ").join(parts)

    def describe_reach(self, lang: str = "zh") -> str:
        """What counts as served, in words (e.g. ``安置点内或步行 30 分钟内``)."""
        sb = self.satisfied_by
        radius = sb.at_site.radius_m if sb.at_site is not None else None
        if lang == "zh":
            at = "安置点内" + (f"({_num(radius)} 米内)" if radius is not None else "")
        else:
            at = "at the site" + (f" (within {_num(radius)} m)" if radius is not None else "")
        wr = sb.within_reach
        text = at if wr is None else f"{at}{'或' if lang == 'zh' else ' or '}{reach_phrase(wr, lang)}"
        if sb.also_types:
            names = [label(t, lang) for t in sb.also_types]
            text += (f"(亦可为{'、'.join(names)})" if lang == "zh" else
                     f" (also: {', '.join(n.lower() for n in names)})")
        return text


def reach_phrase(wr: WithinReach, lang: str = "zh") -> str:
    """The reach limits in words: ``步行 30 分钟内`` / ``within 30 min walk``."""
    if lang == "zh":
        mode = {"walk": "步行", "motorbike": "摩托车程"}.get(wr.profile, "车程")
        parts = []
        if wr.max_time_min is not None:
            parts.append(f"{mode} {_num(wr.max_time_min)} 分钟")
        if wr.max_dist_m is not None:
            parts.append(f"路网距离 {_num(wr.max_dist_m)} 米")
        return "且".join(parts) + "内"
    mode = {"walk": "walk", "motorbike": "motorbike ride"}.get(wr.profile, "drive")
    parts = []
    if wr.max_time_min is not None:
        parts.append(f"{_num(wr.max_time_min)} min {mode}")
    if wr.max_dist_m is not None:
        parts.append(f"{_num(wr.max_dist_m)} m by road")
    return "within " + " and ".join(parts)


def _num(x: float | int | None) -> str:
    if x is None:
        return ""
    if float(x).is_integer():
        return f"{int(x):,}"
    return f"{x:,.1f}"


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
            m), ``max_dist_m``, ``max_time_min``, ``profile``, ``max_per_unit`` and
            ``child_share`` (capacity norm); the longer forms
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
            applied.append((str(key), coerced))
        if problems:
            raise InputError(problems)
        origin = f"{self.origin} + overrides" if self.origin else "overrides"
        rules, rule_problems = _parse_rule_list(list(dicts.values()), origin)
        if rule_problems:
            raise InputError(rule_problems)
        return dataclasses.replace(self, rules=tuple(rules),
                                   overrides=self.overrides + tuple(applied))


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


# --------------------------------------------------------------------------------------
# Parsing and validation
# --------------------------------------------------------------------------------------


class _Checker:
    """Collects problems for one rule (or the file), naming file and rule id."""

    def __init__(self, source: str, rule_id: str | None) -> None:
        self.source = source
        self.rule_id = rule_id
        self.problems: list[Problem] = []

    def add(self, msg: str, *, key: str | None = None, value: Any = None,
            fix: str | None = None) -> None:
        where = f"rule {self.rule_id!r}: " if self.rule_id else ""
        self.problems.append(Problem(where + msg, file=self.source, column=key, value=value,
                                     fix=fix))

    def unknown_keys(self, d: Mapping[str, Any], allowed: set[str], where: str) -> None:
        for k in d:
            if k not in allowed:
                self.add(f"unknown key {k!r} in {where}", key=str(k),
                         fix=f"allowed keys are {', '.join(sorted(allowed))}")

    def number(self, d: Mapping[str, Any], key: str, where: str, *, integer: bool = False,
               positive: bool = False) -> float | int | None:
        if key not in d or d[key] is None:
            return None
        v = d[key]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            self.add(f"{where}.{key} is not a number", key=f"{where}.{key}", value=v,
                     fix="write a plain number such as 3000 (no thousands separators)")
            return None
        if v < 0 or (positive and v <= 0):
            self.add(f"{where}.{key} must be {'> 0' if positive else '>= 0'}",
                     key=f"{where}.{key}", value=v)
            return None
        if integer:
            if not float(v).is_integer():
                self.add(f"{where}.{key} must be a whole number", key=f"{where}.{key}", value=v)
                return None
            return int(v)
        return v

    def text(self, d: Mapping[str, Any], key: str, *, required: bool) -> str | None:
        v = d.get(key)
        if v is None or (isinstance(v, str) and not v.strip()):
            if required:
                self.add(f"{key} is missing", key=key,
                         fix=f"every rule needs {key} (see POLICY-RULES.md)")
            return None
        if not isinstance(v, (str, int, float)) or isinstance(v, bool):
            self.add(f"{key} must be text", key=key, value=v)
            return None
        return str(v).strip()

    def grade(self, d: Mapping[str, Any], key: str, where: str, *, required: bool) -> str | None:
        v = d.get(key)
        if v is None:
            if required:
                self.add(f"{where}grade is missing", key=key, fix="write grade: A, B or C")
            return None
        g = str(v).strip().upper()
        if g not in GRADES:
            self.add(f"{where}grade {v!r} is not A, B or C", key=key, value=v,
                     fix="A = stated in a source, B = reliable restatement, C = planning default")
            return None
        return g

    def boolean(self, d: Mapping[str, Any], key: str, where: str) -> bool | None:
        v = d.get(key, False)
        if v is None:
            return False
        if not isinstance(v, bool):
            self.add(f"{where}{key} must be true or false", key=key, value=v)
            return None
        return v


def _parse_rule(raw: Any, index: int, source: str) -> tuple[Rule | None, list[Problem]]:
    rid = raw.get("id") if isinstance(raw, Mapping) else None
    rid_text = str(rid) if rid is not None else f"#{index + 1}"
    c = _Checker(source, rid_text)
    if not isinstance(raw, Mapping):
        c.add("is not a mapping of keys (id, facility_type, ...)", value=raw)
        return None, c.problems
    c.unknown_keys(raw, _RULE_KEYS, "the rule")

    if rid is None or not isinstance(rid, str) or not _ID_RE.match(rid):
        c.add("id is missing or invalid", key="id", value=rid,
              fix="give each rule an id of letters, digits, '-' or '_' (no dots), e.g. police-800")

    ft_raw = raw.get("facility_type")
    ft = normalise_facility_type(ft_raw) if ft_raw is not None else None
    if ft is None:
        c.add("unknown facility type" if ft_raw is not None else "facility_type is missing",
              key="facility_type", value=ft_raw,
              fix=f"use one of: {', '.join(FACILITY_TYPES)}")

    # applies
    applies_raw = raw.get("applies") or {}
    applies = Applies()
    if not isinstance(applies_raw, Mapping):
        c.add("applies must be a mapping", key="applies", value=applies_raw)
    else:
        c.unknown_keys(applies_raw, _APPLIES_KEYS, "applies")
        min_pop = c.number(applies_raw, "min_population", "applies", integer=True)
        max_pop = c.number(applies_raw, "max_population", "applies", integer=True, positive=True)
        min_hh = c.number(applies_raw, "min_households", "applies")
        kind_raw = applies_raw.get("kind", "any")
        kind = _KIND_ALIASES.get(str(kind_raw).strip().lower() if kind_raw is not None else "any")
        if kind is None:
            c.add(f"applies.kind {kind_raw!r} is not 城镇, 农村 or any", key="applies.kind",
                  value=kind_raw, fix="write kind: 城镇, 农村 or any")
            kind = "any"
        if min_pop is not None and max_pop is not None and min_pop >= max_pop:
            c.add(f"applies.min_population {min_pop:,} is not below max_population {max_pop:,}"
                  " (max is exclusive), so the rule can never apply",
                  key="applies", value={"min_population": min_pop, "max_population": max_pop},
                  fix="make min_population smaller than max_population")
        applies = Applies(min_population=min_pop, max_population=max_pop,  # type: ignore[arg-type]
                          min_households=min_hh, kind=kind)

    # satisfied_by
    sb_raw = raw.get("satisfied_by")
    at_site: AtSite | None = None
    reach: WithinReach | None = None
    also_types: tuple[str, ...] = ()
    if not isinstance(sb_raw, Mapping) or not sb_raw:
        c.add("satisfied_by is missing or empty", key="satisfied_by", value=sb_raw,
              fix="give satisfied_by: {at_site: true} and/or {within_reach: {max_time_min: 30}}")
    else:
        c.unknown_keys(sb_raw, _SATISFIED_KEYS, "satisfied_by")
        a_raw = sb_raw.get("at_site")
        if a_raw is True or (isinstance(a_raw, Mapping)):
            a_map = a_raw if isinstance(a_raw, Mapping) else {}
            c.unknown_keys(a_map, _AT_SITE_KEYS, "satisfied_by.at_site")
            radius = c.number(a_map, "radius_m", "at_site", positive=True)
            at_site = AtSite(radius_m=radius)
        elif a_raw not in (None, False):
            c.add("satisfied_by.at_site must be true or {radius_m: <metres>}",
                  key="satisfied_by.at_site", value=a_raw)
        w_raw = sb_raw.get("within_reach")
        if isinstance(w_raw, Mapping):
            c.unknown_keys(w_raw, _REACH_KEYS, "satisfied_by.within_reach")
            max_d = c.number(w_raw, "max_dist_m", "within_reach", positive=True)
            max_t = c.number(w_raw, "max_time_min", "within_reach", positive=True)
            if w_raw.get("max_dist_m") is None and w_raw.get("max_time_min") is None:
                c.add("satisfied_by.within_reach needs max_dist_m and/or max_time_min",
                      key="satisfied_by.within_reach",
                      fix="e.g. within_reach: {max_time_min: 30, profile: walk}")
            profile = str(w_raw.get("profile", "walk")).strip().lower()
            if profile not in PROFILES:
                c.add(f"within_reach.profile {w_raw.get('profile')!r} is not one of "
                      f"{', '.join(PROFILES)}",
                      key="satisfied_by.within_reach.profile", value=w_raw.get("profile"))
                profile = "walk"
            w_grade = c.grade(w_raw, "grade", "within_reach ", required=False)
            w_adj = c.boolean(w_raw, "adjustable", "within_reach ")
            if w_grade == "C" and w_adj is False:
                c.add("within_reach is grade C (a planning default) but not marked adjustable",
                      key="satisfied_by.within_reach.adjustable",
                      fix="add adjustable: true; a C-grade figure must never read as policy")
            w_src = w_raw.get("source")
            reach = WithinReach(max_dist_m=max_d, max_time_min=max_t, profile=profile,
                                grade=w_grade, source=str(w_src).strip() if w_src else None,
                                adjustable=bool(w_adj), note=str(w_raw.get("note") or ""))
        elif w_raw is not None:
            c.add("satisfied_by.within_reach must be a mapping such as {max_time_min: 30}",
                  key="satisfied_by.within_reach", value=w_raw)
        also: list[str] = []
        a_types = sb_raw.get("also_types")
        if a_types is not None:
            if not isinstance(a_types, list) or not a_types:
                c.add("satisfied_by.also_types must be a list of facility types",
                      key="satisfied_by.also_types", value=a_types,
                      fix="e.g. also_types: [township_health_centre]")
            else:
                for t_raw in a_types:
                    t = normalise_facility_type(t_raw)
                    if t is None:
                        c.add("unknown facility type in satisfied_by.also_types",
                              key="satisfied_by.also_types", value=t_raw,
                              fix=f"use one of: {', '.join(FACILITY_TYPES)}")
                    elif t != ft and t not in also:
                        also.append(t)
        also_types = tuple(also)
        if at_site is None and reach is None and not any(
                p.column and p.column.startswith("satisfied_by") for p in c.problems):
            c.add("satisfied_by has neither at_site nor within_reach", key="satisfied_by",
                  value=dict(sb_raw), fix="give at_site: true and/or within_reach: {...}")

    src = c.text(raw, "source", required=True)
    clause = c.text(raw, "clause", required=True)
    grade = c.grade(raw, "grade", "", required=True)
    adjustable = c.boolean(raw, "adjustable", "")
    if grade == "C" and adjustable is False:
        c.add("grade C (a planning default) but not marked adjustable", key="adjustable",
              fix="add adjustable: true; a C-grade figure must never read as policy")
    label_zh = c.text(raw, "label_zh", required=False)
    label_en = c.text(raw, "label_en", required=False)
    note = c.text(raw, "note", required=False) or ""
    capacity = _parse_capacity(raw.get("capacity"), c)

    if c.problems:
        return None, c.problems
    # no problems means every required field was read
    ft, src, clause, grade = cast(str, ft), cast(str, src), cast(str, clause), cast(str, grade)
    return Rule(
        id=cast(str, rid), facility_type=ft, applies=applies,
        satisfied_by=SatisfiedBy(at_site=at_site, within_reach=reach, also_types=also_types),
        source=src, clause=clause, grade=grade, adjustable=bool(adjustable),
        label_zh=label_zh or f"{label(ft, 'zh')}({rid})",
        label_en=label_en or f"{label(ft, 'en')} ({rid})", note=note, capacity=capacity,
    ), []


def _parse_capacity(raw: Any, c: _Checker) -> Capacity | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        c.add("capacity must be a mapping such as {demand: population, max_per_unit: 5000}",
              key="capacity", value=raw)
        return None
    c.unknown_keys(raw, _CAPACITY_KEYS, "capacity")
    demand = str(raw.get("demand", "")).strip()
    if demand not in DEMANDS:
        c.add(f"capacity.demand {raw.get('demand')!r} is not population or children_3_5",
              key="capacity.demand", value=raw.get("demand"),
              fix="write demand: population (residents) or children_3_5 (kindergartens)")
    per = c.number(raw, "max_per_unit", "capacity", positive=True)
    if raw.get("max_per_unit") is None:
        c.add("capacity.max_per_unit is missing", key="capacity.max_per_unit",
              fix="e.g. max_per_unit: 5000 (residents per officer) or 1 (child per place)")
    share = c.number(raw, "child_share", "capacity")
    if share is not None and share > 1:
        c.add("capacity.child_share must be a share between 0 and 1", key="capacity.child_share",
              value=share, fix="write 0.04 for 4%")
        share = None
    if demand == "children_3_5" and raw.get("child_share") is None:
        c.add("capacity.child_share is missing for demand children_3_5",
              key="capacity.child_share",
              fix="give the share of the population aged 3-5, e.g. child_share: 0.04")
    grade = c.grade(raw, "grade", "capacity ", required=False)
    adj = c.boolean(raw, "adjustable", "capacity ")
    if grade == "C" and adj is False:
        c.add("capacity is grade C (a planning default) but not marked adjustable",
              key="capacity.adjustable",
              fix="add adjustable: true; a C-grade figure must never read as policy")
    if per is None or demand not in DEMANDS:
        return None
    def txt(k: str) -> str | None:
        v = raw.get(k)
        return str(v).strip() if v not in (None, "") else None
    return Capacity(demand=demand, max_per_unit=per,
                    child_share=share if demand == "children_3_5" else None,
                    unit_zh=txt("unit_zh") or "", unit_en=txt("unit_en") or "", grade=grade,
                    source=txt("source"), clause=txt("clause"), adjustable=bool(adj),
                    note=txt("note") or "")


def _parse_rule_list(raw_rules: list[Any], source: str) -> tuple[list[Rule], list[Problem]]:
    problems: list[Problem] = []
    rules: list[Rule] = []
    seen: set[str] = set()
    for i, raw in enumerate(raw_rules):
        rule, probs = _parse_rule(raw, i, source)
        problems.extend(probs)
        if rule is not None:
            if rule.id in seen:
                problems.append(Problem(f"rule {rule.id!r}: id used twice", file=source,
                                        column="id", value=rule.id,
                                        fix="give every rule its own id"))
            seen.add(rule.id)
            rules.append(rule)
    return rules, problems


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

    Raises
    ------
    InputError
        Listing every problem found (unknown keys, unknown facility type, min >= max,
        missing source/clause/grade, bad grade, C grade not adjustable, duplicate ids...),
        each naming the file and the rule id.
    """
    c = _Checker(source, None)
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
        rules, probs = _parse_rule_list(raw_rules, source)
        c.problems.extend(probs)
    if c.problems:
        raise InputError(c.problems)
    return RuleSet(name=name or "", version=version or "", description=description,
                   rules=tuple(rules), origin=source)


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys (YAML would silently keep the last)."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode,
                       deep: bool = False) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    out: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in out:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark)
        out[key] = loader.construct_object(value_node, deep=deep)
    return out


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
                                 _construct_mapping)


def rules_from_yaml(text: str, *, source: str) -> RuleSet:
    """Parse and validate a rule set from YAML text.

    Parameters
    ----------
    text
        The YAML document.
    source
        File or preset name for messages.

    Raises
    ------
    InputError
        YAML syntax errors (with line and column), duplicate keys, and everything
        :func:`parse_rules` checks.
    """
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - safe loader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise InputError(Problem(f"not valid YAML{where}: {problem}", file=source,
                                 fix="check indentation and quoting around that line")) from exc
    return parse_rules(data, source=source)


def preset_names() -> list[str]:
    """Names of the rule sets packaged with Anzhi (``default``, ...)."""
    root = resources.files(__name__)
    return sorted(p.name[:-5] for p in root.iterdir() if p.name.endswith(".yaml"))


def load_rules(name: str = "default") -> RuleSet:
    """Load a rule set packaged with Anzhi by name.

    This reads package data of ``analysis.rules`` only (the one file access allowed in
    ``analysis``); user files go through :func:`layers.rulesfile.read_rules`, which also
    accepts preset names.

    Parameters
    ----------
    name
        Preset name, e.g. ``"default"`` (see :func:`preset_names`).

    Raises
    ------
    InputError
        Unknown preset (the message lists the known ones).
    """
    names = preset_names()
    if name not in names:
        raise InputError(Problem(
            f"no packaged rule set named {name!r}", value=name,
            fix=f"use one of: {', '.join(names)}; for your own YAML file use "
                "layers.rulesfile.read_rules(path) or --rules path/to/file.yaml"))
    text = resources.files(__name__).joinpath(f"{name}.yaml").read_text(encoding="utf-8")
    return rules_from_yaml(text, source=f"{name}.yaml")
