"""Slope classes, zonal class areas (vs exactextract), land tables, candidates with their clause,
exclusion layers and the site hazard screen."""

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
    EXCLUSION_COLUMNS,
    HAZARD_COLUMNS,
    PARCEL_COLUMNS,
    SLOPE_CLASSES,
    VILLAGE_COLUMNS,
    basis_text,
    candidate_list,
    mask_exclusions,
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
    # no exclusion layer given: the exclusion columns are blank, not 0 (nothing was checked)
    assert c["excluded_m2"].isna().all() and (c["excluded_by"] == "").all()
    with pytest.raises(InputError, match="min_area_gt25_m2"):
        candidate_list(t, min_area_gt25_m2=-1)


def test_parcel_table_reports_every_problem() -> None:
    bad = gpd.GeoDataFrame({"parcel_id": ["A", "A"]}, geometry=[shapely.box(0, 0, 1, 1)] * 2)
    with pytest.raises(InputError, match=r"(?s)4 problems.*village.*land_use.*not unique") as info:
        parcel_land_table(bad, pd.DataFrame(index=bad.index))
    assert len(info.value.problems) == 4  # + no CRS


# --------------------------------------------------------------------------------------
# Candidates: clause, caveat, house plots and exclusion layers
# --------------------------------------------------------------------------------------

X0, Y0 = 500000, 2700000  # on the central meridian of EPSG:4542: GK areas are true there


def _box(x0: float, y0: float, x1: float, y1: float) -> shapely.Polygon:
    return shapely.box(X0 + x0, Y0 + y0, X0 + x1, Y0 + y1)


def _masked_land() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, GridSpec, np.ndarray]:
    """Parcels on a slope (steep east of x = 300 m) and three exclusion polygons.

    B (steep cropland) lies wholly inside 永久基本农田 and 重叠 (inside it too); C (cropland,
    half steep) and D (steep forest) reach into 生态保护红线 on their steep side; H (a steep
    house plot) crosses the edge of 永久基本农田; A (flat cropland) touches nothing.
    """
    grid = GridSpec.from_crs(20, 20, Affine(30, 0, X0, 0, -30, Y0), GK)
    slope = np.zeros((20, 20), dtype=np.float32)
    slope[:, 10:] = 30.0
    parcels = gpd.GeoDataFrame(
        {"parcel_id": ["A", "B", "C", "D", "H"], "village": ["甲", "甲", "乙", "乙", "甲"],
         "land_use": ["耕地", "耕地", "耕地", "林地", "宅基地"]},
        geometry=[_box(30, -300, 270, -60), _box(330, -300, 570, -60), _box(150, -570, 450, -330),
                  _box(470, -570, 570, -330), _box(450, -50, 560, -10)], crs=GK)
    masks = gpd.GeoDataFrame(
        {"label": ["永久基本农田", "生态保护红线", "重叠"]},
        geometry=[_box(320, -310, 590, -40), _box(400, -600, 600, -450), _box(340, -290, 400, -200)],
        crs=GK)
    return parcels, masks, grid, slope


def test_mask_exclusions_measure_the_part_inside() -> None:
    parcels, masks, grid, slope = _masked_land()
    # masks given in lon/lat: reprojected to the parcels' CRS before intersecting
    ex = mask_exclusions(parcels, masks.to_crs(4326), slope, grid)
    assert list(ex.columns) == list(EXCLUSION_COLUMNS)
    table = parcel_land_table(parcels, zonal_class_areas(parcels, slope, grid)).set_index("parcel_id")
    ex = ex.set_index("parcel_id")
    union = shapely.union_all(masks.geometry.values)
    for pid, geom in zip(parcels["parcel_id"], parcels.geometry):
        expected = shapely.intersection(geom, union).area  # m² in GK on its central meridian
        assert ex.loc[pid, "excluded_m2"] == pytest.approx(expected, rel=1e-4, abs=1e-3), pid
    assert ex.loc["A", "excluded_m2"] == 0 and ex.loc["A", "excluded_by"] == ""
    # B wholly inside two overlapping masks: its whole area once, both layers named
    assert ex.loc["B", "excluded_m2"] == pytest.approx(240 * 240, rel=1e-4)
    assert ex.loc["B", "excluded_m2"] == pytest.approx(table.loc["B", "area_m2"], rel=1e-6)
    assert ex.loc["B", "excluded_gt25_m2"] == pytest.approx(table.loc["B", "area_gt25_m2"], rel=1e-6)
    assert ex.loc["B", "excluded_by"] == "永久基本农田、重叠"
    # C: 50 × 120 m of its steep side inside the red line
    assert ex.loc["C", "excluded_m2"] == pytest.approx(6000, rel=1e-4)
    assert ex.loc["C", "excluded_gt25_m2"] == pytest.approx(6000, rel=1e-4)
    assert ex.loc["C", "excluded_by"] == "生态保护红线"
    assert ex.loc["D", "excluded_gt25_m2"] == pytest.approx(100 * 120, rel=1e-4)
    assert ex.loc["H", "excluded_m2"] == pytest.approx(110 * 10, rel=1e-4)
    # a mask touching A along an edge only, and no mask at all: no overlap
    edge = gpd.GeoDataFrame({"label": ["邻接"]}, geometry=[_box(270, -300, 300, -60)], crs=GK)
    assert mask_exclusions(parcels, edge, slope, grid)["excluded_by"].tolist() == [""] * 5
    none = mask_exclusions(parcels, edge.iloc[:0], slope, grid)
    assert none["excluded_m2"].tolist() == [0.0] * 5 and none["excluded_gt25_m2"].tolist() == [0.0] * 5
    with pytest.raises(InputError, match="no 'label' column"):
        mask_exclusions(parcels, masks.drop(columns="label"), slope, grid)


def test_candidates_cite_their_clause_and_respect_the_masks() -> None:
    parcels, masks, grid, slope = _masked_land()
    table = parcel_land_table(parcels, zonal_class_areas(parcels, slope, grid))
    c = candidate_list(table, exclusions=mask_exclusions(parcels, masks, slope, grid)).set_index("parcel_id")
    assert c.index.tolist() == ["C", "D", "H", "B"]  # priority 1, 2, 2, 3; A is flat
    assert c["priority"].tolist() == [1, 2, 2, 3]
    assert (c["basis"].str.len() > 0).all() and (c["basis_en"].str.len() > 0).all()
    # B, wholly inside 永久基本农田: no Grain-for-Green, no forest, the layers named
    b = c.loc["B"]
    assert b["measure"].startswith("不纳入退耕还林") and "永久基本农田、重叠" in b["measure"]
    assert "退耕还林还草(" not in b["measure"] and "排除图层" in b["basis"]
    assert "inside 永久基本农田, 重叠" in b["measure_en"]
    # C, cropland: Grain-for-Green with the clauses, the 进出平衡 caveat, the part left out
    cc = c.loc["C"]
    assert cc["measure"] == "退耕还林还草(或国家储备林、油茶)"
    assert "不占耕地或落实进出平衡" in cc["caveat"] and "in-out balance" in cc["caveat_en"]
    assert "其中坡度>25°的 6,000 平方米位于生态保护红线内,不纳入" in cc["caveat"]
    assert cc["basis"] == basis_text("cropland")
    assert "《中华人民共和国水土保持法》(2010年修订) 第二十条" in cc["basis"]
    assert "保发改地区〔2023〕276号,2023年) 附件3(保易指发〔2023〕1号)之附件3 第10项" in cc["basis"]
    assert "《关于加强和完善易地扶贫搬迁后续工作的意见》(2019年) 三(二)9" in cc["basis"]
    assert "art. 20" in cc["basis_en"] and "its attachment 3, item 10" in cc["basis_en"]
    # D, forest land: reserve forest / oil-tea, no cropland caveat
    d = c.loc["D"]
    assert d["measure"] == "国家储备林或油茶" and "进出平衡" not in d["caveat"]
    assert "12,000 平方米" in d["caveat"] and d["basis"] == basis_text("other")
    # H, a steep house plot: 复垦复绿, not forest, even where it reaches into a mask
    h = c.loc["H"]
    assert h["measure"] == "宅基地复垦复绿" and "林" not in h["measure"]
    assert h["caveat"] == "其中 1,100 平方米位于永久基本农田内"
    assert "三(二)9" in h["basis"] and "达市府办函〔2019〕30号,2019年) 二(二)2、4" in h["basis"]
    # the part outside must exceed the floor: C's 30,000 m² outside is below 31,000 m²
    c2 = candidate_list(table, min_area_gt25_m2=31_000,
                        exclusions=mask_exclusions(parcels, masks, slope, grid)).set_index("parcel_id")
    assert c2.index.tolist() == ["B", "C"] and c2["priority"].tolist() == [3, 3]
    with pytest.raises(InputError, match="no land clauses"):
        basis_text("orchard")


def _hazard_grid() -> tuple[GridSpec, np.ndarray]:
    grid = GridSpec.from_crs(100, 100, Affine(10, 0, 500000, 0, -10, 2730000), GK)
    x = np.arange(100) * 10.0
    z = np.tile(np.where(x < 500, 0.0, (x - 500) * math.tan(math.radians(30))), (100, 1))
    from geo.terrain import slope_deg

    slope = slope_deg(z, grid)
    assert isinstance(slope, np.ndarray)  # no aspect asked for
    return grid, slope


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
