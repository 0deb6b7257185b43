"""anzhi.ui.i18n: the label catalogue (labels.toml) is complete in both languages."""

from __future__ import annotations

import string
from pathlib import Path

import pytest

from anzhi.ui.i18n import (
    COVERAGE_TABLE_COLUMNS,
    GAP_TABLE_COLUMNS,
    LABELS_FILE,
    LANGS,
    STATUSES,
    column_labels,
    read_catalogue,
    status_label,
    t,
)


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def test_every_label_has_both_languages_and_the_same_placeholders() -> None:
    catalogue = read_catalogue(LABELS_FILE)
    assert set(catalogue) == {"text", "status", "gap_table_columns", "coverage_table_columns"}
    for key in catalogue["text"]:
        texts = [t(key, lang) for lang in LANGS]
        assert all(texts), key
        assert _fields(texts[0]) == _fields(texts[1]), key
    assert t("up_limit", "en").format(mb=50) == "at most 50 MB"


def test_statuses_and_headers_come_from_the_catalogue() -> None:
    assert {s: status_label(s, "en") for s in STATUSES}["gap_missing"] == "Gap: none within reach"
    assert status_label("odd_status", "zh") == "odd_status"
    assert column_labels(GAP_TABLE_COLUMNS, "zh")["site_name"] == "安置点名称"
    assert list(column_labels(COVERAGE_TABLE_COLUMNS, "en"))[:2] == ["county", "township"]
    with pytest.raises(ValueError, match="unknown language 'fr'"):
        t("title", "fr")


def test_a_label_missing_a_language_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "labels.toml"
    bad.write_text('[text]\ntitle.zh = "标题"\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"\[text\] title has languages \['zh'\]; give exactly zh, en"):
        read_catalogue(bad)
