"""Every option of ``junheng sample`` and ``junheng survey`` is documented in the user guide."""

from __future__ import annotations

from pathlib import Path

import click
import pytest

from junheng_cli.survey import sample, survey

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "guide"
TEXT = (GUIDE / "sampling.md").read_text(encoding="utf-8") + (GUIDE / "estimation.md").read_text(encoding="utf-8")


def _options():
    for group in (sample, survey):
        for name, cmd in group.commands.items():
            for p in cmd.params:
                if isinstance(p, click.Option):
                    yield f"{group.name} {name}", max(p.opts, key=len)


@pytest.mark.parametrize("command, option", list(_options()))
def test_option_is_documented(command, option):
    assert f"`{option}" in TEXT or f"{option} " in TEXT, f"{command} {option} is not in docs/guide"


def test_commands_are_documented():
    for group in (sample, survey):
        for name in group.commands:
            assert f"junheng {group.name} {name}" in TEXT
