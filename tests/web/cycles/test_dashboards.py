"""Dashboards: the figures are the hand-worked rates, and equal the CLI's for the same records."""

from __future__ import annotations

import polars as pl
import pytest
from click.testing import CliRunner
from django.urls import reverse

pytestmark = pytest.mark.django_db

A_RATINGS = ["优秀", "良好", "及格", "及格", "不及格", None]  # the last pupil is exempt (免测)
B_RATINGS = ["及格", "及格", "及格", "不及格", "不及格", "不及格"]


@pytest.fixture
def scored(world):
    from junheng_web.fitness.models import FitnessRecord

    for key, ratings in (("A", A_RATINGS), ("B", B_RATINGS)):
        for p, r in zip(world.pupils[key], ratings):
            FitnessRecord.objects.create(cycle=world.cycle, pupil=p, grade=6, sex=p.sex, exempt=r is None,
                                         rating=r or "", complete=r is not None,
                                         total_score={"优秀": 92.0, "良好": 82.0, "及格": 70.0, "不及格": 50.0}.get(r))
    return world


def test_it_shows_the_hand_worked_county_rates(client, scored):
    client.force_login(scored.users["bob"])
    data = client.get(reverse("dashboard_region_json", kwargs={"pk": scored.cycle.pk, "code": "410102"})).json()
    o = data["overall"]
    assert o["n_tested"] == 5  # the exempt pupil is in no rate
    assert o["pass_rate"] == pytest.approx(4 / 5)
    assert o["good_rate"] == pytest.approx(2 / 5)
    assert o["excellent_rate"] == pytest.approx(1 / 5)
    assert o["fail_rate"] == pytest.approx(1 / 5)
    assert o["total_score_mean"] == pytest.approx((92 + 82 + 70 + 70 + 50) / 5)
    page = client.get(reverse("dashboard", kwargs={"pk": scored.cycle.pk})).content.decode()
    assert "80.0%" in page and "40.0%" in page


def test_it_shows_the_province_by_city(client, scored):
    client.force_login(scored.users["alice"])
    data = client.get(reverse("dashboard_json", kwargs={"pk": scored.cycle.pk})).json()
    assert data["part_key"] == "city_code"
    assert data["overall"]["pass_rate"] == pytest.approx(7 / 11)
    assert [(p["code"], p["name"]) for p in data["parts"]] == [("410100", "郑州市")]
    city = client.get(reverse("dashboard_region_json", kwargs={"pk": scored.cycle.pk, "code": "410100"})).json()
    by = {p["code"]: p["pass_rate"] for p in city["parts"]}
    assert by == pytest.approx({"410102": 4 / 5, "410103": 3 / 6})


def test_it_weights_by_the_final_sampling_weight(client, scored):
    from junheng_web.sampling.models import SampledPupil

    for p, w in zip(scored.pupils["A"], [1, 1, 1, 1, 4, 1]):
        SampledPupil.objects.filter(pupil=p).update(weight=w)
    client.force_login(scored.users["bob"])
    data = client.get(reverse("dashboard_region_json", kwargs={"pk": scored.cycle.pk, "code": "410102"})).json()
    assert data["weighted"] is True
    assert data["overall"]["pass_rate"] == pytest.approx(4 / 8)  # Σw over passes / Σw over tested


def test_it_equals_the_cli_summary_of_the_same_records(client, scored, tmp_path):
    from junheng_cli.main import cli
    from junheng_web.fitness.services import fitness_frame

    path = tmp_path / "records.parquet"
    fitness_frame(scored.cycle).write_parquet(path)
    out = tmp_path / "summary.parquet"
    result = CliRunner().invoke(cli, ["fitness", "summary", str(path), "--by", "county_code", "-o", str(out)])
    assert result.exit_code == 0, result.output
    cli_rates = {r["county_code"]: r for r in pl.read_parquet(out).to_dicts()}
    client.force_login(scored.users["frank"])
    page = client.get(reverse("dashboard_region_json", kwargs={"pk": scored.cycle.pk, "code": "410100"})).json()
    for part in page["parts"]:
        for k in ("n_tested", "pass_rate", "good_rate", "excellent_rate", "fail_rate", "total_score_mean"):
            assert part[k] == pytest.approx(cli_rates[part["code"]][k], abs=1e-12), (part["code"], k)


def test_with_weights_the_rates_have_the_cli_replicate_ses(client, academic, tmp_path):
    """The rates of ``fitness.summarize`` equal ``junheng.survey`` proportions on the same weights
    (two implementations), and their SEs equal ``junheng survey estimate`` on the exported records."""
    import numpy as np

    from junheng_cli.main import cli
    from junheng_web.accounts.models import User
    from junheng_web.fitness.models import FitnessRecord
    from junheng_web.fitness.services import fitness_frame
    from junheng_web.registry.models import Pupil, Region
    from junheng_web.sampling.models import WeightSet

    cycle = academic.build(scores=False)
    rng = np.random.default_rng(4)
    ids = academic.sampled(cycle)["student_id"].to_list()
    pupils = dict(Pupil.objects.filter(student_id__in=ids).values_list("student_id", "id"))
    scores = {"优秀": 92.0, "良好": 82.0, "及格": 70.0, "不及格": 50.0}
    FitnessRecord.objects.bulk_create([
        FitnessRecord(cycle=cycle, pupil_id=pupils[s], grade=6, sex=1, exempt=k % 50 == 0,
                      rating="" if k % 50 == 0 else r, complete=k % 50 != 0,
                      total_score=None if k % 50 == 0 else scores[r] + float(rng.integers(0, 8)))
        for k, (s, r) in enumerate(zip(ids, rng.choice(list(scores), len(ids), p=[0.15, 0.4, 0.35, 0.1])))])
    client.force_login(User.objects.create(username="c", role="city", region=Region.objects.get(code="410100")))
    page = client.get(reverse("dashboard_region_json", kwargs={"pk": cycle.pk, "code": "410100"})).json()
    assert page["weighted"] is True
    w = pl.read_parquet(WeightSet.objects.get(run__cycle=cycle).path).select("student_id", "weight", "^rep_\\d+$")
    data = fitness_frame(cycle).select("student_id", "school_code", "county_code", "rating", "total_score").join(
        w, on="student_id")
    path = tmp_path / "fitness.parquet"
    data.write_parquet(path)
    for name, levels in (("pass_rate", ["优秀", "良好", "及格"]), ("good_rate", ["优秀", "良好"]),
                         ("excellent_rate", ["优秀"]), ("fail_rate", ["不及格"])):
        out = tmp_path / f"{name}.parquet"
        args = ["survey", "estimate", str(path), "--weight", "weight", "--statistic", "proportion", "--variable",
                "rating", *[x for lv in levels for x in ("--level", lv)], "--by", "county_code", "-o", str(out)]
        res = CliRunner().invoke(cli, args)
        assert res.exit_code == 0, res.output
        cli_rows = {r["county_code"]: r for r in pl.read_parquet(out).to_dicts()}
        for p in page["parts"]:
            e = cli_rows[p["code"]]
            assert p[name] == pytest.approx(e["estimate"], rel=1e-12)  # summarize == survey.proportion
            assert abs(p[f"{name}_se"] - e["se"]) <= 1e-9 and p[f"{name}_se"] > 0
    html = client.get(reverse("dashboard_region", kwargs={"pk": cycle.pk, "code": "410100"})).content.decode()
    assert "括号内为标准误" in html and f"({page['parts'][0]['pass_rate_se'] * 100:.1f}%)" in html
    county = client.get(reverse("dashboard_region_json", kwargs={"pk": cycle.pk, "code": "410102"})).json()
    assert county["overall"]["pass_rate_se"] > 0 and all(p["pass_rate_se"] is None for p in county["parts"])
