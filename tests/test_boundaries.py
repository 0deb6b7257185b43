"""The house's stack, checked on every module's imports (docs/architecture.md, CONVENTIONS.md §2).

Bottom to top: ``anzhi.core`` → ``geo`` → ``analysis`` → ``layers`` → the pipeline (``anzhi``,
``anzhi.pipeline``) → the CLI (``anzhi.cli``) → the UI (``anzhi.ui``, ``app.py``); ``bench`` and
``tests`` stand on top.  A module imports only from its own layer or below, the UI reaches
``geo`` and ``layers`` only through the pipeline, no file imports another file's underscore
names, a private module (``_name.py``) is used only inside its own package, the packages' lazy
export tables point downwards too, and no two modules import each other in a circle.

The checks read the source with :mod:`ast` (module-level, nested and ``TYPE_CHECKING``
imports alike), so they see every import, not only those one run happens to execute; each is
shown to fail on a planted wrong import.  The import-cost checks run fresh interpreters.
"""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

#: The stack, bottom first: layer name → the module prefixes it holds.
STACK: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("core", ("anzhi.core",)),
    ("geo", ("geo",)),
    ("analysis", ("analysis",)),
    ("layers", ("layers",)),
    ("pipeline", ("anzhi.pipeline", "anzhi")),
    ("cli", ("anzhi.cli",)),
    ("ui", ("anzhi.ui", "app")),
    ("tools", ("bench", "tests")),
)
#: Layers a layer may not import although they lie below it.
SKIPS: dict[str, frozenset[str]] = {"ui": frozenset({"geo", "layers"})}
#: Source folders and files of the project (what the checks read).
SOURCES = ("anzhi", "geo", "analysis", "layers", "app.py", "bench", "tests")
PROJECT_ROOTS = frozenset({"anzhi", "geo", "analysis", "layers", "app", "bench", "tests"})


def layer_of(module: str) -> str | None:
    """The stack layer of a dotted module name (longest matching prefix), None if not ours."""
    best: tuple[int, str] | None = None
    for name, prefixes in STACK:
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and (
                best is None or len(prefix) > best[0]
            ):
                best = (len(prefix), name)
    return None if best is None else best[1]


RANK = {name: i for i, (name, _) in enumerate(STACK)}


@dataclass(frozen=True)
class Import:
    importer: str
    path: str
    line: int
    target: str  # the dotted module imported from (or imported)
    names: tuple[str, ...]  # names taken from it (``from X import a, b``); () for ``import X``
    runtime: bool  # False inside ``if TYPE_CHECKING:``


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def source_files(root: Path) -> Iterator[Path]:
    for entry in SOURCES:
        p = root / entry
        if p.is_file():
            yield p
        elif p.is_dir():
            yield from sorted(q for q in p.rglob("*.py") if ".ipynb_checkpoints" not in q.parts)


def _type_checking_lines(tree: ast.AST) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If):
            test = node.test
            name = test.id if isinstance(test, ast.Name) else getattr(test, "attr", None)
            if name == "TYPE_CHECKING":
                for child in node.body:
                    for sub in ast.walk(child):
                        if hasattr(sub, "lineno"):
                            lines.add(sub.lineno)
    return lines


def imports_of(root: Path) -> list[Import]:
    """Every import of a project module in the project's sources under ``root``."""
    found: list[Import] = []
    for path in source_files(root):
        importer = module_name(root, path)
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        typing_only = _type_checking_lines(tree)
        rel = str(path.relative_to(root))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.split(".")[0] in PROJECT_ROOTS:
                        found.append(Import(importer, rel, node.lineno, alias.name, (),
                                            node.lineno not in typing_only))
            elif isinstance(node, ast.ImportFrom) and node.module:
                if node.level:
                    base = importer.split(".")
                    if not path.name == "__init__.py":
                        base = base[:-1]
                    base = base[: len(base) - (node.level - 1)]
                    target = ".".join([*base, node.module])
                else:
                    target = node.module
                if target.split(".")[0] in PROJECT_ROOTS:
                    found.append(Import(importer, rel, node.lineno, target,
                                        tuple(a.name for a in node.names),
                                        node.lineno not in typing_only))
    return found


def _is_private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _submodule(root: Path, target: str, name: str) -> bool:
    """``from target import name`` takes a module (``from geo import routing``)?"""
    base = root.joinpath(*target.split("."))
    return (base / f"{name}.py").exists() or (base / name / "__init__.py").exists()


def stack_violations(root: Path) -> list[str]:
    """Imports that run upwards or skip to a layer the importer may not use."""
    out = []
    for imp in imports_of(root):
        src = layer_of(imp.importer)
        targets = [imp.target]
        targets += [f"{imp.target}.{n}" for n in imp.names if _submodule(root, imp.target, n)]
        for target in targets:
            dst = layer_of(target)
            if src is None or dst is None:
                continue
            if RANK[dst] > RANK[src] or dst in SKIPS.get(src, frozenset()):
                out.append(f"{imp.path}:{imp.line}: {imp.importer} ({src}) imports {target} ({dst})")
    return out


def private_violations(root: Path) -> list[str]:
    """Underscore names imported across files; private modules used outside their package."""
    out = []
    for imp in imports_of(root):
        for name in imp.names:
            if _is_private(name) and not _submodule(root, imp.target, name):
                out.append(f"{imp.path}:{imp.line}: {imp.importer} imports {imp.target}.{name}")
        modules = [imp.target] + [f"{imp.target}.{n}" for n in imp.names
                                  if _submodule(root, imp.target, n)]
        for module in modules:
            parts = module.split(".")
            for i, part in enumerate(parts):
                if _is_private(part):
                    package = ".".join(parts[:i])
                    if not (imp.importer == package or imp.importer.startswith(package + ".")):
                        out.append(f"{imp.path}:{imp.line}: {imp.importer} uses the private "
                                   f"module {module} of another package")
    return out


def import_cycles(root: Path) -> list[list[str]]:
    """Circles of runtime imports between modules (``TYPE_CHECKING`` imports do not run)."""
    modules = {module_name(root, p) for p in source_files(root)}
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for imp in imports_of(root):
        if not imp.runtime:
            continue
        for target in [imp.target] + [f"{imp.target}.{n}" for n in imp.names]:
            if target in modules and target != imp.importer:
                graph[imp.importer].add(target)
    # Tarjan's strongly connected components
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return cycles


def export_violations(packages: dict[str, dict[str, str]]) -> list[str]:
    """Lazy export tables (``_EXPORTS``) whose targets lie above the exporting package."""
    from anzhi.core.lazy import export_module

    out = []
    for package, exports in packages.items():
        src = layer_of(package)
        for name, module in exports.items():
            target = export_module(package, module)
            dst = layer_of(target)
            if src is None or dst is None:
                continue
            if RANK[dst] > RANK[src] or dst in SKIPS.get(src, frozenset()):
                out.append(f"{package}.{name} is exported from {target} ({dst} above {src})")
    return out


def export_tables() -> dict[str, dict[str, str]]:
    tables = {}
    for package in ("anzhi", "geo", "analysis", "layers"):
        mod = importlib.import_module(package)
        table = mod.__dict__.get("_EXPORTS")
        if table is not None:
            tables[package] = dict(table)
    return tables


# --------------------------------------------------------------------------- on the tree


def test_every_import_runs_down_the_stack() -> None:
    imports = imports_of(REPO)
    assert len({i.importer for i in imports}) > 50, "the checker read too few modules"
    assert stack_violations(REPO) == []


def test_no_underscore_imports_across_files() -> None:
    assert private_violations(REPO) == []


def test_no_import_cycles() -> None:
    assert import_cycles(REPO) == []


def test_lazy_exports_point_down() -> None:
    tables = export_tables()
    assert set(tables) >= {"geo", "analysis", "layers"}
    assert export_violations(tables) == []
    for package, table in tables.items():  # and every exported name exists
        mod = importlib.import_module(package)
        for name in table:
            assert getattr(mod, name) is not None, f"{package}.{name}"


def test_every_module_has_a_layer() -> None:
    orphans = [module_name(REPO, p) for p in source_files(REPO)
               if layer_of(module_name(REPO, p)) is None]
    assert orphans == []


# --------------------------------------------------------------------------- shown to fail


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(textwrap.dedent(text), encoding="utf-8")
    return tmp_path


def test_checker_sees_a_planted_upward_import(tmp_path: Path) -> None:
    root = _tree(tmp_path, {
        "geo/__init__.py": "",
        "geo/roads.py": "def f():\n    from layers.osm import read_osm_ways\n",
        "layers/__init__.py": "",
        "layers/osm.py": "from geo import roads\n",
        "anzhi/__init__.py": "",
        "anzhi/core/__init__.py": "",
        "anzhi/core/errors.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                                "    from analysis.gaps import evaluate\n",
        "analysis/__init__.py": "",
        "analysis/gaps.py": "",
        "anzhi/ui/__init__.py": "",
        "anzhi/ui/mapping.py": "import geo.roads\n",
        "app.py": "from anzhi.pipeline import run_region\n",
    })
    found = stack_violations(root)
    assert any("geo.roads (geo) imports layers.osm (layers)" in v for v in found)
    assert any("anzhi.core.errors (core) imports analysis.gaps" in v for v in found)
    assert any("anzhi.ui.mapping (ui) imports geo.roads (geo)" in v for v in found)  # a skip
    assert not any(v.startswith("layers/osm.py") or v.startswith("app.py") for v in found)
    assert len(found) == 3


def test_checker_sees_planted_private_imports(tmp_path: Path) -> None:
    root = _tree(tmp_path, {
        "geo/__init__.py": "",
        "geo/routing.py": "def _snap(): ...\n",
        "geo/matrix.py": "from geo.routing import _snap\n",
        "layers/__init__.py": "",
        "layers/_tables.py": "",
        "layers/sites.py": "from layers._tables import read\n",  # inside its package: fine
        "anzhi/__init__.py": "",
        "anzhi/pipeline.py": "from layers import _tables\n",
    })
    found = private_violations(root)
    assert any("geo.matrix imports geo.routing._snap" in v for v in found)
    assert any("anzhi.pipeline uses the private module layers._tables" in v for v in found)
    assert len(found) == 2


def test_checker_sees_a_planted_cycle(tmp_path: Path) -> None:
    root = _tree(tmp_path, {
        "geo/__init__.py": "",
        "geo/roads.py": "def f():\n    from geo.osmgraph import g\n",
        "geo/osmgraph.py": "from geo.roads import f\n",
        "geo/tobler.py": "from typing import TYPE_CHECKING\nfrom geo.roads import f\n"
                         "if TYPE_CHECKING:\n    from geo.matrix import h\n",
        "geo/matrix.py": "from geo.tobler import t\n",
    })
    assert import_cycles(root) == [["geo.osmgraph", "geo.roads"]]


def test_checker_sees_a_planted_export() -> None:
    found = export_violations({"layers": {"build_map": "anzhi.ui.mapping", "read_sites": "sites"},
                               "anzhi": {"run_region": "pipeline"}})
    assert found == ["layers.build_map is exported from anzhi.ui.mapping (ui above layers)"]


# --------------------------------------------------------------------------- import cost


def _loaded(code: str) -> set[str]:
    probe = code + "\nimport sys\nprint(' '.join(sorted({m.split('.')[0] for m in sys.modules})))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True, cwd=REPO)
    return set(out.stdout.split())


HEAVY = {"osmnx", "sklearn", "streamlit", "folium", "branca", "streamlit_folium", "matplotlib"}
UI = {"streamlit", "folium", "streamlit_folium", "branca"}


def test_pipeline_import_loads_nothing_heavy() -> None:
    loaded = _loaded("import anzhi.pipeline, anzhi.cli")
    assert "anzhi" in loaded and "geopandas" in loaded  # the probe really imported
    assert loaded & HEAVY == set()


def test_import_cost_check_can_fail() -> None:
    assert "osmnx" in _loaded("import osmnx") & HEAVY


@pytest.mark.parametrize("package", ["anzhi.core", "geo", "analysis", "layers"])
def test_package_imports_no_ui(package: str) -> None:
    # every module of the package, in a fresh interpreter
    code = textwrap.dedent(
        f"""
        import importlib, pkgutil
        pkg = importlib.import_module({package!r})
        for info in pkgutil.walk_packages(pkg.__path__, prefix=pkg.__name__ + "."):
            importlib.import_module(info.name)
        """
    )
    assert _loaded(code) & UI == set()


def test_core_imports_no_scientific_stack() -> None:
    code = "import anzhi.core.errors, anzhi.core.settings, anzhi.core.vocabulary, " \
           "anzhi.core.files, anzhi.core.osmtags, anzhi.core.lazy"
    loaded = _loaded(code)
    assert loaded & {"numpy", "pandas", "geopandas", "scipy", "shapely", "pyproj"} == set()
