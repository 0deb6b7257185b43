"""Slope classes, steep out-migration land (迁出地 > 25°) and the site hazard screen.

Pure functions: slope arrays (or a window reader handed in by ``layers.terrain``) and
GeoDataFrames in, tables out; no file access here.

Candidates for 退耕还林 / 国家储备林 / 油茶 carry the clause that asks for each measure (依据,
:func:`basis_text`), Baoshan's "不占耕地或落实进出平衡" caveat wherever reserve forest or
oil-tea is offered on cropland, 复垦复绿 (not forest) for house plots (宅基地), and the part
of each parcel inside user exclusion layers such as 永久基本农田 or 生态保护红线
(:func:`mask_exclusions`), which is left out of the forest measures.

Slope classes are those of the Third National Land Survey (第三次全国国土调查 耕地坡度分级):
``(0,2]``, ``(2,6]``, ``(6,15]``, ``(15,25]``, ``>25`` degrees, upper bound included, so
exactly 25° is class 4 (15–25°) and 25.0001° is class 5 (> 25°).  Flat ground (0°) is in
class 1.

Areas are true ground areas in m²: every pixel is weighted by its area on the CRS ellipsoid
(:meth:`geo.terrain.GridSpec.cell_area_m2`) and by the fraction of it that the parcel covers
(exactextract coverage fractions), so partial pixels count partly and overlapping parcels
each get their own share (no single label raster).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from collections.abc import Callable
from typing import Any, cast

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from numpy.typing import ArrayLike, NDArray

from analysis.rules.documents import document
from analysis.zonal import exact_columns
from anzhi.core.errors import InputError, ProblemCollector
from geo.terrain import GridSpec, WindowReader

__all__ = [
    "SlopeClass",
    "SLOPE_CLASSES",
    "SLOPE_CLASS_BOUNDS_DEG",
    "CLASS_AREA_COLUMNS",
    "PARCEL_COLUMNS",
    "VILLAGE_COLUMNS",
    "CANDIDATE_COLUMNS",
    "EXCLUSION_COLUMNS",
    "HAZARD_COLUMNS",
    "CROPLAND_USES",
    "HOMESTEAD_USES",
    "Citation",
    "LAND_CLAUSES",
    "basis_text",
    "slope_class",
    "zonal_class_areas",
    "parcel_land_table",
    "village_land_table",
    "mask_exclusions",
    "candidate_list",
    "site_hazard",
]


@dataclass(frozen=True)
class SlopeClass:
    """One slope class of the Third National Land Survey.

    Attributes
    ----------
    code
        1–5 (the survey's 坡度级别).
    lower_deg, upper_deg
        Interval ``(lower, upper]`` in degrees (``upper = inf`` for the last class).
    column
        Area column of the land tables (m²).
    zh, en
        Labels.
    """

    code: int
    lower_deg: float
    upper_deg: float
    column: str
    zh: str
    en: str


SLOPE_CLASSES: tuple[SlopeClass, ...] = (
    SlopeClass(1, 0.0, 2.0, "area_0_2_m2", "≤2°", "0–2°"),
    SlopeClass(2, 2.0, 6.0, "area_2_6_m2", "2–6°", "2–6°"),
    SlopeClass(3, 6.0, 15.0, "area_6_15_m2", "6–15°", "6–15°"),
    SlopeClass(4, 15.0, 25.0, "area_15_25_m2", "15–25°", "15–25°"),
    SlopeClass(5, 25.0, math.inf, "area_gt25_m2", ">25°", ">25°"),
)
#: Upper bounds (degrees, included) of classes 1–4.
SLOPE_CLASS_BOUNDS_DEG: tuple[float, ...] = (2.0, 6.0, 15.0, 25.0)
#: One area column (m²) per class, class order.
CLASS_AREA_COLUMNS: tuple[str, ...] = tuple(c.column for c in SLOPE_CLASSES)
#: land_parcels.csv columns, in order.
PARCEL_COLUMNS: tuple[str, ...] = (
    "parcel_id", "village", "land_use", "area_m2", "area_gt25_m2", "share_gt25",
    "area_0_2_m2", "area_2_6_m2", "area_6_15_m2", "area_15_25_m2", "area_slope_m2",
)
#: land_villages.csv columns, in order.
VILLAGE_COLUMNS: tuple[str, ...] = (
    "rank", "village", "n_parcels", "area_m2", "area_gt25_m2", "share_gt25",
    "cropland_m2", "cropland_gt25_m2", "area_0_2_m2", "area_2_6_m2", "area_6_15_m2",
    "area_15_25_m2", "area_slope_m2",
)
#: Candidate list columns, in order (the measure last: what the row comes to).
CANDIDATE_COLUMNS: tuple[str, ...] = (
    "priority", "parcel_id", "village", "land_use", "area_m2", "area_gt25_m2", "share_gt25",
    "excluded_m2", "excluded_gt25_m2", "excluded_by", "basis", "basis_en", "caveat",
    "caveat_en", "measure", "measure_en",
)
#: Columns of :func:`mask_exclusions`, in order.
EXCLUSION_COLUMNS: tuple[str, ...] = ("parcel_id", "excluded_m2", "excluded_gt25_m2", "excluded_by")
#: Site hazard table columns, in order.
HAZARD_COLUMNS: tuple[str, ...] = (
    "site_id", "slope_deg", "share_gt25", "hazard", "hazard_reason", "hazard_reason_en",
)
#: Land-use names counted as cropland (耕地 and its survey sub-classes).
CROPLAND_USES: frozenset[str] = frozenset({"耕地", "旱地", "水田", "水浇地", "坡耕地", "cropland"})
#: Land-use names of house plots (宅基地): 复垦复绿 is asked for them, not forest.
HOMESTEAD_USES: frozenset[str] = frozenset({"宅基地", "农村宅基地", "homestead"})


@dataclass(frozen=True)
class Citation:
    """One clause a land measure cites.

    Attributes
    ----------
    source
        A registered document id (:mod:`analysis.rules.documents`), cited by its title, or
        ``(Chinese, English)`` citations of a document the registry does not hold.
    clause_zh, clause_en
        The clause, as the rule files write it.
    """

    source: str | tuple[str, str]
    clause_zh: str
    clause_en: str

    def cite(self, lang: str = "zh") -> str:
        """``<document title> <clause>`` in ``lang`` (``"zh"`` or ``"en"``)."""
        if isinstance(self.source, tuple):
            title = self.source[0 if lang == "zh" else 1]
        else:
            title = document(self.source).cite(lang)
        return f"{title} {self.clause_zh if lang == 'zh' else self.clause_en}"


_BAOSHAN_10 = Citation("baoshan-2023", "附件3(保易指发〔2023〕1号)之附件3 第10项",
                       "attachment 3 (保易指发〔2023〕1号), its attachment 3, item 10")
_GUIZHOU_9 = Citation("guizhou-2019", "三(二)9", "三(二)9")
#: The clauses each kind of land measure cites (依据): ``cropland`` (退耕还林还草, or reserve
#: forest / oil-tea with the 进出平衡 caveat), ``other`` (reserve forest / oil-tea on other
#: land > 25°), ``homestead`` (宅基地复垦复绿) and ``ledger`` (旧房拆除, 复垦复绿 and the
#: 增减挂钩 ledger).  The Soil and Water Conservation Law is not a registered document; it is
#: cited by its own title.
LAND_CLAUSES: dict[str, tuple[Citation, ...]] = {
    "cropland": (
        Citation(("全国人民代表大会常务委员会《中华人民共和国水土保持法》(2010年修订)",
                  "Standing Committee of the National People's Congress: Law of the People's "
                  "Republic of China on Soil and Water Conservation (revised 2010)"),
                 "第二十条", "art. 20"),
        _GUIZHOU_9, _BAOSHAN_10),
    "other": (_BAOSHAN_10,),
    "homestead": (_GUIZHOU_9, Citation("dazhou-2019", "二(二)2、4", "二(二)2 and 4")),
    "ledger": (_GUIZHOU_9, Citation("dazhou-2019", "二(二)4", "二(二)4")),
}


def basis_text(kind: str, lang: str = "zh") -> str:
    """The 依据 of a land measure: its clauses (:data:`LAND_CLAUSES`) joined, in ``lang``.

    Examples
    --------
    >>> basis_text("other").endswith("附件3(保易指发〔2023〕1号)之附件3 第10项")
    True
    """
    if kind not in LAND_CLAUSES:
        raise InputError(f"no land clauses for {kind!r}: use one of {', '.join(LAND_CLAUSES)}")
    return (";" if lang == "zh" else "; ").join(c.cite(lang) for c in LAND_CLAUSES[kind])

_GT25 = "area_gt25_m2"


def slope_class(slope_deg: ArrayLike) -> NDArray[np.uint8]:
    """Slope class code 1–5 of each slope (degrees); 0 where the slope is NaN.

    Intervals include their upper bound: 2.0 → 1, 25.0 → 4, 25.0001 → 5.  Negative
    slopes are not slopes and raise.

    Examples
    --------
    >>> slope_class([0.0, 2.0, 2.01, 25.0, 25.0001, float("nan")]).tolist()
    [1, 1, 2, 4, 5, 0]
    """
    s = np.asarray(slope_deg)
    if s.dtype.kind != "f":
        s = s.astype(np.float64)
    with np.errstate(invalid="ignore"):
        if np.any(s < 0):
            raise InputError(f"slopes must be >= 0 degrees; got a minimum of {np.nanmin(s)!r}")
        # (lower, upper]: count the upper bounds strictly below the slope (comparisons in the
        # array's own precision: 25.0 stays 25.0 in float32).
        codes = np.ones(s.shape, dtype=np.uint8)
        for bound in SLOPE_CLASS_BOUNDS_DEG:
            codes += s > s.dtype.type(bound)
    codes[np.isnan(s)] = 0
    return codes


# --------------------------------------------------------------------------------------
# Zonal areas (exactextract)
# --------------------------------------------------------------------------------------


def _reader_for(slope: NDArray[Any] | WindowReader, grid: GridSpec) -> WindowReader:
    if callable(slope):
        return slope
    arr = np.asarray(slope)
    if arr.shape != (grid.height, grid.width):
        raise InputError(f"slope array shape {arr.shape} does not match the grid ({grid.height}, {grid.width})")

    def read(r0: int, r1: int, c0: int, c1: int) -> NDArray[Any]:
        return arr[r0:r1, c0:c1]

    return read


def _sources(read: WindowReader, grid: GridSpec) -> tuple[Any, Any]:
    """exactextract raster sources: slope class codes (NaN = none) and cell areas (m²)."""
    from exactextract.raster import RasterSource

    t = grid.transform
    left, top = t.c, t.f
    right, bottom = left + t.a * grid.width, top + t.e * grid.height
    ext = (min(left, right), min(top, bottom), max(left, right), max(top, bottom))
    res = (abs(t.a), abs(t.e))
    wkt = grid.crs_wkt

    class _Source(RasterSource):  # type: ignore[misc]
        """One named layer of the grid, read window by window through ``window``."""

        def __init__(self, name: str, window: Callable[[int, int, int, int], NDArray[Any]]
                     ) -> None:
            super().__init__()
            self.set_name(name)
            self._window = window

        def res(self) -> tuple[float, float]:
            return res

        def extent(self) -> tuple[float, float, float, float]:
            return ext

        def srs_wkt(self) -> str:
            return wkt

        def nodata_value(self) -> None:
            return None

        def read_window(self, x0: int, y0: int, nx: int, ny: int) -> NDArray[Any]:
            return self._window(x0, y0, nx, ny)

    def classes(x0: int, y0: int, nx: int, ny: int) -> NDArray[np.float32]:
        codes = slope_class(np.asarray(read(y0, y0 + ny, x0, x0 + nx), dtype=np.float32))
        out = codes.astype(np.float32)
        out[codes == 0] = np.nan
        return out

    def areas(x0: int, y0: int, nx: int, ny: int) -> NDArray[np.float64]:
        return grid.cell_area_m2(y0, y0 + ny, x0, x0 + nx)

    return _Source("slope_class", classes), _Source("cell_area", areas)


def _to_grid_crs(zones: gpd.GeoDataFrame, grid: GridSpec, what: str) -> gpd.GeoDataFrame:
    if zones.crs is None:
        raise InputError(f"{what} have no CRS; fix: set one (e.g. gdf.set_crs('EPSG:4326'))")
    return zones.to_crs(grid.crs) if not zones.crs.equals(grid.crs) else zones


def zonal_class_areas(zones: gpd.GeoDataFrame, slope: NDArray[Any] | WindowReader, grid: GridSpec,
                      *, strategy: str = "raster-sequential",
                      max_cells_in_memory: int = 8_000_000) -> pd.DataFrame:
    """Ground area (m²) of each slope class inside each polygon.

    Parameters
    ----------
    zones
        Polygons in any CRS with a definition (reprojected to the raster's CRS).
        They may overlap: each polygon is measured on its own.
    slope
        Slope in degrees (NaN = none), either an array of shape ``(grid.height,
        grid.width)`` or a window reader ``read(row0, row1, col0, col1)`` (``layers.terrain``
        hands in one that reads the slope GeoTIFF window by window).
    grid
        The slope raster's grid.
    strategy
        exactextract strategy: ``"raster-sequential"`` (many polygons) or
        ``"feature-sequential"`` (few polygons scattered over a large raster).
    max_cells_in_memory
        Largest raster chunk exactextract reads at once (cells); bounds memory.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``zones``: one column per class (:data:`CLASS_AREA_COLUMNS`, m²) and
        ``area_slope_m2`` (their sum: the area with a slope; voids and the raster's outer
        ring excluded).  Each is Σ coverage fraction × cell ground area over the pixels of
        that class, computed by exactextract as the area-weighted fraction of the class
        times the polygon's area-weighted total.
    """
    from exactextract.operation import Operation

    cols = list(CLASS_AREA_COLUMNS)
    if len(zones) == 0:
        return pd.DataFrame({c: pd.Series(dtype=float) for c in [*cols, "area_slope_m2"]}, index=zones.index)
    z = _to_grid_crs(zones, grid, "zones")
    geoms = z.geometry.values
    keep = np.flatnonzero(~np.asarray(shapely.is_empty(geoms) | pd.isna(geoms)))
    out = np.zeros((len(z), len(cols)))
    if len(keep):
        classes, area = _sources(_reader_for(slope, grid), grid)
        # One exactextract statistic set on (class, cell area): the area-weighted fraction of
        # each class and, from weighted sum / weighted mean, the area with a slope.
        ops = [Operation("unique", "u", classes, area), Operation("weighted_frac", "f", classes, area),
               Operation("weighted_sum", "s", classes, area), Operation("weighted_mean", "m", classes, area)]
        res = exact_columns([classes], np.asarray(geoms[keep], dtype=object), ops,
                            srs_wkt=grid.crs_wkt, strategy=strategy,
                            max_cells_in_memory=max_cells_in_memory)
        idx = keep[np.asarray(res["_i"], dtype=np.int64)]
        with np.errstate(invalid="ignore", divide="ignore"):
            total = np.nan_to_num(np.asarray(res["s"], dtype=np.float64)
                                  / np.asarray(res["m"], dtype=np.float64))
        uniq = [np.asarray(u if u is not None else (), dtype=np.float64) for u in res["u"]]
        frac = [np.asarray(f if f is not None else (), dtype=np.float64) for f in res["f"]]
        lens = np.array([len(u) for u in uniq], dtype=np.int64)
        if lens.sum():
            code = np.concatenate(uniq).astype(np.int64)
            rows = np.repeat(idx, lens)
            np.add.at(out, (rows, code - 1), np.concatenate(frac) * np.repeat(total, lens))
    df = pd.DataFrame(out, index=zones.index, columns=cols)
    df["area_slope_m2"] = out.sum(axis=1)
    return df


# --------------------------------------------------------------------------------------
# Out-migration land tables
# --------------------------------------------------------------------------------------


def _check_parcels(parcels: gpd.GeoDataFrame) -> None:
    pc = ProblemCollector(file="parcels")
    for col in ("parcel_id", "village", "land_use"):
        if col not in parcels.columns:
            pc.add(f"the parcel layer has no {col!r} column", column=col,
                   fix="add it (parcel_id = 地块编号, village = 村, land_use = 地类)")
    if "parcel_id" in parcels.columns:
        ids = parcels["parcel_id"].astype(str)
        dup = ids[ids.duplicated()].unique().tolist()
        if dup:
            pc.add("parcel_id values are not unique", column="parcel_id", value=dup[:5],
                   fix="give every parcel its own id")
    if parcels.crs is None:
        pc.add("the parcel layer has no CRS", fix="set one, e.g. EPSG:4326")
    pc.raise_if_any()


def _ellipsoidal_area_m2(geoms: gpd.GeoSeries) -> NDArray[np.float64]:
    """Polygon areas (m²) in a Lambert azimuthal equal-area projection on the WGS84 ellipsoid.

    The projection is centred on the polygons (equal-area everywhere, so the choice of centre
    only bends the straight edges, by far less than a square metre for parcels).
    """
    g = geoms.to_crs("EPSG:4326")
    ok = ~(g.is_empty | g.isna())
    if not ok.any():
        return np.zeros(len(g))
    x0, y0, x1, y1 = g[ok].total_bounds
    laea = pyproj.CRS.from_proj4(f"+proj=laea +lat_0={(y0 + y1) / 2:.6f} +lon_0={(x0 + x1) / 2:.6f} "
                                 "+ellps=WGS84 +units=m +no_defs")
    area = g.to_crs(laea).area.to_numpy(dtype=np.float64)
    return np.where(ok.to_numpy(), area, 0.0)


def parcel_land_table(parcels: gpd.GeoDataFrame, class_areas: pd.DataFrame) -> pd.DataFrame:
    """Per-parcel land table (land_parcels.csv).

    Parameters
    ----------
    parcels
        Polygons with ``parcel_id``, ``village``, ``land_use`` (any CRS with a definition).
    class_areas
        :func:`zonal_class_areas` of these parcels (same index).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`PARCEL_COLUMNS`: ``area_m2`` is the parcel's area on the WGS84
        ellipsoid (equal-area projection); class areas (m²) as measured on the DEM; ``share_gt25`` =
        ``area_gt25_m2 / area_slope_m2`` (0–1, NaN where the DEM gives no slope at all).

    Raises
    ------
    InputError
        Missing columns, duplicate ids, no CRS.
    """
    _check_parcels(parcels)
    ca = class_areas.reindex(parcels.index)
    df = pd.DataFrame({
        "parcel_id": parcels["parcel_id"].astype(str).to_numpy(),
        "village": parcels["village"].fillna("").astype(str).to_numpy(),
        "land_use": parcels["land_use"].fillna("").astype(str).to_numpy(),
        "area_m2": _ellipsoidal_area_m2(parcels.geometry),
    }, index=parcels.index)
    for col in [*CLASS_AREA_COLUMNS, "area_slope_m2"]:
        df[col] = ca[col].to_numpy(dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        df["share_gt25"] = np.where(df["area_slope_m2"] > 0, df[_GT25] / df["area_slope_m2"], np.nan)
    return df[list(PARCEL_COLUMNS)].reset_index(drop=True)


def village_land_table(parcel_table: pd.DataFrame) -> pd.DataFrame:
    """Per-village roll-up of :func:`parcel_land_table`, ranked by land > 25°.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`VILLAGE_COLUMNS`; ``rank`` 1 = most land > 25° (m²);
        ``cropland_gt25_m2`` is the > 25° area of parcels whose land use is cropland
        (:data:`CROPLAND_USES`).
    """
    t = parcel_table.copy()
    crop = t["land_use"].isin(CROPLAND_USES)
    t["cropland_m2"] = np.where(crop, t["area_m2"], 0.0)
    t["cropland_gt25_m2"] = np.where(crop, t[_GT25], 0.0)
    sums = ["area_m2", _GT25, "cropland_m2", "cropland_gt25_m2", *CLASS_AREA_COLUMNS[:4], "area_slope_m2"]
    g = t.groupby("village", sort=True)
    v = g[sums].sum()
    v.insert(0, "n_parcels", g.size())
    with np.errstate(invalid="ignore", divide="ignore"):
        v["share_gt25"] = np.where(v["area_slope_m2"] > 0, v[_GT25] / v["area_slope_m2"], np.nan)
    v = v.reset_index().sort_values([_GT25, "village"], ascending=[False, True], kind="stable")
    v.insert(0, "rank", np.arange(1, len(v) + 1))
    return v[list(VILLAGE_COLUMNS)].reset_index(drop=True)


# Measures, 依据 kind and caveat of each kind of candidate: (measure, measure_en).
_MEASURES: dict[str, tuple[str, str]] = {
    "cropland": ("退耕还林还草(或国家储备林、油茶)", "Grain-for-Green (or reserve forest, oil-tea)"),
    "other": ("国家储备林或油茶", "National reserve forest or oil-tea"),
    "homestead": ("宅基地复垦复绿", "Reclaim and re-green the house plot (宅基地复垦复绿)"),
}
_BALANCE_CAVEAT = ("国家储备林、油茶须在不占耕地或落实进出平衡的基础上实施",
                   "reserve forest or oil-tea only without occupying cropland or with its "
                   "in-out balance (进出平衡) settled")


def _join_labels(labels: str, lang: str) -> str:
    parts = [p for p in labels.split("、") if p]
    return ("、" if lang == "zh" else ", ").join(parts)


def _candidate_texts(kind: str, labels: str, inside_m2: float, inside_gt25_m2: float
                     ) -> tuple[str, str, str, str, str, str]:
    """(measure, measure_en, caveat, caveat_en, basis, basis_en) of one candidate."""
    zl, el = _join_labels(labels, "zh"), _join_labels(labels, "en")
    if kind == "excluded":
        return (f"不纳入退耕还林还草及国家储备林、油茶(坡度>25°部分位于{zl}内)",
                f"Not for Grain-for-Green, reserve forest or oil-tea: its land > 25° lies inside {el}",
                "", "", f"排除图层:{zl}(用户提供,非政策条款)",
                f"exclusion layer: {el} (given by the user; not a policy clause)")
    caveat_zh, caveat_en = ([_BALANCE_CAVEAT[0]], [_BALANCE_CAVEAT[1]]) if kind == "cropland" else ([], [])
    if labels and kind == "homestead":
        caveat_zh.append(f"其中 {inside_m2:,.0f} 平方米位于{zl}内")
        caveat_en.append(f"{inside_m2:,.0f} m² of it lies inside {el}")
    elif labels and inside_gt25_m2 > 0:
        caveat_zh.append(f"其中坡度>25°的 {inside_gt25_m2:,.0f} 平方米位于{zl}内,不纳入")
        caveat_en.append(f"{inside_gt25_m2:,.0f} m² of its land > 25° lies inside {el} and is left out")
    measure_zh, measure_en = _MEASURES[kind]
    return (measure_zh, measure_en, ";".join(caveat_zh), "; ".join(caveat_en),
            basis_text(kind, "zh"), basis_text(kind, "en"))


def candidate_list(parcel_table: pd.DataFrame, *, min_area_gt25_m2: float = 0.0,
                   exclusions: pd.DataFrame | None = None) -> pd.DataFrame:
    """Parcels with land > 25° for 退耕还林 / 国家储备林 / 油茶 / 复垦复绿, cropland first.

    Parameters
    ----------
    parcel_table
        :func:`parcel_land_table`.
    min_area_gt25_m2
        Keep parcels whose area > 25° exceeds this (m², default 0: any steep land).
    exclusions
        :func:`mask_exclusions` of these parcels (matched by ``parcel_id``), or None when
        no exclusion layer was given (the exclusion columns are then blank).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`CANDIDATE_COLUMNS`, sorted by ``priority``, then by area > 25°
        (largest first).  Priority 1 = cropland > 25° (Grain-for-Green, or reserve forest /
        oil-tea with Baoshan's "不占耕地或落实进出平衡" caveat); 2 = other land > 25°:
        reserve forest or oil-tea, and house plots (:data:`HOMESTEAD_USES`), which get
        宅基地复垦复绿 instead of forest; 3 = parcels whose land > 25° lies inside the
        exclusion layers but for at most ``min_area_gt25_m2`` (or a millionth of it, the
        rounding of the intersection): no forest measure, the layers
        named.  The part inside an exclusion layer is left out of the forest measures
        (``caveat`` says how much); 复垦复绿 of a house plot is not withheld (its area
        inside is said).  ``basis``/``basis_en`` is the 依据 (:func:`basis_text`);
        ``excluded_m2`` / ``excluded_gt25_m2`` the parcel's area (m²) and its area > 25°
        inside the exclusion layers, ``excluded_by`` their labels (``、``-joined).
        ``measure`` suggests the programme; the planner decides.
    """
    if min_area_gt25_m2 < 0 or not math.isfinite(min_area_gt25_m2):
        raise InputError(f"min_area_gt25_m2 must be a finite area >= 0 m², got {min_area_gt25_m2!r}")
    t = parcel_table[parcel_table[_GT25] > min_area_gt25_m2].copy()
    if exclusions is None:
        t["excluded_m2"], t["excluded_gt25_m2"], t["excluded_by"] = np.nan, np.nan, ""
    else:
        ex = exclusions.set_index(exclusions["parcel_id"].astype(str))
        if not ex.index.is_unique:
            raise InputError("the exclusions have duplicate parcel_id values; give one row per parcel")
        key = t["parcel_id"].astype(str)
        for col, fill in (("excluded_m2", 0.0), ("excluded_gt25_m2", 0.0), ("excluded_by", "")):
            t[col] = ex[col].reindex(key).fillna(fill).to_numpy()
    gt25 = t[_GT25].to_numpy(dtype=np.float64)
    inside = np.nan_to_num(t["excluded_gt25_m2"].to_numpy(dtype=np.float64))
    # a parcel wholly inside gets its own area back up to the rounding of the intersection
    # (about 1e-8 of it in lon/lat): within a millionth, all of it is inside
    left = np.where(inside >= gt25 * (1 - 1e-6), 0.0, gt25 - inside)
    crop = t["land_use"].isin(CROPLAND_USES).to_numpy()
    home = t["land_use"].isin(HOMESTEAD_USES).to_numpy()
    withheld = ~home & (left <= min_area_gt25_m2)
    kinds = np.select([withheld, home, crop], ["excluded", "homestead", "cropland"], "other")
    t["priority"] = np.where(withheld, 3, np.where(crop, 1, 2))
    texts = [_candidate_texts(k, str(by), float(a), float(g)) for k, by, a, g in
             zip(kinds, t["excluded_by"], np.nan_to_num(t["excluded_m2"].to_numpy(dtype=np.float64)),
                 inside)]
    for j, col in enumerate(("measure", "measure_en", "caveat", "caveat_en", "basis", "basis_en")):
        t[col] = [row[j] for row in texts]
    t = t.sort_values(["priority", _GT25, "parcel_id"], ascending=[True, False, True], kind="stable")
    return t[list(CANDIDATE_COLUMNS)].reset_index(drop=True)


def _polygonal(geoms: NDArray[np.object_]) -> NDArray[np.object_]:
    """The polygonal part of each geometry (an intersection may add lines and points)."""
    out = geoms.copy()
    kind = shapely.get_type_id(geoms)
    for k in np.flatnonzero(~np.isin(kind, (3, 6))):
        parts = [g for g in shapely.get_parts(geoms[k]) if g.geom_type in ("Polygon", "MultiPolygon")]
        out[k] = shapely.union_all(parts) if parts else shapely.Polygon()
    return out


def mask_exclusions(parcels: gpd.GeoDataFrame, masks: gpd.GeoDataFrame,
                    slope: NDArray[Any] | WindowReader, grid: GridSpec) -> pd.DataFrame:
    """The part of each parcel inside exclusion polygons (永久基本农田, 生态保护红线, …).

    Parameters
    ----------
    parcels
        Polygons with ``parcel_id`` (any CRS with a definition).
    masks
        Exclusion polygons with a ``label`` column naming their layer (any CRS with a
        definition; reprojected to the parcels' CRS, where the intersections are taken).
        They may overlap: a parcel's area inside two layers counts once.
    slope, grid
        As :func:`zonal_class_areas`: the land > 25° inside is measured on them.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``parcels``, columns :data:`EXCLUSION_COLUMNS`: ``excluded_m2`` (m²
        on the WGS84 ellipsoid, as ``area_m2`` of :func:`parcel_land_table`) and
        ``excluded_gt25_m2`` (m², as ``area_gt25_m2``) of the parcel inside the union of the
        masks, ``excluded_by`` the labels of the masks it overlaps (``、``-joined, in mask
        order; ``""`` for none; a touch along an edge is no overlap).
    """
    pc = ProblemCollector(file="exclusion layers")
    if "label" not in masks.columns:
        pc.add("the exclusion polygons have no 'label' column", column="label",
               fix="name each layer (layers.landmasks.read_masks does)")
    for what, g in (("parcel layer", parcels), ("exclusion layer", masks)):
        if g.crs is None:
            pc.add(f"the {what} has no CRS", fix="set one, e.g. EPSG:4326")
    if "parcel_id" not in parcels.columns:
        pc.add("the parcel layer has no 'parcel_id' column", column="parcel_id")
    pc.raise_if_any()
    m = masks if masks.crs.equals(parcels.crs) else masks.to_crs(parcels.crs)
    mg = np.asarray(m.geometry.values, dtype=object)
    ok = ~(pd.isna(mg) | shapely.is_empty(mg))
    mg, labels = mg[ok], m["label"].astype(str).to_numpy()[ok]
    pg = np.asarray(parcels.geometry.values, dtype=object)
    pieces: list[Any] = [None] * len(parcels)
    by = [""] * len(parcels)
    if len(mg) and len(pg):
        pi, mi = shapely.STRtree(mg).query(pg, predicate="intersects")
        inter = _polygonal(shapely.intersection(pg[pi], mg[mi]))
        keep = shapely.area(inter) > 0
        pi, mi, inter = pi[keep], mi[keep], inter[keep]
        order = np.lexsort((mi, pi))
        pi, mi, inter = pi[order], mi[order], inter[order]
        starts = np.flatnonzero(np.r_[True, pi[1:] != pi[:-1]]) if len(pi) else np.zeros(0, int)
        for a, b in zip(starts, [*starts[1:], len(pi)]):
            parts = inter[a:b]
            pieces[int(pi[a])] = parts[0] if len(parts) == 1 else shapely.union_all(parts)
            by[int(pi[a])] = "、".join(dict.fromkeys(labels[mi[a:b]].tolist()))
    geo = gpd.GeoSeries(pieces, index=parcels.index, crs=parcels.crs)
    gt25 = zonal_class_areas(gpd.GeoDataFrame(geometry=geo), slope, grid)[_GT25]
    return pd.DataFrame({
        "parcel_id": parcels["parcel_id"].astype(str).to_numpy(),
        "excluded_m2": _ellipsoidal_area_m2(geo),
        "excluded_gt25_m2": gt25.to_numpy(dtype=np.float64),
        "excluded_by": by,
    }, index=parcels.index)[list(EXCLUSION_COLUMNS)]


# --------------------------------------------------------------------------------------
# Site hazard screen
# --------------------------------------------------------------------------------------


def _circles(sites: gpd.GeoDataFrame, radius_m: float) -> gpd.GeoSeries:
    """Circles of ``radius_m`` ground metres around the sites (64-gons, EPSG:4326).

    Each vertex is ``radius_m`` from its site along its azimuth on the WGS 84 ellipsoid, to
    first order in ``radius_m`` / Earth radius (the meridian and prime-vertical radii of
    curvature at the site): for 100 m that is within a millimetre of the geodesic, at a
    tenth of the cost of ``pyproj.Geod.fwd`` for 100,000 sites.
    """
    pts = sites.geometry.to_crs("EPSG:4326")
    ok = ~(pts.is_empty | pts.isna()).to_numpy()
    out = np.full(len(pts), None, dtype=object)
    if ok.any():
        n_vert = 64
        lon0, lat0 = pts[ok].x.to_numpy(), pts[ok].y.to_numpy()
        geod = pyproj.Geod(ellps="WGS84")
        a, e2 = float(geod.a), float(geod.es)
        phi = np.radians(lat0)[:, None]
        w = np.sqrt(1.0 - e2 * np.sin(phi) ** 2)
        m_rad, n_rad = a * (1.0 - e2) / w ** 3, a / w  # meridian, prime vertical (m)
        az = np.radians(np.linspace(0.0, 360.0, n_vert, endpoint=False))[None, :]
        lat = lat0[:, None] + np.degrees(radius_m * np.cos(az) / m_rad)
        lon = lon0[:, None] + np.degrees(radius_m * np.sin(az) / (n_rad * np.cos(phi)))
        rings = np.stack([lon, lat], axis=-1)[:, ::-1]  # counter-clockwise
        # An (n, 65, 2) coordinate array gives an array of polygons; shapely's stubs type
        # any array input as ``Polygon | ndarray``.
        out[ok] = cast(NDArray[np.object_],
                       shapely.polygons(np.concatenate([rings, rings[:, :1]], axis=1)))
    return gpd.GeoSeries(out, index=sites.index, crs="EPSG:4326")


def site_hazard(sites: gpd.GeoDataFrame, slope: NDArray[Any] | WindowReader, grid: GridSpec, *,
                radius_m: float = 100.0, max_slope_deg: float = 25.0,
                max_share_gt25: float = 0.3) -> pd.DataFrame:
    """Slope at each site and the share of land > 25° around it; flag steep sites.

    Parameters
    ----------
    sites
        Site points (``site_id`` column; any CRS with a definition, normally EPSG:4326).
    slope
        Slope in degrees as an array on ``grid`` or a window reader (see
        :func:`zonal_class_areas`).
    grid
        The slope raster's grid.
    radius_m
        Radius (ground metres) of the circle around each site.  Default 100 m.
    max_slope_deg
        Flag a site whose own pixel is steeper than this (degrees).  Default 25°.
    max_share_gt25
        Flag a site when more than this fraction (0–1) of the circle's land is steeper
        than 25°.  Default 0.3.  Both defaults are screening choices of Anzhi, not figures
        from a policy text; a flag asks for a geological-hazard survey, it is not one.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``sites``, columns :data:`HAZARD_COLUMNS`: ``slope_deg`` (NaN: no
        slope there: void, raster edge or outside the DEM), ``share_gt25`` (0–1, NaN when
        the circle has no slope data), ``hazard`` (bool), ``hazard_reason`` (Chinese) and
        ``hazard_reason_en`` ("" when not flagged).
    """
    pc = ProblemCollector(file="site_hazard")
    if not (radius_m > 0 and math.isfinite(radius_m)):
        pc.add("radius_m must be a positive distance in metres", value=radius_m, fix="e.g. 100")
    if not (0 <= max_slope_deg <= 90):
        pc.add("max_slope_deg must be between 0 and 90 degrees", value=max_slope_deg, fix="e.g. 25")
    if not (0 <= max_share_gt25 <= 1):
        pc.add("max_share_gt25 is a fraction between 0 and 1", value=max_share_gt25, fix="e.g. 0.3 for 30 %")
    if "site_id" not in sites.columns:
        pc.add("the site table has no 'site_id' column", column="site_id")
    if sites.crs is None:
        pc.add("the site table has no CRS", fix="set one, e.g. EPSG:4326")
    pc.raise_if_any()

    read = _reader_for(slope, grid)
    pts = _to_grid_crs(sites, grid, "sites").geometry
    n = len(sites)
    slope_at = np.full(n, np.nan)
    tr = grid.transform  # north-up (GridSpec refuses rotation)
    for k, p in enumerate(pts.values):
        if p is None or p.is_empty:
            continue
        col, row = (p.x - tr.c) / tr.a, (p.y - tr.f) / tr.e
        r, c = math.floor(row), math.floor(col)
        if 0 <= r < grid.height and 0 <= c < grid.width:
            slope_at[k] = float(np.asarray(read(r, r + 1, c, c + 1), dtype=np.float64)[0, 0])
    circles = gpd.GeoDataFrame(geometry=_circles(sites, radius_m), index=sites.index)
    # an array (a window around the sites) is read chunk by chunk; a reader of a whole
    # raster only where each circle is
    areas = zonal_class_areas(circles, read, grid, strategy="feature-sequential" if callable(slope)
                              else "raster-sequential")
    tot = areas["area_slope_m2"].to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(tot > 0, areas[_GT25].to_numpy() / tot, np.nan)

    steep_site = slope_at > max_slope_deg
    steep_around = share > max_share_gt25
    reason_zh, reason_en = [], []
    r_txt = f"{radius_m:g}"
    for s_deg, sh, a, b in zip(slope_at, share, steep_site, steep_around):
        zh, en = [], []
        if a:
            zh.append(f"安置点所在位置坡度 {s_deg:.1f}°,超过 {max_slope_deg:g}°")
            en.append(f"slope at the site is {s_deg:.1f}°, above {max_slope_deg:g}°")
        if b:
            zh.append(f"周边 {r_txt} 米内坡度大于 25° 的土地占 {sh:.0%},超过 {max_share_gt25:.0%}")
            en.append(f"{sh:.0%} of the land within {r_txt} m is steeper than 25°, above {max_share_gt25:.0%}")
        if zh:
            zh.append("建议开展地质灾害危险性评估")
            en.append("a geological-hazard assessment is advised")
        elif math.isnan(s_deg) and math.isnan(sh):
            zh.append("无坡度数据(DEM 空洞或超出范围),无法筛查")
            en.append("no slope data (DEM void or outside the DEM); not screened")
        reason_zh.append(";".join(zh))
        reason_en.append("; ".join(en))
    site_ids = sites["site_id"].astype(str).to_numpy()
    return pd.DataFrame({
        "site_id": site_ids,
        "slope_deg": slope_at,
        "share_gt25": share,
        "hazard": steep_site | steep_around,
        "hazard_reason": reason_zh,
        "hazard_reason_en": reason_en,
    }, index=sites.index)[list(HAZARD_COLUMNS)]

