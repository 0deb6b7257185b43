"""analysis.coverage: coverage tables, the Baoshan indicator, size classes."""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import Point

from anzhi.core.errors import InputError
from analysis.coverage import (COVERAGE_COLUMNS, SIZE_CLASSES, SIZE_COVERAGE_COLUMNS,
                               coverage_by_size, coverage_table, large_site, size_class,
                               size_class_counts)
from analysis.gaps import evaluate
from analysis.rules import parse_rules
from tests.analysis.builders import LAT0, LON0, foundation


def gaps_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """A gap table with the columns coverage_table reads."""
    df = pd.DataFrame(rows)
    if "facility_type" not in df.columns:
        df["facility_type"] = "clinic"
    return df


ELDERLY = parse_rules({
    "name": "baoshan-check", "version": "1",
    "rules": [{
        "id": "elderly-every-site", "facility_type": "elderly_care",
        "satisfied_by": {"at_site": True, "within_reach": {"max_dist_m": 1000}},
        "source": "baoshan-civil-2021", "clause": "三", "grade": "A",
        "label_zh": "养老服务设施覆盖", "label_en": "Elderly care coverage"}],
}, source="test")


def test_baoshan_elderly_care_indicator_99_of_210() -> None:
    """保山民政 2021: elderly care serves 99 of 210 sites = 47.1%."""
    n = 210
    rng = np.random.default_rng(2021)
    lon = LON0 + rng.uniform(-0.5, 0.5, n)
    lat = LAT0 + rng.uniform(-0.5, 0.5, n)
    ids = [f"S{i:03d}" for i in range(n)]
    pop = rng.integers(50, 3000, n)
    sites = gpd.GeoDataFrame({"site_id": ids, "site_name": "点",
                              "county": np.where(np.arange(n) < 100, "隆阳区", "施甸县"),
                              "township": "", "population": pop,
                              "households": pop / 4.0, "kind": ""},
                             geometry=gpd.points_from_xy(lon, lat), crs=4326)
    # 60 sites have their own elderly centre (site table yes/no column) ...
    own = gpd.GeoDataFrame({"facility_id": [f"{s}-elderly_care" for s in ids[:60]],
                            "facility_type": "elderly_care", "site_id": ids[:60]},
                           geometry=gpd.points_from_xy(lon[:60], lat[:60]), crs=4326)
    # ... 39 share one within 1 km by road, the rest have none within reach
    dist = np.where(np.arange(n) < 99, 800.0, 4000.0)
    access = pd.DataFrame({"site_id": ids, "facility_type": "elderly_care",
                           "nearest_facility_id": "F-town", "dist_m": dist,
                           "time_min": dist / 75.0, "snap_dist_m": 30.0, "reason": ""})
    gaps = evaluate(sites, own, access, ELDERLY)
    cov = coverage_table(gaps)
    top = cov[cov["level"] == "all"].iloc[0]
    assert top["sites_required"] == 210
    assert top["sites_covered"] == 99
    assert round(top["share_sites"], 3) == 0.471
    assert f"{top['share_sites']:.1%}" == "47.1%"
    assert top["pop_covered"] == pop[:99].sum()
    assert top["share_pop"] == pytest.approx(pop[:99].sum() / pop.sum())
    counties = cov[cov["level"] == "county"].set_index("county")
    assert counties.loc["隆阳区", "sites_covered"] == 99  # the first 100 sites
    assert counties.loc["施甸县", "sites_covered"] == 0
    assert counties.loc["施甸县", "share_sites"] == 0.0


def test_levels_and_schema() -> None:
    gaps = gaps_frame([
        dict(site_id="A", county="C1", township="T1", population=100, rule_id="r1",
             status="ok"),
        dict(site_id="B", county="C1", township="T2", population=300, rule_id="r1",
             status="gap_missing"),
        dict(site_id="C", county="C2", township="T3", population=600, rule_id="r1",
             status="ok_shared"),
        dict(site_id="C", county="C2", township="T3", population=600, rule_id="r2",
             status="unroutable"),
    ])
    cov = coverage_table(gaps)
    assert tuple(cov.columns) == COVERAGE_COLUMNS
    # rule r1: 1 all + 2 counties + 3 townships; rule r2: 1 + 1 + 1
    assert len(cov) == 9
    assert cov["rule_id"].tolist() == ["r1"] * 6 + ["r2"] * 3
    assert cov["level"].tolist()[:6] == ["all", "county", "county", "township", "township",
                                         "township"]
    r1 = cov[(cov["rule_id"] == "r1") & (cov["level"] == "all")].iloc[0]
    assert (r1["county"], r1["township"]) == ("", "")
    assert (r1["sites_required"], r1["sites_covered"]) == (3, 2)
    assert (r1["pop_required"], r1["pop_covered"]) == (1000, 700)
    assert r1["share_sites"] == pytest.approx(2 / 3) and r1["share_pop"] == pytest.approx(0.7)
    c1 = cov[(cov["rule_id"] == "r1") & (cov["level"] == "county") & (cov["county"] == "C1")]
    assert c1.iloc[0]["township"] == "" and c1.iloc[0]["sites_covered"] == 1
    r2 = cov[cov["rule_id"] == "r2"]
    assert (r2["sites_covered"] == 0).all() and (r2["share_sites"] == 0).all()


def test_empty_gap_table() -> None:
    cov = coverage_table(gaps_frame([]).reindex(columns=[
        "site_id", "county", "township", "population", "facility_type", "rule_id", "status"]))
    assert len(cov) == 0 and tuple(cov.columns) == COVERAGE_COLUMNS


def test_missing_column_is_reported() -> None:
    with pytest.raises(InputError, match="'status' is missing"):
        coverage_table(pd.DataFrame({"site_id": ["A"], "county": [""], "township": [""],
                                     "population": [1], "facility_type": ["clinic"],
                                     "rule_id": ["r"]}))


STATUS = st.sampled_from(["ok", "ok_shared", "gap_missing", "gap_capacity", "unroutable"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(st.tuples(st.sampled_from(["C1", "C2"]), st.sampled_from(["T1", "T2"]),
                               st.integers(0, 5000), st.sampled_from(["r1", "r2", "r3"]),
                               STATUS), min_size=1, max_size=40))
def test_covered_counts_equal_non_gap_rows(rows: list[tuple[str, str, int, str, str]]) -> None:
    gaps = gaps_frame([dict(site_id=f"S{i}", county=c, township=t, population=p, rule_id=r,
                            status=s) for i, (c, t, p, r, s) in enumerate(rows)])
    cov = coverage_table(gaps)
    for level in ("all", "county", "township"):
        per_rule = cov[cov["level"] == level].groupby("rule_id")[
            ["sites_required", "sites_covered", "pop_covered"]].sum()
        for rule_id, sub in gaps.groupby("rule_id"):
            good = sub["status"].isin(["ok", "ok_shared"])
            assert per_rule.loc[rule_id, "sites_covered"] == good.sum()
            assert per_rule.loc[rule_id, "sites_required"] == len(sub)
            assert per_rule.loc[rule_id, "pop_covered"] == sub.loc[good, "population"].sum()
    assert ((cov["share_sites"] >= 0) & (cov["share_sites"] <= 1)).all()


def test_covered_counts_on_an_evaluated_table() -> None:
    sites = gpd.GeoDataFrame({"site_id": ["A", "B", "C"], "site_name": "", "county": "C",
                              "township": ["T1", "T1", "T2"], "population": [3000, 900, 100],
                              "households": np.nan, "kind": ""},
                             geometry=[Point(LON0, LAT0)] * 3, crs=4326)
    facs = gpd.GeoDataFrame({"facility_id": ["P"], "facility_type": ["police_room"],
                             "site_id": ["A"]}, geometry=[Point(LON0, LAT0)], crs=4326)
    gaps = evaluate(sites, facs, pd.DataFrame(columns=[
        "site_id", "facility_type", "nearest_facility_id", "dist_m", "time_min", "reason"]),
        foundation())
    cov = coverage_table(gaps).set_index(["level", "township", "rule_id"])
    # A, B, C all share the spot of police room P (within 300 m): covered everywhere
    assert cov.loc[("all", "", "police-800"), "sites_covered"] == 2
    assert cov.loc[("all", "", "police-3000"), "sites_required"] == 1
    assert cov.loc[("township", "T1", "police-800"), "share_sites"] == 1.0


def test_size_classes_baoshan() -> None:
    # 保山民政 2021: 201 sites "1000人以下" (1,000 included), 9 of 1,000-10,000
    pop = pd.Series([999] * 199 + [0] + [1000] + [1001] * 7 + [9999] + [10000] + [10001],
                    index=range(5, 216))
    cls = size_class(pop)
    assert list(cls.cat.categories) == list(SIZE_CLASSES)
    assert cls.index.equals(pop.index)
    counts = cls.value_counts()
    assert (counts["under_1000"], counts["1000_to_10000"], counts["10000_plus"]) == (201, 9, 1)
    assert size_class(pd.Series([np.nan])).isna().all()


@pytest.mark.parametrize(("pop", "hh", "expected"), [(800, 200, True), (799, 500, False),
                                                      (5000, 199, False),
                                                      (5000, np.nan, False)])
def test_large_site(pop: int, hh: float, expected: bool) -> None:
    assert large_site(pd.Series([pop]), pd.Series([hh])).tolist() == [expected]


def test_size_class_counts_reproduce_baoshan_2021() -> None:
    """保山民政 2021: 201 sites < 1,000 people, 9 of 1,000–10,000, 16 of ≥ 200 households
    and ≥ 800 people (which overlaps the other two)."""
    pop = [300] * 194 + [850] * 7 + [2500] * 9
    hh = [70.0] * 194 + [210.0] * 7 + [600.0] * 9
    counts = size_class_counts(pd.DataFrame({"population": pop, "households": hh}))
    got = dict(zip(counts["size_class"], counts["sites"], strict=True))
    assert got == {"under_1000": 201, "1000_to_10000": 9, "10000_plus": 0, "large_site": 16,
                   "all": 210}
    assert counts.loc[counts["size_class"] == "all", "pop"].iloc[0] == sum(pop)
    assert counts.loc[counts["size_class"] == "large_site", "label_zh"].iloc[0] == "200户且800人以上"


def test_coverage_by_size_classes() -> None:
    rows = []
    for sid, pop, hh, status in (("A", 500, 100.0, "ok"), ("B", 999, 250.0, "gap_missing"),
                                 ("C", 1001, 250.0, "ok_shared"), ("D", 10000, 2000.0, "ok"),
                                 ("E", 10001, np.nan, "gap_capacity")):
        rows.append(dict(site_id=sid, county="X", township="T", population=pop, households=hh,
                         facility_type="kindergarten", rule_id="k", status=status))
    out = coverage_by_size(gaps_frame(rows)).set_index("size_class")
    assert list(out.columns) == list(SIZE_COVERAGE_COLUMNS)[1:]
    assert out.loc["under_1000", ["sites_required", "sites_covered"]].tolist() == [2, 1]
    assert out.loc["1000_to_10000", ["sites_required", "sites_covered"]].tolist() == [2, 2]
    assert out.loc["10000_plus", ["sites_required", "sites_covered"]].tolist() == [1, 0]
    assert out.loc["large_site", ["sites_required", "sites_covered"]].tolist() == [3, 2]  # B,C,D
    assert out.loc["all", "share_sites"] == pytest.approx(3 / 5)
    assert out.loc["all", "pop_covered"] == 500 + 1001 + 10000


@settings(max_examples=40, deadline=None)
@given(rows=st.lists(st.tuples(st.integers(0, 20000), st.sampled_from([np.nan, 100.0, 300.0]),
                               st.sampled_from(["ok", "ok_shared", "gap_missing",
                                                "gap_capacity", "unroutable"])),
                     min_size=1, max_size=25))
def test_coverage_by_size_counts_equal_non_gap_rows(rows: list[tuple[int, float, str]]) -> None:
    g = gaps_frame([dict(site_id=f"S{i}", county="X", township="T", population=p,
                         households=h, rule_id="r", status=s)
                    for i, (p, h, s) in enumerate(rows)])
    out = coverage_by_size(g).set_index("size_class")
    covered = g["status"].isin(["ok", "ok_shared"])
    assert out.loc["all", "sites_covered"] == covered.sum()
    assert out.loc["all", "sites_required"] == len(g)
    cls = size_class(g["population"]).astype(str)
    for key in ("under_1000", "1000_to_10000", "10000_plus"):
        n = int((covered & (cls == key)).sum())
        assert (out.loc[key, "sites_covered"] if key in out.index else 0) == n
