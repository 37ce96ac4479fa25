"""The list framework (junheng_web.tables, issue 17.3) on the 抽中学校 list: paging, sorting,
filtering, export to Excel, scoping of rows, filter options and export, and the audit log."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

pytestmark = pytest.mark.django_db


@pytest.fixture
def many(world):
    """70 more sampled schools in county A (甲 0…69), 5 in county B: more than one page."""
    from junheng_web.registry.models import School
    from junheng_web.sampling.models import SampledSchool

    run = world.cycle.sample_runs.first()
    for key, n in (("A", 70), ("B", 5)):
        county = world.regions[key]
        for k in range(n):
            s = School.objects.create(code=f"{county.code}{k + 100:04d}", name=f"{key}校{k:02d}", county=county,
                                      stage="小学", location="城区", enrol_g6=10 + k)
            SampledSchool.objects.create(run=run, cycle=world.cycle, school=s, role="sampled", stratum=county.code,
                                         sort_order=k + 10, mos=10 + k, status="participating" if k % 2 else "pending")
    return world


def _login(client, world, who):
    client.force_login(world.users[who])
    return client


def _rows(resp) -> list[str]:
    import re

    return re.findall(r'data-school="(\d+)"', resp.content.decode())


def test_the_list_is_paged_50_rows_at_a_time(client, many):
    c = _login(client, many, "alice")
    url = f"/cycles/{many.cycle.pk}/schools/"
    first = c.get(url)
    assert first.status_code == 200
    assert len(_rows(first)) == 50
    assert "共 78 条" in first.content.decode()
    last = c.get(url + "?page=2")
    assert len(_rows(last)) == 28
    assert not set(_rows(first)) & set(_rows(last))
    assert len(_rows(c.get(url + "?per_page=100"))) == 78


def test_it_sorts_by_any_column_header(client, many):
    c = _login(client, many, "alice")
    url = f"/cycles/{many.cycle.pk}/schools/?per_page=200"
    mos = _rows(c.get(url + "&sort=-mos"))
    from junheng_web.registry.models import School

    sizes = dict(School.objects.values_list("code", "samplings__mos"))
    assert [sizes[s] for s in mos] == sorted(sizes[s] for s in mos)[::-1]
    codes = _rows(c.get(url + "&sort=code"))
    assert codes == sorted(codes)


def test_it_filters_by_county_status_and_text(client, many):
    c = _login(client, many, "alice")
    base = f"/cycles/{many.cycle.pk}/schools/?per_page=200"
    b = _rows(c.get(base + f"&county={many.regions['B'].pk}"))
    assert len(b) == 6 and all(s.startswith("410103") for s in b)
    pending = _rows(c.get(base + "&status=pending&county=" + str(many.regions["A"].pk)))
    assert len(pending) == 35 + 2  # 甲小学 and 甲二小学 are pending too
    assert _rows(c.get(base + "&q=A校07")) == ["4101020107"]
    assert _rows(c.get(base + "&q=4101030102")) == ["4101030102"]


def test_a_county_user_sees_only_its_county_in_rows_options_and_export(client, many):
    c = _login(client, many, "charlie")  # county B
    resp = c.get(f"/cycles/{many.cycle.pk}/schools/?per_page=200")
    html = resp.content.decode()
    assert len(_rows(resp)) == 6 and all(s.startswith("410103") for s in _rows(resp))
    assert "中原区" not in html and "二七区" in html  # the county filter offers only its own county
    # asking for county A through the filter gives an invalid choice, not county A's rows
    assert _rows(c.get(f"/cycles/{many.cycle.pk}/schools/?county={many.regions['A'].pk}")) == []
    x = c.get(f"/cycles/{many.cycle.pk}/schools/?export=xlsx")
    ws = load_workbook(io.BytesIO(x.content)).active
    codes = [r[2] for r in ws.iter_rows(min_row=2, values_only=True)]
    assert len(codes) == 6 and all(str(s).startswith("410103") for s in codes)


def test_the_export_is_the_whole_filtered_sorted_list_and_is_audited(client, many):
    from junheng_web.accounts.models import AuditLog

    c = _login(client, many, "bob")
    x = c.get(f"/cycles/{many.cycle.pk}/schools/?status=participating&sort=-mos&page=2&export=xlsx")
    assert x.status_code == 200
    assert x["Content-Type"].startswith("application/vnd.openxmlformats")
    ws = load_workbook(io.BytesIO(x.content)).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0] == ("区县", "学校", "学校标识码", "身份", "替补对象", "规模", "状态")  # no 操作 column
    body = rows[1:]
    assert len(body) == 35 and {r[6] for r in body} == {"参加"}
    assert [r[5] for r in body] == sorted((r[5] for r in body), reverse=True)
    assert all(isinstance(r[5], int) for r in body)  # numbers stay numbers
    log = AuditLog.objects.get(action="export")
    assert log.username == "bob" and log.rows == 35


def test_a_role_without_export_gets_403_and_no_link(client, many):
    c = _login(client, many, "dave")  # a school operator may see its row, not export lists
    assert c.get(f"/cycles/{many.cycle.pk}/schools/?export=xlsx").status_code == 403
    assert "导出 Excel" not in c.get(f"/cycles/{many.cycle.pk}/schools/").content.decode()


def test_formula_like_names_are_exported_as_text(client, many):
    from junheng_web.registry.models import School

    School.objects.filter(code="4101020100").update(name='=HYPERLINK("http://x")')
    c = _login(client, many, "alice")
    ws = load_workbook(io.BytesIO(c.get(f"/cycles/{many.cycle.pk}/schools/?q=4101020100&export=xlsx").content)).active
    cell = ws.cell(row=2, column=2)
    assert cell.value == '=HYPERLINK("http://x")' and cell.data_type == "s"


def test_every_list_table_uses_the_platforms_template_and_empty_text():
    import importlib

    from junheng_web.tables import ListTable

    for module in ("junheng_web.cycles.tables", "junheng_web.accounts.tables", "junheng_web.supervision.tables",
                   "junheng_web.registry.search", "junheng_web.questionnaires.tables"):
        importlib.import_module(module)

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    found = list(subclasses(ListTable))
    assert len(found) >= 6
    for cls in found:
        kwargs = {"cycle": None} if "cycle" in cls.__init__.__code__.co_varnames else {}
        t = cls([], **kwargs)
        assert t.template_name == "tables/table.html", cls
        assert "list" in t.attrs.get("class", ""), cls
        assert str(t.empty_text) == "无记录。", cls


@pytest.mark.parametrize("per_page", ["0", "-1", "100000", "abc", "2.5"])
def test_a_per_page_outside_the_choices_gives_the_default_page_not_a_500_or_every_row(client, many, per_page):
    """``?per_page=`` takes only the offered sizes (25/50/100/200): 0 or a negative size once raised
    ZeroDivisionError / EmptyPage, and a huge one listed every row on one page."""
    c = _login(client, many, "alice")
    resp = c.get(f"/cycles/{many.cycle.pk}/schools/?per_page={per_page}")
    assert resp.status_code == 200 and len(_rows(resp)) == 50


@pytest.mark.parametrize("query, n", [("page=abc", 50), ("page=0", 28), ("page=-3", 28), ("page=999", 28),
                                       ("page=2&per_page=25", 25), ("sort=nonexistent", 50), ("sort=actions", 50),
                                       ("sort=-mos&sort=code", 50)])
def test_bad_page_numbers_and_sort_keys_give_a_page_not_a_500(client, many, query, n):
    c = _login(client, many, "alice")
    resp = c.get(f"/cycles/{many.cycle.pk}/schools/?{query}")
    assert resp.status_code == 200 and len(_rows(resp)) == n


def test_a_personal_column_is_not_sortable_unless_asked():
    """Sorting by the full name or 学籍号 behind a masked column tells the hidden characters' order."""
    import django_tables2 as tables

    from junheng_web.tables import ListTable, PersonalColumn

    class Pupils(ListTable):
        name = PersonalColumn("姓名", mask=lambda v: v[:1] + "**")
        sid = PersonalColumn("学籍号", mask=lambda v: v[:3], orderable=True)
        school = tables.Column("学校")

    t = Pupils([{"name": "张三", "sid": "G1", "school": "甲"}, {"name": "张一", "sid": "G2", "school": "乙"}],
               order_by="name")
    assert not t.columns["name"].orderable and t.columns["sid"].orderable and t.columns["school"].orderable
    assert [r.get_cell("name") for r in t.rows] == ["张**", "张**"] and t.order_by == ()


def test_replacing_a_school_asks_for_confirmation_naming_it(client, many):
    """拒绝并启用替补 / 已撤并，启用替补 cannot be undone (the replacement is activated and its pupils
    drawn): each form asks first, naming the school; 确认参加 does not."""
    import re

    from django.conf import settings

    c = _login(client, many, "bob")
    html = c.get(f"/cycles/{many.cycle.pk}/schools/?q=4101020001").content.decode()
    forms = re.findall(r'<form method="post" action="([^"]+)"[^>]*?(?: data-confirm="([^"]*)" onsubmit="([^"]*)")?>', html)
    replace = [f for f in forms if "/replace/" in f[0]]
    assert len(replace) == 2 and all(f[2] == "return confirm(this.dataset.confirm)" for f in replace)
    assert "甲小学拒绝参加" in replace[0][1] and "甲小学已撤并" in replace[1][1] and "不能撤销" in replace[0][1]
    assert [f[1] for f in forms if "/confirm/" in f[0]] == [""]
    c.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    assert "甲小学 refuses: it will be marked refused" in c.get(f"/cycles/{many.cycle.pk}/schools/?q=4101020001").content.decode()
