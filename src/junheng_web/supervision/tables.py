"""The reviewers' queue as a table (``junheng_web.tables``): open flags, oldest session first,
filtered by county, kind and severity; pupils' 学籍号 masked."""

from __future__ import annotations

import django_filters as filters
import django_tables2 as tables
from django.utils.translation import gettext_lazy as _

from junheng_web.accounts.scoping import restrict
from junheng_web.registry.models import Region
from junheng_web.supervision.models import KIND_LABELS, Flag
from junheng_web.supervision.templatetags.supervision import masked_id
from junheng_web.tables import ListTable, PersonalColumn


class FlagFilter(filters.FilterSet):
    county = filters.ChoiceFilter(label=_("区县"), field_name="session__site__county__code", choices=(),
                                  empty_label=_("全部"))
    kind = filters.ChoiceFilter(label=_("类型"), choices=list(KIND_LABELS.items()), empty_label=_("全部"))
    severity = filters.ChoiceFilter(label=_("严重程度"), choices=Flag.Severity.choices, empty_label=_("全部"))

    class Meta:
        model = Flag
        fields = ["county", "kind", "severity"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        user = self.request.user if self.request is not None else None
        counties = restrict(Region.objects.all(), user).filter(level=Region.Level.COUNTY).order_by("code")
        self.filters["county"].extra["choices"] = [(c.code, c.name) for c in counties]


class FlagTable(ListTable):
    session = tables.Column(_("场次"), accessor="session__starts_at", order_by=("session__starts_at", "session_id",
                                                                              "start_s", "id"))
    county = tables.Column(_("区县"), accessor="session__site__county__name",
                           order_by=("session__site__county__code",))
    kind = tables.Column(_("类型"))
    pupils = PersonalColumn(_("学生"), accessor="person_id", mask=masked_id, default="", orderable=False)
    clock = tables.Column(_("时间"), empty_values=(), orderable=False)
    start_s = tables.Column(_("起（秒）"), attrs={"td": {"class": "num"}})
    end_s = tables.Column(_("止（秒）"), attrs={"td": {"class": "num"}})
    severity = tables.Column(_("严重程度"))
    open = tables.TemplateColumn('{% load i18n %}<a href="{% url \'flag_detail\' record.pk %}">{% trans "查看" %}</a>',
                                 verbose_name="", orderable=False, exclude_from_export=True)

    class Meta(ListTable.Meta):
        attrs = {"class": "list", "id": "queue"}
        row_attrs = {"data-flag": lambda record: record.pk}

    def _session(self, record) -> str:
        from django.utils import timezone

        s = record.session
        return f"{s.site.name} {s.subject} {timezone.localtime(s.starts_at):%Y-%m-%d %H:%M}"

    def render_session(self, record):
        return self._session(record)

    def value_session(self, record):
        return self._session(record)

    def _pair(self, record) -> str:
        shown = [self.columns["pupils"].column._shown(v, self) for v in (record.person_id, record.other_id) if v]
        return " / ".join(shown)

    def render_pupils(self, record):
        return self._pair(record)

    def value_pupils(self, record):
        return self._pair(record)

    def _clock(self, record) -> str:
        from django.utils import timezone

        if not record.clock_start:
            return ""
        return f"{timezone.localtime(record.clock_start):%H:%M:%S}–{timezone.localtime(record.clock_end):%H:%M:%S}"

    def render_clock(self, record):
        return self._clock(record)

    def value_clock(self, record):
        return self._clock(record)

    def render_start_s(self, value):
        return f"{value:.0f}"

    def render_end_s(self, value):
        return f"{value:.0f}"
