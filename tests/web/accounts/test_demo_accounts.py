"""The demo's accounts: province, two counties, a school operator in each; password ``demo``."""

from __future__ import annotations

import pytest
from django.contrib.auth import authenticate

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fast_hashes(settings):
    """The demo's logic is under test here, not argon2 (tests/web/accounts/test_login.py checks the hasher)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_it_creates_the_demo_accounts(world, tmp_path):
    from junheng_cli.demo import DemoContext
    from junheng_cli.demo.accounts import demo_stage

    ctx = DemoContext(out=tmp_path, scale=0.01, seed=1)
    demo_stage(ctx)
    text = (tmp_path / "accounts.txt").read_text(encoding="utf-8")
    for name in ("province", "county-410102", "county-410103", "school-4101020001", "school-4101030001"):
        assert f"{name}\tdemo" in text
        assert authenticate(username=name, password="demo") is not None, name
    u = authenticate(username="county-410103", password="demo")
    assert (u.role, u.region.code) == ("county", "410103")
    assert authenticate(username="school-4101020001", password="demo").school.code == "4101020001"
    demo_stage(ctx)  # a second run resets, never duplicates
    from junheng_web.accounts.models import User

    assert User.objects.filter(username="province").count() == 1


def test_it_creates_the_counties_when_the_registry_has_none(db, tmp_path):
    from junheng_web.cycles.demo import demo_accounts

    names = [u for u, _, _ in demo_accounts()]
    assert {"province", "reviewer", "county-410102", "county-410103"} <= set(names)


def test_it_keeps_the_password_validators_for_real_accounts():
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        validate_password("demo")
