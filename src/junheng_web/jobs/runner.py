"""Background jobs on Django's Tasks API: job kinds, :func:`enqueue`, groups, leases, retries, workers.

The queue is a maintained library, not ours: ``django-tasks`` (the backport of Django 6's
``django.tasks`` API) with the database backend of ``django-tasks-db`` — the queue is a table of
the platform's own database (SQLite or PostgreSQL), workers claim a task with ``SELECT … FOR
UPDATE SKIP LOCKED`` (PostgreSQL) or an exclusive transaction (SQLite), so any number of workers
on any number of machines share it with nothing else to run (docs/deploy.md says why this one).
This module adds what the platform needs on top, in the :class:`Job` row the pages show:

* A job kind is a function ``handler(job, progress) -> dict`` registered with :func:`kind` in the
  ``jobs.py`` module of the app it belongs to (``sampling/jobs.py``: ``sample``;
  ``supervision/jobs.py``: ``video``; ``cycles/jobs.py``: the uploads).  :func:`enqueue` writes
  the job and queues one task, :func:`run_job`, with its id; ``progress(fraction, message)``
  updates the row the page polls.  A :class:`JunhengError` (bad input) ends the job as *failed*
  with its bilingual issues kept for the page; any other exception too, with the traceback kept
  for the operators (never shown to the user).
* A task whose job is no longer *queued* does nothing: the job runs once even if its task were
  delivered twice (the claim is a conditional update, on top of the library's locked claim).
* **Leases.**  A worker can die in the middle of a job (killed, out of memory, power cut).  A
  running job's worker writes ``heartbeat_at`` every ``lease() / 4`` seconds from a thread of its
  own.  A running job whose heartbeat is older than the lease (``JUNHENG_JOB_LEASE`` seconds,
  default 120) is dead: :func:`reap` — run by every worker as it starts and every lease while it
  works, and by the job's page — fails it (interrupted), or, for a kind registered
  ``idempotent=True`` (the imports, which upsert by natural key; the video analysis, which
  replaces its flags), queues it again, up to ``MAX_ATTEMPTS`` runs.  The dead run's task is
  marked failed in the library's table too.
* **Retries.**  A job of an idempotent kind that raises an unexpected error (not bad input) is
  queued again after ``JUNHENG_JOB_RETRY_DELAY`` × 2^(attempt−1) seconds (default 5), up to
  ``MAX_ATTEMPTS`` runs; then it fails.  (Not in eager mode: there a job runs once.)
* **One record of each run.**  Every run of a job is one task of the library's table
  (``DBTaskResult``: its status, start, end, worker and traceback); a retry or a re-queue after a
  dead worker is a new task.  The job's number of runs (``Job.attempts``) is counted from those
  rows, not kept a second time; the :class:`Job` row keeps what the library has no field for —
  the job's own state as the pages show it (bad input fails a job whose task ran fine), progress,
  result and issues, the lease's heartbeat, the parent of a fanned-out job, and ``task_id``, its
  latest run.
* **Groups.**  :func:`enqueue_group` fans one piece of work out as one job (one task) per part —
  the video analysis of a session, one per recording — under a parent job whose progress and
  result aggregate its children's (the aggregator registered with :func:`group`); workers on
  several machines take the parts at once.
* Where tasks run: ``manage.py runjobs`` (any number, on any machine reaching the database);
  ``junheng serve`` starts one worker thread; with ``JUNHENG_JOBS_EAGER=1`` (tests) a job runs
  inside the request that queued it (the library's immediate backend).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import traceback
from collections.abc import Callable
from datetime import timedelta

from django.db import DatabaseError, connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.module_loading import autodiscover_modules
from django_tasks import task
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult

from junheng.exceptions import InputError, JunhengError
from junheng_web.jobs.models import Job

log = logging.getLogger(__name__)
Handler = Callable[[Job, Callable[[float, str], None]], dict]
Aggregate = Callable[[list[dict]], dict]
HANDLERS: dict[str, Handler] = {}
GROUPS: dict[str, Aggregate] = {}
IDEMPOTENT: set[str] = set()
MAX_ATTEMPTS = 3
QUEUE_BACKEND, EAGER_BACKEND = "default", "immediate"  # settings.TASKS
INTERRUPTED = ("任务中断：执行它的工作进程已停止（租约过期），请重新提交。 / The job was interrupted: its worker "
               "stopped (the lease expired); please submit it again.")


def kind(name: str, *, idempotent: bool = False) -> Callable[[Handler], Handler]:
    """Register a job kind; ``idempotent``: running it twice leaves what running it once does (an
    interrupted or crashed job of such a kind is run again rather than failed)."""
    def register(fn: Handler) -> Handler:
        HANDLERS[name] = fn
        if idempotent:
            IDEMPOTENT.add(name)
        return fn
    return register


def group(name: str) -> Callable[[Aggregate], Aggregate]:
    """Register a parent kind for :func:`enqueue_group`: ``aggregate(results of the done children)``
    gives the parent's result."""
    def register(fn: Aggregate) -> Aggregate:
        GROUPS[name] = fn
        return fn
    return register


def lease() -> timedelta:
    return timedelta(seconds=float(os.environ.get("JUNHENG_JOB_LEASE", "120")))


def retry_delay(attempt: int) -> float:
    return float(os.environ.get("JUNHENG_JOB_RETRY_DELAY", "5")) * 2 ** max(0, attempt - 1)


def handler(kind_: str) -> Handler:
    """The registered function of job kind ``kind_`` (``KeyError`` if no app registers it)."""
    if kind_ not in HANDLERS:
        autodiscover_modules("jobs")
    if kind_ not in HANDLERS:
        raise KeyError(f"unknown job kind {kind_!r}")
    return HANDLERS[kind_]


def eager() -> bool:
    return os.environ.get("JUNHENG_JOBS_EAGER", "") == "1"


# ---------------------------------------------------------------- queueing


@task()
def run_job(job_id: int) -> dict:
    """The one task of the queue: run job ``job_id`` if it is still queued (else nothing)."""
    now = timezone.now()
    taken = Job.objects.filter(pk=job_id, status=Job.Status.QUEUED).update(
        status=Job.Status.RUNNING, started_at=now, heartbeat_at=now, progress=0)
    if not taken:
        return {"job": job_id, "ran": False}
    run(Job.objects.get(pk=job_id))
    return {"job": job_id, "ran": True}


def _submit(job_id: int, *, delay: float = 0.0) -> None:
    """Queue the task of job ``job_id`` (after ``delay`` seconds), or run it now in eager mode."""
    if eager():
        run_job.using(backend=EAGER_BACKEND).enqueue(job_id)
        return
    t = run_job.using(backend=QUEUE_BACKEND)
    if delay:
        t = t.using(run_after=timezone.now() + timedelta(seconds=delay))
    result = t.enqueue(job_id)
    Job.objects.filter(pk=job_id).update(task_id=str(result.id))


def enqueue(kind_: str, *, user=None, cycle=None, county=None, school=None, params: dict | None = None) -> Job:
    """Queue a job (or, in eager mode, run it now) and return it."""
    handler(kind_)
    job = Job.objects.create(kind=kind_, created_by=user, cycle=cycle, county=county, school=school,
                             params=params or {}, idempotent=kind_ in IDEMPOTENT)
    _submit(job.pk)
    job.refresh_from_db()
    return job


def enqueue_group(kind_: str, child_kind: str, parts: list[dict], *, user=None, cycle=None, county=None,
                  school=None, params: dict | None = None) -> Job:
    """Fan out: a parent job of group kind ``kind_`` and one ``child_kind`` job (one task) per entry
    of ``parts`` (each the child's params), which any free worker takes."""
    handler(child_kind)
    if kind_ not in GROUPS:
        autodiscover_modules("jobs")
    if kind_ not in GROUPS:
        raise KeyError(f"unknown group kind {kind_!r}")
    now = timezone.now()
    common = {"created_by": user, "cycle": cycle, "county": county, "school": school}
    with transaction.atomic():
        parent = Job.objects.create(kind=kind_, status=Job.Status.RUNNING, started_at=now, params=params or {},
                                    **common)
        children = [Job.objects.create(kind=child_kind, parent=parent, params=p,
                                       idempotent=child_kind in IDEMPOTENT, **common) for p in parts]
    for child in children:
        _submit(child.pk)
    settle(parent.pk)
    parent.refresh_from_db()
    return parent


def settle(parent_id: int) -> None:
    """Bring a parent job up to date with its children: progress, and — all finished — its end
    (done when every child is done, else failed naming the failed ones)."""
    rows = list(Job.objects.filter(parent_id=parent_id).values_list("pk", "status", "progress", "result"))
    finished = {Job.Status.DONE, Job.Status.FAILED}
    n = len(rows)
    done = [r for r in rows if r[1] == Job.Status.DONE]
    failed = [r[0] for r in rows if r[1] == Job.Status.FAILED]
    k = len(done) + len(failed)
    parent = Job.objects.filter(pk=parent_id, status=Job.Status.RUNNING)
    if k < n:
        share = sum(100 if r[1] in finished else r[2] for r in rows) / n
        parent.update(progress=int(share), heartbeat_at=timezone.now(),
                      message=f"已完成 {k}/{n} / {k} of {n} finished")
        return
    kind_ = Job.objects.filter(pk=parent_id).values_list("kind", flat=True).first()
    result = {"parts": n, "done": len(done), "failed": len(failed),
              **GROUPS.get(kind_, lambda results: {})([r[3] for r in done])}
    if failed:
        ids = ", ".join(f"#{pk}" for pk in failed)
        parent.update(status=Job.Status.FAILED, finished_at=timezone.now(), progress=100, message="", result=result,
                      error=f"{len(failed)}/{n} 个子任务失败（{ids}） / {len(failed)} of {n} parts failed ({ids})")
    else:
        parent.update(status=Job.Status.DONE, finished_at=timezone.now(), progress=100, message="", result=result)


# ---------------------------------------------------------------- running


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


def run(job: Job) -> None:
    """Run one claimed (running) job to the end, recording progress, result or error; an
    unexpected error of an idempotent kind queues it again while attempts remain."""
    fn = handler(job.kind)
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
    mine = Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING)  # (a reaper may have settled it)
    try:
        result = fn(job, progress)
    except InputError as exc:
        mine.update(status=Job.Status.FAILED, finished_at=timezone.now(), error=exc.summary[:5000], message="",
                    issues=[i.as_dict() for i in sorted(exc.issues, key=lambda i: (i.row is not None, i.row or 0))][
                        :20000], annotated=str(exc.annotated_path or ""))
    except JunhengError as exc:
        mine.update(status=Job.Status.FAILED, finished_at=timezone.now(), error=str(exc))
    except Exception:  # a bug or a passing fault (database, disk): keep the traceback for the operators
        log.exception("job %s failed", job.pk)
        attempts = job.attempts
        tb = {"traceback": traceback.format_exc()[-8000:]}
        if job.idempotent and not eager() and attempts < MAX_ATTEMPTS:
            if mine.update(status=Job.Status.QUEUED, progress=0, heartbeat_at=None, result=tb,
                           message=f"出错，稍后重试（第 {attempts} 次） / failed; retrying (attempt {attempts})"):
                _submit(job.pk, delay=retry_delay(attempts))
        else:
            mine.update(status=Job.Status.FAILED, finished_at=timezone.now(), result=tb,
                        error="内部错误，已记录 / internal error, logged")
    else:
        mine.update(status=Job.Status.DONE, finished_at=timezone.now(), progress=100, result=result or {}, error="",
                    message="")
    finally:
        stop.set()
        if job.parent_id:
            settle(job.parent_id)


def reap(jobs=None) -> int:
    """Settle running jobs whose lease has expired (of ``jobs``, a queryset; default all): queued
    again if idempotent and tried fewer than ``MAX_ATTEMPTS`` times, else failed.  Each update is
    conditional on the job still being stale, so reapers and a late heartbeat never race.  Parent
    jobs hold no lease (their children do)."""
    cutoff = timezone.now() - lease()
    stale = (Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, started_at__lt=cutoff)
             | Q(heartbeat_at__isnull=True, started_at__isnull=True, created_at__lt=cutoff))
    qs = ((jobs if jobs is not None else Job.objects.all()).filter(stale, status=Job.Status.RUNNING)
          .exclude(Exists(Job.objects.filter(parent=OuterRef("pk")))))
    n = 0
    for job in qs.only("pk", "idempotent", "task_id", "parent_id"):
        pk, task_id, parent_id = job.pk, job.task_id, job.parent_id
        again = Job.objects.filter(stale, pk=pk, status=Job.Status.RUNNING)
        retry = job.idempotent and job.attempts < MAX_ATTEMPTS
        if retry:
            k = again.update(status=Job.Status.QUEUED, progress=0, heartbeat_at=None,
                             message="中断后重新排队 / interrupted; queued again")
        else:
            k = again.update(status=Job.Status.FAILED, finished_at=timezone.now(), error=INTERRUPTED, message="")
        if not k:
            continue
        log.warning("job %s: lease expired (%s)", pk, "queued again" if retry else "failed")
        if task_id:  # the dead run's task, left "running" in the library's table
            DBTaskResult.objects.filter(id=task_id, status="RUNNING").update(
                status="FAILED", finished_at=timezone.now(), exception_class_path="junheng_web.jobs.LeaseExpired",
                traceback=INTERRUPTED)
        if retry:
            _submit(pk)
        if parent_id:
            settle(parent_id)
        n += k
    return n


# ---------------------------------------------------------------- workers


def worker_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{threading.get_ident() % 10000}"[:64]


class _Worker(Worker):
    """The library's worker, counting the tasks it ran."""

    ran = 0

    def run_task(self, db_task_result) -> None:
        super().run_task(db_task_result)
        self.ran += 1


def work(stop: threading.Event | None = None, poll: float = 1.0, once: bool = False) -> int:
    """A worker: the library's database worker running queued tasks until ``stop`` is set (or,
    ``once``, the queue is empty); jobs of dead workers are reaped as it starts and every lease.
    Returns the number of tasks run."""
    reap()
    w = _Worker(queue_names=["default"], interval=poll, batch=once, backend_name=QUEUE_BACKEND, startup_delay=False,
               max_tasks=None, worker_id=worker_id(), excluded_queue_names=[])
    done = threading.Event()

    def reaper() -> None:
        try:
            while not done.wait(lease().total_seconds()):
                try:
                    reap()
                except DatabaseError:
                    log.warning("reaping failed; trying again", exc_info=True)
        finally:
            connection.close()

    def watch_stop() -> None:
        while not done.wait(0.2):
            if stop.is_set():
                w.running = False
                return

    if not connection.in_atomic_block:
        threading.Thread(target=reaper, name="junheng-jobs-reaper", daemon=True).start()
    if stop is not None:
        threading.Thread(target=watch_stop, name="junheng-jobs-stop", daemon=True).start()
    try:
        w.run()
    finally:
        done.set()
    return w.ran


def start_thread() -> threading.Event:
    """A daemon worker thread for the embedded set-up (``junheng serve``); set the event to stop."""
    stop = threading.Event()
    threading.Thread(target=work, args=(stop,), name="junheng-jobs", daemon=True).start()
    return stop
