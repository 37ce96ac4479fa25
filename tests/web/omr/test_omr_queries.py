"""OMR work whose queries do not grow with the uploads or the sheets: a session's page of uploads
(``omr.views.session_sheets``) counts each upload's sheets by status and its open queue entries in a
fixed number of queries (it asked five counts an upload), showing the counts the test stored; a
reading looks up the pupils' earlier counted sheets once for the upload (it asked once a sheet), and
its summary is one aggregate.  Plus two checks on the same tables: opening an entry that names a
pupil is audited, and a batch already final is not marked final again."""

from __future__ import annotations

import re
import shutil
import threading
import time

import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

pytestmark = pytest.mark.django_db
STATUSES = ("read", "held", "duplicate", "failed")


def _uploads(world, n: int) -> dict[int, tuple[int, ...]]:
    """``n`` uploads of session A, upload k with k+1 read, k+2 held, k duplicate and 1 failed
    sheets, and k+1 open entries (plus one decided, not counted); {pk: the five counts}."""
    from junheng_web.omr.models import Review, Sheet, Upload

    session = world.sessions["A"]
    want = {}
    for k in range(n):
        up = Upload.objects.create(session=session, name=f"room{k}.pdf", sha256=f"{k:064x}", path="x")
        numbers = (k + 1, k + 2, k, 1)
        sheets = Sheet.objects.bulk_create([
            Sheet(upload=up, session=session, cycle=world.cycle, subject=session.subject, name=f"{k}-{s}-{j}",
                  sha256=f"{k:032x}{i:016x}{j:016x}", status=s, person_id=f"G{k:09d}{i:03d}{j:06d}")
            for i, (s, m) in enumerate(zip(STATUSES, numbers, strict=True)) for j in range(m)])
        Review.objects.bulk_create([Review(sheet=sheets[j % len(sheets)], session=session, kind="sheet", problem="x")
                                    for j in range(k + 1)])
        Review.objects.create(sheet=sheets[0], session=session, kind="sheet", problem="x", status="confirmed")
        want[up.pk] = (*numbers, k + 1)
    return want


def _shown(page: str) -> dict[int, tuple[int, ...]]:
    rows = re.findall(r'<tr data-upload="(\d+)">(.*?)</tr>', page, re.S)
    return {int(pk): tuple(int(x) for x in re.findall(r'<td class="num">(\d+)</td>', row)[1:6]) for pk, row in rows}


@pytest.mark.parametrize("n", [1, 4])
def test_the_upload_counts_take_the_same_queries_for_one_upload_or_many(client, world, n):
    client.force_login(world.users["bob"])
    url = reverse("omr_session", args=[world.sessions["A"].pk])
    with CaptureQueriesContext(connection) as empty:
        assert client.get(url).status_code == 200
    want = _uploads(world, n)
    with CaptureQueriesContext(connection) as ctx:
        page = client.get(url).content.decode()
    assert _shown(page) == want
    # the uploads, their sheets by status and their open entries are three queries with or without
    # uploads (before: five more an upload)
    assert len(ctx.captured_queries) == len(empty.captured_queries)


def test_an_upload_is_counted_by_status_with_its_review_entries_in_one_query(world, django_assert_num_queries):
    """``upload_counts`` (what ``read_upload`` returns for the job's page) asks one query for an upload,
    however many sheets and entries (it asked five counts); a sheet with several entries is counted once,
    every entry (open or decided) once, and another upload's sheets not at all."""
    from junheng_web.omr.models import Upload
    from junheng_web.omr.services import upload_counts

    want = _uploads(world, 4)
    for pk, (read, held, duplicate, failed, open_entries) in want.items():
        upload = Upload.objects.get(pk=pk)
        with django_assert_num_queries(1):
            got = upload_counts(upload)
        # _uploads gives the first sheet two entries or more: the decided one and at least one open
        assert got == {"read": read, "held": held, "duplicates": duplicate, "failed": failed,
                       "reviews": open_entries + 1}, (pk, got)


def _pdf(session, tmp_path, pids: list[str], name: str):
    """A PDF of B1 sheets filled by ``pids``, one page each (150 dpi)."""
    from PIL import Image

    from junheng.materials import omr_corpus as oc
    from junheng_web.omr.services import session_layouts
    from tests.web.omr.conftest import filled

    (lay,) = session_layouts(session)
    rng = np.random.default_rng(5)
    pages = [Image.fromarray(filled(oc, lay, rng, pid, half_share=0, erase_share=0, blank_share=0)[0]) for pid in pids]
    path = tmp_path / name
    pages[0].save(path, "PDF", resolution=150, save_all=True, append_images=pages[1:])
    return path


@pytest.mark.integration
@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils (pdftoppm) not installed")
def test_a_reading_asks_for_earlier_counted_sheets_once_for_the_upload(world, b1, tmp_path):
    """``read_upload`` looks up the pupils' sheets already counted in the cycle's subject in one query
    for the upload (``_counted_before``), not one a sheet (``_id_doubt``'s): the same number of
    SELECTs on ``omr_sheet`` for an upload of one page and of three.  The look-up still finds a
    pupil's sheet of an earlier upload and one counted earlier in the same upload (both held, the
    first sheet named), and lets the others count."""
    from junheng_web.omr import services
    from junheng_web.omr.models import Review, Sheet
    from junheng_web.sampling.services import sitting_pupils

    session = world.sessions["A"]
    p0, p1 = sorted(sitting_pupils(session.site.cycle, session.site_id, session.subject)
                    .values_list("pupil__student_id", flat=True))[:2]

    def read(name, who):
        up, _ = services.store_upload(session, name, [_pdf(session, tmp_path, who, name).read_bytes()])
        with CaptureQueriesContext(connection) as ctx:
            got = services.read_upload(up)
        counts = [q["sql"] for q in ctx.captured_queries if "COUNT(" in q["sql"].upper()
                  and (' FROM "omr_sheet"' in q["sql"] or ' FROM "omr_review"' in q["sql"])]
        assert len(counts) == 1, counts  # the job's summary: one aggregate (it was five counts)
        return up, got, sum(1 for q in ctx.captured_queries if q["sql"].lstrip().upper().startswith("SELECT")
                            and ' FROM "omr_sheet"' in q["sql"])

    _, got, one = read("one.pdf", [p0])
    assert got == {"pages": 1, "kept": 0, "read": 1, "held": 0, "duplicates": 0, "failed": 0, "reviews": 0,
                   "two_channels": 0}, got
    # p1's paper, p0's again (a rescan of one.pdf's), p1's again (a second sheet in the same upload)
    up, got, three = read("three.pdf", [p1, p0, p1])
    assert three == one  # was one more a read sheet
    assert got == {"pages": 3, "kept": 0, "read": 1, "held": 2, "duplicates": 0, "failed": 0, "reviews": 2,
                   "two_channels": 0}, got
    got = {s.name: s for s in Sheet.objects.filter(upload=up)}
    assert [(got[f"three.pdf:{k}"].status, got[f"three.pdf:{k}"].person_id) for k in (1, 2, 3)] == [
        ("read", p1), ("held", p0), ("held", p1)]
    for page, first in ((2, "one.pdf:1（上传 one.pdf）"), (3, "three.pdf:1（上传 three.pdf）")):
        (entry,) = Review.objects.filter(sheet=got[f"three.pdf:{page}"], kind="pupil")
        assert f"的答题卡已读过：{first}" in entry.problem, entry.problem


def test_opening_a_review_entry_that_names_a_pupil_is_audited(client, world):
    """A reviewer's page of one entry shows the sheet's 学籍号 whole (the queue masks it) and the
    pupil's marks: each showing is in the audit log with the reviewer, the entry and the county, as a
    flag naming pupils is (it was not logged).  An entry whose sheet names nobody (an unread id) is not."""
    from junheng_web.accounts.models import AuditLog
    from junheng_web.omr.models import Review, Sheet, Upload

    session = world.sessions["A"]
    up = Upload.objects.create(session=session, name="room.pdf", sha256="a" * 64, path="x")
    named, nobody = (Sheet.objects.create(upload=up, session=session, cycle=world.cycle, subject=session.subject,
                                          name=f"room.pdf:{k}", sha256=f"{k:064x}", status="failed", person_id=pid)
                     for k, pid in ((1, world.pupils["A"][0].student_id), (2, "")))
    entries = [Review.objects.create(sheet=s, session=session, kind="sheet", problem="定位点无法识别") for s in (named, nobody)]
    client.force_login(world.users["rita"])
    page = client.get(reverse("omr_review", args=[entries[0].pk]))
    assert page.status_code == 200 and world.pupils["A"][0].student_id in page.content.decode()
    assert client.get(reverse("omr_review", args=[entries[1].pk])).status_code == 200
    (row,) = AuditLog.objects.filter(action="view", what__startswith="omr review")
    assert (row.username, row.what, row.rows, row.region_code) == (
        "rita", f"omr review {entries[0].pk} room.pdf:1", 1, "410102")


def test_a_batch_already_final_is_not_marked_final_again(world):
    """定稿 sent again (the form from the history, another user): refused naming who marked it and when,
    the first marking kept (it was overwritten)."""
    from junheng.exceptions import ParameterError
    from junheng_web.omr.models import Upload
    from junheng_web.omr.services import mark_final

    up = Upload.objects.create(session=world.sessions["A"], name="room.pdf", sha256="b" * 64, path="x")
    mark_final(up, world.users["bob"])
    first = Upload.objects.get(pk=up.pk).final_at
    with pytest.raises(ParameterError, match="已于 .* 由 bob 定稿.*marked final at .* by bob"):
        mark_final(Upload.objects.get(pk=up.pk), world.users["alice"])
    stale = Upload.objects.get(pk=up.pk)
    stale.final_at = None  # read before the first marking: refused in the write
    with pytest.raises(ParameterError, match="by bob"):
        mark_final(stale, world.users["alice"])
    got = Upload.objects.get(pk=up.pk)
    assert (got.final_at, got.final_by.username) == (first, "bob")


def test_an_entry_decided_meanwhile_is_not_decided_again(world):
    """Two reviewers on one entry (or the form sent twice at once): both read it open, the first
    decides; the second, holding the entry as it read it, is refused in the write and the first
    decision stands (it was overwritten: its note, its reviewer)."""
    from junheng.exceptions import ParameterError
    from junheng_web.omr.models import Review, Sheet, Upload
    from junheng_web.omr.services import decide

    session = world.sessions["A"]
    up = Upload.objects.create(session=session, name="room.pdf", sha256="c" * 64, path="x")
    sheet = Sheet.objects.create(upload=up, session=session, cycle=world.cycle, subject=session.subject,
                                 name="room.pdf:1", sha256=f"{7:064x}", status="failed", person_id="")
    entry = Review.objects.create(sheet=sheet, session=session, kind="sheet", problem="定位点无法识别")
    first, second = Review.objects.get(pk=entry.pk), Review.objects.get(pk=entry.pk)  # both read it open
    decide(first, world.users["rita"], None, "重新扫描")
    with pytest.raises(ParameterError, match="已由他人核对.*just been decided by someone else"):
        decide(second, world.users["bob"], None, "手工录入")
    got = Review.objects.get(pk=entry.pk)
    assert (got.status, got.note, got.reviewer.username) == ("settled", "重新扫描", "rita")


def test_a_batch_deleted_meanwhile_is_refused_with_a_message_not_a_500(world, client, monkeypatch):
    """定稿 on a batch deleted between the page's read and the write (another user deleted it): a
    message in Chinese and English on the session's page, nothing marked, no traceback — the write's
    re-check re-read the deleted row and raised (a 500)."""
    from junheng_web.accounts.models import AuditLog
    from junheng_web.omr import services
    from junheng_web.omr.models import Upload

    up = Upload.objects.create(session=world.sessions["A"], name="room.pdf", sha256="c" * 64, path="x")
    real = services.mark_final

    def deleted_meanwhile(upload, user):
        Upload.objects.filter(pk=upload.pk).delete()  # after the view read it, before the write
        return real(upload, user)

    monkeypatch.setattr(services, "mark_final", deleted_meanwhile)  # the view calls services.mark_final
    client.force_login(world.users["bob"])
    r = client.post(reverse("omr_final", args=[up.pk]), follow=True)
    page = r.content.decode()
    assert r.status_code == 200 and "已被删除" in page and "was deleted meanwhile" in page and "Traceback" not in page
    assert not Upload.objects.filter(pk=up.pk).exists()
    assert not AuditLog.objects.filter(action="omr.final").exists()


def test_a_batchs_issues_show_the_pupils_ids_masked(world, client):
    """The session's sheet page lists a batch's issues to everyone who may see the session (the city,
    the province's analyst, the school…): a 学籍号 in them — a sheet of a pupil not sitting the session
    (who may be another school's or county's), an id read with a wrong check digit, the same pupil
    twice, even inside the rule's text — is masked as in every list (it was shown whole, unaudited);
    a duplicate scan's content hash is no pupil's and stays."""
    from junheng_web.omr.models import Upload

    a0, b0 = world.pupils["A"][0].student_id, world.pupils["B"][0].student_id
    wrong = a0[:-1] + ("0" if a0[-1] != "0" else "1")
    Upload.objects.create(session=world.sessions["A"], name="room.pdf", sha256="d" * 64, path="x", issues=[
        {"file": "room.pdf:1", "column": None, "value": b0, "rule_zh": "答题卡 Q1 上的学籍号不是本场次的学生，未写入作答",
         "rule_en": "the 学籍号 on sheet Q1 is not a pupil of this session"},
        {"file": "room.pdf:2", "column": "id", "value": wrong, "rule_zh": "学籍号校验位错误，请核对涂卡",
         "rule_en": "student id wrong check digit: check the marks"},
        {"file": "room.pdf:3", "column": "id", "value": a0, "rule_zh": f"同一学生（{a0}）的答题卡出现两次：room.pdf:1 与 room.pdf:3，请核对",
         "rule_en": f"the same pupil's sheet ({a0}) appears twice"},
        {"file": "room.pdf:4", "column": None, "value": "0123456789abcdef", "rule_zh": "重复扫描", "rule_en": "duplicate scan"}])
    for who in ("frank", "anna", "bob"):
        client.force_login(world.users[who])
        page = client.get(reverse("omr_session", args=[world.sessions["A"].pk])).content.decode()
        assert "room.pdf:3" in page and "0123456789abcdef" in page, who
        for pid in (a0, b0, wrong):
            assert pid not in page and pid[-2:] in page, (who, pid)


def test_marking_a_batch_final_asks_first(world, client):
    """定稿 cannot be taken back (no page un-marks a batch): its button asks for a confirmation, as the
    platform's other irreversible buttons do."""
    from junheng_web.omr.models import Upload

    up = Upload.objects.create(session=world.sessions["A"], name="room.pdf", sha256="e" * 64, path="x")
    client.force_login(world.users["bob"])
    page = client.get(reverse("omr_session", args=[world.sessions["A"].pk])).content.decode()
    form = page.split(f'action="{reverse("omr_final", args=[up.pk])}"')[1].split("</form>")[0]
    assert "confirm(" in form and "room.pdf" in form


def test_an_entry_opened_meanwhile_keeps_the_batch_from_being_marked_final(world, client):
    """定稿 while a re-read of the batch stores its entries: the view's check found none open, the
    reading opened one, the write marked the batch final anyway (the check was not repeated in the
    write).  The write now checks again under the batch's row lock and refuses, in Chinese and English."""
    from django.db import connection

    from junheng_web.omr.models import Review, Sheet, Upload

    session = world.sessions["A"]
    up = Upload.objects.create(session=session, name="room.pdf", sha256="f" * 64, path="x")
    sheet = Sheet.objects.create(upload=up, session=session, cycle=world.cycle, subject=session.subject,
                                 name="room.pdf:1", sha256=f"{9:064x}", status="failed", person_id="")
    opened = []

    def reread_meanwhile(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if not opened and "COUNT(" in sql.upper() and "omr_review" in sql:  # right after the first count
            opened.append(Review.objects.create(sheet=sheet, session=session, kind="sheet", problem="定位点无法识别"))
        return result

    client.force_login(world.users["bob"])
    with connection.execute_wrapper(reread_meanwhile):
        r = client.post(reverse("omr_final", args=[up.pk]), follow=True)
    page = r.content.decode()
    assert opened and r.status_code == 200
    assert "1 条待人工核对" in page and "1 entries still await review" in page
    assert Upload.objects.get(pk=up.pk).final_at is None


def test_on_postgres_a_reading_storing_entries_keeps_the_batch_from_being_marked_final(transactional_db, world,
                                                                                       monkeypatch):
    """Two connections: a re-read of the batch (``read_upload``) has stored an open entry and not
    committed when 定稿 is sent; the write waits for the batch's row lock the reading holds, then
    sees the entry and refuses — it marked the batch final with the entry open."""
    from types import SimpleNamespace

    import polars as pl

    from junheng.exceptions import ParameterError
    from junheng_web.omr import services
    from junheng_web.omr.models import Review, Sheet, Upload
    from tests.web.omr.test_one_counted import _in_thread

    if connection.vendor != "postgresql":
        pytest.skip("two writers at once: PostgreSQL (SQLite serialises writers)")
    session = world.sessions["A"]
    up = Upload.objects.create(session=session, name="room.pdf", sha256="9" * 64, path="x")
    monkeypatch.setattr(services, "session_layouts", lambda _session: [])  # no pages to read: no layouts asked
    monkeypatch.setattr(services, "scan_pages", lambda *a, **k: [])
    monkeypatch.setattr(services, "read_batch", lambda *a, **k: SimpleNamespace(
        sheets=pl.DataFrame(schema={"person_id": pl.Utf8}), issues=[]))

    def storing(upload, pages):  # what the reading stores: a page whose anchors failed, its entry open
        sheet = Sheet.objects.create(upload=upload, session=session, cycle=world.cycle, subject=session.subject,
                                     name="room.pdf:1", sha256=f"{5:064x}", status="failed", person_id="")
        Review.objects.create(sheet=sheet, session=session, kind="sheet", problem="定位点无法识别")
        ready.set()
        time.sleep(1.5)
        return set()

    monkeypatch.setattr(services, "_clear_earlier_run", storing)
    ready = threading.Event()
    t, _ready, errors = _in_thread(lambda _r: services.read_upload(Upload.objects.get(pk=up.pk)))
    assert ready.wait(10), errors
    try:
        with pytest.raises(ParameterError, match="1 entries still await review"):
            services.mark_final(Upload.objects.get(pk=up.pk), world.users["bob"])
    finally:
        t.join()
    assert not errors and Upload.objects.get(pk=up.pk).final_at is None
