"""Registry validation: every rule, with the precise message (row, column, value, rule)."""

from __future__ import annotations

import datetime as dt

import polars as pl

from junheng.io import read_table
from junheng.registry.schemas import PUPILS, SCHOOLS
from junheng.registry.validate import divisions, roster_school_codes, validate_pupils, validate_schools


def _pupils(tmp_path, make, rows, **kw):
    raw = read_table(make.write_csv(tmp_path / "p.csv", make.PUPIL_HEADERS, rows), expected_headers=PUPILS)
    return validate_pupils(raw, **kw)


def _msgs(issues, severity="error"):
    return [i.message() for i in issues if i.severity == severity]


def test_a_clean_roster_has_no_issues_and_typed_fields(tmp_path, make):
    frame, issues = _pupils(tmp_path, make, make.pupil_rows(4), school_year=2022)
    assert issues == []
    assert frame.schema["sex"] == pl.Int8 and frame.schema["grade"] == pl.Int8
    assert frame["birth_date"].to_list() == [dt.date(2011, 4, 27)] * 4
    assert frame["ethnicity"].to_list() == ["01"] * 4


def test_a_wrong_check_digit_names_the_right_one(tmp_path, make):
    rows = make.pupil_rows(3)
    good = rows[1][0]
    wrong = "0" if good[-1] != "0" else "1"
    rows[1][0] = good[:-1] + wrong
    _, issues = _pupils(tmp_path, make, rows)
    assert _msgs(issues) == [
        f"p.csv 第3行 学籍号: 校验位错误（按 GB 11643 应为 {good[-1]}），实际为 '{good[:-1] + wrong}' / "
        f"p.csv, row 3, column 学籍号: wrong check digit (GB 11643 gives {good[-1]}); got '{good[:-1] + wrong}'"]


def test_the_gb11643_example_number_is_accepted(tmp_path, make):
    rows = make.pupil_rows(1)
    rows[0][0] = "G11010519491231002X"  # the worked example of GB 11643-1999
    rows[0][3] = "2011-04-27"
    _, issues = _pupils(tmp_path, make, rows)
    assert not [i for i in issues if i.column == "学籍号"]


def test_every_row_of_a_duplicate_group_is_reported(tmp_path, make):
    rows = make.pupil_rows(5)
    rows[3][0] = rows[0][0]
    rows[4][0] = rows[0][0]
    _, issues = _pupils(tmp_path, make, rows)
    assert [(i.row, i.rule_zh) for i in issues] == [
        (2, "学籍号重复（与第 5、6 行相同）"), (5, "学籍号重复（与第 2、6 行相同）"), (6, "学籍号重复（与第 2、5 行相同）")]


def test_sex_accepts_1_2_and_male_female_but_rejects_other_words(tmp_path, make):
    rows = make.pupil_rows(4)
    rows[0][2], rows[1][2], rows[2][2], rows[3][2] = "男", "女", "男性", "3"
    frame, issues = _pupils(tmp_path, make, rows)
    assert frame["sex"].to_list()[:2] == [1, 2]
    assert _msgs(issues) == [
        "p.csv 第4行 性别: 应为 1（男）或 2（女），实际为 '男性' / p.csv, row 4, column 性别: must be 1 (male) or 2 (female); "
        "男/女 accepted; got '男性'",
        "p.csv 第5行 性别: 应为 1（男）或 2（女），实际为 '3' / p.csv, row 5, column 性别: must be 1 (male) or 2 (female); "
        "男/女 accepted; got '3'"]


def test_grade_codes_map_to_grades_and_others_are_rejected(tmp_path, make):
    rows = make.pupil_rows(4)
    rows[0][6], rows[1][6], rows[2][6], rows[3][6] = "16", "6", "17", "0"
    rows[1][3] = "2011-04-27"
    frame, issues = _pupils(tmp_path, make, rows, school_year=2022)
    assert frame["grade"].to_list() == [6, 6, None, None]
    assert [(i.row, i.column, i.value, i.rule_en) for i in issues if i.column == "年级"] == [
        (4, "年级", "17", "must be 1–9, or 年级编号 11–16 / 21–23"), (5, "年级", "0", "must be 1–9, or 年级编号 11–16 / 21–23")]


def test_junior_grade_codes(tmp_path, make):
    rows = make.pupil_rows(3)
    for r, code in zip(rows, ["21", "22", "23"]):
        r[6] = code
    frame, _ = _pupils(tmp_path, make, rows)
    assert frame["grade"].to_list() == [7, 8, 9]


def test_ethnicity_by_code_or_name(tmp_path, make):
    rows = make.pupil_rows(5)
    for r, v in zip(rows, ["1", "汉族", "回", "98", "99"]):
        r[4] = v
    frame, issues = _pupils(tmp_path, make, rows)
    assert frame["ethnicity"].to_list() == ["01", "01", "03", "98", None]
    assert [(i.row, i.value, i.rule_zh) for i in issues] == [(6, "99", "不是 GB 3304 民族代码或民族名称")]


def test_birth_dates_in_every_form_and_implausible_ones(tmp_path, make):
    rows = make.pupil_rows(7)
    for r, v in zip(rows, ["2011/4/27", "20110427", "2011年4月27日", "40660", "2011-02-30", "2019-05-01", "2023-01-01"]):
        r[3] = v
    frame, issues = _pupils(tmp_path, make, rows, school_year=2022)
    assert frame["birth_date"].to_list()[:4] == [dt.date(2011, 4, 27)] * 4
    errs = sorted((i.row, i.value, i.rule_en) for i in issues if i.severity == "error")
    assert errs == [
        (6, "2011-02-30", "not a valid date (write 2011-09-01, 2011/9/1, 20110901 or 2011年9月1日)"),
        (7, "2019-05-01", "implausible for the grade (age on 1 September 2022 must be grade+3 to grade+9)"),
        (8, "2023-01-01", "birth date after 1 September 2022"),
    ]


def test_an_unusual_age_is_a_warning_not_an_error(tmp_path, make):
    rows = make.pupil_rows(2)
    rows[1][3] = "2008-03-01"  # 14 on 1 Sept 2022 in grade 6: grade + 8
    _, issues = _pupils(tmp_path, make, rows, school_year=2022)
    assert [(i.severity, i.row) for i in issues] == [("warning", 3)]


def test_unknown_school_and_required_cells(tmp_path, make):
    rows = make.pupil_rows(3)
    rows[0][5] = "2141999999"
    rows[1][1] = ""
    rows[2][5] = "214100"
    _, issues = _pupils(tmp_path, make, rows, known_schools={make.SCHOOL_A})
    assert [(i.row, i.column, i.rule_en) for i in issues] == [
        (3, "姓名", "required, must not be blank"),
        (4, "学校标识码", "学校标识码 must be 10 digits"),
        (2, "学校标识码", "school not in the school register (import the schools first)"),
    ]


def test_roster_school_codes_are_the_codes_the_school_check_compares(tmp_path, make):
    """The web import looks up only these schools: a code written with spaces or lower-case
    letters must come out as validate_pupils compares it, or a registered school would be
    reported unknown (and a file wrongly rejected)."""
    rows = make.pupil_rows(5)
    code = make.SCHOOL_A
    rows[0][5] = f" {code[:4]} {code[4:]} "
    rows[1][5] = ""
    rows[2][5] = "2141999999"
    rows[3][5] = "21410a"
    raw = read_table(make.write_csv(tmp_path / "p.csv", make.PUPIL_HEADERS, rows), expected_headers=PUPILS)
    codes = roster_school_codes(raw)
    assert codes == sorted({code, "2141999999", "21410A"})
    registered = {code}  # what the database would return for these codes
    _, issues = validate_pupils(raw, known_schools=registered & set(codes))
    unknown = [(i.row, i.value) for i in issues if i.rule_en.startswith("school not in")]
    assert unknown == [(4, "2141999999")]


def test_schools_every_rule(tmp_path, make):
    rows = make.school_rows() + [
        ["21410000", "坏学校", "419999", "高中", "农村", "也许", "-3", "x"],
        [make.SCHOOL_A, "重复", "410102", "小学", "城区", "是", "1", "1"],
    ]
    raw = read_table(make.write_xlsx(tmp_path / "s.xlsx", make.SCHOOL_HEADERS, rows, typed=True), expected_headers=SCHOOLS)
    frame, issues = validate_schools(raw)
    got = [(i.row, i.column, i.value, i.rule_zh) for i in issues]
    assert got == [
        (4, "学校标识码", "21410000", "学校标识码应为 10 位数字"),
        (2, "学校标识码", "2141000001", "学校标识码重复（与第 5 行相同）"),
        (5, "学校标识码", "2141000001", "学校标识码重复（与第 2 行相同）"),
        (4, "区县代码", "419999", "区县代码不是河南省的县级行政区划代码（GB/T 2260）"),
        (4, "办学类型", "高中", "应为 小学/初中/九年一贯制/完全中学 之一"),
        (4, "城乡类型", "农村", "应为 城区/镇区/乡村 之一"),
        (4, "是否教学点", "也许", "应为 是 或 否"),
        (4, "六年级在校生数", "-3", "不能为负数"),
        (4, "六年级班数", "x", "应为整数"),
    ]
    assert frame["is_teaching_point"].to_list() == [False, False, False, True]
    assert frame["enrol_g6"].to_list()[:2] == [120, 80]
    assert frame["enrol_g1"].to_list() == [0, 0, 0, 0]  # absent count columns are 0


def test_divisions_are_henan_2022():
    d = divisions()
    counts = d.group_by("level").len().sort("level")
    assert dict(zip(counts["level"], counts["len"])) == {"province": 1, "city": 18, "county": 157}
    jiyuan = d.filter(pl.col("code") == "419001")
    assert sorted(jiyuan["level"].to_list()) == ["city", "county"]
    cities = set(d.filter(pl.col("level") == "city")["code"])
    assert set(d.filter(pl.col("level") == "county")["parent_code"]) <= cities
