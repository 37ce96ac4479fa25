"""The upload page's imports: a school's roster and a fitness file, each through its app's import,
checked against the uploader's scope — every row must be a pupil of the uploader's school or
county, otherwise nothing is written and those rows are reported.  The roster's scope is checked
by the registry import itself, on the rows it writes (one reading of the file); questionnaire
responses check it inside ``questionnaires.services.import_responses``."""

from __future__ import annotations

from pathlib import Path

from django.db import transaction

from junheng.exceptions import InputError, Issue
from junheng_web.accounts.scoping import restrict
from junheng_web.fitness.models import FitnessRecord
from junheng_web.fitness.services import import_fitness
from junheng_web.registry.models import Cycle, Pupil
from junheng_web.registry.services import import_pupils


def _refuse(ids: list[str], file_name: str) -> None:
    if ids:
        raise InputError([Issue("该学生不属于您的学校或区县", "pupil outside your school or county", file=file_name,
                                column="学籍号", value=s) for s in ids])


def _summary(rows: int, created: int, updated: int, warnings: list[Issue], unchanged: int | None = None) -> dict:
    """What the job page shows of an import (at most 200 warnings)."""
    out = {"rows": rows, "created": created, "updated": updated}
    if unchanged is not None:
        out["unchanged"] = unchanged
    if warnings:
        out["warnings"] = [w.message() for w in warnings][:200]
    return out


def import_roster(path, user, *, file_name: str, progress=None) -> dict:
    """A school's grade roster → the registry (``registry.services.import_pupils``); all or nothing.

    The scope is the importer's: inside its write transaction, on the very rows it writes (after
    the reader's header and 学籍号 normalisation), every row's school must be inside ``user``'s
    area, and a pupil registered at another school cannot be moved (issue 12.1).  No second
    reading of the file here: a guard that reads a file its own way checks another file."""
    result = import_pupils(path, user=user, school=user.school if user.school_id else None, progress=progress)
    return _summary(result.rows, result.created, result.updated, result.warnings, unchanged=result.unchanged)


def import_fitness_file(path, cycle: Cycle, user, *, file_name: str) -> dict:
    """A fitness upload-template file → scored records of ``cycle`` (fitness.services), then, in
    the same transaction, the check that every saved record is a pupil of the uploader's school
    or county; otherwise everything is rolled back and those rows are reported.

    ``path`` is the stored upload, whose name is unique (so the records it saved are exactly those
    with that ``source_file``, however many schools upload a file of the same name at once)."""
    with transaction.atomic():
        result = import_fitness(path, cycle, user=user)
        saved = FitnessRecord.objects.filter(cycle=cycle, source_file=Path(path).name[:255])
        outside = saved.exclude(pupil__in=restrict(Pupil.objects.all(), user, "fitness.upload").values("id"))
        _refuse(sorted(outside.values_list("pupil__student_id", flat=True)[:1000]), file_name)
    return _summary(result.rows, result.created, result.updated, result.warnings)
