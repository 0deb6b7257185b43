"""Travel profiles: the speed (km/h) of each OSM highway class for one way of travelling.

A profile is read from ``geo/profiles/<name>.yaml`` (shipped: :func:`profile_names`) or from
a user's YAML file of the same layout by :func:`load_profile`, which checks every entry and
reports all problems at once.  :meth:`geo.roads.RoadGraph.from_networkx` and
:func:`geo.osmgraph.road_graph_from_ways` turn a road network into travel times with it.
(The module is not called ``profiles``: ``geo/profiles/`` is the folder of the YAML files.)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from anzhi.core.errors import DataSourceError, InputError, ProblemCollector
from anzhi.core.settings import get_settings

__all__ = ["Profile", "load_profile", "profile_names"]


@dataclass(frozen=True)
class Profile:
    """A travel profile: speed per OSM highway class.

    Attributes
    ----------
    name
        Profile name, e.g. ``"walk"``.
    speeds_kph
        Speed in km/h per highway class; ``None`` means the class is not usable by this
        profile (e.g. footways when driving).  Always has a usable ``"default"`` entry for
        classes not listed.
    offroad_speed_kph
        Speed (km/h) of the off-road legs between a point and the road; walked in every
        shipped profile.
    respect_oneway
        ``True`` to travel oneway streets in their direction only (driving); ``False`` to
        use every road both ways (walking).
    sources
        Source note per highway class (``"default: …"`` marks a planning default).
    grades
        Evidence grade per highway class (A/B/C as in docs/policy-rules.md).
    description
        One line for people.
    slope_aware
        ``True`` for walking profiles whose road times may be scaled by Tobler's hiking
        function from a DEM (:func:`geo.tobler.with_slope_times`); ``False`` (default) for
        profiles whose speeds do not depend on slope (driving).
    """

    name: str
    speeds_kph: Mapping[str, float | None]
    offroad_speed_kph: float
    respect_oneway: bool
    sources: Mapping[str, str]
    grades: Mapping[str, str]
    description: str = ""
    slope_aware: bool = False

    def speed_kph(self, highway: str) -> float | None:
        """Speed (km/h) on one highway class, the ``default`` entry for unlisted classes.

        Returns ``None`` when the class is not usable by this profile.
        """
        if highway in self.speeds_kph:
            return self.speeds_kph[highway]
        return self.speeds_kph["default"]

    def __hash__(self) -> int:
        return hash(
            (
                self.name,
                tuple(sorted(self.speeds_kph.items())),
                self.offroad_speed_kph,
                self.respect_oneway,
                self.slope_aware,
            )
        )


def profile_names() -> list[str]:
    """Names of the profiles shipped in ``geo/profiles`` (e.g. ``["drive", "walk"]``)."""
    folder = resources.files("geo.profiles")
    return sorted(p.name[: -len(".yaml")] for p in folder.iterdir() if p.name.endswith(".yaml"))


_PROFILE_KEYS = {
    "name", "description", "respect_oneway", "offroad_speed_kph", "speeds_kph", "slope_aware",
}


def _speed_value(
    value: Any, *, where: str, pc: ProblemCollector, walk_kph: float, allow_none: bool
) -> float | None:
    """Validate one speed: a positive number, ``"walk"`` or (if allowed) ``None``."""
    if value is None and allow_none:
        return None
    if isinstance(value, str) and value.strip().lower() == "walk":
        return float(walk_kph)
    if isinstance(value, bool) or not isinstance(value, int | float):
        allowed = 'a positive number of km/h, "walk"' + (" or null" if allow_none else "")
        pc.add(f"{where} must be {allowed}", value=value, fix=f"write {allowed}")
        return None
    if not (math.isfinite(value) and value > 0):
        pc.add(f"{where} must be a positive speed in km/h", value=value,
               fix="write a speed > 0, or null to forbid the class")
        return None
    return float(value)


def _flag(data: Mapping[str, Any], key: str, *, pc: ProblemCollector, fix: str) -> bool:
    """A true/false entry of the profile (default false); a problem for any other value."""
    value = data.get(key, False)
    if isinstance(value, bool):
        return value
    pc.add(f"'{key}' must be true or false", value=value, fix=fix)
    return False


def _profile_yaml(name_or_path: str | Path) -> tuple[str, Any]:
    """(label for messages, parsed YAML) of a shipped profile name or a profile file."""
    text_name = str(name_or_path)
    shipped = profile_names()
    if isinstance(name_or_path, str) and text_name in shipped:
        label = f"profile {text_name!r}"
        text = (resources.files("geo.profiles") / f"{text_name}.yaml").read_text(encoding="utf-8")
    else:
        path = Path(name_or_path)
        label = path.name
        if not path.is_file():
            raise InputError(
                f"unknown travel profile {text_name!r}: not a shipped profile "
                f"({', '.join(shipped)}) and no such file; give one of those names or the "
                "path of a profile YAML file"
            )
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise DataSourceError(f"cannot read profile file {path}: {exc}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise DataSourceError(f"{label} is not valid YAML: {exc}") from exc
    return label, data


def _speed_table(
    table: Any, *, pc: ProblemCollector, walk_kph: float
) -> tuple[dict[str, float | None], dict[str, str], dict[str, str]]:
    """Speeds (km/h, ``None`` = not usable), source notes and grades per class of ``speeds_kph``."""
    speeds: dict[str, float | None] = {}
    sources: dict[str, str] = {}
    grades: dict[str, str] = {}
    if not isinstance(table, dict) or not table:
        pc.add("'speeds_kph' is missing or not a mapping of highway class → {speed, source}",
               value=table, fix="see geo/profiles/walk.yaml for the layout")
        table = {}
    for key, entry in table.items():
        cls = str(key)
        where = f"speeds_kph.{cls}"
        if not isinstance(entry, dict):
            pc.add(f"{where} must be a mapping {{speed: ..., source: ...}}", value=entry,
                   fix=f"write {cls}: {{speed: 20, source: \"default\"}}")
            continue
        extra = sorted(set(map(str, entry)) - {"speed", "source", "grade"})
        if extra:
            pc.add(f"{where} has unknown key(s) {', '.join(extra)}", fix="allowed: speed, source, grade")
        if "speed" not in entry:
            pc.add(f"{where} has no 'speed'", fix="add speed: <km/h>, \"walk\" or null")
            continue
        speeds[cls] = _speed_value(entry["speed"], where=f"{where}.speed", pc=pc, walk_kph=walk_kph,
                                   allow_none=cls != "default")
        source = entry.get("source")
        if not isinstance(source, str) or not source.strip():
            pc.add(f"{where} has no 'source' note", value=source,
                   fix='add source: "default" for a planning default, or cite the document')
        else:
            sources[cls] = source
        grades[cls] = str(entry.get("grade", "C"))
    if table and "default" not in table:
        pc.add("speeds_kph has no 'default' entry (used for every class not listed)",
               fix='add default: {speed: 20, source: "default"}')
    return speeds, sources, grades


def load_profile(name_or_path: str | Path) -> Profile:
    """Read and validate a travel profile.

    Parameters
    ----------
    name_or_path
        A shipped profile name (see :func:`profile_names`: ``"walk"``, ``"drive"``) or the
        path of a YAML file with the same layout::

            name: walk
            description: ...
            respect_oneway: false
            slope_aware: true                # optional, default false: Tobler on a DEM
            offroad_speed_kph: walk          # km/h, or "walk" = settings.walk_speed_kph
            speeds_kph:
              default: {speed: walk, source: "default: ...", grade: C}
              steps:   {speed: 2.0, source: "default: ...", grade: C}
              footway: {speed: null, source: "not open to cars"}   # null = not usable

        Highway classes are free-form (unknown classes are allowed); ``default`` is required.
        ``"walk"`` speeds are read from :func:`anzhi.core.settings.get_settings` at call time.

    Returns
    -------
    Profile

    Raises
    ------
    InputError
        Unknown profile name, or every problem in the file at once (missing ``default``,
        non-positive speeds, missing source notes, unknown top-level keys...).
    DataSourceError
        When the file cannot be read or is not YAML.
    """
    label, data = _profile_yaml(name_or_path)
    pc = ProblemCollector(file=label)
    if not isinstance(data, dict):
        pc.add("a profile must be a mapping with name, speeds_kph, ...", value=type(data).__name__,
               fix="see geo/profiles/walk.yaml for the layout")
        pc.raise_if_any()
    unknown = sorted(set(map(str, data)) - _PROFILE_KEYS)
    if unknown:
        pc.add(f"unknown key(s) {', '.join(unknown)}",
               fix=f"allowed keys: {', '.join(sorted(_PROFILE_KEYS))}")
    walk_kph = get_settings().walk_speed_kph

    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        pc.add("'name' is missing or empty", value=name, fix="add e.g. name: walk")
        name = ""
    respect_oneway = _flag(data, "respect_oneway", pc=pc,
                           fix="write respect_oneway: true (driving) or false (walking)")
    slope_aware = _flag(data, "slope_aware", pc=pc, fix="write slope_aware: true (walking, "
                        "Tobler's hiking function on a DEM) or false")
    offroad = _speed_value(data.get("offroad_speed_kph", "walk"), where="'offroad_speed_kph'",
                           pc=pc, walk_kph=walk_kph, allow_none=False)

    speeds, sources, grades = _speed_table(data.get("speeds_kph"), pc=pc, walk_kph=walk_kph)
    pc.raise_if_any()
    return Profile(
        name=name,
        speeds_kph=MappingProxyType(speeds),
        offroad_speed_kph=float(offroad),  # type: ignore[arg-type]
        respect_oneway=respect_oneway,
        sources=MappingProxyType(sources),
        grades=MappingProxyType(grades),
        description=str(data.get("description", "")),
        slope_aware=slope_aware,
    )
