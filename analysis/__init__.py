"""Pure analysis: rule sets, gap evaluation, coverage.  GeoDataFrames/arrays in, new ones out.

No file or network access (rule presets are read from package data by ``analysis.rules``);
never imports streamlit or folium.
"""

from anzhi.core.lazy import lazy_exports

_EXPORTS = {
    "FACILITY_TYPES": "anzhi.core.vocabulary",
    "FacilityType": "anzhi.core.vocabulary",
    "OSM_TAGS": "anzhi.core.vocabulary",
    "facility_type_keys": "anzhi.core.vocabulary",
    "normalise_facility_type": "anzhi.core.vocabulary",
    "label": "anzhi.core.vocabulary",
    "Rule": "rules",
    "RuleSet": "rules",
    "load_rules": "rules",
    "parse_rules": "rules",
    "preset_names": "rules",
    "evaluate": "gaps",
    "worst_status": "gaps",
    "Capacity": "rules",
    "site_demand": "capacity",
    "capacity_check": "capacity",
    "two_step_fca": "capacity",
    "two_step_fca_table": "capacity",
    "coverage_by_size": "coverage",
    "size_class_counts": "coverage",
    "coverage_table": "coverage",
    "SlopeClass": "land",
    "slope_class": "land",
    "zonal_class_areas": "land",
    "parcel_land_table": "land",
    "village_land_table": "land",
    "candidate_list": "land",
    "site_hazard": "land",
    "size_class": "coverage",
    "large_site": "coverage",
}
__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)
