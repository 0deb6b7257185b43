"""Slope-aware walking times: Tobler's hiking function on edge grades from a DEM.

Pure arrays, no file I/O: the DEM arrives as a function ``elevation_m(x_m, y_m)`` (for a
raster file, :func:`layers.raster.dem_elevation_sampler` builds one).

Tobler's hiking function
------------------------
Tobler (1993) fitted Imhof's field observations of walking speed on slopes with

.. math::

    W(s) = 6 \\, e^{-3.5 \\, |s + 0.05|} \\quad \\text{km/h},

where ``s = dh/dx`` is the grade in the walking direction (rise over horizontal run,
dimensionless: ``0.10`` = 10 % uphill).  The fastest walking, 6 km/h, is on a gentle
descent of 5 % (``s = −0.05``); on flat ground ``W(0) = 6·e^{−0.175} ≈ 5.037`` km/h.

Source: W. Tobler, *Three presentations on geographical analysis and modeling: Non-isotropic
geographic modeling; Speculations on the geometry of geography; and Global spatial analysis*,
NCGIA Technical Report 93-1, University of California, Santa Barbara, 1993.

**Scaling the profile's speed, not 6 km/h.**  Anzhi's walk profile already says how fast
people walk on flat ground on each road class (``walk_speed_kph`` = 4.5 km/h by default,
stairs slower; see ``geo/profiles/walk.yaml``).  We therefore use only the *shape* of
Tobler's curve: :func:`tobler_factor` is ``W(s) / W(0)``, equal to 1 on flat ground, so a
flat road keeps exactly the profile's class speed and a slope multiplies it by the factor
(at most ``6 / 5.037 ≈ 1.19`` on a 5 % descent, ``≈ 0.70`` at 10 % uphill, ``≈ 0.35`` at
30 % uphill).  Using 6 km/h would silently replace the planner's chosen walking speed.

Grades larger than ``max_abs_grade`` (default 1.0, i.e. 100 % or 45°) in absolute value are
clipped to it: no road or path is that steep, such grades come from DEM artefacts (a road
in a narrow valley sampled on the hillside of a 90 m SRTM pixel), and the clip keeps every
time finite (Tobler's factor underflows to 0 beyond grades of about 200).

Edge times
----------
:func:`with_slope_times` walks each directed edge's line in pieces of at most ``step_m``
metres; each piece takes ``ground_m / (class speed × tobler_factor(grade))`` with the grade
taken in the direction of travel, so ``u → v`` and ``v → u`` differ.  Piece ``ground_m``
lengths are the planar piece lengths in the graph's metric CRS scaled so that they sum to
the edge's own ``length`` (osmnx's great-circle metres): distances stay osmnx's, and on a
flat DEM every time equals the flat profile time.  Grades use those ground lengths.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray

from anzhi.core.errors import InputError
from geo.roads import RoadGraph, csr_min

__all__ = [
    "TOBLER_FLAT_KPH",
    "TOBLER_PEAK_GRADE",
    "offroad_leg_min",
    "tobler_factor",
    "tobler_speed_kph",
    "with_slope_times",
]

#: Tobler's walking speed on flat ground, km/h: ``6·exp(−3.5·0.05)`` ≈ 5.037.
TOBLER_FLAT_KPH = 6.0 * math.exp(-3.5 * 0.05)
#: Grade of Tobler's fastest walking (a 5 % descent), dimensionless.
TOBLER_PEAK_GRADE = -0.05

#: Elevation function: metres at points ``(x_m, y_m)`` of a CRS, NaN where unknown.
ElevationFn = Callable[[NDArray[np.float64], NDArray[np.float64]], NDArray[np.float64]]


def tobler_speed_kph(grade: ArrayLike) -> NDArray[np.float64]:
    """Tobler's hiking function ``6·exp(−3.5·|grade + 0.05|)``, km/h.

    Parameters
    ----------
    grade
        Rise over horizontal run in the walking direction, dimensionless (``0.1`` = 10 %
        uphill, ``-0.1`` = 10 % downhill).  NaN gives NaN.

    Returns
    -------
    numpy.ndarray
        Walking speed, km/h (a NumPy scalar for scalar input).
    """
    g = np.asarray(grade, dtype=np.float64)
    return np.asarray(6.0 * np.exp(-3.5 * np.abs(g + 0.05)))[()]


def tobler_factor(grade: ArrayLike) -> NDArray[np.float64]:
    """Tobler's hiking function relative to flat ground: ``W(grade) / W(0)``.

    ``W(s) = 6·exp(−3.5·|s + 0.05|)`` km/h (Tobler 1993, NCGIA TR 93-1); the factor is
    ``exp(−3.5·(|s + 0.05| − 0.05))``: 1 on flat ground, its peak ``6 / 5.037 ≈ 1.191`` at a
    5 % descent, symmetric around ``s = −0.05``.  Multiply a flat-ground walking speed by it
    (see the module notes for why the profile speed is scaled rather than 6 km/h used).

    Parameters
    ----------
    grade
        Rise over horizontal run in the walking direction, dimensionless.  NaN gives NaN.

    Returns
    -------
    numpy.ndarray
        Dimensionless speed factor ``> 0`` (a NumPy scalar for scalar input).

    Examples
    --------
    >>> round(float(tobler_factor(0.0)), 12)
    1.0
    >>> round(float(tobler_factor(0.10)), 4)   # 10 % uphill
    0.7047
    """
    g = np.asarray(grade, dtype=np.float64)
    return np.asarray(np.exp(-3.5 * (np.abs(g + 0.05) - 0.05)))[()]


def _check_positive(value: float, *, name: str, fix: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.floating | np.integer):
        raise InputError(f"{name} must be a number, got {value!r}; {fix}")
    v = float(value)
    if not (math.isfinite(v) and v > 0):
        raise InputError(f"{name} must be a positive finite number, got {value!r}; {fix}")
    return v


def offroad_leg_min(
    dist_m: ArrayLike,
    rise_m: ArrayLike,
    *,
    flat_speed_kph: float,
    max_abs_grade: float = 1.0,
) -> NDArray[np.float64]:
    """Minutes to walk straight off-road legs, slowed or sped up by Tobler's factor.

    Parameters
    ----------
    dist_m
        Horizontal length of each leg, metres (``>= 0``; NaN passes through as NaN, e.g.
        for points not placed on the network).
    rise_m
        Elevation gain from the leg's start to its end in the walking direction, metres
        (negative = downhill).  NaN (no elevation, DEM void) walks the leg as flat.
        Broadcast against ``dist_m``.
    flat_speed_kph
        Walking speed on flat ground, km/h (e.g. ``profile.offroad_speed_kph``).
    max_abs_grade
        Grades are clipped to ``±max_abs_grade`` (default 1.0 = 100 %).

    Returns
    -------
    numpy.ndarray
        Minutes per leg: ``dist_m / (flat speed × tobler_factor(rise_m / dist_m))``; 0 for a
        leg of length 0 (a NumPy scalar for scalar input).

    Raises
    ------
    InputError
        A negative distance, or a speed / grade bound that is not positive.
    """
    speed = _check_positive(flat_speed_kph, name="flat_speed_kph",
                            fix="give the flat-ground walking speed in km/h, e.g. 4.5")
    gmax = _check_positive(max_abs_grade, name="max_abs_grade",
                           fix="give the largest believable grade, e.g. 1.0 (100 %)")
    dist, rise = np.broadcast_arrays(np.asarray(dist_m, dtype=np.float64),
                                     np.asarray(rise_m, dtype=np.float64))
    if np.any(dist < 0):
        bad = dist[dist < 0].ravel()[:3].tolist()
        raise InputError(f"off-road leg lengths must be >= 0 metres, got {bad}; pass distances, "
                         "not signed differences")
    with np.errstate(invalid="ignore", divide="ignore"):
        grade = np.where(dist > 0, rise / np.where(dist > 0, dist, 1.0), 0.0)
    grade = np.clip(np.where(np.isnan(grade), 0.0, grade), -gmax, gmax)
    per_min_m = speed * 1000.0 / 60.0
    out = np.where(dist > 0, dist / (per_min_m * tobler_factor(grade)), np.where(dist == 0, 0.0, dist))
    return np.asarray(out, dtype=np.float64)[()]


def _fill_voids(
    z: NDArray[np.float64], s: NDArray[np.float64], first: NDArray[np.int64], which: NDArray[np.int64]
) -> NDArray[np.float64]:
    """Fill NaN elevations of concatenated lines by linear interpolation along each line.

    ``z`` and ``s`` (running along-line distance, non-decreasing within each line) are the
    vertex arrays of all lines in order; ``which`` is each vertex's line and ``first`` (L + 1,)
    each line's first vertex.  A vertex between two valid vertices of its line gets their
    linear interpolation in ``s``; before the first / after the last valid vertex it gets
    that vertex's value; a line with no valid vertex gets 0 everywhere (grade 0).
    """
    n = len(z)
    valid = np.isfinite(z)
    if valid.all():
        return z
    idx = np.arange(n)
    prev = np.maximum.accumulate(np.where(valid, idx, -1))
    nxt = np.minimum.accumulate(np.where(valid, idx, n)[::-1])[::-1]
    has_prev = prev >= first[which]
    has_next = nxt < first[which + 1]
    p = np.where(has_prev, prev, 0)
    q = np.where(has_next, nxt, 0)
    zp, zq = z[p], z[q]
    span = s[q] - s[p]
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.where(span > 0, (s - s[p]) / np.where(span > 0, span, 1.0), 0.0)
    both = zp + (zq - zp) * t
    filled = np.where(has_prev & has_next, both,
                      np.where(has_prev, zp, np.where(has_next, zq, 0.0)))
    return np.where(valid, z, filled)


def with_slope_times(
    graph: RoadGraph,
    elevation_m: ElevationFn,
    *,
    step_m: float = 30.0,
    max_abs_grade: float = 1.0,
) -> RoadGraph:
    """The graph with walking times that follow the terrain (Tobler's hiking function).

    Every directed edge's time becomes the sum over pieces of its line (the physical edge's
    geometry in ``graph.crs_metric``, densified with ``shapely.segmentize`` to pieces of at
    most ``step_m``) of ``ground_m / (class speed × tobler_factor(grade))``, the grade taken
    in the edge's direction of travel (see the module notes).  Lengths, nodes and geometry
    are unchanged; ``edge_time_min``, ``pedge_time_fwd_min`` / ``pedge_time_bwd_min`` and the
    CSR ``time_min`` (hence its cached transpose) are rebuilt.  Times are always computed
    from the profile's class speeds, so applying this twice gives the same graph.

    Parameters
    ----------
    graph
        Road graph of a slope-aware (walking) profile, from :meth:`RoadGraph.from_networkx`.
    elevation_m
        ``elevation_m(x_m, y_m) -> z_m``: elevation in metres at points given in
        ``graph.crs_metric`` (two float arrays of equal shape), NaN at DEM voids and outside
        the DEM, e.g. :func:`layers.raster.dem_elevation_sampler` with
        ``crs=graph.crs_metric``.  Called once with every sample point.
    step_m
        Longest piece over which one grade is taken, metres (default 30 m, about one pixel
        of a 1″ DEM).
    max_abs_grade
        Grades are clipped to ``±max_abs_grade`` (default 1.0 = 100 %), see the module notes.

    Returns
    -------
    RoadGraph
        A new graph (``dataclasses.replace``); the input is not modified.

    Notes
    -----
    **Voids.**  NaN elevations along a line are filled by linear interpolation (in distance
    along the line) between the nearest valid samples of that line, or take the nearest
    valid sample's value at the line's ends; a line with no valid sample is flat (grade 0).
    So voids and roads leaving the DEM never give NaN or infinite times.

    Raises
    ------
    InputError
        The graph's profile is not slope-aware (e.g. ``drive``), ``step_m`` or
        ``max_abs_grade`` is not positive, or ``elevation_m`` returns an array of the wrong
        shape.
    """
    profile = graph.profile
    if not profile.slope_aware:
        raise InputError(
            f"travel profile {profile.name!r} is not slope-aware: Tobler's hiking function "
            "describes people on foot, not vehicles; use the 'walk' profile for slope-aware "
            "times, or add 'slope_aware: true' to your own walking profile file"
        )
    step = _check_positive(step_m, name="step_m", fix="give a piece length in metres, e.g. 30")
    gmax = _check_positive(max_abs_grade, name="max_abs_grade",
                           fix="give the largest believable grade, e.g. 1.0 (100 %)")

    # ---- sample points: the densified physical edges
    dense = shapely.segmentize(graph.pedge_geometry, step)
    coords, which = shapely.get_coordinates(dense, return_index=True)
    n_p = graph.n_pedges
    counts = np.bincount(which, minlength=n_p)
    first = np.zeros(n_p + 1, dtype=np.int64)
    np.cumsum(counts, out=first[1:])
    x = np.ascontiguousarray(coords[:, 0], dtype=np.float64)
    y = np.ascontiguousarray(coords[:, 1], dtype=np.float64)
    try:
        z = np.asarray(elevation_m(x, y), dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(
            f"elevation_m must return elevations in metres as numbers ({exc}); pass e.g. "
            "layers.raster.dem_elevation_sampler(dem_path, crs=graph.crs_metric)"
        ) from exc
    if z.shape != x.shape:
        raise InputError(
            f"elevation_m returned an array of shape {z.shape} for {x.shape[0]} points; it "
            "must return one elevation (m, NaN when unknown) per point"
        )

    # ---- pieces (consecutive vertices of the same line) and their planar lengths
    same = which[1:] == which[:-1]
    step_pl = np.where(same, np.hypot(np.diff(x), np.diff(y)), 0.0)
    s = np.concatenate([[0.0], np.cumsum(step_pl)])
    z = _fill_voids(z, s, first, which)
    start = np.flatnonzero(same)  # piece k runs from vertex start[k] to start[k] + 1
    piece_d = step_pl[start]
    piece_dh = z[start + 1] - z[start]
    n_pieces = counts - 1  # every line has >= 2 vertices
    piece_first = first[:-1] - np.arange(n_p)  # = cumsum of n_pieces, exclusive
    planar_m = np.asarray(np.bincount(which[start], weights=piece_d, minlength=n_p),
                          dtype=np.float64)

    # ---- expand pieces to directed edges
    e_p = graph.edge_pedge
    m = graph.n_edges
    npc = n_pieces[e_p]
    e_of = np.repeat(np.arange(m), npc)
    offs = np.zeros(m, dtype=np.int64)
    np.cumsum(npc[:-1], out=offs[1:])
    k = np.repeat(piece_first[e_p] - offs, npc) + np.arange(len(e_of))
    length = graph.edge_length_m
    plan = planar_m[e_p]
    scale = np.where(plan > 0, length / np.where(plan > 0, plan, 1.0), 0.0)
    ground = piece_d[k] * scale[e_of]
    sign = np.where(graph.edge_pedge_reversed, -1.0, 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        grade = np.where(ground > 0, sign[e_of] * piece_dh[k] / np.where(ground > 0, ground, 1.0),
                         0.0)
    grade = np.clip(grade, -gmax, gmax)

    classes, inv = np.unique(graph.edge_highway, return_inverse=True)
    class_kph = np.empty(len(classes))
    for i, cls in enumerate(classes.tolist()):
        kph = profile.speed_kph(cls) if cls else profile.speeds_kph["default"]
        if kph is None:
            raise InputError(
                f"the graph has edges of class {cls!r}, which profile {profile.name!r} cannot "
                "use; build the graph with RoadGraph.from_networkx(G, profile=...) for this profile"
            )
        class_kph[i] = kph
    per_min_m = class_kph[inv] * 1000.0 / 60.0  # metres per minute on flat ground, (m,)
    piece_min = ground / (per_min_m[e_of] * tobler_factor(grade))
    time = np.asarray(np.bincount(e_of, weights=piece_min, minlength=m), dtype=np.float64)
    # a line of planar length 0 (all vertices coincide) keeps its flat time
    time = np.where(plan > 0, time, length / per_min_m)

    per_dir: list[NDArray[np.float64]] = []
    for backward in (False, True):
        arr = np.full(n_p, np.inf)
        sel = graph.edge_pedge_reversed == backward
        np.minimum.at(arr, e_p[sel], time[sel])
        per_dir.append(arr)
    return dataclasses.replace(
        graph,
        edge_time_min=time,
        pedge_time_fwd_min=per_dir[0],
        pedge_time_bwd_min=per_dir[1],
        time_min=csr_min(graph.edge_u, graph.edge_v, time, graph.n_nodes),
    )
