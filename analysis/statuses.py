"""Gap statuses, their order, and the one-line reason (Chinese and English) of a gap row.

The statuses are explained in :mod:`analysis.gaps`, which computes them; the text here only
words a row that is already decided.
"""

from __future__ import annotations

import math

from anzhi.core.vocabulary import label
from analysis.rules import Rule, reach_phrase

__all__ = [
    "STATUSES",
    "GAP_STATUSES",
    "COVERED_STATUSES",
    "UNROUTABLE_REASONS",
    "reason",
]

#: Statuses from best to worst (the order :func:`worst_status` ranks by).
STATUSES: tuple[str, ...] = ("ok", "ok_shared", "gap_capacity", "gap_missing", "unroutable")
#: Statuses that are gaps.
GAP_STATUSES: tuple[str, ...] = ("gap_missing", "gap_capacity")
#: Statuses that count as covered (coverage tables).
COVERED_STATUSES: tuple[str, ...] = ("ok", "ok_shared")
#: Access-table reasons that mean routing could not place the site.
UNROUTABLE_REASONS: tuple[str, ...] = ("no_road_nearby", "isolated_network")


def _fmt_dist(m: float) -> str:
    if not math.isfinite(m):
        return "?"
    if m < 1000:
        return f"{m:,.0f} m"
    return f"{m / 1000:,.1f} km"


def _fmt_time(t: float) -> str:
    if not math.isfinite(t):
        return "?"
    return f"{t:.0f} min" if round(t, 1).is_integer() else f"{t:.1f} min"


def _fmt_num(x: float) -> str:
    return f"{x:,.0f}" if math.isfinite(x) else "?"


def _requirement(rule: Rule, pop: float, hh: float, lang: str) -> str:
    """Why the rule applies to this site: "人数 3,200 ≥ 3,000,须设警务室"."""
    a = rule.applies
    zh = lang == "zh"
    word = "人数" if zh else "population"
    parts: list[str] = []
    bounds = a.population_phrase(f"{word} {_fmt_num(pop)}")
    if bounds:
        parts.append(bounds)
    if a.min_households is not None:
        parts.append(f"{'户数' if zh else 'households'} {_fmt_num(hh)} ≥ {a.min_households:,.0f}")
    if a.kind != "any":
        parts.append(f"{a.kind}安置点" if zh else ("urban site" if a.kind == "城镇" else
                                                   "rural site"))
    ft = label(rule.facility_type, lang)
    if zh:
        return ("、".join(parts) + f",须设{ft}") if parts else f"每个安置点须有{ft}"
    ft = ft.lower()
    return (", ".join(parts) + f": {ft} required") if parts else f"every site: {ft} required"


def reason(
    status: str, rule: Rule, lang: str, *, pop: float, hh: float, by_id: bool,
    radius_m: float, dist_m: float, time_min: float, access_reason: str | None,
    snap_m: float, cap: tuple[float, float, bool] | None = None, served_type: str = "",
) -> str:
    """One-line reason for one gap row, in ``lang`` (``zh`` or ``en``).

    Parameters
    ----------
    status
        The row's status (:data:`STATUSES`).
    rule
        The rule of the row.
    lang
        ``zh`` or ``en``.
    pop, hh
        The site's population (people) and households (NaN when unknown).
    by_id
        The at-site facility came from the site table (same ``site_id``).
    radius_m
        The rule's at-site radius, metres.
    dist_m, time_min
        Distance (m) and time (min) to the facility the row names (NaN when none).
    access_reason
        The access table's ``reason`` (``None`` when the site has no access row).
    snap_m
        The access table's distance from the site to its road, metres.
    cap
        ``(demand, capacity, shared)`` of the facility group, for ``gap_capacity`` rows.
    served_type
        The facility type that met the rule (one of its ``also_types`` or its own).
    """
    zh = lang == "zh"
    ft = label(rule.facility_type, lang)
    ftl = ft if zh else ft.lower()
    wr = rule.satisfied_by.within_reach
    if status == "gap_capacity" and cap is not None and rule.capacity is not None:
        return f"{_requirement(rule, pop, hh, lang)}{';' if zh else '; '}" + _capacity_text(
            rule, cap, lang)
    if status in COVERED_STATUSES and served_type and served_type != rule.facility_type:
        # met by one of the rule's also_types (e.g. a township health centre)
        alt = label(served_type, lang)
        if status == "ok":
            return (f"安置点有{alt}({_fmt_dist(dist_m)}),可替代{ft}" if zh else
                    f"{alt} at the site ({_fmt_dist(dist_m)}), which serves as the {ftl}")
        reach = reach_phrase(wr, lang) if wr is not None else ""
        return (f"安置点内无{ft},最近{alt} {_fmt_dist(dist_m)} / {_fmt_time(time_min)},在{reach},可替代"
                if zh else
                f"no {ftl} at the site; nearest {alt.lower()} {_fmt_dist(dist_m)} / "
                f"{_fmt_time(time_min)}, {reach}: serves as the {ftl}")
    if status == "ok":
        if by_id:
            return f"安置点内有{ft}" if zh else f"{ft} at the site"
        if zh:
            return f"{ft}距安置点 {_fmt_dist(dist_m)},在 {_fmt_num(radius_m)} m 范围内,视为安置点内有{ft}"
        return f"{ft} {_fmt_dist(dist_m)} from the site, within the {_fmt_num(radius_m)} m site radius"
    if status == "ok_shared":
        reach = reach_phrase(wr, lang) if wr is not None else ""
        if zh:
            return f"安置点内无{ft},最近{ft} {_fmt_dist(dist_m)} / {_fmt_time(time_min)},在{reach},可共享"
        return (f"no {ftl} at the site; nearest {_fmt_dist(dist_m)} / {_fmt_time(time_min)}, "
                f"{reach}: shared")
    if status == "unroutable":
        if access_reason == "no_road_nearby":
            if zh:
                return f"安置点内无{ft};距道路 {_fmt_dist(snap_m)},无法计算路网距离"
            return (f"no {ftl} at the site; {_fmt_dist(snap_m)} from the nearest road, "
                    "road distance cannot be computed")
        if zh:
            return f"安置点内无{ft};所在道路与{ft}不连通,无法计算路网距离"
        return (f"no {ftl} at the site; the site's road is not connected to any {ftl}, "
                "road distance cannot be computed")
    # gaps
    req = _requirement(rule, pop, hh, lang)
    if access_reason == "no_facility":
        tail = f"数据中没有任何{ft}" if zh else f"no {ftl} in the facility data"
    elif wr is None:
        if math.isfinite(dist_m):
            tail = (f"安置点内无{ft}(最近 {_fmt_dist(dist_m)} / {_fmt_time(time_min)})" if zh else
                    f"no {ftl} at the site (nearest {_fmt_dist(dist_m)} / "
                    f"{_fmt_time(time_min)})")
        else:
            tail = f"安置点内无{ft}" if zh else f"no {ftl} at the site"
    elif access_reason is None:
        tail = (f"安置点内无{ft},未计算到达距离" if zh else
                f"no {ftl} at the site; travel distance not computed")
    elif access_reason in UNROUTABLE_REASONS or not math.isfinite(dist_m):
        tail = (f"安置点内无{ft},路网上无法到达{ft}" if zh else
                f"no {ftl} at the site and none reachable by road")
    else:
        reach = reach_phrase(wr, lang)
        tail = (f"最近{ft} {_fmt_dist(dist_m)} / {_fmt_time(time_min)},超出到达要求({reach})"
                if zh else
                f"nearest {_fmt_dist(dist_m)} / {_fmt_time(time_min)}, beyond reach ({reach})")
    return f"{req};{tail}" if zh else f"{req}; {tail}"


def _capacity_text(rule: Rule, cap: tuple[float, float, bool], lang: str) -> str:
    """``幼儿园共 180 个学位,需服务3–5岁儿童 400 人(每个学位 ≤ 1 人),缺 220 个学位``."""
    c = rule.capacity
    if c is None:
        return ""
    g_dem, g_cap, shared = cap
    need = math.ceil(g_dem / c.max_per_unit - 1e-9)
    short = max(need - g_cap, 0.0)
    ft = label(rule.facility_type, lang)
    if lang == "zh":
        who = "3–5岁儿童" if c.demand == "children_3_5" else "人口"
        unit = c.unit_zh or "单位容量"
        where = "共享的" if shared else "安置点内"
        return (f"{where}{ft}共 {_fmt_num(g_cap)} {unit},需服务{who} {_fmt_num(g_dem)} 人"
                f"({c.describe('zh')}),容量不足,缺 {_fmt_num(short)} {unit}")
    who = "children aged 3–5" if c.demand == "children_3_5" else "people"
    unit = c.unit_en or "units"
    where = "shared " if shared else ""
    return (f"{where}{ft.lower()} has {_fmt_num(g_cap)} {unit} for {_fmt_num(g_dem)} {who} "
            f"({c.describe('en')}): over capacity, short of {_fmt_num(short)} {unit}")
