"""``junheng items`` / ``junheng booklets``: a small end-to-end flow and bad input → exit 2, nothing written."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest
from click.testing import CliRunner

from junheng.assessment import save_bank
from junheng.io import write_table
from junheng.synth.responses import current_year, synth_tests
from junheng_cli.main import cli


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    d = tmp_path_factory.mktemp("assess")
    test = synth_tests(11, subjects=("数学",))
    save_bank(test.bank, d / "bank.json")
    rng = np.random.default_rng(0)
    pupils = pl.DataFrame({"student_id": [f"s{i:04d}" for i in range(1400)],
                           "school_code": rng.integers(0, 20, 1400).astype(str), "sex": rng.integers(1, 3, 1400)})
    write_table(pupils, d / "pupils.csv")
    asg, raw = current_year(pupils, test, random_state=5)
    write_table(asg.select("student_id", "booklet"), d / "assignment.csv")
    write_table(test.blocks, d / "blocks.csv")
    (d / "design.json").write_text(json.dumps(test.designs["数学"].to_json(), ensure_ascii=False), "utf-8")
    write_table(raw.drop("position"), d / "raw.csv")
    return d


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def test_it_validates_and_converts_a_bank(world, tmp_path):
    r = run("items", "validate", world / "bank.json")
    assert r.exit_code == 0 and "no errors" in r.output
    r = run("items", "convert", world / "bank.json", tmp_path / "q.zip")
    assert r.exit_code == 0 and "constructed-response items not exported" in r.output
    r = run("items", "validate", tmp_path / "q.zip")
    assert r.exit_code == 0


def test_it_scores_with_booklets_and_analyses(world, tmp_path):
    common = ["--bank", world / "bank.json", "--booklets", world / "assignment.csv", "--design",
              world / "design.json", "--blocks", world / "blocks.csv"]
    r = run("items", "score", world / "raw.csv", *common, "-o", tmp_path / "wide.parquet", "--long", tmp_path / "long.csv")
    assert r.exit_code == 0, r.output
    wide = pl.read_parquet(tmp_path / "wide.parquet")
    assert wide.height == 1400 and wide.columns[0] == "person_id"
    # pupil ids are pseudonymised by default, the same way in every file (they still join)
    assert wide["person_id"].str.starts_with("P").all() and not set(wide["person_id"]) & {f"s{i:04d}" for i in range(1400)}
    long = pl.read_csv(tmp_path / "long.csv")
    assert set(long["person_id"]) == set(wide["person_id"])
    r = run("items", "score", world / "raw.csv", *common, "-o", tmp_path / "plain.csv", "--no-mask")
    assert set(pl.read_csv(tmp_path / "plain.csv")["person_id"]) == {f"s{i:04d}" for i in range(1400)}
    # each pupil has scores on exactly their booklet's 24 items at most (others null)
    assert (wide.drop("person_id").select(pl.sum_horizontal(pl.all().is_not_null())).to_series() <= 24).all()
    assert "not_reached" in r.output
    r = run("items", "analyse", world / "raw.csv", *common, "--pupils", world / "pupils.csv", "--dif", "sex=1,2",
            "-o", tmp_path / "report.xlsx")
    assert r.exit_code == 0, r.output
    from openpyxl import load_workbook

    wb = load_workbook(tmp_path / "report.xlsx", read_only=True)
    assert {"items", "distractors", "missing", "alpha", "dif_sex"} <= set(wb.sheetnames)
    alphas = [r[3] for r in wb["alpha"].iter_rows(min_row=2, values_only=True)]
    assert len(alphas) == 7 and min(alphas) > 0.6


def test_it_designs_assembles_and_assigns(world, tmp_path):
    r = run("booklets", "design", "--blocks", 7, "--per-booklet", 3, "--anchor-blocks", 2, "-o", tmp_path / "d.json")
    assert r.exit_code == 0 and "pairs balanced: True" in r.output
    r = run("booklets", "assemble", world / "bank.json", "--subject", "数学", "--blocks", 7, "--anchor-blocks", 2,
            "-o", tmp_path / "blocks.csv")
    assert r.exit_code == 0, r.output
    r = run("booklets", "assign", world / "pupils.csv", "--design", f"数学={tmp_path / 'd.json'}", "--seed", 1,
            "-o", tmp_path / "asg.csv")
    assert r.exit_code == 0, r.output
    asg = pl.read_csv(tmp_path / "asg.csv")
    assert asg.height == 1400 and asg["student_id"].str.starts_with("P").all()


def test_bad_input_exits_2_and_writes_nothing(world, tmp_path):
    raw = pl.read_csv(world / "raw.csv", infer_schema_length=0).head(50)
    raw = raw.with_columns(pl.when(pl.int_range(pl.len()) == 3).then(pl.lit("Z")).otherwise(pl.col("raw")).alias("raw"))
    write_table(raw, tmp_path / "bad.csv")
    r = run("items", "score", tmp_path / "bad.csv", "--bank", world / "bank.json", "-o", tmp_path / "w.csv")
    assert r.exit_code == 2
    assert "第5行" in r.output and "'Z'" in r.output
    assert not (tmp_path / "w.csv").exists()
    bad = {"schema": "junheng.itembank/1", "items": [{"item_id": "X", "subject": "体育", "format": "x"}]}
    (tmp_path / "b.json").write_text(json.dumps(bad), "utf-8")
    r = run("items", "validate", tmp_path / "b.json")
    assert r.exit_code == 2 and "items[0].subject" in r.output and "items[0].format" in r.output
    r = run("booklets", "design", "--blocks", 3, "--per-booklet", 5, "-o", tmp_path / "d.json")
    assert r.exit_code == 2 and not (tmp_path / "d.json").exists()


def test_every_command_is_documented():
    from pathlib import Path

    from junheng_cli.assessment import booklets, items

    guide = (Path(__file__).resolve().parents[2] / "docs" / "guide" / "assessment.md").read_text("utf-8")
    for group in (items, booklets):
        for name in group.commands:
            assert f"junheng {group.name} {name}" in guide, f"junheng {group.name} {name} is not in the guide"


def test_a_broken_design_json_is_a_message_naming_the_file_not_a_traceback(tmp_path):
    """A --design file that is not valid JSON (here cut short): exit code 2 and the file named with
    the rule in Chinese and English (was a JSONDecodeError traceback)."""
    pupils = tmp_path / "pupils.csv"
    pupils.write_text("student_id,school_code\n1,4101010001\n", "utf-8")
    bad = tmp_path / "math.json"
    bad.write_text('{"booklets": [["M1", "M2"],', "utf-8")
    res = CliRunner().invoke(cli, ["booklets", "assign", str(pupils), "--design", f"数学={bad}",
                                   "--seed", "1", "-o", str(tmp_path / "out.csv")])
    assert res.exit_code == 2 and not isinstance(res.exception, ValueError), res.output
    assert "math.json" in res.output and "题本设计文件" in res.output and "booklet design file" in res.output
