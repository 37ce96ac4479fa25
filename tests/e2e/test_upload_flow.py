"""A school operator, in a real browser (Playwright + Debian's Chromium), uploads a file with
errors, sees every error on the page, fixes the file, uploads again — and the county's
progress page moves.  Screenshots are kept under test-artifacts/e2e/ (git-ignored).

Run for the roster (registry import) and for fitness results (fitness import).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from tests.e2e.support import ARTIFACTS, login, student_id

pytestmark = [pytest.mark.e2e]



def roster_files(tmp: Path) -> tuple[Path, Path]:
    from junheng.registry.schemas import PUPILS

    rows = [{"学籍号": student_id("410102", 100 + k), "姓名": f"丙{k}", "性别": str(1 + k % 2), "出生日期": "2011-05-01",
             "民族": "01", "学校标识码": "4101020003", "年级": "6", "班级编号": "1", "班级名称": "六(1)班"}
            for k in range(5)]
    good = pl.DataFrame(rows).select(PUPILS.headers)
    bad = good.with_columns(
        pl.when(pl.int_range(pl.len()) == 1).then(pl.lit("男性")).otherwise(pl.col("性别")).alias("性别"),
        pl.when(pl.int_range(pl.len()) == 3).then(pl.lit("G123")).otherwise(pl.col("学籍号")).alias("学籍号"))
    good.write_csv(tmp / "名册-改.csv", include_bom=True)
    bad.write_csv(tmp / "名册.csv", include_bom=True)
    return tmp / "名册.csv", tmp / "名册-改.csv"


def fitness_files(tmp: Path, pupils) -> tuple[Path, Path]:
    from junheng.fitness import national_upload, write_table
    from junheng.synth.fitness import fitness_results

    roster = pl.DataFrame({"student_id": [p.student_id for p in pupils], "name": [p.name for p in pupils],
                           "sex": [p.sex for p in pupils], "grade": [6] * len(pupils)})
    table = national_upload(fitness_results(roster, 3), mask=False).with_columns(pl.all().cast(pl.String))
    bad = table.with_columns(
        pl.when(pl.int_range(pl.len()) == 2).then(pl.lit("男性")).otherwise(pl.col("性别")).alias("性别"))
    write_table(table, tmp / "体测-改.xlsx")
    write_table(bad, tmp / "体测.xlsx")
    return tmp / "体测.xlsx", tmp / "体测-改.xlsx"




def _county_row(page, base, cycle) -> list[str]:
    page.goto(f"{base}/cycles/{cycle.pk}/progress/")
    return [c.strip() for c in page.locator("#county-progress tr[data-code='410102'] td").all_inner_texts()]


@pytest.mark.parametrize("kind", ["roster", "fitness"])
def test_it_shows_errors_then_accepts_the_fixed_file_and_progress_moves(kind, site_world, live_server, browser,
                                                                         tmp_path, monkeypatch):
    if kind == "roster":
        try:
            import junheng_web.registry.services  # noqa: F401
        except ImportError:
            pytest.skip("the registry's roster import (import_pupils) has not landed")
    monkeypatch.setenv("JUNHENG_JOBS_EAGER", "1")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    base, cycle = live_server.url, site_world["cycle"]
    bad, good = roster_files(tmp_path) if kind == "roster" else fitness_files(tmp_path, site_world["pupils"])
    operator = "school-c" if kind == "roster" else "school-a"

    county = browser.new_context(locale="zh-CN").new_page()
    login(county, base, "county-410102")
    before = _county_row(county, base, cycle)
    county.screenshot(path=str(ARTIFACTS / f"{kind}-0-county-before.png"), full_page=True)

    page = browser.new_context(locale="zh-CN").new_page()
    login(page, base, operator)
    page.goto(f"{base}/cycles/{cycle.pk}/upload/{kind}/")
    page.set_input_files("input[type=file]", str(bad))
    page.click("#upload-submit")
    page.wait_for_selector("#job-errors")
    errors = page.locator("table.issues tbody tr").all_inner_texts()
    page.screenshot(path=str(ARTIFACTS / f"{kind}-1-errors.png"), full_page=True)
    assert any("男性" in e for e in errors), errors
    if kind == "roster":
        assert any("G123" in e for e in errors), errors
    with page.expect_download() as dl:
        page.click("text=下载标注了错误的工作簿")
    assert dl.value.suggested_filename.endswith(".xlsx")

    page.goto(f"{base}/cycles/{cycle.pk}/upload/{kind}/")
    page.set_input_files("input[type=file]", str(good))
    page.click("#upload-submit")
    page.wait_for_selector("#job-result")
    page.screenshot(path=str(ARTIFACTS / f"{kind}-2-accepted.png"), full_page=True)

    after = _county_row(county, base, cycle)
    county.screenshot(path=str(ARTIFACTS / f"{kind}-3-county-after.png"), full_page=True)
    # columns: region, sampled schools, 上报率, with roster, sampled pupils, with fitness data, …
    if kind == "roster":
        assert before[3].split()[0] == "1" and after[3].split()[0] == "2", (before, after)
    else:
        assert (before[5].split()[0], after[5].split()[0]) == ("0", "8"), (before, after)
