"""Hand-worked score cards: every number below was looked up by hand in the tables of
国家学生体质健康标准（2014年修订） (tests/fixtures/fitness/reference/tables.csv, bmi.csv, bonus.csv,
weights.csv) and added up on paper; the comments show the look-ups."""

from __future__ import annotations

import polars as pl
import pytest

from junheng.fitness import score_fitness

CARDS = [
    # grade 1 boy. BMI 25.0/1.20² = 17.36 → 17.4 正常 (13.5–18.1) → 100; 肺活量 1250 ≥ 1240 → 78;
    # 50米 10.8 ≤ 10.8 → 78; 坐位体前屈 0.0 ≥ 0.0 → 60; 跳绳 120 ≥ 109 → 100, +((120−109)//2 = 5).
    # 15·100 + 15·78 + 20·78 + 30·60 + 20·100 = 8030 → 80.3; +5 → 85.3 良好
    dict(grade=1, sex=1, height_cm="120.0", weight_kg="25.0", vital_capacity="1250", run_50m="10.8",
         sit_and_reach="0.0", rope_skipping="120",
         want=dict(bmi=17.4, bmi_score=100, vital_capacity_score=78, run_50m_score=78, sit_and_reach_score=60,
                   rope_skipping_score=100, rope_skipping_bonus=5, standard_score=80.3, bonus_score=5,
                   total_score=85.3, rating="良好", bmi_class="正常")),
    # grade 2 girl. BMI 28.3/1.25² = 18.11 → 18.1 超重 (17.9–20.2) → 80; 肺活量 700 (on the 60 mark) → 60;
    # 50米 12.9: > 12.8 (60), ≤ 13.0 → 50; 坐位体前屈 16.3 (on the 90 mark) → 90; 跳绳 127 (on 100) → 100, +0.
    # 15·80 + 15·60 + 20·50 + 30·90 + 20·100 = 7800 → 78.0 及格
    dict(grade=2, sex=2, height_cm="125.0", weight_kg="28.3", vital_capacity="700", run_50m="12.9",
         sit_and_reach="16.3", rope_skipping="127",
         want=dict(bmi=18.1, bmi_class="超重", bmi_score=80, vital_capacity_score=60, run_50m_score=50,
                   sit_and_reach_score=90, rope_skipping_score=100, rope_skipping_bonus=0, standard_score=78.0,
                   bonus_score=0, total_score=78.0, rating="及格")),
    # grade 4 boy. BMI 45.0/1.40² = 22.96 → 23.0 肥胖 (≥ 22.7) → 60; 肺活量 1900 → 80; 50米 9.0 → 85;
    # 坐位体前屈 −2.2 → 60; 跳绳 177 → 100, +min(20, 40//2) = 20; 仰卧起坐 43 → 90.
    # 15·60 + 15·80 + 20·85 + 20·60 + 20·100 + 10·90 = 7900 → 79.0; +20 → 99.0 优秀
    dict(grade=4, sex=1, height_cm="140.0", weight_kg="45.0", vital_capacity="1900", run_50m="9.0",
         sit_and_reach="-2.2", rope_skipping="177", sit_ups="43",
         want=dict(bmi=23.0, bmi_class="肥胖", bmi_score=60, vital_capacity_score=80, run_50m_score=85,
                   sit_and_reach_score=60, rope_skipping_score=100, rope_skipping_bonus=20, sit_ups_score=90,
                   standard_score=79.0, bonus_score=20, total_score=99.0, rating="优秀")),
    # grade 6 girl. BMI 40.5/1.50² = 18.0 正常 → 100; 肺活量 2010 → 78; 50米 8.25 四舍五入 → 8.3 → 95
    # (half-to-even would give 8.2 → 100); 坐位体前屈 1.85 → 1.9 → 60 (half-even: 1.8 → 50); 跳绳 170 → 100,
    # +(4//2 = 2); 仰卧起坐 46 ≥ 45 → 90; 50米×8 1′40″ = 100 s ≤ 100 → 95.
    # 15·100 + 15·78 + 20·95 + 10·60 + 10·100 + 20·90 + 10·95 = 8920 → 89.2; +2 → 91.2 优秀
    dict(grade=6, sex=2, height_cm="150.0", weight_kg="40.5", vital_capacity="2010", run_50m="8.25",
         sit_and_reach="1.85", rope_skipping="170", sit_ups="46", shuttle_50x8="1'40\"",
         want=dict(bmi=18.0, bmi_score=100, vital_capacity_score=78, run_50m_score=95, sit_and_reach_score=60,
                   rope_skipping_score=100, rope_skipping_bonus=2, sit_ups_score=90, shuttle_50x8_score=95,
                   standard_score=89.2, bonus_score=2, total_score=91.2, rating="优秀")),
    # grade 6 boy. BMI 52.0/1.45² = 24.73 → 24.7 肥胖 (≥ 24.6) → 60; 肺活量 1500 → 60; 50米 10.7 → 50;
    # 坐位体前屈 −4.1 → 50; 跳绳 64 → 50; 仰卧起坐 18 → 50; 50米×8 2′13″ = 133 s → 50.
    # 15·60 + 15·60 + 20·50 + 10·50 + 10·50 + 20·50 + 10·50 = 5300 → 53.0 不及格
    dict(grade=6, sex=1, height_cm="145.0", weight_kg="52.0", vital_capacity="1500", run_50m="10.7",
         sit_and_reach="-4.1", rope_skipping="64", sit_ups="18", shuttle_50x8="2′13″",
         want=dict(bmi=24.7, bmi_class="肥胖", bmi_score=60, vital_capacity_score=60, run_50m_score=50,
                   sit_and_reach_score=50, rope_skipping_score=50, sit_ups_score=50, shuttle_50x8_score=50,
                   standard_score=53.0, bonus_score=0, total_score=53.0, rating="不及格")),
    # grade 8 boy. BMI 55.0/1.65² = 20.20 → 20.2 正常 → 100; 肺活量 3080 → 78; 50米 7.5 → 100; 坐位体前屈 11.6
    # → 80; 立定跳远 226 → 90; 引体向上 16 → 100, +(16 − 14) = 2; 1000米 3′35″ = 215 s → 100, 15 s under
    # 230 → +3 (4, 8, 12 ≤ 15 < 16). 15·100 + 15·78 + 20·100 + 10·80 + 10·90 + 10·100 + 20·100 = 9370
    # → 93.7; +5 → 98.7 优秀
    dict(grade=8, sex=1, height_cm="165.0", weight_kg="55.0", vital_capacity="3080", run_50m="7.5",
         sit_and_reach="11.6", standing_long_jump="226", pull_ups="16", run_1000m="3'35\"",
         want=dict(bmi=20.2, bmi_score=100, vital_capacity_score=78, run_50m_score=100, sit_and_reach_score=80,
                   standing_long_jump_score=90, pull_ups_score=100, pull_ups_bonus=2, run_1000m_score=100,
                   run_1000m_bonus=3, standard_score=93.7, bonus_score=5, total_score=98.7, rating="优秀")),
    # grade 7 girl. BMI 60.0/1.58² = 24.03 → 24.0 超重 (21.8–24.4) → 80; 肺活量 1350 → 60; 50米 9.45 → 9.5
    # → 74; 坐位体前屈 21.8 → 100; 立定跳远 167 → 78; 仰卧起坐 55 → 100, 5 over 50 → +2 (2, 4 ≤ 5 < 6);
    # 800米 3.30 (分.秒) = 210 s → 100, 5 s under 215 → +1. 15·80 + 15·60 + 20·74 + 10·100 + 10·78 +
    # 10·100 + 20·100 = 8360 → 83.6; +3 → 86.6 良好
    dict(grade=7, sex=2, height_cm="158.0", weight_kg="60.0", vital_capacity="1350", run_50m="9.45",
         sit_and_reach="21.8", standing_long_jump="167", sit_ups="55", run_800m="3.30",
         want=dict(bmi=24.0, bmi_class="超重", bmi_score=80, vital_capacity_score=60, run_50m_score=74,
                   sit_and_reach_score=100, standing_long_jump_score=78, sit_ups_score=100, sit_ups_bonus=2,
                   run_800m_score=100, run_800m_bonus=1, standard_score=83.6, bonus_score=3, total_score=86.6,
                   rating="良好")),
    # grade 9 girl without 800米: incomplete — item scores given, no 标准分 / 总分 / 等级.
    # BMI 50.0/1.60² = 19.53 → 19.5 正常 → 100; 肺活量 2950 → 90.
    dict(grade=9, sex=2, height_cm="160.0", weight_kg="50.0", vital_capacity="2950", run_50m="8.1",
         sit_and_reach="20.1", standing_long_jump="190", sit_ups="48",
         want=dict(bmi=19.5, bmi_score=100, vital_capacity_score=90, run_50m_score=90, sit_and_reach_score=90,
                   standing_long_jump_score=90, sit_ups_score=90, run_800m_score=None, standard_score=None,
                   total_score=None, rating=None, complete=False)),
    # grade 1 boy whose weighted sum is 89.95: 15·100 + 15·85 (肺活量 1400) + 20·100 (50米 10.2) + 30·74
    # (坐位体前屈 7.7) + 20·100 (跳绳 109) = 8995 → 标准分 四舍五入 to one decimal = 90.0 → 优秀.
    dict(grade=1, sex=1, height_cm="120.0", weight_kg="25.0", vital_capacity="1400", run_50m="10.2",
         sit_and_reach="7.7", rope_skipping="109",
         want=dict(standard_score=90.0, total_score=90.0, rating="优秀")),
]


@pytest.mark.parametrize("card", CARDS, ids=[f"g{c['grade']}s{c['sex']}-{i}" for i, c in enumerate(CARDS)])
def test_hand_worked_score_card(card):
    card = dict(card)
    want = card.pop("want")
    scored = score_fitness(pl.DataFrame([card]))
    row = scored.row(0, named=True)
    for key, value in want.items():
        assert row[key] == value, (key, row[key], value)


def test_cards_scored_together_equal_cards_scored_alone():
    cards = [{k: v for k, v in c.items() if k != "want"} for c in CARDS]
    together = score_fitness(pl.DataFrame(cards, infer_schema_length=None))
    for i, c in enumerate(cards):
        alone = score_fitness(pl.DataFrame([c]))
        assert together["total_score"][i] == alone["total_score"][0]


def test_exempt_records_are_kept_marked_and_unscored():
    df = pl.DataFrame({"grade": [6], "sex": [1], "height_cm": ["150.0"], "weight_kg": ["40.0"], "exempt": [True]})
    row = score_fitness(df).row(0, named=True)
    assert row["exempt"] is True and row["complete"] is False
    assert row["standard_score"] is None and row["rating"] is None and row["bmi_score"] is None
