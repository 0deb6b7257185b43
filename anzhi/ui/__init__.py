"""The user interface behind ``app.py``: the folium map, Chinese/English labels, the map's
offline web assets, and the upload panel's per-session files.

The top of the stack: it may use the pipeline and everything below; nothing below imports it
(``tests/test_boundaries.py``).
"""
