"""Rule sets from YAML text: syntax errors with their line, duplicate keys refused."""

from __future__ import annotations

from typing import Any

import yaml

from anzhi.core.errors import InputError, Problem
from analysis.rules.ruleset import RuleSet, parse_rules

__all__ = ["rules_from_yaml", "rules_to_yaml"]


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys (YAML would silently keep the last)."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode,
                       deep: bool = False) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    out: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in out:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark)
        out[key] = loader.construct_object(value_node, deep=deep)
    return out


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
                                 _construct_mapping)


def rules_from_yaml(text: str, *, source: str) -> RuleSet:
    """Parse and validate a rule set from YAML text.

    Parameters
    ----------
    text
        The YAML document.
    source
        File or preset name for messages.

    Raises
    ------
    InputError
        YAML syntax errors (with line and column), duplicate keys, and everything
        :func:`parse_rules` checks.
    """
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - safe loader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise InputError(Problem(f"not valid YAML{where}: {problem}", file=source,
                                 fix="check indentation and quoting around that line")) from exc
    return parse_rules(data, source=source)



def rules_to_yaml(rules: RuleSet) -> str:
    """The YAML text of a rule set, overrides included, that :func:`rules_from_yaml` (and
    ``anzhi gaps --rules FILE``) reads back to the same rules.

    The figures changed by :meth:`RuleSet.with_overrides` are written into the rules and
    named in the description and in a leading comment, so that a saved file says what it
    changed and from which set.

    Parameters
    ----------
    rules
        The rule set to write.

    Returns
    -------
    str
        UTF-8 YAML text (Chinese kept as is).
    """
    data = rules.to_dict()
    changed = ", ".join(f"{k}={v}" for k, v in rules.overrides)
    if changed:
        data["description"] = (f"{data['description']} Saved with changed figures: {changed}."
                               .strip())
    head = f"# rule set {rules.name} {rules.version}"
    head += f" from {rules.origin}" if rules.origin else ""
    head += f"; changed: {changed}\n" if changed else "\n"
    return head + yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100)
