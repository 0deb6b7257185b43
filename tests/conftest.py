"""Shared fixtures.

* Every test session gets its own Anzhi cache folder (``ANZHI_CACHE_DIR``) unless one is set,
  so a stale demo county from a developer's home folder never leaks into a run.
* ``shared_data`` points at ``../shared/data`` and skips tests marked ``realdata`` cleanly when
  that folder is absent.
* ``demo`` builds the demo county once per session.
* ``gdaldem_bin`` / ``chromium_bin``: the system tools some checks compare against.  Absent on a
  developer machine they skip with the install command; under CI (``CI=true``, where ``.ci/run``
  installs them) their absence fails the test instead, so CI never passes by skipping.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


def pytest_configure(config: pytest.Config) -> None:
    if not os.environ.get("ANZHI_CACHE_DIR"):
        os.environ["ANZHI_CACHE_DIR"] = tempfile.mkdtemp(prefix="anzhi-test-cache-")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` (real OSM extracts and an SRTM DEM); skips when absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data folder {SHARED_DATA} is absent")
    return SHARED_DATA


@pytest.fixture(scope="session")
def demo():  # type: ignore[no-untyped-def]
    """The default demo county, built once per session (``layers.demo.DemoPaths``)."""
    from layers.demo import build_demo

    return build_demo()


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository root."""
    return REPO


def _require_binary(name: str, package: str) -> str:
    path = shutil.which(name)
    if path:
        return path
    message = f"{name} is not installed (apt-get install {package}; .ci/run installs it)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def gdaldem_bin() -> str:
    """Path of GDAL's ``gdaldem`` command."""
    return _require_binary("gdaldem", "gdal-bin")


@pytest.fixture(scope="session")
def chromium_bin() -> str:
    """Path of Debian's ``chromium``."""
    return _require_binary("chromium", "chromium")


@pytest.fixture(scope="session")
def andorra_osmnx_graph(shared_data: Path):  # type: ignore[no-untyped-def]
    """Andorra's highways through the pure osmnx path (``load_road_graph`` on the XML
    extract), built once per session: it takes ~20 s and several test files compare with it."""
    from layers.osm import load_road_graph

    return load_road_graph(shared_data / "osm" / "andorra-2020-05-01.osm.bz2")
