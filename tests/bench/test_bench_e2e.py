"""Smoke test of the end-to-end benchmark (``bench/bench_e2e.py``) on a tiny generated OSM file:
no timing is asserted, only that both sides run as subprocesses, write their tables and agree
(same facility for most site × type rows, distances within the benchmark's tolerance), that
the routing step agrees with scipy, and that the benchmark skips cleanly without its data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bench.bench_e2e import E2E_TYPES, main, measure, render
from bench.report import DOC
from tests._osmxml import LAT0, LON0, STEP, Nodes, Ways, osm_xml

#: Amenity tag → count of the tiny extract (one OSM tag for each type of E2E_TYPES).
AMENITIES = {"hospital": 2, "doctors": 2, "school": 3, "police": 2}


def _tiny_extract(path: Path, *, side: int = 8, seed: int = 3) -> Path:
    """A ``side × side`` street grid (~100 m blocks) with amenity nodes off the streets."""
    nodes: Nodes = {1 + i * side + j: (LON0 + j * STEP, LAT0 + i * STEP)
                    for i in range(side) for j in range(side)}
    ways: Ways = []
    for i in range(side):
        ways.append((1000 + 2 * i, [1 + i * side + j for j in range(side)],
                     {"highway": "residential"}))
        ways.append((1001 + 2 * i, [1 + j * side + i for j in range(side)],
                     {"highway": "tertiary" if i == side // 2 else "residential"}))
    rng = np.random.default_rng(seed)
    tags: dict[int, dict[str, str]] = {}
    nid = 5000
    for amenity, count in AMENITIES.items():
        for _ in range(count):
            nodes[nid] = (LON0 + rng.uniform(0, (side - 1) * STEP),
                          LAT0 + rng.uniform(0, (side - 1) * STEP))
            tags[nid] = {"amenity": amenity, "name": f"{amenity} {nid}"}
            nid += 1
    path.write_text(osm_xml(nodes, ways, node_tags=tags), encoding="utf-8")
    return path


def test_both_sides_run_and_agree(tmp_path: Path) -> None:
    osm = _tiny_extract(tmp_path / "tiny.osm")
    n_sites = 40
    e = measure(osm, osm, n_sites=n_sites, repeat=1, routing_repeat=3, work=tmp_path / "work")
    assert e.inputs.types == E2E_TYPES
    assert e.runs.anzhi_csv is not None and e.runs.peer_csv is not None
    acc = pd.read_csv(e.runs.anzhi_csv, keep_default_na=False, na_values=[""])
    peer = pd.read_csv(e.runs.peer_csv, keep_default_na=False, na_values=[""])
    assert len(acc) == len(peer) == n_sites * len(E2E_TYPES)
    assert set(acc["facility_type"]) == set(peer["facility_type"]) == set(E2E_TYPES)
    # every site is routed by both sides on this connected grid, and the answers agree
    assert e.agree.n_both == n_sites * len(E2E_TYPES) and e.agree.n_one_side == 0
    assert e.agree.within_tol >= 0.9
    assert e.agree.same_facility >= 0.5  # a regular grid has near-ties
    assert e.routing.n_bad == 0 and len(e.routing.per_type) == len(E2E_TYPES)
    assert set(e.runs.wall_s) == {"anzhi_cold", "anzhi_warm", "peer"}
    assert all(t > 0 for t in e.runs.wall_s.values())
    assert all(m > 0 for m in e.runs.peak_mib.values())
    assert "multi_source_dijkstra per type" in e.runs.peer_steps
    body = render(e)
    for text in ("| **Anzhi** `anzhi access", "| osmnx + networkx script", "Routing step alone",
                 "| end to end ≥ 7× faster", "| routing step ≤ 1.5× the bare scipy call"):
        assert text in body


def test_skips_cleanly_without_its_data(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = DOC.read_text(encoding="utf-8") if DOC.exists() else None
    assert main(["--roads", str(tmp_path / "absent.osm.pbf")]) == 0
    assert "bench_e2e skipped" in capsys.readouterr().err
    assert (DOC.read_text(encoding="utf-8") if DOC.exists() else None) == before
