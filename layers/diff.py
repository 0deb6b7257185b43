"""The comparison of two runs written: ``diff.csv``, ``diff_coverage.csv`` and ``diff.xlsx``
(与上次比较).

:func:`write_diff` writes the comparison (:class:`analysis.diff.RunDiff`): ``diff.csv`` (one
row per site × rule, :data:`analysis.diff.DIFF_COLUMNS`) and ``diff_coverage.csv``
(:data:`analysis.diff.COVERAGE_CHANGE_COLUMNS`) with the English column names and keys, as
``gaps.csv`` (UTF-8 with BOM, text that a spreadsheet would run as a formula neutralised);
``diff.xlsx`` for people, Chinese (or English) headers and labels: a summary (changes per
rule), the changes, the coverage change by county and township, and the two runs compared
(:class:`layers.runs.Run`: files, rule sets, thresholds changed).  Each file is written
atomically (:func:`anzhi.core.files.atomic_write`), the workbook first, so an error while
building it leaves the folder as it was.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
from openpyxl import Workbook

from anzhi.core.errors import DataSourceError, InputError, Problem
from anzhi.core.files import atomic_write
from anzhi.core.vocabulary import label
from analysis.diff import CHANGES, COVERAGE_CHANGE_COLUMNS, DIFF_COLUMNS, RunDiff
from analysis.statuses import GAP_STATUSES
from layers.bilingual import bilingual
from layers.export import STATUS_LABELS, csv_safe
from layers.runs import Run
from layers.sheets import cell_values, write_table

__all__ = ["DIFF_FILES", "DIFF_XLSX_HEADERS", "COVERAGE_CHANGE_XLSX_HEADERS", "write_diff"]

#: The files :func:`write_diff` writes, in the order it writes them.
DIFF_FILES: tuple[str, ...] = ("diff.xlsx", "diff.csv", "diff_coverage.csv")


#: Diff-table column -> (Chinese, English) header of the changes sheet.
DIFF_XLSX_HEADERS: dict[str, tuple[str, str]] = bilingual("""
    site_id                 | 安置点编号       | Site ID
    site_name               | 安置点名称       | Site name
    county                  | 县               | County
    township                | 乡镇             | Township
    facility_type           | 设施类型         | Facility type
    rule_id                 | 规则             | Rule
    old_status              | 上次状态         | Old status
    new_status              | 本次状态         | New status
    change                  | 变化             | Change
    old_nearest_facility_id | 上次最近设施     | Old nearest facility
    new_nearest_facility_id | 本次最近设施     | New nearest facility
    old_dist_m              | 上次距离(米)     | Old distance (m)
    new_dist_m              | 本次距离(米)     | New distance (m)
""")
#: Coverage-change column -> (Chinese, English) header of the coverage sheet.
COVERAGE_CHANGE_XLSX_HEADERS: dict[str, tuple[str, str]] = bilingual("""
    level                | 层级             | Level
    county               | 县               | County
    township             | 乡镇             | Township
    facility_type        | 设施类型         | Facility type
    rule_id              | 规则             | Rule
    old_sites_required   | 上次应配安置点   | Old sites required
    new_sites_required   | 本次应配安置点   | New sites required
    old_sites_covered    | 上次达标安置点   | Old sites covered
    new_sites_covered    | 本次达标安置点   | New sites covered
    change_sites_covered | 达标安置点变化   | Change in sites covered
    old_share_sites      | 上次覆盖率       | Old share covered
    new_share_sites      | 本次覆盖率       | New share covered
    change_share_sites   | 覆盖率变化       | Change in share
    old_pop_required     | 上次应配人口     | Old people required
    new_pop_required     | 本次应配人口     | New people required
    old_pop_covered      | 上次达标人口     | Old people covered
    new_pop_covered      | 本次达标人口     | New people covered
    change_pop_covered   | 达标人口变化     | Change in people covered
    old_share_pop        | 上次人口覆盖率   | Old share of people
    new_share_pop        | 本次人口覆盖率   | New share of people
    change_share_pop     | 人口覆盖率变化   | Change in share of people
""")
_LEVELS: dict[str, tuple[str, str]] = bilingual("""
    all      | 全部 | All
    county   | 县   | County
    township | 乡镇 | Township
""")
_SHEETS: dict[str, tuple[str, str]] = bilingual("""
    summary  | 汇总       | Summary
    changes  | 变化清单   | Changes
    coverage | 覆盖率变化 | Coverage change
    runs     | 比较对象   | Runs compared
""")
_COUNT_HEADERS: dict[str, tuple[str, str]] = bilingual("""
    rule_id       | 规则       | Rule
    facility_type | 设施类型   | Facility type
    old_gaps      | 上次缺口数 | Old gaps
    new_gaps      | 本次缺口数 | New gaps
    total         | 合计       | Total
""")
_RUN_HEADERS: dict[str, tuple[str, str]] = bilingual("""
    run       | 运行     | Run
    file      | 文件     | File
    rule_set  | 规则集   | Rule set
    overrides | 本次调整 | Changed for the run
    sites     | 安置点数 | Sites
    checks    | 检查项数 | Site × rule checks
    gaps      | 缺口数   | Gaps
""")
_CSV_DECIMALS = {"old_dist_m": 1, "new_dist_m": 1}
_SHARE_FORMAT, _CHANGE_FORMAT = "0.0%", "+0.0%;-0.0%;0.0%"


def _csv_writer(df: pd.DataFrame) -> Callable[[Path], None]:
    """UTF-8 csv with a BOM (as gaps.csv): distances to 0.1 m, shares to 4 decimals, text
    that a spreadsheet would run as a formula neutralised."""
    def write(p: Path) -> None:
        out = df.copy()
        for c in out.columns:
            if c in _CSV_DECIMALS:
                out[c] = out[c].round(_CSV_DECIMALS[c])
            elif "share" in c:
                out[c] = out[c].round(4)
        csv_safe(out).to_csv(p, index=False, encoding="utf-8-sig")
    return write


def _list(values: pd.Series | list[Any]) -> list[Any]:
    """A column's values as a list (arrow-backed text iterates slowly item by item)."""
    return values.to_numpy(dtype=object).tolist() if isinstance(values, pd.Series) else values


def _labels(values: pd.Series, table: dict[str, tuple[str, str]], li: int) -> list[Any]:
    return [table[v][li] if v in table else (v or None) for v in _list(values)]


def _ftypes(values: pd.Series, lang: str) -> list[Any]:
    return [label(v, lang) if v else None for v in _list(values)]


def _changes_sheet(rows: pd.DataFrame, lang: str) -> tuple[list[str], list[list[Any]],
                                                            dict[int, str]]:
    li = 0 if lang == "zh" else 1
    data: dict[str, Any] = {c: rows[c] for c in DIFF_COLUMNS}
    for c in ("old_status", "new_status"):
        data[c] = _labels(rows[c], STATUS_LABELS, li)
    data["change"] = _labels(rows["change"], CHANGES, li)
    data["facility_type"] = _ftypes(rows["facility_type"], lang)
    for c in ("old_dist_m", "new_dist_m"):
        data[c] = rows[c].round(0)
    cols = list(DIFF_COLUMNS)
    fmts = {cols.index("old_dist_m"): "#,##0", cols.index("new_dist_m"): "#,##0"}
    return ([DIFF_XLSX_HEADERS[c][li] for c in cols],
            [cell_values(_list(data[c]), c) for c in cols], fmts)


def _coverage_sheet(cov: pd.DataFrame, lang: str) -> tuple[list[str], list[list[Any]],
                                                           dict[int, str]]:
    li = 0 if lang == "zh" else 1
    data: dict[str, Any] = {c: cov[c] for c in COVERAGE_CHANGE_COLUMNS}
    data["level"] = _labels(cov["level"], _LEVELS, li)
    data["facility_type"] = _ftypes(cov["facility_type"], lang)
    cols = list(COVERAGE_CHANGE_COLUMNS)
    fmts = {i: (_CHANGE_FORMAT if c.startswith("change_share") else _SHARE_FORMAT)
            for i, c in enumerate(cols) if "share" in c}
    fmts.update({i: "#,##0" for i, c in enumerate(cols) if "pop" in c and "share" not in c})
    return ([COVERAGE_CHANGE_XLSX_HEADERS[c][li] for c in cols],
            [cell_values(_list(data[c]), c) for c in cols], fmts)


def _summary_sheet(counts: pd.DataFrame, lang: str) -> tuple[list[str], list[list[Any]]]:
    li = 0 if lang == "zh" else 1
    all_rules = "全部规则" if lang == "zh" else "all rules"
    data: dict[str, Any] = {c: counts[c] for c in counts.columns}
    data["rule_id"] = [r or all_rules for r in _list(counts["rule_id"])]
    data["facility_type"] = _ftypes(counts["facility_type"], lang)
    cols = ["rule_id", "facility_type", *CHANGES, "old_gaps", "new_gaps", "total"]
    headers = [(CHANGES.get(c) or _COUNT_HEADERS[c])[li] for c in cols]
    return headers, [cell_values(_list(data[c]), c) for c in cols]


def _runs_sheet(old: Run | None, new: Run | None, lang: str
                ) -> tuple[list[str], list[list[Any]]]:
    li = 0 if lang == "zh" else 1
    names = ("上次", "本次") if lang == "zh" else ("old", "new")
    rows: list[list[Any]] = []
    for name, run in zip(names, (old, new), strict=True):
        if run is None:
            continue
        st = run.gaps["status"]
        rows.append([name, run.label, run.rule_set, "; ".join(run.overrides) or None,
                     run.n_sites, len(run.gaps), int(st.isin(GAP_STATUSES).sum())])
    headers = [h[li] for h in _RUN_HEADERS.values()]
    return headers, [cell_values([r[j] for r in rows], h) for j, h in enumerate(headers)]


def _xlsx_writer(diff: RunDiff, old: Run | None, new: Run | None, lang: str
                 ) -> Callable[[Path], None]:
    li = 0 if lang == "zh" else 1
    # built before the file is opened: a bad value fails here, not half-way through a sheet
    sum_headers, sum_columns = _summary_sheet(diff.counts, lang)
    ch_headers, ch_columns, ch_formats = _changes_sheet(diff.rows, lang)
    cov_headers, cov_columns, cov_formats = _coverage_sheet(diff.coverage, lang)
    run_headers, run_columns = _runs_sheet(old, new, lang)

    def write(p: Path) -> None:
        wb = Workbook(write_only=True)
        wb.properties.title = "Anzhi run comparison (与上次比较)"
        used: set[str] = set()
        write_table(wb, _SHEETS["summary"][li], used, sum_headers, sum_columns)
        write_table(wb, _SHEETS["changes"][li], used, ch_headers, ch_columns,
                    number_formats=ch_formats)
        write_table(wb, _SHEETS["coverage"][li], used, cov_headers, cov_columns,
                    number_formats=cov_formats)
        write_table(wb, _SHEETS["runs"][li], used, run_headers, run_columns, max_width=80)
        wb.save(p)
    return write


def write_diff(out_dir: str | Path, diff: RunDiff, *, old: Run | None = None,
               new: Run | None = None, lang: str = "zh") -> dict[str, Path]:
    """Write ``diff.xlsx``, ``diff.csv`` and ``diff_coverage.csv`` into ``out_dir``.

    Parameters
    ----------
    out_dir
        Output folder, created (with its parents) if absent; other files in it are left
        alone, so it may be the new run's own folder.
    diff
        The comparison (:func:`analysis.diff.compare`).
    old, new
        The runs compared, for the workbook's "runs compared" sheet (files, rule sets,
        thresholds changed, counts); a run not given is left out.
    lang
        ``"zh"`` (Chinese headers and labels in diff.xlsx) or ``"en"``.  The csv files
        always use the English column names and keys.

    Returns
    -------
    dict[str, pathlib.Path]
        File name -> path written (:data:`DIFF_FILES`).

    Raises
    ------
    InputError
        Unknown ``lang``, or ``out_dir`` is an existing file.
    DataSourceError
        The folder cannot be written.
    """
    if lang not in ("zh", "en"):
        raise InputError(Problem(f"unknown language {lang!r}", value=lang,
                                 fix="use 'zh' or 'en'"))
    out = Path(out_dir).expanduser().absolute()
    if out.exists() and not out.is_dir():
        raise InputError(Problem("the output folder is an existing file", file=str(out),
                                 fix="choose a folder name (--out) that is not a file"))
    writers: dict[str, Callable[[Path], None]] = {
        "diff.xlsx": _xlsx_writer(diff, old, new, lang),
        "diff.csv": _csv_writer(diff.rows.loc[:, list(DIFF_COLUMNS)]),
        "diff_coverage.csv": _csv_writer(diff.coverage.loc[:, list(COVERAGE_CHANGE_COLUMNS)]),
    }
    written: dict[str, Path] = {}
    try:
        out.mkdir(parents=True, exist_ok=True)
        for name in DIFF_FILES:
            written[name] = atomic_write(out / name, writers[name])
    except OSError as exc:
        raise DataSourceError(f"cannot write into {out} ({exc.strerror or exc})") from exc
    return written
