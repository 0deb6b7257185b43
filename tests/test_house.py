"""House rules on the size of things (docs/architecture.md): no module over ~800 lines without a
reason written in it, no function over ~100 lines of code.

A module may pass 800 lines only with a ``# long-module: <why>`` line in it; there is no such
escape for functions.  Lines of code exclude blank lines, comment lines and the docstring.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from tests.test_boundaries import REPO, source_files

MAX_MODULE_LINES = 800
MAX_FUNCTION_CODE_LINES = 100
REASON = re.compile(r"^\s*# long-module: \S.{9,}", re.M)


def code_lines(lines: list[str], node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """Lines of code of a function: not blank, not a comment, not its docstring."""
    doc: tuple[int, int] | None = None
    first = node.body[0]
    if (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
            and isinstance(first.value.value, str)):
        doc = (first.lineno, first.end_lineno or first.lineno)
    count = 0
    for i in range(node.lineno, (node.end_lineno or node.lineno) + 1):
        if doc and doc[0] <= i <= doc[1]:
            continue
        text = lines[i - 1].strip()
        if text and not text.startswith("#"):
            count += 1
    return count


def long_modules(root: Path) -> list[str]:
    out = []
    for path in source_files(root):
        text = path.read_text(encoding="utf-8")
        n = text.count("\n")
        if n > MAX_MODULE_LINES and not REASON.search(text):
            out.append(f"{path.relative_to(root)}: {n} lines")
    return out


def long_functions(root: Path) -> list[str]:
    out = []
    for path in source_files(root):
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines()
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = code_lines(lines, node)
                if n > MAX_FUNCTION_CODE_LINES:
                    out.append(f"{path.relative_to(root)}:{node.lineno} {node.name}: {n} lines of code")
    return out


def test_no_module_over_800_lines_without_a_reason() -> None:
    assert long_modules(REPO) == []


def test_no_function_over_100_lines_of_code() -> None:
    assert long_functions(REPO) == []


@pytest.mark.parametrize("reason, flagged", [("", True), ("# long-module: one table of 900 rows", False)])
def test_size_checks_can_fail(tmp_path: Path, reason: str, flagged: bool) -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_CODE_LINES + 1))
    filler = "\n" * MAX_MODULE_LINES
    (tmp_path / "geo").mkdir()
    (tmp_path / "geo" / "big.py").write_text(
        f'"""Big."""\n{reason}\n\ndef f():\n    """Doc."""\n    # a comment\n{body}\n{filler}',
        encoding="utf-8")
    assert bool(long_modules(tmp_path)) is flagged
    assert long_functions(tmp_path) == ["geo/big.py:4 f: 102 lines of code"]  # def + 101


def test_architecture_lists_every_module() -> None:
    # docs/architecture.md says where code goes; a module it does not name is a module nobody
    # placed on purpose
    doc = (REPO / "docs" / "architecture.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`([\w/]+\.py)`", doc))
    modules = {str(p.relative_to(REPO)) for p in source_files(REPO)
               if p.parts[len(REPO.parts)] not in ("tests", "bench")}
    modules.discard("geo/profiles/__init__.py")  # the YAML profiles' package-data folder
    assert modules - named == set()
    planned = {"anzhi/province.py", "anzhi/cli/site.py"}
    assert {n for n in named if "/" in n} - modules - planned - {p for p in named
                                                                   if p.startswith("tests/")} == set()
