"""The synthetic demo county (SYNTHETIC DATA, not a real survey).

:func:`build_demo` writes a deterministic, seeded county of mountain relief, roads,
relocation sites, facilities, township polygons and out-migration land parcels, placed at a
real location near Shidian, Yunnan (≈ 99.2°E, 24.7°N).  It is the data ``make run`` shows and
``anzhi gaps --demo`` analyses; benchmarks grow it to prefecture size through the same
parameters (``size_km``, ``res_m``, ``n_sites``).

Files written into the demo folder (every one labelled synthetic):

``dem.tif``
    Float32 GeoTIFF in CGCS2000 / 3-degree Gauss-Krüger CM 99°E (EPSG:4542), elevations in
    metres, nodata -9999, tiled 256 × 256, deflate.  Relief: a drawn river network (main
    river, tributaries, gullies) whose valleys are carved as cones of valley-side slope into
    the land, with flat valley floors and basins (坝子), capped ridges, and fractal gradient
    noise whose amplitude grows with height above the valley floor.  A void of a few
    pixels (nodata) sits near the north-east corner.
``roads.osm``
    OSM XML 0.6: trunk through the main valley and the county town, primary to other county
    seats, secondary/tertiary to township seats, unclassified to villages and sites,
    residential street grids, track/path to upland hamlets, all laid by least-cost paths over
    a coarsened DEM (slope cost, scipy Dijkstra), sharing nodes where they meet.  Also a few
    buildings, one farmland polygon, one pedestrian square (``area=yes``), and one isolated
    track near one site.
``sites.xlsx``
    Relocation sites with Chinese headers and GCJ-02 coordinates; sheet ``说明`` says the
    data are synthetic.  ``sites_truth.csv`` holds the true WGS84 positions.
``facilities.gpkg``, ``townships.gpkg``, ``parcels.gpkg``
    EPSG:4326 layers ``facilities``, ``townships``, ``parcels``.
``README.txt``, ``manifest.json``
    Description, parameters and the sha256 of every file; ``manifest.json`` is written last.

The same parameters and seed give byte-identical files.

The package builds it in steps on one shared :class:`~layers.demo.county.County`:
``county`` (constants, parameters, routing grid) → ``terrain`` (rivers, relief; ``noise``)
→ ``settlements`` → ``roads`` → ``sites`` → ``facilities`` → ``land`` (parcels), then the
writers ``dem``, ``roads``, ``sites`` and ``outputs`` (GeoPackages, README, manifest);
``folder`` holds :class:`DemoPaths` and the folder handling.  All steps draw from one seeded
generator, so their order (:func:`write_county`) is part of the output.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
import uuid
from pathlib import Path

from anzhi.core.errors import InputError
from anzhi.core.settings import get_settings
from layers.demo.county import DEMO_CRS, DEMO_VERSION, FILES, County
from layers.demo.dem import write_dem
from layers.demo.facilities import place_facilities
from layers.demo.folder import (
    DemoPaths,
    check_params,
    default_demo_dir,
    install,
    is_complete,
    is_demo_folder,
)
from layers.demo.land import place_parcels
from layers.demo.outputs import write_gpkgs, write_manifest, write_readme
from layers.demo.roads import build_ways, lay_roads, write_osm
from layers.demo.settlements import place_settlements
from layers.demo.sites import place_sites, write_sites

__all__ = ["DEMO_VERSION", "DEMO_CRS", "DemoPaths", "build_demo", "default_demo_dir"]

log = logging.getLogger(__name__)


def build_demo(
    out_dir: str | Path | None = None,
    *,
    seed: int | None = None,
    size_km: float = 40.0,
    res_m: float = 30.0,
    n_sites: int = 60,
    force: bool = False,
) -> DemoPaths:
    """Build (or reuse) the synthetic demo county.

    Parameters
    ----------
    out_dir
        Folder to write.  Default :func:`default_demo_dir` for these parameters.  If it
        already holds a complete demo (a ``manifest.json`` whose files all exist) and
        ``force`` is false, it is returned at once.  Files are written into a temporary
        sibling folder that is renamed into place, so a half-built demo is never visible.
    seed
        Random seed; default ``get_settings().demo_seed``.  Same parameters and seed give
        byte-identical files.
    size_km
        Side of the square area in km (default 40 km, i.e. 1,600 km²).
    res_m
        DEM pixel size in metres (default 30 m).
    n_sites
        Number of relocation sites (default 60).
    force
        Rebuild even if a complete demo is present.

    Returns
    -------
    DemoPaths
        Paths of the files.

    Raises
    ------
    InputError
        Bad parameters, or ``out_dir`` exists, is not empty and is not a demo folder.
    """
    s = get_settings()
    if seed is None:
        seed = s.demo_seed
    check_params(seed=seed, size_km=size_km, res_m=res_m, n_sites=n_sites)
    root = (
        Path(out_dir)
        if out_dir is not None
        else default_demo_dir(seed=seed, size_km=size_km, res_m=res_m, n_sites=n_sites)
    )
    paths = DemoPaths.at(root)
    if not force and is_complete(root):
        return paths
    if root.exists() and not root.is_dir():
        raise InputError(
            f"demo output {root} exists and is a file; choose a folder path or remove the file"
        )
    if root.is_dir() and any(root.iterdir()) and not is_demo_folder(root):
        raise InputError(
            f"demo output folder {root} is not empty and holds no demo county "
            "(no manifest.json); choose an empty or new folder"
        )
    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = root.parent / f".{root.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    t0 = time.perf_counter()
    try:
        write_county(tmp, seed=int(seed), size_km=float(size_km), res_m=float(res_m),
                     n_sites=int(n_sites))
        install(tmp, root, force=force)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    log.info("demo county built in %.1f s: %s", time.perf_counter() - t0, root)
    return paths


def write_county(out: Path, *, seed: int, size_km: float, res_m: float, n_sites: int) -> None:
    """Model the county and write its files into the (empty) folder ``out``.

    The steps share one seeded generator: their order is part of the output (bump
    :data:`DEMO_VERSION` if it changes).  ``manifest.json`` is written last.
    """
    t = time.perf_counter()
    county = County.model(seed=seed, size_km=size_km, res_m=res_m, n_sites=n_sites)
    place_settlements(county)
    lay_roads(county)
    build_ways(county)
    place_sites(county)
    place_facilities(county)
    place_parcels(county)
    log.debug("demo model %.2f s", time.perf_counter() - t)
    write_dem(county, out / FILES["dem"])
    write_osm(county, out / FILES["roads"])  # draws the buildings and squares too
    write_sites(county, out / FILES["sites"], out / FILES["sites_truth"])
    write_gpkgs(county, out)
    write_readme(county, out / FILES["readme"])
    write_manifest(county, out)
