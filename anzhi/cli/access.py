"""``anzhi access``: travel distance and time from every site to the nearest facility of
each type, on the road network (the ``access.csv`` table of docs/schemas.md).

Plugged in through ``anzhi.cli.SUBCOMMAND_MODULES``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import pandas as pd

from anzhi.cli.common import add_command, add_options, region_files, region_inputs
from anzhi.core.errors import InputError

__all__ = ["register", "unroutable_summary"]

_EPILOG_ROADS = """\
examples:
  anzhi roads --bbox 102.30,23.50,102.90,24.00 --out county.osm
  anzhi roads --place "石屏县, 云南省" --out county.osm

Needs internet (Overpass; --place also Nominatim). Every other command works offline: where
there is no internet, download an extract elsewhere (download.geofabrik.de: .osm.pbf) and pass
it with --roads.

outputs: --out (one OSM XML file)
"""

_EPILOG = """\
examples:
  anzhi access --roads county.osm.pbf --sites 安置点.xlsx --facilities 设施.gpkg --out access.csv
  anzhi access --roads county.osm.pbf --sites 安置点.xlsx --facilities county.osm.pbf \\
               --dem dem.tif --profile walk --out access.csv
  anzhi access --demo --out access.csv

outputs: --out (one csv file, access.csv)

access.csv has one row per site and facility type: nearest_facility_id, dist_m (shortest road
distance, off-road legs included), time_min (fastest time), snap_dist_m (site to road, m) and
reason: "" when routed, else no_road_nearby (farther than --max-snap-m from every road),
isolated_network (its road does not connect to any facility of the type) or no_facility.
Facilities may be the OSM file itself (its amenity/healthcare/office nodes and ways).
With --dem and the walk profile, roads and off-road legs are walked on their slope (Tobler).
The road graph is cached per file content and profile: a second run does not re-read the file.
"""

_REASON_TEXT = {
    "no_road_nearby": "no road within the snapping distance (无道路可达)",
    "isolated_network": "its road is not connected to a facility of this type (路网不连通)",
    "no_facility": "no facility of this type near a road (无此类设施)",
}


def register(subparsers: Any) -> dict[str, Any]:
    """Add ``access`` to the ``anzhi`` sub-command parsers; return its handler."""
    a = add_command(
        subparsers, "access",
        help="road distance and time from each site to the nearest facility of each type (可达性)",
        description="Snap sites and facilities to the road network (nearest point of the "
        "nearest road, with the off-road leg), then find the nearest facility of each type for "
        "every site by road distance and by travel time; unroutable sites are listed with "
        "their reason, never dropped.",
        epilog=_EPILOG,
    )
    add_options(a.add_argument_group("inputs (give --demo, or --roads and --sites)"), {
        "--demo": "the synthetic demo county",
        "--roads": "OSM road file: .osm, .osm.bz2 or .osm.pbf",
        "--sites": "site table: xlsx, csv, GeoJSON, GeoPackage, Shapefile",
        "--facilities": "facility layer (GeoPackage, GeoJSON, Shapefile, csv/xlsx, or an OSM "
                        "file's amenities); repeatable; the site table's yes/no columns count too",
        "--dem": "DEM GeoTIFF: slope-aware walking (Tobler)",
        "--coords": "coordinate system of lon/lat columns (default: 坐标系 column, else wgs84)",
        "--facility-coords": None,
        "--crs": None,
        "--outside-china": None,
    })
    opt = a.add_argument_group("routing")
    add_options(opt, {"--profile": None})
    opt.add_argument("--types", default=None,
                     help="facility types to route, comma-separated (default: all present)")
    opt.add_argument("--max-snap-m", type=float, default=None,
                     help="farthest a site may be from a road, m (default: settings, 2000)")
    opt.add_argument("--flat", action="store_true", help="ignore the DEM's slopes (flat walking)")
    opt.add_argument("--no-cache", action="store_true", help="rebuild the road graph, no cache")
    add_options(a.add_argument_group("output"),
                {"--out": "access.csv to write (atomically)", "--quiet": None})
    r = add_command(
        subparsers, "roads",
        help="download a region's roads from OpenStreetMap into an .osm file (needs internet)",
        description="Optional online step: fetch the roads of a bounding box or place from "
        "OpenStreetMap (Overpass, through osmnx) and save them as OSM XML for --roads.",
        epilog=_EPILOG_ROADS,
    )
    where = r.add_mutually_exclusive_group(required=True)
    where.add_argument("--bbox", help="west,south,east,north in WGS84 degrees")
    where.add_argument("--place", help="place name, e.g. '石屏县, 云南省'")
    r.add_argument("--out", type=Path, required=True, help=".osm file to write")
    r.add_argument("--overpass-url", default=None, help="Overpass API endpoint (default: public)")
    r.add_argument("--timeout", type=float, default=180.0, help="seconds per request (default: %(default)s)")
    return {"access": _cmd_access, "roads": _cmd_roads}


def _cmd_roads(args: argparse.Namespace) -> int:
    from layers.osm import download_roads

    bbox = None
    if args.bbox:
        try:
            parts = tuple(float(v) for v in args.bbox.split(","))
        except ValueError:
            parts = ()
        if len(parts) != 4:
            raise InputError(f"--bbox {args.bbox!r}: give four numbers west,south,east,north, "
                             "e.g. --bbox 102.30,23.50,102.90,24.00")
        bbox = parts
    path = download_roads(args.out, place=args.place, bbox=bbox,  # type: ignore[arg-type]
                          overpass_url=args.overpass_url, timeout_s=args.timeout)
    print(f"roads written to {path}")
    return 0


def unroutable_summary(access: pd.DataFrame, *, limit: int = 20) -> list[str]:
    """Lines explaining every unroutable site × type (first ``limit`` sites in full)."""
    bad = access[access["reason"].astype(str) != ""]
    if bad.empty:
        return ["every site reached a facility of every type"]
    lines = []
    counts = bad["reason"].value_counts()
    for reason, n in counts.items():
        lines.append(f"{n} site×type row(s) unroutable: {reason} — {_REASON_TEXT.get(str(reason), '')}")
    by_site = bad.groupby("site_id", sort=False)
    n_types = access["facility_type"].nunique()
    for k, (site, rows) in enumerate(by_site):
        if k == limit:
            lines.append(f"... and {by_site.ngroups - limit} more site(s): see the reason column")
            break
        per_reason = rows.groupby("reason", sort=False)["facility_type"].agg(list)
        parts = "; ".join(
            f"{reason} ({'all ' + str(n_types) + ' types' if len(ts) == n_types else ', '.join(ts)})"
            for reason, ts in per_reason.items())
        snap = rows["snap_dist_m"].iloc[0]
        lines.append(f"  site {site} (road {snap:,.0f} m away): {parts}")
    return lines


def _cmd_access(args: argparse.Namespace) -> int:
    from anzhi.pipeline import load_region, route_region
    from anzhi.core.settings import override
    from anzhi.core.files import atomic_write, check_outputs_apart
    from layers.export import csv_safe

    inputs = region_inputs(args, ("--roads", "--sites"),
                           "give the OSM road file and the site table, or --demo")
    types = [t.strip() for t in args.types.split(",") if t.strip()] if args.types else None
    check_outputs_apart([args.out], region_files(inputs))
    if args.out.suffix.lower() != ".csv":
        raise InputError(f"--out {args.out}: give a .csv file name, e.g. --out access.csv")
    t0 = time.perf_counter()
    settings: dict[str, Any] = {"progress": not args.quiet}
    if args.max_snap_m is not None:
        if not args.max_snap_m > 0:
            raise InputError(f"--max-snap-m {args.max_snap_m}: give a positive distance in metres")
        settings["max_snap_dist_m"] = float(args.max_snap_m)
    with override(**settings):
        data = load_region(inputs)
        access = route_region(data, profile=args.profile, facility_types=types,
                              slope=not args.flat, use_cache=not args.no_cache)

    def write(tmp: Path) -> None:
        csv_safe(access).to_csv(tmp, index=False, encoding="utf-8-sig")

    path = atomic_write(args.out, write)
    routed = int((access["reason"].astype(str) == "").sum())
    print(f"{len(data.sites)} sites × {access['facility_type'].nunique()} facility types: "
          f"{routed} of {len(access)} routed ({time.perf_counter() - t0:.1f} s) → {path}")
    for line in unroutable_summary(access):
        print(line)
    return 0
