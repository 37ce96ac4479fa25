"""Anchor drift between years (robust z) before fixed-anchor linking, and the linking error:
a simulation with planted drift, and the linking error by hand."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from junheng import irt


def _year(items: pl.DataFrame, theta: np.ndarray, seed: int) -> pl.DataFrame:
    return irt.simulate_responses(items, theta, random_state=seed)


def test_planted_drift_is_found_dropped_and_the_link_recovers_the_true_change():
    rng = np.random.default_rng(7)
    anchors = pl.DataFrame({"item_id": [f"A{j:02d}" for j in range(16)], "model": ["2pl"] * 16,
                            "a": np.exp(rng.normal(0, 0.25, 16)), "b": rng.normal(0, 0.9, 16)})
    unique = lambda p: pl.DataFrame({"item_id": [f"{p}{j:02d}" for j in range(8)], "model": ["2pl"] * 8,  # noqa: E731
                                     "a": np.exp(rng.normal(0, 0.25, 8)), "b": rng.normal(0, 0.9, 8)})
    drifted = ["A03", "A08", "A12"]
    moved = anchors.with_columns(pl.when(pl.col("item_id").is_in(drifted)).then(pl.col("b") + 0.8).otherwise(pl.col("b")))
    base_items = pl.concat([anchors, unique("X")])
    new_items = pl.concat([moved, unique("Y")])
    base = irt.calibrate(_year(base_items, rng.normal(0, 1, 4000), 1), "2pl", se=None, tol=1e-3)
    new_theta = rng.normal(0.3, 1.0, 4000)  # the real change: +0.3 SD
    new_resp = _year(new_items, new_theta, 2)
    free = irt.calibrate(new_resp, "2pl", se=None, tol=1e-3)

    check = irt.anchor_drift(free.items_, base.items_, anchors=anchors["item_id"].to_list())
    assert sorted(check.dropped) == drifted
    assert check.table.filter(pl.col("drift"))["item_id"].sort().to_list() == drifted
    assert 0 < check.linking_error < 0.06

    fixed = lambda names: base.items_.filter(pl.col("item_id").is_in(list(names)))  # noqa: E731
    good = irt.calibrate(new_resp, "2pl", fixed_items=fixed(check.retained), se=None, tol=1e-3)
    naive = irt.calibrate(new_resp, "2pl", fixed_items=fixed(anchors["item_id"]), se=None, tol=1e-3)
    mean = lambda m: next(iter(m.group_means_.values()))  # noqa: E731
    assert mean(good) == pytest.approx(0.3, abs=0.07)
    assert mean(naive) < mean(good) - 0.08  # drifted anchors (harder) make pupils look weaker


def test_no_drift_drops_nothing_material():
    rng = np.random.default_rng(3)
    b = rng.normal(0, 1, 20)
    base = pl.DataFrame({"item_id": [f"A{j}" for j in range(20)], "model": ["2pl"] * 20, "a": np.ones(20), "b": b})
    new = base.with_columns(pl.Series("b", (b - 0.4) / 1.1 + rng.normal(0, 0.05, 20)))  # another scale, small noise
    check = irt.anchor_drift(new, base)
    assert check.dropped == ()
    assert check.link.A == pytest.approx(1.1, abs=0.05) and check.link.B == pytest.approx(0.4, abs=0.05)


def test_linking_error_by_hand():
    # base scale equals new scale (A = 1 from mean–sigma when the spreads agree): d = b_new − b_base
    base = pl.DataFrame({"item_id": ["a", "b", "c", "d"], "model": ["2pl"] * 4, "a": [1.0] * 4, "b": [-1.0, 0.0, 1.0, 2.0]})
    new = base.with_columns(pl.Series("b", [-0.9, -0.1, 1.1, 1.9]))
    check = irt.anchor_drift(new, base, min_difference=10)
    # mean–sigma: sd(b_base)/sd(b_new) = 1.1180/1.1045 = 1.01222…, B = 0.5 − A·0.5
    A = np.std([-1, 0, 1, 2]) / np.std([-0.9, -0.1, 1.1, 1.9])
    d = A * np.array([-0.9, -0.1, 1.1, 1.9]) + 0.5 - A * 0.5 - np.array([-1.0, 0.0, 1.0, 2.0])
    assert check.linking_error == pytest.approx(np.std(d, ddof=1) / 2, rel=1e-12)
    assert check.link.A == pytest.approx(A)
