"""A reduced test battery: items a province did not test, and how 标准分 is then scored (issue 13.11).

A province may leave items out of a year's testing (Henan 2023 did not test 50米跑 and
50米×8往返跑).  Scored by the full standard every record would lack an item and be incomplete,
so no 达标率 could be given.  The declared rule instead (:class:`Battery`):

* **reweight** (the only rule): the remaining items of the grade and sex keep their relative
  weights, rescaled to sum to 100 — w'_j = w_j · 100 / Σ_{k kept} w_k — so

      标准分 = Σ_{j kept} w_j · score_j / Σ_{j kept} w_j     (四舍五入 to one decimal, exact)

  e.g. grade 5–6 without 50米跑 (20 %) and 50米×8往返跑 (10 %): BMI 15, 肺活量 15,
  坐位体前屈 10, 一分钟跳绳 10, 一分钟仰卧起坐 20 of the remaining 70, i.e. 21.43 / 21.43 /
  14.29 / 14.29 / 28.57 %.  附加分 (bonus) items are unchanged (a dropped bonus item earns no
  bonus); 学年总分 = 标准分 + 附加分 and the 等级 cut-offs are as in the standard.
* A record is complete when it has BMI and every *kept* item of its grade and sex.
* BMI cannot be dropped (it is measured, not tested).

The national standard has no rule for a reduced battery; proportional reweighting is the
assumption that the kept items measure what the whole battery does in the same proportions.
It is the province's declaration (configuration), stated in every output that uses it, and
results under a reduced battery are not comparable with full-battery years item for item.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from junheng.exceptions import ParameterError
from junheng.fitness.items import BONUS_ITEMS, ITEM_BY_FIELD, ITEMS

RULES = ("reweight",)


@dataclass(frozen=True)
class Battery:
    """The items not tested this cycle (canonical item fields, e.g. ``("run_50m", "shuttle_50x8")``),
    the scoring rule and where the decision is written (``source``, shown in reports)."""

    dropped: tuple[str, ...] = ()
    rule: str = "reweight"
    source: str = ""

    def __post_init__(self) -> None:
        unknown = [d for d in self.dropped if d not in ITEM_BY_FIELD]
        if unknown:
            raise ParameterError(f"未知的测试项目 / unknown items: {unknown}; known: {[i.field for i in ITEMS]}")
        if self.rule not in RULES:
            raise ParameterError(f"规则须为 {RULES} / rule must be one of {RULES}; got {self.rule!r}")

    @classmethod
    def parse(cls, text: str | None, source: str = "") -> Battery:
        """From a comma-separated list of item fields or Chinese names (``50米跑,50米×8往返跑``)."""
        if not text:
            return cls()
        by_name = {i.header: i.field for i in ITEMS} | {a: i.field for i in ITEMS for a in i.aliases}
        fields = []
        for part in (p.strip() for p in text.replace("，", ",").split(",")):
            if part:
                fields.append(by_name.get(part, part))
        return cls(tuple(fields), source=source)


def reduced_weights(weights: np.ndarray, fields: tuple[str, ...], dropped: tuple[str, ...]) -> np.ndarray:
    """The standard's weights (18 × k, % of ``fields`` = bmi + items per grade and sex) with the
    ``dropped`` items at 0 and the rest rescaled to sum to 100 (float)."""
    w = weights.astype(float).copy()
    for d in dropped:
        w[:, fields.index(d)] = 0.0
    total = w.sum(axis=1, keepdims=True)
    return np.where(total > 0, w * 100.0 / np.where(total > 0, total, 1.0), 0.0)


def rescore(scored: pl.DataFrame, battery: Battery) -> pl.DataFrame:
    """标准分, 附加分, 总分, 等级 and ``complete`` of records scored by the full standard
    (:func:`junheng.fitness.score_fitness`), again under ``battery`` (see the module text)."""
    from junheng.fitness.scoring import RATING_DTYPE
    from junheng.fitness.standard import load_standard

    if not battery.dropped:
        return scored
    std = load_standard()
    fields = std.weight_fields
    w = std.weights.astype(np.int64)  # integer percentages: the exact sums below stay integers
    kept = w.copy()
    for d in battery.dropped:
        kept[:, fields.index(d)] = 0
    rows = ((scored["grade"].cast(pl.Int64) - 1) * 2 + (scored["sex"].cast(pl.Int64) - 1)).to_numpy()
    num = np.zeros(scored.height, dtype=np.int64)
    missing = np.zeros(scored.height, dtype=bool)
    for j, f in enumerate(fields):
        col = "bmi_score" if f == "bmi" else ITEM_BY_FIELD[f].score_field
        vals = scored[col].cast(pl.Float64).to_numpy() if col in scored.columns else np.full(scored.height, np.nan)
        wj = kept[rows, j]
        tested, present = wj > 0, ~np.isnan(vals)
        missing |= tested & ~present
        num += np.where(tested & present, wj * np.nan_to_num(vals).astype(np.int64), 0)
    den = kept[rows].sum(axis=1)
    exempt = scored["exempt"].fill_null(False).to_numpy() if "exempt" in scored.columns else np.zeros(
        scored.height, dtype=bool)
    complete = ~missing & ~exempt & (den > 0)
    std_tenths = (20 * num + den) // np.maximum(2 * den, 1)  # round half up of 10·num/den, exactly
    bonus_cols = [f"{f}_bonus" for f in BONUS_ITEMS if f"{f}_bonus" in scored.columns and f not in battery.dropped]
    bonus = (scored.select(pl.sum_horizontal([pl.col(c).fill_null(0) for c in bonus_cols]).clip(upper_bound=20))
             .to_series().to_numpy() if bonus_cols else np.zeros(scored.height, dtype=np.int64))
    total = std_tenths + 10 * bonus
    rating = np.select([total >= 900, total >= 800, total >= 600], [0, 1, 2], 3)
    ok = pl.Series(complete)
    labels = pl.Series(["优秀", "良好", "及格", "不及格"], dtype=RATING_DTYPE)
    return scored.with_columns(
        pl.when(ok).then(pl.Series(std_tenths / 10.0)).alias("standard_score"),
        pl.when(ok).then(pl.Series(bonus).cast(pl.Int8)).alias("bonus_score"),
        pl.when(ok).then(pl.Series(total / 10.0)).alias("total_score"),
        pl.when(ok).then(labels.gather(pl.Series(rating).cast(pl.UInt32))).alias("rating"),
        ok.alias("complete"),
    )


__all__ = ["RULES", "Battery", "reduced_weights", "rescore"]
