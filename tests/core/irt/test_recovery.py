"""Parameter recovery on simulated data with missing-by-design booklets.

Tolerances: with N persons and each item seen by half of them, the sampling SD of a slope is
about 0.02–0.05 and of a difficulty about 0.02–0.06 at these sizes; we require every estimate
within 4 of its own reported SEs of the truth (so the SEs are checked too) and the RMSE within
a fixed bound a little above the expected sampling error.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from junheng import irt


def _truth(rng, n_dich=16, n_poly=4, model="2pl"):
    a = rng.lognormal(0, 0.25, n_dich + n_poly)
    b = rng.normal(0, 0.8, n_dich + n_poly)
    steps = np.full((n_dich + n_poly, 2), np.nan)
    for j in range(n_dich, n_dich + n_poly):
        steps[j] = np.sort(rng.normal(b[j], 0.7, 2)) + [-0.4, 0.4]
    poly = "gpcm" if model == "2pl" else "grm"
    return pl.DataFrame({
        "item_id": [f"i{j:02d}" for j in range(n_dich + n_poly)],
        "model": ["2pl"] * n_dich + [poly] * n_poly, "a": a,
        "b": np.where(np.arange(n_dich + n_poly) >= n_dich, np.nanmean(np.where(np.isnan(steps), 0, steps), axis=1), b),
        "b_1": pl.Series(steps[:, 0]).fill_nan(None), "b_2": pl.Series(steps[:, 1]).fill_nan(None),
    })


@pytest.mark.parametrize("model", ["2pl", "grm"])
def test_recovers_mixed_items_in_a_booklet_design(model):
    rng = np.random.default_rng(11)
    truth = _truth(rng, model=model)
    adm, _ = irt.booklet_design(6000, 20, 4, 2, random_state=3)
    df = irt.simulate_responses(truth, rng.normal(size=6000), random_state=4, administered=adm)
    fit = irt.IRTModel(model, se="observed").fit(df)
    assert fit.converged_
    est = fit.items_
    for col in ("a", "b_1", "b_2"):
        t, e, se = truth[col].to_numpy(), est[col].to_numpy(), est[f"se_{col}"].to_numpy()
        ok = ~np.isnan(t.astype(float))
        z = np.abs(e[ok] - t[ok]) / se[ok]
        assert z.max() < 4, (col, z.max())
    dich = truth["model"] == "2pl"
    err = (est["b"] - truth["b"]).filter(dich).to_numpy()
    assert np.sqrt(np.mean(err**2)) < 0.08
    assert np.sqrt(np.mean((est["a"] - truth["a"]).to_numpy() ** 2)) < 0.08


def test_recovers_group_means_and_sds():
    rng = np.random.default_rng(12)
    truth = _truth(rng, 20, 0)
    g = rng.integers(0, 2, 8000)
    theta = np.where(g == 1, rng.normal(0.5, 1.2, 8000), rng.normal(0, 1, 8000))
    adm, _ = irt.booklet_design(8000, 20, 4, 3, random_state=5)
    df = irt.simulate_responses(truth, theta, random_state=6, administered=adm).with_columns(
        pl.Series("sex", np.where(g == 1, "2", "1")))
    fit = irt.IRTModel("2pl", se=None, reference_group="1").fit(df, group="sex")
    assert fit.group_means_["1"] == 0 and fit.group_sds_["1"] == 1
    assert fit.group_means_["2"] == pytest.approx(0.5, abs=0.06)
    assert fit.group_sds_["2"] == pytest.approx(1.2, abs=0.07)


def test_rasch_estimates_the_latent_sd():
    rng = np.random.default_rng(13)
    truth = pl.DataFrame({"item_id": [f"r{j}" for j in range(15)], "model": ["rasch"] * 15, "a": [1.0] * 15,
                          "b": np.linspace(-2, 2, 15)})
    df = irt.simulate_responses(truth, rng.normal(0, 1.3, 5000), random_state=7)
    fit = irt.IRTModel("rasch", se="observed").fit(df)
    assert fit.group_sds_["all"] == pytest.approx(1.3, abs=0.05)
    np.testing.assert_allclose(fit.items_["b"].to_numpy(), truth["b"].to_numpy(), atol=0.12)
    assert fit.items_["se_a"].is_null().all()


def test_fixed_anchor_calibration_puts_a_shifted_year_on_the_base_scale():
    rng = np.random.default_rng(14)
    truth = _truth(rng, 20, 0)
    df = irt.simulate_responses(truth, rng.normal(0.4, 1.1, 6000), random_state=8)
    anchors = truth.head(10)
    fit = irt.IRTModel("2pl", se=None, fixed_items=anchors).fit(df)
    assert fit.group_means_["all"] == pytest.approx(0.4, abs=0.06)
    assert fit.group_sds_["all"] == pytest.approx(1.1, abs=0.06)
    np.testing.assert_allclose(fit.items_.head(10)["a"].to_numpy(), anchors["a"].to_numpy(), atol=1e-12)
    np.testing.assert_allclose(fit.items_.tail(10)["b"].to_numpy(), truth.tail(10)["b"].to_numpy(), atol=0.15)


def test_numba_and_numpy_engines_agree():
    rng = np.random.default_rng(15)
    truth = _truth(rng, 8, 2)
    adm, _ = irt.booklet_design(1500, 10, 5, 3, random_state=9)
    df = irt.simulate_responses(truth, rng.normal(size=1500), random_state=10, administered=adm)
    a = irt.IRTModel("2pl", se=None, engine="numpy").fit(df)
    b = irt.IRTModel("2pl", se=None, engine="numba").fit(df)
    assert a.n_iter_ == b.n_iter_ and a.loglik_ == pytest.approx(b.loglik_, abs=1e-8)
    np.testing.assert_allclose(a.items_["a"].to_numpy(), b.items_["a"].to_numpy(), atol=1e-9)


def test_acceleration_reaches_the_same_maximum():
    rng = np.random.default_rng(16)
    truth = _truth(rng, 8, 2)
    df = irt.simulate_responses(truth, rng.normal(size=1500), random_state=11)
    slow = irt.IRTModel("2pl", se=None, accelerate=False, tol=1e-7, max_iter=5000).fit(df)
    fast = irt.IRTModel("2pl", se=None, accelerate=True, tol=1e-7, max_iter=5000).fit(df)
    assert fast.n_iter_ < slow.n_iter_
    assert fast.loglik_ == pytest.approx(slow.loglik_, abs=1e-6)
    np.testing.assert_allclose(fast.items_["a"].to_numpy(), slow.items_["a"].to_numpy(), atol=1e-5)


def test_cross_product_standard_errors_with_fixed_anchors():
    rng = np.random.default_rng(17)
    truth = _truth(rng, 10, 0)
    df = irt.simulate_responses(truth, rng.normal(0.2, 1, 3000), random_state=12)
    fit = irt.IRTModel("2pl", se="xpd", fixed_items=truth.head(4)).fit(df)
    se = fit.items_["se_a"].to_numpy().astype(float)
    assert np.isnan(se[:4]).all() and (se[4:] > 0.02).all() and (se[4:] < 0.2).all()
