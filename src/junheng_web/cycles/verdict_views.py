"""The 优质均衡 pages of a cycle: every county of the user's scope (``verdicts.county_summaries``,
with the county dot map) and one county requirement by requirement (``verdicts.county_detail``)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from junheng_web.accounts.scoping import require
from junheng_web.cycles.verdicts import county_detail, county_summaries
from junheng_web.registry.pages import scoped_cycle
from junheng_web.reports.maps import map_points


@login_required
def verdicts(request: HttpRequest, pk: int) -> HttpResponse:
    """优质均衡: every county of the user's scope with its verdict (``verdicts.county_summaries``)."""
    require(request.user, "dashboard.view")
    cycle = scoped_cycle(request, pk)
    data = county_summaries(request.user, cycle)
    points = map_points([{"code": r["code"], "name": r["name"], "city": r["city"],
                          "resource": r["n_units_pass"] / r["n_units"] if r["n_units"] else None,
                          "cv": r["max_cv_primary"], "quality": r["quality"], "overall": r["overall"]}
                         for r in data["rows"]])
    return render(request, "reports/verdicts.html", {"cycle": cycle, "map_points": points, **data})


@login_required
def verdict_county(request: HttpRequest, pk: int, code: str) -> HttpResponse:
    """One county's 优质均衡 verdict, requirement by requirement, and its 整改建议."""
    require(request.user, "dashboard.view")
    cycle = scoped_cycle(request, pk)
    data = county_detail(request.user, cycle, code)
    return render(request, "reports/verdict_county.html", {"cycle": cycle, **data})

