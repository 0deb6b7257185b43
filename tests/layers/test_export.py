"""layers.export: the four output files, their format, and atomic writes."""

from __future__ import annotations

import dataclasses

import os
from pathlib import Path

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pytest
from shapely.geometry import Point

from anzhi.core.errors import DataSourceError, InputError
from analysis.coverage import COVERAGE_COLUMNS, coverage_table
from analysis.gaps import GAPS_COLUMNS, evaluate
from analysis.rules import RuleSet, load_rules
from anzhi.core.files import atomic_write
from layers.export import ACCESS_COLUMNS, OUTPUT_FILES, write_outputs

LON0, LAT0 = 99.2, 24.7
ZH_HEADERS = ["安置点编号", "安置点名称", "县", "乡镇", "人数", "户数", "设施类型", "规则", "状态",
              "最近设施", "距离(米)", "时间(分钟)", "原因", "依据文件", "条款", "等级"]


#: The foundation rules of the default set, which these worked cases were written for.
FOUNDATION_IDS = ("health-every-site", "police-800", "police-3000")


def foundation() -> RuleSet:
    """The default rule set cut down to the foundation rules (the union adds many more)."""
    rs = load_rules()
    return dataclasses.replace(rs, rules=tuple(r for r in rs if r.id in FOUNDATION_IDS))


@pytest.fixture()
def results() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, RuleSet]:
    sites = gpd.GeoDataFrame({
        "site_id": ["S3", "S1", "S2"], "site_name": ["幸福小区", "移民新村", "阳光社区"],
        "county": ["施甸县", "隆阳区", "隆阳区"], "township": ["甸阳镇", "板桥镇", "板桥镇"],
        "population": [3200, 900, 120], "households": [800.0, 210.0, np.nan],
        "kind": ["城镇", "农村", "农村"]},
        geometry=[Point(LON0 + 0.05, LAT0), Point(LON0, LAT0), Point(LON0 + 0.01, LAT0)],
        crs=4326)
    facs = gpd.GeoDataFrame({"facility_id": ["S1-clinic"], "facility_type": ["clinic"],
                             "site_id": ["S1"]}, geometry=[Point(LON0, LAT0)], crs=4326)
    access = pd.DataFrame({
        "site_id": ["S1", "S1", "S2", "S2", "S3", "S3"],
        "facility_type": ["clinic", "police_room"] * 3,
        "nearest_facility_id": ["S1-clinic", "P1", "S1-clinic", "P1", "", "P1"],
        "dist_m": [0.0, 5200.0, 1100.0, 6000.0, np.nan, 4100.0],
        "time_min": [0.0, 70.0, 14.7, 80.0, np.nan, 12.0],
        "snap_dist_m": [5.0, 5.0, 40.0, 40.0, 2600.0, 20.0],
        "reason": ["", "", "", "", "no_road_nearby", ""]})
    rules = foundation()
    gaps = evaluate(sites, facs, access, rules)
    return gaps, coverage_table(gaps), access, rules


def test_files_and_csv_schemas(tmp_path: Path, results) -> None:  # type: ignore[no-untyped-def]
    gaps, cov, access, rules = results
    out = tmp_path / "out" / "demo"
    paths = write_outputs(out, gaps=gaps, coverage=cov, access=access, rules=rules)
    assert set(paths) == set(OUTPUT_FILES)
    assert sorted(os.listdir(out)) == sorted(OUTPUT_FILES)
    assert sorted(os.listdir(out.parent)) == ["demo"]  # no temporary folder left
    for name, cols in (("gaps.csv", GAPS_COLUMNS), ("coverage.csv", COVERAGE_COLUMNS),
                       ("access.csv", ACCESS_COLUMNS)):
        raw = paths[name].read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf"), f"{name} has no BOM for Excel"
        df = pd.read_csv(paths[name], encoding="utf-8-sig", keep_default_na=False)
        assert tuple(df.columns) == cols
    g = pd.read_csv(paths["gaps.csv"], encoding="utf-8-sig", keep_default_na=False)
    assert len(g) == len(gaps)
    # sorted by county, township, site_id, rule order
    assert g["site_id"].tolist() == ["S3", "S3", "S3", "S1", "S1", "S2"]
    assert g["rule_id"].tolist()[:3] == ["health-every-site", "police-800", "police-3000"]
    assert "幸福小区" in g["site_name"].tolist()
    assert g.loc[0, "status"] == "unroutable"


def test_xlsx_chinese(tmp_path: Path, results) -> None:  # type: ignore[no-untyped-def]
    gaps, cov, access, rules = results
    paths = write_outputs(tmp_path / "o", gaps=gaps, coverage=cov, access=access, rules=rules)
    wb = openpyxl.load_workbook(paths["gaps.xlsx"])
    # summary, gap list, rules, then one sheet per facility type in rule order
    assert wb.sheetnames == ["汇总", "缺口清单", "规则", "卫生室", "警务室"]
    ws = wb["缺口清单"]
    assert [c.value for c in ws[1]] == ZH_HEADERS
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == f"A1:P{len(gaps) + 1}"
    assert ws.column_dimensions["M"].width > ws.column_dimensions["E"].width  # reason wider
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    assert {r[8] for r in rows} <= {"达标", "共享达标", "缺失", "容量不足", "无法到达"}
    assert rows[0][:3] == ("S3", "幸福小区", "施甸县")
    assert rows[0][6] == "卫生室" and rows[0][8] == "无法到达"
    assert "距道路 2.6 km" in rows[0][12]
    assert rows[0][10] is None  # NaN distance -> empty cell
    summary = wb["汇总"]
    assert summary.freeze_panes == "A2" and summary.auto_filter.ref
    head = [c.value for c in summary[1]]
    assert head[:3] == ["设施类型", "规则", "名称"] and head[-1] == "合计"
    body = {r[1]: r for r in summary.iter_rows(min_row=2, values_only=True)}
    assert body["police-800"][-1] == 2 and body["health-every-site"][-1] == 3
    assert head[-2] == "覆盖率"
    h = body["health-every-site"]
    assert h[-2] == pytest.approx((h[3] + h[4]) / 3)  # (达标 + 共享达标) / 合计
    rules_ws = wb["规则"]
    rule_rows = list(rules_ws.iter_rows(min_row=2, values_only=True))
    assert [r[0] for r in rule_rows] == rules.rule_ids
    p3000 = rule_rows[2]
    assert "004_758abde250e123ca.txt 贵州 2019" in p3000 and "三(四)19" in p3000
    assert rules_ws.freeze_panes == "A2"
    police = wb["警务室"]
    p_rows = list(police.iter_rows(min_row=2, values_only=True))
    assert [c.value for c in police[1]] == ZH_HEADERS
    assert police.freeze_panes == "A2" and police.auto_filter.ref == f"A1:P{len(p_rows) + 1}"
    assert p_rows and {r[6] for r in p_rows} == {"警务室"}
    assert len(p_rows) == int((gaps["facility_type"] == "police_room").sum())


def test_xlsx_english(tmp_path: Path, results) -> None:  # type: ignore[no-untyped-def]
    gaps, cov, access, rules = results
    paths = write_outputs(tmp_path / "o", gaps=gaps, coverage=cov, access=access,
                          rules=rules.with_overrides({"police-800.min_population": 1000}),
                          lang="en")
    wb = openpyxl.load_workbook(paths["gaps.xlsx"])
    assert wb.sheetnames == ["Summary", "Gaps", "Rules", "Clinic", "Police room"]
    head = [c.value for c in wb["Gaps"][1]]
    assert head[0] == "Site ID" and head[8] == "Status" and head[12] == "Reason"
    first = next(wb["Gaps"].iter_rows(min_row=2, values_only=True))
    assert first[8] == "Unroutable" and "from the nearest road" in first[12]
    changed = [r for r in wb["Rules"].iter_rows(min_row=2, values_only=True)
               if r[0] == "police-800"][0]
    assert "min_population=1000" in changed


def test_rules_sheet_without_a_rule_set(tmp_path: Path, results) -> None:  # type: ignore
    gaps, cov, access, _ = results
    paths = write_outputs(tmp_path / "o", gaps=gaps, coverage=cov, access=access)
    rows = list(openpyxl.load_workbook(paths["gaps.xlsx"])["规则"].iter_rows(
        min_row=2, values_only=True))
    assert [r[0] for r in rows] == ["health-every-site", "police-800", "police-3000"]


def test_failed_write_leaves_out_dir_untouched(tmp_path: Path, results) -> None:  # type: ignore
    gaps, cov, access, rules = results
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("keep me", encoding="utf-8")
    (out / "gaps.csv").write_text("old gaps", encoding="utf-8")
    bad = gaps.copy()
    bad["reason"] = [{"not": "a cell"}] * len(bad)  # the csv takes it, openpyxl does not
    with pytest.raises(ValueError, match="Cannot convert"):
        write_outputs(out, gaps=bad, coverage=cov, access=access, rules=rules)
    assert sorted(os.listdir(out)) == ["gaps.csv", "notes.txt"]
    assert (out / "gaps.csv").read_text(encoding="utf-8") == "old gaps"
    assert os.listdir(tmp_path) == ["out"]  # the temporary folder is gone


def test_failed_write_creates_no_folder(tmp_path: Path, results) -> None:  # type: ignore
    gaps, cov, access, rules = results
    bad = gaps.copy()
    bad["reason"] = [{"not": "a cell"}] * len(bad)
    with pytest.raises(ValueError, match="Cannot convert"):
        write_outputs(tmp_path / "new", gaps=bad, coverage=cov, access=access, rules=rules)
    assert os.listdir(tmp_path) == []


def test_failure_while_moving_files_in_restores_old_versions(tmp_path: Path,
                                                             results) -> None:  # type: ignore
    gaps, cov, access, rules = results
    out = tmp_path / "out"
    out.mkdir()
    (out / "gaps.csv").write_text("old gaps", encoding="utf-8")
    (out / "coverage.csv").mkdir()  # a folder where coverage.csv must go: third move fails
    with pytest.raises(DataSourceError, match="could not put coverage.csv.*left as it was"):
        write_outputs(out, gaps=gaps, coverage=cov, access=access, rules=rules)
    assert sorted(os.listdir(out)) == ["coverage.csv", "gaps.csv"]
    assert (out / "gaps.csv").read_text(encoding="utf-8") == "old gaps"
    assert os.listdir(tmp_path) == ["out"]


def test_rewrite_replaces_outputs_and_keeps_other_files(tmp_path: Path,
                                                         results) -> None:  # type: ignore
    gaps, cov, access, rules = results
    out = tmp_path / "out"
    write_outputs(out, gaps=gaps, coverage=cov, access=access, rules=rules)
    (out / "notes.txt").write_text("keep me", encoding="utf-8")
    write_outputs(out, gaps=gaps.iloc[:2], coverage=cov, access=access, rules=rules)
    assert (out / "notes.txt").read_text(encoding="utf-8") == "keep me"
    assert len(pd.read_csv(out / "gaps.csv", encoding="utf-8-sig")) == 2
    assert sorted(os.listdir(tmp_path)) == ["out"]


def test_bad_arguments(tmp_path: Path, results) -> None:  # type: ignore[no-untyped-def]
    gaps, cov, access, rules = results
    with pytest.raises(InputError, match="unknown language 'fr'"):
        write_outputs(tmp_path / "o", gaps=gaps, coverage=cov, access=access, lang="fr")
    with pytest.raises(InputError, match="column 'reason_en' is missing"):
        write_outputs(tmp_path / "o", gaps=gaps.drop(columns="reason_en"), coverage=cov,
                      access=access)
    (tmp_path / "afile").write_text("x", encoding="utf-8")
    with pytest.raises(InputError, match="output folder is an existing file"):
        write_outputs(tmp_path / "afile", gaps=gaps, coverage=cov, access=access)
    assert sorted(os.listdir(tmp_path)) == ["afile"]


def test_atomic_write(tmp_path: Path) -> None:
    target = tmp_path / "a.csv"
    target.write_text("v1", encoding="utf-8")

    def boom(p: Path) -> None:
        p.write_text("half", encoding="utf-8")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        atomic_write(target, boom)
    assert target.read_text(encoding="utf-8") == "v1"
    assert os.listdir(tmp_path) == ["a.csv"]
    seen: list[str] = []

    def good(p: Path) -> None:
        seen.append(p.suffix)
        p.write_text("v2", encoding="utf-8")

    assert atomic_write(target, good) == target
    assert target.read_text(encoding="utf-8") == "v2" and seen == [".csv"]
    assert os.listdir(tmp_path) == ["a.csv"]


def test_gpkg_with_site_points(tmp_path: Path, results) -> None:  # type: ignore[no-untyped-def]
    import pyogrio

    gaps, cov, access, rules = results
    sites = gpd.GeoDataFrame({
        "site_id": ["S3", "S1", "S2"], "site_name": ["幸福小区", "移民新村", "阳光社区"],
        "population": [3200, 900, 120]},
        geometry=[Point(LON0 + 0.05, LAT0), Point(LON0, LAT0), Point(LON0 + 0.01, LAT0)],
        crs=4326)
    out = tmp_path / "o"
    paths = write_outputs(out, gaps=gaps, coverage=cov, access=access, rules=rules, sites=sites)
    assert set(paths) == {*OUTPUT_FILES, "gaps.gpkg"}
    assert sorted(os.listdir(out)) == sorted([*OUTPUT_FILES, "gaps.gpkg"])
    layers = {name for name, _ in pyogrio.list_layers(paths["gaps.gpkg"])}
    assert layers == {"gaps", "sites"}
    pts = gpd.read_file(paths["gaps.gpkg"], layer="gaps")
    assert pts.crs.to_epsg() == 4326 and len(pts) == len(gaps)
    assert set(GAPS_COLUMNS) <= set(pts.columns)
    s3 = pts[pts["site_id"] == "S3"]
    assert len(s3) == 3 and (s3.geometry.x.round(6) == round(LON0 + 0.05, 6)).all()
    per_site = gpd.read_file(paths["gaps.gpkg"], layer="sites").set_index("site_id")
    assert per_site.loc["S3", "status"] == "unroutable"  # worst of its rows
    assert per_site.loc["S1", "n_rules"] == 2 and per_site.loc["S2", "n_rules"] == 1


def test_gpkg_needs_site_ids(tmp_path: Path, results) -> None:  # type: ignore[no-untyped-def]
    gaps, cov, access, rules = results
    bad = gpd.GeoDataFrame({"name": ["x"]}, geometry=[Point(LON0, LAT0)], crs=4326)
    with pytest.raises(InputError, match="column 'site_id' is missing"):
        write_outputs(tmp_path / "o", gaps=gaps, coverage=cov, access=access, sites=bad)
    assert not (tmp_path / "o").exists()


def test_rules_sheet_shows_capacity_norms(tmp_path: Path, results) -> None:  # type: ignore
    gaps, cov, access, _ = results
    rules = load_rules("baoshan-2023")
    paths = write_outputs(tmp_path / "o", gaps=gaps, coverage=cov, access=access, rules=rules)
    ws = openpyxl.load_workbook(paths["gaps.xlsx"])["规则"]
    head = [c.value for c in ws[1]]
    assert head[5] == "容量标准"
    rows = {r[0]: r for r in ws.iter_rows(min_row=2, values_only=True)}
    assert "每名民警 ≤ 5,000 人" in rows["police-ratio"][5]
    assert "002_5ba54de6779e4404.txt" in rows["police-ratio"][5]
    assert rows["police-800"][5] is None


def test_file_sha256_reads_a_file_once_and_sees_every_change(tmp_path: Path) -> None:
    import hashlib
    import os

    from anzhi.core.files import file_sha256, sha256_of

    f = tmp_path / "dem.tif"
    f.write_bytes(b"elevation" * 1000)
    assert file_sha256(f) == hashlib.sha256(b"elevation" * 1000).hexdigest()
    before = sha256_of.cache_info()
    assert file_sha256(str(f)) == file_sha256(f)  # str or Path, the same key
    after = sha256_of.cache_info()
    assert after.hits == before.hits + 2 and after.misses == before.misses
    # rewritten with other bytes of the same size: a new key, the new hash
    st = f.stat()
    f.write_bytes(b"ELEVATION" * 1000)
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    assert file_sha256(f) == hashlib.sha256(b"ELEVATION" * 1000).hexdigest()
