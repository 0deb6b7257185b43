"""Files of a siting run (issue 14): candidate parcels, exclusion polygons, slope at the
candidates, and the outputs ``siting.csv``, ``site_status.csv``, ``siting.xlsx``,
``siting.gpkg`` and ``facilities_after.csv``.

Reading:

* :func:`read_candidates` — the user's candidate layer (``--candidates``): points, or
  polygons/lines as their representative point, with their id column;
* :func:`read_exclusions` and :func:`inside_polygons` — exclusion polygon layers
  (``--exclude``: 生态保护红线, 永久基本农田, any polygon layer) through
  :func:`layers.boundaries.read_polygons`, and which points lie inside them;
* :func:`slope_at_points` — the DEM's slope (degrees, Horn) at points, read only in windows
  around them (:func:`layers.raster.point_windows`, :func:`geo.terrain.slope_window`).

Writing: :func:`write_siting` puts the five files of a :class:`SitingTables` into a folder
atomically, like :func:`layers.export.write_outputs`: they are written into a temporary
folder beside it and only then moved in; on failure the folder keeps the files it had.
CSV files are UTF-8 with a BOM and English column names; ``siting.xlsx`` has Chinese (or
English) headers; ``facilities_after.csv`` is a facility table
:func:`layers.facilities.read_facilities` reads (``anzhi gaps --facilities``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import shapely
from numpy.typing import ArrayLike, NDArray
from openpyxl import Workbook
from rasterio.windows import Window

from anzhi.core.errors import DataSourceError, InputError, ProblemCollector
from anzhi.core.vocabulary import label
from geo.candidates import steep_mask
from geo.terrain import GridSpec, slope_window
from layers.bilingual import bilingual
from layers.boundaries import read_polygons
from layers.export import csv_safe, whole_counts, write_folder
from layers.guard import check_opened_driver, check_vector_file
from layers.raster import check_dem, check_window_pixels, point_windows
from layers.sheets import cell_values, write_table

__all__ = [
    "CANDIDATE_ID_COLUMNS",
    "CandidateLayer",
    "exclusion_masks",
    "FACILITIES_AFTER_COLUMNS",
    "SITE_STATUS_COLUMNS",
    "SITING_COLUMNS",
    "SITING_FILES",
    "SitingTables",
    "inside_polygons",
    "read_candidates",
    "read_exclusions",
    "slope_at_points",
    "write_siting",
]

#: The files :func:`write_siting` writes, in the order they are moved into place.
SITING_FILES: tuple[str, ...] = ("siting.csv", "site_status.csv", "siting.xlsx", "siting.gpkg",
                                 "facilities_after.csv")

#: Columns of ``siting.csv`` that scripts rely on, in order (issue 14); more follow them.
SITING_COLUMNS: tuple[str, ...] = ("facility_type", "candidate_id", "lon", "lat", "lon_gcj02",
                                   "lat_gcj02", "sites_covered", "pop_covered_new", "covers")

#: Columns of ``site_status.csv`` (one row per site × facility type the rules require).
SITE_STATUS_COLUMNS: tuple[str, ...] = (
    "site_id", "site_name", "township", "population", "facility_type", "rule_ids",
    "status_before", "covered_before", "covered_after", "change", "served_by", "cost_after",
    "cost_unit", "lon", "lat")

#: Columns of ``facilities_after.csv``: a facility table ``anzhi gaps --facilities`` reads
#: (coordinates WGS84, said by the ``coords`` column), then ``status``.
FACILITIES_AFTER_COLUMNS: tuple[str, ...] = ("facility_id", "name", "facility_type", "capacity",
                                             "site_id", "lon", "lat", "coords", "status")

#: Headers of the candidate layer's id column, first match wins (case and blanks ignored).
CANDIDATE_ID_COLUMNS: tuple[str, ...] = ("candidate_id", "id", "编号", "候选编号", "候选点编号",
                                         "地块编号", "parcel_id", "fid", "name", "名称")


_SHEETS = bilingual("""
    recommended | 推荐选址   | Recommended
    status      | 安置点状态 | Site status
    coverage    | 覆盖率     | Coverage
    notes       | 说明       | Notes
""")

#: Headers of the xlsx sheets: column → (中文, English).
_HEADERS = bilingual("""
    facility_type       | 设施类型             | Facility type
    candidate_id        | 候选点编号           | Candidate
    source              | 候选点来源           | Candidate source
    facility_id         | 新设施编号           | New facility id
    lon                 | 经度(WGS84)          | Longitude (WGS84)
    lat                 | 纬度(WGS84)          | Latitude (WGS84)
    lon_gcj02           | 经度(GCJ-02)         | Longitude (GCJ-02)
    lat_gcj02           | 纬度(GCJ-02)         | Latitude (GCJ-02)
    slope_deg           | 坡度(度)             | Slope (°)
    capacity            | 容量(学位/民警等)    | Capacity (places, officers, ...)
    sites_covered       | 新覆盖安置点数       | Sites newly covered
    pop_covered_new     | 新覆盖人数           | People newly covered
    covers              | 覆盖的安置点         | Sites covered
    site_id             | 安置点编号           | Site ID
    site_name           | 安置点名称           | Site name
    county              | 县                   | County
    township            | 乡镇                 | Township
    population          | 人数                 | Population
    rule_ids            | 规则                 | Rules
    status_before       | 原状态               | Status before
    covered_before      | 原已覆盖             | Covered before
    covered_after       | 选址后覆盖           | Covered after
    change              | 变化                 | Change
    served_by           | 服务的新设施         | New facility serving it
    cost_after          | 选址后距离/时间      | Cost after
    cost_unit           | 单位                 | Unit
    level               | 层级                 | Level
    sites_required      | 需覆盖安置点数       | Sites required
    sites_covered_before | 原覆盖安置点数      | Sites covered before
    sites_covered_after | 选址后覆盖安置点数   | Sites covered after
    pop_required        | 需覆盖人数           | People required
    pop_covered_before  | 原覆盖人数           | People covered before
    pop_covered_after   | 选址后覆盖人数       | People covered after
    share_pop_before    | 原人口覆盖率         | Share of people before
    share_pop_after     | 选址后人口覆盖率     | Share of people after
    new_facilities      | 新建设施数           | New facilities
    item                | 项目                 | Item
    value               | 内容                 | Value
""")

_VALUE_LABELS = bilingual("""
    newly_covered   | 新覆盖     | newly covered
    already_covered | 原已覆盖   | already covered
    still_gap       | 仍有缺口   | still a gap
    uncoverable     | 无法覆盖   | cannot be covered
    ok              | 达标       | OK
    ok_shared       | 共享达标   | OK (shared)
    gap_missing     | 缺失       | Missing
    gap_capacity    | 容量不足   | Over capacity
    unroutable      | 无法到达   | Unroutable
    node            | 道路节点   | road node
    edge            | 道路沿线   | along a road
    site            | 安置点     | site
    user            | 用户候选点 | user candidate
    all             | 全部       | all
    township        | 乡镇       | township
""")


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True, eq=False)
class CandidateLayer:
    """The user's candidate locations: WGS84 points and their ids.

    Attributes
    ----------
    lon, lat
        WGS84 degrees (the representative point of a polygon or line).
    ids
        The id column's values (``str``), or ``C1, C2, …`` when the layer has none.
    id_column
        The column the ids came from (``None``: numbered).
    name
        The file name, for messages.
    """

    lon: NDArray[np.float64]
    lat: NDArray[np.float64]
    ids: tuple[str, ...]
    id_column: str | None
    name: str


def _geometry_type(path: Path, what: str) -> str | None:
    """The declared geometry type of the first layer (``None``: a table without geometry)."""
    import pyogrio

    try:
        info = pyogrio.read_info(str(path))
    except Exception as exc:  # noqa: BLE001 - any GDAL failure is a bad file here
        raise DataSourceError(f"{path.name}: cannot read the {what}: {exc}") from exc
    gt = info.get("geometry_type")
    return None if gt in (None, "None") else str(gt)


def _id_column(columns: Sequence[Any]) -> str | None:
    """The first column named as in :data:`CANDIDATE_ID_COLUMNS` (case and blanks ignored)."""
    folded = {str(c).strip().lower(): c for c in columns if c != "geometry"}
    for name in CANDIDATE_ID_COLUMNS:
        if name.lower() in folded:
            return str(folded[name.lower()])
    return None


def read_candidates(path: str | Path) -> CandidateLayer:
    """Read the user's candidate locations (``--candidates``): a point or polygon layer.

    Parameters
    ----------
    path
        GeoPackage, GeoJSON, Shapefile or FlatGeobuf with a CRS.  Points are used as they
        are; polygons (parcels) and lines give their representative point (a point inside
        them).  The id column is the first of :data:`CANDIDATE_ID_COLUMNS` present; without
        one the candidates are numbered ``C1, C2, …`` in file order.

    Raises
    ------
    InputError
        The layer has no geometry column, rows without geometry (all listed), blank or
        duplicate ids, or no rows at all.
    DataSourceError
        The file is missing, of another format, unreadable, or has no CRS.
    """
    p = Path(path)
    what = "candidate layer"
    check_opened_driver(p, check_vector_file(p, what=what), what=what)
    if _geometry_type(p, what) is None:
        raise InputError(f"{p.name}: the {what} has no geometry (a table without points or "
                         "polygons) — fix: give a point or polygon layer with a CRS, e.g. the "
                         "candidate parcels exported from QGIS as GeoPackage")
    gdf = read_polygons(p, what=what)
    pc = ProblemCollector(file=p.name)
    if not len(gdf):
        pc.add(f"the {what} has no rows", fix="give at least one candidate point or parcel")
    geoms = gdf.geometry.to_numpy()
    empty = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    for i in np.flatnonzero(empty)[:20]:
        pc.add("a candidate has no geometry", row=int(i) + 1, column="geometry",
               fix="draw the point or parcel, or delete the row")
    col = _id_column(gdf.columns)
    if col is not None:
        raw = gdf[col].tolist()
        ids = tuple("" if v is None or (isinstance(v, float) and math.isnan(v)) else
                    str(int(v)) if isinstance(v, float) and v.is_integer() else str(v).strip()
                    for v in raw)
        seen: dict[str, int] = {}
        for i, v in enumerate(ids):
            if not v:
                pc.add("blank candidate id", row=i + 1, column=col, fix="give every row an id")
            elif v in seen:
                pc.add(f"candidate id {v!r} occurs twice (rows {seen[v]} and {i + 1})",
                       row=i + 1, column=col, value=v, fix="give every candidate its own id")
            else:
                seen[v] = i + 1
    else:
        ids = tuple(f"C{i + 1}" for i in range(len(gdf)))
    pc.raise_if_any()
    pts = shapely.point_on_surface(geoms)
    return CandidateLayer(np.asarray(shapely.get_x(pts), dtype=np.float64),
                          np.asarray(shapely.get_y(pts), dtype=np.float64), ids, col, p.name)


def read_exclusions(paths: Sequence[str | Path]) -> list[tuple[str, gpd.GeoSeries]]:
    """Exclusion polygon layers (``--exclude``), each as ``(file name, polygons)`` in EPSG:4326.

    Raises
    ------
    InputError
        A layer holding geometries that are not polygons (their rows listed).
    DataSourceError
        As :func:`layers.boundaries.read_polygons`.
    """
    out: list[tuple[str, gpd.GeoSeries]] = []
    pc = ProblemCollector()
    for path in paths:
        p = Path(path)
        gdf = read_polygons(p, what="exclusion polygons")
        geoms = gdf.geometry
        kind = geoms.geom_type.fillna("").to_numpy(dtype=object)
        bad = ~np.isin(kind, ["Polygon", "MultiPolygon", ""])
        for i in np.flatnonzero(bad)[:10]:
            pc.add(f"{p.name}: row {int(i) + 1} is a {kind[i]}, not a polygon", value=kind[i],
                   fix="give polygon layers only (生态保护红线, 永久基本农田 ...)")
        keep = ~bad & ~geoms.is_empty.to_numpy() & geoms.notna().to_numpy()
        out.append((p.name, gpd.GeoSeries(geoms[keep].to_numpy(), crs="EPSG:4326")))
    pc.raise_if_any()
    return out


def inside_polygons(polygons: gpd.GeoSeries, lon: ArrayLike, lat: ArrayLike) -> NDArray[np.bool_]:
    """``True`` for the points (WGS84) inside or on the edge of any of ``polygons`` (EPSG:4326)."""
    x = np.asarray(lon, dtype=np.float64)
    y = np.asarray(lat, dtype=np.float64)
    out = np.zeros(len(x), dtype=bool)
    if not len(polygons) or not len(x):
        return out
    tree = shapely.STRtree(polygons.to_numpy())
    hit, _ = tree.query(shapely.points(x, y), predicate="intersects")
    out[np.unique(hit)] = True
    return out


def slope_at_points(dem: str | Path, lon: ArrayLike, lat: ArrayLike, *,
                    group_px: int = 1024) -> NDArray[np.float64]:
    """Slope (degrees, Horn) of the DEM pixel under each point (WGS84).

    The same values as :func:`layers.terrain.write_slope` of the whole DEM, reading only a
    window around each cluster of points (:func:`layers.raster.point_windows`), so a big
    DEM is never read whole.  NaN outside the DEM, on voids and on the raster's outer ring.
    """
    x = np.atleast_1d(np.asarray(lon, dtype=np.float64))
    y = np.atleast_1d(np.asarray(lat, dtype=np.float64))
    out = np.full(len(x), np.nan)
    if not len(x):
        return out
    import pyproj

    info = check_dem(dem, whole=False)
    name = Path(str(dem)).name
    tr = pyproj.Transformer.from_crs("EPSG:4326", info.crs, always_xy=True)
    xs, ys = (np.asarray(v, dtype=np.float64) for v in tr.transform(x, y))
    groups = point_windows(info, xs, ys, crs=info.crs, pad_px=1, group_px=group_px, align_px=32)
    with rasterio.open(info.path) as src:
        try:
            grid = GridSpec.from_crs(src.height, src.width, src.transform, src.crs)
        except InputError as exc:
            raise InputError(f"{name}: {exc}") from exc
        inv = ~src.transform
        col = np.floor(inv.a * xs + inv.b * ys + inv.c)
        row = np.floor(inv.d * xs + inv.e * ys + inv.f)

        def read(r0: int, r1: int, c0: int, c1: int) -> NDArray[Any]:
            return cast(NDArray[Any], src.read(1, window=Window(c0, r0, c1 - c0, r1 - r0)))

        for win, idx in groups:
            if win is None:
                continue
            r0, r1, c0, c1 = win
            check_window_pixels(name, r1 - r0, c1 - c0, what=f"around {len(idx)} candidate(s)")
            slope = np.asarray(slope_window(read, grid, win, nodata=src.nodata), dtype=np.float64)
            rr, cc = row[idx] - r0, col[idx] - c0
            ok = (rr >= 0) & (rr < r1 - r0) & (cc >= 0) & (cc < c1 - c0)
            out[idx[ok]] = slope[rr[ok].astype(np.int64), cc[ok].astype(np.int64)]
    return out


def exclusion_masks(lon: ArrayLike, lat: ArrayLike, *, exclude: Sequence[str | Path],
                    dem: str | Path | None, max_slope_deg: float = 25.0
                    ) -> tuple[dict[str, NDArray[np.bool_] | None], NDArray[np.float64],
                               list[tuple[str, int]]]:
    """Which candidate points (WGS84) the files exclude, their slope and the count per layer.

    Returns
    -------
    masks, slope_deg, per_file
        ``{"exclusion_area": inside any ``exclude`` layer, "steep_slope": slope above
        ``max_slope_deg``}`` (``None`` when there is no layer / no DEM: not checked), the
        slope at each point (degrees, NaN without a DEM or outside it), and
        ``(file name, points inside)`` of every exclusion layer.
    """
    x = np.asarray(lon, dtype=np.float64)
    y = np.asarray(lat, dtype=np.float64)
    per_file: list[tuple[str, int]] = []
    area: NDArray[np.bool_] | None = None
    if exclude:
        area = np.zeros(len(x), dtype=bool)
        for name, polys in read_exclusions(list(exclude)):
            inside = inside_polygons(polys, x, y)
            per_file.append((name, int(inside.sum())))
            area |= inside
    slope = np.full(len(x), np.nan)
    steep: NDArray[np.bool_] | None = None
    if dem is not None:
        slope = slope_at_points(dem, x, y)
        steep = steep_mask(slope, max_slope_deg=max_slope_deg)
    return {"exclusion_area": area, "steep_slope": steep}, slope, per_file


# --------------------------------------------------------------------------- writing


@dataclass(frozen=True, eq=False)
class SitingTables:
    """What a siting run writes (built by :mod:`anzhi.siting`).

    Attributes
    ----------
    recommended
        One row per new facility: :data:`SITING_COLUMNS`, then ``source``, ``facility_id``,
        ``slope_deg``, ``capacity`` (units it needs: places, officers; NaN for a type without
        a capacity norm).
    site_status
        :data:`SITE_STATUS_COLUMNS`: every site × facility type the rules require.
    coverage
        Before/after per facility type (``level`` ``all``) and per township.
    notes
        ``(中文 item, English item, value)`` rows of the 说明 sheet.
    facilities_after
        :data:`FACILITIES_AFTER_COLUMNS`: the existing facilities of the facility files and
        the new ones.
    candidates
        Every candidate: ``candidate_id``, ``source``, ``lon``, ``lat``, ``slope_deg``,
        ``excluded`` (the reason, ``""`` when kept), ``chosen`` (facility types built there).
    links
        One row per new facility × site it newly covers: ``facility_type``,
        ``candidate_id``, ``site_id``, ``lon0``, ``lat0`` (facility), ``lon1``, ``lat1`` (site).
    """

    recommended: pd.DataFrame
    site_status: pd.DataFrame
    coverage: pd.DataFrame
    notes: list[tuple[str, str, str]]
    facilities_after: pd.DataFrame
    candidates: pd.DataFrame
    links: pd.DataFrame


def _csv(df: pd.DataFrame) -> Callable[[Path], None]:
    """UTF-8 csv with a BOM, formulas neutralised, counts whole, floats in full precision."""
    def write(p: Path) -> None:
        whole_counts(csv_safe(df)).to_csv(p, index=False, encoding="utf-8-sig")
    return write


def _shown(df: pd.DataFrame, col: str, lang: str) -> list[Any]:
    """The cells of one column as shown in the xlsx (labels of types, statuses, booleans)."""
    li = 0 if lang == "zh" else 1
    vals = df[col].tolist()
    if col == "facility_type":
        vals = [label(str(v), lang) for v in vals]
    elif col in ("status_before", "change", "source", "level"):
        vals = [_VALUE_LABELS.get(str(v), (v, v))[li] for v in vals]
    elif col in ("covered_before", "covered_after"):
        yes, no = ("是", "否") if lang == "zh" else ("yes", "no")
        vals = [yes if bool(v) else no for v in vals]
    return cell_values(vals, col)


def _sheet(wb: Workbook, used: set[str], key: str, df: pd.DataFrame, lang: str) -> None:
    li = 0 if lang == "zh" else 1
    cols = [c for c in df.columns if c in _HEADERS]
    fmts = {j: ("0.0%" if c.startswith("share") else "0.000000" if c.startswith(("lon", "lat"))
                else "#,##0" if c.startswith(("pop", "sites", "population")) else "0.0")
            for j, c in enumerate(cols)
            if c.startswith(("share", "lon", "lat", "pop", "sites", "population", "cost", "slope"))}
    write_table(wb, _SHEETS[key][li], used, [_HEADERS[c][li] for c in cols],
                [_shown(df, c, lang) for c in cols], number_formats=fmts)


def _xlsx(t: SitingTables, lang: str) -> Callable[[Path], None]:
    li = 0 if lang == "zh" else 1

    def write(p: Path) -> None:
        wb = Workbook(write_only=True)
        wb.properties.title = "Anzhi siting 推荐选址"
        used: set[str] = set()
        _sheet(wb, used, "recommended", t.recommended, lang)
        _sheet(wb, used, "status", t.site_status, lang)
        _sheet(wb, used, "coverage", t.coverage, lang)
        notes = pd.DataFrame({"item": [n[li] for n in t.notes], "value": [n[2] for n in t.notes]})
        _sheet(wb, used, "notes", notes, lang)
        wb.save(p)
    return write


def _points(df: pd.DataFrame, lon: str = "lon", lat: str = "lat") -> gpd.GeoDataFrame:
    geom = gpd.points_from_xy(pd.to_numeric(df[lon]), pd.to_numeric(df[lat]), crs="EPSG:4326")
    return gpd.GeoDataFrame(df.reset_index(drop=True), geometry=geom, crs="EPSG:4326")


def _gpkg(t: SitingTables) -> Callable[[Path], None]:
    def write(p: Path) -> None:
        p.unlink(missing_ok=True)  # the GeoPackage driver wants to create the file itself
        _points(t.recommended).to_file(p, layer="recommended", driver="GPKG")
        _points(t.site_status).to_file(p, layer="site_status", driver="GPKG")
        _points(t.candidates).to_file(p, layer="candidates", driver="GPKG")
        lines = shapely.linestrings(np.stack([
            np.column_stack([t.links[a].to_numpy(dtype=float) for a in ("lon0", "lat0")]),
            np.column_stack([t.links[a].to_numpy(dtype=float) for a in ("lon1", "lat1")]),
        ], axis=1)) if len(t.links) else np.zeros(0, dtype=object)
        gpd.GeoDataFrame(t.links.reset_index(drop=True), geometry=list(lines),
                         crs="EPSG:4326").to_file(p, layer="links", driver="GPKG")
    return write


def write_siting(out_dir: str | Path, tables: SitingTables, *, lang: str = "zh") -> dict[str, Path]:
    """Write :data:`SITING_FILES` into ``out_dir`` atomically (all or none replaced).

    Parameters
    ----------
    out_dir
        Output folder, created if absent; other files in it are left alone.
    tables
        The run's tables.
    lang
        Headers of ``siting.xlsx``: ``"zh"`` (default) or ``"en"``; csv files always have
        the English column names.

    Returns
    -------
    dict[str, pathlib.Path]
        File name → path written.

    Raises
    ------
    InputError
        Unknown ``lang``, a table missing its columns, or ``out_dir`` being a file.
    DataSourceError
        The folder cannot be written; it is left as it was.
    """
    pc = ProblemCollector(file="siting outputs")
    if lang not in ("zh", "en"):
        pc.add(f"unknown language {lang!r}", value=lang, fix="use 'zh' or 'en'")
    for name, df, cols in (("siting.csv", tables.recommended, SITING_COLUMNS),
                           ("site_status.csv", tables.site_status, SITE_STATUS_COLUMNS),
                           ("facilities_after.csv", tables.facilities_after,
                            FACILITIES_AFTER_COLUMNS)):
        missing = [c for c in cols if c not in df.columns]
        if missing:
            pc.add(f"{name}: columns {missing} are missing", value=missing,
                   fix="build the tables with anzhi.siting")
    out = Path(out_dir).expanduser().absolute()
    if out.exists() and not out.is_dir():
        pc.add("the output folder is an existing file", value=str(out),
               fix="choose a folder name (--out) that is not a file")
    pc.raise_if_any()
    writers: dict[str, Callable[[Path], None]] = {
        "siting.csv": _csv(tables.recommended),
        "site_status.csv": _csv(tables.site_status.loc[:, list(SITE_STATUS_COLUMNS)]),
        "siting.xlsx": _xlsx(tables, lang),
        "siting.gpkg": _gpkg(tables),
        "facilities_after.csv": _csv(tables.facilities_after.loc[:, list(FACILITIES_AFTER_COLUMNS)]),
    }
    return write_folder(out, {name: writers[name] for name in SITING_FILES})
