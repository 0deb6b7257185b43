"""Roads of the demo county, and ``roads.osm`` (SYNTHETIC DATA).

:func:`lay_roads` lays the network as least-cost paths over the routing grid (slope cost,
scipy Dijkstra), class by class: trunk/primary along the main valleys through the county
seats, primary to the other county seats, secondary/tertiary to township seats, residential
street grids in the seats, unclassified to sites and villages, track/path to the upland
hamlets.  :func:`build_ways` turns the cell routes into smoothed polylines that share nodes
where they meet, and :func:`write_osm` writes them (with a few buildings, a farmland and a
pedestrian square) as OSM XML 0.6.
"""

from __future__ import annotations

import io
import math
from pathlib import Path
from xml.sax.saxutils import quoteattr

import numpy as np
from numpy.typing import NDArray
from scipy import sparse
from scipy.sparse.csgraph import dijkstra

from layers.demo.county import (
    DEMO_VERSION,
    GENERATOR,
    SYNTHETIC_NOTE,
    SYNTHETIC_NOTE_ZH,
    County,
    FloatArray,
    Route,
    Way,
)

__all__ = ["ROAD_TAGS", "RoadNetwork", "build_ways", "lay_roads", "write_osm"]

#: OSM tags of each road class (besides ``highway``, ``name`` and ``ref``).
ROAD_TAGS: dict[str, dict[str, str]] = {
    "trunk": {"lanes": "2", "maxspeed": "60", "surface": "asphalt"},
    "primary": {"lanes": "2", "maxspeed": "60", "surface": "asphalt"},
    "secondary": {"maxspeed": "40", "surface": "asphalt"},
    "tertiary": {"maxspeed": "40", "surface": "asphalt"},
    "unclassified": {"maxspeed": "30", "surface": "concrete"},
    "residential": {"maxspeed": "30", "surface": "asphalt"},
    "track": {"tracktype": "grade3", "surface": "dirt"},
    "path": {"surface": "ground"},
}

_STREET_NAMES = ("人民路", "建设路", "团结路", "文化路", "兴华街", "振兴路", "民族路", "新华街",
                 "幸福路", "育才路", "东风路", "和平街")
_REF_PREFIX = {"trunk": "G", "primary": "S", "secondary": "X", "tertiary": "Y",
               "unclassified": "C"}
_REF_KIND = {"G": "干线", "S": "省道", "X": "县道", "Y": "乡道", "C": "村道"}


def lay_roads(county: County) -> None:
    """Lay the road network of ``county`` (its ``routes``), class by class."""
    net = RoadNetwork(county)
    cell = net.cell
    # 1. trunk / primary along each main river, through the county seat on it
    seat_cells = {cell(s.xy) for s in county.county_seats}
    net.valley_roads()
    # 2. other county seats (primary), then county-town streets
    others = [c for c in seat_cells if not net.on_net[c]]
    if others:
        net.stage(sorted(others), "primary")
    for s in county.county_seats:
        net.street_grid(cell(s.xy), k=2)
    # 3. township seats: 镇 secondary, 乡 tertiary
    tw = [t for t in county.towns if not t.extra["is_county_seat"]]
    cells = [cell(t.xy) for t in tw]
    net.stage(cells, ["secondary" if t.name.endswith("镇") else "tertiary" for t in tw])
    for c in cells:
        if net.on_net[c]:
            net.street_grid(c, k=1)
    # 4. sites and villages: unclassified
    places = county.seat_sites + county.rural + county.villages
    net.stage([cell(p.xy) for p in places], "unclassified")
    # 5. tracks to about half of the upland hamlets, paths to the others
    order = county.rng.permutation(len(county.origins))
    half = len(order) // 2
    for group, hw in ((order[:half], "track"), (order[half:], "path")):
        net.stage([cell(county.origins[i].xy) for i in group], hw)
    county.routes = net.routes


class RoadNetwork:
    """The routes laid so far on ``county``'s routing grid, and the ways to add more.

    Cells within the radius of a special place (far or isolated site) are blocked: no road
    enters them.  ``on_net`` marks the cells a road passes through.
    """

    def __init__(self, county: County) -> None:
        self.county = county
        self.grid = g = county.grid
        n = g.n
        blocked = np.zeros((n, n), dtype=bool)
        ii, jj = np.meshgrid(g.centres_m, g.centres_m, indexing="ij")  # ii: v, jj: u
        for s in county.specials:
            blocked |= np.hypot(jj - s.xy[0], ii - s.xy[1]) < s.extra["radius"]
        self.blocked = blocked.ravel()
        self.graph = self._graph()
        self.on_net = np.zeros(n * n, dtype=bool)
        self.routes: list[Route] = []
        self.short = county.county_seats[0].name[:2]
        self.counters: dict[str, int] = {}

    def cell(self, xy: FloatArray) -> int:
        """The routing-grid cell of one point (local m)."""
        return int(self.grid.cell_of(xy)[0])

    def _graph(self) -> sparse.csr_array:
        """8-neighbour grid graph, edge cost length × (1 + (slope / 9°)²), blocked cells out."""
        n, rc = self.grid.n, self.grid.cell_m
        N = n * n
        cost = 1.0 + (self.grid.slope_deg / 9.0) ** 2
        idx = np.arange(N).reshape(n, n)
        rows, cols, w = [], [], []
        for di, dj in ((0, 1), (1, 0), (1, 1), (1, -1)):
            # pairs (i, j) -> (i + di, j + dj), di in {0, 1}, dj in {-1, 0, 1}
            a = idx[0: n - di, max(0, -dj): n - max(0, dj)].ravel()
            b = idx[di: n, max(0, dj): n - max(0, -dj)].ravel()
            ok = ~(self.blocked[a] | self.blocked[b])
            length = rc * math.hypot(di, dj)
            rows.append(a[ok])
            cols.append(b[ok])
            w.append(length * 0.5 * (cost.ravel()[a[ok]] + cost.ravel()[b[ok]]))
        g = sparse.coo_array((np.concatenate(w), (np.concatenate(rows), np.concatenate(cols))),
                             shape=(N, N))
        return g.tocsr()

    def road_name(self, hw: str) -> tuple[str, str]:
        """Name and ref of the next road of class ``hw`` (``S001`` …); empty for minor ones."""
        prefix = _REF_PREFIX.get(hw)
        if prefix is None:
            return "", ""
        self.counters[hw] = self.counters.get(hw, 0) + 1
        ref = f"{prefix}{self.counters[hw]:03d}"
        return f"{self.short}{_REF_KIND[prefix]}{ref}", ref

    def trace(self, pred: NDArray[np.int32], target: int) -> list[int] | None:
        """Cells from ``target`` back to the network along ``pred``; None if cut off."""
        path = [target]
        node = target
        while not self.on_net[node]:
            node = int(pred[node])
            if node < 0:
                return None
            path.append(node)
        return path

    def add_route(self, path: list[int], hw: str, name: tuple[str, str] | None = None) -> None:
        """Add a traced ``path`` (target first) as a road of class ``hw``."""
        path = path[::-1]  # from the network to the target
        nm, ref = name if name is not None else self.road_name(hw)
        self.routes.append(Route(path, hw, nm, ref))
        self.on_net[path] = True

    def stage(self, targets: list[int], hw: str | list[str]) -> None:
        """Join ``targets`` to the network, nearest first, by roads of class ``hw``."""
        sources = np.flatnonzero(self.on_net)
        dist, pred, _ = dijkstra(self.graph, directed=False, indices=sources, min_only=True,
                                 return_predecessors=True)
        order = np.argsort(dist[targets], kind="stable")
        for k in order:
            t = targets[k]
            if self.on_net[t] or not np.isfinite(dist[t]):
                continue
            p = self.trace(pred, t)
            if p is None:
                continue
            self.add_route(p, hw[k] if isinstance(hw, list) else hw)

    def valley_roads(self) -> None:
        """Trunk (first main river) or primary along each main valley, through its seats."""
        county, cell = self.county, self.cell
        L = county.side_m
        for r in (r for r in county.terrain.rivers if r.order == 1):
            inside = np.flatnonzero(np.all((r.xy > 0) & (r.xy < L), axis=1))
            if len(inside) < 2:
                continue
            a = cell(r.xy[inside[0]])
            b = cell(r.xy[inside[-1]])
            via = [cell(county.county_seats[k].xy)
                   for k, (rid, _) in enumerate(county.terrain.basins) if rid == r.rid]
            hub = via[0] if via else cell(r.xy[inside[len(inside) // 2]])
            hw = "trunk" if r.rid == 0 else "primary"
            if self.on_net.any():  # join this valley to the roads built so far
                self.stage([hub], "primary")
            dist, pred = dijkstra(self.graph, directed=False, indices=hub,
                                  return_predecessors=True)
            self.on_net[hub] = True
            nm = self.road_name(hw)
            for end in (b, a):
                if end == hub or not np.isfinite(dist[end]):
                    continue
                p = self.trace(pred, end)
                if p is not None:
                    self.add_route(p, hw, nm)

    def street_grid(self, centre: int, *, k: int) -> None:
        """Street grid (residential) around ``centre``: 2k+1 streets each way, 2 cells apart."""
        streets = self._street_runs(centre, k)
        # keep only streets connected to the network (repeat as the grid grows)
        added = True
        names = iter(_STREET_NAMES * 10)
        while added:
            added = False
            for s in list(streets):
                if self.on_net[s].any():
                    self.routes.append(Route(s, "residential", next(names), ""))
                    self.on_net[s] = True
                    streets.remove(s)
                    added = True

    def _street_runs(self, centre: int, k: int) -> list[list[int]]:
        """Runs of 2+ open cells (unblocked, slope < 15°) along the grid lines of a street grid."""
        n = self.grid.n
        ci, cj = divmod(centre, n)
        ok = (~self.blocked.reshape(n, n)) & (self.grid.slope_deg < 15.0)
        span = 2 * k
        streets: list[list[int]] = []
        for off in range(-span, span + 1, 2):
            for horizontal in (True, False):
                run: list[int] = []
                for t in range(-span, span + 1):
                    i, j = (ci + off, cj + t) if horizontal else (ci + t, cj + off)
                    if 0 <= i < n and 0 <= j < n and ok[i, j]:
                        run.append(i * n + j)
                    else:
                        if len(run) >= 2:
                            streets.append(run)
                        run = []
                if len(run) >= 2:
                    streets.append(run)
        return streets


# ---------------------------------------------------------------------------------------------
# Ways (geometry of the routes)
# ---------------------------------------------------------------------------------------------


def build_ways(county: County) -> None:
    """Turn ``county``'s cell routes into smoothed polylines (its ``ways``).

    Routes share a node wherever they share a cell (and at their ends); cell centres are
    jittered except on streets, which stay straight.
    """
    g, routes = county.grid, county.routes
    count: dict[int, int] = {}
    for r in routes:
        for c in r.cells:
            count[c] = count.get(c, 0) + 1
    fixed = set(c for c, k in count.items() if k > 1)
    for r in routes:
        fixed.add(r.cells[0])
        fixed.add(r.cells[-1])
    jitter = county.rng.uniform(-0.22, 0.22, (g.n * g.n, 2)) * g.cell_m
    streets = {c for r in routes if r.highway == "residential" for c in r.cells}
    if streets:
        jitter[np.fromiter(streets, dtype=np.int64)] = 0.0
    county.ways = []
    for r in routes:
        cells = r.cells
        xy = g.cell_xy(cells) + jitter[cells]
        pieces: list[FloatArray] = [xy[:1]]
        fixed_flags: list[int | None] = [cells[0]]
        start = 0
        for k in range(1, len(cells)):
            if cells[k] in fixed or k == len(cells) - 1:
                seg: FloatArray = xy[start: k + 1]
                if r.highway != "residential":  # streets stay straight
                    seg = _chaikin(seg)
                inner = _resample_interior(seg, 60.0)
                pieces += [inner, xy[k: k + 1]]
                fixed_flags += [None] * len(inner) + [cells[k]]
                start = k
        tags = {"highway": r.highway, **ROAD_TAGS[r.highway]}
        if r.name:
            tags["name"] = r.name
        if r.ref:
            tags["ref"] = r.ref
        county.ways.append(Way(np.vstack(pieces), tags, fixed_flags))


def _chaikin(p: FloatArray, n_iter: int = 2) -> FloatArray:
    """Chaikin corner cutting of polyline ``p`` (ends kept)."""
    for _ in range(n_iter):
        if len(p) < 3:
            return p
        a, b = p[:-1], p[1:]
        q = 0.75 * a + 0.25 * b
        r = 0.25 * a + 0.75 * b
        mid = np.empty((2 * len(a), 2))
        mid[0::2] = q
        mid[1::2] = r
        p = np.vstack([p[:1], mid[1:-1], p[-1:]])
    return p


def _resample_interior(p: FloatArray, spacing_m: float) -> FloatArray:
    """Points every ~``spacing_m`` strictly between the ends of polyline ``p``."""
    arc = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(p, axis=0).T))])
    n = max(1, int(math.ceil(arc[-1] / spacing_m)))
    t = np.linspace(0.0, arc[-1], n + 1)[1:-1]
    return np.column_stack([np.interp(t, arc, p[:, 0]), np.interp(t, arc, p[:, 1])])


# ---------------------------------------------------------------------------------------------
# roads.osm
# ---------------------------------------------------------------------------------------------


def write_osm(county: County, path: Path) -> None:
    """Write ``county``'s ways and a few non-road ways to ``path`` as OSM XML 0.6 (WGS84)."""
    extras = _osm_extras(county)
    nodes, way_nodes = _osm_nodes(county.ways, extras)
    lon, lat = county.lonlat(np.array(nodes))
    L = county.side_m
    blon, blat = county.lonlat(np.array([[0, 0], [L, 0], [0, L], [L, L]]))
    out = io.StringIO()
    out.write('<?xml version="1.0" encoding="UTF-8"?>\n')
    out.write(f"<!-- {SYNTHETIC_NOTE} -->\n")
    out.write(f"<!-- {SYNTHETIC_NOTE_ZH} -->\n")
    out.write(f'<osm version="0.6" generator="{GENERATOR} v{DEMO_VERSION} (synthetic)">\n')
    out.write(f'  <bounds minlat="{blat.min():.7f}" minlon="{blon.min():.7f}" '
              f'maxlat="{blat.max():.7f}" maxlon="{blon.max():.7f}"/>\n')
    for k in range(len(nodes)):
        out.write(f'  <node id="{k + 1}" version="1" lat="{lat[k]:.7f}" lon="{lon[k]:.7f}"/>\n')
    all_tags = [w.tags for w in county.ways] + [t for _, t in extras]
    for k, (ids, tags) in enumerate(zip(way_nodes, all_tags, strict=True), start=1):
        out.write(f'  <way id="{k}" version="1">\n')
        for nid in ids:
            out.write(f'    <nd ref="{nid}"/>\n')
        for key in sorted(tags):
            out.write(f"    <tag k={quoteattr(key)} v={quoteattr(str(tags[key]))}/>\n")
        out.write("  </way>\n")
    out.write("</osm>\n")
    path.write_bytes(out.getvalue().encode("utf-8"))
    hw: dict[str, int] = {}
    for t in all_tags:
        if "highway" in t:
            hw[t["highway"]] = hw.get(t["highway"], 0) + 1
    county.notes["osm_ways_by_highway"] = dict(sorted(hw.items()))
    county.notes["osm_nodes"] = len(nodes)


def _osm_nodes(ways: list[Way], extras: list[tuple[FloatArray, dict[str, str]]]
               ) -> tuple[list[FloatArray], list[list[int]]]:
    """Node positions (ids 1, 2, …) and each way's node ids; closed rings for ``extras``."""
    node_id: dict[int, int] = {}
    nodes: list[FloatArray] = []
    way_nodes: list[list[int]] = []
    for w in ways:
        ids = []
        for p, f in zip(w.xy, w.fixed, strict=True):
            if f is not None and f in node_id:
                ids.append(node_id[f])
                continue
            nodes.append(p)
            nid = len(nodes)
            if f is not None:
                node_id[f] = nid
            ids.append(nid)
        way_nodes.append(ids)
    for xy, _tags in extras:
        ids = []
        for p in xy[:-1]:
            nodes.append(p)
            ids.append(len(nodes))
        ids.append(ids[0])
        way_nodes.append(ids)
    return nodes, way_nodes


def _osm_extras(county: County) -> list[tuple[FloatArray, dict[str, str]]]:
    """Non-road ways: buildings, farmland, a pedestrian square (closed rings)."""
    rng = county.rng
    c = county.county_seats[0].xy
    out: list[tuple[FloatArray, dict[str, str]]] = []

    def rect(centre: FloatArray, w: float, h: float, th: float) -> FloatArray:
        pts = np.array([[-w, -h], [w, -h], [w, h], [-w, h], [-w, -h]]) / 2
        rot = np.array([[math.cos(th), -math.sin(th)], [math.sin(th), math.cos(th)]])
        return pts @ rot.T + centre

    for _ in range(4):
        p = c + rng.uniform(-250, 250, 2)
        out.append((rect(p, rng.uniform(14, 30), rng.uniform(9, 16), rng.uniform(0, math.pi)),
                    {"building": "yes"}))
    p = c + np.array([rng.uniform(500, 800), rng.uniform(-300, 300)])
    out.append((rect(p, 320.0, 210.0, rng.uniform(0, 0.5)), {"landuse": "farmland"}))
    p = c + rng.uniform(-80, 80, 2)
    out.append((rect(p, 60.0, 40.0, 0.0), {"highway": "pedestrian", "area": "yes",
                                           "name": "幸福广场"}))
    return out
