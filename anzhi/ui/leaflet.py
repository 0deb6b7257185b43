"""Anzhi's own Leaflet elements for folium maps: legend, attribution, point and polygon layers.

Each renders its ``script`` macro straight into the page (:class:`RawScriptMixin`) instead of
through branca's per-render Jinja compilation of the script text, which cost seconds for
megabytes of GeoJSON on every rerun and would evaluate ``{{ }}`` in user text.  The points
and polygons travel as GeoJSON, so a layer of hundreds of features is one template render.
:mod:`anzhi.ui.mapping` builds the map from them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from branca.element import Element, Figure, MacroElement
from folium.elements import ElementAddToElement
from folium.map import Layer
from folium.template import Template

__all__ = [
    "FACILITY_ICON_PX",
    "Attribution",
    "Legend",
    "Overlay",
    "OverlayLayer",
    "PointLayer",
    "RawScriptMixin",
    "RawText",
    "TextElement",
    "script_macro",
]

#: Side of a facility marker's square, in screen pixels.
FACILITY_ICON_PX = 14


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
                ElementAddToElement(element_name=self.get_name(), element_parent_name=parent.get_name()),
                name=self.get_name() + "_add",
            )
        figure = self.get_root()
        assert isinstance(figure, Figure), "You cannot render this Element if it is not in a Figure."
        script = self._template.module.__dict__["script"]
        figure.script.add_child(RawText(str(script(self, kwargs))), name=self.get_name())
        for child in self._children.values():
            child.render(**kwargs)


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


class PointLayer(RawScriptMixin, Layer):
    """Many points as one Leaflet GeoJSON layer (one template render for the whole layer).

    Folium renders a Jinja template per marker and per tooltip, which costs about a
    millisecond each; a county's few hundred facilities then take seconds on every rerun.
    Here the points travel as GeoJSON (properties ``tooltip`` and, for circles, ``radius``
    and ``colour``) and ``pointToLayer`` builds ``L.circleMarker`` or ``L.marker`` with a CSS
    ``L.divIcon`` in the browser.
    """

    _template = script_macro("""
            var {{ this.get_name() }}_data = {{ this.data|tojson }};
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
        self.icon_html = icon_html
        self.icon_px = int(icon_px)


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
