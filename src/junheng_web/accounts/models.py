"""Accounts: a user has one role and is bound to a region or a school."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models


class User(AbstractUser):
    class Role(models.TextChoices):
        PROVINCE_ADMIN = "province_admin", "省级管理员"
        PROVINCE_ANALYST = "province_analyst", "省级分析员"
        CITY = "city", "市级用户"
        COUNTY = "county", "县级用户"
        SCHOOL = "school", "学校操作员"
        PROCTOR = "proctor", "监考员"
        REVIEWER = "reviewer", "视频巡查员"
        SCORER = "scorer", "阅卷员"

    role = models.CharField(max_length=20, choices=Role.choices, default=Role.SCHOOL)
    region = models.ForeignKey("registry.Region", null=True, blank=True, on_delete=models.PROTECT, related_name="users")
    school = models.ForeignKey("registry.School", null=True, blank=True, on_delete=models.PROTECT, related_name="users")
