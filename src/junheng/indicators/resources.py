"""优质均衡 资源配置: the seven school indicators, the school verdict and the county 差异系数.

Source: 《县域义务教育优质均衡发展督导评估办法》(教督〔2017〕6号) 第九条; thresholds in
``data/resource_indicators_2017.csv`` (see ``data/SOURCES.md``).  Methodology note:
``docs/methods/indicators.md``.

Units of evaluation ("school units"): every 小学 and 初中 is one unit of its level; a 完全中学
counts with 初中 (its grades 7–9); a 九年一贯制 school gives two units, its 小学部 (enrolment of
grades 1–6) and its 初中部 (grades 7–9).  A 九年一贯制 school's resource figures are reported for
the whole school, so they are apportioned to its two parts in proportion to enrolment: each part
has the school's per-pupil value (documented assumption; a registry that records the two parts
separately should list them as two schools).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import polars as pl

from junheng.exceptions import Issue, Issues, ParameterError
from junheng.io import read_package_table

LEVELS = ("小学", "初中")


@dataclass(frozen=True)
class Indicator:
    """One resource indicator: value = Σ numerator fields ÷ enrolment × ``per``."""

    id: str
    name: str
    unit: str
    numerator: tuple[str, ...]
    per: float
    thresholds: dict[str, float]
    source: str = "教督〔2017〕6号 第九条"
    definition: str = ""


_FIELDS = {
    "R1": ("teachers_above_qualification",),
    "R2": ("key_teachers",),
    "R3": ("pe_arts_teachers",),
    "R4": ("teaching_area_m2",),
    "R5": ("sports_area_m2",),
    "R6": ("equipment_value_yuan",),
    "R7": ("multimedia_classrooms",),
}


def _load_registry() -> tuple[Indicator, ...]:
    out = []
    for row in read_package_table("junheng.indicators.data", "resource_indicators_2017.csv").fill_null("").to_dicts():
        out.append(Indicator(
            id=row["id"], name=row["name"], unit=row["unit"], numerator=_FIELDS[row["id"]],
            per=100.0 if "百" in row["unit"] else 1.0,
            thresholds={"小学": float(row["primary_min"]), "初中": float(row["junior_min"])},
            definition=row["numerator_definition"],
        ))
    return tuple(out)


#: The declarative registry of the seven resource indicators (R1..R7).
RESOURCE_INDICATORS: tuple[Indicator, ...] = _load_registry()

#: CV limits per level (each indicator's CV must be ≤ the limit).
CV_LIMITS: dict[str, float] = {"小学": 0.50, "初中": 0.45}


@dataclass(frozen=True)
class ResourceRules:
    """Configurable rules of the resource part.

    ``min_met`` indicators must meet their standard and the rest must reach ``floor`` × standard
    (6 and 0.85 in 第九条).  Schools whose code starts with one of ``exclude_code_prefixes``
    (``51`` = 特殊教育学校 in 学校标识码) and 教学点 with fewer than ``teaching_point_min``
    pupils are out of scope.
    """

    min_met: int = 6
    floor: float = 0.85
    cv_limits: dict[str, float] = field(default_factory=lambda: dict(CV_LIMITS))
    exclude_code_prefixes: tuple[str, ...] = ("51",)
    teaching_point_min: int = 50
    indicators: tuple[Indicator, ...] = RESOURCE_INDICATORS

    def __post_init__(self) -> None:
        n = len(self.indicators)
        if not 0 <= self.min_met <= n:
            raise ParameterError(f"min_met 须在 0–{n} / min_met must be in 0..{n}")
        if not 0.0 <= self.floor <= 1.0:
            raise ParameterError("floor 须在 0–1 / floor must be in [0, 1]")


DEFAULT_RULES = ResourceRules()


def _check(schools: pl.DataFrame, rules: ResourceRules) -> pl.DataFrame:
    from junheng.indicators.schemas import SCHOOLS, conform

    need = ["school_code", "county_code", "stage", *[f"enrol_g{g}" for g in range(1, 10)],
            *{f for ind in rules.indicators for f in ind.numerator}]
    missing = [c for c in need if c not in schools.columns]
    if missing:
        raise ParameterError(f"学校表缺少列 / schools frame lacks columns: {missing}")
    schools = conform(schools, SCHOOLS, file="schools")
    bad = schools.with_row_index("_r").filter(~pl.col("stage").is_in(["小学", "初中", "九年一贯制", "完全中学"]))
    if bad.height:
        issues = Issues()
        for r, stage in bad.select("_r", "stage").iter_rows():
            issues.add(Issue("办学类型须为 小学/初中/九年一贯制/完全中学", "stage must be 小学/初中/九年一贯制/完全中学",
                             row=r + 2, column="stage", value=stage))
        issues.raise_if_errors("学校表有误 / bad schools frame")
    return schools


def school_units(schools: pl.DataFrame, rules: ResourceRules = DEFAULT_RULES) -> pl.DataFrame:
    """One row per school unit in scope: ``school_code, county_code, level, enrolment, share``
    plus the apportioned numerator fields (``share`` = the unit's part of the school's pupils)."""
    schools = _check(schools, rules)
    fields = sorted({f for ind in rules.indicators for f in ind.numerator})
    pri = pl.sum_horizontal([pl.col(f"enrol_g{g}").fill_null(0) for g in range(1, 7)])
    jun = pl.sum_horizontal([pl.col(f"enrol_g{g}").fill_null(0) for g in range(7, 10)])
    s = schools.with_columns(_pri=pri, _jun=jun)
    tp = (pl.col("is_teaching_point").fill_null(False) if "is_teaching_point" in s.columns else pl.lit(False))
    excluded = tp & ((pl.col("_pri") + pl.col("_jun")) < rules.teaching_point_min)
    for p in rules.exclude_code_prefixes:
        excluded = excluded | pl.col("school_code").cast(pl.String).str.starts_with(p)
    s = s.filter(~excluded)
    keep = ["school_code", "county_code", *(c for c in ("city_code", "name", "location") if c in s.columns)]
    total = (pl.col("_pri") + pl.col("_jun")).cast(pl.Float64)
    parts = []
    for level, stages, enrol in (("小学", ["小学", "九年一贯制"], "_pri"), ("初中", ["初中", "完全中学", "九年一贯制"], "_jun")):
        sub = s.filter(pl.col("stage").is_in(stages) & (pl.col(enrol) > 0))
        share = pl.when(total > 0).then(pl.col(enrol) / total).otherwise(1.0)
        parts.append(sub.select(
            *keep, pl.col("stage"), pl.lit(level).alias("level"), pl.col(enrol).cast(pl.Int64).alias("enrolment"),
            share.alias("share"), *[(pl.col(f).cast(pl.Float64) * share).alias(f) for f in fields],
        ))
    return pl.concat(parts).sort("county_code", "level", "school_code")


def school_indicators(schools: pl.DataFrame, rules: ResourceRules = DEFAULT_RULES) -> pl.DataFrame:
    """The seven indicator values per school unit, each against its standard, and the verdict.

    Columns: the unit columns of :func:`school_units`, then per indicator ``<id>`` (value),
    ``<id>_std`` (standard for the level), ``<id>_ratio`` (value ÷ standard), ``<id>_met``;
    ``n_met``, ``min_ratio`` and ``school_pass`` = n_met ≥ ``min_met`` and every indicator
    ≥ ``floor`` × standard (第九条: 每所学校至少6项指标达到要求，余项不低于要求的85%).
    A unit without pupils has no values (null) and does not pass.
    """
    units = school_units(schools, rules)
    enrol = pl.col("enrolment").cast(pl.Float64)
    cols = []
    for ind in rules.indicators:
        num = pl.sum_horizontal([pl.col(f) for f in ind.numerator])
        std = pl.col("level").replace_strict(ind.thresholds, return_dtype=pl.Float64)
        cols += [(num / enrol * ind.per).alias(ind.id), std.alias(f"{ind.id}_std")]
    out = units.with_columns(cols)
    out = out.with_columns(
        [(pl.col(i.id) / pl.col(f"{i.id}_std")).alias(f"{i.id}_ratio") for i in rules.indicators])
    # a tiny tolerance so that a value equal to the standard after division is not lost to rounding
    eps = 1e-9
    out = out.with_columns([(pl.col(f"{i.id}_ratio") >= 1.0 - eps).alias(f"{i.id}_met") for i in rules.indicators])
    ids = [i.id for i in rules.indicators]
    out = out.with_columns(
        n_met=pl.sum_horizontal([pl.col(f"{i}_met").cast(pl.Int8) for i in ids]).cast(pl.Int8),
        min_ratio=pl.min_horizontal([pl.col(f"{i}_ratio") for i in ids]),
    )
    return out.with_columns(
        school_pass=(pl.col("n_met") >= rules.min_met) & (pl.col("min_ratio") >= rules.floor - eps))


def weighted_cv(values: np.ndarray, enrolment: np.ndarray) -> float:
    """Enrolment-weighted 差异系数 of one set of schools (POLICY §1.3, 教督〔2017〕6号):
    X̄ = Σ P_i X_i / P, S = sqrt(Σ (P_i/P)(X_i − X̄)²), CV = S / X̄."""
    x = np.asarray(values, dtype=float)
    p = np.asarray(enrolment, dtype=float)
    if x.shape != p.shape or x.size == 0:
        raise ParameterError("values 与 enrolment 长度须相同且非空 / values and enrolment must be non-empty and equal length")
    if np.any(p < 0) or p.sum() <= 0:
        raise ParameterError("在校生数须非负且合计为正 / enrolment must be ≥ 0 with a positive total")
    w = p / p.sum()
    mean = float(np.sum(w * x))
    s = float(np.sqrt(np.sum(w * (x - mean) ** 2)))
    return s / mean if mean != 0 else float("nan")


def county_cv(units: pl.DataFrame, rules: ResourceRules = DEFAULT_RULES) -> pl.DataFrame:
    """The enrolment-weighted CV of each indicator per county and level, in one grouped pass.

    Long frame: ``county_code, level, indicator, n_schools, mean, sd, cv, limit, cv_ok``
    (``cv_ok`` = cv ≤ limit: 小学 0.50, 初中 0.45).  ``units`` is :func:`school_indicators`'s output.
    """
    ids = [i.id for i in rules.indicators]
    long = units.select("county_code", "level", "enrolment", *ids).unpivot(
        index=["county_code", "level", "enrolment"], on=ids, variable_name="indicator", value_name="x")
    long = long.filter(pl.col("x").is_not_null() & (pl.col("enrolment") > 0))
    p = pl.col("enrolment").cast(pl.Float64)
    keys = ["county_code", "level", "indicator"]
    # two passes (mean, then squared deviations) for accuracy near the limits
    long = long.with_columns(
        _w=p / p.sum().over(keys),
    ).with_columns(mean=(pl.col("_w") * pl.col("x")).sum().over(keys))
    g = long.group_by(keys).agg(
        n_schools=pl.len().cast(pl.Int32),
        mean=pl.col("mean").first(),
        sd=(pl.col("_w") * (pl.col("x") - pl.col("mean")) ** 2).sum().sqrt(),
    )
    g = g.with_columns(
        cv=pl.when(pl.col("mean") > 0).then(pl.col("sd") / pl.col("mean")).otherwise(None),
        limit=pl.col("level").replace_strict(rules.cv_limits, return_dtype=pl.Float64),
    ).with_columns(cv_ok=pl.col("cv") <= pl.col("limit") + 1e-9)  # ≤ the limit, robust to rounding
    return g.sort("county_code", "level", "indicator")


def county_resource_verdict(units: pl.DataFrame, cvs: pl.DataFrame) -> pl.DataFrame:
    """Per county: schools in scope, schools passing, every CV within its limit, and
    ``resource_pass`` = all schools pass and all CVs (both levels) ≤ their limits."""
    s = units.group_by("county_code").agg(
        n_units=pl.len().cast(pl.Int32),
        n_units_pass=pl.col("school_pass").sum().cast(pl.Int32),
        failing_units=pl.col("school_code").filter(~pl.col("school_pass")).sort().str.join(","),
    )
    c = cvs.group_by("county_code").agg(
        n_cv=pl.len().cast(pl.Int32),
        n_cv_ok=pl.col("cv_ok").fill_null(False).sum().cast(pl.Int32),
        max_cv_primary=pl.col("cv").filter(pl.col("level") == "小学").max(),
        max_cv_junior=pl.col("cv").filter(pl.col("level") == "初中").max(),
        failing_cv=(pl.col("level") + ":" + pl.col("indicator")).filter(~pl.col("cv_ok").fill_null(False))
        .sort().str.join(","),
    )
    out = s.join(c, on="county_code", how="full", coalesce=True)
    return out.with_columns(
        schools_pass=pl.col("n_units_pass") == pl.col("n_units"),
        cv_pass=pl.col("n_cv_ok") == pl.col("n_cv"),
    ).with_columns(resource_pass=pl.col("schools_pass") & pl.col("cv_pass")).sort("county_code")
