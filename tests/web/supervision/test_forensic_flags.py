"""Response-forensics flags on the platform: the core's flags of a session's pupils stored in the
video reviewers' queue (pupil ids masked in the list, whole on the flag page), re-storing keeps
decisions, and a confirmed serious forensic flag makes its pupils — not the session — count as
non-respondents."""

from __future__ import annotations

import polars as pl
import pytest
from django.urls import reverse

from junheng.supervision import FORENSIC_FLAG_SCHEMA
from junheng_web.supervision import services
from junheng_web.supervision.models import Flag

pytestmark = pytest.mark.django_db


def _flags(a: str, b: str) -> pl.DataFrame:
    return pl.DataFrame([
        {"kind": "copying", "person_id": a, "other_id": b, "room": "1", "severity": "serious", "score": 1.0,
         "statistic": 6.1, "p_value": 2e-9, "detail": "ω = 6.10；40 题中 35 题与邻座相同（期望 17.2） / ω = 6.10; 35 of 40 answers as the neighbour's, 17.2 expected"},
        {"kind": "rapid", "person_id": b, "other_id": None, "room": None, "severity": "warning", "score": 0.4,
         "statistic": 0.4, "p_value": None, "detail": "16 of 40 answers faster than 10% of the item's typical time"},
    ], schema=FORENSIC_FLAG_SCHEMA)


# a bubble's read by its state: darkness, cover, confidence (a faint one is the reader's doubt)
_READ = {"faint": (0.3, 0.0, 0.4), "mark": (0.9, 1.0, 1.0), "blank": (0.0, 0.0, 1.0)}


def _bubbles(**items: str) -> dict:
    """A sheet's bubbles table, options A–D of each item, from its states ("faint mark blank blank")."""
    states = [state for item in items.values() for state in item.split()]
    return {"part": ["item"] * len(states), "key": [key for key in items for _ in range(4)],
            "value": list("ABCD") * len(items), "darkness": [_READ[s][0] for s in states],
            "cover": [_READ[s][1] for s in states], "confidence": [_READ[s][2] for s in states], "state": states}


def _sheet(upload, page: int, pupil: str, attempt, bubbles: dict, answers: dict):
    from junheng_web.omr.models import Sheet

    return Sheet.objects.create(upload=upload, session=upload.session, name=f"box1.pdf:{page}", sha256=str(page) * 64,
                                status="read", booklet="B1", person_id=pupil, attempt=attempt, bubbles=bubbles,
                                answers=answers)


def test_forensic_flags_join_the_queue_and_concern_pupils_only(client, world):
    session = world.sessions["A"]
    a, b = "G410102201003150019", "G410102201003150027"
    assert services.store_forensic_flags(session, _flags(a, b)) == 2
    assert services.session_validity(session) == services.UNDER_REVIEW
    client.force_login(world.users["rita"])
    queue = client.get(reverse("review_queue")).content.decode()
    copying = Flag.objects.get(kind="copying")
    assert f'data-flag="{copying.pk}"' in queue and "G410102**********19" in queue and a not in queue
    page = client.get(reverse("flag_detail", kwargs={"flag": copying.pk})).content.decode()
    assert a in page and b in page and "40 题中 35 题与邻座相同" in page and "35 of 40" not in page
    first = client.post(reverse("flag_review", kwargs={"flag": copying.pk}),
                        {"decision": "confirm", "note": "座位相邻，答案雷同"}).content.decode()
    assert f"学籍号 {a} 的学生本次的数据将不计入估计" in first  # the copier of the pair, not the session
    assert Flag.objects.get(kind="copying").status == "open"
    client.post(reverse("flag_review", kwargs={"flag": copying.pk}),
                {"decision": "confirm", "note": "座位相邻，答案雷同", "acknowledged": "on"})
    # storing the same analysis again keeps the decision and replaces only the open flag
    assert services.store_forensic_flags(session, _flags(a, b)) == 1
    assert Flag.objects.get(kind="copying").status == "confirmed" and Flag.objects.filter(kind="rapid").count() == 1
    # a confirmed serious copying flag concerns the copier, not the session
    assert services.invalid_sessions(world.cycle).count() == 0
    assert services.invalid_pupils(world.cycle) == [a]
    assert services.session_validity(session) == services.UNDER_REVIEW  # the rapid flag is still open
    bad = _flags(a, b).with_columns(pl.lit("telepathy").alias("kind"))
    with pytest.raises(Exception, match="unknown forensic flag kinds"):
        services.store_forensic_flags(session, bad)


def test_forensics_job_gathers_the_sessions_answers_times_and_seats(client, world, eager_jobs):
    """Session A's two pupils answer booklet B1 in the browser (tests/fixtures/delivery.py): A0 takes
    two minutes per item, A4 half a second; the job gathers their answers, the times given, the
    attempts' starts and the printed seating plan from the database and stores A4's ``rapid`` flag
    (every answer faster than 10 % of the item's typical time, the geometric mean of the two) — and
    no IRT statistic, since two pupils cannot calibrate the items."""
    import datetime as dt
    import importlib.util
    import uuid
    from pathlib import Path

    from django.utils import timezone

    from junheng_web.delivery.models import Answer, Attempt

    spec = importlib.util.spec_from_file_location("delivery_fixture", Path(__file__).parents[2] / "fixtures" / "delivery.py")
    fixture = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fixture)
    session = world.sessions["A"]
    a0, a4 = world.pupils["A"][0].student_id, world.pupils["A"][4].student_id
    built = fixture.build(world.cycle, session, [a0, a4], ["ACDEFGHJ", "KMNPQRTW"])
    start = timezone.now() - dt.timedelta(hours=1)
    answers = {"I1": "B", "I2": "AC", "I3": "秋高气爽", "I4": "B"}
    for sid, step in ((a0, 120.0), (a4, 0.5)):
        att = Attempt.objects.create(session=session, student_id=sid, booklet=built["booklet"])
        Attempt.objects.filter(pk=att.pk).update(started_at=start)
        for k, (item, raw) in enumerate(answers.items(), 1):
            Answer.objects.create(id=uuid.uuid4(), attempt=att, item=built["items"][item], raw=raw, seq=k,
                                  client_at=start + dt.timedelta(seconds=step * k))
    from junheng_web.cycles.forensics import forensic_inputs

    inputs = forensic_inputs(session)
    assert sorted(inputs["responses"]["item_id"].unique()) == ["I1", "I2", "I4"]  # the keyed choice items
    assert dict(inputs["key"].iter_rows()) == {"I1": "B", "I2": "AC", "I4": "A"}
    assert inputs["events"].height == 8 and set(inputs["starts"]["person_id"]) == {a0, a4}
    assert sorted(inputs["seating"]["person_id"]) == sorted([a0, a4])  # the printed plan's seats
    client.force_login(world.users["rita"])
    resp = client.post(reverse("session_forensics", kwargs={"session": session.pk}))
    assert resp.status_code == 302 and resp["Location"].endswith(f"/video/sessions/{session.pk}/")
    assert "作答数据甄别已提交" in client.get(resp["Location"]).content.decode()
    flags = list(Flag.objects.filter(session=session, kind__in=services.FORENSIC_KINDS).values_list("kind", "person_id"))
    assert flags == [("rapid", a4)]
    client.force_login(world.users["bob"])  # may upload, may not review
    assert client.post(reverse("session_forensics", kwargs={"session": session.pk})).status_code == 403


def test_a_pupil_with_two_attempts_in_the_subject_is_left_out_not_a_crash(world):
    """A pupil with attempts in two sessions of one subject (a sheet read in one, browser answers in
    another) has two answers per item: which counts is a reviewer's decision (the two-channel
    rule), so the forensics leave the pupil out instead of failing on the duplicate rows."""
    import datetime as dt
    import importlib.util
    import uuid
    from pathlib import Path

    from django.utils import timezone

    from junheng_web.cycles.forensics import forensic_inputs
    from junheng_web.delivery.models import Answer, Attempt

    spec = importlib.util.spec_from_file_location("delivery_fixture", Path(__file__).parents[2] / "fixtures" / "delivery.py")
    fixture = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fixture)
    a0, a4 = world.pupils["A"][0].student_id, world.pupils["A"][4].student_id
    built = fixture.build(world.cycle, world.sessions["A"], [a0, a4], ["ACDEFGHJ", "KMNPQRTW"])
    start = timezone.now() - dt.timedelta(hours=1)
    for session, sid, ans in ((world.sessions["A"], a0, "B"), (world.sessions["A"], a4, "A"),
                              (world.sessions["B"], a4, "C")):
        att = Attempt.objects.create(session=session, student_id=sid, booklet=built["booklet"])
        for k, item in enumerate(("I1", "I4"), 1):
            Answer.objects.create(id=uuid.uuid4(), attempt=att, item=built["items"][item], raw=ans, seq=k,
                                  client_at=start + dt.timedelta(seconds=30 * k))
    inputs = forensic_inputs(world.sessions["A"])
    assert set(inputs["responses"]["person_id"]) == {a0}


def test_erasures_on_the_sessions_answer_sheets_are_answer_changes(world):
    """A pupil answers on paper (an OMR sheet read into the session): item I1 shows A rubbed out
    (a faint bubble) and B marked, I4 only A marked. The forensics' answer changes must hold the
    erasure A → B, as ``changes_from_omr`` gives it from a read batch — not only browser changes."""
    import importlib.util
    import uuid
    from pathlib import Path

    from junheng_web.cycles.forensics import forensic_inputs
    from junheng_web.delivery.models import Answer, Attempt
    from junheng_web.omr.models import Upload

    spec = importlib.util.spec_from_file_location("delivery_fixture", Path(__file__).parents[2] / "fixtures" / "delivery.py")
    fixture = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fixture)
    session = world.sessions["A"]
    a0 = world.pupils["A"][0].student_id
    built = fixture.build(world.cycle, session, [a0], ["ACDEFGHJ"])
    att = Attempt.objects.create(session=session, student_id=a0, booklet=built["booklet"])
    for item, raw in (("I1", "B"), ("I4", "A")):
        Answer.objects.create(id=uuid.uuid4(), attempt=att, item=built["items"][item], raw=raw, seq=0, lease=0)
    upload = Upload.objects.create(session=session, name="box1.pdf", sha256="0" * 64, path="omr/box1.pdf")
    bubbles = _bubbles(I1="faint mark blank blank", I4="mark blank blank blank")
    _sheet(upload, 1, a0, att, bubbles, {"I1": "B", "I4": "A"})
    changes = forensic_inputs(session)["changes"]
    assert changes is not None
    assert changes.rows() == [(a0, "I1", "A", "B")]

    # a multiple mark ("*") or no answer next to a faint bubble is no answer changed to; a sheet held out
    # of every attempt (attempt None, e.g. two channels) changed nothing the forensics score: the same
    a1, a2 = (p.student_id for p in world.pupils["A"][1:3])
    att1 = Attempt.objects.create(session=session, student_id=a1, booklet=built["booklet"])
    _sheet(upload, 2, a1, att1, _bubbles(I2="faint mark mark blank", I3="faint blank blank blank"), {"I2": "*", "I3": ""})
    _sheet(upload, 3, a2, None, bubbles, {"I1": "B", "I4": "A"})
    assert forensic_inputs(session)["changes"].rows() == [(a0, "I1", "A", "B")]
