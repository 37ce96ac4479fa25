"""Never two counted sheets for one pupil in a cycle's subject — whatever the order of a reading and
a reviewer's correction.  The checks (``_id_doubt``, ``_check_free``) look before they write; a
sheet counted by the other side in between is caught by the database (the partial unique index
``omr_one_counted_sheet``): the reading holds its sheet, the correction is refused.  The races
themselves on PostgreSQL with two threads (skipped on SQLite, whose writers never overlap)."""

from __future__ import annotations

import shutil
import threading
import time
from unittest import mock

import pytest
from django.db import IntegrityError, connection, transaction

from tests.web.omr.test_omr_review import _scan, _upload

pytestmark = [pytest.mark.integration]
needs_pdftoppm = pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils (pdftoppm) not installed")


def _sheets(world, pid: str):
    """An upload of session A with a sheet counted for ``pid`` (``first``) and a held one (``held``)."""
    from junheng_web.omr.models import Sheet, Upload

    a = world.sessions["A"]
    up = Upload.objects.create(session=a, name="box.pdf", sha256="0" * 64, path="omr/box.pdf")
    first = Sheet.objects.create(upload=up, session=a, name="box.pdf:1", sha256="1" * 64, status="read",
                                 booklet="B1", person_id=pid)
    held = Sheet.objects.create(upload=up, session=a, name="box.pdf:2", sha256="2" * 64, status="held",
                                booklet="B1")
    return first, held


@pytest.mark.django_db
def test_the_database_refuses_a_second_counted_sheet_and_held_ones_are_free(world, b1):
    from junheng_web.omr.models import Sheet

    a0 = world.pupils["A"][0].student_id
    first, held = _sheets(world, a0)
    assert (first.cycle, first.subject) == (world.cycle, "语文")  # filled from the session
    Sheet.objects.filter(pk=held.pk).update(person_id=a0)  # held sheets naming the pupil: any number
    with pytest.raises(IntegrityError), transaction.atomic():
        Sheet.objects.filter(pk=held.pk).update(status="read")
    Sheet.objects.filter(pk=first.pk).update(status="held")
    Sheet.objects.filter(pk=held.pk).update(status="read")  # once the first no longer counts


@pytest.mark.django_db
def test_one_counted_sheet_a_subject_and_a_cycle_not_one_in_all(world, b1):
    """The rule is per (cycle, subject, pupil): the same pupil's 数学 sheet counts beside their 语文 one,
    and a read sheet with no pupil named (``person_id`` blank) is not bound by it."""
    from junheng_web.omr.models import Sheet, Upload
    from junheng_web.testsites.models import TestSession

    a0 = world.pupils["A"][0].student_id
    first, _held = _sheets(world, a0)
    a = world.sessions["A"]
    maths = TestSession.objects.create(site=a.site, subject="数学", room="2", starts_at=a.starts_at,
                                       ends_at=a.ends_at)
    up = Upload.objects.create(session=maths, name="maths.pdf", sha256="9" * 64, path="omr/maths.pdf")
    other = Sheet.objects.create(upload=up, session=maths, name="maths.pdf:1", sha256="3" * 64, status="read",
                                 booklet="B1", person_id=a0)
    assert (other.cycle, other.subject) == (first.cycle, "数学")
    for k in (4, 5):
        Sheet.objects.create(upload=up, session=maths, name=f"maths.pdf:{k}", sha256=str(k) * 64, status="read",
                             booklet="B1", person_id="")
    assert Sheet.objects.filter(person_id=a0, status="read").count() == 2
    # and the checks before a write ask the same question: the pupil's counted sheet *in the subject*
    from junheng_web.omr.services import counted_sheets

    assert list(counted_sheets(world.cycle, "语文", a0)) == [first]
    assert list(counted_sheets(world.cycle, "数学", [a0, "nobody"])) == [other]


@pytest.mark.django_db
def test_a_correction_that_loses_the_race_is_refused_not_a_second_counted_sheet(world, b1):
    """``_check_free`` did not see the other sheet (counted after it looked): the database refuses."""
    from junheng.exceptions import ParameterError
    from junheng_web.omr import pupil_ids
    from junheng_web.omr.models import PupilCorrection
    from junheng_web.omr.services import counted_sheets

    a0 = world.pupils["A"][0].student_id
    _first, held = _sheets(world, a0)
    with mock.patch.object(pupil_ids, "counted_sheets", lambda *args: counted_sheets(*args).none()), \
            pytest.raises(ParameterError, match="counted just now"):
        pupil_ids.correct(held, a0, world.users["rita"])
    assert counted_sheets(world.cycle, "语文", a0).count() == 1 and not PupilCorrection.objects.exists()


@needs_pdftoppm
@pytest.mark.django_db
def test_a_reading_that_loses_the_race_holds_its_sheet_and_writes_nothing(client, world, tmp_path, b1):
    """The reading's ``_id_doubt`` did not see the pupil's counted sheet: the sheet is held with a
    pupil entry, nothing written, the upload's other work kept (no failed job)."""
    from junheng_web.delivery.models import Answer
    from junheng_web.omr import services
    from junheng_web.omr.models import Review, Sheet

    a0 = world.pupils["A"][0].student_id
    _sheets(world, a0)
    path, _, _, _ = _scan(world.sessions["A"], tmp_path, pid=a0)
    client.force_login(world.users["bob"])
    with mock.patch.object(services, "_id_doubt", lambda *args: ""):
        _upload(client, world.sessions["A"], path)
    sheet = Sheet.objects.get(upload__name="room1.png")
    assert (sheet.status, sheet.person_id, sheet.attempt, sheet.written) == ("held", a0, None, [])
    assert "counted just now" in Review.objects.get(sheet=sheet, kind="pupil").problem
    assert not Answer.objects.exists() and services.counted_sheets(world.cycle, "语文", a0).count() == 1


def _in_thread(work):
    """Run ``work(ready)`` in a thread with its own connection; returns (thread, ready event, errors)."""
    ready, errors = threading.Event(), []

    def run():
        try:
            work(ready)
        except Exception as exc:  # noqa: BLE001 — reported to the test
            errors.append(exc)
            ready.set()
        finally:
            connection.close()

    t = threading.Thread(target=run)
    t.start()
    return t, ready, errors


postgres_only = pytest.mark.skipif("connection.vendor != 'postgresql'",
                                   reason="two writers at once: PostgreSQL (SQLite serialises writers)")


@postgres_only
def test_on_postgres_a_reading_counting_the_pupil_while_a_reviewer_corrects_leaves_one(transactional_db, world, b1):
    """A reading's transaction counts a sheet for A0 and has not committed; a reviewer gives another
    sheet to A0 meanwhile (their check cannot see the uncommitted sheet): the correction waits on
    the index, then is refused once the reading commits."""
    from junheng.exceptions import ParameterError
    from junheng_web.omr import pupil_ids
    from junheng_web.omr.models import Sheet
    from junheng_web.omr.services import counted_sheets

    a0 = world.pupils["A"][0].student_id
    first, held = _sheets(world, a0)
    Sheet.objects.filter(pk=first.pk).update(status="held", person_id="")

    def reading(ready):
        with transaction.atomic():
            Sheet.objects.filter(pk=first.pk).update(status="read", person_id=a0)
            ready.set()
            time.sleep(1.5)

    t, ready, errors = _in_thread(reading)
    ready.wait(10)
    try:
        with pytest.raises(ParameterError, match="counted just now"):
            pupil_ids.correct(held, a0, world.users["rita"])
    finally:
        t.join()
    assert not errors
    assert list(counted_sheets(world.cycle, "语文", a0).values_list("pk", flat=True)) == [first.pk]


@postgres_only
def test_on_postgres_a_correction_counting_the_pupil_while_a_reading_stores_holds_the_read_sheet(
        transactional_db, world, b1):
    """The other order: a reviewer's correction to A0 has not committed when the reading counts its
    sheet for A0: the reading's sheet is held (its savepoint rolled back), the correction stands."""
    from junheng_web.omr import pupil_ids, services
    from junheng_web.omr.models import Sheet

    a0 = world.pupils["A"][0].student_id
    first, held = _sheets(world, a0)
    Sheet.objects.filter(pk=first.pk).update(status="held", person_id=a0)

    def reviewer(ready):
        with transaction.atomic():
            pupil_ids.correct(Sheet.objects.get(pk=held.pk), a0, world.users["rita"])
            ready.set()
            time.sleep(1.5)

    t, ready, errors = _in_thread(reviewer)
    ready.wait(10)
    try:
        with transaction.atomic():
            sheet = Sheet.objects.get(pk=first.pk)
            doubt = services._count(sheet, b1["booklet"], write=True)
            sheet.save()
    finally:
        t.join()
    assert not errors and "counted just now" in doubt
    assert Sheet.objects.get(pk=first.pk).status == "held"
    assert list(services.counted_sheets(world.cycle, "语文", a0).values_list("pk", flat=True)) == [held.pk]


def _migrate(target: str):
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    executor.migrate([("omr", target)])
    return MigrationExecutor(connection).loader.project_state([("omr", target)]).apps


def test_the_migration_fills_cycle_and_subject_and_stops_on_a_pupil_with_two_counted_sheets(transactional_db, world):
    """0006 fills each sheet's cycle and subject from its session; on a database already holding two
    counted sheets of one pupil in one subject it stops, naming both, and changes nothing."""
    last = "0007_sheet_one_counted_constraint"
    apps = _migrate("0005_pupil_correction")
    try:
        upload_model, sheet_model = apps.get_model("omr", "Upload"), apps.get_model("omr", "Sheet")
        a, b = world.sessions["A"], world.sessions["B"]
        a0 = world.pupils["A"][0].student_id
        ua = upload_model.objects.create(session_id=a.pk, name="a.pdf", sha256="a" * 64, path="x")
        ub = upload_model.objects.create(session_id=b.pk, name="b.pdf", sha256="b" * 64, path="y")
        sheet_model.objects.create(upload=ua, session_id=a.pk, name="a.pdf:1", sha256="1" * 64, status="read",
                                   person_id=a0)
        sheet_model.objects.create(upload=ub, session_id=b.pk, name="b.pdf:1", sha256="2" * 64, status="read",
                                   person_id=a0)  # the same pupil counted in another session of the subject
        sheet_model.objects.create(upload=ub, session_id=b.pk, name="b.pdf:2", sha256="3" * 64, status="held",
                                   person_id=a0)
        with pytest.raises(RuntimeError, match=r"a\.pdf:1 / b\.pdf:1"):
            _migrate(last)
        sheet_model.objects.filter(name="b.pdf:1").update(status="held")
        _migrate(last)
    finally:
        _migrate(last)
    from junheng_web.omr.models import Sheet

    got = sorted(Sheet.objects.values_list("name", "cycle_id", "subject"))
    assert got == [("a.pdf:1", world.cycle.pk, "语文"), ("b.pdf:1", world.cycle.pk, "语文"),
                   ("b.pdf:2", world.cycle.pk, "语文")]
