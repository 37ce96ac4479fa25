"""The 问卷 list as a ``junheng_web.tables`` table (issue 17.3): paging, sorting by a column,
filtering by respondent and text, the Excel export (whole filtered, sorted list, counts worked
from the definitions, no 操作 column, audited), the cycle's questionnaires only, export refused
to a role without the permission."""

from __future__ import annotations

import io
import re

import pytest
from openpyxl import load_workbook

pytestmark = pytest.mark.django_db


@pytest.fixture
def many(world, defined):
    """57 more questionnaires (Z000…Z056: teacher when k divisible by 3, else student; k items),
    plus one of another cycle that must never show."""
    from junheng_web.questionnaires.models import Questionnaire
    from junheng_web.registry.models import Cycle

    for k in range(57):
        Questionnaire.objects.create(cycle=world.cycle, code=f"Z{k:03d}", title=f"附加问卷{k:02d}",
                                     respondent="teacher" if k % 3 == 0 else "student",
                                     definition={"items": [{"id": f"Q{i}"} for i in range(k)], "scales": []})
    other = Cycle.objects.create(year=2023, grade=6, subjects=["语文"])
    Questionnaire.objects.create(cycle=other, code="OTHER1", title="别的周期", respondent="student")
    return world


def _codes(resp) -> list[str]:
    return re.findall(r'<tr[^>]*data-code="([^"]+)"', resp.content.decode().split('id="county-responses"')[0])


def _url(world, query=""):
    return f"/questionnaires/{world.cycle.pk}/{query}"


def test_the_list_is_paged_and_only_the_cycles_questionnaires(client, many):
    client.force_login(many.users["alice"])
    first = client.get(_url(many))
    assert first.status_code == 200 and "共 60 条" in first.content.decode()
    assert len(_codes(first)) == 50
    second = client.get(_url(many, "?page=2"))
    assert len(_codes(second)) == 10 and not set(_codes(first)) & set(_codes(second))
    everything = _codes(client.get(_url(many, "?per_page=100")))
    assert len(everything) == 60 and "OTHER1" not in everything
    assert {"S2022", "P2022"} <= set(everything)


def test_it_sorts_by_a_column_header_and_filters(client, many):
    client.force_login(many.users["alice"])
    codes = _codes(client.get(_url(many, "?per_page=100&sort=-code")))
    assert codes == sorted(codes, reverse=True)
    teachers = _codes(client.get(_url(many, "?per_page=100&respondent=teacher")))
    assert len(teachers) == 19 + 1 and "Z003" in teachers and "Z001" not in teachers  # 19 Z's + the fixture's
    assert _codes(client.get(_url(many, "?q=附加问卷07"))) == ["Z007"]
    assert _codes(client.get(_url(many, "?q=p2022"))) == ["P2022"]
    assert _codes(client.get(_url(many, "?respondent=nobody"))) == []  # an invalid choice shows nothing


def test_the_export_is_the_whole_filtered_sorted_list_and_is_audited(client, many, qf):
    from junheng_web.accounts.models import AuditLog

    client.force_login(many.users["bob"])
    x = client.get(_url(many, "?respondent=student&sort=-code&page=2&export=xlsx"))
    assert x.status_code == 200 and x["Content-Type"].startswith("application/vnd.openxmlformats")
    rows = list(load_workbook(io.BytesIO(x.content)).active.iter_rows(values_only=True))
    assert rows[0] == ("问卷编号", "问卷名称", "作答对象", "题数", "量表", "指标")
    body = rows[1:]
    assert len(body) == 38 + 1 and {r[2] for r in body} == {"学生"}
    assert [r[0] for r in body] == sorted((r[0] for r in body), reverse=True)
    by_code = {r[0]: r[3:] for r in body}
    assert by_code["Z056"] == (56, 0, 0)
    assert by_code["S2022"] == (len(qf.STUDENT["items"]), 1, 1)
    assert AuditLog.objects.get(action="export").rows == 39


def test_a_role_without_export_gets_403_and_no_link(client, many):
    client.force_login(many.users["dave"])
    assert client.get(_url(many, "?export=xlsx")).status_code == 403
    page = client.get(_url(many))
    assert page.status_code == 200 and "导出 Excel" not in page.content.decode()
