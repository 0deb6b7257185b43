"""analysis.plans: the per-site plans (一点一策) regroup the gap list site by site."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.gaps import evaluate
from analysis.plans import GAP_STATUSES, PLAN_COLUMNS, site_plans
from anzhi.core.errors import InputError
from tests.analysis.builders import (LAT0, LON0, acc, foundation, make_access, make_facilities,
                                     make_sites, offset)


def _three_sites() -> pd.DataFrame:
    lon_b, lat_b = offset(3000)
    sites = make_sites([
        dict(site_id="A", population=900, township="二号镇"),  # police-800 applies, no police room
        dict(site_id="B", population=100, lon=lon_b, lat=lat_b, township="一号镇"),  # no road
        dict(site_id="C", population=50, township="二号镇"),  # clinic at the site: nothing missing
    ])
    facs = make_facilities([dict(facility_id="F1", facility_type="clinic", lon=LON0, lat=LAT0),
                            dict(facility_id="C-clinic", facility_type="clinic", site_id="C")])
    access = make_access([
        acc("A", "clinic", "F1", 400, 6), acc("A", "police_room", reason="no_facility"),
        acc("B", "clinic", reason="no_road_nearby", snap_dist_m=2600),
        acc("B", "police_room", reason="no_road_nearby", snap_dist_m=2600),
        acc("C", "clinic", "C-clinic", 10, 0.2), acc("C", "police_room", reason="no_facility"),
    ])
    return evaluate(sites, facs, access, foundation())


def test_every_gap_once_in_its_site_block_and_met_sites_once() -> None:
    gaps = _three_sites()
    plans = site_plans(gaps, foundation())
    assert list(plans.columns) == list(PLAN_COLUMNS)
    is_gap = gaps["status"].isin(GAP_STATUSES)
    got = sorted(zip(plans.loc[plans["status"] != "ok", "site_id"],
                     plans.loc[plans["status"] != "ok", "rule_id"], strict=True))
    assert got == sorted(zip(gaps.loc[is_gap, "site_id"], gaps.loc[is_gap, "rule_id"], strict=True))
    assert got  # the case has gaps
    # C has none: one row saying so
    c = plans[plans["site_id"] == "C"]
    assert len(c) == 1 and c.iloc[0]["status"] == "ok" and c.iloc[0]["n_gaps"] == 0
    assert c.iloc[0]["action"] == "无缺口" and c.iloc[0]["action_en"] == "no gap"
    # blocks: a site's rows are contiguous, townships in text order, rules in rule-set order
    ids = plans["site_id"].tolist()
    assert all(ids.index(s) + ids.count(s) - 1 == len(ids) - 1 - ids[::-1].index(s) for s in set(ids))
    assert ids[0] == "B"  # 一号镇 before 二号镇 (text order)
    order = foundation().rule_ids
    for _, block in plans[plans["status"] != "ok"].groupby("site_id"):
        pos = [order.index(r) for r in block["rule_id"]]
        assert pos == sorted(pos)
        assert (block["n_gaps"] == len(block)).all()


def test_actions_say_what_would_close_each_gap() -> None:
    plans = site_plans(_three_sites(), foundation()).set_index(["site_id", "rule_id"])
    police = plans.loc[("A", "police-800")]
    assert police["status"] == "gap_missing"
    assert police["action"] == "在安置点内配建警务室"
    assert police["action_en"] == "needed: police room at the site"
    assert "《" in police["basis"]  # the document by title, with its clause
    clinic = plans.loc[("B", "health-every-site")]
    assert clinic["status"] == "unroutable" and "核实安置点坐标" in clinic["action"]
    assert "coordinates" in clinic["action_en"]


def test_capacity_gap_names_the_norm() -> None:
    from analysis.plans import plan_action

    rule = next(r for r in foundation() if r.capacity is not None)
    text = plan_action("gap_capacity", rule.facility_type, rule, "zh")
    assert text.startswith("扩容或增设") and rule.capacity.describe("zh") in text  # type: ignore[union-attr]
    reach_rule = next(r for r in foundation() if r.satisfied_by.within_reach is not None)
    assert reach_rule.describe_reach("zh") in plan_action("gap_missing", "clinic", reach_rule)


def test_without_rules_and_bad_tables() -> None:
    gaps = _three_sites()
    plans = site_plans(gaps)  # no rule set: generic wording, order of the gap table
    assert set(plans["site_id"]) == {"A", "B", "C"}
    assert (plans.loc[plans["status"] == "gap_missing", "action"].str.contains("配建")).all()
    with pytest.raises(InputError, match="rule_id"):
        site_plans(gaps.drop(columns=["rule_id"]))
