"""OSM road ways as arrays → the simplified road graph, without osmnx (the fast path).

:func:`layers.osm.read_osm_ways` reads the road ways of an OSM file into an :class:`OsmWays`
(plain arrays, no file I/O here).  From it:

* :func:`road_graph_from_ways` builds the routing core :class:`geo.roads.RoadGraph` for one
  travel profile directly with numpy — the same graph as
  ``RoadGraph.from_networkx(load_road_graph(path), profile=...)`` but without building
  networkx graphs (much faster, a fraction of the memory);
* :func:`ways_to_networkx` builds the osmnx-style simplified ``MultiDiGraph`` that
  :func:`layers.osm.load_road_graph` returns, for notebooks that call osmnx functions.

What "the same graph" means
---------------------------
Both reproduce, array for array, what osmnx 2.1 does in
``graph_from_xml(bidirectional=False, simplify=False, retain_all=True)`` followed by
``simplify_graph(G, edge_attrs_differ=["highway"])``:

1. *Edges.*  Consecutive duplicate nodes of a way are dropped; a way is oneway when its
   ``oneway`` tag is one of ``yes, true, 1, -1, reverse, T, F`` or it is a
   ``junction=roundabout``; a oneway way tagged ``-1, reverse, T`` runs against its node
   order.  Every consecutive node pair gives an edge ``u → v`` (``reversed=False``) and,
   unless oneway, ``v → u`` (``reversed=True``), in the order osmnx inserts them.  Its
   ``length`` is the great-circle (haversine, R = 6,371,009 m) distance between the nodes.
2. *Endpoints* (nodes that stay): a node with a self-loop; or no incoming or no outgoing
   edge; or not exactly two distinct neighbours with 2 or 4 directed edges; or incident
   edges of more than one ``highway`` class.
3. *Simplified edges.*  From every endpoint, through every successor that is not an
   endpoint, the path is followed node by node (each interstitial node has exactly two
   neighbours, so the next node is "the other one") until it reaches an endpoint — a ring
   that comes back to its start closes into a self-loop — or until there is no way on (an
   OSM digitisation quirk: the path then ends where it stopped, exactly as osmnx).  The
   path's nodes become the edge geometry, its length is the sum of the lengths of its
   segments (the first parallel edge of each segment, as osmnx), its class the one class
   along it.  The interstitial nodes (and their edges) are removed.
4. *Rings* — weakly connected components without any endpoint after simplification (an
   isolated roundabout, a closed footway around a square) — are removed.

The endpoint test, the path following (by pointer jumping over directed node pairs) and the
ring removal are all vectorised; there is no Python loop per edge on the
:func:`road_graph_from_ways` path.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib.metadata import version as _package_version
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from scipy.sparse.csgraph import connected_components

from anzhi.core.errors import InputError
from anzhi.core.osmtags import NODE_TAGS, WAY_TAGS
from geo.geodesy import great_circle_m
from geo.roads import Profile, RoadGraph, concat_ranges, edge_speed

if TYPE_CHECKING:
    import networkx as nx

__all__ = ["OsmWays", "road_graph_from_ways", "ways_to_networkx"]

#: ``oneway`` values osmnx reads as "one direction only" (``graph._add_paths``).
_ONEWAY_VALUES = frozenset({"yes", "true", "1", "-1", "reverse", "T", "F"})
#: ``oneway`` values meaning "only against the node order".
_REVERSED_VALUES = frozenset({"-1", "reverse", "T"})
# =========================================================================== the ways


@dataclass(frozen=True, eq=False)
class OsmWays:
    """The road ways of an OSM file as arrays (from :func:`layers.osm.read_osm_ways`).

    A *piece* is a run of consecutive nodes of one way that are all in the file: a complete
    way is one piece; a way of a clipped extract that leaves and re-enters the area is cut
    at its missing nodes into several pieces with the same way id (runs of fewer than two
    nodes are dropped).  Pieces are in file order, the pieces of a way consecutive.

    Attributes
    ----------
    node_ids
        OSM ids of the nodes used by the pieces, sorted and unique, ``int64`` (n,).
    lon, lat
        Node coordinates, WGS84 degrees, ``float64`` (n,) (OSM's 1e-7° fixed point / 1e7).
    way_ids
        OSM way id of each piece, ``int64`` (p,); a way cut in two gives two equal ids.
    way_first
        Offsets of each piece's nodes in :attr:`way_nodes`, ``int64`` (p + 1,): piece ``i``
        is ``way_nodes[way_first[i]:way_first[i + 1]]`` (at least 2 nodes, in way order,
        consecutive duplicates kept as in the file).
    way_nodes
        Node indices into :attr:`node_ids`, ``int64`` (way_first[-1],).
    tags
        For each key of ``anzhi.core.osmtags.WAY_TAGS`` (``highway``, ``oneway``, ``junction``,
        ``name``, ``maxspeed``...), the tag value of each piece as an ``object`` array (p,)
        of ``str``, ``None`` where the way has no such tag.
    source_file
        Name of the file the ways were read from (no folder), for messages.
    n_ways_read
        Number of ways in the file (roads or not).
    n_cut_ways
        Number of road ways cut at the extract boundary (they use nodes missing from the
        file) that still gave at least one piece.
    n_dropped_ways
        Number of road ways left out because fewer than two consecutive nodes of theirs are
        in the file (ways outside a clipped extract, or one-node ways).
    node_tags
        For each key of ``anzhi.core.osmtags.NODE_TAGS`` (``highway``, ``junction``, ``railway``,
        ``ref``), the tag value of each node as an ``object`` array (n,) of ``str`` or
        ``None``; empty mapping when unknown (then the nodes get no tag attributes in
        :func:`ways_to_networkx`).
    """

    node_ids: NDArray[np.int64]
    lon: NDArray[np.float64]
    lat: NDArray[np.float64]
    way_ids: NDArray[np.int64]
    way_first: NDArray[np.int64]
    way_nodes: NDArray[np.int64]
    tags: Mapping[str, NDArray[np.object_]]
    source_file: str
    n_ways_read: int
    n_cut_ways: int
    n_dropped_ways: int
    node_tags: Mapping[str, NDArray[np.object_]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n, p = len(self.node_ids), len(self.way_ids)
        problems = []
        if len(self.lon) != n or len(self.lat) != n:
            problems.append(f"lon/lat have {len(self.lon)}/{len(self.lat)} values for {n} nodes")
        if len(self.way_first) != p + 1 or (p + 1 and int(self.way_first[-1]) != len(self.way_nodes)):
            problems.append("way_first must hold p + 1 offsets ending at len(way_nodes)")
        elif p and int(np.diff(self.way_first).min()) < 2:
            problems.append("every piece needs at least 2 nodes")
        if len(self.way_nodes) and (int(self.way_nodes.min()) < 0 or int(self.way_nodes.max()) >= n):
            problems.append("way_nodes must be indices into node_ids")
        if n > 1 and not bool(np.all(self.node_ids[1:] > self.node_ids[:-1])):
            problems.append("node_ids must be sorted and unique")
        if "highway" not in self.tags:
            problems.append("tags needs at least the 'highway' key")
        for key, values in self.tags.items():
            if len(values) != p:
                problems.append(f"tags[{key!r}] has {len(values)} values for {p} pieces")
        for key, values in self.node_tags.items():
            if len(values) != n:
                problems.append(f"node_tags[{key!r}] has {len(values)} values for {n} nodes")
        if problems:
            raise InputError(f"inconsistent OsmWays of {self.source_file}: " + "; ".join(problems))

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return len(self.node_ids)

    @property
    def n_pieces(self) -> int:
        """Number of way pieces (ways, counting a way cut in k pieces k times)."""
        return len(self.way_ids)

    def tag(self, key: str) -> NDArray[np.object_]:
        """Values of one way tag per piece (``None`` where absent or not kept)."""
        values = self.tags.get(key)
        return values if values is not None else np.full(self.n_pieces, None, dtype=object)


# =========================================================================== simplification


@dataclass(frozen=True, eq=False)
class _Raw:
    """The unsimplified directed edges of the ways, in osmnx's insertion order."""

    u: NDArray[np.int64]
    v: NDArray[np.int64]
    piece: NDArray[np.int64]
    reversed: NDArray[np.bool_]
    length_m: NDArray[np.float64]
    cls: NDArray[np.int64]  # highway class code of the edge (index into classes)
    classes: NDArray[np.object_]
    one_way: NDArray[np.bool_]  # per piece


@dataclass(frozen=True, eq=False)
class _Simplified:
    """The osmnx-simplified graph as arrays (node indices into the ways' nodes)."""

    raw: _Raw
    node_keep: NDArray[np.bool_]  # (n,) nodes of the simplified graph
    u: NDArray[np.int64]  # (E,) simplified edges: kept raw edges first, then paths
    v: NDArray[np.int64]
    length_m: NDArray[np.float64]
    cls: NDArray[np.int64]
    raw_edge: NDArray[np.int64]  # (E,) raw edge index of a kept raw edge, -1 for a path
    geom_first: NDArray[np.int64]  # (E + 1,) offsets into geom_nodes
    geom_nodes: NDArray[np.int64]  # node sequence of each edge (u ... v)
    seg_first: NDArray[np.int64]  # (E + 1,) offsets into seg_edges (empty for raw edges)
    seg_edges: NDArray[np.int64]  # raw edge (first parallel) of each segment of a path


def _raw_edges(ways: OsmWays) -> _Raw:
    """Directed edges as ``graph_from_xml(bidirectional=False)`` adds them, with lengths."""
    n_pieces = ways.n_pieces
    counts = np.diff(ways.way_first)
    piece_of = np.repeat(np.arange(n_pieces, dtype=np.int64), counts)
    wn = ways.way_nodes
    # drop consecutive duplicate nodes (osmnx: groupby on each way's node list)
    keep = np.ones(len(wn), dtype=bool)
    keep[1:] = (wn[1:] != wn[:-1]) | (piece_of[1:] != piece_of[:-1])
    seq = wn[keep]
    seq_piece = piece_of[keep]
    seq_len = np.bincount(seq_piece, minlength=n_pieces)
    seq_start = np.zeros(n_pieces + 1, dtype=np.int64)
    np.cumsum(seq_len, out=seq_start[1:])

    oneway_tag = ways.tag("oneway")
    junction = ways.tag("junction")
    one_way = np.fromiter(
        (o in _ONEWAY_VALUES or j == "roundabout" for o, j in zip(oneway_tag, junction, strict=True)),
        dtype=bool, count=n_pieces,
    )
    against = one_way & np.fromiter((o in _REVERSED_VALUES for o in oneway_tag), dtype=bool,
                                    count=n_pieces)
    if against.any():  # reverse those pieces' node order
        pos = np.arange(len(seq), dtype=np.int64)
        start = seq_start[seq_piece]
        mirrored = start + seq_len[seq_piece] - 1 - (pos - start)
        seq = seq[np.where(against[seq_piece], mirrored, pos)]

    pair = np.flatnonzero(seq_piece[1:] == seq_piece[:-1])  # position of u in seq
    fu, fv, fp = seq[pair], seq[pair + 1], seq_piece[pair]
    two = ~one_way[fp]
    u = np.concatenate([fu, fv[two]])
    v = np.concatenate([fv, fu[two]])
    piece = np.concatenate([fp, fp[two]])
    back = np.concatenate([np.zeros(len(fu), dtype=bool), np.ones(int(two.sum()), dtype=bool)])
    pos = np.concatenate([pair, pair[two]])
    order = np.lexsort((pos, back, piece))  # per way: its edges, then the reverse ones
    u, v, piece, back = u[order], v[order], piece[order], back[order]

    highway = ways.tag("highway")
    classes, piece_cls = np.unique(np.asarray([str(h) for h in highway], dtype=object),
                                   return_inverse=True)
    length = great_circle_m(ways.lat[u], ways.lon[u], ways.lat[v], ways.lon[v])
    return _Raw(u=u, v=v, piece=piece, reversed=back, length_m=length,
                cls=piece_cls.astype(np.int64)[piece], classes=classes, one_way=one_way)


def _endpoints(n: int, u: NDArray[np.int64], v: NDArray[np.int64],
               cls: NDArray[np.int64]) -> NDArray[np.bool_]:
    """``osmnx.simplification._is_endpoint`` for every node (``edge_attrs_differ=["highway"]``)."""
    out_deg = np.bincount(u, minlength=n)
    in_deg = np.bincount(v, minlength=n)
    loop = np.zeros(n, dtype=bool)
    loop[u[u == v]] = True
    a, b = np.minimum(u, v), np.maximum(u, v)
    pairs = np.unique(a * n + b)
    pa, pb = pairs // n, pairs % n
    n_neigh = np.bincount(pa, minlength=n) + np.bincount(pb[pa != pb], minlength=n)
    deg = out_deg + in_deg
    n_cls_max = int(cls.max()) + 1 if len(cls) else 1
    node_cls = np.unique(np.concatenate([u, v]) * n_cls_max + np.concatenate([cls, cls]))
    n_cls = np.bincount(node_cls // n_cls_max, minlength=n)
    return (loop | (out_deg == 0) | (in_deg == 0)
            | ~((n_neigh == 2) & ((deg == 2) | (deg == 4))) | (n_cls > 1))


def _simplify(ways: OsmWays) -> _Simplified:
    """``simplify_graph(G, edge_attrs_differ=["highway"])`` of the ways' graph, as arrays."""
    raw = _raw_edges(ways)
    n = ways.n_nodes
    is_end = _endpoints(n, raw.u, raw.v, raw.cls)

    # directed node pairs (a MultiDiGraph's successors), with the first parallel edge of each
    key, first_edge = np.unique(raw.u * n + raw.v, return_index=True)
    pu, pv = key // n, key % n
    n_pairs = len(key)
    # an interstitial node has exactly two neighbours: "the other one" = their sum - this one
    a, b = np.minimum(raw.u, raw.v), np.maximum(raw.u, raw.v)
    und = np.unique(a * n + b)
    ua, ub = und // n, und % n
    neigh_sum = np.zeros(n, dtype=np.int64)
    np.add.at(neigh_sum, ua, ub)
    np.add.at(neigh_sum, ub, ua)

    # next pair of each pair u→v whose head v is interstitial: v→w, w the other neighbour
    nxt = np.full(n_pairs, -1, dtype=np.int64)
    through = np.flatnonzero(~is_end[pv])
    w = neigh_sum[pv[through]] - pu[through]
    want = pv[through] * n + w
    at = np.searchsorted(key, want)
    at_c = np.minimum(at, max(n_pairs - 1, 0))
    found = (at < n_pairs) & (key[at_c] == want) if n_pairs else np.zeros(0, dtype=bool)
    nxt[through[found]] = at_c[found]
    prev = np.full(n_pairs, -1, dtype=np.int64)
    has_next = nxt >= 0
    prev[nxt[has_next]] = np.flatnonzero(has_next)

    # pointer jumping along prev: the first pair of each chain and the rank in it
    ptr = np.where(prev >= 0, prev, np.arange(n_pairs, dtype=np.int64))
    rank = (prev >= 0).astype(np.int64)
    for _ in range(max(1, int(n_pairs).bit_length() + 1)):
        nptr = ptr[ptr]
        if np.array_equal(nptr, ptr):
            break
        rank = rank + rank[ptr]
        ptr = nptr
    is_start = is_end[pu] & ~is_end[pv]  # endpoint → a successor that is not one
    on_path = is_start[ptr] & (prev[ptr] < 0)  # rings of interstitial pairs never get here
    members = np.flatnonzero(on_path)
    members = members[np.lexsort((rank[members], ptr[members]))]
    head = ptr[members]
    new_path = np.ones(len(members), dtype=bool)
    new_path[1:] = head[1:] != head[:-1]
    path_start = np.flatnonzero(new_path)  # position in members of each path's first pair
    path_len = np.diff(np.append(path_start, len(members)))  # segments per path
    path_last = members[path_start + path_len - 1]
    path_u = pu[members[path_start]]
    path_v = pv[path_last]
    seg_edges = first_edge[members]
    path_length = (np.add.reduceat(raw.length_m[seg_edges], path_start)
                   if len(members) else np.zeros(0))
    path_cls = raw.cls[seg_edges[path_start]] if len(members) else np.zeros(0, dtype=np.int64)

    # interstitial nodes of the paths go, with every edge touching them
    last = np.zeros(len(members), dtype=bool)
    last[path_start + path_len - 1] = True
    removed = np.zeros(n, dtype=bool)
    removed[pv[members[~last]]] = True
    raw_keep = np.flatnonzero(~removed[raw.u] & ~removed[raw.v])
    path_keep = ~removed[path_u] & ~removed[path_v]

    n_raw, n_path = len(raw_keep), int(path_keep.sum())
    su = np.concatenate([raw.u[raw_keep], path_u[path_keep]])
    sv = np.concatenate([raw.v[raw_keep], path_v[path_keep]])
    slen = np.concatenate([raw.length_m[raw_keep], path_length[path_keep]])
    scls = np.concatenate([raw.cls[raw_keep], path_cls[path_keep]])
    raw_edge = np.concatenate([raw_keep, np.full(n_path, -1, dtype=np.int64)])

    # geometry node sequences: u, v for kept raw edges; u, heads of the segments for paths
    seg_count = np.concatenate([np.zeros(n_raw, dtype=np.int64), path_len[path_keep]])
    seg_first = np.zeros(n_raw + n_path + 1, dtype=np.int64)
    np.cumsum(seg_count, out=seg_first[1:])
    kept_seg = np.repeat(path_keep, path_len)
    seg_list = seg_edges[kept_seg]
    mem_kept = members[kept_seg]
    geom_count = np.concatenate([np.full(n_raw, 2, dtype=np.int64), path_len[path_keep] + 1])
    geom_first = np.zeros(n_raw + n_path + 1, dtype=np.int64)
    np.cumsum(geom_count, out=geom_first[1:])
    geom_nodes = np.empty(int(geom_first[-1]), dtype=np.int64)
    geom_nodes[geom_first[:n_raw]] = raw.u[raw_keep]
    geom_nodes[geom_first[:n_raw] + 1] = raw.v[raw_keep]
    if n_path:
        kept_len = path_len[path_keep]
        p_first = geom_first[n_raw:-1]
        geom_nodes[p_first] = path_u[path_keep]
        which = np.repeat(np.arange(n_path), kept_len)
        within = np.arange(len(mem_kept)) - np.repeat(np.cumsum(kept_len) - kept_len, kept_len)
        geom_nodes[p_first[which] + 1 + within] = pv[mem_kept]

    # rings: weakly connected components with no endpoint once simplified are dropped
    node_in = ~removed
    is_end2 = _endpoints(n, su, sv, scls)
    adj = sp.coo_matrix((np.ones(len(su), dtype=np.int8), (su, sv)), shape=(n, n)).tocsr()
    _, label = connected_components(adj, directed=True, connection="weak")
    comp_ok = np.bincount(label[node_in & is_end2], minlength=int(label.max(initial=0)) + 1) > 0
    node_keep = node_in & comp_ok[label]
    ek = node_keep[su]
    if not ek.all():
        sel = np.flatnonzero(ek)
        g_cnt, s_cnt = np.diff(geom_first)[sel], np.diff(seg_first)[sel]
        geom_nodes = geom_nodes[concat_ranges(geom_first[sel], g_cnt)]
        seg_list = seg_list[concat_ranges(seg_first[sel], s_cnt)]
        geom_first = np.concatenate([[0], np.cumsum(g_cnt)]).astype(np.int64)
        seg_first = np.concatenate([[0], np.cumsum(s_cnt)]).astype(np.int64)
        su, sv, slen, scls, raw_edge = su[sel], sv[sel], slen[sel], scls[sel], raw_edge[sel]
    return _Simplified(raw=raw, node_keep=node_keep, u=su, v=sv, length_m=slen, cls=scls,
                       raw_edge=raw_edge, geom_first=geom_first, geom_nodes=geom_nodes,
                       seg_first=seg_first, seg_edges=seg_list)


# =========================================================================== RoadGraph


def road_graph_from_ways(ways: OsmWays, *, profile: Profile) -> RoadGraph:
    """The routing core of the ways for one travel profile, without networkx (fast path).

    Gives the same :class:`~geo.roads.RoadGraph` as
    ``RoadGraph.from_networkx(load_road_graph(path), profile=profile)`` for the file the
    ways were read from: the same node ids, the same directed edges (ends, class, length in
    metres, time in minutes), physical edges and CSR matrices (see the module notes for the
    osmnx rules reproduced); only the order of edges and physical edges may differ.

    Parameters
    ----------
    ways
        Road ways, e.g. from :func:`layers.osm.read_osm_ways`.
    profile
        Travel profile (speeds per class in km/h; classes with no speed are dropped;
        ``respect_oneway=False`` also adds every edge in reverse).

    Returns
    -------
    RoadGraph

    Raises
    ------
    InputError
        When no road is usable by the profile.
    """
    s = _simplify(ways)
    cache: dict[str, tuple[str, float | None]] = {}
    used_cls: list[str] = []
    speed_of = np.full(len(s.raw.classes), np.nan)
    for i, c in enumerate(s.raw.classes.tolist()):
        name, class_kph = edge_speed(profile, c, cache)
        used_cls.append(name)
        if class_kph is not None:
            speed_of[i] = class_kph
    usable = np.flatnonzero(~np.isnan(speed_of[s.cls]))
    if len(usable) == 0:
        raise InputError(
            f"no road in the graph is usable by travel profile {profile.name!r} "
            f"({len(s.u)} edges, none of a class with a speed); use another "
            "profile or give speeds for these classes in a profile file"
        )
    u, v = s.u[usable], s.v[usable]
    nodes = np.unique(np.concatenate([u, v]))
    length = s.length_m[usable]
    speed_kph = speed_of[s.cls[usable]]
    time = length / (speed_kph * 1000.0 / 60.0)
    cls_names = np.asarray(used_cls, dtype=object)[s.cls[usable]]
    g_cnt = np.diff(s.geom_first)[usable]
    vert = s.geom_nodes[concat_ranges(s.geom_first[usable], g_cnt)]
    return RoadGraph.from_arrays(
        node_ids=ways.node_ids[nodes],
        lon=ways.lon[nodes],
        lat=ways.lat[nodes],
        one_u=np.searchsorted(nodes, u).astype(np.int64),
        one_v=np.searchsorted(nodes, v).astype(np.int64),
        length_m=length,
        time_min=time,
        highway=np.asarray(cls_names.tolist(), dtype=str),
        vert_lonlat=np.column_stack([ways.lon[vert], ways.lat[vert]]),
        vert_count=g_cnt,
        profile=profile,
    )


# =========================================================================== networkx


def _aggregate(values: list[Any]) -> Any:
    """osmnx's merge of one attribute along a simplified path: one value or a list of uniques."""
    if len(set(values)) == 1:
        return values[0]
    return list(set(values))


def ways_to_networkx(ways: OsmWays) -> nx.MultiDiGraph:
    """The osmnx-style simplified road graph of the ways (what :func:`load_road_graph` gives).

    Parameters
    ----------
    ways
        Road ways, e.g. from :func:`layers.osm.read_osm_ways`.

    Returns
    -------
    networkx.MultiDiGraph
        Unprojected (``crs="epsg:4326"``) graph with the layout of
        ``osmnx.graph_from_xml`` + ``simplify_graph(edge_attrs_differ=["highway"])``: nodes
        keyed by OSM id with ``x`` (lon), ``y`` (lat), their ``highway``/``junction``/
        ``railway``/``ref`` tags and ``street_count``; edges with ``osmid`` (way id, or a
        list of ids), the kept way tags, ``oneway`` and ``reversed`` (bool), ``length``
        (metres, great-circle) and, for simplified edges, ``geometry`` (a WGS84 shapely
        ``LineString``).  Graph attributes ``simplified``, ``source_file`` and
        ``n_cut_ways``.  Equal to :func:`layers.osm.load_road_graph` on the same file,
        except that the keys of parallel simplified edges may be numbered differently and
        list-valued attributes may list their values in another order.
    """
    import networkx as nx
    import shapely

    s = _simplify(ways)
    raw = s.raw
    G = nx.MultiDiGraph(
        created_date="{:%Y-%m-%d %H:%M:%S}".format(dt.datetime.now()),  # noqa: UP032
        created_with=f"OSMnx {_package_version('osmnx')}",
        crs="epsg:4326",
    )
    keep = np.flatnonzero(s.node_keep)
    node_ids = ways.node_ids.tolist()
    lon, lat = ways.lon.tolist(), ways.lat.tolist()
    node_tag_cols = [(k, ways.node_tags[k]) for k in NODE_TAGS if k in ways.node_tags]
    for i in keep.tolist():
        attrs: dict[str, Any] = {"y": lat[i], "x": lon[i]}
        for k, col in node_tag_cols:
            if col[i] is not None:
                attrs[k] = col[i]
        G.add_node(node_ids[i], **attrs)

    # the attributes osmnx gives each unsimplified edge of a piece
    way_ids = ways.way_ids.tolist()
    tag_cols = [(k, ways.tags[k].tolist()) for k in WAY_TAGS if k in ways.tags]
    one_way = raw.one_way.tolist()
    piece_attrs: list[dict[str, Any]] = []
    for p in range(ways.n_pieces):
        d: dict[str, Any] = {"osmid": way_ids[p]}
        for k, col in tag_cols:
            if col[p] is not None:
                d[k] = col[p]
        d["oneway"] = one_way[p]
        piece_attrs.append(d)
    r_piece, r_rev, r_len = raw.piece.tolist(), raw.reversed.tolist(), raw.length_m.tolist()

    def edge_attrs(e: int) -> dict[str, Any]:
        return {**piece_attrs[r_piece[e]], "reversed": r_rev[e], "length": r_len[e]}

    su, sv = s.u.tolist(), s.v.tolist()
    raw_edge = s.raw_edge.tolist()
    seg_first, seg_edges = s.seg_first.tolist(), s.seg_edges.tolist()
    geom_first, geom_nodes = s.geom_first.tolist(), s.geom_nodes.tolist()
    for j in range(len(su)):
        e = raw_edge[j]
        if e >= 0:
            G.add_edge(node_ids[su[j]], node_ids[sv[j]], **edge_attrs(e))
            continue
        collected: dict[str, list[Any]] = {}
        for seg in seg_edges[seg_first[j]:seg_first[j + 1]]:
            for k, val in edge_attrs(seg).items():
                collected.setdefault(k, []).append(val)
        merged = {k: (sum(vals) if k == "length" else _aggregate(vals))
                  for k, vals in collected.items()}
        path = geom_nodes[geom_first[j]:geom_first[j + 1]]
        merged["geometry"] = shapely.LineString([(lon[i], lat[i]) for i in path])
        G.add_edge(node_ids[su[j]], node_ids[sv[j]], **merged)

    nx.set_node_attributes(G, _street_counts(G), name="street_count")
    G.graph["simplified"] = True
    G.graph["source_file"] = ways.source_file
    G.graph["n_cut_ways"] = ways.n_cut_ways
    return G


def _street_counts(G: nx.MultiDiGraph) -> dict[int, int]:
    """``osmnx.stats.count_streets_per_node``: physical streets meeting at each node.

    Two opposite directed edges are one street (so ``k`` edges ``u → v`` and ``l`` edges
    ``v → u`` are ``max(k, l)`` streets); any self-loops count 2 once.
    """
    counts: dict[int, int] = dict.fromkeys(G.nodes, 0)
    adj = G._succ  # read-only walk of the adjacency
    for u, nbrs in adj.items():
        for v, keys in nbrs.items():
            if u == v:
                counts[u] += 2
            elif u < v or u not in adj[v]:
                back = len(adj[v].get(u, {}))
                k = max(len(keys), back)
                counts[u] += k
                counts[v] += k
    return counts
