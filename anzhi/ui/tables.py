"""What the app's page shows besides the map, computed from a region's results (no Streamlit).

The gap list and the coverage tables as shown (localised values and headers), the chart of
covered shares, the headline figures, the site under a map click and an error's problem
list as Markdown.  The app only draws them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import pandas as pd

from analysis.gaps import COVERED_STATUSES, GAP_STATUSES
from anzhi.core.errors import MAX_LISTED_PROBLEMS, AnzhiError
from anzhi.core.vocabulary import label
from anzhi.ui.i18n import COVERAGE_TABLE_COLUMNS, GAP_TABLE_COLUMNS, column_labels, status_label, t

__all__ = [
    "township_chart_data",
    "METRICS",
    "filter_rows",
    "metric_values",
    "site_at",
    "gap_table",
    "coverage_by_township",
    "coverage_chart_data",
    "bar_chart_spec",
    "markdown_escape",
    "error_markdown",
]

#: The headline figures, in the order the page shows them (label keys of :mod:`anzhi.ui.i18n`).
METRICS: tuple[str, ...] = (
    "metric_sites", "metric_sites_gap", "metric_gaps", "metric_unroutable", "metric_coverage",
)


def filter_rows(df: pd.DataFrame, county: str, township: str) -> pd.DataFrame:
    """Rows of one county and township (``""`` = all) of a table with those columns."""
    mask = pd.Series(True, index=df.index)
    if county:
        mask &= df["county"].astype(str) == county
    if township:
        mask &= df["township"].astype(str) == township
    return df[mask]


def metric_values(sites: pd.DataFrame, gaps: pd.DataFrame) -> dict[str, str]:
    """The :data:`METRICS` as shown: sites, sites with a gap, gaps, unroutable sites and the
    share of checks covered (``—`` without checks)."""
    status = gaps["status"].astype(str)
    is_gap = status.isin(GAP_STATUSES)
    n_checks = len(gaps)
    covered = int(status.isin(COVERED_STATUSES).sum())
    share = covered / n_checks if n_checks else math.nan
    return {
        "metric_sites": f"{len(sites):,}",
        "metric_sites_gap": f"{gaps.loc[is_gap, 'site_id'].nunique():,}",
        "metric_gaps": f"{int(is_gap.sum()):,}",
        "metric_unroutable": f"{gaps.loc[status == 'unroutable', 'site_id'].nunique():,}",
        "metric_coverage": "—" if math.isnan(share) else f"{share:.1%}",
    }


def site_at(sites: gpd.GeoDataFrame, clicked: Any, *, tol_deg: float = 1e-6) -> str | None:
    """The ``site_id`` of the site drawn at a clicked map object (``{"lat": .., "lng": ..}``,
    as streamlit-folium's ``last_object_clicked``), or ``None`` if no site is there."""
    if not isinstance(clicked, dict):
        return None
    try:
        lat, lng = float(clicked["lat"]), float(clicked["lng"])
    except (KeyError, TypeError, ValueError):
        return None
    geoms = sites.geometry
    ok = (geoms.notna() & ~geoms.is_empty).to_numpy()
    if not ok.any():
        return None
    xs, ys = geoms[ok].x.to_numpy(), geoms[ok].y.to_numpy()
    d = abs(xs - lng) + abs(ys - lat)
    i = int(d.argmin())
    return str(sites["site_id"].to_numpy()[ok][i]) if d[i] <= 2 * tol_deg else None


def _labels(values: pd.Series, lang: str) -> pd.Series:
    """Facility type keys as their names in ``lang``."""
    return values.astype(str).map(lambda k: label(k, lang))


def _percent(values: pd.Series) -> pd.Series:
    """Shares (0–1) as percentages with one decimal."""
    return (pd.to_numeric(values, errors="coerce") * 100).round(1)


def gap_table(gaps: pd.DataFrame, lang: str, *, show_all: bool) -> pd.DataFrame:
    """The gap list as shown: unsatisfied checks (or all), localised values and headers."""
    rows = gaps if show_all else gaps[~gaps["status"].astype(str).isin(COVERED_STATUSES)]
    reason_col = "reason_en" if lang == "en" else "reason"
    out = pd.DataFrame(
        {
            "site_name": rows["site_name"].astype(str),
            "township": rows["township"].astype(str),
            "population": rows["population"],
            "facility_type": _labels(rows["facility_type"], lang),
            "rule_id": rows["rule_id"].astype(str),
            "status": rows["status"].astype(str).map(lambda s: status_label(s, lang)),
            "dist_m": pd.to_numeric(rows["dist_m"], errors="coerce").round(0),
            "time_min": pd.to_numeric(rows["time_min"], errors="coerce").round(1),
            "reason": rows[reason_col].astype(str),
        }
    )
    if "hazard" in rows:  # the region has a DEM: the site hazard screen (达州 2019)
        flag = {True: t("yes", lang), False: t("no", lang)}
        out["slope_deg"] = pd.to_numeric(rows["slope_deg"], errors="coerce").round(1)
        out["hazard"] = ["" if v is None or v is pd.NA or v != v else flag[bool(v)]
                         for v in rows["hazard"].astype(object).tolist()]
        hz = "hazard_reason_en" if lang == "en" else "hazard_reason"
        out["hazard_reason"] = rows[hz].fillna("").astype(str)
    return out.rename(columns=column_labels(GAP_TABLE_COLUMNS, lang)).reset_index(drop=True)


def coverage_by_township(
    coverage: pd.DataFrame, lang: str, county: str, township: str, *, level: str = "township"
) -> pd.DataFrame:
    """Rows of one level (``township`` or ``county``) of the coverage table, shares in %,
    localised."""
    rows = coverage[coverage["level"].astype(str) == level]
    rows = filter_rows(rows, county, "" if level == "county" else township)
    out = pd.DataFrame(
        {
            "county": rows["county"].astype(str),
            "township": rows["township"].astype(str),
            "facility_type": _labels(rows["facility_type"], lang),
            "rule_id": rows["rule_id"].astype(str),
            "sites_required": rows["sites_required"],
            "sites_covered": rows["sites_covered"],
            "share_sites": _percent(rows["share_sites"]),
            "pop_required": rows["pop_required"],
            "pop_covered": rows["pop_covered"],
            "share_pop": _percent(rows["share_pop"]),
        }
    )
    return out.rename(columns=column_labels(COVERAGE_TABLE_COLUMNS, lang)).reset_index(drop=True)


def coverage_chart_data(
    coverage: pd.DataFrame, lang: str, county: str, township: str, types: Sequence[str]
) -> pd.DataFrame:
    """Share of sites covered (%) per rule for the area in view (the whole region, the
    county or the township), indexed by "facility type · rule id"."""
    if township:
        rows = filter_rows(coverage[coverage["level"].astype(str) == "township"], county, township)
    elif county:
        rows = filter_rows(coverage[coverage["level"].astype(str) == "county"], county, "")
    else:
        rows = coverage[coverage["level"].astype(str) == "all"]
    rows = rows[rows["facility_type"].astype(str).isin(list(types))]
    share = _percent(rows["share_sites"])
    index = [f"{label(ft, lang)} · {rid}" for ft, rid in
             zip(rows["facility_type"].astype(str), rows["rule_id"].astype(str), strict=True)]
    return pd.DataFrame({t("coverage_chart", lang): share.to_numpy()}, index=pd.Index(index))


def township_chart_data(coverage: pd.DataFrame, lang: str, county: str, rule_id: str) -> pd.DataFrame:
    """Share of sites covered (%) by one rule in each township of the area in view (all
    counties, or ``county``), indexed by township (prefixed by its county when the view
    holds several), lowest share first."""
    rows = coverage[(coverage["level"].astype(str) == "township")
                    & (coverage["rule_id"].astype(str) == rule_id)]
    rows = filter_rows(rows, county, "")
    several = rows["county"].astype(str).nunique() > 1
    names = [f"{c} {tw}" if several else str(tw) for c, tw in
             zip(rows["county"].astype(str), rows["township"].astype(str), strict=True)]
    out = pd.DataFrame({t("township_chart", lang): _percent(rows["share_sites"]).to_numpy()},
                       index=pd.Index(names, name=t("township", lang)))
    return out.sort_values(t("township_chart", lang), kind="stable")


def _vega_field(name: str) -> str:
    """A column name as a Vega-Lite field (``.``, ``[`` and ``]`` would mean nesting)."""
    out = str(name).replace("\\", "\\\\")
    for ch in ".[]":
        out = out.replace(ch, "\\" + ch)
    return out


def bar_chart_spec(data: pd.DataFrame, *, x_label: str, keep_order: bool = False) -> dict[str, Any]:
    """A horizontal bar chart of ``data``'s first column (percent) by its index, as the
    Vega-Lite spec ``st.vega_lite_chart`` draws (the data travels as the spec's dataset
    ``bars``).  What ``st.bar_chart(horizontal=True)`` draws, built directly: its Altair
    chart is validated against the Vega-Lite schema on every rerun (~10 ms a chart).

    Parameters
    ----------
    data
        One numeric column, indexed by the bars' names (as :func:`coverage_chart_data` and
        :func:`township_chart_data` return).
    x_label
        Title of the value axis.
    keep_order
        Bars in the rows' order (e.g. lowest share first); default: by name.
    """
    value = str(data.columns[0])
    name = str(data.index.name) if data.index.name is not None else "name"
    rows = pd.DataFrame({name: data.index.astype(str), value: data.iloc[:, 0].to_numpy()})
    y: dict[str, Any] = {"field": _vega_field(name), "type": "nominal", "title": None}
    if keep_order:
        y["sort"] = None
    return {
        "data": {"name": "bars"},
        "datasets": {"bars": rows},
        "mark": {"type": "bar"},
        "encoding": {
            "y": y,
            "x": {"field": _vega_field(value), "type": "quantitative", "title": x_label},
            "tooltip": [{"field": _vega_field(name), "type": "nominal"},
                        {"field": _vega_field(value), "type": "quantitative"}],
        },
    }


def markdown_escape(text: str) -> str:
    """``text`` with Markdown's special characters backslash-escaped (user text shown as is)."""
    out = str(text)
    for ch in "\\`*_[]<>#|~$":
        out = out.replace(ch, "\\" + ch)
    return out


def error_markdown(exc: AnzhiError, lang: str) -> str:
    """An :class:`AnzhiError` as Markdown: the heading, then one bullet per problem."""
    problems = getattr(exc, "problems", None)
    lines = [str(p) for p in problems[:MAX_LISTED_PROBLEMS]] if problems else [str(exc)]
    if problems and len(problems) > MAX_LISTED_PROBLEMS:
        more = len(problems) - MAX_LISTED_PROBLEMS
        lines.append(f"… and {more} more / 另有 {more} 个问题")
    return t("input_error", lang) + "\n\n" + "\n".join(f"- {markdown_escape(x)}" for x in lines)
