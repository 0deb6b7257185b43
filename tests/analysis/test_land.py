"""Slope classes, zonal class areas (vs exactextract), land tables and the site hazard screen."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely
from affine import Affine
from exactextract import exact_extract
from exactextract.raster import NumPyRasterSource
from hypothesis import given
from hypothesis import strategies as st

from analysis.land import (
    CANDIDATE_COLUMNS,
    CLASS_AREA_COLUMNS,
    HAZARD_COLUMNS,
    PARCEL_COLUMNS,
    SLOPE_CLASSES,
    VILLAGE_COLUMNS,
    candidate_list,
    parcel_land_table,
    site_hazard,
    slope_class,
    village_land_table,
    zonal_class_areas,
)
from anzhi.core.errors import InputError
from geo.terrain import GridSpec

GK = pyproj.CRS.from_epsg(4542)


def test_class_boundaries_include_the_upper_bound() -> None:
    for dtype in (np.float32, np.float64):
        s = np.array([0.0, 1.9, 2.0, 2.0001, 6.0, 15.0, 24.999, 25.0, 25.0001, 60.0, np.nan], dtype=dtype)
        assert slope_class(s).tolist() == [1, 1, 1, 2, 2, 3, 4, 4, 5, 5, 0]
    with pytest.raises(InputError, match="must be >= 0"):
        slope_class([-1.0])


@given(st.floats(0, 90, allow_nan=False, width=32))
def test_class_matches_its_interval(x: float) -> None:
    code = int(slope_class(np.array([x], dtype=np.float32))[0])
    c = SLOPE_CLASSES[code - 1]
    assert (c.lower_deg < x <= c.upper_deg) or (code == 1 and x == 0.0)


def _grid_and_slope(geographic: bool, seed: int = 1) -> tuple[GridSpec, np.ndarray]:
    rng = np.random.default_rng(seed)
    h, w = 60, 80
    if geographic:
        grid = GridSpec.from_crs(h, w, Affine(1 / 1200, 0, 99.0, 0, -1 / 1200, 25.0), "EPSG:4326")
    else:  # 120 km east of the GK central meridian: areal scale matters there
        grid = GridSpec.from_crs(h, w, Affine(30, 0, 620000, 0, -30, 2730000), GK)
    slope = rng.uniform(0, 45, (h, w)).astype(np.float32)
    slope[rng.random((h, w)) < 0.05] = np.nan
    slope[10, 10] = 25.0
    return grid, slope


def _exact_cell_areas(grid: GridSpec) -> np.ndarray:
    """Brute-force ground area of every cell (independent of GridSpec.cell_area_m2)."""
    t = grid.transform
    if grid.geographic:
        geod = pyproj.Geod(ellps="WGS84")
        out = np.empty((grid.height, grid.width))
        for r in range(grid.height):
            top, bot = t.f + r * t.e, t.f + (r + 1) * t.e
            lons = np.linspace(t.c, t.c + t.a, 50)
            a, _ = geod.polygon_area_perimeter(np.r_[lons, lons[::-1]], np.r_[np.full(50, top), np.full(50, bot)])
            out[r, :] = abs(a)
        return out
    cols, rows = np.meshgrid(np.arange(grid.width) + 0.5, np.arange(grid.height) + 0.5)
    x, y = t.c + t.a * cols, t.f + t.e * rows
    crs = grid.crs
    lon, lat = pyproj.Transformer.from_crs(crs, crs.geodetic_crs, always_xy=True).transform(x, y)
    k = np.asarray(pyproj.Proj(crs).get_factors(lon, lat).areal_scale).reshape(x.shape)
    return abs(t.a * t.e) / k


def _random_parcels(grid: GridSpec, n: int, seed: int) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    t = grid.transform
    geoms = []
    for _ in range(n):
        cx = t.c + rng.uniform(-0.1, 1.1) * t.a * grid.width  # some reach past the raster
        cy = t.f + rng.uniform(0, 1) * t.e * grid.height
        r = rng.uniform(1.5, 12) * abs(t.a)
        ang = np.sort(rng.uniform(0, 2 * np.pi, 9))
        rad = r * rng.uniform(0.4, 1.0, 9)
        geoms.append(shapely.Polygon(np.c_[cx + rad * np.cos(ang), cy + rad * np.sin(ang)]))
    geoms[1] = geoms[0]  # an exact duplicate: both must get the full area
    geoms[2] = shapely.MultiPolygon([geoms[3], shapely.affinity.translate(geoms[4], 3 * t.a)]).buffer(0)
    return gpd.GeoDataFrame({"parcel_id": [f"P{i}" for i in range(n)]}, geometry=geoms, crs=grid.crs)


@pytest.mark.parametrize("geographic", [False, True])
def test_zonal_areas_equal_exactextract_weighted_sums(geographic: bool) -> None:
    grid, slope = _grid_and_slope(geographic)
    parcels = _random_parcels(grid, 40, 5)
    # Given in EPSG:4326 for the projected case, to exercise the reprojection.
    given_parcels = parcels.to_crs("EPSG:4326") if not geographic else parcels
    got = zonal_class_areas(given_parcels, slope, grid)
    t = grid.transform
    ext = (t.c, t.f + t.e * grid.height, t.c + t.a * grid.width, t.f)
    area = NumPyRasterSource(_exact_cell_areas(grid), *ext, srs_wkt=grid.crs_wkt)
    codes = slope_class(slope)
    for c in SLOPE_CLASSES:
        ind = np.where(codes == 0, np.nan, (codes == c.code).astype(np.float64))
        ref = exact_extract(NumPyRasterSource(ind, *ext, srs_wkt=grid.crs_wkt), parcels, "weighted_sum",
                            weights=area, output="pandas", strategy="feature-sequential")["weighted_sum"].to_numpy()
        assert np.allclose(got[c.column].to_numpy(), ref, rtol=1e-6, atol=1e-6 * ref.max()), c.column
    # Overlap: the duplicated parcel gets the same, full areas.
    assert got.iloc[0].to_dict() == pytest.approx(got.iloc[1].to_dict(), rel=1e-12)
    assert got["area_slope_m2"].iloc[0] > 0
    assert np.allclose(got["area_slope_m2"], got[list(CLASS_AREA_COLUMNS)].sum(axis=1))
    # The window-reader path gives the same numbers.
    got2 = zonal_class_areas(given_parcels, lambda r0, r1, c0, c1: slope[r0:r1, c0:c1], grid,
                             strategy="feature-sequential")
    assert np.allclose(got2.to_numpy(), got.to_numpy(), rtol=1e-9)


def test_partial_pixels_are_weighted_by_coverage() -> None:
    grid = GridSpec.from_crs(4, 4, Affine(10, 0, 500000, 0, -10, 2700000), GK)
    slope = np.full((4, 4), 30.0, dtype=np.float32)
    half = shapely.box(500010, 2699980, 500015, 2699990)  # half of one pixel
    got = zonal_class_areas(gpd.GeoDataFrame(geometry=[half], crs=GK), slope, grid)
    assert got["area_gt25_m2"].iloc[0] == pytest.approx(50.0 / _areal(grid), rel=1e-9)
    assert got["area_15_25_m2"].iloc[0] == 0


def _areal(grid: GridSpec) -> float:
    return 100.0 / float(grid.cell_area_m2(1, 2, 1, 2)[0, 0])


def _table() -> pd.DataFrame:
    grid = GridSpec.from_crs(20, 20, Affine(30, 0, 500000, 0, -30, 2700000), GK)
    slope = np.zeros((20, 20), dtype=np.float32)
    slope[:, 10:] = 30.0  # east half steep
    x0, y0 = 500000, 2700000
    geoms = [shapely.box(x0 + 30, y0 - 300, x0 + 270, y0 - 60),   # flat
             shapely.box(x0 + 330, y0 - 300, x0 + 570, y0 - 60),  # steep
             shapely.box(x0 + 150, y0 - 300, x0 + 450, y0 - 60),  # half and half
             shapely.box(x0 + 330, y0 - 570, x0 + 570, y0 - 330)]  # steep forest
    parcels = gpd.GeoDataFrame({"parcel_id": ["A", "B", "C", "D"], "village": ["甲", "甲", "乙", "乙"],
                                "land_use": ["耕地", "耕地", "耕地", "林地"]}, geometry=geoms, crs=GK)
    return parcel_land_table(parcels, zonal_class_areas(parcels, slope, grid))


def test_parcel_village_and_candidate_tables() -> None:
    t = _table()
    assert list(t.columns) == list(PARCEL_COLUMNS)
    assert t["share_gt25"].tolist() == pytest.approx([0.0, 1.0, 0.5, 1.0], abs=1e-9)
    # area_m2 is the ellipsoidal area, equal to the class sum here (no voids, inside the DEM)
    assert np.allclose(t["area_m2"], t["area_slope_m2"], rtol=1e-6)
    assert t["area_m2"].iloc[0] == pytest.approx(240 * 240, rel=1e-3)
    v = village_land_table(t)
    assert list(v.columns) == list(VILLAGE_COLUMNS)
    assert v["village"].tolist() == ["乙", "甲"]  # 乙 has more land > 25°
    assert v["rank"].tolist() == [1, 2]
    assert v.set_index("village").loc["乙", "cropland_gt25_m2"] == pytest.approx(t["area_gt25_m2"].iloc[2])
    c = candidate_list(t)
    assert list(c.columns) == list(CANDIDATE_COLUMNS)
    assert c["parcel_id"].tolist() == ["B", "C", "D"]  # cropland first, then by steep area
    assert c["priority"].tolist() == [1, 1, 2]
    assert c["measure"].iloc[0].startswith("退耕还林")
    with pytest.raises(InputError, match="min_area_gt25_m2"):
        candidate_list(t, min_area_gt25_m2=-1)


def test_parcel_table_reports_every_problem() -> None:
    bad = gpd.GeoDataFrame({"parcel_id": ["A", "A"]}, geometry=[shapely.box(0, 0, 1, 1)] * 2)
    with pytest.raises(InputError, match=r"(?s)4 problems.*village.*land_use.*not unique") as info:
        parcel_land_table(bad, pd.DataFrame(index=bad.index))
    assert len(info.value.problems) == 4  # + no CRS


def _hazard_grid() -> tuple[GridSpec, np.ndarray]:
    grid = GridSpec.from_crs(100, 100, Affine(10, 0, 500000, 0, -10, 2730000), GK)
    x = np.arange(100) * 10.0
    z = np.tile(np.where(x < 500, 0.0, (x - 500) * math.tan(math.radians(30))), (100, 1))
    from geo.terrain import slope_deg

    return grid, slope_deg(z, grid)


def test_site_hazard_flags_steep_sites_with_reasons() -> None:
    grid, slope = _hazard_grid()
    pts = gpd.GeoSeries(gpd.points_from_xy([500205, 500805, 500505, 400000], [2729505] * 4), crs=GK)
    sites = gpd.GeoDataFrame({"site_id": ["flat", "steep", "edge", "outside"]}, geometry=pts.to_crs(4326))
    h = site_hazard(sites, slope, grid)
    assert list(h.columns) == list(HAZARD_COLUMNS)
    assert h["hazard"].tolist() == [False, True, True, False]
    assert h["slope_deg"].iloc[0] == pytest.approx(0, abs=1e-6)
    assert h["slope_deg"].iloc[1] == pytest.approx(30, abs=1e-3)
    assert h["share_gt25"].iloc[0] == 0 and h["share_gt25"].iloc[1] == pytest.approx(1, abs=1e-9)
    assert 0.4 < h["share_gt25"].iloc[2] < 0.6  # half of the circle is on the slope
    assert "30.0°" in h["hazard_reason"].iloc[1] and "地质灾害" in h["hazard_reason"].iloc[1]
    assert "steeper than 25°" in h["hazard_reason_en"].iloc[2]
    assert h["hazard_reason"].iloc[0] == ""
    assert math.isnan(h["slope_deg"].iloc[3]) and "无坡度数据" in h["hazard_reason"].iloc[3]
    # A threshold above the measured share lifts the flag of the edge site.
    h2 = site_hazard(sites, slope, grid, max_share_gt25=0.9, max_slope_deg=45)
    assert h2["hazard"].tolist() == [False, True, False, False]


def test_site_hazard_rejects_bad_parameters() -> None:
    grid, slope = _hazard_grid()
    sites = gpd.GeoDataFrame({"name": ["a"]}, geometry=gpd.points_from_xy([99.2], [24.7]), crs=4326)
    with pytest.raises(InputError, match=r"(?s)radius_m.*max_share_gt25.*site_id"):
        site_hazard(sites, slope, grid, radius_m=-5, max_share_gt25=30)
