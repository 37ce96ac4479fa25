"""The simulation of the backdated-answers rule's null and catch rates (``junheng.synth.delivery``,
benchmarks/backdated.py) records heartbeats as the platform does: the same heartbeat arrivals fed to
the platform's ``record_contact`` and to the simulation's span recorder give the same spans, to the
microsecond — including the coarse ends (a recorded end moves only when older than half the gap) and
the new spans they cause after a silence shorter than the gap."""

from __future__ import annotations

import datetime as dt
import json
import re

import numpy as np
import pytest
from django.test import Client

from tests.web.delivery.conftest import CODE_A0

pytestmark = pytest.mark.django_db


def test_the_simulation_records_the_heartbeats_spans_as_the_platform_does(dw, settings):
    from junheng.synth import PageModel
    from junheng.synth.delivery import _spans
    from junheng_web.delivery.models import Attempt, PageContact
    from junheng_web.delivery.services import STEP_SHARE, contact_gap_s, record_contact

    settings.JUNHENG_PUPIL_POLL_SECONDS = 10
    m = PageModel()
    assert (m.gap_s, m.step_share, m.poll_s) == (contact_gap_s(), STEP_SHARE, 10)
    c = Client()
    assert c.post("/test/", {"code": CODE_A0}).status_code == 302
    page = c.get("/test/take/").content.decode()
    data = json.loads(re.search(r'<script id="delivery-data" type="application/json">(.*?)</script>', page, re.S).group(1))
    a = Attempt.objects.get(pk=data["attempt"])
    PageContact.objects.all().delete()
    # a page polling every 10 s with up to 5 s of latency, skipped polls (answers being sent) and
    # outages of 15–90 s: 400 heartbeats, in milliseconds
    rng = np.random.default_rng(5)
    polls = np.arange(400) * 10.0 + rng.uniform(0, 5, 400)
    polls += np.cumsum(np.where(rng.random(400) < 0.08, rng.uniform(15, 90, 400), 0.0))
    beats = np.round(polls[rng.random(400) > 0.1], 3)
    t0 = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(minutes=1)
    for b in beats:
        now = t0 + dt.timedelta(seconds=float(b))
        assert record_contact(a, data["lease"], int(now.timestamp() * 1000), now=now)
    recorded = [((f - t0).total_seconds(), (e - t0).total_seconds())
                for f, e in PageContact.objects.filter(attempt=a).order_by("first_at").values_list("first_at", "last_at")]
    simulated = _spans(beats, m.gap_s, m.step_share * m.gap_s)
    assert len(simulated) > 10  # the outages split the page's contact
    np.testing.assert_allclose(np.array(recorded), np.array(simulated), rtol=0, atol=1e-6)
    # and they differ from exact span ends (what the simulation modelled before)
    cut = np.flatnonzero(np.diff(beats) > m.gap_s) + 1
    exact = [(b[0], b[-1]) for b in np.split(beats, cut)]
    assert len(exact) != len(simulated) or not np.allclose(np.array(exact), np.array(simulated), rtol=0, atol=1e-6)
