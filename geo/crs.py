"""Projected CRSs in metres: CGCS2000 3-degree Gauss-Krüger zones and WGS84 UTM zones.

Site tables surveyed in CGCS2000 Gauss-Krüger metres are converted to WGS84 here
(:func:`gk_to_wgs84`, the zone read from an EPSG code, a zone number or the eastings'
prefix); metric work (buffers, snapping, the road graph) uses the UTM zone of the data
(:func:`local_metric_crs`).

Contents
--------
* CGCS2000 3-degree Gauss-Krüger zones: :func:`gk_zone_from_lon`,
  :func:`gk_central_meridian`, :func:`gk_epsg`, :func:`gk_zone_from_easting`,
  :func:`gk_to_wgs84`, :func:`wgs84_to_gk`.
* Metric work: :func:`utm_epsg`, :func:`local_metric_crs`.

Longitudes and latitudes are in decimal degrees (WGS84, taken as CGCS2000: they agree to
centimetres), eastings and northings in metres; array functions accept scalars, lists or
NumPy arrays and return ``float64`` arrays.
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np
import pyproj
from numpy.typing import ArrayLike

from anzhi.core.errors import InputError
from geo.lonlat import FloatArray, as_float_array, broadcast_pair, lonlat_arrays

__all__ = [
    "gk_zone_from_lon",
    "gk_central_meridian",
    "gk_epsg",
    "gk_zone_from_easting",
    "gk_to_wgs84",
    "wgs84_to_gk",
    "utm_epsg",
    "local_metric_crs",
]

# CGCS2000 3-degree Gauss-Krüger zones covering China and their EPSG codes.
_GK_ZONE_MIN: Final = 25
_GK_ZONE_MAX: Final = 45
_GK_EPSG_PREFIX0: Final = 4513  # zone 25, zone number prefixed to the easting
_GK_EPSG_PLAIN0: Final = 4534  # CM 75E, easting without prefix
_CGCS2000_GEOG: Final = "EPSG:4490"


# --------------------------------------------------------------------------- Gauss-Krüger


def _check_zone(zone: object) -> int:
    if isinstance(zone, bool) or not isinstance(zone, int | np.integer):
        raise InputError(
            f"Gauss-Krüger zone must be an integer from {_GK_ZONE_MIN} to {_GK_ZONE_MAX}, "
            f"got {zone!r}"
        )
    z = int(zone)
    if not _GK_ZONE_MIN <= z <= _GK_ZONE_MAX:
        raise InputError(
            f"Gauss-Krüger zone {z} is not a CGCS2000 3-degree zone of China; allowed zones "
            f"are {_GK_ZONE_MIN}–{_GK_ZONE_MAX} (central meridians 75°E–135°E); "
            "fix: zone = round(longitude / 3), e.g. 33 for Baoshan, 36 for Guiyang"
        )
    return z


def gk_zone_from_lon(lon: float) -> int:
    """The 3-degree Gauss-Krüger zone number of a longitude: ``round(lon / 3)``.

    Halves round up (97.5°E is zone 33), not to even.

    Parameters
    ----------
    lon
        Longitude, decimal degrees.

    Returns
    -------
    int
        Zone number (25–45 inside China).
    """
    try:
        value = float(lon)
    except (TypeError, ValueError):
        raise InputError(f"longitude must be a number, got {lon!r}") from None
    if not math.isfinite(value) or not -180.0 <= value <= 180.0:
        raise InputError(f"{lon!r} is not a longitude; give decimal degrees from -180 to 180")
    return int(math.floor(value / 3.0 + 0.5))


def gk_central_meridian(zone: int) -> int:
    """Central meridian (degrees east) of a 3-degree Gauss-Krüger zone: ``3 * zone``.

    Parameters
    ----------
    zone
        Zone number.

    Returns
    -------
    int
        Central meridian, decimal degrees east.
    """
    if isinstance(zone, bool) or not isinstance(zone, int | np.integer):
        raise InputError(f"Gauss-Krüger zone must be an integer, got {zone!r}")
    return 3 * int(zone)


def gk_epsg(zone: int, *, with_prefix: bool) -> int:
    """EPSG code of a CGCS2000 3-degree Gauss-Krüger zone.

    Parameters
    ----------
    zone
        Zone number, 25–45.
    with_prefix
        True for the codes whose eastings carry the zone number in front
        (``33500000`` = zone 33, EPSG 4513–4533); False for plain 6-digit eastings
        (``500000``, EPSG 4534–4554).

    Returns
    -------
    int
        ``4513 + (zone - 25)`` with prefix, ``4534 + (zone - 25)`` without.

    Raises
    ------
    InputError
        For a zone outside 25–45.
    """
    z = _check_zone(zone)
    base = _GK_EPSG_PREFIX0 if with_prefix else _GK_EPSG_PLAIN0
    return base + (z - _GK_ZONE_MIN)


def _zone_of_epsg(epsg: int) -> tuple[int, bool]:
    """(zone, with_prefix) of a CGCS2000 3-degree GK EPSG code."""
    if isinstance(epsg, bool) or not isinstance(epsg, int | np.integer):
        raise InputError(f"EPSG code must be an integer such as 4521, got {epsg!r}")
    code = int(epsg)
    n = _GK_ZONE_MAX - _GK_ZONE_MIN
    if _GK_EPSG_PREFIX0 <= code <= _GK_EPSG_PREFIX0 + n:
        return _GK_ZONE_MIN + code - _GK_EPSG_PREFIX0, True
    if _GK_EPSG_PLAIN0 <= code <= _GK_EPSG_PLAIN0 + n:
        return _GK_ZONE_MIN + code - _GK_EPSG_PLAIN0, False
    raise InputError(
        f"EPSG:{code} is not a CGCS2000 3-degree Gauss-Krüger zone; give EPSG:4513–4533 "
        "(eastings with zone prefix, e.g. EPSG:4521 for zone 33) or EPSG:4534–4554 "
        "(6-digit eastings, e.g. EPSG:4542 for 99°E)"
    )


def gk_zone_from_easting(easting: ArrayLike) -> int | None:
    """Zone number carried by 8-digit Gauss-Krüger eastings, or None for 6-digit ones.

    An 8-digit easting such as ``33512345.6`` holds the zone (33) in its first two digits.
    NaN values are ignored.

    Parameters
    ----------
    easting
        One easting or many, metres.

    Returns
    -------
    int or None
        The zone (25–45) shared by all eastings, or None when all have 6 digits (no
        prefix) or there is no finite value.

    Raises
    ------
    InputError
        For eastings of other lengths, a mix of 6- and 8-digit eastings, several zones, or
        a prefix that is not a 3-degree zone of China (e.g. a 6-degree zone 13–23).
    """
    e = as_float_array(easting, "easting").ravel()
    e = e[np.isfinite(e)]
    if e.size == 0:
        return None
    six = (e >= 100_000) & (e < 1_000_000)
    eight = (e >= 10_000_000) & (e < 100_000_000)
    bad = ~(six | eight)
    if bad.any():
        examples = ", ".join(f"{v:.10g}" for v in e[bad][:3])
        raise InputError(
            f"{int(bad.sum())} easting(s) are neither 6-digit (no zone prefix) nor 8-digit "
            f"(zone prefix) Gauss-Krüger metres, e.g. {examples}; fix: check that the "
            "x/东坐标 column holds eastings (did you swap easting and northing?)"
        )
    if six.all():
        return None
    if not eight.all():
        raise InputError(
            "eastings mix 6-digit values (no zone prefix) and 8-digit values (zone prefix); "
            "fix: use one form for the whole table"
        )
    zones = np.unique(np.floor(e / 1_000_000).astype(np.int64))
    if zones.size > 1:
        raise InputError(
            f"eastings carry several zone prefixes {', '.join(map(str, zones.tolist()))}; "
            "fix: split the table by zone or convert it to one zone"
        )
    zone = int(zones[0])
    if not _GK_ZONE_MIN <= zone <= _GK_ZONE_MAX:
        raise InputError(
            f"easting prefix {zone} is not a CGCS2000 3-degree zone of China "
            f"({_GK_ZONE_MIN}–{_GK_ZONE_MAX}); 6-degree zones (13–23) are not supported; "
            "fix: export the data in 3-degree zones or give --crs EPSG:45xx"
        )
    return zone


def gk_to_wgs84(
    easting: ArrayLike,
    northing: ArrayLike,
    *,
    epsg: int | None = None,
    zone: int | None = None,
) -> tuple[FloatArray, FloatArray]:
    """Convert CGCS2000 3-degree Gauss-Krüger metres to WGS84 longitude/latitude.

    The zone comes from ``epsg`` (4513–4554), else ``zone``, else the two-digit prefix of
    8-digit eastings.  Whether the eastings carry the prefix is read from the values, and
    must agree with ``epsg`` when it is given.  (EPSG:45xx list northing first; here the
    easting is always passed first.)  The result is CGCS2000 longitude/latitude, taken as
    WGS84 (they agree to centimetres).

    Parameters
    ----------
    easting, northing
        Gauss-Krüger easting (x, 东坐标) and northing (y, 北坐标), metres.
    epsg
        EPSG code of the zone, e.g. 4521 (zone 33 with prefix) or 4542 (CM 99°E).
    zone
        Zone number 25–45, when no EPSG code is given.

    Returns
    -------
    tuple of numpy.ndarray
        WGS84 longitude and latitude, decimal degrees (float64).

    Raises
    ------
    InputError
        When no zone can be determined, the given zone/EPSG code is invalid or disagrees
        with the eastings' prefix, or the eastings are malformed.
    """
    x, y = broadcast_pair(easting, northing, ("easting", "northing"))
    prefix_zone = gk_zone_from_easting(x)
    has_prefix = prefix_zone is not None

    if epsg is not None:
        epsg_zone, epsg_prefix = _zone_of_epsg(epsg)
        if zone is not None and _check_zone(zone) != epsg_zone:
            raise InputError(
                f"zone {zone} disagrees with EPSG:{int(epsg)} (zone {epsg_zone}); "
                "fix: give only one of them"
            )
        if np.isfinite(x).any() and has_prefix != epsg_prefix:
            if epsg_prefix:
                raise InputError(
                    f"EPSG:{int(epsg)} expects 8-digit eastings with zone prefix "
                    f"{epsg_zone}, but the eastings have 6 digits; fix: use "
                    f"EPSG:{gk_epsg(epsg_zone, with_prefix=False)} instead"
                )
            raise InputError(
                f"EPSG:{int(epsg)} expects 6-digit eastings, but the eastings carry zone "
                f"prefix {prefix_zone}; fix: use "
                f"EPSG:{gk_epsg(epsg_zone, with_prefix=True)} instead"
            )
        use_zone = epsg_zone
        has_prefix = epsg_prefix
    elif zone is not None:
        use_zone = _check_zone(zone)
    elif prefix_zone is not None:
        use_zone = prefix_zone
    else:
        raise InputError(
            "cannot tell the Gauss-Krüger zone: the eastings have 6 digits (no zone prefix) "
            "and no zone or EPSG code was given; fix: give --crs EPSG:45xx (e.g. "
            "EPSG:4542 for central meridian 99°E) or use 8-digit eastings with the zone "
            "prefix (e.g. 33500000)"
        )
    if prefix_zone is not None and prefix_zone != use_zone:
        raise InputError(
            f"the eastings carry zone prefix {prefix_zone} but zone {use_zone} was given; "
            f"fix: give --crs EPSG:{gk_epsg(prefix_zone, with_prefix=True)} or check the zone"
        )

    code = gk_epsg(use_zone, with_prefix=has_prefix)
    transformer = pyproj.Transformer.from_crs(f"EPSG:{code}", _CGCS2000_GEOG, always_xy=True)
    lon, lat = transformer.transform(
        np.array(x, dtype=np.float64), np.array(y, dtype=np.float64)
    )
    return np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)


def wgs84_to_gk(
    lon: ArrayLike,
    lat: ArrayLike,
    *,
    zone: int | None = None,
    with_prefix: bool = False,
) -> tuple[FloatArray, FloatArray]:
    """Project WGS84 longitude/latitude to CGCS2000 3-degree Gauss-Krüger metres.

    WGS84 is taken as CGCS2000 (centimetre difference).

    Parameters
    ----------
    lon, lat
        WGS84 longitude and latitude, decimal degrees.
    zone
        Zone number 25–45; default: the zone of the mean longitude.
    with_prefix
        Prefix the zone number to the eastings (8-digit eastings, EPSG 4513–4533).

    Returns
    -------
    tuple of numpy.ndarray
        Easting and northing, metres (float64).
    """
    x, y = lonlat_arrays(lon, lat)
    if zone is None:
        finite = x[np.isfinite(x)]
        if finite.size == 0:
            raise InputError("no finite longitude to pick a Gauss-Krüger zone from; give zone=")
        zone = gk_zone_from_lon(float(finite.mean()))
    code = gk_epsg(zone, with_prefix=with_prefix)
    transformer = pyproj.Transformer.from_crs(_CGCS2000_GEOG, f"EPSG:{code}", always_xy=True)
    e, n = transformer.transform(x, y)
    return np.asarray(e, dtype=np.float64), np.asarray(n, dtype=np.float64)


# --------------------------------------------------------------------------- metric CRS


def utm_epsg(lon: ArrayLike, lat: ArrayLike) -> int:
    """EPSG code of the WGS84 UTM zone around some points (326xx north, 327xx south).

    For several points the centre of their bounding box decides.  The Norway/Svalbard
    zone exceptions are ignored.

    Parameters
    ----------
    lon, lat
        WGS84 longitude and latitude, decimal degrees; NaN values are ignored.

    Returns
    -------
    int
        EPSG code, e.g. 32647 for 99.2°E 24.7°N.

    Raises
    ------
    InputError
        When there is no finite point or the centre is not a valid longitude/latitude.
    """
    x, y = lonlat_arrays(lon, lat)
    ok = np.isfinite(x) & np.isfinite(y)
    if not ok.any():
        raise InputError("no finite longitude/latitude to pick a UTM zone from")
    cx = float((x[ok].min() + x[ok].max()) / 2.0)
    cy = float((y[ok].min() + y[ok].max()) / 2.0)
    if not (-180.0 <= cx <= 180.0 and -90.0 <= cy <= 90.0):
        raise InputError(
            f"({cx!r}, {cy!r}) is not a longitude/latitude; give WGS84 decimal degrees"
        )
    zone = min(int(math.floor((cx + 180.0) / 6.0)) + 1, 60)
    return (32600 if cy >= 0 else 32700) + zone


def local_metric_crs(lon: ArrayLike, lat: ArrayLike) -> pyproj.CRS:
    """A projected CRS in metres for work around some points: their WGS84 UTM zone.

    Parameters
    ----------
    lon, lat
        WGS84 longitude and latitude, decimal degrees.

    Returns
    -------
    pyproj.CRS
        The UTM CRS of :func:`utm_epsg`.
    """
    return pyproj.CRS.from_epsg(utm_epsg(lon, lat))
