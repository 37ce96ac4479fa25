"""The only module of this app that calls the core (junheng.fitness).

* :func:`import_fitness` — an upload-template file → checked, scored, stored for a cycle; all or
  nothing; on any error nothing is written, every issue is raised, and an annotated copy of the
  file (one 错误 column per row) is written for the uploader.
* :func:`fitness_frame` — the stored records of a cycle (optionally one region) as a Polars frame
  in the contract's canonical fields, for dashboards and reports.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
from django.conf import settings
from django.db import transaction
from django.db.models import TextField
from django.db.models.functions import Cast

from junheng.exceptions import InputError, Issue
from junheng.fitness import (
    BONUS_ITEMS,
    ITEMS,
    check_upload,
    read_raw,
    score_fitness,
    student_id_rows,
    write_table,
)
from junheng_web.accounts.scoping import restrict
from junheng_web.fitness.models import FitnessRecord
from junheng_web.registry.freshness import touch
from junheng_web.registry.models import Cycle, Pupil
from junheng_web.registry.regions import in_region

MEASURES = ("height_cm", "weight_kg", *(i.field for i in ITEMS), "vision_left", "vision_right")
ITEM_SCORE_KEYS = (*(i.score_field for i in ITEMS), *(f"{f}_bonus" for f in BONUS_ITEMS))
_CHUNK = 5000
FRAME_SCHEMA: dict[str, pl.DataType] = {
    "student_id": pl.String, "school_code": pl.String, "county_code": pl.String, "city_code": pl.String,
    "location": pl.String, "grade": pl.Int8, "sex": pl.Int8, "exempt": pl.Boolean,
    **{m: pl.Float64 for m in ("height_cm", "weight_kg", "run_50m", "sit_and_reach", "vision_left", "vision_right")},
    **{i.field: pl.Int32 for i in ITEMS if i.field not in ("run_50m", "sit_and_reach")},
    "bmi": pl.Float64, "bmi_score": pl.Int8, "bmi_class": pl.String, "item_scores": pl.String,
    "standard_score": pl.Float64, "bonus_score": pl.Int8, "total_score": pl.Float64, "rating": pl.String,
    "complete": pl.Boolean, "vision_class": pl.String, "vision_left_class": pl.String, "vision_right_class": pl.String,
}


@dataclass
class ImportResult:
    file: str
    rows: int
    created: int
    updated: int
    warnings: list[Issue] = field(default_factory=list)


def _annotate(raw: pl.DataFrame, issues: list[Issue], name: str, stem: str | None = None) -> Path:
    """A copy of the upload with an 错误 column giving every issue of each row (for the uploader);
    stored under ``stem`` (the stored upload's own name, unique) when given."""
    by_row: dict[int, list[str]] = {}
    general = []
    for i in issues:
        (by_row.setdefault(i.row, []) if i.row is not None else general).append(i.message())
    notes = pl.Series("错误", ["\n".join(by_row.get(int(r), [])) or None for r in raw["__row__"]])
    out = raw.with_columns(notes).rename({"__row__": "行号"})
    folder = Path(settings.MEDIA_ROOT) / "fitness" / "errors"
    path = write_table(out, folder / f"{stem or Path(name).stem}-errors.xlsx", sheet="体测数据")
    return path


def _pupil_ids(student_ids: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for k in range(0, len(student_ids), _CHUNK):
        chunk = student_ids[k:k + _CHUNK]
        found.update(Pupil.objects.filter(student_id__in=chunk).values_list("student_id", "id"))
    return found


def import_fitness(path: str | Path, cycle: Cycle, *, user=None, file_name: str | None = None) -> ImportResult:
    """Check, score and store an upload-template file for ``cycle``; re-uploads update in place.

    Raises :class:`InputError` with every issue (and ``annotated_path``) and writes nothing when
    any row is wrong.  Every problem of the file comes in one round (issue 17.5): the template's
    format rules, a 学籍号 not in the registry and — with ``user`` — a pupil outside the user's
    school or county (``accounts.scoping``), each with its row on the 学籍号 column.  The scope is
    checked again inside the write transaction (a pupil moved meanwhile).  ``file_name``: the name
    the person uploaded, used in every message and in the annotated copy (never the stored name).
    """
    path = Path(path)
    name = file_name or path.name
    raw, sheet = read_raw(path)
    upload, issues = check_upload(raw, name, sheet)
    ids = student_id_rows(raw)
    pupil_of = _pupil_ids(ids["student_id"].unique().to_list())
    unknown = ids.filter(~pl.col("student_id").is_in(list(pupil_of)))
    issues = list(issues) + [
        Issue("学籍号不在本系统名册中（请先上传名册）", "学籍号 is not in the registry (upload the roster first)",
              file=name, sheet=sheet, row=int(r), column="学籍号", value=s)
        for r, s in unknown.select("__row__", "student_id").iter_rows()]
    if user is not None:
        issues += _outside(user, ids.filter(pl.col("student_id").is_in(list(pupil_of))), pupil_of, name, sheet)
    n = sum(i.severity == "error" for i in issues)
    if n:
        issues.sort(key=lambda i: (i.row or 0, i.severity != "error"))
        exc = InputError(issues, f"{name}: 体测数据有 {n} 处错误，未写入任何数据 / {name}: the fitness file "
                                 f"has {n} error(s); nothing was written")
        exc.annotated_path = _annotate(raw, issues, name, path.stem)
        raise exc
    assert upload is not None
    records = upload.records
    scored = score_fitness(records)
    pks = list(pupil_of.values())  # in chunks: SQLite's default limit is 32,766 parameters per statement
    existing = {p for k in range(0, len(pks), _CHUNK) for p in FitnessRecord.objects.filter(
        cycle=cycle, pupil_id__in=pks[k:k + _CHUNK]).values_list("pupil_id", flat=True)}
    cols = ["student_id", "grade", "sex", "exempt", *MEASURES, "bmi", "bmi_score", "bmi_class", *ITEM_SCORE_KEYS,
            "standard_score", "bonus_score", "total_score", "rating", "complete", "vision_class",
            "vision_left_class", "vision_right_class"]
    flat = scored.select(cols).with_columns(pl.col(pl.Enum).cast(pl.String))
    rows = _record_rows(flat, cycle.pk, pupil_of, name[:255])
    with transaction.atomic():
        if user is not None:
            moved = _outside(user, records.select("__row__", "student_id"), pupil_of, name, sheet)
            if moved:
                raise InputError(moved, f"{name}: {len(moved)} 名学生不属于您的学校或区县，未写入任何数据 / "
                                        f"{len(moved)} pupils outside your school or county; nothing was written")
        _upsert(rows)
        touch(cycle.pk)  # the cycle's cached dashboards are stale
    updated = sum(1 for pid in pupil_of.values() if pid in existing)
    return ImportResult(name, len(rows), len(rows) - updated, updated, upload.warnings)


def _outside(user, ids: pl.DataFrame, pupil_of: dict[str, int], file_name: str, sheet: str | None) -> list[Issue]:
    """An issue for every row of ``ids`` (``__row__``, ``student_id`` of registered pupils) whose pupil
    ``user`` may not upload fitness results for."""
    pks = sorted({pupil_of[s] for s in ids["student_id"].to_list()})
    allowed = {p for k in range(0, len(pks), _CHUNK) for p in restrict(
        Pupil.objects.filter(pk__in=pks[k:k + _CHUNK]), user, "fitness.upload").values_list("id", flat=True)}
    return [Issue("该学生不属于您的学校或区县", "pupil outside your school or county", file=file_name, sheet=sheet,
                  row=int(r), column="学籍号", value=s)
            for r, s in ids.select("__row__", "student_id").iter_rows() if pupil_of[s] not in allowed]


_TEXT = ("bmi_class", "rating", "vision_class", "vision_left_class", "vision_right_class")


def _columns() -> list[str]:
    """The table's columns without ``id``, ``updated_at`` last (rows append the time)."""
    cols = [f.column for f in FitnessRecord._meta.concrete_fields if f.name not in ("id", "updated_at")]
    return [*cols, "updated_at"]


def _record_rows(flat: pl.DataFrame, cycle_id: int, pupil_of: dict[str, int], source: str) -> list[tuple]:
    """The scored frame as parameter tuples in the table's column order (no model instances)."""
    from django.utils import timezone

    now = timezone.now()
    frame = flat.with_columns(
        pl.lit(cycle_id).alias("cycle_id"),
        pl.col("student_id").replace_strict(pupil_of, return_dtype=pl.Int64).alias("pupil_id"),
        pl.struct(ITEM_SCORE_KEYS).struct.json_encode().alias("item_scores"),
        *(pl.col(c).fill_null("") for c in _TEXT),
        pl.lit(source).alias("source_file"),
    )
    return [(*r, now) for r in frame.select([c for c in _columns() if c != "updated_at"]).iter_rows()]


def _upsert(rows: list[tuple]) -> None:
    """INSERT … ON CONFLICT (cycle, pupil) DO UPDATE — the same statement on SQLite and PostgreSQL."""
    from django.db import connection

    cols = _columns()
    quoted = [connection.ops.quote_name(c) for c in cols]
    keep = {"cycle_id", "pupil_id"}
    sql = (f"INSERT INTO {connection.ops.quote_name(FitnessRecord._meta.db_table)} ({', '.join(quoted)}) "
           f"VALUES ({', '.join(['%s'] * len(cols))}) ON CONFLICT (cycle_id, pupil_id) DO UPDATE SET "
           + ", ".join(f"{q} = excluded.{q}" for c, q in zip(cols, quoted) if c not in keep))
    with connection.cursor() as cur:
        for k in range(0, len(rows), 5000):
            cur.executemany(sql, rows[k:k + 5000])


def fitness_frame(cycle: Cycle, region=None) -> pl.DataFrame:
    """The stored records of ``cycle`` in canonical fields (+ ``school_code``, ``county_code``, ``city_code``).

    ``region`` (a registry Region or its code) limits the frame to one county or city.
    """
    qs = FitnessRecord.objects.filter(cycle=cycle)
    qs = in_region(qs, region, "pupil__school")
    # item scores come out as the stored JSON text and are decoded by Polars in one pass
    qs = qs.annotate(item_scores_text=Cast("item_scores", TextField()))
    fields = ["pupil__student_id", "pupil__school__code", "pupil__school__county__code",
              "pupil__school__county__parent__code", "pupil__school__location", "grade", "sex", "exempt", *MEASURES,
              "bmi", "bmi_score", "bmi_class", "item_scores_text", "standard_score", "bonus_score", "total_score",
              "rating", "complete", "vision_class", "vision_left_class", "vision_right_class"]
    rows = list(qs.values_list(*fields))
    names = ["student_id", "school_code", "county_code", "city_code", "location", *fields[5:]]
    names[names.index("item_scores_text")] = "item_scores"
    df = pl.DataFrame(rows, schema={n: FRAME_SCHEMA[n] for n in names}, orient="row")
    scores = (df["item_scores"].fill_null("{}")
              .str.json_decode(pl.Struct({k: pl.Int8 for k in ITEM_SCORE_KEYS})).struct.unnest())
    df = pl.concat([df.drop("item_scores"), scores], how="horizontal")
    blank_to_null = [pl.when(pl.col(c) == "").then(None).otherwise(pl.col(c)).alias(c)
                     for c in ("bmi_class", "rating", "vision_class", "vision_left_class", "vision_right_class")]
    return df.with_columns(blank_to_null).with_columns(pl.col("grade").cast(pl.Int8), pl.col("sex").cast(pl.Int8))


def demo_cycle(ctx) -> Cycle:
    """The demo's cycle (grade 6 of the demo year), created when the sampling stage has not made one."""
    year = int(ctx.state.get("year", 2022))
    cycle, _ = Cycle.objects.get_or_create(year=year, grade=6, defaults={
        "subjects": ["语文", "数学", "英语", "科学"], "name": f"{year} 年六年级监测"})
    return cycle


__all__ = ["ImportResult", "demo_cycle", "fitness_frame", "import_fitness"]
