"""Log-likelihoods and person scores against independent brute-force integration (scipy.quad).

The oracle below writes each model's probability from its textbook formula and integrates the
marginal likelihood ∫ Π_j P_j(y_j|θ) φ(θ) dθ adaptively; it shares no code with junheng.irt.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from scipy.integrate import quad

from junheng import irt


def p_2pl(a, b, th):
    return 1 / (1 + math.exp(-a * (th - b)))


def p_cat(row, y, th):
    model = row["model"]
    if model in ("2pl", "rasch", "3pl"):
        c = row["c"] or 0.0
        p = c + (1 - c) * p_2pl(row["a"], row["b"], th)
        return p if y == 1 else 1 - p
    steps = [row[f"b_{k}"] for k in range(1, 10) if row.get(f"b_{k}") is not None]
    if model in ("gpcm", "pcm"):
        z = [0.0]
        for b in steps:
            z.append(z[-1] + row["a"] * (th - b))
        e = [math.exp(v) for v in z]
        return e[y] / sum(e)
    # grm
    star = [1.0] + [p_2pl(row["a"], b, th) for b in steps] + [0.0]
    return star[y] - star[y + 1]


def brute_loglik(items: pl.DataFrame, responses: pl.DataFrame) -> float:
    rows = {r["item_id"]: r for r in items.iter_rows(named=True)}
    total = 0.0
    for person in responses.drop("person_id").iter_rows(named=True):
        def f(th, person=person):
            v = math.exp(-th * th / 2) / math.sqrt(2 * math.pi)
            for it, y in person.items():
                if y is not None:
                    v *= p_cat(rows[it], y, th)
            return v
        total += math.log(quad(f, -12, 12, epsabs=1e-13, limit=100)[0])
    return total


@pytest.fixture(scope="module")
def mixed():
    rng = np.random.default_rng(5)
    truth = pl.DataFrame({
        "item_id": ["d1", "d2", "d3", "d4", "p1", "p2"],
        "model": ["2pl", "2pl", "2pl", "2pl", "gpcm", "gpcm"],
        "a": [1.2, 0.8, 1.5, 1.0, 0.9, 1.3], "b": [-0.5, 0.3, 0.0, 1.0, 0.0, 0.2],
        "b_1": [None, None, None, None, -1.0, -0.5], "b_2": [None, None, None, None, 0.2, 0.4],
        "b_3": [None, None, None, None, 1.0, None],
    })
    truth = truth.with_columns(pl.when(pl.col("item_id") == "p2").then(None).otherwise(pl.col("b_3")).alias("b_3"))
    adm = rng.random((120, 6)) < 0.75
    return irt.simulate.simulate_responses(truth, rng.normal(size=120), random_state=6, administered=adm)


@pytest.mark.parametrize("model", ["2pl", "grm", "rasch"])
def test_loglik_at_convergence_equals_brute_force(mixed, model):
    m = irt.IRTModel(model, tol=1e-6, se=None).fit(mixed)
    expected = brute_loglik(m.items_, mixed)
    if model == "rasch":  # the Rasch latent SD is estimated: fold it into the slopes for the oracle
        sd = m.group_sds_["all"]
        items = m.items_.with_columns(pl.col("a") * sd, *[pl.col(c) / sd for c in m.items_.columns
                                                         if c == "b" or c.startswith("b_") and not c.startswith("b_s")])
        expected = brute_loglik(items, mixed)
    # 61 equally spaced nodes on ±6 (spacing 0.2) integrate these smooth integrands to ~1e-8 per
    # person; with an estimated latent SD (Rasch) the normal weights on the fixed grid add ~1e-8
    assert m.loglik_ == pytest.approx(expected, abs=1e-5)


def test_estimate_is_a_maximum_of_the_brute_force_likelihood(mixed):
    m = irt.IRTModel("2pl", tol=1e-7, se=None, max_iter=3000).fit(mixed)
    base = brute_loglik(m.items_, mixed)
    for col, sign in (("a", 1), ("b", -1)):
        if True:
            moved = m.items_.with_columns(pl.when(pl.col("item_id") == "d1").then(pl.col(col) + sign * 0.02)
                                          .otherwise(pl.col(col)).alias(col))
            assert brute_loglik(moved, mixed) < base


def test_3pl_loglik_equals_brute_force():
    truth = pl.DataFrame({"item_id": [f"g{j}" for j in range(6)], "model": ["3pl"] * 6,
                          "a": [1.5, 1.2, 1.8, 1.0, 1.4, 2.0], "b": [-0.5, 0.0, 0.5, 1.0, 0.2, -0.2],
                          "c": [0.2, 0.15, 0.25, 0.2, 0.1, 0.2]})
    d = irt.simulate_responses(truth, np.random.default_rng(8).normal(size=300), random_state=9)
    m = irt.IRTModel("3pl", tol=1e-6, se=None).fit(d)
    assert m.loglik_ == pytest.approx(brute_loglik(m.items_, d), abs=1e-5)  # 61-node rule, see above
    assert (m.items_["c"] > 0).all() and (m.items_["c"] < 0.5).all()


def test_eap_equals_brute_force_posterior_mean(mixed):
    m = irt.IRTModel("2pl", se=None).fit(mixed)
    rows = {r["item_id"]: r for r in m.items_.iter_rows(named=True)}
    got = irt.eap(m, mixed)
    for i, person in enumerate(mixed.drop("person_id").head(15).iter_rows(named=True)):
        def lik(th, person=person):
            v = math.exp(-th * th / 2)
            for it, y in person.items():
                if y is not None:
                    v *= p_cat(rows[it], y, th)
            return v
        z = quad(lik, -12, 12, epsabs=1e-14)[0]
        mean = quad(lambda t: t * lik(t), -12, 12, epsabs=1e-14)[0] / z
        var = quad(lambda t, mean=mean: (t - mean) ** 2 * lik(t), -12, 12, epsabs=1e-14)[0] / z
        assert got["theta_eap"][i] == pytest.approx(mean, abs=1e-6)
        assert got["theta_se"][i] == pytest.approx(math.sqrt(var), abs=1e-6)


def test_wle_and_map_solve_their_equations(mixed):
    d = mixed.select("person_id", "d1", "d2", "d3", "d4")
    m = irt.IRTModel("2pl", se=None).fit(d)
    a, b = m.items_["a"].to_numpy(), m.items_["b"].to_numpy()
    w = irt.wle(m, d)["theta_wle"].to_numpy()
    mp = irt.map_(m, d)["theta_map"].to_numpy()
    Y = d.drop("person_id").to_numpy().astype(float)
    for n in range(40):
        seen = ~np.isnan(Y[n])
        aa, bb, y = a[seen], b[seen], Y[n][seen]
        if seen.sum() == 0:
            continue
        P = 1 / (1 + np.exp(-aa * (w[n] - bb)))
        info = np.sum(aa**2 * P * (1 - P))
        J = np.sum(aa**3 * P * (1 - P) * (1 - 2 * P))  # Warm (1989) for the 2PL
        if abs(w[n]) < 5.9:
            assert np.sum(aa * (y - P)) + J / (2 * info) == pytest.approx(0, abs=1e-5)
        P = 1 / (1 + np.exp(-aa * (mp[n] - bb)))
        assert np.sum(aa * (y - P)) - mp[n] == pytest.approx(0, abs=1e-5)
