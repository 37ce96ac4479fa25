"""The upload page's imports: a school's roster and a fitness file, each through its app's import,
checked against the uploader's scope — every row must be a pupil of the uploader's school or
county, otherwise nothing is written and those rows are reported — in the same round as every
format error (issue 17.5).  ``file_name`` is the name the person uploaded: messages and the
annotated workbook's comments name it, never the stored copy's name.  The roster's scope is checked
by the registry import itself, on the rows it writes (one reading of the file); questionnaire
responses check it inside ``questionnaires.services.import_responses``."""

from __future__ import annotations

import tempfile
from pathlib import Path

import polars as pl

import junheng.questionnaire as questionnaire_core  # (its template() shares the module's name)
from junheng.exceptions import Issue
from junheng.fitness import template_headers
from junheng.io import table_bytes
from junheng.registry import PUPILS
from junheng_web.fitness.services import import_fitness
from junheng_web.questionnaires.services import core_questionnaire
from junheng_web.registry.freshness import touch
from junheng_web.registry.models import Cycle
from junheng_web.registry.services import import_pupils


def _summary(rows: int, created: int, updated: int, warnings: list[Issue], unchanged: int | None = None) -> dict:
    """What the job page shows of an import (at most 200 warnings)."""
    out = {"rows": rows, "created": created, "updated": updated}
    if unchanged is not None:
        out["unchanged"] = unchanged
    if warnings:
        out["warnings"] = [w.message() for w in warnings][:200]
    return out


def import_roster(path, user, *, file_name: str | None = None, progress=None) -> dict:
    """A school's grade roster → the registry (``registry.services.import_pupils``); all or nothing.

    The scope is the importer's: inside its write transaction, on the very rows it writes (after
    the reader's header and 学籍号 normalisation), every row's school must be inside ``user``'s
    area, and a pupil registered at another school cannot be moved (issue 12.1).  No second
    reading of the file here: a guard that reads a file its own way checks another file."""
    result = import_pupils(path, user=user, school=user.school if user.school_id else None, progress=progress,
                           file_name=file_name)
    if result.created or result.updated:  # every cycle's progress counts rosters: their cached counts are stale
        for cycle_id in Cycle.objects.values_list("id", flat=True):
            touch(cycle_id)
    return _summary(result.rows, result.created, result.updated, result.warnings, unchanged=result.unchanged)


def import_fitness_file(path, cycle: Cycle, user, *, file_name: str | None = None) -> dict:
    """A fitness upload-template file → scored records of ``cycle`` (``fitness.services``, which
    checks inside its write transaction that every row is a pupil of the uploader's school or
    county, and otherwise writes nothing and reports those rows with their row numbers)."""
    result = import_fitness(path, cycle, user=user, file_name=file_name)
    return _summary(result.rows, result.created, result.updated, result.warnings)


def template_file(kind: str, cycle: Cycle, questionnaire=None) -> tuple[bytes, str]:
    """The empty upload template of ``kind`` (workbook bytes, download name): the roster's headers
    (``registry.PUPILS``), the national fitness template's headers for the cycle's grade, or a
    questionnaire's entry workbook (codes, validation lists; ``junheng.questionnaire.template``)."""
    if kind == "questionnaire":
        with tempfile.TemporaryDirectory(prefix="junheng-template-") as folder:
            path = questionnaire_core.template(core_questionnaire(questionnaire), Path(folder) / "t.xlsx")
            return path.read_bytes(), f"{questionnaire.code} 问卷作答录入表.xlsx"
    if kind == "roster":
        headers, sheet, name = PUPILS.headers, "名册", f"{cycle.year} 学生名册模板.xlsx"
    else:
        headers, sheet, name = template_headers(cycle.grade), "体测", f"{cycle.year} 体质健康上报模板.xlsx"
    frame = pl.DataFrame(schema={h: pl.String for h in headers})
    return table_bytes(frame, "xlsx", sheet=sheet), name
