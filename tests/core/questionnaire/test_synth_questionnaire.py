"""The synthetic student questionnaire and its answers: valid, reproducible, realistic in shape."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from junheng.exceptions import ParameterError
from junheng.questionnaire import scale_scores, validate_responses
from junheng.synth.questionnaire import (
    principal_questionnaire,
    student_questionnaire,
    synth_principal_responses,
    synth_responses,
)

N = 4000


@pytest.fixture(scope="module")
def pupils():
    rng = np.random.default_rng(11)
    return pl.DataFrame({"student_id": [f"L41010220110101{i:04d}" for i in range(N)],
                         "school_code": [f"41{i % 40:08d}" for i in range(N)],
                         "location": rng.choice(["城区", "镇区", "乡村"], N),
                         "scale_score": rng.normal(500, 100, N)})


def test_definition_shape():
    q = student_questionnaire()
    assert 25 <= len(q.items) <= 40
    assert {s.name for s in q.scales} >= {"学习兴趣", "学习自信", "师生关系", "同伴关系"}
    assert all(s.reverse for s in q.scales if s.id != "burden")
    ind = {i.id: i for i in q.indicators}
    assert (ind["sleep_ok"].op, ind["sleep_ok"].value) == (">=", 10.0)
    assert (ind["homework_ok"].op, ind["homework_ok"].value) == ("<=", 60.0)


def test_answers_pass_validation_and_are_reproducible(pupils):
    q = student_questionnaire()
    a = synth_responses(pupils, q, random_state=3, missing_code=9)
    assert a.equals(synth_responses(pupils, q, random_state=3, missing_code=9))
    assert not a.equals(synth_responses(pupils, q, random_state=4, missing_code=9))
    frame, issues = validate_responses(a.rename({"respondent_id": "学籍号", "school_code": "学校标识码"}), q)
    assert issues == []
    assert 0.97 * N < frame.height < N  # about 1 % return no questionnaire
    # the missing code 9 became "no answer"
    assert (a["Q13"] == 9).sum() == frame["Q13"].null_count() > 0


def test_realistic_shape(pupils):
    q = student_questionnaire()
    a = synth_responses(pupils, q, random_state=3)
    scores = scale_scores(a, q).join(pupils.rename({"student_id": "respondent_id"}), on="respondent_id")
    corr = {s: scores.select(pl.corr(s, "scale_score")).item() for s in ("confidence", "interest", "burden")}
    assert 0.2 < corr["confidence"] < 0.6 and 0.1 < corr["interest"] < 0.5 and corr["burden"] < 0
    share = scores.select(pl.col("sleep_ok", "homework_ok", "left_behind", "boarding").mean()).row(0, named=True)
    assert 0.15 < share["sleep_ok"] < 0.5 and 0.6 < share["homework_ok"] < 0.9
    assert 0.05 < share["left_behind"] < 0.25 and 0.05 < share["boarding"] < 0.3
    # item non-response: a few per cent, rising along the questionnaire and among weaker pupils
    miss = a.select(pl.exclude("respondent_id", "school_code").null_count()).row(0)
    assert 0.003 < miss[0] / a.height < miss[-1] / a.height < 0.08
    weak = a.join(pupils.rename({"student_id": "respondent_id"}), on="respondent_id").with_columns(
        (pl.col("scale_score") < 500).alias("weak"))
    rate = weak.group_by("weak").agg(pl.col("Q32").is_null().mean()).sort("weak")["Q32"].to_list()
    assert rate[1] > rate[0]


def test_without_achievement_or_location():
    q = student_questionnaire()
    a = synth_responses(pl.DataFrame({"student_id": ["x", "y", "z"]}), q, random_state=1, nonresponse=0.0)
    assert a.height == 3 and a.columns[:2] == ["respondent_id", "Q01"]
    with pytest.raises(ParameterError, match="student_id"):
        synth_responses(pl.DataFrame({"id": ["x"]}), q, random_state=1)


def test_principal_questionnaire():
    q = principal_questionnaire()
    assert q.respondent == "principal" and [s.id for s in q.scales] == ["leadership", "resources"]
    schools = pl.DataFrame({"school_code": [f"41{i:08d}" for i in range(500)],
                            "location": ["乡村", "城区"] * 250})
    a = synth_principal_responses(schools, random_state=4)
    assert a.equals(synth_principal_responses(schools, random_state=4)) and 470 < a.height < 500
    frame, issues = validate_responses(a.rename({"respondent_id": "学校标识码"}), q)
    assert issues == []
    scores = scale_scores(frame, q).join(schools.rename({"school_code": "respondent_id"}), on="respondent_id")
    by_loc = dict(scores.group_by("location").agg(pl.col("resources").mean()).iter_rows())
    assert by_loc["城区"] > by_loc["乡村"]  # urban schools report better resources than rural ones
