"""Capacity in siting runs (:mod:`anzhi.sitingcap`): the groups, demand and sizes read as
``anzhi gaps`` reads them, on small hand-made instances, and the core solving with them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.rules import Capacity
from analysis.siting.problem import SitingType
from analysis.siting.solve import site_facilities
from anzhi.pipeline import read_rules
from anzhi.sitingcap import (CapacityInputs, capacity_norm, core_fields, facility_groups,
                             nearest_chosen, pair_mask, size_new, stuck_note)
from geo.paircosts import PairCosts


def _cap(**kw: object) -> CapacityInputs:
    """Three sites A, B, C: A has a facility group of 2 units (1,000 residents each) at the
    site, B is served by it from afar (500 m), C has none; candidate 0 stands at B,
    candidate 1 near nothing, candidate 2 at A."""
    base: dict[str, object] = dict(
        rule_id="r", norm=Capacity(demand="population", max_per_unit=1000.0), radius_m=300.0,
        demand=np.array([1500.0, 1000.0, 300.0]),
        group=np.array(["site:A", "site:A", ""], dtype=object),
        group_units=pd.Series({"site:A": 2.0}),
        at_site=np.array([True, False, False]),
        cand_group=np.array(["site:B", "", "site:A"], dtype=object),
        site_key=np.array(["site:A", "site:B", "site:C"], dtype=object))
    base.update(kw)
    base.setdefault("size_demand", base["demand"])
    return CapacityInputs(**base)  # type: ignore[arg-type]


def test_the_strictest_norm_of_a_type_is_modelled() -> None:
    rules = read_rules("default")
    police = capacity_norm(rules, "police_room")
    assert police is not None and police.id == "police-ratio"  # 5,000 per officer, not unlimited
    assert capacity_norm(rules, "clinic") is None
    kg = capacity_norm(rules, "kindergarten")
    assert kg is not None and kg.capacity is not None and kg.capacity.demand == "children_3_5"


def test_facility_groups_as_gaps_forms_them() -> None:
    fac = pd.DataFrame({"facility_id": ["f1", "f2", "f3", "f4", "f5"],
                        "facility_type": ["kindergarten"] * 4 + ["clinic"],
                        "capacity": [30.0, 60.0, 90.0, np.nan, 5.0],
                        "site_id": ["A", "", "", "", ""]})
    site_ids = np.array(["A", "B"], dtype=object)
    site_xy = np.array([[0.0, 0.0], [5000.0, 0.0]])
    # f2 is 100 m from A (joins A's group), f3 is 2 km from both (its own), f4 at B unknown
    fac_xy = np.array([[9e9, 9e9], [100.0, 0.0], [2000.0, 2000.0], [5000.0, 50.0], [0.0, 0.0]])
    by_id, g_cap = facility_groups(fac, "kindergarten", site_ids, site_xy, fac_xy, radius_m=300.0)
    assert by_id.to_dict() == {"f1": "site:A", "f2": "site:A", "f3": "fac:f3", "f4": "site:B"}
    assert g_cap["site:A"] == 90.0 and g_cap["fac:f3"] == 90.0
    assert np.isnan(g_cap["site:B"])  # one unknown capacity: no verdict


def test_only_pairs_that_anzhi_gaps_would_assign_are_kept() -> None:
    cap = _cap()
    cost0 = np.array([10.0, 500.0, np.inf])
    reach_met = np.array([True, True, False])
    site = np.array([0, 0, 1, 1, 1, 2])
    col = np.array([1, 2, 0, 1, 1, 1])
    cost = np.array([5.0, 5.0, 900.0, 400.0, 600.0, 50.0])
    keep = pair_mask(cap, site, col, cost, cost0, reach_met)
    # A is served at the site: only a candidate at A takes it over, not a nearer one by road;
    # B goes to the candidate at B (even if farther) or to one nearer than 500 m; C to any
    assert keep.tolist() == [False, True, True, True, False, True]


def test_core_fields_tie_each_site_to_its_group() -> None:
    cap = _cap(group=np.array(["site:A", "site:A", "fac:x"], dtype=object),
               group_units=pd.Series({"site:A": 2.0, "fac:x": np.nan}))
    covered = np.array([True, False, True])
    f = core_fields(cap, covered=covered, reach_met=np.array([True, True, True]),
                    cost0=np.array([0.0, 500.0, 80.0]), has_pair=np.ones(3, dtype=bool),
                    reach=300.0, n_cols=3, weight="length")
    ex = f["existing_cost_min"]
    assert ex.site.tolist() == [0, 1] and ex.fac.tolist() == [0, 0]
    assert ex.cost.tolist() == [0.0, 300.0]  # a pair at 0 m is kept; costs within the reach
    assert f["existing_capacity"].tolist() == [2000.0]
    # C's group has an unknown capacity: no verdict, it stays covered; A is demand now
    assert f["covered"].tolist() == [False, False, True]
    assert (f["capacity"] > cap.demand.sum()).all()


def test_a_site_no_candidate_can_take_over_keeps_its_share_of_the_group() -> None:
    # A (1,500) cannot be moved: it is left out, and the group keeps 500 for B
    f = core_fields(_cap(), covered=np.zeros(3, dtype=bool),
                    reach_met=np.array([True, True, False]), cost0=np.array([10.0, 500.0, np.inf]),
                    has_pair=np.array([False, True, True]), reach=600.0, n_cols=3,
                    weight="length")
    assert f["existing_cost_min"].site.tolist() == [1]
    assert f["existing_capacity"].tolist() == [500.0]
    assert f["covered"].tolist() == [True, False, False]  # A is no demand: nothing can help it


def test_sizes_close_the_group_and_relieve_the_old_one() -> None:
    cap = _cap()
    best_col, best_cost = np.array([-1, 0, 1]), np.array([np.inf, 900.0, 50.0])
    cost0 = np.array([10.0, 500.0, np.inf])
    sz = size_new(cap, np.array([0, 1]), best_col, best_cost, cost0,
                  np.array([True, True, False]))
    # B moves to the new facility at B, C to the other one; A's group is now big enough
    assert sz.col.tolist() == [-1, 0, 1]
    assert sz.cap_ok.tolist() == [True, True, True]
    assert sz.units == {0: 1.0, 1: 1.0}
    assert sz.demand == {0: 1000.0, 1: 300.0}
    # no new facility for B: A's group keeps 2,500 residents for 2,000 → over capacity
    sz = size_new(cap, np.array([1]), np.array([-1, -1, 1]), np.array([np.inf, np.inf, 50.0]),
                  cost0, np.array([True, True, False]))
    assert sz.cap_ok.tolist() == [False, False, True]


def test_a_new_facility_at_a_site_adds_what_its_group_lacks() -> None:
    cap = _cap(demand=np.array([4600.0, 1000.0, 0.0]))
    sz = size_new(cap, np.array([2]), np.array([-1, -1, -1]), np.full(3, np.inf),
                  np.array([10.0, 500.0, np.inf]), np.array([True, True, False]))
    # group A: 5,600 residents, 2 officers there → the new one at A needs 4 more
    assert sz.units == {2: 4.0} and sz.col.tolist() == [2, 2, -1]
    assert sz.cap_ok[:2].all()


def test_a_site_below_the_norms_rule_still_sizes_the_new_facility() -> None:
    # the norm's rule does not apply at C (no demand for anzhi gaps), but its 2,300 residents
    # are what a new facility there serves: 3 units of 1,000, not 1
    cap = _cap(demand=np.array([1500.0, 1000.0, 0.0]),
               size_demand=np.array([1500.0, 1000.0, 2300.0]))
    sz = size_new(cap, np.array([1]), np.array([-1, -1, 1]), np.array([np.inf, np.inf, 50.0]),
                  np.array([10.0, 500.0, np.inf]), np.array([True, True, False]))
    assert sz.units == {1: 3.0} and sz.demand == {1: 2300.0}


def test_nearest_chosen_breaks_ties_by_column() -> None:
    col, cost = nearest_chosen(np.array([0, 0, 0, 1]), np.array([2, 1, 0, 0]),
                               np.array([5.0, 5.0, 1.0, 3.0]), np.array([True, False]),
                               np.array([1, 2]), 3)
    assert col.tolist() == [1, -1] and cost.tolist() == [5.0, np.inf]


@pytest.mark.parametrize("model", ["lscp", "mclp"])
def test_core_uses_the_spare_capacity_of_the_existing_group(model: str) -> None:
    # sites 0 and 1 share one existing group of 1,000 residents (1,500 live there): moving
    # site 1 to one new facility nearer to it is enough, site 0 stays with the group
    cap = _cap(demand=np.array([800.0, 700.0, 0.0]),
               group=np.array(["fac:e", "fac:e", ""], dtype=object),
               group_units=pd.Series({"fac:e": 1.0}), at_site=np.zeros(3, dtype=bool),
               cand_group=np.array(["", "", ""], dtype=object))
    reach_met = np.array([True, True, False])
    required = np.array([True, True, False])
    cost0 = np.array([100.0, 200.0, np.inf])
    pairs = PairCosts(np.array([1, 1]), np.array([0, 1]), np.array([50.0, 150.0]), 3, 2,
                      "length", 300.0)
    f = core_fields(cap, covered=np.zeros(3, dtype=bool), reach_met=reach_met, cost0=cost0,
                    has_pair=np.array([False, True, False]), reach=300.0, n_cols=2,
                    weight="length")
    t = SitingType(name="police_room", cost_min=pairs, reach_min=300.0,
                   pop=cap.demand, required=required,
                   budget=None if model == "lscp" else 1, **f)
    res = site_facilities([t], model=model)
    r = res["police_room"]
    assert r.n_new == 1 and r.covered[:2].all()
    col, cost = nearest_chosen(pairs.site, pairs.fac, pairs.cost, required, r.chosen, 2)
    sz = size_new(cap, r.chosen, col, cost, cost0, reach_met)
    assert sz.cap_ok[:2].all() and list(sz.units.values()) == [1.0]


def test_sites_nothing_can_relieve_are_named() -> None:
    ids = np.array(["A", "B", "C"], dtype=object)
    over = np.array([True, True, False])
    assert stuck_note("police_room", ids, over, np.array([1, 2])) == [
        "type 'police_room': 1 site(s) over capacity (A) have no candidate at the site or "
        "nearer than the facility serving them — enlarge that facility, or add candidates "
        "there (--candidates)"]
    assert stuck_note("police_room", ids, over, np.array([0, 1])) == []
