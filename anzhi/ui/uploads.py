"""Files a planner uploads into the app: checked, then written only to a per-session folder.

The app hands the uploaded files here (anything with ``name``, ``size`` and ``getvalue()``,
such as Streamlit's ``UploadedFile``); :func:`stage_uploads` checks each file's type and size
against :data:`UPLOAD_KINDS`, writes it into the session's own temporary folder
(:class:`SessionFolder`, created with :func:`tempfile.mkdtemp` and removed when the session's
state is dropped or the process exits) and returns the :class:`anzhi.pipeline.RegionInputs`
that the CLI's loaders then read and validate.  Every problem is collected and raised once as
an :class:`~anzhi.core.errors.InputError`.  Nothing is written anywhere else.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import tempfile
import unicodedata
import weakref
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Protocol

from anzhi.core.errors import InputError, ProblemCollector
from anzhi.pipeline import RegionInputs

__all__ = [
    "UploadKind",
    "UPLOAD_KINDS",
    "UploadedFileLike",
    "SessionFolder",
    "MAX_NAME_BYTES",
    "safe_filename",
    "save_upload",
    "stage_uploads",
]

_MB = 1024 * 1024
_SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg")


@dataclass(frozen=True)
class UploadKind:
    """One kind of input file the app accepts.

    Attributes
    ----------
    key
        ``sites``, ``facilities``, ``roads``, ``dem``, ``parcels`` or ``townships``.
    suffixes
        Accepted endings, lower case, with the dot (``.osm.bz2`` counts as ``.bz2``).
    max_mb
        Largest accepted file, in megabytes (MiB).
    multiple
        Whether several files of this kind may be uploaded (facility layers).
    required
        Whether an uploaded region needs it.
    """

    key: str
    suffixes: tuple[str, ...]
    max_mb: int
    multiple: bool = False
    required: bool = False

    @property
    def max_bytes(self) -> int:
        """``max_mb`` in bytes."""
        return self.max_mb * _MB


_TABLES = (".xlsx", ".xlsm", ".xls", ".csv", ".geojson", ".json", ".gpkg", ".zip")
_VECTORS = (".geojson", ".json", ".gpkg", ".zip")

#: The kinds of upload, their accepted file types and size limits (shown in the app).
UPLOAD_KINDS: Mapping[str, UploadKind] = MappingProxyType(
    {
        "sites": UploadKind("sites", _TABLES, 20, required=True),
        # facilities may also be an OSM extract's amenities (layers.osmpoi)
        "facilities": UploadKind("facilities", (*_TABLES, ".osm", ".pbf", ".bz2"), 50,
                                 multiple=True),
        "roads": UploadKind("roads", (".osm", ".pbf", ".bz2", ".gz"), 300, required=True),
        "dem": UploadKind("dem", (".tif", ".tiff", ".hgt", ".zip"), 300),
        "townships": UploadKind("townships", _VECTORS, 50),
        "parcels": UploadKind("parcels", _VECTORS, 100),
    }
)


class UploadedFileLike(Protocol):
    """What :func:`save_upload` needs of an uploaded file (Streamlit's ``UploadedFile``)."""

    @property
    def name(self) -> str: ...

    @property
    def size(self) -> int: ...

    def getvalue(self) -> bytes: ...


class SessionFolder:
    """A private temporary folder for one app session's uploads.

    Created with :func:`tempfile.mkdtemp` (mode 0700) on construction and removed when the
    object is garbage-collected (the Streamlit session that holds it in its state ends), when
    :meth:`cleanup` is called, or at interpreter exit, whichever comes first.
    """

    def __init__(self, *, prefix: str = "anzhi-upload-") -> None:
        self.path = Path(tempfile.mkdtemp(prefix=prefix))
        self._finalizer = weakref.finalize(self, shutil.rmtree, str(self.path), True)

    def cleanup(self) -> None:
        """Delete the folder and everything in it now."""
        self._finalizer()

    @property
    def alive(self) -> bool:
        """Whether the folder has not been cleaned up yet."""
        return self._finalizer.alive

    def fresh_subdir(self, name: str) -> Path:
        """An emptied sub-folder ``name`` (re-uploads replace what was there)."""
        sub = self.path / safe_filename(name)
        shutil.rmtree(sub, ignore_errors=True)
        sub.mkdir(parents=True)
        return sub


#: Longest file name written, in bytes of UTF-8 (ext4, XFS, tmpfs, APFS and NTFS allow 255).
MAX_NAME_BYTES = 255
_SUFFIX_PART = re.compile(r"\.[A-Za-z0-9]{1,8}")


def _name_suffix(base: str) -> str:
    """The file type ending of ``base`` kept when it is shortened: the last one or two
    dot-parts of ASCII letters and digits (``.gpkg``, ``.osm.pbf``, ``.shp.zip``)."""
    parts = re.findall(r"\.[^.]*", base)
    keep: list[str] = []
    for part in reversed(parts[-2:]):
        if not _SUFFIX_PART.fullmatch(part):
            break
        keep.insert(0, part)
    return "".join(keep)


def _cut_utf8(text: str, max_bytes: int) -> str:
    """The longest prefix of ``text`` whose UTF-8 form has at most ``max_bytes`` bytes."""
    return text.encode("utf-8")[:max(max_bytes, 0)].decode("utf-8", errors="ignore")


def safe_filename(name: str, *, max_bytes: int = MAX_NAME_BYTES) -> str:
    """The last path component of ``name`` with path separators, control characters and
    leading dots removed (Chinese names are kept); ``"upload"`` if nothing is left.

    A name longer than ``max_bytes`` bytes of UTF-8 (default 255, the limit of common file
    systems: 85 Chinese characters) is shortened: its stem is cut on a character boundary
    and given ``-`` and 8 hex digits of the stem's SHA-256 (so two long names stay apart, and
    the parts of one Shapefile keep one stem), and its type ending (``.xlsx``, ``.osm.pbf``,
    ``.shp.zip``: see the loaders) is kept.
    """
    base = re.split(r"[\\/]", str(name))[-1]
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C")
    base = base.strip().lstrip(".").strip() or "upload"
    if len(base.encode("utf-8")) <= max_bytes:
        return base
    suffix = _name_suffix(base)
    stem = base[: len(base) - len(suffix)] if suffix else base
    tag = "-" + hashlib.sha256(stem.encode("utf-8")).hexdigest()[:8]
    room = max_bytes - len(suffix.encode("utf-8")) - len(tag)
    return (_cut_utf8(stem, room).rstrip() or "upload") + tag + suffix


def _name_limit(folder: Path) -> int:
    """The longest file name (bytes) ``folder``'s file system takes, at most 255."""
    try:
        return min(MAX_NAME_BYTES, int(os.pathconf(folder, "PC_NAME_MAX")))
    except (OSError, ValueError, AttributeError):  # pathconf is POSIX only
        return MAX_NAME_BYTES


def _suffix(name: str) -> str:
    return Path(name).suffix.lower()


def _extract_shapefile(zip_path: Path, dest: Path, pc: ProblemCollector, label: str) -> Path | None:
    """Extract the one Shapefile (``.shp`` + companions) of a zip; its ``.shp`` path."""
    try:
        with zipfile.ZipFile(zip_path) as zf:
            members = [i for i in zf.infolist() if not i.is_dir()]
            shps = [i for i in members if _suffix(i.filename) == ".shp"]
            if len(shps) != 1:
                pc.add(
                    f"the zip holds {len(shps)} Shapefiles (.shp); it must hold exactly one",
                    file=label,
                    fix="zip one Shapefile with its .shx, .dbf and .prj, or upload a .gpkg/.geojson",
                )
                return None
            stem = Path(shps[0].filename).stem
            total = 0
            out: Path | None = None
            for info in members:
                if Path(info.filename).stem != stem or _suffix(info.filename) not in _SHAPEFILE_PARTS:
                    continue
                total += info.file_size
                if total > 4 * zip_path.stat().st_size + 100 * _MB:
                    pc.add("the zip expands to far more than its own size", file=label,
                           fix="upload the Shapefile as a plain .gpkg or .geojson instead")
                    return None
                target = dest / safe_filename(Path(info.filename).name, max_bytes=_name_limit(dest))
                with zf.open(info) as src, open(target, "wb") as dst:
                    shutil.copyfileobj(src, dst)
                if _suffix(target.name) == ".shp":
                    out = target
            return out
    except zipfile.BadZipFile:
        pc.add("is not a readable zip file", file=label, fix="zip the Shapefile again and re-upload it")
        return None


def save_upload(
    upload: UploadedFileLike, kind: UploadKind, folder: SessionFolder, pc: ProblemCollector,
    *, slot: int | None = None,
) -> Path | None:
    """Check one uploaded file and write it into ``folder``/``kind.key`` (/``slot``).

    Problems (wrong type, too large, empty, bad zip, a file the server cannot write) go to
    ``pc`` without the server's paths; the path written (for a zipped Shapefile the
    extracted ``.shp``) is returned, or ``None`` when the file was refused.  A name too long
    for the file system is shortened (:func:`safe_filename`, type ending kept); ``slot``
    (the file's number among several of one kind) gives each upload its own sub-folder, so
    two uploads of the same name do not overwrite each other.
    """
    dest = folder.path / kind.key / (str(slot) if slot is not None else "")
    name = safe_filename(upload.name, max_bytes=_name_limit(folder.path))
    suffix = _suffix(name)
    ok = True
    if suffix not in kind.suffixes:
        pc.add(
            f"file type {suffix or '(none)'!r} is not accepted for {kind.key}",
            file=name,
            fix=f"upload one of {', '.join(kind.suffixes)}",
        )
        ok = False
    size = int(upload.size)
    if size > kind.max_bytes:
        pc.add(
            f"the file is {size / _MB:,.1f} MB; the limit for {kind.key} is {kind.max_mb} MB",
            file=name,
            fix="clip it to the county (or compress an OSM file as .osm.bz2) and upload again",
        )
        ok = False
    elif size == 0:
        pc.add("the file is empty", file=name, fix="upload the file again")
        ok = False
    if not ok:
        return None
    target = dest / name
    try:
        dest.mkdir(parents=True, exist_ok=True)
        target.write_bytes(upload.getvalue())
        if suffix == ".zip" and kind.key != "dem":  # DEM zips are read in place (/vsizip/)
            return _extract_shapefile(target, dest, pc, name)
    except OSError as exc:  # the message names the upload, never the server's folder
        with contextlib.suppress(OSError):
            target.unlink(missing_ok=True)
        pc.add(f"the server could not save the file ({exc.strerror or type(exc).__name__})",
               file=name, fix="rename it to a short name and upload it again")
        return None
    return target


def stage_uploads(
    uploads: Mapping[str, UploadedFileLike | Sequence[UploadedFileLike] | None],
    folder: SessionFolder,
    *,
    coords: str | None = None,
    crs: str | None = None,
    name: str = "",
) -> RegionInputs:
    """Write a region's uploaded files into the session folder and describe them.

    Parameters
    ----------
    uploads
        ``{kind: file or list of files or None}`` for the keys of :data:`UPLOAD_KINDS`.
    folder
        The session's :class:`SessionFolder`; its ``kind`` sub-folders are replaced.
    coords, crs
        As :class:`anzhi.pipeline.RegionInputs` (coordinate system of the site table's
        lon/lat; EPSG code of Gauss-Krüger metres).
    name
        Region label.

    Returns
    -------
    RegionInputs
        Paths inside ``folder``; read them with :func:`anzhi.pipeline.load_region` (the CLI's
        loaders and their validation).

    Raises
    ------
    InputError
        Listing every problem: unknown kinds, missing required files, wrong types, files
        over the size limit, empty files, bad zips.
    """
    pc = ProblemCollector(file="upload")
    for key in sorted(set(uploads) - set(UPLOAD_KINDS)):
        pc.add(f"unknown upload kind {key!r}", fix=f"use one of {', '.join(UPLOAD_KINDS)}")
    paths: dict[str, list[Path]] = {}
    for key, kind in UPLOAD_KINDS.items():
        given = uploads.get(key)
        files = [] if given is None else list(given) if isinstance(given, Sequence) else [given]
        if len(files) > 1 and not kind.multiple:
            pc.add(f"{len(files)} files given for {key}; only one is accepted",
                   fix=f"upload a single {key} file")
            files = files[:1]
        if not files:
            if kind.required:
                pc.add(f"no {key} file uploaded", fix=f"upload the {key} file ({', '.join(kind.suffixes)})")
            continue
        folder.fresh_subdir(key)
        # several files of one kind (facility layers): one sub-folder each, so two with
        # the same name are both kept
        saved = [save_upload(f, kind, folder, pc, slot=i + 1 if kind.multiple else None)
                 for i, f in enumerate(files)]
        paths[key] = [p for p in saved if p is not None]
    pc.raise_if_any()

    def one(key: str) -> Path | None:
        got = paths.get(key) or []
        return got[0] if got else None

    sites, roads = one("sites"), one("roads")
    if sites is None or roads is None:  # pragma: no cover - reported above
        raise InputError("sites and roads are required")
    return RegionInputs(
        sites=sites,
        roads=roads,
        facilities=tuple(paths.get("facilities", [])),
        dem=one("dem"),
        townships=one("townships"),
        parcels=one("parcels"),
        coords=coords,
        crs=crs,
        name=name,
    )
