"""The 相关因素 chapter: its numbers equal ``junheng.survey.proportion`` and
``junheng.questionnaire.factor_gaps`` computed here independently (and, for the estimates, a
weighted mean by hand); findings call a gap a gap only when its t test survives Benjamini–Hochberg; suppressed cells show "—";
the PDF contains the chapter; without questionnaire data the report still renders and says so."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import replace

import numpy as np
import polars as pl
import pytest

from junheng.questionnaire import factor_gaps, scale_groups
from junheng.reports import annual_html, build, county_html, write_reports
from junheng.reports.context import factor_compare_rows, factors_block, findings_factors
from junheng.survey import ReplicateDesign, compare, proportion

pdf_tools = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils not installed")


@pytest.fixture(scope="module")
def pupils(report_inputs):
    """The questionnaire frame joined to the sample and the weights, built here, not by the report."""
    inp = report_inputs
    groups = scale_groups(inp.questionnaire, inp.questionnaire_def, cuts=(2.5, 3.5))
    return (inp.questionnaire.join(groups, on="student_id")
            .join(inp.sample.select("student_id", "county_code", "city_code"), on="student_id")
            .join(inp.weights, on="student_id"))


def test_indicator_shares_equal_survey_and_a_hand_weighted_mean(tables, pupils):
    fb = factors_block(tables)
    ids = [i.id for i in tables.inputs.questionnaire_def.indicators]
    design = ReplicateDesign(pupils, "weight", "rep_*", method="jk2")
    for k, ind in enumerate(ids):
        ref = proportion(design, ind, levels=[True]).row(0, named=True)
        got = tables["q_share"].filter((pl.col("scope") == "province") & (pl.col("indicator") == ind)).row(0, named=True)
        assert got["estimate"] == pytest.approx(ref["estimate"], abs=1e-12)
        assert got["se"] == pytest.approx(ref["se"], abs=1e-12)
        ok = pupils.filter(pl.col(ind).is_not_null())
        w, x = ok["weight"].to_numpy(), ok[ind].cast(pl.Float64).to_numpy()
        assert got["estimate"] == pytest.approx((w * x).sum() / w.sum(), rel=1e-12)
        assert fb["share_rows"][0]["name"] == "全省"
        assert fb["share_rows"][0]["cells"][k]["v"] == f"{ref['estimate'] * 100:.1f}%"
    # per city: 郑州市 by hand
    city = pupils.filter((pl.col("city_code") == "410100") & pl.col("sleep_ok").is_not_null())
    w, x = city["weight"].to_numpy(), city["sleep_ok"].cast(pl.Float64).to_numpy()
    row = next(r for r in fb["share_rows"] if r["name"] == "郑州市")
    assert row["cells"][ids.index("sleep_ok")]["v"] == f"{(w * x).sum() / w.sum() * 100:.1f}%"


def test_gaps_equal_factor_gaps_and_a_hand_difference_of_means(tables, pupils, report_inputs):
    scores = report_inputs.scores.select("student_id", "subject", pl.col("^pv\\d$"))
    data = scores.join(pupils, on="student_id")
    design = ReplicateDesign(data, "weight", "rep_*", method="jk2")
    factors = ["sleep_ok", "homework_ok", "confidence_group"]
    ref = factor_gaps(design, factors, pv="pv*", by="subject").filter(pl.col("is_gap"))
    tested = compare(ref.rename({"estimate": "diff", "se": "diff_se"}))  # one family: every gap on the page
    ref = ref.with_columns(tested["significant"])
    fb = factors_block(tables)
    for r in ref.iter_rows(named=True):
        row = next(g for g in fb["gap_rows"] if g["factor"] == r["factor"])
        cell = row["cells"][fb["subjects"].index(r["subject"])]
        assert cell["raw"] == pytest.approx(r["estimate"], abs=1e-9)
        assert cell["raw_se"] == pytest.approx(r["se"], abs=1e-9)
        assert cell["sig"] == bool(r["significant"])
    # the estimate by hand: mean over the 5 PVs of (weighted mean | slept ≥ 10 h) − (weighted mean | not)
    m = data.filter((pl.col("subject") == "数学") & pl.col("sleep_ok").is_not_null())
    w, yes = m["weight"].to_numpy(), m["sleep_ok"].to_numpy()
    diffs = [np.average(m[f"pv{k}"].to_numpy()[yes], weights=w[yes])
             - np.average(m[f"pv{k}"].to_numpy()[~yes], weights=w[~yes]) for k in range(1, 6)]
    row = next(g for g in fb["gap_rows"] if g["factor"] == "sleep_ok")
    assert row["label"] == "是 − 否"
    assert row["cells"][fb["subjects"].index("数学")]["raw"] == pytest.approx(np.mean(diffs), rel=1e-9)


def test_findings_call_a_factor_gap_a_gap_only_beyond_two_se(tables):
    text = "".join(findings_factors(tables))
    fb = factors_block(tables)
    quiet = text.split("不作为差异报告：")[1] if "不作为差异报告：" in text else ""
    for g in fb["gap_rows"]:
        for s, c in zip(fb["subjects"], g["cells"]):
            if c["raw"] is None:
                continue
            # plain words for the reader; the SEs are in the tables and the note
            said = f"{s}{'高' if c['raw'] > 0 else '低'} {abs(c['raw']):.1f} 分"
            if c["sig"]:
                assert said in text
            else:
                assert said not in text
                assert g["name"] in quiet and s in quiet.split(g["name"], 1)[1].split("）")[0]
    assert "相关因素：全省" in text and "睡眠达到 10 小时的学生占" in text


def test_small_counties_are_suppressed_in_the_county_table(tables):
    share = tables["q_share"].filter(pl.col("scope") == "county")
    small = share.filter((pl.col("n_pupils") < 62) | (pl.col("n_schools") < 5))
    assert small.height > 0 and small["estimate"].is_null().all()
    code = small["county_code" if "county_code" in small.columns else "unit"][0]
    city = tables.inputs.names.filter(pl.col("county_code") == code)["city_code"][0]
    rows = factor_compare_rows(tables, code, city)
    assert rows and all(r["county"] == "—" and r["word"] == "—" for r in rows)
    assert "相关因素" in county_html(tables, code, print_version=True)


@pytest.mark.integration
def test_without_questionnaire_the_report_renders_and_says_so(report_inputs, tmp_path):
    tb = build(replace(report_inputs, questionnaire=None, questionnaire_def=None))
    assert "学生问卷（相关因素）" in tb.missing and factors_block(tb) is None
    html = annual_html(tb)
    assert "本期未提供学生问卷数据" in html
    code = tb["resource"]["county_code"][0]
    assert "本期未提供学生问卷数据" in county_html(tb, code)
    w = write_reports(tb, tmp_path, counties=[code], processes=1)
    assert len(w["pdf"]) == 2 and all(p.stat().st_size > 10_000 for p in w["pdf"])


@pytest.mark.integration
@pdf_tools
def test_the_pdfs_contain_the_chapter(tables, tmp_path):
    code = tables["resource"]["county_code"][0]
    w = write_reports(tables, tmp_path, counties=[code], processes=2)
    text = subprocess.run(["pdftotext", str(tmp_path / "annual.pdf"), "-"], capture_output=True, text=True,
                          check=True).stdout
    for s in ("五、相关因素", "睡眠达到 10", "书面作业不超过 60", "学习自信", "Hochberg"):
        assert s in text, s
    county = subprocess.run(["pdftotext", str(w["pdf"][1]), "-"], capture_output=True, text=True, check=True).stdout
    assert "相关因素" in county and "学生问卷指标" in county


def test_the_questionnaire_scales_command_output_is_accepted_as_is(report_inputs, tables):
    """``junheng questionnaire scales`` writes respondent_id (学籍号) and school_code: the same chapter."""
    from junheng.exceptions import ParameterError

    raw = report_inputs.questionnaire.rename({"student_id": "respondent_id"}).with_columns(school_code=pl.lit("x"))
    tb = build(replace(report_inputs, fitness=None, checklist=None, questionnaire=raw))
    assert tb["q_share"].equals(tables["q_share"])
    with pytest.raises(ParameterError):
        build(replace(report_inputs, questionnaire=raw.rename({"respondent_id": "who"})))
