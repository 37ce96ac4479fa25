from django.apps import AppConfig


class QuestionnairesConfig(AppConfig):
    name = "junheng_web.questionnaires"
    label = "questionnaires"
    default_auto_field = "django.db.models.BigAutoField"
