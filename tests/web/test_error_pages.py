"""Issue 17.4/17.6: errors reach users as the platform's own pages — in Chinese first, with a way
back — never Django's bare "403 Forbidden" text or its debug 404."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import RequestFactory
from django.utils import translation
from django.views import defaults

RAW = ("<h1>403 Forbidden</h1>", "Page not found", "Traceback", "Server Error (500)", "Bad Request (400)",
       "no such report", "sample.run", "cycle.create")


def _assert_styled(body: str, status: int, heading: str) -> None:
    assert f'data-status="{status}"' in body and heading in body, body[:500]
    assert 'href="/"' in body and "返回首页" in body  # a way back
    assert "junheng/site.css" in body  # the platform's layout (base.html)
    assert [r for r in RAW if r in body] == []


@pytest.mark.django_db
def test_an_unknown_address_gets_the_styled_404(client, world):
    client.force_login(world.users["dave"])
    resp = client.get("/no/such/page/")
    assert resp.status_code == 404
    _assert_styled(resp.content.decode(), 404, "找不到页面")
    assert "甲小学" in resp.content.decode()  # the signed-in header stays: the user knows where they are


@pytest.mark.django_db
def test_an_out_of_scope_report_gets_the_styled_404_not_the_reason(client, world):
    client.force_login(world.users["charlie"])  # county B asks for county A's report
    resp = client.get("/reports/county/410102.pdf")
    assert resp.status_code == 404
    _assert_styled(resp.content.decode(), 404, "找不到页面")


@pytest.mark.django_db
def test_a_forbidden_action_gets_the_styled_403(client, world):
    client.force_login(world.users["dave"])  # a school operator may never create a cycle
    resp = client.get("/cycles/new/")
    assert resp.status_code == 403
    _assert_styled(resp.content.decode(), 403, "没有权限")


@pytest.mark.django_db
def test_the_403_speaks_english_once_english_is_chosen(client, world):
    client.force_login(world.users["dave"])
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    body = client.get("/cycles/new/").content.decode()
    assert "Access denied" in body and "Back to the home page" in body and "没有权限" not in body


@pytest.mark.django_db
def test_a_stale_form_gets_the_styled_csrf_page(world):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(world.users["dave"])
    resp = client.post("/accounts/logout/")
    assert resp.status_code == 403
    _assert_styled(resp.content.decode(), 403, "页面已过期")


@pytest.mark.parametrize(("handler", "status", "heading"), [
    (lambda r: defaults.bad_request(r, Exception("x")), 400, "请求有误"),
    (defaults.server_error, 500, "服务器出错"),
])
def test_the_400_and_500_pages_render_without_a_request_context(handler, status, heading):
    """Django renders these two without the request (nothing of the failed request is trusted)."""
    with translation.override("zh-hans"):
        resp = handler(RequestFactory().get("/"))
    assert resp.status_code == status
    _assert_styled(resp.content.decode(), status, heading)


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/search/?q=G41010%00", "/reports/schools/?q=%00x", "/cycles/{pk}/progress/4101%0002/",
                                 "/cycles/{pk}/verdicts/4101%0002/", "/reports/school/4101%00020001.html",
                                 "/cycles/{pk}/schools/?so%00rt=x"])
def test_a_nul_in_the_address_or_query_gets_the_styled_400(client, world, url):
    """PostgreSQL takes no NUL in text: a lookup with one was a 500 (the driver's ValueError) there."""
    client.force_login(world.users["bob"])
    resp = client.get(url.format(pk=world.cycle.pk))
    assert resp.status_code == 400
    _assert_styled(resp.content.decode(), 400, "请求有误")
