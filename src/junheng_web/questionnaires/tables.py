"""The 问卷 page's list of a cycle's questionnaires as a table (``junheng_web.tables``): paged,
sorted, filtered by code, title or respondent, exportable to Excel."""

from __future__ import annotations

import django_filters as filters
import django_tables2 as tables
from django.utils.translation import gettext_lazy as _

from junheng_web.questionnaires.models import Questionnaire
from junheng_web.tables import ListTable, text_search


class QuestionnaireFilter(filters.FilterSet):
    q = filters.CharFilter(label=_("问卷编号或名称"), method="search")
    respondent = filters.ChoiceFilter(label=_("作答对象"), choices=Questionnaire.Respondent.choices,
                                      empty_label=_("全部"))

    class Meta:
        model = Questionnaire
        fields = ["q", "respondent"]

    def search(self, queryset, name, value):
        return text_search(queryset, ("code", "title"), value)


class CountColumn(tables.Column):
    """How many entries a list of the definition has (0 when it has none), on the page and in the export."""

    def __init__(self, verbose_name, accessor):
        super().__init__(verbose_name, accessor=accessor, orderable=False, empty_values=(),
                         attrs={"td": {"class": "num"}})

    def render(self, value):
        return len(value) if isinstance(value, (list, dict)) else 0

    def value(self, value):
        return self.render(value)


class QuestionnaireTable(ListTable):
    code = tables.Column(_("问卷编号"))
    title = tables.Column(_("问卷名称"))
    respondent = tables.Column(_("作答对象"))
    n_items = CountColumn(_("题数"), "definition__items")
    n_scales = CountColumn(_("量表"), "definition__scales")
    n_indicators = CountColumn(_("指标"), "definition__indicators")
    actions = tables.TemplateColumn(template_name="questionnaires/_actions.html", verbose_name=_("操作"),
                                    orderable=False, exclude_from_export=True)

    class Meta(ListTable.Meta):
        attrs = {"class": "list", "id": "questionnaires"}
        row_attrs = {"data-code": lambda record: record.code}

    def __init__(self, *args, cycle=None, can_summary: bool = False, can_upload: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.cycle, self.can_summary, self.can_upload = cycle, can_summary, can_upload
        if not (can_summary or can_upload):
            self.columns.hide("actions")
