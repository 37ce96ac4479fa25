"""Issue 12.9: a destructive action states its consequence and needs a recorded decision.

重新抽样 after collection replaces the sample: the stored weights (final and replicate), the
schools' refusals and replacements and the test sites' school links go with the old sample.
Pressing the button shows what would be lost and asks for a reason; only a confirmed request
with a reason re-draws, and the decision is kept (audit log, and in the new sample's summary).
The sampling service itself refuses to discard weights without a decision."""

from __future__ import annotations

import pytest
from django.urls import reverse

from junheng.exceptions import ParameterError

pytestmark = pytest.mark.django_db


@pytest.fixture
def weighted(world):
    """The world's sample after weighting: final weights on every sampled pupil and one weight set."""
    from junheng_web.sampling.models import SampledPupil, WeightSet

    SampledPupil.objects.filter(cycle=world.cycle).update(weight=13.3)
    WeightSet.objects.create(run=world.cycle.sample_runs.get(), method="jk2", replicates=4, fay_k=0, path="w.parquet")
    return world


def _state(cycle):
    from junheng_web.sampling.models import SampledPupil, WeightSet

    return (WeightSet.objects.filter(run__cycle=cycle).count(),
            SampledPupil.objects.filter(cycle=cycle, weight__isnull=False).count())


def test_resampling_asks_first_and_says_what_is_lost(client, weighted, eager_jobs):
    from junheng_web.jobs.models import Job

    client.force_login(weighted.users["alice"])
    url = reverse("cycle_sample", kwargs={"pk": weighted.cycle.pk})
    page = client.post(url)
    text = page.content.decode()
    assert page.status_code == 200 and "12" in text and "权重" in text and "测试点" in text
    assert 'name="reason"' in text
    assert client.post(url, {"confirm": "1"}).status_code == 200  # confirmed without a reason: asked again
    assert not Job.objects.filter(kind="sample").exists()
    assert _state(weighted.cycle) == (1, 12)  # nothing dropped


def test_a_confirmed_resample_records_the_decision(client, weighted, eager_jobs):
    from junheng_web.accounts.models import AuditLog
    from junheng_web.jobs.models import Job

    client.force_login(weighted.users["alice"])
    resp = client.post(reverse("cycle_sample", kwargs={"pk": weighted.cycle.pk}),
                       {"confirm": "1", "reason": "抽样框更新：新增 3 所学校"})
    job = Job.objects.get(kind="sample")
    assert resp["Location"] == reverse("job_detail", kwargs={"pk": job.pk})
    log = AuditLog.objects.get(action="sample.redraw")
    assert "抽样框更新" in log.what and log.username == "alice"
    assert job.params["decision"]["reason"] == "抽样框更新：新增 3 所学校"
    assert job.params["decision"]["confirmed"]["weighted_pupils"] == 12
    if job.status == "done":  # (the world's frame may be too small for a design: then nothing changed)
        run = weighted.cycle.sample_runs.get()
        assert run.summary["replaced"]["reason"] == "抽样框更新：新增 3 所学校"


def test_the_service_refuses_to_drop_weights_without_a_decision(weighted):
    from junheng_web.sampling.services import run_sample

    with pytest.raises(ParameterError, match="权重"):
        run_sample(weighted.cycle, {"schools": 2, "pupils_per_school": 3, "seed": 1})
    assert _state(weighted.cycle) == (1, 12)


def test_a_first_draw_needs_no_confirmation(client, world, eager_jobs):
    from junheng_web.jobs.models import Job
    from junheng_web.sampling.models import SampleRun

    SampleRun.objects.filter(cycle=world.cycle).delete()
    client.force_login(world.users["alice"])
    resp = client.post(reverse("cycle_sample", kwargs={"pk": world.cycle.pk}))
    assert resp.status_code == 302 and Job.objects.filter(kind="sample").exists()
