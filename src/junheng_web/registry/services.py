"""The registry's services: the only module of this app that calls the core.

- :func:`import_schools`, :func:`import_pupils`: a file → validated in the core → checked against
  the database → written all or nothing in one transaction, upserting by natural key in bulk
  SQL (:mod:`junheng_web.registry.importers`). A rejected file raises :class:`ImportRejected`
  (an ``InputError``) carrying every issue and the path of the annotated workbook.
- :func:`ensure_regions`: the packaged Henan divisions into ``Region`` (idempotent).
- :func:`registry_frames`: schools and pupils as Polars frames, one SQL query each.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
from django.conf import settings
from django.db import transaction

from junheng.exceptions import InputError, Issue, ParameterError
from junheng.io import ROW, annotate_workbook, read_table
from junheng.registry import (
    PUPILS,
    SCHOOLS,
    divisions,
    roster_school_codes,
    validate_pupils,
    validate_schools,
)
from junheng_web.accounts.scoping import restrict
from junheng_web.registry import importers
from junheng_web.registry.models import Cycle, Pupil, Region, School, SchoolClass

Progress = Callable[[float, str], None]

SCHOOL_COLUMNS = [c.field for c in SCHOOLS.columns if c.field not in ("school_code", "county_code")]


@dataclass
class ImportResult:
    """What an import did (or, for ``dry_run``, would do)."""

    kind: str
    file: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    classes_created: int = 0
    dry_run: bool = False
    warnings: list[Issue] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    annotated_path: Path | None = None
    student_ids: list[str] = field(default_factory=list, repr=False)

    @property
    def accepted(self) -> bool:
        return not any(i.severity == "error" for i in self.issues)

    def summary(self) -> str:
        head = "试运行，未写入 / dry run, nothing written: " if self.dry_run else ""
        return (f"{head}{self.file}: {self.rows} 行 rows — 新增 created {self.created}, 更新 updated {self.updated}, "
                f"未变 unchanged {self.unchanged}; 警告 warnings {len(self.warnings)}")


class ImportRejected(InputError):
    """A file was rejected: nothing was written. ``result.issues`` has every issue,
    ``annotated_path`` the workbook with the bad cells marked."""

    def __init__(self, result: ImportResult):
        self.result = result
        super().__init__(result.issues, f"{result.file}: 输入有 {sum(i.severity == 'error' for i in result.issues)} 处错误，"
                                        f"未写入任何数据 / rejected with "
                                        f"{sum(i.severity == 'error' for i in result.issues)} error(s), nothing written",
                         annotated_path=result.annotated_path)


def _noop(fraction: float, message: str) -> None:
    return None


# ---------------------------------------------------------------------------------------- regions

def ensure_regions() -> int:
    """Create the packaged Henan divisions (province → cities → counties; 济源 as both) that the
    database lacks; returns how many were created. Idempotent; existing rows are left alone."""
    d = divisions()
    existing = {(c, lv): pk for pk, c, lv in Region.objects.values_list("pk", "code", "level")}
    created = 0
    parent_level = {"city": "province", "county": "city"}
    for level in ("province", "city", "county"):
        new = []
        for code, name, parent in d.filter(pl.col("level") == level).select("code", "name", "parent_code").iter_rows():
            if (code, level) in existing:
                continue
            parent_id = existing.get((parent, parent_level.get(level, ""))) if parent else None
            if level == "county" and parent_id is None:  # 济源: a county whose parent is itself as a city
                parent_id = existing.get((parent, "city"))
            new.append(Region(code=code, level=level, name=name, parent_id=parent_id))
        for r in Region.objects.bulk_create(new):
            existing[(r.code, r.level)] = r.pk
        created += len(new)
    return created


def _school_ids(codes: list[str]) -> dict[str, int]:
    """学校标识码 → id of those of ``codes`` that are registered (``importers.fetch_rows_in``): a
    roster names a county's schools, the province has ~29,000, and a roster import asks once per file."""
    return dict(importers.fetch_rows_in(f"SELECT code, id FROM {School._meta.db_table} WHERE code IN ({{values}})",
                                        codes))


def _county_ids() -> dict[str, int]:
    return dict(Region.objects.filter(level=Region.Level.COUNTY).values_list("code", "pk"))


# ---------------------------------------------------------------------------------------- imports

def _reject(result: ImportResult, source: Path, annotate: Path | None) -> ImportRejected:
    out = Path(annotate) if annotate else Path(settings.JUNHENG_HOME) / "annotated" / (
        f"{source.stem}-{uuid.uuid4().hex[:8]}-errors.xlsx")
    try:
        result.annotated_path = annotate_workbook(source, result.issues, out)
    except InputError:  # the file could not be read at all: nothing to annotate
        result.annotated_path = None
    return ImportRejected(result)


def _read(path: Path, schema, kind: str) -> tuple:
    raw = read_table(path, expected_headers=schema)
    return raw, ImportResult(kind=kind, file=raw.file, rows=raw.frame.height)


def import_schools(path: str | Path, *, user=None, dry_run: bool = False, annotate: str | Path | None = None,
                   progress: Progress | None = None) -> ImportResult:
    """Import a school list (``SCHOOLS`` headers): every rule checked, then all or nothing.

    Upserts by 学校标识码; a second import of the same file creates and updates nothing.
    Raises :class:`ImportRejected` (nothing written) when any row breaks a rule.
    """
    progress = progress or _noop
    path = Path(path)
    raw, result = _read(path, SCHOOLS, "schools")
    result.dry_run = dry_run
    progress(0.1, "校验 validating")
    known = set(divisions().filter(pl.col("level") == "county")["code"].to_list()) | set(_county_ids())
    frame, issues = validate_schools(raw, known_counties=known)
    result.issues, result.warnings = issues, [i for i in issues if i.severity == "warning"]
    if not result.accepted:
        raise _reject(result, path, annotate)
    progress(0.3, "写入 writing")
    with transaction.atomic():
        ensure_regions()
        counties = _county_ids()
        rows = frame.with_columns(
            pl.col("county_code").replace_strict(counties, default=None, return_dtype=pl.Int64).alias("county_id"),
            pl.col("school_code").alias("code"),
        ).select(["code", "county_id", *SCHOOL_COLUMNS])
        importers.stage(School._meta.db_table, rows)
        counts = importers.upsert_staged(School._meta.db_table, ("code",), rows.columns)
        importers.drop_stage()
        result.created, result.updated, result.unchanged = counts.created, counts.updated, counts.unchanged
        if dry_run:
            transaction.set_rollback(True)
    progress(1.0, "完成 done")
    return result


def import_pupils(path: str | Path, *, user=None, school: School | None = None, dry_run: bool = False,
                  annotate: str | Path | None = None, progress: Progress | None = None,
                  school_year: int | None = None, file_name: str | None = None) -> ImportResult:
    """Import a roster (``PUPILS`` headers): every rule checked in the core, then against the
    database (the school must be registered; a 学籍号 registered at another school is an error
    naming that school — only when ``user`` may see it; with ``school``, every row must belong to
    it), then all or nothing.

    With ``user`` (an upload through the platform), every row's school must be inside the user's
    scope for ``roster.upload`` (an issue on the 学校标识码 column).  The scope and the 学籍号
    registered elsewhere are checked in the same pass as the format rules, on the rows as the
    core read them (after the reader's header and 学籍号 normalisation, never on a separate
    reading of the file), so a file's every problem is reported in one round (issue 17.5); both
    are checked again inside the write transaction, on exactly the rows being written (issue
    12.1), against a change made meanwhile.

    Classes are created from 班级编号/班级名称. Upserts by 学籍号; importing the same file again
    creates and updates nothing. Raises :class:`ImportRejected` (nothing written) on any error.
    ``file_name``: the name the person uploaded (the stored copy's name is the platform's own and
    must not appear in messages or in the annotated workbook's comments).
    """
    progress = progress or _noop
    path = Path(path)
    raw, result = _read(path, PUPILS, "pupils")
    if file_name:
        raw.file = result.file = file_name
    result.dry_run = dry_run
    progress(0.05, "校验 validating")
    schools = _school_ids(roster_school_codes(raw))
    frame, issues = validate_pupils(raw, known_schools=set(schools), known_counties=set(_county_ids()),
                                    school_year=school_year)
    if school is not None:
        other = frame.filter(pl.col("school_code").is_not_null() & (pl.col("school_code") != school.code))
        col = next((c for c in raw.columns if c in PUPILS.column("school_code").names()), "学校标识码")
        issues.extend(raw.issue(f"不是本校（{school.name} {school.code}）的学生", f"not a pupil of your school ({school.code})",
                                row=r, column=col, value=v) for r, v in other.select(ROW, "school_code").iter_rows())
    # the database's rules in the same round as the format rules (issue 17.5): rows whose school is
    # known and whose 学籍号 is well formed (a malformed one is already an issue)
    bad_sid = {i.row for i in issues if i.severity == "error" and i.column in PUPILS.column("student_id").names()}
    known_rows = frame.with_columns(
        pl.col("school_code").replace_strict(schools, default=None, return_dtype=pl.Int64).alias("school_id")
    ).filter(pl.col("school_id").is_not_null())
    if user is not None and school is None:
        issues.extend(_outside_issues(raw, known_rows, _schools_outside(user, known_rows["school_id"].unique().to_list())))
    checked = known_rows.filter(pl.col("student_id").is_not_null() & ~pl.col(ROW).is_in(sorted(bad_sid)))
    issues.extend(_moved_issues(raw, checked, _registered_elsewhere(checked), user))
    issues.sort(key=lambda i: (i.row or 0, i.severity != "error"))
    result.issues = issues
    result.warnings = [i for i in issues if i.severity == "warning"]
    if not result.accepted:
        raise _reject(result, path, annotate)
    progress(0.2, "写入 writing")
    with transaction.atomic():
        frame = frame.with_columns(
            pl.col("school_code").replace_strict(schools, default=None, return_dtype=pl.Int64).alias("school_id"))
        # classes first (key: school, grade, 班级编号)
        classes = (frame.filter(pl.col("class_code").is_not_null())
                   .group_by("school_id", "grade", "class_code")
                   .agg(pl.col("class_name").drop_nulls().first())
                   .select("school_id", pl.col("grade").cast(pl.Int64), pl.col("class_code").alias("code"),
                           pl.col("class_name").fill_null("").alias("name")).sort("school_id", "grade", "code"))
        table = SchoolClass._meta.db_table
        if classes.height:
            importers.stage(table, classes)
            result.classes_created = importers.upsert_staged(table, ("school_id", "grade", "code"),
                                                             classes.columns).created
        ids = importers.fetch_frame(
            f"SELECT c.id, c.school_id, c.grade, c.code FROM {table} c "
            f"WHERE c.school_id IN (SELECT DISTINCT school_id FROM {importers.STAGE})",
            schema={"id": pl.Int64, "school_id": pl.Int64, "grade": pl.Int64}) if classes.height else \
            pl.DataFrame(schema={"id": pl.Int64, "school_id": pl.Int64, "grade": pl.Int64, "code": pl.String})
        rows = (frame.with_columns(pl.col("grade").cast(pl.Int64))
                .join(ids.rename({"id": "school_class_id", "code": "class_code"}),
                      on=["school_id", "grade", "class_code"], how="left")
                .select("student_id", "name", pl.col("sex").cast(pl.Int64), "birth_date",
                        pl.col("ethnicity").fill_null(""), "school_id", "grade", "school_class_id")
                .sort("student_id"))  # staged in key order: every later join walks the index in order
        progress(0.4, "暂存 staging")
        table = Pupil._meta.db_table
        importers.stage(table, rows)
        if user is not None:  # again, on the rows being written (a school moved meanwhile)
            outside = _schools_outside(user, rows["school_id"].unique().to_list())
            if outside:
                importers.drop_stage()
                result.issues = result.issues + _outside_issues(raw, frame, outside)
                transaction.set_rollback(True)
                raise _reject(result, path, annotate)
        # a 学籍号 registered at another school meanwhile: say which school (if the user may see it)
        moved = importers.fetch_frame(
            f"SELECT s.student_id, o.id AS school, o.code, o.name FROM {importers.STAGE} s "
            f"JOIN {table} p ON p.student_id = s.student_id JOIN {School._meta.db_table} o ON o.id = p.school_id "
            f"WHERE p.school_id <> s.school_id",
            schema={"student_id": pl.String, "school": pl.Int64, "code": pl.String, "name": pl.String})
        if moved.height:
            importers.drop_stage()
            result.issues = result.issues + _moved_issues(raw, frame, moved, user)
            transaction.set_rollback(True)
        else:
            progress(0.7, "写入 upserting")
            counts = importers.upsert_staged(table, ("student_id",), rows.columns)
            importers.drop_stage()
            result.created, result.updated, result.unchanged = counts.created, counts.updated, counts.unchanged
            result.student_ids = rows["student_id"].to_list()
            if dry_run:
                transaction.set_rollback(True)
    if not result.accepted:
        raise _reject(result, path, annotate)
    progress(1.0, "完成 done")
    return result


def _outside_issues(raw, frame: pl.DataFrame, outside: set[int]) -> list[Issue]:
    """One issue per row of ``frame`` (with ``school_id``) whose school is in ``outside``, on the 学校标识码 column."""
    if not outside:
        return []
    col = next((c for c in raw.columns if c in PUPILS.column("school_code").names()), "学校标识码")
    where = frame.filter(pl.col("school_id").is_in(sorted(outside))).select(ROW, "school_code").sort(ROW)
    return [raw.issue(f"学校 {code} 不在您的管辖范围内，不能导入其学生",
                      f"school {code} is outside your area: its pupils cannot be imported here",
                      row=r, column=col, value=code) for r, code in where.iter_rows()]


def _registered_elsewhere(frame: pl.DataFrame) -> pl.DataFrame:
    """The 学籍号 of ``frame`` (with ``school_id``) registered at another school: student_id, school, code, name."""
    want = dict(zip(frame["student_id"].to_list(), frame["school_id"].to_list()))
    p, s = Pupil._meta.db_table, School._meta.db_table
    rows = importers.fetch_rows_in(f"SELECT p.student_id, p.school_id, o.code, o.name FROM {p} p JOIN {s} o "
                                   "ON o.id = p.school_id WHERE p.student_id IN ({values})", sorted(want))
    out = [(sid, pk, code, name) for sid, pk, code, name in rows if want[sid] != pk]
    return pl.DataFrame(out, schema={"student_id": pl.String, "school": pl.Int64, "code": pl.String, "name": pl.String},
                        orient="row")


def _moved_issues(raw, frame: pl.DataFrame, moved: pl.DataFrame, user) -> list[Issue]:
    """One issue per row of ``frame`` whose 学籍号 is in ``moved`` (registered at another school), on the
    学籍号 column, naming that school when ``user`` may see it."""
    if not moved.height:
        return []
    hidden = _schools_outside(user, moved["school"].unique().to_list(), "view") if user is not None else set()
    where = frame.select(ROW, "student_id").join(moved, on="student_id")
    col = next((c for c in raw.columns if c in PUPILS.column("student_id").names()), "学籍号")
    return [raw.issue("该学籍号已在您的管辖范围以外的其他学校登记", "this 学籍号 is already registered at another "
                      "school outside your area", row=r, column=col, value=s)
            if school_pk in hidden else
            raw.issue(f"该学籍号已在其他学校登记（{name}，{code}）", f"this 学籍号 is already registered at another school ({code} {name})",
                      row=r, column=col, value=s) for r, s, school_pk, code, name in where.sort(ROW).iter_rows()]


def _schools_outside(user, school_ids: list[int], action: str = "roster.upload") -> set[int]:
    """Those of ``school_ids`` that ``user`` may not ``action`` (``accounts.scoping``), in chunks
    (a province's roster names thousands of schools; SQLite takes at most 32,766 parameters)."""
    ids = sorted({int(i) for i in school_ids if i is not None})
    allowed: set[int] = set()
    for k in range(0, len(ids), 5000):
        allowed |= set(restrict(School.objects.filter(pk__in=ids[k:k + 5000]), user, action)
                       .values_list("pk", flat=True))
    return set(ids) - allowed


# ---------------------------------------------------------------------------------------- frames

_INT = pl.Int64


def find_cycle(year: int, grade: int) -> Cycle:
    """The monitoring cycle of ``year`` and ``grade``; a missing one is a ParameterError."""
    cycle = Cycle.objects.filter(year=year, grade=grade).first()
    if cycle is None:
        raise ParameterError(f"平台上没有 {year} 年 {grade} 年级的监测周期 / the platform has no cycle for "
                             f"{year}, grade {grade}")
    return cycle


def has_registry() -> bool:
    """Whether any school is in the registry database."""
    return School.objects.exists()


def registered(student_ids: list[str]) -> bool:
    """Whether every one of these 学籍号 is a pupil of the registry database."""
    ids = set(student_ids)
    return Pupil.objects.filter(student_id__in=ids).count() == len(ids)


def registry_frames() -> tuple[pl.DataFrame, pl.DataFrame]:
    """(schools, pupils) as Polars frames in the contract of ``docs/dev/contracts.md``
    (schools with ``city_code`` joined); one SQL query each."""
    s, r = School._meta.db_table, Region._meta.db_table
    extra = ", ".join(f"s.{c}" for c in SCHOOL_COLUMNS if c not in ("name",))
    schema = {"is_teaching_point": pl.Int64, **{c: _INT for c in SCHOOL_COLUMNS if c.startswith(("enrol", "classes"))},
              **{c: _INT for c in ("teachers_above_qualification", "key_teachers", "pe_arts_teachers",
                                   "multimedia_classrooms")},
              **{c: pl.Float64 for c in ("teaching_area_m2", "sports_area_m2", "equipment_value_yuan")}}
    schools = importers.fetch_frame(
        f"SELECT s.code AS school_code, s.name AS name, c.code AS county_code, {extra}, pc.code AS city_code "
        f"FROM {s} s JOIN {r} c ON c.id = s.county_id LEFT JOIN {r} pc ON pc.id = c.parent_id ORDER BY s.code",
        schema=schema).with_columns(pl.col("is_teaching_point").cast(pl.Boolean))
    p, k = Pupil._meta.db_table, SchoolClass._meta.db_table
    # the date as ISO text parsed by Polars (no per-row date object from the driver) and the sort
    # by 学籍号 in Polars (byte order, as the database's): a million pupils in seconds, not a minute
    pupils = importers.fetch_frame(
        f"SELECT p.student_id, p.name, p.sex, CAST(p.birth_date AS TEXT) AS birth_date, p.ethnicity, "
        f"s.code AS school_code, p.grade, k.code AS class_code, k.name AS class_name FROM {p} p "
        f"JOIN {s} s ON s.id = p.school_id LEFT JOIN {k} k ON k.id = p.school_class_id",
        schema={"sex": pl.Int64, "grade": pl.Int64, "birth_date": pl.String}).sort("student_id")
    pupils = pupils.with_columns(
        pl.col("birth_date").str.to_date("%Y-%m-%d"), pl.col("sex").cast(pl.Int8), pl.col("grade").cast(pl.Int8),
        pl.when(pl.col("ethnicity") == "").then(None).otherwise(pl.col("ethnicity")).alias("ethnicity"),
        pl.when(pl.col("class_name") == "").then(None).otherwise(pl.col("class_name")).alias("class_name"))
    return schools, pupils


__all__ = ["ImportRejected", "ImportResult", "ensure_regions", "find_cycle", "has_registry", "import_pupils", "import_schools",
           "registered", "registry_frames"]
