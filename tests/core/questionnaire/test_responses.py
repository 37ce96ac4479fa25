"""Reading and checking responses files: every bad cell at once, encodings, title rows, the template."""

from __future__ import annotations

import polars as pl
import pytest
from openpyxl import Workbook, load_workbook

from junheng.questionnaire import load_questionnaire, read_responses, template, validate_responses

# GB 11643-1999's own example number (check character X) and two L-numbers (no check character)
G_OK = "G11010519491231002X"
L1, L2, L3 = "L410102201101010001", "L410102201101010002", "L410102201101010003"
HEAD = "学籍号,学校标识码,Q01,Q02,Q03,Q04,Q05,Q06"


def _write(path, lines, encoding="utf-8"):
    path.write_bytes("\n".join(lines).encode(encoding))
    return path


def _found(issues):
    return {(i.row, i.column, i.value, i.rule_en) for i in issues if i.severity == "error"}


def test_every_kind_of_bad_cell_at_once(tmp_path, small_q):
    f = _write(tmp_path / "答卷.csv", [
        HEAD,
        f"{G_OK},4100000001,1,4,3,2,9.5,45",          # row 2: good
        f"{L1},4100000001,3,5,x,,abc,61.5",            # row 3: codes not options, not numbers, not whole
        f"{L2},41000001,9,99,1,1,99,301",              # row 4: short school code; 301 > 300
        "G110105194912310021,4100000001,2,1,1,1,3,20",  # row 5: bad check character; 3 < 4 h
        f"{L1},4100000001,2,1,1,1,10,20",              # row 6: same pupil as row 3
        ",4100000001,2,1,1,1,10,20",                   # row 7: no 学籍号
    ])
    frame, issues = read_responses(f, small_q)
    assert all(i.file == "答卷.csv" for i in issues)
    options = "must be an option code 1, 2 (no answer: 9, 99 or blank)"
    likert = "must be an option code 1, 2, 3, 4 (no answer: 9, 99 or blank)"
    assert _found(issues) == {
        (3, "Q01", "3", options), (3, "Q02", "5", likert), (3, "Q03", "x", likert),
        (3, "Q05", "abc", "not a number"), (3, "Q06", "61.5", "must be a whole number"),
        (4, "学校标识码", "41000001", "学校标识码 must be 10 digits"),
        (4, "Q06", "301", "out of range (must be 0–300 分钟)"),
        (5, "学籍号", "G110105194912310021", "wrong check digit (GB 11643 gives X)"),
        (5, "Q05", "3", "out of range (must be 4–14 小时)"),
        (3, "学籍号", L1, "duplicate 学籍号 (same as row 6)"),
        (6, "学籍号", L1, "duplicate 学籍号 (same as row 3)"),
        (7, "学籍号", None, "required, must not be blank"),
    }
    # bad cells and missing codes are null; 99 minutes would be an answer, 99 hours is a missing code
    assert frame.columns == ["respondent_id", "school_code", "Q01", "Q02", "Q03", "Q04", "Q05", "Q06"]
    assert frame.schema["Q01"] == pl.Int64 and frame.schema["Q05"] == pl.Float64
    assert frame.row(0) == (G_OK, "4100000001", 1, 4, 3, 2, 9.5, 45.0)
    assert frame.row(1)[2:] == (None, None, None, None, None, None)
    assert frame.row(2)[2:] == (None, None, 1, 1, None, None)


def test_gb18030_with_a_title_row_long_headers_full_width_and_labels(tmp_path, small_q):
    f = _write(tmp_path / "gb.csv", [
        "2022年相关因素调查问卷 学生卷,,,,,,,",
        "学籍号,Q1 你在学校寄宿吗？,Q02 我喜欢学习,Q03 学习对我来说是一件快乐的事,Q04,Q05 睡眠,Ｑ０６ 作业,姓名",
        f"{L1},寄宿,３, 4 ,完全不同意,１０,60,张三",
        f"{L2},2,9,,1,8.5,99,李四",
    ], encoding="gb18030")
    frame, issues = read_responses(f, small_q)
    assert [i for i in issues if i.severity == "error"] == []
    assert [(i.column, i.rule_en) for i in issues] == [("姓名", "unknown column, ignored")]
    assert frame.rows() == [(L1, 1, 3, 4, 1, 10.0, 60.0), (L2, 2, None, None, 1, 8.5, 99.0)]


def test_xlsx_with_a_title_row(tmp_path, small_q):
    wb = Workbook()
    ws = wb.active
    ws.title = "学生问卷"
    ws.append(["河南省义务教育质量监测 学生问卷录入"])
    ws.append([])
    ws.append(["学籍号", "学校标识码", "Q01 你在学校寄宿吗？", "Q02", "Q03", "Q04", "Q05", "Q06"])
    ws.append([L1, "4100000001", 1, 4, 4, 1, 10, 30])
    ws.append([L2, "4100000001", 2, 7, 3, 2, 9.5, 30.0])
    path = tmp_path / "问卷.xlsx"
    wb.save(path)
    frame, issues = read_responses(path, small_q)
    (issue,) = issues
    assert (issue.file, issue.sheet, issue.row, issue.column, issue.value) == ("问卷.xlsx", "学生问卷", 5, "Q02", "7")
    assert "工作表 学生问卷 第5行 Q02" in issue.message()
    assert frame.row(0) == (L1, "4100000001", 1, 4, 4, 1, 10.0, 30.0)


def test_missing_key_column_unknown_and_absent_columns(tmp_path, small_q):
    frame, issues = validate_responses(pl.DataFrame({"编号": ["1"], "Q01": ["1"], "备注": ["x"]}), small_q, file="a.csv")
    errors = [(i.row, i.column, i.rule_en) for i in issues if i.severity == "error"]
    assert errors == [(None, "学籍号", "required column 学籍号 is missing (accepted headers: 学籍号, student_id, "
                                     "respondent_id, 全国学籍号, 学生学籍号)")]
    warnings = {(i.column, i.rule_en) for i in issues if i.severity == "warning"}
    assert ("备注", "unknown column, ignored") in warnings and ("编号", "unknown column, ignored") in warnings
    assert ("Q05", "this item is not in the file (all treated as no answer)") in warnings
    assert frame["Q05"].null_count() == 1


def test_two_columns_for_one_item(small_q):
    frame = pl.DataFrame({"学籍号": [L1], "Q1 寄宿": ["1"], "Q01": ["2"]})
    out, issues = validate_responses(frame, small_q)
    errors = [(i.column, i.rule_en) for i in issues if i.severity == "error"]
    assert errors == [("Q01", "same item as column Q1 寄宿 (one column per item)")]
    assert out["Q01"].to_list() == [1]


def test_typed_frame_and_row_numbers(small_q):
    frame = pl.DataFrame({"student_id": [L1, L2], "Q01": [1, 5], "Q05": [9.5, None]})
    out, issues = validate_responses(frame, small_q)
    assert [(i.row, i.column, i.value) for i in issues if i.severity == "error"] == [(3, "Q01", "5")]
    assert out["Q01"].to_list() == [1, None]


@pytest.mark.parametrize("respondent", ["principal", "teacher"])
def test_principal_and_teacher_keys(small_def, respondent):
    small_def["respondent"] = respondent
    q = load_questionnaire(small_def)
    if respondent == "principal":
        frame = pl.DataFrame({"学校标识码": ["4100000001", "4100000002", "4100000001", "41"], "Q01": ["1"] * 4})
        expected = {(2, "duplicate school (same as row 4)"), (4, "duplicate school (same as row 2)"),
                    (5, "学校标识码 must be 10 digits")}
    else:
        frame = pl.DataFrame({"教师编号": ["T1", "T1", "T1", None], "学校标识码": ["4100000001", "4100000002",
                                                                           "4100000001", "4100000001"],
                              "Q01": ["1"] * 4})
        expected = {(2, "duplicate teacher (学校标识码 + 教师编号) (same as row 4)"),
                    (4, "duplicate teacher (学校标识码 + 教师编号) (same as row 2)"),
                    (5, "required, must not be blank")}
    out, issues = validate_responses(frame, q)
    assert {(i.row, i.rule_en) for i in issues if i.severity == "error"} == expected
    assert out.columns[:2] == ["respondent_id", "school_code"]


def test_template_has_validation_and_reads_back(tmp_path, small_q):
    path = template(small_q, tmp_path / "录入.xlsx", rows=50)
    wb = load_workbook(path)
    ws = wb["作答录入"]
    assert [c.value for c in ws[2]][:4] == ["学籍号", "学校标识码", "Q01 你在学校寄宿吗？", "Q02 我喜欢学习"]
    rules = {str(dv.sqref): dv for dv in ws.data_validations.dataValidation}
    assert rules["C3:C52"].type == "list" and rules["C3:C52"].formula1 == '"1,2,9,99"'
    assert rules["H3:H52"].type == "whole" and (rules["H3:H52"].formula1, rules["H3:H52"].formula2) == ("0", "300")
    assert rules["G3:G52"].type == "custom" and "G3=99" in rules["G3:G52"].formula1  # 99 h = no answer
    codes = [r for r in wb["代码说明"].iter_rows(values_only=True)]
    assert ("Q02", "我喜欢学习", "选择 choice", "1=完全不同意；2=不太同意；3=比较同意；4=完全同意", None) in codes
    ws.append([G_OK, "4100000001", 1, 4, 3, 2, 9.5, 45])
    ws.append([L1, "4100000001", 2, 9, 3, None, 99, 30])
    wb.save(path)
    frame, issues = read_responses(path, small_q)
    assert issues == []
    assert frame.rows() == [(G_OK, "4100000001", 1, 4, 3, 2, 9.5, 45.0),
                            (L1, "4100000001", 2, None, 3, None, None, 30.0)]
