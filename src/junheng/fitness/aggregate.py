"""Aggregates of scored fitness records: the rates the national monitoring reports publish.

For every group of ``by`` (e.g. county × grade × sex × location), over the *tested* records
(complete and not exempt — 免测 records and incomplete records stay out of every rate):

* ``n_records``, ``n_exempt``, ``n_incomplete``, ``n_tested`` (unweighted counts);
* 达标率 ``pass_rate`` (及格 and above), 优良率 ``good_rate`` (良好 + 优秀), 优秀率
  ``excellent_rate``, 不及格率 ``fail_rate``; mean ``total_score``;
* per item: mean raw value ``<item>_mean``, mean score, 达标率 ``<item>_pass_rate`` (score ≥ 60)
  and 优秀率 ``<item>_excellent_rate`` (score ≥ 90), over the records with that item scored;
* BMI class rates (低体重 / 正常 / 超重 / 肥胖) over records with a BMI;
* 视力不良率 ``vision_poor_rate`` and its split by level (轻度 / 中度 / 重度) over records with
  a pupil vision class.

With a weight column every mean and rate is the weighted (Hájek) ratio Σwy / Σw — the
estimator of the national monitoring; standard errors come from ``junheng.survey`` replicate
weights. Rates are proportions in [0, 1].
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from junheng.exceptions import ParameterError
from junheng.fitness.items import ITEMS

_BMI_RATES = {"underweight_rate": "低体重", "normal_weight_rate": "正常", "overweight_rate": "超重",
              "obesity_rate": "肥胖"}
_VISION_RATES = {"vision_mild_rate": "轻度", "vision_moderate_rate": "中度", "vision_severe_rate": "重度"}

RATE_LABELS_ZH = {
    "n_tested": "测试人数", "pass_rate": "达标率", "good_rate": "优良率", "excellent_rate": "优秀率",
    "fail_rate": "不及格率", "total_score_mean": "总分均值", "underweight_rate": "低体重率",
    "normal_weight_rate": "正常体重率", "overweight_rate": "超重率", "obesity_rate": "肥胖率",
    "vision_poor_rate": "视力不良率", "vision_mild_rate": "轻度视力不良率", "vision_moderate_rate": "中度视力不良率",
    "vision_severe_rate": "重度视力不良率", "n_records": "记录数", "n_exempt": "免测人数", "n_incomplete": "缺项人数",
}


def _wmean(value: pl.Expr, among: pl.Expr, w: pl.Expr) -> pl.Expr:
    """Σ w·value / Σ w over the records where ``among`` holds (null when there are none)."""
    num = (w * value.cast(pl.Float64)).filter(among).sum()
    den = w.filter(among).sum()
    return pl.when(den > 0).then(num / den).otherwise(None)


def summarize(
    scored: pl.DataFrame,
    by: Sequence[str] = ("grade", "sex"),
    *,
    weight: str | None = "auto",
) -> pl.DataFrame:
    """One row per group of ``by`` with the counts, rates and means listed in the module docstring.

    ``weight="auto"`` uses a ``weight`` column when present (sampling weights), else counts
    every record once; ``None`` forces unweighted; any other string names the weight column.
    """
    missing = [c for c in (*by, "rating", "complete", "exempt") if c not in scored.columns]
    if missing:
        raise ParameterError(f"summarize: the scored frame lacks {missing}; score it with score_fitness first")
    if weight == "auto":
        weight = "weight" if "weight" in scored.columns else None
    if weight is not None and weight not in scored.columns:
        raise ParameterError(f"summarize: no weight column {weight!r}")
    w = pl.col(weight).cast(pl.Float64).fill_null(0.0) if weight else pl.lit(1.0)
    tested = pl.col("complete") & ~pl.col("exempt")
    rating = pl.col("rating").cast(pl.String)
    aggs: list[pl.Expr] = [
        pl.len().alias("n_records"),
        pl.col("exempt").sum().alias("n_exempt"),
        (~pl.col("complete") & ~pl.col("exempt")).sum().alias("n_incomplete"),
        tested.sum().alias("n_tested"),
        _wmean(rating.is_in(["优秀", "良好", "及格"]), tested, w).alias("pass_rate"),
        _wmean(rating.is_in(["优秀", "良好"]), tested, w).alias("good_rate"),
        _wmean(rating == "优秀", tested, w).alias("excellent_rate"),
        _wmean(rating == "不及格", tested, w).alias("fail_rate"),
        _wmean(pl.col("total_score"), tested, w).alias("total_score_mean"),
    ]
    if "bmi_class" in scored.columns:
        has_bmi = pl.col("bmi_class").is_not_null() & ~pl.col("exempt")
        aggs.append(_wmean(pl.col("bmi"), has_bmi, w).alias("bmi_mean"))
        for name, label in _BMI_RATES.items():
            aggs.append(_wmean(pl.col("bmi_class").cast(pl.String) == label, has_bmi, w).alias(name))
    if "vision_class" in scored.columns:
        has_v = pl.col("vision_class").is_not_null()
        vc = pl.col("vision_class").cast(pl.String)
        aggs.append(has_v.sum().alias("n_vision"))
        aggs.append(_wmean(vc != "正常", has_v, w).alias("vision_poor_rate"))
        for name, label in _VISION_RATES.items():
            aggs.append(_wmean(vc == label, has_v, w).alias(name))
    for item in ITEMS:
        sc = item.score_field
        if sc not in scored.columns:
            continue
        has = pl.col(sc).is_not_null() & ~pl.col("exempt")
        aggs.append(has.sum().alias(f"{item.field}_n"))
        if item.field in scored.columns and scored.schema[item.field].is_numeric():
            aggs.append(_wmean(pl.col(item.field), has, w).alias(f"{item.field}_mean"))
        aggs.append(_wmean(pl.col(sc), has, w).alias(f"{sc}_mean"))
        aggs.append(_wmean(pl.col(sc) >= 60, has, w).alias(f"{item.field}_pass_rate"))
        aggs.append(_wmean(pl.col(sc) >= 90, has, w).alias(f"{item.field}_excellent_rate"))
    if by:
        return scored.group_by(list(by)).agg(aggs).sort(list(by))
    return scored.select(aggs)


def summarize_levels(
    scored: pl.DataFrame,
    levels: Sequence[str | None] = ("school_code", "county_code", "city_code", None),
    breakdown: Sequence[str] = ("grade", "sex"),
    *,
    weight: str | None = "auto",
) -> pl.DataFrame:
    """:func:`summarize` at several levels (``None`` = the whole file, e.g. the province), stacked.

    The result has ``level`` (the column name, or ``"all"``) and ``unit`` (that column's value).
    Levels whose column is absent are skipped.
    """
    parts = []
    for level in levels:
        if level is not None and level not in scored.columns:
            continue
        keys = [level, *breakdown] if level else list(breakdown)
        s = summarize(scored, keys, weight=weight)
        unit = pl.col(level).cast(pl.String) if level else pl.lit("all")
        parts.append(s.with_columns(pl.lit(level or "all").alias("level"), unit.alias("unit"))
                     .drop([level] if level else []))
    if not parts:
        raise ParameterError("summarize_levels: none of the levels is a column of the frame")
    out = pl.concat(parts, how="diagonal_relaxed")
    front = ["level", "unit", *breakdown]
    return out.select(front + [c for c in out.columns if c not in front])


__all__ = ["RATE_LABELS_ZH", "summarize", "summarize_levels"]
