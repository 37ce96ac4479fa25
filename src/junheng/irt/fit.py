"""Item fit: the summed-score S-X² statistic (Orlando & Thissen, 2000; Kang & Chen, 2008).

For item i and summed score s (over the items a person took), the model-implied proportion of
persons in category k is

    E_ik(s) = ∫ P_ik(θ) L_{−i}(s − k | θ) g(θ) dθ / ∫ L(s | θ) g(θ) dθ,

with L(s | θ) the probability of summed score s given θ (Lord & Wingersky, 1984, recursion over
items, vectorised over the quadrature nodes), L_{−i} the same without item i and g the fitted
latent distribution on the calibration nodes. With N_s persons at score s and O_iks of them in
category k, S-X²_i = Σ_s Σ_k N_s (O_iks/N_s − E_ik(s))² / E_ik(s), after dropping the two extreme
scores (item i's response is determined there) and collapsing sparse score groups: from the low
end upward, then from the high end downward, a score group with an expected count N_s E_ik(s)
below 1 in any category is merged into its neighbour (mirt's rule). Degrees of freedom:
groups × (K_i − 1) − free parameters of item i (none for fixed anchors).

Booklets: the statistic needs persons who took the same items, so it is computed per item set
(persons who saw exactly that set); item i's contributions and score groups are summed over the
sets that contain it, and its free parameters are subtracted once. Multi-group calibrations
(``group=``) use each group's fitted N(μ_g, σ_g) and add the groups' observed and expected counts
within a set before collapsing.
"""

from __future__ import annotations

import numpy as np
import polars as pl
from scipy import stats

from junheng.exceptions import ParameterError

from . import _models as M
from ._data import read_responses
from .calibration import normal_log_weights

MIN_EXPECTED = 1.0


def _lw(P: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Lord–Wingersky: summed-score probabilities given θ, rescaled per node.

    ``P`` holds one (K_j, Q) array per item. Returns (L̃ of shape (S+1, Q), log scale c of shape
    (Q,)) with L(s | θ_q) = L̃[s, q] exp(c_q).
    """
    Q = P[0].shape[1] if P else 1
    S = sum(p.shape[0] - 1 for p in P)
    L = np.zeros((S + 1, Q))
    L[0] = 1.0
    c = np.zeros(Q)
    top = 0
    for p in P:
        K = p.shape[0]
        new = np.zeros_like(L)
        for k in range(K):
            new[k:top + k + 1] += L[:top + 1] * p[k]
        top += K - 1
        m = new.max(axis=0)
        L = new / m
        c += np.log(m)
    return L, c


def expected_proportions(P: list[np.ndarray], log_weights: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """Model-implied category proportions given the summed score, for every item of a set.

    ``P``: one (K_j, Q) array of category probabilities per item; ``log_weights``: log of the
    latent distribution's weights at the nodes (summing to one). Returns ([E_j of shape
    (S+1, K_j)], f) with f(s) the marginal probability of summed score s; rows where f(s) = 0 are
    zero.
    """
    L, c = _lw(P)
    S = L.shape[0] - 1
    M_ = float(np.max(log_weights + c))
    den = L @ np.exp(log_weights + c - M_)  # f(s) exp(−M_)
    out = []
    for i, p in enumerate(P):
        Li, ci = _lw(P[:i] + P[i + 1:])
        wi = np.exp(log_weights + ci - M_)
        K = p.shape[0]
        E = np.zeros((S + 1, K))
        for k in range(K):
            E[k:k + Li.shape[0], k] = (Li * p[k]) @ wi
        with np.errstate(invalid="ignore", divide="ignore"):
            E = np.where(den[:, None] > 0, E / np.where(den > 0, den, 1.0)[:, None], 0.0)
        out.append(E)
    return out, den * np.exp(M_)


def collapse_groups(obs: np.ndarray, E: np.ndarray, min_expected: float = MIN_EXPECTED) -> tuple[np.ndarray, np.ndarray]:
    """Merge adjacent score groups (rows) until every expected count is ≥ ``min_expected``.

    From the low end upward (a sparse row is added to the next one), then from the high end
    downward (added to the previous one); a single remaining row is kept as it is.
    """
    obs, E = [r.copy() for r in obs], [r.copy() for r in E]
    i = 0
    while i < len(E) - 1:
        if (E[i] < min_expected).any():
            e, o = E.pop(i), obs.pop(i)
            E[i] += e
            obs[i] += o
        else:
            i += 1
    i = len(E) - 1
    while i > 0:
        if (E[i] < min_expected).any():
            e, o = E.pop(i), obs.pop(i)
            E[i - 1] += e
            obs[i - 1] += o
        i -= 1
    return np.array(obs), np.array(E)


def _group_log_weights(model, theta: np.ndarray) -> dict:
    return {g: normal_log_weights(theta, model.group_means_[g], model.group_sds_[g]) for g in model.group_means_}


def sx2(model, responses: pl.DataFrame, group: str | None = None) -> pl.DataFrame:
    """S-X² item fit for a fitted :class:`IRTModel` on the responses it was fitted on.

    Returns one row per item: ``item_id, sx2, df, p_value, n_groups`` (score groups after
    collapsing, summed over booklets). Pass the same ``group`` column as to ``fit`` for a
    multi-group calibration. Items whose df is not positive get a null p-value.
    """
    if not hasattr(model, "items_") or not hasattr(model, "itemset_"):
        raise ParameterError("sx2 需要已拟合的 IRTModel / sx2 needs a fitted IRTModel")
    s = model.itemset_
    theta = model.theta_
    labels = list(model.group_means_)
    if len(labels) > 1 and group is None:
        raise ParameterError("多组校准需要 group 列 / a multi-group calibration needs the group column")
    data = read_responses(responses, group=group, items=list(s.items), calibration=False)
    lw = _group_log_weights(model, theta)
    if group is None:
        codes = np.zeros(data.Y.shape[0], dtype=np.int64)
        glabels = labels
    else:
        glabels = data.group_labels
        unknown = [g for g in glabels if g not in lw]
        if unknown:
            raise ParameterError(f"分组与校准不一致 / groups {unknown!r} were not in the calibration")
        codes = data.group_codes
    J = len(s.items)
    ncat = np.asarray(s.ncat)
    Pall: list[np.ndarray] = [None] * J  # type: ignore[list-item]
    n_free = np.zeros(J, dtype=int)
    for b in s.blocks:
        P = M.probs(b.model, b.par, theta)
        for r, i in enumerate(b.idx):
            Pall[i] = P[r]
            n_free[i] = 0 if b.fixed[r] else int(b.free.sum())
    Y = data.Y.astype(np.int64)
    seen = Y >= 0
    masks, mask_of = np.unique(seen, axis=0, return_inverse=True)
    mask_of = mask_of.ravel()
    stat = np.zeros(J)
    groups = np.zeros(J, dtype=int)
    used = np.zeros(J, dtype=bool)
    for m, mask in enumerate(masks):
        items = np.flatnonzero(mask)
        if items.size < 2:
            continue
        rows = mask_of == m
        Ym = Y[rows][:, items]
        score = Ym.sum(axis=1)
        gm = codes[rows]
        S = int((ncat[items] - 1).sum())
        Pm = [Pall[i] for i in items]
        Obs = [np.zeros((S + 1, ncat[i])) for i in items]
        Exp = [np.zeros((S + 1, ncat[i])) for i in items]
        for g in np.unique(gm):
            sel = gm == g
            Eg, _ = expected_proportions(Pm, lw[glabels[g]])
            Ns = np.bincount(score[sel], minlength=S + 1).astype(float)
            for t in range(items.size):
                Exp[t] += Ns[:, None] * Eg[t]
                np.add.at(Obs[t], (score[sel], Ym[sel, t]), 1.0)
        for t, i in enumerate(items):
            obs, E = Obs[t][1:S], Exp[t][1:S]  # extreme scores carry no information on item i
            keep = E.sum(axis=1) > 0
            obs, E = obs[keep], E[keep]
            if obs.shape[0] == 0:
                continue
            obs, E = collapse_groups(obs, E)
            with np.errstate(invalid="ignore", divide="ignore"):
                cell = np.where(E > 0, (obs - E) ** 2 / np.where(E > 0, E, 1.0), 0.0)
            stat[i] += float(cell.sum())
            groups[i] += obs.shape[0]
            used[i] = True
    df = groups * (ncat - 1) - n_free
    p = [float(stats.chi2.sf(x, d)) if u and d > 0 else None for x, d, u in zip(stat, df, used)]
    return pl.DataFrame({
        "item_id": list(s.items),
        "sx2": [float(x) if u else None for x, u in zip(stat, used)],
        "df": df.astype(np.int64),
        "p_value": pl.Series(p, dtype=pl.Float64),
        "n_groups": groups.astype(np.int64),
    })
