"""A test site for the browser's fault and site-node tests (tests/e2e/test_faults.py,
tests/e2e/test_site_node_sw.py), seeded into a JUNHENG_HOME of its own by a separate process,
served by gunicorn in another, so that the server can be killed with SIGKILL and started again on
the same SQLite file.

``python tests/e2e/faults_site.py SECONDS [PUPILS [PACKAGES]]`` (env JUNHENG_HOME): ``PUPILS``
pupils (default 1, at most 2), the hand-keyed four-item booklet B1 of tests/fixtures/delivery.py, a
语文 session open from two minutes ago until ``SECONDS`` from now; prints ``{"code": …,
"student_id": …, "codes": […]}``.  With ``PACKAGES`` (a folder), the pupils are sampled for site
TA01 and the centre prepares its site package there (``junheng site prepare``'s work: the package,
the centre's public key, the test CA's certificate); the JSON adds ``package`` and
``unlock_code``."""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CODES = ["ACDEFGHJ", "KMNPQRTW"]


def seed(seconds: float, n_pupils: int = 1, packages: str | None = None) -> dict:
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
    pupils = []
    for k, name in enumerate(["张小明", "李小红"][:n_pupils]):
        body = f"4101022011030100{k + 1}"
        pupils.append(Pupil.objects.create(student_id="G" + body + check_char(body), name=name, sex=1 + k,
                                           birth_date=dt.date(2011, 3, 1), school=school, grade=6))
    cycle = Cycle.objects.create(year=2022, grade=6, subjects=["语文"], name="2022 年六年级监测")
    site = TestSite.objects.create(cycle=cycle, county=county, code="TA01", name="甲测试点")
    now = timezone.now()
    session = TestSession.objects.create(site=site, subject="语文", room="1", starts_at=now - dt.timedelta(minutes=2),
                                         ends_at=now + dt.timedelta(seconds=seconds))
    codes = CODES[:len(pupils)]
    fixture.build(cycle, session, [p.student_id for p in pupils], codes)
    world = {"code": codes[0], "student_id": pupils[0].student_id, "codes": codes,
             "ends_at": session.ends_at.isoformat()}
    if packages:
        world.update(_package(cycle, site, school, pupils, Path(packages)))
    return world


def _package(cycle, site, school, pupils, out: Path) -> dict:
    """The pupils sampled for ``site`` and its site package prepared in ``out``."""
    from django.conf import settings

    from junheng_web.delivery.sitenode import prepare
    from junheng_web.sampling.models import SampledPupil, SampledSchool, SampleRun

    run = SampleRun.objects.create(cycle=cycle, seed=1)
    sampled = SampledSchool.objects.create(run=run, cycle=cycle, school=school, role="sampled", stratum="410102",
                                           sort_order=0, mos=30, school_weight=2.0)
    site.schools.add(sampled)
    for k, p in enumerate(pupils):
        SampledPupil.objects.create(run=run, cycle=cycle, pupil=p, sampled_school=sampled, subject="语文",
                                    pupil_order=k, school_weight=2.0, pupil_weight=5.0, base_weight=10.0)
    made = prepare(cycle, out, Path(settings.JUNHENG_HOME) / "site-keys" / "centre.pem", sites=[site.code])
    return {"package": str(made[0].path), "unlock_code": made[0].unlock_code, "site": site.code}


if __name__ == "__main__":
    print(json.dumps(seed(float(sys.argv[1]), *(int(a) if k == 0 else a for k, a in enumerate(sys.argv[2:])))))
