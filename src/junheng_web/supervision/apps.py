from django.apps import AppConfig


class SupervisionConfig(AppConfig):
    name = "junheng_web.supervision"
    label = "supervision"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "视频监督"
