"""The rule model: one policy rule, its conditions and reach, and the words that describe it.

The frozen dataclasses here mirror a rule's YAML form (``to_dict`` writes it back, the schema
is in :mod:`analysis.rules`); :mod:`analysis.rules.parse` builds them from that form.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from anzhi.core.vocabulary import label

__all__ = [
    "GRADES",
    "KINDS",
    "PROFILES",
    "DEMANDS",
    "Applies",
    "AtSite",
    "WithinReach",
    "SatisfiedBy",
    "Capacity",
    "Rule",
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

    def population_phrase(self, subject: str) -> str:
        """The population bounds around ``subject`` (``3,000 ≤ 人数 < 10,000``,
        ``population 3,200 ≥ 3,000``); ``""`` when the rule has none."""
        lo, hi = self.min_population, self.max_population
        if lo is not None and hi is not None:
            return f"{lo:,} ≤ {subject} < {hi:,}"
        if lo is not None:
            return f"{subject} ≥ {lo:,}"
        if hi is not None:
            return f"{subject} < {hi:,}"
        return ""

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
        pop = a.population_phrase("人数" if lang == "zh" else "population")
        if pop:
            parts.append(pop)
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


#: Words of :func:`reach_phrase` per language: travel mode per profile (else the last),
#: the time and distance limits, how limits are joined, and the frame around them.
_REACH_WORDS: dict[str, tuple[dict[str, str], str, str, str, str, str]] = {
    "zh": ({"walk": "步行", "motorbike": "摩托车程"}, "车程", "{mode} {time} 分钟",
           "路网距离 {dist} 米", "且", "{}内"),
    "en": ({"walk": "walk", "motorbike": "motorbike ride"}, "drive", "{time} min {mode}",
           "{dist} m by road", " and ", "within {}"),
}


def reach_phrase(wr: WithinReach, lang: str = "zh") -> str:
    """The reach limits in words: ``步行 30 分钟内`` / ``within 30 min walk``."""
    modes, other, time_words, dist_words, joiner, frame = _REACH_WORDS[
        "zh" if lang == "zh" else "en"]
    mode = modes.get(wr.profile, other)
    parts = []
    if wr.max_time_min is not None:
        parts.append(time_words.format(mode=mode, time=_num(wr.max_time_min)))
    if wr.max_dist_m is not None:
        parts.append(dist_words.format(dist=_num(wr.max_dist_m)))
    return frame.format(joiner.join(parts))


def _num(x: float | int | None) -> str:
    if x is None:
        return ""
    if float(x).is_integer():
        return f"{int(x):,}"
    return f"{x:,.1f}"

