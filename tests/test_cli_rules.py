"""``anzhi rules list|show`` and ``anzhi gaps --demo --rules PRESET`` with the presets."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from analysis.rules import documents, load_rules, preset_names
from anzhi.cli import main

#: A seed file name (``004_758abde250e123ca.txt``): it belongs in docs/sources.md only.
SEED_NAME = re.compile(r"\d{3}_[0-9a-f]{16}\.txt")


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
    assert "保山市发展和改革委员会《" in out and "保发改地区〔2023〕276号" in out
    assert "C级:常用规划默认值,不是政策" in out   # and explain themselves in Chinese
    assert "说明: 城镇五分钟生活圈的幼儿园步行距离" in out


@pytest.mark.parametrize("preset", preset_names())
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_rules_show_cites_titles_not_seed_files(preset: str, lang: str,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "show", preset, "--lang", lang]) == 0
    out = capsys.readouterr().out
    assert not SEED_NAME.search(out) and "POLICY-RULES" not in out
    for r in load_rules(preset):
        assert f"{r.source_text(lang)}, {r.clause_text(lang)}" in out, r.id
    if lang == "en":
        assert "中共贵州省委" not in out and "保山市民政局" not in out  # English titles


def test_rules_show_police_3000_has_no_per_officer_limit(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "show", "guizhou-2019"]) == 0
    out = capsys.readouterr().out
    assert "容量: 至少 1 名民警,不限每名民警服务人数" in out and "1,000,000,000" not in out
    assert main(["rules", "show", "guizhou-2019", "--lang", "en"]) == 0
    out = capsys.readouterr().out
    assert "capacity: at least one officer, no per-officer limit" in out
    assert ("source: CPC Guizhou Provincial Committee and Guizhou Provincial People's "
            "Government: Opinions on Strengthening and Improving Follow-up Work after "
            "Poverty-Alleviation Relocation (2019), 三(四)19 (grade A)") in out


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
    out = capsys.readouterr().out
    assert "p-500" in out and "依据: county memo, 3 (等级 B)" in out  # free text kept


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
        assert r.source_id in documents() and r.source.startswith(
            documents()[r.source_id].issuer_zh)  # the citable title, not a file name
    for col in gaps.columns:
        if gaps[col].dtype == object:
            assert not gaps[col].astype(str).str.contains(SEED_NAME).any(), col
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
