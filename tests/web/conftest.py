"""Personas and a two-county world for the platform's tests (Healthchecks style).

County A = 410102 中原区, county B = 410103 二七区, both in city 410100 郑州市.

| persona | role | bound to |
| --- | --- | --- |
| alice | province_admin | — |
| anna | province_analyst | — |
| frank | city | 410100 |
| bob | county | 410102 (A) |
| charlie | county | 410103 (B) |
| dave | school | 甲小学 (A) |
| erin | school | 乙小学 (B) |
| paul | proctor | 甲小学 (A) |
| rita / sam | reviewer / scorer | 410102 (A) |
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.utils import timezone

from junheng.registry.codes import check_char

PASSWORD = "correct horse battery staple"
WEB = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config, items):
    """Unit and integration tests apart: a web test that uses the database (``django_db``, or a
    fixture that needs it, such as ``world`` or ``client``) is marked ``integration``, as are the
    modules that start a server or ``manage.py`` (their own ``pytestmark``); the rest are unit
    tests.  ``-m "not integration"`` runs the unit tests alone."""
    for item in items:
        if WEB in Path(item.path).parents and item.get_closest_marker("database"):  # tests/conftest.py marks it
            item.add_marker(pytest.mark.integration)


@pytest.fixture(autouse=True)
def _empty_cache(request):
    """Each test starts with an empty cache: the database is rolled back between tests, so ids and
    counts (of which the dashboards' cache keys are made) come again with other data.  (The
    database cache — the default on PostgreSQL — is a table: only a test with database access can
    have used it, and only such a test may clear it.)"""
    from django.conf import settings
    from django.core.cache import cache

    in_database = settings.CACHES["default"]["BACKEND"].endswith("DatabaseCache")
    if in_database and not request.node.get_closest_marker("database"):
        return
    if in_database:
        request.getfixturevalue("transactional_db" if "transactional_db" in request.fixturenames else "db")
    cache.clear()


def student_id(county: str, k: int) -> str:
    body = f"{county}20110301{k:03d}"
    return "G" + body + check_char(body)


@dataclass
class World:
    cycle: object
    regions: dict
    schools: dict
    pupils: dict
    sampled: dict
    sites: dict
    sessions: dict
    jobs: dict
    users: dict = field(default_factory=dict)
    video: dict = field(default_factory=dict)


_HASH: list[str] = []


def _user(username, role, region=None, school=None):
    """A persona; the argon2 hash of PASSWORD is computed once per run (hashing is slow by design)."""
    from django.contrib.auth.hashers import make_password

    from junheng_web.accounts.models import User

    if not _HASH:
        _HASH.append(make_password(PASSWORD))
    return User.objects.create(username=username, role=role, region=region, school=school, password=_HASH[0])


@pytest.fixture
def world(db) -> World:
    from junheng_web.jobs.models import Job
    from junheng_web.registry.models import Cycle, Pupil, Region, School
    from junheng_web.sampling.models import SampledPupil, SampledSchool, SampleRun
    from junheng_web.testsites.models import TestSession, TestSite

    prov = Region.objects.create(code="410000", level="province", name="河南省")
    city = Region.objects.create(code="410100", level="city", name="郑州市", parent=prov)
    a = Region.objects.create(code="410102", level="county", name="中原区", parent=city)
    b = Region.objects.create(code="410103", level="county", name="二七区", parent=city)
    regions = {"province": prov, "city": city, "A": a, "B": b}
    schools = {
        "A": School.objects.create(code="4101020001", name="甲小学", county=a, stage="小学", location="城区", enrol_g6=40),
        "A2": School.objects.create(code="4101020002", name="甲二小学", county=a, stage="小学", location="乡村",
                                    enrol_g6=30),
        "B": School.objects.create(code="4101030001", name="乙小学", county=b, stage="小学", location="城区", enrol_g6=40),
    }
    pupils = {}
    for key, county in (("A", "410102"), ("B", "410103")):
        pupils[key] = [Pupil.objects.create(student_id=student_id(county, k), name=f"{key}学生{k}", sex=1 + k % 2,
                                            birth_date=dt.date(2011, 3, 1), school=schools[key], grade=6)
                       for k in range(6)]
    cycle = Cycle.objects.create(year=2022, grade=6, subjects=["语文", "数学", "英语", "科学"], name="2022 年六年级监测")
    run = SampleRun.objects.create(cycle=cycle, seed=1)
    sampled = {}
    for key in ("A", "B"):
        sampled[key] = SampledSchool.objects.create(run=run, cycle=cycle, school=schools[key], role="sampled",
                                                    stratum=schools[key].county.code, sort_order=1, mos=40,
                                                    pi=0.5, school_weight=2.0)
    sampled["A2"] = SampledSchool.objects.create(run=run, cycle=cycle, school=schools["A2"], role="replacement_1",
                                                 replaces=sampled["A"], stratum="410102", sort_order=2, mos=30)
    for key in ("A", "B"):
        for k, p in enumerate(pupils[key]):
            SampledPupil.objects.create(run=run, cycle=cycle, pupil=p, sampled_school=sampled[key],
                                        subject=["语文", "数学", "英语", "科学"][k % 4], pupil_order=k,
                                        school_weight=2.0, pupil_weight=40 / 6, base_weight=2.0 * 40 / 6)
    now = timezone.now()
    sites, sessions, jobs = {}, {}, {}
    for key in ("A", "B"):
        site = TestSite.objects.create(cycle=cycle, county=regions[key], code=f"T{key}01", name=f"{key}测试点",
                                       address="")
        site.schools.add(sampled[key])
        sites[key] = site
        sessions[key] = TestSession.objects.create(site=site, subject="语文", room="1",
                                                   starts_at=now - dt.timedelta(days=3),
                                                   ends_at=now - dt.timedelta(days=3) + dt.timedelta(hours=1))
        jobs[key] = Job.objects.create(kind="roster", cycle=cycle, county=regions[key], school=schools[key],
                                       status="done", params={"name": f"{key}.xlsx"})
    w = World(cycle, regions, schools, pupils, sampled, sites, sessions, jobs)
    w.users = {
        "alice": _user("alice", "province_admin"),
        "anna": _user("anna", "province_analyst"),
        "frank": _user("frank", "city", region=city),
        "bob": _user("bob", "county", region=a),
        "charlie": _user("charlie", "county", region=b),
        "dave": _user("dave", "school", school=schools["A"]),
        "erin": _user("erin", "school", school=schools["B"]),
        "paul": _user("paul", "proctor", school=schools["A"]),
        "rita": _user("rita", "reviewer", region=a),
        "sam": _user("sam", "scorer", region=a),
    }
    return w


@pytest.fixture
def eager_jobs(monkeypatch):
    monkeypatch.setenv("JUNHENG_JOBS_EAGER", "1")
