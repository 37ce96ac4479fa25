"""The academic demo stage on a small synthetic sample: outputs, database records, contract columns."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from junheng_cli.demo import DemoContext

CONTRACT = ["student_id", "subject", "theta_eap", "theta_se", *[f"pv{k}" for k in range(1, 6)],
            *[f"level_pv{k}" for k in range(1, 6)], "scale_score", "level"]


@pytest.mark.django_db(transaction=True)
def test_demo_stage_small(tmp_path):
    rng = np.random.default_rng(0)
    n = 2400
    sample = pl.DataFrame({"student_id": [f"G{i:018d}" for i in range(n)],
                           "school_code": rng.integers(0, 40, n).astype(str), "sex": rng.integers(1, 3, n).astype(np.int8),
                           "location": rng.choice(["城区", "镇区", "乡村"], n),
                           "subject": rng.choice(["语文", "数学", "英语", "科学"], n)})
    sample.write_parquet(tmp_path / "sample.parquet")
    ctx = DemoContext(out=tmp_path / "out", scale=0.01, seed=7, state={"sample": tmp_path / "sample.parquet"})
    from junheng_cli.demo.academic import demo_stage

    demo_stage(ctx)
    out = tmp_path / "out" / "academic"
    assert (out / "item_bank.json").exists() and (out / "item_analysis.xlsx").exists()
    from junheng_web.assessment.models import BookletAssignment, Item

    assert Item.objects.count() == 4 * 12 * 8
    assert BookletAssignment.objects.count() == n
    # the survey sample's subject is kept
    got = dict(BookletAssignment.objects.values_list("student_id", "subject"))
    assert got == dict(zip(sample["student_id"], sample["subject"]))
    scores = pl.read_parquet(ctx.state["academic_scores"])
    # the synthetic truth's absent pupils (about 3 %) have no responses and no scores
    from junheng.synth import truth

    present = int((~truth.absent(sample["student_id"], 7)).sum())
    assert scores.columns == CONTRACT and scores.height == present and 0.95 * n < present < n
    base = pl.read_parquet(ctx.state["academic_base_scores"])  # the base year (the previous cycle)
    assert base.columns == CONTRACT and base.height == present
    assert scores["level"].is_between(1, 4).all()
    items = pl.read_csv(out / "items_calibrated.csv")
    assert items.height == 4 * 7 * 8
    # the synthetic truth of the between-school shares, per county × subject and pooled (全部)
    shares = pl.read_csv(tmp_path / "out" / "synth" / "truth" / "between_school_shares.csv")
    assert shares.columns == ["county_code", "subject", "true_between_share", "sigma2_between", "sigma2_within",
                              "schools", "pupils", "exemplary"]
    assert set(shares["subject"]) == {"语文", "数学", "英语", "科学", "全部"}
    assert shares["true_between_share"].is_between(0, 1).all()
