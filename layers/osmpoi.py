"""Facility points from an OSM extract (``.osm``, ``.osm.bz2``, ``.osm.gz``, ``.osm.pbf``).

:func:`layers.facilities.read_facilities` accepts an OSM file as a facility layer: this module
reads its ``amenity`` / ``healthcare`` / ``office`` features with pyosmium into the same
:class:`layers.tables.RawTable` a GeoPackage gives, so the tags go through the one mapping
of :data:`anzhi.core.vocabulary.OSM_TAGS` and every other check of the facility loader.

Which features
--------------
* **Nodes** with one of the three keys: their location.
* **Ways** with one of the keys (hospital grounds, school campuses, police stations drawn as
  buildings): a closed way (≥ 4 nodes, first = last) gives the representative point of its
  polygon (always inside it); an open way the centroid of its nodes.  In a clipped extract a
  way keeps the nodes present in the file; a way with none present is left out and counted.
* **Relations** (multipolygon areas) are left out and counted: their outlines need the member
  ways assembled, and public facilities are almost always nodes or ways.
* **Bus stops**: ``highway=bus_stop`` nodes, in a second pass filtered by pyosmium so that the
  road ways (``highway=*``) never reach Python.

The table has the columns ``element`` (``node``/``way``), ``osmid``, ``name``, ``name:zh``,
``amenity``, ``healthcare``, ``office`` and ``highway`` (``name`` falls back to ``name:zh``;
``highway`` is ``bus_stop`` for the second pass's nodes, else ``""``); ids become
``node/123`` / ``way/456``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Final

import geopandas as gpd
import pandas as pd
import pyproj
import shapely

from anzhi.core.errors import DataSourceError
from layers.guard import decompressed_osm

__all__ = ["OSM_SUFFIXES", "is_osm_file", "read_osm_pois"]

log = logging.getLogger(__name__)

#: File name endings read as OSM extracts.
OSM_SUFFIXES: Final = (".osm", ".osm.bz2", ".osm.gz", ".osm.pbf", ".pbf")

_KEYS: Final = ("amenity", "healthcare", "office")
#: Point features read besides the keys: bus stops (``highway=bus_stop`` nodes), read in a
#: second pass so the road ways (``highway=*``) never reach Python.
_NODE_TAGS: Final = (("highway", "bus_stop"),)
_COLUMNS: Final = ("element", "osmid", "name", "name:zh", *_KEYS, "highway")


def is_osm_file(path: str | Path) -> bool:
    """``True`` when the file name ends like an OSM extract (:data:`OSM_SUFFIXES`)."""
    return Path(path).name.lower().endswith(OSM_SUFFIXES)


def _way_point(coords: list[tuple[float, float]]) -> shapely.Point:
    if len(coords) >= 4 and coords[0] == coords[-1]:
        poly = shapely.Polygon(coords)
        if poly.is_valid and poly.area > 0:
            return shapely.Point(poly.representative_point())
        return shapely.Point(shapely.MultiPoint(coords[:-1]).centroid)
    return shapely.Point(shapely.MultiPoint(coords).centroid)


def _collect(plain: Path, rows: list[dict[str, str]], points: list[Any]) -> tuple[int, int]:
    """Append the tagged nodes and ways of ``plain`` to ``rows``/``points``; return the
    numbers of relations skipped and of ways without a node in the file."""
    import osmium

    n_rel = n_empty = 0
    proc = (osmium.FileProcessor(str(plain))
            .with_locations()
            .with_filter(osmium.filter.KeyFilter(*_KEYS)))
    for obj in proc:
        if isinstance(obj, osmium.osm.Node):
            if not obj.location.valid():
                continue
            geom = shapely.Point(obj.location.lon, obj.location.lat)
            element = "node"
        elif isinstance(obj, osmium.osm.Way):
            coords = [(n.location.lon, n.location.lat) for n in obj.nodes
                      if n.location.valid()]
            if not coords:
                n_empty += 1
                continue
            geom = _way_point(coords)
            element = "way"
        else:  # relations (multipolygon areas)
            n_rel += 1
            continue
        rows.append(_row(element, obj.id, obj.tags, ""))
        points.append(geom)
    stops = (osmium.FileProcessor(str(plain), osmium.osm.NODE)
             .with_filter(osmium.filter.TagFilter(*_NODE_TAGS)))
    for obj in stops:
        if not isinstance(obj, osmium.osm.Node):  # the entity filter passes nodes only
            continue
        if obj.location.valid() and not any(obj.tags.get(k) for k in _KEYS):  # not twice
            rows.append(_row("node", obj.id, obj.tags, obj.tags.get("highway") or ""))
            points.append(shapely.Point(obj.location.lon, obj.location.lat))
    return n_rel, n_empty


def _row(element: str, osmid: int, tags: Any, highway: str) -> dict[str, str]:
    """One feature's row of the module notes' columns."""
    return {
        "element": element,
        "osmid": str(osmid),
        # a feature named only in name:zh keeps that name
        "name": tags.get("name") or tags.get("name:zh") or "",
        "name:zh": tags.get("name:zh") or "",
        **{k: tags.get(k) or "" for k in _KEYS},
        "highway": highway,
    }


def read_osm_pois(path: str | Path) -> gpd.GeoDataFrame:
    """Nodes and ways tagged ``amenity``, ``healthcare`` or ``office`` of an OSM extract.

    Parameters
    ----------
    path
        ``.osm``, ``.osm.bz2``, ``.osm.gz`` or ``.osm.pbf`` file.

    Returns
    -------
    geopandas.GeoDataFrame
        EPSG:4326 points in file order (nodes, then ways, then the bus stops that carry
        none of the keys) with the columns of the module
        notes (all ``str``; ``""`` for an absent tag).  ``attrs["n_relations_skipped"]`` and
        ``attrs["n_ways_without_nodes"]`` count what was left out.

    Raises
    ------
    DataSourceError
        When the file is missing or is not a readable OSM file.
    """
    p = Path(path)
    if not p.is_file():
        raise DataSourceError(f"OSM file {p} does not exist or is not a file; check the path")
    rows: list[dict[str, str]] = []
    points: list[Any] = []
    try:
        with decompressed_osm(p) as plain:  # .bz2/.gz: expanded once, within the limit
            n_rel, n_empty = _collect(plain, rows, points)
    except RuntimeError as exc:  # pyosmium reports unreadable/corrupt input this way
        raise DataSourceError(
            f"cannot read OSM file {p.name}: {exc}; give an .osm, .osm.bz2 or .osm.pbf "
            "extract (e.g. from download.geofabrik.de or JOSM)"
        ) from exc
    if n_rel:
        log.info("%s: %d facility relation(s) (multipolygons) left out", p.name, n_rel)
    if n_empty:
        log.warning("%s: %d tagged way(s) have no node in the file (clipped extract), left out",
                    p.name, n_empty)
    frame = pd.DataFrame(rows, columns=list(_COLUMNS), dtype=str)
    gdf = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(points, crs=pyproj.CRS.from_epsg(4326)))
    gdf.attrs["n_relations_skipped"] = n_rel
    gdf.attrs["n_ways_without_nodes"] = n_empty
    return gdf
