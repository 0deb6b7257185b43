"""The planner's map: folium rendering of sites, facilities and township boundaries.

Pure rendering: :func:`build_map` takes the site and facility GeoDataFrames (EPSG:4326,
docs/schemas.md), each site's worst status and optionally the gap list, and returns a
:class:`folium.Map`.  It needs no Streamlit, so it is tested on its rendered HTML.

The map draws nothing from the internet by default (``tiles=None``): every marker is a
Leaflet vector (``L.circleMarker``) or a CSS ``L.divIcon`` (a coloured square per facility
type holding a Font Awesome glyph, still distinct by colour if the font is missing), and the
legend is plain HTML.  With ``assets_url`` the Leaflet, jQuery, Bootstrap, Font Awesome and
fullscreen libraries are linked from the app's own static folder
(:func:`anzhi.ui.webassets.localise_map`), so the map draws with no internet at all.  The
layers themselves are Anzhi's own Leaflet elements (:mod:`anzhi.ui.leaflet`); this module
decides what goes in them: colours, icons, tooltips, the legend and the drawing order.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
from folium.plugins import Fullscreen

from anzhi.core.vocabulary import FACILITY_TYPES, label
from anzhi.ui.i18n import STATUSES, status_label, t
from anzhi.ui.leaflet import (FACILITY_ICON_PX, Attribution, ImageLayer, Legend, Overlay, OverlayLayer,
                              PointLayer, RasterOverlay, point_collection, rasterise_overlay)
from anzhi.ui.webassets import localise_map

__all__ = [
    "STATUS_COLOURS",
    "SiteClasses",
    "NO_RULE_COLOUR",
    "FACILITY_COLOURS",
    "FACILITY_ICONS",
    "STEEP_COLOUR",
    "PARCEL_COLOUR",
    "SERVICE_AREA_COLOUR",
    "site_radius_px",
    "facility_colour",
    "build_map",
    "Overlay",
    "RasterOverlay",
    "prepare_overlay",
    "rasterise_overlay",
]

#: Fill colour of a site circle by its worst status.
STATUS_COLOURS: Mapping[str, str] = MappingProxyType(
    {
        "ok": "#1a9850",  # green
        "ok_shared": "#a6d96a",  # light green
        "gap_capacity": "#f46d43",  # orange-red
        "gap_missing": "#d73027",  # red
        "unroutable": "#7b3294",  # purple
    }
)

#: Colour of a site no rule applies to (no worst status).
NO_RULE_COLOUR = "#969696"

#: Marker colour per facility type (vocabulary order); unknown types are dark grey.
FACILITY_COLOURS: Mapping[str, str] = MappingProxyType(
    {
        "clinic": "#e41a1c",
        "township_health_centre": "#a50f15",
        "kindergarten": "#ff7f00",
        "primary_school": "#377eb8",
        "middle_school": "#08519c",
        "police_room": "#4d4d4d",
        "police_station": "#000000",
        "elderly_care": "#984ea3",
        "children_centre": "#f781bf",
        "community_service": "#4daf4a",
        "employment_station": "#a65628",
        "residents_committee": "#1b9e77",
        "civilisation_practice": "#e6ab02",
        "culture_sports": "#66a61e",
        "affordable_shop": "#17becf",
        "childcare": "#fdae6b",
        "village_committee": "#006d2c",
        "sub_district_office": "#54278f",
        "cemetery": "#737373",
        "assistance_workshop": "#8c6d31",
        "odd_job_market": "#d95f02",
        "training_base": "#7570b3",
        "micro_fire_station": "#ce1256",
        "bus_stop": "#2171b5",
    }
)

#: Font Awesome 6 (free, solid) glyph per facility type, drawn white on the type's colour.
FACILITY_ICONS: Mapping[str, str] = MappingProxyType(
    {
        "clinic": "house-medical",
        "township_health_centre": "hospital",
        "kindergarten": "baby",
        "primary_school": "school",
        "middle_school": "graduation-cap",
        "police_room": "shield-halved",
        "police_station": "building-shield",
        "elderly_care": "person-cane",
        "children_centre": "children",
        "community_service": "people-roof",
        "employment_station": "briefcase",
        "residents_committee": "landmark",
        "civilisation_practice": "flag",
        "culture_sports": "futbol",
        "affordable_shop": "store",
        "childcare": "baby-carriage",
        "village_committee": "people-group",
        "sub_district_office": "building-columns",
        "cemetery": "monument",
        "assistance_workshop": "handshake-angle",
        "odd_job_market": "person-digging",
        "training_base": "chalkboard-user",
        "micro_fire_station": "fire-extinguisher",
        "bus_stop": "bus",
    }
)
_DEFAULT_ICON = "location-dot"

#: Fill of land steeper than 25° and outline of out-migration parcels.
STEEP_COLOUR = "#8c510a"
PARCEL_COLOUR = "#35978f"
#: Legend swatch of the service areas (each area itself takes its facility type's colour).
SERVICE_AREA_COLOUR = "#bdbdbd"

_TOOLTIP_COLUMNS = ("site_id", "site_name", "township", "population")
_SITE_MIN_RADIUS_PX = 3.0
_SITE_MAX_RADIUS_PX = 20.0


_NUMBER_RE = re.compile(r"(-?\d+\.\d{%d})\d+")


def prepare_overlay(
    gdf: gpd.GeoDataFrame,
    *,
    tooltip_columns: Sequence[str] = (),
    precision: int = 5,
    simplify_m: float | None = None,
) -> Overlay:
    """Serialise polygons once for :func:`build_map` (``townships``, ``parcels``, ``steep``).

    Parameters
    ----------
    gdf
        Polygons in any CRS with a definition.
    tooltip_columns
        Candidate columns for the tooltip; the first present one is used.
    precision
        Decimals kept of each longitude/latitude (5 ≈ 1 m).
    simplify_m
        Optional simplification tolerance in metres (applied in a local metric CRS) for
        dense layers such as steep land, so the page stays light.
    """
    gdf = _check_crs(gdf, "overlay")
    field = next((c for c in tooltip_columns if c in gdf.columns), None)
    gdf = gdf[[c for c in [field] if c] + [gdf.geometry.name]]
    gdf = gdf[gdf.geometry.notna() & ~gdf.geometry.is_empty]
    if simplify_m and len(gdf):
        metric = gdf.estimate_utm_crs()
        geoms = gdf.geometry.to_crs(metric).simplify(simplify_m, preserve_topology=True).to_crs(4326)
        gdf = gdf.set_geometry(geoms)
        gdf = gdf[~gdf.geometry.is_empty]
    if field is not None:  # user text: escaped, Leaflet tooltips are HTML
        gdf = gdf.assign(**{field: gdf[field].astype(str).map(_esc)})
    text = gdf.to_json(drop_id=True, separators=(",", ":"))
    text = re.sub(_NUMBER_RE.pattern % precision, r"\1", text)
    return Overlay(geojson=text, n_features=len(gdf), tooltip_field=field)


def _as_overlay(
    layer: gpd.GeoDataFrame | Overlay, tooltip_columns: Sequence[str]
) -> Overlay:
    return layer if isinstance(layer, Overlay) else prepare_overlay(layer, tooltip_columns=tooltip_columns)


def site_radius_px(population: float, max_population: float) -> float:
    """Circle radius in screen pixels: area proportional to population (sqrt scale).

    The largest site gets 20 px; every site gets at least 3 px so it stays clickable.
    NaN or non-positive populations get the minimum.
    """
    if not (population > 0) or not (max_population > 0):
        return _SITE_MIN_RADIUS_PX
    r = _SITE_MAX_RADIUS_PX * math.sqrt(min(population, max_population) / max_population)
    return max(_SITE_MIN_RADIUS_PX, r)


def facility_colour(facility_type: str) -> str:
    """Marker colour of a facility type (dark grey for types outside the vocabulary)."""
    return FACILITY_COLOURS.get(facility_type, "#404040")


def _esc(text: object) -> str:
    """HTML-escape user text for a tooltip (folium puts tooltips in a JS template literal, so
    backticks, ``$`` and backslashes are escaped too)."""
    out = html.escape(str(text))
    return out.replace("\\", "&#92;").replace("`", "&#96;").replace("$", "&#36;")


def _fmt_int(value: object) -> str:
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "—"
    return "—" if math.isnan(v) else f"{v:,.0f}"


def _site_reasons(gaps: pd.DataFrame | None, lang: str) -> dict[str, list[str]]:
    """Reasons of every not-satisfied check, per site id."""
    if gaps is None or gaps.empty:
        return {}
    col = "reason_en" if lang == "en" and "reason_en" in gaps.columns else "reason"
    bad = gaps[~gaps["status"].isin(["ok", "ok_shared"])]
    out: dict[str, list[str]] = {}
    for sid, reason in zip(bad["site_id"].astype(str), bad[col].fillna("").astype(str), strict=True):
        if reason:
            out.setdefault(sid, []).append(reason)
    return out


def _site_tooltip(row: Mapping[str, object], status: str | None, reasons: list[str], lang: str,
                  status_text: str | None = None) -> str:
    name = _esc(row.get("site_name", ""))
    lines = [f"<b>{name}</b>"]
    town = str(row.get("township", "") or "")
    if town:
        lines.append(_esc(town))
    lines.append(f"{t('population', lang)}: {_fmt_int(row.get('population'))}")
    lines.append(
        f"{t('status', lang)}: "
        + _esc(status_text if status_text is not None
               else status_label(status, lang) if status else t("no_rule", lang))
    )
    if reasons:
        shown = reasons[:6]
        items = "".join(f"<li>{_esc(r)}</li>" for r in shown)
        more = f"<li>… (+{len(reasons) - len(shown)})</li>" if len(reasons) > len(shown) else ""
        lines.append(f"{t('reasons', lang)}:<ul style='margin:0;padding-left:1.2em'>{items}{more}</ul>")
    return "<div style='max-width:360px;white-space:normal'>" + "<br>".join(lines) + "</div>"


def _facility_icon_html(colour: str, icon: str = _DEFAULT_ICON) -> str:
    s = FACILITY_ICON_PX
    return (
        f"<div style='width:{s}px;height:{s}px;background:{colour};box-sizing:border-box;"
        "border:1.5px solid #ffffff;outline:1px solid #333333;border-radius:3px;"
        f"display:flex;align-items:center;justify-content:center;color:#ffffff;"
        f"font-size:{s - 7}px;line-height:1'><i class='fa-solid fa-{icon}'></i></div>"
    )


def _legend_html(lang: str, facility_types: list[str], *, steep: bool = False,
                 parcels: bool = False, service: bool = False,
                 classes: SiteClasses | None = None) -> str:
    def swatch(colour: str, text: str, *, round_: bool) -> str:
        radius = "50%" if round_ else "2px"
        return (
            "<div style='display:flex;align-items:center;gap:6px;margin:2px 0'>"
            f"<span style='display:inline-block;width:12px;height:12px;border-radius:{radius};"
            f"background:{colour};border:1px solid #333'></span>{html.escape(text)}</div>"
        )

    parts = [
        "<div style='background:rgba(255,255,255,0.92);padding:6px 8px;border-radius:4px;"
        "box-shadow:0 1px 4px rgba(0,0,0,0.3);font:12px/1.3 sans-serif;max-height:320px;"
        "overflow-y:auto'>",
        f"<b>{html.escape(t('legend_title', lang))}</b>",
    ]
    if classes is not None:
        parts.append(f"<div>{html.escape(classes.title)}</div>")
        parts += [swatch(colour, text, round_=True) for _, text, colour in classes.classes]
    else:
        parts += [swatch(STATUS_COLOURS[s], status_label(s, lang), round_=True) for s in STATUSES]
    parts.append(swatch(NO_RULE_COLOUR, t("no_rule", lang), round_=True))
    parts.append(f"<div style='color:#555;margin-bottom:4px'>{html.escape(t('legend_size', lang))}</div>")
    if steep or parcels or service:
        parts.append(f"<b>{html.escape(t('legend_land', lang))}</b>")
    if steep:
        parts.append(swatch(STEEP_COLOUR, t("steep_layer", lang), round_=False))
    if parcels:
        parts.append(swatch(PARCEL_COLOUR, t("parcels_layer", lang), round_=False))
    if service:
        parts.append(swatch(SERVICE_AREA_COLOUR, t("service_legend", lang), round_=False))
    if facility_types:
        parts.append(f"<b>{html.escape(t('legend_facilities', lang))}</b>")
        parts += [
            "<div style='display:flex;align-items:center;gap:6px;margin:2px 0'>"
            + _facility_icon_html(facility_colour(ft), FACILITY_ICONS.get(ft, _DEFAULT_ICON))
            + f"{html.escape(label(ft, lang))}</div>"
            for ft in facility_types
        ]
    parts.append("</div>")
    return "".join(parts)


def _worst_mapping(worst: pd.DataFrame | pd.Series | Mapping[str, str]) -> dict[str, str]:
    if isinstance(worst, pd.DataFrame):
        missing = {"site_id", "status"} - set(worst.columns)
        if missing:
            raise ValueError(f"worst status table lacks column(s) {sorted(missing)}; "
                             "pass analysis.gaps.worst_status(gaps)")
        pairs = zip(worst["site_id"], worst["status"], strict=True)
    else:
        pairs = dict(worst).items()  # type: ignore[assignment]
    return {str(k): str(v) for k, v in pairs if pd.notna(v)}


def _check_crs(gdf: gpd.GeoDataFrame, what: str) -> gpd.GeoDataFrame:
    if gdf.crs is None:
        raise ValueError(f"{what} has no CRS; build_map expects EPSG:4326 lon/lat")
    if gdf.crs.to_epsg() != 4326:
        return gdf.to_crs(4326)
    return gdf


def _located(gdf: gpd.GeoDataFrame) -> pd.Series:
    """Rows with a non-empty geometry."""
    geoms = gdf.geometry
    return geoms.notna() & ~geoms.is_empty


def _map_bounds(
    sites: gpd.GeoDataFrame, has_xy: pd.Series, facilities: gpd.GeoDataFrame
) -> tuple[float, float, float, float]:
    """(left, bottom, right, top) of the located sites, else of the facilities, else zeros."""
    if has_xy.any():
        minx, miny, maxx, maxy = sites[has_xy].total_bounds
    elif len(facilities):
        minx, miny, maxx, maxy = facilities.total_bounds
    else:
        minx = miny = maxx = maxy = 0.0
    return minx, miny, maxx, maxy


def _base_map(
    bounds: tuple[float, float, float, float], *, lang: str, tiles: str | None,
    attribution: str | None, height_px: int | None,
) -> folium.Map:
    """The map centred on ``bounds``, with its fullscreen button, basemap and attribution."""
    minx, miny, maxx, maxy = bounds
    kwargs: dict[str, Any] = {}
    if height_px is not None:
        kwargs["height"] = f"{int(height_px)}px"
    m = folium.Map(
        location=[(miny + maxy) / 2, (minx + maxx) / 2], zoom_start=10, tiles=None,
        control_scale=True, zoom_snap=0.25, zoom_delta=0.5, **kwargs,
    )
    Fullscreen(
        position="topleft",
        title=t("fullscreen", lang),
        title_cancel=t("fullscreen_exit", lang),
    ).add_to(m)
    if tiles and "{z}" in tiles:  # a URL template: Tianditu with its key, or local XYZ tiles
        tianditu = "tianditu.gov.cn" in tiles
        folium.TileLayer(tiles, name=t("basemap", lang), control=False,
                         attr="天地图 © 国家地理信息公共服务平台" if tianditu else t("basemap_local", lang),
                         subdomains="01234567" if tianditu else "abc", max_zoom=18).add_to(m)
    elif tiles:
        folium.TileLayer(tiles, name=t("basemap", lang), control=False).add_to(m)
    if attribution:
        m.add_child(Attribution(attribution))
    return m


@dataclass(frozen=True)
class _OverlayKind:
    """How one of the map's polygon overlays is drawn."""

    layer_label: str  # label key of the layer's name
    tooltip_columns: tuple[str, ...]
    style: Mapping[str, object]


#: The polygon overlays in drawing order: steep land, parcels, township outlines.
_OVERLAY_KINDS: Mapping[str, _OverlayKind] = MappingProxyType({
    "steep": _OverlayKind("steep_layer", (), {
        "stroke": False, "fillColor": STEEP_COLOUR, "fillOpacity": 0.3,
    }),
    "parcels": _OverlayKind("parcels_layer", ("name", "parcel_id", "名称", "地块编号"), {
        "color": PARCEL_COLOUR, "weight": 1.5, "fillColor": PARCEL_COLOUR, "fillOpacity": 0.15,
    }),
    "townships": _OverlayKind("townships_layer", ("township", "乡镇", "name", "名称", "township_name"), {
        "color": "#525252", "weight": 1.5, "dashArray": "6 4", "fill": False,
    }),
})


def _add_overlays(
    m: folium.Map, layers: Mapping[str, gpd.GeoDataFrame | Overlay | RasterOverlay | None], lang: str
) -> set[str]:
    """Draw the given :data:`_OVERLAY_KINDS` layers that have features (a
    :class:`RasterOverlay` as one image); the names drawn."""
    prepared = {name: layer if isinstance(layer, RasterOverlay)
                else _as_overlay(layer, _OVERLAY_KINDS[name].tooltip_columns)
                for name, layer in layers.items() if layer is not None}
    drawn: set[str] = set()
    for name, kind in _OVERLAY_KINDS.items():
        overlay = prepared.get(name)
        if isinstance(overlay, RasterOverlay) and overlay.n_pixels:
            opacity = kind.style.get("fillOpacity", 0.3)
            ImageLayer(overlay, name=t(kind.layer_label, lang),
                       opacity=float(opacity) if isinstance(opacity, (int, float)) else 0.3).add_to(m)
            drawn.add(name)
        elif isinstance(overlay, Overlay) and overlay.n_features:
            OverlayLayer(overlay, name=t(kind.layer_label, lang), style=kind.style).add_to(m)
            drawn.add(name)
    return drawn


def _add_facility_layers(m: folium.Map, facilities: gpd.GeoDataFrame, lang: str) -> list[str]:
    """One layer of CSS markers per facility type (vocabulary order, then others); the types
    present."""
    if not len(facilities):
        return []
    # plain arrays: a pandas comparison per vocabulary type cost ~20 ms of every rerun
    ftypes = facilities["facility_type"].astype(str).to_numpy(dtype=object)
    present = set(ftypes)
    order = [k for k in FACILITY_TYPES if k in present]
    order += sorted(present - set(order))
    located = _located(facilities).to_numpy()
    lon, lat = np.full(len(facilities), np.nan), np.full(len(facilities), np.nan)
    if located.any():  # x/y of the located only (an empty point has none)
        points = facilities.geometry[located]
        lon[located], lat[located] = points.x.to_numpy(), points.y.to_numpy()
    names = (facilities["name"].astype(str).to_numpy(dtype=object) if "name" in facilities
             else [""] * len(facilities))
    caps = (pd.to_numeric(facilities["capacity"], errors="coerce").to_numpy(dtype=float)
            if "capacity" in facilities else [math.nan] * len(facilities))
    cap_word = "容量" if lang == "zh" else "Capacity"
    rows_of: dict[str, list[int]] = {}
    for i, ft in enumerate(ftypes):
        if located[i]:
            rows_of.setdefault(ft, []).append(i)
    for ft in order:
        rows = rows_of.get(ft)
        if not rows:
            continue
        ft_label = _esc(label(ft, lang))
        tips = [
            f"<b>{_esc(names[i])}</b><br>{ft_label}"
            + (f"<br>{cap_word}: {_fmt_int(caps[i])}" if not math.isnan(caps[i]) else "")
            for i in rows
        ]
        PointLayer(
            point_collection(lon[rows].tolist(), lat[rows].tolist(), [{"tooltip": tip} for tip in tips]),
            name=f"{t('facilities_layer', lang)}: {label(ft, lang)}",
            icon_html=_facility_icon_html(facility_colour(ft), FACILITY_ICONS.get(ft, _DEFAULT_ICON)),
        ).add_to(m)
    return order


@dataclass(frozen=True)
class _SiteRows:
    """The located sites as plain lists (pandas per-status selections cost ~15 ms a rerun)."""

    records: list[dict[str, object]]  # the tooltip columns of each site
    site_id: list[str]
    pop: list[float]
    lon: list[float]
    lat: list[float]
    max_pop: float

    @classmethod
    def of(cls, sites: gpd.GeoDataFrame, has_xy: pd.Series) -> _SiteRows:
        keep = [i for i, ok in enumerate(has_xy.tolist()) if ok]
        every = (pd.to_numeric(sites["population"], errors="coerce").astype(float).tolist()
                 if "population" in sites else [math.nan] * len(sites))
        known = [p for p in every if not math.isnan(p)]
        cols = {c: sites[c].tolist() for c in _TOOLTIP_COLUMNS if c in sites.columns}
        points = sites.geometry.iloc[keep]
        return cls(records=[{c: v[i] for c, v in cols.items()} for i in keep],
                   site_id=[str(cols["site_id"][i]) for i in keep] if "site_id" in cols
                   else sites["site_id"].astype(str).iloc[keep].tolist(),
                   pop=[every[i] for i in keep],
                   lon=points.x.tolist() if keep else [], lat=points.y.tolist() if keep else [],
                   max_pop=max(known) if known else 0.0)


def _site_features(
    rows: _SiteRows, idx: list[int], status: str | None, colour: str,
    reasons: Mapping[str, list[str]], lang: str, status_text: str | None = None,
) -> dict[str, object]:
    """The sites ``idx`` of one status as GeoJSON points, big circles first (drawn below
    small)."""
    idx = sorted(idx, key=lambda i: -(0.0 if math.isnan(rows.pop[i]) else rows.pop[i]))  # stable
    props = [
        {
            "site_id": rows.site_id[i],
            "radius": round(site_radius_px(rows.pop[i], rows.max_pop), 2),
            "colour": colour,
            "tooltip": _site_tooltip(rows.records[i], status, reasons.get(rows.site_id[i], []), lang,
                                     status_text),
        }
        for i in idx
    ]
    return point_collection([rows.lon[i] for i in idx], [rows.lat[i] for i in idx], props)


@dataclass(frozen=True)
class SiteClasses:
    """Site colours other than the worst status (e.g. the change since a previous run).

    Attributes
    ----------
    of_site
        ``site_id → class key``; sites missing are drawn grey ("no applicable rule").
    classes
        ``(key, label, colour)`` in drawing order (last on top) and legend order.
    title
        Legend heading of the classes.
    """

    of_site: Mapping[str, str]
    classes: tuple[tuple[str, str, str], ...]
    title: str


def _add_class_layers(m: folium.Map, sites: gpd.GeoDataFrame, has_xy: pd.Series,
                      classes: SiteClasses, reasons: Mapping[str, list[str]], lang: str) -> None:
    """One layer of circles per class of :class:`SiteClasses` (circle area by population)."""
    rows = _SiteRows.of(sites, has_xy)
    class_of = [classes.of_site.get(sid) for sid in rows.site_id]
    for key, text, colour in [(None, t("no_rule", lang), NO_RULE_COLOUR), *classes.classes]:
        idx = [i for i, c in enumerate(class_of) if c == key]
        if idx:
            PointLayer(_site_features(rows, idx, None, colour, reasons, lang,
                                      None if key is None else text),
                       name=f"{t('sites_layer', lang)}: {text}").add_to(m)


def _add_site_layers(
    m: folium.Map, sites: gpd.GeoDataFrame, has_xy: pd.Series, worst: Mapping[str, str],
    reasons: Mapping[str, list[str]], lang: str,
) -> None:
    """One layer of circles per worst status of the located sites (``has_xy``), worse
    statuses drawn last (on top); circle area by population, the largest of all sites
    20 px."""
    rows = _SiteRows.of(sites, has_xy)
    status_of = [worst.get(sid) for sid in rows.site_id]
    others = sorted({s for s in status_of if s is not None} - set(STATUSES))
    for status in [None, *STATUSES, *others]:
        idx = [i for i, s in enumerate(status_of) if s == status]
        if not idx:
            continue
        name = status_label(status, lang) if status else t("no_rule", lang)
        colour = STATUS_COLOURS.get(status, NO_RULE_COLOUR) if status else NO_RULE_COLOUR
        PointLayer(
            _site_features(rows, idx, status, colour, reasons, lang),
            name=f"{t('sites_layer', lang)}: {name}",
        ).add_to(m)


def _recommended_icon_html(colour: str) -> str:
    """A star on the type's colour, round and ringed gold: a proposed, not an existing, one."""
    s = FACILITY_ICON_PX + 4
    return (
        f"<div class='anzhi-recommended' style='width:{s}px;height:{s}px;background:{colour};"
        "box-sizing:border-box;border:2px solid #ffd700;outline:1px solid #333333;"
        "border-radius:50%;display:flex;align-items:center;justify-content:center;"
        f"color:#ffffff;font-size:{s - 9}px;line-height:1'><i class='fa-solid fa-star'></i></div>"
    )


def _add_recommended(m: folium.Map, recommended: pd.DataFrame | None, links: pd.DataFrame | None,
                     lang: str) -> bool:
    """Recommended new facilities (stars) and dashed lines to the sites each newly covers,
    one layer; whether anything was drawn."""
    if recommended is None or not len(recommended):
        return False
    group = folium.FeatureGroup(name=t("recommended_layer", lang), show=True)
    if links is not None and len(links):
        lines = [[[float(a), float(b)], [float(c), float(d)]] for a, b, c, d in
                 zip(links["lat0"], links["lon0"], links["lat1"], links["lon1"], strict=True)]
        colours = [facility_colour(str(ft)) for ft in links["facility_type"]]
        for line, colour in zip(lines, colours, strict=True):
            folium.PolyLine(line, color=colour, weight=2, opacity=0.8, dash_array="5 5").add_to(group)
    group.add_to(m)
    for ft, rows in recommended.groupby(recommended["facility_type"].astype(str), sort=False):
        tips = [_esc(t("recommended_tip", lang).format(type=label(ft, lang), n=int(n),
                                                       pop=_fmt_int(p)))
                + f"<br>{_esc(str(cid))}"
                for n, p, cid in zip(rows["sites_covered"], rows["pop_covered_new"],
                                     rows["candidate_id"], strict=True)]
        PointLayer(
            point_collection(rows["lon"].astype(float), rows["lat"].astype(float),
                                [{"tooltip": tip} for tip in tips]),
            name=f"{t('recommended_layer', lang)}: {label(ft, lang)}",
            icon_html=_recommended_icon_html(facility_colour(ft)),
        ).add_to(m)
    return True


def _add_roads(m: folium.Map, roads: Mapping[str, tuple[Overlay, str, float]] | None,
               lang: str) -> None:
    """The road network as one toggleable layer per road group (``group → (overlay of its
    lines, colour, width in pt)``), minor groups first so major roads are drawn on top."""
    for group, (overlay, colour, width) in (roads or {}).items():
        if overlay.n_features:
            OverlayLayer(overlay, name=f"{t('roads_layer', lang)}: {t('road_' + group, lang)}",
                         style={"color": colour, "weight": max(1.0, 1.6 * float(width)),
                                "opacity": 0.85}).add_to(m)


def _add_routes(m: folium.Map, routes: gpd.GeoDataFrame | None, lang: str) -> None:
    """A site's routes to its nearest facility of each type, in the type's colour, with
    distance and time in the tooltip."""
    if routes is None or not len(routes):
        return
    group = folium.FeatureGroup(name=t("routes_layer", lang), show=True)
    for row in routes.itertuples(index=False):
        tip = t("route_tip", lang).format(type=label(str(row.facility_type), lang),
                                          km=float(row.dist_m) / 1000.0,
                                          min="–" if pd.isna(row.time_min) else f"{float(row.time_min):.0f}")
        coords = [[float(y), float(x)] for x, y in row.geometry.coords]
        folium.PolyLine(coords, color=facility_colour(str(row.facility_type)), weight=4,
                        opacity=0.9, tooltip=_esc(tip), class_name="anzhi-route").add_to(group)
    group.add_to(m)


def _add_service_areas(m: folium.Map, service_areas: gpd.GeoDataFrame | None, lang: str) -> bool:
    """One outlined, lightly filled layer per non-empty service area, in its type's colour;
    whether any was drawn."""
    if service_areas is None or not len(service_areas):
        return False
    drawn = False
    areas = _check_crs(service_areas, "service areas")
    for row in areas.itertuples(index=False):
        geom = getattr(row, areas.geometry.name)
        if geom is None or geom.is_empty:
            continue
        ft = str(row.facility_type)
        minutes = f"{float(row.minutes):g}"
        name = f"{t('service_layer', lang).format(minutes=minutes)}: {label(ft, lang)}"
        one = gpd.GeoDataFrame({"name": [name]}, geometry=[geom], crs=areas.crs)
        colour = facility_colour(ft)
        OverlayLayer(prepare_overlay(one, tooltip_columns=("name",)), name=name, style={
            "color": colour, "weight": 1.5, "fillColor": colour, "fillOpacity": 0.12,
        }).add_to(m)
        drawn = True
    return drawn


def build_map(
    sites: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    worst: pd.DataFrame | pd.Series | Mapping[str, str],
    *,
    lang: str = "zh",
    tiles: str | None = None,
    townships: gpd.GeoDataFrame | Overlay | None = None,
    gaps: pd.DataFrame | None = None,
    attribution: str | None = None,
    height_px: int | None = None,
    steep: gpd.GeoDataFrame | Overlay | RasterOverlay | None = None,
    parcels: gpd.GeoDataFrame | Overlay | None = None,
    service_areas: gpd.GeoDataFrame | None = None,
    assets_url: str | None = None,
    recommended: pd.DataFrame | None = None,
    links: pd.DataFrame | None = None,
    roads: Mapping[str, tuple[Overlay, str, float]] | None = None,
    routes: gpd.GeoDataFrame | None = None,
    site_classes: SiteClasses | None = None,
) -> folium.Map:
    """Build the folium map of one region.

    Parameters
    ----------
    sites
        Sites (docs/schemas.md), EPSG:4326 points; uses ``site_id``, ``site_name``,
        ``township``, ``population``.
    facilities
        Facilities, EPSG:4326 points; uses ``facility_type``, ``name``, ``capacity``.
    worst
        Worst status per site: the table of ``analysis.gaps.worst_status`` (columns
        ``site_id``, ``status``), or a mapping / Series ``site_id -> status``.  Sites missing
        here are drawn grey ("no applicable rule").
    lang
        ``"zh"`` or ``"en"`` for tooltips, layer names and the legend.
    tiles
        ``None`` (default): no basemap, nothing fetched from the internet.  Otherwise a folium
        tile name such as ``"OpenStreetMap"`` (needs internet; brings its own attribution), or
        an XYZ URL template with ``{z}/{x}/{y}``: Tianditu's with the user's key
        (``anzhi.ui.controls.TIANDITU_URL``), or the app's own ``/app/static/tiles/...``
        (offline tiles, ``anzhi.ui.controls.LOCAL_TILES_URL``).
    townships
        Optional township polygons (any CRS with a definition, or an :class:`Overlay` from
        :func:`prepare_overlay`) drawn as dashed outlines.
    gaps
        Optional gap list; the reasons of each site's unsatisfied checks go in its tooltip.
    attribution
        Extra text for the attribution control, e.g. the OSM/ODbL note or "synthetic data".
    height_px
        Map height in pixels (default: fill the container).
    steep
        Optional polygons of land steeper than 25° (any CRS with a definition), drawn as a
        brown overlay (layer "坡度 > 25°"); or an :class:`Overlay`, or a
        :class:`RasterOverlay` (:func:`rasterise_overlay`, one image: what the app draws).
    parcels
        Optional out-migration land parcels (any CRS), drawn as teal outlines; a ``name`` /
        ``parcel_id`` column, if any, becomes the tooltip; or an :class:`Overlay`.
    service_areas
        Optional road-network service areas, as :func:`geo.routing.service_areas` returns
        them (polygons in any CRS with a definition; columns ``facility_type`` and
        ``minutes``): one layer per row named "服务范围 (道路网 N 分钟): <type>" /
        "Service area (road network, N min): <type>", outlined and lightly filled in the
        type's marker colour.  Empty polygons are skipped.
    assets_url
        URL path of the app's copy of the browser libraries (``anzhi.ui.webassets.vendor_url()``,
        e.g. ``"/app/static/vendor"``).  ``None`` keeps folium's CDN links (for notebooks
        and standalone HTML that may go online).
    recommended, links
        Optional recommended new facilities (``siting.csv`` rows: ``facility_type``,
        ``candidate_id``, ``lon``, ``lat``, ``sites_covered``, ``pop_covered_new``) drawn as
        gold-ringed stars, and the lines to the sites each newly covers (``lon0``/``lat0`` →
        ``lon1``/``lat1``, :class:`layers.siting.SitingTables` ``links``).
    roads
        Optional road network, ``group → (Overlay, colour, width in pt)`` in drawing order
        (:func:`anzhi.mapdata.region_road_lines` split by ``group``), one layer per group.
    routes
        Optional routes of one site (:func:`anzhi.mapdata.site_routes`), drawn in each
        facility type's colour with distance and time.
    site_classes
        Optional colours of the sites other than their worst status (the change since a
        previous run, :class:`SiteClasses`); the legend follows.

    Returns
    -------
    folium.Map
        One layer per worst site status and one per facility type, each a single GeoJSON
        layer (features carry ``tooltip``; site features also ``site_id``, ``radius`` in px
        and fill ``colour``) drawn as ``L.circleMarker`` (sites, one per located site) or
        CSS ``L.divIcon`` markers (facilities); township outlines; optional steep land,
        parcels and service areas; a layer control, a scale bar, a fullscreen button, an
        HTML legend and the attribution line.
    """
    sites = _check_crs(sites, "sites")
    facilities = _check_crs(facilities, "facilities")
    worst_map = _worst_mapping(worst)
    has_xy = _located(sites)
    bounds = _map_bounds(sites, has_xy, facilities)
    m = _base_map(bounds, lang=lang, tiles=tiles, attribution=attribution, height_px=height_px)
    overlays = _add_overlays(m, {"steep": steep, "parcels": parcels, "townships": townships}, lang)
    _add_roads(m, roads, lang)
    _add_routes(m, routes, lang)
    present_types = _add_facility_layers(m, facilities, lang)
    if site_classes is not None:
        _add_class_layers(m, sites, has_xy, site_classes, _site_reasons(gaps, lang), lang)
    else:
        _add_site_layers(m, sites, has_xy, worst_map, _site_reasons(gaps, lang), lang)
    service_drawn = _add_service_areas(m, service_areas, lang)
    _add_recommended(m, recommended, links, lang)
    m.add_child(Legend(_legend_html(
        lang, present_types, steep="steep" in overlays, parcels="parcels" in overlays,
        service=service_drawn, classes=site_classes,
    )))
    folium.LayerControl(collapsed=True).add_to(m)
    minx, miny, maxx, maxy = bounds
    if has_xy.any() and (maxx > minx or maxy > miny):
        m.fit_bounds([[miny, minx], [maxy, maxx]], padding=(20, 20))
    if assets_url is not None:
        localise_map(m, base_url=assets_url)
    return m
