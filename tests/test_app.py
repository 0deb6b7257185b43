"""The Streamlit app (app.py) driven by streamlit.testing.v1.AppTest on the demo county.

Expected figures are computed independently through the pipeline functions, so the tests
check the app against the rule engine rather than against itself.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from anzhi.pipeline import (RegionData, RegionInputs, evaluate_region, load_region, route_region,
                            screen_hazards)
from analysis.gaps import worst_status
from anzhi.ui.i18n import GAP_TABLE_COLUMNS, column_labels, status_label
from anzhi.ui.mapping import STATUS_COLOURS
from layers.rulesfile import read_rules

REPO = Path(__file__).resolve().parents[1]
APP = str(REPO / "app.py")
POLICE_KEY = "thr:police-800.min_population"
COVERED = ("ok", "ok_shared")


@pytest.fixture(scope="module")
def region() -> tuple[RegionData, pd.DataFrame]:
    """The demo county loaded and routed (walk) straight through the pipeline."""
    data = load_region(RegionInputs.demo())
    rules = read_rules("default")
    types = sorted(set(data.facilities["facility_type"].astype(str)) | set(rules.facility_types))
    access = route_region(data, profile="walk", facility_types=types, progress=False)
    return data, access


def _expected_rows(region: tuple[RegionData, pd.DataFrame], overrides: dict[str, Any]) -> int:
    """Rows of the app's gap table: every check that is not ok / ok_shared."""
    data, access = region
    rules = read_rules("default")
    if overrides:
        rules = rules.with_overrides(overrides)
    gaps, _ = evaluate_region(data, access, rules)
    return int((~gaps["status"].isin(COVERED)).sum())


def _run_app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    return at


def _map_args(at: AppTest) -> dict[str, Any]:
    maps = [c for c in at.get("component_instance") if "st_folium" in c.proto.component_name]
    assert len(maps) == 1
    return json.loads(maps[0].proto.json_args)


def test_app_loads_demo_with_map_and_gap_table(region) -> None:
    at = _run_app()
    assert at.title[0].value == "易地扶贫搬迁安置点公共服务设施检查"
    args = _map_args(at)
    data, _ = region
    # one circle per site (site features carry a fill colour), every facility drawn, and
    # nothing flows back from the map (panning never reruns the script)
    layers = [json.loads(d)["features"] for d in re.findall(r"_data = (\{.*\});$", args["script"], re.M)]
    site_ids = [f["properties"]["site_id"] for fs in layers for f in fs if "colour" in f["properties"]]
    assert sorted(site_ids) == sorted(data.sites["site_id"])
    n_fac = sum(1 for fs in layers for f in fs if "colour" not in f["properties"])
    assert n_fac == len(data.facilities)
    assert "L.circleMarker(" in args["script"]
    # each site coloured by its worst status as the rule engine computes it
    gaps, _ = evaluate_region(data, region[1], read_rules("default"))
    worst = dict(zip(worst_status(gaps)["site_id"], worst_status(gaps)["status"], strict=True))
    colours = {f["properties"]["site_id"]: f["properties"]["colour"] for fs in layers for f in fs
               if "colour" in f["properties"]}
    assert colours == {sid: STATUS_COLOURS[worst[sid]] for sid in data.sites["site_id"]}
    assert STATUS_COLOURS["gap_missing"] in colours.values()  # the demo has red sites
    # clicks flow back, and the view (kept for the next map drawn); no view given at first
    assert args["returned_objects"] == ["last_object_clicked", "last_clicked", "center", "zoom"]
    assert args.get("center") is None and args.get("zoom") is None
    # the map's libraries are served by the app itself (static/vendor, `make assets`)
    links = args["js_links"] + args["css_links"]
    assert links and all(u.startswith("/app/static/vendor/") for u in links), links
    assert not at.warning
    gap_table = at.dataframe[0].value
    assert len(gap_table) > 0
    assert len(gap_table) == _expected_rows(region, {})
    assert list(gap_table.columns) == list(column_labels(GAP_TABLE_COLUMNS, "zh").values())
    # the hazard screen of the sites (the demo has a DEM), as the pipeline computes it
    hazard = screen_hazards(data)
    assert hazard is not None
    flags = dict(zip(hazard["site_id"].astype(str), hazard["hazard"], strict=True))
    name_flag = {str(n): flags[str(i)] for i, n in zip(data.sites["site_id"], data.sites["site_name"],
                                                     strict=True)}
    shown = dict(zip(gap_table["安置点名称"], gap_table["地质灾害隐患"], strict=False))
    assert shown and all(v == ("是" if name_flag[n] else "否") for n, v in shown.items())
    assert at.dataframe[1].value.shape[0] > 0  # coverage by township
    assert at.metric[0].value == f"{len(data.sites):,}"


def test_map_keeps_its_view_across_threshold_and_language_changes() -> None:
    at = _run_app()
    # the browser reported a pan and zoom (what st_folium's returned center/zoom give)
    at.session_state["map:view"] = (24.61, 99.18, 14)
    at.run()
    args = _map_args(at)
    # the map drawn is the same one: it is not told to jump (it is already there)
    assert args.get("center") is None and args.get("zoom") is None
    at.number_input(key=POLICE_KEY).set_value(1000).run()
    args = _map_args(at)  # a new map (new statuses): drawn at the kept view
    assert args["center"] == [24.61, 99.18] and args["zoom"] == 14
    at.session_state["map:view"] = (24.70, 99.25, 12)  # panned again on the new map
    at.run()
    assert _map_args(at)["center"] == [24.61, 99.18]  # no jump back while the map stays
    at.radio(key="lang").set_value("en").run()
    args = _map_args(at)
    assert args["center"] == [24.70, 99.25] and args["zoom"] == 12


def test_what_if_placement_closes_gaps_without_routing_the_county_again(region) -> None:
    from anzhi.whatif import placed_facilities, with_placed

    data, access = region
    at = _run_app()
    runs = at.session_state["anzhi:route_runs"] if "anzhi:route_runs" in at.session_state else 0
    n_before = len(at.dataframe[0].value)
    # a police room placed beside two large sites that lack one (what a map click does)
    gaps, _ = evaluate_region(data, access, read_rules("default"))
    lacking = gaps[(gaps["rule_id"] == "police-800") & gaps["status"].str.startswith("gap")]
    where = data.sites.set_index("site_id").loc[lacking["site_id"].head(2).tolist()].geometry
    placed = [("police_room", float(g.x) + 0.0005, float(g.y)) for g in where]
    at.session_state["whatif:placed"] = placed
    at.run()
    assert not at.exception, at.exception
    data2, access2 = with_placed(data, access, placed_facilities(placed), profile="walk")
    expected = _rows_of(evaluate_region(data2, access2, read_rules("default"))[0])
    assert len(at.dataframe[0].value) == expected < n_before
    # only the placed facilities were routed: the county's access table came from the cache
    assert (at.session_state["anzhi:route_runs"] if "anzhi:route_runs" in at.session_state else 0) == runs
    labels = [b.proto.label for b in at.get("download_button")]
    assert "下载假设设施表(csv)" in labels
    assert "已放置 2 处假设设施" in [c.value for c in at.caption]
    at.button(key="whatif:clear").click().run()
    assert len(at.dataframe[0].value) == n_before


def test_recommend_panel_sites_facilities_and_a_budget_change_only_solves(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from anzhi.cli import main as cli

    at = _run_app()
    at.toggle(key="site:on").set_value(True).run()
    assert not at.exception, at.exception
    at.multiselect(key="site:types").set_value(["clinic"]).run()
    at.radio(key="site:model").set_value("mclp").run()
    at.number_input(key="site:budget").set_value(2).run()
    assert not at.exception, at.exception
    preps = at.session_state["anzhi:siting_preps"]
    table = at.dataframe[-1].value
    assert list(table["设施类型"]) == ["卫生室", "卫生室"]
    # the same answer as the command line's
    out = tmp_path / "site"
    assert cli(["site", "--demo", "--type", "clinic", "--model", "mclp", "--budget", "2",
                "--out", str(out), "--quiet"]) == 0
    want = pd.read_csv(out / "siting.csv", encoding="utf-8-sig")
    assert sorted(table["候选点"].astype(str)) == sorted(want["candidate_id"].astype(str))
    assert int(table["新增覆盖人口"].sum()) == int(round(want["pop_covered_new"].sum()))
    # on the map: one star per recommended facility, and the files to download
    script = _map_args(at)["script"]
    assert script.count("anzhi-recommended") >= 1 and "fa-star" in script
    labels = [b.proto.label for b in at.get("download_button")]
    assert {"siting.xlsx", "siting.csv", "facilities_after.csv"} <= set(labels)
    # a bigger budget solves again on the same routing
    at.number_input(key="site:budget").set_value(4).run()
    assert len(at.dataframe[-1].value) == 4
    assert at.session_state["anzhi:siting_preps"] == preps
    at.radio(key="site:model").set_value("lscp").run()
    assert not at.exception, at.exception
    assert at.session_state["anzhi:siting_preps"] == preps


def test_compare_with_a_previous_run_colours_sites_by_change(region, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from anzhi.cli import main as cli

    # last month's run: the police-800 threshold at 1,000 people
    before = tmp_path / "before"
    assert cli(["gaps", "--demo", "--set", "police-800.min_population=1000", "--out",
                str(before), "--quiet"]) == 0
    old = pd.read_csv(before / "gaps.csv", encoding="utf-8-sig", dtype={"site_id": str})
    data, access = region
    now, _ = evaluate_region(data, access, read_rules("default"))
    # expected, independently: rows present now but not then (the rule now applies at 800+)
    key = ["site_id", "rule_id"]
    merged = now.merge(old[key + ["status"]], on=key, how="left", suffixes=("", "_old"),
                       indicator=True)
    n_new_rows = int((merged["_merge"] == "left_only").sum())
    assert n_new_rows > 0

    at = _run_app()
    at.sidebar.get("file_uploader")  # the panel is there
    at.file_uploader(key="cmp:file").upload("gaps.xlsx", (before / "gaps.xlsx").read_bytes())
    at.run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    table = at.dataframe[-1].value
    assert len(table) == n_new_rows  # only the rows that changed are listed
    assert set(table["变化"]) <= {"新适用", "新增缺口", "缺口补齐", "状态变化"}
    script = _map_args(at)["script"]
    esc = json.dumps("与上次相比")[1:-1]
    assert "与上次相比" in script or esc in script  # the legend of the change colours
    assert "#bdbdbd" in script  # unchanged sites drawn grey


def test_land_section_shows_the_land_commands_tables(demo, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from anzhi.cli import main as cli

    out = tmp_path / "land"
    assert cli(["land", "--demo", "--out", str(out)]) == 0
    villages = pd.read_csv(out / "land_villages.csv", encoding="utf-8-sig")
    at = _run_app()
    at.toggle(key="land:on").set_value(True).run()
    assert not at.exception, at.exception
    tables = [d.value for d in at.dataframe]
    shown = next(t for t in tables if "坡度>25°面积(公顷)" in t.columns and "地块数" in t.columns)
    assert list(shown["村"]) == list(villages["village"].astype(str))
    assert np.allclose(shown["坡度>25°面积(公顷)"], (villages["area_gt25_m2"] / 1e4).round(2))
    cands = next(t for t in tables if "依据" in t.columns)
    assert len(cands) and (cands["依据"].str.len() > 0).all()
    assert "land.xlsx" in [b.proto.label for b in at.get("download_button")]


def _rows_of(gaps: pd.DataFrame) -> int:
    return int((~gaps["status"].isin(COVERED)).sum())


def test_police_threshold_changes_gaps_as_the_rule_engine_says(region) -> None:
    at = _run_app()
    widget = at.number_input(key=POLICE_KEY)
    assert widget.value == 800
    runs_before = at.session_state["anzhi:route_runs"] if "anzhi:route_runs" in at.session_state else 0
    n_800 = len(at.dataframe[0].value)
    assert n_800 == _expected_rows(region, {})

    widget.set_value(1000).run()
    assert not at.exception, at.exception
    expected_1000 = _expected_rows(region, {"police-800.min_population": 1000})
    assert expected_1000 != n_800, "the demo county should have a site of 800–999 people lacking a police room"
    assert len(at.dataframe[0].value) == expected_1000
    # "save these thresholds" offers the changed rule file (its text: tests/analysis/test_rules.py)
    assert [b.proto.label for b in at.get("download_button")] == ["保存当前阈值(规则文件)"]
    # a threshold change re-evaluates rules only: routing is not run again
    runs_after = at.session_state["anzhi:route_runs"] if "anzhi:route_runs" in at.session_state else 0
    assert runs_after == runs_before


@pytest.mark.parametrize("profile", ["drive", "motorbike"])
def test_profile_switch_routes_again_with_that_profile(region, profile: str) -> None:  # type: ignore[no-untyped-def]
    """Choosing another travel profile routes once more with it, and every reach limit then
    applies to that profile's access table, as the pipeline computes it."""
    data, _ = region
    at = _run_app()
    runs = at.session_state["anzhi:route_runs"] if "anzhi:route_runs" in at.session_state else 0
    at.radio(key="profile").set_value(profile).run()
    assert not at.exception, at.exception
    assert at.session_state["anzhi:route_runs"] == runs + 1
    rules = read_rules("default")
    types = sorted(set(data.facilities["facility_type"].astype(str)) | set(rules.facility_types))
    access = route_region(data, profile=profile, facility_types=types, progress=False)
    overrides = {f"{r.id}.profile": profile for r in rules
                 if r.satisfied_by.within_reach is not None}
    gaps, _ = evaluate_region(data, access, rules.with_overrides(overrides))
    assert len(at.dataframe[0].value) == int((~gaps["status"].isin(COVERED)).sum())


def test_language_switch_changes_headers_and_labels() -> None:
    at = _run_app()
    zh = at.dataframe[0].value
    assert "安置点名称" in zh.columns and "原因" in zh.columns
    assert set(zh["状态"]) <= {status_label(s, "zh") for s in ("gap_missing", "gap_capacity", "unroutable")}

    at.radio(key="lang").set_value("en").run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Relocation-site facility check"
    en = at.dataframe[0].value
    assert list(en.columns) == list(column_labels(GAP_TABLE_COLUMNS, "en").values())
    assert "Site name" in en.columns and "安置点名称" not in en.columns
    assert len(en) == len(zh)
    assert set(en["Status"]) <= {status_label(s, "en") for s in ("gap_missing", "gap_capacity", "unroutable")}
    # reasons switch language too (gaps.reason_en)
    assert not en["Reason"].str.contains("安置点内无").any()


def test_township_filter_limits_map_and_tables(region) -> None:
    data, _ = region
    at = _run_app()
    towns = at.selectbox(key="filter:township")
    town = sorted(set(data.sites["township"]))[0]
    towns.set_value(town).run()
    assert not at.exception, at.exception
    expected_sites = set(data.sites.loc[data.sites["township"] == town, "site_id"])
    layers = [json.loads(d)["features"] for d in re.findall(r"_data = (\{.*\});$", _map_args(at)["script"], re.M)]
    shown = {f["properties"]["site_id"] for fs in layers for f in fs if "colour" in f["properties"]}
    assert shown == expected_sites
    assert set(at.dataframe[0].value["乡镇"]) <= {town}
    assert set(at.dataframe[1].value["乡镇"]) == {town}
    assert at.metric[0].value == f"{len(expected_sites):,}"


def test_township_chart_shows_one_rules_coverage_per_township(region) -> None:
    import pyarrow as pa

    data, access = region
    at = _run_app()
    at.selectbox(key="cov:rule").set_value("police-800").run()
    assert not at.exception, at.exception
    charts = at.get("vega_lite_chart")
    assert len(charts) == 2  # by rule, then by township
    got = pa.ipc.open_stream(charts[1].proto.datasets[0].data.data).read_all().to_pandas()
    # expected straight from the rule engine's coverage table
    _, coverage = evaluate_region(data, access, read_rules("default"))
    cov = coverage[(coverage["level"] == "township") & (coverage["rule_id"] == "police-800")]
    want = dict(zip(cov["township"].astype(str), (100 * cov["share_sites"]).round(1), strict=True))
    assert dict(zip(got["乡镇"], got["安置点覆盖率(%)"], strict=True)) == pytest.approx(want)
    assert list(got["安置点覆盖率(%)"]) == sorted(got["安置点覆盖率(%)"])  # lowest first


def _error_script(repo: str) -> None:
    import sys

    sys.path.insert(0, repo)
    from anzhi.core.errors import InputError, Problem
    from app import show_error

    show_error(
        InputError(
            [
                Problem("population is negative", file="sites.xlsx", row=5, column="人数", value=-3),
                Problem("unknown facility type", file="facilities.csv", row=2, value="卫生站*"),
            ]
        ),
        "zh",
    )


def test_anzhi_error_lists_every_problem() -> None:
    at = AppTest.from_function(_error_script, args=(str(REPO),), default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    assert len(at.error) == 1
    text = at.error[0].value
    assert "输入数据有问题" in text
    assert text.count("\n- ") == 2
    assert "sites.xlsx, row 5" in text and "facilities.csv, row 2" in text
    assert "卫生站\\*" in text  # markdown characters are escaped, not interpreted


def _bad_sites_xlsx() -> bytes:
    """A real site table with two errors the loader must report (row 3 and row 4)."""
    import io

    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["安置点名称", "乡镇", "人数", "经度", "纬度"])
    ws.append(["河坝安置点", "甸阳镇", 850, 99.1, 24.6])
    ws.append(["新村安置点", "甸阳镇", -3, 99.2, 24.7])
    ws.append(["城北社区", "由旺镇", 1200, 24.8, 251.3])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_bad_upload_lists_the_loaders_problems(demo) -> None:
    at = _run_app()
    at.radio(key="data_source").set_value("upload").run()
    assert not at.exception, at.exception
    # nothing uploaded yet: the app asks for the two required files, no map, no error
    assert any("OSM" in i.value for i in at.info)
    assert not at.get("component_instance")
    # the upload panel offers the two blank templates, the same bytes `templates/` holds
    from layers.templates import TEMPLATE_NAMES, template_bytes

    buttons = {b.proto.label: b for b in at.get("download_button")}
    assert set(buttons) == {"安置点模板.xlsx", "设施模板.xlsx"}
    assert set(TEMPLATE_NAMES.values()) == set(buttons)
    assert template_bytes("sites")[:2] == b"PK"
    bad = _bad_sites_xlsx()  # once: an xlsx carries its write time
    at.file_uploader(key="up:sites").upload("安置点.xlsx", bad)
    at.file_uploader(key="up:roads").upload("roads.osm", Path(demo.roads).read_bytes())
    at.run()
    assert not at.exception, at.exception
    assert len(at.error) == 1
    text = at.error[0].value
    assert "输入数据有问题" in text
    assert text.count("\n- ") == 2  # one bullet per problem, both problems listed
    assert "安置点.xlsx, row 3, column '人数': population is negative" in text
    assert "row 4, column '纬度': 251.3 is not a latitude" in text
    # the upload went into this session's own temporary folder, nowhere else
    folder = at.session_state["anzhi:folder"]
    assert (folder.path / "sites" / "安置点.xlsx").read_bytes() == bad
    assert folder.path.name.startswith("anzhi-upload-")


def test_good_upload_runs_like_the_demo(demo, region, tmp_path) -> None:
    data, _ = region
    at = _run_app()
    at.radio(key="data_source").set_value("upload").run()
    at.file_uploader(key="up:sites").upload("sites.xlsx", Path(demo.sites).read_bytes())
    at.file_uploader(key="up:roads").upload("roads.osm", Path(demo.roads).read_bytes())
    at.file_uploader(key="up:facilities").upload("facilities.gpkg", Path(demo.facilities).read_bytes())
    at.run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    # the same files give the same gap list as the demo through the pipeline
    assert len(at.dataframe[0].value) == _expected_rows(region, {})
    assert at.metric[0].value == f"{len(data.sites):,}"

    # a parcel layer goes through the CLI's parcel loader: its problems are listed
    import geopandas as gpd
    from shapely.geometry import box

    bad = tmp_path / "地块.geojson"
    gpd.GeoDataFrame({"名称": ["x"]}, geometry=[box(99, 24, 99.01, 24.01)], crs="EPSG:4326").to_file(bad)
    at.file_uploader(key="up:parcels").upload("地块.geojson", bad.read_bytes())
    at.run()
    assert not at.exception, at.exception
    assert len(at.error) == 1
    text = at.error[0].value
    assert "地块.geojson" in text and "no 'parcel\\_id' column" in text and "no 'village' column" in text


def test_map_click_selects_the_sites_rows(region) -> None:
    from anzhi.ui.tables import site_at

    data, _ = region
    row = data.sites.iloc[3]
    assert site_at(data.sites, {"lat": row.geometry.y, "lng": row.geometry.x}) == row["site_id"]
    assert site_at(data.sites, {"lat": row.geometry.y + 0.01, "lng": row.geometry.x}) is None
    assert site_at(data.sites, None) is None

    gaps, _ = evaluate_region(data, region[1], read_rules("default"))
    bad = gaps[~gaps["status"].isin(COVERED)]
    site_id = bad["site_id"].value_counts().index[0]
    at = _run_app()
    at.session_state["sel:site"] = site_id  # what a click on the site's circle stores
    at.run()
    assert not at.exception, at.exception
    name = str(bad.loc[bad["site_id"] == site_id, "site_name"].iloc[0])
    assert any(name in i.value for i in at.info)
    table = at.dataframe[0].value
    assert len(table) == int((bad["site_id"] == site_id).sum())
    assert set(table["安置点名称"]) == {name}
    # the selected site's routes to its nearest facility of each type are drawn
    script = _map_args(at)["script"]
    access = region[1]
    routed = access[(access["site_id"] == site_id) & access["dist_m"].notna()]
    assert 0 < script.count("anzhi-route") <= len(routed)
    assert "到最近" in script or json.dumps("到最近")[1:-1] in script
    at.button(key="sel:clear").click().run()
    assert len(at.dataframe[0].value) == _expected_rows(region, {})
    assert "anzhi-route" not in _map_args(at)["script"]


def test_road_network_layer_and_printed_map(region) -> None:
    at = _run_app()
    script = _map_args(at)["script"]
    esc = json.dumps("道路网: ")[1:-1]  # layer names may be \u-escaped in the script
    assert script.count("道路网: ") + script.count(esc) >= 2  # one layer per road class
    assert json.dumps("道路网: 村道/其他道路")[1:-1] in script or "道路网: 村道/其他道路" in script
    at.checkbox(key="show_roads").set_value(False).run()
    off = _map_args(at)["script"]
    assert "道路网: " not in off and esc not in off
    # the printable map of the view, as anzhi map draws it
    towns = at.selectbox(key="filter:township")
    town = sorted(set(region[0].sites["township"]))[0]
    towns.set_value(town).run()
    at.selectbox(key="print:type").set_value("clinic").run()
    at.button(key="print:make").click().run()
    assert not at.exception, at.exception
    made = at.session_state["anzhi:printed"][1]
    assert made["png"][:8] == b"\x89PNG\r\n\x1a\n" and made["pdf"][:4] == b"%PDF"
    assert len(made["png"]) > 50_000
    labels = [b.proto.label for b in at.get("download_button")]
    assert f"专题图_{town}_clinic.png" in labels and f"专题图_{town}_clinic.pdf" in labels


def test_steep_land_is_one_image_of_the_slope_polygons(region) -> None:
    # land > 25° reaches the page as one small PNG, not a megabyte of polygons: its opaque
    # pixels are where the pipeline's slope > 25° polygons are, and only there
    import base64
    import io

    import numpy as np
    from PIL import Image
    from pyproj import Transformer
    from shapely.geometry import Point

    from anzhi.pipeline import steep_land

    data, _ = region
    at = _run_app()
    script = _map_args(at)["script"]
    assert len(script) < 700_000  # the polygons alone were 1.2 MB
    found = re.findall(r'L\.imageOverlay\("data:image/png;base64,([^"]+)",\s*'
                       r"\[\[([-\d.e]+), ([-\d.e]+)\],\s*\[([-\d.e]+), ([-\d.e]+)\]\]", script)
    assert len(found) == 1
    png, south, west, north, east = found[0]
    alpha = np.asarray(Image.open(io.BytesIO(base64.b64decode(png))).convert("RGBA"))[:, :, 3]
    bounds = tuple(round(float(v), 6) for v in data.sites.geometry.to_crs(4326).total_bounds)
    polygons = steep_land(RegionInputs.demo().dem, threshold_deg=25.0, bounds=bounds)
    to_m = Transformer.from_crs(4326, 3857, always_xy=True).transform
    (x0, y0), (x1, y1) = to_m(float(west), float(south)), to_m(float(east), float(north))

    def opaque(p: Point) -> bool:  # the image spans its corners linearly in Web Mercator
        x, y = to_m(p.x, p.y)
        rows, cols = alpha.shape
        return bool(alpha[min(int((y1 - y) / (y1 - y0) * rows), rows - 1),
                          min(int((x - x0) / (x1 - x0) * cols), cols - 1)] > 0)

    metric = polygons.to_crs(polygons.estimate_utm_crs())
    cores = metric.geometry.buffer(-45.0)  # 1.5 pixels inside: clear of edge pixels
    inside = [p for p in cores[~cores.is_empty].to_crs(4326).representative_point()][:200]
    assert len(inside) > 50 and all(opaque(p) for p in inside)
    rng = np.random.default_rng(7)
    far = metric.geometry.union_all().buffer(45.0)
    probes = gpd.GeoSeries(gpd.points_from_xy(rng.uniform(float(west), float(east), 400),
                                              rng.uniform(float(south), float(north), 400)), crs=4326)
    clear = [p for p, q in zip(probes, probes.to_crs(metric.crs), strict=True) if not far.contains(q)]
    assert len(clear) > 50 and not any(opaque(p) for p in clear)
    at.checkbox(key="show_steep").uncheck().run()
    assert "L.imageOverlay(" not in _map_args(at)["script"]


def test_gap_filters_types_and_presets(region) -> None:
    at = _run_app()
    n_all = len(at.dataframe[0].value)
    at.multiselect(key="gap:status").set_value(["unroutable"]).run()
    assert set(at.dataframe[0].value["状态"]) <= {status_label("unroutable", "zh")}
    at.multiselect(key="gap:status").set_value([]).run()
    at.multiselect(key="show_types").set_value(["police_room"]).run()
    table = at.dataframe[0].value
    assert 0 < len(table) < n_all and set(table["设施类型"]) == {"警务室"}
    # every preset of analysis.rules is offered, and each has its thresholds as inputs
    from analysis.rules import preset_names

    assert list(at.selectbox(key="preset").options) == preset_names()
    other = [n for n in preset_names() if n != "default"][0]
    at.selectbox(key="preset").set_value(other).run()
    assert not at.exception, (other, at.exception)
    from anzhi.ui.thresholds import rule_thresholds

    expected = {f"thr:{x.override_key}" for x in rule_thresholds(read_rules(other))}
    assert {w.key for w in at.number_input} == expected and expected


def test_downloads_use_the_cli_writers(region, tmp_path) -> None:
    data, access = region
    at = _run_app()
    at.number_input(key=POLICE_KEY).set_value(1000).run()
    at.button(key="dl:prepare").click().run()
    assert not at.exception, at.exception
    files = at.session_state["anzhi:downloads"][1]
    assert {"gaps.xlsx", "gaps.csv", "coverage.csv", "gaps.gpkg"} <= set(files)
    # one button per prepared file (the blank templates live in the upload panel only),
    # besides the sidebar's "save these thresholds"
    buttons = [b.proto.label for b in at.get("download_button")]
    assert buttons.count("保存当前阈值(规则文件)") == 1
    assert len(buttons) - 1 == len(files)
    import io

    got = pd.read_csv(io.BytesIO(files["gaps.csv"]))
    rules = read_rules("default").with_overrides({"police-800.min_population": 1000})
    expected, _ = evaluate_region(data, access, rules)
    assert len(got) == len(expected)
    assert (got["status"].value_counts().sort_index() == expected["status"].value_counts().sort_index()).all()
    assert files["gaps.xlsx"][:2] == b"PK"  # a real xlsx (zip) file
    gpkg = tmp_path / "gaps.gpkg"
    gpkg.write_bytes(files["gaps.gpkg"])
    import geopandas as gpd

    assert len(gpd.read_file(gpkg, layer="gaps")) == len(expected)
    assert len(gpd.read_file(gpkg, layer="sites")) == len(data.sites)
    # a later threshold change marks the prepared files stale instead of offering old ones
    at.number_input(key=POLICE_KEY).set_value(800).run()
    assert any("重新生成" in c.value for c in at.caption)


def _service_layers(args: dict[str, Any]) -> dict[str, float]:
    """Service-area polygons drawn on the map: layer name → area (km², metric CRS)."""
    import geopandas as gpd

    out: dict[str, float] = {}
    for text in re.findall(r"L\.geoJson\((\{.*?\}), \{", args["script"], re.DOTALL):
        fc = json.loads(text)
        for f in fc["features"]:
            name = f["properties"].get("name", "")
            if name.startswith("服务范围 (道路网"):
                g = gpd.GeoDataFrame.from_features([f], crs="EPSG:4326")
                out[name] = float(g.to_crs(g.estimate_utm_crs()).area.iloc[0]) / 1e6
    return out


def test_service_areas_follow_the_road_network_and_rule_minutes(region) -> None:
    from anzhi.core.vocabulary import label
    from anzhi.pipeline import region_elevation
    from geo.service import service_areas

    data, _ = region
    at = _run_app()
    assert not _service_layers(_map_args(at))  # off by default
    at.checkbox(key="show_areas").check().run()
    assert not at.exception, at.exception
    drawn = _service_layers(_map_args(at))

    # expected: the clinic and primary-school rules' 30 min, the other types the control's 15
    rg = data.road_graph("walk")  # the slope-aware graph the app routes on
    # facility legs on their slope too, as in the access table
    elev = region_elevation(data.inputs, profile="walk", crs=rg.crs_metric)
    assert elev is not None  # the demo county has a DEM
    types = sorted(set(data.facilities["facility_type"].astype(str)))
    timed = {"clinic", "primary_school"}

    def areas(**kw: object) -> pd.DataFrame:
        return pd.concat([
            service_areas(rg, data.facilities, minutes=30.0,
                          facility_types=sorted(timed & set(types)), **kw),  # type: ignore[arg-type]
            service_areas(rg, data.facilities, minutes=15.0,
                          facility_types=sorted(set(types) - timed), **kw),  # type: ignore[arg-type]
        ])

    direct = areas(elevation_m=elev)
    flat_legs = areas()
    # the demo's facilities sit off their roads on slopes: the legs' grade shows in the areas
    assert (np.abs(direct["area_km2"].to_numpy() - flat_legs["area_km2"].to_numpy())
            > 0.01 * flat_legs["area_km2"].to_numpy()).any()
    # a type whose facilities reach no road in time has an empty area, not drawn
    expected = {f"服务范围 (道路网 {m:g} 分钟): {label(ft, 'zh')}": a
                for ft, m, a in zip(direct["facility_type"], direct["minutes"], direct["area_km2"],
                                    strict=True) if a > 0}
    assert set(drawn) == set(expected)
    for name, area in expected.items():
        assert drawn[name] == pytest.approx(area, rel=0.01), name

    # cached per type and minutes: an unrelated threshold recomputes nothing,
    # the clinic rule's time limit recomputes the clinic area only
    def service_runs() -> int:
        return at.session_state["anzhi:service_runs"] if "anzhi:service_runs" in at.session_state else 0

    runs = service_runs()
    at.number_input(key=POLICE_KEY).set_value(1000).run()
    assert service_runs() == runs
    at.number_input(key="thr:health-every-site.max_time_min").set_value(20.0).run()
    assert not at.exception, at.exception
    assert service_runs() == runs + 1
    assert "服务范围 (道路网 20 分钟): 卫生室" in _service_layers(_map_args(at))


def test_capacity_norms_are_editable_and_follow_the_rule_engine(region) -> None:  # type: ignore[no-untyped-def]
    at = _run_app()
    assert at.number_input(key="thr:kindergarten-scale.child_share").value == pytest.approx(0.04)
    ratio = at.number_input(key="thr:police-ratio.max_per_unit")
    assert ratio.value == 5000
    n_before = len(at.dataframe[0].value)
    assert n_before == _expected_rows(region, {})
    # the strict end of 保山民政 2021's 3,000–5,000 residents per officer
    ratio.set_value(3000).run()
    assert not at.exception, at.exception
    expected = _expected_rows(region, {"police-ratio.max_per_unit": 3000})
    assert expected > n_before, "the demo should have police rooms short of officers at 3,000 per officer"
    assert len(at.dataframe[0].value) == expected
    # "any staffing" (一室一警 encoded as 1e9 per officer) is not offered as a figure
    assert not [w for w in at.number_input if w.key == "thr:police-3000.max_per_unit"]


def test_first_load_imports_no_osmnx_sklearn_or_matplotlib(demo) -> None:  # type: ignore[no-untyped-def]
    """The app's first run (load, route, steep land, map) in a fresh interpreter pulls in
    neither osmnx nor scikit-learn (nor matplotlib): they are imported only where used."""
    import subprocess
    import sys

    probe = (
        "import sys\n"
        "from streamlit.testing.v1 import AppTest\n"
        f"at = AppTest.from_file({APP!r}, default_timeout=120)\n"
        "at.run()\n"
        "assert not at.exception and not at.error, (at.exception, at.error)\n"
        "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True, cwd=REPO)
    loaded = set(out.stdout.split())
    assert {"streamlit", "folium", "anzhi"} <= loaded  # the probe really ran the app
    assert loaded & {"osmnx", "sklearn", "matplotlib"} == set()


def test_offset_facilities_are_flagged_in_the_app(demo, tmp_path) -> None:
    # facilities moved by the GCJ-02 shift (points picked on Amap saved as EPSG:4326): the run
    # warns on the page and names the flag, as the CLI does
    import geopandas as gpd

    from geo.coords import wgs84_to_gcj02

    fac = gpd.read_file(demo.facilities)
    lon, lat = wgs84_to_gcj02(fac.geometry.x.to_numpy(), fac.geometry.y.to_numpy())
    shifted = tmp_path / "设施.gpkg"
    fac.set_geometry(gpd.points_from_xy(lon, lat), crs=4326).to_file(shifted)
    at = _run_app()
    at.radio(key="data_source").set_value("upload").run()
    at.file_uploader(key="up:sites").upload("sites.xlsx", Path(demo.sites).read_bytes())
    at.file_uploader(key="up:roads").upload("roads.osm", Path(demo.roads).read_bytes())
    at.file_uploader(key="up:facilities").upload("设施.gpkg", Path(demo.facilities).read_bytes())
    at.run()
    assert not at.exception, at.exception
    assert not any("facility-coords" in w.value for w in at.warning)  # aligned: no warning
    at.file_uploader(key="up:facilities").upload("设施.gpkg", shifted.read_bytes())
    at.run()
    assert not at.exception, at.exception
    assert any("--facility-coords" in w.value for w in at.warning), [w.value for w in at.warning]
