"""Quality indicator Q9: 校际差异率 and its replicate SE against a brute-force computation."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from junheng.indicators import QualityRules, between_school_diff, quality_indicator
from junheng.survey import ReplicateDesign


def frame(seed=4, n_schools=12, per=25, spread=40.0):
    rng = np.random.default_rng(seed)
    school = np.repeat(np.arange(n_schools), per)
    n = school.size
    eff = rng.normal(0, spread, n_schools)[school]
    theta = 500 + eff + rng.normal(0, 90, n)
    d = {"student_id": [f"s{i}" for i in range(n)], "school_code": [f"S{s:02d}" for s in school],
         "county_code": np.where(school < n_schools // 2, "410101", "410102"), "subject": ["数学"] * n,
         "weight": rng.uniform(5, 15, n)}
    for r in range(1, 5):
        d[f"rep_{r}"] = d["weight"] * np.where(school % 4 == r - 1, 0.0, 4 / 3)
    for m in range(1, 4):
        pv = theta + rng.normal(0, 25, n)
        d[f"pv{m}"] = pv
        d[f"level_pv{m}"] = np.digitize(pv, [420, 500, 600]) + 1
    return pl.DataFrame(d)


def brute(df: pl.DataFrame, w: str, pv: str) -> float:
    """Written out: school means, then the weighted CV of school means."""
    schools: dict[str, list[float]] = {}
    for row in df.iter_rows(named=True):
        s = schools.setdefault(row["school_code"], [0.0, 0.0])
        s[0] += row[w]
        s[1] += row[w] * row[pv]
    kept = [v for v in schools.values() if v[0] > 0]  # a school outside the replicate drops out
    W = np.array([v[0] for v in kept])
    m = np.array([v[1] / v[0] for v in kept])
    M = np.sum(W * m) / W.sum()
    return float(np.sqrt(np.sum(W * (m - M) ** 2) / W.sum()) / M)


def test_diff_rate_and_se_match_brute_force():
    df = frame()
    d = ReplicateDesign(df, "weight", "rep_*")
    got = between_school_diff(d, ["county_code", "subject"]).sort("county_code")
    for k, county in enumerate(["410101", "410102"]):
        sub = df.filter(pl.col("county_code") == county)
        ests, vars_ = [], []
        for pv in ("pv1", "pv2", "pv3"):
            full = brute(sub, "weight", pv)
            reps = np.array([brute(sub, f"rep_{r}", pv) for r in range(1, 5)])
            ests.append(full)
            vars_.append(np.sum((reps - full) ** 2))  # JK2: scale 1, around the full estimate
        m = len(ests)
        var = np.mean(vars_) + (1 + 1 / m) * np.var(ests, ddof=1)
        assert got["diff_rate"][k] == pytest.approx(np.mean(ests), rel=1e-9)
        assert got["diff_rate_se"][k] == pytest.approx(np.sqrt(var), rel=1e-9)


def test_full_marks_rule_divides_by_full_marks():
    df = frame()
    d = ReplicateDesign(df, "weight", "rep_*")
    cv = between_school_diff(d, ["subject"])["diff_rate"][0]
    fm = between_school_diff(d, ["subject"], QualityRules(diff_rule="full_marks", full_marks=1000))["diff_rate"][0]
    mean = float((df["weight"] * (df["pv1"] + df["pv2"] + df["pv3"]) / 3).sum() / df["weight"].sum())
    assert fm == pytest.approx(cv * mean / 1000, rel=0.02)


def test_quality_indicator_verdict_follows_the_rules():
    from junheng.survey import NO_RULE

    df = frame(spread=10.0)
    scores = df.select("student_id", "subject", "county_code", "school_code", *[c for c in df.columns if "pv" in c])
    weights = df.select("student_id", "weight", *[c for c in df.columns if c.startswith("rep_")])
    q = quality_indicator(scores, weights, reporting_rule=NO_RULE)
    assert q.height == 2
    for r in q.iter_rows(named=True):
        assert r["level_ok"] == (r["share_l3"] >= 0.5)
        assert r["diff_ok"] == (r["between_share"] < 0.15)
        want = {"达到": True, "未达到": False, "无法判定": None}[r["quality_verdict"]]
        assert r["quality_pass"] is want
        parts = {r["level_verdict"], r["diff_verdict"]}
        assert r["quality_verdict"] == ("未达到" if "未达到" in parts else "达到" if parts == {"达到"} else "无法判定")
    strict = quality_indicator(scores, weights, rules=QualityRules(max_between_share=-1.0), reporting_rule=NO_RULE)
    assert (strict["quality_verdict"] == "未达到").all()
    cv = quality_indicator(scores, weights, rules=QualityRules(diff_rule="cv", max_diff_rate=-1.0), reporting_rule=NO_RULE)
    assert (cv["diff_verdict"] == "未达到").all()


def test_three_outcomes_from_one_sided_bounds_hand_worked():
    """One-sided 95 % bounds L, U = e ∓ t(ν; 0.95)·SE; t(5; 0.95) = 2.015048, t(8; 0.95) = 1.859548,
    z(0.95) = 1.644854 (tables).

    "below 0.15" (strict): 0.08 + 2.015048·0.03 = 0.14045 < 0.15 → 达到 (the old two-sided rule,
    t(5; 0.975) = 2.570582, gave U = 0.15712 → 无法判定); 0.10 ± 0.06045 = [0.0395, 0.1605] →
    无法判定; 0.25 − 2.015048·0.04 = 0.16940 ≥ 0.15 → 未达到; 0.15 with SE 0 → 未达到 (not below).
    "at least 0.5": 0.62 − 1.859548·0.06 = 0.50843 → 达到; 0.55 ± 0.11157 → 无法判定;
    0.38 + 0.11157 = 0.49157 < 0.5 → 未达到; a missing estimate → null."""
    from junheng.indicators.quality import classify

    g = pl.DataFrame({"e": [0.08, 0.10, 0.25, 0.15], "se": [0.03, 0.03, 0.04, 0.0], "df": [5.0] * 4})
    got = g.select(classify(pl.col("e"), pl.col("se"), pl.col("df"), 0.15, higher_is_better=False,
                            strict=True)).to_series()
    assert got.to_list() == ["达到", "无法判定", "未达到", "未达到"]
    f = pl.DataFrame({"e": [0.62, 0.55, 0.38, None], "se": [0.06] * 4, "df": [8.0] * 4})
    got = f.select(classify(pl.col("e"), pl.col("se"), pl.col("df"), 0.5, higher_is_better=True)).to_series()
    assert got.to_list() == ["达到", "无法判定", "未达到", None]
    # the bound is one-sided: a two-sided 95 % interval (confidence 0.975 per side) leaves 0.08 open
    two = g.head(1).select(classify(pl.col("e"), pl.col("se"), pl.col("df"), 0.15, higher_is_better=False,
                                    strict=True, confidence=0.975)).item()
    assert two == "无法判定"
    # df unknown → the normal quantile: 0.55 − 1.644854·0.025 = 0.50888 → 达到; 0.54 → 0.49888 → 无法判定
    h = pl.DataFrame({"e": [0.55, 0.54], "se": [0.025] * 2, "df": [None, None]},
                     schema={"e": pl.Float64, "se": pl.Float64, "df": pl.Float64})
    got = h.select(classify(pl.col("e"), pl.col("se"), pl.col("df"), 0.5, higher_is_better=True)).to_series()
    assert got.to_list() == ["达到", "无法判定"]


# one-sided upper-tail t quantiles as printed in a statistical table (3 decimals; e.g. NIST/SEMATECH
# e-Handbook 1.3.6.7.2, "Critical values of Student's t distribution"), not computed by scipy
T_TABLE = {(4, 0.95): 2.132, (5, 0.95): 2.015, (6, 0.95): 1.943, (7, 0.95): 1.895, (8, 0.95): 1.860,
           (9, 0.95): 1.833, (30, 0.95): 1.697, (5, 0.975): 2.571, (8, 0.975): 2.306}
Z_TABLE = {0.95: 1.645, 0.975: 1.960}


def test_the_quantile_of_the_bound_agrees_with_the_printed_table():
    from junheng.indicators import one_sided_t

    for (nu, c), t in T_TABLE.items():
        assert float(one_sided_t(nu, c)) == pytest.approx(t, abs=5e-4), (nu, c)
    for c, z in Z_TABLE.items():  # ν unknown (missing, not finite, ≤ 0) → the normal quantile
        for nu in (np.nan, np.inf, 0.0, -3.0):
            assert float(one_sided_t(nu, c)) == pytest.approx(z, abs=5e-4), (nu, c)


def test_counties_at_the_boundary_pin_the_one_sided_quantile_and_the_df():
    """Estimates placed between the limits that neighbouring quantiles give, so that the bound
    with two-sided 97.5 %, with ν ± 1 or with the normal quantile changes the verdict (table values).

    "below 0.15", SE 0.03, ν = 5: 达到 needs e < 0.15 − 2.015·0.03 = 0.08955.
      e = 0.0880: U = 0.0880 + 0.06045 = 0.14845 → 达到; with ν = 4 (2.132) U = 0.15196 and with
      t(5; 0.975) = 2.571 U = 0.16513 → both would give 无法判定.
      e = 0.0905: U = 0.15095 → 无法判定; with ν = 6 (1.943) U = 0.14879 and with z = 1.645
      U = 0.13985 → both would give 达到.
    "at least 0.5", SE 0.06, ν = 8: 达到 needs e ≥ 0.5 + 1.860·0.06 = 0.6116.
      e = 0.6125: L = 0.50090 → 达到; with ν = 7 (1.895) L = 0.49880 → 无法判定.
      e = 0.6105: L = 0.49890 → 无法判定; with ν = 9 (1.833) L = 0.50052, with z L = 0.51180 → 达到."""
    from junheng.indicators.quality import classify

    def verdicts(e, se, df, thr, hib, **kw):
        f = pl.DataFrame({"e": e, "se": [se] * len(e), "df": [df] * len(e)})
        return f.select(classify(pl.col("e"), pl.col("se"), pl.col("df"), thr, higher_is_better=hib,
                                 **kw)).to_series().to_list()

    # the hand-worked limits from the table values above
    assert 0.0880 + T_TABLE[5, 0.95] * 0.03 < 0.15 < 0.0880 + T_TABLE[4, 0.95] * 0.03
    assert 0.0905 + T_TABLE[6, 0.95] * 0.03 < 0.15 < 0.0905 + T_TABLE[5, 0.95] * 0.03
    assert 0.6125 - T_TABLE[7, 0.95] * 0.06 < 0.5 < 0.6125 - T_TABLE[8, 0.95] * 0.06
    assert 0.6105 - T_TABLE[8, 0.95] * 0.06 < 0.5 < 0.6105 - T_TABLE[9, 0.95] * 0.06
    below = {"thr": 0.15, "hib": False, "strict": True}
    assert verdicts([0.0880, 0.0905], 0.03, 5.0, **below) == ["达到", "无法判定"]
    assert verdicts([0.0880, 0.0905], 0.03, 4.0, **below) == ["无法判定", "无法判定"]  # ν − 1
    assert verdicts([0.0880, 0.0905], 0.03, 6.0, **below) == ["达到", "达到"]  # ν + 1
    assert verdicts([0.0880, 0.0905], 0.03, None, **below) == ["达到", "达到"]  # normal
    assert verdicts([0.0880], 0.03, 5.0, **below, confidence=0.975) == ["无法判定"]  # two-sided 95 %
    assert verdicts([0.6125, 0.6105], 0.06, 8.0, 0.5, True) == ["达到", "无法判定"]
    assert verdicts([0.6125, 0.6105], 0.06, 7.0, 0.5, True) == ["无法判定", "无法判定"]
    assert verdicts([0.6125, 0.6105], 0.06, 9.0, 0.5, True) == ["达到", "达到"]


def test_an_estimate_without_a_standard_error_is_undecided():
    """No SE (null or NaN: e.g. a replicate in which the share cannot be computed) is no evidence
    of conformity: 无法判定, never a verdict on the point estimate alone."""
    from junheng.indicators.quality import classify

    f = pl.DataFrame({"e": [0.05, 0.40, 0.05, 0.05], "se": [None, None, float("nan"), 0.0], "df": [5.0] * 4})
    got = f.select(classify(pl.col("e"), pl.col("se"), pl.col("df"), 0.15, higher_is_better=False,
                            strict=True)).to_series().to_list()
    assert got == ["无法判定", "无法判定", "无法判定", "达到"]
    g = pl.DataFrame({"e": [0.9], "se": [float("nan")], "df": [5.0]})
    assert g.select(classify(pl.col("e"), pl.col("se"), pl.col("df"), 0.5, higher_is_better=True)).item() == "无法判定"


def test_each_criterion_is_judged_with_its_own_estimate_se_and_df():
    """quality_indicator pairs each criterion with its own columns: the verdicts recomputed by
    hand (scipy's t at the reported df) from share_l3 / share_l3_se / share_l3_df and from the
    pooled between-school share with its own SE and df agree row by row."""
    from scipy import stats

    from junheng.survey import NO_RULE

    df = frame(per=12)
    q = quality_indicator(df.select("student_id", "county_code", "subject", "school_code", "^pv.*$",
                                    "^level_pv.*$"), df.select("student_id", "weight", "^rep_.*$"),
                          reporting_rule=NO_RULE)

    def t(nu):
        return stats.t.ppf(0.95, nu) if nu is not None and np.isfinite(nu) and nu > 0 else stats.norm.ppf(0.95)

    for r in q.iter_rows(named=True):
        lo = r["share_l3"] - t(r["share_l3_df"]) * r["share_l3_se"]
        hi = r["share_l3"] + t(r["share_l3_df"]) * r["share_l3_se"]
        assert r["level_verdict"] == ("达到" if lo >= 0.5 else "未达到" if hi < 0.5 else "无法判定")
        e, se, nu = r["pooled_between_share"], r["pooled_between_share_se"], r["pooled_between_share_df"]
        lo, hi = e - t(nu) * se, e + t(nu) * se
        assert r["diff_verdict"] == ("达到" if hi < 0.15 else "未达到" if lo >= 0.15 else "无法判定")

def _counties(seed, shares, n_schools=40, per=7, subjects=("语文", "数学", "英语", "科学"), meas=0.3):
    """Pupil scores of counties with known between-school shares (one per county): school effects
    shared by the subjects, σ_b² + σ_w² = 1 on θ, plausible values θ + N(0, meas²) (so the share
    on the PV scale is σ_b² / (1 + meas²)); every pupil at 水平Ⅳ, so Q9 turns on the share alone.
    JK2 replicates: the schools of each county paired into zones (one replicate per zone)."""
    rng = np.random.default_rng(seed)
    rows, zones = [], n_schools // 2
    for k, share in enumerate(shares):
        b = rng.normal(0, np.sqrt(share), n_schools)
        for s in subjects:
            school = np.repeat(np.arange(n_schools), per)
            theta = b[school] + rng.normal(0, np.sqrt(1 - share), school.size)
            f = {"county_code": f"41{k:04d}", "subject": s, "school": school, "k": k}
            f |= {f"pv{m}": theta + rng.normal(0, meas, school.size) for m in range(1, 4)}
            rows.append(pl.DataFrame(f))
    df = pl.concat(rows).with_row_index("i").with_columns(
        student_id=pl.col("i").cast(pl.String), school_code=pl.concat_str("county_code", pl.col("school").cast(pl.String)),
        weight=pl.lit(10.0), level_pv1=pl.lit(4), level_pv2=pl.lit(4), level_pv3=pl.lit(4))
    zone = (df["k"] * zones + df["school"] // 2).to_numpy()
    odd = (df["school"] % 2).to_numpy()
    reps = {f"rep_{r + 1}": np.where(zone == r, np.where(odd == 1, 0.0, 20.0), 10.0) for r in range(len(shares) * zones)}
    return df.with_columns(**{c: pl.Series(v) for c, v in reps.items()})


def test_q9_verdict_recovers_simulated_truth():
    """Simulation with known truth (issue 13.5): counties whose true between-school share is well
    below 0.15 get 达到, well above get 未达到, on the threshold 无法判定 (each wrong verdict at
    most 5 % by construction, so ≤ 2 of 12 draws at the threshold).  The pooled share averages
    the four subjects' estimates: unbiased, and its SE about half a single subject's."""
    from junheng.survey import NO_RULE

    meas2 = 0.09
    # true shares on the PV scale: 0.02, 0.40 and exactly 0.15 (σ_b² = 0.15·(1 + meas²))
    shares = [0.02 * (1 + meas2), 0.40 * (1 + meas2), 0.15 * (1 + meas2)]
    verdicts, pooled, single = {0: [], 1: [], 2: []}, {0: [], 1: [], 2: []}, []
    for seed in range(12):
        df = _counties(seed, shares)
        scores = df.select("student_id", "subject", "county_code", "school_code", "^pv.*$", "^level_pv.*$")
        weights = df.select("student_id", "weight", "^rep_.*$")
        q = quality_indicator(scores, weights, reporting_rule=NO_RULE)
        for k in range(3):
            rows = q.filter(pl.col("county_code") == f"41{k:04d}")
            assert rows["level_verdict"].to_list() == ["达到"] * 4
            verdicts[k].append(rows["diff_verdict"][0])
            pooled[k].append(rows["pooled_between_share"][0])
            assert rows["pooled_between_share"][0] == pytest.approx(rows["between_share"].mean(), rel=1e-9)
            assert rows["pooled_subjects"][0] == 4
        c = q.filter(pl.col("county_code") == "410000")
        single.append((c["pooled_between_share_se"][0], c["between_share_se"].mean()))
    assert verdicts[0] == ["达到"] * 12
    assert verdicts[1] == ["未达到"] * 12
    assert sum(v != "无法判定" for v in verdicts[2]) <= 2
    assert np.mean(pooled[0]) == pytest.approx(0.02, abs=0.01)
    assert np.mean(pooled[1]) == pytest.approx(0.40, abs=0.04)
    assert np.mean(pooled[2]) == pytest.approx(0.15, abs=0.02)
    ratio = np.mean([p / s for p, s in single])
    assert 0.35 < ratio < 0.7


def test_pooled_share_leaves_out_a_withheld_subject():
    """``keep``: the pupils of a masked subject do not enter the county's pooled share, which is
    then the mean of the other subjects' shares."""
    from junheng.indicators.quality import between_school_share

    df = _counties(1, [0.1, 0.3], n_schools=12)
    d = ReplicateDesign(df, "weight", "rep_*")
    per = between_school_share(d, ["county_code", "subject"])
    keep = (df["subject"] != "英语").to_numpy()
    pooled = between_school_share(d, ["county_code"], pool="subject", keep=keep).sort("county_code")
    want = per.filter(pl.col("subject") != "英语").group_by("county_code").agg(pl.col("between_share").mean()) \
        .sort("county_code")
    assert pooled["between_share"].to_list() == pytest.approx(want["between_share"].to_list(), rel=1e-9)
    assert pooled["n_pooled"].to_list() == [3, 3] and pooled["n_schools"].to_list() == [12, 12]
    assert (pooled["between_share_se"] > 0).all()


def _components(seed, n_schools=400, per=7, sigma_b=0.3, sigma_w=0.9, pvs=5, meas=0.0):
    rng = np.random.default_rng(seed)
    school = np.repeat(np.arange(n_schools), per)
    theta = rng.normal(0, sigma_b, n_schools)[school] + rng.normal(0, sigma_w, school.size)
    d = {"student_id": np.arange(school.size).astype(str), "school_code": school.astype(str),
         "g": ["a"] * school.size, "weight": np.ones(school.size)}
    for r in range(1, 41):
        d[f"rep_{r}"] = np.where(school % 40 == r - 1, np.where(school % 80 < 40, 0.0, 2.0), 1.0)
    for m in range(1, pvs + 1):
        d[f"pv{m}"] = theta + rng.normal(0, meas, school.size)
    return pl.DataFrame(d)


def test_between_school_share_recovers_known_components():
    """σ_b² = 0.09, σ_w² = 0.81 (true share 0.10), 7 pupils per school: the naive share of the
    variance of school means is about 0.09 + 0.81/7 = 0.206 of 0.90; the estimator removes the
    sampling part and recovers 0.10 (mean of 20 samples within 0.01), also when the plausible
    values carry measurement error (σ_e = 0.4: true share 0.09 / (0.90 + 0.16))."""
    from junheng.indicators.quality import between_school_share

    est = []
    for seed in range(20):
        d = ReplicateDesign(_components(seed), "weight", "rep_*")
        est.append(between_school_share(d, ["g"])["between_share"][0])
    assert np.mean(est) == pytest.approx(0.10, abs=0.01)
    naive = _components(0).group_by("school_code").agg(pl.col("pv1").mean())["pv1"].var() / 0.90
    assert naive > 0.18
    noisy = [between_school_share(ReplicateDesign(_components(s, meas=0.4), "weight", "rep_*"), ["g"])
             for s in range(20)]
    assert np.mean([r["between_share"][0] for r in noisy]) == pytest.approx(0.09 / 1.06, abs=0.01)
    r = noisy[0].row(0, named=True)
    assert r["between_share_se"] > 0 and r["between_share_df"] > 1 and r["n_schools"] == 400


def test_the_cv_reading_is_judged_with_its_own_df():
    """diff_rule="cv" judges the 差异系数 of school means with its own design df (Barnard–Rubin
    over the PVs, as every estimate), not with the Ⅲ级以上 share's: recomputed by hand with
    scipy's t at diff_rate_df, row by row."""
    from scipy import stats

    from junheng.survey import NO_RULE

    df = frame(per=12)
    q = quality_indicator(df.select("student_id", "county_code", "subject", "school_code", "^pv.*$", "^level_pv.*$"),
                          df.select("student_id", "weight", "^rep_.*$"), rules=QualityRules(diff_rule="cv"),
                          reporting_rule=NO_RULE)
    assert q["diff_rate_df"].is_not_null().all()
    assert (q["diff_rate_df"] != q["share_l3_df"]).any()  # the two estimates' dfs differ here
    for r in q.iter_rows(named=True):
        t = stats.t.ppf(0.95, r["diff_rate_df"])
        lo, hi = r["diff_rate"] - t * r["diff_rate_se"], r["diff_rate"] + t * r["diff_rate_se"]
        assert r["diff_verdict"] == ("达到" if hi < 0.15 else "未达到" if lo >= 0.15 else "无法判定")


def test_a_county_below_the_reporting_rule_gets_no_verdict_at_all():
    """Each county here has 6 sampled schools (150 pupils).  Under a rule asking for 7 schools its
    estimates are withheld, and so is every verdict (null — not 无法判定, which would claim the
    figures were looked at); asking for 6 schools, the same counties get verdicts."""
    from junheng.survey import ReportingRule

    df = frame(spread=10.0)
    scores = df.select("student_id", "subject", "county_code", "school_code", *[c for c in df.columns if "pv" in c])
    weights = df.select("student_id", "weight", *[c for c in df.columns if c.startswith("rep_")])
    withheld = quality_indicator(scores, weights, reporting_rule=ReportingRule(min_pupils=100, min_schools=7))
    assert withheld.height == 2
    for col in ("share_l3", "level_verdict", "diff_verdict", "quality_verdict"):
        assert withheld[col].null_count() == 2, col
    shown = quality_indicator(scores, weights, reporting_rule=ReportingRule(min_pupils=100, min_schools=6))
    assert shown["quality_verdict"].null_count() == 0 and shown["share_l3"].null_count() == 0


def test_the_level_verdict_uses_the_design_df_not_the_normal_quantile():
    """With 4 jackknife replicates a county's share has about 2.5 df: its one-sided bound uses
    t(ν) (about 2.5 here), not the normal 1.645.  In this sample county 410102's share lies where the
    normal bound would say 达到 but the t bound (scipy's quantile, worked here) does not."""
    from scipy import stats

    from junheng.survey import NO_RULE

    df = frame(seed=14, spread=10.0)
    q = quality_indicator(df.select("student_id", "subject", "county_code", "school_code", *[c for c in df.columns if "pv" in c]),
                          df.select("student_id", "weight", *[c for c in df.columns if c.startswith("rep_")]),
                          reporting_rule=NO_RULE)
    r = q.filter(pl.col("county_code") == "410102").row(0, named=True)
    e, se, nu = r["share_l3"], r["share_l3_se"], r["share_l3_df"]
    assert 1 < nu < 5
    assert e - stats.norm.ppf(0.95) * se >= 0.5 > e - stats.t.ppf(0.95, nu) * se  # the case that tells them apart
    assert e + stats.t.ppf(0.95, nu) * se >= 0.5
    assert r["level_verdict"] == "无法判定"
