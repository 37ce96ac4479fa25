"""Taylor-linearisation variance for a stratified cluster design without replicate weights.

:class:`TaylorDesign` mirrors R survey's ``svydesign(ids=~psu, strata=~stratum, weights=~w,
nest=TRUE)``: first-stage sampling with replacement within strata, PSUs nested in strata.  An
estimate θ with linearised influence values z_i has variance (Wolter 2007 §6; Lumley 2010 §2.3)

    V(θ) = Σ_h n_h/(n_h − 1) Σ_j (z_hj − z̄_h)²,   z_hj = Σ_{i ∈ PSU j of stratum h} z_i,

n_h the number of PSUs of stratum h in the whole sample (a domain keeps every PSU, with zero
influence outside the domain, as R's ``svyby``).  Influence values: total z = w x; mean (ratio)
z = w (x − θ) / Σw; difference z_a − z_b; regression z_i = (X'WX)⁻¹ x_i w_i e_i.  Plausible values
are combined by Rubin's rules.  A stratum with a single PSU raises (R's default
``survey.lonely.psu="fail"``) unless ``lonely_psu="certainty"`` (it contributes nothing).

The estimators of :mod:`junheng.survey.estimators` accept a ``TaylorDesign`` for ``mean``,
``total``, ``proportion``, ``difference`` and ``regression``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar, Literal

import numpy as np
import polars as pl
import scipy.sparse as sp

from junheng.exceptions import EstimationError, ParameterError
from junheng.survey.design import ReportingRule, _check_weights


@dataclass
class TaylorDesign:
    """Weights ``weight``; ``strata`` (None: one stratum); ``psu`` (None: each pupil its own PSU);
    ``school`` counts schools per estimate (default: the PSU column)."""

    data: pl.DataFrame
    weight: str
    strata: str | None = None
    psu: str | None = "school_code"
    school: str | None = None
    lonely_psu: Literal["fail", "certainty"] = "fail"
    rule: ReportingRule = field(default_factory=ReportingRule)

    def __post_init__(self) -> None:
        if not isinstance(self.data, pl.DataFrame):
            raise ParameterError("data 必须是 polars.DataFrame / data must be a polars.DataFrame")
        for name, col in (("weight", self.weight), ("strata", self.strata), ("psu", self.psu),
                          ("school", self.school)):
            if col is not None and col not in self.data.columns:
                raise ParameterError(f"{name} 列不存在 / {name} column not found: {col!r}")
        if self.lonely_psu not in ("fail", "certainty"):
            raise ParameterError(f"lonely_psu 须为 fail 或 certainty / lonely_psu must be fail or certainty; "
                                 f"got {self.lonely_psu!r}")
        if not self.data.schema[self.weight].is_numeric():
            raise ParameterError(f"权重列须为数值 / weight columns must be numeric: {[self.weight]}")
        w = self.data.get_column(self.weight).cast(pl.Float64).to_numpy()
        _check_weights(w[:, None], [self.weight])
        self.weights_matrix = w[:, None]
        n = self.data.height
        strata = (self.data.get_column(self.strata).cast(pl.String) if self.strata
                  else pl.Series("s", ["1"] * n))
        psu = (self.data.get_column(self.psu).cast(pl.String) if self.psu
               else pl.Series("p", np.arange(n).astype(str)))
        keys = pl.DataFrame({"h": strata, "j": psu})
        self.stratum_ids = keys.select(pl.col("h").rank("dense")).to_series().to_numpy().astype(np.int64) - 1
        self.psu_ids = keys.select(pl.struct("h", "j").rank("dense")).to_series().to_numpy().astype(np.int64) - 1
        n_psu = int(self.psu_ids.max()) + 1
        psu_stratum = np.zeros(n_psu, dtype=np.int64)
        psu_stratum[self.psu_ids] = self.stratum_ids
        n_h = np.bincount(psu_stratum)
        if (n_h < 2).any() and self.lonely_psu == "fail":
            raise EstimationError(f"{int((n_h < 2).sum())} 个层只有一个初级抽样单元 / {int((n_h < 2).sum())} strata "
                                  "have a single PSU (lonely_psu='certainty' lets them contribute nothing)")
        with np.errstate(divide="ignore"):
            self._factor = np.where(n_h > 1, n_h / np.maximum(n_h - 1, 1), 0.0)
        self._n_h = n_h
        self._h_of_psu = sp.csr_matrix((np.ones(n_psu), (np.arange(n_psu), psu_stratum)), shape=(n_psu, n_h.size))
        self.school_ids = (self.data.get_column(self.school).cast(pl.String).rank("dense").to_numpy()
                           .astype(np.int64) - 1) if self.school else self.psu_ids
        self.mse = True
        # R survey's degf(): PSUs − strata (strata with one PSU contribute nothing)
        self.degf = float(max(int((n_h[n_h > 1]).sum()) - int((n_h > 1).sum()), 1))

    def variance_of_totals(self, totals: sp.spmatrix | np.ndarray) -> np.ndarray:
        """V for each row of ``totals`` (k × P: influence summed by PSU)."""
        t = sp.csr_matrix(totals)
        s_h = np.asarray((t @ self._h_of_psu).todense())
        ss_h = np.asarray((t.multiply(t) @ self._h_of_psu).todense())
        return ((ss_h - s_h**2 / np.maximum(self._n_h, 1)) * self._factor).sum(axis=1)

    def variance_grouped(self, z: np.ndarray, gid: np.ndarray, n_groups: int) -> np.ndarray:
        """V per group from influence values ``z`` of the rows with group id ``gid`` (−1: none)."""
        ok = gid >= 0
        t = sp.csr_matrix((z[ok], (gid[ok], self.psu_ids[ok])), shape=(n_groups, int(self.psu_ids.max()) + 1))
        return self.variance_of_totals(t)

    # -- estimates with their variance, as ReplicateDesign's: (full (M, G), variance, df) --------

    replicated: ClassVar[bool] = False

    def _with_df(self, full_var: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        full, var = full_var
        return full, var, np.full(full.shape, self.degf)

    def ratio(self, xs: list[np.ndarray], grp) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Domain means and their linearised variances (df: PSUs − strata)."""
        return self._with_df(ratio(self, xs, grp))

    def totals(self, xs: list[np.ndarray], grp) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self._with_df(totals(self, xs, grp))

    def difference(self, xs: list[np.ndarray], grp, n_by: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self._with_df(difference(self, xs, grp, n_by))

    def regression(self, X: np.ndarray, ys: list[np.ndarray], rows: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self._with_df(regression(self, X, ys, rows))

    def __repr__(self) -> str:
        return (f"TaylorDesign(n={self.data.height}, weight={self.weight!r}, strata={self.strata!r}, "
                f"psu={self.psu!r}, lonely_psu={self.lonely_psu!r})")


def _valid_gid(grp) -> np.ndarray:
    gid = np.full(grp.gid.size, -1, dtype=np.int64)
    gid[grp.rows] = grp.gid[grp.rows]
    return gid


def _ratio_parts(design: TaylorDesign, grp, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """θ_g = Σ w x / Σ w and the influence values of each valid row."""
    w = design.weights_matrix[:, 0]
    den = grp.sums(w[:, None])[:, 0]
    with np.errstate(invalid="ignore", divide="ignore"):
        theta = grp.sums((w * x)[:, None])[:, 0] / den
    g = np.clip(grp.gid, 0, None)
    z = np.zeros_like(w)
    rows = grp.rows
    z[rows] = w[rows] * (x[rows] - theta[g[rows]]) / den[g[rows]]
    return theta, z


def ratio(design: TaylorDesign, xs: list[np.ndarray], grp) -> tuple[np.ndarray, np.ndarray]:
    """(M, G) estimates and variances of the domain means of each column of ``xs``."""
    est, var = [], []
    gid = _valid_gid(grp)
    for x in xs:
        theta, z = _ratio_parts(design, grp, x)
        est.append(theta)
        var.append(design.variance_grouped(z, gid, grp.n_groups))
    return np.stack(est), np.stack(var)


def totals(design: TaylorDesign, xs: list[np.ndarray], grp) -> tuple[np.ndarray, np.ndarray]:
    w = design.weights_matrix[:, 0]
    gid = _valid_gid(grp)
    est, var = [], []
    for x in xs:
        z = np.where(gid >= 0, w * x, 0.0)
        est.append(grp.sums(z[:, None])[:, 0])
        var.append(design.variance_grouped(z, gid, grp.n_groups))
    return np.stack(est), np.stack(var)


def difference(design: TaylorDesign, xs: list[np.ndarray], grp, n_by: int) -> tuple[np.ndarray, np.ndarray]:
    """θ(a) − θ(b) per by-group; cells are by-group × side (2g: a, 2g + 1: b)."""
    gid = _valid_gid(grp)
    est, var = [], []
    for x in xs:
        theta, z = _ratio_parts(design, grp, x)
        sign = np.where(gid % 2 == 0, 1.0, -1.0)
        est.append(theta[0::2] - theta[1::2])
        var.append(design.variance_grouped(z * sign, np.where(gid >= 0, gid // 2, -1), n_by))
    return np.stack(est), np.stack(var)


def regression(design: TaylorDesign, X: np.ndarray, ys: Sequence[np.ndarray], rows: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray]:
    """(M, p) coefficients and their sandwich variances."""
    w = design.weights_matrix[rows, 0]
    a = (X * w[:, None]).T @ X
    try:
        a_inv = np.linalg.inv(a)
    except np.linalg.LinAlgError as exc:
        raise EstimationError("设计矩阵奇异 / the design matrix is singular (collinear predictors?)") from exc
    n_psu = int(design.psu_ids.max()) + 1
    psu = sp.csr_matrix((np.ones(rows.size), (design.psu_ids[rows], np.arange(rows.size))), shape=(n_psu, rows.size))
    est, var = [], []
    for y in ys:
        beta = a_inv @ ((X * w[:, None]).T @ y)
        e = y - X @ beta
        z = (X * (w * e)[:, None]) @ a_inv  # (n, p)
        t = (psu @ z).T  # (p, P)
        est.append(beta)
        var.append(design.variance_of_totals(t))
    return np.stack(est), np.stack(var)


__all__ = ["TaylorDesign"]
