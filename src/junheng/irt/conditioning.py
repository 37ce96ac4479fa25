"""Conditioning variables for the latent regression of plausible values (NAEP / PISA practice).

Plausible values are unbiased for a statistic only when every variable the statistic breaks the
population by is in the conditioning model (Mislevy, Beaton, Kaplan & Sheehan, 1992; von Davier,
Gonzalez & Mislevy, 2009).  The reports publish county means, gaps by sex and location,
between-school figures and gaps by questionnaire factor, so the model holds:

- every reporting variable as dummies (county, sex, location — :func:`junheng.irt.plausible_values`'s
  ``conditioning``);
- school membership through the school mean: the mean EAP of the *other* pupils of the pupil's
  school (leave-one-out, so a pupil's own responses do not enter his or her covariate twice;
  a pupil alone in the school gets the grand mean), as in PISA's use of school means
  (OECD, *PISA 2018 Technical Report*, ch. 9);
- the principal components of the questionnaire that together explain ``share`` (default 90 %)
  of its variance, as NAEP conditions on the principal components of the background variables
  (NAEP Technical Documentation, "Conditioning Models"; PISA keeps those explaining 80 %–95 %).
  Each questionnaire column is standardised; a missing answer is set to the column mean and a
  missing-indicator column is added for every column with missing answers (NAEP's treatment).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from junheng.exceptions import Issue, Issues, ParameterError


def principal_components(frame: pl.DataFrame, columns: list[str], share: float = 0.9,
                         prefix: str = "pc") -> pl.DataFrame:
    """The first k principal-component scores (``pc1`` … ``pck``) of ``columns``, k the smallest
    number whose components explain at least ``share`` of the (standardised) variance.

    Numeric or Boolean columns; categorical (string) columns become dummies first. Missing
    values: column mean plus a missing indicator (see the module docstring)."""
    if not 0 < share <= 1:
        raise ParameterError(f"share 应在 (0, 1] 内 / share must be in (0, 1]; got {share!r}")
    issues = Issues()
    for c in columns:
        if c not in frame.columns:
            issues.add(Issue("问卷列不存在", "questionnaire column not found", column=c))
    issues.raise_if_errors()
    parts = []
    for c in columns:
        s = frame[c]
        if s.dtype == pl.Boolean or s.dtype.is_numeric():
            parts.append(s.cast(pl.Float64).to_numpy().reshape(-1, 1))
        else:
            s = s.cast(pl.String)
            levels = sorted(v for v in s.unique().to_list() if v is not None)
            miss = s.is_null().to_numpy()
            for lv in levels[1:]:
                x = (s == lv).cast(pl.Float64).to_numpy()
                parts.append(np.where(miss, np.nan, x).reshape(-1, 1))
    if not parts:
        return pl.DataFrame({}, schema={})
    X = np.hstack(parts)
    miss = np.isnan(X)
    cnt = (~miss).sum(axis=0)
    mean = np.where(cnt > 0, np.where(miss, 0.0, X).sum(axis=0) / np.maximum(cnt, 1), 0.0)
    X = np.where(miss, mean, X)
    X = np.hstack([X, miss[:, miss.any(axis=0)].astype(float)])
    sd = X.std(axis=0)
    X = (X[:, sd > 0] - X[:, sd > 0].mean(axis=0)) / sd[sd > 0]
    if X.shape[1] == 0:
        return pl.DataFrame({}, schema={})
    U, S, _ = np.linalg.svd(X, full_matrices=False)
    explained = np.cumsum(S**2) / np.sum(S**2)
    k = int(np.searchsorted(explained, share - 1e-12) + 1)
    scores = U[:, :k] * S[:k]
    return pl.DataFrame({f"{prefix}{i + 1}": scores[:, i] for i in range(k)})


def leave_one_out_means(groups, values) -> np.ndarray:
    """Per row: the mean of ``values`` over the *other* rows of its group; rows alone in their
    group get the overall mean."""
    g = pl.Series(groups).cast(pl.String).fill_null("").to_numpy()
    v = np.asarray(values, dtype=float)
    _, inv = np.unique(g, return_inverse=True)
    tot = np.bincount(inv, weights=v)
    cnt = np.bincount(inv)
    others = cnt[inv] - 1
    return np.where(others > 0, (tot[inv] - v) / np.maximum(others, 1), v.mean())
