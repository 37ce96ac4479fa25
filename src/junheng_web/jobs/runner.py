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
"""

from __future__ import annotations

import logging
import os
import threading
import time
import traceback
from collections.abc import Callable

from django.db import close_old_connections, connection, transaction
from django.utils import timezone
from django.utils.module_loading import autodiscover_modules

from junheng.exceptions import InputError, JunhengError
from junheng_web.jobs.models import Job

log = logging.getLogger(__name__)
Handler = Callable[[Job, Callable[[float, str], None]], dict]
HANDLERS: dict[str, Handler] = {}


def kind(name: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        HANDLERS[name] = fn
        return fn
    return register


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
                             params=params or {})
    if eager():
        run(job)
        job.refresh_from_db()
    return job


def run(job: Job) -> None:
    """Run one claimed job to the end, recording progress, result or error."""
    fn = handler(job.kind)
    Job.objects.filter(pk=job.pk).update(status=Job.Status.RUNNING, started_at=timezone.now(), progress=0)
    last = [0.0]

    def progress(fraction: float, message: str) -> None:
        now = time.monotonic()
        if now - last[0] < 0.2 and fraction < 1:
            return
        last[0] = now
        Job.objects.filter(pk=job.pk).update(progress=max(0, min(100, int(fraction * 100))), message=message[:300])

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
                                             result=result or {})


def claim() -> Job | None:
    """Take the oldest queued job (safe with several workers: the status update is conditional)."""
    with transaction.atomic():
        job = Job.objects.filter(status=Job.Status.QUEUED).order_by("id").first()
        if job is None:
            return None
        taken = Job.objects.filter(pk=job.pk, status=Job.Status.QUEUED).update(status=Job.Status.RUNNING)
    return job if taken else None


def work(stop: threading.Event | None = None, poll: float = 1.0, once: bool = False) -> int:
    """The worker loop: run queued jobs until ``stop`` is set (or the queue is empty, ``once``)."""
    done = 0
    while stop is None or not stop.is_set():
        if not connection.in_atomic_block:  # (inside a test's transaction the connection must stay)
            close_old_connections()
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
