"""Login throttling: at most ``LIMIT`` failed sign-ins per user name or per address in ``WINDOW``.

Failures are rows in the database (not a per-process cache) so that every application-server
worker sees the same count.
"""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from junheng_web.accounts.models import LoginFailure

LIMIT = 5
WINDOW = timedelta(minutes=15)


def is_locked(username: str, ip: str | None) -> bool:
    since = timezone.now() - WINDOW
    recent = LoginFailure.objects.filter(at__gte=since)
    by_name = recent.filter(username=username.lower()).count() if username else 0
    by_ip = recent.filter(ip=ip).count() if ip else 0
    return by_name >= LIMIT or by_ip >= 4 * LIMIT


def record_failure(username: str, ip: str | None) -> None:
    LoginFailure.objects.create(username=(username or "").lower()[:150], ip=ip)


def clear(username: str) -> None:
    LoginFailure.objects.filter(Q(username=username.lower())).delete()
