"""The documents' sections: one list per kind of report that both renderers follow.

The HTML (Jinja2, ``templates/layout.html``) and the PDF (Typst, ``sections`` in
``templates/report.typ``) each write, for every section of :func:`sections` in order, its heading
and then the body their template gives for the section's ``key`` (a Jinja block, a Typst function
in a dictionary; a key without a body is an error in both).  The headings, their order, their
levels and so the 目录 of the HTML and of the PDF come from here alone: a section added here is
in both, or neither renders.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Section:
    """One heading and the body after it.

    ``level`` 1 is a chapter, 2 a section in it; ``numbered``: a chapter whose title is numbered
    in order (一、二、…: :func:`sections` writes the numeral, so a chapter added or moved renumbers
    the others); ``web_only``: in the web version only (no 目录 entry, not in the print HTML nor
    the PDF); ``new_page``: starts a page in print (附表, 附录); ``when``: the section is in the
    document only when this holds for its context."""

    key: str
    title: str
    level: int = 1
    web_only: bool = False
    new_page: bool = False
    when: Callable[[dict], bool] | None = None
    numbered: bool = True


NUMERALS = "一二三四五六七八九十"
APPENDIX = Section("appendix", "附录　方法与数据说明", new_page=True, numbered=False)

SECTIONS: dict[str, tuple[Section, ...]] = {
    "annual": (
        Section("findings", "主要发现"),
        Section("basics", "监测基本情况"),
        Section("academic", "学业表现"),
        Section("fitness", "体质健康"),
        Section("factors", "相关因素"),
        Section("verdicts", "优质均衡发展"),
        Section("se_table", "附表　各县（市、区）主要估计值及标准误", new_page=True, numbered=False,
                when=lambda ctx: bool(ctx["se_table"]["heads"])),
        APPENDIX,
    ),
    "county": (
        Section("findings", "主要发现"),
        Section("basics", "监测基本情况"),
        Section("compare", "与所在市、全省比较"),
        Section("academic", "学业表现", 2),
        Section("fitness", "体质健康", 2),
        Section("factors", "相关因素", 2),
        Section("resource", "资源配置"),
        Section("failing", "未达标的学校（学部）", 2),
        Section("all_schools", "全部学校（学部）", 2, web_only=True),
        Section("verdict", "优质均衡判定"),
        APPENDIX,
    ),
    "school": (
        Section("resource", "资源配置指标"),
        Section("participation", "参测情况"),
        APPENDIX,
    ),
}

CONTENTS = {"annual": True, "county": True, "school": False}  # whether the document has a 目录


def sections(ctx: dict) -> list[dict]:
    """The sections of the document whose context is ``ctx`` (its ``kind``), in order, each with
    a stable id: ``sec-N`` for the N-th chapter, ``sec-N-M`` for its M-th section (web-only
    sections counted, so an id never depends on the version).  Plain dicts: the Typst template
    reads them as JSON."""
    out, n, numeral = [], [0, 0], 0
    for s in SECTIONS[ctx["kind"]]:
        if s.when is not None and not s.when(ctx):
            continue
        title = s.title
        if s.level == 1:
            n[0], n[1] = n[0] + 1, 0
            ident = f"sec-{n[0]}"
            if s.numbered:
                title = f"{NUMERALS[numeral]}、{title}"
                numeral += 1
        else:
            n[1] += 1
            ident = f"sec-{n[0]}-{n[1]}"
        out.append({"key": s.key, "title": title, "level": s.level, "id": ident, "web_only": s.web_only,
                    "new_page": s.new_page})
    return out


def chapter(kind: str, key: str) -> str:
    """The numeral of the chapter ``key`` of a document of ``kind`` (e.g. ``"五"``), for a sentence
    that refers to it ("见第五部分"); a chapter shown only under a condition does not count."""
    numbered = [s.key for s in SECTIONS[kind] if s.level == 1 and s.numbered and s.when is None]
    return NUMERALS[numbered.index(key)]


def shown(ctx: dict, *, print_version: bool) -> list[dict]:
    """The sections a version shows: the print versions (print HTML, PDF) leave out the web-only ones."""
    return [s for s in ctx["sections"] if not (print_version and s["web_only"])]
