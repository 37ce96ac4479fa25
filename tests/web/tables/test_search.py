"""The header's search (issue 17.3): schools by code or name and pupils by 学籍号, inside the user's
scope only, pupils masked, every search audit-logged."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def _get(client, world, who, q):
    client.force_login(world.users[who])
    return client.get("/search/", {"q": q})


def test_a_pupil_is_found_by_student_id_masked_and_the_search_is_audited(client, world):
    from junheng_web.accounts.models import AuditLog
    from junheng_web.registry.models import mask_student_id

    sid = world.pupils["A"][3].student_id
    html = _get(client, world, "bob", sid).content.decode()
    assert mask_student_id(sid) in html and "A学生3" not in html and "A***" in html
    assert f">{sid}<" not in html  # no cell shows it in full (only the query is echoed)
    log = AuditLog.objects.get(action="search")
    assert log.username == "bob" and log.rows == 1 and sid not in log.what


def test_another_countys_pupils_and_schools_are_not_found(client, world):
    sid = world.pupils["A"][3].student_id
    html = _get(client, world, "charlie", sid).content.decode()
    from junheng_web.registry.models import mask_student_id

    assert mask_student_id(sid) not in html and "没有找到学生" in html
    html = _get(client, world, "charlie", "小学").content.decode()
    assert "乙小学" in html and "甲小学" not in html and "甲二小学" not in html
    html = _get(client, world, "erin", "4101").content.decode()  # a school operator: its own school
    assert "4101030001" in html and "4101020001" not in html


def test_schools_by_code_prefix_or_name_and_short_ids_do_not_list_pupils(client, world):
    html = _get(client, world, "alice", "410102").content.decode()
    assert "4101020001" in html and "4101020002" in html and "4101030001" not in html
    html = _get(client, world, "alice", "G4101").content.decode()  # too short to be a 学籍号 search
    assert "没有找到学生" in html


def test_the_search_box_is_in_the_header(client, world):
    client.force_login(world.users["dave"])
    assert 'action="/search/"' in client.get("/").content.decode()
