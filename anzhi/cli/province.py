"""Province runs from the command line: ``anzhi gaps --province`` and ``anzhi demo --province``.

The ``gaps`` and ``demo`` commands (:mod:`anzhi.cli`) add these options with
:func:`add_gaps_options` / :func:`add_demo_options` and hand a run with ``--province`` to
:func:`cmd_gaps_province` / :func:`cmd_demo_province`.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from anzhi.core.errors import InputError

__all__ = ["EXIT_COUNTY_FAILED", "PROVINCE_EPILOG", "add_demo_options", "add_gaps_options",
           "cmd_demo_province", "cmd_gaps_province"]

#: Exit status of ``anzhi gaps --province`` when some county failed (the others finished).
EXIT_COUNTY_FAILED = 3

#: Lines of the ``gaps`` epilog about province runs.
PROVINCE_EPILOG = """\
province runs (one Dask task per county; a local cluster of worker processes by default):
  anzhi demo --province 3 --out prov && anzhi gaps --province prov/manifest.yaml --out out/prov
  anzhi gaps --province manifest.yaml --scheduler tcp://host:8786 --county 施甸县 --out out/p
  anzhi gaps --province prov/manifest_split.yaml --buffer-km 5 --out out/prov5
  two manifest forms: counties: a list of {name, sites, roads, facilities, dem?, parcels?,
  townships?, prefecture?} (ready county folders, used as they are; buffer_km is only
  recorded), or counties: counties.gpkg (polygons with a name and optional prefecture
  column) with sites:, roads: (one large .osm.pbf/.osm/.osm.bz2) and facilities: for the
  whole province, which Anzhi splits: each site goes to the polygon holding it (sites in
  none are listed in report.csv and the exit status is 3), facilities and roads are kept
  within buffer_km (default 10 km) of the polygon, so a facility across a border still
  serves a site; the split is cached in $ANZHI_CACHE_DIR/province/split.
  outputs: gaps.csv (county column), gaps.xlsx, coverage.csv (province/prefecture/county/
  township; the prefecture level and column when counties name a prefecture), access.csv,
  gaps.gpkg (site points, layers gaps and sites, county column; with --format parquet also
  gaps.parquet and sites.parquet), report.csv (county, prefecture, status ok/cached/error, time_s, sites, unroutable,
  facilities in the county, each counted once, error); counties whose inputs, rules and
  profile are unchanged come from the cache folder ($ANZHI_CACHE_DIR) unless --no-cache.
  All outputs are written together: a run that fails leaves the folder as it was.
  each local worker has a memory limit (--memory-limit, default auto: the machine's memory
  split evenly among the workers); the Dask dashboard link is printed when bokeh is
  installed (pip install bokeh).
exit status: 0 done, 2 bad input, 3 with --province: some county failed (its error is in
report.csv; the other counties' results are written)
"""

#: Inputs of a single region, refused together with ``--province``.
_REGION_FLAGS = ("demo", "sites", "roads", "dem", "townships")


def add_gaps_options(parser: argparse.ArgumentParser) -> None:
    """The ``--province`` options of ``anzhi gaps``."""
    g = parser.add_argument_group("province (instead of the inputs above)")
    g.add_argument("--province", type=Path, metavar="MANIFEST",
                   help="manifest.yaml listing the counties (name, sites, roads, facilities, "
                        "dem, parcels; paths relative to it), or naming one site table, "
                        "road file and county polygons to split: run every county on Dask")
    g.add_argument("--workers", type=int, default=None, metavar="K",
                   help="worker processes of the local Dask cluster (default: the cores)")
    g.add_argument("--memory-limit", default=None, metavar="SIZE",
                   help="memory limit of each local worker, e.g. 4GiB or 2500MB (default: "
                        "auto, dask's split of the machine's memory evenly among the "
                        "workers); not with --scheduler")
    g.add_argument("--scheduler", default=None, metavar="URL",
                   help="address of a running Dask scheduler, e.g. tcp://host:8786")
    g.add_argument("--county", dest="counties", action="append", default=[], metavar="NAME",
                   help="run only this county of the manifest; repeatable")
    g.add_argument("--no-cache", action="store_true",
                   help="recompute every county (neither read nor write the results cache)")
    g.add_argument("--buffer-km", type=float, default=None, metavar="KM",
                   help="split form (counties: a polygon file): keep facilities and roads "
                        "within KM of each county (default: the manifest's buffer_km, 10)")


def add_demo_options(parser: argparse.ArgumentParser) -> None:
    """The ``--province`` options of ``anzhi demo``."""
    g = parser.add_argument_group("generated province")
    g.add_argument("--province", type=int, default=None, metavar="N",
                   help="build one synthetic region cut into N counties sharing borders: "
                        "OUT/region, OUT/counties.gpkg, OUT/manifest_split.yaml (split form) "
                        "and OUT/manifest.yaml (the counties split with 10 km, in "
                        "OUT/split/1 ...) (needs --out)")
    g.add_argument("--county-km", type=float, default=40.0, metavar="KM",
                   help="size of each generated county: the side of a square of its area, "
                        "km (default: %(default)s)")
    g.add_argument("--county-sites", type=int, default=60, metavar="N",
                   help="relocation sites per generated county (default: %(default)s)")


def _manifest_files(manifest: Path) -> list[Path]:
    from layers.province import read_manifest

    man = read_manifest(manifest)
    split = [p for _, p in man.split.files()] if man.split is not None else []
    return [manifest, *split, *man.shared.values(),
            *(p for c in man.counties for _, p in c.files())]


def cmd_gaps_province(args: argparse.Namespace, overrides: dict[str, Any]) -> int:
    """``anzhi gaps --province``: 0 when every county ran, :data:`EXIT_COUNTY_FAILED` else."""
    from anzhi.core.files import check_outputs_apart
    from anzhi.province import check_memory_limit, run_province
    from layers.export import OUTPUT_FILES

    check_memory_limit(args.memory_limit)  # before anything is read
    given = [f"--{f}" for f in _REGION_FLAGS if getattr(args, f, None)]
    if given or getattr(args, "facilities", None):
        raise InputError(f"give either --province or the inputs of one region "
                         f"({', '.join(given) or '--facilities'}), not both")
    parquet = "parquet" in getattr(args, "formats", [])
    check_outputs_apart([], _manifest_files(args.province), folder_files={args.out: (
        *OUTPUT_FILES, "gaps.gpkg", *(("gaps.parquet", "sites.parquet") if parquet else ()),
        "report.csv")})
    t0 = time.perf_counter()
    res = run_province(args.province, out_dir=args.out, rules=args.rules, overrides=overrides,
                       profile=args.profile, workers=args.workers, scheduler=args.scheduler,
                       counties=args.counties or None, use_cache=not args.no_cache,
                       progress=not args.quiet, lang=args.lang, buffer_km=args.buffer_km,
                       memory_limit=args.memory_limit, parquet=parquet)
    report = res.report
    counts = report["status"].value_counts()
    print(f"{res.manifest.name}: {len(report)} counties: {int(counts.get('ok', 0))} computed, "
          f"{int(counts.get('cached', 0))} cached, {int(counts.get('error', 0))} failed "
          f"({time.perf_counter() - t0:.1f} s)")
    for row in report.itertuples(index=False):
        if row.status == "error":
            print(f"  {row.county}: error: {row.error}")
    for name, path in res.written.items():
        print(f"  {name}: {path}")
    return 0 if res.ok else EXIT_COUNTY_FAILED


def cmd_demo_province(args: argparse.Namespace) -> int:
    """``anzhi demo --province N --out DIR``: prints the manifest written."""
    from layers.province import write_demo_province

    if args.out is None:
        raise InputError("anzhi demo --province N needs --out DIR (the province folder)")
    manifest = write_demo_province(args.out, args.province, seed=args.seed,
                                   size_km=args.county_km, n_sites=args.county_sites,
                                   force=args.force)
    print(manifest)
    return 0
