"""Every command and every option of ``junheng`` is documented in the user guide (docs/)."""

from __future__ import annotations

from pathlib import Path

import click
import pytest

from junheng_cli.main import cli

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _docs_text() -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in DOCS.rglob("*.md"))


def _commands(group: click.Group, prefix: str = "junheng"):
    for name, command in sorted(group.commands.items()):
        path = f"{prefix} {name}"
        if isinstance(command, click.Group):
            yield path, command
            yield from _commands(command, path)
        else:
            yield path, command


COMMANDS = list(_commands(cli))


@pytest.mark.parametrize("path,command", COMMANDS, ids=[p for p, _ in COMMANDS])
def test_every_command_is_in_the_user_guide(path, command):
    assert path in _docs_text(), f"`{path}` is not documented under docs/"


@pytest.mark.parametrize("path,command", COMMANDS, ids=[p for p, _ in COMMANDS])
def test_every_option_is_in_the_user_guide(path, command):
    text = _docs_text()
    missing = []
    for param in command.params:
        if not isinstance(param, click.Option):
            continue
        long_names = [o for o in (*param.opts, *param.secondary_opts) if o.startswith("--")]
        # a --x/--no-x flag is documented when either of its names is
        if long_names and not any(name in text for name in long_names):
            missing.append("/".join(long_names))
    assert not missing, f"options of `{path}` missing from docs/: {missing}"


def test_every_group_has_a_real_help_text():
    stubs = [p for p, c in COMMANDS if (c.help or "").strip() == "(being built)"]
    assert not stubs, f"commands still marked as being built: {stubs}"
