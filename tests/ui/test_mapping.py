"""anzhi.ui.mapping.build_map: the folium map, checked on its rendered HTML (no Streamlit)."""

from __future__ import annotations

import json
from pathlib import Path
import math
import re

import folium
import geopandas as gpd
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from shapely.geometry import Point, box

from anzhi.ui.webassets import LOCAL_LINKS, external_links, localise_map, vendor_url

from anzhi.ui.mapping import (
    FACILITY_COLOURS,
    FACILITY_ICONS,
    PARCEL_COLOUR,
    STEEP_COLOUR,
    NO_RULE_COLOUR,
    STATUS_COLOURS,
    build_map,
    facility_colour,
    RasterOverlay,
    prepare_overlay,
    rasterise_overlay,
    site_radius_px,
)

_DATA_RE = re.compile(r"^\s*var (\w+)_data = (\{.*\});$", re.MULTILINE)


def _rendered(m: folium.Map) -> str:
    """The map's HTML with JSON ``\\uXXXX`` escapes decoded (legend text is JSON-encoded)."""
    html = m.get_root().render()
    return re.sub(r"\\u([0-9a-fA-F]{4})", lambda g: chr(int(g.group(1), 16)), html)


def _point_layers(html: str) -> dict[str, list[dict]]:
    """GeoJSON features of every point layer of the rendered map, by layer variable."""
    return {name: json.loads(data)["features"] for name, data in _DATA_RE.findall(html)}


def _circles(html: str) -> list[tuple[list[float], dict]]:
    """``([lat, lon], properties)`` of every site circle (layers drawn with L.circleMarker)."""
    out = []
    for name, feats in _point_layers(html).items():
        # the layer's pointToLayer builds circle markers (sites) or divIcon markers (facilities)
        body = html[html.index(f"var {name} = L.geoJson(") :]
        body = body[: body.index("});") + 3]
        if "L.circleMarker(" in body:
            assert "L.divIcon(" not in body
            out += [([f["geometry"]["coordinates"][1], f["geometry"]["coordinates"][0]], f["properties"]) for f in feats]
    return out


@pytest.fixture()
def sites() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "site_id": ["S1", "S2", "S3", "S4", "S5"],
            "site_name": ["河坝<安置点>", "新村", "城北社区", "半山", "无规则"],
            "county": ["施甸县"] * 5,
            "township": ["甸阳镇", "甸阳镇", "由旺镇", "由旺镇", ""],
            "population": [120, 850, 12000, 400, 50],
        },
        geometry=[
            Point(99.10, 24.60),
            Point(99.20, 24.70),
            Point(99.30, 24.80),
            Point(99.25, 24.65),
            Point(99.15, 24.75),
        ],
        crs="EPSG:4326",
    )


@pytest.fixture()
def facilities() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "facility_id": ["F1", "F2", "F3"],
            "name": ["河坝卫生室", "城北警务室", "由旺卫生院"],
            "facility_type": ["clinic", "police_room", "township_health_centre"],
            "capacity": [math.nan, 2.0, 40.0],
            "site_id": ["S1", "S3", ""],
        },
        geometry=[Point(99.10, 24.60), Point(99.30, 24.80), Point(99.28, 24.78)],
        crs="EPSG:4326",
    )


WORST = {"S1": "ok", "S2": "gap_missing", "S3": "ok_shared", "S4": "unroutable"}


def test_one_circle_per_site_coloured_by_worst_status(sites, facilities) -> None:
    m = build_map(sites, facilities, WORST)
    assert isinstance(m, folium.Map)
    circles = _circles(_rendered(m))
    assert len(circles) == len(sites)
    by_pos = {(round(loc[0], 6), round(loc[1], 6)): opts for loc, opts in circles}
    for row in sites.itertuples():
        opts = by_pos[(round(row.geometry.y, 6), round(row.geometry.x, 6))]
        expected = STATUS_COLOURS[WORST[row.site_id]] if row.site_id in WORST else NO_RULE_COLOUR
        assert opts["colour"] == expected, row.site_id
        assert opts["site_id"] == row.site_id
    # the palette itself: ok green, gap red, unroutable purple, all distinct
    assert STATUS_COLOURS["ok"] == "#1a9850" and STATUS_COLOURS["gap_missing"] == "#d73027"
    assert len(set(STATUS_COLOURS.values()) | {NO_RULE_COLOUR}) == len(STATUS_COLOURS) + 1


def test_worst_status_table_is_accepted(sites, facilities) -> None:
    table = pd.DataFrame({"site_id": list(WORST), "status": list(WORST.values())})
    html_a = _rendered(build_map(sites, facilities, table))
    html_b = _rendered(build_map(sites, facilities, pd.Series(WORST)))
    fills_a = sorted(o["colour"] for _, o in _circles(html_a))
    fills_b = sorted(o["colour"] for _, o in _circles(html_b))
    assert fills_a == fills_b
    assert fills_a.count(STATUS_COLOURS["gap_missing"]) == 1
    with pytest.raises(ValueError, match="lacks column"):
        build_map(sites, facilities, table.rename(columns={"status": "worst"}))


def test_circle_size_follows_sqrt_population(sites, facilities) -> None:
    circles = _circles(_rendered(build_map(sites, facilities, WORST)))
    radius = {round(loc[1], 6): opts["radius"] for loc, opts in circles}
    assert radius[99.30] == pytest.approx(20.0)  # the largest site
    # 850 vs 12000 people: radius ratio sqrt(850/12000)
    assert radius[99.20] / radius[99.30] == pytest.approx(math.sqrt(850 / 12000), abs=1e-3)
    assert radius[99.15] == pytest.approx(3.0)  # tiny sites keep a clickable minimum


@given(
    pop=st.one_of(st.just(math.nan), st.floats(min_value=-10, max_value=1e6)),
    max_pop=st.floats(min_value=1, max_value=1e6),
)
def test_site_radius_bounds(pop: float, max_pop: float) -> None:
    r = site_radius_px(pop, max_pop)
    assert 3.0 <= r <= 20.0
    if pop == pop and 0 < pop <= max_pop:
        assert site_radius_px(pop / 2, max_pop) <= r


def test_facilities_are_css_markers_by_type(sites, facilities) -> None:
    html = _rendered(build_map(sites, facilities, WORST))
    # facilities are CSS divIcon markers (no icon images), one layer per type, each type with
    # its own colour and Font Awesome glyph
    layers = _point_layers(html)
    site_ids = {o["site_id"] for _, o in _circles(html)}
    fac_feats = [f for feats in layers.values() for f in feats if "colour" not in f["properties"]]
    assert len(fac_feats) == len(facilities) and len(site_ids) == len(sites)
    assert html.count("L.divIcon(") == facilities["facility_type"].nunique()
    assert any("城北警务室" in f["properties"]["tooltip"] for f in fac_feats)
    assert any("容量: 40" in f["properties"]["tooltip"] for f in fac_feats)
    for ft in facilities["facility_type"]:
        assert facility_colour(ft) in html
    assert len(set(FACILITY_COLOURS.values())) == len(FACILITY_COLOURS)
    assert facility_colour("not-a-type") == "#404040"
    for ft in facilities["facility_type"]:
        assert f"fa-{FACILITY_ICONS[ft]}" in html
    assert len(set(FACILITY_ICONS.values())) == len(FACILITY_ICONS) == len(FACILITY_COLOURS)


def test_every_vocabulary_type_has_its_own_colour_and_a_shipped_glyph() -> None:
    from anzhi.core.vocabulary import FACILITY_TYPES

    assert set(FACILITY_COLOURS) == set(FACILITY_TYPES) == set(FACILITY_ICONS)
    css = (Path(__file__).parents[2] / "anzhi/ui/vendor/fontawesome/css/all.min.css").read_text()
    missing = [g for g in FACILITY_ICONS.values() if f".fa-{g}:" not in css and f".fa-{g}," not in css]
    assert missing == []


def test_tooltips_escape_names_and_carry_reasons(sites, facilities) -> None:
    gaps = pd.DataFrame(
        {
            "site_id": ["S2", "S2", "S1"],
            "status": ["gap_missing", "ok_shared", "ok"],
            "reason": ["人数 850 ≥ 800,须设警务室 `${x}`", "REASON-SHARED", "REASON-AT-SITE"],
            "reason_en": ["population 850 ≥ 800: police room required", "shared", "at site"],
        }
    )
    zh = _rendered(build_map(sites, facilities, WORST, gaps=gaps))
    assert "须设警务室" in zh
    # only unsatisfied checks are listed
    assert "REASON-SHARED" not in zh and "REASON-AT-SITE" not in zh
    # user text is escaped for HTML and for the JS template literal folium puts it in
    assert "河坝&lt;安置点&gt;" in zh and "<安置点>" not in zh
    assert "&#96;&#36;{x}&#96;" in zh and "`${x}`" not in zh
    en = _rendered(build_map(sites, facilities, WORST, gaps=gaps, lang="en"))
    assert "police room required" in en and "须设警务室" not in en
    assert "Population" in en


def test_offline_by_default_and_osm_on_request(sites, facilities) -> None:
    offline = _rendered(build_map(sites, facilities, WORST))
    assert "L.tileLayer(" not in offline
    online = _rendered(build_map(sites, facilities, WORST, tiles="OpenStreetMap"))
    assert "L.tileLayer(" in online and "tile.openstreetmap.org" in online
    assert "OpenStreetMap" in online  # the tile layer's own attribution


def test_legend_layers_attribution_and_townships(sites, facilities) -> None:
    townships = gpd.GeoDataFrame(
        {"township": ["甸阳镇", "由旺镇"]},
        geometry=[box(99.0, 24.5, 99.22, 24.9), box(99.22, 24.5, 99.4, 24.9)],
        crs="EPSG:4326",
    ).to_crs(3857)  # any CRS: build_map converts
    m = build_map(
        sites, facilities, WORST, townships=townships, attribution="道路为合成数据", lang="zh"
    )
    html = _rendered(m)
    assert "anzhi-legend" in html and "安置点状态" in html
    assert "L.control.layers(" in html
    assert "addAttribution" in html and "道路为合成数据" in html
    assert "乡镇边界" in html and "由旺镇" in html
    assert "L.control.scale(" in html
    with pytest.raises(ValueError, match="no CRS"):
        build_map(sites.set_crs(None, allow_override=True), facilities, WORST)


def test_empty_facilities_and_unlocated_sites(sites) -> None:
    empty = gpd.GeoDataFrame(
        {"facility_id": [], "name": [], "facility_type": [], "capacity": [], "site_id": []},
        geometry=[],
        crs="EPSG:4326",
    )
    with_empty = sites.copy()
    with_empty.loc[0, "geometry"] = None
    html = _rendered(build_map(with_empty, empty, WORST))
    assert len(_circles(html)) == len(sites) - 1
    assert "L.divIcon(" not in html
    assert _point_layers(html)  # the site layers are still there


def _links(html: str) -> list[str]:
    return re.findall(r'<(?:script src|link rel="stylesheet" href)="([^"]+)"', html)


def test_assets_url_serves_every_library_locally(sites, facilities) -> None:
    cdn = build_map(sites, facilities, WORST)
    assert any(u.startswith("https://") for u in _links(cdn.get_root().render()))  # folium default
    m = build_map(sites, facilities, WORST, assets_url=vendor_url())
    assert external_links(m) == []
    html = m.get_root().render()
    links = _links(html)
    assert links and all(u.startswith("/app/static/vendor/") for u in links), links
    for name in ("leaflet", "leaflet_css", "Control.Fullscreen.js"):
        assert f"/app/static/vendor/{LOCAL_LINKS[name]}" in links
    # Leaflet's default marker images come from the local copy, set before any marker
    assert 'L.Icon.Default.imagePath = "/app/static/vendor/leaflet/images/"' in html
    assert html.index("L.Icon.Default.imagePath") < html.index("L.geoJson(")
    # per map instance: folium's class-level CDN links are untouched for other maps
    assert folium.Map.default_js[0][1].startswith("https://")
    assert folium.plugins.Fullscreen.default_js[0][1].startswith("https://")
    assert external_links(build_map(sites, facilities, WORST)) != []
    # localising twice changes nothing
    again = localise_map(m, base_url=vendor_url())
    assert _links(again.get_root().render()) == links
    assert again.get_root().render().count("L.Icon.Default.imagePath") == 1


def test_unknown_cdn_link_is_refused(sites, facilities) -> None:
    m = build_map(sites, facilities, WORST)
    folium.plugins.MeasureControl().add_to(m)  # a plugin whose files Anzhi does not ship
    with pytest.raises(ValueError, match="no local copy of MeasureControl"):
        localise_map(m, base_url="/app/static/vendor")


def test_fullscreen_steep_land_parcels_and_service_areas(sites, facilities) -> None:
    steep = gpd.GeoDataFrame(geometry=[box(99.0, 24.5, 99.05, 24.55)], crs="EPSG:4326").to_crs(32647)
    parcels = gpd.GeoDataFrame(
        {"parcel_id": ["P-007"]}, geometry=[box(99.1, 24.6, 99.12, 24.62)], crs="EPSG:4326"
    )
    areas = gpd.GeoDataFrame(
        {"facility_type": ["clinic", "police_room"], "minutes": [30.0, 12.5]},
        geometry=[box(99.2, 24.7, 99.21, 24.71), Point(0, 0).buffer(0).buffer(0)],  # 2nd empty
        crs="EPSG:4326",
    ).to_crs(32647)
    html = _rendered(build_map(
        sites, facilities, WORST, steep=steep, parcels=parcels, service_areas=areas, lang="zh",
    ))
    assert "L.control.fullscreen(" in html and "全屏" in html
    assert "坡度 > 25° 的土地" in html and STEEP_COLOUR in html
    assert "迁出区地块" in html and "P-007" in html and PARCEL_COLOUR in html
    # one polygon layer per non-empty service area, named by the road network and minutes
    assert html.count("服务范围 (道路网 30 分钟): 卫生室") >= 1
    assert "12.5 分钟" not in html  # the empty area draws nothing
    assert "直线距离" not in html and "L.circle(" not in html
    en = _rendered(build_map(sites, facilities, WORST, service_areas=areas, lang="en"))
    assert "Service area (road network, 30 min)" in en
    plain = _rendered(build_map(sites, facilities, WORST))
    assert "L.circle(" not in plain and "坡度 > 25°" not in plain and "道路网" not in plain


def test_prepared_overlays_are_compact_escaped_and_drawn(sites, facilities) -> None:
    towns = gpd.GeoDataFrame(
        {"township": ["甸阳镇<b>", "由旺镇"]},
        geometry=[box(99.0, 24.5, 99.2234567891, 24.9), box(99.2234567891, 24.5, 99.4, 24.9)],
        crs="EPSG:4326",
    )
    ov = prepare_overlay(towns, tooltip_columns=("name", "township"))
    assert ov.n_features == 2 and ov.tooltip_field == "township"
    assert "99.22345," in ov.geojson and "99.2234567" not in ov.geojson  # 5 decimals ≈ 1 m
    assert "甸阳镇&lt;b&gt;" in json.loads(ov.geojson)["features"][0]["properties"]["township"]
    raw = build_map(sites, facilities, WORST, townships=ov).get_root().render()
    assert ov.geojson in raw  # pasted as is: no re-serialisation on a rerun
    assert "乡镇边界" in _rendered(build_map(sites, facilities, WORST, townships=ov))
    assert "bindTooltip(function (layer)" in raw
    # the same overlay from a GeoDataFrame draws the same features
    assert ov.geojson in build_map(sites, facilities, WORST, townships=towns).get_root().render()
    # a layer without a tooltip column is not interactive
    steep = prepare_overlay(towns[["geometry"]], simplify_m=50.0)
    assert steep.tooltip_field is None
    assert "interactive: false" in _rendered(build_map(sites, facilities, WORST, steep=steep))


def test_site_circles_sit_above_facility_markers(sites, facilities) -> None:
    html = _rendered(build_map(sites, facilities, WORST))
    assert 'createPane("anzhiSites").style.zIndex = 640' in html
    assert html.count('pane: "anzhiSites"') == len({WORST.get(s) for s in sites["site_id"]})
    assert 'className: "anzhi-site"' in html


def test_user_text_is_never_evaluated_as_a_template(sites, facilities) -> None:
    odd = sites.copy()
    odd.loc[0, "site_name"] = "{{ 7*7 }} 安置点 {% if x %}"
    odd.loc[1, "township"] = "{# note #}"
    html = _rendered(build_map(odd, facilities, WORST, attribution="{{ 6*6 }}"))
    assert "{{ 7*7 }} 安置点 {% if x %}" in html and ">49 " not in html
    assert "{# note #}" in html
    assert "addAttribution(\"{{ 6*6 }}\")" in html


def _png_alpha(raster: RasterOverlay) -> "np.ndarray":
    """The alpha channel (0–255, rows top first) of a raster overlay's PNG."""
    import base64
    import io

    import numpy as np
    from PIL import Image

    head, data = raster.url.split(",", 1)
    assert head == "data:image/png;base64"
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(data))).convert("RGBA"))[:, :, 3]


def _pixel(raster: RasterOverlay, alpha: "np.ndarray", lon: float, lat: float) -> int:
    """Alpha of the pixel under (lon, lat): the image spans its bounds linearly in Web
    Mercator, as Leaflet stretches it (computed here with pyproj, independently)."""
    from pyproj import Transformer

    to_m = Transformer.from_crs(4326, 3857, always_xy=True).transform
    x0, y0 = to_m(raster.bounds[0], raster.bounds[1])
    x1, y1 = to_m(raster.bounds[2], raster.bounds[3])
    x, y = to_m(lon, lat)
    rows, cols = alpha.shape
    return int(alpha[int((y1 - y) / (y1 - y0) * rows), int((x - x0) / (x1 - x0) * cols)])


def test_rasterised_overlay_puts_the_polygons_pixels_in_place() -> None:
    # an L-shaped polygon with a hole, in a metric CRS: the image marks exactly its pixels
    ring = box(99.0, 24.5, 99.1, 24.6).difference(box(99.05, 24.55, 99.1, 24.6))
    poly = ring.difference(box(99.01, 24.51, 99.02, 24.52))  # a hole
    gdf = gpd.GeoDataFrame(geometry=[poly], crs="EPSG:4326").to_crs(32647)
    raster = rasterise_overlay(gdf, colour="#8c510a", pixel_m=50.0)
    alpha = _png_alpha(raster)
    assert raster.bounds[0] == pytest.approx(99.0, abs=1e-3) and raster.bounds[3] == pytest.approx(24.6, abs=1e-3)
    assert raster.pixel_m == pytest.approx(50.0, rel=0.01)
    # the pixel count matches the polygon's ground area (50 m pixels), the PNG the count
    area_m2 = float(gpd.GeoSeries([poly], crs=4326).to_crs(32647).area.iloc[0])
    assert raster.n_pixels == pytest.approx(area_m2 / 50.0**2, rel=0.03)
    assert int((alpha > 0).sum()) == raster.n_pixels
    inside = [(99.025, 24.525), (99.08, 24.52), (99.005, 24.595)]
    outside = [(99.075, 24.575), (99.015, 24.515)]  # the cut-out corner, the hole
    assert all(_pixel(raster, alpha, *p) == 255 for p in inside)
    assert all(_pixel(raster, alpha, *p) == 0 for p in outside)
    # a coarser pixel keeps the image small; max_side_px caps it
    assert max(_png_alpha(rasterise_overlay(gdf, colour="#8c510a", max_side_px=64)).shape) <= 64
    empty = rasterise_overlay(gdf.iloc[:0], colour="#8c510a")
    assert empty.n_pixels == 0 and empty.url == ""


def test_rasterised_overlay_refuses_bad_options() -> None:
    gdf = gpd.GeoDataFrame(geometry=[box(99.0, 24.5, 99.1, 24.6)], crs="EPSG:4326")
    with pytest.raises(ValueError, match="no CRS"):
        rasterise_overlay(gdf.set_crs(None, allow_override=True), colour="#8c510a")
    with pytest.raises(ValueError, match="not a colour"):
        rasterise_overlay(gdf, colour="brown")
    with pytest.raises(ValueError, match="pixel size"):
        rasterise_overlay(gdf, colour="#8c510a", pixel_m=0.0)


def test_steep_land_as_an_image_layer(sites, facilities) -> None:
    steep = gpd.GeoDataFrame(geometry=[box(99.0, 24.5, 99.05, 24.55)], crs="EPSG:4326")
    raster = rasterise_overlay(steep, colour=STEEP_COLOUR, pixel_m=100.0)
    html = _rendered(build_map(sites, facilities, WORST, steep=raster, lang="zh"))
    assert html.count("L.imageOverlay(") == 1 and raster.url in html
    assert "坡度 > 25° 的土地" in html  # its layer-control entry and legend swatch
    assert f"background:{STEEP_COLOUR}" in html
    assert "interactive: false" in html
    # the image's corners as Leaflet wants them: [[south, west], [north, east]]
    south, west = raster.bounds[1], raster.bounds[0]
    assert re.search(rf"\[\[{re.escape(repr(south))}, {re.escape(repr(west))}\],", html)
    nothing = rasterise_overlay(steep.iloc[:0], colour=STEEP_COLOUR)
    plain = _rendered(build_map(sites, facilities, WORST, steep=nothing))
    assert "L.imageOverlay(" not in plain and "坡度 > 25°" not in plain
