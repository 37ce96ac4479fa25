"""Estimators over a :class:`~junheng.survey.design.ReplicateDesign`, in the manner of R survey.

Each estimator takes ``(design, variable | pv, by=…)`` and returns a Polars frame with the
grouping columns, then ``estimate``, ``se``, ``n_pupils``, ``n_schools``, ``flag``.  All groups
and all replicates are computed in one vectorised pass (sparse group indicator × weight matrix).

Formulas (R survey's ``svymean``/``svytotal``/``svyby``/``svyquantile``/``svyglm`` on a
replicate design with ``mse=TRUE``; Lumley 2010, *Complex Surveys*, ch. 2–5):

- total        t_r = Σ_i w_ir x_i
- mean, ratio  θ_r = Σ_i w_ir x_i 1[i∈d] / Σ_i w_ir 1[i∈d]  (domain d: weights zeroed outside)
- proportion   the mean of 1[x_i ∈ levels]
- quantile     Q_r(p) = min{x : F_r(x) ≥ p}, F_r the weighted ECDF (R's ``qrule="math"``)
- difference   θ_r(a) − θ_r(b), so the covariance of the two groups is carried by the replicates
- regression   β_r = (X' W_r X)⁻¹ X' W_r y
- variance     V = c Σ_r (θ_r − θ_0)²  (see :class:`ReplicateDesign`)
- plausible values (Rubin 1987; R mitools ``MIcombine``): θ̄ = mean_m θ_m,
  U = mean_m V_m, B = Σ_m (θ_m − θ̄)² / (M − 1), T = U + (1 + 1/M) B.
- degrees of freedom ``df``: the design's (the number of variance zones that contribute;
  Taylor: PSUs − strata), combined with the plausible values'
  variance by Barnard & Rubin (1999) — see :mod:`junheng.survey.inference`.
- design effect (R's ``deff=TRUE``): V / V_srs with V_srs = s²/n · (N − n)/N, s² the weighted
  variance with divisor n − 1 (``svyvar``), N = Σ w.

Rows where the analysed variable is null are left out (R's ``na.rm=TRUE``); rows where a grouping
value is null belong to no group.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence

import numpy as np
import polars as pl

from junheng.exceptions import ParameterError
from junheng.survey._groups import Grouping, group_index, normalise_by
from junheng.survey.design import ReplicateDesign

RESULT_COLUMNS = ("estimate", "se", "df", "n_pupils", "n_schools", "flag")


# ---------------------------------------------------------------------------------------------
# helpers


def resolve_pv(data: pl.DataFrame, pv: str | Sequence[str]) -> list[str]:
    """Plausible-value columns from a glob (``'PV*'``) or a list, in numeric order."""
    if isinstance(pv, str):
        names = [c for c in data.columns if fnmatch.fnmatchcase(c, pv)]
        names.sort(key=lambda c: (len(c), c))
    else:
        names = list(pv)
    missing = [c for c in names if c not in data.columns]
    if missing:
        raise ParameterError(f"列不存在 / columns not found: {missing}")
    if len(names) < 2:
        raise ParameterError(f"合理值至少需要 2 列 / plausible values need at least 2 columns; got {names}")
    return names


def _variables(design: ReplicateDesign, variable: str | None, pv: str | Sequence[str] | None) -> list[str]:
    if (variable is None) == (pv is None):
        raise ParameterError("须给出 variable 或 pv 之一 / give exactly one of variable or pv")
    if variable is not None:
        if variable not in design.data.columns:
            raise ParameterError(f"变量列不存在 / variable column not found: {variable!r}")
        return [variable]
    return resolve_pv(design.data, pv)  # type: ignore[arg-type]


def _numeric(design: ReplicateDesign, col: str) -> tuple[np.ndarray, np.ndarray]:
    s = design.data.get_column(col)
    if not (s.dtype.is_numeric() or s.dtype == pl.Boolean):
        raise ParameterError(f"变量须为数值 / variable {col!r} must be numeric; got {s.dtype}")
    x = s.cast(pl.Float64).to_numpy()
    valid = ~np.isnan(x)
    return np.where(valid, x, 0.0), valid


def _values(design, names: list[str], levels) -> list[tuple[np.ndarray, np.ndarray]]:
    """(values, valid) per column: the numbers, or 1[x ∈ levels] for a proportion."""
    if levels is None:
        return [_numeric(design, c) for c in names]
    lv = list(levels) if isinstance(levels, list | tuple | set) else [levels]
    raw = [design.data.get_column(c) for c in names]
    return [(c.is_in(lv).fill_null(False).cast(pl.Float64).to_numpy(), c.is_not_null().to_numpy()) for c in raw]


def _flags(design, n_pupils: np.ndarray, n_schools: np.ndarray) -> pl.Series:
    """``few_pupils`` / ``few_schools`` / both (comma-separated) / null, per group."""
    rule = design.rule
    few_p = pl.Series(n_pupils < rule.min_pupils)
    few_s = pl.Series((n_schools < rule.min_schools) if design.school_ids is not None
                      else np.zeros(len(n_pupils), dtype=bool))
    frame = pl.DataFrame({"p": few_p, "s": few_s})
    return frame.select(
        pl.when(pl.col("p") & pl.col("s")).then(pl.lit("few_pupils,few_schools"))
        .when(pl.col("p")).then(pl.lit("few_pupils"))
        .when(pl.col("s")).then(pl.lit("few_schools"))
        .otherwise(None).alias("flag")
    ).to_series()


def rubin(estimates: np.ndarray, variances: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Combine M completed-data estimates (M, …) and their variances (M, …) by Rubin's rules."""
    m = estimates.shape[0]
    est = estimates.mean(axis=0)
    if m == 1:
        return est, variances[0]
    within = variances.mean(axis=0)
    between = estimates.var(axis=0, ddof=1)
    return est, within + (1.0 + 1.0 / m) * between


def _result(design: ReplicateDesign, keys: pl.DataFrame, thetas: list[np.ndarray], n_pupils: np.ndarray,
            n_schools: np.ndarray, extra: dict[str, np.ndarray] | None = None) -> pl.DataFrame:
    """Frame from per-variable replicate estimates (each (G, R+1)): Rubin-combined when M > 1."""
    full, var, df = design.stats(thetas)
    return finish(design, keys, full, var, n_pupils, n_schools, extra, df=df)


def finish(design, keys: pl.DataFrame, full: np.ndarray, var: np.ndarray, n_pupils: np.ndarray,
           n_schools: np.ndarray, extra: dict[str, np.ndarray] | None = None,
           df: np.ndarray | None = None) -> pl.DataFrame:
    """Result frame from M completed-data estimates ``full`` (M, G), variances ``var`` (M, G) and
    complete-data degrees of freedom ``df`` (M, G; default: a Taylor design's PSUs − strata)."""
    from junheng.survey.inference import barnard_rubin

    if df is None:
        df = np.full(full.shape, float(getattr(design, "degf", np.nan)))
    est, v, nu = barnard_rubin(full, var, df)
    se = np.sqrt(v)
    flags = _flags(design, n_pupils, n_schools)
    if design.rule.suppress:
        hide = flags.is_not_null().to_numpy()
        est = np.where(hide, np.nan, est)
        se = np.where(hide, np.nan, se)
        nu = np.where(hide, np.nan, nu)
    cols: dict[str, object] = {
        "estimate": pl.Series("estimate", est, dtype=pl.Float64).fill_nan(None),
        "se": pl.Series("se", se, dtype=pl.Float64).fill_nan(None),
        "df": pl.Series("df", np.broadcast_to(nu, est.shape).astype(float), dtype=pl.Float64).fill_nan(None),
        "n_pupils": pl.Series("n_pupils", n_pupils, dtype=pl.Int64),
        "n_schools": pl.Series("n_schools", n_schools, dtype=pl.Int64),
        "flag": flags.cast(pl.String),
    }
    out = pl.DataFrame(cols)
    if extra:
        out = out.with_columns(pl.Series(k, v) for k, v in extra.items())
    return pl.concat([keys, out], how="horizontal") if keys.width else out


def _grouping(design: ReplicateDesign, by: list[str], valid: np.ndarray) -> tuple[Grouping, pl.DataFrame]:
    gid, keys = group_index(design.data, by)
    n_groups = keys.height if by else 1
    return Grouping(gid, n_groups, valid), keys


def _deff(design: ReplicateDesign, grp: Grouping, x: np.ndarray, theta: np.ndarray, v: np.ndarray,
          n_pupils: np.ndarray) -> np.ndarray:
    """V / V_srs as R's ``svymean(..., deff=TRUE)`` (without-replacement SRS of the same size)."""
    w = design.weights_matrix[:, :1]
    npop = grp.sums(w)[:, 0]
    mean = theta[:, 0]
    resid2 = (x - mean[grp.gid.clip(0)]) ** 2
    ss = grp.sums(w * resid2[:, None])[:, 0]
    n = n_pupils.astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        s2 = ss / npop * n / (n - 1)
        vsrs = s2 / n * (npop - n) / npop
        return v / vsrs


# ---------------------------------------------------------------------------------------------
# estimators


def mean(design: ReplicateDesign, variable: str | None = None, *, pv: str | Sequence[str] | None = None,
         by: str | Sequence[str] | None = None, deff: bool = False) -> pl.DataFrame:
    """Weighted mean of ``variable`` (or of plausible values ``pv``, Rubin-combined) per group."""
    names = _variables(design, variable, pv)
    by_ = normalise_by(by)
    xs = [_numeric(design, c) for c in names]
    valid = np.logical_and.reduce([v for _, v in xs])
    grp, keys = _grouping(design, by_, valid)
    n_p, n_s = grp.counts(design.weights_matrix[:, 0], design.school_ids)
    if deff and len(names) > 1:
        raise ParameterError("设计效应仅对单一变量计算 / deff is computed for a single variable, not plausible values")
    full, var, df = design.ratio([x for x, _ in xs], grp)
    extra = {"deff": _deff(design, grp, xs[0][0], full[0][:, None], var[0], n_p)} if deff else None
    return finish(design, keys, full, var, n_p, n_s, extra, df=df)


def total(design: ReplicateDesign, variable: str | None = None, *, pv: str | Sequence[str] | None = None,
          by: str | Sequence[str] | None = None) -> pl.DataFrame:
    """Weighted total Σ w x per group (with ``variable=None`` and ``pv=None``: the population size)."""
    by_ = normalise_by(by)
    if variable is None and pv is None:
        xs = [(np.ones(design.data.height), np.ones(design.data.height, dtype=bool))]
    else:
        xs = [_numeric(design, c) for c in _variables(design, variable, pv)]
    valid = np.logical_and.reduce([v for _, v in xs])
    grp, keys = _grouping(design, by_, valid)
    n_p, n_s = grp.counts(design.weights_matrix[:, 0], design.school_ids)
    full, var, df = design.totals([x for x, _ in xs], grp)
    return finish(design, keys, full, var, n_p, n_s, df=df)


def proportion(design: ReplicateDesign, variable: str | None = None, *, pv: str | Sequence[str] | None = None,
               levels: object | Sequence[object] | None = None, by: str | Sequence[str] | None = None) -> pl.DataFrame:
    """Proportion of pupils whose value is in ``levels`` per group.

    With ``levels=None`` the frame has one row per group and observed value (column ``level``),
    as R's ``svymean(~factor(x))``.  With plausible values (e.g. ``level_pv1 … level_pv5``) the
    proportions are combined by Rubin's rules.
    """
    names = _variables(design, variable, pv)
    by_ = normalise_by(by)
    cols = [design.data.get_column(c) for c in names]
    valid = np.logical_and.reduce([c.is_not_null().to_numpy() for c in cols])
    if levels is None:
        observed = pl.concat([c.drop_nulls().unique() for c in cols]).unique().sort().to_list()
        frames = [
            proportion(design, variable, pv=pv, levels=[lv], by=by_).with_columns(
                pl.lit(str(lv)).alias("level")) for lv in observed
        ]
        out = pl.concat(frames)
        return out.select([*by_, "level", *RESULT_COLUMNS]).sort([*by_, "level"])
    lv = list(levels) if isinstance(levels, list | tuple | set) else [levels]
    grp, keys = _grouping(design, by_, valid)
    n_p, n_s = grp.counts(design.weights_matrix[:, 0], design.school_ids)
    ind = [c.is_in(lv).fill_null(False).cast(pl.Float64).to_numpy() for c in cols]
    full, var, df = design.ratio(ind, grp)
    return finish(design, keys, full, var, n_p, n_s, df=df)


def _weighted_quantiles(x: np.ndarray, w: np.ndarray, gid: np.ndarray, n_groups: int, p: float) -> np.ndarray:
    """min{x : F(x) ≥ p} per group for every weight column of ``w`` (n × k) → (G × k)."""
    order = np.lexsort((x, gid))
    xs, gs, ws = x[order], gid[order], w[order]
    cum = np.cumsum(ws, axis=0)
    starts = np.searchsorted(gs, np.arange(n_groups), side="left")
    ends = np.searchsorted(gs, np.arange(n_groups), side="right")
    before = np.where(starts[:, None] > 0, cum[np.maximum(starts - 1, 0)], 0.0)
    totals = cum[np.maximum(ends - 1, 0)] - before
    out = np.full((n_groups, w.shape[1]), np.nan)
    for k in range(w.shape[1]):  # a loop over replicate columns, not over pupils or groups
        within = cum[:, k] - before[gs, k]
        with np.errstate(invalid="ignore", divide="ignore"):
            frac = within / totals[gs, k]
        key = gs + np.minimum(frac, 1.0)
        # a relative tolerance so that F(x) = p computed with rounding still counts as reaching p
        target = np.arange(n_groups) + p * (1 - 1e-12)
        idx = np.searchsorted(key, target, side="left")
        ok = (idx < ends) & (totals[:, k] > 0)
        out[ok, k] = xs[idx[ok]]
    return out


def quantile(design: ReplicateDesign, variable: str | None = None, q: float = 0.5, *,
             pv: str | Sequence[str] | None = None, by: str | Sequence[str] | None = None) -> pl.DataFrame:
    """Weighted quantile Q(q) = min{x : F(x) ≥ q} per group (R: ``svyquantile(qrule="math",
    interval.type="quantile")`` on a replicate design), SE from the replicate quantiles."""
    if not 0.0 < q < 1.0:
        raise ParameterError(f"分位数须在 (0, 1) / q must be in (0, 1); got {q}")
    if not design.replicated:
        raise ParameterError("分位数需要复制权重设计 / quantiles need a replicate-weight design")
    names = _variables(design, variable, pv)
    by_ = normalise_by(by)
    xs = [_numeric(design, c) for c in names]
    valid = np.logical_and.reduce([v for _, v in xs])
    grp, keys = _grouping(design, by_, valid)
    rows = grp.rows
    thetas = [
        _weighted_quantiles(x[rows], design.weights_matrix[rows], grp.gid[rows], grp.n_groups, q) for x, _ in xs
    ]
    n_p, n_s = grp.counts(design.weights_matrix[:, 0], design.school_ids)
    return _result(design, keys, thetas, n_p, n_s)


def difference(design: ReplicateDesign, variable: str | None = None, *, group: str, a: object, b: object,
               pv: str | Sequence[str] | None = None, by: str | Sequence[str] | None = None,
               statistic: str = "mean", levels: object | Sequence[object] | None = None) -> pl.DataFrame:
    """Difference θ(group = a) − θ(group = b) of a mean (or proportion of ``levels``) per ``by`` group.

    The two groups' estimates are differenced replicate by replicate, so their covariance (same
    schools, same replicates) enters the SE exactly as R's ``svycontrast`` on ``svyby(covmat=TRUE)``.
    ``n_pupils``/``n_schools`` count both groups; the reporting rule applies to the smaller group.
    """
    if statistic not in ("mean", "proportion"):
        raise ParameterError(f"statistic 须为 mean 或 proportion / statistic must be mean or proportion; got {statistic!r}")
    names = _variables(design, variable, pv)
    by_ = normalise_by(by)
    if group not in design.data.columns or group in by_:
        raise ParameterError(f"比较分组列无效 / invalid comparison column {group!r}")
    gcol = design.data.get_column(group)
    side = np.where(gcol.eq(a).fill_null(False).to_numpy(), 0, np.where(gcol.eq(b).fill_null(False).to_numpy(), 1, -1))
    xs = _values(design, names, levels)
    valid = np.logical_and.reduce([v for _, v in xs]) & (side >= 0)
    gid, keys = group_index(design.data, by_)
    n_by = keys.height if by_ else 1
    cell = np.where((gid >= 0) & (side >= 0), gid * 2 + side, -1)
    grp = Grouping(cell, 2 * n_by, valid)
    n_p, n_s = grp.counts(design.weights_matrix[:, 0], design.school_ids)
    full, var, df = design.difference([x for x, _ in xs], grp, n_by)
    out = finish(design, keys, full, var, n_p[0::2] + n_p[1::2], n_s[0::2] + n_s[1::2], df=df)
    # the reporting rule holds for each of the two groups
    flags = _flags(design, np.minimum(n_p[0::2], n_p[1::2]), np.minimum(n_s[0::2], n_s[1::2]))
    out = out.with_columns(flags.cast(pl.String).alias("flag"))
    if design.rule.suppress:
        out = out.with_columns(
            pl.when(pl.col("flag").is_null()).then(pl.col(c)).otherwise(None).alias(c)
            for c in ("estimate", "se", "df")
        )
    return out


def versus_total(design: ReplicateDesign, variable: str | None = None, *, by: str | Sequence[str],
                 pv: str | Sequence[str] | None = None, within: str | Sequence[str] | None = None,
                 levels: object | Sequence[object] | None = None, alpha: float = 0.05) -> pl.DataFrame:
    """Each ``by`` group against the whole (e.g. every county against the province), per ``within``
    group (e.g. subject): θ_g − θ_all of a mean (or of the proportion in ``levels``).

    Part–whole: the group is inside the whole, so the difference is taken replicate by replicate
    and its SE carries the covariance (NAEP's "dependent via differences"); degrees of freedom
    as :mod:`junheng.survey.inference`.  Then :func:`junheng.survey.inference.compare` with the
    family = one ``within`` group (all ``by`` groups against the whole for one indicator):
    ``t``, ``p``, ``p_adj`` (Benjamini–Hochberg), ``significant``, ``direction``.  Returns
    ``within…, by…, estimate`` (the group's), ``total`` (the whole's), ``diff``, ``diff_se``,
    ``df``, counts, ``flag``, then the test columns.  A replicate design only.
    """
    from junheng.survey.inference import compare

    if not design.replicated:
        raise ParameterError("与总体比较需要复制权重设计 / group-versus-total needs a replicate-weight design")
    names = _variables(design, variable, pv)
    by_, within_ = normalise_by(by), normalise_by(within)
    if not by_:
        raise ParameterError("须给出 by / give the groups to compare (by)")
    xs = _values(design, names, levels)
    valid = np.logical_and.reduce([v for _, v in xs])
    grp, keys = _grouping(design, [*within_, *by_], valid)
    tot, tkeys = _grouping(design, within_, valid)
    n_p, n_s = grp.counts(design.weights_matrix[:, 0], design.school_ids)
    parent = np.zeros(grp.n_groups, dtype=np.int64)
    if within_:
        parent = keys.select(within_).join(tkeys.with_row_index("__t"), on=within_, how="left",
                                           maintain_order="left")["__t"].to_numpy().astype(np.int64)
    part = grp.ratios(design.weights_matrix, [x for x, _ in xs])
    whole = tot.ratios(design.weights_matrix, [x for x, _ in xs])
    full, var, _ = design.stats([p - w[parent] for p, w in zip(part, whole)])
    df = np.stack([design.degrees_of_freedom(p[:, 0], p[:, 1:]) for p in part])  # the part's zones
    own = finish(design, keys, np.stack([p[:, 0] for p in part]), np.zeros((len(xs), grp.n_groups)), n_p, n_s)
    out = finish(design, keys, full, var, n_p, n_s, df=df).rename({"estimate": "diff", "se": "diff_se"})
    whole_est = np.stack([w[:, 0] for w in whole]).mean(axis=0)[parent]
    out = out.with_columns(estimate=own["estimate"], total=pl.Series(whole_est))
    cols = [*within_, *by_, "estimate", "total", "diff", "diff_se", "df", "n_pupils", "n_schools", "flag"]
    return compare(out.select(cols), family=within_, alpha=alpha)


def regression(design: ReplicateDesign, y: str | None = None, x: Sequence[str] = (), *,
               pv: str | Sequence[str] | None = None, intercept: bool = True) -> pl.DataFrame:
    """Weighted least-squares linear regression of ``y`` (or each plausible value) on ``x``.

    Coefficients β = (X'WX)⁻¹X'Wy, refitted under every replicate weight (R: ``svyglm`` with
    ``family=gaussian()`` on a replicate design); plausible values combined coefficient by
    coefficient by Rubin's rules.  One row per term: ``term``, ``estimate``, ``se``, counts, ``flag``.
    """
    names = _variables(design, y, pv)
    xcols = list(x)
    missing = [c for c in xcols if c not in design.data.columns]
    if missing:
        raise ParameterError(f"自变量列不存在 / predictor columns not found: {missing}")
    pred = [_numeric(design, c) for c in xcols]
    ys = [_numeric(design, c) for c in names]
    valid = np.logical_and.reduce([v for _, v in pred + ys])
    rows = np.flatnonzero(valid)
    X = np.column_stack(([np.ones(rows.size)] if intercept else []) + [p[0][rows] for p in pred])
    terms = (["(Intercept)"] if intercept else []) + xcols
    if X.shape[1] == 0:
        raise ParameterError("回归没有任何项 / the regression has no terms")
    W = design.weights_matrix[rows]
    n_pupils = int(np.count_nonzero(W[:, 0] > 0))
    n_schools = 0
    if design.school_ids is not None:
        n_schools = int(np.unique(design.school_ids[rows][W[:, 0] > 0]).size)
    p = len(terms)
    keys = pl.DataFrame({"term": terms})
    full, var, df = design.regression(X, [yv[rows] for yv, _ in ys], rows)
    return finish(design, keys, full, var, np.full(p, n_pupils), np.full(p, n_schools), df=df)


__all__ = ["RESULT_COLUMNS", "difference", "mean", "proportion", "quantile", "regression", "resolve_pv", "rubin",
           "total", "versus_total"]
