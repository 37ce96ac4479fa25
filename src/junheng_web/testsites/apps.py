from django.apps import AppConfig


class TestSitesConfig(AppConfig):
    name = "junheng_web.testsites"
    label = "testsites"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "测试点"
