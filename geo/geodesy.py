"""Distances on the WGS84 ellipsoid's sphere: osmnx's great-circle formula without osmnx.

osmnx measures edge lengths with this haversine; the direct graph builder, the road graph's
vertex measures and routing's straight-line distances use the same formula, so lengths agree
to the last bit with ``osmnx.distance.great_circle`` (tests) and osmnx need not be imported.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["EARTH_RADIUS_M", "great_circle_m"]

#: Earth radius of osmnx's great-circle lengths, metres (``osmnx.distance.EARTH_RADIUS_M``).
EARTH_RADIUS_M = 6_371_009


def great_circle_m(lat1: ArrayLike, lon1: ArrayLike, lat2: ArrayLike, lon2: ArrayLike) -> NDArray[np.float64]:
    """Haversine distance (m) between WGS84 points, the formula of ``osmnx.distance.great_circle``."""
    lat1, lon1, lat2, lon2 = (np.asarray(a, dtype=np.float64) for a in (lat1, lon1, lat2, lon2))
    y1 = np.deg2rad(lat1)
    y2 = np.deg2rad(lat2)
    delta_y = y2 - y1
    x1 = np.deg2rad(lon1)
    x2 = np.deg2rad(lon2)
    delta_x = x2 - x1
    h = np.sin(delta_y / 2) ** 2 + np.cos(y1) * np.cos(y2) * np.sin(delta_x / 2) ** 2
    h = np.minimum(1, h)
    arc = 2 * np.arcsin(np.sqrt(h))
    return np.asarray(arc * EARTH_RADIUS_M, dtype=np.float64)
