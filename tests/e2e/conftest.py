"""Browser tests: Debian's Chromium driven by Playwright; screenshots kept under test-artifacts/e2e/."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from tests.e2e.support import ARGS, ARTIFACTS, CHROMIUM, PASSWORD, student_id


@pytest.fixture
def browser(monkeypatch):
    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian's chromium is not installed")
    from playwright.sync_api import sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # the ORM is used between sync Playwright calls
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()
        _close_connections()


def _close_connections() -> None:
    """Close the database connections the test opened while Playwright ran.  Within `sync_playwright()`
    the test runs in another context than its fixtures, and Django keeps a connection per context: the
    test's own ORM calls open a second connection that nothing else closes.  On PostgreSQL it outlived
    the run, and the test database could not be dropped ("database test_junheng_gw0 is being accessed
    by other users" after the last browser test of a worker)."""
    from django.db import connections

    connections.close_all()


@pytest.fixture
def artifacts() -> Path:
    """The folder for screenshots (kept after the run as test artifacts)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def site_world(transactional_db):
    """County 410102 with two sampled schools: 甲小学 (roster and pupils in) and 丙小学 (nothing yet)."""
    from django.contrib.auth.hashers import make_password

    from junheng_web.accounts.models import User
    from junheng_web.registry.models import Cycle, Pupil, Region, School
    from junheng_web.sampling.models import SampledPupil, SampledSchool, SampleRun

    prov = Region.objects.create(code="410000", level="province", name="河南省")
    city = Region.objects.create(code="410100", level="city", name="郑州市", parent=prov)
    county = Region.objects.create(code="410102", level="county", name="中原区", parent=city)
    a = School.objects.create(code="4101020001", name="甲小学", county=county, stage="小学", location="城区", enrol_g6=40)
    c = School.objects.create(code="4101020003", name="丙小学", county=county, stage="小学", location="城区", enrol_g6=30)
    cycle = Cycle.objects.create(year=2022, grade=6, subjects=["语文", "数学"], name="2022 年六年级监测")
    run = SampleRun.objects.create(cycle=cycle, seed=1)
    ss = {s.code: SampledSchool.objects.create(run=run, cycle=cycle, school=s, role="sampled", stratum="410102",
                                               sort_order=i, mos=30, school_weight=2.0) for i, s in enumerate([a, c])}
    pupils = [Pupil.objects.create(student_id=student_id("410102", k), name=f"学生{k}", sex=1 + k % 2,
                                   birth_date=dt.date(2011, 3, 1), school=a, grade=6) for k in range(8)]
    for k, p in enumerate(pupils):
        SampledPupil.objects.create(run=run, cycle=cycle, pupil=p, sampled_school=ss["4101020001"], subject="语文",
                                    pupil_order=k, school_weight=2.0, pupil_weight=5.0, base_weight=10.0)
    pw = make_password(PASSWORD)
    User.objects.create(username="county-410102", role="county", region=county, password=pw)
    User.objects.create(username="school-a", role="school", school=a, password=pw)
    User.objects.create(username="school-c", role="school", school=c, password=pw)
    return {"cycle": cycle, "pupils": pupils, "school_c": c}
