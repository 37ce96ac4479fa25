"""The EM kernels of :mod:`junheng.irt.calibration` (see its docstring for the method): the
E-step over collapsed patterns, the posterior totals per group, and the M-step's Fisher scoring
of every item of a block at once."""

from __future__ import annotations

import numpy as np

from . import _models as M
from ._data import Patterns
from ._itemset import ItemSet


def estep(itemset: ItemSet, pat: Patterns, theta: np.ndarray, logprior: np.ndarray):
    """Return (loglik, weighted posterior W (P × Q), expected counts R (C × Q))."""
    LL = pat.loglik(itemset.log_probs(theta))
    if logprior.shape[0] == 1:
        LL += logprior[0]
    else:
        LL += logprior[pat.group]
    m = LL.max(axis=1, keepdims=True)
    np.subtract(LL, m, out=LL)
    np.exp(LL, out=LL)
    s = LL.sum(axis=1)
    loglik = float(np.dot(pat.count, m[:, 0] + np.log(s)))
    LL *= (pat.count / s)[:, None]
    return loglik, LL, pat.counts(LL)


def group_totals(pat: Patterns, W: np.ndarray, G: int) -> np.ndarray:
    if G == 1:
        return W.sum(axis=0)[None]
    return np.stack([W[pat.group == g].sum(axis=0) for g in range(G)])


def block_grad_info(b, r: np.ndarray, theta: np.ndarray, prior: tuple[float, float]):
    """Gradient and Fisher information of Σ r log P (+ log prior) for every item of a block."""
    P = np.clip(M.probs(b.model, b.par, theta), 1e-300, None)
    dP = M.jac(b.model, b.par, theta)
    n = r.sum(axis=1)  # (J, Q)
    grad = np.einsum("jkq,jkqa->ja", r / P, dP)
    info = np.einsum("jkq,jkqa,jkqb->jab", n[:, None, :] / P, dP, dP)
    if b.model == "3pl":
        al, be = prior
        c = 1.0 / (1.0 + np.exp(-b.par[:, 2]))
        grad[:, 2] += (al - 1.0) * (1.0 - c) - (be - 1.0) * c
        info[:, 2, 2] += (al + be - 2.0) * c * (1.0 - c)
    return grad, info


def mstep_block(b, r: np.ndarray, theta: np.ndarray, prior, inner: int, tol: float) -> None:
    free = b.free
    upd = ~b.fixed
    if not upd.any():
        return
    for _ in range(inner):
        grad, info = block_grad_info(b, r, theta, prior)
        g = grad[:, free]
        H = info[:, free][:, :, free] + 1e-10 * np.eye(int(free.sum()))
        ok = np.isfinite(H).all(axis=(1, 2)) & np.isfinite(g).all(axis=1)
        H[~ok] = np.eye(H.shape[1])
        g[~ok] = 0.0
        try:
            step = np.linalg.solve(H, g[..., None])[..., 0]
        except np.linalg.LinAlgError:  # a singular item: least-squares step for it alone
            step = np.einsum("jab,jb->ja", np.linalg.pinv(H), g)
        big = np.abs(step).max(axis=1)
        step *= np.minimum(1.0, 1.0 / np.maximum(big, 1e-300))[:, None]  # cap any move at 1 logit
        step[~upd] = 0.0
        old = b.par.copy()
        for _halve in range(20):
            b.par[:, free] = old[:, free] + step
            bad = ~M.valid(b.model, b.par)
            if not bad.any():
                break
            step[bad] *= 0.5
            b.par[bad] = old[bad]
        if np.abs(step).max() < tol * 0.1:
            break
