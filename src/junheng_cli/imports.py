"""``junheng import``: registry files into the system of record."""

from __future__ import annotations

import click


@click.group(name="import")
def import_group() -> None:
    """Import registry files (schools, pupils) — all or nothing, idempotent."""
