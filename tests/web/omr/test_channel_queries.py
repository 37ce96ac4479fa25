"""What an upload reads to find its pupils' two channels: only the sheets of the pupils on it, not
the cycle's.  A cycle with 300 read sheets of other pupils; the pupil in question has answers from
the browser and one sheet whose answers went into the same attempt.  ``browser_answers`` and
``check_channels(…, pupils)`` read that pupil's sheet rows alone (before: every sheet of the cycle's
subject, bubbles included, on each upload) and still tell the paper's answers from the browser's."""

from __future__ import annotations

import uuid
from contextlib import contextmanager

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

pytestmark = pytest.mark.django_db
OTHERS = 300


@contextmanager
def sheet_rows_read():
    """The rows of ``omr_sheet`` the block's queries return (each SELECT from the table run again
    right after, as captured, and its rows counted)."""
    got = {"rows": 0, "queries": 0}
    with CaptureQueriesContext(connection) as ctx:
        yield got
    with connection.cursor() as c:
        for q in ctx.captured_queries:
            sql = q["sql"]
            if sql.lstrip().upper().startswith("SELECT") and ' FROM "omr_sheet"' in sql:
                c.execute(sql)
                got["rows"] += len(c.fetchall())
                got["queries"] += 1


@pytest.fixture
def crowd(world, b1):
    """Pupil 0 of county A: two browser answers and a sheet (the third answer, written by it) in one
    attempt; 300 read sheets of other pupils in the same cycle and subject."""
    from django.utils import timezone

    from junheng_web.delivery.models import Answer, Attempt
    from junheng_web.omr.models import Sheet, Upload

    session, pid = world.sessions["A"], world.pupils["A"][0].student_id
    att = Attempt.objects.create(session=session, student_id=pid, booklet=b1["booklet"])
    browser = [Answer.objects.create(id=uuid.uuid4(), attempt=att, item=b1["items"][i], raw="A", seq=k, lease=1,
                                     client_at=timezone.now()) for k, i in enumerate(("I1", "I2"), 1)]
    paper = Answer.objects.create(id=uuid.uuid4(), attempt=att, item=b1["items"]["I4"], raw="C", seq=0, lease=0)
    upload = Upload.objects.create(session=session, name="room1.pdf", sha256="0" * 64, path="x")
    bubbles = {"part": ["item"] * 40, "key": ["I1"] * 40, "darkness": [0.5] * 40}  # a few kB, as a read sheet's
    Sheet.objects.bulk_create([Sheet(upload=upload, session=session, cycle=world.cycle, subject="语文", name=f"p{k}",
                                     sha256=f"{k:064d}", status="read",
                                     booklet="B1", person_id=f"G{k:018d}", bubbles=bubbles, answers={"I1": "B"},
                                     written=[str(uuid.uuid4()) for _ in range(3)]) for k in range(OTHERS)])
    Sheet.objects.create(upload=upload, session=session, name="mine", sha256="f" * 64, status="read", booklet="B1",
                         person_id=pid, attempt=att, answers={"I4": "C"}, written=[str(paper.pk)])
    return world, pid, {str(a.pk) for a in browser}


def test_an_uploads_pupils_sheets_alone_are_read(crowd):
    from junheng_web.omr.services import browser_answers, check_channels
    from junheng_web.supervision.models import Flag

    world, pid, browser = crowd
    with sheet_rows_read() as read:
        got = browser_answers(world.cycle, "语文", [pid])
    assert set(got["item_id"]) == {"I1", "I2"} and got.height == len(browser)  # the sheet's I4 is paper
    assert read == {"rows": 1, "queries": 1}  # was 301: every sheet of the cycle's subject
    with sheet_rows_read() as read:
        assert check_channels(world.cycle, "语文", [pid]) == 1
    assert read["rows"] <= 2 * read["queries"] and read["queries"] <= 3  # the pupil's sheet, per query
    assert Flag.objects.get(kind="two_channels").person_id == pid


def test_a_sheet_holding_the_pupils_attempt_under_another_id_still_wrote_paper_answers(crowd):
    """The sheet's 学籍号 not the pupil's (unread, "", or misread) while its answers went into the
    pupil's attempt (a reviewer chose it): the answers it wrote are still paper's, not the browser's."""
    from junheng_web.omr.models import Sheet
    from junheng_web.omr.services import browser_answers

    world, pid, browser = crowd
    Sheet.objects.filter(name="mine").update(person_id="")
    got = browser_answers(world.cycle, "语文", [pid])
    assert set(got["item_id"]) == {"I1", "I2"} and got.height == len(browser)


def test_a_reread_asks_which_sheets_were_decided_once_for_the_upload(crowd):
    """``_clear_earlier_run`` keeps the sheets a person decided on (an entry decided, a pupil
    corrected, a two-channel flag chosen) and drops the rest, asking the decision tables once for
    the upload — not three queries for each of its 301 sheets."""
    from junheng_web.omr.models import PupilCorrection, Review, Sheet, Upload
    from junheng_web.omr.services import _clear_earlier_run
    from junheng_web.supervision.models import Flag

    world, pid, _ = crowd
    upload, session = Upload.objects.get(), world.sessions["A"]
    p1, p2, p3 = (Sheet.objects.get(name=n) for n in ("p1", "p2", "p3"))
    Review.objects.create(sheet=p1, session=session, kind="item", item_id="I1", problem="x", status="confirmed")
    Review.objects.create(sheet=p2, session=session, kind="item", item_id="I1", problem="x")  # open: undecided
    PupilCorrection.objects.create(sheet=p2, old_id="", new_id=p2.person_id, old_status="held", new_status="read")
    Flag.objects.create(session=session, kind="two_channels", person_id=p3.person_id, start_s=0, end_s=0,
                        evidence={"sheet": p3.sha256}, status="dismissed")
    Flag.objects.create(session=session, kind="two_channels", person_id=pid, start_s=0, end_s=0,
                        evidence={"sheet": "f" * 64})  # open: undecided
    pages = set(Sheet.objects.values_list("sha256", flat=True))
    with CaptureQueriesContext(connection) as ctx:
        kept = _clear_earlier_run(upload, pages - {"0" * 64})
    assert kept == {p1.sha256, p2.sha256, p3.sha256}
    assert set(Sheet.objects.values_list("name", flat=True)) == {"p1", "p2", "p3"}
    asked = [q["sql"] for q in ctx.captured_queries if q["sql"].lstrip().upper().startswith("SELECT")
             and any(f'FROM "{t}"' in q["sql"] for t in ("omr_review", "omr_pupilcorrection", "supervision_flag"))]
    assert len(asked) <= 3  # was 3 a sheet
