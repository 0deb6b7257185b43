"""Policy rule sets: what a relocation site must have, with the clause that says so.

A rule set is a versioned YAML file (``analysis/rules/<name>.yaml``) with the top-level keys
``name``, ``version``, ``description`` and ``rules``.  Each rule::

    - id: police-800                 # unique; letters, digits, '-' and '_' (no '.')
      facility_type: police_room     # key (or label/alias) of anzhi.core.vocabulary
      applies:                       # all conditions must hold; omit for "every site"
        min_population: 800          # population >= this
        max_population: 10000        # population <  this (exclusive upper bound)
        min_households: 200          # households >= this (sites without households: no)
        kind: any                    # 城镇 | 农村 | any (urban/rural accepted)
      satisfied_by:                  # at least one of at_site / within_reach:
        also_types: [township_health_centre]   # optional: other facility types that
                                     #   meet the rule too (at the site or within reach)
        at_site: {radius_m: 300}     # a facility at the site; radius defaults to
                                     #   settings.at_site_radius_m (``at_site: true``)
        within_reach:                # a facility elsewhere, by the access table
          max_dist_m: 1000           #   road distance, and/or
          max_time_min: 30           #   travel time (both must hold when both given)
          profile: walk              #   walk | drive: the profile the access table uses
          grade: B                   #   the reach figure's own grade/source (optional)
          source: gb50180-2002       #   a document id (documents.yaml) or free text
          clause: "..."              #   Chinese; clause_en: its English (optional)
          adjustable: true           #   required true when grade is C
          note: "..."                #   Chinese; note_en: its English (optional)
      source: guizhou-2019           # a document id of documents.yaml (the loader puts
                                     #   its citable title in its place), or free text
      clause: "三(四)19"              # the clause, in Chinese
      clause_en: "..."               # optional: the clause in English (--lang en)
      grade: A                       # A | B | C (docs/policy-rules.md)
      adjustable: false              # must be true for C-grade figures
      label_zh: "3000人以上安置点设警务室"
      label_en: "Police room at sites of 3,000+"
      note: "..."                    # optional, Chinese (often the clause quoted)
      note_en: "..."                 # optional, English
      capacity:                      # optional capacity norm (gap_capacity)
        demand: population           #   population | children_3_5 (people the facility serves)
        max_per_unit: 5000           #   most demand per unit of facility capacity
                                     #   (5,000 residents per officer; 1 child per place);
                                     #   unlimited: at least one unit (一室一警)
        min_per_unit: 3000           #   optional: lower end of a documented range (shown;
                                     #   only max_per_unit decides gap_capacity)
        child_share: 0.04            #   children_3_5 only: share of the population aged
                                     #   3-5 when the site table has no children_3_5 column
        unit_zh: 名民警               #   the unit of the facilities' capacity column
        unit_en: officers
        grade: A                     #   the norm's own grade/source; C needs adjustable
        source: guizhou-2019         #   document id or free text, as for the rule
        clause: "..."                #   clause_en / note_en: English (optional)
        adjustable: false
        note: "..."

``max_per_unit: unlimited`` (or 1,000,000 or more, ``NO_PER_UNIT_LIMIT``) reads as "no limit per unit"
(不限每名民警服务人数): only a unit of capacity of 0 is short (一室一警).

``source`` names a document of the registry ``documents.yaml`` by id (``guizhou-2019``,
``baoshan-2023``, ...; :mod:`~analysis.rules.documents`, listed in ``docs/sources.md``); the
rule then carries its citable title: ``Rule.source`` is the Chinese citation (issuer,
《title》, 文号 where it has one, year) and ``Rule.source_en`` the English one.  Any other
text (your own document) is kept as written in both languages; text that looks like an id
(``guizhou-2109``) but is not registered is refused.

A facility *at the site* always satisfies a rule (a site with its own clinic is within any
reach); ``satisfied_by.at_site`` sets the radius that counts as "at the site".  A rule
without ``within_reach`` can only be met at the site (e.g. police rooms).

Parsing and validation are pure (:func:`parse_rules`, :func:`rules_from_yaml`) but for the
document registry they look ids up in.  The only file access in ``analysis`` is
:func:`load_rules` (and :func:`documents`) reading the YAML files packaged right here
(package data, via :mod:`importlib.resources`); user rule files are read by
:func:`layers.rulesfile.read_rules`.

Presets: ``guizhou-2019``, ``baoshan-2023``, ``gb50180-2018`` and ``default`` (their
documented union).  The validator refuses unknown keys so that a typo never silently
disables a rule.

Modules: :mod:`~analysis.rules.model` (the rule dataclasses and their words),
:mod:`~analysis.rules.parse` (one rule from its dict form, every problem collected),
:mod:`~analysis.rules.ruleset` (the rule set and its overrides),
:mod:`~analysis.rules.yamltext` (YAML text), :mod:`~analysis.rules.presets` (the
packaged files), :mod:`~analysis.rules.documents` (the cited documents) and
:mod:`~analysis.rules.requirements` (the requirements of docs/policy-rules.md and the rules
that check them).  Import the names from ``analysis.rules``.
"""

from analysis.rules.documents import Document, document, documents
from analysis.rules.model import (DEMANDS, GRADE_MEANING, GRADES, KINDS, NO_PER_UNIT_LIMIT, PROFILES, Applies,
                                  AtSite, Capacity, Rule, SatisfiedBy, WithinReach, grade_meaning,
                                  reach_phrase)
from analysis.rules.presets import load_rules, preset_names
from analysis.rules.ruleset import RuleSet, parse_rules
from analysis.rules.yamltext import rules_from_yaml, rules_to_yaml

__all__ = [
    "Applies",
    "AtSite",
    "WithinReach",
    "SatisfiedBy",
    "Capacity",
    "DEMANDS",
    "Document",
    "document",
    "documents",
    "NO_PER_UNIT_LIMIT",
    "Rule",
    "RuleSet",
    "GRADES",
    "GRADE_MEANING",
    "grade_meaning",
    "KINDS",
    "PROFILES",
    "parse_rules",
    "rules_from_yaml",
    "rules_to_yaml",
    "load_rules",
    "preset_names",
    "reach_phrase",
]
