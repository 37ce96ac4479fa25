"""相关因素: mean achievement by a questionnaire factor, and the gap between its extreme categories.

For each factor (a Boolean indicator, or an ordered grouping such as a scale cut into 低/中/高 by
:func:`~junheng.questionnaire.scale_groups`) the weighted mean of the plausible values per
category (:func:`junheng.survey.mean` with ``by=[…, factor]``: each PV under the full-sample and
every replicate weight, then Rubin's rules), and the gap highest − lowest category
(:func:`junheng.survey.difference`: the difference is formed replicate by replicate, so the SE
carries the covariance of the two categories — not √(SE₁² + SE₂²) — then Rubin's rules over the
PVs). Pupils with no answer for a factor (null) belong to none of its categories.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from junheng.exceptions import ParameterError
from junheng.survey import difference, mean
from junheng.survey._groups import normalise_by

RESULT = ("factor", "category", "is_gap", "estimate", "se", "df", "n_pupils", "n_schools", "flag")


def factor_categories(column: pl.Series) -> list:
    """A factor's categories from lowest to highest: False < True; an Enum's declared order;
    otherwise the sorted distinct values."""
    if column.dtype == pl.Boolean:
        return [False, True]
    if isinstance(column.dtype, pl.Enum):
        return list(column.dtype.categories)
    return column.drop_nulls().unique().sort().to_list()


def _label(v: object) -> str:
    return str(v).lower() if isinstance(v, bool) else str(v)


def factor_gaps(design, factors: str | Sequence[str], *, pv: str | Sequence[str] | None = "pv*",
                variable: str | None = None, by: str | Sequence[str] | None = ()) -> pl.DataFrame:
    """Mean achievement per category of each factor column of ``design.data``, and the gap.

    ``design`` is a :class:`junheng.survey.ReplicateDesign` (or ``TaylorDesign``) whose data holds
    the factor columns and the achievement (plausible values ``pv``, or one ``variable``).
    Returns one tidy frame: ``factor``, the ``by`` columns, ``category`` (String; ``true``/``false``
    for a Boolean), ``is_gap``, ``estimate``, ``se``, ``df`` (design degrees of freedom), ``n_pupils``, ``n_schools``, ``flag``. Per
    factor (and ``by`` group) the categories come lowest first, then one row with ``is_gap`` true
    and category ``"<highest> − <lowest>"`` holding mean(highest) − mean(lowest). The reporting
    rule of the design (flag, suppression) applies to every row.
    """
    names = [factors] if isinstance(factors, str) else list(factors)
    by_ = normalise_by(by)
    if not names:
        raise ParameterError("至少需要一个因素列 / give at least one factor column")
    if variable is not None:
        pv = None
    data = design.data
    frames = []
    for f in names:
        if f not in data.columns:
            raise ParameterError(f"因素列不存在 / factor column not found: {f!r}")
        if f in by_:
            raise ParameterError(f"因素列不能同时是分组列 / {f!r} is both a factor and a by column")
        cats = factor_categories(data.get_column(f))
        order = {_label(c): k for k, c in enumerate(cats)}
        est = mean(design, variable, pv=pv, by=[*by_, f])
        est = est.with_columns(pl.col(f).cast(pl.String).alias("category"))  # a Boolean → "true"/"false"
        est = est.with_columns(pl.lit(f).alias("factor"), pl.lit(False).alias("is_gap"),
                               pl.col("category").replace_strict(order, default=len(order)).alias("__order"))
        part = [est.drop(f)]
        if len(cats) >= 2:
            hi, lo = cats[-1], cats[0]
            gap = difference(design, variable, group=f, a=hi, b=lo, pv=pv, by=by_ or None)
            gap = gap.with_columns(pl.lit(f).alias("factor"), pl.lit(f"{_label(hi)} − {_label(lo)}").alias("category"),
                                   pl.lit(True).alias("is_gap"), pl.lit(len(order) + 1).alias("__order"))
            part.append(gap)
        frame = pl.concat(part, how="diagonal_relaxed").sort([*by_, "__order"]).drop("__order")
        frames.append(frame.select("factor", *by_, *[c for c in RESULT if c != "factor"]))
    return pl.concat(frames, how="diagonal_relaxed")


__all__ = ["factor_categories", "factor_gaps"]
