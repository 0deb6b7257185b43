"""A province end to end on Dask: one task per county, each an ordinary :func:`run_region`.

:func:`run_province` reads the manifest (:func:`layers.province.read_manifest`); a province
given as one site table, road file and county polygons is first cut into county folders with
the buffer (:func:`layers.province.resolve_split`, in this process, cached), and sites outside
every polygon become an ``error`` row of the report.  It then takes the
counties whose inputs, rules and profile are unchanged from the results cache
(:mod:`layers.province`), and submits one :func:`county_task` per remaining county to a
``dask.distributed`` cluster: a :class:`distributed.LocalCluster` of worker processes on this
machine (one thread each, each with a memory limit: :func:`check_memory_limit`), or the
scheduler of a real cluster.  A county whose input is bad
(any :class:`~anzhi.core.errors.AnzhiError`) gets its message in the report and the others
finish; each county's results are stored in the cache as soon as it finishes, and the
province outputs are merged at the end (:func:`layers.province.write_province`), so a run
killed midway and started again computes only the counties it had not finished.

Nothing below this module knows about Dask; ``dask.distributed`` is imported only when a
county has to be computed.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import logging
import os
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.rules import preset_names
from anzhi.core.errors import AnzhiError, DataSourceError, InputError
from anzhi.core.settings import Settings, get_settings, override
from anzhi.pipeline import RegionInputs, RegionResults, run_region
from layers.province import (
    REPORT_COLUMNS,
    CountyResults,
    CountySpec,
    Manifest,
    county_cache_key,
    load_cached,
    read_manifest,
    resolve_split,
    store_cached,
    write_province,
)
from layers.rulesfile import read_rules
from layers.provout import site_points
from layers.split import owned_in_file

__all__ = ["CountyOutcome", "CountyTask", "DASHBOARD_NEEDS_BOKEH", "MIN_MEMORY_LIMIT_BYTES",
           "NO_COUNTY", "ProvinceResult", "check_memory_limit", "county_inputs", "county_task",
           "run_province"]

#: Smallest memory limit of a local worker (bytes): a worker process with Anzhi's
#: libraries loaded takes some 250 MB before it reads a county.
MIN_MEMORY_LIMIT_BYTES = 256 * 2**20
#: The line printed instead of the dashboard link when bokeh is not installed.
DASHBOARD_NEEDS_BOKEH = ("Dask dashboard / 任务面板: needs bokeh (pip install bokeh); "
                         "not shown in this run")

#: The ``county`` of the report row listing the sites outside every county polygon.
NO_COUNTY = "(no county / 不在任何县)"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CountyTask:
    """What one Dask task needs: the county, the run's options and the caller's settings
    (settings live in a context variable, which does not travel to a worker process)."""

    county: CountySpec
    rules: str
    overrides: Mapping[str, Any]
    profile: str
    settings: Settings


@dataclass(frozen=True)
class CountyOutcome:
    """One county's result in a province run.

    Attributes
    ----------
    name
        The county's manifest name.
    status
        ``ok`` (computed), ``cached`` (from the results cache) or ``error``.
    time_s
        Wall time of the county in this run (s): its task, or reading its cache entry.
    results
        Its tables, None on error.
    error
        The error message (no traceback), "" otherwise.
    sites
        Sites of an outcome without results (the sites outside every county), else None.
    """

    name: str
    status: str
    time_s: float
    results: CountyResults | None = None
    error: str = ""
    sites: int | None = None


@dataclass(frozen=True)
class ProvinceResult:
    """Everything :func:`run_province` produced.

    Attributes
    ----------
    manifest
        The manifest run (only the selected counties; a split form's counties filled in).
    outcomes
        One per county, in manifest order; then, when sites of a split form lie outside
        every county polygon, an ``error`` outcome named :data:`NO_COUNTY` listing them.
    written
        Output file name -> path.
    dashboard_link
        The Dask dashboard's address; None when nothing was computed (all cached or
        failed) or bokeh, which serves the dashboard, is not installed.
    worker_memory
        Worker address -> its memory limit (bytes, None: no limit) as the scheduler
        reported it when the counties were submitted; empty when nothing was computed.
    """

    manifest: Manifest
    outcomes: tuple[CountyOutcome, ...]
    written: dict[str, Path] = field(default_factory=dict)
    dashboard_link: str | None = None
    worker_memory: dict[str, int | None] = field(default_factory=dict)

    @property
    def report(self) -> pd.DataFrame:
        """The ``report.csv`` table (:data:`layers.province.REPORT_COLUMNS`)."""
        return _report(self.outcomes, self.manifest)

    @property
    def failed(self) -> list[str]:
        """Names of the counties that failed."""
        return [o.name for o in self.outcomes if o.status == "error"]

    @property
    def ok(self) -> bool:
        """Every county computed or cached."""
        return not self.failed


def county_inputs(county: CountySpec) -> RegionInputs:
    """The :class:`~anzhi.pipeline.RegionInputs` of a manifest county."""
    return RegionInputs(sites=county.sites, roads=county.roads, facilities=county.facilities,
                        dem=county.dem, townships=county.townships, parcels=county.parcels,
                        coords=county.coords, facility_coords=county.facility_coords,
                        crs=county.crs, name=county.name)


def _facility_count(county: CountySpec, res: RegionResults) -> int:
    """Facilities in the county, each facility of a province counted in one county only:
    the split's count, or those marked ``in_county`` in split facility files plus the ones
    of the county's own sites, or (other files) every facility the run read."""
    if county.own_facilities is not None:
        return county.own_facilities
    fac = res.data.facilities
    owned = [owned_in_file(p) for p in county.facilities]
    if not county.facilities or any(o is None for o in owned):
        return len(fac)
    own_ids = set(res.data.sites["site_id"].astype(str))
    return sum(o for o in owned if o is not None) + int(
        fac["site_id"].astype(str).isin(own_ids).sum())


def _one_line(text: str) -> str:
    """A message on one line for report.csv (an InputError lists problems on lines)."""
    return " | ".join(part.strip(" -") for part in str(text).splitlines() if part.strip())


def county_task(task: CountyTask) -> CountyOutcome:
    """Run one county (the body of a Dask task, in a worker process).

    An :class:`~anzhi.core.errors.AnzhiError` becomes an ``error`` outcome carrying its
    message; anything else is a bug and propagates (the driver records it with its type).
    """
    t0 = time.perf_counter()
    values = {f.name: getattr(task.settings, f.name) for f in dataclasses.fields(Settings)}
    try:
        with override(**{**values, "progress": False}):
            res = run_region(county_inputs(task.county), rules=task.rules,
                             overrides=dict(task.overrides), profile=task.profile,
                             progress=False)
    except AnzhiError as exc:
        return CountyOutcome(task.county.name, "error", time.perf_counter() - t0,
                             error=_one_line(str(exc)))
    unroutable = res.gaps.loc[res.gaps["status"].astype(str) == "unroutable", "site_id"]
    results = CountyResults(gaps=res.gaps, coverage=res.coverage, access=res.access,
                            sites=len(res.data.sites), unroutable=int(unroutable.nunique()),
                            facilities=_facility_count(task.county, res),
                            site_points=site_points(res.data.sites))
    return CountyOutcome(task.county.name, "ok", time.perf_counter() - t0, results=results)


def _report(outcomes: Sequence[CountyOutcome], man: Manifest) -> pd.DataFrame:
    pref = {c.name: c.prefecture or "" for c in man.counties}
    rows = [{"county": o.name, "prefecture": pref.get(o.name, ""), "status": o.status,
             "time_s": round(o.time_s, 3),
             "sites": o.results.sites if o.results is not None else o.sites,
             "unroutable": o.results.unroutable if o.results is not None else None,
             "facilities": o.results.facilities if o.results is not None else None,
             "error": o.error} for o in outcomes]
    return pd.DataFrame(rows, columns=list(REPORT_COLUMNS)).astype(
        {"sites": "Int64", "unroutable": "Int64", "facilities": "Int64"})


def _no_county(unassigned: pd.DataFrame, man: Manifest) -> CountyOutcome:
    """The report row of the sites outside every county polygon."""
    assert man.split is not None
    shown = ", ".join(f"{r.site_id} {r.site_name} ({r.lon:.5f}, {r.lat:.5f})"
                      for r in unassigned.head(20).itertuples(index=False))
    more = f" and {len(unassigned) - 20} more" if len(unassigned) > 20 else ""
    return CountyOutcome(NO_COUNTY, "error", 0.0, sites=len(unassigned), error=(
        f"{man.split.sites.name}: {len(unassigned)} sites lie outside every county polygon "
        f"of {man.split.counties.name} and were not run: {shown}{more}; check their "
        "coordinates (and coords:) or add their county to the polygons"))


def check_memory_limit(value: str | int | None) -> str | int:
    """The memory limit of each local worker, checked before anything runs.

    Parameters
    ----------
    value
        ``"auto"`` or None: Dask's default, the machine's memory split evenly among the
        workers; a size per worker with its unit (``"4GiB"``, ``"2.5GB"``, ``"800MiB"``;
        :func:`dask.utils.parse_bytes`, a bare number is bytes) or a whole number of
        bytes, at least :data:`MIN_MEMORY_LIMIT_BYTES`.  A size above the machine's memory
        is cut to it by Dask.

    Returns
    -------
    str or int
        ``"auto"``, or the limit in bytes (what ``LocalCluster(memory_limit=...)`` gets).

    Raises
    ------
    InputError
        Not a size, or smaller than :data:`MIN_MEMORY_LIMIT_BYTES`, naming the value and
        what to give instead.
    """
    if value is None or (isinstance(value, str) and value.strip().lower() == "auto"):
        return "auto"
    fix = ("give a size per worker with its unit, e.g. --memory-limit 4GiB (or 2500MB, "
           "800MiB), or auto: the machine's memory split evenly among the workers")
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise InputError(f"--memory-limit {value!r} is not a size; {fix}")
    n_bytes: int
    if isinstance(value, int):
        n_bytes = value
    else:
        from dask.utils import parse_bytes

        try:
            n_bytes = int(parse_bytes(value.strip()))
        except (ValueError, TypeError, OverflowError, IndexError):
            raise InputError(f"--memory-limit {value!r} is not a size; {fix}") from None
    if n_bytes < MIN_MEMORY_LIMIT_BYTES:
        raise InputError(f"--memory-limit {value!r} is {n_bytes:,} bytes per worker, less "
                         f"than the {MIN_MEMORY_LIMIT_BYTES // 2**20} MiB a worker needs; "
                         f"{fix}")
    return n_bytes


def _cluster(workers: int | None, scheduler: str | None, n_tasks: int,
             memory_limit: str | int = "auto") -> tuple[Any, Any]:
    """The Dask client and the local cluster it owns (None with a scheduler address)."""
    from distributed import Client, LocalCluster

    if scheduler:
        try:
            return Client(scheduler, timeout="20s"), None
        except (OSError, TimeoutError, ValueError) as exc:
            raise DataSourceError(
                f"cannot reach the Dask scheduler {scheduler} ({type(exc).__name__}: {exc}); "
                "check the address (tcp://host:8786) and that `dask scheduler` runs there, "
                "or leave out --scheduler for a local cluster") from None
    n = workers or os.cpu_count() or 1
    dashboard = ":0" if importlib.util.find_spec("bokeh") else None
    cluster = LocalCluster(n_workers=max(1, min(n, n_tasks)), threads_per_worker=1,
                           processes=True, dashboard_address=dashboard,
                           memory_limit=memory_limit)
    return Client(cluster), cluster


def _dashboard(client: Any, progress: bool) -> str | None:
    """The dashboard link, printed with ``progress``; None (and one line saying so) when
    bokeh, which serves the dashboard, is not installed."""
    if not importlib.util.find_spec("bokeh"):
        log.info("Dask dashboard: not served (bokeh is not installed)")
        if progress:
            print(DASHBOARD_NEEDS_BOKEH, file=sys.stderr)
        return None
    link = str(client.dashboard_link)
    log.info("Dask dashboard: %s", link)
    if progress:
        print(f"Dask dashboard / 任务面板: {link}", file=sys.stderr)
    return link


def _compute(tasks: Sequence[CountyTask], *, workers: int | None, scheduler: str | None,
             progress: bool, done: dict[str, CountyOutcome], use_cache: bool,
             keys: Mapping[str, str], settings: Settings, memory_limit: str | int,
             memory: dict[str, int | None]) -> str | None:
    """Submit ``tasks`` to Dask, fill ``done`` as they finish and ``memory`` with each
    worker's memory limit (bytes); returns the dashboard link."""
    from distributed import as_completed
    from tqdm.auto import tqdm

    client, cluster = _cluster(workers, scheduler, len(tasks), memory_limit)
    try:
        link = _dashboard(client, progress)
        memory.update({str(addr): w.get("memory_limit") for addr, w in
                       client.scheduler_info(n_workers=-1)["workers"].items()})
        started = time.perf_counter()
        futures = {client.submit(county_task, t, key=f"anzhi-county-{i}-{keys[t.county.name]}",
                                 pure=False): t.county.name for i, t in enumerate(tasks)}
        bar = tqdm(total=len(futures), desc="counties", unit="county", file=sys.stderr,
                   disable=not progress)
        try:
            for fut in as_completed(futures):
                name = futures[fut]
                try:
                    outcome: CountyOutcome = fut.result()
                except Exception as exc:  # a bug or a lost worker: this county only
                    log.error("county %s failed", name, exc_info=exc)
                    outcome = CountyOutcome(name, "error", time.perf_counter() - started,
                                            error=_one_line(f"{type(exc).__name__}: {exc}"))
                if outcome.results is not None and use_cache:
                    store_cached(keys[name], outcome.results, settings=settings)
                done[name] = outcome
                bar.set_postfix_str(f"{name}: {outcome.status}")
                bar.update(1)
        finally:
            bar.close()
        return link
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def run_province(
    manifest: str | Path | Manifest,
    *,
    out_dir: str | Path,
    rules: str | Path = "default",
    overrides: Mapping[str, Any] | None = None,
    profile: str = "walk",
    workers: int | None = None,
    scheduler: str | None = None,
    counties: Sequence[str] | None = None,
    use_cache: bool = True,
    progress: bool | None = None,
    lang: str = "zh",
    buffer_km: float | None = None,
    memory_limit: str | int | None = None,
    parquet: bool = False,
) -> ProvinceResult:
    """Run every county of a province on Dask and write the province outputs.

    Parameters
    ----------
    manifest
        ``manifest.yaml`` (:func:`layers.province.read_manifest`) or a read manifest.
    out_dir
        Output folder: ``gaps.csv`` (``county`` column), ``gaps.xlsx``, ``coverage.csv``
        (province / county / township), ``access.csv``, ``gaps.gpkg`` (site points, layers
        ``gaps`` and ``sites``, as a county run's) and ``report.csv``, written together
        (:func:`layers.province.write_province`).
    rules, overrides, profile
        As :func:`anzhi.pipeline.run_region`, for every county.
    workers
        Worker processes of the local cluster (one thread each); default the number of
        cores (never more than the counties to compute).  Refused with ``scheduler``.
    scheduler
        Address of a running Dask scheduler (``tcp://host:8786``); its workers must reach
        the manifest's files under the same paths (for the split form also the cache
        folder, where the county folders are written).  Default: a local cluster.
    counties
        Only these counties (manifest names); default all.
    use_cache
        ``False`` neither reads nor writes the county results cache (the road-graph cache
        of each county is still used).
    progress
        Progress bar per county and the dashboard link on stderr; default
        ``get_settings().progress``.
    lang
        Headers of gaps.xlsx.
    buffer_km
        Split form (``counties:`` a polygon file): the buffer around each county (km)
        within which facilities and roads are kept, instead of the manifest's
        ``buffer_km``.  The split is cached in ``<cache_dir>/province/split`` (also with
        ``use_cache=False``: it is the counties' input, not a result).  A manifest of
        county folders uses each county's files as they are (refused there).
    memory_limit
        Memory limit of each local worker (:func:`check_memory_limit`): ``"auto"`` or None
        (default; the machine's memory split evenly among the workers), ``"4GiB"``, or
        bytes.  Dask spills, pauses and at 95 % restarts a worker over it (that county
        then fails alone).  Refused with ``scheduler`` (set where the workers start:
        ``dask worker --memory-limit``).
    parquet
        Also write ``gaps.parquet`` and ``sites.parquet`` (GeoParquet, EPSG:4326: the two
        layers of ``gaps.gpkg``).

    Returns
    -------
    ProvinceResult
        Its ``ok`` is False when a county failed (``report.csv`` names it and its error).

    Raises
    ------
    InputError
        A bad manifest, an unknown county name, a bad rule set, ``workers`` < 1 or with
        ``scheduler``, a bad ``memory_limit`` or one with ``scheduler`` (all checked before
        anything is read or run).  A county's own bad input does not raise.
    """
    worker_memory = check_memory_limit(memory_limit)
    if memory_limit is not None and scheduler:
        raise InputError("give --memory-limit or --scheduler, not both: a cluster's workers "
                         "get their memory limit where they are started (dask worker "
                         "--memory-limit 4GiB)")
    if workers is not None and (isinstance(workers, bool) or workers < 1):
        raise InputError(f"--workers must be a whole number ≥ 1, got {workers!r}")
    if workers is not None and scheduler:
        raise InputError("give --workers or --scheduler, not both: with a scheduler its "
                         "cluster decides the workers")
    if buffer_km is not None and (isinstance(buffer_km, bool) or not buffer_km >= 0):
        raise InputError(f"--buffer-km must be a number of kilometres ≥ 0, got {buffer_km!r}")
    man = manifest if isinstance(manifest, Manifest) else read_manifest(manifest)
    if buffer_km is not None and man.split is None:
        raise InputError(f"{man.path.name}: --buffer-km applies to a province split from one "
                         "site table, road file and county polygons (counties: a polygon "
                         "file); this manifest lists ready county folders, used as they are")
    settings = get_settings()
    show = settings.progress if progress is None else progress
    man, unassigned = resolve_split(man, buffer_km=buffer_km, settings=settings,
                                    progress=show)
    man = man.select(counties)
    ruleset = read_rules(rules)
    if overrides:
        ruleset = ruleset.with_overrides(dict(overrides))
    # a preset by name; a file by its absolute path (the workers' folder may differ)
    rules_arg = (str(rules) if isinstance(rules, str) and rules in preset_names()
                 else str(Path(rules).expanduser().absolute()))
    if Path(profile).is_file():
        profile = str(Path(profile).absolute())
    done: dict[str, CountyOutcome] = {}
    keys: dict[str, str] = {}
    todo: list[CountyTask] = []
    for c in man.counties:
        t0 = time.perf_counter()
        try:
            keys[c.name] = county_cache_key(c, manifest=man.path, rules=ruleset,
                                            profile=profile, settings=settings)
        except AnzhiError as exc:
            done[c.name] = CountyOutcome(c.name, "error", 0.0, error=_one_line(str(exc)))
            continue
        cached = load_cached(keys[c.name], settings=settings) if use_cache else None
        if cached is not None:
            done[c.name] = CountyOutcome(c.name, "cached", time.perf_counter() - t0,
                                         results=cached)
        else:
            todo.append(CountyTask(c, rules_arg, dict(overrides or {}), profile, settings))
    link = None
    memory: dict[str, int | None] = {}
    if todo:
        link = _compute(todo, workers=workers, scheduler=scheduler, progress=show, done=done,
                        use_cache=use_cache, keys=keys, settings=settings,
                        memory_limit=worker_memory, memory=memory)
    outcomes = tuple(done[c.name] for c in man.counties)
    if len(unassigned) and not counties:
        outcomes += (_no_county(unassigned, man),)
    parts = [(o.name, o.results) for o in outcomes if o.results is not None]
    written = write_province(out_dir, parts=parts, report=_report(outcomes, man),
                             prefectures={c.name: c.prefecture for c in man.counties},
                             rules=ruleset, lang=lang, parquet=parquet)
    return ProvinceResult(manifest=man, outcomes=outcomes, written=written, dashboard_link=link,
                          worker_memory=memory)
