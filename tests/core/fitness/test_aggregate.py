"""Aggregates against hand-computed rates (weighted and unweighted)."""

from __future__ import annotations

import polars as pl
import pytest

from junheng.fitness import score_fitness, summarize, summarize_levels

# Four grade-1 boys (scored by hand in test_score_cards: 85.3 良好, 90.0 优秀) plus variants.
BASE = dict(grade=1, sex=1, height_cm="120.0", weight_kg="25.0", vital_capacity="1250", run_50m="10.8",
            sit_and_reach="0.0", rope_skipping="120")


def _frame():
    recs = [
        dict(BASE, county="A", weight=1.0, vision_left="5.0", vision_right="5.1"),  # 85.3 良好, vision 正常
        dict(BASE, county="A", weight=3.0, vital_capacity="1400", run_50m="10.2", sit_and_reach="7.7",
             rope_skipping="109", vision_left="4.8", vision_right="5.0"),  # 90.0 优秀, vision 中度
        dict(BASE, county="A", weight=2.0, weight_kg="40.0", rope_skipping="10", sit_and_reach="-9.0",
             run_50m="14.0", vital_capacity="600", vision_left="4.4", vision_right="4.9"),  # see below
        dict(BASE, county="B", weight=5.0, rope_skipping=None),  # incomplete
        dict(BASE, county="B", weight=7.0, exempt=True),  # exempt
    ]
    return score_fitness(pl.DataFrame(recs, infer_schema_length=None))


def test_third_record_is_a_hand_checked_fail():
    # BMI 40.0/1.44 = 27.8 肥胖 → 60; 肺活量 600 < 620 (40-point mark? 500→10, 540→20, 580→30) → 30;
    # 50米 14.0 > 13.6 → 0; 坐位体前屈 −9.0 < −4.0 → 0; 跳绳 10 ≥ 8 → 30.
    # 15·60 + 15·30 + 0 + 0 + 20·30 = 1950 → 19.5 不及格
    row = _frame().row(2, named=True)
    assert (row["vital_capacity_score"], row["run_50m_score"], row["rope_skipping_score"]) == (30, 0, 30)
    assert row["total_score"] == 19.5 and row["rating"] == "不及格" and row["bmi_class"] == "肥胖"


def test_unweighted_rates_by_county():
    s = summarize(_frame(), ["county"], weight=None)
    a = s.filter(pl.col("county") == "A").row(0, named=True)
    assert (a["n_records"], a["n_tested"], a["n_exempt"], a["n_incomplete"]) == (3, 3, 0, 0)
    assert a["pass_rate"] == pytest.approx(2 / 3)
    assert a["good_rate"] == pytest.approx(2 / 3)
    assert a["excellent_rate"] == pytest.approx(1 / 3)
    assert a["fail_rate"] == pytest.approx(1 / 3)
    assert a["total_score_mean"] == pytest.approx((85.3 + 90.0 + 19.5) / 3)
    assert a["obesity_rate"] == pytest.approx(1 / 3)
    assert a["vision_poor_rate"] == pytest.approx(2 / 3)
    assert a["vision_moderate_rate"] == pytest.approx(1 / 3) and a["vision_severe_rate"] == pytest.approx(1 / 3)
    assert a["run_50m_mean"] == pytest.approx((10.8 + 10.2 + 14.0) / 3)
    assert a["run_50m_pass_rate"] == pytest.approx(2 / 3)  # 78, 100, 0
    assert a["run_50m_good_rate"] == pytest.approx(1 / 3) and a["run_50m_fail_rate"] == pytest.approx(1 / 3)
    b = s.filter(pl.col("county") == "B").row(0, named=True)
    assert (b["n_records"], b["n_tested"], b["n_exempt"], b["n_incomplete"]) == (2, 0, 1, 1)
    assert b["pass_rate"] is None  # no tested pupil: no rate, not 0
    assert b["vital_capacity_n"] == 1  # the incomplete record's items still count item by item


def test_weighted_rates_are_hajek_ratios():
    a = summarize(_frame(), ["county"]).filter(pl.col("county") == "A").row(0, named=True)
    assert a["pass_rate"] == pytest.approx((1 + 3) / 6)
    assert a["excellent_rate"] == pytest.approx(3 / 6)
    assert a["total_score_mean"] == pytest.approx((85.3 + 3 * 90.0 + 2 * 19.5) / 6)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -2.0])
def test_a_nan_infinite_or_negative_weight_is_refused_by_record_number(bad):
    """It made the weighted rates of its group NaN — county A's cells blank, no message (the census path
    refused it already); a null weight is no weight (0) and stays allowed."""
    from junheng.exceptions import InputError

    frame = _frame().with_columns(pl.Series("weight", [1.0, 3.0, bad, 5.0, None]))
    with pytest.raises(InputError) as info:
        summarize(frame, ["county"], file="scored.parquet")
    [issue] = info.value.errors
    assert (issue.row, issue.column, issue.file) == (3, "weight", "scored.parquet")
    assert issue.value == bad or (bad != bad and issue.value != issue.value)
    text = str(info.value)
    assert "scored.parquet: 1 条记录的权重无效，未汇总" in text and "1 record(s) with an invalid weight" in text
    assert "第3行" in text and "a weight must be a finite number ≥ 0" in text
    with pytest.raises(InputError):
        summarize_levels(frame, ("county", None), ("grade",))
    assert summarize(frame, ["county"], weight=None)["pass_rate"][0] == pytest.approx(2 / 3)  # unweighted: no weight read
    a = summarize(frame.with_columns(pl.col("weight").fill_nan(None).clip(0.0, None).replace(float("inf"), None)),
                  ["county"]).filter(pl.col("county") == "A").row(0, named=True)
    assert a["pass_rate"] == pytest.approx(1.0)  # a null weight: record 3 (a fail) counts 0 → (1 + 3) / (1 + 3)


def test_levels_stack_with_the_whole_file():
    t = summarize_levels(_frame(), ("county", None), ("grade",), weight=None)
    assert t.filter(pl.col("level") == "all")["n_records"].to_list() == [5]
    assert sorted(t.filter(pl.col("level") == "county")["unit"].to_list()) == ["A", "B"]
