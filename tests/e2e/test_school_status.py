"""Issue 17.4 in the browser: a school operator opens its status page from the home page, sees what
is in and what is missing, and the errors of its failed fitness upload.  Screenshot under
test-artifacts/e2e/."""

from __future__ import annotations

import pytest

from tests.e2e.support import ARTIFACTS, signed_in

pytestmark = [pytest.mark.e2e]


def test_a_school_operator_sees_what_is_in_missing_and_wrong(site_world, live_server, browser):
    from junheng_web.fitness.models import FitnessRecord
    from junheng_web.jobs.models import Job
    from junheng_web.registry.models import School

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    cycle, pupils = site_world["cycle"], site_world["pupils"]
    school = School.objects.get(code="4101020001")
    for p in pupils[:5]:  # 5 of the 8 sampled pupils have results
        FitnessRecord.objects.create(cycle=cycle, pupil=p, grade=6, sex=p.sex)
    issues = [{"file": "体测.xlsx", "sheet": "Sheet1", "row": 3 + k, "column": "性别", "value": "男性",
               "rule_zh": "性别须为 1（男）或 2（女）", "rule_en": "sex must be 1 or 2", "severity": "error"}
              for k in range(3)]
    Job.objects.create(kind="fitness", status="failed", cycle=cycle, school=school, county=school.county,
                       error="体测.xlsx：3 处错误，未写入任何数据", issues=issues, params={"name": "体测.xlsx"})
    base = live_server.url
    page = signed_in(browser, base, "school-a", width=1100, height=800)
    page.click("text=查看本校数据报送情况")
    page.wait_for_url(f"{base}/cycles/{cycle.pk}/status/")
    assert "8 名学生" in page.locator("tr[data-item=roster]").inner_text()
    assert "5 / 8" in page.locator("tr[data-item=fitness]").inner_text()
    assert "3 名抽中学生没有体测结果" in page.locator("tr[data-item=fitness]").inner_text()
    assert page.locator("#errors-fitness table.issues tbody tr").count() == 3
    page.screenshot(path=str(ARTIFACTS / "school-status.png"), full_page=True)
    page.click("#errors-fitness >> text=再次上传")
    page.wait_for_url(f"{base}/cycles/{cycle.pk}/upload/fitness/")
