"""The two-county world with both 语文 sessions open now and the hand-keyed booklet B1 assigned to
county A's pupils 0 and 4 (session A) and county B's pupil 0 (session B)."""

from __future__ import annotations

import datetime as dt
import importlib.util
from pathlib import Path

import pytest
from django.utils import timezone

_spec = importlib.util.spec_from_file_location("delivery_fixture", Path(__file__).parents[2] / "fixtures" / "delivery.py")
fixture = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fixture)

CODE_A0, CODE_A4, CODE_B0 = "ACDEFGHJ", "KMNPQRTW", "XY346779"


@pytest.fixture
def dw(world):
    from junheng_web.testsites.models import TestSession

    now = timezone.now()
    TestSession.objects.filter(pk__in=[world.sessions["A"].pk, world.sessions["B"].pk]).update(
        starts_at=now - dt.timedelta(minutes=5), ends_at=now + dt.timedelta(minutes=55))
    for key in ("A", "B"):
        world.sessions[key].refresh_from_db()
    a0, a4, b0 = world.pupils["A"][0], world.pupils["A"][4], world.pupils["B"][0]
    built = fixture.build(world.cycle, world.sessions["A"], [a0.student_id, a4.student_id], [CODE_A0, CODE_A4])
    import polars as pl

    from junheng_web.assessment.models import BookletAssignment
    from junheng_web.testsites.services import store_login_codes

    BookletAssignment.objects.create(cycle=world.cycle, student_id=b0.student_id, subject="语文",
                                     booklet=built["booklet"], seed=9)
    store_login_codes(world.sessions["B"], pl.DataFrame({"student_id": [b0.student_id], "code": [CODE_B0]}))
    world.delivery = built
    return world
