"""The look of the printed map (专题图, :mod:`layers.printmap`): colours, road classes, words,
symbol sizes, the legend, the scale bar and north arrow, and the CJK font the Chinese labels
are set in.

matplotlib is imported only inside the functions that draw or look for fonts, so importing
this module does not load it.

The CJK font
------------
:func:`find_cjk_font` looks for a font with Chinese glyphs, in this order: a font the caller
names (a file, or a family matplotlib knows); the families of :data:`CJK_FAMILIES` that
matplotlib's font list holds; then the system's font files (``fc-list`` on Linux, the font
folders elsewhere) whose file names look like a CJK font (:data:`CJK_FILE_HINTS`: Noto Sans
CJK, Source Han Sans, WenQuanYi, SimHei, Microsoft YaHei, ...), each checked for the glyph
中 and added to matplotlib's font list of this process only (no cache is written).  When
none is found, :data:`FONT_PACKAGE_HINT` names what to install.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from anzhi.core.errors import DataSourceError
from anzhi.core.vocabulary import FACILITY_TYPES, label

__all__ = [
    "CJK_FAMILIES",
    "CJK_FILE_HINTS",
    "FONT_PACKAGE_HINT",
    "CjkFont",
    "FontMissingError",
    "find_cjk_font",
    "has_cjk",
    "STATUS_COLOURS",
    "NO_RULE",
    "STATUS_LEGEND_ORDER",
    "status_text",
    "FACILITY_COLOURS",
    "facility_colour",
    "RoadStyle",
    "ROAD_STYLES",
    "road_style",
    "STEEP_COLOUR",
    "STEEP_ALPHA",
    "TOWNSHIP_COLOUR",
    "words",
    "site_marker_pt",
    "legend_populations",
    "nice_length_m",
    "nice_number",
    "LegendItem",
    "legend_items",
    "Legend",
    "draw_scale_bar",
    "draw_north_arrow",
]

# ------------------------------------------------------------------------------- colours

#: Fill colour of a site by its status (the same colours as the app's map).
STATUS_COLOURS: Mapping[str, str] = MappingProxyType({
    "ok": "#1a9850",  # green
    "ok_shared": "#a6d96a",  # light green
    "gap_capacity": "#f46d43",  # orange-red
    "gap_missing": "#d73027",  # red
    "unroutable": "#7b3294",  # purple
    "none": "#969696",  # no rule applies (grey)
})

#: The status of a site no rule of the chosen type applies to.
NO_RULE = "none"

#: Statuses in the legend, worst first.
STATUS_LEGEND_ORDER: tuple[str, ...] = ("unroutable", "gap_missing", "gap_capacity",
                                        "ok_shared", "ok", NO_RULE)

_NO_RULE_TEXT = ("无适用规则", "No rule applies")


def status_text(status: str, lang: str) -> str:
    """The legend label of a status, as in ``gaps.xlsx`` (:data:`layers.export.STATUS_LABELS`)."""
    from layers.export import STATUS_LABELS

    pair = _NO_RULE_TEXT if status == NO_RULE else STATUS_LABELS.get(status, (status, status))
    return pair[0 if lang == "zh" else 1]


#: Marker colour per facility type, in vocabulary order (the app's first 15, then more).
FACILITY_COLOURS: Mapping[str, str] = MappingProxyType(dict(zip(
    FACILITY_TYPES,
    ["#e41a1c", "#a50f15", "#ff7f00", "#377eb8", "#08519c", "#4d4d4d", "#000000", "#984ea3",
     "#f781bf", "#4daf4a", "#a65628", "#1b9e77", "#e6ab02", "#66a61e", "#17becf",
     "#bc80bd", "#8dd3c7", "#fb8072", "#6a3d9a", "#b15928", "#33a02c", "#fdbf6f", "#e7298a",
     "#1f78b4"],
    strict=False)))


def facility_colour(facility_type: str) -> str:
    """Marker colour of a facility type (dark grey for types outside the vocabulary)."""
    return FACILITY_COLOURS.get(facility_type, "#404040")


#: Fill of land steeper than 25° (and its opacity) and the township outlines.
STEEP_COLOUR = "#bf812d"
STEEP_ALPHA = 0.3
TOWNSHIP_COLOUR = "#4d4d4d"

# --------------------------------------------------------------------------------- roads


@dataclass(frozen=True)
class RoadStyle:
    """How one group of highway classes is drawn.

    Attributes
    ----------
    group
        Group key (``major``, ``secondary``, ``tertiary``, ``minor``, ``track``, ``path``).
    colour
        Line colour.
    width_pt
        Line width, points.
    casing
        Colour of a wider line drawn under it (``None``: none).
    dashes
        Dash pattern in points (``None``: solid).
    zorder
        Drawing order among the roads (higher on top).
    zh, en
        Legend labels.
    """

    group: str
    colour: str
    width_pt: float
    casing: str | None
    dashes: tuple[float, float] | None
    zorder: float
    zh: str
    en: str


_STYLES: tuple[RoadStyle, ...] = (
    RoadStyle("major", "#e8633a", 2.2, "#7f2704", None, 2.6, "国道/干线公路", "Trunk / primary road"),
    RoadStyle("secondary", "#f6a04d", 1.8, "#8c4a0c", None, 2.5, "省道/二级公路", "Secondary road"),
    RoadStyle("tertiary", "#fdd56a", 1.4, "#7a6020", None, 2.4, "县乡道", "Tertiary road"),
    RoadStyle("minor", "#ffffff", 1.0, "#737373", None, 2.3, "村道/其他道路",
              "Minor / residential road"),
    RoadStyle("track", "#8c6d31", 0.7, None, (3.0, 1.5), 2.2, "机耕道", "Track"),
    RoadStyle("path", "#636363", 0.5, None, (1.0, 1.2), 2.1, "小路/步道", "Path / footway"),
)

#: Road styles by group, in legend order (largest roads first).
ROAD_STYLES: Mapping[str, RoadStyle] = MappingProxyType({s.group: s for s in _STYLES})

_GROUP_OF: dict[str, str] = {
    **dict.fromkeys(("motorway", "motorway_link", "trunk", "trunk_link", "primary",
                     "primary_link"), "major"),
    **dict.fromkeys(("secondary", "secondary_link"), "secondary"),
    **dict.fromkeys(("tertiary", "tertiary_link"), "tertiary"),
    **dict.fromkeys(("track",), "track"),
    **dict.fromkeys(("path", "footway", "steps", "bridleway", "cycleway", "pedestrian"),
                    "path"),
}


def road_style(highway: str) -> RoadStyle:
    """The style of an OSM ``highway`` class (anything unlisted is a minor road)."""
    return ROAD_STYLES[_GROUP_OF.get(str(highway), "minor")]


# --------------------------------------------------------------------------------- words

_WORDS: dict[str, tuple[str, str]] = {
    "title_all": ("{region}易地扶贫搬迁安置点公共服务设施缺口图",
                  "Public-facility gaps of relocation sites{region_en}"),
    "title_type": ("{region}安置点{type}缺口图", "{type} gaps of relocation sites{region_en}"),
    "subtitle_all": ("各安置点按所有规则中最差状态着色", "Sites coloured by their worst status over all rules"),
    "subtitle_type": ("按{type}规则的状态着色", "Sites coloured by the status of the {type} rules"),
    "legend_sites": ("安置点状态", "Site status"),
    "legend_size": ("安置人口(人)", "Population (people)"),
    "legend_facilities": ("公共服务设施", "Public facilities"),
    "legend_roads": ("道路", "Roads"),
    "legend_areas": ("面状要素", "Areas"),
    "steep": ("坡度 > 25° 区域", "Slope > 25°"),
    "townships": ("乡镇界", "Township boundary"),
    "township_selected": ("本乡镇界", "This township"),
    "north": ("北", "N"),
    "date": ("制图日期", "Made"),
    "rules": ("规则集", "Rule set"),
    "crs": ("坐标系", "CRS"),
    "n_sites": ("安置点 {n} 个", "{n} sites"),
    "township_view": ("{township}", "{township}"),
}


def words(key: str, lang: str, **fields: object) -> str:
    """A label of the map in ``lang`` (``zh`` or ``en``), with ``fields`` filled in."""
    text = _WORDS[key][0 if lang == "zh" else 1]
    return text.format(**fields) if fields else text


# ------------------------------------------------------------------------------- symbols

#: Marker radius (points) of the largest site and the floor of every site.
SITE_MAX_PT = 10.0
SITE_MIN_PT = 3.2


def site_marker_pt(population: float, max_population: float) -> float:
    """Marker radius in points: area proportional to population, at least :data:`SITE_MIN_PT`.

    NaN or non-positive populations get the minimum.
    """
    if not (population > 0) or not (max_population > 0):
        return SITE_MIN_PT
    r = SITE_MAX_PT * math.sqrt(min(population, max_population) / max_population)
    return max(SITE_MIN_PT, r)


def legend_populations(max_population: float) -> list[int]:
    """Up to three round populations for the size legend (the largest ≤ ``max_population``)."""
    if not (max_population > 0):
        return []
    top = nice_number(max_population)
    return sorted({int(v) for v in (top, nice_number(top / 4), nice_number(top / 16)) if v >= 1})


def nice_number(value: float) -> float:
    """The largest 1, 2 or 5 × 10^k not above ``value`` (``value`` > 0)."""
    k = math.floor(math.log10(value))
    for m in (5.0, 2.0, 1.0):
        if m * 10.0 ** k <= value:
            return m * 10.0 ** k
    return 10.0 ** k  # pragma: no cover - m = 1 always fits


def nice_length_m(width_m: float, *, share: float = 0.22) -> float:
    """A round scale-bar length (1, 2 or 5 × 10^k metres) of about ``share`` of ``width_m``."""
    return nice_number(max(width_m * share, 1.0))


# ---------------------------------------------------------------------- map furniture


def draw_scale_bar(ax: Any, extent: tuple[float, float, float, float], *,
                   height_pt: float) -> None:
    """A four-part black/white scale bar in the lower left of a map axes.

    Parameters
    ----------
    ax
        The map's matplotlib axes, in a projected CRS in metres.
    extent
        The axes' (left, bottom, right, top), metres.
    height_pt
        The axes' height on the page, points (sizes the bar and its labels).
    """
    from matplotlib.patches import Rectangle

    left, bottom, right, top = extent
    length = nice_length_m(right - left)
    m_per_pt = (top - bottom) / height_pt
    x0, y0, bar_h = left + 0.03 * (right - left), bottom + 0.035 * (top - bottom), 4.0 * m_per_pt
    ax.add_patch(Rectangle((x0 - 6 * m_per_pt, y0 - 14 * m_per_pt), length + 28 * m_per_pt,
                           bar_h + 26 * m_per_pt, facecolor="white", edgecolor="none",
                           alpha=0.8, zorder=10.0))
    for k in range(4):
        ax.add_patch(Rectangle((x0 + k * length / 4, y0), length / 4, bar_h, zorder=10.1,
                               facecolor="#1a1a1a" if k % 2 == 0 else "white",
                               edgecolor="#1a1a1a", linewidth=0.6))
    km = length >= 1000

    def fmt(v: float) -> str:
        return f"{v / 1000:g}" if km else f"{v:g}"

    for v in (0.0, length / 2, length):
        ax.text(x0 + v, y0 - 3 * m_per_pt, fmt(v), fontsize=7, ha="center", va="top",
                zorder=10.2)
    ax.text(x0 + length + 9 * m_per_pt, y0 - 3 * m_per_pt, "km" if km else "m", fontsize=7,
            ha="left", va="top", zorder=10.2)


def draw_north_arrow(ax: Any, crs: Any, extent: tuple[float, float, float, float], *,
                     lang: str) -> None:
    """A north arrow in the upper right of a map axes, turned to true north at the map's
    centre (grid north of a UTM zone differs from it by the meridian convergence).

    Parameters
    ----------
    ax
        The map's matplotlib axes.
    crs
        The map's projection (anything :class:`pyproj.CRS` accepts).
    extent
        The axes' (left, bottom, right, top) in ``crs``.
    lang
        Language of the letter (北 or N).
    """
    import pyproj

    left, bottom, right, top = extent
    cx, cy = (left + right) / 2, (bottom + top) / 2
    to_ll = pyproj.Transformer.from_crs(crs, 4326, always_xy=True)
    lon, lat = to_ll.transform(cx, cy)
    nx, ny = pyproj.Transformer.from_crs(4326, crs, always_xy=True).transform(lon, lat + 0.05)
    angle = math.atan2(nx - cx, ny - cy)  # clockwise from grid north, radians
    length_pt = 26.0
    dx, dy = length_pt * math.sin(angle), length_pt * math.cos(angle)
    base = (0.95, 0.87)
    ax.annotate("", xy=base, xycoords="axes fraction", xytext=(-dx, -dy),
                textcoords="offset points", zorder=10.0,
                arrowprops={"arrowstyle": "-|>,head_length=0.9,head_width=0.45",
                            "color": "#1a1a1a", "linewidth": 1.6, "shrinkA": 0, "shrinkB": 0})
    ax.annotate(words("north", lang), xy=base, xycoords="axes fraction",
                xytext=(dx * 0.3, dy * 0.3 + 9.0), textcoords="offset points", ha="center",
                va="center", fontsize=11, fontweight="bold", zorder=10.0)


# ---------------------------------------------------------------------------------- font

#: Font families with Chinese glyphs, best first.
CJK_FAMILIES: tuple[str, ...] = (
    "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Source Han Sans CN",
    "Noto Sans CJK JP", "Source Han Sans", "WenQuanYi Zen Hei", "WenQuanYi Micro Hei",
    "Microsoft YaHei", "SimHei", "PingFang SC", "Heiti SC", "STHeiti", "Hiragino Sans GB",
    "Noto Serif CJK SC", "Source Han Serif SC", "SimSun", "AR PL UMing CN", "AR PL UKai CN",
    "Droid Sans Fallback", "Arial Unicode MS",
)

#: Lower-case pieces of font file names that mark a CJK font.
CJK_FILE_HINTS: tuple[str, ...] = (
    "notosanscjk", "notoserifcjk", "notosanssc", "sourcehan", "wqy", "wenquanyi", "simhei",
    "msyh", "simsun", "pingfang", "hiragino", "stheiti", "droidsansfallback", "uming", "ukai",
    "arialuni", "cjk",
)

#: What to install when no CJK font is found.
FONT_PACKAGE_HINT = (
    "install a Chinese font, e.g. fonts-noto-cjk (Debian/Ubuntu: sudo apt-get install "
    "fonts-noto-cjk; Fedora: google-noto-sans-cjk-fonts; conda: font-ttf-noto-cjk), or "
    "fonts-wqy-zenhei; on Windows and macOS one (Microsoft YaHei, PingFang) comes with the "
    "system"
)

_CJK_RE = re.compile("[\u2e80-\u9fff\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef]")


class FontMissingError(DataSourceError):
    """No font with Chinese glyphs was found for the map's Chinese labels."""


@dataclass(frozen=True)
class CjkFont:
    """A font with Chinese glyphs, registered with matplotlib.

    Attributes
    ----------
    family
        The family name matplotlib knows it by (``font.sans-serif``).
    path
        The font file.
    """

    family: str
    path: Path


def has_cjk(text: str) -> bool:
    """``True`` when ``text`` holds a CJK character (one a Latin-only font cannot draw)."""
    return bool(_CJK_RE.search(text))


def _draws_chinese(path: str | Path) -> bool:
    from matplotlib.ft2font import FT2Font

    try:
        return bool(FT2Font(str(path)).get_char_index(ord("中")))
    except (OSError, RuntimeError, ValueError):
        return False


def _register(path: Path) -> CjkFont | None:
    """Add a font file to matplotlib's font list (this process only) when it draws 中."""
    from matplotlib import font_manager

    if not path.is_file() or not _draws_chinese(path):
        return None
    def faces() -> list[str]:
        return [f.name for f in font_manager.fontManager.ttflist if Path(f.fname) == path]

    names = faces()
    if not names:
        font_manager.fontManager.addfont(str(path))
        names = faces()
    if not names:
        return None
    # a collection (.ttc) holds several faces: a listed family first, else the shortest name
    # ("WenQuanYi Zen Hei" before "... Sharp" and "... Mono")
    listed = [n for n in CJK_FAMILIES if n in names]
    return CjkFont(listed[0] if listed else min(names, key=len), path)


def find_cjk_font(font: str | Path | None = None) -> CjkFont | None:
    """A font with Chinese glyphs, registered with matplotlib; ``None`` when there is none.

    Parameters
    ----------
    font
        A font file (``.ttf``, ``.otf``, ``.ttc``) or a family name to use first.

    Raises
    ------
    FontMissingError
        ``font`` was given but is neither a font file that draws Chinese nor a family
        matplotlib knows.
    """
    from matplotlib import font_manager

    if font is not None:
        found = _named_font(font)
        if found is None:
            raise FontMissingError(
                f"--font {font}: not a font file with Chinese glyphs nor a font family "
                "matplotlib knows; give the path of a .ttf/.otf/.ttc font (e.g. "
                "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc) or "
                f"{FONT_PACKAGE_HINT}")
        return found
    by_name = {f.name: Path(f.fname) for f in font_manager.fontManager.ttflist}
    for family in CJK_FAMILIES:
        if family in by_name and _draws_chinese(by_name[family]):
            return CjkFont(family, by_name[family])
    files = sorted(font_manager.findSystemFonts(), key=_hint_rank)
    for name in files:
        if _hint_rank(name) < len(CJK_FILE_HINTS):
            reg = _register(Path(name))
            if reg is not None:
                return reg
    return None


def _named_font(font: str | Path) -> CjkFont | None:
    from matplotlib import font_manager

    path = Path(font).expanduser()
    if path.suffix.lower() in (".ttf", ".otf", ".ttc"):
        return _register(path)
    for f in font_manager.fontManager.ttflist:
        if f.name.lower() == str(font).lower() and _draws_chinese(f.fname):
            return CjkFont(f.name, Path(f.fname))
    return None


def _hint_rank(path: str) -> int:
    """Position of the first :data:`CJK_FILE_HINTS` entry in the file name (len: none)."""
    stem = Path(path).name.lower().replace("-", "").replace("_", "").replace(" ", "")
    return next((i for i, h in enumerate(CJK_FILE_HINTS) if h in stem), len(CJK_FILE_HINTS))


# -------------------------------------------------------------------------------- legend


@dataclass(frozen=True)
class LegendItem:
    """One row of the legend.

    Attributes
    ----------
    kind
        ``header`` (a section title), ``marker`` (a point symbol), ``line`` (a road style),
        ``patch`` (an area) or ``sizes`` (the population circles side by side).
    text
        The label.
    colour, edge
        Fill (or line) and edge colours.
    marker
        matplotlib marker of a ``marker`` row.
    size_pt
        Marker diameter, points.
    road
        The road style of a ``line`` row.
    sizes
        ``(population, radius_pt)`` of the circles of a ``sizes`` row.
    linestyle, linewidth
        Edge of a ``patch`` row.
    alpha
        Opacity of a ``patch`` row (as on the map).
    """

    kind: str
    text: str = ""
    colour: str = "none"
    edge: str = "none"
    marker: str = "o"
    size_pt: float = 0.0
    road: RoadStyle | None = None
    sizes: tuple[tuple[int, float], ...] = ()
    linestyle: Any = "solid"
    linewidth: float = 0.0
    alpha: float = 1.0


def legend_items(
    lang: str,
    *,
    statuses: Sequence[str],
    max_population: float,
    facility_types: Sequence[str],
    road_groups: Sequence[str],
    steep: bool,
    townships: bool,
    township_selected: bool = False,
) -> list[LegendItem]:
    """The legend of a map: the statuses drawn (worst first), the population circles, the
    facility types, the road groups and the areas, each section under its header."""
    items: list[LegendItem] = []
    shown = [s for s in STATUS_LEGEND_ORDER if s in set(statuses)]
    if shown:
        items.append(LegendItem("header", words("legend_sites", lang)))
        items += [LegendItem("marker", status_text(s, lang), colour=STATUS_COLOURS[s],
                             edge="#252525", size_pt=9.0) for s in shown]
    pops = legend_populations(max_population)
    if pops:
        items.append(LegendItem("header", words("legend_size", lang)))
        items.append(LegendItem("sizes", sizes=tuple(
            (p, site_marker_pt(p, max_population)) for p in pops)))
    if facility_types:
        items.append(LegendItem("header", words("legend_facilities", lang)))
        items += [LegendItem("marker", label(t, lang) if t in FACILITY_TYPES else t,
                             colour=facility_colour(t), edge="white", marker="s", size_pt=5.5)
                  for t in facility_types]
    if road_groups:
        items.append(LegendItem("header", words("legend_roads", lang)))
        items += [LegendItem("line", ROAD_STYLES[g].zh if lang == "zh" else ROAD_STYLES[g].en,
                             road=ROAD_STYLES[g]) for g in ROAD_STYLES if g in set(road_groups)]
    areas = []
    if steep:
        areas.append(LegendItem("patch", words("steep", lang), colour=STEEP_COLOUR,
                                alpha=STEEP_ALPHA))
    if townships:
        areas.append(LegendItem("patch", words("townships", lang), edge=TOWNSHIP_COLOUR,
                                linestyle=(0, (5.0, 1.5, 1.0, 1.5)), linewidth=0.9))
    if township_selected:
        areas.append(LegendItem("patch", words("township_selected", lang), edge="#1a1a1a",
                                linewidth=2.0))
    if areas:
        items.append(LegendItem("header", words("legend_areas", lang)))
        items += areas
    return items


class Legend:
    """Draws :class:`LegendItem` rows top-down in an axes (its frame hidden).

    Rows are :data:`ROW_PT` points apart (headers more, the population row as tall as its
    largest circle); when they do not fit in ``height_pt`` every spacing and font shrinks
    by the same factor (down to 0.6).
    """

    ROW_PT = 12.5
    HEADER_PT = 17.0
    FONT_PT = 8.0

    def __init__(self, ax: Any, height_pt: float) -> None:
        self.ax = ax
        self.height_pt = height_pt

    def _height(self, item: LegendItem) -> float:
        if item.kind == "header":
            return self.HEADER_PT
        if item.kind == "sizes":
            return 2 * max(r for _, r in item.sizes) + 14.0
        return self.ROW_PT

    def draw(self, items: Sequence[LegendItem]) -> None:
        """Draw ``items``."""
        total = sum(self._height(i) for i in items)
        scale = min(1.0, max(0.6, (self.height_pt - 4.0) / total)) if total else 1.0
        y = 2.0
        for item in items:
            h = self._height(item) * (scale if item.kind != "sizes" else 1.0)
            self._row(item, 1.0 - (y + h / 2) / self.height_pt, scale)
            y += h

    def _row(self, item: LegendItem, y: float, scale: float) -> None:
        ax, font = self.ax, self.FONT_PT * max(scale, 0.8)
        kw: dict[str, Any] = {"transform": ax.transAxes, "clip_on": False}
        if item.kind == "header":
            ax.text(0.0, y, item.text, fontsize=font + 1.5, fontweight="bold", va="center", **kw)
        elif item.kind == "marker":
            ax.plot([0.06], [y], marker=item.marker, markersize=item.size_pt * max(scale, 0.8),
                    markerfacecolor=item.colour, markeredgecolor=item.edge,
                    markeredgewidth=0.6, linestyle="none", **kw)
        elif item.kind == "line" and item.road is not None:
            r = item.road
            if r.casing is not None:
                ax.plot([0.01, 0.11], [y, y], color=r.casing, linewidth=r.width_pt + 0.9,
                        solid_capstyle="butt", **kw)
            ax.plot([0.01, 0.11], [y, y], color=r.colour, linewidth=r.width_pt,
                    linestyle="solid" if r.dashes is None else (0, r.dashes),
                    solid_capstyle="butt", **kw)
        elif item.kind == "patch":
            from matplotlib.patches import Rectangle

            ax.add_patch(Rectangle((0.01, y - 0.009), 0.10, 0.018, facecolor=item.colour,
                                   edgecolor=item.edge, linewidth=item.linewidth,
                                   linestyle=item.linestyle,
                                   alpha=item.alpha, **kw))
        elif item.kind == "sizes":
            self._sizes(item, y, font, kw)
        if item.kind != "header" and item.text:
            ax.text(0.15, y, item.text, fontsize=font, va="center", **kw)

    def _sizes(self, item: LegendItem, y: float, font: float, kw: dict[str, Any]) -> None:
        """The population circles side by side, each with its number under it."""
        width_pt = self.ax.bbox.width * 72.0 / self.ax.figure.dpi
        x_pt = 6.0
        r_max = max(r for _, r in item.sizes)
        for pop, r in item.sizes:
            x_pt += r
            cx = x_pt / width_pt
            self.ax.plot([cx], [y + (r_max - r) / self.height_pt], marker="o",
                         markersize=2 * r, markerfacecolor="#d9d9d9", markeredgecolor="#252525",
                         markeredgewidth=0.6, linestyle="none", **kw)
            self.ax.text(cx, y - (r_max + 6.0) / self.height_pt, f"{pop:,}", fontsize=font - 0.5,
                         ha="center", va="center", **kw)
            x_pt += r + 22.0
