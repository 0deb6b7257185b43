"""Road paths for the map (geo.paths): the node sequence is networkx's shortest path on the
same graph, and the line's length matches the access table's distance."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import shapely

from anzhi.pipeline import RegionInputs, load_region, route_region
from geo.network import snap_points
from geo.paths import path_lengths_m, road_paths


@pytest.fixture(scope="module")
def demo_routed():  # type: ignore[no-untyped-def]
    data = load_region(RegionInputs.demo())
    graph = data.road_graph("walk")
    access = route_region(data, profile="walk", facility_types=["clinic", "primary_school"],
                          progress=False, graph=graph)
    return data, graph, access


def test_path_follows_networkx_and_measures_like_the_access_table(demo_routed) -> None:  # type: ignore[no-untyped-def]
    data, graph, access = demo_routed
    fac = data.facilities.set_index("facility_id")
    rows = access[(access["facility_type"] == "primary_school") & access["dist_m"].notna()
                  & (access["dist_m"] > 1500)].head(8)
    assert len(rows) >= 5
    g = nx.DiGraph()
    coo = graph.length_m.tocoo()
    g.add_weighted_edges_from(zip(coo.row.tolist(), coo.col.tolist(), coo.data.tolist(), strict=True))
    sites = data.sites.set_index("site_id")
    checked = 0
    for _, r in rows.iterrows():
        s, f = sites.geometry[r["site_id"]], fac.geometry[r["nearest_facility_id"]]
        [line] = road_paths(graph, s.x, s.y, [f.x], [f.y])
        assert line is not None
        # it starts at the site and ends at the facility
        a, b = shapely.get_coordinates(line)[[0, -1]]
        assert a == pytest.approx([s.x, s.y], abs=1e-9) and b == pytest.approx([f.x, f.y], abs=1e-9)
        # its length is the access table's distance (planar metres against great-circle
        # edge lengths, and the legs as the routing walks them: within 1 %)
        got = path_lengths_m([line], graph.crs_metric)[0]
        assert got == pytest.approx(r["dist_m"], rel=0.01, abs=5.0)
        # and its road part follows networkx's shortest path between the joined ends
        snap = snap_points(graph, [s.x, f.x], [s.y, f.y])
        xy = shapely.get_coordinates(line)
        node_xy = np.column_stack([graph.lon, graph.lat])
        at_node = [i for i, p in enumerate(xy) if np.abs(node_xy - p).sum(axis=1).min() < 1e-9]
        assert len(at_node) >= 2
        first, last = (int(np.argmin(np.abs(node_xy - xy[i]).sum(axis=1))) for i in (at_node[0], at_node[-1]))
        ends = {int(graph.pedge_u[e]) for e in snap.edge} | {int(graph.pedge_v[e]) for e in snap.edge}
        assert first in ends and last in ends
        want = nx.shortest_path_length(g, first, last, weight="weight")
        road = shapely.LineString(xy[at_node[0]: at_node[-1] + 1]) if at_node[-1] > at_node[0] else None
        got_road = 0.0 if road is None else path_lengths_m([road], graph.crs_metric)[0]
        assert got_road == pytest.approx(want, rel=0.01, abs=1.0)
        checked += 1
    assert checked == len(rows)


def test_unreachable_end_has_no_line(demo_routed) -> None:  # type: ignore[no-untyped-def]
    data, graph, _ = demo_routed
    s = data.sites.geometry.iloc[0]
    # far outside the county: beyond the snapping limit
    assert road_paths(graph, s.x, s.y, [s.x + 1.0], [s.y + 1.0]) == [None]
    assert road_paths(graph, s.x, s.y, [], []) == []
    assert np.isnan(path_lengths_m([None], graph.crs_metric)[0])
