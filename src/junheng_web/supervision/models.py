"""Video supervision (视频监督) of test sessions: the recordings of a session's room, the flags the
core found in them (or against the schedule), and the reviewers' decisions on those flags.

A session's validity is not stored: it follows from its flags (``services.session_validity``):
invalid when a reviewer confirmed a *serious* flag, under review while any flag is open, else
valid — so it can never disagree with the decisions it rests on.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

KIND_LABELS = {
    "covered": _("镜头遮挡或画面过暗"),
    "frozen": _("画面冻结"),
    "loop": _("画面循环重放"),
    "still": _("长时间无动静"),
    "camera_moved": _("镜头移动"),
    "gap": _("录像时间断档"),
    "lighting": _("照明变化"),
    "occluded": _("镜头部分遮挡"),
    "late_start": _("录像晚于开考"),
    "early_end": _("录像早于结束"),
    "missing": _("录像缺失"),
    # the upload (services.store_recording): a declared creation_time the session cannot have
    "clock": _("录像时间与场次不符"),
    # people in the room (junheng.supervision.people): faces against the pupils expected
    "empty_seats": _("座位空缺（人脸少于应到人数）"),
    "extra_person": _("多出人员"),
    "crowding": _("课桌旁聚集多人"),
    "extra_adult": _("多出成人"),
    "no_proctor": _("监考员长时间不在画面中"),
    # the sound (junheng.supervision.audio): louder than the room's baseline
    "sound": _("声音异常（疑似说话）"),
    # response forensics (junheng.supervision.forensics): about pupils, not the whole session
    "copying": _("疑似抄袭（ω）"),
    "identical_incorrect": _("相同错误答案过多"),
    "rapid": _("作答过快"),
    "timing_misfit": _("作答时间异常"),
    "same_timing": _("相邻考生作答节奏一致"),
    "answer_changes": _("改错为对过多"),
    # backdated answers (junheng.supervision.arrivals): arrived long after their stamps while the page was online
    "backdated": _("作答迟于标记时间到达"),
    # one pupil, two channels (junheng_web.omr): answers in the browser and on a paper sheet
    "two_channels": _("同一学生既有在线作答又有答题卡"),
}
CLOCK_KIND = "clock"  # services.store_recording: the file declares a time the session cannot have
UPLOAD_KINDS = (CLOCK_KIND,)  # facts of the upload, not of an analysis: re-analysis keeps them
FORENSIC_KINDS = ("copying", "identical_incorrect", "rapid", "timing_misfit", "same_timing", "answer_changes",
                  "backdated")
CHANNEL_KIND = "two_channels"
CHANNELS = {"browser": _("在线作答"), "paper": _("答题卡")}


class Recording(models.Model):
    """One video file of a test session's room, stored under ``MEDIA_ROOT/video/``."""

    class Status(models.TextChoices):
        PENDING = "pending", _("待分析")
        ANALYSED = "analysed", _("已分析")
        FAILED = "failed", _("分析失败")

    session = models.ForeignKey("testsites.TestSession", on_delete=models.CASCADE, related_name="recordings")
    name = models.CharField("文件名", max_length=255)
    file = models.CharField(max_length=500)  # relative to MEDIA_ROOT
    checksum = models.CharField("SHA-256", max_length=64)
    size = models.PositiveBigIntegerField(default=0)
    started_at = models.DateTimeField("录像开始时间")
    duration_s = models.FloatField("时长（秒）", null=True, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    analysis = models.JSONField(default=dict, blank=True)  # fps, thresholds, the video's properties
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["session", "checksum"], name="recording_session_checksum")]
        ordering = ["session", "started_at", "id"]

    def __str__(self) -> str:
        return f"{self.session} {self.name}"


class Flag(models.Model):
    """A stretch of a session a reviewer should look at.  ``recording`` is set for picture flags
    (``start_s``/``end_s`` = seconds into that recording) and empty for schedule flags (seconds
    from the session's scheduled start).  Forensic flags (:data:`FORENSIC_KINDS`) name the pupils
    in ``person_id``/``other_id`` and their statistic in ``detail`` (``start_s = end_s = 0``); a
    ``two_channels`` flag names one pupil, both sources in ``detail`` and ``evidence``, and is
    decided by ``choice`` (which channel's answers count)."""

    class Severity(models.TextChoices):
        SERIOUS = "serious", _("严重")
        WARNING = "warning", _("提示")

    class Status(models.TextChoices):
        OPEN = "open", _("待审核")
        CONFIRMED = "confirmed", _("已确认")
        DISMISSED = "dismissed", _("已排除")

    session = models.ForeignKey("testsites.TestSession", on_delete=models.CASCADE, related_name="video_flags")
    recording = models.ForeignKey(Recording, null=True, blank=True, on_delete=models.CASCADE, related_name="flags")
    start_s = models.FloatField()
    end_s = models.FloatField()
    kind = models.CharField(max_length=24, choices=list(KIND_LABELS.items()))
    severity = models.CharField(max_length=8, choices=Severity.choices)
    score = models.FloatField(default=0)
    # forensic flags concern pupils: the pupil (the suspected copier of a pair) and the other one
    person_id = models.CharField("学籍号", max_length=32, blank=True, default="")
    other_id = models.CharField("相关学籍号", max_length=32, blank=True, default="")
    detail = models.TextField("统计量说明", blank=True, default="")
    # a two_channels flag: the reviewer's choice of the channel that counts (browser | paper), and
    # what was found (the sheet’s content hash, the attempt, both sources): the key that keeps a
    # decided conflict from being flagged again
    choice = models.CharField("采用的作答来源", max_length=8, blank=True, default="",
                              choices=list(CHANNELS.items()))
    evidence = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN, db_index=True)
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+")
    note = models.TextField("审核意见", blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["session", "recording", "start_s", "id"]

    def __str__(self) -> str:
        return f"{self.session} {self.kind} {self.start_s:.0f}–{self.end_s:.0f}s"

    def _clock(self, seconds: float):
        if self.person_id:  # forensic flags concern answers, not a stretch of time
            return None
        base = self.recording.started_at if self.recording_id else self.session.starts_at
        return base + datetime.timedelta(seconds=seconds)

    @property
    def clock_start(self):
        """The flag's start as a clock time: the recording's start (picture flags) or the session's
        scheduled start (schedule flags) plus ``start_s``; None for forensic flags."""
        return self._clock(self.start_s)

    @property
    def clock_end(self):
        return self._clock(self.end_s)
