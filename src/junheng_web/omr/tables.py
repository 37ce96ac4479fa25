"""The OMR manual-review queue as a table (``junheng_web.tables``): open entries, lowest confidence
first, filtered by county and kind; each row shows the sheet's crop around the item."""

from __future__ import annotations

import django_filters as filters
import django_tables2 as tables
from django.utils.translation import gettext_lazy as _

from junheng_web.accounts.scoping import restrict
from junheng_web.omr.models import Review
from junheng_web.registry.models import Region
from junheng_web.supervision.templatetags.supervision import masked_id
from junheng_web.tables import ListTable, PersonalColumn


class ReviewFilter(filters.FilterSet):
    county = filters.ChoiceFilter(label=_("区县"), field_name="session__site__county__code", choices=(),
                                  empty_label=_("全部"))
    kind = filters.ChoiceFilter(label=_("类型"), choices=Review.Kind.choices, empty_label=_("全部"))

    class Meta:
        model = Review
        fields = ["county", "kind"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        user = self.request.user if self.request is not None else None
        counties = restrict(Region.objects.all(), user).filter(level=Region.Level.COUNTY).order_by("code")
        self.filters["county"].extra["choices"] = [(c.code, c.name) for c in counties]


class ReviewTable(ListTable):
    county = tables.Column(_("区县"), accessor="session__site__county__name", order_by=("session__site__county__code",))
    site = tables.Column(_("测试点"), accessor="session__site__name")
    sheet = tables.Column(_("页"), accessor="sheet__name")
    pupil = PersonalColumn(_("学籍号"), accessor="sheet__person_id", mask=masked_id, default="", orderable=False)
    kind = tables.Column(_("类型"))
    item_id = tables.Column(_("题目编号"), default="")
    read = tables.Column(_("读出"), default="")
    confidence = tables.Column(_("置信度"), attrs={"td": {"class": "num"}})
    crop = tables.TemplateColumn('{% if record.kind == "pupil" %}<img class="omr-crop" src="{% url \'omr_id_image\' '
                                 'record.sheet_id %}" alt="" loading="lazy">{% else %}<img class="omr-crop" '
                                 'src="{% url \'omr_image\' record.pk %}" alt="" loading="lazy">{% endif %}',
                                 verbose_name=_("扫描"), orderable=False, exclude_from_export=True)
    open = tables.TemplateColumn('{% load i18n %}{% if record.kind == "pupil" %}<a href="{% url \'omr_pupil\' '
                                 'record.sheet_id %}">{% trans "核对" %}</a>{% else %}<a href="{% url \'omr_review\' '
                                 'record.pk %}">{% trans "核对" %}</a>{% endif %}',
                                 verbose_name="", orderable=False, exclude_from_export=True)

    class Meta(ListTable.Meta):
        attrs = {"class": "list", "id": "omr-queue"}
        row_attrs = {"data-review": lambda record: record.pk}

    def render_confidence(self, value) -> str:
        return f"{value:.2f}"
