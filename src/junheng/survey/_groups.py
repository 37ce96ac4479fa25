"""Group indexing and group sums shared by the estimators (private).

Every estimator reduces to weighted sums per group for the full-sample weight and all R
replicate weights at once: with the weight matrix W (n × (R+1)) the sums of group g are
x_gᵀ W_g over its rows — dense matrix products (see :class:`Grouping`), no loop over replicates.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

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
    """Group ids of the rows where an estimate is defined (valid), and group sums over them.

    A group sum of x ∘ W is the product Xᵍᵀ Wᵍ over the group's rows, so all groups, all
    variables and all R + 1 weight columns take dense BLAS products, no loop over pupils or
    replicates: with few groups × variables (≤ 16, e.g. 5 plausible values by sex) one product
    (K·G × n indicator carrying the x values) @ W; with more, the rows sorted by group once and one
    (K × n_g) @ (n_g × (R+1)) product per group.  No scipy.sparse: its scalar CSR kernel was 5×
    slower here, and importing it was a third of a CLI call's start-up.
    """

    DENSE_MAX = 16

    def __init__(self, gid: np.ndarray, n_groups: int, valid: np.ndarray):
        self.n_groups = n_groups
        ok = valid & (gid >= 0)
        rows = np.flatnonzero(ok)
        self.rows = rows
        self.gid = gid
        self._sorted: tuple[np.ndarray, np.ndarray] | None = None

    def _blocks(self) -> tuple[np.ndarray, np.ndarray]:
        """The valid rows in group order and each group's [start, end) in that order."""
        if self._sorted is None:
            g = self.gid[self.rows]
            order = self.rows if g.size < 2 or bool(np.all(g[1:] >= g[:-1])) else self.rows[np.argsort(g, kind="stable")]
            bounds = np.concatenate([[0], np.cumsum(np.bincount(g, minlength=self.n_groups))])
            self._sorted = (order, bounds)
        return self._sorted

    def products(self, xs: list[np.ndarray | None], m: np.ndarray) -> np.ndarray:
        """(K, G, k): Σ over each group's valid rows of x_i · m_i for every x in ``xs`` (None: x = 1).

        BLAS is held to one thread meanwhile: these products have a long inner dimension (pupils)
        and a small output, one thread streams them as fast, and OpenBLAS's spinning worker
        threads cost 5–10× the CPU (and far more wall time) on a busy machine — measured in
        ``benchmarks/survey_kernel.py`` against :meth:`products_free` (the same kernel, threads as
        the library picks)."""
        from threadpoolctl import threadpool_limits

        with threadpool_limits(1, user_api="blas"):
            return self.products_free(xs, m)

    def products_free(self, xs: list[np.ndarray | None], m: np.ndarray) -> np.ndarray:
        """:meth:`products` with BLAS threads as the library picks (the benchmark's baseline)."""
        n_k, n_g, rows = len(xs), self.n_groups, self.rows
        m = np.asarray(m, dtype=float)
        if n_k * n_g <= self.DENSE_MAX:
            d = np.zeros((n_k * n_g, self.gid.size))
            g = self.gid[rows]
            for k, x in enumerate(xs):
                d[k * n_g + g, rows] = 1.0 if x is None else x[rows]
            return (d @ m).reshape(n_k, n_g, m.shape[1])
        order, bounds = self._blocks()
        ms = m[order]
        xk = np.empty((n_k, order.size))
        for k, x in enumerate(xs):
            xk[k] = 1.0 if x is None else x[order]
        out = np.zeros((n_k, n_g, m.shape[1]))
        for g in np.flatnonzero(bounds[1:] > bounds[:-1]).tolist():
            a, b = bounds[g], bounds[g + 1]
            out[:, g] = xk[:, a:b] @ ms[a:b]
        return out

    def sums(self, m: np.ndarray) -> np.ndarray:
        """Σ over each group's valid rows of the rows of ``m`` (n × k) → (G × k)."""
        return self.products([None], m)[0]

    def weighted_sums(self, xs: list[np.ndarray], m: np.ndarray) -> list[np.ndarray]:
        """Σ over each group's valid rows of x_i · m_i for every x in ``xs`` → one (G × k) per x."""
        return list(self.products(list(xs), m))

    def ratios(self, w: np.ndarray, xs: list[np.ndarray]) -> list[np.ndarray]:
        """Σ w x / Σ w per group and weight column, for each x (rows outside the groups ignored)."""
        out = self.products([None, *xs], w)
        with np.errstate(invalid="ignore", divide="ignore"):
            return [num / out[0] for num in out[1:]]

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
