"""The roster upload's scope guard around the registry import (a stand-in importer here: the
guard, not the import, is under test): a school cannot move another school's pupil, and rows
saved outside the uploader's scope are rolled back."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from junheng.exceptions import InputError
from junheng.registry.codes import check_char
from junheng.registry.schemas import PUPILS

pytestmark = pytest.mark.django_db


@pytest.fixture
def fake_registry(monkeypatch):
    """``import_pupils`` that upserts every row as written (no checks): the worst importer."""
    from junheng_web.registry.models import Pupil, School
    from junheng_web.registry.services import ImportResult

    def import_pupils(path, *, user=None, school=None, progress=None):
        frame = pl.read_csv(path, infer_schema=False)
        for r in frame.iter_rows(named=True):
            Pupil.objects.update_or_create(student_id=r["学籍号"], defaults={
                "name": r["姓名"], "sex": int(r["性别"]), "birth_date": dt.date.fromisoformat(r["出生日期"]),
                "school": School.objects.get(code=r["学校标识码"]), "grade": int(r["年级"])})
        return ImportResult("pupils", path.name, rows=frame.height, created=frame.height)

    monkeypatch.setattr("junheng_web.cycles.uploads.import_pupils", import_pupils)


def _roster(tmp_path, rows):
    path = tmp_path / "名册.csv"
    pl.DataFrame([{h: "" for h in PUPILS.headers} | r for r in rows]).select(PUPILS.headers).write_csv(path)
    return path


def _row(sid, school):
    return {"学籍号": sid, "姓名": "某", "性别": "1", "出生日期": "2011-01-01", "学校标识码": school, "年级": "6"}


def _new_sid(k):
    body = f"41010220110301{k:03d}"
    return "G" + body + check_char(body)


def test_it_imports_the_schools_own_rows(fake_registry, world, tmp_path):
    from junheng_web.cycles.uploads import import_roster
    from junheng_web.registry.models import Pupil

    path = _roster(tmp_path, [_row(_new_sid(900), "4101020001")])
    assert import_roster(path, world.users["dave"], file_name="名册.csv")["created"] == 1
    assert Pupil.objects.get(student_id=_new_sid(900)).school.code == "4101020001"


def test_it_refuses_to_move_another_schools_pupil(fake_registry, world, tmp_path):
    from junheng_web.cycles.uploads import import_roster
    from junheng_web.registry.models import Pupil

    theirs = world.pupils["B"][0].student_id
    path = _roster(tmp_path, [_row(_new_sid(901), "4101020001"), _row(theirs, "4101020001")])
    with pytest.raises(InputError) as exc:
        import_roster(path, world.users["dave"], file_name="名册.csv")
    assert [i.value for i in exc.value.issues] == [theirs]
    assert Pupil.objects.get(student_id=theirs).school.code == "4101030001"
    assert not Pupil.objects.filter(student_id=_new_sid(901)).exists()  # nothing written


def test_it_rolls_back_rows_saved_to_another_school(fake_registry, world, tmp_path):
    from junheng_web.cycles.uploads import import_roster
    from junheng_web.registry.models import Pupil

    path = _roster(tmp_path, [_row(_new_sid(902), "4101020001"), _row(_new_sid(903), "4101030001")])
    with pytest.raises(InputError) as exc:
        import_roster(path, world.users["dave"], file_name="名册.csv")
    assert [i.value for i in exc.value.issues] == [_new_sid(903)]
    assert not Pupil.objects.filter(student_id__in=[_new_sid(902), _new_sid(903)]).exists()


def test_it_lets_a_county_upload_for_its_schools(fake_registry, world, tmp_path):
    from junheng_web.cycles.uploads import import_roster

    path = _roster(tmp_path, [_row(_new_sid(904), "4101020001"), _row(_new_sid(905), "4101020002")])
    assert import_roster(path, world.users["bob"], file_name="名册.csv")["rows"] == 2
