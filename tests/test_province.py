"""Province runs (issue 15): the manifest, one Dask task per county, faults, the results cache.

Three small generated counties sharing borders (SYNTHETIC; one demo region cut with a 10 km
buffer, :func:`layers.split.write_demo_province`); every run goes through a real
``distributed.LocalCluster`` of worker processes: its own (as the CLI does by default) in the
equality test, one shared cluster reached by ``--scheduler`` in the others (warm workers).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from anzhi.cli import main
from anzhi.core.errors import InputError
from anzhi.core.settings import override
from anzhi.pipeline import RegionInputs, RegionResults, run_region
from anzhi.province import run_province
from layers.export import write_outputs
from layers.province import read_manifest, write_demo_province

N_COUNTIES = 3


@pytest.fixture(scope="module")
def province(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``manifest.yaml`` of 3 generated counties (one demo region of seed 11, split)."""
    return write_demo_province(tmp_path_factory.mktemp("province"), N_COUNTIES, seed=11,
                               size_km=6.0, res_m=60.0, n_sites=5)


@pytest.fixture(scope="module")
def singles(province: Path) -> dict[str, RegionResults]:
    """Each county run alone with :func:`run_region` (in this process, no Dask)."""
    out = {}
    for c in read_manifest(province).counties:
        inputs = RegionInputs(sites=c.sites, roads=c.roads, facilities=c.facilities,
                              dem=c.dem, parcels=c.parcels, townships=c.townships, name=c.name)
        out[c.name] = run_region(inputs, progress=False)
    return out


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    """Address of a local cluster of 2 worker processes, shared by the tests below."""
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=":0") as cluster:
        yield str(cluster.scheduler_address)


def _expected(singles: dict[str, RegionResults], names: list[str], out: Path) -> Path:
    """The concatenation of single-county results, written by the single-region writer."""
    gaps = pd.concat([singles[n].gaps.assign(county=n) for n in names], ignore_index=True)
    access = pd.concat([singles[n].access for n in names], ignore_index=True)
    write_outputs(out, gaps=gaps, coverage=singles[names[0]].coverage, access=access,
                  rules=singles[names[0]].rules)
    return out / "gaps.csv"


def _report(out: Path) -> pd.DataFrame:
    return pd.read_csv(out / "report.csv", encoding="utf-8-sig", keep_default_na=False)


def test_manifest_problems_name_the_file_county_and_key(tmp_path: Path) -> None:
    bad = tmp_path / "manifest.yaml"
    bad.write_text("name: p\ncounties:\n  - {name: a, sites: s.xlsx, road: r.osm}\n"
                   "  - {name: a, sites: s.xlsx, roads: r.osm, facilities: 3}\n",
                   encoding="utf-8")
    with pytest.raises(InputError) as err:
        read_manifest(bad)
    text = str(err.value)
    assert "manifest.yaml" in text and "county 'a': unknown key 'road'" in text
    assert "county 'a': key 'roads' is missing" in text
    assert "key 'facilities' must be a list of paths" in text
    bad.write_text("name: p\ncounties: [\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"manifest.yaml: YAML syntax error at line \d"):
        read_manifest(bad)
    bad.write_text("name: p\nbuffer_km: -1\ncounties: []\n", encoding="utf-8")
    with pytest.raises(InputError, match="buffer_km") as err:
        read_manifest(bad)
    assert "'counties' must be a non-empty list" in str(err.value)


def test_demo_province_is_deterministic_and_readable(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    args = ["demo", "--province", "2", "--seed", "5", "--county-km", "5", "--county-sites", "3"]
    for run in ("a", "b"):
        assert main([*args, "--out", str(tmp_path / run)]) == 0
    assert capsys.readouterr().out.split() == [str(tmp_path / r / "manifest.yaml") for r in "ab"]
    man = read_manifest(tmp_path / "a" / "manifest.yaml")
    assert [c.name for c in man.counties] == ["county_1", "county_2"]
    for c in man.counties:
        assert all(p.is_file() for _, p in c.files())
        for _, p in c.files():  # the same arguments give the same bytes
            other = tmp_path / "b" / p.relative_to(tmp_path / "a")
            assert p.read_bytes() == other.read_bytes(), p
    # two counties of one region: different sites, the same DEM
    assert man.counties[0].sites.read_bytes() != man.counties[1].sites.read_bytes()
    assert man.counties[0].dem == man.counties[1].dem
    assert main(["demo", "--province", "2"]) == 2  # needs --out


def test_manifest_paths_are_relative_and_counties_selected(province: Path) -> None:
    man = read_manifest(province)
    assert [c.name for c in man.counties] == ["county_1", "county_2", "county_3"]
    assert man.counties[1].sites == province.parent / "split" / "2" / "sites.gpkg"
    assert [c.prefecture for c in man.counties] == ["prefecture_1", "prefecture_1",
                                                    "prefecture_2"]
    assert man.buffer_km == 10.0
    assert [c.name for c in man.select(["county_3", "county_1"]).counties] == [
        "county_1", "county_3"]
    with pytest.raises(InputError, match="no county named 'nope'.*county_1, county_2"):
        man.select(["nope"])


@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2])
def test_province_equals_the_single_county_runs(
        province: Path, singles: dict[str, RegionResults], scheduler: str, tmp_path: Path,
        workers: int) -> None:
    # 1 worker: run_province's own LocalCluster (the CLI default); 2: the shared cluster
    with override(cache_dir=tmp_path / "cache"):
        res = run_province(province, out_dir=tmp_path / "out", progress=False,
                           workers=1 if workers == 1 else None,
                           scheduler=None if workers == 1 else scheduler)
    names = [f"county_{i}" for i in range(1, N_COUNTIES + 1)]
    assert res.ok and [o.status for o in res.outcomes] == ["ok"] * N_COUNTIES
    expected = _expected(singles, names, tmp_path / "expected")
    assert (tmp_path / "out" / "gaps.csv").read_bytes() == expected.read_bytes()
    gaps = pd.read_csv(tmp_path / "out" / "gaps.csv", encoding="utf-8-sig")
    assert sorted(gaps["county"].unique()) == names
    assert len(gaps) == sum(len(singles[n].gaps) for n in names)
    # county level of the province coverage = each county's own coverage of its sites
    cov = pd.read_csv(tmp_path / "out" / "coverage.csv", encoding="utf-8-sig",
                      keep_default_na=False)
    assert set(cov["level"]) == {"province", "prefecture", "county", "township"}
    cols = ["rule_id", "sites_required", "sites_covered", "pop_required", "pop_covered"]
    for n in names:
        own = singles[n].coverage.query("level == 'all'")[cols]
        got = cov.query("level == 'county' and county == @n")[cols]
        own, got = (t.sort_values("rule_id").reset_index(drop=True) for t in (own, got))
        pd.testing.assert_frame_equal(got, own, check_dtype=False)
    prov = cov.query("level == 'province'").set_index("rule_id")["sites_required"]
    county = cov.query("level == 'county'").groupby("rule_id")["sites_required"].sum()
    assert prov.sort_index().tolist() == county.sort_index().tolist()
    rep = _report(tmp_path / "out")
    assert rep["sites"].tolist() == [len(singles[n].data.sites) for n in names]
    access = pd.read_csv(tmp_path / "out" / "access.csv", encoding="utf-8-sig")
    assert access.columns[0] == "county" and len(access) == sum(
        len(singles[n].access) for n in names)


@pytest.mark.slow
def test_a_broken_county_fails_alone_with_exit_code_3(
        province: Path, singles: dict[str, RegionResults], scheduler: str,
        tmp_path: Path) -> None:
    folder = shutil.copytree(province.parent, tmp_path / "prov")
    (folder / "split" / "2" / "sites.gpkg").write_bytes(b"this is not a geopackage")
    with open(folder / "manifest.yaml", "a", encoding="utf-8") as fh:  # a fourth, missing file
        fh.write("- {name: ghost, sites: ghost/sites.xlsx, roads: split/1/roads.osm.pbf}\n")
    with override(cache_dir=tmp_path / "cache"):
        rc = main(["gaps", "--province", str(folder / "manifest.yaml"), "--scheduler",
                   scheduler, "--quiet", "--out", str(tmp_path / "out")])
    assert rc == 3
    rep = _report(tmp_path / "out")
    assert rep["county"].tolist() == ["county_1", "county_2", "county_3", "ghost"]
    assert rep["status"].tolist() == ["ok", "error", "ok", "error"]
    err = rep.loc[1, "error"]
    assert "sites.gpkg" in err and "Traceback" not in err and "\n" not in err
    assert rep.loc[[0, 2], "error"].tolist() == ["", ""]
    assert "county 'ghost': sites: file" in rep.loc[3, "error"]
    assert "manifest.yaml" in rep.loc[3, "error"] and "does not exist" in rep.loc[3, "error"]
    expected = _expected(singles, ["county_1", "county_3"], tmp_path / "expected")
    assert (tmp_path / "out" / "gaps.csv").read_bytes() == expected.read_bytes()


def _xlsx_cells(path: Path) -> dict[str, list[tuple[object, ...]]]:
    wb = openpyxl.load_workbook(path, read_only=True)
    return {ws.title: list(ws.iter_rows(values_only=True)) for ws in wb.worksheets}


@pytest.mark.slow
def test_a_rerun_uses_the_cache_and_no_cache_recomputes(province: Path, scheduler: str,
                                                        tmp_path: Path) -> None:
    args = ["gaps", "--province", str(province), "--scheduler", scheduler, "--quiet"]
    with override(cache_dir=tmp_path / "cache"):
        assert main([*args, "--out", str(tmp_path / "first")]) == 0
        assert _report(tmp_path / "first")["status"].tolist() == ["ok"] * N_COUNTIES
        assert main([*args, "--out", str(tmp_path / "again")]) == 0
        assert _report(tmp_path / "again")["status"].tolist() == ["cached"] * N_COUNTIES
        # a changed threshold is another key: recomputed, not served stale
        assert main([*args, "--county", "county_2", "--set", "police-800.min_population=10",
                     "--out", str(tmp_path / "changed")]) == 0
        assert _report(tmp_path / "changed")["status"].tolist() == ["ok"]
        assert main([*args, "--no-cache", "--out", str(tmp_path / "fresh")]) == 0
        assert _report(tmp_path / "fresh")["status"].tolist() == ["ok"] * N_COUNTIES
    for name in ("gaps.csv", "coverage.csv", "access.csv"):
        first = (tmp_path / "first" / name).read_bytes()
        assert first == (tmp_path / "again" / name).read_bytes(), name
        assert first == (tmp_path / "fresh" / name).read_bytes(), name
    assert _xlsx_cells(tmp_path / "first" / "gaps.xlsx") == _xlsx_cells(
        tmp_path / "again" / "gaps.xlsx")


@pytest.mark.slow
def test_a_run_that_stopped_after_one_county_resumes_to_the_same_result(
        province: Path, singles: dict[str, RegionResults], scheduler: str,
        tmp_path: Path) -> None:
    args = ["gaps", "--province", str(province), "--scheduler", scheduler, "--quiet"]
    with override(cache_dir=tmp_path / "cache"):
        # what a run killed after its first county leaves: that county's cache entry only
        assert main([*args, "--county", "county_1", "--out", str(tmp_path / "partial")]) == 0
        assert main([*args, "--out", str(tmp_path / "out")]) == 0
    assert _report(tmp_path / "out")["status"].tolist() == ["cached", "ok", "ok"]
    names = [f"county_{i}" for i in range(1, N_COUNTIES + 1)]
    expected = _expected(singles, names, tmp_path / "expected")
    assert (tmp_path / "out" / "gaps.csv").read_bytes() == expected.read_bytes()
