"""One guarded way to open input files with GDAL: the format is recognised from the file's
first bytes and only then opened, with the driver that format has (docs/security.md).

GDAL opens almost anything: an OGR/GDAL VRT (XML) can point at any file of the server
(``CSV:/etc/passwd``) or any URL (``/vsicurl/``), and reading it would echo that file's lines in
the error list.  Anzhi's inputs are a few formats only, so every reader of a vector layer or a
DEM asks this module first: a GDAL virtual or network path is refused, a file whose first bytes
are not those of an allowed format is refused, and a layer that GDAL then opens with another
driver than the one allowed is refused too.
"""

from __future__ import annotations

from pathlib import Path

from anzhi.core.errors import DataSourceError

__all__ = ["HGT_SIZES", "TIFF_MAGIC", "VECTOR_DRIVERS", "check_opened_driver", "check_vector_file",
           "raster_driver", "refuse_virtual"]

#: First bytes of a GeoTIFF (classic and BigTIFF, both byte orders).
TIFF_MAGIC: tuple[bytes, ...] = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
#: Sizes in bytes of SRTM ``.hgt`` tiles (3" and 1": 1201² and 3601² big-endian int16).
HGT_SIZES: frozenset[int] = frozenset({2 * 1201 * 1201, 2 * 3601 * 3601})
#: Vector file suffix → the one OGR driver it is opened with.
VECTOR_DRIVERS: dict[str, str] = {".gpkg": "GPKG", ".geojson": "GeoJSON", ".json": "GeoJSON",
                                  ".shp": "ESRI Shapefile", ".fgb": "FlatGeobuf"}

_SQLITE = b"SQLite format 3\x00"
_SHAPEFILE = b"\x00\x00\x27\x0a"
_FLATGEOBUF = b"fgb\x03"


def refuse_virtual(text: str) -> None:
    """Refuse GDAL virtual file systems (``/vsi…``) and URLs: inputs are local files."""
    low = text.lower()
    if low.startswith("/vsi") or "://" in low or low.startswith(("http:", "https:", "ftp:")):
        raise DataSourceError(
            f"{text}: GDAL virtual and network paths are not read; give a local file"
        )


def raster_driver(head: bytes, *, name: str, size: int) -> str | None:
    """The GDAL driver a DEM is read with, from its first bytes: ``"GTiff"``, ``"SRTMHGT"``,
    or None for anything else (a VRT, an image, a text file) — Anzhi opens no other format."""
    if head[:4] in TIFF_MAGIC:
        return "GTiff"
    if name.lower().endswith(".hgt") and size in HGT_SIZES:
        return "SRTMHGT"
    return None


def _looks_like(driver: str, head: bytes) -> bool:
    if driver == "GPKG":
        return head.startswith(_SQLITE)
    if driver == "ESRI Shapefile":
        return head.startswith(_SHAPEFILE)
    if driver == "FlatGeobuf":
        return head.startswith(_FLATGEOBUF)
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")  # GeoJSON: an object after an optional BOM
    return text.startswith(b"{")


def check_vector_file(path: str | Path, *, what: str) -> str:
    """Check that ``path`` is a local vector file of an allowed format before GDAL opens it.

    Parameters
    ----------
    path
        A GeoPackage, GeoJSON, Shapefile (``.shp``) or FlatGeobuf file.
    what
        What the file is, for messages (``"site table"``, ``"parcels"``).

    Returns
    -------
    str
        The OGR driver the file must be opened with (check it with :func:`pyogrio.read_info`).

    Raises
    ------
    DataSourceError
        A virtual or network path, a missing file, another suffix, or first bytes that are not
        those of the format (e.g. an OGR VRT named ``.geojson``).
    """
    text = str(path)
    refuse_virtual(text)
    p = Path(text)
    driver = VECTOR_DRIVERS.get(p.suffix.lower())
    if driver is None:
        raise DataSourceError(
            f"{p.name}: the {what} must be one of {', '.join(sorted(VECTOR_DRIVERS))}"
        )
    try:
        with p.open("rb") as fh:
            head = fh.read(64)
    except FileNotFoundError as exc:
        raise DataSourceError(f"{p}: cannot read the {what}: the file does not exist") from exc
    except OSError as exc:
        raise DataSourceError(f"{p}: cannot read the {what} ({exc.strerror or exc})") from exc
    if not _looks_like(driver, head):
        raise DataSourceError(
            f"{p.name}: cannot read the {what}: the file is not a {driver} file (its first bytes "
            f"say otherwise; Anzhi reads no GDAL VRT or other format); fix: save it as "
            f"{driver} (e.g. with QGIS 'Export', or ogr2ogr -f \"{driver}\")"
        )
    return driver


def check_opened_driver(path: str | Path, expected: str, *, what: str) -> None:
    """Refuse a vector file that GDAL opens with another driver than the one allowed."""
    import pyogrio

    try:
        driver = str(pyogrio.read_info(str(path))["driver"])
    except Exception as exc:  # noqa: BLE001 - any GDAL failure is a bad file here
        raise DataSourceError(f"{Path(path).name}: cannot read the {what}: {exc}") from exc
    if driver != expected:
        raise DataSourceError(
            f"{Path(path).name}: the {what} opens as {driver}, not {expected}; fix: save it as "
            f"{expected}"
        )
