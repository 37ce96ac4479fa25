"""Registry import into the database: all or nothing, idempotent, every DB-level rule (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from junheng_web.registry import services
from junheng_web.registry.models import Pupil, Region, School, SchoolClass

pytestmark = pytest.mark.django_db


@pytest.fixture
def schools_file(tmp_path, make):
    return make.write_xlsx(tmp_path / "schools.xlsx", make.SCHOOL_HEADERS, make.school_rows(), title="学校名单", typed=True)


@pytest.fixture
def registered(schools_file):
    return services.import_schools(schools_file)


def _counts():
    return Pupil.objects.count(), SchoolClass.objects.count(), School.objects.count()


def test_it_loads_regions_and_schools_then_a_second_import_changes_nothing(schools_file):
    r = services.import_schools(schools_file)
    assert (r.rows, r.created, r.updated, r.unchanged) == (2, 2, 0, 0)
    assert Region.objects.filter(level="county").count() == 157
    assert Region.objects.filter(code="419001").count() == 2
    school = School.objects.get(code="2141000001")
    assert (school.name, school.county.code, school.enrol_g6, school.classes_g6) == ("中原区实验小学", "410102", 120, 3)
    r = services.import_schools(schools_file)
    assert (r.created, r.updated, r.unchanged) == (0, 0, 2)


def test_pupils_created_updated_unchanged_and_classes(registered, tmp_path, make):
    rows = make.pupil_rows(6)
    path = make.write_csv(tmp_path / "p.csv", make.PUPIL_HEADERS, rows, "gb18030")
    r = services.import_pupils(path)
    assert (r.rows, r.created, r.updated, r.unchanged, r.classes_created) == (6, 6, 0, 0, 2)
    p = Pupil.objects.select_related("school", "school_class").get(student_id=rows[1][0])
    assert (p.sex, p.birth_date, p.ethnicity, p.grade) == (2, dt.date(2011, 4, 27), "01", 6)
    assert (p.school.code, p.school_class.code, p.school_class.name) == ("2141000001", "602", "六(2)班")

    again = services.import_pupils(path)
    assert (again.created, again.updated, again.unchanged, again.classes_created) == (0, 0, 6, 0)

    rows[0][1] = "改名"  # one changed, one new
    rows.append(make.pupil_rows(1, start=50)[0])
    r = services.import_pupils(make.write_csv(tmp_path / "p2.csv", make.PUPIL_HEADERS, rows))
    assert (r.created, r.updated, r.unchanged) == (1, 1, 5)
    assert Pupil.objects.get(student_id=rows[0][0]).name == "改名"


def test_a_rejected_roster_writes_nothing_and_is_annotated(registered, tmp_path, make):
    services.import_pupils(make.write_csv(tmp_path / "ok.csv", make.PUPIL_HEADERS, make.pupil_rows(2)))
    before = _counts()
    rows = make.pupil_rows(4, start=10)
    rows[2][2] = "男性"
    with pytest.raises(services.ImportRejected) as exc:
        services.import_pupils(make.write_csv(tmp_path / "bad.csv", make.PUPIL_HEADERS, rows))
    assert [i.message() for i in exc.value.errors] == [
        "bad.csv 第4行 性别: 应为 1（男）或 2（女），实际为 '男性' / bad.csv, row 4, column 性别: must be 1 (male) or 2 "
        "(female); 男/女 accepted; got '男性'"]
    assert exc.value.annotated_path.exists()
    assert _counts() == before


def test_a_student_id_registered_at_another_school_is_an_error_naming_it(registered, tmp_path, make):
    first = make.pupil_rows(3)
    services.import_pupils(make.write_csv(tmp_path / "a.csv", make.PUPIL_HEADERS, first))
    before = _counts()
    rows = make.pupil_rows(3, school=make.SCHOOL_B, start=20)
    rows[1][0] = first[2][0]  # a pupil of school A appears in school B's roster
    for r in rows:
        r[7] = "699"  # a new class, which must not survive the rollback either
    with pytest.raises(services.ImportRejected) as exc:
        services.import_pupils(make.write_csv(tmp_path / "b.csv", make.PUPIL_HEADERS, rows))
    (issue,) = exc.value.errors
    assert (issue.row, issue.column, issue.value) == (3, "学籍号", first[2][0])
    assert issue.rule_zh == "该学籍号已在其他学校登记（中原区实验小学，2141000001）"
    assert _counts() == before
    assert not SchoolClass.objects.filter(code="699").exists()


def test_an_unknown_school_is_an_error(registered, tmp_path, make):
    rows = make.pupil_rows(2, school="2141777777")
    with pytest.raises(services.ImportRejected) as exc:
        services.import_pupils(make.write_csv(tmp_path / "p.csv", make.PUPIL_HEADERS, rows))
    assert [(i.row, i.rule_en) for i in exc.value.errors] == [
        (2, "school not in the school register (import the schools first)"),
        (3, "school not in the school register (import the schools first)")]
    assert Pupil.objects.count() == 0


def test_duplicates_inside_the_file_reject_all_rows(registered, tmp_path, make):
    rows = make.pupil_rows(3)
    rows[2][0] = rows[0][0]
    with pytest.raises(services.ImportRejected) as exc:
        services.import_pupils(make.write_csv(tmp_path / "p.csv", make.PUPIL_HEADERS, rows))
    assert [(i.row, i.rule_zh) for i in exc.value.errors] == [(2, "学籍号重复（与第 4 行相同）"),
                                                                (4, "学籍号重复（与第 2 行相同）")]
    assert Pupil.objects.count() == 0


def test_unknown_county_and_missing_column_reject_the_school_list(tmp_path, make):
    rows = make.school_rows()
    rows[1][2] = "410999"
    with pytest.raises(services.ImportRejected) as exc:
        services.import_schools(make.write_csv(tmp_path / "s.csv", make.SCHOOL_HEADERS, rows))
    assert [(i.row, i.column, i.value) for i in exc.value.errors] == [(3, "区县代码", "410999")]
    headers = [h for h in make.SCHOOL_HEADERS if h != "城乡类型"]
    rows = [[v for h, v in zip(make.SCHOOL_HEADERS, r) if h != "城乡类型"] for r in make.school_rows()]
    with pytest.raises(services.ImportRejected) as exc:
        services.import_schools(make.write_csv(tmp_path / "s2.csv", headers, rows))
    assert [(i.row, i.column) for i in exc.value.errors] == [(None, "城乡类型")]
    assert School.objects.count() == 0


def test_unknown_extra_columns_are_warnings_not_failures(registered, tmp_path, make):
    headers = [*make.PUPIL_HEADERS, "家庭住址"]
    rows = [[*r, "郑州市"] for r in make.pupil_rows(2)]
    r = services.import_pupils(make.write_csv(tmp_path / "p.csv", headers, rows))
    assert r.created == 2
    assert [w.message() for w in r.warnings] == [
        "p.csv 家庭住址: 无法识别的列，已忽略 / p.csv, column 家庭住址: unknown column, ignored"]


def test_dry_run_counts_but_writes_nothing(registered, tmp_path, make):
    r = services.import_pupils(make.write_csv(tmp_path / "p.csv", make.PUPIL_HEADERS, make.pupil_rows(3)), dry_run=True)
    assert (r.dry_run, r.created) == (True, 3)
    assert _counts()[:2] == (0, 0)


def test_a_school_operator_may_import_only_their_school(registered, tmp_path, make):
    rows = make.pupil_rows(2) + make.pupil_rows(1, school=make.SCHOOL_B, start=30)
    school = School.objects.get(code=make.SCHOOL_A)
    with pytest.raises(services.ImportRejected) as exc:
        services.import_pupils(make.write_csv(tmp_path / "p.csv", make.PUPIL_HEADERS, rows), school=school)
    assert [(i.row, i.value) for i in exc.value.errors] == [(4, make.SCHOOL_B)]
    assert Pupil.objects.count() == 0


def test_every_file_form_imports_the_same_pupils(registered, tmp_path, make):
    rows = make.pupil_rows(4)
    full = [r[:] for r in rows]
    full[0][0] = "".join(chr(ord(c) + 0xFEE0) for c in full[0][0])  # full-width 学籍号
    full[1][3] = "2011年4月27日"
    full[2][3] = "20110427"
    files = [
        make.write_csv(tmp_path / "gb.csv", make.PUPIL_HEADERS, rows, "gb18030"),
        make.write_csv(tmp_path / "bom.csv", make.PUPIL_HEADERS, full, "utf-8-sig", blank_lines_after=(1,)),
        make.write_xlsx(tmp_path / "t.xlsx", make.PUPIL_HEADERS, rows, title="名册", group_header=True, typed=True),
    ]
    first = services.import_pupils(files[0])
    assert first.created == 4
    for f in files[1:]:
        r = services.import_pupils(f)
        assert (r.created, r.updated, r.unchanged) == (0, 0, 4), f.name


def test_registry_frames_follow_the_contract(registered, tmp_path, make):
    services.import_pupils(make.write_csv(tmp_path / "p.csv", make.PUPIL_HEADERS, make.pupil_rows(3)))
    schools, pupils = services.registry_frames()
    assert schools.height == 2
    assert schools.filter(pl.col("school_code") == make.SCHOOL_A)["city_code"].to_list() == ["410100"]
    assert schools.schema["is_teaching_point"] == pl.Boolean and schools.schema["enrol_g6"] == pl.Int64
    assert pupils.columns == ["student_id", "name", "sex", "birth_date", "ethnicity", "school_code", "grade",
                              "class_code", "class_name"]
    assert (pupils.schema["sex"], pupils.schema["birth_date"], pupils.schema["grade"]) == (pl.Int8, pl.Date, pl.Int8)
    assert pupils["birth_date"].to_list() == [dt.date(2011, 4, 27)] * 3


def test_ensure_regions_is_idempotent():
    assert services.ensure_regions() == 1 + 18 + 157
    assert services.ensure_regions() == 0
    county = Region.objects.get(code="419001", level="county")
    assert county.parent.code == "419001" and county.parent.level == "city"


def test_a_change_from_blank_to_a_value_and_back_counts_as_updated(tmp_path, make):
    headers = [*make.SCHOOL_HEADERS, "教学及辅助用房面积"]
    rows = [[*r, ""] for r in make.school_rows()]
    assert services.import_schools(make.write_csv(tmp_path / "a.csv", headers, rows)).created == 2
    rows[0][-1] = "1234.5"
    r = services.import_schools(make.write_csv(tmp_path / "b.csv", headers, rows))
    assert (r.created, r.updated, r.unchanged) == (0, 1, 1)
    assert School.objects.get(code=make.SCHOOL_A).teaching_area_m2 == 1234.5
    rows[0][-1] = ""
    r = services.import_schools(make.write_csv(tmp_path / "c.csv", headers, rows))
    assert (r.created, r.updated, r.unchanged) == (0, 1, 1)
    assert School.objects.get(code=make.SCHOOL_A).teaching_area_m2 is None


def test_a_lookup_in_chunks_returns_the_rows_of_every_chunk(registered):
    """``importers.fetch_rows_in`` (the roster's school and 学籍号 lookups): two schools asked one
    a statement, with a code that is not registered between them, come back both."""
    from junheng_web.registry.importers import fetch_rows_in

    sql = f"SELECT code, name FROM {School._meta.db_table} WHERE code IN ({{values}})"
    codes = sorted(School.objects.values_list("code", flat=True))
    got = fetch_rows_in(sql, [codes[0], "9999999999", codes[1]], chunk=1)
    assert sorted(got) == sorted(School.objects.values_list("code", "name"))
    assert fetch_rows_in(sql, []) == []
