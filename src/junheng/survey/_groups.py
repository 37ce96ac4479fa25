"""Group indexing and group sums shared by the estimators (private).

Every estimator reduces to weighted sums per group for the full-sample weight and all R
replicate weights at once: with an indicator matrix S (G × n, sparse) and the weight matrix
W (n × (R+1)), the sums are S @ (W ∘ x) — one sparse-dense product, no loop over groups.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl
import scipy.sparse as sp

from junheng.exceptions import ParameterError


def normalise_by(by: str | Sequence[str] | None) -> list[str]:
    if by is None:
        return []
    if isinstance(by, str):
        return [b.strip() for b in by.split(",") if b.strip()]
    return list(by)


def group_index(data: pl.DataFrame, by: list[str]) -> tuple[np.ndarray, pl.DataFrame]:
    """Dense group ids (−1 where a grouping value is null) and the sorted frame of group keys."""
    missing = [b for b in by if b not in data.columns]
    if missing:
        raise ParameterError(f"分组列不存在 / grouping columns not found: {missing}")
    if not by:
        return np.zeros(data.height, dtype=np.int64), pl.DataFrame()
    keyframe = data.select(by)
    keys = keyframe.drop_nulls().unique().sort(by)
    keys = keys.with_row_index("__g")
    gid = (
        keyframe.join(keys, on=by, how="left", maintain_order="left")
        .get_column("__g").fill_null(-1).cast(pl.Int64).to_numpy()
    )
    return gid, keys.drop("__g")


class Grouping:
    """Group ids of the rows where an estimate is defined (valid), with a sparse indicator."""

    def __init__(self, gid: np.ndarray, n_groups: int, valid: np.ndarray):
        self.n_groups = n_groups
        ok = valid & (gid >= 0)
        rows = np.flatnonzero(ok)
        self.rows = rows
        self.gid = gid
        self.indicator = sp.csr_matrix(
            (np.ones(rows.size), (gid[rows], rows)), shape=(n_groups, gid.size)
        )

    def sums(self, m: np.ndarray) -> np.ndarray:
        """Σ over each group's valid rows of the rows of ``m`` (n × k) → (G × k)."""
        out = self.indicator @ m
        return np.asarray(out)

    def weighted_sums(self, xs: list[np.ndarray], m: np.ndarray) -> list[np.ndarray]:
        """Σ over each group's valid rows of x_i · m_i for every x in ``xs`` → one (G × k) per x.

        One sparse product with an indicator that carries the x values (rows m·G + g), so no
        (n × k) temporary W ∘ x is formed."""
        n_g, rows = self.n_groups, self.rows
        data = np.concatenate([x[rows] for x in xs])
        r = np.concatenate([self.gid[rows] + k * n_g for k in range(len(xs))])
        c = np.tile(rows, len(xs))
        ind = sp.csr_matrix((data, (r, c)), shape=(len(xs) * n_g, self.gid.size))
        out = np.asarray(ind @ m)
        return [out[k * n_g:(k + 1) * n_g] for k in range(len(xs))]

    def ratios(self, w: np.ndarray, xs: list[np.ndarray]) -> list[np.ndarray]:
        """Σ w x / Σ w per group and weight column, for each x (rows outside the groups ignored)."""
        den = self.sums(w)
        with np.errstate(invalid="ignore", divide="ignore"):
            return [num / den for num in self.weighted_sums(xs, w)]

    def counts(self, full_weight: np.ndarray, school_ids: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """Pupils (valid rows with positive weight) and distinct schools per group."""
        rows = self.rows[full_weight[self.rows] > 0]
        g = self.gid[rows]
        n_pupils = np.bincount(g, minlength=self.n_groups)
        if school_ids is None:
            return n_pupils, np.zeros(self.n_groups, dtype=np.int64)
        pair = np.unique(g * (int(school_ids.max()) + 1) + school_ids[rows])
        n_schools = np.bincount(pair // (int(school_ids.max()) + 1), minlength=self.n_groups)
        return n_pupils, n_schools
