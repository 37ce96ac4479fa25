"""A test site for the fault tests (tests/e2e/test_faults.py), seeded into a JUNHENG_HOME of its
own by a separate process, served by gunicorn in another, so that the server can be killed with
SIGKILL and started again on the same SQLite file.

``python tests/e2e/faults_site.py SECONDS`` (env JUNHENG_HOME): one pupil, the hand-keyed
four-item booklet B1 of tests/fixtures/delivery.py, a 语文 session open from two minutes ago until
``SECONDS`` from now; prints ``{"code": …, "student_id": …}``."""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CODE = "ACDEFGHJ"


def seed(seconds: float) -> dict:
    from junheng.registry.codes import check_char
    from junheng_web.bootstrap import setup

    setup()
    from django.utils import timezone

    from junheng_web.registry.models import Cycle, Pupil, Region, School
    from junheng_web.testsites.models import TestSession, TestSite

    spec = importlib.util.spec_from_file_location("delivery_fixture", ROOT / "tests" / "fixtures" / "delivery.py")
    fixture = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fixture)
    prov = Region.objects.create(code="410000", level="province", name="河南省")
    city = Region.objects.create(code="410100", level="city", name="郑州市", parent=prov)
    county = Region.objects.create(code="410102", level="county", name="中原区", parent=city)
    school = School.objects.create(code="4101020001", name="甲小学", county=county, stage="小学", location="城区",
                                   enrol_g6=40)
    body = "41010220110301001"
    pupil = Pupil.objects.create(student_id="G" + body + check_char(body), name="张小明", sex=1,
                                 birth_date=dt.date(2011, 3, 1), school=school, grade=6)
    cycle = Cycle.objects.create(year=2022, grade=6, subjects=["语文"], name="2022 年六年级监测")
    site = TestSite.objects.create(cycle=cycle, county=county, code="TA01", name="甲测试点")
    now = timezone.now()
    session = TestSession.objects.create(site=site, subject="语文", room="1", starts_at=now - dt.timedelta(minutes=2),
                                         ends_at=now + dt.timedelta(seconds=seconds))
    fixture.build(cycle, session, [pupil.student_id], [CODE])
    return {"code": CODE, "student_id": pupil.student_id, "ends_at": session.ends_at.isoformat()}


if __name__ == "__main__":
    print(json.dumps(seed(float(sys.argv[1]))))
