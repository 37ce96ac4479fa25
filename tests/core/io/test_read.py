"""junheng.io on real files: encodings, normalisation, header search, row numbers, parsers, annotation."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from junheng.exceptions import InputError
from junheng.io import (
    annotate_workbook,
    map_columns,
    parse_dates,
    parse_decimals,
    parse_integers,
    read_table,
    write_table,
)
from junheng.registry.schemas import PUPILS


def test_it_reads_gb18030_csv(tmp_path, make):
    path = make.write_csv(tmp_path / "p.csv", make.PUPIL_HEADERS, make.pupil_rows(3), "gb18030")
    assert path.read_bytes()[:6] == "学籍号".encode("gb18030")  # really GB18030 bytes
    raw = read_table(path, expected_headers=PUPILS)
    assert raw.encoding == "gb18030"
    assert raw.columns == make.PUPIL_HEADERS
    assert raw["姓名"].to_list() == ["学生0", "学生1", "学生2"]
    assert raw["班级名称"][0] == "六(1)班"  # full-width brackets normalised
    assert raw["__row__"].to_list() == [2, 3, 4]


def test_it_reads_utf8_with_bom_without_a_stray_bom_in_the_first_header(tmp_path, make):
    path = make.write_csv(tmp_path / "p.csv", make.PUPIL_HEADERS, make.pupil_rows(2), "utf-8-sig")
    assert path.read_bytes()[:3] == b"\xef\xbb\xbf"
    raw = read_table(path)
    assert raw.encoding == "utf-8-sig"
    assert raw.columns[0] == "学籍号"


def test_it_normalises_full_width_digits_letters_and_odd_spaces(tmp_path, make):
    row = make.pupil_rows(1)[0]
    sid = row[0]
    full = "".join(chr(ord(c) + 0xFEE0) for c in sid)  # Ｇ４１０…
    row[0] = "\u3000" + full + "\u00a0"
    row[3] = "２０１１－０４－２７"
    row[6] = "６"
    path = make.write_csv(tmp_path / "p.csv", make.PUPIL_HEADERS, [row])
    raw = read_table(path)
    assert raw["学籍号"][0] == sid
    assert raw["出生日期"][0] == "2011-04-27"
    assert raw["年级"][0] == "6"


def test_it_drops_blank_rows_and_keeps_the_spreadsheet_row_numbers(tmp_path, make):
    path = make.write_csv(tmp_path / "p.csv", make.PUPIL_HEADERS, make.pupil_rows(3), blank_lines_after=(0,))
    raw = read_table(path)
    # line 1 headers, 2 first pupil, 3 empty, 4 empty cells, 5 and 6 the next pupils
    assert raw["__row__"].to_list() == [2, 5, 6]


def test_it_finds_the_headers_under_a_merged_title_and_group_header(tmp_path, make):
    path = make.write_xlsx(tmp_path / "p.xlsx", make.PUPIL_HEADERS, make.pupil_rows(2), title="中原区实验小学六年级名册",
                           group_header=True, typed=True)
    raw = read_table(path, expected_headers=PUPILS)
    assert raw.header_row == 3
    assert raw.columns == make.PUPIL_HEADERS
    assert raw["__row__"].to_list() == [4, 5]
    # Excel-typed cells: 1.0 → "1", a date cell → ISO date
    assert raw["性别"].to_list() == ["1", "2"]
    assert raw["年级"].to_list() == ["6", "6"]
    assert raw["出生日期"].to_list() == ["2011-04-27", "2011-04-27"]


def test_a_vertically_merged_header_names_its_column(tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["学籍号", "基本信息", None])
    ws.append([None, "姓名", "性别"])
    ws.merge_cells("A1:A2")
    ws.merge_cells("B1:C1")
    ws.append(["G1", "张三", "1"])
    wb.save(tmp_path / "m.xlsx")
    raw = read_table(tmp_path / "m.xlsx", expected_headers=["学籍号", "姓名", "性别"])
    assert raw.header_row == 2
    assert raw.columns == ["学籍号", "姓名", "性别"]
    assert raw["__row__"].to_list() == [3]


def test_every_date_form_parses_to_the_same_day():
    forms = ["2011-09-01", "2011/9/1", "2011.9.1", "20110901", "2011年9月1日", "40787", "40787.0", "2011-09-01 00:00:00"]
    values, bad = parse_dates(pl.Series("d", forms))
    # 40787 = days from 1899-12-30 to 2011-09-01 (Excel's 1900 date system)
    assert (dt.date(2011, 9, 1) - dt.date(1899, 12, 30)).days == 40787
    assert values.to_list() == [dt.date(2011, 9, 1)] * len(forms)
    assert not bad.any()


def test_impossible_and_unreadable_dates_are_bad_and_blanks_are_not():
    values, bad = parse_dates(pl.Series("d", ["2011-02-30", "2011-13-01", "abc", None, "9.1"]))
    assert values.to_list() == [None] * 5
    assert bad.to_list() == [True, True, True, False, True]


def test_integer_and_decimal_parsers_flag_every_bad_cell():
    v, bad = parse_integers(pl.Series(["12", "12.0", "-3", "1,234", "1.5", "x", None]))
    assert v.to_list() == [12, 12, -3, 1234, None, None, None]
    assert bad.to_list() == [False, False, False, False, True, True, False]
    v, bad = parse_decimals(pl.Series(["3.5", "-0.25", "1,234.5", "1e3", "x", None]))
    assert v.to_list() == [3.5, -0.25, 1234.5, 1000.0, None, None]
    assert bad.to_list() == [False, False, False, False, True, False]


def test_map_columns_accepts_aliases_reports_missing_and_unknown_columns(tmp_path, make):
    headers = ["全国学籍号", "学生姓名", "gender", "出生年月", "学校代码", "备注"]  # no 年级; 备注 unknown
    rows = [[r[0], r[1], r[2], r[3], r[5], "x"] for r in make.pupil_rows(2)]
    raw = read_table(make.write_csv(tmp_path / "p.csv", headers, rows))
    frame, issues = map_columns(raw, PUPILS)
    assert frame["student_id"].to_list() == [r[0] for r in rows]
    assert frame["grade"].null_count() == 2
    msgs = {(i.severity, i.column): i.message() for i in issues}
    assert msgs[("error", "年级")].startswith("p.csv 年级: 缺少必需的列（可用列名: 年级、grade、年级编号、grade_code）")
    assert msgs[("warning", "备注")] == "p.csv 备注: 无法识别的列，已忽略 / p.csv, column 备注: unknown column, ignored"
    assert len(issues) == 2


def test_unsupported_and_missing_files_are_input_errors(tmp_path):
    (tmp_path / "a.pdf").write_bytes(b"%PDF")
    with pytest.raises(InputError, match="不支持的文件类型"):
        read_table(tmp_path / "a.pdf")
    with pytest.raises(InputError, match="文件不存在"):
        read_table(tmp_path / "nope.csv")


def test_annotated_workbook_marks_the_bad_cells_red_with_the_message(tmp_path, make):
    from openpyxl import load_workbook

    from junheng.registry.validate import validate_pupils

    rows = make.pupil_rows(3)
    rows[1][2] = "男性"
    for src in (make.write_xlsx(tmp_path / "p.xlsx", make.PUPIL_HEADERS, rows, title="名册"),
                make.write_csv(tmp_path / "p.csv", make.PUPIL_HEADERS, rows, "gb18030")):
        raw = read_table(src, expected_headers=PUPILS)
        _, issues = validate_pupils(raw)
        assert [i.row for i in issues] == [raw["__row__"][1]]
        out = annotate_workbook(src, issues, tmp_path / f"{src.suffix[1:]}-annotated.xlsx")
        ws = load_workbook(out).worksheets[0]
        cell = ws.cell(row=issues[0].row, column=3)  # 性别 is column C
        assert cell.value == "男性"
        assert cell.fill.fgColor.rgb == "FFFFC7CE"
        assert "应为 1（男）或 2（女），实际为 '男性'" in cell.comment.text
        assert ws.cell(row=issues[0].row - 1, column=3).comment is None
        listing = load_workbook(out)["问题清单"]
        assert listing.max_row == 2


def test_write_table_round_trips(tmp_path):
    frame = pl.DataFrame({"学籍号": ["G1", "G2"], "n": [1, 2]})
    for ext in ("parquet", "csv", "xlsx"):
        path = write_table(frame, tmp_path / f"t.{ext}")
        raw = read_table(path) if ext != "parquet" else None
        if raw is not None:
            assert raw["学籍号"].to_list() == ["G1", "G2"]
            assert raw["n"].to_list() == ["1", "2"]
    assert pl.read_parquet(tmp_path / "t.parquet").equals(frame)


def test_an_undecodable_csv_is_named_in_the_error():
    from junheng.exceptions import InputError
    from junheng.io import decode_csv

    with pytest.raises(InputError, match=r"x\.csv: 文件编码无法识别.* / x\.csv: unknown text encoding"):
        decode_csv(b"a,b\n\x80\xff\n", file="x.csv")


def test_normalising_only_the_cells_that_change_equals_normalising_every_cell():
    import polars as pl

    from junheng.io import normalise_expr, normalise_frame

    cells = ["147.5", "１４５．０", " 1 ", "", None, "a\u3000b", "x\t", "\u200b", "张三", "3′45″", "ｘ", "\ufeff年级",
             "plain", "\u00a0"]
    frame = pl.DataFrame({"a": cells * 7, "b": list(reversed(cells)) * 7, "n": list(range(len(cells) * 7))})
    whole = frame.with_columns(normalise_expr(pl.col(c)).alias(c) for c in ("a", "b"))
    assert normalise_frame(frame).to_dict(as_series=False) == whole.to_dict(as_series=False)
    assert normalise_frame(frame.head(0)).columns == frame.columns


def test_read_frame_projects_columns_in_the_requested_order(tmp_path):
    from junheng.io import read_frame

    frame = pl.DataFrame({"student_id": ["001", "002"], "weight": [1.5, 2.0], "rep_1": [1.0, 0.0],
                          "rep_2": [2.0, 4.0], "county_code": ["410102", "410103"], "name": ["张三", "李四"]})
    frame.write_parquet(tmp_path / "w.parquet")
    got = read_frame(tmp_path / "w.parquet", ["weight", "rep_*", "student_id", "nothing"])
    assert got.columns == ["weight", "rep_1", "rep_2", "student_id"]  # a pattern matching nothing is left out
    assert got["rep_2"].to_list() == [2.0, 4.0]
    # a GB18030 CSV: decoded (not mangled), typed from its values, codes kept as text
    (tmp_path / "w.csv").write_bytes(frame.write_csv().encode("gb18030"))
    got = read_frame(tmp_path / "w.csv", ["name", "county_code", "weight"], infer=True,
                     string_columns=("county_code", "student_id"))
    assert got.columns == ["name", "county_code", "weight"]
    assert got["name"].to_list() == ["张三", "李四"]
    assert got.schema["county_code"] == pl.String and got.schema["weight"] == pl.Float64
    assert read_frame(tmp_path / "w.csv", ["student_id"])["student_id"].to_list() == ["001", "002"]  # text
    with pytest.raises(InputError, match="not found"):
        read_frame(tmp_path / "missing.parquet", ["weight"])


def test_the_separator_is_judged_on_the_first_line_with_text_and_blank_files_are_empty(tmp_path):
    # lines of spaces before the header do not decide the separator: a tab-separated file stays one
    path = tmp_path / "t.csv"
    path.write_text(" \n\t\n\n学籍号\t姓名\n1\t张三\n", encoding="utf-8")
    raw = read_table(path)
    assert raw.columns[:2] == ["学籍号", "姓名"] and raw["姓名"].to_list() == ["张三"]
    assert raw["__row__"].to_list() == [5]  # the file's own line number
    # a comma on the header line makes it a comma file even with tabs in it; a quote inside a
    # field (the tolerant reader) keeps every column too
    for body, name in (("1,张三\n", "张三"), ('1,3\'45"\n', '3\'45"')):
        path.write_text("\n学籍号,姓名\t备注\n" + body, encoding="utf-8")
        raw = read_table(path)
        assert raw.columns[:2] == ["学籍号", "姓名 备注"] and raw["姓名 备注"].to_list() == [name]
        assert raw["__row__"].to_list() == [3]
    for text in (" \n\t\r\n", ""):
        path.write_text(text, encoding="utf-8")
        with pytest.raises(InputError, match="empty"):
            read_table(path)
