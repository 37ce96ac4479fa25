"""Score fitness records by 国家学生体质健康标准（2014年修订）: frames in, frames out.

:func:`score_fitness` takes the canonical frame (English fields: ``grade`` 1–9, ``sex`` 1/2,
``height_cm``, ``weight_kg``, the item fields of :data:`junheng.fitness.items.ITEMS`,
optionally ``vision_left`` / ``vision_right`` and ``exempt``) and returns it with the score
columns of the contract (docs/dev/contracts.md): ``bmi``, ``bmi_score``, ``bmi_class``,
``<item>_score``, ``<item>_bonus``, ``standard_score``, ``bonus_score``, ``total_score``,
``rating``, ``complete``, ``exempt``, ``vision_left_class``, ``vision_right_class``,
``vision_class``. Item values may be text (parsed exactly), integers or floats.

:func:`score_batch` is the same on an Arrow ``RecordBatch`` — the form a distributed engine
(Spark ``mapInArrow``) calls.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pyarrow as pa

from junheng.exceptions import ParameterError
from junheng.fitness.items import BMI_CLASSES, BONUS_ITEMS, HEIGHT, ITEMS, RATINGS, VISION_CLASSES, WEIGHT
from junheng.fitness.kernel import score_arrays
from junheng.fitness.quantize import MISSING, Rounding, to_units
from junheng.fitness.standard import load_standard
from junheng.fitness.vision import vision_class

SCORE_COLUMNS: tuple[str, ...] = (
    "bmi", "bmi_score", "bmi_class",
    *(i.score_field for i in ITEMS),
    *(f"{f}_bonus" for f in BONUS_ITEMS),
    "standard_score", "bonus_score", "total_score", "rating", "complete", "exempt",
    "vision_left_class", "vision_right_class", "vision_class",
)
RATING_DTYPE = pl.Enum(list(RATINGS))
BMI_CLASS_DTYPE = pl.Enum(list(BMI_CLASSES))
VISION_DTYPE = pl.Enum(list(VISION_CLASSES))


def _units(df: pl.DataFrame, field: str, scale: int, time: bool, rounding: Rounding) -> np.ndarray:
    if field not in df.columns:
        return np.full(df.height, MISSING, dtype=np.int32)
    return to_units(df[field], scale, time=time, mode=rounding).fill_null(MISSING).to_numpy().astype(np.int32)


def _codes_to_enum(name: str, codes: np.ndarray, labels: tuple[str, ...], dtype: pl.Enum) -> pl.Series:
    s = pl.Series(name, codes.astype(np.int8))
    return s.replace_strict(list(range(len(labels))), list(labels), default=None, return_dtype=dtype)


def score_fitness(df: pl.DataFrame, *, rounding: Rounding = "half_up") -> pl.DataFrame:
    """Score every record of ``df`` (see the module docstring); returns ``df`` plus score columns.

    Exempt records (``exempt`` true: 免予执行 / 暂缓执行) keep their raw values but get no
    scores and are never complete, so they stay out of every rate.
    """
    for col in ("grade", "sex"):
        if col not in df.columns:
            raise ParameterError(f"score_fitness: the frame needs a {col!r} column")
    grade = df["grade"].cast(pl.Int32, strict=False)
    sex = df["sex"].cast(pl.Int32, strict=False)
    bad = grade.is_null() | ~grade.is_between(1, 9) | sex.is_null() | ~sex.is_in([1, 2])
    if bad.any():
        i = int(bad.arg_max())
        raise ParameterError(
            f"score_fitness: grade must be 1–9 and sex 1 or 2 on every record; record {i} has "
            f"grade={df['grade'][i]!r}, sex={df['sex'][i]!r} (validate files with read_fitness_file first)"
        )
    values = {
        HEIGHT.field: _units(df, HEIGHT.field, HEIGHT.scale, False, rounding),
        WEIGHT.field: _units(df, WEIGHT.field, WEIGHT.scale, False, rounding),
    }
    for item in ITEMS:
        values[item.field] = _units(df, item.field, item.scale, item.time_format, rounding)
    r = score_arrays(grade.to_numpy(), sex.to_numpy(), values)

    exempt = (df["exempt"].cast(pl.Boolean).fill_null(False).to_numpy() if "exempt" in df.columns
              else np.zeros(df.height, dtype=bool))
    keep = ~exempt
    cols: list[pl.Series] = []

    def masked(name: str, arr: np.ndarray, valid: np.ndarray, dtype: pl.DataType) -> pl.Series:
        s = pl.Series(name, arr).cast(dtype)
        return s.set(pl.Series(~(valid & keep)), None) if df.height else s

    bmi = r["bmi"]
    cols.append(masked("bmi", bmi / 10.0, bmi != MISSING, pl.Float64))
    cols.append(masked("bmi_score", r["bmi_score"], r["bmi_score"] >= 0, pl.Int8))
    cols.append(_codes_to_enum("bmi_class", np.where(keep, r["bmi_class"], -1), BMI_CLASSES, BMI_CLASS_DTYPE))
    for item in ITEMS:
        s = r[item.score_field]
        cols.append(masked(item.score_field, s, s >= 0, pl.Int8))
    rows = (grade.to_numpy() - 1) * 2 + (sex.to_numpy() - 1)
    std = load_standard()
    for field in BONUS_ITEMS:
        earns = std.items[field].bonus_rows[rows]
        cols.append(masked(f"{field}_bonus", r[f"{field}_bonus"], (values[field] != MISSING) & earns, pl.Int8))
    complete = r["complete"] & keep
    cols.append(masked("standard_score", r["standard_tenths"] / 10.0, complete, pl.Float64))
    cols.append(masked("bonus_score", r["bonus"], complete, pl.Int8))
    cols.append(masked("total_score", r["total_tenths"] / 10.0, complete, pl.Float64))
    cols.append(_codes_to_enum("rating", np.where(complete, r["rating"], -1), RATINGS, RATING_DTYPE))
    cols.append(pl.Series("complete", complete))
    cols.append(pl.Series("exempt", exempt))
    left = vision_class(_units(df, "vision_left", 10, False, rounding))
    right = vision_class(_units(df, "vision_right", 10, False, rounding))
    cols.append(_codes_to_enum("vision_left_class", left, VISION_CLASSES, VISION_DTYPE))
    cols.append(_codes_to_enum("vision_right_class", right, VISION_CLASSES, VISION_DTYPE))
    cols.append(_codes_to_enum("vision_class", np.maximum(left, right), VISION_CLASSES, VISION_DTYPE))
    return df.drop([c for c in SCORE_COLUMNS if c in df.columns]).with_columns(cols)


def score_batch(batch: pa.RecordBatch, *, rounding: Rounding = "half_up") -> pa.RecordBatch:
    """:func:`score_fitness` on one Arrow record batch (for Spark ``mapInArrow`` and streaming)."""
    scored = score_fitness(pl.from_arrow(batch), rounding=rounding)  # type: ignore[arg-type]
    return scored.to_arrow().to_batches()[0] if scored.height else pa.RecordBatch.from_pylist([])


__all__ = ["SCORE_COLUMNS", "score_batch", "score_fitness"]
