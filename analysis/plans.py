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
    order = {rid: i for i, rid in enumerate(rules.rule_ids)} if rules is not None else {}
    g = gaps.reset_index(drop=True)
    site = g["site_id"].astype(str)
    first = pd.Series(np.arange(len(g)), index=g.index).groupby(site).transform("min")
    rule_pos = g["rule_id"].astype(str).map(order).fillna(len(order)).astype(int)
    status = g["status"].astype(str)
    is_gap = status.isin(GAP_STATUSES)
    n_gaps = is_gap.groupby(site).transform("sum").astype(int)

    def col(name: str) -> pd.Series:
        return g[name] if name in g.columns else pd.Series([None] * len(g), index=g.index,
                                                           dtype=object)

    rows = pd.DataFrame({
        "site_id": site, "site_name": col("site_name"), "county": col("county"),
        "township": col("township"), "population": col("population"), "n_gaps": n_gaps,
        "facility_type": g["facility_type"].astype(str), "rule_id": g["rule_id"].astype(str),
        "status": status,
        "basis": [_basis(s, c) for s, c in zip(col("source"), col("clause"), strict=True)],
        "nearest_facility_id": col("nearest_facility_id"), "dist_m": col("dist_m"),
        "time_min": col("time_min"),
    })
    rows["_first"], rows["_rule"], rows["_row"] = first, rule_pos, np.arange(len(g))
    gap_rows = rows[is_gap.to_numpy()].copy()
    gap_rows["action"] = [plan_action(s, ft, by_id.get(r), "zh") for s, ft, r in
                          zip(gap_rows["status"], gap_rows["facility_type"], gap_rows["rule_id"],
                              strict=True)]
    gap_rows["action_en"] = [plan_action(s, ft, by_id.get(r), "en") for s, ft, r in
                             zip(gap_rows["status"], gap_rows["facility_type"],
                                 gap_rows["rule_id"], strict=True)]
    met = rows[(n_gaps == 0).to_numpy()].drop_duplicates("site_id").copy()
    for c in ("facility_type", "rule_id", "basis", "nearest_facility_id", "dist_m", "time_min"):
        met[c] = None
    met["status"], met["action"], met["action_en"] = "ok", "无缺口", "no gap"
    out = pd.concat([gap_rows, met], ignore_index=True)
    # by county and township (a plan is printed per township), then as the sites came
    area = out[["county", "township"]].astype(str).fillna("")
    out["_county"], out["_township"] = area["county"], area["township"]
    out = out.sort_values(["_county", "_township", "_first", "_rule", "_row"], kind="stable")
    return out.loc[:, list(PLAN_COLUMNS)].reset_index(drop=True)
