"""The cycle pages' lists as tables (``junheng_web.tables``): the columns each list shows and the
filters it offers.  Filter choices that name regions come from ``restrict`` on the request's user,
so an option never shows a county the user may not see."""

from __future__ import annotations

import django_filters as filters
import django_tables2 as tables
from django.db.models import F
from django.utils.translation import gettext_lazy as _

from junheng_web.accounts.scoping import restrict
from junheng_web.cycles.progress import missing
from junheng_web.jobs.models import Job
from junheng_web.registry.models import Region
from junheng_web.sampling.models import SampledSchool
from junheng_web.tables import ListTable, text_search
from junheng_web.testsites.models import TestSite


def _counties(request):
    if request is None:
        return Region.objects.none()
    return restrict(Region.objects.all(), request.user).filter(level=Region.Level.COUNTY).order_by("code")


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


def _county_codes(request):
    return [(c.code, c.name) for c in _counties(request)]


class TestSiteFilter(filters.FilterSet):
    q = filters.CharFilter(label=_("测试点编号或名称"), method="search")
    county = filters.ChoiceFilter(label=_("区县"), field_name="county__code", choices=(), empty_label=_("全部"))

    class Meta:
        model = TestSite
        fields = ["q", "county"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.filters["county"].extra["choices"] = _county_codes(self.request)  # the user's counties only

    def search(self, queryset, name, value):
        return text_search(queryset, ("code", "name"), value)


class TestSiteTable(ListTable):
    code = tables.TemplateColumn('<a href="{% url \'site_detail\' record.cycle_id record.pk %}">{{ value }}</a>',
                                 verbose_name=_("编号"))
    name = tables.Column(_("名称"))
    county = tables.Column(_("区县"), accessor="county__name", order_by=("county__code", "code"))
    schools = tables.Column(_("参测学校"), empty_values=(), orderable=False)
    n_sessions = tables.Column(_("场次"), attrs={"td": {"class": "num"}})

    def render_schools(self, record):
        return "、".join(ss.school.name for ss in record.schools.all())

    def value_schools(self, record):
        return self.render_schools(record)

    def value_code(self, value):
        return value


class CycleTable(ListTable):
    name = tables.TemplateColumn('<a href="{% url \'cycle_detail\' record.pk %}">{{ record }}</a>',
                                 verbose_name=_("名称"), order_by=("year", "grade"))
    year = tables.Column(_("年份"))
    grade = tables.Column(_("年级"))
    subjects = tables.Column(_("科目"), orderable=False)

    def render_subjects(self, value):
        return "、".join(value or [])

    def value_subjects(self, value):
        return self.render_subjects(value)

    def value_name(self, record):
        return str(record)


MISSING = (("roster", _("缺名册")), ("fitness", _("缺体测数据")), ("questionnaire", _("缺学生问卷")))


class OverdueFilter(filters.FilterSet):
    """The 催报 list's filters: county, text, which submission is missing."""

    q = filters.CharFilter(label=_("学校名称或代码"), method="search")
    county = filters.ModelChoiceFilter(label=_("区县"), field_name="school__county", queryset=_counties,
                                       empty_label=_("全部"))
    missing = filters.ChoiceFilter(label=_("缺少"), choices=MISSING, empty_label=_("任一项"), method="by_missing")

    class Meta:
        model = SampledSchool
        fields = ["q", "county", "missing"]

    def search(self, queryset, name, value):
        return text_search(queryset, ("school__name", "school__code"), value)

    def by_missing(self, queryset, name, value):
        return {"roster": queryset.filter(n_roster=0), "fitness": queryset.filter(n_fitness__lt=F("n_pupils")),
                "questionnaire": queryset.filter(n_questionnaire__lt=F("n_pupils"))}.get(value, queryset)


class OverdueTable(ListTable):
    """催报名单: a sampled school that has not submitted everything, what it owes, whom to call."""

    county = tables.Column(_("区县"), accessor="school__county__name", order_by=("school__county__code",))
    school = tables.Column(_("学校"), accessor="school__name")
    code = tables.Column(_("学校标识码"), accessor="school__code")
    n_roster = tables.Column(_("名册人数"), attrs={"td": {"class": "num"}})
    n_pupils = tables.Column(_("样本学生"), attrs={"td": {"class": "num"}})
    n_fitness = tables.Column(_("有体测数据"), attrs={"td": {"class": "num"}})
    n_questionnaire = tables.Column(_("有学生问卷"), attrs={"td": {"class": "num"}})
    owed = tables.Column(_("尚缺"), accessor="n_missing", order_by=("-n_missing",))
    contacts = tables.Column(_("学校操作员账号"), accessor="school__code", orderable=False)

    class Meta(ListTable.Meta):
        row_attrs = {"data-school": lambda record: record.school.code}

    def __init__(self, *args, contacts: dict | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.contact_of = contacts or {}

    def render_owed(self, record):
        return "；".join(missing(record.n_roster, record.n_pupils, record.n_fitness, record.n_questionnaire))

    def value_owed(self, record):
        return self.render_owed(record)

    def render_contacts(self, value):
        return self.contact_of.get(value, "—")

    def value_contacts(self, value):
        return self.render_contacts(value)


class UploadJobFilter(filters.FilterSet):
    """The 上传记录 list's filters: county, status, the file's or the school's name or code."""

    q = filters.CharFilter(label=_("文件名或学校"), method="search")
    county = filters.ModelChoiceFilter(label=_("区县"), field_name="county", queryset=_counties, empty_label=_("全部"))
    status = filters.ChoiceFilter(label=_("状态"), choices=Job.Status.choices, empty_label=_("全部"))

    class Meta:
        model = Job
        fields = ["q", "county", "status"]

    def search(self, queryset, name, value):
        return text_search(queryset, ("params__name", "school__name", "school__code"), value)


class UploadJobTable(ListTable):
    """上传记录: one upload (an import job) of a kind — who, which file, when, how it went."""

    id = tables.TemplateColumn('<a href="{% url \'job_detail\' record.pk %}">{{ record.pk }}</a>',
                               verbose_name=_("编号"), attrs={"td": {"class": "num"}})
    name = tables.Column(_("文件"), accessor="params__name", orderable=False, default="")
    county = tables.Column(_("区县"), accessor="county__name", order_by=("county__code", "-created_at"),
                           default="")
    school = tables.Column(_("学校"), accessor="school__name", default="")
    created_by = tables.Column(_("上传人"), accessor="created_by__username", default="")
    status = tables.Column(_("状态"))
    created_at = tables.DateTimeColumn(verbose_name=_("时间"), format="Y-m-d H:i")

    class Meta(ListTable.Meta):
        row_attrs = {"data-job": lambda record: record.pk}

    def value_id(self, record):
        return record.pk
