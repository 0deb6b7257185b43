"""Coordinates and CRS, the road graph and routing (array core with thin geo adapters).

Never imports streamlit or folium (``tests/test_boundaries.py``).
"""

from anzhi.core.lazy import lazy_exports

_EXPORTS = {
    # coordinates
    "COORD_SYSTEMS": "coords",
    "normalise_coord_system": "coords",
    "to_wgs84": "coords",
    "in_china": "coords",
    "wgs84_to_gcj02": "coords",
    "gcj02_to_wgs84": "coords",
    "gcj02_to_bd09": "coords",
    "bd09_to_gcj02": "coords",
    "wgs84_to_bd09": "coords",
    "bd09_to_wgs84": "coords",
    "gk_zone_from_lon": "crs",
    "gk_central_meridian": "crs",
    "gk_epsg": "crs",
    "gk_zone_from_easting": "crs",
    "gk_to_wgs84": "crs",
    "wgs84_to_gk": "crs",
    "utm_epsg": "crs",
    "local_metric_crs": "crs",
    # road graph
    "Profile": "travel",
    "RoadGraph": "roads",
    "load_profile": "travel",
    "profile_names": "travel",
    # routing
    "SnapResult": "network",
    "snap_points": "network",
    "nearest_facility": "routing",
    "SitePlacement": "routing",
    "place_sites": "routing",
    "nearest_facility_index": "routing",
    "access_table": "routing",
    "service_areas": "service",
    "reached_lines": "service",
    # direct OSM graph, slope-aware walking, k nearest and cost tables
    "OsmWays": "osmgraph",
    "road_graph_from_ways": "osmgraph",
    "ways_to_networkx": "osmgraph",
    "tobler_factor": "tobler",
    "tobler_speed_kph": "tobler",
    "offroad_leg_min": "tobler",
    "with_slope_times": "tobler",
    "cost_matrix": "paircosts",
    "k_nearest": "paircosts",
    "k_nearest_table": "matrix",
    "cost_table": "matrix",
    # terrain
    "GridSpec": "terrain",
    "horn_slope": "terrain",
    "slope_deg": "terrain",
    "iter_windows": "terrain",
}
__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)
