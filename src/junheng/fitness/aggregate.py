"""Aggregates of scored fitness records: the rates the national monitoring reports publish.

For every group of ``by`` (e.g. county × grade × sex × location), over the *tested* records
(complete and not exempt — 免测 records and incomplete records stay out of every rate):

* ``n_records``, ``n_exempt``, ``n_incomplete``, ``n_tested`` (unweighted counts);
* 达标率 ``pass_rate`` (及格 and above), 优良率 ``good_rate`` (良好 + 优秀), 优秀率
  ``excellent_rate``, 不及格率 ``fail_rate``; mean ``total_score_mean``;
* per item: ``<item>_n``, mean raw value ``<item>_mean``, mean score ``<item>_score_mean``, and
  the distribution over the score bands: 达标率 ``<item>_pass_rate`` (score ≥ 60), 优良率
  ``<item>_good_rate`` (≥ 80), 优秀率 ``<item>_excellent_rate`` (≥ 90), 不及格率
  ``<item>_fail_rate`` (< 60), over the non-exempt records with that item scored;
* ``bmi_mean`` and BMI class rates (低体重 / 正常 / 超重 / 肥胖) over non-exempt records with a BMI;
* ``n_vision``, 视力不良率 ``vision_poor_rate`` and its split by level (轻度 / 中度 / 重度) over
  records with a pupil vision class.

With a weight column every mean and rate is the weighted (Hájek) ratio Σwy / Σw — the
estimator of the national monitoring; standard errors come from ``junheng.survey`` replicate
weights. Rates are proportions in [0, 1].

How: every statistic is a ratio of two group sums, and the sums are *mergeable partials*
(``np.bincount`` over integer codes), so the same code aggregates an in-memory frame
(:func:`summarize`) or a stream of record batches scored one by one
(:func:`junheng.fitness.stream.summarize_parquet`) — and, on a cluster, partials per partition.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

from junheng.exceptions import InputError, Issue, ParameterError
from junheng.fitness.items import ITEMS
from junheng.io import ROW

WEIGHT_RULE = ("权重应为非负的有限数（空值计为 0）", "a weight must be a finite number ≥ 0 (a null counts as 0)")
MAX_ISSUES = 1000  # bad records listed in one InputError (summarize; each census task and the whole file); the summary line counts them all

RATE_LABELS_ZH = {
    "n_tested": "测试人数", "pass_rate": "达标率", "good_rate": "优良率", "excellent_rate": "优秀率",
    "fail_rate": "不及格率", "total_score_mean": "总分均值", "underweight_rate": "低体重率",
    "normal_weight_rate": "正常体重率", "overweight_rate": "超重率", "obesity_rate": "肥胖率",
    "vision_poor_rate": "视力不良率", "vision_mild_rate": "轻度视力不良率", "vision_moderate_rate": "中度视力不良率",
    "vision_severe_rate": "重度视力不良率", "n_records": "记录数", "n_exempt": "免测人数", "n_incomplete": "缺项人数",
}


def partial_sums(
    gid: np.ndarray,
    n_groups: int,
    w: np.ndarray | None,
    *,
    complete: np.ndarray,
    exempt: np.ndarray,
    rating: np.ndarray,
    total_tenths: np.ndarray,
    bmi_class: np.ndarray,
    bmi_tenths: np.ndarray,
    vision_class: np.ndarray,
    item_scores: dict[str, np.ndarray],
    item_units: dict[str, np.ndarray],
) -> dict[str, np.ndarray]:
    """Group sums (mergeable by addition) from code arrays of one batch.

    Codes: ``rating`` 0 优秀 … 3 不及格 (-1 none); ``bmi_class`` / ``vision_class`` 0–3 (-1 none);
    item scores 0–100 (negative = none); ``item_units`` the raw values as integers at the item's
    resolution (read only where the item is scored; :func:`finish` divides by the scale).
    Totals and BMI are summed in tenths likewise: unweighted, every sum is a whole number, exact
    in any order of addition — so partials merged across batches, threads or machines give the
    same table to the last digit.
    """
    G = n_groups

    def count(mask: np.ndarray, weights=None, k: int = 1, code=None) -> np.ndarray:
        idx = gid * k + (0 if code is None else code)
        idx = np.where(mask, idx, G * k)
        return np.bincount(idx, weights=weights, minlength=G * k + 1)[: G * k].reshape(G, k) if k > 1 else \
            np.bincount(idx, weights=weights, minlength=G + 1)[:G]

    wf = None if w is None else w.astype(np.float64)
    out: dict[str, np.ndarray] = {}
    tested = complete & ~exempt
    out["n_records"] = np.bincount(gid, minlength=G)
    out["n_exempt"] = count(exempt)
    out["n_incomplete"] = count(~complete & ~exempt)
    out["n_tested"] = count(tested)
    out["W_rating"] = count(tested, wf, 4, np.maximum(rating, 0))
    tw = total_tenths.astype(np.float64) * (1.0 if wf is None else wf)  # tenths: whole numbers add exactly
    out["W_total"] = count(tested, tw)
    has_bmi = (bmi_class >= 0) & ~exempt
    out["W_bmi_class"] = count(has_bmi, wf, 4, np.maximum(bmi_class, 0))
    bw = bmi_tenths.astype(np.float64) * (1.0 if wf is None else wf)
    out["W_bmi"] = count(has_bmi, bw)
    has_v = vision_class >= 0
    out["n_vision"] = count(has_v)
    out["W_vision"] = count(has_v, wf, 4, np.maximum(vision_class, 0))
    for f, s in item_scores.items():
        has = (s >= 0) & ~exempt
        level = (s >= 60).astype(np.intp) + (s >= 80) + (s >= 90)
        out[f"W_{f}_level"] = count(has, wf, 4, level)
        out[f"{f}_n"] = out[f"W_{f}_level"].sum(axis=1) if wf is None else count(has)
        sw = s.astype(np.float64) if wf is None else s * wf
        out[f"W_{f}_score"] = count(has, sw)
        u = item_units.get(f)
        if u is not None:  # raw values in resolution units; present wherever the item is scored
            uw = u.astype(np.float64) if wf is None else u * wf
            out[f"W_{f}_units"] = count(has, uw)
    return out


def merge_partials(a: dict[str, np.ndarray] | None, b: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    if a is None:
        return {k: v.astype(np.float64) for k, v in b.items()}
    return {k: a[k] + b[k] for k in a}


def finish(p: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Ratios from merged partial sums (NaN where a denominator is 0)."""
    def ratio(num, den):
        den = np.asarray(den, dtype=np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)

    out: dict[str, np.ndarray] = {k: p[k].astype(np.int64) for k in ("n_records", "n_exempt", "n_incomplete",
                                                                     "n_tested", "n_vision")}
    r = p["W_rating"]
    wt = r.sum(axis=1)
    out["pass_rate"] = ratio(r[:, :3].sum(axis=1), wt)
    out["good_rate"] = ratio(r[:, :2].sum(axis=1), wt)
    out["excellent_rate"] = ratio(r[:, 0], wt)
    out["fail_rate"] = ratio(r[:, 3], wt)
    out["total_score_mean"] = ratio(p["W_total"] / 10.0, wt)
    b = p["W_bmi_class"]
    wb = b.sum(axis=1)
    out["bmi_mean"] = ratio(p["W_bmi"] / 10.0, wb)
    for k, name in enumerate(("underweight_rate", "normal_weight_rate", "overweight_rate", "obesity_rate")):
        out[name] = ratio(b[:, k], wb)
    v = p["W_vision"]
    wv = v.sum(axis=1)
    out["vision_poor_rate"] = ratio(v[:, 1:].sum(axis=1), wv)
    for k, name in enumerate(("vision_mild_rate", "vision_moderate_rate", "vision_severe_rate"), start=1):
        out[name] = ratio(v[:, k], wv)
    for item in ITEMS:
        f = item.score_field
        if f"{f}_n" not in p:
            continue
        lv = p[f"W_{f}_level"]
        wh = lv.sum(axis=1)
        out[f"{item.field}_n"] = p[f"{f}_n"].astype(np.int64)
        if f"W_{f}_units" in p:
            out[f"{item.field}_mean"] = ratio(p[f"W_{f}_units"] / item.scale, wh)
        out[f"{f}_mean"] = ratio(p[f"W_{f}_score"], wh)
        out[f"{item.field}_pass_rate"] = ratio(lv[:, 1:].sum(axis=1), wh)
        out[f"{item.field}_good_rate"] = ratio(lv[:, 2:].sum(axis=1), wh)
        out[f"{item.field}_excellent_rate"] = ratio(lv[:, 3], wh)
        out[f"{item.field}_fail_rate"] = ratio(lv[:, 0], wh)
    return out


def _codes(s: pl.Series) -> np.ndarray:
    """Enum/Categorical or string labels → physical codes (-1 for null)."""
    if s.dtype == pl.String:
        raise ParameterError(f"summarize: column {s.name!r} must be the Enum produced by score_fitness")
    return s.to_physical().cast(pl.Int16).fill_null(-1).to_numpy()


def _units(scored: pl.DataFrame, item) -> np.ndarray:
    """Raw item values as integers at the item's resolution (text parsed exactly); 0 where none."""
    if item.field not in scored.columns:
        return np.zeros(scored.height, np.int32)
    from junheng.fitness.quantize import units_expr

    q = scored.select(units_expr(item.field, scored.schema[item.field], item.scale, time=item.time_format))
    return q.to_series().fill_null(0).to_numpy()


def invalid_weights(w: np.ndarray) -> np.ndarray:
    """Where the weights (Float64, a null read as 0) are NaN, ±inf or negative. Any of them would
    make every weighted rate and mean of its group NaN — the table's cells silently blank — so both
    :func:`summarize` and the census path (:mod:`junheng.fitness.stream`) refuse them with this check."""
    with np.errstate(invalid="ignore"):
        return ~(np.isfinite(w) & (w >= 0))


def bad_records_message(file: str | None, n_bad: int, weight: str | None, *, codes: bool = True) -> str:
    """The summary line of an :class:`InputError` listing records that cannot be summarised: bad grade
    or sex codes (``codes``, the census path checks them) and/or bad weights (``weight`` given)."""
    where = f"{file}: " if file else ""
    zh, en = {(True, True): ("年级、性别或权重", "grade, sex or weight"), (True, False): ("年级或性别", "grade or sex"),
              (False, True): ("权重", "weight")}[codes, bool(weight)]
    return (f"{where}{n_bad} 条记录的{zh}无效，未汇总 / {where}{n_bad} record(s) with an invalid {en}; "
            "nothing was summarised")


def _refuse_bad_weights(values: pl.Series, w: np.ndarray, file: str | None, rows: pl.Series | None) -> None:
    """``rows``: the frame's ``__row__`` (the spreadsheet row a person sees, a CSV or Excel file read
    by the template reader); without it a record's number (1 = the frame's first row)."""
    bad = np.flatnonzero(invalid_weights(w))
    if bad.size:
        where = (lambda i: int(rows[i])) if rows is not None else (lambda i: i + 1)
        raise InputError([Issue(*WEIGHT_RULE, file=file, column=values.name, value=values[int(i)], row=where(int(i)))
                          for i in bad[:MAX_ISSUES]], bad_records_message(file, int(bad.size), values.name, codes=False))


def group_ids(keys: pl.DataFrame) -> tuple[np.ndarray, pl.DataFrame]:
    """Dense group ids (0 … G−1, in sorted key order) and the key frame of each group."""
    uniq = keys.unique().sort(keys.columns).with_row_index("__gid__")
    gid = keys.join(uniq, on=keys.columns, how="left", maintain_order="left", nulls_equal=True)["__gid__"]
    return gid.to_numpy().astype(np.intp), uniq.drop("__gid__")


def summarize(
    scored: pl.DataFrame,
    by: Sequence[str] = ("grade", "sex"),
    *,
    weight: str | None = "auto",
    file: str | None = None,
) -> pl.DataFrame:
    """One row per group of ``by`` with the counts, rates and means listed in the module docstring.

    ``weight="auto"`` uses a ``weight`` column when present (sampling weights), else counts
    every record once; ``None`` forces unweighted; any other string names the weight column. A
    null weight counts as 0; a NaN, infinite or negative one is an :class:`InputError` listing
    every such record by its ``__row__`` (the spreadsheet row of a CSV or Excel file) or else its
    number (1 = the frame's first row; ``file`` names it in the message), as
    :func:`junheng.fitness.stream.summarize_parquet` does.
    """
    missing = [c for c in (*by, "rating", "complete", "exempt") if c not in scored.columns]
    if missing:
        raise ParameterError(f"不是评分结果（缺少列 {missing}），请先评分 / summarize: the scored frame lacks {missing}; score it with "
                             "score_fitness first")
    if weight == "auto":
        weight = "weight" if "weight" in scored.columns else None
    if weight is not None and weight not in scored.columns:
        raise ParameterError(f"没有权重列 {weight!r} / summarize: no weight column {weight!r}")
    from junheng.fitness.items import BMI_CLASSES, RATINGS, VISION_CLASSES

    def enum_codes(name: str, labels) -> np.ndarray:
        s = scored[name]
        if s.dtype == pl.String or s.dtype == pl.Categorical:
            s = s.cast(pl.String).cast(pl.Enum(list(labels)), strict=False)
        return _codes(s)

    if by:
        gid, keys = group_ids(scored.select(list(by)))
    else:
        gid, keys = np.zeros(scored.height, dtype=np.intp), pl.DataFrame()
    n_groups = max(keys.height, 1)
    w = scored[weight].cast(pl.Float64).fill_null(0.0).to_numpy() if weight else None
    if w is not None:
        _refuse_bad_weights(scored[weight], w, file, scored[ROW] if ROW in scored.columns else None)

    def tenths(name: str) -> np.ndarray:
        if name not in scored.columns:
            return np.full(scored.height, 0, np.int64)
        return np.round(scored[name].cast(pl.Float64).fill_null(0.0).to_numpy() * 10).astype(np.int64)

    p = partial_sums(
        gid, n_groups, w,
        complete=scored["complete"].fill_null(False).to_numpy(),
        exempt=scored["exempt"].fill_null(False).to_numpy(),
        rating=enum_codes("rating", RATINGS),
        total_tenths=tenths("total_score"),
        bmi_class=enum_codes("bmi_class", BMI_CLASSES) if "bmi_class" in scored.columns else np.full(scored.height, -1),
        bmi_tenths=tenths("bmi"),
        vision_class=(enum_codes("vision_class", VISION_CLASSES) if "vision_class" in scored.columns
                      else np.full(scored.height, -1)),
        item_scores={i.score_field: scored[i.score_field].cast(pl.Int16).fill_null(-1).to_numpy()
                     for i in ITEMS if i.score_field in scored.columns},
        item_units={i.score_field: _units(scored, i) for i in ITEMS if i.score_field in scored.columns},
    )
    stats = pl.DataFrame(finish(merge_partials(None, p)), nan_to_null=True)
    return pl.concat([keys, stats], how="horizontal") if by else stats


def summarize_levels(
    scored: pl.DataFrame,
    levels: Sequence[str | None] = ("school_code", "county_code", "city_code", None),
    breakdown: Sequence[str] = ("grade", "sex"),
    *,
    weight: str | None = "auto",
    file: str | None = None,
) -> pl.DataFrame:
    """:func:`summarize` at several levels (``None`` = the whole file, e.g. the province), stacked.

    The result has ``level`` (the column name, or ``"all"``) and ``unit`` (that column's value).
    Levels whose column is absent are skipped.
    """
    parts = []
    for level in levels:
        if level is not None and level not in scored.columns:
            continue
        keys = [level, *breakdown] if level else list(breakdown)
        s = summarize(scored, keys, weight=weight, file=file)
        unit = pl.col(level).cast(pl.String) if level else pl.lit("all")
        parts.append(s.with_columns(pl.lit(level or "all").alias("level"), unit.alias("unit"))
                     .drop([level] if level else []))
    if not parts:
        raise ParameterError("所给等级都不是表中的列 / summarize_levels: none of the levels is a column of the frame")
    out = pl.concat(parts, how="diagonal_relaxed")
    front = ["level", "unit", *breakdown]
    return out.select(front + [c for c in out.columns if c not in front])


__all__ = ["MAX_ISSUES", "RATE_LABELS_ZH", "WEIGHT_RULE", "bad_records_message", "finish", "group_ids", "invalid_weights", "merge_partials", "partial_sums", "summarize", "summarize_levels"]
