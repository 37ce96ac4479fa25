"""Job kinds: each app registers its own in its ``jobs.py``; the runner finds them without naming
any app, and refuses a kind nobody registers."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from junheng_web.jobs import runner


@pytest.mark.parametrize("kind,module", [("sample", "junheng_web.sampling.jobs"),
                                         ("video", "junheng_web.supervision.jobs"),
                                         ("roster", "junheng_web.cycles.jobs"),
                                         ("fitness", "junheng_web.cycles.jobs"),
                                         ("questionnaire", "junheng_web.cycles.jobs")])
def test_each_kind_is_registered_by_its_own_app(kind, module):
    assert runner.handler(kind).__module__ == module


@pytest.mark.integration  # a Django process of its own
def test_a_fresh_worker_finds_every_kind_through_the_runner_alone():
    """A process that imports only the runner (as ``manage.py runjobs`` does) finds all kinds."""
    code = ("import django; django.setup(); from junheng_web.jobs import runner; "
            "print(*(runner.handler(k).__module__ for k in ('sample', 'video', 'roster', 'fitness', 'questionnaire')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "DJANGO_SETTINGS_MODULE": "junheng_web.settings"}).stdout.split()
    assert out == ["junheng_web.sampling.jobs", "junheng_web.supervision.jobs", *["junheng_web.cycles.jobs"] * 3]


def test_an_unknown_kind_is_refused():
    with pytest.raises(KeyError, match="unknown job kind 'nope'"):
        runner.handler("nope")


@pytest.mark.django_db
def test_enqueue_refuses_an_unknown_kind_before_writing_a_job():
    from junheng_web.jobs.models import Job

    with pytest.raises(KeyError):
        runner.enqueue("nope")
    assert not Job.objects.exists()
