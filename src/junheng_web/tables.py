"""Lists people can work with (issue 17.3, NetBox style): every list page of the platform is a
django-tables2 table over a queryset already passed through ``accounts.scoping.restrict``,
narrowed by a django-filter ``FilterSet``, paginated, sortable by its column headers, and
exportable to Excel through the core's writer (``junheng.io.table_bytes``: formula-safe cells).

A page is one call::

    return list_page(request, SchoolTable, qs, filterset=SchoolFilter, title=_("抽中学校"),
                     crumbs=[(cycle_name, cycle_url)], export="sampled-schools")

What it guarantees, once for every list:

* **scope** — the rows are what the view passed in (restricted by the view); a filter's choices
  that name regions or schools are built with :func:`scoped_choices` / ``restrict`` from the
  request, so a county user never sees another county even as an option;
* **personal data** — a :class:`PersonalColumn` (names, 学籍号, ID numbers) shows its value masked
  unless the role may unmask (:data:`UNMASK_ACTION`) *and* the user asked for it (``?unmask=1``),
  on the page and in the export alike; a table with personal columns logs every page view and
  export in the audit log (how many rows, masked or not);
* **export** — ``?export=xlsx`` gives the whole filtered, sorted list (not one page) as a workbook
  of the visible columns, for roles with the ``export`` action; every export is audit-logged.

The guide (docs/guide/web.md § 列表) shows how to make a list a table.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from urllib.parse import quote

import django_tables2 as tables
import polars as pl
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from junheng.io import table_bytes
from junheng_web.accounts.audit import audit
from junheng_web.accounts.scoping import can, require

PER_PAGE = 50
PER_PAGE_CHOICES = (25, 50, 100, 200)
# the roles that check pupils in on test day may see names in full (the site lists' rule)
UNMASK_ACTION = "sitelist.unmask"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EXPORT_MAX_ROWS = 200_000  # beyond this an export would hold a worker for minutes: narrow the filter first


class PersonalColumn(tables.Column):
    """A column of personal data, shown through ``mask`` unless the table is unmasked.  Not
    sortable unless asked for (``orderable=True``): rows sorted by the full 姓名 or 学籍号 would
    tell the masked characters' order."""

    def __init__(self, *args, mask: Callable[[str], str], **kwargs):
        kwargs.setdefault("orderable", False)
        super().__init__(*args, **kwargs)
        self.mask = mask

    def _shown(self, value, table) -> str:
        return str(value) if getattr(table, "unmasked", False) else self.mask(str(value))

    def render(self, value, table):
        return self._shown(value, table)

    def value(self, value, table):
        return self._shown(value, table)


class ListTable(tables.Table):
    """The base of every list: the platform's look, Chinese empty text, sortable headers."""

    unmasked = False

    class Meta:
        template_name = "tables/table.html"
        attrs = {"class": "list"}
        empty_text = gettext_lazy("无记录。")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.empty_text is None:  # a subclass without its own Meta
            self.empty_text = gettext_lazy("无记录。")

    @classmethod
    def personal(cls) -> bool:
        return any(isinstance(c, PersonalColumn) for c in cls.base_columns.values())


def scoped_choices(queryset, label: Callable = str) -> list[tuple]:
    """Choices for a filter from a queryset the caller has restricted (``(pk, label)``)."""
    return [(o.pk, label(o)) for o in queryset]


def text_search(queryset, fields: tuple[str, ...], value: str):
    """Rows any of whose ``fields`` contains ``value`` (a code or part of a name)."""
    value = (value or "").strip()
    if not value:
        return queryset
    q = Q()
    for f in fields:
        q |= Q(**{f"{f}__icontains": value})
    return queryset.filter(q)


def _cell(value):
    """An exported cell: numbers stay numbers, everything else is its text."""
    if value is None or isinstance(value, bool):
        return value if value is None else (_("是") if value else _("否"))
    if isinstance(value, int | float):
        return value
    return str(value)


def table_frame(table: tables.Table) -> pl.DataFrame:
    """The table's visible columns, all rows (sorted as shown), as a frame with the shown headers."""
    exportable = [c for c in table.columns if c.column.exclude_from_export is False and c.visible]
    names = [c.name for c in exportable]
    headers: list[str] = []
    for c in exportable:
        h = str(c.header)
        while h in headers:  # two columns with one header: keep both
            h += " "
        headers.append(h)
    rows = [[_cell(row.get_cell_value(n)) for n in names] for row in table.rows]
    cols = {}
    for k, h in enumerate(headers):
        values = [r[k] for r in rows]
        kinds = {type(v) for v in values if v is not None}
        if kinds and kinds <= {int}:
            cols[h] = pl.Series(h, values, dtype=pl.Int64)
        elif kinds and kinds <= {int, float}:
            cols[h] = pl.Series(h, [None if v is None else float(v) for v in values], dtype=pl.Float64)
        else:
            cols[h] = pl.Series(h, [None if v is None else str(v) for v in values], dtype=pl.String)
    return pl.DataFrame(cols) if cols else pl.DataFrame()


def _download_name(name: str) -> str:
    return f"attachment; filename=\"{name.encode('ascii', 'ignore').decode() or 'list'}.xlsx\"; " \
           f"filename*=UTF-8''{quote(name)}.xlsx"


def paginate(request: HttpRequest, table: tables.Table) -> int:
    """Sort ``table`` by ``?sort=`` (only its orderable columns count) and cut it to page ``?page=``
    of ``?per_page=`` rows; returns the page size.  The size is one of :data:`PER_PAGE_CHOICES`
    (anything else: :data:`PER_PAGE`) — django-tables2's ``RequestConfig`` would take any
    ``per_page`` of the request (0 or a negative one a 500, a huge one every row on one page) —
    and a page number that is not one (``abc``, ``0``, ``999``) gives the first or last page,
    as Django's ``Paginator.get_page``."""
    per_page = request.GET.get("per_page", "")
    per_page = int(per_page) if per_page.isdigit() and int(per_page) in PER_PAGE_CHOICES else PER_PAGE
    tables.RequestConfig(request, paginate=False).configure(table)
    table.paginate(per_page=per_page, page=1)
    table.page = table.paginator.get_page(request.GET.get(table.prefixed_page_field))
    return per_page


def list_page(request: HttpRequest, table_class: type[ListTable], queryset, *, title: str,
              filterset=None, crumbs: Sequence[tuple[str, str]] = (), export: str | None = None,
              template: str = "tables/page.html", region_code: str = "", context: dict | None = None,
              table_kwargs: dict | None = None) -> HttpResponse:
    """Render ``queryset`` (already restricted to the user's scope) as ``table_class``: filtered by
    ``filterset`` (a django-filter FilterSet class, given ``request``), sorted (``?sort=``), a page of
    ``?per_page=`` rows; ``?export=xlsx`` returns the whole filtered list as a workbook named
    ``export`` (no export when ``export`` is None).  ``crumbs`` are the breadcrumbs before ``title``."""
    user = request.user
    fs = filterset(request.GET or None, queryset=queryset, request=request) if filterset else None
    rows = queryset
    if fs is not None and fs.is_bound:  # an invalid choice (another county's id) shows nothing, and says why
        rows = fs.qs if fs.is_valid() else queryset.none()
    # no request= here: django-tables2 would then page the table by the request's own per_page (see paginate)
    table = table_class(rows, **(table_kwargs or {}))
    table.request = request
    personal = table_class.personal()
    may_unmask = personal and can(user, UNMASK_ACTION)
    table.unmasked = may_unmask and request.GET.get("unmask") == "1"
    if export and request.GET.get("export") == "xlsx":
        require(user, "export")
        tables.RequestConfig(request, paginate=False).configure(table)
        n = len(table.rows)
        if n > EXPORT_MAX_ROWS:
            return HttpResponse(_("导出行数 %(n)d 超过上限 %(max)d，请先筛选。") % {"n": n, "max": EXPORT_MAX_ROWS},
                                status=413, content_type="text/plain; charset=utf-8")
        frame = table_frame(table)
        action = "export-unmasked" if table.unmasked else "export"
        audit(request, action, f"{title} ({export})", rows=n, region_code=region_code)
        out = HttpResponse(table_bytes(frame, "xlsx", sheet=str(title)[:31]), content_type=XLSX)
        out["Content-Disposition"] = _download_name(export)
        return out
    per_page = paginate(request, table)
    if personal:
        shown = len(table.page.object_list) if table.page else len(table.rows)
        audit(request, "view-unmasked" if table.unmasked else "view", f"{title}", rows=shown,
              region_code=region_code)
    query = request.GET.copy()
    for k in ("export", "page"):
        query.pop(k, None)
    ctx = {"title": title, "table": table, "filter": fs, "crumbs": list(crumbs), "total": table.paginator.count
           if table.page else len(table.rows), "export_query": f"{query.urlencode()}&export=xlsx".lstrip("&"),
           "can_export": bool(export) and can(user, "export"), "may_unmask": may_unmask,
           "per_page": per_page, "per_page_choices": PER_PAGE_CHOICES}
    if may_unmask:
        flip = request.GET.copy()
        flip.pop("page", None)
        if table.unmasked:
            flip.pop("unmask", None)
        else:
            flip["unmask"] = "1"
        ctx["unmask_query"] = flip.urlencode()
    ctx.update(context or {})
    return render(request, template, ctx)


__all__ = ["EXPORT_MAX_ROWS", "PER_PAGE", "UNMASK_ACTION", "ListTable", "PersonalColumn", "list_page", "paginate",
           "scoped_choices", "table_frame", "text_search"]
