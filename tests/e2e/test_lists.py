"""Issue 17.3 and 17.5 in the browser: a county user works with the 抽中学校 list (pages, sorting by a
header, a filter, breadcrumbs, the Excel export), finds a school and a pupil with the header's search,
and a county's roster upload with several kinds of error lists them all in one round — among them a
school of another county on 学校标识码.  Screenshots under test-artifacts/e2e/lists-*.png for a person."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from tests.e2e.support import ARTIFACTS, signed_in, student_id

pytestmark = [pytest.mark.e2e]


@pytest.fixture
def many_schools(site_world):
    """60 more sampled schools in county 410102 (62 in all) and one school in county 410103."""
    from junheng_web.registry.models import Region, School
    from junheng_web.sampling.models import SampledSchool

    cycle = site_world["cycle"]
    run = cycle.sample_runs.first()
    county = Region.objects.get(code="410102")
    for k in range(60):
        s = School.objects.create(code=f"41010201{k:02d}", name=f"第{k + 1}小学", county=county, stage="小学",
                                  location="城区" if k % 3 else "乡村", enrol_g6=20 + k)
        SampledSchool.objects.create(run=run, cycle=cycle, school=s, role="sampled", stratum="410102",
                                     sort_order=10 + k, mos=20 + k, status="participating" if k % 2 else "pending")
    other = Region.objects.create(code="410103", level="county", name="二七区", parent=county.parent)
    School.objects.create(code="4101030001", name="乙小学", county=other, stage="小学", location="城区", enrol_g6=40)
    return site_world


def _codes(page) -> list[str]:
    return [c.strip() for c in page.locator("table.list tbody tr td:nth-child(3)").all_inner_texts()]


def test_a_county_user_pages_sorts_filters_exports_and_searches(many_schools, live_server, browser):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    base, cycle = live_server.url, many_schools["cycle"]
    page = signed_in(browser, base, "county-410102")
    page.goto(f"{base}/cycles/{cycle.pk}/schools/")
    assert "共 62 条" in page.locator(".toolbar .count").inner_text()
    assert page.locator("table.list tbody tr").count() == 50
    assert "监测周期" in page.locator("nav.crumbs").inner_text()
    page.screenshot(path=str(ARTIFACTS / "lists-1-schools.png"), full_page=True)

    page.click("nav.pagination >> text=下一页")
    assert page.locator("table.list tbody tr").count() == 12

    page.click("table.list th >> text=规模")  # ascending, then descending
    page.click("table.list th >> text=规模")
    page.wait_for_url("**sort=-mos**")
    sizes = [int(t) for t in page.locator("table.list tbody tr td:nth-child(6)").all_inner_texts()]
    assert sizes == sorted(sizes, reverse=True) and sizes[0] == 79
    page.screenshot(path=str(ARTIFACTS / "lists-2-sorted.png"), full_page=True)

    page.select_option("select[name=status]", "pending")
    page.fill(".toolbar input[name=q]", "第1")
    page.click(".toolbar button[type=submit]")
    page.wait_for_url("**status=pending**")
    names = page.locator("table.list tbody tr td:nth-child(2)").all_inner_texts()
    assert names and all(n.startswith("第1") for n in names)
    page.screenshot(path=str(ARTIFACTS / "lists-3-filtered.png"), full_page=True)

    with page.expect_download() as dl:
        page.click("a.export")
    wb = load_workbook(io.BytesIO(open(dl.value.path(), "rb").read()))
    rows = list(wb.active.iter_rows(values_only=True))
    assert rows[0][:3] == ("区县", "学校", "学校标识码") and len(rows) - 1 == len(names)

    page.fill("header form.search input[name=q]", "4101020003")
    page.press("header form.search input[name=q]", "Enter")
    page.wait_for_url("**/search/**")
    assert "丙小学" in page.content()
    sid = many_schools["pupils"][2].student_id
    page.fill("header form.search input[name=q]", sid)
    page.press("header form.search input[name=q]", "Enter")
    page.wait_for_url(f"**q={sid}**")
    page.screenshot(path=str(ARTIFACTS / "lists-4-search.png"), full_page=True)
    cells = page.locator("table.list tbody tr").first.inner_text()
    assert "*" in cells and sid not in cells and "学生2" not in cells  # masked
    page.screenshot(path=str(ARTIFACTS / "lists-4-search.png"), full_page=True)


def test_a_roster_with_several_kinds_of_error_is_reported_in_one_round(many_schools, live_server, browser,
                                                                      tmp_path, monkeypatch):
    import polars as pl

    from junheng.registry.schemas import PUPILS

    monkeypatch.setenv("JUNHENG_JOBS_EAGER", "1")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    base, cycle = live_server.url, many_schools["cycle"]
    theirs = many_schools["pupils"][0].student_id  # registered at 甲小学
    rows = [("G" + student_id("410102", 300)[1:-1] + "0" if not student_id("410102", 300).endswith("0")
             else student_id("410102", 300)[:-1] + "1", "4101020003", "1"),  # row 2: check character
            (student_id("410102", 301), "4101020003", "男性"),  # row 3: 性别
            (student_id("410102", 302), "4101030001", "1"),  # row 4: another county's school
            (theirs, "4101020003", "2")]  # row 5: 学籍号 registered at 甲小学
    frame = pl.DataFrame([{h: "" for h in PUPILS.headers} | {"学籍号": s, "姓名": "某", "性别": sex,
                                                             "出生日期": "2011-05-01", "学校标识码": school, "年级": "6"}
                          for s, school, sex in rows]).select(PUPILS.headers)
    path = tmp_path / "名册（多种错误）.csv"
    path.write_bytes(frame.write_csv().encode("gb18030"))

    page = signed_in(browser, base, "county-410102")
    page.goto(f"{base}/cycles/{cycle.pk}/upload/roster/")
    assert page.locator("p.template a").count() == 1
    with page.expect_download() as dl:
        page.click("p.template a")
    assert dl.value.suggested_filename.endswith(".xlsx")
    page.set_input_files("input[type=file]", str(path))
    page.click("#upload-submit")
    page.wait_for_selector("#job-errors")
    errors = page.locator("table.issues tbody tr").all_inner_texts()
    page.screenshot(path=str(ARTIFACTS / "lists-5-upload-one-round.png"), full_page=True)
    joined = "\n".join(errors)
    assert len(errors) == 4, errors
    assert "性别" in joined and "男性" in joined
    assert any("学校标识码" in e and "4101030001" in e for e in errors), errors
    assert any("学籍号" in e and theirs in e for e in errors), errors
    assert "名册（多种错误）.csv" in page.content()


def test_replacing_a_school_asks_first_and_a_no_changes_nothing(many_schools, live_server, browser):
    from junheng_web.sampling.models import SampledSchool

    base, cycle = live_server.url, many_schools["cycle"]
    page = signed_in(browser, base, "county-410102")
    page.goto(f"{base}/cycles/{cycle.pk}/schools/?q=4101020003")
    asked = []
    page.once("dialog", lambda d: (asked.append(d.message), d.dismiss()))
    page.click("table.list tr[data-school='4101020003'] >> text=拒绝并启用替补")
    page.wait_for_timeout(300)
    assert len(asked) == 1 and asked[0].startswith("丙小学拒绝参加") and "不能撤销" in asked[0]
    assert page.url.endswith("?q=4101020003") and SampledSchool.objects.get(school__code="4101020003").status == "pending"
    page.once("dialog", lambda d: d.accept())
    page.click("table.list tr[data-school='4101020003'] >> text=拒绝并启用替补")
    page.wait_for_selector("ul.messages li.error")  # posted: 丙小学 has no replacement school — said on the page
    assert SampledSchool.objects.get(school__code="4101020003").status == "pending"
