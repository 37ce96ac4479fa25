"""Item response functions and their parameter Jacobians, vectorised over items and nodes.

Every model is written in slope–intercept form with D = 1 (logistic metric):

- ``rasch`` / ``2pl``: P(1|θ) = σ(aθ + d); Rasch fixes a = 1.
- ``3pl``: P(1|θ) = c + (1 − c)σ(aθ + d), with c = σ(γ) (γ is estimated, c reported).
- ``pcm`` / ``gpcm`` (Muraki 1992): P(k|θ) ∝ exp(a·k·θ + d_k), d_0 = 0; PCM fixes a = 1.
  In the difficulty metric d_k = −a Σ_{v≤k} b_v.
- ``grm`` (Samejima 1969): P(X ≥ k|θ) = σ(aθ + d_k), d_1 > d_2 > …; P(k) = P*_k − P*_{k+1};
  in the difficulty metric d_k = −a b_k.

A *block* holds items of one model and one number of categories K; its parameters are an array
``par`` of shape (J, p) and ``probs(par, θ)`` returns P of shape (J, K, Q) and
``jac(par, θ)`` dP/dpar of shape (J, K, Q, p). The M-step (Fisher scoring) uses only these two
functions, so every model shares one estimation path.
"""

from __future__ import annotations

import numpy as np

MODELS = ("rasch", "2pl", "3pl", "pcm", "gpcm", "grm")
DICHOTOMOUS = ("rasch", "2pl", "3pl")
POLYTOMOUS = ("pcm", "gpcm", "grm")
FIXED_SLOPE = ("rasch", "pcm")


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def n_params(model: str, ncat: int) -> int:
    """Number of slope–intercept parameters stored for an item (including fixed ones)."""
    if model == "3pl":
        return 3
    return 1 + (ncat - 1)


def free_mask(model: str, ncat: int) -> np.ndarray:
    """Which of the stored parameters are estimated (Rasch and PCM fix the slope at 1)."""
    m = np.ones(n_params(model, ncat), dtype=bool)
    if model in FIXED_SLOPE:
        m[0] = False
    return m


def probs(model: str, par: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """Category probabilities, shape (J, K, Q)."""
    a = par[:, 0:1]
    th = theta[None, :]
    if model in DICHOTOMOUS:
        s = _sigmoid(a * th + par[:, 1:2])
        if model == "3pl":
            c = _sigmoid(par[:, 2:3])
            s = c + (1.0 - c) * s
        return np.stack([1.0 - s, s], axis=1)
    if model in ("pcm", "gpcm"):
        k = np.arange(par.shape[1])  # categories 0..K-1
        d = np.concatenate([np.zeros((par.shape[0], 1)), par[:, 1:]], axis=1)
        z = a[:, :, None] * k[None, :, None] * th[:, None, :] + d[:, :, None]
        z -= z.max(axis=1, keepdims=True)
        ez = np.exp(z)
        return ez / ez.sum(axis=1, keepdims=True)
    if model == "grm":
        star = _sigmoid(a[:, :, None] * th[:, None, :] + par[:, 1:, None])  # (J, K-1, Q)
        j, _, q = star.shape
        full = np.concatenate([np.ones((j, 1, q)), star, np.zeros((j, 1, q))], axis=1)
        return full[:, :-1] - full[:, 1:]
    raise ValueError(model)


def jac(model: str, par: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """dP/dpar, shape (J, K, Q, p)."""
    a = par[:, 0:1]
    th = theta[None, :]
    J, p = par.shape
    Q = theta.size
    if model in DICHOTOMOUS:
        s = _sigmoid(a * th + par[:, 1:2])
        ds = s * (1.0 - s)
        out = np.empty((J, 2, Q, p))
        if model == "3pl":
            c = _sigmoid(par[:, 2:3])
            out[:, 1, :, 0] = (1.0 - c) * ds * th
            out[:, 1, :, 1] = (1.0 - c) * ds
            out[:, 1, :, 2] = c * (1.0 - c) * (1.0 - s)
        else:
            out[:, 1, :, 0] = ds * th
            out[:, 1, :, 1] = ds
        out[:, 0] = -out[:, 1]
        return out
    if model in ("pcm", "gpcm"):
        P = probs(model, par, theta)  # (J, K, Q)
        K = P.shape[1]
        k = np.arange(K)[None, :, None]
        mean_k = (P * k).sum(axis=1, keepdims=True)
        out = np.empty((J, K, Q, p))
        out[..., 0] = P * (k - mean_k) * th[:, None, :]
        # dP_k/dd_m = P_k (1[k=m] - P_m), m = 1..K-1
        eye = np.eye(K)[None, :, None, 1:]  # (1, K, 1, K-1)
        out[..., 1:] = P[..., None] * (eye - np.moveaxis(P[:, 1:, :], 1, 2)[:, None, :, :])
        return out
    if model == "grm":
        star = _sigmoid(a[:, :, None] * th[:, None, :] + par[:, 1:, None])  # (J, K-1, Q)
        ds = star * (1.0 - star)
        K = p  # categories = 1 + (K-1)
        zero = np.zeros((J, 1, Q))
        dsf = np.concatenate([zero, ds, zero], axis=1)  # index m = 0..K
        out = np.zeros((J, K, Q, p))
        out[..., 0] = (dsf[:, :-1] - dsf[:, 1:]) * th[:, None, :]
        for m in range(1, K):  # tiny loop over categories, not persons
            out[:, m - 1, :, m] -= ds[:, m - 1]
            out[:, m, :, m] += ds[:, m - 1]
        return out
    raise ValueError(model)


def start_values(model: str, counts: np.ndarray) -> np.ndarray:
    """Starting values from the observed category counts (J, K): a = 1, intercepts from logits."""
    J, K = counts.shape
    prop = (counts + 0.5) / (counts + 0.5).sum(axis=1, keepdims=True)
    par = np.zeros((J, n_params(model, K)))
    par[:, 0] = 1.0
    if model in DICHOTOMOUS:
        par[:, 1] = np.log(prop[:, 1] / prop[:, 0]) * 1.3
        if model == "3pl":
            par[:, 2] = np.log(0.2 / 0.8)
    elif model in ("pcm", "gpcm"):
        # adjacent-category logits, cumulated: d_k = Σ_{v<=k} log(p_v / p_{v-1})
        par[:, 1:] = np.cumsum(np.log(prop[:, 1:] / prop[:, :-1]), axis=1)
    elif model == "grm":
        cum = np.cumsum(prop[:, ::-1], axis=1)[:, ::-1][:, 1:]  # P(X >= k), k = 1..K-1
        cum = np.clip(cum, 1e-3, 1 - 1e-3)
        par[:, 1:] = np.log(cum / (1 - cum)) * 1.3
    return par


def valid(model: str, par: np.ndarray) -> np.ndarray:
    """Per item: the parameters define proper probabilities (GRM intercepts strictly decreasing)."""
    ok = np.all(np.isfinite(par), axis=1) & (np.abs(par[:, 0]) < 20)
    if model == "grm" and par.shape[1] > 2:
        ok &= np.all(np.diff(par[:, 1:], axis=1) < 0, axis=1)
    return ok


def to_difficulty(model: str, par: np.ndarray) -> dict[str, np.ndarray]:
    """Slope–intercept → reporting metric: a, b (location), c, b_1 … b_{K-1}."""
    a = par[:, 0]
    out: dict[str, np.ndarray] = {"a": a.copy()}
    if model in DICHOTOMOUS:
        out["b"] = -par[:, 1] / a
        out["c"] = _sigmoid(par[:, 2]) if model == "3pl" else np.zeros_like(a)
        return out
    if model in ("pcm", "gpcm"):
        d = np.concatenate([np.zeros((par.shape[0], 1)), par[:, 1:]], axis=1)
        steps = -(np.diff(d, axis=1)) / a[:, None]
    else:  # grm
        steps = -par[:, 1:] / a[:, None]
    out["c"] = np.zeros_like(a)
    out["b"] = steps.mean(axis=1)
    for k in range(steps.shape[1]):
        out[f"b_{k + 1}"] = steps[:, k]
    return out


def from_difficulty(model: str, a: np.ndarray, b: np.ndarray, c: np.ndarray, steps: np.ndarray | None) -> np.ndarray:
    """Reporting metric → slope–intercept parameters (inverse of :func:`to_difficulty`)."""
    J = a.size
    if model in DICHOTOMOUS:
        par = np.zeros((J, 3 if model == "3pl" else 2))
        par[:, 0] = a
        par[:, 1] = -a * b
        if model == "3pl":
            cc = np.clip(c, 1e-6, 1 - 1e-6)
            par[:, 2] = np.log(cc / (1 - cc))
        return par
    assert steps is not None
    par = np.zeros((J, 1 + steps.shape[1]))
    par[:, 0] = a
    if model in ("pcm", "gpcm"):
        par[:, 1:] = -a[:, None] * np.cumsum(steps, axis=1)
    else:
        par[:, 1:] = -a[:, None] * steps
    return par


def theta_derivs(model: str, par: np.ndarray, theta: np.ndarray):
    """P, ∂P/∂θ and ∂²P/∂θ² (each (J, K, Q)) in closed form, exact also far in the tails."""
    a = par[:, 0:1]
    th = theta[None, :]
    if model in DICHOTOMOUS:
        s = _sigmoid(a * th + par[:, 1:2])
        c = _sigmoid(par[:, 2:3]) if model == "3pl" else 0.0
        g = (1.0 - c) * s * (1.0 - s)
        d1 = a * g
        d2 = a * a * g * (1.0 - 2.0 * s)
        P1 = c + (1.0 - c) * s
        return np.stack([1.0 - P1, P1], axis=1), np.stack([-d1, d1], axis=1), np.stack([-d2, d2], axis=1)
    if model in ("pcm", "gpcm"):
        P = probs(model, par, theta)
        k = np.arange(P.shape[1])[None, :, None]
        e = (P * k).sum(axis=1, keepdims=True)
        dev = k - e
        var = (P * dev * dev).sum(axis=1, keepdims=True)
        aa = a[:, :, None]
        return P, aa * P * dev, aa * aa * P * (dev * dev - var)
    if model == "grm":
        star = _sigmoid(a[:, :, None] * th[:, None, :] + par[:, 1:, None])
        g = star * (1.0 - star)
        J, _, Q = star.shape
        z = np.zeros((J, 1, Q))
        aa = a[:, :, None]
        s1 = np.concatenate([z, aa * g, z], axis=1)
        s2 = np.concatenate([z, aa * aa * g * (1.0 - 2.0 * star), z], axis=1)
        return probs(model, par, theta), s1[:, :-1] - s1[:, 1:], s2[:, :-1] - s2[:, 1:]
    raise ValueError(model)
