"""analysis.capacity: demand, the capacity check and the 2SFCA index (checked against PySAL
``access``)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from anzhi.core.errors import InputError
from analysis.capacity import capacity_check, site_demand, two_step_fca, two_step_fca_table
from analysis.rules import Capacity

# The shared example: four sites, three kindergartens, travel minutes (absent = unreachable).
DEMAND = pd.DataFrame({"site_id": ["S1", "S2", "S3", "S4"], "pop": [1000.0, 2500.0, 400.0, 800.0]})
SUPPLY = pd.DataFrame({"facility_id": ["K1", "K2", "K3"], "places": [90.0, 180.0, 30.0],
                       "facility_type": "kindergarten"})
COST = pd.DataFrame({"site_id": ["S1", "S1", "S2", "S2", "S3", "S3", "S4"],
                     "facility_id": ["K1", "K2", "K2", "K3", "K1", "K3", "K3"],
                     "cost": [5.0, 25.0, 10.0, 30.0, 30.0, 12.0, 40.0]})


def pysal_2sfca(demand: pd.DataFrame, supply: pd.DataFrame, cost: pd.DataFrame,
                max_cost: float, weight_fn=None) -> pd.Series:  # type: ignore[no-untyped-def]
    """2SFCA by PySAL access (its pandas calls emit deprecation warnings under pandas 3)."""
    from access import Access

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = Access(demand_df=demand.copy(), demand_index="site_id", demand_value="pop",
                   supply_df=supply[["facility_id", "places"]].copy(),
                   supply_index="facility_id", supply_value="places",
                   cost_df=cost.rename(columns={"site_id": "origin", "facility_id": "dest"}),
                   cost_origin="origin", cost_dest="dest", cost_name="cost")
        out = a.two_stage_fca(name="2sfca", max_cost=max_cost, weight_fn=weight_fn)
    return out["2sfca_places"].reindex(demand["site_id"])


@pytest.mark.parametrize("max_cost", [10.0, 12.0, 30.0, 45.0])
def test_2sfca_equals_pysal_access_on_the_shared_example(max_cost: float) -> None:
    ours = two_step_fca_table(DEMAND, SUPPLY, COST, max_cost=max_cost, demand_col="pop",
                              supply_col="places").set_index("site_id")["fca2"]
    theirs = pysal_2sfca(DEMAND, SUPPLY, COST, max_cost)
    reached = theirs.notna()
    assert reached.any()
    np.testing.assert_allclose(ours[reached.to_numpy()].to_numpy(),
                               theirs[reached].to_numpy(), rtol=0, atol=1e-9)
    # documented difference: no facility within the catchment gives 0, access gives NaN
    assert (ours[~reached.to_numpy()] == 0).all()


def test_2sfca_worked_value() -> None:
    # max 30 min: K1 serves S1+S3 (1,400), K2 serves S1+S2 (3,500), K3 serves S2+S3 (2,900)
    ours = two_step_fca_table(DEMAND, SUPPLY, COST, max_cost=30, demand_col="pop",
                              supply_col="places").set_index("site_id")["fca2"]
    assert ours["S1"] == pytest.approx(90 / 1400 + 180 / 3500, abs=1e-12)
    assert ours["S4"] == 0.0  # K3 is 40 min away


def test_2sfca_with_distance_decay_equals_pysal() -> None:
    def decay(c):  # type: ignore[no-untyped-def]
        return np.exp(-np.asarray(c, dtype=float) / 20.0)

    demand = DEMAND["pop"].to_numpy()
    mat = np.full((4, 3), np.inf)
    for r in COST.itertuples():
        mat[int(r.site_id[1]) - 1, int(r.facility_id[1]) - 1] = r.cost
    ours = two_step_fca(demand, SUPPLY["places"].to_numpy(), mat, max_cost=30, weight_fn=decay)
    theirs = pysal_2sfca(DEMAND, SUPPLY, COST, 30, weight_fn=decay)
    ok = theirs.notna().to_numpy()
    np.testing.assert_allclose(ours[ok], theirs.to_numpy()[ok], rtol=0, atol=1e-9)


@st.composite
def fca_worlds(draw: st.DrawFn) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, float]:
    n = draw(st.integers(1, 6))
    m = draw(st.integers(1, 4))
    pops = [float(draw(st.integers(1, 5000))) for _ in range(n)]
    caps = [float(draw(st.integers(0, 400))) for _ in range(m)]
    rows = []
    for i in range(n):
        for j in range(m):
            if draw(st.booleans()):
                rows.append((f"S{i}", f"K{j}", float(draw(st.integers(0, 60)))))
    demand = pd.DataFrame({"site_id": [f"S{i}" for i in range(n)], "pop": pops})
    supply = pd.DataFrame({"facility_id": [f"K{j}" for j in range(m)], "places": caps,
                           "facility_type": "kindergarten"})
    cost = pd.DataFrame(rows, columns=["site_id", "facility_id", "cost"])
    return demand, supply, cost, float(draw(st.integers(0, 60)))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(world=fca_worlds())
def test_2sfca_equals_pysal_access_property(world) -> None:  # type: ignore[no-untyped-def]
    demand, supply, cost, max_cost = world
    ours = two_step_fca_table(demand, supply, cost, max_cost=max_cost, demand_col="pop",
                              supply_col="places").set_index("site_id")["fca2"]
    if cost.empty or not (cost["cost"] <= max_cost).any():
        assert (ours == 0).all()
        return
    theirs = pysal_2sfca(demand, supply, cost, max_cost)
    ok = theirs.notna().to_numpy()
    np.testing.assert_allclose(ours.to_numpy()[ok], theirs.to_numpy()[ok], rtol=0, atol=1e-9)
    assert (ours.to_numpy()[~ok] == 0).all()


@settings(max_examples=40, deadline=None)
@given(world=fca_worlds())
def test_2sfca_distributes_exactly_the_reachable_supply(world) -> None:  # type: ignore[no-untyped-def]
    """Σ_i D_i A_i = Σ_j S_j over facilities with someone in their catchment."""
    demand, supply, cost, max_cost = world
    a = two_step_fca_table(demand, supply, cost, max_cost=max_cost, demand_col="pop",
                           supply_col="places")["fca2"].to_numpy()
    inside = cost[cost["cost"] <= max_cost]
    reached = supply[supply["facility_id"].isin(inside["facility_id"])]
    assert float(demand["pop"].to_numpy() @ a) == pytest.approx(reached["places"].sum(),
                                                                rel=1e-9, abs=1e-9)


def test_2sfca_refuses_a_misshapen_cost_matrix() -> None:
    with pytest.raises(InputError, match=r"shape \(2, 2\), expected .* \(3, 2\)"):
        two_step_fca([1, 2, 3], [1, 1], np.zeros((2, 2)), max_cost=10)


def test_2sfca_table_reports_missing_columns() -> None:
    with pytest.raises(InputError, match="'cost' is missing"):
        two_step_fca_table(DEMAND, SUPPLY, COST.drop(columns="cost"), max_cost=10,
                           demand_col="pop", supply_col="places")


def test_2sfca_table_one_block_per_facility_type() -> None:
    sup = pd.concat([SUPPLY, SUPPLY.assign(facility_id=["P1", "P2", "P3"],
                                           facility_type="police_room", places=[1.0, 2.0, 1.0])])
    cost = pd.concat([COST, COST.assign(facility_id=COST["facility_id"].str.replace("K", "P"))])
    t = two_step_fca_table(DEMAND, sup, cost, max_cost=30, demand_col="pop", supply_col="places")
    assert list(t.columns) == ["site_id", "facility_type", "fca2"]
    assert t.groupby("facility_type").size().to_dict() == {"kindergarten": 4, "police_room": 4}
    k = t[t["facility_type"] == "kindergarten"].set_index("site_id")["fca2"]
    assert k["S1"] == pytest.approx(90 / 1400 + 180 / 3500)


# --------------------------------------------------------------------------------------
# Demand and the capacity check
# --------------------------------------------------------------------------------------

KIDS = Capacity(demand="children_3_5", max_per_unit=1, child_share=0.04)
POLICE = Capacity(demand="population", max_per_unit=5000)


def test_site_demand_children_estimate_and_own_count() -> None:
    sites = pd.DataFrame({"population": [10000, 2500, 800]})
    np.testing.assert_allclose(site_demand(sites, KIDS), [400, 100, 32])
    np.testing.assert_allclose(site_demand(sites, POLICE), [10000, 2500, 800])
    own = sites.assign(children_3_5=[150.0, np.nan, 40.0])
    np.testing.assert_allclose(site_demand(own, KIDS), [150, 100, 40])  # NaN -> estimate


def test_capacity_check_groups_demand() -> None:
    # the example: a kindergarten with 180 places for 400 children
    over, dem, cap = capacity_check(["site:A"], [400.0], pd.Series({"site:A": 180.0}),
                                    max_per_unit=1)
    assert over.tolist() == [True] and dem.tolist() == [400] and cap.tolist() == [180]
    # two sites sharing one police officer: 3,000 + 2,500 > 5,000
    over, dem, _ = capacity_check(["fac:P", "fac:P", ""], [3000, 2500, 99999],
                                  pd.Series({"fac:P": 1.0}), max_per_unit=5000)
    assert over.tolist() == [True, True, False] and dem[:2].tolist() == [5500, 5500]
    # unknown capacity: no verdict; exactly at the norm: not over
    over, _, _ = capacity_check(["a", "b"], [100.0, 5000.0],
                                pd.Series({"a": np.nan, "b": 1.0}), max_per_unit=5000)
    assert over.tolist() == [False, False]


def test_capacity_check_refuses_zero_norm() -> None:
    with pytest.raises(InputError, match="max_per_unit must be > 0"):
        capacity_check(["a"], [1.0], pd.Series({"a": 1.0}), max_per_unit=0)
