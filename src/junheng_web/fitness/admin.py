from django.contrib import admin

from junheng_web.fitness.models import FitnessRecord


@admin.register(FitnessRecord)
class FitnessRecordAdmin(admin.ModelAdmin):
    list_display = ("pupil", "cycle", "grade", "sex", "standard_score", "bonus_score", "total_score", "rating",
                    "complete", "exempt", "vision_class")
    list_filter = ("cycle", "grade", "sex", "rating", "complete", "exempt", "bmi_class", "vision_class")
    search_fields = ("pupil__student_id",)
    raw_id_fields = ("pupil",)
    readonly_fields = [f.name for f in FitnessRecord._meta.fields if f.name != "id"]
