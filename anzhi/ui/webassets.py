"""The browser libraries of the map, served by the app itself so the map draws offline.

folium and its plugins link Leaflet, jQuery, Bootstrap, Leaflet.awesome-markers, Font
Awesome and Leaflet.fullscreen from public CDNs; on a county office's closed network the map
iframe then stays empty.  Anzhi instead:

1. ships these libraries as package data in ``anzhi/ui/vendor/`` (about 2 MB, with their
   licences and a ``manifest.json`` of versions), so installing Anzhi needs no Node.js;
2. copies them into ``static/vendor/`` next to ``app.py`` (:func:`deploy_assets`;
   ``python -m anzhi.ui.webassets deploy``, run by ``make run``/``make test`` and by the app
   itself when the copy is missing), a folder git ignores;
3. lets Streamlit serve that folder (``[server] enableStaticServing = true`` in
   ``.streamlit/config.toml``) at ``/app/static/vendor/...``;
4. rewrites the links of one map (:func:`localise_map`) — per element instance, never the
   folium classes — and sets Leaflet's default icon path.

Only refreshing the shipped copy needs npm: ``make assets`` runs ``npm ci`` on
``package.json``/``package-lock.json`` and :func:`install_assets` copies the files from
``node_modules`` into ``anzhi/ui/vendor/`` (``python -m anzhi.ui.webassets install``).
Nothing is fetched at run time.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import MappingProxyType

import folium
from branca.element import Element, MacroElement
from folium.elements import JSCSSMixin
from folium.template import Template

from anzhi.core.errors import DataSourceError

__all__ = [
    "APP_STATIC_ROUTE",
    "VENDOR_FILES",
    "LOCAL_LINKS",
    "UNUSED_LINKS",
    "default_static_dir",
    "packaged_vendor_dir",
    "vendor_url",
    "missing_assets",
    "install_assets",
    "deploy_assets",
    "localise_map",
    "external_links",
]

#: URL path under which Streamlit serves the app's ``static/`` folder.
APP_STATIC_ROUTE = "/app/static"

_VENDOR = "vendor"
_MANIFEST = "manifest.json"

#: Files copied from ``node_modules``: destination under ``static/vendor`` → source under
#: ``node_modules``.  Directories are copied whole.
VENDOR_FILES: Mapping[str, str] = MappingProxyType(
    {
        "leaflet/leaflet.js": "leaflet/dist/leaflet.js",
        "leaflet/leaflet.css": "leaflet/dist/leaflet.css",
        "leaflet/images": "leaflet/dist/images",
        "leaflet/LICENSE": "leaflet/LICENSE",
        "jquery/jquery.min.js": "jquery/dist/jquery.min.js",
        "jquery/LICENSE.txt": "jquery/LICENSE.txt",
        "bootstrap/js/bootstrap.bundle.min.js": "bootstrap/dist/js/bootstrap.bundle.min.js",
        "bootstrap/css/bootstrap.min.css": "bootstrap/dist/css/bootstrap.min.css",
        "bootstrap/LICENSE": "bootstrap/LICENSE",
        "awesome-markers/leaflet.awesome-markers.min.js":
            "leaflet.awesome-markers/dist/leaflet.awesome-markers.min.js",
        "awesome-markers/leaflet.awesome-markers.css":
            "leaflet.awesome-markers/dist/leaflet.awesome-markers.css",
        "awesome-markers/images": "leaflet.awesome-markers/dist/images",
        "awesome-markers/LICENSE": "leaflet.awesome-markers/LICENSE",
        "fontawesome/css/all.min.css": "@fortawesome/fontawesome-free/css/all.min.css",
        "fontawesome/webfonts": "@fortawesome/fontawesome-free/webfonts",
        "fontawesome/LICENSE.txt": "@fortawesome/fontawesome-free/LICENSE.txt",
        "fullscreen/Control.FullScreen.js": "leaflet.fullscreen/Control.FullScreen.js",
        "fullscreen/Control.FullScreen.css": "leaflet.fullscreen/Control.FullScreen.css",
        "fullscreen/icon-fullscreen.svg": "leaflet.fullscreen/icon-fullscreen.svg",
        "fullscreen/LICENSE": "leaflet.fullscreen/LICENSE",
    }
)

#: folium resource name (``default_js`` / ``default_css`` entry) → file under ``static/vendor``.
LOCAL_LINKS: Mapping[str, str] = MappingProxyType(
    {
        "leaflet": "leaflet/leaflet.js",
        "leaflet_css": "leaflet/leaflet.css",
        "jquery": "jquery/jquery.min.js",
        "bootstrap": "bootstrap/js/bootstrap.bundle.min.js",
        "bootstrap_css": "bootstrap/css/bootstrap.min.css",
        "awesome_markers": "awesome-markers/leaflet.awesome-markers.min.js",
        "awesome_markers_css": "awesome-markers/leaflet.awesome-markers.css",
        "awesome_markers_font_css": "fontawesome/css/all.min.css",
        "Control.Fullscreen.js": "fullscreen/Control.FullScreen.js",
        "Control.FullScreen.css": "fullscreen/Control.FullScreen.css",
    }
)

#: folium links that are dropped rather than served: Bootstrap 3 glyphicons and folium's
#: rotated awesome-marker CSS are not on the npm registry, and Anzhi draws neither
#: (its markers are Leaflet vectors and CSS ``divIcon`` s with Font Awesome glyphs).
UNUSED_LINKS: frozenset[str] = frozenset({"glyphicons_css", "awesome_rotate_css"})


def default_static_dir() -> Path:
    """``static/`` next to ``app.py`` (the repository root), where Streamlit serves from."""
    return Path(__file__).resolve().parents[2] / "static"


def vendor_url(base_url_path: str = "") -> str:
    """URL path of ``static/vendor`` as served by Streamlit, without a trailing slash.

    Parameters
    ----------
    base_url_path
        Streamlit's ``server.baseUrlPath`` (``""`` when served at the root).
    """
    base = "/".join(p for p in str(base_url_path or "").split("/") if p)
    prefix = f"/{base}" if base else ""
    return f"{prefix}{APP_STATIC_ROUTE}/{_VENDOR}"


def packaged_vendor_dir() -> Path:
    """``anzhi/ui/vendor``: the copy of the map's libraries shipped as package data."""
    return Path(__file__).resolve().parent / _VENDOR


def missing_assets(static_dir: Path | None = None) -> list[str]:
    """Files of :data:`VENDOR_FILES` absent from ``static/vendor`` (empty when installed)."""
    vendor = (static_dir or default_static_dir()) / _VENDOR
    return [rel for rel in VENDOR_FILES if not (vendor / rel).exists()]


def _replace_dir(tmp: Path, final: Path) -> None:
    """Put the filled folder ``tmp`` in the place of ``final`` (the old one removed)."""
    shutil.rmtree(final, ignore_errors=True)
    tmp.rename(final)


def install_assets(node_modules: Path, vendor_dir: Path | None = None) -> list[Path]:
    """Copy the map's browser libraries from ``node_modules`` into the shipped copy.

    Parameters
    ----------
    node_modules
        The ``node_modules`` folder ``npm ci`` filled from ``package-lock.json``.
    vendor_dir
        The folder to (re)write (default :func:`packaged_vendor_dir`, ``anzhi/ui/vendor``).

    Returns
    -------
    list of Path
        The files and folders written, plus ``manifest.json`` (package versions).

    Raises
    ------
    DataSourceError
        A file is missing from ``node_modules`` (listing all of them).
    """
    node_modules = Path(node_modules)
    missing = [src for src in VENDOR_FILES.values() if not (node_modules / src).exists()]
    if missing:
        raise DataSourceError(
            f"{node_modules}: missing {', '.join(missing)}; run `npm ci` in the repository "
            "root (make assets) so the packages of package-lock.json are installed"
        )
    vendor = Path(vendor_dir) if vendor_dir is not None else packaged_vendor_dir()
    tmp = vendor.with_name(vendor.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    written: list[Path] = []
    for dst_rel, src_rel in VENDOR_FILES.items():
        src, dst = node_modules / src_rel, tmp / dst_rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dst)
        else:
            shutil.copy2(src, dst)
        written.append(vendor / dst_rel)
    versions = {}
    for src_rel in VENDOR_FILES.values():
        parts = Path(src_rel).parts
        pkg = "/".join(parts[:2]) if parts[0].startswith("@") else parts[0]
        meta = json.loads((node_modules / pkg / "package.json").read_text(encoding="utf-8"))
        versions[pkg] = meta.get("version", "")
    (tmp / _MANIFEST).write_text(json.dumps(versions, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    _replace_dir(tmp, vendor)
    return [*written, vendor / _MANIFEST]


def deploy_assets(static_dir: Path | None = None, *, source: Path | None = None) -> Path:
    """Copy the shipped libraries into ``static/vendor``, where Streamlit serves them.

    Parameters
    ----------
    static_dir
        The app's static folder (default :func:`default_static_dir`).
    source
        The shipped copy (default :func:`packaged_vendor_dir`).

    Returns
    -------
    Path
        The ``static/vendor`` folder written (a temporary sibling renamed into place, so a
        half-copied folder is never served).

    Raises
    ------
    DataSourceError
        The shipped copy lacks files (listing them): reinstall Anzhi, or ``make assets``.
    """
    src = Path(source) if source is not None else packaged_vendor_dir()
    missing = [rel for rel in VENDOR_FILES if not (src / rel).exists()]
    if missing:
        raise DataSourceError(
            f"{src}: the shipped map assets lack {', '.join(missing)}; reinstall Anzhi "
            "(pip install -e .) or refresh them with `make assets` (needs npm)"
        )
    vendor = (static_dir or default_static_dir()) / _VENDOR
    tmp = vendor.with_name(f"{vendor.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(src, tmp, ignore=shutil.ignore_patterns("__pycache__"))
    _replace_dir(tmp, vendor)
    return vendor


class _IconImagePath(MacroElement):
    """Sets ``L.Icon.Default.imagePath`` (Leaflet's default marker images) before any marker."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            L.Icon.Default.imagePath = {{ this.path|tojson }};
        {% endmacro %}
        """
    )

    def __init__(self, path: str) -> None:
        super().__init__()
        self._name = "AnzhiIconImagePath"
        self.path = path


def _walk(element: Element) -> Iterator[Element]:
    yield element
    for child in list(element._children.values()):
        yield from _walk(child)


def localise_map(m: folium.Map, *, base_url: str) -> folium.Map:
    """Point every CDN link of ``m`` and its children at the app's own copies.

    Each :class:`folium.elements.JSCSSMixin` element of the map gets *instance* lists
    ``default_js`` / ``default_css`` with local URLs (folium's class attributes are left
    alone, so other maps in the process are unaffected); the links in :data:`UNUSED_LINKS`
    are dropped.  Leaflet's default icon path is set to the local ``leaflet/images/``.
    Call it after every layer and plugin is added (and before rendering).

    Parameters
    ----------
    m
        The map (changed in place and returned).
    base_url
        URL path of ``static/vendor`` as served, e.g. :func:`vendor_url` →
        ``"/app/static/vendor"``.

    Raises
    ------
    ValueError
        An element links a resource with no local copy (a programming error: add it to
        :data:`VENDOR_FILES` and :data:`LOCAL_LINKS`, or to :data:`UNUSED_LINKS`).
    """
    base = base_url.rstrip("/")
    unknown: list[str] = []
    for el in _walk(m):
        if not isinstance(el, JSCSSMixin):
            continue
        for attr in ("default_js", "default_css"):
            links: list[tuple[str, str]] = []
            for name, url in getattr(el, attr):
                if name in UNUSED_LINKS:
                    continue
                if url.startswith(base + "/"):
                    links.append((name, url))  # already local (localised twice)
                elif name in LOCAL_LINKS:
                    links.append((name, f"{base}/{LOCAL_LINKS[name]}"))
                else:
                    unknown.append(f"{type(el).__name__}.{attr} {name!r} ({url})")
            setattr(el, attr, links)
    if unknown:
        raise ValueError(
            "no local copy of " + "; ".join(unknown)
            + ": add the npm package to package.json and the file to anzhi.ui.webassets"
        )
    if not any(isinstance(el, _IconImagePath) for el in m._children.values()):
        icon = _IconImagePath(f"{base}/leaflet/images/")
        # first child of the map, so it runs before any marker is created
        icon._parent = m
        m._children = type(m._children)([(icon.get_name(), icon), *m._children.items()])
    return m


def external_links(m: folium.Map) -> list[str]:
    """Every ``http(s)://`` script or stylesheet link of ``m`` and its children (what
    streamlit-folium would load into the map iframe)."""
    out: list[str] = []
    for el in _walk(m):
        for attr in ("default_js", "default_css"):
            out += [url for _, url in getattr(el, attr, []) if "://" in url or url.startswith("//")]
    return out


def _main(argv: list[str]) -> int:
    """``python -m anzhi.ui.webassets deploy | install [NODE_MODULES] | check``."""
    try:
        if argv[:1] == ["deploy"]:
            vendor = deploy_assets()
            print(f"anzhi: map assets served from {vendor}")
            return 0
        if argv[:1] == ["install"]:
            node_modules = Path(argv[1]) if len(argv) > 1 else Path.cwd() / "node_modules"
            written = install_assets(node_modules)
            print(f"anzhi: {len(written)} map assets in {packaged_vendor_dir()}")
            return 0
    except DataSourceError as exc:
        print(f"anzhi: {exc}", file=sys.stderr)
        return 1
    if argv[:1] == ["check"]:
        missing = missing_assets()
        if missing:
            print("anzhi: missing map assets: " + ", ".join(missing)
                  + " (run `python -m anzhi.ui.webassets deploy`)", file=sys.stderr)
            return 1
        print("anzhi: map assets complete")
        return 0
    print("usage: python -m anzhi.ui.webassets deploy | install [NODE_MODULES] | check",
          file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
