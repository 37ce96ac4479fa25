"""Language choice: zh-Hans unless the user chose otherwise.

Django's ``LocaleMiddleware`` follows the browser's ``Accept-Language`` when no language has
been chosen; junheng's pages are for Chinese officials and default to zh-Hans whatever the
browser says. A user who picks English (the language switch sets the language cookie) gets
English from then on.
"""

from __future__ import annotations

from django.conf import settings
from django.middleware.locale import LocaleMiddleware
from django.utils.translation import get_language


def in_language(text, language: str | None = None) -> str:
    """The half of a bilingual "中文 / English" text (the core's messages, a job's progress, a refusal)
    for ``language`` (default: the page's): English for an English page, else Chinese; a text with
    no " / " is returned whole.  The one place that splits such texts (the template filter
    ``in_language``, ``Job.localized_message`` and the pupil's pages use it)."""
    zh, sep, en = str(text or "").partition(" / ")
    return en if sep and (language or get_language() or "").startswith("en") else zh


class ChineseFirstLocaleMiddleware(LocaleMiddleware):
    def process_request(self, request):
        if settings.LANGUAGE_COOKIE_NAME not in request.COOKIES:
            request.META.pop("HTTP_ACCEPT_LANGUAGE", None)
        super().process_request(request)
