"""``anzhi site``: recommend new facility locations (推荐选址) for one region (issue 14).

Plugged in through ``anzhi.cli.SUBCOMMAND_MODULES``; the work is :func:`anzhi.siting.site_region`.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from anzhi.cli.common import add_command, add_options, region_files, region_inputs
from anzhi.core.errors import InputError

__all__ = ["parse_budgets", "register"]

_DESCRIPTION = """\
Recommend where to build new facilities (推荐选址, 查缺补漏): candidates are road points
thinned to --spacing, the sites themselves and --candidates; candidates inside --exclude
polygons, steeper than 25° on the DEM or off the road network are left out (each counted
by reason). The existing facilities stay; a new facility covers a site when `anzhi gaps`
would then find the site's rules of that type met (the rule's reach by road, or its
at-site radius). Where the rule has a capacity norm (kindergarten places, residents per
officer) a site over capacity (gap_capacity) needs a new facility too: the existing ones keep
their capacity, and each new one is sized to the demand it serves (its capacity column).
Models (solved exactly with HiGHS, a greedy fallback beyond the size limit said so in the
notes):
  lscp     fewest new facilities so that every site a rule requires is covered (最少设施全覆盖)
  mclp     --budget N new facilities covering the most people (给定数量最大覆盖)
  pmedian  --budget N new facilities minimising people × travel to the nearest facility
           (人口加权出行最短)
"""

_EPILOG = """\
examples:
  anzhi site --demo --type clinic,police_room --model lscp --out out/site
  anzhi site --demo --type clinic --model mclp --budget 3 --out out/site-3
  anzhi site --sites 安置点.xlsx --roads county.osm.pbf --facilities 设施.gpkg --dem dem.tif \\
             --type clinic,kindergarten --model mclp --budget clinic=2 --budget kindergarten=1 \\
             --candidates 候选地块.gpkg --exclude 生态保护红线.gpkg --exclude 永久基本农田.gpkg \\
             --out out/site

outputs (in --out):
  siting.csv            one row per recommended facility: facility_type, candidate_id, lon,
                        lat (WGS84), lon_gcj02, lat_gcj02 (Amap/Tencent), sites_covered,
                        pop_covered_new, covers (site ids, ';'-joined), source, facility_id,
                        slope_deg, capacity (places/officers it needs; blank without a
                        capacity norm) (推荐选址)
  site_status.csv       every site × type the rules require: status before, covered
                        before/after, change, the new facility serving it (安置点状态)
  siting.xlsx           Chinese headers: 推荐选址, 安置点状态, 覆盖率 (before/after per type
                        and township), 说明 (model, optimality gap, greedy note, candidates
                        excluded by reason)
  siting.gpkg           map layers recommended, site_status, candidates, links
  facilities_after.csv  the facility files' facilities plus the recommended ones, a facility
                        table for `anzhi gaps --facilities`, new ones with their capacity
                        (the site table's yes/no columns are not repeated: they come back
                        from the site table)

check the result (the sited gaps are closed):
  anzhi gaps --sites S --roads R --dem D --facilities out/site/facilities_after.csv --out out/after
"""


def parse_budgets(items: Sequence[str]) -> int | dict[str, int] | None:
    """``--budget N`` or ``--budget TYPE=N`` options → one budget, or one per type.

    Raises
    ------
    InputError
        A value that is not a whole number >= 0, a type given twice, or a plain ``N`` mixed
        with ``TYPE=N``.
    """
    if not items:
        return None
    plain: list[int] = []
    per: dict[str, int] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        text = (raw if sep else key).strip()
        try:
            value = int(text)
        except ValueError:
            value = -1
        if value < 0:
            raise InputError(f"--budget {item!r}: {text!r} is not a whole number >= 0 — fix: give "
                             "the number of new facilities, e.g. --budget 3 or --budget clinic=2")
        if sep:
            name = key.strip()
            if not name or name in per:
                raise InputError(f"--budget {item!r}: give each type once, as TYPE=N")
            per[name] = value
        else:
            plain.append(value)
    if plain and per or len(plain) > 1:
        raise InputError(f"--budget {' '.join(items)}: give one --budget N for every type, or "
                         "--budget TYPE=N for each type, not both")
    return plain[0] if plain else per


def register(subparsers: Any) -> dict[str, Any]:
    """Add ``site`` to the ``anzhi`` sub-command parsers; return its handler."""
    s = add_command(subparsers, "site",
                    help="recommend new facility locations: LSCP, MCLP, p-median (推荐选址)",
                    description=_DESCRIPTION, epilog=_EPILOG)
    add_options(s.add_argument_group("inputs (give --demo, or --sites and --roads)"), {
        "--demo": "the synthetic demo county",
        "--sites": "site table: xlsx, csv, GeoJSON, GeoPackage or Shapefile (安置点表)",
        "--roads": "OSM road file (.osm, .osm.bz2 or .osm.pbf)",
        "--facilities": "existing facility layer (kept, never moved); repeatable",
        "--dem": "DEM GeoTIFF: slope-aware walking and the > 25° candidate exclusion",
        "--coords": "coordinate system of lon/lat columns (default: 坐标系 column, else wgs84)",
        "--facility-coords": None,
        "--crs": None,
        "--outside-china": None,
    })
    m = s.add_argument_group("siting")
    m.add_argument("--type", dest="types", required=True, metavar="TYPE[,TYPE...]",
                   help="facility types to site, comma-separated, e.g. clinic,police_room; "
                        "each needs a rule (anzhi rules show default)")
    m.add_argument("--model", required=True, choices=["lscp", "mclp", "pmedian"],
                   help="lscp: fewest facilities covering all; mclp: most people with --budget; "
                        "pmedian: least people × travel with --budget")
    m.add_argument("--budget", action="append", default=[], metavar="N|TYPE=N",
                   help="new facilities allowed (mclp, pmedian): N for every type, or TYPE=N "
                        "per type (repeatable)")
    m.add_argument("--candidates", type=Path, default=None, metavar="FILE",
                   help="candidate parcels or points (GeoPackage, GeoJSON, Shapefile); their "
                        "id column (candidate_id, id, 编号, 地块编号, …) names them in siting.csv")
    m.add_argument("--exclude", type=Path, action="append", default=[], metavar="FILE",
                   help="polygon layer where nothing may be built (生态保护红线, 永久基本农田, any "
                        "polygon layer); repeatable")
    m.add_argument("--spacing", type=float, default=200.0, metavar="M",
                   help="least distance between road candidates, m (default: %(default)s)")
    m.add_argument("--time-limit", type=float, default=60.0, metavar="S",
                   help="HiGHS time limit, s; the gap is reported when reached (default: %(default)s)")
    m.add_argument("--rules", default="default", help="rule preset name or YAML file (default: %(default)s)")
    m.add_argument("--set", dest="overrides", action="append", default=[],
                   metavar="RULE.FIELD=VALUE",
                   help="override a threshold, e.g. --set health-every-site.max_time_min=20; repeatable")
    add_options(m, {"--profile": None})
    add_options(s.add_argument_group("output"), {
        "--out": "output folder (created if absent)", "--lang": "headers of siting.xlsx "
        "(default: %(default)s)", "--quiet": None})
    return {"site": _cmd_site}


def _cmd_site(args: argparse.Namespace) -> int:
    from anzhi.cli import parse_set_options
    from anzhi.core.files import check_outputs_apart
    from anzhi.core.settings import override
    from anzhi.siting import site_region, write_siting_run
    from layers.siting import SITING_FILES

    overrides = parse_set_options(args.overrides)
    budget = parse_budgets(args.budget)
    inputs = region_inputs(args, ("--sites", "--roads"),
                           "give the site table and the OSM road file, or --demo")
    if args.demo and args.facilities:
        raise InputError("--demo uses the demo county's own facilities; give --facilities "
                         "only with --sites and --roads")
    inputs_all = [*region_files(inputs), args.candidates, *args.exclude]
    check_outputs_apart([], inputs_all, folder_files={args.out: SITING_FILES})
    t0 = time.perf_counter()
    with override(progress=not args.quiet):
        run = site_region(inputs, types=args.types, model=args.model, budget=budget,
                          candidates=args.candidates, exclude=args.exclude,
                          spacing_m=args.spacing, rules=args.rules, overrides=overrides,
                          profile=args.profile, time_limit_s=args.time_limit,
                          progress=not args.quiet)
        written = write_siting_run(run, args.out, lang=args.lang)
    res = run.result
    gap = "" if res.gap is None else f", gap {res.gap:.2%}"
    print(f"{run.model}: {len(run.tables.recommended)} new facilities "
          f"({', '.join(f'{t.name} {t.n_new}' for t in res.types)}), {res.method} {res.status}"
          f"{gap} ({time.perf_counter() - t0:.1f} s)")
    cov = run.tables.coverage
    for row in cov[cov["level"] == "all"].itertuples(index=False):
        print(f"  {row.facility_type}: sites covered {row.sites_covered_before} → "
              f"{row.sites_covered_after} of {row.sites_required}, people "
              f"{row.pop_covered_before:,.0f} → {row.pop_covered_after:,.0f}")
    if run.note:
        print(f"  note: {run.note}")
    for name, path in written.items():
        print(f"  {name}: {path}")
    fac = written["facilities_after.csv"]
    i = inputs
    print(f"check: anzhi gaps --sites {i.sites} --roads {i.roads}"
          + (f" --dem {i.dem}" if i.dem else "") + f" --facilities {fac} --out OUT")
    return 0
