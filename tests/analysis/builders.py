"""Builders shared by the analysis tests: small site, facility and access tables around one
point, the foundation rules, and the pieces of the generated worlds (hypothesis)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
from hypothesis import strategies as st
from shapely.geometry import Point

from analysis.rules import RuleSet, load_rules

#: The point (WGS84 lon/lat, degrees) the test layouts are built around.
LON0, LAT0 = 99.2, 24.7
GEOD = pyproj.Geod(ellps="WGS84")

#: The foundation rules of the default set, which the worked cases were written for.
FOUNDATION_IDS = ("health-every-site", "police-800", "police-3000")


def foundation() -> RuleSet:
    """The default rule set cut down to the foundation rules (the union adds many more)."""
    rs = load_rules()
    return dataclasses.replace(rs, rules=tuple(r for r in rs if r.id in FOUNDATION_IDS))


def offset(north_m: float = 0.0, east_m: float = 0.0, *, lon: float = LON0,
           lat: float = LAT0) -> tuple[float, float]:
    """Point ``north_m`` north and ``east_m`` east of (lon, lat), on the ellipsoid."""
    lon1, lat1, _ = GEOD.fwd(lon, lat, 0.0, north_m)
    lon2, lat2, _ = GEOD.fwd(lon1, lat1, 90.0, east_m)
    return lon2, lat2


def _points(rows: list[dict[str, Any]]) -> list[Point]:
    """Each row's ``lon``/``lat`` (default: the centre point)."""
    return [Point(r.get("lon", LON0), r.get("lat", LAT0)) for r in rows]


def _without_position(rows: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame([{k: v for k, v in r.items() if k not in ("lon", "lat")} for r in rows])


def make_sites(rows: list[dict[str, Any]]) -> gpd.GeoDataFrame:
    """A site table (EPSG:4326) from row dicts; names, county, township, households and kind
    filled in where a test leaves them out."""
    df = _without_position(rows)
    for col, default in (("site_name", "安置点"), ("county", "隆阳区"), ("township", "板桥镇"),
                         ("households", np.nan), ("kind", "")):
        if col not in df.columns:
            df[col] = default
    df["households"] = df["households"].astype(float)
    return gpd.GeoDataFrame(df, geometry=_points(rows), crs=4326)


def make_facilities(rows: list[dict[str, Any]], *, capacity: bool = False) -> gpd.GeoDataFrame:
    """A facility table (EPSG:4326) from row dicts, with a ``site_id`` column ("" = not
    from the site table) and, with ``capacity=True``, a float ``capacity`` column (NaN =
    unknown)."""
    if not rows:
        cols = {"facility_id": pd.Series(dtype=str), "facility_type": pd.Series(dtype=str)}
        if capacity:
            cols["capacity"] = pd.Series(dtype=float)
        cols["site_id"] = pd.Series(dtype=str)
        return gpd.GeoDataFrame(cols, geometry=gpd.GeoSeries([], crs=4326), crs=4326)
    df = _without_position(rows)
    defaults: dict[str, Any] = {"site_id": ""} | ({"capacity": np.nan} if capacity else {})
    for col, default in defaults.items():
        if col not in df.columns:
            df[col] = default
    df["site_id"] = df["site_id"].fillna("")
    if capacity:
        df["capacity"] = df["capacity"].astype(float)
    return gpd.GeoDataFrame(df, geometry=_points(rows), crs=4326)


def make_access(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """An access table from row dicts (see :func:`acc`)."""
    cols = ["site_id", "facility_type", "nearest_facility_id", "dist_m", "time_min",
            "snap_dist_m", "reason"]
    df = pd.DataFrame(rows, columns=cols)
    df["nearest_facility_id"] = df["nearest_facility_id"].fillna("")
    df["reason"] = df["reason"].fillna("")
    for c in ("dist_m", "time_min", "snap_dist_m"):
        df[c] = df[c].astype(float)
    return df


def acc(site_id: str, ftype: str, fid: str = "", dist_m: float = math.nan,
        time_min: float = math.nan, reason: str = "", snap_dist_m: float = 20.0
        ) -> dict[str, Any]:
    """One access row."""
    return dict(site_id=site_id, facility_type=ftype, nearest_facility_id=fid, dist_m=dist_m,
                time_min=time_min, snap_dist_m=snap_dist_m, reason=reason)


def draw_site_rows(draw: st.DrawFn, *, n_max: int, spread_m: float, pop_max: int,
                   hh_max: int) -> list[dict[str, Any]]:
    """1..``n_max`` sites within ``spread_m`` metres north/east of the centre."""
    rows = []
    for i in range(draw(st.integers(1, n_max))):
        lon, lat = offset(draw(st.floats(-spread_m, spread_m)),
                          draw(st.floats(-spread_m, spread_m)))
        rows.append(dict(site_id=f"S{i}", population=draw(st.integers(0, pop_max)),
                         households=float(draw(st.integers(0, hh_max))),
                         kind=draw(st.sampled_from(["", "城镇", "农村"])), lon=lon, lat=lat))
    return rows


def draw_facility_rows(draw: st.DrawFn, site_rows: list[dict[str, Any]], *, n_max: int,
                       spread_m: float, types: Sequence[str],
                       capacities: Sequence[float] | None = None) -> list[dict[str, Any]]:
    """0..``n_max`` facilities of ``types`` near the sites, some linked to one by
    ``site_id``; with a ``capacity`` drawn from ``capacities`` when given."""
    rows = []
    for j in range(draw(st.integers(0, n_max))):
        lon, lat = offset(draw(st.floats(-spread_m, spread_m)),
                          draw(st.floats(-spread_m, spread_m)))
        link = draw(st.sampled_from(["", *[r["site_id"] for r in site_rows]]))
        cap = {} if capacities is None else {"capacity": draw(st.sampled_from(capacities))}
        rows.append(dict(facility_id=f"F{j}", facility_type=draw(st.sampled_from(types)),
                         site_id=link, **cap, lon=lon, lat=lat))
    return rows


def expected_pairs(sites: gpd.GeoDataFrame, rules: RuleSet) -> list[tuple[str, str]]:
    """(site id, rule id) of every rule that applies to a site, worked out row by row."""
    out = []
    for s in sites.itertuples():
        for r in rules:
            a = r.applies
            if a.min_population is not None and not s.population >= a.min_population:
                continue
            if a.max_population is not None and not s.population < a.max_population:
                continue
            if a.min_households is not None and not s.households >= a.min_households:
                continue
            if a.kind != "any" and s.kind != a.kind:
                continue
            out.append((s.site_id, r.id))
    return out
