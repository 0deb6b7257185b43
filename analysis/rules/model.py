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
    "GRADE_MEANING",
    "grade_meaning",
    "KINDS",
    "PROFILES",
    "DEMANDS",
    "Applies",
    "AtSite",
    "WithinReach",
    "SatisfiedBy",
    "Capacity",
    "Rule",
    "NO_PER_UNIT_LIMIT",
    "reach_phrase",
]

#: Evidence grades (docs/policy-rules.md): A stated in a source, B reliable restatement,
#: C common planning default (must be marked adjustable).
GRADES: tuple[str, ...] = ("A", "B", "C")
#: What a grade means, for a planner (Chinese, English): printed beside B and C figures.
GRADE_MEANING: dict[str, tuple[str, str]] = {
    "A": ("A级:来源文件原文载明", "grade A: stated in the source document"),
    "B": ("B级:转述官方文件的可靠来源,原文未在本库核对,请以本县所依据的文件为准",
          "grade B: a reliable restatement naming the official document, whose text Anzhi "
          "does not hold; check it against the county's own documents"),
    "C": ("C级:常用规划默认值,不是政策,可按本县实际调整",
          "grade C: a common planning default, not policy; adjust it to the county"),
}
#: Site kinds a rule may be restricted to (``any`` = no restriction).
KINDS: tuple[str, ...] = ("城镇", "农村", "any")
#: Travel profiles an access table can be computed with.
PROFILES: tuple[str, ...] = ("walk", "drive", "motorbike")
#: What a capacity norm counts: all residents, or children aged 3-5 (kindergarten places).
DEMANDS: tuple[str, ...] = ("population", "children_3_5")
#: A capacity ``max_per_unit`` at or above this means "no limit per unit": the norm only asks
#: for at least one unit (一室一警: a police room with at least one officer).
NO_PER_UNIT_LIMIT: float = 1e6


def grade_meaning(grade: str | None, lang: str = "zh") -> str:
    """What ``grade`` means in ``lang`` (:data:`GRADE_MEANING`; ``""`` for no grade)."""
    zh, en = GRADE_MEANING.get(grade or "", ("", ""))
    return zh if lang == "zh" else en


def cited(zh: str | None, en: str | None, lang: str) -> str | None:
    """``zh`` for Chinese, else ``en`` (falling back to ``zh`` when there is no English)."""
    return zh if lang == "zh" or not en else en


class Cited:
    """The language pick shared by rules, reach figures and capacity norms: each carries its
    source, clause and note in Chinese with an English form beside (empty: the Chinese serves)."""

    source: str | None
    source_en: str
    clause: str | None
    clause_en: str
    note: str
    note_en: str

    def source_text(self, lang: str = "zh") -> str:
        """The citable source in ``lang`` (``""`` when there is none)."""
        return cited(self.source, self.source_en, lang) or ""

    def clause_text(self, lang: str = "zh") -> str:
        """The clause in ``lang`` (``""`` when there is none)."""
        return cited(self.clause, self.clause_en, lang) or ""

    def note_text(self, lang: str = "zh") -> str:
        """The note in ``lang`` (``""`` when there is none)."""
        return cited(self.note, self.note_en, lang) or ""


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
class WithinReach(Cited):
    """A facility elsewhere counts when the access table puts it within these limits.

    Attributes
    ----------
    max_dist_m
        Largest road distance, metres (``None`` = no distance limit).
    max_time_min
        Largest travel time, minutes, by ``profile`` (``None`` = no time limit).
    profile
        Travel profile the access table must have been computed with (``walk``/``drive``/``motorbike``).
    grade, source, clause, adjustable, note
        Evidence for the reach figure itself, which is often weaker than the rule's:
        ``source`` is the citable title (Chinese) of the document (see :class:`Rule`),
        ``clause`` and ``note`` are Chinese.
    source_en, source_id, clause_en, note_en
        The English citation, the registered document id and the English clause and note.
    """

    max_dist_m: float | None = None
    max_time_min: float | None = None
    profile: str = "walk"
    grade: str | None = None
    source: str | None = None
    adjustable: bool = False
    note: str = ""
    clause: str | None = None
    source_en: str = ""
    source_id: str | None = None
    clause_en: str = ""
    note_en: str = ""


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
            d["source"] = self.source_id or self.source
        for k in ("clause", "clause_en"):
            if getattr(self, k):
                d[k] = getattr(self, k)
        if self.adjustable:
            d["adjustable"] = True
        for k in ("note", "note_en"):
            if getattr(self, k):
                d[k] = getattr(self, k)
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
class Capacity(Cited):
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
        (保山民政 2021: 3,000-5,000), 1 child per kindergarten place.  Written
        ``unlimited`` (or 不限) in YAML, it is :data:`NO_PER_UNIT_LIMIT`: at least one unit.
    min_per_unit
        The lower end of a documented range (3,000 of "3,000-5,000 residents per officer"),
        shown with the norm; serving fewer per unit is not a gap, so only ``max_per_unit``
        decides the status.  ``None``: no range.
    child_share
        Share (0-1) of the population aged 3-5, used for ``children_3_5`` when the site
        has no count of its own.
        A value of :data:`NO_PER_UNIT_LIMIT` or more means no limit: at least one unit
        (贵州 2019 一室一警: at least one officer).
    unit_zh, unit_en
        Unit of the facilities' ``capacity`` column (名民警 / officers, 个学位 / places).
    grade, source, clause, adjustable, note
        Evidence for the norm itself (C grade must be adjustable); ``source`` is the
        citable title (Chinese), ``clause`` and ``note`` are Chinese.
    source_en, source_id, clause_en, note_en
        The English citation, the registered document id and the English clause and note.
    """

    demand: str
    max_per_unit: float
    child_share: float | None = None
    min_per_unit: float | None = None
    unit_zh: str = ""
    unit_en: str = ""
    grade: str | None = None
    source: str | None = None
    clause: str | None = None
    adjustable: bool = False
    note: str = ""
    source_en: str = ""
    source_id: str | None = None
    clause_en: str = ""
    note_en: str = ""


    def to_dict(self) -> dict[str, Any]:
        """Dict form as in the YAML file."""
        d: dict[str, Any] = {"demand": self.demand,
                             "max_per_unit": "unlimited" if self.unlimited else self.max_per_unit}
        if self.min_per_unit is not None and not self.unlimited:
            d["min_per_unit"] = self.min_per_unit
        for k in ("child_share", "grade", "source", "clause"):
            v = getattr(self, k)
            if v is not None:
                d[k] = (self.source_id or v) if k == "source" else v
        for k in ("unit_zh", "unit_en", "note", "clause_en", "note_en"):
            v = getattr(self, k)
            if v:
                d[k] = v
        if self.adjustable:
            d["adjustable"] = True
        return d

    @property
    def unlimited(self) -> bool:
        """True when the norm sets no limit per unit, only asks for at least one unit."""
        return self.max_per_unit >= NO_PER_UNIT_LIMIT

    def describe(self, lang: str = "zh") -> str:
        """The norm in words: ``每名民警 ≤ 5,000 人`` / ``≤ 5,000 people per officer``;
        without a limit per unit ``至少 1 名民警,不限每名民警服务人数`` /
        ``at least one officer, no per-officer limit``."""
        zh = lang == "zh"
        unit = (self.unit_zh or "单位容量") if zh else (self.unit_en or "unit of capacity")
        if self.unlimited:
            if zh:
                return f"至少 1 {unit},不限每{unit}服务人数"
            one = unit[:-1] if unit.endswith("s") else unit
            return f"at least one {one}, no per-{one} limit"
        lo = self.min_per_unit
        if zh:
            who = "名3–5岁儿童" if self.demand == "children_3_5" else " 人"
            text = f"每{unit} ≤ {_num(self.max_per_unit)}{who}"
            if lo is not None:
                text = f"每{unit} {_num(lo)}–{_num(self.max_per_unit)}{who},即{text}"
            if self.demand == "children_3_5" and self.child_share is not None:
                text += f";无儿童数时按人口 {self.child_share:.1%} 估算"
            return text
        who = "children aged 3–5" if self.demand == "children_3_5" else "people"
        text = f"≤ {_num(self.max_per_unit)} {who} per {unit.rstrip('s')}"
        if lo is not None:
            text = f"{_num(lo)}–{_num(self.max_per_unit)} {who} per {unit.rstrip('s')}, i.e. {text}"
        if self.demand == "children_3_5" and self.child_share is not None:
            text += f"; estimated as {self.child_share:.1%} of the population where not given"
        return text


@dataclass(frozen=True)
class Rule(Cited):
    """One policy rule: a facility type a site must have when it meets ``applies``.

    ``source`` is the citable title of the document, in Chinese (issuer, 《title》, 文号
    where it has one, year: :meth:`analysis.rules.documents.Document.cite`), ``clause`` the
    clause in Chinese; ``source_en`` and ``clause_en`` are their English forms (empty: the
    Chinese text serves both) and ``source_id`` the registered document id (``None`` for a
    user's free-text source); ``note`` is Chinese (often the clause quoted) and ``note_en``
    its English.  :meth:`source_text`, :meth:`clause_text` and :meth:`note_text` pick by
    language.
    """

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
    source_en: str = ""
    source_id: str | None = None
    clause_en: str = ""
    note_en: str = ""

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
        d.update(source=self.source_id or self.source, clause=self.clause)
        if self.clause_en:
            d["clause_en"] = self.clause_en
        d.update(grade=self.grade, adjustable=self.adjustable, label_zh=self.label_zh,
                 label_en=self.label_en)
        for k in ("note", "note_en"):
            if getattr(self, k):
                d[k] = getattr(self, k)
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

