"""``anzhi rules list|show`` and ``anzhi gaps --demo --rules PRESET`` with the presets."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from analysis.rules import load_rules, preset_names
from anzhi.cli import main


def test_rules_list(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "list"]) == 0
    out = capsys.readouterr().out
    for name in ("default", "guizhou-2019", "baoshan-2023", "gb50180-2018"):
        assert name in preset_names()
        assert any(line.startswith(name) for line in out.splitlines()), name


def test_rules_show_prints_every_rule_with_source_clause_grade(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "show", "baoshan-2023"]) == 0
    out = capsys.readouterr().out
    for r in load_rules("baoshan-2023"):
        assert f"{r.id}: {r.label_zh}" in out
        assert f"{r.source}, {r.clause} (等级 {r.grade})" in out
    assert "每名民警 ≤ 5,000 人" in out          # the capacity norm
    assert "可调整的默认值" in out                 # C-grade figures are flagged


def test_rules_show_english_and_own_file(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "show", "gb50180-2018", "--lang", "en"]) == 0
    out = capsys.readouterr().out
    assert "kindergarten-300m: Kindergarten within 300 m of town sites [adjustable default]" in out
    assert "applies: urban sites" in out
    f = tmp_path / "mine.yaml"
    f.write_text("name: mine\nversion: '1'\nrules:\n  - id: p-500\n    facility_type: 警务室\n"
                 "    applies: {min_population: 500}\n    satisfied_by: {at_site: true}\n"
                 "    source: county memo\n    clause: '3'\n    grade: B\n", encoding="utf-8")
    assert main(["rules", "show", str(f)]) == 0
    assert "p-500" in capsys.readouterr().out


def test_rules_show_unknown_preset(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "show", "hunan-2020"]) == 2
    err = capsys.readouterr().err
    assert "neither a packaged rule set nor a file" in err and "guizhou-2019" in err


# --------------------------------------------------------------------------------------
# Acceptance: the demo county under Guizhou 2019 and Baoshan 2023
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def preset_runs(demo, tmp_path_factory) -> dict[str, pd.DataFrame]:  # type: ignore[no-untyped-def]
    out: dict[str, pd.DataFrame] = {}
    for preset in ("guizhou-2019", "baoshan-2023"):
        folder = tmp_path_factory.mktemp(preset)
        assert main(["gaps", "--demo", "--rules", preset, "--out", str(folder), "--quiet"]) == 0
        out[preset] = pd.read_csv(folder / "gaps.csv", encoding="utf-8-sig",
                                  dtype={"site_id": str, "clause": str},
                                  keep_default_na=False,
                                  na_values={c: [""] for c in ("dist_m", "time_min",
                                                               "households")})
    return out


def _applies(rule, pop: float, hh: float, kind: str) -> bool:  # type: ignore[no-untyped-def]
    a = rule.applies
    return ((a.min_population is None or pop >= a.min_population)
            and (a.max_population is None or pop < a.max_population)
            and (a.min_households is None or hh >= a.min_households)
            and (a.kind == "any" or kind == a.kind))


@pytest.mark.parametrize("preset", ["guizhou-2019", "baoshan-2023"])
def test_demo_gap_list_follows_the_preset(preset: str, preset_runs, demo) -> None:  # type: ignore[no-untyped-def]
    from layers.sites import read_sites

    gaps = preset_runs[preset]
    rules = load_rules(preset)
    sites = read_sites(demo.sites)
    assert set(gaps["rule_id"]) <= set(rules.rule_ids)
    # every row carries its rule's clause, source and grade
    for r in rules:
        rows = gaps[gaps["rule_id"] == r.id]
        assert (rows["clause"] == r.clause).all() and (rows["source"] == r.source).all()
        assert (rows["grade"] == r.grade).all()
    # exactly the applicable site × rule pairs
    expected = {(s.site_id, r.id) for s in sites.itertuples() for r in rules
                if _applies(r, s.population, s.households, s.kind)}
    assert set(zip(gaps["site_id"], gaps["rule_id"], strict=True)) == expected
    assert len(gaps) == len(expected)
    assert gaps["status"].str.startswith("gap").any()


def test_guizhou_and_baoshan_give_different_gap_lists(preset_runs, demo) -> None:  # type: ignore[no-untyped-def]
    g, b = preset_runs["guizhou-2019"], preset_runs["baoshan-2023"]
    gz = g[g["status"].str.startswith("gap")]
    bs = b[b["status"].str.startswith("gap")]
    assert set(gz["rule_id"]).isdisjoint({"police-800", "employment-800"})
    assert set(bs["rule_id"]).isdisjoint({"health-every-site", "police-3000"})
    # a police room is required from 800 people in Baoshan but from 3,000 in Guizhou
    b_police = bs[bs["rule_id"] == "police-800"]
    assert len(b_police) and (b_police["population"] >= 800).all()
    g_police = g[g["rule_id"] == "police-3000"]
    assert (g_police["population"] >= 3000).all()
    mid = set(b_police.loc[b_police["population"] < 3000, "site_id"])
    assert mid, "the demo should have sites of 800–2,999 people lacking a police room"
    assert mid.isdisjoint(set(g_police["site_id"]))
    # reasons name the threshold that applied
    assert b_police["reason"].str.contains("≥ 800,须设警务室").all()
