"""Files of a province run: the manifest, the per-county results cache and the merged outputs.

A province is a list of counties, each an ordinary region (issue 15).  This module is the
file side of it; the Dask driver that runs the counties is :mod:`anzhi.province` (nothing
here knows about Dask).

``manifest.yaml``
    ``name`` (text), ``buffer_km`` (kilometres, default 10) and ``counties``, in one of two
    forms.  *County folders*: a list of ``{name, sites, roads, facilities: [...], dem?,
    parcels?, townships?, coords?, facility_coords?, crs?, prefecture?}``, each county's
    files used as they are (``buffer_km`` is only recorded: a county's own files are
    whatever its office cut).  *Split form*: ``counties: counties.gpkg`` (polygons with a
    name and optional prefecture column; ``county_column``/``prefecture_column`` name
    them) with the province's ``sites``, ``roads`` (one large ``.osm.pbf``/``.osm``/
    ``.osm.bz2``) and ``facilities`` (and optional ``dem``, ``parcels``, ``townships``,
    ``coords``, ``facility_coords``, ``crs``) at the top level; :func:`resolve_split` cuts
    it into county folders with ``buffer_km`` (:mod:`layers.split`), cached by content in
    ``<cache_dir>/province/split/``.  Paths are relative to the manifest's folder, so a
    province folder can be moved or zipped.  :func:`read_manifest` checks the structure
    and lists every problem at once (file, county, key); the files themselves are checked
    per county (:func:`county_cache_key`), so one county's missing file fails that county
    only.
Results cache
    ``<cache_dir>/province/v<CACHE_VERSION>/<key>/``: ``gaps.parquet``, ``coverage.parquet``,
    ``access.parquet``, ``sites.parquet`` (GeoParquet: the site points of ``gaps.gpkg``) and
    ``meta.json`` of one county, keyed by the SHA-256 of the county's
    input files, the effective rule set, the travel profile and the settings that change a
    result (:func:`county_cache_key`).  An entry is written into a temporary folder and
    renamed into place, so it is whole or absent; the county's name is not part of the key
    (a renamed county reuses its entry) and neither is the output folder.
Outputs (:func:`write_province`)
    ``gaps.csv``, ``gaps.xlsx``, ``coverage.csv`` and ``access.csv`` through
    :func:`layers.export.write_outputs` (the single-region schemas and formatting), with the
    ``county`` column holding the manifest's county name and a leading ``county`` column in
    ``access.csv``; ``coverage.csv`` has the levels ``province``, ``county`` and
    ``township``, and ``prefecture`` (with a ``prefecture`` column) when the counties name
    their prefecture; ``report.csv`` has one row per county (:data:`REPORT_COLUMNS`);
    ``gaps.gpkg`` (and with ``parquet`` ``gaps.parquet`` / ``sites.parquet``) as a county
    run's, ``county`` the manifest's name (:mod:`layers.provout`).  All of them are
    committed in one folder write (:func:`layers.provout.write_province_folder`).
Generated province
    :func:`write_demo_province` (defined in :mod:`layers.split`): one demo region cut into
    counties that share borders, with both manifest forms.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import yaml

from analysis.coverage import coverage_table
from analysis.gaps import GAPS_COLUMNS
from analysis.rules import RuleSet
from anzhi.core.errors import DataSourceError, InputError, ProblemCollector
from anzhi.core.files import atomic_write, file_sha256
from anzhi.core.settings import Settings, get_settings
from layers.export import ACCESS_COLUMNS, csv_safe, whole_counts
from layers.provout import merge_sites, site_points, write_province_folder
from layers.split import (DEFAULT_BUFFER_KM, MANIFEST_NAME, SPLIT_VERSION, SplitSource,
                          cached_split, write_demo_province)

__all__ = [
    "CACHE_VERSION", "COUNTY_KEYS", "CountyResults", "CountySpec", "DEFAULT_BUFFER_KM",
    "MANIFEST_NAME", "Manifest", "REPORT_COLUMNS", "county_cache_key", "load_cached",
    "merge_access", "merge_gaps", "province_cache_dir", "province_coverage", "read_manifest",
    "store_cached", "write_demo_province", "write_province", "write_report",
    "SPLIT_KEYS", "resolve_split", "split_cache_key",
]

#: Version of the cache entries' layout; bump when what a county stores changes.
CACHE_VERSION = 3
#: Keys of one county in the manifest: required, then optional.
COUNTY_KEYS: tuple[str, ...] = ("name", "sites", "roads", "facilities", "dem", "parcels",
                                "townships", "coords", "facility_coords", "crs", "prefecture")
_REQUIRED = ("name", "sites", "roads")
_PATH_KEYS = ("sites", "roads", "dem", "parcels", "townships")
_TEXT_KEYS = ("coords", "facility_coords", "crs")
_TOP_KEYS = ("name", "buffer_km", "counties")
#: Further top-level keys of the split form (``counties:`` a polygon file).
SPLIT_KEYS: tuple[str, ...] = ("sites", "roads", "facilities", "dem", "parcels", "townships",
                               "coords", "facility_coords", "crs", "county_column",
                               "prefecture_column")
#: Largest manifest read, in bytes (a 100-county manifest is some 20 kB).
_MAX_MANIFEST_BYTES = 5_000_000
#: Columns of ``report.csv``: ``status`` is ``ok``, ``cached`` or ``error``; ``time_s`` the
#: county's time in this run (s); ``sites`` its site count; ``unroutable`` the sites with at
#: least one unroutable check; ``error`` the message (no traceback).
#: ``facilities`` the facilities in the county (split form: in its polygon, so a facility
#: in two counties' buffers is counted once; manifest form: those its run read).
REPORT_COLUMNS: tuple[str, ...] = ("county", "prefecture", "status", "time_s", "sites",
                                   "unroutable", "facilities", "error")
#: Settings that never change a county's result (left out of the cache key).
_NOT_IN_KEY = ("cache_dir", "progress", "demo_seed")


@dataclass(frozen=True)
class CountySpec:
    """One county of a manifest, its paths resolved against the manifest's folder.

    Attributes
    ----------
    name
        The county's name in the manifest (the ``county`` column of the province outputs).
    sites, roads
        Site table and OSM road file.
    facilities
        Facility layers (may be empty).
    dem, parcels, townships
        Optional DEM GeoTIFF, out-migration parcels and township polygons.
    coords, facility_coords, crs
        As :class:`anzhi.pipeline.RegionInputs`.
    prefecture
        The prefecture (地级市/州) the county belongs to, for the ``prefecture`` level of
        ``coverage.csv``; None when not given.
    own_facilities
        Facilities inside the county's polygon (set by the split form), else None.
    """

    name: str
    sites: Path
    roads: Path
    facilities: tuple[Path, ...] = ()
    dem: Path | None = None
    parcels: Path | None = None
    townships: Path | None = None
    coords: str | None = None
    facility_coords: str | None = None
    crs: str | None = None
    prefecture: str | None = None
    own_facilities: int | None = None

    def files(self) -> list[tuple[str, Path]]:
        """``(manifest key, path)`` of every input file, facilities numbered
        (``facilities[0]``...)."""
        out = [("sites", self.sites), ("roads", self.roads)]
        out += [(f"facilities[{i}]", p) for i, p in enumerate(self.facilities)]
        out += [(k, p) for k in ("dem", "parcels", "townships")
                if (p := getattr(self, k)) is not None]
        return out


@dataclass(frozen=True)
class Manifest:
    """A province manifest (:func:`read_manifest`).

    Attributes
    ----------
    path
        The manifest file.
    name
        The province's (or prefecture's) name.
    buffer_km
        Buffer around each county, km.
    counties
        The counties, in manifest order (empty for the split form until
        :func:`resolve_split`).
    split
        The split form's inputs (``counties:`` a polygon file), else None.
    shared
        Split form: the optional files every county uses whole (``dem``, ``parcels``,
        ``townships``), key -> path.
    """

    path: Path
    name: str
    buffer_km: float
    counties: tuple[CountySpec, ...]
    split: SplitSource | None = None
    shared: Mapping[str, Path] = dataclasses.field(default_factory=dict)

    def select(self, names: Sequence[str] | None) -> Manifest:
        """Only the counties named (in manifest order); all when ``names`` is empty/None.

        Raises
        ------
        InputError
            A name that is not a county of the manifest (the known names are listed).
        """
        if not names:
            return self
        if self.split is not None and not self.counties:
            raise InputError(f"{self.path.name}: split the province first (resolve_split)")
        known = [c.name for c in self.counties]
        unknown = [n for n in names if n not in known]
        if unknown:
            raise InputError(f"{self.path.name}: no county named "
                             f"{', '.join(map(repr, unknown))} (--county); the manifest's "
                             f"counties are {', '.join(known)}")
        wanted = set(names)
        return dataclasses.replace(self, counties=tuple(c for c in self.counties
                                                        if c.name in wanted))


# --------------------------------------------------------------------------------------
# The manifest
# --------------------------------------------------------------------------------------


def _load_yaml(path: Path) -> Any:
    if not path.is_file():
        raise DataSourceError(f"province manifest {path} does not exist or is not a file; "
                              "check the path (anzhi demo --province N --out DIR writes one)")
    try:
        size = path.stat().st_size
        if size > _MAX_MANIFEST_BYTES:
            raise InputError(f"{path.name}: {size:,} bytes is too large for a manifest "
                             f"(at most {_MAX_MANIFEST_BYTES:,}); list the counties' files, "
                             "not their data")
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataSourceError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start}); "
                              "save the manifest as UTF-8") from exc
    except OSError as exc:
        raise DataSourceError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise InputError(f"{path.name}: YAML syntax error{where}: {problem}; fix the manifest "
                         "(see anzhi demo --province for an example)") from None


def _county(raw: Any, i: int, root: Path, pc: ProblemCollector) -> CountySpec | None:
    """One ``counties`` entry checked; problems go to ``pc``."""
    where = f"counties[{i}]"
    n_before = len(pc.problems)
    if not isinstance(raw, Mapping):
        pc.add(f"{where} must be a mapping with keys name, sites, roads, facilities",
               column=where, value=raw)
        return None
    name = raw.get("name")
    label = f"county {name!r}" if isinstance(name, str) and name.strip() else where
    for key in sorted(set(map(str, raw)) - set(COUNTY_KEYS)):
        pc.add(f"{label}: unknown key {key!r}", column=key,
               fix=f"a county has the keys {', '.join(COUNTY_KEYS)}")
    for key in _REQUIRED:
        v = raw.get(key)
        if not isinstance(v, str) or not v.strip():
            pc.add(f"{label}: key {key!r} is missing or not text", column=key, value=v,
                   fix=f"give {key}: " + ("the county's name" if key == "name" else
                                          "a path relative to the manifest"))
    for key in (*_PATH_KEYS[2:], *_TEXT_KEYS):
        v = raw.get(key)
        if v is not None and (not isinstance(v, str) or not v.strip()):
            pc.add(f"{label}: key {key!r} must be text", column=key, value=v)
    fac = raw.get("facilities", [])
    fac = [fac] if isinstance(fac, str) else fac
    if not isinstance(fac, list) or not all(isinstance(f, str) and f.strip() for f in fac):
        pc.add(f"{label}: key 'facilities' must be a list of paths", column="facilities",
               value=raw.get("facilities"), fix="write facilities: [facilities.gpkg]")
        fac = []
    pref = raw.get("prefecture")
    if pref is not None and (not isinstance(pref, str) or not pref.strip()):
        pc.add(f"{label}: key 'prefecture' must be text", column="prefecture", value=pref)
    if len(pc.problems) > n_before:
        return None

    def path(key: str) -> Path | None:
        v = raw.get(key)
        return None if v is None else (root / str(v)).absolute()

    def text(key: str) -> str | None:
        v = raw.get(key)
        return None if v is None else str(v).strip()

    sites, roads = path("sites"), path("roads")
    assert sites is not None and roads is not None  # checked above
    return CountySpec(name=str(name).strip(), sites=sites, roads=roads,
                      facilities=tuple((root / f).absolute() for f in fac),
                      dem=path("dem"), parcels=path("parcels"), townships=path("townships"),
                      prefecture=None if pref is None else str(pref).strip(),
                      coords=text("coords"), facility_coords=text("facility_coords"),
                      crs=text("crs"))


def _split_source(data: Mapping[str, Any], root: Path,
                  pc: ProblemCollector) -> tuple[SplitSource | None, dict[str, Path]]:
    """The split form's keys checked (``counties:`` a polygon file); problems go to ``pc``."""
    n_before = len(pc.problems)
    for key in ("sites", "roads"):
        v = data.get(key)
        if not isinstance(v, str) or not v.strip():
            pc.add(f"key {key!r} is missing or not text (needed when 'counties' is a polygon "
                   "file)", column=key, value=v, fix=f"give {key}: a path relative to the "
                   "manifest")
    for key in (*SPLIT_KEYS[3:],):
        v = data.get(key)
        if v is not None and (not isinstance(v, str) or not v.strip()):
            pc.add(f"key {key!r} must be text", column=key, value=v)
    fac = data.get("facilities", [])
    fac = [fac] if isinstance(fac, str) else fac
    if not isinstance(fac, list) or not all(isinstance(f, str) and f.strip() for f in fac):
        pc.add("key 'facilities' must be a list of paths", column="facilities",
               value=data.get("facilities"), fix="write facilities: [facilities.gpkg]")
    if len(pc.problems) > n_before:
        return None, {}

    def text(key: str) -> str | None:
        v = data.get(key)
        return None if v is None else str(v).strip()

    src = SplitSource(
        counties=(root / str(data["counties"])).absolute(),
        sites=(root / str(data["sites"])).absolute(), roads=(root / str(data["roads"])).absolute(),
        facilities=tuple((root / f).absolute() for f in fac),
        name_column=text("county_column"), prefecture_column=text("prefecture_column"),
        coords=text("coords"), facility_coords=text("facility_coords"), crs=text("crs"))
    shared = {k: (root / str(data[k])).absolute() for k in ("dem", "parcels", "townships")
              if data.get(k) is not None}
    return src, shared


def read_manifest(path: str | Path) -> Manifest:
    """Read and check a province manifest (``manifest.yaml``).

    Parameters
    ----------
    path
        The manifest file.  County paths are taken relative to its folder.

    Returns
    -------
    Manifest

    Raises
    ------
    DataSourceError
        The file is missing or unreadable.
    InputError
        YAML syntax (with its line), or every structural problem at once: a missing or
        non-text ``name``, ``buffer_km`` not a number ≥ 0, ``counties`` missing or empty, a
        county without ``name``/``sites``/``roads``, unknown keys, duplicate county names.
        Each problem names the file, the county and the key.

    Notes
    -----
    The *split form*: ``counties`` is a polygon file (GeoPackage/GeoJSON with a name
    column; ``county_column``/``prefecture_column`` name the columns when they are not
    ``name``/``prefecture``), and the top level gives ``sites``, ``roads``, ``facilities``
    (and optionally ``dem``, ``parcels``, ``townships``, ``coords``, ``facility_coords``,
    ``crs``) for the whole province; :func:`resolve_split` cuts it into counties with
    ``buffer_km``.
    """
    p = Path(path).expanduser().absolute()
    data = _load_yaml(p)
    pc = ProblemCollector(file=p.name)
    if not isinstance(data, Mapping):
        pc.add("a manifest is a mapping with keys name, buffer_km, counties", value=data)
        pc.raise_if_any()
    assert isinstance(data, Mapping)
    split_form = isinstance(data.get("counties"), str)
    allowed = (*_TOP_KEYS, *SPLIT_KEYS) if split_form else _TOP_KEYS
    for key in sorted(set(map(str, data)) - set(allowed)):
        pc.add(f"unknown key {key!r}", column=key,
               fix=f"the keys are {', '.join(allowed)}" + (
                   "" if split_form else f" (with counties: a polygon file also "
                                         f"{', '.join(SPLIT_KEYS)})"))
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        pc.add("key 'name' is missing or not text", column="name", value=name,
               fix="give name: the province's or prefecture's name")
    buffer = data.get("buffer_km", DEFAULT_BUFFER_KM)
    if isinstance(buffer, bool) or not isinstance(buffer, (int, float)) or not buffer >= 0:
        pc.add("key 'buffer_km' must be a number of kilometres ≥ 0", column="buffer_km",
               value=buffer, fix=f"e.g. buffer_km: {DEFAULT_BUFFER_KM:g}")
    raw_counties = data.get("counties")
    counties: list[CountySpec] = []
    split, shared = (_split_source(data, p.parent, pc) if split_form else (None, {}))
    if split_form:
        pass  # the counties come from the polygon file (resolve_split)
    elif not isinstance(raw_counties, list) or not raw_counties:
        pc.add("key 'counties' must be a non-empty list or a polygon file", column="counties",
               value=raw_counties, fix="list the counties: - {name, sites, roads, facilities}, "
                                       "or give counties: counties.gpkg with sites and roads")
    else:
        for i, raw in enumerate(raw_counties):
            spec = _county(raw, i, p.parent, pc)
            if spec is not None:
                counties.append(spec)
    seen: set[str] = set()
    for c in counties:
        if c.name in seen:
            pc.add(f"county {c.name!r} is listed twice", column="name", value=c.name,
                   fix="give every county its own name")
        seen.add(c.name)
    pc.raise_if_any()
    return Manifest(path=p, name=str(name).strip(), buffer_km=float(buffer),
                    counties=tuple(counties), split=split, shared=shared)


def _file_hashes(files: Iterable[tuple[str, Path]], pc: ProblemCollector, *, who: str
                 ) -> list[str]:
    """``key=sha256`` of each input file of a cache key; a missing file is a problem."""
    parts = []
    for key, p in files:
        if not p.is_file():
            pc.add(f"{who}{key}: file {p} does not exist", column=key,
                   fix="correct the path (relative to the manifest) or add the file")
            continue
        parts.append(f"{key.split('[')[0]}={file_sha256(p)}")
    return parts


def split_cache_key(man: Manifest, buffer_km: float) -> str:
    """The content key of a split-form province's county split (hex SHA-256): its files'
    SHA-256, the column and coordinate options, the buffer and :data:`SPLIT_VERSION`.

    Raises
    ------
    InputError
        An input file is missing (naming the manifest, the key and the path).
    """
    assert man.split is not None
    src = man.split
    pc = ProblemCollector(file=man.path.name)
    parts = [f"split-v{SPLIT_VERSION}", f"buffer_km={float(buffer_km)!r}",
             *_file_hashes(src.files(), pc, who="")]
    pc.raise_if_any()
    parts += [f"{k}={getattr(src, k)}" for k in ("name_column", "prefecture_column", "coords",
                                                  "facility_coords", "crs")]
    return hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()


def resolve_split(man: Manifest, *, buffer_km: float | None = None,
                  settings: Settings | None = None,
                  progress: bool = False) -> tuple[Manifest, pd.DataFrame]:
    """A split-form manifest cut into its counties (:func:`layers.split.split_province`).

    The county folders are written once per content key into
    ``<cache_dir>/province/split/<key>/`` (:func:`split_cache_key`) and reused by later
    runs, so the counties' results cache keeps its hits.  A manifest of county folders is
    returned as it is.

    Parameters
    ----------
    man
        The manifest read.
    buffer_km
        Buffer (km) instead of the manifest's ``buffer_km``.
    settings
        Default :func:`anzhi.core.settings.get_settings`.
    progress
        Progress bars while reading the road file.

    Returns
    -------
    tuple
        The manifest with its counties (``buffer_km`` the buffer used) and the sites outside
        every county polygon (``site_id``, ``site_name``, ``lon``, ``lat``).
    """
    no_sites = pd.DataFrame(columns=["site_id", "site_name", "lon", "lat"])
    if man.split is None:
        return man, no_sites
    buffer = man.buffer_km if buffer_km is None else float(buffer_km)
    s = settings if settings is not None else get_settings()
    root = Path(s.cache_dir) / "province" / "split"
    res = cached_split(man.split, buffer_km=buffer, cache_root=root,
                       key=split_cache_key(man, buffer), progress=progress)
    shared = dict(man.shared)
    counties = tuple(CountySpec(
        name=c.name, sites=c.sites, roads=c.roads, facilities=(c.facilities,),
        dem=shared.get("dem"), parcels=shared.get("parcels"), townships=shared.get("townships"),
        prefecture=c.prefecture, own_facilities=c.own_facilities)
        for c in res.counties)
    return dataclasses.replace(man, counties=counties, buffer_km=buffer), res.unassigned


# --------------------------------------------------------------------------------------
# The per-county results cache
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CountyResults:
    """What a province keeps of one county's run (cached as one entry).

    Attributes
    ----------
    gaps, coverage, access
        The county's gap list, coverage and access tables (:func:`anzhi.pipeline.run_region`).
    sites
        Number of sites read.
    unroutable
        Sites with at least one unroutable check.
    facilities
        Facilities the county's run read (its files and its sites' yes/no columns).
    site_points
        The county's site points (:func:`layers.provout.site_points`, EPSG:4326) for
        ``gaps.gpkg``; None leaves the province without ``gaps.gpkg``.
    """

    gaps: pd.DataFrame
    coverage: pd.DataFrame
    access: pd.DataFrame
    sites: int
    unroutable: int
    facilities: int = 0
    site_points: gpd.GeoDataFrame | None = None


def province_cache_dir(settings: Settings | None = None) -> Path:
    """Folder of the county results cache: ``<cache_dir>/province/v<CACHE_VERSION>``."""
    s = settings if settings is not None else get_settings()
    return Path(s.cache_dir) / "province" / f"v{CACHE_VERSION}"


def county_cache_key(county: CountySpec, *, manifest: Path | str, rules: RuleSet,
                     profile: str, settings: Settings | None = None) -> str:
    """The content key of one county's results (hex SHA-256).

    Made of the SHA-256 of every input file (:func:`anzhi.core.files.file_sha256`, each
    under its manifest key), the county's coordinate options, the effective rule set (its
    ``repr``: every figure and override), the profile (the file's hash when it is a YAML
    file), the settings that change a result and the cache version.

    Raises
    ------
    InputError
        An input file is missing, naming the manifest, the county, the key and the path.
    """
    s = settings if settings is not None else get_settings()
    pc = ProblemCollector(file=Path(manifest).name)
    parts: list[str] = [f"v{CACHE_VERSION}",
                        *_file_hashes(county.files(), pc, who=f"county {county.name!r}: ")]
    pc.raise_if_any()
    parts += [f"{k}={getattr(county, k)}" for k in _TEXT_KEYS]
    parts.append("rules=" + hashlib.sha256(repr(rules).encode("utf-8")).hexdigest())
    prof = Path(profile)
    parts.append(f"profile={file_sha256(prof) if prof.is_file() else profile}")
    parts += [f"{f.name}={getattr(s, f.name)!r}" for f in dataclasses.fields(s)
              if f.name not in _NOT_IN_KEY]
    return hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()


_TABLES = ("gaps", "coverage", "access")


def load_cached(key: str, *, settings: Settings | None = None) -> CountyResults | None:
    """The cached results of ``key``, or None when absent or unreadable (then recomputed)."""
    entry = province_cache_dir(settings) / key
    try:
        meta = json.loads((entry / "meta.json").read_text(encoding="utf-8"))
        tables = {t: pd.read_parquet(entry / f"{t}.parquet") for t in _TABLES}
        points = gpd.read_parquet(entry / "sites.parquet")
        return CountyResults(sites=int(meta["sites"]), unroutable=int(meta["unroutable"]),
                             facilities=int(meta["facilities"]), site_points=points,
                             **tables)
    except (OSError, ValueError, KeyError, TypeError, ImportError):
        return None


def store_cached(key: str, results: CountyResults, *, settings: Settings | None = None) -> Path:
    """Store one county's results under ``key``, atomically (temporary folder, rename).

    An entry already present (another run finished first) is kept.  Returns the entry's
    folder.

    Raises
    ------
    DataSourceError
        The cache folder cannot be written.
    """
    root = province_cache_dir(settings)
    entry = root / key
    tmp = root / f".{key}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        tmp.mkdir(parents=True)
        for t in _TABLES:
            getattr(results, t).to_parquet(tmp / f"{t}.parquet", index=False)
        if results.site_points is not None:  # else no entry is complete: recomputed later
            site_points(results.site_points).to_parquet(tmp / "sites.parquet", index=False)
        (tmp / "meta.json").write_text(json.dumps(
            {"sites": results.sites, "unroutable": results.unroutable,
             "facilities": results.facilities}), encoding="utf-8")
        try:
            os.rename(tmp, entry)
        except OSError:
            if not all((entry / f).is_file() for f in ("meta.json", "sites.parquet")):
                shutil.rmtree(entry, ignore_errors=True)  # a broken entry: replace it
                os.rename(tmp, entry)
    except OSError as exc:
        raise DataSourceError(f"cannot write the province cache {root} "
                              f"({exc.strerror or exc}); set ANZHI_CACHE_DIR to a writable "
                              "folder or run with --no-cache") from exc
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return entry


# --------------------------------------------------------------------------------------
# Merging the counties
# --------------------------------------------------------------------------------------


def merge_gaps(parts: Sequence[tuple[str, pd.DataFrame]]) -> pd.DataFrame:
    """The province gap list: each county's gaps, in order, with ``county`` = its name.

    The site table's own ``county`` value is replaced by the manifest's name, so that two
    counties whose tables name their county alike (or not at all) stay apart.
    """
    frames = [g.assign(county=name) for name, g in parts]
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in GAPS_COLUMNS})
    return pd.concat(frames, ignore_index=True)


def merge_access(parts: Sequence[tuple[str, pd.DataFrame]]) -> pd.DataFrame:
    """The province access table: a leading ``county`` column, then each county's table."""
    frames = [a.assign(county=name) for name, a in parts]
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in ("county", *ACCESS_COLUMNS)})
    out = pd.concat(frames, ignore_index=True)
    return out.loc[:, ["county", *[c for c in out.columns if c != "county"]]]


_LEVEL_RANK = {"province": 0, "prefecture": 1, "county": 2, "township": 3}


def province_coverage(gaps: pd.DataFrame,
                      prefectures: Mapping[str, str | None] | None = None) -> pd.DataFrame:
    """Coverage of the province gap list: levels ``province``, (``prefecture``,) ``county``,
    ``township``.

    :func:`analysis.coverage.coverage_table` on the merged gaps (its ``all`` level renamed
    ``province``); site ids are taken per county, so equal ids in two counties are two sites.

    Parameters
    ----------
    gaps
        The merged gap list (:func:`merge_gaps`).
    prefectures
        County name -> its prefecture (None or "" for none).  When any county has one, the
        table gets a ``prefecture`` column (after ``level``; the county's prefecture on
        county and township rows) and ``prefecture`` rows: one per prefecture and rule, in
        the order province, prefecture, county, township within each rule.
    """
    keyed = gaps.assign(site_id=gaps["county"].astype(str) + "\x1f" + gaps["site_id"].astype(str))
    cov = coverage_table(keyed)
    cov["level"] = cov["level"].replace({"all": "province"})
    pref = {k: v for k, v in (prefectures or {}).items() if v}
    if not pref:
        return cov
    cov.insert(1, "prefecture", cov["county"].map(lambda c: pref.get(c, "")).astype(str))
    by_pref = coverage_table(keyed.assign(county=keyed["county"].map(
        lambda c: pref.get(c, "")).astype(str)))
    rows = by_pref.loc[(by_pref["level"] == "county") & (by_pref["county"] != "")].copy()
    rows["level"] = "prefecture"
    rows.insert(1, "prefecture", rows.pop("county"))
    rows.insert(2, "county", "")
    out = pd.concat([cov, rows.loc[:, list(cov.columns)]], ignore_index=True)
    rule_order = {r: i for i, r in enumerate(pd.unique(cov["rule_id"]))}
    order = out["rule_id"].map(rule_order) * 10 + out["level"].map(_LEVEL_RANK)
    return out.iloc[order.argsort(kind="stable")].reset_index(drop=True)


def _report_writer(report: pd.DataFrame) -> Any:
    def write(p: Path) -> None:
        out = report.loc[:, list(REPORT_COLUMNS)].copy()
        out["time_s"] = pd.to_numeric(out["time_s"], errors="coerce").round(2)
        whole_counts(csv_safe(out)).to_csv(p, index=False, encoding="utf-8-sig")
    return write


def write_report(out_dir: str | Path, report: pd.DataFrame) -> Path:
    """Write ``report.csv`` (:data:`REPORT_COLUMNS`, UTF-8 with BOM) atomically."""
    return atomic_write(Path(out_dir) / "report.csv", _report_writer(report))


def _coverage_writer(coverage: pd.DataFrame) -> Any:
    def write(p: Path) -> None:
        out = coverage.copy()
        for col in ("share_sites", "share_pop"):
            out[col] = pd.to_numeric(out[col], errors="coerce").round(4)
        whole_counts(csv_safe(out)).to_csv(p, index=False, encoding="utf-8-sig")
    return write


def _access_writer(access: pd.DataFrame) -> Any:
    def write(p: Path) -> None:
        out = access.copy()
        if "snap_dist_m" not in out.columns:
            out["snap_dist_m"] = float("nan")
        out = out.loc[:, ["county", *ACCESS_COLUMNS]]
        for col, nd in (("dist_m", 1), ("snap_dist_m", 1), ("time_min", 2)):
            out[col] = pd.to_numeric(out[col], errors="coerce").round(nd)
        csv_safe(out).to_csv(p, index=False, encoding="utf-8-sig")
    return write


def write_province(
    out_dir: str | Path,
    *,
    parts: Sequence[tuple[str, CountyResults]],
    report: pd.DataFrame,
    prefectures: Mapping[str, str | None] | None = None,
    rules: RuleSet | None = None,
    lang: str = "zh",
    parquet: bool = False,
) -> dict[str, Path]:
    """Write the province outputs into ``out_dir``, all in one folder commit.

    ``gaps.csv``, ``gaps.xlsx``, ``coverage.csv`` and ``access.csv`` by the single-region
    writers (:func:`layers.export.write_outputs`: same schemas; ``access.csv`` with a
    leading ``county`` column, ``coverage.csv`` with the ``prefecture`` level and column
    when given), ``gaps.gpkg`` (layers ``gaps`` and ``sites`` as a county run's, ``county``
    the manifest's name; :func:`layers.provout.province_site_layers`), with ``parquet``
    also ``gaps.parquet`` and ``sites.parquet``, and ``report.csv``: either all are the
    new files or ``out_dir`` keeps what it had
    (:func:`layers.provout.write_province_folder`).  Without any successful county only
    ``report.csv`` is written.

    Parameters
    ----------
    out_dir
        Output folder (created if absent).
    parts
        ``(county name, results)`` of the counties that ran or came from the cache, in
        manifest order.
    report
        One row per county, columns :data:`REPORT_COLUMNS`.
    prefectures
        County name -> prefecture: the ``prefecture`` level and column of ``coverage.csv``
        (:func:`province_coverage`).
    rules
        The rule set applied (the Rules sheet and rule order of gaps.xlsx).
    lang
        Headers of gaps.xlsx, ``zh`` or ``en``.
    parquet
        Also write the GeoParquet files ``gaps.parquet`` and ``sites.parquet`` (EPSG:4326).

    Raises
    ------
    InputError
        ``parquet`` while a county's results carry no site points.
    DataSourceError
        The folder cannot be written (``out_dir`` is left as it was).
    """
    writers: dict[str, Any] = {}
    tables: dict[str, Any] = {"gaps": None, "coverage": None, "access": None, "sites": None}
    if parts:
        gaps = merge_gaps([(n, r.gaps) for n, r in parts])
        access = merge_access([(n, r.access) for n, r in parts])
        coverage = province_coverage(gaps, prefectures)
        points = [(n, r.site_points) for n, r in parts if r.site_points is not None]
        tables = {"gaps": gaps, "coverage": coverage, "access": access,
                  "sites": merge_sites(points) if len(points) == len(parts) else None}
        writers["access.csv"] = _access_writer(access)
        if "prefecture" in coverage.columns:
            writers["coverage.csv"] = _coverage_writer(coverage)
    writers["report.csv"] = _report_writer(report)
    return write_province_folder(out_dir, writers=writers, rules=rules, lang=lang,
                                 parquet=parquet and bool(parts), **tables)
