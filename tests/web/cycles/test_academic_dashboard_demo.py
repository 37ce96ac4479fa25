"""The demo's glue: the academic stage's scores and the weights stage's weights reach the platform
(``sampling.services.store_weights``), so the dashboards after ``make demo`` are weighted."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from django.urls import reverse

from junheng.exceptions import ParameterError

pytestmark = pytest.mark.django_db


def weights_frame(cycle, replicates: int = 4) -> pl.DataFrame:
    """A weights frame for the cycle's sample (the contract's columns): base weight, random replicates."""
    from junheng_web.sampling.services import pupil_sample

    s = pupil_sample(cycle)
    rng = np.random.default_rng(2)
    return s.select("student_id", "school_code", pl.col("base_weight").alias("weight")).with_columns(
        pl.lit(True).alias("responded"),
        *[pl.Series(f"rep_{r}", s["base_weight"].to_numpy() * rng.uniform(0, 2, s.height)) for r in range(1, replicates + 1)])


def test_the_demo_stores_scores_and_weights_and_the_dashboards_are_weighted(client, academic):
    from junheng_cli.demo.academic import store_demo_scores
    from junheng_cli.demo.sample import store_weights_in_db
    from junheng_web.accounts.models import User
    from junheng_web.sampling.models import SampledPupil, WeightSet

    cycle = academic.build(weights=False, scores=False)
    store_demo_scores(cycle, academic.scores_for(academic.sampled(cycle)))
    w = weights_frame(cycle)
    store_weights_in_db(w)
    ws = WeightSet.objects.get(run__cycle=cycle)
    assert ws.replicates == 4 and pl.read_parquet(ws.path).equals(w)
    stored = dict(SampledPupil.objects.filter(cycle=cycle).values_list("pupil__student_id", "weight"))
    assert stored == dict(zip(w["student_id"], w["weight"]))
    client.force_login(User.objects.create(username="p", role="province_admin"))
    academic_page = client.get(reverse("academic_json", kwargs={"pk": cycle.pk})).json()
    assert academic_page["weighted"] is True and all(r["mean_se"] > 0 for r in academic_page["overall"])
    progress = client.get(reverse("progress_json", kwargs={"pk": cycle.pk})).json()
    assert [(r["pupils"], r["pupils_academic"]) for r in progress["counties"]] == [(144, 144), (144, 144)]


def test_weights_that_do_not_match_the_sample_are_refused(academic):
    from junheng_web.sampling.models import SampledPupil, WeightSet
    from junheng_web.sampling.services import store_weights

    cycle = academic.build(weights=False, scores=False)
    w = weights_frame(cycle)
    for bad in (w.slice(1), pl.concat([w, w.slice(0, 1)]),
                w.with_columns(pl.when(pl.int_range(pl.len()) == 0).then(pl.lit("G0")).otherwise(
                    pl.col("student_id")).alias("student_id")), w.drop("rep_1", "rep_2", "rep_3", "rep_4")):
        with pytest.raises(ParameterError):
            store_weights(cycle, bad)
    assert not WeightSet.objects.exists() and not SampledPupil.objects.filter(weight__isnull=False).exists()
    with pytest.raises(ParameterError, match="method"):
        store_weights(cycle, w, method="bootstrap")
