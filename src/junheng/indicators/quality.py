"""教育质量 第9项 from the monitoring results: "相关科目学生学业水平达到Ⅲ级以上，且校际差异率低于0.15".

Source: 教督〔2017〕6号 第十一条 (POLICY.md §1.5).  The official operational definitions were not
found; the defaults here are documented in ``docs/methods/indicators.md`` and configurable
(:class:`QualityRules` — where policy gives no number the value is the province's choice):

- **达到Ⅲ级以上** (``level_rule="share"``): the weighted share of pupils at 水平Ⅲ or Ⅳ
  (``level_pv* ≥ 3``) is at least ``min_share`` (0.5: the county's median pupil is at Ⅲ or
  above).  Estimated with :func:`junheng.survey.proportion` (plausible values, Rubin's rules).
- **校际差异** (``diff_rule="variance_share"``, default, issue 13.5): the between-school share of
  the score variance, *net of sampling and measurement error* — a one-way random-effects
  (method-of-moments) estimator on plausible values (:func:`between_school_share`), pooled over
  the county's reported subjects (``pool_subjects``: the mean of the subjects' shares, each
  from its own pupils, so four independent noise terms instead of one; with ~7 pupils per school
  and subject one subject's share has an SE of 0.05–0.12); the county passes when it is below
  ``max_between_share`` (default 0.15, the policy's number for its undefined 校际差异率, applied
  to the share: a province's choice).  The older readings stay available: ``"cv"`` (the 差异系数
  of school mean scores, which on ~7 pupils per school and an arbitrary scale origin is mostly
  sampling noise) and ``"full_marks"``.
- **Verdict with its uncertainty**: each criterion compares its one-sided 95 % confidence bounds
  (estimate ∓ t(ν; 0.95)·SE, ν the design degrees of freedom) with its threshold, as conformity
  with a limit is judged under measurement uncertainty (ISO 10576-1:2003; JCGM 106:2012): the
  bound on the unfavourable side still on the good side → 达到; the bound on the favourable side
  already on the bad side → 未达到; otherwise 无法判定（差距在抽样误差内）.  Each decision is
  wrong with probability at most 5 %.  A subject 未达到 when any criterion does, 达到 when all do.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
import scipy.sparse as sp

from junheng.exceptions import ParameterError

REACHED, NOT_REACHED, UNDECIDED = "达到", "未达到", "无法判定"


@dataclass(frozen=True)
class QualityRules:
    """Thresholds of Q9 (see the module text); every number here is configuration."""

    min_level: int = 3
    min_share: float = 0.5
    max_diff_rate: float = 0.15
    diff_rule: str = "variance_share"  # or "cv", "full_marks"
    full_marks: float = 1000.0
    max_between_share: float = 0.15
    confidence: float = 0.95  # one-sided, of each confidence bound
    pool_subjects: bool = True  # the between-school share pooled over the county's subjects

    def __post_init__(self) -> None:
        if self.diff_rule not in ("variance_share", "cv", "full_marks"):
            raise ParameterError("diff_rule 须为 variance_share、cv 或 full_marks / diff_rule must be "
                                 "'variance_share', 'cv' or 'full_marks'")
        if not 0.5 <= self.confidence < 1:
            raise ParameterError("confidence 须在 [0.5, 1) / confidence must be in [0.5, 1)")
        if not 1 <= self.min_level <= 4:
            raise ParameterError("min_level 须在 1–4 / min_level must be 1..4")


DEFAULT_QUALITY = QualityRules()


def _pvs(frame: pl.DataFrame, prefix: str) -> list[str]:
    cols = [c for c in frame.columns if c.startswith(prefix) and c[len(prefix):].isdigit()]
    return sorted(cols, key=lambda c: int(c[len(prefix):]))


def _school_sums(design, by: list[str]):
    data = design.data
    keys = data.select(*by, "school_code").with_columns(
        _g=pl.struct(by).rank("dense").cast(pl.Int64) - 1,
        _s=pl.struct([*by, "school_code"]).rank("dense").cast(pl.Int64) - 1,
    )
    g, s = keys["_g"].to_numpy(), keys["_s"].to_numpy()
    n, n_s, n_g = len(g), int(s.max()) + 1, int(g.max()) + 1
    school_group = np.zeros(n_s, dtype=np.int64)
    school_group[s] = g
    S = sp.csr_matrix((np.ones(n), (s, np.arange(n))), shape=(n_s, n))
    G = sp.csr_matrix((np.ones(n_s), (school_group, np.arange(n_s))), shape=(n_g, n_s))
    return keys, S, G, school_group


def _school_products(S, W: np.ndarray, ok: np.ndarray, *xs: np.ndarray) -> list[np.ndarray]:
    """Per school (row of the pupil indicator ``S``, one entry per pupil) and weight column:
    Σ ok·w, then Σ ok·x·w for each x in ``xs`` — as S diag(ok·x) W, the pupil factors folded into
    the sparse matrix's entries: one pass over W for all of them, no pupils × weights temporaries
    (the same products summed in the same order as S @ (W ∘ ok ∘ x), so the same bits)."""
    col = S.indices
    m = ok[col].astype(float)
    parts = [m, *[m * x[col] for x in xs]]
    n_s = S.shape[0]
    stacked = sp.csr_matrix((np.concatenate(parts), np.tile(col, len(parts)),
                             np.concatenate([S.indptr[:-1] + k * col.size for k in range(len(parts))]
                                            + [[len(parts) * col.size]])),
                            shape=(len(parts) * n_s, S.shape[1]))
    out = stacked @ W
    return [out[k * n_s:(k + 1) * n_s] for k in range(len(parts))]


def between_school_diff(design, by: list[str], rules: QualityRules = DEFAULT_QUALITY) -> pl.DataFrame:
    """校际差异率 per group with its replicate SE (see module docstring).

    ``design`` is a :class:`junheng.survey.ReplicateDesign` over pupil scores (``pv1..``,
    ``school_code`` and the ``by`` columns).  Returns ``by…, diff_rate, diff_rate_se, diff_rate_df,
    n_schools`` (the CV of school means, or ÷ ``full_marks`` when ``rules.diff_rule ==
    "full_marks"``; PVs by Rubin's rules, its own design df by Barnard–Rubin).
    Vectorised: sparse school-by-pupil sums for all replicate weights at once.
    """
    from junheng.survey.inference import barnard_rubin

    data = design.data
    pvs = _pvs(data, "pv")
    if not pvs:
        raise ParameterError("成绩表缺少 pv1..pvM / scores lack plausible values pv1..pvM")
    keys, S, G, school_group = _school_sums(design, by)
    n_g = G.shape[0]
    W = design.weights_matrix  # n × (R+1)
    ests, vars_, dfs = [], [], []
    for pv in pvs:
        x = data[pv].cast(pl.Float64).to_numpy()
        ok = ~np.isnan(x)
        sw, swx = _school_products(S, W, ok, np.where(ok, x, 0.0))
        with np.errstate(invalid="ignore", divide="ignore"):
            m = np.where(sw > 0, swx / np.where(sw > 0, sw, 1.0), 0.0)
            gw = G @ sw
            M = (G @ swx) / gw
            dev = sw * (m - M[school_group]) ** 2
            sd = np.sqrt((G @ dev) / gw)
            stat = sd / rules.full_marks if rules.diff_rule == "full_marks" else sd / M
        ests.append(stat[:, 0])
        vars_.append(design.variance(stat[:, 0], stat[:, 1:]))
        dfs.append(design.degrees_of_freedom(stat[:, 0], stat[:, 1:]))
    est, var, nu = barnard_rubin(np.array(ests), np.array(vars_), np.array(dfs))
    n_schools = np.bincount(school_group, minlength=n_g)
    first = keys.unique("_g", keep="first").sort("_g")
    return first.select(*by).with_columns(
        diff_rate=pl.Series(est), diff_rate_se=pl.Series(np.sqrt(var)),
        diff_rate_df=pl.Series(np.asarray(nu, dtype=float)).fill_nan(None), n_schools=pl.Series(n_schools).cast(pl.Int32))


def _moments_share(design, pvs: list[str], keys_S_G, keep: np.ndarray | None = None):
    """Per plausible value: (share, σ̂_b², σ̂_w²), each (groups × weight columns), of the one-way
    random-effects method of moments (see :func:`between_school_share`)."""
    data = design.data
    _, S, G, school_group = keys_S_G
    W = design.weights_matrix
    positive = (W > 0).astype(float)
    out = []
    for pv in pvs:
        x = data[pv].cast(pl.Float64).to_numpy()
        ok = ~np.isnan(x) if keep is None else ~np.isnan(x) & keep
        xv = np.where(ok, x, 0.0)
        sw, swx, swxx = _school_products(S, W, ok, xv, xv**2)
        npup = _school_products(S, positive, ok)[0]  # pupils with weight per school and column
        with np.errstate(invalid="ignore", divide="ignore"):
            m = np.where(sw > 0, swx / np.where(sw > 0, sw, 1.0), 0.0)
            ss = np.maximum(swxx - sw * m**2, 0.0)
            s2 = np.where(npup >= 2, ss / np.where(sw > 0, sw, 1.0) * npup / np.maximum(npup - 1, 1), 0.0)
            total = G @ sw
            p = sw / total[school_group]
            has2 = G @ (p * (npup >= 2))
            sigma_w = (G @ (p * s2)) / has2
            M = (G @ swx) / total
            B = G @ (p * (m - M[school_group]) ** 2)
            sum_p2 = G @ p**2
            noise = G @ np.where(npup > 0, p * (1 - p) / np.maximum(npup, 1), 0.0)
            sigma_b = (B - noise * sigma_w) / (1 - sum_p2)
            share = sigma_b / (sigma_b + sigma_w)
        out.append((share, sigma_b, sigma_w))
    return out


def between_school_share(design, by: list[str], *, pool: str | None = None,
                         keep: np.ndarray | None = None) -> pl.DataFrame:
    """Between-school share of the score variance per group, net of sampling and measurement error.

    One-way random-effects model x_ij = μ + b_j + e_ij (school j, pupil i), by the method of
    moments on each plausible value and each weight column (so the replicate SE and design df
    come out as for any estimate; PVs combined by Rubin / Barnard–Rubin):

        p_j = W_j / Σ W (school weight shares),  m_j the weighted school mean,  M = Σ p_j m_j
        σ̂_w² = Σ_j p_j s_j²,   s_j² = Σ_i w (x − m_j)² / W_j · n_j/(n_j − 1)   (schools with n_j ≥ 2)
        B = Σ_j p_j (m_j − M)²,  E[B] = σ_b² (1 − Σ p_j²) + Σ_j p_j (1 − p_j) σ_w²/n_j
        σ̂_b² = (B − Σ_j p_j (1 − p_j) σ̂_w²/n_j) / (1 − Σ p_j²)
        share = σ̂_b² / (σ̂_b² + σ̂_w²)

    The σ_w²/n_j term removes what a school mean of n_j pupils varies by chance (pupil sampling
    and, because plausible values carry the posterior spread, measurement error); B of school
    means of ~7 pupils is otherwise mostly that noise.  The estimate is not truncated at 0 (an
    unbiased estimator can be negative; the verdict uses its confidence bounds).

    ``pool``: a column (e.g. ``"subject"``) over whose values the share is pooled — computed per
    ``by + [pool]`` group as above and averaged over the pool's groups (with data) within each
    ``by`` group, for every plausible value and every replicate weight column, so the pooled
    share has its own replicate SE and df.  With ~7 pupils per school and subject, a county's
    four subjects give four independent noise terms σ_w²/n_j, and the mean of their shares has
    about half the SE of one.  (Fitting one school component to all subjects' pupils together
    would be more precise still, but it rests on the covariance of a school's effects across
    subjects, which plausible values drawn subject by subject — conditioned on their own
    subject's school mean — understate: about −0.012 on a share of 0.10 in the demo.)
    σ̂_b² and σ̂_w² are then the means over the pool too; ``n_pooled`` counts the groups averaged.
    ``keep``: a boolean mask of the design's rows; the others count as missing (e.g. the pupils of
    a county's withheld subject, left out of its pooled share).

    Returns ``by…, between_share, between_share_se, between_share_df, sigma2_between,
    sigma2_within, n_schools`` (+ ``n_pooled`` with ``pool``).
    """
    from junheng.survey.inference import barnard_rubin

    data = design.data
    pvs = _pvs(data, "pv")
    if not pvs:
        raise ParameterError("成绩表缺少 pv1..pvM / scores lack plausible values pv1..pvM")
    groups = [*by, pool] if pool else list(by)
    kSG = _school_sums(design, groups)
    keys, school_group = kSG[0], kSG[3]
    first = keys.unique("_g", keep="first").sort("_g")
    n_schools = np.bincount(school_group, minlength=first.height)
    parts = _moments_share(design, pvs, kSG, None if keep is None else np.asarray(keep, dtype=bool))
    if pool:
        # the mean over the pool's groups within each `by` group (NaN — no data, one school — left out)
        outer = first.select(pl.struct(by).rank("dense").cast(pl.Int64) - 1).to_series().to_numpy()
        P = sp.csr_matrix((np.ones(outer.size), (outer, np.arange(outer.size))), shape=(int(outer.max()) + 1, outer.size))

        def avg(a: np.ndarray) -> np.ndarray:
            ok = np.isfinite(a)
            with np.errstate(invalid="ignore", divide="ignore"):
                return (P @ np.where(ok, a, 0.0)) / (P @ ok.astype(float))

        n_pooled = (P @ np.isfinite(parts[0][0][:, 0]).astype(float)).astype(np.int32)
        parts = [tuple(avg(a) for a in part) for part in parts]
        sch = keys.select(*by, "school_code").unique().group_by(by).len()  # a school counted once
        first = first.with_columns(_o=pl.Series(outer)).unique("_o", keep="first").sort("_o").select(*by)
        n_schools = first.join(sch, on=by, how="left", maintain_order="left")["len"].to_numpy()
    else:
        first = first.select(*by)
    ests, vars_, dfs = [], [], []
    for share, _, _ in parts:
        ests.append(share[:, 0])
        vars_.append(design.variance(share[:, 0], share[:, 1:]))
        dfs.append(design.degrees_of_freedom(share[:, 0], share[:, 1:]))
    est, var, nu = barnard_rubin(np.array(ests), np.array(vars_), np.array(dfs))
    out = first.with_columns(
        between_share=pl.Series(est).fill_nan(None), between_share_se=pl.Series(np.sqrt(var)).fill_nan(None),
        between_share_df=pl.Series(np.asarray(nu, dtype=float)).fill_nan(None),
        sigma2_between=pl.Series(np.mean([p[1][:, 0] for p in parts], axis=0)).fill_nan(None),
        sigma2_within=pl.Series(np.mean([p[2][:, 0] for p in parts], axis=0)).fill_nan(None),
        n_schools=pl.Series(n_schools).cast(pl.Int32))
    return out.with_columns(n_pooled=pl.Series(n_pooled)) if pool else out


def one_sided_t(df, confidence: float = 0.95) -> np.ndarray:
    """t(ν; ``confidence``), the one-sided quantile of each bound; the normal quantile where ν is
    missing, not finite or ≤ 0.  Shared by :func:`classify` and every page that shows the bounds."""
    from scipy import stats

    nu = np.asarray(df, dtype=float)
    return stats.t.ppf(confidence, np.where(np.isfinite(nu) & (nu > 0), nu, np.inf))


def classify(estimate: pl.Expr, se: pl.Expr, df: pl.Expr, threshold: float, *, higher_is_better: bool,
             strict: bool = False, confidence: float = 0.95) -> pl.Expr:
    """达到 / 未达到 / 无法判定 of one criterion from its one-sided confidence bounds
    L = estimate − t(ν; confidence)·SE and U = estimate + t(ν; confidence)·SE (ν the design df;
    the normal quantile when ν is unknown, :func:`one_sided_t`).  For "at least the threshold":
    L ≥ threshold → 达到, U < threshold → 未达到; for "below the threshold": U < threshold → 达到,
    L ≥ threshold → 未达到; otherwise 无法判定 — the three-way conformity decision of ISO 10576-1 /
    JCGM 106 with each decision's error risk at most 1 − ``confidence`` (5 %).  ``strict``: the
    good side excludes the threshold (e.g. "低于0.15"); a missing estimate → null; an estimate
    without an SE (null or NaN) → 无法判定: no evidence either way, never a verdict on the point
    estimate alone."""
    crit = df.map_batches(lambda s: pl.Series(one_sided_t(s.cast(pl.Float64).fill_null(np.nan).to_numpy(),
                                                          confidence)), return_dtype=pl.Float64)
    se = se.cast(pl.Float64).fill_nan(None)
    lo, hi = estimate - crit * se, estimate + crit * se
    if higher_is_better:
        good, bad = (lo > threshold) if strict else (lo >= threshold), (hi < threshold) if not strict else (hi <= threshold)
    else:
        good, bad = (hi < threshold) if strict else (hi <= threshold), (lo >= threshold) if strict else (lo > threshold)
    return (pl.when(estimate.is_null()).then(None).when(se.is_null()).then(pl.lit(UNDECIDED))
            .when(good).then(pl.lit(REACHED)).when(bad)
            .then(pl.lit(NOT_REACHED)).otherwise(pl.lit(UNDECIDED)))


def combine(*verdicts: pl.Expr) -> pl.Expr:
    """未达到 if any part is; 达到 if all are; otherwise 无法判定 (a missing part counts as 无法判定)."""
    any_no = pl.any_horizontal([v == NOT_REACHED for v in verdicts])
    all_yes = pl.all_horizontal([(v == REACHED).fill_null(False) for v in verdicts])
    return pl.when(any_no.fill_null(False)).then(pl.lit(NOT_REACHED)).when(all_yes).then(pl.lit(REACHED)) \
        .otherwise(pl.lit(UNDECIDED))


def quality_indicator(scores: pl.DataFrame, weights: pl.DataFrame, *, by: str = "county_code",
                      rules: QualityRules = DEFAULT_QUALITY, reporting_rule=None) -> pl.DataFrame:
    """The monitoring-based quality indicator per ``by`` and subject.

    ``scores``: pupil scores (``student_id, subject, pv1.., level_pv1..``, plus ``by`` and
    ``school_code`` or joinable from ``weights``); ``weights``: the weights frame
    (``student_id, school_code, weight, rep_*``).  Returns ``by, subject, share_l3, share_l3_se,
    share_l3_df, n_pupils, n_schools, flag, diff_rate, diff_rate_se, diff_rate_df`` (the descriptive CV),
    ``between_share, between_share_se, between_share_df, sigma2_between, sigma2_within`` (the
    subject's own between-school share, descriptive), ``pooled_between_share, pooled_between_share_se,
    pooled_between_share_df, pooled_subjects`` (the ``by`` group's share pooled over its reported
    subjects, :func:`between_school_share` with ``pool="subject"``: what the 校际差异 criterion
    judges when ``rules.pool_subjects``; repeated on each subject row), ``level_verdict, diff_verdict, quality_verdict`` (达到 / 未达到 / 无法判定), ``level_ok, diff_ok``
    (point estimates against the thresholds, descriptive) and ``quality_pass`` (True / False /
    null = 无法判定).
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
                         pl.col("df").alias("share_l3_df"), "n_pupils", "n_schools", "flag")
    diff = between_school_diff(design, [by, "subject"], rules).drop("n_schools")
    comp = between_school_share(design, [by, "subject"]).drop("n_schools")
    out = share.join(diff, on=[by, "subject"], how="left").join(comp, on=[by, "subject"], how="left")
    # the county's share pooled over its reported subjects (a withheld subject's pupils left out)
    reported = share.filter(pl.col("share_l3").is_not_null()).select(by, "subject").with_columns(_k=pl.lit(True))
    keep = data.select(by, "subject").join(reported, on=[by, "subject"], how="left",
                                           maintain_order="left")["_k"].fill_null(False).to_numpy()
    pooled = between_school_share(design, [by], pool="subject", keep=keep).select(
        by, *(pl.col(c).alias(f"pooled_{c}") for c in ("between_share", "between_share_se", "between_share_df")),
        pl.col("n_pooled").alias("pooled_subjects"))
    out = out.join(pooled, on=by, how="left")
    suppressed = pl.col("share_l3").is_null()
    out = out.with_columns(
        pl.when(suppressed).then(None).otherwise(pl.col(c)).alias(c)
        for c in ("diff_rate", "diff_rate_se", "diff_rate_df", "between_share", "between_share_se", "between_share_df",
                  "sigma2_between", "sigma2_within"))
    level = classify(pl.col("share_l3"), pl.col("share_l3_se"), pl.col("share_l3_df"), rules.min_share,
                     higher_is_better=True, confidence=rules.confidence)
    if rules.diff_rule == "variance_share":
        pre = "pooled_" if rules.pool_subjects else ""
        spread = classify(pl.col(f"{pre}between_share"), pl.col(f"{pre}between_share_se"),
                          pl.col(f"{pre}between_share_df"), rules.max_between_share, higher_is_better=False,
                          strict=True, confidence=rules.confidence)
    else:
        spread = classify(pl.col("diff_rate"), pl.col("diff_rate_se"), pl.col("diff_rate_df"), rules.max_diff_rate,
                          higher_is_better=False, strict=True, confidence=rules.confidence)
    out = out.with_columns(level_verdict=level, diff_verdict=spread).with_columns(
        quality_verdict=pl.when(suppressed).then(None).otherwise(combine(pl.col("level_verdict"),
                                                                         pl.col("diff_verdict"))))
    point_diff = (pl.col(f"{'pooled_' if rules.pool_subjects else ''}between_share") < rules.max_between_share) \
        if rules.diff_rule == "variance_share" \
        else (pl.col("diff_rate") < rules.max_diff_rate)
    return out.with_columns(
        level_ok=pl.col("share_l3") >= rules.min_share,  # point estimates (descriptive)
        diff_ok=point_diff,
        quality_pass=pl.col("quality_verdict").replace_strict({REACHED: True, NOT_REACHED: False, UNDECIDED: None},
                                                              default=None, return_dtype=pl.Boolean),
    ).sort(by, "subject")
