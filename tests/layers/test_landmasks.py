"""Exclusion layers for the land analysis: labelled by file name, polygons only, repaired."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from anzhi.core.errors import DataSourceError, InputError
from layers.landmasks import read_masks


def test_masks_are_labelled_by_their_file(tmp_path: Path) -> None:
    a = tmp_path / "永久基本农田.gpkg"
    gpd.GeoDataFrame(geometry=[shapely.box(500000, 2700000, 500100, 2700100)], crs=4542).to_file(a)
    (tmp_path / "sub").mkdir()
    b = tmp_path / "sub" / "永久基本农田.geojson"  # same name, another folder
    bowtie = shapely.Polygon([(100.0, 25.0), (100.01, 25.01), (100.01, 25.0), (100.0, 25.01)])
    gpd.GeoDataFrame(geometry=[bowtie, None], crs=4326).to_file(b)
    m = read_masks([a, b])
    assert m.crs.to_epsg() == 4326
    assert m["label"].tolist() == ["永久基本农田", "永久基本农田 (2)"]  # the empty feature dropped
    assert m.geometry.is_valid.all()  # the bow-tie repaired into its two triangles
    assert m.geometry.iloc[1].area == pytest.approx(2 * (0.5 * 0.01 * 0.005), rel=1e-9)  # both triangles
    assert len(read_masks([])) == 0


def test_masks_must_be_polygons(tmp_path: Path) -> None:
    p = tmp_path / "红线.gpkg"
    gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 1, 1), shapely.Point(0, 0)], crs=4326).to_file(p)
    with pytest.raises(InputError, match=r"红线.gpkg, row 2: the feature is not a polygon \(value: 'Point'\)"):
        read_masks([p])
    with pytest.raises(DataSourceError, match="missing.gpkg"):
        read_masks([tmp_path / "missing.gpkg"])
