"""Road paths for drawing: the line a trip from a site to a facility follows on the graph.

The access table's distance and time are exact (points join the road mid-edge, off-road legs
walked, :mod:`geo.routing`); a map also wants the *line*.  :func:`road_paths` gives it: one
Dijkstra from the site's snapped node with predecessors, the node sequence to each target's
snapped node, each hop drawn along its physical edge's geometry (the shortest parallel edge
by the weight), the off-road legs as straight pieces at both ends.  The line is for display;
its length can differ from ``dist_m`` by the part of the end edges a mid-edge join skips.
"""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pyproj
import shapely
import shapely.ops
from numpy.typing import ArrayLike, NDArray
from scipy.sparse.csgraph import dijkstra

from geo.network import snap_points
from geo.roads import RoadGraph, Weight

__all__ = ["path_lengths_m", "road_lines", "road_paths"]


def _hop_edges(graph: RoadGraph, weight: Weight) -> dict[tuple[int, int], int]:
    """(u, v) node pair (u < v) → its physical edge with the least weight."""
    fwd, bwd = graph.pedge_weight(weight)
    cost = np.fmin(fwd, bwd)
    best: dict[tuple[int, int], int] = {}
    for k, (u, v) in enumerate(zip(graph.pedge_u.tolist(), graph.pedge_v.tolist(), strict=True)):
        key = (u, v) if u <= v else (v, u)
        if key not in best or cost[k] < cost[best[key]]:
            best[key] = k
    return best


def _node_path(pred: NDArray[np.int32], source: int, target: int) -> list[int] | None:
    """Nodes from ``source`` to ``target`` along the predecessor tree (``None``: no path)."""
    if target == source:
        return [source]
    out = [target]
    node = target
    while node != source:
        node = int(pred[node])
        if node < 0:
            return None
        out.append(node)
    return out[::-1]


def _hop_coords(graph: RoadGraph, hops: dict[tuple[int, int], int], a: int, b: int
                ) -> list[tuple[float, float]]:
    """Metric coordinates of the hop a → b along its edge's line."""
    k = hops.get((a, b) if a <= b else (b, a))
    if k is None:
        return [(float(graph.x_m[a]), float(graph.y_m[a])), (float(graph.x_m[b]), float(graph.y_m[b]))]
    coords = list(shapely.get_coordinates(graph.pedge_geometry[k]))
    if int(graph.pedge_u[k]) != a:
        coords = coords[::-1]
    return [(float(x), float(y)) for x, y in coords]


def _ends(graph: RoadGraph, edge: int, fraction: float, weight: Weight
          ) -> list[tuple[int, float, list[tuple[float, float]]]]:
    """The ways from a joined point to the two end nodes of its edge: ``(node, cost, coords
    from the joined point to that node)``, only the directions the profile may travel."""
    line = graph.pedge_geometry[edge]
    fwd, bwd = graph.pedge_weight(weight)
    u, v = int(graph.pedge_u[edge]), int(graph.pedge_v[edge])
    to_u = shapely.ops.substring(line, 0.0, fraction, normalized=True)
    to_v = shapely.ops.substring(line, fraction, 1.0, normalized=True)
    out = []
    if np.isfinite(bwd[edge]):  # point → u runs against the line's direction
        out.append((u, float(bwd[edge]) * fraction,
                    [(float(x), float(y)) for x, y in shapely.get_coordinates(to_u)[::-1]]))
    if np.isfinite(fwd[edge]):
        out.append((v, float(fwd[edge]) * (1.0 - fraction),
                    [(float(x), float(y)) for x, y in shapely.get_coordinates(to_v)]))
    return out


def road_paths(
    graph: RoadGraph, from_lon: float, from_lat: float, to_lon: ArrayLike, to_lat: ArrayLike,
    *, weight: Weight = "length",
) -> list[shapely.LineString | None]:
    """The road line from one point to each of several, WGS84 (for the map).

    Both points join the road at the nearest point of the nearest road, as the routing
    does; the path leaves the start's edge by whichever end gives the least total weight
    and enters the end's edge likewise (two Dijkstra runs, one from each end node).

    Parameters
    ----------
    graph
        The road graph the trips were routed on.
    from_lon, from_lat
        The start (a site), WGS84 degrees.
    to_lon, to_lat
        The ends (its nearest facilities), WGS84 degrees.
    weight
        ``"length"`` (shortest) or ``"time"`` (fastest) path.

    Returns
    -------
    list of shapely.LineString or None
        One line per end, EPSG:4326: the start, its road join, along the roads, the end's
        road join, the end; ``None`` where either point is off the network or the two lie
        on unconnected parts of it.
    """
    tx = np.atleast_1d(np.asarray(to_lon, dtype=np.float64))
    ty = np.atleast_1d(np.asarray(to_lat, dtype=np.float64))
    snap = snap_points(graph, np.append(from_lon, tx), np.append(from_lat, ty))
    if snap.edge[0] < 0 or not len(tx):
        return [None] * len(tx)
    starts = _ends(graph, int(snap.edge[0]), float(snap.fraction[0]), weight)
    if not starts:
        return [None] * len(tx)
    dist, pred = dijkstra(graph.weight_csr(weight), directed=True,
                          indices=[n for n, _, _ in starts], return_predecessors=True)
    hops = _hop_edges(graph, weight)
    to_m = pyproj.Transformer.from_crs("EPSG:4326", graph.crs_metric, always_xy=True)
    to_ll = pyproj.Transformer.from_crs(graph.crs_metric, "EPSG:4326", always_xy=True)
    start_xy = to_m.transform(from_lon, from_lat)
    out: list[shapely.LineString | None] = []
    for i in range(len(tx)):
        e = int(snap.edge[i + 1])
        ends = [] if e < 0 else _ends(graph, e, float(snap.fraction[i + 1]), weight)
        # into the end's edge from a node: the reverse of its way out, cost of the other way
        best = None
        for a, (na, ca, _) in enumerate(starts):
            for nb, _, cb_coords in ends:
                back = _into(graph, e, nb, float(snap.fraction[i + 1]), weight)
                total = ca + float(dist[a, nb]) + back
                if np.isfinite(total) and (best is None or total < best[0]):
                    best = (total, a, nb, cb_coords)
        if best is None:
            out.append(None)
            continue
        _, a, nb, cb_coords = best
        nodes = _node_path(pred[a], starts[a][0], nb)
        if nodes is None:
            out.append(None)
            continue
        coords: list[tuple[float, float]] = [start_xy, *starts[a][2]]
        for p, q in zip(nodes[:-1], nodes[1:], strict=True):
            coords += _hop_coords(graph, hops, p, q)[1:]
        coords += cb_coords[::-1][1:]
        coords.append(to_m.transform(float(tx[i]), float(ty[i])))
        xs, ys = to_ll.transform([c[0] for c in coords], [c[1] for c in coords])
        out.append(shapely.LineString(np.column_stack([xs, ys])))
    return out


def _into(graph: RoadGraph, edge: int, node: int, fraction: float, weight: Weight) -> float:
    """Weight of travelling from ``node`` (an end of ``edge``) along it to the joined point."""
    fwd, bwd = graph.pedge_weight(weight)
    if node == int(graph.pedge_u[edge]):
        return float(fwd[edge]) * fraction
    return float(bwd[edge]) * (1.0 - fraction)


def path_lengths_m(lines: Sequence[shapely.LineString | None], crs_metric: str) -> NDArray[np.float64]:
    """Planar length of each line in ``crs_metric``, metres (NaN for ``None``)."""
    to_m = pyproj.Transformer.from_crs("EPSG:4326", crs_metric, always_xy=True)
    out = np.full(len(lines), np.nan)
    for i, line in enumerate(lines):
        if line is not None:
            xy = shapely.get_coordinates(line)
            x, y = to_m.transform(xy[:, 0], xy[:, 1])
            out[i] = float(np.hypot(np.diff(x), np.diff(y)).sum())
    return out


def road_lines(graph: RoadGraph, *, simplify_m: float = 10.0) -> gpd.GeoDataFrame:
    """The streets of a road graph as lines with their ``highway`` class, for the map.

    One line per physical edge (both directions of a street are one line), simplified with a
    tolerance of ``simplify_m`` metres (Douglas–Peucker, 0 keeps every vertex), in the
    graph's metric CRS.  Only the ways the graph's profile uses are in it (the walking
    graph has them all).
    """
    highway = np.full(len(graph.pedge_u), "", dtype=object)
    highway[graph.edge_pedge] = graph.edge_highway.astype(object)
    geoms = graph.pedge_geometry
    if simplify_m > 0 and len(geoms):
        geoms = shapely.simplify(geoms, simplify_m)
    return gpd.GeoDataFrame({"highway": highway}, geometry=np.asarray(geoms),
                            crs=graph.crs_metric)
