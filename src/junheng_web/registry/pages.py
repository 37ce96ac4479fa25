"""What the pages of every app look up in the registry through the user's scope: the cycle of a
URL, the region a dashboard shows, and the names of a dashboard's parts."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _

from junheng_web.accounts.scoping import province_wide, region_of, restrict
from junheng_web.registry.models import Cycle, Region, School


def scoped_cycle(request: HttpRequest, pk: int) -> Cycle:
    """The cycle ``pk`` if the user may see it, else 404 (every cycle page starts here)."""
    return get_object_or_404(restrict(Cycle.objects.all(), request.user), pk=pk)


def dashboard_region(request: HttpRequest, code: str | None) -> Region | None:
    """The region a dashboard shows: ``code`` (city first for 济源, both city and county), or the user's own
    (None: the province — for a user who sees the province; an account bound to no region, e.g. a
    county user saved without one, gets a 404, not the province's figures or its cached page body)."""
    if code is None:
        region = region_of(request.user)
        if region is None and not province_wide(request.user):
            raise Http404
        return region
    region = (restrict(Region.objects.all(), request.user)
              .filter(code=code, level__in=[Region.Level.CITY, Region.Level.COUNTY]).order_by("level").first())
    if region is None:
        raise Http404
    return region


def name_parts(data: dict, region: Region | None) -> dict:
    """Give each part of a dashboard its ``code`` and ``name`` (schools of a county, else regions)."""
    if data["part_key"] == "school_code":
        names = dict(School.objects.filter(county=region).values_list("code", "name"))
    else:
        level = Region.Level.CITY if data["part_key"] == "city_code" else Region.Level.COUNTY
        names = dict(Region.objects.filter(level=level).values_list("code", "name"))
    for p in data["parts"]:
        p["code"] = p.get(data["part_key"], p.get("code"))
        p["name"] = names.get(p["code"], p["code"])
    return data


def form_errors(request: HttpRequest, form) -> None:
    """Every error of an invalid upload form as a message on the next page."""
    for errors in form.errors.values():
        for e in errors:
            messages.error(request, e)


def error_messages(request: HttpRequest, exc, cap: int | None = None) -> None:
    """A refused action's problems as messages on the next page: one per issue of an
    ``InputError`` (``issue.message()``, in Chinese and English), at most ``cap`` of them and then
    "… and N more"; any other error (a ``ParameterError``) as its text."""
    issues = list(getattr(exc, "issues", None) or [])
    if not issues:
        messages.error(request, str(exc))
        return
    shown = issues if cap is None else issues[:cap]
    for issue in shown:
        messages.error(request, issue.message())
    if len(issues) > len(shown):
        rest = len(issues) - len(shown)
        messages.error(request, _("…… 另有 %(n)d 处问题") % {"n": rest})
