"""geo.offset: median nearest site → facility distances as loaded and under the GCJ-02 shift."""

from __future__ import annotations

import numpy as np
import pytest
from pyproj import Geod

from geo.coords import gcj02_to_wgs84, wgs84_to_gcj02
from geo.offset import OFFSET_WARN_M, OffsetCheck, gcj02_offset

GEOD = Geod(ellps="WGS84")
RNG = np.random.default_rng(16)

#: 80 sites scattered over ~40 km around Shidian, Yunnan (WGS84).
SLON = 99.0 + RNG.uniform(0, 0.4, 80)
SLAT = 24.5 + RNG.uniform(0, 0.4, 80)


def _near_sites(dist_m: float) -> tuple[np.ndarray, np.ndarray]:
    """One facility per site, ``dist_m`` away in a random direction (true WGS84)."""
    lon, lat, _ = GEOD.fwd(SLON, SLAT, RNG.uniform(0, 360, SLON.size), np.full(SLON.size, dist_m))
    return np.asarray(lon), np.asarray(lat)


def test_aligned_layers_give_no_offset() -> None:
    flon, flat = _near_sites(60.0)
    check = gcj02_offset(SLON, SLAT, flon, flat)
    assert check.median_m == pytest.approx(60.0, abs=0.5)  # metres, UTM zone of the sites
    # either shift moves every facility some 300–600 m away from its site
    assert check.median_facilities_from_gcj02_m > 250
    assert check.median_facilities_to_gcj02_m > 250
    assert check.direction() is None


def test_facilities_in_gcj02_read_as_wgs84() -> None:
    flon, flat = wgs84_to_gcj02(*_near_sites(60.0))
    check = gcj02_offset(SLON, SLAT, flon, flat)
    assert check.median_m > 300
    assert check.median_facilities_from_gcj02_m == pytest.approx(60.0, abs=1.0)
    assert check.drop_m()[0] > OFFSET_WARN_M
    assert check.direction() == "from_gcj02"


def test_facilities_wrongly_converted_from_gcj02() -> None:
    flon, flat = gcj02_to_wgs84(*_near_sites(60.0))
    check = gcj02_offset(SLON, SLAT, flon, flat)
    assert check.median_facilities_to_gcj02_m == pytest.approx(60.0, abs=1.0)
    assert check.direction() == "to_gcj02"
    assert check.direction(threshold_m=1e6) is None


def test_sparse_facilities_do_not_look_offset() -> None:
    # facilities ~5 km from every site: shifting them by 500 m hardly moves the median
    flon, flat = wgs84_to_gcj02(*_near_sites(5_000.0))
    check = gcj02_offset(SLON, SLAT, flon, flat)
    assert abs(check.drop_m()[0]) < OFFSET_WARN_M and abs(check.drop_m()[1]) < OFFSET_WARN_M
    assert check.direction() is None


def test_no_facilities_or_non_finite_points() -> None:
    check = gcj02_offset(SLON, SLAT, [], [])
    assert np.isnan(check.median_m) and check.direction() is None
    flon, flat = _near_sites(60.0)
    with_nan = gcj02_offset(np.append(SLON, np.nan), np.append(SLAT, np.nan), flon, flat)
    assert with_nan == gcj02_offset(SLON, SLAT, flon, flat)
    assert isinstance(with_nan, OffsetCheck)
