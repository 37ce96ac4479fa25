from django.apps import AppConfig


class SamplingConfig(AppConfig):
    name = "junheng_web.sampling"
    label = "sampling"
    default_auto_field = "django.db.models.BigAutoField"
