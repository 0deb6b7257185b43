"""Hand-written OSM XML documents for the tests that read roads and points from OSM files.

Also the street grid that the road-graph tests of ``geo.roads`` and ``layers.osm`` share.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from xml.sax.saxutils import quoteattr

#: Node id → (lon, lat).
Nodes = dict[int, tuple[float, float]]
#: (way id, node refs, tags).
Ways = list[tuple[int, list[int], dict[str, str]]]

ROOT = '<osm version="0.6" generator="hand">'


def osm_xml(
    nodes: Nodes,
    ways: Ways,
    *,
    node_tags: dict[int, dict[str, str]] | None = None,
    root: str = ROOT,
    head: Sequence[str] = (),
    tail: Sequence[str] = (),
) -> str:
    """An OSM XML document of the nodes and ways.

    ``node_tags`` gives tags of some nodes, ``root`` the opening ``<osm>`` element; ``head``
    lines go before the nodes (``<bounds>``), ``tail`` lines after the ways (relations).
    """
    node_tags = node_tags or {}
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', root, *head]
    for nid, (lon, lat) in nodes.items():
        tags = "".join(f"<tag k={quoteattr(k)} v={quoteattr(v)}/>"
                       for k, v in node_tags.get(nid, {}).items())
        lines.append(f'  <node id="{nid}" version="1" lat="{lat:.7f}" lon="{lon:.7f}">{tags}</node>')
    for wid, refs, tags_ in ways:
        lines.append(f'  <way id="{wid}" version="1">')
        lines += [f'    <nd ref="{r}"/>' for r in refs]
        lines += [f"    <tag k={quoteattr(k)} v={quoteattr(v)}/>" for k, v in tags_.items()]
        lines.append("  </way>")
    lines += tail
    lines.append("</osm>")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- the street grid

#: Origin (lon, lat) and spacing (~100 m) of the hand-made networks, degrees: near Shidian, Yunnan.
LON0, LAT0, STEP = 99.2, 24.7, 0.001

#: A 3 × 3 street grid (nodes 1..9, row by row from the south-west) plus node 20 inside the
#: 3-6 street, which simplification removes.
GRID_NODES: Nodes = {i + 1: (LON0 + (i % 3) * STEP, LAT0 + (i // 3) * STEP) for i in range(9)}
GRID_NODES[20] = (LON0 + 2 * STEP, LAT0 + 0.5 * STEP)
#: The nodes of what is not a street of the grid.
GRID_OTHER_NODES: Nodes = {
    # building outline
    10: (LON0 + 0.0005, LAT0 + 0.0005), 11: (LON0 + 0.0007, LAT0 + 0.0005),
    12: (LON0 + 0.0007, LAT0 + 0.0007), 13: (LON0 + 0.0005, LAT0 + 0.0007),
    # pedestrian square mapped as an area
    14: (LON0 + 0.0012, LAT0 + 0.0012), 15: (LON0 + 0.0018, LAT0 + 0.0012),
    16: (LON0 + 0.0018, LAT0 + 0.0018), 17: (LON0 + 0.0012, LAT0 + 0.0018),
    # disconnected track
    18: (LON0 + 0.01, LAT0 + 0.01), 19: (LON0 + 0.011, LAT0 + 0.01),
    # a proposed road (not a road yet)
    30: (LON0 - 0.002, LAT0), 31: (LON0 - 0.003, LAT0),
    # a lone node used by nothing
    40: (LON0 + 0.05, LAT0 + 0.05),
}
#: The grid's streets (101-106, 103 oneway), a building, a pedestrian area, a track, a proposed road.
GRID_WAYS: Ways = [
    (101, [1, 2, 3], {"highway": "residential", "name": "南街"}),
    (102, [4, 5, 6], {"highway": "residential"}),
    (103, [7, 8, 9], {"highway": "residential", "oneway": "yes"}),
    (104, [1, 4, 7], {"highway": "tertiary"}),
    (105, [2, 5, 8], {"highway": "residential"}),
    (106, [3, 20, 6, 9], {"highway": "unclassified"}),
    (107, [10, 11, 12, 13, 10], {"building": "yes"}),
    (108, [14, 15, 16, 17, 14], {"highway": "pedestrian", "area": "yes"}),
    (109, [18, 19], {"highway": "track"}),
    (110, [30, 31], {"highway": "proposed"}),
]

GRID_BOUNDS = ['  <bounds minlat="24.6" minlon="99.1" maxlat="24.8" maxlon="99.3"/>']
GRID_RELATION = ['  <relation id="900" version="1">',
                 '    <member type="way" ref="107" role="outer"/>',
                 '    <tag k="type" v="multipolygon"/>', "  </relation>"]


def grid_xml(nodes: Nodes, ways: Ways, *, relation: bool = True) -> str:
    """An OSM XML document with the grid's bounds and optionally a multipolygon relation."""
    return osm_xml(nodes, ways, head=GRID_BOUNDS, tail=GRID_RELATION if relation else ())


def write_grid(folder: Path) -> Path:
    """Write the whole grid (streets and the rest) to ``folder/grid.osm``; its path."""
    path = folder / "grid.osm"
    path.write_text(grid_xml({**GRID_NODES, **GRID_OTHER_NODES}, GRID_WAYS), encoding="utf-8")
    return path
