"""The region pipeline: the slope of a DEM is computed once and reused; the app's region-level
steps (steep land, polygon layers, service areas)."""

from __future__ import annotations

import tempfile

import geopandas as gpd
import pytest
from shapely.geometry import box

from anzhi.core.errors import InputError
from anzhi.pipeline import (
    RegionInputs,
    load_region,
    read_polygon_layer,
    region_elevation,
    region_service_areas,
    region_slope,
    steep_land,
)
from geo.service import service_areas


def test_region_slope_is_cached_by_dem_content(demo) -> None:  # type: ignore[no-untyped-def]
    inputs = RegionInputs.demo()
    first = region_slope(inputs)
    assert first is not None and first.is_file()
    mtime = first.stat().st_mtime_ns
    again = region_slope(inputs)
    assert again == first and again.stat().st_mtime_ns == mtime
    no_dem = RegionInputs(sites=inputs.sites, roads=inputs.roads)
    assert region_slope(no_dem) is None


def test_steep_land_leaves_no_slope_file_behind(demo, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    steep = steep_land(demo.dem)
    assert len(steep) > 0 and steep.crs.to_epsg() == 4326
    assert list(tmp_path.iterdir()) == []  # the slope raster's folder is gone
    assert len(steep_land(demo.dem, threshold_deg=45.0)) < len(steep)


def test_polygon_layers_go_through_their_loaders(demo, tmp_path) -> None:  # type: ignore[no-untyped-def]
    towns = read_polygon_layer(demo.townships, what="township boundaries")
    assert len(towns) > 0 and towns.crs.to_epsg() == 4326
    assert len(read_polygon_layer(demo.parcels, what="parcels")) > 0
    bad = tmp_path / "parcels.geojson"
    gpd.GeoDataFrame({"名称": ["x"]}, geometry=[box(99, 24, 99.01, 24.01)], crs=4326).to_file(bad)
    with pytest.raises(InputError, match="no 'parcel_id' column"):
        read_polygon_layer(bad, what="parcels")
    assert len(read_polygon_layer(bad, what="township boundaries")) == 1  # no parcel checks


def test_region_service_areas_walk_the_legs_on_their_slope(demo) -> None:  # type: ignore[no-untyped-def]
    data = load_region(RegionInputs.demo())
    graph = data.road_graph("walk")
    got = region_service_areas(data, profile="walk", minutes=15.0, facility_types=["clinic"],
                               graph=graph)
    elevation = region_elevation(data.inputs, profile="walk", crs=graph.crs_metric)
    expected = service_areas(graph, data.facilities, minutes=15.0, facility_types=["clinic"],
                             elevation_m=elevation)
    assert list(got["facility_type"]) == ["clinic"]
    assert got["area_km2"].tolist() == expected["area_km2"].tolist()
    # without a graph given, the region's own (cached) graph for the profile is used
    again = region_service_areas(data, profile="walk", minutes=15.0, facility_types=["clinic"])
    assert again["area_km2"].tolist() == expected["area_km2"].tolist()
