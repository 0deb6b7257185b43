"""The one exception hierarchy of Anzhi.

Every error a user can cause derives from :class:`AnzhiError`; the app turns it into
``st.error`` and the CLI into a message and a non-zero exit.  Anything else is a bug.

``InputError`` carries a list of :class:`Problem` records so that validation can collect
every problem in a file and raise once (CONVENTIONS.md §5, §6).
"""

from __future__ import annotations

import reprlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

__all__ = ["AnzhiError", "InputError", "DataSourceError", "Problem", "ProblemCollector",
           "MAX_LISTED_PROBLEMS", "MAX_VALUE_CHARS", "short_repr"]

#: An error message lists at most this many problems, then says how many more there are
#: (100,000 swapped coordinates would otherwise make a message of many megabytes).
MAX_LISTED_PROBLEMS = 50
#: A value is shown in a message in at most this many characters.
MAX_VALUE_CHARS = 80

_REPR = reprlib.Repr()
_REPR.maxlevel = 3
_REPR.maxstring = MAX_VALUE_CHARS
_REPR.maxother = MAX_VALUE_CHARS
_REPR.maxlist = _REPR.maxtuple = _REPR.maxdict = _REPR.maxset = 6


def short_repr(value: Any) -> str:
    """``repr(value)`` bounded in depth, items and length (never builds the whole repr, so a
    YAML alias bomb or a huge table cannot blow up a message)."""
    text = _REPR.repr(value)
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 1] + "…"


class AnzhiError(Exception):
    """Root of every error Anzhi raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input, located precisely enough to fix it.

    Parameters
    ----------
    message
        What is wrong, in plain words.
    file
        The input file's name (or a label such as ``"sites"`` for in-memory data).
    row
        Row number as the user sees it: for spreadsheets the 1-based sheet row including
        the header (so the first data row is 2); ``None`` for file-level problems.
    column
        Column header as written in the file, if any.
    value
        The offending value, if any.
    fix
        What to do about it.
    """

    message: str
    file: str | None = None
    row: int | None = None
    column: str | None = None
    value: Any = None
    fix: str | None = None

    def __str__(self) -> str:
        where = []
        if self.file:
            where.append(str(self.file))
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column {self.column!r}")
        text = ", ".join(where)
        text = f"{text}: " if text else ""
        text += self.message
        if self.value is not None:
            text += f" (value: {short_repr(self.value)})"
        if self.fix:
            text += f" — fix: {self.fix}"
        return text


class InputError(AnzhiError, ValueError):
    """Bad user input: a file, a column, a value or an option.

    Parameters
    ----------
    problems
        Every problem found (at least one), or a single message string.
    """

    def __init__(self, problems: Iterable[Problem] | Problem | str) -> None:
        if isinstance(problems, str):
            problems = [Problem(problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems: list[Problem] = list(problems)
        n = len(self.problems)
        if n == 1:
            text = str(self.problems[0])
        else:
            shown = self.problems[:MAX_LISTED_PROBLEMS]
            text = f"{n} problems in the input:\n" + "\n".join(f"  - {p}" for p in shown)
            if n > len(shown):
                text += f"\n  … and {n - len(shown)} more / 另有 {n - len(shown)} 个问题"
        super().__init__(text)


class DataSourceError(AnzhiError, OSError):
    """A file or data source that cannot be opened or read at all."""


class ProblemCollector:
    """Collects :class:`Problem` records and raises one :class:`InputError` at the end.

    Examples
    --------
    >>> pc = ProblemCollector(file="sites.xlsx")
    >>> pc.add("population is negative", row=5, column="人数", value=-3, fix="enter a count >= 0")
    >>> pc.raise_if_any()
    Traceback (most recent call last):
    ...
    anzhi.core.errors.InputError: sites.xlsx, row 5, column '人数': population is negative ...
    """

    def __init__(self, *, file: str | None = None) -> None:
        self.file = file
        self.problems: list[Problem] = []

    def add(
        self,
        message: str,
        *,
        row: int | None = None,
        column: str | None = None,
        value: Any = None,
        fix: str | None = None,
        file: str | None = None,
    ) -> None:
        """Record one problem (the collector's file is used unless ``file`` is given)."""
        self.problems.append(
            Problem(message, file=file or self.file, row=row, column=column, value=value, fix=fix)
        )

    def extend(self, problems: Iterable[Problem]) -> None:
        """Record problems found elsewhere."""
        self.problems.extend(problems)

    def __bool__(self) -> bool:
        return bool(self.problems)

    def raise_if_any(self) -> None:
        """Raise one :class:`InputError` listing every collected problem, if there are any."""
        if self.problems:
            raise InputError(self.problems)
