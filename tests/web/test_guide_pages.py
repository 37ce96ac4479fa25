"""Every page a user opens has a section in the user guide (docs/guide/*.md), keyed by its URL name.

A page counts as documented when its address — the route with every ``<converter:name>`` written as
any ``<placeholder>`` (``/cycles/<id>/progress/``), a trailing optional part as ``[<code>/]`` — is
written in the guide. What is not a page (JSON, POST-only actions, files a page embeds) is on the
explicit allow-list below, each with its reason; a new URL name is on neither and fails."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "guide"

NOT_PAGES = {
    # JSON the pages poll or draw from
    "job_status": "JSON polled by the job page",
    "progress_json": "JSON behind the progress page", "progress_region_json": "JSON behind the progress page",
    "dashboard_json": "JSON behind the dashboard", "dashboard_region_json": "JSON behind the dashboard",
    "academic_json": "JSON behind the academic page", "academic_region_json": "JSON behind the academic page",
    "delivery_status": "JSON polled by the test page", "delivery_session_json": "JSON polled by the console",
    # POST-only actions of a page's buttons
    "logout": "the header's 退出 button (POST)", "set_language": "the header's language box (POST)",
    "school_replace": "a button of the sampled-schools page (POST)",
    "school_confirm": "a button of the sampled-schools page (POST)",
    "delivery_answers": "the test page's answer queue (POST)", "delivery_submit": "the test page's 交卷 (POST)",
    "delivery_q_answers": "the questionnaire's answer queue (POST)",
    "delivery_q_submit": "the questionnaire's 提交 (POST)",
    "delivery_session_act": "the console's buttons (POST)", "delivery_unlock": "the console's 解锁 (POST)",
    "session_analyse": "a button of the session video page (POST)",
    "session_forensics": "a button of the session video page (POST)",
    "flag_review": "the flag page's decision (POST)", "omr_final": "the answer-sheet page's 定稿 (POST)",
    # files a page embeds or serves
    "delivery_sw": "the test page's service worker", "omr_image": "the review entry's crop",
    "recording_thumb": "the flag page's timeline pictures", "password_change_done": "the confirmation after 修改密码",
}


def _names(resolver=None, prefix=""):
    for p in (resolver or get_resolver()).url_patterns:
        if isinstance(p, URLResolver):
            if p.namespace != "admin":
                yield from _names(p, prefix + str(p.pattern))
        elif isinstance(p, URLPattern) and p.name:
            yield p.name, prefix + str(p.pattern)


ROUTES = dict(_names())
GUIDE_TEXT = "\n".join(p.read_text(encoding="utf-8") for p in sorted(GUIDE.glob("*.md")))


ANY = r"(?:<[^<>`]+>|[\w-]+)"  # a placeholder, or a value written out (`…/upload/roster/`, `annual.pdf`)


def address(route: str) -> re.Pattern:
    """The route as the guide writes it: ``/cycles/<id>/…``; a last ``<x>/`` may be ``[<x>/]``."""
    parts = re.split(r"(<[^>]+>)", route)
    rx = "".join(ANY if part.startswith("<") else re.escape(part) for part in parts)
    if rx.endswith(ANY + "/"):
        rx = rx[: -len(ANY) - 1] + f"(?:{ANY}/|\\[{ANY}/\\])"
    return re.compile(r"`/" + rx + r"(?:\[[^`\]]*\])?(?:\?[^`]*)?`")


@pytest.mark.parametrize("name", sorted(ROUTES))
def test_every_page_has_a_guide_section(name):
    if name in NOT_PAGES:
        return
    assert address(ROUTES[name]).search(GUIDE_TEXT), (
        f"page `{name}` (/{ROUTES[name]}) has no section in docs/guide/*.md — document it, or put it on "
        "NOT_PAGES with the reason it is not a page")


def test_the_allow_list_names_only_existing_urls():
    assert not set(NOT_PAGES) - set(ROUTES), set(NOT_PAGES) - set(ROUTES)


def test_the_address_pattern_can_fail():
    rx = address("cycles/<int:pk>/dashboard/<str:code>/")
    assert rx.search("`/cycles/<id>/dashboard/[<region code>/]`")
    assert rx.search("`/cycles/<id>/dashboard/<code>/`")
    assert rx.search("`/cycles/<id>/dashboard/410102/`")
    assert not rx.search("`/cycles/<id>/dashboard/`") and not rx.search("/cycles/<id>/dashboard/<code>/")
    assert address("cycles/<int:pk>/dashboard/").search("`/cycles/<id>/dashboard/[<region code>/]`")
    assert address("reports/annual.<str:fmt>").search("`/reports/annual.pdf`")
