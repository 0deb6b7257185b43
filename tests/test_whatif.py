"""What-if placement (anzhi.whatif): routing only the placed facilities gives the access
table, gaps and coverage of a full re-route with them added."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from anzhi.core.errors import InputError
from anzhi.pipeline import RegionInputs, evaluate_region, load_region, route_region
from anzhi.whatif import placed_facilities, with_placed
from layers.facilities import combine_facilities
from layers.rulesfile import read_rules


@pytest.fixture(scope="module")
def routed():  # type: ignore[no-untyped-def]
    data = load_region(RegionInputs.demo())
    rules = read_rules("default")
    types = sorted(set(data.facilities["facility_type"].astype(str)) | set(rules.facility_types))
    access = route_region(data, profile="walk", facility_types=types, progress=False)
    return data, access, rules, types


def _worst_sites(data, access, rules, ftype: str, n: int) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    """``n`` sites lacking ``ftype`` (gap rows of its rules), farthest first."""
    gaps, _ = evaluate_region(data, access, rules)
    bad = gaps[(gaps["facility_type"] == ftype) & gaps["status"].str.startswith("gap")]
    ids = bad.sort_values("dist_m", ascending=False)["site_id"].drop_duplicates().head(n)
    return data.sites.set_index("site_id").loc[ids.tolist()]


@pytest.mark.parametrize("ftype", ["police_room", "clinic"])
def test_placed_facilities_route_like_a_full_rerun(routed, ftype: str) -> None:  # type: ignore[no-untyped-def]
    data, access, rules, types = routed
    where = _worst_sites(data, access, rules, ftype, 2)
    assert len(where) == 2, "the demo county should have sites lacking this type"
    # place each 60 m east of a site lacking the type
    pts = [(ftype, float(g.x) + 0.0006, float(g.y)) for g in where.geometry]
    placed = placed_facilities(pts)
    data2, fast = with_placed(data, access, placed, profile="walk")
    assert len(data2.facilities) == len(data.facilities) + 2
    # the reference: the whole county routed again with the placed facilities in it
    full_data = load_region(RegionInputs.demo())
    full_data = type(full_data)(**{**full_data.__dict__,
                                   "facilities": combine_facilities(full_data.facilities, placed)})
    full = route_region(full_data, profile="walk", facility_types=types, progress=False)
    assert list(fast.columns) == list(full.columns)
    assert (fast["site_id"].to_numpy() == full["site_id"].to_numpy()).all()
    for col in ("dist_m", "time_min"):
        np.testing.assert_allclose(fast[col].to_numpy(float), full[col].to_numpy(float),
                                   rtol=1e-9, atol=1e-6, err_msg=col)
    assert (fast["nearest_facility_id"] == full["nearest_facility_id"]).all()
    assert (fast["reason"] == full["reason"]).all()
    # the placed facilities are now the nearest of the sites they were put by
    rows = fast[(fast["facility_type"] == ftype) & fast["site_id"].isin(where.index)]
    assert set(rows["nearest_facility_id"]) <= {"WHATIF-1", "WHATIF-2"}
    # and the rules follow: fewer gaps of the type, as a full run says
    g_fast, c_fast = evaluate_region(data2, fast, rules)
    g_full, c_full = evaluate_region(full_data, full, rules)
    pd.testing.assert_frame_equal(g_fast.reset_index(drop=True), g_full.reset_index(drop=True))
    before, _ = evaluate_region(data, access, rules)
    n_gap = lambda g: int((g["facility_type"].eq(ftype) & g["status"].str.startswith("gap")).sum())  # noqa: E731
    assert n_gap(g_fast) < n_gap(before)


def test_bad_placements_are_refused(routed) -> None:  # type: ignore[no-untyped-def]
    data, access, _, _ = routed
    with pytest.raises(InputError, match=r"placed facilities.*row 1.*unknown facility type.*'spaceport'"):
        placed_facilities([("spaceport", 99.2, 24.6)])
    with pytest.raises(InputError, match=r"row 2.*not a WGS84 lon/lat"):
        placed_facilities([("clinic", 99.2, 24.6), ("clinic", 999.0, 24.6)])
    narrow = access[access["facility_type"] != "clinic"]
    with pytest.raises(InputError, match="does not hold the placed facilities' types.*clinic"):
        with_placed(data, narrow, placed_facilities([("卫生室", 99.2, 24.6)]))


def test_placed_table_reads_back_as_the_same_facilities(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from anzhi.whatif import placed_table
    from layers.facilities import read_facilities

    placed = placed_facilities([("police_room", 99.21, 24.61), ("幼儿园", 99.25, 24.65)],
                               capacity=[2, 180])
    path = tmp_path / "placed.csv"
    placed_table(placed).to_csv(path, index=False, encoding="utf-8-sig")
    # a declared 坐标系 wins over --coords: read as if the run said gcj02
    back = read_facilities(path, default_coords="gcj02")
    assert list(back["facility_type"]) == ["police_room", "kindergarten"]
    assert list(back["capacity"]) == [2.0, 180.0]
    np.testing.assert_allclose(back.geometry.x, placed.geometry.x, atol=1e-7)
    np.testing.assert_allclose(back.geometry.y, placed.geometry.y, atol=1e-7)
