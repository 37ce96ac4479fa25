"""Throttling the pupils' sign-in by login code (issue 12.6).

A whole school often reaches the platform through one address (NAT), so failures are not counted
per address the way staff failures are (``accounts.throttle``); they are counted

- per browser: the random id in the ``junheng_browser`` cookie; ``LIMIT`` wrong codes in
  ``WINDOW`` lock that browser only (its page shows an unlock number for the proctor);
- per code prefix: ``PREFIX_LIMIT`` wrong codes that begin with the same ``PREFIX`` characters,
  from any browser, lock that prefix (guessing one card's code from fresh browsers);
- per address, with a ceiling far above a school's typos (``ADDRESS_LIMIT``), against guessing
  from one machine without cookies.

A proctor unlocks a browser with its number (``unlock``): its earlier failures are forgiven and,
for the rest of the window, the prefix and address limits no longer apply to it (the proctor has
seen the pupil).  Pupils' failures are rows of ``CodeFailure``, never of the staff's
``LoginFailure``, so they can never lock a staff sign-in.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.utils import timezone

from junheng_web.delivery.models import CodeFailure, CodeUnlock

LIMIT = 5
PREFIX = 4
PREFIX_LIMIT = 10
ADDRESS_LIMIT = 300
WINDOW = timedelta(minutes=15)


def new_browser() -> str:
    return secrets.token_hex(16)


def unlock_number(browser: str) -> str:
    """What the locked page shows and the proctor types in (8 hex digits of the browser id)."""
    return browser[:8].upper()


def normalise(code: str) -> str:
    return (code or "").strip().upper().replace(" ", "").replace("-", "")


def is_locked(browser: str, ip: str | None, code: str) -> bool:
    since = timezone.now() - WINDOW
    recent = CodeFailure.objects.filter(at__gte=since)
    unlocked = (CodeUnlock.objects.filter(number=unlock_number(browser), at__gte=since)
                .order_by("-at").values_list("at", flat=True).first())
    if recent.filter(browser=browser, at__gte=unlocked or since).count() >= LIMIT:
        return True
    if unlocked:
        return False  # vouched for by the proctor: only its own failures count
    prefix = normalise(code)[:PREFIX]
    if prefix and recent.filter(prefix=prefix).count() >= PREFIX_LIMIT:
        return True
    return bool(ip) and recent.filter(ip=ip).count() >= ADDRESS_LIMIT


KEEP = timedelta(days=1)  # older failures and unlocks count for nothing: removed as new ones come


def record_failure(browser: str, ip: str | None, code: str) -> None:
    CodeFailure.objects.create(browser=browser, ip=ip, prefix=normalise(code)[:PREFIX])
    old = timezone.now() - KEEP
    CodeFailure.objects.filter(at__lt=old).delete()
    CodeUnlock.objects.filter(at__lt=old).delete()


def unlock(number: str, session, user) -> bool:
    """Unlock the browser showing ``number`` (8 hex digits); ``False`` for anything else."""
    number = normalise(number)
    if len(number) != 8 or any(ch not in "0123456789ABCDEF" for ch in number):
        return False
    CodeUnlock.objects.create(number=number, session=session, by=user)
    return True
