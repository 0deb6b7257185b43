"""Anzhi (安置): public facilities of poverty-relocation sites, checked offline.

The packages are ``geo`` (coordinates, terrain, road graph and routing), ``layers``
(reading, writing, validation, the demo county), ``analysis`` (pure rules, coverage and
gaps) and this one, which holds the exception root, the settings object, the pipeline
that runs one region end to end, and the ``anzhi`` command line.
"""

from __future__ import annotations

from typing import Any

from anzhi.core.errors import AnzhiError, DataSourceError, InputError, Problem
from anzhi.core.settings import Settings, get_settings, override

__version__ = "0.1.0"

__all__ = [
    "AnzhiError",
    "DataSourceError",
    "InputError",
    "Problem",
    "Settings",
    "get_settings",
    "override",
    "run_region",
    "RegionInputs",
    "RegionResults",
    "__version__",
]


def __getattr__(name: str) -> Any:
    # The pipeline pulls in geopandas and osmnx; load it only when asked for.
    if name in {"run_region", "RegionInputs", "RegionResults"}:
        from anzhi import pipeline

        return getattr(pipeline, name)
    raise AttributeError(name)
