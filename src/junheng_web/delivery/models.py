"""The academic test in the pupil's browser: one attempt per pupil and session, and the answers
the browser sends.

Records born at a test site carry UUIDs (DESIGN.md, deployment shapes): an attempt's id is a
UUID, and every answer change is a row keyed by the UUID the browser gave it, so a replayed
queue or a re-uploaded site package is a no-op.  The pupil's current answer to an item is the
change with the highest ``(lease, seq)``: every load of the test page opens a new ``Lease`` (a
computer swap, a reload), so a change from an earlier page never overrides one from a later page,
whatever its sequence number or arrival time; within one page the browser's ``seq`` orders the
changes.  Each change carries the time it was made (``client_at``, the browser's clock corrected
to the server's), which decides whether it was given before time-up (``delivery.services``), and
the time it reached the server (``received_at``: a test site's change keeps its node's).  An
answer may arrive long after it was given (the page queues answers offline); ``PageContact``
records when each page was evidently online, so the response forensics can tell an outage from
a backdated answer (``junheng.supervision.arrivals``).
"""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone


class Attempt(models.Model):
    """A pupil sitting one test session; the pupil signs in with the login card's code."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    session = models.ForeignKey("testsites.TestSession", on_delete=models.CASCADE, related_name="attempts")
    student_id = models.CharField("学籍号", max_length=32)
    booklet = models.ForeignKey("assessment.Booklet", on_delete=models.PROTECT, verbose_name="题本")
    started_at = models.DateTimeField("开始时间", default=timezone.now)  # a site's attempt keeps its own
    submitted_at = models.DateTimeField("交卷时间", null=True, blank=True)
    lease = models.PositiveIntegerField("当前设备租约", default=0)  # the number of the newest Lease

    class Meta:
        constraints = [models.UniqueConstraint(fields=["session", "student_id"], name="delivery_attempt_unique")]
        ordering = ["session", "student_id"]

    def __str__(self) -> str:
        return f"{self.session_id}: {self.student_id}"


class Answer(models.Model):
    """One change of one answer, as the browser queued it (``id`` = the browser's UUID)."""

    id = models.UUIDField(primary_key=True, editable=False)
    attempt = models.ForeignKey(Attempt, on_delete=models.CASCADE, related_name="answers")
    item = models.ForeignKey("assessment.Item", on_delete=models.PROTECT)
    raw = models.TextField("作答", blank=True)
    seq = models.PositiveIntegerField("序号")
    lease = models.PositiveIntegerField("设备租约", default=0)
    client_at = models.DateTimeField("作答时间", null=True, blank=True)  # when given (server's clock)
    received_at = models.DateTimeField("接收时间", default=timezone.now)  # a site's change keeps its own

    class Meta:
        indexes = [models.Index(fields=["attempt", "item", "lease", "seq"], name="delivery_answer_order")]

    def __str__(self) -> str:
        return f"{self.attempt_id} {self.item_id} #{self.seq}"


class QuestionnaireAnswer(models.Model):
    """One change of one answer to the student questionnaire the pupil fills in after the test
    (issue 15.6), through the same queue as ``Answer``: keyed by the browser's UUID, ordered by
    ``(lease, seq)``, timed by ``client_at``.  ``raw`` is the option code or the number as typed."""

    id = models.UUIDField(primary_key=True, editable=False)
    attempt = models.ForeignKey(Attempt, on_delete=models.CASCADE, related_name="questionnaire_answers")
    questionnaire = models.ForeignKey("questionnaires.Questionnaire", on_delete=models.CASCADE, related_name="+")
    item = models.CharField("题目", max_length=32)
    raw = models.CharField("作答", max_length=32, blank=True)
    seq = models.PositiveIntegerField("序号")
    lease = models.PositiveIntegerField("设备租约", default=0)
    client_at = models.DateTimeField("作答时间", null=True, blank=True)
    received_at = models.DateTimeField("接收时间", default=timezone.now)  # a site's change keeps its own

    class Meta:
        indexes = [models.Index(fields=["attempt", "item", "lease", "seq"], name="delivery_qanswer_order")]


class Lease(models.Model):
    """One load of the test page for an attempt: the page's changes carry its number.  A newer
    lease closes the older ones from its ``started_at`` on: their changes given after it are
    refused (the pupil has moved to another computer or reloaded)."""

    attempt = models.ForeignKey(Attempt, on_delete=models.CASCADE, related_name="leases")
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["attempt", "number"], name="delivery_lease_unique")]


class PageContact(models.Model):
    """A span of one page's idle heartbeats (``/test/status/``): the page (attempt and lease) asked
    at ``first_at``, …, ``last_at`` by the server's clock, never more than ``gap_s`` apart, each
    within ``delivery.services.PROMPT_S`` of the time the page stamped on it (a request held up by a
    failing link is not counted).  The page asks only with an empty queue, so every answer it gave
    before a heartbeat had reached the server by then: the evidence of the backdated-answers rule.
    Coarse (``services.record_contact``): ``last_at`` moves only when older than half ``gap_s``, so
    the page's last heartbeat lies in [``last_at``, ``last_at`` + gap_s / 2] and ``beats`` counts
    the recorded heartbeats, not every poll."""

    attempt = models.ForeignKey(Attempt, on_delete=models.CASCADE, related_name="contacts")
    lease = models.PositiveIntegerField("设备租约")
    first_at = models.DateTimeField("首次联系")
    last_at = models.DateTimeField("最近联系")
    beats = models.PositiveIntegerField("次数", default=1)
    gap_s = models.FloatField("最大间隔（秒）")

    class Meta:
        indexes = [models.Index(fields=["attempt", "lease", "last_at"], name="delivery_contact_page")]


class CodeFailure(models.Model):
    """A wrong login code typed at /test/: which browser (the random id in its cookie), from which
    address, and the code's first characters.  Kept apart from the staff's ``LoginFailure``, so
    pupils' typos never lock a staff sign-in (``delivery.throttle``)."""

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    browser = models.CharField(max_length=32, db_index=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    prefix = models.CharField(max_length=8, db_index=True)


class CodeUnlock(models.Model):
    """A proctor's unlock of one browser (by the unlock number its locked page shows)."""

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    number = models.CharField(max_length=8, db_index=True)
    session = models.ForeignKey("testsites.TestSession", null=True, on_delete=models.SET_NULL, related_name="+")
    by = models.ForeignKey("accounts.User", null=True, on_delete=models.SET_NULL, related_name="+")


class ProctorEvent(models.Model):
    """One action of the proctor's console (issue 15.4): check-in, start, pause and resume (the
    room when ``student_id`` is empty, else one pupil), extra time (``minutes``), terminate and
    reactivate, an incident report (``note``).  The pupil's time window is computed from these
    (``junheng.site.control.pupil_window``); they are the proctor's log in the site's result
    package, merged at the centre by their UUID."""

    ACTIONS = [("checkin", "签到"), ("start", "开始"), ("pause", "暂停"), ("resume", "继续"),
               ("extend", "延长时间"), ("terminate", "终止"), ("reactivate", "恢复"), ("incident", "异常情况")]

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    session = models.ForeignKey("testsites.TestSession", on_delete=models.CASCADE, related_name="proctor_events")
    student_id = models.CharField("学籍号", max_length=32, blank=True)  # "": the whole room
    action = models.CharField("操作", max_length=16, choices=ACTIONS)
    minutes = models.PositiveSmallIntegerField("分钟", null=True, blank=True)
    note = models.TextField("说明", blank=True)
    by = models.CharField("操作人", max_length=150, blank=True)
    at = models.DateTimeField("时间")

    class Meta:
        ordering = ["at"]
        indexes = [models.Index(fields=["session", "at"], name="delivery_event_session")]

    def __str__(self) -> str:
        return f"{self.session_id} {self.action} {self.student_id or '*'}"


class SiteResult(models.Model):
    """A result package from a test-site node, ingested at the centre: which one, from where, what
    it added.  Ingesting the same package again adds nothing (every record is merged by its UUID)."""

    package_id = models.UUIDField(unique=True)
    site_package = models.UUIDField()  # the site package the node was loaded from
    site = models.ForeignKey("testsites.TestSite", on_delete=models.CASCADE, related_name="results")
    issued_at = models.DateTimeField()
    ingested_at = models.DateTimeField(auto_now_add=True)
    counts = models.JSONField(default=dict)

    class Meta:
        ordering = ["-ingested_at"]
