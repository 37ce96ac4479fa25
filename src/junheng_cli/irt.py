"""``junheng irt``."""

from __future__ import annotations

import click


@click.group()
def irt() -> None:
    """(being built)"""
