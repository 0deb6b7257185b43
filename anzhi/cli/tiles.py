"""``anzhi tiles``: unpack an MBTiles basemap into the app's offline tile folder."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from anzhi.cli.common import add_command

__all__ = ["register"]

_EPILOG = """\
examples:
  anzhi tiles --mbtiles county.mbtiles                   # into static/tiles (the app's folder)
  anzhi tiles --mbtiles county.mbtiles --out static/tiles

Then choose the basemap "本地瓦片 / Local tiles" in the app: the tiles are served by the app
itself, no internet needed. outputs: --out (an XYZ folder {z}/{x}/{y}.png, replaced whole)
"""


def register(subparsers: Any) -> dict[str, Any]:
    """Add ``tiles`` to the ``anzhi`` sub-command parsers; return its handler."""
    p = add_command(subparsers, "tiles", help="unpack MBTiles into the app's offline basemap folder",
                    description="Unpack a raster MBTiles file into an XYZ tile folder that the "
                    "app serves as its offline basemap (本地瓦片).", epilog=_EPILOG)
    p.add_argument("--mbtiles", type=Path, required=True, help="raster .mbtiles file")
    p.add_argument("--out", type=Path, default=Path("static/tiles"),
                   help="folder to write (default: %(default)s, the app's)")
    return {"tiles": _cmd_tiles}


def _cmd_tiles(args: argparse.Namespace) -> int:
    from layers.tiles import unpack_mbtiles

    n = unpack_mbtiles(args.mbtiles, args.out)
    print(f"{n} tiles → {args.out}")
    return 0
