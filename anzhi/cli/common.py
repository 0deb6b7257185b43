"""What the ``anzhi`` sub-commands share: their parsers' construction, the options of a region
run, and the ``--demo`` / required-inputs check.

Every sub-command module (:data:`anzhi.cli.SUBCOMMAND_MODULES`) builds its parsers with
:func:`add_command`; ``gaps`` and ``access`` declare their options with
:func:`add_options` and turn them into :class:`anzhi.pipeline.RegionInputs` with
:func:`region_inputs`.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from anzhi.core.errors import InputError

if TYPE_CHECKING:
    from anzhi.pipeline import RegionInputs

__all__ = ["COORD_SYSTEMS", "add_command", "add_options", "demo_or_required",
           "region_inputs"]

#: Choices of ``--coords`` and ``--facility-coords``.
COORD_SYSTEMS: tuple[str, ...] = ("wgs84", "cgcs2000", "gcj02", "bd09")

#: argparse settings of the options of a region run (their help is given by the sub-command).
_OPTIONS: dict[str, dict[str, Any]] = {
    "--demo": {"action": "store_true"},
    "--sites": {"type": Path},
    "--facilities": {"type": Path, "action": "append", "default": []},
    "--roads": {"type": Path},
    "--dem": {"type": Path},
    "--coords": {"choices": list(COORD_SYSTEMS)},
    "--facility-coords": {"choices": list(COORD_SYSTEMS)},
    "--townships": {"type": Path},
    "--crs": {},
    "--outside-china": {"action": "store_true"},
    "--profile": {"default": "walk"},
    "--out": {"type": Path, "required": True},
    "--lang": {"choices": ["zh", "en"], "default": "zh"},
    "--format": {"action": "append", "choices": ["parquet"], "default": [], "dest": "formats"},
    "--quiet": {"action": "store_true"},
}

#: Help of the input options that read the same in every sub-command.
_SHARED_HELP: dict[str, str] = {
    "--facility-coords": ("coordinate system of the facility files: tables (csv/xlsx) without a "
                          "坐标系 column (default: --coords), and layers declared EPSG:4326/4490 "
                          "that are really GCJ-02/BD-09; OSM facilities are always WGS84"),
    "--crs": "EPSG code of Gauss-Krüger metre coordinates, e.g. EPSG:4542",
    "--outside-china": "accept sites outside China (test extracts, neighbouring regions)",
    "--profile": "travel profile: walk, drive, motorbike, or a profile YAML (default: "
                 "%(default)s)",
    "--quiet": "no progress bars",
    "--format": "also write GeoParquet (parquet): gaps.parquet and sites.parquet (EPSG:4326), "
                "read by geopandas.read_parquet",
}


def add_command(
    subparsers: Any, name: str, *, help: str, description: str, epilog: str | None = None
) -> argparse.ArgumentParser:
    """Add the sub-command ``name``; with an ``epilog`` (examples), the description and the
    epilog are printed as written (line breaks kept)."""
    if epilog is None:
        return subparsers.add_parser(name, help=help, description=description)
    return subparsers.add_parser(
        name, help=help, description=description, epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def add_options(group: Any, helps: Mapping[str, str | None]) -> None:
    """Add the options of a region run named in ``helps`` (inputs, ``--profile``, ``--out``,
    ``--lang``, ``--quiet``), in its order, each with its help text (None: the text all
    sub-commands share)."""
    for flag, text in helps.items():
        group.add_argument(flag, help=_SHARED_HELP[flag] if text is None else text,
                           **_OPTIONS[flag])


def _flag_value(args: argparse.Namespace, flag: str) -> Any:
    return getattr(args, flag.lstrip("-").replace("-", "_"))


def demo_or_required(args: argparse.Namespace, flags: Sequence[str], fix: str) -> bool:
    """True for ``--demo`` (refused together with any of ``flags``); else check that every
    one of ``flags`` was given.

    Raises
    ------
    InputError
        ``--demo`` with one of ``flags``, or no ``--demo`` and some of ``flags`` missing
        (the message ends with ``fix``).
    """
    values = [_flag_value(args, f) for f in flags]
    if args.demo:
        if any(values):
            raise InputError(f"give either --demo or {'/'.join(flags)}, not both")
        return True
    missing = [f for f, v in zip(flags, values, strict=True) if v is None]
    if missing:
        raise InputError(f"missing {' and '.join(missing)}: {fix}")
    return False


def region_files(inputs: RegionInputs) -> list[Path]:
    """Every input file of a region (what an output must never replace)."""
    return [p for p in (inputs.sites, inputs.roads, *inputs.facilities, inputs.dem,
                        inputs.townships, inputs.parcels) if p is not None]


def region_inputs(args: argparse.Namespace, flags: Sequence[str], fix: str) -> RegionInputs:
    """The region of a ``gaps`` or ``access`` run: the demo county, or the inputs given
    (checked with :func:`demo_or_required`)."""
    from anzhi.pipeline import RegionInputs

    if demo_or_required(args, flags, fix):
        demo = RegionInputs.demo()
        extra = tuple(getattr(args, "facilities", None) or ())
        if not extra:
            return demo
        # facility layers given with --demo replace the demo's own (e.g. the
        # facilities_after.csv of `anzhi site`: existing + recommended), never dropped
        return dataclasses.replace(demo, facilities=extra,
                                   facility_coords=getattr(args, "facility_coords", None))
    return RegionInputs(
        sites=args.sites,
        roads=args.roads,
        facilities=tuple(args.facilities),
        dem=args.dem,
        townships=getattr(args, "townships", None),
        coords=args.coords,
        facility_coords=args.facility_coords,
        crs=args.crs,
        china_only=not args.outside_china,
    )
