"""What maps of a region draw besides its sites: road lines, a site's routes, the printed map.

Beside the pipeline, for the app and ``anzhi map`` alike (the UI reaches geo/ and layers/
only through this level):

* :func:`region_road_lines` — the road network of a profile as WGS84 lines with their
  highway class, simplified for drawing;
* :func:`site_routes` — the road lines from one site to its nearest facility of each type,
  with the access table's distance and time;
* :func:`printed_map` — the printable thematic map (专题图) of a run, PNG or PDF
  (:func:`layers.printmap.render_map`), steep land from the DEM's slope under the map.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from anzhi.core.errors import InputError
from anzhi.pipeline import (RegionData, RegionResults, RoadGraph, read_polygon_layer,
                            region_road_graph, region_slope)
from geo.paths import road_lines, road_paths
from layers.mapstyle import ROAD_STYLES, road_style
from layers.printmap import PrintedMap, map_frames, map_view, render_map
from layers.raster import bounds_window, check_dem
from layers.terrain import write_slope

__all__ = ["ROAD_GROUPS", "SLOPE_MARGIN_M", "printed_map", "region_road_lines", "site_routes"]

#: Road style groups, bottom to top as drawn (the printed map's order).
ROAD_GROUPS: tuple[str, ...] = tuple(sorted(ROAD_STYLES, key=lambda g: ROAD_STYLES[g].zorder))

#: Ground margin (m) of the DEM window read around the map for its steep land.
SLOPE_MARGIN_M = 200.0

#: Columns of :func:`site_routes`.
ROUTE_COLUMNS = ("site_id", "facility_type", "facility_id", "dist_m", "time_min", "geometry")


def region_road_lines(data: RegionData, *, profile: str = "walk", simplify_m: float = 20.0,
                      graph: RoadGraph | None = None) -> gpd.GeoDataFrame:
    """The region's roads for a profile as EPSG:4326 lines with ``highway``, the printed
    map's style ``group`` (major, secondary, tertiary, minor, track, path), ``colour`` and
    ``width_pt``, one per street piece, simplified by ``simplify_m`` metres (for drawing)."""
    g = graph if graph is not None else region_road_graph(data.inputs, profile=profile)
    lines = road_lines(g, simplify_m=simplify_m).to_crs("EPSG:4326")
    styles = [road_style(h) for h in lines["highway"].astype(str)]
    return lines.assign(group=[st.group for st in styles], colour=[st.colour for st in styles],
                        width_pt=[st.width_pt for st in styles])


def site_routes(data: RegionData, access: pd.DataFrame, site_id: str, *,
                facility_types: Sequence[str], profile: str = "walk",
                graph: RoadGraph | None = None) -> gpd.GeoDataFrame:
    """The road lines from a site to its nearest facility of each type (access table).

    Parameters
    ----------
    data, access
        A routed region and its access table (:func:`anzhi.pipeline.route_region`).
    site_id
        The site.
    facility_types
        Types to draw; types without a routed facility are left out.
    profile, graph
        The access table's profile, and its road graph when the caller holds it.

    Returns
    -------
    geopandas.GeoDataFrame
        EPSG:4326 lines with ``site_id, facility_type, facility_id, dist_m, time_min`` (the
        access table's figures; the line is the shortest road path drawn).

    Raises
    ------
    InputError
        An unknown site id.
    """
    sites = data.sites[data.sites["site_id"].astype(str) == str(site_id)]
    if not len(sites):
        raise InputError(f"site {site_id!r} is not in the region's site table")
    rows = access[(access["site_id"].astype(str) == str(site_id))
                  & access["facility_type"].astype(str).isin(list(facility_types))
                  & access["dist_m"].notna()]
    fac = data.facilities.set_index(data.facilities["facility_id"].astype(str))
    rows = rows[rows["nearest_facility_id"].astype(str).isin(fac.index)]
    empty = gpd.GeoDataFrame({c: [] for c in ROUTE_COLUMNS[:-1]}, geometry=[], crs="EPSG:4326")
    if not len(rows):
        return empty
    g = graph if graph is not None else region_road_graph(data.inputs, profile=profile)
    s = sites.geometry.iloc[0]
    ends = fac.geometry.loc[rows["nearest_facility_id"].astype(str)]
    lines = road_paths(g, float(s.x), float(s.y), ends.x.to_numpy(), ends.y.to_numpy())
    keep = np.array([ln is not None for ln in lines], dtype=bool)
    out = pd.DataFrame({
        "site_id": str(site_id),
        "facility_type": rows["facility_type"].astype(str).to_numpy()[keep],
        "facility_id": rows["nearest_facility_id"].astype(str).to_numpy()[keep],
        "dist_m": rows["dist_m"].to_numpy(float)[keep],
        "time_min": rows["time_min"].to_numpy(float)[keep],
    })
    return gpd.GeoDataFrame(out, geometry=[ln for ln in lines if ln is not None], crs="EPSG:4326")


def printed_map(results: RegionResults, *, out: str | Path | None = None, fmt: str | None = None,
                facility_type: str | None = None, township: str | None = None,
                lang: str = "auto", font: str | Path | None = None, title: str | None = None,
                dpi: float = 200.0, note: str = "", **frames: Any) -> PrintedMap:
    """The printable thematic map of a run (:func:`layers.printmap.render_map`).

    Roads of the run's profile, the township outlines of its inputs and the steep land from
    the slope of the DEM under the map (the whole DEM's cached slope, else a window of it)
    are added to the run's sites, gaps and facilities.  ``out`` ``None`` writes nothing (the
    bytes are in the result); ``frames`` go to :func:`layers.printmap.map_frames`.
    """
    inputs = results.data.inputs
    roads = road_lines(region_road_graph(inputs, profile=results.profile))
    townships = (None if inputs.townships is None else
                 read_polygon_layer(inputs.townships, what="township boundaries"))
    base = map_frames(results.data.sites, results.gaps, results.data.facilities, roads=roads,
                      townships=townships, rules=results.rules, facility_type=facility_type,
                      township=township, region=inputs.name, note=note, **frames)

    def render(slope: Path | None) -> PrintedMap:
        return render_map(replace(base, slope=slope), out=out, fmt=fmt, lang=lang, font=font,
                          title=title, dpi=dpi)

    crs, view = map_view(base)
    if inputs.dem is None or bounds_window(check_dem(inputs.dem, whole=False), view, crs=crs,
                                           margin_m=SLOPE_MARGIN_M) is None:
        return render(None)  # no DEM, or one that misses the map (the load warned)
    try:  # the whole DEM's slope, computed once per DEM content and cached
        slope = region_slope(inputs)
    except InputError:  # a DEM too large to take whole (settings.max_raster_pixels)
        slope = None
    if slope is not None:
        return render(slope)
    # else the slope of the DEM window under the map only, in a folder deleted at once
    with tempfile.TemporaryDirectory(prefix="anzhi-map-") as tmp:
        return render(write_slope(inputs.dem, Path(tmp) / "slope.tif", bounds=view,
                                  bounds_crs=crs, margin_m=SLOPE_MARGIN_M))
