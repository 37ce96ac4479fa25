"""Double-marking agreement against hand-worked 2×2 and 3×3 tables and the disagreement-weight form."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from junheng.assessment import agreement_by_item, cohen_kappa, confusion, resolve_scores


def _expand(table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a, b = [], []
    for i in range(table.shape[0]):
        for j in range(table.shape[1]):
            a += [i] * int(table[i, j])
            b += [j] * int(table[i, j])
    return np.array(a), np.array(b)


def test_kappa_2x2_hand_worked():
    # p_o = 35/50 = .70; p_e = .5·.6 + .5·.4 = .50; κ = (.7 − .5)/(1 − .5) = .4
    a, b = _expand(np.array([[20, 5], [10, 15]]))
    assert cohen_kappa(a, b) == pytest.approx(0.4)


def test_kappa_3x3_hand_worked():
    # n = 40, diagonal 30, rows 12/18/10, columns 13/16/11:
    # κ = (n·Σdiag − Σ r_i c_i)/(n² − Σ r_i c_i) = (1200 − 554)/(1600 − 554)
    t = np.array([[10, 2, 0], [3, 12, 3], [0, 2, 8]])
    a, b = _expand(t)
    assert confusion(a, b)[0].tolist() == t.tolist()
    assert cohen_kappa(a, b) == pytest.approx(646 / 1046)
    # quadratic weighted κ = 1 − Σ v_ij O_ij / Σ v_ij E_ij with disagreement weights v = (i − j)²
    v = (np.subtract.outer(np.arange(3), np.arange(3))) ** 2
    e = np.outer(t.sum(1), t.sum(0)) / t.sum()
    assert cohen_kappa(a, b, weights="quadratic") == pytest.approx(1 - (v * t).sum() / (v * e).sum())


def test_agreement_by_item_and_resolution():
    m = pl.DataFrame({
        "person_id": ["p1", "p1", "p2", "p2", "p3", "p3", "p3", "p4"],
        "item_id": ["C1"] * 8,
        "rater": ["r1", "r2", "r1", "r2", "r1", "r2", "zz", "r1"],
        "score": [2, 2, 1, 0, 0, 2, 1, 1],
    })
    ag = agreement_by_item(m.filter(pl.col("rater") != "zz"))
    row = ag.row(0, named=True)
    assert row["n_double"] == 3 and row["exact"] == pytest.approx(1 / 3) and row["adjacent"] == pytest.approx(2 / 3)
    res = resolve_scores(m, adjudicator="zz").sort("person_id")
    assert res["score"].to_list() == [2, 0, 1, 1]
    assert res["resolved_by"].to_list() == ["agreed", "disagreed_lower", "adjudicated", "single"]
