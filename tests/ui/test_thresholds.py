"""anzhi.ui.thresholds: the figures the app's rule controls edit, on the real presets."""

from __future__ import annotations

import pytest

from analysis.rules import preset_names
from anzhi.pipeline import read_rules
from anzhi.ui.thresholds import (
    ANY_STAFFING_PER_UNIT,
    profile_overrides,
    rule_thresholds,
    service_minutes,
    threshold_step,
)


def test_thresholds_of_the_default_preset() -> None:
    rules = read_rules("default")
    found = {x.override_key: x for x in rule_thresholds(rules)}
    police = found["police-800.min_population"]
    assert (police.value, police.integer, police.widget_key) == (800, True, "thr:police-800.min_population")
    assert found["health-every-site.max_time_min"].integer is False
    assert found["police-ratio.max_per_unit"].value == 5000
    # "any staffing" (一室一警, 1e9 per officer) is not a figure
    assert "police-3000.max_per_unit" not in found
    # every figure is one with_overrides accepts
    rules.with_overrides({k: x.value for k, x in found.items()})


@pytest.mark.parametrize("preset", preset_names())
def test_every_threshold_is_a_figure_of_its_rule(preset: str) -> None:
    rules = read_rules(preset)
    for thr in rule_thresholds(rules):
        assert rules.get(thr.rule_id) is not None
        assert thr.value < ANY_STAFFING_PER_UNIT or thr.integer


def test_steps_profile_overrides_and_service_minutes() -> None:
    assert threshold_step("max_time_min", 30) == 5.0
    assert threshold_step("child_share", 0.04) == 0.005
    assert threshold_step("max_per_unit", 5000) == 500.0
    assert threshold_step("max_per_unit", 2) == 0.1
    assert threshold_step("max_dist_m", 800) == 100.0
    rules = read_rules("default")
    reach = {r.id for r in rules if r.satisfied_by.within_reach is not None}
    walked = {r.id for r in rules if r.satisfied_by.within_reach is not None
              and r.satisfied_by.within_reach.profile == "walk"}
    assert set(profile_overrides(rules, "drive")) == {f"{i}.profile" for i in reach}
    assert set(profile_overrides(rules, "walk")) == {f"{i}.profile" for i in reach - walked}
    minutes = service_minutes(rules, ["clinic", "police_room"], 15.0)
    assert minutes == {"clinic": 30.0, "police_room": 15.0}
