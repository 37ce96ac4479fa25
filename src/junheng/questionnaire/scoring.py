"""Scale scores, indicators, Cronbach's α, item frequencies and scale groups.

- scale score (per respondent and scale): the mean of the valid answers to the scale's items,
  an item in ``reverse`` coded as low + high − x (low/high: its smallest and largest option
  code, or min/max of a number item), null when fewer than ``min_items`` answers are valid —
  the "mean of available items" rule of PISA/TIMSS questionnaire indices without IRT scaling;
- indicator: ``item op value`` per respondent, null when the item is unanswered;
- Cronbach's α (Cronbach 1951): α = k/(k−1) · (1 − Σ_i s²_i / s²_T) over the respondents who
  answered all k items (listwise), s² with divisor n − 1, T the sum of the (reverse-coded) items;
- frequencies: per choice item and option, the count and the (weighted) share among the
  respondents who answered; one row per item for "no answer" with its share among all.

Everything is a Polars expression over whole columns (no loop over respondents).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import polars as pl

from junheng.exceptions import ParameterError
from junheng.questionnaire.definition import Indicator, Item, Questionnaire, Scale

GROUP_LABELS = ("低", "中", "高")
NO_ANSWER = "未作答"


def _valid(item: Item) -> pl.Expr:
    """The item's answer as Float64, null where it is not a valid answer (missing code, out of range)."""
    x = pl.col(item.id).cast(pl.Float64)
    if item.type == "choice":
        ok = x.is_in([float(c) for c in item.options])
    else:
        ok = pl.lit(True)
        if item.min is not None:
            ok = ok & (x >= item.min)
        if item.max is not None:
            ok = ok & (x <= item.max)
    return pl.when(ok).then(x).otherwise(None)


def _coded(q: Questionnaire, scale: Scale) -> list[pl.Expr]:
    """The scale's items as valid answers, reverse-coded where the scale says so."""
    out = []
    for i in scale.items:
        item = q.item(i)
        x = _valid(item)
        if i in scale.reverse:
            x = (item.low + item.high) - x  # type: ignore[operator]
        out.append(x.alias(i))
    return out


def _check_columns(responses: pl.DataFrame, q: Questionnaire, ids: Sequence[str]) -> None:
    missing = [i for i in ids if i not in responses.columns]
    if missing:
        raise ParameterError(f"作答数据缺少题目列 / the responses lack item columns: {missing}")


def _indicator(q: Questionnaire, ind: Indicator) -> pl.Expr:
    x = _valid(q.item(ind.item))
    if ind.op == ">=":
        cond = x >= ind.value
    elif ind.op == "<=":
        cond = x <= ind.value
    elif ind.op == "==":
        cond = x == ind.value
    else:
        cond = x.is_in(list(ind.value))  # type: ignore[arg-type]
    return pl.when(x.is_null()).then(None).otherwise(cond).cast(pl.Boolean).alias(ind.id)


def _keys(frame: pl.DataFrame) -> list[str]:
    return [c for c in ("respondent_id", "school_code") if c in frame.columns]


def scale_scores(responses: pl.DataFrame, q: Questionnaire) -> pl.DataFrame:
    """Per respondent: one Float64 column per scale (the mean of its valid, reverse-coded answers;
    null below ``min_items``) and one Boolean column per indicator, after ``respondent_id`` (and
    ``school_code`` when the responses have it)."""
    _check_columns(responses, q, sorted({i for s in q.scales for i in s.items} | {i.item for i in q.indicators}))
    exprs: list[pl.Expr] = []
    for s in q.scales:
        coded = _coded(q, s)
        n_valid = pl.sum_horizontal([c.is_not_null().cast(pl.Int32) for c in coded])
        exprs.append(pl.when(n_valid >= s.min_items).then(pl.mean_horizontal(coded, ignore_nulls=True))
                     .otherwise(None).cast(pl.Float64).alias(s.id))
    exprs.extend(_indicator(q, i) for i in q.indicators)
    return responses.select(*_keys(responses), *exprs)


def reliability(responses: pl.DataFrame, q: Questionnaire) -> pl.DataFrame:
    """Cronbach's α per scale: ``scale``, ``name``, ``n_items``, ``n`` (respondents with all items
    valid), ``alpha`` (null with fewer than 2 items or 2 complete respondents)."""
    rows = []
    for s in q.scales:
        _check_columns(responses, q, s.items)
        k = len(s.items)
        complete = responses.select(_coded(q, s)).drop_nulls()
        n = complete.height
        alpha = None
        if k >= 2 and n >= 2:
            stats = complete.select(
                pl.sum_horizontal(pl.all()).var(ddof=1).alias("__total"),
                *[pl.col(i).var(ddof=1) for i in s.items])
            total = stats["__total"][0]
            item_var = sum(stats[i][0] for i in s.items)
            if total and total > 0:
                alpha = k / (k - 1) * (1.0 - item_var / total)
        rows.append({"scale": s.id, "name": s.name, "n_items": k, "n": n, "alpha": alpha})
    return pl.DataFrame(rows, schema={"scale": pl.String, "name": pl.String, "n_items": pl.Int64, "n": pl.Int64,
                                      "alpha": pl.Float64})


def item_frequencies(responses: pl.DataFrame, q: Questionnaire, weight: str | None = None) -> pl.DataFrame:
    """Per choice item and option code: ``item_id``, ``code``, ``label``, ``n`` (respondents),
    ``share`` (of the respondents who answered the item; weighted by the column ``weight`` when
    given). A last row per item with ``code`` null and ``label`` 未作答 counts those who did not
    answer; its ``share`` is of all respondents. Options nobody chose have n = 0."""
    if weight is not None and weight not in responses.columns:
        raise ParameterError(f"权重列不存在 / weight column not found: {weight!r}")
    items = [i for i in q.items if i.type == "choice"]
    _check_columns(responses, q, [i.id for i in items])
    w = pl.col(weight).cast(pl.Float64).fill_null(0.0) if weight else pl.lit(1.0)
    frames = []
    for item in items:  # a loop over items (tens), each a vectorised group-by over respondents
        d = responses.select(_valid(item).cast(pl.Int64).alias("code"), w.alias("w"))
        counts = d.group_by("code").agg(pl.len().cast(pl.Int64).alias("n"), pl.col("w").sum().alias("w"))
        opts = pl.DataFrame({"code": list(item.options), "label": list(item.options.values())},
                            schema={"code": pl.Int64, "label": pl.String})
        answered = opts.join(counts, on="code", how="left").with_columns(
            pl.col("n").fill_null(0), pl.col("w").fill_null(0.0))
        w_answered = answered["w"].sum()
        none = counts.filter(pl.col("code").is_null())
        n_none = int(none["n"].sum()) if none.height else 0
        w_none = float(none["w"].sum()) if none.height else 0.0
        w_all = w_answered + w_none
        answered = answered.with_columns(
            (pl.col("w") / w_answered if w_answered > 0 else pl.lit(None, dtype=pl.Float64)).alias("share"))
        no = pl.DataFrame({"code": [None], "label": [NO_ANSWER], "n": [n_none], "w": [w_none],
                           "share": [w_none / w_all if w_all > 0 else None]},
                          schema={"code": pl.Int64, "label": pl.String, "n": pl.Int64, "w": pl.Float64,
                                  "share": pl.Float64})
        frames.append(pl.concat([answered.select(no.columns), no]).with_columns(pl.lit(item.id).alias("item_id")))
    schema = {"item_id": pl.String, "code": pl.Int64, "label": pl.String, "n": pl.Int64, "share": pl.Float64}
    if not frames:
        return pl.DataFrame(schema=schema)
    return pl.concat(frames).select(list(schema))


def scale_groups(scales: pl.DataFrame, q: Questionnaire,
                 cuts: Sequence[float] | Mapping[str, Sequence[float]] | None = None,
                 labels: Sequence[str] = GROUP_LABELS) -> pl.DataFrame:
    """Each scale score cut into ordered groups (default 低/中/高) as an Enum column ``<scale>_group``
    (after the key columns), for :func:`junheng.questionnaire.factor_gaps`.

    Groups are left-closed: with cuts c₁ < c₂ a score x is 低 when x < c₁, 中 when c₁ ≤ x < c₂, 高
    when x ≥ c₂. ``cuts``: one list for every scale, or a mapping scale id → list; by default the
    scale's range (its items' lowest and highest codes) in equal parts, e.g. 2 and 3 for a 1–4
    Likert scale."""
    labels = list(labels)
    if len(set(labels)) != len(labels) or len(labels) < 2:
        raise ParameterError(f"分组标签须至少 2 个且互不相同 / labels must be 2 or more distinct names; got {labels}")
    enum = pl.Enum(labels)
    exprs = []
    for s in q.scales:
        if s.id not in scales.columns:
            continue
        if isinstance(cuts, Mapping):
            c = cuts.get(s.id)
        else:
            c = cuts
        if c is None:
            lo = min(q.item(i).low for i in s.items)  # type: ignore[type-var]
            hi = max(q.item(i).high for i in s.items)  # type: ignore[type-var]
            c = list(np.linspace(lo, hi, len(labels) + 1)[1:-1])
        c = [float(x) for x in c]
        if len(c) != len(labels) - 1 or any(b <= a for a, b in zip(c, c[1:])):
            raise ParameterError(f"量表 {s.id} 的切分点须为 {len(labels) - 1} 个递增的数 / "
                                 f"cuts for scale {s.id} must be {len(labels) - 1} increasing numbers; got {c}")
        x = pl.col(s.id)
        e = pl.when(x.is_null()).then(None)
        for cut, label in zip(c, labels):
            e = e.when(x < cut).then(pl.lit(label))
        exprs.append(e.otherwise(pl.lit(labels[-1])).cast(enum).alias(f"{s.id}_group"))
    return scales.select(*[k for k in scales.columns if k in ("respondent_id", "school_code", "student_id")], *exprs)


__all__ = ["GROUP_LABELS", "NO_ANSWER", "item_frequencies", "reliability", "scale_groups", "scale_scores"]
