"""The cycle pages' lists as tables (``junheng_web.tables``): the columns each list shows and the
filters it offers.  Filter choices that name regions come from ``restrict`` on the request's user,
so an option never shows a county the user may not see."""

from __future__ import annotations

import django_filters as filters
import django_tables2 as tables
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from junheng_web.accounts.scoping import restrict
from junheng_web.registry.models import Region
from junheng_web.sampling.models import SampledSchool
from junheng_web.tables import ListTable


def _counties(request):
    if request is None:
        return Region.objects.none()
    return restrict(Region.objects.all(), request.user).filter(level=Region.Level.COUNTY).order_by("code")


def text_search(queryset, fields: tuple[str, ...], value: str):
    """Rows any of whose ``fields`` contains ``value`` (a code or part of a name)."""
    value = (value or "").strip()
    if not value:
        return queryset
    q = Q()
    for f in fields:
        q |= Q(**{f"{f}__icontains": value})
    return queryset.filter(q)


class SampledSchoolFilter(filters.FilterSet):
    q = filters.CharFilter(label=_("学校名称或代码"), method="search")
    county = filters.ModelChoiceFilter(label=_("区县"), field_name="school__county", queryset=_counties,
                                       empty_label=_("全部"))
    role = filters.ChoiceFilter(label=_("身份"), choices=SampledSchool.Role.choices, empty_label=_("全部"))
    status = filters.ChoiceFilter(label=_("状态"), choices=SampledSchool.Status.choices, empty_label=_("全部"))

    class Meta:
        model = SampledSchool
        fields = ["q", "county", "role", "status"]

    def search(self, queryset, name, value):
        return text_search(queryset, ("school__name", "school__code"), value)


class SampledSchoolTable(ListTable):
    county = tables.Column(_("区县"), accessor="school__county__name", order_by=("school__county__code",))
    school = tables.Column(_("学校"), accessor="school__name")
    code = tables.Column(_("学校标识码"), accessor="school__code")
    role = tables.Column(_("身份"))
    replaces = tables.Column(_("替补对象"), accessor="replaces__school__name", default="")
    mos = tables.Column(_("规模"), attrs={"td": {"class": "num"}})
    status = tables.Column(_("状态"))
    actions = tables.TemplateColumn(template_name="cycles/_school_actions.html", verbose_name=_("操作"),
                                    orderable=False, exclude_from_export=True)

    class Meta(ListTable.Meta):
        row_attrs = {"data-school": lambda record: record.school.code}

    def __init__(self, *args, can_replace: bool = False, cycle=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.cycle = cycle
        if not can_replace:
            self.columns.hide("actions")
