"""A reduced battery (issue 13.11): Henan 2023 did not test 50米跑 and 50米×8往返跑.

Hand-worked: grade 5–6 weights (ref/fitness/weights.csv) BMI 15, 肺活量 15, 50米跑 20,
坐位体前屈 10, 一分钟跳绳 10, 一分钟仰卧起坐 20, 50米×8往返跑 10.  Without the two runs the
remaining 70 are rescaled to 100, so 标准分 = (15·BMI + 15·肺活量 + 10·坐位体前屈 + 10·跳绳 +
20·仰卧起坐) / 70, 四舍五入 to one decimal.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from junheng.exceptions import ParameterError
from junheng.fitness import Battery, load_standard, reduced_weights, score_fitness

RECORDS = pl.DataFrame({
    "grade": [5, 5, 6, 5], "sex": [1, 2, 1, 1], "height_cm": [145.0, 142.0, 150.0, 145.0],
    "weight_kg": [38.0, 35.0, 60.0, 38.0], "vital_capacity": [2000, 1800, 2500, 2000],
    "sit_and_reach": [5.0, 12.0, 3.0, 5.0], "rope_skipping": [130, 150, 90, 130], "sit_ups": [35, 40, 20, None],
})
HENAN_2023 = Battery.parse("50米跑,50米×8往返跑", source="河南省 2023 年学生体质健康测试")


def test_parse_names_and_refuse_unknown_items():
    assert HENAN_2023.dropped == ("run_50m", "shuttle_50x8")
    with pytest.raises(ParameterError):
        Battery(("bmi",))  # BMI is measured, never dropped
    with pytest.raises(ParameterError):
        Battery.parse("100米跑")


def test_full_battery_leaves_every_record_incomplete():
    full = score_fitness(RECORDS)
    assert not full["complete"].any() and full["standard_score"].is_null().all()


def test_reduced_battery_scores_by_the_reweighting_rule_hand_worked():
    out = score_fitness(RECORDS, battery=HENAN_2023)
    # the item scores the hand-work uses (each looked up in the standard's tables)
    items = out.select("bmi_score", "vital_capacity_score", "sit_and_reach_score", "rope_skipping_score",
                       "sit_ups_score").rows()
    assert items[:3] == [(100, 74, 72, 80, 76), (100, 78, 78, 90, 80), (60, 80, 70, 66, 60)]
    # (15·100 + 15·74 + 10·72 + 10·80 + 20·76) / 70 = 5650 / 70 = 80.714… → 80.7 良好
    # (15·100 + 15·78 + 10·78 + 10·90 + 20·80) / 70 = 5950 / 70 = 85.0 良好
    # (15·60 + 15·80 + 10·70 + 10·66 + 20·60) / 70 = 4660 / 70 = 66.571… → 66.6 及格
    assert out["standard_score"].to_list()[:3] == [80.7, 85.0, 66.6]
    assert out["total_score"].to_list()[:3] == [80.7, 85.0, 66.6]  # no 附加分 at these counts
    assert [str(r) for r in out["rating"].to_list()[:3]] == ["良好", "良好", "及格"]
    # a kept item missing (仰卧起坐) still makes the record incomplete
    assert out["complete"].to_list() == [True, True, True, False]
    assert out["standard_score"][3] is None


def test_reduced_weights_sum_to_100_and_keep_proportions():
    std = load_standard()
    w = reduced_weights(std.weights, std.weight_fields, HENAN_2023.dropped)
    tested = std.weights.sum(axis=1) > 0
    np.testing.assert_allclose(w[tested].sum(axis=1), 100.0)
    row = (5 - 1) * 2  # grade 5 boys
    f = std.weight_fields
    assert w[row, f.index("sit_ups")] == pytest.approx(20 * 100 / 70)
    assert w[row, f.index("run_50m")] == 0.0
