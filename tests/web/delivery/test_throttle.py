"""delivery.throttle: failures older than a day are removed as new ones come (the table stays small);
an unlock number that is not 8 hex digits unlocks nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

pytestmark = pytest.mark.django_db


def test_old_failures_are_removed_and_recent_ones_kept():
    from junheng_web.delivery import throttle
    from junheng_web.delivery.models import CodeFailure

    throttle.record_failure("a" * 32, "10.0.0.1", "ABCD1234")
    CodeFailure.objects.update(at=timezone.now() - dt.timedelta(days=2))
    throttle.record_failure("b" * 32, "10.0.0.1", "ABCD1234")
    assert list(CodeFailure.objects.values_list("browser", flat=True)) == ["b" * 32]


def test_an_unlock_number_must_be_eight_hex_digits():
    from junheng_web.delivery import throttle

    assert not throttle.unlock("XYZ", None, None)
    assert not throttle.unlock("GGGGGGGG", None, None)
    assert throttle.unlock("0a1b-2c3d", None, None)
