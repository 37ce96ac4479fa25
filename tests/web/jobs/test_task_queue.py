"""Issue 14.1: background jobs on the django-tasks queue (database backend), with real worker
processes, on SQLite and on PostgreSQL (when ``JUNHENG_TEST_DATABASE_URL`` names a server: each
test gets a database of its own there).

* two workers share one queue: every job runs exactly once, and both take jobs;
* a worker killed with SIGKILL in the middle of a job: the job is failed (or, idempotent, run again
  by a surviving worker), and the library's task row of the dead run does not stay "running";
* retries: an idempotent job that crashes is run again after a delay, until it succeeds or runs
  out of attempts; a crash of a non-idempotent job is not retried;
* fan-out: a parent job with one child per part, the parts run by several workers, the parent
  aggregating their progress and results (and failing, naming the failed part)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from urllib.parse import urlsplit, urlunsplit

import pytest

LEASE = 2  # seconds (JUNHENG_JOB_LEASE)

PRELUDE = """
import json, os, sys, time
from junheng_web.bootstrap import setup
setup()
from django.db import transaction
from junheng_web.jobs import runner
from junheng_web.jobs.models import Job
from junheng_web.registry.models import Region

def mark(job, what):
    with open(os.environ["SEC_LOG"], "a") as f:
        f.write(json.dumps({"job": job.pk, "pid": os.getpid(), "what": what, "attempt": job.attempts}) + "\\n")

def pids_started():
    with open(os.environ["SEC_LOG"]) as f:
        return {json.loads(line)["pid"] for line in f if '"start"' in line}

@runner.kind("test.slow")
def slow(job, progress):
    mark(job, "start")
    # "meet": n — wait (up to 120 s) until n worker processes have each started a job, so a test
    # of sharing does not depend on how fast the second worker starts on a busy machine
    deadline = time.monotonic() + 120
    while len(pids_started()) < int(job.params.get("meet", 0)) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(float(job.params.get("sleep", 0.3)))
    mark(job, "end")
    return {"n": job.params.get("n", 1)}

@runner.kind("test.hang")
def hang(job, progress):
    mark(job, "start")
    time.sleep(300)
    return {}

@runner.kind("test.flaky", idempotent=True)
def flaky(job, progress):
    job.refresh_from_db()
    mark(job, "start")
    if job.attempts <= int(job.params["fail"]):
        raise RuntimeError("a passing fault")
    return {"attempt": job.attempts}

@runner.kind("test.crash")
def crash(job, progress):
    mark(job, "start")
    raise RuntimeError("a bug")

@runner.group("test.group")
def total(results):
    return {"n": sum(r["n"] for r in results)}
"""


def _pg_database() -> str | None:
    """A new, empty database on the test server (``None`` when no server is configured)."""
    url = os.environ.get("JUNHENG_TEST_DATABASE_URL")
    if not url:
        return None
    import psycopg

    name = f"queue_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def _drop(url: str) -> None:
    import psycopg

    name = urlsplit(url).path.lstrip("/")
    with psycopg.connect(os.environ["JUNHENG_TEST_DATABASE_URL"], autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def env(request, tmp_path):
    env = {**os.environ, "JUNHENG_HOME": str(tmp_path / "home"), "JUNHENG_JOB_LEASE": str(LEASE),
           "JUNHENG_JOB_RETRY_DELAY": "0.2", "JUNHENG_ALLOWED_HOSTS": "testserver", "SEC_LOG": str(tmp_path / "log")}
    env.pop("JUNHENG_JOBS_EAGER", None)
    env.pop("JUNHENG_DATABASE_URL", None)
    url = None
    if request.param == "postgresql":
        url = _pg_database()
        if url is None:
            pytest.skip("JUNHENG_TEST_DATABASE_URL not set")
        env["JUNHENG_DATABASE_URL"] = url
    _py(env, "pass")  # migrate once, before workers start
    yield env
    if url:
        _drop(url)


def _py(env, body: str) -> str:
    out = subprocess.run([sys.executable, "-c", PRELUDE + textwrap.dedent(body)], env=env, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def _worker(env, **kw) -> subprocess.Popen:
    args = ", ".join(f"{k}={v!r}" for k, v in {"poll": 0.1, **kw}.items())
    return subprocess.Popen([sys.executable, "-c", PRELUDE + f"print(runner.work({args}))"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _log(env) -> list[dict]:
    try:
        with open(env["SEC_LOG"]) as f:
            return [json.loads(line) for line in f]
    except FileNotFoundError:
        return []


def _jobs(env, *pks: int) -> dict[int, dict]:
    return {int(k): v for k, v in json.loads(_py(env, f"""
        print(json.dumps({{j.pk: {{"status": j.status, "attempts": j.attempts, "result": j.result,
                                   "error": j.error, "progress": j.progress}}
                          for j in Job.objects.filter(pk__in={list(pks)!r})}}))
    """)).items()}


def _wait(predicate, timeout: float = 120) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.2)
    pytest.fail("timed out")


def test_two_workers_share_the_queue_and_no_job_runs_twice(env):
    pks = json.loads(_py(env, """
        print(json.dumps([runner.enqueue("test.slow", params={"n": i, "sleep": 0.3, "meet": 2}).pk for i in range(12)]))
    """))
    workers = [_worker(env, once=True) for _ in range(2)]
    ran = [int(w.communicate(timeout=300)[0].strip().splitlines()[-1]) for w in workers]
    assert sum(ran) == 12 and all(r > 0 for r in ran), ran  # both took jobs, 12 tasks in all
    starts = [e["job"] for e in _log(env) if e["what"] == "start"]
    assert sorted(starts) == sorted(pks)  # each job started exactly once
    assert {j["status"] for j in _jobs(env, *pks).values()} == {"done"}
    assert len({e["pid"] for e in _log(env)}) == 2


def test_a_job_killed_with_its_worker_is_failed_and_its_task_too(env):
    pk = int(_py(env, 'print(runner.enqueue("test.hang").pk)'))
    w = _worker(env)
    _wait(lambda: any(e["what"] == "start" for e in _log(env)))
    w.send_signal(signal.SIGKILL)
    w.wait(timeout=30)
    time.sleep(LEASE + 1)
    _py(env, "runner.work(once=True)")  # a worker starting up settles the dead one's job
    assert _jobs(env, pk)[pk]["status"] == "failed"
    assert "interrupted" in _jobs(env, pk)[pk]["error"]
    assert _py(env, f"""
        from django_tasks_db.models import DBTaskResult
        print(DBTaskResult.objects.get(id=Job.objects.get(pk={pk}).task_id).status)
    """) == "FAILED"


def test_a_killed_idempotent_job_is_resumed_by_the_surviving_worker(env):
    """Two workers; the one running the job is killed; the other (reaping every lease) runs it again."""
    pk = int(_py(env, 'print(runner.enqueue("test.flaky", params={"fail": 0}).pk)'))
    # the first run hangs (its worker is killed); a second attempt succeeds
    hanging = subprocess.Popen([sys.executable, "-c", PRELUDE + textwrap.dedent("""
        runner.HANDLERS["test.flaky"] = lambda job, progress: (mark(job, "start"), time.sleep(300))
        runner.work(poll=0.1)
    """)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait(lambda: any(e["what"] == "start" for e in _log(env)))
    survivor = _worker(env)
    try:
        hanging.send_signal(signal.SIGKILL)
        hanging.wait(timeout=30)
        _wait(lambda: _jobs(env, pk)[pk]["status"] == "done", timeout=60)
    finally:
        survivor.send_signal(signal.SIGKILL)
        survivor.wait(timeout=30)
    job = _jobs(env, pk)[pk]
    assert job["attempts"] == 2 and job["result"] == {"attempt": 2}
    assert [e["pid"] for e in _log(env)][-1] == survivor.pid


def test_retries(env):
    pks = json.loads(_py(env, """
        print(json.dumps([runner.enqueue("test.flaky", params={"fail": 2}).pk,    # succeeds on the third run
                          runner.enqueue("test.flaky", params={"fail": 9}).pk,    # never: fails after 3 runs
                          runner.enqueue("test.crash").pk]))                       # not idempotent: no retry
    """))
    w = _worker(env)
    try:
        _wait(lambda: {j["status"] for j in _jobs(env, *pks).values()} <= {"done", "failed"}, timeout=120)
    finally:
        w.send_signal(signal.SIGKILL)
        w.wait(timeout=30)
    jobs = _jobs(env, *pks)
    ok, never, crash = (jobs[pk] for pk in pks)
    assert (ok["status"], ok["attempts"], ok["result"]) == ("done", 3, {"attempt": 3})
    assert (never["status"], never["attempts"]) == ("failed", 3) and "traceback" in never["result"]
    assert (crash["status"], crash["attempts"]) == ("failed", 1)
    starts = [e["job"] for e in _log(env) if e["what"] == "start"]
    assert (starts.count(pks[0]), starts.count(pks[1]), starts.count(pks[2])) == (3, 3, 1)


def test_a_fanned_out_job_runs_its_parts_on_several_workers_and_aggregates(env):
    parent = int(_py(env, """
        print(runner.enqueue_group("test.group", "test.slow", [{"n": i, "sleep": 0.5, "meet": 2} for i in range(1, 7)]).pk)
    """))
    assert _jobs(env, parent)[parent]["status"] == "running"
    workers = [_worker(env, once=True) for _ in range(2)]
    for w in workers:
        w.communicate(timeout=300)
    job = _jobs(env, parent)[parent]
    assert job["status"] == "done", job
    assert job["result"] == {"parts": 6, "done": 6, "failed": 0, "n": 21}
    assert len({e["pid"] for e in _log(env)}) == 2  # the parts ran on both workers


def test_a_fanned_out_job_with_a_failed_part_fails_naming_it(env):
    parent, bad = json.loads(_py(env, """
        p = runner.enqueue_group("test.group", "test.slow", [{"n": 1, "sleep": 0}, {"n": 2, "sleep": "x"}])
        print(json.dumps([p.pk, p.children.order_by("id").last().pk]))
    """))
    _py(env, "runner.work(once=True)")
    job = _jobs(env, parent)[parent]
    assert job["status"] == "failed" and f"#{bad}" in job["error"]
    assert job["result"] == {"parts": 2, "done": 1, "failed": 1, "n": 1}
