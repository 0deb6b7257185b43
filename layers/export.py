"""Write the results of a run: ``gaps.csv``, ``gaps.xlsx``, ``coverage.csv``, ``access.csv``
and, given the sites, ``gaps.gpkg``.

Writes are atomic.  :func:`anzhi.core.files.atomic_write` writes one file to a temporary name in the same
folder and renames it into place (``os.replace``), so a reader never sees half a file.
:func:`write_outputs` writes all four files into a temporary folder next to ``out_dir``
and only then moves them in; if anything fails, ``out_dir`` keeps exactly the files it had
(earlier versions are restored) and the temporary folder is removed.

CSV files are UTF-8 with a byte-order mark (``utf-8-sig``) so that Excel shows Chinese
correctly, with the English column names of ``docs/schemas.md``.  ``gaps.xlsx`` is for
people: Chinese (or English) headers and values, a summary sheet, the gap list, the rules
applied with their source, clause and grade, then one sheet per facility type; every sheet
has a frozen bold header, filters and fitted column widths.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
import unicodedata
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, cast

import geopandas as gpd
import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from anzhi.core.errors import DataSourceError, InputError, Problem
from anzhi.core.files import atomic_write
from analysis.coverage import COVERAGE_COLUMNS
from analysis.gaps import GAPS_COLUMNS, STATUSES, worst_status
from analysis.rules import RuleSet
from anzhi.core.vocabulary import label

__all__ = [
    "ACCESS_COLUMNS",
    "OUTPUT_FILES",
    "GAPS_XLSX_HEADERS",
    "STATUS_LABELS",
    "write_outputs",
    "sort_gaps",
    "csv_safe",
    "whole_counts",
    "COUNT_COLUMNS",
    "remove_stale_temps",
    "text_not_formulas",
    "FORMULA_STARTS",
]

#: Columns of access.csv, in order (docs/schemas.md "Access").
ACCESS_COLUMNS: tuple[str, ...] = ("site_id", "facility_type", "nearest_facility_id", "dist_m",
                                   "time_min", "snap_dist_m", "reason")
#: The files :func:`write_outputs` always writes, in the order they are moved into place
#: (``gaps.gpkg`` follows when ``sites`` is given).
OUTPUT_FILES: tuple[str, ...] = ("gaps.csv", "gaps.xlsx", "coverage.csv", "access.csv")


def _bilingual(table: str) -> dict[str, tuple[str, str]]:
    """``key | 中文 | English`` lines as ``{key: (中文, English)}``, in order."""
    out: dict[str, tuple[str, str]] = {}
    for line in table.strip().splitlines():
        key, zh, en = (cell.strip() for cell in line.split("|"))
        out[key] = (zh, en)
    return out


#: Gap-table column -> (Chinese header, English header) of the xlsx "Gaps" sheet, in order.
#: ``reason`` shows the Chinese reason with lang="zh" and ``reason_en`` with lang="en".
GAPS_XLSX_HEADERS: dict[str, tuple[str, str]] = _bilingual("""
    site_id             | 安置点编号 | Site ID
    site_name           | 安置点名称 | Site name
    county              | 县         | County
    township            | 乡镇       | Township
    population          | 人数       | Population
    households          | 户数       | Households
    facility_type       | 设施类型   | Facility type
    rule_id             | 规则       | Rule
    status              | 状态       | Status
    nearest_facility_id | 最近设施   | Nearest facility
    dist_m              | 距离(米)   | Distance (m)
    time_min            | 时间(分钟) | Time (min)
    reason              | 原因       | Reason
    source              | 依据文件   | Source
    clause              | 条款       | Clause
    grade               | 等级       | Grade
""")

#: Per-site hazard-screen columns (``analysis.land.site_hazard``), present when the run had a
#: DEM; written after the schema columns of gaps.csv and as extra columns of the Gaps sheet.
HAZARD_XLSX_HEADERS: dict[str, tuple[str, str]] = _bilingual("""
    slope_deg     | 坡度(度)     | Slope (°)
    share_gt25    | 周边>25°占比 | Share > 25° nearby
    hazard        | 地灾筛查     | Hazard screen
    hazard_reason | 筛查原因     | Screen reason
""")
HAZARD_COLUMNS: tuple[str, ...] = ("slope_deg", "share_gt25", "hazard", "hazard_reason",
                                   "hazard_reason_en")

#: Status -> (Chinese, English) as shown in gaps.xlsx.
STATUS_LABELS: dict[str, tuple[str, str]] = _bilingual("""
    ok           | 达标     | OK
    ok_shared    | 共享达标 | OK (shared)
    gap_missing  | 缺失     | Missing
    gap_capacity | 容量不足 | Over capacity
    unroutable   | 无法到达 | Unroutable
""")

_SHEETS: dict[str, tuple[str, str]] = _bilingual("""
    summary | 汇总     | Summary
    gaps    | 缺口清单 | Gaps
    rules   | 规则     | Rules
""")
_RULE_HEADERS: dict[str, tuple[str, str]] = _bilingual("""
    rule_id       | 规则           | Rule
    label         | 名称           | Name
    facility_type | 设施类型       | Facility type
    applies       | 适用条件       | Applies to
    satisfied_by  | 满足方式       | Satisfied by
    capacity      | 容量标准       | Capacity norm
    source        | 依据文件       | Source
    clause        | 条款           | Clause
    grade         | 等级           | Grade
    adjustable    | 可调整(默认值) | Adjustable (default)
    reach_source  | 到达要求依据   | Reach source
    reach_grade   | 到达要求等级   | Reach grade
    overridden    | 本次调整       | Changed for this run
    rule_set      | 规则集         | Rule set
""")
_SUMMARY_HEADERS: dict[str, tuple[str, str]] = _bilingual("""
    facility_type | 设施类型 | Facility type
    rule_id       | 规则     | Rule
    label         | 名称     | Name
    share         | 覆盖率   | Share covered
    total         | 合计     | Total
""")


# --------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------


def _check_columns(df: Any, columns: Sequence[str], name: str) -> list[Problem]:
    if not isinstance(df, pd.DataFrame):
        return [Problem(f"{name} must be a DataFrame", file=name, value=type(df).__name__)]
    return [Problem(f"column {c!r} is missing", file=name, column=c,
                    fix=f"{name} needs the columns {', '.join(columns)} (docs/schemas.md)")
            for c in columns if c not in df.columns]


def _rule_order(gaps: pd.DataFrame, rules: RuleSet | None) -> dict[str, int]:
    order: dict[str, int] = {}
    if rules is not None:
        order.update({r: i for i, r in enumerate(rules.rule_ids)})
    for r in pd.unique(gaps["rule_id"].astype(str)):
        order.setdefault(str(r), len(order))
    return order


def sort_gaps(gaps: pd.DataFrame, rules: RuleSet | None = None) -> pd.DataFrame:
    """The gap table sorted for reading: county, township, site_id, then rule order.

    Rule order is the rule set's when given, else the order of first appearance.
    """
    order = _rule_order(gaps, rules)
    key = pd.DataFrame({
        "county": gaps["county"].astype(str).to_numpy(),
        "township": gaps["township"].astype(str).to_numpy(),
        "site_id": gaps["site_id"].astype(str).to_numpy(),
        "rule": gaps["rule_id"].astype(str).map(order).to_numpy(),
    })
    idx = key.sort_values(["county", "township", "site_id", "rule"], kind="stable").index
    return gaps.iloc[idx].reset_index(drop=True)


#: Decimals kept in CSV files (sub-decimetre distances and sub-second times mean nothing).
_CSV_DECIMALS = {"dist_m": 1, "snap_dist_m": 1, "time_min": 2, "share_sites": 4,
                 "share_pop": 4}


#: Count columns written as whole numbers in CSV files (``41``, not ``41.0``; empty when missing).
COUNT_COLUMNS: tuple[str, ...] = ("population", "households", "children_3_5", "sites_required",
                                  "sites_covered", "pop_required", "pop_covered")


def whole_counts(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with its whole-number count columns as nullable integers (``Int64``).

    A column holding a fraction (e.g. ``households`` of 41.5) is left as it is.
    """
    out = df.copy()
    for col in COUNT_COLUMNS:
        if col in out.columns and pd.api.types.is_float_dtype(out[col]):
            values = out[col]
            finite = values.dropna()
            if len(finite) and (finite == finite.round()).all() and finite.abs().max() < 2**53:
                out[col] = values.astype("Int64")
    return out


#: First characters that make a spreadsheet read a csv cell as a formula (OWASP "CSV injection").
FORMULA_STARTS: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` whose text cells cannot run as formulas when the csv is opened.

    A text cell starting with one of :data:`FORMULA_STARTS` gets a leading ``'`` (the OWASP
    recommendation), so Excel/WPS show it as text; numbers, including negative ones, stay numbers.
    """
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            values = out[col]
            risky = values.map(lambda v: isinstance(v, str) and v.startswith(FORMULA_STARTS))
            if risky.any():
                out[col] = [f"'{v}" if r else v for v, r in zip(values, risky, strict=True)]
    return out


def text_not_formulas(ws: Worksheet, *, min_row: int = 1) -> int:
    """Store every cell of ``ws`` that openpyxl took for a formula as the text it is.

    Anzhi never writes formulas: a site name such as ``=HYPERLINK(...)`` is text.  Returns the
    number of cells changed.
    """
    changed = 0
    for row in ws.iter_rows(min_row=min_row):
        for c in row:
            if c.data_type == "f":
                c.data_type = "s"
                changed += 1
    return changed


def _csv_writer(df: pd.DataFrame) -> Callable[[Path], None]:
    def write(p: Path) -> None:
        out = whole_counts(csv_safe(df))
        for col, nd in _CSV_DECIMALS.items():
            if col in out.columns:
                out[col] = pd.to_numeric(out[col], errors="coerce").round(nd)
        out.to_csv(p, index=False, encoding="utf-8-sig")
    return write


# --------------------------------------------------------------------------------------
# xlsx
# --------------------------------------------------------------------------------------


def _cell(v: Any) -> Any:
    """A value openpyxl can store: NaN/None -> empty, numpy scalars -> Python."""
    if v is None:
        return None
    if isinstance(v, float) and math.isnan(v):
        return None
    if hasattr(v, "item") and not isinstance(v, (str, bytes)):
        try:
            v = v.item()
        except (ValueError, AttributeError):
            return v
        if isinstance(v, float) and math.isnan(v):
            return None
    return v


def _text_width(v: Any) -> int:
    s = "" if v is None else str(v)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in s)


def _write_table(ws: Worksheet, headers: list[str], rows: list[list[Any]], *,
                 number_formats: dict[int, str] | None = None, max_width: int = 60) -> None:
    """Header row in bold, frozen; autofilter over the table; column widths to fit."""
    ws.append(headers)
    for c in ws[1]:
        c.font = Font(bold=True)
        c.alignment = Alignment(vertical="center")
    for row in rows:
        values = [_cell(v) for v in row]
        ws.append(values)
        if any(isinstance(v, str) and v.startswith("=") for v in values):
            for c in ws[ws.max_row]:  # text, never a formula
                if c.data_type == "f":
                    c.data_type = "s"
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(headers))}{max(len(rows) + 1, 1)}"
    widths = [_text_width(h) + 4 for h in headers]  # room for the filter button
    for row in rows[:2000]:  # enough to size the columns
        for j, v in enumerate(row):
            widths[j] = max(widths[j], _text_width(_cell(v)) + 2)
    for j, w in enumerate(widths):
        ws.column_dimensions[get_column_letter(j + 1)].width = min(max(w, 6), max_width)
    for j, fmt in (number_formats or {}).items():
        for (c,) in ws.iter_rows(min_row=2, min_col=j + 1, max_col=j + 1):
            c.number_format = fmt


def _rules_rows(gaps: pd.DataFrame, rules: RuleSet | None, lang: str) -> list[list[Any]]:
    rows: list[list[Any]] = []
    yes, no = ("是", "否") if lang == "zh" else ("yes", "no")
    if rules is not None:
        over: dict[str, list[str]] = {}
        for key, value in rules.overrides:
            rid, _, fld = key.partition(".")
            over.setdefault(rid, []).append(f"{fld}={value}")
        for r in rules:
            wr = r.satisfied_by.within_reach
            c = r.capacity
            cap = None
            if c is not None:
                cap = c.describe(lang) + (f" ({c.source}{' ' + c.clause if c.clause else ''}, "
                                          f"{c.grade or '-'})" if c.source else "")
            rows.append([
                r.id, r.label(lang), label(r.facility_type, lang), r.describe_applies(lang),
                r.describe_reach(lang), cap, r.source, r.clause, r.grade,
                yes if (r.adjustable or (wr is not None and wr.adjustable)
                        or (c is not None and c.adjustable)) else no,
                wr.source if wr is not None else None, wr.grade if wr is not None else None,
                "; ".join(over.get(r.id, [])) or None, f"{rules.name} {rules.version}",
            ])
        return rows
    seen = (gaps[["rule_id", "facility_type", "source", "clause", "grade"]].astype(str)
            .drop_duplicates("rule_id"))
    for rec in seen.itertuples(index=False):
        # str after astype(str) (NaN only if the gap table broke its schema); pandas-stubs
        # type itertuples fields as any scalar.
        rows.append([rec.rule_id, None, label(cast(str, rec.facility_type), lang), None, None, None,
                     rec.source, rec.clause, rec.grade, None, None, None, None, None])
    return rows


def _sheet_title(name: str, used: set[str]) -> str:
    """A valid, unused sheet title (≤ 31 characters, none of ``[]:*?/\\``)."""
    base = "".join("_" if ch in "[]:*?/\\" else ch for ch in name)[:31] or "Sheet"
    title, k = base, 2
    while title in used:
        suffix = f" ({k})"
        title, k = base[: 31 - len(suffix)] + suffix, k + 1
    return title


def _gpkg_writer(gaps: pd.DataFrame, sites: gpd.GeoDataFrame) -> Callable[[Path], None]:
    """Layers ``gaps`` (one point per site × rule, the gap fields) and ``sites`` (one point
    per site with its worst status and counts), EPSG:4326."""
    def write(p: Path) -> None:
        p.unlink(missing_ok=True)  # the GeoPackage driver wants to create the file itself
        geom = sites.set_index(sites["site_id"].astype(str)).geometry
        geom = geom[~geom.index.duplicated()]
        g = gaps.copy()
        g["site_id"] = g["site_id"].astype(str)
        pts = gpd.GeoDataFrame(g, geometry=geom.reindex(g["site_id"]).to_numpy(),
                               crs=sites.crs)
        worst = worst_status(gaps, site_ids=sites["site_id"].astype(str))
        base = sites.drop(columns=[c for c in ("status", "n_rules", "n_gaps", "n_unroutable")
                                   if c in sites.columns])
        keep = [c for c in ("site_id", "site_name", "county", "township", "village",
                            "population", "households", "kind") if c in base.columns]
        site_layer = gpd.GeoDataFrame(
            base[keep].assign(site_id=base["site_id"].astype(str)).reset_index(drop=True)
            .merge(worst, on="site_id", how="left"),
            geometry=base.geometry.to_numpy(), crs=sites.crs)
        site_layer.to_file(p, layer="sites", driver="GPKG")
        pts.to_file(p, layer="gaps", driver="GPKG")
    return write


def _xlsx_writer(gaps: pd.DataFrame, rules: RuleSet | None, lang: str
                 ) -> Callable[[Path], None]:
    li = 0 if lang == "zh" else 1

    def write(p: Path) -> None:
        wb = Workbook()
        ws_sum = wb.active
        ws_sum.title = _SHEETS["summary"][li]
        ws_gaps = wb.create_sheet(_SHEETS["gaps"][li])
        ws_rules = wb.create_sheet(_SHEETS["rules"][li])
        if rules is not None:
            wb.properties.title = f"Anzhi {rules.name} {rules.version}"

        # Gaps sheet
        cols = list(GAPS_XLSX_HEADERS) + [c for c in HAZARD_XLSX_HEADERS if c in gaps.columns]
        headers = [{**GAPS_XLSX_HEADERS, **HAZARD_XLSX_HEADERS}[c][li] for c in cols]
        reason_col = "reason" if lang == "zh" else "reason_en"
        status = gaps["status"].astype(str).map(
            lambda s: STATUS_LABELS.get(s, (s, s))[li])
        ftype = gaps["facility_type"].astype(str).map(lambda k: label(k, lang))
        data = {c: gaps[c].tolist() for c in cols if c not in ("status", "facility_type",
                                                                   "reason")}
        data["status"] = status.tolist()
        data["facility_type"] = ftype.tolist()
        data["reason"] = gaps[reason_col].tolist()
        if "hazard_reason" in data:
            data["hazard_reason"] = gaps["hazard_reason" if lang == "zh" else "hazard_reason_en"].tolist()
        if "hazard" in data:
            yes_no = ("是", "否") if lang == "zh" else ("yes", "no")
            data["hazard"] = [yes_no[0] if v is True else yes_no[1] if v is False else ""
                              for v in gaps["hazard"].tolist()]
        dist = pd.to_numeric(gaps["dist_m"], errors="coerce").round(0)
        data["dist_m"] = dist.tolist()
        data["time_min"] = pd.to_numeric(gaps["time_min"], errors="coerce").round(1).tolist()
        rows = [list(r) for r in zip(*(data[c] for c in cols))] if len(gaps) else []
        _write_table(ws_gaps, headers, rows, number_formats={
            cols.index("population"): "#,##0", cols.index("households"): "#,##0",
            cols.index("dist_m"): "#,##0", cols.index("time_min"): "0.0"})

        # Summary sheet: rows per rule, counts per status
        order = _rule_order(gaps, rules)
        labels_by_rule = {r.id: r.label(lang) for r in rules} if rules is not None else {}
        counts = (pd.DataFrame({"rule_id": gaps["rule_id"].astype(str),
                                "facility_type": gaps["facility_type"].astype(str),
                                "status": gaps["status"].astype(str)})
                  .groupby(["rule_id", "facility_type", "status"], sort=False).size())
        sum_headers = [_SUMMARY_HEADERS[k][li] for k in ("facility_type", "rule_id", "label")]
        sum_headers += [STATUS_LABELS[s][li] for s in STATUSES]
        sum_headers.append(_SUMMARY_HEADERS["share"][li])
        sum_headers.append(_SUMMARY_HEADERS["total"][li])
        pairs = sorted({(r, f) for r, f, _ in counts.index}, key=lambda rf: order[rf[0]])
        sum_rows = []
        for rid, ft in pairs:
            row_counts = [int(counts.get((rid, ft, s), 0)) for s in STATUSES]
            total = sum(row_counts)
            covered = sum(c for c, st in zip(row_counts, STATUSES, strict=True)
                          if st in ("ok", "ok_shared"))
            sum_rows.append([label(ft, lang), rid, labels_by_rule.get(rid), *row_counts,
                             covered / total if total else None, total])
        _write_table(ws_sum, sum_headers, sum_rows,
                     number_formats={len(sum_headers) - 2: "0.0%"})

        # Rules sheet
        _write_table(ws_rules, [h[li] for h in _RULE_HEADERS.values()],
                     _rules_rows(gaps, rules, lang))

        # One sheet per facility type, in rule order, same columns as the gap list
        ftypes = list(dict.fromkeys(ft for _, ft in pairs))
        used = {ws.title for ws in wb.worksheets}
        ft_arr = gaps["facility_type"].astype(str).to_numpy()
        for ft in ftypes:
            title = _sheet_title(label(ft, lang), used)
            used.add(title)
            ws = wb.create_sheet(title)
            keep = [r for r, f in zip(rows, ft_arr, strict=True) if f == ft]
            _write_table(ws, headers, keep, number_formats={
                cols.index("population"): "#,##0", cols.index("households"): "#,##0",
                cols.index("dist_m"): "#,##0", cols.index("time_min"): "0.0"})
        wb.save(p)

    return write


# --------------------------------------------------------------------------------------
# All outputs, atomically
# --------------------------------------------------------------------------------------


def _link_or_copy(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _commit(tmp_dir: Path, out_dir: Path, names: Sequence[str]) -> None:
    """Move ``names`` from ``tmp_dir`` into ``out_dir``; on failure restore ``out_dir``."""
    backup = tmp_dir / ".previous"
    backup.mkdir()
    moved: list[str] = []
    saved: list[str] = []
    try:
        for name in names:
            target = out_dir / name
            if target.is_file():
                _link_or_copy(target, backup / name)
                saved.append(name)
            os.replace(tmp_dir / name, target)
            moved.append(name)
    except OSError as exc:
        failed = name
        for done in moved:
            if done in saved:
                os.replace(backup / done, out_dir / done)
            else:
                (out_dir / done).unlink(missing_ok=True)
        raise DataSourceError(
            f"could not put {failed} into {out_dir} ({exc.strerror or exc}); "
            f"{out_dir} was left as it was") from exc


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def remove_stale_temps(parent: Path, name: str) -> list[Path]:
    """Remove the temporary folders ``.NAME.tmp-PID-*`` that killed runs left in ``parent``.

    A run writes its outputs into such a folder and renames it into place; a run killed
    (SIGKILL, power loss) leaves it behind.  Folders of processes still running are kept.
    Returns the folders removed.
    """
    removed = []
    for tmp in parent.glob(f".{name}.tmp-*"):
        pid = tmp.name[len(f".{name}.tmp-"):].split("-", 1)[0]
        if tmp.is_dir() and pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(tmp, ignore_errors=True)
            removed.append(tmp)
    return removed


def write_outputs(
    out_dir: str | Path,
    *,
    gaps: pd.DataFrame,
    coverage: pd.DataFrame,
    access: pd.DataFrame,
    rules: RuleSet | None = None,
    lang: str = "zh",
    sites: gpd.GeoDataFrame | None = None,
) -> dict[str, Path]:
    """Write ``gaps.csv``, ``gaps.xlsx``, ``coverage.csv``, ``access.csv`` (and
    ``gaps.gpkg`` when ``sites`` is given) atomically.

    Parameters
    ----------
    out_dir
        Output folder, created (with its parents) if absent.  Other files in it are left
        alone; the four outputs replace earlier versions.
    gaps
        Gap table (:func:`analysis.gaps.evaluate`); written sorted by county, township,
        site_id and rule order.
    coverage
        Coverage table (:func:`analysis.coverage.coverage_table`).
    access
        Access table (``geo.routing``); ``snap_dist_m`` may be absent (written empty).
    rules
        The rule set applied, for the xlsx "Rules" sheet and the rule order; without it
        the sheet lists the rules found in ``gaps``.
    lang
        ``"zh"`` (Chinese headers and values in gaps.xlsx) or ``"en"``.  CSV files always
        use the English schema column names.
    sites
        The sites (EPSG:4326 points with ``site_id``), to write ``gaps.gpkg``: layer
        ``gaps`` with one site point per gap-table row carrying the gap fields, and layer
        ``sites`` with one point per site and its worst status (``status``, ``n_rules``,
        ``n_gaps``, ``n_unroutable``; :func:`analysis.gaps.worst_status`).

    Returns
    -------
    dict[str, pathlib.Path]
        File name (``"gaps.csv"``...) -> path written.

    Raises
    ------
    InputError
        Unknown ``lang``, a table missing schema columns, or ``out_dir`` being a file.
    DataSourceError
        The folder cannot be written; ``out_dir`` is left as it was.
    """
    problems: list[Problem] = []
    if lang not in ("zh", "en"):
        problems.append(Problem(f"unknown language {lang!r}", value=lang, fix="use 'zh' or 'en'"))
    problems += _check_columns(gaps, GAPS_COLUMNS, "gaps")
    problems += _check_columns(coverage, COVERAGE_COLUMNS, "coverage")
    problems += _check_columns(access, [c for c in ACCESS_COLUMNS if c != "snap_dist_m"],
                               "access")
    out_dir = Path(out_dir).expanduser().absolute()
    if out_dir.exists() and not out_dir.is_dir():
        problems.append(Problem("the output folder is an existing file", file=str(out_dir),
                                fix="choose a folder name (--out) that is not a file"))
    if sites is not None:
        if not isinstance(sites, gpd.GeoDataFrame):
            problems.append(Problem("sites must be a GeoDataFrame of points", file="sites",
                                    value=type(sites).__name__))
        elif "site_id" not in sites.columns:
            problems.append(Problem("column 'site_id' is missing", file="sites",
                                    column="site_id"))
    if problems:
        raise InputError(problems)

    keep = list(GAPS_COLUMNS) + [c for c in HAZARD_COLUMNS if c in gaps.columns]
    gaps_sorted = sort_gaps(gaps.loc[:, keep], rules)
    access_out = access.copy()
    if "snap_dist_m" not in access_out.columns:
        access_out["snap_dist_m"] = float("nan")
    writers: dict[str, Callable[[Path], None]] = {
        "gaps.csv": _csv_writer(gaps_sorted),
        "gaps.xlsx": _xlsx_writer(gaps_sorted, rules, lang),
        "coverage.csv": _csv_writer(coverage.loc[:, list(COVERAGE_COLUMNS)]),
        "access.csv": _csv_writer(access_out.loc[:, list(ACCESS_COLUMNS)]),
    }
    names = list(OUTPUT_FILES)
    if sites is not None:
        writers["gaps.gpkg"] = _gpkg_writer(gaps_sorted, sites)
        names.append("gaps.gpkg")

    parent = out_dir.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temps(parent, out_dir.name)
        tmp_dir = Path(tempfile.mkdtemp(dir=parent, prefix=f".{out_dir.name}.tmp-{os.getpid()}-"))
    except OSError as exc:
        raise DataSourceError(f"cannot write into {parent} ({exc.strerror or exc})") from exc
    try:
        for name in names:
            atomic_write(tmp_dir / name, writers[name])
        if not out_dir.exists():
            os.chmod(tmp_dir, 0o755)
            try:
                os.rename(tmp_dir, out_dir)  # one atomic step
            except OSError:
                out_dir.mkdir(parents=True, exist_ok=True)  # created meanwhile: move files
                _commit(tmp_dir, out_dir, names)
        else:
            _commit(tmp_dir, out_dir, names)
    finally:
        if tmp_dir.exists():
            shutil.rmtree(tmp_dir, ignore_errors=True)
    return {name: out_dir / name for name in names}
