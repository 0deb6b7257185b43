"""Terrain sub-commands of the ``anzhi`` CLI: ``anzhi slope`` and ``anzhi land``.

Plugged in through ``anzhi.cli.SUBCOMMAND_MODULES``: :func:`register` adds the parsers and
returns their handlers.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from anzhi.cli.common import add_command, add_options, demo_or_required
from anzhi.core.errors import InputError

__all__ = ["register"]

_EPILOG_SLOPE = """\
examples:
  anzhi slope --dem dem.tif --out slope.tif
  anzhi slope --dem N42E001.hgt.zip --out slope.tif --aspect aspect.tif

The slope is Horn's method in degrees; geographic DEMs (SRTM, Copernicus) are measured with
the true ground size of a pixel at each latitude; voids and their neighbours get nodata.

outputs: --out (slope GeoTIFF, degrees) and, with --aspect, the aspect GeoTIFF (degrees)
"""

_EPILOG_LAND = """\
examples:
  anzhi land --dem dem.tif --parcels 迁出地地块.gpkg --out out/land
  anzhi land --dem dem.tif --parcels 迁出地地块.gpkg --exclude 永久基本农田.gpkg \\
             --exclude 生态保护红线.shp --out out/land
  anzhi land --demo --out out/land

Each candidate cites its clause (依据); 宅基地 > 25° gets 复垦复绿, not forest; 储备林/油茶 on
cropland carries Baoshan's "不占耕地或落实进出平衡".  Land inside an --exclude layer is left
out of the forest measures.  Ledger columns of the parcel layer (台账状态: 旧房拆除/宅基地复垦复绿/
待处理; 复垦面积; 节余指标, units 平方米/亩/公顷 in the header) give the ledger.

outputs (in --out): land_parcels.csv, land_villages.csv (full precision), land.xlsx
(地块/村/候选地块/迁出地台账: m², 公顷 and 亩, --lang headers), land.gpkg (parcels +
candidates), land_ledger.csv (the ledger, --lang headers; only when the parcels carry ledger
columns), steep_gt25.gpkg (land > 25° for the map; only when there is some), slope.tif;
with --format parquet also land_parcels.parquet
"""


def register(subparsers: Any) -> dict[str, Any]:
    """Add ``slope`` and ``land`` to the ``anzhi`` sub-command parsers; return their handlers."""
    s = add_command(
        subparsers, "slope", help="slope raster from a DEM (坡度图)",
        description="Compute the slope (degrees, Horn) of a DEM window by window and write a "
        "tiled, compressed GeoTIFF with nodata.",
        epilog=_EPILOG_SLOPE,
    )
    s.add_argument("--dem", type=Path, required=True, help="DEM GeoTIFF, SRTM .hgt or .hgt.zip")
    s.add_argument("--out", type=Path, required=True, help="slope GeoTIFF to write")
    s.add_argument("--aspect", type=Path, default=None, help="also write the aspect GeoTIFF here")
    s.add_argument("--overviews", action="store_true", help="add internal overviews (COG-style)")

    la = add_command(
        subparsers, "land", help="steep out-migration land per parcel and village (迁出地坡度统计)",
        description="Area of each slope class (≤2°, 2–6°, 6–15°, 15–25°, >25°; Third National "
        "Land Survey) per parcel and per village, and the candidate list for 退耕还林 / "
        "储备林 / 油茶 (cropland > 25° first).",
        epilog=_EPILOG_LAND,
    )
    la.add_argument("--demo", action="store_true", help="use the synthetic demo county's DEM and parcels")
    la.add_argument("--dem", type=Path, help="DEM GeoTIFF, SRTM .hgt or .hgt.zip")
    la.add_argument("--parcels", type=Path, help="parcel polygons (GeoPackage/Shapefile/GeoJSON) with "
                    "parcel_id/地块编号, village/村, land_use/地类, optional ledger columns")
    la.add_argument("--exclude", type=Path, action="append", default=[], metavar="FILE",
                    help="polygon layer to keep out of the forest measures (永久基本农田, "
                    "生态保护红线, …), named by its file name; repeatable")
    la.add_argument("--out", type=Path, required=True, help="output folder (created if absent)")
    add_options(la, {"--lang": "headers of land.xlsx (default: %(default)s)",
                     "--format": "also write GeoParquet (parquet): land_parcels.parquet, the "
                                 "parcel table with its polygons (EPSG:4326)"})
    return {"slope": _cmd_slope, "land": _cmd_land}


def _cmd_slope(args: argparse.Namespace) -> int:
    from anzhi.core.files import check_outputs_apart
    from layers.terrain import write_slope

    check_outputs_apart([args.out, *([args.aspect] if args.aspect else [])], [args.dem])
    t0 = time.perf_counter()
    out = write_slope(args.dem, args.out, aspect_out=args.aspect, overviews=args.overviews)
    print(f"slope: {out} ({time.perf_counter() - t0:.1f} s)")
    if args.aspect:
        print(f"aspect: {args.aspect}")
    return 0


def _cmd_land(args: argparse.Namespace) -> int:
    from anzhi.core.files import atomic_write, check_outputs_apart
    from layers.landmasks import read_masks
    from layers.terrain import LAND_FILES, land_statistics, read_parcels, steep_polygons, write_land, write_slope

    if demo_or_required(args, ("--dem", "--parcels"),
                        "give the DEM and the parcel layer, or --demo for the demo county"):
        from layers.demo import build_demo

        demo = build_demo()
        dem, parcels_path = demo.dem, demo.parcels
    else:
        dem, parcels_path = args.dem, args.parcels
    out = Path(args.out)
    check_outputs_apart([], [dem, parcels_path, *args.exclude],
                        folder_files={out: (*LAND_FILES, "slope.tif", "steep_gt25.gpkg",
                                            "land_parcels.parquet")})
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out} is an existing file: give a folder name (created if absent)")
    t0 = time.perf_counter()
    parcels = read_parcels(parcels_path)
    masks = read_masks(args.exclude) if args.exclude else None
    out.mkdir(parents=True, exist_ok=True)
    slope_path = write_slope(dem, out / "slope.tif")
    result = land_statistics(parcels, slope_path, dem=dem, masks=masks)
    written = write_land(result, out, lang=args.lang, parquet="parquet" in args.formats)
    steep = steep_polygons(slope_path)

    def write_steep(tmp: Path) -> None:
        tmp.unlink(missing_ok=True)
        steep.to_file(tmp, layer="steep_gt25", driver="GPKG")

    if len(steep):
        written["steep_gt25.gpkg"] = atomic_write(out / "steep_gt25.gpkg", write_steep)
    written["slope.tif"] = slope_path
    v = result.villages
    print(f"{len(result.parcels)} parcels in {len(v)} villages: "
          f"{v['area_gt25_m2'].sum() / 1e4:.1f} ha > 25° "
          f"({v['cropland_gt25_m2'].sum() / 1e4:.1f} ha cropland), "
          f"{len(result.candidates)} candidate parcels ({time.perf_counter() - t0:.1f} s)")
    _print_extras(result, masks is not None)
    for name, path in written.items():
        print(f"  {name}: {path}")
    return 0


def _print_extras(result: Any, masked: bool) -> None:
    """The exclusion and ledger lines of ``anzhi land``'s summary."""
    c = result.candidates
    if masked:
        touched = c[c["excluded_m2"] > 0]
        print(f"exclusion layers: {len(touched)} candidate parcels overlap them "
              f"({touched['excluded_gt25_m2'].sum() / 1e4:.1f} ha > 25° inside), "
              f"{int((c['priority'] == 3).sum())} left without a forest measure")
    if result.ledger is not None:
        from analysis.ledger import ledger_totals

        t = ledger_totals(result.ledger).set_index("status_en")
        counts = ", ".join(f"{int(t.loc[s, 'n_parcels'])} {s}" for s in t.index[:-1])
        print(f"ledger: {int(t.loc['total', 'n_parcels'])} parcels ({counts}), "
              f"{t.loc['total', 'reclaimed_m2'] / 1e4:.2f} ha reclaimed, "
              f"{t.loc['total', 'quota_m2'] / 1e4:.2f} ha 节余指标")
