"""Running jobs: a registry of job kinds, :func:`enqueue`, and a worker that claims queued jobs.

* A job kind is a function ``handler(job, progress) -> dict`` registered with :func:`kind` in the
  ``jobs.py`` module of the app it belongs to (``sampling/jobs.py``: ``sample``;
  ``supervision/jobs.py``: ``video``; ``cycles/jobs.py``: the uploads).  This module names no
  app: :func:`handler` imports every installed app's ``jobs`` module the first time it meets an
  unknown kind.  ``progress(fraction, message)`` updates the row the page polls.  A :class:`JunhengError`
  (bad input) ends the job as *failed* with its bilingual issues kept for the page; any other
  exception too, with the traceback kept for the operators (never shown to the user).
* Where jobs run: ``junheng serve`` starts a worker thread; a production set-up runs
  ``manage.py runjobs`` beside the application server; with ``JUNHENG_JOBS_EAGER=1`` (tests,
  the load benchmark) a job runs inside the request that queued it.
* A worker can die in the middle of a job (killed, out of memory, power cut).  Each running job
  holds a lease: its worker writes ``heartbeat_at`` every ``lease() / 4`` seconds from a thread of
  its own.  A running job whose heartbeat is older than the lease (``JUNHENG_JOB_LEASE`` seconds,
  default 120) is dead: :func:`reap` — called by every worker as it starts and while it waits,
  and by the job's page — marks it failed, interrupted; a job of an idempotent kind
  (``kind(name, idempotent=True)``: the imports, which upsert by natural key) is queued again
  instead, up to ``MAX_ATTEMPTS`` runs, so if the dead run had committed, the new run finds
  everything in place and the page ends with the truth (done, nothing new written).
"""

from __future__ import annotations

import logging
import os
import threading
import time
import traceback
from collections.abc import Callable
from datetime import timedelta

from django.db import DatabaseError, close_old_connections, connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.module_loading import autodiscover_modules

from junheng.exceptions import InputError, JunhengError
from junheng_web.jobs.models import Job

log = logging.getLogger(__name__)
Handler = Callable[[Job, Callable[[float, str], None]], dict]
HANDLERS: dict[str, Handler] = {}
IDEMPOTENT: set[str] = set()
MAX_ATTEMPTS = 3
INTERRUPTED = ("任务中断：执行它的工作进程已停止（租约过期），请重新提交。 / The job was interrupted: its worker "
               "stopped (the lease expired); please submit it again.")


def kind(name: str, *, idempotent: bool = False) -> Callable[[Handler], Handler]:
    """Register a job kind; ``idempotent``: running it twice leaves what running it once does (an
    interrupted job of such a kind is run again rather than failed)."""
    def register(fn: Handler) -> Handler:
        HANDLERS[name] = fn
        if idempotent:
            IDEMPOTENT.add(name)
        return fn
    return register


def lease() -> timedelta:
    return timedelta(seconds=float(os.environ.get("JUNHENG_JOB_LEASE", "120")))


def reap(jobs=None) -> int:
    """Settle running jobs whose lease has expired (of ``jobs``, a queryset; default all): queued
    again if idempotent and tried fewer than ``MAX_ATTEMPTS`` times, else failed.  Each update is
    conditional on the job still being stale, so reapers and a late heartbeat never race."""
    cutoff = timezone.now() - lease()
    stale = (Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, started_at__lt=cutoff)
             | Q(heartbeat_at__isnull=True, started_at__isnull=True, created_at__lt=cutoff))
    qs = (jobs if jobs is not None else Job.objects.all()).filter(stale, status=Job.Status.RUNNING)
    n = 0
    for pk, idempotent, attempts in qs.values_list("pk", "idempotent", "attempts"):
        again = Job.objects.filter(stale, pk=pk, status=Job.Status.RUNNING)
        retry = idempotent and attempts < MAX_ATTEMPTS
        if retry:
            k = again.update(status=Job.Status.QUEUED, progress=0, heartbeat_at=None,
                             message="中断后重新排队 / interrupted; queued again")
        else:
            k = again.update(status=Job.Status.FAILED, finished_at=timezone.now(), error=INTERRUPTED, message="")
        if k:
            log.warning("job %s: lease expired (%s)", pk, "queued again" if retry else "failed")
        n += k
    return n


def _heartbeat(pk: int, stop: threading.Event) -> None:
    """The lease of job ``pk``, renewed from its own thread (and database connection) until ``stop``."""
    interval = max(0.2, lease().total_seconds() / 4)
    try:
        while not stop.wait(interval):
            try:
                Job.objects.filter(pk=pk, status=Job.Status.RUNNING).update(heartbeat_at=timezone.now())
            except DatabaseError:  # e.g. SQLite busy behind a long import: the next beat tries again
                log.warning("job %s: heartbeat not written", pk, exc_info=True)
    finally:
        connection.close()


def handler(kind_: str) -> Handler:
    """The registered function of job kind ``kind_`` (``KeyError`` if no app registers it)."""
    if kind_ not in HANDLERS:
        autodiscover_modules("jobs")
    if kind_ not in HANDLERS:
        raise KeyError(f"unknown job kind {kind_!r}")
    return HANDLERS[kind_]


def eager() -> bool:
    return os.environ.get("JUNHENG_JOBS_EAGER", "") == "1"


def enqueue(kind_: str, *, user=None, cycle=None, county=None, school=None, params: dict | None = None) -> Job:
    """Queue a job (or, in eager mode, run it now) and return it."""
    handler(kind_)
    job = Job.objects.create(kind=kind_, created_by=user, cycle=cycle, county=county, school=school,
                             params=params or {}, idempotent=kind_ in IDEMPOTENT)
    if eager():
        run(job)
        job.refresh_from_db()
    return job


def run(job: Job) -> None:
    """Run one claimed job to the end, recording progress, result or error."""
    fn = handler(job.kind)
    now = timezone.now()
    Job.objects.filter(pk=job.pk).update(status=Job.Status.RUNNING, started_at=now, heartbeat_at=now, progress=0)
    last = [0.0]

    def progress(fraction: float, message: str) -> None:
        now = time.monotonic()
        if now - last[0] < 0.2 and fraction < 1:
            return
        last[0] = now
        Job.objects.filter(pk=job.pk).update(progress=max(0, min(100, int(fraction * 100))), message=message[:300],
                                             heartbeat_at=timezone.now())

    stop = threading.Event()
    if not connection.in_atomic_block:  # (a test's transaction: no second connection; progress beats)
        threading.Thread(target=_heartbeat, args=(job.pk, stop), name=f"junheng-job-{job.pk}-lease",
                         daemon=True).start()
    try:
        result = fn(job, progress)
    except InputError as exc:
        Job.objects.filter(pk=job.pk).update(
            status=Job.Status.FAILED, finished_at=timezone.now(), error=exc.summary[:5000], message="",
            issues=[i.as_dict() for i in sorted(exc.issues, key=lambda i: (i.row is not None, i.row or 0))][:20000],
            annotated=str(exc.annotated_path or ""))
    except JunhengError as exc:
        Job.objects.filter(pk=job.pk).update(status=Job.Status.FAILED, finished_at=timezone.now(), error=str(exc))
    except Exception:  # a bug: keep the traceback for the operators
        log.exception("job %s failed", job.pk)
        Job.objects.filter(pk=job.pk).update(status=Job.Status.FAILED, finished_at=timezone.now(),
                                             error="内部错误，已记录 / internal error, logged",
                                             result={"traceback": traceback.format_exc()[-8000:]})
    else:
        Job.objects.filter(pk=job.pk).update(status=Job.Status.DONE, finished_at=timezone.now(), progress=100,
                                             result=result or {}, error="", message="")
    finally:
        stop.set()


def claim() -> Job | None:
    """Take the oldest queued job (safe with several workers: the status update is conditional)."""
    with transaction.atomic():
        job = Job.objects.filter(status=Job.Status.QUEUED).order_by("id").first()
        if job is None:
            return None
        taken = Job.objects.filter(pk=job.pk, status=Job.Status.QUEUED).update(
            status=Job.Status.RUNNING, heartbeat_at=timezone.now(), attempts=F("attempts") + 1)
    return job if taken else None


def work(stop: threading.Event | None = None, poll: float = 1.0, once: bool = False) -> int:
    """The worker loop: run queued jobs until ``stop`` is set (or the queue is empty, ``once``).
    Jobs of dead workers are settled first (``reap``), and again every lease while waiting."""
    done = 0
    reaped_at = 0.0
    while stop is None or not stop.is_set():
        if not connection.in_atomic_block:  # (inside a test's transaction the connection must stay)
            close_old_connections()
        if time.monotonic() - reaped_at >= lease().total_seconds():
            reap()
            reaped_at = time.monotonic()
        job = claim()
        if job is None:
            if once:
                break
            time.sleep(poll)
            continue
        run(job)
        done += 1
    return done


def start_thread() -> threading.Event:
    """A daemon worker thread for the embedded set-up (``junheng serve``); set the event to stop."""
    stop = threading.Event()
    threading.Thread(target=work, args=(stop,), name="junheng-jobs", daemon=True).start()
    return stop
