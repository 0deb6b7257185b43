"""Read, derive and combine public-facility layers into the facilities contract.

The contract (docs/schemas.md, "Facilities"): EPSG:4326 points with columns
``facility_id, name, facility_type, capacity, site_id, geometry``; ``facility_type`` is a
key of :data:`anzhi.core.vocabulary.FACILITY_TYPES`.

Facilities come from three places: a point layer or table (:func:`read_facilities`), the
yes/no columns of the site table (:func:`facilities_from_sites`), and OSM extracts (read
with :func:`read_facilities` too: their ``amenity``/``healthcare``/``office`` tags are
mapped through :data:`anzhi.core.vocabulary.OSM_TAGS`).  :func:`combine_facilities` joins
them and refuses clashing ids.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final, cast

import geopandas as gpd
import numpy as np
import pandas as pd
from numpy.typing import NDArray

from anzhi.core.vocabulary import FACILITY_TYPES, OSM_TAGS, label, normalise_facility_type
from anzhi.core.errors import ProblemCollector
from geo.coords import normalise_coord_system
from layers.cells import cell_text, id_text, is_blank, shown
from layers.osmpoi import is_osm_file
from layers.points import COORD_FIELDS, check_coordinate_columns, coord_columns, resolve_points
from layers.tables import (SERIAL_HEADERS, Field, RawTable, fold, header_matcher, match_fields,
                           non_negative_numbers, raise_sorted, read_table, unique_ids)

__all__ = [
    "FACILITY_FIELDS",
    "FACILITY_COLUMNS",
    "read_facilities",
    "facilities_from_sites",
    "combine_facilities",
    "empty_facilities",
]

#: Output columns, in order (``geometry`` last).
FACILITY_COLUMNS: Final[tuple[str, ...]] = (
    "facility_id", "name", "facility_type", "capacity", "site_id", "geometry",
)

#: Columns of a facility table and their accepted headers (best tier first).
FACILITY_FIELDS: Final[tuple[Field, ...]] = (
    Field("facility_id", (("编号", "设施编号", "id", "facility_id"), ("osmid", "osm_id", "@id"),
                          ("序号",))),
    Field("name", (("名称", "设施名称", "name"), ("name:zh",))),
    Field("facility_type", (("类型", "设施类型", "类别", "设施类别", "type", "facility_type"),)),
    Field("capacity", (("容量", "学位", "床位", "学位数", "床位数", "capacity"),)),
    Field("site_id", (("site_id",),)),
    Field("element", (("element", "element_type", "osm_type"),)),
    Field("amenity", (("amenity",),)),
    Field("healthcare", (("healthcare",),)),
    Field("office", (("office",),)),
    Field("highway", (("highway",),)),  # highway=bus_stop nodes
)

log = logging.getLogger(__name__)

_OSM_KEYS: Final = ("amenity", "healthcare", "office", "highway")
_FIELDS_BY_KEY: Final = {f.key: f for f in FACILITY_FIELDS}
_is_known_header: Final = header_matcher(FACILITY_FIELDS + COORD_FIELDS)


def _known_types_text() -> str:
    return ", ".join(f"{k} ({ft.zh})" for k, ft in FACILITY_TYPES.items())


def _facility_frame(
    ids: Sequence[str],
    names: Sequence[str],
    types: Sequence[str],
    capacity: Sequence[float] | NDArray[np.float64],
    site_ids: Sequence[str],
    geometry: Any,
    *,
    source: str | None = None,
) -> gpd.GeoDataFrame:
    """The facilities contract from its columns (index ``0..n-1``, EPSG:4326)."""
    frame = pd.DataFrame(
        {
            "facility_id": pd.Series(ids, dtype="str"),
            "name": pd.Series(names, dtype="str"),
            "facility_type": pd.Series(types, dtype="str"),
            "capacity": pd.Series(capacity, dtype="float64"),
            "site_id": pd.Series(site_ids, dtype="str"),
        },
        index=pd.RangeIndex(len(ids)),
    )
    gdf = gpd.GeoDataFrame(frame, geometry=geometry, crs="EPSG:4326")
    if source is not None:
        gdf.attrs["source"] = source
    return gdf


def empty_facilities() -> gpd.GeoDataFrame:
    """A facilities table with no rows (the contract's columns, EPSG:4326)."""
    return _facility_frame([], [], [], [], [], gpd.GeoSeries([], crs="EPSG:4326"))


def read_facilities(
    path: str | Path,
    *,
    coords: str | None = None,
    default_coords: str | None = None,
    crs: str | int | None = None,
    sheet: str | int | None = None,
) -> gpd.GeoDataFrame:
    """Read a facility layer or table and return it as WGS84 points, validated.

    Which coordinate system applies (one source, one system):

    * an OSM extract is WGS84, always: ``coords`` and ``default_coords`` are ignored;
    * a vector layer that declares its CRS (GeoPackage, Shapefile, GeoJSON) keeps it, unless
      ``coords`` (the explicit ``--facility-coords``) says its EPSG:4326/4490 values are
      really GCJ-02/BD-09;
    * a table (csv/xlsx) or a layer without a CRS: its 坐标系 column, else ``coords``, else
      ``default_coords`` (the run's ``--coords``), else WGS84.

    Parameters
    ----------
    path
        A point layer (``.gpkg``, ``.geojson``/``.json``, ``.shp``; polygons become their
        representative point) or a table (``.xlsx``/``.xls``, ``.csv`` in UTF-8 or GBK)
        with columns id (编号/设施编号/id), name (名称/设施名称/name), type
        (类型/设施类型/type), optional capacity (容量/学位/床位/capacity), and position
        (经度/纬度, lon/lat, or Gauss-Krüger 东坐标/北坐标).  Without a type column, OSM
        tags ``amenity``/``healthcare``/``office`` are mapped through
        :data:`anzhi.core.vocabulary.OSM_TAGS`, and rows whose tags map to no facility type
        (restaurants, banks, …) are left out: they are not public facilities.  Blank rows
        and template lines holding nothing but a 序号 are skipped.
    coords
        Coordinate system of longitude/latitude values (``wgs84``, ``cgcs2000``, ``gcj02``,
        ``bd09``), explicit: it applies to a layer declared in EPSG:4326/4490 too; a 坐标系
        cell that disagrees with it is a problem.  Default: see ``default_coords``.
    default_coords
        The system of longitude/latitude values that declare none (no 坐标系 cell, no CRS of
        the layer's own); default WGS84.
    crs
        EPSG code of Gauss-Krüger metres, or the CRS of a vector layer that has none; as
        in :func:`layers.sites.read_sites` it does not apply to longitude/latitude values
        and never overrides a layer's own CRS.
    sheet
        Sheet (or GeoPackage layer) name or 0-based number.

    Returns
    -------
    geopandas.GeoDataFrame
        EPSG:4326, index ``0..n-1``: ``facility_id`` (str; id column, OSM ``element/id``,
        else ``F0001…`` in file order), ``name`` (str, ``""`` when absent), ``facility_type``
        (a key of :data:`anzhi.core.vocabulary.FACILITY_TYPES`), ``capacity`` (float64
        places/beds/officers, NaN when absent), ``site_id`` (``""`` unless a ``site_id``
        column is present), ``geometry``.

    Raises
    ------
    InputError
        Listing every problem at once: missing type or coordinate columns, unknown or blank
        facility types (the fix lists the known keys and Chinese labels), blank or
        duplicate ids, bad capacity, empty geometry, coordinates that are not valid
        longitude/latitude (with a hint when 经度/纬度 look swapped).  Facilities may lie
        anywhere: there is no China check.
    DataSourceError
        When the file is missing or cannot be read at all.
    """
    if is_osm_file(path):
        if coords is not None and normalise_coord_system(coords) not in ("wgs84", "cgcs2000"):
            log.warning("%s: OSM data is WGS84; coords=%r is not applied to it "
                        "(OSM 数据始终为 WGS84 坐标，不作 %s 转换)", Path(path).name, coords, coords)
        coords = default_coords = None
    table = read_table(path, sheet=sheet, is_known=_is_known_header)
    pc = ProblemCollector(file=table.label)
    found = match_fields(table.headers, FACILITY_FIELDS + COORD_FIELDS, pc)
    cols = coord_columns(found)
    serial = found.get("facility_id")
    if serial is not None and fold(table.headers[serial]) in SERIAL_HEADERS:
        table.drop_rows_blank_except(serial)  # unused pre-numbered lines of a template

    osm_present: list[str] = [k for k in _OSM_KEYS if k in found]
    if "facility_type" not in found and not osm_present:
        pc.add(
            "no facility type column",
            fix=f"add a column headed one of {_FIELDS_BY_KEY['facility_type'].accepted()} "
            f"holding e.g. 卫生室 or clinic, or OSM tag columns amenity/healthcare/office "
            f"(columns now: {table.header_list()})",
        )
    check_coordinate_columns(table, cols, pc)

    types = _facility_types(table, found, osm_present, pc)
    if "facility_type" not in found and osm_present:
        table.keep_rows(np.array([t is not None for t in types], dtype=bool))
        types = [t for t in types if t is not None]

    lon, lat = resolve_points(
        table, cols, pc, coords=coords, crs=crs, china_only=False, what="facility",
        default_coords=default_coords,
    )

    rows = [int(r) for r in table.cells.index]
    ids = _facility_ids(table, found, rows, pc)
    names = _texts(table, found.get("name"), rows)
    capacity = _capacity(table, found.get("capacity"), rows, pc)
    site_ids = _texts(table, found.get("site_id"), rows)
    raise_sorted(pc)

    if not rows:
        return empty_facilities()
    return _facility_frame(ids, names, cast(list[str], types), capacity, site_ids,
                           gpd.points_from_xy(lon, lat), source=table.label)


def facilities_from_sites(sites: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Facilities recorded in the site table's yes/no columns, placed at the sites.

    Every ``has_<type>`` value that is True becomes one facility at the site's point:
    ``facility_id = f"{site_id}-{type}"``, ``name = f"{site_name} {Chinese label}"`` (e.g.
    ``"幸福小区 卫生室"``), ``site_id`` set, ``capacity`` NaN.

    Parameters
    ----------
    sites
        The output of :func:`layers.sites.read_sites` (EPSG:4326).

    Returns
    -------
    geopandas.GeoDataFrame
        The facilities contract, EPSG:4326, in site order then column order; empty when no
        ``has_`` value is True.

    Raises
    ------
    InputError
        When ``sites`` is not EPSG:4326, lacks ``site_id``/``site_name``, or has a
        ``has_<type>`` column that is not yes/no or names an unknown type.
    """
    pc = ProblemCollector(file="sites")
    if sites.crs is None or not sites.crs.equals("EPSG:4326"):
        pc.add(
            f"the sites are in {sites.crs.to_string() if sites.crs else 'no CRS'}, not EPSG:4326",
            fix="read them with layers.sites.read_sites, or call .to_crs(4326) first",
        )
    for col in ("site_id", "site_name"):
        if col not in sites.columns:
            pc.add(f"no {col!r} column", column=col,
                   fix="pass the table returned by layers.sites.read_sites")
    has_cols: list[tuple[str, str]] = []
    for col in sites.columns:
        if isinstance(col, str) and col.startswith("has_"):
            ftype = col[4:]
            if ftype not in FACILITY_TYPES:
                pc.add(f"{col!r} names no facility type", column=col,
                       fix=f"use has_<type> with one of: {_known_types_text()}")
                continue
            values = sites[col]
            if not (pd.api.types.is_bool_dtype(values)
                    or values.map(lambda v: isinstance(v, bool | np.bool_)).all()):
                pc.add(f"{col!r} is not a yes/no (True/False) column", column=col,
                       fix="read the sites with layers.sites.read_sites")
                continue
            has_cols.append((col, ftype))
    pc.raise_if_any()

    if not has_cols or not len(sites):
        return empty_facilities()
    # site order, then column order: the row-major positions of the True cells
    rows, kinds = np.nonzero(np.column_stack(
        [sites[col].to_numpy(dtype=bool) for col, _ftype in has_cols]))
    if not len(rows):
        return empty_facilities()
    ftypes = np.array([ftype for _col, ftype in has_cols], dtype=object)[kinds]
    labels = {ftype: label(ftype, "zh") for _col, ftype in has_cols}
    site_ids = [str(v) for v in sites["site_id"].to_numpy(dtype=object)[rows]]
    names = [f"{n} {labels[t]}" for n, t in
             zip(sites["site_name"].to_numpy(dtype=object)[rows], ftypes, strict=True)]
    types = [str(t) for t in ftypes]
    ids = [f"{sid}-{t}" for sid, t in zip(site_ids, types, strict=True)]
    geoms = sites.geometry.iloc[rows].reset_index(drop=True)
    return _facility_frame(ids, names, types, np.full(len(ids), np.nan), site_ids,
                           gpd.GeoSeries(geoms, crs="EPSG:4326"),
                           source="site table yes/no columns")


def combine_facilities(*layers: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Concatenate facility layers, checking CRS, columns and id uniqueness.

    Parameters
    ----------
    *layers
        Facility tables in the contract (EPSG:4326), e.g. from :func:`read_facilities`
        and :func:`facilities_from_sites`.  Layers are named in messages by their
        ``attrs["source"]`` (set by the readers) or by position ("layer 2").

    Returns
    -------
    geopandas.GeoDataFrame
        All rows, in layer order, index ``0..n-1``, contract columns only.

    Raises
    ------
    InputError
        When a layer is not EPSG:4326 (both CRSs are named), lacks contract columns, or
        when a facility id occurs more than once (within or across layers).
    """
    pc = ProblemCollector(file="facilities")
    names: list[str] = []
    for i, layer in enumerate(layers, start=1):
        src = layer.attrs.get("source") if isinstance(layer, pd.DataFrame) else None
        names.append(f"layer {i} ({src})" if src else f"layer {i}")
    for name, layer in zip(names, layers, strict=True):
        if not isinstance(layer, gpd.GeoDataFrame):
            pc.add(f"{name} is a {type(layer).__name__}, not a GeoDataFrame",
                   fix="pass the tables returned by read_facilities/facilities_from_sites")
            continue
        if layer.crs is None or not layer.crs.equals("EPSG:4326"):
            pc.add(
                f"{name} is in {layer.crs.to_string() if layer.crs else 'no CRS'}, "
                "but facilities must be in EPSG:4326",
                fix=f"call .to_crs(4326) on {name} first",
            )
        missing = [c for c in FACILITY_COLUMNS if c not in layer.columns]
        if missing:
            pc.add(f"{name} lacks the column(s) {', '.join(missing)}",
                   fix="pass the tables returned by read_facilities/facilities_from_sites")
    pc.raise_if_any()

    where: dict[str, list[str]] = {}
    for name, layer in zip(names, layers, strict=True):
        for fid in layer["facility_id"].astype(str):
            where.setdefault(fid, []).append(name)
    for fid, places in where.items():
        if len(places) > 1:
            pc.add(
                f"facility id {fid!r} occurs {len(places)} times ({', '.join(places)})",
                value=fid,
                fix="give every facility its own id (e.g. prefix the ids of one layer)",
            )
    pc.raise_if_any()

    parts = [layer[list(FACILITY_COLUMNS)] for layer in layers if len(layer)]
    if not parts:
        return empty_facilities()
    out = pd.concat(parts, ignore_index=True)
    gdf = gpd.GeoDataFrame(out, geometry="geometry", crs="EPSG:4326")
    for col in ("facility_id", "name", "facility_type", "site_id"):
        gdf[col] = gdf[col].astype("str")
    gdf["capacity"] = gdf["capacity"].astype("float64")
    return gdf


# --------------------------------------------------------------------------- helpers


def _facility_types(
    table: RawTable, found: dict[str, int], osm_present: list[str], pc: ProblemCollector
) -> list[str | None]:
    """Facility type key of each row; None where OSM tags map to nothing (or on problems)."""
    rows = [int(r) for r in table.cells.index]
    pos = found.get("facility_type")
    out: list[str | None] = []
    for r in rows:
        ftype: str | None = None
        raw = table.cells.at[r, pos] if pos is not None else None
        if pos is not None and not is_blank(raw):
            ftype = normalise_facility_type(cell_text(raw))
            if ftype is None:
                pc.add(
                    "unknown facility type",
                    row=r,
                    column=table.headers[pos],
                    value=shown(raw),
                    fix=f"use one of: {_known_types_text()} (keys, Chinese or English labels)",
                )
            out.append(ftype)
            continue
        for key in osm_present:
            tag = table.cells.at[r, found[key]]
            if not is_blank(tag):
                ftype = OSM_TAGS.get((key, cell_text(tag).strip().lower()))
                if ftype is not None:
                    break
        if pos is not None and ftype is None:
            pc.add(
                "the facility has no type",
                row=r,
                column=table.headers[pos],
                fix=f"fill in one of: {_known_types_text()}",
            )
        out.append(ftype)
    return out


def _facility_ids(
    table: RawTable, found: dict[str, int], rows: list[int], pc: ProblemCollector
) -> list[str]:
    pos = found.get("facility_id")
    if pos is None:
        return [f"F{i:04d}" for i in range(1, len(rows) + 1)]
    col = table.column(pos)
    element = table.column(found["element"]) if "element" in found else None
    ids: list[str] = []
    for r in rows:
        v = id_text(col[r])
        if v and element is not None and not is_blank(element[r]) and "/" not in v:
            v = f"{cell_text(element[r])}/{v}"  # OSM exports: node/123, way/456
        ids.append(v)
    return unique_ids(ids, rows, header=table.headers[pos], noun="facility", prefix="F", pc=pc)


def _texts(table: RawTable, pos: int | None, rows: list[int]) -> list[str]:
    if pos is None:
        return [""] * len(rows)
    col = table.column(pos)
    return [cell_text(col[r]) for r in rows]


def _capacity(
    table: RawTable, pos: int | None, rows: list[int], pc: ProblemCollector
) -> np.ndarray:
    return non_negative_numbers(
        table, pos, rows, pc, label="capacity",
        fix_number="write the places/beds/officers as a number, or leave it blank",
        fix_negative="write a capacity of 0 or more, or leave it blank",
    )
