"""Pages are in zh-Hans whatever the browser asks, until the user picks English."""

from __future__ import annotations

import pytest
from django.conf import settings


@pytest.mark.django_db
def test_it_answers_in_chinese_to_an_english_browser(client):
    page = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert page.status_code == 200
    assert page.headers["Content-Language"] == "zh-hans"


@pytest.mark.django_db
def test_it_answers_in_english_once_english_is_chosen(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = client.get("/accounts/login/")
    assert page.headers["Content-Language"] == "en"
