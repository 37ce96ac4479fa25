"""整改建议: which 优质均衡 requirements a county has not met, and what to do about each.

:func:`unmet_requirements` reads the frames the indicators already computed
(:func:`~junheng.indicators.resources.school_indicators`, :func:`~junheng.indicators.resources.county_cv`,
:func:`~junheng.indicators.quality.quality_indicator`, the checklist) and lists per county every
unmet requirement with the number behind it; :func:`advice` attaches the recommendation of each
from the rules table ``data/recommendations_2017.csv`` (one text per requirement id; written for
this project, see ``data/SOURCES.md``).  Nothing here recomputes an indicator.

Requirement ids: ``R1``–``R7`` (a school unit that fails the school test misses this indicator's
standard), ``CV`` (a 差异系数 above its limit), ``Q9_level`` / ``Q9_spread`` (a subject's Ⅲ级以上
share or between-school spread 未达到), ``Q9_undecided`` (no part 未达到 but not all 达到),
``Q9_missing`` (no monitoring result), ``G1``–``G15`` and ``Q1``–``Q8`` (checklist items not met),
``RECOGNITION`` / ``RECOGNITION_missing`` (社会认可度 below 85 % / not surveyed), ``V1``–``V6``.
"""

from __future__ import annotations

import polars as pl

from junheng.exceptions import ParameterError
from junheng.indicators.quality import NOT_REACHED, REACHED
from junheng.indicators.resources import RESOURCE_INDICATORS
from junheng.indicators.schemas import GOV_ITEMS, QUALITY_ITEMS, VETO_ITEMS
from junheng.indicators.verdict import RECOGNITION_MIN
from junheng.io import read_package_table

_COLUMNS = {"county_code": pl.String, "id": pl.String, "detail": pl.String}


def recommendations() -> pl.DataFrame:
    """The rules table: ``id, requirement, recommendation``."""
    return read_package_table("junheng.indicators.data", "recommendations_2017.csv")


def advice(unmet: pl.DataFrame) -> pl.DataFrame:
    """``unmet`` (:func:`unmet_requirements`) with each requirement's ``requirement`` and
    ``recommendation`` text; an id without a rule is an error (the table must cover every id)."""
    out = unmet.join(recommendations(), on="id", how="left")
    missing = out.filter(pl.col("recommendation").is_null())["id"].unique().to_list()
    if missing:
        raise ParameterError(f"整改建议规则表缺少 / no recommendation for: {sorted(missing)}")
    return out


def unmet_requirements(units: pl.DataFrame, cvs: pl.DataFrame, quality: pl.DataFrame | None = None,
                       checklist: pl.DataFrame | None = None) -> pl.DataFrame:
    """``county_code, id, detail`` of every unmet requirement, in the order of the 办法
    (resources, quality Q9, 政府保障程度, 教育质量 Q1–Q8, 社会认可度, 一票否决).

    ``units``: school units with their indicators and ``school_pass``; ``cvs``: the long CV frame;
    ``quality``: per county and subject (``level_verdict, diff_verdict, quality_verdict``) or None;
    ``checklist``: the validated checklist rows of one year, or None (then the checklist items are
    not listed: the caller says the checklist is missing)."""
    names = {i.id: i.name for i in RESOURCE_INDICATORS}
    parts = []
    failing = units.filter(~pl.col("school_pass").fill_null(False))
    for i in RESOURCE_INDICATORS:
        miss = failing.filter(~pl.col(f"{i.id}_met").fill_null(False)).group_by("county_code").agg(n=pl.len())
        parts.append(miss.select("county_code", id=pl.lit(i.id), detail=pl.format(
            "{} 所未通过的学校（学部）{}未达到标准", pl.col("n"), pl.lit(names[i.id]))))
    bad_cv = cvs.filter(~pl.col("cv_ok").fill_null(False))
    if bad_cv.height:
        label = pl.col("indicator").replace_strict(names, default=pl.col("indicator"), return_dtype=pl.String)
        cv = bad_cv.sort("county_code", "level", "indicator").group_by("county_code", maintain_order=True).agg(
            detail=pl.format("{}{} {}（限值 {}）", pl.col("level"), label, pl.col("cv").round(3),
                             pl.col("limit").round(2)).str.join("；"))
        parts.append(cv.select("county_code", id=pl.lit("CV"), detail="detail"))
    if quality is not None and quality.height:
        q = quality.group_by("county_code").agg(
            level=pl.col("subject").filter(pl.col("level_verdict") == NOT_REACHED).sort().str.join("、"),
            spread=pl.col("subject").filter(pl.col("diff_verdict") == NOT_REACHED).sort().str.join("、"),
            all_ok=(pl.col("quality_verdict") == REACHED).all())
        parts.append(q.filter(pl.col("level") != "").select(
            "county_code", id=pl.lit("Q9_level"), detail=pl.format("{}：Ⅲ级以上比例未达到要求", pl.col("level"))))
        # a share pooled over the subjects is one figure for the county: named once, not per subject
        where = pl.lit("各科合并") if "pooled_between_share" in quality.columns else pl.col("spread")
        parts.append(q.filter(pl.col("spread") != "").select(
            "county_code", id=pl.lit("Q9_spread"), detail=pl.format("{}：校际差异未低于0.15", where)))
        parts.append(q.filter((pl.col("level") == "") & (pl.col("spread") == "") & ~pl.col("all_ok")).select(
            "county_code", id=pl.lit("Q9_undecided"), detail=pl.lit("差距在抽样误差范围内")))
    counties = pl.concat([units.select("county_code"), cvs.select("county_code")]).unique()
    have_q = quality["county_code"].unique() if quality is not None and quality.height else pl.Series([], dtype=pl.String)
    parts.append(counties.filter(~pl.col("county_code").is_in(have_q.implode())).select(
        "county_code", id=pl.lit("Q9_missing"), detail=pl.lit("无本周期学业质量监测结果或样本不足")))
    if checklist is not None and checklist.height:
        for c in (*GOV_ITEMS, *QUALITY_ITEMS[:-1]):
            parts.append(checklist.filter(pl.col(c) == False).select(  # noqa: E712 (null = not entered)
                "county_code", id=pl.lit(c), detail=pl.lit("核查未达到")))
        rec = pl.col("recognition")
        parts.append(checklist.filter(rec < RECOGNITION_MIN).select(
            "county_code", id=pl.lit("RECOGNITION"), detail=pl.format("社会认可度 {}%", (rec * 100).round(1))))
        parts.append(checklist.filter(rec.is_null()).select(
            "county_code", id=pl.lit("RECOGNITION_missing"), detail=pl.lit("无调查结果")))
        for c in VETO_ITEMS:
            parts.append(checklist.filter(pl.col(c) == True).select(  # noqa: E712
                "county_code", id=pl.lit(c), detail=pl.lit("核查发现")))
    order = {k: n for n, k in enumerate([i.id for i in RESOURCE_INDICATORS] + [
        "CV", "Q9_level", "Q9_spread", "Q9_undecided", "Q9_missing", *GOV_ITEMS, *QUALITY_ITEMS[:-1],
        "RECOGNITION", "RECOGNITION_missing", *VETO_ITEMS])}
    out = pl.concat([p.select(pl.col(k).cast(t) for k, t in _COLUMNS.items()) for p in parts]) if parts else \
        pl.DataFrame(schema=_COLUMNS)
    return out.with_columns(_o=pl.col("id").replace_strict(order, return_dtype=pl.Int32)).sort(
        "county_code", "_o").drop("_o")
