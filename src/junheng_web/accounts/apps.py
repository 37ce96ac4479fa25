from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "junheng_web.accounts"
    label = "accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from junheng_web.accounts import checks, signals  # noqa: F401  (registers the handlers and checks)
