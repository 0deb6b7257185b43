"""The printed map (专题图): a static thematic map of one region's sites, as PNG or PDF.

Two steps, so that the command line and the app draw the same map:

1. :func:`map_frames` gathers what the map draws from a region's results: the sites with
   the status of each (the worst over the rules of one facility type, or over all rules),
   the facilities, the road lines (:func:`road_lines` of the road graph), the township
   outlines and the steep land (polygons, or better a slope GeoTIFF of the DEM under
   :func:`map_view`, drawn at the page's resolution), optionally one township only;
2. :func:`render_map` draws them with matplotlib (its Agg and PDF canvases, never pyplot,
   so no global figure state and no display) on an A4 landscape page: the map in a local
   UTM projection (metres, so the scale bar is true) with a scale bar and a north arrow
   pointing at true north, the legend beside it, the title, the rule set, the date and the
   coordinate system.  It returns the file's bytes and, given a path, writes them
   atomically (:func:`anzhi.core.files.atomic_write`).

Chinese labels
--------------
``lang="zh"`` needs a font with Chinese glyphs (:func:`layers.mapstyle.find_cjk_font`); when
none is found it raises :class:`layers.mapstyle.FontMissingError` naming the package to
install.  ``lang="auto"`` (the default) draws Chinese labels when such a font exists and
otherwise falls back to English labels with a warning (returned in
:attr:`PrintedMap.warnings`, which the caller shows): then Chinese names in the data
(townships, sites, the county) are left out, since a Latin font would draw them as empty
boxes.  ``lang="en"``
draws English labels, and Chinese names too when a CJK font exists.

matplotlib is imported inside the functions that draw: importing this module does not load it.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from analysis.gaps import worst_status
from analysis.rules import RuleSet
from anzhi.core.errors import InputError, Problem
from anzhi.core.files import atomic_write
from anzhi.core.vocabulary import FACILITY_TYPES, label, normalise_facility_type
from geo.crs import local_metric_crs
from geo.paths import road_lines
from layers.mapstyle import (FONT_PACKAGE_HINT, NO_RULE, ROAD_STYLES, STATUS_COLOURS,
                             STEEP_ALPHA, STEEP_COLOUR, TOWNSHIP_COLOUR, CjkFont, FontMissingError, Legend,
                             draw_north_arrow, draw_scale_bar, facility_colour, find_cjk_font,
                             has_cjk, legend_items, road_style, site_marker_pt, words)

__all__ = [
    "FORMATS",
    "PAGE_A4_LANDSCAPE_IN",
    "TOWNSHIP_COLUMNS",
    "MapFrames",
    "PrintedMap",
    "check_facility_type",
    "map_frames",
    "map_view",
    "render_map",
    "resolve_lang",
    "road_lines",
    "site_statuses",
    "township_column",
]


#: Output formats, by file suffix.
FORMATS: tuple[str, ...] = ("png", "pdf")
#: Page size (width, height) in inches: A4 landscape.
PAGE_A4_LANDSCAPE_IN: tuple[float, float] = (11.69, 8.27)
#: Columns of a township layer that may hold the township's name, first found used.
TOWNSHIP_COLUMNS: tuple[str, ...] = ("township", "乡镇", "乡镇名称", "name", "NAME", "名称")
#: Where the map and the legend sit on the page (left, bottom, width, height; page fractions).
MAP_RECT: tuple[float, float, float, float] = (0.025, 0.075, 0.715, 0.835)
LEGEND_RECT: tuple[float, float, float, float] = (0.755, 0.075, 0.225, 0.835)
#: Site names are written beside the sites when the map shows at most this many.
MAX_SITE_LABELS = 40
#: Steep land from a slope raster is resampled onto a grid of half the map frame's pixels
#: (a cell of 0.25 mm at 200 dpi, smoothed when drawn), at most this many cells a side.
MAX_STEEP_GRID_PX = 1200


@dataclass(frozen=True)
class MapFrames:
    """What the printed map draws.  Every frame may be in any CRS with a definition.

    Attributes
    ----------
    sites
        Site points (the sites contract of docs/schemas.md) with a ``status`` column (a gap
        status, or :data:`layers.mapstyle.NO_RULE`); ``population`` sizes the markers,
        ``site_name`` labels them on small maps.
    facilities
        Facility points with ``facility_type``.
    roads
        Road lines with ``highway`` (an OSM class), or ``None``.
    steep
        Polygons of land steeper than 25°, or ``None`` (e.g. the app's steep layer).
    townships
        Township polygons, the name in one of :data:`TOWNSHIP_COLUMNS`, or ``None``.
    region
        The region's name for the title (e.g. the county, 施甸县).
    facility_type
        The facility type the statuses are of; ``None``: the worst status over all rules.
    township
        The one township shown (its sites only, its outline highlighted), or ``None``.
    rules
        The rule set's label for the subtitle, e.g. ``"default 2024.3"``.
    note
        A line for the footer (e.g. that the data are synthetic).
    slope
        A slope GeoTIFF (degrees, any CRS, e.g. :func:`layers.terrain.write_slope` of the
        DEM under :func:`map_view`): land steeper than ``steep_deg`` is drawn from it at the
        page's resolution (instead of ``steep``).
    steep_deg
        The slope above which land is steep, degrees (default 25°, 退耕还林 and the Third
        National Land Survey's steepest class).
    """

    sites: gpd.GeoDataFrame
    facilities: gpd.GeoDataFrame
    roads: gpd.GeoDataFrame | None = None
    steep: gpd.GeoDataFrame | None = None
    townships: gpd.GeoDataFrame | None = None
    region: str = ""
    facility_type: str | None = None
    township: str | None = None
    rules: str = ""
    note: str = ""
    slope: Path | None = None
    steep_deg: float = 25.0


@dataclass(frozen=True)
class PrintedMap:
    """A rendered map.

    Attributes
    ----------
    data
        The file's bytes (PNG or PDF).
    path
        Where it was written, or ``None``.
    format
        ``"png"`` or ``"pdf"``.
    lang
        The language of the labels (``zh`` or ``en``).
    font
        The CJK font used, or ``None``.
    crs
        The map's projection, e.g. ``"EPSG:32647"`` (UTM, metres).
    extent_m
        The map's (left, bottom, right, top) in :attr:`crs`, metres.
    map_box_px
        The map frame in image pixels (left, top, right, bottom; origin top left) at the
        rendered dpi: a point's pixel is a linear function of its ``crs`` coordinates.
    size_px
        Image (width, height) in pixels at the rendered dpi.
    n_sites
        Sites drawn.
    warnings
        What a planner should know (e.g. labels fell back to English).
    """

    data: bytes
    path: Path | None
    format: str
    lang: str
    font: CjkFont | None
    crs: str
    extent_m: tuple[float, float, float, float]
    map_box_px: tuple[float, float, float, float]
    size_px: tuple[int, int]
    n_sites: int
    warnings: tuple[str, ...]


# ------------------------------------------------------------------------ frames


def site_statuses(sites: pd.DataFrame, gaps: pd.DataFrame, *,
                  facility_type: str | None = None) -> pd.Series:
    """The status of every site: the worst of its gap rows of ``facility_type`` (of all
    rules when ``None``; :func:`analysis.gaps.worst_status`), :data:`~layers.mapstyle.NO_RULE`
    where no such rule applies to the site.  Indexed like ``sites``."""
    rows = gaps if facility_type is None else gaps[gaps["facility_type"].astype(str)
                                                   == facility_type]
    worst = worst_status(rows, site_ids=sites["site_id"].astype(str))
    status = np.where(worst["n_rules"].to_numpy() > 0, worst["status"].to_numpy(dtype=object),
                      NO_RULE)
    return pd.Series(status, index=sites.index, name="status", dtype=object)


def check_facility_type(name: str, gaps: pd.DataFrame, *, rules: str = "") -> str:
    """The facility type key of ``name`` (a key, Chinese or English label, or alias), checked
    to be a type some rule of the run checks (a type in the gap list).

    Raises
    ------
    InputError
        ``name`` is no facility type, or no rule checks it; the message lists the types.
    """
    present = set(gaps["facility_type"].astype(str))
    ordered = [t for t in FACILITY_TYPES if t in present] + sorted(present - set(FACILITY_TYPES))
    choices = ", ".join(f"{t} ({label(t, 'zh')})" for t in ordered) or "none (no rule applies)"
    key = normalise_facility_type(name)
    if key is None:
        raise InputError(Problem(
            "--type: not a facility type", value=name,
            fix=f"give a type key or its Chinese name, one of: {choices}"))
    if key not in present:
        which = f"the rule set {rules}" if rules else "the rule set"
        raise InputError(Problem(
            f"--type: no rule of {which} checks {key} ({label(key, 'zh')})", value=name,
            fix=f"give a type the rules check, one of: {choices}; or leave --type out for "
                "the worst status over all rules"))
    return key


def township_column(townships: gpd.GeoDataFrame | None) -> str | None:
    """The name column of a township layer (:data:`TOWNSHIP_COLUMNS`), or ``None``."""
    if townships is None:
        return None
    return next((c for c in TOWNSHIP_COLUMNS if c in townships.columns), None)


def _township_sites(sites: gpd.GeoDataFrame, townships: gpd.GeoDataFrame | None,
                    township: str) -> gpd.GeoDataFrame:
    """The sites of one township: by the site table's ``township`` column, else inside its
    polygon.  Unknown townships raise :class:`InputError` listing the known ones."""
    col = township_column(townships)
    poly_names = ([] if townships is None or col is None
                  else [str(v) for v in townships[col].dropna()])
    site_names = ([str(v) for v in sites["township"].dropna()] if "township" in sites.columns
                  else [])
    known = list(dict.fromkeys(site_names + poly_names))
    if township not in known:
        names = ", ".join(known) or "(none: the site table has no township column)"
        raise InputError(Problem(
            "--township: no such township in the site table or the township layer",
            value=township, fix=f"give one of: {names}"))
    if township in site_names or townships is None or col is None:
        return sites[sites["township"].astype(str) == township]
    poly = townships[townships[col].astype(str) == township].to_crs(sites.crs).union_all()
    return sites[sites.geometry.within(poly)]


def map_frames(
    sites: gpd.GeoDataFrame,
    gaps: pd.DataFrame,
    facilities: gpd.GeoDataFrame,
    *,
    roads: gpd.GeoDataFrame | None = None,
    steep: gpd.GeoDataFrame | None = None,
    townships: gpd.GeoDataFrame | None = None,
    rules: RuleSet | None = None,
    facility_type: str | None = None,
    township: str | None = None,
    region: str = "",
    note: str = "",
    slope: Path | None = None,
) -> MapFrames:
    """What the map of a run draws (see :class:`MapFrames`).

    Parameters
    ----------
    sites, gaps, facilities
        The run's sites (EPSG:4326), gap list and facilities (``RegionResults``).
    roads, steep, townships
        Road lines (:func:`road_lines`), steep land polygons and township polygons.
    rules
        The run's rule set: its label goes in the subtitle, and with ``facility_type`` the
        types its rules accept instead (``also_types``) are drawn too.
    facility_type
        Colour sites by the rules of this type (key or label, checked with
        :func:`check_facility_type`); ``None``: the worst status over all rules.
    township
        Keep only this township's sites (:class:`InputError` for an unknown one).
    region, note
        Title and footer texts.
    slope
        A slope GeoTIFF to draw the steep land from (see :attr:`MapFrames.slope`).
    """
    rules_label = "" if rules is None else f"{rules.name} {rules.version}".strip()
    key = None if facility_type is None else check_facility_type(facility_type, gaps,
                                                                 rules=rules_label)
    shown = sites.assign(status=site_statuses(sites, gaps, facility_type=key))
    if township is not None:
        shown = _township_sites(shown, townships, township)
    fac = facilities
    if key is not None:
        types = {key} | {t for r in (rules or ()) if r.facility_type == key
                         for t in r.satisfied_by.also_types}
        fac = facilities[facilities["facility_type"].astype(str).isin(types)]
    return MapFrames(sites=shown, facilities=fac, roads=roads, steep=steep, townships=townships,
                     region=region, facility_type=key, township=township, rules=rules_label,
                     note=note, slope=slope)


# ------------------------------------------------------------------------ drawing


@dataclass(frozen=True)
class _Ctx:
    """What every drawing step needs: the language, whether Chinese can be drawn, the map CRS."""

    lang: str
    cjk: bool
    crs: pyproj.CRS

    def text(self, value: object) -> str:
        """``value`` as text, or ``""`` when it is Chinese and no CJK font is at hand."""
        s = "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)
        return s if self.cjk or not has_cjk(s) else ""


def resolve_lang(lang: str, font: str | Path | None = None
                 ) -> tuple[str, CjkFont | None, list[str]]:
    """The labels' language of a map, the CJK font and the warnings (see the module notes).

    Parameters
    ----------
    lang
        ``"auto"``, ``"zh"`` or ``"en"``.
    font
        A font file or family with Chinese glyphs (default: found on the system).

    Returns
    -------
    tuple
        ``("zh" or "en", the font or None, warnings)``.

    Raises
    ------
    layers.mapstyle.FontMissingError
        ``lang="zh"`` and no CJK font, or a ``font`` that is none.
    """
    if lang not in ("auto", "zh", "en"):
        raise InputError(Problem("language of the map", value=lang, fix="give auto, zh or en"))
    cjk = find_cjk_font(font)
    if cjk is not None:
        return ("zh" if lang == "auto" else lang), cjk, []
    if lang == "zh":
        raise FontMissingError(
            "no font with Chinese glyphs found for the map's Chinese labels (checked "
            f"matplotlib's fonts and the system's font files); {FONT_PACKAGE_HINT}; or use "
            "--lang en (English labels)")
    warn = [f"no font with Chinese glyphs found: the map's labels are in English and Chinese "
            f"names are left out; for Chinese labels {FONT_PACKAGE_HINT}"] if lang == "auto" else []
    return "en", None, warn


def _projected(frames: MapFrames) -> tuple[pyproj.CRS, dict[str, gpd.GeoDataFrame]]:
    """The map CRS (UTM of the shown area) and every non-empty frame projected to it."""
    layers: dict[str, gpd.GeoDataFrame | None] = {
        "sites": frames.sites, "facilities": frames.facilities, "roads": frames.roads,
        "steep": frames.steep, "townships": frames.townships}
    anchor = next((g for g in (frames.sites, frames.townships, frames.facilities)
                   if g is not None and len(g)), None)
    if anchor is None:
        raise InputError("nothing to map: no sites, township boundaries or facilities")
    wgs84 = pyproj.CRS.from_epsg(4326)
    left, bottom, right, top = _to_crs(anchor, wgs84, {}).total_bounds
    crs = local_metric_crs([left, right], [bottom, top])
    transformers: dict[str, pyproj.Transformer] = {}
    out = {}
    for name, gdf in layers.items():
        if gdf is None or not len(gdf):
            continue
        gdf = gdf[gdf.geometry.notna() & ~gdf.geometry.is_empty]
        out[name] = _to_crs(gdf, crs, transformers)
    return crs, out


def _to_crs(gdf: gpd.GeoDataFrame, crs: pyproj.CRS,
            transformers: dict[str, pyproj.Transformer]) -> gpd.GeoDataFrame:
    """``gdf.to_crs(crs)`` with one transformer per source CRS (building one is the slow
    part of ``to_crs``, and the map's layers mostly share EPSG:4326)."""
    if gdf.crs is None:
        raise InputError(Problem("a layer of the map has no CRS", fix="set its CRS first"))
    src = pyproj.CRS(gdf.crs)
    if src == crs:
        return gdf
    key = src.to_wkt()
    if key not in transformers:
        transformers[key] = pyproj.Transformer.from_crs(src, crs, always_xy=True)
    tr = transformers[key]
    geoms = shapely.transform(gdf.geometry.to_numpy(),
                              lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))
    return gdf.set_geometry(gpd.GeoSeries(geoms, index=gdf.index, crs=crs,
                                          name=gdf.geometry.name))


def _map_ratio(size_px: tuple[float, float]) -> float:
    """Width / height of the map frame on a page of ``size_px`` (any unit)."""
    return (MAP_RECT[2] * size_px[0]) / (MAP_RECT[3] * size_px[1])


def map_view(frames: MapFrames, *, page_in: tuple[float, float] = PAGE_A4_LANDSCAPE_IN
             ) -> tuple[str, tuple[float, float, float, float]]:
    """The projection of the map of ``frames`` (``"EPSG:326xx"``) and its (left, bottom,
    right, top) in it, metres, as :func:`render_map` draws it on a page of ``page_in``
    inches: the area a DEM window must cover for :attr:`MapFrames.slope`."""
    crs, proj = _projected(frames)
    return f"EPSG:{crs.to_epsg()}", _extent(frames, proj, _map_ratio(page_in))


def _extent(frames: MapFrames, proj: dict[str, gpd.GeoDataFrame],
            ratio: float) -> tuple[float, float, float, float]:
    """The map's (left, bottom, right, top), metres: the township shown, else the townships
    and sites (else sites and facilities), padded 4 % and widened to the frame's ``ratio``
    (width / height)."""
    boxes = []
    col = township_column(frames.townships)
    tw = proj.get("townships")
    if frames.township is not None and tw is not None and col is not None:
        one = tw[tw[col].astype(str) == frames.township]
        if len(one):
            boxes.append(one.total_bounds)
    if not boxes:
        boxes = [proj[k].total_bounds for k in ("townships", "sites") if k in proj]
        if not boxes and "facilities" in proj:
            boxes = [proj["facilities"].total_bounds]
    if frames.township is not None and "sites" in proj:
        boxes.append(proj["sites"].total_bounds)
    b = np.array(boxes, dtype=np.float64)
    left, bottom = np.nanmin(b[:, 0]), np.nanmin(b[:, 1])
    right, top = np.nanmax(b[:, 2]), np.nanmax(b[:, 3])
    w, h = max(right - left, 1000.0), max(top - bottom, 1000.0)
    cx, cy = (left + right) / 2, (bottom + top) / 2
    w, h = w * 1.08, h * 1.08
    if w / h < ratio:
        w = h * ratio
    else:
        h = w / ratio
    return (float(cx - w / 2), float(cy - h / 2), float(cx + w / 2), float(cy + h / 2))


def _polygon_path(geoms: Sequence[Any]) -> Any:
    """One matplotlib compound path of polygons (holes drawn as holes: rings oriented)."""
    from matplotlib.path import Path as MplPath

    verts: list[np.ndarray] = []
    codes: list[np.ndarray] = []
    for geom in shapely.orient_polygons(np.asarray(geoms, dtype=object)):
        parts = getattr(geom, "geoms", [geom])
        for poly in parts:
            if poly.geom_type != "Polygon" or poly.is_empty:
                continue
            for ring in (poly.exterior, *poly.interiors):
                xy = np.asarray(ring.coords, dtype=np.float64)
                c = np.full(len(xy), MplPath.LINETO, dtype=np.uint8)
                c[0], c[-1] = MplPath.MOVETO, MplPath.CLOSEPOLY
                verts.append(xy)
                codes.append(c)
    if not verts:
        return None
    return MplPath(np.concatenate(verts), np.concatenate(codes))


def _draw_steep_raster(ax: Any, ctx: _Ctx, frames: MapFrames,
                       extent: tuple[float, float, float, float], shape: tuple[int, int]) -> bool:
    """Land steeper than ``frames.steep_deg`` from ``frames.slope``, resampled (nearest)
    onto a ``shape`` (rows, columns) grid of the map's extent; ``False`` when none is steep."""
    import rasterio
    from affine import Affine
    from matplotlib.colors import to_rgba
    from rasterio.warp import Resampling, reproject

    from layers.terrain import open_slope

    h, w = shape
    left, bottom, right, top = extent
    grid = np.full((h, w), np.nan, dtype=np.float32)
    transform = Affine((right - left) / w, 0.0, left, 0.0, -(top - bottom) / h, top)
    with open_slope(frames.slope) as sr:  # type: ignore[arg-type]
        reproject(source=rasterio.band(sr.dataset, 1), destination=grid,
                  src_nodata=sr.dataset.nodata, dst_transform=transform,
                  dst_crs=ctx.crs.to_wkt(), dst_nodata=np.nan, resampling=Resampling.nearest)
    steep = grid > frames.steep_deg  # NaN (no slope) is never steep
    if not steep.any():
        return False
    rgba = np.zeros((h, w, 4), dtype=np.uint8)
    rgba[steep] = np.round(np.array(to_rgba(STEEP_COLOUR, STEEP_ALPHA)) * 255).astype(np.uint8)
    ax.imshow(rgba, extent=(left, right, bottom, top), origin="upper", interpolation="bilinear",
              aspect="auto", zorder=1.0)
    return True


def _draw_areas(ax: Any, ctx: _Ctx, frames: MapFrames, proj: dict[str, gpd.GeoDataFrame],
                extent: tuple[float, float, float, float], box_px: tuple[int, int]) -> bool:
    """Steep land (from the slope raster, else its polygons) and township outlines with
    their names; returns whether steep land was drawn."""
    from matplotlib import patheffects
    from matplotlib.patches import PathPatch

    steep = False
    if frames.slope is not None:
        scale = min(0.5, MAX_STEEP_GRID_PX / max(box_px))
        steep = _draw_steep_raster(ax, ctx, frames, extent,
                                   (max(int(box_px[1] * scale), 1), max(int(box_px[0] * scale), 1)))
    elif "steep" in proj:
        path = _polygon_path(proj["steep"].geometry.to_numpy())
        if path is not None:
            ax.add_artist(PathPatch(path, facecolor=STEEP_COLOUR, edgecolor="none",
                                    alpha=STEEP_ALPHA, zorder=1.0, linewidth=0))
            steep = True
    tw = proj.get("townships")
    if tw is None:
        return steep
    col = township_column(frames.townships)
    path = _polygon_path(tw.geometry.to_numpy())
    if path is not None:
        ax.add_artist(PathPatch(path, facecolor="none", edgecolor=TOWNSHIP_COLOUR, linewidth=0.9,
                               linestyle=(0, (5.0, 1.5, 1.0, 1.5)), zorder=3.0))
    if frames.township is not None and col is not None:
        one = tw[tw[col].astype(str) == frames.township]
        sel = _polygon_path(one.geometry.to_numpy()) if len(one) else None
        if sel is not None:
            ax.add_artist(PathPatch(sel, facecolor="none", edgecolor="#1a1a1a", linewidth=2.0,
                                   zorder=3.1))
    if col is None:
        return steep
    halo = [patheffects.withStroke(linewidth=2.5, foreground="white")]
    for name, point in zip(tw[col], tw.geometry.representative_point(), strict=True):
        text = ctx.text(name)
        if text:
            ax.text(point.x, point.y, text, fontsize=10, color="#3f3f3f", ha="center",
                    va="center", zorder=6.0, clip_on=True, path_effects=halo,
                    fontweight="bold", alpha=0.85)
    return steep


def _line_segments(geoms: Sequence[Any]) -> list[np.ndarray]:
    coords, which = shapely.get_coordinates(np.asarray(geoms, dtype=object), return_index=True)
    if not len(coords):
        return []
    cuts = np.flatnonzero(np.diff(which)) + 1
    return [seg for seg in np.split(coords, cuts) if len(seg) >= 2]


def _draw_roads(ax: Any, proj: dict[str, gpd.GeoDataFrame]) -> list[str]:
    """Roads by class group (casing under the larger ones); returns the groups drawn."""
    from matplotlib.collections import LineCollection

    roads = proj.get("roads")
    if roads is None:
        return []
    group = roads["highway"].astype(str).map(lambda h: road_style(h).group)
    drawn = []
    for key, style in ROAD_STYLES.items():
        segs = _line_segments(roads.geometry[group == key].to_numpy())
        if not segs:
            continue
        drawn.append(key)
        ls: Any = "solid" if style.dashes is None else (0, style.dashes)
        if style.casing is not None:
            ax.add_collection(LineCollection(segs, colors=style.casing, zorder=style.zorder - 0.5,
                                             linewidths=style.width_pt + 0.9,
                                             capstyle="round", joinstyle="round"))
        ax.add_collection(LineCollection(segs, colors=style.colour, linewidths=style.width_pt,
                                         linestyles=ls, zorder=style.zorder, capstyle="round",
                                         joinstyle="round"))
    return drawn


def _draw_points(ax: Any, ctx: _Ctx, proj: dict[str, gpd.GeoDataFrame]) -> tuple[list[str], float]:
    """Facilities (small squares by type) and sites (circles by status, area ∝ population);
    returns the facility types drawn and the largest population."""
    types: list[str] = []
    fac = proj.get("facilities")
    if fac is not None:
        ft = fac["facility_type"].astype(str)
        types = [t for t in FACILITY_TYPES if (ft == t).any()] + sorted(set(ft) - set(FACILITY_TYPES))
        ax.scatter(fac.geometry.x, fac.geometry.y, s=4.6 ** 2, marker="s",
                   c=[facility_colour(t) for t in ft], edgecolors="white", linewidths=0.5,
                   zorder=7.0)
    sites = proj.get("sites")
    if sites is None:
        return types, 0.0
    pop = pd.to_numeric(sites["population"], errors="coerce").to_numpy(dtype=np.float64) \
        if "population" in sites.columns else np.full(len(sites), np.nan)
    max_pop = float(np.nanmax(pop)) if np.isfinite(pop).any() else 0.0
    r = np.array([site_marker_pt(p, max_pop) for p in pop])
    order = np.argsort(-r, kind="stable")  # small sites on top of large ones
    colours = [STATUS_COLOURS.get(str(s), STATUS_COLOURS[NO_RULE]) for s in sites["status"]]
    x, y = sites.geometry.x.to_numpy(), sites.geometry.y.to_numpy()
    ax.scatter(x[order], y[order], s=(2 * r[order]) ** 2, c=[colours[i] for i in order],
               edgecolors="#252525", linewidths=0.7, zorder=8.0)
    if len(sites) <= MAX_SITE_LABELS:
        from matplotlib import patheffects

        names = sites["site_name"] if "site_name" in sites.columns else sites["site_id"]
        halo = [patheffects.withStroke(linewidth=2.0, foreground="white")]
        for xi, yi, ri, name, sid in zip(x, y, r, names, sites["site_id"], strict=True):
            ax.annotate(ctx.text(name) or str(sid), (xi, yi), xytext=(ri + 2.0, 0.0),
                        textcoords="offset points", fontsize=6.5, va="center", zorder=9.0,
                        annotation_clip=True, path_effects=halo)
    return types, max_pop


def _titles(fig: Any, ctx: _Ctx, frames: MapFrames, title: str | None, date: dt.date,
            n_sites: int) -> str:
    """Title, subtitle and footer; returns the title."""
    parts = [p for p in (ctx.text(frames.region), ctx.text(frames.township)) if p]
    region = ("" if ctx.lang == "zh" else ", ").join(parts)
    tlabel = None if frames.facility_type is None else label(frames.facility_type, ctx.lang)
    if title is None:
        key = "title_all" if tlabel is None else "title_type"
        title = words(key, ctx.lang, region=region, region_en=f" — {region}" if region else "",
                      type=tlabel or "")
    sub = words("subtitle_all" if tlabel is None else "subtitle_type", ctx.lang,
                type=tlabel if ctx.lang == "zh" or tlabel is None else tlabel.lower())
    if frames.rules:
        sub += f" · {words('rules', ctx.lang)} {frames.rules}"
    sub += " · " + words("n_sites", ctx.lang, n=n_sites)
    fig.text(0.5, 0.962, title, ha="center", va="center", fontsize=16, fontweight="bold")
    fig.text(0.5, 0.93, sub, ha="center", va="center", fontsize=9.5, color="#404040")
    crs_name = ctx.crs.name
    foot = (f"{words('date', ctx.lang)} {date.isoformat()} · {words('crs', ctx.lang)} "
            f"{crs_name} (EPSG:{ctx.crs.to_epsg()}) · Anzhi")
    fig.text(MAP_RECT[0], 0.04, foot, ha="left", va="center", fontsize=7.5, color="#404040")
    # a bilingual note ("中文 / English") keeps its English half without a CJK font
    note = ctx.text(frames.note) or ctx.text(frames.note.split(" / ")[-1])
    if note:
        fig.text(MAP_RECT[0], 0.018, note, ha="left", va="center", fontsize=7.5,
                 color="#a50f15")
    return title


def _rc(font: CjkFont | None, lang: str) -> dict[str, Any]:
    """matplotlib settings of the page: the CJK font first for Chinese labels, after DejaVu
    Sans for English ones (matplotlib falls back glyph by glyph along the list)."""
    sans = ["DejaVu Sans"] if font is None else (
        [font.family, "DejaVu Sans"] if lang == "zh" else ["DejaVu Sans", font.family])
    return {"font.family": "sans-serif", "font.sans-serif": sans, "axes.unicode_minus": False,
            "pdf.fonttype": 42, "svg.fonttype": "none"}


def _format(out: str | Path | None, fmt: str | None) -> str:
    if fmt is None:
        if out is None:
            return "png"
        fmt = Path(out).suffix.lower().lstrip(".")
    fmt = fmt.lower()
    if fmt not in FORMATS:
        where = f"{out}: " if out is not None else ""
        raise InputError(Problem(f"{where}the map is written as PNG or PDF", value=fmt,
                                 fix="give a file name ending in .png or .pdf, e.g. map.png"))
    return fmt


def render_map(
    frames: MapFrames,
    *,
    out: str | Path | None = None,
    fmt: str | None = None,
    lang: str = "auto",
    font: str | Path | None = None,
    title: str | None = None,
    date: dt.date | None = None,
    dpi: float = 200.0,
    page_in: tuple[float, float] = PAGE_A4_LANDSCAPE_IN,
) -> PrintedMap:
    """Draw the thematic map of ``frames`` as a PNG or PDF (A4 landscape by default).

    Parameters
    ----------
    frames
        What to draw (:func:`map_frames`).
    out
        File to write atomically; ``None`` writes nothing (the bytes are returned).
    fmt
        ``"png"`` or ``"pdf"``; default the suffix of ``out``, else PNG.
    lang
        ``"auto"`` (Chinese if a CJK font is found, else English with a warning), ``"zh"``
        (a CJK font required) or ``"en"``.
    font
        A font file or family with Chinese glyphs to use (default: found on the system).
    title
        The title (default: from the region, township and facility type).
    date
        The date printed in the footer (default today).
    dpi
        Resolution of a PNG (and of the layout of a PDF), dots per inch.
    page_in
        Page (width, height), inches.

    Raises
    ------
    InputError
        Bad format or language, or nothing to map.
    layers.mapstyle.FontMissingError
        ``lang="zh"`` (or a ``font`` given) and no such font.
    """
    kind = _format(out, fmt)
    lang, cjk, warns = resolve_lang(lang, font)
    crs, proj = _projected(frames)
    ctx = _Ctx(lang=lang, cjk=cjk is not None, crs=crs)
    w_px, h_px = round(page_in[0] * dpi), round(page_in[1] * dpi)
    # CJK fonts come in one weight: matplotlib would log "Failed to find font weight" for
    # every bold or normal text; the nearest weight it then uses is what we want
    font_log = logging.getLogger("matplotlib.font_manager")
    level = font_log.level
    font_log.setLevel(logging.ERROR)
    try:
        data, full_title, extent, n_sites = _draw(frames, ctx, proj, kind=kind, title=title,
                                                  date=date or dt.date.today(), dpi=dpi,
                                                  size_px=(w_px, h_px), font=cjk)
    finally:
        font_log.setLevel(level)
    def write(tmp: Path) -> None:
        tmp.write_bytes(data)

    path = None if out is None else atomic_write(out, write)
    x0, y0 = MAP_RECT[0] * w_px, (1 - MAP_RECT[1] - MAP_RECT[3]) * h_px
    return PrintedMap(
        data=data, path=path, format=kind, lang=lang, font=cjk, crs=f"EPSG:{crs.to_epsg()}",
        extent_m=extent, map_box_px=(x0, y0, x0 + MAP_RECT[2] * w_px, y0 + MAP_RECT[3] * h_px),
        size_px=(w_px, h_px), n_sites=n_sites, warnings=tuple(warns))


def _draw(frames: MapFrames, ctx: _Ctx, proj: dict[str, gpd.GeoDataFrame], *, kind: str,
          title: str | None, date: dt.date, dpi: float, size_px: tuple[int, int],
          font: CjkFont | None) -> tuple[bytes, str, tuple[float, float, float, float], int]:
    """The page drawn and saved: (bytes, title, extent, sites drawn)."""
    from matplotlib import rc_context
    from matplotlib.figure import Figure

    w_px, h_px = size_px
    with rc_context(cast(Any, _rc(font, ctx.lang))):  # the stubs list every rc key
        fig = Figure(figsize=(w_px / dpi, h_px / dpi), dpi=dpi)
        ax = fig.add_axes(MAP_RECT)
        box_h_in = MAP_RECT[3] * h_px / dpi
        extent = _extent(frames, proj, _map_ratio((w_px, h_px)))
        ax.set_xlim(extent[0], extent[2])
        ax.set_ylim(extent[1], extent[3])
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_facecolor("#fbfaf6")
        steep = _draw_areas(ax, ctx, frames, proj, extent,
                            (round(MAP_RECT[2] * w_px), round(MAP_RECT[3] * h_px)))
        groups = _draw_roads(ax, proj)
        types, max_pop = _draw_points(ax, ctx, proj)
        draw_scale_bar(ax, extent, height_pt=box_h_in * 72.0)
        draw_north_arrow(ax, ctx.crs, extent, lang=ctx.lang)
        lax = fig.add_axes(LEGEND_RECT)
        lax.set_axis_off()
        n_sites = len(proj["sites"]) if "sites" in proj else 0
        Legend(lax, LEGEND_RECT[3] * h_px / dpi * 72.0).draw(legend_items(
            ctx.lang, statuses=sorted(set(proj["sites"]["status"].astype(str))) if n_sites else [],
            max_population=max_pop, facility_types=types, road_groups=groups,
            steep=steep, townships="townships" in proj,
            township_selected=frames.township is not None and "townships" in proj))
        full_title = _titles(fig, ctx, frames, title, date, n_sites)
        buf = io.BytesIO()
        meta = {"Title": full_title, "Creator": "Anzhi"} if kind == "pdf" else {"Title": full_title}
        # PNG: zlib level 3 (level 6, the default, takes twice as long for 2 % less)
        extra: dict[str, Any] = {"pil_kwargs": {"compress_level": 3}} if kind == "png" else {}
        fig.savefig(buf, format=kind, dpi=dpi, metadata=meta, **extra)
    return buf.getvalue(), full_title, extent, n_sites
