"""A disk cache of built road graphs, so a second run does not re-parse the OSM file.

A :class:`geo.roads.RoadGraph` is stored as one ``.npz`` file (plain arrays, no pickle) under
``get_settings().cache_dir / "roads"``, named by a key made of

* the SHA-256 of the road file's bytes (a changed or replaced file is a new key; renaming or
  moving it is not);
* the travel profile's full content (name, every speed, off-road speed, oneway rule,
  slope-awareness), so an edited profile file is a new key;
* the SHA-256 of the DEM when walking times were scaled by slope from one (``None`` else);
* :data:`CACHE_FORMAT`, bumped whenever the way graphs are built or stored changes.

Writes are atomic (a temporary file in the same folder, then ``os.replace``), so a run that is
killed never leaves a half-written graph that a later run would read.  A cache file that
cannot be read (truncated, older format) is rebuilt, never trusted.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Final

import numpy as np
import scipy.sparse as sp
import shapely

from anzhi.core.settings import get_settings
from anzhi.core.files import atomic_write, file_sha256
from geo.roads import Profile, RoadGraph

__all__ = [
    "CACHE_FORMAT",
    "road_graph_key",
    "save_road_graph",
    "load_saved_road_graph",
    "cached_road_graph",
]

log = logging.getLogger(__name__)

#: Version of the cached graph layout *and* of the way graphs are built; bump on any change.
CACHE_FORMAT: Final = 1

_ARRAYS: Final = (
    "node_ids", "lon", "lat", "x_m", "y_m", "edge_u", "edge_v", "edge_length_m",
    "edge_time_min", "edge_highway", "edge_pedge", "edge_pedge_reversed", "pedge_u", "pedge_v",
    "pedge_length_fwd_m", "pedge_length_bwd_m", "pedge_time_fwd_min", "pedge_time_bwd_min",
)
_MATRICES: Final = ("length_m", "time_min")


def _profile_fingerprint(profile: Profile) -> dict[str, Any]:
    return {
        "name": profile.name,
        "speeds_kph": sorted((k, v) for k, v in profile.speeds_kph.items()),
        "offroad_speed_kph": profile.offroad_speed_kph,
        "respect_oneway": profile.respect_oneway,
        "slope_aware": bool(getattr(profile, "slope_aware", False)),
    }


def road_graph_key(
    roads: str | Path, profile: Profile, *, dem: str | Path | None = None,
    roads_sha256: str | None = None,
) -> str:
    """Cache key of the graph of ``roads`` for ``profile`` (and slope times from ``dem``).

    Parameters
    ----------
    roads
        The OSM road file.
    profile
        The travel profile the graph is built for.
    dem
        The DEM whose slopes scaled the walking times, or ``None``.
    roads_sha256
        The road file's SHA-256 when the caller has it already (saves reading the file).

    Returns
    -------
    str
        40 hex characters.
    """
    parts = {
        "format": CACHE_FORMAT,
        "roads": roads_sha256 or file_sha256(roads),
        "profile": _profile_fingerprint(profile),
        "dem": None if dem is None else file_sha256(dem),
    }
    text = json.dumps(parts, sort_keys=True, ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()[:40]


def save_road_graph(graph: RoadGraph, path: str | Path) -> Path:
    """Write ``graph`` to ``path`` (``.npz``) atomically.

    The profile is not stored beyond its fingerprint: :func:`load_saved_road_graph` takes
    the profile from the caller and refuses a file built for another one.
    """
    out = Path(path)
    coords, which = shapely.get_coordinates(graph.pedge_geometry, return_index=True)
    payload: dict[str, Any] = {name: np.asarray(getattr(graph, name)) for name in _ARRAYS}
    payload["edge_highway"] = np.asarray(graph.edge_highway, dtype=str)
    payload["pedge_coords"] = np.asarray(coords, dtype=np.float64)
    payload["pedge_coord_index"] = np.asarray(which, dtype=np.int64)
    for name in _MATRICES:
        m: sp.csr_matrix = getattr(graph, name)
        payload[f"{name}_data"] = m.data
        payload[f"{name}_indices"] = m.indices
        payload[f"{name}_indptr"] = m.indptr
    payload["meta"] = np.asarray(json.dumps({
        "format": CACHE_FORMAT,
        "crs_metric": graph.crs_metric,
        "n_nodes": graph.n_nodes,
        "profile": _profile_fingerprint(graph.profile),
    }))
    def write(tmp: Path) -> None:
        with open(tmp, "wb") as fh:  # a file object: np.savez adds no suffix
            np.savez(fh, **payload)

    atomic_write(out, write)
    return out


_NODE_ARRAYS: Final = ("node_ids", "lon", "lat", "x_m", "y_m")
_EDGE_ARRAYS: Final = ("edge_u", "edge_v", "edge_length_m", "edge_time_min", "edge_highway",
                       "edge_pedge", "edge_pedge_reversed")
_PEDGE_ARRAYS: Final = ("pedge_u", "pedge_v", "pedge_length_fwd_m", "pedge_length_bwd_m",
                        "pedge_time_fwd_min", "pedge_time_bwd_min")


def _check_index(name: str, a: np.ndarray, bound: int) -> None:
    if a.dtype.kind not in "iu":
        raise ValueError(f"{name} has dtype {a.dtype}, not integers")
    if len(a) and (int(a.min()) < 0 or int(a.max()) >= bound):
        raise ValueError(f"{name} holds indices outside 0..{bound - 1}")


def _check_costs(name: str, a: np.ndarray, *, allow_inf: bool) -> None:
    if a.dtype.kind != "f":
        raise ValueError(f"{name} has dtype {a.dtype}, not floats")
    bad = np.isnan(a) | (a < 0) | (False if allow_inf else np.isinf(a))
    if bad.any():
        raise ValueError(f"{name} holds {int(bad.sum())} negative, NaN or infinite values")


def validate_cached_arrays(z: Mapping[str, np.ndarray], n: int) -> None:
    """Check the arrays of a cached graph before any of them is used.

    A damaged or forged ``.npz`` (out-of-range indices segfault scipy's Dijkstra; negative
    times make it loop) must be rebuilt, never routed on: shapes, dtypes, index bounds, signs
    and finiteness are all checked.

    Raises
    ------
    ValueError
        Naming the first array found wrong.
    """
    if n < 0:
        raise ValueError(f"n_nodes is {n}")
    for names in (_NODE_ARRAYS, _EDGE_ARRAYS, _PEDGE_ARRAYS):
        sizes = {name: z[name].shape for name in names}
        first = sizes[names[0]]
        if len(first) != 1 or any(shape != first for shape in sizes.values()):
            raise ValueError(f"arrays of different shapes: {sizes}")
    if len(z["node_ids"]) != n:
        raise ValueError(f"{len(z['node_ids'])} nodes stored for n_nodes {n}")
    p = len(z["pedge_u"])
    for name in ("edge_u", "edge_v", "pedge_u", "pedge_v"):
        _check_index(name, z[name], n)
    _check_index("edge_pedge", z["edge_pedge"], p)
    if z["edge_pedge_reversed"].dtype != np.bool_:
        raise ValueError("edge_pedge_reversed is not boolean")
    for name in ("lon", "lat", "x_m", "y_m"):
        if z[name].dtype.kind != "f" or not np.isfinite(z[name]).all():
            raise ValueError(f"{name} holds non-finite coordinates")
    _check_costs("edge_length_m", z["edge_length_m"], allow_inf=False)
    _check_costs("edge_time_min", z["edge_time_min"], allow_inf=False)
    for name in _PEDGE_ARRAYS[2:]:
        _check_costs(name, z[name], allow_inf=True)  # inf: that direction is oneway
    for name in _MATRICES:
        data, indices, indptr = (z[f"{name}_{part}"] for part in ("data", "indices", "indptr"))
        if indptr.shape != (n + 1,) or indptr.dtype.kind not in "iu":
            raise ValueError(f"{name}_indptr has shape {indptr.shape}, expected ({n + 1},)")
        if (len(indptr) and (indptr[0] != 0 or indptr[-1] != len(indices)
                             or (np.diff(indptr) < 0).any())) or len(data) != len(indices):
            raise ValueError(f"{name}: inconsistent CSR structure")
        _check_index(f"{name}_indices", indices, n)
        _check_costs(f"{name}_data", data, allow_inf=False)
    coords, which = z["pedge_coords"], z["pedge_coord_index"]
    if coords.ndim != 2 or coords.shape[1] != 2 or not np.isfinite(coords).all():
        raise ValueError("pedge_coords is not a finite (k, 2) array")
    _check_index("pedge_coord_index", which, max(p, 1))
    if len(which) != len(coords) or (np.diff(which) < 0).any():
        raise ValueError("pedge_coord_index does not run along pedge_coords")


def load_saved_road_graph(path: str | Path, *, profile: Profile) -> RoadGraph:
    """Read a graph written by :func:`save_road_graph`.

    Raises
    ------
    ValueError
        When the file is not a cached graph of this format, or was built for another
        profile (callers rebuild in that case).
    """
    with np.load(path, allow_pickle=False) as z:
        meta = json.loads(str(z["meta"]))
        if meta.get("format") != CACHE_FORMAT:
            raise ValueError(f"cached graph format {meta.get('format')}, expected {CACHE_FORMAT}")
        if meta.get("profile") != json.loads(json.dumps(_profile_fingerprint(profile))):
            raise ValueError(f"cached graph was built for another profile than {profile.name!r}")
        n = int(meta["n_nodes"])
        validate_cached_arrays(z, n)
        arrays = {name: z[name] for name in _ARRAYS}
        matrices = {
            name: sp.csr_matrix((z[f"{name}_data"], z[f"{name}_indices"], z[f"{name}_indptr"]),
                                shape=(n, n))
            for name in _MATRICES
        }
        geometry = shapely.linestrings(z["pedge_coords"], indices=z["pedge_coord_index"])
    n_pedges = len(arrays["pedge_u"])
    if len(geometry) != n_pedges:
        raise ValueError(f"cached graph has {len(geometry)} edge lines for {n_pedges} edges")
    return RoadGraph(
        crs_metric=str(meta["crs_metric"]),
        pedge_geometry=np.asarray(geometry, dtype=object),
        profile=profile,
        **arrays,
        **matrices,
    )


def cached_road_graph(
    roads: str | Path,
    *,
    profile: Profile,
    build: Callable[[], RoadGraph],
    dem: str | Path | None = None,
    cache_dir: str | Path | None = None,
    use_cache: bool = True,
) -> tuple[RoadGraph, bool]:
    """The road graph of ``roads`` for ``profile``, from the cache or built and stored.

    Parameters
    ----------
    roads
        The OSM road file (its bytes are hashed for the key).
    profile
        Travel profile.
    build
        Builds the graph on a cache miss (e.g. read the file, build, scale by slope).
    dem
        DEM used by ``build`` for slope-aware walking times, part of the key.
    cache_dir
        Default ``get_settings().cache_dir / "roads"``.
    use_cache
        ``False`` builds without reading or writing the cache.

    Returns
    -------
    (graph, hit)
        ``hit`` is ``True`` when the graph came from the cache.
    """
    if not use_cache:
        return build(), False
    folder = Path(cache_dir) if cache_dir is not None else get_settings().cache_dir / "roads"
    path = folder / f"{road_graph_key(roads, profile, dem=dem)}.npz"
    if path.is_file():
        t0 = time.perf_counter()
        try:
            graph = load_saved_road_graph(path, profile=profile)
        except (ValueError, OSError, KeyError, EOFError, zipfile.BadZipFile,
                shapely.errors.GEOSException) as exc:
            log.warning("road graph cache %s is unreadable (%s); rebuilding it", path.name, exc)
        else:
            log.info("road graph of %s (%s) from the cache in %.2f s", Path(roads).name,
                     profile.name, time.perf_counter() - t0)
            return graph, True
    graph = build()
    try:
        save_road_graph(graph, path)
    except OSError as exc:  # a read-only or full cache folder must not fail the run
        log.warning("could not write the road graph cache %s: %s", path, exc)
    return graph, False
