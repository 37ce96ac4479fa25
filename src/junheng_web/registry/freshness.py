"""How fresh the cached pages of a cycle are: a per-cycle *epoch* in the shared cache, moved by
every service that writes a cycle's results (fitness import, score store, weights), which the
dashboards' cache keys include — so a page computed before an import is never served after it.
Writes by other paths (the admin) show within ``JUNHENG_DASHBOARD_FRESHNESS`` seconds, the
lifetime of a page's data stamp (cycles.dashboards).

An expired value is renewed *after* a response has been sent (:class:`RenewAfterResponse`): the
request that finds it expired gets the previous value at once, and its worker thread renews it
once the page is out — no operator waits for the aggregates.  A value that is missing altogether
(a new epoch, a page not computed ahead) is computed by one request while the others wait for it
(:func:`once`): a hundred operators opening a page whose figures just changed cost one computation,
not a hundred."""

from __future__ import annotations

import contextlib
import contextvars
import logging
import os
import threading
import time
import uuid

from django.core.cache import cache
from django.db import connections, transaction
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string

from junheng.exceptions import JunhengError
from junheng_web.registry import leases


def _key(cycle_id: int) -> str:
    return f"junheng:epoch:{cycle_id}"


def epoch(cycle_id: int) -> int:
    """The cycle's current epoch (0 until the first write through a service)."""
    return cache.get(_key(cycle_id)) or 0


def epochs(cycle_ids: list[int]) -> dict[int, int]:
    """:func:`epoch` of each cycle, in one read of the cache."""
    got = cache.get_many([_key(c) for c in cycle_ids])
    return {c: got.get(_key(c)) or 0 for c in cycle_ids}


def touch(cycle_id: int) -> None:
    """The cycle's results are changing: every cached page of it is stale — now, and again when
    the writing transaction commits (a page computed in between, from the data before the commit,
    is not kept under the new epoch)."""
    cache.set(_key(cycle_id), time.time_ns(), None)
    transaction.on_commit(lambda: cache.set(_key(cycle_id), time.time_ns(), None))


def freshness() -> float:
    """Seconds a page's data stamp (or the progress counts) may be reused: ``JUNHENG_DASHBOARD_FRESHNESS``
    (default 60; 0: recomputed on every request)."""
    return float(os.environ.get("JUNHENG_DASHBOARD_FRESHNESS", "60"))


_after_response: contextvars.ContextVar[list | None] = contextvars.ContextVar("junheng_after_response", default=None)
log = logging.getLogger(__name__)


def fresh(key: str, compute):
    """``compute()``, kept in the shared cache under ``key`` and renewed when older than
    :func:`freshness` — by one request only: while it renews, the others get the previous value
    (no stampede of a hundred operators recomputing the same aggregates at once).  Inside a
    request (:class:`RenewAfterResponse`) the renewing request too gets the previous value and
    renews it after its response is sent; elsewhere (jobs, commands) it waits for the new one.
    With freshness 0 it is computed every time."""
    return fresh_many({key: compute})[key]


def fresh_many(computes: dict):
    """:func:`fresh` of each ``key: compute`` of ``computes``, the values read from the cache in one
    go (a page of a trend over several cycles needs each cycle's stamp); ``{key: value}``.  Not inside
    a caller's ``transaction.atomic`` (refused, as :func:`once`)."""
    leases.refuse_inside_transaction("registry.freshness.fresh")
    ttl = freshness()
    if ttl <= 0:
        return {key: compute() for key, compute in computes.items()}
    hits = cache.get_many(list(computes))
    return {key: _fresh(key, hits.get(key), compute, ttl) for key, compute in computes.items()}


def _fresh(key: str, hit, compute, ttl: float):
    if hit is None:  # nothing to serve meanwhile (a new epoch): one request computes, the others wait
        return once(key, lambda: (compute(), time.time()), STORED)[0]
    value, at = hit
    token = uuid.uuid4().hex
    if time.time() - at < ttl or not leases.store().claim(f"{key}:renewing", token, leases.lease_seconds()):
        return value  # fresh, or another request is renewing it
    later = _after_response.get()
    if later is not None:
        later.append(lambda: _renew(key, compute, token))
        return value
    return _renew(key, compute, token)


STORED = 7 * 24 * 3600  # how long a renewed value is kept (its freshness is checked on every read)


def _renew(key: str, compute, token: str):
    locks, name, lease = leases.store(), f"{key}:renewing", leases.lease_seconds()
    try:
        with _heartbeat(locks, name, token, lease):
            value = compute()
            cache.set(key, (value, time.time()), STORED)
    finally:
        locks.release(name, token)
    return value


# the words of StillComputing — a job's or a command's message, the JSON 503's "error" and the 503
# page's (templates/503.html gets both from StillComputingPage: one source, both languages at once)
STILL_COMPUTING_TITLE = "正在计算 / Still being computed"
STILL_COMPUTING = "正在计算，请稍后刷新 / still being computed, please reload shortly"


class StillComputing(JunhengError):
    """A waiter of :func:`once` gave up after :func:`single_flight_wait` seconds: another caller is
    still computing the value (alive: its lease is renewed).  Pages answer 503 with Retry-After
    (:class:`StillComputingPage`); a job or command shows the message in both languages (a
    :class:`~junheng.exceptions.JunhengError`: no traceback)."""

    def __init__(self, key: str, waited: float):
        super().__init__(f"{STILL_COMPUTING} ({key}: {waited:.0f} s)")
        self.key, self.waited = key, waited


def single_flight_wait() -> float:
    """Seconds a waiter of :func:`once` waits for another caller's value before it gives up
    (:class:`StillComputing`): ``JUNHENG_SINGLE_FLIGHT_WAIT`` (default 170, under nginx's
    ``proxy_read_timeout 180s`` of docs/deploy.md: the user gets the platform's answer, not nginx's 504)."""
    return float(os.environ.get("JUNHENG_SINGLE_FLIGHT_WAIT", "170"))


# the monotonic time by which a request's waits for other requests' values end (StillComputingPage)
_request_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar("junheng_single_flight_deadline",
                                                                                 default=None)


def once(key: str, compute, timeout: float | None, lease: float | None = None, wait: float | None = None):
    """``cache.get(key)``, or else ``compute()`` stored under ``key`` for ``timeout`` seconds —
    computed by one caller at a time (single flight): the caller that claims the key's lock
    (registry.leases: atomic for every cache backend the platform offers, with an owner token)
    computes, and renews its lease every third of ``lease`` seconds (default
    ``JUNHENG_SINGLE_FLIGHT_LEASE``) while it does, however long that takes; the others poll the
    cache for its value instead of computing the same figures alongside it.  A waiter takes the lock
    over when the computing caller failed (it released the lock, the value still missing) or died
    (its lease lapsed without a renewal) — never while it is alive and computing.  A waiter waits at
    most ``wait`` seconds (default :func:`single_flight_wait`), then raises :class:`StillComputing`
    (a hung computation does not hold every worker thread that wants the same page); the computing
    caller itself is not bounded, and still stores its value.  Within a page request the default wait
    is what is left of the request's own :func:`single_flight_wait` (:class:`StillComputingPage`): a
    page that waits for its data stamp, then its body, then its figures waits that long in all, not
    that long for each, so it still answers before nginx's timeout.

    Never inside a caller's ``transaction.atomic``: refused, every time, with
    :class:`~junheng_web.registry.leases.InsideTransaction` (why, and why not a separate connection:
    :func:`~junheng_web.registry.leases.refuse_inside_transaction`)."""
    leases.refuse_inside_transaction("registry.freshness.once")
    value = cache.get(key)
    if value is not None:
        return value
    lease = leases.lease_seconds() if lease is None else lease
    if wait is None:
        deadline = _request_deadline.get()
        wait = single_flight_wait() if deadline is None else deadline - time.monotonic()
    locks, name, token = leases.store(), f"{key}:computing", uuid.uuid4().hex
    pause, started = 0.01, time.monotonic()
    while True:
        if locks.claim(name, token, lease):
            try:
                with _heartbeat(locks, name, token, lease):
                    value = cache.get(key)  # stored between our first look and the lock
                    if value is None:
                        value = compute()
                        cache.set(key, value, timeout)
            finally:
                locks.release(name, token)
            return value
        time.sleep(pause)
        pause = min(2 * pause, 0.2, lease / 4)
        value = cache.get(key)
        if value is not None:
            return value
        if time.monotonic() - started >= wait:  # (after a failed claim: the holder is alive)
            raise StillComputing(key, time.monotonic() - started)


@contextlib.contextmanager
def _heartbeat(locks, name: str, token: str, lease: float):
    """While the block runs, a thread renews the lock's lease every third of ``lease`` seconds (it
    stops if the lock was lost: its lease lapsed in a stall longer than ``lease``, and another caller
    took it over — whose lock the final release then leaves alone)."""
    done = threading.Event()

    def beat():
        try:
            while not done.wait(lease / 3) and locks.renew(name, token, lease):
                pass
        finally:
            connections.close_all()  # this thread's own database connection (the database cache's locks)

    thread = threading.Thread(target=beat, name=f"lease {name}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


class RenewAfterResponse:
    """Middleware: values :func:`fresh` found expired during a request are renewed when the
    response is closed — after the server has sent it — on the same thread and database connection."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        tasks: list = []
        token = _after_response.set(tasks)
        try:
            response = self.get_response(request)
        finally:
            _after_response.reset(token)
        if tasks:
            # HttpResponse.close() runs these (the WSGI server calls it once the body is sent)
            response._resource_closers.append(lambda: _run(tasks))
        return response


RETRY_AFTER = 30  # seconds a page that is still being computed asks the browser to wait


class StillComputingPage:
    """Middleware: a page whose figures another request is still computing (:class:`StillComputing`)
    answers 503 with ``Retry-After`` and a short message — not a traceback, not nginx's 504.  The
    request's waits in :func:`once` share one :func:`single_flight_wait`, counted from here."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _request_deadline.set(time.monotonic() + single_flight_wait())
        try:
            return self.get_response(request)
        finally:
            _request_deadline.reset(token)

    def process_exception(self, request, exception):
        if not isinstance(exception, StillComputing):
            return None
        log.warning("%s", exception)
        if request.path.endswith(".json"):  # the charts' data: a JSON body their script can read
            response = JsonResponse({"error": STILL_COMPUTING, "retry_after": RETRY_AFTER}, status=503,
                                    json_dumps_params={"ensure_ascii": False})
        else:
            response = HttpResponse(render_to_string("503.html", {"still_title": STILL_COMPUTING_TITLE,
                                                                  "still_message": STILL_COMPUTING},
                                                       request=request), status=503)
        response["Retry-After"] = str(RETRY_AFTER)
        return response


def _run(tasks: list) -> None:
    for task in tasks:
        try:
            task()
        except Exception:  # a failed renewal: the previous value stays, the next request tries again
            log.exception("renewing a cached value failed")
