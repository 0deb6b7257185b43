"""``anzhi.core.files``: atomic writes, and outputs kept apart from inputs (issue 18.4)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from anzhi.core.errors import InputError
from anzhi.core.files import atomic_write, check_outputs_apart


@pytest.fixture
def sites(tmp_path: Path) -> Path:
    path = tmp_path / "sites.csv"
    path.write_bytes(b"site_id,lon,lat\nA,99.2,24.7\n")
    return path


def test_distinct_paths_pass(tmp_path: Path, sites: Path) -> None:
    check_outputs_apart([tmp_path / "access.csv"], [sites, None])
    check_outputs_apart([], [sites], folder_files={tmp_path / "out": ["sites.csv"]})
    # the output folder may hold inputs, as long as the run writes none of their names
    check_outputs_apart([], [sites], folder_files={tmp_path: ["gaps.csv"]})


def test_the_same_file_however_spelt_is_refused(tmp_path: Path, sites: Path) -> None:
    link = tmp_path / "link.csv"
    link.symlink_to(sites)
    hard = tmp_path / "hard.csv"
    os.link(sites, hard)
    spelt = tmp_path / "sub" / ".." / "sites.csv"
    for out in (sites, link, hard, spelt):
        with pytest.raises(InputError, match=rf"output {out} is also an input \({sites}\).*"
                                             r"choose another --out path"):
            check_outputs_apart([out], [sites])


def test_a_not_yet_existing_output_through_a_linked_folder_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (tmp_path / "alias").symlink_to(data)
    dem = data / "dem.tif"  # input named but not there yet: compared by its resolved path
    with pytest.raises(InputError, match="is also an input"):
        check_outputs_apart([tmp_path / "alias" / "dem.tif"], [dem])


def test_an_output_folder_that_would_replace_an_input_is_refused(tmp_path: Path,
                                                                 sites: Path) -> None:
    with pytest.raises(InputError, match=rf"output {tmp_path / 'sites.csv'} is also an input"):
        check_outputs_apart([], [sites], folder_files={tmp_path: ["gaps.csv", "sites.csv"]})
    with pytest.raises(InputError, match=rf"output folder {sites} is also an input.*"
                                         "not an input file"):
        check_outputs_apart([], [sites], folder_files={sites: ["gaps.csv"]})


def test_an_output_inside_an_input_folder_is_refused(tmp_path: Path) -> None:
    shapes = tmp_path / "facilities_shp"
    shapes.mkdir()
    (shapes / "facilities.shp").write_bytes(b"")
    with pytest.raises(InputError, match=rf"lies inside the input folder {shapes}"):
        check_outputs_apart([shapes / "access.csv"], [shapes])
    with pytest.raises(InputError, match="lies inside the input folder"):
        check_outputs_apart([], [shapes], folder_files={shapes / "out": ["gaps.csv"]})


def test_every_clash_is_listed_once(tmp_path: Path, sites: Path) -> None:
    dem = tmp_path / "dem.tif"
    dem.write_bytes(b"II*\x00")
    with pytest.raises(InputError, match=r"(?s)2 problems.*sites\.csv.*dem\.tif") as info:
        check_outputs_apart([sites, dem], [sites, dem])
    assert len(info.value.problems) == 2


def test_two_outputs_that_are_one_file_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="are one file: the second would replace the first"):
        check_outputs_apart([tmp_path / "s.tif", tmp_path / "." / "s.tif"], [])


def test_the_check_changes_nothing(tmp_path: Path, sites: Path) -> None:
    before = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(InputError):
        check_outputs_apart([sites], [sites], folder_files={tmp_path / "new": ["a.csv"]})
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert sites.read_bytes() == b"site_id,lon,lat\nA,99.2,24.7\n"


def test_atomic_write_keeps_the_old_file_when_the_writer_fails(tmp_path: Path) -> None:
    target = tmp_path / "gaps.csv"
    target.write_text("old")

    def broken(tmp: Path) -> None:
        tmp.write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        atomic_write(target, broken)
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gaps.csv"]
