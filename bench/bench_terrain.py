"""Terrain benchmark: slope vs ``gdaldem slope``, and the land step vs exactextract/rasterstats.

Run ``python -m bench.bench_terrain`` (add ``--big`` for the 20,000 × 20,000 DEM, which
takes several minutes on 2 cores and ~1.5 GB of disk).  Writes the ``terrain`` section of
``docs/benchmarks.md``.

Every measurement runs in a fresh child process (``python -m bench.bench_terrain --child
...``) started by a fresh measuring process, so the peak memory reported is that run's own
(``getrusage(RUSAGE_CHILDREN).ru_maxrss`` of a process whose only child is the run).

* Slope: the synthetic DEM is a float32 GeoTIFF in EPSG:4542 (30 m, 512 × 512 tiles,
  deflate).  Both tools read it and write a float32 GeoTIFF with the same creation options
  (512 × 512 tiles, deflate level 1, ``NUM_THREADS=ALL_CPUS``).  Time is the wall time of
  the whole command for gdaldem and of :func:`layers.terrain.write_slope` inside its child
  (the Python interpreter start-up is reported separately).
* Zonal: 20,000 random parcels (40–200 m, overlapping in places) on that slope raster.
  exactextract ``mean`` with ``strategy="raster-sequential"`` (one statistic), rasterstats
  ``zonal_stats(stats=["mean"])``, and Anzhi's whole land step (slope classes, ellipsoidal
  area per class per parcel through exactextract, parcel table, village roll-up).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.report import REPO, publish

_CO = ["TILED=YES", "BLOCKXSIZE=512", "BLOCKYSIZE=512", "COMPRESS=DEFLATE", "ZLEVEL=1",
       "NUM_THREADS=ALL_CPUS", "BIGTIFF=IF_SAFER"]


# --------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------


def make_dem(path: Path, n: int, *, seed: int = 1) -> Path:
    """A ``n × n`` float32 mountain DEM (30 m, EPSG:4542), written strip by strip."""
    import rasterio
    from rasterio.transform import Affine
    from rasterio.windows import Window
    from scipy import ndimage

    rng = np.random.default_rng(seed)
    octaves = []
    for cell, amp in ((256, 900.0), (64, 220.0), (16, 40.0)):
        m = n // cell + 3
        octaves.append((cell, amp * rng.standard_normal((m, m)).astype(np.float32)))
    profile = {"driver": "GTiff", "dtype": "float32", "count": 1, "width": n, "height": n,
               "crs": "EPSG:4542", "transform": Affine(30, 0, 400000, 0, -30, 2900000),
               "nodata": -9999.0, "tiled": True, "blockxsize": 512, "blockysize": 512,
               "compress": "deflate", "zlevel": 1, "bigtiff": "IF_SAFER", "num_threads": "ALL_CPUS"}
    with rasterio.open(path, "w", **profile) as dst:
        cols = np.arange(n, dtype=np.float32)
        for r0 in range(0, n, 512):
            rows = np.arange(r0, min(r0 + 512, n), dtype=np.float32)
            rr, cc = np.meshgrid(rows, cols, indexing="ij")
            z = np.full(rr.shape, 2000.0, dtype=np.float32)
            for cell, grid in octaves:
                z += ndimage.map_coordinates(grid, [rr / cell, cc / cell], order=1, prefilter=False)
            z += 3.0 * np.sin(rr / 7.0) * np.cos(cc / 5.0)
            if r0 == 512:  # a few voids
                z[100:110, 2000:2020] = -9999.0
            dst.write(z.astype(np.float32), 1, window=Window(0, r0, n, len(rows)))
    return path


def make_parcels(path: Path, n_dem: int, count: int, *, seed: int = 2) -> Path:
    """``count`` random parcels inside the DEM (EPSG:4542), GeoPackage layer ``parcels``."""
    import geopandas as gpd
    import shapely

    rng = np.random.default_rng(seed)
    x0, y0 = 400000.0, 2900000.0
    span = n_dem * 30.0
    cx = x0 + rng.uniform(300, span - 300, count)
    cy = y0 - rng.uniform(300, span - 300, count)
    k = 8
    ang = np.sort(rng.uniform(0, 2 * np.pi, (count, k)), axis=1)
    rad = rng.uniform(40, 200, (count, 1)) * rng.uniform(0.6, 1.0, (count, k))
    xs, ys = cx[:, None] + rad * np.cos(ang), cy[:, None] + rad * np.sin(ang)
    rings = np.stack([xs, ys], axis=-1)
    rings = np.concatenate([rings, rings[:, :1]], axis=1)
    geoms = shapely.make_valid(shapely.polygons(rings))
    villages = np.array([f"村{i:02d}" for i in range(40)])
    gdf = gpd.GeoDataFrame({
        "parcel_id": [f"P{i:05d}" for i in range(count)],
        "village": villages[rng.integers(0, 40, count)],
        "household_id": [f"H{i // 4:05d}" for i in range(count)],
        "land_use": np.array(["耕地", "林地", "宅基地"])[rng.integers(0, 3, count)],
    }, geometry=geoms, crs="EPSG:4542")
    gdf = gdf[gdf.geom_type.isin(["Polygon", "MultiPolygon"])]
    gdf.to_file(path, layer="parcels", driver="GPKG")
    return path


# --------------------------------------------------------------------------------------
# Child runs
# --------------------------------------------------------------------------------------


def _child(args: argparse.Namespace) -> None:
    """Runs one measured step and prints {"seconds": ...} as JSON on stdout."""
    t0 = time.perf_counter()
    extra: dict[str, Any] = {}
    if args.step == "slope":
        from layers.terrain import write_slope

        t0 = time.perf_counter()
        write_slope(args.dem, args.out)
    elif args.step == "exactextract":
        import geopandas as gpd
        from exactextract import exact_extract

        parcels = gpd.read_file(args.parcels, layer="parcels")
        t0 = time.perf_counter()
        res = exact_extract(args.slope, parcels, "mean", strategy="raster-sequential", output="pandas")
        extra["n"] = len(res)
    elif args.step == "rasterstats":
        import geopandas as gpd
        from rasterstats import zonal_stats

        parcels = gpd.read_file(args.parcels, layer="parcels")
        t0 = time.perf_counter()
        res = zonal_stats(parcels, args.slope, stats=["mean"])
        extra["n"] = len(res)
    elif args.step == "land":
        from layers.terrain import land_statistics, read_parcels

        parcels = read_parcels(args.parcels, layer="parcels")
        t0 = time.perf_counter()
        result = land_statistics(parcels, args.slope)  # classes, zonal areas, parcel + village tables
        extra["n"] = len(result.parcels)
        extra["area_gt25_km2"] = float(result.parcels["area_gt25_m2"].sum() / 1e6)
    else:  # pragma: no cover
        raise SystemExit(f"unknown step {args.step}")
    print(json.dumps({"seconds": time.perf_counter() - t0, **extra}))


def _measure(cmd: list[str]) -> tuple[float, float, dict[str, Any]]:
    """Run ``cmd`` from a fresh measuring process; (wall s, peak RSS MiB, child JSON)."""
    probe = (
        "import json,resource,subprocess,sys,time\n"
        "t=time.perf_counter()\n"
        "p=subprocess.run(sys.argv[1:],capture_output=True,text=True)\n"
        "w=time.perf_counter()-t\n"
        "r=resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
        "print(json.dumps({'rc':p.returncode,'wall':w,'rss_kib':r,'out':p.stdout,'err':p.stderr[-2000:]}))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe, *cmd], capture_output=True, text=True, check=True,
                         cwd=REPO)
    rec = json.loads(out.stdout)
    if rec["rc"] != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {rec['err']}")
    info: dict[str, Any] = {}
    lines = [ln for ln in rec["out"].splitlines() if ln.startswith("{")]
    if lines:
        info = json.loads(lines[-1])
    return float(rec["wall"]), rec["rss_kib"] / 1024.0, info


def _py(step: str, **kw: str) -> list[str]:
    cmd = [sys.executable, "-m", "bench.bench_terrain", "--child", step]
    for k, v in kw.items():
        cmd += [f"--{k}", v]
    return cmd


def _gdaldem(dem: Path, out: Path) -> list[str]:
    gdaldem = shutil.which("gdaldem")
    if gdaldem is None:
        raise SystemExit("gdaldem is not installed (apt-get install gdal-bin)")
    cmd = [gdaldem, "slope", str(dem), str(out), "-q", "-of", "GTiff"]
    for co in _CO:
        cmd += ["-co", co]
    return cmd


def _best(cmd: list[str], repeat: int) -> tuple[float, float, float, dict[str, Any]]:
    """Best of ``repeat`` runs: (step seconds, process wall seconds, peak MiB, info)."""
    best: tuple[float, float, float, dict[str, Any]] | None = None
    for _ in range(repeat):
        wall, rss, info = _measure(cmd)
        step = float(info.get("seconds", wall))
        if best is None or step < best[0]:
            best = (step, wall, rss, info)
    assert best is not None
    return best


def run(*, big: bool, repeat: int, work: Path, n: int = 8000, n_parcels: int = 20_000,
        rasterstats: bool = True) -> str:
    rows: list[str] = []
    notes: list[str] = []
    sizes = [n] + ([20_000] if big else [])
    slope8k: Path | None = None
    for size in sizes:
        dem = work / f"dem_{size}.tif"
        if not dem.exists():
            t = time.perf_counter()
            make_dem(dem, size)
            print(f"made {dem} in {time.perf_counter() - t:.0f} s", file=sys.stderr)
        ours_out, gd_out = work / f"slope_{size}.tif", work / f"gdaldem_{size}.tif"
        r = repeat if size == n else 1
        s_ours, w_ours, m_ours, _ = _best(_py("slope", dem=str(dem), out=str(ours_out)), r)
        s_gd, _, m_gd, _ = _best(_gdaldem(dem, gd_out), r)
        rows.append(f"| slope {size:,} × {size:,} | {s_ours:.1f} s (process {w_ours:.1f} s) | {m_ours:,.0f} MiB "
                    f"| gdaldem {s_gd:.1f} s | {m_gd:,.0f} MiB | **{s_ours / s_gd:.2f}** |")
        if size == n:
            slope8k = ours_out
    assert slope8k is not None
    parcels = work / f"parcels_{n_parcels}.gpkg"
    if not parcels.exists():
        make_parcels(parcels, n, n_parcels)
    s_ee, _, m_ee, _ = _best(_py("exactextract", slope=str(slope8k), parcels=str(parcels)), repeat)
    s_land, _, m_land, info = _best(_py("land", slope=str(slope8k), parcels=str(parcels)), repeat)
    rows.append(f"| zonal, {n_parcels:,} parcels: Anzhi land step | {s_land:.1f} s | {m_land:,.0f} MiB "
                f"| exactextract `mean` raster-sequential {s_ee:.1f} s | {m_ee:,.0f} MiB | **{s_land / s_ee:.2f}** |")
    if rasterstats:
        s_rs, _, m_rs, _ = _best(_py("rasterstats", slope=str(slope8k), parcels=str(parcels)), 1)
        rows.append(f"| zonal, {n_parcels:,} parcels: Anzhi land step | {s_land:.1f} s | {m_land:,.0f} MiB "
                    f"| rasterstats `mean` {s_rs:.1f} s | {m_rs:,.0f} MiB | **{s_land / s_rs:.2f}** |")
    notes.append(f"Land step result: {info.get('n')} parcels, {info.get('area_gt25_km2', 0):.2f} km² > 25°.")
    notes.append("The 20,000 × 20,000 run is optional (`--big`: it adds about 5 minutes on 2 cores, "
                 "generating the DEM included, and ~4 GB of disk)"
                 + ("." if big else "; it was not part of this run."))
    body = (
        "Synthetic float32 DEM in EPSG:4542 (30 m, 512² tiles, deflate). Slope: both tools read the "
        "same file and write a tiled deflate (level 1) float32 GeoTIFF with `NUM_THREADS=ALL_CPUS`; "
        "time is I/O included (Anzhi: `layers.terrain.write_slope` inside its process; the process "
        "column adds interpreter start-up and imports). Peak memory is the maximum RSS of the measured "
        "process alone (fresh process per run). Best of "
        f"{repeat} runs except rasterstats and the big DEM (1 run). Zonal: 20,000 random parcels of "
        "40–200 m (some overlap) on the 8,000² slope raster; the Anzhi land step is slope classes + "
        "ellipsoidal area per class per parcel (exactextract area-weighted class fractions, window by "
        "window) + parcel "
        "table + village roll-up, parcels already read.\n\n"
        "| run | Anzhi | Anzhi peak | peer | peer peak | ratio Anzhi/peer |\n"
        "|---|---|---|---|---|---|\n" + "\n".join(rows) + "\n\n" + "\n".join(f"- {x}" for x in notes)
    )
    return body


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.bench_terrain", description=__doc__.split("\n")[0])
    p.add_argument("--big", action="store_true", help="also run the 20,000 × 20,000 DEM")
    p.add_argument("--repeat", type=int, default=2, help="runs per measurement (best is kept)")
    p.add_argument("--work", type=Path, default=None, help="folder for the generated data (kept)")
    p.add_argument("--size", type=int, default=8000, help="DEM size of the main run (default 8000)")
    p.add_argument("--parcels-count", type=int, default=20_000)
    p.add_argument("--no-write", action="store_true", help="print, do not update docs/benchmarks.md")
    p.add_argument("--no-rasterstats", action="store_true", help="skip the (slow) rasterstats peer")
    p.add_argument("--child", default=None, help=argparse.SUPPRESS)
    p.add_argument("--dem", default=None, help=argparse.SUPPRESS)
    p.add_argument("--out", default=None, help=argparse.SUPPRESS)
    p.add_argument("--slope", default=None, help=argparse.SUPPRESS)
    p.add_argument("--parcels", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        args.step = args.child
        _child(args)
        return 0
    work = args.work or Path(tempfile.gettempdir()) / "anzhi-bench-terrain"
    work.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("ANZHI_CACHE_DIR", str(work / "cache"))
    body = run(big=args.big, repeat=args.repeat, work=work, n=args.size, n_parcels=args.parcels_count,
               rasterstats=not args.no_rasterstats)
    publish("terrain", body, command="python -m bench.bench_terrain" + (" --big" if args.big else ""),
            write=not args.no_write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
