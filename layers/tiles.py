"""Offline basemap tiles: an MBTiles file unpacked into an XYZ folder the app serves itself.

MBTiles (SQLite, ``tiles(zoom_level, tile_column, tile_row, tile_data)``, rows counted from
the south as in TMS) → ``OUT/{z}/{x}/{y}.png`` (rows from the north, as Leaflet asks).  The
app's "本地瓦片 / Local tiles" basemap reads ``static/tiles/{z}/{x}/{y}.png``.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from pathlib import Path

from anzhi.core.errors import DataSourceError, InputError

__all__ = ["unpack_mbtiles"]

_FORMATS = {"png": ".png", "jpg": ".jpg", "jpeg": ".jpg", "webp": ".webp"}


def unpack_mbtiles(mbtiles: str | Path, out_dir: str | Path) -> int:
    """Unpack an MBTiles file into an XYZ tile folder (replaced whole, atomically).

    Parameters
    ----------
    mbtiles
        The ``.mbtiles`` file (raster tiles: png, jpg or webp).
    out_dir
        The folder to write, e.g. ``static/tiles``; replaced when it exists.

    Returns
    -------
    int
        Tiles written.

    Raises
    ------
    DataSourceError
        A file that is not an MBTiles database (named, with the fix).
    InputError
        Vector tiles (pbf), which a raster basemap cannot show.
    """
    src = Path(mbtiles)
    if not src.is_file():
        raise DataSourceError(f"MBTiles file {src} does not exist or is not a file; check the path")
    if src.read_bytes()[:16] != b"SQLite format 3\x00":
        raise DataSourceError(f"{src.name} is not an MBTiles file (not an SQLite database); give "
                              "a raster .mbtiles, e.g. exported by QGIS or TileMill")
    con = sqlite3.connect(f"file:{src}?mode=ro", uri=True)
    try:
        meta = dict(con.execute("SELECT name, value FROM metadata").fetchall())
        fmt = str(meta.get("format", "png")).lower()
        if fmt not in _FORMATS:
            raise InputError(f"{src.name}: tiles of format {fmt!r} (vector tiles?) cannot be a "
                             "basemap; give raster MBTiles (png, jpg or webp)")
        ext = _FORMATS[fmt]
        out = Path(out_dir)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
        n = 0
        try:
            for z, x, row, data in con.execute(
                    "SELECT zoom_level, tile_column, tile_row, tile_data FROM tiles"):
                y = (1 << int(z)) - 1 - int(row)  # TMS rows from the south → XYZ from the north
                d = tmp / str(z) / str(x)
                d.mkdir(parents=True, exist_ok=True)
                (d / f"{y}{ext}").write_bytes(data)
                n += 1
            if out.exists():
                shutil.rmtree(out)
            tmp.rename(out)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    except sqlite3.DatabaseError as exc:
        raise DataSourceError(f"{src.name} is not a readable MBTiles file ({exc}); give a raster "
                              ".mbtiles with tables metadata and tiles") from exc
    finally:
        con.close()
    return n
