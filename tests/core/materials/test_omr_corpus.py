"""OMR reader on a generated corpus of degraded scans (the oracle: the answer key drawn on the
rendered sheet, bubble by bubble) — lighting gradients, shadows, ADF black borders, phone photos on
a dark desk, folds, torn corners, bitonal, JPEG, turns by 90/180/270° — in one batch of two
booklets (each sheet's QR picks its layout); plus content hashes, name clashes, QR failures,
annotated pages and the review queue."""

from __future__ import annotations

import shutil

import cv2
import numpy as np
import polars as pl
import pytest

from junheng.materials import omr_corpus as oc
from junheng.materials.omr import FIDUCIALS, QR_SIZE, QR_X, QR_Y, SheetItem, SheetLayout
from junheng.materials.omr_read import read_batch

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils (pdftoppm) not installed")]

DPI = 150


def _layouts() -> list[SheetLayout]:
    a = [SheetItem(f"M{k:02d}", "single_choice", "ABCD") for k in range(40)]
    a += [SheetItem("X1", "multiple_choice", "ABCDE"), SheetItem("C1", "constructed", "0123")]
    b = [SheetItem(f"N{k:02d}", "single_choice", "ABCDE") for k in range(30)] + [SheetItem("C2", "constructed", "012")]
    return [SheetLayout("S1", "K1", "数学", tuple(a)), SheetLayout("S2", "K2", "数学", tuple(b))]


@pytest.fixture(scope="module")
def blanks():
    lays = _layouts()
    return lays, {lay.booklet: oc.render_blank(lay, DPI) for lay in lays}


def _accuracy(sheets, batch):
    wrong = total = 0
    for k, s in enumerate(sheets):
        bub = batch.bubbles.filter(pl.col("sheet") == f"s{k}")
        if not s.expect_read:
            continue
        assert bub.height == s.truth.height, (s.degradation, [i.message() for i in batch.issues if i.file == f"s{k}"])
        wrong += int(((bub["state"] == "mark").to_numpy() != s.truth["marked"].to_numpy()).sum())
        total += bub.height
    return wrong, total


def test_degraded_corpus_is_read_to_999_per_mille(blanks):
    lays, bl = blanks
    sheets = list(oc.corpus(lays, 2 * len(oc.DEGRADATIONS), seed=11, dpi=DPI, blanks=bl))
    batch = read_batch([(f"s{k}", s.image) for k, s in enumerate(sheets)], lays)
    wrong, total = _accuracy(sheets, batch)
    assert total > 8000 and wrong / total <= 0.001, (wrong, total)
    for k, s in enumerate(sheets):
        row = batch.sheets.filter(pl.col("sheet") == f"s{k}").row(0, named=True)
        if not s.expect_read:  # a torn corner: reported, never read
            assert row["status"] == "failed"
            assert any("corner" in i.rule_en for i in batch.issues if i.file == f"s{k}")
            continue
        assert row["booklet"] == s.layout.booklet and row["person_id"] == s.person_id, (
            s.degradation, [i.message() for i in batch.issues if i.file == f"s{k}"])
        got = batch.responses.filter(pl.col("sheet") == f"s{k}")
        assert dict(zip(got["item_id"], got["raw"])) == s.answers, s.degradation
        if s.degradation in ("rot90", "rot180", "rot270"):
            assert row["rotation"] == (360 - int(s.degradation[3:])) % 360  # np.rot90 turns counter-clockwise
    # the review queue holds the uncertain bubbles only: erasures and a few borderline marks
    assert 0 < batch.review_queue().height < 0.03 * total


def test_half_filled_marks_count_and_erasures_do_not(blanks):
    lays, bl = blanks
    rng = np.random.default_rng(3)
    img, pid, answers, truth = oc.fill(bl["K2"], lays[1], DPI, rng, half_share=1.0, erase_share=0.3, blank_share=0.0)
    batch = read_batch([oc.degrade(img, "scanner", rng)], lays)
    assert (truth["style"] == "half").sum() > 40 and (truth["style"] == "erased").sum() > 3
    got = batch.bubbles["state"].to_numpy()
    assert (got[truth["style"].to_numpy() == "half"] == "mark").all()
    assert (got[truth["style"].to_numpy() == "erased"] != "mark").all()
    assert dict(zip(batch.responses["item_id"], batch.responses["raw"])) == answers
    erased = set(truth.filter(pl.col("style") == "erased")["key"])  # residue of grey 195–222: most are seen
    seen = set(batch.responses.filter(pl.col("status") == "erased")["item_id"])
    assert seen <= erased and len(seen) >= len(erased) // 2


def test_erasures_become_answer_changes_for_the_forensics(blanks):
    """``changes_from_omr`` on a read batch: one change per erasure the reader saw, from the rubbed-out
    bubble's letter (as drawn) to the answer (as drawn), under the sheet's pupil."""
    from junheng.supervision import changes_from_omr

    lays, bl = blanks
    rng = np.random.default_rng(3)
    img, pid, answers, truth = oc.fill(bl["K2"], lays[1], DPI, rng, half_share=0.0, erase_share=0.3, blank_share=0.0)
    batch = read_batch([("s0", oc.degrade(img, "scanner", rng))], lays)
    drawn = {(r["key"], r["value"]) for r in truth.filter(pl.col("style") == "erased").iter_rows(named=True)}
    seen = set(batch.responses.filter(pl.col("status") == "erased")["item_id"])
    changes = changes_from_omr(batch.bubbles, batch.responses)
    assert len(seen) >= 3 and changes.height == len(seen)
    assert set(changes["person_id"]) == {pid}
    for item, before, after in changes.select("item_id", "from_raw", "to_raw").iter_rows():
        assert (item, before) in drawn and after == answers[item] != before


def test_duplicates_name_clashes_and_qr_failures_are_reported(blanks, tmp_path):
    lays, bl = blanks
    rng = np.random.default_rng(5)
    one = oc.degrade(oc.fill(bl["K1"], lays[0], DPI, rng)[0], "scanner", rng)
    two = oc.degrade(oc.fill(bl["K1"], lays[0], DPI, rng)[0], "scanner", rng)
    no_qr = oc.degrade(oc.fill(bl["K2"], lays[1], DPI, rng)[0], "scanner", rng)
    mm = DPI / 25.4
    cv2.rectangle(no_qr, (round((QR_X - 8) * mm), round((QR_Y - 3) * mm)),
                  (round((QR_X + QR_SIZE + 3) * mm), round((QR_Y + QR_SIZE + 3) * mm)), 255, -1)
    cv2.imwrite(str(tmp_path / "a.png"), one)
    batch = read_batch([("box1/a.pdf:1", one), ("box2/a.pdf:1", two), ("copy", one), tmp_path / "a.png",
                        ("no-qr", no_qr)], lays, annotate_dir=tmp_path / "ann")
    st = dict(zip(batch.sheets["sheet"], batch.sheets["status"]))
    assert st["box1/a.pdf:1"] == "read" and st["copy"] == "duplicate" and st["no-qr"] == "failed"
    clash = [s for s in st if s.startswith("box2/a.pdf:1#")]
    assert len(clash) == 0  # different names: no clash
    # the same pixels as a PNG file are another content (file bytes): read, but the same pupil twice is an error
    rules = {(i.file, i.rule_en.split(":")[0]) for i in batch.issues}
    assert ("copy", "duplicate scan") in rules
    assert ("no-qr", "QR code unreadable") in rules
    assert any(i.column == "id" and "appears twice" in i.rule_en for i in batch.issues if i.file == "a.png")
    assert batch.responses["sheet"].n_unique() == 3  # box1, box2, a.png
    assert len(list((tmp_path / "ann").glob("*.jpg"))) == 3
    # two different scans under one name: both read, the second renamed by its hash
    batch = read_batch([("scan.png", one), ("scan.png", two)], lays)
    assert batch.sheets["status"].to_list() == ["read", "read"]
    assert batch.sheets["sheet"][1].startswith("scan.png#") and batch.responses["sheet"].n_unique() == 2
    # with one layout only, an unreadable QR code is read with it and reported as a warning
    batch = read_batch([("no-qr", no_qr)], lays[1])
    assert batch.sheets["status"].to_list() == ["read"]
    assert [i.severity for i in batch.issues if i.column == "QR"] == ["warning"]


def test_a_torn_corner_at_300_dpi_is_reported_and_a_clean_300_dpi_scan_is_read():
    lay = _layouts()[1]
    blank = oc.render_blank(lay, 300)
    rng = np.random.default_rng(8)
    img, pid, answers, truth = oc.fill(blank, lay, 300, rng)
    torn = img.copy()
    x, y = FIDUCIALS[1]
    mm = 300 / 25.4
    cv2.fillPoly(torn, [np.array([[round((x - 14) * mm), 0], [img.shape[1], 0],
                                  [img.shape[1], round((y + 8) * mm)]], np.int32)], 250)
    batch = read_batch([("torn", torn), ("clean", oc.degrade(img, "jpeg", rng))], [lay])
    assert batch.sheets["status"].to_list() == ["failed", "read"]
    assert [i.rule_en.split(":")[0] for i in batch.issues if i.file == "torn"] == ["corner mark damaged at top right (torn or covered)"]
    assert dict(zip(batch.responses["item_id"], batch.responses["raw"])) == answers
    assert (batch.bubbles["state"].to_numpy() == "mark").tolist() == truth["marked"].to_list()


def test_two_pdfs_with_the_same_name_are_both_read(blanks, tmp_path):
    """Two different scanner PDFs both called ``scan.pdf`` (two boxes of one room): every page of
    each is rendered into its own folder (nothing overwritten) and read; the second keeps its name
    with its content hash, both pupils are found and the clash is reported."""
    from PIL import Image

    from junheng.materials.omr_read import scan_pages

    lays, bl = blanks
    rng = np.random.default_rng(17)
    sheets = [oc.fill(bl["K1"], lays[0], DPI, rng) for _ in range(2)]
    files = []
    for k, (img, *_rest) in enumerate(sheets):
        (tmp_path / f"box{k}").mkdir()
        Image.fromarray(oc.degrade(img, "scanner", rng)).save(tmp_path / f"box{k}" / "scan.pdf", resolution=DPI)
        files.append(("scan.pdf", tmp_path / f"box{k}" / "scan.pdf"))
    pages = scan_pages(files, tmp_path / "render", DPI)
    assert [n for n, _ in pages] == ["scan.pdf:1", "scan.pdf:1"] and pages[0][1] != pages[1][1]
    batch = read_batch(pages, lays)
    assert batch.sheets["status"].to_list() == ["read", "read"]
    assert batch.sheets["sheet"][0] == "scan.pdf:1" and batch.sheets["sheet"][1].startswith("scan.pdf:1#")
    assert sorted(batch.sheets["person_id"].to_list()) == sorted(pid for _, pid, _, _ in sheets)
    assert [i.severity for i in batch.issues if "same name" in i.rule_en] == ["warning"]
