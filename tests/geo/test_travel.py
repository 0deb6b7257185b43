"""Travel profiles (geo.travel): the shipped YAML files, user files, validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from anzhi.core.errors import DataSourceError, InputError
from anzhi.core.settings import override
from geo.travel import Profile, load_profile, profile_names


# --------------------------------------------------------------------------- profiles


def test_shipped_profiles() -> None:
    assert {"walk", "drive", "motorbike"} <= set(profile_names())
    walk, drive, moto = load_profile("walk"), load_profile("drive"), load_profile("motorbike")
    assert walk.respect_oneway is False and drive.respect_oneway is True
    assert walk.speed_kph("residential") == pytest.approx(4.5)
    assert walk.speed_kph("motorway") is None
    assert walk.speed_kph("some_new_class") == pytest.approx(4.5)  # default
    assert drive.speed_kph("footway") is None
    assert drive.speed_kph("primary") == pytest.approx(60.0)
    assert drive.offroad_speed_kph == pytest.approx(4.5)
    # a motorbike keeps off expressways and footpaths, respects oneway, rides tracks faster
    # than a car and walks its off-road legs
    assert moto.respect_oneway is True and moto.slope_aware is False
    assert moto.speed_kph("motorway") is None and moto.speed_kph("footway") is None
    assert moto.speed_kph("track") > drive.speed_kph("track")
    assert moto.speed_kph("primary") <= drive.speed_kph("primary")
    assert moto.offroad_speed_kph == pytest.approx(4.5)
    for prof in (walk, drive, moto):
        assert set(prof.sources) == set(prof.speeds_kph)  # every class cites its source
        for cls, speed in prof.speeds_kph.items():
            assert speed is None or speed > 0, cls
            if prof.grades[cls] == "C":
                assert "default" in prof.sources[cls] or speed is None, cls
    assert "JTG B01-2014" in drive.sources["tertiary"]


def test_walk_speed_follows_settings() -> None:
    with override(walk_speed_kph=3.6):
        walk = load_profile("walk")
        drive = load_profile("drive")
    assert walk.speed_kph("track") == pytest.approx(3.6)
    assert walk.offroad_speed_kph == pytest.approx(3.6)
    assert drive.offroad_speed_kph == pytest.approx(3.6)
    assert walk != load_profile("walk")


def test_profile_from_file_allows_unknown_classes(tmp_path: Path) -> None:
    path = tmp_path / "moto.yaml"
    path.write_text(
        "name: motorbike\nrespect_oneway: true\noffroad_speed_kph: 4\nspeeds_kph:\n"
        "  default: {speed: 25, source: default}\n  hovercraft_lane: {speed: 7, source: default}\n",
        encoding="utf-8",
    )
    prof = load_profile(path)
    assert prof.name == "motorbike" and prof.speed_kph("hovercraft_lane") == 7.0
    assert prof.offroad_speed_kph == 4.0 and hash(prof) == hash(load_profile(str(path)))


def test_profile_missing_default(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("name: x\nspeeds_kph:\n  primary: {speed: 50, source: default}\n", encoding="utf-8")
    with pytest.raises(InputError, match="no 'default' entry"):
        load_profile(path)


def test_profile_collects_every_problem(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(
        "name: x\nspeed: 3\noffroad_speed_kph: -1\nspeeds_kph:\n"
        "  default: {speed: null, source: default}\n  primary: {speed: fast, source: default}\n"
        "  track: {speed: 10}\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError, match="5 problems") as info:
        load_profile(path)
    text = str(info.value)
    for part in ("unknown key(s) speed", "offroad_speed_kph", "speeds_kph.default.speed",
                 "speeds_kph.primary.speed", "speeds_kph.track has no 'source'"):
        assert part in text


def test_profile_unknown_name() -> None:
    with pytest.raises(InputError, match="unknown travel profile 'bicycle'.*drive, motorbike, walk"):
        load_profile("bicycle")


def test_profile_bad_yaml(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("name: [unclosed\n", encoding="utf-8")
    with pytest.raises(DataSourceError, match="not valid YAML"):
        load_profile(path)


def test_profile_is_a_value() -> None:
    assert isinstance(load_profile("walk"), Profile)
    assert load_profile("walk") == load_profile("walk")
    assert load_profile("walk") != load_profile("drive")
