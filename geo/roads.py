"""The road graph: an osmnx ``MultiDiGraph`` (or OSM ways) → CSR arrays for routing.

Three steps, each usable on its own:

1. :func:`layers.osm.load_road_graph` reads an OSM file (``.osm``, ``.osm.bz2``, ``.osm.gz``,
   ``.osm.pbf``) into an osmnx-style :class:`networkx.MultiDiGraph` of the highways only
   (notebooks can use it with any osmnx function);
2. :func:`geo.travel.load_profile` (also importable from here) reads a travel profile
   (speed per highway class) from ``geo/profiles/<name>.yaml`` or a user's YAML file;
3. :meth:`RoadGraph.from_networkx` turns the graph into the array core for one profile:
   node arrays, edge arrays and ``n × n`` CSR matrices of edge length (m) and travel time
   (min) that :mod:`geo.routing` hands to :func:`scipy.sparse.csgraph.dijkstra`, plus the
   *physical edges* (one line per street, with its geometry in metres and what each direction
   costs) that :func:`geo.routing.snap_points` snaps points onto.

:func:`layers.osm.load_road_graph` is the *pure osmnx path*: the reference the fast path is checked and
benchmarked against.  The fast path, :func:`layers.osm.read_osm_ways` +
:func:`geo.osmgraph.road_graph_from_ways`, gives the same :class:`RoadGraph` straight from
arrays (no networkx graph), several times faster and in a fraction of the memory.

Physical edges
--------------
A two-way street is two directed edges in an osmnx graph (``u→v`` and ``v→u``, the second
with the reversed geometry).  For snapping, :class:`RoadGraph` merges the directed edges that
join the same two nodes along the same line into one *physical edge* ``a–b`` (``a ≤ b``, node
indices) with its geometry in the metric CRS, oriented from ``a`` to ``b``, and per direction
the length (m) and the time (min) of the usable directed edges that run that way (``inf`` when
none: the street is oneway for the profile).  Parallel directed edges with *identical* geometry
(e.g. a street mapped twice with different classes) merge too, each direction keeping the
minimum, exactly like the CSR matrices; parallel edges with different geometries stay separate
physical edges.  Edges without a ``geometry`` attribute are the straight segment ``u→v``.

Which ways are roads
--------------------
(Reading is in :mod:`layers.osm`; what follows describes its road filter.) ``osmnx.graph_from_xml`` turns *every* way of the file into edges, buildings and land use
included (277k of 473k edges in Andorra).  :func:`layers.osm.load_road_graph` therefore first reads the
file with pyosmium (:func:`layers.osm.read_osm_ways`: two streaming passes, the road ways
and then only the nodes they use) and writes a temporary OSM XML file holding only the ways
osmnx's own ``"all"`` network filter would download — a ``highway`` tag, not ``area=yes``,
and a highway value other than ``abandoned, construction, no, planned, platform, proposed,
raceway, razed, rest_area, services`` — with the tags osmnx keeps, plus the nodes those
ways use; only then does osmnx read it.  Relations are dropped.

Clipped extracts
----------------
An extract cut at a boundary (``osmium extract`` with the default strategy, a Geofabrik
sub-region...) has ways that use nodes missing from the file.  Each such way is *cut at its
missing nodes*: every run of at least two consecutive nodes present in the file is kept as
a piece of the way (its edges keep the way's id and tags), runs of one node are dropped.  A
warning says how many ways were cut (``G.graph["n_cut_ways"]``); routes that would leave the
extract are of course not found.

Simplification keeps class changes
----------------------------------
The graph is simplified with ``osmnx.simplify_graph(G, edge_attrs_differ=["highway"])``:
a node where the highway class changes stays a node, so every simplified edge has exactly
one class and its travel time is exact (osmnx's default would merge a ``tertiary`` and
its ``track`` continuation into one edge with ``highway=[...]`` in arbitrary order).
Graphs from elsewhere may still carry list-valued ``highway``; :meth:`RoadGraph.from_networkx`
then uses the *fastest* usable class of the list (documented, deterministic).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal, NamedTuple, cast

import networkx as nx
import numpy as np
import pyproj
import scipy.sparse as sp
import shapely
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from anzhi.core.errors import InputError, ProblemCollector
from geo.crs import local_metric_crs
from geo.geodesy import great_circle_m
from geo.travel import Profile, load_profile, profile_names

__all__ = [
    "Profile",
    "RoadGraph",
    "concat_ranges",
    "csr_min",
    "edge_speed",
    "load_profile",
    "profile_names",
]

Weight = Literal["length", "time"]


# =========================================================================== array core


def csr_min(
    u: NDArray[np.int64], v: NDArray[np.int64], w: NDArray[np.float64], n: int
) -> sp.csr_matrix:
    """``n × n`` CSR with ``w[i]`` at ``(u[i], v[i])``, the minimum over parallel edges.

    Zero weights are kept as explicit entries (csgraph treats them as edges).
    """
    order = np.lexsort((w, v, u))
    u, v, w = u[order], v[order], w[order]
    if len(u):
        first = np.ones(len(u), dtype=bool)
        first[1:] = (u[1:] != u[:-1]) | (v[1:] != v[:-1])
        u, v, w = u[first], v[first], w[first]
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(u, minlength=n), out=indptr[1:])
    return sp.csr_matrix((w.astype(np.float64), v.astype(np.int32), indptr), shape=(n, n))


def concat_ranges(starts: NDArray[np.int64], counts: NDArray[np.int64]) -> NDArray[np.int64]:
    """Concatenation of ``arange(s, s + c)`` for every (start, count) pair, vectorised."""
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    nz = counts > 0
    s, c = starts[nz].astype(np.int64), counts[nz].astype(np.int64)
    steps = np.ones(total, dtype=np.int64)
    firsts = np.concatenate([[0], np.cumsum(c)[:-1]])
    steps[firsts] = s - np.concatenate([[0], s[:-1] + c[:-1] - 1])
    return np.cumsum(steps)


def _class_list(value: Any) -> list[str]:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return []
    if isinstance(value, list | tuple | set):
        return [str(x) for x in value]
    return [str(value)]


def edge_speed(
    profile: Profile, highway: Any, cache: dict[str, tuple[str, float | None]]
) -> tuple[str, float | None]:
    """(class used, speed km/h or None) of an edge's ``highway`` value.

    A list (merged edges from a default osmnx simplification) uses its fastest usable class.
    """
    classes = _class_list(highway)
    key = "|".join(sorted(classes))
    hit = cache.get(key)
    if hit is not None:
        return hit
    if not classes:
        result: tuple[str, float | None] = ("", profile.speed_kph("default"))
    else:
        scored = [(profile.speed_kph(c), c) for c in sorted(classes)]
        usable = [(s, c) for s, c in scored if s is not None]
        if usable:
            s, c = max(usable, key=lambda t: t[0])
            result = (c, s)
        else:
            result = (scored[0][1], None)
    cache[key] = result
    return result


def _edge_coords(
    geometry: Any, *, u: int, v: int, lon: NDArray[np.float64], lat: NDArray[np.float64]
) -> NDArray[np.float64] | None:
    """WGS84 coordinates ``(k, 2)`` of an edge's line, oriented from node ``u`` to node ``v``.

    ``None`` geometry gives the straight segment; a geometry drawn from ``v`` to ``u`` (its
    first vertex nearer ``v`` and its last nearer ``u``) is reversed.  Returns ``None`` when
    the geometry is not a LineString of at least two finite vertices.
    """
    pu = np.array([lon[u], lat[u]])
    pv = np.array([lon[v], lat[v]])
    if geometry is None:
        return np.vstack([pu, pv])
    if not isinstance(geometry, shapely.LineString) or geometry.is_empty:
        return None
    coords = np.asarray(shapely.get_coordinates(geometry), dtype=np.float64)
    if len(coords) < 2 or not np.isfinite(coords).all():
        return None
    if u != v:
        straight = np.abs(coords[0] - pu).sum() + np.abs(coords[-1] - pv).sum()
        flipped = np.abs(coords[0] - pv).sum() + np.abs(coords[-1] - pu).sum()
        if flipped < straight:
            coords = coords[::-1]
    return coords


@dataclass(frozen=True, eq=False)
class RoadGraph:
    """The road network of one profile as arrays (the routing core).

    Nodes are indexed ``0..n-1``; every array below is in that order.  Only edges usable
    by the profile are kept, and only nodes with at least one such edge.

    Attributes
    ----------
    node_ids
        OSM node ids, ``int64`` (n,).
    lon, lat
        Node coordinates, WGS84 degrees, ``float64`` (n,).
    x_m, y_m
        Node coordinates in :attr:`crs_metric`, metres (n,).
    crs_metric
        The local metric CRS of the graph (UTM zone), e.g. ``"EPSG:32647"``.
    edge_u, edge_v
        Directed edges as node indices, ``int64`` (m,); parallel edges kept; for a profile
        that ignores oneway both directions of every road are present.
    edge_length_m
        Edge length, metres (great-circle, as osmnx), ``float64`` (m,).
    edge_time_min
        Edge travel time for the profile, minutes (m,).
    edge_highway
        Highway class whose speed was used, ``str`` (m,) (``""`` when the edge had none).
    edge_pedge
        Physical edge of each directed edge (index into the ``pedge_*`` arrays), ``int64`` (m,).
    edge_pedge_reversed
        ``True`` where the directed edge runs ``pedge_v → pedge_u`` (bool, (m,)).
    pedge_u, pedge_v
        End nodes of the physical edges (see the module notes), node indices with
        ``pedge_u <= pedge_v``, ``int64`` (p,).
    pedge_geometry
        Line of each physical edge in :attr:`crs_metric` (metres), oriented from ``pedge_u``
        to ``pedge_v``: a shapely ``LineString`` array (p,).
    pedge_length_fwd_m, pedge_length_bwd_m
        Length (m, great-circle as osmnx) of travelling the physical edge ``u → v``
        (forward) and ``v → u`` (backward); ``inf`` where that direction is not usable.
    pedge_time_fwd_min, pedge_time_bwd_min
        Travel time (min) of each direction; ``inf`` where it is not usable.
    length_m, time_min
        ``n × n`` directed CSR matrices: ``[i, j]`` = the shortest parallel edge from node
        ``i`` to ``j`` by length (m) or by time (min).  Zero-length edges are explicit
        entries.
    profile
        The profile the times and the usable edges were computed for.
    """

    node_ids: NDArray[np.int64]
    lon: NDArray[np.float64]
    lat: NDArray[np.float64]
    x_m: NDArray[np.float64]
    y_m: NDArray[np.float64]
    crs_metric: str
    edge_u: NDArray[np.int64]
    edge_v: NDArray[np.int64]
    edge_length_m: NDArray[np.float64]
    edge_time_min: NDArray[np.float64]
    edge_highway: NDArray[np.str_]
    edge_pedge: NDArray[np.int64]
    edge_pedge_reversed: NDArray[np.bool_]
    pedge_u: NDArray[np.int64]
    pedge_v: NDArray[np.int64]
    pedge_geometry: NDArray[np.object_]
    pedge_length_fwd_m: NDArray[np.float64]
    pedge_length_bwd_m: NDArray[np.float64]
    pedge_time_fwd_min: NDArray[np.float64]
    pedge_time_bwd_min: NDArray[np.float64]
    length_m: sp.csr_matrix
    time_min: sp.csr_matrix
    profile: Profile

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return int(len(self.node_ids))

    @property
    def n_edges(self) -> int:
        """Number of directed edges (parallel edges included)."""
        return int(len(self.edge_u))

    @property
    def n_pedges(self) -> int:
        """Number of physical edges (see the module notes)."""
        return int(len(self.pedge_u))

    @property
    def pedge_fwd_ok(self) -> NDArray[np.bool_]:
        """``True`` where a physical edge can be travelled ``pedge_u → pedge_v``."""
        return np.isfinite(self.pedge_length_fwd_m)

    @property
    def pedge_bwd_ok(self) -> NDArray[np.bool_]:
        """``True`` where a physical edge can be travelled ``pedge_v → pedge_u``."""
        return np.isfinite(self.pedge_length_bwd_m)

    def pedge_weight(self, weight: Weight) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """(forward, backward) cost of every physical edge: metres or minutes; ``inf`` = closed."""
        if weight == "length":
            return self.pedge_length_fwd_m, self.pedge_length_bwd_m
        if weight == "time":
            return self.pedge_time_fwd_min, self.pedge_time_bwd_min
        raise InputError(f"unknown routing weight {weight!r}; use 'length' or 'time'")

    def weight_csr(self, weight: Weight, *, reverse: bool = False) -> sp.csr_matrix:
        """The CSR matrix of ``weight`` (``"length"`` m or ``"time"`` min), or its transpose.

        The transpose (``reverse=True``) is built once per graph and cached; it keeps
        zero-weight edges.
        """
        if weight == "length":
            return self._length_rev if reverse else self.length_m
        if weight == "time":
            return self._time_rev if reverse else self.time_min
        raise InputError(f"unknown routing weight {weight!r}; use 'length' or 'time'")

    @cached_property
    def _length_rev(self) -> sp.csr_matrix:
        return csr_min(self.edge_v, self.edge_u, self.edge_length_m, self.n_nodes)

    @cached_property
    def _time_rev(self) -> sp.csr_matrix:
        return csr_min(self.edge_v, self.edge_u, self.edge_time_min, self.n_nodes)

    @cached_property
    def node_tree(self) -> cKDTree:
        """KD-tree of the node coordinates in :attr:`crs_metric` (built once per graph)."""
        return cKDTree(np.column_stack([self.x_m, self.y_m]))

    @cached_property
    def pedge_tree(self) -> shapely.STRtree:
        """``shapely.STRtree`` of :attr:`pedge_geometry` (metric CRS; built once per graph)."""
        return shapely.STRtree(self.pedge_geometry)

    @cached_property
    def pedge_geom_length_m(self) -> NDArray[np.float64]:
        """Planar length of each physical edge's line in :attr:`crs_metric`, metres (p,)."""
        return np.asarray(shapely.length(self.pedge_geometry), dtype=np.float64)

    @cached_property
    def pedge_vertex_measure(
        self,
    ) -> tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.float64]]:
        """Running lengths at the vertices of the physical edges' lines (built once per graph).

        Returns
        -------
        (first, cum_planar_m, cum_gc_m)
            ``first`` (p + 1,): index of each edge's first vertex in the concatenated vertex
            arrays (``first[i + 1] - 1`` is its last); ``cum_planar_m`` and ``cum_gc_m`` (V,):
            running planar length in :attr:`crs_metric` and great-circle length (the
            haversine osmnx uses for ``length``), metres, over all edges in order — the step
            from one edge's last vertex to the next edge's first counts 0, so both are
            non-decreasing and a point's position on an edge can be looked up with
            ``numpy.searchsorted``.
        """
        coords, which = shapely.get_coordinates(self.pedge_geometry, return_index=True)
        first = np.zeros(self.n_pedges + 1, dtype=np.int64)
        np.cumsum(np.bincount(which, minlength=self.n_pedges), out=first[1:])
        to_wgs84 = pyproj.Transformer.from_crs(self.crs_metric, "EPSG:4326", always_xy=True)
        lon, lat = (np.asarray(c, dtype=np.float64) for c in to_wgs84.transform(coords[:, 0],
                                                                                  coords[:, 1]))
        same = which[1:] == which[:-1]
        step_pl = np.where(same, np.hypot(*np.diff(coords, axis=0).T), 0.0)
        step_gc = np.where(same, great_circle_m(lat[:-1], lon[:-1], lat[1:], lon[1:]), 0.0)
        cum_pl = np.concatenate([[0.0], np.cumsum(step_pl)])
        cum_gc = np.concatenate([[0.0], np.cumsum(step_gc)])
        return first, cum_pl, cum_gc

    @classmethod
    def from_networkx(cls, G: nx.MultiDiGraph, *, profile: Profile) -> RoadGraph:
        """Build the array core of an osmnx-style graph for one travel profile.

        Parameters
        ----------
        G
            Unprojected (EPSG:4326) ``MultiDiGraph`` with integer node ids, node ``x``
            (lon) / ``y`` (lat) and edge ``length`` (m) and ``highway`` attributes, e.g. from
            :func:`layers.osm.load_road_graph`.  Oneway streets appear in one direction only.  An edge's
            optional ``geometry`` (a WGS84 ``LineString``, as osmnx adds to simplified edges)
            is its line; without one the edge is the straight segment between its nodes.
        profile
            Travel profile: edges whose class has no speed (``null``) are dropped; with
            ``respect_oneway=False`` every edge is also added in reverse.  A list-valued
            ``highway`` uses its fastest usable class.

        Returns
        -------
        RoadGraph

        Raises
        ------
        InputError
            Projected graph, non-integer node ids, missing coordinates or lengths, an edge
            geometry that is not a line, or no edge usable by the profile.
        """
        _check_unprojected(G)
        pc = ProblemCollector(file=str(G.graph.get("source_file", "road graph")))
        edges = _nx_usable_edges(G, profile, pc)
        node_ids, one_u, one_v = _node_indices(edges.u, edges.v)
        lon, lat = _nx_node_lonlat(G, node_ids, pc)
        lines = _nx_edge_lines(edges, one_u, one_v, lon, lat, pc)
        return cls.from_arrays(
            node_ids=node_ids,
            lon=lon,
            lat=lat,
            one_u=one_u,
            one_v=one_v,
            length_m=np.asarray(edges.length_m, dtype=np.float64),
            time_min=np.asarray(edges.time_min, dtype=np.float64),
            highway=np.asarray(edges.highway, dtype=str),
            vert_lonlat=np.concatenate(lines),
            vert_count=np.fromiter((len(c) for c in lines), dtype=np.int64, count=len(lines)),
            profile=profile,
        )

    @classmethod
    def from_arrays(
        cls,
        *,
        node_ids: NDArray[np.int64],
        lon: NDArray[np.float64],
        lat: NDArray[np.float64],
        one_u: NDArray[np.int64],
        one_v: NDArray[np.int64],
        length_m: NDArray[np.float64],
        time_min: NDArray[np.float64],
        highway: NDArray[np.str_],
        vert_lonlat: NDArray[np.float64],
        vert_count: NDArray[np.int64],
        profile: Profile,
    ) -> RoadGraph:
        """The array core from the usable edges as arrays (the shared tail of both builders).

        :meth:`from_networkx` and :func:`geo.osmgraph.road_graph_from_ways` end here: this
        projects the nodes, merges the directed edges into physical edges, adds the reverse
        edges for a profile that ignores oneway and builds the CSR matrices.

        Parameters
        ----------
        node_ids, lon, lat
            The nodes (OSM ids sorted, WGS84 degrees), every one used by an edge.
        one_u, one_v
            The usable directed edges as node indices (oneway streets once).
        length_m, time_min, highway
            Per edge: length (m), travel time (min) and the class used.
        vert_lonlat, vert_count
            Each edge's line (WGS84, oriented ``u → v``, at least 2 vertices): the vertices of
            all edges concatenated ``(V, 2)`` and the count per edge.
        profile
            The travel profile (``respect_oneway=False`` adds every edge in reverse).

        Returns
        -------
        RoadGraph
        """
        crs_metric = local_metric_crs(lon, lat)
        to_metric = pyproj.Transformer.from_crs("EPSG:4326", crs_metric, always_xy=True)
        x_m, y_m = to_metric.transform(lon, lat)
        pedges = _physical_edges(one_u, one_v, vert_lonlat, vert_count, to_metric)
        edge_u, edge_v = one_u, one_v
        length_arr, time_arr, cls_arr = length_m, time_min, highway
        edge_pedge, edge_rev = pedges.of_edge, pedges.rev
        if not profile.respect_oneway:
            edge_u, edge_v = np.concatenate([one_u, one_v]), np.concatenate([one_v, one_u])
            length_arr, time_arr, cls_arr, edge_pedge = (
                np.concatenate([a, a]) for a in (length_m, time_min, highway, pedges.of_edge)
            )
            edge_rev = np.concatenate([pedges.rev, ~pedges.rev])
        n_p = len(pedges.u)
        length_fwd, length_bwd = _per_direction_min(edge_pedge, edge_rev, length_arr, n_p)
        time_fwd, time_bwd = _per_direction_min(edge_pedge, edge_rev, time_arr, n_p)
        n = len(node_ids)
        return cls(
            node_ids=node_ids,
            lon=lon,
            lat=lat,
            x_m=np.asarray(x_m, dtype=np.float64),
            y_m=np.asarray(y_m, dtype=np.float64),
            crs_metric=crs_metric.to_string(),
            edge_u=edge_u,
            edge_v=edge_v,
            edge_length_m=length_arr,
            edge_time_min=time_arr,
            edge_highway=cls_arr,
            edge_pedge=edge_pedge,
            edge_pedge_reversed=edge_rev,
            pedge_u=pedges.u,
            pedge_v=pedges.v,
            pedge_geometry=pedges.geometry,
            pedge_length_fwd_m=length_fwd,
            pedge_length_bwd_m=length_bwd,
            pedge_time_fwd_min=time_fwd,
            pedge_time_bwd_min=time_bwd,
            length_m=csr_min(edge_u, edge_v, length_arr, n),
            time_min=csr_min(edge_u, edge_v, time_arr, n),
            profile=profile,
        )


# =========================================================================== from networkx


class _NxEdges(NamedTuple):
    """The edges of a networkx graph usable by a profile, in graph order (OSM node ids)."""

    u: list[int]
    v: list[int]
    length_m: list[float]
    time_min: list[float]
    highway: list[str]
    geometry: list[Any]


def _check_unprojected(G: nx.MultiDiGraph) -> None:
    """Refuse a graph whose ``crs`` is not EPSG:4326 (a graph without one is taken as such)."""
    crs = G.graph.get("crs")
    if crs is not None and pyproj.CRS.from_user_input(crs) != pyproj.CRS.from_epsg(4326):
        raise InputError(
            f"the road graph is in {crs}, expected unprojected EPSG:4326; pass the graph "
            "from load_road_graph (or osmnx before ox.project_graph)"
        )


def _nx_usable_edges(G: nx.MultiDiGraph, profile: Profile, pc: ProblemCollector) -> _NxEdges:
    """The edges with a speed in ``profile`` and a valid length; raises on bad lengths or none."""
    edges = _NxEdges([], [], [], [], [], [])
    cache: dict[str, tuple[str, float | None]] = {}
    n_bad_length = 0
    for u, v, data in G.edges(data=True):
        cls_used, speed = edge_speed(profile, data.get("highway"), cache)
        if speed is None:
            continue
        length = data.get("length")
        try:
            length_f = float(length)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            length_f = math.nan
        if not (math.isfinite(length_f) and length_f >= 0):
            n_bad_length += 1
            if n_bad_length <= 5:
                pc.add(f"edge {u}→{v} has no valid 'length' in metres", value=length,
                       fix="build the graph with osmnx (it adds lengths) or add them")
            continue
        edges.u.append(u)
        edges.v.append(v)
        edges.length_m.append(length_f)
        edges.time_min.append(length_f / (speed * 1000.0 / 60.0))
        edges.highway.append(cls_used)
        edges.geometry.append(data.get("geometry"))
    if n_bad_length > 5:
        pc.add(f"{n_bad_length - 5} more edges without a valid length")
    pc.raise_if_any()
    if not edges.u:
        raise InputError(
            f"no road in the graph is usable by travel profile {profile.name!r} "
            f"({G.number_of_edges()} edges, none of a class with a speed); use another "
            "profile or give speeds for these classes in a profile file"
        )
    return edges


def _node_indices(
    us: list[int], vs: list[int]
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """(sorted node ids used by the edges, edge ends as indices into them); ids must be ints."""
    try:
        u_ids = np.asarray(us, dtype=np.int64)
        v_ids = np.asarray(vs, dtype=np.int64)
    except (TypeError, ValueError, OverflowError) as exc:
        raise InputError(
            f"road graph node ids must be integers (OSM ids): {exc}; relabel the nodes"
        ) from None
    node_ids = np.unique(np.concatenate([u_ids, v_ids]))
    one_u = np.searchsorted(node_ids, u_ids).astype(np.int64)
    one_v = np.searchsorted(node_ids, v_ids).astype(np.int64)
    return node_ids, one_u, one_v


def _nx_node_lonlat(
    G: nx.MultiDiGraph, node_ids: NDArray[np.int64], pc: ProblemCollector
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Longitude and latitude (node ``x`` / ``y``, degrees) of the nodes; raises when missing."""
    lon = np.empty(len(node_ids))
    lat = np.empty(len(node_ids))
    nodes = G.nodes
    for i, nid in enumerate(node_ids.tolist()):
        attrs = nodes[nid]
        try:
            lon[i] = float(attrs["x"])
            lat[i] = float(attrs["y"])
        except (KeyError, TypeError, ValueError):
            pc.add(f"node {nid} has no x (lon) / y (lat) coordinates", value=dict(attrs),
                   fix="build the graph with osmnx from a complete (unclipped) extract")
            lon[i] = lat[i] = math.nan
            if len(pc.problems) >= 5:
                break
    pc.raise_if_any()
    return lon, lat


def _nx_edge_lines(
    edges: _NxEdges,
    one_u: NDArray[np.int64],
    one_v: NDArray[np.int64],
    lon: NDArray[np.float64],
    lat: NDArray[np.float64],
    pc: ProblemCollector,
) -> list[NDArray[np.float64]]:
    """Each usable edge's line, WGS84 ``(k, 2)``, oriented u → v; raises on non-line geometry."""
    lines: list[NDArray[np.float64]] = []
    for j, (a, b, geom) in enumerate(zip(one_u.tolist(), one_v.tolist(), edges.geometry,
                                         strict=True)):
        coords = _edge_coords(geom, u=a, v=b, lon=lon, lat=lat)
        if coords is None:
            pc.add(f"edge {edges.u[j]}→{edges.v[j]} has a 'geometry' that is not a line of at "
                   "least two points", value=str(geom)[:80],
                   fix="give a WGS84 LineString from node u to node v, or drop the attribute")
            if len(pc.problems) >= 5:
                break
            continue
        lines.append(coords)
    pc.raise_if_any()
    return lines


# =========================================================================== physical edges


class _PhysicalEdges(NamedTuple):
    """The physical edges of the usable directed edges (see the module notes)."""

    of_edge: NDArray[np.int64]  # physical edge of each directed edge (m,)
    rev: NDArray[np.bool_]  # the directed edge runs pedge_v → pedge_u (m,)
    u: NDArray[np.int64]  # end nodes, u <= v (p,)
    v: NDArray[np.int64]
    geometry: NDArray[np.object_]  # lines in the metric CRS, oriented u → v (p,)


def _physical_edges(
    one_u: NDArray[np.int64],
    one_v: NDArray[np.int64],
    vert_lonlat: NDArray[np.float64],
    vert_count: NDArray[np.int64],
    to_metric: pyproj.Transformer,
) -> _PhysicalEdges:
    """One physical edge per unordered node pair and line (arguments as :meth:`RoadGraph.from_arrays`).

    The line is oriented from the smaller node index; a loop the lexicographically smaller
    way round.
    """
    m = len(one_u)
    first = np.zeros(m + 1, dtype=np.int64)
    np.cumsum(vert_count, out=first[1:])
    one_rev = one_u > one_v
    for j in np.flatnonzero(one_u == one_v).tolist():
        coords = vert_lonlat[first[j]:first[j + 1]]
        back = coords[::-1]
        one_rev[j] = tuple(back.ravel().tolist()) < tuple(coords.ravel().tolist())
    edge_of = np.repeat(np.arange(m, dtype=np.int64), vert_count)
    pos = np.arange(int(first[-1]), dtype=np.int64)
    src = np.where(one_rev[edge_of], first[edge_of] + first[edge_of + 1] - 1 - pos, pos)
    canon = np.ascontiguousarray(vert_lonlat[src], dtype=np.float64)
    end_a, end_b = np.minimum(one_u, one_v), np.maximum(one_u, one_v)
    buf = canon.tobytes()
    step = canon.itemsize * 2
    pedge_of: dict[tuple[int, int, bytes], int] = {}
    pedge_edge: list[int] = []
    one_pedge = np.empty(m, dtype=np.int64)
    for j, (a, b, s0, s1) in enumerate(zip(end_a.tolist(), end_b.tolist(),
                                           first[:-1].tolist(), first[1:].tolist(),
                                           strict=True)):
        key = (a, b, buf[s0 * step:s1 * step])
        k = pedge_of.get(key)
        if k is None:
            k = pedge_of[key] = len(pedge_edge)
            pedge_edge.append(j)
        one_pedge[j] = k
    del pedge_of, buf
    rep = np.asarray(pedge_edge, dtype=np.int64)
    counts = vert_count[rep]
    all_ll = canon[concat_ranges(first[rep], counts)]
    gx, gy = to_metric.transform(all_ll[:, 0], all_ll[:, 1])
    # With ``indices`` the result is always an array; shapely's stubs say
    # ``LineString | ndarray``.
    geometry = cast(NDArray[np.object_], shapely.linestrings(
        np.column_stack([np.asarray(gx, dtype=np.float64), np.asarray(gy, dtype=np.float64)]),
        indices=np.repeat(np.arange(len(rep)), counts),
    ))
    return _PhysicalEdges(of_edge=one_pedge, rev=one_rev, u=end_a[rep].copy(),
                          v=end_b[rep].copy(), geometry=geometry)


def _per_direction_min(
    edge_pedge: NDArray[np.int64],
    edge_rev: NDArray[np.bool_],
    values: NDArray[np.float64],
    n_pedges: int,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """(forward, backward) minimum of ``values`` over the directed edges of each physical edge.

    ``inf`` where no directed edge runs that way.
    """
    per_dir: list[NDArray[np.float64]] = []
    for backward in (False, True):
        arr = np.full(n_pedges, np.inf)
        sel = edge_rev == backward
        np.minimum.at(arr, edge_pedge[sel], values[sel])
        per_dir.append(arr)
    return per_dir[0], per_dir[1]
