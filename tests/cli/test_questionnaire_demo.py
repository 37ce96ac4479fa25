"""The questionnaire demo stage on a small synthetic sample: outputs, ctx.state keys, contract columns."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest

from junheng_cli.demo import DemoContext

pytestmark = pytest.mark.django_db  # the stage stores the responses in the platform when it has the pupils


def _inputs(tmp_path, n=1600, schools=40, reps=8):
    rng = np.random.default_rng(0)
    ids = [f"L410102201101{i:06d}" for i in range(n)]
    school = [f"41{i % schools:08d}" for i in range(n)]
    sample = pl.DataFrame({"student_id": ids, "school_code": school, "base_weight": rng.uniform(5, 15, n),
                           "location": rng.choice(["城区", "镇区", "乡村"], n)})
    theta = rng.normal(size=n)
    scores = pl.DataFrame({"student_id": ids, "subject": rng.choice(["语文", "数学"], n),
                           "scale_score": 500 + 100 * theta,
                           **{f"pv{k}": 500 + 100 * (theta + 0.3 * rng.normal(size=n)) for k in range(1, 6)}})
    w = sample["base_weight"].to_numpy()
    zone = np.array([i % schools for i in range(n)]) // 2
    member = np.array([i % schools for i in range(n)]) % 2
    rep_cols = {f"rep_{r + 1}": np.where(zone == r, np.where(member == 0, 0.0, 2 * w), w) for r in range(reps)}
    weights = pl.DataFrame({"student_id": ids, "school_code": school, "weight": w, **rep_cols})
    paths = {}
    for name, frame in (("sample", sample), ("academic_scores", scores), ("replicates", weights)):
        paths[name] = tmp_path / f"{name}.parquet"
        frame.write_parquet(paths[name])
    return paths


def test_demo_stage_small(tmp_path, capsys):
    from junheng_cli.demo.questionnaire import demo_stage

    ctx = DemoContext(out=tmp_path / "out", scale=0.01, seed=7, state=_inputs(tmp_path))
    demo_stage(ctx)
    out = tmp_path / "out" / "questionnaire"
    for name in ("student_questionnaire.json", "responses.csv", "responses.parquet", "scales.parquet",
                 "reliability.csv", "frequencies.csv", "factor_gaps.csv"):
        assert (out / name).exists(), name
    assert json.loads((out / "student_questionnaire.json").read_text(encoding="utf-8"))["code"] == "S2022"
    (out / "responses.csv").read_bytes().decode("gb18030")  # the file schools send: GB18030
    assert ctx.state["questionnaire"] == out / "student_questionnaire.json"
    scales = pl.read_parquet(ctx.state["questionnaire_scales"])
    assert scales.columns[:3] == ["student_id", "interest", "confidence"]
    assert scales.schema["sleep_ok"] == pl.Boolean and 1500 < scales.height <= 1600
    responses = pl.read_parquet(ctx.state["questionnaire_responses"])
    assert responses.columns[:3] == ["respondent_id", "school_code", "Q01"]
    gaps = pl.read_csv(out / "factor_gaps.csv")
    assert set(gaps["factor"]) == {"sleep_ok", "homework_ok", "left_behind", "confidence_group", "teacher_rel_group"}
    conf = gaps.filter((pl.col("factor") == "confidence_group") & pl.col("is_gap") & (pl.col("subject") == "数学"))
    assert conf["estimate"][0] > 0  # confident pupils score higher (the synthetic answers follow achievement)
    printed = capsys.readouterr().out
    assert "学习自信" in printed and "睡眠达到 10 小时" in printed


def test_demo_stage_without_earlier_stages(tmp_path, capsys):
    from junheng_cli.demo.questionnaire import demo_stage

    ctx = DemoContext(out=tmp_path / "out", scale=0.01, seed=7)
    demo_stage(ctx)
    assert "skipped" in capsys.readouterr().out
    paths = _inputs(tmp_path, n=300)
    ctx = DemoContext(out=tmp_path / "out2", scale=0.01, seed=7, state={"sample": paths["sample"]})
    demo_stage(ctx)
    assert "factor gaps skipped" in capsys.readouterr().out
    assert pl.read_parquet(ctx.state["questionnaire_scales"]).height > 250
