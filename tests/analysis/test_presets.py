"""The packaged presets: worked cases around every threshold, capacity statuses, and the
properties of evaluate() on every preset."""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.gaps import evaluate
from analysis.rules import RuleSet, load_rules, preset_names
from anzhi.core.vocabulary import FACILITY_TYPES
from tests.analysis import builders
from tests.analysis.builders import (draw_facility_rows, draw_site_rows, expected_pairs,
                                     make_sites, offset)

PRESETS = ("guizhou-2019", "baoshan-2023", "gb50180-2018", "default")
SIX_ONES = {"six-ones-community-service", "six-ones-civilisation-practice",
            "six-ones-culture-sports", "six-ones-elderly-care", "six-ones-children-centre",
            "six-ones-affordable-shop"}


def make_facilities(rows: list[dict[str, Any]]) -> gpd.GeoDataFrame:
    """Facilities with a ``capacity`` column (NaN = unknown)."""
    return builders.make_facilities(rows, capacity=True)


def no_access(site_ids: list[str], types: tuple[str, ...]) -> pd.DataFrame:
    """Access rows saying no facility of any type exists."""
    rows = [dict(site_id=s, facility_type=t, nearest_facility_id="", dist_m=np.nan,
                 time_min=np.nan, snap_dist_m=10.0, reason="no_facility")
            for s in site_ids for t in types]
    return pd.DataFrame(rows)


def applicable(preset: str, population: int, households: float, kind: str) -> set[str]:
    rules = load_rules(preset)
    sites = make_sites([dict(site_id="S1", population=population, households=households,
                             kind=kind)])
    gaps = evaluate(sites, make_facilities([]), no_access(["S1"], rules.facility_types), rules)
    assert (gaps["status"] == "gap_missing").all()  # nothing anywhere: every rule is a gap
    assert (gaps["clause"] != "").all() and (gaps["source"] != "").all()
    return set(gaps["rule_id"])


# --------------------------------------------------------------------------------------
# Worked cases: (population, households, kind) -> rules that apply
# --------------------------------------------------------------------------------------

G_BASE = {"health-every-site"}
#: Baoshan's coverage indicators (保山民政 2021 四) count every site
B_BASE = {"elderly-care-every-site", "children-home-every-site", "cemetery-every-site"}
#: 附件3 之附件3: large sites (≥ 200 households and ≥ 800 people)
B_LARGE = {"workshop-large", "odd-job-market-large", "training-base-large",
           "micro-fire-station-large", "bus-stop-large"}
WORKED: dict[str, list[tuple[int, float, str, set[str]]]] = {
    "guizhou-2019": [
        (799, 199, "农村", G_BASE),
        (800, 199, "农村", G_BASE),                         # kindergarten needs 200 households
        (800, 200, "农村", G_BASE | {"kindergarten-large"}),
        (799, 200, "农村", G_BASE),                         # ... and 800 people
        (999, 150, "农村", G_BASE),
        (1000, 150, "农村", G_BASE | {"admin-1000"}),
        (2999, 150, "农村", G_BASE | {"admin-1000"}),
        (3000, 150, "农村", G_BASE | {"admin-1000", "police-3000"}),
        (9999, 150, "农村", G_BASE | {"admin-1000", "police-3000"}),
        (10000, 150, "农村", G_BASE | {"police-3000"}),      # committees: 1,000 ≤ pop < 10,000
        (9999, 150, "城镇", G_BASE | SIX_ONES | {"admin-1000", "police-3000"}),
        (10000, 150, "城镇", G_BASE | SIX_ONES | {"admin-10000", "police-3000"}),  # 1万人及以上
        (500, 100, "城镇", G_BASE | SIX_ONES),               # six ones: town sites only
        (500, 100, "", G_BASE),                               # unknown kind: not a town site
    ],
    "baoshan-2023": [
        (799, 300, "农村", B_BASE),
        (800, 199, "农村", B_BASE | {"police-800", "police-ratio", "employment-800"}),
        (800, 200, "农村", B_BASE | B_LARGE | {"police-800", "police-ratio", "employment-800",
                                               "kindergarten-scale"}),
        (2999, 199, "城镇", B_BASE | {"police-800", "police-ratio", "employment-800"}),
        (3000, 199, "城镇", B_BASE | {"police-800", "police-ratio", "employment-800"}),
        (9999, 100, "农村", B_BASE | {"police-800", "police-ratio", "employment-800"}),
        (10000, 2500, "城镇", B_BASE | B_LARGE | {"police-800", "police-ratio",
                                                  "employment-800", "kindergarten-scale"}),
        (999, np.nan, "农村", B_BASE | {"police-800", "police-ratio", "employment-800"}),
    ],
    "gb50180-2018": [
        (799, 100, "城镇", {"kindergarten-300m", "primary-500m", "middle-1000m",
                            "health-centre-15min", "clinic-30min"}),
        (10000, 2500, "城镇", {"kindergarten-300m", "primary-500m", "middle-1000m",
                              "health-centre-15min", "clinic-30min"}),
        (800, 200, "农村", {"primary-rural-30min", "clinic-30min"}),
        (3000, 700, "", {"clinic-30min"}),
    ],
}


@pytest.mark.parametrize(
    ("preset", "population", "households", "kind", "expected"),
    [(p, *case) for p, cases in WORKED.items() for case in cases],
    ids=[f"{p}-{c[0]}-{c[1]}-{c[2] or 'none'}" for p, cases in WORKED.items() for c in cases])
def test_worked_cases(preset: str, population: int, households: float, kind: str,
                      expected: set[str]) -> None:
    assert applicable(preset, population, households, kind) == expected


#: default merges these preset rules into the one named (same sites, same figures)
MERGED = {"kindergarten-large": "kindergarten-scale", "clinic-30min": "health-every-site"}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pop=st.sampled_from([0, 500, 799, 800, 999, 1000, 2999, 3000, 9999, 10000, 15000]),
       hh=st.sampled_from([np.nan, 0.0, 199.0, 200.0, 3000.0]),
       kind=st.sampled_from(["", "城镇", "农村"]))
def test_default_is_the_documented_union(pop: int, hh: float, kind: str) -> None:
    union: set[str] = set()
    for p in ("guizhou-2019", "baoshan-2023", "gb50180-2018"):
        union |= {MERGED.get(r, r) for r in applicable(p, pop, hh, kind)}
    assert applicable("default", pop, hh, kind) == union


def test_default_rules_are_copies_of_the_preset_rules() -> None:
    default = load_rules("default")
    seen: set[str] = set()
    for p in ("guizhou-2019", "baoshan-2023", "gb50180-2018"):
        for r in load_rules(p):
            if r.id in MERGED:
                merged = default.get(MERGED[r.id])
                assert (merged.facility_type, merged.applies) == (r.facility_type, r.applies) \
                    or r.id == "clinic-30min"
                continue
            notes = {"note": None, "note_en": None}  # the default may add a merge remark
            assert default.get(r.id).to_dict() | notes == r.to_dict() | notes
            seen.add(r.id)
    assert seen | set(MERGED.values()) == set(default.rule_ids)


@pytest.mark.parametrize("preset", PRESETS)
def test_presets_carry_sources_and_mark_c_grades_adjustable(preset: str) -> None:
    rules = load_rules(preset)
    assert preset in preset_names() and rules.name == preset
    for r in rules:
        assert r.source and r.clause and r.grade in ("A", "B", "C")
        assert r.facility_type in FACILITY_TYPES
        if r.grade == "C":
            assert r.adjustable
        wr = r.satisfied_by.within_reach
        if wr is not None and wr.grade == "C":
            assert wr.adjustable
        if r.capacity is not None and r.capacity.grade == "C":
            assert r.capacity.adjustable


def test_guizhou_and_baoshan_differ() -> None:
    g, b = load_rules("guizhou-2019"), load_rules("baoshan-2023")
    assert applicable("guizhou-2019", 900, 100, "农村") != applicable("baoshan-2023", 900, 100,
                                                                       "农村")
    assert {r.source_id for r in g} == {"guizhou-2019"}
    assert {r.source_id for r in b} == {"baoshan-2023", "baoshan-civil-2021"}


# --------------------------------------------------------------------------------------
# Capacity statuses
# --------------------------------------------------------------------------------------


def baoshan_case(population: int, officers: float | None, **site: Any) -> pd.DataFrame:
    rules = load_rules("baoshan-2023")
    sites = make_sites([dict(site_id="S1", population=population, households=population / 4,
                             **site)])
    facs = make_facilities([] if officers is None else [
        dict(facility_id="P1", facility_type="police_room", site_id="S1", capacity=officers)])
    return evaluate(sites, facs, no_access(["S1"], rules.facility_types), rules)


def row(gaps: pd.DataFrame, rule_id: str, site_id: str = "S1") -> pd.Series:
    r = gaps[(gaps["rule_id"] == rule_id) & (gaps["site_id"] == site_id)]
    assert len(r) == 1
    return r.iloc[0]


@pytest.mark.parametrize(("population", "officers", "expected"), [
    (3200, 1, "ok"), (5000, 1, "ok"), (5001, 1, "gap_capacity"), (10000, 2, "ok"),
    (10001, 2, "gap_capacity"), (3200, 0, "gap_capacity"), (3200, None, "gap_missing"),
    (6000, np.nan, "ok"),  # officers unknown: no verdict
])
def test_police_officer_ratio(population: int, officers: float | None, expected: str) -> None:
    gaps = baoshan_case(population, officers)
    r = row(gaps, "police-ratio")
    assert r["status"] == expected
    assert row(gaps, "police-800")["status"] == ("gap_missing" if officers is None else "ok")
    if expected == "gap_capacity":
        assert "容量不足" in r["reason"] and "每名民警 ≤ 5,000 人" in r["reason"]
        assert "over capacity" in r["reason_en"] and "officer" in r["reason_en"]
        assert (r["clause"], r["grade"]) == ("三", "A")


def test_police_ratio_strict_end_by_override() -> None:
    rules = load_rules("baoshan-2023").with_overrides({"police-ratio.max_per_unit": "3000"})
    sites = make_sites([dict(site_id="S1", population=3200, households=800.0)])
    facs = make_facilities([dict(facility_id="P1", facility_type="police_room", site_id="S1",
                                 capacity=1.0)])
    gaps = evaluate(sites, facs, no_access(["S1"], rules.facility_types), rules)
    assert row(gaps, "police-ratio")["status"] == "gap_capacity"


def kindergarten_case(places: float, *, children: float | None = None,
                      population: int = 10000) -> pd.DataFrame:
    rules = load_rules("baoshan-2023")
    site = dict(site_id="S1", population=population, households=population / 4)
    if children is not None:
        site["children_3_5"] = children
    sites = make_sites([site])
    lon, lat = offset(100)
    facs = make_facilities([dict(facility_id="K1", facility_type="kindergarten",
                                 capacity=places, lon=lon, lat=lat)])
    return evaluate(sites, facs, no_access(["S1"], rules.facility_types), rules)


def test_kindergarten_180_places_for_400_children() -> None:
    r = row(kindergarten_case(180), "kindergarten-scale")  # 10,000 × 4% = 400 children
    assert r["status"] == "gap_capacity" and r["nearest_facility_id"] == "K1"
    assert "180 个学位" in r["reason"] and "400" in r["reason"] and "缺 220 个学位" in r["reason"]
    assert "short of 220 places" in r["reason_en"]
    assert row(kindergarten_case(400), "kindergarten-scale")["status"] == "ok"


def test_kindergarten_age_column_overrides_the_share() -> None:
    assert row(kindergarten_case(180, children=150), "kindergarten-scale")["status"] == "ok"
    assert row(kindergarten_case(180, children=181), "kindergarten-scale")["status"] == \
        "gap_capacity"
    # NaN count falls back to the 4% estimate
    assert row(kindergarten_case(180, children=np.nan), "kindergarten-scale")["status"] == \
        "gap_capacity"


def test_child_share_override() -> None:
    rules = load_rules("baoshan-2023").with_overrides({"kindergarten-scale.child_share": 0.015})
    sites = make_sites([dict(site_id="S1", population=10000, households=2500.0)])
    facs = make_facilities([dict(facility_id="K1", facility_type="kindergarten",
                                 site_id="S1", capacity=180.0)])
    gaps = evaluate(sites, facs, no_access(["S1"], rules.facility_types), rules)
    assert row(gaps, "kindergarten-scale")["status"] == "ok"  # 150 children ≤ 180 places


def test_shared_kindergarten_counts_every_site_it_serves() -> None:
    # at-site radius 100 m, so B (250 m away, 260 m by road) is served *nearby*
    rules = load_rules("baoshan-2023").with_overrides({"kindergarten-scale.radius_m": 100})
    lon_b, lat_b = offset(250)
    sites = make_sites([dict(site_id="A", population=1000, households=250.0),
                        dict(site_id="B", population=1000, households=250.0, lon=lon_b,
                             lat=lat_b)])

    def run(places: float) -> pd.DataFrame:
        facs = make_facilities([dict(facility_id="K1", facility_type="kindergarten",
                                     site_id="A", capacity=places)])
        acc = no_access(["A", "B"], rules.facility_types)
        m = (acc["site_id"] == "B") & (acc["facility_type"] == "kindergarten")
        acc.loc[m, ["nearest_facility_id", "dist_m", "time_min", "reason"]] = ["K1", 260.0,
                                                                              3.5, ""]
        return evaluate(sites, facs, acc, rules)

    tight = run(60)  # 40 + 40 children > 60 places
    assert row(tight, "kindergarten-scale", "A")["status"] == "gap_capacity"
    assert row(tight, "kindergarten-scale", "B")["status"] == "gap_capacity"
    assert "共享" in row(tight, "kindergarten-scale", "B")["reason"]
    enough = run(80)
    assert row(enough, "kindergarten-scale", "A")["status"] == "ok"
    assert row(enough, "kindergarten-scale", "B")["status"] == "ok_shared"


def test_guizhou_police_room_needs_an_officer() -> None:
    rules = load_rules("guizhou-2019")
    sites = make_sites([dict(site_id="S1", population=3200, households=800.0)])

    def verdict(officers: float) -> pd.Series:
        facs = make_facilities([dict(facility_id="P1", facility_type="police_room",
                                     site_id="S1", capacity=officers)])
        gaps = evaluate(sites, facs, no_access(["S1"], rules.facility_types), rules)
        return row(gaps, "police-3000")

    def status(officers: float) -> str:
        return str(verdict(officers)["status"])

    assert status(1) == "ok" and status(0) == "gap_capacity" and status(np.nan) == "ok"
    # 一室一警 sets no per-officer limit, and the reason says so (not "≤ 1,000,000,000 人")
    short = verdict(0)
    assert "(至少 1 名民警,不限每名民警服务人数),容量不足,缺 1 名民警" in short["reason"]
    assert "(at least one officer, no per-officer limit): over capacity" in short["reason_en"]
    assert "1,000,000,000" not in short["reason"] + short["reason_en"]


# --------------------------------------------------------------------------------------
# Properties on every preset (with capacities)
# --------------------------------------------------------------------------------------

ALL_TYPES = tuple(dict.fromkeys(t for p in PRESETS for t in load_rules(p).facility_types))


@st.composite
def worlds(draw: st.DrawFn) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, pd.DataFrame]:
    site_rows = draw_site_rows(draw, n_max=6, spread_m=1200, pop_max=12000, hh_max=3000)
    fac_rows = draw_facility_rows(draw, site_rows, n_max=6, spread_m=1200, types=ALL_TYPES,
                                  capacities=[np.nan, 0.0, 1.0, 2.0, 60.0, 180.0, 400.0])
    acc_rows = []
    ids = [f["facility_id"] for f in fac_rows]
    for r in site_rows:
        for t in ALL_TYPES:
            same = [f["facility_id"] for f in fac_rows if f["facility_type"] == t]
            if not same or draw(st.integers(0, 5)) == 0:
                acc_rows.append(dict(site_id=r["site_id"], facility_type=t,
                                     nearest_facility_id="", dist_m=np.nan, time_min=np.nan,
                                     snap_dist_m=10.0,
                                     reason="no_facility" if not same else "no_road_nearby"))
                continue
            d = draw(st.floats(0, 3000))
            acc_rows.append(dict(site_id=r["site_id"], facility_type=t,
                                 nearest_facility_id=draw(st.sampled_from(same)), dist_m=d,
                                 time_min=d / 75.0, snap_dist_m=10.0, reason=""))
    assert ids is not None
    return make_sites(site_rows), make_facilities(fac_rows), pd.DataFrame(acc_rows)


def gap_set(gaps: pd.DataFrame) -> set[tuple[str, str]]:
    bad = gaps[gaps["status"].isin(["gap_missing", "gap_capacity"])]
    return set(zip(bad["site_id"], bad["rule_id"], strict=True))


PROP = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _with_min_population(rules: RuleSet, rule_id: str, value: int) -> RuleSet:
    return rules.with_overrides({f"{rule_id}.min_population": value})


@PROP
@given(world=worlds(), preset=st.sampled_from(PRESETS), pick=st.integers(0, 100),
       t1=st.integers(0, 12000), dt=st.integers(0, 12000))
def test_raising_a_population_threshold_never_adds_gaps(world: Any, preset: str, pick: int,
                                                        t1: int, dt: int) -> None:
    sites, facs, access = world
    rules = load_rules(preset)
    rule = rules.rules[pick % len(rules)]
    mx = rule.applies.max_population
    if mx is not None:
        t1, dt = min(t1, mx - 2), min(dt, 1)
        t1 = max(t1, 0)
    low = evaluate(sites, facs, access, _with_min_population(rules, rule.id, t1))
    high = evaluate(sites, facs, access, _with_min_population(rules, rule.id, t1 + dt))
    assert gap_set(high) <= gap_set(low)


@PROP
@given(world=worlds(), preset=st.sampled_from(PRESETS), pick=st.integers(0, 100),
       ftype=st.sampled_from(ALL_TYPES), cap=st.sampled_from([np.nan, 1e9]),
       at_site=st.booleans())
def test_adding_a_facility_never_adds_gaps(world: Any, preset: str, pick: int, ftype: str,
                                           cap: float, at_site: bool) -> None:
    """A new facility of unknown or ample capacity (access table unchanged)."""
    sites, facs, access = world
    rules = load_rules(preset)
    before = evaluate(sites, facs, access, rules)
    s = sites.iloc[pick % len(sites)]
    new = make_facilities([dict(facility_id="NEW", facility_type=ftype, capacity=cap,
                                site_id=s["site_id"] if at_site else "",
                                lon=s.geometry.x, lat=s.geometry.y)])
    after = evaluate(sites, pd.concat([facs, new], ignore_index=True), access, rules)
    assert gap_set(after) <= gap_set(before)


@PROP
@given(world=worlds(), preset=st.sampled_from(PRESETS))
def test_every_site_and_applicable_rule_exactly_once(world: Any, preset: str) -> None:
    sites, facs, access = world
    rules = load_rules(preset)
    gaps = evaluate(sites, facs, access, rules)
    expected = set(expected_pairs(sites, rules))
    pairs = list(zip(gaps["site_id"], gaps["rule_id"], strict=True))
    assert len(pairs) == len(set(pairs)) and set(pairs) == expected
    assert set(gaps["status"]) <= {"ok", "ok_shared", "gap_missing", "gap_capacity",
                                   "unroutable"}
    cap_rules = {r.id for r in rules if r.capacity is not None}
    assert set(gaps.loc[gaps["status"] == "gap_capacity", "rule_id"]) <= cap_rules


# --------------------------------------------------------------------------------------
# also_types: a township health centre meets the clinic rule (贵州 2019 三(一)3)
# --------------------------------------------------------------------------------------


def health_case(thc_north_m: float | None, thc_access_min: float | None,
                clinic_access_min: float | None = None) -> pd.Series:
    rules = load_rules("guizhou-2019")
    sites = make_sites([dict(site_id="S1", population=500, households=120.0, kind="农村")])
    facs = []
    if thc_north_m is not None:
        lon, lat = offset(thc_north_m)
        facs.append(dict(facility_id="H1", facility_type="township_health_centre",
                         lon=lon, lat=lat, capacity=40.0))
    acc = no_access(["S1"], rules.facility_types)
    for ftype, fid, minutes in (("township_health_centre", "H1", thc_access_min),
                                ("clinic", "C9", clinic_access_min)):
        if minutes is not None:
            m = (acc["facility_type"] == ftype)
            acc.loc[m, ["nearest_facility_id", "dist_m", "time_min", "reason"]] = [
                fid, minutes * 75.0, minutes, ""]
    return row(evaluate(sites, make_facilities(facs), acc, rules), "health-every-site")


def test_township_health_centre_at_the_site_meets_the_clinic_rule() -> None:
    r = health_case(120, 2)
    assert r["status"] == "ok" and r["nearest_facility_id"] == "H1"
    assert r["facility_type"] == "clinic"
    assert "乡镇卫生院" in r["reason"] and "可替代卫生室" in r["reason"]
    assert "township health centre" in r["reason_en"].lower()


def test_township_health_centre_within_reach_is_shared() -> None:
    r = health_case(3000, 25)
    assert r["status"] == "ok_shared" and r["nearest_facility_id"] == "H1"
    assert r["time_min"] == 25 and "可替代" in r["reason"]


def test_own_type_is_preferred_and_far_centres_do_not_count() -> None:
    r = health_case(3000, 25, clinic_access_min=10)
    assert r["status"] == "ok_shared" and r["nearest_facility_id"] == "C9"
    assert "可替代" not in r["reason"]
    assert health_case(6000, 45)["status"] == "gap_missing"
    # the Baoshan preset has no clinic rule at all, GB 50180's clinic rule has no also_types
    assert load_rules("gb50180-2018").get("clinic-30min").satisfied_by.also_types == ()
    assert "township_health_centre" in load_rules("guizhou-2019").facility_types
