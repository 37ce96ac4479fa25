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

How it is fast: per item one ``clip`` + index arithmetic + two ``take``s from tables compiled
once: the score table (int8) and a *packed* table (int32) holding, for each value,
``weight × score`` in bits 0–15, the bonus points in bits 16–23 and a "tested but missing"
count from bit 24. Adding the packed values of all items gives the weighted sum, the bonus
and the number of missing items in one accumulator. Column 0 of every table stands for "no
value" (the sentinel and anything below the table's range clip there). The batch is worked
in cache-sized chunks on a small thread pool (NumPy releases the GIL in these operations).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from junheng.fitness.items import BONUS_ITEMS, ITEMS
from junheng.fitness.quantize import MISSING
from junheng.fitness.standard import N_ROWS, NA, Standard, load_standard

SCORE_MISSING = -2  # item tested but no value
SCORE_NA = -1  # item not tested in this grade and sex

RATING_CODES = {0: "优秀", 1: "良好", 2: "及格", 3: "不及格"}
CHUNK = 1 << 16
_MISS = 1 << 24
_BONUS_SHIFT = 16


@dataclass(frozen=True)
class _Compiled:
    lo1: int  # q of column 1 minus 1 (column 0 = no value)
    hi: int
    width: int  # columns per row, including column 0
    score: np.ndarray  # int8 (18 * width,)
    packed: np.ndarray  # int32 (18 * width,)
    bonus: np.ndarray | None  # int8 (18 * width,) for bonus items


_COMPILED: dict[int, tuple] = {}


def _compiled(std: Standard) -> tuple[dict[str, _Compiled], _Compiled, np.ndarray]:
    key = id(std)
    if key not in _COMPILED:
        _COMPILED[key] = (std, _compile(std))
    return _COMPILED[key][1]


def _compile(std: Standard) -> tuple[dict[str, _Compiled], _Compiled, np.ndarray]:
    items: dict[str, _Compiled] = {}
    for j, item in enumerate(ITEMS, start=1):
        t = std.items[item.field]
        w = std.weights[:, j].astype(np.int32)[:, None]
        tested = (t.score != NA).any(axis=1)[:, None]
        score = np.concatenate([np.where(tested, SCORE_MISSING, SCORE_NA), t.score], axis=1).astype(np.int8)
        packed_vals = np.where(t.score >= 0, w * t.score.astype(np.int32) + (t.bonus.astype(np.int32) << _BONUS_SHIFT),
                               0)
        packed = np.concatenate([np.where(tested, _MISS, 0), packed_vals], axis=1).astype(np.int32)
        bonus = (np.concatenate([np.zeros((N_ROWS, 1), np.int8), t.bonus], axis=1).ravel()
                 if item.field in BONUS_ITEMS else None)
        items[item.field] = _Compiled(t.offset - 1, t.offset + t.width - 1, t.width + 1, score.ravel(),
                                      packed.ravel(), bonus)
    b = std.bmi
    w = std.weights[:, 0].astype(np.int32)[:, None]
    # BMI column 0 (BMI 0.0, impossible) doubles as "no value"
    score = b.score.copy()
    score[:, 0] = SCORE_MISSING
    packed = (w * b.score.astype(np.int32)).astype(np.int32)
    packed[:, 0] = _MISS
    bmi = _Compiled(-1, b.score.shape[1] - 1, b.score.shape[1], score.ravel(), packed.ravel(), None)
    cat = b.category.copy()
    cat[:, 0] = -1
    return items, bmi, cat.ravel()


def bmi_tenths(height_tenths_cm: np.ndarray, weight_tenths_kg: np.ndarray) -> np.ndarray:
    """BMI in integer tenths, 四舍五入 (half up; BMI is positive), exact; MISSING where unknown."""
    h = np.asarray(height_tenths_cm).astype(np.int64)
    w = np.asarray(weight_tenths_kg).astype(np.int64)
    ok = (h > 0) & (w > 0)
    h2 = h * h
    h2[~ok] = 1
    # bmi = (w/10) / (h/1000)^2 = w·10^5 / h²  → tenths: w·10^6 / h², half up = (2·w·10^6 + h²) // (2·h²)
    out = (2_000_000 * w + h2) // (2 * h2)
    out[~ok] = MISSING
    return out.astype(np.int32)


def _score_chunk(sl: slice, grade, sex, values, n_missing_default, out, comp, bmi_c, bmi_cat) -> None:
    rows = (grade[sl].astype(np.intp) - 1) * 2 + (sex[sl].astype(np.intp) - 1)
    n = rows.shape[0]
    h = values.get("height_cm")
    w = values.get("weight_kg")
    bmi = bmi_tenths(h[sl], w[sl]) if h is not None and w is not None else np.full(n, MISSING, np.int32)
    out["bmi"][sl] = bmi
    idx = np.clip(bmi, 0, bmi_c.hi).astype(np.intp)
    idx += rows * bmi_c.width
    out["bmi_score"][sl] = bmi_c.score.take(idx)
    out["bmi_class"][sl] = bmi_cat.take(idx)
    acc = bmi_c.packed.take(idx)
    for item in ITEMS:
        c = comp[item.field]
        q = values.get(item.field)
        if q is None:
            idx = rows * c.width
        else:
            idx = np.clip(q[sl], c.lo1, c.hi).astype(np.intp)
            idx -= c.lo1
            idx += rows * c.width
        out[item.score_field][sl] = c.score.take(idx)
        acc += c.packed.take(idx)
        if c.bonus is not None:
            out[item.bonus_field][sl] = c.bonus.take(idx)
    ws = acc & 0xFFFF
    bonus = np.minimum((acc >> _BONUS_SHIFT) & 0xFF, 20)
    complete = (acc >> 24) == 0
    std_tenths = (ws + 5) // 10  # 四舍五入 of hundredths → tenths (non-negative)
    total = std_tenths + bonus * 10
    rating = np.full(n, 3, np.int8)
    rating[total >= 600] = 2
    rating[total >= 800] = 1
    rating[total >= 900] = 0
    inc = ~complete
    for name, arr in (("standard_hundredths", ws), ("standard_tenths", std_tenths), ("bonus", bonus),
                      ("total_tenths", total), ("rating", rating)):
        arr[inc] = -1
        out[name][sl] = arr
    out["complete"][sl] = complete


def score_arrays(
    grade: np.ndarray,
    sex: np.ndarray,
    values: dict[str, np.ndarray],
    *,
    standard: Standard | None = None,
    threads: int | None = None,
) -> dict[str, np.ndarray]:
    """Score one batch.

    ``grade`` 1–9 and ``sex`` 1/2 as integer arrays (validated by the caller); ``values`` maps
    ``height_cm``, ``weight_kg`` and each item field to Int32 arrays of resolution units with
    :data:`~junheng.fitness.quantize.MISSING` for no value (absent keys mean all missing).
    Values below an item's table range count as no value (the importer rejects them anyway).

    Returns arrays: ``bmi`` (Int32 tenths), ``bmi_score``, ``bmi_class`` (0–3), ``<item>_score``
    (``-1`` not tested, ``-2`` tested but missing), ``<item>_bonus``, ``standard_hundredths``,
    ``standard_tenths``, ``bonus``, ``total_tenths``, ``rating`` (0 优秀 … 3 不及格) and the
    bool ``complete``. Where ``complete`` is false the totals hold ``-1``.
    """
    comp, bmi_c, bmi_cat = _compiled(standard or load_standard())
    grade = np.asarray(grade)
    sex = np.asarray(sex)
    n = grade.shape[0]
    values = {k: np.asarray(v, dtype=np.int32) for k, v in values.items()}
    out: dict[str, np.ndarray] = {
        "bmi": np.empty(n, np.int32), "bmi_score": np.empty(n, np.int8), "bmi_class": np.empty(n, np.int8),
        **{i.score_field: np.empty(n, np.int8) for i in ITEMS},
        **{f"{f}_bonus": np.empty(n, np.int8) for f in BONUS_ITEMS},
        "standard_hundredths": np.empty(n, np.int32), "standard_tenths": np.empty(n, np.int32),
        "bonus": np.empty(n, np.int32), "total_tenths": np.empty(n, np.int32), "rating": np.empty(n, np.int8),
        "complete": np.empty(n, bool),
    }
    slices = [slice(i, min(i + CHUNK, n)) for i in range(0, n, CHUNK)]
    threads = threads or min(4, os.cpu_count() or 1)
    if threads > 1 and len(slices) > 2:
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(lambda s: _score_chunk(s, grade, sex, values, None, out, comp, bmi_c, bmi_cat), slices))
    else:
        for s in slices:
            _score_chunk(s, grade, sex, values, None, out, comp, bmi_c, bmi_cat)
    return out


__all__ = ["CHUNK", "RATING_CODES", "SCORE_MISSING", "SCORE_NA", "bmi_tenths", "score_arrays"]
