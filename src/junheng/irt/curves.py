"""Item and test characteristic curves, information, and Rasch infit/outfit.

- expected item score E_j(θ) = Σ_k k·P_jk(θ); test characteristic curve T(θ) = Σ_j E_j(θ).
- item information I_j(θ) = Σ_k P′_jk(θ)² / P_jk(θ) (Fisher information of one response;
  for the 2PL a²P(1 − P)); test information Σ_j I_j(θ).
- infit / outfit mean squares (Wright & Masters, 1982): with residual z = (y − E)/√Var,
  outfit_j = mean_n z², infit_j = Σ_n (y − E)² / Σ_n Var, over persons who saw item j,
  evaluated at supplied person estimates (WLE by convention).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from . import _models as M
from ._data import read_responses


def _set(items):
    from .scoring import _itemset

    return _itemset(items)


def expected_scores(items, theta) -> pl.DataFrame:
    """E_j(θ) per item (columns) at each θ (rows), plus ``tcc`` = the sum."""
    s = _set(items)
    th = np.asarray(theta, dtype=float)
    out = {"theta": th}
    tot = np.zeros_like(th)
    for b in s.blocks:
        P = M.probs(b.model, b.par, th)
        E = (np.arange(b.ncat)[None, :, None] * P).sum(axis=1)
        for r, i in enumerate(b.idx):
            out[s.items[i]] = E[r]
            tot += E[r]
    frame = pl.DataFrame(out).select(["theta", *s.items])
    return frame.with_columns(pl.Series("tcc", tot))


def information(items, theta) -> pl.DataFrame:
    """I_j(θ) per item (columns) at each θ, plus ``test`` = Σ_j I_j(θ) and ``se`` = 1/√test."""
    s = _set(items)
    th = np.asarray(theta, dtype=float)
    out = {"theta": th}
    tot = np.zeros_like(th)
    for b in s.blocks:
        P, d, _ = M.theta_derivs(b.model, b.par, th)
        P = np.clip(P, 1e-300, None)
        info = (d * d / P).sum(axis=1)
        for r, i in enumerate(b.idx):
            out[s.items[i]] = info[r]
            tot += info[r]
    frame = pl.DataFrame(out).select(["theta", *s.items])
    return frame.with_columns(pl.Series("test", tot), pl.Series("se", 1 / np.sqrt(tot)))


def rasch_fit(items, responses: pl.DataFrame, theta) -> pl.DataFrame:
    """Infit and outfit mean squares per item at person estimates ``theta`` (one per row)."""
    s = _set(items)
    cols = [c for c in responses.columns if c in set(s.items)]
    data = read_responses(responses, items=cols, calibration=False)
    sub = s.subset(cols)
    th = np.asarray(theta, dtype=float)
    rows = []
    for b in sub.blocks:
        P = M.probs(b.model, b.par, th)  # (J, K, N)
        k = np.arange(b.ncat)[None, :, None]
        E = (k * P).sum(axis=1)
        V = (k**2 * P).sum(axis=1) - E**2
        y = data.Y[:, b.idx].T.astype(float)
        seen = y >= 0
        res2 = np.where(seen, (y - E) ** 2, 0)
        Vs = np.where(seen, V, 0)
        n = seen.sum(axis=1)
        outfit = np.where(seen, res2 / np.where(seen, V, 1), 0).sum(axis=1) / n
        infit = res2.sum(axis=1) / Vs.sum(axis=1)
        for r, i in enumerate(b.idx):
            rows.append((sub.items[i], int(n[r]), float(infit[r]), float(outfit[r])))
    return pl.DataFrame(rows, schema=["item_id", "n", "infit", "outfit"], orient="row")
