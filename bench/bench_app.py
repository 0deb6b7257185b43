"""App latency on the demo county, driven by ``streamlit.testing.v1.AppTest``.

``python -m bench.bench_app`` measures, in this fresh process (empty Streamlit caches):

* the first load: reading and validating the demo county's files, building the road graph,
  routing every site, slope > 25° polygons from the DEM, evaluating the rules and drawing
  the map and tables (the demo files
  themselves are built beforehand, as ``make run`` does with ``anzhi demo``);
* a threshold change (police room 800 ↔ 1,000 people), repeated: what a planner waits for
  when asking "what if" — only the rule evaluation, the map and the tables are redone;
* a language switch and a township filter change;
* a threshold change with the steep-land layer switched off;
* a what-if placement (a hypothetical clinic placed by a map click: only it is routed);
* a budget change of the recommend panel (MCLP, clinics: solved again, never routed);
* ``anzhi map --demo`` end to end in a child process (warm caches), the printable map.

Each timing is the wall time of ``AppTest.run()``, which includes AppTest's own overhead of
polling the script thread.  The section ``app`` of docs/benchmarks.md is rewritten.
"""

from __future__ import annotations

import statistics
import time
import warnings

from bench.report import REPO, bench_args, publish

POLICE_KEY = "thr:police-800.min_population"
TARGET_FIRST_S = 20.0
TARGET_CHANGE_S = 0.25  # issue 17: a threshold change
TARGET_VIEW_S = 0.5  # language, township filter
TARGET_WHATIF_S = 0.5
TARGET_MAP_S = 5.0


def _timed_run(at, cpu: list[float] | None = None) -> float:  # type: ignore[no-untyped-def]
    """Wall seconds of one script run; its CPU seconds (all threads of this process, a check
    on the wall time when other jobs share the machine) are appended to ``cpu``."""
    t0 = time.perf_counter()
    c0 = time.process_time()
    at.run()
    wall = time.perf_counter() - t0
    if cpu is not None:
        cpu.append(time.process_time() - c0)
    if at.exception:
        raise RuntimeError(f"the app raised: {at.exception}")
    if at.error:
        raise RuntimeError(f"the app showed errors: {[e.value for e in at.error]}")
    return wall


def _share_script_cache() -> None:
    """Compile app.py once for the whole benchmark, as a Streamlit server does.

    A server keeps one ``ScriptCache`` (the script's compiled bytecode) for its lifetime,
    but ``AppTest`` builds a fresh one for every ``run()``, so each timed run would also
    re-read, re-parse and re-compile app.py — work a planner's rerun never waits for.
    """
    import streamlit.testing.v1.local_script_runner as lsr
    from streamlit.runtime.scriptrunner.script_cache import ScriptCache

    shared = ScriptCache()
    lsr.ScriptCache = lambda: shared  # type: ignore[assignment,misc]


def measure(repeat: int = 10) -> dict[str, list[float]]:
    """Wall times (s) of the app's reruns on the demo county; ``cpu:<step>`` keys hold the
    CPU seconds of the same runs."""
    from streamlit.testing.v1 import AppTest

    _share_script_cache()

    from layers.demo import build_demo

    build_demo()  # the demo files exist before the app starts, as with `make run`
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=600)
    out: dict[str, list[float]] = {}

    def step(name: str) -> None:
        out.setdefault(name, []).append(_timed_run(at, out.setdefault("cpu:" + name, [])))

    step("first")
    widget_values = [1000, 800] * ((repeat + 1) // 2)
    for value in widget_values[:repeat]:
        at.number_input(key=POLICE_KEY).set_value(value)
        step("threshold")
    for lang in ["en", "zh"] * 2:
        at.radio(key="lang").set_value(lang)
        step("language")
    towns = [o for o in at.selectbox(key="filter:township").options if o]
    for town in [towns[0], towns[-1], towns[0]]:
        at.selectbox(key="filter:township").set_value(town)
        step("township")
    at.selectbox(key="filter:township").set_value("")
    _timed_run(at)
    at.checkbox(key="show_steep").uncheck()
    _timed_run(at)
    for value in widget_values[:4]:
        at.number_input(key=POLICE_KEY).set_value(value)
        step("threshold_no_steep")
    _whatif_and_budget(at, step)
    out["map"], out["cpu:map"] = _cli_map()
    return out


def _whatif_and_budget(at, step) -> None:  # type: ignore[no-untyped-def]
    """What-if placements (a new clinic east of a site each time) and budget changes."""
    from anzhi.pipeline import RegionInputs
    from layers.sites import read_sites

    table = read_sites(RegionInputs.demo().sites)
    placed: list[tuple[str, float, float]] = []
    for g in list(table.geometry)[:5]:
        placed.append(("clinic", float(g.x) + 0.0008, float(g.y)))
        at.session_state["whatif:placed"] = list(placed)
        step("whatif")
    at.session_state["whatif:placed"] = []
    _timed_run(at)
    at.toggle(key="site:on").set_value(True)
    at.multiselect(key="site:types").set_value(["clinic"])
    at.radio(key="site:model").set_value("mclp")
    _timed_run(at)  # the siting routing, once
    for budget in (2, 4, 6, 3):
        at.number_input(key="site:budget").set_value(budget)
        step("budget")


def _cli_map() -> tuple[list[float], list[float]]:
    """Wall and CPU seconds (children) of ``anzhi map --demo`` twice, caches warm."""
    import os
    import resource
    import subprocess
    import sys
    import tempfile

    walls, cpus = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(3):
            c0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.perf_counter()
            anzhi = os.path.join(os.path.dirname(sys.executable), "anzhi")
            subprocess.run([anzhi, "map", "--demo", "--quiet", "--out",
                            os.path.join(tmp, f"m{i}.png")], check=True, capture_output=True)
            wall = time.perf_counter() - t0
            c1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            if i:  # the first run warms the caches (road graph, slope)
                walls.append(wall)
                cpus.append(c1.ru_utime - c0.ru_utime + c1.ru_stime - c0.ru_stime)
    return walls, cpus


def report(times: dict[str, list[float]]) -> str:
    """The markdown body of the section."""
    def row(name: str, key: str, target: float | None) -> str:
        xs = times[key]
        cpu = statistics.median(times["cpu:" + key])
        med = statistics.median(xs)
        verdict = "" if target is None else ("yes" if med < target else "**no**")
        tgt = "" if target is None else f"< {target:g}"
        return (f"| {name} | {len(xs)} | {med:.2f} | {min(xs):.2f} | {max(xs):.2f} | {cpu:.2f} "
                f"| {tgt} | {verdict} |")

    lines = [
        "Demo county (60 sites, synthetic), default view (steep land > 25°, parcels and "
        "township outlines shown), `AppTest` wall time per script run in seconds (AppTest's "
        "polling adds a little to each), and the median CPU seconds of the same runs (all "
        "threads of the process: what the run costs whatever else the machine is doing). "
        "*met* compares the wall-time median with the target. The script is compiled once "
        "for the whole benchmark, as a Streamlit server does (AppTest alone would recompile "
        "app.py on every run).",
        "",
        "| step | runs | median | min | max | CPU median | target | met |",
        "|---|---|---|---|---|---|---|---|",
        row("first load (read, graph, route, slope > 25°, evaluate, draw)", "first", TARGET_FIRST_S),
        row("threshold change police 800 ↔ 1,000", "threshold", TARGET_CHANGE_S),
        row("language switch", "language", TARGET_VIEW_S),
        row("township filter", "township", TARGET_VIEW_S),
        row("threshold change, steep-land layer switched off", "threshold_no_steep", TARGET_CHANGE_S),
        row("what-if: a clinic placed by a click (only it routed)", "whatif", TARGET_WHATIF_S),
        row("recommend panel: budget change (solved again, not routed)", "budget", None),
        row("`anzhi map --demo` (child process, caches warm)", "map", TARGET_MAP_S),
        "",
        "A threshold change reruns only the rule evaluation (`evaluate_region`), the map "
        "(`build_map`, overlays pre-serialised and cached) and the tables; loading, routing, "
        "overlays (GeoJSON serialised once) and the steep land come from `st.cache_resource`. "
        "Steep land > 25° reaches the page as one PNG image overlay (~0.1 MB, rasterised once "
        "per DEM on a Web-Mercator grid) instead of its polygons (1.2 MB of GeoJSON that "
        "st_folium re-processed on every rerun), so the map script is ~0.4 MB instead of "
        "1.5 MB; Anzhi's map layers skip branca's per-render Jinja compilation of their "
        "script text (including each layer's add-to-map line), the charts are Vega-Lite specs "
        "built directly (no Altair schema validation per rerun), and the site and facility "
        "layers are built from plain lists rather than per-status pandas selections.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = bench_args(__doc__, argv, {
        "--repeat": {"type": int, "default": 10, "help": "threshold changes to time"},
    })
    warnings.simplefilter("ignore")
    times = measure(args.repeat)
    publish("app", report(times), command="python -m bench.bench_app", write=not args.no_write)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
