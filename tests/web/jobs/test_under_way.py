"""``Job.under_way`` — the job a button pressed twice names instead of queueing another (a sample
draw, the response forensics, a session's re-analysis) — does not count a job whose worker died:
its lease expired (no heartbeat for ``JUNHENG_JOB_LEASE`` seconds), it is settled by the queue's own
cleanup (``jobs.runner.reap``) there and then — failed, or queued again when its kind may run again,
that run being the one under way.  It was counted until a worker's cleanup came round (every lease,
and only while some worker runs), so the button stayed refused naming a dead job."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from junheng_web.jobs.models import Job
from junheng_web.jobs.runner import INTERRUPTED, lease

pytestmark = pytest.mark.django_db


def _running(kind: str, *, beat_ago: timedelta, **fields) -> Job:
    at = timezone.now() - beat_ago
    return Job.objects.create(kind=kind, status=Job.Status.RUNNING, started_at=at, heartbeat_at=at, **fields)


def test_a_draw_whose_worker_died_no_longer_refuses_the_button(client, world):
    """The draw's worker was killed a lease and more ago: 抽取样本 queues a new draw (it led to the dead
    job's page), and the dead one is failed as interrupted, as the cleanup would have failed it."""
    dead = _running("sample", beat_ago=lease() + timedelta(seconds=30), cycle=world.cycle)
    client.force_login(world.users["alice"])
    resp = client.post(reverse("cycle_sample", kwargs={"pk": world.cycle.pk}), {"confirm": "1", "reason": "设计变更"})
    new = Job.objects.filter(kind="sample", cycle=world.cycle).exclude(pk=dead.pk).get()
    assert resp.status_code == 302 and resp["Location"] == reverse("job_detail", kwargs={"pk": new.pk})
    dead.refresh_from_db()
    assert (dead.status, dead.error) == (Job.Status.FAILED, INTERRUPTED)


def test_a_live_job_is_still_under_way(world):
    """Its heartbeat within the lease: the worker is alive, the job is named and left alone."""
    live = _running("sample", beat_ago=lease() / 2, cycle=world.cycle)
    assert Job.under_way("sample", cycle=world.cycle) == live
    live.refresh_from_db()
    assert live.status == Job.Status.RUNNING


def test_a_dead_job_of_a_kind_that_may_run_again_is_under_way_as_its_next_run(world):
    """The forensics may run again (idempotent): the dead run is queued again by the cleanup, and
    that run is what the button names — not a second job over the same session."""
    session = world.sessions["A"].pk
    dead = _running("forensics", beat_ago=lease() * 2, params={"session": session}, idempotent=True)
    assert Job.under_way("forensics", session=session) == dead
    dead.refresh_from_db()
    assert dead.status == Job.Status.QUEUED and "interrupted" in dead.message


def test_a_session_analysis_whose_parts_all_died_for_good_is_not_under_way(world):
    """A re-analysis is a parent job (no lease of its own) and one part per recording: a part whose
    worker died and that may not run again fails, the parent settles failed, and 重新分析全部录像 is
    taken again."""
    session = world.sessions["A"].pk
    parent = Job.objects.create(kind="video.session", status=Job.Status.RUNNING, started_at=timezone.now(),
                                params={"session": session})
    part = _running("video", beat_ago=lease() * 2, parent=parent, params={"session": session}, idempotent=False)
    assert Job.under_way("video.session", session=session) is None
    parent.refresh_from_db(), part.refresh_from_db()
    assert (part.status, parent.status) == (Job.Status.FAILED, Job.Status.FAILED)
