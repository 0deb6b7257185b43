"""Province benchmark: a generated province on Dask with 1 and 2 workers, and a cached rerun.

Run ``python -m bench.bench_province`` (``--counties 4 --county-km 20 --county-sites 40`` by
default; ``--no-write`` only prints).  Writes the ``province`` section of
``docs/benchmarks.md``.

The province is :func:`layers.split.write_demo_province` (SYNTHETIC: one demo region, seed
20210601, cut into a grid of counties sharing borders, each split with a 10 km buffer).  Each measurement is :func:`anzhi.province.run_province`
end to end (cluster start-up, reading, routing, rules, the merged outputs) in this process:

* **1 worker** / **2 workers**: a first run on a ``LocalCluster`` of 1 or 2 worker processes,
  each with an empty cache folder (no road-graph or results cache), so the ratio is the
  scaling of the whole run;
* **rerun, one county changed**: the 2-worker run's cache kept, one facility taken out of one
  county's facility file (new content, new key); only that county is computed again.

This is far below the issue's target province (5,000 sites, ≥ 1 million road edges,
10,000² DEM): it measures the Dask driver and the cache, not routing at scale.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd

from anzhi.core.settings import override
from anzhi.province import run_province
from bench.report import bench_args, fmt_secs, log, publish
from layers.province import write_demo_province


def measure(*, counties: int, county_km: float, county_sites: int, work: Path
            ) -> dict[str, Any]:
    """Times (s) of the three runs and what they did."""
    manifest = write_demo_province(work / "province", counties, seed=20210601,
                                   size_km=county_km, n_sites=county_sites)
    out: dict[str, Any] = {"counties": counties, "county_km": county_km,
                           "county_sites": county_sites, "cpus": os.cpu_count(),
                           "load": os.getloadavg()[0]}
    for workers in (1, 2):
        log(f"first run, {workers} worker(s)")
        with override(cache_dir=work / f"cache-{workers}", progress=False):
            t0 = time.perf_counter()
            res = run_province(manifest, out_dir=work / f"out-{workers}", workers=workers)
            out[f"first_{workers}_s"] = time.perf_counter() - t0
        out["sites"] = int(res.report["sites"].sum())
        assert res.ok, res.report
    log("rerun with one county changed")
    fac = manifest.parent / "split" / "1" / "facilities.gpkg"
    layer = gpd.read_file(fac)
    layer.iloc[1:].to_file(fac, driver="GPKG")
    with override(cache_dir=work / "cache-2", progress=False):
        t0 = time.perf_counter()
        res = run_province(manifest, out_dir=work / "out-rerun", workers=2)
        out["rerun_s"] = time.perf_counter() - t0
    out["rerun_status"] = res.report["status"].value_counts().to_dict()
    return out


def render(r: dict[str, Any]) -> str:
    """The ``province`` section of docs/benchmarks.md."""
    scaling = r["first_1_s"] / r["first_2_s"]
    cached = r["first_2_s"] / r["rerun_s"]
    status = ", ".join(f"{v} {k}" for k, v in sorted(r["rerun_status"].items()))
    return "\n".join([
        f"A generated province of {r['counties']} counties × {r['county_km']:g} km × "
        f"{r['county_sites']} sites ({r['sites']:,} sites read; SYNTHETIC), run end to end "
        f"with `run_province` on a `distributed.LocalCluster` (cluster start-up included). "
        f"Load average {r['load']:.1f} on {r['cpus']} CPUs while measuring.",
        "",
        "| run | wall |",
        "|---|---|",
        f"| first run, 1 worker | {fmt_secs(r['first_1_s'])} |",
        f"| first run, 2 workers | {fmt_secs(r['first_2_s'])} |",
        f"| rerun with one county changed ({status}) | {fmt_secs(r['rerun_s'])} |",
        "",
        f"Scaling 1 → 2 workers: {scaling:.2f}×; cached rerun {cached:.1f}× faster than the "
        "first 2-worker run (issue 15 asks ≥ 10× on its full-size province, not measured here).",
    ])


def main(argv: Sequence[str] | None = None) -> int:
    args = bench_args(__doc__, argv, {
        "--counties": {"type": int, "default": 4, "help": "counties of the province"},
        "--county-km": {"type": float, "default": 20.0, "help": "side of each county, km"},
        "--county-sites": {"type": int, "default": 40, "help": "sites per county"},
    })
    with tempfile.TemporaryDirectory(prefix="anzhi-bench-province-") as tmp:
        result = measure(counties=args.counties, county_km=args.county_km,
                         county_sites=args.county_sites, work=Path(tmp))
    publish("province", render(result), command="python -m bench.bench_province",
            write=not args.no_write)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
