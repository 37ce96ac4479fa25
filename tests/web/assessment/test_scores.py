"""store_scores / scores_frame / ``junheng irt store``: every bad row reported and nothing written,
idempotent upserts, region scoping of the stored scores, the progress page's academic count."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from click.testing import CliRunner

from junheng.exceptions import InputError

pytestmark = pytest.mark.django_db

@pytest.fixture
def scores(world, academic):
    """(the sampled pupils' scores frame, the generator module)."""
    return academic.scores_for(academic.sampled(world.cycle))


def test_it_stores_and_reads_back_the_scores(world, scores):
    from junheng_web.assessment.models import PupilScore
    from junheng_web.assessment.scores import SCORE_COLUMNS, scores_frame, store_scores

    frame = scores
    steps = []
    r = store_scores(world.cycle, frame, progress=lambda f, m: steps.append(f))
    assert (r.rows, r.created, r.updated, r.unchanged) == (12, 12, 0, 0) and steps[-1] == 1.0
    assert PupilScore.objects.filter(cycle=world.cycle).count() == 12
    back = scores_frame(world.cycle)
    assert back.select(SCORE_COLUMNS).sort("student_id").equals(frame.sort("student_id").with_columns(
        pl.col("level_pv1", "level_pv2", "level_pv3", "level_pv4", "level_pv5", "level").cast(pl.Int8)))
    assert set(back["county_code"]) == {"410102", "410103"} and set(back["city_code"]) == {"410100"}
    county_a = scores_frame(world.cycle, world.regions["A"])
    assert county_a.height == 6 and set(county_a["school_code"]) == {"4101020001"}
    assert scores_frame(world.cycle, world.regions["city"]).height == 12


def test_storing_the_same_scores_again_changes_nothing(world, scores):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from junheng_web.assessment.models import PupilScore
    from junheng_web.assessment.scores import store_scores

    frame = scores
    store_scores(world.cycle, frame)
    before = list(PupilScore.objects.order_by("id").values())
    with CaptureQueriesContext(connection) as q:
        r = store_scores(world.cycle, frame)
    assert (r.created, r.updated, r.unchanged) == (0, 0, 12)
    assert list(PupilScore.objects.order_by("id").values()) == before
    assert len(q.captured_queries) < 25  # set-based: no query per pupil
    changed = frame.with_columns(pl.when(pl.int_range(pl.len()) == 3).then(pl.col("theta_se") + 0.01).otherwise(
        pl.col("theta_se")).alias("theta_se"))
    r = store_scores(world.cycle, changed)
    assert (r.created, r.updated, r.unchanged) == (0, 1, 11)
    sid = frame["student_id"][3]
    assert PupilScore.objects.get(pupil__student_id=sid).theta_se == pytest.approx(frame["theta_se"][3] + 0.01)


def test_every_bad_row_is_reported_and_nothing_is_written(world, scores):
    from junheng_web.assessment.models import PupilScore
    from junheng_web.assessment.scores import store_scores
    from junheng_web.registry.models import Pupil

    outsider = Pupil.objects.create(student_id="G41010220110301999X", name="未抽中", sex=1,
                                    birth_date=dt.date(2011, 3, 1), school=world.schools["A"], grade=6)
    good = scores
    bad = good.with_row_index("i").with_columns(
        pl.when(pl.col("i") == 0).then(pl.lit("G00000000000000000X")).when(pl.col("i") == 1).then(
            pl.lit(outsider.student_id)).otherwise(pl.col("student_id")).alias("student_id"),
        pl.when(pl.col("i") == 2).then(pl.lit("体育")).otherwise(pl.col("subject")).alias("subject"),
        pl.when(pl.col("i") == 3).then(float("nan")).when(pl.col("i") == 4).then(None).otherwise(
            pl.col("pv3")).alias("pv3"),
        pl.when(pl.col("i") == 5).then(5).when(pl.col("i") == 6).then(0).otherwise(pl.col("level_pv2")).alias(
            "level_pv2"),
        pl.when(pl.col("i") == 7).then(-0.1).otherwise(pl.col("theta_se")).alias("theta_se"),
        pl.when(pl.col("i") == 8).then(float("inf")).otherwise(pl.col("scale_score")).alias("scale_score"),
    ).drop("i")
    bad = bad.with_columns(  # row 13: pv4 is the highest value but has the lowest level
        pl.when(pl.int_range(pl.len()) == 11).then(pl.max_horizontal(*[pl.col(f"pv{k}") for k in range(1, 6)],
                                                                      "scale_score") + 50).otherwise(
            pl.col("pv4")).alias("pv4"),
        pl.when(pl.int_range(pl.len()) == 11).then(1).otherwise(pl.col("level_pv4")).alias("level_pv4"))
    bad = pl.concat([bad, bad.slice(9, 1)])  # row 9's pupil twice
    with pytest.raises(InputError) as exc:
        store_scores(world.cycle, bad, file="scores.parquet")
    got = {(i.row, i.column) for i in exc.value.issues}
    assert got == {(2, "student_id"), (3, "student_id"), (4, "subject"), (5, "pv3"), (6, "pv3"), (7, "level_pv2"),
                   (8, "level_pv2"), (9, "theta_se"), (10, "scale_score"), (11, "student_id"), (13, "level"), (14, "student_id")}
    messages = {(i.row, i.column): i.message() for i in exc.value.issues}
    assert "not in the registry" in messages[(2, "student_id")]
    assert "not in the sample" in messages[(3, "student_id")] and "不在" in messages[(3, "student_id")]
    assert "not the subject the sample assigned" in messages[(4, "subject")] and "体育" in messages[(4, "subject")]
    assert "1–4" in messages[(7, "level_pv2")] and "scores.parquet" in messages[(7, "level_pv2")]
    assert "more than once" in messages[(14, "student_id")]
    assert "levels contradict the scores" in messages[(13, "level")] and "→1" in messages[(13, "level")]
    assert PupilScore.objects.count() == 0


def test_missing_columns_and_a_sixth_pv_are_refused(world, scores):
    from junheng_web.assessment.scores import store_scores

    good = scores
    with pytest.raises(InputError) as exc:
        store_scores(world.cycle, good.drop("level_pv5").with_columns(pl.col("pv1").alias("pv6")))
    assert {i.column for i in exc.value.issues} == {"level_pv5", "pv6"}


def test_the_cli_stores_a_csv_and_reports_text_that_is_not_a_number(world, scores, tmp_path):
    from junheng_cli.main import cli
    from junheng_web.assessment.models import PupilScore

    frame = scores
    good = tmp_path / "scores.csv"
    frame.write_csv(good)
    bad = tmp_path / "bad.csv"
    frame.with_columns(pl.col("pv2").cast(pl.String), pl.col("level").cast(pl.String)).with_columns(
        pl.when(pl.int_range(pl.len()) == 0).then(pl.lit("abc")).otherwise(pl.col("pv2")).alias("pv2"),
        pl.when(pl.int_range(pl.len()) == 1).then(pl.lit("2.5")).otherwise(pl.col("level")).alias("level"),
    ).write_csv(bad)
    runner = CliRunner()
    res = runner.invoke(cli, ["irt", "store", "--year", "2022", str(bad)])
    assert res.exit_code == 2, res.output
    assert "bad.csv" in res.output and "abc" in res.output and "2.5" in res.output and "第2行" in res.output
    assert PupilScore.objects.count() == 0
    res = runner.invoke(cli, ["irt", "store", "--year", "2022", "--grade", "6", str(good)])
    assert res.exit_code == 0, res.output
    assert "created 12" in res.output and PupilScore.objects.count() == 12
    res = runner.invoke(cli, ["irt", "store", "--year", "2022", str(good)])
    assert "unchanged 12" in res.output
    res = runner.invoke(cli, ["irt", "store", "--year", "1999", str(good)])
    assert res.exit_code == 2 and "no cycle" in res.output


def test_scores_are_scoped_by_region_and_school(world, scores):
    from junheng_web.accounts.scoping import restrict
    from junheng_web.assessment.models import PupilScore
    from junheng_web.assessment.scores import store_scores

    store_scores(world.cycle, scores)
    schools = lambda who: set(restrict(PupilScore, world.users[who]).values_list(  # noqa: E731
        "pupil__school__code", flat=True))
    assert schools("alice") == schools("frank") == {"4101020001", "4101030001"}
    assert schools("bob") == schools("dave") == {"4101020001"}
    assert schools("charlie") == schools("erin") == {"4101030001"}
    assert schools("rita") == {"4101020001"}  # region-bound like every pupil record


def test_the_progress_page_counts_sampled_pupils_with_scores(client, world, scores):
    from junheng_web.assessment.scores import store_scores

    store_scores(world.cycle, scores.filter(pl.col("student_id").str.contains("410102")).head(4))
    client.force_login(world.users["frank"])
    data = client.get(f"/cycles/{world.cycle.pk}/progress.json").json()
    by = {r["code"]: r["pupils_academic"] for r in data["counties"]}
    assert by == {"410102": 4, "410103": 0}
    # a city user's whole is the city (issue 17.2: not labelled 全省)
    assert [(r["code"], r["pupils_academic"]) for r in data["totals"]] == [("410100", 4)]
