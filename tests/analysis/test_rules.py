"""analysis.rules: the YAML schema, validation, presets and overrides."""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from anzhi.core.errors import InputError
from analysis.rules import (GRADES, Rule, RuleSet, documents, load_rules, parse_rules,
                            preset_names, rules_from_yaml)
from anzhi.core.vocabulary import FACILITY_TYPES

SEEDS = Path(__file__).resolve().parents[3] / "shared" / "seeds"
SEED_FILES = ("000_dc2a9368e22ae278.txt", "001_21c1e842576cf6cd.txt",
              "002_5ba54de6779e4404.txt", "003_3a41e903953862bb.txt",
              "004_758abde250e123ca.txt")


GUIZHOU_ZH = "中共贵州省委 贵州省人民政府《关于加强和完善易地扶贫搬迁后续工作的意见》(2019年)"


def good_rule(**changes: Any) -> dict[str, Any]:
    rule: dict[str, Any] = {
        "id": "police-800", "facility_type": "police_room",
        "applies": {"min_population": 800},
        "satisfied_by": {"at_site": True},
        "source": "baoshan-2023", "clause": "附件3 附件2 (十五)",
        "grade": "A", "adjustable": False, "label_zh": "警务室", "label_en": "Police room",
    }
    rule.update(changes)
    return rule


def doc(*rules: dict[str, Any]) -> dict[str, Any]:
    return {"name": "t", "version": "1", "description": "", "rules": list(rules)}


# --------------------------------------------------------------------------------------
# The default rule set
# --------------------------------------------------------------------------------------


def test_default_rule_set_content() -> None:
    rs = load_rules()
    assert "default" in preset_names()
    assert rs.name == "default" and rs.version
    assert rs.rule_ids[:3] == ["health-every-site", "police-800", "police-3000"]
    health, p800, p3000 = rs.rules[:3]
    assert health.facility_type == "clinic"
    assert health.applies.min_population is None and health.applies.kind == "any"
    assert (health.source_id, health.clause, health.grade) == ("guizhou-2019", "三(一)3", "A")
    assert health.source == GUIZHOU_ZH
    wr = health.satisfied_by.within_reach
    assert wr is not None and wr.max_time_min == 30 and wr.profile == "walk"
    assert wr.grade == "B" and wr.adjustable  # the walking reading is a planning default
    assert health.satisfied_by.at_site is not None
    assert (p800.applies.min_population, p800.source_id, p800.grade) == (800, "baoshan-2023", "A")
    assert "保发改地区〔2023〕276号" in p800.source and "(十五)" in p800.clause
    assert "保易指发〔2023〕1号" in p800.clause
    assert (p3000.applies.min_population, p3000.source, p3000.clause, p3000.grade) == (
        3000, GUIZHOU_ZH, "三(四)19", "A")
    for r in (p800, p3000):
        assert r.facility_type == "police_room"
        assert r.satisfied_by.within_reach is None  # police rooms must be at the site
        assert r.satisfied_by.at_site is not None


def test_default_a_grade_sources_are_policy_documents() -> None:
    docs = documents()
    for r in load_rules():
        assert r.source_id in docs, r.id
        if r.grade == "A":  # B/C figures restate documents outside the seeds (GB 50180...)
            assert docs[r.source_id].kind == "policy", r.id


def test_default_police_clause_text_is_in_the_seeds() -> None:
    if not SEEDS.is_dir():
        pytest.skip("shared/seeds is absent")
    assert "800人以上安置点警务室规范化建设" in (SEEDS / SEED_FILES[0]).read_text(encoding="utf-8")
    assert "对3000人及以上的安置点" in (SEEDS / SEED_FILES[4]).read_text(encoding="utf-8")


def test_describe_texts() -> None:
    rs = load_rules()
    assert rs.get("police-3000").describe_applies("zh") == "人数 ≥ 3,000"
    assert rs.get("police-3000").describe_applies("en") == "population ≥ 3,000"
    assert rs.get("health-every-site").describe_reach("zh") == \
        "安置点内或步行 30 分钟内(亦可为乡镇卫生院)"
    assert rs.get("health-every-site").describe_reach("en") == \
        "at the site or within 30 min walk (also: township health centre)"


def test_unknown_preset() -> None:
    with pytest.raises(InputError, match="no packaged rule set named 'guizhou-1999'.*default"):
        load_rules("guizhou-1999")


# --------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------


def test_valid_rule_round_trips() -> None:
    rs = parse_rules(doc(good_rule()), source="mine.yaml")
    assert rs.origin == "mine.yaml"
    again = parse_rules(rs.to_dict(), source="again")
    assert again.rules == rs.rules
    default = load_rules()
    assert parse_rules(default.to_dict(), source="x").rules == default.rules


def test_every_problem_is_collected_with_file_and_rule_id() -> None:
    bad = good_rule(
        id="police-bad", facility_type="spaceport", colour="red", grade="D",
        applies={"min_population": 5000, "max_population": 800},
    )
    del bad["source"]
    del bad["clause"]
    with pytest.raises(InputError, match="mine.yaml") as exc:
        parse_rules(doc(bad), source="mine.yaml")
    text = str(exc.value)
    assert len(exc.value.problems) == 6
    for needle in ("unknown key 'colour'", "unknown facility type", "spaceport",
                   "not below max_population", "source is missing", "clause is missing",
                   "grade 'D' is not A, B or C"):
        assert needle in text
    assert all("rule 'police-bad'" in str(p) for p in exc.value.problems)
    assert all(p.file == "mine.yaml" for p in exc.value.problems)


@pytest.mark.parametrize(("change", "message"), [
    ({"grade": "C"}, "grade C .* not marked adjustable"),
    ({"satisfied_by": {}}, "satisfied_by is missing or empty"),
    ({"satisfied_by": {"nearby": True}}, "unknown key 'nearby' in satisfied_by"),
    ({"satisfied_by": {"within_reach": {"profile": "walk"}}}, "needs max_dist_m and/or"),
    ({"satisfied_by": {"within_reach": {"max_time_min": 30, "profile": "bike"}}},
     "not one of walk, drive, motorbike"),
    ({"satisfied_by": {"within_reach": {"max_time_min": 30, "grade": "C"}}},
     "within_reach is grade C"),
    ({"satisfied_by": {"at_site": {"radius_m": -5}}}, "radius_m must be > 0"),
    ({"applies": {"min_population": "3,000"}}, "min_population is not a number"),
    ({"applies": {"min_population": True}}, "min_population is not a number"),
    ({"applies": {"min_population": 800.5}}, "must be a whole number"),
    ({"applies": {"kind": "suburban"}}, "is not 城镇, 农村 or any"),
    ({"applies": {"min_population": 800, "max_population": 800}}, "not below max_population"),
    ({"id": "police.800"}, "id is missing or invalid"),
    ({"grade": None}, "grade is missing"),
    ({"adjustable": "yes"}, "adjustable must be true or false"),
])
def test_single_problems(change: dict[str, Any], message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_rules(doc(good_rule(**change)), source="f.yaml")


def test_aliases_are_normalised() -> None:
    rs = parse_rules(doc(good_rule(facility_type="警务室", applies={"kind": "urban"},
                                   grade="a")), source="f")
    r = rs.rules[0]
    assert (r.facility_type, r.applies.kind, r.grade) == ("police_room", "城镇", "A")


def test_duplicate_ids_and_top_level_problems() -> None:
    with pytest.raises(InputError, match="id used twice"):
        parse_rules(doc(good_rule(), good_rule()), source="f")
    with pytest.raises(InputError, match="unknown key 'rule' in the rule set"):
        parse_rules({"name": "x", "version": 1, "rule": [], "rules": [good_rule()]}, source="f")
    with pytest.raises(InputError, match="rules is missing"):
        parse_rules({"name": "x", "version": 1}, source="f")
    with pytest.raises(InputError, match="must be a mapping"):
        parse_rules(["not", "a", "mapping"], source="f")


def test_yaml_errors_name_the_line() -> None:
    with pytest.raises(InputError, match=r"f.yaml: not valid YAML at line 4, column 3"):
        rules_from_yaml("name: x\nversion: 1\nrules: [\n  - id: a\n", source="f.yaml")
    with pytest.raises(InputError, match="duplicate key 'grade'"):
        rules_from_yaml("name: x\nversion: 1\nrules:\n  - id: a\n    grade: A\n    grade: B\n",
                        source="f.yaml")


def test_rules_are_frozen() -> None:
    rs = load_rules()
    with pytest.raises(dataclasses.FrozenInstanceError, match="cannot assign"):
        rs.rules[0].grade = "C"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError, match="cannot assign"):
        rs.name = "x"  # type: ignore[misc]


# --------------------------------------------------------------------------------------
# Overrides
# --------------------------------------------------------------------------------------


def test_with_overrides_changes_only_a_copy() -> None:
    rs = load_rules()
    new = rs.with_overrides({"police-800.min_population": "1000",
                             "health-every-site.within_reach.max_time_min": 20,
                             "police-3000.applies.kind": "城镇"})
    assert rs.get("police-800").applies.min_population == 800
    assert new.get("police-800").applies.min_population == 1000
    wr = new.get("health-every-site").satisfied_by.within_reach
    assert wr is not None and wr.max_time_min == 20
    assert new.get("police-3000").applies.kind == "城镇"
    assert new.overrides == (("police-800.min_population", 1000),
                             ("health-every-site.within_reach.max_time_min", 20),
                             ("police-3000.applies.kind", "城镇"))
    assert new.get("police-800").source == rs.get("police-800").source


def test_override_can_add_and_remove_reach() -> None:
    rs = load_rules()
    shared = rs.with_overrides({"police-800.max_dist_m": 500})
    wr = shared.get("police-800").satisfied_by.within_reach
    assert wr is not None and wr.max_dist_m == 500
    no_reach = rs.with_overrides({"health-every-site.max_time_min": None})
    assert no_reach.get("health-every-site").satisfied_by.within_reach is None
    bigger = rs.with_overrides({"police-800.radius_m": 500})
    assert bigger.get("police-800").satisfied_by.at_site.radius_m == 500  # type: ignore


def test_bad_overrides_are_reported_together() -> None:
    rs = load_rules()
    with pytest.raises(InputError, match="3 problems") as exc:
        rs.with_overrides({"police-900.min_population": 1000, "police-800.colour": "red",
                           "police-800.min_population": "lots"})
    text = str(exc.value)
    assert "no rule 'police-900'" in text and "'colour' is not a field" in text
    assert "'lots' is not a number" in text


def test_override_that_breaks_a_rule_is_refused() -> None:
    rs = load_rules()
    with pytest.raises(InputError, match="not below max_population"):
        rs.with_overrides({"police-800.max_population": 500})
    with pytest.raises(InputError, match="min_population must be >= 0"):
        rs.with_overrides({"police-800.min_population": -1})


def test_get_unknown_rule() -> None:
    with pytest.raises(InputError, match="no rule 'x'.*police-800"):
        load_rules().get("x")


@settings(max_examples=50, deadline=None)
@given(min_pop=st.none() | st.integers(0, 20000), width=st.integers(1, 20000),
       has_max=st.booleans(), min_hh=st.none() | st.integers(0, 2000),
       kind=st.sampled_from(["城镇", "农村", "any"]),
       ftype=st.sampled_from(sorted(FACILITY_TYPES)), grade=st.sampled_from(GRADES),
       reach=st.none() | st.tuples(st.none() | st.integers(1, 5000),
                                   st.integers(1, 120)))
def test_round_trip_property(min_pop: int | None, width: int, has_max: bool,
                             min_hh: int | None, kind: str, ftype: str, grade: str,
                             reach: tuple[int | None, int] | None) -> None:
    applies: dict[str, Any] = {"kind": kind}
    if min_pop is not None:
        applies["min_population"] = min_pop
    if has_max:
        applies["max_population"] = (min_pop or 0) + width
    if min_hh is not None:
        applies["min_households"] = min_hh
    sb: dict[str, Any] = {"at_site": True}
    if reach is not None:
        sb["within_reach"] = {"max_time_min": reach[1]}
        if reach[0] is not None:
            sb["within_reach"]["max_dist_m"] = reach[0]
    raw = good_rule(facility_type=ftype, applies=applies, satisfied_by=sb, grade=grade,
                    adjustable=grade == "C")
    rs = parse_rules(doc(copy.deepcopy(raw)), source="p")
    rule: Rule = rs.rules[0]
    assert parse_rules(rs.to_dict(), source="q").rules == rs.rules
    assert rule.applies.min_population == min_pop
    assert isinstance(rs, RuleSet)


def test_facility_types_in_rule_order() -> None:
    assert load_rules("baoshan-2023").facility_types == (
        "police_room", "employment_station", "kindergarten", "elderly_care", "children_centre",
        "cemetery", "assistance_workshop", "odd_job_market", "training_base",
        "micro_fire_station", "bus_stop")


# --------------------------------------------------------------------------------------
# Capacity norms
# --------------------------------------------------------------------------------------

KIDS_CAP = {"demand": "children_3_5", "max_per_unit": 1, "child_share": 0.04,
            "unit_zh": "个学位", "unit_en": "places", "grade": "C", "adjustable": True,
            "source": "planning default"}


def test_capacity_round_trips_and_presets_round_trip() -> None:
    rs = parse_rules(doc(good_rule(facility_type="kindergarten", capacity=KIDS_CAP)),
                     source="f")
    cap = rs.rules[0].capacity
    assert cap is not None and (cap.demand, cap.max_per_unit, cap.child_share) == (
        "children_3_5", 1, 0.04)
    assert cap.describe("zh") == "每个学位 ≤ 1名3–5岁儿童;无儿童数时按人口 4.0% 估算"
    assert cap.describe("en").startswith("≤ 1 children aged 3–5 per place")
    assert parse_rules(rs.to_dict(), source="again").rules == rs.rules
    for name in preset_names():
        preset = load_rules(name)
        assert parse_rules(preset.to_dict(), source=name).rules == preset.rules


@pytest.mark.parametrize(("change", "message"), [
    ({"demand": "adults"}, "capacity.demand 'adults' is not population or children_3_5"),
    ({"max_per_unit": None}, "capacity.max_per_unit is missing"),
    ({"max_per_unit": 0}, "capacity.max_per_unit must be > 0"),
    ({"child_share": None}, "child_share is missing for demand children_3_5"),
    ({"child_share": 4}, "child_share must be a share between 0 and 1"),
    ({"adjustable": False}, "capacity is grade C .* not marked adjustable"),
    ({"seats": 3}, "unknown key 'seats' in capacity"),
])
def test_capacity_problems(change: dict[str, Any], message: str) -> None:
    cap = {**KIDS_CAP, **change}
    cap = {k: v for k, v in cap.items() if v is not None}
    with pytest.raises(InputError, match=message):
        parse_rules(doc(good_rule(facility_type="kindergarten", capacity=cap)), source="f")


def test_capacity_overrides() -> None:
    rs = load_rules("baoshan-2023")
    changed = rs.with_overrides({"police-ratio.max_per_unit": "3000",
                                 "kindergarten-scale.capacity.child_share": 0.05})
    assert changed.get("police-ratio").capacity.max_per_unit == 3000  # type: ignore[union-attr]
    assert changed.get("kindergarten-scale").capacity.child_share == 0.05  # type: ignore[union-attr]
    assert rs.get("police-ratio").capacity.max_per_unit == 5000  # type: ignore[union-attr]
    with pytest.raises(InputError, match="max_per_unit must be > 0"):
        rs.with_overrides({"police-ratio.max_per_unit": 0})
    with pytest.raises(InputError, match="police-800.*capacity.demand"):
        rs.with_overrides({"police-800.max_per_unit": 5000})  # no norm to change


def test_also_types_parse_round_trip_and_errors() -> None:
    sb = {"at_site": True, "also_types": ["乡镇卫生院", "clinic", "卫生院"]}
    rs = parse_rules(doc(good_rule(facility_type="clinic", satisfied_by=sb)), source="f")
    r = rs.rules[0]
    assert r.satisfied_by.also_types == ("township_health_centre",)  # own type and dups dropped
    assert rs.facility_types == ("clinic", "township_health_centre")
    assert "亦可为乡镇卫生院" in r.describe_reach("zh")
    assert parse_rules(rs.to_dict(), source="again").rules == rs.rules
    with pytest.raises(InputError, match="unknown facility type in satisfied_by.also_types"):
        parse_rules(doc(good_rule(satisfied_by={"at_site": True, "also_types": ["spa"]})),
                    source="f")
    with pytest.raises(InputError, match="also_types must be a list"):
        parse_rules(doc(good_rule(satisfied_by={"at_site": True, "also_types": "卫生院"})),
                    source="f")


def test_reach_phrase_names_the_travel_mode() -> None:
    from analysis.rules import WithinReach, reach_phrase

    def wr(profile: str) -> WithinReach:
        return WithinReach(max_time_min=20.0, max_dist_m=None, profile=profile)

    assert reach_phrase(wr("walk"), "zh") == "步行 20 分钟内"
    assert reach_phrase(wr("drive"), "zh") == "车程 20 分钟内"
    assert reach_phrase(wr("motorbike"), "zh") == "摩托车程 20 分钟内"
    assert reach_phrase(wr("motorbike"), "en").startswith("within 20 min motorbike ride")


@pytest.mark.parametrize("preset", ["default", "guizhou-2019", "baoshan-2023", "gb50180-2018"])
def test_saved_rules_read_back_to_the_same_rules(preset: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from analysis.rules import load_rules, rules_to_yaml
    from layers.rulesfile import read_rules

    base = load_rules(preset)
    rule = next((r for r in base.rules if r.applies.min_population is not None), base.rules[0])
    field = "min_population" if rule.applies.min_population is not None else "max_dist_m"
    key = f"{rule.id}.{field}"
    changed = base.with_overrides({key: 1234})
    for rs in (base, changed):
        path = tmp_path / f"{preset}.yaml"
        path.write_text(rules_to_yaml(rs), encoding="utf-8")
        back = read_rules(path)  # the file --rules reads
        assert [r.to_dict() for r in back.rules] == [r.to_dict() for r in rs.rules]
        assert (back.name, back.version) == (base.name, base.version)
    text = rules_to_yaml(changed)
    assert text.startswith(f"# rule set {base.name} {base.version}")
    assert f"changed: {key}=1234" in text.splitlines()[0]
    assert back.get(rule.id).to_dict() != base.get(rule.id).to_dict()
    assert "1234" in yaml_rule_text(text, rule.id)
    assert "安置点" in text or "人" in text  # Chinese kept as is, not \u-escaped


def yaml_rule_text(text: str, rule_id: str) -> str:
    """The lines of one rule in a rule file's text (from its id to the next rule)."""
    start = text.index(f"id: {rule_id}")
    nxt = text.find("\n- id: ", start)
    return text[start: nxt if nxt > 0 else len(text)]
