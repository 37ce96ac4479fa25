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

from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from junheng.exceptions import ParameterError
from junheng.fitness.items import BMI_CLASSES, BONUS_ITEMS, HEIGHT, ITEMS, RATINGS, VISION_CLASSES, WEIGHT
from junheng.fitness.kernel import score_arrays
from junheng.fitness.quantize import MISSING, Rounding, units_expr
from junheng.fitness.standard import load_standard
from junheng.fitness.vision import vision_class

if TYPE_CHECKING:
    import pyarrow as pa

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


def score_fitness(df: pl.DataFrame, *, rounding: Rounding = "half_up", battery=None,
                  units: dict[str, np.ndarray] | None = None) -> pl.DataFrame:
    """Score every record of ``df`` (see the module docstring); returns ``df`` plus score columns.

    ``battery`` (:class:`junheng.fitness.battery.Battery`): items not tested this cycle; 标准分
    is then scored over the remaining items by the declared rule (weights rescaled to 100).

    ``units``: the measures already quantised (field → Int32 resolution units, ``MISSING`` for
    no value), as :func:`~junheng.fitness.read_fitness_file` keeps them (``FitnessUpload.units``);
    those columns of ``df`` are then not parsed again.

    Exempt records (``exempt`` true: 免予执行 / 暂缓执行) keep their raw values but get no
    scores and are never complete, so they stay out of every rate.
    """
    for col in ("grade", "sex"):
        if col not in df.columns:
            raise ParameterError(f"缺少列 {col!r} / score_fitness: the frame needs a {col!r} column")
    grade = df["grade"].cast(pl.Int32, strict=False)
    sex = df["sex"].cast(pl.Int32, strict=False)
    bad = grade.is_null() | ~grade.is_between(1, 9) | sex.is_null() | ~sex.is_in([1, 2])
    if bad.any():
        i = int(bad.arg_max())
        raise ParameterError(
            f"score_fitness: grade must be 1–9 and sex 1 or 2 on every record; record {i} has "
            f"grade={df['grade'][i]!r}, sex={df['sex'][i]!r} (validate files with read_fitness_file first)"
        )
    fields = [(HEIGHT.field, HEIGHT.scale, False), (WEIGHT.field, WEIGHT.scale, False),
              *((i.field, i.scale, i.time_format) for i in ITEMS), ("vision_left", 10, False), ("vision_right", 10, False)]
    given = units or {}
    present = [f for f in fields if f[0] in df.columns and f[0] not in given]
    parsed = df.select(
        units_expr(f, df.schema[f], scale, time=time, mode=rounding).fill_null(MISSING).alias(f)
        for f, scale, time in present
    )
    values = {**{f: parsed[f].to_numpy() for f, _, _ in present}, **given}
    g_np, s_np = grade.to_numpy(), sex.to_numpy()
    r = score_arrays(g_np, s_np, {k: v for k, v in values.items() if not k.startswith("vision")})
    missing = np.full(df.height, MISSING, dtype=np.int32)
    exempt = (df["exempt"].cast(pl.Boolean).fill_null(False).to_numpy() if "exempt" in df.columns
              else np.zeros(df.height, dtype=bool))
    rows = (g_np.astype(np.intp) - 1) * 2 + (s_np.astype(np.intp) - 1)
    std = load_standard()
    left = vision_class(values.get("vision_left", missing))
    right = vision_class(values.get("vision_right", missing))
    complete = r["complete"] & ~exempt
    raw = pl.DataFrame({
        "bmi": r["bmi"], "bmi_f": r["bmi"] / 10.0, "bmi_score": r["bmi_score"], "bmi_class": np.where(exempt, -1, r["bmi_class"]),
        **{i.score_field: r[i.score_field] for i in ITEMS},
        **{f"{f}_bonus": r[f"{f}_bonus"] for f in BONUS_ITEMS},
        **{f"__earns_{f}": std.items[f].bonus_rows[rows] & (values.get(f, missing) != MISSING) for f in BONUS_ITEMS},
        "standard_score": r["standard_tenths"] / 10.0, "bonus_score": r["bonus"], "total_score": r["total_tenths"] / 10.0,
        "rating": np.where(complete, r["rating"], -1), "complete": complete, "exempt": exempt,
        "vision_left_class": left, "vision_right_class": right, "vision_class": np.maximum(left, right),
    })
    keep = ~pl.col("exempt")
    ok = pl.col("complete")

    def enum(name: str, labels: tuple[str, ...], dtype: pl.Enum) -> pl.Expr:
        code = pl.col(name)
        return pl.lit(pl.Series(labels, dtype=dtype)).gather(pl.when(code >= 0).then(code).cast(pl.UInt32)).alias(name)

    exprs = [
        pl.when(keep & (pl.col("bmi") != MISSING)).then(pl.col("bmi_f")).alias("bmi"),
        pl.when(keep & (pl.col("bmi_score") >= 0)).then(pl.col("bmi_score")).alias("bmi_score"),
        enum("bmi_class", BMI_CLASSES, BMI_CLASS_DTYPE),
        *(pl.when(keep & (pl.col(i.score_field) >= 0)).then(pl.col(i.score_field)).alias(i.score_field) for i in ITEMS),
        *(pl.when(keep & pl.col(f"__earns_{f}")).then(pl.col(f"{f}_bonus")).alias(f"{f}_bonus") for f in BONUS_ITEMS),
        pl.when(ok).then(pl.col("standard_score")).alias("standard_score"),
        pl.when(ok).then(pl.col("bonus_score").cast(pl.Int8)).alias("bonus_score"),
        pl.when(ok).then(pl.col("total_score")).alias("total_score"),
        enum("rating", RATINGS, RATING_DTYPE),
        pl.col("complete"), pl.col("exempt"),
        enum("vision_left_class", VISION_CLASSES, VISION_DTYPE),
        enum("vision_right_class", VISION_CLASSES, VISION_DTYPE),
        enum("vision_class", VISION_CLASSES, VISION_DTYPE),
    ]
    cols = raw.select(exprs)
    out = pl.DataFrame([s for s in df.get_columns() if s.name not in SCORE_COLUMNS] + cols.get_columns())
    if battery is not None and battery.dropped:
        from junheng.fitness.battery import rescore

        out = rescore(out, battery)
    return out


def score_batch(batch: pa.RecordBatch, *, rounding: Rounding = "half_up") -> pa.RecordBatch:
    """:func:`score_fitness` on one Arrow record batch (for Spark ``mapInArrow`` and streaming)."""
    import pyarrow as pa  # here, not at the top: scoring a file never needs it

    scored = score_fitness(pl.from_arrow(batch), rounding=rounding)  # type: ignore[arg-type]
    return scored.to_arrow().to_batches()[0] if scored.height else pa.RecordBatch.from_pylist([])


__all__ = ["SCORE_COLUMNS", "score_batch", "score_fitness"]
