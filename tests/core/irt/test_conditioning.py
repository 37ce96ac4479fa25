"""PV conditioning on every reporting variable, the school mean and the questionnaire's principal
components: checked by simulation against the known (true) county means."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from junheng import irt
from junheng.irt.conditioning import leave_one_out_means, principal_components


def _province(seed: int):
    """60 counties × 8 schools × 50 pupils; county SD 0.35, school SD 0.3 (θ units), a sex gap and a
    questionnaire factor; 28 2PL items in 7 blocks, each pupil 3 blocks (12 items)."""
    rng = np.random.default_rng(seed)
    K, S, P = 60, 8, 50
    county = np.repeat(np.arange(K), S * P)
    school = np.repeat(np.arange(K * S), P)
    female = rng.random(county.size) < 0.5
    factor = rng.normal(size=county.size)
    theta = (rng.normal(0, 0.35, K)[county] + rng.normal(0, 0.3, K * S)[school] + 0.15 * female + 0.3 * factor
             + rng.normal(0, 0.75, county.size))
    items = pl.DataFrame({"item_id": [f"i{j:02d}" for j in range(28)], "model": ["2pl"] * 28,
                          "a": np.exp(rng.normal(0, 0.3, 28)), "b": rng.normal(0, 1, 28)})
    administered, _ = irt.booklet_design(theta.size, 28, 7, 3, random_state=seed)
    df = irt.simulate_responses(items, theta, random_state=seed, administered=administered)
    q = {f"q{i}": np.clip(np.round(2 + factor + rng.normal(0, 0.8, theta.size)), 0, 4) for i in range(6)}
    df = df.with_columns(pl.Series("county", county.astype(str)), pl.Series("school", school.astype(str)),
                         pl.Series("sex", np.where(female, "2", "1")), *[pl.Series(k, v) for k, v in q.items()])
    return items, df, county, theta, list(q)


def _county_slope(pv: pl.DataFrame, county: np.ndarray, theta: np.ndarray) -> float:
    """Slope of the PV county means (averaged over the PVs) on the true county means."""
    m = pv.select(pl.mean_horizontal(pl.selectors.starts_with("pv"))).to_series().to_numpy()
    n = np.bincount(county)
    return float(np.polyfit(np.bincount(county, theta) / n, np.bincount(county, m) / n, 1)[0])


def test_fully_conditioned_pv_county_means_regress_on_the_truth_with_slope_one():
    items, df, county, theta, q = _province(2)
    full = irt.plausible_values(items, df, n=5, conditioning=["county", "sex"], school="school", questionnaire=q,
                                n_quad=41, random_state=1)
    assert 0.97 <= _county_slope(full, county, theta) <= 1.03
    # conditioned on sex only (the old model), county differences shrink by about a third
    sex_only = irt.plausible_values(items, df.drop("county", "school", *q), n=5, conditioning=["sex"],
                                    n_quad=41, random_state=1)
    assert _county_slope(sex_only, county, theta) < 0.9


def test_school_mean_and_questionnaire_keep_the_factor_gap():
    items, df, county, theta, q = _province(3)
    high = (df["q0"] >= 3).to_numpy()
    true_gap = theta[high].mean() - theta[~high].mean()
    full = irt.plausible_values(items, df, n=5, conditioning=["county", "sex"], school="school", questionnaire=q,
                                n_quad=41, random_state=2)
    m = full.select(pl.mean_horizontal(pl.selectors.starts_with("pv"))).to_series().to_numpy()
    assert m[high].mean() - m[~high].mean() == pytest.approx(true_gap, rel=0.05)
    county_only = irt.plausible_values(items, df.drop("school", *q), n=5, conditioning=["county", "sex"],
                                       n_quad=41, random_state=2)
    c = county_only.select(pl.mean_horizontal(pl.selectors.starts_with("pv"))).to_series().to_numpy()
    assert c[high].mean() - c[~high].mean() < 0.9 * true_gap


def test_leave_one_out_means_by_hand():
    out = leave_one_out_means(["a", "a", "a", "b", "c", "c"], [1.0, 2.0, 6.0, 5.0, 3.0, 7.0])
    # a: (2+6)/2, (1+6)/2, (1+2)/2; b alone → overall mean 4; c: 7, 3
    np.testing.assert_allclose(out, [4.0, 3.5, 1.5, 4.0, 7.0, 3.0])


def test_principal_components_keep_the_share_of_variance():
    rng = np.random.default_rng(0)
    f1, f2 = rng.normal(size=(2, 3000))
    cols = {f"x{i}": (f1 if i < 4 else f2) + rng.normal(0, 0.15, 3000) for i in range(8)}
    frame = pl.DataFrame(cols)
    pcs = principal_components(frame, list(cols), share=0.9)
    assert pcs.columns == ["pc1", "pc2"]  # two factors explain > 90 % of eight standardised columns
    assert abs(np.corrcoef(pcs["pc1"], pcs["pc2"])[0, 1]) < 1e-8
    # a missing answer: mean-imputed plus a missing indicator, and a categorical column → dummies
    frame = frame.with_columns(pl.when(pl.int_range(3000) % 10 == 0).then(None).otherwise(pl.col("x0")).alias("x0"),
                               pl.Series("kind", rng.choice(["甲", "乙", "丙"], 3000)))
    assert principal_components(frame, [*cols, "kind"], share=1.0).width == 8 + 2 + 1
