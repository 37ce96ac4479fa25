"""Every command of ``junheng`` is documented in the user guide (docs/), and every option of a
command in that command's own section — not merely somewhere in the docs."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from junheng_cli.main import cli

DOCS = Path(__file__).resolve().parents[2] / "docs"
HEADING = re.compile(r"^(#{1,6})\s", re.M)


def _split(text: str) -> list[str]:
    """A page's sections: from each heading to the next heading of the same or a higher level (so
    a section includes its subsections); the text before the first heading is a section too."""
    return [text[a:b] for a, b in _spans(text)]


def _spans(text: str) -> list[tuple[int, int]]:
    fences = [m.start() for m in re.finditer(r"^```", text, re.M)]
    in_code = lambda pos: sum(f < pos for f in fences) % 2 == 1  # noqa: E731  (a `# comment` in a code block)
    heads = [(m.start(), len(m.group(1))) for m in HEADING.finditer(text) if not in_code(m.start())]
    if not heads or heads[0][0] > 0:
        heads.insert(0, (0, 7))
    return [(start, next((s for s, lv in heads[i + 1:] if lv <= level), len(text)))
            for i, (start, level) in enumerate(heads)]


PAGES = [p.read_text(encoding="utf-8") for p in sorted(DOCS.rglob("*.md"))]
SECTIONS = [s for page in PAGES for s in _split(page)]


def _commands(group: click.Group, prefix: str = "junheng"):
    for name, command in sorted(group.commands.items()):
        path = f"{prefix} {name}"
        if isinstance(command, click.Group):
            yield path, command
            yield from _commands(command, path)
        else:
            yield path, command


COMMANDS = list(_commands(cli))


def _own_sections(path: str, pages: list[str]) -> list[str]:
    """The sections that document ``path``: for every place it is named, the innermost section
    around that place (the heading it is under, with that heading's subsections)."""
    out = []
    for text in pages:
        spans = _spans(text)
        for m in re.finditer(re.escape(path) + r"(?![\w-])", text):
            inner = max((sp for sp in spans if sp[0] <= m.start() < sp[1]), key=lambda sp: sp[0])
            if text[inner[0]:inner[1]] not in out:
                out.append(text[inner[0]:inner[1]])
    return out


def _missing(path: str, command: click.Command, pages: list[str]) -> list[str]:
    """The long options of ``command`` that its own sections do not name."""
    text = "\n".join(_own_sections(path, pages))
    missing = []
    for param in command.params:
        if not isinstance(param, click.Option):
            continue
        names = [*param.opts, *param.secondary_opts]
        long_names = [o for o in names if o.startswith("--")]
        # documented when any of its names is: --x or --no-x of a flag, or -o in the synopsis
        if long_names and not any(re.search(r"(?<![\w-])" + re.escape(n) + r"(?![\w-])", text) for n in names):
            missing.append("/".join(long_names))
    return missing


@pytest.mark.parametrize("path,command", COMMANDS, ids=[p for p, _ in COMMANDS])
def test_every_command_is_in_the_user_guide(path, command):
    assert any(path in s for s in SECTIONS), f"`{path}` is not documented under docs/"


@pytest.mark.parametrize("path,command", COMMANDS, ids=[p for p, _ in COMMANDS])
def test_every_option_is_in_its_commands_section(path, command):
    missing = _missing(path, command, PAGES)
    assert not missing, f"options of `{path}` missing from its section of docs/: {missing}"


def test_an_option_named_only_in_another_commands_section_is_missing():
    @click.command()
    @click.option("--seed")
    @click.option("--out")
    @click.option("--dry-run/--no-dry-run")
    def a(seed, out, dry_run):
        """a"""

    page = ("# Guide\n\n## junheng a\n\n`junheng a --out X --no-dry-run`\n\n### More\n\nabout a\n\n"
            "## junheng b\n\n`junheng b --seed 1`; `--outside`; `junheng ab --seed`\n")
    assert _missing("junheng a", a, [page]) == ["--seed"]
    assert _missing("junheng a", a, ["## junheng a\n`--seeds`"]) == ["--seed", "--out", "--dry-run/--no-dry-run"]


def test_every_group_has_a_real_help_text():
    stubs = [p for p, c in COMMANDS if (c.help or "").strip() == "(being built)"]
    assert not stubs, f"commands still marked as being built: {stubs}"
