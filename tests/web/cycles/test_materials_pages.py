"""Test-site page: seating plan and login cards per session — masked unless the role may see names,
refused to outsiders (the permission matrix), audited, and the PDFs hold the session's pupils."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from django.urls import reverse

from junheng_web.accounts.models import AuditLog, User

pytestmark = [pytest.mark.django_db,
              pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils not installed")]


def _url(w, kind, **q):
    url = reverse("session_material", kwargs={"pk": w.cycle.pk, "site": w.sites["A"].pk,
                                              "session": w.sessions["A"].pk, "kind": kind})
    return url + ("?" + "&".join(f"{k}={v}" for k, v in q.items()) if q else "")


@pytest.fixture
def client_for(client):
    def login(username):
        client.force_login(User.objects.get(username=username))
        return client
    return login


def _text(pdf: bytes, tmp_path) -> str:
    (tmp_path / "x.pdf").write_bytes(pdf)
    return subprocess.run(["pdftotext", str(tmp_path / "x.pdf"), "-"], capture_output=True, check=True, text=True).stdout


def test_county_gets_unmasked_seating_and_it_is_audited(world, client_for, tmp_path):
    c = client_for("bob")
    page = c.get(reverse("site_detail", kwargs={"pk": world.cycle.pk, "site": world.sites["A"].pk}))
    assert _url(world, "seating").encode() in page.content and b"unmask=1" in page.content
    r = c.get(_url(world, "seating", unmask=1, rows=2, cols=3))
    assert r.status_code == 200 and r["Content-Type"] == "application/pdf"
    text = _text(r.content, tmp_path)
    # the session is 语文: pupils 0 and 4 of school A (subjects cycle 语文, 数学, 英语, 科学)
    assert "A学生0" in text and "A学生4" in text and "A学生1" not in text
    log = AuditLog.objects.filter(action="download-unmasked").latest("id")
    assert log.rows == 2 and log.region_code == "410102" and "seating" in log.what


def test_masked_for_a_role_without_unmask(world, client_for, tmp_path):
    c = client_for("anna")  # province analyst: may download site lists, never see names
    r = c.get(_url(world, "cards"))
    assert r.status_code == 200
    text = _text(r.content, tmp_path)
    assert "A学生0" not in text and "A**" in text and "登录码" in text
    assert c.get(_url(world, "cards", unmask=1)).status_code == 403
    assert AuditLog.objects.filter(action="download", what__startswith="cards").count() == 1


def test_login_codes_are_stored_hashed_and_check(world, client_for, tmp_path):
    from junheng.materials.cards import ALPHABET
    from junheng_web.testsites.models import LoginCode
    from junheng_web.testsites.services import check_login_code

    c = client_for("bob")
    text = _text(c.get(_url(world, "cards", unmask=1)).content, tmp_path)
    lines = [ln.strip() for ln in text.splitlines()]
    # cards print the 学籍号 and the code (8 unambiguous characters), read in the same card order
    ids = [ln for ln in lines if ln.startswith("G410102")]
    codes = [ln for ln in lines if len(ln) == 8 and set(ln) <= set(ALPHABET)]
    printed = dict(zip(ids, codes, strict=True))
    assert len(printed) == 2
    session = world.sessions["A"]
    assert LoginCode.objects.filter(session=session).count() == 2
    assert not LoginCode.objects.filter(code_hash__in=list(printed.values())).exists()  # never stored in clear
    for sid, code in printed.items():
        assert check_login_code(session, sid, code) and check_login_code(session, sid, code.lower())
        assert not check_login_code(session, sid, code[::-1])
    from junheng_web.accounts.scoping import restrict

    assert restrict(LoginCode, world.users["bob"]).count() == 2
    assert restrict(LoginCode, world.users["charlie"]).count() == 0  # county B
    before = list(LoginCode.objects.values_list("student_id", "code_hash").order_by("student_id"))
    c.get(_url(world, "cards"))  # printing again changes nothing
    assert list(LoginCode.objects.values_list("student_id", "code_hash").order_by("student_id")) == before


def test_bad_room_size_and_kind(world, client_for):
    c = client_for("bob")
    assert c.get(_url(world, "seating", rows=0)).status_code == 404
    assert c.get(_url(world, "seating", cols="x")).status_code == 404
    assert c.get(_url(world, "other")).status_code == 404
    r = c.get(_url(world, "seating", rows=1, cols=1))  # 2 pupils, 1 seat → message, back to the page
    assert r.status_code == 302


def test_a_proctor_gets_login_codes_only_for_a_session_they_may_run(world, client_for, tmp_path):
    """A login code signs a pupil in: the cards print codes for roles that run the session — and a
    proctor runs only a session not assigned to another proctor (the console's rule).  Another
    proctor's room's cards came with its codes; now the proctor gets them without, the assigned
    proctor and the county with."""
    from junheng.materials.cards import ALPHABET

    def codes(who) -> list[str]:
        text = _text(client_for(who).get(_url(world, "cards")).content, tmp_path)
        return [ln.strip() for ln in text.splitlines() if len(ln.strip()) == 8 and set(ln.strip()) <= set(ALPHABET)]

    other = User.objects.create(username="pia", role="proctor", school=world.users["paul"].school)
    session = world.sessions["A"]
    session.proctor = other
    session.save(update_fields=["proctor"])
    assert codes("paul") == []
    assert len(codes("pia")) == 2 and len(codes("bob")) == 2
