"""The roster upload's scope, through the real importer: one reading of the file — the registry
import checks the uploader's scope on the very rows it writes, inside the write transaction
(issue 12.1) — so a school cannot move another school's pupil or write rows of another school,
a county writes only its own schools, and nothing is written when any row is outside."""

from __future__ import annotations

import polars as pl
import pytest

from junheng.exceptions import InputError
from junheng.registry.codes import check_char
from junheng.registry.schemas import PUPILS

pytestmark = pytest.mark.django_db


def _roster(tmp_path, rows):
    path = tmp_path / "名册.csv"
    pl.DataFrame([{h: "" for h in PUPILS.headers} | r for r in rows]).select(PUPILS.headers).write_csv(path)
    return path


def _row(sid, school):
    return {"学籍号": sid, "姓名": "某", "性别": "1", "出生日期": "2011-01-01", "学校标识码": school, "年级": "6"}


def _new_sid(k, county="410102"):
    body = f"{county}20110301{k:03d}"
    return "G" + body + check_char(body)


def test_it_imports_the_schools_own_rows(world, tmp_path):
    from junheng_web.cycles.uploads import import_roster
    from junheng_web.registry.models import Pupil

    path = _roster(tmp_path, [_row(_new_sid(900), "4101020001")])
    assert import_roster(path, world.users["dave"])["created"] == 1
    assert Pupil.objects.get(student_id=_new_sid(900)).school.code == "4101020001"


def test_it_refuses_to_move_another_schools_pupil(world, tmp_path):
    from junheng_web.cycles.uploads import import_roster
    from junheng_web.registry.models import Pupil

    theirs = world.pupils["B"][0].student_id
    path = _roster(tmp_path, [_row(_new_sid(901), "4101020001"), _row(theirs, "4101020001")])
    with pytest.raises(InputError) as exc:
        import_roster(path, world.users["dave"])
    assert [i.value for i in exc.value.issues if i.severity == "error"] == [theirs]
    assert "乙小学" not in " ".join(i.message() for i in exc.value.issues)  # another county's school: not named
    assert Pupil.objects.get(student_id=theirs).school.code == "4101030001"
    assert not Pupil.objects.filter(student_id=_new_sid(901)).exists()  # nothing written


def test_a_school_cannot_write_rows_of_another_school(world, tmp_path):
    from junheng_web.cycles.uploads import import_roster
    from junheng_web.registry.models import Pupil

    path = _roster(tmp_path, [_row(_new_sid(902), "4101020001"), _row(_new_sid(903), "4101020002")])
    with pytest.raises(InputError) as exc:
        import_roster(path, world.users["dave"])
    assert {i.row for i in exc.value.issues if i.severity == "error"} == {3}
    assert not Pupil.objects.filter(student_id__in=[_new_sid(902), _new_sid(903)]).exists()


def test_it_lets_a_county_upload_for_its_schools_only(world, tmp_path):
    from junheng_web.cycles.uploads import import_roster
    from junheng_web.registry.models import Pupil

    path = _roster(tmp_path, [_row(_new_sid(904), "4101020001"), _row(_new_sid(905), "4101020002")])
    assert import_roster(path, world.users["bob"])["rows"] == 2
    path = _roster(tmp_path, [_row(_new_sid(906), "4101020001"), _row(_new_sid(906, "410103"), "4101030001")])
    with pytest.raises(InputError):
        import_roster(path, world.users["bob"])
    assert not Pupil.objects.filter(student_id__in=[_new_sid(906), _new_sid(906, "410103")]).exists()


@pytest.fixture
def sqlite_default_limit():
    """SQLite's upstream default of 32,766 parameters per statement (Debian builds allow 250,000;
    PostgreSQL's protocol allows 65,535)."""
    import sqlite3

    from django.db import connection

    if connection.vendor != "sqlite":
        yield
        return
    connection.ensure_connection()
    before = connection.connection.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 32766)
    yield
    connection.connection.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, before)


def test_a_roster_larger_than_the_parameter_limit_imports(world, tmp_path, sqlite_default_limit):
    """Issue 12.9: 40,000 rows, more than one statement may carry parameters — a province-sized
    roster (200,000 rows) must not end in "too many SQL variables"."""
    from junheng_web.cycles.uploads import import_roster

    n = 40_000
    bodies = [f"41010220110{k:06d}" for k in range(n)]
    frame = pl.DataFrame({"学籍号": ["G" + b + check_char(b) for b in bodies], "姓名": ["某"] * n, "性别": ["1"] * n,
                          "出生日期": ["2011-01-01"] * n, "学校标识码": ["4101020001"] * n, "年级": ["6"] * n})
    path = tmp_path / "大名册.csv"
    frame.with_columns(pl.lit("").alias(h) for h in PUPILS.headers if h not in frame.columns).select(PUPILS.headers
                                                                                                   ).write_csv(path)
    out = import_roster(path, world.users["bob"])
    assert out["rows"] == n and out["created"] == n
