"""Issue 14 (dashboards under load): the single flight of registry.freshness.once under real
concurrency, on every cache backend the platform offers (settings.JUNHENG_CACHE: db, file, locmem).

* N callers missing the same value at once: one computation, everybody gets its value;
* a computation that runs far longer than the lock's lease (the old lock simply expired after 60 s,
  and a second worker started the same work): the heartbeat keeps the lock, still one computation;
* an owner killed mid-way (a process, kill -9): a waiter takes over once its lease lapses;
* processes (forked gunicorn workers) on the file cache and on the database's;
* a release never deletes a lock another caller took over (the owner token);
* the database cache's lock on the test database — the SQLite file, or PostgreSQL with
  JUNHENG_TEST_DATABASE_URL — with threads that each have their own connection.

Leases are a fraction of a second here (the lease is a parameter), not real minutes."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time

import pytest

from tests.web.cycles.test_dashboard_cache import _at_once, _slow


def _use(settings, backend: str, tmp_path=None) -> None:
    from django.core.cache import cache

    settings.CACHES = {"default": {
        "locmem": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "single-flight"},
        "file": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache", "LOCATION": str(tmp_path)},
        "db": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "junheng_cache"},
    }[backend]}
    if backend == "db":  # (the migration creates it only where the platform's cache is the database's)
        from django.core.management import call_command
        call_command("createcachetable", "junheng_cache", verbosity=0)
    cache.clear()


_DB = pytest.param("db", marks=pytest.mark.django_db(transaction=True))


@pytest.fixture(params=["locmem", "file", _DB])
def backend(request, settings, tmp_path):
    """Each backend in turn; the database cache's threads need committed rows and their own
    connections (transactional_db), closed when they end — only the database's: the other two
    never touch the database, and transactional_db's flush after each test is most of their time."""
    _use(settings, request.param, tmp_path)
    return request.param


def _threads(n: int, call) -> list:
    """:func:`_at_once`, each thread closing its own database connection when it is done."""
    from django.db import connections

    def run():
        try:
            return call()
        finally:
            connections.close_all()
    return _at_once(n, run)


def test_callers_missing_the_same_value_at_once_compute_it_once(backend):
    from junheng_web.registry.freshness import once

    calls = []
    assert _threads(6, lambda: once("figures", _slow(calls, {"pass_rate": 0.5}), 60)) == [{"pass_rate": 0.5}] * 6
    assert calls == [1]


def test_work_longer_than_the_lease_is_still_computed_once(backend):
    """The computation takes five leases: its heartbeat renews the lock, so the waiters keep
    waiting instead of starting the same work (the old lock expired under them).  (The lease is
    0.6 s, renewed every 0.2 s: a loaded test machine may stall a thread for a few tenths.)"""
    from junheng_web.registry.freshness import once

    calls = []
    assert _threads(4, lambda: once("province", _slow(calls, "tables", seconds=3.0), 60, 0.6)) == ["tables"] * 4
    assert calls == [1]


def test_waiters_taking_over_a_lapsed_lock_get_one_owner(backend):
    """A dead owner's lock has lapsed and six waiters find it at the same moment: exactly one of
    them takes it over and computes (on the file cache two of Django's ``cache.add`` at once often
    both succeed)."""
    from junheng_web.registry import leases
    from junheng_web.registry.freshness import once

    assert leases.store().claim("figures:computing", "dead owner", 0.05)
    time.sleep(0.1)
    calls = []
    assert _threads(6, lambda: once("figures", _slow(calls, 7, seconds=0.5), 60, 1.0)) == [7] * 6
    assert calls == [1]


def test_claims_at_the_same_moment_give_one_owner(backend):
    """Eight claims of a free lock, then eight of a lapsed one, each released together: one wins."""
    from junheng_web.registry import leases

    tokens = iter(range(100))
    assert sum(_threads(8, lambda: leases.store().claim("free", f"t{next(tokens)}", 5))) == 1
    assert leases.store().claim("lapsed", "dead owner", 0.05)
    time.sleep(0.1)
    assert sum(_threads(8, lambda: leases.store().claim("lapsed", f"t{next(tokens)}", 5))) == 1


def test_the_file_stores_claim_is_atomic_even_when_its_write_is_slow(settings, tmp_path, monkeypatch):
    """The file store reads a lock file and writes it under one ``flock``: with every write taking
    50 ms (a slow or network disk), eight claims at once still give one owner. Unguarded, every
    claimer would read "free" before the first had written, and all eight would own the lock."""
    from junheng_web.registry import leases

    _use(settings, "file", tmp_path)
    write = leases._FileStore._write

    def slow(path, token, lease):
        time.sleep(0.05)
        write(path, token, lease)

    monkeypatch.setattr(leases._FileStore, "_write", staticmethod(slow))
    tokens = iter(range(100))
    assert sum(_threads(8, lambda: leases.store().claim("free", f"t{next(tokens)}", 5))) == 1


def test_a_release_never_deletes_a_lock_another_caller_took_over(backend):
    from junheng_web.registry import leases

    locks = leases.store()
    assert locks.claim("k", "first", 1.0)  # long enough that the next line finds it held on a loaded machine
    assert not locks.claim("k", "second", 1.0)  # held (a 0.1 s lease ran out before this line once, in CI)
    time.sleep(1.2)  # the first stalled past its lease …
    assert locks.claim("k", "second", 5)  # … and the second took over
    assert not locks.renew("k", "first", 5)
    locks.release("k", "first")  # the first finishes: its release leaves the second's lock alone
    assert not locks.claim("k", "third", 5)
    assert locks.renew("k", "second", 5)
    locks.release("k", "second")
    assert locks.claim("k", "third", 5)


def test_a_waiter_takes_over_from_an_owner_that_died_and_never_from_a_live_one(backend):
    from junheng_web.registry import leases
    from junheng_web.registry.freshness import once

    locks = leases.store()
    assert locks.claim("stuck:computing", "killed", 0.5)  # its process was killed: no heartbeat renews it
    t = time.monotonic()
    assert once("stuck", lambda: "taken over", 60, 0.5) == "taken over"
    assert 0.3 <= time.monotonic() - t < 5


def _forked() -> None:
    """In a forked worker process: its own database connections (the parent's are not shared)."""
    from django.db import connections

    for connection in connections.all(initialized_only=True):
        connection.connection = None  # (closing it would close the parent's session too)


def _owner_then_killed(started) -> None:
    """A worker process (forked: the test's cache) computing a value: it claims the lock, says so,
    and hangs."""
    from junheng_web.registry.freshness import once

    _forked()
    once("figures", lambda: started.set() or time.sleep(60), 60, 1.0)


@pytest.fixture(params=["file", _DB])
def shared_backend(request, settings, tmp_path):
    """The backends shared by several processes: the file cache (one machine) and the database's
    (the SQLite file or PostgreSQL test database)."""
    _use(settings, request.param, tmp_path / "cache")
    return request.param


def test_an_owner_process_killed_mid_way_is_taken_over(shared_backend):
    """Real processes: the owner is killed (SIGKILL: no release, no more heartbeats) while it
    computes — after two of its leases, which its heartbeat kept; the waiting process takes over
    once the lease lapses."""
    from junheng_web.registry import leases
    from junheng_web.registry.freshness import once

    context = multiprocessing.get_context("fork")
    started = context.Event()
    owner = context.Process(target=_owner_then_killed, args=(started,))
    owner.start()
    try:
        assert started.wait(30)
        time.sleep(2.0)  # two leases: the heartbeat kept the lock all along
        assert not leases.store().claim("figures:computing", "intruder", 1.0)
        os.kill(owner.pid, signal.SIGKILL)
        t = time.monotonic()
        assert once("figures", lambda: "mine", 60, 1.0) == "mine"
        assert time.monotonic() - t < 6
    finally:
        owner.kill()
        owner.join()


def _caller(tally: str, barrier) -> None:
    """A worker process (forked: the test's cache) missing the value at the barrier."""
    from django.db import connections

    from junheng_web.registry.freshness import once

    _forked()

    def compute():
        with open(tally, "a") as f:
            f.write("1")
        time.sleep(0.5)
        return "figures"
    barrier.wait()
    try:
        assert once("page", compute, 60, 1.0) == "figures"
    finally:
        connections.close_all()


def test_processes_missing_the_same_value_at_once_compute_it_once(shared_backend, tmp_path):
    """Four processes (gunicorn workers) miss the same value at once."""
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(4)
    tally = tmp_path / "tally"
    workers = [context.Process(target=_caller, args=(str(tally), barrier)) for _ in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(30)
    assert [w.exitcode for w in workers] == [0] * 4
    assert tally.read_text() == "1"


def test_an_unsupported_cache_backend_is_refused(settings):
    from junheng_web.registry import leases

    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
    with pytest.raises(NotImplementedError, match="JUNHENG_CACHE"):
        leases.store()


def test_the_lock_of_the_database_cache_is_readable_as_its_owner(transactional_db, settings):
    """(The database store writes rows of the cache's own table, in the cache's own encoding.)"""
    from django.core.cache import cache

    from junheng_web.registry import leases

    _use(settings, "db")
    assert leases.store().claim("figures:computing", "token-1", 5)
    assert cache.get("figures:computing") == "token-1"
    leases.store().release("figures:computing", "token-1")
    assert cache.get("figures:computing") is None


def test_requests_that_miss_a_questionnaire_summary_at_once_compute_it_once(transactional_db, backend, monkeypatch):
    """questionnaires.region_summary (it reads every response) used ``cache.get_or_set``: four
    requests missing it computed it four times.  It goes through the same single flight now."""
    from junheng.synth.questionnaire import student_questionnaire
    from junheng_web.questionnaires import services
    from junheng_web.registry.models import Cycle

    cycle = Cycle.objects.create(year=2022, grade=6, subjects=[])
    q, _ = services.define(cycle, student_questionnaire().to_json())
    calls = []
    monkeypatch.setattr(services, "compute_region_summary", lambda c, qq, r: _slow(calls, {"n": 0})())
    assert _threads(4, lambda: services.region_summary(cycle, q, None)) == [{"n": 0}] * 4
    assert calls == [1]


def test_a_claim_of_a_held_database_lock_runs_no_failing_statement(transactional_db, settings):
    """Waiters retry their claim every 0.2 s at most: each retry of a held lock must not be a failed
    ``INSERT`` (on PostgreSQL an error line in the server's log and a dead row each time)."""
    from django.db import connection

    from junheng_web.registry import leases

    _use(settings, "db")
    failed = []

    def watch(execute, sql, params, many, context):
        try:
            return execute(sql, params, many, context)
        except Exception as exc:
            failed.append(type(exc).__name__)
            raise

    locks = leases.store()
    assert locks.claim("held", "owner", 5)
    with connection.execute_wrapper(watch):
        assert not locks.claim("held", "waiter", 5)
        assert locks.claim("held", "owner", 5) is False  # (the owner too: a claim is not a renewal)
    assert failed == []
    locks.release("held", "owner")
    with connection.execute_wrapper(watch):
        assert locks.claim("held", "waiter", 5)
    assert failed == []


def test_a_waiter_gives_up_after_its_wait_while_the_owner_lives_and_the_owner_still_stores_once(backend):
    """A hung computation (a database lock wait) held every waiter for as long as it lasted — in the
    end every gunicorn thread.  A waiter now gives up after its wait (StillComputing), never taking the
    live owner's lock over; the owner finishes and stores its value, computed once."""
    import threading

    from django.core.cache import cache
    from django.db import connections

    from junheng_web.registry.freshness import StillComputing, once

    calls, started = [], threading.Event()

    def owner():
        try:
            once("slow", lambda: started.set() or _slow(calls, "figures", seconds=2.0)(), 60, 0.6)
        finally:
            connections.close_all()

    thread = threading.Thread(target=owner)
    thread.start()
    try:
        assert started.wait(10)
        t = time.monotonic()
        with pytest.raises(StillComputing):
            once("slow", lambda: calls.append("second") or "second", 60, 0.6, wait=0.5)
        assert 0.5 <= time.monotonic() - t < 1.9  # (before the owner's 2 s are over)
    finally:
        thread.join(30)
    assert calls == [1] and cache.get("slow") == "figures"
    assert once("slow", lambda: "again", 60, 0.6, wait=0.5) == "figures"


def test_still_computing_reads_in_both_languages_for_a_job_or_a_command():
    """A job records a JunhengError's message (no traceback, no retry) and the CLI prints it."""
    from junheng.exceptions import JunhengError
    from junheng_web.registry.freshness import StillComputing

    exc = StillComputing("junheng:page:7", 170.4)
    assert isinstance(exc, JunhengError)
    assert str(exc) == "正在计算，请稍后刷新 / still being computed, please reload shortly (junheng:page:7: 170 s)"


def test_a_single_flight_inside_a_callers_transaction_is_refused(transactional_db, backend):
    """Inside a caller's ``transaction.atomic`` the database cache's lock row would stay invisible to
    every other connection until the commit (two owners, two computations): ``once``, ``fresh`` and
    the lock store refuse at once, naming the database and the way out, whatever the backend — and
    claim nothing.  Outside, a claim is seen by another connection the moment it returns."""
    from django.core.cache import cache
    from django.db import transaction

    from junheng_web.registry import leases
    from junheng_web.registry.freshness import fresh, once

    calls = []
    with transaction.atomic():
        with pytest.raises(RuntimeError, match=r"once cannot run inside transaction\.atomic "
                                                            r"\(database 'default'\).*transaction\.on_commit"):
            once("figures", lambda: calls.append(1) or 7, 60)
        with pytest.raises(RuntimeError, match="不能在数据库事务"):
            fresh("stamp", lambda: calls.append(1) or 8)
        with transaction.atomic(), pytest.raises(RuntimeError):  # a savepoint is no way round
            leases.store().claim("figures:computing", "inside", 30)
    assert calls == [] and cache.get("figures") is None
    assert leases.store().claim("figures:computing", "outside", 30)  # nothing was left claimed
    assert _threads(1, lambda: leases.store().claim("figures:computing", "another connection", 30)) == [False]
    leases.store().release("figures:computing", "outside")
    assert once("figures", lambda: 7, 60) == 7  # outside a transaction: as ever


@pytest.mark.django_db(transaction=True)
def test_database_leases_keep_the_databases_time_whatever_the_app_servers_clock(settings, monkeypatch):
    """Gunicorn machines whose clocks disagree with each other by an hour still agree on the database
    cache's locks: a lease runs from the database's now, in the statement (it ran from the claiming
    server's clock — a server an hour slow claimed locks that had lapsed for everyone else, a server
    an hour fast held a dead worker's lock for an hour)."""
    from datetime import timedelta

    from django.utils import timezone

    from junheng_web.registry import leases

    _use(settings, "db")
    real = timezone.now

    def clock(skew: timedelta | None) -> None:  # this "server"'s clock from now on
        monkeypatch.setattr(timezone, "now", real if skew is None else lambda: real() + skew)

    locks = leases.store()
    clock(-timedelta(hours=1))  # server A, an hour slow
    assert locks.claim("slow", "A", 30)
    clock(None)  # server B
    assert not locks.claim("slow", "B", 30)  # A's lease is alive
    clock(-timedelta(hours=1))
    assert locks.renew("slow", "A", 30)
    clock(None)
    assert not locks.claim("slow", "B", 30)

    clock(timedelta(hours=1))  # server C, an hour fast, dies holding a lease of 0.3 s
    assert locks.claim("fast", "C", 0.3)
    clock(None)
    assert not locks.claim("fast", "B", 30)
    time.sleep(0.6)
    assert locks.claim("fast", "B", 30)  # lapsed on the database's clock (not an hour later)
    clock(timedelta(hours=1))
    assert not locks.claim("fast", "C", 30)  # and C, fast, does not take B's live lease


def test_the_503_page_says_what_the_message_constant_says(rf, monkeypatch):
    """The 503 page's heading and text are registry.freshness's words (the template held its own
    copy: a change of the message reached jobs, commands and the JSON answer, not the page)."""
    from django.contrib.auth.models import AnonymousUser

    from junheng_web.registry import freshness

    monkeypatch.setattr(freshness, "STILL_COMPUTING", "仍在汇总 / still adding up")
    monkeypatch.setattr(freshness, "STILL_COMPUTING_TITLE", "汇总中 / Adding up")
    request = rf.get("/cycles/1/dashboard/410102/")
    request.user = AnonymousUser()
    response = freshness.StillComputingPage(lambda r: None).process_exception(
        request, freshness.StillComputing("junheng:page:7", 170))
    page = response.content.decode()
    assert response.status_code == 503 and 'data-status="503"' in page
    assert "<h1>汇总中 / Adding up</h1>" in page and "<p>仍在汇总 / still adding up</p>" in page
    assert "<title>汇总中 / Adding up" in page
    assert "请稍后刷新" not in page and "Still being computed" not in page


def test_the_wait_defaults_to_just_under_nginx_read_timeout(monkeypatch):
    """docs/deploy.md's nginx site: proxy_read_timeout 180s for the pages."""
    import re
    from pathlib import Path

    from junheng_web.registry.freshness import single_flight_wait

    monkeypatch.delenv("JUNHENG_SINGLE_FLIGHT_WAIT", raising=False)
    deploy = (Path(__file__).parents[3] / "docs" / "deploy.md").read_text()
    nginx = int(re.search(r"location / \{[^}]*proxy_read_timeout (\d+)s", deploy).group(1))
    assert nginx - 30 <= single_flight_wait() < nginx
    monkeypatch.setenv("JUNHENG_SINGLE_FLIGHT_WAIT", "5")
    assert single_flight_wait() == 5


def test_a_page_requests_waits_share_one_wait(settings, monkeypatch):
    """A page waits for its data stamp, its body and its figures, each a once(): each with the whole
    JUNHENG_SINGLE_FLIGHT_WAIT, a request could wait several times that and meet nginx's 504 first.
    Within StillComputingPage they share it: after 1.2 s of a 1.5 s wait spent elsewhere, a held
    value is waited for about 0.3 s (failed before: 1.5 s)."""
    from junheng_web.registry import leases
    from junheng_web.registry.freshness import StillComputing, StillComputingPage, once

    _use(settings, "locmem")
    monkeypatch.setenv("JUNHENG_SINGLE_FLIGHT_WAIT", "1.5")
    assert leases.store().claim("held:computing", "the owner", 600)
    waited, spent = [], []

    def page(_request):
        start = time.monotonic()
        time.sleep(1.2)  # (waiting for an earlier value of the page)
        t = time.monotonic()
        spent.append(t - start)  # ≥ 1.2 s: on a loaded machine the sleep runs over
        try:
            once("held", lambda: "never", 60, 600)
        finally:
            waited.append(time.monotonic() - t)

    with pytest.raises(StillComputing):
        StillComputingPage(page)(None)
    # the rest of the page's 1.5 s, not a whole 1.5 s of its own (the page's clock starts a little before `start`)
    assert 1.5 - spent[0] - 0.05 <= waited[0] < 1.2
    t = time.monotonic()  # outside a request: the whole wait
    with pytest.raises(StillComputing):
        once("held", lambda: "never", 60, 600, wait=0.3)
    assert time.monotonic() - t >= 0.3


@pytest.mark.parametrize("name", ["JUNHENG_SINGLE_FLIGHT_WAIT", "JUNHENG_SINGLE_FLIGHT_LEASE"])
@pytest.mark.parametrize("value", ["170s", "0", "-5", "nan"])
def test_a_bad_wait_or_lease_in_the_environment_stops_the_start_not_every_page(tmp_path, name, value):
    """Both are read on each call (single_flight_wait on every request through StillComputingPage):
    "170s" made every page a 500; the settings refuse it at start-up, as JUNHENG_PUPIL_POLL_SECONDS."""
    import subprocess
    import sys

    env = os.environ | {name: value, "JUNHENG_HOME": str(tmp_path), "JUNHENG_SECRET_KEY": "x" * 60}
    run = subprocess.run([sys.executable, "-c", "import junheng_web.settings"], env=env, capture_output=True, text=True)
    assert run.returncode != 0 and f"{name} must be a positive number of seconds" in run.stderr, run.stderr
    env[name] = "45"
    run = subprocess.run([sys.executable, "-c", "import junheng_web.settings"], env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
