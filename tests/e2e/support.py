"""What the browser tests share: Debian's Chromium, the artifacts folder, test pupils and sign-in."""

from __future__ import annotations

from pathlib import Path

from junheng.registry.codes import check_char

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "e2e"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run", "--disable-sync"]
PASSWORD = "e2e password 2022!"


def student_id(county: str, k: int) -> str:
    """A well-formed 学籍号 (G + an ID-number body with its MOD 11-2 check) for pupil ``k`` of ``county``."""
    body = f"{county}20110301{k:03d}"
    return "G" + body + check_char(body)


def login(page, base: str, username: str, password: str = PASSWORD) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def signed_in(browser, base: str, username: str, *, width: int = 1280, height: int = 900):
    """A new Chinese-language page of ``width`` × ``height`` signed in as ``username``."""
    page = browser.new_context(locale="zh-CN", viewport={"width": width, "height": height}).new_page()
    login(page, base, username)
    return page


def started(page, base: str, code: str) -> None:
    """The pupil's test begun on ``page``: sign in at ``base``/test/ with the login ``code``, start, and
    wait until the delivery page is ready."""
    page.goto(f"{base}/test/")
    page.fill("input[name=code]", code)
    page.click("button[type=submit]")
    page.wait_for_selector("#start")
    page.click("#start")
    page.wait_for_selector("#delivery[data-ready=true]")

