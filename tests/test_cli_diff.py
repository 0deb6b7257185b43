"""``anzhi diff`` end to end: real runs of the demo county compared, their expected changes
computed here from the two gap lists (and coverage tables) merged with pandas; and the
reading of earlier runs back (layers.runs): folders, gaps.csv, Chinese and English gaps.xlsx,
files saved again by Excel, and the errors that name what to fix."""

from __future__ import annotations

import re
import shutil
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import openpyxl
import pandas as pd
import pytest

from anzhi.cli import SUBCOMMAND_MODULES, main
from anzhi.core.errors import DataSourceError, InputError
from anzhi.core.settings import override

COVERED = {"ok", "ok_shared"}
CHANGE_KINDS = {"closed", "opened", "changed", "unchanged", "site_added", "site_removed",
                "rule_added", "rule_removed", "now_applies", "no_longer_applies"}


def gaps_csv(run: Path) -> pd.DataFrame:
    return pd.read_csv(run / "gaps.csv", encoding="utf-8-sig", dtype=str, keep_default_na=False)


def run_sites(run: Path) -> set[str]:
    return set(pd.read_csv(run / "access.csv", encoding="utf-8-sig", dtype=str,
                           keep_default_na=False)["site_id"])


def expected(old_run: Path, new_run: Path, old_rules: set[str], new_rules: set[str]
             ) -> dict[tuple[str, str], tuple[str, str, str]]:
    """(site, rule) -> (old status, new status, change), straight from the two gaps.csv."""
    old, new = gaps_csv(old_run), gaps_csv(new_run)
    m = old[["site_id", "rule_id", "status"]].merge(
        new[["site_id", "rule_id", "status"]], on=["site_id", "rule_id"], how="outer",
        suffixes=("_old", "_new"))
    so, sn = run_sites(old_run), run_sites(new_run)
    out = {}
    for site, rule, o, n in m[["site_id", "rule_id", "status_old", "status_new"]].itertuples(
            index=False):
        o = o if isinstance(o, str) else ""
        n = n if isinstance(n, str) else ""
        if o and n:
            change = ("unchanged" if o == n else "changed" if (o in COVERED) == (n in COVERED)
                      else "closed" if n in COVERED else "opened")
        elif n:
            change = ("site_added" if site not in so else "rule_added" if rule not in old_rules
                      else "now_applies")
        else:
            change = ("site_removed" if site not in sn else "rule_removed"
                      if rule not in new_rules else "no_longer_applies")
        out[(site, rule)] = (o, n, change)
    return out


def got(diff_csv: Path) -> dict[tuple[str, str], tuple[str, str, str]]:
    d = pd.read_csv(diff_csv, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    return {(s, r): (o, n, c) for s, r, o, n, c in
            d[["site_id", "rule_id", "old_status", "new_status", "change"]].itertuples(
                index=False)}


def rule_ids(name: str) -> set[str]:
    from analysis.rules import load_rules

    return set(load_rules(name).rule_ids)


@pytest.fixture(scope="module")
def runs(demo, tmp_path_factory) -> dict[str, Path]:  # type: ignore[no-untyped-def]
    """Four runs of the demo county: the default (zh), one on an edited site table with a
    raised threshold (en), one with another rule set, one on a table without its 编号 column."""
    root = tmp_path_factory.mktemp("diff")
    sites = pd.read_excel(demo.sites, dtype=object)
    edited = sites[sites["编号"] != "SD060"].copy()                # a site removed
    edited.loc[edited["编号"] == "SD005", "卫生室"] = "有"         # a clinic built
    edited.loc[edited["编号"] == "SD001", "卫生室"] = "无"         # a clinic closed
    edited.loc[edited["编号"] == "SD002", "人数"] = 1200           # a site grew past 1,000
    added = sites[sites["编号"] == "SD003"].assign(编号="SD099", 安置点名称="新建安置点")
    pd.concat([edited, added]).to_excel(root / "edited.xlsx", index=False)
    sites.drop(columns=["编号"]).to_excel(root / "noid.xlsx", index=False)
    common = ["--roads", str(demo.roads), "--facilities", str(demo.facilities), "--dem",
              str(demo.dem), "--quiet"]
    argv = {
        "base": ["--sites", str(demo.sites)],
        "edited": ["--sites", str(root / "edited.xlsx"), "--set",
                   "police-800.min_population=1000", "--lang", "en"],
        "guizhou": ["--sites", str(demo.sites), "--rules", "guizhou-2019"],
        "noid": ["--sites", str(root / "noid.xlsx")],
    }
    out = {}
    for name, extra in argv.items():
        out[name] = root / name
        assert main(["gaps", *extra, *common, "--out", str(out[name])]) == 0
    return out


def printed_counts(text: str) -> dict[str, int]:
    """``  缺口补齐 / gap closed: 3`` lines of the summary -> {"gap closed": 3}."""
    return {m.group(1): int(m.group(2)) for m in
            re.finditer(r"^  \S+ / ([a-z ]+): (\d+)$", text, flags=re.M)}


def test_diff_is_registered() -> None:
    assert "anzhi.cli.diff" in SUBCOMMAND_MODULES


def test_changes_are_those_of_the_two_gap_lists(runs: dict[str, Path], tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "d"
    assert main(["diff", str(runs["base"]), str(runs["edited"]), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    rows = got(out / "diff.csv")
    assert rows == expected(runs["base"], runs["edited"], rule_ids("default"),
                            rule_ids("default"))
    # what the edits must have done
    assert {c for (s, _), (_, _, c) in rows.items() if s == "SD060"} == {"site_removed"}
    assert {c for (s, _), (_, _, c) in rows.items() if s == "SD099"} == {"site_added"}
    clinic = rows[("SD005", "health-every-site")]
    assert clinic[0] not in COVERED and clinic[1:] == ("ok", "closed")
    assert rows[("SD002", "police-800")][2] == "now_applies"
    assert rows[("SD039", "police-800")][2] == "no_longer_applies"  # 800 people < 1,000
    kinds = {c for _, _, c in rows.values()}
    assert {"closed", "unchanged", "site_added", "site_removed", "now_applies",
            "no_longer_applies"} <= kinds <= CHANGE_KINDS
    # the summary counts what diff.csv holds, in both languages, and names the threshold
    counts = pd.Series([c for _, _, c in rows.values()]).value_counts()
    printed = printed_counts(text)
    assert printed["gap closed"] == counts["closed"]
    assert printed["site removed"] == counts["site_removed"]
    assert printed["new gap"] == counts.get("opened", 0)
    assert "police-800: min_population=1000" in text and "缺口补齐" in text
    assert f"diff.xlsx: {out / 'diff.xlsx'}" in text


def test_coverage_change_is_the_difference_of_the_coverage_tables(
        runs: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "d"
    assert main(["diff", str(runs["base"]), str(runs["edited"]), "--out", str(out)]) == 0
    keys = ["level", "county", "township", "rule_id"]

    def read(p: Path) -> pd.DataFrame:
        return pd.read_csv(p, encoding="utf-8-sig").fillna({"county": "", "township": ""})

    cov = read(out / "diff_coverage.csv")
    a, b = read(runs["base"] / "coverage.csv"), read(runs["edited"] / "coverage.csv")
    m = b.merge(a, on=keys, how="outer", suffixes=("_new", "_old"))
    assert len(cov) == len(m) and set(cov["level"]) == {"all", "county", "township"}
    mine = cov.set_index(keys)
    for r in m.itertuples(index=False):
        row = mine.loc[(r.level, r.county, r.township, r.rule_id)]
        new = 0 if pd.isna(r.sites_covered_new) else r.sites_covered_new
        old = 0 if pd.isna(r.sites_covered_old) else r.sites_covered_old
        assert row["change_sites_covered"] == new - old
        if not pd.isna(r.share_sites_new):
            assert row["new_share_sites"] == pytest.approx(r.share_sites_new, abs=1e-4)
    police = mine.loc[("all", "", "", "police-800")]
    assert police["old_sites_required"] > police["new_sites_required"]  # threshold raised


def test_gaps_xlsx_in_chinese_and_english_read_as_the_folders(
        runs: dict[str, Path], tmp_path: Path) -> None:
    assert main(["diff", str(runs["base"]), str(runs["edited"]), "--out",
                 str(tmp_path / "a")]) == 0
    assert main(["diff", str(runs["base"] / "gaps.xlsx"), str(runs["edited"] / "gaps.xlsx"),
                 "--out", str(tmp_path / "b")]) == 0
    assert got(tmp_path / "a" / "diff.csv") == got(tmp_path / "b" / "diff.csv")
    a = pd.read_csv(tmp_path / "a" / "diff.csv", encoding="utf-8-sig")
    b = pd.read_csv(tmp_path / "b" / "diff.csv", encoding="utf-8-sig")
    # the workbook keeps whole metres
    assert np.nanmax(np.abs(a["new_dist_m"] - b["new_dist_m"])) <= 0.5
    assert (a["facility_type"] == b["facility_type"]).all()


def test_diff_xlsx_chinese_by_default_english_with_lang_en(
        runs: dict[str, Path], tmp_path: Path) -> None:
    for lang, sheets, head, change in (
            ("zh", ["汇总", "变化清单", "覆盖率变化", "比较对象"], "安置点编号", "缺口补齐"),
            ("en", ["Summary", "Changes", "Coverage change", "Runs compared"], "Site ID",
             "gap closed")):
        out = tmp_path / lang
        assert main(["diff", str(runs["base"]), str(runs["edited"]), "--out", str(out),
                     "--lang", lang]) == 0
        wb = openpyxl.load_workbook(out / "diff.xlsx", read_only=True)
        assert wb.sheetnames == sheets
        rows = list(wb[sheets[1]].iter_rows(values_only=True))
        assert rows[0][0] == head
        assert change in {r[8] for r in rows[1:]}
        assert len(rows) - 1 == len(pd.read_csv(out / "diff.csv", encoding="utf-8-sig"))
        runs_sheet = list(wb[sheets[3]].iter_rows(values_only=True))
        assert runs_sheet[1][1] == str(runs["base"] / "gaps.csv")
        assert "police-800: min_population=1000" in runs_sheet[2][3]
        wb.close()


def test_rule_sets_that_differ(runs: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "d"
    assert main(["diff", str(runs["base"]), str(runs["guizhou"]), "--out", str(out)]) == 0
    rows = got(out / "diff.csv")
    assert rows == expected(runs["base"], runs["guizhou"], rule_ids("default"),
                            rule_ids("guizhou-2019"))
    only_new = rule_ids("guizhou-2019") - rule_ids("default")
    only_old = rule_ids("default") - rule_ids("guizhou-2019")
    assert {c for (_, r), (_, _, c) in rows.items() if r in only_new} == {"rule_added"}
    assert {c for (_, r), (_, _, c) in rows.items() if r in only_old} == {"rule_removed"}


def test_runs_on_different_id_columns_are_refused(runs: dict[str, Path], tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "d"
    assert main(["diff", str(runs["base"]), str(runs["noid"]), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert re.search(r"different id columns: 60 of 60 sites with the same name, county and "
                     r"township have different ids \(e\.g\. \S+: 'SD(\d{3})' in \S+base/gaps\.csv, "
                     r"'S0\1' in \S+noid/gaps\.csv\)", err), err
    assert "look like Anzhi's own numbering S0001" in err and "编号" in err and "fix:" in err
    assert str(runs["base"] / "gaps.csv") in err and str(runs["noid"] / "gaps.csv") in err
    assert "Traceback" not in err
    assert not out.exists()


def test_diff_goes_into_the_new_runs_folder_and_never_over_an_input(
        runs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "edited"
    shutil.copytree(runs["edited"], folder)
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    assert main(["diff", str(runs["base"]), str(folder), "--out", str(folder)]) == 0
    assert {p.name for p in folder.iterdir()} == set(before) | {"diff.csv", "diff.xlsx",
                                                                "diff_coverage.csv"}
    assert all((folder / n).read_bytes() == b for n, b in before.items())
    # a gap workbook named diff.xlsx is an input that --out would replace
    shutil.copy(runs["base"] / "gaps.xlsx", tmp_path / "diff.xlsx")
    kept = (tmp_path / "diff.xlsx").read_bytes()
    capsys.readouterr()
    assert main(["diff", str(tmp_path / "diff.xlsx"), str(runs["edited"]), "--out",
                 str(tmp_path)]) == 2
    assert "is also an input" in capsys.readouterr().err
    assert (tmp_path / "diff.xlsx").read_bytes() == kept


def test_help_lists_exactly_the_files_written(runs: dict[str, Path], tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["diff", "--help"])
    text = capsys.readouterr().out
    block = re.search(r"^outputs.*?(?:\n\n|\Z)", text, flags=re.M | re.S)
    assert block is not None
    listed = set(re.findall(r"[\w.]+\.(?:csv|xlsx)\b", block.group()))
    out = tmp_path / "d"
    assert main(["diff", str(runs["base"]), str(runs["edited"]), "--out", str(out)]) == 0
    assert listed == {p.name for p in out.iterdir()}
    for kind in CHANGE_KINDS:  # every change is explained
        assert kind in text


# ----------------------------------------------------------------- reading runs back


def test_read_run_from_a_folder_a_csv_and_a_workbook(runs: dict[str, Path]) -> None:
    from layers.runs import read_run

    folder = read_run(runs["edited"])
    assert folder.source == runs["edited"] / "gaps.csv"
    assert set(folder.files) == {runs["edited"] / n for n in ("gaps.csv", "access.csv",
                                                              "gaps.xlsx")}
    assert folder.rule_ids is not None and len(folder.rule_ids) == len(rule_ids("default"))
    assert folder.rule_set is not None and folder.rule_set.startswith("default ")
    assert folder.overrides == ("police-800: min_population=1000",)
    assert folder.site_ids is not None and "SD099" in folder.site_ids
    book = read_run(runs["edited"] / "gaps.xlsx")  # English headers and labels
    assert book.site_ids is None and book.rule_ids == folder.rule_ids
    for c in ("site_id", "site_name", "county", "township", "facility_type", "rule_id",
              "status", "nearest_facility_id"):
        assert book.gaps[c].tolist() == folder.gaps[c].tolist(), c
    assert (book.gaps["population"] == folder.gaps["population"]).all()
    plain = read_run(runs["base"] / "gaps.csv")
    assert plain.rule_ids is None and plain.site_ids is None and plain.rule_set is None
    assert set(plain.gaps["status"]) <= {"ok", "ok_shared", "gap_missing", "gap_capacity",
                                         "unroutable"}


def test_csv_saved_again_by_excel_gbk_and_formula_guards(runs: dict[str, Path],
                                                          tmp_path: Path) -> None:
    from layers.runs import read_run

    g = gaps_csv(runs["base"])
    g.loc[0, "site_name"] = "'=HYPERLINK(1)"  # as csv_safe writes a name starting with '='
    gbk = tmp_path / "gaps.csv"
    g.to_csv(gbk, index=False, encoding="gb18030")
    run = read_run(gbk)
    assert run.gaps.loc[0, "site_name"] == "=HYPERLINK(1)"
    assert run.gaps["county"].iloc[0] == g["county"].iloc[0] == "施甸县"
    assert len(run.gaps) == len(g)


def excel_style_workbook(path: Path, sheets: dict[str, list[list[Any]]]) -> None:
    """An xlsx as Excel writes it: shared strings (one of them rich text), ``s`` and ``t``
    attributes, numbers in ``<v>``, blank rows left out."""
    strings: list[str] = []

    def cell(ref: str, v: Any) -> str:
        if v is None:
            return ""
        if isinstance(v, str):
            strings.append(v)
            return f'<c r="{ref}" s="1" t="s"><v>{len(strings) - 1}</v></c>'
        return f'<c r="{ref}" s="2"><v>{v}</v></c>'

    parts = {}
    for k, rows in enumerate(sheets.values(), 1):
        xml = "".join(
            f'<row r="{i}" spans="1:{len(r)}">' + "".join(
                cell(f"{chr(65 + j)}{i}", v) for j, v in enumerate(r)) + "</row>"
            for i, r in enumerate(rows, 1) if any(v is not None for v in r))
        size = f"A1:{chr(64 + max(len(r) for r in rows))}{len(rows)}"
        parts[f"xl/worksheets/sheet{k}.xml"] = (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="http://'
            f'schemas.openxmlformats.org/spreadsheetml/2006/main"><dimension ref="{size}"/>'
            f"<sheetData>{xml}</sheetData></worksheet>")

    def si(text: str) -> str:
        esc = text.replace("&", "&amp;").replace("<", "&lt;")
        if " " in esc:  # rich text: two runs
            a, b = esc.split(" ", 1)
            return f'<si><r><t xml:space="preserve">{a} </t></r><r><rPr><b/></rPr><t>{b}</t></r></si>'
        return f"<si><t>{esc}</t></si>"

    main_ns = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel_ns = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    pkg = "http://schemas.openxmlformats.org/package/2006/relationships"
    parts["xl/sharedStrings.xml"] = (f'<sst xmlns="{main_ns}" count="{len(strings)}">'
                                     + "".join(si(t) for t in strings) + "</sst>")
    names = list(sheets)
    parts["xl/workbook.xml"] = (f'<workbook xmlns="{main_ns}" xmlns:r="{rel_ns}"><sheets>' + "".join(
        f'<sheet name="{n}" sheetId="{k}" r:id="rId{k}"/>' for k, n in enumerate(names, 1))
        + "</sheets></workbook>")
    parts["xl/_rels/workbook.xml.rels"] = (f'<Relationships xmlns="{pkg}">' + "".join(
        f'<Relationship Id="rId{k}" Type="{rel_ns}/worksheet" Target="worksheets/sheet{k}.xml"/>'
        for k in range(1, len(names) + 1)) + f'<Relationship Id="rIdS" Type="{rel_ns}/'
        'sharedStrings" Target="sharedStrings.xml"/></Relationships>')
    parts["_rels/.rels"] = (f'<Relationships xmlns="{pkg}"><Relationship Id="r1" Type="{rel_ns}'
                            '/officeDocument" Target="xl/workbook.xml"/></Relationships>')
    ct = "application/vnd.openxmlformats-officedocument.spreadsheetml"
    parts["[Content_Types].xml"] = (
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
        'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{ct}.sheet.main+xml"/>'
        + "".join(f'<Override PartName="/xl/worksheets/sheet{k}.xml" ContentType="{ct}.'
                  'worksheet+xml"/>' for k in range(1, len(names) + 1))
        + f'<Override PartName="/xl/sharedStrings.xml" ContentType="{ct}.sharedStrings+xml"/>'
        "</Types>")
    with zipfile.ZipFile(path, "w") as zf:
        for name, text in parts.items():
            zf.writestr(name, text)


def test_workbook_saved_again_by_excel(tmp_path: Path) -> None:
    """A gap sheet as Excel saves it: shared strings and rich text, ids Excel made numbers,
    a blank row, columns in another order, another sheet first."""
    from layers.runs import read_run

    p = tmp_path / "gaps.xlsx"
    excel_style_workbook(p, {
        "说明": [["Anzhi"]],
        "缺口清单": [
            ["规则", "安置点编号", "安置点名称", "县", "乡镇", "人数", "户数", "设施类型", "状态",
             "原因", "距离(米)"],
            ["health-every-site", 101, "甲 & 乙", "施甸县", "甸阳镇", 300, 80, "卫生室", "达标",
             "x", 12],
            [None] * 11,
            ["police-800", 102, "丙", "施甸县", "甸阳镇", 900, 200, "Police room", "Missing",
             "y", None]]})
    book = openpyxl.load_workbook(p, read_only=True)  # a workbook Excel's readers accept
    assert [r[1] for r in book["缺口清单"].iter_rows(min_row=2, values_only=True)] == [
        101, None, 102]
    book.close()
    run = read_run(p)
    g = run.gaps
    assert g["site_id"].tolist() == ["101", "102"]
    assert g["site_name"].tolist() == ["甲 & 乙", "丙"]
    assert g["facility_type"].tolist() == ["clinic", "police_room"]
    assert g["status"].tolist() == ["ok", "gap_missing"]
    assert g["population"].tolist() == [300, 900]
    assert g["dist_m"].iloc[0] == 12 and np.isnan(g["dist_m"].iloc[1])
    assert g["nearest_facility_id"].tolist() == ["", ""]
    assert run.rule_ids is None


@pytest.mark.parametrize("case", ["no-such", "empty-folder", "txt", "missing-column",
                                  "unknown-status", "no-gap-sheet", "not-a-zip", "too-big"])
def test_bad_runs_name_the_file_and_the_fix(runs: dict[str, Path], tmp_path: Path,
                                            case: str) -> None:
    from layers.runs import read_run

    g = gaps_csv(runs["base"])
    p: Path
    err: Any = InputError
    if case == "no-such":
        p, msg = tmp_path / "nope", r"no such file or folder.*output folder of `anzhi gaps`"
    elif case == "empty-folder":
        p, msg = tmp_path, r"neither gaps.csv nor gaps.xlsx"
    elif case == "txt":
        p = tmp_path / "gaps.txt"
        p.write_text("x")
        msg = r"cannot read a run from a .txt file"
    elif case == "missing-column":
        p = tmp_path / "gaps.csv"
        g.drop(columns=["status"]).to_csv(p, index=False)
        msg = r"gaps.csv, column 'status': no status column \(状态 / Status\).*columns now: " \
              r"site_id"
    elif case == "unknown-status":
        p = tmp_path / "gaps.csv"
        g.assign(status=["ok"] * (len(g) - 1) + ["fine"]).to_csv(p, index=False)
        msg = rf"gaps.csv, row {len(g) + 1}, column 'status': unknown status \(value: 'fine'\)"
    elif case == "no-gap-sheet":
        p = tmp_path / "gaps.xlsx"
        wb = openpyxl.Workbook()
        wb.active.append(["安置点编号", "规则"])
        wb.save(p)
        msg = r"no sheet with the gap list"
    elif case == "not-a-zip":
        p = tmp_path / "gaps.xlsx"
        p.write_bytes(b"not a workbook")
        err, msg = DataSourceError, r"cannot read as an Excel workbook"
    else:
        p = runs["base"] / "gaps.xlsx"
        msg = r"gaps.xlsx: the workbook expands to .* bytes, more than the limit of 1,000.*" \
              r"max_decompressed_bytes"
        with override(max_decompressed_bytes=1000), pytest.raises(InputError, match=msg):
            read_run(p)
        return
    with pytest.raises(err, match=msg):
        read_run(p)
