"""LSAT7 against mirt 1.47 (tests/reference/irt/README.md states the tolerances and why)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from junheng import irt

REF = Path(__file__).resolve().parents[2] / "reference" / "irt"


@pytest.fixture(scope="module")
def lsat7() -> pl.DataFrame:
    return pl.read_csv(REF / "lsat7.csv")


@pytest.fixture(scope="module")
def fit(lsat7):
    return irt.IRTModel("2pl", tol=1e-7, max_iter=2000).fit(lsat7)


def test_it_reproduces_mirt_2pl_estimates(fit):
    ref = pl.read_csv(REF / "lsat7_2pl_mirt.csv")
    items = fit.items_
    a = items["a"].to_numpy()
    d = -items["b"].to_numpy() * a
    np.testing.assert_allclose(a, ref["a"].to_numpy(), atol=3e-3)
    np.testing.assert_allclose(d, ref["d"].to_numpy(), atol=3e-3)
    assert fit.converged_


def test_it_reproduces_mirt_loglik(fit):
    assert fit.loglik_ == pytest.approx(-2658.8051, abs=1e-3)


def test_it_reproduces_mirt_standard_errors(fit):
    ref = pl.read_csv(REF / "lsat7_2pl_mirt.csv")
    cov = fit.itemset_.blocks[0].cov
    np.testing.assert_allclose(fit.items_["se_a"].to_numpy(), ref["a_se"].to_numpy(), atol=2e-3)
    np.testing.assert_allclose(np.sqrt(cov[:, 1, 1]), ref["d_se"].to_numpy(), atol=2e-3)


def test_default_tolerance_lands_near_mirt(lsat7):
    m = irt.calibrate(lsat7, "2pl")  # tol 1e-4 like mirt
    assert m.converged_ and m.loglik_ == pytest.approx(-2658.8051, abs=1e-3)
    ref = pl.read_csv(REF / "lsat7_2pl_mirt.csv")
    np.testing.assert_allclose(m.items_["a"].to_numpy(), ref["a"].to_numpy(), atol=3e-3)


def test_eap_by_pattern_matches_mirt(fit, lsat7):
    ref = pl.read_csv(REF / "lsat7_eap_by_pattern_mirt.csv", schema_overrides={"pattern": pl.String})
    scores = irt.eap(fit, lsat7)
    pattern = lsat7.select(pl.concat_str([pl.col(c).cast(pl.String) for c in lsat7.columns]).alias("pattern"))
    got = pl.concat([pattern, scores], how="horizontal").unique("pattern").join(ref, on="pattern")
    assert got.height == ref.height
    np.testing.assert_allclose(got["theta_eap"].to_numpy(), got["F1"].to_numpy(), atol=1e-3)
    np.testing.assert_allclose(got["theta_se"].to_numpy(), got["SE_F1"].to_numpy(), atol=5e-4)


def test_xpd_standard_errors_are_close_to_observed(lsat7, fit):
    m = irt.IRTModel("2pl", tol=1e-7, max_iter=2000, se="xpd").fit(lsat7)
    np.testing.assert_allclose(m.items_["se_a"].to_numpy(), fit.items_["se_a"].to_numpy(), rtol=0.25)
