"""Terrain files: slope GeoTIFFs written window by window, steep-land polygons, land tables.

The array work is in :mod:`geo.terrain` (Horn slope) and :mod:`analysis.land` (classes,
zonal areas, candidates, exclusions, hazard screen); this module opens and writes the files
around it, with the ledger columns and ``land_ledger.csv`` in :mod:`layers.ledger`.

Memory stays bounded whatever the DEM size: :func:`write_slope` reads full-width strips of
``block_rows`` rows (plus a one-pixel halo) and writes each strip before reading the next;
the land statistics read the slope GeoTIFF window by window through exactextract.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import rasterio
import rasterio.features
import shapely
from affine import Affine
from numpy.typing import NDArray
from openpyxl import Workbook
from rasterio.enums import Resampling
from rasterio.errors import RasterioIOError
from rasterio.windows import Window

from analysis.land import (
    SLOPE_CLASSES,
    candidate_list,
    mask_exclusions,
    parcel_land_table,
    site_hazard,
    village_land_table,
    zonal_class_areas,
)
from analysis.ledger import LEDGER_INPUT_COLUMNS, ledger_table
from anzhi.core.errors import DataSourceError, InputError, ProblemCollector
from geo.terrain import GridSpec, iter_windows, slope_window
from anzhi.core.files import atomic_write
from layers.export import csv_safe
from layers.sheets import cell_values, write_table
from layers.guard import check_opened_driver, check_raster_file, check_vector_file
from layers.ledger import LEDGER_HEADERS, M2_PER_HA, M2_PER_MU, read_ledger_columns, write_ledger_csv
from layers.raster import (DemInfo, PixelWindow, bounds_window, check_dem, check_window_pixels,
                           window_transform)

__all__ = [
    "SLOPE_NODATA",
    "STEEP_SIMPLIFY_PX",
    "LAND_FILES",
    "LAND_XLSX_HEADERS",
    "LAND_XLSX_AREA_UNITS",
    "M2_PER_HA",
    "M2_PER_MU",
    "SlopeRaster",
    "LandResult",
    "open_slope",
    "write_slope",
    "steep_polygons",
    "read_parcels",
    "land_statistics",
    "write_land",
    "site_hazard_from_raster",
]

#: Nodata value of slope GeoTIFFs (slope is always >= 0).
SLOPE_NODATA: float = -9999.0
#: Default simplification tolerance of steep-land polygons, in pixels of the slope raster
#: (1 pixel = 30 m on a 30 m DEM, ≈ 90 m on SRTM 3").
STEEP_SIMPLIFY_PX: float = 1.0
#: Files :func:`write_land` writes (land_ledger.csv when the parcels carry ledger columns).
LAND_FILES: tuple[str, ...] = ("land_parcels.csv", "land_villages.csv", "land.xlsx", "land.gpkg",
                               "land_ledger.csv")

_TILE = 512
_GDAL_CACHE_MB = 256

log = logging.getLogger(__name__)


def _gtiff_profile(width: int, height: int, crs: Any, transform: Any) -> dict[str, Any]:
    return {
        "driver": "GTiff", "dtype": "float32", "count": 1, "width": width, "height": height,
        "crs": crs, "transform": transform, "nodata": SLOPE_NODATA,
        "tiled": True, "blockxsize": _TILE, "blockysize": _TILE,
        "compress": "deflate", "zlevel": 1, "predictor": 1, "num_threads": "ALL_CPUS",
        "bigtiff": "IF_SAFER",
    }


def _grid_of(src: rasterio.io.DatasetReader, path: str | Path) -> GridSpec:
    if src.crs is None:
        raise InputError(f"{path}: the raster has no CRS; fix: assign one, e.g. "
                         f"gdal_edit.py -a_srs EPSG:4542 {Path(str(path)).name}")
    try:
        return GridSpec.from_crs(src.height, src.width, src.transform, src.crs)
    except InputError as exc:
        raise InputError(f"{path}: {exc}") from exc


def write_slope(dem: str | Path, out: str | Path, *, aspect_out: str | Path | None = None,
                block_rows: int = 512, block_cols: int = 4096, overviews: bool = False,
                bounds: tuple[float, float, float, float] | None = None,
                bounds_crs: str = "EPSG:4326", margin_m: float = 0.0) -> Path:
    """Write the slope (degrees) of a DEM as a tiled, deflate-compressed GeoTIFF.

    Parameters
    ----------
    dem
        GeoTIFF, SRTM ``.hgt`` or a ``.zip`` holding one (elevations in metres; projected
        in metres or geographic in degrees; its nodata value honoured).
    out
        Slope GeoTIFF to write (float32 degrees, nodata :data:`SLOPE_NODATA`, 512 × 512
        tiles, deflate).  Written atomically.
    aspect_out
        Optional aspect GeoTIFF (degrees clockwise from north, nodata where flat or none).
    block_rows, block_cols
        Window size in pixels (rounded up to whole 512-pixel tiles).  Peak memory is about
        ``block_rows × block_cols × 40`` bytes plus a 256 MB GDAL block cache, whatever the
        size of the DEM (≈ 350 MB with the defaults).
    overviews
        Add internal overviews (2, 4, 8, …, nearest) so viewers draw it fast (COG-style).
    bounds
        Only the DEM's pixels under this box ``(left, bottom, right, top)`` in
        ``bounds_crs`` plus ``margin_m`` ground metres (e.g. the sites' extent) are read and
        written (:func:`layers.raster.bounds_window`); each output pixel is the one the
        whole DEM gives there (the halo is read from the DEM around the window).  The pixel
        limit ``settings.max_raster_pixels`` then applies to that window, not to the DEM's
        declared size.  Default: the whole DEM.
    bounds_crs, margin_m
        CRS of ``bounds`` (default lon/lat) and the ground margin around it (metres).

    Returns
    -------
    pathlib.Path
        ``out``.

    Raises
    ------
    DataSourceError, InputError
        The DEM cannot be opened, has no CRS, is rotated, has more than one band, has more
        pixels (whole, or in the window of ``bounds``) than the limit, or misses ``bounds``.
    """
    info = check_dem(dem, whole=bounds is None)
    rows = max(_TILE, int(math.ceil(block_rows / _TILE)) * _TILE)
    cols = max(_TILE, int(math.ceil(block_cols / _TILE)) * _TILE)
    found: list[bool] = []
    with rasterio.Env(GDAL_CACHEMAX=_GDAL_CACHE_MB, GDAL_NUM_THREADS="ALL_CPUS"), \
            rasterio.open(info.path) as src:
        grid = _grid_of(src, dem)
        nodata = src.nodata
        wr0, wr1, wc0, wc1 = (0, grid.height, 0, grid.width) if bounds is None else \
            _bounds_window(info, dem, bounds, bounds_crs, margin_m)
        height, width = wr1 - wr0, wc1 - wc0
        read = _StripReader(src, rows, row0=max(wr0 - 1, 0), col0=max(wc0 - 1, 0),
                            col1=min(wc1 + 1, grid.width))
        profile = _gtiff_profile(width, height, src.crs,
                                 window_transform(src.transform, wr0, wc0))

        def compute(w: tuple[int, int, int, int], aspect: bool) -> tuple[NDArray[np.float32], Any]:
            res = slope_window(read, grid, w, nodata=nodata, aspect=aspect)
            s, a = res if isinstance(res, tuple) else (res, None)
            if not found and np.isfinite(s).any():
                found.append(True)
            s[np.isnan(s)] = SLOPE_NODATA
            if a is not None:
                a[np.isnan(a)] = SLOPE_NODATA
            return s, a

        def writer(tmp_slope: Path, tmp_aspect: Path | None) -> None:
            # One worker reads and computes the next window while this thread compresses and
            # writes the current one (GDAL and NumPy release the GIL): two windows in memory.
            with rasterio.open(tmp_slope, "w", **profile) as dst, \
                    _maybe_open(tmp_aspect, profile) as adst, ThreadPoolExecutor(max_workers=1) as pool:
                windows = [(r0 + wr0, r1 + wr0, c0 + wc0, c1 + wc0) for r0, r1, c0, c1
                           in iter_windows(height, width, block_rows=rows, block_cols=cols)]
                pending = pool.submit(compute, windows[0], adst is not None)
                for k, w in enumerate(windows):
                    s, a = pending.result()
                    if k + 1 < len(windows):
                        pending = pool.submit(compute, windows[k + 1], adst is not None)
                    win = Window(w[2] - wc0, w[0] - wr0, w[3] - w[2], w[1] - w[0])
                    dst.write(s, 1, window=win)
                    if adst is not None:
                        adst.write(a, 1, window=win)
                if overviews:
                    _overviews(dst, height, width)
                    if adst is not None:
                        _overviews(adst, height, width)

        if aspect_out is None:
            written = atomic_write(out, lambda tmp: writer(tmp, None))
        else:
            aspect_path = Path(aspect_out)

            def write_both(tmp: Path) -> None:
                atomic_write(aspect_path, lambda tmp_a: writer(tmp, tmp_a))

            written = atomic_write(out, write_both)
    if not found:
        log.warning("%s", _no_slope_warning(Path(str(dem)).name, info.crs))
    return written


def _no_slope_warning(name: str, crs: str) -> str:
    return (f"{name}: DEM 中没有任何像元能算出坡度(全为无数据值或空洞),坡度图为空;请换一个有高程的 DEM。"
            f" / The DEM {name} ({crs}) gives no slope at any pixel: it is all nodata (or voids), "
            "so the slope raster is empty; fix: give a DEM with elevations (check its nodata "
            "value with gdalinfo)")


def _bounds_window(info: DemInfo, dem: str | Path, bounds: tuple[float, float, float, float],
                   crs: str, margin_m: float) -> PixelWindow:
    """The DEM window under ``bounds`` plus ``margin_m``, refused when empty or too large."""
    name = Path(str(dem)).name
    win = bounds_window(info, bounds, crs=crs, margin_m=margin_m)
    if win is None:
        box = ", ".join(f"{v:.6g}" for v in bounds)
        raise InputError(
            f"{name}: the DEM ({info.crs}, {info.width:,} × {info.height:,} pixels) does not "
            f"reach the area ({box}) in {crs} (plus {margin_m:g} m); fix: give a DEM that "
            "covers the county (check the DEM's CRS with gdalinfo)")
    check_window_pixels(name, win[1] - win[0], win[3] - win[2], what="around the sites")
    return win


class _StripReader:
    """Serves DEM windows from strips read once, aligned on the strip grid.

    GDAL decodes a tiled GeoTIFF window that is not tile-aligned tile by tile again for
    each read (the multi-threaded read path bypasses the block cache), so reading every
    window with its one-pixel halo would decode the neighbouring tile rows twice.  Here
    each strip of ``rows`` rows (from ``row0``; columns ``col0:col1``, default the full
    width) is read once (raw values) and kept until the windows below it no longer need
    it (windows come row-major): at most three strips in memory.
    """

    def __init__(self, src: Any, rows: int, *, row0: int = 0, col0: int = 0,
                 col1: int | None = None) -> None:
        self.src = src
        self.rows = rows
        self.row0, self.col0 = row0, col0
        self.col1 = src.width if col1 is None else col1
        self.strips: dict[int, NDArray[Any]] = {}

    def _strip(self, k: int) -> NDArray[Any]:
        if k not in self.strips:
            r0 = self.row0 + k * self.rows
            h = min(self.rows, self.src.height - r0)
            self.strips[k] = self.src.read(1, window=Window(self.col0, r0, self.col1 - self.col0, h))
        return self.strips[k]

    def __call__(self, r0: int, r1: int, c0: int, c1: int) -> NDArray[Any]:
        k0, k1 = (r0 - self.row0) // self.rows, (r1 - 1 - self.row0) // self.rows
        for old in [j for j in self.strips if j < k0]:  # windows come in row-major order
            del self.strips[old]
        parts = []
        for k in range(k0, k1 + 1):
            strip = self._strip(k)
            lo = max(r0 - self.row0 - k * self.rows, 0)
            hi = min(r1 - self.row0 - k * self.rows, strip.shape[0])
            parts.append(strip[lo:hi, c0 - self.col0:c1 - self.col0])
        return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=0)


@contextmanager
def _maybe_open(path: Path | None, profile: dict[str, Any]) -> Iterator[Any]:
    if path is None:
        yield None
        return
    with rasterio.open(path, "w", **profile) as dst:
        yield dst


def _overviews(dst: Any, height: int, width: int) -> None:
    factors = []
    f = 2
    while max(width, height) / f >= 256:
        factors.append(f)
        f *= 2
    if factors:
        dst.build_overviews(factors, Resampling.nearest)


# --------------------------------------------------------------------------------------
# Reading slope rasters
# --------------------------------------------------------------------------------------


@dataclass
class SlopeRaster:
    """An open slope GeoTIFF: its grid and a window reader (float32 degrees, NaN = none)."""

    grid: GridSpec
    dataset: Any

    def read(self, r0: int, r1: int, c0: int, c1: int) -> NDArray[np.float32]:
        """Slope (degrees) of rows ``r0:r1`` and columns ``c0:c1``; NaN where none."""
        a = self.dataset.read(1, window=Window(c0, r0, c1 - c0, r1 - r0)).astype(np.float32, copy=False)
        nd = self.dataset.nodata
        if nd is not None:
            a = np.where(a == nd, np.float32(np.nan), a)
        return a


@contextmanager
def open_slope(path: str | Path) -> Iterator[SlopeRaster]:
    """Open a slope GeoTIFF written by :func:`write_slope` (or ``gdaldem slope``).

    Raises
    ------
    DataSourceError
        When it cannot be opened.
    """
    driver = check_raster_file(path, what="slope raster")  # no VRT, no /vsi path
    try:
        ds = rasterio.open(str(path), driver=driver)
    except RasterioIOError as exc:
        raise DataSourceError(f"{path}: cannot open the slope raster ({exc})") from exc
    with ds:
        if ds.count != 1:
            raise InputError(f"{path}: a slope raster has one band, this one has {ds.count}")
        yield SlopeRaster(_grid_of(ds, path), ds)


# --------------------------------------------------------------------------------------
# Steep-land polygons for the map
# --------------------------------------------------------------------------------------


def steep_polygons(slope_path: str | Path, *, threshold_deg: float = 25.0,
                   simplify_px: float = STEEP_SIMPLIFY_PX, min_pixels: int = 4,
                   max_pixels: int = 16_000_000) -> gpd.GeoDataFrame:
    """Polygons of land steeper than ``threshold_deg``, simplified for a browser map.

    Parameters
    ----------
    slope_path
        Slope GeoTIFF (degrees).
    threshold_deg
        Land with slope ``> threshold_deg`` is steep.  Default 25°.
    simplify_px
        Douglas–Peucker tolerance in pixels of the polygonised raster (default 1 pixel:
        30 m on a 30 m DEM).  Topology is preserved per polygon.
    min_pixels
        Drop zones smaller than this many pixels (default 4: specks a map cannot show).
    max_pixels
        Rasters larger than this are polygonised from a decimated copy (each coarse pixel is
        steep when the nearest fine pixel is); the tolerance stays ``simplify_px`` coarse
        pixels.  Default 16 M pixels (a 4,000 × 4,000 grid).

    Returns
    -------
    geopandas.GeoDataFrame
        EPSG:4326 polygons with ``area_m2`` (ground area before simplification, from the
        pixel areas on the ellipsoid) and ``tolerance_m`` (the simplification tolerance in
        ground metres, approximate for geographic rasters).
    """
    if not (0 <= threshold_deg < 90):
        raise InputError(f"threshold_deg must be in [0, 90) degrees, got {threshold_deg!r}")
    with open_slope(slope_path) as sr:
        g = sr.grid
        factor = max(1, int(math.ceil(math.sqrt(g.height * g.width / max_pixels))))
        h, w = int(math.ceil(g.height / factor)), int(math.ceil(g.width / factor))
        data = sr.dataset.read(1, out_shape=(h, w), resampling=Resampling.nearest)
        nd = sr.dataset.nodata
        steep = (data > threshold_deg) & ((data != nd) if nd is not None else True)
        t0 = sr.dataset.transform
        transform = Affine(t0.a * g.width / w, 0.0, t0.c, 0.0, t0.e * g.height / h, t0.f)
        coarse = GridSpec(h, w, transform, g.crs_wkt)
        crs = sr.dataset.crs
    labels, n = _label(steep)
    keep_ids = np.flatnonzero(np.bincount(labels.ravel(), minlength=n + 1)[1:] >= min_pixels) + 1
    mask = np.isin(labels, keep_ids)
    geoms, areas = [], []
    px_w, _ = coarse.pixel_size_m(np.array([h // 2]))
    tol_units = simplify_px * abs(transform.a)
    tol_m = float(simplify_px * px_w[0])
    for geom, _val in rasterio.features.shapes(mask.astype(np.uint8), mask=mask, transform=transform,
                                               connectivity=8):
        poly = shapely.geometry.shape(geom)
        # pixel count × the ground area of a pixel at the zone's centre (a centre on a pixel
        # edge counts in the pixel after it, whatever the rounding of the window's origin)
        col = (poly.centroid.x - transform.c) / transform.a + 1e-6
        row = (poly.centroid.y - transform.f) / transform.e + 1e-6
        r, c = int(min(max(row, 0), h - 1)), int(min(max(col, 0), w - 1))
        n_px = poly.area / abs(transform.a * transform.e)
        areas.append(n_px * float(coarse.cell_area_m2(r, r + 1, c, c + 1)[0, 0]))
        geoms.append(poly.simplify(tol_units, preserve_topology=True))
    out = gpd.GeoDataFrame({"area_m2": np.asarray(areas, dtype=np.float64),
                            "tolerance_m": np.full(len(geoms), tol_m)}, geometry=geoms, crs=crs)
    out = out[~out.geometry.is_empty]
    return out.to_crs("EPSG:4326").reset_index(drop=True)


def _label(mask: NDArray[np.bool_]) -> tuple[NDArray[np.int32], int]:
    from scipy import ndimage

    labels, n = ndimage.label(mask, structure=np.ones((3, 3), dtype=bool))
    return labels.astype(np.int32, copy=False), int(n)


# --------------------------------------------------------------------------------------
# Parcels and land statistics
# --------------------------------------------------------------------------------------

_PARCEL_ALIASES = {
    "parcel_id": ("parcel_id", "地块编号", "图斑编号", "编号", "id"),
    "village": ("village", "村", "村名", "行政村", "村/社区"),
    "household_id": ("household_id", "户编号", "农户编号", "户主"),
    "land_use": ("land_use", "地类", "地类名称", "土地利用类型", "landuse"),
}


def read_parcels(path: str | Path, *, layer: str | None = None) -> gpd.GeoDataFrame:
    """Read out-migration land parcels (GeoPackage, Shapefile, GeoJSON).

    Columns are found by English or Chinese name (``parcel_id``/地块编号,
    ``village``/村, ``land_use``/地类, optional ``household_id``/户编号), and the optional
    ledger columns (台账状态, 复垦面积, 节余指标: :func:`layers.ledger.read_ledger_columns`)
    become :data:`analysis.ledger.LEDGER_INPUT_COLUMNS` (codes, m²).

    Raises
    ------
    DataSourceError
        Unreadable file.
    InputError
        No CRS, missing columns, non-polygon or invalid geometries (every problem listed).
    """
    p = Path(str(path))
    check_opened_driver(p, check_vector_file(p, what="parcel layer"), what="parcel layer")
    try:
        gdf = gpd.read_file(p, layer=layer) if layer else gpd.read_file(p)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, OSError) as exc:
        raise DataSourceError(f"{p}: cannot read the parcel layer ({exc}); give a GeoPackage, "
                              "Shapefile or GeoJSON of polygons") from exc
    pc = ProblemCollector(file=p.name)
    rename: dict[str, str] = {}
    for key, names in _PARCEL_ALIASES.items():
        found = next((c for c in gdf.columns if str(c).strip().casefold() in {n.casefold() for n in names}), None)
        if found is None:
            if key != "household_id":
                pc.add(f"no {key!r} column", column=key,
                       fix=f"name a column one of: {', '.join(names)}")
        else:
            rename[found] = key
    if gdf.crs is None:
        pc.add("the layer has no CRS", fix="save it with a CRS (e.g. EPSG:4326 or EPSG:4542)")
    gtype = gdf.geometry.geom_type
    bad = ~gtype.isin(["Polygon", "MultiPolygon"]) & gdf.geometry.notna()
    for i in np.flatnonzero(bad.to_numpy())[:20]:
        pc.add("the geometry is not a polygon", row=int(i) + 1, value=str(gtype.iloc[i]),
               fix="give parcels as polygons")
    invalid = ~gdf.geometry.is_valid & gdf.geometry.notna() & ~bad
    for i in np.flatnonzero(invalid.to_numpy())[:20]:
        pc.add("the polygon is invalid (self-intersecting?)", row=int(i) + 1,
               fix="repair it (QGIS: Fix geometries; shapely.make_valid)")
    ledger = read_ledger_columns(gdf.drop(columns=list(rename)), pc)
    pc.raise_if_any()
    gdf = gdf.rename(columns=rename)
    if ledger is not None:
        gdf = gdf.drop(columns=ledger[1]).join(ledger[0])
    gdf["parcel_id"] = gdf["parcel_id"].astype(str)
    return gdf


@dataclass(frozen=True)
class LandResult:
    """Out-migration land statistics of one run.

    Attributes
    ----------
    parcels
        land_parcels table (:data:`analysis.land.PARCEL_COLUMNS`).
    villages
        land_villages table (:data:`analysis.land.VILLAGE_COLUMNS`).
    candidates
        Candidate list (:data:`analysis.land.CANDIDATE_COLUMNS`).
    geometry
        The parcels' polygons (EPSG:4326), same order as ``parcels``.
    ledger
        The out-migration ledger (:data:`analysis.ledger.LEDGER_COLUMNS`), None when the
        parcels carry no ledger columns.
    warnings
        Warnings a planner should see (Chinese / English), e.g. parcels the DEM does not
        cover; also logged.
    """

    parcels: pd.DataFrame
    villages: pd.DataFrame
    candidates: pd.DataFrame
    geometry: gpd.GeoSeries
    warnings: tuple[str, ...] = ()
    ledger: pd.DataFrame | None = None


def land_statistics(parcels: gpd.GeoDataFrame, slope_path: str | Path, *,
                    dem: str | Path | None = None,
                    masks: gpd.GeoDataFrame | None = None) -> LandResult:
    """Slope-class areas per parcel and village from a slope GeoTIFF (read window by window).

    Parameters
    ----------
    parcels
        From :func:`read_parcels` (any CRS with a definition).
    slope_path
        Slope GeoTIFF from :func:`write_slope`.
    dem
        The DEM the slope was computed from, named in the warning about parcels with no
        slope (outside the DEM or on its voids); default the slope file.
    masks
        Exclusion polygons with a ``label`` (:func:`layers.landmasks.read_masks`): the
        parcels' land inside is left out of the forest measures
        (:func:`analysis.land.mask_exclusions`).  Default: none.
    """
    with open_slope(slope_path) as sr:
        areas = zonal_class_areas(parcels, sr.read, sr.grid, strategy="raster-sequential")
        excluded = None if masks is None else mask_exclusions(parcels, masks, sr.read, sr.grid)
        extent = (sr.dataset.bounds, sr.dataset.crs.to_string())
    table = parcel_land_table(parcels, areas)
    ledger = None
    if set(LEDGER_INPUT_COLUMNS) <= set(parcels.columns):
        ledger = ledger_table(table, pd.DataFrame(parcels.drop(columns=parcels.geometry.name)))
    geometry = parcels.geometry.to_crs("EPSG:4326").reset_index(drop=True)
    warning = _parcels_outside_warning(table, geometry, Path(str(dem or slope_path)).name, *extent)
    if warning:
        log.warning("%s", warning)
    return LandResult(
        parcels=table,
        villages=village_land_table(table),
        candidates=candidate_list(table, exclusions=excluded),
        geometry=geometry,
        warnings=(warning,) if warning else (),
        ledger=ledger,
    )


def _parcels_outside_warning(table: pd.DataFrame, geometry: gpd.GeoSeries, name: str,
                             bounds: Any, crs: str) -> str | None:
    """A warning when some parcels get no slope at all (outside the DEM, or on its voids)."""
    ok = ~(geometry.is_empty | geometry.isna()).to_numpy()
    none = ok & ~(table["area_slope_m2"].to_numpy(dtype=np.float64) > 0)
    k, n = int(none.sum()), int(ok.sum())
    if not k:
        return None
    x0, y0, x1, y1 = geometry[ok].total_bounds
    ext = f"{bounds.left:.6g}, {bounds.bottom:.6g}, {bounds.right:.6g}, {bounds.top:.6g}"
    where = (f"DEM {name} ({crs}) extent {ext}; the parcels span lon {x0:.4f}–{x1:.4f}, "
             f"lat {y0:.4f}–{y1:.4f}")
    what = f"none of the {n} parcels gets" if k == n else f"{k} of the {n} parcels get no"
    return (f"{name}: {n} 个地块中有 {k} 个没有坡度数据(在 DEM 范围之外或落在空洞上),其坡度面积记为 0;"
            "请换一个覆盖全县的 DEM。"
            f" / {what} slope from the DEM ({where}): they are outside it "
            "or on its voids, so their slope-class areas are 0; fix: give a DEM covering the "
            "county (check its CRS)")


#: Headers of land.xlsx, ``column: (中文, English)``; ``M2_PER_HA`` and ``M2_PER_MU``
#: (m² per 公顷 and per 亩) come from :mod:`layers.ledger`.
LAND_XLSX_HEADERS: dict[str, tuple[str, str]] = {
    **LEDGER_HEADERS,
    "rank": ("排名", "Rank"), "priority": ("优先级", "Priority"),
    "parcel_id": ("地块编号", "Parcel ID"), "village": ("村", "Village"),
    "land_use": ("地类", "Land use"), "n_parcels": ("地块数", "Parcels"),
    "area_m2": ("面积(平方米)", "Area (m²)"),
    "area_gt25_m2": ("坡度>25°面积(平方米)", "Area > 25° (m²)"),
    "share_gt25": ("坡度>25°占比", "Share > 25°"),
    "cropland_m2": ("耕地面积(平方米)", "Cropland (m²)"),
    "cropland_gt25_m2": ("坡度>25°耕地面积(平方米)", "Cropland > 25° (m²)"),
    "area_slope_m2": ("有坡度数据面积(平方米)", "Area with slope data (m²)"),
    "measure": ("建议措施", "Suggested measure"), "caveat": ("注意事项", "Caveat"),
    "excluded_m2": ("排除图层内面积(平方米)", "Area inside exclusion layers (m²)"),
    "excluded_gt25_m2": ("排除图层内坡度>25°面积(平方米)", "Area > 25° inside exclusion layers (m²)"),
    "excluded_by": ("排除图层", "Exclusion layers"),
    **{c.column: (f"坡度{c.zh}面积(平方米)", f"Area {c.en} (m²)")
       for c in SLOPE_CLASSES if c.code < 5},
}
#: Area columns of land.xlsx followed by the same area in 公顷 and 亩 (the others stay in m²).
LAND_XLSX_AREA_UNITS: tuple[str, ...] = ("area_m2", "area_gt25_m2", "cropland_m2",
                                         "cropland_gt25_m2", "reclaimed_m2", "quota_m2")
_LAND_SHEETS = (("parcels", "地块", "Parcels"), ("villages", "村", "Villages"),
                ("candidates", "候选地块", "Candidates"), ("ledger", "迁出地台账", "Ledger"))
_LAND_NOTES = (
    ("坡度分级按第三次全国国土调查:≤2°、2–6°、6–15°、15–25°、>25°(含上限,恰为25°计入15–25°)。",
     "Slope classes of the Third National Land Survey: ≤2°, 2–6°, 6–15°, 15–25°, >25° (upper "
     "bound included: exactly 25° is in 15–25°)."),
    ("面积为椭球面实际面积,按地块对栅格像元的覆盖比例加权;平方米取整,公顷、亩保留两位小数。",
     "Areas are true ellipsoidal areas, weighted by each parcel's cover of the raster cells; m² "
     "rounded to whole metres, hectares and mu to two decimals."),
    ("1 公顷 = 10,000 平方米 = 15 亩;1 亩 ≈ 666.67 平方米。",
     "1 hectare = 10,000 m² = 15 mu (亩); 1 mu ≈ 666.67 m²."),
    ("坡度>25°占比 = 坡度>25°面积 / 有坡度数据面积。",
     "Share > 25° = area > 25° / area with slope data."),
    ("候选地块:坡度>25°的耕地优先(退耕还林还草),其次其他地类(国家储备林、油茶)与宅基地(复垦复绿,"
     "不植林);耕地上的储备林、油茶须不占耕地或落实进出平衡;“依据”列出所据文件与条款。",
     "Candidates: cropland > 25° first (Grain-for-Green), then other land (national reserve "
     "forest, oil-tea) and house plots (reclaimed and re-greened, not forested); reserve forest "
     "or oil-tea on cropland only without occupying cropland or with its in-out balance; "
     "'Basis' cites the document and clause."),
    ("排除图层(--exclude,如永久基本农田、生态保护红线)内的部分不纳入林业措施;全部位于其内的地块列为优先级3。",
     "Land inside the exclusion layers (--exclude, e.g. permanent basic farmland, ecological "
     "red lines) is left out of the forest measures; parcels wholly inside are priority 3."),
    ("迁出地台账:按地块列出旧房拆除、宅基地复垦复绿、待处理及增减挂钩节余指标(取自地块图层的台账列)。",
     "Ledger: each parcel demolished, reclaimed or pending, with its 增减挂钩 surplus quota "
     "(from the parcel layer's ledger columns)."),
)


def _xlsx_number(v: Any, digits: int) -> float | int | None:
    """A finite number rounded to ``digits`` (an int for 0), else None (an empty cell)."""
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(x):
        return None
    return int(round(x)) if digits == 0 else round(x, digits)


def _land_columns(df: pd.DataFrame, lang: str) -> list[tuple[str, list[Any], str | None]]:
    """The columns of one land.xlsx sheet: ``(header, values, number format)``, with 公顷 and
    亩 beside the headline m² columns and the measure in the sheet's language."""
    li = 0 if lang == "zh" else 1
    out: list[tuple[str, list[Any], str | None]] = []
    for col in df.columns:
        if col.endswith("_en") and col[:-3] in df.columns:
            continue  # the English twin of column col[:-3]
        values = df[f"{col}_en" if li and f"{col}_en" in df.columns else col].tolist()
        header = LAND_XLSX_HEADERS.get(col, (col, col))[li]
        if col.endswith("_m2"):
            out.append((header, [_xlsx_number(v, 0) for v in values], "#,##0"))
            if col in LAND_XLSX_AREA_UNITS:
                for per, unit in ((M2_PER_HA, ("(公顷)", " (ha)")), (M2_PER_MU, ("(亩)", " (mu)"))):
                    src = ("(平方米)", " (m²)")[li]
                    scaled = [None if (n := _xlsx_number(v, 6)) is None else round(n / per, 2)
                              for v in values]
                    out.append((header.replace(src, unit[li]), scaled, "#,##0.00"))
        elif col == "share_gt25":
            out.append((header, [_xlsx_number(v, 4) for v in values], "0.0%"))
        elif col in ("rank", "priority", "n_parcels"):
            out.append((header, [_xlsx_number(v, 0) for v in values], "#,##0"))
        else:
            out.append((header, ["" if v is None or (isinstance(v, float) and math.isnan(v))
                                 else str(v) for v in values], None))
    return out


def _land_table(wb: Workbook, title: str, used: set[str],
                columns: list[tuple[str, list[Any], str | None]]) -> None:
    """One land table as a sheet styled like gaps.xlsx (:func:`layers.sheets.write_table`)."""
    write_table(wb, title, used, [h for h, _, _ in columns],
                [cell_values(values, h) for h, values, _ in columns],
                number_formats={j: fmt for j, (_, _, fmt) in enumerate(columns) if fmt})


def _land_xlsx_writer(result: LandResult, lang: str) -> Any:
    def write(tmp: Path) -> None:
        li = 0 if lang == "zh" else 1
        wb = Workbook(write_only=True)
        used: set[str] = set()
        for attr, zh, en in _LAND_SHEETS:
            if getattr(result, attr) is not None:
                _land_table(wb, (zh, en)[li], used, _land_columns(getattr(result, attr), lang))
        notes = [n[li] for n in _LAND_NOTES]
        _land_table(wb, ("说明", "Notes")[li], used, [(("说明", "Notes")[li], notes, None)])
        wb.save(tmp)

    return write


def write_land(result: LandResult, out_dir: str | Path, *, lang: str = "zh",
               parquet: bool = False) -> dict[str, Path]:
    """Write land_parcels.csv, land_villages.csv, land.xlsx and land.gpkg, with a ledger
    land_ledger.csv (and with ``parquet`` the GeoParquet file land_parcels.parquet).

    Every file is written atomically (temporary name, then rename).  CSVs are UTF-8 with
    BOM, the English column names and full precision, but for land_ledger.csv, a table for
    the county's 台账 with headers and statuses in ``lang``
    (:func:`layers.ledger.write_ledger_csv`).  land.xlsx is for reading: sheets
    地块/Parcels, 村/Villages, 候选地块/Candidates (with 依据/Basis), 迁出地台账/Ledger (with a
    ledger) and 说明/Notes, headers in ``lang``, m²
    rounded to whole metres with 公顷 (ha) and 亩 (mu, 1/15 ha) beside the headline areas
    (:data:`LAND_XLSX_AREA_UNITS`), shares as percentages, a bold frozen header row with
    filters and fitted column widths; text cells are never formulas.  land.gpkg has layers
    ``parcels`` (polygons with the parcel table) and ``candidates``.

    Parameters
    ----------
    result
        From :func:`land_statistics`.
    out_dir
        Output folder (created if absent).
    lang
        ``"zh"`` (Chinese headers and measures in land.xlsx) or ``"en"``.
    parquet
        Also write ``land_parcels.parquet``: the parcel table with its polygons (EPSG:4326,
        geopandas ``to_parquet``).

    Returns
    -------
    dict
        File name → path.

    Raises
    ------
    InputError
        Unknown ``lang`` (nothing written).
    """
    if lang not in ("zh", "en"):
        raise InputError(f"unknown language {lang!r} for land.xlsx: use 'zh' or 'en'")
    out = Path(out_dir)
    written: dict[str, Path] = {}
    written["land_parcels.csv"] = atomic_write(
        out / "land_parcels.csv",
        lambda t: csv_safe(result.parcels).to_csv(t, index=False, encoding="utf-8-sig"))
    written["land_villages.csv"] = atomic_write(
        out / "land_villages.csv",
        lambda t: csv_safe(result.villages).to_csv(t, index=False, encoding="utf-8-sig"))

    written["land.xlsx"] = atomic_write(out / "land.xlsx", _land_xlsx_writer(result, lang))
    if result.ledger is not None:
        written["land_ledger.csv"] = write_ledger_csv(result.ledger, out / "land_ledger.csv", lang=lang)

    def gpkg(tmp: Path) -> None:
        tmp.unlink(missing_ok=True)
        g = gpd.GeoDataFrame(result.parcels.copy(), geometry=result.geometry.values, crs="EPSG:4326")
        g.to_file(tmp, layer="parcels", driver="GPKG")
        cand = g.set_index("parcel_id").loc[result.candidates["parcel_id"], ["geometry"]].reset_index()
        cg = gpd.GeoDataFrame(result.candidates.copy(), geometry=cand.geometry.values, crs="EPSG:4326")
        if len(cg):
            cg.to_file(tmp, layer="candidates", driver="GPKG", mode="a")

    written["land.gpkg"] = atomic_write(out / "land.gpkg", gpkg)
    if parquet:
        parcels = gpd.GeoDataFrame(result.parcels.copy(), geometry=result.geometry.values,
                                   crs="EPSG:4326")
        written["land_parcels.parquet"] = atomic_write(
            out / "land_parcels.parquet", lambda t: parcels.to_parquet(t, index=False))
    return written


# --------------------------------------------------------------------------------------
# Site hazard screen adapter
# --------------------------------------------------------------------------------------


def site_hazard_from_raster(sites: gpd.GeoDataFrame, slope_path: str | Path, *,
                            radius_m: float = 100.0, max_slope_deg: float = 25.0,
                            max_share_gt25: float = 0.3) -> pd.DataFrame:
    """:func:`analysis.land.site_hazard` on a slope GeoTIFF (read only around the sites).

    Parameters are those of :func:`analysis.land.site_hazard`; ``sites`` as returned by
    ``layers.sites.read_sites`` (EPSG:4326, ``site_id``).
    """
    with open_slope(slope_path) as sr:
        return site_hazard(sites, sr.read, sr.grid, radius_m=radius_m, max_slope_deg=max_slope_deg,
                           max_share_gt25=max_share_gt25)


