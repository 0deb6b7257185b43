"""Installing Anzhi: no Node needed, the map's libraries inside the package, pinned versions,
a run-only conda environment, and blank input templates that the readers read back."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import openpyxl
import pytest
import yaml

from anzhi.core.errors import DataSourceError
from anzhi.ui.webassets import VENDOR_FILES, deploy_assets, missing_assets, packaged_vendor_dir
from layers.facilities import read_facilities
from layers.sites import read_sites
from layers.templates import TEMPLATE_NAMES, template_bytes

REPO = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0].strip().lower().replace("_", "-")


def test_make_run_and_test_never_call_node() -> None:
    # -B: every target is out of date, so the whole recipe chain of a fresh clone is printed
    for target in ("run", "test", "install-test", "gaps"):
        out = subprocess.run(["make", "-n", "-B", target], cwd=REPO, capture_output=True,
                             text=True, check=True).stdout
        assert "webassets deploy" in out or target == "gaps", target
        assert not re.search(r"\b(npm|node|npx)\b", out), (target, out)
    # only the refresh target uses npm
    assert "npm ci" in subprocess.run(["make", "-n", "-B", "assets"], cwd=REPO, capture_output=True,
                                      text=True, check=True).stdout
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert "nodejs" not in ci and "npm" not in ci.split("set -euo")[1]


def test_shipped_assets_are_complete_and_deploy_atomically(tmp_path: Path) -> None:
    vendor = packaged_vendor_dir()
    assert not [rel for rel in VENDOR_FILES if not (vendor / rel).exists()]
    assert (vendor / "manifest.json").exists()
    static = tmp_path / "static"
    assert missing_assets(static) == list(VENDOR_FILES)
    deploy_assets(static)
    assert missing_assets(static) == []
    js = (static / "vendor" / "leaflet" / "leaflet.js").read_bytes()
    assert js == (vendor / "leaflet" / "leaflet.js").read_bytes() and b"Leaflet" in js[:400]
    # a broken shipped copy is refused, naming what is missing, and the served copy stays whole
    broken = tmp_path / "broken"
    (broken / "leaflet").mkdir(parents=True)
    with pytest.raises(DataSourceError, match="leaflet/leaflet.js"):
        deploy_assets(static, source=broken)
    assert missing_assets(static) == []


@pytest.mark.slow
def test_wheel_carries_the_map_assets_and_labels(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(tmp_path),
                    str(REPO)], check=True, capture_output=True)
    wheel = next(tmp_path.glob("anzhi-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for rel in VENDOR_FILES:
        prefix = f"anzhi/ui/vendor/{rel}"
        assert any(n == prefix or n.startswith(prefix + "/") for n in names), rel
    assert "anzhi/ui/labels.toml" in names
    assert "analysis/rules/default.yaml" in names


def test_constraints_pin_every_declared_dependency() -> None:
    pins = {}
    for line in (REPO / "constraints.txt").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"constraints.txt: {line!r} is not pinned with =="
            pins[_name(name)] = version
    project = PYPROJECT["project"]
    declared = list(project["dependencies"])
    for extra in ("test", "notebooks"):
        declared += project["optional-dependencies"][extra]
    missing = sorted({_name(r) for r in declared} - set(pins))
    assert not missing, f"add to constraints.txt (make constraints): {missing}"
    assert "anzhi" not in pins


def test_python_range_matches_the_classifiers() -> None:
    project = PYPROJECT["project"]
    versions = [c.rsplit(":: ", 1)[1] for c in project["classifiers"]
                if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)]
    assert versions, "state the tested Python versions as classifiers"
    assert project["requires-python"] == f">={versions[0]}"
    assert f"{sys.version_info.major}.{sys.version_info.minor}" in versions


def test_environment_yml_runs_anzhi_and_leaves_tests_apart() -> None:
    env = yaml.safe_load((REPO / "environment.yml").read_text(encoding="utf-8"))
    conda = {_name(d) for d in env["dependencies"] if isinstance(d, str)} - {"python", "pip"}
    conda_to_pip = {"pyosmium": "osmium"}
    run = {_name(r) for r in PYPROJECT["project"]["dependencies"]}
    assert {conda_to_pip.get(n, n) for n in conda} == run
    test_only = {_name(r) for r in PYPROJECT["project"]["optional-dependencies"]["test"]}
    assert not conda & test_only and "nodejs" not in conda


@pytest.mark.parametrize("kind", list(TEMPLATE_NAMES))
def test_committed_templates_are_what_the_readers_define(kind: str, tmp_path: Path) -> None:
    committed = REPO / "templates" / TEMPLATE_NAMES[kind]
    fresh = tmp_path / TEMPLATE_NAMES[kind]
    fresh.write_bytes(template_bytes(kind))  # type: ignore[arg-type]

    def cells(path: Path) -> dict[str, list[tuple[object, ...]]]:
        wb = openpyxl.load_workbook(path, read_only=True)
        return {ws.title: list(ws.iter_rows(values_only=True)) for ws in wb.worksheets}

    assert cells(committed) == cells(fresh), (
        f"{committed} is out of date: run `python -m layers.templates templates`")


def test_templates_read_back_with_the_readers() -> None:
    sites = read_sites(REPO / "templates" / TEMPLATE_NAMES["sites"])
    assert len(sites) == 1
    row = sites.iloc[0]
    assert (row.site_id, row.population, row.county, row.township, bool(row.has_clinic)) == (
        "S001", 512, "示例县", "示例镇", True)
    # the example is GCJ-02 (its 坐标系 column): read as WGS84 it moves by the usual few hundred m
    lon_gcj, lat_gcj = 106.712345, 26.578901
    assert 100 < abs(row.geometry.x - lon_gcj) * 1e5 + abs(row.geometry.y - lat_gcj) * 1e5 < 1500
    facilities = read_facilities(REPO / "templates" / TEMPLATE_NAMES["facilities"])
    assert facilities["facility_type"].tolist() == ["clinic"] and len(facilities) == 1
    wb = openpyxl.load_workbook(REPO / "templates" / TEMPLATE_NAMES["sites"], read_only=True)
    assert wb.sheetnames == ["安置点", "填表说明", "设施类型"]
    notes = list(wb["填表说明"].iter_rows(values_only=True))
    assert ("人数", "必填") == notes[[r[0] for r in notes].index("人数")][:2]


def test_readme_links_the_templates_and_the_no_node_install() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for name in TEMPLATE_NAMES.values():
        assert f"templates/{name}" in readme
    assert "make notebooks" in readme and "constraints.txt" in readme
