"""``junheng questionnaire``: template / check / scales, and bad input → every issue, exit 2, nothing written."""

from __future__ import annotations

import json

import polars as pl
from click.testing import CliRunner
from openpyxl import load_workbook

from junheng.questionnaire import save_questionnaire
from junheng.synth.questionnaire import student_questionnaire, synth_responses
from junheng_cli.main import cli


def _files(tmp_path, n=200):
    q = student_questionnaire()
    definition = save_questionnaire(q, tmp_path / "s.json")
    pupils = pl.DataFrame({"student_id": [f"L41010220110101{i:04d}" for i in range(n)]})
    answers = synth_responses(pupils, q, random_state=2, missing_code=9).rename({"respondent_id": "学籍号"})
    good = tmp_path / "good.csv"
    good.write_bytes(answers.write_csv().encode("gb18030"))
    return q, definition, answers, good


def test_it_writes_a_template(tmp_path):
    _, definition, _, _ = _files(tmp_path)
    out = tmp_path / "录入.xlsx"
    r = CliRunner().invoke(cli, ["questionnaire", "template", str(definition), "-o", str(out), "--rows", "20"])
    assert r.exit_code == 0, r.output
    ws = load_workbook(out)["作答录入"]
    assert ws.cell(row=2, column=1).value == "学籍号"
    assert {str(dv.sqref) for dv in ws.data_validations.dataValidation} >= {"C3:C22"}
    r = CliRunner().invoke(cli, ["questionnaire", "template", str(definition), "-o", str(tmp_path / "x.csv")])
    assert r.exit_code == 2 and "must be .xlsx" in r.output


def test_it_checks_a_good_file(tmp_path):
    _, definition, answers, good = _files(tmp_path)
    r = CliRunner().invoke(cli, ["questionnaire", "check", str(definition), str(good)])
    assert r.exit_code == 0, r.output
    assert f"{answers.height} respondents, no errors" in r.output


def test_it_reports_every_bad_cell_and_annotates(tmp_path):
    _, definition, answers, _ = _files(tmp_path)
    bad = answers.with_columns(pl.all().cast(pl.String))
    bad[0, "Q01"] = "3"         # row 2
    bad[4, "Q09"] = "二十"      # row 6
    bad[7, "学籍号"] = "123"    # row 9
    path = tmp_path / "bad.csv"
    bad.write_csv(path)
    ann = tmp_path / "标注.xlsx"
    r = CliRunner().invoke(cli, ["questionnaire", "check", str(definition), str(path), "--annotate", str(ann)])
    assert r.exit_code == 2
    assert "bad.csv: 3 处错误" in r.output
    assert "row 2, column Q01: must be an option code 1, 2" in r.output
    assert "row 6, column Q09: not a number; got '二十'" in r.output
    assert "row 9, column 学籍号: must be G, J or L followed by 18 digits" in r.output
    listing = list(load_workbook(ann)["问题清单"].iter_rows(values_only=True))
    assert [row[1:3] for row in listing[1:]] == [(2, "Q01"), (6, "Q09"), (9, "学籍号")]
    out = tmp_path / "scales.csv"
    r = CliRunner().invoke(cli, ["questionnaire", "scales", str(definition), str(path), "-o", str(out)])
    assert r.exit_code == 2 and not out.exists()  # nothing written from a file with errors


def test_it_scores_scales_with_reliability_and_frequencies(tmp_path):
    q, definition, answers, good = _files(tmp_path)
    out, rel, freq = tmp_path / "scales.parquet", tmp_path / "rel.csv", tmp_path / "freq.xlsx"
    r = CliRunner().invoke(cli, ["questionnaire", "scales", str(definition), str(good), "-o", str(out),
                                 "--reliability", str(rel), "--frequencies", str(freq)])
    assert r.exit_code == 0, r.output
    scores = pl.read_parquet(out)
    assert scores.columns == ["respondent_id", *[s.id for s in q.scales], *[i.id for i in q.indicators]]
    assert scores.height == answers.height
    assert pl.read_csv(rel)["scale"].to_list() == [s.id for s in q.scales]
    assert "学习自信 (confidence): 4 题 items, α = " in r.output
    assert freq.exists()


def test_a_broken_definition_names_the_json_path(tmp_path):
    d = student_questionnaire().to_json()
    d["scales"][0]["items"].append("Q99")
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(d, ensure_ascii=False), encoding="utf-8")
    r = CliRunner().invoke(cli, ["questionnaire", "template", str(path), "-o", str(tmp_path / "t.xlsx")])
    assert r.exit_code == 2
    assert "broken.json, column scales[0].items[4]: unknown item in the scale; got 'Q99'" in r.output


def test_it_reads_the_named_sheet(tmp_path):
    from openpyxl import Workbook

    _, definition, answers, _ = _files(tmp_path, n=20)
    wb = Workbook()
    wb.active.title = "说明"
    wb.active.append(["本工作簿第二张表是作答数据"])
    ws = wb.create_sheet("六年级")
    ws.append(answers.columns)
    for row in answers.iter_rows():
        ws.append(list(row))
    path = tmp_path / "two.xlsx"
    wb.save(path)
    r = CliRunner().invoke(cli, ["questionnaire", "check", str(definition), str(path), "--sheet", "六年级"])
    assert r.exit_code == 0, r.output
    assert f"{answers.height} respondents, no errors" in r.output
