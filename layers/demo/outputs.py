"""The GeoPackages, ``README.txt`` and ``manifest.json`` of the demo folder (SYNTHETIC DATA)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pyogrio

from anzhi.core.files import file_sha256
from layers.demo.county import (
    CENTRE_LAT,
    CENTRE_LON,
    DEMO_CRS,
    DEMO_VERSION,
    FILES,
    FIXED_DATETIME,
    GENERATOR,
    MANIFEST,
    NODATA,
    SYNTHETIC_NOTE,
    SYNTHETIC_NOTE_ZH,
    County,
)
from layers.demo.facilities import facilities_frame
from layers.demo.land import parcels_frame
from layers.demo.settlements import townships_frame

__all__ = ["write_gpkgs", "write_manifest", "write_readme"]


def write_gpkgs(county: County, out: Path) -> None:
    """Write the ``facilities``, ``townships`` and ``parcels`` GeoPackages into ``out``."""
    gfac = facilities_frame(county)
    gtown = townships_frame(county)
    gpar = parcels_frame(county)
    meta = {"synthetic": "true", "generator": f"{GENERATOR} v{DEMO_VERSION}",
            "description": SYNTHETIC_NOTE}
    with _ogr_fixed_date():
        for gdf, name in ((gfac, "facilities"), (gtown, "townships"), (gpar, "parcels")):
            # layer metadata only: GDAL copies dataset-level GeoPackage metadata into a
            # .aux.xml sidecar whenever the file is read
            pyogrio.write_dataframe(
                gdf, out / FILES[name], layer=name, driver="GPKG", layer_metadata=meta,
                layer_options={"DESCRIPTION": f"SYNTHETIC demo {name}"},
            )
    counts = gfac["facility_type"].value_counts()
    county.notes["facilities_by_type"] = {str(k): int(counts[k]) for k in sorted(counts.index)}
    county.notes["n_parcels"] = len(gpar)


@contextmanager
def _ogr_fixed_date() -> Iterator[None]:
    """Make GeoPackage timestamps (gpkg_contents.last_change) fixed while writing."""
    old = pyogrio.get_gdal_config_option("OGR_CURRENT_DATE")
    pyogrio.set_gdal_config_options(
        {"OGR_CURRENT_DATE": FIXED_DATETIME.strftime("%Y-%m-%dT%H:%M:%S.000Z")})
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": old})


def write_readme(county: County, path: Path) -> None:
    """Write ``README.txt``: what the demo is, its files and its deliberate problems."""
    n = county.notes
    text = f"""SYNTHETIC DEMO COUNTY — 合成演示数据(非真实数据)
=========================================================

{SYNTHETIC_NOTE}
{SYNTHETIC_NOTE_ZH}

Generator : {GENERATOR} v{DEMO_VERSION} (anzhi.layers.demo.build_demo)
Parameters: {county.params_text}
Location  : centred near {CENTRE_LON}°E, {CENTRE_LAT}°N (Shidian, Baoshan, Yunnan)
County    : {", ".join(s.name for s in county.county_seats)}
Townships : {", ".join(t.name for t in county.towns)}

Files
-----
dem.tif          elevation (m), float32, {county.n_px} x {county.n_px} px of {county.res_m:g} m,
                 {DEMO_CRS} (CGCS2000 3-degree Gauss-Krueger CM 99E, no zone prefix),
                 nodata {NODATA:g}, tiled 256x256, deflate.
                 Elevation range {n.get("dem_elevation_range_m")} m.
                 VOID: {n["dem_void_pixels"]["count"]} nodata pixels near the north-east corner
                 (rows {n["dem_void_pixels"]["rows"]}, cols {n["dem_void_pixels"]["cols"]}).
roads.osm        OSM XML 0.6, WGS84; ways by highway class: {n.get("osm_ways_by_highway")}.
                 Also buildings, one landuse=farmland and one highway=pedestrian + area=yes square
                 (closed ways, to exercise filtering), and an ISOLATED track (connected to
                 nothing) beside site(s) {n.get("isolated_track_site_ids")}.
sites.xlsx       relocation sites, Chinese headers, coordinates in GCJ-02 (column 坐标系).
sites_truth.csv  true WGS84 positions of the sites (site_id, lon, lat).
facilities.gpkg  layer "facilities" (EPSG:4326): facility_id, name, facility_type, capacity.
                 Village clinics of the sites are NOT in it: they come from the 卫生室 column.
townships.gpkg   layer "townships" (EPSG:4326): Voronoi cells of the township seats.
parcels.gpkg     layer "parcels" (EPSG:4326): out-migration land (迁出地) parcels with
                 parcel_id, village, household_id, land_use (耕地/林地/宅基地).
manifest.json    parameters and sha256 of every file (written last).

Deliberate problems (so that the analysis has something to find)
----------------------------------------------------------------
- sites farther than 2.5 km from any road: {n.get("far_from_road_site_ids")}
- site(s) whose nearest road is the isolated track: {n.get("isolated_track_site_ids")}
  (road distances: {n.get("site_road_dist_m")})
- sites with >= 800 people and no police room: {n.get("sites_800_without_police_room")}
- sites without a clinic (卫生室 = 无): {n.get("sites_without_clinic")}
"""
    path.write_text(text, encoding="utf-8")


def write_manifest(county: County, out: Path) -> None:
    """Write ``manifest.json`` (parameters, notes, sha256 of every file); the last file."""
    files = {}
    for name in sorted(FILES.values()):
        p = out / name
        files[name] = {"sha256": file_sha256(p), "bytes": p.stat().st_size}
    m = {
        "generator": GENERATOR,
        "version": DEMO_VERSION,
        "synthetic": True,
        "note": SYNTHETIC_NOTE,
        "seed": county.seed,
        "params": {"size_km": county.size_km, "res_m": county.res_m, "n_sites": county.n_sites},
        "location": {"centre_lon": CENTRE_LON, "centre_lat": CENTRE_LAT},
        "dem_crs": DEMO_CRS,
        "dem_origin_xy": [county.x0, county.y0 + county.side_m],
        "dem_size_px": [county.n_px, county.n_px],
        "counties": [s.name for s in county.county_seats],
        "townships": [t.name for t in county.towns],
        "notes": county.notes,
        "files": files,
    }
    (out / MANIFEST).write_text(json.dumps(m, ensure_ascii=False, indent=2, sort_keys=False)
                                + "\n", encoding="utf-8")
