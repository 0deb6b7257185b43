"""All reading, writing and validation of files: sites, facilities, OSM roads and POIs, the
road-graph cache, rasters, polygons, rule files, exports, and the demo county.

Map rendering lives in ``anzhi.ui``; nothing here imports it (``tests/test_boundaries.py``).
"""

from anzhi.core.lazy import lazy_exports

_EXPORTS = {
    "read_sites": "sites",
    "read_facilities": "facilities",
    "facilities_from_sites": "facilities",
    "combine_facilities": "facilities",
    "empty_facilities": "facilities",
    "read_rules": "rulesfile",
    "write_outputs": "export",
    "atomic_write": "anzhi.core.files",
    "build_demo": "demo",
    "DemoPaths": "demo",
    "read_townships": "boundaries",
    "read_polygons": "boundaries",
    "check_dem": "raster",
    "dem_elevation_sampler": "raster",
    "read_osm_ways": "osm",
    "load_road_graph": "osm",
    "read_osm_pois": "osmpoi",
    "cached_road_graph": "roadcache",
    "write_slope": "terrain",
    "open_slope": "terrain",
    "steep_polygons": "terrain",
    "read_parcels": "terrain",
    "land_statistics": "terrain",
    "write_land": "terrain",
    "site_hazard_from_raster": "terrain",
}
__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)
