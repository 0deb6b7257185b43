"""Recommend new facility locations for one region (issue 14), beside the pipeline.

Two steps, split where the cost is, so that a change of model or budget never routes again
(the app keeps the first step's result in a cache):

1. :func:`prepare_siting` — load the region (:func:`anzhi.pipeline.load_region`), build its
   road graph once, evaluate the gaps as ``anzhi gaps`` does (the *before* state), generate
   the candidates (:mod:`geo.candidates`: road points thinned to a spacing, the sites, the
   user's candidate layer) and exclude some (exclusion polygons, slope above 25° on the DEM,
   off the road network), and compute for each facility type the sparse site × candidate
   matrix of the pairs that would meet its rules (:func:`geo.matrix.cost_table`, cut off at
   the rule's reach: minutes for a time reach, metres for a distance-only reach, straight
   metres for the at-site radius);
2. :func:`solve_siting` — the models of :mod:`analysis.siting` (LSCP, MCLP, p-median) on
   those matrices with the existing facilities fixed, and the result as tables
   (:class:`layers.siting.SitingTables`).

:func:`site_region` runs both; :func:`write_siting_run` writes the outputs.

When does a new facility cover a site?  Exactly when ``anzhi gaps`` would then count the
site's rules of that type as met: for every rule of the type that applies to the site and
that its existing facilities do not meet, the new facility is within the rule's at-site
radius (straight line, in the UTM zone :func:`analysis.gaps.evaluate` uses), or within its
reach by road (``max_dist_m`` and ``max_time_min``, both when both are given, as the access
table measures them).  A site ``ok`` or ``ok_shared`` is covered by the existing facilities.

Capacity (:mod:`anzhi.sitingcap`), for a type whose rules have a capacity norm (kindergarten
places per child, residents per police officer): a ``gap_capacity`` site (a facility within
reach, too small for everyone it serves) is demand, not covered.  The models (LSCP, MCLP) get
each site's demand as ``anzhi gaps`` counts it and the existing facility groups of known
capacity, each site tied to the group serving it now; a new facility serves any demand.  The
answer is read back as ``anzhi gaps`` will judge it — a site moves to a new facility at the
site or nearer than its present one — and each new facility gets the capacity its group then
needs (``capacity`` in ``siting.csv`` and ``facilities_after.csv``: places, officers; at least
one), so the capacity gaps it claims to close are closed.  p-median minimises travel only:
its new facilities are sized the same way.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from analysis.rules import Rule, RuleSet
from analysis.siting.problem import SitingType
from analysis.siting.solve import SitingResult, TypeResult, site_facilities
from analysis.statuses import STATUSES
from anzhi.core.errors import InputError, ProblemCollector
from anzhi.core.settings import get_settings
from anzhi.core.vocabulary import label
from anzhi.pipeline import (RegionData, RegionInputs, evaluate_region, load_region, read_rules,
                            region_elevation, region_road_graph, route_region)
from anzhi.sitingcap import (CapacityInputs, NewSizes, capacity_inputs, capacity_norm,
                             core_fields, coverage_table, nearest_chosen, pair_mask,
                             rule_limits, size_new, stuck_note)
from geo.candidates import (Candidates, check_spacing, combine_candidates, count_reasons,
                            exclusion_reasons, road_candidates, steep_mask)
from geo.coords import wgs84_to_gcj02
from geo.crs import local_metric_crs
from geo.matrix import cost_table
from geo.network import snap_points
from geo.roads import Profile, RoadGraph, load_profile
from layers.facilities import facilities_from_sites
from layers.siting import (CandidateLayer, SitingTables, exclusion_masks, read_candidates,
                           write_siting)

__all__ = ["MODEL_NAMES", "SitingPrep", "SitingRun", "TypeMatrix", "prepare_siting",
           "site_region", "solve_siting", "write_siting_run"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

#: Model names accepted (CLI spelling first) → the model of :mod:`analysis.siting`.
MODEL_NAMES: dict[str, str] = {"lscp": "lscp", "mclp": "mclp", "pmedian": "p_median",
                               "p_median": "p_median", "p-median": "p_median"}

#: Statuses that count as covered before siting.
_COVERED = ("ok", "ok_shared")
#: Statuses whose site a facility reaches (``gap_capacity``: within reach, too small).
_REACHED = ("ok", "ok_shared", "gap_capacity")
#: Relative margin kept inside every limit, so that a pair at the limit stays within it
#: when ``anzhi gaps`` measures it again.
_TOL = 1e-6


@dataclass(frozen=True, eq=False)
class TypeMatrix:
    """One facility type's siting inputs: the covering pairs and the state before.

    Attributes
    ----------
    name
        The facility type.
    unit
        ``"min"`` (a rule of the type has a time reach) or ``"m"`` (distance reach or the
        at-site radius only) — the unit of ``cost``, ``reach`` and ``cost0``.
    reach
        The model's reach: at least every stored cost.
    reach_text
        The rules' limits in words (for the notes).
    site, cand, cost
        The pairs (site index, column among the kept candidates, cost) that meet the
        type's rules for the site.
    required, covered
        Per site: a rule of the type applies; it is met before siting.
    cost0
        Per site: the cost to the nearest existing facility (``inf`` = none).
    rule_ids, status_before
        Per site: the type's rules that apply (``;``-joined) and their worst status.
    reach_met
        Per site: every rule of the type is met by reach (``covered``, or ``gap_capacity``).
    cap
        The capacity state (:mod:`anzhi.sitingcap`) when a rule of the type has a norm.
    """

    name: str
    unit: str
    reach: float
    reach_text: str
    site: IntArray
    cand: IntArray
    cost: FloatArray
    required: BoolArray
    covered: BoolArray
    cost0: FloatArray
    rule_ids: NDArray[np.object_]
    status_before: NDArray[np.object_]
    reach_met: BoolArray
    cap: CapacityInputs | None


@dataclass(frozen=True, eq=False)
class SitingPrep:
    """A region ready to site: everything routed (cache this; :func:`solve_siting` is cheap).

    ``candidates`` are all candidates (``ids``, ``slope_deg`` and ``excluded`` aligned with
    them); ``kept`` the positions of those not excluded, which are the matrices' columns.
    """

    data: RegionData
    rules: RuleSet
    profile: str
    types: tuple[str, ...]
    gaps: pd.DataFrame
    candidates: Candidates
    ids: NDArray[np.object_]
    slope_deg: FloatArray
    excluded: NDArray[np.object_]
    kept: IntArray
    matrices: tuple[TypeMatrix, ...]
    notes: tuple[tuple[str, str, str], ...]


@dataclass(frozen=True, eq=False)
class SitingRun:
    """A solved siting run: the models' answer, its tables and the note a planner reads
    (the solver's note with site ids and units: greedy and why, uncoverable sites, ...)."""

    prep: SitingPrep
    model: str
    budgets: dict[str, int | None]
    result: SitingResult
    tables: SitingTables
    note: str


# --------------------------------------------------------------------------- checks


def _type_names(types: Sequence[str] | str) -> tuple[str, ...]:
    """``"clinic,police_room"`` or a sequence → the type names, each once."""
    names = [t.strip() for t in (types.split(",") if isinstance(types, str) else types)]
    return tuple(dict.fromkeys(t for t in names if t))


def _check_types(types: Sequence[str] | str, rules: RuleSet) -> tuple[str, ...]:
    """The facility types to site, each with a rule."""
    names = _type_names(types)
    have = sorted({r.facility_type for r in rules})
    if not names:
        raise InputError(f"no facility type to site — fix: give one or more of {have}, e.g. "
                         "--type clinic")
    missing = [t for t in names if t not in have]
    if missing:
        raise InputError(f"facility type(s) {missing} have no rule in rule set {rules.name!r} "
                         f"(types with rules: {', '.join(have)}) — fix: choose types with "
                         "rules, or add a rule for them (--rules FILE)")
    return names


def _budgets(model: str, budget: int | Mapping[str, int] | None,
             types: Sequence[str]) -> dict[str, int | None]:
    """Each type's budget of new facilities, checked for ``model``."""
    if model == "lscp":
        if budget is not None and budget != {}:
            raise InputError(f"budget = {budget!r} with model lscp: LSCP finds the fewest new "
                             "facilities covering every required site itself — fix: drop "
                             "--budget, or use --model mclp / pmedian with a budget")
        return {t: None for t in types}
    if budget is None:
        raise InputError(f"model {model} needs a budget of new facilities — fix: give "
                         "--budget N (every type) or --budget TYPE=N per type")
    per = dict(budget) if isinstance(budget, Mapping) else {t: budget for t in types}
    pc = ProblemCollector(file="--budget")
    for t, b in per.items():
        if t not in types:
            pc.add(f"budget for {t!r}, which is not sited", value=t,
                   fix=f"give budgets only for the sited types {list(types)}")
        elif isinstance(b, bool) or not isinstance(b, (int, np.integer)) or b < 0:
            pc.add(f"budget of {t!r} = {b!r} is not a whole number >= 0", value=b,
                   fix="give the number of new facilities allowed, e.g. --budget 3")
    for t in types:
        if t not in per:
            pc.add(f"no budget for {t!r}", value=None,
                   fix=f"give --budget {t}=N, or one --budget N for every type")
    pc.raise_if_any()
    return {t: int(per[t]) for t in types}


# --------------------------------------------------------------------------- candidates


def _build_candidates(data: RegionData, graph: RoadGraph, *, user: CandidateLayer | None,
                      exclude: Sequence[str | Path], spacing_m: float, max_slope_deg: float
                      ) -> tuple[Candidates, NDArray[np.object_], FloatArray,
                                 NDArray[np.object_], BoolArray, list[tuple[str, str, str]]]:
    """All candidates, their ids, slope, exclusion reason and whether they are on the road
    network, and the notes about them."""
    road = road_candidates(graph, spacing_m=spacing_m)
    sites = data.sites
    cands = combine_candidates(
        road, crs=graph.crs_metric, site_lon=sites.geometry.x.to_numpy(dtype=float),
        site_lat=sites.geometry.y.to_numpy(dtype=float),
        site_ids=sites["site_id"].astype(str).tolist(),
        user_lon=user.lon if user else (), user_lat=user.lat if user else (),
        user_ids=user.ids if user else ())
    ids = cands.ids
    dup = pd.Index(ids).duplicated()
    if dup.any():
        raise InputError(f"candidate id {ids[dup][0]!r} is used twice (the candidate layer's ids "
                         "must differ from 'site:…', 'node:…' and 'edge:…') — fix: rename it")
    masks, slope, per_file = exclusion_masks(cands.lon, cands.lat, exclude=exclude,
                                             dem=data.inputs.dem, max_slope_deg=max_slope_deg)
    on_road = np.isin(cands.source, ["node", "edge"])
    other = np.flatnonzero(~on_road)
    if len(other):
        on_road[other] = snap_points(graph, cands.lon[other], cands.lat[other]).node >= 0
    # a site off the road still takes a facility at the site (its at-site rule)
    masks["off_network"] = ~on_road & (cands.source != "site")
    reasons = exclusion_reasons(len(cands), masks)
    counts = count_reasons(reasons)
    by_source = {s: int(np.sum(cands.source == s)) for s in ("node", "edge", "site", "user")}
    notes = [("候选点(道路节点/沿线/安置点/用户)", "candidates (road nodes/edge points/sites/user)",
              "{node} / {edge} / {site} / {user}".format(**by_source)
              + (f" ({user.name}, id column {user.id_column or 'none: C1, C2, …'})" if user else "")),
             ("道路候选点间距(米)", "road candidate spacing (m)", f"{spacing_m:g}")]
    for reason, zh, en in (("exclusion_area", "排除:位于排除范围内", "excluded: inside an exclusion layer"),
                           ("steep_slope", f"排除:坡度大于 {max_slope_deg:g}°",
                            f"excluded: slope above {max_slope_deg:g}°"),
                           ("off_network", "排除:不在路网上", "excluded: off the road network")):
        done = masks[reason] is not None
        notes.append((zh, en, str(counts[reason]) if done else
                      "未检查(未提供) / not checked (not given)"))
    notes += [(f"排除范围 {name} 内候选点", f"candidates inside {name}", str(n)) for name, n in per_file]
    notes.append(("可用候选点", "candidates kept", str(counts["kept"])))
    if counts["kept"] == 0:
        raise InputError(
            f"all {len(cands)} candidates are excluded (inside an exclusion layer "
            f"{counts['exclusion_area']}, slope above {max_slope_deg:g}° {counts['steep_slope']}, "
            f"off the road network {counts['off_network']}) — fix: give fewer or smaller "
            "--exclude layers, or --candidates outside them, near a road and on gentler ground")
    return cands, ids, slope, reasons, on_road, notes


# --------------------------------------------------------------------------- matrices


def _road_pairs(ctx: dict[str, Any], ftype: str, weight: str, max_cost: float,
                progress: bool | None) -> pd.DataFrame:
    """Site × candidate pairs within ``max_cost`` by road: ``s``, ``c`` (column), dist, time."""
    graph, data, cands, cols = ctx["graph"], ctx["data"], ctx["cands"], ctx["on_net"]
    if not len(cols):
        return pd.DataFrame({"s": [], "c": [], "dist": [], "time": []})
    fac = gpd.GeoDataFrame({"facility_id": cols.astype(str), "facility_type": ftype},
                           geometry=gpd.points_from_xy(cands.lon[cols], cands.lat[cols]),
                           crs="EPSG:4326")
    tab = cost_table(graph, data.sites, fac, profile=ctx["prof"], max_cost=max_cost,
                     weight=weight,  # type: ignore[arg-type]
                     facility_types=[ftype], progress=progress, elevation_m=ctx["elevation"])
    s = pd.Index(data.sites["site_id"].astype(str)).get_indexer(tab["site_id"])
    return pd.DataFrame({"s": s, "c": tab["facility_id"].astype(np.int64).to_numpy(),
                         "dist": tab["dist_m"].to_numpy(dtype=float),
                         "time": tab["time_min"].to_numpy(dtype=float)})


def _site_state(rows: pd.DataFrame, n: int, unit: str
                ) -> tuple[BoolArray, BoolArray, BoolArray, FloatArray, NDArray[np.object_],
                           NDArray[np.object_]]:
    """Per site from the type's gap rows: required, covered, reach met, cost to the existing,
    rules, worst status."""
    s = rows["s"].to_numpy(dtype=np.int64)
    required = np.zeros(n, dtype=bool)
    required[s] = True
    bad = np.zeros(n, dtype=bool)
    bad[s[~rows["status"].isin(_COVERED).to_numpy()]] = True
    far = np.zeros(n, dtype=bool)
    far[s[~rows["status"].isin(_REACHED).to_numpy()]] = True
    cost_col = pd.to_numeric(rows["time_min" if unit == "min" else "dist_m"], errors="coerce")
    cost0 = np.full(n, np.inf)
    np.fmin.at(cost0, s, cost_col.fillna(np.inf).to_numpy(dtype=float))
    rank = {st: i for i, st in enumerate(STATUSES)}
    worst = np.full(n, -1, dtype=np.int64)
    np.maximum.at(worst, s, rows["status"].map(rank).fillna(0).to_numpy(dtype=np.int64))
    status = np.where(worst >= 0, np.asarray(STATUSES, dtype=object)[np.maximum(worst, 0)], "")
    rule_ids = np.full(n, "", dtype=object)
    for si, ids in rows.groupby("s", sort=False)["rule_id"]:
        rule_ids[int(si)] = ";".join(ids.astype(str))
    return required, required & ~bad, required & ~far, cost0, rule_ids, status.astype(object)


def _type_matrix(ftype: str, prep: dict[str, Any], gaps: pd.DataFrame,
                 progress: bool | None) -> TypeMatrix:
    """The covering pairs and the state before of one facility type."""
    rules: list[Rule] = [r for r in prep["rules"] if r.facility_type == ftype]
    lim = [rule_limits(r, prep["radius"]) for r in rules]
    unit = "min" if any(math.isfinite(t) for _, _, t, _ in lim) else "m"
    n = len(prep["site_xy"])
    rows = gaps[gaps["facility_type"] == ftype].copy()
    rows["s"] = prep["site_index"].get_indexer(rows["site_id"].astype(str))
    required, covered, reach_met, cost0, rule_ids, status = _site_state(rows, n, unit)
    norm = capacity_norm(rules, ftype)
    cap = None if norm is None else capacity_inputs(
        norm, sites=prep["data"].sites, site_xy=prep["site_xy"],
        facilities=prep["data"].facilities, fac_xy=prep["fac_xy"], rows=rows,
        cand_xy=prep["cand_xy"][prep["kept"]], radius_m=rule_limits(norm, prep["radius"])[0])
    # road pairs: one table if every reach rule has that limit, else both
    reach_rules = [x for x in lim if x[3] and (math.isfinite(x[1]) or math.isfinite(x[2]))]
    tables = []
    weights = (["time"] if all(math.isfinite(t) for _, _, t, _ in reach_rules)
               else ["length"] if all(math.isfinite(d) for _, d, _, _ in reach_rules)
               else ["time", "length"]) if reach_rules else []
    for w in weights:
        cut = max(t if w == "time" else d for _, d, t, _ in reach_rules
                  if math.isfinite(t if w == "time" else d))
        tables.append(_road_pairs(prep, ftype, w, cut, progress))
    # at-site pairs: straight metres within the largest radius
    r_max = max(r for r, _, _, _ in lim)
    near = prep["tree"].query_ball_point(prep["site_xy"], r=r_max)
    s_at = np.repeat(np.arange(n), [len(x) for x in near])
    c_at = prep["kept"][np.concatenate([np.asarray(x, dtype=np.int64) for x in near])] \
        if len(s_at) else np.zeros(0, dtype=np.int64)
    tables.append(pd.DataFrame({"s": s_at, "c": c_at, "dist": np.inf, "time": np.inf}))
    pairs = (pd.concat(tables, ignore_index=True).groupby(["s", "c"], sort=True)
             .agg(dist=("dist", "min"), time=("time", "min")).reset_index())
    s = pairs["s"].to_numpy(dtype=np.int64)
    c = pairs["c"].to_numpy(dtype=np.int64)
    d, t = pairs["dist"].to_numpy(dtype=float), pairs["time"].to_numpy(dtype=float)
    straight = np.hypot(*(prep["cand_xy"][c] - prep["site_xy"][s]).T)
    ok = required[s].copy()
    for r, (radius, dmax, tmax, reach) in zip(rules, lim, strict=True):
        need = np.zeros(n, dtype=bool)
        mine = rows[rows["rule_id"] == r.id]
        unmet = mine[~mine["status"].isin(_COVERED) | reach_met[mine["s"].to_numpy()]]
        need[unmet["s"].to_numpy(dtype=np.int64)] = True
        meets = straight <= radius * (1 - _TOL)
        if reach:
            meets |= (d <= dmax * (1 - _TOL)) & (t <= tmax * (1 - _TOL))
        ok &= ~need[s] | meets
    walk = get_settings().walk_speed_kph * 1000.0 / 60.0
    at = np.where(straight <= r_max * (1 - _TOL), straight, np.inf)
    cost = np.fmin(t, at / walk) if unit == "min" else np.fmin(d, at)
    col = np.searchsorted(prep["kept"], c)
    if cap is not None:
        ok &= pair_mask(cap, s, col, cost, cost0, reach_met)
    s, col, cost = s[ok], col[ok], cost[ok]
    base = max([x[2] if unit == "min" else x[1] for x in lim if math.isfinite(x[2 if unit == "min" else 1])]
               + [r_max if unit == "m" else r_max / walk])
    text = "; ".join(f"{r.id}: " + ", ".join(
        ([f"≤ {dm:g} m"] if math.isfinite(dm) else []) + ([f"≤ {tm:g} min"] if math.isfinite(tm) else [])
        + [f"at site ≤ {rad:g} m"]) for r, (rad, dm, tm, _) in zip(rules, lim, strict=True))
    return TypeMatrix(ftype, unit, float(max(base, cost.max() if len(cost) else 0.0)), text,
                      s, col.astype(np.int64), cost, required, covered, cost0, rule_ids, status,
                      reach_met, cap)


def prepare_siting(
    region: RegionInputs | RegionData, *, types: Sequence[str] | str,
    rules: str | Path = "default", overrides: Mapping[str, Any] | None = None,
    profile: str = "walk", candidates: str | Path | None = None,
    exclude: Sequence[str | Path] = (), spacing_m: float = 200.0, max_slope_deg: float = 25.0,
    progress: bool | None = None,
) -> SitingPrep:
    """Route a region for siting: gaps before, candidates, and each type's covering pairs.

    Parameters
    ----------
    region
        The region's files (loaded here with :func:`anzhi.pipeline.load_region`), or a
        loaded region.
    types
        Facility types to site (``"clinic,police_room"`` or a sequence); each needs a rule.
    rules, overrides, profile
        As :func:`anzhi.pipeline.run_region`: the rule preset or YAML file, threshold
        overrides (``{"health-every-site.max_time_min": 20}``), the travel profile.
    candidates
        The user's candidate layer (points or parcels, :func:`layers.siting.read_candidates`).
    exclude
        Exclusion polygon layers: candidates inside them are not used.
    spacing_m
        Least distance between two road candidates, metres (default 200).
    max_slope_deg
        Candidates steeper than this on the region's DEM are not used (default 25°).
    progress
        Progress bars; default ``get_settings().progress``.

    Raises
    ------
    InputError
        A type without a rule, every candidate excluded, bad spacing or slope, candidate or
        exclusion layers without geometry or with bad ids (every problem named with its fix).
    """
    check_spacing(spacing_m)
    steep_mask(np.zeros(0), max_slope_deg=max_slope_deg)  # checked before anything is read
    ruleset = read_rules(rules)
    if overrides:
        ruleset = ruleset.with_overrides(dict(overrides))
    names = _check_types(types, ruleset)
    user = read_candidates(candidates) if candidates is not None else None
    data = region if isinstance(region, RegionData) else load_region(region)
    prof = load_profile(profile)
    graph = region_road_graph(data.inputs, profile=prof, progress=progress)
    sited = [r for r in ruleset if r.facility_type in names]
    route_types = list(dict.fromkeys(t for r in sited for t in (r.facility_type,
                                                                *r.satisfied_by.also_types)))
    access = route_region(data, profile=profile, facility_types=route_types, progress=progress,
                          graph=graph)
    gaps, _ = evaluate_region(data, access, ruleset)
    cands, ids, slope, reasons, on_road, notes = _build_candidates(
        data, graph, user=user, exclude=exclude, spacing_m=spacing_m,
        max_slope_deg=max_slope_deg)
    kept = np.flatnonzero(reasons == "").astype(np.int64)
    lon, lat = data.sites.geometry.x.to_numpy(dtype=float), data.sites.geometry.y.to_numpy(dtype=float)
    fin = np.isfinite(lon) & np.isfinite(lat)
    utm = local_metric_crs(float(np.mean(lon[fin])), float(np.mean(lat[fin])))
    tr = pyproj.Transformer.from_crs("EPSG:4326", utm, always_xy=True)
    site_xy = np.column_stack(tr.transform(lon, lat))
    fac_xy = np.column_stack(tr.transform(data.facilities.geometry.x.to_numpy(dtype=float),
                                          data.facilities.geometry.y.to_numpy(dtype=float)))
    cand_xy = np.column_stack(tr.transform(cands.lon, cands.lat))
    on_net = kept[on_road[kept]]

    ctx = {"rules": ruleset, "radius": float(get_settings().at_site_radius_m), "graph": graph,
           "elevation": region_elevation(data.inputs, profile=prof, crs=graph.crs_metric),
           "prof": prof, "data": data, "cands": cands, "on_net": on_net, "kept": kept,
           "site_xy": site_xy, "fac_xy": fac_xy, "cand_xy": cand_xy, "tree": cKDTree(cand_xy[kept]),
           "site_index": pd.Index(data.sites["site_id"].astype(str))}
    matrices = tuple(_type_matrix(t, ctx, gaps, progress) for t in names)
    return SitingPrep(data, ruleset, profile, names, gaps, cands, ids, slope, reasons, kept,
                      matrices, tuple(notes))


# --------------------------------------------------------------------------- solving


def _model(model: str) -> str:
    """The :mod:`analysis.siting` model of a model name (``lscp``, ``mclp``, ``pmedian``)."""
    key = str(model).strip().lower()
    if key not in MODEL_NAMES:
        raise InputError(f"model {model!r} is not a siting model — fix: use lscp (fewest new "
                         "facilities covering every required site), mclp (most people covered "
                         "with a budget) or pmedian (least people × travel with a budget)")
    return MODEL_NAMES[key]


def _pop(prep: SitingPrep) -> FloatArray:
    """People at each site (missing counted 0)."""
    return pd.to_numeric(prep.data.sites["population"], errors="coerce").fillna(0.0) \
        .to_numpy(dtype=float)


def _penalty(m: TypeMatrix) -> float:
    """p-median cost of a required site that nothing serves: twice the reach, or the
    farthest existing cost when larger."""
    finite = m.cost0[m.required & np.isfinite(m.cost0)]
    return float(max(2.0 * m.reach, finite.max() if len(finite) else 0.0))


def _siting_types(prep: SitingPrep, model: str, budgets: Mapping[str, int | None]
                  ) -> list[SitingType]:
    """The :class:`analysis.siting.SitingType` of every sited type."""
    from geo.paircosts import PairCosts

    pop, n_cols = _pop(prep), len(prep.kept)
    out = []
    for m in prep.matrices:
        pairs = PairCosts(m.site, m.cand, m.cost, len(pop), n_cols,
                          "time" if m.unit == "min" else "length", m.reach)
        fields: dict[str, Any] = {"covered": m.covered, "reach_unit": m.unit}
        if model == "p_median":  # a site nothing serves within the reach pays the penalty
            fields.update(existing_time_min=m.cost0, unserved_min=_penalty(m))
        if m.cap is not None and model != "p_median":  # p-median: uncapacitated fallback times
            fields.update(core_fields(m.cap, covered=m.covered, reach_met=m.reach_met,
                                      cost0=m.cost0, has_pair=np.bincount(
                                          m.site, minlength=len(pop)) > 0,
                                      reach=m.reach, n_cols=n_cols, weight=pairs.weight))
        out.append(SitingType(name=m.name, cost_min=pairs, reach_min=m.reach, pop=pop,
                              required=m.required, budget=budgets[m.name], **fields))
    return out


def _best(m: TypeMatrix, t: TypeResult, n_cols: int) -> tuple[IntArray, FloatArray]:
    """Per site: the chosen column nearest to it within its rules (-1: none), and its cost."""
    return nearest_chosen(m.site, m.cand, m.cost, m.required, t.chosen, n_cols)


@dataclass(frozen=True)
class _Served:
    """One type's answer per site: the new facility serving it (column, -1) and its cost,
    covered after, whether the new facility serves it, and the sizes of the new facilities
    (a type with a capacity norm)."""

    col: IntArray
    cost: FloatArray
    after: BoolArray
    served: BoolArray
    sizes: NewSizes | None = None


def _served(prep: SitingPrep, model: str, m: TypeMatrix, t: TypeResult) -> _Served:
    col, cost = _best(m, t, len(prep.kept))
    if m.cap is not None:  # read back as anzhi gaps will judge it
        sz = size_new(m.cap, t.chosen, col, cost, m.cost0, m.reach_met)
        after = m.required & (m.reach_met | (col >= 0)) & sz.cap_ok
        served = m.required & (sz.col >= 0)
        if model != "p_median":
            served &= after & ~m.covered
        return _Served(sz.col, np.where(sz.col == col, cost, np.nan), after, served, sz)
    after = m.covered | t.covered
    if model == "p_median":
        served = m.required & (col >= 0) & (cost < m.cost0)
    else:
        served = m.required & ~m.covered & after & (col >= 0)
    return _Served(col, cost, after, served)


def _new_ids(prep: SitingPrep, t: TypeResult, existing: set[str]) -> list[str]:
    """Facility ids of the new facilities of one type: ``NEW-<type>-001`` …"""
    out = []
    for k in range(len(t.chosen)):
        fid, extra = f"NEW-{t.name}-{k + 1:03d}", 1
        while fid in existing:
            fid, extra = f"NEW-{t.name}-{k + 1:03d}-{extra}", extra + 1
        out.append(fid)
        existing.add(fid)
    return out


def _recommended(prep: SitingPrep, served: Mapping[str, _Served], result: SitingResult,
                 new_ids: Mapping[str, list[str]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``siting.csv`` (one row per new facility) and the links to the sites it serves."""
    c, pop = prep.candidates, _pop(prep)
    site_ids = prep.data.sites["site_id"].astype(str).to_numpy(dtype=object)
    slon, slat = prep.data.sites.geometry.x.to_numpy(), prep.data.sites.geometry.y.to_numpy()
    rows, links = [], []
    for m, t in zip(prep.matrices, result.types, strict=True):
        sv = served[m.name]
        for j, fid in zip(t.chosen, new_ids[m.name], strict=True):
            k = int(prep.kept[j])
            mine = np.flatnonzero(sv.served & (sv.col == j))
            glon, glat = wgs84_to_gcj02(c.lon[k], c.lat[k])
            rows.append({"facility_type": m.name, "candidate_id": prep.ids[k],
                         "lon": c.lon[k], "lat": c.lat[k], "lon_gcj02": float(np.ravel(glon)[0]),
                         "lat_gcj02": float(np.ravel(glat)[0]), "sites_covered": len(mine),
                         "pop_covered_new": float(pop[mine][~m.covered[mine]].sum()),
                         "covers": ";".join(site_ids[mine]), "source": c.source[k],
                         "facility_id": fid, "slope_deg": prep.slope_deg[k],
                         "capacity": sv.sizes.units.get(int(j), np.nan) if sv.sizes else np.nan})
            links += [{"facility_type": m.name, "candidate_id": prep.ids[k], "site_id": site_ids[s],
                       "lon0": c.lon[k], "lat0": c.lat[k], "lon1": slon[s], "lat1": slat[s]}
                      for s in mine]
    cols = ["facility_type", "candidate_id", "lon", "lat", "lon_gcj02", "lat_gcj02",
            "sites_covered", "pop_covered_new", "covers", "source", "facility_id", "slope_deg",
            "capacity"]
    return (pd.DataFrame(rows, columns=cols),
            pd.DataFrame(links, columns=["facility_type", "candidate_id", "site_id", "lon0",
                                         "lat0", "lon1", "lat1"]))


def _site_status(prep: SitingPrep, served: Mapping[str, _Served], result: SitingResult
                 ) -> pd.DataFrame:
    """``site_status.csv``: every site × sited type the rules require, before and after."""
    sites = prep.data.sites
    parts = []
    for m, t in zip(prep.matrices, result.types, strict=True):
        sv = served[m.name]
        s = np.flatnonzero(m.required)
        unc = np.isin(s, t.uncoverable)
        if m.cap is not None:  # over capacity, and no candidate can take the site over
            unc |= ~sv.after[s] & (np.bincount(m.site, minlength=len(m.required)) == 0)[s]
        change = np.where(m.covered[s], "already_covered",
                          np.where(sv.after[s], "newly_covered",
                                   np.where(unc, "uncoverable", "still_gap")))
        cost = np.fmin(m.cost0[s], np.where(sv.served[s], sv.cost[s], np.inf))
        by = np.where(sv.served[s], prep.ids[prep.kept[np.maximum(sv.col[s], 0)]], "")
        parts.append(pd.DataFrame({
            "site_id": sites["site_id"].astype(str).to_numpy()[s],
            "site_name": sites["site_name"].astype(str).to_numpy()[s]
            if "site_name" in sites else "",
            "township": sites["township"].astype(str).to_numpy()[s]
            if "township" in sites else "",
            "population": _pop(prep)[s], "facility_type": m.name, "rule_ids": m.rule_ids[s],
            "status_before": m.status_before[s], "covered_before": m.covered[s],
            "covered_after": sv.after[s], "change": change, "served_by": by,
            "cost_after": np.where(np.isfinite(cost), cost, np.nan), "cost_unit": m.unit,
            "lon": sites.geometry.x.to_numpy()[s], "lat": sites.geometry.y.to_numpy()[s]}))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def _facilities_after(prep: SitingPrep, recommended: pd.DataFrame,
                      new_site: Mapping[str, str]) -> pd.DataFrame:
    """The facility files' facilities and the new ones, as a facility table."""
    fac = prep.data.facilities
    from_sites = set(facilities_from_sites(prep.data.sites)["facility_id"].astype(str))
    old = fac[~fac["facility_id"].astype(str).isin(from_sites)]
    existing = pd.DataFrame({
        "facility_id": old["facility_id"].astype(str), "name": old["name"].astype(str),
        "facility_type": old["facility_type"].astype(str), "capacity": old["capacity"],
        "site_id": old["site_id"].astype(str), "lon": old.geometry.x, "lat": old.geometry.y,
        "coords": "wgs84", "status": "existing"})
    new = pd.DataFrame({
        "facility_id": recommended["facility_id"], "name": [
            f"拟建{label(t, 'zh')} {cid}" for t, cid in
            zip(recommended["facility_type"], recommended["candidate_id"], strict=True)],
        "facility_type": recommended["facility_type"], "capacity": recommended["capacity"],
        "site_id": [new_site.get(str(cid), "") for cid in recommended["candidate_id"]],
        "lon": recommended["lon"], "lat": recommended["lat"], "coords": "wgs84",
        "status": "recommended"})
    return pd.concat([existing, new], ignore_index=True)


def _note(prep: SitingPrep, result: SitingResult) -> str:
    """The solver's note, its sentences on uncoverable sites given with site ids and units."""
    ids = prep.data.sites["site_id"].astype(str).to_numpy(dtype=object)
    parts = [p for p in result.note.split("; ") if p and "required site(s) are beyond" not in p
             and not p.startswith("they are reported as uncoverable")]
    for m, t in zip(prep.matrices, result.types, strict=True):
        if len(t.uncoverable):
            shown = ", ".join(ids[t.uncoverable[:10]]) + (" …" if len(t.uncoverable) > 10 else "")
            parts.append(f"type {m.name!r}: {len(t.uncoverable)} required site(s) ({shown}) are "
                         f"beyond the rules' reach ({m.reach_text}) of every candidate and "
                         "existing facility — add candidates near them (--candidates) or a "
                         "longer reach (--set)")
        if m.cap is not None:
            parts += stuck_note(m.name, ids, m.required & m.reach_met & ~m.covered, m.site)
    return "; ".join(parts)


def _notes(prep: SitingPrep, model: str, budgets: Mapping[str, int | None],
           result: SitingResult) -> list[tuple[str, str, str]]:
    """The 说明 sheet: model, optimality, greedy note, per type, candidates and exclusions."""
    gap = "—" if result.gap is None else f"{result.gap:.4%}"
    notes = [("模型", "model", {"lscp": "LSCP 最少设施全覆盖 / fewest facilities covering all",
                                "mclp": "MCLP 给定数量最大覆盖人口 / most people covered",
                                "p_median": "p-median 人口加权出行最短 / least people × travel"}[model]),
             ("求解方法", "method", f"{result.method} ({result.status})"),
             ("目标值", "objective", f"{result.objective:,.6g}"),
             ("界", "bound", "—" if result.bound is None else f"{result.bound:,.6g}"),
             ("最优性间隙", "optimality gap", gap),
             ("求解时间(秒)", "solve time (s)", f"{result.time_s:.2f}"),
             ("提示", "note", _note(prep, result) or "—"),
             ("规则集", "rule set", f"{prep.rules.name} {prep.rules.version}"),
             ("出行方式", "profile", prep.profile)]
    for m, t in zip(prep.matrices, result.types, strict=True):
        name = f"{label(m.name, 'zh')} {m.name}"
        notes += [(f"{name}: 规则", f"{m.name}: rules", m.reach_text),
                  (f"{name}: 预算", f"{m.name}: budget",
                   "LSCP 自动 / found by LSCP" if budgets[m.name] is None else str(budgets[m.name])),
                  (f"{name}: 新建数", f"{m.name}: new facilities", str(t.n_new)),
                  (f"{name}: 需覆盖/原覆盖/选址后覆盖", f"{m.name}: required/covered before/after",
                   f"{int(m.required.sum())} / {int(m.covered.sum())} / "
                   f"{int((m.covered | t.covered).sum())}"),
                  (f"{name}: 无法覆盖", f"{m.name}: cannot be covered", str(len(t.uncoverable)))]
        if model == "p_median":
            notes.append((f"{name}: 无设施服务的安置点计", f"{m.name}: a site nothing serves counts",
                          f"{_penalty(m):g} {m.unit}"))
        if m.cap is not None:
            c = m.cap.norm
            notes.append((f"{name}: 容量", f"{m.name}: capacity",
                          f"{m.cap.rule_id} {c.describe('zh')}:现有设施容量不变,新设施按所服务"
                          f"需求配置(capacity 列,{c.unit_zh or '单位'}) / {c.describe('en')}: "
                          "existing capacity kept, each new facility sized to the demand it "
                          f"serves (column capacity, {c.unit_en or 'units'})"))
    return notes + list(prep.notes)


def _tables(prep: SitingPrep, model: str, budgets: Mapping[str, int | None],
            result: SitingResult) -> SitingTables:
    """Every output table of a solved run."""
    served = {m.name: _served(prep, model, m, t)
              for m, t in zip(prep.matrices, result.types, strict=True)}
    existing = set(prep.data.facilities["facility_id"].astype(str))
    new_ids = {t.name: _new_ids(prep, t, existing) for t in result.types}
    recommended, links = _recommended(prep, served, result, new_ids)
    status = _site_status(prep, served, result)
    site_cands = {str(i): str(r) for i, r, s in zip(prep.ids, prep.candidates.ref,
                                                    prep.candidates.source, strict=True)
                  if s == "site"}
    chosen: dict[str, list[str]] = {}
    for t, cid in zip(recommended["facility_type"], recommended["candidate_id"], strict=True):
        chosen.setdefault(str(cid), []).append(str(t))
    c = prep.candidates
    cand = pd.DataFrame({"candidate_id": prep.ids, "source": c.source, "lon": c.lon, "lat": c.lat,
                         "slope_deg": prep.slope_deg, "excluded": prep.excluded,
                         "chosen": [";".join(chosen.get(str(i), [])) for i in prep.ids]})
    return SitingTables(recommended=recommended, site_status=status,
                        coverage=coverage_table(status, recommended),
                        notes=_notes(prep, model, budgets, result),
                        facilities_after=_facilities_after(prep, recommended, site_cands),
                        candidates=cand, links=links)


def solve_siting(prep: SitingPrep, *, model: str,
                 budget: int | Mapping[str, int] | None = None, time_limit_s: float = 60.0,
                 mip_rel_gap: float = 0.0) -> SitingRun:
    """Solve a prepared region (no routing): :func:`analysis.siting.site_facilities`.

    Parameters
    ----------
    prep
        From :func:`prepare_siting`.
    model
        ``lscp``, ``mclp`` or ``pmedian`` (``p_median``).
    budget
        New facilities allowed: one number for every type, or ``{type: N}``; none for LSCP.
    time_limit_s, mip_rel_gap
        HiGHS time limit (s) and the relative gap it may stop at (0: proven optimum).

    Raises
    ------
    InputError
        An unknown model, a budget with LSCP or none with MCLP/p-median, a budget < 0 or
        for a type not sited.
    """
    mdl = _model(model)
    budgets = _budgets(mdl, budget, prep.types)
    result = site_facilities(_siting_types(prep, mdl, budgets), model=mdl,
                             time_limit_s=time_limit_s, mip_rel_gap=mip_rel_gap)
    return SitingRun(prep, mdl, budgets, result, _tables(prep, mdl, budgets, result),
                     _note(prep, result))


def site_region(
    inputs: RegionInputs | RegionData, *, types: Sequence[str] | str, model: str,
    budget: int | Mapping[str, int] | None = None, candidates: str | Path | None = None,
    exclude: Sequence[str | Path] = (), spacing_m: float = 200.0,
    rules: str | Path = "default", overrides: Mapping[str, Any] | None = None,
    profile: str = "walk", max_slope_deg: float = 25.0,
    time_limit_s: float = 60.0,
    mip_rel_gap: float = 0.0, progress: bool | None = None,
) -> SitingRun:
    """Recommend new facility locations for a region: :func:`prepare_siting` then
    :func:`solve_siting` (see both for the parameters).

    Budgets are checked before anything is routed.
    """
    _budgets(_model(model), budget, _type_names(types))
    prep = prepare_siting(inputs, types=types, rules=rules, overrides=overrides,
                          profile=profile, candidates=candidates, exclude=exclude,
                          spacing_m=spacing_m, max_slope_deg=max_slope_deg,
                          progress=progress)
    return solve_siting(prep, model=model, budget=budget, time_limit_s=time_limit_s,
                        mip_rel_gap=mip_rel_gap)


def write_siting_run(run: SitingRun, out_dir: str | Path, *, lang: str = "zh") -> dict[str, Path]:
    """Write the run's ``siting.csv``, ``site_status.csv``, ``siting.xlsx``, ``siting.gpkg``
    and ``facilities_after.csv`` into ``out_dir`` atomically (:func:`layers.siting.write_siting`)."""
    return write_siting(out_dir, run.tables, lang=lang)
