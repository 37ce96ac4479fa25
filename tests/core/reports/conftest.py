"""A small synthetic province with fake replicate weights, fitness records and academic scores.

The fake frames only exercise the report pipeline; the numbers' correctness is tested in
tests/core/indicators and in the survey, fitness and IRT suites.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from junheng.questionnaire import scale_scores
from junheng.reports import ReportInputs, build, county_names
from junheng.synth import province
from junheng.synth.checklist import checklist
from junheng.synth.questionnaire import student_questionnaire, synth_responses


def small_inputs() -> ReportInputs:
    """The small province's report inputs (also used by scripts that render it for a look)."""
    prov = province(0.01, 3)
    rng = np.random.default_rng(11)
    pupils = prov.pupils.join(prov.schools.select("school_code", "county_code", "location"), on="school_code")
    pupils = pupils.join(county_names().select("county_code", "city_code"), on="county_code")
    n = pupils.height
    subjects = np.array(["语文", "数学", "英语", "科学"])[np.arange(n) % 4]
    sample = pupils.select("student_id", "school_code", "county_code", "city_code", "sex", "location").with_columns(
        subject=pl.Series(subjects))
    w = np.full(n, 100.0)
    reps = {f"rep_{r}": w * np.exp(rng.normal(0, 0.05, n)) for r in range(1, 9)}
    weights = sample.select("student_id", "school_code").with_columns(
        weight=pl.Series(w), responded=pl.lit(True), **{k: pl.Series(v) for k, v in reps.items()})
    ratings = np.array(["优秀", "良好", "及格", "不及格"])[rng.choice(4, n, p=[0.15, 0.4, 0.38, 0.07])]
    fitness = sample.with_columns(
        rating=pl.Series(ratings), bmi_class=pl.Series(np.array(["正常", "超重", "肥胖", "低体重"])[rng.choice(4, n)]),
        vision_class=pl.Series(np.array(["正常", "轻度", "中度", "重度"])[rng.choice(4, n)]),
        complete=pl.lit(True), exempt=pl.lit(False))
    theta = 500 + rng.normal(0, 100, n)
    scores = sample.select("student_id", "subject").with_columns(
        **{f"pv{m}": pl.Series(theta + rng.normal(0, 30, n)) for m in range(1, 6)})
    scores = scores.with_columns(
        **{f"level_pv{m}": pl.Series(np.digitize(scores[f"pv{m}"].to_numpy(), [420, 500, 600]) + 1).cast(pl.Int8)
           for m in range(1, 6)})
    # the student questionnaire answered by the pupils (answers driven by their achievement)
    q = student_questionnaire()
    answers = synth_responses(sample.with_columns(theta=pl.Series(theta)), q, random_state=3)
    scales = scale_scores(answers, q).drop("school_code").rename({"respondent_id": "student_id"})
    return ReportInputs(schools=prov.schools, names=county_names(), year=2022, seed=3, data_version="test-v1",
                        software_version="test", weights=weights, sample=sample, fitness=fitness, scores=scores,
                        checklist=checklist(prov.schools["county_code"].unique(), random_state=3),
                        questionnaire=scales, questionnaire_def=q, questionnaire_cuts=(2.5, 3.5))


@pytest.fixture(scope="session")
def report_inputs() -> ReportInputs:
    return small_inputs()


@pytest.fixture(scope="session")
def tables(report_inputs):
    return build(report_inputs)
