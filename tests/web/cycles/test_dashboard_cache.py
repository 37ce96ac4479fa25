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
from django.test import override_settings
from django.urls import reverse

from junheng_web.cycles import dashboards
from tests.web.cycles.test_uploads import fitness_file
from tests.web.pages import without_csrf_tokens

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

    from junheng_web.registry import leases
    from junheng_web.registry.freshness import fresh

    monkeypatch.setenv("JUNHENG_DASHBOARD_FRESHNESS", "10")
    calls, locks = [], leases.store()
    assert fresh("k", lambda: calls.append(1) or "v1") == "v1"
    assert fresh("k", lambda: calls.append(1) or "v2") == "v1" and len(calls) == 1  # fresh: not computed
    cache.set("k", ("v1", time.time() - 60), None)  # expired …
    assert locks.claim("k:renewing", "other", 300)  # … and another request is renewing it
    assert fresh("k", lambda: calls.append(1) or "v2") == "v1" and len(calls) == 1
    locks.release("k:renewing", "other")  # this request renews it
    assert fresh("k", lambda: calls.append(1) or "v2") == "v2" and len(calls) == 2
    assert fresh("k", lambda: calls.append(1) or "v3") == "v2" and len(calls) == 2


def _page_urls(w) -> list[str]:
    return [reverse("dashboard_region", kwargs={"pk": w.cycle.pk, "code": "410100"}),
            reverse("academic_region", kwargs={"pk": w.cycle.pk, "code": "410100"}),
            reverse("progress", kwargs={"pk": w.cycle.pk}),
            reverse("dashboard_region_json", kwargs={"pk": w.cycle.pk, "code": "410100"}),
            reverse("progress_json", kwargs={"pk": w.cycle.pk})]


def _without_tokens(html: str) -> str:
    import re

    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", html)


def test_a_page_view_reads_the_cache_and_runs_no_aggregate_query(client, scored, monkeypatch):
    """Once a cycle's pages are computed (warm) and each rendered once, viewing them again — by
    anyone who may see them — runs no aggregate query (the stamps and the progress counts are per
    cycle and reused) and renders nothing but the user's navigation: the body is the cached one."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    monkeypatch.setenv("JUNHENG_DASHBOARD_FRESHNESS", "3600")
    dashboards.warm(scored.cycle)
    client.force_login(scored.users["frank"])  # a city user
    first = [_without_tokens(client.get(u).content.decode()) for u in _page_urls(scored)]
    assert "郑州市" in first[0] and "甲小学" not in first[0]  # the city's page, its counties as parts

    def boom(*a, **k):
        raise AssertionError("computed on request")

    monkeypatch.setattr(dashboards, "compute_fitness_dashboard", boom)
    monkeypatch.setattr(dashboards, "compute_academic_dashboard", boom)
    monkeypatch.setattr("junheng_web.cycles.progress._progress_of", boom)
    with CaptureQueriesContext(connection) as q:
        again = [_without_tokens(client.get(u).content.decode()) for u in _page_urls(scored)]
    assert again == first
    sql = [x["sql"].upper() for x in q.captured_queries]
    assert not [s for s in sql if any(f in s for f in ("COUNT(", "SUM(", "MAX(", "AVG("))], sql
    # on PostgreSQL the cache is the database's table (settings: JUNHENG_CACHE), on SQLite memory:
    # count its reads apart — the epoch, the page's stamp and the page body, three a view at most
    cache_reads = [s for s in sql if '"JUNHENG_CACHE"' in s]
    assert len(cache_reads) <= 3 * len(first), cache_reads
    assert len(sql) - len(cache_reads) <= 5 * len(first), sql  # session, user, cycle, region, cycle


def test_the_cached_body_is_shared_but_each_user_gets_their_own_navigation(client, scored, monkeypatch):
    monkeypatch.setenv("JUNHENG_DASHBOARD_FRESHNESS", "3600")
    url = reverse("dashboard_region", kwargs={"pk": scored.cycle.pk, "code": "410102"})
    client.force_login(scored.users["bob"])  # the county's user renders the body first
    bob = client.get(url).content.decode()
    client.force_login(scored.users["anna"])  # a province analyst gets the same body
    anna = client.get(url).content.decode()
    assert "bob" in bob and "bob" not in without_csrf_tokens(anna) and "anna" in anna  # (pages.py: tokens)
    body = bob[bob.index('<h1>'):bob.index("</main>")]
    assert body in anna
    client.force_login(scored.users["charlie"])  # another county's user: still refused
    assert client.get(url).status_code == 404


def test_the_progress_of_every_scope_comes_from_one_count_of_the_province(client, scored, monkeypatch):
    """The province user, the city user and each county user read their rows from the same counts
    (one set of grouped queries for the whole province per freshness period), each their own rows."""
    from junheng_web.cycles import progress

    monkeypatch.setenv("JUNHENG_DASHBOARD_FRESHNESS", "3600")
    calls = []
    real = progress._progress_of
    monkeypatch.setattr(progress, "_progress_of", lambda *a: calls.append(1) or real(*a))
    seen = {}
    for name in ("anna", "frank", "bob", "charlie"):
        client.force_login(scored.users[name])
        seen[name] = client.get(reverse("progress_json", kwargs={"pk": scored.cycle.pk})).json()
    assert len(calls) == 1
    assert [c["code"] for c in seen["anna"]["counties"]] == ["410102", "410103"]
    assert [c["code"] for c in seen["frank"]["counties"]] == ["410102", "410103"]
    assert [c["code"] for c in seen["bob"]["counties"]] == ["410102"] and seen["bob"]["totals"] == []
    assert [s["code"] for s in seen["bob"]["schools"]] == ["4101020001"]
    assert [s["code"] for s in seen["charlie"]["schools"]] == ["4101030001"]
    assert seen["anna"]["schools"] == []


def test_a_write_through_a_service_renews_the_cached_page(client, scored, monkeypatch):
    """The rendered body is kept under the figures' version: when the cycle's epoch moves (every
    service that writes results moves it) the page shows the new figures at once."""
    from junheng_web.fitness.models import FitnessRecord
    from junheng_web.registry.freshness import touch

    monkeypatch.setenv("JUNHENG_DASHBOARD_FRESHNESS", "3600")
    client.force_login(scored.users["bob"])
    url = reverse("dashboard_region", kwargs={"pk": scored.cycle.pk, "code": "410102"})
    before = client.get(url).content.decode()
    assert "66.7%" in before  # 4 of 6 pass
    FitnessRecord.objects.filter(rating="不及格").update(rating="及格")
    assert "66.7%" in client.get(url).content.decode()  # behind the services' back: the cached page
    touch(scored.cycle.pk)
    after = client.get(url).content.decode()
    assert "66.7%" not in after and "100.0%" in after


# the deferral, not the cache backend, is under test: closing the response also sends
# request_finished, which closes the database connection a database cache (PostgreSQL's default)
# would read the last line's value through
@override_settings(CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                                       "LOCATION": "renew-after-response"}})
def test_an_expired_value_found_by_a_request_is_renewed_after_its_response(monkeypatch):
    """The request that finds a stamp expired does not wait for it: it gets the previous value, and
    the renewal runs when the server closes the response (after sending it)."""
    import time

    from django.core.cache import cache
    from django.http import HttpResponse
    from django.test import RequestFactory

    from junheng_web.registry.freshness import RenewAfterResponse, fresh

    monkeypatch.setenv("JUNHENG_DASHBOARD_FRESHNESS", "10")
    cache.set("k2", ("old", time.time() - 60), None)
    calls = []

    def view(request):
        return HttpResponse(fresh("k2", lambda: calls.append(1) or "new"))

    response = RenewAfterResponse(view)(RequestFactory().get("/"))
    assert response.content == b"old" and calls == []  # the page did not wait for the renewal
    response.close()  # what the WSGI server does once the body is sent
    assert calls == [1]
    assert fresh("k2", lambda: calls.append(1) or "newer") == "new" and calls == [1]


def test_touch_moves_the_epoch_now_and_again_when_the_write_commits(db, django_capture_on_commit_callbacks):
    """A page computed between a service's write and its commit reads the data from before the
    commit; it must not stay cached under the epoch it was computed in — so ``touch`` moves the
    epoch once at once and once more on commit (three distinct epochs)."""
    from junheng_web.registry.freshness import epoch, touch

    before = epoch(424242)
    with django_capture_on_commit_callbacks(execute=True):
        touch(424242)
        during = epoch(424242)  # what a page computed before the commit is cached under
    after = epoch(424242)
    assert len({before, during, after}) == 3, (before, during, after)


def test_weights_written_behind_the_services_back_change_the_fitness_version_once_the_stamp_expires(scored, monkeypatch):
    """The fitness figures are weighted: new final weights (even written without ``touch``) are a new
    version of the page once the data stamp is renewed, though no fitness record changed."""
    from junheng_web.sampling.models import SampledPupil

    monkeypatch.setenv("JUNHENG_DASHBOARD_FRESHNESS", "0")
    before = dashboards.version("fitness", scored.cycle, None)
    assert dashboards.version("fitness", scored.cycle, None) == before  # nothing changed: the same key
    SampledPupil.objects.filter(cycle=scored.cycle).update(weight=2.5)
    assert dashboards.version("fitness", scored.cycle, None) != before


def test_the_page_version_follows_the_earlier_cycles_of_its_trend_only(scored):
    """The page shows the trend over the grade's cycles up to its year, so new data of the 2021
    grade-6 cycle is a new page of 2022; new data of 2023 (later) or of another grade is not."""
    from junheng_web.registry.freshness import touch
    from junheng_web.registry.models import Cycle

    def other(year, grade):
        return Cycle.objects.create(year=year, grade=grade, subjects=["语文"], name=f"{year} 年 {grade} 年级")

    earlier, later, grade9 = other(2021, 6), other(2023, 6), other(2021, 9)
    before = dashboards.page_version("fitness", scored.cycle, None)
    touch(later.pk)
    touch(grade9.pk)
    assert dashboards.page_version("fitness", scored.cycle, None) == before
    touch(earlier.pk)
    assert dashboards.page_version("fitness", scored.cycle, None) != before


def _cache_reads(monkeypatch) -> list:
    """Every read of the shared cache from now on (a ``get_many`` is one read, as it is one query of
    the database's cache table)."""
    from django.core.cache import caches

    backend, reads, inside = caches["default"], [], []
    real_get, real_many = backend.get, backend.get_many

    def outermost(real, keys):
        def read(arg, *args, **kwargs):
            if not inside:  # the database backend's get is a get_many, the memory backend's get_many gets
                reads.append(keys(arg))
            inside.append(1)
            try:
                return real(arg, *args, **kwargs)
            finally:
                inside.pop()
        return read

    get, get_many = outermost(real_get, lambda key: key), outermost(real_many, tuple)

    monkeypatch.setattr(backend, "get", get)
    monkeypatch.setattr(backend, "get_many", get_many)
    return reads


@pytest.mark.parametrize("page", ["dashboard_region", "academic_region"])
def test_a_page_with_a_trend_reads_the_cache_three_times_however_many_cycles_it_shows(client, scored, monkeypatch,
                                                                                        page):
    """The page's version is its figures' and its trend's earlier cycles': their epochs are one read
    of the cache, their data stamps another, the rendered body the third — not two reads a cycle."""
    from junheng_web.registry.models import Cycle

    monkeypatch.setenv("JUNHENG_DASHBOARD_FRESHNESS", "3600")
    for year in (2019, 2020, 2021):
        Cycle.objects.create(year=year, grade=6, subjects=["语文"], name=f"{year} 年 6 年级")
    client.force_login(scored.users["bob"])
    url = reverse(page, kwargs={"pk": scored.cycle.pk, "code": "410102"})
    first = _without_tokens(client.get(url).content.decode())
    reads = _cache_reads(monkeypatch)
    assert _without_tokens(client.get(url).content.decode()) == first
    assert len(reads) == 3, "\n".join(map(str, reads))


@pytest.mark.parametrize("page", ["progress", "progress_json", "dashboard", "dashboard_json", "academic"])
def test_a_user_bound_to_no_region_gets_no_province_page(client, scored, monkeypatch, page):
    """A county or city account saved without a region (region_of: None, as for the province) must
    not be shown the province's page — not computed for it, nor the province users' cached body."""
    from tests.web.conftest import _user

    monkeypatch.setenv("JUNHENG_DASHBOARD_FRESHNESS", "3600")
    url = reverse(page, kwargs={"pk": scored.cycle.pk})
    client.force_login(scored.users["alice"])
    assert client.get(url).status_code == 200  # the province's body, now in the cache
    client.force_login(_user("nowhere", "county"))
    assert client.get(url).status_code in (403, 404)


def test_a_new_release_of_the_body_template_is_not_served_the_old_cached_html(client, scored, monkeypatch, settings,
                                                                              tmp_path):
    """The cached body outlives a process (on PostgreSQL the cache is a database table): after an
    upgrade that changes the page's template, the page shows the new template at once, not
    yesterday's HTML under the same figures' version."""
    import copy

    monkeypatch.setenv("JUNHENG_DASHBOARD_FRESHNESS", "3600")
    client.force_login(scored.users["bob"])
    url = reverse("dashboard_region", kwargs={"pk": scored.cycle.pk, "code": "410102"})
    assert "体质健康结果" in client.get(url).content.decode()  # rendered and cached
    (tmp_path / "cycles").mkdir()
    (tmp_path / "cycles" / "_dashboard_body.html").write_text("<h1>NEW RELEASE BODY</h1>", encoding="utf-8")
    templates = copy.deepcopy(settings.TEMPLATES)
    templates[0]["DIRS"] = [tmp_path, *templates[0]["DIRS"]]
    settings.TEMPLATES = templates  # the upgraded release (as in a new process: nothing of the old in memory)
    assert "NEW RELEASE BODY" in client.get(url).content.decode()


@pytest.fixture
def shared_cache(settings):
    """Single flight (registry.freshness.once) under test: the threads share one in-memory cache, as
    a hundred gunicorn threads share the database's cache table."""
    from django.core.cache import cache

    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                                   "LOCATION": "single-flight"}}
    cache.clear()


def _at_once(n: int, call) -> list:
    """``call()`` in ``n`` threads released together; their results."""
    import threading

    start, got = threading.Barrier(n), []

    def run():
        start.wait()
        got.append(call())

    threads = [threading.Thread(target=run) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return got


def _slow(calls: list, value, seconds: float = 0.3):
    """A computation that takes ``seconds`` (the others arrive while it runs), counted in ``calls``."""
    import time

    def compute():
        calls.append(1)
        time.sleep(seconds)
        return value
    return compute


def test_requests_that_miss_the_same_page_at_once_compute_it_once(shared_cache):
    """Four requests find a page's figures missing at the same moment (a new epoch after an import,
    a page not computed ahead): one computes, the others wait for its value."""
    from django.core.cache import cache

    from junheng_web.registry.freshness import once

    calls = []
    assert _at_once(4, lambda: once("figures", _slow(calls, {"pass_rate": 0.5}), 60)) == [{"pass_rate": 0.5}] * 4
    assert calls == [1]
    assert cache.get("figures") == {"pass_rate": 0.5} and cache.get("figures:computing") is None


def test_a_missing_stamp_is_computed_by_one_request(shared_cache, monkeypatch):
    """A cycle's data stamp under a new epoch is missing for every request at once (there is no
    previous value to serve meanwhile): one request computes the aggregates, the others wait."""
    from junheng_web.registry.freshness import fresh

    monkeypatch.setenv("JUNHENG_DASHBOARD_FRESHNESS", "60")
    calls = []
    assert _at_once(4, lambda: fresh("stamp", _slow(calls, "n:1"))) == ["n:1"] * 4
    assert calls == [1]


def test_a_waiter_computes_when_the_computing_request_fails_or_dies(shared_cache):
    import threading
    import time

    from django.core.cache import cache

    from junheng_web.registry import leases
    from junheng_web.registry.freshness import once

    calls, locks = [], leases.store()
    locks.claim("figures:computing", "other", 60)  # another request is computing …
    threading.Timer(0.2, lambda: locks.release("figures:computing", "other")).start()  # … and fails: no value stored
    assert once("figures", lambda: calls.append(1) or "mine", 60) == "mine" and calls == [1]
    assert cache.get("figures") == "mine"
    locks.claim("stuck:computing", "killed", 0.3)  # a computing process killed: its lease is not renewed
    t = time.monotonic()
    assert once("stuck", lambda: "computed anyway", 60, 0.3) == "computed anyway"
    assert 0.2 <= time.monotonic() - t < 5


def test_requests_that_miss_the_province_tables_at_once_compute_them_once(shared_cache, monkeypatch):
    """The verdict tables (cycles.verdicts.province_tables) go through the same single flight as the
    dashboards' figures: four requests finding them missing cost one computation, not four."""
    from junheng_web.cycles import verdicts

    calls = []
    monkeypatch.setattr(verdicts, "_stamp", lambda cycle: "junheng:verdicts:test")
    monkeypatch.setattr(verdicts, "compute_tables", lambda cycle: _slow(calls, {"units": 3})())
    assert _at_once(4, lambda: verdicts.province_tables(None)) == [{"units": 3}] * 4
    assert calls == [1]


def test_the_cached_bodies_templates_are_found_by_following_their_includes(settings, tmp_path):
    """The digest in the bodies' cache key covers every template a body includes or extends, at any
    depth and inside a condition, found in the templates themselves; the real bodies' list holds
    the six a hand-kept list used to name; an include named by a variable is refused."""
    import copy

    from junheng_web.cycles.dashboard_views import body_templates

    assert set(body_templates()) >= {"cycles/_progress_body.html", "cycles/_dashboard_body.html",
                                     "cycles/_academic_body.html", "cycles/_progress_table.html",
                                     "cycles/_academic_row.html", "tables/_crumbs.html"}
    (tmp_path / "t").mkdir()
    for name, text in {"root.html": '{% if x %}{% for y in x %}{% include "t/a.html" with z=y %}{% endfor %}{% endif %}',
                       "a.html": '{% extends "t/base.html" %}{% block b %}{% include "t/c.html" %}{% endblock %}',
                       "base.html": "{% block b %}{% endblock %}", "c.html": "c",
                       "dynamic.html": "{% include name %}"}.items():
        (tmp_path / "t" / name).write_text(text, encoding="utf-8")
    templates = copy.deepcopy(settings.TEMPLATES)
    templates[0]["DIRS"] = [tmp_path, *templates[0]["DIRS"]]
    settings.TEMPLATES = templates
    assert body_templates(("t/root.html",)) == ["t/root.html", "t/a.html", "t/c.html", "t/base.html"]
    with pytest.raises(TypeError, match="named by a variable"):
        body_templates(("t/dynamic.html",))


def test_a_page_whose_figures_another_request_is_still_computing_answers_503(client, scored, shared_cache,
                                                                              monkeypatch):
    """Another request holds the figures' lock (alive: its lease does not lapse) longer than
    JUNHENG_SINGLE_FLIGHT_WAIT: the page answers 503 with Retry-After and a short message in both
    languages, no traceback — and computes nothing alongside the owner."""
    from junheng_web.registry import leases
    from junheng_web.registry.models import Region

    def boom(*a):
        raise AssertionError("a second computation while the owner lives")

    monkeypatch.setattr(dashboards, "compute_fitness_dashboard", boom)
    monkeypatch.setenv("JUNHENG_SINGLE_FLIGHT_WAIT", "0.3")
    key = dashboards.version("fitness", scored.cycle, Region.objects.get(code="410102"))
    assert leases.store().claim(f"{key}:computing", "the owner", 600)
    client.force_login(scored.users["alice"])
    for name in ("dashboard_region_json", "dashboard_region"):
        response = client.get(reverse(name, kwargs={"pk": scored.cycle.pk, "code": "410102"}))
        assert response.status_code == 503, name
        assert int(response["Retry-After"]) > 0
        text = response.content.decode()
        assert "正在计算，请稍后刷新" in text and "still being computed" in text and "Traceback" not in text
    # the charts' data is read by a script as JSON (charts.js: r.json()), so its 503 is JSON too
    response = client.get(reverse("dashboard_region_json", kwargs={"pk": scored.cycle.pk, "code": "410102"}))
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"error": "正在计算，请稍后刷新 / still being computed, please reload shortly",
                               "retry_after": int(response["Retry-After"])}
    response = client.get(reverse("dashboard_region", kwargs={"pk": scored.cycle.pk, "code": "410102"}))
    assert response["Content-Type"].startswith("text/html") and 'data-status="503"' in response.content.decode()


def test_warm_leaves_a_page_another_request_is_still_computing_to_it(scored, shared_cache, monkeypatch):
    """The dashboards job (and manage.py warm_dashboards) meets a page whose figures a live request is
    computing past the wait: it goes on with the other pages instead of failing, and does not count it."""
    from django.core.cache import cache

    from junheng_web.registry import leases
    from junheng_web.registry.models import Region

    monkeypatch.setenv("JUNHENG_SINGLE_FLIGHT_WAIT", "0.2")
    key = dashboards.version("fitness", scored.cycle, Region.objects.get(code="410102"))
    assert leases.store().claim(f"{key}:computing", "the owner", 600)
    assert dashboards.warm(scored.cycle) == 2 * (1 + 1 + 2) - 1  # all but county 410102's fitness page
    county = Region.objects.get(code="410102")
    assert cache.get(key) is None and cache.get(dashboards.version("academic", scored.cycle, county)) is not None
