"""registry.pages.error_messages: one message per issue of a refused action (the omr, video and
questionnaire pages use it), at most ``cap`` and then "… and N more"; any other error as its text."""

from __future__ import annotations

from django.contrib.messages import get_messages
from django.contrib.messages.storage.fallback import FallbackStorage
from django.test import RequestFactory
from django.utils import translation

from junheng.exceptions import InputError, Issue, ParameterError
from junheng_web.registry.pages import error_messages


def _request():
    request = RequestFactory().post("/")
    request.session = {}
    request._messages = FallbackStorage(request)
    return request


def test_every_issue_up_to_the_cap_then_how_many_more():
    exc = InputError([Issue("应为数字", "must be a number", file="q.json", row=k + 2, column="a", value="x")
                      for k in range(60)])
    # the count line is translated: the language is set here, not left to whatever an earlier test
    # in the same worker process activated
    for language, more in (("zh-hans", "…… 另有 10 处问题"), ("en", "… and 10 more")):
        request = _request()
        with translation.override(language):
            error_messages(request, exc, cap=50)
            shown = [str(m) for m in get_messages(request)]
        assert len(shown) == 51 and shown[0] == exc.issues[0].message() and "第51行" in shown[49]
        assert shown[-1] == more
    request = _request()
    error_messages(request, exc)  # no cap: all of them
    assert len(list(get_messages(request))) == 60


def test_an_error_without_issues_is_its_text():
    request = _request()
    error_messages(request, ParameterError("此条已核对 / this entry has already been decided"))
    assert [str(m) for m in get_messages(request)] == ["此条已核对 / this entry has already been decided"]
