"""Accounts: a user has one role and is bound to a region (city, county) or a school.

Also the two security records the platform keeps: the audit log of every access to pupil
records, and failed sign-ins (for throttling).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class User(AbstractUser):
    class Role(models.TextChoices):
        PROVINCE_ADMIN = "province_admin", _("省级管理员")
        PROVINCE_ANALYST = "province_analyst", _("省级分析员")
        CITY = "city", _("市级用户")
        COUNTY = "county", _("县级用户")
        SCHOOL = "school", _("学校操作员")
        PROCTOR = "proctor", _("监考员")
        REVIEWER = "reviewer", _("视频巡查员")
        SCORER = "scorer", _("阅卷员")

    role = models.CharField(max_length=20, choices=Role.choices, default=Role.SCHOOL)
    region = models.ForeignKey("registry.Region", null=True, blank=True, on_delete=models.PROTECT, related_name="users")
    school = models.ForeignKey("registry.School", null=True, blank=True, on_delete=models.PROTECT, related_name="users")

    @property
    def is_province(self) -> bool:
        return self.role in (self.Role.PROVINCE_ADMIN, self.Role.PROVINCE_ANALYST) or self.is_superuser

    @property
    def county(self):
        """The county a user works in: their region (county users) or their school's county."""
        if self.school_id:
            return self.school.county
        return self.region if self.region_id and self.region.level == "county" else None


# what the audit log page shows for each recorded action (the stored value stays the short code)
ACTION_LABELS = {
    "view": _("查看"), "download": _("下载"), "download-unmasked": _("下载（含完整姓名）"), "upload": _("上传"),
    "export": _("导出"), "export-unmasked": _("导出（含完整姓名和学籍号）"),
    "view-unmasked": _("查看（含完整姓名和学籍号）"), "search": _("搜索"), "replace": _("替换学校"), "school.confirm": _("确认学校参加"), "sample.redraw": _("重新抽样"), "define": _("定义问卷"),
    "confirm": _("确认标记"), "dismiss": _("排除标记"), "test.signin": _("学生登录测试"),
    "test.submit": _("学生交卷"), "test.status": _("查看场次作答状态"), "test.unlock": _("解锁考试机"),
    "test.checkin": _("监考：签到"), "test.start": _("监考：开始考场"), "test.pause": _("监考：暂停"),
    "test.resume": _("监考：继续"), "test.extend": _("监考：延长时间"), "test.terminate": _("监考：终止"),
    "test.reactivate": _("监考：恢复"), "test.incident": _("监考：异常情况报告"),
    "test.questionnaire": _("学生提交问卷"), "forensics.run": _("提交作答数据甄别"),
    "login": _("登录"), "login.failed": _("登录失败"), "login.locked": _("登录被锁定"),
    "omr.confirm": _("答题卡核对：确认"), "omr.correct": _("答题卡核对：更正"), "omr.settle": _("答题卡核对：结案"),
    "omr.final": _("答题卡批次定稿"), "omr.channel": _("选定作答来源（在线作答或答题卡）"),
    "omr.pupil": _("答题卡核对：更正学籍号"), "omr.pupil_undo": _("答题卡核对：撤销学籍号更正"),
    "omr.roster": _("答题卡核对：查看场次名单"),
    "admin.view": _("后台查看"), "admin.change": _("后台修改"), "admin.delete": _("后台删除"),
}


def action_label(action: str) -> str:
    """The words for an audit action (an unknown code is shown as it is)."""
    return str(ACTION_LABELS.get(action, action))


class AuditLog(models.Model):
    """One access to pupil records: who, when, what (action, object, how many rows), from where."""

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    username = models.CharField(max_length=150)  # kept when the account is deleted
    action = models.CharField(max_length=32, db_index=True)  # view / download / upload / export
    what = models.CharField(max_length=200)  # e.g. "site list 2141000001"
    path = models.CharField(max_length=300)
    ip = models.GenericIPAddressField(null=True, blank=True)
    rows = models.PositiveIntegerField(null=True, blank=True)
    region_code = models.CharField(max_length=6, blank=True, db_index=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.username} {self.action} {self.what}"

    @property
    def action_label(self) -> str:
        return action_label(self.action)


class LoginFailure(models.Model):
    """A failed sign-in; recent failures per user name and per address throttle new attempts."""

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    username = models.CharField(max_length=150, db_index=True)
    ip = models.GenericIPAddressField(null=True, blank=True, db_index=True)
