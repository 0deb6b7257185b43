"""Write the results of a run: ``gaps.csv``, ``gaps.xlsx``, ``coverage.csv``, ``access.csv``
and, given the sites, ``gaps.gpkg``.

Writes are atomic.  :func:`anzhi.core.files.atomic_write` writes one file to a temporary name in the same
folder and renames it into place (``os.replace``), so a reader never sees half a file.
:func:`write_outputs` writes all four files into a temporary folder next to ``out_dir``
and only then moves them in; if anything fails, ``out_dir`` keeps exactly the files it had
(earlier versions are restored) and the temporary folder is removed.  The temporary
folder, ``.NAME.tmp-PID-XXXXXXXX``, holds a note saying it is incomplete; a run that was
killed leaves it, and the next run writing the same ``out_dir`` removes it
(:func:`remove_stale_temps`).

CSV files are UTF-8 with a byte-order mark (``utf-8-sig``) so that Excel shows Chinese
correctly, with the English column names of ``docs/schemas.md``; counts are whole numbers
(``41``, not ``41.0``), and text that a spreadsheet would run as a formula (starting with
``= + - @``, tab or carriage return) gets a leading ``'`` (OWASP), numbers untouched.
``gaps.xlsx`` is for people: Chinese (or English) headers and values, a summary sheet, the
gap list, the per-site plans (一点一策, :func:`analysis.plans.site_plans`: each site's gaps with
their clause, nearest facility and what would close them), the rules applied with their
source, clause and grade, then one sheet per facility type; every sheet has a frozen bold header, filters and fitted column widths.  It is
streamed in openpyxl's write-only mode (:mod:`layers.sheets`): 100,000 sites × 6 rules in
about half a minute and under 2 GB, text always text, never a formula.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, cast

import geopandas as gpd
import numpy as np
import pandas as pd
from openpyxl import Workbook

from anzhi.core.errors import DataSourceError, InputError, Problem
from anzhi.core.files import atomic_write
from anzhi.core.settings import get_settings
from analysis.coverage import COVERAGE_COLUMNS
from analysis.gaps import GAPS_COLUMNS, STATUSES, worst_status
from analysis.plans import site_plans
from analysis.rules import RuleSet
from anzhi.core.vocabulary import label
from layers.csvtext import write_csv
from layers.sheets import cell_values, column_cells, save_workbook, sheet_title, write_table

__all__ = [
    "write_folder",
    "ACCESS_COLUMNS",
    "OUTPUT_FILES",
    "GAPS_XLSX_HEADERS",
    "STATUS_LABELS",
    "write_outputs",
    "sort_gaps",
    "site_reading_order",
    "csv_safe",
    "whole_counts",
    "COUNT_COLUMNS",
    "remove_stale_temps",
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
    plans   | 一点一策 | site plans
    rules   | 规则     | Rules
""")
#: Columns of the 一点一策 sheet (:func:`analysis.plans.site_plans`) -> (中文, English).
_PLAN_HEADERS: dict[str, tuple[str, str]] = _bilingual("""
    site_id             | 安置点编号   | Site ID
    site_name           | 安置点名称   | Site name
    county              | 县           | County
    township            | 乡镇         | Township
    population          | 人数         | Population
    n_gaps              | 缺口数       | Gaps at the site
    facility_type       | 设施类型     | Facility type
    rule_id             | 规则         | Rule
    status              | 状态         | Status
    basis               | 依据(文件 条款) | Basis (document, clause)
    nearest_facility_id | 最近设施     | Nearest facility
    dist_m              | 距离(米)     | Distance (m)
    time_min            | 时间(分钟)   | Time (min)
    action              | 补齐措施     | What would close it
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


def _text_codes(col: pd.Series) -> np.ndarray:
    """Codes of a text column that sort as its values do ("" for missing, code-point order)."""
    text = col.astype(str) if not isinstance(col.dtype, pd.StringDtype) else col
    codes, _ = pd.factorize(text.fillna(""), sort=True)
    return codes


def site_reading_order(sites: pd.DataFrame) -> np.ndarray:
    """Row positions of ``sites`` in reading order: county, township, site_id (stable).

    A gap table evaluated on the sites in this order (site order, then rule order) is
    already in :func:`sort_gaps` order, so no sorted copy of it is ever made.
    """
    keys = [_text_codes(sites[c]) if c in sites.columns else np.zeros(len(sites), dtype=np.int64)
            for c in ("county", "township", "site_id")]
    return np.lexsort(keys[::-1])


def sort_gaps(gaps: pd.DataFrame, rules: RuleSet | None = None) -> pd.DataFrame:
    """The gap table sorted for reading: county, township, site_id, then rule order.

    Rule order is the rule set's when given, else the order of first appearance.
    """
    order = _rule_order(gaps, rules)
    rank = gaps["rule_id"].astype(str).map(order).to_numpy()
    keys = [_text_codes(gaps[c]) for c in ("county", "township", "site_id")]
    idx = np.lexsort([rank, *keys[::-1]])  # stable: equal keys keep their order
    if np.array_equal(idx, np.arange(len(gaps))) and gaps.index.equals(pd.RangeIndex(len(gaps))):
        return gaps  # already in order (run_region sorts once): no second copy
    return gaps.iloc[idx].reset_index(drop=True)


#: Decimals kept in CSV files (sub-decimetre distances and sub-second times mean nothing).
_CSV_DECIMALS = {"dist_m": 1, "snap_dist_m": 1, "time_min": 2, "share_sites": 4,
                 "share_pop": 4}


#: Count columns written as whole numbers in CSV files (``41``, not ``41.0``; empty when missing).
COUNT_COLUMNS: tuple[str, ...] = ("population", "households", "children_3_5", "sites_required",
                                  "sites_covered", "pop_required", "pop_covered")


def whole_counts(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with its whole-number count columns (:data:`COUNT_COLUMNS`) as nullable
    integers (``Int64``: ``41``, not ``41.0``; missing stays missing).

    A column holding a fraction (e.g. ``households`` of 41.5), or a value beyond 2**53
    (not exact in a float), is left as it is.
    """
    out = df.copy()
    for col in COUNT_COLUMNS:
        if col in out.columns:
            out[col] = _whole_column(out[col])
    return out


def _whole_column(col: pd.Series) -> pd.Series:
    """A float column as ``Int64`` when every known value is a whole number, else as is."""
    if not pd.api.types.is_float_dtype(col.dtype):
        return col
    vals = col.to_numpy(dtype=float, na_value=np.nan)
    known = vals[~np.isnan(vals)]
    if not len(known) or not np.isfinite(known).all() or (known != np.round(known)).any() \
            or (np.abs(known) >= 2**53).any():
        return col
    return col.astype("Int64")


#: First characters that make a spreadsheet read a csv cell as a formula (OWASP "CSV injection").
FORMULA_STARTS: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` whose text cells cannot run as formulas when the csv is opened.

    A text cell starting with one of :data:`FORMULA_STARTS` gets a leading ``'`` (the OWASP
    recommendation), so Excel/WPS show it as text; numbers, including negative ones, stay
    numbers, and missing cells stay missing.
    """
    out = df.copy()
    for col in out.columns:
        out[col] = _safe_text_column(out[col])
    return out


def _safe_text_column(col: pd.Series) -> pd.Series:
    """:func:`csv_safe` for one column (vectorised: a 600,000-row column in milliseconds)."""
    if not (pd.api.types.is_object_dtype(col.dtype) or pd.api.types.is_string_dtype(col.dtype)):
        return col
    try:  # cells that are not text give NA, hence False
        risky = col.str.startswith(FORMULA_STARTS, na=False).astype(bool)
    except AttributeError:  # an object column without any text
        return col
    if not risky.any():
        return col
    out = col.astype(object).copy()
    out[risky] = "'" + col[risky].astype(str)
    return out


def _csv_writer(df: pd.DataFrame) -> Callable[[Path], None]:
    """Write ``df`` as UTF-8 csv with a BOM: distances and times rounded, counts as whole
    numbers, text that a spreadsheet would run as a formula neutralised."""
    def write(p: Path) -> None:
        out = df.copy()
        for col, nd in _CSV_DECIMALS.items():
            if col in out.columns:
                out[col] = pd.to_numeric(out[col], errors="coerce").round(nd)
        write_csv(whole_counts(csv_safe(out)), p, encoding="utf-8-sig")  # to_csv's bytes
    return write


# --------------------------------------------------------------------------------------
# xlsx (write-only: rows are streamed to the file, never held as cells)
# --------------------------------------------------------------------------------------

def _beside(zh: str | None, en: str, lang: str) -> str | None:
    """The Chinese citation, with the English form beside it in brackets for ``lang="en"``."""
    if not zh:
        return en or None
    return f"{zh} ({en})" if lang == "en" and en and en != zh else zh


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
                clause = _beside(c.clause, c.clause_en, lang)
                cap = c.describe(lang) + (
                    f" ({_beside(c.source, c.source_en, lang)}{' ' + clause if clause else ''}, "
                    f"{c.grade or '-'})" if c.source else "")
            rows.append([
                r.id, r.label(lang), label(r.facility_type, lang), r.describe_applies(lang),
                r.describe_reach(lang), cap, _beside(r.source, r.source_en, lang),
                _beside(r.clause, r.clause_en, lang), r.grade,
                yes if (r.adjustable or (wr is not None and wr.adjustable)
                        or (c is not None and c.adjustable)) else no,
                _beside(wr.source, wr.source_en, lang) if wr is not None else None,
                wr.grade if wr is not None else None,
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


def _site_layers(gaps: pd.DataFrame, sites: gpd.GeoDataFrame
                 ) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """The gap rows as site points (one per site × rule, the gap fields) and the sites (one
    point per site with its worst status and counts), in the sites' CRS (EPSG:4326)."""
    geom = sites.set_index(sites["site_id"].astype(str)).geometry
    geom = geom[~geom.index.duplicated()]
    g = gaps.copy()
    g["site_id"] = g["site_id"].astype(str)
    pts = gpd.GeoDataFrame(g, geometry=geom.reindex(g["site_id"]).to_numpy(), crs=sites.crs)
    worst = worst_status(gaps, site_ids=sites["site_id"].astype(str))
    base = sites.drop(columns=[c for c in ("status", "n_rules", "n_gaps", "n_unroutable")
                               if c in sites.columns])
    keep = [c for c in ("site_id", "site_name", "county", "township", "village",
                        "population", "households", "kind") if c in base.columns]
    site_layer = gpd.GeoDataFrame(
        base[keep].assign(site_id=base["site_id"].astype(str)).reset_index(drop=True)
        .merge(worst, on="site_id", how="left"),
        geometry=base.geometry.to_numpy(), crs=sites.crs)
    return pts, site_layer


def _gpkg_writer(gaps: pd.DataFrame, sites: gpd.GeoDataFrame) -> Callable[[Path], None]:
    """Layers ``gaps`` and ``sites`` (:func:`_site_layers`) of one GeoPackage."""
    def write(p: Path) -> None:
        pts, site_layer = _site_layers(gaps, sites)
        try:  # through Arrow: 800,000 gap points in a third of the time, the same layers
            _write_gpkg(p, site_layer, pts, use_arrow=True)
        except (RuntimeError, ImportError, NotImplementedError, ValueError, TypeError):
            # GDAL < 3.8 writes no Arrow; a column Arrow cannot type: the row-by-row writer
            _write_gpkg(p, site_layer, pts, use_arrow=False)
    return write


def _write_gpkg(p: Path, site_layer: gpd.GeoDataFrame, pts: gpd.GeoDataFrame, *,
                use_arrow: bool) -> None:
    p.unlink(missing_ok=True)  # the GeoPackage driver wants to create the file itself
    site_layer.to_file(p, layer="sites", driver="GPKG", engine="pyogrio", use_arrow=use_arrow)
    pts.to_file(p, layer="gaps", driver="GPKG", engine="pyogrio", use_arrow=use_arrow)


def _parquet_writer(gaps: pd.DataFrame, sites: gpd.GeoDataFrame, which: str
                    ) -> Callable[[Path], None]:
    """GeoParquet of the gap points (``which="gaps"``) or the sites (:func:`_site_layers`)."""
    def write(p: Path) -> None:
        pts, site_layer = _site_layers(gaps, sites)
        (pts if which == "gaps" else site_layer).to_parquet(p, index=False)
    return write


def _labels(values: pd.Series, name: Callable[[str], str]) -> pd.Series:
    """``name`` of each distinct text of ``values`` (computed once per distinct value)."""
    text = values.astype(str)
    return text.map({k: name(k) for k in pd.unique(text)})


def _gap_columns(gaps: pd.DataFrame, lang: str) -> tuple[list[str], list[Sequence[Any]]]:
    """The Gaps sheet's columns (gap-table names) and their cell values, in sheet order."""
    li = 0 if lang == "zh" else 1
    cols = list(GAPS_XLSX_HEADERS) + [c for c in HAZARD_XLSX_HEADERS if c in gaps.columns]
    data: dict[str, pd.Series] = {c: gaps[c] for c in cols if c in gaps.columns}
    data["status"] = _labels(gaps["status"], lambda s: STATUS_LABELS.get(s, (s, s))[li])
    data["facility_type"] = _labels(gaps["facility_type"], lambda k: label(k, lang))
    data["reason"] = gaps["reason" if lang == "zh" else "reason_en"]
    if "hazard_reason" in data:
        data["hazard_reason"] = gaps["hazard_reason" if lang == "zh" else "hazard_reason_en"]
    if "hazard" in data:
        yes, no = ("是", "否") if lang == "zh" else ("yes", "no")
        data["hazard"] = pd.Series([yes if v is True else no if v is False else ""
                                    for v in gaps["hazard"].tolist()], dtype=object)
    data["dist_m"] = pd.to_numeric(gaps["dist_m"], errors="coerce").round(0)
    data["time_min"] = pd.to_numeric(gaps["time_min"], errors="coerce").round(1)
    return cols, [column_cells(data[c], c) for c in cols]


def _plan_columns(gaps: pd.DataFrame, rules: RuleSet | None, lang: str
                  ) -> tuple[list[str], list[Sequence[Any]], dict[int, str]]:
    """Headers, cell values and number formats of the 一点一策 sheet."""
    li = 0 if lang == "zh" else 1
    plans = site_plans(gaps, rules)
    data: dict[str, Any] = {c: plans[c] for c in _PLAN_HEADERS}
    data["status"] = _labels(plans["status"], lambda s: STATUS_LABELS.get(s, (s, s))[li])
    names = {k: label(k, lang) for k in pd.unique(plans["facility_type"]) if isinstance(k, str)}
    data["facility_type"] = pd.Series([names.get(k) if isinstance(k, str) else None
                                       for k in plans["facility_type"].tolist()], dtype=object)
    data["action"] = plans["action" if lang == "zh" else "action_en"]
    data["dist_m"] = pd.to_numeric(plans["dist_m"], errors="coerce").round(0)
    data["time_min"] = pd.to_numeric(plans["time_min"], errors="coerce").round(1)
    cols = list(_PLAN_HEADERS)
    fmts = {cols.index("population"): "#,##0", cols.index("dist_m"): "#,##0",
            cols.index("time_min"): "0.0"}
    return ([h[li] for h in _PLAN_HEADERS.values()],
            [column_cells(data[c], c) for c in cols], fmts)


def _summary_table(gaps: pd.DataFrame, rules: RuleSet | None, lang: str
                   ) -> tuple[list[str], list[list[Any]], list[str]]:
    """The Summary sheet: headers, rows (one per rule and facility type, counts per
    status, the share covered and the total) and the facility types in rule order."""
    li = 0 if lang == "zh" else 1
    order = _rule_order(gaps, rules)
    labels_by_rule = {r.id: r.label(lang) for r in rules} if rules is not None else {}
    counts = (pd.DataFrame({"rule_id": gaps["rule_id"].astype(str),
                            "facility_type": gaps["facility_type"].astype(str),
                            "status": gaps["status"].astype(str)})
              .groupby(["rule_id", "facility_type", "status"], sort=False).size())
    headers = [_SUMMARY_HEADERS[k][li] for k in ("facility_type", "rule_id", "label")]
    headers += [STATUS_LABELS[s][li] for s in STATUSES]
    headers += [_SUMMARY_HEADERS["share"][li], _SUMMARY_HEADERS["total"][li]]
    pairs = sorted({(r, f) for r, f, _ in counts.index}, key=lambda rf: order[rf[0]])
    rows = []
    for rid, ft in pairs:
        row_counts = [int(counts.get((rid, ft, s), 0)) for s in STATUSES]
        total = sum(row_counts)
        covered = sum(c for c, st in zip(row_counts, STATUSES, strict=True)
                      if st in ("ok", "ok_shared"))
        rows.append([label(ft, lang), rid, labels_by_rule.get(rid), *row_counts,
                     covered / total if total else None, total])
    return headers, rows, list(dict.fromkeys(ft for _, ft in pairs))


def _columns_of(rows: list[list[Any]], headers: Sequence[str]) -> list[list[Any]]:
    """Row lists -> column lists of cell values (:func:`layers.sheets.cell_values`)."""
    return [cell_values([r[j] for r in rows], h) for j, h in enumerate(headers)]


def _xlsx_writer(gaps: pd.DataFrame, rules: RuleSet | None, lang: str
                 ) -> Callable[[Path], None]:
    li = 0 if lang == "zh" else 1

    def write(p: Path) -> None:
        # Write-only: each sheet is streamed to disk as its rows are appended, in order;
        # memory holds the gap table's columns once, never a cell per value.
        wb = Workbook(write_only=True)
        if rules is not None:
            wb.properties.title = f"Anzhi {rules.name} {rules.version}"
        used: set[str] = set()
        rendered: dict[int, Any] = {}
        cols, columns = _gap_columns(gaps, lang)
        headers = [{**GAPS_XLSX_HEADERS, **HAZARD_XLSX_HEADERS}[c][li] for c in cols]
        gap_formats = {cols.index("population"): "#,##0", cols.index("households"): "#,##0",
                       cols.index("dist_m"): "#,##0", cols.index("time_min"): "0.0"}

        sum_headers, sum_rows, ftypes = _summary_table(gaps, rules, lang)
        limit = get_settings().xlsx_type_sheets_max_rows
        if len(gaps) > limit:  # the gap list once: its filter gives each type's rows
            ftypes = []
            note = (f"缺口清单共 {len(gaps):,} 行,超过 {limit:,} 行,未按设施类型分表:请在「"
                    f"{_SHEETS['gaps'][0]}」中按设施类型筛选" if li == 0 else
                    f"The gap list has {len(gaps):,} rows, more than {limit:,}: no sheet per "
                    f"facility type; filter the '{_SHEETS['gaps'][1]}' sheet by facility type")
            sum_rows = [*sum_rows, [note] + [None] * (len(sum_headers) - 1)]
        write_table(wb, _SHEETS["summary"][li], used, sum_headers,
                     _columns_of(sum_rows, sum_headers),
                     number_formats={len(sum_headers) - 2: "0.0%"})
        write_table(wb, _SHEETS["gaps"][li], used, headers, columns,
                     number_formats=gap_formats, rendered=rendered)
        plan_headers, plan_columns, plan_formats = _plan_columns(gaps, rules, lang)
        write_table(wb, _SHEETS["plans"][li], used, plan_headers, plan_columns,
                    number_formats=plan_formats)
        rule_headers = [h[li] for h in _RULE_HEADERS.values()]
        write_table(wb, _SHEETS["rules"][li], used, rule_headers,
                     _columns_of(_rules_rows(gaps, rules, lang), rule_headers))
        # One sheet per facility type, in rule order, same columns as the gap list
        ft_arr = gaps["facility_type"].astype(str).to_numpy()
        for ft in ftypes:
            write_table(wb, label(ft, lang), used, headers, columns,
                         take=np.flatnonzero(ft_arr == ft),
                         number_formats=gap_formats, rendered=rendered)
        save_workbook(wb, p)

    return write


# --------------------------------------------------------------------------------------
# All outputs, atomically
# --------------------------------------------------------------------------------------


#: The note a temporary output folder holds until it becomes ``out_dir`` (never moved in).
_INCOMPLETE_NOTE = "INCOMPLETE-未完成.txt"
_INCOMPLETE_TEXT = (
    "未完成:这是一次运行写到一半的临时文件夹,不是输出结果。运行结束时它会被改名为输出文件夹;\n"
    "若运行被中断,下一次写入同一输出文件夹时会将其删除。\n"
    "INCOMPLETE: a run's temporary folder, written half-way; these are not results. It is\n"
    "renamed to the output folder when the run ends; if the run was killed, the next run\n"
    "writing the same output folder removes it.\n")
#: Age (s) after which a temporary folder without a process id (written by Anzhi before
#: the id was in the name) counts as stale.
_LEGACY_TMP_AGE_S = 24 * 3600


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
    """Whether a process with this id exists (another user's counts)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: someone else's process
        return True
    return True


def remove_stale_temps(parent: Path, name: str) -> list[Path]:
    """Remove the temporary folders ``.NAME.tmp-PID-XXXX`` that killed runs left in ``parent``.

    A run writes its outputs into such a folder and renames it into place; a run killed
    (SIGKILL, power loss) leaves it behind.  Folders of processes still running are kept, and
    so are the folders of other output names (``.NAME2.tmp-...``).  A folder without a process
    id (``.NAME.tmp-XXXXXXXX``, written by versions before the id was in the name) counts as
    stale once it is a day old.  Returns the folders removed.
    """
    esc = re.escape(name)
    with_pid = re.compile(rf"\.{esc}\.tmp-(\d+)-[A-Za-z0-9_]+")
    legacy = re.compile(rf"\.{esc}\.tmp-[a-z0-9_]{{8}}")
    removed: list[Path] = []
    try:
        entries = sorted(os.scandir(parent), key=lambda e: e.name)
    except OSError:
        return removed
    for entry in entries:
        m = with_pid.fullmatch(entry.name)
        if m is None and legacy.fullmatch(entry.name) is None:
            continue
        try:
            if entry.is_symlink() or not entry.is_dir():
                continue
            stale = (not _alive(int(m.group(1))) if m is not None
                     else time.time() - entry.stat().st_mtime > _LEGACY_TMP_AGE_S)
        except OSError:
            continue
        if stale:
            shutil.rmtree(entry.path, ignore_errors=True)
            removed.append(Path(entry.path))
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
    parquet: bool = False,
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
    parquet
        With ``sites``, also write the two layers of ``gaps.gpkg`` as GeoParquet files,
        ``gaps.parquet`` and ``sites.parquet`` (geopandas ``to_parquet``; needs pyarrow).

    Returns
    -------
    dict[str, pathlib.Path]
        File name (``"gaps.csv"``...) -> path written.

    Raises
    ------
    InputError
        Unknown ``lang``, a table missing schema columns, ``out_dir`` being a file, or
        ``parquet`` without ``sites``.
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
    if parquet and sites is None:
        problems.append(Problem("GeoParquet output needs the sites (their points)",
                                value="parquet=True", fix="pass sites=... or parquet=False"))
    if problems:
        raise InputError(problems)

    keep = list(GAPS_COLUMNS) + [c for c in HAZARD_COLUMNS if c in gaps.columns]
    gaps_sorted = sort_gaps(gaps if list(gaps.columns) == keep else gaps.loc[:, keep], rules)
    # no copy of the access table (2.4 M rows for 100,000 sites) unless a column is added
    access_out = access if "snap_dist_m" in access.columns else access.assign(
        snap_dist_m=float("nan"))
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
        if parquet:
            for which in ("gaps", "sites"):
                writers[f"{which}.parquet"] = _parquet_writer(gaps_sorted, sites, which)
                names.append(f"{which}.parquet")

    return write_folder(out_dir, {name: writers[name] for name in names})


def write_folder(out_dir: str | Path, writers: Mapping[str, Callable[[Path], None]]) -> dict[str, Path]:
    """Write a run's files into ``out_dir`` all at once: each writer fills a temporary file
    in a temporary folder beside ``out_dir`` (marked incomplete until it is done), then the
    folder is renamed into place, or, when ``out_dir`` exists, its files are moved in one
    by one (each replace atomic).  Stale temporary folders of killed runs are removed first.

    Parameters
    ----------
    out_dir
        The output folder (created when absent).
    writers
        ``{file name: writer(path)}``, in the order to write them.

    Returns
    -------
    dict of Path
        The files written, by name.

    Raises
    ------
    DataSourceError
        When the folder's parent cannot be written.
    """
    out = Path(out_dir).expanduser().absolute()
    names = list(writers)
    parent = out.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temps(parent, out.name)
        tmp_dir = Path(tempfile.mkdtemp(dir=parent, prefix=f".{out.name}.tmp-{os.getpid()}-"))
    except OSError as exc:
        raise DataSourceError(f"cannot write into {parent} ({exc.strerror or exc})") from exc
    try:
        # until the folder becomes out_dir it says it is no result (a killed run leaves it)
        (tmp_dir / _INCOMPLETE_NOTE).write_text(_INCOMPLETE_TEXT, encoding="utf-8")
        for name in names:
            atomic_write(tmp_dir / name, writers[name])
        if not out.exists():
            (tmp_dir / _INCOMPLETE_NOTE).unlink()
            os.chmod(tmp_dir, 0o755)
            try:
                os.rename(tmp_dir, out)  # one atomic step
            except OSError:
                out.mkdir(parents=True, exist_ok=True)  # created meanwhile: move files
                _commit(tmp_dir, out, names)
        else:
            _commit(tmp_dir, out, names)
    finally:
        if tmp_dir.exists():
            shutil.rmtree(tmp_dir, ignore_errors=True)
    return {name: out / name for name in names}
