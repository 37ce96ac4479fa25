"""``junheng synth``."""

from __future__ import annotations

import click


@click.group()
def synth() -> None:
    """(being built)"""
