"""Anzhi (安置) Streamlit app: relocation sites, their facilities and gaps on a map.

Run with ``streamlit run app.py`` (``make run``).  Widgets and rendering only: reading files,
routing and rule evaluation come from :mod:`anzhi.pipeline`, the map from
:func:`anzhi.ui.mapping.build_map`, every label from :mod:`anzhi.ui.i18n`.

Costs and caching (a threshold change must answer at once):

* ``load_region`` (read + validate files, build the road graph) is cached with
  ``st.cache_resource`` keyed by the input paths and their sha256 (hashed once per
  path/size/mtime);
* ``route_region`` is cached the same way, keyed by the inputs, the travel profile and the
  facility types routed;
* road-network service areas (:func:`geo.routing.service_areas`) are cached with
  ``st.cache_resource`` per inputs × profile × minutes × facility type (the road graph per
  inputs × profile), so a threshold change of one rule recomputes at most the areas whose
  minutes it changes;
* township boundaries, parcels and the slope > 25° polygons (``layers.terrain``, from the
  DEM) are read and serialised to GeoJSON once per file content (``st.cache_resource``);
* a rerun after a threshold, filter or language change only runs
  ``RuleSet.with_overrides(...)`` and ``evaluate_region`` and draws the map and tables
  (about 0.3 s on the demo county: docs/benchmarks.md, ``python -m bench.bench_app``);
* download files are written only when asked for ("prepare the files").

Uploads (:mod:`anzhi.ui.uploads`) are written only into the session's own temporary folder
and read with the CLI's loaders; the map's browser libraries are served by the app itself
(:mod:`anzhi.ui.webassets`), so the map draws with no internet.

Session-state keys (stable, used by the tests): ``lang``, ``preset``, ``profile``,
``thr:<rule id>.<field>`` (e.g. ``thr:police-800.min_population``), ``data_source``
(``demo``/``upload``), ``up:<kind>`` (file uploaders: ``up:sites``, ``up:roads``...),
``up:coords``, ``up:crs``, ``filter:county``, ``filter:township``, ``show_types``,
``basemap``, ``show_areas``, ``sa:minutes``, ``show_steep``, ``show_all``, ``gap:status``, ``gap:search``,
``sel:site`` (the site selected by a click on the map), ``dl:prepare``;
``anzhi:route_runs`` counts routing runs (cache misses) in this session and
``anzhi:service_runs`` service-area computations.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from analysis.gaps import COVERED_STATUSES, GAP_STATUSES, worst_status
from analysis.rules import RuleSet, preset_names
from anzhi.core.vocabulary import FACILITY_TYPES, label
from anzhi.core.errors import AnzhiError, DataSourceError
from anzhi.pipeline import (
    RegionData,
    RegionInputs,
    evaluate_region,
    load_region,
    region_elevation,
    route_region,
)
from anzhi.core.settings import get_settings
from geo.roads import RoadGraph
from geo.routing import service_areas
from anzhi.core.files import file_sha256
from layers.export import write_outputs
from anzhi.ui.i18n import (
    COVERAGE_TABLE_COLUMNS,
    GAP_TABLE_COLUMNS,
    LANGS,
    STATUSES,
    column_labels,
    status_label,
    t,
)
from anzhi.ui.mapping import Overlay, build_map, prepare_overlay
from layers.boundaries import read_polygons
from layers.rulesfile import read_rules
from layers.terrain import read_parcels, steep_polygons, write_slope
from anzhi.ui.uploads import UPLOAD_KINDS, SessionFolder, stage_uploads
from anzhi.ui.webassets import missing_assets, vendor_url

ROUTE_RUNS_KEY = "anzhi:route_runs"
SERVICE_RUNS_KEY = "anzhi:service_runs"
#: Minutes of the service areas of types whose rules set no time limit (the control's default).
DEFAULT_SERVICE_MIN = 15.0
FOLDER_KEY = "anzhi:folder"  # the session's SessionFolder (uploads, downloads)
STAGED_KEY = "anzhi:staged"  # (upload signature, RegionInputs)
DOWNLOADS_KEY = "anzhi:downloads"  # (result signature, {file name: bytes})
CLICK_KEY = "anzhi:last_click"  # the map click already turned into a selection
SELECTED_KEY = "sel:site"
#: Files offered for download, in this order (those write_outputs produces).
DOWNLOAD_FILES: tuple[str, ...] = ("gaps.xlsx", "gaps.csv", "coverage.csv", "gaps.gpkg", "access.csv")
_MIME = {
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".csv": "text/csv",
    ".gpkg": "application/geopackage+sqlite3",
}
COORDS_CHOICES: tuple[str, ...] = ("", "wgs84", "cgcs2000", "gcj02", "bd09")
MAP_HEIGHT_PX = 600
PROFILES: tuple[str, ...] = ("walk", "drive", "motorbike")
BASEMAPS: tuple[str, ...] = ("none", "OpenStreetMap")
_ALL = ""  # filter value meaning "all counties / townships"
_LANG_NAMES = {"zh": "中文", "en": "English"}


# --------------------------------------------------------------------------------------
# Thresholds of a rule set (which widgets to show)
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Threshold:
    """One editable figure of a rule: ``<rule_id>.<field>`` as :meth:`RuleSet.with_overrides`
    takes it."""

    rule_id: str
    field: str
    value: float
    integer: bool

    @property
    def override_key(self) -> str:
        """``police-800.min_population``."""
        return f"{self.rule_id}.{self.field}"

    @property
    def widget_key(self) -> str:
        """``thr:police-800.min_population``."""
        return f"thr:{self.override_key}"


def rule_thresholds(ruleset: RuleSet) -> list[Threshold]:
    """The population/household thresholds, reach limits and capacity norms each rule has,
    in rule order."""
    out: list[Threshold] = []
    for rule in ruleset:
        a = rule.applies
        for fld in ("min_population", "max_population", "min_households"):
            v = getattr(a, fld)
            if v is not None:
                out.append(Threshold(rule.id, fld, v, integer=True))
        wr = rule.satisfied_by.within_reach
        if wr is not None:
            for fld in ("max_time_min", "max_dist_m"):
                v = getattr(wr, fld)
                if v is not None:
                    out.append(Threshold(rule.id, fld, v, integer=False))
        cap = rule.capacity
        if cap is not None:
            for fld in ("max_per_unit", "child_share"):
                v = getattr(cap, fld)
                if v is not None and v < 1e6:  # 1e9 encodes "any staffing" (一室一警), not a figure
                    out.append(Threshold(rule.id, fld, v, integer=False))
    return out


def _step(field: str, value: float) -> float:
    """Sensible increment of a threshold's number input."""
    if field == "max_time_min":
        return 5.0
    if field == "child_share":
        return 0.005
    if field == "max_per_unit":
        return 500.0 if value >= 1000 else 0.1
    return 100.0


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
    go through the CLI's parcel loader (``layers.terrain.read_parcels``: its validation
    problems reach the user)."""
    gdf = read_parcels(path) if what == "parcels" else read_polygons(path, what=what)
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


def region_steep_land(inputs: RegionInputs) -> Overlay | None:
    """Polygons of land steeper than 25° for the map, or ``None`` without a DEM.

    ``layers.terrain.write_slope`` (DEM → slope GeoTIFF) then ``steep_polygons`` (slope > 25°
    → EPSG:4326 polygons); cached per DEM content.
    """
    if inputs.dem is None:
        return None
    return _steep_land(str(inputs.dem), file_sha256(inputs.dem))


@st.cache_resource(show_spinner=False, max_entries=4)
def _steep_land(dem: str, sha256: str) -> Overlay:
    """Slope > 25° polygons of a DEM, once per DEM content (read-only result).  The slope
    raster lives only in a temporary folder deleted at once (an uploaded DEM leaves nothing
    behind outside the session folder)."""
    with tempfile.TemporaryDirectory(prefix="anzhi-slope-") as tmp:
        slope = write_slope(dem, Path(tmp) / "slope.tif")
        return prepare_overlay(steep_polygons(slope, threshold_deg=25.0))


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
    graph = _road_graph(key, profile, _data)
    # facility legs walked on their slope exactly when the access table's are
    elevation = region_elevation(_data.inputs, profile=profile, crs=graph.crs_metric)
    return service_areas(graph, _data.facilities, minutes=minutes,
                         facility_types=list(facility_types), elevation_m=elevation)


def service_minutes(ruleset: RuleSet, types: Sequence[str], default_min: float) -> dict[str, float]:
    """Minutes of each type's service area: the largest time limit of its reach rules, or
    ``default_min`` when none of its rules has one."""
    out = {ft: float(default_min) for ft in types}
    limits: dict[str, float] = {}
    for rule in ruleset:
        wr = rule.satisfied_by.within_reach
        if wr is not None and wr.max_time_min and rule.facility_type in out:
            limits[rule.facility_type] = max(limits.get(rule.facility_type, 0.0), float(wr.max_time_min))
    out.update(limits)
    return out


def region_service_areas(
    key: tuple[Any, ...], profile: str, minutes: dict[str, float], data: RegionData
) -> gpd.GeoDataFrame:
    """Service areas of the given types (one cached computation per type and minutes)."""
    parts = [_service_areas(key, profile, float(m), (ft,), data) for ft, m in minutes.items()]
    parts = [p for p in parts if len(p)]
    if not parts:
        return gpd.GeoDataFrame(geometry=[], crs="EPSG:4326")
    return gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs="EPSG:4326")


# --------------------------------------------------------------------------------------
# Widgets
# --------------------------------------------------------------------------------------


def _clear_keys(prefixes: Sequence[str]) -> None:
    for k in list(st.session_state.keys()):
        if any(str(k).startswith(p) for p in prefixes):
            del st.session_state[k]


#: Widgets whose option labels are translated (``format_func`` depends on the language).
LANG_DEPENDENT_KEYS: tuple[str, ...] = (
    "profile", "data_source", "basemap", "filter:county", "filter:township", "show_types",
    "gap:status", "up:coords",
)


def _keep_values_across_language() -> None:
    """Language change callback: re-state the translated widgets' values.

    Streamlit keeps a radio/selectbox/multiselect value as its *formatted* label, so after
    a language switch the browser sends the old language's label, which matches no option
    (the widget would return that label instead of the option).  Assigning each value
    (still decoded with the old labels here) back to session state carries it over.
    """
    for key in LANG_DEPENDENT_KEYS:
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]


def language_switch() -> str:
    """中文/English radio in the sidebar; returns ``"zh"`` or ``"en"``."""
    lang = st.sidebar.radio(
        "语言 / Language",
        LANGS,
        format_func=lambda code: _LANG_NAMES[code],
        key="lang",
        horizontal=True,
        on_change=_keep_values_across_language,
    )
    return lang if lang in LANGS else "zh"


def rule_controls(lang: str) -> tuple[str, str]:
    """Rule preset and travel profile selectors; returns ``(preset, profile)``."""
    st.sidebar.subheader(t("rules", lang))
    presets = preset_names()
    preset = st.sidebar.selectbox(
        t("preset", lang),
        presets,
        index=presets.index("default") if "default" in presets else 0,
        key="preset",
        # a different preset has different figures: drop the edited ones
        on_change=_clear_keys,
        args=(("thr:",),),
    )
    profile = st.sidebar.radio(
        t("profile", lang),
        PROFILES,
        format_func=lambda p: t(f"profile_{p}", lang),
        key="profile",
        horizontal=True,
    )
    return str(preset), (str(profile) if profile in PROFILES else PROFILES[0])


def threshold_controls(ruleset: RuleSet, lang: str) -> dict[str, float]:
    """A number input per threshold; returns the overrides that differ from the preset."""
    overrides: dict[str, float] = {}
    with st.sidebar.expander(t("thresholds", lang), expanded=True):
        for thr in rule_thresholds(ruleset):
            rule = ruleset.get(thr.rule_id)
            text = f"{rule.label(lang)} · {t(thr.field, lang)}"
            help_ = f"{thr.rule_id}: {rule.source} {rule.clause} ({rule.grade})"
            value: float | None
            if thr.integer:
                value = st.number_input(
                    text, min_value=0, value=int(thr.value), step=100, key=thr.widget_key,
                    help=help_,
                )
            else:
                step = _step(thr.field, float(thr.value))
                value = st.number_input(
                    text, min_value=step / 10, value=float(thr.value), step=step,
                    key=thr.widget_key, help=help_,
                )
            if value is not None and value != thr.value:
                overrides[thr.override_key] = value
    return overrides


def area_filter(sites: pd.DataFrame, lang: str) -> tuple[str, str]:
    """County and township selectors; returns ``(county, township)`` ("" = all)."""
    st.sidebar.subheader(t("filter", lang))
    counties = sorted({c for c in sites["county"].astype(str) if c})
    county = _ALL
    if counties:
        county = st.sidebar.selectbox(
            t("county", lang),
            [_ALL, *counties],
            format_func=lambda c: c or t("all", lang),
            key="filter:county",
            on_change=_clear_keys,
            args=(("filter:township",),),
        )
    in_county = sites if not county else sites[sites["county"].astype(str) == county]
    towns = sorted({x for x in in_county["township"].astype(str) if x})
    township = _ALL
    if towns:
        township = st.sidebar.selectbox(
            t("township", lang),
            [_ALL, *towns],
            format_func=lambda x: x or t("all", lang),
            key="filter:township",
        )
    return str(county or _ALL), str(township or _ALL)


def type_filter(types: Sequence[str], lang: str) -> list[str]:
    """Facility types shown on the map and in the tables (default: the region's ``types``).

    The options are the whole vocabulary, so a choice survives switching regions; sites
    are then coloured by their worst status among the types shown.
    """
    chosen = st.sidebar.multiselect(
        t("show_types", lang),
        list(FACILITY_TYPES),
        # the default only on first use: afterwards the session state holds the choice
        default=None if "show_types" in st.session_state else list(types),
        format_func=lambda k: label(k, lang),
        key="show_types",
    )
    return [str(k) for k in chosen]


def display_controls(lang: str) -> tuple[str | None, float | None, bool, bool]:
    """Basemap choice, service areas, steep land and "show all checks"; returns
    ``(tiles, service_min, show_steep, show_all)`` where ``service_min`` is ``None`` when the
    service areas are off, else the minutes for types whose rules set no time limit."""
    basemap = st.sidebar.radio(
        t("basemap", lang),
        BASEMAPS,
        format_func=lambda b: t("basemap_none", lang) if b == "none" else t("basemap_osm", lang),
        key="basemap",
    )
    show_areas = st.sidebar.checkbox(
        t("service_toggle", lang), value=False, key="show_areas", help=t("service_note", lang)
    )
    service_min: float | None = None
    if show_areas:
        service_min = float(st.sidebar.number_input(
            t("service_minutes", lang), min_value=1.0, max_value=240.0, value=DEFAULT_SERVICE_MIN,
            step=5.0, key="sa:minutes",
        ))
    show_steep = st.sidebar.checkbox(
        t("steep_toggle", lang), value=True, key="show_steep", help=t("steep_note", lang)
    )
    show_all = st.sidebar.checkbox(t("show_all_checks", lang), value=False, key="show_all")
    tiles = str(basemap) if basemap in BASEMAPS and basemap != "none" else None
    return tiles, service_min, bool(show_steep), bool(show_all)


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
    files: dict[str, Any] = {}
    with st.sidebar.expander(t("upload_files", lang), expanded=True):
        st.caption(t("upload_limits", lang))
        for key, kind in UPLOAD_KINDS.items():
            limit = t("up_limit", lang).format(mb=kind.max_mb)
            files[key] = st.file_uploader(
                f"{t('up_' + key, lang)} ({', '.join(kind.suffixes)}; {limit})",
                type=[sfx.lstrip(".") for sfx in kind.suffixes],
                accept_multiple_files=kind.multiple,
                key=f"up:{key}",
            )
        coords = st.selectbox(
            t("up_coords", lang),
            COORDS_CHOICES,
            format_func=lambda c: c.upper() if c else t("up_coords_auto", lang),
            key="up:coords",
        )
        crs = st.text_input(t("up_crs", lang), key="up:crs").strip()
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
# Rendering
# --------------------------------------------------------------------------------------


def _md_escape(text: str) -> str:
    out = str(text)
    for ch in "\\`*_[]<>#|~$":
        out = out.replace(ch, "\\" + ch)
    return out


def show_error(exc: AnzhiError, lang: str) -> None:
    """An :class:`AnzhiError` as ``st.error``, one bullet per problem."""
    problems = getattr(exc, "problems", None)
    lines = [str(p) for p in problems] if problems else [str(exc)]
    st.error(t("input_error", lang) + "\n\n" + "\n".join(f"- {_md_escape(x)}" for x in lines))


def _filter_rows(df: pd.DataFrame, county: str, township: str) -> pd.DataFrame:
    mask = pd.Series(True, index=df.index)
    if county:
        mask &= df["county"].astype(str) == county
    if township:
        mask &= df["township"].astype(str) == township
    return df[mask]


def show_metrics(sites: pd.DataFrame, gaps: pd.DataFrame, lang: str) -> None:
    """Sites, sites with a gap, gaps, unroutable sites, coverage of checks."""
    status = gaps["status"].astype(str)
    is_gap = status.isin(GAP_STATUSES)
    n_checks = len(gaps)
    covered = int(status.isin(COVERED_STATUSES).sum())
    share = covered / n_checks if n_checks else math.nan
    cols = st.columns(5)
    cols[0].metric(t("metric_sites", lang), f"{len(sites):,}")
    cols[1].metric(t("metric_sites_gap", lang), f"{gaps.loc[is_gap, 'site_id'].nunique():,}")
    cols[2].metric(t("metric_gaps", lang), f"{int(is_gap.sum()):,}")
    cols[3].metric(
        t("metric_unroutable", lang), f"{gaps.loc[status == 'unroutable', 'site_id'].nunique():,}"
    )
    cols[4].metric(
        t("metric_coverage", lang),
        "—" if math.isnan(share) else f"{share:.1%}",
        help=t("metric_coverage_help", lang),
    )


def site_at(sites: gpd.GeoDataFrame, clicked: Any, *, tol_deg: float = 1e-6) -> str | None:
    """The ``site_id`` of the site drawn at a clicked map object (``{"lat": .., "lng": ..}``,
    as streamlit-folium's ``last_object_clicked``), or ``None`` if no site is there."""
    if not isinstance(clicked, dict):
        return None
    try:
        lat, lng = float(clicked["lat"]), float(clicked["lng"])
    except (KeyError, TypeError, ValueError):
        return None
    geoms = sites.geometry
    ok = (geoms.notna() & ~geoms.is_empty).to_numpy()
    if not ok.any():
        return None
    xs, ys = geoms[ok].x.to_numpy(), geoms[ok].y.to_numpy()
    d = abs(xs - lng) + abs(ys - lat)
    i = int(d.argmin())
    return str(sites["site_id"].to_numpy()[ok][i]) if d[i] <= 2 * tol_deg else None


def gap_table(gaps: pd.DataFrame, lang: str, *, show_all: bool) -> pd.DataFrame:
    """The gap list as shown: unsatisfied checks (or all), localised values and headers."""
    rows = gaps if show_all else gaps[~gaps["status"].astype(str).isin(COVERED_STATUSES)]
    reason_col = "reason_en" if lang == "en" else "reason"
    out = pd.DataFrame(
        {
            "site_name": rows["site_name"].astype(str),
            "township": rows["township"].astype(str),
            "population": rows["population"],
            "facility_type": rows["facility_type"].astype(str).map(lambda k: label(k, lang)),
            "rule_id": rows["rule_id"].astype(str),
            "status": rows["status"].astype(str).map(lambda s: status_label(s, lang)),
            "dist_m": pd.to_numeric(rows["dist_m"], errors="coerce").round(0),
            "time_min": pd.to_numeric(rows["time_min"], errors="coerce").round(1),
            "reason": rows[reason_col].astype(str),
        }
    )
    return out.rename(columns=column_labels(GAP_TABLE_COLUMNS, lang)).reset_index(drop=True)


def coverage_by_township(
    coverage: pd.DataFrame, lang: str, county: str, township: str, *, level: str = "township"
) -> pd.DataFrame:
    """Rows of one level (``township`` or ``county``) of the coverage table, shares in %,
    localised."""
    rows = coverage[coverage["level"].astype(str) == level]
    rows = _filter_rows(rows, county, "" if level == "county" else township)
    out = pd.DataFrame(
        {
            "county": rows["county"].astype(str),
            "township": rows["township"].astype(str),
            "facility_type": rows["facility_type"].astype(str).map(lambda k: label(k, lang)),
            "rule_id": rows["rule_id"].astype(str),
            "sites_required": rows["sites_required"],
            "sites_covered": rows["sites_covered"],
            "share_sites": (pd.to_numeric(rows["share_sites"], errors="coerce") * 100).round(1),
            "pop_required": rows["pop_required"],
            "pop_covered": rows["pop_covered"],
            "share_pop": (pd.to_numeric(rows["share_pop"], errors="coerce") * 100).round(1),
        }
    )
    return out.rename(columns=column_labels(COVERAGE_TABLE_COLUMNS, lang)).reset_index(drop=True)


def coverage_chart_data(
    coverage: pd.DataFrame, lang: str, county: str, township: str, types: Sequence[str]
) -> pd.DataFrame:
    """Share of sites covered (%) per rule for the area in view (the whole region, the
    county or the township), indexed by "facility type · rule id"."""
    if township:
        rows = _filter_rows(coverage[coverage["level"].astype(str) == "township"], county, township)
    elif county:
        rows = _filter_rows(coverage[coverage["level"].astype(str) == "county"], county, "")
    else:
        rows = coverage[coverage["level"].astype(str) == "all"]
    rows = rows[rows["facility_type"].astype(str).isin(list(types))]
    share = (pd.to_numeric(rows["share_sites"], errors="coerce") * 100).round(1)
    index = [f"{label(ft, lang)} · {rid}" for ft, rid in
             zip(rows["facility_type"].astype(str), rows["rule_id"].astype(str), strict=True)]
    return pd.DataFrame({t("coverage_chart", lang): share.to_numpy()}, index=pd.Index(index))


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


def downloads(
    signature: tuple[Any, ...],
    gaps: pd.DataFrame,
    coverage: pd.DataFrame,
    access: pd.DataFrame,
    ruleset: RuleSet,
    lang: str,
    sites: gpd.GeoDataFrame,
) -> None:
    """"Prepare the files" (the CLI's writers, into the session folder), then one download
    button per file.  Files are only written on request, so reruns stay fast."""
    st.subheader(t("downloads", lang))
    st.caption(t("downloads_note", lang))
    if st.button(t("prepare_downloads", lang), key="dl:prepare"):
        out_dir = session_folder().fresh_subdir("downloads")
        written = write_outputs(
            out_dir, gaps=gaps, coverage=coverage, access=access, rules=ruleset, lang=lang,
            sites=sites,
        )
        files = {name: written[name].read_bytes() for name in DOWNLOAD_FILES if name in written}
        st.session_state[DOWNLOADS_KEY] = (signature, files)
    ready = st.session_state.get(DOWNLOADS_KEY)
    if ready is None:
        return
    if ready[0] != signature:
        st.caption(t("downloads_stale", lang))
        return
    files = ready[1]
    for col, (name, data) in zip(st.columns(len(files)), files.items(), strict=True):
        col.download_button(
            name, data, file_name=name, mime=_MIME.get(Path(name).suffix, "application/octet-stream"),
            key=f"dl:{name}", on_click="ignore",
        )


# --------------------------------------------------------------------------------------
# Page
# --------------------------------------------------------------------------------------


def map_assets_url(lang: str) -> str | None:
    """URL of the locally served map libraries, or ``None`` (CDN, with a warning) when they
    are not installed or static serving is off."""
    if st.get_option("server.enableStaticServing") and not missing_assets():
        return vendor_url(str(st.get_option("server.baseUrlPath") or ""))
    st.warning(t("assets_missing", lang))
    return None


def page(lang: str) -> None:
    """Everything below the title; AnzhiErrors propagate to :func:`main`."""
    preset, profile = rule_controls(lang)
    base = preset_rules(preset)
    overrides: dict[str, Any] = dict(threshold_controls(base, lang))

    inputs, is_demo = data_controls(lang)
    if inputs is None:
        return
    with st.spinner(t("loading", lang)):
        key = inputs_key(inputs)
        data = _load_region(key, inputs)
        townships = region_townships(inputs)
        parcels = region_parcels(inputs)

    county, township = area_filter(data.sites, lang)
    all_types = [k for k in FACILITY_TYPES
                 if k in set(data.facilities["facility_type"].astype(str)) | set(base.facility_types)]
    shown_types = type_filter(all_types, lang)
    tiles, service_min, show_steep, show_all = display_controls(lang)
    steep = None
    if show_steep:
        with st.spinner(t("loading_terrain", lang)):
            steep = region_steep_land(inputs)

    # The access table is computed with the chosen profile: reach limits then apply to it.
    for rule in base:
        wr = rule.satisfied_by.within_reach
        if wr is not None and wr.profile != profile:
            overrides[f"{rule.id}.profile"] = profile
    ruleset = base.with_overrides(overrides) if overrides else base

    # the same types as pipeline.run_region routes
    types = tuple(sorted(set(data.facilities["facility_type"].astype(str)) | set(base.facility_types)))
    with st.spinner(t("routing", lang)):
        access = _route_region(key, profile, types, data)
    gaps, coverage = evaluate_region(data, access, ruleset)

    sites = _filter_rows(data.sites, county, township)
    gaps_f = _filter_rows(gaps, county, township)
    gaps_f = gaps_f[gaps_f["facility_type"].astype(str).isin(shown_types)]
    facilities = data.facilities[data.facilities["facility_type"].astype(str).isin(shown_types)]

    areas = None
    if service_min is not None:
        present = set(facilities["facility_type"].astype(str))
        with st.spinner(t("loading_service", lang)):
            areas = region_service_areas(
                key, profile,
                service_minutes(ruleset, [ft for ft in shown_types if ft in present], service_min),
                data,
            )

    note = t("attr_synthetic" if is_demo else "attr_user", lang)
    fmap = build_map(
        sites,
        facilities,
        worst_status(gaps_f),
        lang=lang,
        tiles=tiles,
        townships=townships,
        gaps=gaps_f,
        attribution=note,
        steep=steep,
        parcels=parcels,
        service_areas=areas,
        assets_url=map_assets_url(lang),
    )
    clicked = st_folium(
        fmap,
        key="map",
        # only a click on an object flows back: panning/zooming never reruns the script
        returned_objects=["last_object_clicked"],
        # st_folium would render the whole figure and then the map again; the map's own
        # render gives the same script, html and header (checked on the demo map), and
        # skipping the first saves ~30 ms of every rerun.
        render=False,
        height=MAP_HEIGHT_PX,
        use_container_width=True,
    )
    st.caption(note)
    click = (clicked or {}).get("last_object_clicked") if isinstance(clicked, dict) else None
    if click and click != st.session_state.get(CLICK_KEY):
        st.session_state[CLICK_KEY] = click
        hit = site_at(sites, click)
        if hit is not None:
            st.session_state[SELECTED_KEY] = hit

    show_metrics(sites, gaps_f, lang)

    st.subheader(t("gap_table", lang))
    selected = st.session_state.get(SELECTED_KEY)
    rows = gaps_f
    if selected is not None and (gaps_f["site_id"].astype(str) == selected).any():
        name = str(gaps_f.loc[gaps_f["site_id"].astype(str) == selected, "site_name"].iloc[0])
        cols = st.columns([4, 1])
        cols[0].info(t("selected_site", lang).format(name=name))
        cols[1].button(t("clear_selection", lang), key="sel:clear",
                       on_click=lambda: st.session_state.pop(SELECTED_KEY, None))
        rows = gaps_f[gaps_f["site_id"].astype(str) == selected]
    rows = gap_filters(rows, lang)
    table = gap_table(rows, lang, show_all=show_all)
    st.dataframe(table, hide_index=True)
    st.caption(t("no_rows", lang) if table.empty else t("gap_sort_note", lang))

    st.subheader(t("coverage_table", lang))
    cov = coverage[coverage["facility_type"].astype(str).isin(shown_types)]
    st.dataframe(coverage_by_township(cov, lang, county, township), hide_index=True)
    chart = coverage_chart_data(coverage, lang, county, township, shown_types)
    if not chart.empty:
        st.bar_chart(chart, horizontal=True, y_label="", x_label=t("coverage_chart", lang))
    if not township:
        st.subheader(t("coverage_by_county", lang))
        st.dataframe(coverage_by_township(cov, lang, county, township, level="county"), hide_index=True)

    signature = (key, preset, tuple(sorted(overrides.items())), profile, lang)
    downloads(signature, gaps, coverage, access, ruleset, lang, data.sites)


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
