"""Browser tests: Debian's Chromium driven by Playwright; screenshots kept under test-artifacts/e2e/."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.e2e.support import ARGS, ARTIFACTS, CHROMIUM


@pytest.fixture
def browser(monkeypatch):
    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian's chromium is not installed")
    from playwright.sync_api import sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # the ORM is used between sync Playwright calls
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def artifacts() -> Path:
    """The folder for screenshots (kept after the run as test artifacts)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
