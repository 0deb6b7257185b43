"""The curated public API: every exported name resolves, and the packages stay light."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest


@pytest.mark.parametrize("package", ["anzhi", "geo", "layers", "analysis"])
def test_every_export_resolves(package: str) -> None:
    mod = importlib.import_module(package)
    assert mod.__all__, f"{package} exports nothing"
    missing = [name for name in mod.__all__ if getattr(mod, name, None) is None]
    assert missing == []


def test_unknown_name_is_an_attribute_error() -> None:
    geo = importlib.import_module("geo")
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        geo.nope  # noqa: B018


def test_coordinates_do_not_load_the_road_stack() -> None:
    code = "import sys, geo.coords; print('osmnx' in sys.modules, 'geopandas' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
