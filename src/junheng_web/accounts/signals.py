"""Every sign-in, failed sign-in and refused (throttled) sign-in, on any path, is recorded:
failures feed the throttle (``accounts.throttle``), and all three go to the audit log."""

from __future__ import annotations

from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver

from junheng_web.accounts import throttle
from junheng_web.accounts.audit import client_ip
from junheng_web.accounts.backends import LOCKED
from junheng_web.accounts.models import AuditLog


def _log(request, action: str, username: str, user=None) -> None:
    AuditLog.objects.create(user=user, username=username[:150], action=action, what=f"sign-in {username}"[:200],
                            path=request.get_full_path()[:300] if request is not None else "",
                            ip=client_ip(request) if request is not None else None)


@receiver(user_login_failed, dispatch_uid="junheng.login_failed")
def login_failed(sender, credentials, request=None, **kwargs):
    username = str(credentials.get("username") or "")
    if request is not None and getattr(request, LOCKED, False):
        _log(request, "login.locked", username)  # not counted again: the password was not checked
        return
    throttle.record_failure(username, client_ip(request) if request is not None else None)
    _log(request, "login.failed", username)


@receiver(user_logged_in, dispatch_uid="junheng.logged_in")
def logged_in(sender, request, user, **kwargs):
    throttle.clear(user.get_username())
    if request is not None and request.method == "POST":  # a sign-in form (not a test's force_login)
        _log(request, "login", user.get_username(), user)
