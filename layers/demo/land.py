"""Out-migration land (迁出地) of the demo county: household parcels (SYNTHETIC DATA).

:func:`place_parcels` gives each upland origin village households with a few parcels each
(宅基地 house plots near the village, 耕地/林地 fields and woods on the slopes around), none
overlapping; :func:`parcels_frame` is the ``parcels`` layer.  Every house plot is in the
out-migration ledger (``ledger_status`` 旧房拆除 / 宅基地复垦复绿 / 待处理, ``reclaimed_m2``,
``quota_m2``: :mod:`analysis.ledger`), drawn by :func:`ledger_rows` from its own random
stream so that the rest of the county is the same with or without it.
"""

from __future__ import annotations

import math
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from numpy.typing import NDArray

from layers.demo.county import County, FloatArray

__all__ = ["ledger_rows", "parcels_frame", "place_parcels"]

_OCC_CELL_M = 25.0  # cells of the grid that keeps parcels from overlapping
#: Shares of the demo's house plots demolished, reclaimed and pending (SYNTHETIC).
_LEDGER_SHARES = (("旧房拆除", 0.3), ("宅基地复垦复绿", 0.5), ("待处理", 0.2))


def place_parcels(county: County) -> None:
    """About five parcels per site, spread over the origin villages (``parcel_rows``)."""
    rng, L = county.rng, county.side_m
    target = max(20, 5 * county.n_sites)
    occ = np.zeros((int(L // _OCC_CELL_M) + 2,) * 2, dtype=bool)
    rows: list[dict[str, Any]] = []
    per_village = max(1, int(math.ceil(target / max(1, len(county.origins)))))
    for vi, v in enumerate(county.origins):
        n_here = 0
        hh = 0
        tries = 0
        while n_here < per_village and len(rows) < target and tries < per_village * 30:
            hh += 1
            for k in range(int(rng.integers(1, 5))):
                tries += 1
                use, c, poly = _draw_parcel(rng, v.xy, first=k == 0)
                if not _fits(county, occ, use, c, poly):
                    continue
                rows.append({"village": v.name, "household_id": f"{v.name}-{hh:03d}",
                             "land_use": use, "geom": poly, "vi": vi})
                n_here += 1
                if n_here >= per_village or len(rows) >= target:
                    break
    for k, row in enumerate(rows, start=1):
        row["parcel_id"] = f"P{k:05d}"
    county.parcel_rows = rows


def _draw_parcel(rng: np.random.Generator, village_xy: FloatArray, *, first: bool
                 ) -> tuple[str, FloatArray, shapely.Polygon]:
    """Land use, centre (local m) and shape of a household's next parcel."""
    use = "宅基地" if first and rng.random() < 0.5 else (
        "耕地" if rng.random() < 0.6 else "林地")
    if use == "宅基地":
        area = rng.uniform(2000.0, 4000.0)
        r = rng.uniform(0.0, 300.0)
    else:
        area = math.exp(rng.uniform(math.log(2000.0), math.log(50000.0)))
        r = rng.uniform(100.0, 1500.0)
    a = rng.uniform(0, 2 * math.pi)
    c = village_xy + r * np.array([math.cos(a), math.sin(a)])
    return use, c, _parcel_shape(c, area, rng)


def _fits(county: County, occ: NDArray[np.bool_], use: str, c: FloatArray,
          poly: shapely.Polygon) -> bool:
    """Inside the square, fields not on flat land, clear of every parcel so far (then taken)."""
    L = county.side_m
    b = np.array(poly.bounds)
    if b[0] < 100 or b[1] < 100 or b[2] > L - 100 or b[3] > L - 100:
        return False
    if use != "宅基地" and county.grid.slope_at(c[None, :])[0] < 6.0:
        return False
    i0, j0 = int(b[1] // _OCC_CELL_M), int(b[0] // _OCC_CELL_M)
    i1, j1 = int(b[3] // _OCC_CELL_M) + 1, int(b[2] // _OCC_CELL_M) + 1
    if occ[i0:i1, j0:j1].any():
        return False
    occ[i0:i1, j0:j1] = True
    return True


def _parcel_shape(c: FloatArray, area_m2: float, rng: np.random.Generator) -> shapely.Polygon:
    """A jittered rectangle (now and then a pentagon) of ``area_m2`` centred near ``c``."""
    aspect = rng.uniform(1.0, 2.5)
    w, h = math.sqrt(aspect), 1 / math.sqrt(aspect)
    base = np.array([[-w, -h], [w, -h], [w, h], [-w, h]]) / 2
    base = base * (1 + rng.uniform(-0.18, 0.18, (4, 2)))
    if rng.random() < 0.25:  # a pentagon: push out the middle of one edge
        k = int(rng.integers(4))
        mid = 0.5 * (base[k] + base[(k + 1) % 4])
        base = np.insert(base, k + 1, mid * rng.uniform(1.15, 1.35), axis=0)
    th = rng.uniform(0, math.pi)
    rot = np.array([[math.cos(th), -math.sin(th)], [math.sin(th), math.cos(th)]])
    pts = base @ rot.T
    poly = shapely.Polygon(pts)
    scale = math.sqrt(area_m2 / poly.area)
    return shapely.Polygon(pts * scale + c)


def ledger_rows(county: County) -> list[tuple[str | None, float, float]]:
    """``(ledger_status, reclaimed_m2, quota_m2)`` of each parcel (SYNTHETIC DATA).

    House plots only (other parcels: ``(None, nan, nan)``), from the stream
    ``default_rng([seed, 3])``: status by :data:`_LEDGER_SHARES`; a reclaimed plot gets
    85–100 % of its area reclaimed (m², 0.1 m²) and 50–90 % of that as 节余指标.
    """
    rng = np.random.default_rng([county.seed, 3])
    names = [n for n, _ in _LEDGER_SHARES]
    p = np.array([w for _, w in _LEDGER_SHARES])
    out: list[tuple[str | None, float, float]] = []
    for r in county.parcel_rows:
        if r["land_use"] != "宅基地":
            out.append((None, math.nan, math.nan))
            continue
        status = names[int(rng.choice(len(names), p=p))]
        f_area, f_quota = rng.uniform(0.85, 1.0), rng.uniform(0.5, 0.9)
        if status == "宅基地复垦复绿":
            reclaimed = round(float(r["geom"].area) * f_area, 1)
            out.append((status, reclaimed, round(reclaimed * f_quota, 1)))
        else:
            out.append((status, math.nan, math.nan))
    return out


def parcels_frame(county: County) -> gpd.GeoDataFrame:
    """The ``parcels`` layer (EPSG:4326): parcel_id, village, household_id, land_use and the
    ledger columns ledger_status, reclaimed_m2, quota_m2 (:func:`ledger_rows`)."""
    par = county.parcel_rows
    ledger = ledger_rows(county)
    return gpd.GeoDataFrame(
        {
            "parcel_id": [r["parcel_id"] for r in par],
            "village": [r["village"] for r in par],
            "household_id": [r["household_id"] for r in par],
            "land_use": [r["land_use"] for r in par],
            "ledger_status": [s for s, _, _ in ledger],
            "reclaimed_m2": [a for _, a, _ in ledger],
            "quota_m2": [q for _, _, q in ledger],
        },
        geometry=[county.to_ll_geom(r["geom"]) for r in par],
        crs="EPSG:4326",
    )
