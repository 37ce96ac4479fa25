"""``junheng fitness``."""

from __future__ import annotations

import click


@click.group()
def fitness() -> None:
    """(being built)"""
