"""The header's search box (issue 17.3): a school by 标识码 or name, a pupil by 学籍号 — within the
user's scope (``restrict``), pupils masked, every search in the audit log."""

from __future__ import annotations

import django_tables2 as tables
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from junheng_web.accounts.audit import audit
from junheng_web.accounts.scoping import restrict
from junheng_web.registry.admin import mask_name
from junheng_web.registry.models import Pupil, School, mask_student_id
from junheng_web.tables import ListTable, PersonalColumn

LIMIT = 50
MIN_ID = 6  # a 学籍号 prefix shorter than this would list a whole county


class SchoolHits(ListTable):
    code = tables.Column(gettext_lazy("学校标识码"))
    name = tables.Column(gettext_lazy("学校"))
    county = tables.Column(gettext_lazy("区县"), accessor="county__name")
    stage = tables.Column(gettext_lazy("学段"))
    enrol_g6 = tables.Column(gettext_lazy("六年级人数"), attrs={"td": {"class": "num"}})


class PupilHits(ListTable):
    student_id = PersonalColumn(gettext_lazy("学籍号"), mask=mask_student_id)
    name = PersonalColumn(gettext_lazy("姓名"), mask=mask_name)
    school = tables.Column(gettext_lazy("学校"), accessor="school__name")
    county = tables.Column(gettext_lazy("区县"), accessor="school__county__name")
    grade = tables.Column(gettext_lazy("年级"))


def find(user, q: str) -> tuple[list, list]:
    """Schools (code prefix or name) and pupils (学籍号 prefix, at least ``MIN_ID`` characters) ``user`` may see."""
    q = q.strip()
    if not q:
        return [], []
    schools = list(restrict(School.objects.all(), user).filter(Q(code__startswith=q) | Q(name__icontains=q))
                   .select_related("county").order_by("code")[:LIMIT])
    pupils = []
    key = q.upper()
    if len(key) >= MIN_ID and any(ch.isdigit() for ch in key):
        pupils = list(restrict(Pupil.objects.all(), user).filter(student_id__startswith=key)
                      .select_related("school", "school__county").order_by("student_id")[:LIMIT])
    return schools, pupils


@login_required
def search(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("q", "").strip()[:64]
    schools, pupils = find(request.user, q)
    if q:
        shown = mask_student_id(q) if len(q) >= MIN_ID and any(ch.isdigit() for ch in q) else q
        audit(request, "search", f"{shown}: {len(schools)} schools, {len(pupils)} pupils", rows=len(pupils))
    ctx = {"q": q, "title": _("搜索"), "crumbs": [], "limit": LIMIT, "min_id": MIN_ID,
           "schools": SchoolHits(schools, orderable=False) if schools else None,
           "pupils": PupilHits(pupils, orderable=False) if pupils else None}
    return render(request, "registry/search.html", ctx)
