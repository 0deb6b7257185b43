"""Offline basemap: MBTiles unpacked into the app's XYZ folder, and the basemap choices."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from anzhi.cli import main
from anzhi.core.errors import DataSourceError, InputError
from layers.tiles import unpack_mbtiles

PNG = b"\x89PNG\r\n\x1a\n" + b"x" * 20


def _mbtiles(path: Path, fmt: str = "png") -> Path:
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE metadata (name text, value text)")
    con.execute("CREATE TABLE tiles (zoom_level int, tile_column int, tile_row int, tile_data blob)")
    con.execute("INSERT INTO metadata VALUES ('format', ?)", (fmt,))
    # zoom 2: TMS row 0 is the southernmost, XYZ row 3
    con.executemany("INSERT INTO tiles VALUES (?, ?, ?, ?)",
                    [(0, 0, 0, PNG + b"0"), (2, 1, 0, PNG + b"a"), (2, 3, 2, PNG + b"b")])
    con.commit()
    con.close()
    return path


def test_mbtiles_unpack_flips_rows_to_xyz(tmp_path: Path) -> None:
    src = _mbtiles(tmp_path / "c.mbtiles")
    out = tmp_path / "static" / "tiles"
    assert main(["tiles", "--mbtiles", str(src), "--out", str(out)]) == 0
    assert (out / "0" / "0" / "0.png").read_bytes() == PNG + b"0"
    assert (out / "2" / "1" / "3.png").read_bytes() == PNG + b"a"
    assert (out / "2" / "3" / "1.png").read_bytes() == PNG + b"b"
    (out / "stale.txt").write_text("x")
    assert unpack_mbtiles(src, out) == 3  # replaced whole
    assert not (out / "stale.txt").exists()


def test_bad_mbtiles(tmp_path: Path) -> None:
    bad = tmp_path / "x.mbtiles"
    bad.write_bytes(b"not sqlite")
    with pytest.raises(DataSourceError, match="not an MBTiles file"):
        unpack_mbtiles(bad, tmp_path / "t")
    with pytest.raises(InputError, match="'pbf'.*raster"):
        unpack_mbtiles(_mbtiles(tmp_path / "v.mbtiles", "pbf"), tmp_path / "t")
    assert not (tmp_path / "t").exists()


def test_basemap_templates_draw_their_tiles() -> None:
    import geopandas as gpd
    import shapely

    from anzhi.ui.controls import LOCAL_TILES_URL, TIANDITU_URL
    from anzhi.ui.mapping import build_map

    sites = gpd.GeoDataFrame({"site_id": ["a"], "site_name": ["A"], "township": ["T"],
                              "population": [900]}, geometry=[shapely.Point(99.2, 24.6)],
                             crs="EPSG:4326")
    fac = gpd.GeoDataFrame({"facility_id": [], "name": [], "facility_type": [], "capacity": []},
                           geometry=[], crs="EPSG:4326")
    html = build_map(sites, fac, {"a": "ok"}, tiles=LOCAL_TILES_URL).get_root().render()
    assert "/app/static/tiles/{z}/{x}/{y}.png" in html
    html = build_map(sites, fac, {"a": "ok"}, tiles=TIANDITU_URL + "KEY").get_root().render()
    assert "https://t{s}.tianditu.gov.cn/vec_w/wmts" in html
    assert "\\u0026tk=KEY" in html or "&tk=KEY" in html  # & is JSON-escaped in the script
    assert "\\u5929\\u5730\\u56fe" in html or "天地图" in html  # the attribution
