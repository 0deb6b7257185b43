"""Hand-written OSM XML documents for the tests that read roads and points from OSM files."""

from __future__ import annotations

from collections.abc import Sequence
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
