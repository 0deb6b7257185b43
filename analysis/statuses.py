"""Gap statuses, their order, and the one-line reason (Chinese and English) of a gap row.

The statuses are explained in :mod:`analysis.gaps`, which computes them; the text here only
words a row that is already decided.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
from numpy.typing import NDArray

from anzhi.core.vocabulary import label
from analysis.rules import Rule, reach_phrase

__all__ = [
    "STATUSES",
    "GAP_STATUSES",
    "COVERED_STATUSES",
    "UNROUTABLE_REASONS",
    "reason",
    "reasons",
    "Wording",
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
    return Wording(rule, lang).text(
        status, pop=pop, hh=hh, by_id=by_id, radius_m=radius_m, dist=_fmt_dist(dist_m),
        time=_fmt_time(time_min), access_reason=access_reason, snap=_fmt_dist(snap_m), cap=cap,
        served_type=served_type)


def reasons(statuses: Sequence[str], rules: Sequence[Rule], rule_index: NDArray[np.int64], *,
            pop: NDArray[np.float64], hh: NDArray[np.float64], by_id: NDArray[np.bool_],
            radius_m: NDArray[np.float64], dist_m: NDArray[np.float64],
            time_min: NDArray[np.float64], access_reason: Sequence[str | None],
            snap_m: NDArray[np.float64], cap: Mapping[int, tuple[float, float, bool]],
            served_type: Sequence[str]) -> tuple[list[str], list[str]]:
    """:func:`reason` of many rows at once, in Chinese and English: the same text.

    Row ``k`` has rule ``rules[rule_index[k]]`` and the ``k``-th value of every array; ``cap``
    maps a row to its capacity figures.  Each rule's words are prepared once per language
    and each number formatted once for both (100,000 sites × 8 rules: seconds, not tens).
    """
    words = [(Wording(r, "zh"), Wording(r, "en")) for r in rules]
    dist = [_fmt_dist(x) for x in np.asarray(dist_m, dtype=np.float64).tolist()]
    time = [_fmt_time(x) for x in np.asarray(time_min, dtype=np.float64).tolist()]
    snap = [_fmt_dist(x) for x in np.asarray(snap_m, dtype=np.float64).tolist()]
    out_zh: list[str] = []
    out_en: list[str] = []
    for k, (st, ri, p_k, h_k, b_k, r_k, ar, sv) in enumerate(zip(
            statuses, np.asarray(rule_index).tolist(), np.asarray(pop, dtype=np.float64).tolist(),
            np.asarray(hh, dtype=np.float64).tolist(), np.asarray(by_id).tolist(),
            np.asarray(radius_m, dtype=np.float64).tolist(), access_reason, served_type)):
        zh, en = words[ri]
        if st == "gap_missing" and ar == "" and zh.wr is not None and dist[k] != "?":
            # the common gap, a facility beyond the reach: _gap_text's last branch, direct
            out_zh.append(zh.beyond(p_k, h_k, dist[k], time[k]))
            out_en.append(en.beyond(p_k, h_k, dist[k], time[k]))
            continue
        c = cap.get(k)
        out_zh.append(zh.text(st, pop=p_k, hh=h_k, by_id=b_k, radius_m=r_k, dist=dist[k],
                              time=time[k], access_reason=ar, snap=snap[k], cap=c, served_type=sv))
        out_en.append(en.text(st, pop=p_k, hh=h_k, by_id=b_k, radius_m=r_k, dist=dist[k],
                              time=time[k], access_reason=ar, snap=snap[k], cap=c, served_type=sv))
    return out_zh, out_en


class Wording:
    """The words of one rule in one language, prepared once for many rows."""

    def __init__(self, rule: Rule, lang: str) -> None:
        self.rule, self.lang, self.zh = rule, lang, lang == "zh"
        self.ft = label(rule.facility_type, lang)
        self.ftl = self.ft if self.zh else self.ft.lower()
        self.wr = rule.satisfied_by.within_reach
        self.reach = reach_phrase(self.wr, lang) if self.wr is not None else ""
        self._req: dict[tuple[float, float], str] = {}
        self._alt: dict[str, str] = {}

    def requirement(self, pop: float, hh: float) -> str:
        """:func:`_requirement`, remembered by (population, households)."""
        key = (pop, hh if self.rule.applies.min_households is not None else 0.0)
        got = self._req.get(key)
        if got is None:
            got = self._req[key] = _requirement(self.rule, pop, hh, self.lang)
        return got

    def text(self, status: str, *, pop: float, hh: float, by_id: bool, radius_m: float,
             dist: str, time: str, access_reason: str | None, snap: str,
             cap: tuple[float, float, bool] | None, served_type: str) -> str:
        """The reason of one row (``dist``, ``time``, ``snap``: formatted, ``?`` = none)."""
        zh, ft, ftl, rule = self.zh, self.ft, self.ftl, self.rule
        if status == "gap_capacity" and cap is not None and rule.capacity is not None:
            return f"{self.requirement(pop, hh)}{';' if zh else '; '}" + _capacity_text(
                rule, cap, self.lang)
        if status in COVERED_STATUSES and served_type and served_type != rule.facility_type:
            # met by one of the rule's also_types (e.g. a township health centre)
            alt = self._alt.get(served_type)
            if alt is None:
                alt = self._alt[served_type] = label(served_type, self.lang)
            if status == "ok":
                return (f"安置点有{alt}({dist}),可替代{ft}" if zh else
                        f"{alt} at the site ({dist}), which serves as the {ftl}")
            return (f"安置点内无{ft},最近{alt} {dist} / {time},在{self.reach},可替代" if zh else
                    f"no {ftl} at the site; nearest {alt.lower()} {dist} / {time}, "
                    f"{self.reach}: serves as the {ftl}")
        if status == "ok":
            if by_id:
                return f"安置点内有{ft}" if zh else f"{ft} at the site"
            if zh:
                return f"{ft}距安置点 {dist},在 {_fmt_num(radius_m)} m 范围内,视为安置点内有{ft}"
            return f"{ft} {dist} from the site, within the {_fmt_num(radius_m)} m site radius"
        if status == "ok_shared":
            if zh:
                return f"安置点内无{ft},最近{ft} {dist} / {time},在{self.reach},可共享"
            return f"no {ftl} at the site; nearest {dist} / {time}, {self.reach}: shared"
        if status == "unroutable":
            if access_reason == "no_road_nearby":
                if zh:
                    return f"安置点内无{ft};距道路 {snap},无法计算路网距离"
                return (f"no {ftl} at the site; {snap} from the nearest road, "
                        "road distance cannot be computed")
            if zh:
                return f"安置点内无{ft};所在道路与{ft}不连通,无法计算路网距离"
            return (f"no {ftl} at the site; the site's road is not connected to any {ftl}, "
                    "road distance cannot be computed")
        return self._gap_text(pop, hh, dist, time, access_reason)

    def beyond(self, pop: float, hh: float, dist: str, time: str) -> str:
        """The reason of a gap whose nearest facility is reachable but beyond the reach."""
        if self.zh:
            return (f"{self.requirement(pop, hh)};最近{self.ft} {dist} / {time},"
                    f"超出到达要求({self.reach})")
        return f"{self.requirement(pop, hh)}; nearest {dist} / {time}, beyond reach ({self.reach})"

    def _gap_text(self, pop: float, hh: float, dist: str, time: str,
                  access_reason: str | None) -> str:
        zh, ft, ftl = self.zh, self.ft, self.ftl
        req = self.requirement(pop, hh)
        if access_reason == "no_facility":
            tail = f"数据中没有任何{ft}" if zh else f"no {ftl} in the facility data"
        elif self.wr is None:
            if dist != "?":
                tail = (f"安置点内无{ft}(最近 {dist} / {time})" if zh else
                        f"no {ftl} at the site (nearest {dist} / {time})")
            else:
                tail = f"安置点内无{ft}" if zh else f"no {ftl} at the site"
        elif access_reason is None:
            tail = (f"安置点内无{ft},未计算到达距离" if zh else
                    f"no {ftl} at the site; travel distance not computed")
        elif access_reason in UNROUTABLE_REASONS or dist == "?":
            tail = (f"安置点内无{ft},路网上无法到达{ft}" if zh else
                    f"no {ftl} at the site and none reachable by road")
        else:
            return self.beyond(pop, hh, dist, time)
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
