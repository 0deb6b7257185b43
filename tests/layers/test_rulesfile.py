"""layers.rulesfile: reading rule sets from presets and the user's YAML files."""

from __future__ import annotations

from pathlib import Path

import pytest

from anzhi.core.errors import DataSourceError, InputError
from analysis.rules import load_rules
from layers.rulesfile import read_rules

MINE = """\
name: my-county
version: "2025.2"
description: 县里自己的规则
rules:
  - id: police-1000
    facility_type: 警务室
    applies: {min_population: 1000}
    satisfied_by: {at_site: {radius_m: 200}}
    source: "县公安局 2025 通知"
    clause: "二(三)"
    grade: B
"""


def test_preset_by_name() -> None:
    assert read_rules("default") == load_rules("default")
    assert read_rules().rule_ids[:3] == ["health-every-site", "police-800", "police-3000"]
    for name in ("guizhou-2019", "baoshan-2023", "gb50180-2018"):
        assert read_rules(name) == load_rules(name) and read_rules(name).name == name


def test_own_file(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(MINE, encoding="utf-8")
    for arg in (path, str(path)):
        rs = read_rules(arg)
        assert rs.name == "my-county" and rs.origin == "mine.yaml"
        r = rs.get("police-1000")
        assert r.facility_type == "police_room" and r.satisfied_by.at_site is not None
        assert r.satisfied_by.at_site.radius_m == 200
        assert r.label_zh  # defaulted from the vocabulary


def test_file_with_bom(tmp_path: Path) -> None:
    path = tmp_path / "bom.yml"
    path.write_text(MINE, encoding="utf-8-sig")
    assert read_rules(path).name == "my-county"


def test_invalid_file_names_file_and_rule(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(MINE.replace("grade: B", "grade: Z"), encoding="utf-8")
    with pytest.raises(InputError, match=r"bad.yaml.*rule 'police-1000'.*grade 'Z'"):
        read_rules(path)


def test_missing_file_and_unknown_name(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="rule file not found"):
        read_rules(tmp_path / "nope.yaml")
    with pytest.raises(InputError, match="neither a packaged rule set nor a file.*default"):
        read_rules("guizhou-1999")
    with pytest.raises(InputError, match="not a folder"):
        read_rules(tmp_path)


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "gbk.yaml"
    path.write_bytes(MINE.encode("gbk"))
    with pytest.raises(DataSourceError, match="not UTF-8"):
        read_rules(path)
