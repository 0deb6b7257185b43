"""The app's "推荐选址 / Recommend" panel: where to build new facilities (issue 14).

Widgets in the sidebar (types, model, budget, on/off), the solved run below the coverage
tables (the recommended facilities, the note, the files of ``anzhi site`` to download), and
the recommended facilities with the sites they cover on the map (:func:`build_map`'s
``recommended``/``links``).  The routing of a siting run (:func:`anzhi.siting.prepare_siting`)
is cached per region × rules × profile × types; a change of model or budget only solves
again (:func:`anzhi.siting.solve_siting`), never routes (``anzhi:siting_preps`` counts the
preparations of a session, for the tests).

Session-state keys: ``site:on``, ``site:types``, ``site:model``, ``site:budget``.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
import streamlit as st

from anzhi.core.vocabulary import label
from anzhi.pipeline import RegionData
from anzhi.siting import SitingPrep, SitingRun, prepare_siting, solve_siting, write_siting_run
from anzhi.ui.i18n import t

__all__ = ["PREPS_KEY", "SitingRequest", "recommend_controls", "run_request", "show_recommended"]

PREPS_KEY = "anzhi:siting_preps"
#: Models offered, in order (the CLI's names).
MODELS: tuple[str, ...] = ("lscp", "mclp", "pmedian")
#: Files of a run offered for download, in order.
DOWNLOADS: tuple[str, ...] = ("siting.xlsx", "siting.csv", "facilities_after.csv")


@dataclass(frozen=True)
class SitingRequest:
    """What the panel asks for: facility types, model and budget (``None`` for LSCP)."""

    types: tuple[str, ...]
    model: str
    budget: int | None


def recommend_controls(types: Sequence[str], lang: str) -> SitingRequest | None:
    """The sidebar panel; the request when it is on and types are chosen, else ``None``.

    Parameters
    ----------
    types
        Facility types a rule of the run checks (the ones that can be sited).
    lang
        ``zh`` or ``en``.
    """
    with st.sidebar.expander(t("recommend", lang), expanded=bool(st.session_state.get("site:on"))):
        on = st.toggle(t("recommend_on", lang), key="site:on", help=t("recommend_help", lang))
        chosen = st.multiselect(t("recommend_types", lang), list(types), key="site:types",
                                default=[k for k in ("clinic",) if k in types] or None,
                                format_func=lambda k: label(k, lang))
        model = st.radio(t("recommend_model", lang), list(MODELS), key="site:model",
                         format_func=lambda m: t(f"model_{m}", lang))
        budget: int | None = None
        if model != "lscp":
            budget = int(st.number_input(t("recommend_budget", lang), min_value=0, max_value=500,
                                         value=3, step=1, key="site:budget"))
    if not on or not chosen:
        return None
    return SitingRequest(tuple(str(c) for c in chosen), str(model), budget)


@st.cache_resource(show_spinner=False, max_entries=4)
def _prepared(key: tuple[Any, ...], rules: str, overrides: tuple[tuple[str, Any], ...],
              profile: str, types: tuple[str, ...], _data: RegionData) -> SitingPrep:
    """The routing of a siting run, once per region × rules × profile × types."""
    st.session_state[PREPS_KEY] = st.session_state.get(PREPS_KEY, 0) + 1
    return prepare_siting(_data, types=types, rules=rules, overrides=dict(overrides),
                          profile=profile, progress=False)


@st.cache_resource(show_spinner=False, max_entries=32)
def _solved(key: tuple[Any, ...], rules: str, overrides: tuple[tuple[str, Any], ...],
            profile: str, types: tuple[str, ...], model: str, budget: int | None,
            _prep: SitingPrep) -> SitingRun:
    """One solve of a prepared region (no routing)."""
    return solve_siting(_prep, model=model, budget=budget)


def run_request(request: SitingRequest, *, key: tuple[Any, ...], data: RegionData, rules: str,
                overrides: dict[str, Any], profile: str, lang: str) -> SitingRun:
    """Prepare (cached) and solve the request on the region ``key``/``data``."""
    ov = tuple(sorted(overrides.items()))
    with st.spinner(t("recommend_running", lang)):
        prep = _prepared(key, rules, ov, profile, request.types, data)
        return _solved(key, rules, ov, profile, request.types, request.model, request.budget, prep)


@st.cache_data(show_spinner=False, max_entries=16)
def _files(signature: tuple[Any, ...], lang: str, _run: SitingRun) -> dict[str, bytes]:
    """The run's files as ``anzhi site`` writes them, read back for download."""
    with tempfile.TemporaryDirectory(prefix="anzhi-site-") as tmp:
        written = write_siting_run(_run, tmp, lang=lang)
        return {n: written[n].read_bytes() for n in DOWNLOADS if n in written}


def show_recommended(run: SitingRun, signature: tuple[Any, ...], lang: str) -> None:
    """The recommended facilities, the run's note and the download buttons."""
    st.subheader(t("recommend_title", lang))
    rec = run.tables.recommended
    gap = run.result.gap
    st.caption(t("recommend_summary", lang).format(
        n=len(rec), model=t(f"model_{run.model}", lang),
        how=t("recommend_optimal" if run.result.method == "exact" and (gap or 0) <= 1e-9
              else "recommend_not_proven", lang)))
    if run.note:
        st.caption(run.note)
    shown = pd.DataFrame({
        t("col_type", lang): [label(x, lang) for x in rec["facility_type"].astype(str)],
        t("col_candidate", lang): rec["candidate_id"].astype(str),
        t("col_sites_covered", lang): rec["sites_covered"].astype(int),
        t("col_pop_new", lang): rec["pop_covered_new"].round(0).astype(int),
        t("col_lon", lang): rec["lon"].round(6), t("col_lat", lang): rec["lat"].round(6),
        t("col_covers", lang): rec["covers"].astype(str),
    })
    st.dataframe(shown, hide_index=True)
    files = _files(signature, lang, run)
    for col, (name, data) in zip(st.columns(len(files)), files.items(), strict=True):
        col.download_button(name, data, file_name=name, key=f"dl:site:{name}", on_click="ignore")
