"""Assessment tables are read through junheng.io: encodings, title rows, full-width digits, blanks."""

from __future__ import annotations

import pytest
from openpyxl import Workbook

from junheng.exceptions import InputError
from junheng.io import read_input as read_table


def test_it_reads_a_gb18030_csv_under_a_title_row(tmp_path):
    path = tmp_path / "作答.csv"
    text = "2022年六年级数学作答数据,,\nperson_id,item_id,raw\n１０１,M01,Ａ\n102,M01,\n"
    path.write_bytes(text.encode("gb18030"))
    df = read_table(path, required=("person_id", "item_id", "raw"))
    assert df.columns == ["person_id", "item_id", "raw"]
    assert df.rows() == [("101", "M01", "A"), ("102", "M01", None)]


def test_it_reads_an_xlsx_with_a_title_row_and_keeps_codes_as_text(tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.append(["人工评分记录"])
    ws.append(["student_id", "item_id", "rater", "score"])
    ws.append(["G410102201001011234", "M07", "r1", 2])
    ws.append(["G410102201001011234", "M07", "r2", None])
    wb.save(tmp_path / "marks.xlsx")
    df = read_table(tmp_path / "marks.xlsx", required=("student_id", "item_id", "rater", "score"))
    assert df.rows() == [("G410102201001011234", "M07", "r1", "2"), ("G410102201001011234", "M07", "r2", None)]


def test_it_names_every_missing_column(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("person_id\n1\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        read_table(path, required=("person_id", "item_id", "raw"))
    assert [i.column for i in err.value.issues] == ["item_id", "raw"]
    assert all(i.file == "r.csv" for i in err.value.issues)
