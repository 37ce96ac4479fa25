"""A school operator, in a real browser (Playwright + Debian's Chromium), uploads a questionnaire
file with errors, sees every error on the page, downloads the annotated workbook, fixes the file,
uploads again — and the county's progress shows the questionnaire count move.  Screenshots are
kept under test-artifacts/e2e/ (git-ignored)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.support import ARTIFACTS, login

pytestmark = [pytest.mark.e2e]
AGREE = {"1": "很不同意", "2": "不同意", "3": "同意", "4": "很同意"}
DEFINITION = {
    "code": "S2022", "title": "学生问卷", "respondent": "student", "missing_codes": [9],
    "items": [{"id": "Q01", "text": "我喜欢我的学校", "type": "choice", "options": AGREE},
              {"id": "Q02", "text": "上学日每天睡眠时间", "type": "number", "min": 4, "max": 14, "unit": "小时"}],
    "scales": [{"id": "LIKE", "name": "喜欢学校", "items": ["Q01"]}],
    "indicators": [{"id": "SLEEP10", "name": "睡眠充足", "item": "Q02", "op": ">=", "value": 10}],
}


@pytest.fixture
def q_world(site_world):
    """The e2e site world (county 410102; 甲小学 with 8 sampled pupils) with the student questionnaire defined."""
    from junheng_web.questionnaires.services import define

    define(site_world["cycle"], DEFINITION)
    return site_world


def response_files(tmp: Path, pupils) -> tuple[Path, Path]:
    """The bad file (an option code 7, a sleep time of 30 h) and the fixed one, as GB18030 CSV."""
    rows = [[p.student_id, str(1 + k % 4), str(8 + k * 0.5)] for k, p in enumerate(pupils)]
    bad = [list(r) for r in rows]
    bad[1][1], bad[5][2] = "7", "30"

    def write(path: Path, data) -> Path:
        text = "\r\n".join(",".join(r) for r in [["学籍号", "Q01 我喜欢我的学校", "Q02 睡眠时间"], *data]) + "\r\n"
        path.write_bytes(text.encode("gb18030"))
        return path

    return write(tmp / "学生问卷.csv", bad), write(tmp / "学生问卷-改.csv", rows)




def _questionnaire_cell(page, base, cycle) -> str:
    page.goto(f"{base}/cycles/{cycle.pk}/progress/")
    return page.locator("#county-progress tr[data-code='410102'] td.questionnaire").inner_text().strip()


def test_a_school_fixes_its_questionnaire_file_and_the_county_sees_it(q_world, live_server, browser, tmp_path,
                                                                     monkeypatch):
    monkeypatch.setenv("JUNHENG_JOBS_EAGER", "1")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    base, cycle = live_server.url, q_world["cycle"]
    bad, good = response_files(tmp_path, q_world["pupils"])

    county = browser.new_context(locale="zh-CN").new_page()
    login(county, base, "county-410102")
    before = _questionnaire_cell(county, base, cycle)
    county.screenshot(path=str(ARTIFACTS / "questionnaire-0-county-before.png"), full_page=True)

    page = browser.new_context(locale="zh-CN").new_page()
    login(page, base, "school-a")
    page.click("text=上传问卷数据")  # the school's task list links the page
    page.wait_for_selector("#upload-submit")
    page.select_option("select[name=questionnaire]", label="S2022 学生问卷")
    page.set_input_files("input[type=file]", str(bad))
    page.click("#upload-submit")
    page.wait_for_selector("#job-errors")
    errors = page.locator("table.issues tbody tr").all_inner_texts()
    page.screenshot(path=str(ARTIFACTS / "questionnaire-1-errors.png"), full_page=True)
    assert len(errors) == 2, errors
    assert any("7" in e and "Q01" in e for e in errors) and any("30" in e and "Q02" in e for e in errors), errors
    with page.expect_download() as dl:
        page.click("text=下载标注了错误的工作簿")
    assert dl.value.suggested_filename.endswith(".xlsx")

    page.click("text=再次上传")
    page.set_input_files("input[type=file]", str(good))
    page.click("#upload-submit")
    page.wait_for_selector("#job-result")
    page.screenshot(path=str(ARTIFACTS / "questionnaire-2-accepted.png"), full_page=True)

    after = _questionnaire_cell(county, base, cycle)
    county.screenshot(path=str(ARTIFACTS / "questionnaire-3-county-after.png"), full_page=True)
    assert before.split()[0] == "0" and after.split()[0] == "8", (before, after)

    county.goto(f"{base}/questionnaires/{cycle.pk}/")
    county.wait_for_selector("#county-responses")
    county.screenshot(path=str(ARTIFACTS / "questionnaire-4-list.png"), full_page=True)
    assert county.locator("#county-responses tr[data-code='410102'] td").all_inner_texts()[1:] == ["8"]
    county.click("#questionnaires tr[data-code='S2022'] >> text=结果")
    county.wait_for_url(f"{base}/questionnaires/{cycle.pk}/S2022/")
    county.wait_for_selector("#overall")
    county.screenshot(path=str(ARTIFACTS / "questionnaire-5-summary.png"), full_page=True)
    assert county.locator("#overall tr[data-id='LIKE'] td.estimate").inner_text().startswith("2.50")  # mean of 1, 2, 3, 4, 1, 2, 3, 4
