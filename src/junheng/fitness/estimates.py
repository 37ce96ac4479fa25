"""Fitness rates and mean total score for the province, each city and each county, with
replicate-weight standard errors (the survey design of the monitoring sample).

达标率 (pass: 优秀/良好/及格), 优良率 (优秀/良好) and 优秀率 are proportions of the weighted sampled
pupils; the mean total score is a weighted mean. Estimation, SEs and the reporting rule are
:mod:`junheng.survey`'s (``proportion``, ``mean`` over a JK2 :class:`~junheng.survey.ReplicateDesign`).
"""

from __future__ import annotations

import polars as pl

from junheng.survey import ReplicateDesign, ReportingRule, mean, proportion

FITNESS_STATISTICS = {
    "pass_rate": ("rating", ["优秀", "良好", "及格"]),
    "good_rate": ("rating", ["优秀", "良好"]),
    "excellent_rate": ("rating", ["优秀"]),
}
"""statistic → (column, the levels counted)."""


def fitness_estimates(scored: pl.DataFrame, weights: pl.DataFrame, pupils: pl.DataFrame, *,
                      method: str = "jk2", rule: ReportingRule | None = None) -> pl.DataFrame:
    """``level`` (province/city/county), ``city_code``, ``county_code``, ``statistic``
    (``pass_rate``, ``good_rate``, ``excellent_rate``, ``total_score_mean``), ``estimate``,
    ``se``, ``n_pupils``, ``n_schools``, ``flag``.

    ``scored``: scored fitness records (``student_id``, ``rating``, ``total_score``);
    ``weights``: the weights frame (``student_id``, ``weight``, ``rep_*``); ``pupils``: the
    pupil sample (``student_id``, ``school_code``, ``county_code``, ``city_code``, ``sex``).
    Sampled pupils without a record count as missing, not as failing. ``rule``: the minimum
    reporting rule (default: the design's, 62 pupils and 5 schools, suppressed below)."""
    base = pupils.select("student_id", "school_code", "county_code", "city_code", "sex")
    reps = weights.select("student_id", "weight", pl.col("^rep_.*$"))
    cols = [c for c in ("student_id", "rating", "total_score") if c in scored.columns]
    data = base.join(reps, on="student_id", how="inner").join(
        scored.select(cols).with_columns(pl.col("student_id").cast(pl.String)), on="student_id", how="left")
    design = ReplicateDesign(data, "weight", "rep_*", method=method)
    if rule is not None:
        design = design.with_rule(rule)
    frames = []
    for level, by in (("province", []), ("city", ["city_code"]), ("county", ["county_code"])):
        for name, (col, lv) in FITNESS_STATISTICS.items():
            if col in data.columns:
                r = proportion(design, col, levels=lv, by=by)
                frames.append(r.with_columns(pl.lit(level).alias("level"), pl.lit(name).alias("statistic")))
        if "total_score" in data.columns:
            r = mean(design, "total_score", by=by)
            frames.append(r.with_columns(pl.lit(level).alias("level"), pl.lit("total_score_mean").alias("statistic")))
    out = pl.concat([f.with_columns([pl.lit(None, pl.String).alias(c) for c in ("city_code", "county_code")
                                     if c not in f.columns]) for f in frames], how="diagonal")
    return out.select("level", "city_code", "county_code", "statistic", "estimate", "se", "n_pupils", "n_schools",
                      "flag")


__all__ = ["FITNESS_STATISTICS", "fitness_estimates"]
