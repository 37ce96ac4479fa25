"""The OMR service of the platform: store an uploaded scan file, read it (the ``omr`` job) with the
core reader, keep per sheet its answers, bubbles and annotated page, queue what a person must look
at, record a reviewer's decision, mark a batch final.  The reading itself is
``junheng.materials.read_batch`` (docs/methods/omr.md); nothing is measured here."""

from __future__ import annotations

import hashlib
import tempfile
import uuid
from pathlib import Path

import numpy as np
import polars as pl
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Max, Q
from django.utils import timezone

from junheng.assessment import channel_conflicts
from junheng.exceptions import InputError, Issue, ParameterError
from junheng.materials import (
    PX_PER_MM,
    OmrBatch,
    SheetLayout,
    layout_for_booklet,
    picture_problem,
    read_batch,
    scan_pages,
)
from junheng.registry import student_id_problem
from junheng_web.assessment.models import Booklet
from junheng_web.delivery.models import Answer, Attempt
from junheng_web.delivery.services import booklet_items, open_lease
from junheng_web.omr.models import PupilCorrection, Review, Sheet, Upload
from junheng_web.supervision.models import CHANNEL_KIND, Flag
from junheng_web.supervision.services import review_flag, session_pupils, store_channel_flag
from junheng_web.testsites.models import TestSession

MAX_BYTES = 40 * 1024 * 1024  # one uploaded file
MAX_PAGES = 300  # pages of one upload
DPI = 150  # PDF pages are rendered at this resolution
SUFFIXES = (".pdf", ".png", ".jpg", ".jpeg", ".tif", ".tiff")
FAILED_WIDTH = 1000  # a sheet that could not be read is kept as a scaled copy this wide (bounded storage)
ANSWER_NS = uuid.UUID("6f6d7200-0000-4000-8000-6a756e68656e")  # uuid5 namespace of the answers read from sheets


def _media(rel: str | Path) -> Path:
    return Path(settings.MEDIA_ROOT) / rel


def session_layouts(session: TestSession) -> list[SheetLayout]:
    """The answer-sheet layout of every booklet of the session's cycle and subject (each sheet's
    QR code picks one), built by the core's ``layout_for_booklet`` from the booklets' items."""
    rows, bank = [], {}
    booklets = Booklet.objects.filter(cycle=session.site.cycle, subject=session.subject).order_by("code")
    for b in booklets:
        for pos, _, it in booklet_items(b):
            rows.append({"booklet": b.code, "item_id": it.item_id, "position": pos})
            bank[it.item_id] = {"item_id": it.item_id, "format": it.format, "max_score": it.max_score,
                                "n_options": len(it.options) if it.options else None, "subject": it.subject}
    if not rows:
        raise ParameterError("本场次的学科没有题本 / the session's subject has no booklets")
    items = pl.DataFrame(rows)
    bank_df = pl.DataFrame(list(bank.values()), schema={"item_id": pl.String, "format": pl.String,
                                                        "max_score": pl.Int64, "n_options": pl.Int64,
                                                        "subject": pl.String})
    return [layout_for_booklet(items, bank_df, code) for code in items["booklet"].unique(maintain_order=True)]


def store_upload(session: TestSession, name: str, chunks, *, user=None) -> tuple[Upload, bool]:
    """Keep an uploaded file (bounded by :data:`MAX_BYTES`) under ``MEDIA_ROOT/omr/<session>/``;
    the same content again returns the earlier upload (``created`` False)."""
    if not name.lower().endswith(SUFFIXES):
        raise InputError(Issue(f"只接受 {' '.join(SUFFIXES)} 文件", f"only {' '.join(SUFFIXES)} files are accepted",
                               file=name))
    folder = _media(Path("omr") / str(session.pk))
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f"incoming-{uuid.uuid4().hex}"
    digest, size = hashlib.sha256(), 0
    with tmp.open("wb") as out:
        for chunk in chunks:
            size += len(chunk)
            if size > MAX_BYTES:
                out.close()
                tmp.unlink(missing_ok=True)
                raise InputError(Issue(f"文件超过 {MAX_BYTES // 2**20} MB，请分批上传",
                                       f"the file is larger than {MAX_BYTES // 2**20} MB: upload in parts", file=name))
            digest.update(chunk)
            out.write(chunk)
    sha = digest.hexdigest()
    existing = Upload.objects.filter(session=session, sha256=sha).first()
    if existing is not None:
        tmp.unlink(missing_ok=True)
        return existing, False
    rel = Path("omr") / str(session.pk) / f"{sha[:16]}{Path(name).suffix.lower()}"
    tmp.replace(_media(rel))
    return Upload.objects.create(session=session, name=name[:200], sha256=sha, size=size, path=str(rel),
                                 uploaded_by=user), True


def _file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _item_box(bub: pl.DataFrame) -> list[int]:
    """The annotated page's pixels around one item's row of bubbles (with its number on the left)."""
    x0, x1 = float(bub["x"].min()) - 15, float(bub["x"].max()) + 5
    y0, y1 = float(bub["y"].min()) - 5, float(bub["y"].max()) + 5
    return [round(v * PX_PER_MM) for v in (x0, y0, x1, y1)]


def _save_failed(path: Path, rel: Path) -> str:
    """A scaled copy of a page the reader could not read, for the reviewer — none for a picture the
    reader refused to decode (an unknown format, too many pixels)."""
    import cv2

    data = path.read_bytes()
    if picture_problem(data) is not None:
        return ""
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
    if img is None:
        return ""
    if img.shape[1] > FAILED_WIDTH:
        img = cv2.resize(img, (FAILED_WIDTH, round(img.shape[0] * FAILED_WIDTH / img.shape[1])),
                         interpolation=cv2.INTER_AREA)
    cv2.imwrite(str(_media(rel)), img, [cv2.IMWRITE_JPEG_QUALITY, 75])
    return str(rel)


NOT_SITTING = ("不是本场次的学生", "not a pupil of this session")
KEPT = (Sheet.Status.READ, Sheet.Status.HELD)  # sheets whose page was read (a rescan of one is a duplicate)


def counted_sheets(cycle, subject: str, pid: str | list[str]):
    """The read (counted) sheets naming ``pid`` (or any of a list of 学籍号) in ``cycle``'s
    ``subject`` — any session, any batch: one pupil sits a subject once, so two of them are a rescan
    or a wrong id, never two sittings (the sheet's own cycle and subject columns: the index of
    ``omr_one_counted_sheet``, no join through the session)."""
    who = {"person_id__in": pid} if isinstance(pid, list) else {"person_id": pid}
    return Sheet.objects.filter(cycle=cycle, subject=subject, status=Sheet.Status.READ, **who)


def sitting_ids(session: TestSession) -> set[str]:
    """学籍号 of the pupils who sit ``session`` (``supervision.services.session_pupils``, the rule of
    the seating plans and the proctor's view): the only pupils a sheet of the session may write for."""
    return set(session_pupils(session).values_list("pupil__student_id", flat=True))


def read_upload(upload: Upload, progress=None) -> dict:
    """Read an upload's pages (the ``omr`` job): pages whose content the session already has are
    duplicates (not read again); the rest go through ``read_batch`` with every booklet's layout.
    A sheet whose pupil id is in doubt (:func:`_id_doubt`: unreadable, ambiguous, not a pupil of the
    session — :data:`NOT_SITTING` —, or the id of a sheet already counted in the cycle's subject) is
    ``held``: nothing written, a ``pupil`` entry in the review queue (``omr.pupil_ids``).  Running
    it again replaces what the previous run stored for this upload."""
    session = upload.session
    sitting = sitting_ids(session)
    layouts = session_layouts(session)
    booklets = {b.code: b for b in Booklet.objects.filter(cycle=session.site.cycle, subject=session.subject)}
    out_rel = Path("omr") / str(session.pk) / str(upload.pk)
    _media(out_rel).mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        pages = scan_pages([(upload.name, _media(upload.path))], Path(tmp), DPI, max_pages=MAX_PAGES)
        hashes = [(name, p, _file_hash(p)) for name, p in pages]
        # a page whose content was read anywhere in the cycle — another session, another batch — is a
        # duplicate (a sheet rescanned into the wrong session's upload is the same paper)
        known = dict(Sheet.objects.filter(cycle=session.site.cycle, status__in=KEPT,
                                          sha256__in=[h for _, _, h in hashes]).exclude(upload=upload)
                     .values_list("sha256", "pk"))
        fresh = [(name, p) for name, p, h in hashes if h not in known]
        batch = read_batch(fresh, layouts, annotate_dir=_media(out_rel), progress=progress)
        pupils = [p for p in batch.sheets["person_id"].to_list() if p and p in sitting]
        # pupils who answered in the browser (before this upload's earlier sheets go: their answers are paper)
        online = set(browser_answers(session.site.cycle, session.subject, pupils)["person_id"]) if pupils else set()
        with transaction.atomic():
            # the batch's row lock: marking it final (mark_final) waits until these entries are stored
            list(Upload.objects.select_for_update().filter(pk=upload.pk).values_list("pk", flat=True))
            kept = _clear_earlier_run(upload, {h for _, _, h in hashes})
            counted = _counted_before(upload, pupils)
            issues = [i.as_dict() for i in batch.issues]
            for name, _p, h in hashes:
                if h in kept:
                    continue
                if h in known:
                    Sheet.objects.create(upload=upload, session=session, name=name, sha256=h,
                                         status=Sheet.Status.DUPLICATE, same_as_id=known[h])
                    issues.append(Issue("重复扫描：本轮测试已读过相同内容的答题卡，未重复读取",
                                        "duplicate scan: the cycle already has a sheet with the same content; not read twice",
                                        file=name, value=h[:16], severity="warning").as_dict())
            files = dict(fresh)
            formats = {it.item_id: it.format for lay in layouts for it in lay.items}
            for row in batch.sheets.iter_rows(named=True):
                if row["sheet_hash"] in kept and row["status"] != Sheet.Status.DUPLICATE:
                    continue  # the page as its reviewers left it (read the same: same content)
                if row["status"] == Sheet.Status.READ and row["person_id"] and row["person_id"] not in sitting:
                    issue = _not_sitting(row)
                    issues.append(issue.as_dict())
                    batch.issues.append(issue)
                _store_sheet(upload, row, batch, booklets, files, out_rel, formats, online, sitting, counted)
            upload.pages, upload.issues = len(pages), issues
            upload.save(update_fields=["pages", "issues"])
            held = check_channels(session.site.cycle, session.subject, pupils)
    return {"pages": len(pages), "kept": len(kept), **upload_counts(upload), "two_channels": held}


def upload_counts(upload: Upload) -> dict[str, int]:
    """An upload's sheets by status (``read``, ``held``, ``duplicates``, ``failed``) and its review
    entries (open or decided), in one query: the sheets joined to their entries, each sheet counted
    once by status (``distinct``: a sheet with three entries is one row a status), each entry once."""
    def sheets(status: str) -> Count:
        return Count("pk", filter=Q(status=status), distinct=True)

    return upload.sheets.aggregate(read=sheets(Sheet.Status.READ), held=sheets(Sheet.Status.HELD),
                                   duplicates=sheets(Sheet.Status.DUPLICATE), failed=sheets(Sheet.Status.FAILED),
                                   reviews=Count("reviews"))


def _decided(upload: Upload, pages: set[str]) -> tuple[set[int], set[str]]:
    """The upload's sheets a person has decided anything on — an entry of the queue decided, its
    pupil corrected (or a correction undone): their pks —, and the hashes among ``pages`` of sheets
    whose two-channel flag was chosen: three queries for the upload, not three a sheet."""
    pks = set(PupilCorrection.objects.filter(sheet__upload=upload).values_list("sheet_id", flat=True))
    pks |= set(Review.objects.filter(sheet__upload=upload).exclude(status=Review.Status.OPEN)
               .values_list("sheet_id", flat=True))
    chosen = (Flag.objects.filter(kind=CHANNEL_KIND, session__site__cycle=upload.session.site.cycle,
                                  evidence__sheet__in=sorted(pages)).exclude(status=Flag.Status.OPEN)
              .values_list("evidence", flat=True)) if pages else []
    return pks, {e["sheet"] for e in chosen}


def _clear_earlier_run(upload: Upload, pages: set[str]) -> set[str]:
    """Before an upload's re-read pages (content hashes ``pages``) are stored (a job retry or
    re-run): an earlier run's sheet that a person has decided something on (:func:`_decided`) and
    whose page is read again stays as it is — status, pupil, answers written, entries and
    corrections: the same content is the same page —, and its hash is returned; every other sheet
    first removes what it wrote (:func:`unwrite_sheet`) and goes, to be stored afresh (a decided
    sheet whose page is not in the re-read: its decisions go with it, the new page is queued anew)."""
    kept: set[str] = set()
    decided, chosen = _decided(upload, pages)
    for sheet in upload.sheets.select_for_update().order_by("pk"):
        if (sheet.sha256 in pages and sheet.status != Sheet.Status.DUPLICATE and sheet.sha256 not in kept
                and (sheet.pk in decided or sheet.sha256 in chosen)):
            kept.add(sheet.sha256)
            continue
        unwrite_sheet(sheet)
        sheet.delete()
    return kept


def unwrite_sheet(sheet: Sheet) -> None:
    """Remove what the sheet wrote into its pupil's attempt (the attempt too when nothing else is
    left in it): the sheet no longer speaks for that pupil.  The caller saves (or deletes) ``sheet``."""
    if sheet.attempt_id is not None:
        Answer.objects.filter(attempt_id=sheet.attempt_id, id__in=sheet.written).delete()
        if not Answer.objects.filter(attempt_id=sheet.attempt_id).exists():
            Attempt.objects.filter(pk=sheet.attempt_id).delete()
    sheet.attempt, sheet.written = None, []


def _not_sitting(row: dict) -> Issue:
    """The issue of a read sheet (``file:page``, its QR code) whose 学籍号 is not one of the session's pupils."""
    zh, en = NOT_SITTING
    qr = row["qr"] or f"题本 {row['booklet'] or '?'}"
    return Issue(f"答题卡 {qr} 上的学籍号{zh}，未写入作答：请核对学籍号或扫描所属的场次",
                 f"the 学籍号 on sheet {qr} is {en}; nothing written: check the id or the session of the scan",
                 file=row["sheet"], value=row["person_id"])


def _store_sheet(upload: Upload, row: dict, batch: OmrBatch, booklets: dict, files: dict, out_rel: Path,
                 formats: dict[str, str], online: set[str], sitting: set[str], counted: dict[str, Sheet]):
    session = upload.session
    status = row["status"]
    mine = [i for i in batch.issues if i.file == row["sheet"]]
    # a read sheet is stored held until it counts (_count): the database allows one counted sheet a pupil
    sheet = Sheet.objects.create(upload=upload, session=session, name=row["sheet"], sha256=row["sheet_hash"] or "",
                                 status=Sheet.Status.HELD if status == Sheet.Status.READ else status, booklet=row["booklet"] or "", person_id=row["person_id"] or "",
                                 rotation=row["rotation"] or 0, issues=[i.as_dict() for i in mine],
                                 bubbles=_bubble_columns(batch.bubbles, row["sheet_hash"]) if status == "read" else {})
    if status == Sheet.Status.DUPLICATE:
        return
    problems = [i.message() for i in mine if i.severity != "warning"]
    if status == Sheet.Status.FAILED:
        src = files.get(row["source"])
        if src is not None:
            sheet.image = _save_failed(Path(src), out_rel / f"failed-{sheet.pk}.jpg")
            sheet.save(update_fields=["image"])
        Review.objects.create(sheet=sheet, session=session, kind=Review.Kind.SHEET,
                              problem="; ".join(problems)[:300] or "无法读取 / not read")
        return
    sheet.image = str(Path(row["annotated"]).relative_to(settings.MEDIA_ROOT)) if row["annotated"] else ""
    booklet = booklets.get(row["booklet"])
    resp = batch.responses.filter(pl.col("sheet_hash") == row["sheet_hash"])
    sheet.answers = dict(zip(resp["item_id"].to_list(), resp["raw"].to_list(), strict=True))
    if booklet is None:
        sheet.save(update_fields=["image", "answers", "written"])
        Review.objects.create(sheet=sheet, session=session, kind=Review.Kind.SHEET,
                              problem="; ".join(problems)[:300] or f"没有题本 {row['booklet']} / no booklet {row['booklet']}")
        return
    bub = batch.bubbles.filter(pl.col("sheet_hash") == row["sheet_hash"])
    doubt = _id_doubt(sheet, bub, sitting, problems, counted) or _count(sheet, booklet,
                                                                         write=row["person_id"] not in online)
    if not doubt:
        counted.setdefault(sheet.person_id, sheet)  # before the upload's later sheets
    else:
        # kept with its answers and item reviews, written for nobody until a reviewer names the pupil
        Review.objects.create(sheet=sheet, session=session, kind=Review.Kind.PUPIL, problem=doubt[:300])
    sheet.save(update_fields=["status", "image", "attempt", "answers", "written"])
    bub = bub.filter(pl.col("part") == "item")
    for r in resp.filter(pl.col("review")).iter_rows(named=True):
        b = bub.filter(pl.col("key") == r["item_id"])
        Review.objects.create(
            sheet=sheet, session=session, kind=Review.Kind.ITEM, item_id=r["item_id"],
            choices="".join(b["value"].to_list()), multiple=formats.get(r["item_id"]) == "multiple_choice",
            read=r["raw"], confidence=float(r["confidence"]), box=_item_box(b),
            marks=[{"value": v, "darkness": round(float(d), 3), "cover": round(float(c), 3),
                    "confidence": round(float(q), 3), "state": s}
                   for v, d, c, q, s in b.select("value", "darkness", "cover", "confidence", "state").iter_rows()])


ALREADY_COUNTED = ("该生在本学科已有计分的答题卡", "the pupil already has a counted sheet in this subject")


def _count(sheet: Sheet, booklet: Booklet, *, write: bool) -> str:
    """Make the (held) sheet count for its pupil and, when ``write`` (no answer of the pupil from
    the browser: else ``check_channels`` holds it as a second channel — never merged into the
    browser's attempt), write its answers; "" — or, when the database refuses a second counted
    sheet for the pupil (one counted since :func:`_id_doubt` looked: a reviewer's correction, another
    reading), the sheet stays held with nothing written and the reason is returned."""
    try:
        with transaction.atomic():
            sheet.status = Sheet.Status.READ
            sheet.save(update_fields=["status"])
            if write:
                write_sheet(sheet, booklet)
    except IntegrityError:
        sheet.status, sheet.attempt, sheet.written = Sheet.Status.HELD, None, []
        zh, en = ALREADY_COUNTED
        return f"{zh}（刚刚计入），本页未计入，请核对 / {en} (counted just now); this page not counted, check which counts"
    return ""


def _counted_before(upload: Upload, pids: list[str]) -> dict[str, Sheet]:
    """The first counted sheet (lowest pk) of each of ``pids`` in the upload's cycle and subject that
    an upload up to this one holds — one query for the upload (:func:`_id_doubt` asked one a sheet).
    Called when only the upload's kept sheets are left of its earlier run: those come before every
    sheet the run stores (theirs are the lower pks), and the sheets the run counts are added as it
    goes (``_store_sheet``), so the map is what the per-sheet query saw: sheets of earlier uploads,
    or of this one before the sheet — not a later upload's (this upload read again after a later one
    brought a rescan: that one is the rescan, not this)."""
    session = upload.session
    first: dict[str, Sheet] = {}
    if pids:
        for sheet in (counted_sheets(session.site.cycle, session.subject, sorted(set(pids)))
                      .filter(upload_id__lte=upload.pk).select_related("upload", "session__site").order_by("pk")):
            first.setdefault(sheet.person_id, sheet)
    return first


def _id_doubt(sheet: Sheet, bub: pl.DataFrame, sitting: set[str], problems: list[str],
              counted: dict[str, Sheet]) -> str:
    """Why the pupil id of a read sheet cannot be trusted ("" when it can): unreadable or ambiguous
    (a column with no or several marks, a doubtful bubble, a wrong check character), not a pupil of
    the session, or the id of a sheet already counted in the cycle's subject (a rescan into any
    session or batch, or a second sheet under the same id): ``counted`` (:func:`_counted_before`),
    the first counted sheet of each pupil before this one."""
    pid = sheet.person_id
    if not pid:
        return "学籍号无法识别 / the id cannot be read: " + "; ".join(problems) if problems else \
            "学籍号无法识别 / the id cannot be read"
    if pid not in sitting:
        zh, en = NOT_SITTING
        return f"学籍号 {pid} {zh} / the id {pid} is {en}"
    if bub.filter((pl.col("part") == "id") & (pl.col("review"))).height or student_id_problem(pid):
        return f"学籍号 {pid} 涂卡存疑，请核对 / the marks of the id {pid} are in doubt: check them"
    session = sheet.session
    earlier = counted.get(pid)
    if earlier is None:
        return ""
    # earlier: in any session of the cycle's subject (the paper rescanned into another room's batch).  Named
    # only when at the same site: whoever sees this sheet sees that one (the scope is the site's)
    if earlier.session.site_id != session.site_id:
        return (f"同一学生（{pid}）在本学科已有计分的答题卡（其他考点），本页未计入，请核对 / the same pupil ({pid}) "
                "already has a counted sheet in this subject elsewhere (another site); this page not counted, check "
                "which counts")
    where = "" if earlier.session_id == session.pk else f"，场次 {_session_text(earlier.session)}"
    where_en = "" if earlier.session_id == session.pk else f", session {_session_text(earlier.session)}"
    return (f"同一学生（{pid}）的答题卡已读过：{earlier.name}（上传 {earlier.upload.name}{where}），本页未计入，请核对 / "
            f"the same pupil's sheet ({pid}) was already read: {earlier.name} (upload {earlier.upload.name}{where_en}); "
            "this page not counted, check which counts")


def write_sheet(sheet: Sheet, booklet: Booklet) -> None:
    """The sheet's answers (with the reviewers' corrections) into its pupil's attempt in the sheet's
    session (created if none), one change per item keyed by the page's hash — writing again adds
    nothing.  The caller saves ``sheet``."""
    attempt, _ = Attempt.objects.get_or_create(session=sheet.session, student_id=sheet.person_id,
                                               defaults={"booklet": booklet, "submitted_at": timezone.now()})
    sheet.attempt = attempt
    keys = dict(booklet_item_pks(booklet))
    answers = [Answer(id=uuid.uuid5(ANSWER_NS, f"{sheet.sha256}:{item}"), attempt=attempt, item_id=keys[item],
                      raw=raw, seq=0, lease=0) for item, raw in sheet.answers.items() if item in keys]
    Answer.objects.bulk_create(answers, ignore_conflicts=True)
    sheet.written = sorted(set(sheet.written) | {str(a.id) for a in answers})


def _bubble_columns(bubbles: pl.DataFrame, digest: str) -> dict[str, list]:
    """One sheet's bubbles as columns (numbers to 3 decimals): a few kB per sheet."""
    b = bubbles.filter(pl.col("sheet_hash") == digest)
    cols = b.select("part", "key", "value", pl.col("darkness", "cover", "confidence").round(3), "state")
    return {c: cols[c].to_list() for c in cols.columns}


def booklet_item_pks(booklet: Booklet) -> list[tuple[str, int]]:
    return [(it.item_id, it.pk) for _, _, it in booklet_items(booklet)]


def decide(review: Review, user, answer: str | None, note: str = "") -> tuple[str, str]:
    """Record a reviewer's decision; returns ``(before, after)``.  An item: ``answer`` is the
    bubbles the reviewer sees marked ("" blank); when it differs from what the reader read, a
    later answer change is added to the pupil's attempt (the scoring reads the latest).  A sheet
    failure: settled with a note (rescan or enter by hand), nothing read.  An entry already decided
    is refused, checked again in the write under a row lock: two reviewers, or a form sent twice,
    deciding one entry at once would both write (two answer changes, the first decision overwritten)."""
    if review.status != Review.Status.OPEN:
        raise ParameterError("此条已核对 / this entry has already been decided")
    note = (note or "").strip()
    with transaction.atomic():
        if list(Review.objects.select_for_update().filter(pk=review.pk).values_list("status", flat=True)) != [
                Review.Status.OPEN]:
            raise ParameterError("此条已由他人核对，请刷新页面 / this entry has just been decided by someone else; "
                                 "reload the page")
        if review.kind == Review.Kind.SHEET:
            if not note:
                raise ParameterError("请填写处理说明 / a note is required")
            review.status, review.note = Review.Status.SETTLED, note[:300]
            before, after = "", ""
        else:
            answer = "".join(sorted(set((answer or "").strip().upper()), key=lambda ch: review.choices.find(ch)))
            bad = [ch for ch in answer if ch not in review.choices]
            if bad:
                raise ParameterError(f"选项不在本题的选项格中：{''.join(bad)} / not a bubble of this item: {''.join(bad)}")
            if len(answer) > 1 and not review.multiple:
                answer = "*"  # a double mark on a single-choice item stays a double mark (as the reader codes it)
            before, after = review.read, answer
            review.answer = answer
            review.status = Review.Status.CONFIRMED if answer == review.read else Review.Status.CORRECTED
            review.note = note[:300]
            if answer != review.read:
                _write_answer(review, answer)
        review.reviewer, review.reviewed_at = user, timezone.now()
        review.save()
    return before, after


def _write_answer(review: Review, answer: str) -> None:
    """The reviewer's answer: into what the sheet says and, when the sheet's answers are in the
    pupil's attempt, as a later change there (a held sheet waits for the channel choice)."""
    sheet = review.sheet
    sheet.answers[review.item_id] = answer
    attempt = sheet.attempt
    if attempt is None:  # held (two channels, or its pupil id in doubt): the answer waits on the sheet
        if sheet.status not in KEPT:
            raise ParameterError("此答题卡没有对应的学生作答 / the sheet has no pupil's attempt")
        sheet.save(update_fields=["answers"])
        return
    keys = dict(booklet_item_pks(attempt.booklet))
    if review.item_id not in keys:
        raise ParameterError(f"题目 {review.item_id} 不在该生的题本中 / item {review.item_id} is not in the pupil's booklet")
    item_pk = keys[review.item_id]
    last = Answer.objects.filter(attempt=attempt, item_id=item_pk).aggregate(lease=Max("lease"))["lease"] or 0
    seq = Answer.objects.filter(attempt=attempt, item_id=item_pk, lease=last).aggregate(seq=Max("seq"))["seq"] or 0
    row = Answer.objects.create(id=uuid.uuid4(), attempt=attempt, item_id=item_pk, raw=answer, seq=seq + 1, lease=last)
    sheet.written = [*sheet.written, str(row.id)]
    sheet.save(update_fields=["answers", "written"])


# ---------------------------------------------------------------- one pupil, two channels


def _paper_ids(cycle, subject: str, pupils: list[str]) -> set[str]:
    """The ids of the answer changes that sheets wrote into ``pupils``' attempts in ``cycle``'s
    ``subject``.  A sheet writes only into the attempt of the pupil it names (``_store_sheet``,
    ``_write_answer``, ``choose_channel``), so only the sheets naming these pupils, or holding one
    of their attempts, are read — not the cycle's (an upload of one room asks about its pupils)."""
    ids: set[str] = set()
    for written in (Sheet.objects.filter(cycle=cycle, subject=subject)
                    .filter(Q(person_id__in=pupils) | Q(attempt__student_id__in=pupils))
                    .values_list("written", flat=True)):
        ids.update(written)
    return ids


def _uuid_text(value) -> str:
    return str(value if isinstance(value, uuid.UUID) else uuid.UUID(str(value)))


def browser_answers(cycle, subject: str, pupils) -> pl.DataFrame:
    """The answer changes of ``pupils`` (学籍号) in ``cycle``'s ``subject`` that no sheet wrote —
    the browser's: ``person_id, attempt, session, item_id, raw, lease, seq, at``."""
    pupils = list(pupils)
    paper = _paper_ids(cycle, subject, pupils)
    rows = [(sid, str(att), sess, item, raw, lease, seq, client or received)
            for pk, sid, att, sess, item, raw, lease, seq, client, received in
            Answer.objects.filter(attempt__session__site__cycle=cycle, attempt__session__subject=subject,
                                  attempt__student_id__in=pupils)
            .values_list("id", "attempt__student_id", "attempt_id", "attempt__session_id", "item__item_id", "raw",
                         "lease", "seq", "client_at", "received_at")
            if _uuid_text(pk) not in paper]
    return pl.DataFrame(rows, schema={"person_id": pl.String, "attempt": pl.String, "session": pl.Int64,
                                      "item_id": pl.String, "raw": pl.String, "lease": pl.Int64, "seq": pl.Int64,
                                      "at": pl.Datetime("us", "UTC")}, orient="row")


def _session_text(session: TestSession) -> str:
    return f"{session.site.name} {session.site.code} 考场 {session.room} {timezone.localtime(session.starts_at):%Y-%m-%d %H:%M}"


def check_channels(cycle, subject: str | None = None, pupils: list[str] | None = None) -> int:
    """Find the pupils of ``cycle`` (``subject``; default every subject with read sheets) with
    answers from the browser *and* a read paper sheet (``junheng.assessment.channel_conflicts``)
    and keep one open ``two_channels`` flag per pupil and sheet in the reviewers' queue, both
    sources in its detail.  While it is open the pupil's answers in the subject are held out of
    scoring (``supervision.services.held_pupils``).  ``pupils`` (学籍号): only theirs — an upload
    asks about the pupils on its sheets, not the cycle's.  Returns the number of open such flags."""
    sheets_all = (Sheet.objects.filter(cycle=cycle, status=Sheet.Status.READ).exclude(person_id="")
                  .defer("bubbles", "issues"))
    if pupils is not None:
        sheets_all = sheets_all.filter(person_id__in=list(pupils))
    subjects = [subject] if subject else sorted(set(sheets_all.values_list("subject", flat=True)))
    for subj in subjects:
        sheets = list(sheets_all.filter(subject=subj).select_related("upload", "session__site"))
        if not sheets:
            continue
        browser = browser_answers(cycle, subj, {s.person_id for s in sheets})
        latest = (browser.sort("lease", "seq").group_by("person_id", "attempt", "session", "item_id")
                  .agg(pl.col("raw").last(), pl.col("at").max()))
        per_attempt = latest.group_by("person_id", "attempt", "session").agg(
            (pl.col("raw").str.strip_chars() != "").sum().alias("answered"), pl.col("at").max().alias("last"))
        sessions = {s.pk: s for s in TestSession.objects.filter(pk__in=per_attempt["session"].unique().to_list())
                    .select_related("site")}
        sources = [{"person_id": r["person_id"], "subject": subj, "channel": "browser",
                    "source": _session_text(sessions[r["session"]]), "answered": r["answered"]}
                   for r in per_attempt.iter_rows(named=True)]
        answered = {s.pk: sum(1 for v in s.answers.values() if str(v).strip()) for s in sheets}
        by_pupil: dict[str, list[Sheet]] = {}
        for s in sheets:
            by_pupil.setdefault(s.person_id, []).append(s)
        sources += [{"person_id": s.person_id, "subject": subj, "channel": "paper",
                     "source": f"{s.upload.name} · {s.name} · 题本 {s.booklet}",
                     "answered": answered[s.pk]} for s in sheets]
        conflicts = channel_conflicts(pl.DataFrame(sources, schema={
            "person_id": pl.String, "subject": pl.String, "channel": pl.String, "source": pl.String,
            "answered": pl.Int64}))
        for c in conflicts.iter_rows(named=True):
            pid = c["person_id"]
            mine = per_attempt.filter(pl.col("person_id") == pid)
            web = "；".join(f"{_session_text(sessions[r['session']])}（{r['answered']} 题有作答，最后 "
                           f"{timezone.localtime(r['last']):%H:%M:%S}）" if r["last"] else
                           f"{_session_text(sessions[r['session']])}（{r['answered']} 题有作答）"
                           for r in mine.iter_rows(named=True))
            for s in by_pupil[pid]:
                paper = f"{s.upload.name} · {s.name} · 题本 {s.booklet}（{answered[s.pk]} 题有作答）"
                detail = (f"在线作答：{web}；答题卡：{paper}。审核员选定以哪一份为准之前，该生本学科的作答暂不计分 / "
                          f"browser: {web}; answer sheet: {paper}. The pupil's answers in this subject are held out "
                          "of scoring until a reviewer chooses which counts")
                store_channel_flag(s.session, pid, detail, {
                    "sheet": s.sha256, "sheet_name": s.name, "upload": s.upload.name, "booklet": s.booklet,
                    "attempts": mine["attempt"].to_list(), "sources": c["sources"]})
    return Flag.objects.filter(session__site__cycle=cycle, kind=CHANNEL_KIND, status=Flag.Status.OPEN).count()


def choose_channel(flag: Flag, choice: str, user, note: str) -> None:
    """A reviewer's choice on a ``two_channels`` flag (``supervision.services.review_flag``
    records it) and its effect: the chosen channel's answers become the pupil's current answers
    in one attempt — written as the changes of a new page lease (``delivery.services.open_lease``),
    one per item of the chosen booklet, so every earlier change of either channel stays as history
    and none of the other channel's answers survives in a gap.  ``paper``: the sheet's answers
    (with the reviewers' corrections) go into the pupil's attempt in the subject (created in the
    sheet's session if there is none), under the sheet's booklet; ``browser``: the browser's latest
    answers are written again only if the sheet's had gone into the same attempt."""
    if flag.kind != CHANNEL_KIND:
        raise ParameterError("不是“两种作答来源”的标记 / not a two-channel flag")
    cycle, subject, pid = flag.session.site.cycle, flag.session.subject, flag.person_id
    with transaction.atomic():
        # the flag as it is now, locked (``flag`` may be a copy read before another reviewer chose:
        # review_flag then refuses — a choice is made once, not overwritten)
        flag.status = Flag.objects.select_for_update().values_list("status", flat=True).get(pk=flag.pk)
        review_flag(flag, "confirm", user, note, choice=choice)
        sheet = (Sheet.objects.filter(cycle=cycle, sha256=flag.evidence.get("sheet", ""),
                                      status=Sheet.Status.READ, person_id=pid).select_related("session").first())
        if sheet is None:
            raise ParameterError("找不到该答题卡（已删除或重新读取？）/ the sheet is gone (deleted or read again?)")
        attempts = Attempt.objects.filter(session__site__cycle=cycle, session__subject=subject, student_id=pid)
        if choice == "paper":
            if pid not in sitting_ids(sheet.session):  # a sheet held before this rule: never written
                zh, en = NOT_SITTING
                raise ParameterError(f"答题卡 {sheet.name} 上的学籍号 {pid} {zh}，不能以答题卡为准 / "
                                     f"the 学籍号 {pid} on sheet {sheet.name} is {en}: the sheet cannot count")
            booklet = Booklet.objects.filter(cycle=cycle, subject=subject, code=sheet.booklet).first()
            if booklet is None:
                raise ParameterError(f"没有题本 {sheet.booklet} / no booklet {sheet.booklet}")
            attempt = (sheet.attempt or attempts.filter(session=sheet.session).first()
                       or attempts.order_by("started_at").first())
            if attempt is None:
                attempt = Attempt.objects.create(session=sheet.session, student_id=pid, booklet=booklet,
                                                 submitted_at=timezone.now())
            answers = dict(sheet.answers)
        else:
            browser = browser_answers(cycle, subject, [pid])
            if browser.height == 0:
                raise ParameterError("该生没有在线作答 / the pupil has no answers from the browser")
            main = browser.group_by("attempt").len().sort("len", descending=True)["attempt"][0]
            attempt = attempts.get(pk=uuid.UUID(main))
            if not Answer.objects.filter(attempt=attempt, id__in=[uuid.UUID(i) for i in sheet.written]).exists():
                return  # the sheet never went into the browser's attempt: its answers are already the browser's
            booklet = attempt.booklet
            answers = dict(browser.filter(pl.col("attempt") == main).sort("lease", "seq")
                           .group_by("item_id").agg(pl.col("raw").last()).iter_rows())
        lease = open_lease(attempt)
        if attempt.booklet_id != booklet.pk:
            attempt.booklet = booklet
            attempt.save(update_fields=["booklet"])
        rows = [Answer(id=uuid.uuid5(ANSWER_NS, f"channel:{flag.pk}:{it.item_id}"), attempt=attempt, item_id=it.pk,
                       raw=answers.get(it.item_id, ""), seq=k, lease=lease)
                for k, (_, _, it) in enumerate(booklet_items(booklet), start=1)]
        Answer.objects.bulk_create(rows, ignore_conflicts=True)
        if choice == "paper":
            sheet.attempt = attempt
            sheet.written = sorted(set(sheet.written) | {str(r.id) for r in rows})
            sheet.save(update_fields=["attempt", "written"])


def _refuse_final_again(upload: Upload) -> None:
    by = upload.final_by.get_username() if upload.final_by else "—"
    at = timezone.localtime(upload.final_at).strftime("%Y-%m-%d %H:%M")
    raise ParameterError(f"该批次已于 {at} 由 {by} 定稿 / the batch was marked final at {at} by {by}")


def _check_final(upload: Upload) -> None:
    """Refuse marking ``upload`` final when it is final already, while any of its entries is open
    in the review queue, or while its reading has not finished."""
    if upload.final_at is not None:
        _refuse_final_again(upload)
    if open_ := Review.objects.filter(sheet__upload=upload, status=Review.Status.OPEN).count():
        raise ParameterError(f"还有 {open_} 条待人工核对，不能定稿 / {open_} entries still await review: "
                             "the batch cannot be marked final")
    if upload.job_id and upload.job.status != "done":
        raise ParameterError("读卡尚未完成 / the reading has not finished")


def mark_final(upload: Upload, user) -> None:
    """Mark a batch final — refused while any of its entries is still open in the review queue or
    its reading is not finished, and for a batch already final (the form sent again would overwrite
    who marked it and when).  The write checks all of it again under the batch's row lock, which a
    reading holds while it stores its sheets and entries (:func:`read_upload`): entries a re-read
    opened meanwhile refuse it, a batch marked final meanwhile is refused as above, a batch deleted
    meanwhile with a message saying so (it was a 500)."""
    _check_final(upload)
    with transaction.atomic():
        fresh = Upload.objects.select_for_update().filter(pk=upload.pk).first()
        if fresh is None:
            raise ParameterError(f"批次 {upload.name} 已被删除，未定稿 / the batch {upload.name} was deleted "
                                 "meanwhile: nothing was marked final")
        _check_final(fresh)
        fresh.final_at, fresh.final_by = timezone.now(), user
        fresh.save(update_fields=["final_at", "final_by"])
    upload.final_at, upload.final_by = fresh.final_at, user


def crop(review: Review) -> bytes | None:
    """The JPEG of the sheet around the entry (the whole kept page for a sheet failure)."""
    return crop_image(review.sheet.image, review.box)


def crop_image(image: str, box: list[int]) -> bytes | None:
    """The JPEG of the kept page ``image`` (MEDIA_ROOT-relative) cut to ``box`` and enlarged twice
    (the whole page without a box); None when there is no picture."""
    import cv2

    if not image:
        return None
    img = cv2.imread(str(_media(image)))
    if img is None:
        return None
    if box:
        x0, y0, x1, y1 = box
        img = img[max(0, y0):max(0, y1), max(0, x0):max(0, x1)]
        img = cv2.resize(img, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)
    ok, buf = cv2.imencode(".jpg", np.ascontiguousarray(img), [cv2.IMWRITE_JPEG_QUALITY, 85])
    return buf.tobytes() if ok else None
