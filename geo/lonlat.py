"""Coordinate input as float64 arrays: numbers checked, longitude and latitude broadcast.

The shared first step of :mod:`geo.coords` (GCJ-02 / BD-09 shifts, coordinate-system
dispatch) and :mod:`geo.crs` (Gauss-Krüger and UTM zones): scalars, lists or NumPy arrays
in, ``float64`` arrays out, and an :class:`~anzhi.core.errors.InputError` naming the
argument for anything that is not numbers.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from anzhi.core.errors import InputError

__all__ = ["FloatArray", "as_float_array", "broadcast_pair", "lonlat_arrays"]

#: A ``float64`` array (0-d for scalar input).
FloatArray = NDArray[np.float64]


def as_float_array(value: ArrayLike, name: str) -> FloatArray:
    """``value`` as a float64 array, or :class:`InputError` naming the argument."""
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(
            f"{name} must be numbers (decimal degrees or metres), got {value!r}: {exc}"
        ) from None


def broadcast_pair(
    a: ArrayLike, b: ArrayLike, names: tuple[str, str], *, hint: str = ""
) -> tuple[FloatArray, FloatArray]:
    """Two coordinate inputs as float64 arrays broadcast to one shape (views, not copies).

    ``names`` name the two arguments in the :class:`InputError` for non-numbers or shapes
    that do not broadcast; ``hint`` is appended to the latter (e.g. ``"; give ..."``).
    """
    x = as_float_array(a, names[0])
    y = as_float_array(b, names[1])
    try:
        bx, by = np.broadcast_arrays(x, y)
    except ValueError:
        raise InputError(
            f"{names[0]} and {names[1]} have incompatible shapes {x.shape} and {y.shape}{hint}"
        ) from None
    return bx, by


def lonlat_arrays(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Broadcast longitude and latitude to float64 arrays of one shape (copies)."""
    x, y = broadcast_pair(lon, lat, ("lon", "lat"), hint="; give one latitude per longitude")
    return np.array(x, dtype=np.float64), np.array(y, dtype=np.float64)
