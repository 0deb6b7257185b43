"""The app's sidebar widgets: language, rules and thresholds, area and type filters, display
options and the upload panel's file pickers.

Each function draws its widgets with a stable session-state key (listed in ``app.py``) and
returns what was chosen; none reads files or caches anything (the page in ``app.py`` does).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Any

import pandas as pd
import streamlit as st

from analysis.rules import RuleSet, preset_names
from anzhi.core.vocabulary import FACILITY_TYPES, label
from anzhi.pipeline import TEMPLATE_NAMES, template_bytes
from anzhi.ui.i18n import LANGS, t
from anzhi.ui.thresholds import rule_thresholds, threshold_step
from anzhi.ui.uploads import UPLOAD_KINDS

__all__ = [
    "ALL",
    "BASEMAPS",
    "LOCAL_TILES_URL",
    "TIANDITU_URL",
    "COORDS_CHOICES",
    "DEFAULT_SERVICE_MIN",
    "LANG_DEPENDENT_KEYS",
    "LANG_NAMES",
    "PROFILES",
    "area_filter",
    "clear_keys",
    "display_controls",
    "keep_values_across_language",
    "language_switch",
    "rule_controls",
    "threshold_controls",
    "type_filter",
    "upload_widgets",
]

#: Minutes of the service areas of types whose rules set no time limit (the control's default).
DEFAULT_SERVICE_MIN = 15.0
COORDS_CHOICES: tuple[str, ...] = ("", "wgs84", "cgcs2000", "gcj02", "bd09")
PROFILES: tuple[str, ...] = ("walk", "drive", "motorbike")
BASEMAPS: tuple[str, ...] = ("none", "OpenStreetMap", "tianditu", "local")
#: Tianditu's vector tiles (Web Mercator; CGCS2000 ≈ WGS84 at map scale), with the user's key.
TIANDITU_URL = ("https://t{s}.tianditu.gov.cn/vec_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
                "&LAYER=vec&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}"
                "&TILECOL={x}&tk=")
#: Offline tiles: an XYZ folder put at static/tiles/{z}/{x}/{y}.png, served by the app itself.
LOCAL_TILES_URL = "/app/static/tiles/{z}/{x}/{y}.png"
ALL = ""  # filter value meaning "all counties / townships"
LANG_NAMES: Mapping[str, str] = MappingProxyType({"zh": "中文", "en": "English"})

#: Widgets whose option labels are translated (``format_func`` depends on the language).
LANG_DEPENDENT_KEYS: tuple[str, ...] = (
    "profile", "data_source", "basemap", "filter:county", "filter:township", "show_types",
    "gap:status", "up:coords",
)


def clear_keys(prefixes: Sequence[str]) -> None:
    """Drop the session-state values whose keys start with one of ``prefixes``."""
    for k in list(st.session_state.keys()):
        if any(str(k).startswith(p) for p in prefixes):
            del st.session_state[k]


def keep_values_across_language() -> None:
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
        format_func=lambda code: LANG_NAMES[code],
        key="lang",
        horizontal=True,
        on_change=keep_values_across_language,
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
        on_change=clear_keys,
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
                step = threshold_step(thr.field, float(thr.value))
                value = st.number_input(
                    text, min_value=step / 10, value=float(thr.value), step=step,
                    key=thr.widget_key, help=help_,
                )
            if value is not None and value != thr.value:
                overrides[thr.override_key] = value
    return overrides


def _area_select(level: str, values: Iterable[str], lang: str, **kwargs: Any) -> str:
    """A county or township selector (``level``) over the distinct non-empty ``values``,
    ``ALL`` first; none when there are no values."""
    options = sorted({v for v in values if v})
    if not options:
        return ALL
    chosen = st.sidebar.selectbox(
        t(level, lang),
        [ALL, *options],
        format_func=lambda x: x or t("all", lang),
        key=f"filter:{level}",
        **kwargs,
    )
    return str(chosen or ALL)


def area_filter(sites: pd.DataFrame, lang: str) -> tuple[str, str]:
    """County and township selectors over a site table; returns ``(county, township)``
    (``""`` = all)."""
    st.sidebar.subheader(t("filter", lang))
    county = _area_select("county", sites["county"].astype(str), lang,
                          on_change=clear_keys, args=(("filter:township",),))
    in_county = sites if not county else sites[sites["county"].astype(str) == county]
    township = _area_select("township", in_county["township"].astype(str), lang)
    return county, township


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
        format_func=lambda b: t({"none": "basemap_none", "OpenStreetMap": "basemap_osm",
                                 "tianditu": "basemap_tianditu", "local": "basemap_local"}[b], lang),
        key="basemap",
    )
    tiles: str | None = str(basemap) if basemap == "OpenStreetMap" else None
    if basemap == "tianditu":
        key = st.sidebar.text_input(t("tianditu_key", lang), key="basemap:tk", type="password",
                                    help=t("tianditu_help", lang)).strip()
        tiles = TIANDITU_URL + key if key else None
    elif basemap == "local":
        st.sidebar.caption(t("local_tiles_help", lang))
        tiles = LOCAL_TILES_URL
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
    return tiles, service_min, bool(show_steep), bool(show_all)


def upload_widgets(lang: str) -> tuple[dict[str, Any], str, str]:
    """The upload panel: one file uploader per :data:`anzhi.ui.uploads.UPLOAD_KINDS` (with its
    limits), the site table's coordinate system and an optional EPSG code; returns
    ``({kind: uploaded file(s) or None}, coords, crs)``."""
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
        template_buttons(lang)
    return files, str(coords or ""), crs


@st.cache_data(show_spinner=False)
def _template(kind: str) -> bytes:
    return template_bytes(kind)  # type: ignore[arg-type]


def template_buttons(lang: str) -> None:
    """Download buttons for the blank site and facility tables (安置点模板 / 设施模板)."""
    st.caption(t("templates_caption", lang))
    cols = st.columns(len(TEMPLATE_NAMES))
    for col, (kind, name) in zip(cols, TEMPLATE_NAMES.items()):
        col.download_button(
            t(f"template_{kind}", lang), _template(kind), file_name=name,
            mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            key=f"template:{kind}",
        )
