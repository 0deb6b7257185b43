"""Chinese and English labels for the app and the map (Chinese first).

Every piece of text the Streamlit app or the folium map shows goes through :func:`t`,
:func:`status_label` or :func:`column_labels`, so that switching 中文/English changes all of
it at once.  The texts are kept in the catalogue ``labels.toml`` next to this module (one line
per key and language, so a translation is edited without touching code); facility type names
come from :mod:`anzhi.core.vocabulary`.  The tables here are read-only
(:class:`types.MappingProxyType`).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

__all__ = [
    "LANGS",
    "STATUSES",
    "t",
    "status_label",
    "column_labels",
    "GAP_TABLE_COLUMNS",
    "COVERAGE_TABLE_COLUMNS",
    "LABELS_FILE",
    "read_catalogue",
]

#: Supported languages, in the order the language switch offers them.
LANGS: tuple[str, ...] = ("zh", "en")

#: Site × rule statuses of the gap list (docs/schemas.md), best first.
STATUSES: tuple[str, ...] = ("ok", "ok_shared", "gap_capacity", "gap_missing", "unroutable")

#: The label catalogue (Chinese and English per key), next to this module.
LABELS_FILE = Path(__file__).with_name("labels.toml")


def read_catalogue(path: Path) -> dict[str, dict[str, dict[str, str]]]:
    """The catalogue's tables: table → key → language → text, every key in every language."""
    with path.open("rb") as f:
        tables = tomllib.load(f)
    for table, entries in tables.items():
        for key, texts in entries.items():
            if set(texts) != set(LANGS):
                raise ValueError(f"{path.name}: [{table}] {key} has languages {sorted(texts)}; "
                                 f"give exactly {', '.join(LANGS)}")
    return tables


def _frozen(entries: Mapping[str, Mapping[str, str]]) -> Mapping[str, Mapping[str, str]]:
    """A read-only copy of a table of key → language → text."""
    return MappingProxyType({key: MappingProxyType(dict(texts)) for key, texts in entries.items()})


def _headers(entries: Mapping[str, Mapping[str, str]]) -> Mapping[str, tuple[str, str]]:
    """Column → (Chinese, English) header, in the catalogue's column order."""
    return MappingProxyType({col: (texts["zh"], texts["en"]) for col, texts in entries.items()})


_CATALOGUE = read_catalogue(LABELS_FILE)
_TEXT: Mapping[str, Mapping[str, str]] = _frozen(_CATALOGUE["text"])
_STATUS: Mapping[str, Mapping[str, str]] = _frozen(_CATALOGUE["status"])

#: Gap-table columns shown in the app: gap-list column → (Chinese header, English header).
GAP_TABLE_COLUMNS: Mapping[str, tuple[str, str]] = _headers(_CATALOGUE["gap_table_columns"])

#: Coverage-table columns shown in the app: coverage column → (Chinese, English) header.
COVERAGE_TABLE_COLUMNS: Mapping[str, tuple[str, str]] = _headers(_CATALOGUE["coverage_table_columns"])


def _check_lang(lang: str) -> str:
    if lang not in LANGS:
        raise ValueError(f"unknown language {lang!r}; use one of {', '.join(LANGS)}")
    return lang


def t(key: str, lang: str = "zh") -> str:
    """The label ``key`` in ``lang`` (``"zh"`` or ``"en"``).

    Raises
    ------
    KeyError
        When ``key`` has no label (a programming error, not user input).
    """
    return _TEXT[key][_check_lang(lang)]


def status_label(status: str, lang: str = "zh") -> str:
    """Localised label of a gap status; unknown statuses are returned unchanged."""
    labels = _STATUS.get(str(status))
    return labels[_check_lang(lang)] if labels else str(status)


def column_labels(columns: Mapping[str, tuple[str, str]], lang: str = "zh") -> dict[str, str]:
    """``{column: header}`` in ``lang`` for :data:`GAP_TABLE_COLUMNS` or
    :data:`COVERAGE_TABLE_COLUMNS`."""
    i = LANGS.index(_check_lang(lang))
    return {col: pair[i] for col, pair in columns.items()}
