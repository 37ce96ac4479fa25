"""Formula injection (issue 12.8, OWASP "CSV injection"): nothing the core writes runs as a formula.

Checked against the files' bytes and against what openpyxl and python-calamine read back — a
cell written as a formula reads back as ``data_type == "f"`` in openpyxl."""

from __future__ import annotations

import csv
import io
import zipfile

import polars as pl
import pytest
from openpyxl import load_workbook

from junheng.exceptions import Issue
from junheng.io import (
    annotate_workbook,
    is_formula_like,
    read_table,
    save_workbook,
    write_sheets,
    write_table,
)

EVIL = ['=HYPERLINK("http://evil.example","x")', "+1+2", "-2+3", "@SUM(A1)", "\t=1", "\r=1", "＝1+1", "＋1", "－1",
        "＠x"]
HARMLESS = ["张三", "-5", "+3.5", "1e3", "-0.25", "a=b", "", "2011-04-27"]


def test_the_rule_flags_formula_starts_and_spares_plain_numbers():
    assert all(is_formula_like(v) for v in EVIL)
    assert not any(is_formula_like(v) for v in HARMLESS)
    assert not is_formula_like(-5) and not is_formula_like(None)


@pytest.fixture
def frame():
    n = len(EVIL) + len(HARMLESS)
    return pl.DataFrame({"姓名": EVIL + HARMLESS, "分数": [-1.5] * n, "等级": pl.Series(["优秀"] * n).cast(pl.Categorical),
                         "=cmd": list(range(-n, 0))})


def test_csv_cells_get_an_apostrophe_and_numbers_stay_numbers(frame, tmp_path):
    path = write_table(frame, tmp_path / "out.csv")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(path.read_text("utf-8-sig"))))
    assert rows[0] == ["姓名", "分数", "等级", "'=cmd"]
    names = [r[0] for r in rows[1:]]
    assert names == ["'" + v.replace("\r", "\n") for v in EVIL] + HARMLESS  # (a reader turns CR into LF)
    assert {r[1] for r in rows[1:]} == {"-1.5"} and rows[1][3] == str(-len(names))


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gb18030"])
def test_enum_cells_are_written_as_labels_and_a_formula_like_label_is_neutralised(tmp_path, encoding):
    # a safe Enum (the fitness grades) is written by Polars straight from its labels, unscanned;
    # an Enum holding a formula-like label must still be neutralised cell by cell
    df = pl.DataFrame({"等级": pl.Series(["优秀", None, "不及格"], dtype=pl.Enum(["优秀", "良好", "不及格"])),
                       "evil": pl.Series(["=1+1", "ok", "=1+1"], dtype=pl.Enum(["ok", "=1+1"]))})
    path = write_table(df, tmp_path / "enum.csv", encoding=encoding)
    rows = list(csv.reader(io.StringIO(path.read_bytes().decode(encoding))))
    assert rows == [["等级", "evil"], ["优秀", "'=1+1"], ["", "ok"], ["不及格", "'=1+1"]]


def test_workbook_cells_are_text_never_formulas(frame, tmp_path):
    path = write_table(frame, tmp_path / "out.xlsx")
    sheet = zipfile.ZipFile(path).read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet
    ws = load_workbook(path).active
    assert [c.value for c in ws[1]] == ["姓名", "分数", "等级", "=cmd"]
    assert [ws.cell(row=r, column=1).value for r in range(2, 2 + len(EVIL))] == [v.replace("\r", "\n") for v in EVIL]
    assert all(c.data_type == "s" for c in ws["A"][1:] if c.value is not None)
    assert ws.cell(row=2, column=2).value == -1.5 and ws.cell(row=2, column=4).data_type == "n"
    write_sheets({"a": frame, "b": frame.head(1)}, tmp_path / "two.xlsx")
    assert "<f>" not in zipfile.ZipFile(tmp_path / "two.xlsx").read("xl/worksheets/sheet2.xml").decode()


def test_a_styled_workbook_is_saved_without_formulas(tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.append(["=1+1", "＝HYPERLINK(\"x\")", -3, "ok"])
    wb.active["E1"] = "=SUM(A1:A2)"
    save_workbook(wb, tmp_path / "s.xlsx")
    ws = load_workbook(tmp_path / "s.xlsx").active
    assert [c.data_type for c in ws[1]] == ["s", "s", "n", "s", "s"]


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_the_annotated_workbook_shows_a_formula_as_text(hostile, make, tmp_path, suffix):
    hostile.build(tmp_path, make.PUPIL_HEADERS, make.pupil_rows(3))
    source = tmp_path / f"formula-text{suffix}"
    raw = read_table(source)
    issue = Issue("姓名不合规", "bad name", file=source.name, sheet=raw.sheet, row=2, column="姓名",
                  value=raw.frame["姓名"][0])
    out = annotate_workbook(source, [issue], tmp_path / f"annotated{suffix}.xlsx")
    wb = load_workbook(out)
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            assert all(c.data_type != "f" for c in row), ws.title
    data = wb.worksheets[0]
    assert data["B2"].value.startswith("=HYPERLINK(") and data["B2"].comment is not None
    listing = wb["问题清单"]
    assert listing["D2"].value.startswith("=HYPERLINK(") and listing["D2"].data_type == "s"


def test_a_real_formula_cell_is_copied_as_its_value(hostile, make, tmp_path):
    hostile.build(tmp_path, make.PUPIL_HEADERS, make.pupil_rows(3))
    source = tmp_path / "formula-cell.xlsx"
    out = annotate_workbook(source, [Issue("x", "x", file=source.name, row=2, column="备注")], tmp_path / "a.xlsx")
    ws = load_workbook(out).worksheets[0]
    assert (ws["J2"].value, ws["J2"].data_type) == ("=1+1", "s")


def test_a_refused_source_gets_the_issue_list_only(hostile, make, tmp_path):
    hostile.build(tmp_path, make.PUPIL_HEADERS, make.pupil_rows(3))
    for name in ("billion-laughs.xlsx", "cell-at-XFD1048576.xlsx", "truncated-zip.xlsx"):
        out = annotate_workbook(tmp_path / name, [Issue("坏", "bad", file=name)], tmp_path / f"{name}.out.xlsx")
        assert load_workbook(out).sheetnames == ["说明", "问题清单"]
