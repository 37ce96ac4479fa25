"""Issue 12.3: a job whose worker dies does not stay "running" for ever.

Real worker processes on a real SQLite file: a worker is killed (SIGKILL) in the middle of a job.
Its lease (heartbeat) runs out; then the job page says so — failed, interrupted — and a worker
starting up does the same.  A job of an idempotent kind is run again instead, so when the killed
run had already committed its import, the page ends with the truth: done, nothing new written."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

LEASE = 2  # seconds (JUNHENG_JOB_LEASE), heartbeats every half second

PRELUDE = """
import os, sys, time
from junheng_web.bootstrap import setup
setup()
from django.db import transaction
from junheng_web.jobs import runner
from junheng_web.jobs.models import Job
from junheng_web.registry.models import Region

@runner.kind("test.hang")
def hang(job, progress):
    open(os.environ["SEC_MARKER"], "w").close()
    time.sleep(300)
    return {}

@runner.kind("test.commit", idempotent=True)
def commit(job, progress):
    with transaction.atomic():
        _, created = Region.objects.get_or_create(code="419999", level="county", defaults={"name": "测试区"})
    open(os.environ["SEC_MARKER"], "w").close()
    if os.environ.get("SEC_HANG"):
        time.sleep(300)  # killed here: the import has committed, the job is not marked done
    return {"created": int(created)}
"""


def _env(tmp_path, **extra) -> dict:
    env = {**os.environ, "JUNHENG_HOME": str(tmp_path / "home"), "JUNHENG_JOB_LEASE": str(LEASE),
           "JUNHENG_ALLOWED_HOSTS": "testserver", "SEC_MARKER": str(tmp_path / "marker"), **extra}
    env.pop("JUNHENG_DATABASE_URL", None)
    env.pop("JUNHENG_JOBS_EAGER", None)
    return env


def _py(env, body: str) -> str:
    out = subprocess.run([sys.executable, "-c", PRELUDE + textwrap.dedent(body)], env=env, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def _start_worker_and_kill_it_mid_job(env, marker) -> None:
    worker = subprocess.Popen([sys.executable, "-c", PRELUDE + "runner.work(poll=0.2)"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(600):
            if marker.exists():
                break
            time.sleep(0.1)
        else:
            pytest.fail("the worker did not start the job")
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)


def _page(env, pk: int) -> dict:
    """The job's status page, as its owner sees it (Django's test client on the real database)."""
    return json.loads(_py(env, f"""
        from django.test import Client
        from junheng_web.accounts.models import User
        c = Client()
        c.force_login(User.objects.get(username="owner"))
        print(c.get("/jobs/{pk}/status.json").content.decode())
    """))


def _queue(env, kind_: str) -> int:
    return int(_py(env, f"""
        from junheng_web.accounts.models import User
        owner = User.objects.create(username="owner", role="province_admin")
        print(runner.enqueue("{kind_}", user=owner).pk)
    """))


def test_a_killed_job_is_reported_failed_by_its_page(tmp_path):
    env = _env(tmp_path)
    pk = _queue(env, "test.hang")
    _start_worker_and_kill_it_mid_job(env, tmp_path / "marker")
    time.sleep(LEASE + 1)
    page = _page(env, pk)
    assert page["status"] == "failed" and page["finished"]
    assert "中断" in page["error"] and "interrupted" in page["error"]


def test_a_killed_idempotent_job_is_run_again_and_its_page_tells_the_truth(tmp_path):
    """The killed run committed its write; a worker starting up runs the job again: done, 0 created."""
    env = _env(tmp_path)
    pk = _queue(env, "test.commit")
    _start_worker_and_kill_it_mid_job(_env(tmp_path, SEC_HANG="1"), tmp_path / "marker")
    time.sleep(LEASE + 1)
    _py(env, "runner.work(once=True)")  # a worker starting up (no hang this time)
    page = _page(env, pk)
    assert page["status"] == "done", page
    assert json.loads(_py(env, f"import json; print(json.dumps(Job.objects.get(pk={pk}).result))")) == {"created": 0}
    assert _py(env, "print(Region.objects.filter(code='419999').count())") == "1"


def test_a_worker_starting_up_marks_the_killed_job_of_a_non_idempotent_kind_failed(tmp_path):
    env = _env(tmp_path)
    pk = _queue(env, "test.hang")
    _start_worker_and_kill_it_mid_job(env, tmp_path / "marker")
    time.sleep(LEASE + 1)
    _py(env, "runner.work(once=True)")
    assert _py(env, f"print(Job.objects.get(pk={pk}).status)") == "failed"


def test_a_live_job_keeps_its_lease(tmp_path):
    """A job running longer than the lease, with a live worker, is not declared dead."""
    env = _env(tmp_path)
    pk = _queue(env, "test.hang")
    worker = subprocess.Popen([sys.executable, "-c", PRELUDE + "runner.work(poll=0.2)"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(600):
            if (tmp_path / "marker").exists():
                break
            time.sleep(0.1)
        time.sleep(2 * LEASE + 1)
        assert _page(env, pk)["status"] == "running"
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
