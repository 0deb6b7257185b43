"""One typed settings object for Anzhi (CONVENTIONS.md §8).

Settings are read at call time through :func:`get_settings`; tests and callers override
them temporarily with :func:`override`, which refuses unknown keys.  Nothing else in Anzhi
keeps module-level mutable state, so a county can be run in any process (Dask-friendly).
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from anzhi.core.errors import InputError

__all__ = ["Settings", "get_settings", "override"]


def _default_cache_dir() -> Path:
    env = os.environ.get("ANZHI_CACHE_DIR")
    if env:
        return Path(env)
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "anzhi"


@dataclass(frozen=True)
class Settings:
    """Every tunable of Anzhi, with its unit and default.

    Attributes
    ----------
    max_snap_dist_m
        Sites or facilities farther than this from any road (metres) are reported as
        ``no_road_nearby`` instead of being routed.  Default 2,000 m.
    walk_speed_kph
        Walking speed on flat ground, km/h, used for the off-road leg from a site to the
        road and for the ``walk`` profile.  Default 4.5 km/h.
    at_site_radius_m
        A facility within this straight-line distance (metres) of a site counts as *at the
        site*.  Default 300 m.
    cache_dir
        Folder for cached road graphs and the generated demo county.  Default
        ``$ANZHI_CACHE_DIR`` or ``~/.cache/anzhi``.
    demo_seed
        Seed of the synthetic demo county.  Default 20210601.
    progress
        Show progress bars on long work.  Default True.
    max_site_population
        Largest population (and household or children count) of one site; a larger cell is
        refused as implausible (it would also overflow an integer).  Default 1,000,000.
    max_raster_pixels
        Largest DEM read, in pixels (width × height).  Default 10⁹: a 300 km × 300 km county
        at 10 m, several times any county's DEM; a file declaring more (a sparse GeoTIFF of
        200,000 × 200,000 px is 1.8 MB) is refused before any pixel is read.
    max_decompressed_bytes
        Largest size, in bytes, a compressed input (``.osm.bz2``, ``.osm.gz``, the sheet of an
        ``.xlsx``) may expand to.  Default 4 GiB: a province's OSM XML is 2–3 GB, a county's
        a few hundred MB; an 884-byte ``.osm.bz2`` declaring 400 MB of whitespace is refused
        as soon as the count passes the limit.
    max_rules_file_bytes
        Largest ``--rules`` YAML file, in bytes.  Default 1,000,000 (the packaged rule sets
        are 4–12 kB).
    max_yaml_nodes
        Largest number of YAML nodes of a rules file *with every alias expanded* (an alias
        bomb of 9 levels is 10⁹ nodes in a few hundred bytes).  Default 100,000 (the default
        rule set has about 600).
    max_rules
        Largest number of rules in one rule set.  Default 1,000 (the default set has 18).
    max_table_rows
        Largest number of rows of a site or facility table (sheet, csv or layer).  Default
        1,000,000 (a province has some 10,000 relocation sites).
    xlsx_type_sheets_max_rows
        ``gaps.xlsx`` has a sheet per facility type (each repeating that type's rows of the
        gap list) while the gap list has at most this many rows; beyond it they are left out
        (said on the summary sheet: the gap list's filter does the same) so that a table of
        100,000 sites is written once, not twice.  Default 200,000 (25,000 sites × 8 rules).
    """

    max_snap_dist_m: float = 2000.0
    walk_speed_kph: float = 4.5
    at_site_radius_m: float = 300.0
    cache_dir: Path = field(default_factory=_default_cache_dir)
    demo_seed: int = 20210601
    progress: bool = True
    max_raster_pixels: int = 1_000_000_000
    max_site_population: int = 1_000_000
    max_decompressed_bytes: int = 4 * 2**30
    max_rules_file_bytes: int = 1_000_000
    max_yaml_nodes: int = 100_000
    max_rules: int = 1_000
    max_table_rows: int = 1_000_000
    xlsx_type_sheets_max_rows: int = 200_000


_current: contextvars.ContextVar[Settings | None] = contextvars.ContextVar(
    "anzhi_settings", default=None
)


def get_settings() -> Settings:
    """Return the settings in force now."""
    s = _current.get()
    return s if s is not None else Settings()


@contextlib.contextmanager
def override(**changes: Any) -> Iterator[Settings]:
    """Temporarily change settings; unknown keys raise :class:`~anzhi.core.errors.InputError`.

    Examples
    --------
    >>> with override(max_snap_dist_m=500):
    ...     get_settings().max_snap_dist_m
    500
    """
    known = {f.name for f in dataclasses.fields(Settings)}
    unknown = sorted(set(changes) - known)
    if unknown:
        raise InputError(
            f"unknown setting(s) {', '.join(unknown)}; known settings are {', '.join(sorted(known))}"
        )
    new = dataclasses.replace(get_settings(), **changes)
    token = _current.set(new)
    try:
        yield new
    finally:
        _current.reset(token)
