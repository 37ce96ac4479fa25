"""What the browser walk (tests/e2e/test_walkthrough.py) found, fixed and kept: each role finds its
own work from home, the password page is the platform's, the cycle bar marks where you are."""

from __future__ import annotations

import pytest
from django.urls import reverse


@pytest.mark.django_db
def test_a_proctor_reaches_the_console_from_home_and_header(client, world):
    client.force_login(world.users["paul"])
    body = client.get(reverse("home")).content.decode()
    assert body.count(f'href="{reverse("delivery_sessions")}"') == 2  # the header's 监考台 and the home task
    assert "监考台：打开本校测试场次" in body


@pytest.mark.django_db
def test_a_reviewer_without_flags_still_finds_the_queue_on_home(client, world):
    client.force_login(world.users["rita"])
    body = client.get(reverse("home")).content.decode()
    assert "视频巡查：暂无待审核的标记" in body and "暂无待办事项" not in body


@pytest.mark.django_db
def test_the_password_page_is_the_platforms_own(client, world):
    client.force_login(world.users["dave"])
    home = client.get(reverse("home")).content.decode()
    assert f'href="{reverse("password_change")}"' in home
    body = client.get(reverse("password_change")).content.decode()
    assert 'class="top"' in body and "Django" not in body and "nav class=\"crumbs\"" in body
    assert 'name="old_password"' in body and 'name="new_password2"' in body


@pytest.mark.django_db
def test_the_cycle_bar_marks_the_current_page_and_leads_back(client, world):
    client.force_login(world.users["bob"])
    cycle = world.cycle
    body = client.get(reverse("progress", args=[cycle.pk])).content.decode()
    assert f'href="{reverse("progress", args=[cycle.pk])}" aria-current="page"' in body
    assert f'<a href="{reverse("cycle_detail", args=[cycle.pk])}">{cycle}</a></nav>' in body  # the crumbs
    assert body.count('aria-current="page"') == 1
