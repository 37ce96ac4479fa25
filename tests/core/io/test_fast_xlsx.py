"""The small .xlsx writer: cells read back exactly with openpyxl and python-calamine."""

from __future__ import annotations

import io

import polars as pl
from openpyxl import load_workbook
from python_calamine import CalamineWorkbook

from junheng.io import xlsx_bytes
from junheng.io._fast_xlsx import _column_letters


def test_column_letters_follow_excel():
    letters = _column_letters(703)
    assert letters[:3] == ["A", "B", "C"] and letters[25:28] == ["Z", "AA", "AB"]
    assert letters[701:703] == ["ZZ", "AAA"]


def test_cells_round_trip_including_markup_characters_and_nulls():
    df = pl.DataFrame({
        "code": ["0012", "a&b<c>", "引号\"'"],
        "n": [1, None, -3],
        "x": [1.5, 2.25, None],
        "big": [4_482_300, 0, 10**12],
    })
    data = xlsx_bytes(df, ["代码", "整数", "小数", "大数"], "学校&名单")
    ws = load_workbook(io.BytesIO(data), read_only=True)["学校&名单"]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0] == ("代码", "整数", "小数", "大数")
    assert rows[1] == ("0012", 1, 1.5, 4_482_300)
    assert rows[2] == ("a&b<c>", None, 2.25, 0)
    assert rows[3] == ("引号\"'", -3, None, 10**12)
    cal = CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_name("学校&名单").to_python()
    assert cal[1][0] == "0012" and cal[2][0] == "a&b<c>" and cal[3][3] == 10**12


def test_same_frame_same_bytes():
    df = pl.DataFrame({"a": ["x", "y"], "b": [1, 2]})
    assert xlsx_bytes(df, ["A", "B"], "s") == xlsx_bytes(df, ["A", "B"], "s")
