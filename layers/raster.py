"""Raster inputs (DEMs): opening and checking with rasterio."""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import rasterio
from rasterio.errors import RasterioIOError

from anzhi.errors import DataSourceError, InputError

__all__ = ["DemInfo", "check_dem", "dem_uri"]


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


def dem_uri(path: str | Path) -> str:
    """The string GDAL opens for a DEM path.

    ``/vsi…`` paths pass through untouched; a ``.zip`` holding one SRTM ``.hgt`` or GeoTIFF
    (as SRTM tiles are distributed) becomes ``/vsizip/<abs path>/<member>``.

    Raises
    ------
    DataSourceError
        For a zip with no raster inside or that cannot be read.
    """
    text = str(path)
    if text.startswith("/vsi"):
        return text
    p = Path(text)
    if p.suffix.lower() != ".zip":
        return text
    try:
        with zipfile.ZipFile(p) as zf:
            members = [n for n in zf.namelist() if n.lower().endswith((".hgt", ".tif", ".tiff"))]
    except (OSError, zipfile.BadZipFile) as exc:
        raise DataSourceError(f"{p}: cannot read the zip file ({exc})") from exc
    if len(members) != 1:
        raise DataSourceError(
            f"{p}: expected one .hgt or .tif inside the zip, found {len(members)} ({', '.join(members) or 'none'}); "
            "fix: unzip it and give the raster file"
        )
    return f"/vsizip/{p.resolve()}/{members[0]}"


def check_dem(path: str | Path) -> DemInfo:
    """Open a DEM (GeoTIFF, SRTM ``.hgt``, or ``/vsizip/`` paths) and check it is usable.

    Raises
    ------
    DataSourceError
        When the file cannot be opened as a raster.
    InputError
        When it has no CRS or more than one band.
    """
    uri = dem_uri(path)
    p = Path(str(path))
    try:
        with rasterio.open(uri) as src:
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
    if problems:
        raise InputError("; ".join(problems))
    return info
