"""Relocation sites of the demo county, and ``sites.xlsx`` / ``sites_truth.csv`` (SYNTHETIC).

:func:`place_sites` puts the sites beside the roads (50–800 m away; the far and isolated ones
deliberately not), lays an isolated track beside each isolated site, gives every site its
township, population and households, numbers them and names them;
:func:`write_sites` writes the site table with Chinese headers and GCJ-02 coordinates, and
the true WGS84 positions beside it.
"""

from __future__ import annotations

import csv
import io
import math
import re
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from scipy.spatial import cKDTree

from layers.demo.county import (
    DEMO_VERSION,
    FIXED_DATETIME,
    GENERATOR,
    SYNTHETIC_NOTE,
    SYNTHETIC_NOTE_ZH,
    County,
    FloatArray,
    Way,
)

__all__ = ["place_sites", "write_sites"]

_HEADERS = ("编号", "安置点名称", "县", "乡镇", "村(社区)", "户数", "人数", "安置方式",
            "经度", "纬度", "坐标系", "卫生室")
_ZIP_DATE = (2021, 6, 1, 0, 0, 0)


def place_sites(county: County) -> None:
    """Place, size, number and name the relocation sites of ``county`` (its ``sites``)."""
    tree = _road_tree(county)
    sites = _mega_sites(county, tree) + _anchored_sites(county, tree)
    for sp in county.specials:
        sites.append({"xy": sp.xy.copy(), "kind": sp.kind, "village": sp.name, "urban": False})
    _isolated_tracks(county, sites)
    xy = np.array([s["xy"] for s in sites])
    dist = _road_dist(_road_tree(county), xy)
    for s, d in zip(sites, dist, strict=True):
        s["road_dist_m"] = float(d)
    # township: nearest township seat (the Voronoi polygons)
    _, ti = cKDTree(county.town_xy).query(xy)
    for s, t in zip(sites, ti, strict=True):
        s["town"] = int(t)
    _populations(county.rng, sites)
    _number_and_name(county, sites)


def _road_tree(county: County) -> shapely.STRtree:
    """Spatial index of the road lines (highways that are not areas) of ``county``."""
    lines = [shapely.LineString(w.xy) for w in county.ways if w.tags.get("highway")
             and not w.tags.get("area")]
    return shapely.STRtree(lines)


def _road_dist(tree: shapely.STRtree, xy: FloatArray) -> FloatArray:
    """Distance (m) from each point of ``xy`` to the nearest line of ``tree``."""
    pts = shapely.points(xy)
    _, d = tree.query_nearest(pts, return_distance=True, all_matches=False)
    return d


def _mega_sites(county: County, tree: shapely.STRtree) -> list[dict[str, Any]]:
    """County-town mega sites: between the streets, 50–300 m from a road, as flat as can be."""
    rng = county.rng
    sites: list[dict[str, Any]] = []
    for k, seat in enumerate(county.county_seats[: county.n_mega]):
        ang = rng.uniform(0, 2 * math.pi, 24)
        rad = rng.uniform(120.0, 450.0, 24)
        cand = seat.xy + np.column_stack([rad * np.cos(ang), rad * np.sin(ang)])
        d = _road_dist(tree, cand)
        sl = county.grid.slope_at(cand)
        score = np.where((d >= 50) & (d <= 300), sl, np.inf)
        i = int(np.argmin(score) if np.isfinite(score).any() else np.argmin(np.abs(d - 100)))
        sites.append({"xy": cand[i], "kind": "mega", "village": "幸福社区" if k == 0 else
                      f"{seat.name[:2]}幸福社区", "urban": True})
    return sites


def _anchored_sites(county: County, tree: shapely.STRtree) -> list[dict[str, Any]]:
    """Township-seat and rural sites near their anchors, 50–800 m from a road."""
    rng, L = county.rng, county.side_m
    sites: list[dict[str, Any]] = []
    for p in county.seat_sites + county.rural:
        cand = _offsets(p.xy, rng)
        d = _road_dist(tree, cand)
        sl = county.grid.slope_at(cand)
        inside = np.all((cand > 200) & (cand < L - 200), axis=1)
        good = inside & (d >= 50) & (d <= 800)
        score = np.where(good, sl + 0.004 * np.abs(d - p.extra.get("want", 250.0)), np.inf)
        if np.isfinite(score).any():
            xy = cand[int(np.argmin(score))]
        else:
            xy = p.xy + np.array([60.0, 0.0])
        sites.append({"xy": xy, "kind": "seat" if p.extra["seat_site"] else "rural",
                      "village": p.name, "urban": bool(p.extra["seat_site"])})
    return sites


def _offsets(xy: FloatArray, rng: np.random.Generator) -> FloatArray:
    """24 candidate positions around ``xy``: 12 directions at a near and a far distance."""
    ang = rng.uniform(0, 2 * math.pi) + np.arange(12) * (2 * math.pi / 12)
    rads = []
    for r in (rng.uniform(80, 250), rng.uniform(250, 650)):
        rads.append(np.column_stack([r * np.cos(ang), r * np.sin(ang)]))
    return xy + np.vstack(rads)


def _isolated_tracks(county: County, sites: list[dict[str, Any]]) -> None:
    """A short track, connected to nothing, beside each isolated site (added to the ways)."""
    rng, L = county.rng, county.side_m
    for st in sites:
        if st["kind"] != "isolated":
            continue
        a0 = rng.uniform(0, 2 * math.pi)
        start = st["xy"] + rng.uniform(120.0, 220.0) * np.array([math.cos(a0), math.sin(a0)])
        length = rng.uniform(550.0, 850.0)
        th = a0 + rng.uniform(-0.6, 0.6)
        n_seg = 6
        pts = [start]
        for _ in range(n_seg):
            th += rng.uniform(-0.35, 0.35)
            pts.append(pts[-1] + length / n_seg * np.array([math.cos(th), math.sin(th)]))
        xy = np.clip(np.array(pts), 50.0, L - 50.0)
        county.ways.append(Way(xy, {"highway": "track", "tracktype": "grade4",
                                    "surface": "dirt"}, [None] * len(xy)))


def _populations(rng: np.random.Generator, sites: list[dict[str, Any]]) -> None:
    """Sizes echoing Baoshan 2021: most < 1,000, a few 1,000–10,000, one > 10,000."""
    n = len(sites)
    regular = [i for i, s in enumerate(sites) if s["kind"] in ("seat", "rural")]
    seat = [i for i in regular if sites[i]["kind"] == "seat"]
    rural = [i for i in regular if sites[i]["kind"] == "rural"]
    n_mid = min(len(regular), max(2, round(0.08 * n)))
    n_thr = min(len(regular) - n_mid, max(2, round(0.05 * n)))
    # mid-size: township-seat sites first, then random rural
    mid = seat[:n_mid] + [int(i) for i in rng.permutation(rural)[: max(0, n_mid - len(seat))]]
    left = [i for i in regular if i not in set(mid)]
    thr = [int(i) for i in rng.permutation(left)[:n_thr]]
    mids = [int(rng.integers(3000, 3501)), int(rng.integers(1000, 1301))]
    while len(mids) < len(mid):
        mids.append(int(round(math.exp(rng.uniform(math.log(1300), math.log(9000))))))
    mids = [int(v) for v in rng.permutation(mids[: len(mid)])]
    thrs = [800] if (n >= 20 and n_thr) else []
    while len(thrs) < n_thr:
        thrs.append(int(rng.integers(801, 900)))
    for i, v in zip(mid, mids, strict=True):
        sites[i]["population"] = v
    for i, v in zip(thr, thrs, strict=True):
        sites[i]["population"] = v
    for s in sites:
        if "population" in s:
            continue
        if s["kind"] == "mega":
            s["population"] = int(rng.integers(12000, 15001))
        elif s["kind"] in ("far", "isolated"):
            s["population"] = int(rng.integers(90, 400))
        else:
            s["population"] = int(np.clip(round(rng.lognormal(math.log(330), 0.6)), 45, 790))
    for s in sites:
        pop = s["population"]
        s["households"] = int(min(pop, max(1, round(pop / rng.uniform(3.8, 4.6)))))


def _number_and_name(county: County, sites: list[dict[str, Any]]) -> None:
    """Order the sites (by township, then north to south), number and name them, note them."""
    order = sorted(range(len(sites)), key=lambda i: (sites[i]["town"], -sites[i]["xy"][1],
                                                      sites[i]["xy"][0]))
    county.sites = [sites[i] for i in order]
    width = max(3, len(str(len(county.sites))))
    for k, s in enumerate(county.sites, start=1):
        s["site_id"] = f"SD{k:0{width}d}"
        town = county.towns[s["town"]]
        s["township"] = town.name
        s["county"] = county.county_seats[town.extra["county_idx"]].name
        if s["kind"] == "seat":
            s["name"] = f"{town.name}集镇安置点"
        else:
            s["name"] = f"{s['village']}安置点"
    ids: dict[str, list[str]] = {s["kind"]: [] for s in county.sites}
    for s in county.sites:
        ids[s["kind"]].append(s["site_id"])
    county.notes["far_from_road_site_ids"] = ids.get("far", [])
    county.notes["isolated_track_site_ids"] = ids.get("isolated", [])
    county.notes["site_road_dist_m"] = {s["site_id"]: round(s["road_dist_m"], 1)
                                        for s in county.sites if s["kind"] in ("far", "isolated")}


# ---------------------------------------------------------------------------------------------
# sites.xlsx and sites_truth.csv
# ---------------------------------------------------------------------------------------------


def write_sites(county: County, path: Path, truth_path: Path) -> None:
    """Write the site table ``path`` (GCJ-02) and the true positions ``truth_path`` (WGS84)."""
    from geo.coords import wgs84_to_gcj02

    import openpyxl
    from openpyxl.styles import Font

    xy = np.array([s["xy"] for s in county.sites])
    lon, lat = county.lonlat(xy)
    glon, glat = wgs84_to_gcj02(lon, lat)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "安置点"
    ws.append(list(_HEADERS))
    for c in ws[1]:
        c.font = Font(bold=True)
    for s, gx, gy in zip(county.sites, glon, glat, strict=True):
        ws.append([s["site_id"], s["name"], s["county"], s["township"], s["village"],
                   s["households"], s["population"], "城镇" if s["urban"] else "农村",
                   round(float(gx), 6), round(float(gy), 6), "GCJ-02", s["clinic"]])
    for col, width in zip("ABCDEFGHIJKL", (10, 24, 10, 10, 12, 8, 8, 10, 13, 12, 10, 8),
                          strict=True):
        ws.column_dimensions[col].width = width
    note = wb.create_sheet("说明")
    for line in [
        ["说明", SYNTHETIC_NOTE_ZH],
        ["Note", SYNTHETIC_NOTE],
        ["坐标系", "经度/纬度为 GCJ-02(高德/腾讯)坐标;真实 WGS84 位置见 sites_truth.csv"],
        ["生成器", f"{GENERATOR} v{DEMO_VERSION}"],
        ["参数", county.params_text],
    ]:
        note.append(line)
    note.column_dimensions["A"].width = 10
    note.column_dimensions["B"].width = 90
    wb.properties.creator = f"{GENERATOR} (synthetic)"
    wb.properties.title = "合成演示数据 安置点 (SYNTHETIC)"
    wb.properties.description = SYNTHETIC_NOTE
    wb.properties.created = FIXED_DATETIME
    wb.properties.modified = FIXED_DATETIME
    buf = io.BytesIO()
    wb.save(buf)
    _write_zip_deterministic(buf.getvalue(), path)
    with open(truth_path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["site_id", "lon", "lat"])
        for s, a, b in zip(county.sites, lon, lat, strict=True):
            w.writerow([s["site_id"], f"{a:.8f}", f"{b:.8f}"])


def _write_zip_deterministic(data: bytes, path: Path) -> None:
    """Rewrite an xlsx (zip) with fixed member timestamps and core-property dates."""
    fixed = FIXED_DATETIME.strftime("%Y-%m-%dT%H:%M:%SZ")
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(path, "w") as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                text = body.decode("utf-8")
                text = re.sub(r"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)",
                              rf"\g<1>{fixed}\g<2>", text)
                body = text.encode("utf-8")
            zi = zipfile.ZipInfo(info.filename, date_time=_ZIP_DATE)
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = info.external_attr
            dst.writestr(zi, body)
