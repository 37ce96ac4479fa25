"""An upload read again (a job retry or re-run) after people decided on its sheets: the same page
(same content hash) keeps its reviewers' decisions — the pupil correction, the item corrections,
what they wrote —; a sheet with no decision is stored afresh after removing what it wrote; a
decided sheet whose page is not read again loses what it wrote and its page is queued anew.  Never
an answer left behind that no sheet owns."""

from __future__ import annotations

import shutil
from unittest import mock

import pytest

from tests.web.omr.test_omr_review import _raw, _upload
from tests.web.omr.test_pupil_ids import unreadable  # noqa: F401 (fixture)

pytestmark = [pytest.mark.django_db, pytest.mark.integration,
              pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils (pdftoppm) not installed")]


def _owned(pid: str) -> tuple[int, int]:
    """(answer rows of ``pid``, those no sheet's ``written`` names): the second must be 0."""
    from junheng_web.delivery.models import Answer
    from junheng_web.omr.models import Sheet

    written = {w for ws in Sheet.objects.values_list("written", flat=True) for w in ws}
    ids = [str(pk) for pk in Answer.objects.filter(attempt__student_id=pid).values_list("id", flat=True)]
    return len(ids), sum(1 for i in ids if i not in written)


def test_a_reread_keeps_the_pupil_correction_and_the_item_corrections(client, unreadable):  # noqa: F811
    from junheng_web.omr import pupil_ids, services
    from junheng_web.omr.models import PupilCorrection, Review, Sheet, Upload

    world, a0, answers = unreadable
    a4, rita = world.pupils["A"][4].student_id, world.users["rita"]
    item = Review.objects.get(kind="item", item_id="I4")
    new = next(v for v in "AB" if v != answers["I4"])
    services.decide(item, rita, new, "淡痕是擦除")
    pupil_ids.correct(Sheet.objects.get(), a4, rita, "应为 A4")
    n, orphans = _owned(a4)
    assert n > 0 and orphans == 0 and _raw(world, a4, "I4") == new

    summary = services.read_upload(Upload.objects.get())  # the job run again
    sheet = Sheet.objects.get()
    assert summary["kept"] == 1
    assert (sheet.status, sheet.person_id, sheet.attempt.student_id) == ("read", a4, a4)
    assert _owned(a4) == (n, 0) and _raw(world, a4, "I4") == new  # the item correction still counts
    assert PupilCorrection.objects.filter(sheet=sheet).count() == 1
    assert not Review.objects.filter(sheet=sheet, status="open").exclude(kind="item").exists()
    assert Review.objects.get(sheet=sheet, item_id="I4").status == "corrected"
    # a later correction still moves everything the sheet wrote
    pupil_ids.correct(sheet, a0, rita, "其实是 A0")
    assert _owned(a4) == (0, 0) and _owned(a0) == (n, 0)


def test_a_decided_sheet_whose_page_is_not_read_again_is_unwritten_and_queued_anew(client, unreadable):  # noqa: F811
    """The earlier run's page hash no longer matches (as after a change of the PDF renderer): the
    decisions cannot be carried to the new page, so what the old sheet wrote goes with it and the
    page is held again with an open entry — not read as another pupil with the old rows kept."""
    from junheng_web.delivery.models import Attempt
    from junheng_web.omr import pupil_ids, services
    from junheng_web.omr.models import Review, Sheet, Upload

    world, _a0, _ = unreadable
    a4 = world.pupils["A"][4].student_id
    pupil_ids.correct(Sheet.objects.get(), a4, world.users["rita"])
    Sheet.objects.update(sha256="0" * 64)  # the earlier rendering of the page
    services.read_upload(Upload.objects.get())
    sheet = Sheet.objects.get()
    assert (sheet.status, sheet.person_id, sheet.attempt, sheet.written) == ("held", "", None, [])
    assert _owned(a4) == (0, 0) and not Attempt.objects.filter(student_id=a4).exists()
    assert Review.objects.filter(sheet=sheet, kind="pupil", status="open").count() == 1


def test_an_undecided_sheet_held_on_the_reread_leaves_no_answer_behind(client, world, tmp_path, b1):
    """A sheet written for A0, read again when A0 no longer sits the session (held): the rows it
    wrote go, none left in A0's attempt with no sheet owning them."""
    from junheng_web.delivery.models import Attempt
    from junheng_web.omr import services
    from junheng_web.omr.models import Sheet, Upload
    from tests.web.omr.test_omr_review import _scan

    path, pid, _, _ = _scan(world.sessions["A"], tmp_path, pid=world.pupils["A"][0].student_id)
    client.force_login(world.users["bob"])
    _upload(client, world.sessions["A"], path)
    assert _owned(pid)[0] > 0 and Sheet.objects.get().status == "read"
    with mock.patch.object(services, "sitting_ids", lambda session: set()):
        services.read_upload(Upload.objects.get())
    sheet = Sheet.objects.get()
    assert (sheet.status, sheet.attempt, sheet.written) == ("held", None, [])
    assert _owned(pid) == (0, 0) and not Attempt.objects.filter(student_id=pid).exists()
