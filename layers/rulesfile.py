"""Read a rule set: a packaged preset by name, or the user's own YAML file.

Parsing and validation live in :mod:`analysis.rules` (pure); this module only does the file
access, so that ``analysis`` stays free of I/O.
"""

from __future__ import annotations

from pathlib import Path

from anzhi.core.errors import DataSourceError, InputError, Problem
from analysis.rules import RuleSet, load_rules, preset_names, rules_from_yaml

__all__ = ["read_rules"]


def read_rules(name_or_path: str | Path = "default") -> RuleSet:
    """Load a rule set.

    Parameters
    ----------
    name_or_path
        A preset name packaged with Anzhi (``"default"``; see
        :func:`analysis.rules.preset_names`) or the path of a YAML rule file (``.yaml`` /
        ``.yml``).  A string that is neither an existing file nor a preset is refused.

    Returns
    -------
    RuleSet

    Raises
    ------
    InputError
        Unknown preset, missing file, YAML syntax error or invalid rules (every problem
        listed with the file name and rule id).
    DataSourceError
        The file exists but cannot be read (permissions, not UTF-8 text).
    """
    if isinstance(name_or_path, str) and name_or_path in preset_names():
        return load_rules(name_or_path)
    path = Path(name_or_path).expanduser()
    looks_like_file = isinstance(name_or_path, Path) or path.suffix.lower() in {".yaml", ".yml"} \
        or "/" in str(name_or_path) or "\\" in str(name_or_path)
    if not path.is_file():
        if looks_like_file:
            fix = ("check the path" if not path.exists() else
                   "give the path of a YAML file, not a folder")
            raise InputError(Problem("rule file not found", file=str(path), value=str(path),
                                     fix=f"{fix}; packaged rule sets: {', '.join(preset_names())}"))
        raise InputError(Problem(
            f"{str(name_or_path)!r} is neither a packaged rule set nor a file",
            value=str(name_or_path),
            fix=f"use one of {', '.join(preset_names())} or the path of a .yaml rule file"))
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataSourceError(
            f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start}); save the rule file "
            "as UTF-8") from exc
    except OSError as exc:
        raise DataSourceError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    return rules_from_yaml(text, source=path.name)
