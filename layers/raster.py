"""Raster inputs (DEMs): opening and checking with rasterio, sampling elevations."""

from __future__ import annotations

import math
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyproj
import rasterio
from numpy.typing import ArrayLike, NDArray
from rasterio.errors import RasterioIOError
from rasterio.windows import Window

from anzhi.core.errors import DataSourceError, InputError
from anzhi.core.settings import get_settings
from layers.guard import raster_driver, refuse_virtual

__all__ = [
    "DemCoverage",
    "DemInfo",
    "PixelWindow",
    "bounds_window",
    "check_dem",
    "check_window_pixels",
    "dem_coverage",
    "dem_elevation_sampler",
    "dem_uri",
    "point_windows",
    "window_transform",
]

#: A block of a raster's pixels: ``(row0, row1, col0, col1)``, ends exclusive.
PixelWindow = tuple[int, int, int, int]


@dataclass(frozen=True)
class DemInfo:
    """What a DEM file is, read from its header only.

    Attributes
    ----------
    path
        The file.
    crs
        Its CRS as a string (e.g. ``"EPSG:4542"``).
    width, height
        Size in pixels.
    res
        Pixel size (x, y) in CRS units (metres or degrees).
    nodata
        The nodata value, or ``None``.
    geographic
        True when the CRS is in degrees (SRTM, Copernicus).
    """

    path: str
    crs: str
    width: int
    height: int
    res: tuple[float, float]
    nodata: float | None
    geographic: bool


def _dem_source(path: str | Path) -> tuple[str, str | None]:
    """``(uri, driver)``: the string GDAL opens and the one driver allowed for it."""
    text = str(path)
    refuse_virtual(text)
    p = Path(text)
    try:
        if p.suffix.lower() != ".zip":
            with p.open("rb") as fh:
                head = fh.read(4)
            return text, raster_driver(head, name=p.name, size=p.stat().st_size)
        with zipfile.ZipFile(p) as zf:
            members = [n for n in zf.namelist() if n.lower().endswith((".hgt", ".tif", ".tiff"))]
            if len(members) != 1:
                raise DataSourceError(
                    f"{p}: expected one .hgt or .tif inside the zip, found {len(members)} "
                    f"({', '.join(members) or 'none'}); fix: unzip it and give the raster file"
                )
            member = members[0]
            if ".." in Path(member).parts or member.startswith("/"):
                raise DataSourceError(f"{p}: the zip member name {member!r} leaves the archive")
            with zf.open(member) as fh:
                head = fh.read(4)
            driver = raster_driver(head, name=member, size=zf.getinfo(member).file_size)
    except FileNotFoundError as exc:
        raise DataSourceError(f"{p}: the DEM file does not exist") from exc
    except (OSError, zipfile.BadZipFile) as exc:
        what = "the zip file" if p.suffix.lower() == ".zip" else "the DEM file"
        raise DataSourceError(f"{p}: cannot read {what} ({exc})") from exc
    return f"/vsizip/{p.resolve()}/{member}", driver


def dem_uri(path: str | Path) -> str:
    """The string GDAL opens for a DEM path: the path itself, or for a ``.zip`` holding one
    SRTM ``.hgt`` or GeoTIFF (as SRTM tiles are distributed) ``/vsizip/<abs path>/<member>``.

    Raises
    ------
    DataSourceError
        A GDAL virtual or network path (``/vsi…``, ``http://``), a zip with no single raster
        inside, or a file that cannot be read.
    """
    return _dem_source(path)[0]


def check_dem(path: str | Path, *, whole: bool = True) -> DemInfo:
    """Open a DEM (GeoTIFF, SRTM ``.hgt``, or ``/vsizip/`` paths) and check it is usable.

    Parameters
    ----------
    path
        The DEM file.
    whole
        The caller reads the whole raster (a slope GeoTIFF of all of it): its declared size
        must be within ``settings.max_raster_pixels``.  ``False`` for callers that read only
        windows of it (the hazard screen, the map's steep land, elevation sampling): they
        check each window with :func:`check_window_pixels` instead, so a huge (sparse)
        DEM whose window around the sites is small is usable.

    Raises
    ------
    DataSourceError
        When the file cannot be opened as a raster.
    InputError
        When it has no CRS or more than one band, or (``whole``) more pixels than the limit.
    """
    uri, driver = _dem_source(path)
    p = Path(str(path))
    if driver is None:
        raise DataSourceError(
            f"{p}: cannot open the DEM as a raster: not a GeoTIFF or SRTM .hgt file (Anzhi reads "
            "no other raster format, and no "
            "GDAL VRT); fix: convert it with gdal_translate -of GTiff"
        )
    try:
        with rasterio.open(uri, driver=driver) as src:
            crs = src.crs
            info = DemInfo(
                path=uri,
                crs=crs.to_string() if crs else "",
                width=src.width,
                height=src.height,
                res=(float(src.res[0]), float(src.res[1])),
                nodata=None if src.nodata is None else float(src.nodata),
                geographic=bool(crs and crs.is_geographic),
            )
            count = src.count
    except RasterioIOError as exc:
        raise DataSourceError(f"{p}: cannot open the DEM as a raster ({exc}); give a GeoTIFF or SRTM .hgt file") from exc
    problems = []
    if not info.crs:
        problems.append(f"{p.name}: the DEM has no CRS; fix: assign one, e.g. gdal_edit.py -a_srs EPSG:4542 {p.name}")
    if count != 1:
        problems.append(f"{p.name}: the DEM has {count} bands; fix: give a single-band elevation raster")
    limit = get_settings().max_raster_pixels
    if whole and info.width * info.height > limit:
        problems.append(
            f"{p.name}: the DEM declares {info.width:,} × {info.height:,} pixels, more than the "
            f"limit of {limit:,} (setting max_raster_pixels); fix: crop it to the county with "
            "gdal_translate -projwin, or raise the limit with "
            "anzhi.core.settings.override(max_raster_pixels=...)"
        )
    if problems:
        raise InputError("; ".join(problems))
    return info


def dem_elevation_sampler(
    path: str | Path, *, crs: str
) -> Callable[[ArrayLike, ArrayLike], NDArray[np.float64]]:
    """A function giving bilinear DEM elevations (m) at points in ``crs``.

    Parameters
    ----------
    path
        The DEM (GeoTIFF, SRTM ``.hgt``, a zipped tile or a ``/vsi…`` path), one band of
        elevations in metres; checked with :func:`check_dem` right away.
    crs
        CRS of the points the returned function is called with (anything pyproj reads,
        e.g. a road graph's ``crs_metric`` such as ``"EPSG:32631"``); points are reprojected
        to the DEM's CRS with pyproj.

    Returns
    -------
    callable
        ``elevation_m(x, y) -> z_m``: for coordinate arrays of one shape, the elevation in
        metres (float64, same shape), bilinearly interpolated between the four surrounding
        pixel centres (scale and offset of the band applied).  NaN where a pixel with a
        non-zero weight is nodata or not finite (a void), and outside the raster; between
        the outermost pixel centres and the raster's edge the edge pixels are extended.
        Each call opens the file once and reads only the bounding window of its points
        (the window of the last call is kept and reused when the next call's points fall
        inside it); the DEM's declared size is not limited, each window is
        (:func:`check_window_pixels`).

    Raises
    ------
    DataSourceError
        The DEM cannot be opened or read (at creation or in a call).
    InputError
        The DEM has no CRS or several bands, or ``crs`` is not a CRS; in a call, when the
        window of its points has more pixels than ``settings.max_raster_pixels``.
    """
    info = check_dem(path, whole=False)  # each window read is checked instead
    label = Path(str(path)).name
    try:
        points_crs = pyproj.CRS.from_user_input(crs)
    except pyproj.exceptions.CRSError as exc:
        raise InputError(f"{crs!r} is not a coordinate reference system ({exc}); give one "
                         "pyproj understands, e.g. 'EPSG:4326' or 'EPSG:32631'") from None
    dem_crs = pyproj.CRS.from_user_input(info.crs)
    transformer = None if points_crs == dem_crs else pyproj.Transformer.from_crs(
        points_crs, dem_crs, always_xy=True)
    uri = info.path
    height, width = info.height, info.width
    try:
        with rasterio.open(uri) as src:
            to_pixel = ~src.transform
    except RasterioIOError as exc:
        raise DataSourceError(f"{label}: cannot open the DEM ({exc}); check the file") from exc
    # the last window read: (row0, row1, col0, col1) and its pixels
    cached: list[tuple[tuple[int, int, int, int], NDArray[np.float64]]] = []

    def read_window(r0: int, r1: int, c0: int, c1: int) -> NDArray[np.float64]:
        """Elevations (m) of rows r0..r1-1, columns c0..c1-1, NaN at voids."""
        if cached:
            (hr0, hr1, hc0, hc1), arr = cached[0]
            if hr0 <= r0 and r1 <= hr1 and hc0 <= c0 and c1 <= hc1:
                return arr[r0 - hr0: r1 - hr0, c0 - hc0: c1 - hc0]
        check_window_pixels(label, r1 - r0, c1 - c0, what="around the points sampled")
        try:
            with rasterio.open(uri) as src:
                raw = src.read(1, window=Window(c0, r0, c1 - c0, r1 - r0))
                nodata = src.nodata
                scale, offset = float(src.scales[0]), float(src.offsets[0])
        except RasterioIOError as exc:
            raise DataSourceError(f"{label}: cannot read the DEM ({exc}); check the file") from exc
        values = raw.astype(np.float64)
        void = ~np.isfinite(values)
        if nodata is not None and not math.isnan(nodata):
            void |= raw == nodata
        values = values * scale + offset
        values[void] = np.nan
        cached[:] = [((r0, r1, c0, c1), values)]
        return values

    def elevation_m(x: ArrayLike, y: ArrayLike) -> NDArray[np.float64]:
        xa, ya = np.broadcast_arrays(np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64))
        shape = xa.shape
        xs, ys = xa.ravel(), ya.ravel()
        if transformer is not None:
            xs, ys = (np.asarray(v, dtype=np.float64) for v in transformer.transform(xs, ys))
        with np.errstate(invalid="ignore"):
            col_f = to_pixel.a * xs + to_pixel.b * ys + to_pixel.c
            row_f = to_pixel.d * xs + to_pixel.e * ys + to_pixel.f
        out = np.full(xs.shape, np.nan)
        inside = ((col_f >= 0) & (col_f <= width) & (row_f >= 0) & (row_f <= height)
                  & np.isfinite(col_f) & np.isfinite(row_f))
        if not inside.any():
            return out.reshape(shape)
        # pixel centres sit at half-integers: c = col_f - 0.5 between centres c0 and c0 + 1
        c = np.clip(col_f[inside] - 0.5, 0.0, width - 1.0)
        r = np.clip(row_f[inside] - 0.5, 0.0, height - 1.0)
        c0 = np.minimum(np.floor(c).astype(np.int64), max(width - 2, 0))
        r0 = np.minimum(np.floor(r).astype(np.int64), max(height - 2, 0))
        fx, fy = c - c0, r - r0
        c1 = np.minimum(c0 + 1, width - 1)
        r1 = np.minimum(r0 + 1, height - 1)
        wr0, wr1 = int(r0.min()), int(r1.max()) + 1
        wc0, wc1 = int(c0.min()), int(c1.max()) + 1
        grid = read_window(wr0, wr1, wc0, wc1)
        z00 = grid[r0 - wr0, c0 - wc0]
        z01 = grid[r0 - wr0, c1 - wc0]
        z10 = grid[r1 - wr0, c0 - wc0]
        z11 = grid[r1 - wr0, c1 - wc0]
        w00, w01 = (1 - fx) * (1 - fy), fx * (1 - fy)
        w10, w11 = (1 - fx) * fy, fx * fy
        # a void counts only where its weight is non-zero (a point on a valid pixel centre
        # next to a void keeps its value)
        z = np.zeros(len(c))
        void = np.zeros(len(c), dtype=bool)
        for w, zv in ((w00, z00), (w01, z01), (w10, z10), (w11, z11)):
            used = w > 0
            z += np.where(used, w * zv, 0.0)
            void |= used & np.isnan(zv)
        out[inside] = np.where(void, np.nan, z)
        return out.reshape(shape)

    return elevation_m


# --------------------------------------------------------------------------------------
# Windows of a DEM around points and bounds; does a DEM cover the points?
# --------------------------------------------------------------------------------------

#: Metres per degree of latitude, the smallest value on the WGS84 ellipsoid (at the equator),
#: so that a margin in metres turned into degrees is never too small.
_M_PER_DEG_LAT = 110_574.0
_M_PER_DEG_LON_EQUATOR = 111_320.0


def check_window_pixels(label: str, height: int, width: int, *, what: str) -> None:
    """Refuse a DEM window of more than ``settings.max_raster_pixels`` pixels.

    Parameters
    ----------
    label
        The DEM's file name (for the message).
    height, width
        The window's size in pixels.
    what
        Which window it is, e.g. ``"around the sites"``.

    Raises
    ------
    InputError
        Naming the window's size, the limit and the setting, and the fix.
    """
    limit = get_settings().max_raster_pixels
    if height * width > limit:
        raise InputError(
            f"{label}: the DEM window {what} is {width:,} × {height:,} pixels, more than the "
            f"limit of {limit:,} (setting max_raster_pixels); fix: give a DEM of the county "
            "only (gdal_translate -projwin), or raise the limit with "
            "anzhi.core.settings.override(max_raster_pixels=...)"
        )


def _to_dem_crs(info: DemInfo, x: ArrayLike, y: ArrayLike, crs: str) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    xs = np.atleast_1d(np.asarray(x, dtype=np.float64))
    ys = np.atleast_1d(np.asarray(y, dtype=np.float64))
    src, dst = pyproj.CRS.from_user_input(crs), pyproj.CRS.from_user_input(info.crs)
    if src == dst:
        return xs, ys
    tx, ty = pyproj.Transformer.from_crs(src, dst, always_xy=True).transform(xs, ys)
    return np.asarray(tx, dtype=np.float64), np.asarray(ty, dtype=np.float64)


def _margin_units(info: DemInfo, y_dem: NDArray[np.float64], margin_m: float
                  ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """A ground margin (m) in the DEM's CRS units along x and y, at each point (never less)."""
    if not info.geographic:  # metres; 1 % for the projection's scale factor
        m = np.full(y_dem.shape, margin_m * 1.01)
        return m, m
    lat = np.radians(np.clip(np.abs(y_dem) + margin_m / _M_PER_DEG_LAT, 0.0, 89.0))
    return (margin_m / (_M_PER_DEG_LON_EQUATOR * np.cos(lat)),
            np.full(y_dem.shape, margin_m / _M_PER_DEG_LAT))


def _pixel_ranges(info: DemInfo, transform: Any, x0: NDArray[np.float64], x1: NDArray[np.float64],
                  y0: NDArray[np.float64], y1: NDArray[np.float64], pad_px: int
                  ) -> tuple[NDArray[np.float64], ...]:
    """Rows and columns (floats, unclipped) covering the CRS boxes, padded by ``pad_px``."""
    inv = ~transform
    cols = np.stack([inv.a * x + inv.c for x in (x0, x1)])
    rows = np.stack([inv.e * y + inv.f for y in (y0, y1)])
    return (np.floor(rows.min(axis=0)) - pad_px, np.ceil(rows.max(axis=0)) + pad_px,
            np.floor(cols.min(axis=0)) - pad_px, np.ceil(cols.max(axis=0)) + pad_px)


def _clip_window(info: DemInfo, r0: float, r1: float, c0: float, c1: float, align_px: int
                 ) -> PixelWindow | None:
    """A window aligned outwards on ``align_px`` (from the raster's origin) and clipped to
    the raster; ``None`` when nothing of it is inside."""
    if not all(math.isfinite(v) for v in (r0, r1, c0, c1)):
        return None
    a = max(int(align_px), 1)
    rr0, cc0 = max(int(r0 // a) * a, 0), max(int(c0 // a) * a, 0)
    rr1 = min(int(-(-r1 // a)) * a, info.height)
    cc1 = min(int(-(-c1 // a)) * a, info.width)
    if rr0 >= rr1 or cc0 >= cc1:
        return None
    return rr0, rr1, cc0, cc1


def window_transform(t: Any, row0: int, col0: int) -> Any:
    """The affine transform of the window of transform ``t`` whose top-left pixel is
    ``(row0, col0)`` (rasterio's ``window_transform``, without its deprecated ``*``)."""
    return type(t)(t.a, t.b, t.c + t.a * col0 + t.b * row0, t.d, t.e, t.f + t.d * col0 + t.e * row0)


def _transform_of(info: DemInfo) -> Any:
    try:
        with rasterio.open(info.path) as src:
            return src.transform
    except RasterioIOError as exc:
        raise DataSourceError(f"{Path(info.path).name}: cannot open the DEM ({exc}); check the file") from exc


def bounds_window(info: DemInfo, bounds: tuple[float, float, float, float], *, crs: str = "EPSG:4326",
                  margin_m: float = 0.0, align_px: int = 32) -> PixelWindow | None:
    """The DEM pixels under a bounding box plus a ground margin.

    Parameters
    ----------
    info
        :func:`check_dem` of the DEM.
    bounds
        ``(left, bottom, right, top)`` in ``crs`` (default lon/lat).
    margin_m
        Ground metres added on every side (never less: degrees are converted at the
        latitude where a degree of longitude is shortest).
    align_px
        The window's edges are moved outwards onto multiples of this many pixels from the
        raster's origin (or its far edge), so windows of one DEM share a lattice.

    Returns
    -------
    tuple or None
        ``(row0, row1, col0, col1)`` clipped to the raster, ``None`` when the box (with its
        margin) misses the DEM.
    """
    src, dst = pyproj.CRS.from_user_input(crs), pyproj.CRS.from_user_input(info.crs)
    left, bottom, right, top = (float(v) for v in bounds)
    if src != dst:
        tr = pyproj.Transformer.from_crs(src, dst, always_xy=True)
        left, bottom, right, top = tr.transform_bounds(left, bottom, right, top, densify_pts=21)
    mx, my = _margin_units(info, np.array([bottom, top]), margin_m)
    x0, x1 = np.array([left - mx.max()]), np.array([right + mx.max()])
    y0, y1 = np.array([bottom - my.max()]), np.array([top + my.max()])
    r0, r1, c0, c1 = (float(v[0]) for v in _pixel_ranges(info, _transform_of(info), x0, x1, y0, y1,
                                                         pad_px=0))
    return _clip_window(info, r0, r1, c0, c1, align_px)


def point_windows(info: DemInfo, x: ArrayLike, y: ArrayLike, *, crs: str = "EPSG:4326",
                  margin_m: float = 0.0, pad_px: int = 0, group_px: int = 1024, align_px: int = 32
                  ) -> list[tuple[PixelWindow | None, NDArray[np.int64]]]:
    """Small DEM windows around points, one per cluster of nearby points.

    Points are grouped by the ``group_px`` × ``group_px`` block of the DEM they fall in;
    each group gets the window of its points' boxes (``margin_m`` ground metres plus
    ``pad_px`` pixels around each point), aligned on ``align_px`` and clipped to the raster.
    Dense points (a county's sites) give a few windows, sparse ones (sites across a
    province's DEM) one small window each, so what is read stays near the points whatever
    the size of the DEM.

    Returns
    -------
    list
        ``(window or None, indices of the points)``; ``None`` for points whose box misses
        the DEM (or whose coordinates are not finite).  Every point is in exactly one group.
    """
    xs, ys = _to_dem_crs(info, x, y, crs)
    mx, my = _margin_units(info, ys, margin_m)
    r0, r1, c0, c1 = _pixel_ranges(info, _transform_of(info), xs - mx, xs + mx, ys - my, ys + my,
                                   pad_px=pad_px)
    ok = np.isfinite(r0) & np.isfinite(r1) & np.isfinite(c0) & np.isfinite(c1)
    g = max(int(group_px), 1)
    keys = np.full((len(xs), 2), np.iinfo(np.int64).min, dtype=np.int64)
    keys[ok, 0] = np.floor((r0[ok] + r1[ok]) / 2 / g).astype(np.int64)
    keys[ok, 1] = np.floor((c0[ok] + c1[ok]) / 2 / g).astype(np.int64)
    uniq, inverse = np.unique(keys, axis=0, return_inverse=True)
    out: list[tuple[PixelWindow | None, NDArray[np.int64]]] = []
    missed: list[NDArray[np.int64]] = []
    for k in range(len(uniq)):
        idx = np.flatnonzero(inverse.ravel() == k).astype(np.int64)
        win = None if not ok[idx[0]] else _clip_window(
            info, float(r0[idx].min()), float(r1[idx].max()), float(c0[idx].min()),
            float(c1[idx].max()), align_px)
        if win is None:
            missed.append(idx)
        else:
            out.append((win, idx))
    if missed:
        out.append((None, np.sort(np.concatenate(missed))))
    return out


@dataclass(frozen=True)
class DemCoverage:
    """How a DEM covers a set of points (the sites): for warnings when it misses them.

    Attributes
    ----------
    name
        The DEM's file name.
    crs
        The DEM's CRS (e.g. ``"EPSG:4542"``).
    bounds
        The DEM's extent ``(left, bottom, right, top)`` in its CRS.
    bounds_lonlat
        The same extent in longitude/latitude (WGS84), ``None`` if it cannot be converted.
    n_points
        Points checked.
    n_inside
        Points inside the DEM's extent.
    n_valued
        Points whose pixel holds an elevation (not nodata, finite).
    all_nodata
        ``True`` when the DEM holds no elevation at all, ``False`` when it holds some,
        ``None`` when not checked (only done for a DEM no point gets an elevation from, and
        of at most 16 M pixels).
    """

    name: str
    crs: str
    bounds: tuple[float, float, float, float]
    bounds_lonlat: tuple[float, float, float, float] | None
    n_points: int
    n_inside: int
    n_valued: int
    all_nodata: bool | None


_ALL_NODATA_CHECK_PX = 16_000_000


def _valid(raw: NDArray[Any], nodata: float | None) -> NDArray[np.bool_]:
    ok = np.isfinite(raw) if raw.dtype.kind == "f" else np.ones(raw.shape, dtype=bool)
    if nodata is not None and not math.isnan(nodata):
        ok &= raw != nodata
    return np.asarray(ok)


def dem_coverage(path: str | Path, lon: ArrayLike, lat: ArrayLike) -> DemCoverage:
    """Which of the points (WGS84 lon/lat) fall inside a DEM, and which get an elevation.

    Reads only small windows around the points (:func:`point_windows`), one pixel per
    point, whatever the DEM's size; for a DEM that gives no point an elevation, it also
    reads the whole raster (up to 16 M pixels) to tell an all-nodata DEM from voids.

    Raises
    ------
    DataSourceError, InputError
        As :func:`check_dem` (the declared size is not limited).
    """
    info = check_dem(path, whole=False)
    label = Path(str(path)).name
    xs, ys = _to_dem_crs(info, lon, lat, "EPSG:4326")
    try:
        with rasterio.open(info.path) as src:
            inv, nodata, b = ~src.transform, src.nodata, src.bounds
            col = np.floor(inv.a * xs + inv.b * ys + inv.c)
            row = np.floor(inv.d * xs + inv.e * ys + inv.f)
            inside = (np.isfinite(col) & np.isfinite(row) & (col >= 0) & (col < info.width)
                      & (row >= 0) & (row < info.height))
            valued = np.zeros(len(xs), dtype=bool)
            if inside.any():
                sel = np.flatnonzero(inside)
                for win, idx in point_windows(info, xs[sel], ys[sel], crs=info.crs, group_px=256,
                                              align_px=1, pad_px=1):
                    if win is None:
                        continue
                    r0, r1, c0, c1 = win
                    ok = _valid(src.read(1, window=Window(c0, r0, c1 - c0, r1 - r0)), nodata)
                    rr = row[sel[idx]].astype(np.int64) - r0
                    cc = col[sel[idx]].astype(np.int64) - c0
                    within = (rr >= 0) & (rr < r1 - r0) & (cc >= 0) & (cc < c1 - c0)
                    valued[sel[idx[within]]] = ok[rr[within], cc[within]]
            all_nodata = None
            if not valued.any() and info.width * info.height <= _ALL_NODATA_CHECK_PX:
                all_nodata = not bool(_valid(src.read(1), nodata).any())
    except RasterioIOError as exc:
        raise DataSourceError(f"{label}: cannot read the DEM ({exc}); check the file") from exc
    try:
        to_ll = pyproj.Transformer.from_crs(pyproj.CRS.from_user_input(info.crs), "EPSG:4326",
                                            always_xy=True)
        w, s_, e, n = (float(v) for v in to_ll.transform_bounds(b.left, b.bottom, b.right, b.top,
                                                                 densify_pts=21))
        bounds_ll = (w, s_, e, n) if all(math.isfinite(v) for v in (w, s_, e, n)) else None
    except pyproj.exceptions.ProjError:
        bounds_ll = None
    return DemCoverage(
        name=label, crs=info.crs, bounds=(float(b.left), float(b.bottom), float(b.right), float(b.top)),
        bounds_lonlat=bounds_ll,
        n_points=len(xs), n_inside=int(inside.sum()), n_valued=int(valued.sum()),
        all_nodata=all_nodata,
    )
