"""The README's Python examples run as written and give sensible answers."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

README = Path(__file__).resolve().parents[1] / "README.md"


def _python_blocks(section: str) -> list[str]:
    text = README.read_text(encoding="utf-8")
    start = text.index(f"## {section}\n")
    end = text.find("\n## ", start + 1)
    return re.findall(r"```python\n(.*?)```", text[start:end if end > 0 else None], flags=re.S)


def test_python_api_examples_run(demo) -> None:  # type: ignore[no-untyped-def]
    blocks = _python_blocks("Python API")
    assert len(blocks) == 2
    ns: dict[str, object] = {}
    exec(compile(blocks[0], "README.md (run_region)", "exec"), ns)
    res = ns["res"]
    assert len(res.gaps) > 0 and len(res.access) > 0  # type: ignore[attr-defined]
    # the override took effect: the police rule at 1,000 people
    assert "police-800" in set(res.gaps["rule_id"])  # type: ignore[attr-defined]

    core: dict[str, object] = {}
    exec(compile(blocks[1], "README.md (routing core)", "exec"), core)
    idx, dist_m = np.asarray(core["idx"]), np.asarray(core["dist_m"])
    n_sites, n_clinics = len(core["data"].sites), len(core["clinics"])  # type: ignore[attr-defined]
    assert idx.shape == dist_m.shape == (n_sites,)
    assert ((idx >= -1) & (idx < n_clinics)).all()
    assert np.array_equal(idx >= 0, np.isfinite(dist_m)) and (idx >= 0).mean() > 0.5
    # the same distances as the access table's road part for sites it routed by road to
    # that clinic (the table may also take a straight walk to a facility at the site)
    acc = res.access  # type: ignore[attr-defined]
    clin = acc[acc["facility_type"] == "clinic"].set_index("site_id")
    ids = core["clinics"]["facility_id"].astype(str).to_numpy()  # type: ignore[index]
    site_ids = core["data"].sites["site_id"].astype(str).to_numpy()  # type: ignore[attr-defined]
    same = 0
    for i in np.flatnonzero(idx >= 0):
        row = clin.loc[site_ids[i]]
        if row["nearest_facility_id"] == ids[idx[i]]:
            assert row["dist_m"] <= dist_m[i] + 1e-6
            same += 1
    assert same > 0.5 * (idx >= 0).sum()
