"""Run comparison (analysis.diff): every change kind, the coverage change, the id check.

Expected changes are written out by hand for a small table, and for the demo county's real
gap lists they are computed row by row from the two tables merged with pandas (an
independent, plain-Python reading of the rules in the module docstring).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.diff import (CHANGES, COVERAGE_CHANGE_COLUMNS, DIFF_COLUMNS, RunDiff,
                           change_counts, check_site_ids, compare, coverage_change, diff_gaps,
                           site_changes)
from anzhi.core.errors import InputError

COVERED = {"ok", "ok_shared"}
GAPS = {"gap_missing", "gap_capacity"}


def gap_rows(rows: list[tuple[Any, ...]]) -> pd.DataFrame:
    """A gap table from ``(site_id, rule_id, status)`` or ``(…, population)`` tuples; the site's
    name is ``name-<id>``, township ``T1`` for ids below ``m`` and ``T2`` from ``m`` on."""
    out = []
    for r in rows:
        sid, rid, status = r[:3]
        out.append({"site_id": sid, "site_name": f"name-{sid}", "county": "C",
                    "township": "T1" if sid < "m" else "T2",
                    "population": r[3] if len(r) > 3 else 100, "households": 30,
                    "facility_type": {"r1": "clinic", "r2": "police_room",
                                      "r3": "kindergarten"}[rid],
                    "rule_id": rid, "status": status, "nearest_facility_id": f"F-{sid}",
                    "dist_m": 10.0})
    return pd.DataFrame(out)


def expected_change(o: object, n: object, site: str, rule: str, sites_old: set[str],
                    sites_new: set[str], rules_old: set[str], rules_new: set[str]) -> str:
    """The change of one merged row, read straight from the module's definitions."""
    if isinstance(o, str) and isinstance(n, str):
        if o == n:
            return "unchanged"
        if (o in COVERED) != (n in COVERED):
            return "closed" if n in COVERED else "opened"
        return "changed"
    if isinstance(n, str):  # new only
        if site not in sites_old:
            return "site_added"
        return "rule_added" if rule not in rules_old else "now_applies"
    if site not in sites_new:
        return "site_removed"
    return "rule_removed" if rule not in rules_new else "no_longer_applies"


def expected_rows(old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    m = old[["site_id", "rule_id", "status"]].merge(
        new[["site_id", "rule_id", "status"]], on=["site_id", "rule_id"], how="outer",
        suffixes=("_old", "_new"))
    so, sn = set(old["site_id"]), set(new["site_id"])
    ro, rn = set(old["rule_id"]), set(new["rule_id"])
    m["change"] = [expected_change(o, n, s, r, so, sn, ro, rn) for o, n, s, r in
                   zip(m["status_old"], m["status_new"], m["site_id"], m["rule_id"],
                       strict=True)]
    return m


def as_set(df: pd.DataFrame, cols: tuple[str, ...]) -> set[tuple[str, ...]]:
    return set(map(tuple, df.loc[:, list(cols)].fillna("").astype(str).to_numpy().tolist()))


def test_every_change_kind_on_a_small_table() -> None:
    old = gap_rows([
        ("a", "r1", "gap_missing"), ("a", "r2", "ok"),           # closed, opened
        ("b", "r1", "gap_missing"), ("b", "r2", "ok"),           # changed, unchanged
        ("c", "r1", "ok"),                                       # site removed
        ("d", "r1", "ok"), ("d", "r3", "ok", 900),               # rule r3 removed
        ("e", "r1", "unroutable"), ("e", "r2", "ok_shared", 900),  # closed; no longer applies
        ("n", "r1", "ok"),                                       # now applies (r2)
    ])
    new = gap_rows([
        ("a", "r1", "ok_shared"), ("a", "r2", "gap_capacity"),
        ("b", "r1", "gap_capacity"), ("b", "r2", "ok"),
        ("d", "r1", "ok"),
        ("e", "r1", "ok"),
        ("n", "r1", "ok"), ("n", "r2", "gap_missing", 900),
        ("z", "r1", "gap_missing"),                              # site added
    ])
    rows = diff_gaps(old, new)
    assert tuple(rows.columns) == DIFF_COLUMNS
    got = {(s, r): c for s, r, c in zip(rows["site_id"], rows["rule_id"], rows["change"],
                                         strict=True)}
    assert got == {
        ("a", "r1"): "closed", ("a", "r2"): "opened", ("b", "r1"): "changed",
        ("b", "r2"): "unchanged", ("c", "r1"): "site_removed", ("d", "r1"): "unchanged",
        ("d", "r3"): "rule_removed", ("e", "r1"): "closed", ("e", "r2"): "no_longer_applies",
        ("n", "r1"): "unchanged", ("n", "r2"): "now_applies", ("z", "r1"): "site_added",
    }
    # statuses of a run the row is not in are empty; the rest are carried over
    z = rows[rows["site_id"] == "z"].iloc[0]
    assert z["old_status"] == "" and z["new_status"] == "gap_missing"
    assert np.isnan(z["old_dist_m"]) and z["new_dist_m"] == 10.0
    assert z["new_nearest_facility_id"] == "F-z" and z["old_nearest_facility_id"] == ""
    # sorted by county, township, site, then rule order (the new run's, then old-only rules)
    assert rows["site_id"].tolist() == ["a", "a", "b", "b", "c", "d", "d", "e", "e", "n",
                                        "n", "z"]
    assert rows.loc[rows["site_id"] == "d", "rule_id"].tolist() == ["r1", "r3"]


def test_rule_added_and_the_universe_of_sites_and_rules() -> None:
    old = gap_rows([("a", "r1", "ok")])
    new = gap_rows([("a", "r1", "ok"), ("a", "r3", "gap_missing"), ("b", "r1", "ok")])
    rows = diff_gaps(old, new)
    assert dict(zip(rows["site_id"] + "/" + rows["rule_id"], rows["change"], strict=True)) == {
        "a/r1": "unchanged", "a/r3": "rule_added", "b/r1": "site_added"}
    # b was in the old run (no rule applied to it) and r3 in its rule set
    rows = diff_gaps(old, new, old_sites=["a", "b"], old_rules=["r1", "r3"])
    assert dict(zip(rows["site_id"] + "/" + rows["rule_id"], rows["change"], strict=True)) == {
        "a/r1": "unchanged", "a/r3": "now_applies", "b/r1": "now_applies"}


def test_identical_runs_change_nothing() -> None:
    g = gap_rows([("a", "r1", "ok"), ("a", "r2", "gap_missing"), ("q", "r1", "unroutable")])
    d = compare(g, g)
    assert isinstance(d, RunDiff)
    assert set(d.rows["change"]) == {"unchanged"}
    assert d.totals()["unchanged"] == 3 and sum(d.totals().values()) == 3
    assert (d.coverage["change_sites_covered"] == 0).all()
    assert (d.coverage["change_share_sites"].fillna(0) == 0).all()
    assert (d.coverage["old_share_sites"].equals(d.coverage["new_share_sites"]))


def test_counts_per_rule_with_a_first_line_for_all() -> None:
    old = gap_rows([("a", "r1", "gap_missing"), ("a", "r2", "ok"), ("b", "r2", "ok")])
    new = gap_rows([("a", "r1", "ok"), ("a", "r2", "gap_missing"), ("b", "r2", "ok")])
    counts = compare(old, new, new_rules=["r2", "r1"]).counts
    assert counts["rule_id"].tolist() == ["", "r2", "r1"]
    assert counts.loc[1, "opened"] == 1 and counts.loc[1, "unchanged"] == 1
    assert counts.loc[2, "closed"] == 1 and counts.loc[2, "facility_type"] == "clinic"
    assert counts.loc[0, list(CHANGES)].tolist() == counts.loc[1:, list(CHANGES)].sum().tolist()
    assert counts.loc[0, "old_gaps"] == 1 and counts.loc[0, "new_gaps"] == 1
    assert counts.loc[0, "total"] == 3
    assert change_counts(diff_gaps(old, new))["rule_id"].tolist() == ["", "r1", "r2"]


def test_site_changes_for_the_map() -> None:
    old = gap_rows([("a", "r1", "gap_missing"), ("a", "r2", "ok"), ("b", "r1", "gap_missing"),
                    ("c", "r1", "ok"), ("d", "r1", "ok"), ("e", "r1", "ok"),
                    ("f", "r1", "ok")])
    new = gap_rows([("a", "r1", "ok"), ("a", "r2", "gap_missing"), ("b", "r1", "ok"),
                    ("c", "r1", "gap_missing"), ("d", "r1", "ok_shared"), ("e", "r1", "ok"),
                    ("g", "r1", "ok")])
    got = site_changes(diff_gaps(old, new)).set_index("site_id")
    assert got["change"].to_dict() == {"a": "mixed", "b": "closed", "c": "opened",
                                       "d": "changed", "e": "unchanged", "f": "site_removed",
                                       "g": "site_added"}
    assert got.loc["a", "n_closed"] == 1 and got.loc["a", "n_opened"] == 1
    assert got.loc["b", "n_old_gaps"] == 1 and got.loc["b", "n_new_gaps"] == 0


def test_coverage_change_by_area_and_rule() -> None:
    old = gap_rows([("a", "r1", "gap_missing"), ("b", "r1", "ok"), ("n", "r1", "ok"),
                    ("p", "r1", "gap_missing", 300)])
    new = gap_rows([("a", "r1", "ok"), ("b", "r1", "ok"), ("n", "r1", "ok"),
                    ("p", "r1", "ok", 300), ("p", "r2", "gap_missing", 300)])
    cov = coverage_change(old, new)
    assert tuple(cov.columns) == COVERAGE_CHANGE_COLUMNS
    t1 = cov[(cov["township"] == "T1") & (cov["rule_id"] == "r1")].iloc[0]
    assert (t1["old_sites_covered"], t1["new_sites_covered"], t1["change_sites_covered"]) == (
        1, 2, 1)
    assert t1["old_share_sites"] == 0.5 and t1["new_share_sites"] == 1.0
    assert t1["change_share_sites"] == pytest.approx(0.5)
    t2 = cov[(cov["township"] == "T2") & (cov["rule_id"] == "r1")].iloc[0]
    assert t2["old_pop_covered"] == 100 and t2["new_pop_covered"] == 400
    assert t2["change_share_pop"] == pytest.approx(1.0 - 0.25)
    # a rule of the new run only: zero required in the old run, no share there
    r2 = cov[(cov["level"] == "all") & (cov["rule_id"] == "r2")].iloc[0]
    assert r2["old_sites_required"] == 0 and np.isnan(r2["old_share_sites"])
    assert r2["new_sites_required"] == 1 and np.isnan(r2["change_share_sites"])
    assert r2["facility_type"] == "police_room"
    assert cov["level"].tolist()[:4] == ["all", "county", "township", "township"]


statuses = st.sampled_from(["ok", "ok_shared", "gap_missing", "gap_capacity", "unroutable"])
cells = st.lists(st.tuples(st.sampled_from("abcmnz"), st.sampled_from(["r1", "r2", "r3"]),
                           statuses), max_size=18,
                 unique_by=lambda t: (t[0], t[1]))


@settings(max_examples=60, deadline=None)
@given(cells, cells)
def test_closed_minus_opened_is_the_change_of_covered_sites(
        a: list[tuple[str, str, str]], b: list[tuple[str, str, str]]) -> None:
    """For every rule and area: covered(new) − covered(old) = closed − opened + covered rows
    that appear − covered rows that disappear (the coverage tables count what diff counts)."""
    old, new = gap_rows(a), gap_rows(b)
    if old.empty or new.empty:
        return
    d = compare(old, new, check_ids=False)
    rows = d.rows
    ocov = rows["old_status"].isin(COVERED)
    ncov = rows["new_status"].isin(COVERED)
    gain = ((rows["change"] == "closed") | (rows["old_status"].eq("") & ncov)).astype(int)
    loss = ((rows["change"] == "opened") | (rows["new_status"].eq("") & ocov)).astype(int)
    net = (gain - loss).groupby([rows["township"], rows["rule_id"]]).sum()
    town = d.coverage[d.coverage["level"] == "township"].set_index(["township", "rule_id"])
    assert town["change_sites_covered"].sort_index().to_dict() == net.sort_index().to_dict()
    total = d.coverage[d.coverage["level"] == "all"].set_index("rule_id")
    assert total["change_sites_covered"].to_dict() == (gain - loss).groupby(
        rows["rule_id"]).sum().to_dict()
    assert sum(d.totals().values()) == len(rows) == len(
        set(zip(old["site_id"], old["rule_id"])) | set(zip(new["site_id"], new["rule_id"])))


def test_sites_numbered_by_anzhi_against_real_ids_are_refused() -> None:
    old = gap_rows([("SD001", "r1", "ok"), ("SD002", "r1", "ok"), ("SD003", "r1", "ok")])
    new = old.copy()
    new["site_id"] = ["S0001", "S0002", "S0003"]  # the same sites, from a table without 编号
    with pytest.raises(InputError, match=r"different id columns: 3 of 3 sites with the same "
                       r"name.*'SD001' in jan.*'S0001' in feb.*Anzhi's own numbering.*编号"):
        diff_gaps(old, new, old_label="jan", new_label="feb")
    assert set(diff_gaps(old, new, check_ids=False)["change"]) == {"site_added",
                                                                   "site_removed"}


def test_row_numbers_that_shifted_are_refused() -> None:
    old = gap_rows([("1", "r1", "ok"), ("2", "r1", "ok"), ("3", "r1", "ok")])
    new = old.copy()
    new["site_name"] = ["name-0", "name-1", "name-2"]  # a row inserted at the top: 序号 moved
    with pytest.raises(InputError, match=r"different id columns: 2 of 2 sites with the same "
                       r"name.*name-1: '1' in old run, '2' in new run"):
        check_site_ids(old, new)
    new["site_name"] = ["x", "y", "z"]  # ids kept, every name another
    with pytest.raises(InputError, match=r"different id columns: 3 of 3 site ids found in "
                       r"both name different sites.*'1': name-1 in old run, x in new run.*"
                       r"row numbers"):
        check_site_ids(old, new)


def test_a_few_renamed_or_renumbered_sites_are_compared_as_they_are() -> None:
    ids = [f"SD{i:03d}" for i in range(10)]
    old = gap_rows([(i, "r1", "ok") for i in ids])
    new = old.copy()
    new.loc[0, "site_name"] = "renamed"       # one site renamed
    new.loc[1, "site_id"] = "SD100"           # one renumbered
    rows = diff_gaps(old, new)
    assert (rows["change"] == "unchanged").sum() == 9
    assert set(rows.loc[rows["site_id"].isin(["SD001", "SD100"]), "change"]) == {
        "site_removed", "site_added"}


def test_bad_tables_are_refused_with_what_and_where() -> None:
    good = gap_rows([("a", "r1", "ok")])
    bad = good.assign(status="fine")
    with pytest.raises(InputError, match=r"feb.*unknown status.*'fine'"):
        diff_gaps(good, bad, new_label="feb")
    with pytest.raises(InputError, match=r"appear twice.*site 'a', rule 'r1'"):
        diff_gaps(pd.concat([good, good]), good)
    with pytest.raises(InputError, match=r"column 'status' is missing"):
        diff_gaps(good.drop(columns="status"), good)


# ------------------------------------------------------------------------ the demo county


@pytest.fixture(scope="module")
def region(demo):  # type: ignore[no-untyped-def]
    from anzhi.pipeline import RegionInputs, run_region

    return run_region(RegionInputs.demo(), progress=False)


def test_two_real_runs_of_the_demo_county(region) -> None:  # type: ignore[no-untyped-def]
    """The demo's gap list against a run with changed thresholds (re-evaluated on the same
    routes), one site removed, one added and one rule dropped from the new run."""
    from anzhi.pipeline import evaluate_region

    old = region.gaps
    rules = region.rules.with_overrides({
        "elderly-care-every-site.max_dist_m": 20000,   # closes gaps
        "middle-1000m.max_dist_m": 100,                # opens the one shared middle school
        "police-800.min_population": 1000,             # no longer applies to 800–999
    })
    new, _ = evaluate_region(region.data, region.access, rules)
    sites = sorted(set(old["site_id"]))
    gone, copied = sites[-1], sites[0]
    new = new[new["rule_id"] != "cemetery-every-site"]
    added = new[new["site_id"] == copied].assign(site_id="NEW1", site_name="新建安置点")
    new = pd.concat([new[new["site_id"] != gone], added], ignore_index=True)
    d = compare(old, new)
    want = expected_rows(old, new)
    assert as_set(d.rows, ("site_id", "rule_id", "old_status", "new_status", "change")) == \
        as_set(want, ("site_id", "rule_id", "status_old", "status_new", "change"))
    totals = d.totals()
    for kind in ("closed", "opened", "unchanged", "site_added", "site_removed",
                 "rule_removed", "no_longer_applies"):
        assert totals[kind] > 0, kind
    assert totals["site_added"] == (new["site_id"] == "NEW1").sum()
    assert set(d.rows.loc[d.rows["site_id"] == gone, "change"]) == {"site_removed"}
    police = d.rows[(d.rows["rule_id"] == "police-800") & (d.rows["change"] ==
                                                           "no_longer_applies")]
    pop = old.drop_duplicates("site_id").set_index("site_id")["population"]
    assert ((pop[police["site_id"]] >= 800) & (pop[police["site_id"]] < 1000)).all()
    # the coverage change agrees with the two runs' own coverage tables
    from analysis.coverage import coverage_table

    a, b = coverage_table(old), coverage_table(new)
    keys = ["level", "county", "township", "rule_id"]
    m = b.merge(a, on=keys, how="outer", suffixes=("_new", "_old")).fillna(
        {"sites_covered_new": 0, "sites_covered_old": 0})
    want_cov = dict(zip(map(tuple, m[keys].to_numpy().tolist()),
                        m["sites_covered_new"] - m["sites_covered_old"], strict=True))
    got_cov = dict(zip(map(tuple, d.coverage[keys].to_numpy().tolist()),
                       d.coverage["change_sites_covered"], strict=True))
    assert got_cov == want_cov
    # the first line of the counts adds up all rows
    assert d.counts.loc[0, "total"] == len(d.rows)


def test_coverage_figures_are_those_of_each_runs_coverage_table(region) -> None:  # type: ignore[no-untyped-def]
    from analysis.coverage import COVERAGE_COLUMNS, coverage_table
    from anzhi.pipeline import evaluate_region

    old = region.gaps
    new, _ = evaluate_region(region.data, region.access, region.rules.with_overrides(
        {"elderly-care-every-site.max_dist_m": 20000, "police-800.min_population": 1000}))
    new = new[new["site_id"] != new["site_id"].iloc[0]]
    cov = coverage_change(old, new)
    keys = ["level", "county", "township", "rule_id"]
    for which, g in (("old", old), ("new", new)):
        want = coverage_table(g).set_index(keys)
        got = cov.set_index(keys).loc[want.index]
        for c in COVERAGE_COLUMNS[5:]:
            np.testing.assert_allclose(got[f"{which}_{c}"].to_numpy(dtype=float),
                                       want[c].to_numpy(dtype=float), err_msg=c)
        assert (got["facility_type"] == want["facility_type"]).all() or which == "old"
    # same run twice: the rows in the coverage table's own order
    same = coverage_change(old, old)
    assert same[keys].equals(coverage_table(old)[keys])
