"""Two panels of the app: what-if placement (假设新增设施) and the printable map (专题图).

* :func:`whatif_controls` / :func:`place_on_click` — in what-if mode a click on the map
  places a hypothetical facility of the chosen type (``whatif:placed``); the placed ones can
  be cleared and downloaded as a facility table (:func:`anzhi.whatif.placed_table`);
* :func:`print_controls` — the A4 thematic map of the current view as PNG and PDF, drawn by
  :func:`anzhi.mapdata.printed_map` (the same as ``anzhi map``), on request.

Session-state keys: ``whatif:on``, ``whatif:type``, ``whatif:placed``, ``whatif:clear``,
``print:type``, ``print:make``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import streamlit as st

from anzhi.core.vocabulary import FACILITY_TYPES, label
from anzhi.mapdata import printed_map
from anzhi.pipeline import RegionResults
from anzhi.ui.i18n import t
from anzhi.whatif import placed_facilities, placed_table

__all__ = ["PLACED_KEY", "PRINT_KEY", "place_on_click", "print_controls", "whatif_controls"]

PLACED_KEY = "whatif:placed"  # hypothetical facilities: [(type, lon, lat), ...]
PLACE_CLICK_KEY = "whatif:last_click"  # the map click already turned into a placement
PRINT_KEY = "anzhi:printed"  # (view signature, {png|pdf: bytes}) of the printed map


def place_on_click(returned: Any) -> None:
    """In what-if mode (``whatif:on``), a new click on the map places a facility of the
    chosen type there (``whatif:placed``) and reruns, so the gaps follow at once."""
    if not st.session_state.get("whatif:on") or not isinstance(returned, dict):
        return
    click = returned.get("last_clicked")
    if not isinstance(click, dict) or click == st.session_state.get(PLACE_CLICK_KEY):
        return
    st.session_state[PLACE_CLICK_KEY] = click
    ftype = str(st.session_state.get("whatif:type") or "clinic")
    placed = list(st.session_state.get(PLACED_KEY, []))
    placed.append((ftype, float(click["lng"]), float(click["lat"])))
    st.session_state[PLACED_KEY] = placed
    st.rerun()


def whatif_controls(types: Sequence[str], lang: str) -> tuple[tuple[str, float, float], ...]:
    """The what-if panel: the type to place, the click-to-place switch, the placed list
    with clear and download; returns the placed facilities."""
    placed = tuple(tuple(p) for p in st.session_state.get(PLACED_KEY, []))
    with st.sidebar.expander(t("whatif", lang), expanded=bool(placed)):
        st.toggle(t("whatif_on", lang), key="whatif:on", help=t("whatif_help", lang))
        options = list(types) or list(FACILITY_TYPES)
        st.selectbox(t("whatif_type", lang), options, key="whatif:type",
                     format_func=lambda k: label(k, lang))
        if placed:
            st.caption(t("whatif_placed", lang).format(n=len(placed)))
            table = placed_table(placed_facilities(list(placed)))  # type: ignore[arg-type]
            st.download_button(t("whatif_download", lang),
                               table.to_csv(index=False).encode("utf-8-sig"),
                               file_name="假设设施.csv", mime="text/csv", key="dl:whatif",
                               on_click="ignore")
            st.button(t("whatif_clear", lang), key="whatif:clear",
                      on_click=lambda: st.session_state.pop(PLACED_KEY, None))
    return placed  # type: ignore[return-value]


def print_controls(signature: tuple[Any, ...], results: RegionResults, *, county: str,
                   township: str, types: Sequence[str], lang: str, is_demo: bool) -> None:
    """"Make a printable map": the A4 thematic map of the view (township filter, one type or
    all rules) as PNG and PDF, drawn by the same code as ``anzhi map``, on request."""
    types = [ft for ft in types if ft in set(results.rules.facility_types)]
    choice = st.selectbox(t("print_type", lang), ["", *types], key="print:type",
                          format_func=lambda k: t("print_all_types", lang) if not k else label(k, lang))
    key = (signature, county, township, choice)
    if st.button(t("print_map", lang), key="print:make", help=t("print_map_help", lang)):
        note = "示范数据(合成,非真实调查) / SYNTHETIC DEMO DATA, not a real survey" if is_demo else ""
        with st.spinner(t("print_map", lang)):
            made = {fmt: printed_map(results, fmt=fmt, facility_type=choice or None,
                                     township=township or None, lang="auto", note=note,
                                     dpi=150.0).data
                    for fmt in ("png", "pdf")}
        st.session_state[PRINT_KEY] = (key, made)
    ready = st.session_state.get(PRINT_KEY)
    if ready is None or ready[0] != key:
        return
    name = f"专题图_{township or county or 'all'}_{choice or 'all'}"
    for col, (fmt, data) in zip(st.columns(2), ready[1].items(), strict=True):
        col.download_button(f"{name}.{fmt}", data, file_name=f"{name}.{fmt}",
                            mime="image/png" if fmt == "png" else "application/pdf",
                            key=f"dl:print:{fmt}", on_click="ignore")
