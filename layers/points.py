"""Positions of the sites and facilities: coordinate columns or geometry → WGS84 points.

* :data:`COORD_FIELDS`, :class:`CoordColumns` and :func:`coord_columns` find the coordinate
  columns (经度/纬度, lon/lat, x/y; Gauss-Krüger 东坐标/北坐标; a 坐标系 column) of a
  :class:`~layers.tables.RawTable`; :func:`check_coordinate_columns` reports their absence.
* :func:`resolve_points` turns longitude/latitude columns (WGS84, CGCS2000, GCJ-02, BD-09;
  decimal or degrees-minutes-seconds), Gauss-Krüger metre columns or the layer's geometry
  into WGS84 longitude/latitude, validating each row.
* :func:`parse_crs` reads a ``crs=`` option.

Every problem goes into a :class:`~anzhi.core.errors.ProblemCollector`, with the row, column,
value and fix.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, cast

import numpy as np
import pyproj
import shapely
from numpy.typing import NDArray

from anzhi.core.errors import InputError, ProblemCollector
from geo import coords as gc
from geo.crs import gk_to_wgs84
from layers.cells import cell_text, is_blank, parse_degrees, plain_number
from layers.tables import Field, RawTable

__all__ = [
    "COORD_FIELDS",
    "CoordColumns",
    "coord_columns",
    "check_coordinate_columns",
    "parse_crs",
    "resolve_points",
]


#: Coordinate fields shared by sites and facilities.
COORD_FIELDS: Final[tuple[Field, ...]] = (
    Field("lon", (("经度", "lon", "lng", "long", "longitude", "x"),)),
    Field("lat", (("纬度", "lat", "latitude", "y"),)),
    Field("east", (("东坐标", "X坐标", "easting", "东向坐标", "横坐标"),)),
    Field("north", (("北坐标", "Y坐标", "northing", "北向坐标", "纵坐标"),)),
    Field("coord_system", (("坐标系", "坐标系统", "coords", "crs", "coordinate system"),)),
)


@dataclass(frozen=True)
class CoordColumns:
    """Positions of the coordinate columns found in a table (None when absent)."""

    lon: int | None = None
    lat: int | None = None
    east: int | None = None
    north: int | None = None
    system: int | None = None

    @property
    def has_lonlat(self) -> bool:
        return self.lon is not None and self.lat is not None

    @property
    def has_gk(self) -> bool:
        return self.east is not None and self.north is not None


def coord_columns(found: dict[str, int]) -> CoordColumns:
    """The :class:`CoordColumns` of a :func:`match_fields` result."""
    return CoordColumns(
        lon=found.get("lon"), lat=found.get("lat"), east=found.get("east"),
        north=found.get("north"), system=found.get("coord_system"),
    )


def check_coordinate_columns(table: RawTable, cols: CoordColumns, pc: ProblemCollector) -> None:
    """Record a problem when ``table`` has neither a geometry nor coordinate columns."""
    if table.geometry is not None or cols.has_lonlat or cols.has_gk:
        return
    lon, lat, east, north = (f.accepted() for f in COORD_FIELDS[:4])
    pc.add(
        "no coordinate columns",
        fix=f"add longitude/latitude columns ({lon} and {lat}) or Gauss-Krüger metres "
        f"({east} and {north}) (columns now: {table.header_list()})",
    )


def parse_crs(crs: str | int | None, pc: ProblemCollector) -> pyproj.CRS | None:
    """``crs=`` as a :class:`pyproj.CRS`; an unknown one is recorded as a problem."""
    if crs is None:
        return None
    try:
        return pyproj.CRS.from_user_input(crs)
    except (pyproj.exceptions.CRSError, TypeError, ValueError):
        pc.add(
            f"crs={crs!r} is not a coordinate reference system",
            value=crs,
            fix="give an EPSG code such as 'EPSG:4521' (CGCS2000 3-degree Gauss-Krüger zone "
            "33 with zone prefix) or 4542 (central meridian 99°E, 6-digit eastings)",
        )
        return None


_GEOGRAPHIC_EPSG_SYSTEM: Final = {4326: "wgs84", 4490: "cgcs2000"}


@dataclass
class _Pending:
    """Rows waiting for conversion: degrees (per system) or metres (per zone/CRS)."""

    rows: list[int]
    a: list[float]
    b: list[float]

    def add(self, row: int, a: float, b: float) -> None:
        self.rows.append(row)
        self.a.append(a)
        self.b.append(b)


def _is_easting(v: float) -> bool:
    return (100_000 <= v < 1_000_000) or (10_000_000 <= v < 100_000_000)


def _is_northing(v: float) -> bool:
    return 1_000_000 <= v < 10_000_000


def _named_system(name: str | None, pc: ProblemCollector) -> str | None:
    """The coordinate system a ``coords=`` option names (None: not given or not known, the
    latter recorded in ``pc``)."""
    if name is None:
        return None
    try:
        return gc.normalise_coord_system(name)
    except InputError as exc:
        pc.add(f"coords={name!r}: {exc}", value=name)
        return None


def resolve_points(
    table: RawTable,
    cols: CoordColumns,
    pc: ProblemCollector,
    *,
    coords: str | None,
    crs: str | int | None,
    china_only: bool,
    what: str,
    default_coords: str | None = None,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """WGS84 longitude/latitude of every row of ``table``, validating as it goes.

    Sources, in order: the layer geometry (vector files with a geometry column; points,
    or the representative point of polygons), else longitude/latitude columns, else
    Gauss-Krüger easting/northing columns (also used row by row when the lon/lat cells of a
    row are blank).  Values over 1,000 in ``x``/``y`` or 经度/纬度 columns are taken as
    metres.  Easting and northing are told apart by magnitude (northing 7 digits, easting
    6 digits or 8 with the zone prefix), so the survey convention X = northing works.

    Degree values are converted from the row's coordinate system: the 坐标系 cell, else
    ``coords``, else (for degrees without a declared CRS only) ``default_coords``, else WGS84
    (documented default).  ``coords`` is explicit: it applies to a layer declared in
    EPSG:4326/4490 too ("these WGS84 values are really GCJ-02"); ``default_coords`` never
    overrides a declared CRS, a 坐标系 cell or a geographic ``crs``.  Metres are converted with the CGCS2000
    3-degree Gauss-Krüger zone from ``crs`` (``EPSG:4513``–``4554``, or any projected CRS)
    or from the 8-digit easting's zone prefix.  A projected ``crs`` does not apply to
    degree values, and a vector layer's own CRS always wins over ``crs`` (which only fills
    in a missing one), so one ``--crs`` option can serve a run with mixed inputs.

    Parameters
    ----------
    table
        The table (blank rows already dropped).
    cols
        Coordinate column positions.
    pc
        Collects every problem (row, column, value, fix).
    coords
        ``coords=`` as given by the caller, or None.
    crs
        ``crs=`` as given by the caller, or None.
    china_only
        Report points outside China's bounding box.
    what
        ``"site"`` or ``"facility"``, for messages.
    default_coords
        The system of degree values that declare none (table columns, or a layer without a
        CRS); e.g. the sites' ``--coords`` serving as the facility tables' default.

    Returns
    -------
    tuple of numpy.ndarray
        WGS84 longitude and latitude, decimal degrees, aligned with ``table.cells``; NaN
        for rows with a problem, and for every row when the table has no geometry and no
        coordinate columns (the caller reports those missing columns).
    """
    n = len(table.cells)
    out_lon = np.full(n, np.nan)
    out_lat = np.full(n, np.nan)
    if table.geometry is None and not cols.has_lonlat and not cols.has_gk:
        return out_lon, out_lat
    row_numbers = table.cells.index.to_list()
    pos_of = {r: i for i, r in enumerate(row_numbers)}

    default_system = _named_system(coords, pc)
    fallback_system = _named_system(default_coords, pc)
    crs_obj = parse_crs(crs, pc)

    row_systems = _row_systems(table, cols, pc, coords, default_system)

    deg = _Pending([], [], [])
    metres = _Pending([], [], [])
    lon_h = table.headers[cols.lon] if cols.lon is not None else "经度"
    lat_h = table.headers[cols.lat] if cols.lat is not None else "纬度"

    if (
        table.geometry is not None
        and (cols.has_lonlat or cols.has_gk)
        and bool((table.geometry.isna() | table.geometry.is_empty).all())
    ):
        # A layer without any geometry but with coordinate attributes (e.g. GeoJSON
        # features with null geometry and 经度/纬度 properties): use the attributes.
        table.geometry = None
    if table.geometry is not None:
        lon_h, lat_h = _from_geometry(table, crs_obj, pc, row_systems, deg, metres, coords)
    else:  # coordinate columns (checked above)
        _from_columns(table, cols, pc, what, deg, metres)

    if crs_obj is not None and deg.rows and table.geometry is None and crs_obj.is_geographic:
        _degrees_in_crs(crs_obj, crs, deg, row_systems, pc)
    if fallback_system is not None:
        # still undeclared (no 坐标系 cell, no coords=, no CRS of the layer's own)
        for r in deg.rows:
            if row_systems.get(r) is None:
                row_systems[r] = fallback_system
    if deg.rows:
        keep = _check_degrees(deg.rows, np.asarray(deg.a, dtype=np.float64),
                              np.asarray(deg.b, dtype=np.float64), pc,
                              china_only=china_only, lon_h=lon_h, lat_h=lat_h, what=what)
        _convert_degrees(deg, keep, row_systems, out_lon, out_lat, pos_of)
    if metres.rows:
        _convert_metres(metres, crs_obj, crs, pc, row_systems, out_lon, out_lat, pos_of,
                        china_only=china_only)
    return out_lon, out_lat


def _degrees_in_crs(
    crs_obj: pyproj.CRS,
    crs: str | int | None,
    deg: _Pending,
    row_systems: dict[int, str | None],
    pc: ProblemCollector,
) -> None:
    """A geographic ``crs=`` names the system of degree columns (rows without a 坐标系)."""
    sys_name = _GEOGRAPHIC_EPSG_SYSTEM.get(crs_obj.to_epsg() or 0)
    if sys_name is None:
        pc.add(
            f"crs={crs!r} is a geographic CRS other than WGS84 (EPSG:4326) or CGCS2000 "
            "(EPSG:4490)",
            value=crs,
            fix="convert the coordinates to WGS84 or CGCS2000 first",
        )
        return
    for r in deg.rows:
        if row_systems.get(r) is None:
            row_systems[r] = sys_name


def _convert_degrees(
    deg: _Pending,
    keep: NDArray[np.bool_],
    row_systems: dict[int, str | None],
    out_lon: NDArray[np.float64],
    out_lat: NDArray[np.float64],
    pos_of: dict[int, int],
) -> None:
    """Convert the kept degree rows to WGS84, one call per coordinate system."""
    a = np.asarray(deg.a, dtype=np.float64)
    b = np.asarray(deg.b, dtype=np.float64)
    groups: dict[str, list[int]] = {}
    for k, r in enumerate(deg.rows):
        if keep[k]:
            groups.setdefault(row_systems.get(r) or "wgs84", []).append(k)
    for system, ks in groups.items():
        x, y = gc.to_wgs84(a[ks], b[ks], system)
        idx = [pos_of[deg.rows[k]] for k in ks]
        out_lon[idx] = x
        out_lat[idx] = y


def _row_systems(
    table: RawTable,
    cols: CoordColumns,
    pc: ProblemCollector,
    coords: str | None,
    default_system: str | None,
) -> dict[int, str | None]:
    systems: dict[int, str | None] = {r: default_system for r in table.cells.index}
    if cols.system is None:
        return systems
    header = table.headers[cols.system]
    # The index holds the row numbers a user sees (pandas-stubs: Hashable labels).
    known: dict[str, str | None] = {}  # a column of few distinct labels: each read once
    for r, v in table.column(cols.system).items():
        if is_blank(v):
            continue
        text = cell_text(v)
        try:
            s = known[text] if text in known else known.setdefault(
                text, gc.normalise_coord_system(text))
        except InputError:
            pc.add(
                "unknown coordinate system",
                row=int(cast(int, r)),
                column=header,
                value=cell_text(v),
                fix="write one of wgs84, cgcs2000, gcj02 (高德/腾讯), bd09 (百度); for "
                "Gauss-Krüger metres use easting/northing columns and crs='EPSG:45xx'",
            )
            continue
        if default_system is not None and s != default_system:
            pc.add(
                f"the {header!r} cell says {s} but coords={coords!r} was given",
                row=int(cast(int, r)),
                column=header,
                value=cell_text(v),
                fix="leave coords out to use the column, or correct the cell",
            )
            continue
        systems[int(cast(int, r))] = s
    return systems


def _from_columns(
    table: RawTable,
    cols: CoordColumns,
    pc: ProblemCollector,
    what: str,
    deg: _Pending,
    metres: _Pending,
) -> None:
    def hdr(pos: int | None) -> str:
        return table.headers[pos] if pos is not None else "?"

    def cells(pos: int | None) -> list[Any] | None:
        return table.column(pos).tolist() if pos is not None else None

    lon_s, lat_s, east_s, north_s = (cells(p) for p in (cols.lon, cols.lat, cols.east,
                                                         cols.north))
    for k, r in enumerate(table.cells.index.tolist()):
        r = int(r)
        pair: list[tuple[int | None, object]]
        use_ll = lon_s is not None and lat_s is not None and not (
            is_blank(lon_s[k]) and is_blank(lat_s[k]) and east_s is not None
            and north_s is not None
        )
        if lon_s is not None and lat_s is not None and use_ll:
            pair = [(cols.lon, lon_s[k]), (cols.lat, lat_s[k])]
        elif east_s is not None and north_s is not None:
            pair = [(cols.east, east_s[k]), (cols.north, north_s[k])]
        else:
            pair = [(cols.lon, None), (cols.lat, None)]
        values: list[float | None] = []
        bad = False
        for pos, v in pair:
            try:
                x = plain_number(v)  # ints and finite floats: as parse_degrees reads them
                values.append(x if x is not None else parse_degrees(v))
            except ValueError:
                bad = True
                pc.add(
                    "not a number",
                    row=r,
                    column=hdr(pos),
                    value=cell_text(v),
                    fix="give decimal degrees (e.g. 104.61234), degrees-minutes-seconds "
                    "(104°36'44\") or Gauss-Krüger metres",
                )
        if bad:
            continue
        x, y = values
        if x is None or y is None:
            names = "/".join(hdr(p) for p, _ in pair)
            pc.add(
                f"the {what} has no coordinates" if x is None and y is None
                else f"the {what} has only one of its two coordinates",
                row=r,
                column=hdr(pair[0][0] if x is None else pair[1][0]),
                fix=f"fill in {names}",
            )
            continue
        if use_ll and abs(x) <= 1000 and abs(y) <= 1000:
            deg.add(r, x, y)
        elif abs(x) > 1000 and abs(y) > 1000:
            metres.add(r, x, y)
        else:
            pc.add(
                "one coordinate looks like degrees and the other like metres" if use_ll
                else "these look like degrees, not Gauss-Krüger metres",
                row=r,
                column="/".join(hdr(p) for p, _ in pair),
                value=(x, y),
                fix="give both as decimal degrees (经度/纬度) or both as metres (东坐标/北坐标)",
            )


def _point_of(geom: Any) -> tuple[float, float] | str:
    """(x, y) of a geometry used as a point, or the reason it cannot be one."""
    if geom is None or geom.is_empty:
        return "empty geometry"
    gtype = geom.geom_type
    if gtype == "Point":
        return float(geom.x), float(geom.y)
    if gtype == "MultiPoint":
        if len(geom.geoms) == 1:
            p = geom.geoms[0]
            return float(p.x), float(p.y)
        return f"a MultiPoint with {len(geom.geoms)} points"
    if gtype in ("Polygon", "MultiPolygon"):
        p = shapely.point_on_surface(geom)
        return float(p.x), float(p.y)
    return f"a {gtype}, not a point or area"


def _from_geometry(
    table: RawTable,
    crs_obj: pyproj.CRS | None,
    pc: ProblemCollector,
    row_systems: dict[int, str | None],
    deg: _Pending,
    metres: _Pending,
    coords: str | None,
) -> tuple[str, str]:
    geometry = table.geometry
    if geometry is None:
        return "x", "y"
    file_crs = table.crs
    if file_crs is None and crs_obj is not None:
        file_crs = crs_obj  # crs= only fills in a missing CRS; the file's own CRS wins
    rows: list[int] = []
    xs: list[float] = []
    ys: list[float] = []
    for r, geom in geometry.items():
        got = _point_of(geom)
        if isinstance(got, str):
            pc.add(
                f"the feature has {got}" if got == "empty geometry" else f"the feature is {got}",
                row=int(r),
                column="geometry",
                fix="draw the feature as one point (or give it a position) in QGIS",
            )
            continue
        if not (math.isfinite(got[0]) and math.isfinite(got[1])):
            pc.add("the feature's point has non-finite coordinates", row=int(r),
                   column="geometry", value=got, fix="redraw the point")
            continue
        rows.append(int(r))
        xs.append(got[0])
        ys.append(got[1])
    if not rows:
        return "x", "y"
    if file_crs is None:
        # No CRS: judge by magnitude like x/y columns.
        for r, x, y in zip(rows, xs, ys, strict=True):
            if abs(x) <= 1000 and abs(y) <= 1000:
                deg.add(r, x, y)
            elif abs(x) > 1000 and abs(y) > 1000:
                metres.add(r, x, y)
            else:
                pc.add("one coordinate looks like degrees and the other like metres", row=r,
                       column="geometry", value=(x, y),
                       fix="set the layer's CRS in QGIS, or pass crs=")
        return "x", "y"
    epsg = file_crs.to_epsg() if file_crs.is_geographic else None
    if epsg in _GEOGRAPHIC_EPSG_SYSTEM:
        # WGS84/CGCS2000 lon/lat: the declared system (e.g. GCJ-02 picked on Amap) applies.
        for r in rows:
            if row_systems.get(r) is None:
                row_systems[r] = _GEOGRAPHIC_EPSG_SYSTEM[epsg]
        x_arr, y_arr = np.asarray(xs), np.asarray(ys)
    else:
        # Any other CRS (projected, or another datum): GCJ-02/BD-09 cannot apply to it.
        if any(row_systems.get(r) in ("gcj02", "bd09") for r in rows):
            pc.add(
                f"GCJ-02/BD-09 (coords={coords!r} or the 坐标系 column) applies to WGS84/CGCS2000 "
                f"longitude/latitude only, but the layer is "
                f"{'projected' if file_crs.is_projected else 'in another datum'} ({file_crs.to_string()})",
                fix="leave coords out for this layer, or reproject it to EPSG:4326 first",
            )
            return "x", "y"
        x_arr, y_arr = _transform(file_crs, xs, ys)
        for r in rows:
            row_systems[r] = "wgs84"
    deg.rows.extend(rows)
    deg.a.extend(x_arr.tolist())
    deg.b.extend(y_arr.tolist())
    return "x", "y"


def _transform(
    crs: pyproj.CRS, xs: Sequence[float], ys: Sequence[float]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Points in ``crs`` to EPSG:4326 longitude/latitude (always x = longitude)."""
    tr = pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    x, y = tr.transform(np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64))
    return np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)


def _check_degrees(
    rows: list[int],
    lon: NDArray[np.float64],
    lat: NDArray[np.float64],
    pc: ProblemCollector,
    *,
    china_only: bool,
    lon_h: str,
    lat_h: str,
    what: str,
) -> NDArray[np.bool_]:
    """Validate lon/lat pairs; returns the mask of rows without problems."""
    keep = np.ones(len(rows), dtype=bool)
    valid = (np.abs(lon) <= 180) & (np.abs(lat) <= 90)
    swapped_valid = (np.abs(lat) <= 180) & (np.abs(lon) <= 90)
    inside = gc.in_china(lon, lat)
    inside_swapped = gc.in_china(lat, lon)
    swap_hint = f"did you swap {lon_h}/{lat_h}?"
    for k, r in enumerate(rows):
        x, y = float(lon[k]), float(lat[k])
        if x == 0 and y == 0:
            pc.add(
                "coordinates are (0, 0), which usually means a missing position",
                row=r, column=lon_h, value=(x, y), fix=f"fill in the {what}'s real {lon_h}/{lat_h}",
            )
            keep[k] = False
        elif not valid[k]:
            if abs(y) > 90:
                col, val, msg = lat_h, y, f"{y:g} is not a latitude"
            else:
                col, val, msg = lon_h, x, f"{x:g} is not a longitude"
            fix = (
                f"put the longitude (e.g. 104.6) in {lon_h} and the latitude "
                f"(e.g. 26.5) in {lat_h}"
                if swapped_valid[k]
                else "give longitude in -180..180 and latitude in -90..90 decimal degrees"
            )
            if swapped_valid[k]:
                msg += f"; {swap_hint}"
            pc.add(msg, row=r, column=col, value=val, fix=fix)
            keep[k] = False
        elif china_only and not inside[k]:
            if inside_swapped[k]:
                pc.add(
                    f"({x:g}, {y:g}) is outside China, but swapped it is inside; {swap_hint}",
                    row=r, column=lat_h, value=y,
                    fix=f"put the longitude in {lon_h} and the latitude in {lat_h}",
                )
            else:
                pc.add(
                    f"coordinates ({x:g}, {y:g}) are outside China",
                    row=r, column=lon_h, value=(x, y),
                    fix=f"check {lon_h}/{lat_h} (decimal degrees, longitude 73–135, latitude "
                    "18–54 in China); pass china_only=False to load sites elsewhere",
                )
            keep[k] = False
    return keep


_FIX_ZONE: Final = (
    "give crs='EPSG:45xx' (CGCS2000 3-degree Gauss-Krüger: 4513–4533 for 8-digit "
    "eastings with zone prefix, 4534–4554 for 6-digit eastings; e.g. EPSG:4542 for "
    "central meridian 99°E) or use 8-digit eastings with the zone prefix"
)


def _convert_metres(
    metres: _Pending,
    crs_obj: pyproj.CRS | None,
    crs: str | int | None,
    pc: ProblemCollector,
    row_systems: dict[int, str | None],
    out_lon: NDArray[np.float64],
    out_lat: NDArray[np.float64],
    pos_of: dict[int, int],
    *,
    china_only: bool,
) -> None:
    """Convert Gauss-Krüger (or other projected) metres to WGS84, row problems collected."""
    for r in metres.rows:
        if row_systems.get(r) in ("gcj02", "bd09"):
            pc.add(
                f"Gauss-Krüger metres cannot be in {row_systems[r]}, which applies to "
                "longitude/latitude only",
                row=r,
                fix="give longitude/latitude for GCJ-02/BD-09 points, or set the "
                "coordinate system to cgcs2000 for survey metres",
            )
    if crs_obj is not None and crs_obj.is_geographic:
        pc.add(
            f"crs={crs!r} is geographic (degrees), but {len(metres.rows)} row(s) hold metres "
            f"(first: row {metres.rows[0]})",
            value=crs,
            fix=_FIX_ZONE,
        )
        return
    gk_epsg: int | None = None
    if crs_obj is not None:
        code = crs_obj.to_epsg()
        if code is not None and (4513 <= code <= 4554):
            gk_epsg = code
    east, north, groups = _metre_zones(metres, crs_obj, gk_epsg, pc)
    for key, ks in groups.items():
        try:
            if key == "crs":
                if gk_epsg is not None:
                    x, y = gk_to_wgs84(east[ks], north[ks], epsg=gk_epsg)
                elif crs_obj is not None:
                    x, y = _transform(crs_obj, east[ks].tolist(), north[ks].tolist())
                else:
                    continue
            else:
                x, y = gk_to_wgs84(east[ks], north[ks], zone=int(key))  # type: ignore[call-overload]
        except InputError as exc:
            pc.add(str(exc), row=metres.rows[ks[0]], fix=_FIX_ZONE)
            continue
        _store_converted(metres, ks, east, north, x, y, pc, out_lon, out_lat, pos_of,
                         china_only=china_only)


def _metre_zones(
    metres: _Pending, crs_obj: pyproj.CRS | None, gk_epsg: int | None, pc: ProblemCollector
) -> tuple[NDArray[np.float64], NDArray[np.float64], dict[object, list[int]]]:
    """Easting and northing of each metre row (NaN where not Gauss-Krüger) and the rows of
    each conversion group: ``"crs"`` (``crs=`` given) or the zone of the easting's prefix."""
    groups: dict[object, list[int]] = {}  # zone/"crs" -> indices into metres
    east_n: list[float] = []
    north_n: list[float] = []
    no_zone: list[int] = []
    for k, (r, a, b) in enumerate(zip(metres.rows, metres.a, metres.b, strict=True)):
        if _is_easting(a) and _is_northing(b):
            e, nn = a, b
        elif _is_easting(b) and _is_northing(a):
            e, nn = b, a  # survey convention: X = northing, Y = easting
        elif crs_obj is not None and gk_epsg is None:
            e, nn = a, b  # another projected CRS: trust the column order
        else:
            pc.add(
                "not Gauss-Krüger metres: expected a 7-digit northing and a 6- or 8-digit "
                "easting",
                row=r,
                value=(a, b),
                fix="check the easting (东坐标, e.g. 35512345.6 or 512345.6) and northing "
                "(北坐标, e.g. 2934567.8) values",
            )
            east_n.append(math.nan)
            north_n.append(math.nan)
            continue
        east_n.append(e)
        north_n.append(nn)
        if crs_obj is not None:
            groups.setdefault("crs", []).append(k)
        elif e >= 10_000_000:
            zone = int(e // 1_000_000)
            if not 25 <= zone <= 45:
                pc.add(
                    f"easting prefix {zone} is not a CGCS2000 3-degree zone of China (25–45)",
                    row=r, value=e, fix=_FIX_ZONE,
                )
                continue
            groups.setdefault(zone, []).append(k)
        else:
            no_zone.append(r)
    if no_zone:
        pc.add(
            f"cannot tell the Gauss-Krüger zone: {len(no_zone)} row(s), from this one on, "
            "have 6-digit eastings without the zone prefix",
            row=no_zone[0],
            fix=_FIX_ZONE,
        )
    return np.asarray(east_n, dtype=np.float64), np.asarray(north_n, dtype=np.float64), groups


def _store_converted(
    metres: _Pending,
    ks: list[int],
    east: NDArray[np.float64],
    north: NDArray[np.float64],
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    pc: ProblemCollector,
    out_lon: NDArray[np.float64],
    out_lat: NDArray[np.float64],
    pos_of: dict[int, int],
    *,
    china_only: bool,
) -> None:
    """Put the converted points of the metre rows ``ks`` in place, refusing bad ones."""
    for j, k in enumerate(ks):
        r = metres.rows[k]
        lon_j, lat_j = float(x[j]), float(y[j])
        if not (math.isfinite(lon_j) and math.isfinite(lat_j)) or (
            china_only and not bool(gc.in_china(lon_j, lat_j))
        ):
            pc.add(
                f"easting/northing ({east[k]:.10g}, {north[k]:.10g}) convert to "
                f"({lon_j:.6g}, {lat_j:.6g}), "
                + ("outside China" if china_only else "not a valid position"),
                row=r,
                value=(float(east[k]), float(north[k])),
                fix="check the values and the zone (crs='EPSG:45xx' or the easting's "
                "zone prefix)",
            )
            continue
        out_lon[pos_of[r]] = lon_j
        out_lat[pos_of[r]] = lat_j
