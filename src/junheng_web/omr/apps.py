from django.apps import AppConfig


class OmrConfig(AppConfig):
    name = "junheng_web.omr"
    label = "omr"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "答题卡读卡"
