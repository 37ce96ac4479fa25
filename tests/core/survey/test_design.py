"""ReplicateDesign and the estimators refuse bad parameters with a bilingual message naming the rule."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from junheng.exceptions import InputError, ParameterError
from junheng.survey import (
    NO_RULE,
    ReplicateDesign,
    ReportingRule,
    difference,
    mean,
    proportion,
    quantile,
    regression,
)


def _frame(n: int = 20) -> pl.DataFrame:
    rng = np.random.default_rng(0)
    return pl.DataFrame({"school_code": [str(i // 4) for i in range(n)], "g": [i % 2 for i in range(n)],
                         "y": rng.normal(size=n), "w": np.ones(n), "rep_1": np.ones(n), "rep_2": np.ones(n),
                         "rep_10": np.ones(n), "name": ["x"] * n})


def test_replicates_glob_keeps_numeric_order():
    d = ReplicateDesign(_frame(), "w", "rep_*")
    assert d.replicate_columns == ["rep_1", "rep_2", "rep_10"]
    assert d.scale == 1.0
    assert ReplicateDesign(_frame(), "w", "rep_*", method="fay", fay_k=0.5).scale == pytest.approx(1 / (3 * 0.25))
    assert ReplicateDesign(_frame(), "w", "rep_*", method="brr").scale == pytest.approx(1 / 3)


@pytest.mark.parametrize("kwargs, match", [
    ({"weight": "nope"}, "weight column not found"),
    ({"replicates": "zz*"}, "no replicate weight column matches"),
    ({"replicates": ["rep_1", "rep_9"]}, "replicate weight columns not found"),
    ({"method": "jk1"}, "method must be one of"),
    ({"method": "fay", "fay_k": 1.0}, r"fay_k must be in \[0, 1\)"),
    ({"school": "nope"}, "school column not found"),
    ({"replicates": ["name"]}, "must be numeric"),
])
def test_bad_design_parameters(kwargs, match):
    args = {"weight": "w", "replicates": "rep_*"} | kwargs
    with pytest.raises(ParameterError, match=match):
        ReplicateDesign(_frame(), **args)


def test_every_bad_weight_row_is_reported():
    f = _frame().with_columns(pl.Series("w", [1.0] * 17 + [None, -1.0, float("inf")]))
    with pytest.raises(InputError) as exc:
        ReplicateDesign(f, "w", "rep_*")
    rows = sorted(i.row for i in exc.value.issues)
    assert rows == [19, 20, 21] and all(i.column == "w" for i in exc.value.issues)
    assert "权重" in exc.value.issues[0].message() and "weight" in exc.value.issues[0].message()


def test_bad_estimator_parameters():
    d = ReplicateDesign(_frame(), "w", "rep_*", rule=NO_RULE)
    with pytest.raises(ParameterError, match="exactly one of variable or pv"):
        mean(d)
    with pytest.raises(ParameterError, match="variable column not found"):
        mean(d, "nope")
    with pytest.raises(ParameterError, match="must be numeric"):
        mean(d, "name")
    with pytest.raises(ParameterError, match="grouping columns not found"):
        mean(d, "y", by="nope")
    with pytest.raises(ParameterError, match="at least 2 columns"):
        mean(d, pv="y*")
    with pytest.raises(ParameterError, match=r"q must be in \(0, 1\)"):
        quantile(d, "y", 1.5)
    with pytest.raises(ParameterError, match="invalid comparison column"):
        difference(d, "y", group="g", a=0, b=1, by="g")
    with pytest.raises(ParameterError, match="predictor columns not found"):
        regression(d, "y", ["nope"])
    with pytest.raises(ParameterError, match="minimum reporting sizes"):
        ReportingRule(min_pupils=-1)


def test_reporting_rule_flags_and_suppresses():
    d = ReplicateDesign(_frame(), "w", "rep_*", rule=ReportingRule(min_pupils=11, min_schools=3))
    r = mean(d, "y", by="g")
    assert r["flag"].to_list() == ["few_pupils"] * 2
    assert r["estimate"].is_null().all() and r["n_pupils"].to_list() == [10, 10]
    kept = mean(d.with_rule(ReportingRule(min_pupils=11, min_schools=6, suppress=False)), "y")
    assert kept["flag"][0] == "few_schools" and kept["estimate"][0] is not None
    p = proportion(d.with_rule(NO_RULE), "g")
    assert p["level"].to_list() == ["0", "1"] and p["estimate"].sum() == pytest.approx(1.0)


def test_null_grouping_values_belong_to_no_group():
    f = _frame().with_columns(pl.when(pl.col("g") == 0).then(None).otherwise(pl.col("g")).alias("g"))
    r = mean(ReplicateDesign(f, "w", "rep_*", rule=NO_RULE), "y", by="g")
    assert r["g"].to_list() == [1] and r["n_pupils"][0] == 10


def test_taylor_design_lonely_psu_and_quantile():
    from junheng.exceptions import EstimationError
    from junheng.survey import TaylorDesign

    f = _frame().with_columns(pl.Series("stratum", ["a"] * 16 + ["b"] * 4))  # stratum b: one school
    with pytest.raises(EstimationError, match="single PSU"):
        TaylorDesign(f, "w", strata="stratum", psu="school_code")
    d = TaylorDesign(f, "w", strata="stratum", psu="school_code", lonely_psu="certainty", rule=NO_RULE)
    # a lonely PSU contributes nothing: the total of stratum b alone has zero variance
    t = mean(d, "y", by="stratum")
    assert t["se"][1] == 0.0 and t["se"][0] > 0
    with pytest.raises(ParameterError, match="replicate-weight design"):
        quantile(d, "y", 0.5)
    with pytest.raises(ParameterError, match="lonely_psu"):
        TaylorDesign(f, "w", lonely_psu="adjust")


def test_each_design_class_owns_its_variance():
    """The estimators ask the design for estimates and variances (no dispatch on the class name):
    a renamed subclass estimates as its parent, and the two designs differ where their methods do."""
    from junheng.survey import TaylorDesign

    class CountyDesign(TaylorDesign):
        pass

    f = _frame(40).with_columns(pl.Series("stratum", ["a"] * 20 + ["b"] * 20))
    plain = TaylorDesign(f, "w", strata="stratum", psu="school_code", rule=NO_RULE)
    sub = CountyDesign(f, "w", strata="stratum", psu="school_code", rule=NO_RULE)
    for est in (lambda d: mean(d, "y", by="g"), lambda d: difference(d, "y", group="g", a=0, b=1),
                lambda d: regression(d, "y", ["g"])):
        assert est(sub).equals(est(plain))
    assert not TaylorDesign.replicated and ReplicateDesign.replicated
    with pytest.raises(ParameterError, match="replicate-weight design"):
        quantile(sub, "y", 0.5)
    # Taylor: df = PSUs − strata = 10 − 2; replicate: the variance zones that contribute
    assert mean(plain, "y")["df"][0] == 8.0
