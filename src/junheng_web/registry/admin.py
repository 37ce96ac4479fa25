"""Admin pages of the registry: regions, schools, classes, pupils, cycles (filters and search).

Pupils' 学籍号 and names are personal data: the pupil list shows them masked; the change page
(for operators with the permission) shows them in full.
"""

from __future__ import annotations

from django.contrib import admin

from junheng_web.registry.models import Cycle, Pupil, Region, School, SchoolClass, mask_student_id


def mask_id(value: str) -> str:
    """G410102201104272939 → G41010***********39 (region kept for support, the rest hidden)."""
    return mask_student_id(value)


def mask_name(value: str) -> str:
    if not value:
        return ""
    return value[0] + "*" * max(1, len(value) - 1)


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "level", "parent")
    list_filter = ("level",)
    search_fields = ("code", "name")
    list_select_related = ("parent",)
    ordering = ("code", "level")


@admin.register(School)
class SchoolAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "county", "stage", "location", "is_teaching_point", "enrol_g6")
    list_filter = ("stage", "location", "is_teaching_point", ("county__parent", admin.RelatedOnlyFieldListFilter))
    search_fields = ("code", "name", "county__name", "county__code")
    list_select_related = ("county",)
    raw_id_fields = ("county",)
    show_full_result_count = False


@admin.register(SchoolClass)
class SchoolClassAdmin(admin.ModelAdmin):
    list_display = ("school", "grade", "code", "name")
    list_filter = ("grade",)
    search_fields = ("school__code", "school__name", "code", "name")
    list_select_related = ("school",)
    raw_id_fields = ("school",)
    show_full_result_count = False


@admin.register(Pupil)
class PupilAdmin(admin.ModelAdmin):
    list_display = ("masked_student_id", "masked_name", "sex", "grade", "school", "school_class")
    list_filter = ("grade", "sex")
    search_fields = ("=student_id", "school__code", "school__name")
    list_select_related = ("school", "school_class")
    raw_id_fields = ("school", "school_class")
    show_full_result_count = False

    @admin.display(description="学籍号", ordering="student_id")
    def masked_student_id(self, obj: Pupil) -> str:
        return mask_id(obj.student_id)

    @admin.display(description="姓名")
    def masked_name(self, obj: Pupil) -> str:
        return mask_name(obj.name)


@admin.register(Cycle)
class CycleAdmin(admin.ModelAdmin):
    list_display = ("__str__", "year", "grade", "created_at")
    list_filter = ("year", "grade")
    search_fields = ("name",)
