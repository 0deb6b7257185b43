"""analysis.gaps: worked cases of the default rules and properties of evaluate()."""

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
from anzhi.core.settings import override
from analysis.gaps import GAPS_COLUMNS, evaluate, worst_status
from tests.analysis.builders import (LAT0, LON0, acc, draw_facility_rows, draw_site_rows,
                                     expected_pairs, foundation, make_access, make_facilities,
                                     make_sites, offset)

TYPES = ("clinic", "police_room")


def status_of(gaps: pd.DataFrame, site_id: str, rule_id: str) -> str:
    row = gaps[(gaps["site_id"] == site_id) & (gaps["rule_id"] == rule_id)]
    assert len(row) == 1, f"expected one row for {site_id} × {rule_id}, got {len(row)}"
    return str(row["status"].iloc[0])


# --------------------------------------------------------------------------------------
# Worked cases (default rules)
# --------------------------------------------------------------------------------------

# (population, expected rules that apply)
THRESHOLD_CASES = [
    (799, {"health-every-site"}),
    (800, {"health-every-site", "police-800"}),
    (2999, {"health-every-site", "police-800"}),
    (3000, {"health-every-site", "police-800", "police-3000"}),
]


@pytest.mark.parametrize(("population", "expected"), THRESHOLD_CASES)
def test_population_thresholds(population: int, expected: set[str]) -> None:
    sites = make_sites([dict(site_id="S1", population=population, lon=LON0, lat=LAT0)])
    access = make_access([acc("S1", "clinic", reason="no_facility"),
                          acc("S1", "police_room", reason="no_facility")])
    gaps = evaluate(sites, make_facilities([]), access, foundation())
    assert set(gaps["rule_id"]) == expected
    assert (gaps["status"] == "gap_missing").all()


def _one_site_case(clinic: dict[str, Any] | None, clinic_access: dict[str, Any], *,
                   population: int = 500, **kw: Any) -> pd.DataFrame:
    sites = make_sites([dict(site_id="S1", population=population, lon=LON0, lat=LAT0)])
    facs = make_facilities([clinic] if clinic else [])
    access = make_access([clinic_access, acc("S1", "police_room", reason="no_facility")])
    return evaluate(sites, facs, access, foundation(), **kw)


def test_at_site_by_site_id_even_when_placed_far() -> None:
    lon, lat = offset(5000)  # the site table's 卫生室: 有, whatever its point says
    gaps = _one_site_case(
        dict(facility_id="S1-clinic", facility_type="clinic", site_id="S1", lon=lon, lat=lat),
        acc("S1", "clinic", "S1-clinic", 5200, 70))
    row = gaps.iloc[0]
    assert row["status"] == "ok"
    assert row["nearest_facility_id"] == "S1-clinic"
    assert row["reason"] == "安置点内有卫生室"
    assert row["reason_en"] == "Clinic at the site"


@pytest.mark.parametrize(("dist_m", "expected"), [(250, "ok"), (350, "gap_missing")])
def test_at_site_by_distance(dist_m: float, expected: str) -> None:
    lon, lat = offset(dist_m)
    gaps = _one_site_case(
        dict(facility_id="F1", facility_type="clinic", lon=lon, lat=lat),
        acc("S1", "clinic", "F9", 3000, 45))  # road access puts another clinic 45 min away
    row = gaps.iloc[0]
    assert row["status"] == expected
    if expected == "ok":
        assert row["nearest_facility_id"] == "F1"
        assert row["dist_m"] == pytest.approx(dist_m, abs=1.0)  # straight line, UTM
        assert row["time_min"] == pytest.approx(dist_m / (4.5 * 1000 / 60), rel=1e-3)
        assert "300 m" in row["reason"]
    else:
        assert row["nearest_facility_id"] == "F9"
        assert row["time_min"] == 45


def test_at_site_radius_parameter_and_setting() -> None:
    lon, lat = offset(350)
    fac = dict(facility_id="F1", facility_type="clinic", lon=lon, lat=lat)
    far = acc("S1", "clinic", "F9", 3000, 45)
    assert _one_site_case(fac, far, at_site_radius_m=400).iloc[0]["status"] == "ok"
    lon, lat = offset(250)
    fac = dict(facility_id="F1", facility_type="clinic", lon=lon, lat=lat)
    with override(at_site_radius_m=200):
        assert _one_site_case(fac, far).iloc[0]["status"] == "gap_missing"


@pytest.mark.parametrize(("time_min", "expected"), [(29, "ok_shared"), (30, "ok_shared"),
                                                    (31, "gap_missing")])
def test_within_reach_by_walking_time(time_min: float, expected: str) -> None:
    gaps = _one_site_case(None, acc("S1", "clinic", "F7", 1900, time_min))
    row = gaps.iloc[0]
    assert row["status"] == expected
    assert row["nearest_facility_id"] == "F7"
    assert row["dist_m"] == 1900
    if expected == "ok_shared":
        assert "可共享" in row["reason"]
    else:
        assert "超出到达要求" in row["reason"] and "1.9 km / 31 min" in row["reason"]
        assert "beyond reach" in row["reason_en"]


def test_unroutable_only_for_rules_that_can_be_met_nearby() -> None:
    sites = make_sites([dict(site_id="S1", population=900, lon=LON0, lat=LAT0)])
    access = make_access([acc("S1", "clinic", reason="no_road_nearby", snap_dist_m=2600),
                          acc("S1", "police_room", reason="no_road_nearby", snap_dist_m=2600)])
    gaps = evaluate(sites, make_facilities([]), access, foundation())
    assert status_of(gaps, "S1", "health-every-site") == "unroutable"
    health = gaps[gaps["rule_id"] == "health-every-site"].iloc[0]
    assert "距道路 2.6 km,无法计算路网距离" in health["reason"]
    # a police room must be at the site: no road is needed to see that it is not
    assert status_of(gaps, "S1", "police-800") == "gap_missing"


def test_isolated_network_is_unroutable() -> None:
    gaps = _one_site_case(None, acc("S1", "clinic", reason="isolated_network"))
    assert gaps.iloc[0]["status"] == "unroutable"
    assert "不连通" in gaps.iloc[0]["reason"]


def test_at_site_facility_beats_unroutable() -> None:
    lon, lat = offset(100)
    gaps = _one_site_case(dict(facility_id="F1", facility_type="clinic", lon=lon, lat=lat),
                          acc("S1", "clinic", reason="no_road_nearby", snap_dist_m=2600))
    assert gaps.iloc[0]["status"] == "ok"
    assert gaps.iloc[0]["nearest_facility_id"] == "F1"


def test_no_facility_of_the_type_anywhere() -> None:
    gaps = _one_site_case(None, acc("S1", "clinic", reason="no_facility"), population=3200)
    assert set(gaps["status"]) == {"gap_missing"}
    health = gaps[gaps["rule_id"] == "health-every-site"].iloc[0]
    assert "数据中没有任何卫生室" in health["reason"]
    p3000 = gaps[gaps["rule_id"] == "police-3000"].iloc[0]
    assert p3000["reason"].startswith("人数 3,200 ≥ 3,000,须设警务室")
    assert p3000["reason_en"].startswith("population 3,200 ≥ 3,000: police room required")
    assert p3000["source"] == ("中共贵州省委 贵州省人民政府《关于加强和完善易地扶贫搬迁后续工作的意见》"
                               "(2019年)")
    assert p3000["clause"] == "三(四)19" and p3000["grade"] == "A"


def test_gap_reason_names_the_nearest_police_room() -> None:
    sites = make_sites([dict(site_id="S1", population=3200, lon=LON0, lat=LAT0)])
    access = make_access([acc("S1", "clinic", "C1", 200, 3),
                          acc("S1", "police_room", "P1", 4100, 12)])
    gaps = evaluate(sites, make_facilities([]), access, foundation())
    row = gaps[gaps["rule_id"] == "police-3000"].iloc[0]
    assert row["status"] == "gap_missing"  # police rooms are never shared
    assert row["reason"] == "人数 3,200 ≥ 3,000,须设警务室;安置点内无警务室(最近 4.1 km / 12 min)"
    assert row["nearest_facility_id"] == "P1" and row["dist_m"] == 4100


def test_missing_access_row_means_not_computed() -> None:
    sites = make_sites([dict(site_id="S1", population=100, lon=LON0, lat=LAT0)])
    gaps = evaluate(sites, make_facilities([]), make_access([]), foundation())
    assert gaps.iloc[0]["status"] == "gap_missing"
    assert "未计算到达距离" in gaps.iloc[0]["reason"]


def test_kind_and_households_conditions() -> None:
    rules = foundation().with_overrides({"police-800.kind": "城镇",
                                         "police-3000.min_households": 200})
    sites = make_sites([
        dict(site_id="U", population=3500, households=199.0, kind="城镇", lon=LON0, lat=LAT0),
        dict(site_id="R", population=3500, households=900.0, kind="农村", lon=LON0, lat=LAT0),
        dict(site_id="X", population=3500, households=np.nan, kind="", lon=LON0, lat=LAT0),
    ])
    gaps = evaluate(sites, make_facilities([]), make_access([]), rules)
    got = {(r.site_id, r.rule_id) for r in gaps.itertuples()}
    assert got == {("U", "health-every-site"), ("U", "police-800"),
                   ("R", "health-every-site"), ("R", "police-3000"),
                   ("X", "health-every-site")}


def test_output_schema_and_order() -> None:
    sites = make_sites([dict(site_id="S2", population=3000, lon=LON0, lat=LAT0),
                        dict(site_id="S1", population=100, lon=LON0, lat=LAT0)])
    gaps = evaluate(sites, make_facilities([]), make_access([]), foundation())
    assert tuple(gaps.columns) == GAPS_COLUMNS
    assert gaps["site_id"].tolist() == ["S2", "S2", "S2", "S1"]  # site order, then rule order
    assert gaps["rule_id"].tolist()[:3] == ["health-every-site", "police-800", "police-3000"]
    assert gaps["population"].dtype == np.int64
    assert gaps["dist_m"].dtype == float


def test_empty_inputs_give_empty_table_with_schema() -> None:
    empty_sites = make_sites([dict(site_id="S1", population=1, lon=LON0, lat=LAT0)]).iloc[:0]
    gaps = evaluate(empty_sites, make_facilities([]), make_access([]), foundation())
    assert len(gaps) == 0 and tuple(gaps.columns) == GAPS_COLUMNS


def test_bad_inputs_are_reported_together() -> None:
    sites = make_sites([dict(site_id="S1", population=1, lon=LON0, lat=LAT0),
                        dict(site_id="S1", population=1, lon=LON0, lat=LAT0)])
    access = make_access([acc("S1", "clinic", reason="flooded")]).drop(columns="time_min")
    with pytest.raises(InputError, match="site_id is not unique") as exc:
        evaluate(sites, make_facilities([]), access, foundation())
    assert len(exc.value.problems) == 2
    assert "time_min" in str(exc.value)


def test_wrong_crs_is_refused() -> None:
    sites = make_sites([dict(site_id="S1", population=1, lon=LON0, lat=LAT0)]).to_crs(32647)
    with pytest.raises(InputError, match="EPSG:4326"):
        evaluate(sites, make_facilities([]), make_access([]), foundation())


def test_duplicate_access_rows_are_refused() -> None:
    sites = make_sites([dict(site_id="S1", population=1, lon=LON0, lat=LAT0)])
    access = make_access([acc("S1", "clinic", "F1", 1, 1), acc("S1", "clinic", "F2", 2, 2)])
    with pytest.raises(InputError, match="more than one row"):
        evaluate(sites, make_facilities([]), access, foundation())


def test_evaluate_does_not_modify_inputs() -> None:
    sites = make_sites([dict(site_id="S1", population=900, lon=LON0, lat=LAT0)])
    facs = make_facilities([dict(facility_id="F1", facility_type="clinic", lon=LON0, lat=LAT0)])
    access = make_access([acc("S1", "clinic", "F1", 5, 0.1)])
    before = (sites.copy(), facs.copy(), access.copy())
    evaluate(sites, facs, access, foundation())
    pd.testing.assert_frame_equal(sites, before[0])
    pd.testing.assert_frame_equal(facs, before[1])
    pd.testing.assert_frame_equal(access, before[2])


# --------------------------------------------------------------------------------------
# worst_status
# --------------------------------------------------------------------------------------


def test_worst_status_order_and_sites_without_rules() -> None:
    gaps = pd.DataFrame({
        "site_id": ["A", "A", "B", "B", "C", "D"],
        "status": ["ok", "unroutable", "ok_shared", "gap_missing", "gap_capacity", "ok_shared"],
    })
    ws = worst_status(gaps, site_ids=["A", "B", "C", "D", "E"])
    assert ws["status"].tolist() == ["unroutable", "gap_missing", "gap_capacity", "ok_shared",
                                     "ok"]
    assert ws["n_rules"].tolist() == [2, 2, 1, 1, 0]
    assert ws["n_gaps"].tolist() == [0, 1, 1, 0, 0]
    assert ws["n_unroutable"].tolist() == [1, 0, 0, 0, 0]


def test_worst_status_refuses_unknown_status() -> None:
    with pytest.raises(InputError, match="unknown status"):
        worst_status(pd.DataFrame({"site_id": ["A"], "status": ["fine"]}))


# --------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------

REASONS = ("", "", "", "no_road_nearby", "isolated_network", "no_facility")


@st.composite
def worlds(draw: st.DrawFn) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, pd.DataFrame]:
    site_rows = draw_site_rows(draw, n_max=8, spread_m=1500, pop_max=6000, hh_max=1500)
    fac_rows = draw_facility_rows(draw, site_rows, n_max=5, spread_m=1500, types=TYPES)
    acc_rows = []
    for r in site_rows:
        for t in TYPES:
            if draw(st.integers(0, 9)) == 0:
                continue  # sometimes no access row at all
            reason = draw(st.sampled_from(REASONS))
            if reason:
                acc_rows.append(acc(r["site_id"], t, reason=reason, snap_dist_m=2500))
            else:
                d = draw(st.floats(0, 6000))
                acc_rows.append(acc(r["site_id"], t, "FX", d, d / 75.0))
    return make_sites(site_rows), make_facilities(fac_rows), make_access(acc_rows)


def problem_rows(gaps: pd.DataFrame) -> set[tuple[str, str]]:
    bad = gaps[~gaps["status"].isin(["ok", "ok_shared"])]
    return set(zip(bad["site_id"], bad["rule_id"]))


PROP = settings(max_examples=40, deadline=None,
                suppress_health_check=[HealthCheck.too_slow])


@PROP
@given(world=worlds(), t1=st.integers(0, 7000), dt=st.integers(0, 7000),
       rule_id=st.sampled_from(["health-every-site", "police-800", "police-3000"]))
def test_raising_a_threshold_never_adds_gaps(world: Any, t1: int, dt: int, rule_id: str
                                             ) -> None:
    sites, facs, access = world
    base = foundation()
    low = evaluate(sites, facs, access, base.with_overrides({f"{rule_id}.min_population": t1}))
    high = evaluate(sites, facs, access,
                    base.with_overrides({f"{rule_id}.min_population": t1 + dt}))
    assert problem_rows(high) <= problem_rows(low)
    assert len(high) <= len(low)


@PROP
@given(world=worlds(), pick=st.integers(0, 100), ftype=st.sampled_from(TYPES),
       link=st.booleans())
def test_adding_a_facility_at_a_site_never_adds_gaps(world: Any, pick: int, ftype: str,
                                                     link: bool) -> None:
    sites, facs, access = world
    rules = foundation()
    before = evaluate(sites, facs, access, rules)
    k = pick % len(sites)
    site = sites.iloc[k]
    new = make_facilities([dict(facility_id="NEW", facility_type=ftype,
                                site_id=site["site_id"] if link else "",
                                lon=site.geometry.x, lat=site.geometry.y)])
    after = evaluate(sites, pd.concat([facs, new], ignore_index=True), access, rules)
    assert problem_rows(after) <= problem_rows(before)
    mine = after[(after["site_id"] == site["site_id"]) & (after["facility_type"] == ftype)]
    assert (mine["status"] == "ok").all()


@PROP
@given(world=worlds(), lo=st.integers(0, 4000), width=st.integers(1, 4000),
       min_hh=st.integers(0, 1500), kind=st.sampled_from(["any", "城镇", "农村"]))
def test_every_applicable_site_rule_pair_appears_exactly_once(
        world: Any, lo: int, width: int, min_hh: int, kind: str) -> None:
    sites, facs, access = world
    rules = foundation().with_overrides({
        "police-800.min_population": lo, "police-800.max_population": lo + width,
        "police-3000.min_households": min_hh, "health-every-site.kind": kind})
    gaps = evaluate(sites, facs, access, rules)
    got = list(zip(gaps["site_id"], gaps["rule_id"]))
    assert sorted(got) == sorted(expected_pairs(sites, rules))
    assert len(got) == len(set(got))
    assert set(gaps["status"]) <= {"ok", "ok_shared", "gap_missing", "unroutable"}


@PROP
@given(world=worlds())
def test_ok_rows_have_a_facility_and_shared_rows_are_within_reach(world: Any) -> None:
    sites, facs, access = world
    gaps = evaluate(sites, facs, access, foundation())
    ok = gaps[gaps["status"].isin(["ok", "ok_shared"])]
    assert (ok["nearest_facility_id"] != "").all()
    shared = gaps[gaps["status"] == "ok_shared"]
    assert (shared["time_min"] <= 30).all()
    assert (shared["rule_id"] == "health-every-site").all()  # police rooms are never shared


# --------------------------------------------------------------------------------------
# Speed: the app re-evaluates on every threshold change
# --------------------------------------------------------------------------------------


def test_non_point_geometries_are_refused() -> None:
    sites = make_sites([dict(site_id="S1", population=1, lon=LON0, lat=LAT0)])
    sites = sites.set_geometry(gpd.GeoSeries([Point(LON0, LAT0).buffer(0.001)], crs=4326))
    with pytest.raises(InputError, match="sites, column 'geometry': 1 geometries are not points"):
        evaluate(sites, make_facilities([]), make_access([]), foundation())
