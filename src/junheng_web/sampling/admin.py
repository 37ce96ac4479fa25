"""Admin: the sample is computed, never typed in — only a school's participation status is edited
here (a refusal with a replacement goes through ``services.replace_school``)."""

from django.contrib import admin

from junheng_web.sampling.models import SampledSchool, SampleRun, WeightSet


@admin.register(SampleRun)
class SampleRunAdmin(admin.ModelAdmin):
    list_display = ("cycle", "seed", "created_at")
    readonly_fields = ("cycle", "params", "seed", "summary", "created_at")


@admin.register(SampledSchool)
class SampledSchoolAdmin(admin.ModelAdmin):
    list_display = ("school", "cycle", "stratum", "role", "status", "certainty", "pi", "school_weight")
    list_filter = ("cycle", "role", "status", "certainty")
    search_fields = ("school__code", "school__name", "stratum")
    readonly_fields = [f.name for f in SampledSchool._meta.fields if f.name not in ("id", "status")]


@admin.register(WeightSet)
class WeightSetAdmin(admin.ModelAdmin):
    list_display = ("run", "method", "replicates", "fay_k", "created_at")
    readonly_fields = ("run", "method", "replicates", "fay_k", "path", "created_at")
