"""The rule sets packaged with Anzhi: the YAML files beside this module (package data).
The registry of the documents they cite lives apart, in ``registry/documents.yaml``
(:mod:`analysis.rules.documents`), so every YAML file here is a rule set.

Reading them (and the registry, :func:`analysis.rules.documents.documents`) is the one file
access in ``analysis``, package data only; user files go through
:func:`layers.rulesfile.read_rules`.
"""

from __future__ import annotations

from importlib import resources

from anzhi.core.errors import InputError, Problem
from analysis.rules.ruleset import RuleSet
from analysis.rules.yamltext import rules_from_yaml

__all__ = ["preset_names", "load_rules"]

#: The package whose data files are the presets.
_PACKAGE = "analysis.rules"


def preset_names() -> list[str]:
    """Names of the rule sets packaged with Anzhi (``default``, ...)."""
    root = resources.files(_PACKAGE)
    return sorted(p.name[:-5] for p in root.iterdir() if p.name.endswith(".yaml"))


def load_rules(name: str = "default") -> RuleSet:
    """Load a rule set packaged with Anzhi by name.

    This reads package data of ``analysis.rules`` only (the one file access allowed in
    ``analysis``); user files go through :func:`layers.rulesfile.read_rules`, which also
    accepts preset names.

    Parameters
    ----------
    name
        Preset name, e.g. ``"default"`` (see :func:`preset_names`).

    Raises
    ------
    InputError
        Unknown preset (the message lists the known ones).
    """
    names = preset_names()
    if name not in names:
        raise InputError(Problem(
            f"no packaged rule set named {name!r}", value=name,
            fix=f"use one of: {', '.join(names)}; for your own YAML file use "
                "layers.rulesfile.read_rules(path) or --rules path/to/file.yaml"))
    text = resources.files(_PACKAGE).joinpath(f"{name}.yaml").read_text(encoding="utf-8")
    return rules_from_yaml(text, source=f"{name}.yaml")
