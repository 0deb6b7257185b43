"""Smoke test of the routing benchmark (``bench/bench_routing.py`` with
``bench/routing_cases.py`` and ``bench/routing_queries.py``): no timing is asserted, only that
it runs, that every peer's answers agree with scipy's, and its data helpers."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import osmnx as ox
import pytest

from bench.bench_routing import main
from bench.report import DOC
from bench.routing_cases import make_road_graph, read_amenities
from bench.routing_queries import mismatches


def test_quick_run_answers_agree(capsys: pytest.CaptureFixture[str]) -> None:
    before = DOC.read_text(encoding="utf-8") if DOC.exists() else None
    rc = main(["--quick", "--no-write", "--no-andorra"])
    out = capsys.readouterr().out
    assert "agreement: all answers agree" in out
    assert rc == 0
    # every peer was compared and agreed; the targets table is there
    for peer in ("networkx `multi_source_dijkstra_path_length`", "networkx per-site loop",
                 "pandana `set_pois` + `nearest_pois`"):
        line = next(ln for ln in out.splitlines() if ln.startswith("| " + peer))
        assert "| agree (max diff" in line, line
    assert "| Anzhi's routing step ≤ 2× the bare scipy call it wraps |" in out
    # --no-write leaves docs/benchmarks.md alone
    assert (DOC.read_text(encoding="utf-8") if DOC.exists() else None) == before


def test_generated_graph_is_road_like_and_seeded() -> None:
    G = make_road_graph(5_000, seed=3)
    assert G.number_of_edges() >= 5_000
    assert G.graph["crs"] == "epsg:4326"
    u, v, data = zip(*G.edges(data=True), strict=True)
    x = np.array([G.nodes[n]["x"] for n in u + v])
    y = np.array([G.nodes[n]["y"] for n in u + v])
    assert (abs(x - 106.7) < 0.5).all() and (abs(y - 26.6) < 0.5).all()
    # lengths are osmnx's great-circle metres between the end nodes
    lu, lv = np.array(u), np.array(v)
    gc = ox.distance.great_circle(
        np.array([G.nodes[n]["y"] for n in lu]), np.array([G.nodes[n]["x"] for n in lu]),
        np.array([G.nodes[n]["y"] for n in lv]), np.array([G.nodes[n]["x"] for n in lv]))
    np.testing.assert_allclose([d["length"] for d in data], gc, rtol=0, atol=1e-9)
    # oneway streets appear in one direction only; two-way streets in both
    oneway = [(a, b) for a, b, d in zip(u, v, data, strict=True) if d["oneway"]]
    assert oneway and all(not G.has_edge(b, a) for a, b in oneway)
    assert all(G.has_edge(b, a) for a, b, d in zip(u, v, data, strict=True) if not d["oneway"])
    assert len({d["highway"] for d in data}) >= 4
    # seeded
    assert sorted(make_road_graph(5_000, seed=3).edges()) == sorted(G.edges())


def test_mismatches_counts_reachability_and_tolerance() -> None:
    ref = np.array([0.0, 10.0, np.inf, 5.0])
    assert mismatches(ref.copy(), ref, 1e-6) == (0, 0.0)
    got = np.array([0.0, 10.5, 3.0, np.inf])
    bad, worst = mismatches(got, ref, 1e-6)
    assert bad == 3  # 10.5 vs 10, reached vs unreachable twice
    assert worst == pytest.approx(0.5)
    assert mismatches(got[:2], ref[:2], 1.0) == (0, pytest.approx(0.5))


@pytest.mark.realdata
def test_andorra_amenities_match_the_data_readme(shared_data: Path) -> None:
    lon, lat, kind = read_amenities(shared_data / "osm" / "andorra-2020-05-01.osm.bz2")
    # counts from ../shared/data/README.md (nodes and ways together)
    assert Counter(kind.tolist()) == {"pharmacy": 30, "school": 12, "hospital": 8, "police": 6,
                                      "doctors": 4, "kindergarten": 1}
    assert ((lon > 1.4) & (lon < 1.8) & (lat > 42.4) & (lat < 42.7)).all()
