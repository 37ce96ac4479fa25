"""OMR reader against synthetic scans: the sheet PDF is rendered, rasterised with pdftoppm, filled
programmatically with a known answer key (the oracle), rotated, scaled, blurred, noised and marked
with erasures, double marks and a stray mark; the reader must give back exactly what was drawn."""

from __future__ import annotations

import shutil
import subprocess

import cv2
import numpy as np
import polars as pl
import pytest

from junheng.exceptions import ParameterError
from junheng.materials.documents import sheets_html, write_pdf
from junheng.materials.omr import FIDUCIALS, SheetItem, SheetLayout, layout_for_booklet
from junheng.materials.omr_read import read_sheets

DPI = 100
MM = DPI / 25.4
STUDENT = "G410102201003150019"  # a valid 学籍号 (GB 11643 check character 9)

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils (pdftoppm) not installed")]


def _layout() -> SheetLayout:
    items = [SheetItem(f"M{k:02d}", "single_choice", "ABCD") for k in range(30)]
    items += [SheetItem("C01", "constructed", "012"), SheetItem("C02", "constructed", "0123"),
              SheetItem("X01", "multiple_choice", "ABCDE")]
    return SheetLayout("T1", "B03", "数学", tuple(items))


@pytest.fixture(scope="module")
def blank(tmp_path_factory):
    d = tmp_path_factory.mktemp("omr")
    lay = _layout()
    write_pdf(sheets_html([lay]), d / "sheet.pdf")
    subprocess.run(["pdftoppm", "-r", str(DPI), "-png", "-gray", "-singlefile", str(d / "sheet.pdf"), str(d / "sheet")],
                   check=True)
    return lay, cv2.imread(str(d / "sheet.png"), cv2.IMREAD_GRAYSCALE), d


def _fill(img, layout, marks, shade=40, radius=1.65):
    """``marks``: (part, key, value) → draw a pencil-like filled disc on that bubble."""
    b = layout.bubbles()
    for part, key, value in marks:
        r = b.filter((pl.col("part") == part) & (pl.col("key") == key) & (pl.col("value") == value)).row(0, named=True)
        cv2.circle(img, (round(r["x"] * MM), round(r["y"] * MM)), round(radius * MM), shade, -1, lineType=cv2.LINE_AA)


def _scan(img, angle, scale, seed, *, noise=10.0, jpeg=False):
    h, w = img.shape
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, scale)
    out = cv2.warpAffine(img, m, (w, h), borderValue=250, flags=cv2.INTER_LINEAR)
    out = cv2.GaussianBlur(out, (3, 3), 0)
    rng = np.random.default_rng(seed)
    out = np.clip(out.astype(float) + rng.normal(0, noise, out.shape), 0, 255).astype(np.uint8)
    if jpeg:
        out = cv2.imdecode(cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, 70])[1], cv2.IMREAD_GRAYSCALE)
    return out


def _key(layout, seed):
    rng = np.random.default_rng(seed)
    return {it.item_id: it.choices[rng.integers(len(it.choices))] for it in layout.items}


def test_reads_a_rotated_noisy_scan_exactly(blank):
    lay, img0, _ = blank
    key = _key(lay, 1)
    key["X01"] = "BD"  # a multiple-choice item: two marks are an answer
    blank_items = {"M05", "M17"}
    double = {"M08": "AC"}
    erased = {"M11": "B"}  # B erased lightly, D marked: D counts
    light_only = {"M20": "C"}
    img = img0.copy()
    marks = [("id", str(c + 1), ch) for c, ch in enumerate(STUDENT)]
    for iid, ans in key.items():
        if iid in blank_items or iid in light_only:
            continue
        if iid in double:
            ans = double[iid]
        if iid in erased:
            ans = "D"
            key[iid] = "D"
        marks += [("item", iid, ch) for ch in ans]
    _fill(img, lay, marks)
    _fill(img, lay, [("item", i, v) for i, v in (*erased.items(), *light_only.items())], shade=200)  # erasure remains
    cv2.line(img, (round(150 * MM), round(200 * MM)), (round(175 * MM), round(206 * MM)), 170, 2)  # stray pencil line
    scans = [_scan(img, 3.0, 0.97, 1), _scan(img, -2.5, 1.0, 2, jpeg=True), _scan(img, 181.5, 1.0, 5)]  # last: upside down
    resp, issues = read_sheets(scans, lay)
    for sheet, r in resp.group_by("sheet"):
        got = dict(zip(r["item_id"], r["raw"]))
        status = dict(zip(r["item_id"], r["status"]))
        assert set(r["person_id"]) == {STUDENT}
        for iid, ans in key.items():
            if iid in blank_items:
                assert (got[iid], status[iid]) == ("", "blank"), iid
            elif iid in light_only:
                assert (got[iid], status[iid]) == ("", "light"), iid
            elif iid in double:
                assert (got[iid], status[iid]) == ("*", "multiple"), iid
            elif iid in erased:
                assert (got[iid], status[iid]) == ("D", "erased"), iid
            else:
                assert (got[iid], status[iid]) == (ans, "marked"), (sheet, iid)
    errors = [i for i in issues if i.severity == "error"]
    warnings = [i for i in issues if i.severity == "warning"]
    # the same filled sheet scanned three times: the second and third scan are reported as the same pupil's
    assert sorted((i.column, i.value) for i in errors) == [("M08", "AC")] * 3 + [("id", STUDENT)] * 2
    assert [i.column for i in warnings] == ["M20"] * 3
    assert resp.columns[:3] == ["person_id", "item_id", "raw"]


def test_unreadable_id_and_missing_fiducials_are_reported(blank):
    lay, img0, d = blank
    img = img0.copy()
    sid = list(STUDENT)
    marks = [("id", str(c + 1), ch) for c, ch in enumerate(sid) if c != 4]  # column 5 left blank
    marks += [("id", "9", "7")]  # column 9 double-marked
    _fill(img, lay, marks)
    cut = img0.copy()
    x, y = FIDUCIALS[3]
    cut[round((y - 6) * MM):, round((x - 6) * MM):] = 255  # bottom-right fiducial torn off
    cv2.imwrite(str(d / "cut.png"), cut)
    resp, issues = read_sheets([_scan(img, 1.0, 1.0, 3), d / "cut.png"], lay)
    assert resp["person_id"].is_null().all() and resp["sheet"].unique().to_list() == ["sheet 1"]
    cols = sorted(i.column for i in issues if i.file == "sheet 1")
    assert cols == ["id 5", "id 9"]
    assert [i.rule_en.split(" (")[0] for i in issues if i.file == "cut.png"] == ["the four corner marks were not found"]


def test_layout_from_a_booklet_and_round_trip():
    bi = pl.DataFrame({"booklet": ["B1", "B1", "B2"], "item_id": ["i2", "i1", "i3"], "position": [2, 1, 1]})
    bank = pl.DataFrame({"item_id": ["i1", "i2", "i3"], "subject": ["数学"] * 3,
                         "format": ["single_choice", "constructed", "single_choice"], "max_score": [1, 2, 1],
                         "n_options": [4, None, 5]})
    lay = layout_for_booklet(bi, bank, "B1")
    assert [(i.item_id, i.choices) for i in lay.items] == [("i1", "ABCD"), ("i2", "012")]
    assert SheetLayout.from_json(lay.to_json()) == lay
    seat = layout_for_booklet(bi, bank, "B2", id_digits=4)
    assert seat.id_alphabets == ("0123456789",) * 4
    with pytest.raises(ParameterError, match="no such booklet"):
        layout_for_booklet(bi, bank, "B9")
    with pytest.raises(ParameterError, match="not an answer-sheet layout"):
        SheetLayout.from_json('{"schema": "x"}')


def test_qr_of_another_booklet_is_reported(blank):
    lay, img0, _ = blank
    other = SheetLayout(lay.sheet_id, "B04", lay.subject, lay.items)
    _, issues = read_sheets([img0], other)
    assert any(i.column == "QR" and i.value == lay.qr_text() for i in issues)
    _, issues = read_sheets([img0], lay)
    assert not any(i.column == "QR" for i in issues)


def test_a_wrong_check_character_is_reported(blank):
    lay, img0, _ = blank
    img = img0.copy()
    wrong = STUDENT[:-1] + "3"
    _fill(img, lay, [("id", str(c + 1), ch) for c, ch in enumerate(wrong)])
    resp, issues = read_sheets([img], lay)
    assert set(resp["person_id"]) == {wrong}
    assert [(i.column, i.value) for i in issues if i.column == "id"] == [("id", wrong)]
    assert "GB 11643 gives 9" in next(i.rule_en for i in issues if i.column == "id")
