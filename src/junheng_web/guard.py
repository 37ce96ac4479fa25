"""Requests no page can answer, refused before any view runs.

A NUL character (``%00``) in the address or its query string: PostgreSQL stores no NUL in text,
so any lookup with such a value (a 学籍号 search, a county code in a path, a filter) raised
``ValueError`` in the database driver — a server error.  No page takes a NUL, so every such
request gets the platform's 400 page instead (forms already refuse NUL in what they read:
Django's ``ProhibitNullCharactersValidator``).
"""

from __future__ import annotations

from django.core.exceptions import BadRequest


def _has_nul(request) -> bool:
    if "\x00" in request.path:
        return True
    return any("\x00" in key or any("\x00" in v for v in values) for key, values in request.GET.lists())


class RejectNulMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if _has_nul(request):
            raise BadRequest("NUL character in the request")
        return self.get_response(request)
