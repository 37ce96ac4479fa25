"""Scanned answer sheets of a test session on the platform (docs/guide/materials.md § 答题卡人工核对).

An :class:`Upload` is one file (PDF or picture) a county or site operator sent for a session,
kept under ``MEDIA_ROOT/omr/`` and keyed by its SHA-256: the same file twice is one upload.  The
``omr`` job reads it with the core reader (``junheng.materials.read_batch``, layouts chosen per
sheet by the QR code); each page becomes a :class:`Sheet` keyed within the session by the page's
content hash (a page already read from another upload is reported as a duplicate, not read
twice).  A read sheet's answers go in as the delivery app's ``Attempt``/``Answer`` rows — the
responses the scoring reads (``delivery.services.responses_frame``) — unless the pupil also
answered in the browser: then the sheet is held, a ``two_channels`` flag joins the reviewers'
queue and the pupil's score waits for the reviewer's choice (``services.check_channels``).  Every item with a bubble
below the confidence threshold, and every sheet whose corners or QR code failed, is a
:class:`Review` in the manual-review queue; a decision adds a later answer change and is audited.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Upload(models.Model):
    session = models.ForeignKey("testsites.TestSession", on_delete=models.CASCADE, related_name="omr_uploads")
    name = models.CharField(_("文件名"), max_length=200)
    sha256 = models.CharField(max_length=64)
    size = models.PositiveBigIntegerField(default=0)
    path = models.CharField(max_length=300)  # relative to MEDIA_ROOT
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)
    job = models.ForeignKey("jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    pages = models.PositiveIntegerField(default=0)
    issues = models.JSONField(default=list, blank=True)  # Issue.as_dict() of the batch
    final_at = models.DateTimeField(null=True, blank=True)  # marked final (no open review left)
    final_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["session", "sha256"], name="omr_upload_unique")]
        ordering = ["session", "uploaded_at", "id"]

    def __str__(self) -> str:
        return self.name


class Sheet(models.Model):
    class Status(models.TextChoices):
        READ = "read", _("已读")
        DUPLICATE = "duplicate", _("重复扫描")
        FAILED = "failed", _("未能读取")
        # read, but its pupil id is in doubt (unreadable, ambiguous, not on the session's roster, or
        # another sheet's): answers and crops kept, nothing written until a reviewer names the pupil
        HELD = "held", _("学籍号待核对")

    upload = models.ForeignKey(Upload, on_delete=models.CASCADE, related_name="sheets")
    session = models.ForeignKey("testsites.TestSession", on_delete=models.CASCADE, related_name="omr_sheets")
    # the session's cycle and subject (filled from ``session`` on the first save): what the database's
    # "one counted sheet per pupil in a cycle's subject" constraint needs in the row itself
    cycle = models.ForeignKey("registry.Cycle", on_delete=models.CASCADE, related_name="+")
    subject = models.CharField(max_length=16)
    name = models.CharField(_("页"), max_length=240)
    sha256 = models.CharField(max_length=64)
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices)
    booklet = models.CharField(_("题本"), max_length=16, blank=True)
    person_id = models.CharField(_("学籍号"), max_length=32, blank=True)
    rotation = models.SmallIntegerField(default=0)
    image = models.CharField(max_length=300, blank=True)  # annotated page (or, failed: the scan), MEDIA_ROOT-relative
    attempt = models.ForeignKey("delivery.Attempt", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    same_as = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # every bubble measured, column-wise (part, key, value, darkness, cover, confidence, state), and the
    # sheet's issues (Issue.as_dict()): what the reader saw, kept for audits and re-checks
    bubbles = models.JSONField(default=dict, blank=True)
    issues = models.JSONField(default=list, blank=True)
    # what the sheet says, item by item (after the reviewers' corrections), and the ids of the answer
    # rows written from it into the pupil's attempt: what tells the paper channel from the browser's
    # (docs/methods/omr.md § one pupil, two channels).  A sheet whose pupil also answered in the
    # browser is held: nothing written (``attempt`` empty) until a reviewer chooses.
    answers = models.JSONField(default=dict, blank=True)
    written = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["upload", "id"]
        indexes = [models.Index(fields=["session", "sha256"])]
        # a pupil sits a subject once: never two counted (read) sheets of one pupil in a cycle's
        # subject, whatever the order of a reading and a reviewer's correction (omr.pupil_ids)
        constraints = [models.UniqueConstraint(fields=["cycle", "subject", "person_id"],
                                               condition=models.Q(status="read") & ~models.Q(person_id=""),
                                               name="omr_one_counted_sheet")]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        if self.cycle_id is None or not self.subject:
            from junheng_web.testsites.models import TestSession

            self.cycle_id, self.subject = (TestSession.objects.filter(pk=self.session_id)
                                           .values_list("site__cycle_id", "subject").get())
        super().save(*args, **kwargs)


class Review(models.Model):
    class Kind(models.TextChoices):
        ITEM = "item", _("低置信度题目")
        SHEET = "sheet", _("定位点或二维码无法识别")
        PUPIL = "pupil", _("学籍号待核对")

    class Status(models.TextChoices):
        OPEN = "open", _("待核对")
        CONFIRMED = "confirmed", _("已确认")
        CORRECTED = "corrected", _("已更正")
        SETTLED = "settled", _("已处理")

    sheet = models.ForeignKey(Sheet, on_delete=models.CASCADE, related_name="reviews")
    session = models.ForeignKey("testsites.TestSession", on_delete=models.CASCADE, related_name="omr_reviews")
    kind = models.CharField(_("类型"), max_length=6, choices=Kind.choices)
    item_id = models.CharField(_("题目编号"), max_length=32, blank=True)
    choices = models.CharField(max_length=8, blank=True)  # the item's bubbles, in order
    multiple = models.BooleanField(default=False)  # a multiple-choice item (several letters allowed)
    read = models.CharField(_("读出"), max_length=8, blank=True)
    confidence = models.FloatField(_("置信度"), default=0.0)
    marks = models.JSONField(default=list, blank=True)  # per bubble: value, darkness, cover, confidence, state
    box = models.JSONField(default=list, blank=True)  # crop of the annotated page in pixels: x0, y0, x1, y1
    problem = models.CharField(max_length=300, blank=True)  # a sheet failure's message
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.OPEN, db_index=True)
    answer = models.CharField(_("核定作答"), max_length=8, blank=True)
    note = models.CharField(_("说明"), max_length=300, blank=True)
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+")
    reviewed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["confidence", "id"]

    def __str__(self) -> str:
        return f"{self.sheet.name} {self.item_id}"


class PupilCorrection(models.Model):
    """One change of a sheet's pupil by a reviewer (``omr.pupil_ids``): who, when, the 学籍号 and
    status before and after.  An undo is a change too (``undo`` set), back to the state before the
    change it reverts; the rows are never edited."""

    sheet = models.ForeignKey(Sheet, on_delete=models.CASCADE, related_name="corrections")
    old_id = models.CharField(_("原学籍号"), max_length=32, blank=True)
    new_id = models.CharField(_("新学籍号"), max_length=32, blank=True)
    old_status = models.CharField(max_length=10, choices=Sheet.Status.choices)
    new_status = models.CharField(max_length=10, choices=Sheet.Status.choices)
    undo = models.BooleanField(default=False)
    note = models.CharField(_("说明"), max_length=300, blank=True)
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["sheet", "id"]

    def __str__(self) -> str:
        return f"{self.sheet.name}: {self.old_id or '?'} → {self.new_id or '?'}"
