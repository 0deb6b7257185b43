"""The app's download files: the CLI's outputs of the current run, as bytes (no Streamlit).

:func:`download_files` writes a run's results with the same writers as ``anzhi gaps``
(:func:`anzhi.pipeline.write_region`) into a folder and reads back the files offered for
download; :func:`mime_type` names each file's type for the browser.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

from anzhi.pipeline import RegionResults, write_region

__all__ = ["DOWNLOAD_FILES", "MIME_TYPES", "download_files", "mime_type"]

#: Files offered for download, in this order (those :func:`anzhi.pipeline.write_region` writes).
DOWNLOAD_FILES: tuple[str, ...] = ("gaps.xlsx", "gaps.csv", "coverage.csv", "gaps.gpkg", "access.csv")

#: MIME type by file suffix.
MIME_TYPES: Mapping[str, str] = MappingProxyType({
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".csv": "text/csv",
    ".gpkg": "application/geopackage+sqlite3",
})


def mime_type(name: str) -> str:
    """The MIME type of a download file (``application/octet-stream`` when unknown)."""
    return MIME_TYPES.get(Path(name).suffix, "application/octet-stream")


def download_files(results: RegionResults, out_dir: str | Path, *, lang: str) -> dict[str, bytes]:
    """Write a run's outputs into ``out_dir`` and return ``{file name: content}`` of the
    :data:`DOWNLOAD_FILES` written, in that order."""
    written = write_region(results, out_dir, lang=lang)
    return {name: written[name].read_bytes() for name in DOWNLOAD_FILES if name in written}
