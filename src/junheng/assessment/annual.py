"""The annual academic pipeline: scored responses of the base year and this year → linked item
parameters, pupils' scores on the reporting scale and their proficiency levels.

Per subject (in the order of ``subjects``):

1. calibrate the base year (2PL/GPCM as the items say; its population fixes the θ scale,
   mean 0, SD 1);
2. check the anchors for drift (``drift=True``): calibrate this year freely, compare the anchors'
   difficulties with the base year's (:func:`junheng.irt.anchor_drift`, robust z), drop the
   drifted ones from the anchor set and keep the linking error;
3. calibrate this year with the retained anchor items fixed at their base-year values
   (fixed-anchor linking), so this year's θ and latent distribution are on the base scale;
4. plausible values of the base-year pupils (one, or ``n_pv`` conditioned like this year's when
   ``base_background`` is given); the reporting scale is fitted on the first (mean
   ``scale_mean``, SD ``scale_sd`` in the base year);
5. this year's EAP (prior: this year's estimated latent distribution) and ``n_pv`` plausible
   values conditioned on the ``conditioning`` columns of ``background`` (every reporting
   variable), the school mean (``school``) and the questionnaire's principal components
   (``questionnaire``) — :func:`junheng.irt.plausible_values`;
6. levels 1–4 (水平Ⅰ–Ⅳ) from ``cuts`` (one set, or one per subject) on the reporting scale, for
   the EAP and for each PV.

Everything statistical is :mod:`junheng.irt`'s; this module only orders the steps. Methods and
sources: ``docs/methods/irt.md``.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass

import polars as pl

from junheng import irt
from junheng.assessment.scoring import to_wide
from junheng.exceptions import ParameterError

CUTS = (400.0, 500.0, 600.0)
"""Demo cut scores on the reporting scale: 水平Ⅰ 待提高 < 400 ≤ Ⅱ 中等 < 500 ≤ Ⅲ 良好 < 600 ≤ Ⅳ 优秀
(about 84 % 中等及以上 in the base year, near the national 2018–2019 figures of POLICY §2.3)."""


@dataclass(frozen=True)
class SubjectFit:
    """One subject's calibrations: the base year's and this year's (anchored) fit statistics."""

    subject: str
    base_loglik: float
    base_iterations: int
    base_converged: bool
    loglik: float
    iterations: int
    converged: bool
    latent_mean: float  # this year's latent mean on the base scale
    latent_sd: float
    anchors_retained: tuple[str, ...] = ()
    anchors_dropped: tuple[str, ...] = ()
    linking_error: float = 0.0  # on the reporting scale (0 when the drift check did not run)


@dataclass(frozen=True)
class AnnualResult:
    """What :func:`annual_scores` returns.

    ``items``: the ITEMS frame of this year's calibration for every subject, with ``subject`` and
    ``anchor``. ``scores``: ``person_id, subject, theta_eap, theta_se, pv1 … pvN,
    level_pv1 … level_pvN, scale_score, level`` (levels Int8). ``scales``: each subject's
    reporting scale (``ReportingScale.to_dict()``). ``fits``: one :class:`SubjectFit` per subject.
    ``base_scores``: the base-year pupils' scores (same columns) when ``base_background`` was
    given. ``drift``: per subject the anchor-drift table (``irt.DriftCheck.table``).
    """

    items: pl.DataFrame
    scores: pl.DataFrame
    scales: dict[str, dict]
    fits: list[SubjectFit]
    base_scores: pl.DataFrame | None = None
    drift: dict[str, pl.DataFrame] | None = None

    def linking_errors(self) -> dict[str, float]:
        """Per subject, the linking error on the reporting scale."""
        return {f.subject: f.linking_error for f in self.fits}


def drop_empty(wide: pl.DataFrame) -> pl.DataFrame:
    """Drop item columns nobody has a score on (e.g. a base-only item in this year's frame)."""
    return wide.select("person_id", *[c for c in wide.columns[1:] if wide[c].null_count() < wide.height])


def _wide(scored: pl.DataFrame, ids: Sequence[str]) -> pl.DataFrame:
    return drop_empty(to_wide(scored.filter(pl.col("item_id").is_in(list(ids)))))


def _conditioned(wide: pl.DataFrame, background: pl.DataFrame | None, conditioning: Sequence[str],
                 extra: Sequence[str] = ()) -> pl.DataFrame:
    """The wide frame joined to the background columns: ``conditioning`` as text (a missing value is
    its own category ``?``), ``extra`` (school, questionnaire) as they are."""
    if not conditioning and not extra:
        return wide
    bg = background.select("person_id", *[pl.col(c).cast(pl.String).fill_null("?") for c in conditioning], *extra)
    return wide.join(bg, on="person_id", how="left").with_columns([pl.col(c).fill_null("?") for c in conditioning])


def _scored(frame: pl.DataFrame, scale, cuts, pv_cols: list[str]) -> pl.DataFrame:
    frame = frame.with_columns(*[pl.Series(c, scale.transform(frame[c].to_numpy())) for c in pv_cols],
                               *([pl.Series("scale_score", scale.transform(frame["theta_eap"].to_numpy()))]
                                 if "theta_eap" in frame.columns else []))
    return frame.with_columns(*[pl.Series(f"level_{c}", irt.levels(frame[c].to_numpy(), cuts)) for c in pv_cols],
                              *([pl.Series("level", irt.levels(frame["scale_score"].to_numpy(), cuts))]
                                if "scale_score" in frame.columns else []))


def annual_scores(scored: pl.DataFrame, base_scored: pl.DataFrame, subjects: Mapping[str, Sequence[str]],
                  anchors: Collection[str], *, background: pl.DataFrame | None = None,
                  conditioning: Sequence[str] = (), school: str | None = None, questionnaire: Sequence[str] = (),
                  base_background: pl.DataFrame | None = None, drift: bool = True, n_pv: int = 5,
                  cuts: Sequence[float] | Mapping[str, Sequence[float]] = CUTS,
                  scale_mean: float = 500.0, scale_sd: float = 100.0, tol: float = 1e-3, random_state: int = 0,
                  on_subject: Callable[[SubjectFit], None] | None = None) -> AnnualResult:
    """Calibrate, link, score and level one year's academic test (see the module docstring).

    ``scored`` and ``base_scored`` are long scored frames (``person_id, item_id, score``, as
    :func:`junheng.assessment.score_responses` returns them, calibration treatment);
    ``subjects`` maps each subject to its item ids; ``anchors`` are the item ids shared with the
    base year; ``background`` holds ``person_id`` and the ``conditioning`` columns of this
    year's pupils, plus ``school`` and the ``questionnaire`` columns when given;
    ``base_background`` the same columns for the base-year pupils (then the base year gets
    ``n_pv`` conditioned PVs and ``base_scores``). The base year's plausible values use
    ``random_state``, this year's ``random_state + 1``. ``on_subject`` is called with each subject's fit as it finishes
    (progress). Item standard errors are not computed (``junheng irt calibrate`` reports them).
    """
    conditioning = list(conditioning)
    extra = ([school] if school else []) + list(questionnaire)
    for frame, name in ((background, "background"), (base_background, "base_background")):
        if frame is None and name == "base_background":
            continue
        missing = [c for c in conditioning + extra if frame is None or c not in frame.columns]
        if missing and (conditioning or extra):
            raise ParameterError(f"条件变量不在背景表中 / conditioning columns not in the {name} frame: {missing}")
    pv_kw = {"conditioning": conditioning or None, "school": school, "questionnaire": list(questionnaire) or None}
    anchor_ids = list(anchors)
    pv_cols = [f"pv{k}" for k in range(1, n_pv + 1)]
    item_tables, score_frames, base_frames, scales, fits, drifts = [], [], [], {}, [], {}
    for subject, ids in subjects.items():
        subject_cuts = cuts[subject] if isinstance(cuts, Mapping) else cuts
        bw = _wide(base_scored, ids)
        base = irt.calibrate(bw, "2pl", se=None, tol=tol)
        cw = _wide(scored, ids)
        common = [i for i in anchor_ids if i in set(cw.columns) and i in set(bw.columns)]
        check = None
        if drift and len(common) > 2:
            # only the anchors' difficulties are compared: a looser criterion (0.01) is enough
            free = irt.calibrate(cw, "2pl", se=None, tol=max(tol, 1e-2))
            check = irt.anchor_drift(free.items_, base.items_, anchors=common)
            drifts[subject] = check.table.with_columns(pl.lit(subject).alias("subject"))
            common = list(check.retained)
        fixed = base.items_.filter(pl.col("item_id").is_in(common))
        cur = irt.calibrate(cw, "2pl", fixed_items=fixed, tol=tol, se=None)
        mu, sd = next(iter(cur.group_means_.values())), next(iter(cur.group_sds_.values()))
        if base_background is not None:
            base_pv = irt.plausible_values(base, _conditioned(bw, base_background, conditioning, extra), n=n_pv,
                                           random_state=random_state, **pv_kw)
        else:
            base_pv = irt.plausible_values(base, bw, n=1, random_state=random_state)
        scale = irt.ReportingScale(scale_mean, scale_sd).fit(base_pv["pv1"].to_numpy())
        scales[subject] = scale.to_dict()
        le = check.linking_error * scale_sd / scale.theta_sd_ if check is not None else 0.0
        fit = SubjectFit(subject, base.loglik_, base.n_iter_, base.converged_, cur.loglik_, cur.n_iter_,
                         cur.converged_, mu, sd, tuple(common), check.dropped if check is not None else (), le)
        fits.append(fit)
        if on_subject is not None:
            on_subject(fit)
        item_tables.append(cur.items_.with_columns(pl.lit(subject).alias("subject"),
                                                   pl.col("item_id").is_in(common).alias("anchor")))
        if base_background is not None:
            be = irt.eap(base, bw)
            base_frames.append(_scored(be.join(base_pv, on="person_id"), scale, subject_cuts, pv_cols)
                               .with_columns(pl.lit(subject).alias("subject")))
        e = irt.eap(cur, cw, prior_mean=mu, prior_sd=sd)
        pv = irt.plausible_values(cur, _conditioned(cw, background, conditioning, extra), n=n_pv,
                                  prior_mean=mu, prior_sd=sd, random_state=random_state + 1, **pv_kw)
        sc = _scored(e.join(pv, on="person_id"), scale, subject_cuts, pv_cols)
        score_frames.append(sc.with_columns(pl.lit(subject).alias("subject")))
    columns = ["person_id", "subject", "theta_eap", "theta_se", *pv_cols,
               *[pl.col(f"level_{c}").cast(pl.Int8) for c in pv_cols], "scale_score", pl.col("level").cast(pl.Int8)]
    scores = pl.concat(score_frames).select(columns)
    base_scores = pl.concat(base_frames).select(columns) if base_frames else None
    return AnnualResult(pl.concat(item_tables, how="diagonal_relaxed"), scores, scales, fits, base_scores,
                        drifts or None)


def trend(current: pl.DataFrame, previous: pl.DataFrame, linking_error: Mapping[str, float], *,
          keys: Sequence[str] = ("scope", "unit", "subject"), alpha: float = 0.05) -> pl.DataFrame:
    """与上年相比: this year's estimates against the stored estimates of the previous year.

    Both frames have ``keys``, ``estimate``, ``se`` (and ``df`` when known). The two samples are
    independent, and the linking error is common to every estimate of the new year, so
    SE(Δ) = √(SE₁² + SE₀² + LE²) (PISA's trend SE; OECD, *PISA 2018 Technical Report*, ch. 12).
    The change is called significant when |Δ|/SE(Δ) exceeds the two-sided t quantile with
    min(df₁, df₀) degrees of freedom (the normal quantile when no df is given). Returns
    ``keys, estimate_prev, se_prev, estimate, se, linking_error, difference, se_difference, t,
    df, significant``; a key in only one year gives nulls."""
    from scipy.stats import norm
    from scipy.stats import t as student

    keys = list(keys)
    cols = lambda f, sfx: f.select(*keys, pl.col("estimate").alias(f"estimate{sfx}"),  # noqa: E731
                                   pl.col("se").alias(f"se{sfx}"),
                                   (pl.col("df") if "df" in f.columns else pl.lit(None, pl.Float64))
                                   .cast(pl.Float64).alias(f"df{sfx}"))
    j = cols(current, "").join(cols(previous, "_prev"), on=keys, how="left")
    le = pl.col("subject").replace_strict(dict(linking_error), default=0.0, return_dtype=pl.Float64)
    j = j.with_columns(le.alias("linking_error"), (pl.col("estimate") - pl.col("estimate_prev")).alias("difference"))
    j = j.with_columns((pl.col("se") ** 2 + pl.col("se_prev") ** 2 + pl.col("linking_error") ** 2).sqrt()
                       .alias("se_difference"), pl.min_horizontal("df", "df_prev").alias("df"))
    j = j.with_columns((pl.col("difference") / pl.col("se_difference")).alias("t"))
    df = j["df"].to_numpy()
    crit = [student.ppf(1 - alpha / 2, d) if d == d and d is not None and d > 0 else norm.ppf(1 - alpha / 2)
            for d in df]
    sig = (j["t"].abs() > pl.Series(crit)).alias("significant")
    return j.with_columns(sig).select(*keys, "estimate_prev", "se_prev", "estimate", "se", "linking_error",
                                      "difference", "se_difference", "t", "df", "significant")


def year_estimates(scores: pl.DataFrame, sample: pl.DataFrame, weights: pl.DataFrame, *, rule=None) -> pl.DataFrame:
    """Province and county mean scale scores per subject from one year's plausible values, with
    replicate SEs (JK2) and the design's degrees of freedom: ``scope, unit, subject, estimate, se,
    df, n_pupils, n_schools``. ``sample`` gives each pupil's ``county_code`` (and school);
    ``weights`` the final and replicate weights (``weight, rep_*``, and ``zone`` for the df).

    The df is the survey estimator's when it reports one, otherwise the number of variance zones
    in which the county has pupils (each JK2 zone contributes one degree of freedom). ``rule``: the
    minimum reporting rule (default: the survey's, 62 pupils and 5 schools)."""
    from junheng.survey import ReplicateDesign, mean

    pvs = sorted([c for c in scores.columns if c.startswith("pv") and c[2:].isdigit()], key=lambda c: int(c[2:]))
    geo = sample.select(pl.col("student_id").cast(pl.String), pl.col("county_code").cast(pl.String))
    reps = [c for c in weights.columns if c.startswith("rep_")]
    w = weights.select(pl.col("student_id").cast(pl.String), *[c for c in ("school_code", "zone") if c in weights.columns],
                       "weight", *reps)
    data = (scores.with_columns(pl.col("student_id").cast(pl.String)).select("student_id", "subject", *pvs)
            .join(geo, on="student_id", how="inner").join(w, on="student_id", how="inner")
            .filter(pl.col("weight") > 0))
    design = ReplicateDesign(data, "weight", "rep_*", method="jk2", **({"rule": rule} if rule is not None else {}))
    out = []
    for scope, by in (("province", ["subject"]), ("county", ["county_code", "subject"])):
        r = mean(design, pv=pvs, by=by)
        r = r.rename({"county_code": "unit"}) if scope == "county" else r.with_columns(pl.lit("410000").alias("unit"))
        if "df" not in r.columns and "zone" in data.columns:
            zones = data.group_by(*by).agg(pl.col("zone").n_unique().cast(pl.Float64).alias("df"))
            r = r.join(zones.rename({"county_code": "unit"}) if scope == "county" else zones,
                       on=["unit", "subject"] if scope == "county" else ["subject"], how="left")
        out.append(r.with_columns(pl.lit(scope).alias("scope")))
    cols = ["scope", "unit", "subject", "estimate", "se", "df", "n_pupils", "n_schools"]
    return pl.concat([o.select([c if c in o.columns else pl.lit(None, pl.Float64).alias(c) for c in cols])
                      for o in out], how="vertical_relaxed")
