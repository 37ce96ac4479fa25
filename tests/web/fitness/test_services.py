"""import_fitness / fitness_frame: all or nothing, every row error, upsert on re-upload."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from junheng.exceptions import InputError
from junheng.fitness import national_upload, write_table
from junheng.registry.codes import check_char
from junheng.synth.fitness import fitness_results

pytestmark = pytest.mark.django_db


def _sid(k: int) -> str:
    body = f"41010220130101{k:03d}"
    return "G" + body + check_char(body)


@pytest.fixture
def world():
    from junheng_web.registry.models import Cycle, Pupil, Region, School

    city = Region.objects.create(code="410100", level="city", name="郑州市")
    county = Region.objects.create(code="410102", level="county", name="中原区", parent=city)
    school = School.objects.create(code="2141000001", name="测试小学", county=county, stage="小学", location="城区")
    pupils = [Pupil.objects.create(student_id=_sid(k), name=f"学生{k}", sex=1 + k % 2, birth_date=dt.date(2013, 1, 1),
                                   school=school, grade=6) for k in range(40)]
    cycle = Cycle.objects.create(year=2022, grade=6)
    return cycle, pupils


def _upload(tmp_path: Path, pupils, seed=1) -> Path:
    roster = pl.DataFrame({"student_id": [p.student_id for p in pupils], "name": [p.name for p in pupils],
                           "sex": [p.sex for p in pupils], "grade": [6] * len(pupils)})
    path = tmp_path / "upload.csv"
    write_table(national_upload(fitness_results(roster, seed), mask=False), path)
    return path


def test_it_imports_scores_and_upserts(world, tmp_path):
    from junheng_web.fitness.models import FitnessRecord
    from junheng_web.fitness.services import fitness_frame, import_fitness

    cycle, pupils = world
    path = _upload(tmp_path, pupils)
    first = import_fitness(path, cycle)
    assert (first.created, first.updated) == (40, 0)
    again = import_fitness(path, cycle)
    assert (again.created, again.updated) == (0, 40)
    assert FitnessRecord.objects.count() == 40
    frame = fitness_frame(cycle)
    assert frame.height == 40
    assert {"student_id", "county_code", "total_score", "rating", "run_50m_score", "vision_class"} <= set(frame.columns)
    assert frame["run_50m_score"].null_count() < 40 and frame["rope_skipping_bonus"].null_count() < 40
    record = FitnessRecord.objects.filter(complete=True).first()
    assert isinstance(record.item_scores, dict) and record.item_scores["vital_capacity_score"] >= 0
    assert fitness_frame(cycle, region="410102").height == 40
    assert fitness_frame(cycle, region="410100").height == 40
    assert fitness_frame(cycle, region="419999").height == 0


def test_it_writes_nothing_when_a_row_is_bad(world, tmp_path):
    from junheng_web.fitness.models import FitnessRecord
    from junheng_web.fitness.services import import_fitness

    cycle, pupils = world
    path = _upload(tmp_path, pupils)
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    header = lines[0].split(",")
    cells = lines[5].split(",")
    cells[header.index("性别")] = "男"
    lines[5] = ",".join(cells)
    path.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(InputError) as err:
        import_fitness(path, cycle)
    assert [(i.row, i.column) for i in err.value.errors] == [(6, "性别")]
    assert Path(err.value.annotated_path).exists()
    assert FitnessRecord.objects.count() == 0


def test_it_rejects_pupils_not_in_the_registry(world, tmp_path):
    from junheng_web.fitness.models import FitnessRecord
    from junheng_web.fitness.services import import_fitness

    cycle, pupils = world
    path = _upload(tmp_path, pupils)
    text = path.read_text(encoding="utf-8-sig").replace(pupils[3].student_id, _sid(999))
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match="not in the registry"):
        import_fitness(path, cycle)
    assert FitnessRecord.objects.count() == 0


def test_the_frame_of_an_empty_cycle_is_typed(world):
    from junheng.fitness import summarize
    from junheng_web.fitness.services import fitness_frame

    cycle, _ = world
    frame = fitness_frame(cycle)
    assert frame.height == 0 and frame.schema["run_50m"] == pl.Float64 and frame.schema["rating"] == pl.String
    assert summarize(frame, ()).height == 1
