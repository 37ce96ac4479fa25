"""The OMR manual-review queue on the platform, end to end with a real generated scan: the printed
sheet of booklet B1 (rendered from its PDF), a pupil's pencil marks drawn on it, a faint stray mark
on item I4 (an erasure-like smudge the reader must not decide alone), a lighting gradient; upload
→ the ``omr`` job → the queue shows I4 → the reviewer corrects it → the answer the scoring reads
(``delivery.services.responses_frame``) changes → an audit row with before and after.  Plus scope
(another county gets 404), the same file twice (reported, not read twice) and the final mark
blocked by an open queue."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import cv2
import numpy as np
import pytest
from django.urls import reverse

from tests.web.omr.conftest import filled

pytestmark = [pytest.mark.django_db, pytest.mark.integration,
              pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils (pdftoppm) not installed")]

DPI = 150


def _scan(session, tmp_path: Path, seed: int = 3, pid: str | None = None,
          extra: tuple[tuple[str, str], ...] = ()) -> tuple[Path, str, dict, str]:
    """A degraded scan of B1 filled by ``pid`` (default: the first pupil who sits ``session``), plus a
    pencil mark on each ``extra`` id bubble ``(column, character)``; returns (file, 学籍号, answers, the
    faint bubble)."""
    from junheng.materials import omr_corpus as oc
    from junheng_web.omr.services import session_layouts
    from junheng_web.sampling.services import sitting_pupils

    (lay,) = session_layouts(session)
    rng = np.random.default_rng(seed)
    pid = pid or sorted(sitting_pupils(session.site.cycle, session.site_id, session.subject)
                        .values_list("pupil__student_id", flat=True))[0]
    img, pid, answers, _ = filled(oc, lay, rng, pid, half_share=0, erase_share=0, blank_share=0)
    b = lay.bubbles()
    faint = next(v for v in "AB" if v != answers["I4"])
    r = b.filter((b["key"] == "I4") & (b["value"] == faint)).row(0, named=True)
    mm = DPI / 25.4
    cv2.circle(img, (round(r["x"] * mm), round(r["y"] * mm)), round(1.0 * mm), 150, -1)
    for column, ch in extra:
        r = b.filter((b["part"] == "id") & (b["key"] == column) & (b["value"] == ch)).row(0, named=True)
        cv2.circle(img, (round(r["x"] * mm), round(r["y"] * mm)), round(1.7 * mm), 40, -1)
    img = oc.degrade(img, "gradient", rng)
    path = tmp_path / "room1.png"
    cv2.imwrite(str(path), img)
    return path, pid, answers, faint


@pytest.fixture
def scanned(world, tmp_path, b1):
    path, pid, answers, faint = _scan(world.sessions["A"], tmp_path)
    return world, path, pid, answers, faint


def _upload(client, session, path: Path):
    with path.open("rb") as f:
        return client.post(reverse("omr_upload", args=[session.pk]), {"file": f})


def _raw(world, pid: str, item: str) -> str:
    import polars as pl

    from junheng_web.delivery.services import responses_frame

    frame = responses_frame(world.cycle, subject="语文")
    return frame.filter((pl.col("person_id") == pid) & (pl.col("item_id") == item))["raw"].item()


def test_upload_read_review_correct_and_audit(client, scanned):
    from junheng_web.accounts.models import AuditLog
    from junheng_web.omr.models import Review, Sheet, Upload

    world, path, pid, answers, faint = scanned
    session = world.sessions["A"]
    client.force_login(world.users["bob"])
    resp = _upload(client, session, path)
    assert resp.status_code == 302 and "/jobs/" in resp["Location"]
    sheet = Sheet.objects.get(session=session)
    assert (sheet.status, sheet.person_id, sheet.booklet) == ("read", pid, "B1")
    assert (Path(settings_media(client)) / sheet.image).is_file()
    # every item's answer is in, as the scoring reads it
    for item, ans in answers.items():
        if item != "I3":  # constructed: scored by the scorers (raw is their code), not the sheet's digit
            assert _raw(world, pid, item) == ans
    # every bubble is kept with its confidence (19 id columns of the 学籍号 + the items' bubbles)
    assert len(sheet.bubbles["confidence"]) == 10 * 17 + 3 + 11 + 4 + 4 + 3 + 2
    i4 = [k for k, key in enumerate(sheet.bubbles["key"]) if key == "I4"]
    assert min(sheet.bubbles["confidence"][k] for k in i4) < 0.5
    (review,) = Review.objects.filter(session=session)
    assert (review.item_id, review.read, review.kind) == ("I4", answers["I4"], "item")
    assert review.confidence < 0.5
    faint_row = next(m for m in review.marks if m["value"] == faint)
    assert faint_row["state"] == "faint"

    client.force_login(world.users["rita"])
    queue = client.get(reverse("omr_queue")).content.decode()
    assert f'data-review="{review.pk}"' in queue and "I4" in queue
    img = client.get(reverse("omr_image", args=[review.pk]))
    assert img["Content-Type"] == "image/jpeg"
    crop = cv2.imdecode(np.frombuffer(img.content, np.uint8), cv2.IMREAD_COLOR)
    assert crop is not None and crop.shape[1] > crop.shape[0]  # one row of bubbles, wider than high

    # the batch cannot be final while the entry is open
    client.force_login(world.users["bob"])
    upload = Upload.objects.get()
    client.post(reverse("omr_final", args=[upload.pk]))
    upload.refresh_from_db()
    assert upload.final_at is None

    client.force_login(world.users["rita"])
    resp = client.post(reverse("omr_review", args=[review.pk]), {"answer": f"{answers['I4']}{faint}", "note": "两格"})
    review.refresh_from_db()
    assert review.status == "corrected" and review.answer == "*" and review.reviewer == world.users["rita"]
    assert _raw(world, pid, "I4") == "*"  # a double mark on a single-choice item: the scoring's code
    row = AuditLog.objects.get(action="omr.correct")
    assert row.username == "rita" and f"{answers['I4']} → *" in row.what and row.region_code == "410102"
    # a decided entry cannot be decided again
    client.post(reverse("omr_review", args=[review.pk]), {"answer": "A"})
    assert _raw(world, pid, "I4") == "*"

    client.force_login(world.users["bob"])
    client.post(reverse("omr_final", args=[upload.pk]))
    upload.refresh_from_db()
    assert upload.final_at is not None
    assert AuditLog.objects.filter(action="omr.final").count() == 1


def settings_media(client) -> str:
    from django.conf import settings

    return settings.MEDIA_ROOT


def test_another_county_gets_404_and_the_same_file_twice_is_read_once(client, scanned):
    from junheng_web.delivery.models import Answer
    from junheng_web.omr.models import Review, Sheet, Upload

    world, path, pid, answers, _ = scanned
    session = world.sessions["A"]
    client.force_login(world.users["bob"])
    _upload(client, session, path)
    n_answers = Answer.objects.count()
    copy = path.with_name("room1-again.png")
    copy.write_bytes(path.read_bytes())
    resp = _upload(client, session, copy)
    assert resp.status_code == 302 and resp["Location"].endswith(reverse("omr_session", args=[session.pk]))
    page = client.get(resp["Location"]).content.decode()
    assert "该文件已上传过" in page
    assert Upload.objects.count() == 1 and Sheet.objects.count() == 1 and Answer.objects.count() == n_answers

    review = Review.objects.get()
    client.force_login(world.users["charlie"])  # county B
    assert client.get(reverse("omr_review", args=[review.pk])).status_code == 404
    assert client.get(reverse("omr_image", args=[review.pk])).status_code == 404
    assert client.get(reverse("omr_session", args=[session.pk])).status_code == 404
    assert f'data-review="{review.pk}"' not in client.get(reverse("omr_queue")).content.decode()
    assert client.post(reverse("omr_review", args=[review.pk]), {"answer": "A"}).status_code == 404
    client.force_login(world.users["sam"])  # a scorer may never review
    assert client.get(reverse("omr_queue")).status_code == 403


def test_an_oversized_file_is_refused_before_it_is_kept(client, scanned, monkeypatch):
    from junheng_web.omr import services
    from junheng_web.omr.models import Upload

    world, path, *_ = scanned
    monkeypatch.setattr(services, "MAX_BYTES", path.stat().st_size - 1)
    client.force_login(world.users["bob"])
    resp = _upload(client, world.sessions["A"], path)
    assert "MB" in client.get(resp["Location"]).content.decode()
    assert Upload.objects.count() == 0
    assert not list((Path(settings_media(client)) / "omr").rglob("incoming-*"))


def test_a_sheet_without_corners_is_queued_not_guessed(client, scanned, tmp_path):
    from junheng_web.omr.models import Review, Sheet

    world, path, *_ = scanned
    img = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    img[: img.shape[0] // 6, :] = 255  # both top corner squares gone
    bad = tmp_path / "torn.png"
    cv2.imwrite(str(bad), img)
    client.force_login(world.users["bob"])
    _upload(client, world.sessions["A"], bad)
    sheet = Sheet.objects.get()
    assert sheet.status == "failed" and sheet.attempt is None
    review = Review.objects.get()
    assert review.kind == "sheet" and review.problem
    client.force_login(world.users["rita"])
    assert client.get(reverse("omr_image", args=[review.pk]))["Content-Type"] == "image/jpeg"
    client.post(reverse("omr_review", args=[review.pk]), {"note": ""})
    review.refresh_from_db()
    assert review.status == "open"  # a note is required
    client.post(reverse("omr_review", args=[review.pk]), {"note": "已重新扫描"})
    review.refresh_from_db()
    assert review.status == "settled"


def test_a_decompression_bomb_is_queued_as_a_failed_sheet_and_never_decoded(client, scanned, tmp_path, monkeypatch):
    """A few hundred bytes claiming 30000 × 30000 pixels: the page is reported (too large), kept
    for review without a picture, and neither the reader nor the stored copy decodes it."""
    import struct
    import zlib

    from junheng.materials import omr_read
    from junheng_web.omr.models import Review, Sheet

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 30000, 30000, 8, 0, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(b"\x00" * 1000)) + chunk(b"IEND", b""))
    monkeypatch.setattr(omr_read, "_decode", lambda content: pytest.fail("decoded a bomb"))
    monkeypatch.setattr(cv2, "imdecode", lambda *a, **k: pytest.fail("decoded a bomb"))
    world = scanned[0]
    client.force_login(world.users["bob"])
    resp = _upload(client, world.sessions["A"], bomb)
    assert resp.status_code == 302
    sheet = Sheet.objects.get()
    assert sheet.status == "failed" and sheet.image == ""
    review = Review.objects.get()
    assert review.kind == "sheet" and "too large" in review.problem


def test_the_documented_nginx_lets_a_whole_scan_file_through():
    """nginx's 20 MB default would answer 413 before the platform sees a 20–40 MB scan file: the
    deployment guide's upload location for OMR must allow MAX_BYTES."""
    import re

    from junheng_web.omr.services import MAX_BYTES

    text = (Path(__file__).parents[3] / "docs" / "deploy.md").read_text(encoding="utf-8")
    block = re.search(r"location ~ \^/omr/sessions/\[0-9\]\+/upload/\$ \{(.*?)\}", text, re.S)
    assert block, "docs/deploy.md has no nginx location for the OMR upload"
    size = re.search(r"client_max_body_size (\d+)m;", block.group(1))
    assert size and int(size.group(1)) * 2**20 >= MAX_BYTES


def _read_then_rescanned(client, scanned):
    """Session A's scan uploaded, then the same sheet scanned again (other bytes: noise) uploaded as
    ``room1-rescan.png``; ``(world, path, pid, the pupil's answers after the first upload)``."""
    from junheng_web.delivery.models import Answer

    world, path, pid, _answers, _ = scanned
    session = world.sessions["A"]
    client.force_login(world.users["bob"])
    _upload(client, session, path)
    n_answers = Answer.objects.filter(attempt__student_id=pid).count()
    img = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    rescan = np.clip(img.astype(float) + np.random.default_rng(9).normal(0, 3, img.shape), 0, 255).astype(np.uint8)
    cv2.imwrite(str(path.with_name("room1-rescan.png")), rescan)
    _upload(client, session, path.with_name("room1-rescan.png"))
    return world, path, pid, n_answers


def test_a_rescan_of_a_sheet_already_read_in_an_earlier_upload_is_reported_not_read_twice(client, scanned):
    """The same paper sheet scanned again (other bytes: a second pass through the scanner) and
    uploaded later for the same session: the reader sees one sheet per upload, so the batch's own
    check ("the same pupil's sheet appears twice") cannot see it; the platform must — the rescan is
    reported and queued for a person, its answers not added next to the first sheet's."""
    from junheng_web.delivery.models import Answer
    from junheng_web.omr.models import Review, Sheet

    world, path, pid, n_answers = _read_then_rescanned(client, scanned)
    second = Sheet.objects.get(upload__name="room1-rescan.png")
    assert second.person_id == pid  # read: the same pupil
    assert Answer.objects.filter(attempt__student_id=pid).count() == n_answers
    problems = " ".join(Review.objects.filter(sheet=second).values_list("problem", flat=True))
    assert "room1.png" in problems and pid in problems, problems


def test_reading_the_first_upload_again_after_a_rescan_keeps_its_sheet_counted(client, scanned):
    """An upload read again (``read_upload`` replaces what its previous run stored) after a later
    upload brought a rescan of one of its sheets: the later upload's sheet is the rescan, not the
    first upload's — the first sheet keeps its answers in the attempt and is not queued as a rescan
    of the sheet that was itself held as one."""
    from junheng_web.delivery.models import Answer
    from junheng_web.omr.models import Review, Sheet, Upload
    from junheng_web.omr.services import read_upload

    world, path, pid, n_answers = _read_then_rescanned(client, scanned)
    read_upload(Upload.objects.get(name="room1.png"))
    first = Sheet.objects.get(upload__name="room1.png")
    assert not Review.objects.filter(sheet=first, problem__contains="已读过").exists()
    assert Review.objects.filter(sheet__upload__name="room1-rescan.png", problem__contains="room1.png").exists()
    assert Answer.objects.filter(attempt__student_id=pid).count() == n_answers


def test_a_sheet_naming_a_pupil_who_does_not_sit_the_session_is_queued_not_written(client, scanned, tmp_path):
    """Session A (site A, 语文) sits county A's 语文 pupils.  A sheet uploaded for it that names
    county B's pupil B0 (session B's) or county A's pupil A1 (sampled for 数学) must not write that
    pupil's answers, nor hold their browser answers as a second channel: the sheet is queued for a
    person with the id read and the rule (a ``pupil`` entry: the reviewer may name the right pupil)."""
    from junheng_web.assessment.models import Booklet, Item
    from junheng_web.delivery.models import Answer, Attempt
    from junheng_web.omr.models import Review, Sheet, Upload
    from junheng_web.supervision.models import Flag

    world, _path, _pid, _answers, _ = scanned
    session = world.sessions["A"]
    other, maths = world.pupils["B"][0].student_id, world.pupils["A"][1].student_id
    # B0 answered in the browser in their own session: a sheet naming them in A would hold that
    browser = Attempt.objects.create(session=world.sessions["B"], student_id=other,
                                     booklet=Booklet.objects.get(code="B1"))
    Answer.objects.create(id=uuid.uuid4(), attempt=browser, item=Item.objects.get(item_id="I1"), raw="C", seq=1,
                          lease=1)
    client.force_login(world.users["bob"])
    for k, pid in enumerate((other, maths)):
        folder = tmp_path / f"stray{k}"
        folder.mkdir()
        path, read_pid, _, _ = _scan(session, folder, seed=40 + k, pid=pid)
        assert read_pid == pid
        _upload(client, session, path)
        sheet = Sheet.objects.get(upload__session=session, person_id=pid)
        assert sheet.attempt is None and sheet.status != "read"
        assert sheet.status == "held"  # read, kept with its answers, counted for nobody until corrected
        (review,) = Review.objects.filter(sheet=sheet, kind="pupil")
        assert review.status == "open"
        assert pid in review.problem and "not a pupil of this session" in review.problem
        upload = Upload.objects.get(pk=sheet.upload_id)
        (issue,) = [i for i in upload.issues if i.get("value") == pid]
        assert "本场次" in issue["rule_zh"] and "not a pupil of this session" in issue["rule_en"]
        assert issue["file"] == sheet.name
    assert not Attempt.objects.filter(session=session).exists()
    assert list(Answer.objects.filter(attempt__student_id=other).values_list("raw", flat=True)) == ["C"]
    assert not Answer.objects.filter(attempt__student_id=maths).exists()
    assert not Flag.objects.filter(kind="two_channels").exists()
