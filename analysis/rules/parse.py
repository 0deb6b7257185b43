"""Parsing and validation of one rule from its dict form (as loaded from YAML).

Every problem is collected (with the file, the rule id, the key and a fix) instead of
raising at the first: :func:`parse_rule` returns the rule or the problems, and
:func:`parse_rule_list` adds the check that ids are unique.  The rule set around the rules
is read by :func:`analysis.rules.ruleset.parse_rules`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any, cast

from anzhi.core.errors import Problem
from anzhi.core.vocabulary import FACILITY_TYPES, label, normalise_facility_type
from analysis.rules.documents import documents, resolve_source
from analysis.rules.model import (DEMANDS, GRADES, NO_PER_UNIT_LIMIT, PROFILES, Applies,
                                  AtSite, Capacity, Rule, SatisfiedBy, WithinReach)

__all__ = ["Checker", "parse_rule", "parse_rule_list"]

_KIND_ALIASES = {
    "城镇": "城镇", "城镇安置": "城镇", "urban": "城镇", "town": "城镇",
    "农村": "农村", "农村安置": "农村", "rural": "农村",
    "any": "any", "all": "any", "全部": "any", "不限": "any",
}
#: ``max_per_unit`` words for "no limit per unit" (at least one unit: 一室一警).
_UNLIMITED = frozenset({"unlimited", "none", "不限"})
_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]*$")
#: A ``source`` written like a document id (``guizhou-2019``): it must be registered.
_DOC_ID_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)+$")

_RULE_KEYS = {"id", "facility_type", "applies", "satisfied_by", "source", "clause", "clause_en",
              "grade", "adjustable", "label_zh", "label_en", "note", "note_en", "capacity"}
_CAPACITY_KEYS = {"demand", "max_per_unit", "min_per_unit", "child_share", "unit_zh", "unit_en",
                  "grade", "source", "clause", "clause_en", "adjustable", "note", "note_en"}
_APPLIES_KEYS = {"min_population", "max_population", "min_households", "kind"}
_SATISFIED_KEYS = {"at_site", "within_reach", "also_types"}
_AT_SITE_KEYS = {"radius_m"}
_REACH_KEYS = {"max_dist_m", "max_time_min", "profile", "grade", "source", "clause", "clause_en",
               "adjustable", "note", "note_en"}


class Checker:
    """Collects problems for one rule (or the file), naming file and rule id."""

    def __init__(self, source: str, rule_id: str | None) -> None:
        self.source = source
        self.rule_id = rule_id
        self.problems: list[Problem] = []

    def add(self, msg: str, *, key: str | None = None, value: Any = None,
            fix: str | None = None) -> None:
        """Record a problem, prefixed with the rule id."""
        where = f"rule {self.rule_id!r}: " if self.rule_id else ""
        self.problems.append(Problem(where + msg, file=self.source, column=key, value=value,
                                     fix=fix))

    def unknown_keys(self, d: Mapping[str, Any], allowed: set[str], where: str) -> None:
        """One problem per key of ``d`` not in ``allowed`` (a typo must not go unseen)."""
        for k in d:
            if k not in allowed:
                self.add(f"unknown key {k!r} in {where}", key=str(k),
                         fix=f"allowed keys are {', '.join(sorted(allowed))}")

    def number(self, d: Mapping[str, Any], key: str, where: str, *, integer: bool = False,
               positive: bool = False) -> float | int | None:
        """``d[key]`` as a finite number >= 0 (> 0 if ``positive``), ``None`` if absent or bad."""
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
        """``d[key]`` as stripped text, ``None`` if absent (a problem when ``required``)."""
        v = d.get(key)
        if v is None or (isinstance(v, str) and not v.strip()):
            if required:
                self.add(f"{key} is missing", key=key,
                         fix=f"every rule needs {key} (see docs/policy-rules.md)")
            return None
        if not isinstance(v, (str, int, float)) or isinstance(v, bool):
            self.add(f"{key} must be text", key=key, value=v)
            return None
        return str(v).strip()

    def grade(self, d: Mapping[str, Any], key: str, where: str, *, required: bool) -> str | None:
        """``d[key]`` as an evidence grade A, B or C (upper case), ``None`` if absent or bad."""
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

    def graded(self, d: Mapping[str, Any], where: str, *, key: str,
               required: bool = False) -> tuple[str | None, bool | None]:
        """A figure's ``grade`` and ``adjustable`` flag; a C grade must be adjustable.

        ``where`` prefixes the messages (``"capacity "``, ``""`` for the rule itself) and
        ``key`` names the ``adjustable`` key in them.
        """
        grade = self.grade(d, "grade", where, required=required)
        adjustable = self.boolean(d, "adjustable", where)
        if grade == "C" and adjustable is False:
            subject = f"{where}is grade C" if where else "grade C"
            self.add(f"{subject} (a planning default) but not marked adjustable", key=key,
                     fix="add adjustable: true; a C-grade figure must never read as policy")
        return grade, adjustable

    def citation(self, raw: Any, key: str) -> dict[str, Any]:
        """A ``source`` as ``{source, source_en, source_id}``: a registered document id
        resolved to its citable titles, other text kept as written (``{}`` when absent).

        Text written like a document id (``guizhou-2019``) that is not registered is a
        problem: a typo must not turn a citation into a bare slug.
        """
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            return {}
        text = " ".join(str(raw).split())
        zh, en, doc_id = resolve_source(text)
        if doc_id is None and _DOC_ID_RE.match(text):
            self.add(f"{key} {text!r} is not a registered document", key=key, value=text,
                     fix=f"use one of: {', '.join(documents())} (docs/sources.md), "
                         "or write the document's full title")
        return {"source": zh, "source_en": "" if en == zh else en, "source_id": doc_id}

    def boolean(self, d: Mapping[str, Any], key: str, where: str) -> bool | None:
        """``d[key]`` as true/false (absent = false), ``None`` if not a boolean."""
        v = d.get(key, False)
        if v is None:
            return False
        if not isinstance(v, bool):
            self.add(f"{where}{key} must be true or false", key=key, value=v)
            return None
        return v


def parse_rule(raw: Any, index: int, source: str) -> tuple[Rule | None, list[Problem]]:
    """Validate one rule in dict form; the rule, or ``None`` and every problem found.

    Parameters
    ----------
    raw
        The rule's mapping (one item of the YAML ``rules`` list).
    index
        Its position in the list (0-based), naming a rule without a usable id.
    source
        File or preset name for messages.
    """
    rid = raw.get("id") if isinstance(raw, Mapping) else None
    rid_text = str(rid) if rid is not None else f"#{index + 1}"
    c = Checker(source, rid_text)
    if not isinstance(raw, Mapping):
        c.add("is not a mapping of keys (id, facility_type, ...)", value=raw)
        return None, c.problems
    c.unknown_keys(raw, _RULE_KEYS, "the rule")
    ft = _parse_identity(raw, c)
    applies = _parse_applies(raw.get("applies") or {}, c)
    satisfied_by = _parse_satisfied_by(raw.get("satisfied_by"), ft, c)
    evidence = _parse_evidence(raw, c)
    capacity = _parse_capacity(raw.get("capacity"), c)
    if c.problems:
        return None, c.problems
    # no problems means every required field was read
    ft, rid = cast(str, ft), cast(str, rid)
    label_zh, label_en = evidence.pop("label_zh"), evidence.pop("label_en")
    return Rule(
        id=rid, facility_type=ft, applies=applies, satisfied_by=satisfied_by,
        label_zh=label_zh or f"{label(ft, 'zh')}({rid})",
        label_en=label_en or f"{label(ft, 'en')} ({rid})", capacity=capacity, **evidence,
    ), []


def _parse_identity(raw: Mapping[str, Any], c: Checker) -> str | None:
    """Check the rule's id; its facility type as a vocabulary key (``None`` if unknown)."""
    rid = raw.get("id")
    if rid is None or not isinstance(rid, str) or not _ID_RE.match(rid):
        c.add("id is missing or invalid", key="id", value=rid,
              fix="give each rule an id of letters, digits, '-' or '_' (no dots), e.g. police-800")
    ft_raw = raw.get("facility_type")
    ft = normalise_facility_type(ft_raw) if ft_raw is not None else None
    if ft is None:
        c.add("unknown facility type" if ft_raw is not None else "facility_type is missing",
              key="facility_type", value=ft_raw,
              fix=f"use one of: {', '.join(FACILITY_TYPES)}")
    return ft


def _parse_applies(applies_raw: Any, c: Checker) -> Applies:
    """The ``applies`` conditions (``Applies()``, every site, when they cannot be read)."""
    if not isinstance(applies_raw, Mapping):
        c.add("applies must be a mapping", key="applies", value=applies_raw)
        return Applies()
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
    return Applies(min_population=min_pop, max_population=max_pop,  # type: ignore[arg-type]
                   min_households=min_hh, kind=kind)


def _parse_satisfied_by(sb_raw: Any, ft: str | None, c: Checker) -> SatisfiedBy:
    """How the rule is met: ``at_site``, ``within_reach`` and ``also_types``."""
    if not isinstance(sb_raw, Mapping) or not sb_raw:
        c.add("satisfied_by is missing or empty", key="satisfied_by", value=sb_raw,
              fix="give satisfied_by: {at_site: true} and/or {within_reach: {max_time_min: 30}}")
        return SatisfiedBy()
    c.unknown_keys(sb_raw, _SATISFIED_KEYS, "satisfied_by")
    at_site = _parse_at_site(sb_raw.get("at_site"), c)
    w_raw = sb_raw.get("within_reach")
    reach: WithinReach | None = None
    if isinstance(w_raw, Mapping):
        reach = _parse_within_reach(w_raw, c)
    elif w_raw is not None:
        c.add("satisfied_by.within_reach must be a mapping such as {max_time_min: 30}",
              key="satisfied_by.within_reach", value=w_raw)
    also_types = _parse_also_types(sb_raw.get("also_types"), ft, c)
    if at_site is None and reach is None and not any(
            p.column and p.column.startswith("satisfied_by") for p in c.problems):
        c.add("satisfied_by has neither at_site nor within_reach", key="satisfied_by",
              value=dict(sb_raw), fix="give at_site: true and/or within_reach: {...}")
    return SatisfiedBy(at_site=at_site, within_reach=reach, also_types=also_types)


def _parse_at_site(a_raw: Any, c: Checker) -> AtSite | None:
    """``at_site: true`` or ``{radius_m: <metres>}``; ``None`` when absent or false."""
    if a_raw is True or (isinstance(a_raw, Mapping)):
        a_map = a_raw if isinstance(a_raw, Mapping) else {}
        c.unknown_keys(a_map, _AT_SITE_KEYS, "satisfied_by.at_site")
        radius = c.number(a_map, "radius_m", "at_site", positive=True)
        return AtSite(radius_m=radius)
    if a_raw not in (None, False):
        c.add("satisfied_by.at_site must be true or {radius_m: <metres>}",
              key="satisfied_by.at_site", value=a_raw)
    return None


def _parse_within_reach(w_raw: Mapping[str, Any], c: Checker) -> WithinReach:
    """The ``within_reach`` limits, profile and the reach figure's own evidence."""
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
    w_grade, w_adj = c.graded(w_raw, "within_reach ", key="satisfied_by.within_reach.adjustable")
    src = c.citation(w_raw.get("source"), "satisfied_by.within_reach.source")
    return WithinReach(max_dist_m=max_d, max_time_min=max_t, profile=profile,
                       grade=w_grade, adjustable=bool(w_adj), **src,
                       **_texts(w_raw, ("clause", "clause_en", "note", "note_en")))


def _texts(raw: Mapping[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    """Optional text fields by name: stripped, ``None`` (``clause``) or ``""`` when absent."""
    out: dict[str, Any] = {}
    for k in keys:
        v = raw.get(k)
        text = str(v).strip() if v not in (None, "") else ""
        out[k] = text or (None if k == "clause" else "")
    return out


def _parse_also_types(a_types: Any, ft: str | None, c: Checker) -> tuple[str, ...]:
    """Other facility types that meet the rule (the rule's own type and repeats dropped)."""
    if a_types is None:
        return ()
    if not isinstance(a_types, list) or not a_types:
        c.add("satisfied_by.also_types must be a list of facility types",
              key="satisfied_by.also_types", value=a_types,
              fix="e.g. also_types: [township_health_centre]")
        return ()
    also: list[str] = []
    for t_raw in a_types:
        t = normalise_facility_type(t_raw)
        if t is None:
            c.add("unknown facility type in satisfied_by.also_types",
                  key="satisfied_by.also_types", value=t_raw,
                  fix=f"use one of: {', '.join(FACILITY_TYPES)}")
        elif t != ft and t not in also:
            also.append(t)
    return tuple(also)


def _parse_evidence(raw: Mapping[str, Any], c: Checker) -> dict[str, Any]:
    """The rule's source, clause, grade, adjustable flag, labels and note, by field name."""
    src = c.text(raw, "source", required=True)
    clause = c.text(raw, "clause", required=True)
    grade, adjustable = c.graded(raw, "", key="adjustable", required=True)
    cite = c.citation(src, "source") if src is not None else {"source": None}
    return {**cite, "clause": clause, "clause_en": c.text(raw, "clause_en", required=False) or "",
            "grade": grade, "adjustable": bool(adjustable),
            "label_zh": c.text(raw, "label_zh", required=False),
            "label_en": c.text(raw, "label_en", required=False),
            "note": c.text(raw, "note", required=False) or "",
            "note_en": c.text(raw, "note_en", required=False) or ""}


def _parse_capacity(raw: Any, c: Checker) -> Capacity | None:
    """The optional capacity norm (``None`` when absent or unreadable)."""
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
    per_raw = raw.get("max_per_unit")
    unlimited = isinstance(per_raw, str) and per_raw.strip().lower() in _UNLIMITED
    per = NO_PER_UNIT_LIMIT if unlimited else c.number(raw, "max_per_unit", "capacity",
                                                       positive=True)
    low = c.number(raw, "min_per_unit", "capacity", positive=True)
    if low is not None and (unlimited or (per is not None and low > per)):
        c.add("capacity.min_per_unit must not exceed max_per_unit", key="capacity.min_per_unit",
              value=low, fix="write the documented range low-high as min_per_unit ≤ max_per_unit")
        low = None
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
    grade, adj = c.graded(raw, "capacity ", key="capacity.adjustable")
    src = c.citation(raw.get("source"), "capacity.source")
    if per is None or demand not in DEMANDS:
        return None

    def txt(k: str) -> str | None:
        v = raw.get(k)
        return str(v).strip() if v not in (None, "") else None

    return Capacity(demand=demand, max_per_unit=per, min_per_unit=low,
                    child_share=share if demand == "children_3_5" else None,
                    unit_zh=txt("unit_zh") or "", unit_en=txt("unit_en") or "", grade=grade,
                    adjustable=bool(adj), **src,
                    **_texts(raw, ("clause", "clause_en", "note", "note_en")))


def parse_rule_list(raw_rules: list[Any], source: str) -> tuple[list[Rule], list[Problem]]:
    problems: list[Problem] = []
    rules: list[Rule] = []
    seen: set[str] = set()
    for i, raw in enumerate(raw_rules):
        rule, probs = parse_rule(raw, i, source)
        problems.extend(probs)
        if rule is not None:
            if rule.id in seen:
                problems.append(Problem(f"rule {rule.id!r}: id used twice", file=source,
                                        column="id", value=rule.id,
                                        fix="give every rule its own id"))
            seen.add(rule.id)
            rules.append(rule)
    return rules, problems
