"""Architecture checks: analysis/ and geo/ never import the UI stack (CONVENTIONS.md §2)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

UI_MODULES = ("streamlit", "folium", "streamlit_folium", "branca")


@pytest.mark.parametrize("package", ["analysis", "geo"])
def test_package_imports_no_ui(package: str) -> None:
    # A fresh interpreter, so nothing else in the test session has loaded streamlit already.
    code = textwrap.dedent(
        f"""
        import importlib, pkgutil, sys
        pkg = importlib.import_module({package!r})
        names = [pkg.__name__]
        for info in pkgutil.walk_packages(pkg.__path__, prefix=pkg.__name__ + "."):
            importlib.import_module(info.name)
            names.append(info.name)
        ui = sorted(m for m in sys.modules if m.split(".")[0] in {UI_MODULES!r})
        print(len(names), ",".join(ui))
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    count, _, ui = out.stdout.strip().partition(" ")
    assert int(count) >= 2, f"{package} has no modules to check: {out.stdout}"
    assert ui == "", f"importing {package} loaded UI modules: {ui}"


def test_boundary_check_can_fail() -> None:
    # The same probe must notice a UI import when there is one.
    code = "import sys, folium; print(sorted(m for m in sys.modules if m.split('.')[0]=='folium')[:1])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "folium" in out.stdout
