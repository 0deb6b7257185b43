"""Candidate locations of new facilities: road points thinned to a spacing, the sites, the
user's own points, and why a candidate is excluded.

The array core of candidate generation for siting (issue 14; the models are in
:mod:`analysis.siting`):

* :func:`edge_points` — points along lines every ``spacing_m`` metres (the interior of each
  road, its ends being nodes);
* :func:`thin_points` — keep points, highest priority first, so that no two kept points are
  closer than ``spacing_m`` (a greedy Poisson-disc thinning, exact, on a KD-tree);
* :func:`road_candidates` — the adapter on a :class:`geo.roads.RoadGraph`: its nodes
  (junctions first) and points along its physical edges, thinned;
* :func:`combine_candidates` — road points, sites and user points as one
  :class:`Candidates` (sites and user points are never thinned);
* :func:`exclusion_reasons` and :func:`count_reasons` — the first reason each candidate is
  excluded for (:data:`EXCLUSION_REASONS`), from boolean masks the caller computes (slope
  above 25° from a DEM, inside an exclusion polygon, off the road network), and the counts.

Everything is arrays in a projected CRS in metres (the road graph's ``crs_metric``); no
file is read here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pyproj
import shapely
from numpy.typing import ArrayLike, NDArray
from scipy.spatial import cKDTree

from anzhi.core.errors import InputError
from geo.roads import RoadGraph

__all__ = [
    "CANDIDATE_SOURCES",
    "EXCLUSION_REASONS",
    "Candidates",
    "check_spacing",
    "combine_candidates",
    "count_reasons",
    "edge_points",
    "exclusion_reasons",
    "road_candidates",
    "steep_mask",
    "thin_points",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

#: Where a candidate comes from: a road junction or end (``node``), a point along a road
#: (``edge``), a relocation site (``site``), the user's candidate layer (``user``).
CANDIDATE_SOURCES: tuple[str, ...] = ("node", "edge", "site", "user")

#: Why a candidate is excluded, in the order they are checked (a candidate is counted under
#: the first that applies): inside an exclusion polygon (生态保护红线, 永久基本农田, ...),
#: slope above the limit at the candidate (25°), off the road network.
EXCLUSION_REASONS: tuple[str, ...] = ("exclusion_area", "steep_slope", "off_network")


@dataclass(frozen=True, eq=False)
class Candidates:
    """Candidate locations as aligned arrays.

    Attributes
    ----------
    x_m, y_m
        Position in the projected CRS ``crs`` (metres), ``float64``.
    lon, lat
        The same positions in WGS84 degrees.
    source
        One of :data:`CANDIDATE_SOURCES` per candidate (``object`` array of ``str``).
    ref
        The id the candidate carries: the site id (``site``), the user layer's id
        (``user``), the graph node index (``node``) or ``""`` (``edge``).
    crs
        The projected CRS of ``x_m``/``y_m`` (e.g. ``"EPSG:32647"``).
    """

    x_m: FloatArray
    y_m: FloatArray
    lon: FloatArray
    lat: FloatArray
    source: NDArray[np.object_]
    ref: NDArray[np.object_]
    crs: str

    def __len__(self) -> int:
        return len(self.x_m)

    def take(self, idx: ArrayLike) -> Candidates:
        """The candidates at positions (or where a bool mask is true) ``idx``."""
        i = np.asarray(idx)
        return Candidates(self.x_m[i], self.y_m[i], self.lon[i], self.lat[i], self.source[i],
                          self.ref[i], self.crs)

    @property
    def ids(self) -> NDArray[np.object_]:
        """A readable id per candidate: ``user`` candidates keep their own id, sites are
        ``site:<site id>``, road points ``node:<index>`` / ``edge:<k>`` (k counts the edge
        points in order)."""
        out = np.empty(len(self), dtype=object)
        k_edge = 0
        for i, (src, ref) in enumerate(zip(self.source, self.ref, strict=True)):
            if src == "user":
                out[i] = str(ref)
            elif src == "edge":
                k_edge += 1
                out[i] = f"edge:{k_edge}"
            else:
                out[i] = f"{src}:{ref}"
        return out


def check_spacing(spacing_m: object) -> float:
    """``spacing_m`` as a positive finite float, else an InputError naming it."""
    try:
        s = float(spacing_m)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        s = float("nan")
    if not (np.isfinite(s) and s > 0):
        raise InputError(f"candidate spacing_m = {spacing_m!r} is not a distance > 0 in metres "
                         "— fix: give e.g. spacing_m=200")
    return s


def edge_points(lines: ArrayLike, *, spacing_m: float) -> tuple[FloatArray, FloatArray, IntArray]:
    """Points every ``spacing_m`` metres along each line, ends left out.

    Parameters
    ----------
    lines
        Shapely ``LineString`` array in a projected CRS (metres).
    spacing_m
        Distance between consecutive points along a line, metres (> 0).

    Returns
    -------
    x_m, y_m, line
        The points (metres) and the index of the line each lies on; a line of length ``L``
        gets the points at ``spacing_m, 2·spacing_m, …`` strictly below ``L``.
    """
    step = check_spacing(spacing_m)
    geoms = np.asarray(lines, dtype=object)
    if geoms.size == 0:
        return np.zeros(0), np.zeros(0), np.zeros(0, dtype=np.int64)
    length = np.asarray(shapely.length(geoms), dtype=np.float64)
    count = np.maximum(np.ceil(length / step).astype(np.int64) - 1, 0)
    line = np.repeat(np.arange(len(geoms), dtype=np.int64), count)
    if not len(line):
        return np.zeros(0), np.zeros(0), line
    first = np.cumsum(count) - count
    k = np.arange(len(line), dtype=np.int64) - np.repeat(first, count) + 1
    pts = shapely.line_interpolate_point(geoms[line], k * step)
    return (np.asarray(shapely.get_x(pts), dtype=np.float64),
            np.asarray(shapely.get_y(pts), dtype=np.float64), line)


def thin_points(x_m: ArrayLike, y_m: ArrayLike, *, spacing_m: float,
                priority: ArrayLike | None = None) -> IntArray:
    """Indices of the points kept so that no two kept points are closer than ``spacing_m``.

    Greedy in priority order (higher first, ties by input order) after keeping one point
    per grid cell of side ``spacing_m / √2`` (two points in a cell are closer than
    ``spacing_m``): a point is kept unless a point kept before it is strictly closer than
    ``spacing_m``.  Every point dropped has a kept point within ``2 × spacing_m``.

    Parameters
    ----------
    x_m, y_m
        Coordinates in a projected CRS, metres.
    spacing_m
        Least distance between kept points, metres (> 0).
    priority
        Optional score per point; default input order.

    Returns
    -------
    numpy.ndarray
        Positions of the kept points, ascending.
    """
    step = check_spacing(spacing_m)
    x = np.asarray(x_m, dtype=np.float64)
    y = np.asarray(y_m, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise InputError(f"x_m and y_m must be 1-D arrays of one length, got {x.shape} and "
                         f"{y.shape}")
    n = len(x)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    order = np.arange(n) if priority is None else np.lexsort(
        (np.arange(n), -np.asarray(priority, dtype=np.float64)))
    xy = np.column_stack([x, y])
    # one point per cell of side spacing/√2 first (two points in one cell are too close), so
    # the exact pass below sees a bounded density whatever the input
    cell = np.floor(xy[order] / (step / np.sqrt(2.0))).astype(np.int64)
    _, first = np.unique(cell, axis=0, return_index=True)
    pre = order[np.sort(first)]
    tree = cKDTree(xy[pre])
    near = tree.query_ball_point(xy[pre], r=np.nextafter(step, 0.0))
    blocked = np.zeros(len(pre), dtype=bool)
    keep = np.zeros(len(pre), dtype=bool)
    for i in range(len(pre)):  # pre is in priority order
        if blocked[i]:
            continue
        keep[i] = True
        blocked[near[i]] = True
    return np.sort(pre[keep]).astype(np.int64)


def _to_lonlat(crs: str, x: FloatArray, y: FloatArray) -> tuple[FloatArray, FloatArray]:
    """WGS84 (lon, lat) of points in ``crs`` (metres)."""
    if not len(x):
        return np.zeros(0), np.zeros(0)
    tr = pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    lon, lat = tr.transform(x, y)
    return np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)


def road_candidates(graph: RoadGraph, *, spacing_m: float = 200.0) -> Candidates:
    """Road points of a graph as candidates: nodes and edge points, thinned to ``spacing_m``.

    Junctions (three or more physical edges) come first, then the other nodes, then points
    every ``spacing_m`` along each physical edge (:func:`edge_points`); :func:`thin_points`
    keeps them so that no two are closer than ``spacing_m`` (straight line, in
    ``graph.crs_metric``).

    Parameters
    ----------
    graph
        The road graph (nodes and physical edges in ``graph.crs_metric``, metres).
    spacing_m
        Least distance between two road candidates, metres (default 200).

    Returns
    -------
    Candidates
        Sources ``node`` (``ref`` = node index) and ``edge`` (``ref`` = ``""``).
    """
    step = check_spacing(spacing_m)
    degree = np.bincount(np.concatenate([graph.pedge_u, graph.pedge_v]),
                         minlength=graph.n_nodes).astype(np.float64)
    ex, ey, _ = edge_points(graph.pedge_geometry, spacing_m=step)
    x = np.concatenate([graph.x_m, ex])
    y = np.concatenate([graph.y_m, ey])
    prio = np.concatenate([np.where(degree >= 3, 2.0, 1.0), np.zeros(len(ex))])
    kept = thin_points(x, y, spacing_m=step, priority=prio)
    is_node = kept < graph.n_nodes
    lon = np.empty(len(kept))
    lat = np.empty(len(kept))
    lon[is_node], lat[is_node] = graph.lon[kept[is_node]], graph.lat[kept[is_node]]
    lon[~is_node], lat[~is_node] = _to_lonlat(graph.crs_metric, x[kept[~is_node]],
                                              y[kept[~is_node]])
    source = np.where(is_node, "node", "edge").astype(object)
    ref = np.where(is_node, kept.astype(str), "").astype(object)
    return Candidates(x[kept], y[kept], lon, lat, source, ref, graph.crs_metric)


def combine_candidates(
    road: Candidates | None, *, crs: str, site_lon: ArrayLike = (), site_lat: ArrayLike = (),
    site_ids: Sequence[str] = (), user_lon: ArrayLike = (), user_lat: ArrayLike = (),
    user_ids: Sequence[str] = (),
) -> Candidates:
    """Road candidates, then the sites, then the user's points, as one :class:`Candidates`.

    Parameters
    ----------
    road
        Road candidates (:func:`road_candidates`) or ``None``.
    crs
        The projected CRS (metres) of the result; the road candidates' when given.
    site_lon, site_lat, site_ids
        The sites (WGS84 degrees) and their ids (source ``site``).
    user_lon, user_lat, user_ids
        The user's candidate points (WGS84 degrees) and ids (source ``user``).

    Raises
    ------
    InputError
        Arrays of different lengths, non-finite coordinates, or a ``crs`` other than the
        road candidates'.
    """
    if road is not None and road.crs != crs:
        raise InputError(f"road candidates are in {road.crs}, not {crs}; fix: give crs={road.crs!r}")
    parts = [] if road is None else [road]
    tr = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    for what, lon_in, lat_in, ids in (("site", site_lon, site_lat, site_ids),
                                      ("user", user_lon, user_lat, user_ids)):
        lon = np.asarray(lon_in, dtype=np.float64).ravel()
        lat = np.asarray(lat_in, dtype=np.float64).ravel()
        if not (len(lon) == len(lat) == len(ids)):
            raise InputError(f"{what} candidates: {len(lon)} lon, {len(lat)} lat and {len(ids)} "
                             "ids — fix: give one of each per point")
        bad = ~(np.isfinite(lon) & np.isfinite(lat))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InputError(f"{what} candidate {ids[i]!r} has no finite position "
                             f"(lon {lon[i]!r}, lat {lat[i]!r}) — fix: give WGS84 degrees")
        if not len(lon):
            continue
        x, y = tr.transform(lon, lat)
        parts.append(Candidates(np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64),
                                lon, lat, np.full(len(lon), what, dtype=object),
                                np.asarray([str(i) for i in ids], dtype=object), crs))
    if not parts:
        e = np.zeros(0)
        return Candidates(e, e, e, e, np.zeros(0, dtype=object), np.zeros(0, dtype=object), crs)
    cat = {a: np.concatenate([getattr(p, a) for p in parts])
           for a in ("x_m", "y_m", "lon", "lat", "source", "ref")}
    return Candidates(cat["x_m"], cat["y_m"], cat["lon"], cat["lat"], cat["source"], cat["ref"],
                      crs)


def steep_mask(slope_deg: ArrayLike, *, max_slope_deg: float = 25.0) -> BoolArray:
    """``True`` where the slope is above ``max_slope_deg`` (NaN = unknown: not steep)."""
    s = np.asarray(slope_deg, dtype=np.float64)
    if not (0.0 <= float(max_slope_deg) <= 90.0):
        raise InputError(f"max_slope_deg = {max_slope_deg!r} is not an angle in degrees — fix: "
                         "give a value between 0 and 90, e.g. 25")
    with np.errstate(invalid="ignore"):
        return np.asarray(s > float(max_slope_deg), dtype=bool)


def exclusion_reasons(n: int, masks: Mapping[str, ArrayLike | None]) -> NDArray[np.object_]:
    """The first reason (:data:`EXCLUSION_REASONS` order) each of ``n`` candidates is
    excluded for, ``""`` for the candidates kept.

    Parameters
    ----------
    n
        Number of candidates.
    masks
        Reason → ``(n,)`` bool mask (``True`` = excluded for it), or ``None`` when the
        check was not made (no DEM, no exclusion layer).

    Raises
    ------
    InputError
        An unknown reason or a mask of another length or dtype.
    """
    unknown = sorted(set(masks) - set(EXCLUSION_REASONS))
    if unknown:
        raise InputError(f"unknown exclusion reason(s) {unknown} — fix: use {list(EXCLUSION_REASONS)}")
    out = np.full(n, "", dtype=object)
    for reason in reversed(EXCLUSION_REASONS):  # the first reason in order wins
        m = masks.get(reason)
        if m is None:
            continue
        arr = np.asarray(m)
        if arr.shape != (n,) or arr.dtype != np.bool_:
            raise InputError(f"exclusion mask {reason!r} has shape {arr.shape} and dtype "
                             f"{arr.dtype}, expected ({n},) bool — fix: one True/False per candidate")
        out[arr] = reason
    return out


def count_reasons(reasons: ArrayLike) -> dict[str, int]:
    """Candidates excluded per reason (every reason of :data:`EXCLUSION_REASONS`, 0 when
    none), and ``kept``."""
    r = np.asarray(reasons, dtype=object)
    out = {reason: int(np.sum(r == reason)) for reason in EXCLUSION_REASONS}
    out["kept"] = int(np.sum(r == ""))
    return out
