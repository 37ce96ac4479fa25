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
from tests.web.omr.test_two_channels import paper  # noqa: F401 (fixture)

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


def test_a_reread_keeps_a_correction_of_a_sheet_that_had_no_entry(client, world, tmp_path, b1):
    """A sheet read for A0 without doubt (no 学籍号待核对 entry to close) that a reviewer gave to A4
    — the misread id was a valid pupil's: the correction alone marks it decided, so a re-read keeps
    it A4's (not read afresh as A0's, the correction lost)."""
    from junheng_web.omr import pupil_ids, services
    from junheng_web.omr.models import Review, Sheet, Upload
    from tests.web.omr.test_omr_review import _scan

    a0, a4 = world.pupils["A"][0].student_id, world.pupils["A"][4].student_id
    path, _, _, _ = _scan(world.sessions["A"], tmp_path, pid=a0)
    client.force_login(world.users["bob"])
    _upload(client, world.sessions["A"], path)
    pupil_ids.correct(Sheet.objects.get(), a4, world.users["rita"], "学籍号读错")
    assert not Review.objects.exclude(status="open").exists()  # no entry decided: only the correction
    n = _owned(a4)[0]
    assert n > 0 and _owned(a0) == (0, 0)
    summary = services.read_upload(Upload.objects.get())
    sheet = Sheet.objects.get()
    assert summary["kept"] == 1 and (sheet.status, sheet.person_id) == ("read", a4)
    assert _owned(a4) == (n, 0) and _owned(a0) == (0, 0)


def test_a_reread_keeps_a_decided_item_entry_alone(client, unreadable):  # noqa: F811
    """Only an item entry decided (the sheet still held, its pupil not yet named): that decision is
    enough — the re-read keeps the sheet, its entry stays corrected with the reviewer's answer, and
    no second entry for the item is queued."""
    from junheng_web.omr import services
    from junheng_web.omr.models import Review, Sheet, Upload

    world, _a0, answers = unreadable
    item = Review.objects.get(kind="item", item_id="I4")
    new = next(v for v in "AB" if v != answers["I4"])
    services.decide(item, world.users["rita"], new, "淡痕是擦除")
    assert not Sheet.objects.get().corrections.exists()
    summary = services.read_upload(Upload.objects.get())
    assert summary["kept"] == 1 and Sheet.objects.get().status == "held"
    (entry,) = Review.objects.filter(kind="item", item_id="I4")
    assert (entry.pk, entry.status) == (item.pk, "corrected")


def test_a_reread_keeps_a_sheet_whose_two_channel_flag_was_chosen(client, paper):  # noqa: F811
    """A0 answered in the browser and on paper; a reviewer chose the paper. Re-read, the sheet is
    that decision: kept, still written into A0's attempt, the scoring unchanged — not stored afresh
    as a held second channel whose answers the decided flag would never bring back."""
    from django.urls import reverse

    from junheng_web.omr import services
    from junheng_web.omr.models import Sheet, Upload
    from junheng_web.supervision.models import Flag
    from tests.web.omr.test_two_channels import _browser, _scoring
    from tests.web.omr.test_two_channels import _upload as upload_paper

    world, built, path, pid, _answers = paper
    att = _browser(built, world.sessions["A"], pid, {"I1": "A", "I2": "B"})
    upload_paper(client, world, path)
    flag = Flag.objects.get(kind="two_channels")
    client.force_login(world.users["rita"])
    client.post(reverse("omr_channel", kwargs={"flag": flag.pk}), {"choice": "paper", "note": "机器故障后改用答题卡"})
    assert Flag.objects.get(pk=flag.pk).choice == "paper" and Sheet.objects.get().attempt_id == att.pk
    chosen = _scoring(world, pid)
    summary = services.read_upload(Upload.objects.get())
    assert summary["kept"] == 1 and Sheet.objects.get().attempt_id == att.pk
    assert _scoring(world, pid) == chosen
