"""The requirements of docs/policy-rules.md and how each is checked: its rules, or why spatial data cannot


:data:`REQUIREMENTS` lists every requirement of the policy table (its id there) with the
ids of the packaged rules that check it, or, where no rule can, the reason.
:func:`requirement_rows` joins it with the packaged presets (clause and grade as the rule
files give them) and :func:`requirements_markdown` renders the table that
``docs/policy-rules.md`` carries between its ``requirements-table`` markers
(``tests/analysis/test_fidelity.py`` checks that the two agree).  Print the table with
``python -m analysis.rules.requirements``.
"""

from __future__ import annotations

from dataclasses import dataclass

from analysis.rules.model import Rule
from analysis.rules.presets import load_rules, preset_names

__all__ = ["Requirement", "REQUIREMENTS", "NOT_CHECKABLE", "requirement_rows",
           "requirements_markdown", "TABLE_START", "TABLE_END"]

#: What the table says for a requirement no rule checks.
NOT_CHECKABLE = "not checkable from spatial data"
#: The markers around the generated table in docs/policy-rules.md.
TABLE_START = "<!-- requirements-table:start (python -m analysis.rules.requirements) -->"
TABLE_END = "<!-- requirements-table:end -->"


@dataclass(frozen=True)
class Requirement:
    """One requirement of the policy table.

    Attributes
    ----------
    id
        Its id in docs/policy-rules.md (§1 table) or a short name for §2–§3 and the indicators.
    what
        The requirement in a few words.
    rule_ids
        Packaged rules that check it (any preset); empty when none can.
    reason
        Why spatial data cannot check it (or the part no rule checks); ``""`` when the
        rules check all of it.
    elsewhere
        Not a site rule at all but handled by another part of Anzhi (named in ``reason``).
    """

    id: str
    what: str
    rule_ids: tuple[str, ...] = ()
    reason: str = ""
    elsewhere: bool = False


REQUIREMENTS: tuple[Requirement, ...] = (
    Requirement("health-every-site", "a health service facility (卫生室) for every site",
                ("health-every-site", "clinic-30min")),
    Requirement("health-no-dup-near-township",
                "no new clinic where a township / community health centre stands",
                ("health-every-site",),
                "'the same 行政村/社区' needs the 村/社区 of each facility, which the "
                "facilities contract (docs/schemas.md) does not carry; a township health "
                "centre at the site or within reach meets the clinic rule (also_types)"),
    Requirement("police-800", "a standardised police room at sites of 800+", ("police-800",)),
    Requirement("police-3000", "a police room with at least one officer (一室一警) at sites of 3,000+",
                ("police-3000",)),
    Requirement("police-ratio", "one officer per 3,000–5,000 residents", ("police-ratio",)),
    Requirement("police-every-community", "一社区(村)一警(辅警): an officer or auxiliary in every 村/社区",
                (), "officers and auxiliaries are assigned to a 村(社区), not to a site, and "
                "facility tables list police rooms, not the 村 each officer serves"),
    Requirement("employment-800", "an employment service station at sites of 800+",
                ("employment-800",)),
    Requirement("large-site", "the large-site class (≥ 200 households and ≥ 800 people)", (),
                "a reporting class: analysis.coverage.large_site and coverage_by_size report "
                "it, and the large-site rules apply to it", elsewhere=True),
    Requirement("admin-1000", "residents' committee(s) at sites of 1,000–10,000", ("admin-1000",)),
    Requirement("admin-10000", "a sub-district office at town sites of 10,000+", ("admin-10000",)),
    Requirement("committee-size", "100–700 households per residents' committee", (),
                "a committee serves its 辖区, not a site: the households per committee need the "
                "committees' areas, which neither the site nor the facility table carries"),
    Requirement("kindergarten-scale", "kindergarten places matched to the population at large sites",
                ("kindergarten-scale", "kindergarten-large"),
                "classes of 25/30/35 and at most 360 children per kindergarten "
                "(幼儿园工作规程 art. 11) are a kindergarten's own organisation; the facility "
                "table gives places (capacity), not classes or enrolment"),
    Requirement("school-gap", "school places for all school-age children (缺多少补多少)", (),
                "places per school-age child need each school's places and the sites' "
                "school-age counts; the site contract counts only children aged 3–5.  Access "
                "to schools is checked by primary-500m, primary-rural-30min and middle-1000m"),
    Requirement("six-ones", "the six ones (六个一) at town sites",
                ("six-ones-community-service", "six-ones-civilisation-practice",
                 "six-ones-culture-sports", "six-ones-elderly-care", "six-ones-children-centre",
                 "six-ones-affordable-shop")),
    Requirement("community-service", "≥ 30 m² of community service space per 100 households", (),
                "needs each facility's floor area in m²; the facilities contract has a "
                "capacity (places, officers), and the capacity norms count residents or "
                "children, not households"),
    Requirement("housing-25", "≤ 25 m² of housing per person; ≤ 10,000 yuan self-funding per household",
                (), "a housing and funding standard of each household: no site or facility "
                "table holds floor areas or money"),
    Requirement("baoshan-coverage",
                "elderly care, children's homes, public cemeteries: share of all sites covered "
                "(保山民政 2021 四)",
                ("elderly-care-every-site", "children-home-every-site", "cemetery-every-site")),
    Requirement("baoshan-community-service-94.8", "村(社区) service facilities: 94.8% coverage", (),
                "the share is of 村(社区), not of sites; the site table does not say which "
                "村(社区) service facility serves a site"),
    Requirement("large-site-facilities",
                "assistance workshop, odd-job market, training base, micro fire station, bus "
                "or coach stop at large sites (保山 2023 附件3 之附件3)",
                ("workshop-large", "odd-job-market-large", "training-base-large",
                 "micro-fire-station-large", "bus-stop-large")),
    Requirement("service-radii", "kindergarten, school and health-centre radii (§2)",
                ("kindergarten-300m", "primary-500m", "primary-rural-30min", "middle-1000m",
                 "health-centre-15min")),
    Requirement("life-circle-tiers", "life-circle population tiers (GB 50180-2018 3.0.4)", (),
                "the tiers size urban planning areas, not sites; their radii are in the "
                "service-radius rules", elsewhere=True),
    Requirement("slope-25", "slope classes and no crops > 25° on out-migration land (§3)", (),
                "a land rule, not a site facility: checked by `anzhi land` (analysis.land)",
                elsewhere=True),
)


def _rule_index() -> dict[str, list[tuple[str, Rule]]]:
    """Rule id -> [(preset name, rule)] over every packaged preset, ``default`` last."""
    names = sorted(preset_names(), key=lambda n: (n == "default", n))
    out: dict[str, list[tuple[str, Rule]]] = {}
    for name in names:
        for rule in load_rules(name):
            out.setdefault(rule.id, []).append((name, rule))
    return out


def requirement_rows() -> list[dict[str, str]]:
    """One row per requirement × checking rule (one row with the reason when none):
    ``requirement``, ``what``, ``rule_id``, ``presets``, ``clause``, ``grade``, ``note``."""
    index = _rule_index()
    rows: list[dict[str, str]] = []
    for req in REQUIREMENTS:
        if not req.rule_ids:
            note = (f"not a site rule: {req.reason}" if req.elsewhere else
                    f"{NOT_CHECKABLE}: {req.reason}")
            rows.append({"requirement": req.id, "what": req.what, "rule_id": "—",
                         "presets": "—", "clause": "—", "grade": "—", "note": note})
            continue
        for k, rule_id in enumerate(req.rule_ids):
            found = index.get(rule_id, [])
            first = found[0][1] if found else None
            rows.append({
                "requirement": req.id if k == 0 else "〃",
                "what": req.what if k == 0 else "",
                "rule_id": f"`{rule_id}`",
                "presets": ", ".join(n for n, _ in found) or "(missing)",
                "clause": (f"{first.source_id or first.source} {first.clause}"
                           if first is not None else ""),
                "grade": first.grade if first is not None else "",
                "note": (f"partly {NOT_CHECKABLE}: {req.reason}" if k == 0 and req.reason
                         else ""),
            })
    return rows


def requirements_markdown() -> str:
    """The requirement → rule id → clause → grade table of docs/policy-rules.md, with its
    markers."""
    head = ("| requirement | what | rule id | presets | clause | grade | note |\n"
            "|---|---|---|---|---|---|---|")
    lines = [TABLE_START, head]
    for r in requirement_rows():
        cells = [r[k].replace("|", "\\|") for k in
                 ("requirement", "what", "rule_id", "presets", "clause", "grade", "note")]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append(TABLE_END)
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # pragma: no cover - prints the table for docs/policy-rules.md
    print(requirements_markdown(), end="")
