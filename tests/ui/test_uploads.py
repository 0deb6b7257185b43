"""anzhi.ui.uploads: uploaded files are checked, then written only to the session's folder."""

from __future__ import annotations

import gc
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from shapely.geometry import box

from anzhi.core.errors import InputError
from layers.sites import read_sites
from anzhi.ui.uploads import UPLOAD_KINDS, SessionFolder, safe_filename, stage_uploads


@dataclass
class Upload:
    """Stands in for Streamlit's UploadedFile (name, size, getvalue)."""

    name: str
    data: bytes
    declared_size: int | None = None

    @property
    def size(self) -> int:
        return len(self.data) if self.declared_size is None else self.declared_size

    def getvalue(self) -> bytes:
        return self.data


@pytest.fixture()
def folder():
    f = SessionFolder()
    yield f
    f.cleanup()


def test_stage_writes_only_into_the_session_folder_and_loads(demo, folder, tmp_path) -> None:
    sites = Path(demo.sites).read_bytes()
    inputs = stage_uploads(
        {
            "sites": Upload("安置点.xlsx", sites),
            "roads": Upload("roads.osm", Path(demo.roads).read_bytes()),
            "facilities": [Upload("facilities.gpkg", Path(demo.facilities).read_bytes())],
            "townships": Upload("../../etc/townships.gpkg", Path(demo.townships).read_bytes()),
        },
        folder,
        coords=None,
    )
    for p in (inputs.sites, inputs.roads, *inputs.facilities, inputs.townships):
        assert p is not None and folder.path in p.parents
    assert inputs.sites.read_bytes() == sites and inputs.sites.name == "安置点.xlsx"
    assert inputs.townships is not None and inputs.townships.name == "townships.gpkg"
    assert inputs.dem is None and inputs.parcels is None
    # the staged files are what the CLI's loaders read (the whole region: tests/test_app.py)
    assert len(read_sites(inputs.sites, coords=inputs.coords)) > 0


def test_every_problem_is_listed_once(folder) -> None:
    kind = UPLOAD_KINDS["roads"]
    with pytest.raises(InputError) as err:
        stage_uploads(
            {
                "sites": Upload("sites.txt", b"x"),
                "roads": Upload("roads.osm", b"<osm/>", declared_size=kind.max_bytes + 1),
                "dem": Upload("dem.tif", b""),
                "weather": Upload("rain.csv", b"x"),
            },
            folder,
        )
    text = str(err.value)
    assert len(err.value.problems) == 4
    assert "sites.txt: file type '.txt' is not accepted for sites" in text and ".xlsx" in text
    assert f"the limit for roads is {kind.max_mb} MB" in text
    assert "dem.tif: the file is empty" in text
    assert "unknown upload kind 'weather'" in text
    # nothing refused was written
    assert not any(p.is_file() for p in folder.path.rglob("*"))


def test_required_files_and_single_file_kinds(folder) -> None:
    with pytest.raises(InputError, match="no roads file uploaded"):
        stage_uploads({"sites": Upload("s.csv", b"a,b\n")}, folder)
    with pytest.raises(InputError, match="2 files given for sites"):
        stage_uploads({"sites": [Upload("a.csv", b"1"), Upload("b.csv", b"2")],
                       "roads": Upload("r.osm", b"<osm/>")}, folder)


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_zipped_shapefile_is_extracted_safely(folder, tmp_path) -> None:
    gdf = gpd.GeoDataFrame({"parcel_id": ["P1"]}, geometry=[box(99, 24, 99.01, 24.01)], crs="EPSG:4326")
    shp = tmp_path / "parcels.shp"
    gdf.to_file(shp)
    parts = {f"sub/{p.name}": p.read_bytes() for p in tmp_path.glob("parcels.*")}
    parts["../evil.txt"] = b"never written"
    inputs = stage_uploads(
        {"sites": Upload("s.csv", b"a\n"), "roads": Upload("r.osm", b"<osm/>"),
         "parcels": Upload("地块.zip", _zip(parts))},
        folder,
    )
    assert inputs.parcels is not None and inputs.parcels.suffix == ".shp"
    assert folder.path in inputs.parcels.parents
    assert list(gpd.read_file(inputs.parcels)["parcel_id"]) == ["P1"]
    assert not any(p.name == "evil.txt" for p in folder.path.parent.rglob("evil.txt"))

    two = {"a.shp": b"1", "b.shp": b"2"}
    with pytest.raises(InputError, match="holds 2 Shapefiles"):
        stage_uploads({"sites": Upload("s.csv", b"a\n"), "roads": Upload("r.osm", b"<osm/>"),
                       "parcels": Upload("p.zip", _zip(two))}, folder)
    with pytest.raises(InputError, match="not a readable zip"):
        stage_uploads({"sites": Upload("s.csv", b"a\n"), "roads": Upload("r.osm", b"<osm/>"),
                       "townships": Upload("t.zip", b"not a zip")}, folder)


def test_session_folder_is_private_and_removed() -> None:
    f = SessionFolder()
    path = f.path
    assert path.is_dir() and (path.stat().st_mode & 0o777) == 0o700
    (f.fresh_subdir("sites") / "x.csv").write_text("1")
    assert not any(f.fresh_subdir("sites").iterdir())  # re-uploads replace what was there
    del f
    gc.collect()
    assert not path.exists()  # the session's state was dropped: its files go with it
    g = SessionFolder()
    g.cleanup()
    assert not g.path.exists() and not g.alive


@given(st.text(min_size=0, max_size=60))
def test_safe_filename_never_escapes(name: str) -> None:
    out = safe_filename(name)
    assert out and "/" not in out and "\\" not in out
    assert not out.startswith(".")
    assert out not in {".", ".."}


def test_safe_filename_keeps_chinese_names() -> None:
    assert safe_filename("C:\\Users\\县\\安置点 2023.xlsx") == "安置点 2023.xlsx"
    assert safe_filename("../../.bashrc") == "bashrc"
