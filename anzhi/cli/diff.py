"""``anzhi diff OLD NEW --out DIR``: what changed since an earlier run (与上次比较).

Registered through :data:`anzhi.cli.SUBCOMMAND_MODULES`.  OLD and NEW are output folders of
``anzhi gaps`` (or their ``gaps.csv`` / ``gaps.xlsx``); the comparison is
:func:`analysis.diff.compare` on the runs read back by :func:`layers.runs.read_run`.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from anzhi.cli.common import add_command, add_options

if TYPE_CHECKING:
    from layers.runs import RunComparison

__all__ = ["register", "format_summary"]

_HELP = "compare two runs: gaps closed and opened, coverage change (与上次比较)"
_DESCRIPTION = (
    "Compare two runs of `anzhi gaps` site by site (matched by site id) and rule by rule: "
    "which gaps closed (缺口补齐), which opened (新增缺口), which sites and rules were added "
    "or removed, and how coverage changed for the whole area, each county and each township. "
    "OLD and NEW are output folders of `anzhi gaps`, or their gaps.csv or gaps.xlsx "
    "(Chinese or English headers)."
)
_EPILOG = """\
examples:
  anzhi diff out/2024-05 out/2024-06 --out out/2024-06
  anzhi diff last-month/gaps.xlsx out/county --out out/diff --lang en

changes (变化, column change of diff.csv): closed (缺口补齐: not covered -> ok/ok_shared),
opened (新增缺口: ok/ok_shared -> gap or unroutable), changed (状态变化: another status on
the same side, e.g. gap_missing -> gap_capacity), unchanged (未变), site_added / site_removed
(新增/移除安置点), rule_added / rule_removed (新增/移除规则: rule sets differ), now_applies /
no_longer_applies (新适用/不再适用: thresholds or site figures changed)

outputs (in --out): diff.csv (one row per site × rule), diff_coverage.csv (coverage change
by county and township), diff.xlsx (变化清单: summary, changes, coverage change, runs)
"""


def register(subparsers: Any) -> dict[str, Any]:
    """Add the ``diff`` sub-command; return ``{"diff": handler}``."""
    p = add_command(subparsers, "diff", help=_HELP, description=_DESCRIPTION, epilog=_EPILOG)
    p.add_argument("old", type=Path, metavar="OLD",
                   help="the earlier run: output folder of `anzhi gaps`, or its gaps.csv / "
                        "gaps.xlsx")
    p.add_argument("new", type=Path, metavar="NEW", help="the later run (same forms as OLD)")
    add_options(p.add_argument_group("output"), {
        "--out": "output folder (created if absent; may be the new run's folder)",
        "--lang": "headers of diff.xlsx (default: %(default)s)",
    })
    return {"diff": _cmd_diff}


def _cmd_diff(args: argparse.Namespace) -> int:
    from anzhi.core.files import check_outputs_apart
    from layers.diff import DIFF_FILES, write_diff
    from layers.runs import compare_runs

    comparison = compare_runs(args.old, args.new)
    check_outputs_apart([], [*comparison.old.files, *comparison.new.files],
                        folder_files={args.out: DIFF_FILES})
    written = write_diff(args.out, comparison.diff, old=comparison.old, new=comparison.new,
                         lang=args.lang)
    print(format_summary(comparison), end="")
    for name, path in written.items():
        print(f"  {name}: {path}")
    return 0


def format_summary(comparison: RunComparison) -> str:
    """The summary printed by ``anzhi diff``: both runs, the gaps in each, the rows of each
    change (Chinese / English), and the coverage change of the whole area for each rule of
    both runs whose covered sites changed.

    Parameters
    ----------
    comparison
        A :class:`layers.runs.RunComparison`.
    """
    from analysis.diff import CHANGES
    from analysis.statuses import GAP_STATUSES

    lines = []
    gaps = {}
    for zh, en, run in (("上次", "old", comparison.old), ("本次", "new", comparison.new)):
        rules = run.rule_set or "?"
        if run.overrides:
            rules += " (本次调整 / changed: " + "; ".join(run.overrides) + ")"
        gaps[en] = int(run.gaps["status"].isin(GAP_STATUSES).sum())
        unr = int((run.gaps["status"] == "unroutable").sum())
        lines.append(f"{zh} / {en}: {run.label}: {run.n_sites} 个安置点 / sites, "
                     f"{len(run.gaps)} 项检查 / checks, {gaps[en]} 个缺口 / gaps, {unr} 无法到达 "
                     f"/ unroutable; 规则集 / rules {rules}")
    totals = comparison.diff.totals()
    lines.append(f"缺口 / gaps: {gaps['old']} -> {gaps['new']}")
    always = ("closed", "opened", "unchanged")
    for key, n in totals.items():
        if n or key in always:
            zh, en = CHANGES[key]
            lines.append(f"  {zh} / {en}: {n}")
    cov = comparison.diff.coverage
    # rules in both runs whose covered sites changed (added or removed rules are counted above)
    moved = cov[(cov["level"] == "all") & (cov["change_sites_covered"] != 0)
                & (cov["old_sites_required"] > 0) & (cov["new_sites_required"] > 0)]
    if len(moved):
        lines.append("覆盖率变化 / coverage change (全部 / whole area):")
        for r in moved.itertuples(index=False):
            old = "-" if r.old_share_sites != r.old_share_sites else f"{r.old_share_sites:.1%}"
            new = "-" if r.new_share_sites != r.new_share_sites else f"{r.new_share_sites:.1%}"
            lines.append(f"  {r.rule_id}: {r.old_sites_covered}/{r.old_sites_required} ({old}) "
                         f"-> {r.new_sites_covered}/{r.new_sites_required} ({new})")
    return "\n".join(lines) + "\n"
