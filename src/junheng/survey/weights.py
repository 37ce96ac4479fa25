"""Weight adjustments, applied to the full-sample and every replicate weight at once.

Every function takes a weight matrix W (n × k: column 0 the full-sample weight, the others
replicates) and returns the adjusted matrix, so that each replicate repeats each adjustment —
the replicate variance then reflects the adjustments (Valliant, Dever & Kreuter 2018, ch. 13–15;
Lumley 2010 §7).

- non-response within cells (:func:`adjust_nonresponse`): in cell c,
  f_c = Σ_{i∈c} w_i / Σ_{i∈c, responded} w_i;  respondents get w·f_c, non-respondents 0.
  A cell without respondents is collapsed with the other cells of its coarser cell (e.g.
  school × sex → school; county × location → county).
- trimming (:func:`trim`): weights above ``cap`` × the cell median are cut to that bound and the
  cut weight is spread over the cell's other weights in proportion, so cell totals are kept.
- post-stratification (:func:`poststratify`): w·N_c / Σ_{i∈c} w_i for known totals N_c.
- raking (:func:`rake`): iterative proportional fitting to several margins (Deming & Stephan
  1940), until every margin is met to ``tol`` relative.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl
import scipy.sparse as sp

from junheng.exceptions import ConvergenceError, EstimationError, ParameterError


def cell_ids(frame: pl.DataFrame, columns: Sequence[str]) -> np.ndarray:
    """Dense integer ids of the cells defined by ``columns`` (one id per distinct combination)."""
    if not columns:
        return np.zeros(frame.height, dtype=np.int64)
    return (frame.select(pl.struct(list(columns)).rank("dense")).to_series().to_numpy().astype(np.int64) - 1)


def _sums(ids: np.ndarray, m: np.ndarray, n_cells: int) -> np.ndarray:
    ind = sp.csr_matrix((np.ones(ids.size), (ids, np.arange(ids.size))), shape=(n_cells, ids.size))
    return np.asarray(ind @ m)


def _as_matrix(w: np.ndarray) -> np.ndarray:
    w = np.asarray(w, dtype=float)
    return w[:, None] if w.ndim == 1 else w


def adjust_nonresponse(w: np.ndarray, responded: np.ndarray, cells: Sequence[np.ndarray]) -> np.ndarray:
    """Non-response adjustment within cells, finest first: ``cells[0]`` (e.g. school × sex) is used
    where every cell of ``cells[1]`` containing it has respondents, else ``cells[1]``, and so on.
    Raises :class:`EstimationError` when even the coarsest cell of some rows has no respondent."""
    W = _as_matrix(w)
    resp = np.asarray(responded, dtype=bool)
    if not cells:
        cells = [np.zeros(W.shape[0], dtype=np.int64)]
    chosen = None
    for level, ids in enumerate(cells):
        ids = np.asarray(ids, dtype=np.int64)
        n_cells = int(ids.max()) + 1 if ids.size else 0
        has = np.bincount(ids[resp], minlength=n_cells) > 0
        if chosen is None:
            chosen = np.where(has[ids], level, -1)
        else:
            # a coarser cell takes over when any finer cell inside it failed
            failed_inside = np.bincount(ids[chosen < 0], minlength=n_cells) > 0
            chosen = np.where(failed_inside[ids], np.where(has[ids], level, -1), chosen)
    if (chosen < 0).any():
        raise EstimationError(
            f"{int((chosen < 0).sum())} 个样本所在的调整格内没有应答者 / {int((chosen < 0).sum())} rows lie in "
            "adjustment cells without any respondent (even after collapsing)")
    # final cell id: (level, id at that level)
    offsets = np.cumsum([0] + [int(np.asarray(c).max()) + 1 for c in cells])
    final = np.empty(W.shape[0], dtype=np.int64)
    for level, ids in enumerate(cells):
        at = chosen == level
        final[at] = offsets[level] + np.asarray(ids)[at]
    n_final = int(offsets[-1])
    total = _sums(final, W, n_final)
    resp_sum = _sums(final, W * resp[:, None], n_final)
    with np.errstate(invalid="ignore", divide="ignore"):
        factor = np.where(resp_sum > 0, total / resp_sum, 0.0)
    out = W * factor[final] * resp[:, None]
    return out if np.ndim(w) == 2 else out[:, 0]


def trim(w: np.ndarray, cells: np.ndarray | None = None, cap: float = 3.5) -> np.ndarray:
    """Trim each column's weights at ``cap`` × its cell median, keeping cell totals."""
    if cap <= 1:
        raise ParameterError(f"截尾倍数须 > 1 / cap must be > 1; got {cap}")
    W = _as_matrix(w).copy()
    ids = np.zeros(W.shape[0], dtype=np.int64) if cells is None else np.asarray(cells, dtype=np.int64)
    n_cells = int(ids.max()) + 1
    order = np.lexsort((W[:, 0], ids))
    # medians of the full-sample weight per cell set the bound for all columns
    sorted_ids = ids[order]
    starts = np.searchsorted(sorted_ids, np.arange(n_cells))
    ends = np.searchsorted(sorted_ids, np.arange(n_cells), side="right")
    ws = W[order, 0]
    med = np.array([np.median(ws[a:b]) if b > a else np.nan for a, b in zip(starts, ends)])
    bound = cap * med[ids]
    total = _sums(ids, W, n_cells)
    ratio = np.minimum(1.0, np.where(W[:, 0] > 0, bound / np.where(W[:, 0] > 0, W[:, 0], 1.0), 1.0))
    Wt = W * ratio[:, None]
    untrimmed = (ratio >= 1.0)[:, None]
    kept = _sums(ids, Wt, n_cells)
    free = _sums(ids, Wt * untrimmed, n_cells)
    with np.errstate(invalid="ignore", divide="ignore"):
        f = np.where(free > 0, 1.0 + (total - kept) / free, 1.0)
    Wt = np.where(untrimmed, Wt * f[ids], Wt)
    return Wt if np.ndim(w) == 2 else Wt[:, 0]


def poststratify(w: np.ndarray, cells: np.ndarray, totals: np.ndarray) -> np.ndarray:
    """w·N_c / Σ_{i∈c} w_i for every column; ``totals[c]`` is the known population total of cell c."""
    W = _as_matrix(w)
    ids = np.asarray(cells, dtype=np.int64)
    totals = np.asarray(totals, dtype=float)
    est = _sums(ids, W, totals.size)
    if (est[:, 0] <= 0).any():
        raise EstimationError("某个后分层格没有样本 / a post-stratification cell has no sample")
    out = W * (totals[:, None] / est)[ids]
    return out if np.ndim(w) == 2 else out[:, 0]


def rake(w: np.ndarray, margins: Sequence[tuple[np.ndarray, np.ndarray]], *, tol: float = 1e-10,
         max_iter: int = 200) -> np.ndarray:
    """Rake every column to each margin ``(cell ids, totals)`` in turn until all are met to ``tol``."""
    W = _as_matrix(w).copy()
    for _ in range(max_iter):
        worst = 0.0
        for ids, totals in margins:
            ids = np.asarray(ids, dtype=np.int64)
            totals = np.asarray(totals, dtype=float)
            est = _sums(ids, W, totals.size)
            if (est <= 0).any():
                raise EstimationError("某个耙选边际格没有样本 / a raking margin cell has no sample")
            worst = max(worst, float(np.max(np.abs(est / totals[:, None] - 1.0))))
            W = W * (totals[:, None] / est)[ids]
        if worst < tol:
            return W if np.ndim(w) == 2 else W[:, 0]
    raise ConvergenceError(f"耙选在 {max_iter} 次迭代内未收敛 / raking did not converge in {max_iter} iterations")


__all__ = ["adjust_nonresponse", "cell_ids", "poststratify", "rake", "trim"]
