"""Simulated responses from known item parameters (parameter recovery, benchmarks, the demo).

Each response is drawn from the model's category probabilities at the person's θ by inverse
CDF with ``numpy.random.default_rng(random_state)``; a boolean ``administered`` mask (persons ×
items) leaves the cells of items a person did not see empty (missing by design).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from junheng.exceptions import ParameterError

from . import _models as M
from ._itemset import from_frame


def simulate_responses(items: pl.DataFrame, theta, *, random_state: int, administered: np.ndarray | None = None,
                       chunk: int = 50_000) -> pl.DataFrame:
    """Wide scored responses (``person_id`` 1…N + one Int8 column per item) drawn at ``theta``."""
    s = from_frame(items)
    th = np.asarray(theta, dtype=float)
    N, J = th.size, len(s.items)
    if administered is not None and administered.shape != (N, J):
        raise ParameterError(f"administered 形状应为 ({N}, {J}) / administered must have shape ({N}, {J}); "
                             f"got {administered.shape}")
    rng = np.random.default_rng(random_state)
    Y = np.empty((N, J), dtype=np.int8)
    for lo in range(0, N, chunk):
        t = th[lo:lo + chunk]
        for b in s.blocks:
            P = M.probs(b.model, b.par, t)  # (J_b, K, n)
            cdf = np.cumsum(P, axis=1)
            u = rng.random((P.shape[0], 1, P.shape[2]))
            Y[lo:lo + chunk, b.idx] = np.minimum((cdf < u).sum(axis=1), b.ncat - 1).T
    cols = {"person_id": np.arange(1, N + 1)}
    frame = pl.DataFrame(cols)
    series = []
    for j, it in enumerate(s.items):
        col = pl.Series(it, Y[:, j])
        if administered is not None:
            col = pl.Series(it, np.where(administered[:, j], Y[:, j], 0).astype(np.int8)).scatter(
                np.flatnonzero(~administered[:, j]), None)
        series.append(col)
    return frame.with_columns(series)


def booklet_design(n_persons: int, n_items: int, n_blocks: int, blocks_per_booklet: int, *,
                   random_state: int) -> tuple[np.ndarray, np.ndarray]:
    """A cyclic block design: items split into ``n_blocks`` blocks, booklet b holds blocks
    b, b+1, …, b+blocks_per_booklet−1 (mod n_blocks); booklets assigned to persons at random.
    Returns (administered mask N × J, booklet of each person)."""
    if not 1 <= blocks_per_booklet <= n_blocks <= n_items:
        raise ParameterError("需要 1 ≤ blocks_per_booklet ≤ n_blocks ≤ n_items / need 1 ≤ blocks_per_booklet ≤ n_blocks ≤ n_items")
    rng = np.random.default_rng(random_state)
    block_of_item = np.arange(n_items) * n_blocks // n_items
    book = np.zeros((n_blocks, n_items), bool)
    for b in range(n_blocks):
        blocks = (b + np.arange(blocks_per_booklet)) % n_blocks
        book[b] = np.isin(block_of_item, blocks)
    booklet = rng.integers(0, n_blocks, n_persons)
    return book[booklet], booklet
