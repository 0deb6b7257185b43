"""Raster inputs (DEMs): opening and checking with rasterio, sampling elevations."""

from __future__ import annotations

import math
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyproj
import rasterio
from numpy.typing import ArrayLike, NDArray
from rasterio.errors import RasterioIOError
from rasterio.windows import Window

from anzhi.core.errors import DataSourceError, InputError
from anzhi.core.settings import get_settings
from layers.guard import raster_driver, refuse_virtual

__all__ = ["DemInfo", "check_dem", "dem_elevation_sampler", "dem_uri"]


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


def check_dem(path: str | Path) -> DemInfo:
    """Open a DEM (GeoTIFF, SRTM ``.hgt``, or ``/vsizip/`` paths) and check it is usable.

    Raises
    ------
    DataSourceError
        When the file cannot be opened as a raster.
    InputError
        When it has no CRS or more than one band.
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
    if info.width * info.height > limit:
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
        inside it).

    Raises
    ------
    DataSourceError
        The DEM cannot be opened or read (at creation or in a call).
    InputError
        The DEM has no CRS or several bands, or ``crs`` is not a CRS.
    """
    info = check_dem(path)
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
