"""Public facilities of the demo county, and the sites' 卫生室 column (SYNTHETIC DATA).

:func:`place_facilities` puts hospitals, schools, police, services and shops in the county
towns and township seats, clinics, committees and schools in the villages, and the at-site
facilities of the relocation sites — leaving deliberate gaps (large sites without a police
room, sites without a clinic) for the analysis to find; :func:`facilities_frame` is the
``facilities`` layer.
"""

from __future__ import annotations

import math
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from scipy.spatial import cKDTree

from anzhi.core.vocabulary import FACILITY_TYPES, label
from layers.demo.county import County, FloatArray

__all__ = ["FacilityList", "facilities_frame", "place_facilities"]

#: Services of an urban site (with the range of places of its elderly care).
_SERVICES = ("community_service", "civilisation_practice", "culture_sports", "elderly_care",
             "children_centre", "affordable_shop")
#: Services of a rural site, each with the chance that the site has it.
_RURAL_SERVICES = (("community_service", 0.5), ("children_centre", 0.3),
                   ("elderly_care", 0.25), ("culture_sports", 0.2), ("affordable_shop", 0.15))


def place_facilities(county: County) -> None:
    """Place every facility of ``county`` (its ``facility_rows``) and fill 卫生室 of its sites."""
    f = FacilityList(county)
    for k in range(len(county.county_seats)):
        _county_town(f, county, k)
    for t in county.towns:
        if not t.extra["is_county_seat"]:
            _township_seat(f, t.name, t.xy)
    for v in county.villages:
        _village(f, v.name, v.xy)
    big_ids, with_police = _at_sites(f, county)
    _newer_types(f, county)
    county.facility_rows = f.rows
    _clinic_column(county)
    county.notes["sites_800_without_police_room"] = sorted(set(big_ids) - with_police)
    county.notes["sites_without_clinic"] = sorted(s["site_id"] for s in county.sites
                                                  if s["clinic"] == "无")


class FacilityList:
    """The facilities placed so far (``rows``), and the random draws that place them."""

    def __init__(self, county: County) -> None:
        self.rng = county.rng
        self.side_m = county.side_m
        self.rows: list[dict[str, Any]] = []

    def near(self, xy: FloatArray, rmin: float, rmax: float) -> FloatArray:
        """A random point ``rmin``–``rmax`` m from ``xy``, inside the square."""
        a = self.rng.uniform(0, 2 * math.pi)
        r = self.rng.uniform(rmin, rmax)
        p = xy + r * np.array([math.cos(a), math.sin(a)])
        return np.clip(p, 20.0, self.side_m - 20.0)

    def add(self, ftype: str, name: str, xy: FloatArray, capacity: float = math.nan) -> None:
        """Add a facility of type ``ftype`` at ``xy`` (local m)."""
        if ftype not in FACILITY_TYPES:  # a bug in this generator, not user input
            raise KeyError(ftype)
        self.rows.append({"facility_type": ftype, "name": name, "xy": xy,
                          "capacity": float(capacity)})

    def ri(self, a: int, b: int) -> int:
        """A random integer from ``a`` to ``b`` inclusive."""
        return int(self.rng.integers(a, b + 1))

    def chance(self, p: float) -> bool:
        """True with probability ``p``."""
        return bool(self.rng.random() < p)


def _county_town(f: FacilityList, county: County, k: int) -> None:
    """Hospitals, schools, police and services of the ``k``-th county town."""
    seat = county.county_seats[k]
    cn, xy = seat.name, seat.xy
    town = county.towns[k].name
    add, near, ri = f.add, f.near, f.ri
    add("township_health_centre", f"{cn}人民医院", near(xy, 100, 500), 300 if k == 0 else 200)
    add("township_health_centre", f"{cn}中医医院", near(xy, 200, 700), 120)
    add("township_health_centre", f"{town}卫生院", near(xy, 100, 600), ri(30, 60))
    add("police_station", f"{cn}公安局城关派出所", near(xy, 50, 400), 40)
    add("middle_school", f"{cn}第一中学", near(xy, 200, 700), 2400)
    add("middle_school", f"{town}中学", near(xy, 200, 700), ri(900, 1500))
    add("primary_school", f"{town}中心完小", near(xy, 100, 600), 1500)
    add("primary_school", f"{cn}实验小学", near(xy, 100, 600), 1800)
    add("kindergarten", f"{cn}第一幼儿园", near(xy, 100, 600), 360)
    add("kindergarten", f"{town}中心幼儿园", near(xy, 100, 600), 270)
    add("employment_station", f"{cn}就业服务中心", near(xy, 50, 400))
    add("elderly_care", f"{cn}社会福利中心", near(xy, 200, 800), 150)
    add("children_centre", f"{cn}儿童活动中心", near(xy, 100, 500))
    add("culture_sports", f"{cn}文体活动中心", near(xy, 100, 500))
    add("civilisation_practice", f"{cn}新时代文明实践中心", near(xy, 100, 500))
    add("community_service", f"{town}便民服务中心", near(xy, 50, 400))
    add("affordable_shop", f"{town}平价商店", near(xy, 50, 400))
    add("residents_committee", f"{town}城关社区居委会", near(xy, 50, 400))


def _township_seat(f: FacilityList, nm: str, xy: FloatArray) -> None:
    """Health centre, police, schools and services of a township seat (some by chance)."""
    add, near, ri, chance = f.add, f.near, f.ri, f.chance
    add("township_health_centre", f"{nm}卫生院", near(xy, 50, 400), ri(15, 60))
    add("police_station", f"{nm}派出所", near(xy, 50, 400), ri(8, 20))
    add("primary_school", f"{nm}中心完小", near(xy, 80, 500), ri(400, 1200))
    add("middle_school", f"{nm}中学", near(xy, 100, 600), ri(600, 1500))
    add("kindergarten", f"{nm}中心幼儿园", near(xy, 80, 500), 30 * ri(3, 9))
    add("community_service", f"{nm}便民服务中心", near(xy, 30, 300))
    add("civilisation_practice", f"{nm}新时代文明实践所", near(xy, 30, 300))
    if chance(0.7):
        add("elderly_care", f"{nm}敬老院", near(xy, 100, 700), ri(20, 80))
    if chance(0.6):
        add("employment_station", f"{nm}就业服务站", near(xy, 30, 300))
    if chance(0.7):
        add("culture_sports", f"{nm}文化站", near(xy, 30, 300))
    if chance(0.5):
        add("affordable_shop", f"{nm}平价商店", near(xy, 30, 300))


def _village(f: FacilityList, nm: str, xy: FloatArray) -> None:
    """Clinic, committee and a small school of a village that is not a site (by chance)."""
    add, near, ri, chance = f.add, f.near, f.ri, f.chance
    if chance(0.85):
        add("clinic", f"{nm}卫生室", near(xy, 20, 150))
    if chance(0.7):
        add("residents_committee", f"{nm}村委会", near(xy, 20, 150))
    if chance(0.35):
        add("primary_school", f"{nm}教学点", near(xy, 20, 200), ri(30, 120))
    if chance(0.15):
        add("kindergarten", f"{nm}幼儿班", near(xy, 20, 200), 30)


def _at_sites(f: FacilityList, county: County) -> tuple[list[str], set[str]]:
    """At-site facilities (within the at-site radius); the big sites and those with police."""
    rng = county.rng
    big = [s for s in county.sites if s["kind"] in ("seat", "rural") and s["population"] >= 800]
    big_ids = [s["site_id"] for s in big]
    perm = [big_ids[i] for i in rng.permutation(len(big_ids))]
    with_police = set(perm[: (len(perm) + 1) // 2])
    perm = [big_ids[i] for i in rng.permutation(len(big_ids))]
    with_jobs = set(perm[: max(0, len(perm) - max(1, len(perm) // 3))])
    for s in county.sites:
        if s["kind"] == "mega":
            _at_mega_site(f, s)
        elif s["kind"] not in ("far", "isolated"):
            _at_regular_site(f, s, police=s["site_id"] in with_police,
                             jobs=s["site_id"] in with_jobs)
    return big_ids, with_police


def _here(f: FacilityList, s: dict[str, Any], ftype: str, capacity: float = math.nan,
          suffix: str | None = None) -> None:
    """Add a facility of ``ftype`` within 20–200 m of site ``s``, named after the site."""
    f.add(ftype, s["name"] + (suffix or label(ftype)), f.near(s["xy"], 20, 200), capacity)


def _at_mega_site(f: FacilityList, s: dict[str, Any]) -> None:
    """A county-town mega site has the full set."""
    _here(f, s, "police_room", 3)
    _here(f, s, "kindergarten", 360, "第一幼儿园")
    _here(f, s, "kindergarten", 270, "第二幼儿园")
    _here(f, s, "primary_school", 1200, "小学")
    _here(f, s, "residents_committee", suffix="居委会")
    _here(f, s, "employment_station")
    for ft in _SERVICES:
        _here(f, s, ft, f.ri(40, 120) if ft == "elderly_care" else math.nan)


def _at_regular_site(f: FacilityList, s: dict[str, Any], *, police: bool, jobs: bool) -> None:
    """A township-seat or rural site has some, by its size and chance."""
    pop = s["population"]
    if police:
        _here(f, s, "police_room", 2 if pop >= 3000 else 1)
    if jobs:
        _here(f, s, "employment_station")
    if pop >= 1000 and f.chance(0.8):
        _here(f, s, "residents_committee", suffix="居委会")
    if pop >= 800 and f.chance(0.6):
        _here(f, s, "kindergarten", 30 * f.ri(3, 9))
    if s["urban"]:
        for ft in _SERVICES:
            if f.chance(0.65):
                _here(f, s, ft, f.ri(20, 80) if ft == "elderly_care" else math.nan)
    else:
        for ft, p in _RURAL_SERVICES:
            if f.chance(p):
                _here(f, s, ft, f.ri(10, 40) if ft == "elderly_care" else math.nan)


def _newer_types(f: FacilityList, county: County) -> None:
    """The types added to the vocabulary with the seed documents' terms (demo v2): childcare,
    committees, sub-district office, cemetery, workshops, job markets, training bases, fire
    stations and bus stops.  Drawn from their own stream so that every facility of v1 keeps
    its place."""
    g = FacilityList(county)
    g.rng = np.random.default_rng([county.seed, 2])
    add, near, chance = g.add, g.near, g.chance
    for seat in county.county_seats:
        cn, xy = seat.name, seat.xy
        add("sub_district_office", f"{cn}城关街道办事处", near(xy, 50, 400))
        add("odd_job_market", f"{cn}零工市场", near(xy, 100, 600))
        add("training_base", f"{cn}创业实训基地", near(xy, 200, 800))
        add("micro_fire_station", f"{cn}城关社区微型消防站", near(xy, 50, 400))
        add("childcare", f"{cn}托育服务中心", near(xy, 100, 500), 60)
        add("bus_stop", f"{cn}客运站", near(xy, 50, 300))
    for t in county.towns:
        if t.extra["is_county_seat"]:
            continue
        add("bus_stop", f"{t.name}客运站", near(t.xy, 30, 300))
        if chance(0.5):
            add("cemetery", f"{t.name}公益性公墓", near(t.xy, 800, 2000))
        if chance(0.4):
            add("assistance_workshop", f"{t.name}帮扶车间", near(t.xy, 50, 500))
    for v in county.villages:
        if chance(0.5):
            add("village_committee", f"{v.name}村民委员会", near(v.xy, 20, 150))
    for s in county.sites:
        if s["kind"] in ("far", "isolated"):
            continue
        if s["population"] >= 800 and chance(0.5):
            add("assistance_workshop", s["name"] + "帮扶车间", near(s["xy"], 20, 200))
        if s["population"] >= 1000 and chance(0.6):
            add("bus_stop", s["name"] + "公交站", near(s["xy"], 20, 200))
    f.rows.extend(g.rows)


def _clinic_column(county: County) -> None:
    """卫生室 of each site: 无 at remote sites and a few others (the farthest first), else 有."""
    rng = county.rng
    town_tree = cKDTree(county.town_xy)
    regular = [s for s in county.sites if s["kind"] in ("seat", "rural")]
    d_town = town_tree.query(np.array([s["xy"] for s in regular]))[0] if regular else []
    n_no = max(1, round(0.2 * len(regular))) if regular else 0
    remote = (set(np.argsort(-np.asarray(d_town))[: (n_no + 1) // 2].tolist())
              if regular else set())
    others = [i for i in rng.permutation(len(regular)) if i not in remote]
    no_clinic = remote | set(int(i) for i in others[: n_no - len(remote)])
    for s in county.sites:
        s["clinic"] = "无" if s["kind"] in ("far", "isolated") else "有"
    for i in no_clinic:
        regular[i]["clinic"] = "无"


def facilities_frame(county: County) -> gpd.GeoDataFrame:
    """The ``facilities`` layer (EPSG:4326): facility_id, name, facility_type, capacity."""
    fac = county.facility_rows
    lon, lat = county.lonlat(np.array([r["xy"] for r in fac]))
    width = max(4, len(str(len(fac))))
    return gpd.GeoDataFrame(
        {
            "facility_id": [f"F{k:0{width}d}" for k in range(1, len(fac) + 1)],
            "name": [r["name"] for r in fac],
            "facility_type": [r["facility_type"] for r in fac],
            "capacity": np.array([r["capacity"] for r in fac], dtype=float),
        },
        geometry=shapely.points(np.column_stack([lon, lat])),
        crs="EPSG:4326",
    )
