"""The 报告 page's two lists as tables (``junheng_web.tables``): 县级报告 and 学校简表, paged,
sorted, filtered by city, county, code or name and written or not, exportable to Excel (the rows
and the formats written, not the files).  The rows come from ``services.county_reports`` /
``school_sheets`` (the reports page's rules); region choices come from ``restrict``."""

from __future__ import annotations

import django_filters as filters
import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as gettext_now
from django.utils.translation import gettext_lazy as _

from junheng_web.accounts.scoping import restrict
from junheng_web.registry.models import Region
from junheng_web.tables import ListTable, text_search

_WRITTEN = (("1", _("已生成")), ("0", _("尚未生成")))


def _regions(request, level: str) -> list[tuple[str, str]]:
    if request is None:
        return []
    return [(r.code, r.name) for r in restrict(Region.objects.filter(level=level), request.user).order_by("code")]


class _ReportFilter(filters.FilterSet):
    """``city`` / ``county`` name region codes at ``city_field`` / ``county_field``."""

    city_field = county_field = ""
    search_fields: tuple[str, ...] = ()
    q = filters.CharFilter(label=_("代码或名称"), method="search")
    city = filters.ChoiceFilter(label=_("市"), choices=(), empty_label=_("全部"), method="in_city")
    county = filters.ChoiceFilter(label=_("区县"), choices=(), empty_label=_("全部"), method="in_county")
    written = filters.ChoiceFilter(label=_("是否已生成"), choices=_WRITTEN, empty_label=_("全部"),
                                   method="by_written")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.filters["city"].extra["choices"] = _regions(self.request, "city")  # the user's area only
        self.filters["county"].extra["choices"] = _regions(self.request, "county")

    def search(self, queryset, name, value):
        return text_search(queryset, self.search_fields, value)

    def in_city(self, queryset, name, value):
        return queryset.filter(**{self.city_field: value})

    def in_county(self, queryset, name, value):
        return queryset.filter(**{self.county_field: value})

    def by_written(self, queryset, name, value):
        return queryset.filter(written=value == "1")


class CountyReportFilter(_ReportFilter):
    city_field, county_field, search_fields = "parent__code", "code", ("code", "name")


class SchoolSheetFilter(_ReportFilter):
    city_field, county_field, search_fields = "county__parent__code", "county__code", ("code", "name")


class FormatsColumn(tables.Column):
    """The formats written (links to the files on the page, their names in the export); 尚未生成 if none."""

    def __init__(self, verbose_name, url_name: str):
        super().__init__(verbose_name, accessor="written", order_by=("-written", "code"), empty_values=())
        self.url_name = url_name

    @staticmethod
    def _label(fmt: str) -> str:
        return "PDF" if fmt == "pdf" else gettext_now("网页版")

    def render(self, record, table):
        formats = table.formats.get(record.code, [])
        if not formats:
            return format_html('<span class="hint">{}</span>', gettext_now("尚未生成"))
        return format_html_join(" ", '<a href="{}">{}</a>',
                                ((reverse(self.url_name, args=[record.code, f]), self._label(f)) for f in formats))

    def value(self, record, table):
        return "、".join(self._label(f) for f in table.formats.get(record.code, [])) or gettext_now("尚未生成")


class _ReportTable(ListTable):
    def __init__(self, *args, formats: dict | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.formats = formats or {}


class CountyReportTable(_ReportTable):
    name = tables.Column(_("县（市、区）"))
    code = tables.Column(_("代码"))
    city = tables.Column(_("所属市"), accessor="parent__name", order_by=("parent__code", "code"), default="")
    report = FormatsColumn(_("报告"), "report_county")

    class Meta(ListTable.Meta):
        row_attrs = {"data-code": lambda record: record.code}


class SchoolSheetTable(_ReportTable):
    name = tables.Column(_("学校"))
    code = tables.Column(_("学校标识码"))
    county = tables.Column(_("县（市、区）"), accessor="county__name", order_by=("county__code", "code"))
    city = tables.Column(_("所属市"), accessor="county__parent__name", order_by=("county__parent__code", "code"),
                         default="")
    sheet = FormatsColumn(_("简表"), "report_school")

    class Meta(ListTable.Meta):
        row_attrs = {"data-code": lambda record: record.code}
