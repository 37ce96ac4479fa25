"""Issue 12.5: login cards carry the codes only for roles allowed to run the session.

A province analyst may download the masked cards (to check the print run) but must not be able to
sign in as a pupil: the cards it gets hold no login code.  A county user (who runs the test day)
gets the codes, names masked or not."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from django.urls import reverse

from junheng.materials.cards import ALPHABET
from junheng_web.accounts.models import User

pytestmark = [pytest.mark.django_db,
              pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils not installed")]


def _cards(client, world, tmp_path, username, **q) -> tuple[int, str]:
    client.force_login(User.objects.get(username=username))
    url = reverse("session_material", kwargs={"pk": world.cycle.pk, "site": world.sites["A"].pk,
                                              "session": world.sessions["A"].pk, "kind": "cards"})
    r = client.get(url + ("?" + "&".join(f"{k}={v}" for k, v in q.items()) if q else ""))
    if r.status_code != 200:
        return r.status_code, ""
    (tmp_path / "c.pdf").write_bytes(r.content)
    return 200, subprocess.run(["pdftotext", str(tmp_path / "c.pdf"), "-"], capture_output=True, check=True,
                               text=True).stdout


def _codes(text: str) -> list[str]:
    return [ln.strip() for ln in text.splitlines() if len(ln.strip()) == 8 and set(ln.strip()) <= set(ALPHABET)]


def test_masked_cards_for_a_role_that_cannot_run_the_session_hold_no_code(world, client, tmp_path):
    status, county = _cards(client, world, tmp_path, "bob")  # the county runs the test day: codes
    assert status == 200 and len(_codes(county)) == 2
    status, analyst = _cards(client, world, tmp_path, "anna")
    assert status == 200 and "A**" in analyst
    assert _codes(analyst) == [] and not any(code in analyst for code in _codes(county))
    assert "监考" in analyst  # the card says where the code comes from
