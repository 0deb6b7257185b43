"""Coordinate systems Chinese planners bring, and their conversion to WGS84.

Site tables from county offices are often picked on Amap/Tencent (GCJ-02, "火星坐标") or
Baidu (BD-09) maps, or surveyed in CGCS2000 Gauss-Krüger metres.  Everything must be in
WGS84 longitude/latitude (EPSG:4326) before any routing or buffering (docs/policy-rules.md §4):
the GCJ-02 shift is 300–560 m in the south-western provinces, more than a 300 m
kindergarten radius.

Contents
--------
* GCJ-02 and BD-09: :func:`wgs84_to_gcj02`, :func:`gcj02_to_wgs84` (iterated inverse,
  ~1 cm), :func:`gcj02_to_bd09`, :func:`bd09_to_gcj02` (iterated inverse),
  :func:`wgs84_to_bd09`, :func:`bd09_to_wgs84`.
* Names: :data:`COORD_SYSTEMS`, :func:`normalise_coord_system`, :func:`to_wgs84`,
  :func:`in_china`.
* CGCS2000 Gauss-Krüger and UTM zones are in :mod:`geo.crs`.

All array functions are vectorised: they accept scalars, lists or NumPy arrays (broadcast
against each other) and return ``float64`` arrays (0-d for scalar input).  NaN passes
through unchanged.  Longitudes and latitudes are in decimal degrees, distances in metres.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Final

import numpy as np
from numpy.typing import ArrayLike, NDArray

from anzhi.core.errors import InputError
from geo.lonlat import FloatArray, lonlat_arrays

__all__ = [
    "COORD_SYSTEMS",
    "normalise_coord_system",
    "to_wgs84",
    "in_china",
    "wgs84_to_gcj02",
    "gcj02_to_wgs84",
    "gcj02_to_bd09",
    "bd09_to_gcj02",
    "wgs84_to_bd09",
    "bd09_to_wgs84",
]

_Transform = Callable[[FloatArray, FloatArray], tuple[FloatArray, FloatArray]]

#: Canonical names of the coordinate systems Anzhi accepts for longitude/latitude input.
COORD_SYSTEMS: Final[tuple[str, ...]] = ("wgs84", "cgcs2000", "gcj02", "bd09")

# Aliases, compared after lower-casing and removing spaces, "-" and "_".
_ALIASES: Final[dict[str, str]] = {
    # WGS84
    "wgs84": "wgs84",
    "epsg:4326": "wgs84",
    "epsg4326": "wgs84",
    "4326": "wgs84",
    "gps": "wgs84",
    "wgs": "wgs84",
    # CGCS2000 (geographic)
    "cgcs2000": "cgcs2000",
    "cgcs": "cgcs2000",
    "国家2000": "cgcs2000",
    "2000": "cgcs2000",
    "2000国家大地坐标系": "cgcs2000",
    "国家2000坐标系": "cgcs2000",
    "cgcs2000坐标系": "cgcs2000",
    "epsg:4490": "cgcs2000",
    "epsg4490": "cgcs2000",
    "4490": "cgcs2000",
    # GCJ-02
    "gcj02": "gcj02",
    "gcj": "gcj02",
    "火星坐标": "gcj02",
    "火星坐标系": "gcj02",
    "国测局坐标": "gcj02",
    "国测局坐标系": "gcj02",
    "高德": "gcj02",
    "高德地图": "gcj02",
    "高德坐标": "gcj02",
    "amap": "gcj02",
    "gaode": "gcj02",
    "tencent": "gcj02",
    "腾讯": "gcj02",
    "腾讯地图": "gcj02",
    "腾讯坐标": "gcj02",
    # BD-09
    "bd09": "bd09",
    "bd09ll": "bd09",
    "百度": "bd09",
    "百度地图": "bd09",
    "百度坐标": "bd09",
    "百度坐标系": "bd09",
    "baidu": "bd09",
}

# GCJ-02 constants: Krasovsky 1940 ellipsoid as used by every open implementation.
_GCJ_A: Final = 6378245.0
_GCJ_EE: Final = 0.00669342162296594323
# The rough bounding box inside which GCJ-02 shifts points (lon_min, lat_min, lon_max, lat_max).
_GCJ_BBOX: Final = (72.004, 0.8293, 137.8347, 55.8271)
# Generous bounding box of China for validators (left, bottom, right, top).
_CHINA_BBOX: Final = (73.0, 3.8, 135.1, 53.6)
# BD-09 constant.
_X_PI: Final = math.pi * 3000.0 / 180.0
# Metres per degree of latitude (WGS84 equatorial radius; only used for convergence tests).
_M_PER_DEG: Final = 6378137.0 * math.pi / 180.0


# --------------------------------------------------------------------------- helpers


def _in_gcj_bbox(lon: FloatArray, lat: FloatArray) -> NDArray[np.bool_]:
    lon_min, lat_min, lon_max, lat_max = _GCJ_BBOX
    return (lon >= lon_min) & (lon <= lon_max) & (lat >= lat_min) & (lat <= lat_max)


def _gcj_delta(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """GCJ-02 offset (degrees of lon, lat) of WGS84 points, ignoring the bounding box."""
    x = lon - 105.0
    y = lat - 35.0
    xpi = x * np.pi
    ypi = y * np.pi
    common = (20.0 * np.sin(6.0 * xpi) + 20.0 * np.sin(2.0 * xpi)) * 2.0 / 3.0
    d_lat = (
        -100.0
        + 2.0 * x
        + 3.0 * y
        + 0.2 * y * y
        + 0.1 * x * y
        + 0.2 * np.sqrt(np.abs(x))
        + common
        + (20.0 * np.sin(ypi) + 40.0 * np.sin(ypi / 3.0)) * 2.0 / 3.0
        + (160.0 * np.sin(ypi / 12.0) + 320.0 * np.sin(ypi / 30.0)) * 2.0 / 3.0
    )
    d_lon = (
        300.0
        + x
        + 2.0 * y
        + 0.1 * x * x
        + 0.1 * x * y
        + 0.1 * np.sqrt(np.abs(x))
        + common
        + (20.0 * np.sin(xpi) + 40.0 * np.sin(xpi / 3.0)) * 2.0 / 3.0
        + (150.0 * np.sin(xpi / 12.0) + 300.0 * np.sin(xpi / 30.0)) * 2.0 / 3.0
    )
    rad_lat = np.radians(lat)
    magic = 1.0 - _GCJ_EE * np.sin(rad_lat) ** 2
    sqrt_magic = np.sqrt(magic)
    d_lat = (d_lat * 180.0) / ((_GCJ_A * (1.0 - _GCJ_EE)) / (magic * sqrt_magic) * np.pi)
    d_lon = (d_lon * 180.0) / (_GCJ_A / sqrt_magic * np.cos(rad_lat) * np.pi)
    return d_lon, d_lat


def _check_iter_args(tol_m: float, max_iter: int) -> None:
    problems = []
    if not (isinstance(tol_m, int | float) and math.isfinite(tol_m) and tol_m > 0):
        problems.append(f"tol_m must be a positive number of metres, got {tol_m!r}")
    if isinstance(max_iter, bool) or not isinstance(max_iter, int) or max_iter < 1:
        problems.append(f"max_iter must be a positive integer, got {max_iter!r}")
    if problems:
        raise InputError(problems[0] if len(problems) == 1 else "; ".join(problems))


def _invert(
    forward: _Transform,
    target_lon: FloatArray,
    target_lat: FloatArray,
    start_lon: FloatArray,
    start_lat: FloatArray,
    tol_m: float,
    max_iter: int,
) -> tuple[FloatArray, FloatArray]:
    """Solve ``forward(p) == target`` by fixed-point iteration ``p -= forward(p) - target``.

    The forward transforms here are the identity plus a slowly varying shift (its Jacobian
    differs from the identity by ~1e-3), so each step cuts the error ~1000-fold.  Points
    stop moving once the forward image is within ``tol_m`` metres of the target.
    """
    shape = np.shape(target_lon)
    t_lon = np.ravel(target_lon)
    t_lat = np.ravel(target_lat)
    lon = np.array(start_lon, dtype=np.float64).ravel()
    lat = np.array(start_lat, dtype=np.float64).ravel()
    active = np.flatnonzero(np.isfinite(t_lon) & np.isfinite(t_lat))
    for _ in range(max_iter):
        if active.size == 0:
            break
        f_lon, f_lat = forward(lon[active], lat[active])
        r_lon = f_lon - t_lon[active]
        r_lat = f_lat - t_lat[active]
        lon[active] -= r_lon
        lat[active] -= r_lat
        err_m = _M_PER_DEG * np.hypot(r_lat, r_lon * np.cos(np.radians(t_lat[active])))
        active = active[err_m > tol_m]
    return lon.reshape(shape), lat.reshape(shape)


# --------------------------------------------------------------------------- GCJ-02 / BD-09


def wgs84_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Shift WGS84 longitude/latitude to GCJ-02 (Amap, Tencent; "火星坐标").

    The standard open-source algorithm (Krasovsky ellipsoid, ``a = 6378245.0``,
    ``ee = 0.00669342162296594323``).  Points outside the rough China box
    (lon 72.004–137.8347, lat 0.8293–55.8271) are returned unchanged, as every
    implementation does.

    Parameters
    ----------
    lon, lat
        WGS84 longitude and latitude, decimal degrees; scalars, lists or arrays.

    Returns
    -------
    tuple of numpy.ndarray
        GCJ-02 longitude and latitude, decimal degrees (float64).
    """
    x, y = lonlat_arrays(lon, lat)
    inside = _in_gcj_bbox(x, y)
    if inside.any():
        d_lon, d_lat = _gcj_delta(x[inside], y[inside])
        x[inside] += d_lon
        y[inside] += d_lat
    return x, y


def gcj02_to_wgs84(
    lon: ArrayLike, lat: ArrayLike, *, tol_m: float = 0.01, max_iter: int = 30
) -> tuple[FloatArray, FloatArray]:
    """Convert GCJ-02 longitude/latitude back to WGS84 by iterating the forward shift.

    Starts from ``gcj - shift(gcj)`` (the common one-step inverse, 1–2 m off) and repeats
    ``wgs -= wgs84_to_gcj02(wgs) - gcj`` until the forward image of every point is within
    ``tol_m`` metres of its input; two or three steps reach 1 cm.  Points outside the rough
    China box (see :func:`wgs84_to_gcj02`) are returned unchanged.  Right at that box's edge
    the shift is discontinuous and no exact inverse may exist; there the best estimate after
    ``max_iter`` steps is returned.

    Parameters
    ----------
    lon, lat
        GCJ-02 longitude and latitude, decimal degrees.
    tol_m
        Convergence tolerance in metres on the forward residual (default 0.01 m).
    max_iter
        Maximum number of refinement steps (default 30).

    Returns
    -------
    tuple of numpy.ndarray
        WGS84 longitude and latitude, decimal degrees (float64).
    """
    _check_iter_args(tol_m, max_iter)
    x, y = lonlat_arrays(lon, lat)
    inside = _in_gcj_bbox(x, y)
    if inside.any():
        gx, gy = x[inside], y[inside]
        d_lon, d_lat = _gcj_delta(gx, gy)
        wx, wy = _invert(wgs84_to_gcj02, gx, gy, gx - d_lon, gy - d_lat, tol_m, max_iter)
        x[inside] = wx
        y[inside] = wy
    return x, y


def gcj02_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Convert GCJ-02 longitude/latitude to BD-09 (Baidu).

    The standard formula with ``x_pi = pi * 3000 / 180``.  Like the widely used
    implementations (wandergis/coordtransform) it is applied everywhere, with no China
    bounding box.

    Parameters
    ----------
    lon, lat
        GCJ-02 longitude and latitude, decimal degrees.

    Returns
    -------
    tuple of numpy.ndarray
        BD-09 longitude and latitude, decimal degrees (float64).
    """
    x, y = lonlat_arrays(lon, lat)
    z = np.hypot(x, y) + 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _X_PI)
    bd_lon = np.asarray(z * np.cos(theta) + 0.0065, dtype=np.float64)
    bd_lat = np.asarray(z * np.sin(theta) + 0.006, dtype=np.float64)
    return bd_lon, bd_lat


def _bd09_to_gcj02_approx(x: FloatArray, y: FloatArray) -> tuple[FloatArray, FloatArray]:
    """The usual one-step approximate inverse of :func:`gcj02_to_bd09`."""
    x = x - 0.0065
    y = y - 0.006
    z = np.hypot(x, y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    gcj_lon = np.asarray(z * np.cos(theta), dtype=np.float64)
    gcj_lat = np.asarray(z * np.sin(theta), dtype=np.float64)
    return gcj_lon, gcj_lat


def bd09_to_gcj02(
    lon: ArrayLike, lat: ArrayLike, *, tol_m: float = 0.01, max_iter: int = 30
) -> tuple[FloatArray, FloatArray]:
    """Convert BD-09 (Baidu) longitude/latitude to GCJ-02.

    Starts from the usual approximate inverse formula and refines it until
    :func:`gcj02_to_bd09` of the result is within ``tol_m`` metres of the input.

    Parameters
    ----------
    lon, lat
        BD-09 longitude and latitude, decimal degrees.
    tol_m
        Convergence tolerance in metres (default 0.01 m).
    max_iter
        Maximum number of refinement steps (default 30).

    Returns
    -------
    tuple of numpy.ndarray
        GCJ-02 longitude and latitude, decimal degrees (float64).
    """
    _check_iter_args(tol_m, max_iter)
    x, y = lonlat_arrays(lon, lat)
    sx, sy = _bd09_to_gcj02_approx(x, y)
    return _invert(gcj02_to_bd09, x, y, sx, sy, tol_m, max_iter)


def wgs84_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Convert WGS84 longitude/latitude to BD-09 (via GCJ-02).

    Parameters
    ----------
    lon, lat
        WGS84 longitude and latitude, decimal degrees.

    Returns
    -------
    tuple of numpy.ndarray
        BD-09 longitude and latitude, decimal degrees (float64).
    """
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def bd09_to_wgs84(
    lon: ArrayLike, lat: ArrayLike, *, tol_m: float = 0.01, max_iter: int = 30
) -> tuple[FloatArray, FloatArray]:
    """Convert BD-09 (Baidu) longitude/latitude to WGS84 (via GCJ-02, both steps iterated).

    Parameters
    ----------
    lon, lat
        BD-09 longitude and latitude, decimal degrees.
    tol_m
        Convergence tolerance in metres for each of the two inverse steps (default 0.01 m).
    max_iter
        Maximum number of refinement steps per inverse (default 30).

    Returns
    -------
    tuple of numpy.ndarray
        WGS84 longitude and latitude, decimal degrees (float64).
    """
    gx, gy = bd09_to_gcj02(lon, lat, tol_m=tol_m, max_iter=max_iter)
    return gcj02_to_wgs84(gx, gy, tol_m=tol_m, max_iter=max_iter)


# --------------------------------------------------------------------------- names, dispatch


def normalise_coord_system(name: str) -> str:
    """The canonical name (one of :data:`COORD_SYSTEMS`) of a coordinate-system label.

    Case, spaces, ``-`` and ``_`` are ignored, so ``"WGS-84"``, ``"gcj_02"`` and
    ``"BD 09"`` all work.  Accepted labels include ``GPS``, ``EPSG:4326``; ``国家2000``,
    ``2000``, ``EPSG:4490``; ``火星坐标``, ``高德``, ``amap``, ``tencent``, ``腾讯``;
    ``百度``, ``baidu``.

    Parameters
    ----------
    name
        The label as written by the user (a ``--coords`` option or a 坐标系 cell).

    Returns
    -------
    str
        ``"wgs84"``, ``"cgcs2000"``, ``"gcj02"`` or ``"bd09"``.

    Raises
    ------
    InputError
        For an unknown label; the message lists the allowed values.
    """
    allowed = ", ".join(COORD_SYSTEMS)
    fix = (
        f"use one of {allowed} (also accepted: GPS, EPSG:4326, 国家2000, EPSG:4490, "
        "火星坐标, 高德, amap, 腾讯, tencent, 百度, baidu); for Gauss-Krüger metres give "
        "x/y columns and --crs EPSG:45xx"
    )
    if not isinstance(name, str):
        raise InputError(
            f"coordinate system must be a text label, got {name!r} "
            f"({type(name).__name__}); fix: {fix}"
        )
    key = "".join(name.lower().split()).replace("-", "").replace("_", "")
    if key in _ALIASES:
        return _ALIASES[key]
    raise InputError(f"unknown coordinate system {name!r}; fix: {fix}")


def to_wgs84(lon: ArrayLike, lat: ArrayLike, system: str) -> tuple[FloatArray, FloatArray]:
    """Convert longitude/latitude in ``system`` to WGS84.

    CGCS2000 geographic coordinates (EPSG:4490) are returned unchanged: CGCS2000 and
    WGS84 (its current realisations) agree to a few centimetres, far below anything a
    facility check can resolve.

    Parameters
    ----------
    lon, lat
        Longitude and latitude in decimal degrees.
    system
        Any label :func:`normalise_coord_system` accepts.

    Returns
    -------
    tuple of numpy.ndarray
        WGS84 longitude and latitude, decimal degrees (float64).

    Raises
    ------
    InputError
        For an unknown system label.
    """
    canonical = normalise_coord_system(system)
    if canonical == "gcj02":
        return gcj02_to_wgs84(lon, lat)
    if canonical == "bd09":
        return bd09_to_wgs84(lon, lat)
    return lonlat_arrays(lon, lat)  # wgs84, cgcs2000


def in_china(lon: ArrayLike, lat: ArrayLike) -> NDArray[np.bool_]:
    """Whether points lie in a generous bounding box of China.

    The box is lon 73–135.1, lat 3.8–53.6 (edges included).  It is a plausibility test for
    validators (catching swapped or mistyped coordinates), not a border test.

    Parameters
    ----------
    lon, lat
        Longitude and latitude, decimal degrees (any of the supported systems).

    Returns
    -------
    numpy.ndarray of bool
        True inside the box; False outside or for NaN.
    """
    x, y = lonlat_arrays(lon, lat)
    left, bottom, right, top = _CHINA_BBOX
    return (x >= left) & (x <= right) & (y >= bottom) & (y <= top)
