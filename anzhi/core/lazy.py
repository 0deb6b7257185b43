"""Lazy re-exports for package ``__init__`` modules.

Each package lists its public names and the module that defines them; a name is imported on
first access, so ``import geo.coords`` does not pull in osmnx, nor ``import layers`` pandas'
Excel writer.  A module is named relative to the package (``"coords"``) or absolutely when it
lives lower in the stack (``"anzhi.core.vocabulary"``); ``tests/test_boundaries.py`` checks
that every target sits at or below the exporting package.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def export_module(package: str, module: str) -> str:
    """The absolute name of an export table's ``module`` entry for ``package``."""
    return module if "." in module else f"{package}.{module}"


def lazy_exports(
    package: str, exports: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]], list[str]]:
    """Return ``(__getattr__, __dir__, __all__)`` for a package exporting ``name -> module``."""

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(export_module(package, module)), name)

    def __dir__() -> list[str]:
        return sorted(exports)

    return __getattr__, __dir__, sorted(exports)
