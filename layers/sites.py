"""Read and validate the relocation-site table (安置点) into the sites contract.

The contract (docs/schemas.md, "Sites"): EPSG:4326 points, index ``0..n-1``, columns
``site_id, site_name, county, township, village, households, population, kind``, one
``has_<facility_type>`` per yes/no facility column, and ``geometry``.

County offices keep their site lists in Excel with Chinese headers, often with positions
picked on Amap (GCJ-02) or Baidu (BD-09) maps, or surveyed in Gauss-Krüger metres.
:func:`read_sites` reads all of these, converts positions to WGS84, and checks every row,
raising one :class:`~anzhi.core.errors.InputError` that lists every problem with its file,
row (as Excel shows it: header = row 1), column, value and fix.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Final, cast

import geopandas as gpd
import numpy as np
import pandas as pd

from anzhi.core.errors import ProblemCollector
from anzhi.core.settings import get_settings
from layers.cells import YES_NO_HELP, cell_text, id_text, is_blank, parse_yes_no, paused_gc, shown
from layers.points import COORD_FIELDS, check_coordinate_columns, coord_columns, resolve_points
from layers.tables import (SERIAL_HEADERS, TOTAL_WORDS, Field, RawTable, column_cells,
                           facility_type_of_header, fold, header_matcher, match_fields,
                           non_negative_numbers, raise_sorted, read_table, unique_ids,
                           unsaved_formulas)

__all__ = ["SITE_FIELDS", "SITE_COLUMNS", "KIND_VALUES", "read_sites"]

#: Columns of the site table and their accepted headers (best tier first).
SITE_FIELDS: Final[tuple[Field, ...]] = (
    Field("site_id", (("编号", "安置点编号", "安置点代码", "id", "site_id"), ("序号", "no", "no."))),
    Field("site_name", (("安置点名称", "安置点", "名称", "安置点名", "name", "site_name"),)),
    Field("county", (("县", "县(市、区)", "县(市,区)", "县(区)", "县(市)", "县区", "区县", "县市区",
                      "county"),)),
    Field("township", (("乡镇", "乡(镇)", "乡镇(街道)", "乡(镇、街道)", "乡镇街道", "township"),)),
    Field("village", (("村", "社区", "村(社区)", "村(居)", "村居", "village"),)),
    Field("households", (("户数", "搬迁户数", "安置户数", "households"),)),
    Field("population", (("人数", "搬迁人口", "安置人数", "人口", "搬迁人数", "安置人口",
                          "population", "pop"),)),
    Field("kind", (("安置方式", "安置类型", "kind"),)),
    # optional: children aged 3-5, for kindergarten places (analysis.capacity)
    Field("children_3_5", (("3-5岁儿童数", "3–5岁儿童数", "3~5岁儿童数", "3至5岁儿童数",
                            "3-5岁儿童", "3-5岁幼儿数", "适龄幼儿数", "学前儿童数",
                            "children_3_5", "children aged 3-5"),)),
)

#: Output columns before the ``has_<type>`` columns and ``geometry``.
SITE_COLUMNS: Final[tuple[str, ...]] = (
    "site_id", "site_name", "county", "township", "village", "households", "population", "kind",
)

#: Accepted 安置方式 values (folded) and their canonical form.
KIND_VALUES: Final[dict[str, str]] = {
    fold(v): k
    for k, values in {
        "城镇": ("城镇", "城镇安置", "集中城镇", "城镇集中安置", "urban", "town"),
        "农村": ("农村", "农村安置", "农村集中安置", "rural"),
    }.items()
    for v in values
}

_FIELDS_BY_KEY: Final = {f.key: f for f in SITE_FIELDS}
_is_known_header: Final = header_matcher(
    SITE_FIELDS + COORD_FIELDS, also=lambda text: facility_type_of_header(text) is not None
)


@paused_gc()
def read_sites(
    path: str | Path,
    *,
    coords: str | None = None,
    crs: str | int | None = None,
    sheet: str | int | None = None,
    china_only: bool = True,
) -> gpd.GeoDataFrame:
    """Read a relocation-site table and return it as WGS84 points, validated.

    Parameters
    ----------
    path
        ``.xlsx``/``.xlsm``/``.xls`` (first sheet unless ``sheet``), ``.csv`` (UTF-8, else
        GBK/GB18030 as Chinese Excel saves it), ``.geojson``/``.json``, ``.gpkg`` (first
        layer unless ``sheet``) or ``.shp``.  A title line above the header row is
        skipped; so are blank rows and template lines holding nothing but a 序号.
    coords
        Coordinate system of longitude/latitude values: ``wgs84``, ``cgcs2000``, ``gcj02``
        (Amap/Tencent) or ``bd09`` (Baidu), or any label
        :func:`geo.coords.normalise_coord_system` accepts.  A 坐标系/coords column gives it
        per row instead; a cell that disagrees with ``coords`` is a problem.  When neither
        is given, **WGS84 is assumed** (for vector layers: the layer's own CRS).  For a
        vector layer in EPSG:4326/4490, ``coords="gcj02"``/``"bd09"`` converts its points.
    crs
        For Gauss-Krüger metres (东坐标/北坐标, X坐标/Y坐标, easting/northing, or x/y with
        values in metres): the zone's EPSG code, e.g. ``"EPSG:4521"`` (zone 33, 8-digit
        eastings) or ``4542`` (central meridian 99°E, 6-digit eastings); without it the
        zone comes from the 8-digit easting's prefix.  For a vector layer without a CRS
        (a shapefile without ``.prj``): the layer's CRS.  It does not apply to
        longitude/latitude values, and a layer's own CRS wins over it, so one ``--crs``
        can serve a run whose other inputs are in degrees.  ``EPSG:4326``/``EPSG:4490``
        act like ``coords="wgs84"``/``"cgcs2000"``.
    sheet
        Sheet (or GeoPackage layer) name or 0-based number.
    china_only
        Report sites outside China's bounding box (default True: relocation sites are a
        Chinese policy product).

    Returns
    -------
    geopandas.GeoDataFrame
        EPSG:4326, index ``0..n-1``: ``site_id`` (str; the 编号/id column, else ``S0001…``
        in file order; 序号 is used only when there is no 编号-like column), ``site_name``,
        ``county``, ``township``, ``village`` (str, ``""`` if absent), ``households``
        (float64, NaN if absent), ``population`` (int64), ``kind`` (``城镇``/``农村``/``""``),
        ``has_<facility_type>`` (bool, one per yes/no column such as 卫生室, 警务室,
        幼儿园; blank means no), ``geometry`` (Point).  Vector polygons become their
        representative point.  Other columns are not kept.

    Raises
    ------
    InputError
        Listing every problem at once: missing columns (with the accepted headers),
        missing/non-numeric/negative/fractional population or households, households >
        population, missing or non-numeric coordinates, swapped 经度/纬度, positions outside
        China, empty geometry, blank or duplicate site ids, blank names, unknown 安置方式,
        unknown yes/no values, unknown coordinate systems, total lines (合计).  Rows are
        numbered as the user sees them: sheet row with the header as row 1, csv line, or
        1-based feature number for vector layers.
    DataSourceError
        When the file is missing or cannot be read at all.

    Examples
    --------
    >>> sites = read_sites("安置点.xlsx", coords="gcj02")  # doctest: +SKIP
    """
    table = read_table(path, sheet=sheet, is_known=_is_known_header)
    pc = ProblemCollector(file=table.label)
    found = match_fields(table.headers, SITE_FIELDS + COORD_FIELDS, pc)
    used = set(found.values())
    unsaved_formulas(table, [found[k] for k in ("site_id", "site_name", "county", "township",
                                                "village", "kind") if k in found], pc)
    facility_cols = _facility_columns(table, used, pc)

    for key in ("site_name", "population"):
        if key not in found:
            pc.add(
                f"no {key} column",
                fix=f"add a column headed one of {_FIELDS_BY_KEY[key].accepted()} "
                f"(columns now: {table.header_list()})",
            )
    cols = coord_columns(found)
    serial = found.get("site_id")
    if serial is not None and fold(table.headers[serial]) in SERIAL_HEADERS:
        table.drop_rows_blank_except(serial)  # unused pre-numbered lines of a template
    check_coordinate_columns(table, cols, pc)

    _drop_total_rows(table, found, pc)
    if table.cells.empty and not pc:
        pc.add("the file holds no sites", fix="add one row per relocation site below the header")

    lon, lat = resolve_points(
        table, cols, pc, coords=coords, crs=crs, china_only=china_only, what="site"
    )

    rows = [int(r) for r in table.cells.index]
    out: dict[str, object] = {}
    out["site_id"] = _site_ids(table, found, pc, rows)
    out["site_name"] = _texts(table, found.get("site_name"), rows, pc, required_label="site name")
    for key in ("county", "township", "village"):
        out[key] = _texts(table, found.get(key), rows, pc)
    population = _counts(table, found.get("population"), rows, pc, required=True,
                         label="population")
    households = _counts(table, found.get("households"), rows, pc, required=False,
                         label="households")
    if "households" in found and "population" in found:
        h_header = table.headers[found["households"]]
        p_header = table.headers[found["population"]]
        with np.errstate(invalid="ignore"):
            over = np.flatnonzero(households > population)  # NaN compares False
        for k in over:
            r, h, p = rows[k], households[k], population[k]
            pc.add(
                f"{h:g} households but only {p:g} people ({p_header})",
                row=r,
                column=h_header,
                value=shown(h),
                fix=f"check {h_header} and {p_header}: a household has at least one person",
            )
    out["households"] = households
    out["population"] = population
    out["kind"] = _kinds(table, found.get("kind"), rows, pc)
    children = None
    if "children_3_5" in found:
        children = _counts(table, found["children_3_5"], rows, pc, required=False,
                           label="children aged 3-5")
        c_header = table.headers[found["children_3_5"]]
        with np.errstate(invalid="ignore"):
            over = np.flatnonzero(children > population)  # NaN compares False
        for k in over:
            r, c, p = rows[k], children[k], population[k]
            pc.add(f"{c:g} children aged 3-5 but only {p:g} people", row=r,
                   column=c_header, value=shown(c),
                   fix=f"check {c_header}: it counts children aged 3-5 living at the site")
    for pos, ftype in facility_cols:
        out[f"has_{ftype}"] = _yes_no(table, pos, rows, pc)

    raise_sorted(pc)

    n = len(rows)
    data = {
        "site_id": pd.Series(out["site_id"], dtype="str"),
        "site_name": pd.Series(out["site_name"], dtype="str"),
        "county": pd.Series(out["county"], dtype="str"),
        "township": pd.Series(out["township"], dtype="str"),
        "village": pd.Series(out["village"], dtype="str"),
        "households": pd.Series(households, dtype="float64"),
        "population": pd.Series(population, dtype="float64").astype("int64"),
        "kind": pd.Series(out["kind"], dtype="str"),
    }
    if children is not None:
        data["children_3_5"] = pd.Series(children, dtype="float64")
    for _pos, ftype in facility_cols:
        data[f"has_{ftype}"] = pd.Series(out[f"has_{ftype}"], dtype="bool")
    frame = pd.DataFrame(data, index=pd.RangeIndex(n))
    gdf = gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")
    gdf.attrs["source"] = table.label
    gdf.attrs["notes"] = list(table.notes)  # e.g. merged cells filled down, for the run report
    return gdf


# --------------------------------------------------------------------------- helpers


def _facility_columns(
    table: RawTable, used: set[int], pc: ProblemCollector
) -> list[tuple[int, str]]:
    """(position, facility type) of each yes/no facility column, in file order."""
    out: list[tuple[int, str]] = []
    seen: dict[str, int] = {}
    for pos, header in enumerate(table.headers):
        if pos in used or not header:
            continue
        ftype = facility_type_of_header(header)
        if ftype is None:
            continue
        if ftype in seen:
            pc.add(
                f"columns {table.headers[seen[ftype]]!r} and {header!r} both mean {ftype}",
                column=header,
                fix="keep one yes/no column per facility type",
            )
            continue
        seen[ftype] = pos
        out.append((pos, ftype))
    return out


def _is_total_word(v: object) -> bool:
    if v.__class__ is str and _DIGIT.search(v):  # type: ignore[arg-type]
        return False  # folding keeps ASCII digits, and no total word has one
    return not is_blank(v) and fold(cell_text(v)).rstrip(":") in TOTAL_WORDS


_DIGIT: Final = re.compile("[0-9]")


def _drop_total_rows(table: RawTable, found: dict[str, int], pc: ProblemCollector) -> None:
    """Report and drop lines such as 合计 (totals are not sites)."""
    positions = [found[k] for k in ("site_id", "site_name", "county", "township", "village")
                 if k in found]
    if not positions or table.cells.empty:
        return
    # each distinct cell is folded once (a 100,000-row table has few distinct townships)
    hits = np.column_stack([_distinct_map(table.column(pos), _is_total_word)
                            for pos in positions])
    drop = []
    for k in np.flatnonzero(hits.any(axis=1)):
        j = int(np.argmax(hits[k]))  # the first id/name column that says 合计
        r = table.cells.index[k]
        v = table.cells.iat[k, table.cells.columns.get_loc(positions[j])]
        pc.add(
            "this looks like a total line, not a site",
            row=int(cast(int, r)),
            column=table.headers[positions[j]],
            value=cell_text(v),
            fix="delete the total line (合计) from the table; Anzhi adds up by itself",
        )
        drop.append(r)
    if drop:
        table.keep_rows(~table.cells.index.isin(drop))


def _distinct_map(col: pd.Series, fn: Callable[[object], bool]) -> np.ndarray:
    """``fn`` of every cell of ``col`` as a bool array, called once per distinct cell (by
    type and value, so ``1``, ``1.0`` and ``True`` stay apart)."""
    memo: dict[tuple[type, object], bool] = {}
    out = np.empty(len(col), dtype=bool)
    for k, v in enumerate(col.tolist()):
        try:
            key = (type(v), v)
            got = memo.get(key)
            if got is None:
                got = memo[key] = fn(v)
        except TypeError:  # an unhashable cell
            got = fn(v)
        out[k] = got
    return out


def _cells(table: RawTable, pos: int, rows: list[int]) -> list[object]:
    """The cells of column ``pos`` for ``rows`` (the row numbers of ``table.cells``)."""
    return column_cells(table, pos, rows)


def _site_ids(
    table: RawTable, found: dict[str, int], pc: ProblemCollector, rows: list[int]
) -> list[str]:
    pos = found.get("site_id")
    if pos is None:
        return [f"S{i:04d}" for i in range(1, len(rows) + 1)]
    return unique_ids([v.strip() if v.__class__ is str else id_text(v)  # id_text of a str
                       for v in _cells(table, pos, rows)], rows,
                      header=table.headers[pos],
                      noun="site", prefix="S", pc=pc)


def _texts(
    table: RawTable,
    pos: int | None,
    rows: list[int],
    pc: ProblemCollector,
    *,
    required_label: str | None = None,
) -> list[str]:
    if pos is None:
        return [""] * len(rows)
    # cell_text of a str is its stripped self
    values = [v.strip() if v.__class__ is str else cell_text(v) for v in _cells(table, pos, rows)]
    if required_label:
        for r, v in zip(rows, values, strict=True):
            if not v:
                pc.add(f"the {required_label} is empty", row=r, column=table.headers[pos],
                       fix=f"fill in the {required_label}")
    return values


def _counts(
    table: RawTable,
    pos: int | None,
    rows: list[int],
    pc: ProblemCollector,
    *,
    required: bool,
    label: str,
) -> np.ndarray:
    """Whole non-negative counts as float64 (NaN when blank or bad)."""
    unit = {"population": "people", "households": "households"}.get(label, "children")
    return non_negative_numbers(
        table, pos, rows, pc, label=label,
        fix_number=f"write the number of {unit} as digits, e.g. 1250",
        fix_negative=f"write the number of {unit} (0 or more)",
        fix_missing=f"fill in the number of {unit}" if required else None,
        fix_whole=f"write a whole number of {unit}",
        max_value=get_settings().max_site_population,
        fix_max=f"check the number of {unit} (a site of more people is not plausible; raise "
                "the bound with anzhi.core.settings.override(max_site_population=...))",
    )


def _kinds(
    table: RawTable, pos: int | None, rows: list[int], pc: ProblemCollector
) -> list[str]:
    if pos is None:
        return [""] * len(rows)
    header = table.headers[pos]
    out: list[str] = []
    folded: dict[str, str] = {}  # few distinct texts: each folded once
    for r, raw in zip(rows, _cells(table, pos, rows), strict=True):
        if is_blank(raw):
            out.append("")
            continue
        text = cell_text(raw)
        key = folded.get(text)
        if key is None:
            key = folded[text] = fold(text)
        kind = KIND_VALUES.get(key)
        if kind is None:
            pc.add("unknown 安置方式 (kind of site)", row=r, column=header,
                   value=shown(raw),
                   fix="write 城镇 (town site; also 城镇安置/集中城镇/urban) or 农村 (rural site; "
                   "also 农村安置/rural), or leave it blank")
            kind = ""
        out.append(kind)
    return out


def _yes_no(table: RawTable, pos: int, rows: list[int], pc: ProblemCollector) -> list[bool]:
    header = table.headers[pos]
    out: list[bool] = []
    known: dict[str, bool] = {}  # texts already read (有/无): each parsed once
    for r, raw in zip(rows, _cells(table, pos, rows), strict=True):
        if raw.__class__ is str and raw in known:
            out.append(known[raw])  # type: ignore[index]
            continue
        try:
            out.append(parse_yes_no(raw))
            if raw.__class__ is str:
                known[raw] = out[-1]  # type: ignore[index]
        except ValueError:
            pc.add("not a yes/no value", row=r, column=header, value=shown(raw),
                   fix=YES_NO_HELP)
            out.append(False)
    return out
