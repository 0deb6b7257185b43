"""``anzhi map``: the printable thematic map (专题图) of a region, PNG or PDF.

The inputs are those of ``anzhi gaps``; the region is run (:func:`anzhi.pipeline.run_region`)
and drawn by :func:`layers.printmap.render_map`: township outlines, roads by class, land
steeper than 25°, the sites coloured by status and sized by population, the facilities,
legend, scale bar, north arrow, title and date.  Plugged in through
``anzhi.cli.SUBCOMMAND_MODULES``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from anzhi.cli.common import add_command, add_options, region_files, region_inputs
from anzhi.core.errors import InputError

__all__ = ["register"]

_EPILOG = """\
examples:
  anzhi map --demo --out map.png
  anzhi map --demo --type clinic --township 甸阳镇 --out 甸阳镇_卫生室.pdf
  anzhi map --sites 安置点.xlsx --facilities 设施.gpkg --roads county.osm.pbf --dem dem.tif \\
            --townships 乡镇.gpkg --out map.pdf

outputs: --out (one A4 landscape page, .png or .pdf)

Sites are coloured by the worst status of the rules of --type (a type key or its Chinese
name, e.g. clinic or 卫生室), or by their worst status over all rules without --type.
Chinese labels need a font with Chinese glyphs (found on the system: Noto Sans CJK, Source
Han Sans, WenQuanYi, SimHei, Microsoft YaHei, ...); with --lang auto (the default) the map
falls back to English labels and says so when there is none; --lang zh refuses and names
the package to install (fonts-noto-cjk).
"""


def register(subparsers: Any) -> dict[str, Any]:
    """Add ``map`` to the ``anzhi`` sub-command parsers; return its handler."""
    m = add_command(
        subparsers, "map",
        help="printable thematic map of the sites' gaps, PNG or PDF (专题图)",
        description="Run the region as 'anzhi gaps' does and draw a static map: township "
        "outlines, roads by class, land steeper than 25°, sites coloured by gap status and "
        "sized by population, facilities, legend, scale bar, north arrow, title and date.",
        epilog=_EPILOG,
    )
    add_options(m.add_argument_group("inputs (give --demo, or --sites and --roads)"), {
        "--demo": "use the synthetic demo county (built on first use)",
        "--sites": "site table: xlsx, csv, GeoJSON, GeoPackage or Shapefile (安置点表)",
        "--facilities": "facility layer (GeoPackage, GeoJSON, Shapefile, csv/xlsx); repeatable",
        "--roads": "OSM road file (.osm, .osm.bz2 or .osm.pbf)",
        "--dem": "DEM GeoTIFF (optional): slope-aware walking and the steep land (> 25°)",
        "--coords": "coordinate system of lon/lat columns (default: the 坐标系 column, else "
                    "wgs84)",
        "--facility-coords": None,
        "--townships": "township polygons (optional): outlines and --township",
        "--crs": None,
        "--outside-china": None,
    })
    opt = m.add_argument_group("analysis")
    opt.add_argument("--rules", default="default",
                     help="rule preset name or YAML file (default: %(default)s)")
    opt.add_argument("--set", dest="overrides", action="append", default=[],
                     metavar="RULE.FIELD=VALUE", help="override a threshold; repeatable")
    add_options(opt, {"--profile": None})
    what = m.add_argument_group("map")
    what.add_argument("--type", dest="facility_type", default=None, metavar="TYPE",
                      help="colour sites by the rules of this facility type (e.g. clinic, "
                           "卫生室); default: the worst status over all rules")
    what.add_argument("--township", default=None, metavar="NAME",
                      help="only this township's sites, zoomed to the township")
    what.add_argument("--title", default=None, help="title (default: region and type)")
    what.add_argument("--lang", choices=["auto", "zh", "en"], default="auto",
                      help="labels: zh needs a CJK font, auto falls back to en without one "
                           "(default: %(default)s)")
    what.add_argument("--font", default=None, metavar="FILE|FAMILY",
                      help="font with Chinese glyphs to use (default: found on the system)")
    what.add_argument("--dpi", type=float, default=200.0,
                      help="resolution of a PNG, dots per inch (default: %(default)s)")
    add_options(m.add_argument_group("output"), {
        "--out": "map file to write: .png or .pdf (atomically)", "--quiet": None})
    return {"map": _cmd_map}


def _check_args(args: argparse.Namespace) -> None:
    if args.out.suffix.lower() not in (".png", ".pdf"):
        raise InputError(f"--out {args.out}: give a file name ending in .png or .pdf, e.g. "
                         "--out map.png")
    if not (30.0 <= args.dpi <= 1200.0):
        raise InputError(f"--dpi {args.dpi:g}: give a resolution between 30 and 1200 dots "
                         "per inch, e.g. --dpi 300 for print")


def _cmd_map(args: argparse.Namespace) -> int:
    from anzhi.cli import parse_set_options
    from anzhi.core.files import check_outputs_apart
    from anzhi.core.settings import override
    from anzhi.pipeline import read_rules, run_region

    _check_args(args)
    overrides = parse_set_options(args.overrides)
    inputs = region_inputs(args, ("--sites", "--roads"),
                           "give the site table and the OSM road file, or --demo for the demo "
                           "county")
    check_outputs_apart([args.out], region_files(inputs))
    # a bad --type, --font or --lang zh without a Chinese font fail before the region is routed
    if args.facility_type is not None:
        _check_type_against_rules(args.facility_type, read_rules(args.rules))
    if args.lang == "zh" or args.font is not None:
        from layers.printmap import resolve_lang

        resolve_lang(args.lang, args.font)
    t0 = time.perf_counter()
    with override(progress=not args.quiet):
        results = run_region(inputs, rules=args.rules, overrides=overrides,
                             profile=args.profile)
        printed = _render(results, args)
    for warning in printed.warnings:
        print(f"anzhi map: warning: {warning}", file=sys.stderr)
    what = args.facility_type or "worst status over all rules"
    font = printed.font.family if printed.font is not None else "no CJK font"
    print(f"map of {printed.n_sites} sites ({what}; labels {printed.lang}, {font}; "
          f"{time.perf_counter() - t0:.1f} s) → {printed.path}")
    return 0


def _check_type_against_rules(name: str, rules: Any) -> None:
    """``--type`` checked against the rule set (before routing): as
    :func:`layers.printmap.check_facility_type` on the rules' own types."""
    import pandas as pd

    from layers.printmap import check_facility_type

    types = pd.DataFrame({"facility_type": [r.facility_type for r in rules]})
    check_facility_type(name, types, rules=f"{rules.name} {rules.version}")


def _render(results: Any, args: argparse.Namespace) -> Any:
    """The map of a run drawn to ``args.out`` (:func:`anzhi.mapdata.printed_map`)."""
    from anzhi.mapdata import printed_map

    note = "示范数据(合成,非真实调查) / SYNTHETIC DEMO DATA, not a real survey" if args.demo else ""
    return printed_map(results, out=Path(args.out), facility_type=args.facility_type,
                       township=args.township, lang=args.lang, font=args.font, title=args.title,
                       dpi=args.dpi, note=note)
