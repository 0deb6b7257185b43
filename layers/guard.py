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

import bz2
import contextlib
import gzip
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from anzhi.core.errors import DataSourceError, InputError
from anzhi.core.settings import get_settings

__all__ = ["HGT_SIZES", "TIFF_MAGIC", "VECTOR_DRIVERS", "check_opened_driver", "check_raster_file",
           "check_vector_file",
           "decompressed_osm", "raster_driver", "refuse_virtual", "too_big"]

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


def check_raster_file(path: str | Path, *, what: str) -> str:
    """The driver (``"GTiff"``/``"SRTMHGT"``) a local raster file must be opened with.

    Raises
    ------
    DataSourceError
        A virtual or network path, a missing file, or first bytes of another format (a VRT).
    """
    text = str(path)
    refuse_virtual(text)
    p = Path(text)
    try:
        with p.open("rb") as fh:
            head = fh.read(4)
        driver = raster_driver(head, name=p.name, size=p.stat().st_size)
    except OSError as exc:
        raise DataSourceError(f"{p}: cannot read the {what} ({exc.strerror or exc})") from exc
    if driver is None:
        raise DataSourceError(f"{p.name}: the {what} is not a GeoTIFF or SRTM .hgt file (Anzhi "
                              "reads no other raster format, and no GDAL VRT); fix: convert it "
                              "with gdal_translate -of GTiff")
    return driver


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


# --------------------------------------------------------------------------- compressed inputs

_CHUNK = 1 << 20


def too_big(label: str, what: str, setting: str, limit: int, unit: str = "") -> InputError:
    """The error of an input above a limit of the settings: what, the limit, how to raise it."""
    return InputError(
        f"{label}: {what}, more than the limit of {limit:,}{unit} (setting {setting}); fix: "
        f"give a smaller file, or raise the limit with "
        f"anzhi.core.settings.override({setting}=...)"
    )


def _opener(path: Path, what: str) -> tuple[str, type[IO[bytes]] | None]:
    """``("bz2" | "gzip" | "", opener)`` from the name, the first bytes checked against it."""
    name = path.name.lower()
    kind = "bz2" if name.endswith(".bz2") else "gzip" if name.endswith(".gz") else ""
    if not kind:
        return "", None
    with path.open("rb") as fh:
        head = fh.read(3)
    if kind == "bz2" and not head.startswith(b"BZh"):
        raise DataSourceError(f"cannot read {what} {path.name}: it is not bzip2-compressed (its first bytes "
                              "say otherwise); fix: compress it again with bzip2, or give the .osm")
    if kind == "gzip" and not head.startswith(b"\x1f\x8b"):
        raise DataSourceError(f"cannot read {what} {path.name}: it is not gzip-compressed (its first bytes "
                              "say otherwise); fix: compress it again with gzip, or give the .osm")
    return kind, bz2.BZ2File if kind == "bz2" else gzip.GzipFile  # type: ignore[return-value]


@contextlib.contextmanager
def decompressed_osm(path: str | Path, *, what: str = "OSM file") -> Iterator[Path]:
    """An OSM extract as a file pyosmium reads: the file itself, or for ``.osm.bz2`` /
    ``.osm.gz`` its XML decompressed once into a temporary ``.osm`` file (removed on exit).

    The decompressed bytes are counted while they are written and the copy stops as soon as
    they pass ``get_settings().max_decompressed_bytes``, so a small bomb costs at most that
    much disk and the time to write it.  Decompressing once also saves time: the road reader
    makes two passes over the file, and pyosmium would decompress it for each.

    ``what`` names the file in messages (``"road file"``).

    Raises
    ------
    DataSourceError
        The file does not exist, is not what its name says, or its compressed data is corrupt.
    InputError
        It expands to more than ``max_decompressed_bytes``.
    """
    p = Path(path)
    refuse_virtual(str(path))
    if not p.is_file():
        raise DataSourceError(f"{what} {p} does not exist or is not a file; check the path")
    kind, opener = _opener(p, what)
    if opener is None:
        yield p
        return
    limit = get_settings().max_decompressed_bytes
    with tempfile.TemporaryDirectory(prefix="anzhi-osm-") as tmp:
        plain = Path(tmp) / (p.name[: -len(".bz2" if kind == "bz2" else ".gz")] or "x")
        if not plain.name.lower().endswith(".osm"):
            plain = plain.with_name(plain.name + ".osm")
        total = 0
        try:
            with opener(p, "rb") as src, plain.open("wb") as dst:  # type: ignore[call-arg]
                while chunk := src.read(_CHUNK):
                    total += len(chunk)
                    if total > limit:
                        raise too_big(f"{what} {p.name}", f"it expands to more than {limit:,} bytes",
                                      "max_decompressed_bytes", limit, " bytes")
                    dst.write(chunk)
        except InputError:
            raise
        except (OSError, EOFError, ValueError) as exc:
            raise DataSourceError(f"cannot read {what} {p.name}: the compressed data is corrupt "
                                  f"({exc}); download "
                                  "or compress the file again") from exc
        yield plain

