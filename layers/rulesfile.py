"""Read a rule set: a packaged preset by name, or the user's own YAML file.

Parsing and validation live in :mod:`analysis.rules` (pure); this module only does the file
access, so that ``analysis`` stays free of I/O.
"""

from __future__ import annotations

from pathlib import Path

from typing import Any

from anzhi.core.errors import DataSourceError, InputError, Problem
from anzhi.core.settings import get_settings
from analysis.rules import RuleSet, load_rules, preset_names, rules_from_yaml
from layers.guard import too_big

__all__ = ["check_yaml_budget", "read_rules"]


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
    limits = get_settings()
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise DataSourceError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    if size > limits.max_rules_file_bytes:
        raise too_big(path.name, f"the rule file has {size:,} bytes", "max_rules_file_bytes",
                      limits.max_rules_file_bytes, " bytes")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataSourceError(
            f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start}); save the rule file "
            "as UTF-8") from exc
    except OSError as exc:
        raise DataSourceError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    try:
        check_yaml_budget(text, label=path.name)
        return rules_from_yaml(text, source=path.name)
    except RecursionError:
        raise InputError(Problem("the YAML is nested too deeply to be a rule file",
                                 file=path.name, fix="give a rule file like the packaged ones "
                                 "(anzhi rules show default)")) from None


def _expanded_size(root: Any, budget: int) -> int:
    """Nodes of a composed YAML document with every alias expanded (stops past ``budget``).

    An alias is the same node object in several places, so sizes are memoised per node: the
    count costs one visit per distinct node even for an alias bomb.
    """
    import yaml

    size: dict[int, int] = {}
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        if id(node) in size:
            continue
        if isinstance(node, yaml.MappingNode):
            children = [c for kv in node.value for c in kv]
        elif isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        else:
            children = []
        if done:
            size[id(node)] = min(budget + 1, 1 + sum(size[id(c)] for c in children))
        else:
            stack.append((node, True))
            stack.extend((c, False) for c in children if id(c) not in size)
    return size[id(root)]


def check_yaml_budget(text: str, *, label: str) -> None:
    """Refuse YAML that expands beyond ``max_yaml_nodes`` (aliases) or has more rules than
    ``max_rules``, before it is loaded; YAML syntax errors are left to the rule parser.

    Raises
    ------
    InputError
        Naming the limit and how to raise it.
    """
    import yaml

    limits = get_settings()
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return  # rules_from_yaml reports it with its line
    if root is None:
        return
    n = _expanded_size(root, limits.max_yaml_nodes)
    if n > limits.max_yaml_nodes:
        raise too_big(label, "the YAML is too large once its *aliases are expanded",
                      "max_yaml_nodes", limits.max_yaml_nodes, " nodes")
    if isinstance(root, yaml.MappingNode):
        for key, value in root.value:
            if getattr(key, "value", None) == "rules" and isinstance(value, yaml.SequenceNode):
                if len(value.value) > limits.max_rules:
                    raise too_big(label, f"the file has {len(value.value):,} rules",
                                  "max_rules", limits.max_rules)
