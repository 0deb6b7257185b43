"""Two panels of the app: what-if placement (假设新增设施) and the printable map (专题图).

* :func:`whatif_controls` / :func:`place_on_click` — in what-if mode a click on the map
  places a hypothetical facility of the chosen type (``whatif:placed``); the placed ones can
  be cleared and downloaded as a facility table (:func:`anzhi.whatif.placed_table`);
* :func:`print_controls` — the A4 thematic map of the current view as PNG and PDF, drawn by
  :func:`anzhi.mapdata.printed_map` (the same as ``anzhi map``), on request.

* :func:`compare_controls` / :func:`show_comparison` — 与上次比较: an uploaded ``gaps.xlsx``
  (or ``gaps.csv``) of an earlier run compared with this one (:mod:`anzhi.compare`, as
  ``anzhi diff``); the map colours the sites by their change.

* :func:`show_land` — 迁出地: the out-migration land of the region (``anzhi land``): villages by
  land > 25°, the candidate list with its clauses, ``land.xlsx`` to download.

Session-state keys: ``land:on``, ``whatif:on``, ``whatif:type``, ``whatif:placed``, ``whatif:clear``,
``print:type``, ``print:make``, ``cmp:file``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import streamlit as st

from anzhi.compare import SITE_CHANGES, compare_with_previous, read_previous
from anzhi.core.errors import AnzhiError
from anzhi.core.files import file_sha256
from anzhi.core.vocabulary import FACILITY_TYPES, label
from anzhi.mapdata import printed_map
from anzhi.pipeline import RegionInputs, RegionResults, region_land, write_region_land
from anzhi.ui.i18n import status_label, t
from anzhi.ui.mapping import SiteClasses
from anzhi.ui.tables import error_markdown
from anzhi.ui.uploads import SessionFolder
from anzhi.whatif import placed_facilities, placed_table

__all__ = ["show_land", "CHANGE_COLOURS", "PLACED_KEY", "PRINT_KEY", "Comparison", "compare_controls",
           "place_on_click", "print_controls", "show_comparison", "whatif_controls"]

#: Site colours by change since the previous run (analysis.diff.SITE_CHANGES), drawn in
#: this order (the last on top).
CHANGE_COLOURS: dict[str, str] = {
    "unchanged": "#bdbdbd", "changed": "#6a3d9a", "site_added": "#1f78b4",
    "site_removed": "#737373", "closed": "#33a02c", "mixed": "#ff7f00", "opened": "#e31a1c",
}

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



@dataclass(frozen=True)
class Comparison:
    """This run against an earlier one: the diff, each site's change, the map's colours."""

    label: str
    rows: Any
    counts: dict[str, int]
    classes: SiteClasses


@st.cache_resource(show_spinner=False, max_entries=4)
def _previous(sha256: str, _path: str) -> Any:
    """An uploaded earlier run, read once per content (``sha256``)."""
    return read_previous(Path(_path))


def compare_controls(folder: SessionFolder, lang: str) -> Path | None:
    """The sidebar uploader of an earlier run's gaps.xlsx / gaps.csv; its saved path."""
    with st.sidebar.expander(t("compare", lang)):
        up = st.file_uploader(t("compare_upload", lang), type=["xlsx", "csv"], key="cmp:file",
                              help=t("compare_help", lang))
    if up is None:
        return None
    name = "gaps.xlsx" if up.name.lower().endswith(".xlsx") else "gaps.csv"
    data = up.getvalue()
    saved = st.session_state.get("cmp:saved")
    if isinstance(saved, tuple) and saved[0] == (up.name, len(data)) and Path(saved[1]).is_file() \
            and Path(saved[1]).read_bytes() == data:
        return Path(saved[1])  # the same upload as on the last rerun
    path = folder.fresh_subdir("previous") / name
    path.write_bytes(data)
    st.session_state["cmp:saved"] = ((up.name, len(data)), str(path))
    return path


def compare_run(path: Path, results: RegionResults, lang: str) -> Comparison | None:
    """The comparison of the uploaded run with this one; its problems shown, ``None`` then."""
    try:
        prev = _previous(file_sha256(path), str(path))
        diff, changes = compare_with_previous(results, prev, label=t("compare_old", lang),
                                              current_label=t("compare_new", lang))
    except AnzhiError as exc:
        st.error(error_markdown(exc, lang))
        return None
    li = 0 if lang == "zh" else 1
    classes = SiteClasses(
        of_site=dict(zip(changes["site_id"].astype(str), changes["change"].astype(str),
                         strict=True)),
        classes=tuple((k, SITE_CHANGES[k][li], c) for k, c in CHANGE_COLOURS.items()),
        title=t("compare_legend", lang))
    return Comparison(label=prev.label, rows=diff.rows, counts=diff.totals(), classes=classes)


def show_comparison(cmp: Comparison, lang: str) -> None:
    """The counts of each change and the rows that changed."""
    from analysis.diff import CHANGES

    li = 0 if lang == "zh" else 1
    st.subheader(t("compare_title", lang))
    shown = {CHANGES[k][li]: v for k, v in cmp.counts.items() if v}
    st.caption(" · ".join(f"{k}: {v}" for k, v in shown.items()))
    rows = cmp.rows[cmp.rows["change"].astype(str) != "unchanged"]
    table = {
        t("col_site", lang): rows["site_name"].astype(str).to_numpy(),
        t("col_rule", lang): rows["rule_id"].astype(str).to_numpy(),
        t("compare_old", lang): [status_label(x, lang) if x else "" for x in
                                 rows["old_status"].fillna("").astype(str)],
        t("compare_new", lang): [status_label(x, lang) if x else "" for x in
                                 rows["new_status"].fillna("").astype(str)],
        t("col_change", lang): [CHANGES[c][li] for c in rows["change"].astype(str)],
    }
    st.dataframe(table, hide_index=True)



@st.cache_resource(show_spinner=False, max_entries=4)
def _land(key: tuple[Any, ...], _inputs: RegionInputs) -> Any:
    """The region's land statistics, once per region."""
    return region_land(_inputs)


@st.cache_data(show_spinner=False, max_entries=8)
def _land_xlsx(key: tuple[Any, ...], lang: str, _result: Any) -> bytes:
    """land.xlsx as ``anzhi land`` writes it."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="anzhi-land-") as tmp:
        return write_region_land(_result, tmp, lang=lang)["land.xlsx"].read_bytes()


def show_land(key: tuple[Any, ...], inputs: RegionInputs, lang: str) -> None:
    """The out-migration land section (on request: its slope statistics take seconds)."""
    if inputs.dem is None or inputs.parcels is None:
        return
    st.subheader(t("land_title", lang))
    if not st.toggle(t("land_on", lang), key="land:on", help=t("land_help", lang)):
        return
    with st.spinner(t("land_running", lang)):
        result = _land(key, inputs)
    if result is None:
        return
    for w in result.warnings:
        st.warning(w)
    v = result.villages
    en = lang == "en"
    st.dataframe({
        t("land_village", lang): v["village"].astype(str).to_numpy(),
        t("land_parcels", lang): v["n_parcels"].astype(int).to_numpy(),
        t("land_gt25_ha", lang): (v["area_gt25_m2"] / 1e4).round(2).to_numpy(),
        t("land_crop_gt25_ha", lang): (v["cropland_gt25_m2"] / 1e4).round(2).to_numpy(),
        t("land_share", lang): (100 * v["share_gt25"]).round(1).to_numpy(),
    }, hide_index=True)
    c = result.candidates
    st.caption(t("land_candidates", lang).format(n=len(c)))
    st.dataframe({
        t("land_priority", lang): c["priority"].to_numpy(),
        t("land_parcel", lang): c["parcel_id"].astype(str).to_numpy(),
        t("land_village", lang): c["village"].astype(str).to_numpy(),
        t("land_use", lang): c["land_use"].astype(str).to_numpy(),
        t("land_gt25_ha", lang): (c["area_gt25_m2"] / 1e4).round(3).to_numpy(),
        t("land_measure", lang): c["measure_en" if en else "measure"].astype(str).to_numpy(),
        t("land_basis", lang): c["basis_en" if en else "basis"].astype(str).to_numpy(),
    }, hide_index=True)
    st.download_button("land.xlsx", _land_xlsx(key, lang, result), file_name="land.xlsx",
                       key="dl:land", on_click="ignore")
