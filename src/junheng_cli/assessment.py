"""``junheng items`` and ``junheng booklets``: the item bank and test assembly."""

from __future__ import annotations

import click


@click.group()
def items() -> None:
    """(being built)"""


@click.group()
def booklets() -> None:
    """(being built)"""
