"""Test sites (测试点) and their sessions, set up by the counties for a monitoring cycle.

A test site is a place (usually a sampled school) where the sampled pupils of one or more
sampled schools sit the test; each site runs one or more sessions (subject, room, times,
proctor).  The cycle itself and the sample live in the registry and sampling apps.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class TestSite(models.Model):
    cycle = models.ForeignKey("registry.Cycle", on_delete=models.CASCADE, related_name="test_sites")
    county = models.ForeignKey("registry.Region", on_delete=models.PROTECT, related_name="test_sites")
    code = models.CharField("测试点编号", max_length=32)
    name = models.CharField("测试点名称", max_length=128)
    address = models.CharField("地址", max_length=200, blank=True)
    schools = models.ManyToManyField("sampling.SampledSchool", related_name="test_sites", blank=True,
                                     verbose_name="参测学校")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "cycles_testsite"
        constraints = [models.UniqueConstraint(fields=["cycle", "code"], name="test_site_cycle_code_unique")]
        ordering = ["county__code", "code"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class TestSession(models.Model):
    site = models.ForeignKey(TestSite, on_delete=models.CASCADE, related_name="sessions")
    subject = models.CharField("科目", max_length=16)  # 语文/数学/英语/科学/体质健康/问卷
    room = models.CharField("考场", max_length=64, blank=True)
    starts_at = models.DateTimeField("开始时间")
    ends_at = models.DateTimeField("结束时间")
    proctor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="sessions", verbose_name="监考员")

    class Meta:
        db_table = "cycles_testsession"
        ordering = ["starts_at", "id"]
        constraints = [models.CheckConstraint(condition=models.Q(ends_at__gt=models.F("starts_at")),
                                              name="session_ends_after_start")]

    def __str__(self) -> str:
        return f"{self.site.code} {self.subject} {self.starts_at:%Y-%m-%d %H:%M}"


class LoginCode(models.Model):
    """The one-time login code printed on a pupil's login card for a session, stored only as a
    salted SHA-256 (:func:`junheng.materials.hash_code`) for the browser test to check, and as
    ``lookup``: an HMAC of the code under a key derived from the server's secret
    (``testsites.services.code_lookup``), the indexed key the pupils' sign-in finds the row by in
    one query however many sessions are open.  Rows stored before the key existed have no
    ``lookup`` until the pupil signs in once or the cards are printed again (``delivery.services``)."""

    session = models.ForeignKey(TestSession, on_delete=models.CASCADE, related_name="login_codes")
    student_id = models.CharField("学籍号", max_length=32)
    code_hash = models.CharField(max_length=64)
    lookup = models.CharField(max_length=64, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "cycles_logincode"
        constraints = [models.UniqueConstraint(fields=["session", "student_id"], name="login_code_session_pupil_unique")]
        indexes = [models.Index(fields=["code_hash"], name="login_code_hash_idx"),
                   models.Index(fields=["lookup"], name="login_code_lookup_idx")]  # the pupils' sign-in looks codes up

    def __str__(self) -> str:
        return f"{self.session_id}: {self.student_id}"
