"""The analytic observed information (Louis' identity, ``se="observed"``) against central differences
of the exact gradient (two E-steps per parameter, ``IRTModel.fd_information``).

Tolerance: the differences use steps h = 1e-4·max(1, |ξ|), so their truncation error is O(h²)
relative — about 1e-7 here; the two must agree to 1e-5 relative to the largest entry of the
information matrix and the SEs to 1e-5 relative.  A wrong term (e.g. the posterior covariance left
out, which gives the complete-data information, or the per-pattern cross-product alone, which is
``se="xpd"``) is off by 10 % or more, so the test can fail.  mirt's Oakes SEs for LSAT7 are checked
in test_lsat7.py.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from junheng import irt


def _items(rng, models: list[str]) -> pl.DataFrame:
    J = len(models)
    a = rng.lognormal(0, 0.25, J)
    b = rng.normal(0, 0.8, J)
    poly = [m in ("gpcm", "grm") for m in models]
    steps = np.full((J, 2), np.nan)
    for j in np.flatnonzero(poly):
        steps[j] = np.sort(rng.normal(b[j], 0.7, 2)) + [-0.4, 0.4]
    frame = pl.DataFrame({
        "item_id": [f"i{j:02d}" for j in range(J)], "model": models, "a": a,
        "b": np.where(poly, np.nanmean(np.where(np.isnan(steps), 0, steps), axis=1), b),
        "b_1": pl.Series(steps[:, 0]).fill_nan(None), "b_2": pl.Series(steps[:, 1]).fill_nan(None),
    })
    if "3pl" in models:
        frame = frame.with_columns(c=pl.when(pl.col("model") == "3pl").then(0.2).otherwise(None))
    return frame


CASES = {
    "2pl complete": (["2pl"] * 8, None, None),
    "2pl + gpcm in booklets": (["2pl"] * 9 + ["gpcm"] * 3, (4, 2), None),
    "grm in booklets": (["2pl"] * 6 + ["grm"] * 2, (4, 2), None),
    "3pl": (["3pl"] * 6, None, None),
    "two groups": (["2pl"] * 8, None, "grade"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_analytic_information_equals_finite_differences(case):
    models, booklets, group = CASES[case]
    rng = np.random.default_rng(7)
    truth = _items(rng, models)
    n = 3000
    adm = None
    if booklets is not None:
        adm, _ = irt.booklet_design(n, len(models), booklets[0], booklets[1], random_state=3)
    theta = rng.normal(size=n)
    df = irt.simulate_responses(truth, theta, random_state=4, administered=adm)
    if group is not None:
        df = df.with_columns(pl.Series(group, np.where(np.arange(n) < n // 2, "g5", "g6")))
        df = df.with_columns(  # the second group answers as if 0.5 SD abler
            irt.simulate_responses(truth, theta + 0.5 * (np.arange(n) >= n // 2), random_state=5)
            .drop("person_id"))
    fit = irt.IRTModel(models[0] if len(set(models)) == 1 else "2pl" if "grm" not in models else
                       dict(zip(truth["item_id"], models)), tol=1e-6, max_iter=3000).fit(df, group=group)
    assert fit.converged_
    analytic = np.linalg.inv(fit.cov_)
    fd = fit.fd_information()
    scale = np.abs(fd).max()
    assert np.abs(analytic - fd).max() / scale < 1e-5
    np.testing.assert_allclose(np.sqrt(np.diag(fit.cov_)), np.sqrt(np.diag(np.linalg.inv(fd))), rtol=1e-5)
    # and the terms matter: the cross-product alone (xpd) is a different matrix
    xpd = irt.IRTModel(fit.model, tol=1e-6, max_iter=3000, se="xpd").fit(df, group=group)
    assert np.abs(np.linalg.inv(xpd.cov_) - fd).max() / scale > 1e-3


def test_compiled_pair_counts_equal_the_blas_path(monkeypatch):
    """The numba kernel (large fits) and the BLAS products (small fits, no numba) give one matrix."""
    from junheng.irt import _fused, _information
    from junheng.irt._em import estep

    if not _fused.AVAILABLE:
        pytest.skip("numba not installed")
    rng = np.random.default_rng(8)
    truth = _items(rng, ["2pl"] * 9 + ["gpcm"] * 3)
    adm, _ = irt.booklet_design(2000, 12, 4, 2, random_state=3)
    df = irt.simulate_responses(truth, rng.normal(size=2000), random_state=4, administered=adm)
    fit = irt.IRTModel("2pl", se=None).fit(df)
    _, W, R = estep(fit._itemset, fit._pat, fit._theta, fit._logprior)
    args = (fit._itemset, fit._pat, fit._theta, W, R, fit._free_index(), fit.guess_prior)
    monkeypatch.setattr(_information, "MIN_PATTERNS_FUSED", 10**9)
    blas = _information.observed_information(*args)
    monkeypatch.setattr(_information, "MIN_PATTERNS_FUSED", 0)
    compiled = _information.observed_information(*args)
    np.testing.assert_allclose(compiled, blas, rtol=1e-10, atol=1e-9 * np.abs(blas).max())
