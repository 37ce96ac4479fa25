from django.contrib import admin

from junheng_web.questionnaires.models import Questionnaire, QuestionnaireResponse


@admin.register(Questionnaire)
class QuestionnaireAdmin(admin.ModelAdmin):
    list_display = ("code", "title", "respondent", "cycle", "updated_at")
    list_filter = ("cycle", "respondent")
    search_fields = ("code", "title")


@admin.register(QuestionnaireResponse)
class QuestionnaireResponseAdmin(admin.ModelAdmin):
    list_display = ("__str__", "questionnaire", "school", "source_file", "updated_at")
    list_filter = ("cycle", "questionnaire")
    search_fields = ("school__code",)
    raw_id_fields = ("pupil", "school")
