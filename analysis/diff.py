"""Run comparison: what changed between two gap lists of the same area (与上次比较).

:func:`compare` takes the gap tables of two runs (:func:`analysis.gaps.evaluate`, or read
back from ``gaps.csv`` / ``gaps.xlsx`` by :func:`layers.runs.read_run`) and returns one row
per site × rule found in either run, with its status in each and what changed
(:data:`CHANGES`), the coverage change per rule for the whole area, each county and each
township, and the counts of each change per rule.

What counts as a gap
    As in :mod:`analysis.coverage`: a row is *covered* when its status is ``ok`` or
    ``ok_shared`` (:data:`analysis.statuses.COVERED_STATUSES`) and *not covered* otherwise
    (``gap_missing``, ``gap_capacity`` and ``unroutable``).  A gap is *closed* when a row goes
    from not covered to covered and *opened* the other way round, so that for every rule,
    county and township ``closed − opened`` plus the covered rows that appear or disappear
    equals the change of ``sites_covered`` in the coverage tables.

Rows present in one run only
    ``site_added`` / ``site_removed``: the site is in one run only (its site table gained or
    lost it); ``rule_added`` / ``rule_removed``: the site is in both runs but the rule in one
    run's rule set only (another preset or rule file); ``now_applies`` /
    ``no_longer_applies``: site and rule are in both runs but the rule applies to the site in
    one run only (a threshold changed with ``--set``, or the site's population or
    households did).  The first that fits is used, in this order.

Sites are matched by ``site_id``.  Two runs whose site tables took their ids from different
columns (one table with a 编号 column, the other without, so numbered S0001… by Anzhi) would
be compared site by wrong site: :func:`check_site_ids` refuses them, from the sites that the
two runs name alike (same name, county and township) under different ids, or that share an
id under different names.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from anzhi.core.errors import InputError, Problem
from analysis.statuses import COVERED_STATUSES, GAP_STATUSES, STATUSES

__all__ = [
    "CHANGES",
    "DIFF_COLUMNS",
    "COVERAGE_CHANGE_COLUMNS",
    "SITE_CHANGES",
    "RunDiff",
    "compare",
    "diff_gaps",
    "coverage_change",
    "change_counts",
    "site_changes",
    "check_site_ids",
]

#: Change of one site × rule row -> (Chinese label, English label), in reading order.
CHANGES: dict[str, tuple[str, str]] = {
    "closed": ("缺口补齐", "gap closed"),
    "opened": ("新增缺口", "new gap"),
    "changed": ("状态变化", "status changed"),
    "unchanged": ("未变", "unchanged"),
    "site_added": ("新增安置点", "site added"),
    "site_removed": ("移除安置点", "site removed"),
    "rule_added": ("新增规则", "rule added"),
    "rule_removed": ("移除规则", "rule removed"),
    "now_applies": ("新适用", "rule now applies"),
    "no_longer_applies": ("不再适用", "rule no longer applies"),
}

#: Columns of the diff table (``diff.csv``), in order.
DIFF_COLUMNS: tuple[str, ...] = (
    "site_id", "site_name", "county", "township", "facility_type", "rule_id",
    "old_status", "new_status", "change", "old_nearest_facility_id",
    "new_nearest_facility_id", "old_dist_m", "new_dist_m",
)

#: Figures of a coverage row compared between the runs.
_COVERAGE_FIGURES: tuple[str, ...] = ("sites_required", "sites_covered", "share_sites",
                                      "pop_required", "pop_covered", "share_pop")
#: Columns of the coverage-change table (``diff_coverage.csv``), in order.
COVERAGE_CHANGE_COLUMNS: tuple[str, ...] = (
    "level", "county", "township", "facility_type", "rule_id",
    "old_sites_required", "new_sites_required", "old_sites_covered", "new_sites_covered",
    "change_sites_covered", "old_share_sites", "new_share_sites", "change_share_sites",
    "old_pop_required", "new_pop_required", "old_pop_covered", "new_pop_covered",
    "change_pop_covered", "old_share_pop", "new_share_pop", "change_share_pop",
)

#: Change of a whole site (:func:`site_changes`, for colouring a map) -> (中文, English),
#: most telling first.
SITE_CHANGES: dict[str, tuple[str, str]] = {
    "site_added": ("新增安置点", "site added"),
    "site_removed": ("移除安置点", "site removed"),
    "mixed": ("有补齐也有新增缺口", "gaps closed and opened"),
    "opened": ("新增缺口", "new gap"),
    "closed": ("缺口补齐", "gap closed"),
    "changed": ("其他变化", "other change"),
    "unchanged": ("未变", "unchanged"),
}

#: Columns a gap table needs here (the coverage tables need the area and population).
_NEEDED: tuple[str, ...] = ("site_id", "site_name", "county", "township", "population",
                            "facility_type", "rule_id", "status")
#: Ids Anzhi gives sites when the site table has no id column (``layers.sites``).
_NUMBERED = re.compile(r"S\d{4,}")


@dataclass(frozen=True)
class RunDiff:
    """The comparison of two runs (:func:`compare`).

    Attributes
    ----------
    rows
        One row per site × rule (:data:`DIFF_COLUMNS`, :func:`diff_gaps`).
    coverage
        Coverage change per rule and area (:data:`COVERAGE_CHANGE_COLUMNS`).
    counts
        Rows of each change per rule (:func:`change_counts`).
    """

    rows: pd.DataFrame
    coverage: pd.DataFrame
    counts: pd.DataFrame

    def totals(self) -> dict[str, int]:
        """Rows of each change (:data:`CHANGES`, every key, zeros included), in order."""
        vc = self.rows["change"].value_counts()
        return {k: int(vc.get(k, 0)) for k in CHANGES}


@dataclass(frozen=True)
class _Table:
    """One run's gap table as arrays (text as object arrays, ``""`` for blanks), checked."""

    label: str
    site: np.ndarray
    name: np.ndarray
    county: np.ndarray
    township: np.ndarray
    ftype: np.ndarray
    rule: np.ndarray
    status: np.ndarray
    nearest: np.ndarray
    pop: np.ndarray
    dist: np.ndarray

    def __len__(self) -> int:
        return len(self.site)


def _text(col: pd.Series) -> np.ndarray:
    """A column as an object array of ``str`` (missing -> ``""``)."""
    arr = col.to_numpy(dtype=object, na_value="")
    if len(arr) and pd.api.types.infer_dtype(arr, skipna=False) != "string":
        arr = np.array(["" if v is None else str(v) for v in arr], dtype=object)
    return arr


def _frame(gaps: pd.DataFrame, name: str) -> _Table:
    """The columns used here as arrays, checked: columns present, statuses known."""
    if not isinstance(gaps, pd.DataFrame):
        raise InputError(Problem("a gap table must be a DataFrame", file=name,
                                 value=type(gaps).__name__))
    missing = [c for c in _NEEDED if c not in gaps.columns]
    if missing:
        raise InputError([Problem(f"column {c!r} is missing from the gap table", file=name,
                                  column=c, fix="pass the gap table of a run (gaps.csv, "
                                  "analysis.gaps.evaluate)") for c in missing])
    n = len(gaps)
    t = _Table(
        label=name, site=_text(gaps["site_id"]), name=_text(gaps["site_name"]),
        county=_text(gaps["county"]), township=_text(gaps["township"]),
        ftype=_text(gaps["facility_type"]), rule=_text(gaps["rule_id"]),
        status=_text(gaps["status"]),
        nearest=(_text(gaps["nearest_facility_id"]) if "nearest_facility_id" in gaps.columns
                 else np.full(n, "", dtype=object)),
        pop=pd.to_numeric(gaps["population"], errors="coerce").to_numpy(dtype=float),
        dist=(pd.to_numeric(gaps["dist_m"], errors="coerce").to_numpy(dtype=float)
              if "dist_m" in gaps.columns else np.full(n, np.nan)))
    unknown = sorted(set(pd.unique(t.status)) - set(STATUSES))
    if unknown:
        raise InputError(Problem("unknown status in the gap table", file=name, column="status",
                                 value=unknown, fix=f"statuses are {', '.join(STATUSES)}"))
    return t


def _first_rows(codes: np.ndarray, n: int) -> np.ndarray:
    """Position of the first row of each code ``0..n-1``."""
    first = np.full(n, -1, dtype=np.int64)
    first[codes[::-1]] = np.arange(len(codes) - 1, -1, -1)
    return first


def _sites(t: _Table) -> tuple[list[str], list[str], list[str]]:
    """Each site once, in order of first appearance: ids, names and name keys."""
    codes, _ = pd.factorize(t.site)
    first = _first_rows(codes, int(codes.max()) + 1 if len(codes) else 0)
    ids, names = t.site[first].tolist(), t.name[first].tolist()
    keys = [f"{c}\x1f{w}\x1f{s}" for c, w, s in zip(t.county[first], t.township[first],
                                                     names, strict=True)]
    return ids, names, keys


def _numbered_hint(ids: Sequence[str], label: str) -> str:
    """A hint when every id of a run looks like Anzhi's own numbering (S0001, S0002, …)."""
    if len(ids) and all(_NUMBERED.fullmatch(i) for i in ids):
        return (f"; the ids of {label} look like Anzhi's own numbering S0001, S0002, …, given "
                "when the site table has no 编号 (id) column")
    return ""


def _check_ids(o: _Table, n: _Table, max_share: float) -> None:
    """:func:`check_site_ids` on checked tables."""
    o_ids, o_names, o_keys = _sites(o)
    n_ids, n_names, n_keys = _sites(n)

    def unique_named(ids: list[str], names: list[str], keys: list[str]) -> dict[str, str]:
        seen = Counter(keys)
        return {k: i for i, nm, k in zip(ids, names, keys, strict=True) if nm and seen[k] == 1}

    o_by_key = unique_named(o_ids, o_names, o_keys)
    n_by_key = unique_named(n_ids, n_names, n_keys)
    fix = ("compare runs whose site tables have the same 编号 (site id) column; a table "
           "without one is numbered S0001, S0002, … in row order, which changes when rows are "
           "added, removed or sorted")
    where = f"{o.label} / {n.label}"
    hints = _numbered_hint(o_ids, o.label) + _numbered_hint(n_ids, n.label)
    named = [k for k in o_by_key if k in n_by_key]
    moved = [k for k in named if o_by_key[k] != n_by_key[k]]
    if named and len(moved) > max_share * len(named):
        k = moved[0]
        raise InputError(Problem(
            f"the two runs identify sites by different id columns: {len(moved)} of "
            f"{len(named)} sites with the same name, county and township have different ids "
            f"(e.g. {k.rsplit(chr(31), 1)[-1]}: {o_by_key[k]!r} in {o.label}, "
            f"{n_by_key[k]!r} in {n.label}){hints}", file=where, column="site_id", fix=fix))
    o_by_id = {i: k for k, i in o_by_key.items()}
    n_by_id = {i: k for k, i in n_by_key.items()}
    shared = [i for i in o_by_id if i in n_by_id]
    renamed = [i for i in shared if o_by_id[i] != n_by_id[i]]
    if shared and len(renamed) > max_share * len(shared):
        i = renamed[0]
        raise InputError(Problem(
            f"the two runs identify sites by different id columns: {len(renamed)} of "
            f"{len(shared)} site ids found in both name different sites (e.g. {i!r}: "
            f"{o_by_id[i].rsplit(chr(31), 1)[-1]} in {o.label}, "
            f"{n_by_id[i].rsplit(chr(31), 1)[-1]} in {n.label}); the ids look like row "
            f"numbers (序号, or S0001… given by Anzhi){hints}", file=where, column="site_id",
            fix=fix))


def check_site_ids(old: pd.DataFrame, new: pd.DataFrame, *, old_label: str = "old run",
                   new_label: str = "new run", max_share: float = 0.5) -> None:
    """Refuse two gap tables whose sites were identified by different id columns.

    Sites are matched by ``site_id``; that is only meaningful when both site tables took
    their ids from the same column.  Two signs that they did not, each over the sites with a
    name (name, county and township) that is unique in both runs:

    * more than ``max_share`` of the sites named alike in both runs have different ids;
    * more than ``max_share`` of the ids found in both runs name different sites.

    A few renamed or renumbered sites stay below the share and are compared as they are
    (a renumbered site shows as one site removed and one added).

    Parameters
    ----------
    old, new
        Gap tables with ``site_id``, ``site_name``, ``county`` and ``township`` (text).
    old_label, new_label
        How the messages name the runs (their files).
    max_share
        Largest share (0–1) of mismatched sites accepted.

    Raises
    ------
    InputError
        Naming the share, an example site and its two ids (or names), and the fix.
    """
    _check_ids(_frame(old, old_label), _frame(new, new_label), max_share)


def _rule_order(o: _Table, n: _Table, old_rules: Sequence[str] | None,
                new_rules: Sequence[str] | None) -> list[str]:
    """The rules in reading order: the new run's (its rule set's order), then the old run's."""
    seen: dict[str, None] = {}
    for seq in (new_rules or (), pd.unique(n.rule), old_rules or (), pd.unique(o.rule)):
        for r in seq:
            seen.setdefault(str(r), None)
    return list(seen)


@dataclass(frozen=True)
class _Joined:
    """The rows of both runs on one key (site × rule): where each row is in each run."""

    sites: np.ndarray     # site ids (object), by site code
    rules: np.ndarray     # rule ids (object), by rule code
    site: np.ndarray      # site code of each joined row
    rule: np.ndarray      # rule code of each joined row
    io: np.ndarray        # row of the old table, -1 when absent
    jn: np.ndarray        # row of the new table, -1 when absent
    o_site: np.ndarray    # site code of each old row (and rule code below)
    n_site: np.ndarray
    o_rule: np.ndarray
    n_rule: np.ndarray


def _positions(keys: np.ndarray, union: np.ndarray) -> np.ndarray:
    """Row of ``keys`` holding each of ``union`` (sorted), -1 where none does."""
    sorter = np.argsort(keys, kind="stable")
    sk = keys[sorter]
    pos = np.searchsorted(sk, union)
    pc = np.minimum(pos, max(len(sk) - 1, 0))
    hit = (pos < len(sk)) & (sk[pc] == union) if len(sk) else np.zeros(len(union), bool)
    return np.where(hit, sorter[pc] if len(sk) else 0, -1)


def _join(o: _Table, n: _Table) -> _Joined:
    """Site × rule keys of both tables joined (an outer join on integer codes)."""
    s_code, sites = pd.factorize(np.concatenate([o.site, n.site]))
    r_code, rules = pd.factorize(np.concatenate([o.rule, n.rule]))
    nr = max(len(rules), 1)
    key = s_code.astype(np.int64) * nr + r_code
    ko, kn = key[:len(o)], key[len(o):]
    for t, k in ((o, ko), (n, kn)):
        uniq, counts = np.unique(k, return_counts=True)
        if (counts > 1).any():
            dup = int(uniq[np.argmax(counts > 1)])
            raise InputError(Problem(
                f"{int((counts - 1).sum())} site × rule rows appear twice (e.g. site "
                f"{sites[dup // nr]!r}, rule {rules[dup % nr]!r})", file=t.label,
                fix="a gap table has one row per site and rule: compare the gaps of one run "
                    "each"))
    union = np.union1d(ko, kn)
    return _Joined(sites=np.asarray(sites, dtype=object), rules=np.asarray(rules, dtype=object),
                   site=union // nr, rule=union % nr, io=_positions(ko, union),
                   jn=_positions(kn, union), o_site=s_code[:len(o)], n_site=s_code[len(o):],
                   o_rule=r_code[:len(o)], n_rule=r_code[len(o):])


def _pick(a: np.ndarray, rows: np.ndarray, fill: str | float) -> np.ndarray:
    """``a[rows]``, ``fill`` where ``rows`` is -1."""
    if not len(a):
        return np.full(len(rows), fill, dtype=object if isinstance(fill, str) else float)
    return np.where(rows >= 0, a[np.maximum(rows, 0)], np.asarray(fill, dtype=a.dtype))


def _present(codes: np.ndarray, universe: np.ndarray, extra: Iterable[str] | None,
             n: int) -> np.ndarray:
    """Boolean by code ``0..n-1``: in ``codes``, or named in ``extra`` (ids of ``universe``)."""
    out = np.zeros(n, dtype=bool)
    out[codes] = True
    if extra is not None:
        idx = pd.Index(universe).get_indexer(pd.Index([str(e) for e in extra]))
        out[idx[idx >= 0]] = True
    return out


def _diff_rows(o: _Table, n: _Table, j: _Joined, order: list[str], *,
               old_sites: Iterable[str] | None, new_sites: Iterable[str] | None,
               old_rules: Sequence[str] | None, new_rules: Sequence[str] | None
               ) -> pd.DataFrame:
    """:func:`diff_gaps` of two checked, joined tables."""
    in_old, in_new = j.io >= 0, j.jn >= 0
    both = in_old & in_new
    ost, nst = _pick(o.status, j.io, ""), _pick(n.status, j.jn, "")
    ocov, ncov = np.isin(ost, COVERED_STATUSES), np.isin(nst, COVERED_STATUSES)
    ns, nr = len(j.sites), len(j.rules)
    site_in_old = _present(j.o_site, j.sites, old_sites, ns)[j.site]
    site_in_new = _present(j.n_site, j.sites, new_sites, ns)[j.site]
    rule_in_old = _present(j.o_rule, j.rules, old_rules, nr)[j.rule]
    rule_in_new = _present(j.n_rule, j.rules, new_rules, nr)[j.rule]
    # the first condition that holds decides (np.select)
    decided = {
        "closed": both & ~ocov & ncov,
        "opened": both & ocov & ~ncov,
        "changed": both & (ost != nst),
        "unchanged": both,
        "site_added": ~in_old & ~site_in_old,
        "site_removed": ~in_new & ~site_in_new,
        "rule_added": ~in_old & ~rule_in_old,
        "rule_removed": ~in_new & ~rule_in_new,
        "now_applies": ~in_old,
        "no_longer_applies": ~in_new,
    }
    change = np.select(list(decided.values()), list(decided), default="unchanged")

    def latest(a_old: np.ndarray, a_new: np.ndarray) -> np.ndarray:
        return np.where(in_new, _pick(a_new, j.jn, ""), _pick(a_old, j.io, ""))

    county, township = latest(o.county, n.county), latest(o.township, n.township)
    cols: dict[str, np.ndarray] = {
        "site_id": j.sites[j.site], "site_name": latest(o.name, n.name), "county": county,
        "township": township, "facility_type": latest(o.ftype, n.ftype),
        "rule_id": j.rules[j.rule], "old_status": ost, "new_status": nst,
        "change": change.astype(object),
        "old_nearest_facility_id": _pick(o.nearest, j.io, ""),
        "new_nearest_facility_id": _pick(n.nearest, j.jn, ""),
        "old_dist_m": _pick(o.dist, j.io, np.nan).astype(float),
        "new_dist_m": _pick(n.dist, j.jn, np.nan).astype(float),
    }
    rank = pd.Index(order).get_indexer(j.rules)[j.rule]
    c_code = pd.factorize(county, sort=True)[0]
    t_code = pd.factorize(township, sort=True)[0]
    s_code = pd.factorize(cols["site_id"], sort=True)[0]
    idx = np.lexsort((rank, s_code, t_code, c_code))
    return pd.DataFrame({c: pd.Series(cols[c][idx], dtype=None if c.endswith("dist_m")
                                      else object) for c in DIFF_COLUMNS})


def diff_gaps(old: pd.DataFrame, new: pd.DataFrame, *,
              old_sites: Iterable[str] | None = None, new_sites: Iterable[str] | None = None,
              old_rules: Sequence[str] | None = None, new_rules: Sequence[str] | None = None,
              old_label: str = "old run", new_label: str = "new run",
              check_ids: bool = True) -> pd.DataFrame:
    """One row per site × rule of either run: its status in each and what changed.

    Parameters
    ----------
    old, new
        Gap tables of the earlier and the later run (:data:`analysis.gaps.GAPS_COLUMNS`;
        ``nearest_facility_id`` and ``dist_m`` may be absent).
    old_sites, new_sites
        Every site id of each run (a site no rule applies to has no gap row); by default
        the sites in its gap table.
    old_rules, new_rules
        Every rule id of each run's rule set, in order (a rule that applies to no site has
        no gap row); by default the rules in its gap table.
    old_label, new_label
        How messages name the runs (their files).
    check_ids
        Refuse runs whose sites were identified by different id columns
        (:func:`check_site_ids`).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`DIFF_COLUMNS`: text ``site_id``…``rule_id`` (name, area and facility
        type from the new run where the row is in it), ``old_status`` / ``new_status``
        (:data:`analysis.statuses.STATUSES`, ``""`` when the row is not in that run),
        ``change`` (:data:`CHANGES`), the nearest facility and ``dist_m`` (metres, NaN when
        absent) of each run.  Sorted by county, township, site_id, then rule order (the new
        run's, then rules of the old run only).

    Raises
    ------
    InputError
        A missing column, an unknown status, a site × rule row given twice, or (with
        ``check_ids``) sites identified by different id columns.
    """
    return compare(old, new, old_sites=old_sites, new_sites=new_sites, old_rules=old_rules,
                   new_rules=new_rules, old_label=old_label, new_label=new_label,
                   check_ids=check_ids, coverage=False).rows


def _area_codes(o: _Table, n: _Table) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                np.ndarray, np.ndarray]:
    """County and county-township codes of both tables' rows (sorted by name), and the
    county and township name of each township code."""
    county = np.concatenate([o.county, n.county])
    town = np.concatenate([o.township, n.township])
    c_code, c_uni = pd.factorize(county, sort=True)
    p_code, p_uni = pd.factorize(np.array([f"{c}\x1f{t}" for c, t in zip(county, town,
                                                                           strict=True)],
                                          dtype=object), sort=True)
    parts = [p.split("\x1f", 1) for p in p_uni]
    return (c_code, p_code, np.asarray(c_uni, dtype=object),
            np.array([p[0] for p in parts], dtype=object),
            np.array([p[1] for p in parts], dtype=object))


def _coverage_change(o: _Table, n: _Table, j: _Joined, order: list[str]) -> pd.DataFrame:
    """:func:`coverage_change` of two checked, joined tables: the sums of
    :func:`analysis.coverage.coverage_table` for each run, on shared group codes."""
    c_code, p_code, c_uni, p_county, p_town = _area_codes(o, n)
    nr, nc, npair = len(j.rules), max(len(c_uni), 1), max(len(p_county), 1)
    rank = pd.Index(order).get_indexer(j.rules)
    ft = np.full(nr, "", dtype=object)
    ft[j.o_rule] = o.ftype
    ft[j.n_rule] = n.ftype  # the new run's type where the rule is in it
    rule = np.concatenate([j.o_rule, j.n_rule]).astype(np.int64)
    side = np.r_[np.zeros(len(o), dtype=np.int64), np.ones(len(n), dtype=np.int64)]
    pop = np.nan_to_num(np.concatenate([o.pop, n.pop]), nan=0.0)
    cov = np.isin(np.concatenate([o.status, n.status]), COVERED_STATUSES)
    parts = []
    for level_no, (level, key) in enumerate((("all", rule), ("county", rule * nc + c_code),
                                             ("township", rule * npair + p_code))):
        uk, inv = np.unique(key, return_inverse=True)
        inv = inv.ravel() * 2 + side
        size = 2 * len(uk)

        def total(w: np.ndarray | None, inv: np.ndarray = inv, size: int = size) -> np.ndarray:
            return np.bincount(inv, weights=w, minlength=size).reshape(-1, 2)

        req, got = total(None), total(cov.astype(float))
        preq, pgot = total(pop), total(np.where(cov, pop, 0.0))
        r = uk // (1 if level_no == 0 else nc if level_no == 1 else npair)
        area = uk % (nc if level_no == 1 else npair) if level_no else np.zeros(len(uk), int)
        parts.append(pd.DataFrame({
            "level": level,
            "county": c_uni[area] if level_no == 1 else p_county[area] if level_no == 2
            else "",
            "township": p_town[area] if level_no == 2 else "",
            "facility_type": ft[r], "rule_id": j.rules[r],
            "old_sites_required": req[:, 0].astype(np.int64),
            "new_sites_required": req[:, 1].astype(np.int64),
            "old_sites_covered": got[:, 0].astype(np.int64),
            "new_sites_covered": got[:, 1].astype(np.int64),
            "old_pop_required": preq[:, 0], "new_pop_required": preq[:, 1],
            "old_pop_covered": pgot[:, 0], "new_pop_covered": pgot[:, 1],
            "_rank": rank[r], "_level": level_no, "_area": area}))
    out = pd.concat(parts, ignore_index=True).sort_values(["_rank", "_level", "_area"],
                                                          kind="stable")
    with np.errstate(invalid="ignore", divide="ignore"):
        for which in ("old", "new"):
            req = out[f"{which}_sites_required"].to_numpy(dtype=float)
            preq = out[f"{which}_pop_required"].to_numpy(dtype=float)
            out[f"{which}_share_sites"] = np.where(
                req > 0, out[f"{which}_sites_covered"].to_numpy() / np.where(req > 0, req, 1),
                np.nan)
            out[f"{which}_share_pop"] = np.where(
                preq > 0, out[f"{which}_pop_covered"].to_numpy() / np.where(preq > 0, preq, 1),
                np.nan)
    pops = [f"{w}_pop_{k}" for w in ("old", "new") for k in ("required", "covered")]
    if (out[pops].to_numpy() == np.round(out[pops].to_numpy())).all():
        out[pops] = out[pops].astype(np.int64)
    out["change_sites_covered"] = out["new_sites_covered"] - out["old_sites_covered"]
    out["change_pop_covered"] = out["new_pop_covered"] - out["old_pop_covered"]
    out["change_share_sites"] = out["new_share_sites"] - out["old_share_sites"]
    out["change_share_pop"] = out["new_share_pop"] - out["old_share_pop"]
    return out.loc[:, list(COVERAGE_CHANGE_COLUMNS)].reset_index(drop=True)


def coverage_change(old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """Coverage of each rule in each run, side by side, for the area, counties, townships.

    The figures are those of :func:`analysis.coverage.coverage_table` for each run (a row is
    covered when its status is ``ok`` or ``ok_shared``; missing population counts 0).

    Parameters
    ----------
    old, new
        Gap tables of the two runs (the columns :func:`analysis.coverage.coverage_table`
        reads; one row per site × rule).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`COVERAGE_CHANGE_COLUMNS`: the keys of the coverage table (``level``
        ``all`` / ``county`` / ``township``; ``county`` and ``township`` ``""`` above their
        level), each figure of each run (``old_…``, ``new_…``; sites and people are 0 in a
        run where the rule or the area has no site required, shares NaN) and the changes
        new − old of the covered sites, the covered people and both shares (fractions 0–1;
        NaN when a share is NaN in either run).  Rows by rule (the new run's order, then
        the old run's), then level, then area name.
    """
    o, n = _frame(old, "old run"), _frame(new, "new run")
    return _coverage_change(o, n, _join(o, n), _rule_order(o, n, None, None))
def change_counts(rows: pd.DataFrame, *, rules: Sequence[str] | None = None) -> pd.DataFrame:
    """Rows of each change per rule, with a first line for all rules.

    Parameters
    ----------
    rows
        The diff table of :func:`diff_gaps`.
    rules
        Rule ids in the order wanted; rules not in it follow in order of first appearance.

    Returns
    -------
    pandas.DataFrame
        Columns ``rule_id`` (``""`` on the first line, all rules), ``facility_type``, one
        integer column per key of :data:`CHANGES`, then ``old_gaps`` / ``new_gaps`` (rows
        gap_missing or gap_capacity in each run) and ``total`` (rows).  Rules in the order
        of ``rules``, then of first appearance.
    """
    rid = rows["rule_id"].to_numpy(dtype=object)
    seen = list(dict.fromkeys([*map(str, rules or ()), *pd.unique(rid)]))
    present = set(pd.unique(rid))
    uni = np.array([r for r in seen if r in present], dtype=object)
    code = pd.Index(uni).get_indexer(rid)
    ch = pd.Categorical(rows["change"].to_numpy(dtype=object), categories=list(CHANGES))
    if (ch.codes < 0).any():
        raise InputError(Problem("unknown change in the diff table", column="change",
                                 value=sorted(set(rows["change"][ch.codes < 0])),
                                 fix=f"changes are {', '.join(CHANGES)}"))
    table = np.zeros((len(uni), len(CHANGES)), dtype=np.int64)
    np.add.at(table, (code, ch.codes), 1)
    ft = (pd.Series(rows["facility_type"].to_numpy(dtype=object)).groupby(code).first()
          .reindex(range(len(uni))).to_numpy(dtype=object))
    old_gap = np.bincount(code, weights=rows["old_status"].isin(GAP_STATUSES).to_numpy(),
                          minlength=len(uni)).astype(np.int64)
    new_gap = np.bincount(code, weights=rows["new_status"].isin(GAP_STATUSES).to_numpy(),
                          minlength=len(uni)).astype(np.int64)
    out = pd.DataFrame(table, columns=list(CHANGES))
    out.insert(0, "rule_id", uni.astype(str))
    out.insert(1, "facility_type", ft.astype(str))
    out["old_gaps"], out["new_gaps"] = old_gap, new_gap
    out["total"] = table.sum(axis=1)
    head = out.drop(columns=["rule_id", "facility_type"]).sum().to_frame().T.astype(np.int64)
    head.insert(0, "rule_id", "")
    head.insert(1, "facility_type", "")
    return pd.concat([head, out], ignore_index=True)


def site_changes(rows: pd.DataFrame) -> pd.DataFrame:
    """The change of each site as a whole, for colouring a map by change.

    Parameters
    ----------
    rows
        The diff table of :func:`diff_gaps`.

    Returns
    -------
    pandas.DataFrame
        One row per site in order of first appearance: ``site_id``, ``change``
        (:data:`SITE_CHANGES`: ``site_added`` / ``site_removed`` when all its rows say so,
        ``mixed`` when gaps both closed and opened, else ``opened``, ``closed``, ``changed``
        for any other change, ``unchanged``), ``n_closed``, ``n_opened``, ``n_old_gaps`` and
        ``n_new_gaps`` (rows gap_missing or gap_capacity in each run).
    """
    code, uni = pd.factorize(rows["site_id"].astype(str).to_numpy(dtype=object))
    n = len(uni)
    ch = rows["change"].astype(str).to_numpy(dtype=object)

    def count(mask: np.ndarray) -> np.ndarray:
        return np.bincount(code, weights=mask, minlength=n).astype(np.int64)

    total = count(np.ones(len(ch), dtype=bool))
    closed, opened = count(ch == "closed"), count(ch == "opened")
    added, removed = count(ch == "site_added"), count(ch == "site_removed")
    other = count(ch != "unchanged")
    site = np.select(
        [(added == total) & (total > 0), (removed == total) & (total > 0),
         (closed > 0) & (opened > 0), opened > 0, closed > 0, other > 0],
        ["site_added", "site_removed", "mixed", "opened", "closed", "changed"],
        default="unchanged")
    return pd.DataFrame({
        "site_id": uni.astype(str), "change": site.astype(str), "n_closed": closed,
        "n_opened": opened,
        "n_old_gaps": count(rows["old_status"].isin(GAP_STATUSES).to_numpy()),
        "n_new_gaps": count(rows["new_status"].isin(GAP_STATUSES).to_numpy()),
    })


def compare(old: pd.DataFrame, new: pd.DataFrame, *,
            old_sites: Iterable[str] | None = None, new_sites: Iterable[str] | None = None,
            old_rules: Sequence[str] | None = None, new_rules: Sequence[str] | None = None,
            old_label: str = "old run", new_label: str = "new run",
            check_ids: bool = True, coverage: bool = True) -> RunDiff:
    """Compare two runs: the diff rows, the coverage change and the change counts.

    Parameters
    ----------
    old, new, old_sites, new_sites, old_rules, new_rules, old_label, new_label, check_ids
        As :func:`diff_gaps`.
    coverage
        Compute the coverage change (False: ``coverage`` is an empty table).

    Returns
    -------
    RunDiff
        ``rows`` (:func:`diff_gaps`), ``coverage`` (:func:`coverage_change`) and ``counts``
        (:func:`change_counts`), rules in the order of :func:`diff_gaps`.

    Raises
    ------
    InputError
        As :func:`diff_gaps`.
    """
    o, n = _frame(old, old_label), _frame(new, new_label)
    j = _join(o, n)
    if check_ids:
        _check_ids(o, n, 0.5)
    order = _rule_order(o, n, old_rules, new_rules)
    rows = _diff_rows(o, n, j, order, old_sites=old_sites, new_sites=new_sites,
                      old_rules=old_rules, new_rules=new_rules)
    cov = (_coverage_change(o, n, j, order) if coverage else
           pd.DataFrame({c: pd.Series(dtype=object) for c in COVERAGE_CHANGE_COLUMNS}))
    return RunDiff(rows=rows, coverage=cov, counts=change_counts(rows, rules=order))
