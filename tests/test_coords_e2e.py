"""Which coordinate system each facility source follows in a region run (issue 16, point 1).

Every case loads the demo county's own site table (GCJ-02 in its 坐标系 column) and road file
with a facility file of its own through :func:`anzhi.pipeline.load_region`, and measures in
metres how far each facility lands from where it truly is.  The last test runs the README's
own-county command on the demo's files and compares its statuses with ``--demo``.
"""

from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from pyproj import Geod
from shapely.geometry import Point

from anzhi.pipeline import RegionInputs, load_region, run_region
from geo.coords import wgs84_to_gcj02
from tests._osmxml import osm_xml

GEOD = Geod(ellps="WGS84")

#: True WGS84 positions of three facilities inside the demo county (99.2°E, 24.7°N).
LON = np.array([99.15, 99.20, 99.25])
LAT = np.array([24.65, 24.70, 24.75])
TYPES = ["clinic", "kindergarten", "police_room"]


def _shift_m(fac: gpd.GeoDataFrame, ids: list[str]) -> np.ndarray:
    """Distance (m) of the facilities ``ids`` from the true positions LON/LAT, in order."""
    rows = fac.set_index("facility_id").loc[ids]
    _, _, d = GEOD.inv(rows.geometry.x.to_numpy(), rows.geometry.y.to_numpy(), LON, LAT)
    return np.asarray(d)


def _load(demo, facility: Path, *, coords: str | None = None,  # type: ignore[no-untyped-def]
          facility_coords: str | None = None):
    inputs = RegionInputs(sites=demo.sites, roads=demo.roads, facilities=(facility,),
                          coords=coords, facility_coords=facility_coords)
    return load_region(inputs)


def _gcj_shift_m() -> np.ndarray:
    glon, glat = wgs84_to_gcj02(LON, LAT)
    _, _, d = GEOD.inv(glon, glat, LON, LAT)
    return np.asarray(d)


def test_the_gcj02_shift_is_300_to_600_m_here() -> None:
    # what the cases below tell apart
    assert ((_gcj_shift_m() > 300) & (_gcj_shift_m() < 600)).all()


def test_table_without_coordinate_column_follows_coords(demo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    glon, glat = wgs84_to_gcj02(LON, LAT)
    path = tmp_path / "设施.csv"
    pd.DataFrame({"编号": ["T1", "T2", "T3"], "类型": TYPES, "经度": glon, "纬度": glat}).to_csv(
        path, index=False)
    # --coords gcj02 (for the sites) is the default of a table that declares nothing
    assert _shift_m(_load(demo, path, coords="gcj02").facilities, ["T1", "T2", "T3"]).max() < 1.0
    # without it the same values are taken as WGS84: off by the whole shift
    off = _shift_m(_load(demo, path).facilities, ["T1", "T2", "T3"])
    assert (off > 300).all()


def test_table_coordinate_column_wins_over_coords(demo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "设施.xlsx"
    pd.DataFrame({"编号": ["T1", "T2", "T3"], "类型": TYPES, "经度": LON, "纬度": LAT,
                  "坐标系": ["WGS84"] * 3}).to_excel(path, index=False)
    data = _load(demo, path, coords="gcj02")
    assert _shift_m(data.facilities, ["T1", "T2", "T3"]).max() < 0.01


def _gpkg(tmp_path: Path) -> Path:
    path = tmp_path / "设施.gpkg"
    gpd.GeoDataFrame({"id": ["G1", "G2", "G3"], "type": TYPES},
                     geometry=[Point(x, y) for x, y in zip(LON, LAT, strict=True)],
                     crs="EPSG:4326").to_file(path)
    return path


def test_declared_epsg4326_layer_ignores_coords(demo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data = _load(demo, _gpkg(tmp_path), coords="gcj02")
    assert _shift_m(data.facilities, ["G1", "G2", "G3"]).max() < 0.01


def test_facility_coords_moves_a_declared_epsg4326_layer(demo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # the layer's values are really GCJ-02: --facility-coords says so explicitly
    data = _load(demo, _gpkg(tmp_path), coords="gcj02", facility_coords="gcj02")
    moved = _shift_m(data.facilities, ["G1", "G2", "G3"])
    assert ((moved > 300) & (moved < 600)).all()
    np.testing.assert_allclose(moved, _gcj_shift_m(), atol=1.0)


def test_osm_facilities_stay_wgs84(demo, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[no-untyped-def]
    tags = [{"amenity": "clinic"}, {"amenity": "kindergarten"}, {"amenity": "police"}]
    path = tmp_path / "pois.osm"
    path.write_text(osm_xml({i + 1: (float(LON[i]), float(LAT[i])) for i in range(3)}, [],
                            node_tags={i + 1: tags[i] for i in range(3)}), encoding="utf-8")
    ids = ["node/1", "node/2", "node/3"]
    assert _shift_m(_load(demo, path, coords="gcj02").facilities, ids).max() < 0.01
    with caplog.at_level(logging.WARNING, logger="layers.facilities"):
        data = _load(demo, path, coords="gcj02", facility_coords="gcj02")
    assert _shift_m(data.facilities, ids).max() < 0.01
    assert "OSM data is WGS84" in caplog.text


def test_yes_no_columns_sit_at_the_converted_sites(demo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data = _load(demo, _gpkg(tmp_path), coords="gcj02", facility_coords="gcj02")
    at_sites = data.facilities[data.facilities["site_id"] != ""]
    assert len(at_sites) > 0
    sites = data.sites.set_index("site_id").loc[at_sites["site_id"]]
    _, _, d = GEOD.inv(at_sites.geometry.x.to_numpy(), at_sites.geometry.y.to_numpy(),
                       sites.geometry.x.to_numpy(), sites.geometry.y.to_numpy())
    assert np.max(d) < 1e-6  # not shifted a second time by --facility-coords


def test_offset_between_sites_and_facilities_is_warned(demo, caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[no-untyped-def]
    with caplog.at_level(logging.WARNING, logger="anzhi.pipeline"):
        aligned = _load(demo, demo.facilities)
    assert aligned.warnings == ()
    assert "GCJ-02" not in caplog.text
    # the bug of issue 16: the demo's WGS84 GeoPackage shifted as if it were GCJ-02
    with caplog.at_level(logging.WARNING, logger="anzhi.pipeline"):
        shifted = _load(demo, demo.facilities, facility_coords="gcj02")
    assert len(shifted.warnings) == 1
    assert "--facility-coords wgs84" in shifted.warnings[0]
    assert "安置点与设施似乎错开了" in caplog.text and "--coords gcj02" in caplog.text


def test_readme_own_county_command_matches_the_demo(demo) -> None:  # type: ignore[no-untyped-def]
    # anzhi gaps --sites sites.xlsx --facilities facilities.gpkg --roads roads.osm
    #            --dem dem.tif --coords gcj02
    own = RegionInputs(sites=demo.sites, roads=demo.roads, facilities=(demo.facilities,),
                       dem=demo.dem, coords="gcj02")
    a = run_region(RegionInputs.demo()).gaps
    b = run_region(own).gaps
    key = ["site_id", "rule_id"]
    merged = a[key + ["status"]].merge(b[key + ["status"]], on=key, how="outer",
                                       suffixes=("_demo", "_own"), validate="one_to_one")
    assert len(merged) == len(a) == len(b) > 100
    changed = merged[merged["status_demo"] != merged["status_own"]]
    assert changed.empty, changed.head(10).to_string()
