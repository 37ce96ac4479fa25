"""``province()``: the whole synthetic province as three Polars frames."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from junheng.exceptions import ParameterError
from junheng.registry.schemas import PUPILS, SCHOOLS
from junheng.synth.pupils import build_pupils
from junheng.synth.regions import county_regions
from junheng.synth.resources import add_resources
from junheng.synth.schools import build_schools

MIN_SCALE, MAX_SCALE = 0.001, 2.0


@dataclass(frozen=True)
class Province:
    """A synthetic province. ``schools`` and ``pupils`` carry exactly the canonical fields of
    :data:`junheng.registry.schemas.SCHOOLS` and ``PUPILS`` (in that order); ``regions`` has one
    row per county-level unit (``county_code, county_name, city_code, city_name, kind,
    cohort`` — the drawn target size of the grade-6 cohort). ``special_schools`` lists the
    学校标识码 of the special-education schools (also recognisable by 类别码 51)."""

    schools: pl.DataFrame
    pupils: pl.DataFrame
    regions: pl.DataFrame
    scale: float
    random_state: int

    @property
    def special_schools(self) -> pl.Series:
        return self.schools.filter(pl.col("school_code").str.starts_with("51"))["school_code"]


def province(scale: float = 1.0, random_state: int = 2022) -> Province:
    """Draw a synthetic Henan: every county, its schools (stage, location, enrolment and classes
    by grade, resource figures) and the grade-6 roster of every school with a grade 6.

    ``scale`` multiplies pupils and schools (1 = a grade-6 cohort of about 1.5 million);
    the same ``random_state`` gives the same province. Nothing here describes a real pupil or school.
    """
    if not isinstance(scale, (int, float)) or not MIN_SCALE <= scale <= MAX_SCALE:
        raise ParameterError(f"规模须在 {MIN_SCALE}–{MAX_SCALE} 之间 / scale must be in [{MIN_SCALE}, {MAX_SCALE}]; "
                             f"got {scale!r}")
    if not isinstance(random_state, (int, np.integer)) or random_state < 0:
        raise ParameterError(f"随机种子须为非负整数 / random_state must be a non-negative integer; got {random_state!r}")
    rng = np.random.default_rng(random_state)
    regions = county_regions(float(scale), rng)
    schools = build_schools(regions, float(scale), rng)
    from junheng.synth.truth import exemplary_counties

    schools = add_resources(schools, rng, exemplary_counties(regions["county_code"], random_state))
    pupils = build_pupils(schools, regions, rng)
    schools = schools.select(c.field for c in SCHOOLS.columns)
    pupils = pupils.select(c.field for c in PUPILS.columns)
    return Province(schools=schools, pupils=pupils, regions=regions, scale=float(scale), random_state=int(random_state))
