"""``junheng sample`` and ``junheng survey``."""

from __future__ import annotations

import click


@click.group()
def sample() -> None:
    """(being built)"""


@click.group()
def survey() -> None:
    """(being built)"""
