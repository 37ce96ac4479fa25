"""The synthetic province's truth: county and school effects, real changes between years,
absent pupils and refusing schools — what the estimates must recover.

Effects (per school, for each academic subject and for fitness), seeded by ``random_state`` and the
sorted codes, so every pupil of the population has a defined expected score:

- academic θ of a pupil (base year's pupil SD ≈ 1): ``μ_subject(year) + county + school +
  change(year) + sex/location effects + N(0, RESIDUAL_SD²)``, with county ~ N(0, 0.30²)
  (0.25 shared by the subjects, 0.15 subject-specific) and school within county ~ N(0, 0.35²)
  (0.30 shared, 0.18 subject-specific): about 9 % of the variance between counties and 12 %
  between schools within county, the size reported for Chinese provinces by national monitoring
  (between-school shares of 10–30 %, 国家义务教育质量监测报告 2018–2019);
- real changes between the base year and the next: 15 % of the (county, subject) pairs move by
  ±0.15–0.30 SD, on top of the province's subject shift (``responses.MEAN_SHIFT``);
- fitness: a county effect N(0, 0.25²) and a school effect N(0, 0.30²) on the pupils' general
  fitness factor (``fitness_results(..., effect=...)``).

优质均衡: ``EXEMPLARY_SHARE`` (4 %) of the counties are exemplary (:func:`exemplary_counties`):
resources at every school well above the thresholds with small spreads (``resources``), every
checklist item met and 社会认可度 0.95 (``checklist``), academic county effects |c| + 0.5 SD (about
three quarters of their pupils at 水平Ⅲ or above) and school effects shrunk to 0.25 of their size
(balanced schools: a population between-school share of about 0.01, against 0.05–0.25 elsewhere;
:func:`true_between_shares`, written to ``synth/truth/between_school_shares.csv`` by the demo) —
so that these counties genuinely meet the 优质均衡 rules, and the verdict has something to find.

Non-response: ``ABSENT_RATE`` (3 %) of sampled pupils are absent on test day (no academic, no
fitness record); ``REFUSAL_RATE`` of sampled schools refuse and are replaced by their first
replacement school.
"""

from __future__ import annotations

import numpy as np
import polars as pl

ABSENT_RATE = 0.03
REFUSAL_RATE = 0.02
COUNTY_SD = (0.25, 0.15)  # shared, subject-specific
SCHOOL_SD = (0.30, 0.18)
CHANGE_SHARE, CHANGE_RANGE = 0.15, (0.15, 0.30)
FITNESS_SD = (0.25, 0.30)  # county, school (general fitness factor, SD 1 within school)
RESIDUAL_SD = 0.88
EXEMPLARY_SHARE, EXEMPLARY_LIFT, EXEMPLARY_SCHOOL_SHRINK = 0.04, 0.5, 0.25
SEX_LOCATION = {"female_verbal": 0.15, "male_math_science": 0.05, "rural": -0.2}


def _rng(random_state: int, stream: int) -> np.random.Generator:
    return np.random.default_rng([int(random_state), stream])


def exemplary_counties(county_codes, random_state: int) -> list[str]:
    """The exemplary counties (``EXEMPLARY_SHARE`` of them, at least one), seeded by the sorted codes."""
    codes = sorted({str(c) for c in county_codes})
    if not codes:
        return []
    u = _rng(random_state, 1307).random(len(codes))
    k = max(1, round(EXEMPLARY_SHARE * len(codes)))
    return sorted(codes[i] for i in np.argsort(u)[:k])


def area_effects(schools: pl.DataFrame, random_state: int, subjects=("语文", "数学", "英语", "科学")) -> pl.DataFrame:
    """One row per school and domain (each subject and ``体质``): ``school_code, county_code,
    domain, county_effect, school_effect, change`` (change: the county's real change from the base
    year to the next, academic subjects only)."""
    sch = schools.select(pl.col("school_code").cast(pl.String), pl.col("county_code").cast(pl.String)).unique(
        "school_code").sort("school_code")
    counties = sch["county_code"].unique().sort()
    rng = _rng(random_state, 1301)
    K, S = counties.len(), sch.height
    county_idx = sch.join(pl.DataFrame({"county_code": counties, "_k": np.arange(K)}), on="county_code",
                          how="left", maintain_order="left")["_k"].to_numpy()
    c_shared, s_shared = rng.normal(0, COUNTY_SD[0], K), rng.normal(0, SCHOOL_SD[0], S)
    frames = []
    for d in subjects:
        ce = c_shared + rng.normal(0, COUNTY_SD[1], K)
        se = s_shared + rng.normal(0, SCHOOL_SD[1], S)
        moves = rng.random(K) < CHANGE_SHARE
        change = np.where(moves, rng.choice([-1.0, 1.0], K) * rng.uniform(*CHANGE_RANGE, K), 0.0)
        frames.append(sch.with_columns(pl.lit(d).alias("domain"), pl.Series("county_effect", ce[county_idx]),
                                       pl.Series("school_effect", se), pl.Series("change", change[county_idx])))
    frames.append(sch.with_columns(pl.lit("体质").alias("domain"),
                                   pl.Series("county_effect", rng.normal(0, FITNESS_SD[0], K)[county_idx]),
                                   pl.Series("school_effect", rng.normal(0, FITNESS_SD[1], S)),
                                   pl.lit(0.0).alias("change")))
    best = exemplary_counties(counties, random_state)
    ex = pl.col("county_code").is_in(best)
    academic = pl.col("domain") != "体质"
    return pl.concat(frames).with_columns(
        pl.when(ex & academic).then(pl.col("county_effect").abs() + EXEMPLARY_LIFT)
        .otherwise(pl.col("county_effect")).alias("county_effect"),
        pl.when(ex).then(pl.col("school_effect") * EXEMPLARY_SCHOOL_SHRINK).otherwise(pl.col("school_effect"))
        .alias("school_effect"))


def pupil_means(pupils: pl.DataFrame, effects: pl.DataFrame, mean_shift: dict[str, float], *,
                next_year: bool) -> pl.DataFrame:
    """Every pupil's expected θ per subject: ``student_id, county_code, subject, mu`` (``pupils``
    needs student_id, school_code, sex, and location or a schools' location joined in)."""
    p = pupils.select("student_id", pl.col("school_code").cast(pl.String),
                      *[c for c in ("sex", "location") if c in pupils.columns])
    eff = effects.filter(pl.col("domain") != "体质").rename({"domain": "subject"})
    df = p.join(eff, on="school_code", how="inner")
    female = pl.col("sex").cast(pl.Int32).fill_null(1) == 2 if "sex" in df.columns else pl.lit(False)
    verbal = pl.col("subject").is_in(["语文", "英语"])
    rural = (pl.col("location").cast(pl.String).fill_null("").str.contains("乡|村|rural")
             if "location" in df.columns else pl.lit(False))
    shift = pl.col("subject").replace_strict(mean_shift, default=0.0, return_dtype=pl.Float64) if next_year else 0.0
    mu = (pl.col("county_effect") + pl.col("school_effect") + shift
          + (pl.col("change") if next_year else pl.lit(0.0))
          + pl.when(female & verbal).then(SEX_LOCATION["female_verbal"]).otherwise(0.0)
          + pl.when(~female & ~verbal).then(SEX_LOCATION["male_math_science"]).otherwise(0.0)
          + pl.when(rural).then(SEX_LOCATION["rural"]).otherwise(0.0))
    return df.select("student_id", "county_code", "subject", mu.alias("mu"))


def true_county_means(population: pl.DataFrame, effects: pl.DataFrame, mean_shift: dict[str, float], *,
                      next_year: bool) -> pl.DataFrame:
    """The population's county means of θ per subject (``county_code, subject, true_theta``):
    the mean over every pupil of the county of his or her expected θ."""
    m = pupil_means(population, effects, mean_shift, next_year=next_year)
    return m.group_by("county_code", "subject").agg(pl.col("mu").mean().alias("true_theta"),
                                                    pl.len().alias("pupils")).sort("county_code", "subject")


def true_between_shares(population: pl.DataFrame, effects: pl.DataFrame, mean_shift: dict[str, float], *,
                        next_year: bool) -> pl.DataFrame:
    """The population's between-school share of the score variance per county and subject, and
    pooled over the subjects (``subject = "全部"``, the mean of the subjects' shares — what
    ``junheng.indicators.between_school_share(..., pool="subject")`` estimates): ``county_code,
    subject, true_between_share, sigma2_between, sigma2_within, schools, pupils``.

    A pupil's θ is μ_i + N(0, ``RESIDUAL_SD``²) (``pupil_means``), so with m_j the mean of μ over
    school j's N_j pupils and M the county's: σ_b² = Σ_j (N_j/N)(m_j − M)², σ_w² = Σ_i (μ_i −
    m_j)²/N + RESIDUAL_SD², share = σ_b² / (σ_b² + σ_w²) — the population quantities the
    method-of-moments estimator targets (the reporting scale is linear in θ, so the share is
    the same on it).  The pooled row's σ_b², σ_w² are the subjects' means too."""
    m = pupil_means(population, effects, mean_shift, next_year=next_year)
    school_code = population.select("student_id", pl.col("school_code").cast(pl.String))
    m = m.join(school_code, on="student_id", how="left")
    # sorted before each sum, so that the figures are the same to the last digit in every run
    sch = m.sort("county_code", "subject", "school_code", "student_id").group_by(
        "county_code", "subject", "school_code", maintain_order=True).agg(
        pl.col("mu").mean().alias("m"), pl.len().alias("n"), ((pl.col("mu") - pl.col("mu").mean()) ** 2).sum().alias("ss"))
    c = sch.group_by("county_code", "subject", maintain_order=True).agg(
        (((pl.col("m") - (pl.col("m") * pl.col("n")).sum() / pl.col("n").sum()) ** 2 * pl.col("n")).sum()
         / pl.col("n").sum()).alias("sigma2_between"),
        (pl.col("ss").sum() / pl.col("n").sum() + RESIDUAL_SD**2).alias("sigma2_within"),
        pl.len().cast(pl.Int32).alias("schools"), pl.col("n").sum().cast(pl.Int64).alias("pupils"))
    c = c.with_columns(true_between_share=pl.col("sigma2_between") / (pl.col("sigma2_between") + pl.col("sigma2_within")))
    pooled = c.group_by("county_code", maintain_order=True).agg(pl.lit("全部").alias("subject"), pl.col("true_between_share").mean(),
                                           pl.col("sigma2_between").mean(), pl.col("sigma2_within").mean(),
                                           pl.col("schools").max(), pl.col("pupils").max())
    cols = ["county_code", "subject", "true_between_share", "sigma2_between", "sigma2_within", "schools", "pupils"]
    return pl.concat([c.select(cols), pooled.select(cols)]).sort("county_code", "subject")


def fitness_effect(pupils: pl.DataFrame, effects: pl.DataFrame) -> np.ndarray:
    """Per pupil (row order kept): county + school effect on the general fitness factor."""
    f = effects.filter(pl.col("domain") == "体质").select(
        "school_code", (pl.col("county_effect") + pl.col("school_effect")).alias("_e"))
    return pupils.select(pl.col("school_code").cast(pl.String)).join(
        f, on="school_code", how="left", maintain_order="left")["_e"].fill_null(0.0).to_numpy()


def absent(student_ids: pl.Series, random_state: int, rate: float = ABSENT_RATE) -> np.ndarray:
    """Which pupils are absent on test day (seeded by the 学籍号, so the same pupil is absent in
    every stage)."""
    h = pl.Series(student_ids).cast(pl.String).hash(seed=int(random_state) % (2**32)).to_numpy()
    return (h % 1_000_003) / 1_000_003 < rate


def refusing_schools(codes: pl.Series, random_state: int, rate: float = REFUSAL_RATE, at_least: int = 1) -> list[str]:
    """Sampled schools that refuse (at least ``at_least`` when there are schools at all)."""
    c = pl.Series(codes).cast(pl.String).unique().sort()
    if c.len() == 0:
        return []
    u = _rng(random_state, 1303).random(c.len())
    pick = u < rate
    if pick.sum() < at_least:
        pick[np.argsort(u)[:at_least]] = True
    return c.filter(pl.Series(pick)).to_list()


def on_reporting_scale(county_theta: pl.DataFrame, scales: dict[str, dict], base_theta: pl.DataFrame) -> pl.DataFrame:
    """True county means (``true_county_means``) on the reporting scale: ``county_code, subject,
    true_mean, true_theta, pupils``.

    The base year's calibration fixes the θ scale on the base-year sample (mean 0, SD 1) and the
    reporting scale maps that to 500/100, so a true θ maps through the base-year sample's true mean
    M and SD S (``base_theta``: ``subject, theta_true`` of the base-year pupils):
    score = mean + sd·((θ − M)/S − μ₀)/σ₀, with μ₀, σ₀ the fitted constants of ``scales``
    (``ReportingScale.to_dict()`` per subject)."""
    stats = base_theta.group_by("subject").agg(pl.col("theta_true").mean().alias("M"),
                                               pl.col("theta_true").std().alias("S"))
    consts = pl.DataFrame([{"subject": s, **v} for s, v in scales.items()]).join(stats, on="subject")
    t = county_theta.join(consts, on="subject")
    z = (pl.col("true_theta") - pl.col("M")) / pl.col("S")
    return t.select("county_code", "subject",
                    (pl.col("mean") + pl.col("sd") * (z - pl.col("theta_mean")) / pl.col("theta_sd")).alias("true_mean"),
                    "true_theta", "pupils")
