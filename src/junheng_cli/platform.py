"""The commands that work on the platform's database find their monitoring cycle here."""

from __future__ import annotations

from junheng.exceptions import ParameterError


def platform_cycle(year: int, grade: int):
    """Set up the database (created and migrated when new) and return the cycle of ``year`` and
    ``grade``; a missing cycle is a :class:`ParameterError` in Chinese and English."""
    from junheng_web.bootstrap import setup

    setup()
    from junheng_web.registry.models import Cycle

    cycle = Cycle.objects.filter(year=year, grade=grade).first()
    if cycle is None:
        raise ParameterError(f"平台上没有 {year} 年 {grade} 年级的监测周期 / the platform has no cycle for "
                             f"{year}, grade {grade}")
    return cycle
