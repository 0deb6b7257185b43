"""Anzhi's own Leaflet elements for folium maps: legend, attribution, point, polygon and image
layers.

Each renders its ``script`` macro straight into the page (:class:`RawScriptMixin`) instead of
through branca's per-render Jinja compilation of the script text, which cost seconds for
megabytes of GeoJSON on every rerun and would evaluate ``{{ }}`` in user text.  The points
and polygons travel as GeoJSON, so a layer of hundreds of features is one template render.
:class:`RasterOverlay` draws a dense polygon layer (land > 25°) as one PNG image instead.
:mod:`anzhi.ui.mapping` builds the map from them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from branca.element import Element, Figure, MacroElement
from folium.elements import ElementAddToElement
from folium.map import Layer
from folium.template import Template

from anzhi.core.errors import InputError

__all__ = [
    "FACILITY_ICON_PX",
    "Attribution",
    "ImageLayer",
    "Legend",
    "Overlay",
    "OverlayLayer",
    "PointLayer",
    "point_collection",
    "RasterOverlay",
    "RawScriptMixin",
    "RawText",
    "TextElement",
    "rasterise_overlay",
    "script_macro",
]

#: Side of a facility marker's square, in screen pixels.
FACILITY_ICON_PX = 14
#: Radius of the Web-Mercator sphere (EPSG:3857), metres.
_MERCATOR_R_M = 6378137.0


class RawText(Element):
    """Script text added to the page as it is."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def render(self, **kwargs: object) -> str:
        return self.text


class RawScriptMixin(MacroElement):
    """Render an element's ``script`` macro straight into the page.

    branca wraps every rendered script in ``Element(text)``, which compiles the text as a
    Jinja template: seconds for megabytes of GeoJSON on every rerun, and ``{{ }}`` or
    ``{% %}`` in a user's site name would be evaluated (or crash the page).  Anzhi's own
    elements bypass that; for layers the "add to map" step of :class:`folium.map.Layer` is
    kept.  Listed before ``MacroElement`` or ``Layer`` in a subclass's bases.
    """

    # Like MacroElement.render it returns None; branca annotates Element.render -> str.
    def render(self, **kwargs: Any) -> None:  # type: ignore[override]
        if isinstance(self, Layer) and self.show:
            parent = self._parent
            assert parent is not None, "a layer is rendered as a child of its map"
            self.add_child(
                _AddTo(element_name=self.get_name(), element_parent_name=parent.get_name()),
                name=self.get_name() + "_add",
            )
        figure = self.get_root()
        assert isinstance(figure, Figure), "You cannot render this Element if it is not in a Figure."
        script = self._template.module.__dict__["script"]
        figure.script.add_child(RawText(str(script(self, kwargs))), name=self.get_name())
        for child in self._children.values():
            child.render(**kwargs)


class _AddTo(RawScriptMixin, ElementAddToElement):
    """folium's "add this layer to its map" line, rendered raw too (branca would compile the
    line as a Jinja template once per layer on every rerun)."""


def script_macro(body: str) -> Template:
    """A template whose ``script`` macro (what :class:`RawScriptMixin` renders) is ``body``;
    ``this`` in it is the element."""
    return Template("{% macro script(this, kwargs) %}" + body + "{% endmacro %}")


class TextElement(RawScriptMixin, MacroElement):
    """An element whose script shows one piece of text, ``this.text`` (subclasses give the
    ``_template`` and the element name)."""

    _element_name = "AnzhiText"

    def __init__(self, text: str) -> None:
        super().__init__()
        self._name = self._element_name
        self.text = text


class Legend(TextElement):
    """A Leaflet control holding static HTML (bottom right)."""

    _element_name = "AnzhiLegend"
    _template = script_macro("""
            var {{ this.get_name() }} = L.control({position: "bottomright"});
            {{ this.get_name() }}.onAdd = function (map) {
                var div = L.DomUtil.create("div", "anzhi-legend");
                div.innerHTML = {{ this.text|tojson }};
                L.DomEvent.disableClickPropagation(div);
                return div;
            };
            {{ this.get_name() }}.addTo({{ this._parent.get_name() }});
        """)


class Attribution(TextElement):
    """Adds a line to Leaflet's attribution control (bottom right)."""

    _element_name = "AnzhiAttribution"
    _template = script_macro("""
            {{ this._parent.get_name() }}.attributionControl.addAttribution({{ this.text|tojson }});
        """)


def point_collection(
    lon: Sequence[float], lat: Sequence[float], props: Sequence[dict[str, object]]
) -> dict[str, object]:
    """Points (lon/lat degrees, EPSG:4326, 7 decimals) with their properties as a GeoJSON
    FeatureCollection, the data of a :class:`PointLayer`."""
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [round(float(x), 7), round(float(y), 7)]},
                "properties": p,
            }
            for x, y, p in zip(lon, lat, props, strict=True)
        ],
    }


class PointLayer(RawScriptMixin, Layer):
    """Many points as one Leaflet GeoJSON layer (one template render for the whole layer).

    Folium renders a Jinja template per marker and per tooltip, which costs about a
    millisecond each; a county's few hundred facilities then take seconds on every rerun.
    Here the points travel as GeoJSON (properties ``tooltip`` and, for circles, ``radius``
    and ``colour``) and ``pointToLayer`` builds ``L.circleMarker`` or ``L.marker`` with a CSS
    ``L.divIcon`` in the browser.
    """

    _template = script_macro("""
            var {{ this.get_name() }}_data = {{ this.data_json }};
            {%- if not this.icon_html %}
            // site circles get their own pane above the facility markers (600), below
            // tooltips (650), so every site's status colour stays visible
            if (!{{ this._parent.get_name() }}.getPane("anzhiSites")) {
                {{ this._parent.get_name() }}.createPane("anzhiSites").style.zIndex = 640;
            }
            {%- endif %}
            {%- if this.icon_html %}
            var {{ this.get_name() }}_icon = L.divIcon({
                html: {{ this.icon_html|tojson }},
                iconSize: [{{ this.icon_px }}, {{ this.icon_px }}],
                iconAnchor: [{{ this.icon_px // 2 }}, {{ this.icon_px // 2 }}],
                className: "anzhi-facility"
            });
            {%- endif %}
            var {{ this.get_name() }} = L.geoJson({{ this.get_name() }}_data, {
                pointToLayer: function (feature, latlng) {
                    var p = feature.properties;
                    {%- if this.icon_html %}
                    var layer = L.marker(latlng, {icon: {{ this.get_name() }}_icon});
                    {%- else %}
                    var layer = L.circleMarker(latlng, {
                        radius: p.radius, color: "#252525", weight: 1, className: "anzhi-site",
                        pane: "anzhiSites",
                        fill: true, fillColor: p.colour, fillOpacity: 0.85
                    });
                    {%- endif %}
                    layer.bindTooltip(p.tooltip, {sticky: true});
                    return layer;
                }
            });
        """)

    def __init__(
        self,
        data: dict[str, object],
        *,
        name: str,
        icon_html: str | None = None,
        icon_px: int = FACILITY_ICON_PX,
        show: bool = True,
    ) -> None:
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "AnzhiPoints"
        self.data = data
        # serialised once (each rerun renders the script twice: the page, then st_folium),
        # HTML-safe as Jinja's ``tojson`` is
        self.data_json = _html_safe_json(data)
        self.icon_html = icon_html
        self.icon_px = int(icon_px)


def _html_safe_json(value: object) -> str:
    """JSON text safe inside a ``<script>`` element (``<``, ``>``, ``&``, ``'`` escaped, as
    Jinja's ``tojson`` filter does, and the line separators U+2028/U+2029); other non-ASCII
    text stays as it is (half the size of ``\\uXXXX`` escapes)."""
    import json

    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("'", "\\u0027").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


@dataclass(frozen=True)
class Overlay:
    """Polygons ready for the map: compact GeoJSON text in EPSG:4326.

    Made once per input file by :func:`prepare_overlay` (the app caches it), so that a
    rerun only pastes the text into the page instead of serialising thousands of
    polygons again.

    Attributes
    ----------
    geojson
        A GeoJSON FeatureCollection (coordinates cut to ``precision`` decimals).
    n_features
        Number of features.
    tooltip_field
        Property shown as the tooltip, if any.
    """

    geojson: str
    n_features: int
    tooltip_field: str | None = None


class OverlayLayer(RawScriptMixin, Layer):
    """An :class:`Overlay` as one Leaflet GeoJSON layer with a fixed style."""

    _template = script_macro("""
            var {{ this.get_name() }} = L.geoJson({{ this.overlay_data.geojson }}, {
                style: function (feature) { return {{ this.style|tojson }}; }
                {%- if not this.overlay_data.tooltip_field %}, interactive: false{% endif %}
            });
            {%- if this.overlay_data.tooltip_field %}
            {{ this.get_name() }}.bindTooltip(function (layer) {
                return String(layer.feature.properties[{{ this.overlay_data.tooltip_field|tojson }}]);
            }, {sticky: true});
            {%- endif %}
        """)

    def __init__(self, overlay: Overlay, *, name: str, style: Mapping[str, object],
                 show: bool = True) -> None:
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "AnzhiOverlay"
        # Not ``self.overlay``: folium's Layer keeps its overlay-or-base-layer flag there.
        self.overlay_data = overlay
        self.style = dict(style)


@dataclass(frozen=True)
class RasterOverlay:
    """A polygon layer rasterised once into a transparent PNG (a ``data:`` URL) for the map.

    Dense layers such as land steeper than 25° (thousands of pixel-edged polygons, about a
    megabyte of GeoJSON for a county) travel as one small image instead: the page a rerun
    sends shrinks tenfold and the browser draws one ``L.imageOverlay``.  Made by
    :func:`rasterise_overlay` (the app caches it per DEM).

    Attributes
    ----------
    url
        ``data:image/png;base64,...``: one-bit palette PNG, the polygons in ``colour`` and
        everything else transparent, on a Web-Mercator (EPSG:3857) grid so that Leaflet's
        linear stretch of the image between its corners puts each pixel in place.
    bounds
        ``(left, bottom, right, top)`` of the image in lon/lat degrees (EPSG:4326).
    n_pixels
        Pixels inside the polygons (0: nothing to draw).
    pixel_m
        Ground size of a pixel at the layer's mean latitude (metres).
    """

    url: str
    bounds: tuple[float, float, float, float]
    n_pixels: int
    pixel_m: float


def _png_1bit(mask: Any, rgb: tuple[int, int, int]) -> bytes:
    """A one-bit palette PNG of a boolean ``(rows, cols)`` array: ``True`` in ``rgb``,
    ``False`` transparent."""
    import struct
    import zlib

    import numpy as np

    rows, cols = mask.shape
    packed = np.packbits(np.asarray(mask, dtype=np.uint8), axis=1)
    raw = np.hstack([np.zeros((rows, 1), np.uint8), packed]).tobytes()  # filter byte 0 per row

    def chunk(tag: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + tag + data
                + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF))

    return b"".join([
        b"\x89PNG\r\n\x1a\n",
        chunk(b"IHDR", struct.pack(">IIBBBBB", cols, rows, 1, 3, 0, 0, 0)),
        chunk(b"PLTE", bytes([0, 0, 0, *rgb])),
        chunk(b"tRNS", bytes([0, 255])),
        chunk(b"IDAT", zlib.compress(raw, 6)),
        chunk(b"IEND", b""),
    ])


def rasterise_overlay(gdf: Any, *, colour: str, pixel_m: float = 30.0,
                      max_side_px: int = 4096) -> RasterOverlay:
    """Polygons → a :class:`RasterOverlay` (a PNG on a Web-Mercator grid).

    Parameters
    ----------
    gdf
        Polygons (a GeoDataFrame in any CRS with a definition).
    colour
        ``#rrggbb`` of the polygons' pixels.
    pixel_m
        Ground size of a pixel at the layer's mean latitude (metres); the DEM's pixel size
        keeps the slope polygons' own detail.
    max_side_px
        Pixels are made coarser until the image is at most this many pixels on each side
        (a province-wide layer stays a few megapixels).

    Raises
    ------
    InputError
        When ``gdf`` has no CRS, ``colour`` is not ``#rrggbb`` or ``pixel_m`` is not positive.
    """
    import base64
    import math

    from affine import Affine
    from rasterio.features import rasterize

    if gdf.crs is None:
        raise InputError("the polygons to draw have no CRS; give them one (e.g. EPSG:4326)")
    if re.fullmatch(r"#[0-9a-fA-F]{6}", colour) is None:
        raise InputError(f"colour = {colour!r} is not a colour; give #rrggbb, e.g. '#8c510a'")
    if not pixel_m > 0:
        raise InputError(f"pixel_m = {pixel_m!r} is not a pixel size; give a positive number "
                         "of metres, e.g. the DEM's 30")
    geoms = gdf.geometry[gdf.geometry.notna() & ~gdf.geometry.is_empty]
    if not len(geoms):
        return RasterOverlay(url="", bounds=(0.0, 0.0, 0.0, 0.0), n_pixels=0, pixel_m=float(pixel_m))
    merc = geoms.to_crs(3857)
    left, bottom, right, top = (float(v) for v in merc.total_bounds)
    lat = _lonlat(0.0, (bottom + top) / 2)[1]
    step = float(pixel_m) / math.cos(math.radians(lat))  # Web-Mercator metres per pixel
    step = max(step, (right - left) / max_side_px, (top - bottom) / max_side_px)
    cols, rows = max(1, math.ceil((right - left) / step)), max(1, math.ceil((top - bottom) / step))
    mask = rasterize(((g, 1) for g in merc.values), out_shape=(rows, cols),
                     transform=Affine(step, 0.0, left, 0.0, -step, top), fill=0, dtype="uint8")
    rgb = (int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16))
    png = _png_1bit(mask.astype(bool), rgb)
    lon0, lat0 = _lonlat(left, top - rows * step)
    lon1, lat1 = _lonlat(left + cols * step, top)
    return RasterOverlay(url="data:image/png;base64," + base64.b64encode(png).decode("ascii"),
                         bounds=(lon0, lat0, lon1, lat1), n_pixels=int(mask.sum()),
                         pixel_m=step * math.cos(math.radians(lat)))


def _lonlat(x_m: float, y_m: float) -> tuple[float, float]:
    """Web-Mercator (EPSG:3857) metres → (lon, lat) degrees on its sphere."""
    import math

    return (math.degrees(x_m / _MERCATOR_R_M),
            math.degrees(2 * math.atan(math.exp(y_m / _MERCATOR_R_M)) - math.pi / 2))


class ImageLayer(RawScriptMixin, Layer):
    """A :class:`RasterOverlay` as one ``L.imageOverlay`` (not interactive)."""

    _template = script_macro("""
            var {{ this.get_name() }} = L.imageOverlay({{ this.raster.url|tojson }},
                [[{{ this.raster.bounds[1] }}, {{ this.raster.bounds[0] }}],
                 [{{ this.raster.bounds[3] }}, {{ this.raster.bounds[2] }}]],
                {opacity: {{ this.opacity }}, interactive: false, className: "anzhi-raster"});
        """)

    def __init__(self, raster: RasterOverlay, *, name: str, opacity: float = 0.3,
                 show: bool = True) -> None:
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "AnzhiImage"
        self.raster = raster
        self.opacity = float(opacity)
