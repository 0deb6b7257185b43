"""Smoke test of the scale benchmark (``bench/bench_scale.py``) on a few hundred sites: no
timing is asserted, only that the generated site table is one ``read_sites`` accepts (xlsx as
Excel saves it, and csv), that ``anzhi gaps`` runs on it as a child process and writes its
outputs, that the instrumented run times the pipeline's steps, and that the section names the
runs, the steps and the targets."""

from __future__ import annotations

import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest

from bench.bench_scale import (SITE_HEADERS, make_inputs, make_sites, measure, render,
                               write_sites)
from layers.demo import DemoPaths, build_demo
from layers.sites import read_sites


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoPaths:
    return build_demo(tmp_path_factory.mktemp("scale") / "demo")


def test_generated_table_is_a_site_table(demo: DemoPaths, tmp_path: Path) -> None:
    df = make_sites(demo, 300, seed=3)
    assert tuple(df.columns) == SITE_HEADERS and len(df) == 300
    assert make_sites(demo, 300, seed=3).equals(df)  # seeded
    assert df["户数"].isna().any() and (df["人数"] >= 10).all()
    assert set(df["安置方式"]) == {"城镇", "农村"} and set(df["卫生室"]) == {"有", "无"}
    xlsx = write_sites(df, tmp_path / "s.xlsx")
    with zipfile.ZipFile(xlsx) as zf:  # as Excel saves it: shared strings, a dimension
        assert "xl/sharedStrings.xml" in zf.namelist()
        assert b'<dimension ref="A1:M301"/>' in zf.read("xl/worksheets/sheet1.xml")
    a = read_sites(xlsx)
    b = read_sites(write_sites(df, tmp_path / "s.csv"))
    assert len(a) == len(b) == 300
    assert a.drop(columns="geometry").equals(b.drop(columns="geometry"))
    assert list(a["site_id"][:2]) == ["SC000001", "SC000002"]
    assert a["population"].tolist() == df["人数"].tolist()
    assert a["has_clinic"].tolist() == (df["卫生室"] == "有").tolist()
    assert set(a["township"]) <= set(gpd.read_file(demo.townships)["township"])
    # GCJ-02 in the table, WGS84 after reading: the shift is a few hundred metres
    shift = np.hypot(a.geometry.x - df["经度"], a.geometry.y - df["纬度"])
    assert (shift > 1e-4).all() and (shift < 1e-2).all()


def test_runs_instrumented_run_and_section(demo: DemoPaths, tmp_path: Path) -> None:
    runs, phases, wall, peak, profile = measure([200, 400], work=tmp_path, repeat=2,
                                                profile=True, top=5, demo=demo)
    assert [r.n_sites for r in runs] == [200, 400, 400]  # the largest twice
    for r in runs:
        assert r.wall_s > r.cli_s > 0 and r.cpu_s > 0 and r.peak_mib > 0
        assert r.n_checks > r.n_sites and r.n_facilities > 0
        assert set(r.bytes) == {"gaps.csv", "gaps.xlsx", "coverage.csv", "access.csv",
                                "gaps.gpkg"}
    names = {p.name: p for p in phases}
    for step in ("anzhi gaps", "read_sites", "access_table", "evaluate", "screen_hazards",
                 "write gaps.xlsx", "site_plans"):
        assert names[step].calls >= 1 and names[step].wall_s > 0, step
    assert names["site_plans"].depth == names["write gaps.xlsx"].depth + 1  # nested
    assert names["anzhi gaps"].wall_s >= sum(p.wall_s for p in phases if p.depth == 1)
    assert names["anzhi gaps"].peak_mib <= peak and wall > names["anzhi gaps"].wall_s
    assert len(profile) == 5 and profile[0]["own_s"] >= profile[-1]["own_s"]
    body = render(runs, phases, phases_wall_s=wall, phases_peak_mib=peak, profile=profile)
    for text in ("| 400 | xlsx |", "`write gaps.xlsx`", "| end to end < 60 s |",
                 "| peak < 2 GB |", "Hottest functions"):
        assert text in body


def test_make_inputs_writes_the_table_beside_the_demo(demo: DemoPaths, tmp_path: Path) -> None:
    inputs = make_inputs(tmp_path, 50, fmt="csv", demo=demo)
    assert inputs.sites == tmp_path / "sites-50.csv" and inputs.n_sites == 50
    assert len(read_sites(inputs.sites)) == 50
