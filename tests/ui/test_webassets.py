"""anzhi.ui.webassets: the map's browser libraries copied from node_modules and served locally."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from anzhi.core.errors import DataSourceError
from anzhi.ui.webassets import (
    LOCAL_LINKS,
    VENDOR_FILES,
    deploy_assets,
    install_assets,
    missing_assets,
    vendor_url,
)


def _fake_node_modules(root: Path) -> Path:
    """A node_modules tree holding every file the map needs (tiny stand-ins)."""
    nm = root / "node_modules"
    for src in VENDOR_FILES.values():
        p = nm / src
        if "." in p.name and p.name not in {"images", "webfonts"}:
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(f"/* {src} */\n", encoding="utf-8")
        else:
            p.mkdir(parents=True, exist_ok=True)
            (p / "marker-icon.png").write_bytes(b"\x89PNG")
        parts = Path(src).parts
        pkg = nm.joinpath(*parts[:2]) if parts[0].startswith("@") else nm / parts[0]
        (pkg / "package.json").write_text(json.dumps({"version": "9.9.9"}), encoding="utf-8")
    return nm


def test_install_copies_every_file_then_deploy_serves_it(tmp_path: Path) -> None:
    nm = _fake_node_modules(tmp_path)
    shipped = tmp_path / "pkg" / "vendor"
    static = tmp_path / "static"
    assert missing_assets(static) == list(VENDOR_FILES)
    written = install_assets(nm, shipped)
    assert (shipped / "leaflet" / "leaflet.js").read_text() == "/* leaflet/dist/leaflet.js */\n"
    assert (shipped / "leaflet" / "images" / "marker-icon.png").exists()
    manifest = json.loads((shipped / "manifest.json").read_text())
    assert manifest["leaflet"] == "9.9.9" and manifest["@fortawesome/fontawesome-free"] == "9.9.9"
    assert shipped / "manifest.json" in written
    # the shipped copy is what the app's static folder is filled from
    vendor = deploy_assets(static, source=shipped)
    assert vendor == static / "vendor"
    assert missing_assets(static) == []
    assert (vendor / "leaflet" / "leaflet.js").read_text() == "/* leaflet/dist/leaflet.js */\n"
    # every folium link the map keeps points at an installed file
    assert set(LOCAL_LINKS.values()) <= set(VENDOR_FILES)
    # reinstalling replaces the folder (stale files go)
    (shipped / "stale.js").write_text("x")
    install_assets(nm, shipped)
    assert not (shipped / "stale.js").exists()


def test_deploy_names_missing_shipped_files(tmp_path: Path) -> None:
    nm = _fake_node_modules(tmp_path)
    shipped = tmp_path / "vendor"
    install_assets(nm, shipped)
    (shipped / "leaflet" / "leaflet.js").unlink()
    with pytest.raises(DataSourceError, match=r"lack leaflet/leaflet.js.*reinstall"):
        deploy_assets(tmp_path / "static", source=shipped)
    assert not (tmp_path / "static" / "vendor").exists()


def test_install_lists_every_missing_file(tmp_path: Path) -> None:
    nm = _fake_node_modules(tmp_path)
    (nm / "leaflet" / "dist" / "leaflet.js").unlink()
    (nm / "jquery" / "dist" / "jquery.min.js").unlink()
    with pytest.raises(DataSourceError, match=r"missing leaflet/dist/leaflet.js, jquery/dist/jquery.min.js.*npm ci"):
        install_assets(nm, tmp_path / "vendor")
    assert not (tmp_path / "vendor").exists()


@pytest.mark.parametrize(
    ("base", "url"),
    [("", "/app/static/vendor"), ("/", "/app/static/vendor"), ("anzhi/", "/anzhi/app/static/vendor"),
     ("/a/b", "/a/b/app/static/vendor")],
)
def test_vendor_url_follows_base_url_path(base: str, url: str) -> None:
    assert vendor_url(base) == url


def test_repository_ships_the_npm_lock_not_the_files(repo_root: Path) -> None:
    pkg = json.loads((repo_root / "package.json").read_text())
    lock = json.loads((repo_root / "package-lock.json").read_text())
    for name in ("leaflet", "jquery", "bootstrap", "leaflet.awesome-markers",
                 "@fortawesome/fontawesome-free", "leaflet.fullscreen"):
        assert name in pkg["dependencies"]
        entry = lock["packages"][f"node_modules/{name}"]
        assert entry["version"] == pkg["dependencies"][name]  # exact pins
        assert entry["integrity"].startswith("sha512-")
    config = (repo_root / ".streamlit" / "config.toml").read_text()
    assert "enableStaticServing = true" in config
