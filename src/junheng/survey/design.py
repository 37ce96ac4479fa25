"""The one design object the estimators take: a frame with full-sample and replicate weights.

A :class:`ReplicateDesign` mirrors R survey's ``svrepdesign(..., combined.weights=TRUE,
mse=TRUE)``: replicate weights are final weights (not multipliers), and the sampling variance of
an estimate θ is

    V(θ) = c · Σ_r (θ_r − θ)²                                   (mse=TRUE: around the full sample)

with c = 1 for JK2 (paired jackknife, Lumley 2010 §2.4; the TIMSS/PIRLS technical reports),
c = 1 / (R (1 − k)²) for Fay's BRR with Fay coefficient k (Judkins 1990; the PISA technical
report, k = 0.5, R = 80) and c = 1 / R for plain BRR (k = 0).  The replicate weights are kept as
one (n × R) float64 matrix, so every estimator computes all groups × all replicates in one
pass (see :mod:`junheng.survey.estimators`).
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from typing import ClassVar, Literal

import numpy as np
import polars as pl

from junheng.exceptions import EstimationError, Issue, Issues, ParameterError

Method = Literal["jk2", "fay", "brr"]
METHODS: tuple[str, ...] = ("jk2", "fay", "brr")


@dataclass(frozen=True)
class ReportingRule:
    """Minimum reporting rule: an estimate from fewer than ``min_pupils`` pupils or ``min_schools``
    schools is flagged, and (``suppress=True``) its estimate and SE are withheld (null).

    The defaults (62 pupils, 5 schools) follow the common large-scale-assessment practice of
    requiring an effective sample of about 62 (NAEP) and several PSUs per reported group.
    """

    min_pupils: int = 62
    min_schools: int = 5
    suppress: bool = True

    def __post_init__(self) -> None:
        if self.min_pupils < 0 or self.min_schools < 0:
            raise ParameterError("最小报告样本不能为负 / minimum reporting sizes must be ≥ 0")


NO_RULE = ReportingRule(0, 0, suppress=False)


def _resolve_replicates(columns: list[str], replicates: str | list[str] | tuple[str, ...]) -> list[str]:
    """Expand a glob (``'rep_*'``, ``'W_R*'``) or take a list; keep numeric order (rep_2 before rep_10)."""
    if isinstance(replicates, str):
        names = [c for c in columns if fnmatch.fnmatchcase(c, replicates)]

        def key(name: str) -> tuple[int, int | str]:
            digits = "".join(ch for ch in name if ch.isdigit())
            return (0, int(digits)) if digits else (1, name)

        names.sort(key=key)
    else:
        names = list(replicates)
        missing = [c for c in names if c not in columns]
        if missing:
            raise ParameterError(f"复制权重列不存在 / replicate weight columns not found: {missing}")
    if not names:
        raise ParameterError(f"没有与 '{replicates}' 匹配的复制权重列 / no replicate weight column matches '{replicates}'")
    return names


def _check_weights(w: np.ndarray, names: list[str]) -> None:
    """Every null, non-finite or negative weight, as issues naming the row (header = row 1)."""
    bad = ~np.isfinite(w) | (w < 0)
    if not bad.any():
        return
    issues = Issues()
    rows, cols = np.nonzero(bad)
    for r, c in zip(rows.tolist(), cols.tolist()):
        value = None if np.isnan(w[r, c]) else w[r, c]
        issues.add(Issue("权重须为非负数且不能为空", "a weight must be present, finite and ≥ 0", row=r + 2,
                         column=names[c], value=value))
    issues.raise_if_errors("权重有误，未作估计 / bad weights; nothing estimated")


@dataclass
class ReplicateDesign:
    """A sample with full-sample weight ``weight`` and replicate weights ``replicates``.

    Parameters
    ----------
    data : the pupil-level frame (one row per sampled pupil).
    weight : the final (full-sample) weight column.
    replicates : the replicate weight columns, as a list or a glob such as ``'rep_*'``.
    method : ``'jk2'`` (scale 1), ``'fay'`` (scale 1/(R(1−k)²)) or ``'brr'`` (scale 1/R).
    fay_k : Fay's coefficient k (0 ≤ k < 1); used only by ``'fay'``; PISA uses 0.5.
    school : the primary sampling unit column, used to count schools per estimate.
    mse : variance around the full-sample estimate (True, as NAEP/PISA/TIMSS and R's
        ``mse=TRUE``) or around the mean of the replicate estimates (False).
    """

    data: pl.DataFrame
    weight: str
    replicates: str | list[str] | tuple[str, ...] = "rep_*"
    method: Method = "jk2"
    fay_k: float = 0.5
    school: str | None = "school_code"
    mse: bool = True
    rule: ReportingRule = field(default_factory=ReportingRule)

    def __post_init__(self) -> None:
        if not isinstance(self.data, pl.DataFrame):
            raise ParameterError("data 必须是 polars.DataFrame / data must be a polars.DataFrame")
        if self.method not in METHODS:
            raise ParameterError(f"方法必须是 {'/'.join(METHODS)} / method must be one of {METHODS}; got {self.method!r}")
        if not 0.0 <= self.fay_k < 1.0:
            raise ParameterError(f"Fay 系数须在 [0, 1) / fay_k must be in [0, 1); got {self.fay_k}")
        cols = self.data.columns
        if self.weight not in cols:
            raise ParameterError(f"权重列不存在 / weight column not found: {self.weight!r}")
        self.replicate_columns: list[str] = _resolve_replicates(cols, self.replicates)
        if self.school is not None and self.school not in cols:
            raise ParameterError(f"学校列不存在 / school column not found: {self.school!r}")
        names = [self.weight, *self.replicate_columns]
        bad_type = [c for c in names if not self.data.schema[c].is_numeric()]
        if bad_type:
            raise ParameterError(f"权重列须为数值 / weight columns must be numeric: {bad_type}")
        # (n × (R+1)) matrix: column 0 the full-sample weight, columns 1..R the replicates
        self.weights_matrix: np.ndarray = self.data.select(
            pl.col(c).cast(pl.Float64) for c in names).to_numpy(order="c")
        _check_weights(self.weights_matrix, names)
        if self.school is not None:
            self.school_ids: np.ndarray | None = (
                self.data.get_column(self.school).cast(pl.String).rank("dense").to_numpy().astype(np.int64) - 1
            )
        else:
            self.school_ids = None

    @property
    def n_replicates(self) -> int:
        return len(self.replicate_columns)

    @property
    def scale(self) -> float:
        """The constant c in V = c Σ (θ_r − θ)²."""
        r = self.n_replicates
        if self.method == "jk2":
            return 1.0
        if self.method == "fay":
            return 1.0 / (r * (1.0 - self.fay_k) ** 2)
        return 1.0 / r

    def variance(self, full: np.ndarray, reps: np.ndarray) -> np.ndarray:
        """Replicate variance of estimates ``full`` (shape (...,)) from ``reps`` (shape (..., R))."""
        centre = full[..., None] if self.mse else reps.mean(axis=-1, keepdims=True)
        return self.scale * np.sum((reps - centre) ** 2, axis=-1)

    def degrees_of_freedom(self, full: np.ndarray, reps: np.ndarray) -> np.ndarray:
        """The design's degrees of freedom of estimates ``full`` (...,) from ``reps`` (..., R):
        :func:`junheng.survey.inference.replicate_df` (the number of variance zones that
        contribute; see there)."""
        from junheng.survey.inference import replicate_df

        centre = full[..., None] if self.mse else reps.mean(axis=-1, keepdims=True)
        return replicate_df(reps - centre, self.method)

    def covariance(self, full: np.ndarray, reps: np.ndarray) -> np.ndarray:
        """Replicate covariance matrix of a vector of estimates ``full`` (k,) from ``reps`` (k, R)."""
        centre = full[:, None] if self.mse else reps.mean(axis=1, keepdims=True)
        d = reps - centre
        return self.scale * (d @ d.T)

    # -- estimates with their variance: (full (M, G), variance (M, G), degrees of freedom (M, G)) --
    # Each design class owns these (TaylorDesign linearises); the estimators only call them.

    replicated: ClassVar[bool] = True
    """Whether the design has replicate weights (quantiles and part–whole comparisons need them)."""

    def stats(self, thetas: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Full-sample estimates, variances and degrees of freedom from per-variable replicate
        estimates (each (G, R+1): column 0 under the full-sample weight)."""
        full = np.stack([t[:, 0] for t in thetas])
        var = np.stack([self.variance(t[:, 0], t[:, 1:]) for t in thetas])
        df = np.stack([self.degrees_of_freedom(t[:, 0], t[:, 1:]) for t in thetas])
        return full, var, df

    def ratio(self, xs: list[np.ndarray], grp) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Domain means Σ w x / Σ w of each x per group, re-estimated under every replicate."""
        return self.stats(grp.ratios(self.weights_matrix, xs))

    def totals(self, xs: list[np.ndarray], grp) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Domain totals Σ w x of each x per group."""
        return self.stats(grp.weighted_sums(xs, self.weights_matrix))

    def difference(self, xs: list[np.ndarray], grp, n_by: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """θ(a) − θ(b) of domain means per by-group (cells 2g: a, 2g + 1: b), differenced replicate
        by replicate so that the covariance of the two groups enters."""
        return self.stats([t[0::2] - t[1::2] for t in grp.ratios(self.weights_matrix, xs)])

    def regression(self, X: np.ndarray, ys: list[np.ndarray], rows: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Weighted least-squares coefficients (terms as the groups), refitted under every replicate."""
        W = self.weights_matrix[rows]
        xtwx = np.einsum("ik,ip,iq->kpq", W, X, X, optimize=True)  # X'W_r X for every weight column
        thetas = []
        for y in ys:
            xtwy = np.einsum("ik,ip,i->kp", W, X, y, optimize=True)
            try:
                beta = np.linalg.solve(xtwx, xtwy[..., None])[..., 0]  # (k, p)
            except np.linalg.LinAlgError as exc:
                raise EstimationError("设计矩阵奇异 / the design matrix is singular (collinear predictors?)") from exc
            thetas.append(beta.T)  # (p, R+1)
        return self.stats(thetas)

    def with_rule(self, rule: ReportingRule) -> ReplicateDesign:
        """The same design with another minimum reporting rule (weights are shared, not copied)."""
        clone = object.__new__(ReplicateDesign)
        clone.__dict__.update(self.__dict__)
        clone.rule = rule
        return clone

    def __repr__(self) -> str:
        k = f", fay_k={self.fay_k}" if self.method == "fay" else ""
        return (f"ReplicateDesign(n={self.data.height}, weight={self.weight!r}, R={self.n_replicates}, "
                f"method={self.method!r}{k}, mse={self.mse})")


__all__ = ["METHODS", "NO_RULE", "ReplicateDesign", "ReportingRule"]
