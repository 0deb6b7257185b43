"""analysis.rules.documents: every rule cites a registered document by its title."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

import pytest

from anzhi.core.errors import InputError
from analysis.rules import Rule, document, documents, load_rules, parse_rules, preset_names

REPO = Path(__file__).resolve().parents[2]
#: A seed file name (``004_758abde250e123ca.txt``): it belongs in docs/sources.md only.
SEED_NAME = re.compile(r"\d{3}_[0-9a-f]{16}\.txt")
CJK = re.compile(r"[\u4e00-\u9fff]")


def _citations(rule: Rule) -> list[tuple[str, str | None, str]]:
    """(what, document id, Chinese citation) of the rule and of its reach and capacity."""
    out = [(rule.id, rule.source_id, rule.source)]
    wr, cap = rule.satisfied_by.within_reach, rule.capacity
    if wr is not None and wr.source is not None:
        out.append((f"{rule.id} within_reach", wr.source_id, wr.source))
    if cap is not None and cap.source is not None:
        out.append((f"{rule.id} capacity", cap.source_id, cap.source))
    return out


@pytest.mark.parametrize("preset", preset_names())
def test_every_preset_source_is_a_registered_document(preset: str) -> None:
    docs = documents()
    for r in load_rules(preset):
        for what, doc_id, zh in _citations(r):
            assert doc_id in docs, f"{preset} {what}: source is not a registered document"
            doc = docs[doc_id]
            assert CJK.search(doc.title_zh) and CJK.search(doc.issuer_zh), doc_id
            assert zh == doc.cite("zh") and zh.startswith(doc.issuer_zh)
        assert r.source_text("en") == docs[str(r.source_id)].cite("en")
        assert CJK.search(r.clause), f"{preset} {r.id}: the clause must be Chinese"


@pytest.mark.parametrize("preset", preset_names())
def test_no_seed_file_name_in_any_rule(preset: str) -> None:
    text = resources.files("analysis.rules").joinpath(f"{preset}.yaml").read_text("utf-8")
    assert not SEED_NAME.search(text)
    for r in load_rules(preset):
        assert not SEED_NAME.search(repr(r)), r.id
    registry = resources.files("analysis.rules").joinpath("registry/documents.yaml").read_text("utf-8")
    assert not SEED_NAME.search(registry)


def test_english_titles_are_english() -> None:
    for doc in documents().values():
        assert not CJK.search(doc.title_en) and not CJK.search(doc.issuer_en), doc.id
        assert doc.title_en in doc.cite("en") and doc.issuer_en in doc.cite("en")


def test_citations_carry_the_doc_number_only_where_the_text_has_one() -> None:
    dazhou, guizhou = document("dazhou-2019"), document("guizhou-2019")
    assert dazhou.cite("zh") == ("达州市人民政府办公室《关于开展易地扶贫搬迁“提质增效”攻坚行动的通知》"
                                 "(达市府办函〔2019〕30号,2019年)")
    assert dazhou.cite("en").endswith("(达市府办函〔2019〕30号, 2019)")
    assert guizhou.doc_no is None and guizhou.date is None  # the text states neither
    assert guizhou.cite("zh") == ("中共贵州省委 贵州省人民政府《关于加强和完善易地扶贫搬迁后续工作的意见》"
                                  "(2019年)")
    # a title quoted inside a title takes 〈〉, never 《《》》
    reply = document("baoshan-civil-2021").cite("zh")
    assert reply.count("《") == 1 and "〈关于加强易地扶贫搬迁安置点社会治理助力乡村振兴的建议〉" in reply


def test_doc_numbers_are_in_the_seed_texts() -> None:
    seeds = REPO.parent / "shared" / "seeds"
    if not seeds.is_dir():
        pytest.skip("shared/seeds is absent")
    texts = "".join(p.read_text(encoding="utf-8") for p in seeds.glob("*.txt"))
    for doc in documents().values():
        if doc.kind == "policy":
            assert doc.issuer_zh.split()[0] in texts, doc.id
            if doc.doc_no:
                assert doc.doc_no in texts, doc.id
            if doc.date:
                y, m, d = doc.date.split("-")
                assert doc.date in texts or f"{y}年{int(m)}月{int(d)}日" in texts, doc.id


def test_unknown_document_id() -> None:
    with pytest.raises(InputError, match="no registered document 'guizhou-2109'.*guizhou-2019"):
        document("guizhou-2109")


def _rule(source: str) -> dict[str, object]:
    return {"id": "p-800", "facility_type": "police_room", "applies": {"min_population": 800},
            "satisfied_by": {"at_site": True}, "source": source, "clause": "三", "grade": "A"}


def test_free_text_source_is_kept_and_a_mistyped_id_is_refused() -> None:
    rs = parse_rules({"name": "mine", "version": "1", "rules": [_rule("县政府 2024 会议纪要")]},
                     source="mine.yaml")
    r = rs.get("p-800")
    assert (r.source, r.source_id, r.source_text("en")) == ("县政府 2024 会议纪要", None,
                                                            "县政府 2024 会议纪要")
    assert parse_rules(rs.to_dict(), source="again").rules == rs.rules
    with pytest.raises(InputError, match=r"mine\.yaml.*'guizhou-2109' is not a registered "
                                         r"document.*guizhou-2019"):
        parse_rules({"name": "mine", "version": "1", "rules": [_rule("guizhou-2109")]},
                    source="mine.yaml")


def test_a_registered_source_round_trips_as_its_id() -> None:
    rs = parse_rules({"name": "mine", "version": "1", "rules": [_rule("dazhou-2019")]},
                     source="mine.yaml")
    assert rs.to_dict()["rules"][0]["source"] == "dazhou-2019"
    assert "达市府办函〔2019〕30号" in rs.get("p-800").source


def _sources_table() -> dict[str, dict[str, str]]:
    """docs/sources.md's table, row by document id."""
    lines = (REPO / "docs" / "sources.md").read_text(encoding="utf-8").splitlines()
    rows = [line.strip().strip("|").split("|") for line in lines if line.startswith("|")]
    header = [c.strip() for c in rows[0]]
    assert header[:7] == ["id", "issuer", "Chinese title", "English title", "文号", "date",
                          "seed file"]
    return {cells[0].strip(): dict(zip(header, (c.strip() for c in cells), strict=True))
            for cells in rows[2:]}


def test_sources_md_lists_every_registered_document() -> None:
    table = _sources_table()
    assert set(table) == set(documents())
    for doc_id, doc in documents().items():
        row = table[doc_id]
        assert row["issuer"] == doc.issuer_zh
        assert row["Chinese title"].startswith(doc.title_zh)
        assert row["English title"] == doc.title_en
        if doc.doc_no:
            assert row["文号"].startswith(doc.doc_no)
    seeds = {row["seed file"].strip("`") for row in table.values()} - {"—"}
    assert len(seeds) == 5 and all(SEED_NAME.fullmatch(s) for s in seeds)


def test_policy_rules_live_in_the_repo() -> None:
    text = (REPO / "docs" / "policy-rules.md").read_text(encoding="utf-8")
    assert "seeds/" not in text and "sources.md" in text
    assert "police-3000" in text and "贵州 2019, 三(四)19" in text
    for p in resources.files("analysis.rules").iterdir():
        if p.name.endswith((".py", ".yaml")):
            assert "POLICY-RULES.md" not in p.read_text(encoding="utf-8"), p.name


def test_police_3000_has_no_per_officer_limit() -> None:
    cap = load_rules("guizhou-2019").get("police-3000").capacity
    assert cap is not None and cap.unlimited
    assert cap.describe("zh") == "至少 1 名民警,不限每名民警服务人数"
    assert cap.describe("en") == "at least one officer, no per-officer limit"
    ratio = load_rules("baoshan-2023").get("police-ratio").capacity
    assert ratio is not None and not ratio.unlimited
    # 保山民政 2021 三: the documented range 3,000-5,000, the upper end decides
    assert ratio.describe("zh") == "每名民警 3,000–5,000 人,即每名民警 ≤ 5,000 人"
    assert (ratio.min_per_unit, ratio.max_per_unit) == (3000, 5000)
