"""The independent reference the routing tests compare with: networkx on the same roads,
with every snapped edge literally split at the snapped points (shared by the routing, network,
pair-core and matrix tests)."""

from __future__ import annotations

from collections import defaultdict

import networkx as nx
import numpy as np
import osmnx as ox
import pyproj
import shapely

from anzhi.core.settings import get_settings
from geo.roads import Profile, RoadGraph
from geo.network import SnapResult


def gc(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    return float(ox.distance.great_circle(lat1, lon1, lat2, lon2))


def speed_of(prof: Profile, highway: object) -> float | None:
    """Speed (km/h) of an edge's class; a list uses its fastest usable class (as RoadGraph)."""
    classes = highway if isinstance(highway, list) else [highway]
    usable = [s for s in (prof.speed_kph(str(c)) for c in classes) if s is not None]
    return max(usable) if usable else None


def edge_line(G: nx.MultiDiGraph, u: int, v: int, d: dict) -> np.ndarray:
    """WGS84 coordinates of an edge's line from u to v (its geometry, or the straight segment)."""
    if d.get("geometry") is not None:
        return np.asarray(shapely.get_coordinates(d["geometry"]))
    return np.array([[G.nodes[u]["x"], G.nodes[u]["y"]], [G.nodes[v]["x"], G.nodes[v]["y"]]])


def reference_graph(G: nx.MultiDiGraph, prof: Profile) -> nx.MultiDiGraph:
    """The edges networkx routes on: usable ones, both ways when the profile ignores oneway."""
    H = nx.MultiDiGraph()
    H.add_nodes_from(G.nodes(data=True))
    for u, v, d in G.edges(data=True):
        speed = speed_of(prof, d.get("highway"))
        if speed is None:
            continue
        line = edge_line(G, u, v, d)
        attrs = {"length": d["length"], "time": d["length"] / (speed * 1000 / 60)}
        H.add_edge(u, v, **attrs, line=line)
        if not prof.respect_oneway:
            H.add_edge(v, u, **attrs, line=line[::-1])
    return H


def split_reference(G: nx.MultiDiGraph, prof: Profile, rg: RoadGraph,
                    sites: tuple[np.ndarray, np.ndarray, SnapResult],
                    facs: tuple[np.ndarray, np.ndarray, SnapResult]) -> nx.MultiDiGraph:
    """The exact answer as a networkx graph .

    Every directed edge along a physical edge holding snapped points is literally cut at the
    points' fractions (pieces' length and time proportional); site ``("S", i)`` gets one edge
    to its point on the road, facility ``("F", j)`` one edge from its point (the off-road legs,
    great-circle, walked), and a site gets a straight edge ``S → F`` to every facility no
    farther than its own road (or, off the network, within ``at_site_radius_m``).  S nodes
    have no incoming and F nodes no outgoing edges, so one site → facility shortest path is
    the cost of that pair alone.
    """
    H = reference_graph(G, prof)
    by_pair: dict[frozenset[int], list[tuple[int, int, int]]] = defaultdict(list)
    for x, y, key in H.edges(keys=True):
        by_pair[frozenset((x, y))].append((x, y, key))
    to_m = pyproj.Transformer.from_crs("EPSG:4326", rg.crs_metric, always_xy=True)
    per_min = prof.offroad_speed_kph * 1000 / 60
    (s_lon, s_lat, s_snap), (f_lon, f_lat, f_snap) = sites, facs
    frac_all = np.concatenate([s_snap.fraction, f_snap.fraction])
    edge_all = np.concatenate([s_snap.edge, f_snap.edge])
    inner = (edge_all >= 0) & (frac_all > 0) & (frac_all < 1)
    cut_node: dict[tuple[int, float], object] = {}
    for e in np.unique(edge_all[inner]).tolist():
        fr = sorted(set(frac_all[inner & (edge_all == e)].tolist()))
        qs = [("Q", e, i) for i in range(len(fr))]
        cut_node.update({(e, f): q for f, q in zip(fr, qs, strict=True)})
        u_id, v_id = int(rg.node_ids[rg.pedge_u[e]]), int(rg.node_ids[rg.pedge_v[e]])
        pline = rg.pedge_geometry[e]
        n_split = 0
        for x, y, key in list(by_pair[frozenset((u_id, v_id))]):
            d = H.edges[x, y, key]
            own = shapely.LineString(np.column_stack(to_m.transform(d["line"][:, 0], d["line"][:, 1])))
            if shapely.equals_exact(own, pline, tolerance=1e-6) and x == u_id:
                forward = True
            elif shapely.equals_exact(shapely.reverse(own), pline, tolerance=1e-6) and x == v_id:
                forward = False
            else:
                continue  # a parallel street along another line
            H.remove_edge(x, y, key)
            stops, chain = [0.0, *fr, 1.0], [u_id, *qs, v_id]
            for f0, f1, n0, n1 in zip(stops[:-1], stops[1:], chain[:-1], chain[1:], strict=True):
                piece = {"length": (f1 - f0) * d["length"], "time": (f1 - f0) * d["time"]}
                H.add_edge(*((n0, n1) if forward else (n1, n0)), **piece)
            n_split += 1
        assert n_split >= 1, f"physical edge {e} matches no edge of the graph"

    def road_node(snap: SnapResult, i: int) -> object:
        e, f = int(snap.edge[i]), float(snap.fraction[i])
        if f == 0.0:
            return int(rg.node_ids[rg.pedge_u[e]])
        if f == 1.0:
            return int(rg.node_ids[rg.pedge_v[e]])
        return cut_node[(e, f)]

    radius = get_settings().at_site_radius_m
    for i in range(len(s_lon)):
        H.add_node(("S", i))
        placed = s_snap.edge[i] >= 0
        if placed:
            leg = gc(s_lon[i], s_lat[i], s_snap.snap_lon[i], s_snap.snap_lat[i])
            H.add_edge(("S", i), road_node(s_snap, i), length=leg, time=leg / per_min)
        walk = s_snap.snap_dist_m[i] if placed else radius
        for j in range(len(f_lon)):
            direct = gc(s_lon[i], s_lat[i], f_lon[j], f_lat[j])
            if direct <= walk:
                H.add_edge(("S", i), ("F", j), length=direct, time=direct / per_min)
    for j in np.flatnonzero(f_snap.edge >= 0).tolist():
        leg = gc(f_lon[j], f_lat[j], f_snap.snap_lon[j], f_snap.snap_lat[j])
        H.add_edge(road_node(f_snap, j), ("F", j), length=leg, time=leg / per_min)
    return H


def reference_matrix(H: nx.MultiDiGraph, n_s: int, n_f: int, weight: str) -> np.ndarray:
    """Every site → facility cost on a :func:`split_reference` graph (``inf`` = unreachable)."""
    out = np.full((n_s, n_f), np.inf)
    for i in range(n_s):
        reached = nx.single_source_dijkstra_path_length(H, ("S", i), weight=weight)
        for j in range(n_f):
            out[i, j] = reached.get(("F", j), np.inf)
    return out


def points_beside_edge(rg: RoadGraph, e: int, fractions: list[float], offsets_m: list[float]
                       ) -> tuple[np.ndarray, np.ndarray]:
    """WGS84 points ``offsets_m`` metres to the left (+) or right (−) of edge ``e`` at ``fractions``."""
    line = rg.pedge_geometry[e]
    glen = shapely.length(line)
    at = np.asarray(fractions) * glen
    p = shapely.get_coordinates(shapely.line_interpolate_point(line, at))
    ahead = shapely.get_coordinates(shapely.line_interpolate_point(line, np.minimum(at + 0.5, glen)))
    back = shapely.get_coordinates(shapely.line_interpolate_point(line, np.maximum(at - 0.5, 0.0)))
    t = ahead - back
    t /= np.linalg.norm(t, axis=1)[:, None]
    normal = np.column_stack([-t[:, 1], t[:, 0]])
    xy = p + normal * np.asarray(offsets_m)[:, None]
    to_ll = pyproj.Transformer.from_crs(rg.crs_metric, "EPSG:4326", always_xy=True)
    lon, lat = to_ll.transform(xy[:, 0], xy[:, 1])
    return np.asarray(lon), np.asarray(lat)
