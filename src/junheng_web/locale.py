"""Language choice: zh-Hans unless the user chose otherwise.

Django's ``LocaleMiddleware`` follows the browser's ``Accept-Language`` when no language has
been chosen; junheng's pages are for Chinese officials and default to zh-Hans whatever the
browser says. A user who picks English (the language switch sets the language cookie) gets
English from then on.
"""

from __future__ import annotations

from django.conf import settings
from django.middleware.locale import LocaleMiddleware


class ChineseFirstLocaleMiddleware(LocaleMiddleware):
    def process_request(self, request):
        if settings.LANGUAGE_COOKIE_NAME not in request.COOKIES:
            request.META.pop("HTTP_ACCEPT_LANGUAGE", None)
        super().process_request(request)
