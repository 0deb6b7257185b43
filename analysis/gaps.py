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

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pyarrow as pa
from scipy.spatial import cKDTree

from anzhi.core.errors import InputError, Problem
from anzhi.core.settings import get_settings
from analysis.capacity import capacity_check, site_demand
from analysis.rules import Rule, RuleSet
from analysis.statuses import (COVERED_STATUSES, GAP_STATUSES, STATUSES, UNROUTABLE_REASONS,
                               reasons)
from geo.crs import local_metric_crs

__all__ = ["GAPS_COLUMNS", "STATUSES", "GAP_STATUSES", "COVERED_STATUSES", "UNROUTABLE_REASONS",
           "evaluate", "worst_status"]

#: Columns of the gap table, in order (docs/schemas.md).
GAPS_COLUMNS: tuple[str, ...] = (
    "site_id", "site_name", "county", "township", "population", "households",
    "facility_type", "rule_id", "status", "nearest_facility_id", "dist_m", "time_min",
    "reason", "reason_en", "source", "clause", "grade",
)

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


class _PairKeys:
    """The (site id, facility type) pairs of a table as int64 keys: lookups by two hash
    lookups and an integer index, never by joined strings (2.4 M access rows)."""

    def __init__(self, site_id: np.ndarray, ftype: np.ndarray) -> None:
        s_codes, sites = pd.factorize(site_id)
        t_codes, types = pd.factorize(ftype)
        self.sites, self.types = pd.Index(sites), pd.Index(types)
        self.n_t = max(len(types), 1)
        self.key = pd.Index(s_codes.astype(np.int64) * self.n_t + t_codes)

    def duplicated(self) -> np.ndarray:
        """Whether each row repeats an earlier row's pair."""
        return np.asarray(self.key.duplicated())

    def positions(self, site_id: np.ndarray, ftype: np.ndarray) -> np.ndarray:
        """Row of each (site_id, ftype) pair in the table (``-1`` = none; keys unique)."""
        s = self.sites.get_indexer(site_id)
        t = self.types.get_indexer(ftype)
        q = np.where((s >= 0) & (t >= 0), s.astype(np.int64) * self.n_t + t, -1)
        return np.where(q >= 0, self.key.get_indexer(q), -1)


def _missing_columns(df: pd.DataFrame, name: str, columns: Sequence[str],
                     fix: str) -> list[Problem]:
    """One problem per column of ``columns`` that ``df`` (the input ``name``) lacks."""
    return [Problem(f"column {col!r} is missing", file=name, column=col, fix=fix)
            for col in columns if col not in df.columns]


def _check_wgs84(gdf: gpd.GeoDataFrame, name: str) -> list[Problem]:
    """A non-empty layer must be in EPSG:4326."""
    if not len(gdf) or _is_wgs84(gdf.crs):
        return []
    return [Problem(f"{name} must be in EPSG:4326 (WGS84 lon/lat), got {gdf.crs}", file=name,
                    fix=f"convert with {name}.to_crs(4326) before evaluating")]


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
    if not isinstance(sites, gpd.GeoDataFrame):
        return [Problem("sites must be a GeoDataFrame of points (layers.sites.read_sites)",
                        file="sites", value=type(sites).__name__)]
    problems = (_missing_columns(sites, "sites", ("site_id", "population"),
                                 "read the sites with layers.sites.read_sites")
                + _check_wgs84(sites, "sites") + _check_points(sites, "sites"))
    if "site_id" in sites.columns:
        dup = sites["site_id"].astype(str)
        dup = dup[dup.duplicated()]
        if len(dup):
            problems.append(Problem("site_id is not unique", file="sites", column="site_id",
                                    value=sorted(set(dup))[:10],
                                    fix="give every site its own 编号"))
    return problems


def _check_facilities(facilities: gpd.GeoDataFrame) -> list[Problem]:
    if not isinstance(facilities, gpd.GeoDataFrame):
        return [Problem("facilities must be a GeoDataFrame of points", file="facilities",
                        value=type(facilities).__name__)]
    return (_missing_columns(facilities, "facilities", ("facility_id", "facility_type"),
                             "read facilities with layers.facilities.read_facilities")
            + _check_points(facilities, "facilities") + _check_wgs84(facilities, "facilities"))


def _check_access(access: pd.DataFrame) -> list[Problem]:
    if not isinstance(access, pd.DataFrame):
        return [Problem("access must be a DataFrame (geo.routing / access.csv)", file="access",
                        value=type(access).__name__)]
    problems = _missing_columns(access, "access", _ACCESS_REQUIRED,
                                f"access needs the columns {', '.join(_ACCESS_REQUIRED)}")
    if problems:
        return problems
    site_id, ftype = _str_col(access, "site_id"), _str_col(access, "facility_type")
    dup = np.flatnonzero(_PairKeys(site_id, ftype).duplicated())
    if len(dup):
        problems.append(Problem(
            "more than one row for the same site and facility type", file="access",
            value=[(site_id[k], ftype[k]) for k in dup[:5]],
            fix="keep one row per site_id × facility_type"))
    bad = sorted(set(pd.unique(_str_col(access, "reason"))) - set(_ACCESS_REASONS))
    if bad:
        problems.append(Problem("unknown reason", file="access", column="reason", value=bad,
                                fix="reason must be empty, no_road_nearby, isolated_network "
                                    "or no_facility"))
    return problems


# --------------------------------------------------------------------------------------
# Capacity groups
# --------------------------------------------------------------------------------------


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


@dataclass(frozen=True)
class _Sites:
    """The site table as arrays, table order: ids, population (people), households (NaN
    when unknown), kind, and WGS84 lon/lat (degrees)."""

    site_id: np.ndarray
    pop: np.ndarray
    hh: np.ndarray
    kind: np.ndarray
    lon: np.ndarray
    lat: np.ndarray


def _site_arrays(sites: gpd.GeoDataFrame) -> _Sites:
    n = len(sites)
    geom = sites.geometry
    return _Sites(
        site_id=_str_col(sites, "site_id"),
        pop=pd.to_numeric(sites["population"], errors="coerce").to_numpy(dtype=float),
        hh=(pd.to_numeric(sites["households"], errors="coerce").to_numpy(dtype=float)
            if "households" in sites.columns else np.full(n, np.nan)),
        kind=_str_col(sites, "kind"),
        lon=np.asarray(geom.x, dtype=float) if n else np.empty(0),
        lat=np.asarray(geom.y, dtype=float) if n else np.empty(0),
    )


@dataclass(frozen=True)
class _RuleTable:
    """The rules as arrays, rule order: own facility type, at-site radius (m), whether a
    facility within reach counts and its limits (m, min; inf = none), and the column of
    each facility type the rules look for (own and ``also_types``, sorted)."""

    rules: list[Rule]
    ft: np.ndarray
    radius_m: np.ndarray
    has_reach: np.ndarray
    max_dist_m: np.ndarray
    max_time_min: np.ndarray
    type_index: dict[str, int]


def _reach_limit(rule: Rule, name: str) -> float:
    """A ``within_reach`` limit of the rule, inf when it has none."""
    wr = rule.satisfied_by.within_reach
    value = getattr(wr, name) if wr is not None else None
    return np.inf if value is None else float(value)


def _rule_table(rule_list: list[Rule], default_radius: float) -> _RuleTable:
    radius = [r.satisfied_by.at_site.radius_m
              if r.satisfied_by.at_site is not None and r.satisfied_by.at_site.radius_m is not None
              else default_radius for r in rule_list]
    types = sorted({t for r in rule_list for t in (r.facility_type, *r.satisfied_by.also_types)})
    return _RuleTable(
        rules=rule_list,
        ft=np.array([r.facility_type for r in rule_list], dtype=object),
        radius_m=np.array(radius, dtype=float),
        has_reach=np.array([r.satisfied_by.within_reach is not None for r in rule_list]),
        max_dist_m=np.array([_reach_limit(r, "max_dist_m") for r in rule_list], dtype=float),
        max_time_min=np.array([_reach_limit(r, "max_time_min") for r in rule_list], dtype=float),
        type_index={t: k for k, t in enumerate(types)},
    )


@dataclass(frozen=True)
class _Nearby:
    """Straight-line evidence in a local UTM CRS (metres).

    ``near_dist``/``near_fid`` (sites × types): the nearest facility of each type;
    ``id_dist``/``id_fid``: the nearest one linked to the site by ``site_id`` (the site
    table's yes/no columns; 0 m when it has no position).  ``fac`` are the facilities of
    the rules' types with their types, ids and projected points; ``sx``/``sy`` the sites'.
    """

    near_dist: np.ndarray
    near_fid: np.ndarray
    id_dist: np.ndarray
    id_fid: np.ndarray
    fac: pd.DataFrame
    f_type: np.ndarray
    f_id: np.ndarray
    fx: np.ndarray
    fy: np.ndarray
    sx: np.ndarray
    sy: np.ndarray


def _nearby(facilities: gpd.GeoDataFrame, s: _Sites, type_index: dict[str, int]) -> _Nearby:
    n, n_types = len(s.site_id), len(type_index)
    near = _Nearby(
        near_dist=np.full((n, n_types), np.inf), near_fid=np.full((n, n_types), "", dtype=object),
        id_dist=np.full((n, n_types), np.inf), id_fid=np.full((n, n_types), "", dtype=object),
        fac=facilities, f_type=np.empty(0, dtype=object), f_id=np.empty(0, dtype=object),
        fx=np.full(0, np.nan), fy=np.full(0, np.nan), sx=np.full(n, np.nan),
        sy=np.full(n, np.nan))
    if not len(facilities):
        return near
    fac = facilities[facilities["facility_type"].astype(str).isin(list(type_index))]
    if not len(fac):
        return dataclasses.replace(near, fac=fac)
    f_type = fac["facility_type"].astype(str).to_numpy(dtype=object)
    near = dataclasses.replace(near, fac=fac, f_type=f_type, f_id=_str_col(fac, "facility_id"),
                               fx=np.full(len(fac), np.nan), fy=np.full(len(fac), np.nan))
    ok_site = np.isfinite(s.lon) & np.isfinite(s.lat)
    if not ok_site.any():
        return near
    crs = local_metric_crs(float(np.mean(s.lon[ok_site])), float(np.mean(s.lat[ok_site])))
    sx, sy = _project(s.lon, s.lat, crs)
    fx, fy = _project(np.asarray(fac.geometry.x, dtype=float),
                      np.asarray(fac.geometry.y, dtype=float), crs)
    near = dataclasses.replace(near, fx=fx, fy=fy, sx=sx, sy=sy)
    _nearest_of_each_type(near, type_index)
    if "site_id" in fac.columns:
        _linked_by_site_id(near, s.site_id, type_index)
    return near


def _nearest_of_each_type(near: _Nearby, type_index: dict[str, int]) -> None:
    """Fill ``near_dist``/``near_fid``: a KD-tree of each type's facilities, every site."""
    f_ok = np.isfinite(near.fx) & np.isfinite(near.fy)
    s_pts = np.column_stack([near.sx, near.sy])
    s_ok = np.isfinite(near.sx) & np.isfinite(near.sy)
    for t, k in type_index.items():
        sel = (near.f_type == t) & f_ok
        if not sel.any():
            continue
        tree = cKDTree(np.column_stack([near.fx[sel], near.fy[sel]]))
        d, idx = tree.query(s_pts[s_ok], k=1)
        near.near_dist[s_ok, k] = d
        near.near_fid[s_ok, k] = near.f_id[sel][idx]


def _linked_by_site_id(near: _Nearby, site_id: np.ndarray, type_index: dict[str, int]) -> None:
    """Fill ``id_dist``/``id_fid``: facilities from the site table's yes/no columns."""
    f_site = _str_col(near.fac, "site_id")
    pos = pd.Series(np.arange(len(site_id)), index=pd.Index(site_id, dtype=object))
    f_pos = pos.reindex(pd.Index(f_site, dtype=object)).to_numpy()
    m = (f_site != "") & ~pd.isna(f_pos)
    if not m.any():
        return
    s_of = f_pos[m].astype(np.int64)
    by = pd.DataFrame({
        "s": s_of,
        "t": [type_index[t] for t in near.f_type[m]],
        "fid": near.f_id[m],
        "d": np.hypot(near.fx[m] - near.sx[s_of], near.fy[m] - near.sy[s_of]),
    })
    by["d"] = by["d"].fillna(0.0)  # same site, unknown spot: at it
    by = by.sort_values("d", kind="stable").drop_duplicates(["s", "t"])
    s_idx = by["s"].to_numpy(dtype=np.int64)
    t_idx = by["t"].to_numpy(dtype=np.int64)
    near.id_dist[s_idx, t_idx] = by["d"].to_numpy(dtype=float)
    near.id_fid[s_idx, t_idx] = by["fid"].to_numpy(dtype=object)


@dataclass(frozen=True)
class _Pairs:
    """The applicable site × rule pairs (site order, then rule order): site and rule
    positions, the site ids, and each pair's rule limits."""

    si: np.ndarray
    ri: np.ndarray
    site_id: np.ndarray
    has_reach: np.ndarray
    max_dist_m: np.ndarray
    max_time_min: np.ndarray
    radius_m: np.ndarray
    ft: np.ndarray


def _pairs(applies: np.ndarray, s: _Sites, rt: _RuleTable) -> _Pairs:
    si, ri = np.nonzero(applies)  # row-major: site order, then rule order
    return _Pairs(si=si, ri=ri, site_id=s.site_id[si], has_reach=rt.has_reach[ri],
                  max_dist_m=rt.max_dist_m[ri], max_time_min=rt.max_time_min[ri],
                  radius_m=rt.radius_m[ri], ft=rt.ft[ri])


class _Access:
    """The access table (pure input) looked up by site id × facility type."""

    def __init__(self, access: pd.DataFrame) -> None:
        self.n_rows = len(access)
        self.key = _PairKeys(_str_col(access, "site_id"), _str_col(access, "facility_type"))
        self.text = {c: (_str_col(access, c) if c in access.columns else None)
                     for c in ("nearest_facility_id", "reason")}
        self.num = {c: (pd.to_numeric(access[c], errors="coerce").to_numpy(dtype=float)
                        if c in access.columns else None)
                    for c in ("dist_m", "time_min", "snap_dist_m")}

    def rows(self, site_id: np.ndarray, t_key: np.ndarray, valid: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray]:
        """Whether each pair has a row (``valid`` pairs only), and its position (0 if not)."""
        pos = np.where(valid, self.key.positions(site_id, t_key), -1)
        a_row = pos >= 0
        return a_row, np.where(a_row, pos, 0)

    def text_of(self, col: str, a_row: np.ndarray, take: np.ndarray) -> np.ndarray:
        """A text column at the rows (``""`` without a row)."""
        vals = self.text[col]
        if vals is None or self.n_rows == 0:
            return np.full(len(a_row), "", dtype=object)
        return np.where(a_row, vals[take], "")

    def num_of(self, col: str, a_row: np.ndarray, take: np.ndarray) -> np.ndarray:
        """A numeric column at the rows (NaN without a row)."""
        vals = self.num[col]
        if vals is None or self.n_rows == 0:
            return np.full(len(a_row), np.nan)
        return np.where(a_row, vals[take], np.nan)


def _candidate(t_key: np.ndarray, valid: np.ndarray, p: _Pairs, near: _Nearby, acc: _Access,
               type_index: dict[str, int]) -> dict[str, np.ndarray]:
    """At-site and within-reach evidence of each pair for facility type ``t_key``."""
    pos = pd.Index(list(type_index)).get_indexer(t_key)
    idx_of = np.asarray([*type_index.values(), 0], dtype=np.int64)  # -1 (unknown) -> 0
    t_idx = idx_of[pos]
    c_near_d = np.where(valid, near.near_dist[p.si, t_idx], np.inf)
    c_id_fid = np.where(valid, near.id_fid[p.si, t_idx], "")
    c_by_id = c_id_fid != ""
    c_ok = c_by_id | (c_near_d <= p.radius_m)
    a_row, take = acc.rows(p.site_id, t_key, valid)
    a_fid = acc.text_of("nearest_facility_id", a_row, take)
    a_dist, a_time = acc.num_of("dist_m", a_row, take), acc.num_of("time_min", a_row, take)
    a_reason = np.where(a_row, acc.text_of("reason", a_row, take), np.array(None, dtype=object))
    with np.errstate(invalid="ignore"):
        dist_ok = np.where(np.isinf(p.max_dist_m), True, a_dist <= p.max_dist_m)
        time_ok = np.where(np.isinf(p.max_time_min), True, a_time <= p.max_time_min)
    reach = p.has_reach & a_row & (a_reason == "") & dist_ok & time_ok & (a_fid != "")
    return {
        "ok": c_ok, "by_id": c_by_id,
        "at_fid": np.where(c_by_id, c_id_fid, np.where(valid, near.near_fid[p.si, t_idx], "")),
        "at_d": np.where(c_by_id, near.id_dist[p.si, t_idx], c_near_d),
        "reach": reach, "a_fid": a_fid, "a_dist": a_dist, "a_time": a_time,
        "a_snap": acc.num_of("snap_dist_m", a_row, take), "a_reason": a_reason,
        "type": np.where(valid, t_key, "").astype(object),
    }


def _candidates(rt: _RuleTable, p: _Pairs, near: _Nearby, acc: _Access
                ) -> list[dict[str, np.ndarray]]:
    """Evidence for the rule's own type first, then for each of its ``also_types``."""
    cands = [_candidate(p.ft, np.ones(len(p.si), dtype=bool), p, near, acc, rt.type_index)]
    n_alt = max(len(r.satisfied_by.also_types) for r in rt.rules)
    for a in range(n_alt):
        alt = np.array([(r.satisfied_by.also_types[a] if len(r.satisfied_by.also_types) > a
                         else "") for r in rt.rules], dtype=object)[p.ri]
        cands.append(_candidate(np.where(alt != "", alt, p.ft), alt != "", p, near, acc,
                                rt.type_index))
    return cands


@dataclass(frozen=True)
class _Verdicts:
    """Per pair: status (changed in place by the capacity step), the facility named, its
    distance (m) and time (min), whether it is at the site by ``site_id``, the type that
    met the rule, and the access table's reason (``None``: no row) and road snap (m)."""

    status: np.ndarray
    fid: np.ndarray
    dist_m: np.ndarray
    time_min: np.ndarray
    by_id: np.ndarray
    served_type: np.ndarray
    access_reason: np.ndarray
    snap_m: np.ndarray


def _verdicts(cands: list[dict[str, np.ndarray]], p: _Pairs, walk_m_per_min: float
              ) -> _Verdicts:
    """At the site by any type beats within reach by any type; the first type wins."""
    base = cands[0]
    n = len(p.si)
    ok = np.zeros(n, dtype=bool)
    shared = np.zeros(n, dtype=bool)
    at_fid, at_d, by_id = base["at_fid"].copy(), base["at_d"].copy(), base["by_id"].copy()
    a_fid, a_dist, a_time = base["a_fid"].copy(), base["a_dist"].copy(), base["a_time"].copy()
    served_type = p.ft.copy()
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
    a_reason = base["a_reason"]
    unroutable = ~ok & ~shared & p.has_reach & np.isin(a_reason.astype(str),
                                                       UNROUTABLE_REASONS)
    status = np.select([ok, shared, unroutable], ["ok", "ok_shared", "unroutable"],
                       default="gap_missing").astype(object)
    return _Verdicts(status=status, fid=np.where(ok, at_fid, a_fid),
                     dist_m=np.where(ok, at_d, a_dist),
                     time_min=np.where(ok, at_d / walk_m_per_min, a_time), by_id=by_id,
                     served_type=served_type, access_reason=a_reason, snap_m=base["a_snap"])


def _capacity_step(sites: gpd.GeoDataFrame, s: _Sites, rt: _RuleTable, p: _Pairs,
                   near: _Nearby, v: _Verdicts) -> dict[int, tuple[float, float, bool]]:
    """Mark served pairs whose facility group is too small ``gap_capacity`` (in place);
    ``(demand, capacity, was shared)`` of every served pair of a rule with a norm."""
    cap_info: dict[int, tuple[float, float, bool]] = {}
    for j, rule in enumerate(rt.rules):
        if rule.capacity is None:
            continue
        rows = np.nonzero((p.ri == j) & np.isin(v.status, COVERED_STATUSES))[0]
        if not len(rows):
            continue
        groups, group_cap = _facility_groups(
            near.fac, near.f_type, near.f_id, near.fx, near.fy, rule.facility_type, s.site_id,
            near.sx, near.sy, radius_m=float(rt.radius_m[j]))
        row_group = groups.reindex(pd.Index(v.fid[rows], dtype=object)).fillna("")
        demand = site_demand(sites, rule.capacity)[p.si[rows]]
        over, g_dem, g_cap = capacity_check(row_group.to_numpy(dtype=object), demand,
                                            group_cap,
                                            max_per_unit=rule.capacity.max_per_unit)
        shared_before = v.status[rows] == "ok_shared"
        v.status[rows[over]] = "gap_capacity"
        for row_k, g_d, g_c, sh in zip(rows, g_dem, g_cap, shared_before, strict=True):
            cap_info[int(row_k)] = (float(g_d), float(g_c), bool(sh))
    return cap_info


def _reasons(s: _Sites, rt: _RuleTable, p: _Pairs, v: _Verdicts,
             cap_info: dict[int, tuple[float, float, bool]]) -> tuple[pa.Array, pa.Array]:
    """The reason of every pair in Chinese and English (per row text)."""
    return reasons(list(v.status), rt.rules, p.ri, pop=s.pop[p.si], hh=s.hh[p.si], by_id=v.by_id,
                   radius_m=p.radius_m, dist_m=v.dist_m, time_min=v.time_min,
                   access_reason=list(v.access_reason), snap_m=v.snap_m, cap=cap_info,
                   served_type=[str(x) for x in v.served_type])


def _gap_table(sites: gpd.GeoDataFrame, s: _Sites, rt: _RuleTable, p: _Pairs, v: _Verdicts,
               reasons: tuple[pa.Array, pa.Array]) -> pd.DataFrame:
    """The gap table (:data:`GAPS_COLUMNS`) from the pairs' verdicts and reasons."""
    population = pd.Series(s.pop[p.si])
    if population.notna().all() and (population == population.round()).all():
        population = population.astype("int64")

    def per_rule(values: list[str]) -> np.ndarray:
        return np.array(values, dtype=object)[p.ri]

    return pd.DataFrame({
        "site_id": p.site_id,
        "site_name": _str_col(sites, "site_name")[p.si],
        "county": _str_col(sites, "county")[p.si],
        "township": _str_col(sites, "township")[p.si],
        "population": population.to_numpy(),
        "households": s.hh[p.si],
        "facility_type": p.ft,
        "rule_id": per_rule([r.id for r in rt.rules]),
        "status": v.status,
        "nearest_facility_id": v.fid,
        "dist_m": v.dist_m.astype(float),
        "time_min": v.time_min.astype(float),
        "reason": pd.array(reasons[0], dtype="str"),
        "reason_en": pd.array(reasons[1], dtype="str"),
        "source": per_rule([r.source for r in rt.rules]),
        "clause": per_rule([r.clause for r in rt.rules]),
        "grade": per_rule([r.grade for r in rt.rules]),
    })


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
    if len(sites) == 0 or not rule_list:
        return _empty_gaps()
    s = _site_arrays(sites)
    applies = _applicability(rule_list, s.pop, s.hh, s.kind)
    if not applies.any():
        return _empty_gaps()
    rt = _rule_table(rule_list, default_radius)
    p = _pairs(applies, s, rt)
    near = _nearby(facilities, s, rt.type_index)
    # the rule's own type first, then its also_types (a township health centre for a
    # clinic rule): at the site by any type beats within reach by any type
    cands = _candidates(rt, p, near, _Access(access))
    v = _verdicts(cands, p, walk_m_per_min)
    cap_info = _capacity_step(sites, s, rt, p, near, v)
    return _gap_table(sites, s, rt, p, v, _reasons(s, rt, p, v, cap_info))


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
