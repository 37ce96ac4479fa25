"""Synthetic fitness results for the pupils of the synthetic province (demo and tests).

Values are drawn so that the scored results roughly reproduce the published national figures
(POLICY.md §2.3, 国家义务教育质量监测 2015–2018, grades 4/8): item 达标率 in the low-to-mid 90s,
obesity around 8–10 % (more among boys), poor vision around 35–40 % at primary level with the
moderate and severe shares reported for grade 4.

Method: every pupil gets a general fitness factor; each item's percentile is a mix of that
factor and item noise, mapped through anchor points placed on the pupil's own grade-and-sex
thresholds (percentile 3 % → 10-point mark, 7 % → 60, 45 % → 80, 75 % → 90, 93 % → 100). BMI is
drawn the same way over the BMI bands. All vectorised; ``random_state`` makes it reproducible.
"""

from __future__ import annotations

import numpy as np
import polars as pl
from scipy.special import ndtr

from junheng.fitness.items import ITEMS, tested_items
from junheng.fitness.standard import load_standard

_P = np.array([0.0, 0.03, 0.07, 0.45, 0.75, 0.93, 1.0])
_GRADE_CODE = {1: 11, 2: 12, 3: 13, 4: 14, 5: 15, 6: 16, 7: 21, 8: 22, 9: 23}


def _anchors(levels: dict[int, int], higher: bool) -> np.ndarray:
    t10 = levels.get(10, levels.get(20, levels.get(30)))
    t60, t80, t90, t100 = levels[60], levels[80], levels[90], levels[100]
    worse = t10 - (t60 - t10) / 5 if higher else t10 + (t10 - t60) / 5
    best = t100 + 1.5 * (t100 - t90)
    return np.array([worse, t10, t60, t80, t90, t100, best], dtype=float)


def fitness_results(pupils: pl.DataFrame, random_state: int, *, exempt_rate: float = 0.01,
                    missing_rate: float = 0.004, effect: np.ndarray | None = None) -> pl.DataFrame:
    """One synthetic fitness record per pupil (canonical fields, ready for ``national_upload``).

    ``effect``: per pupil, a shift of the general fitness factor (county + school effects,
    :func:`junheng.synth.truth.fitness_effect`); the factor then has SD 1 within school.

    ``pupils`` needs ``student_id``, ``sex`` (1/2) and ``grade`` (1–9); ``name``, ``birth_date``,
    ``ethnicity``, ``school_code``, ``class_code``, ``class_name`` are carried over when present.
    """
    rng = np.random.default_rng(random_state)
    n = pupils.height
    grade = pupils["grade"].cast(pl.Int32).to_numpy()
    sex = pupils["sex"].cast(pl.Int32).to_numpy()
    rows = (grade - 1) * 2 + (sex - 1)
    std = load_standard()
    general = rng.standard_normal(n)
    if effect is not None:
        general = general + np.asarray(effect, dtype=float)
    out: dict[str, np.ndarray | pl.Series] = {}

    # body: height ~ N(mean by grade/sex, 6.5 cm); BMI percentile through the bands
    mean_h = 108.0 + 6.2 * grade + np.where((sex == 1) | (grade < 6), 0.0, 1.5)
    height = np.round(rng.normal(mean_h, 6.5), 1)
    u = ndtr(0.3 * general + 0.95 * rng.standard_normal(n))
    bmi = np.empty(n)
    obese_share = np.where(sex == 1, 0.885, 0.93)  # percentile where obesity starts: ~11.5 % boys, ~7 % girls
    for r in range(18):
        sel = rows == r
        if not sel.any():
            continue
        b = std.bmi.bands[(r // 2 + 1, r % 2 + 1)]
        p_ob = obese_share[sel][0]
        xs = np.array([0.0, 0.05, 0.79 - (0.93 - p_ob), p_ob, 1.0])
        ys = np.array([b["underweight_max"] - 15, b["underweight_max"], b["normal_max"], b["overweight_max"],
                       b["obese_min"] + 60]) / 10.0
        bmi[sel] = np.interp(u[sel], xs, ys)
    weight = np.round(bmi * (height / 100) ** 2, 1)
    out["height_cm"], out["weight_kg"] = height, weight

    for item in ITEMS:
        table = std.items[item.field]
        vals = np.full(n, np.nan)
        u = ndtr(0.6 * general + 0.8 * rng.standard_normal(n))
        for r in range(18):
            g, s = r // 2 + 1, r % 2 + 1
            sel = rows == r
            if not sel.any() or item.field not in tested_items(g, s):
                continue
            levels = dict(table.thresholds[(g, s)])
            higher = item.direction == "higher_better"
            v = np.interp(u[sel], _P, _anchors(levels, higher))
            vals[sel] = np.clip(v, item.lo * item.scale, item.hi * item.scale)
        q = np.round(vals)  # in resolution units
        if item.scale == 1:
            out[item.field] = pl.Series(item.field, q, nan_to_null=True).cast(pl.Int32)
        else:
            out[item.field] = pl.Series(item.field, np.round(q / item.scale, 1), nan_to_null=True)
    return _finish(pupils, out, rng, n, grade, exempt_rate, missing_rate)


def _finish(pupils, out, rng, n, grade, exempt_rate, missing_rate) -> pl.DataFrame:
    # vision: pupil class (worse eye) with grade-dependent prevalence of poor vision
    poor = np.clip(0.12 + 0.045 * grade, 0.1, 0.8)  # grade 4 ≈ 30 %, grade 6 ≈ 39 %, grade 8 ≈ 48 %
    u = rng.random(n)
    cls = np.where(u < 1 - poor, 0, np.where(u < 1 - poor * 0.75, 1, np.where(u < 1 - poor * 0.3, 2, 3)))
    base = np.select([cls == 0, cls == 1, cls == 2], [rng.choice([50, 50, 51, 51, 52, 53], n), np.full(n, 49),
                                                      rng.integers(46, 49, n)], rng.integers(38, 46, n))
    other = np.where(rng.random(n) < 0.6, base, np.minimum(base + rng.integers(0, 3, n), 53))
    left_is_worse = rng.random(n) < 0.5
    out["vision_left"] = np.where(left_is_worse, base, other) / 10.0
    out["vision_right"] = np.where(left_is_worse, other, base) / 10.0

    exempt = rng.random(n) < exempt_rate
    df = pl.DataFrame({k: v for k, v in out.items()})
    measure_cols = [c for c in df.columns if not c.startswith("vision")]
    df = df.with_columns(
        [pl.when(pl.Series(exempt)).then(None).otherwise(pl.col(c)).alias(c) for c in measure_cols])
    # a few records lose one item (absent on test day): incomplete, never zero
    drop = (rng.random(n) < missing_rate) & ~exempt
    pick = rng.integers(0, len(ITEMS), n)
    df = df.with_columns([
        pl.when(pl.Series(drop & (pick == j))).then(None).otherwise(pl.col(item.field)).alias(item.field)
        for j, item in enumerate(ITEMS)])
    carry = [c for c in ("student_id", "name", "sex", "birth_date", "ethnicity", "school_code", "class_code",
                         "class_name", "grade") if c in pupils.columns]
    person = pupils.select(carry).with_columns(
        pl.col("grade").cast(pl.Int8),
        pl.col("grade").cast(pl.Int32).replace_strict(_GRADE_CODE).cast(pl.Int16).alias("grade_code"),
        pl.col("sex").cast(pl.Int8),
    )
    if "birth_date" in person.columns:
        person = person.with_columns(pl.col("birth_date").cast(pl.String))
    return pl.concat([person, df, pl.DataFrame({"exempt": exempt})], how="horizontal")


__all__ = ["fitness_results"]
