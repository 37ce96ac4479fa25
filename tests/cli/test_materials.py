"""``junheng materials``: seating → cards → sheet → (filled, scanned) → omr, end to end; bad input → exit 2."""

from __future__ import annotations

import json
import shutil
import subprocess

import cv2
import numpy as np
import polars as pl
import pytest
from click.testing import CliRunner
from PIL import Image

from junheng.assessment import save_bank
from junheng.io import write_table
from junheng.materials.omr import SheetLayout
from junheng.synth.responses import synth_tests
from junheng_cli.main import cli

IDS = [f"G4101022010031{k:05d}" for k in range(30)]


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def pupils(tmp_path):
    df = pl.DataFrame({"student_id": IDS, "name": [f"学生{k}" for k in range(30)],
                       "school_code": [f"21410000{k % 3:02d}" for k in range(30)],
                       "subject": ["数学"] * 24 + ["语文"] * 6, "booklet": [f"B{k % 4}" for k in range(30)]})
    write_table(df, tmp_path / "pupils.csv")
    return tmp_path / "pupils.csv"


def test_seating_then_cards(pupils, tmp_path):
    r = run("materials", "seating", pupils, "--room", "101:4x4", "--room", "102:3x3", "--seed", 1, "--subject", "数学",
            "-o", tmp_path / "plan.pdf", "-o", tmp_path / "plan.xlsx", "-o", tmp_path / "plan.csv", "--show-personal",
            "--title", "座位表", "--meta", "一中 2022-05-20")
    assert r.exit_code == 0, r.output
    plan = pl.read_csv(tmp_path / "plan.csv", infer_schema=False)
    assert plan.height == 24 and plan["student_id"].is_in(IDS).all() and "学生0" in plan["name"].to_list()
    assert (tmp_path / "plan.pdf").read_bytes()[:4] == b"%PDF"
    r = run("materials", "cards", tmp_path / "plan.csv", "--seed", 9, "--site", "一中", "--title", "登录卡",
            "-o", tmp_path / "cards.pdf", "--codes", tmp_path / "codes.csv")
    assert r.exit_code == 0, r.output
    codes = pl.read_csv(tmp_path / "codes.csv", infer_schema=False)
    assert sorted(codes["student_id"]) == sorted(plan["student_id"]) and codes["code"].n_unique() == 24
    # a masked plan cannot key login codes
    run("materials", "seating", pupils, "--room", "101:6x6", "--seed", 1, "-o", tmp_path / "masked.csv")
    r = run("materials", "cards", tmp_path / "masked.csv", "--seed", 9, "-o", tmp_path / "c2.pdf",
            "--codes", tmp_path / "c2.csv")
    assert r.exit_code == 2 and "--show-personal" in r.output and not (tmp_path / "c2.csv").exists()


def test_bad_input_exits_2(pupils, tmp_path):
    r = run("materials", "seating", pupils, "--room", "101-6x8", "--seed", 1, "-o", tmp_path / "p.pdf")
    assert r.exit_code == 2 and "NAME:ROWSxCOLS" in r.output
    r = run("materials", "seating", pupils, "--room", "101:2x2", "--seed", 1, "-o", tmp_path / "p.pdf")
    assert r.exit_code == 2 and "not enough seats" in r.output and not (tmp_path / "p.pdf").exists()
    write_table(pl.DataFrame({"学号": ["1"]}), tmp_path / "bad.csv")
    r = run("materials", "seating", tmp_path / "bad.csv", "--room", "1:2x2", "--seed", 1, "-o", tmp_path / "p.pdf")
    assert r.exit_code == 2 and "student_id" in r.output


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils not installed")
def test_sheet_and_omr_round_trip(tmp_path):
    test = synth_tests(3, subjects=("数学",))
    save_bank(test.bank, tmp_path / "bank.json")
    write_table(test.blocks, tmp_path / "blocks.csv")
    (tmp_path / "design.json").write_text(json.dumps(test.designs["数学"].to_json(), ensure_ascii=False), "utf-8")
    booklet = test.designs["数学"].booklet_blocks()["booklet"][0]
    r = run("materials", "sheet", tmp_path / "bank.json", "--design", tmp_path / "design.json", "--blocks",
            tmp_path / "blocks.csv", "--id-digits", 4, "-o", tmp_path / "sheets",
            "--booklet", booklet)
    assert r.exit_code == 0, r.output
    layout_path = sorted((tmp_path / "sheets").glob("*.layout.json"))[0]
    lay = SheetLayout.load(layout_path)
    pdf = layout_path.with_name(layout_path.name.replace(".layout.json", ".pdf"))
    subprocess.run(["pdftoppm", "-r", "100", "-gray", "-png", "-singlefile", str(pdf), str(tmp_path / "s")], check=True)
    img = cv2.imread(str(tmp_path / "s.png"), cv2.IMREAD_GRAYSCALE)
    rng = np.random.default_rng(4)
    key = {it.item_id: it.choices[rng.integers(len(it.choices))] for it in lay.items}
    b = lay.bubbles()
    mm = 100 / 25.4
    want = [("id", str(c + 1), ch) for c, ch in enumerate("0417")] + [("item", k, v) for k, v in key.items()]
    for part, k, v in want:
        x, y = b.filter((pl.col("part") == part) & (pl.col("key") == k) & (pl.col("value") == v)).select("x", "y").row(0)
        cv2.circle(img, (round(x * mm), round(y * mm)), round(1.65 * mm), 50, -1)
    m = cv2.getRotationMatrix2D((img.shape[1] / 2, img.shape[0] / 2), -2.0, 1.0)
    scan = cv2.warpAffine(img, m, img.shape[::-1], borderValue=245)
    cv2.imwrite(str(tmp_path / "scan.jpg"), scan)
    Image.fromarray(scan).save(tmp_path / "scanner.pdf", resolution=100)  # as a scanner would deliver it
    r = run("materials", "omr", layout_path, tmp_path / "scan.jpg", tmp_path / "scanner.pdf", "-o", tmp_path / "raw.csv",
            "--issues", tmp_path / "issues.csv", "--dpi", 100)
    assert r.exit_code == 0, r.output
    raw = pl.read_csv(tmp_path / "raw.csv", infer_schema=False)
    assert raw["sheet"].unique().sort().to_list() == ["scan.jpg", "scanner.pdf:1"]
    for _, g in raw.group_by("sheet"):
        assert set(g["person_id"]) == {"0417"}
        assert dict(zip(g["item_id"], g["raw"])) == key
    found = pl.read_csv(tmp_path / "issues.csv", infer_schema=False)  # one sheet, scanned twice: reported
    assert found.select("file", "column", "value").rows() == [("scanner.pdf:1", "id", "0417")]
    raw = raw.filter(pl.col("sheet") == "scan.jpg")
    write_table(raw, tmp_path / "raw.csv")
    # the raw responses feed `junheng items score`: each drawn answer scores as the bank's key says
    r = run("items", "score", tmp_path / "raw.csv", "--bank", tmp_path / "bank.json", "--no-mask",
            "-o", tmp_path / "scored.csv", "--long", tmp_path / "long.csv")
    assert r.exit_code == 0, r.output
    long = pl.read_csv(tmp_path / "long.csv", infer_schema=False)
    items = {it.item_id: it for it in test.bank}
    want = {k: str(items[k].score_table()[v]) for k, v in key.items()}
    assert dict(zip(long["item_id"], long["score"])) == want
