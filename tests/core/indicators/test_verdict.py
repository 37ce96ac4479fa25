"""The overall county verdict and its reasons on hand-built counties; synthetic checklist."""

from __future__ import annotations

import polars as pl
import pytest

from junheng.exceptions import InputError
from junheng.indicators import change, county_verdict
from junheng.synth.checklist import checklist as synth_checklist


def resource(code, schools_ok=True, cv_ok=True):
    return {"county_code": code, "n_units": 10, "n_units_pass": 10 if schools_ok else 9,
            "failing_units": "" if schools_ok else "X", "n_cv": 14, "n_cv_ok": 14 if cv_ok else 13,
            "max_cv_primary": 0.3, "max_cv_junior": 0.3, "failing_cv": "" if cv_ok else "初中:R5",
            "schools_pass": schools_ok, "cv_pass": cv_ok, "resource_pass": schools_ok and cv_ok}


def check(code, year=2022, rec=0.9, miss=(), veto=()):
    row = {"county_code": code, "year": year}
    row |= {f"G{i}": f"G{i}" not in miss for i in range(1, 16)}
    row |= {f"Q{i}": f"Q{i}" not in miss for i in range(1, 9)}
    row["recognition"] = rec
    row |= {f"V{i}": f"V{i}" in veto for i in range(1, 7)}
    return row


def quality(code, ok):
    return {"county_code": code, "subject": "数学", "share_l3": 0.6 if ok else 0.4, "diff_rate": 0.1,
            "quality_pass": ok}


def run(res_rows, cl_rows, q_rows):
    return county_verdict(pl.DataFrame(res_rows), pl.DataFrame(cl_rows), pl.DataFrame(q_rows), year=2022)


def test_a_county_meeting_everything_passes_with_no_reasons():
    out = run([resource("A")], [check("A")], [quality("A", True)])
    assert out["overall_pass"].to_list() == [True]
    assert out["reasons"][0].to_list() == []
    assert out["gov_met"][0] == 15 and out["quality_met"][0] == 9


@pytest.mark.parametrize(("kwargs", "res", "q_ok", "needle"), [
    ({"miss": ("G5",)}, {}, True, "政府保障程度 G5"),
    ({"miss": ("Q8",)}, {}, True, "教育质量 Q8"),
    ({"rec": 0.849}, {}, True, "社会认可度 84.9% 低于85%"),
    ({"veto": ("V3",)}, {}, True, "一票否决：存在重点校或重点班"),
    ({}, {"cv_ok": False}, True, "差异系数超限（初中:R5）"),
    ({}, {"schools_ok": False}, True, "1 个学校（学部）未达到"),
    ({}, {}, False, "教育质量 Q9 未达到"),
])
def test_each_failing_part_fails_the_county_and_says_why(kwargs, res, q_ok, needle):
    out = run([resource("A", **res)], [check("A", **kwargs)], [quality("A", q_ok)])
    assert out["overall_pass"].to_list() == [False]
    reasons = out["reasons"][0].to_list()
    assert len(reasons) == 1
    assert needle in reasons[0]


def test_recognition_exactly_85_percent_passes():
    out = run([resource("A")], [check("A", rec=0.85)], [quality("A", True)])
    assert out["overall_pass"][0]


def test_missing_monitoring_result_is_undecidable_not_a_pass():
    out = county_verdict(pl.DataFrame([resource("A")]), pl.DataFrame([check("A")]), None, year=2022)
    assert not out["overall_pass"][0]
    assert "Q9 无法判定" in out["reasons"][0][0]


def test_change_from_last_year():
    rows = [check("A", 2021, miss=("G1",)), check("A"), check("B", 2021), check("B", miss=("G2",))]
    res = [resource("A"), resource("B")]
    q = [quality("A", True), quality("B", True)]
    this = county_verdict(pl.DataFrame(res), pl.DataFrame(rows), pl.DataFrame(q), year=2022)
    last = county_verdict(pl.DataFrame(res), pl.DataFrame(rows), pl.DataFrame(q), year=2021)
    assert change(this, last)["change"].to_list() == ["新达标", "不再达标"]


def test_bad_checklist_reports_every_cell():
    rows = [check("A"), check("B", rec=1.7)]
    rows[0]["G3"] = None
    with pytest.raises(InputError) as e:
        county_verdict(pl.DataFrame([resource("A"), resource("B")]), pl.DataFrame(rows), None, year=2022)
    found = {(i.row, i.column) for i in e.value.issues}
    assert found == {(2, "G3"), (3, "recognition")}


def test_synthetic_checklist_is_deterministic_and_valid():
    a = synth_checklist(["410102", "410103"], year=2022, random_state=5)
    b = synth_checklist(["410103", "410102"], year=2022, random_state=5)
    assert a.equals(b)
    assert sorted(a["year"].unique().to_list()) == [2021, 2022]
    assert a["recognition"].is_between(0.5, 0.99).all()


def test_empty_q9_column_of_a_checklist_csv_takes_the_monitoring_result(tmp_path):
    """Issue 13.1: the checklist CSV's Q9 column is empty (it comes from the monitoring); read as
    text it turned every Q9 into a string and failed every county.  Read through the declared
    schema it is a null Boolean column and the monitoring result decides."""
    from junheng.indicators.schemas import CHECKLIST
    from junheng.reports.tables import _read

    rows = [check("A"), check("B")]
    frame = pl.DataFrame(rows).with_columns(pl.lit(None, pl.Boolean).alias("Q9"))
    path = tmp_path / "checklist.csv"
    frame.write_csv(path)
    assert ",Q9," in path.read_text("utf-8").splitlines()[0] + ","  # the empty column is in the file
    typed = _read(path, CHECKLIST)
    assert typed.schema["Q9"] == pl.Boolean and typed.schema["county_code"] == pl.String
    out = county_verdict(pl.DataFrame([resource("A"), resource("B")]), typed,
                         pl.DataFrame([quality("A", True), quality("B", False)]), year=2022)
    assert out["overall_pass"].to_list() == [True, False]
    assert out["quality_met"].to_list() == [9, 8]
    inferred = pl.read_csv(path)  # a reader that infers: the empty column comes back as text
    assert inferred.schema["Q9"] == pl.String
    again = county_verdict(pl.DataFrame([resource("A"), resource("B")]), inferred,
                           pl.DataFrame([quality("A", True), quality("B", False)]), year=2022)
    assert again["overall_pass"].to_list() == [True, False]


def test_a_checklist_given_as_text_is_parsed_and_bad_cells_are_all_reported():
    rows = [{k: ("是" if v is True else "否" if v is False else str(v)) for k, v in check(c).items()}
            for c in ("A", "B")]
    rows[0]["G3"] = "maybe"
    rows[1]["recognition"] = "高"
    text = pl.DataFrame(rows).with_columns(pl.lit("", pl.String).alias("Q9"))
    with pytest.raises(InputError) as exc:
        county_verdict(pl.DataFrame([resource("A"), resource("B")]), text, None, year=2022)
    cells = {(i.row, i.column, i.value) for i in exc.value.issues}
    assert cells == {(2, "G3", "maybe"), (3, "recognition", "高")}
    rows[0]["G3"], rows[1]["recognition"] = "是", "0.9"
    out = county_verdict(pl.DataFrame([resource("A"), resource("B")]), pl.DataFrame(rows).with_columns(
        pl.lit("", pl.String).alias("Q9")), pl.DataFrame([quality("A", True), quality("B", True)]), year=2022)
    assert out["overall_pass"].to_list() == [True, True]


def test_q9_takes_three_outcomes_and_the_verdicts_table():
    from junheng.indicators import verdicts_table

    q = pl.DataFrame([{**quality(c, ok), "quality_verdict": v, "between_share": 0.1}
                      for c, ok, v in (("A", True, "达到"), ("B", None, "无法判定"), ("C", False, "未达到"))])
    res = [resource("A"), resource("B"), resource("C", cv_ok=False)]
    out = county_verdict(pl.DataFrame(res), pl.DataFrame([check("A"), check("B"), check("C")]), q, year=2022,
                         names={"A": "甲县", "B": "乙县", "C": "丙县"})
    assert out["quality"].to_list() == ["达到", "无法判定", "未达到"]
    assert out["overall"].to_list() == ["达到", "无法判定", "未达到"]
    assert "差距在抽样误差内" in out["reasons"][1][0]
    t = verdicts_table(out)
    assert t.columns == ["county_code", "county_name", "resources_met", "quality", "overall", "reasons"]
    assert t.row(2) == ("C", "丙县", False, "未达到", "未达到",
                        "资源配置：差异系数超限（初中:R5）；教育质量 Q9 未达到：" + t["reasons"][2].split("教育质量 Q9 未达到：")[1])


def test_a_withheld_subject_makes_q9_undecidable_not_reached():
    q = pl.DataFrame([{**quality("A", True), "quality_verdict": "达到"},
                      {**quality("A", None), "subject": "语文", "share_l3": None, "quality_verdict": None}])
    out = county_verdict(pl.DataFrame([resource("A")]), pl.DataFrame([check("A")]), q, year=2022)
    assert out["quality"].to_list() == ["无法判定"] and out["overall"].to_list() == ["无法判定"]


def test_a_failing_subject_beside_an_undecidable_one_is_not_reached():
    """Q9 未达到 (one subject fails) while another subject is 无法判定: the county 未达到, even
    though the reason's detail mentions 无法判定."""
    q = pl.DataFrame([{**quality("A", False), "quality_verdict": "未达到"},
                      {**quality("A", None), "subject": "语文", "quality_verdict": "无法判定"}])
    out = county_verdict(pl.DataFrame([resource("A")]), pl.DataFrame([check("A")]), q, year=2022)
    assert out["quality"].to_list() == ["未达到"] and out["overall"].to_list() == ["未达到"]
    assert "无法判定" in out["reasons"][0][0]  # the detail lists the undecidable subject


def test_the_reason_names_the_subjects_level_and_the_pooled_share_once():
    """With the between-school share pooled over the subjects, the Q9 reason lists each subject
    short of 达到 on Ⅲ级以上 and the county's pooled share once (not once per subject)."""
    def row(code, subject, level, diff, share):
        verdict = "未达到" if "未达到" in (level, diff) else "达到" if level == diff == "达到" else "无法判定"
        return {"county_code": code, "subject": subject, "share_l3": 0.7, "level_verdict": level,
                "diff_verdict": diff, "quality_verdict": verdict, "between_share": 0.3, "pooled_between_share": share,
                "quality_pass": {"达到": True, "未达到": False}.get(verdict)}

    q = pl.DataFrame([row("A", "数学", "达到", "达到", 0.05), row("A", "语文", "达到", "达到", 0.05),
                      row("B", "数学", "无法判定", "达到", 0.05), row("B", "语文", "达到", "达到", 0.05),
                      row("C", "数学", "达到", "未达到", 0.2), row("C", "语文", "达到", "未达到", 0.2)])
    out = county_verdict(pl.DataFrame([resource(c) for c in "ABC"]), pl.DataFrame([check(c) for c in "ABC"]), q,
                         year=2022)
    assert out["quality"].to_list() == ["达到", "无法判定", "未达到"]
    assert out["reasons"][0].to_list() == []
    b, c = out["reasons"][1][0], out["reasons"][2][0]
    assert "数学（Ⅲ级以上70.0%：无法判定）" in b and "语文" not in b and "校际方差占比" not in b
    assert c.count("校际方差占比（各科合并）20.0%：未达到") == 1 and "数学" not in c and "30.0" not in c
