"""The ``anzhi`` command line: batch runs for county and prefecture planners.

Every sub-command turns :class:`~anzhi.core.errors.AnzhiError` into a readable message on stderr
and exit status 2; nothing is written to ``--out`` unless the whole run succeeds.
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from anzhi import __version__
from anzhi.cli.common import add_command, add_options, region_files, region_inputs
from anzhi.cli.province import (PROVINCE_EPILOG, add_demo_options, add_gaps_options,
                                cmd_demo_province, cmd_gaps_province)
from anzhi.core.errors import AnzhiError, InputError

__all__ = ["main", "build_parser", "parse_set_options", "SUBCOMMAND_MODULES"]

#: Modules that add sub-commands: each has ``register(subparsers) -> dict[name, handler]``,
#: a handler taking the parsed ``argparse.Namespace`` and returning the exit status.
SUBCOMMAND_MODULES: tuple[str, ...] = (
    "anzhi.cli.rules", "anzhi.cli.terrain", "anzhi.cli.access", "anzhi.cli.site", "anzhi.cli.map",
    "anzhi.cli.diff", "anzhi.cli.tiles",
)

_EPILOG_GAPS = """\
examples:
  anzhi gaps --demo --out out/demo
  anzhi gaps --sites 安置点.xlsx --facilities 设施.gpkg --roads county.osm.pbf \\
             --dem dem.tif --coords gcj02 --out out/county
  anzhi gaps --demo --set police-800.min_population=1000 --out out/what-if

outputs (in --out): gaps.csv, gaps.xlsx (缺口清单), gaps.gpkg (map layers gaps and sites),
coverage.csv, access.csv; with --format parquet also gaps.parquet and sites.parquet
"""

_EPILOG_DEMO = """\
outputs (in --out, default the Anzhi cache folder; all SYNTHETIC DATA): dem.tif, roads.osm,
sites.xlsx, sites_truth.csv, facilities.gpkg, townships.gpkg, parcels.gpkg, README.txt,
manifest.json
"""


def parse_set_options(items: Sequence[str]) -> dict[str, Any]:
    """Parse ``--set RULE.FIELD=VALUE`` options into an overrides mapping.

    Values are parsed as int, then float, then kept as strings.

    Raises
    ------
    InputError
        Listing every malformed option.
    """
    out: dict[str, Any] = {}
    bad: list[str] = []
    for item in items:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or "." not in key or not raw.strip():
            bad.append(item)
            continue
        value: Any = raw.strip()
        for conv in (int, float):
            try:
                value = conv(value)
                break
            except ValueError:
                continue
        out[key] = value
    if bad:
        raise InputError(
            "--set expects RULE.FIELD=VALUE, e.g. --set police-800.min_population=1000; got: "
            + ", ".join(repr(b) for b in bad)
        )
    return out


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, Any]]:
    """The argument parser of the ``anzhi`` command and its sub-command handlers."""
    parser = argparse.ArgumentParser(
        prog="anzhi",
        description="Anzhi (安置): check the public facilities of relocation sites offline "
        "(易地扶贫搬迁安置点公共服务设施检查).",
    )
    parser.add_argument("--version", action="version", version=f"anzhi {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    g = add_command(
        sub, "gaps",
        help="gap list and coverage for one region (缺口清单与覆盖率)",
        description="Route every site to the nearest facility of each type on the road "
        "network, apply a rule set, and write the gap list (缺口清单) and coverage tables.",
        epilog=_EPILOG_GAPS + "\n" + PROVINCE_EPILOG,
    )
    add_options(g.add_argument_group("inputs (give --demo, or --sites and --roads)"), {
        "--demo": "use the synthetic demo county (built on first use)",
        "--sites": "site table: xlsx, csv, GeoJSON, GeoPackage or Shapefile (安置点表)",
        "--facilities": "facility layer (GeoPackage, GeoJSON, Shapefile, csv/xlsx with "
                        "id,name,type,lon,lat); repeatable; with --demo, replaces the demo's "
                        "facility layer (e.g. facilities_after.csv of anzhi site)",
        "--roads": "OSM road file (.osm, .osm.bz2 or .osm.pbf)",
        "--dem": "DEM GeoTIFF or SRTM .hgt (optional): slope-aware walking (Tobler) and the "
                 "site hazard screen",
        "--coords": "coordinate system of lon/lat columns (default: the 坐标系 column, else "
                    "wgs84); gcj02 = Amap/Tencent, bd09 = Baidu",
        "--facility-coords": None,
        "--townships": "township polygons (optional, for the map)",
        "--crs": None,
        "--outside-china": None,
    })
    opt = g.add_argument_group("analysis")
    opt.add_argument("--rules", default="default", help="rule preset name or YAML file (default: %(default)s)")
    opt.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="RULE.FIELD=VALUE",
        help="override a threshold, e.g. --set police-800.min_population=1000; repeatable",
    )
    add_options(opt, {"--profile": None})
    add_options(g.add_argument_group("output"), {
        "--out": "output folder (created if absent)",
        "--lang": "headers of gaps.xlsx (default: %(default)s)",
        "--format": None,
        "--quiet": None,
    })
    add_gaps_options(g)

    d = add_command(
        sub, "demo",
        help="build the synthetic demo county and print its folder",
        description="Build (once) the synthetic demo county near Shidian, Yunnan: DEM, OSM roads, "
        "sites (GCJ-02, Chinese headers), facilities, townships and parcels. All data are synthetic.",
        epilog=_EPILOG_DEMO,
    )
    d.add_argument("--out", type=Path, default=None, help="folder (default: the Anzhi cache folder)")
    d.add_argument("--seed", type=int, default=None, help="random seed (default: settings.demo_seed)")
    d.add_argument("--force", action="store_true", help="rebuild even if present")
    add_demo_options(d)
    handlers: dict[str, Any] = {"gaps": _cmd_gaps, "demo": _cmd_demo}
    for name in SUBCOMMAND_MODULES:
        handlers.update(importlib.import_module(name).register(sub))
    return parser, handlers


def _cmd_demo(args: argparse.Namespace) -> int:
    from layers.demo import build_demo

    if args.province is not None:
        return cmd_demo_province(args)
    paths = build_demo(args.out, seed=args.seed, force=args.force)
    print(paths.root)
    return 0


def _cmd_gaps(args: argparse.Namespace) -> int:
    from anzhi.core.files import check_outputs_apart
    from anzhi.core.settings import override
    from anzhi.pipeline import run_region, write_region
    from layers.export import OUTPUT_FILES

    overrides = parse_set_options(args.overrides)
    if args.province is not None:
        return cmd_gaps_province(args, overrides)
    inputs = region_inputs(args, ("--sites", "--roads"),
                           "give the site table and the OSM road file, or --demo for the demo "
                           "county")
    parquet = "parquet" in args.formats
    check_outputs_apart([], region_files(inputs), folder_files={args.out: (
        *OUTPUT_FILES, "gaps.gpkg", *(("gaps.parquet", "sites.parquet") if parquet else ()))})
    t0 = time.perf_counter()
    with override(progress=not args.quiet):
        results = run_region(inputs, rules=args.rules, overrides=overrides, profile=args.profile)
        written = write_region(results, args.out, lang=args.lang, parquet=parquet)
    gaps = results.gaps
    n_gap = int(gaps["status"].astype(str).str.startswith("gap").sum())
    n_unr = int((gaps["status"] == "unroutable").sum())
    print(
        f"{len(results.data.sites)} sites, {len(results.data.facilities)} facilities, "
        f"{len(gaps)} site×rule checks: {n_gap} gaps, {n_unr} unroutable "
        f"({time.perf_counter() - t0:.1f} s)"
    )
    for name, path in written.items():
        print(f"  {name}: {path}")
    return 0


class Terminated(BaseException):
    """SIGTERM, raised in the main thread so that every ``finally`` (temp files) runs."""


def _terminate(signum: int, frame: Any) -> None:
    raise Terminated


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``anzhi`` console script; returns the exit status.

    Exit codes: 0 done, 2 bad input (the message says what and how to fix it), 3 a province
    run (``gaps --province``) in which some county failed, 130 interrupted
    (Ctrl-C), 143 terminated (SIGTERM), 141 the reader of the output went away (``| head``).
    Temporary files are removed in every case; outputs are complete or absent.
    """
    parser, handlers = build_parser()
    args = parser.parse_args(argv)
    in_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _terminate) if in_main else None
    try:
        return handlers[args.command](args)
    except AnzhiError as exc:
        print(f"anzhi {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"anzhi {args.command}: 已中断 / interrupted", file=sys.stderr)
        return 130
    except Terminated:
        print(f"anzhi {args.command}: 已终止 / terminated", file=sys.stderr)
        return 143
    except BrokenPipeError:
        # the reader closed the pipe (``anzhi rules show default | head``): stop quietly, and
        # keep Python from failing again when it flushes stdout at exit (Python docs, signal)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
