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
        assert r["diff_ok"] == (r["diff_rate"] < 0.15)
        assert r["quality_pass"] == (r["level_ok"] and r["diff_ok"])
    strict = quality_indicator(scores, weights, rules=QualityRules(max_diff_rate=0.0), reporting_rule=NO_RULE)
    assert not strict["quality_pass"].any()
