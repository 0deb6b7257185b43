"""The demo folder: its paths, its default place, parameter checks and atomic installation."""

from __future__ import annotations

import json
import math
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from anzhi.core.errors import ProblemCollector
from anzhi.core.settings import get_settings
from layers.demo.county import DEMO_VERSION, FILES, GENERATOR, MANIFEST

__all__ = ["DemoPaths", "check_params", "default_demo_dir", "install", "is_complete",
           "is_demo_folder", "read_manifest"]


@dataclass(frozen=True)
class DemoPaths:
    """Paths of one built demo county.

    Attributes
    ----------
    root
        The demo folder.
    dem
        ``dem.tif``: elevation in metres, EPSG:4542, nodata -9999.
    roads
        ``roads.osm``: OSM XML road network (WGS84).
    sites
        ``sites.xlsx``: relocation sites, Chinese headers, GCJ-02 coordinates.
    facilities, townships, parcels
        GeoPackages (EPSG:4326) with layers ``facilities``, ``townships``, ``parcels``.
    manifest
        ``manifest.json``: parameters and sha256 of every file (written last).
    county
        Name of the (first) county, ``施甸县``.
    """

    root: Path
    dem: Path
    roads: Path
    sites: Path
    facilities: Path
    townships: Path
    parcels: Path
    manifest: Path
    county: str = "施甸县"

    @property
    def sites_truth(self) -> Path:
        """``sites_truth.csv``: true WGS84 positions of the sites (site_id, lon, lat)."""
        return self.root / FILES["sites_truth"]

    @property
    def readme(self) -> Path:
        """``README.txt``: what the demo is and what it deliberately contains."""
        return self.root / FILES["readme"]

    @classmethod
    def at(cls, root: str | Path, county: str = "施甸县") -> DemoPaths:
        """The paths of a demo folder ``root`` (whether or not it is built)."""
        r = Path(root)
        return cls(
            root=r,
            dem=r / FILES["dem"],
            roads=r / FILES["roads"],
            sites=r / FILES["sites"],
            facilities=r / FILES["facilities"],
            townships=r / FILES["townships"],
            parcels=r / FILES["parcels"],
            manifest=r / MANIFEST,
            county=county,
        )


def default_demo_dir(
    *, seed: int | None = None, size_km: float = 40.0, res_m: float = 30.0, n_sites: int = 60
) -> Path:
    """Default folder of a demo county: ``<cache_dir>/demo/v<version>-s<seed>-<size>km-<res>m-<n>``.

    Parameters are those of :func:`~layers.demo.build_demo`; ``seed=None`` means
    ``get_settings().demo_seed``.
    """
    s = get_settings()
    if seed is None:
        seed = s.demo_seed
    name = f"v{DEMO_VERSION}-s{seed}-{size_km:g}km-{res_m:g}m-{n_sites}"
    return Path(s.cache_dir) / "demo" / name


def check_params(*, seed: Any, size_km: Any, res_m: Any, n_sites: Any) -> None:
    """Refuse bad :func:`~layers.demo.build_demo` parameters, all problems listed at once.

    Raises
    ------
    InputError
        A parameter is of the wrong type or out of range, or the DEM would be smaller than
        64 or larger than 200,000 pixels across.
    """
    pc = ProblemCollector(file="build_demo")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or int(seed) < 0:
        pc.add("seed must be a non-negative integer", column="seed", value=seed,
               fix="pass e.g. seed=20210601")
    ok_num = True
    for name, v in (("size_km", size_km), ("res_m", res_m)):
        if isinstance(v, bool) or not isinstance(v, (int, float, np.number)) or not math.isfinite(
            float(v)
        ) or float(v) <= 0:
            pc.add(f"{name} must be a positive number", column=name, value=v,
                   fix=f"pass e.g. {name}={40.0 if name == 'size_km' else 30.0}")
            ok_num = False
    if ok_num:
        n_px = float(size_km) * 1000.0 / float(res_m)
        if n_px < 64:
            pc.add(f"the DEM would be only {n_px:.0f} pixels wide", column="size_km/res_m",
                   value=(size_km, res_m), fix="use size_km * 1000 / res_m >= 64")
        if n_px > 200_000:
            pc.add(f"the DEM would be {n_px:.0f} pixels wide", column="size_km/res_m",
                   value=(size_km, res_m), fix="use size_km * 1000 / res_m <= 200,000")
        if float(size_km) < 4:
            pc.add("size_km must be at least 4 km", column="size_km", value=size_km,
                   fix="pass size_km >= 4")
    if isinstance(n_sites, bool) or not isinstance(n_sites, (int, np.integer)) or int(n_sites) < 1:
        pc.add("n_sites must be a positive integer", column="n_sites", value=n_sites,
               fix="pass e.g. n_sites=60")
    pc.raise_if_any()


def read_manifest(root: Path) -> dict[str, Any] | None:
    """The parsed ``manifest.json`` of folder ``root``; None if missing or unreadable."""
    try:
        data = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def is_demo_folder(root: Path) -> bool:
    """True if ``root`` holds a manifest written by this generator."""
    m = read_manifest(root)
    return m is not None and m.get("generator") == GENERATOR


def is_complete(root: Path) -> bool:
    """True if ``root`` holds a demo manifest and every file it lists."""
    m = read_manifest(root)
    if m is None or m.get("generator") != GENERATOR:
        return False
    files = m.get("files", {})
    return bool(files) and all((root / name).is_file() for name in files)


def install(tmp: Path, root: Path, *, force: bool) -> None:
    """Move the finished ``tmp`` folder to ``root`` (atomic rename)."""
    old: Path | None = None
    if root.exists():
        if is_complete(root) and not force:
            return  # another process finished first
        old = root.parent / f".{root.name}.old-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        os.replace(root, old)
    try:
        os.replace(tmp, root)
    except OSError:
        if is_complete(root):  # lost a race to a concurrent build
            return
        raise
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
