"""Seeded gradient noise for the demo relief: a pure function of coordinates and a key."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["mix64", "perlin_grid"]

FloatArray = NDArray[np.floating[Any]]

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def mix64(h: NDArray[np.uint64]) -> NDArray[np.uint64]:
    """splitmix64 finaliser (wrapping uint64 arithmetic)."""
    h = h ^ (h >> np.uint64(30))
    h = h * _M1
    h = h ^ (h >> np.uint64(27))
    h = h * _M2
    return h ^ (h >> np.uint64(31))


def _lattice_angles(ix: NDArray[np.int64], iy: NDArray[np.int64], key: int) -> FloatArray:
    """Gradient angles (radians) of lattice points, a pure function of (ix, iy, key)."""
    with np.errstate(over="ignore"):
        hx = mix64(ix.astype(np.uint64) + np.uint64(key & 0xFFFFFFFFFFFFFFFF))
        h = mix64(hx ^ (iy.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)))
    return (h >> np.uint64(11)).astype(np.float64) * (2.0 * math.pi / 2.0**53)


def perlin_grid(xs: FloatArray, ys: FloatArray, wavelength_m: float, key: int) -> FloatArray:
    """Gradient noise in about [-1, 1] on the separable grid ``ys × xs`` (metres).

    Returns an array of shape ``(len(ys), len(xs))``.  The value at a point depends only on
    its coordinates, the wavelength and ``key``, so tiles of one field join seamlessly.
    """
    gx = xs / wavelength_m
    gy = ys / wavelength_m
    ix0 = np.floor(gx).astype(np.int64)
    iy0 = np.floor(gy).astype(np.int64)
    fx = gx - ix0
    fy = gy - iy0
    lx = np.arange(ix0.min(), ix0.max() + 2, dtype=np.int64)
    ly = np.arange(iy0.min(), iy0.max() + 2, dtype=np.int64)
    ang = _lattice_angles(lx[None, :], ly[:, None], key)
    ca, sa = np.cos(ang), np.sin(ang)
    jx = ix0 - lx[0]
    jy = iy0 - ly[0]
    sx = fx * fx * fx * (fx * (fx * 6 - 15) + 10)
    sy = fy * fy * fy * (fy * (fy * 6 - 15) + 10)

    def corner(dy: int, dx: int) -> FloatArray:
        rr = (jy + dy)[:, None]
        cc = (jx + dx)[None, :]
        return ca[rr, cc] * (fx - dx)[None, :] + sa[rr, cc] * (fy - dy)[:, None]

    top = corner(0, 0) * (1 - sx)[None, :] + corner(0, 1) * sx[None, :]
    bot = corner(1, 0) * (1 - sx)[None, :] + corner(1, 1) * sx[None, :]
    return (top * (1 - sy)[:, None] + bot * sy[:, None]) * math.sqrt(2.0)
