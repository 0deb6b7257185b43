"""Do the sites and the facilities look offset by the GCJ-02 shift?

GCJ-02 (高德/腾讯 maps) moves a WGS84 point by some 300–600 m in most of China.  When one
layer of a run is read in the wrong system, every facility sits that far from where it is
relative to the sites.  :func:`gcj02_offset` measures the median straight-line distance from
each site to its nearest facility as loaded, and again with the facilities taken in the other
system either way; a drop of a few hundred metres under a shift says the layers disagree.

Arrays in, numbers out: no files, no logging (the pipeline words the warning).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import pyproj
from numpy.typing import ArrayLike, NDArray

from geo.coords import gcj02_to_wgs84, wgs84_to_gcj02
from geo.crs import local_metric_crs
from geo.lonlat import lonlat_arrays

__all__ = ["OFFSET_WARN_M", "OffsetCheck", "gcj02_offset"]

#: Drop of the median nearest distance (m) under the other system that counts as an offset.
OFFSET_WARN_M: Final = 200.0


@dataclass(frozen=True)
class OffsetCheck:
    """Median nearest site → facility distances (m) as loaded and under the GCJ-02 shift.

    Attributes
    ----------
    median_m
        As loaded.
    median_facilities_from_gcj02_m
        With the facilities' values taken as GCJ-02 (converted to WGS84 once more): what
        ``--facility-coords gcj02`` would give, or equally sites that were wrongly
        converted from GCJ-02.
    median_facilities_to_gcj02_m
        With the facilities' conversion from GCJ-02 undone (WGS84 → GCJ-02): what
        ``--facility-coords wgs84`` would give for facilities wrongly read as GCJ-02, or
        equally sites that are GCJ-02 but were read as WGS84.
    """

    median_m: float
    median_facilities_from_gcj02_m: float
    median_facilities_to_gcj02_m: float

    def drop_m(self) -> tuple[float, float]:
        """How much the median falls (m) under each shift: (from GCJ-02, to GCJ-02)."""
        return (self.median_m - self.median_facilities_from_gcj02_m,
                self.median_m - self.median_facilities_to_gcj02_m)

    def direction(self, threshold_m: float = OFFSET_WARN_M) -> str | None:
        """``"from_gcj02"`` or ``"to_gcj02"``: the shift under which the median drops by more
        than ``threshold_m`` metres (the larger drop when both do); ``None`` when neither."""
        from_drop, to_drop = self.drop_m()
        if max(from_drop, to_drop) <= threshold_m or not np.isfinite(self.median_m):
            return None
        return "from_gcj02" if from_drop >= to_drop else "to_gcj02"


def _median_nearest_m(
    sx: NDArray[np.float64], sy: NDArray[np.float64],
    flon: NDArray[np.float64], flat: NDArray[np.float64], tr: pyproj.Transformer,
) -> float:
    from scipy.spatial import cKDTree

    fx, fy = tr.transform(flon, flat)
    tree = cKDTree(np.column_stack([fx, fy]))
    dist, _ = tree.query(np.column_stack([sx, sy]), k=1)
    return float(np.median(dist))


def gcj02_offset(
    site_lon: ArrayLike, site_lat: ArrayLike, fac_lon: ArrayLike, fac_lat: ArrayLike
) -> OffsetCheck:
    """Median nearest straight-line distance site → facility, as loaded and under the shift.

    Parameters
    ----------
    site_lon, site_lat
        WGS84 longitude/latitude of the sites, decimal degrees.
    fac_lon, fac_lat
        WGS84 longitude/latitude of the facilities, decimal degrees (leave out facilities
        placed at the sites themselves, e.g. from the site table's yes/no columns).

    Returns
    -------
    OffsetCheck
        The three medians in metres, measured in the sites' UTM zone; all NaN when there are
        no sites or no facilities (non-finite points are left out).
    """
    slon, slat = lonlat_arrays(site_lon, site_lat)
    flon, flat = lonlat_arrays(fac_lon, fac_lat)
    s_ok = np.isfinite(slon) & np.isfinite(slat)
    f_ok = np.isfinite(flon) & np.isfinite(flat)
    slon, slat, flon, flat = slon[s_ok], slat[s_ok], flon[f_ok], flat[f_ok]
    if not len(slon) or not len(flon):
        return OffsetCheck(np.nan, np.nan, np.nan)
    tr = pyproj.Transformer.from_crs("EPSG:4326", local_metric_crs(slon, slat), always_xy=True)
    sx, sy = tr.transform(slon, slat)
    sx, sy = np.asarray(sx, dtype=np.float64), np.asarray(sy, dtype=np.float64)
    from_lon, from_lat = gcj02_to_wgs84(flon, flat)
    to_lon, to_lat = wgs84_to_gcj02(flon, flat)
    return OffsetCheck(
        median_m=_median_nearest_m(sx, sy, flon, flat, tr),
        median_facilities_from_gcj02_m=_median_nearest_m(sx, sy, from_lon, from_lat, tr),
        median_facilities_to_gcj02_m=_median_nearest_m(sx, sy, to_lon, to_lat, tr),
    )
