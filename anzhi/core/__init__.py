"""The ground every package stands on: the exception root, the settings object, the facility
vocabulary, OSM tag constants, atomic writes and file hashes, lazy re-exports.

Imports nothing of Anzhi's above it, and nothing heavy (no geopandas, osmnx, streamlit):
``docs/architecture.md`` and ``tests/test_boundaries.py``.
"""
