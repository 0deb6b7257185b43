"""Smoke test of the siting benchmark (``bench/bench_siting.py``) on tiny counties: no timing
is asserted, only that every solver runs in its own process, that the proven objectives
agree, that the section holds the tables and targets, and its instance helpers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

pytest.importorskip("spopt")
pytest.importorskip("pulp")

from bench.bench_siting import (Instance, agreement, demo_instance, generated,  # noqa: E402
                                load_instance, main, save_instance)
from bench.report import DOC  # noqa: E402


def test_quick_run_agrees(capsys: pytest.CaptureFixture[str]) -> None:
    before = DOC.read_text(encoding="utf-8") if DOC.exists() else None
    rc = main(["--quick", "--no-write", "--cases", "big,sweep", "--sites", "150",
               "--candidates", "150", "--area-km2", "300"])
    out = capsys.readouterr().out
    assert rc == 0 and "agreement: all proven objectives agree" in out
    assert out.count("same objective.") == 2  # LSCP and MCLP, three solvers each
    for label in ("| **Anzhi** `site_facilities` (HiGHS) |", "| spopt `from_cost_matrix` + CBC |",
                  "| PuLP + CBC, sparse rows |"):
        assert out.count(label) == 2, label
    assert "### LSCP as the counties get denser" in out
    assert "proven optimum ≥ 10× faster than spopt + CBC, same objective" in out
    # --no-write leaves docs/benchmarks.md alone
    assert (DOC.read_text(encoding="utf-8") if DOC.exists() else None) == before


def test_generated_county_is_sparse_within_reach_and_seeded() -> None:
    inst = generated(400, 300, area_km2=800.0, seed=3)
    assert inst.cost.shape == (400, 300) and inst.existing is None
    assert 0 < inst.cost.data.min() and inst.cost.data.max() <= inst.reach_min == 30.0
    assert 1.0 < inst.pairs_per_site() < 30.0
    assert ((inst.pop >= 50) & (inst.pop <= 3000)).all()
    again = generated(400, 300, area_km2=800.0, seed=3)
    assert (again.cost != inst.cost).nnz == 0 and np.array_equal(again.pop, inst.pop)
    assert (generated(400, 300, area_km2=800.0, seed=4).cost != inst.cost).nnz > 0


def test_saved_instance_keeps_zero_minute_pairs(tmp_path: Path) -> None:
    cost = sp.csr_matrix((np.array([0.0, 5.0]), (np.array([0, 1]), np.array([1, 0]))),
                         shape=(2, 3))
    ex = sp.csr_matrix((np.array([0.0]), (np.array([1]), np.array([0]))), shape=(2, 1))
    inst = Instance("x", cost, np.array([3.0, 4.0]), 30.0, ex, "two sites")
    save_instance(inst, tmp_path / "x.npz")
    back = load_instance(tmp_path / "x.npz")
    assert back.cost.nnz == 2 and back.existing is not None and back.existing.nnz == 1
    assert back.cost[0, 1] == 0.0 and back.columns()[1] == 1
    assert (back.name, back.description, back.reach_min) == ("x", "two sites", 30.0)


def test_agreement_compares_proven_optima_only() -> None:
    a = {"objective": 12.0, "proven": True}
    assert agreement([a, {"objective": 12.0, "proven": True}]) == ("same objective", False)
    assert agreement([a, {"objective": 13.0, "proven": True}])[1] is True
    assert agreement([a, {"objective": 13.0, "proven": False}])[1] is False


def test_demo_instance_reaches_every_site(demo) -> None:  # type: ignore[no-untyped-def]
    inst = demo_instance()
    n, m = inst.n_sites, inst.n_cand
    assert n == 60 and m > 1_000 and inst.reach_min == 30.0
    assert inst.cost.data.max() <= inst.reach_min and inst.existing is not None
    # the sites are candidates too (the last n columns): each reaches its own, stored at
    # 0 minutes (a stored pair, not an absent one)
    c = inst.cost
    for i in range(n):
        cols, vals = c.indices[c.indptr[i]:c.indptr[i + 1]], c.data[c.indptr[i]:c.indptr[i + 1]]
        assert list(vals[cols == m - n + i]) == [0.0]
