"""Helpers for tests that read a page's HTML."""

from __future__ import annotations

import re

# Django's form token: <input type="hidden" name="csrfmiddlewaretoken" value="…"> with 64 random
# characters of [a-zA-Z0-9] (a fresh random mask + the secret under it), in every page with a form or
# the header's logout button.
_CSRF_VALUE = re.compile(r'(name="csrfmiddlewaretoken" value=")[a-zA-Z0-9]{64}(")')


def without_csrf_tokens(html: str) -> str:
    """The page with each CSRF token's value blanked, for checks that a short text is NOT on a page.

    The token is uniformly random: a given 4-character ASCII text (such as the site code "TA01")
    falls somewhere in its 64 characters with probability 61/62**4 ≈ 4.1e-6, a 3-character one
    ("TX0", "bob") 62/62**3 ≈ 2.6e-4 — per page.  The permission matrix alone checks ~500 pages a
    run on each database, so "TA01 leaked" came up now and then with nothing leaked (seen once on
    PostgreSQL: "charlie sees ['TA01'] on site_list", a page that shows none of county A).  Only the
    token's value goes; the rest of the page, attributes and text, is still matched."""
    return _CSRF_VALUE.sub(r"\1\2", html)
