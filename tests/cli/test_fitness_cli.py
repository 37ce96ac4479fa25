"""``junheng fitness``: score / export / summary / template, and bad input → exit 2, nothing written."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
from click.testing import CliRunner

from junheng.fitness import national_upload, write_table
from junheng.registry.codes import check_char
from junheng.synth.fitness import fitness_results
from junheng_cli.main import cli

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "fitness"


def _roster(n=60):
    rng = np.random.default_rng(3)
    ids = []
    for k in range(n):
        body = f"41010220120101{k:03d}"
        ids.append("G" + body + check_char(body))
    return pl.DataFrame({"student_id": ids, "name": [f"学生{k}" for k in range(n)], "sex": rng.integers(1, 3, n),
                         "grade": rng.choice([4, 6, 8], n), "school_code": ["2141000001"] * n,
                         "class_code": ["01"] * n, "class_name": ["一班"] * n, "birth_date": ["2012-01-01"] * n})


def test_it_scores_a_template_file_to_xlsx_and_masks_names(tmp_path):
    src = tmp_path / "in.csv"
    write_table(national_upload(fitness_results(_roster(), 7), mask=False), src)
    out = tmp_path / "out.xlsx"
    r = CliRunner().invoke(cli, ["fitness", "score", str(src), "-o", str(out)])
    assert r.exit_code == 0, r.output
    from python_calamine import CalamineWorkbook

    rows = CalamineWorkbook.from_path(str(out)).get_sheet_by_index(0).to_python()
    header = rows[0]
    for h in ("体重指数", "体重指数得分", "体重指数等级", "肺活量得分", "50米跑得分", "一分钟跳绳附加分", "标准分",
              "附加分", "总分", "等级", "视力等级"):
        assert h in header
    assert all(str(row[header.index("姓名")]).endswith("**") for row in rows[1:])


def test_it_exports_and_summarises(tmp_path):
    src = tmp_path / "in.csv"
    write_table(national_upload(fitness_results(_roster(), 7), mask=False), src)
    scored = tmp_path / "scored.parquet"
    assert CliRunner().invoke(cli, ["fitness", "score", str(src), "-o", str(scored)]).exit_code == 0
    r = CliRunner().invoke(cli, ["fitness", "export", str(src), "-o", str(tmp_path / "up.csv")])
    assert r.exit_code == 0, r.output
    up = pl.read_csv(tmp_path / "up.csv", infer_schema=False)
    assert up.columns[:9] == ["年级编号", "班级编号", "班级名称", "学籍号", "民族代码", "姓名", "性别", "出生日期", "家庭住址"]
    times = up["1000米跑"].drop_nulls()
    assert times.str.contains(r"^\d′\d\d″$").all()
    r = CliRunner().invoke(cli, ["fitness", "summary", str(src), "--by", "grade,sex", "-o", str(tmp_path / "s.csv")])
    assert r.exit_code == 0, r.output
    assert pl.read_csv(tmp_path / "s.csv").height == 6


def test_summary_of_the_scored_file_equals_the_summary_of_its_source(tmp_path):
    """`fitness score`'s output of a template file holds 年级编号, not the grade: `fitness summary
    scored.parquet` (the guide's example) stopped with "no column ['grade']"."""
    src = tmp_path / "in.csv"
    write_table(national_upload(fitness_results(_roster(), 7), mask=False), src)
    scored = tmp_path / "scored.parquet"
    assert CliRunner().invoke(cli, ["fitness", "score", str(src), "-o", str(scored)]).exit_code == 0
    for f, out in ((scored, "a.csv"), (src, "b.csv")):
        r = CliRunner().invoke(cli, ["fitness", "summary", str(f), "-o", str(tmp_path / out)])
        assert r.exit_code == 0, r.output
    a, b = pl.read_csv(tmp_path / "a.csv"), pl.read_csv(tmp_path / "b.csv")
    assert a.height == 6 and a.equals(b)


def test_summary_refuses_a_negative_weight_by_record_number(tmp_path):
    """It printed the group's rates blank (NaN), with no message."""
    src = tmp_path / "in.csv"
    write_table(national_upload(fitness_results(_roster(), 7), mask=False), src)
    scored = tmp_path / "scored.parquet"
    assert CliRunner().invoke(cli, ["fitness", "score", str(src), "-o", str(scored)]).exit_code == 0
    frame = pl.read_parquet(scored)
    pl.read_parquet(scored).with_columns(pl.Series("weight", [-1.0 if i == 4 else 2.0 for i in range(frame.height)])
                                         ).write_parquet(scored)
    r = CliRunner().invoke(cli, ["fitness", "summary", str(scored), "--by", "sex", "-o", str(tmp_path / "s.csv")])
    assert r.exit_code == 2, r.output
    assert "scored.parquet 第5行 weight: 权重应为非负的有限数" in r.output and "1 record(s) with an invalid weight" in r.output
    assert not (tmp_path / "s.csv").exists()
    r = CliRunner().invoke(cli, ["fitness", "summary", str(scored), "--by", "sex", "--unweighted", "-o",
                                 str(tmp_path / "s.csv")])
    assert r.exit_code == 0, r.output
    # a CSV: the row a person sees in it (the header is row 1), not the record's number
    frame.with_columns(pl.Series("weight", [-1.0 if i == 4 else 2.0 for i in range(frame.height)])).drop(
        [c for c in frame.columns if frame[c].dtype.is_nested()]).write_csv(tmp_path / "scored.csv")
    r = CliRunner().invoke(cli, ["fitness", "summary", str(tmp_path / "scored.csv"), "--by", "sex"])
    assert r.exit_code == 2, r.output
    assert "scored.csv 第6行 weight: 权重应为非负的有限数" in r.output and "row 6, column weight" in r.output, r.output


def test_it_writes_class_templates_that_read_back(tmp_path):
    roster = tmp_path / "roster.parquet"
    _roster().write_parquet(roster)
    r = CliRunner().invoke(cli, ["fitness", "template", str(roster), "-o", str(tmp_path / "tpl")])
    assert r.exit_code == 0, r.output
    books = sorted((tmp_path / "tpl").glob("*.xlsx"))
    assert len(books) == 3
    from openpyxl import load_workbook

    ws = load_workbook(books[0]).active
    assert len(ws.data_validations.dataValidation) >= 8
    from junheng.fitness import read_fitness_file

    upload = read_fitness_file(books[0])  # an empty template is a valid (all incomplete) upload
    assert upload.records.height > 0


def test_bad_input_reports_every_row_and_writes_nothing(tmp_path, cli_refused):
    out = tmp_path / "out.xlsx"
    r = CliRunner().invoke(cli, ["fitness", "score", str(FIXTURES / "bad_upload.csv"), "-o", str(out)])
    cli_refused(r, 2)
    for needle in ("第3行 年级编号", "第3行 性别", "'男'", "第3行 肺活量", "'-5'", "第4行 一分钟仰卧起坐",
                   "junior boys are not tested", "第4行 1000米跑", "3'5\""):
        assert needle in r.output, needle
    assert not out.exists()


def test_census_streams_a_parquet_to_the_same_rates_as_summarize(tmp_path, cli_refused):
    from junheng.fitness import score_fitness, summarize

    recs = fitness_results(_roster(60), 7).with_columns(pl.lit("410102").alias("county_code"))
    src = tmp_path / "national.parquet"
    recs.write_parquet(src)
    out = tmp_path / "rates.parquet"
    r = CliRunner().invoke(cli, ["fitness", "census", str(src), "--by", "county_code,grade,sex", "-o", str(out)])
    assert r.exit_code == 0, r.output
    got = pl.read_parquet(out)
    want = summarize(score_fitness(recs), ["county_code", "grade", "sex"])
    assert got["n_tested"].to_list() == want["n_tested"].to_list()
    np.testing.assert_allclose(got["pass_rate"].to_numpy(), want["pass_rate"].to_numpy(), rtol=1e-12)
    r = CliRunner().invoke(cli, ["fitness", "census", str(tmp_path / "none.parquet")])
    assert r.exit_code == 2 and "none.parquet" in r.output
    r = CliRunner().invoke(cli, ["fitness", "census", str(src), "--by", "district,grade", "--weight", "w"])
    cli_refused(r, 2)
    for text in ("national.parquet", "没有分组列“district”（--by）", "no grouping column district (--by)",
                 "没有权重列“w”", "no weight column w (--weight)"):
        assert text in r.output, (text, r.output)
