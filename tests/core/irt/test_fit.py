"""S-X² item fit (Orlando & Thissen 2000): an enumeration oracle, calibration under the true model,
detection of a misfitting item, and a GPCM case."""

from __future__ import annotations

import itertools

import numpy as np
import polars as pl
import pytest
from scipy import stats

from junheng import irt
from junheng.irt import _models as M
from junheng.irt.calibration import normal_log_weights
from junheng.irt.fit import collapse_groups, expected_proportions


def _items(a, b, model="2pl"):
    return pl.DataFrame({"item_id": [f"i{j}" for j in range(len(a))], "model": [model] * len(a),
                         "a": np.asarray(a, float), "b": np.asarray(b, float), "c": np.zeros(len(a))})


@pytest.fixture(scope="module")
def small():
    rng = np.random.default_rng(11)
    items = _items(rng.lognormal(0, 0.3, 5), rng.normal(0, 0.8, 5))
    df = irt.simulate_responses(items, rng.normal(size=1500), random_state=5)
    return irt.IRTModel("2pl", se=None, tol=1e-6).fit(df), df


def test_expected_proportions_match_enumeration_of_all_patterns(small):
    fit, _ = small
    s = fit.itemset_
    theta = fit.theta_
    par = np.vstack([b.par for b in s.blocks])
    P1 = 1.0 / (1.0 + np.exp(-(par[:, :1] * theta[None, :] + par[:, 1:2])))  # written out, (J, Q)
    w = np.exp(normal_log_weights(theta, 0.0, 1.0))
    J = 5
    num = np.zeros((J + 1, J))  # Σ over patterns with score s and y_i = 1
    den = np.zeros(J + 1)
    for y in itertools.product((0, 1), repeat=J):
        y = np.array(y)
        like = np.prod(np.where(y[:, None] == 1, P1, 1 - P1), axis=0) @ w
        den[y.sum()] += like
        num[y.sum()] += like * y
    brute = num / den[:, None]
    E, f = expected_proportions(list(M.probs("2pl", par, theta)), normal_log_weights(theta, 0.0, 1.0))
    np.testing.assert_allclose(f, den, rtol=1e-10, atol=1e-14)
    for i in range(J):
        np.testing.assert_allclose(E[i][:, 1], brute[:, i], rtol=0, atol=1e-10)
        np.testing.assert_allclose(E[i].sum(axis=1), 1.0, atol=1e-12)


def test_statistic_equals_the_direct_formula(small):
    fit, df = small
    Y = df.select([f"i{j}" for j in range(5)]).to_numpy()
    score = Y.sum(axis=1)
    s = fit.itemset_
    par = np.vstack([b.par for b in s.blocks])
    E, _ = expected_proportions(list(M.probs("2pl", par, fit.theta_)), normal_log_weights(fit.theta_, 0.0, 1.0))
    out = irt.sx2(fit, df)
    for i in range(5):
        N = np.array([(score == k).sum() for k in range(1, 5)], float)
        O1 = np.array([((score == k) & (Y[:, i] == 1)).sum() for k in range(1, 5)], float)
        obs = np.column_stack([N - O1, O1])
        Ex = N[:, None] * E[i][1:5]
        obs, Ex = collapse_groups(obs, Ex)
        x2 = float(((obs - Ex) ** 2 / Ex).sum())  # Σ_s Σ_k N_s (o − e)² / e in counts
        row = out.row(i, named=True)
        assert row["sx2"] == pytest.approx(x2, rel=1e-10)
        assert row["df"] == obs.shape[0] - 2
        assert row["p_value"] == pytest.approx(stats.chi2.sf(x2, obs.shape[0] - 2), rel=1e-9)


def test_collapsing_merges_sparse_extremes():
    E = np.array([[0.2, 0.1], [3.0, 2.0], [5.0, 5.0], [2.0, 0.5], [0.1, 0.3]])
    obs = np.ones_like(E)
    Oc, Ec = collapse_groups(obs, E)
    assert (Ec >= 1).all() and Ec.sum() == pytest.approx(E.sum()) and Oc.sum() == obs.sum()
    # low end: row 0 into row 1; high end: rows 3 + 4 still sparse, so into row 2
    np.testing.assert_allclose(Ec, [[3.2, 2.1], [7.1, 5.8]])
    np.testing.assert_allclose(Oc, [[2, 2], [3, 3]])


def test_true_model_fits_and_a_nonmonotone_item_does_not():
    rng = np.random.default_rng(2026)
    J = 10
    items = _items(rng.lognormal(0, 0.25, J), rng.normal(0, 0.8, J))
    th = rng.normal(size=3000)
    df = irt.simulate_responses(items, th, random_state=9)
    fit = irt.IRTModel("2pl", se=None).fit(df)
    good = irt.sx2(fit, df)
    assert good["item_id"].to_list() == [f"i{j}" for j in range(J)]
    assert (good["p_value"] < 0.01).sum() < 2
    assert (good["df"] == good["n_groups"] - 2).all()
    # replace the last item by a non-monotone curve: P(1|θ) = 0.15 + 0.7 exp(−θ²)
    bad_col = (rng.random(th.size) < 0.15 + 0.7 * np.exp(-th**2)).astype(np.int8)
    df_bad = df.with_columns(pl.Series("i9", bad_col))
    fit_bad = irt.IRTModel("2pl", se=None).fit(df_bad)
    bad = irt.sx2(fit_bad, df_bad)
    p_bad = bad.filter(pl.col("item_id") == "i9")["p_value"][0]
    assert p_bad < 1e-3
    assert bad["sx2"][9] > 3 * good["sx2"].max()


def test_gpcm_and_booklets():
    rng = np.random.default_rng(4)
    J = 8
    a = rng.lognormal(0, 0.2, J)
    steps = np.sort(rng.normal(0, 0.8, (J, 2)), axis=1) + [-0.3, 0.3]
    items = pl.DataFrame({"item_id": [f"p{j}" for j in range(J)], "model": ["gpcm"] * J, "a": a,
                          "b": steps.mean(axis=1), "c": np.zeros(J), "b_1": steps[:, 0], "b_2": steps[:, 1]})
    th = rng.normal(size=2000)
    mask, _ = irt.booklet_design(2000, J, 4, 2, random_state=3)
    df = irt.simulate_responses(items, th, random_state=8, administered=mask)
    fit = irt.IRTModel("gpcm", se=None).fit(df)
    par = np.vstack([b.par for b in fit.itemset_.blocks])
    E, f = expected_proportions(list(M.probs("gpcm", par[:4], fit.theta_)), normal_log_weights(fit.theta_, 0, 1))
    for e in E:
        np.testing.assert_allclose(e.sum(axis=1), 1.0, atol=1e-12)
    assert f.sum() == pytest.approx(1.0, abs=1e-12)
    out = irt.sx2(fit, df)
    assert out.height == J and out["sx2"].is_not_null().all()
    assert (out["df"] == out["n_groups"] * 2 - 3).all()
    assert out["p_value"].is_between(0, 1).all()
    assert (out["p_value"] < 0.001).sum() == 0
