"""The optional roads download, offline: osmnx talks to a local Overpass stand-in on
loopback that answers with the demo county's roads (the public servers are not reachable
from tests), then the saved file must read like the original extract."""

from __future__ import annotations

import http.server
import json
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from anzhi.cli import main
from anzhi.core.errors import DataSourceError, InputError
from geo.osmgraph import road_graph_from_ways
from geo.roads import load_profile
from layers.osm import download_roads, read_osm_ways


def _overpass_json(osm_file: Path) -> bytes:
    """Overpass ``[out:json]`` elements of an OSM XML file."""
    elements: list[dict[str, object]] = []
    root = ET.parse(osm_file).getroot()
    for el in root:
        tags = {t.get("k"): t.get("v") for t in el.iter("tag")}
        if el.tag == "node":
            elements.append({"type": "node", "id": int(el.get("id", 0)),
                             "lat": float(el.get("lat", 0)), "lon": float(el.get("lon", 0)),
                             "tags": tags})
        elif el.tag == "way":
            elements.append({"type": "way", "id": int(el.get("id", 0)),
                             "nodes": [int(nd.get("ref", 0)) for nd in el.iter("nd")],
                             "tags": tags})
    return json.dumps({"version": 0.6, "elements": elements}).encode()


@pytest.fixture()
def overpass(demo) -> Iterator[tuple[str, list[str]]]:  # type: ignore[no-untyped-def]
    body = _overpass_json(Path(demo.roads))
    queries: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length", 0))
            queries.append(self.rfile.read(length).decode("utf-8", "replace"))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/api", queries
    finally:
        server.shutdown()
        server.server_close()


def test_downloaded_roads_read_like_the_extract(demo, overpass, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    url, queries = overpass
    src = read_osm_ways(demo.roads)
    lon, lat = src.lon, src.lat
    box = (float(lon.min()), float(lat.min()), float(lon.max()), float(lat.max()))
    out = download_roads(tmp_path / "dl" / "county.osm", bbox=box, overpass_url=url, timeout_s=30)
    assert queries and "highway" in queries[0]  # osmnx asked Overpass for the road network
    got = read_osm_ways(out)
    walk = load_profile("walk")
    a, b = road_graph_from_ways(src, profile=walk), road_graph_from_ways(got, profile=walk)
    assert (a.n_nodes, a.n_edges) == (b.n_nodes, b.n_edges)
    np.testing.assert_array_equal(a.node_ids, b.node_ids)
    assert sorted(np.round(a.edge_length_m, 6)) == sorted(np.round(b.edge_length_m, 6))
    assert [p.name for p in out.parent.iterdir()] == ["county.osm"]  # no partial file left


def test_cli_roads_then_access(demo, overpass, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    url, _ = overpass
    out = tmp_path / "roads.osm"
    code = main(["roads", "--bbox", "99.0,24.5,99.5,24.9", "--out", str(out),
                 "--overpass-url", url, "--timeout", "30"])
    assert code == 0 and out.is_file()
    assert f"roads written to {out}" in capsys.readouterr().out


def test_unreachable_server_and_bad_requests(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "roads.osm"
    with pytest.raises(DataSourceError, match="download needs internet; offline, give an extract"):
        download_roads(out, bbox=(102.3, 23.5, 102.31, 23.51),
                       overpass_url="http://127.0.0.1:9/api", timeout_s=5)
    assert not list(tmp_path.iterdir())  # nothing half-written
    with pytest.raises(InputError, match="either a place name or a bounding box"):
        download_roads(out)
    with pytest.raises(InputError, match="west < east"):
        download_roads(out, bbox=(103.0, 23.5, 102.0, 24.0))
    with pytest.raises(InputError, match="name it \\*.osm"):
        download_roads(tmp_path / "roads.pbf", bbox=(102.3, 23.5, 102.31, 23.51))
    assert main(["roads", "--bbox", "1,2,3", "--out", str(out)]) == 2
    assert "give four numbers" in capsys.readouterr().err
