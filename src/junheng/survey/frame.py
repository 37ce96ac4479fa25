"""The sampling frame: the schools that teach the cycle's grade, with documented exclusions.

A school is *in scope* when it reports pupils in the grade (``enrol_g<grade>`` > 0).  In-scope
schools are *excluded* from the frame, each rule configurable (:class:`FrameRules`):

- special-education schools (学校标识码 类别码 ``51``, 特殊教育学校; 教育部《学校(机构)代码管理办法》);
- schools with fewer than ``min_enrolment`` pupils in the grade (very small schools, where the
  cost of a test site is out of proportion; the international studies exclude such schools up
  to a stated share of the population);
- optionally, 教学点 (teaching points).

The exclusion rate of a county is the share of its in-scope pupils (grade enrolment) in
excluded schools; the international convention is to keep it under 5 %.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from junheng.exceptions import Issue, Issues, ParameterError

REASONS = {
    "special": ("特殊教育学校", "special-education school"),
    "small": ("年级人数低于下限", "grade enrolment below the minimum"),
    "teaching_point": ("教学点", "teaching point"),
}


@dataclass(frozen=True)
class FrameRules:
    """Which in-scope schools leave the frame.  ``min_enrolment`` counts grade pupils."""

    grade: int = 6
    exclude_special: bool = True
    min_enrolment: int = 5
    exclude_teaching_points: bool = False
    special_prefixes: tuple[str, ...] = ("51",)

    def __post_init__(self) -> None:
        if not 1 <= self.grade <= 9:
            raise ParameterError(f"年级须在 1–9 / grade must be 1–9; got {self.grade}")
        if self.min_enrolment < 0:
            raise ParameterError(f"最小规模不能为负 / min_enrolment must be ≥ 0; got {self.min_enrolment}")


@dataclass
class Frame:
    """``schools``: the frame (one row per school, ``mos`` = grade enrolment); ``excluded``: the
    in-scope schools left out with their ``reason``; ``rates``: per county the in-scope pupils,
    excluded pupils and ``exclusion_rate``."""

    schools: pl.DataFrame
    excluded: pl.DataFrame
    rates: pl.DataFrame


def build_frame(schools: pl.DataFrame, rules: FrameRules | None = None) -> Frame:
    """The frame of the grade's schools from the registry's ``schools`` frame (contract columns)."""
    rules = rules or FrameRules()
    enrol = f"enrol_g{rules.grade}"
    issues = Issues()
    for col in ("school_code", "county_code", "location", enrol):
        if col not in schools.columns:
            issues.add(Issue(f"缺少列 {col}", f"missing column {col}", file="schools", column=col))
    issues.raise_if_errors("学校名册不能用作抽样框 / the school list cannot serve as a sampling frame")
    df = schools.with_columns(
        pl.col(enrol).cast(pl.Int64).fill_null(0).alias("mos"),
        pl.col("school_code").cast(pl.String),
        pl.col("county_code").cast(pl.String),
    )
    dup = df.filter(pl.col("school_code").is_duplicated())
    for row, code in zip(dup.with_row_index()["index"], dup["school_code"]):
        issues.add(Issue("学校标识码重复", "duplicate 学校标识码", file="schools", row=int(row) + 2,
                         column="学校标识码", value=code))
    issues.raise_if_errors()
    scope = df.filter(pl.col("mos") > 0)
    tp = pl.col("is_teaching_point").fill_null(False) if "is_teaching_point" in df.columns else pl.lit(False)
    special = pl.any_horizontal([pl.col("school_code").str.starts_with(p) for p in rules.special_prefixes])
    reason = (
        pl.when(pl.lit(rules.exclude_special) & special).then(pl.lit("special"))
        .when(pl.col("mos") < rules.min_enrolment).then(pl.lit("small"))
        .when(pl.lit(rules.exclude_teaching_points) & tp).then(pl.lit("teaching_point"))
        .otherwise(None)
    )
    scope = scope.with_columns(reason.alias("reason"))
    frame = scope.filter(pl.col("reason").is_null()).drop("reason")
    excluded = scope.filter(pl.col("reason").is_not_null())
    rates = (
        scope.group_by("county_code")
        .agg(
            pl.col("mos").sum().alias("pupils_in_scope"),
            pl.col("mos").filter(pl.col("reason").is_not_null()).sum().alias("pupils_excluded"),
            pl.len().alias("schools_in_scope"),
            pl.col("reason").is_not_null().sum().alias("schools_excluded"),
        )
        .with_columns((pl.col("pupils_excluded") / pl.col("pupils_in_scope")).alias("exclusion_rate"))
        .sort("county_code")
    )
    return Frame(frame, excluded, rates)


__all__ = ["REASONS", "Frame", "FrameRules", "build_frame"]
