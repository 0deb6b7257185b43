"""The region pipeline: the slope of a DEM is computed once and reused."""

from __future__ import annotations

from anzhi.pipeline import RegionInputs, region_slope


def test_region_slope_is_cached_by_dem_content(demo) -> None:  # type: ignore[no-untyped-def]
    inputs = RegionInputs.demo()
    first = region_slope(inputs)
    assert first is not None and first.is_file()
    mtime = first.stat().st_mtime_ns
    again = region_slope(inputs)
    assert again == first and again.stat().st_mtime_ns == mtime
    no_dem = RegionInputs(sites=inputs.sites, roads=inputs.roads)
    assert region_slope(no_dem) is None
