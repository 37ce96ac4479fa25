"""The registry: regions (GB/T 2260), schools (学校标识码), classes, pupils (学籍号), cycles.

Registry records keep their natural keys (region code + level, 学校标识码, 学籍号): imports
upsert by them, so importing the same file twice changes nothing.
"""

from __future__ import annotations

from django.db import models


class Region(models.Model):
    """A division: province → city → county. 济源 (419001) is both a city and a county unit."""

    class Level(models.TextChoices):
        PROVINCE = "province", "省"
        CITY = "city", "市"
        COUNTY = "county", "县(区)"

    code = models.CharField(max_length=6)
    level = models.CharField(max_length=8, choices=Level.choices)
    name = models.CharField(max_length=64)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["code", "level"], name="region_code_level_unique")]
        ordering = ["level", "code"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class School(models.Model):
    class Stage(models.TextChoices):
        PRIMARY = "小学", "小学"
        JUNIOR = "初中", "初中"
        NINE_YEAR = "九年一贯制", "九年一贯制"
        COMPLETE = "完全中学", "完全中学"

    class Location(models.TextChoices):
        URBAN = "城区", "城区"
        TOWN = "镇区", "镇区"
        RURAL = "乡村", "乡村"

    code = models.CharField("学校标识码", max_length=10, unique=True)
    name = models.CharField("学校名称", max_length=128)
    county = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="schools")
    stage = models.CharField("办学类型", max_length=8, choices=Stage.choices)
    location = models.CharField("城乡类型", max_length=4, choices=Location.choices)
    is_teaching_point = models.BooleanField("教学点", default=False)
    # enrolment and classes by grade 1..9
    enrol_g1 = models.PositiveIntegerField(default=0)
    enrol_g2 = models.PositiveIntegerField(default=0)
    enrol_g3 = models.PositiveIntegerField(default=0)
    enrol_g4 = models.PositiveIntegerField(default=0)
    enrol_g5 = models.PositiveIntegerField(default=0)
    enrol_g6 = models.PositiveIntegerField(default=0)
    enrol_g7 = models.PositiveIntegerField(default=0)
    enrol_g8 = models.PositiveIntegerField(default=0)
    enrol_g9 = models.PositiveIntegerField(default=0)
    classes_g1 = models.PositiveIntegerField(default=0)
    classes_g2 = models.PositiveIntegerField(default=0)
    classes_g3 = models.PositiveIntegerField(default=0)
    classes_g4 = models.PositiveIntegerField(default=0)
    classes_g5 = models.PositiveIntegerField(default=0)
    classes_g6 = models.PositiveIntegerField(default=0)
    classes_g7 = models.PositiveIntegerField(default=0)
    classes_g8 = models.PositiveIntegerField(default=0)
    classes_g9 = models.PositiveIntegerField(default=0)
    # figures behind the seven 优质均衡 resource indicators (教督〔2017〕6号 第九条)
    teachers_above_qualification = models.PositiveIntegerField("高于规定学历教师数", null=True, blank=True)
    key_teachers = models.PositiveIntegerField("县级以上骨干教师数", null=True, blank=True)
    pe_arts_teachers = models.PositiveIntegerField("体育艺术专任教师数", null=True, blank=True)
    teaching_area_m2 = models.FloatField("教学及辅助用房面积", null=True, blank=True)
    sports_area_m2 = models.FloatField("体育运动场馆面积", null=True, blank=True)
    equipment_value_yuan = models.FloatField("教学仪器设备值", null=True, blank=True)
    multimedia_classrooms = models.PositiveIntegerField("网络多媒体教室数", null=True, blank=True)

    class Meta:
        ordering = ["code"]
        indexes = [models.Index(fields=["county"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class SchoolClass(models.Model):
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="classes")
    grade = models.PositiveSmallIntegerField()
    code = models.CharField("班级编号", max_length=16)
    name = models.CharField("班级名称", max_length=64, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["school", "grade", "code"], name="class_unique")]

    def __str__(self) -> str:
        return f"{self.school.name} {self.name or self.code}"


class Pupil(models.Model):
    """A pupil. Personal data (name, 学籍号, birth date) is shown only to roles that need it."""

    student_id = models.CharField("学籍号", max_length=19, unique=True)
    name = models.CharField("姓名", max_length=64)
    sex = models.PositiveSmallIntegerField("性别", choices=[(1, "男"), (2, "女")])
    birth_date = models.DateField("出生日期")
    ethnicity = models.CharField("民族", max_length=2, blank=True)
    school = models.ForeignKey(School, on_delete=models.PROTECT, related_name="pupils")
    grade = models.PositiveSmallIntegerField("年级")
    school_class = models.ForeignKey(SchoolClass, null=True, blank=True, on_delete=models.SET_NULL, related_name="pupils")

    class Meta:
        indexes = [models.Index(fields=["school", "grade"])]

    def __str__(self) -> str:
        # masked: str() ends up in admin labels, logs and messages (personal data, DESIGN.md)
        return mask_student_id(self.student_id)


def mask_student_id(value: str) -> str:
    """G410102201104272939 → G41010***********39 (the region kept for support, the rest hidden)."""
    if not value or len(value) < 9:
        return "***"
    return value[:6] + "*" * (len(value) - 8) + value[-2:]


class Cycle(models.Model):
    """A monitoring cycle: one year, one grade, its subjects and design parameters."""

    year = models.PositiveSmallIntegerField()
    grade = models.PositiveSmallIntegerField(default=6)
    subjects = models.JSONField(default=list)  # e.g. ["语文", "数学", "英语", "科学"]
    design = models.JSONField(default=dict, blank=True)  # sampling and test design parameters
    name = models.CharField(max_length=128, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["year", "grade"], name="cycle_year_grade_unique")]
        ordering = ["-year"]

    def __str__(self) -> str:
        return self.name or f"{self.year} 年 {self.grade} 年级监测"
