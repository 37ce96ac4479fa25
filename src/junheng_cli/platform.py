"""The commands that work on the platform's database find their monitoring cycle here."""

from __future__ import annotations


def platform_cycle(year: int, grade: int):
    """Set up the database (created and migrated when new) and return the cycle of ``year`` and
    ``grade``; a missing cycle is a :class:`ParameterError` in Chinese and English."""
    from junheng_web.bootstrap import setup

    setup()
    from junheng_web.registry.services import find_cycle

    return find_cycle(year, grade)
