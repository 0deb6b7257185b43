"""Province outputs and workers (issue 15): gaps.gpkg and GeoParquet of a province, the
per-worker memory limit of the local cluster, the dashboard line.

Three small generated counties (SYNTHETIC; :func:`layers.split.write_demo_province`), run
on real ``distributed.LocalCluster`` s of worker processes (no mocks).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
from shapely.geometry import Point

from anzhi.cli import main
from anzhi.core.errors import InputError
from anzhi.core.settings import override
from anzhi.pipeline import run_region, write_region
from anzhi.province import DASHBOARD_NEEDS_BOKEH, check_memory_limit, county_inputs, run_province
from layers.province import read_manifest, write_demo_province
from layers.provout import merge_sites, province_site_layers


@pytest.fixture(scope="module")
def province(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``manifest.yaml`` of 3 generated counties (one demo region of seed 11, split)."""
    return write_demo_province(tmp_path_factory.mktemp("province"), 3, seed=11,
                               size_km=6.0, res_m=60.0, n_sites=5)


@pytest.fixture(scope="module")
def run_out(province: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One CLI province run with --format parquet and --memory-limit, into a fresh folder."""
    root = tmp_path_factory.mktemp("run")
    out = root / "out"
    with override(cache_dir=root / "cache"):
        code = main(["gaps", "--province", str(province), "--workers", "2", "--memory-limit",
                     "1GiB", "--format", "parquet", "--out", str(out), "--quiet"])
    assert code == 0
    # one folder commit: the staging and temporary folders beside it are gone
    assert [p.name for p in root.iterdir() if p.name.startswith(".")] == []
    return out


@pytest.mark.slow
def test_province_gpkg_has_every_gap_row_with_its_county(run_out: Path) -> None:
    gaps_csv = pd.read_csv(run_out / "gaps.csv", encoding="utf-8-sig", dtype={"site_id": str})
    layers = dict(pyogrio.list_layers(run_out / "gaps.gpkg"))
    assert set(layers) == {"gaps", "sites"}
    pts = gpd.read_file(run_out / "gaps.gpkg", layer="gaps")
    sites = gpd.read_file(run_out / "gaps.gpkg", layer="sites")
    assert len(pts) == len(gaps_csv) > 0
    assert pts.crs is not None and pts.crs.to_epsg() == 4326
    assert sites.crs is not None and sites.crs.to_epsg() == 4326
    assert set(pts["county"]) == set(gaps_csv["county"]) == {"county_1", "county_2", "county_3"}
    assert sorted(zip(pts["county"], pts["site_id"], pts["rule_id"], strict=True)) == sorted(
        zip(gaps_csv["county"], gaps_csv["site_id"], gaps_csv["rule_id"], strict=True))
    assert pts.geometry.notna().all() and not pts.geometry.is_empty.any()
    assert set(sites["county"]) == set(gaps_csv["county"])
    assert len(sites) == gaps_csv.groupby(["county", "site_id"]).ngroups
    # the sites' worst status agrees with their gap rows
    gap_rows = pts.groupby(["county", "site_id"])["status"].apply(
        lambda s: int(s.str.startswith("gap").sum()))
    assert (sites.set_index(["county", "site_id"])["n_gaps"].reindex(gap_rows.index)
            == gap_rows).all()


@pytest.mark.slow
def test_province_gpkg_has_the_schema_of_a_county_run(run_out: Path, province: Path,
                                                      tmp_path: Path) -> None:
    county = read_manifest(province).counties[0]
    with override(cache_dir=tmp_path / "cache", progress=False):
        res = run_region(county_inputs(county), progress=False)
        write_region(res, tmp_path / "one")
    for layer in ("gaps", "sites"):
        one = gpd.read_file(tmp_path / "one" / "gaps.gpkg", layer=layer)
        prov = gpd.read_file(run_out / "gaps.gpkg", layer=layer)
        assert list(prov.columns) == list(one.columns), layer
        mine = prov.loc[prov["county"] == county.name].reset_index(drop=True)
        if layer == "sites":  # same points and statuses as the county's own run
            key = ["site_id"]
            a = mine.sort_values(key).reset_index(drop=True)
            b = one.sort_values(key).reset_index(drop=True)
            assert a["status"].tolist() == b["status"].tolist()
            assert a.geometry.geom_equals_exact(b.geometry, tolerance=1e-9).all()


@pytest.mark.slow
def test_province_geoparquet_reads_back_as_the_gpkg_layers(run_out: Path) -> None:
    for name, layer in (("gaps.parquet", "gaps"), ("sites.parquet", "sites")):
        pq = gpd.read_parquet(run_out / name)
        gp = gpd.read_file(run_out / "gaps.gpkg", layer=layer)
        assert pq.crs is not None and pq.crs.to_epsg() == 4326
        assert len(pq) == len(gp) > 0
        assert list(pq.columns) == list(gp.columns)
        assert pq["county"].tolist() == gp["county"].tolist()
        assert pq.geometry.geom_equals_exact(gp.geometry, tolerance=1e-9).all()


@pytest.mark.slow
def test_a_cached_rerun_writes_the_same_gpkg(run_out: Path, province: Path) -> None:
    # the fixture's cache: every county comes from it, its site points included
    cache = run_out.parent / "cache"
    again = run_out.parent / "again"
    with override(cache_dir=cache):
        res = run_province(province, out_dir=again, progress=False, parquet=True)
    assert set(res.report["status"]) == {"cached"} and res.worker_memory == {}
    a = gpd.read_file(run_out / "gaps.gpkg", layer="sites")
    b = gpd.read_file(again / "gaps.gpkg", layer="sites")
    pd.testing.assert_frame_equal(pd.DataFrame(a.drop(columns="geometry")),
                                  pd.DataFrame(b.drop(columns="geometry")))
    assert (again / "gaps.parquet").is_file()


def test_equal_site_ids_in_two_counties_are_two_points() -> None:
    def sites(x: float) -> gpd.GeoDataFrame:
        return gpd.GeoDataFrame({"site_id": ["S1"], "site_name": ["a"], "county": ["?"]},
                                geometry=[Point(x, 25.0)], crs=4326)

    both = merge_sites([("A", sites(100.0)), ("B", sites(101.0))])
    gaps = pd.DataFrame({"site_id": ["S1", "S1"], "county": ["A", "B"],
                         "rule_id": ["r", "r"], "status": ["ok", "gap_missing"]})
    pts, layer = province_site_layers(gaps, both)
    assert pts.geometry.x.tolist() == [100.0, 101.0]
    assert layer["county"].tolist() == ["A", "B"]
    assert layer["status"].tolist() == ["ok", "gap_missing"]
    assert layer["n_gaps"].tolist() == [0, 1]


@pytest.mark.slow
def test_the_memory_limit_reaches_the_workers(province: Path, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    with override(cache_dir=tmp_path / "cache"):
        res = run_province(province, out_dir=tmp_path / "out", workers=1,
                           memory_limit="768MiB", counties=["county_1"], use_cache=False,
                           progress=True)
    assert res.ok
    assert list(res.worker_memory.values()) == [768 * 2**20]
    err = capsys.readouterr().err
    if importlib.util.find_spec("bokeh"):
        assert res.dashboard_link and res.dashboard_link in err
    else:
        assert res.dashboard_link is None
        assert DASHBOARD_NEEDS_BOKEH in err and "http" not in err


@pytest.mark.parametrize("bad", ["lots", "4 parsecs", "10MB", "0", "-2GiB", "", True, 3.5])
def test_a_bad_memory_limit_is_refused(bad: object) -> None:
    with pytest.raises(InputError, match="--memory-limit .* e.g. --memory-limit 4GiB"):
        check_memory_limit(bad)  # type: ignore[arg-type]


def test_memory_limit_values_accepted() -> None:
    assert check_memory_limit(None) == "auto" and check_memory_limit("AUTO") == "auto"
    assert check_memory_limit("4GiB") == 4 * 2**30
    assert check_memory_limit("2.5 GB") == 2_500_000_000
    assert check_memory_limit(2**30) == 2**30


def test_a_bad_memory_limit_stops_the_run_before_anything_runs(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    missing = tmp_path / "no_such_manifest.yaml"  # would be a DataSourceError if read
    with pytest.raises(InputError, match="--memory-limit 'lots' is not a size"):
        run_province(missing, out_dir=out, memory_limit="lots")
    code = main(["gaps", "--province", str(missing), "--memory-limit", "100kB",
                 "--out", str(out)])
    assert code == 2
    err = capsys.readouterr().err
    assert "--memory-limit '100kB'" in err and "256 MiB" in err
    assert "no_such_manifest" not in err
    assert not out.exists()


def test_memory_limit_with_a_scheduler_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="--memory-limit or --scheduler, not both"):
        run_province(tmp_path / "m.yaml", out_dir=tmp_path / "o", memory_limit="4GiB",
                     scheduler="tcp://127.0.0.1:1")
