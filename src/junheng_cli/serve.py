"""``junheng serve``."""

from __future__ import annotations

import click


@click.group()
def serve() -> None:
    """(being built)"""
