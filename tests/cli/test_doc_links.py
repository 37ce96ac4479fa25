"""The README and every page under docs/ link only to files that exist (relative links, with their
#anchors checked against the target's headings), and the docs index (docs/README.md) and
docs/deploy.md between them link every guide and methods page."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")


def _anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    return re.sub(r"\s", "-", re.sub(r"[^\w\s-]", "", text))


def _anchors(page: Path) -> set[str]:
    text = re.sub(r"^```.*?^```", "", page.read_text(encoding="utf-8"), flags=re.M | re.S)
    return {_anchor(m.group(1)) for m in re.finditer(r"^#{1,6}\s+(.*)$", text, re.M)}


def dead_links(page: Path) -> list[str]:
    text = re.sub(r"^```.*?^```", "", page.read_text(encoding="utf-8"), flags=re.M | re.S)
    text = re.sub(r"`[^`\n]*`", "", text)  # code spans are not links
    dead = []
    for target in LINK.findall(text):
        if re.match(r"[a-z]+:", target):  # http:, https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        if not dest.exists():
            dead.append(target)
        elif anchor and dest.suffix == ".md" and anchor not in _anchors(dest):
            dead.append(target)
    return dead


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_relative_links_resolve(page):
    assert not dead_links(page), f"{page.relative_to(ROOT)}: dead links {dead_links(page)}"


def test_the_index_links_every_guide_and_methods_page():
    linked = set()
    for index in (ROOT / "docs" / "README.md", ROOT / "docs" / "deploy.md"):
        for target in LINK.findall(index.read_text(encoding="utf-8")):
            linked.add((index.parent / target.partition("#")[0]).resolve())
    pages = sorted((ROOT / "docs" / "guide").glob("*.md")) + sorted((ROOT / "docs" / "methods").glob("*.md"))
    missing = [str(p.relative_to(ROOT)) for p in pages if p.resolve() not in linked]
    assert not missing, f"not linked from docs/README.md or docs/deploy.md: {missing}"


def test_a_dead_link_is_found(tmp_path):
    (tmp_path / "a.md").write_text("# Title one\n[ok](a.md#title-one) [gone](b.md) [bad](a.md#nope)\n"
                                   "[web](https://x.org) `[code](c.md)`\n", encoding="utf-8")
    assert dead_links(tmp_path / "a.md") == ["b.md", "a.md#nope"]
