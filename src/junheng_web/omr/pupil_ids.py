"""Correcting the pupil of a scanned answer sheet (docs/guide/materials.md § 更正答题卡的学籍号).

A sheet whose pupil id is in doubt is ``held`` by the reading (``services._id_doubt``) with a
``pupil`` entry in the review queue.  The reviewer sees the crop of the sheet's id field, picks the
pupil from the session's roster (:func:`roster`: only pupils who sit the session and whom the
reviewer's region may see, ordered by how many id columns agree with the marks read), confirms,
and :func:`correct` applies it: the sheet's answers are written for that pupil (or held as a second
channel when the pupil answered in the browser), the earlier pupil's rows written from the sheet
are removed, the change is a :class:`~junheng_web.omr.models.PupilCorrection`.  A pupil never gets
a second counted sheet in the cycle's subject: the correction is refused, naming the other sheet.
:func:`undo` reverts a sheet's last change (back to held with a fresh queue entry, or back to the
earlier pupil)."""

from __future__ import annotations

from contextlib import contextmanager

import polars as pl
from django.db import IntegrityError, transaction
from django.utils import timezone

from junheng.exceptions import ParameterError
from junheng_web.accounts.scoping import restrict
from junheng_web.assessment.models import Booklet
from junheng_web.omr.models import PupilCorrection, Review, Sheet
from junheng_web.omr.services import (
    ALREADY_COUNTED,
    KEPT,
    NOT_SITTING,
    _item_box,
    browser_answers,
    check_channels,
    counted_sheets,
    session_layouts,
    unwrite_sheet,
    write_sheet,
)
from junheng_web.registry.admin import mask_name
from junheng_web.sampling.models import SampledPupil
from junheng_web.supervision.models import CHANNEL_KIND, Flag
from junheng_web.supervision.services import session_pupils
from junheng_web.supervision.templatetags.supervision import masked_id

ELSEWHERE = "其他地区的答题卡 / a sheet outside your region"  # a counted sheet the reviewer may not see, unnamed


def id_pattern(sheet: Sheet) -> str:
    """The id as the marks show it, one character per column: the marked bubble's character, ``?``
    for a column with none or several."""
    b = sheet.bubbles or {}
    if not b.get("part"):
        return ""
    cols = pl.DataFrame({k: b[k] for k in ("part", "key", "value", "state")}).filter(pl.col("part") == "id")
    per = (cols.with_columns(pl.col("key").cast(pl.Int32)).group_by("key")
           .agg((pl.col("state") == "mark").sum().alias("n"), pl.col("value").filter(pl.col("state") == "mark").first())
           .sort("key"))
    return "".join(v if n == 1 else "?" for n, v in per.select("n", "value").iter_rows())


def roster(sheet: Sheet, user) -> list[dict]:
    """The pupils the reviewer may give ``sheet`` to: who sit its session and whom ``user``'s region
    may see (``restrict``), each with the masked 学籍号 and name, how many id columns agree with the
    marks (best first), and the other sheet already counted for them in the cycle's subject."""
    session = sheet.session
    pattern = id_pattern(sheet)
    pupils = (restrict(session_pupils(session), user, "omr.review")
              .values_list("pk", "pupil__student_id", "pupil__name"))
    others = counted_sheets(session.site.cycle, session.subject, [p[1] for p in pupils]).exclude(pk=sheet.pk)
    seen = set(restrict(others, user, "omr.review").values_list("pk", flat=True))
    taken = {pid: name if pk in seen else ELSEWHERE for pk, pid, name in others.values_list("pk", "person_id", "name")}
    rows = [{"pk": pk, "student_id": masked_id(sid), "name": mask_name(name or ""),
             "agree": sum(a == b for a, b in zip(pattern, sid, strict=False)), "of": len(pattern),
             "current": sid == sheet.person_id, "taken": taken.get(sid, "")}
            for pk, sid, name in pupils]
    return sorted(rows, key=lambda r: (-r["agree"], r["student_id"], r["pk"]))


def pupil_of(sheet: Sheet, user, pk) -> str:
    """The 学籍号 of roster entry ``pk`` (a ``SampledPupil``), refused when it is not in
    :func:`roster`'s scope — the page posts the entry, never the id."""
    found = (restrict(session_pupils(sheet.session), user, "omr.review").filter(pk=pk)
             .values_list("pupil__student_id", flat=True).first()) if str(pk).isdigit() else None
    if found is None:
        zh, en = NOT_SITTING
        raise ParameterError(f"所选学生{zh}或不在您的管辖范围内 / the pupil chosen is {en} or outside your region")
    return found


def id_box(sheet: Sheet) -> list[int]:
    """The annotated page's pixels around the id field of the sheet's booklet ([] when the booklet
    is unknown: the whole page is shown)."""
    try:
        layouts = session_layouts(sheet.session)
    except ParameterError:  # the subject has no booklets (any more)
        return []
    lay = next((lay for lay in layouts if lay.booklet == sheet.booklet), None)
    if lay is None:
        return []
    b = lay.bubbles()
    return _item_box(b.filter(pl.col("part") == "id"))


def _check_free(sheet: Sheet, pid: str, user) -> Booklet:
    """The sheet's booklet, once sure ``pid`` may take the sheet: no other counted sheet of theirs
    in the cycle's subject (their sampled row locked first, so two reviewers giving two sheets to
    one pupil at once are serialised; named only when ``user`` may see it), no open two-channel
    flag on the sheet."""
    session = sheet.session
    list(SampledPupil.objects.select_for_update(of=("self",)).filter(cycle=session.site.cycle, pupil__student_id=pid))
    other = counted_sheets(session.site.cycle, session.subject, pid).exclude(pk=sheet.pk).select_related(
        "upload").first()
    if other is not None:
        zh, en = ALREADY_COUNTED
        if restrict(Sheet, user, "omr.review").filter(pk=other.pk).exists():
            raise ParameterError(f"{zh}：{other.name}（上传 {other.upload.name}），一名学生不能有两张；请先更正或撤销那一张 / "
                                 f"{en}: {other.name} (upload {other.upload.name}); a pupil cannot have two — correct "
                                 "or undo that one first")
        raise ParameterError(f"{zh}（在您的管辖范围之外），一名学生不能有两张 / {en} elsewhere (outside your region); "
                             "a pupil cannot have two")
    if Flag.objects.filter(kind=CHANNEL_KIND, status=Flag.Status.OPEN, person_id=sheet.person_id,
                           session__site__cycle=session.site.cycle, evidence__sheet=sheet.sha256).exists():
        raise ParameterError("此答题卡有待处理的“两种作答来源”标记，请先处理 / the sheet has an open two-channel flag: "
                             "settle it first")
    booklet = Booklet.objects.filter(cycle=session.site.cycle, subject=session.subject, code=sheet.booklet).first()
    if booklet is None:
        raise ParameterError(f"没有题本 {sheet.booklet} / no booklet {sheet.booklet}")
    return booklet


def _assign(sheet: Sheet, pid: str, booklet: Booklet) -> None:
    """The sheet counted for ``pid``: written into their attempt unless they answered in the
    browser (then ``check_channels`` holds it as a second channel)."""
    session = sheet.session
    sheet.person_id, sheet.status = pid, Sheet.Status.READ
    if not browser_answers(session.site.cycle, session.subject, [pid]).height:
        write_sheet(sheet, booklet)
    sheet.save(update_fields=["person_id", "status", "attempt", "written"])


@contextmanager
def _one_counted():
    """The transaction of a correction or an undo: the database's refusal of a second counted sheet
    for the pupil — one counted since :func:`_check_free` looked, by a reading or another reviewer —
    rolls it back as the same refusal as :func:`_check_free`'s, unnamed."""
    try:
        with transaction.atomic():
            yield
    except IntegrityError:
        zh, en = ALREADY_COUNTED
        raise ParameterError(f"{zh}（刚刚计入），一名学生不能有两张 / {en} (counted just now); a pupil cannot "
                             "have two") from None


def correct(sheet: Sheet, pid: str, user, note: str = "") -> PupilCorrection:
    """Give ``sheet`` to the pupil ``pid`` (a 学籍号 of the session's roster, from :func:`pupil_of`):
    refused for a sheet that was not read, an unchanged counted sheet, or a pupil who already has a
    counted sheet in the cycle's subject.  Closes the sheet's open ``pupil`` entries."""
    with _one_counted():
        sheet = Sheet.objects.select_for_update().select_related("session__site__cycle").get(pk=sheet.pk)
        if sheet.status not in KEPT:
            raise ParameterError("此答题卡未读取，不能更正学籍号 / the sheet was not read: its pupil cannot be corrected")
        if sheet.status == Sheet.Status.READ and pid == sheet.person_id:
            raise ParameterError("学籍号未改变 / the pupil is unchanged")
        booklet = _check_free(sheet, pid, user)
        old_id, old_status = sheet.person_id, sheet.status
        unwrite_sheet(sheet)
        _assign(sheet, pid, booklet)
        now = timezone.now()
        Review.objects.filter(sheet=sheet, kind=Review.Kind.PUPIL, status=Review.Status.OPEN).update(
            status=Review.Status.CONFIRMED if pid == old_id else Review.Status.CORRECTED, note=(note or "")[:300],
            reviewer=user, reviewed_at=now)
        row = PupilCorrection.objects.create(sheet=sheet, old_id=old_id, new_id=pid, old_status=old_status,
                                             new_status=sheet.status, note=(note or "")[:300], reviewer=user)
    check_channels(sheet.session.site.cycle, sheet.session.subject, [pid])
    return row


def undo(sheet: Sheet, user, note: str = "", last_id: int | None = None) -> PupilCorrection:
    """Revert the sheet's last change: a sheet that was held is held again (its id as read, a new
    open ``pupil`` entry); a sheet that counted for another pupil counts for them again — refused,
    like :func:`correct`, when that pupil has another counted sheet by now.  ``last_id``: the id of the
    correction the reviewer saw as the last (the page's form sends it) — refused when it no longer
    is: an undo is itself a change, so the same form sent twice (a double click, the browser's
    resend) would undo the undo and bring the correction back."""
    with _one_counted():
        sheet = Sheet.objects.select_for_update().select_related("session__site__cycle").get(pk=sheet.pk)
        last = sheet.corrections.order_by("-pk").first()
        if last is None:
            raise ParameterError("此答题卡没有可撤销的更正 / the sheet has no correction to undo")
        if last_id is not None and last_id != last.pk:
            raise ParameterError("此答题卡的更正已变化（刚刚撤销或更正），未撤销，请刷新页面 / the sheet's corrections "
                                 "changed meanwhile (undone or corrected just now): nothing was undone; reload "
                                 "the page")
        old_id, old_status = sheet.person_id, sheet.status
        if last.old_status == Sheet.Status.READ:
            booklet = _check_free(sheet, last.old_id, user)
            unwrite_sheet(sheet)
            _assign(sheet, last.old_id, booklet)
        else:
            _check_free(sheet, sheet.person_id, user)  # an open two-channel flag on it blocks
            unwrite_sheet(sheet)
            sheet.person_id, sheet.status = last.old_id, Sheet.Status.HELD
            sheet.save(update_fields=["person_id", "status", "attempt", "written"])
            first = sheet.reviews.filter(kind=Review.Kind.PUPIL).order_by("pk").first()
            problem = first.problem if first else "学籍号待核对 / the pupil id awaits review"
            Review.objects.create(sheet=sheet, session=sheet.session, kind=Review.Kind.PUPIL,
                                  problem=f"更正已撤销 / correction undone · {problem}"[:300])
        row = PupilCorrection.objects.create(sheet=sheet, old_id=old_id, new_id=sheet.person_id, old_status=old_status,
                                             new_status=sheet.status, undo=True, note=(note or "")[:300],
                                             reviewer=user)
    if sheet.status == Sheet.Status.READ:
        check_channels(sheet.session.site.cycle, sheet.session.subject, [sheet.person_id])
    return row
