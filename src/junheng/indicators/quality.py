"""教育质量 第9项 from the monitoring results: "相关科目学生学业水平达到Ⅲ级以上，且校际差异率低于0.15".

Source: 教督〔2017〕6号 第十一条 (POLICY.md §1.5).  The official operational definitions were not
found; the defaults here are documented in ``docs/methods/indicators.md`` and configurable:

- **达到Ⅲ级以上** (``level_rule="share"``, default): the weighted share of pupils at 水平Ⅲ or Ⅳ
  (``level_pv* ≥ 3``) is at least ``min_share`` (0.5, i.e. the county's median pupil is at Ⅲ or
  above).  Estimated with :func:`junheng.survey.proportion` (plausible values, Rubin's rules).
- **校际差异率** (``diff_rule="cv"``, default): the between-school coefficient of variation of
  school mean scale scores, each school weighted by its estimated pupil total (Σ weights), i.e.
  the 差异系数 formula of §1.3 applied to school means:
  ``sqrt(Σ W_s (m_s − M)² / Σ W_s) / M``.  ``diff_rule="full_marks"`` divides the same SD by
  ``full_marks`` instead of the county mean (the reading of one public 国测 simulation script).
  Its SE comes from the replicate weights (every replicate recomputes the school means and the
  county statistic) combined over plausible values by Rubin's rules.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
import scipy.sparse as sp

from junheng.exceptions import ParameterError


@dataclass(frozen=True)
class QualityRules:
    min_level: int = 3
    min_share: float = 0.5
    max_diff_rate: float = 0.15
    diff_rule: str = "cv"  # or "full_marks"
    full_marks: float = 1000.0

    def __post_init__(self) -> None:
        if self.diff_rule not in ("cv", "full_marks"):
            raise ParameterError("diff_rule 须为 cv 或 full_marks / diff_rule must be 'cv' or 'full_marks'")
        if not 1 <= self.min_level <= 4:
            raise ParameterError("min_level 须在 1–4 / min_level must be 1..4")


DEFAULT_QUALITY = QualityRules()


def _pvs(frame: pl.DataFrame, prefix: str) -> list[str]:
    cols = [c for c in frame.columns if c.startswith(prefix) and c[len(prefix):].isdigit()]
    return sorted(cols, key=lambda c: int(c[len(prefix):]))


def between_school_diff(design, by: list[str], rules: QualityRules = DEFAULT_QUALITY) -> pl.DataFrame:
    """校际差异率 per group with its replicate SE (see module docstring).

    ``design`` is a :class:`junheng.survey.ReplicateDesign` over pupil scores (``pv1..``,
    ``school_code`` and the ``by`` columns).  Returns ``by…, diff_rate, diff_rate_se, n_schools``.
    Vectorised: sparse school-by-pupil sums for all replicate weights at once.
    """
    from junheng.survey import rubin

    data = design.data
    pvs = _pvs(data, "pv")
    if not pvs:
        raise ParameterError("成绩表缺少 pv1..pvM / scores lack plausible values pv1..pvM")
    keys = data.select(*by, "school_code").with_columns(
        _g=pl.struct(by).rank("dense").cast(pl.Int64) - 1,
        _s=pl.struct([*by, "school_code"]).rank("dense").cast(pl.Int64) - 1,
    )
    g = keys["_g"].to_numpy()
    s = keys["_s"].to_numpy()
    n, n_s, n_g = len(g), int(s.max()) + 1, int(g.max()) + 1
    school_group = np.zeros(n_s, dtype=np.int64)
    school_group[s] = g
    S = sp.csr_matrix((np.ones(n), (s, np.arange(n))), shape=(n_s, n))
    G = sp.csr_matrix((np.ones(n_s), (school_group, np.arange(n_s))), shape=(n_g, n_s))
    W = design.weights_matrix  # n × (R+1)
    ests, vars_ = [], []
    for pv in pvs:
        x = data[pv].cast(pl.Float64).to_numpy()
        ok = ~np.isnan(x)
        Wx = W * ok[:, None]
        sw = S @ Wx
        swx = S @ (Wx * np.where(ok, x, 0.0)[:, None])
        with np.errstate(invalid="ignore", divide="ignore"):
            m = np.where(sw > 0, swx / np.where(sw > 0, sw, 1.0), 0.0)
            gw = G @ sw
            M = (G @ swx) / gw
            dev = sw * (m - M[school_group]) ** 2
            sd = np.sqrt((G @ dev) / gw)
            stat = sd / M if rules.diff_rule == "cv" else sd / rules.full_marks
        ests.append(stat[:, 0])
        vars_.append(design.variance(stat[:, 0], stat[:, 1:]))
    est, var = rubin(np.array(ests), np.array(vars_))
    n_schools = np.bincount(school_group, minlength=n_g)
    first = keys.unique("_g", keep="first").sort("_g")
    return first.select(*by).with_columns(
        diff_rate=pl.Series(est), diff_rate_se=pl.Series(np.sqrt(var)), n_schools=pl.Series(n_schools).cast(pl.Int32))


def quality_indicator(scores: pl.DataFrame, weights: pl.DataFrame, *, by: str = "county_code",
                      rules: QualityRules = DEFAULT_QUALITY, reporting_rule=None) -> pl.DataFrame:
    """The monitoring-based quality indicator per ``by`` and subject.

    ``scores``: pupil scores (``student_id, subject, pv1.., level_pv1..``, plus ``by`` and
    ``school_code`` or joinable from ``weights``); ``weights``: the weights frame
    (``student_id, school_code, weight, rep_*``).  Returns ``by, subject, share_l3, share_l3_se,
    diff_rate, diff_rate_se, n_pupils, n_schools, flag, level_ok, diff_ok, quality_pass``.
    """
    from junheng.survey import ReplicateDesign, proportion

    w = weights.select("student_id", *(c for c in weights.columns if c == "weight" or c.startswith("rep_")),
                       *(c for c in ("school_code", by) if c in weights.columns and c not in scores.columns))
    data = scores.join(w, on="student_id", how="inner").filter(pl.col("weight") > 0)
    if data.height == 0:
        raise ParameterError("成绩与权重无法匹配 / no scored pupil has a positive weight")
    if by not in data.columns:
        raise ParameterError(f"成绩表缺少 {by} / scores lack {by}")
    kwargs = {} if reporting_rule is None else {"rule": reporting_rule}
    design = ReplicateDesign(data, "weight", "rep_*", method="jk2", **kwargs)
    lv = _pvs(data, "level_pv")
    share = proportion(design, pv=lv, levels=list(range(rules.min_level, 5)), by=[by, "subject"])
    share = share.select(by, "subject", pl.col("estimate").alias("share_l3"), pl.col("se").alias("share_l3_se"),
                         "n_pupils", "n_schools", "flag")
    diff = between_school_diff(design, [by, "subject"], rules).drop("n_schools")
    out = share.join(diff, on=[by, "subject"], how="left")
    suppressed = pl.col("share_l3").is_null()
    out = out.with_columns(
        diff_rate=pl.when(suppressed).then(None).otherwise(pl.col("diff_rate")),
        diff_rate_se=pl.when(suppressed).then(None).otherwise(pl.col("diff_rate_se")),
    )
    return out.with_columns(
        level_ok=pl.col("share_l3") >= rules.min_share,
        diff_ok=pl.col("diff_rate") < rules.max_diff_rate,
    ).with_columns(quality_pass=pl.col("level_ok") & pl.col("diff_ok")).sort(by, "subject")
