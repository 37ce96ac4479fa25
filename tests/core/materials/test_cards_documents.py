"""Login codes and the printed documents (cards, seating plan PDF/xlsx): masked by default."""

from __future__ import annotations

import hashlib
import shutil
import subprocess

import cv2
import numpy as np
import polars as pl
import pytest
from openpyxl import load_workbook

from junheng.exceptions import ParameterError
from junheng.materials.cards import ALPHABET, hash_code, login_codes
from junheng.materials.documents import cards_html, seating_html, seating_xlsx, write_pdf
from junheng.materials.seating import Room, seating_plan

IDS = [f"G41010220100315{k:04d}" for k in range(20)]


def test_login_codes_are_unambiguous_distinct_and_seeded():
    a = login_codes(IDS, random_state=5)
    assert a["student_id"].to_list() == IDS
    assert a["code"].n_unique() == len(IDS)
    assert all(len(c) == 8 and set(c) <= set(ALPHABET) for c in a["code"])
    assert not set("0O1IL2Z5S8BUV") & set(ALPHABET)  # the confusable characters are excluded
    assert a.equals(login_codes(IDS, random_state=5)) and not a.equals(login_codes(IDS, random_state=6))
    with pytest.raises(ParameterError, match="duplicate"):
        login_codes(["x", "x"], random_state=1)


def test_hash_code_is_salted_sha256():
    assert hash_code("ABCD3467", "2022-S01") == hashlib.sha256(b"2022-S01:ABCD3467").hexdigest()


def _cards() -> pl.DataFrame:
    codes = login_codes(IDS[:3], random_state=1)
    return codes.with_columns(pl.Series("name", ["张三丰", "李四", "王五"]), pl.lit("一中").alias("site"),
                              pl.lit("101").alias("room"), pl.Series("seat", [1, 2, 3]), pl.lit("数学").alias("subject"),
                              pl.lit("B01").alias("booklet"))


def test_cards_mask_names_unless_asked():
    masked = cards_html(_cards())
    assert "张三丰" not in masked and "张**" in masked and IDS[0] not in masked
    assert IDS[0][:7] + "**********" + IDS[0][-2:] in masked
    assert masked.count('class="card"') == 3 and masked.count("<svg") == 3
    full = cards_html(_cards(), unmask=True)
    assert "张三丰" in full and IDS[0] in full


@pytest.mark.integration
@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils not installed")
def test_eight_cards_a_page_and_each_qr_decodes_to_its_code(tmp_path):
    cards = login_codes(IDS[:9], random_state=3)
    write_pdf(cards_html(cards), tmp_path / "cards.pdf")
    info = subprocess.run(["pdfinfo", str(tmp_path / "cards.pdf")], capture_output=True, text=True, check=True).stdout
    assert "Pages:           2" in info
    subprocess.run(["pdftoppm", "-r", "150", "-png", "-gray", str(tmp_path / "cards.pdf"), str(tmp_path / "p")],
                   check=True)
    found = []
    for page in sorted(tmp_path.glob("p-*.png")):
        img = cv2.imread(str(page), cv2.IMREAD_GRAYSCALE)
        ok, texts, _, _ = cv2.QRCodeDetector().detectAndDecodeMulti(img)
        found.append(sorted(t for t in texts if t) if ok else [])
    assert found == [sorted(cards["code"][:8]), [cards["code"][8]]]


def test_seating_documents(tmp_path):
    pupils = pl.DataFrame({"student_id": IDS, "name": [f"学生{k}" for k in range(20)],
                           "school_code": ["2141000001"] * 12 + ["2141000002"] * 8,
                           "booklet": [f"B{k % 3}" for k in range(20)]})
    rooms = [Room("101", 4, 4), Room("102", 2, 3)]
    plan = seating_plan(pupils, rooms, random_state=1)
    html = seating_html(plan, rooms, title="座位表", meta="一中 数学")
    assert "学生1" not in html and "学**" in html and html.count('class="room"') == 2
    assert "学生1" in seating_html(plan, rooms, unmask=True)
    path = seating_xlsx(plan, rooms, tmp_path / "plan.xlsx")
    wb = load_workbook(path)
    assert wb.sheetnames == ["座位表", "考场 101", "考场 102"]
    rows = list(wb["座位表"].values)
    assert rows[0][:4] == ("考场", "座位号", "行", "列") and len(rows) == 21
    ids = [r[rows[0].index("学籍号")] for r in rows[1:]]
    assert all("**********" in i for i in ids)
    grid = list(wb["考场 102"].values)
    assert len(grid) == 1 + 2 and np.all([len(r) == 3 for r in grid[1:]])
