"""anzhi.ui.tables: the page's tables, figures and texts, from small hand-made results."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
from shapely.geometry import Point

from anzhi.core.errors import InputError, Problem
from anzhi.ui.tables import (
    METRICS,
    bar_chart_spec,
    coverage_chart_data,
    error_markdown,
    filter_rows,
    gap_table,
    markdown_escape,
    metric_values,
    site_at,
)

GAPS = pd.DataFrame({
    "site_id": ["a", "a", "b", "c"],
    "site_name": ["A", "A", "B", "C"],
    "county": ["X", "X", "X", "Y"],
    "township": ["t1", "t1", "t2", "t3"],
    "population": [900, 900, 300, 50],
    "facility_type": ["police_room", "clinic", "clinic", "clinic"],
    "rule_id": ["police-800", "health-every-site", "health-every-site", "health-every-site"],
    "status": ["gap_missing", "ok", "unroutable", "ok_shared"],
    "dist_m": [1234.4, 10.0, None, 300.0],
    "time_min": [20.04, 0.1, None, 4.0],
    "reason": ["无", "", "", ""],
    "reason_en": ["none", "", "", ""],
})


def test_metrics_count_sites_gaps_and_coverage() -> None:
    sites = pd.DataFrame({"site_id": ["a", "b", "c"]})
    values = metric_values(sites, GAPS)
    assert list(values) == list(METRICS)
    assert values == {"metric_sites": "3", "metric_sites_gap": "1", "metric_gaps": "1",
                      "metric_unroutable": "1", "metric_coverage": "50.0%"}
    assert metric_values(sites, GAPS.iloc[:0])["metric_coverage"] == "—"


def test_filters_and_gap_table() -> None:
    assert list(filter_rows(GAPS, "X", "")["site_id"]) == ["a", "a", "b"]
    assert list(filter_rows(GAPS, "X", "t2")["site_id"]) == ["b"]
    en = gap_table(GAPS, "en", show_all=False)
    assert list(en["Site name"]) == ["A", "B"]  # ok and ok_shared rows left out
    assert en["Reason"].iloc[0] == "none" and en["Distance (m)"].iloc[0] == 1234.0
    assert len(gap_table(GAPS, "zh", show_all=True)) == 4


def test_coverage_chart_of_the_area_in_view() -> None:
    coverage = pd.DataFrame({
        "level": ["all", "county", "township"], "county": ["", "X", "X"],
        "township": ["", "", "t1"], "facility_type": ["clinic"] * 3,
        "rule_id": ["health-every-site"] * 3, "share_sites": [0.5, 0.25, 1.0],
    })
    assert coverage_chart_data(coverage, "en", "", "", ["clinic"]).iloc[0, 0] == 50.0
    assert coverage_chart_data(coverage, "en", "X", "", ["clinic"]).iloc[0, 0] == 25.0
    assert coverage_chart_data(coverage, "en", "X", "t1", ["clinic"]).iloc[0, 0] == 100.0
    assert coverage_chart_data(coverage, "en", "", "", ["police_room"]).empty


def test_bar_chart_spec_carries_the_rows_in_order() -> None:
    data = pd.DataFrame({"Sites covered (%)": [20.0, 75.5]},
                        index=pd.Index(["t.2 [b]", "t1"], name="Township"))
    spec = bar_chart_spec(data, x_label="Sites covered (%)", keep_order=True)
    rows = spec["datasets"][spec["data"]["name"]]
    assert list(rows.columns) == ["Township", "Sites covered (%)"]
    assert list(rows["Township"]) == ["t.2 [b]", "t1"] and list(rows["Sites covered (%)"]) == [20.0, 75.5]
    enc = spec["encoding"]
    assert enc["y"] == {"field": "Township", "type": "nominal", "title": None, "sort": None}
    assert enc["x"]["field"] == "Sites covered (%)" and enc["x"]["type"] == "quantitative"
    assert spec["mark"]["type"] == "bar"
    # by name unless asked; an unnamed index and dots or brackets in a name are fields still
    by_name = bar_chart_spec(data.rename_axis(None).rename(columns={"Sites covered (%)": "a.b[c]"}),
                             x_label="x")
    assert "sort" not in by_name["encoding"]["y"] and by_name["encoding"]["y"]["field"] == "name"
    assert by_name["encoding"]["x"]["field"] == "a\\.b\\[c\\]"


def test_site_at_a_click() -> None:
    sites = gpd.GeoDataFrame({"site_id": ["a", "b"]}, geometry=[Point(99, 24), None], crs=4326)
    assert site_at(sites, {"lat": 24.0, "lng": 99.0}) == "a"
    assert site_at(sites, {"lat": 24.1, "lng": 99.0}) is None
    assert site_at(sites, {"lat": "x"}) is None and site_at(sites, None) is None


def test_error_markdown_lists_problems_escaped() -> None:
    exc = InputError([Problem("bad *name*", file="s.xlsx", row=2), Problem("worse", row=3)])
    text = error_markdown(exc, "en")
    assert text.startswith("The input has problems")
    assert text.count("\n- ") == 2 and "bad \\*name\\*" in text
    assert markdown_escape("a_b") == "a\\_b"
