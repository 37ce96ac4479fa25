"""Plausible values, latent regression, linking, reporting scale and levels."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from junheng import irt
from junheng.exceptions import InputError, ParameterError

ITEMS = pl.DataFrame({"item_id": [f"i{j}" for j in range(12)], "model": ["2pl"] * 10 + ["gpcm"] * 2,
                      "a": np.linspace(0.7, 1.6, 12), "b": np.linspace(-1.5, 1.5, 12),
                      "b_1": [None] * 10 + [-0.8, -0.2], "b_2": [None] * 10 + [0.4, 0.9]})


def test_plausible_values_are_seeded_and_reproduce_the_latent_distribution():
    rng = np.random.default_rng(1)
    theta = rng.normal(size=4000)
    df = irt.simulate_responses(ITEMS, theta, random_state=2)
    a = irt.plausible_values(ITEMS, df, n=5, random_state=3)
    b = irt.plausible_values(ITEMS, df, n=5, random_state=3)
    assert a.equals(b)
    pv = a.select(pl.selectors.starts_with("pv")).to_numpy()
    assert pv.shape == (4000, 5)
    assert abs(pv.mean()) < 0.06 and pv.std() == pytest.approx(1.0, abs=0.05)


def test_latent_regression_recovers_the_group_difference():
    rng = np.random.default_rng(4)
    x = rng.integers(0, 2, 5000)
    theta = 0.6 * x + rng.normal(0, 0.9, 5000)
    df = irt.simulate_responses(ITEMS, theta, random_state=5).with_columns(pl.Series("urban", np.where(x == 1, "城", "乡")))
    pv = irt.plausible_values(ITEMS, df, n=5, conditioning=["urban"], random_state=6)
    gap = [pv.filter(pl.Series(x == 1))[f"pv{m}"].mean() - pv.filter(pl.Series(x == 0))[f"pv{m}"].mean() for m in range(1, 6)]
    assert np.mean(gap) == pytest.approx(0.6, abs=0.07)
    # EAPs with a common prior shrink the gap: conditioning is what removes that bias
    e = irt.eap(ITEMS, df.drop("urban"))["theta_eap"].to_numpy()
    assert e[x == 1].mean() - e[x == 0].mean() < 0.55


def test_plausible_values_need_a_seed():
    df = irt.simulate_responses(ITEMS, np.zeros(10), random_state=1)
    with pytest.raises(ParameterError, match="random_state"):
        irt.plausible_values(ITEMS, df)


@pytest.mark.parametrize("method", [irt.mean_mean, irt.mean_sigma, irt.stocking_lord, irt.haebara])
def test_linking_recovers_a_known_transformation(method):
    new = irt.transform_items(ITEMS, 1 / 1.25, -0.3 / 1.25)  # base θ = 1.25·θ_new + 0.3
    link = method(new, ITEMS)
    assert link.A == pytest.approx(1.25, abs=1e-5) and link.B == pytest.approx(0.3, abs=1e-5)
    back = link.items(new)
    np.testing.assert_allclose(back["b"].to_numpy(), ITEMS["b"].to_numpy(), atol=1e-4)


def test_linking_needs_two_anchors():
    with pytest.raises(ParameterError, match="anchor"):
        irt.mean_sigma(ITEMS.head(1), ITEMS.tail(5))


def test_reporting_scale_and_levels_by_hand():
    scale = irt.ReportingScale(500, 100).fit([-1.0, 1.0], [1, 1])  # mean 0, SD 1
    assert scale.transform([0.5]).tolist() == [550.0]
    assert scale.inverse([600.0]).tolist() == [1.0]
    lv = irt.levels([399.9, 400, 499.99, 500, 600, np.nan, 800], cuts=[400, 500, 600])
    assert lv.tolist() == [1, 2, 2, 3, 4, 0, 4]
    assert irt.LEVEL_LABELS[4] == "优秀" and irt.LEVEL_NAMES[1] == "水平Ⅰ"
    with pytest.raises(ParameterError, match="increasing"):
        irt.levels([1], cuts=[500, 400, 600])


def test_information_is_a2pq_for_the_2pl():
    info = irt.information(ITEMS.head(1), [0.3])
    a, b = ITEMS["a"][0], ITEMS["b"][0]
    p = 1 / (1 + np.exp(-a * (0.3 - b)))
    assert info["i0"][0] == pytest.approx(a * a * p * (1 - p), rel=1e-12)
    assert irt.expected_scores(ITEMS.head(1), [0.3])["tcc"][0] == pytest.approx(p, rel=1e-12)


def test_rasch_fit_is_near_one_when_the_model_holds():
    items = pl.DataFrame({"item_id": [f"r{j}" for j in range(10)], "model": ["rasch"] * 10, "a": [1.0] * 10,
                          "b": np.linspace(-1.5, 1.5, 10)})
    theta = np.random.default_rng(2).normal(size=3000)
    df = irt.simulate_responses(items, theta, random_state=3)
    f = irt.rasch_fit(items, df, theta)
    assert f["infit"].is_between(0.9, 1.1).all() and f["outfit"].is_between(0.85, 1.15).all()


def test_bad_cells_are_all_reported_with_rows():
    df = pl.DataFrame({"person_id": [1, 2, 3], "i0": ["1", "x", "0"], "i1": ["2.5", "1", "-1"]})
    with pytest.raises(InputError) as exc:
        irt.calibrate(df)
    rows = sorted((i.row, i.column) for i in exc.value.errors)
    assert rows == [(2, "i1"), (3, "i0"), (4, "i1")]  # spreadsheet rows: header is row 1


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"model": "4pl"}, "model"), ({"n_quad": 3}, "n_quad"), ({"tol": 0}, "tol"),
    ({"se": "sandwich"}, "se"), ({"guess_prior": (0.5, 2)}, "guess_prior"), ({"engine": "gpu"}, "engine"),
])
def test_parameters_are_validated(kwargs, match):
    df = irt.simulate_responses(ITEMS, np.random.default_rng(0).normal(size=50), random_state=1)
    with pytest.raises(ParameterError, match=match):
        irt.IRTModel(**kwargs).fit(df)
