"""Terrain array core: Horn slope (and aspect) in degrees, windowed with a one-pixel halo.

Everything here works on plain NumPy arrays plus a :class:`GridSpec` that says where the
pixels are; reading and writing files is ``layers.terrain``'s job.

Rules, shared by every function:

* **Voids.**  A pixel is valid when it is finite and not the nodata value.  Horn's 3 × 3
  operator needs the eight neighbours *and* the centre: a slope is produced only where all
  nine pixels are valid, so a void never yields a slope for its neighbours.  The outermost
  row and column of the raster have no complete neighbourhood and get no slope (like
  ``gdaldem slope`` without ``-compute_edges``).  Missing slopes are NaN in arrays.
* **Ground distances.**  On projected grids the pixel size is the CRS size (metres).  On
  geographic grids (degrees: SRTM, Copernicus) each row gets its true ground size on the
  CRS's ellipsoid: width ``N(φ)·cos φ·Δλ`` along the parallel and height ``M(φ)·Δφ`` along
  the meridian, with ``N`` and ``M`` the prime-vertical and meridional radii of curvature at
  the row's latitude ``φ``.  Horn's east–west difference of each of the three rows is divided
  by that row's own width, so nothing is reprojected and no single scale is assumed.
* **Windows.**  :func:`slope_window` computes one window from a reader that returns raw
  DEM rows/columns; the halo is read around the window and padded with NaN beyond the
  raster, so a windowed result is bit-identical to the whole-array result for any window
  size (every output pixel is computed by the same elementwise float32 operations on the
  same nine inputs).

Never imports streamlit or folium.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pyproj
from affine import Affine
from numpy.typing import ArrayLike, NDArray

from anzhi.core.errors import InputError

__all__ = [
    "GridSpec",
    "WindowReader",
    "iter_windows",
    "horn_slope",
    "slope_window",
    "slope_deg",
]

FloatArray = NDArray[np.float64]
F32 = NDArray[np.float32]

#: ``read(row0, row1, col0, col1)`` returns the raw DEM values of rows ``row0:row1`` and
#: columns ``col0:col1`` (always inside the raster) as a 2-D array.
WindowReader = Callable[[int, int, int, int], NDArray[Any]]

_AREA_LATTICE_STEP = 32  # pixels between exact areal-scale samples on projected grids


@dataclass(frozen=True)
class GridSpec:
    """Where the pixels of a north-up raster are, and their true ground size.

    Parameters
    ----------
    height, width
        Raster size in pixels.
    transform
        Affine pixel → CRS transform (north-up: no rotation terms).
    crs_wkt
        The raster's CRS as WKT (from ``rasterio``'s ``crs.to_wkt()`` or pyproj).

    Raises
    ------
    InputError
        For a rotated transform, a zero pixel size, or a CRS that is neither geographic
        nor projected in metres.
    """

    height: int
    width: int
    transform: Affine
    crs_wkt: str
    geographic: bool = field(init=False)
    semi_major_m: float = field(init=False)
    inv_flattening: float = field(init=False)

    def __post_init__(self) -> None:
        t = self.transform
        problems = []
        if t.b != 0 or t.d != 0:
            problems.append(f"the raster is rotated (transform {tuple(t)[:6]}); fix: warp it north-up "
                            "with gdalwarp first")
        if t.a == 0 or t.e == 0:
            problems.append(f"the raster has a zero pixel size (transform {tuple(t)[:6]})")
        if self.height < 1 or self.width < 1:
            problems.append(f"the raster is empty ({self.height} × {self.width} pixels)")
        try:
            crs = pyproj.CRS.from_user_input(self.crs_wkt)
        except pyproj.exceptions.CRSError as exc:
            raise InputError(f"cannot read the raster CRS ({exc}); fix: assign an EPSG code") from exc
        if not (crs.is_geographic or crs.is_projected):
            problems.append(f"the raster CRS {crs.name!r} is neither geographic nor projected")
        elif crs.is_projected:
            unit = crs.axis_info[0].unit_name if crs.axis_info else ""
            if unit not in ("metre", "meter"):
                problems.append(f"the raster CRS {crs.name!r} has units {unit!r}; fix: give a DEM in "
                                "metres (projected) or degrees (geographic)")
        if problems:
            raise InputError("; ".join(problems))
        ell = crs.ellipsoid
        if ell is None:  # pragma: no cover - every geographic/projected CRS has one
            raise InputError(f"the raster CRS {crs.name!r} has no ellipsoid")
        object.__setattr__(self, "geographic", bool(crs.is_geographic))
        object.__setattr__(self, "semi_major_m", float(ell.semi_major_metre))
        object.__setattr__(self, "inv_flattening", float(ell.inverse_flattening))

    # ---------------------------------------------------------------------------------
    @classmethod
    def from_crs(cls, height: int, width: int, transform: Affine, crs: Any) -> GridSpec:
        """Build from any CRS pyproj or rasterio understands (EPSG code, WKT, CRS object)."""
        if hasattr(crs, "to_wkt"):
            wkt = crs.to_wkt()
        else:
            wkt = pyproj.CRS.from_user_input(crs).to_wkt()
        return cls(int(height), int(width), transform, wkt)

    @property
    def crs(self) -> pyproj.CRS:
        """The CRS as a pyproj object."""
        return pyproj.CRS.from_user_input(self.crs_wkt)

    @property
    def _e2(self) -> float:
        f = 0.0 if self.inv_flattening == 0 else 1.0 / self.inv_flattening
        return f * (2.0 - f)

    def row_lat_deg(self, rows: ArrayLike) -> FloatArray:
        """Latitude (degrees) of the centres of pixel ``rows`` (geographic grids only)."""
        r = np.asarray(rows, dtype=np.float64)
        return self.transform.f + (r + 0.5) * self.transform.e

    def pixel_size_m(self, rows: ArrayLike) -> tuple[FloatArray, FloatArray]:
        """Ground width and height (metres) of the pixels of ``rows`` (global row indices).

        Projected grids: the CRS pixel size for every row.  Geographic grids: ``N cos φ Δλ``
        and ``M Δφ`` at each row's centre latitude on the CRS ellipsoid.  Rows outside the
        raster are allowed (halo rows); latitudes are clipped to ±90°.
        """
        r = np.asarray(rows, dtype=np.float64)
        if not self.geographic:
            return (np.full(r.shape, abs(self.transform.a)), np.full(r.shape, abs(self.transform.e)))
        phi = np.radians(np.clip(self.row_lat_deg(r), -90.0, 90.0))
        a, e2 = self.semi_major_m, self._e2
        w = np.sqrt(1.0 - e2 * np.sin(phi) ** 2)
        n = a / w
        m = a * (1.0 - e2) / w**3
        dlon = math.radians(abs(self.transform.a))
        dlat = math.radians(abs(self.transform.e))
        return (n * np.cos(phi) * dlon, m * dlat)

    # ---------------------------------------------------------------------------------
    def _band_area(self, phi: FloatArray) -> FloatArray:
        """Ellipsoid area (m²) per radian of longitude between the equator and ``phi``."""
        a, e2 = self.semi_major_m, self._e2
        s = np.sin(phi)
        if e2 == 0:
            return a * a * s
        e = math.sqrt(e2)
        b2 = a * a * (1.0 - e2)
        return 0.5 * b2 * (s / (1.0 - e2 * s * s) + np.arctanh(e * s) / e)

    @cached_property
    def _areal_lattice(self) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Exact areal scale of the projection sampled every few pixels (rows, cols, values)."""
        step = _AREA_LATTICE_STEP
        rows = np.unique(np.r_[np.arange(0, self.height, step), self.height - 1]).astype(np.float64)
        cols = np.unique(np.r_[np.arange(0, self.width, step), self.width - 1]).astype(np.float64)
        # One lattice point beyond each end so halo/edge pixels interpolate, not extrapolate.
        rows = np.r_[rows[0] - step, rows, rows[-1] + step]
        cols = np.r_[cols[0] - step, cols, cols[-1] + step]
        cc, rr = np.meshgrid(cols + 0.5, rows + 0.5)
        t = self.transform
        x, y = t.c + t.a * cc.ravel(), t.f + t.e * rr.ravel()
        crs = self.crs
        to_geo = pyproj.Transformer.from_crs(crs, crs.geodetic_crs, always_xy=True)
        lon, lat = to_geo.transform(np.asarray(x), np.asarray(y))
        factors = pyproj.Proj(crs).get_factors(lon, lat)
        scale = np.asarray(factors.areal_scale, dtype=np.float64).reshape(rr.shape)
        return rows, cols, scale

    def cell_area_m2(self, row0: int, row1: int, col0: int, col1: int) -> FloatArray:
        """True ground area (m², on the CRS ellipsoid) of the pixels ``[row0:row1, col0:col1]``.

        Geographic grids: exact ellipsoidal area of each lon/lat cell (depends on the row
        only).  Projected grids: CRS pixel area divided by the projection's areal scale
        factor at the pixel centre, the factor computed exactly (``pyproj`` ``get_factors``)
        every 32 pixels and interpolated bilinearly in between (relative error < 1e-8 for
        conformal projections of county size).  Never degrees², never the raw projected
        area of a conformal projection.
        """
        nrow, ncol = row1 - row0, col1 - col0
        if self.geographic:
            t = self.transform
            top = np.radians(np.clip(t.f + np.arange(row0, row1, dtype=np.float64) * t.e, -90, 90))
            bot = np.radians(np.clip(t.f + np.arange(row0 + 1, row1 + 1, dtype=np.float64) * t.e, -90, 90))
            per_row = np.abs(self._band_area(top) - self._band_area(bot)) * math.radians(abs(t.a))
            return np.broadcast_to(per_row[:, None], (nrow, ncol)).copy()
        lrows, lcols, scale = self._areal_lattice
        r = np.arange(row0, row1, dtype=np.float64)
        c = np.arange(col0, col1, dtype=np.float64)
        ci = np.clip(np.searchsorted(lcols, c, side="right") - 1, 0, len(lcols) - 2)
        cw = (c - lcols[ci]) / (lcols[ci + 1] - lcols[ci])
        along = scale[:, ci] * (1.0 - cw) + scale[:, ci + 1] * cw  # (n lattice rows, ncol)
        ri = np.clip(np.searchsorted(lrows, r, side="right") - 1, 0, len(lrows) - 2)
        rw = ((r - lrows[ri]) / (lrows[ri + 1] - lrows[ri]))[:, None]
        areal = along[ri] * (1.0 - rw) + along[ri + 1] * rw
        return abs(self.transform.a * self.transform.e) / areal


# --------------------------------------------------------------------------------------
# Windows
# --------------------------------------------------------------------------------------


def iter_windows(height: int, width: int, *, block_rows: int,
                 block_cols: int | None = None) -> Iterator[tuple[int, int, int, int]]:
    """Windows ``(row0, row1, col0, col1)`` tiling a ``height × width`` raster, row-major.

    Parameters
    ----------
    height, width
        Raster size, pixels.
    block_rows, block_cols
        Window size, pixels (``block_cols=None``: full-width strips).

    Raises
    ------
    InputError
        When a block size is smaller than 1.
    """
    bc = width if block_cols is None else block_cols
    if block_rows < 1 or bc < 1:
        raise InputError(f"window size must be at least 1 × 1 pixel, got {block_rows} × {bc}")
    for r0 in range(0, height, block_rows):
        for c0 in range(0, width, bc):
            yield r0, min(r0 + block_rows, height), c0, min(c0 + bc, width)


# --------------------------------------------------------------------------------------
# Horn's method
# --------------------------------------------------------------------------------------


def horn_slope(z: ArrayLike, *, dx_m: ArrayLike, dy_m: ArrayLike,
               aspect: bool = False) -> F32 | tuple[F32, F32]:
    """Horn (1981) slope in degrees of the interior of a DEM block that carries a halo.

    Parameters
    ----------
    z
        Elevations (metres), shape ``(h + 2, w + 2)``: the block plus a one-pixel halo;
        NaN marks voids (and pixels beyond the raster).
    dx_m, dy_m
        Ground width and height (metres) of the pixels: a scalar, or one value per row of
        ``z`` (``h + 2`` values) for geographic grids.
    aspect
        Also return the aspect: azimuth of the downslope direction, degrees clockwise
        from north in [0, 360); NaN where the slope is exactly 0 or missing.

    Returns
    -------
    numpy.ndarray or tuple
        Slope (degrees, float32, shape ``(h, w)``), NaN where any of the nine pixels is
        NaN; with ``aspect=True`` the tuple ``(slope, aspect)``.
    """
    z = np.asarray(z, dtype=np.float32)
    if z.ndim != 2 or z.shape[0] < 3 or z.shape[1] < 3:
        raise InputError(f"horn_slope needs a 2-D block with a halo (at least 3 × 3), got shape {z.shape}")
    a, b, c = z[:-2, :-2], z[:-2, 1:-1], z[:-2, 2:]
    d, e, f = z[1:-1, :-2], z[1:-1, 1:-1], z[1:-1, 2:]
    g, h, i = z[2:, :-2], z[2:, 1:-1], z[2:, 2:]
    dx = np.asarray(dx_m, dtype=np.float64)
    dy = np.asarray(dy_m, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        # Differences of neighbours first (exact in float32 for nearby elevations), sums after.
        # East: ((c - a) + 2 (f - d) + (i - g)) / (8 dx), each row over its own width.
        p = np.subtract(c, a)
        t = np.subtract(f, d)
        u = np.subtract(i, g)
        if dx.ndim == 0:
            t *= 2.0
            p += t
            p += u
            p *= np.float32(1.0 / (8.0 * float(dx)))
        else:
            inv = (1.0 / (8.0 * dx)).astype(np.float32)[:, None]
            p *= inv[:-2]
            t *= 2.0 * inv[1:-1]
            u *= inv[2:]
            p += t
            p += u
        # South: ((g - a) + 2 (h - b) + (i - c)) / (8 dy)
        q = np.subtract(g, a)
        np.subtract(h, b, out=t)
        t *= 2.0
        q += t
        np.subtract(i, c, out=u)
        q += u
        if dy.ndim == 0:
            q *= np.float32(1.0 / (8.0 * float(dy)))
        else:
            q *= (1.0 / (8.0 * dy)).astype(np.float32)[1:-1, None]
        # The centre pixel is not in Horn's sums, but a void centre has no slope either.
        zero = np.multiply(e, 0.0, dtype=np.float32)
        p += zero
        q += zero
        if aspect:
            asp = np.arctan2(-p, q)
        s = np.multiply(p, p)
        s += q * q
        np.sqrt(s, out=s)
        np.arctan(s, out=s)
        s *= np.float32(180.0 / math.pi)
    if not aspect:
        return s
    asp = np.degrees(asp).astype(np.float32)
    asp[asp < 0] += np.float32(360.0)
    asp[asp >= 360.0] -= np.float32(360.0)
    asp[~(s > 0)] = np.nan
    return s, asp


def _as_float_block(raw: NDArray[Any], nodata: float | None) -> F32:
    block = np.asarray(raw).astype(np.float32, copy=True)
    if nodata is not None and not math.isnan(nodata):
        block[np.asarray(raw) == nodata] = np.nan
    block[~np.isfinite(block)] = np.nan
    return block


def slope_window(read: WindowReader, grid: GridSpec, window: tuple[int, int, int, int], *,
                 nodata: float | None = None, aspect: bool = False) -> F32 | tuple[F32, F32]:
    """Slope (degrees) of one window of a DEM, reading the window plus a one-pixel halo.

    Parameters
    ----------
    read
        ``read(row0, row1, col0, col1)`` → raw DEM values (metres) of that range; only
        called with ranges inside the raster.
    grid
        Where the DEM pixels are (:class:`GridSpec`).
    window
        ``(row0, row1, col0, col1)`` of the output block.
    nodata
        The DEM's nodata value (NaN/inf are always voids).
    aspect
        Also return the aspect (see :func:`horn_slope`).

    Returns
    -------
    numpy.ndarray or tuple
        Float32 slope of shape ``(row1 - row0, col1 - col0)``, NaN where no slope exists
        (voids, their neighbours, the raster's outer ring); with ``aspect=True``
        ``(slope, aspect)``.
    """
    r0, r1, c0, c1 = window
    rr0, rr1 = max(r0 - 1, 0), min(r1 + 1, grid.height)
    cc0, cc1 = max(c0 - 1, 0), min(c1 + 1, grid.width)
    core = _as_float_block(read(rr0, rr1, cc0, cc1), nodata)
    pad = ((rr0 - (r0 - 1), (r1 + 1) - rr1), (cc0 - (c0 - 1), (c1 + 1) - cc1))
    z = np.pad(core, pad, mode="constant", constant_values=np.nan) if any(sum(pad, ())) else core
    if grid.geographic:
        dx, dy = grid.pixel_size_m(np.arange(r0 - 1, r1 + 1))
        return horn_slope(z, dx_m=dx, dy_m=dy, aspect=aspect)
    return horn_slope(z, dx_m=abs(grid.transform.a), dy_m=abs(grid.transform.e), aspect=aspect)


def slope_deg(dem: ArrayLike, grid: GridSpec, *, nodata: float | None = None,
              block_rows: int | None = None, block_cols: int | None = None,
              aspect: bool = False) -> F32 | tuple[F32, F32]:
    """Slope (degrees, float32, NaN where none) of a whole in-memory DEM.

    Parameters
    ----------
    dem
        Elevations (metres), shape ``(grid.height, grid.width)``.
    grid
        Where the pixels are.
    nodata
        Nodata value of ``dem``.
    block_rows, block_cols
        Process in windows of this size (default: the whole array at once); the result is
        identical whatever the window size.
    aspect
        Also return the aspect (degrees clockwise from north).
    """
    arr = np.asarray(dem)
    if arr.shape != (grid.height, grid.width):
        raise InputError(f"DEM array shape {arr.shape} does not match the grid "
                         f"({grid.height}, {grid.width})")

    def read(r0: int, r1: int, c0: int, c1: int) -> NDArray[Any]:
        return arr[r0:r1, c0:c1]

    out = np.empty(arr.shape, dtype=np.float32)
    asp = np.empty(arr.shape, dtype=np.float32) if aspect else None
    for w in iter_windows(grid.height, grid.width, block_rows=block_rows or grid.height,
                          block_cols=block_cols):
        res = slope_window(read, grid, w, nodata=nodata, aspect=aspect)
        if aspect:
            out[w[0]:w[1], w[2]:w[3]], asp[w[0]:w[1], w[2]:w[3]] = res  # type: ignore[index,misc]
        else:
            out[w[0]:w[1], w[2]:w[3]] = res
    return (out, asp) if asp is not None else out  # type: ignore[return-value]
