"""A region of the pages and frames: a county or a city (a :class:`Region` or its code), or None
for the whole province — as an ORM filter, as a SQL condition, and the column of its parts."""

from __future__ import annotations

from junheng_web.registry.models import Region


def as_region(region: Region | str | None) -> Region | None:
    """``region`` as a Region (a code: the city first for 济源, both city and county; None if unknown)."""
    if region is None or isinstance(region, Region):
        return region
    return Region.objects.filter(code=str(region)).order_by("level").first()


def in_region(qs, region: Region | str | None, school: str):
    """Rows of ``qs`` whose school (the lookup ``school``, e.g. ``"pupil__school"``) is in ``region``
    (None: all; an unknown code: none)."""
    reg = as_region(region)
    if region is not None and reg is None:
        return qs.none()
    if reg is not None and reg.level == Region.Level.COUNTY:
        return qs.filter(**{f"{school}__county": reg})
    if reg is not None and reg.level == Region.Level.CITY:
        return qs.filter(**{f"{school}__county__parent": reg})
    return qs


def region_sql(region: Region | str | None, county: str = "c") -> tuple[str, list]:
    """The same as a SQL condition on the county table aliased ``county``: (`` AND …``, params)."""
    reg = as_region(region)
    if region is not None and reg is None:
        return " AND 1 = 0", []
    if reg is not None and reg.level == Region.Level.COUNTY:
        return f" AND {county}.id = %s", [reg.pk]
    if reg is not None and reg.level == Region.Level.CITY:
        return f" AND {county}.parent_id = %s", [reg.pk]
    return "", []


def part_key(region: Region | None) -> str:
    """The column of a dashboard's parts: cities of the province, counties of a city, schools of a county."""
    if region is None:
        return "city_code"
    return "county_code" if region.level == Region.Level.CITY else "school_code"
