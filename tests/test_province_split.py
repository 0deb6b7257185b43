"""Province split from one site table, one road file and county polygons (issue 15).

The data are ``anzhi demo --province 3`` (SYNTHETIC): one demo region cut into three
counties that share borders (:func:`layers.split.write_demo_province`), in its two manifest
forms: ``manifest_split.yaml`` (the region's files and ``counties.gpkg``, split at run time)
and ``manifest.yaml`` (the same split done with 10 km, as county folders).  The Dask runs
use a real ``distributed.LocalCluster`` of worker processes.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

from analysis.statuses import COVERED_STATUSES
from anzhi.cli import main
from anzhi.core.errors import InputError
from anzhi.core.settings import override
from anzhi.pipeline import RegionInputs, run_region
from anzhi.province import NO_COUNTY, run_province
from layers.export import write_outputs
from layers.facilities import facilities_from_sites, read_facilities
from layers.province import read_manifest, resolve_split
from layers.sites import read_sites
from layers.split import (assign_points, buffered_polygons, read_counties, write_counties,
                          write_demo_province)

NAMES = ["county_1", "county_2", "county_3"]


@pytest.fixture(scope="module")
def province(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The province folder: 3 counties of one demo region (seed 11), 5 sites per county."""
    return write_demo_province(tmp_path_factory.mktemp("split"), 3, seed=11, size_km=6.0,
                               res_m=60.0, n_sites=5).parent


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache folder for the module: the split of each buffer is made once."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    """Address of a local cluster of 2 worker processes, shared by the tests below."""
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=":0") as cluster:
        yield str(cluster.scheduler_address)


def _csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, encoding="utf-8-sig", keep_default_na=False)


# --------------------------------------------------------------------------------------
# Geometry and the manifest (fast)
# --------------------------------------------------------------------------------------


def test_the_buffer_is_drawn_in_kilometres_and_border_points_go_to_the_first_county() -> None:
    west, east = shapely.box(99.0, 24.6, 99.1, 24.8), shapely.box(99.1, 24.6, 99.2, 24.8)
    counties = gpd.GeoDataFrame({"name": ["w", "e"], "prefecture": ["", ""]},
                                geometry=[west, east], crs="EPSG:4326")
    deg_per_km = 1.0 / (111.32 * np.cos(np.radians(24.7)))
    lon = np.array([99.2 + 9 * deg_per_km, 99.2 + 11 * deg_per_km])
    lat = np.array([24.7, 24.7])
    grown = buffered_polygons(counties, 10.0)
    assert shapely.intersects_xy(grown[1], lon, lat).tolist() == [True, False]
    assert shapely.intersects_xy(grown[0], lon, lat).tolist() == [False, False]
    assert buffered_polygons(counties, 0.0)[1].equals(east)
    # a point on the shared border belongs to the first county; one outside to none
    got = assign_points(np.array([99.1, 99.15, 99.3]), np.array([24.7, 24.7, 24.7]),
                        [west, east])
    assert got.tolist() == [0, 1, -1]


def test_county_polygons_and_split_manifests_are_checked(tmp_path: Path) -> None:
    gdf = gpd.GeoDataFrame({"名称": ["甲县", "甲县", ""]},
                           geometry=[shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1),
                                     shapely.box(2, 0, 3, 1)], crs="EPSG:4326")
    gdf.to_file(tmp_path / "c.gpkg", driver="GPKG")
    with pytest.raises(InputError) as err:
        read_counties(tmp_path / "c.gpkg")
    assert "county '甲县' appears twice" in str(err.value) and "blank county name" in str(
        err.value)
    with pytest.raises(InputError, match="no column 'county_name'"):
        read_counties(tmp_path / "c.gpkg", name_column="county_name")
    man = tmp_path / "manifest.yaml"
    man.write_text("name: p\ncounties: c.gpkg\nroads: r.osm\nfacilitys: [f.gpkg]\n",
                   encoding="utf-8")
    with pytest.raises(InputError) as err:
        read_manifest(man)
    text = str(err.value)
    assert "key 'sites' is missing" in text and "unknown key 'facilitys'" in text


def test_buffer_km_is_refused_for_a_manifest_of_county_folders(province: Path,
                                                                tmp_path: Path) -> None:
    with pytest.raises(InputError, match="--buffer-km applies to a province split"):
        run_province(province / "manifest.yaml", out_dir=tmp_path, buffer_km=5.0,
                     progress=False)


# --------------------------------------------------------------------------------------
# Province runs (Dask)
# --------------------------------------------------------------------------------------


def _run(province: Path, out: Path, cache: Path, scheduler: str | None, *,
         buffer_km: float | None = None, manifest: str = "manifest_split.yaml",
         workers: int | None = None) -> pd.DataFrame:
    with override(cache_dir=cache):
        res = run_province(province / manifest, out_dir=out, progress=False,
                           scheduler=scheduler, workers=workers, buffer_km=buffer_km,
                           use_cache=False)
    assert res.ok, res.report
    return _csv(out / "gaps.csv")


@pytest.mark.slow
def test_a_facility_across_the_border_serves_a_site_only_with_the_buffer(
        province: Path, cache: Path, scheduler: str, tmp_path: Path) -> None:
    with_buffer = _run(province, tmp_path / "b10", cache, scheduler, buffer_km=10.0)
    without = _run(province, tmp_path / "b0", cache, scheduler, buffer_km=0.0)
    both = with_buffer.merge(without, on=["county", "site_id", "rule_id"],
                             suffixes=("_10", "_0"), validate="one_to_one")
    assert len(both) == len(with_buffer) == len(without)
    cov10 = both["status_10"].isin(COVERED_STATUSES)
    cov0 = both["status_0"].isin(COVERED_STATUSES)
    assert not (cov0 & ~cov10).any()  # more facilities and roads never lose a site
    gained = both.loc[cov10 & ~cov0]
    assert len(gained), "no site served across a border: the test data lost its point"
    # the facility that serves it lies in another county's polygon
    counties = read_counties(province / "counties.gpkg")
    fac = pd.concat([read_facilities(province / "region" / "facilities.gpkg"),
                     facilities_from_sites(read_sites(province / "region" / "sites.xlsx"))],
                    ignore_index=True).set_index("facility_id")
    pts = fac.loc[gained["nearest_facility_id_10"].astype(str)].geometry
    home = assign_points(pts.x.to_numpy(), pts.y.to_numpy(), list(counties.geometry))
    own = gained["county"].map({n: i for i, n in enumerate(counties["name"])}).to_numpy()
    assert (home != own).any()
    cross = gained.loc[home != own]
    # without the buffer that facility is not in the county's files at all
    assert (cross["nearest_facility_id_0"].astype(str)
            != cross["nearest_facility_id_10"].astype(str)).all()


def _singles(province: Path, cache: Path, out: Path) -> Path:
    """Each split county run alone with :func:`run_region` (no Dask), concatenated and
    written by the single-region writer."""
    with override(cache_dir=cache):
        man, unassigned = resolve_split(read_manifest(province / "manifest_split.yaml"))
    assert len(unassigned) == 0 and [c.name for c in man.counties] == NAMES
    runs = {c.name: run_region(RegionInputs(sites=c.sites, roads=c.roads,
                                            facilities=c.facilities, dem=c.dem,
                                            parcels=c.parcels, townships=c.townships,
                                            name=c.name), progress=False)
            for c in man.counties}
    gaps = pd.concat([runs[n].gaps.assign(county=n) for n in NAMES], ignore_index=True)
    access = pd.concat([runs[n].access for n in NAMES], ignore_index=True)
    write_outputs(out, gaps=gaps, coverage=runs[NAMES[0]].coverage, access=access,
                  rules=runs[NAMES[0]].rules)
    return out / "gaps.csv"


@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2])
def test_the_split_province_equals_the_single_county_runs(
        province: Path, cache: Path, scheduler: str, tmp_path: Path, workers: int) -> None:
    # 1 worker: run_province's own LocalCluster; 2: the shared cluster of two workers
    _run(province, tmp_path / "out", cache, None if workers == 1 else scheduler,
         workers=1 if workers == 1 else None)
    expected = _singles(province, cache, tmp_path / "expected")
    assert (tmp_path / "out" / "gaps.csv").read_bytes() == expected.read_bytes()
    assert sorted(_csv(tmp_path / "out" / "gaps.csv")["county"].unique()) == NAMES
    # the prefecture level: each prefecture's rows are the sums of its counties' rows
    cov = _csv(tmp_path / "out" / "coverage.csv")
    assert list(cov.columns[:3]) == ["level", "prefecture", "county"]
    cols = ["sites_required", "sites_covered", "pop_required", "pop_covered"]
    pref = cov.query("level == 'prefecture'").set_index(["prefecture", "rule_id"])[cols]
    summed = cov.query("level == 'county'").groupby(["prefecture", "rule_id"])[cols].sum()
    assert sorted(pref.index.get_level_values(0).unique()) == ["prefecture_1", "prefecture_2"]
    pd.testing.assert_frame_equal(pref.sort_index(), summed.sort_index(), check_dtype=False)
    first = cov["rule_id"].iloc[0]
    assert cov.loc[cov["rule_id"] == first, "level"].drop_duplicates().tolist() == [
        "province", "prefecture", "county", "township"]


@pytest.mark.slow
def test_a_facility_in_two_buffers_is_counted_once(province: Path, cache: Path,
                                                   scheduler: str, tmp_path: Path) -> None:
    _run(province, tmp_path / "split", cache, scheduler)
    _run(province, tmp_path / "folders", cache, scheduler, manifest="manifest.yaml")
    rep = _csv(tmp_path / "split" / "report.csv")
    fac = pd.concat([read_facilities(province / "region" / "facilities.gpkg"),
                     facilities_from_sites(read_sites(province / "region" / "sites.xlsx"))],
                    ignore_index=True)
    assert int(rep["facilities"].sum()) == len(fac)  # the counties cover the region
    # ... although some facility is in two counties' facility files (their buffers)
    ids = [set(pyogrio.read_dataframe(c.facilities[0], read_geometry=False)["facility_id"])
           for c in read_manifest(province / "manifest.yaml").counties]
    assert ids[0] & ids[1] or ids[0] & ids[2] or ids[1] & ids[2]
    # the county folders (the same split) count the same
    assert _csv(tmp_path / "folders" / "report.csv")["facilities"].tolist() == rep[
        "facilities"].tolist()
    assert rep["prefecture"].tolist() == ["prefecture_1", "prefecture_1", "prefecture_2"]


@pytest.mark.slow
def test_sites_outside_every_county_are_reported_not_dropped(
        province: Path, cache: Path, scheduler: str, tmp_path: Path) -> None:
    folder = shutil.copytree(province, tmp_path / "prov", ignore=shutil.ignore_patterns(
        "split"))
    counties = read_counties(folder / "counties.gpkg")
    write_counties(counties.iloc[:2], folder / "counties.gpkg")  # county_3 missing
    with override(cache_dir=cache):
        rc = main(["gaps", "--province", str(folder / "manifest_split.yaml"), "--scheduler",
                   scheduler, "--buffer-km", "10", "--quiet", "--out", str(tmp_path / "out")])
        assert main(["gaps", "--province", str(folder / "manifest.yaml"), "--buffer-km", "5",
                     "--out", str(tmp_path / "refused")]) == 2
        full, _ = resolve_split(read_manifest(province / "manifest_split.yaml"))
    assert rc == 3
    rep = _csv(tmp_path / "out" / "report.csv")
    assert rep["county"].tolist() == ["county_1", "county_2", NO_COUNTY]
    assert rep["status"].tolist() == ["ok", "ok", "error"]
    lost = read_sites(full.counties[2].sites)
    assert int(rep.loc[2, "sites"]) == len(lost) > 0
    err = rep.loc[2, "error"]
    assert "outside every county polygon of counties.gpkg" in err
    assert all(s in err for s in lost["site_id"])
    assert sorted(_csv(tmp_path / "out" / "gaps.csv")["county"].unique()) == NAMES[:2]
