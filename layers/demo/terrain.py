"""The demo relief: a drawn river network and the valleys it carves (SYNTHETIC DATA).

Rivers (main rivers, tributaries, their branches and gullies) are grown by a seeded random
walk that keeps clear of the rivers already drawn; each carries a bed elevation, a
valley-floor half width and a valley-side slope.  :meth:`Terrain.make_macro` turns them into
a coarse elevation field (the lower envelope of valley-side cones) and :meth:`Terrain.grid`
adds fractal gradient noise on any grid.  Coordinates are local metres from the south-west
corner of the square.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import sparse
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from layers.demo.noise import FloatArray, mix64, perlin_grid

__all__ = ["LEVELS", "Level", "Occupancy", "River", "Terrain"]



@dataclass
class River:
    """One river: its centre line and the valley it carves (local metres)."""

    rid: int
    order: int
    parent: int
    xy: FloatArray  # (n, 2) local metres, mouth -> source
    bed_m: FloatArray
    floor_m: FloatArray
    side: FloatArray  # tangent of the valley-side slope

    @property
    def arc_m(self) -> FloatArray:
        """Distance (m) along the river from the mouth, at each point of ``xy``."""
        d = np.hypot(*np.diff(self.xy, axis=0).T)
        return np.concatenate([[0.0], np.cumsum(d)])


class Occupancy:
    """Coarse grid remembering which river passes through each cell."""

    def __init__(self, size_m: float, cell_m: float = 100.0, pad_m: float = 1000.0) -> None:
        self.cell = cell_m
        self.pad = pad_m
        n = int(math.ceil((size_m + 2 * pad_m) / cell_m)) + 1
        self.grid = np.full((n, n), -1, dtype=np.int32)

    def _idx(self, xy: FloatArray) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        n = self.grid.shape[0]
        ij = np.floor((np.asarray(xy) + self.pad) / self.cell).astype(np.int64)
        return np.clip(ij[..., 1], 0, n - 1), np.clip(ij[..., 0], 0, n - 1)

    def mark(self, xy: FloatArray, rid: int) -> None:
        r, c = self._idx(xy)
        free = self.grid[r, c] < 0
        self.grid[r[free], c[free]] = rid

    def conflict(self, p: FloatArray, radius_m: float, own: int, parent: int,
                 junction: FloatArray, junction_r_m: float) -> bool:
        """True if another river passes within ``radius_m`` of ``p``.

        Cells of ``parent`` within ``junction_r_m`` of the ``junction`` do not count.
        """
        n = self.grid.shape[0]
        r = min(max(int((p[1] + self.pad) // self.cell), 0), n - 1)
        c = min(max(int((p[0] + self.pad) // self.cell), 0), n - 1)
        k = int(math.ceil(radius_m / self.cell))
        r0, c0 = max(0, r - k), max(0, c - k)
        w = self.grid[r0: r + k + 1, c0: c + k + 1]
        bad = (w >= 0) & (w != own)
        if not bad.any():
            return False
        yy = (np.arange(r0, r0 + w.shape[0]) + 0.5) * self.cell - self.pad
        xx = (np.arange(c0, c0 + w.shape[1]) + 0.5) * self.cell - self.pad
        bad &= (xx[None, :] - p[0]) ** 2 + (yy[:, None] - p[1]) ** 2 <= radius_m**2
        near_j = ((xx[None, :] - junction[0]) ** 2 + (yy[:, None] - junction[1]) ** 2
                  <= junction_r_m**2)
        bad &= ~((w == parent) & near_j)
        return bool(bad.any())


@dataclass(frozen=True)
class Level:
    """How the rivers of one branching level look."""

    spacing_m: tuple[float, float]  # distance between junctions along the parent
    clearance_m: float  # stop growing this close to another river
    min_len_m: float
    max_len_m: tuple[float, float]
    gradient: tuple[float, float]  # bed rise per metre of length
    floor_m: tuple[float, float]  # valley-floor half width at the mouth
    side_deg: tuple[float, float]  # valley-side slope
    wiggle_deg: tuple[float, float]


_BED_MAX_M = 2250.0  # valley beds approach this elevation softly

LEVELS: dict[int, Level] = {
    # level 2: tributaries of the main river; 3: their branches; 4: gullies of everything
    2: Level((3000.0, 5000.0), 900.0, 1000.0, (8000.0, 25000.0), (0.02, 0.04),
             (50.0, 120.0), (25.0, 30.0), (5.0, 12.0)),
    3: Level((2200.0, 3800.0), 650.0, 800.0, (2500.0, 10000.0), (0.035, 0.07),
             (25.0, 60.0), (25.0, 31.0), (6.0, 14.0)),
    4: Level((900.0, 1600.0), 380.0, 400.0, (800.0, 2800.0), (0.09, 0.18),
             (8.0, 25.0), (24.0, 31.0), (8.0, 16.0)),
}


class Terrain:
    """Rivers, the macro relief they carve, and the fractal detail on top."""

    def __init__(self, rng: np.random.Generator, size_m: float, x0: float, y0: float,
                 res_m: float, seed: int) -> None:
        self.rng = rng
        self.size = size_m
        self.x0 = x0
        self.y0 = y0
        self.res = res_m
        self.key = int(mix64(np.array([seed], dtype=np.uint64))[0])
        self.rivers: list[River] = []
        self.basins: list[tuple[int, int]] = []  # (river id, point index) of county seats
        self.occ = Occupancy(size_m)

    # -- rivers -----------------------------------------------------------------------------

    def make_rivers(self, n_county: int) -> None:
        """Draw the main rivers, a basin per county seat, then three levels of branches."""
        rng, L = self.rng, self.size
        n_main = max(1, round(L / 40000.0))
        step = 100.0
        for k in range(n_main):
            strip = L / n_main
            u0 = (k + 0.5) * strip + rng.uniform(-0.08, 0.08) * strip
            vs = np.arange(-800.0, L + 800.0, step)
            a = 0.05 * min(strip, 60000.0)
            u = np.full_like(vs, u0)
            for amp, lam in ((rng.uniform(0.6, 1.0) * a, rng.uniform(9e3, 16e3)),
                             (rng.uniform(0.2, 0.35) * a, rng.uniform(4e3, 7e3)),
                             (rng.uniform(0.05, 0.1) * a, rng.uniform(1.8e3, 3e3))):
                u += amp * np.sin(2 * math.pi * vs / lam + rng.uniform(0, 2 * math.pi))
            u = np.clip(u, k * strip + 0.15 * strip, (k + 1) * strip - 0.15 * strip)
            xy = np.column_stack([u, vs])
            arc = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(xy, axis=0).T))])
            z_mouth = rng.uniform(730.0, 800.0)
            drop = min(rng.uniform(0.008, 0.012) * arc[-1], 550.0)
            bed = z_mouth + drop * (arc / arc[-1]) ** 1.3
            floor = np.full_like(arc, rng.uniform(180.0, 260.0))
            side = np.full_like(arc, math.tan(math.radians(rng.uniform(27.0, 31.0))))
            r = River(len(self.rivers), 1, -1, xy, bed, floor, side)
            self.rivers.append(r)
            self.occ.mark(xy, r.rid)
        self._make_basins(n_county)
        mains = list(self.rivers)
        for parent in mains:
            self._spawn(parent, 2)
        for parent in [r for r in self.rivers if r.order == 2]:
            self._spawn(parent, 3)
        for parent in [r for r in self.rivers if r.order == 3]:  # branches of branches
            self._spawn(parent, 3)
        for parent in list(self.rivers):
            self._spawn(parent, 4)

    def _make_basins(self, n_county: int) -> None:
        """Widen the main valley floor into a basin (坝子) at each county seat."""
        rng, L = self.rng, self.size
        centre = np.array([L / 2, L / 2])
        main0 = self.rivers[0]
        inside = np.all((main0.xy > 0.2 * L) & (main0.xy < 0.8 * L), axis=1)
        d = np.hypot(*(main0.xy - centre).T) + np.where(inside, 0.0, 1e12)
        arc0 = main0.arc_m
        i0 = int(np.argmin(d))
        # shift the basin along the river by up to 10 % of the size
        target = arc0[i0] + rng.uniform(-0.1, 0.1) * L
        i0 = int(np.argmin(np.abs(arc0 - target)))
        if not (0.15 * L < main0.xy[i0, 1] < 0.85 * L):
            i0 = int(np.argmin(d))
        chosen: list[tuple[int, int]] = [(0, i0)]
        if n_county > 1:
            spacing = 0.6 * math.sqrt(L * L / n_county)
            cands = [(r.rid, i) for r in self.rivers for i in range(0, len(r.xy), 5)
                     if 3000 < r.xy[i, 0] < L - 3000 and 3000 < r.xy[i, 1] < L - 3000]
            order = rng.permutation(len(cands))
            while len(chosen) < n_county and spacing > 1000:
                for j in order:
                    rid, i = cands[j]
                    p = self.rivers[rid].xy[i]
                    if all(np.hypot(*(p - self.rivers[a].xy[b])) >= spacing for a, b in chosen):
                        chosen.append((rid, i))
                        if len(chosen) == n_county:
                            break
                spacing *= 0.8
        for rid, i in chosen:
            r = self.rivers[rid]
            arc = r.arc_m
            amp = rng.uniform(1300.0, 1800.0)
            sigma = rng.uniform(1800.0, 2500.0)
            r.floor_m = r.floor_m + amp * np.exp(-0.5 * ((arc - arc[i]) / sigma) ** 2)
            # a basin is nearly level: flatten the bed gradient around it
            w = np.exp(-0.5 * ((arc - arc[i]) / (1.5 * sigma)) ** 2)
            r.bed_m = r.bed_m * (1 - 0.6 * w) + r.bed_m[i] * 0.6 * w
            r.bed_m = np.maximum.accumulate(r.bed_m)
        self.basins = chosen

    def _spawn(self, parent: River, order: int) -> None:
        rng, L = self.rng, self.size
        lv = LEVELS[order]
        spacing = lv.spacing_m
        if parent.order == 1 and order == 4:
            spacing = (1500.0, 2500.0)
        arc = parent.arc_m
        s = rng.uniform(0.3, 1.0) * spacing[0]
        side_sign = 1.0 if rng.random() < 0.5 else -1.0
        while s < arc[-1]:
            j = int(np.searchsorted(arc, s))
            j = min(max(j, 1), len(arc) - 2)
            p0 = parent.xy[j]
            if -200 < p0[0] < L + 200 and -200 < p0[1] < L + 200:
                down = parent.xy[j - 1] - parent.xy[j + 1]
                up_ang = math.atan2(-down[1], -down[0])
                heading = up_ang + side_sign * math.radians(rng.uniform(50.0, 85.0))
                self._grow(parent, order, j, heading, lv)
            s += rng.uniform(*spacing)
            if rng.random() < 0.75:
                side_sign = -side_sign

    def _grow(self, parent: River, order: int, j: int, heading: float, lv: Level) -> None:
        rng, L = self.rng, self.size
        step = 100.0
        rid = len(self.rivers)
        max_len = rng.uniform(*lv.max_len_m)
        waves = [(math.radians(rng.uniform(*lv.wiggle_deg)),
                  rng.uniform(0.25, 0.6) * max_len + 500, rng.uniform(0, 2 * math.pi))
                 for _ in range(3)]
        base = sum(a * math.sin(ph) for a, _, ph in waves)
        pts = [parent.xy[j].copy()]
        s = 0.0
        while s < max_len:
            th = heading - base + sum(a * math.sin(2 * math.pi * s / lam + ph)
                                      for a, lam, ph in waves)
            p = pts[-1] + step * np.array([math.cos(th), math.sin(th)])
            if not (-400 < p[0] < L + 400 and -400 < p[1] < L + 400):
                pts.append(p)
                s += step
                break
            if self.occ.conflict(p, lv.clearance_m, rid, parent.rid, pts[0], 2.2 * lv.clearance_m):
                break
            pts.append(p)
            s += step
        if s < lv.min_len_m:
            return
        xy = np.array(pts)
        arc = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(xy, axis=0).T))])
        t = np.clip(arc / max_len, 0.0, 1.0)
        g = rng.uniform(*lv.gradient)
        raw = parent.bed_m[j] + 2.0 + g * arc * (1 + 0.8 * t)
        bed = _BED_MAX_M - 150.0 * np.logaddexp(0.0, (_BED_MAX_M - raw) / 150.0)
        floor = rng.uniform(*lv.floor_m) * (1 - 0.6 * t)
        if order == 2 and rng.random() < 0.35:  # a small basin (坝子) along the valley
            c = rng.uniform(0.15, 0.5) * arc[-1]
            floor = floor + rng.uniform(300.0, 650.0) * np.exp(
                -0.5 * ((arc - c) / rng.uniform(600.0, 1100.0)) ** 2)
        side = math.tan(math.radians(rng.uniform(*lv.side_deg))) * (1 + 0.2 * t)
        r = River(rid, order, parent.rid, xy, bed, floor, side)
        self.rivers.append(r)
        self.occ.mark(xy[1:], rid)

    def make_macro(self, cell_m: float) -> None:
        """Macro relief (elevation, height above the valley bed) on a coarse grid.

        The relief is the lower envelope of cones of valley-side slope standing on every
        river's bed and flat valley floor: ``E(p) = min_i (bed_i + s * geodesic(p, floor_i))``,
        solved as a shortest-path (eikonal) problem on a 16-neighbour grid, then capped
        softly at the ridge level.  Being a distance field it is continuous everywhere (no
        cliffs where the valleys of two rivers meet).
        """
        L = self.size
        n = int(math.ceil(L / cell_m))
        self.m_cell = cell_m
        c = (np.arange(n) + 0.5) * cell_m
        uu, vv = np.meshgrid(c, c)
        pts = np.column_stack([uu.ravel(), vv.ravel()])
        xy = np.concatenate([r.xy for r in self.rivers])
        bed = np.concatenate([r.bed_m for r in self.rivers])
        floor = np.concatenate([r.floor_m for r in self.rivers])
        side = np.concatenate([r.side for r in self.rivers])
        d, i = cKDTree(xy).query(pts)
        mod = 1.0 + 0.22 * perlin_grid(self.x0 + c, self.y0 + c, 11000.0, self.key + 11).ravel()
        s_cell = side[i] * mod
        src = np.flatnonzero(d <= np.maximum(floor[i], 0.75 * cell_m))
        N = n * n
        idx = np.arange(N, dtype=np.int32).reshape(n, n)
        rows, cols, w = [], [], []
        for di, dj in ((0, 1), (1, 0), (1, 1), (1, -1), (1, 2), (2, 1), (1, -2), (2, -1)):
            a = idx[0: n - di, max(0, -dj): n - max(0, dj)].ravel()
            b = idx[di: n, max(0, dj): n - max(0, -dj)].ravel()
            rows.append(a)
            cols.append(b)
            w.append((cell_m * math.hypot(di, dj) * 0.5) * (s_cell[a] + s_cell[b]))
        # a super source joined to every valley-floor cell by an edge of its bed elevation
        # (undirected is fine: a shortest path from the super source never passes it again)
        rows.append(np.full(len(src), N, dtype=np.int32))
        cols.append(src.astype(np.int32))
        w.append(bed[i[src]])
        g = sparse.coo_array((np.concatenate(w), (np.concatenate(rows), np.concatenate(cols))),
                             shape=(N + 1, N + 1))
        del rows, cols, w
        g = g.tocsr()
        e, pred = dijkstra(g, directed=False, indices=N, return_predecessors=True)
        del g
        e = e[:N]
        # the floor cell each cell drains to: pointer jumping up the shortest-path tree
        root = pred[:N].astype(np.int64)
        root[src] = src
        for _ in range(64):
            nxt = root[root]
            if np.array_equal(nxt, root):
                break
            root = nxt
        bed_root = bed[i[root]]
        cap = 2650.0 + 200.0 * perlin_grid(self.x0 + c, self.y0 + c, 15000.0,
                                            self.key + 12).ravel()
        k = 140.0
        e = -k * np.logaddexp(-e / k, -cap / k)
        self.macro_e = e.reshape(n, n)  # rows: v ascending (south -> north)
        self.macro_h = np.maximum(e - bed_root, 0.0).reshape(n, n)

    def _interp(self, field_: FloatArray, us: FloatArray, vs: FloatArray) -> FloatArray:
        n = field_.shape[0]
        fx = us / self.m_cell - 0.5
        fy = vs / self.m_cell - 0.5
        ix = np.clip(np.floor(fx).astype(np.int64), 0, n - 2)
        iy = np.clip(np.floor(fy).astype(np.int64), 0, n - 2)
        wx = np.clip(fx - ix, 0.0, 1.0)[None, :]
        wy = np.clip(fy - iy, 0.0, 1.0)[:, None]
        r0, r1 = iy[:, None], iy[:, None] + 1
        c0, c1 = ix[None, :], ix[None, :] + 1
        top = field_[r0, c0] * (1 - wx) + field_[r0, c1] * wx
        bot = field_[r1, c0] * (1 - wx) + field_[r1, c1] * wx
        return top * (1 - wy) + bot * wy

    def grid(self, us: FloatArray, vs: FloatArray, *, min_wavelength_m: float
             ) -> tuple[FloatArray, FloatArray]:
        """Elevation and height above the valley bed (m) on the grid ``vs × us`` (local m)."""
        e = self._interp(self.macro_e, us, vs)
        h = self._interp(self.macro_h, us, vs)
        mask = np.clip(h / 150.0, 0.0, 1.0)
        mask = mask * mask * (3 - 2 * mask)
        detail = np.zeros_like(e)
        lam, k = 3200.0, 0
        while lam >= min_wavelength_m:
            amp = 170.0 * (lam / 3200.0) ** 0.9
            detail += amp * perlin_grid(self.x0 + us, self.y0 + vs, lam, self.key + 100 + k)
            lam /= 2.0
            k += 1
        return e + mask * detail, h
