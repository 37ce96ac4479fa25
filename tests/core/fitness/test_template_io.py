"""Reading the national upload template: formats, encodings, every bad row, plausibility warnings."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from openpyxl import Workbook

from junheng.exceptions import InputError
from junheng.fitness import graduation_scores, read_fitness_file, score_fitness
from junheng.registry.codes import check_char

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "fitness"
HEAD = ["年级编号", "班级编号", "班级名称", "学籍号", "民族代码", "姓名", "性别", "出生日期", "家庭住址", "身高", "体重",
        "肺活量", "50米跑", "坐位体前屈", "一分钟跳绳", "一分钟仰卧起坐", "50米×8往返跑", "左眼裸眼视力", "右眼裸眼视力", "免测"]


def sid(k: int) -> str:
    body = f"41010220100101{k:03d}"
    return "G" + body + check_char(body)


def test_xlsx_with_typed_cells_reads_exactly(tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.append(HEAD)
    ws.append([16, "01", "六(1)班", sid(1), "01", "张三", 2, "2010-01-01", "郑州", 150.0, 40.5, 2010, 8.25, 1.85, 170,
               46, "1'40\"", 5.0, 4.9, None])
    ws.append([16, "01", "六(1)班", sid(2), "01", "李四", 1, "2010-01-01", "郑州", None, None, None, None, None, None,
               None, None, None, None, "免测"])
    wb.save(tmp_path / "a.xlsx")
    up = read_fitness_file(tmp_path / "a.xlsx")
    r = up.records.row(0, named=True)
    assert (r["grade"], r["sex"], r["run_50m"], r["sit_and_reach"], r["shuttle_50x8"]) == (6, 2, 8.3, 1.9, 100)
    s = score_fitness(up.records)
    assert s["total_score"].to_list() == [91.2, None]  # the grade-6 girl's hand-worked card
    assert s["exempt"].to_list() == [False, True]


def test_gb18030_csv_with_full_width_digits_and_spaces(tmp_path):
    text = ",".join(HEAD) + "\n" + ",".join(
        ["１６", "01", "六(1)班", sid(3), "01", "王五", " 1 ", "2010-01-01", "郑州", "１４５．０", "52.0", "1500", "10.7",
         "-4.1", "64", "18", "2′13″", "4.8", "4.5", ""]) + "\n"
    path = tmp_path / "b.csv"
    path.write_bytes(text.encode("gb18030"))
    s = score_fitness(read_fitness_file(path).records)
    assert s["total_score"].to_list() == [53.0] and s["vision_class"].to_list() == ["重度"]


def test_every_bad_row_is_reported_with_its_spreadsheet_row():
    with pytest.raises(InputError) as err:
        read_fitness_file(FIXTURES / "bad_upload.csv")
    got = {(i.row, i.column) for i in err.value.errors}
    assert {(3, "年级编号"), (3, "性别"), (3, "肺活量"), (4, "一分钟仰卧起坐"), (4, "1000米跑")} <= got
    assert all(i.file == "bad_upload.csv" for i in err.value.errors)
    bilingual = err.value.errors[0].message()
    assert " / " in bilingual and "第3行" in bilingual


def test_implausible_but_legal_values_are_warnings_not_errors(tmp_path):
    text = ",".join(HEAD[:13]) + "\n" + ",".join(
        ["16", "01", "六(1)班", sid(4), "01", "赵六", "1", "2010-01-01", "郑州", "150", "40", "2500", "5.2"]) + "\n"
    path = tmp_path / "c.csv"
    path.write_text(text, encoding="utf-8")
    up = read_fitness_file(path)
    assert [(w.row, w.column, w.severity) for w in up.warnings if w.column == "50米跑"] == [(2, "50米跑", "warning")]


def test_missing_required_column_is_a_file_level_error(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("学籍号,姓名\n" + sid(5) + ",某\n", encoding="utf-8")
    with pytest.raises(InputError, match="年级编号"):
        read_fitness_file(path)


def test_graduation_score_is_half_final_year_half_mean_of_the_others():
    r = pl.DataFrame({"student_id": ["a", "a", "a", "b"], "year": [2020, 2021, 2022, 2022],
                      "total_score": [80.0, 85.5, 90.0, 59.9]})
    g = graduation_scores(r)
    # a: 0.5·90.0 + 0.5·(80.0 + 85.5)/2 = 45 + 41.375 = 86.375 → 86.4 良好; b: only the final year
    assert g["graduation_score"].to_list() == [86.4, 59.9]
    assert g["rating"].cast(pl.String).to_list() == ["良好", "不及格"]
