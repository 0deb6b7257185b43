"""Scale: ``anzhi gaps`` end to end on a county-sized site table (100,000 sites), time and memory.

Run ``python -m bench.bench_scale`` (10,000 and 100,000 sites, the 100,000-site run twice:
about 3 minutes on 2 cores); ``--quick`` runs 2,000 sites once, as a smoke test;
``--sites N [N ...]`` and ``--repeat K`` choose other sizes; ``--format csv`` reads the site
table as csv instead of xlsx; ``--profile`` adds a cProfile run of the largest size (its
hottest functions).  Writes the ``scale`` section of ``docs/benchmarks.md`` (``--no-write``
only prints).

Inputs, generated reproducibly in a temporary folder:

* **The county**: the synthetic demo county (:func:`layers.demo.build_demo`, 40 × 40 km near
  Shidian): its OSM road file, its DEM (so walking follows the slope, Tobler, and every site
  is screened for hazards), its facility GeoPackage, its townships.
* **The sites**: ``N`` sites within 150 m of a random road of the county (walk graph),
  written as the site table a county office keeps (:func:`make_sites`): the template's
  Chinese headers (编号, 安置点名称, 县, 乡镇, 村(社区), 户数, 人数, 安置方式, 3-5岁儿童数,
  经度, 纬度, 坐标系, 卫生室), GCJ-02 coordinates as picked on Amap, townships from the
  township polygons, log-normal populations (median ~250, 10 to 20,000; urban sites larger),
  households at 3 to 4.5 people, some left blank, and a 卫生室 yes/no column (a site with
  one is a clinic facility too).

Each run is the real command line, ``anzhi gaps --sites S.xlsx --facilities F.gpkg --roads
R.osm --dem D.tif --out O --quiet``, in a child process with an empty road-graph cache (the
first run in a county: the road file is read and the graph built), timed wall-clock from
start to exit; its peak RSS and CPU time are the child's own (:func:`run_measured`, through
a small launcher as :func:`bench.report.run_child`).  A further, instrumented run of the
largest size (``--child-phases``: the same ``anzhi.cli.main`` in a process whose pipeline
steps are wrapped with timers, :data:`PHASES`) gives the wall time, CPU time and peak RSS of
every step, so the section says where the time goes.  On a shared machine wall times vary
with the load; CPU times much less.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import importlib
import json
import math
import os
import re
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench.report import REPO, bench_args, fmt_mib, fmt_secs, log, publish, status_mib
from bench.report import run_command

__all__ = ["SCALE_SITES", "QUICK_SITES", "TARGET_S", "TARGET_MIB", "SITE_HEADERS", "Inputs",
           "make_sites", "write_sites", "make_inputs", "gaps_argv", "Run", "run_gaps",
           "run_measured", "Phase", "run_phases", "run_profile", "render", "main"]

#: Site counts of the default run; the largest is measured ``--repeat`` times.
SCALE_SITES: tuple[int, ...] = (10_000, 100_000)
#: Site count of ``--quick``.
QUICK_SITES = 2_000
#: Targets of issue 18.7 for the largest run: wall time (s) and peak RSS (MiB) on 2 cores.
TARGET_S = 60.0
TARGET_MIB = 2048.0
#: Headers of the generated site table (templates/安置点模板.xlsx, the demo's 县).
SITE_HEADERS: tuple[str, ...] = ("编号", "安置点名称", "县", "乡镇", "村(社区)", "户数", "人数",
                                 "安置方式", "3-5岁儿童数", "经度", "纬度", "坐标系", "卫生室")
#: Characters of generated village names.
_SYLLABLES = "大小新老上下东西南北石水山河坪坝沟岭寨塘桥营庄田湾冲箐岩村林坡"

# ============================================================================ inputs


@dataclasses.dataclass(frozen=True)
class Inputs:
    """One generated county: the demo folder's files and a site table of ``n_sites`` rows."""

    demo: Any  # layers.demo.DemoPaths
    sites: Path
    n_sites: int
    fmt: str  # "xlsx" or "csv"


def _walk_graph(roads: Path) -> Any:
    """The county's walk graph (as ``anzhi gaps`` builds it, without the DEM)."""
    from geo.osmgraph import road_graph_from_ways
    from geo.roads import load_profile
    from layers.osm import read_osm_ways

    return road_graph_from_ways(read_osm_ways(roads, progress=False), profile=load_profile("walk"))


def _dem_test(dem: Path, *, margin_m: float = 100.0
              ) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """A test of WGS84 points: do they lie on the DEM, ``margin_m`` inside its edge?"""
    import pyproj
    import rasterio

    with rasterio.open(dem) as src:
        left, bottom, right, top = src.bounds
        crs = src.crs.to_wkt()
    to_dem = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True)

    def inside(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        x, y = to_dem.transform(lon, lat)
        return np.asarray((x > left + margin_m) & (x < right - margin_m)
                          & (y > bottom + margin_m) & (y < top - margin_m))
    return inside


def _townships(demo: Any, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """County and township of each point: the township polygon it lies in, else the nearest."""
    import geopandas as gpd

    town = gpd.read_file(demo.townships)
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")
    metric = pts.estimate_utm_crs()
    hit = gpd.sjoin_nearest(pts.to_crs(metric), town.to_crs(metric)[["township", "county",
                                                                     "geometry"]], how="left")
    hit = hit[~hit.index.duplicated()]
    return (hit["county"].astype(str).to_numpy(dtype=object),
            hit["township"].astype(str).to_numpy(dtype=object))


def _villages(town: np.ndarray, x_km: np.ndarray, y_km: np.ndarray) -> np.ndarray:
    """A village name per site: the 2 km cell it lies in, named from :data:`_SYLLABLES`."""
    cell = (np.floor(x_km / 2.0).astype(np.int64) * 7919 + np.floor(y_km / 2.0).astype(np.int64))
    k = len(_SYLLABLES)
    a, b = np.abs(cell) % k, (np.abs(cell) // k) % k
    names = np.array([f"{_SYLLABLES[i]}{_SYLLABLES[j]}村" for i, j in zip(a, b, strict=True)],
                     dtype=object)
    return names


def make_sites(demo: Any, n_sites: int, *, seed: int = 7) -> pd.DataFrame:
    """A site table of ``n_sites`` rows near the roads of the demo county ``demo``.

    Parameters
    ----------
    demo
        A built demo county (:class:`layers.demo.DemoPaths`).
    n_sites
        Number of rows (≥ 1).
    seed
        Seed of the generator (same seed, same table).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`SITE_HEADERS`: ids ``SC000001…``, GCJ-02 degrees (6 decimals),
        populations in people (int), households (float, NaN where left blank), 3-5 year
        olds (people), 安置方式 城镇/农村, 卫生室 有/无.
    """
    from bench.routing_cases import points_near_roads
    from geo.coords import wgs84_to_gcj02

    rng = np.random.default_rng(seed)
    graph = _walk_graph(demo.roads)
    inside = _dem_test(demo.dem)
    lon = lat = np.empty(0)
    while len(lon) < n_sites:  # only points on the DEM: the demo's roads reach its edge
        more = points_near_roads(graph, n_sites - len(lon) + 64, rng, max_offset_m=150.0)
        keep = inside(*more)
        lon, lat = np.r_[lon, more[0][keep]], np.r_[lat, more[1][keep]]
    lon, lat = lon[:n_sites], lat[:n_sites]
    county, town = _townships(demo, lon, lat)
    x_km = (lon - lon.min()) * 101.0
    y_km = (lat - lat.min()) * 111.3
    village = _villages(town, x_km, y_km)
    urban = rng.random(n_sites) < 0.15
    pop = np.exp(rng.normal(math.log(250.0), 1.0, n_sites)) * np.where(urban, 3.0, 1.0)
    pop = np.clip(np.round(pop), 10, 20_000).astype(np.int64)
    households = np.round(pop / rng.uniform(3.0, 4.5, n_sites))
    households[rng.random(n_sites) < 0.05] = np.nan
    glon, glat = wgs84_to_gcj02(lon, lat)
    ids = np.array([f"SC{i:06d}" for i in range(1, n_sites + 1)], dtype=object)
    return pd.DataFrame({
        "编号": ids,
        "安置点名称": village + np.array([f"安置点{i % 97 + 1}" for i in range(n_sites)],
                                     dtype=object),
        "县": county, "乡镇": town, "村(社区)": village,
        "户数": households, "人数": pop,
        "安置方式": np.where(urban, "城镇", "农村").astype(object),
        "3-5岁儿童数": rng.binomial(pop, 0.045),
        "经度": np.round(glon, 6), "纬度": np.round(glat, 6),
        "坐标系": "GCJ-02",
        "卫生室": np.where(rng.random(n_sites) < 0.4, "有", "无").astype(object),
    }, columns=list(SITE_HEADERS))


def write_sites(df: pd.DataFrame, path: Path) -> Path:
    """Write a site table as ``.xlsx`` as Excel/WPS save one (:func:`_excel_xlsx`: shared
    strings, the sheet's dimension) or as ``.csv`` (UTF-8 with BOM, Excel's "CSV UTF-8");
    blanks stay blank."""
    if path.suffix == ".csv":
        df.to_csv(path, index=False, encoding="utf-8-sig")
    else:
        _excel_xlsx(df, path, sheet="安置点")
    return path


_XLSX_PARTS = {
    "[Content_Types].xml": (
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
        'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
        'officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.'
        'openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.'
        'openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
        '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-'
        'officedocument.spreadsheetml.styles+xml"/></Types>'),
    "_rels/.rels": (
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'),
    "xl/_rels/workbook.xml.rels": (
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships/worksheet" Target="worksheets/sheet1.xml"/>'
        '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships/sharedStrings" Target="sharedStrings.xml"/>'
        '<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships/styles" Target="styles.xml"/></Relationships>'),
    "xl/styles.xml": (
        '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        '<fonts count="1"><font><sz val="11"/><name val="等线"/></font></fonts>'
        '<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill '
        'patternType="gray125"/></fill></fills><borders count="1"><border><left/><right/>'
        '<top/><bottom/><diagonal/></border></borders><cellStyleXfs count="1"><xf numFmtId="0" '
        'fontId="0" fillId="0" borderId="0"/></cellStyleXfs><cellXfs count="1"><xf numFmtId="0" '
        'fontId="0" fillId="0" borderId="0" xfId="0"/></cellXfs><cellStyles count="1">'
        '<cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>'),
}
_XML_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def _excel_xlsx(df: pd.DataFrame, path: Path, *, sheet: str) -> None:
    """``df`` as one sheet, the way Excel and WPS save a workbook: text in the shared-string
    table, the sheet's ``<dimension>`` given (openpyxl's write-only files have neither, and
    a reader then parses the sheet twice), numbers as numbers, blanks as no cell."""
    import zipfile
    from xml.sax.saxutils import escape

    from openpyxl.utils import get_column_letter

    shared: dict[str, int] = {}
    letters = [get_column_letter(j + 1) for j in range(df.shape[1])]
    rows = []
    for i, values in enumerate([list(df.columns), *df.itertuples(index=False, name=None)], 1):
        cells = []
        for letter, v in zip(letters, values, strict=True):
            if v is None or (isinstance(v, float) and math.isnan(v)):
                continue
            if isinstance(v, str):
                cells.append(f'<c r="{letter}{i}" t="s"><v>{shared.setdefault(v, len(shared))}'
                             "</v></c>")
            else:
                cells.append(f'<c r="{letter}{i}"><v>{v!r}</v></c>')
        rows.append(f'<row r="{i}">{"".join(cells)}</row>')
    sheet_xml = (f'{_XML_HEAD}<worksheet xmlns="{_MAIN_NS}"><dimension ref="A1:{letters[-1]}'
                 f'{len(df) + 1}"/><sheetData>{"".join(rows)}</sheetData></worksheet>')
    strings = "".join(f"<si><t>{escape(t)}</t></si>" for t in shared)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, xml in _XLSX_PARTS.items():
            zf.writestr(name, _XML_HEAD + xml)
        zf.writestr("xl/workbook.xml", (
            f'{_XML_HEAD}<workbook xmlns="{_MAIN_NS}" xmlns:r="http://schemas.openxmlformats.'
            f'org/officeDocument/2006/relationships"><sheets><sheet name="{escape(sheet)}" '
            'sheetId="1" r:id="rId1"/></sheets></workbook>'))
        zf.writestr("xl/worksheets/sheet1.xml", sheet_xml)
        zf.writestr("xl/sharedStrings.xml", (
            f'{_XML_HEAD}<sst xmlns="{_MAIN_NS}" count="{len(shared)}" '
            f'uniqueCount="{len(shared)}">{strings}</sst>'))


def make_inputs(work: Path, n_sites: int, *, seed: int = 7, fmt: str = "xlsx",
                demo: Any = None) -> Inputs:
    """Build the demo county in ``work/demo`` (unless ``demo`` is given) and write a site
    table of ``n_sites`` rows, ``work/sites-N.xlsx`` (or ``.csv``)."""
    from layers.demo import build_demo

    if demo is None:
        demo = build_demo(work / "demo")
    path = write_sites(make_sites(demo, n_sites, seed=seed), work / f"sites-{n_sites}.{fmt}")
    return Inputs(demo=demo, sites=path, n_sites=n_sites, fmt=fmt)


def gaps_argv(inputs: Inputs, out: Path) -> list[str]:
    """Arguments of ``anzhi gaps`` for ``inputs``, writing into ``out``."""
    d = inputs.demo
    return ["gaps", "--sites", str(inputs.sites), "--facilities", str(d.facilities),
            "--roads", str(d.roads), "--dem", str(d.dem), "--out", str(out), "--quiet"]


def _anzhi_command() -> list[str]:
    """The ``anzhi`` console script of this interpreter's environment (else ``python -c``)."""
    script = Path(sys.executable).with_name("anzhi")
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from anzhi.cli import main; sys.exit(main())"]


# ============================================================================ runs


@dataclasses.dataclass
class Run:
    """One ``anzhi gaps`` run: wall time and peak RSS of the child, what it printed."""

    n_sites: int
    fmt: str
    wall_s: float
    peak_mib: float
    cpu_s: float  # user + system CPU time of the child
    cli_s: float  # the CLI's own figure: run_region + write_region
    n_facilities: int
    n_checks: int
    n_gaps: int
    n_unroutable: int
    bytes: dict[str, int]


_SUMMARY = re.compile(r"(\d+) sites, (\d+) facilities, (\d+) site×rule checks: (\d+) gaps, "
                      r"(\d+) unroutable \(([\d.]+) s\)")


def run_measured(cmd: Sequence[str], *, env: dict[str, str]) -> tuple[float, float, float, str]:
    """Run a command from the repository: (wall s, peak RSS MiB, CPU s, stdout)
    (:func:`bench.report.run_command`)."""
    return run_command(cmd, cwd=REPO, env=env)


def _child_env(cache: Path) -> dict[str, str]:
    """This environment with an empty road-graph cache of its own and no progress bars."""
    cache.mkdir(parents=True, exist_ok=True)
    return {**os.environ, "ANZHI_CACHE_DIR": str(cache)}


def run_gaps(inputs: Inputs, work: Path) -> Run:
    """Run ``anzhi gaps`` on ``inputs`` in a child process (fresh cache, fresh ``--out``)."""
    out = Path(tempfile.mkdtemp(prefix="run-", dir=work))
    wall, peak, cpu, stdout = run_measured([*_anzhi_command(), *gaps_argv(inputs, out / "out")],
                                           env=_child_env(out / "cache"))
    m = _SUMMARY.search(stdout)
    if m is None:
        raise RuntimeError(f"anzhi gaps printed no summary line: {stdout[-500:]!r}")
    n_sites, n_fac, n_checks, n_gaps, n_unr = (int(g) for g in m.groups()[:5])
    if n_sites != inputs.n_sites:
        raise RuntimeError(f"anzhi gaps read {n_sites} sites of {inputs.n_sites}")
    written = {p.name: p.stat().st_size for p in sorted((out / "out").iterdir())}
    return Run(n_sites=n_sites, fmt=inputs.fmt, wall_s=wall, peak_mib=peak, cpu_s=cpu,
               cli_s=float(m.group(6)), n_facilities=n_fac, n_checks=n_checks, n_gaps=n_gaps,
               n_unroutable=n_unr, bytes=written)


# ============================================================================ phases


#: The steps of a run timed by ``--child-phases``: module → (attribute, what it does).  The
#: CLI and the pipeline look these names up at call time, so wrapping the attribute times
#: every call.  ``atomic_write`` is timed per output file.
PHASES: dict[str, tuple[tuple[str, str], ...]] = {
    "anzhi.pipeline": (
        ("read_rules", "read the rule set"),
        ("read_sites", "read and check the site table"),
        ("read_facilities", "read the facility file"),
        ("facilities_from_sites", "facilities from the sites' yes/no columns"),
        ("combine_facilities", "combine the facility layers"),
        ("check_dem", "check the DEM"),
        ("offset_warning", "GCJ-02 offset check"),
        ("dem_warning", "DEM coverage check"),
        ("region_road_graph", "road graph: read the OSM file, build, slope times, cache"),
        ("region_elevation", "site and facility elevations (DEM)"),
        ("access_table", "routing: nearest facility of each type for every site"),
        ("evaluate", "rules → gap list"),
        ("coverage_table", "coverage table"),
        ("screen_hazards", "site hazard screen (DEM windows)"),
        ("add_hazard_columns", "hazard columns joined to the gap list"),
    ),
    "layers.export": (
        ("sort_gaps", "sort the gap list"),
        ("atomic_write", "write"),
        ("site_plans", "per-site plans (一点一策)"),
    ),
}


@dataclasses.dataclass
class Phase:
    """One step of an instrumented run: inclusive wall time (s), calls, peak RSS (MiB)
    during it and RSS after it."""

    name: str
    what: str
    calls: int = 0
    wall_s: float = 0.0
    cpu_s: float = 0.0  # CPU time of the process (all threads) during the step
    peak_mib: float = 0.0
    rss_after_mib: float = 0.0
    depth: int = 0


class _Timer:
    """Wall time and peak RSS of nested steps: at every step boundary the kernel's peak mark
    (``VmHWM``) is folded into every open step's peak and reset (``/proc/self/clear_refs``),
    so each step's peak is its own even when steps nest."""

    def __init__(self) -> None:
        self.phases: dict[str, Phase] = {}
        self.open: list[Phase] = []
        self.peak_mib = 0.0
        self._reset_ok = True

    def _fold(self) -> None:
        hwm = status_mib("VmHWM")
        self.peak_mib = max(self.peak_mib, hwm)
        for p in self.open:
            p.peak_mib = max(p.peak_mib, hwm)
        if self._reset_ok:
            try:
                with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
                    fh.write("5")
            except OSError:
                self._reset_ok = False

    @contextlib.contextmanager
    def step(self, name: str, what: str) -> Iterator[None]:
        phase = self.phases.setdefault(name, Phase(name, what, depth=len(self.open)))
        self._fold()
        self.open.append(phase)
        t0, c0 = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            phase.wall_s += time.perf_counter() - t0
            phase.cpu_s += time.process_time() - c0
            phase.calls += 1
            self._fold()
            self.open.remove(phase)
            phase.rss_after_mib = status_mib("VmRSS")


def _wrap(timer: _Timer, fn: Callable[..., Any], name: str, what: str) -> Callable[..., Any]:
    @functools.wraps(fn)
    def timed(*args: Any, **kwargs: Any) -> Any:
        label = name
        if name == "atomic_write" and args:  # one step per output file
            label = f"write {Path(args[0]).name}"
        with timer.step(label, what if label == name else label):
            return fn(*args, **kwargs)
    return timed


def _phases_child(argv: Sequence[str]) -> dict[str, Any]:
    """Run ``anzhi.cli.main(argv)`` with the steps of :data:`PHASES` timed (this process)."""
    timer = _Timer()
    from anzhi.cli import main as cli_main

    for module, names in PHASES.items():
        mod = importlib.import_module(module)
        for attr, what in names:
            setattr(mod, attr, _wrap(timer, getattr(mod, attr), attr, what))
    with timer.step("anzhi gaps", "anzhi.cli.main (the whole command)"):
        rc = cli_main(list(argv))
    if rc != 0:
        raise RuntimeError(f"anzhi gaps exited with {rc}")
    timer._fold()
    return {"phases": [dataclasses.asdict(p) for p in timer.phases.values()],
            "peak_mib": timer.peak_mib}


def run_phases(inputs: Inputs, work: Path) -> tuple[list[Phase], float, float]:
    """The instrumented run (``--child-phases``) of ``inputs``: its steps, the child's wall
    time (s) and peak RSS (MiB)."""
    out = Path(tempfile.mkdtemp(prefix="phases-", dir=work))
    wall, _peak, _cpu, stdout = run_measured(
        [sys.executable, "-m", "bench.bench_scale", "--child-phases", "--",
         *gaps_argv(inputs, out / "out")], env=_child_env(out / "cache"))
    rec = json.loads(stdout.strip().splitlines()[-1])
    # the child resets the kernel's peak mark, so its own fold of the marks is its peak
    return [Phase(**p) for p in rec["phases"]], wall, float(rec["peak_mib"])


def _profile_child(argv: Sequence[str], top: int) -> list[dict[str, Any]]:
    """Run ``anzhi.cli.main(argv)`` under cProfile: the ``top`` functions by own time."""
    import cProfile
    import pstats

    from anzhi.cli import main as cli_main

    prof = cProfile.Profile()
    rc = prof.runcall(cli_main, list(argv))
    if rc != 0:
        raise RuntimeError(f"anzhi gaps exited with {rc}")
    stats = pstats.Stats(prof)
    rows = []
    table: dict[tuple[str, int, str], tuple[Any, ...]] = getattr(stats, "stats", {})
    for (file, line, func), (_cc, ncalls, tottime, cumtime, _callers) in table.items():
        rows.append({"where": f"{_short(file)}:{line} {func}", "calls": ncalls,
                     "own_s": tottime, "cum_s": cumtime})
    rows.sort(key=lambda r: -r["own_s"])
    return rows[:top]


def _short(file: str) -> str:
    """A source path relative to the repository or to site-packages."""
    for root in ("site-packages" + os.sep, str(REPO) + os.sep):
        i = file.find(root)
        if i >= 0:
            return file[i + len(root):]
    return file


def run_profile(inputs: Inputs, work: Path, *, top: int = 25) -> list[dict[str, Any]]:
    """A cProfile run (``--child-profile``) of ``inputs``: the ``top`` functions by own time."""
    out = Path(tempfile.mkdtemp(prefix="profile-", dir=work))
    _wall, _peak, _cpu, stdout = run_measured(
        [sys.executable, "-m", "bench.bench_scale", "--child-profile", "--top", str(top), "--",
         *gaps_argv(inputs, out / "out")], env=_child_env(out / "cache"))
    return list(json.loads(stdout.strip().splitlines()[-1]))


# ============================================================================ report


def _target(value: float, limit: float) -> str:
    return "met" if value < limit else "**missed**"


def render(runs: Sequence[Run], phases: Sequence[Phase], *, phases_wall_s: float,
           phases_peak_mib: float, profile: Sequence[dict[str, Any]] = ()) -> str:
    """The ``scale`` section's body: the runs, the steps of the instrumented run, the
    targets (largest size) and, given ``profile``, the hottest functions."""
    largest = max(r.n_sites for r in runs)
    big = [r for r in runs if r.n_sites == largest]
    r0 = big[0]
    lines = [
        f"`anzhi gaps` end to end on the synthetic demo county (40 × 40 km, its OSM roads, "
        f"DEM and facility GeoPackage) with a generated site table "
        f"(`bench.bench_scale.make_sites`: template headers, GCJ-02, {r0.fmt}), each run "
        "the real command line in its own process with an empty road-graph cache: "
        "`anzhi gaps --sites S --facilities F.gpkg --roads R.osm --dem D.tif --out O "
        "--quiet`. *wall* is the child's start to exit, *peak* its peak RSS, *run* the "
        "CLI's own figure (pipeline and writing, without start-up and imports).",
        "",
        "| sites | input | facilities | site × rule checks | gaps | wall | run | CPU | peak | "
        "outputs | gaps.xlsx |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in runs:
        xlsx = r.bytes.get("gaps.xlsx", 0) / 2**20
        total = sum(r.bytes.values()) / 2**20
        lines.append(f"| {r.n_sites:,} | {r.fmt} | {r.n_facilities:,} | {r.n_checks:,} | "
                     f"{r.n_gaps:,} | {fmt_secs(r.wall_s)} | {fmt_secs(r.cli_s)} | "
                     f"{fmt_secs(r.cpu_s)} | {fmt_mib(r.peak_mib)} | {total:,.0f} MiB | "
                     f"{xlsx:,.0f} MiB |")
    top = next((p for p in phases if p.name == "anzhi gaps"), None)
    rest = top.cpu_s - sum(p.cpu_s for p in phases if p.depth == 1) if top is not None else 0.0
    lines += [
        "", f"Where the time goes ({largest:,} sites, one instrumented run of the same "
        f"command: {fmt_secs(phases_wall_s)} wall, {fmt_mib(phases_peak_mib)} peak; each "
        "step's times include the steps indented under it; *CPU* is the process's CPU time "
        "during the step (all threads), *share* its part of the command's CPU time, *peak* "
        "the process's peak RSS during the step, *after* its RSS at the step's end):",
        "", "| step | what | calls | wall | CPU | share | peak | after |",
        "|---|---|---|---|---|---|---|---|",
    ]
    whole = top.cpu_s if top is not None and top.cpu_s > 0 else 1.0
    for p in phases:
        indent = "&nbsp;&nbsp;" * p.depth
        lines.append(f"| {indent}`{p.name}` | {p.what} | {p.calls} | {fmt_secs(p.wall_s)} | "
                     f"{fmt_secs(p.cpu_s)} | {p.cpu_s / whole:.0%} | {fmt_mib(p.peak_mib)} | "
                     f"{fmt_mib(p.rss_after_mib)} |")
    if top is not None:
        lines.append(f"| (the rest of `anzhi gaps`) | argument checks, folder moves, what the "
                     f"steps above do not cover | | | {fmt_secs(rest)} | {rest / whole:.0%} | | |")
    worst_s = max(r.wall_s for r in big)
    worst_m = max(r.peak_mib for r in big)
    times = ", ".join(f"{fmt_secs(r.wall_s)} (CPU {fmt_secs(r.cpu_s)})" for r in big)
    peaks = ", ".join(fmt_mib(r.peak_mib) for r in big)
    lines += ["", f"| target (issue 18.7), {largest:,} sites, {len(big)} run(s) | measured | |",
              "|---|---|---|",
              f"| end to end < {TARGET_S:.0f} s | {times} | {_target(worst_s, TARGET_S)} |",
              f"| peak < 2 GB | {peaks} | {_target(worst_m, TARGET_MIB)} |"]
    if profile:
        lines += ["", f"Hottest functions by own time (cProfile, {largest:,} sites; the "
                  "profiler slows Python-level code more than C code):", "",
                  "| function | calls | own | cumulative |", "|---|---|---|---|"]
        for row in profile:
            lines.append(f"| `{row['where']}` | {row['calls']:,} | {fmt_secs(row['own_s'])} | "
                         f"{fmt_secs(row['cum_s'])} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = bench_args(__doc__, argv, {
        "--sites": {"type": int, "nargs": "+", "default": None,
                    "help": f"site counts (default {', '.join(f'{n:,}' for n in SCALE_SITES)})"},
        "--quick": {"action": "store_true", "help": f"{QUICK_SITES:,} sites, once (smoke test)"},
        "--repeat": {"type": int, "default": 2, "help": "runs of the largest size (default 2)"},
        "--format": {"choices": ("xlsx", "csv"), "default": "xlsx", "dest": "fmt",
                     "help": "site table format (default xlsx)"},
        "--seed": {"type": int, "default": 7},
        "--profile": {"action": "store_true", "help": "add a cProfile run of the largest size"},
        "--top": {"type": int, "default": 25, "help": "functions listed by --profile"},
        "--work": {"type": Path, "help": "keep the inputs and outputs in this folder"},
        "--child-phases": {"action": "store_true", "help": "internal: instrumented run"},
        "--child-profile": {"action": "store_true", "help": "internal: cProfile run"},
        "cli": {"nargs": "*", "help": "internal: arguments of anzhi (after --)"},
    })
    if args.child_phases:
        print(json.dumps(_phases_child(args.cli)))
        return 0
    if args.child_profile:
        print(json.dumps(_profile_child(args.cli, args.top)))
        return 0
    sizes = [QUICK_SITES] if args.quick else sorted(args.sites or SCALE_SITES)
    repeat = 1 if args.quick else max(1, args.repeat)
    with contextlib.ExitStack() as stack:
        work = args.work or Path(stack.enter_context(
            tempfile.TemporaryDirectory(prefix="anzhi-bench-scale-")))
        work.mkdir(parents=True, exist_ok=True)
        runs, phases, wall, peak, profile = measure(sizes, work=work, repeat=repeat,
                                                    fmt=args.fmt, seed=args.seed,
                                                    profile=args.profile, top=args.top)
    cmd = "python -m bench.bench_scale" + (" --quick" if args.quick else "") + (
        f" --sites {' '.join(map(str, sizes))}" if args.sites else "") + (
        f" --format {args.fmt}" if args.fmt != "xlsx" else "") + (
        " --profile" if args.profile else "")
    publish("scale", render(runs, phases, phases_wall_s=wall, phases_peak_mib=peak,
                            profile=profile),
            command=cmd, write=not (args.no_write or args.quick))
    return 0


def measure(sizes: Sequence[int], *, work: Path, repeat: int = 2, fmt: str = "xlsx",
            seed: int = 7, profile: bool = False, top: int = 25, demo: Any = None
            ) -> tuple[list[Run], list[Phase], float, float, list[dict[str, Any]]]:
    """Generate and run every size (the largest ``repeat`` times), then the instrumented run
    (and with ``profile`` the cProfile run) of the largest: (runs, phases, the instrumented
    run's wall time s and peak MiB, the profile rows).  The demo county is built in
    ``work/demo`` unless ``demo`` is given."""
    from layers.demo import build_demo

    if demo is None:
        demo = build_demo(work / "demo")
    runs: list[Run] = []
    inputs: Inputs | None = None
    for n in sizes:
        log(f"bench_scale: generating {n:,} sites ({fmt})")
        inputs = make_inputs(work, n, seed=seed, fmt=fmt, demo=demo)
        for k in range(repeat if n == max(sizes) else 1):
            log(f"bench_scale: anzhi gaps, {n:,} sites, run {k + 1}")
            runs.append(run_gaps(inputs, work))
            log(f"bench_scale: {fmt_secs(runs[-1].wall_s)}, {fmt_mib(runs[-1].peak_mib)}")
    assert inputs is not None
    log(f"bench_scale: instrumented run, {inputs.n_sites:,} sites")
    phases, wall, peak = run_phases(inputs, work)
    rows: list[dict[str, Any]] = []
    if profile:
        log(f"bench_scale: cProfile run, {inputs.n_sites:,} sites")
        rows = run_profile(inputs, work, top=top)
    return runs, phases, wall, peak, rows


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
