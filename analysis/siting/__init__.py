"""Siting: where to build new facilities (LSCP, MCLP, p-median) on a sparse cost matrix.

Pure models on a site × candidate matrix of travel minutes within the rule's reach (as
:func:`geo.paircosts.cost_matrix` gives it): the fewest new facilities covering every site a
rule requires (LSCP), the most people covered with a budget (MCLP), the least population-
weighted travel time with a budget (p-median); existing facilities fixed, capacity (places,
officers × residents per officer) where the rule has one, several types in one run (coupled
by shared candidate slots).  Solved exactly by HiGHS (``scipy.optimize.milp``) with a time
limit and the optimality gap reported; a greedy fallback beyond the size limit, said so.

* :mod:`analysis.siting.problem` — :class:`SitingType` and its checks;
* :mod:`analysis.siting.reduce` — pre-reduction (uncoverable sites, merged rows/columns);
* :mod:`analysis.siting.formulate` — the mixed-integer programme and HiGHS;
* :mod:`analysis.siting.greedy` — the greedy fallback;
* :mod:`analysis.siting.solve` — :func:`site_facilities`, :class:`SitingResult`;
* :mod:`analysis.siting.fromrules` — types from rules, the result as a table.
"""

from anzhi.core.lazy import lazy_exports

_EXPORTS = {
    "MODELS": "problem",
    "REACH_UNITS": "problem",
    "SitingType": "problem",
    "EXACT_LIMIT": "solve",
    "SitingResult": "solve",
    "TypeResult": "solve",
    "site_facilities": "solve",
    "lscp": "solve",
    "mclp": "solve",
    "p_median": "solve",
    "type_from_rules": "fromrules",
    "chosen_table": "fromrules",
}
__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)
