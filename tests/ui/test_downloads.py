"""anzhi.ui.downloads: the CLI's files of a run, as bytes for the download buttons."""

from __future__ import annotations

from pathlib import Path

from anzhi.pipeline import RegionInputs, RegionResults, evaluate_region, load_region, read_rules, route_region
from anzhi.ui.downloads import DOWNLOAD_FILES, download_files, mime_type


def test_mime_types() -> None:
    assert mime_type("gaps.csv") == "text/csv"
    assert mime_type("gaps.xlsx").endswith("spreadsheetml.sheet")
    assert mime_type("gaps.gpkg") == "application/geopackage+sqlite3"
    assert mime_type("notes.txt") == "application/octet-stream"


def test_download_files_are_the_written_outputs(demo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data = load_region(RegionInputs.demo())
    rules = read_rules("default")
    access = route_region(data, profile="walk", progress=False)
    gaps, coverage = evaluate_region(data, access, rules)
    results = RegionResults(data=data, rules=rules, profile="walk", access=access, gaps=gaps,
                            coverage=coverage)
    files = download_files(results, tmp_path, lang="en")
    assert list(files) == [n for n in DOWNLOAD_FILES if n in files]
    assert {"gaps.xlsx", "gaps.csv", "coverage.csv", "gaps.gpkg"} <= set(files)
    for name, content in files.items():
        assert (tmp_path / name).read_bytes() == content
