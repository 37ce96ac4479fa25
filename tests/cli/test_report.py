"""``junheng report``: county, school and annual from files; bad codes exit 2 without a traceback."""

from __future__ import annotations

import polars as pl
import pytest
from click.testing import CliRunner

from junheng_cli.main import cli


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    from junheng.synth import province
    from junheng.synth.checklist import checklist

    d = tmp_path_factory.mktemp("data")
    prov = province(0.005, 9)
    (d / "registry").mkdir()
    (d / "reports").mkdir()
    prov.schools.write_parquet(d / "registry" / "schools.parquet")
    checklist(prov.schools["county_code"].unique(), random_state=9).write_csv(d / "reports" / "checklist.csv")
    return d, prov


def test_county_and_school_reports_html(data_dir, tmp_path):
    d, prov = data_dir
    code = prov.schools["county_code"][0]
    r = CliRunner().invoke(cli, ["report", "county", code, "--data", str(d), "--out", str(tmp_path), "--no-pdf"])
    assert r.exit_code == 0, r.output
    html = (tmp_path / "county" / f"{code}.html").read_text("utf-8")
    assert "资源配置" in html and "优质均衡判定" in html
    school = prov.schools.filter(~pl.col("school_code").str.starts_with("51"))["school_code"][0]
    r = CliRunner().invoke(cli, ["report", "school", school, "--data", str(d), "--out", str(tmp_path), "--no-pdf"])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "school" / f"{school}.html").exists()


def test_annual_html_lists_missing_inputs(data_dir, tmp_path):
    d, _ = data_dir
    r = CliRunner().invoke(cli, ["report", "annual", "--data", str(d), "--out", str(tmp_path), "--no-pdf"])
    assert r.exit_code == 0, r.output
    html = (tmp_path / "annual.html").read_text("utf-8")
    assert "本期缺少的数据" in html and "体质健康测试数据" in html


def test_unknown_county_exits_2_without_traceback(data_dir, tmp_path, cli_refused):
    d, _ = data_dir
    r = CliRunner().invoke(cli, ["report", "county", "999999", "--data", str(d), "--out", str(tmp_path), "--no-pdf"])
    cli_refused(r, 2, "999999")


def test_bad_checklist_cell_exits_2_naming_row_and_column(data_dir, tmp_path):
    d, prov = data_dir
    bad = pl.read_csv(d / "reports" / "checklist.csv", schema_overrides={"county_code": pl.String})
    bad = bad.with_columns(recognition=pl.when(pl.int_range(pl.len()) == 3).then(1.5).otherwise(pl.col("recognition")))
    path = tmp_path / "checklist.csv"
    bad.write_csv(path)
    r = CliRunner().invoke(cli, ["report", "annual", "--data", str(d), "--checklist", str(path),
                                 "--out", str(tmp_path), "--no-pdf"])
    assert r.exit_code == 2
    assert "recognition" in r.output and "5" in r.output


def test_bad_cuts_exit_2_and_no_questionnaire_is_said(data_dir, tmp_path, cli_refused):
    d, _ = data_dir
    r = CliRunner().invoke(cli, ["report", "annual", "--data", str(d), "--out", str(tmp_path), "--no-pdf",
                                 "--cuts", "2.5,abc"])
    cli_refused(r, 2, "--cuts")
    r = CliRunner().invoke(cli, ["report", "annual", "--data", str(d), "--out", str(tmp_path), "--no-pdf"])
    assert r.exit_code == 0, r.output
    assert "本期未提供学生问卷数据" in (tmp_path / "annual.html").read_text("utf-8")


def test_doc_number_and_date_from_the_report_configuration(data_dir, tmp_path, cli_refused):
    import json

    d, prov = data_dir
    code = prov.schools["county_code"][0]
    cfg = tmp_path / "report.json"
    cfg.write_text(json.dumps({"doc_number": "豫教督办〔2023〕5号", "issue_date": "2023年6月30日"}), "utf-8")
    r = CliRunner().invoke(cli, ["report", "county", code, "--data", str(d), "--config", str(cfg),
                                 "--out", str(tmp_path), "--no-pdf"])
    assert r.exit_code == 0, r.output
    html = (tmp_path / "county" / f"{code}.html").read_text("utf-8")
    assert "豫教督办〔2023〕5号" in html and "2023年6月30日" in html and "文号待定" not in html
    # the option wins over the file; without either the cover says 文号待定
    r = CliRunner().invoke(cli, ["report", "county", code, "--data", str(d), "--config", str(cfg), "--doc-number",
                                 "豫教督办〔2023〕6号", "--out", str(tmp_path), "--no-pdf"])
    assert "豫教督办〔2023〕6号" in (tmp_path / "county" / f"{code}.html").read_text("utf-8")
    r = CliRunner().invoke(cli, ["report", "county", code, "--data", str(d), "--out", str(tmp_path), "--no-pdf"])
    assert "文号待定" in (tmp_path / "county" / f"{code}.html").read_text("utf-8")
    cfg.write_text(json.dumps({"doc_no": "x"}), "utf-8")
    r = CliRunner().invoke(cli, ["report", "county", code, "--data", str(d), "--config", str(cfg),
                                 "--out", str(tmp_path), "--no-pdf"])
    cli_refused(r, 2, "doc_no")
