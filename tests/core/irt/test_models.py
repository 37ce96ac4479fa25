"""The item response functions' derivatives against finite differences, per model."""

from __future__ import annotations

import numpy as np
import pytest

from junheng.irt import _models as M

PARS = {
    "2pl": np.array([[1.3, 0.4], [0.7, -1.0]]),
    "rasch": np.array([[1.0, 0.4]]),
    "3pl": np.array([[1.5, -0.2, -1.2]]),
    "gpcm": np.array([[1.1, 0.5, 0.2, -0.9]]),
    "pcm": np.array([[1.0, 0.5, 0.2]]),
    "grm": np.array([[1.4, 1.5, 0.1, -1.2]]),
}
THETA = np.linspace(-3, 3, 13)


@pytest.mark.parametrize("model", list(PARS))
def test_probabilities_sum_to_one(model):
    P = M.probs(model, PARS[model], THETA)
    np.testing.assert_allclose(P.sum(axis=1), 1.0, atol=1e-12)
    assert (P > 0).all()


@pytest.mark.parametrize("model", list(PARS))
def test_parameter_jacobian_matches_finite_differences(model):
    par = PARS[model]
    jac = M.jac(model, par, THETA)
    for i in range(par.shape[1]):
        h = 1e-6
        up, dn = par.copy(), par.copy()
        up[:, i] += h
        dn[:, i] -= h
        num = (M.probs(model, up, THETA) - M.probs(model, dn, THETA)) / (2 * h)
        np.testing.assert_allclose(jac[..., i], num, atol=1e-8)


@pytest.mark.parametrize("model", list(PARS))
def test_theta_derivatives_match_finite_differences(model):
    par = PARS[model]
    h = 1e-5
    P, d1, d2 = M.theta_derivs(model, par, THETA)
    np.testing.assert_allclose(P, M.probs(model, par, THETA), atol=1e-14)
    np.testing.assert_allclose(d1, (M.probs(model, par, THETA + h) - M.probs(model, par, THETA - h)) / (2 * h), atol=1e-8)
    _, u, _ = M.theta_derivs(model, par, THETA + h)
    _, v, _ = M.theta_derivs(model, par, THETA - h)
    np.testing.assert_allclose(d2, (u - v) / (2 * h), atol=1e-7)


@pytest.mark.parametrize("model", ["2pl", "3pl", "gpcm", "grm"])
def test_difficulty_metric_round_trip(model):
    par = PARS[model]
    m = M.to_difficulty(model, par)
    steps = np.column_stack([m[f"b_{k}"] for k in range(1, par.shape[1])]) if model in M.POLYTOMOUS else None
    back = M.from_difficulty(model, m["a"], m["b"], m["c"], steps)
    np.testing.assert_allclose(back, par, atol=1e-12)
