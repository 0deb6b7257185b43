"""Compare the current run with a previous one (与上次比较), for the app and the API.

:func:`read_previous` reads an earlier run (an ``anzhi gaps`` folder, its ``gaps.xlsx`` or
``gaps.csv``, :func:`layers.runs.read_run`); :func:`compare_with_previous` compares it with a
run's results (:func:`analysis.diff.compare`): one row per site × rule with both statuses
and the change, the coverage change and the counts, and each site's change for the map.
``anzhi diff`` compares two folders with the same code.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis.diff import SITE_CHANGES, RunDiff, compare, site_changes
from anzhi.pipeline import RegionResults
from layers.runs import Run, read_run

__all__ = ["SITE_CHANGES", "compare_with_previous", "read_previous", "site_changes"]


def read_previous(path: str | Path) -> Run:
    """An earlier run: an output folder, its gaps.xlsx (Chinese or English) or gaps.csv."""
    return read_run(path)


def compare_with_previous(results: RegionResults, previous: Run, *, label: str = "上次",
                          current_label: str = "本次") -> tuple[RunDiff, pd.DataFrame]:
    """The comparison of ``previous`` (old) with ``results`` (new), and each site's change.

    Raises
    ------
    InputError
        The two runs identify their sites by different id columns (as ``anzhi diff``).
    """
    diff = compare(previous.gaps, results.gaps, old_sites=previous.site_ids,
                   new_sites=results.data.sites["site_id"].astype(str).tolist(),
                   old_rules=previous.rule_ids, new_rules=list(results.rules.rule_ids),
                   old_label=label, new_label=current_label)
    return diff, site_changes(diff.rows)
