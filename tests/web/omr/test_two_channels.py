"""One pupil, two channels: answers in the browser *and* on a scanned paper sheet for the same
subject.  Before this rule the sheet's answers were merged into the browser's attempt (item by
item, whichever change sorted last won) and the scoring read the mixture silently.  Now: the pupil
is a ``two_channels`` flag in the reviewers' queue with both sources, the pupil's answers are held
out of the scoring export until a reviewer chooses, the choice is applied and audited, a reviewer
of another county cannot choose, and a decided pupil is not flagged again.  Both orders: browser
first (the sheet is held, nothing merged) and paper first (browser answers arrive later, e.g. from a
site package)."""

from __future__ import annotations

import shutil
import uuid

import cv2
import numpy as np
import polars as pl
import pytest
from click.testing import CliRunner
from django.urls import reverse

from tests.web.omr.conftest import filled

pytestmark = [pytest.mark.django_db, pytest.mark.integration,
              pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils (pdftoppm) not installed")]

DPI = 150


@pytest.fixture
def paper(world, tmp_path, b1):
    """Booklet B1 built for session A, and a scan of B1 filled by its pupil A0 (no uncertain bubble)."""
    from junheng.materials import omr_corpus as oc
    from junheng_web.omr.services import session_layouts

    (lay,) = session_layouts(world.sessions["A"])
    rng = np.random.default_rng(21)
    while True:  # a pupil whose sheet answers I1 and I4 (a blank would make the test weaker)
        img, pid, answers, _ = filled(oc, lay, rng, world.pupils["A"][0].student_id, half_share=0, erase_share=0,
                                      blank_share=0)
        if answers["I1"] != "A":
            break
    path = tmp_path / "room1.png"
    cv2.imwrite(str(path), oc.degrade(img, "scanner", rng))
    return world, b1, path, pid, answers


def _browser(built, session, pid: str, answers: dict[str, str], lease: int = 1):
    """The pupil's answers from the browser: changes with seq ≥ 1 under a page lease."""
    from django.utils import timezone

    from junheng_web.delivery.models import Answer, Attempt, Lease

    att, _ = Attempt.objects.get_or_create(session=session, student_id=pid, defaults={"booklet": built["booklet"]})
    Attempt.objects.filter(pk=att.pk).update(lease=lease)
    Lease.objects.get_or_create(attempt=att, number=lease, defaults={"started_at": timezone.now()})
    for k, (item, raw) in enumerate(answers.items(), 1):
        Answer.objects.create(id=uuid.uuid4(), attempt=att, item=built["items"][item], raw=raw, seq=k, lease=lease,
                              client_at=timezone.now())
    return att


def _scoring(world, pid: str) -> dict[str, str]:
    """What the scoring export holds for the pupil (the held pupils left out, as the CLI does)."""
    from junheng_web.delivery.services import responses_frame
    from junheng_web.supervision.services import held_pupils

    frame = responses_frame(world.cycle, subject="语文", held=held_pupils(world.cycle, "语文"))
    mine = frame.filter(pl.col("person_id") == pid)
    return dict(zip(mine["item_id"], mine["raw"], strict=True))


def _upload(client, world, path):
    client.force_login(world.users["bob"])
    with path.open("rb") as f:
        return client.post(reverse("omr_upload", args=[world.sessions["A"].pk]), {"file": f})


def test_browser_then_paper_is_flagged_held_and_decided_by_a_reviewer(client, paper):
    from junheng_web.accounts.models import AuditLog, User
    from junheng_web.delivery.models import Answer
    from junheng_web.omr.models import Sheet
    from junheng_web.omr.services import check_channels
    from junheng_web.supervision.models import Flag

    world, built, path, pid, answers = paper
    session = world.sessions["A"]
    att = _browser(built, session, pid, {"I1": "A", "I2": "B"})  # I1 differs from the sheet; I4 left blank
    before = set(Answer.objects.filter(attempt=att).values_list("id", flat=True))
    _upload(client, world, path)

    sheet = Sheet.objects.get(session=session)
    assert (sheet.status, sheet.person_id, sheet.attempt) == ("read", pid, None)  # held, not merged
    assert set(Answer.objects.filter(attempt=att).values_list("id", flat=True)) == before
    assert sheet.answers["I1"] == answers["I1"] and sheet.answers["I4"] == answers["I4"]
    flag = Flag.objects.get(kind="two_channels")
    assert (flag.person_id, flag.status, flag.session_id, flag.severity) == (pid, "open", session.pk, "warning")
    assert "在线作答" in flag.detail and "room1.png" in flag.detail and "题本 B1" in flag.detail
    assert "2 题有作答" in flag.detail  # the browser's two answers
    # the scoring does not silently pick: the pupil is held out of the export
    assert _scoring(world, pid) == {}
    r = CliRunner().invoke(__import__("junheng_cli.main", fromlist=["cli"]).cli,
                           ["delivery", "export", "--year", str(world.cycle.year), "--subject", "语文", "--unmask",
                            "-o", str(path.with_name("raw.csv"))])
    assert r.exit_code == 0, r.output
    assert "1 名学生既有在线作答又有答题卡" in r.output
    assert pid not in pl.read_csv(path.with_name("raw.csv"), infer_schema=False)["person_id"].to_list()

    # the reviewers' queue shows it; the generic confirm cannot settle it (a channel must be chosen)
    client.force_login(world.users["rita"])
    assert f'data-flag="{flag.pk}"' in client.get(reverse("review_queue")).content.decode()
    page = client.get(reverse("flag_detail", kwargs={"flag": flag.pk})).content.decode()
    assert 'id="choose-paper"' in page and "room1.png" in page and pid in page
    client.post(reverse("flag_review", kwargs={"flag": flag.pk}), {"decision": "confirm", "note": "看过"})
    assert Flag.objects.get(pk=flag.pk).status == "open"
    client.post(reverse("omr_channel", kwargs={"flag": flag.pk}), {"choice": "paper", "note": ""})
    assert Flag.objects.get(pk=flag.pk).status == "open"  # a note is required

    # a reviewer of another county cannot reach it
    rob = User.objects.create_user("rob", password="x" * 12, role="reviewer", region=world.regions["B"])
    client.force_login(rob)
    assert client.post(reverse("omr_channel", kwargs={"flag": flag.pk}),
                       {"choice": "browser", "note": "x"}).status_code == 404
    assert Flag.objects.get(pk=flag.pk).status == "open"

    client.force_login(world.users["rita"])
    resp = client.post(reverse("omr_channel", kwargs={"flag": flag.pk}),
                       {"choice": "paper", "note": "监考记录：该生机器故障后改用答题卡"})
    assert resp.status_code == 302
    flag.refresh_from_db()
    assert (flag.status, flag.choice, flag.reviewer) == ("confirmed", "paper", world.users["rita"])
    row = AuditLog.objects.get(action="omr.channel")
    assert row.username == "rita" and pid in row.what and "paper" in row.what and row.region_code == "410102"
    # the sheet's answers are now the pupil's, every choice item as on the sheet (the browser's I1 gone)
    got = _scoring(world, pid)
    assert {k: got[k] for k in ("I1", "I2", "I4")} == {k: answers[k] for k in ("I1", "I2", "I4")}
    assert Sheet.objects.get(pk=sheet.pk).attempt_id == att.pk
    # decided: finding the conflict again adds no flag, and a second decision is refused
    assert check_channels(world.cycle, "语文") == 0 and Flag.objects.filter(kind="two_channels").count() == 1
    client.post(reverse("omr_channel", kwargs={"flag": flag.pk}), {"choice": "browser", "note": "改主意"})
    assert Flag.objects.get(pk=flag.pk).choice == "paper"


def test_paper_then_browser_is_found_again_and_the_browser_can_be_chosen(client, paper):
    from junheng_web.delivery.models import Attempt
    from junheng_web.omr.models import Sheet
    from junheng_web.omr.services import check_channels, choose_channel
    from junheng_web.supervision.models import Flag

    world, built, path, pid, answers = paper
    session = world.sessions["A"]
    _upload(client, world, path)
    sheet = Sheet.objects.get(session=session)
    assert sheet.attempt is not None and not Flag.objects.filter(kind="two_channels").exists()
    assert _scoring(world, pid)["I4"] == answers["I4"]
    # later, answers of the same pupil arrive from a browser (a site's package): the same attempt
    _browser(built, session, pid, {"I1": "A"}, lease=1)
    assert Attempt.objects.filter(student_id=pid).count() == 1
    assert check_channels(world.cycle, "语文") == 1
    flag = Flag.objects.get(kind="two_channels", status="open")
    assert _scoring(world, pid) == {}  # held
    choose_channel(flag, "browser", world.users["rita"], "以考点上传的在线作答为准")
    got = _scoring(world, pid)
    # the browser's answer counts, and none of the sheet's answers survives in the browser's gaps
    assert got["I1"] == "A" and got["I2"] == "" and got["I4"] == ""
    assert check_channels(world.cycle, "语文") == 0


def test_sheets_read_before_the_rule_are_not_taken_for_browser_answers(client, paper):
    """Sheets read before migration 0003 record neither their answers nor the rows they wrote;
    0004 backfills both from the attempt, so their pupils are not flagged as two channels."""
    import importlib

    from django.apps import apps

    from junheng_web.omr.models import Sheet
    from junheng_web.omr.services import check_channels
    from junheng_web.supervision.models import Flag

    world, built, path, pid, answers = paper
    _upload(client, world, path)
    sheet = Sheet.objects.get()
    written, said = sheet.written, sheet.answers
    Sheet.objects.filter(pk=sheet.pk).update(written=[], answers={})  # as a sheet read before 0003
    assert check_channels(world.cycle, "语文") == 1  # without the backfill: a false two-channel flag
    Flag.objects.all().delete()
    importlib.import_module("junheng_web.omr.migrations.0004_backfill_written").backfill(apps, None)
    sheet.refresh_from_db()
    assert sheet.written == written and sheet.answers == said
    assert check_channels(world.cycle, "语文") == 0 and _scoring(world, pid)["I4"] == answers["I4"]


def test_the_browser_count_in_the_flag_is_of_each_items_latest_change_by_lease_then_seq(client, paper):
    """After a computer swap (lease 2) the pupil cleared I1, which the first computer had answered
    last (seq 3 of lease 1).  The reviewer is told of 2 answered items (I2, I3), not 3: the latest
    change of an item is the one with the highest (lease, seq), as in the scoring export."""
    from junheng_web.supervision.models import Flag

    world, built, path, pid, _ = paper
    session = world.sessions["A"]
    _browser(built, session, pid, {"I2": "B", "I3": "C", "I1": "A"}, lease=1)
    _browser(built, session, pid, {"I1": ""}, lease=2)
    _upload(client, world, path)
    web = Flag.objects.get(kind="two_channels").detail.split("在线作答：")[1].split("；答题卡")[0]
    assert "（2 题有作答" in web, web


def test_two_reviewers_choosing_at_once_the_second_is_refused(client, paper):
    """Each reviewer's page loaded the flag while it was open; the first choice counts and the
    second — applied from its stale copy — is refused, not written over it (a choice is made once)."""
    from junheng.exceptions import ParameterError
    from junheng_web.omr.services import check_channels, choose_channel
    from junheng_web.supervision.models import Flag

    world, built, path, pid, answers = paper
    session = world.sessions["A"]
    _upload(client, world, path)
    _browser(built, session, pid, {"I1": "A"}, lease=1)
    assert check_channels(world.cycle, "语文") == 1
    first, second = Flag.objects.get(kind="two_channels"), Flag.objects.get(kind="two_channels")
    choose_channel(first, "browser", world.users["rita"], "以在线作答为准")
    with pytest.raises(ParameterError):
        choose_channel(second, "paper", world.users["rita"], "以答题卡为准")
    flag = Flag.objects.get(kind="two_channels")
    assert flag.choice == "browser" and flag.note == "以在线作答为准"
    got = _scoring(world, pid)
    assert got["I1"] == "A" and got["I4"] == ""  # the browser's answers, not the sheet's


def test_a_held_pupil_is_held_in_that_subject_only_when_every_subject_is_exported(client, paper):
    """``junheng delivery export`` without --subject: a pupil held in 语文 (two channels) is left out
    of 语文 only — the pupil's 数学 answers, from the browser alone, are exported."""
    from django.utils import timezone

    from junheng_web.assessment.models import Block, BlockItem, Booklet, BookletBlock, Item
    from junheng_web.delivery.models import Answer, Attempt
    from junheng_web.delivery.services import responses_frame
    from junheng_web.omr.services import check_channels
    from junheng_web.supervision.services import held_pupils
    from junheng_web.testsites.models import TestSession

    world, built, path, pid, answers = paper
    _upload(client, world, path)
    _browser(built, world.sessions["A"], pid, {"I1": "A"}, lease=1)
    assert check_channels(world.cycle, "语文") == 1
    item = Item.objects.create(item_id="M1", subject="数学", format="single_choice", key="A", options=["1", "2"],
                               stem="1+0=?", status="operational")
    block = Block.objects.create(cycle=world.cycle, code="MK1", subject="数学")
    BlockItem.objects.create(block=block, item=item, order=1)
    booklet = Booklet.objects.create(cycle=world.cycle, code="MB1", subject="数学")
    BookletBlock.objects.create(booklet=booklet, block=block, position=1)
    a = world.sessions["A"]
    maths = TestSession.objects.create(site=a.site, subject="数学", room="2", starts_at=a.starts_at, ends_at=a.ends_at)
    att = Attempt.objects.create(session=maths, student_id=pid, booklet=booklet, lease=1)
    Answer.objects.create(id=uuid.uuid4(), attempt=att, item=item, raw="A", seq=1, lease=1, client_at=timezone.now())
    frame = responses_frame(world.cycle, held=held_pupils(world.cycle))
    mine = frame.filter(pl.col("person_id") == pid)
    assert dict(zip(mine["item_id"], mine["raw"], strict=True)) == {"M1": "A"}


def test_a_held_sheet_of_a_pupil_who_does_not_sit_its_session_cannot_count(world, b1):
    """A sheet stored before the session's pupils were checked (read, naming county B's pupil B0 in
    county A's session) with B0's browser answers is a two-channel flag: choosing the paper would
    write B0's answers from another county's upload — refused, nothing written."""
    from junheng.exceptions import ParameterError
    from junheng_web.delivery.models import Answer, Attempt
    from junheng_web.omr.models import Sheet, Upload
    from junheng_web.omr.services import check_channels, choose_channel
    from junheng_web.supervision.models import Flag

    other = world.pupils["B"][0].student_id
    att = Attempt.objects.create(session=world.sessions["B"], student_id=other, booklet=b1["booklet"])
    Answer.objects.create(id=uuid.uuid4(), attempt=att, item=b1["items"]["I1"], raw="C", seq=1, lease=1)
    upload = Upload.objects.create(session=world.sessions["A"], name="room1.pdf", sha256="0" * 64, path="x")
    Sheet.objects.create(upload=upload, session=world.sessions["A"], name="room1.pdf:1", sha256="e" * 64,
                         status="read", booklet="B1", person_id=other, answers={"I1": "A"})
    assert check_channels(world.cycle, "语文") == 1
    flag = Flag.objects.get(kind="two_channels")
    with pytest.raises(ParameterError, match="not a pupil of this session"):
        choose_channel(flag, "paper", world.users["rita"], "答题卡为准")
    assert list(Answer.objects.filter(attempt__student_id=other).values_list("raw", flat=True)) == ["C"]
    flag.refresh_from_db()
    assert flag.status == "open"
