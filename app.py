"""Anzhi (安置) Streamlit app: relocation sites, their facilities and gaps on a map.

Run with ``streamlit run app.py`` (``make run``).  Widgets and rendering only: reading files,
routing and rule evaluation come from :mod:`anzhi.pipeline`, the map from
:func:`layers.mapping.build_map`, every label from :mod:`layers.i18n`.

Costs and caching (a threshold change must answer at once):

* ``load_region`` (read + validate files, build the road graph) is cached with
  ``st.cache_resource`` keyed by the input paths and their sha256 (hashed once per
  path/size/mtime);
* ``route_region`` is cached the same way, keyed by the inputs, the travel profile and the
  facility types routed;
* a rerun after a threshold, filter or language change only runs
  ``read_rules(...).with_overrides(...)`` and ``evaluate_region`` (milliseconds) and draws.

Session-state keys (stable, used by the tests): ``lang``, ``preset``, ``profile``,
``thr:<rule id>.<field>`` (e.g. ``thr:police-800.min_population``), ``filter:county``,
``filter:township``, ``basemap``, ``show_all``; ``anzhi:route_runs`` counts routing runs
(cache misses) in this session.
"""

from __future__ import annotations

import hashlib
import math
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
from analysis.vocabulary import label
from anzhi.errors import AnzhiError, DataSourceError
from anzhi.pipeline import RegionData, RegionInputs, evaluate_region, load_region, route_region
from anzhi.settings import get_settings
from layers.i18n import (
    COVERAGE_TABLE_COLUMNS,
    GAP_TABLE_COLUMNS,
    LANGS,
    column_labels,
    status_label,
    t,
)
from layers.mapping import build_map, read_townships
from layers.rulesfile import read_rules

ROUTE_RUNS_KEY = "anzhi:route_runs"
MAP_HEIGHT_PX = 600
PROFILES: tuple[str, ...] = ("walk", "drive")
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
    """The population/household thresholds and reach limits each rule has, in rule order."""
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
    return out


# --------------------------------------------------------------------------------------
# Cached data: inputs → region → access
# --------------------------------------------------------------------------------------


@st.cache_data(show_spinner=False, max_entries=256)
def _sha256(path: str, size: int, mtime_ns: int) -> str:
    """sha256 of a file; cached per (path, size, mtime) so each file is hashed once."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def inputs_key(inputs: RegionInputs) -> tuple[Any, ...]:
    """Cache key of a region's inputs: every file's path and sha256, plus coords/crs."""
    paths = [inputs.sites, inputs.roads, *inputs.facilities]
    if inputs.dem is not None:
        paths.append(inputs.dem)
    files = []
    for p in paths:
        try:
            stat = Path(p).stat()
        except OSError as exc:
            raise DataSourceError(
                f"{p}: cannot be read ({exc.strerror or exc}); check the file is still there"
            ) from exc
        files.append((str(p), _sha256(str(p), stat.st_size, stat.st_mtime_ns)))
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


@st.cache_resource(show_spinner=False, max_entries=4)
def _read_townships(path: str, sha256: str) -> gpd.GeoDataFrame:
    """Township polygons for the map, once per file content (read-only result)."""
    return read_townships(path)


def region_townships(inputs: RegionInputs) -> gpd.GeoDataFrame | None:
    """The region's township polygons, or ``None`` when it has none."""
    path = inputs.townships
    if path is None or not Path(path).is_file():
        return None
    stat = path.stat()
    return _read_townships(str(path), _sha256(str(path), stat.st_size, stat.st_mtime_ns))


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
    return route_region(_data, profile=profile, facility_types=list(facility_types), progress=False)


# --------------------------------------------------------------------------------------
# Widgets
# --------------------------------------------------------------------------------------


def _clear_keys(prefixes: Sequence[str]) -> None:
    for k in list(st.session_state.keys()):
        if any(str(k).startswith(p) for p in prefixes):
            del st.session_state[k]


def language_switch() -> str:
    """中文/English radio in the sidebar; returns ``"zh"`` or ``"en"``."""
    return st.sidebar.radio(
        "语言 / Language",
        LANGS,
        format_func=lambda code: _LANG_NAMES[code],
        key="lang",
        horizontal=True,
    ) or "zh"


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
    return str(preset), str(profile)


def threshold_controls(ruleset: RuleSet, lang: str) -> dict[str, float]:
    """A number input per threshold; returns the overrides that differ from the preset."""
    overrides: dict[str, float] = {}
    with st.sidebar.expander(t("thresholds", lang), expanded=True):
        for thr in rule_thresholds(ruleset):
            rule = ruleset.get(thr.rule_id)
            text = f"{rule.label(lang)} · {t(thr.field, lang)}"
            help_ = f"{thr.rule_id}: {rule.source} {rule.clause} ({rule.grade})"
            if thr.integer:
                value = st.number_input(
                    text, min_value=0, value=int(thr.value), step=100, key=thr.widget_key,
                    help=help_,
                )
            else:
                step = 5.0 if thr.field == "max_time_min" else 100.0
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


def display_controls(lang: str) -> tuple[str | None, bool]:
    """Basemap choice and "show all checks"; returns ``(tiles, show_all)``."""
    basemap = st.sidebar.radio(
        t("basemap", lang),
        BASEMAPS,
        format_func=lambda b: t("basemap_none", lang) if b == "none" else t("basemap_osm", lang),
        key="basemap",
    )
    show_all = st.sidebar.checkbox(t("show_all_checks", lang), value=False, key="show_all")
    return (None if basemap == "none" else str(basemap)), bool(show_all)


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


def coverage_by_township(coverage: pd.DataFrame, lang: str, county: str, township: str) -> pd.DataFrame:
    """Township rows of the coverage table, shares in %, localised."""
    rows = coverage[coverage["level"].astype(str) == "township"]
    rows = _filter_rows(rows, county, township)
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


# --------------------------------------------------------------------------------------
# Page
# --------------------------------------------------------------------------------------


def page(lang: str) -> None:
    """Everything below the title; AnzhiErrors propagate to :func:`main`."""
    preset, profile = rule_controls(lang)

    st.sidebar.subheader(t("data", lang))
    st.sidebar.caption(t("demo_county", lang))
    is_demo = True  # uploads (a later issue) set this False: their roads are real OSM data
    with st.spinner(t("loading", lang)):
        inputs = demo_inputs()
        key = inputs_key(inputs)
        data = _load_region(key, inputs)
        townships = region_townships(inputs)

    base = read_rules(preset)
    overrides: dict[str, Any] = dict(threshold_controls(base, lang))
    county, township = area_filter(data.sites, lang)
    tiles, show_all = display_controls(lang)

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

    note = t("attr_synthetic" if is_demo else "attr_user", lang)
    fmap = build_map(
        sites,
        data.facilities,
        worst_status(gaps_f),
        lang=lang,
        tiles=tiles,
        townships=townships,
        gaps=gaps_f,
        attribution=note,
    )
    st_folium(
        fmap,
        key="map",
        returned_objects=[],  # nothing flows back: panning/zooming never reruns the script
        height=MAP_HEIGHT_PX,
        use_container_width=True,
    )
    st.caption(note)

    show_metrics(sites, gaps_f, lang)

    st.subheader(t("gap_table", lang))
    table = gap_table(gaps_f, lang, show_all=show_all)
    st.dataframe(table, hide_index=True)
    if table.empty:
        st.caption(t("no_rows", lang))

    st.subheader(t("coverage_table", lang))
    st.dataframe(coverage_by_township(coverage, lang, county, township), hide_index=True)


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
