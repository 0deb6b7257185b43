"""One province's site table, road file and facilities cut into county regions with a buffer.

The second input form of a province run (issue 15): one site table, one large OSM road file
(``.osm.pbf``, ``.osm``, ``.osm.bz2``), facility layers and a polygon layer of the counties
(GeoPackage or GeoJSON with a name column, optionally a prefecture column).
:func:`split_province` writes one folder per county that :func:`anzhi.pipeline.run_region`
reads like any county's own files, so the Dask tasks get paths, not big objects:

``sites.gpkg``
    The sites whose point lies in the county's polygon (the first polygon in file order
    when polygons overlap), as read by :func:`layers.sites.read_sites` (WGS84, the
    contract's columns).  A site outside every polygon is in no county:
    :attr:`SplitResult.unassigned` lists it (the province report names it), never dropped
    silently.
``facilities.gpkg``
    Every facility within ``buffer_km`` of the polygon (column ``in_county`` 1 for those
    in the polygon itself, 0 for the buffer's) (the buffer is drawn in the
    polygons' local UTM zone, in metres), so a facility across a border still serves a
    site; facilities that come from the yes/no columns of *other* counties' sites within
    the buffer are included too (a county's own ones come from its own site table).
``roads.osm.pbf``
    Every road way (the filter of :func:`layers.osm.read_osm_ways`) with at least one node
    inside the buffered polygon, whole, with its nodes.  The road file is read once, only
    its roads and their nodes, whatever the number of counties.

A facility is *owned* by the county whose polygon holds it (first polygon in file order),
so a facility in two buffers is counted once (:attr:`SplitCounty.own_facilities`).  The
files are written with fixed GeoPackage timestamps, so the same inputs give the same bytes
(and the per-county results cache of :mod:`layers.province` its hits).

The generated province of ``anzhi demo --province N`` (:func:`write_demo_province`) is one
demo region cut this way into a grid of counties that share borders.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import yaml
from numpy.typing import NDArray

from anzhi.core.errors import DataSourceError, InputError, ProblemCollector
from anzhi.core.files import atomic_write
from anzhi.core.osmtags import NODE_TAGS, WAY_TAGS
from anzhi.core.settings import get_settings
from geo.crs import local_metric_crs
from geo.osmgraph import OsmWays
from layers.boundaries import read_polygons
from layers.demo import build_demo
from layers.facilities import combine_facilities, facilities_from_sites, read_facilities
from layers.osm import read_osm_ways
from layers.sites import read_sites

__all__ = [
    "DEFAULT_BUFFER_KM", "MANIFEST_NAME", "demo_county_grid", "write_demo_province",
    "COUNTY_NAME_COLUMNS", "PREFECTURE_COLUMNS", "SPLIT_VERSION", "SplitCounty",
    "SplitResult", "SplitSource", "assign_points", "buffered_polygons", "cached_split",
    "owned_in_file", "read_counties", "read_split", "select_ways", "split_province",
    "write_counties",
    "write_ways_pbf",
]

#: File name of a province manifest.
MANIFEST_NAME = "manifest.yaml"
#: Default buffer around a county (km) when a province is split from one road file.
DEFAULT_BUFFER_KM = 10.0
#: Version of the split's layout; part of the cache key of a split (bump when it changes).
SPLIT_VERSION = 1
#: Column names of the county name in a polygon layer, first found wins.
COUNTY_NAME_COLUMNS: tuple[str, ...] = ("name", "county", "名称", "县", "县名", "区县", "NAME")
#: Column names of the prefecture (地级市/州) in a polygon layer, first found wins.
PREFECTURE_COLUMNS: tuple[str, ...] = ("prefecture", "市", "地级市", "市州", "州")
#: The date written into GeoPackages (gpkg_contents.last_change), so outputs are repeatable.
_FIXED_DATE = "2021-06-01T00:00:00.000Z"
_DONE = "split.json"


@dataclass(frozen=True)
class SplitSource:
    """The inputs of a province given as one site table, one road file and county polygons.

    Attributes
    ----------
    counties
        Polygon layer of the counties (GeoPackage, GeoJSON, Shapefile; any CRS).
    sites, roads
        The province's site table and OSM road file.
    facilities
        Facility layers (may be empty).
    name_column, prefecture_column
        Columns of ``counties`` holding the county's and the prefecture's name; default the
        first of :data:`COUNTY_NAME_COLUMNS` / :data:`PREFECTURE_COLUMNS` present.
    coords, facility_coords, crs
        As :class:`anzhi.pipeline.RegionInputs`, for reading the site and facility files.
    """

    counties: Path
    sites: Path
    roads: Path
    facilities: tuple[Path, ...] = ()
    name_column: str | None = None
    prefecture_column: str | None = None
    coords: str | None = None
    facility_coords: str | None = None
    crs: str | None = None

    def files(self) -> list[tuple[str, Path]]:
        """``(key, path)`` of every input file, facilities numbered."""
        return [("counties", self.counties), ("sites", self.sites), ("roads", self.roads),
                *((f"facilities[{i}]", p) for i, p in enumerate(self.facilities))]


@dataclass(frozen=True)
class SplitCounty:
    """One county's folder written by :func:`split_province`.

    Attributes
    ----------
    name, prefecture
        From the polygon layer (``prefecture`` None without a prefecture column).
    sites, roads, facilities
        ``sites.gpkg``, ``roads.osm.pbf``, ``facilities.gpkg`` of the county.
    n_sites
        Sites in the county's polygon.
    own_facilities
        Facilities in the county's polygon (each facility of the province counted in one
        county only), buffer excluded.
    """

    name: str
    prefecture: str | None
    sites: Path
    roads: Path
    facilities: Path
    n_sites: int
    own_facilities: int


@dataclass(frozen=True)
class SplitResult:
    """What :func:`split_province` wrote.

    Attributes
    ----------
    counties
        One per polygon, in file order.
    unassigned
        Sites outside every polygon: ``site_id``, ``site_name``, ``lon``, ``lat`` (WGS84).
    buffer_km
        The buffer used, km.
    """

    counties: tuple[SplitCounty, ...]
    unassigned: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        columns=["site_id", "site_name", "lon", "lat"]))
    buffer_km: float = 10.0


# --------------------------------------------------------------------------------------
# Polygons
# --------------------------------------------------------------------------------------


def _column(gdf: gpd.GeoDataFrame, given: str | None, candidates: Sequence[str], *,
            path: Path, what: str, required: bool) -> str | None:
    if given is not None:
        if given not in gdf.columns:
            raise InputError(f"{path.name}: no column {given!r} for the {what}; the columns "
                             f"are {', '.join(map(str, gdf.columns))}")
        return given
    for c in candidates:
        if c in gdf.columns:
            return c
    if required:
        raise InputError(f"{path.name}: no column with the {what} (looked for "
                         f"{', '.join(candidates)}; the columns are "
                         f"{', '.join(map(str, gdf.columns))}); add one or name it in the "
                         "manifest (county_column: / prefecture_column:)")
    return None


def read_counties(path: str | Path, *, name_column: str | None = None,
                  prefecture_column: str | None = None) -> gpd.GeoDataFrame:
    """Read the county polygons of a province, in EPSG:4326.

    Returns
    -------
    geopandas.GeoDataFrame
        Index ``0..n-1`` in file order; columns ``name`` (str), ``prefecture`` (str, ""
        without a prefecture column) and ``geometry`` (valid polygons).

    Raises
    ------
    DataSourceError
        The file is missing, unreadable or has no CRS.
    InputError
        No name column, a blank or repeated name, an empty or non-polygon geometry: every
        problem listed with its feature number (1-based).
    """
    p = Path(path)
    gdf = read_polygons(p, what="county polygons")
    name_col = _column(gdf, name_column, COUNTY_NAME_COLUMNS, path=p, what="county name",
                       required=True)
    pref_col = _column(gdf, prefecture_column, PREFECTURE_COLUMNS, path=p,
                       what="prefecture name", required=False)
    assert name_col is not None
    pc = ProblemCollector(file=p.name)
    names = [("" if pd.isna(v) else str(v).strip()) for v in gdf[name_col]]
    seen: set[str] = set()
    for i, (n, g) in enumerate(zip(names, gdf.geometry, strict=True), start=1):
        if not n:
            pc.add("blank county name", row=i, column=name_col, fix="name every county")
        elif n in seen:
            pc.add(f"county {n!r} appears twice", row=i, column=name_col,
                   fix="merge its polygons into one feature or give each its own name")
        seen.add(n)
        if g is None or g.is_empty or g.geom_type not in ("Polygon", "MultiPolygon"):
            pc.add("not a polygon", row=i, column="geometry",
                   value=None if g is None else g.geom_type,
                   fix="give the counties as (multi)polygons")
    pc.raise_if_any()
    prefs = ([""] * len(gdf) if pref_col is None else
             [("" if pd.isna(v) else str(v).strip()) for v in gdf[pref_col]])
    geom = shapely.make_valid(np.asarray(gdf.geometry.values, dtype=object))
    return gpd.GeoDataFrame({"name": names, "prefecture": prefs}, geometry=list(geom),
                            crs="EPSG:4326")


def buffered_polygons(counties: gpd.GeoDataFrame, buffer_km: float) -> list[shapely.Geometry]:
    """Each county polygon grown by ``buffer_km`` (km), in EPSG:4326.

    The buffer is drawn in metres in the local UTM zone of the province's centre
    (:func:`geo.crs.local_metric_crs`); ``buffer_km = 0`` gives the polygons themselves.
    """
    if buffer_km <= 0:
        return list(counties.geometry)
    c = counties.geometry.union_all().centroid
    metric = counties.to_crs(local_metric_crs(c.x, c.y))
    grown = metric.geometry.buffer(buffer_km * 1000.0)
    return list(gpd.GeoSeries(grown, crs=metric.crs).to_crs(4326))


def assign_points(lon: NDArray[np.float64], lat: NDArray[np.float64],
                  polygons: Sequence[shapely.Geometry]) -> NDArray[np.int64]:
    """Index of the first polygon holding each point (lon/lat, WGS84 degrees), -1 for none.

    A point on a shared border belongs to the first polygon touching it, in order.
    """
    out = np.full(len(lon), -1, dtype=np.int64)
    for i, poly in enumerate(polygons):
        free = out < 0
        if not free.any():
            break
        shapely.prepare(poly)
        hit = shapely.intersects_xy(poly, lon[free], lat[free])
        idx = np.flatnonzero(free)[hit]
        out[idx] = i
    return out


# --------------------------------------------------------------------------------------
# Roads
# --------------------------------------------------------------------------------------


def select_ways(ways: OsmWays, polygon: shapely.Geometry) -> tuple[NDArray[np.int64],
                                                                   NDArray[np.int64]]:
    """The road pieces with at least one node in ``polygon`` (EPSG:4326), and their nodes.

    Returns
    -------
    tuple
        Piece numbers (into ``ways.way_ids``) and node numbers (into ``ways.node_ids``),
        both sorted.
    """
    first = ways.way_first
    if len(ways.way_ids) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    left, bottom, right, top = shapely.bounds(polygon)
    near = ((ways.lon >= left) & (ways.lon <= right) & (ways.lat >= bottom)
            & (ways.lat <= top))
    inside = np.zeros(len(ways.node_ids), dtype=bool)
    if near.any():
        shapely.prepare(polygon)
        inside[near] = shapely.intersects_xy(polygon, ways.lon[near], ways.lat[near])
    per_piece = np.logical_or.reduceat(inside[ways.way_nodes], first[:-1])
    pieces = np.flatnonzero(per_piece)
    if not len(pieces):
        return pieces, np.zeros(0, dtype=np.int64)
    used = np.concatenate([ways.way_nodes[first[p]:first[p + 1]] for p in pieces])
    return pieces, np.unique(used)


def write_ways_pbf(ways: OsmWays, pieces: NDArray[np.int64], nodes: NDArray[np.int64],
                   path: Path) -> Path:
    """Write the road pieces ``pieces`` and nodes ``nodes`` of ``ways`` as an OSM PBF file.

    Only the tags the road graph keeps are written (``anzhi.core.osmtags``), so
    :func:`layers.osm.read_osm_ways` reads back the same pieces.  The same arguments give
    the same bytes.
    """
    import osmium
    from osmium.osm.mutable import Node, Way

    node_cols = [(k, ways.node_tags[k]) for k in NODE_TAGS if k in ways.node_tags]
    way_cols = [(k, ways.tags[k]) for k in WAY_TAGS if k in ways.tags]
    if path.exists():
        path.unlink()
    writer = osmium.SimpleWriter(str(path))
    try:
        for n in nodes.tolist():
            tags = {k: col[n] for k, col in node_cols if col[n] is not None}
            writer.add_node(Node(id=int(ways.node_ids[n]), version=1,
                                 location=(float(ways.lon[n]), float(ways.lat[n])), tags=tags))
        for p in pieces.tolist():
            refs = ways.node_ids[ways.way_nodes[ways.way_first[p]:ways.way_first[p + 1]]]
            tags = {k: col[p] for k, col in way_cols if col[p] is not None}
            writer.add_way(Way(id=int(ways.way_ids[p]), version=1, nodes=refs.tolist(),
                               tags=tags))
    finally:
        writer.close()
    return path


# --------------------------------------------------------------------------------------
# The split
# --------------------------------------------------------------------------------------


@contextmanager
def _fixed_gpkg_date() -> Iterator[None]:
    import pyogrio
    import pyogrio.errors

    old = pyogrio.get_gdal_config_option("OGR_CURRENT_DATE")
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": _FIXED_DATE})
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": old})


def _write_gpkg(gdf: gpd.GeoDataFrame, path: Path, layer: str) -> None:
    if path.exists():
        path.unlink()
    with _fixed_gpkg_date():
        gdf.reset_index(drop=True).to_file(path, layer=layer, driver="GPKG")


def write_counties(counties: gpd.GeoDataFrame, path: str | Path) -> Path:
    """Write county polygons (``name``, ``prefecture``, geometry) as a GeoPackage, layer
    ``counties``, with a fixed timestamp (the same polygons give the same bytes)."""
    p = Path(path)
    if p.exists():
        p.unlink()
    _write_gpkg(counties, p, "counties")
    return p


def owned_in_file(path: str | Path) -> int | None:
    """Facilities of a county's ``facilities.gpkg`` written by :func:`split_province` that
    lie in the county (column ``in_county``), None for any other file.

    The county's own sites' yes/no facilities are not in the file (its run derives them).
    """
    p = Path(path)
    if p.suffix.lower() != ".gpkg":
        return None
    import pyogrio
    import pyogrio.errors

    try:
        info = pyogrio.read_info(p)
        if "in_county" not in list(info["fields"]):
            return None
        df = pyogrio.read_dataframe(p, columns=["in_county"], read_geometry=False)
    except (OSError, pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError):
        return None
    return int(pd.to_numeric(df["in_county"], errors="coerce").fillna(0).astype(bool).sum())


def _province_facilities(source: SplitSource, sites: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Every facility of the files and of the sites' yes/no columns (``from_site`` marks the
    latter with the site's id)."""
    files = [read_facilities(p, coords=source.facility_coords, default_coords=source.coords,
                             crs=source.crs) for p in source.facilities]
    derived = facilities_from_sites(sites)
    layers = [f for f in files if len(f)]
    fac = combine_facilities(*layers) if layers else derived.iloc[:0]
    fac = fac.assign(from_site="")
    derived = derived.assign(from_site=derived["site_id"].astype(str))
    return pd.concat([fac, derived], ignore_index=True)


def split_province(source: SplitSource, *, buffer_km: float, out_dir: str | Path,
                   progress: bool = False) -> SplitResult:
    """Cut a province into county folders (see the module notes) and write them.

    Parameters
    ----------
    source
        The province's files.
    buffer_km
        Buffer around each county for facilities and roads, km (≥ 0).
    out_dir
        Folder to write ``<i>/`` (one per county, numbered from 1 in polygon order) and
        ``split.json`` into; created if absent, overwritten files replaced.
    progress
        Progress bars while reading the road file.

    Raises
    ------
    InputError, DataSourceError
        From reading the polygons, the site table, the facility layers or the road file.
    """
    if not buffer_km >= 0:
        raise InputError(f"buffer_km must be ≥ 0 km, got {buffer_km!r}")
    out = Path(out_dir)
    counties = read_counties(source.counties, name_column=source.name_column,
                             prefecture_column=source.prefecture_column)
    sites = read_sites(source.sites, coords=source.coords, crs=source.crs)
    fac = _province_facilities(source, sites)
    ways = read_osm_ways(source.roads, progress=progress)
    polys = list(counties.geometry)
    grown = buffered_polygons(counties, buffer_km)
    site_of = assign_points(sites.geometry.x.to_numpy(), sites.geometry.y.to_numpy(), polys)
    fac_lon, fac_lat = fac.geometry.x.to_numpy(), fac.geometry.y.to_numpy()
    fac_owner = assign_points(fac_lon, fac_lat, polys)
    county_of_site = dict(zip(sites["site_id"].astype(str), site_of.tolist(), strict=True))
    fac_site_county = np.array([county_of_site.get(s, -1) if s else -2
                                for s in fac["from_site"]], dtype=np.int64)
    written: list[SplitCounty] = []
    for i, row in enumerate(counties.itertuples(index=False)):
        folder = out / str(i + 1)
        folder.mkdir(parents=True, exist_ok=True)
        own_sites = sites.loc[site_of == i]
        _write_gpkg(own_sites, folder / "sites.gpkg", "sites")
        shapely.prepare(grown[i])
        near = shapely.intersects_xy(grown[i], fac_lon, fac_lat) & (fac_site_county != i)
        clip = fac.loc[near].drop(columns="from_site").assign(
            in_county=(fac_owner[near] == i).astype(np.int64))
        _write_gpkg(clip, folder / "facilities.gpkg", "facilities")
        pieces, nodes = select_ways(ways, grown[i])
        write_ways_pbf(ways, pieces, nodes, folder / "roads.osm.pbf")
        written.append(SplitCounty(
            name=str(row.name), prefecture=str(row.prefecture) or None,
            sites=folder / "sites.gpkg", roads=folder / "roads.osm.pbf",
            facilities=folder / "facilities.gpkg", n_sites=len(own_sites),
            own_facilities=int((fac_owner == i).sum())))
    lost = sites.loc[site_of < 0]
    unassigned = pd.DataFrame({"site_id": lost["site_id"].astype(str).to_numpy(),
                               "site_name": lost["site_name"].astype(str).to_numpy(),
                               "lon": lost.geometry.x.to_numpy(),
                               "lat": lost.geometry.y.to_numpy()})
    result = SplitResult(counties=tuple(written), unassigned=unassigned,
                         buffer_km=float(buffer_km))
    (out / _DONE).write_text(json.dumps(_to_json(result), ensure_ascii=False, indent=1),
                             encoding="utf-8")
    return result


def _to_json(res: SplitResult) -> dict[str, object]:
    return {"version": SPLIT_VERSION, "buffer_km": res.buffer_km,
            "counties": [{"name": c.name, "prefecture": c.prefecture, "folder": c.sites.parent.name,
                          "n_sites": c.n_sites, "own_facilities": c.own_facilities}
                         for c in res.counties],
            "unassigned": res.unassigned.to_dict(orient="records")}


def read_split(folder: str | Path) -> SplitResult | None:
    """The split written into ``folder`` by :func:`split_province`, None when absent/broken."""
    root = Path(folder)
    try:
        doc = json.loads((root / _DONE).read_text(encoding="utf-8"))
        counties = tuple(SplitCounty(
            name=str(c["name"]), prefecture=c["prefecture"],
            sites=root / c["folder"] / "sites.gpkg", roads=root / c["folder"] / "roads.osm.pbf",
            facilities=root / c["folder"] / "facilities.gpkg", n_sites=int(c["n_sites"]),
            own_facilities=int(c["own_facilities"])) for c in doc["counties"])
        if int(doc["version"]) != SPLIT_VERSION or not all(
                p.is_file() for c in counties for p in (c.sites, c.roads, c.facilities)):
            return None
        unassigned = pd.DataFrame(doc["unassigned"],
                                  columns=["site_id", "site_name", "lon", "lat"])
        return SplitResult(counties=counties, unassigned=unassigned,
                           buffer_km=float(doc["buffer_km"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def cached_split(source: SplitSource, *, buffer_km: float, cache_root: Path, key: str,
                 progress: bool = False) -> SplitResult:
    """:func:`split_province` into ``cache_root/key`` unless a whole split is there already.

    The split is written into a temporary sibling folder and renamed into place, so an
    entry is whole or absent; ``key`` must name the inputs' content and the buffer.

    Raises
    ------
    DataSourceError
        The cache folder cannot be written.
    """
    entry = cache_root / key
    found = read_split(entry)
    if found is not None:
        return found
    tmp = cache_root / f".{key}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        tmp.mkdir(parents=True)
        split_province(source, buffer_km=buffer_km, out_dir=tmp, progress=progress)
        if entry.exists():
            shutil.rmtree(entry, ignore_errors=True)
        try:
            os.rename(tmp, entry)
        except OSError:
            if read_split(entry) is None:
                raise
    except OSError as exc:
        raise DataSourceError(f"cannot write the county split into {cache_root} "
                              f"({exc.strerror or exc}); set ANZHI_CACHE_DIR to a writable "
                              "folder") from exc
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    res = read_split(entry)
    if res is None:
        raise DataSourceError(f"the county split in {entry} is incomplete; delete the folder "
                              "and run again")
    return res


# --------------------------------------------------------------------------------------
# A generated province
# --------------------------------------------------------------------------------------


def demo_county_grid(bounds: tuple[float, float, float, float],
                     n_counties: int) -> list[tuple[str, str, Any]]:
    """``(name, prefecture, rectangle)`` of ``n_counties`` counties tiling ``bounds``.

    ``bounds`` is (left, bottom, right, top) in degrees; the counties are lon/lat
    rectangles in rows of ``ceil(sqrt(n))`` from the north-west (the last row's fewer
    counties are wider), so neighbours share whole borders and every point of ``bounds``
    is in a county.  Row ``r`` is the prefecture ``prefecture_<r>``.
    """
    import math

    left, bottom, right, top = bounds
    cols = math.ceil(math.sqrt(n_counties))
    rows = math.ceil(n_counties / cols)
    out: list[tuple[str, str, Any]] = []
    for r in range(rows):
        in_row = cols if r < rows - 1 else n_counties - cols * (rows - 1)
        y1 = top - (top - bottom) * r / rows
        y0 = bottom if r == rows - 1 else top - (top - bottom) * (r + 1) / rows
        for c in range(in_row):
            x0 = left + (right - left) * c / in_row
            x1 = right if c == in_row - 1 else left + (right - left) * (c + 1) / in_row
            out.append((f"county_{len(out) + 1}", f"prefecture_{r + 1}",
                        shapely.box(x0, y0, x1, y1)))
    return out


def write_demo_province(
    out_dir: str | Path,
    n_counties: int,
    *,
    seed: int | None = None,
    size_km: float = 40.0,
    res_m: float = 30.0,
    n_sites: int = 60,
    force: bool = False,
) -> Path:
    """A synthetic province of ``n_counties`` counties sharing borders (SYNTHETIC DATA).

    One demo region (:func:`layers.demo.build_demo` with ``seed``, a square of side
    ``size_km * sqrt(n_counties)`` and ``n_sites * n_counties`` sites, so each county is as
    large as a demo county of ``size_km``) in ``out_dir/region``, cut into a grid of
    counties (:func:`demo_county_grid`) written as ``out_dir/counties.gpkg`` (columns
    ``name``, ``prefecture``).  Two manifests describe the same province:

    ``manifest_split.yaml``
        The split form: the region's site table, road file and facilities with
        ``counties: counties.gpkg`` (``anzhi gaps --province`` cuts it at run time).
    ``manifest.yaml``
        The county-folder form: that split done now with ``buffer_km`` 10
        (:func:`layers.split.split_province`) into ``out_dir/split/<i>/``; every county
        shares the region's DEM, parcels and townships.

    The same arguments give the same files.  Roads, rivers and settlements run across
    the county borders, so a site near a border may be served from the next county.

    Parameters
    ----------
    out_dir
        The province folder.
    n_counties
        Number of counties, 1–1,000.
    seed
        Seed of the demo region; default ``get_settings().demo_seed``.
    size_km, res_m, n_sites
        Size of one county (km; the side of a square of its area), DEM pixel (m) and sites
        per county.
    force
        Rebuild a region already present.

    Returns
    -------
    pathlib.Path
        ``manifest.yaml``.

    Raises
    ------
    InputError
        ``n_counties`` out of range, or a bad demo parameter.
    """
    import math

    import geopandas as gpd
    import rasterio
    from rasterio.warp import transform_bounds

    if isinstance(n_counties, bool) or not isinstance(n_counties, int) \
            or not 1 <= n_counties <= 1000:
        raise InputError(f"--province N: the number of counties must be 1 to 1000, got "
                         f"{n_counties!r}")
    base = get_settings().demo_seed if seed is None else seed
    root = Path(out_dir).expanduser().absolute()
    side_km = float(size_km) * math.sqrt(n_counties)
    paths = build_demo(root / "region", seed=base, size_km=side_km, res_m=res_m,
                       n_sites=n_sites * n_counties, force=force)
    with rasterio.open(paths.dem) as ds:
        bounds = transform_bounds(ds.crs, "EPSG:4326", *ds.bounds, densify_pts=101)
    grid = demo_county_grid(bounds, n_counties)
    counties = gpd.GeoDataFrame({"name": [g[0] for g in grid], "prefecture": [g[1] for g in grid]},
                                geometry=[g[2] for g in grid], crs="EPSG:4326")
    write_counties(counties, root / "counties.gpkg")
    rel = {k: f"region/{getattr(paths, k).name}" for k in
           ("sites", "roads", "facilities", "dem", "parcels", "townships")}
    note = "# SYNTHETIC DATA: a generated province (anzhi demo --province)\n"
    name = f"demo province ({n_counties} synthetic counties, seed {base})"
    split_doc = {"name": name, "buffer_km": DEFAULT_BUFFER_KM, "counties": "counties.gpkg",
                 "sites": rel["sites"], "roads": rel["roads"], "facilities": [rel["facilities"]],
                 **{k: rel[k] for k in ("dem", "parcels", "townships")}}
    _write_yaml(root / "manifest_split.yaml", note, split_doc)
    src = SplitSource(counties=root / "counties.gpkg", sites=paths.sites, roads=paths.roads,
                      facilities=(paths.facilities,))
    split = read_split(root / "split")
    if force or split is None or len(split.counties) != n_counties:
        split = split_province(src, buffer_km=DEFAULT_BUFFER_KM, out_dir=root / "split")
    doc = {"name": name, "buffer_km": DEFAULT_BUFFER_KM, "counties": [
        {"name": c.name, "prefecture": c.prefecture,
         "sites": c.sites.relative_to(root).as_posix(),
         "roads": c.roads.relative_to(root).as_posix(),
         "facilities": [c.facilities.relative_to(root).as_posix()],
         **{k: rel[k] for k in ("dem", "parcels", "townships")}} for c in split.counties]}
    return _write_yaml(root / MANIFEST_NAME, note, doc)


def _write_yaml(path: Path, note: str, doc: Mapping[str, Any]) -> Path:
    text = note + yaml.safe_dump(dict(doc), allow_unicode=True, sort_keys=False)

    def write(p: Path) -> None:
        p.write_text(text, encoding="utf-8")

    return atomic_write(path, write)
