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
