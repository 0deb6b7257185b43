"""exactextract without its per-feature Python: WKB features in, columns of results out.

``exact_extract`` on a GeoDataFrame turns every polygon into a GeoJSON dict and a JSON string
(``__geo_interface__`` + ``json.dumps``) and builds a dict per result row; for 100,000 small
circles of the site hazard screen that is ~40 s of Python around ~5 s of exactextract's own
work.  :func:`exact_columns` hands exactextract the polygons as WKB (one vectorised
``shapely.to_wkb``) and collects every operation's result straight into a list per column:
the same C++ computation, so the same numbers.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray

__all__ = ["exact_columns"]


def exact_columns(rasters: Sequence[Any], geoms: NDArray[np.object_], ops: Sequence[Any], *,
                  srs_wkt: str | None, strategy: str = "raster-sequential",
                  max_cells_in_memory: int = 8_000_000) -> dict[str, list[Any]]:
    """Run exactextract operations over polygons; one list of results per operation.

    Parameters
    ----------
    rasters
        The exactextract raster sources the operations read (their ``values`` and
        ``weights``), as for ``exactextract.exact_extract``.
    geoms
        Polygons (shapely), non-empty, in the rasters' CRS.
    ops
        ``exactextract.operation.Operation`` objects; each gives a column named after it.
    srs_wkt
        The polygons' CRS (WKT), checked by exactextract against the rasters'.
    strategy, max_cells_in_memory
        As for ``exact_extract`` (``"raster-sequential"``: the raster read chunk by chunk,
        right for many polygons held as arrays; ``"feature-sequential"``: a window per
        polygon).

    Returns
    -------
    dict
        ``"_i"``: the position of each result's polygon in ``geoms`` (exactextract may skip
        polygons that miss every raster), and per operation name its values in that order.
    """
    from exactextract import exact_extract
    from exactextract._exactextract import Feature
    from exactextract.feature import FeatureSource
    from exactextract.writer import Writer

    columns: dict[str, list[Any]] = {"_i": [], **{op.name: [] for op in ops}}
    row: dict[str, Any] = {}

    class _In(Feature):  # type: ignore[misc]
        """One polygon: its position as the only field, its WKB as geometry."""

        def __init__(self, i: int, wkb: bytes) -> None:
            Feature.__init__(self)
            self._pos, self._wkb = i, wkb

        def fields(self) -> list[str]:
            return ["_i"]

        def get(self, name: str) -> int:
            return self._pos

        def geometry(self) -> bytes:
            return self._wkb

        def set_geometry_format(self) -> str:
            return "wkb"

    class _Source(FeatureSource):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self._wkbs = shapely.to_wkb(geoms)

        def count(self) -> int:
            return len(self._wkbs)

        def __iter__(self) -> Iterator[_In]:
            for i, wkb in enumerate(self._wkbs):
                yield _In(i, wkb)

        def srs_wkt(self) -> str | None:
            return srs_wkt

    class _Sink(Feature):  # type: ignore[misc]
        """Where exactextract copies a result row (a field it leaves out is ``None``)."""

        def __init__(self) -> None:
            Feature.__init__(self)

        def set(self, name: str, value: Any) -> None:
            row[name] = value

        def fields(self) -> list[str]:
            return []

        def set_geometry(self, geometry: Any) -> None:
            return None

        def geometry(self) -> None:
            return None

        def set_geometry_format(self) -> str:
            return "wkb"

    class _Collect(Writer):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self._sink = _Sink()

        def add_operation(self, op: Any) -> None:
            return None

        def add_column(self, name: str) -> None:
            return None

        def add_geometry(self) -> None:
            return None

        def features(self) -> None:
            return None

        def write(self, feature: Any) -> None:
            row.clear()
            feature.copy_to(self._sink)
            for name, col in columns.items():
                col.append(row.get(name))

    if len(geoms):
        exact_extract(list(rasters), _Source(), list(ops), include_cols=["_i"], strategy=strategy,
                      output=_Collect(), max_cells_in_memory=max_cells_in_memory)
    return columns
