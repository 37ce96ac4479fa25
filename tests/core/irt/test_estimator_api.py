"""The estimators' API: item columns taken explicitly or a non-item column refused by name, and
scikit-learn's get_params / set_params / repr."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from junheng import irt
from junheng.exceptions import InputError, ParameterError

ITEMS = pl.DataFrame({"item_id": [f"i{j}" for j in range(8)], "model": ["2pl"] * 8,
                      "a": np.linspace(0.8, 1.5, 8), "b": np.linspace(-1.2, 1.2, 8)})


@pytest.fixture(scope="module")
def responses():
    rng = np.random.default_rng(3)
    df = irt.simulate_responses(ITEMS, rng.normal(size=1500), random_state=4)
    return df.with_columns(pl.Series("sex", rng.integers(1, 3, df.height)).cast(pl.Int8))


def test_a_background_column_is_not_taken_as_an_item(responses):
    # sex coded 1/2 has no score 0: it was silently calibrated as a three-category GPCM item before
    with pytest.raises(InputError) as err:
        irt.IRTModel("2pl", se=None).fit(responses)
    issue = err.value.issues[0]
    assert issue.column == "sex" and "items=" in issue.rule_en and "[0]" in issue.rule_en
    assert len(err.value.issues) == 1  # the eight real items pass


def test_item_columns_taken_explicitly(responses):
    names = [f"i{j}" for j in range(8)]
    fit = irt.IRTModel("2pl", se=None, tol=1e-3).fit(responses, items=names)
    assert fit.items_["item_id"].to_list() == names
    same = irt.calibrate(responses.drop("sex"), "2pl", se=None, tol=1e-3)
    assert np.allclose(fit.items_["a"].to_numpy(), same.items_["a"].to_numpy())
    with pytest.raises(InputError, match="i99"):
        irt.calibrate(responses, "2pl", items=[*names, "i99"])


def test_get_params_set_params_and_repr():
    m = irt.IRTModel("gpcm", n_quad=41)
    p = m.get_params()
    assert p["model"] == "gpcm" and p["n_quad"] == 41 and p["tol"] == 1e-4 and "callback" in p
    assert repr(m) == "IRTModel(model='gpcm', n_quad=41)"
    assert repr(irt.IRTModel()) == "IRTModel()"
    assert m.set_params(tol=1e-3) is m and m.tol == 1e-3
    with pytest.raises(ParameterError, match="n_quads"):
        m.set_params(n_quads=3)
    anchored = irt.IRTModel(fixed_items=ITEMS.head(2))
    assert repr(anchored) == "IRTModel(fixed_items=<DataFrame 2×4>)"
    assert irt.IRTModel(**anchored.get_params()).get_params()["fixed_items"] is anchored.fixed_items
    assert repr(irt.ReportingScale(0, 1)) == "ReportingScale(mean=0, sd=1)"
