from django.apps import AppConfig


class DeliveryConfig(AppConfig):
    name = "junheng_web.delivery"
    label = "delivery"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "在线测试"
