"""OSM tags that decide what a road is and which tags the road graph keeps.

The same constants serve the fast reader (:func:`layers.osm.read_osm_ways`), the direct graph
builder (:mod:`geo.osmgraph`) and the osmnx reference path (:func:`layers.osm.load_road_graph`),
so all three agree on which ways are roads.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["NODE_TAGS", "NOT_ROADS", "WAY_TAGS", "is_road"]

#: highway values osmnx's ``network_type="all"`` filter leaves out (not roads in use).
NOT_ROADS = frozenset(
    {
        "abandoned",
        "construction",
        "no",
        "planned",
        "platform",
        "proposed",
        "raceway",
        "razed",
        "rest_area",
        "services",
    }
)

#: way tags kept as edge attributes (osmnx ``useful_tags_way`` while reading).
WAY_TAGS = [
    "access",
    "bridge",
    "est_width",
    "foot",
    "highway",
    "junction",
    "lanes",
    "maxspeed",
    "motor_vehicle",
    "name",
    "oneway",
    "ref",
    "service",
    "tunnel",
    "width",
]
#: node tags kept as node attributes (osmnx ``useful_tags_node`` while reading).
NODE_TAGS = ["highway", "junction", "railway", "ref"]


def is_road(tags: Mapping[str, str]) -> bool:
    """A way osmnx's ``network_type="all"`` would download: a highway in use, not an area."""
    highway = tags.get("highway")
    if not highway or highway in NOT_ROADS:
        return False
    return tags.get("area") != "yes"
