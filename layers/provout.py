"""The map outputs of a province run: ``gaps.gpkg`` and the GeoParquet files, and the one
folder write that commits every province output together.

A county run writes ``gaps.gpkg`` through :func:`layers.export.write_outputs` (layers
``gaps``: one site point per gap row, and ``sites``: one point per site with its worst
status).  A province writes the same two layers with the same columns, over all its
counties, with ``county`` the manifest's county name in both.  Site ids are matched within
their county, so equal ids in two counties are two sites (two points), as in
:func:`layers.province.province_coverage`.

:func:`write_province_folder` writes ``gaps.csv``, ``gaps.xlsx``, ``coverage.csv``,
``access.csv`` (the single-region writers of :func:`layers.export.write_outputs`, into a
staging folder), ``gaps.gpkg``, optionally ``gaps.parquet`` / ``sites.parquet`` and
``report.csv`` into the output folder in one :func:`layers.export.write_folder` commit:
either every file is the new one or ``out_dir`` keeps what it had.  The staging folder
(``.NAME.tmp-PID-XXXX`` beside ``out_dir``) is removed afterwards, and by the next run if
this one was killed (:func:`layers.export.remove_stale_temps`).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import geopandas as gpd
import pandas as pd

from analysis.gaps import GAPS_COLUMNS, worst_status
from analysis.rules import RuleSet
from anzhi.core.errors import DataSourceError, InputError
from layers.export import HAZARD_COLUMNS, sort_gaps, write_folder, write_outputs

__all__ = ["SITE_POINT_COLUMNS", "STATUS_COLUMNS", "merge_sites", "province_site_layers",
           "site_points", "write_province_folder"]

#: Columns of the ``sites`` layer taken from the site table (when present), as in a county
#: run's ``gaps.gpkg``; a province keeps them (and the point) for each county in its cache.
SITE_POINT_COLUMNS: tuple[str, ...] = ("site_id", "site_name", "county", "township", "village",
                                       "population", "households", "kind")
#: Columns :func:`analysis.gaps.worst_status` adds to the ``sites`` layer.
STATUS_COLUMNS: tuple[str, ...] = ("status", "n_rules", "n_gaps", "n_unroutable")
_KEY_SEP = "\x1f"


def site_points(sites: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """What a province keeps of a county's sites: :data:`SITE_POINT_COLUMNS` present and
    the points, in EPSG:4326, ``site_id`` as text.

    Raises
    ------
    InputError
        ``sites`` is not a GeoDataFrame with a ``site_id`` column and a CRS.
    """
    if not isinstance(sites, gpd.GeoDataFrame) or "site_id" not in sites.columns \
            or sites.crs is None:
        raise InputError("the sites of a county must be a GeoDataFrame of points with a "
                         "site_id column and a CRS (anzhi.pipeline.run_region's data.sites)")
    keep = [c for c in SITE_POINT_COLUMNS if c in sites.columns]
    out = gpd.GeoDataFrame(sites.loc[:, keep].reset_index(drop=True),
                           geometry=sites.geometry.to_numpy(), crs=sites.crs).to_crs(4326)
    out["site_id"] = out["site_id"].astype(str)
    return out


def merge_sites(parts: Sequence[tuple[str, gpd.GeoDataFrame]]) -> gpd.GeoDataFrame:
    """The province's site points (:func:`site_points` of each county, in order), with
    ``county`` = the manifest's county name (as :func:`layers.province.merge_gaps`)."""
    frames = [site_points(s).assign(county=name) for name, s in parts]
    if not frames:
        return gpd.GeoDataFrame({"site_id": pd.Series(dtype=str), "county": pd.Series(dtype=str)},
                                geometry=gpd.GeoSeries([], crs=4326), crs=4326)
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry",
                            crs=4326)


def _keys(df: pd.DataFrame) -> pd.Series:
    return df["county"].astype(str) + _KEY_SEP + df["site_id"].astype(str)


def province_site_layers(gaps: pd.DataFrame, sites: gpd.GeoDataFrame
                         ) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """The ``gaps`` and ``sites`` layers of the province's ``gaps.gpkg`` (EPSG:4326).

    Parameters
    ----------
    gaps
        The province gap list (:func:`layers.province.merge_gaps`, ``county`` = county
        name), in the order to write (:func:`layers.export.sort_gaps`).
    sites
        The province's site points (:func:`merge_sites`).

    Returns
    -------
    tuple of geopandas.GeoDataFrame
        The gap rows as site points (the gap columns, geometry), and one point per site
        with :data:`SITE_POINT_COLUMNS` present and :data:`STATUS_COLUMNS`; a site is
        found by ``(county, site_id)``.
    """
    key_s = _keys(sites)
    geom = pd.Series(sites.geometry.to_numpy(), index=key_s.to_numpy())
    geom = geom[~geom.index.duplicated()]
    g = gaps.copy()
    g["site_id"] = g["site_id"].astype(str)
    pts = gpd.GeoDataFrame(g, geometry=gpd.GeoSeries(
        geom.reindex(_keys(gaps).to_numpy()).to_numpy(), crs=4326).to_numpy(), crs=4326)
    worst = worst_status(gaps.assign(site_id=_keys(gaps)), site_ids=key_s)
    keep = [c for c in SITE_POINT_COLUMNS if c in sites.columns]
    layer = sites.loc[:, keep].reset_index(drop=True)
    layer["site_id"] = layer["site_id"].astype(str)
    for col in STATUS_COLUMNS:
        layer[col] = worst[col].to_numpy()
    return pts, gpd.GeoDataFrame(layer, geometry=sites.geometry.to_numpy(), crs=4326)


def _gpkg_writer(pts: gpd.GeoDataFrame, layer: gpd.GeoDataFrame) -> Callable[[Path], None]:
    def write(p: Path) -> None:
        p.unlink(missing_ok=True)  # the GeoPackage driver wants to create the file itself
        for use_arrow in (True, False):
            try:  # through Arrow when GDAL can (as the county writer), else row by row
                layer.to_file(p, layer="sites", driver="GPKG", engine="pyogrio",
                              use_arrow=use_arrow)
                pts.to_file(p, layer="gaps", driver="GPKG", engine="pyogrio",
                            use_arrow=use_arrow)
                return
            except (RuntimeError, ImportError, NotImplementedError, ValueError, TypeError):
                if not use_arrow:
                    raise
                p.unlink(missing_ok=True)
    return write


def _parquet_writer(frame: gpd.GeoDataFrame) -> Callable[[Path], None]:
    def write(p: Path) -> None:
        frame.to_parquet(p, index=False)
    return write


def _moved(src: Path) -> Callable[[Path], None]:
    """A writer that puts an already written file (same file system) in place."""
    def write(p: Path) -> None:
        os.replace(src, p)
    return write


def write_province_folder(
    out_dir: str | Path,
    *,
    gaps: pd.DataFrame | None,
    coverage: pd.DataFrame | None,
    access: pd.DataFrame | None,
    sites: gpd.GeoDataFrame | None,
    writers: Mapping[str, Callable[[Path], None]],
    rules: RuleSet | None = None,
    lang: str = "zh",
    parquet: bool = False,
) -> dict[str, Path]:
    """Write every province output into ``out_dir`` in one folder commit.

    Parameters
    ----------
    out_dir
        Output folder (created if absent).
    gaps, coverage, access
        The merged tables (``county`` columns), or all None when no county has results
        (then only ``writers`` are written).
    sites
        The province's site points (:func:`merge_sites`), for ``gaps.gpkg`` (and the
        GeoParquet files); None writes no ``gaps.gpkg``.
    writers
        Further files, ``{name: writer(path)}``, written after the single-region files
        and replacing them when named alike (the province's ``access.csv``,
        ``coverage.csv``, ``report.csv``).
    rules, lang
        As :func:`layers.export.write_outputs`.
    parquet
        Also ``gaps.parquet`` and ``sites.parquet`` (GeoParquet, the two layers of
        ``gaps.gpkg``).

    Returns
    -------
    dict[str, pathlib.Path]
        File name -> path written, in the order written.

    Raises
    ------
    InputError
        ``parquet`` without ``sites``, or a table missing schema columns.
    DataSourceError
        The folder cannot be written; ``out_dir`` keeps what it had.
    """
    if parquet and sites is None:
        raise InputError("GeoParquet output of a province needs the counties' site points; "
                         "rerun with --no-cache or drop --format parquet")
    out = Path(out_dir).expanduser().absolute()
    if gaps is None or coverage is None or access is None:
        return write_folder(out, dict(writers))
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        stage = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.tmp-{os.getpid()}-"))
    except OSError as exc:
        raise DataSourceError(f"cannot write into {out.parent} ({exc.strerror or exc})") from exc
    try:
        staged = write_outputs(stage / "outputs", gaps=gaps, coverage=coverage, access=access,
                               rules=rules, lang=lang)
        all_writers: dict[str, Callable[[Path], None]] = {
            name: _moved(path) for name, path in staged.items()}
        if sites is not None:
            keep = list(GAPS_COLUMNS) + [c for c in HAZARD_COLUMNS if c in gaps.columns]
            pts, layer = province_site_layers(sort_gaps(gaps.loc[:, keep], rules), sites)
            all_writers["gaps.gpkg"] = _gpkg_writer(pts, layer)
            if parquet:
                all_writers["gaps.parquet"] = _parquet_writer(pts)
                all_writers["sites.parquet"] = _parquet_writer(layer)
        all_writers.update(writers)
        return write_folder(out, all_writers)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
