"""Exclusion layers of the land analysis: 永久基本农田, 生态保护红线 or any polygon layer.

:func:`read_masks` reads each file (GeoPackage, Shapefile, GeoJSON) and labels its polygons
with the file's name, so ``--exclude 永久基本农田.gpkg`` names 永久基本农田 in the candidate
list (:func:`analysis.land.mask_exclusions`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from anzhi.core.errors import ProblemCollector
from layers.boundaries import read_polygons

__all__ = ["read_masks"]

log = logging.getLogger(__name__)


def read_masks(paths: Sequence[str | Path], *, layer: str | None = None) -> gpd.GeoDataFrame:
    """Exclusion polygons of every file, each labelled by its file's name (without suffix).

    Parameters
    ----------
    paths
        Polygon layers (any CRS with a definition).  Two files of the same name get
        ``name (2)``, ….
    layer
        Layer name within each file; default the first layer.

    Returns
    -------
    geopandas.GeoDataFrame
        EPSG:4326 polygons with ``label``; empty geometries dropped, invalid polygons repaired
        (``shapely.make_valid``, polygonal part kept; logged).

    Raises
    ------
    DataSourceError
        A file is missing, unreadable or has no CRS.
    InputError
        A feature that is not a polygon (every one listed, with its file and row).
    """
    pc = ProblemCollector()
    frames: list[gpd.GeoDataFrame] = []
    used: set[str] = set()
    for path in paths:
        p = Path(path)
        g = read_polygons(p, what="exclusion layer", layer=layer)
        base = p.stem.removesuffix(".shp")
        label, k = base, 2
        while label in used:
            label, k = f"{base} ({k})", k + 1
        used.add(label)
        geoms = g.geometry
        present = (geoms.notna() & ~geoms.is_empty).to_numpy()
        kind = geoms.geom_type.to_numpy()
        bad = present & ~np.isin(kind, ["Polygon", "MultiPolygon"])
        for i in np.flatnonzero(bad)[:20]:
            pc.add("the feature is not a polygon", file=p.name, row=int(i) + 1, value=str(kind[i]),
                   fix="give exclusion areas as polygons (e.g. 永久基本农田 or 生态保护红线 patches)")
        keep = present & ~bad
        fixed = np.asarray(geoms.values[keep], dtype=object)
        invalid = ~shapely.is_valid(fixed)
        if invalid.any():
            log.info("%s: %d invalid polygons repaired (make_valid)", p.name, int(invalid.sum()))
            repaired = shapely.make_valid(fixed[invalid])
            fixed[invalid] = [shapely.union_all([q for q in shapely.get_parts(r)
                                                 if q.geom_type in ("Polygon", "MultiPolygon")])
                              for r in repaired]
        frames.append(gpd.GeoDataFrame({"label": [label] * len(fixed)}, geometry=list(fixed),
                                       crs="EPSG:4326"))
    pc.raise_if_any()
    if not frames:
        return gpd.GeoDataFrame({"label": pd.Series(dtype=str)}, geometry=[], crs="EPSG:4326")
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs="EPSG:4326")
