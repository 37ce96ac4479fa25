"""Person scores for fixed item parameters: EAP, MAP, WLE and plausible values.

- EAP (Bock & Mislevy, 1982): posterior mean and SD of θ over the quadrature nodes,
  prior N(μ, σ).
- MAP: the posterior mode, by Fisher scoring on ℓ_n(θ) − (θ − μ)²/(2σ²).
- WLE (Warm, 1989): the root of Σ_j ∂log P_j(y_j|θ)/∂θ + J(θ)/(2 I(θ)) = 0, with test
  information I(θ) = Σ_j Σ_k P′_jk²/P_jk and J(θ) = Σ_j Σ_k P′_jk P″_jk / P_jk; finite for
  all-correct and all-wrong patterns.  Fisher scoring, bounded to [−range, range].
- Plausible values (Mislevy, 1991): draws from each person's posterior on a fine grid (node by
  inverse CDF, then uniform within the node's interval), either with the prior N(μ, σ)
  (unconditional) or with the latent-regression prior N(zᵀβ, σ²) whose β, σ are estimated by EM
  with the item parameters fixed (EM on every other node of the grid); each draw uses its own
  β ~ N(β̂, σ̂²(ZᵀZ)⁻¹) (one eigen-factor of that covariance for all draws) so that the
  regression's uncertainty enters the imputations.  Seeded through ``random_state``.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from junheng.exceptions import Issue, Issues, ParameterError

from . import _models as M
from ._data import ID_COLUMNS, collapse, read_responses
from ._itemset import ItemSet, from_frame
from .calibration import normal_log_weights, quadrature


def _itemset(items) -> ItemSet:
    if hasattr(items, "itemset_"):
        return items.itemset_
    if isinstance(items, ItemSet):
        return items
    if isinstance(items, pl.DataFrame):
        return from_frame(items)
    raise ParameterError(f"items 应为 ITEMS 表或已拟合模型 / items must be an ITEMS frame or a fitted IRTModel; got {type(items).__name__}")


def _prepare(items, responses: pl.DataFrame, exclude: tuple[str, ...] = ()):
    s = _itemset(items)
    known = set(s.items)
    cols = [c for c in responses.columns if c not in ID_COLUMNS and c not in exclude]
    unknown = [c for c in cols if c not in known]
    issues = Issues()
    for c in unknown:
        issues.add(Issue("题目不在项目参数表中", "item is not in the item parameter table", column=c))
    issues.raise_if_errors()
    data = read_responses(responses, items=cols, calibration=False) if cols else None
    if data is None:
        raise ParameterError("没有题目列 / the responses have no item columns")
    sub = s.subset(cols)
    too_high = data.Y.max(axis=0) >= sub.ncat
    for j in np.flatnonzero(too_high):
        issues.add(Issue("得分超出该题的类别数", "score above the item's categories", column=cols[j], value=int(data.Y[:, j].max())))
    issues.raise_if_errors()
    return sub, data


def _ids(data, n: int) -> dict:
    return {data.ids.name: data.ids} if data.ids is not None else {"person_id": pl.Series("person_id", np.arange(1, n + 1))}


def _likelihood(sub: ItemSet, data, theta: np.ndarray):
    pat = collapse(data.Y, np.zeros(data.Y.shape[0], np.int32), sub.offsets, sub.n_cols)
    return pat, pat.loglik(sub.log_probs(theta))


def eap(items, responses: pl.DataFrame, *, prior_mean: float = 0.0, prior_sd: float = 1.0,
        n_quad: int = 61, theta_range: float = 6.0) -> pl.DataFrame:
    """EAP θ and posterior SD per person: columns id, ``theta_eap``, ``theta_se``."""
    if not prior_sd > 0:
        raise ParameterError(f"prior_sd 应为正数 / prior_sd must be positive; got {prior_sd!r}")
    sub, data = _prepare(items, responses)
    m, sd = _eap_arrays(sub, data, prior_mean, prior_sd, n_quad, theta_range)
    return pl.DataFrame({**_ids(data, data.Y.shape[0]), "theta_eap": m, "theta_se": sd})


def _eap_arrays(sub, data, prior_mean, prior_sd, n_quad=61, theta_range=6.0):
    theta = quadrature(n_quad, theta_range)
    pat, LL = _likelihood(sub, data, theta)
    return _eap_from(pat, LL, theta, prior_mean, prior_sd)


def _eap_from(pat, LL, theta, prior_mean, prior_sd):
    """EAP and posterior SD per person from the pattern log-likelihoods ``LL`` (P × Q; changed in place)."""
    LL += normal_log_weights(theta, prior_mean, prior_sd)
    LL -= LL.max(axis=1, keepdims=True)
    post = np.exp(LL)
    post /= post.sum(axis=1, keepdims=True)
    m = post @ theta
    sd = np.sqrt(np.maximum(post @ theta**2 - m**2, 0))
    return m[pat.inverse], sd[pat.inverse]


def _person_derivs(sub: ItemSet, Y: np.ndarray, th: np.ndarray):
    """Per person at θ_n: score Σ∂log P/∂θ, information I, and Warm's J (closed-form θ-derivatives)."""
    N = th.size
    score, info, jw = np.zeros(N), np.zeros(N), np.zeros(N)
    for b in sub.blocks:
        P0, d1, d2 = M.theta_derivs(b.model, b.par, th)  # (J, K, N) each
        P0 = np.clip(P0, 1e-300, None)
        y = Y[:, b.idx].T  # (J, N)
        seen = y >= 0
        yy = np.where(seen, y, 0)[:, None, :]
        py = np.take_along_axis(P0, yy, axis=1)[:, 0]
        dy = np.take_along_axis(d1, yy, axis=1)[:, 0]
        score += np.where(seen, dy / py, 0).sum(axis=0)
        info += np.where(seen, (d1 * d1 / P0).sum(axis=1), 0).sum(axis=0)
        jw += np.where(seen, (d1 * d2 / P0).sum(axis=1), 0).sum(axis=0)
    return score, info, jw


def _newton(sub, Y, start, kind, prior_mean, prior_sd, theta_range, max_iter=100, tol=1e-8):
    """Safeguarded Fisher scoring: a bracket [lo, hi] with f(lo) > 0 > f(hi) is kept for every
    person, and a step leaving it is replaced by bisection, so the root is always found; when f
    keeps its sign over [−range, range] the estimate is the bound."""

    def f_and_d(rows, th):
        s, i, jw = _person_derivs(sub, Y[rows], th)
        if kind == "wle":
            return s + jw / (2 * np.maximum(i, 1e-12)), np.maximum(i, 1e-12)
        return s - (th - prior_mean) / prior_sd**2, i + 1.0 / prior_sd**2

    n = start.size
    every = np.arange(n)
    lo, hi = np.full(n, -theta_range), np.full(n, theta_range)
    f_lo, _ = f_and_d(every, lo)
    f_hi, _ = f_and_d(every, hi)
    th = np.clip(start, -theta_range, theta_range)
    th[f_lo <= 0] = -theta_range
    th[f_hi >= 0] = theta_range
    active = (f_lo > 0) & (f_hi < 0)
    prev_t, prev_f = np.full(n, np.nan), np.full(n, np.nan)
    for _ in range(max_iter):
        ix = np.flatnonzero(active)
        if ix.size == 0:
            break
        f, d = f_and_d(ix, th[ix])
        pos = f > 0
        lo[ix[pos]] = th[ix[pos]]
        hi[ix[~pos]] = th[ix[~pos]]
        # secant slope once two points are known (Warm's correction changes the slope, so
        # the Fisher-scoring slope −I alone would overshoot and oscillate)
        dt, df = th[ix] - prev_t[ix], f - prev_f[ix]
        secant = np.isfinite(dt) & (np.abs(dt) > 0) & (df * dt < 0)
        slope = np.where(secant, -df / np.where(secant, dt, 1.0), d)
        prev_t[ix], prev_f[ix] = th[ix], f
        new = th[ix] + f / slope
        outside = ~((new > lo[ix]) & (new < hi[ix]))
        new[outside] = 0.5 * (lo[ix][outside] + hi[ix][outside])
        done = (np.abs(new - th[ix]) < tol) | (hi[ix] - lo[ix] < tol) | (f == 0)
        th[ix] = new
        active[ix[done]] = False
    _, i, _ = _person_derivs(sub, Y, th)
    if kind == "map":
        i = i + 1.0 / prior_sd**2
    return th, 1.0 / np.sqrt(np.maximum(i, 1e-12))


def _chunked(sub, data, kind, prior_mean, prior_sd, theta_range, chunk=20000):
    e = _eap_arrays(sub, data, prior_mean, prior_sd)[0]
    out_t, out_s = np.empty_like(e), np.empty_like(e)
    for lo in range(0, e.size, chunk):
        sl = slice(lo, lo + chunk)
        out_t[sl], out_s[sl] = _newton(sub, data.Y[sl], e[sl], kind, prior_mean, prior_sd, theta_range)
    return out_t, out_s


def map_(items, responses: pl.DataFrame, *, prior_mean: float = 0.0, prior_sd: float = 1.0,
         theta_range: float = 6.0) -> pl.DataFrame:
    """MAP θ with SE = 1/√(I(θ) + 1/σ²): columns id, ``theta_map``, ``theta_se``."""
    sub, data = _prepare(items, responses)
    t, s = _chunked(sub, data, "map", prior_mean, prior_sd, theta_range)
    return pl.DataFrame({**_ids(data, t.size), "theta_map": t, "theta_se": s})


def wle(items, responses: pl.DataFrame, *, theta_range: float = 6.0) -> pl.DataFrame:
    """Warm's WLE θ with SE = 1/√I(θ): columns id, ``theta_wle``, ``theta_se``."""
    sub, data = _prepare(items, responses)
    t, s = _chunked(sub, data, "wle", 0.0, 1.0, theta_range)
    return pl.DataFrame({**_ids(data, t.size), "theta_wle": t, "theta_se": s})


def _design(frame: pl.DataFrame, columns: list[str]) -> tuple[np.ndarray, list[str]]:
    """Intercept + numeric columns + dummies of string/categorical columns (first level dropped)."""
    parts, names = [np.ones((frame.height, 1))], ["(intercept)"]
    issues = Issues()
    for c in columns:
        s = frame[c]
        if s.null_count():
            for r in np.flatnonzero(s.is_null().to_numpy())[:50]:
                issues.add(Issue("条件变量不能为空", "a conditioning variable may not be empty", row=int(r) + 2, column=c))
            continue
        if s.dtype.is_numeric() and s.dtype != pl.Boolean:
            parts.append(s.cast(pl.Float64).to_numpy()[:, None])
            names.append(c)
        else:
            s = s.cast(pl.String)
            levels = sorted(s.unique().to_list())
            for lv in levels[1:]:
                parts.append((s == lv).cast(pl.Float64).to_numpy()[:, None])
                names.append(f"{c}={lv}")
    issues.raise_if_errors()
    return np.hstack(parts), names


def conditioning_matrix(sub, data, responses: pl.DataFrame, conditioning: list[str], school: str | None,
                        questionnaire: list[str], share: float, prior_mean: float = 0.0,
                        prior_sd: float = 1.0, eap: np.ndarray | None = None) -> np.ndarray:
    """Z of the latent regression: intercept, reporting variables, the school mean of the other
    pupils' EAPs, the questionnaire's principal components (each column but the intercept and
    the dummies standardised, so that the EM's step sizes are comparable).  ``eap``: the pupils'
    EAPs when the caller has them (else computed here from the items)."""
    from .conditioning import leave_one_out_means, principal_components

    Z, _ = _design(responses, conditioning)
    extra = []
    if school:
        e = _eap_arrays(sub, data, prior_mean, prior_sd)[0] if eap is None else eap
        extra.append(leave_one_out_means(responses[school], e)[:, None])
    if questionnaire:
        pcs = principal_components(responses, questionnaire, share)
        if pcs.width:
            extra.append(pcs.to_numpy())
    if extra:
        X = np.hstack(extra)
        sd = X.std(axis=0)
        X = (X[:, sd > 0] - X[:, sd > 0].mean(axis=0)) / sd[sd > 0]
        Z = np.hstack([Z, X])
    return Z


def latent_regression(L: np.ndarray, Z: np.ndarray, theta: np.ndarray, max_iter: int = 500, tol: float = 1e-6):
    """EM for θ_n ~ N(z_nᵀβ, σ²) given per-person log-likelihoods L (N × Q) at the nodes."""
    ZtZ_inv = np.linalg.pinv(Z.T @ Z, hermitian=True)
    beta = np.zeros(Z.shape[1])
    sigma = 1.0
    for _ in range(max_iter):
        mu = Z @ beta
        post = _posterior(L, theta, mu, sigma)
        e1 = post @ theta
        e2 = post @ theta**2
        nb = ZtZ_inv @ (Z.T @ e1)
        nmu = Z @ nb
        ns = float(np.sqrt(np.mean(e2 - 2 * e1 * nmu + nmu**2)))
        done = max(np.abs(nb - beta).max(), abs(ns - sigma)) < tol
        beta, sigma = nb, ns
        if done:
            break
    return beta, sigma, sigma**2 * ZtZ_inv


def _posterior(L, theta, mu, sigma):
    lp = L - 0.5 * ((theta[None, :] - mu[:, None]) / sigma) ** 2
    lp -= lp.max(axis=1, keepdims=True)
    p = np.exp(lp)
    p /= p.sum(axis=1, keepdims=True)
    return p


def plausible_values(items, responses: pl.DataFrame, *, n: int = 5, conditioning: list[str] | None = None,
                     school: str | None = None, questionnaire: list[str] | None = None, share: float = 0.9,
                     prior_mean: float = 0.0, prior_sd: float = 1.0, n_quad: int = 121, theta_range: float = 6.0,
                     random_state: int | None = None) -> pl.DataFrame:
    """``n`` plausible values per person (columns id, ``pv1`` … ``pvn``), seeded by ``random_state``.

    The latent-regression prior N(zᵀβ, σ²) conditions on (``junheng.irt.conditioning``):

    - ``conditioning``: background columns of ``responses`` (numeric, or categorical → dummies),
      every reporting variable (county, sex, location);
    - ``school``: the school column; adds the mean EAP of the other pupils of the school;
    - ``questionnaire``: questionnaire columns; adds their principal components explaining
      ``share`` of the variance (missing answers: mean + missing indicator).

    With none of them the prior is N(prior_mean, prior_sd).  Call :func:`latent_regression`
    directly to inspect β and σ.
    """
    if not (isinstance(n, int) and n >= 1):
        raise ParameterError(f"n 应为正整数 / n must be a positive integer; got {n!r}")
    if random_state is None:
        raise ParameterError("plausible_values 需要 random_state（可复现）/ plausible_values needs a random_state (reproducible)")
    conditioning = list(conditioning or [])
    questionnaire = list(questionnaire or [])
    background = conditioning + ([school] if school else []) + questionnaire
    for c in background:
        if c not in responses.columns:
            raise ParameterError(f"条件变量不存在 / conditioning column {c!r} is not in the responses")
    sub, data = _prepare(items, responses, exclude=tuple(background))
    rng = np.random.default_rng(random_state)
    theta = quadrature(n_quad, theta_range)
    h = theta[1] - theta[0]
    pat, LLp = _likelihood(sub, data, theta)
    L = LLp[pat.inverse]
    N = L.shape[0]
    out = {}
    if background:
        # the school means' EAPs from the likelihood above on every other node (61 on ±6 by default)
        eap = _eap_from(pat, LLp[:, ::2].copy(), theta[::2], prior_mean, prior_sd)[0] if school else None
        Z = conditioning_matrix(sub, data, responses, conditioning, school, questionnaire, share, prior_mean, prior_sd,
                                eap=eap)
        # β and σ by EM on every other node (the calibration's 61-node precision), the draws on all
        beta, sigma, cov = latent_regression(L[:, ::2], Z, theta[::2])
        # one factor of the β covariance for every draw (β ~ N(β̂, cov) = β̂ + F·z, F Fᵀ = cov; eigh
        # copes with a singular cov when columns of Z are collinear)
        w, V = np.linalg.eigh(cov)
        factor = V * np.sqrt(np.clip(w, 0.0, None))
    for m in range(1, n + 1):
        if background:
            b = beta + factor @ rng.standard_normal(beta.size)
            post = _posterior(L, theta, Z @ b, sigma)
        else:
            post = _posterior(L, theta, np.full(N, prior_mean), prior_sd)
        cdf = np.cumsum(post, axis=1)
        u = rng.random(N) * cdf[:, -1]
        k = (cdf < u[:, None]).sum(axis=1)
        k = np.minimum(k, theta.size - 1)
        out[f"pv{m}"] = theta[k] + (rng.random(N) - 0.5) * h
    return pl.DataFrame({**_ids(data, N), **out})
