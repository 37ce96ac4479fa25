from django.apps import AppConfig


class FitnessConfig(AppConfig):
    name = "junheng_web.fitness"
    label = "fitness"
    default_auto_field = "django.db.models.BigAutoField"
