"""``anzhi map``: the printed thematic map (PNG/PDF) of the demo county, and the sites drawn
where they are (pixel checks on a tiny synthetic region rendered by
:func:`layers.printmap.render_map`)."""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
import rasterio
from affine import Affine
from PIL import Image
from shapely.geometry import Point, box

from anzhi.cli import main
from layers.mapstyle import (STATUS_COLOURS, STEEP_ALPHA, STEEP_COLOUR, FontMissingError,
                             find_cjk_font)
from layers.printmap import PrintedMap, map_frames, render_map

BACKGROUND = "#fbfaf6"  # the map frame's fill

REPO = Path(__file__).resolve().parents[1]


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out = capsys.readouterr()
    return code, out.out, out.err


# ------------------------------------------------------------------- the demo county


def test_demo_png_is_an_a4_page(demo, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "tmp" / "map.png"
    code, text, err = _run(["map", "--demo", "--out", str(out), "--quiet", "--dpi", "100"],
                           capsys)
    assert code == 0, err
    data = out.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    with Image.open(io.BytesIO(data)) as im:
        assert im.size == (1169, 827)  # A4 landscape at 100 dpi
        rgb = np.asarray(im.convert("RGB"))
    assert len(data) > 50_000  # a drawn map, not a blank page
    n_sites = len(pd.read_excel(demo.sites))
    assert f"map of {n_sites} sites" in text
    # the worst status over all rules of the demo: some site is drawn red (gap_missing)
    red = np.array([0xD7, 0x30, 0x27])
    assert (np.abs(rgb.astype(int) - red).sum(axis=2) < 12).sum() > 100
    # the demo's DEM is steep in places: land > 25° is tinted
    tint = _blend(STEEP_COLOUR, BACKGROUND, STEEP_ALPHA)
    assert (np.abs(rgb.astype(int) - tint).sum(axis=2) < 12).sum() > 10_000
    if find_cjk_font() is not None:
        assert "labels zh" in text and err == ""
    else:  # no Chinese font here: English labels, and the warning names the package
        assert "labels en" in text and "fonts-noto-cjk" in err


def test_demo_pdf_of_one_township_and_type(demo, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "甸阳镇.pdf"
    code, text, err = _run(["map", "--demo", "--type", "卫生室", "--township", "甸阳镇",
                            "--out", str(out), "--quiet"], capsys)
    assert code == 0, err
    data = out.read_bytes()
    assert data.startswith(b"%PDF") and data.rstrip().endswith(b"%%EOF")
    sites = pd.read_excel(demo.sites)
    n_township = int((sites["乡镇"] == "甸阳镇").sum())
    assert 0 < n_township < len(sites)
    assert f"map of {n_township} sites (卫生室;" in text


def test_bad_type_font_or_format_is_refused_before_routing(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "map.png"
    code, _, err = _run(["map", "--demo", "--type", "hospital_xyz", "--out", str(out)], capsys)
    assert code == 2
    assert "not a facility type" in err and "hospital_xyz" in err and "clinic (卫生室)" in err
    # a known type that no rule of the preset checks
    code, _, err = _run(["map", "--demo", "--type", "托育机构", "--out", str(out)], capsys)
    assert code == 2
    assert "no rule of the rule set default" in err and "childcare" in err
    code, _, err = _run(["map", "--demo", "--out", str(tmp_path / "map.jpg")], capsys)
    assert code == 2 and ".png or .pdf" in err
    code, _, err = _run(["map", "--demo", "--font", str(tmp_path / "NoSuch.ttf"), "--out",
                         str(out)], capsys)
    assert code == 2 and "NoSuch.ttf" in err and "fonts-noto-cjk" in err
    assert not out.exists() and not (tmp_path / "map.jpg").exists()


def test_map_command_does_not_load_matplotlib_until_it_draws() -> None:
    code = ("from anzhi.cli import build_parser; build_parser(); import sys; "
            "print('matplotlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=REPO)
    assert out.stdout.strip() == "False"


# ------------------------------------------------------------- a tiny synthetic region

# Two townships side by side (A west, B east); sites at known places, statuses chosen.
_SITES = [  # site_id, township, lon, lat
    ("S1", "A", 100.010, 25.020),
    ("S2", "A", 100.030, 25.030),
    ("S3", "A", 100.015, 25.040),
    ("S4", "B", 100.058, 25.030),
]
_GAPS = [  # site_id, facility_type, status
    ("S1", "clinic", "ok"),
    ("S1", "kindergarten", "gap_missing"),  # worst of S1: gap_missing; for clinic: ok
    ("S2", "clinic", "unroutable"),
    ("S3", "clinic", "gap_capacity"),
    ("S4", "clinic", "ok_shared"),
]


def _region() -> tuple[gpd.GeoDataFrame, pd.DataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    sites = gpd.GeoDataFrame(
        {"site_id": [s[0] for s in _SITES], "site_name": [f"Site {s[0]}" for s in _SITES],
         "township": [s[1] for s in _SITES], "population": [500] * len(_SITES)},
        geometry=[Point(s[2], s[3]) for s in _SITES], crs="EPSG:4326")
    gaps = pd.DataFrame(_GAPS, columns=["site_id", "facility_type", "status"])
    facilities = gpd.GeoDataFrame({"facility_id": ["F1"], "facility_type": ["clinic"]},
                                  geometry=[Point(100.045, 25.005)], crs="EPSG:4326")
    townships = gpd.GeoDataFrame({"township": ["A", "B"]},
                                 geometry=[box(100.0, 25.0, 100.045, 25.05),
                                           box(100.045, 25.0, 100.09, 25.05)], crs="EPSG:4326")
    return sites, gaps, facilities, townships


def _pixel(printed: PrintedMap, lon: float, lat: float) -> tuple[int, int]:
    """The image pixel (column, row) of a point: the map's projection, then the linear map of
    its extent onto the map frame."""
    x, y = pyproj.Transformer.from_crs(4326, printed.crs, always_xy=True).transform(lon, lat)
    left, bottom, right, top = printed.extent_m
    px0, py0, px1, py1 = printed.map_box_px
    col = px0 + (x - left) / (right - left) * (px1 - px0)
    row = py0 + (top - y) / (top - bottom) * (py1 - py0)
    return int(col), int(row)


def _colour_at(rgb: np.ndarray, col: int, row: int) -> np.ndarray:
    return rgb[row - 1:row + 2, col - 1:col + 2].reshape(-1, 3).astype(int)


def _rgb(hex_colour: str) -> np.ndarray:
    return np.array([int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)])


def _blend(top: str, bottom: str, alpha: float) -> np.ndarray:
    return np.round(alpha * _rgb(top) + (1 - alpha) * _rgb(bottom)).astype(int)


def _is(rgb: np.ndarray, col: int, row: int, colour: str | np.ndarray, tol: int = 6) -> bool:
    want = _rgb(colour) if isinstance(colour, str) else colour
    return bool((np.abs(_colour_at(rgb, col, row) - want).sum(axis=1) <= tol).all())


def _render(**kw: object) -> tuple[PrintedMap, np.ndarray]:
    sites, gaps, facilities, townships = _region()
    frames = map_frames(sites, gaps, facilities, townships=townships, region="Test",
                        township=kw.pop("township", None),  # type: ignore[arg-type]
                        facility_type=kw.pop("facility_type", None),  # type: ignore[arg-type]
                        steep=kw.pop("steep", None))  # type: ignore[arg-type]
    frames = replace(frames, slope=kw.pop("slope", None))  # type: ignore[arg-type]
    printed = render_map(frames, lang="en", dpi=100, **kw)  # type: ignore[arg-type]
    with Image.open(io.BytesIO(printed.data)) as im:
        return printed, np.asarray(im.convert("RGB"))


def test_sites_are_drawn_in_their_status_colour_where_they_are() -> None:
    printed, rgb = _render()
    assert rgb.shape[:2] == (printed.size_px[1], printed.size_px[0])
    worst = {"S1": "gap_missing", "S2": "unroutable", "S3": "gap_capacity", "S4": "ok_shared"}
    for sid, _, lon, lat in _SITES:
        col, row = _pixel(printed, lon, lat)
        assert _is(rgb, col, row, STATUS_COLOURS[worst[sid]]), (sid, _colour_at(rgb, col, row))
    # between the sites: the map's background, no site colour
    col, row = _pixel(printed, 100.022, 25.012)
    assert not any(_is(rgb, col, row, c) for c in STATUS_COLOURS.values())
    assert printed.n_sites == 4 and printed.lang == "en"


def test_type_colours_by_that_types_rules_only() -> None:
    printed, rgb = _render(facility_type="卫生室")
    col, row = _pixel(printed, 100.010, 25.020)
    assert _is(rgb, col, row, STATUS_COLOURS["ok"])  # S1's clinic rule, not its kindergarten gap


def test_township_draws_only_its_sites() -> None:
    printed, rgb = _render(township="A")
    assert printed.n_sites == 3
    col, row = _pixel(printed, 100.058, 25.030)  # S4 of township B, inside the frame
    px0, py0, px1, py1 = printed.map_box_px
    assert px0 < col < px1 and py0 < row < py1
    assert not _is(rgb, col, row, STATUS_COLOURS["ok_shared"])
    col, row = _pixel(printed, 100.030, 25.030)
    assert _is(rgb, col, row, STATUS_COLOURS["unroutable"])


# steep land in the south-east of township B, where no site, road or label is
_STEEP_BOX = (100.050, 25.004, 100.086, 25.020)


def _slope_tif(path: Path) -> Path:
    """A slope GeoTIFF (degrees, EPSG:4326): 40° inside :data:`_STEEP_BOX`, 10° elsewhere."""
    res = 0.0005
    left, top, width, height = 99.98, 25.07, 260, 180
    lon = left + (np.arange(width) + 0.5) * res
    lat = top - (np.arange(height) + 0.5) * res
    steep = ((lon[None, :] > _STEEP_BOX[0]) & (lon[None, :] < _STEEP_BOX[2])
             & (lat[:, None] > _STEEP_BOX[1]) & (lat[:, None] < _STEEP_BOX[3]))
    data = np.where(steep, 40.0, 10.0).astype(np.float32)
    with rasterio.open(path, "w", driver="GTiff", width=width, height=height, count=1,
                       dtype="float32", crs="EPSG:4326", nodata=-9999.0,
                       transform=Affine(res, 0.0, left, 0.0, -res, top)) as dst:
        dst.write(data, 1)
    return path


@pytest.mark.parametrize("source", ["slope raster", "polygons"])
def test_steep_land_is_tinted_where_it_is(source: str, tmp_path: Path) -> None:
    if source == "slope raster":
        printed, rgb = _render(slope=_slope_tif(tmp_path / "slope.tif"))
    else:
        steep = gpd.GeoDataFrame({"area_m2": [1.0]}, geometry=[box(*_STEEP_BOX)],
                                 crs="EPSG:4326")
        printed, rgb = _render(steep=steep)
    tint = _blend(STEEP_COLOUR, BACKGROUND, STEEP_ALPHA)
    assert _is(rgb, *_pixel(printed, 100.078, 25.010), tint, tol=8)
    assert _is(rgb, *_pixel(printed, 100.078, 25.042), BACKGROUND)  # B's north: not steep
    col, row = _pixel(printed, 100.010, 25.020)  # S1 is drawn over the land
    assert _is(rgb, col, row, STATUS_COLOURS["gap_missing"])


def test_unknown_township_and_type_name_the_choices() -> None:
    sites, gaps, facilities, townships = _region()
    with pytest.raises(ValueError, match=r"no such township.*give one of: A, B"):
        map_frames(sites, gaps, facilities, townships=townships, township="C")
    with pytest.raises(ValueError, match=r"not a facility type.*clinic \(卫生室\), "
                                         r"kindergarten \(幼儿园\)"):
        map_frames(sites, gaps, facilities, facility_type="clinc")


def test_pdf_bytes_and_the_file_written(tmp_path: Path) -> None:
    sites, gaps, facilities, townships = _region()
    frames = map_frames(sites, gaps, facilities, townships=townships)
    out = tmp_path / "sub" / "m.pdf"
    printed = render_map(frames, out=out, lang="en")
    assert printed.data.startswith(b"%PDF") and out.read_bytes() == printed.data
    assert printed.path == out and printed.format == "pdf"
    assert [p.name for p in out.parent.iterdir()] == ["m.pdf"]  # no temporary file left
    with pytest.raises(ValueError, match=r"PNG or PDF.*\.png or \.pdf"):
        render_map(frames, out=tmp_path / "m.svg")


def test_chinese_labels_need_a_cjk_font() -> None:
    sites, gaps, facilities, townships = _region()
    frames = map_frames(sites, gaps, facilities)
    with pytest.raises(FontMissingError, match="fonts-noto-cjk"):
        render_map(frames, lang="zh", font=Path("/nonexistent/NoSuchFont.ttf"))
    listed = shutil.which("fc-list") and subprocess.run(
        ["fc-list", ":lang=zh", "file"], capture_output=True, text=True).stdout.strip()
    found = find_cjk_font()
    if listed:  # fontconfig knows a Chinese font: it is found and the labels are Chinese
        assert found is not None and str(found.path) in listed
        printed = render_map(frames, lang="auto")
        assert printed.lang == "zh" and printed.font == found and printed.warnings == ()
    else:  # none on this machine: auto falls back to English and says what to install
        assert found is None
        printed = render_map(frames, lang="auto")
        assert printed.lang == "en" and "fonts-noto-cjk" in printed.warnings[0]
