"""Issue 12.1: a county user must not write pupils in another county — whatever the file's
spelling.  The attack: the 学籍号 header written with spaces (学 籍 号) and spaces inside the ids.
The registry reader normalises both; a guard that read the file its own way saw no 学籍号 column
and checked nothing.  Now the scope is checked by the importer itself, on the frame it writes,
inside the write transaction."""

from __future__ import annotations

import polars as pl
import pytest

from junheng.exceptions import InputError
from junheng.registry.codes import check_char
from junheng.registry.schemas import PUPILS

pytestmark = pytest.mark.django_db


def _sid(county: str, k: int) -> str:
    body = f"{county}20110301{k:03d}"
    return "G" + body + check_char(body)


def _hostile_roster(tmp_path, rows):
    """Header 学 籍 号 (spaces inside) and ids with spaces inside: the reader normalises both."""
    headers = ["学 籍 号" if h == "学籍号" else h for h in PUPILS.headers]
    data = [{h: "" for h in headers} | {"学 籍 号": sid[:5] + " " + sid[5:12] + " " + sid[12:], "姓名": "某某",
                                        "性别": "1", "出生日期": "2011-01-01", "学校标识码": school, "年级": "6"}
            for sid, school in rows]
    path = tmp_path / "名册.csv"
    pl.DataFrame(data).select(headers).write_csv(path)
    return path


def test_the_importer_refuses_rows_of_a_school_outside_the_users_county(world, tmp_path):
    from junheng_web.registry.models import Pupil
    from junheng_web.registry.services import ImportRejected, import_pupils

    new_b, existing_b = _sid("410103", 950), world.pupils["B"][0]
    path = _hostile_roster(tmp_path, [(_sid("410102", 950), "4101020001"), (new_b, "4101030001"),
                                      (existing_b.student_id, "4101030001")])
    before = Pupil.objects.get(pk=existing_b.pk).name
    with pytest.raises(ImportRejected) as exc:
        import_pupils(path, user=world.users["bob"])  # county A
    issues = exc.value.result.issues
    assert sorted(i.row for i in issues if i.severity == "error") == [3, 4]
    assert all("4101030001" in str(i.value) for i in issues)
    assert not Pupil.objects.filter(student_id__in=[new_b, _sid("410102", 950)]).exists()  # nothing written
    assert Pupil.objects.get(pk=existing_b.pk).name == before


def test_the_roster_upload_refuses_the_hostile_file(world, tmp_path):
    """The same file through the upload service a county user's upload runs."""
    from junheng_web.cycles.uploads import import_roster
    from junheng_web.registry.models import Pupil

    new_b = _sid("410103", 951)
    path = _hostile_roster(tmp_path, [(new_b, "4101030001")])
    with pytest.raises(InputError):
        import_roster(path, world.users["bob"])
    assert not Pupil.objects.filter(student_id=new_b).exists()


def test_the_province_and_the_county_itself_may_import(world, tmp_path):
    from junheng_web.registry.models import Pupil
    from junheng_web.registry.services import import_pupils

    path = _hostile_roster(tmp_path, [(_sid("410103", 952), "4101030001")])
    assert import_pupils(path, user=world.users["charlie"]).created == 1  # county B's own school
    path = _hostile_roster(tmp_path, [(_sid("410103", 953), "4101030001"), (_sid("410102", 953), "4101020001")])
    assert import_pupils(path, user=world.users["alice"]).created == 2
    assert Pupil.objects.filter(student_id=_sid("410103", 952)).exists()


def test_a_refusal_does_not_name_the_pupils_school_outside_the_scope(world, tmp_path):
    """Issue 12.9: a 学籍号 registered in another county is refused without naming that school."""
    from junheng_web.registry.services import ImportRejected, import_pupils

    theirs = world.pupils["B"][0].student_id  # registered at 乙小学 (county B)
    path = _hostile_roster(tmp_path, [(theirs, "4101020001")])
    with pytest.raises(ImportRejected) as exc:
        import_pupils(path, user=world.users["bob"])
    text = " ".join(i.message() for i in exc.value.result.issues)
    assert "乙小学" not in text and "4101030001" not in text and "其他学校" in text
    with pytest.raises(ImportRejected) as exc:  # the province may know where the pupil is
        import_pupils(path, user=world.users["alice"])
    assert "乙小学" in " ".join(i.message() for i in exc.value.result.issues)
