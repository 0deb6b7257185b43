"""Tests of geo.coords: GCJ-02 / BD-09 shifts, coordinate-system names (Gauss-Krüger: test_crs)."""

from __future__ import annotations

import numpy as np
import pyproj
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import geo.coords
import geo.crs
from anzhi.core.errors import InputError
from geo.coords import (
    COORD_SYSTEMS,
    bd09_to_gcj02,
    bd09_to_wgs84,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    in_china,
    normalise_coord_system,
    to_wgs84,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)

GEOD = pyproj.Geod(ellps="WGS84")


def dist_m(lon1, lat1, lon2, lat2) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Geodesic distance in metres (WGS84 ellipsoid)."""
    return np.asarray(GEOD.inv(lon1, lat1, lon2, lat2)[2])


china_lon = st.floats(73.0, 135.1, allow_nan=False)
china_lat = st.floats(3.8, 53.6, allow_nan=False)

# --------------------------------------------------------------------------- published vectors

# googollee/eviltransform, go/transform_test.go (same table in c/test.c, javascript/test.js,
# python/test.py): (wgsLat, wgsLng, gcjLat, gcjLng).
EVILTRANSFORM_WGS_GCJ = [
    (31.1774276, 121.5272106, 31.17530398364597, 121.531541859215),  # shanghai
    (22.543847, 113.912316, 22.540796131694766, 113.9171764808363),  # shenzhen
    (39.911954, 116.377817, 39.91334545536069, 116.38404722455657),  # beijing
]


@pytest.mark.parametrize(("wgs_lat", "wgs_lon", "gcj_lat", "gcj_lon"), EVILTRANSFORM_WGS_GCJ)
def test_wgs84_to_gcj02_matches_eviltransform(
    wgs_lat: float, wgs_lon: float, gcj_lat: float, gcj_lon: float
) -> None:
    lon, lat = wgs84_to_gcj02(wgs_lon, wgs_lat)
    # eviltransform's python test checks 6 decimal places.
    assert lon == pytest.approx(gcj_lon, abs=5e-7)
    assert lat == pytest.approx(gcj_lat, abs=5e-7)


def test_wgs84_to_gcj02_matches_eviltransform_vectorised() -> None:
    wgs_lat, wgs_lon, gcj_lat, gcj_lon = map(np.array, zip(*EVILTRANSFORM_WGS_GCJ, strict=True))
    lon, lat = wgs84_to_gcj02(wgs_lon, wgs_lat)
    np.testing.assert_allclose(lon, gcj_lon, atol=5e-7, rtol=0)
    np.testing.assert_allclose(lat, gcj_lat, atol=5e-7, rtol=0)


@pytest.mark.parametrize(("wgs_lat", "wgs_lon", "gcj_lat", "gcj_lon"), EVILTRANSFORM_WGS_GCJ)
def test_gcj02_to_wgs84_recovers_eviltransform_inputs(
    wgs_lat: float, wgs_lon: float, gcj_lat: float, gcj_lon: float
) -> None:
    # eviltransform's gcj2wgs_exact must come within 0.5 m; ours aims at 1 cm.
    lon, lat = gcj02_to_wgs84(gcj_lon, gcj_lat)
    assert dist_m(lon, lat, wgs_lon, wgs_lat) < 0.02


# wandergis/coordtransform, README.md ("//result" block of the usage example), all computed
# from the input (116.404, 39.915) as (lng, lat).
WANDERGIS_INPUT = (116.404, 39.915)
WANDERGIS_WGS84_TO_GCJ02 = (116.41024449916938, 39.91640428150164)
WANDERGIS_GCJ02_TO_BD09 = (116.41036949371029, 39.92133699351021)
WANDERGIS_BD09_TO_GCJ02 = (116.39762729119315, 39.90865673957631)  # one-step approximation
WANDERGIS_GCJ02_TO_WGS84 = (116.39775550083061, 39.91359571849836)  # one-step approximation


def test_forward_transforms_match_wandergis() -> None:
    lon, lat = wgs84_to_gcj02(*WANDERGIS_INPUT)
    assert (float(lon), float(lat)) == pytest.approx(WANDERGIS_WGS84_TO_GCJ02, abs=1e-9)
    lon, lat = gcj02_to_bd09(*WANDERGIS_INPUT)
    assert (float(lon), float(lat)) == pytest.approx(WANDERGIS_GCJ02_TO_BD09, abs=1e-9)


def test_iterated_bd09_to_gcj02_refines_wandergis_approximation() -> None:
    lon, lat = bd09_to_gcj02(*WANDERGIS_INPUT)
    # Close to the published one-step result ...
    assert dist_m(lon, lat, *WANDERGIS_BD09_TO_GCJ02) < 0.5
    # ... and its forward image hits the input better than the one-step result does.
    ours = dist_m(*gcj02_to_bd09(lon, lat), *WANDERGIS_INPUT)
    theirs = dist_m(*gcj02_to_bd09(*WANDERGIS_BD09_TO_GCJ02), *WANDERGIS_INPUT)
    assert ours < 0.01
    assert ours < theirs


def test_iterated_gcj02_to_wgs84_near_wandergis_one_step() -> None:
    lon, lat = gcj02_to_wgs84(*WANDERGIS_INPUT)
    # The one-step inverse is good to a few metres; ours must be exact to 1 cm.
    assert dist_m(lon, lat, *WANDERGIS_GCJ02_TO_WGS84) < 5.0
    assert dist_m(*wgs84_to_gcj02(lon, lat), *WANDERGIS_INPUT) < 0.01


# --------------------------------------------------------------------------- round trips


@settings(max_examples=300, deadline=None)
@given(lon=china_lon, lat=china_lat)
def test_gcj02_round_trip_within_half_metre(lon: float, lat: float) -> None:
    back = gcj02_to_wgs84(*wgs84_to_gcj02(lon, lat))
    assert dist_m(*back, lon, lat) < 0.5


@settings(max_examples=300, deadline=None)
@given(lon=china_lon, lat=china_lat)
def test_bd09_round_trip_within_half_metre(lon: float, lat: float) -> None:
    back = bd09_to_wgs84(*wgs84_to_bd09(lon, lat))
    assert dist_m(*back, lon, lat) < 0.5


@settings(max_examples=200, deadline=None)
@given(lon=china_lon, lat=china_lat)
def test_bd09_to_gcj02_inverts_forward(lon: float, lat: float) -> None:
    back = bd09_to_gcj02(*gcj02_to_bd09(lon, lat))
    assert dist_m(*back, lon, lat) < 0.5


def test_round_trips_reach_one_centimetre_on_a_grid() -> None:
    lon, lat = np.meshgrid(np.linspace(73.0, 135.1, 120), np.linspace(3.8, 53.6, 120))
    gcj = wgs84_to_gcj02(lon, lat)
    back = gcj02_to_wgs84(*gcj)
    assert back[0].shape == lon.shape
    assert dist_m(back[0].ravel(), back[1].ravel(), lon.ravel(), lat.ravel()).max() < 0.01
    back = bd09_to_wgs84(*wgs84_to_bd09(lon, lat))
    assert dist_m(back[0].ravel(), back[1].ravel(), lon.ravel(), lat.ravel()).max() < 0.01


outside_china = st.one_of(
    st.tuples(st.floats(-180.0, 72.0), st.floats(-90.0, 90.0)),
    st.tuples(st.floats(137.84, 180.0), st.floats(-90.0, 90.0)),
    st.tuples(st.floats(-180.0, 180.0), st.floats(55.83, 90.0)),
    st.tuples(st.floats(-180.0, 180.0), st.floats(-90.0, 0.82)),
)


@given(point=outside_china)
def test_points_outside_china_unchanged(point: tuple[float, float]) -> None:
    lon, lat = point
    assert tuple(map(float, wgs84_to_gcj02(lon, lat))) == (lon, lat)
    assert tuple(map(float, gcj02_to_wgs84(lon, lat))) == (lon, lat)


def test_known_cities_outside_china_unchanged() -> None:
    lon = [2.3522, -74.006, 139.6917]  # Paris, New York, Tokyo
    lat = [48.8566, 40.7128, 35.6895]
    out_lon, out_lat = wgs84_to_gcj02(lon, lat)
    np.testing.assert_array_equal(out_lon, lon)
    np.testing.assert_array_equal(out_lat, lat)


def test_offset_near_shidian_yunnan_is_hundreds_of_metres() -> None:
    # docs/policy-rules.md §4: GCJ-02 shifts positions 300–560 m in these provinces.
    lon, lat = wgs84_to_gcj02(99.2, 24.7)
    assert 300.0 <= dist_m(lon, lat, 99.2, 24.7) <= 600.0


# --------------------------------------------------------------------------- input forms


def test_scalars_lists_arrays_and_nan() -> None:
    lon, lat = wgs84_to_gcj02(99.2, 24.7)
    assert lon.dtype == np.float64 and lon.shape == ()
    lon, lat = gcj02_to_bd09(99.2, 24.7)
    assert isinstance(lon, np.ndarray) and lon.dtype == np.float64
    lon, lat = gcj02_to_wgs84([99.2, np.nan], [24.7, 24.7])
    assert lon.shape == (2,) and np.isfinite(lon[0]) and np.isnan(lon[1])
    lon, lat = bd09_to_wgs84(np.array([[99.2, 100.0]]), 24.7)  # broadcasts
    assert lon.shape == lat.shape == (1, 2)
    assert np.all(np.isfinite(lon))
    inp = np.array([99.2])
    wgs84_to_gcj02(inp, 24.7)
    assert inp[0] == 99.2  # the caller's array is not modified


def test_bad_numbers_and_iteration_options_raise() -> None:
    with pytest.raises(InputError, match="lon must be numbers"):
        wgs84_to_gcj02(["abc"], [24.7])
    with pytest.raises(InputError, match="incompatible shapes"):
        wgs84_to_gcj02([1.0, 2.0, 3.0], [1.0, 2.0])
    with pytest.raises(InputError, match="tol_m must be a positive"):
        gcj02_to_wgs84(99.2, 24.7, tol_m=0)
    with pytest.raises(InputError, match="max_iter must be a positive integer"):
        bd09_to_gcj02(99.2, 24.7, max_iter=0)


# --------------------------------------------------------------------------- names, dispatch


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("WGS84", "wgs84"),
        ("wgs-84", "wgs84"),
        ("EPSG:4326", "wgs84"),
        ("GPS", "wgs84"),
        ("CGCS2000", "cgcs2000"),
        ("国家2000", "cgcs2000"),
        ("2000", "cgcs2000"),
        ("EPSG:4490", "cgcs2000"),
        ("GCJ02", "gcj02"),
        ("gcj-02", "gcj02"),
        ("火星坐标", "gcj02"),
        ("高德", "gcj02"),
        ("amap", "gcj02"),
        ("Tencent", "gcj02"),
        ("腾讯", "gcj02"),
        ("BD09", "bd09"),
        ("bd-09", "bd09"),
        ("百度", "bd09"),
        ("Baidu", "bd09"),
        ("  bd 09 ", "bd09"),
    ],
)
def test_normalise_coord_system_aliases(name: str, expected: str) -> None:
    assert normalise_coord_system(name) == expected
    assert expected in COORD_SYSTEMS


def test_coord_systems_constant() -> None:
    assert COORD_SYSTEMS == ("wgs84", "cgcs2000", "gcj02", "bd09")
    assert all(normalise_coord_system(s) == s for s in COORD_SYSTEMS)


@pytest.mark.parametrize("name", ["mercator", "bd10", "", "EPSG:3857"])
def test_unknown_coord_system_lists_allowed(name: str) -> None:
    allowed = "wgs84, cgcs2000, gcj02, bd09"
    with pytest.raises(InputError, match=f"unknown coordinate system.*{allowed}"):
        normalise_coord_system(name)


def test_non_text_coord_system_raises() -> None:
    with pytest.raises(InputError, match="must be a text label"):
        normalise_coord_system(float("nan"))  # type: ignore[arg-type]


def test_to_wgs84_dispatches() -> None:
    lon, lat = [99.2, 106.7], [24.7, 26.6]
    for system in ("wgs84", "CGCS2000", "GPS"):
        out_lon, out_lat = to_wgs84(lon, lat, system)
        np.testing.assert_array_equal(out_lon, lon)
        np.testing.assert_array_equal(out_lat, lat)
    np.testing.assert_array_equal(to_wgs84(lon, lat, "高德")[0], gcj02_to_wgs84(lon, lat)[0])
    np.testing.assert_array_equal(to_wgs84(lon, lat, "baidu")[1], bd09_to_wgs84(lon, lat)[1])
    # GCJ input really moves by hundreds of metres in Yunnan/Guizhou.
    assert np.all(dist_m(*to_wgs84(lon, lat, "gcj02"), lon, lat) > 250.0)
    with pytest.raises(InputError, match="unknown coordinate system 'utm'"):
        to_wgs84(lon, lat, "utm")


def test_in_china() -> None:
    got = in_china(
        [99.2, 106.7, 2.35, 73.0, 135.1, 72.99, 99.2],
        [24.7, 26.6, 48.85, 3.8, 53.6, 30.0, np.nan],
    )
    np.testing.assert_array_equal(got, [True, True, False, True, True, False, False])
    assert got.dtype == np.bool_


def test_crs_names_are_exported_from_geo() -> None:
    # the package exports every coordinate helper, wherever it is defined (geo/__init__ _EXPORTS)
    for name in geo.crs.__all__ + geo.coords.__all__:
        assert name in geo.__all__, name
    for name in geo.crs.__all__:
        assert getattr(geo, name) is getattr(geo.crs, name), name
