"""The figures behind the seven 优质均衡 resource indicators, drawn around the thresholds.

Thresholds: 《县域义务教育优质均衡发展督导评估办法》(教督〔2017〕6号) 第九条 (POLICY.md §1.2).
A school's requirement is the enrolment-weighted blend of the 小学 and 初中 thresholds over its
grades 1–6 and 7–9 (a 九年一贯制 school needs what its two parts would need separately).

For school *i* in county *k* and indicator *j* the per-pupil value is
``threshold_ij × exp(μ_j + δ_loc,j + c_kj + s_i + e_ij)`` with a county spread σ_k ~ U(0.12, 0.62)
(so the enrolment-weighted CVs pass the 0.50/0.45 limits in some counties and fail in others),
a school effect s_i ~ N(0, (0.5 σ_k)²) shared by the seven indicators, an idiosyncratic
e_ij ~ N(0, (0.8 σ_k)²), county shifts c_kj ~ N(0, 0.08²) and location shifts δ (rural schools
short of 骨干/体艺 teachers and equipment but with more space per pupil; urban schools crowded).
Counts (teachers, rooms) are rounded stochastically, so small schools are often a teacher short.
With μ tuned as below about two thirds of the schools in scope meet all seven thresholds.
"""

from __future__ import annotations

import numpy as np
import polars as pl

# field, 小学 threshold, 初中 threshold, per 100 pupils?, rounding ("count" | "area" | "yuan")
INDICATORS: tuple[tuple[str, float, float, bool, str], ...] = (
    ("teachers_above_qualification", 4.2, 5.3, True, "count"),
    ("key_teachers", 1.0, 1.0, True, "count"),
    ("pe_arts_teachers", 0.9, 0.9, True, "count"),
    ("teaching_area_m2", 4.5, 5.8, False, "area"),
    ("sports_area_m2", 7.5, 10.2, False, "area"),
    ("equipment_value_yuan", 2000.0, 2500.0, False, "yuan"),
    ("multimedia_classrooms", 2.3, 2.4, True, "count"),
)
_MU = np.array([0.60, 0.68, 0.68, 0.55, 0.50, 0.60, 0.60])
# location shifts (城区, 镇区, 乡村) per indicator
_DELTA = np.array([
    [0.05, 0.0, -0.05],
    [0.10, 0.0, -0.22],
    [0.05, 0.0, -0.18],
    [-0.10, 0.0, 0.20],
    [-0.22, -0.05, 0.25],
    [0.10, 0.0, -0.15],
    [0.10, 0.0, -0.10],
])


def add_resources(schools: pl.DataFrame, rng: np.random.Generator, exemplary=()) -> pl.DataFrame:
    """Add the seven resource fields to ``schools`` (needs county_code, location, enrol_g1..9).
    ``exemplary`` counties (``truth.exemplary_counties``) get a spread σ_k = 0.08 and every school
    0.45 above the others in log terms, so that all their schools meet the thresholds."""
    n = schools.height
    primary = schools.select(pl.sum_horizontal([pl.col(f"enrol_g{g}") for g in range(1, 7)])).to_series().to_numpy()
    junior = schools.select(pl.sum_horizontal([pl.col(f"enrol_g{g}") for g in range(7, 10)])).to_series().to_numpy()
    total = (primary + junior).astype(float)
    county_idx = schools["county_code"].rank("dense").cast(pl.Int64).to_numpy() - 1
    n_counties = int(county_idx.max()) + 1
    sigma_k = rng.uniform(0.12, 0.62, n_counties)
    shift_kj = rng.normal(0.0, 0.08, (n_counties, len(INDICATORS)))
    loc_idx = schools["location"].replace_strict({"城区": 0, "镇区": 1, "乡村": 2}).cast(pl.Int64).to_numpy()
    ex = schools["county_code"].cast(pl.String).is_in([str(c) for c in exemplary]).to_numpy()
    sigma = np.where(ex, 0.08, sigma_k[county_idx])
    lift = np.where(ex, 0.45, 0.0)
    school_effect = rng.normal(0.0, 1.0, n) * 0.5 * sigma + lift
    cols = []
    for j, (field, t_pri, t_jun, per100, kind) in enumerate(INDICATORS):
        threshold = np.where(total > 0, (primary * t_pri + junior * t_jun) / np.maximum(total, 1), t_pri)
        log_m = _MU[j] + _DELTA[j][loc_idx] + shift_kj[county_idx, j] + school_effect
        log_m += rng.normal(0.0, 1.0, n) * 0.8 * sigma
        amount = threshold * np.exp(log_m) * total / (100.0 if per100 else 1.0)
        if kind == "count":
            value = np.floor(amount + rng.random(n)).astype(np.int64)
            cols.append(pl.Series(field, value, dtype=pl.Int32))
        elif kind == "area":
            cols.append(pl.Series(field, np.round(amount, 1), dtype=pl.Float64))
        else:
            cols.append(pl.Series(field, np.round(amount / 100.0) * 100, dtype=pl.Float64).cast(pl.Int64))
    return schools.with_columns(cols)
