"""Gap statuses, their order, and the one-line reason (Chinese and English) of a gap row.

The statuses are explained in :mod:`analysis.gaps`, which computes them; the text here only
words a row that is already decided.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
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


def _requirement(rule: Rule, pop: str, hh: str, lang: str) -> str:
    """Why the rule applies to this site: "人数 3,200 ≥ 3,000,须设警务室" (``pop``, ``hh``:
    the formatted population and households)."""
    a = rule.applies
    zh = lang == "zh"
    word = "人数" if zh else "population"
    parts: list[str] = []
    bounds = a.population_phrase(f"{word} {pop}")
    if bounds:
        parts.append(bounds)
    if a.min_households is not None:
        parts.append(f"{'户数' if zh else 'households'} {hh} ≥ {a.min_households:,.0f}")
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
        status, pop=_fmt_num(pop), hh=_fmt_num(hh), by_id=by_id, radius_m=radius_m,
        dist=_fmt_dist(dist_m), time=_fmt_time(time_min), access_reason=access_reason,
        snap=_fmt_dist(snap_m), cap=cap, served_type=served_type)


# Stand-ins for the per-row values in a template text (private-use characters, never in a rule)
_MARK = {"pop": "\ue000", "hh": "\ue001", "dist": "\ue002", "time": "\ue003", "snap": "\ue004"}
_MARK_SPLIT = re.compile("([" + "".join(_MARK.values()) + "])")


def _format_many(x: NDArray[np.float64], fmt: Callable[[float], str], *, scale: float = 1.0,
                 split_at: float = math.inf, scale_above: float = 1.0) -> pa.Array:
    """``fmt`` of every value, calling ``fmt`` once per rounded value rather than per row.

    ``fmt`` must round ``v * scale`` (``v * scale_above`` from ``split_at`` up) to a whole
    number and depend on nothing else; values within 1e-6 of a rounding tie (and NaN, inf)
    are formatted one by one, so the result equals ``[fmt(v) for v in x]`` exactly.
    """
    x = np.asarray(x, dtype=np.float64)
    out: list[str] = []
    codes = np.empty(len(x), dtype=np.int64)
    finite = np.isfinite(x)
    above = finite & (x >= split_at)
    k = np.where(above, x * scale_above, x * scale)
    k = np.where(finite, k, 0.0)
    frac = k - np.floor(k)
    bulk = finite & (np.abs(frac - 0.5) > 1e-6) & (np.abs(k) < 2.0 ** 50)
    key = np.floor(k[bulk] + 0.5).astype(np.int64) * 2 + above[bulk]
    uniq, first, inv = np.unique(key, return_index=True, return_inverse=True)
    vals = x[bulk]
    out.extend(fmt(v) for v in vals[first].tolist())
    codes[bulk] = inv
    rest = np.flatnonzero(~bulk)
    codes[rest] = np.arange(len(out), len(out) + len(rest))
    out.extend(fmt(v) for v in x[rest].tolist())
    return pa.array(out, type=pa.large_string()).take(pa.array(codes))


def _codes(values: Sequence[str | None] | NDArray[Any]) -> tuple[NDArray[np.int64], list[Any]]:
    """Integer codes of text ``values`` (``None`` a value of its own) and the distinct values."""
    codes, uniq = pd.factorize(np.asarray(values, dtype=object), use_na_sentinel=False)
    return codes.astype(np.int64), [None if not isinstance(u, str) else u for u in uniq]


def _join(template: str, fields: Mapping[str, pa.Array], rows: NDArray[np.int64]) -> pa.Array:
    """``template`` with each stand-in replaced by the field's value in each of ``rows``."""
    parts: list[Any] = []
    inv = {v: k for k, v in _MARK.items()}
    for piece in _MARK_SPLIT.split(template):
        if piece in inv:
            parts.append(fields[inv[piece]].take(pa.array(rows)))
        elif piece:
            parts.append(pa.scalar(piece, pa.large_string()))
    if not any(isinstance(x, pa.Array) for x in parts):
        return pa.array([template] * len(rows), type=pa.large_string())
    return pc.binary_join_element_wise(*parts, pa.scalar("", pa.large_string()))


def reasons(statuses: Sequence[str], rules: Sequence[Rule], rule_index: NDArray[np.int64], *,
            pop: NDArray[np.float64], hh: NDArray[np.float64], by_id: NDArray[np.bool_],
            radius_m: NDArray[np.float64], dist_m: NDArray[np.float64],
            time_min: NDArray[np.float64], access_reason: Sequence[str | None],
            snap_m: NDArray[np.float64], cap: Mapping[int, tuple[float, float, bool]],
            served_type: Sequence[str]) -> tuple[pa.Array, pa.Array]:
    """:func:`reason` of many rows at once, in Chinese and English: the same text.

    Row ``k`` has rule ``rules[rule_index[k]]`` and the ``k``-th value of every array; ``cap``
    maps a row to its capacity figures.  Returns two arrow string arrays.  Rows that word
    alike (same rule, status and branch) share one template text whose numbers are filled
    in column-wise, each number formatted once per distinct rounded value (100,000 sites
    × 8 rules: about a second, not tens).
    """
    n = len(statuses)
    ri = np.asarray(rule_index, dtype=np.int64)
    fields = {"pop": _format_many(pop, _fmt_num), "hh": _format_many(hh, _fmt_num),
              "dist": _format_many(dist_m, _fmt_dist, split_at=1000.0, scale_above=0.01),
              "time": _format_many(time_min, _fmt_time, scale=10.0),
              "snap": _format_many(snap_m, _fmt_dist, split_at=1000.0, scale_above=0.01)}
    st_c, st_u = _codes(statuses)
    ar_c, ar_u = _codes(access_reason)
    sv_c, sv_u = _codes(served_type)
    rad_u_arr, rad_c = np.unique(np.asarray(radius_m, dtype=np.float64), return_inverse=True)
    rad_u = rad_u_arr.tolist()
    no_dist = ~np.isfinite(np.asarray(dist_m, dtype=np.float64))
    by = np.asarray(by_id, dtype=bool)
    has_cap = np.zeros(n, dtype=bool)
    cap_rows = np.fromiter(cap.keys(), dtype=np.int64, count=len(cap))
    has_cap[cap_rows] = True
    with_capacity = np.array([r.capacity is not None for r in rules], dtype=bool)
    if len(rules):
        has_cap &= with_capacity[ri] & (np.asarray(statuses, dtype=object) == "gap_capacity")
    key = ri
    for c, size in ((st_c, len(st_u)), (ar_c, len(ar_u)), (sv_c, len(sv_u)),
                    (rad_c, len(rad_u)), (no_dist, 2), (by, 2)):
        key = key * max(size, 1) + c
    key = np.where(has_cap, -1 - np.arange(n), key)  # each capacity row words alone
    _, first, inv = np.unique(key, return_index=True, return_inverse=True)
    order = np.argsort(inv, kind="stable")
    bounds = np.flatnonzero(np.diff(inv[order])) + 1
    words = [(Wording(r, "zh"), Wording(r, "en")) for r in rules]
    out: tuple[list[pa.Array], list[pa.Array]] = ([], [])
    for g_rows, r0 in zip(np.split(order, bounds), first.tolist()):
        for lang_k in (0, 1):
            w = words[ri[r0]][lang_k]
            if has_cap[r0]:
                row = {f: fields[f][r0].as_py() for f in _MARK}
                text = w.text(st_u[st_c[r0]], by_id=bool(by[r0]), radius_m=rad_u[rad_c[r0]],
                              access_reason=ar_u[ar_c[r0]], cap=cap[r0],
                              served_type=sv_u[sv_c[r0]], **row)
                out[lang_k].append(pa.array([text], type=pa.large_string()))
                continue
            text = w.text(st_u[st_c[r0]], pop=_MARK["pop"], hh=_MARK["hh"], by_id=bool(by[r0]),
                          radius_m=rad_u[rad_c[r0]],
                          dist="?" if no_dist[r0] else _MARK["dist"], time=_MARK["time"],
                          access_reason=ar_u[ar_c[r0]], snap=_MARK["snap"], cap=None,
                          served_type=sv_u[sv_c[r0]])
            out[lang_k].append(_join(text, fields, g_rows))
    back = pa.array(np.argsort(order, kind="stable")) if n else pa.array([], type=pa.int64())

    def whole(parts: list[pa.Array]) -> pa.Array:
        if not parts:
            return pa.array([], type=pa.large_string())
        return pa.concat_arrays(parts).take(back)

    return whole(out[0]), whole(out[1])


class Wording:
    """The words of one rule in one language, prepared once for many rows."""

    def __init__(self, rule: Rule, lang: str) -> None:
        self.rule, self.lang, self.zh = rule, lang, lang == "zh"
        self.ft = label(rule.facility_type, lang)
        self.ftl = self.ft if self.zh else self.ft.lower()
        self.wr = rule.satisfied_by.within_reach
        self.reach = reach_phrase(self.wr, lang) if self.wr is not None else ""
        self._req: dict[tuple[str, str], str] = {}
        self._alt: dict[str, str] = {}

    def requirement(self, pop: str, hh: str) -> str:
        """:func:`_requirement`, remembered by (population, households), both formatted."""
        key = (pop, hh if self.rule.applies.min_households is not None else "")
        got = self._req.get(key)
        if got is None:
            got = self._req[key] = _requirement(self.rule, pop, hh, self.lang)
        return got

    def text(self, status: str, *, pop: str, hh: str, by_id: bool, radius_m: float,
             dist: str, time: str, access_reason: str | None, snap: str,
             cap: tuple[float, float, bool] | None, served_type: str) -> str:
        """The reason of one row (``pop``, ``hh``, ``dist``, ``time``, ``snap``: formatted,
        ``?`` = none)."""
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

    def beyond(self, pop: str, hh: str, dist: str, time: str) -> str:
        """The reason of a gap whose nearest facility is reachable but beyond the reach."""
        if self.zh:
            return (f"{self.requirement(pop, hh)};最近{self.ft} {dist} / {time},"
                    f"超出到达要求({self.reach})")
        return f"{self.requirement(pop, hh)}; nearest {dist} / {time}, beyond reach ({self.reach})"

    def _gap_text(self, pop: str, hh: str, dist: str, time: str,
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
    # a group whose demand or capacity is unknown is worded "?" rather than failing the whole list
    need = math.ceil(g_dem / c.max_per_unit - 1e-9) if math.isfinite(g_dem) else math.nan
    short = max(need - g_cap, 0.0) if math.isfinite(need) and math.isfinite(g_cap) else math.nan
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
