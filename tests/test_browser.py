"""The served app in a real, headless Chromium with every non-loopback request blocked.

Starts ``streamlit run app.py`` on a free loopback port, loads the page in Debian's
``chromium`` through Playwright (never a downloaded browser) and checks that the map draws
with no internet — Leaflet and its plugins come from the app's own ``static/vendor`` — with a
circle per site and facility markers, and that the gap table is shown; then that a click on
a site selects its rows and that English is one click away (translated widgets keep their
values).  The screenshot is saved as ``test-artifacts/browser.png``.  The server is stopped
by its PID.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest

from anzhi.ui.webassets import missing_assets

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
START_TIMEOUT_S = 90
MAP_TIMEOUT_MS = 120_000


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"streamlit exited with {proc.returncode}:\n{log.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.3)
    pytest.fail(f"streamlit did not answer within {START_TIMEOUT_S} s:\n{log.read_text(errors='replace')}")


@pytest.fixture(scope="module")
def served_app(tmp_path_factory: pytest.TempPathFactory, demo) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """URL of ``streamlit run app.py`` on a free loopback port (stopped by PID afterwards);
    the demo county is built first, in the test session's cache folder the server shares."""
    missing = missing_assets()
    if missing:
        message = f"map assets missing from static/vendor ({', '.join(missing[:3])}...): run `make assets`"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    port = _free_port()
    log = tmp_path_factory.mktemp("streamlit") / "server.log"
    env = dict(os.environ)  # ANZHI_CACHE_DIR of the test session (tests/conftest.py)
    cmd = [
        sys.executable, "-m", "streamlit", "run", str(REPO / "app.py"),
        "--server.address", "127.0.0.1",
        "--server.port", str(port),
        "--server.headless", "true",
        "--server.enableStaticServing", "true",
        "--server.fileWatcherType", "none",
        "--browser.gatherUsageStats", "false",
    ]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_healthy(url, proc, log)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


def test_map_draws_offline_with_sites_and_gap_table(served_app: str, chromium_bin: str, demo) -> None:
    from playwright.sync_api import expect, sync_playwright

    from layers.sites import read_sites

    table = read_sites(demo.sites)
    n_sites = len(table)
    biggest = str(table.sort_values("population", ascending=False)["site_id"].iloc[0])
    blocked: list[str] = []

    def only_loopback(route) -> None:  # type: ignore[no-untyped-def]
        url = route.request.url
        if url.startswith(("data:", "blob:")) or urlparse(url).hostname in LOCAL_HOSTS:
            route.continue_()
        else:
            blocked.append(url)
            route.abort()

    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "browser.png"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_bin, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1500, "height": 1900}, locale="zh-CN")
            context.route("**/*", only_loopback)
            page = context.new_page()
            page.goto(served_app, wait_until="domcontentloaded")
            frame_el = page.wait_for_selector('iframe[title="streamlit_folium.st_folium"]',
                                              timeout=MAP_TIMEOUT_MS)
            assert frame_el is not None
            frame = frame_el.content_frame()
            assert frame is not None
            frame.wait_for_selector("div.leaflet-container", timeout=MAP_TIMEOUT_MS)
            frame.wait_for_function(
                "n => document.querySelectorAll('path.anzhi-site').length >= n",
                arg=n_sites, timeout=MAP_TIMEOUT_MS,
            )
            # Leaflet came from the app itself, and the map has all its parts
            assert frame.evaluate("typeof L !== 'undefined' && L.version") == "1.9.3"
            assert frame.locator("path.anzhi-site").count() == n_sites
            assert frame.locator(".anzhi-facility").count() > 0
            assert frame.locator(".anzhi-legend").count() == 1
            assert frame.locator(".leaflet-control-scale").count() == 1
            assert frame.locator(".leaflet-control-zoom-fullscreen").count() == 1
            assert frame.locator(".leaflet-control-layers").count() == 1
            scripts = frame.evaluate("[...document.scripts].map(s => s.src).filter(Boolean)")
            assert any(s.endswith("/app/static/vendor/leaflet/leaflet.js") for s in scripts), scripts
            # the gap list is on the page
            page.get_by_text("缺口清单").first.wait_for(timeout=MAP_TIMEOUT_MS)
            assert page.locator('[data-testid="stDataFrame"]').count() >= 2
            frame_el.scroll_into_view_if_needed()
            page.wait_for_timeout(500)  # let the vector layers finish painting
            page.screenshot(path=str(shot), full_page=True)

            # a click on a site circle selects that site's rows in the gap list
            frame = _map_frame(page)
            frame.wait_for_function(
                "n => document.querySelectorAll('path.anzhi-site').length >= n",
                arg=n_sites, timeout=MAP_TIMEOUT_MS,
            )
            # (the biggest site, clicked where it is: the layer's own click, as a user's)
            hit = frame.evaluate(
                "id => { let hit = null; window.map.eachLayer(l => { if (!hit && l.feature &&"
                " l.feature.properties && l.feature.properties.site_id === id) hit = l; });"
                " if (hit) hit.fire('click', {latlng: hit.getLatLng()}); return !!hit; }", biggest)
            assert hit
            page.get_by_text("已在地图上选中").first.wait_for(timeout=MAP_TIMEOUT_MS)
            # and draws its routes to the nearest facilities (the map is drawn anew)
            deadline = time.monotonic() + MAP_TIMEOUT_MS / 1000
            n_routes = 0
            while time.monotonic() < deadline and not n_routes:
                try:
                    n_routes = _map_frame(page, timeout_ms=5_000).locator("path.anzhi-route").count()
                except Exception:  # the iframe is being replaced  # noqa: BLE001
                    n_routes = 0
                page.wait_for_timeout(300)
            assert n_routes > 0, "no route drawn for the selected site"
            page.get_by_role("button", name="显示全部安置点").click()
            page.get_by_text("已在地图上选中").first.wait_for(state="detached", timeout=MAP_TIMEOUT_MS)

            # English one click away: translated widgets keep their values (Streamlit keeps
            # them as translated labels, which only a real browser sends back)
            page.get_by_text("English", exact=True).first.click()
            page.get_by_text("Gap list", exact=True).first.wait_for(timeout=MAP_TIMEOUT_MS)
            page.get_by_role("radio", name="Walk").wait_for(timeout=MAP_TIMEOUT_MS)
            expect(page.get_by_role("radio", name="Walk")).to_be_checked(timeout=MAP_TIMEOUT_MS)
            expect(page.get_by_role("radio", name="None (offline)")).to_be_checked(
                timeout=MAP_TIMEOUT_MS)
            _map_frame(page, ready="n => document.querySelectorAll('path.anzhi-site').length >= n",
                       arg=n_sites)
            assert page.locator('[data-testid="stException"]').count() == 0
            assert page.locator('[data-testid="stAlertContentError"]').count() == 0
        finally:
            browser.close()
    assert shot.stat().st_size > 10_000
    # nothing on the page tried to reach the internet (no CDN, no tiles, no fonts)
    assert blocked == [], blocked


def _map_frame(page, timeout_ms: int = MAP_TIMEOUT_MS, *,  # type: ignore[no-untyped-def]
               ready: str = "() => !!(window.map && window.map.getZoom)", arg: object = None):
    """The st_folium iframe's frame once ``ready`` holds in it (default: its Leaflet map
    exists), waiting out an iframe that a rerun replaces meanwhile."""
    deadline = time.monotonic() + timeout_ms / 1000
    last: Exception | None = None
    while time.monotonic() < deadline:
        left = max(int((deadline - time.monotonic()) * 1000), 1)
        try:
            frame_el = page.wait_for_selector('iframe[title="streamlit_folium.st_folium"]',
                                              timeout=left)
            frame = frame_el.content_frame() if frame_el is not None else None
            if frame is not None:
                frame.wait_for_function(ready, arg=arg, timeout=left)
                return frame
        except Exception as exc:  # the iframe was replaced under us  # noqa: BLE001
            last = exc
        page.wait_for_timeout(200)
    raise AssertionError(f"the map's iframe never settled: {last}")


def test_threshold_change_keeps_the_maps_zoom_and_centre(served_app: str, chromium_bin: str) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_bin, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1500, "height": 1900}, locale="zh-CN")
            context.route("**/*", lambda route: route.continue_()
                          if urlparse(route.request.url).hostname in LOCAL_HOSTS
                          or route.request.url.startswith(("data:", "blob:")) else route.abort())
            page = context.new_page()
            page.goto(served_app, wait_until="domcontentloaded")
            frame = _map_frame(page)
            page.wait_for_timeout(1500)  # the first fit and its report settle
            fitted = frame.evaluate("window.map.getZoom()")
            want = int(fitted) + 2
            # the planner zooms in on a part of the county
            target = frame.evaluate(
                "z => { const b = window.map.getBounds(); const c = b.getCenter();"
                " const t = [c.lat + (b.getNorth() - c.lat) / 3, c.lng + (b.getEast() - c.lng) / 3];"
                " window.map.setView(t, z, {animate: false}); window.__anzhi_first = true;"
                " return t; }", want)
            page.wait_for_timeout(2000)  # the view is reported (250 ms debounce) and rerun
            # then changes a threshold: the statuses change, so the map is drawn anew
            box = page.locator('input[aria-label="800人以上安置点设规范化警务室 · 人数门槛(人)"]')
            box.fill("1000")
            box.press("Enter")
            deadline = time.monotonic() + MAP_TIMEOUT_MS / 1000
            got = None
            while time.monotonic() < deadline:
                try:
                    frame = _map_frame(page, timeout_ms=5_000)
                    got = frame.evaluate(
                        "() => window.__anzhi_first ? null : [window.map.getZoom(),"
                        " window.map.getCenter().lat, window.map.getCenter().lng]")
                except Exception:  # the iframe is being replaced  # noqa: BLE001
                    got = None
                if got is not None and got[0] == want:
                    break
                page.wait_for_timeout(300)
            assert got is not None, "the map was not drawn anew after the threshold change"
            # the printable map of this view downloads as a PNG
            page.get_by_role("button", name="生成专题图").click()
            link = page.get_by_role("button", name="专题图_all_all.png")
            link.wait_for(timeout=MAP_TIMEOUT_MS)
            with page.expect_download(timeout=MAP_TIMEOUT_MS) as dl:
                link.click()
            png = Path(dl.value.path()).read_bytes()
            assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 50_000
            assert got[0] == want, (got, want, fitted)
            assert got[1] == pytest.approx(target[0], abs=1e-3)
            assert got[2] == pytest.approx(target[1], abs=1e-3)
            assert page.locator('[data-testid="stException"]').count() == 0
        finally:
            browser.close()
