"""What if a facility stood here?  Hypothetical facilities added to a routed region.

A planner clicks the map to place a clinic, a police room or a kindergarten where none is;
the gap list and coverage must follow at once.  Routing the whole county again would
repeat every facility's search; here only the placed facilities are routed (one search
per weight for each placed type, :func:`geo.routing.access_table` on them alone), and each
site keeps the nearer of its old nearest facility and the placed ones.  The result is the
access table of the region with the facilities added, so the rules are applied to it as
to any run (:func:`anzhi.pipeline.evaluate_region`).

Nearest is kept per column, as the access table defines it: ``dist_m`` (with its
``nearest_facility_id``) by length, ``time_min`` by time, each the least over the old
facilities and the placed ones.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from anzhi.core.errors import InputError, Problem
from anzhi.core.vocabulary import FACILITY_TYPES, normalise_facility_type
from anzhi.pipeline import RegionData, RoadGraph, region_elevation, region_road_graph
from geo.roads import load_profile
from geo.routing import access_table
from layers.facilities import FACILITY_COLUMNS, combine_facilities

__all__ = ["PLACED_PREFIX", "placed_facilities", "placed_table", "with_placed"]

#: Id prefix of placed (hypothetical) facilities: ``WHATIF-1``, ``WHATIF-2``, ...
PLACED_PREFIX = "WHATIF-"
_WHAT = "placed facilities"


def placed_facilities(
    points: Sequence[tuple[str, float, float]], *, capacity: Sequence[float] | None = None
) -> gpd.GeoDataFrame:
    """Hypothetical facilities in the facilities contract, from ``(type, lon, lat)`` triples.

    Parameters
    ----------
    points
        Facility type (key, Chinese or English label) and WGS84 longitude and latitude,
        degrees, of each placed facility.
    capacity
        Places / officers of each (NaN = unknown); default all unknown.

    Returns
    -------
    geopandas.GeoDataFrame
        EPSG:4326 facilities with ids ``WHATIF-1``..., names ``假设<type>``, and the
        columns of :data:`layers.facilities.FACILITY_COLUMNS` (``site_id`` empty).

    Raises
    ------
    InputError
        An unknown type or a coordinate that is not a finite WGS84 longitude/latitude;
        every bad point listed.
    """
    problems: list[Problem] = []
    types: list[str] = []
    for i, (ftype, lon, lat) in enumerate(points, start=1):
        key = normalise_facility_type(str(ftype))
        if key is None:
            problems.append(Problem("unknown facility type of a placed facility", file=_WHAT, row=i,
                                    value=ftype, fix=f"use one of: {', '.join(FACILITY_TYPES)}"))
        ok = (isinstance(lon, (int, float)) and isinstance(lat, (int, float))
              and np.isfinite(lon) and np.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90)
        if not ok:
            problems.append(Problem("a placed facility's position is not a WGS84 lon/lat",
                                    file=_WHAT, row=i, value=(lon, lat),
                                    fix="give longitude -180..180 and latitude -90..90, degrees"))
        types.append(key or "")
    caps = [np.nan] * len(points) if capacity is None else [float(c) for c in capacity]
    if len(caps) != len(points):
        problems.append(Problem("one capacity per placed facility is needed",
                                value=len(caps), fix=f"give {len(points)} capacities or none"))
    if problems:
        raise InputError(problems)
    n = len(points)
    frame = pd.DataFrame({
        "facility_id": pd.Series([f"{PLACED_PREFIX}{i}" for i in range(1, n + 1)], dtype=str),
        "name": pd.Series([f"假设{FACILITY_TYPES[t].zh}" for t in types], dtype=str),
        "facility_type": pd.Series(types, dtype=str),
        "capacity": pd.Series(caps, dtype="float64"),
        "site_id": pd.Series([""] * n, dtype=str),
    })
    geom = shapely.points(np.array([p[1] for p in points], dtype=float),
                          np.array([p[2] for p in points], dtype=float)) if n else []
    gdf = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geom, crs="EPSG:4326"), crs="EPSG:4326")
    gdf.attrs["source"] = "placed (what-if)"
    return gdf.loc[:, list(FACILITY_COLUMNS)]


def _nearer(old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """Per site × type, the nearer of the old and new rows (length and time apart)."""
    key = ["site_id", "facility_type"]
    merged = old.merge(new.loc[:, [*key, "nearest_facility_id", "dist_m", "time_min"]],
                       on=key, how="left", suffixes=("", "_new"), validate="one_to_one")
    d_old, d_new = merged["dist_m"].to_numpy(float), merged["dist_m_new"].to_numpy(float)
    t_old, t_new = merged["time_min"].to_numpy(float), merged["time_min_new"].to_numpy(float)
    take_d = np.isfinite(d_new) & ~(d_old <= d_new)  # NaN old: any new route is nearer
    out = old.copy()
    out["dist_m"] = np.where(take_d, d_new, d_old)
    out["nearest_facility_id"] = np.where(take_d, merged["nearest_facility_id_new"].astype(str),
                                          merged["nearest_facility_id"].astype(str))
    out["time_min"] = np.fmin(t_old, t_new)
    out.loc[np.isfinite(out["dist_m"].to_numpy(float)), "reason"] = ""
    return out


def with_placed(
    data: RegionData, access: pd.DataFrame, placed: gpd.GeoDataFrame, *,
    profile: str = "walk", slope: bool = True, graph: RoadGraph | None = None,
) -> tuple[RegionData, pd.DataFrame]:
    """The region and its access table with hypothetical facilities added.

    Parameters
    ----------
    data
        A loaded region (:func:`anzhi.pipeline.load_region`).
    access
        Its access table for ``profile`` (:func:`anzhi.pipeline.route_region`), holding
        at least the placed facilities' types.
    placed
        The placed facilities (:func:`placed_facilities`), EPSG:4326.
    profile, slope, graph
        As :func:`anzhi.pipeline.route_region` (the same as the access table's); ``graph``
        the road graph when the caller holds it (the app does).

    Returns
    -------
    (RegionData, pandas.DataFrame)
        The region whose facilities include the placed ones, and the access table where
        each site × type keeps the nearer of its old facility and the placed ones; only
        the placed facilities were routed.

    Raises
    ------
    InputError
        A placed type that the access table does not hold (route it first), or a placed
        id that is already a facility id.
    """
    if not len(placed):
        return data, access
    types = list(dict.fromkeys(placed["facility_type"].astype(str)))
    routed = set(access["facility_type"].astype(str))
    missing = [t for t in types if t not in routed]
    if missing:
        raise InputError(Problem(
            "the access table does not hold the placed facilities' types", value=missing,
            fix="route the region with these facility types first (route_region facility_types=)"))
    facilities = combine_facilities(data.facilities, placed)  # refuses clashing ids
    prof = load_profile(profile)
    road = graph if graph is not None else region_road_graph(data.inputs, profile=prof,
                                                             slope=slope, progress=False)
    elevation = region_elevation(data.inputs, profile=prof, crs=road.crs_metric, slope=slope)
    new = access_table(road, data.sites, placed, profile=prof, facility_types=types,
                       progress=False, elevation_m=elevation)
    of_types = access["facility_type"].astype(str).isin(types).to_numpy()
    part = _nearer(access.loc[of_types].reset_index(drop=True), new)
    updated = access.copy()
    for col in ("nearest_facility_id", "dist_m", "time_min", "reason"):
        updated.loc[of_types, col] = part[col].to_numpy()
    return dataclasses.replace(data, facilities=facilities), updated


def placed_table(placed: gpd.GeoDataFrame) -> pd.DataFrame:
    """The placed facilities as a facility table that ``anzhi gaps --facilities`` reads:
    编号, 名称, 类型, 容量, 经度, 纬度 and 坐标系 ``wgs84`` (so ``--coords`` never shifts it)."""
    pts = placed.geometry
    return pd.DataFrame({
        "编号": placed["facility_id"].astype(str).to_numpy(),
        "名称": placed["name"].astype(str).to_numpy(),
        "类型": [FACILITY_TYPES[t].zh for t in placed["facility_type"].astype(str)],
        "容量": placed["capacity"].to_numpy(float),
        "经度": np.round(pts.x.to_numpy(float), 7),
        "纬度": np.round(pts.y.to_numpy(float), 7),
        "坐标系": ["wgs84"] * len(placed),
    })
