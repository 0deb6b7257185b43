"""One region end to end: a county's input files → its access table, gap list and coverage.

The pipeline is split where the costs are, so that the app can cache the expensive part and
a province can later be run county by county (one :class:`RegionInputs` per task, no global
state):

1. :func:`load_region` — read and validate the files, build the road graph (I/O, seconds);
2. :func:`route_region` — nearest facility of each type for every site (routing, expensive);
3. :func:`evaluate_region` — apply a rule set to the access table (pure, milliseconds), which
   is all a threshold change in the app recomputes.

The app reaches files and the road network only through this module: besides the three
steps it reads rule sets (:func:`read_rules`), map overlays (:func:`read_polygon_layer`,
:func:`steep_land`) and computes service areas (:func:`region_service_areas`); it caches
each of them itself.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from numpy.typing import NDArray

from analysis.coverage import coverage_table
from analysis.gaps import evaluate
from analysis.rules import RuleSet
from anzhi.core.errors import DataSourceError, InputError
from anzhi.core.files import file_sha256
from geo.roads import Profile, RoadGraph, load_profile
from geo.routing import access_table
from geo.service import service_areas
from layers.boundaries import read_polygons
from layers.demo import DemoPaths, build_demo
from layers.export import site_reading_order, sort_gaps, write_outputs
from layers.facilities import combine_facilities, facilities_from_sites, read_facilities
from layers.osmpoi import is_osm_file
from layers.raster import bounds_window, check_dem, dem_coverage
from layers.rulesfile import read_rules
from layers.sites import read_sites
from layers.templates import TEMPLATE_NAMES, template_bytes
from layers.hazard import site_hazard_from_dem
from layers.landmasks import read_masks
from layers.terrain import (LandResult, land_statistics, read_parcels, site_hazard_from_raster,
                            steep_polygons, write_land, write_slope)

__all__ = [
    "RegionData", "RegionInputs", "RegionResults", "RoadGraph", "TEMPLATE_NAMES",
    "add_hazard_columns", "dem_warning", "evaluate_region", "load_region", "offset_warning",
    "read_polygon_layer", "read_rules", "region_land", "write_region_land",
    "region_elevation", "region_road_graph", "region_service_areas", "region_slope",
    "route_region", "run_region", "screen_hazards", "steep_land", "template_bytes",
    "write_region",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RegionInputs:
    """The input files of one region (a county, usually).

    Attributes
    ----------
    sites
        Site table (xlsx, csv, GeoJSON, GeoPackage or Shapefile).
    roads
        OSM road file (``.osm``, ``.osm.bz2`` or ``.osm.pbf``).
    facilities
        Facility layers; may be empty when the site table's yes/no columns are the only source.
    dem
        Optional DEM GeoTIFF.  Checked for readability now; used by slope-aware walking and
        the terrain steps.
    townships
        Optional township polygons (for the map and township coverage).
    parcels
        Optional out-migration land parcels (for the terrain step).
    coords
        Coordinate system of lon/lat in the site table (``wgs84``, ``cgcs2000``, ``gcj02``,
        ``bd09``); ``None`` means a 坐标系 column or WGS84.  Also the default of facility
        *tables* (csv/xlsx) without a 坐标系 column; never applied to a facility layer that
        declares its CRS (GeoPackage, Shapefile, GeoJSON) nor to OSM data.
    facility_coords
        The system of the facility files, explicitly: a facility table's 坐标系 column still
        wins, but this applies to a layer declared in EPSG:4326/4490 too ("really GCJ-02").
        OSM-derived facilities are WGS84 whatever it says.
    crs
        EPSG code for Gauss-Krüger metre coordinates, e.g. ``"EPSG:4542"``.
    name
        Label of the region for messages and outputs.
    china_only
        Report sites outside China's bounding box as errors (default); ``False`` for data
        elsewhere (test extracts such as Andorra's).
    """

    sites: Path
    roads: Path
    facilities: tuple[Path, ...] = ()
    dem: Path | None = None
    townships: Path | None = None
    parcels: Path | None = None
    coords: str | None = None
    facility_coords: str | None = None
    crs: str | None = None
    name: str = ""
    china_only: bool = True

    @classmethod
    def demo(cls, *, out_dir: Path | None = None, seed: int | None = None) -> RegionInputs:
        """Inputs of the synthetic demo county (built on first use)."""
        paths: DemoPaths = build_demo(out_dir, seed=seed)
        return cls(
            sites=paths.sites,
            roads=paths.roads,
            facilities=(paths.facilities,),
            dem=paths.dem,
            townships=paths.townships,
            parcels=paths.parcels,
            coords=None,  # the demo's site table declares GCJ-02 in its 坐标系 column
            name=paths.county,
        )


@dataclass(frozen=True, eq=False)
class RegionData:
    """Validated inputs of one region, ready to route.

    The road network is read when first needed, once per road file × profile (× DEM) on
    disk (:mod:`layers.roadcache`): :meth:`road_graph` gives the routing core and
    :attr:`graph` an osmnx ``MultiDiGraph`` of the same ways for notebooks.
    """

    inputs: RegionInputs
    sites: gpd.GeoDataFrame
    facilities: gpd.GeoDataFrame
    #: Warnings of the load a planner should see (Chinese / English), e.g. a GCJ-02 offset
    #: between sites and facilities (:func:`offset_warning`); also logged.
    warnings: tuple[str, ...] = ()

    @cached_property
    def graph(self) -> Any:
        """The highways as an osmnx-layout ``networkx.MultiDiGraph`` (EPSG:4326, simplified),
        built from the same ways as :meth:`road_graph`; any osmnx function accepts it."""
        from geo.osmgraph import ways_to_networkx
        from layers.osm import read_osm_ways

        return ways_to_networkx(read_osm_ways(self.inputs.roads))

    def road_graph(self, profile: str | Profile = "walk", *, slope: bool = True) -> RoadGraph:
        """The road graph of the region for one profile (see :func:`region_road_graph`)."""
        return region_road_graph(self.inputs, profile=profile, slope=slope)


def region_road_graph(
    inputs: RegionInputs,
    *,
    profile: str | Profile = "walk",
    slope: bool = True,
    progress: bool | None = None,
    use_cache: bool = True,
) -> RoadGraph:
    """The routing core of a region's road file for one travel profile.

    The file (``.osm``, ``.osm.bz2`` or ``.osm.pbf``) is read with pyosmium straight into
    arrays (:func:`layers.osm.read_osm_ways` → :func:`geo.osmgraph.road_graph_from_ways`,
    the same graph osmnx would build, without building it); when the region has a DEM and
    the profile is slope-aware (walking), road times follow Tobler's hiking function
    (:func:`geo.tobler.with_slope_times`).  The result is cached on disk keyed by the
    file's content, the profile and the DEM (:func:`layers.roadcache.cached_road_graph`),
    so a second run does not read the file again.

    Parameters
    ----------
    inputs
        The region's files.
    profile
        Profile name or path, or a loaded :class:`geo.roads.Profile`.
    slope
        ``False`` ignores the DEM (flat walking speeds).
    progress
        Progress bars while reading; default ``get_settings().progress``.
    use_cache
        ``False`` neither reads nor writes the cache.
    """
    from geo.osmgraph import road_graph_from_ways
    from geo.tobler import with_slope_times
    from layers.osm import read_osm_ways
    from layers.raster import dem_elevation_sampler
    from layers.roadcache import cached_road_graph

    prof = profile if isinstance(profile, Profile) else load_profile(profile)
    dem = inputs.dem if (slope and inputs.dem is not None and prof.slope_aware) else None

    def build() -> RoadGraph:
        graph = road_graph_from_ways(read_osm_ways(inputs.roads, progress=progress), profile=prof)
        if dem is not None:
            graph = with_slope_times(graph, dem_elevation_sampler(dem, crs=graph.crs_metric))
        return graph

    graph, _hit = cached_road_graph(inputs.roads, profile=prof, build=build, dem=dem,
                                    use_cache=use_cache)
    return graph


def region_elevation(
    inputs: RegionInputs, *, profile: str | Profile, crs: str, slope: bool = True
) -> Callable[[NDArray[np.float64], NDArray[np.float64]], NDArray[np.float64]] | None:
    """The region's ground elevation (m) at points in ``crs``, when walking uses it.

    ``None`` without a DEM, with ``slope=False`` or for a profile that is not slope-aware
    (then off-road legs are walked flat); else
    :func:`layers.raster.dem_elevation_sampler` on the region's DEM.  The one place that
    decides whether a run's off-road legs (access table, service areas) follow the slope.
    """
    prof = profile if isinstance(profile, Profile) else load_profile(profile)
    if not (slope and inputs.dem is not None and prof.slope_aware):
        return None
    from layers.raster import dem_elevation_sampler

    return dem_elevation_sampler(inputs.dem, crs=crs)


@dataclass(frozen=True)
class RegionResults:
    """Everything one region's run produces."""

    data: RegionData
    rules: RuleSet
    profile: str
    access: pd.DataFrame
    gaps: pd.DataFrame
    """The gap list with the hazard columns, in reading order (:func:`layers.export.sort_gaps`)."""
    coverage: pd.DataFrame
    hazard: pd.DataFrame | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


def load_region(inputs: RegionInputs) -> RegionData:
    """Read and validate a region's files and build its road graph.

    Raises
    ------
    anzhi.core.errors.InputError
        Listing every problem found in the site and facility files.
    anzhi.core.errors.DataSourceError
        When a file cannot be opened.
    """
    sites = read_sites(inputs.sites, coords=inputs.coords, crs=inputs.crs,
                       china_only=inputs.china_only)
    # Yes/no columns sit at the sites (already WGS84); files follow their own CRS, then
    # --facility-coords (explicit), then --coords (tables without a system only).
    files = [read_facilities(p, coords=inputs.facility_coords, default_coords=inputs.coords,
                             crs=inputs.crs) for p in inputs.facilities]
    facilities = combine_facilities(facilities_from_sites(sites), *files)
    if inputs.dem is not None:
        check_dem(inputs.dem, whole=False)  # what is read of it is windows around the sites
    warnings = tuple(w for w in [offset_warning(sites, files, inputs), dem_warning(sites, inputs)]
                     if w)
    roads = Path(inputs.roads)
    if not roads.is_file():
        raise DataSourceError(f"road file {roads} does not exist or is not a file; check the path")
    if not is_osm_file(roads):
        raise InputError(
            f"{roads.name}: not an OSM road file; give an .osm, .osm.bz2 or .osm.pbf extract "
            "(e.g. from download.geofabrik.de)"
        )
    return RegionData(inputs=inputs, sites=sites, facilities=facilities, warnings=warnings)


def offset_warning(
    sites: gpd.GeoDataFrame, facility_layers: Sequence[gpd.GeoDataFrame], inputs: RegionInputs
) -> str | None:
    """A warning (Chinese and English) when sites and facilities look offset by GCJ-02.

    The median straight-line distance from each site to its nearest facility of the files
    (not the site table's yes/no columns, which sit at the sites) is measured as loaded and
    with the facilities taken in the other system (:func:`geo.offset.gcj02_offset`); a drop
    of more than :data:`geo.offset.OFFSET_WARN_M` metres is logged and returned, naming the
    flag that fixes it.  ``None`` when the layers agree.
    """
    from geo.offset import OFFSET_WARN_M, gcj02_offset

    pts = [layer.geometry for layer in facility_layers if len(layer)]
    if not len(sites) or not pts:
        return None
    fx = np.concatenate([g.x.to_numpy() for g in pts])
    fy = np.concatenate([g.y.to_numpy() for g in pts])
    check = gcj02_offset(sites.geometry.x, sites.geometry.y, fx, fy)
    direction = check.direction(OFFSET_WARN_M)
    if direction is None:
        return None
    shifted = (check.median_facilities_from_gcj02_m if direction == "from_gcj02"
               else check.median_facilities_to_gcj02_m)
    if direction == "from_gcj02":  # facilities hold GCJ-02 values read as WGS84
        zh = ("若设施坐标取自高德/腾讯地图（GCJ-02），请加 --facility-coords gcj02；"
              "若安置点其实是 WGS84，请用 --coords wgs84")
        en = ("if the facilities were picked on Amap/Tencent (GCJ-02), pass "
              "--facility-coords gcj02; if the sites are really WGS84, pass --coords wgs84")
    else:  # facilities converted from GCJ-02 although WGS84, or sites GCJ-02 read as WGS84
        zh = ("若安置点坐标取自高德/腾讯地图（GCJ-02），请加 --coords gcj02（或填写坐标系列）；"
              "若设施其实是 WGS84，请用 --facility-coords wgs84")
        en = ("if the sites were picked on Amap/Tencent (GCJ-02), pass --coords gcj02 (or "
              "fill in a 坐标系 column); if the facilities are really WGS84, pass "
              "--facility-coords wgs84")
    text = (
        f"{inputs.name or Path(inputs.sites).name}: 安置点与设施似乎错开了 GCJ-02 偏移量："
        f"安置点到最近设施的直线距离中位数为 {check.median_m:.0f} 米，按另一坐标系读设施则为 "
        f"{shifted:.0f} 米。{zh}。 / Sites and facilities look offset by the GCJ-02 shift: "
        f"the median straight-line distance from a site to its nearest facility is "
        f"{check.median_m:.0f} m, {shifted:.0f} m with the facilities in the other system; "
        f"{en}."
    )
    log.warning("%s", text)
    return text


def dem_warning(sites: gpd.GeoDataFrame, inputs: RegionInputs) -> str | None:
    """A warning (Chinese and English) when the region's DEM misses some or all of its sites.

    A site outside the DEM's extent, or on its nodata, gets no elevation: it is walked flat
    and the hazard screen marks it "not screened".  :func:`layers.raster.dem_coverage`
    checks each site's pixel (reading only windows around the sites); the warning names the
    DEM file, its extent and CRS, the sites' extent and the fix, and is logged.  ``None``
    without a DEM or when every site gets an elevation.
    """
    if inputs.dem is None or not len(sites):
        return None
    pts = sites.geometry.to_crs("EPSG:4326")
    lon, lat = pts.x.to_numpy(dtype=np.float64), pts.y.to_numpy(dtype=np.float64)
    cov = dem_coverage(inputs.dem, lon, lat)
    n, n_out = cov.n_points, cov.n_points - cov.n_inside
    missing, n_void = n - cov.n_valued, cov.n_inside - cov.n_valued
    if missing == 0:
        return None
    ext = ", ".join(f"{v:.0f}" if abs(v) > 1000 else f"{v:.4f}" for v in cov.bounds)
    ll = ("" if cov.bounds_lonlat is None else
          " ≈ lon {:.4f}–{:.4f}, lat {:.4f}–{:.4f}".format(*(cov.bounds_lonlat[i] for i in (0, 2, 1, 3))))
    where = (f"the DEM's extent is {ext} in {cov.crs}{ll}; the sites span lon "
             f"{np.nanmin(lon):.4f}–{np.nanmax(lon):.4f}, lat {np.nanmin(lat):.4f}–{np.nanmax(lat):.4f}")
    why_zh = "，".join([*([f"{n_out} 个在 DEM 范围外"] if n_out else []),
                        *([f"{n_void} 个落在无数据值（空洞）上"] if n_void else [])])
    why_en = " and ".join([*([f"{n_out} lie outside the DEM"] if n_out else []),
                           *([f"{n_void} on its nodata (voids)"] if n_void else [])])
    if cov.all_nodata:
        zh, en = "DEM 全为无数据值", f"the DEM holds no elevation at all (every pixel is nodata; {where})"
    elif n_out == n:
        zh, en = "没有一个安置点落在 DEM 范围内", f"none of the {n} sites lies inside the DEM ({where})"
    else:
        zh = f"{n} 个安置点中有 {missing} 个没有高程：{why_zh}"
        en = f"{missing} of the {n} sites get no elevation: {why_en} ({where})"
    text = (f"{cov.name}：{zh}；这些安置点按平地步行计算，地质灾害筛查标为“无法筛查”；"
            f"请提供覆盖全县的 DEM（并核对其坐标系）。 / DEM {cov.name}: {en}; those sites are "
            "walked flat and the hazard screen marks them 'not screened'; fix: give a DEM "
            "covering the county (and check its CRS).")
    log.warning("%s", text)
    return text


def route_region(
    data: RegionData,
    *,
    profile: str = "walk",
    facility_types: Sequence[str] | None = None,
    progress: bool | None = None,
    slope: bool = True,
    use_cache: bool = True,
    graph: RoadGraph | None = None,
) -> pd.DataFrame:
    """Nearest facility of each type for every site, by road (the ``access.csv`` table).

    Parameters
    ----------
    data
        A loaded region.
    profile
        Travel profile name (``walk``, ``drive``) or path of a profile YAML file.
    facility_types
        Types to route; default every type present in the facilities.
    slope
        With a DEM and a slope-aware (walking) profile, walk roads and off-road legs on
        their slope (Tobler); ``False`` walks them flat.
    use_cache
        ``False`` builds the road graph afresh, neither reading nor writing the cache.
    graph
        The region's road graph for this profile and ``slope`` when the caller holds it
        already (the app keeps it for service areas); default :func:`region_road_graph`.
    """
    prof = load_profile(profile)
    road = graph if graph is not None else region_road_graph(
        data.inputs, profile=prof, slope=slope, progress=progress, use_cache=use_cache)
    elevation = region_elevation(data.inputs, profile=prof, crs=road.crs_metric, slope=slope)
    return access_table(
        road,
        data.sites,
        data.facilities,
        profile=prof,
        facility_types=facility_types,
        progress=progress,
        elevation_m=elevation,
    )


def evaluate_region(
    data: RegionData, access: pd.DataFrame, rules: RuleSet
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Apply a rule set to a routed region: the gap list and the coverage table."""
    gaps = evaluate(data.sites, data.facilities, access, rules)
    return gaps, coverage_table(gaps)


def region_service_areas(
    data: RegionData,
    *,
    profile: str | Profile = "walk",
    minutes: float,
    facility_types: Sequence[str] | None = None,
    slope: bool = True,
    graph: RoadGraph | None = None,
) -> gpd.GeoDataFrame:
    """Road-network service areas of the region's facilities (:func:`geo.routing.service_areas`).

    The facilities' off-road legs are walked on their slope exactly when the access table's
    are (:func:`region_elevation`).

    Parameters
    ----------
    data
        A loaded region.
    profile
        Travel profile name or path, or a loaded :class:`geo.roads.Profile`.
    minutes
        Travel time limit of the areas, in minutes.
    facility_types
        Types to draw areas for; default every type present in the facilities.
    slope
        ``False`` walks roads and legs flat.
    graph
        The region's road graph for this profile and ``slope`` when the caller holds it
        already; default :func:`region_road_graph`.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per facility type (columns ``facility_type``, ``minutes``, ``area_km2``),
        polygons in EPSG:4326.
    """
    prof = profile if isinstance(profile, Profile) else load_profile(profile)
    road = graph if graph is not None else region_road_graph(data.inputs, profile=prof, slope=slope)
    elevation = region_elevation(data.inputs, profile=prof, crs=road.crs_metric, slope=slope)
    return service_areas(road, data.facilities, minutes=minutes, facility_types=facility_types,
                         elevation_m=elevation)


def region_slope(inputs: RegionInputs) -> Path | None:
    """The slope GeoTIFF of the region's DEM, computed once per DEM content.

    Cached under ``settings.cache_dir / "slope"`` keyed by the DEM file's SHA-256, so a second
    run (or the app) does not recompute it.  ``None`` when the region has no DEM.
    """
    if inputs.dem is None:
        return None
    from anzhi.core.settings import get_settings

    info = check_dem(inputs.dem)
    out = get_settings().cache_dir / "slope" / f"{file_sha256(inputs.dem)[:20]}.tif"
    if not out.is_file():
        out.parent.mkdir(parents=True, exist_ok=True)
        write_slope(info.path, out)  # atomic: a half-written slope never appears
    return out


def region_land(inputs: RegionInputs, *, exclude: Sequence[str | Path] = ()) -> LandResult | None:
    """The out-migration land statistics of a region (``anzhi land``): slope classes per
    parcel and village, the candidate list with its clauses, the ledger when the parcels
    carry one; ``exclude`` polygon layers keep land out of the forest measures.  ``None``
    when the region has no DEM or no parcels.  The slope is the region's cached one
    (:func:`region_slope`)."""
    if inputs.dem is None or inputs.parcels is None:
        return None
    slope = region_slope(inputs)
    if slope is None:  # cannot happen with a DEM; said plainly rather than asserted
        raise DataSourceError(f"no slope could be computed from {inputs.dem}")
    masks = read_masks(list(exclude)) if exclude else None
    return land_statistics(read_parcels(inputs.parcels), slope, dem=inputs.dem, masks=masks)


def write_region_land(result: LandResult, out_dir: str | Path, *, lang: str = "zh") -> dict[str, Path]:
    """Write a region's land statistics as ``anzhi land`` does (land.xlsx, csv, gpkg)."""
    return write_land(result, out_dir, lang=lang)


def steep_land(dem: str | Path, *, threshold_deg: float = 25.0,
               bounds: tuple[float, float, float, float] | None = None,
               margin_m: float = 3000.0) -> gpd.GeoDataFrame:
    """Polygons of land steeper than ``threshold_deg`` on a DEM, EPSG:4326, for a map.

    :func:`layers.terrain.write_slope` then :func:`layers.terrain.steep_polygons`; the slope
    raster lives only in a temporary folder deleted at once, so nothing is left behind (an
    uploaded DEM stays inside its session's folder; :func:`region_slope` keeps one instead).

    Parameters
    ----------
    dem
        The DEM.
    threshold_deg
        Steeper than this is steep (degrees).
    bounds
        Only the DEM's window under ``(left, bottom, right, top)`` (lon/lat, e.g. the sites'
        extent) plus ``margin_m`` ground metres is read: the pixel limit
        (``settings.max_raster_pixels``) applies to that window, not to the DEM's declared
        size.  Default: the whole DEM.
    margin_m
        Ground margin around ``bounds`` (metres; default 3 km).

    Returns
    -------
    geopandas.GeoDataFrame
        As :func:`layers.terrain.steep_polygons`; empty when the DEM misses ``bounds``
        (:func:`dem_warning` says so when the region loads).
    """
    if bounds is not None and bounds_window(check_dem(dem, whole=False), bounds,
                                            margin_m=margin_m) is None:
        return gpd.GeoDataFrame({"area_m2": np.zeros(0), "tolerance_m": np.zeros(0)},
                                geometry=[], crs="EPSG:4326")
    with tempfile.TemporaryDirectory(prefix="anzhi-slope-") as tmp:
        slope = write_slope(dem, Path(tmp) / "slope.tif", bounds=bounds,
                            margin_m=margin_m if bounds is not None else 0.0)
        return steep_polygons(slope, threshold_deg=threshold_deg)


def read_polygon_layer(path: str | Path, *, what: str) -> gpd.GeoDataFrame:
    """A region's polygon layer for the map: ``what`` is ``"parcels"`` or a label such as
    ``"township boundaries"`` (used in messages).

    Parcels go through the parcel loader (:func:`layers.terrain.read_parcels`, whose
    validation problems reach the user); other layers through
    :func:`layers.boundaries.read_polygons` (EPSG:4326).
    """
    return read_parcels(path) if what == "parcels" else read_polygons(path, what=what)


def screen_hazards(data: RegionData, slope: Path | None = None) -> pd.DataFrame | None:
    """Slope at each site and the share > 25° around it, with a flag and reason (达州 2019).

    From ``slope`` (a slope GeoTIFF of the region's DEM) when given; else straight from the
    region's DEM, read only in windows around the sites
    (:func:`layers.terrain.site_hazard_from_dem`: the same result, and a huge DEM whose
    windows are small is screened).  ``None`` when the region has no DEM.
    """
    if slope is not None:
        return site_hazard_from_raster(data.sites, slope)
    if data.inputs.dem is None:
        return None
    return site_hazard_from_dem(data.sites, data.inputs.dem)


def add_hazard_columns(gaps: pd.DataFrame, hazard: pd.DataFrame | None) -> pd.DataFrame:
    """Append the per-site hazard screen to every gap row of that site (no-op without a DEM)."""
    if hazard is None:
        return gaps
    cols = ["site_id", "slope_deg", "share_gt25", "hazard", "hazard_reason", "hazard_reason_en"]
    return gaps.merge(hazard.loc[:, cols], on="site_id", how="left", validate="many_to_one")


def run_region(
    inputs: RegionInputs,
    *,
    rules: str | Path = "default",
    overrides: Mapping[str, Any] | None = None,
    profile: str = "walk",
    progress: bool | None = None,
) -> RegionResults:
    """Run one region end to end (no files written; see :func:`write_region`).

    Parameters
    ----------
    inputs
        The region's files.
    rules
        Rule preset name or YAML path.
    overrides
        Threshold overrides such as ``{"police-800.min_population": 1000}``.
    profile
        Travel profile for the access table.
    """
    ruleset = read_rules(rules)
    if overrides:
        ruleset = ruleset.with_overrides(dict(overrides))
    data = load_region(inputs)
    types = sorted(set(data.facilities["facility_type"]) | set(ruleset.facility_types))
    access = route_region(data, profile=profile, facility_types=types, progress=progress)
    # the sites in reading order, so the gap list comes out sorted (no sorted copy of it)
    ordered = replace(data, sites=data.sites.iloc[site_reading_order(data.sites)])
    gaps, coverage = evaluate_region(ordered, access, ruleset)
    hazard = screen_hazards(data)  # windows around the sites, not the whole DEM's slope
    # in the order the outputs are written, once (write_outputs then makes no sorted copy)
    gaps = sort_gaps(add_hazard_columns(gaps, hazard), ruleset)
    return RegionResults(
        data=data,
        rules=ruleset,
        profile=profile,
        access=access,
        gaps=gaps,
        coverage=coverage,
        hazard=hazard,
    )


def write_region(results: RegionResults, out_dir: str | Path, *, lang: str = "zh",
                 parquet: bool = False) -> dict[str, Path]:
    """Write ``gaps.csv``, ``gaps.xlsx``, ``gaps.gpkg``, ``coverage.csv``, ``access.csv``
    (and with ``parquet`` the GeoParquet files ``gaps.parquet``, ``sites.parquet``) atomically."""
    return write_outputs(
        out_dir,
        gaps=results.gaps,
        coverage=results.coverage,
        access=results.access,
        rules=results.rules,
        lang=lang,
        sites=results.data.sites,
        parquet=parquet,
    )
