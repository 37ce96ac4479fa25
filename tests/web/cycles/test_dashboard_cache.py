"""Issue 14 (dashboards under load): the result pages are computed once per change of the data,
not per request — the figures stay right.

* a fitness import through the service moves the cycle's epoch: the next request shows the new
  figures at once, even though the data stamp is otherwise reused for a while;
* a write behind the services' back shows once the stamp's freshness has run out;
* ``warm`` computes the pages ahead: a request afterwards computes nothing;
* the progress counts are shared by the users of the same counties for the freshness period;
* a fitness upload queues the ``dashboards`` job, which precomputes the upload's county, city and
  the province."""

from __future__ import annotations

import pytest
from django.urls import reverse

from junheng_web.cycles import dashboards
from tests.web.cycles.test_uploads import fitness_file

pytestmark = pytest.mark.django_db

RATINGS = ["优秀", "良好", "及格", "及格", "不及格", "不及格"]


@pytest.fixture
def scored(world):
    from junheng_web.fitness.models import FitnessRecord

    for p, r in zip(world.pupils["A"], RATINGS):
        FitnessRecord.objects.create(cycle=world.cycle, pupil=p, grade=6, sex=p.sex, exempt=False, rating=r,
                                     complete=True, total_score=70.0)
    return world


def _pass_rate(client, w) -> float:
    return client.get(reverse("dashboard_region_json", kwargs={"pk": w.cycle.pk, "code": "410102"})).json()[
        "overall"]["pass_rate"]


def test_a_write_behind_the_services_back_shows_when_the_stamp_expires(client, scored, monkeypatch):
    from junheng_web.fitness.models import FitnessRecord

    monkeypatch.setenv("JUNHENG_DASHBOARD_FRESHNESS", "3600")
    client.force_login(scored.users["bob"])
    assert _pass_rate(client, scored) == pytest.approx(4 / 6)
    from django.utils import timezone

    FitnessRecord.objects.filter(rating="不及格").update(rating="及格", updated_at=timezone.now())
    assert _pass_rate(client, scored) == pytest.approx(4 / 6)  # the stamp is still fresh: the cached page
    monkeypatch.setenv("JUNHENG_DASHBOARD_FRESHNESS", "0")  # (as when it has expired)
    assert _pass_rate(client, scored) == pytest.approx(6 / 6)


def test_an_import_through_the_service_shows_at_once(client, scored, monkeypatch, tmp_path, django_capture_on_commit_callbacks):
    from junheng_web.fitness.services import import_fitness

    monkeypatch.setenv("JUNHENG_DASHBOARD_FRESHNESS", "3600")
    client.force_login(scored.users["bob"])
    assert _pass_rate(client, scored) == pytest.approx(4 / 6)
    with django_capture_on_commit_callbacks(execute=True):
        import_fitness(fitness_file(tmp_path, scored.pupils["A"]), scored.cycle)
    from junheng_web.fitness.models import FitnessRecord

    tested = FitnessRecord.objects.filter(pupil__school__county__code="410102", complete=True, exempt=False)
    expected = tested.filter(rating__in=["优秀", "良好", "及格"]).count() / tested.count()
    assert expected != pytest.approx(4 / 6)  # (the import changed the figures)
    assert _pass_rate(client, scored) == pytest.approx(expected)


def test_warm_computes_the_pages_ahead(client, scored, monkeypatch):
    n = dashboards.warm(scored.cycle)
    assert n == 2 * (1 + 1 + 2)  # the province, its city, its two counties
    def boom(*a, **k):
        raise AssertionError("computed on request")

    monkeypatch.setattr(dashboards, "compute_fitness_dashboard", boom)
    monkeypatch.setattr(dashboards, "compute_academic_dashboard", boom)
    client.force_login(scored.users["alice"])
    for name, kw in (("dashboard_json", {}), ("dashboard_region_json", {"code": "410100"}),
                     ("dashboard_region_json", {"code": "410102"}), ("academic_json", {})):
        assert client.get(reverse(name, kwargs={"pk": scored.cycle.pk, **kw})).status_code == 200


def test_the_progress_counts_are_shared_for_the_freshness_period(client, scored, monkeypatch,
                                                                 django_assert_max_num_queries):
    monkeypatch.setenv("JUNHENG_DASHBOARD_FRESHNESS", "3600")
    client.force_login(scored.users["bob"])
    url = reverse("progress_json", kwargs={"pk": scored.cycle.pk})
    first = client.get(url).json()
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as cold:
        from django.core.cache import cache

        cache.clear()
        client.get(url)
    with CaptureQueriesContext(connection) as warm:
        again = client.get(url).json()
    assert again == first
    assert len(warm.captured_queries) <= len(cold.captured_queries) - 8  # the eight grouped counts are skipped


def test_a_fitness_upload_queues_the_precomputation(client, world, tmp_path, eager_jobs):
    from junheng_web.jobs.models import Job

    client.force_login(world.users["dave"])
    with open(fitness_file(tmp_path, world.pupils["A"]), "rb") as f:
        resp = client.post(reverse("upload", kwargs={"pk": world.cycle.pk, "kind": "fitness"}), {"file": f})
    assert resp.status_code == 302
    job = Job.objects.get(kind="dashboards")
    assert job.status == "done", job.error
    assert job.params["regions"] == [None, "410100", "410102"] and job.result == {"pages": 6}


def test_an_expired_value_is_renewed_by_one_request_while_the_others_get_the_old_one(monkeypatch):
    import time

    from django.core.cache import cache

    from junheng_web.registry.freshness import fresh

    monkeypatch.setenv("JUNHENG_DASHBOARD_FRESHNESS", "10")
    calls = []
    assert fresh("k", lambda: calls.append(1) or "v1") == "v1"
    assert fresh("k", lambda: calls.append(1) or "v2") == "v1" and len(calls) == 1  # fresh: not computed
    cache.set("k", ("v1", time.time() - 60), None)  # expired …
    cache.add("k:renewing", 1, 300)  # … and another request is renewing it
    assert fresh("k", lambda: calls.append(1) or "v2") == "v1" and len(calls) == 1
    cache.delete("k:renewing")  # this request renews it
    assert fresh("k", lambda: calls.append(1) or "v2") == "v2" and len(calls) == 2
    assert fresh("k", lambda: calls.append(1) or "v3") == "v2" and len(calls) == 2
