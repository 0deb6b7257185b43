"""Settlements of the demo county: seats, site anchors, villages, upland hamlets, townships.

:func:`place_settlements` picks, on the cells of the routing grid, the county seats (in the
basins), the township seats, the remote special places (far from any road, or served by an
isolated track), the anchors of the regular relocation sites, the other villages and the
upland origin villages (迁出地), and names them all; :func:`townships_frame` turns the
township seats into the ``townships`` layer (their Voronoi cells).  All SYNTHETIC DATA.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import shapely
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from layers.demo.county import County, FloatArray, Place

__all__ = ["Candidates", "SiteBudget", "place_settlements", "spread_pick", "townships_frame",
           "village_names"]

# Real county names of Baoshan (the first is the demo county) and real township names of
# Shidian; the places, people and facilities attached to them here are invented.
_COUNTY_NAMES = ("施甸县", "隆阳区", "龙陵县", "昌宁县", "腾冲市")
_TOWNSHIP_NAMES = ("甸阳镇", "由旺镇", "仁和镇", "姚关镇", "太平镇",
                   "酒房乡", "水长乡", "木老元乡", "摆榔乡", "何元乡")
_NAME_A = tuple("大小上下新老中石松龙白黑红青木水山岩竹茶麻油杨李张何罗蒋平长团兴和安福乌凤鹿金")
_NAME_B = tuple("河坝坡箐寨田沟塘岭营冲坪林湾桥洼窝厂山庄地")


def place_settlements(county: County) -> None:
    """Choose and name every settlement of ``county`` (its settlement fields)."""
    cand = candidate_cells(county)
    used_names: set[str] = set()
    county.county_seats = _county_seats(county, cand, used_names)
    county.towns = _township_seats(county, cand, used_names)
    county.town_xy = np.array([t.xy for t in county.towns])
    budget = SiteBudget.of(county)
    county.specials = _remote_places(county, cand, budget)
    vok = _clear_of(county.specials, cand.vxy, 1000.0)
    county.seat_sites = _seat_site_anchors(county, cand, vok, budget.n_seat_sites)
    county.rural, county.villages = _rural_anchors_and_villages(county, cand.vxy[vok],
                                                                budget.n_rural)
    county.origins = _origins(county, cand)
    _name_places(county, used_names)
    county.n_mega = budget.n_mega


# ---------------------------------------------------------------------------------------------
# Where settlements may go, and how many sites of each kind
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidates:
    """Routing-grid cells as flat arrays (row-major), and the valley cells among them."""

    xy: FloatArray  # (n * n, 2) cell centres, local m
    slope_deg: FloatArray
    height_m: FloatArray  # above the valley bed
    elev_m: FloatArray
    inner: NDArray[np.bool_]  # not too near the edge of the square
    roomy: FloatArray  # share of flat low cells in the 5 × 5 cells around
    vidx: NDArray[np.intp]  # the valley cells
    vxy: FloatArray  # their centres


def candidate_cells(county: County) -> Candidates:
    """The cells of ``county``'s routing grid, with the valley cells picked out."""
    from scipy.ndimage import uniform_filter

    g, L = county.grid, county.side_m
    n = g.n
    ii, jj = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    xy_all = np.column_stack([g.centres_m[jj.ravel()], g.centres_m[ii.ravel()]])
    slope = g.slope_deg.ravel()
    h = g.height_m.ravel()
    inset = min(400.0, 0.05 * L)
    inner = np.all((xy_all > inset) & (xy_all < L - inset), axis=1)
    elev = g.elev_m.ravel()
    valley = inner & (slope < 10.0) & (h < 40.0) & (elev < 2150.0)
    if valley.sum() < 4 * (county.n_sites + county.n_town):
        valley = inner & (slope < 16.0) & (h < 120.0)
    roomy = uniform_filter(((g.slope_deg < 8) & (g.height_m < 30)).astype(float),
                           size=5).ravel()
    vidx = np.flatnonzero(valley)
    return Candidates(xy_all, slope, h, elev, inner, roomy, vidx, xy_all[vidx])


@dataclass(frozen=True)
class SiteBudget:
    """How many relocation sites of each kind the county gets."""

    n_mega: int  # in the county towns
    n_iso: int  # served only by an isolated track
    n_far: int  # far from any road
    n_seat_sites: int  # beside a township seat (集镇安置点)
    n_rural: int

    @classmethod
    def of(cls, county: County) -> SiteBudget:
        """The budget of ``county`` (whose seats and townships are placed)."""
        n, L = county.n_sites, county.side_m
        n_mega = min(len(county.county_seats), n)
        rest = n - n_mega
        n_iso = 0 if rest < 3 else max(1, n // 150)
        rest -= n_iso
        if n >= 20 and L >= 20000:
            n_far = max(2, round(0.025 * n))
        else:
            n_far = 1 if rest >= 4 else 0
        rest -= n_far
        n_seat_sites = min(len(county.towns) - len(county.county_seats), max(rest, 0))
        n_rural = max(rest - n_seat_sites, 0)
        return cls(n_mega, n_iso, n_far, n_seat_sites, n_rural)


# ---------------------------------------------------------------------------------------------
# Seats
# ---------------------------------------------------------------------------------------------


def _county_seats(county: County, cand: Candidates, used_names: set[str]) -> list[Place]:
    """A county seat in each basin of the terrain, on the flattest valley cell near it."""
    slope, vidx, vxy = cand.slope_deg, cand.vidx, cand.vxy
    seats: list[Place] = []
    for k, (rid, i) in enumerate(county.terrain.basins):
        p = county.terrain.rivers[rid].xy[i]
        d = np.hypot(*(vxy - p).T)
        near = d < 1800
        if not near.any():
            near = d <= d.min() + 1.0
        score = np.where(near, slope[vidx] + 0.002 * np.abs(d - 500.0), np.inf)
        best = vidx[int(np.argmin(score))]
        name = _COUNTY_NAMES[k] if k < len(_COUNTY_NAMES) else None
        seats.append(Place("county_seat", cand.xy[best], name=name or "",
                           extra={"county_idx": k}))
    for s in seats:
        if not s.name:
            s.name = village_names(county.rng, 1, used_names)[0][:2] + "县"
        used_names.add(s.name)
    return seats


def _township_seats(county: County, cand: Candidates, used_names: set[str]) -> list[Place]:
    """Township seats (the county seats first: they are township seats too), named."""
    rng, L, seats = county.rng, county.side_m, county.county_seats
    vidx, vxy = cand.vidx, cand.vxy
    n_more = county.n_town - len(seats)
    spacing = 0.6 * math.sqrt(L * L / county.n_town)
    inset_t = min(2000.0, 0.08 * L)
    deep = np.all((vxy > inset_t) & (vxy < L - inset_t), axis=1)
    pick = spread_pick(vxy, n_more, spacing, rng,
                       priority=cand.roomy[vidx] - cand.elev_m[vidx] / 4000.0 - 10.0 * ~deep,
                       taken=[s.xy for s in seats], floor_dist=min(1500.0, L / 8))
    towns: list[Place] = []
    for k, s in enumerate(seats):
        towns.append(Place("township_seat", s.xy,
                           extra={"county_idx": k, "is_county_seat": True}))
    for i in pick:
        towns.append(Place("township_seat", vxy[i], extra={"is_county_seat": False}))
    # county of each township: nearest county seat
    cs = np.array([s.xy for s in seats])
    for t in towns:
        t.extra["county_idx"] = int(np.argmin(np.hypot(*(cs - t.xy).T)))
    _name_townships(county, towns, used_names)
    return towns


def _name_townships(county: County, towns: list[Place], used_names: set[str]) -> None:
    """Real Shidian names in the demo county, 城关镇 for the other seats, invented ones else."""
    rng, seats = county.rng, county.county_seats
    real = list(_TOWNSHIP_NAMES)
    names: list[str] = []
    for k, t in enumerate(towns):
        if k == 0:
            names.append(real.pop(0))
        elif t.extra["is_county_seat"]:
            names.append(seats[t.extra["county_idx"]].name[:2] + "城关镇")
        elif real and t.extra["county_idx"] == 0:
            names.append(real.pop(0))
        else:
            base = village_names(rng, 1, used_names)[0][:2]
            names.append(base + ("镇" if rng.random() < 0.6 else "乡"))
    for t, nm in zip(towns, names, strict=True):
        t.name = nm


# ---------------------------------------------------------------------------------------------
# Sites, villages and hamlets
# ---------------------------------------------------------------------------------------------


def _remote_places(county: County, cand: Candidates, budget: SiteBudget) -> list[Place]:
    """Remote special places: far from any road (far) or served by an isolated track."""
    rng = county.rng
    specials: list[Place] = []
    main_xy = np.concatenate([r.xy for r in county.terrain.rivers if r.order == 1])
    main_tree = cKDTree(main_xy)
    town_tree = cKDTree(county.town_xy)
    for kind, count, radius in (("far", budget.n_far, 2800.0), ("isolated", budget.n_iso, 1500.0)):
        if count == 0:
            continue
        cand_mask = cand.inner & (cand.slope_deg < 14.0) & (cand.height_m < 80.0)
        cidx = np.flatnonzero(cand_mask)
        cxy = cand.xy[cidx]
        d_main = main_tree.query(cxy)[0]
        d_town = town_tree.query(cxy)[0]
        d_spec = (cKDTree(np.array([s.xy for s in specials])).query(cxy)[0]
                  if specials else np.full(len(cxy), np.inf))
        ok = (d_main > radius + 400) & (d_town > radius + 1200) & (d_spec > radius + 3000)
        if not ok.any():
            ok = (d_main > radius + 100) & (d_town > radius + 300) & (d_spec > radius + 2000)
        cidx, cxy = cidx[ok], cxy[ok]
        if len(cidx) == 0:
            continue
        remoteness = np.minimum(d_town, 3 * d_main)
        pick = spread_pick(cxy, count, 2 * radius + 3000, rng, priority=remoteness[ok],
                           taken=[s.xy for s in specials], floor_dist=2 * radius + 500)
        for i in pick:
            specials.append(Place(kind, cxy[i], extra={"radius": radius}))
    return specials


def _clear_of(specials: Sequence[Place], xy: FloatArray, margin: float) -> NDArray[np.bool_]:
    """Points of ``xy`` farther than its radius + ``margin`` from every special place."""
    spec_r = np.array([s.extra["radius"] for s in specials]) if specials else np.zeros(0)
    ok = np.ones(len(xy), dtype=bool)
    for s, r in zip(specials, spec_r, strict=True):
        ok &= np.hypot(*(xy - s.xy).T) > r + margin
    return ok


def _seat_site_anchors(county: County, cand: Candidates, vok: NDArray[np.bool_],
                       n_seat_sites: int) -> list[Place]:
    """Anchors of the township-seat sites: a flat valley cell 450–1,600 m from the seat."""
    rng = county.rng
    vxy2 = cand.vxy[vok]
    seat_sites: list[Place] = []
    non_seat = [t for t in county.towns if not t.extra["is_county_seat"]]
    for t in non_seat[:n_seat_sites]:
        d = np.hypot(*(vxy2 - t.xy).T)
        ring = (d > 450) & (d < 1600)
        if not ring.any():
            ring = d > 300
        score = np.where(ring, cand.slope_deg[cand.vidx][vok] + rng.uniform(0, 2, len(d)), np.inf)
        i = int(np.argmin(score))
        seat_sites.append(Place("site", vxy2[i], extra={"seat_site": True, "town": t}))
    return seat_sites


def _rural_anchors_and_villages(county: County, vxy2: FloatArray, n_rural: int
                                ) -> tuple[list[Place], list[Place]]:
    """Anchors of the rural sites, and the other villages (clinics, schools, committees)."""
    rng, L, n = county.rng, county.side_m, county.n_sites
    taken = [s.xy for s in county.seat_sites] + [t.xy for t in county.towns]
    site_spacing = float(np.clip(0.5 * math.sqrt(L * L / max(n, 1)), 600.0, 2500.0))
    pick = spread_pick(vxy2, n_rural, site_spacing, rng, taken=taken, floor_dist=150.0)
    rural = [Place("site", vxy2[i], extra={"seat_site": False}) for i in pick]
    while len(rural) < n_rural:  # crowded: share anchors, offsets differ later
        i = int(rng.integers(len(vxy2)))
        rural.append(Place("site", vxy2[i], extra={"seat_site": False}))
    n_vill = max(3, n // 2)
    taken += [s.xy for s in rural]
    pick = spread_pick(vxy2, n_vill, site_spacing * 0.8, rng, taken=taken, floor_dist=300.0)
    return rural, [Place("village", vxy2[i]) for i in pick]


def _origins(county: County, cand: Candidates) -> list[Place]:
    """Upland origin villages (迁出地), where the out-migration parcels lie."""
    slope, h, inner, xy_all = cand.slope_deg, cand.height_m, cand.inner, cand.xy
    up = (inner & (h > 200.0) & (slope > 8.0) & (slope < 35.0)
          & _clear_of(county.specials, xy_all, 300.0))
    uidx = np.flatnonzero(up)
    if len(uidx) < 10:
        uidx = np.flatnonzero(inner & (h > 60.0))
    n_origin = max(4, int(round(0.6 * county.n_sites)))
    pick = spread_pick(xy_all[uidx], n_origin, 1500.0, county.rng, floor_dist=200.0)
    return [Place("origin", xy_all[uidx[i]]) for i in pick]


def _name_places(county: County, used_names: set[str]) -> None:
    """Village names (…村) for rural anchors, villages and special places, 社区 at seats."""
    rng, rural, villages = county.rng, county.rural, county.villages
    names_v = village_names(rng, len(rural) + len(villages), used_names)
    for p, nm in zip(rural + villages, names_v, strict=True):
        p.name = nm + "村"
    for p, nm in zip(county.origins, village_names(rng, len(county.origins), used_names),
                     strict=True):
        p.name = nm
    names_s = village_names(rng, len(county.specials), used_names)
    for p, nm in zip(county.specials, names_s, strict=True):
        p.name = nm + "村"
    for p in county.seat_sites:
        p.name = p.extra["town"].name[:-1] + "社区"


# ---------------------------------------------------------------------------------------------
# Shared helpers and the townships layer
# ---------------------------------------------------------------------------------------------


def spread_pick(
    cand: FloatArray,
    n: int,
    min_dist: float,
    rng: np.random.Generator,
    *,
    priority: FloatArray | None = None,
    taken: Sequence[FloatArray] = (),
    floor_dist: float = 100.0,
) -> list[int]:
    """Greedy Poisson-disc choice of ``n`` candidate indices at least ``min_dist`` apart.

    The spacing is relaxed (× 0.8) until ``n`` are chosen or it falls below ``floor_dist``;
    points in ``taken`` also keep that distance.
    """
    if n <= 0 or len(cand) == 0:
        return []
    order = (np.argsort(-(priority + rng.uniform(0, 1e-6, len(cand))), kind="stable")
             if priority is not None else rng.permutation(len(cand)))
    chosen: list[int] = []
    dist = float(min_dist)
    while len(chosen) < n and dist >= floor_dist:
        buckets = _Buckets(dist)
        for p in taken:
            buckets.add(np.asarray(p, dtype=float))
        for i in chosen:
            buckets.add(cand[i])
        chosen_set = set(chosen)
        for i in order:
            if i in chosen_set:
                continue
            p = cand[i]
            if not buckets.near(p):
                chosen.append(int(i))
                chosen_set.add(int(i))
                buckets.add(p)
                if len(chosen) == n:
                    break
        dist *= 0.8
    return chosen


class _Buckets:
    """Points hashed into square cells of the spacing ``dist``, for near-neighbour tests."""

    def __init__(self, dist: float) -> None:
        self.dist = dist
        self.cells: dict[tuple[int, int], list[FloatArray]] = {}

    def add(self, p: FloatArray) -> None:
        key = (int(p[0] // self.dist), int(p[1] // self.dist))
        self.cells.setdefault(key, []).append(p)

    def near(self, p: FloatArray) -> bool:
        """True if a point lies closer than ``dist`` to ``p``."""
        dist = self.dist
        kx, ky = int(p[0] // dist), int(p[1] // dist)
        for dx in (-1, 0, 1):
            for dy in (-1, 0, 1):
                for q in self.cells.get((kx + dx, ky + dy), ()):
                    if (p[0] - q[0]) ** 2 + (p[1] - q[1]) ** 2 < dist * dist:
                        return True
        return False


def village_names(rng: np.random.Generator, n: int, used: set[str]) -> list[str]:
    """``n`` new invented village names (added to ``used``; a number once names run out)."""
    out: list[str] = []
    tries = 0
    while len(out) < n:
        tries += 1
        if tries < 50 * n + 1000:
            name = str(rng.choice(_NAME_A) + rng.choice(_NAME_A + _NAME_B) + rng.choice(_NAME_B))
        else:  # many names: add a number so they stay unique
            name = str(rng.choice(_NAME_A) + rng.choice(_NAME_B)) + f"{len(used) + 1}"
        if name[0] == name[1] or name in used:
            continue
        used.add(name)
        out.append(name)
    return out


def townships_frame(county: County) -> gpd.GeoDataFrame:
    """The ``townships`` layer (EPSG:4326): Voronoi cells of the seats, clipped to the area."""
    L = county.side_m
    box = shapely.box(0.0, 0.0, L, L)
    vor = shapely.voronoi_polygons(shapely.MultiPoint(county.town_xy), extend_to=box,
                                   ordered=True)
    polys = [shapely.segmentize(shapely.intersection(g, box), 500.0)
             for g in shapely.get_parts(vor)]
    return gpd.GeoDataFrame(
        {
            "township": [t.name for t in county.towns],
            "county": [county.county_seats[t.extra["county_idx"]].name for t in county.towns],
        },
        geometry=[county.to_ll_geom(p) for p in polys],
        crs="EPSG:4326",
    )
