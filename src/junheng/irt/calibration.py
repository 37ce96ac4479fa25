"""Marginal maximum likelihood calibration by EM over fixed quadrature (Bock & Aitkin, 1981).

E-step: for every distinct (response pattern, group) row p and node θ_q,
    log L_pq = Σ_j log P_j(y_pj | θ_q) + log π_g(q)        (sum over administered items only)
computed as one sparse product X · log P, X the one-hot (pattern × item-category) matrix, so
missing-by-design needs no special case.  Posterior weights w_pq ∝ n_p exp(log L_pq); expected
counts r_jkq = Xᵀ w.  Marginal log-likelihood ℓ = Σ_p n_p log Σ_q exp(log L_pq).

M-step: every item of a block (one model, one category count) at once by Fisher scoring on the
expected complete-data log-likelihood Σ_kq r_jkq log P_jk(θ_q) (+ log Beta prior on c for 3PL);
group g's latent N(μ_g, σ_g) from the posterior moments; the reference group is N(0, 1), except
that its SD is free when every slope is fixed (Rasch/PCM) and both are free when anchor items are
held at given values (fixed-anchor calibration).

Convergence: largest absolute change of any parameter (slope–intercept metric, group means and
SDs) between cycles below ``tol`` (mirt's criterion; default 1e-4).

Standard errors: ``se="observed"`` inverts the observed information −∂²ℓ/∂ξ∂ξᵀ, computed
analytically at the EM solution by Louis' (1982) identity — the quantity Oakes' (1999) identity
computes, as mirt reports with ``SE.type='Oakes'`` — from one E-step's posterior weights (see
:mod:`junheng.irt._information`).  It agrees with central differences of the exact gradient
∂ℓ/∂ξ = Σ_kq r_jkq ∂log P_jk/∂ξ (Fisher's identity; :meth:`IRTModel.fd_information`, two E-steps
per parameter) to differencing error.  ``se="xpd"`` uses the cross-product of per-pattern scores
(cheaper, less accurate).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import polars as pl

from junheng.exceptions import Issue, Issues, ParameterError

from . import _fused
from . import _models as M
from ._base import Estimator
from ._data import collapse, read_responses, resolve_models
from ._em import block_grad_info, estep, group_totals, mstep_block
from ._information import observed_information
from ._itemset import ItemSet, build, from_frame, to_frame


def quadrature(n_quad: int = 61, theta_range: float = 6.0) -> np.ndarray:
    """Equally spaced nodes on [−range, range] (mirt's default for one dimension: 61 on ±6)."""
    return np.linspace(-theta_range, theta_range, n_quad)


def normal_log_weights(theta: np.ndarray, mean: float, sd: float) -> np.ndarray:
    """log of N(mean, sd) density at the nodes, normalised to sum to one."""
    lw = -0.5 * ((theta - mean) / sd) ** 2
    return lw - np.logaddexp.reduce(lw)


def _check(name: str, value, ok: bool, rule: str) -> None:
    if not ok:
        raise ParameterError(f"参数 {name} 不合法 / parameter {name!r} {rule}; got {value!r}")


def _check_categories(data, fixed_names: set) -> None:
    """Every estimated item needs responses in each category 0 … its highest score."""
    issues = Issues()
    for j, c in enumerate(data.items):
        if c in fixed_names:
            continue
        seen = np.unique(data.Y[:, j][data.Y[:, j] >= 0])
        empty = sorted(set(range(int(seen.max()) + 1)) - set(seen.tolist()))
        if empty:
            issues.add(Issue(
                f"得分类别 {empty} 无人得到，无法估计（得分应从 0 起）；若这不是题目列，请用 items= 指定题目列",
                f"score categories {empty} have no responses, so the column cannot be calibrated (scores start at "
                "0); if it is not an item, name the item columns with items=", column=c,
                value=",".join(str(int(v)) for v in seen)))
    issues.raise_if_errors()


class IRTModel(Estimator):
    """Unidimensional IRT calibration by marginal maximum likelihood (EM, fixed quadrature).

    Parameters
    ----------
    model : "rasch" | "2pl" | "3pl" | "pcm" | "gpcm" | "grm", or a dict item → model
        A name applies to every item; a dichotomous name given a polytomous item uses its
        polytomous counterpart (2pl/3pl → gpcm, rasch → pcm) and vice versa, so ``"2pl"`` means
        "2PL for dichotomous items and GPCM for polytomous items".
    n_quad, theta_range : quadrature nodes, equally spaced on [−theta_range, theta_range].
    tol, max_iter : EM stops when the largest parameter change is below ``tol``.
    se : "observed" | "xpd" | None — standard errors of the item parameters.
    guess_prior : (α, β) of the Beta prior on the 3PL guessing parameter (mode (α−1)/(α+β−2)).
    fixed_items : ITEMS frame of anchor items held at their given values (fixed-anchor
        calibration); the reference group's mean and SD are then estimated.
    reference_group : the group fixed at N(0, 1) (default: the first group met).
    accelerate : every third cycle, jump along the last EM step by its geometric tail
        (ratio r of successive steps, jump r/(1 − r), as in Ramsay 1975 / mirt), kept only if the
        log-likelihood does not fall; the fixed point is EM's.
    engine : "auto" | "numba" | "numpy" — the fused compiled E-step (numba, when installed) or
        the NumPy one (BLAS products); both give the same numbers to rounding.
    callback : called as ``callback(cycle, loglik, change)`` after every EM cycle (progress bars).

    Fitted attributes: ``items_`` (ITEMS frame), ``loglik_``, ``n_iter_``, ``converged_``,
    ``group_means_``, ``group_sds_`` (dict label → value), ``loglik_history_``, ``n_persons_``.
    """

    def __init__(self, model: str | dict = "2pl", *, n_quad: int = 61, theta_range: float = 6.0,
                 tol: float = 1e-4, max_iter: int = 500, se: str | None = "observed",
                 guess_prior: tuple[float, float] = (5.0, 17.0), fixed_items: pl.DataFrame | None = None,
                 reference_group=None, m_step_iter: int = 3, engine: str = "auto", accelerate: bool = True,
                 callback: Callable | None = None):
        self.model = model
        self.n_quad = n_quad
        self.theta_range = theta_range
        self.tol = tol
        self.max_iter = max_iter
        self.se = se
        self.guess_prior = guess_prior
        self.fixed_items = fixed_items
        self.reference_group = reference_group
        self.m_step_iter = m_step_iter
        self.engine = engine
        self.accelerate = accelerate
        self.callback = callback

    def _validate_params(self) -> None:
        if isinstance(self.model, str):
            _check("model", self.model, self.model.lower() in M.MODELS, f"must be one of {', '.join(M.MODELS)}")
        elif not isinstance(self.model, dict):
            _check("model", self.model, False, "must be a model name or a dict item → model name")
        _check("n_quad", self.n_quad, isinstance(self.n_quad, int) and 5 <= self.n_quad <= 401, "must be an integer in [5, 401]")
        _check("theta_range", self.theta_range, isinstance(self.theta_range, int | float) and 2 <= self.theta_range <= 12,
               "must be a number in [2, 12]")
        _check("tol", self.tol, isinstance(self.tol, int | float) and 0 < self.tol < 1, "must be in (0, 1)")
        _check("max_iter", self.max_iter, isinstance(self.max_iter, int) and self.max_iter >= 1, "must be a positive integer")
        _check("se", self.se, self.se in (None, "observed", "xpd"), "must be 'observed', 'xpd' or None")
        gp = self.guess_prior
        _check("guess_prior", gp, isinstance(gp, tuple | list) and len(gp) == 2 and all(x >= 1 for x in gp),
               "must be a pair (α, β) with both ≥ 1")
        _check("engine", self.engine, self.engine in ("auto", "numba", "numpy"), "must be 'auto', 'numba' or 'numpy'")
        if self.engine == "numba" and not _fused.AVAILABLE:
            raise ParameterError("engine='numba' 需要安装 numba / engine='numba' needs numba installed")
        _check("m_step_iter", self.m_step_iter, isinstance(self.m_step_iter, int) and self.m_step_iter >= 1,
               "must be a positive integer")

    # ------------------------------------------------------------------ fit
    def fit(self, responses: pl.DataFrame, group: str | None = None, *, items: list[str] | None = None) -> IRTModel:
        """Calibrate on a wide scored-response frame (``person_id`` + one column per item).

        ``items`` names the item columns; by default every column but ``person_id``,
        ``student_id`` and ``group`` is an item. A column whose scores leave a category between 0
        and its highest score empty (e.g. ``sex`` coded 1/2) cannot be calibrated and is refused,
        naming the column, unless it is a fixed anchor.
        """
        self._validate_params()
        data = read_responses(responses, group=group, items=items)
        Y = data.Y
        ncat = (Y.max(axis=0) + 1).astype(np.int64)
        fixed = from_frame(self.fixed_items) if self.fixed_items is not None else None
        fixed_names = set(fixed.items) if fixed is not None else set()
        _check_categories(data, fixed_names)
        models_ = resolve_models(self.model, data.items, ncat)
        if fixed is not None:
            fm = dict(zip(fixed.items, fixed.models()))
            fk = dict(zip(fixed.items, fixed.ncat))
            for j, it in enumerate(data.items):
                if it in fm:
                    if Y[:, j].max() + 1 > fk[it]:
                        raise ParameterError(f"锚题 {it} 的得分超出给定参数的类别数 / anchor {it!r} has scores above its "
                                             f"{fk[it]} categories")
                    models_[j] = fm[it]
                    ncat[j] = fk[it]
        itemset = build(data.items, ncat, models_)
        offsets = itemset.offsets
        pat = collapse(Y, data.group_codes, offsets, itemset.n_cols)
        # starting values from observed category counts
        counts = pat.counts(pat.count[:, None])[:, 0]
        fixed_par = {}
        if fixed is not None:
            for b in fixed.blocks:
                for r, i in enumerate(b.idx):
                    fixed_par[fixed.items[i]] = b.par[r]
        for b in itemset.blocks:
            cnt = counts[itemset.block_cols(b)]
            b.par = M.start_values(b.model, cnt)
            for r, i in enumerate(b.idx):
                if data.items[i] in fixed_par:
                    b.par[r] = fixed_par[data.items[i]]
                    b.fixed[r] = True
        theta = quadrature(self.n_quad, self.theta_range)
        G = len(data.group_labels)
        ref = 0 if self.reference_group is None else data.group_labels.index(self.reference_group) \
            if self.reference_group in data.group_labels else -1
        if ref < 0:
            raise ParameterError(f"参照组不存在 / reference_group {self.reference_group!r} is not among the groups")
        means, sds = np.zeros(G), np.ones(G)
        all_fixed_slope = all(b.model in M.FIXED_SLOPE for b in itemset.blocks)
        anchored = bool(fixed_names & set(data.items))
        free_mean = np.ones(G, bool)
        free_sd = np.ones(G, bool)
        if not anchored:
            free_mean[ref] = False
            free_sd[ref] = all_fixed_slope
        history: list[float] = []
        fused = self.engine == "numba" or (self.engine == "auto" and _fused.AVAILABLE
                                           and pat.count.size >= _fused.MIN_PATTERNS)
        if fused:
            cols = _fused.column_index(pat.Y, offsets)
        converged = False
        it = 0
        blocks = itemset.blocks
        sizes = [b.par.size for b in blocks]

        def pack() -> np.ndarray:
            return np.concatenate([b.par.ravel() for b in blocks] + [means, sds])

        def unpack(x: np.ndarray) -> None:
            pos = 0
            for b, k in zip(blocks, sizes):
                b.par[...] = x[pos:pos + k].reshape(b.par.shape)
                pos += k
            means[:] = x[pos:pos + G]
            sds[:] = x[pos + G:pos + 2 * G]

        def e_step():
            logprior = np.stack([normal_log_weights(theta, means[g], sds[g]) for g in range(G)])
            if fused:
                return _fused.estep(cols, itemset.log_probs(theta), logprior, pat.group, pat.count)
            ll, W, R = estep(itemset, pat, theta, logprior)
            return ll, R, group_totals(pat, W, G)

        trail: list[np.ndarray] = []
        pending = None  # (EM point, log-likelihood to beat) after an extrapolation
        self.n_extrapolations_ = 0
        for it in range(1, self.max_iter + 1):
            ll, R, Wg = e_step()
            if pending is not None:
                x_em, ll_ref = pending
                pending = None
                if not ll >= ll_ref:  # the extrapolated point is worse: back to the EM point
                    unpack(x_em)
                    self.n_extrapolations_ -= 1
                    ll, R, Wg = e_step()
            history.append(ll)
            old = [b.par.copy() for b in itemset.blocks]
            old_m, old_s = means.copy(), sds.copy()
            for b in itemset.blocks:
                r = R[itemset.block_cols(b)]
                mstep_block(b, r, theta, self.guess_prior, self.m_step_iter, self.tol)
            for g in range(G):
                wg = Wg[g]
                n = wg.sum()
                mu = float(wg @ theta / n)
                var = float(wg @ (theta - mu) ** 2 / n)
                if free_mean[g]:
                    means[g] = mu
                if free_sd[g]:
                    sds[g] = math.sqrt(max(var, 1e-6)) if free_mean[g] else math.sqrt(max(var + mu * mu, 1e-6))
            change = max([float(np.abs(b.par - o).max()) for b, o in zip(itemset.blocks, old)]
                         + [float(np.abs(means - old_m).max()), float(np.abs(sds - old_s).max())])
            if self.callback is not None:
                self.callback(it, ll, change)
            if change < self.tol:
                converged = True
                break
            if self.accelerate:
                trail = (trail + [pack()])[-3:]
                if len(trail) == 3:
                    d1, d2 = trail[1] - trail[0], trail[2] - trail[1]
                    ratio = float(np.linalg.norm(d2) / max(np.linalg.norm(d1), 1e-300))
                    if 0.0 < ratio < 0.95:
                        # EM converges linearly with rate ≈ ratio: jump by the geometric tail
                        x_em = trail[2]
                        unpack(x_em + min(ratio / (1.0 - ratio), 20.0) * d2)
                        if all(M.valid(b.model, b.par).all() for b in blocks) and (sds > 0).all():
                            pending = (x_em, ll)
                            self.n_extrapolations_ += 1
                        else:
                            unpack(x_em)
                        trail = []
        if pending is not None:
            unpack(pending[0])
        logprior = np.stack([normal_log_weights(theta, means[g], sds[g]) for g in range(G)])
        self._itemset, self._pat, self._theta, self._logprior = itemset, pat, theta, logprior
        self._cols = cols if fused else None
        if self.se is not None or not fused:
            ll, W, R = estep(itemset, pat, theta, logprior)
        else:
            ll, R, _ = self._e()
            W = None
        if self.se is not None:
            self._standard_errors(R, W)
        self.items_ = to_frame(itemset)
        self.loglik_ = ll
        self.loglik_history_ = history
        self.n_iter_ = it
        self.converged_ = converged
        self.group_means_ = dict(zip(data.group_labels, means.tolist()))
        self.group_sds_ = dict(zip(data.group_labels, sds.tolist()))
        self.n_persons_ = int(Y.shape[0])
        self.n_patterns_ = int(pat.count.size)
        self.theta_ = theta
        return self

    # ------------------------------------------------------------------ SEs
    def _e(self):
        """(loglik, R) at the current item parameters, with the engine chosen in fit()."""
        if self._cols is not None:
            return _fused.estep(self._cols, self._itemset.log_probs(self._theta), self._logprior,
                                self._pat.group, self._pat.count)[:2] + (None,)
        ll, _, R = estep(self._itemset, self._pat, self._theta, self._logprior)
        return ll, R, None

    def _free_index(self):
        """(block, item row, param) for every estimated item parameter."""
        out = []
        for bi, b in enumerate(self._itemset.blocks):
            for r in range(b.par.shape[0]):
                if b.fixed[r]:
                    continue
                for p in np.flatnonzero(b.free):
                    out.append((bi, r, int(p)))
        return out

    def _gradient(self, R: np.ndarray, idx) -> np.ndarray:
        s = self._itemset
        g = {}
        for bi, b in enumerate(s.blocks):
            g[bi] = block_grad_info(b, R[s.block_cols(b)], self._theta, self.guess_prior)[0]
        return np.array([g[bi][r, p] for bi, r, p in idx])

    def fd_information(self) -> np.ndarray:
        """The observed information of the free item parameters by central differences of the exact
        gradient (two E-steps per parameter): the check on the analytic ``se="observed"``."""
        s = self._itemset
        idx = self._free_index()
        n = len(idx)
        H = np.zeros((n, n))
        for col, (bi, r, p) in enumerate(idx):
            b = s.blocks[bi]
            x0 = b.par[r, p]
            h = 1e-4 * max(1.0, abs(x0))
            grads = []
            for sign in (1.0, -1.0):
                b.par[r, p] = x0 + sign * h
                Rh = self._e()[1]
                grads.append(self._gradient(Rh, idx))
            b.par[r, p] = x0
            H[:, col] = (grads[0] - grads[1]) / (2 * h)
        return -(H + H.T) / 2

    def _standard_errors(self, R: np.ndarray, W: np.ndarray) -> None:
        s = self._itemset
        idx = self._free_index()
        n = len(idx)
        if self.se == "observed":
            info = observed_information(s, self._pat, self._theta, W, R, idx, self.guess_prior)
        else:  # cross-product of per-pattern scores
            S = np.zeros((self._pat.count.size, n))
            Wn = W / self._pat.count[:, None]  # per-person posterior
            col = 0
            theta = self._theta
            for b in s.blocks:
                P = np.clip(M.probs(b.model, b.par, theta), 1e-300, None)
                dlog = M.jac(b.model, b.par, theta) / P[..., None]  # (J, K, Q, p)
                for r in range(b.par.shape[0]):
                    if b.fixed[r]:
                        continue
                    j = b.idx[r]
                    y = self._pat.Y[:, j]
                    seen = np.flatnonzero(y >= 0)
                    free = np.flatnonzero(b.free)
                    vals = np.einsum("nq,nqa->na", Wn[seen], dlog[r][y[seen]][:, :, free])
                    S[seen, col:col + free.size] = vals
                    col += free.size
            info = (S * self._pat.count[:, None]).T @ S
        try:
            cov = np.linalg.inv(info)
        except np.linalg.LinAlgError:
            cov = np.linalg.pinv(info)
        for b in s.blocks:
            b.cov = np.zeros((b.par.shape[0], b.par.shape[1], b.par.shape[1]))
        pos: dict[tuple[int, int], list[tuple[int, int]]] = {}
        for k, (bi, r, p) in enumerate(idx):
            pos.setdefault((bi, r), []).append((k, p))
        for (bi, r), lst in pos.items():
            ks = [k for k, _ in lst]
            ps = [p for _, p in lst]
            s.blocks[bi].cov[r][np.ix_(ps, ps)] = cov[np.ix_(ks, ks)]
        self.cov_ = cov

    # ------------------------------------------------------------------ conveniences
    @property
    def itemset_(self) -> ItemSet:
        return self._itemset


def calibrate(responses: pl.DataFrame, model: str | dict = "2pl", *, group: str | None = None,
              items: list[str] | None = None, **kwargs) -> IRTModel:
    """Fit an :class:`IRTModel` and return it (``calibrate(df, "2pl").items_``)."""
    return IRTModel(model, **kwargs).fit(responses, group=group, items=items)
