"""Road ways of an OSM extract (``.osm``, ``.osm.bz2``, ``.osm.gz``, ``.osm.pbf``) as arrays.

:func:`read_osm_ways` reads the ways that are roads (the filter of
:func:`load_road_graph`: a ``highway`` in use, not ``area=yes``) with pyosmium in
two streaming passes — the road ways first, then only the nodes they use — so memory grows
with the road network, not with the file (buildings, land use and their nodes are skipped).
The result, a :class:`geo.osmgraph.OsmWays`, goes to
:func:`geo.osmgraph.road_graph_from_ways` (the fast routing core) or
:func:`geo.osmgraph.ways_to_networkx` (an osmnx graph).

Clipped extracts
----------------
A way that uses nodes missing from the file (an extract cut at a boundary) is cut at its
missing nodes: every run of at least two consecutive present nodes is kept as a piece of
the way with the way's id and tags.  A warning says how many ways were cut and how many
were left out (fewer than two consecutive nodes present).
"""

from __future__ import annotations

import contextlib
import logging
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

import networkx as nx
import numpy as np
from numpy.typing import NDArray
from tqdm import tqdm

from anzhi.core.errors import DataSourceError, InputError
from anzhi.core.files import atomic_write
from anzhi.core.osmtags import NODE_TAGS, WAY_TAGS, is_road
from anzhi.core.settings import get_settings
from geo.osmgraph import OsmWays
from layers.guard import decompressed_osm

__all__ = ["read_osm_ways", "load_road_graph", "download_roads"]

log = logging.getLogger(__name__)

#: |x| and |y| bounds of a valid OSM location in 1e-7 degrees (an undefined one is 2**31 - 1).
_MAX_X, _MAX_Y = 1_800_000_000, 900_000_000
#: progress bar updates every this many objects (a tqdm call per object would cost more).
_TICK = 4096


def _osmium_file(path: Path) -> Any:
    """An ``osmium.io.File`` with the format taken from the name (XML unless ``.pbf``)."""
    import osmium

    name = path.name.lower()
    if name.endswith(".pbf"):
        fmt = "pbf"
    elif name.endswith(".bz2"):
        fmt = "osm.bz2"
    elif name.endswith(".gz"):
        fmt = "osm.gz"
    else:
        fmt = "osm"
    return osmium.io.File(str(path), fmt)


def _read_error(path: Path, exc: Exception) -> DataSourceError:
    """A :class:`DataSourceError` that says what pyosmium's error means and what to do."""
    msg = str(exc)
    low = msg.lower()
    where = f"cannot read road file {path.name}"
    if "open failed" in low or "permission" in low:
        text = f"{where} ({path}): {msg}; check that the file exists and that you may read it"
    elif "pbf" in low:
        text = (f"{where}: it is not a valid OSM PBF file ({msg}); the download may be "
                "incomplete or the file is not PBF — download the extract again (e.g. from "
                "download.geofabrik.de) or give the .osm/.osm.bz2 export")
    elif "bzip2" in low or "gzip" in low or "zlib" in low:
        text = (f"{where}: the compressed data is corrupt ({msg}); download or compress the "
                "file again")
    elif "unknown top-level element" in low:
        root = msg.rsplit(":", 1)[-1].strip()
        text = (f"{where}: it is not an OSM XML file (root element <{root}>, expected <osm>); "
                "give an .osm, .osm.bz2 or .osm.pbf file exported from OpenStreetMap")
    elif "version" in low:
        text = (f"{where}: not well-formed OSM XML — {msg}; add version=\"0.6\" to its <osm> "
                "root element, or re-export the file from JOSM/Overpass/osmium")
    else:
        text = (f"{where}: not well-formed OSM XML or an unknown format ({msg}); re-export it "
                "as .osm, .osm.bz2 or .osm.pbf")
    return DataSourceError(text)


class _WayPass:
    """Pass 1 handler: every way counted, the road ways kept (id, node refs, useful tags)."""

    def __init__(self, bar: tqdm) -> None:  # type: ignore[type-arg]
        self.n_ways = 0
        self.ids: list[int] = []
        self.refs: list[list[int]] = []
        self.tags: list[list[str | None]] = []
        self.bar = bar

    def way(self, w: Any) -> None:
        self.n_ways += 1
        if self.n_ways % _TICK == 0:
            self.bar.update(_TICK)
        tags = w.tags
        if "highway" not in tags or not is_road(tags):
            return
        self.ids.append(w.id)
        self.refs.append([n.ref for n in w.nodes])
        self.tags.append([tags.get(k) for k in WAY_TAGS])


class _NodePass:
    """Pass 2 handler: location (1e-7° fixed point) and useful tags of the needed nodes."""

    def __init__(self, needed: set[int], bar: tqdm) -> None:  # type: ignore[type-arg]
        self.needed = needed
        self.ids: list[int] = []
        self.x: list[int] = []
        self.y: list[int] = []
        self.tagged: dict[int, list[str | None]] = {}
        self.bar = bar

    def node(self, n: Any) -> None:
        nid = n.id
        if nid not in self.needed:
            return
        loc = n.location
        self.ids.append(nid)
        self.x.append(loc.x)
        self.y.append(loc.y)
        if len(self.ids) % _TICK == 0:
            self.bar.update(_TICK)
        tags = n.tags
        if len(tags):
            values = [tags.get(k) for k in NODE_TAGS]
            if any(v is not None for v in values):
                self.tagged[nid] = values


def read_osm_ways(path: str | Path, *, progress: bool | None = None) -> OsmWays:
    """Read the road ways of an OSM file and the nodes they use, as arrays.

    Parameters
    ----------
    path
        ``.osm``, ``.osm.bz2``, ``.osm.gz`` (OSM XML) or ``.osm.pbf`` file; other names are
        read as OSM XML.  A clipped extract is fine: ways are cut where they leave it (see
        the module notes).
    progress
        Show progress bars (ways read, nodes found); default ``get_settings().progress``.

    Returns
    -------
    OsmWays
        The road pieces in file order with their nodes, tags and counts (see
        :class:`geo.osmgraph.OsmWays`).

    Raises
    ------
    DataSourceError
        The file is missing, unreadable, corrupt or not an OSM file (the message names the
        file and the fix).
    InputError
        No way of the file is a road.
    """
    import osmium

    src = Path(path)
    if not src.is_file():
        raise DataSourceError(f"road file {src} does not exist or is not a file; check the path")
    show = get_settings().progress if progress is None else bool(progress)
    with decompressed_osm(src, what="road file") as plain:  # .bz2/.gz: expanded once, within the limit
        ways = _way_pass(src, plain, show)
        lens = np.fromiter((len(r) for r in ways.refs), dtype=np.int64, count=len(ways.refs))
        refs = np.fromiter((x for r in ways.refs for x in r), dtype=np.int64,
                           count=int(lens.sum()))
        ways.refs = []
        needed_ids = np.unique(refs)

        # pass 2: only the nodes those ways use
        with tqdm(total=len(needed_ids), desc=f"{src.name}: nodes", unit=" nodes",
                  disable=not show) as bar:
            nodes = _NodePass(set(needed_ids.tolist()), bar)
            try:
                osmium.apply(osmium.io.Reader(_osmium_file(plain), osmium.osm.NODE), nodes)
            except RuntimeError as exc:
                raise _read_error(src, exc) from exc
            bar.update(len(nodes.ids) % _TICK)
    nodes.needed = set()
    return _assemble(src.name, ways, nodes, refs, lens)


def _way_pass(src: Path, plain: Path, show: bool) -> _WayPass:
    """Pass 1 over ``plain`` (the readable form of ``src``): the road ways, at least one."""
    import osmium

    with tqdm(desc=f"{src.name}: ways", unit=" ways", disable=not show) as bar:
        ways = _WayPass(bar)
        try:
            osmium.apply(osmium.io.Reader(_osmium_file(plain), osmium.osm.WAY), ways)
        except RuntimeError as exc:
            raise _read_error(src, exc) from exc
        bar.update(ways.n_ways % _TICK)
    if not ways.ids:
        raise InputError(
            f"{src.name}: no road in the file — none of its {ways.n_ways:,} ways has a usable "
            "highway=* tag (buildings, land use and area=yes are not roads); give an OSM "
            "extract that contains the road network"
        )
    return ways


def _assemble(name: str, ways: _WayPass, nodes: _NodePass, refs: NDArray[np.int64],
              lens: NDArray[np.int64]) -> OsmWays:
    """Cut the ways at missing nodes and index everything (see the module notes)."""
    ids = np.asarray(nodes.ids, dtype=np.int64)
    x = np.asarray(nodes.x, dtype=np.int64)
    y = np.asarray(nodes.y, dtype=np.int64)
    ok = (np.abs(x) <= _MAX_X) & (np.abs(y) <= _MAX_Y)  # a node without a location is missing
    ids, x, y = ids[ok], x[ok], y[ok]
    ids, first_of = np.unique(ids, return_index=True)  # sorted; one version per node
    x, y = x[first_of], y[first_of]

    n_ways = len(lens)
    way_of_ref = np.repeat(np.arange(n_ways, dtype=np.int64), lens)
    at = np.searchsorted(ids, refs)
    at_c = np.minimum(at, max(len(ids) - 1, 0))
    present = (at < len(ids)) & (ids[at_c] == refs) if len(ids) else np.zeros(len(refs), bool)
    # runs of consecutive present nodes of one way; each run of >= 2 nodes is a piece
    offsets = np.concatenate([[0], np.cumsum(lens)[:-1]]).astype(np.int64)
    way_start = np.zeros(len(refs), dtype=bool)
    way_start[offsets[lens > 0]] = True
    prev_present = np.concatenate([[False], present[:-1]])
    run_start = present & (way_start | ~prev_present)
    run_id = np.cumsum(run_start) - 1
    run_len = np.bincount(run_id[present], minlength=int(run_start.sum()))
    run_ok = run_len >= 2
    keep_ref = present.copy()
    keep_ref[present] = run_ok[run_id[present]]
    run_way = way_of_ref[run_start][run_ok]  # way of each piece, in file order

    pieces_per_way = np.bincount(run_way, minlength=n_ways)
    missing_per_way = np.bincount(way_of_ref[~present], minlength=n_ways)
    n_cut = int(((missing_per_way > 0) & (pieces_per_way > 0)).sum())
    n_dropped = int((pieces_per_way == 0).sum())

    if len(run_way) == 0:
        raise InputError(
            f"{name}: no road left — none of its {n_ways:,} road way(s) has two consecutive "
            "nodes in the file (they use nodes missing from it: an extract clipped to another "
            "area?); give an OSM extract that contains the road network"
        )
    used = refs[keep_ref]
    node_ids, way_nodes = np.unique(used, return_inverse=True)
    sel = np.searchsorted(ids, node_ids)
    lon = x[sel].astype(np.float64) / 1e7  # libosmium: fixed point / coordinate_precision
    lat = y[sel].astype(np.float64) / 1e7
    way_first = np.zeros(len(run_way) + 1, dtype=np.int64)
    np.cumsum(run_len[run_ok], out=way_first[1:])

    way_tags = np.empty((n_ways, len(WAY_TAGS)), dtype=object)
    for i, row in enumerate(ways.tags):
        way_tags[i, :] = row
    tags = {k: way_tags[run_way, j] for j, k in enumerate(WAY_TAGS)}
    node_tags = {k: np.full(len(node_ids), None, dtype=object) for k in NODE_TAGS}
    if nodes.tagged:
        tagged_ids = np.fromiter(nodes.tagged, dtype=np.int64, count=len(nodes.tagged))
        pos = np.searchsorted(node_ids, tagged_ids)
        pos_c = np.minimum(pos, max(len(node_ids) - 1, 0))
        hit = (pos < len(node_ids)) & (node_ids[pos_c] == tagged_ids)
        for nid, p in zip(tagged_ids[hit].tolist(), pos_c[hit].tolist(), strict=True):
            for j, k in enumerate(NODE_TAGS):
                node_tags[k][p] = nodes.tagged[nid][j]

    if n_cut or n_dropped:
        parts = []
        if n_cut:
            parts.append(f"{n_cut:,} road way(s) were cut at the extract boundary (they use "
                         "nodes missing from the file: it is a clipped extract)")
        if n_dropped:
            parts.append(f"{n_dropped:,} road way(s) were left out (fewer than two consecutive "
                         "of their nodes are in the file)")
        advice = ""
        if not present.all():
            advice = ("; routes that leave the extract are not found — export the area with "
                      "complete ways (`osmium extract --strategy complete_ways`) to avoid this")
        log.warning("%s: %s%s", name, "; ".join(parts), advice)
    return OsmWays(
        node_ids=node_ids.astype(np.int64),
        lon=lon,
        lat=lat,
        way_ids=np.asarray(ways.ids, dtype=np.int64)[run_way],
        way_first=way_first,
        way_nodes=way_nodes.astype(np.int64).ravel(),
        tags=tags,
        source_file=name,
        n_ways_read=ways.n_ways,
        n_cut_ways=n_cut,
        n_dropped_ways=n_dropped,
        node_tags=node_tags,
    )


def download_roads(
    out: str | Path,
    *,
    place: str | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    overpass_url: str | None = None,
    timeout_s: float = 180.0,
) -> Path:
    """Download a region's roads from OpenStreetMap (Overpass) into an OSM XML file.

    An *option* for offices with internet: everything else in Anzhi reads files.  The
    download is osmnx's (``graph_from_place`` / ``graph_from_bbox`` with the ``"all"``
    network filter, unsimplified, every component kept), saved with
    ``osmnx.save_graph_xml`` so that :func:`read_osm_ways` and ``anzhi gaps --roads`` read
    it like any extract.  The file is written to a temporary name and renamed, so an
    interrupted download leaves nothing.

    Parameters
    ----------
    out
        ``.osm`` file to write.
    place
        A place name Nominatim knows, e.g. ``"石屏县, 云南省"`` (needs a second service).
    bbox
        ``(west, south, east, north)`` in WGS84 degrees, instead of ``place``.
    overpass_url
        Overpass API endpoint (default osmnx's public one); e.g. a mirror or a local server.
    timeout_s
        Seconds to wait for each server response.

    Returns
    -------
    Path
        The written file.

    Raises
    ------
    InputError
        Neither or both of ``place`` and ``bbox``, a bad box, or ``out`` not ``.osm``.
    DataSourceError
        The servers cannot be reached or return nothing (with the offline alternative).
    """

    target = Path(out)
    if (place is None) == (bbox is None):
        raise InputError("give either a place name or a bounding box (west, south, east, north)")
    if not target.name.lower().endswith(".osm"):
        raise InputError(f"{target.name}: the download is written as OSM XML; name it *.osm")
    if bbox is not None:
        west, south, east, north = (float(v) for v in bbox)
        if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
            raise InputError(
                f"bounding box {bbox} is not (west, south, east, north) in degrees with "
                "west < east and south < north; e.g. 102.3,23.5,102.9,24.0"
            )
    import osmnx as ox

    settings: dict[str, Any] = {
        "useful_tags_way": list(WAY_TAGS),
        "useful_tags_node": list(NODE_TAGS),
        "all_oneway": True,  # save_graph_xml needs one edge per way direction as drawn
        "requests_timeout": float(timeout_s),
        "use_cache": False,
    }
    if overpass_url:  # a mirror or the office's own server: no public slot etiquette
        settings["overpass_url"] = overpass_url.rstrip("/")
        settings["overpass_rate_limit"] = False
    with _osmnx_settings(**settings):
        try:
            if place is not None:
                G = ox.graph_from_place(place, network_type="all", simplify=False,
                                        retain_all=True)
            else:
                G = ox.graph_from_bbox((west, south, east, north), network_type="all",
                                       simplify=False, retain_all=True)
        except (OSError, ValueError, RuntimeError) as exc:
            # requests' connection errors are OSErrors; osmnx raises ValueError /
            # InsufficientResponseError (a ValueError) for empty answers
            where = f"place {place!r}" if place is not None else f"box {bbox}"
            raise DataSourceError(
                f"cannot download the roads of {where} from OpenStreetMap: {exc}. The "
                "download needs internet; offline, give an extract instead (.osm.pbf "
                "from download.geofabrik.de, or an .osm export from JOSM)"
            ) from exc
        atomic_write(target, lambda tmp: ox.save_graph_xml(G, tmp))
    return target


# =========================================================================== the osmnx reference path


@contextlib.contextmanager
def _osmnx_settings(**values: Any) -> Iterator[None]:
    """Set ``osmnx.settings`` attributes for the duration of the block, then restore them.

    osmnx keeps its settings as module attributes; this restores every one we touch even
    on error, so no global change outlives a call (not safe for threads sharing osmnx).
    """
    import osmnx as ox

    saved = {k: getattr(ox.settings, k) for k in values}
    try:
        for k, v in values.items():
            setattr(ox.settings, k, v)
        yield
    finally:
        for k, v in saved.items():
            setattr(ox.settings, k, v)


def _write_ways_xml(ways: OsmWays, dst: Path) -> dict[int, int]:
    """Write the road pieces and their nodes as OSM XML for ``osmnx.graph_from_xml``.

    Only the tags osmnx keeps are written; coordinates are written with Python's shortest
    round-trip repr, so osmnx reads back exactly the same floats.  osmnx keys ways by id, so
    the pieces of a way cut at an extract boundary get temporary ids above every real one.

    Returns
    -------
    dict
        ``{temporary id: OSM way id}`` of the cut pieces (empty for a complete extract).
    """
    way_ids = ways.way_ids.tolist()
    seen: dict[int, int] = {}
    for wid in way_ids:
        seen[wid] = seen.get(wid, 0) + 1
    next_id = max([abs(w) for w in way_ids] + [0]) + 1
    synthetic: dict[int, int] = {}
    node_cols = [(k, ways.node_tags[k].tolist()) for k in NODE_TAGS if k in ways.node_tags]
    way_cols = [(k, ways.tags[k].tolist()) for k in WAY_TAGS if k in ways.tags]
    refs = ways.node_ids[ways.way_nodes].tolist()
    first = ways.way_first.tolist()
    with dst.open("w", encoding="utf-8") as out:
        out.write('<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6" generator="anzhi">\n')
        for i, (nid, lat, lon) in enumerate(
            zip(ways.node_ids.tolist(), ways.lat.tolist(), ways.lon.tolist(), strict=True)
        ):
            tags = "".join(f'<tag k="{k}" v={quoteattr(col[i])}/>'
                           for k, col in node_cols if col[i] is not None)
            head = f'<node id="{nid}" version="1" lat="{lat!r}" lon="{lon!r}"'
            out.write(f"{head}>{tags}</node>\n" if tags else f"{head}/>\n")
        for p, wid in enumerate(way_ids):
            if seen[wid] > 1:
                synthetic[next_id] = wid
                wid = next_id
                next_id += 1
            nds = "".join(f'<nd ref="{r}"/>' for r in refs[first[p]:first[p + 1]])
            tags = "".join(f'<tag k="{k}" v={quoteattr(col[p])}/>'
                           for k, col in way_cols if col[p] is not None)
            out.write(f'<way id="{wid}" version="1">{nds}{tags}</way>\n')
        out.write("</osm>\n")
    return synthetic


def _restore_way_ids(G: nx.MultiDiGraph, synthetic: Mapping[int, int]) -> None:
    """Give edges of cut pieces their OSM way id back (merging ids as osmnx merges them)."""
    for _, _, data in G.edges(data=True):
        osmid = data.get("osmid")
        if isinstance(osmid, list):
            ids = [synthetic.get(i, i) for i in osmid]
            data["osmid"] = ids[0] if len(set(ids)) == 1 else list(set(ids))
        elif osmid in synthetic:
            data["osmid"] = synthetic[osmid]


def load_road_graph(path: str | Path, *, progress: bool | None = None) -> nx.MultiDiGraph:
    """Read the road network of an OSM file as an osmnx-style ``MultiDiGraph``.

    This is the pure osmnx path (the reference of :func:`geo.osmgraph.road_graph_from_ways`):
    the road ways are read with pyosmium, written to a temporary OSM XML file and read by
    ``osmnx.graph_from_xml`` + ``osmnx.simplify_graph``.

    Parameters
    ----------
    path
        ``.osm``, ``.osm.bz2``, ``.osm.gz`` (OSM XML) or ``.osm.pbf`` file.  Clipped extracts
        are read: ways are cut where they leave the file (see the module notes).
    progress
        Show a progress bar while reading; default ``get_settings().progress``.

    Returns
    -------
    networkx.MultiDiGraph
        Unprojected (EPSG:4326) osmnx graph of the highways only (see the module notes for
        the filter), all components kept, oneway streets in one direction only (as
        ``osmnx.graph_from_xml(..., bidirectional=False)``), simplified with class changes
        kept as nodes.  Edge ``length`` is in metres (great-circle); nodes carry osmnx's
        ``street_count``.  ``G.graph["source_file"]`` is the file name and
        ``G.graph["n_cut_ways"]`` the number of ways cut at the extract boundary.

    Raises
    ------
    DataSourceError
        The file is missing, unreadable, corrupt or not an OSM file.
    InputError
        The file holds no road.
    """
    # imported here: osmnx is slow to import
    import osmnx as ox

    src = Path(path)
    ways = read_osm_ways(src, progress=progress)
    with tempfile.TemporaryDirectory(prefix="anzhi-roads-") as tmp:
        filtered = Path(tmp) / "highways.osm"
        synthetic = _write_ways_xml(ways, filtered)
        with _osmnx_settings(
            useful_tags_way=list(WAY_TAGS),
            useful_tags_node=list(NODE_TAGS),
            all_oneway=False,
            default_crs="epsg:4326",
            cache_only_mode=False,
        ):
            G = ox.graph_from_xml(filtered, bidirectional=False, simplify=False, retain_all=True)
            G = ox.simplify_graph(G, edge_attrs_differ=["highway"])
    if synthetic:
        _restore_way_ids(G, synthetic)
    nx.set_node_attributes(G, ox.stats.count_streets_per_node(G), name="street_count")
    G.graph["source_file"] = src.name
    G.graph["n_cut_ways"] = ways.n_cut_ways
    return G
