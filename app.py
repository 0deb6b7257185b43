"""Anzhi (安置) Streamlit app: relocation sites, their facilities and gaps on a map.

Run with ``streamlit run app.py`` (``make run``).  The page and its caches only: reading files,
routing, service areas and rule evaluation come from :mod:`anzhi.pipeline`, the sidebar's
widgets from :mod:`anzhi.ui.controls` (what they edit from :mod:`anzhi.ui.thresholds`), the
map from :func:`anzhi.ui.mapping.build_map`, the tables from :mod:`anzhi.ui.tables`, the
download files from :mod:`anzhi.ui.downloads`, every label from :mod:`anzhi.ui.i18n`.

Costs and caching (a threshold change must answer at once):

* ``load_region`` (read + validate files, build the road graph) is cached with
  ``st.cache_resource`` keyed by the input paths and their sha256 (hashed once per
  path/size/mtime);
* ``route_region`` is cached the same way, keyed by the inputs, the travel profile and the
  facility types routed;
* road-network service areas (:func:`anzhi.pipeline.region_service_areas`) are cached with
  ``st.cache_resource`` per inputs × profile × minutes × facility type (the road graph per
  inputs × profile), so a threshold change of one rule recomputes at most the areas whose
  minutes it changes;
* township boundaries and parcels are read and serialised to GeoJSON once per file content,
  the slope > 25° polygons (:func:`anzhi.pipeline.steep_land`, from the DEM) rasterised once
  into a PNG image (``st.cache_resource``);
* a rerun after a threshold, filter or language change only runs
  ``RuleSet.with_overrides(...)`` and ``evaluate_region`` and draws the map and tables
  (about 0.2 s on the demo county: docs/benchmarks.md, ``python -m bench.bench_app``);
* download files are written only when asked for ("prepare the files").

Uploads (:mod:`anzhi.ui.uploads`) are written only into the session's own temporary folder
and read with the CLI's loaders; the map's browser libraries are served by the app itself
(:mod:`anzhi.ui.webassets`), so the map draws with no internet.

Session-state keys (stable, used by the tests): ``lang``, ``preset``, ``profile``,
``thr:<rule id>.<field>`` (e.g. ``thr:police-800.min_population``), ``data_source``
(``demo``/``upload``), ``up:<kind>`` (file uploaders: ``up:sites``, ``up:roads``...),
``up:coords``, ``up:crs``, ``filter:county``, ``filter:township``, ``show_types``,
``basemap``, ``show_areas``, ``sa:minutes``, ``show_steep``, ``show_all``, ``gap:status``, ``gap:search``, ``cov:rule``,
``sel:site`` (the site selected by a click on the map), ``whatif:on``, ``whatif:type``,
``whatif:placed`` (what-if facilities), ``site:on``, ``site:types``, ``site:model``,
``site:budget`` (the recommend panel, :mod:`anzhi.ui.recommend`), ``map:view`` (its last centre and
zoom), ``dl:prepare``, ``dl:rules``;
``anzhi:route_runs`` counts routing runs (cache misses) in this session and
``anzhi:service_runs`` service-area computations.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from analysis.gaps import worst_status
from analysis.rules import RuleSet, rules_to_yaml
from anzhi.core.errors import AnzhiError, DataSourceError
from anzhi.core.files import file_sha256
from anzhi.core.settings import get_settings
from anzhi.core.vocabulary import FACILITY_TYPES, label
from anzhi.pipeline import (
    RegionData,
    RegionInputs,
    RegionResults,
    RoadGraph,
    add_hazard_columns,
    evaluate_region,
    load_region,
    read_polygon_layer,
    read_rules,
    region_service_areas,
    route_region,
    screen_hazards,
    steep_land,
)
from anzhi.ui.controls import (
    area_filter,
    display_controls,
    language_switch,
    rule_controls,
    threshold_controls,
    type_filter,
    upload_widgets,
)
from anzhi.ui.downloads import download_files, mime_type
from anzhi.ui.i18n import STATUSES, status_label, t
from anzhi.ui.mapping import (STEEP_COLOUR, Overlay, RasterOverlay, SiteClasses, build_map,
                              prepare_overlay, rasterise_overlay)
from anzhi.ui.tables import (
    METRICS,
    bar_chart_spec,
    coverage_by_township,
    coverage_chart_data,
    error_markdown,
    filter_rows,
    gap_table,
    metric_values,
    site_at,
    township_chart_data,
)
from anzhi.ui.thresholds import profile_overrides, service_minutes
from anzhi.ui.uploads import SessionFolder, stage_uploads
from anzhi.ui.webassets import deploy_assets, missing_assets, vendor_url
from anzhi.mapdata import ROAD_GROUPS, region_road_lines, site_routes
from anzhi.siting import SitingRun
from anzhi.ui.recommend import recommend_controls, run_request, show_recommended
from anzhi.ui.panels import (compare_controls, compare_run, place_on_click, print_controls,
                             show_comparison, show_land, whatif_controls)
from anzhi.whatif import placed_facilities, with_placed

ROUTE_RUNS_KEY = "anzhi:route_runs"
SERVICE_RUNS_KEY = "anzhi:service_runs"
FOLDER_KEY = "anzhi:folder"  # the session's SessionFolder (uploads, downloads)
STAGED_KEY = "anzhi:staged"  # (upload signature, RegionInputs)
DOWNLOADS_KEY = "anzhi:downloads"  # (result signature, {file name: bytes})
CLICK_KEY = "anzhi:last_click"  # the map click already turned into a selection
SELECTED_KEY = "sel:site"
VIEW_KEY = "map:view"  # the map's last reported (lat, lng, zoom)
APPLIED_KEY = "map:applied"  # (signature of the drawn map, the view given to it)
MAP_HEIGHT_PX = 600


# --------------------------------------------------------------------------------------
# Cached data: inputs → region → access
# --------------------------------------------------------------------------------------


def inputs_key(inputs: RegionInputs) -> tuple[Any, ...]:
    """Cache key of a region's inputs: every file's path and sha256, plus coords/crs."""
    paths = [inputs.sites, inputs.roads, *inputs.facilities]
    if inputs.dem is not None:
        paths.append(inputs.dem)
    files = []
    for p in paths:
        try:  # file_sha256 reads a file once while its size and mtime stay the same
            files.append((str(p), file_sha256(p)))
        except OSError as exc:
            raise DataSourceError(
                f"{p}: cannot be read ({exc.strerror or exc}); check the file is still there"
            ) from exc
    return (tuple(files), inputs.coords, inputs.crs)


@st.cache_resource(show_spinner=False, max_entries=2)
def _demo_inputs(cache_dir: str, seed: int) -> RegionInputs:
    """The demo county's inputs (builds the demo on first use)."""
    return RegionInputs.demo(out_dir=None, seed=seed)


def demo_inputs() -> RegionInputs:
    """The demo county's inputs for the current settings; rebuilt if its files vanished."""
    s = get_settings()
    inputs = _demo_inputs(str(s.cache_dir), int(s.demo_seed))
    if not all(Path(p).exists() for p in (inputs.sites, inputs.roads, *inputs.facilities)):
        _demo_inputs.clear()
        inputs = _demo_inputs(str(s.cache_dir), int(s.demo_seed))
    return inputs


_TOOLTIPS: dict[str, tuple[str, ...]] = {
    "township boundaries": ("township", "乡镇", "name", "名称"),
    "parcels": ("parcel_id", "地块编号", "name", "名称"),
}


@st.cache_resource(show_spinner=False, max_entries=8)
def _read_overlay(path: str, sha256: str, what: str) -> Overlay:
    """Overlay polygons for the map, read and serialised once per file content.  Parcels
    go through the CLI's parcel loader (:func:`anzhi.pipeline.read_polygon_layer`: its
    validation problems reach the user)."""
    gdf = read_polygon_layer(path, what=what)
    return prepare_overlay(gdf, tooltip_columns=_TOOLTIPS.get(what, ()))


def _overlay(path: Path | None, what: str) -> Overlay | None:
    if path is None or not Path(path).is_file():
        return None
    return _read_overlay(str(path), file_sha256(path), what)


def region_townships(inputs: RegionInputs) -> Overlay | None:
    """The region's township polygons, or ``None`` when it has none."""
    return _overlay(inputs.townships, "township boundaries")


def region_parcels(inputs: RegionInputs) -> Overlay | None:
    """The region's out-migration parcels, or ``None`` when it has none."""
    return _overlay(inputs.parcels, "parcels")


def region_steep_land(inputs: RegionInputs, sites: gpd.GeoDataFrame) -> RasterOverlay | None:
    """Land steeper than 25° for the map (one image), or ``None`` without a DEM.

    :func:`anzhi.pipeline.steep_land` (DEM → slope → slope > 25° → EPSG:4326 polygons) on
    the DEM's window under the sites' extent plus a margin only (a province-wide DEM is not
    read whole), rasterised at the DEM's pixel size into a PNG (a county's ~1 MB of polygons
    would be re-sent on every rerun); cached per DEM content and extent.
    """
    if inputs.dem is None:
        return None
    bounds = tuple(round(float(v), 6) for v in sites.geometry.to_crs("EPSG:4326").total_bounds)
    return _steep_land(str(inputs.dem), file_sha256(inputs.dem), bounds)


@st.cache_resource(show_spinner=False, max_entries=4)
def _steep_land(dem: str, sha256: str, bounds: tuple[float, ...]) -> RasterOverlay:
    """Slope > 25° of a DEM's window as a map image, once per DEM content and extent
    (read-only result).  The slope raster lives only in a temporary folder deleted at once
    (an uploaded DEM leaves nothing behind outside the session folder)."""
    box = (bounds[0], bounds[1], bounds[2], bounds[3])
    polygons = steep_land(dem, threshold_deg=25.0, bounds=box)
    pixel_m = (float(polygons["tolerance_m"].median())
               if "tolerance_m" in polygons and len(polygons) else 30.0)  # the DEM's pixel
    return rasterise_overlay(polygons, colour=STEEP_COLOUR, pixel_m=max(pixel_m, 5.0))


@st.cache_resource(show_spinner=False, max_entries=16)
def preset_rules(preset: str) -> RuleSet:
    """A rule preset, parsed once per process (a frozen, read-only :class:`RuleSet`)."""
    return read_rules(preset)


@st.cache_resource(show_spinner=False, max_entries=4)
def _load_region(key: tuple[Any, ...], _inputs: RegionInputs) -> RegionData:
    """``load_region`` once per distinct input files (``key`` from :func:`inputs_key`)."""
    return load_region(_inputs)


@st.cache_resource(show_spinner=False, max_entries=8)
def _route_region(
    key: tuple[Any, ...], profile: str, facility_types: tuple[str, ...], _data: RegionData
) -> pd.DataFrame:
    """``route_region`` once per inputs × profile × facility types (read-only result)."""
    st.session_state[ROUTE_RUNS_KEY] = st.session_state.get(ROUTE_RUNS_KEY, 0) + 1
    return route_region(_data, profile=profile, facility_types=list(facility_types), progress=False,
                        graph=_road_graph(key, profile, _data))


@st.cache_resource(show_spinner=False, max_entries=4)
def _road_graph(key: tuple[Any, ...], profile: str, _data: RegionData) -> RoadGraph:
    """The region's road graph for one travel profile, once per inputs × profile (the same
    graph, slope-aware walking included, that routed the access table)."""
    return _data.road_graph(profile)


@st.cache_resource(show_spinner=False, max_entries=256)
def _service_areas(
    key: tuple[Any, ...], profile: str, minutes: float, facility_types: tuple[str, ...],
    _data: RegionData,
) -> gpd.GeoDataFrame:
    """Road-network service areas once per inputs × profile × minutes × types (read-only)."""
    st.session_state[SERVICE_RUNS_KEY] = st.session_state.get(SERVICE_RUNS_KEY, 0) + 1
    return region_service_areas(_data, profile=profile, minutes=minutes,
                                facility_types=list(facility_types),
                                graph=_road_graph(key, profile, _data))


def service_area_layers(
    key: tuple[Any, ...], profile: str, minutes: dict[str, float], data: RegionData
) -> gpd.GeoDataFrame:
    """Service areas of the given types (one cached computation per type and minutes)."""
    parts = [_service_areas(key, profile, float(m), (ft,), data) for ft, m in minutes.items()]
    parts = [p for p in parts if len(p)]
    if not parts:
        return gpd.GeoDataFrame(geometry=[], crs="EPSG:4326")
    return gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs="EPSG:4326")


# --------------------------------------------------------------------------------------
# Data source: the demo county or this session's uploads
# --------------------------------------------------------------------------------------


def session_folder() -> SessionFolder:
    """This session's private temporary folder (created on first use, removed with the
    session)."""
    folder = st.session_state.get(FOLDER_KEY)
    if not isinstance(folder, SessionFolder) or not folder.alive:
        folder = SessionFolder()
        st.session_state[FOLDER_KEY] = folder
    return folder


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def upload_controls(lang: str) -> RegionInputs | None:
    """File uploaders (with their limits) in the sidebar; the staged inputs, or ``None``
    while the site table or the road file is missing.

    Raises
    ------
    InputError
        Every problem with the uploaded files (type, size, zip content).
    """
    files, coords, crs = upload_widgets(lang)
    if not files["sites"] or not files["roads"]:
        st.info(t("upload_needed", lang))
        return None
    signature = (
        tuple((k, f.file_id, f.name, f.size) for k, v in files.items() for f in _as_list(v)),
        coords,
        crs,
    )
    staged = st.session_state.get(STAGED_KEY)
    if staged is not None and staged[0] == signature:
        return staged[1]
    st.session_state.pop(STAGED_KEY, None)
    inputs = stage_uploads(
        files, session_folder(), coords=coords or None, crs=crs or None, name=t("uploaded_region", lang)
    )
    st.session_state[STAGED_KEY] = (signature, inputs)
    return inputs


def data_controls(lang: str) -> tuple[RegionInputs | None, bool]:
    """Demo county or uploads; returns ``(inputs or None, is_demo)``."""
    st.sidebar.subheader(t("data", lang))
    source = st.sidebar.radio(
        t("data_source", lang),
        ("demo", "upload"),
        format_func=lambda s: t(f"source_{s}", lang),
        key="data_source",
        horizontal=True,
    )
    if source == "upload":
        return upload_controls(lang), False
    st.sidebar.caption(t("demo_county", lang))
    return demo_inputs(), True


# --------------------------------------------------------------------------------------
# The page's steps
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Region:
    """A loaded region: its cache key (:func:`inputs_key`), data and map outlines."""

    inputs: RegionInputs
    key: tuple[Any, ...]
    data: RegionData
    townships: Overlay | None
    parcels: Overlay | None

    def facility_types(self, rules: RuleSet) -> set[str]:
        """Types the region's facilities have or ``rules`` check (those routed, as
        :func:`anzhi.pipeline.run_region` does)."""
        return set(self.data.facilities["facility_type"].astype(str)) | set(rules.facility_types)


@dataclass(frozen=True)
class View:
    """The part of a run the area and type filters show."""

    sites: gpd.GeoDataFrame
    facilities: gpd.GeoDataFrame
    gaps: pd.DataFrame
    county: str
    township: str
    types: list[str]


def load_inputs(inputs: RegionInputs, lang: str) -> Region:
    """Read (cached) the region's files and its township and parcel outlines."""
    with st.spinner(t("loading", lang)):
        key = inputs_key(inputs)
        data = _load_region(key, inputs)
    for warning in data.warnings:  # e.g. sites and facilities offset by the GCJ-02 shift
        st.warning(warning)
    return Region(inputs, key, data, region_townships(inputs), region_parcels(inputs))


def run_rules(region: Region, ruleset: RuleSet, profile: str, lang: str,
              placed: tuple[tuple[str, float, float], ...] = ()) -> RegionResults:
    """Route the region (cached per profile), add the placed what-if facilities (only they
    are routed) and apply the rule set: the run's results."""
    types = tuple(sorted(region.facility_types(ruleset) | {p[0] for p in placed}))
    with st.spinner(t("routing", lang)):
        access = _route_region(region.key, profile, types, region.data)
        data = region.data
        if placed:
            data, access = _with_placed(region.key, profile, types, placed, region.data, access)
    gaps, coverage = evaluate_region(data, access, ruleset)
    hazard = _site_hazard(region.key, region.data)
    return RegionResults(data=data, rules=ruleset, profile=profile, access=access,
                         gaps=add_hazard_columns(gaps, hazard), coverage=coverage, hazard=hazard)


@st.cache_resource(show_spinner=False, max_entries=16)
def _with_placed(
    key: tuple[Any, ...], profile: str, types: tuple[str, ...],
    placed: tuple[tuple[str, float, float], ...], _data: RegionData, _access: pd.DataFrame,
) -> tuple[RegionData, pd.DataFrame]:
    """The region and access table with the placed facilities, once per placement set
    (only the placed facilities are routed: :func:`anzhi.whatif.with_placed`)."""
    return with_placed(_data, _access, placed_facilities(list(placed)), profile=profile,
                       graph=_road_graph(key, profile, _data))


@st.cache_resource(show_spinner=False, max_entries=4)
def road_overlays(key: tuple[Any, ...], profile: str, _data: RegionData
                  ) -> dict[str, tuple[Overlay, str, float]]:
    """The road network drawn on the map: one prepared layer per road group (once per
    region × profile)."""
    lines = region_road_lines(_data, profile=profile, graph=_road_graph(key, profile, _data))
    out: dict[str, tuple[Overlay, str, float]] = {}
    for group in ROAD_GROUPS:
        part = lines[lines["group"] == group]
        if len(part):
            out[group] = (prepare_overlay(part.loc[:, ["geometry"]]), str(part["colour"].iloc[0]),
                          float(part["width_pt"].iloc[0]))
    return out


@st.cache_data(show_spinner=False, max_entries=64)
def selected_routes(key: tuple[Any, ...], profile: str, site_id: str, types: tuple[str, ...],
                    placed: tuple[Any, ...], _data: RegionData, _access: pd.DataFrame
                    ) -> gpd.GeoDataFrame:
    """The selected site's routes to its nearest facility of each type shown."""
    return site_routes(_data, _access, site_id, facility_types=list(types), profile=profile,
                       graph=_road_graph(key, profile, _data))


@st.cache_data(show_spinner=False, max_entries=8)
def _site_hazard(key: tuple[Any, ...], _data: RegionData) -> pd.DataFrame | None:
    """The site hazard screen of a region (DEM windows around the sites), once per region."""
    return screen_hazards(_data)


def filtered_view(results: RegionResults, county: str, township: str, types: list[str]) -> View:
    """The sites, facilities and gap rows of one area and the facility types shown."""
    data = results.data
    gaps = filter_rows(results.gaps, county, township)
    gaps = gaps[gaps["facility_type"].astype(str).isin(types)]
    facilities = data.facilities[data.facilities["facility_type"].astype(str).isin(types)]
    return View(filter_rows(data.sites, county, township), facilities, gaps, county, township, types)


def view_service_areas(
    region: Region, results: RegionResults, view: View, default_min: float, lang: str
) -> gpd.GeoDataFrame:
    """Service areas of the types shown that have facilities, at their rules' minutes."""
    present = set(view.facilities["facility_type"].astype(str))
    minutes = service_minutes(results.rules, [ft for ft in view.types if ft in present], default_min)
    with st.spinner(t("loading_service", lang)):
        return service_area_layers(region.key, results.profile, minutes, region.data)


def map_assets_url(lang: str) -> str | None:
    """URL of the locally served map libraries, or ``None`` (CDN, with a warning) when they
    are not installed or static serving is off."""
    if st.get_option("server.enableStaticServing") and (not missing_assets() or _deployed_assets()):
        return vendor_url(str(st.get_option("server.baseUrlPath") or ""))
    st.warning(t("assets_missing", lang))
    return None


@st.cache_resource(show_spinner=False)
def _deployed_assets() -> bool:
    """Copy the libraries shipped in ``anzhi/ui/vendor`` to ``static/vendor`` once per server
    when ``streamlit run app.py`` was started without ``make run``; ``False`` if that fails."""
    try:
        deploy_assets()
    except (OSError, AnzhiError):
        return False
    return not missing_assets()


def show_map(
    view: View, region: Region, lang: str, *, tiles: str | None, steep: RasterOverlay | None,
    areas: gpd.GeoDataFrame | None, is_demo: bool, siting: SitingRun | None = None,
    roads: dict[str, tuple[Overlay, str, float]] | None = None,
    routes: gpd.GeoDataFrame | None = None, classes: SiteClasses | None = None,
) -> None:
    """The map of the view; a click on a site circle selects that site (``sel:site``)."""
    note = t("attr_synthetic" if is_demo else "attr_user", lang)
    worst = worst_status(view.gaps)
    fmap = build_map(
        view.sites,
        view.facilities,
        worst,
        lang=lang,
        tiles=tiles,
        townships=region.townships,
        gaps=view.gaps,
        attribution=note,
        steep=steep,
        parcels=region.parcels,
        service_areas=areas,
        assets_url=map_assets_url(lang),
        recommended=None if siting is None else siting.tables.recommended,
        links=None if siting is None else siting.tables.links,
        roads=roads,
        routes=routes,
        site_classes=classes,
    )
    view_args = kept_view(map_signature(view, lang, tiles, steep, areas, siting, worst,
                                        roads is not None, None if routes is None else len(routes),
                                        None if classes is None else hash(tuple(sorted(classes.of_site.items())))))
    clicked = st_folium(
        fmap,
        key="map",
        # clicks and the view flow back: the view is given to the next map drawn, so a
        # threshold, filter or language change keeps the zoom and centre
        returned_objects=["last_object_clicked", "last_clicked", "center", "zoom"],
        # st_folium would render the whole figure and then the map again; the map's own
        # render gives the same script, html and header (checked on the demo map), and
        # skipping the first saves ~30 ms of every rerun.
        render=False,
        height=MAP_HEIGHT_PX,
        use_container_width=True,
        **view_args,
    )
    remember_view(clicked)
    place_on_click(clicked)
    st.caption(note)
    click = (clicked or {}).get("last_object_clicked") if isinstance(clicked, dict) else None
    if click and click != st.session_state.get(CLICK_KEY):
        st.session_state[CLICK_KEY] = click
        hit = site_at(view.sites, click)
        if hit is not None and hit != st.session_state.get(SELECTED_KEY):
            st.session_state[SELECTED_KEY] = hit
            st.rerun()  # the map is drawn again with the site's routes


def map_signature(view: View, lang: str, tiles: str | None, steep: RasterOverlay | None,
                  areas: gpd.GeoDataFrame | None, siting: SitingRun | None = None,
                  worst: pd.DataFrame | None = None, *extra: Any) -> int:
    """What the drawn map depends on: when it changes, the map is drawn anew (st_folium
    keys its component on the map's script) and must be given the view to keep.  ``worst``:
    ``worst_status(view.gaps)`` when already computed."""
    status = worst_status(view.gaps) if worst is None else worst
    parts = [pd.util.hash_pandas_object(status.astype(str), index=False).sum() if len(status) else 0,
             pd.util.hash_pandas_object(view.sites["site_id"].astype(str), index=False).sum(),
             len(view.facilities), tuple(view.types), lang, tiles, steep is not None,
             0 if areas is None else len(areas), id(siting),
             st.session_state.get(SELECTED_KEY), *extra]
    return hash(tuple(int(p) if not isinstance(p, (str, tuple, bool, type(None))) else p
                      for p in parts))


def kept_view(signature: int) -> dict[str, Any]:
    """``center``/``zoom`` for st_folium: the view last reported, given only when the map is
    drawn anew (a new signature).  While the map stays, the same arguments are given again,
    so the browser never jumps back to a view older than the user's latest pan."""
    applied = st.session_state.get(APPLIED_KEY)
    if applied is None or applied[0] != signature:
        applied = (signature, st.session_state.get(VIEW_KEY))
        st.session_state[APPLIED_KEY] = applied
    kept = applied[1]
    if kept is None:
        return {}
    return {"center": (kept[0], kept[1]), "zoom": kept[2]}


def remember_view(returned: Any) -> None:
    """Keep the centre and zoom the browser reported (``VIEW_KEY``)."""
    if not isinstance(returned, dict):
        return
    centre, zoom = returned.get("center"), returned.get("zoom")
    if isinstance(centre, dict) and isinstance(zoom, (int, float)) and {"lat", "lng"} <= set(centre):
        st.session_state[VIEW_KEY] = (float(centre["lat"]), float(centre["lng"]), int(zoom))


def show_error(exc: AnzhiError, lang: str) -> None:
    """An :class:`AnzhiError` as ``st.error``, one bullet per problem."""
    st.error(error_markdown(exc, lang))


def show_metrics(sites: pd.DataFrame, gaps: pd.DataFrame, lang: str) -> None:
    """Sites, sites with a gap, gaps, unroutable sites, coverage of checks."""
    values = metric_values(sites, gaps)
    for col, name in zip(st.columns(len(METRICS)), METRICS, strict=True):
        help_ = t("metric_coverage_help", lang) if name == "metric_coverage" else None
        col.metric(t(name, lang), values[name], help=help_)


def gap_filters(gaps: pd.DataFrame, lang: str) -> pd.DataFrame:
    """Status and name filters above the gap list; the rows that pass."""
    cols = st.columns([2, 1])
    statuses = cols[0].multiselect(
        t("gap_status_filter", lang), list(STATUSES),
        format_func=lambda s: status_label(s, lang), key="gap:status",
    )
    text = cols[1].text_input(t("gap_search", lang), key="gap:search").strip()
    rows = gaps
    if statuses:
        rows = rows[rows["status"].astype(str).isin(statuses)]
    if text:
        rows = rows[rows["site_name"].astype(str).str.contains(text, case=False, regex=False)]
    return rows


def show_gap_list(gaps: pd.DataFrame, lang: str, *, show_all: bool) -> None:
    """The gap list of the view: the selected site's rows only while one is selected, then
    the status and name filters."""
    st.subheader(t("gap_table", lang))
    selected = st.session_state.get(SELECTED_KEY)
    rows = gaps
    if selected is not None and (gaps["site_id"].astype(str) == selected).any():
        name = str(gaps.loc[gaps["site_id"].astype(str) == selected, "site_name"].iloc[0])
        cols = st.columns([4, 1])
        cols[0].info(t("selected_site", lang).format(name=name))
        cols[1].button(t("clear_selection", lang), key="sel:clear",
                       on_click=lambda: st.session_state.pop(SELECTED_KEY, None))
        rows = gaps[gaps["site_id"].astype(str) == selected]
    rows = gap_filters(rows, lang)
    table = gap_table(rows, lang, show_all=show_all)
    st.dataframe(table, hide_index=True)
    st.caption(t("no_rows", lang) if table.empty else t("gap_sort_note", lang))


def show_coverage(coverage: pd.DataFrame, view: View, lang: str) -> None:
    """Coverage by township (and by county when no township is chosen) with the chart."""
    county, township = view.county, view.township
    st.subheader(t("coverage_table", lang))
    cov = coverage[coverage["facility_type"].astype(str).isin(view.types)]
    st.dataframe(coverage_by_township(cov, lang, county, township), hide_index=True)
    chart = coverage_chart_data(coverage, lang, county, township, view.types)
    if not chart.empty:
        st.vega_lite_chart(spec=bar_chart_spec(chart, x_label=t("coverage_chart", lang)),
                           width="stretch")
    if not township:
        show_township_chart(coverage, view, lang)
        st.subheader(t("coverage_by_county", lang))
        st.dataframe(coverage_by_township(cov, lang, county, township, level="county"), hide_index=True)


def show_township_chart(coverage: pd.DataFrame, view: View, lang: str) -> None:
    """One rule's coverage in every township of the view, as a bar chart (lowest first)."""
    rows = coverage[(coverage["level"].astype(str) == "township")
                    & coverage["facility_type"].astype(str).isin(view.types)]
    rules = list(dict.fromkeys(rows["rule_id"].astype(str)))
    if not rules:
        return
    st.subheader(t("township_chart_title", lang))
    rule_id = st.selectbox(t("township_chart_rule", lang), rules, key="cov:rule")
    chart = township_chart_data(coverage, lang, view.county, str(rule_id or rules[0]))
    if not chart.empty:  # lowest share first
        st.vega_lite_chart(spec=bar_chart_spec(chart, x_label=t("township_chart", lang),
                                               keep_order=True), width="stretch")


def downloads(signature: tuple[Any, ...], results: RegionResults, lang: str) -> None:
    """"Prepare the files" (the CLI's writers, into the session folder), then one download
    button per file.  Files are only written on request, so reruns stay fast."""
    st.subheader(t("downloads", lang))
    st.caption(t("downloads_note", lang))
    if st.button(t("prepare_downloads", lang), key="dl:prepare"):
        out_dir = session_folder().fresh_subdir("downloads")
        st.session_state[DOWNLOADS_KEY] = (signature, download_files(results, out_dir, lang=lang))
    ready = st.session_state.get(DOWNLOADS_KEY)
    if ready is None:
        return
    if ready[0] != signature:
        st.caption(t("downloads_stale", lang))
        return
    files = ready[1]
    for col, (name, data) in zip(st.columns(len(files)), files.items(), strict=True):
        col.download_button(name, data, file_name=name, mime=mime_type(name), key=f"dl:{name}",
                            on_click="ignore")


@st.cache_data(show_spinner=False, max_entries=32)
def rules_yaml(preset: str, overrides: tuple[tuple[str, Any], ...]) -> bytes:
    """The rule file of ``preset`` with ``overrides`` (what "save these thresholds" gives)."""
    base = preset_rules(preset)
    return rules_to_yaml(base.with_overrides(dict(overrides)) if overrides else base).encode()


def save_rules_button(preset: str, overrides: dict[str, Any], lang: str) -> None:
    """Sidebar download of the rules in use as a YAML file ``--rules`` reads back."""
    data = rules_yaml(preset, tuple(sorted(overrides.items())))
    name = f"{preset}-{'changed' if overrides else 'preset'}.yaml"
    st.sidebar.download_button(t("save_rules", lang), data, file_name=name,
                               mime="application/yaml", key="dl:rules", on_click="ignore",
                               help=t("save_rules_help", lang))


def vocabulary_order(types: Sequence[str] | set[str]) -> list[str]:
    """``types`` in the vocabulary's order (the type filter's default)."""
    return [k for k in FACILITY_TYPES if k in set(types)]


def page(lang: str) -> None:
    """Everything below the title; AnzhiErrors propagate to :func:`main`."""
    preset, profile = rule_controls(lang)
    base = preset_rules(preset)
    overrides: dict[str, Any] = dict(threshold_controls(base, lang))
    inputs, is_demo = data_controls(lang)
    if inputs is None:
        return
    region = load_inputs(inputs, lang)
    county, township = area_filter(region.data.sites, lang)
    shown_types = type_filter(vocabulary_order(region.facility_types(base)), lang)
    tiles, service_min, show_steep, show_all = display_controls(lang)
    steep = None
    if show_steep:
        with st.spinner(t("loading_terrain", lang)):
            steep = region_steep_land(inputs, region.data.sites)
    # The access table is computed with the chosen profile: reach limits then apply to it.
    overrides.update(profile_overrides(base, profile))
    placed = whatif_controls(shown_types, lang)
    request = recommend_controls(vocabulary_order(set(base.facility_types)), lang)
    results = run_rules(region, base.with_overrides(overrides) if overrides else base, profile, lang,
                        placed)
    save_rules_button(preset, overrides, lang)
    view = filtered_view(results, county, township, shown_types)
    areas = (None if service_min is None
             else view_service_areas(region, results, view, service_min, lang))
    siting = None if request is None else run_request(
        request, key=region.key, data=region.data, rules=preset, overrides=overrides,
        profile=profile, lang=lang)
    show_roads = st.sidebar.checkbox(t("show_roads", lang), value=True, key="show_roads")
    roads = road_overlays(region.key, profile, region.data) if show_roads else None
    selected = st.session_state.get(SELECTED_KEY)
    routes = None
    if selected is not None and (view.sites["site_id"].astype(str) == str(selected)).any():
        routes = selected_routes(region.key, profile, str(selected), tuple(view.types), placed,
                                 results.data, results.access)
    previous = compare_controls(session_folder(), lang)
    comparison = None if previous is None else compare_run(previous, results, lang)
    show_map(view, region, lang, tiles=tiles, steep=steep, areas=areas, is_demo=is_demo,
             siting=siting, roads=roads, routes=routes,
             classes=None if comparison is None else comparison.classes)
    show_metrics(view.sites, view.gaps, lang)
    show_gap_list(view.gaps, lang, show_all=show_all)
    show_coverage(results.coverage, view, lang)
    if comparison is not None:
        show_comparison(comparison, lang)
    show_land(region.key, inputs, lang)
    if siting is not None and request is not None:
        show_recommended(siting, (region.key, preset, tuple(sorted(overrides.items())), profile,
                                  request), lang)
    signature = (region.key, preset, tuple(sorted(overrides.items())), profile, lang, placed)
    downloads(signature, results, lang)
    print_controls(signature, results, county=view.county, township=view.township,
                   types=view.types, lang=lang, is_demo=is_demo)


def main() -> None:
    """The app."""
    st.set_page_config(page_title="安置点设施检查 · Anzhi", layout="wide")
    lang = language_switch()
    st.title(t("title", lang))
    st.caption(t("subtitle", lang))
    try:
        page(lang)
    except AnzhiError as exc:  # user-caused: show every problem; anything else is a bug
        show_error(exc, lang)


if __name__ == "__main__":
    main()
