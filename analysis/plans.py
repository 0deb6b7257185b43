"""Per-site plans (一点一策): each site's gaps with clause, nearest facility and remedy.

Counties are asked to plan site by site ("一点一策"); the gap list (:func:`analysis.gaps.evaluate`)
has one row per site × rule, sorted by rule.  :func:`site_plans` regroups it into one block of
rows per site — the site's gaps in rule order, each with the document and clause that asks for
it, the nearest facility of that type by road and the action that would close it, in Chinese
and English — and one "无缺口 / no gap" row for a site whose every rule is met.  Pure: a gap
table in, a new table out; ``layers.export`` writes it as the 一点一策 sheet of ``gaps.xlsx``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from analysis.rules import Rule, RuleSet
from anzhi.core.errors import InputError
from anzhi.core.vocabulary import label

__all__ = ["PLAN_COLUMNS", "GAP_STATUSES", "site_plans", "plan_action"]

#: Columns of :func:`site_plans`, in order.
PLAN_COLUMNS: Final[tuple[str, ...]] = (
    "site_id", "site_name", "county", "township", "population", "n_gaps", "facility_type",
    "rule_id", "status", "basis", "nearest_facility_id", "dist_m", "time_min", "action",
    "action_en",
)
#: Statuses that make a row of a site's plan (the others are met).
GAP_STATUSES: Final[tuple[str, ...]] = ("gap_missing", "gap_capacity", "unroutable")

_NEEDED: Final = ("site_id", "facility_type", "rule_id", "status")


def plan_action(status: str, facility_type: str, rule: Rule | None, lang: str = "zh") -> str:
    """What would close one gap, in ``lang``.

    Parameters
    ----------
    status
        The gap's status (:data:`GAP_STATUSES`).
    facility_type
        Its facility type (vocabulary key).
    rule
        The rule that found it (its reach and capacity norm make the text precise), or
        ``None`` when the gap table came without its rule set.
    lang
        ``"zh"`` or ``"en"``.
    """
    ft = label(facility_type, lang)
    reach = rule.describe_reach(lang) if rule is not None else ("安置点内或附近" if lang == "zh" else
                                                                "at or near the site")
    if status == "gap_capacity":
        cap = rule.capacity.describe(lang) if rule is not None and rule.capacity is not None else ""
        if lang == "zh":
            return f"扩容或增设{ft}" + (f",使其满足{cap}" if cap else "")
        return f"more capacity: enlarge the {ft.lower()} or add one" + (f" ({cap})" if cap else "")
    if status == "unroutable":
        if lang == "zh":
            return f"核实安置点坐标,或补录通往{ft}的道路后重新计算"
        return f"check the site's coordinates, or add the road to the {ft.lower()}, then rerun"
    if lang == "zh":
        return f"在{reach}配建{ft}"
    return f"needed: {ft.lower()} {reach}"


def _basis(source: object, clause: object) -> str:
    parts = [str(v) for v in (source, clause) if isinstance(v, str) and v and v != "nan"]
    return " ".join(parts)


def _text_rank(values: pd.Series) -> NDArray[np.int64]:
    """Each value's rank in text order (missing as ``""``), as integers to sort by."""
    codes, uniques = pd.factorize(values.astype(str).fillna(""))
    rank = np.argsort(np.argsort(np.asarray(uniques, dtype=object), kind="stable"), kind="stable")
    return rank.astype(np.int64)[codes] if len(codes) else np.zeros(0, dtype=np.int64)


def _bases(source: pd.Series, clause: pd.Series) -> NDArray[np.object_]:
    """``source clause`` per row, each distinct pair joined once."""
    sc, su = pd.factorize(source.astype(str))
    cc, cu = pd.factorize(clause.astype(str))
    pair, pairs = pd.factorize(pd.Series(sc.astype(np.int64) * max(len(cu), 1) + cc))
    joined = np.array([_basis(su[k // max(len(cu), 1)], cu[k % max(len(cu), 1)])
                       for k in pairs.tolist()], dtype=object)
    return joined[pair] if len(pair) else np.zeros(0, dtype=object)


def site_plans(gaps: pd.DataFrame, rules: RuleSet | None = None) -> pd.DataFrame:
    """One block of rows per site: its gaps in rule order, with clause, nearest facility and
    the action that would close each (一点一策).

    Parameters
    ----------
    gaps
        A gap table (:func:`analysis.gaps.evaluate`; docs/schemas.md "Gaps"); ``site_name``,
        ``county``, ``township``, ``population``, ``source``, ``clause``,
        ``nearest_facility_id``, ``dist_m`` (m) and ``time_min`` (min) are used when present.
    rules
        The rule set of the run, for the reach and capacity wording and the rule order
        (default: the order of the gap table).

    Returns
    -------
    pandas.DataFrame
        :data:`PLAN_COLUMNS`, one block of rows per site; a site with
        no gap gets one row with ``status="ok"``, ``n_gaps=0`` and empty gap columns.  Sites
        are grouped by county and township (text order), then in the order they first appear.
        ``n_gaps`` repeats the site's number of gaps on each of its rows.

    Raises
    ------
    InputError
        ``gaps`` lacks one of ``site_id``, ``facility_type``, ``rule_id``, ``status``.
    """
    missing = [c for c in _NEEDED if c not in gaps.columns]
    if missing:
        raise InputError(f"the gap table lacks the columns {', '.join(missing)}: pass the table "
                         "analysis.gaps.evaluate returns (docs/schemas.md, Gaps)")
    by_id: Mapping[str, Rule] = {r.id: r for r in rules} if rules is not None else {}
    g = gaps.reset_index(drop=True)
    n = len(g)
    # integer codes instead of strings: a province table has millions of rows
    site_code, _ = pd.factorize(g["site_id"].astype(str))  # codes follow first appearance
    rule_code, rule_ids = pd.factorize(g["rule_id"].astype(str))
    order = {rid: i for i, rid in enumerate(rules.rule_ids)} if rules is not None else {}
    rule_rank = np.array([order.get(r, len(order) + i) for i, r in enumerate(rule_ids)],
                         dtype=np.int64)[rule_code] if n else np.zeros(0, dtype=np.int64)
    area_rank = [_text_rank(g[c]) if c in g.columns else np.zeros(n, dtype=np.int64)
                 for c in ("county", "township")]
    is_gap = g["status"].astype(str).isin(GAP_STATUSES).to_numpy()
    n_gaps = np.bincount(site_code, weights=is_gap, minlength=site_code.max() + 1 if n else 0
                         ).astype(np.int64)
    gap_idx = np.flatnonzero(is_gap)
    met_sites, met_first = np.unique(site_code, return_index=True)
    met_idx = met_first[n_gaps[met_sites] == 0]
    idx = np.concatenate([gap_idx, met_idx])
    is_met = np.concatenate([np.zeros(len(gap_idx), bool), np.ones(len(met_idx), bool)])
    sort = np.lexsort((idx, rule_rank[idx], site_code[idx], area_rank[1][idx], area_rank[0][idx]))
    idx, is_met = idx[sort], is_met[sort]

    def col(name: str) -> pd.Series:
        if name not in g.columns:
            return pd.Series([None] * len(idx), dtype=object)
        return g[name].take(idx).reset_index(drop=True)

    out = pd.DataFrame({c: col(c) for c in ("site_id", "site_name", "county", "township",
                                             "population")})
    out["site_id"] = out["site_id"].astype(str)
    out["n_gaps"] = n_gaps[site_code[idx]]
    for c in ("nearest_facility_id", "dist_m", "time_min"):
        out[c] = col(c).astype(object).where(~is_met, None)
    # texts per distinct (status, type, rule) and (source, clause), looked up by integer code:
    # a county has a few dozen, a province table millions of rows
    keys = [pd.factorize(col(c).astype(str)) for c in ("status", "facility_type", "rule_id")]
    combo, combos = pd.factorize(pd.Series(
        (keys[0][0] * len(keys[1][1]) + keys[1][0]) * max(len(keys[2][1]), 1) + keys[2][0]))
    status_u, ft_u, rule_u = (np.asarray(k[1], dtype=object) for k in keys)
    labels = []
    for key in combos.tolist():
        rest, r = divmod(int(key), max(len(rule_u), 1))
        st_i, ft_i = divmod(rest, max(len(ft_u), 1))
        labels.append((str(status_u[st_i]), str(ft_u[ft_i]), str(rule_u[r])))
    zh = np.array([plan_action(a, b, by_id.get(c), "zh") for a, b, c in labels] + ["无缺口"],
                  dtype=object)
    en = np.array([plan_action(a, b, by_id.get(c), "en") for a, b, c in labels] + ["no gap"],
                  dtype=object)
    pick = np.where(is_met, len(labels), combo)
    out["action"], out["action_en"] = zh[pick], en[pick]
    for c in ("facility_type", "rule_id", "status"):
        out[c] = col(c).astype(str).astype(object).where(~is_met, None)
    out.loc[is_met, "status"] = "ok"
    basis = np.asarray(_bases(col("source"), col("clause")), dtype=object)
    basis[np.asarray(is_met, dtype=bool)] = None
    out["basis"] = basis
    return out.loc[:, list(PLAN_COLUMNS)].reset_index(drop=True)
