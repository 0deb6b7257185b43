"""Tests of geo.crs: CGCS2000 Gauss-Krüger zones and UTM zones."""

from __future__ import annotations

import numpy as np
import pyproj
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from anzhi.core.errors import InputError
from geo.crs import (
    gk_central_meridian,
    gk_epsg,
    gk_to_wgs84,
    gk_zone_from_easting,
    gk_zone_from_lon,
    local_metric_crs,
    utm_epsg,
    wgs84_to_gk,
)

GEOD = pyproj.Geod(ellps="WGS84")


def dist_m(lon1, lat1, lon2, lat2) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Geodesic distance in metres (WGS84 ellipsoid)."""
    return np.asarray(GEOD.inv(lon1, lat1, lon2, lat2)[2])


# --------------------------------------------------------------------------- Gauss-Krüger


def test_gk_zone_and_central_meridian() -> None:
    assert gk_zone_from_lon(99.2) == 33  # Baoshan / Shidian
    assert gk_zone_from_lon(106.7) == 36  # Guiyang
    assert gk_zone_from_lon(97.5) == 33  # halves round up, not to even
    assert gk_central_meridian(33) == 99
    assert gk_central_meridian(36) == 108
    with pytest.raises(InputError, match="not a longitude"):
        gk_zone_from_lon(251.3)


def test_gk_epsg_codes() -> None:
    assert gk_epsg(33, with_prefix=True) == 4521
    assert gk_epsg(33, with_prefix=False) == 4542
    assert gk_epsg(25, with_prefix=True) == 4513
    assert gk_epsg(45, with_prefix=False) == 4554


@pytest.mark.parametrize("zone", range(25, 46))
def test_gk_epsg_agrees_with_epsg_database(zone: int) -> None:
    prefixed = pyproj.CRS.from_epsg(gk_epsg(zone, with_prefix=True))
    plain = pyproj.CRS.from_epsg(gk_epsg(zone, with_prefix=False))
    assert prefixed.name == f"CGCS2000 / 3-degree Gauss-Kruger zone {zone}"
    assert plain.name == f"CGCS2000 / 3-degree Gauss-Kruger CM {3 * zone}E"


@pytest.mark.parametrize("zone", [24, 46, 0, 33.0, True, "33"])
def test_gk_epsg_bad_zone_raises(zone: object) -> None:
    with pytest.raises(InputError, match="zone"):
        gk_epsg(zone, with_prefix=True)  # type: ignore[arg-type]


def test_gk_epsg_out_of_range_message() -> None:
    with pytest.raises(InputError, match="zone 46 is not a CGCS2000 3-degree zone.*25–45"):
        gk_epsg(46, with_prefix=False)


def test_gk_zone_from_easting() -> None:
    assert gk_zone_from_easting(33500000) == 33
    assert gk_zone_from_easting(25500000.0) == 25
    assert gk_zone_from_easting([33412345.6, np.nan, 33587654.3]) == 33
    assert gk_zone_from_easting(500000) is None
    assert gk_zone_from_easting([412345.6, 587654.3]) is None
    assert gk_zone_from_easting([np.nan]) is None


@pytest.mark.parametrize(
    ("easting", "match"),
    [
        ([33500000, 500000], "mix 6-digit"),
        ([33500000, 34500000], "several zone prefixes 33, 34"),
        (3350000, "neither 6-digit"),
        (18500000, "prefix 18 is not a CGCS2000 3-degree zone"),
    ],
)
def test_gk_zone_from_easting_bad(easting: object, match: str) -> None:
    with pytest.raises(InputError, match=match):
        gk_zone_from_easting(easting)  # type: ignore[arg-type]


gk_points = st.tuples(
    st.integers(25, 45),
    st.floats(-1.5, 1.5),  # longitude offset from the central meridian, degrees
    st.floats(3.8, 53.6),
    st.booleans(),
)


@settings(max_examples=150, deadline=None)
@given(point=gk_points)
def test_gk_round_trip_sub_millimetre(point: tuple[int, float, float, bool]) -> None:
    zone, dlon, lat, with_prefix = point
    lon = 3.0 * zone + dlon
    e, n = wgs84_to_gk(lon, lat, zone=zone, with_prefix=with_prefix)
    assert gk_zone_from_easting(e) == (zone if with_prefix else None)
    back = gk_to_wgs84(e, n, zone=zone)
    assert dist_m(*back, lon, lat) < 0.001
    epsg = gk_epsg(zone, with_prefix=with_prefix)
    back = gk_to_wgs84(e, n, epsg=epsg)
    assert dist_m(*back, lon, lat) < 0.001
    if with_prefix:  # the zone comes from the easting itself
        assert dist_m(*gk_to_wgs84(e, n), lon, lat) < 0.001


def test_gk_matches_direct_pyproj_transform() -> None:
    lon, lat = 99.2, 24.7
    # EPSG:4521 lists northing first: without always_xy pyproj returns (northing, easting).
    north, east = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:4521").transform(lat, lon)
    assert east > 33_000_000 and north < 10_000_000
    e, n = wgs84_to_gk(lon, lat, with_prefix=True)
    assert float(e) == pytest.approx(east, abs=1e-6)
    assert float(n) == pytest.approx(north, abs=1e-6)
    e6, n6 = wgs84_to_gk(lon, lat)  # zone from the longitude, no prefix
    assert float(e6) == pytest.approx(east - 33_000_000, abs=1e-6)
    assert float(n6) == pytest.approx(north, abs=1e-6)
    back_lon, back_lat = gk_to_wgs84([east, east + 1000.0], [north, north], epsg=4521)
    assert back_lon[0] == pytest.approx(lon, abs=1e-9)
    assert back_lat[0] == pytest.approx(lat, abs=1e-9)
    assert back_lon[1] > back_lon[0]  # the easting really is the x axis
    lon6, lat6 = gk_to_wgs84(east - 33_000_000, north, epsg=4542)
    assert float(lon6) == pytest.approx(lon, abs=1e-9)
    assert float(lat6) == pytest.approx(lat, abs=1e-9)


def test_gk_to_wgs84_needs_a_zone() -> None:
    with pytest.raises(InputError, match=r"give --crs EPSG:45xx .*8-digit eastings"):
        gk_to_wgs84([520238.8], [2732837.7])


def test_gk_to_wgs84_zone_with_six_digit_eastings() -> None:
    lon, lat = gk_to_wgs84(520238.792735606, 2732837.7317912662, zone=33)
    assert dist_m(lon, lat, 99.2, 24.7) < 0.001


@pytest.mark.parametrize(
    ("easting", "kwargs", "match"),
    [
        (520238.8, {"epsg": 4521}, "expects 8-digit eastings.*use EPSG:4542"),
        (33520238.8, {"epsg": 4542}, "expects 6-digit eastings.*use EPSG:4521"),
        (33520238.8, {"epsg": 4326}, "EPSG:4326 is not a CGCS2000 3-degree"),
        (33520238.8, {"zone": 34}, "prefix 33 but zone 34"),
        (33520238.8, {"epsg": 4521, "zone": 34}, "zone 34 disagrees with EPSG:4521"),
        (520238.8, {"zone": 50}, "zone 50 is not a CGCS2000"),
    ],
)
def test_gk_to_wgs84_inconsistent_inputs(
    easting: float, kwargs: dict[str, int], match: str
) -> None:
    with pytest.raises(InputError, match=match):
        gk_to_wgs84(easting, 2732837.7, **kwargs)


# --------------------------------------------------------------------------- metric CRS


def test_utm_and_local_metric_crs() -> None:
    assert utm_epsg(99.2, 24.7) == 32647
    assert local_metric_crs(99.2, 24.7) == pyproj.CRS.from_epsg(32647)
    assert local_metric_crs(99.2, 24.7).axis_info[0].unit_name == "metre"
    assert utm_epsg([106.5, 106.9, np.nan], [26.4, 26.8, np.nan]) == 32648  # Guiyang
    assert utm_epsg(-70.6, -33.4) == 32719  # Santiago, southern hemisphere
    assert utm_epsg(180.0, 0.0) == 32660


def test_utm_epsg_bad_input() -> None:
    with pytest.raises(InputError, match="no finite longitude/latitude"):
        utm_epsg([np.nan], [np.nan])
    with pytest.raises(InputError, match="not a longitude/latitude"):
        local_metric_crs(24.7, 99.2)
