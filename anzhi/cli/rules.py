"""``anzhi rules list`` and ``anzhi rules show PRESET|FILE``: the rule sets with their sources.

Registered through :data:`anzhi.cli.SUBCOMMAND_MODULES`.
"""

from __future__ import annotations

import argparse
from typing import Any

from analysis.rules import RuleSet, grade_meaning, load_rules, preset_names
from anzhi.cli.common import add_command
from anzhi.core.vocabulary import label

__all__ = ["register", "format_ruleset"]

_HELP = "list the packaged rule sets or show one with its sources (规则集)"
_DESCRIPTION = (
    "List the packaged rule sets (presets), or print the rules of one preset or YAML file "
    "with their thresholds, source, clause and grade. C-grade figures are planning defaults "
    "marked (可调整 / adjustable)."
)


def register(subparsers: Any) -> dict[str, Any]:
    """Add the ``rules`` sub-command; return ``{"rules": handler}``."""
    p = add_command(subparsers, "rules", help=_HELP, description=_DESCRIPTION)
    sub = p.add_subparsers(dest="rules_command", metavar="ACTION", required=True)
    sub.add_parser("list", help="the packaged rule sets")
    show = sub.add_parser("show", help="the rules of a preset or YAML file, with sources")
    show.add_argument("preset", help="preset name (see 'anzhi rules list') or path of a YAML file")
    show.add_argument("--lang", choices=["zh", "en"], default="zh",
                      help="language of the labels, sources and notes (default: %(default)s)")
    return {"rules": _cmd_rules}


def _cmd_rules(args: argparse.Namespace) -> int:
    if args.rules_command == "list":
        for name in preset_names():
            rs = load_rules(name)
            print(f"{name:<14} {rs.version:<8} {len(rs):>3} rules  {rs.description}")
        return 0
    from layers.rulesfile import read_rules

    print(format_ruleset(read_rules(args.preset), lang=args.lang))
    return 0


def format_ruleset(rules: RuleSet, *, lang: str = "zh") -> str:
    """The rules of a set as plain text, one block per rule, with source, clause and grade.

    Sources are the citable titles of the documents (issuer, 《title》, 文号, year), in
    Chinese for ``zh`` and in English for ``en``; notes are printed in the same language.

    Parameters
    ----------
    rules
        The rule set.
    lang
        ``"zh"`` or ``"en"`` labels.
    """
    zh = lang == "zh"
    lines = [f"{rules.name} {rules.version} ({rules.origin or rules.name}): {len(rules)} rules",
             rules.description, ""]
    adj = "可调整的默认值" if zh else "adjustable default"
    for r in rules:
        flag = f" [{adj}]" if r.adjustable else ""
        lines.append(f"{r.id}: {r.label(lang)}{flag}")
        lines.append(f"  {'设施' if zh else 'facility'}: {label(r.facility_type, lang)}"
                     f" ({r.facility_type})")
        lines.append(f"  {'适用' if zh else 'applies'}: {r.describe_applies(lang)}")
        lines.append(f"  {'满足' if zh else 'satisfied by'}: {r.describe_reach(lang)}")
        wr = r.satisfied_by.within_reach
        if wr is not None and (wr.source or wr.grade):
            wflag = f" [{adj}]" if wr.adjustable else ""
            lines.append(f"    {'到达要求依据' if zh else 'reach source'}: "
                         f"{_cite(wr.source_text(lang), wr.clause_text(lang))}"
                         f" ({'等级' if zh else 'grade'} {wr.grade or '-'}){wflag}")
            if wr.note_text(lang):
                lines.append(f"    {'说明' if zh else 'note'}: {wr.note_text(lang)}")
        c = r.capacity
        if c is not None:
            cflag = f" [{adj}]" if c.adjustable else ""
            lines.append(f"  {'容量' if zh else 'capacity'}: {c.describe(lang)}{cflag}")
            if c.source:
                lines.append(f"    {'容量依据' if zh else 'capacity source'}: "
                             f"{_cite(c.source_text(lang), c.clause_text(lang))}"
                             f" ({'等级' if zh else 'grade'} {c.grade or '-'})")
            if c.note_text(lang):
                lines.append(f"    {'说明' if zh else 'note'}: {c.note_text(lang)}")
        lines.append(f"  {'依据' if zh else 'source'}: "
                     f"{_cite(r.source_text(lang), r.clause_text(lang))}"
                     f" ({'等级' if zh else 'grade'} {r.grade})")
        if r.note_text(lang):
            lines.append(f"  {'说明' if zh else 'note'}: {r.note_text(lang)}")
        grades = [g for g in (r.grade, wr.grade if wr is not None else None,
                              c.grade if c is not None else None) if g in ("B", "C")]
        for g in sorted(set(grades)):
            lines.append(f"  {grade_meaning(g, lang)}")
        lines.append("")
    if rules.overrides:
        lines.append(("本次调整: " if zh else "changed for this run: ")
                     + ", ".join(f"{k}={v}" for k, v in rules.overrides))
    return "\n".join(lines).rstrip() + "\n"


def _cite(source: str | None, clause: str | None) -> str:
    """``source, clause`` (either may be missing; ``-`` when both are)."""
    return ", ".join(p for p in (source, clause) if p) or "-"
