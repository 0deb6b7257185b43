"""The gap list: every relocation site checked against every rule that applies to it.

:func:`evaluate` takes the sites, the facilities, a precomputed access table (nearest
facility of each type by road, from ``geo.routing``) and a :class:`~analysis.rules.RuleSet`,
and returns one row per site × applicable rule with a status and a one-line reason in
Chinese and English (``docs/schemas.md``, "Gaps").  It never routes: the app re-evaluates
on every threshold change, so everything here is array work on the given tables.

Statuses, in the order a site is checked:

``ok``
    A facility of the rule's type is *at the site*: it came from the site table's yes/no
    column (same ``site_id``) or lies within the rule's at-site radius, straight-line
    (computed in a local UTM CRS).  No road is needed for this.
``ok_shared``
    The rule allows ``within_reach`` and the access table puts the nearest facility of
    the type within its distance and/or time limits (both, when both are given).
``unroutable``
    The rule allows ``within_reach``, nothing is at the site, and routing could not place
    the site (access ``reason`` ``no_road_nearby`` or ``isolated_network``), so whether a
    nearby facility serves it is unknown.  Rules that can only be met at the site (police
    rooms) never get this status: without a facility at the site they are ``gap_missing``
    whatever the roads.
``gap_missing``
    Everything else: nothing at the site and nothing within reach.
``gap_capacity``
    The rule has a capacity norm and the site is served (``ok`` or ``ok_shared``), but the
    facilities serving it are too small for all the sites they serve: each served site's
    demand (residents, or children aged 3–5) is added to the group of facilities serving
    it — the facilities at a site form one group, a shared facility elsewhere is its own
    group — and the group is over capacity when ``demand > capacity * max_per_unit``
    (facilities' ``capacity`` column: officers, places).  Unknown capacity (NaN) gives no
    verdict (:mod:`analysis.capacity`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
from scipy.spatial import cKDTree

from anzhi.core.errors import InputError, Problem
from anzhi.core.settings import get_settings
from analysis.capacity import capacity_check, site_demand
from analysis.rules import Rule, RuleSet, reach_phrase
from anzhi.core.vocabulary import label
from geo.coords import local_metric_crs

__all__ = [
    "GAPS_COLUMNS",
    "STATUSES",
    "GAP_STATUSES",
    "COVERED_STATUSES",
    "UNROUTABLE_REASONS",
    "evaluate",
    "worst_status",
]

#: Columns of the gap table, in order (docs/schemas.md).
GAPS_COLUMNS: tuple[str, ...] = (
    "site_id", "site_name", "county", "township", "population", "households",
    "facility_type", "rule_id", "status", "nearest_facility_id", "dist_m", "time_min",
    "reason", "reason_en", "source", "clause", "grade",
)
#: Statuses from best to worst (the order :func:`worst_status` ranks by).
STATUSES: tuple[str, ...] = ("ok", "ok_shared", "gap_capacity", "gap_missing", "unroutable")
#: Statuses that are gaps.
GAP_STATUSES: tuple[str, ...] = ("gap_missing", "gap_capacity")
#: Statuses that count as covered (coverage tables).
COVERED_STATUSES: tuple[str, ...] = ("ok", "ok_shared")
#: Access-table reasons that mean routing could not place the site.
UNROUTABLE_REASONS: tuple[str, ...] = ("no_road_nearby", "isolated_network")

_ACCESS_REQUIRED = ("site_id", "facility_type", "nearest_facility_id", "dist_m", "time_min",
                    "reason")
_ACCESS_REASONS = ("", "no_road_nearby", "isolated_network", "no_facility")


# --------------------------------------------------------------------------------------
# Input checks
# --------------------------------------------------------------------------------------


def _is_wgs84(crs: object) -> bool:
    if crs is None:
        return False
    try:
        return pyproj.CRS.from_user_input(crs).equals(pyproj.CRS.from_epsg(4326),
                                                      ignore_axis_order=True)
    except pyproj.exceptions.CRSError:
        return False


def _str_col(df: pd.DataFrame, col: str) -> np.ndarray:
    """Column as an object array of Python strings ("" for missing / absent column)."""
    if col not in df.columns:
        return np.full(len(df), "", dtype=object)
    ser = df[col]
    arr = ser.to_numpy(dtype=object, na_value="")
    if not isinstance(ser.dtype, pd.StringDtype):
        arr = np.array([v if isinstance(v, str) else str(v) for v in arr], dtype=object)
    return arr


def _keys(a: np.ndarray, b: np.ndarray) -> pd.Index:
    """One string key per (a, b) pair, for fast lookups."""
    return pd.Index(a + "\x1f" + b, dtype=object)


def _check_points(gdf: gpd.GeoDataFrame, name: str) -> list[Problem]:
    """Geometries must be points (missing/empty ones are allowed: no straight-line check)."""
    if not len(gdf) or gdf.geometry.name not in gdf.columns:
        return []
    kinds = gdf.geom_type
    bad = kinds.notna() & (kinds != "Point") & ~gdf.geometry.is_empty
    if bad.any():
        return [Problem(f"{int(bad.sum())} geometries are not points", file=name,
                        column="geometry", value=sorted(set(kinds[bad]))[:3],
                        fix="use one point per row (e.g. the centroid of a polygon)")]
    return []


def _check_sites(sites: gpd.GeoDataFrame) -> list[Problem]:
    problems: list[Problem] = []
    if not isinstance(sites, gpd.GeoDataFrame):
        return [Problem("sites must be a GeoDataFrame of points (layers.sites.read_sites)",
                        file="sites", value=type(sites).__name__)]
    for col in ("site_id", "population"):
        if col not in sites.columns:
            problems.append(Problem(f"column {col!r} is missing", file="sites", column=col,
                                    fix="read the sites with layers.sites.read_sites"))
    if len(sites) and not _is_wgs84(sites.crs):
        problems.append(Problem(
            f"sites must be in EPSG:4326 (WGS84 lon/lat), got {sites.crs}", file="sites",
            fix="convert with sites.to_crs(4326) before evaluating"))
    problems += _check_points(sites, "sites")
    if "site_id" in sites.columns:
        dup = sites["site_id"].astype(str)
        dup = dup[dup.duplicated()]
        if len(dup):
            problems.append(Problem("site_id is not unique", file="sites", column="site_id",
                                    value=sorted(set(dup))[:10],
                                    fix="give every site its own 编号"))
    return problems


def _check_facilities(facilities: gpd.GeoDataFrame) -> list[Problem]:
    problems: list[Problem] = []
    if not isinstance(facilities, gpd.GeoDataFrame):
        return [Problem("facilities must be a GeoDataFrame of points", file="facilities",
                        value=type(facilities).__name__)]
    for col in ("facility_id", "facility_type"):
        if col not in facilities.columns:
            problems.append(Problem(f"column {col!r} is missing", file="facilities", column=col,
                                    fix="read facilities with layers.facilities.read_facilities"))
    problems += _check_points(facilities, "facilities")
    if len(facilities) and not _is_wgs84(facilities.crs):
        problems.append(Problem(
            f"facilities must be in EPSG:4326 (WGS84 lon/lat), got {facilities.crs}",
            file="facilities", fix="convert with facilities.to_crs(4326) before evaluating"))
    return problems


def _check_access(access: pd.DataFrame) -> list[Problem]:
    problems: list[Problem] = []
    if not isinstance(access, pd.DataFrame):
        return [Problem("access must be a DataFrame (geo.routing / access.csv)", file="access",
                        value=type(access).__name__)]
    missing = [c for c in _ACCESS_REQUIRED if c not in access.columns]
    for col in missing:
        problems.append(Problem(f"column {col!r} is missing", file="access", column=col,
                                fix=f"access needs the columns {', '.join(_ACCESS_REQUIRED)}"))
    if missing:
        return problems
    key = _keys(_str_col(access, "site_id"), _str_col(access, "facility_type"))
    dup = key[key.duplicated()]
    if len(dup):
        problems.append(Problem(
            "more than one row for the same site and facility type", file="access",
            value=[tuple(k.split("\x1f")) for k in dup[:5]],
            fix="keep one row per site_id × facility_type"))
    bad = sorted(set(pd.unique(_str_col(access, "reason"))) - set(_ACCESS_REASONS))
    if bad:
        problems.append(Problem("unknown reason", file="access", column="reason", value=bad,
                                fix="reason must be empty, no_road_nearby, isolated_network "
                                    "or no_facility"))
    return problems


# --------------------------------------------------------------------------------------
# Text
# --------------------------------------------------------------------------------------


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
    if a.min_population is not None and a.max_population is not None:
        parts.append(f"{a.min_population:,} ≤ {word} {_fmt_num(pop)} < {a.max_population:,}")
    elif a.min_population is not None:
        parts.append(f"{word} {_fmt_num(pop)} ≥ {a.min_population:,}")
    elif a.max_population is not None:
        parts.append(f"{word} {_fmt_num(pop)} < {a.max_population:,}")
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


def _reason(
    status: str, rule: Rule, lang: str, *, pop: float, hh: float, by_id: bool,
    radius_m: float, dist_m: float, time_min: float, access_reason: str | None,
    snap_m: float, cap: tuple[float, float, bool] | None = None, served_type: str = "",
) -> str:
    """One-line reason for one gap row, in ``lang``."""
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


def _facility_groups(
    fac: pd.DataFrame, f_type: np.ndarray, f_id: np.ndarray, fx: np.ndarray, fy: np.ndarray,
    facility_type: str, site_id: np.ndarray, sx: np.ndarray, sy: np.ndarray, *,
    radius_m: float,
) -> tuple[pd.Series, pd.Series]:
    """Facility id -> capacity group, and each group's capacity (NaN if any is unknown).

    The facilities of ``facility_type`` at a site (same ``site_id``, or nearest site
    within ``radius_m`` metres straight-line) form the group ``site:<site_id>``; any
    other facility is its own group ``fac:<facility_id>``.
    """
    sel = f_type == facility_type
    ids = f_id[sel]
    cap = (pd.to_numeric(fac["capacity"], errors="coerce").to_numpy(dtype=float)[sel]
           if "capacity" in fac.columns else np.full(int(sel.sum()), np.nan))
    groups = np.array(["fac:" + i for i in ids], dtype=object)
    if "site_id" in fac.columns:
        f_site = _str_col(fac, "site_id")[sel]
        known = np.isin(f_site, site_id) & (f_site != "")
    else:
        f_site = np.full(len(ids), "", dtype=object)
        known = np.zeros(len(ids), dtype=bool)
    groups[known] = np.array(["site:" + s for s in f_site[known]], dtype=object)
    s_ok = np.isfinite(sx) & np.isfinite(sy)
    fxs, fys = fx[sel], fy[sel]
    todo = ~known & np.isfinite(fxs) & np.isfinite(fys)
    if s_ok.any() and todo.any():
        tree = cKDTree(np.column_stack([sx[s_ok], sy[s_ok]]))
        d, idx = tree.query(np.column_stack([fxs[todo], fys[todo]]), k=1)
        near = d <= radius_m
        pos = np.nonzero(todo)[0][near]
        groups[pos] = np.array(["site:" + s for s in site_id[s_ok][idx[near]]], dtype=object)
    # per group: the sum of capacities, NaN when any is unknown (numpy: this runs on every
    # threshold change in the app)
    g_code, g_uni = pd.factorize(groups)
    n_g = len(g_uni)
    unknown_cap = np.bincount(g_code, weights=np.isnan(cap), minlength=n_g) > 0
    cap_sum = np.bincount(g_code, weights=np.nan_to_num(cap, nan=0.0), minlength=n_g)
    g_cap = pd.Series(np.where(unknown_cap, np.nan, cap_sum),
                      index=pd.Index(g_uni, dtype=object, name="g"), name="cap")
    by_id = pd.Series(groups, index=pd.Index(ids, dtype=object))
    return by_id[~by_id.index.duplicated()], g_cap


# --------------------------------------------------------------------------------------
# Evaluation
# --------------------------------------------------------------------------------------


def _empty_gaps() -> pd.DataFrame:
    df = pd.DataFrame({c: pd.Series(dtype=object) for c in GAPS_COLUMNS})
    for c in ("population", "households", "dist_m", "time_min"):
        df[c] = df[c].astype(float)
    for c in set(GAPS_COLUMNS) - {"population", "households", "dist_m", "time_min"}:
        df[c] = df[c].astype(str)
    return df


def _applicability(rules: Sequence[Rule], pop: np.ndarray, hh: np.ndarray,
                   kind: np.ndarray) -> np.ndarray:
    """Boolean matrix sites × rules: does the rule apply to the site."""
    n, r = len(pop), len(rules)
    out = np.ones((n, r), dtype=bool)
    for j, rule in enumerate(rules):
        a = rule.applies
        m = out[:, j]
        if a.min_population is not None:
            m &= pop >= a.min_population
        if a.max_population is not None:
            m &= pop < a.max_population
        if a.min_households is not None:
            m &= hh >= a.min_households  # NaN households -> False
        if a.kind != "any":
            m &= kind == a.kind
    return out


def _project(lon: np.ndarray, lat: np.ndarray, crs: pyproj.CRS) -> tuple[np.ndarray, np.ndarray]:
    tr = pyproj.Transformer.from_crs(4326, crs, always_xy=True)
    x, y = tr.transform(lon, lat)
    return np.asarray(x, dtype=float), np.asarray(y, dtype=float)


def evaluate(
    sites: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    access: pd.DataFrame,
    rules: RuleSet,
    *,
    at_site_radius_m: float | None = None,
) -> pd.DataFrame:
    """Check every site against every rule that applies to it.

    Parameters
    ----------
    sites
        Relocation sites, EPSG:4326 points (``docs/schemas.md`` "Sites"): ``site_id``,
        ``population`` required; ``site_name``, ``county``, ``township``, ``households``,
        ``kind`` used when present.
    facilities
        Facilities, EPSG:4326 points (``docs/schemas.md`` "Facilities"): ``facility_id``,
        ``facility_type`` required; ``site_id`` (non-empty for facilities from the site
        table's yes/no columns) used when present.
    access
        Nearest facility of each type by road, one row per site × facility type
        (``docs/schemas.md`` "Access"), computed with the walk profile for the default
        rules.  Read only; a missing row means "not computed".
    rules
        The rule set.
    at_site_radius_m
        Straight-line radius, metres, within which a facility counts as at the site, for
        rules that do not set their own ``radius_m``.  Default
        ``settings.at_site_radius_m``.

    Returns
    -------
    pandas.DataFrame
        The gap table, columns :data:`GAPS_COLUMNS`, one row per site × applicable rule,
        in site order then rule order.  ``dist_m`` (metres) and ``time_min`` (minutes) are
        the straight-line distance and walking time to the at-site facility for ``ok``
        rows, else the access table's road distance and travel time (NaN when none).

    Raises
    ------
    InputError
        Missing columns, a CRS other than EPSG:4326, duplicate site ids or access rows, or
        unknown access reasons; every problem is listed.
    """
    problems = _check_sites(sites) + _check_facilities(facilities) + _check_access(access)
    if problems:
        raise InputError(problems)
    settings = get_settings()
    default_radius = float(settings.at_site_radius_m if at_site_radius_m is None
                           else at_site_radius_m)
    if not (default_radius >= 0):
        raise InputError(Problem("at_site_radius_m must be a distance >= 0 (metres)",
                                 value=at_site_radius_m))
    walk_m_per_min = settings.walk_speed_kph * 1000.0 / 60.0
    rule_list = list(rules.rules)
    n = len(sites)
    if n == 0 or not rule_list:
        return _empty_gaps()

    # ---- sites as arrays ---------------------------------------------------------------
    site_id = _str_col(sites, "site_id")
    pop = pd.to_numeric(sites["population"], errors="coerce").to_numpy(dtype=float)
    hh = (pd.to_numeric(sites["households"], errors="coerce").to_numpy(dtype=float)
          if "households" in sites.columns else np.full(n, np.nan))
    kind = _str_col(sites, "kind")
    geom = sites.geometry
    lon = np.asarray(geom.x, dtype=float) if n else np.empty(0)
    lat = np.asarray(geom.y, dtype=float) if n else np.empty(0)

    # ---- which rules apply where --------------------------------------------------------
    applies = _applicability(rule_list, pop, hh, kind)
    si, ri = np.nonzero(applies)  # row-major: site order, then rule order
    if len(si) == 0:
        return _empty_gaps()
    rule_ft = np.array([r.facility_type for r in rule_list], dtype=object)
    rule_radius = np.array([
        r.satisfied_by.at_site.radius_m
        if r.satisfied_by.at_site is not None and r.satisfied_by.at_site.radius_m is not None
        else default_radius for r in rule_list], dtype=float)
    rule_has_reach = np.array([r.satisfied_by.within_reach is not None for r in rule_list])
    inf = np.inf
    rule_max_d = np.array([
        (r.satisfied_by.within_reach.max_dist_m if r.satisfied_by.within_reach is not None
         and r.satisfied_by.within_reach.max_dist_m is not None else inf) for r in rule_list],
        dtype=float)
    rule_max_t = np.array([
        (r.satisfied_by.within_reach.max_time_min if r.satisfied_by.within_reach is not None
         and r.satisfied_by.within_reach.max_time_min is not None else inf)
        for r in rule_list], dtype=float)
    types = sorted({t for r in rule_list for t in (r.facility_type,
                                                   *r.satisfied_by.also_types)})
    type_index = {t: k for k, t in enumerate(types)}

    # ---- straight-line: nearest facility of each type to each site (local UTM) ----------
    near_dist = np.full((n, len(types)), np.inf)
    near_fid = np.full((n, len(types)), "", dtype=object)
    id_dist = np.full((n, len(types)), np.inf)
    id_fid = np.full((n, len(types)), "", dtype=object)
    fac = facilities[facilities["facility_type"].astype(str).isin(types)] if len(facilities) \
        else facilities
    f_type = fac["facility_type"].astype(str).to_numpy(dtype=object) if len(fac) else \
        np.empty(0, dtype=object)
    f_id = _str_col(fac, "facility_id") if len(fac) else np.empty(0, dtype=object)
    sx = sy = np.full(n, np.nan)
    fx = fy = np.full(len(fac), np.nan)
    if len(fac):
        ok_site = np.isfinite(lon) & np.isfinite(lat)
        if ok_site.any():
            crs = local_metric_crs(float(np.mean(lon[ok_site])), float(np.mean(lat[ok_site])))
            sx, sy = _project(lon, lat, crs)
            f_lon = np.asarray(fac.geometry.x, dtype=float)
            f_lat = np.asarray(fac.geometry.y, dtype=float)
            fx, fy = _project(f_lon, f_lat, crs)
            f_ok = np.isfinite(fx) & np.isfinite(fy)
            s_pts = np.column_stack([sx, sy])
            s_ok = np.isfinite(sx) & np.isfinite(sy)
            for t, k in type_index.items():
                sel = (f_type == t) & f_ok
                if not sel.any():
                    continue
                tree = cKDTree(np.column_stack([fx[sel], fy[sel]]))
                d, idx = tree.query(s_pts[s_ok], k=1)
                near_dist[s_ok, k] = d
                near_fid[s_ok, k] = f_id[sel][idx]
            # by site_id: facilities from the site table's yes/no columns
            if "site_id" in fac.columns:
                f_site = _str_col(fac, "site_id")
                pos = pd.Series(np.arange(n), index=pd.Index(site_id, dtype=object))
                f_pos = pos.reindex(pd.Index(f_site, dtype=object)).to_numpy()
                m = (f_site != "") & ~pd.isna(f_pos)
                if m.any():
                    by = pd.DataFrame({
                        "s": f_pos[m].astype(np.int64),
                        "t": [type_index[t] for t in f_type[m]],
                        "fid": f_id[m],
                        "d": np.hypot(fx[m] - sx[f_pos[m].astype(np.int64)],
                                      fy[m] - sy[f_pos[m].astype(np.int64)]),
                    })
                    by["d"] = by["d"].fillna(0.0)  # same site, unknown spot: at it
                    by = by.sort_values("d", kind="stable").drop_duplicates(["s", "t"])
                    s_idx = by["s"].to_numpy(dtype=np.int64)
                    t_idx = by["t"].to_numpy(dtype=np.int64)
                    id_dist[s_idx, t_idx] = by["d"].to_numpy(dtype=float)
                    id_fid[s_idx, t_idx] = by["fid"].to_numpy(dtype=object)

    # ---- access table (pure input) -----------------------------------------------------
    acc_key = _keys(_str_col(access, "site_id"), _str_col(access, "facility_type"))
    acc_text = {c: (_str_col(access, c) if c in access.columns else None)
                for c in ("nearest_facility_id", "reason")}
    acc_num = {c: (pd.to_numeric(access[c], errors="coerce").to_numpy(dtype=float)
                   if c in access.columns else None)
               for c in ("dist_m", "time_min", "snap_dist_m")}
    has_reach = rule_has_reach[ri]
    max_d, max_t, radius_p = rule_max_d[ri], rule_max_t[ri], rule_radius[ri]

    def candidate(t_key: np.ndarray, valid: np.ndarray) -> dict[str, np.ndarray]:
        """At-site and within-reach evidence of each pair for facility type ``t_key``."""
        t_idx = np.array([type_index.get(t, 0) for t in t_key], dtype=np.int64)
        c_near_d = np.where(valid, near_dist[si, t_idx], np.inf)
        c_id_fid = np.where(valid, id_fid[si, t_idx], "")
        c_by_id = c_id_fid != ""
        c_ok = c_by_id | (c_near_d <= radius_p)
        pos = np.where(valid, acc_key.get_indexer(_keys(site_id[si], t_key)), -1)
        a_row = pos >= 0
        take = np.where(a_row, pos, 0)

        def text(col: str) -> np.ndarray:
            vals = acc_text[col]
            if vals is None or len(access) == 0:
                return np.full(len(si), "", dtype=object)
            return np.where(a_row, vals[take], "")

        def num(col: str) -> np.ndarray:
            vals = acc_num[col]
            if vals is None or len(access) == 0:
                return np.full(len(si), np.nan)
            return np.where(a_row, vals[take], np.nan)

        a_fid, a_dist, a_time = text("nearest_facility_id"), num("dist_m"), num("time_min")
        a_reason = np.where(a_row, text("reason"), np.array(None, dtype=object))
        with np.errstate(invalid="ignore"):
            dist_ok = np.where(np.isinf(max_d), True, a_dist <= max_d)
            time_ok = np.where(np.isinf(max_t), True, a_time <= max_t)
        reach = has_reach & a_row & (a_reason == "") & dist_ok & time_ok & (a_fid != "")
        return {
            "ok": c_ok, "by_id": c_by_id,
            "at_fid": np.where(c_by_id, c_id_fid, np.where(valid, near_fid[si, t_idx], "")),
            "at_d": np.where(c_by_id, id_dist[si, t_idx], c_near_d),
            "reach": reach, "a_fid": a_fid, "a_dist": a_dist, "a_time": a_time,
            "a_snap": num("snap_dist_m"), "a_reason": a_reason,
            "type": np.where(valid, t_key, "").astype(object),
        }

    # the rule's own type first, then its also_types (a township health centre for a
    # clinic rule): at the site by any type beats within reach by any type
    cands = [candidate(rule_ft[ri], np.ones(len(si), dtype=bool))]
    n_alt = max(len(r.satisfied_by.also_types) for r in rule_list)
    for a in range(n_alt):
        alt = np.array([(r.satisfied_by.also_types[a] if len(r.satisfied_by.also_types) > a
                         else "") for r in rule_list], dtype=object)[ri]
        cands.append(candidate(np.where(alt != "", alt, rule_ft[ri]), alt != ""))
    base = cands[0]
    ok = np.zeros(len(si), dtype=bool)
    shared = np.zeros(len(si), dtype=bool)
    at_fid = base["at_fid"].copy()
    at_d = base["at_d"].copy()
    by_id = base["by_id"].copy()
    a_fid, a_dist, a_time = base["a_fid"].copy(), base["a_dist"].copy(), base["a_time"].copy()
    served_type = rule_ft[ri].copy()
    for c in cands:  # first type at the site wins
        take_at = c["ok"] & ~ok
        at_fid = np.where(take_at, c["at_fid"], at_fid)
        at_d = np.where(take_at, c["at_d"], at_d)
        by_id = np.where(take_at, c["by_id"], by_id)
        served_type = np.where(take_at, c["type"], served_type)
        ok |= c["ok"]
    for c in cands:  # else the first type within reach
        take_sh = c["reach"] & ~ok & ~shared
        a_fid = np.where(take_sh, c["a_fid"], a_fid)
        a_dist = np.where(take_sh, c["a_dist"], a_dist)
        a_time = np.where(take_sh, c["a_time"], a_time)
        served_type = np.where(take_sh, c["type"], served_type)
        shared |= take_sh
    a_snap, a_reason = base["a_snap"], base["a_reason"]
    unroutable = ~ok & ~shared & has_reach & np.isin(a_reason.astype(str),
                                                     UNROUTABLE_REASONS)
    status = np.select([ok, shared, unroutable], ["ok", "ok_shared", "unroutable"],
                       default="gap_missing").astype(object)

    out_fid = np.where(ok, at_fid, a_fid)
    out_dist = np.where(ok, at_d, a_dist)
    out_time = np.where(ok, at_d / walk_m_per_min, a_time)

    # ---- capacity norms: served rows whose facility group is too small -----------------
    cap_info: dict[int, tuple[float, float, bool]] = {}
    for j, rule in enumerate(rule_list):
        if rule.capacity is None:
            continue
        rows = np.nonzero((ri == j) & np.isin(status, COVERED_STATUSES))[0]
        if not len(rows):
            continue
        groups, group_cap = _facility_groups(
            fac, f_type, f_id, fx, fy, rule.facility_type, site_id, sx, sy,
            radius_m=float(rule_radius[j]))
        row_group = groups.reindex(pd.Index(out_fid[rows], dtype=object)).fillna("")
        demand = site_demand(sites, rule.capacity)[si[rows]]
        over, g_dem, g_cap = capacity_check(row_group.to_numpy(dtype=object), demand,
                                            group_cap,
                                            max_per_unit=rule.capacity.max_per_unit)
        shared_before = status[rows] == "ok_shared"
        status[rows[over]] = "gap_capacity"
        for row_k, g_d, g_c, sh in zip(rows, g_dem, g_cap, shared_before, strict=True):
            cap_info[int(row_k)] = (float(g_d), float(g_c), bool(sh))

    # ---- reasons (per row text; the rest is array work) ---------------------------------
    reasons_zh: list[str] = []
    reasons_en: list[str] = []
    pop_p, hh_p = pop[si], hh[si]
    for k in range(len(si)):
        rule = rule_list[ri[k]]
        kw = dict(pop=pop_p[k], hh=hh_p[k], by_id=bool(by_id[k]), radius_m=radius_p[k],
                  dist_m=float(out_dist[k]), time_min=float(out_time[k]),
                  access_reason=a_reason[k], snap_m=float(a_snap[k]),
                  cap=cap_info.get(k), served_type=str(served_type[k]))
        reasons_zh.append(_reason(status[k], rule, "zh", **kw))  # type: ignore[arg-type]
        reasons_en.append(_reason(status[k], rule, "en", **kw))  # type: ignore[arg-type]

    population = pd.Series(pop_p)
    if population.notna().all() and (population == population.round()).all():
        population = population.astype("int64")
    rid = np.array([r.id for r in rule_list], dtype=object)
    out = pd.DataFrame({
        "site_id": site_id[si],
        "site_name": _str_col(sites, "site_name")[si],
        "county": _str_col(sites, "county")[si],
        "township": _str_col(sites, "township")[si],
        "population": population.to_numpy(),
        "households": hh_p,
        "facility_type": rule_ft[ri],
        "rule_id": rid[ri],
        "status": status,
        "nearest_facility_id": out_fid,
        "dist_m": out_dist.astype(float),
        "time_min": out_time.astype(float),
        "reason": reasons_zh,
        "reason_en": reasons_en,
        "source": np.array([r.source for r in rule_list], dtype=object)[ri],
        "clause": np.array([r.clause for r in rule_list], dtype=object)[ri],
        "grade": np.array([r.grade for r in rule_list], dtype=object)[ri],
    })
    return out


def worst_status(gaps: pd.DataFrame, *, site_ids: Iterable[str] | None = None) -> pd.DataFrame:
    """The worst status of each site, for colouring the map.

    Parameters
    ----------
    gaps
        The gap table of :func:`evaluate`.
    site_ids
        All site ids, so that sites with no applicable rule are listed (as ``ok``); by
        default only the sites in ``gaps``, in order of first appearance.

    Returns
    -------
    pandas.DataFrame
        Columns ``site_id``, ``status`` (worst of unroutable > gap_missing > gap_capacity >
        ok_shared > ok), ``n_rules`` (applicable rules), ``n_gaps`` (gap_missing or
        gap_capacity rows) and ``n_unroutable``.
    """
    rank = {s: i for i, s in enumerate(STATUSES)}
    ids = gaps["site_id"].astype(str)
    st = gaps["status"].astype(str)
    unknown = sorted(set(st) - set(rank))
    if unknown:
        raise InputError(Problem("unknown status in the gap table", column="status",
                                 value=unknown, fix=f"statuses are {', '.join(STATUSES)}"))
    code, uni = pd.factorize(ids.to_numpy(dtype=object))
    n = len(uni)
    ranks = st.map(rank).to_numpy(dtype=np.int64)
    worst = np.zeros(n, dtype=np.int64)
    np.maximum.at(worst, code, ranks)
    n_rules = np.bincount(code, minlength=n)
    n_gaps = np.bincount(code, weights=st.isin(GAP_STATUSES).to_numpy(), minlength=n)
    n_unr = np.bincount(code, weights=(st == "unroutable").to_numpy(), minlength=n)
    if site_ids is None:
        order = np.asarray(uni, dtype=object)
        pos = np.arange(n)
    else:
        order = np.array([str(s) for s in site_ids], dtype=object)
        pos = pd.Index(uni, dtype=object).get_indexer(order)
    found = pos >= 0
    safe = np.where(found, pos, 0)

    def pick(values: np.ndarray) -> np.ndarray:
        return np.where(found, values[safe] if n else 0, 0).astype(np.int64)

    out = pd.DataFrame({
        "site_id": pd.Series(order, dtype=object).astype(str).to_numpy(),
        "status": pd.Series(np.asarray(STATUSES, dtype=object)[pick(worst)]).astype(str)
        .to_numpy(),
        "n_rules": pick(n_rules),
        "n_gaps": pick(n_gaps),
        "n_unroutable": pick(n_unr),
    })
    return out
