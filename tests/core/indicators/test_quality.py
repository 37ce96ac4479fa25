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


def test_three_outcomes_from_the_confidence_interval_hand_worked():
    """share ≥ 0.5 with ν = 4: t(4; 0.975) = 2.7764.  0.60 ± 2.7764·0.03 = [0.517, 0.683] → 达到;
    0.55 ± 2.7764·0.03 = [0.467, 0.633] → 无法判定; 0.40 ± 2.7764·0.03 = [0.317, 0.483] → 未达到.
    share < 0.15 (strict): 0.10 ± 2.7764·0.015 = [0.058, 0.142] → 达到; 0.15 exactly → 未达到 at
    best, so an interval [0.15, …] is 未达到; 0.14 ± 0.0416 → 无法判定."""
    from junheng.indicators.quality import classify

    f = pl.DataFrame({"e": [0.60, 0.55, 0.40, None], "se": [0.03] * 4, "df": [4.0] * 4})
    got = f.select(classify(pl.col("e"), pl.col("se"), pl.col("df"), 0.5, higher_is_better=True)).to_series()
    assert got.to_list() == ["达到", "无法判定", "未达到", None]
    g = pl.DataFrame({"e": [0.10, 0.14, 0.15, 0.25], "se": [0.015, 0.015, 0.0, 0.03], "df": [4.0] * 4})
    got = g.select(classify(pl.col("e"), pl.col("se"), pl.col("df"), 0.15, higher_is_better=False,
                            strict=True)).to_series()
    assert got.to_list() == ["达到", "无法判定", "未达到", "未达到"]
    # with many degrees of freedom the normal quantile 1.96: 0.55 − 1.96·0.025 = 0.501 → 达到
    h = pl.DataFrame({"e": [0.55], "se": [0.025], "df": [None]}, schema={"e": pl.Float64, "se": pl.Float64,
                                                                         "df": pl.Float64})
    assert h.select(classify(pl.col("e"), pl.col("se"), pl.col("df"), 0.5, higher_is_better=True)).item() == "达到"


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
