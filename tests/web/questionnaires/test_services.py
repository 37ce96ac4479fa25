"""questionnaires.services on the database (SQLite here; PostgreSQL in CI through the same tests):
definitions, the all-or-nothing import with registry and scope checks, idempotent re-import,
real files, and the stored frame.  Scale values are worked by hand (conftest.py)."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from junheng.exceptions import InputError, ParameterError

pytestmark = pytest.mark.django_db

# BELONG and SLEEP10 of pupils k = 0..5 of conftest.answers(): (Q01 + (5 − Q02) + Q03) / 3, Q04 ≥ 10
BELONG = [7 / 3, 8 / 3, 5 / 3, 10 / 3, 7 / 3, 8 / 3]
SLEEP10 = [False, False, False, False, True, True]


def _import(path, world, q, who="dave"):
    from junheng_web.questionnaires.services import import_responses

    return import_responses(path, world.cycle, q, world.users[who], file_name=path.name)


def test_it_stores_a_definition_once_and_refuses_to_change_one_with_responses(world, tmp_path, qf):
    from junheng_web.questionnaires.models import Questionnaire
    from junheng_web.questionnaires.services import define

    q, changed = define(world.cycle, qf.STUDENT)
    assert changed and (q.code, q.title, q.respondent) == ("S2022", "学生问卷", "student")
    assert define(world.cycle, qf.STUDENT) == (q, False)
    edited = {**qf.STUDENT, "title": "学生问卷（修订）"}
    q2, changed = define(world.cycle, edited)
    assert changed and q2.pk == q.pk and Questionnaire.objects.get(pk=q.pk).title == "学生问卷（修订）"
    _import(qf.write_xlsx(tmp_path / "s.xlsx", qf.STUDENT_HEADERS, qf.answers(world.pupils["A"])), world, q2)
    with pytest.raises(ParameterError, match="S2022"):
        define(world.cycle, qf.STUDENT)
    assert define(world.cycle, edited)[1] is False  # identical: fine


def test_it_rejects_a_bad_definition_with_every_issue(world, qf):
    from junheng_web.questionnaires.services import define

    bad = {**qf.STUDENT, "respondent": "parent", "scales": [{"id": "X", "name": "x", "items": ["Q99"]}]}
    with pytest.raises(InputError) as exc:
        define(world.cycle, bad)
    assert {i.column for i in exc.value.issues} >= {"respondent", "scales[0].items[0]"}


def test_it_imports_an_xlsx_with_a_title_row_and_stores_hand_worked_scores(world, defined, tmp_path, qf):
    from junheng_web.questionnaires.models import QuestionnaireResponse

    path = qf.write_xlsx(tmp_path / "学生问卷.xlsx", qf.STUDENT_HEADERS, qf.answers(world.pupils["A"]),
                      title="2022年六年级学生问卷 甲小学")
    result = _import(path, world, defined["student"])
    assert (result["rows"], result["created"], result["updated"], result["unchanged"]) == (6, 6, 0, 0)
    stored = {r.respondent_id: r for r in QuestionnaireResponse.objects.filter(questionnaire=defined["student"])}
    for k, p in enumerate(world.pupils["A"]):
        r = stored[p.student_id]
        assert (r.pupil_id, r.school_id, r.cycle_id) == (p.pk, world.schools["A"].pk, world.cycle.pk)
        assert r.scores["BELONG"] == pytest.approx(BELONG[k])
        assert r.scores["SLEEP10"] is SLEEP10[k]
        assert r.answers["Q01"] == 1 + k % 4 and r.answers["Q04"] == pytest.approx(8 + k * 0.5)
        assert r.source_file == "学生问卷.xlsx"


def test_a_reimport_changes_nothing_and_an_edit_changes_one_row(world, defined, tmp_path, qf):
    from junheng_web.questionnaires.models import QuestionnaireResponse

    q = defined["student"]
    path = qf.write_xlsx(tmp_path / "s.xlsx", qf.STUDENT_HEADERS, qf.answers(world.pupils["A"]))
    _import(path, world, q)
    stamps = dict(QuestionnaireResponse.objects.values_list("respondent_id", "updated_at"))
    again = _import(path, world, q)
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 6)
    assert dict(QuestionnaireResponse.objects.values_list("respondent_id", "updated_at")) == stamps
    edited = qf.write_xlsx(tmp_path / "s.xlsx", qf.STUDENT_HEADERS,
                        qf.answers(world.pupils["A"], overrides={2: {"Q03": "4"}}))
    result = _import(edited, world, q)
    assert (result["created"], result["updated"], result["unchanged"]) == (0, 1, 5)
    r = QuestionnaireResponse.objects.get(respondent_id=world.pupils["A"][2].student_id)
    assert r.scores["BELONG"] == pytest.approx((3 + 1 + 4) / 3) and r.updated_at > stamps[r.respondent_id]
    assert QuestionnaireResponse.objects.count() == 6


def test_it_reports_every_bad_row_and_writes_nothing(world, defined, tmp_path, qf):
    from openpyxl import load_workbook

    from junheng.registry.codes import check_char
    from junheng_web.questionnaires.models import QuestionnaireResponse

    body = "41010220110301999"
    stranger = "G" + body + check_char(body)  # well formed, not in the registry
    rows = qf.answers(world.pupils["A"], overrides={1: {"Q02": "5"}, 3: {"Q04": "二十"}, 4: {"Q04": "30"},
                                                 5: {"学籍号": stranger}})
    rows.append(rows[0])  # the same pupil twice
    path = qf.write_xlsx(tmp_path / "bad.xlsx", qf.STUDENT_HEADERS, rows, title="学生问卷")
    with pytest.raises(InputError) as exc:
        _import(path, world, defined["student"])
    got = {(i.row, i.column) for i in exc.value.errors}
    # title row 1, headers row 2: data row k is spreadsheet row k + 3
    assert {(4, "Q02"), (6, "Q04"), (7, "Q04"), (8, "学籍号"), (3, "学籍号"), (9, "学籍号")} <= got
    assert any(i.value == stranger and "名册" in i.rule_zh for i in exc.value.errors)
    assert QuestionnaireResponse.objects.count() == 0
    ws = load_workbook(exc.value.annotated_path)["问卷"]
    assert ws.cell(4, 3).comment is not None and ws.cell(8, 1).comment is not None


def test_a_school_column_must_name_the_pupils_school(world, defined, tmp_path, qf):
    rows = [r + ["4101020001"] for r in qf.answers(world.pupils["A"][:3])]
    rows[1][-1] = "4101020002"  # 甲二小学: registered, but not this pupil's school
    path = qf.write_xlsx(tmp_path / "s.xlsx", [*qf.STUDENT_HEADERS, "学校标识码"], rows)
    with pytest.raises(InputError) as exc:
        _import(path, world, defined["student"])
    assert [(i.row, i.column, i.value) for i in exc.value.errors] == [(3, "学校标识码", "4101020002")]
    assert "4101020001" in exc.value.errors[0].rule_zh


def test_a_school_cannot_write_another_schools_pupils(world, defined, tmp_path, qf):
    from junheng_web.questionnaires.models import QuestionnaireResponse

    pupils = [*world.pupils["A"][:3], world.pupils["B"][0]]
    path = qf.write_xlsx(tmp_path / "s.xlsx", qf.STUDENT_HEADERS, qf.answers(pupils))
    with pytest.raises(InputError) as exc:
        _import(path, world, defined["student"], who="dave")
    assert [(i.row, i.value) for i in exc.value.errors] == [(5, world.pupils["B"][0].student_id)]
    assert QuestionnaireResponse.objects.count() == 0
    with pytest.raises(InputError):  # nor the county of school A
        _import(path, world, defined["student"], who="bob")
    assert _import(path, world, defined["student"], who="alice")["created"] == 4  # the province may


def test_a_pupil_outside_the_sample_is_stored_with_a_warning(world, defined, tmp_path, qf):
    from junheng.registry.codes import check_char
    from junheng_web.questionnaires.models import QuestionnaireResponse
    from junheng_web.registry.models import Pupil

    body = "41010220110301050"
    extra = Pupil.objects.create(student_id="G" + body + check_char(body), name="未抽中", sex=1,
                                 birth_date=dt.date(2011, 3, 1), school=world.schools["A"], grade=6)
    path = qf.write_xlsx(tmp_path / "s.xlsx", qf.STUDENT_HEADERS, qf.answers([*world.pupils["A"][:2], extra]))
    result = _import(path, world, defined["student"])
    assert result["created"] == 3
    assert len(result["warnings"]) == 1 and extra.student_id in result["warnings"][0]
    assert "第4行" in result["warnings"][0] and "样本" in result["warnings"][0]
    assert QuestionnaireResponse.objects.filter(pupil=extra).exists()


def test_it_reads_a_gb18030_csv(world, defined, tmp_path, qf):
    from junheng_web.questionnaires.models import QuestionnaireResponse

    path = qf.write_csv(tmp_path / "学生问卷.csv", qf.STUDENT_HEADERS,
                     qf.answers(world.pupils["B"], overrides={0: {"Q01 我喜欢我的学校": "很同意"}}))
    assert path.read_bytes().decode("gb18030")  # really GB18030, not UTF-8
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")
    assert _import(path, world, defined["student"], who="erin")["created"] == 6
    r = QuestionnaireResponse.objects.get(respondent_id=world.pupils["B"][0].student_id)
    assert r.answers["Q01"] == 4  # the label 很同意 read as its code


def test_principal_and_teacher_questionnaires_are_keyed_by_school(world, defined, tmp_path, qf):
    from junheng_web.questionnaires.models import QuestionnaireResponse
    from junheng_web.questionnaires.services import responses_frame

    bad = qf.write_xlsx(tmp_path / "p.xlsx", ["学校标识码", "P01", "P02"],
                     [["4101020001", "1", "2"], ["4101029999", "2", "0"]])
    with pytest.raises(InputError) as exc:
        _import(bad, world, defined["principal"], who="bob")
    assert [(i.row, i.value) for i in exc.value.errors] == [(3, "4101029999")]
    good = qf.write_xlsx(tmp_path / "p.xlsx", ["学校标识码", "P01", "P02"], [["4101020001", "1", "2"],
                                                                         ["4101020002", "9", ""]])
    assert _import(good, world, defined["principal"], who="bob")["created"] == 2
    with pytest.raises(InputError):  # county A's operator cannot answer for county B's school
        _import(qf.write_xlsx(tmp_path / "p2.xlsx", ["学校标识码", "P01"], [["4101030001", "1"]]), world,
                defined["principal"], who="bob")
    frame = responses_frame(world.cycle, defined["principal"]).sort("respondent_id")
    assert frame["ROOM"].to_list() == [True, None] and frame["P02"].to_list() == [2.0, None]

    teachers = qf.write_xlsx(tmp_path / "t.xlsx", ["教师编号", "学校标识码", "T01"],
                             [["T01", "4101020001", "4"], ["T01", "4101030001", "2"], ["T/02", "4101020001", "3"]])
    assert _import(teachers, world, defined["teacher"], who="alice")["created"] == 3
    assert set(QuestionnaireResponse.objects.filter(questionnaire=defined["teacher"])
               .values_list("respondent_id", "school__code")) == {("4101020001/T01", "4101020001"),
                                                                  ("4101030001/T01", "4101030001"),
                                                                  ("4101020001/T/02", "4101020001")}
    frame = responses_frame(world.cycle, defined["teacher"]).sort("school_code", "respondent_id")
    assert frame.select("respondent_id", "school_code", "SATIS").rows() == [("T/02", "4101020001", 3.0),
                                                                            ("T01", "4101020001", 4.0),
                                                                            ("T01", "4101030001", 2.0)]


def test_the_frame_is_the_contracts_frame_for_a_region(world, defined, tmp_path, qf):
    from junheng_web.questionnaires.services import responses_frame

    q = defined["student"]
    _import(qf.write_xlsx(tmp_path / "a.xlsx", qf.STUDENT_HEADERS, qf.answers(world.pupils["A"])), world, q)
    _import(qf.write_xlsx(tmp_path / "b.xlsx", qf.STUDENT_HEADERS, qf.answers(world.pupils["B"][:2])), world, q, who="erin")
    a = responses_frame(world.cycle, q, world.regions["A"]).sort("respondent_id")
    assert a.schema["respondent_id"] == pl.String and a.schema["Q01"] == pl.Int64 and a.schema["Q04"] == pl.Float64
    assert a.schema["BELONG"] == pl.Float64 and a.schema["SLEEP10"] == pl.Boolean
    assert a["respondent_id"].to_list() == sorted(p.student_id for p in world.pupils["A"])
    assert set(a["county_code"]) == {"410102"} and set(a["city_code"]) == {"410100"}
    assert "weight" not in a.columns  # the world's cycle has no final weights yet
    assert responses_frame(world.cycle, q, "410100").height == 8
    assert responses_frame(world.cycle, q, world.regions["B"]).height == 2
    assert responses_frame(world.cycle, q).height == 8


def test_a_refusal_does_not_name_a_school_outside_the_uploaders_area(world, defined, tmp_path, qf):
    """Issue 12.9: county A's user lists county B's pupil under a school of A: refused, without
    telling where that pupil is registered; the province is told."""
    rows = [r + ["4101020001"] for r in qf.answers([world.pupils["A"][0], world.pupils["B"][0]])]
    path = qf.write_xlsx(tmp_path / "s.xlsx", [*qf.STUDENT_HEADERS, "学校标识码"], rows)
    with pytest.raises(InputError) as exc:
        _import(path, world, defined["student"], who="bob")
    text = " ".join(i.message() for i in exc.value.issues)
    assert "4101030001" not in text and "乙小学" not in text
    with pytest.raises(InputError) as exc:
        _import(path, world, defined["student"], who="alice")
    assert "4101030001" in " ".join(i.message() for i in exc.value.issues)
