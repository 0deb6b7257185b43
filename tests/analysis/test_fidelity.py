"""Fidelity to the source documents (issue 13): the seeds' facility words resolve to
facility types, and the Baoshan 2021 coverage indicators come out of a shipped preset.

* ``tests/data/seed_facility_terms.csv`` lists every facility term of the seed documents
  with its document id, seed file, clause and the type it must resolve to.
* ``tests/data/baoshan_2021_sites.csv`` is a site table built from the counts of 保山民政
  2021 (210 sites, 79,406 people, 18,583 households; 201 of ≤ 1,000 people, 9 of
  1,000–10,000, 16 of ≥ 200 households and ≥ 800 people) with yes/no columns 养老服务设施 /
  儿童之家 / 公墓 filled for 99 / 119 / 132 sites, as the reply reports them covered.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest

from analysis.coverage import size_class_counts
from analysis.rules import documents, load_rules, preset_names
from analysis.rules.requirements import (NOT_CHECKABLE, REQUIREMENTS, TABLE_END, TABLE_START,
                                         requirements_markdown)
from anzhi.cli import main
from anzhi.core.vocabulary import FACILITY_TYPES, OSM_TAGS, label, normalise_facility_type
from tests._osmxml import osm_xml

DATA = Path(__file__).resolve().parents[1] / "data"
DOCS = Path(__file__).resolve().parents[2] / "docs"
SEEDS = Path(__file__).resolve().parents[3] / "shared" / "seeds"
TERMS = list(csv.DictReader((DATA / "seed_facility_terms.csv").open(encoding="utf-8")))


# --------------------------------------------------------------------------------------
# Vocabulary
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("row", TERMS, ids=[f"{r['document']}-{r['term']}" for r in TERMS])
def test_every_seed_term_resolves_to_its_type(row: dict[str, str]) -> None:
    assert row["facility_type"] in FACILITY_TYPES
    assert row["document"] in documents()
    assert normalise_facility_type(row["term"]) == row["facility_type"]


def test_every_type_has_chinese_and_english_labels() -> None:
    for key, ft in FACILITY_TYPES.items():
        assert ft.zh and ft.en and ft.zh != ft.en
        assert label(key, "zh") == ft.zh and label(key, "en") == ft.en


def test_village_committee_is_not_a_residents_committee() -> None:
    # 村委会 (villagers' committee) and 社区居委会 (residents' committee) are distinct bodies
    assert normalise_facility_type("村委会") == "village_committee"
    assert normalise_facility_type("居委会") == "residents_committee"


def test_osm_childcare_is_childcare_not_kindergarten() -> None:
    assert OSM_TAGS[("amenity", "childcare")] == "childcare"
    assert OSM_TAGS[("amenity", "kindergarten")] == "kindergarten"


@pytest.mark.realdata
def test_term_list_matches_the_seed_texts() -> None:
    if not SEEDS.is_dir():
        pytest.skip(f"seed folder {SEEDS} is absent")
    texts = {p.name: p.read_text(encoding="utf-8") for p in SEEDS.glob("*.txt")}
    missing = [(r["term"], r["seed_file"]) for r in TERMS
               if r["term"] not in texts.get(r["seed_file"], "")]
    assert not missing
    # the six ones of 贵州 2019 三(一)5, word for word
    for word in ("社区综合服务中心", "新时代文明实践中心", "文体活动中心", "老年服务中心",
                 "儿童活动中心", "平价购物中心"):
        assert word in texts["004_758abde250e123ca.txt"]
        assert normalise_facility_type(word) is not None


# --------------------------------------------------------------------------------------
# Baoshan 2021 coverage indicators from the shipped baoshan-2023 preset
# --------------------------------------------------------------------------------------


def _lattice_roads(path: Path, sites: pd.DataFrame) -> Path:
    """Streets along the rows and columns of the fixture's site lattice."""
    lon = sorted(set(sites["经度"].round(6)))
    lat = sorted(set(sites["纬度"].round(6)))
    nid = {(x, y): 1 + i * len(lat) + j for i, x in enumerate(lon) for j, y in enumerate(lat)}
    nodes = {n: xy for xy, n in nid.items()}
    ways = [(10_000 + j, [nid[(x, y)] for x in lon], {"highway": "residential"})
            for j, y in enumerate(lat)]
    ways += [(20_000 + i, [nid[(x, y)] for y in lat], {"highway": "unclassified"})
             for i, x in enumerate(lon)]
    path.write_text(osm_xml(nodes, ways), encoding="utf-8")
    return path


def test_fixture_has_the_counts_of_the_reply() -> None:
    sites = pd.read_csv(DATA / "baoshan_2021_sites.csv")
    assert len(sites) == 210 and sites["人数"].sum() == 79_406 and sites["户数"].sum() == 18_583
    counts = size_class_counts(sites.rename(columns={"人数": "population", "户数": "households"}))
    got = dict(zip(counts["size_class"], counts["sites"], strict=True))
    assert (got["under_1000"], got["1000_to_10000"], got["large_site"]) == (201, 9, 16)
    assert [(sites[c] == "是").sum() for c in ("养老服务设施", "儿童之家", "公墓")] == [99, 119, 132]


def test_baoshan_indicators_in_coverage_csv(tmp_path: Path) -> None:
    sites_csv = DATA / "baoshan_2021_sites.csv"
    roads = _lattice_roads(tmp_path / "roads.osm", pd.read_csv(sites_csv))
    out = tmp_path / "out"
    rc = main(["gaps", "--sites", str(sites_csv), "--roads", str(roads),
               "--rules", "baoshan-2023", "--out", str(out), "--quiet"])
    assert rc == 0
    cov = pd.read_csv(out / "coverage.csv", dtype={"county": str, "township": str})
    top = cov[cov["level"] == "all"].set_index("rule_id")
    shipped = set(load_rules("baoshan-2023").rule_ids)
    expected = {"elderly-care-every-site": (99, "47.1%"), "children-home-every-site": (119, "56.7%"),
                "cemetery-every-site": (132, "62.9%")}
    for rule_id, (covered, share) in expected.items():
        assert rule_id in shipped
        row = top.loc[rule_id]
        # the denominator is every one of the 210 sites, as in the reply
        assert (row["sites_required"], row["sites_covered"]) == (210, covered)
        assert f"{row['share_sites']:.1%}" == share
    # the large-site rules apply to the 16 large sites only
    assert top.loc["workshop-large", "sites_required"] == 16


# --------------------------------------------------------------------------------------
# docs/policy-rules.md: requirement -> rule id -> clause -> grade
# --------------------------------------------------------------------------------------


def test_docs_table_is_up_to_date_with_the_presets() -> None:
    text = (DOCS / "policy-rules.md").read_text(encoding="utf-8")
    start, end = text.index(TABLE_START), text.index(TABLE_END) + len(TABLE_END) + 1
    assert text[start:end] == requirements_markdown(), (
        "docs/policy-rules.md is out of date: paste the output of "
        "`python -m analysis.rules.requirements` between its requirements-table markers")


def test_every_policy_requirement_is_a_rule_or_says_why_not() -> None:
    text = (DOCS / "policy-rules.md").read_text(encoding="utf-8")
    section = text[text.index("## 1. Scale-threshold rules"):text.index("### How each")]
    policy_ids = {line.split("|")[1].strip() for line in section.splitlines()
                  if line.startswith("| ") and not line.startswith(("| id ", "|---"))}
    assert "admin-10000" in policy_ids and len(policy_ids) == 15
    by_id = {r.id: r for r in REQUIREMENTS}
    assert policy_ids <= set(by_id)
    for req in REQUIREMENTS:
        assert req.rule_ids or req.reason, req.id
    table = requirements_markdown()
    for req in REQUIREMENTS:
        if not req.rule_ids and not req.elsewhere:
            assert f"| {req.id} |" in table and f"{NOT_CHECKABLE}: {req.reason}" in table


def test_the_table_names_only_shipped_rules_and_every_shipped_rule() -> None:
    shipped = {r.id: r for name in preset_names() for r in load_rules(name)}
    named = {rid for req in REQUIREMENTS for rid in req.rule_ids}
    assert named <= set(shipped)
    assert set(shipped) <= named
    table = requirements_markdown()
    for rid in named:
        r = shipped[rid]
        assert f"`{rid}`" in table and f"{r.source_id} {r.clause} | {r.grade} |" in table


# --------------------------------------------------------------------------------------
# Capacity norms in the documents' words: ranges and 一室一警
# --------------------------------------------------------------------------------------


def _police_rule(capacity: dict[str, object]) -> dict[str, object]:
    return {"name": "t", "version": "1", "rules": [{
        "id": "p", "facility_type": "警务室", "applies": {"min_population": 800},
        "satisfied_by": {"at_site": True}, "capacity": {"demand": "population", **capacity},
        "source": "baoshan-civil-2021", "clause": "三", "grade": "A"}]}


@pytest.mark.parametrize("word", ["unlimited", "不限", "None"])
def test_unlimited_per_unit_reads_and_writes_as_a_word(word: str) -> None:
    from analysis.rules import parse_rules

    rs = parse_rules(_police_rule({"max_per_unit": word}), source="t.yaml")
    cap = rs.get("p").capacity
    assert cap is not None and cap.unlimited
    assert rs.get("p").to_dict()["capacity"]["max_per_unit"] == "unlimited"
    assert parse_rules(rs.to_dict(), source="again").get("p") == rs.get("p")
    assert "1,000,000,000" not in cap.describe("zh") + cap.describe("en")


def test_police_3000_file_has_no_stand_in_number() -> None:
    text = (Path(__file__).resolve().parents[2] / "analysis" / "rules"
            / "guizhou-2019.yaml").read_text(encoding="utf-8")
    assert "1000000000" not in text and "max_per_unit: unlimited" in text
    cap = load_rules("guizhou-2019").get("police-3000").capacity
    assert cap is not None and "一室多警" in cap.note


def test_range_must_be_ordered_and_an_override_below_it_drops_it() -> None:
    from anzhi.core.errors import InputError
    from analysis.rules import parse_rules

    with pytest.raises(InputError, match="min_per_unit must not exceed max_per_unit"):
        parse_rules(_police_rule({"min_per_unit": 6000, "max_per_unit": 5000}), source="t.yaml")
    rs = load_rules("baoshan-2023")
    strict = rs.with_overrides({"police-ratio.max_per_unit": "2000"}).get("police-ratio").capacity
    assert strict is not None and (strict.min_per_unit, strict.max_per_unit) == (None, 2000)
    kept = rs.with_overrides({"police-ratio.max_per_unit": 4000}).get("police-ratio").capacity
    assert kept is not None and (kept.min_per_unit, kept.max_per_unit) == (3000, 4000)
    assert kept.describe("en") == ("3,000–4,000 people per officer, i.e. ≤ 4,000 people per "
                                   "officer")


def test_grades_and_clauses_corrected() -> None:
    b = load_rules("baoshan-2023")
    assert b.get("employment-800").grade == "B" and b.get("employment-800").adjustable
    assert "之附件2 第(十九)条" in b.get("kindergarten-scale").clause
    assert "之附件2" in b.get("police-800").clause
    assert load_rules("default").get("employment-800").grade == "B"
    g = load_rules("guizhou-2019").get("admin-10000")
    assert (g.facility_type, g.applies.min_population, g.applies.kind) == (
        "sub_district_office", 10000, "城镇")
