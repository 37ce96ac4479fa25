"""Human scoring of constructed responses: double-marking agreement and resolved scores.

Input: the long frame ``person_id, item_id, rater, score`` (one row per marking; a response
double-marked has two rows with different raters).

For each item, over the responses marked twice (first two markings in ``rater`` order):

* exact agreement ``p_o = Σ_i n_ii / n`` and adjacent agreement (|difference| ≤ 1);
* Cohen's (1960) kappa ``κ = (p_o − p_e) / (1 − p_e)`` with chance agreement
  ``p_e = Σ_i p_i· p_·i`` from the two raters' marginal distributions;
* quadratic weighted kappa (Cohen 1968) with weights ``w_ij = 1 − (i−j)² / (K−1)²``,
  ``κ_w = (Σ w p_o − Σ w p_e) / (1 − Σ w p_e)``.

TIMSS's benchmark for constructed-response reliability is exact agreement of at least 85 % on
average and 70 % per item (Mullis & Martin, *TIMSS 2019 Assessment Frameworks*; the scoring
reliability chapters of the technical reports).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from junheng.exceptions import ParameterError


def confusion(a: np.ndarray, b: np.ndarray, categories: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The K × K table of counts of (rater 1 = i, rater 2 = j) and the category values."""
    a = np.asarray(a)
    b = np.asarray(b)
    if a.shape != b.shape:
        raise ParameterError("两位评分员的评分个数须相同 / the two raters' score arrays must have the same length")
    cats = np.unique(np.concatenate([a, b])) if categories is None else np.asarray(categories)
    ia = np.searchsorted(cats, a)
    ib = np.searchsorted(cats, b)
    k = len(cats)
    table = np.bincount(ia * k + ib, minlength=k * k).reshape(k, k)
    return table, cats


def cohen_kappa(a: np.ndarray, b: np.ndarray, *, weights: str | None = None,
                categories: np.ndarray | None = None) -> float:
    """Cohen's kappa of two raters' scores; ``weights="quadratic"`` or ``"linear"`` for weighted kappa."""
    table, cats = confusion(a, b, categories)
    n = table.sum()
    if n == 0:
        return float("nan")
    p = table / n
    pe = np.outer(p.sum(axis=1), p.sum(axis=0))
    k = len(cats)
    if weights is None:
        w = np.eye(k)
    else:
        if k < 2:
            return float("nan")
        d = np.abs(np.subtract.outer(cats, cats)).astype(float) / (cats.max() - cats.min())
        if weights == "quadratic":
            w = 1 - d**2
        elif weights == "linear":
            w = 1 - d
        else:
            raise ParameterError(f"权重须为 None、linear 或 quadratic / weights must be None, 'linear' or 'quadratic'; got {weights!r}")
    po_w, pe_w = (w * p).sum(), (w * pe).sum()
    if np.isclose(pe_w, 1.0):
        return float("nan")
    return float((po_w - pe_w) / (1 - pe_w))


def double_marked_pairs(markings: pl.DataFrame) -> pl.DataFrame:
    """``person_id, item_id, score_1, score_2`` for the responses marked at least twice."""
    for c in ("person_id", "item_id", "rater", "score"):
        if c not in markings.columns:
            raise ParameterError(f"评分表缺少列 {c!r} / markings need a {c!r} column")
    m = markings.sort("person_id", "item_id", "rater").with_columns(
        pl.int_range(pl.len()).over("person_id", "item_id").alias("_k"))
    wide = m.filter(pl.col("_k") < 2).pivot(on="_k", index=["person_id", "item_id"], values="score")
    if "1" not in wide.columns:
        wide = wide.with_columns(pl.lit(None, dtype=m.schema["score"]).alias("1"))
    return wide.rename({"0": "score_1", "1": "score_2"}).drop_nulls(["score_1", "score_2"])


def agreement_by_item(markings: pl.DataFrame) -> pl.DataFrame:
    """Per item: ``item_id, n_double, exact, adjacent, kappa, kappa_quadratic``."""
    pairs = double_marked_pairs(markings)
    if pairs.height == 0:
        return pl.DataFrame(schema={"item_id": pl.String, "n_double": pl.Int64, "exact": pl.Float64,
                                    "adjacent": pl.Float64, "kappa": pl.Float64, "kappa_quadratic": pl.Float64})
    rows = []
    for (item,), g in pairs.group_by(["item_id"], maintain_order=True):
        a, b = g["score_1"].to_numpy(), g["score_2"].to_numpy()
        rows.append({"item_id": item, "n_double": len(a), "exact": float(np.mean(a == b)),
                     "adjacent": float(np.mean(np.abs(a - b) <= 1)), "kappa": cohen_kappa(a, b),
                     "kappa_quadratic": cohen_kappa(a, b, weights="quadratic")})
    return pl.DataFrame(rows).sort("item_id")


def resolve_scores(markings: pl.DataFrame, *, adjudicator: str | None = None) -> pl.DataFrame:
    """One final score per response: the adjudicator's marking if there is one; else the first
    marking when the first two agree or only one exists; else (disagreement, no adjudication) the
    lower of the two, flagged. Returns ``person_id, item_id, score, resolved_by``."""
    m = markings.sort("person_id", "item_id", "rater")
    if adjudicator is not None:
        adj = m.filter(pl.col("rater") == adjudicator).select("person_id", "item_id", pl.col("score").alias("_adj"))
        m = m.filter(pl.col("rater") != adjudicator)
    g = m.group_by("person_id", "item_id", maintain_order=True).agg(
        pl.col("score").first().alias("_s1"), pl.col("score").slice(1, 1).first().alias("_s2"))
    if adjudicator is not None:
        g = g.join(adj, on=["person_id", "item_id"], how="full", coalesce=True)
    else:
        g = g.with_columns(pl.lit(None, dtype=pl.Int64).alias("_adj"))
    return g.select(
        "person_id", "item_id",
        pl.coalesce("_adj", pl.when(pl.col("_s2").is_null() | (pl.col("_s1") == pl.col("_s2"))).then(pl.col("_s1"))
                    .otherwise(pl.min_horizontal("_s1", "_s2"))).alias("score"),
        pl.when(pl.col("_adj").is_not_null()).then(pl.lit("adjudicated"))
        .when(pl.col("_s2").is_null()).then(pl.lit("single"))
        .when(pl.col("_s1") == pl.col("_s2")).then(pl.lit("agreed"))
        .otherwise(pl.lit("disagreed_lower")).alias("resolved_by"),
    )
