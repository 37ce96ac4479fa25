"""毕业成绩 (the graduation score) from several school years' records.

国家学生体质健康标准（2014年修订）, 评价指标与权重 / 毕业成绩: the graduation score is 50 % of the
学年总分 of the graduating year plus 50 % of the mean 学年总分 of the other years; its 等级
follows the same cut points (优秀 ≥ 90.0, 良好 ≥ 80.0, 及格 ≥ 60.0). A pupil with only the
final year keeps that year's total. Years without a complete record are left out of the
mean of the other years (and a pupil without a complete final year gets no graduation score).
Exact arithmetic in hundredths, reported 四舍五入 to one decimal.
"""

from __future__ import annotations

import polars as pl

from junheng.exceptions import ParameterError
from junheng.fitness.items import RATINGS
from junheng.fitness.quantize import units_to_float


def graduation_scores(records: pl.DataFrame, *, final_year: int | None = None,
                      id_col: str = "student_id", year_col: str = "year") -> pl.DataFrame:
    """One row per pupil: ``final_total``, ``others_mean``, ``n_other_years``, ``graduation_score``, ``rating``.

    ``records`` holds one scored record per pupil and school year (``total_score`` from
    :func:`~junheng.fitness.score_fitness`, null when incomplete). ``final_year`` defaults to
    each pupil's latest year.
    """
    for c in (id_col, year_col, "total_score"):
        if c not in records.columns:
            raise ParameterError(f"graduation_scores: records need a {c!r} column")
    tenths = (pl.col("total_score") * 10).round(0).cast(pl.Int64)
    df = records.select(id_col, year_col, tenths.alias("t"))
    last = pl.lit(final_year) if final_year is not None else pl.col(year_col).max().over(id_col)
    df = df.with_columns((pl.col(year_col) == last).alias("is_final"))
    g = df.group_by(id_col).agg(
        pl.col("t").filter(pl.col("is_final")).first().alias("final_t"),
        pl.col("t").filter(~pl.col("is_final") & pl.col("t").is_not_null()).sum().alias("others_sum"),
        (~pl.col("is_final") & pl.col("t").is_not_null()).sum().alias("n_other_years"),
    )
    # graduation (tenths) = final/2 + others_sum/(2n) = (n·final + others_sum) / (2n), rounded half up exactly
    n = pl.col("n_other_years").cast(pl.Int64)
    num = pl.when(n > 0).then(n * pl.col("final_t") + pl.col("others_sum")).otherwise(2 * pl.col("final_t"))
    den = pl.when(n > 0).then(2 * n).otherwise(2)
    grad_tenths = (2 * num + den) // (2 * den)
    rating = (pl.when(grad_tenths >= 900).then(pl.lit(RATINGS[0])).when(grad_tenths >= 800).then(pl.lit(RATINGS[1]))
              .when(grad_tenths >= 600).then(pl.lit(RATINGS[2])).otherwise(pl.lit(RATINGS[3])))
    out = g.select(
        id_col,
        pl.col("final_t"),
        pl.when(n > 0).then(pl.col("others_sum").cast(pl.Float64) / n / 10).alias("others_mean"),
        "n_other_years",
        pl.when(pl.col("final_t").is_not_null()).then(grad_tenths).alias("grad_t"),
        pl.when(pl.col("final_t").is_not_null()).then(rating).cast(pl.Enum(list(RATINGS))).alias("rating"),
    ).sort(id_col)
    return out.with_columns(units_to_float(out["final_t"], 10).alias("final_t"),
                            units_to_float(out["grad_t"], 10).alias("grad_t")).rename(
        {"final_t": "final_total", "grad_t": "graduation_score"}).select(
        id_col, "final_total", "others_mean", "n_other_years", "graduation_score", "rating")


__all__ = ["graduation_scores"]
