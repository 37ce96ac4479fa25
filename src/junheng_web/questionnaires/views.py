"""Questionnaire pages of a cycle: the list (a ``junheng_web.tables`` table; responses per county, through ``restrict``), the
definition upload (province admin), and the summary of a region (scale means, indicator rates —
computed by the core, the same figures ``junheng questionnaire scales`` prints).  The upload of
responses is the cycle's upload page (``/cycles/<pk>/upload/questionnaire/``)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from junheng.exceptions import JunhengError
from junheng_web.accounts.audit import audit
from junheng_web.accounts.scoping import can, require, restrict
from junheng_web.questionnaires import services
from junheng_web.questionnaires.models import Questionnaire, QuestionnaireResponse
from junheng_web.questionnaires.tables import QuestionnaireFilter, QuestionnaireTable
from junheng_web.registry.models import Region
from junheng_web.registry.pages import dashboard_region, error_messages, name_parts, scoped_cycle
from junheng_web.tables import list_page


@login_required
def questionnaire_list(request: HttpRequest, pk: int) -> HttpResponse:
    """The cycle's questionnaires as a table (paged, sorted, filtered by code, title or respondent,
    exportable), the responses per county of the user's area, and the definition upload."""
    cycle = scoped_cycle(request, pk)
    user = request.user
    qs = restrict(Questionnaire.objects.filter(cycle=cycle), user).order_by("code")
    questionnaires = list(qs)
    counties = restrict(Region.objects.all(), user).filter(level=Region.Level.COUNTY)
    responses = restrict(QuestionnaireResponse.objects.filter(cycle=cycle), user)
    rows = services.responses_by_county(responses, counties, questionnaires)
    can_summary, can_upload = can(user, "dashboard.view"), can(user, "questionnaire.upload")
    return list_page(request, QuestionnaireTable, qs, filterset=QuestionnaireFilter, title=_("问卷"),
                     crumbs=[(_("监测周期"), reverse("cycle_list")),
                             (str(cycle), reverse("cycle_detail", args=[cycle.pk]))],
                     export=f"questionnaires-{cycle.year}", template="questionnaires/list.html",
                     table_kwargs={"cycle": cycle, "can_summary": can_summary, "can_upload": can_upload},
                     context={"cycle": cycle, "nav": "cycles/_nav.html", "questionnaires": questionnaires,
                              "rows": rows, "can_define": can(user, "questionnaire.define")})


@login_required
@require_POST
def questionnaire_define(request: HttpRequest, pk: int) -> HttpResponse:
    """Store a definition (JSON) for the cycle; a definition with responses cannot change."""
    require(request.user, "questionnaire.define")
    cycle = scoped_cycle(request, pk)
    upload = request.FILES.get("definition")
    if upload is None:
        messages.error(request, _("请选择问卷定义文件（JSON）"))
        return redirect("questionnaire_list", pk=cycle.pk)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / Path(upload.name).name
        with path.open("wb") as out:
            for chunk in upload.chunks():
                out.write(chunk)
        try:
            q, changed = services.define(cycle, path)
        except JunhengError as exc:
            error_messages(request, exc, cap=50)
        else:
            audit(request, "define", f"questionnaire {q.code}")
            messages.success(request, (_("已保存问卷 %(code)s") if changed else _("问卷 %(code)s 未变")) % {"code": q.code})
    return redirect("questionnaire_list", pk=cycle.pk)


@login_required
def questionnaire_summary(request: HttpRequest, pk: int, code: str, region: str | None = None) -> HttpResponse:
    """Scale means and indicator rates of one questionnaire for a region (default: the user's own)
    and its parts, weighted by the cycle's final weights when they exist."""
    require(request.user, "dashboard.view")
    cycle = scoped_cycle(request, pk)
    q = get_object_or_404(restrict(Questionnaire.objects.filter(cycle=cycle), request.user), code=code)
    area = dashboard_region(request, region)
    data = name_parts(services.region_summary(cycle, q, area), area)
    for p in data["parts"]:
        p["cells"] = list(zip(data["variables"], p["values"]))
    return render(request, "questionnaires/summary.html", {
        "cycle": cycle, "q": q, "region": area, "data": data, "rows": list(zip(data["variables"], data["overall"])),
        "drill": data["part_key"] != "school_code"})
