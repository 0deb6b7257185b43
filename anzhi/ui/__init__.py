"""The user interface behind ``app.py``: the sidebar's widgets (:mod:`~anzhi.ui.controls`) and
what they edit (:mod:`~anzhi.ui.thresholds`), the folium map (:mod:`~anzhi.ui.mapping` on the
Leaflet elements of :mod:`~anzhi.ui.leaflet`), the page's tables (:mod:`~anzhi.ui.tables`),
the download files (:mod:`~anzhi.ui.downloads`), Chinese/English labels (:mod:`~anzhi.ui.i18n`,
catalogue ``labels.toml``), the map's offline web assets and the upload panel's per-session
files.

The top of the stack: it may use the pipeline and everything below except ``geo`` and
``layers``, which it reaches only through :mod:`anzhi.pipeline`; nothing below imports it
(``tests/test_boundaries.py``).
"""
