"""The audit log as a table (``junheng_web.tables``): filtered by user, action, region, dates and object."""

from __future__ import annotations

import django_filters as filters
import django_tables2 as tables
from django import forms
from django.utils.translation import gettext_lazy as _

from junheng_web.accounts.models import AuditLog, action_label
from junheng_web.tables import ListTable


def _actions(request=None):
    codes = AuditLog.objects.values_list("action", flat=True).distinct().order_by("action")
    return [(a, action_label(a)) for a in codes]


class AuditFilter(filters.FilterSet):
    user = filters.CharFilter(label=_("用户"), field_name="username")
    action = filters.ChoiceFilter(label=_("操作"), choices=_actions, empty_label=_("全部操作"))
    region = filters.CharFilter(label=_("地区代码"), field_name="region_code", lookup_expr="startswith")
    since = filters.DateFilter(label=_("从"), field_name="at", lookup_expr="date__gte",
                               widget=forms.DateInput(attrs={"type": "date"}))
    until = filters.DateFilter(label=_("到"), field_name="at", lookup_expr="date__lte",
                               widget=forms.DateInput(attrs={"type": "date"}))
    q = filters.CharFilter(label=_("对象"), field_name="what", lookup_expr="icontains")

    class Meta:
        model = AuditLog
        fields = ["user", "action", "region", "since", "until", "q"]


class AuditTable(ListTable):
    at = tables.DateTimeColumn(verbose_name=_("时间"), format="Y-m-d H:i:s")
    username = tables.Column(_("用户"))
    action = tables.Column(_("操作"))
    what = tables.Column(_("对象"))
    rows = tables.Column(_("行数"), default="", attrs={"td": {"class": "num"}})
    region_code = tables.Column(_("地区"))
    ip = tables.Column(_("来源地址"), default="")
    path = tables.TemplateColumn("<code>{{ value }}</code>", verbose_name=_("路径"))

    def render_action(self, value):
        return action_label(value)

    def value_action(self, value):
        return action_label(value)

    def value_path(self, value):
        return value
