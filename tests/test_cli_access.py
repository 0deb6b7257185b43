"""``anzhi access``: the access.csv of the demo county and of Andorra's real OSM extract."""

from __future__ import annotations

import csv
import logging
from pathlib import Path

import numpy as np
import osmium
import pandas as pd
import pytest

from anzhi.cli import main
from geo.geodesy import great_circle_m
from geo.routing import ACCESS_COLUMNS


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_demo_access_csv_explains_every_unroutable_site(tmp_path: Path, capsys, caplog) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "out" / "access.csv"
    code, text, err = _run(["access", "--demo", "--out", str(out), "--quiet"], capsys)
    assert code == 0, err
    acc = pd.read_csv(out, encoding="utf-8-sig", keep_default_na=False, na_values=[""])
    assert tuple(acc.columns) == ACCESS_COLUMNS
    reasons = acc["reason"].fillna("")
    assert set(reasons) <= {"", "no_road_nearby", "isolated_network", "no_facility"}
    routed = reasons == ""
    assert acc.loc[routed, ["dist_m", "time_min"]].notna().all().all()
    assert acc.loc[~routed, ["dist_m", "time_min"]].isna().all().all()
    # every unroutable site is named in the summary with its reason
    for site, reason in acc.loc[~routed, ["site_id", "reason"]].drop_duplicates().itertuples(
            index=False):
        assert f"site {site} " in text and reason in text
    assert f"{int(routed.sum())} of {len(acc)} routed" in text
    # the second run reads the road graph from the cache
    with caplog.at_level(logging.INFO, logger="layers.roadcache"):
        code, _, err = _run(["access", "--demo", "--out", str(out), "--quiet"], capsys)
    assert code == 0, err
    assert "from the cache" in caplog.text
    again = pd.read_csv(out, encoding="utf-8-sig", keep_default_na=False, na_values=[""])
    pd.testing.assert_frame_equal(acc, again)


def test_slope_changes_times_not_distances(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    # distances never depend on slope; times do (the demo county is steep)
    a, b = tmp_path / "slope.csv", tmp_path / "flat.csv"
    assert _run(["access", "--demo", "--out", str(a), "--quiet"], capsys)[0] == 0
    assert _run(["access", "--demo", "--out", str(b), "--quiet", "--flat"], capsys)[0] == 0
    sa, fa = pd.read_csv(a), pd.read_csv(b)
    np.testing.assert_allclose(sa["dist_m"], fa["dist_m"], rtol=1e-12)
    both = sa["time_min"].notna() & fa["time_min"].notna()
    assert (sa.loc[both, "time_min"] != fa.loc[both, "time_min"]).mean() > 0.5


def test_bad_arguments_write_nothing(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "access.csv"
    code, _, err = _run(["access", "--sites", str(tmp_path / "s.csv"), "--out", str(out)], capsys)
    assert code == 2 and "missing --roads" in err
    code, _, err = _run(["access", "--demo", "--out", str(tmp_path / "access.xlsx")], capsys)
    assert code == 2 and "give a .csv file name" in err
    roads = tmp_path / "roads.shp"
    roads.write_text("x")
    sites = tmp_path / "s.csv"
    sites.write_text("site_id,name,lon,lat,population\nA,a,106.7,26.6,100\n", encoding="utf-8")
    code, _, err = _run(["access", "--sites", str(sites), "--roads", str(roads), "--out",
                         str(out)], capsys)
    assert code == 2 and "roads.shp: not an OSM road file" in err
    code, _, err = _run(["access", "--demo", "--out", str(out), "--max-snap-m", "-5"], capsys)
    assert code == 2 and "--max-snap-m -5" in err
    assert not out.exists()


def test_help_names_the_reasons(capsys) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SystemExit):
        main(["access", "--help"])
    text = capsys.readouterr().out
    for word in ("no_road_nearby", "isolated_network", "no_facility", ".osm.pbf", "Tobler"):
        assert word in text


def _andorra_sites(pbf: Path, out: Path) -> pd.DataFrame:
    """Andorra's populated places as a site table, plus one site in Spain far from any road
    of the extract."""
    rows = []
    places = ("village", "hamlet", "town", "suburb", "isolated_dwelling")
    for o in osmium.FileProcessor(str(pbf), osmium.osm.NODE).with_filter(
            osmium.filter.KeyFilter("place")):
        if o.tags.get("place") in places:
            pop = o.tags.get("population", "")
            rows.append({"site_id": f"n{o.id}", "name": o.tags.get("name", ""),
                         "lon": o.location.lon, "lat": o.location.lat,
                         "population": int(pop) if pop.isdigit() else 300})
    rows.append({"site_id": "far", "name": "off the extract", "lon": 1.30, "lat": 42.30,
                 "population": 100})
    df = pd.DataFrame(rows)
    df.to_csv(out, index=False, quoting=csv.QUOTE_MINIMAL)
    return df


@pytest.mark.realdata
def test_andorra_pbf_with_real_amenities(shared_data: Path, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    pbf = shared_data / "osm" / "andorra-2020-05-01.osm.pbf"
    dem = shared_data / "dem" / "N42E001_SRTM3v2.1.tif"
    sites = _andorra_sites(pbf, tmp_path / "sites.csv")
    assert len(sites) > 50
    out = tmp_path / "access.csv"
    code, text, err = _run(["access", "--roads", str(pbf), "--sites", str(tmp_path / "sites.csv"),
                            "--facilities", str(pbf), "--dem", str(dem), "--outside-china",
                            "--out", str(out), "--quiet"], capsys)
    assert code == 0, err
    acc = pd.read_csv(out, keep_default_na=False, na_values=[""])
    types = set(acc["facility_type"])
    # the real amenities: hospital, doctors, school, kindergarten, police (pharmacies are not
    # a public-facility type)
    assert {"township_health_centre", "clinic", "primary_school", "kindergarten",
            "police_station"} <= types
    assert len(acc) == len(sites) * len(types)  # no site dropped
    far = acc[acc["site_id"] == "far"]
    assert (far["reason"] == "no_road_nearby").all() and far["snap_dist_m"].min() > 2000
    assert "site far " in text and "no_road_nearby" in text
    routed = acc[acc["reason"].fillna("") == ""]
    assert len(routed) >= 0.9 * len(acc)
    # a road distance is never shorter than the straight line to the facility it reaches
    from layers.facilities import read_facilities

    f = read_facilities(pbf)
    fac = pd.DataFrame({"nearest_facility_id": f["facility_id"], "flon": f.geometry.x,
                        "flat": f.geometry.y})
    m = routed.merge(sites.rename(columns={"lon": "slon", "lat": "slat"}), on="site_id") \
              .merge(fac, on="nearest_facility_id")
    straight = great_circle_m(m["slat"].to_numpy(), m["slon"].to_numpy(),
                              m["flat"].to_numpy(), m["flon"].to_numpy())
    assert (m["dist_m"].to_numpy() >= straight - 1e-6).all()
    # the XML extract of the same data gives the same table
    out2 = tmp_path / "access_xml.csv"
    code, _, err = _run(["access", "--roads", str(pbf.with_name("andorra-2020-05-01.osm.bz2")),
                         "--sites", str(tmp_path / "sites.csv"), "--facilities", str(pbf),
                         "--dem", str(dem), "--outside-china", "--out", str(out2), "--quiet"],
                        capsys)
    assert code == 0, err
    pd.testing.assert_frame_equal(acc, pd.read_csv(out2, keep_default_na=False, na_values=[""]))


@pytest.mark.parametrize("command, output", [("access", "one csv file, access.csv"),
                                             ("roads", "one OSM XML file")])
def test_help_names_the_one_output(command: str, output: str,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main([command, "--help"])
    assert f"\noutputs: --out ({output})" in capsys.readouterr().out
