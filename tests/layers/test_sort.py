"""Reading order of the gap list: :func:`layers.export.sort_gaps` and the site order that
makes it a no-op (:func:`layers.export.site_reading_order`, used by ``run_region``)."""

from __future__ import annotations

import dataclasses

import geopandas as gpd
import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import Point

from analysis.gaps import evaluate
from analysis.rules import load_rules
from layers.export import site_reading_order, sort_gaps

RULES = load_rules()
RULES = dataclasses.replace(RULES, rules=tuple(
    r for r in RULES if r.id in ("health-every-site", "police-800", "police-3000")))
NAMES = ["", "施甸县", "隆阳区", "Ba", "a", "b", "龙陵县"]


@st.composite
def site_tables(draw: st.DrawFn) -> gpd.GeoDataFrame:
    n = draw(st.integers(1, 25))
    ids = draw(st.lists(st.text("ABS123", min_size=1, max_size=3), min_size=n, max_size=n,
                        unique=True))
    text = st.one_of(st.sampled_from(NAMES), st.none())
    return gpd.GeoDataFrame({
        "site_id": ids,
        "county": draw(st.lists(text, min_size=n, max_size=n)),
        "township": draw(st.lists(text, min_size=n, max_size=n)),
        "population": draw(st.lists(st.integers(0, 12_000), min_size=n, max_size=n))},
        geometry=[Point(99.2 + 0.001 * k, 24.7) for k in range(n)], crs=4326)


def _reference(gaps: pd.DataFrame) -> list[tuple[str, str, str, int]]:
    rank = {r.id: k for k, r in enumerate(RULES)}
    keys = [(c or "", t or "", s, rank[r]) for c, t, s, r in zip(
        gaps["county"], gaps["township"], gaps["site_id"], gaps["rule_id"])]
    return sorted(keys)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(site_tables())
def test_sites_in_reading_order_give_a_sorted_gap_list(sites: gpd.GeoDataFrame) -> None:
    facs = gpd.GeoDataFrame({"facility_id": [], "facility_type": []}, geometry=[], crs=4326)
    access = pd.DataFrame({c: pd.Series([], dtype=str) for c in (
        "site_id", "facility_type", "nearest_facility_id", "reason")}).assign(
        dist_m=pd.Series([], dtype=float), time_min=pd.Series([], dtype=float))
    gaps = evaluate(sites, facs, access, RULES)
    sorted_gaps = sort_gaps(gaps, RULES)
    rank = {r.id: k for k, r in enumerate(RULES)}
    got = [(c, t, s, rank[r]) for c, t, s, r in zip(sorted_gaps["county"],
                                                    sorted_gaps["township"],
                                                    sorted_gaps["site_id"],
                                                    sorted_gaps["rule_id"])]
    assert got == _reference(gaps)
    ordered = evaluate(sites.iloc[site_reading_order(sites)], facs, access, RULES)
    assert sort_gaps(ordered, RULES) is ordered  # nothing left to sort, no copy
    pd.testing.assert_frame_equal(ordered, sorted_gaps)


def test_reading_order_of_sites_without_area_columns() -> None:
    sites = pd.DataFrame({"site_id": ["S3", "S1", "S2"]})
    assert site_reading_order(sites).tolist() == [1, 2, 0]
    mixed = pd.DataFrame({"site_id": ["b", "a", "c", "d"], "county": ["Y", np.nan, "X", "Y"]})
    # missing county reads as "": first
    assert site_reading_order(mixed).tolist() == [1, 2, 0, 3]
