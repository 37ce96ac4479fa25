"""The pupil of a scanned sheet: a sheet whose 学籍号 is unreadable, not on the session's roster or
another counted sheet's is held (nothing written) with a ``pupil`` entry in the review queue; the
reviewer picks the pupil from the roster (scoped, masked, every showing audited), confirms, and the
sheet's answers then count for that pupil; re-correction and undo; a pupil never gets two counted
sheets.  And the rescan check's scope: the same paper read into another session of the cycle's
subject (another room's batch) is caught, by content and by pupil."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from django.urls import reverse

from tests.web.omr.test_omr_review import _raw, _scan, _upload

pytestmark = [pytest.mark.django_db, pytest.mark.integration,
              pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils (pdftoppm) not installed")]

@pytest.fixture
def unreadable(world, tmp_path, b1, client):
    """Session A's sheet of pupil A0 with two marks in its first id column, uploaded by bob: ``(world, pid, answers)``."""
    session = world.sessions["A"]
    pid = world.pupils["A"][0].student_id
    second = next(ch for ch in "GJL" if ch != pid[0])  # the first column's letters
    path, pid, answers, _ = _scan(session, tmp_path, pid=pid, extra=(("1", second),))
    client.force_login(world.users["bob"])
    _upload(client, session, path)
    return world, pid, answers


def _sampled_pk(world, pid: str) -> int:
    from junheng_web.sampling.models import SampledPupil

    return SampledPupil.objects.get(cycle=world.cycle, pupil__student_id=pid).pk


def test_an_unreadable_id_is_held_and_the_reviewer_names_the_pupil_with_a_confirmation(client, unreadable):
    from junheng_web.accounts.models import AuditLog
    from junheng_web.delivery.models import Answer
    from junheng_web.omr.models import PupilCorrection, Review, Sheet

    world, pid, answers = unreadable
    sheet = Sheet.objects.get()
    assert (sheet.status, sheet.person_id, sheet.attempt) == ("held", "", None)
    assert sheet.answers and not Answer.objects.exists()  # read and kept, written for nobody
    (entry,) = Review.objects.filter(sheet=sheet, kind="pupil", status="open")
    assert "cannot be read" in entry.problem
    session_page = client.get(reverse("omr_session", args=[sheet.session_id])).content.decode()
    assert '<td class="num">0</td><td class="num">1</td>' in session_page  # read 0, 学籍号待核对 1

    client.force_login(world.users["rita"])
    queue = client.get(reverse("omr_queue")).content.decode()
    assert reverse("omr_pupil", args=[sheet.pk]) in queue and reverse("omr_id_image", args=[sheet.pk]) in queue
    assert client.get(reverse("omr_review", args=[entry.pk]))["Location"] == reverse("omr_pupil", args=[sheet.pk])
    crop = client.get(reverse("omr_id_image", args=[sheet.pk]))
    img = cv2.imdecode(np.frombuffer(crop.content, np.uint8), cv2.IMREAD_COLOR)
    page_w = cv2.imread(str(Path(client_media()) / sheet.image)).shape[1]
    assert img is not None and img.shape[1] < 2 * page_w  # the id field, enlarged twice: narrower than the page

    n_logged = AuditLog.objects.filter(action="omr.roster").count()
    page = client.get(reverse("omr_pupil", args=[sheet.pk])).content.decode()
    assert AuditLog.objects.filter(action="omr.roster", username="rita").count() == n_logged + 1
    a0, a4 = pid, world.pupils["A"][4].student_id  # the session's 语文 pupils
    assert a0 not in page.split('id="pupil-roster"')[1] and "A学生0" not in page  # masked: id and name
    assert "A*" in page and a0[-2:] in page
    rows = page.split('id="pupil-roster"')[1].split("data-pupil=")[1:]
    assert rows[0].startswith(f'"{_sampled_pk(world, a0)}"')  # the marks agree with A0 in 18 of 19 columns
    assert "18/19" in rows[0]
    assert len(rows) == 2 and f'"{_sampled_pk(world, a4)}"' in page

    # the first post only asks for the confirmation: nothing changed yet
    resp = client.post(reverse("omr_pupil", args=[sheet.pk]),
                       {"action": "correct", "pupil": _sampled_pk(world, a0), "note": "第1列漏涂"})
    assert resp.status_code == 200 and 'id="pupil-confirm"' in resp.content.decode()
    sheet.refresh_from_db()
    assert sheet.status == "held" and not PupilCorrection.objects.exists()
    resp = client.post(reverse("omr_pupil", args=[sheet.pk]), {"action": "correct", "pupil": _sampled_pk(world, a0),
                                                              "note": "第1列漏涂", "confirm": "1"})
    assert resp.status_code == 302
    sheet.refresh_from_db()
    assert (sheet.status, sheet.person_id) == ("read", a0) and sheet.attempt.student_id == a0
    for item, ans in answers.items():
        if item != "I3":
            assert _raw(world, a0, item) == ans  # the sheet's answers count for the pupil named
    entry.refresh_from_db()
    assert (entry.status, entry.reviewer) == ("corrected", world.users["rita"])
    (row,) = PupilCorrection.objects.all()
    assert (row.old_id, row.new_id, row.old_status, row.reviewer) == ("", a0, "held", world.users["rita"])
    log = AuditLog.objects.get(action="omr.pupil")
    assert log.username == "rita" and f"∅ → {a0}" in log.what and log.region_code == "410102"


def client_media() -> str:
    from django.conf import settings

    return settings.MEDIA_ROOT


def test_re_correction_undo_and_no_second_sheet_for_a_pupil(client, unreadable):
    from junheng.exceptions import ParameterError
    from junheng_web.delivery.models import Answer, Attempt
    from junheng_web.omr import pupil_ids
    from junheng_web.omr.models import PupilCorrection, Review, Sheet
    from junheng_web.omr.services import counted_sheets

    world, a0, answers = unreadable
    a4 = world.pupils["A"][4].student_id
    rita = world.users["rita"]
    sheet = Sheet.objects.get()
    pupil_ids.correct(sheet, a4, rita, "先改为 A4")
    n = Answer.objects.filter(attempt__student_id=a4).count()
    assert n > 0 and _raw(world, a4, "I1") == answers["I1"]
    # re-correction: A4's rows written from the sheet go (and the attempt it made), A0 gets them
    pupil_ids.correct(Sheet.objects.get(), a0, rita, "应为 A0")
    assert not Attempt.objects.filter(student_id=a4).exists()
    assert Answer.objects.filter(attempt__student_id=a0).count() == n
    assert [(c.old_id, c.new_id) for c in PupilCorrection.objects.order_by("pk")] == [("", a4), (a4, a0)]
    # undo: back to the pupil before the last change
    pupil_ids.undo(Sheet.objects.get(), rita, "撤销")
    sheet = Sheet.objects.get()
    assert (sheet.status, sheet.person_id) == ("read", a4)
    assert not Attempt.objects.filter(student_id=a0).exists() and _raw(world, a4, "I1") == answers["I1"]
    # a second sheet naming A4 (the same pupil's, rescanned into another room's batch) cannot take A4 too
    other = Sheet.objects.create(upload=sheet.upload, session=sheet.session, name="x.png:1", sha256="e" * 64,
                                 status="held", booklet="B1", answers=dict(sheet.answers))
    with pytest.raises(ParameterError, match="already has a counted sheet"):
        pupil_ids.correct(other, a4, rita)
    assert counted_sheets(world.cycle, "语文", a4).count() == 1
    # undo twice more: the first correction reverted, the sheet held again with a fresh queue entry
    pupil_ids.undo(Sheet.objects.get(pk=sheet.pk), rita)  # (undo of the undo: A0 again)
    pupil_ids.undo(Sheet.objects.get(pk=sheet.pk), rita)  # back to A4
    assert Sheet.objects.get(pk=sheet.pk).person_id == a4
    assert Review.objects.filter(sheet=sheet, kind="pupil").count() == 1


def test_a_held_sheet_given_the_id_it_was_read_with_closes_its_entry_as_confirmed(client, unreadable):
    """A held sheet whose marks were read as A0 (held for doubt) and given to A0: its 学籍号待核对
    entry closes as *confirmed* (the reading was right), not *corrected*; given to another pupil it
    would be corrected (the test above)."""
    from junheng_web.omr import pupil_ids
    from junheng_web.omr.models import Review, Sheet

    world, a0, _ = unreadable
    Sheet.objects.update(person_id=a0)  # the id as read, still in doubt
    pupil_ids.correct(Sheet.objects.get(), a0, world.users["rita"], "核对无误")
    (entry,) = Review.objects.filter(kind="pupil")
    assert (entry.status, entry.note, entry.reviewer) == ("confirmed", "核对无误", world.users["rita"])
    assert (Sheet.objects.get().status, Sheet.objects.get().person_id) == ("read", a0)


def test_the_roster_puts_the_pupil_whose_id_agrees_most_with_the_marks_first(unreadable, monkeypatch):
    """Marks read as A0's id put A0 first (19 of 19 columns agree), as A4's put A4 first — whatever
    order their masked ids or entries have."""
    from junheng_web.omr import pupil_ids
    from junheng_web.omr.models import Sheet

    world, a0, _ = unreadable
    a4 = world.pupils["A"][4].student_id
    sheet = Sheet.objects.get()
    for read in (a0, a4):
        monkeypatch.setattr(pupil_ids, "id_pattern", lambda _sheet, read=read: read)
        rows = pupil_ids.roster(sheet, world.users["rita"])
        assert rows[0]["pk"] == _sampled_pk(world, read), rows
        assert rows[0]["agree"] == rows[0]["of"] == len(read) and rows[1]["agree"] < len(read)


def test_a_sheet_given_to_a_pupil_who_answered_in_the_browser_is_a_second_channel(client, unreadable, b1):
    """Corrected to A4, who answered the subject in the browser, the sheet counts for A4 but writes
    nothing into A4's attempt: it is held as a second channel (an open ``two_channels`` flag), as a
    reading would hold it. While that flag is open the sheet can be neither given to another pupil
    nor undone — the flag must be settled first."""
    from junheng.exceptions import ParameterError
    from junheng_web.delivery.models import Answer
    from junheng_web.omr import pupil_ids
    from junheng_web.omr.models import PupilCorrection, Sheet
    from junheng_web.supervision.models import Flag
    from tests.web.omr.test_two_channels import _browser

    world, a0, _ = unreadable
    a4, rita = world.pupils["A"][4].student_id, world.users["rita"]
    att = _browser(b1, world.sessions["A"], a4, {"I1": "A", "I2": "B"})
    before = set(Answer.objects.filter(attempt=att).values_list("id", "raw"))
    pupil_ids.correct(Sheet.objects.get(), a4, rita)
    sheet = Sheet.objects.get()
    assert (sheet.status, sheet.person_id, sheet.attempt, sheet.written) == ("read", a4, None, [])
    assert set(Answer.objects.filter(attempt=att).values_list("id", "raw")) == before  # nothing merged
    flag = Flag.objects.get(kind="two_channels")
    assert (flag.person_id, flag.status) == (a4, "open")
    for change in (lambda: pupil_ids.correct(sheet, a0, rita), lambda: pupil_ids.undo(sheet, rita)):
        with pytest.raises(ParameterError, match="two-channel flag"):
            change()
    assert (Sheet.objects.get().person_id, PupilCorrection.objects.count()) == (a4, 1)


def test_undo_of_the_first_correction_holds_the_sheet_again(client, unreadable):
    from junheng_web.delivery.models import Answer
    from junheng_web.omr import pupil_ids
    from junheng_web.omr.models import Review, Sheet

    world, a0, _ = unreadable
    sheet = Sheet.objects.get()
    pupil_ids.correct(sheet, a0, world.users["rita"])
    pupil_ids.undo(Sheet.objects.get(), world.users["rita"])
    sheet = Sheet.objects.get()
    assert (sheet.status, sheet.person_id, sheet.attempt) == ("held", "", None)
    assert not Answer.objects.exists()
    assert Review.objects.filter(sheet=sheet, kind="pupil", status="open", problem__contains="undone").count() == 1


def test_the_roster_is_the_sessions_and_the_reviewers_region_and_another_county_gets_404(client, unreadable):
    from junheng_web.omr.models import PupilCorrection, Sheet

    world, a0, _ = unreadable
    sheet = Sheet.objects.get()
    client.force_login(world.users["rita"])
    # a pupil who does not sit the session (county B's, or A1 sampled for 数学) cannot be posted
    for outsider in (world.pupils["B"][0].student_id, world.pupils["A"][1].student_id):
        client.post(reverse("omr_pupil", args=[sheet.pk]), {"action": "correct", "confirm": "1",
                                                            "pupil": _sampled_pk(world, outsider)})
    assert not PupilCorrection.objects.exists() and Sheet.objects.get().status == "held"
    client.force_login(world.users["charlie"])  # county B
    assert client.get(reverse("omr_pupil", args=[sheet.pk])).status_code == 404
    assert client.get(reverse("omr_id_image", args=[sheet.pk])).status_code == 404
    assert client.post(reverse("omr_pupil", args=[sheet.pk]), {"action": "correct", "confirm": "1",
                                                               "pupil": _sampled_pk(world, a0)}).status_code == 404
    assert not PupilCorrection.objects.exists()


def test_a_pupil_sitting_the_session_outside_the_reviewers_region_is_neither_shown_nor_taken(client, unreadable):
    """The roster is the session's pupils *and* the reviewer's region: a site may host a school of
    another county (here county B's sampled school joins site A, so B0 sits session A's 语文).
    County A's reviewer sees the sheet but not B0 — not on the roster, and B0's entry posted anyway
    is refused (the sheet stays held); the province admin, who may see B0, can give the sheet to B0
    with the same post."""
    from junheng_web.omr.models import PupilCorrection, Sheet
    from junheng_web.supervision.services import session_pupils

    world, _a0, _ = unreadable
    sheet = Sheet.objects.get()
    world.sessions["A"].site.schools.add(world.sampled["B"])
    b0 = world.pupils["B"][0].student_id
    assert session_pupils(world.sessions["A"]).filter(pupil__student_id=b0).exists()  # B0 sits session A
    post = {"action": "correct", "confirm": "1", "pupil": _sampled_pk(world, b0)}
    client.force_login(world.users["rita"])  # county A's reviewer
    roster = client.get(reverse("omr_pupil", args=[sheet.pk])).content.decode().split('id="pupil-roster"')[1]
    assert f'data-pupil="{_sampled_pk(world, b0)}"' not in roster
    client.post(reverse("omr_pupil", args=[sheet.pk]), post)
    assert not PupilCorrection.objects.exists() and Sheet.objects.get().status == "held"
    client.force_login(world.users["alice"])  # province admin
    roster = client.get(reverse("omr_pupil", args=[sheet.pk])).content.decode().split('id="pupil-roster"')[1]
    assert f'data-pupil="{_sampled_pk(world, b0)}"' in roster
    client.post(reverse("omr_pupil", args=[sheet.pk]), post)
    assert (Sheet.objects.get().status, Sheet.objects.get().person_id) == ("read", b0)


def test_another_countys_reviewer_cannot_undo_a_correction(client, unreadable):
    """The undo is a write too: county B's reviewer posting it for county A's corrected sheet
    gets 404, and the sheet keeps its pupil and its single correction."""
    from junheng_web.omr import pupil_ids
    from junheng_web.omr.models import PupilCorrection, Sheet

    world, a0, _ = unreadable
    pupil_ids.correct(Sheet.objects.get(), a0, world.users["rita"], "A0")
    client.force_login(world.users["charlie"])  # county B
    assert client.post(reverse("omr_pupil", args=[Sheet.objects.get().pk]), {"action": "undo"}).status_code == 404
    sheet = Sheet.objects.get()
    assert (sheet.status, sheet.person_id, PupilCorrection.objects.count()) == ("read", a0, 1)


@pytest.fixture
def second_room(world):
    """A second session of site A's 语文 (room 2, a day later): the same pupils sit it."""
    from junheng_web.testsites.models import TestSession

    a = world.sessions["A"]
    return TestSession.objects.create(site=a.site, subject=a.subject, room="2", starts_at=a.starts_at + dt.timedelta(days=1),
                                      ends_at=a.ends_at + dt.timedelta(days=1))


def test_a_rescan_into_another_session_of_the_cycle_is_caught_by_pupil_and_by_content(client, world, tmp_path, b1,
                                                                                       second_room):
    """The rescan check's scope is the cycle's subject (pupil) and the cycle (content), not the
    session: one pupil sits a subject once, so a second sheet of theirs read in room 2 is the same
    paper or a wrong id — held, its answers not added; and the very same file's page is a duplicate."""
    from junheng_web.delivery.models import Answer
    from junheng_web.omr.models import Review, Sheet

    session = world.sessions["A"]
    path, pid, _, _ = _scan(session, tmp_path, pid=world.pupils["A"][0].student_id)
    client.force_login(world.users["bob"])
    _upload(client, session, path)
    n = Answer.objects.filter(attempt__student_id=pid).count()
    assert n > 0
    img = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    rescan = np.clip(img.astype(float) + np.random.default_rng(9).normal(0, 3, img.shape), 0, 255).astype(np.uint8)
    cv2.imwrite(str(path.with_name("room2-rescan.png")), rescan)
    _upload(client, second_room, path.with_name("room2-rescan.png"))
    second = Sheet.objects.get(session=second_room)
    assert (second.status, second.person_id, second.attempt) == ("held", pid, None)
    assert Answer.objects.filter(attempt__student_id=pid).count() == n
    (entry,) = Review.objects.filter(sheet=second, kind="pupil")
    assert "room1.png" in entry.problem and "考场 1" in entry.problem

    copy = tmp_path / "room2-copy.png"
    copy.write_bytes(path.read_bytes())  # the first file itself, uploaded for room 2
    _upload(client, second_room, copy)
    dup = Sheet.objects.get(upload__name="room2-copy.png")
    assert dup.status == "duplicate" and dup.same_as == Sheet.objects.get(session=session)
    assert Answer.objects.filter(attempt__student_id=pid).count() == n
    # the held rescan's own page uploaded again (room 1's batch): a duplicate of the held sheet, not a
    # second held sheet with a second 学籍号待核对 entry (a held sheet's page was read: it is known)
    again = tmp_path / "room1-again.png"
    again.write_bytes(path.with_name("room2-rescan.png").read_bytes())
    _upload(client, session, again)
    dup = Sheet.objects.get(upload__name="room1-again.png")
    assert dup.status == "duplicate" and dup.same_as == second
    assert Review.objects.filter(kind="pupil").count() == 1


def test_another_countys_counted_sheet_is_refused_without_naming_it(client, world, b1):
    """County A's session has a sheet counted for county B's pupil B0 (upload ``secret-A.png``).
    County B's reviewer giving a B sheet to B0 is refused — but told only that B0 has a counted
    sheet elsewhere: neither the sheet nor its upload's file name, on the roster, in the refusal or
    in a held sheet's entry.  The province admin, who may see both, is told which sheet."""
    import polars as pl

    from junheng.exceptions import ParameterError
    from junheng_web.omr import pupil_ids, services
    from junheng_web.omr.models import PupilCorrection, Sheet, Upload

    a, b = world.sessions["A"], world.sessions["B"]
    b0 = world.pupils["B"][0].student_id
    up_a = Upload.objects.create(session=a, name="secret-A.png", sha256="a" * 64, path="omr/a.png")
    Sheet.objects.create(upload=up_a, session=a, name="secret-A.png:1", sha256="1" * 64, status="read",
                         booklet="B1", person_id=b0)
    up_b = Upload.objects.create(session=b, name="roomB.png", sha256="b" * 64, path="omr/b.png")
    held = Sheet.objects.create(upload=up_b, session=b, name="roomB.png:1", sha256="2" * 64, status="held",
                                booklet="B1")
    charlie = world.users["charlie"]  # county B
    (row,) = [r for r in pupil_ids.roster(held, charlie) if r["taken"]]
    assert row["taken"] == pupil_ids.ELSEWHERE
    client.force_login(charlie)
    assert "secret" not in client.get(reverse("omr_pupil", args=[held.pk])).content.decode()
    with pytest.raises(ParameterError, match="already has a counted sheet") as refused:
        pupil_ids.correct(held, b0, charlie)
    assert "secret" not in str(refused.value) and "outside your region" in str(refused.value)
    page = client.post(reverse("omr_pupil", args=[held.pk]), {"action": "correct", "confirm": "1",
                                                             "pupil": _sampled_pk(world, b0)}, follow=True)
    text = page.content.decode()
    assert "already has a counted sheet" in text and "secret" not in text
    assert not PupilCorrection.objects.exists()
    with pytest.raises(ParameterError, match="secret-A.png"):
        pupil_ids.correct(held, b0, world.users["alice"])
    # the reading of a B upload naming B0: held, its entry naming no sheet of another site
    fresh = Sheet.objects.create(upload=up_b, session=b, name="roomB.png:2", sha256="3" * 64, status="held",
                                 booklet="B1", person_id=b0)
    no_review = pl.DataFrame({"part": [], "review": []}, schema={"part": pl.String, "review": pl.Boolean})
    doubt = services._id_doubt(fresh, no_review, services.sitting_ids(b), [], services._counted_before(up_b, [b0]))
    assert "already has a counted sheet" in doubt and "secret" not in doubt


def test_an_undo_sent_twice_undoes_once(client, unreadable):
    """撤销最近一次更正 names the change it undoes: the form sent twice (a double click, the browser's
    resend) undid twice — an undo of the undo, so the correction came back while the reviewer saw
    "已撤销" —; the second is refused now, saying why, and the sheet stays held.  The button asks
    for a confirmation first."""
    from junheng_web.omr import pupil_ids
    from junheng_web.omr.models import PupilCorrection, Sheet

    world, a0, _ = unreadable
    pupil_ids.correct(Sheet.objects.get(), a0, world.users["rita"], "A0")
    client.force_login(world.users["rita"])
    url = reverse("omr_pupil", args=[Sheet.objects.get().pk])
    page = client.get(url).content.decode()
    form = page.split('id="pupil-undo"')[1].split("</form>")[0]
    assert "confirm(" in form
    last = PupilCorrection.objects.get().pk
    assert f'name="last" value="{last}"' in form
    client.post(url, {"action": "undo", "last": last})
    second = client.post(url, {"action": "undo", "last": last}, follow=True).content.decode()
    sheet = Sheet.objects.get()
    assert (sheet.status, sheet.person_id, PupilCorrection.objects.count()) == ("held", "", 2)
    assert "reload the page" in second or "请刷新页面" in second
    client.post(url, {"action": "undo"})  # a form without the change it undoes changes nothing either
    assert PupilCorrection.objects.count() == 2
