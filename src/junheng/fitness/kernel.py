"""The scoring kernel: integer arrays in, integer arrays out, no per-record Python.

Everything here works on NumPy arrays of one record batch, so the same function runs on a
whole Polars frame, on an Arrow ``RecordBatch`` streamed from Parquet, or inside Spark's
``mapInArrow`` (see :func:`junheng.fitness.scoring.score_batch`).

Formulas (国家学生体质健康标准（2014年修订）, 评分表 and 计分办法):

* item score = the highest level whose threshold the quantised value reaches (table look-up);
* BMI = 体重(kg) / 身高(m)², 四舍五入 to one decimal, computed exactly in integers:
  ``bmi_tenths = round_half_up(w_tenths_kg · 10⁶ / h_tenths_cm²)``;
* 标准分 = Σ weight% × item score / 100, kept exactly in hundredths of a point and reported
  四舍五入 to one decimal;
* 附加分 = Σ bonus points (rope skipping in primary; pull-ups or girls' sit-ups, and 1000 m or
  800 m in junior), at most 20;
* 学年总分 = 标准分 + 附加分; 等级 from the total at one decimal: 优秀 ≥ 90.0, 良好 ≥ 80.0,
  及格 ≥ 60.0, else 不及格.

A record lacking any item its grade and sex are tested on (BMI counts) is *incomplete*: its
item scores are given, 标准分 / 总分 / 等级 are not — never a silent zero.
"""

from __future__ import annotations

import numpy as np

from junheng.fitness.items import ITEMS
from junheng.fitness.quantize import MISSING
from junheng.fitness.standard import Standard, load_standard

SCORE_MISSING = -2  # item tested but no value
SCORE_NA = -1  # item not tested in this grade and sex

RATING_CODES = {0: "优秀", 1: "良好", 2: "及格", 3: "不及格"}


def bmi_tenths(height_tenths_cm: np.ndarray, weight_tenths_kg: np.ndarray) -> np.ndarray:
    """BMI in integer tenths, 四舍五入 (half up; BMI is positive), exact; MISSING where unknown."""
    h = height_tenths_cm.astype(np.int64)
    w = weight_tenths_kg.astype(np.int64)
    ok = (h > 0) & (w > 0) & (h != MISSING) & (w != MISSING)
    h2 = np.where(ok, h * h, 1)
    # bmi = (w/10) / (h/1000)^2 = w·10^5 / h²  → tenths: w·10^6 / h², half up = (2·w·10^6 + h²) // (2·h²)
    out = (2 * w * 1_000_000 + h2) // (2 * h2)
    return np.where(ok, out, MISSING).astype(np.int32)


def _lookup(lut: np.ndarray, offset: int, rows: np.ndarray, q: np.ndarray) -> np.ndarray:
    width = lut.shape[1]
    idx = q - offset
    np.clip(idx, 0, width - 1, out=idx)
    idx += rows * width
    return lut.ravel().take(idx)


def score_arrays(
    grade: np.ndarray,
    sex: np.ndarray,
    values: dict[str, np.ndarray],
    *,
    standard: Standard | None = None,
) -> dict[str, np.ndarray]:
    """Score one batch.

    ``grade`` 1–9 and ``sex`` 1/2 as integer arrays (validated by the caller); ``values`` maps
    ``height_cm``, ``weight_kg`` and each item field to Int32 arrays of resolution units with
    :data:`~junheng.fitness.quantize.MISSING` for no value (absent keys mean all missing).

    Returns Int arrays: ``bmi`` (tenths), ``bmi_score``, ``bmi_class`` (0–3), ``<item>_score``
    (``-1`` not tested, ``-2`` tested but missing), ``<item>_bonus``, ``standard_hundredths``,
    ``standard_tenths``, ``bonus``, ``total_tenths``, ``rating`` (0 优秀 … 3 不及格) and the
    bool ``complete``. Where ``complete`` is false the totals hold ``-1``.
    """
    std = standard or load_standard()
    n = grade.shape[0]
    rows = ((grade.astype(np.int32) - 1) * 2 + (sex.astype(np.int32) - 1)).astype(np.int64)
    missing = np.full(n, MISSING, dtype=np.int32)
    out: dict[str, np.ndarray] = {}

    weights = std.weights[rows]  # (n, 1 + len(ITEMS)) weight % per record
    bmi = bmi_tenths(values.get("height_cm", missing), values.get("weight_kg", missing))
    has_bmi = bmi != MISSING
    b_idx = np.where(has_bmi, bmi, 0).astype(np.int64)
    bmi_score = np.where(has_bmi, _lookup(std.bmi.score, 0, rows, b_idx), SCORE_MISSING).astype(np.int8)
    out["bmi"] = bmi
    out["bmi_score"] = bmi_score
    out["bmi_class"] = np.where(has_bmi, _lookup(std.bmi.category, 0, rows, b_idx.copy()), -1).astype(np.int8)

    total_ws = weights[:, 0].astype(np.int32) * np.maximum(bmi_score, 0)
    complete = has_bmi.copy()
    bonus = np.zeros(n, dtype=np.int16)
    for j, item in enumerate(ITEMS, start=1):
        table = std.items[item.field]
        q = values.get(item.field)
        if q is None:
            q = missing
        present = q != MISSING
        s = _lookup(table.score, table.offset, rows, np.where(present, q, 0).astype(np.int64))
        tested = s != SCORE_NA
        s = np.where(tested & ~present, SCORE_MISSING, s).astype(np.int8)
        out[item.score_field] = s
        complete &= ~(tested & ~present)
        total_ws += weights[:, j] * np.maximum(s, 0)
        if table.bonus_thresholds:
            b = _lookup(table.bonus, table.offset, rows, np.where(present, q, 0).astype(np.int64))
            b = np.where(present, b, 0).astype(np.int8)
            out[item.bonus_field] = b
            bonus += b
    np.minimum(bonus, 20, out=bonus)
    standard_tenths = (total_ws + 5) // 10  # 四舍五入 of hundredths → tenths (non-negative)
    total = standard_tenths + bonus.astype(np.int32) * 10
    rating = np.select([total >= 900, total >= 800, total >= 600], [0, 1, 2], 3).astype(np.int8)
    out["standard_hundredths"] = np.where(complete, total_ws, -1).astype(np.int32)
    out["standard_tenths"] = np.where(complete, standard_tenths, -1).astype(np.int32)
    out["bonus"] = np.where(complete, bonus, -1).astype(np.int16)
    out["total_tenths"] = np.where(complete, total, -1).astype(np.int32)
    out["rating"] = np.where(complete, rating, -1).astype(np.int8)
    out["complete"] = complete
    return out


__all__ = ["RATING_CODES", "SCORE_MISSING", "SCORE_NA", "bmi_tenths", "score_arrays"]
