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
from junheng.fitness import BONUS_ITEMS, ITEMS, read_fitness_file, read_raw, score_fitness, write_table
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


def _annotate(raw: pl.DataFrame, issues: list[Issue], name: str) -> Path:
    """A copy of the upload with an 错误 column giving every issue of each row (for the uploader)."""
    by_row: dict[int, list[str]] = {}
    general = []
    for i in issues:
        (by_row.setdefault(i.row, []) if i.row is not None else general).append(i.message())
    notes = pl.Series("错误", ["\n".join(by_row.get(int(r), [])) or None for r in raw["__row__"]])
    out = raw.with_columns(notes).rename({"__row__": "行号"})
    folder = Path(settings.MEDIA_ROOT) / "fitness" / "errors"
    path = write_table(out, folder / f"{Path(name).stem}-errors.xlsx")
    return path


def _pupil_ids(student_ids: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for k in range(0, len(student_ids), _CHUNK):
        chunk = student_ids[k:k + _CHUNK]
        found.update(Pupil.objects.filter(student_id__in=chunk).values_list("student_id", "id"))
    return found


def import_fitness(path: str | Path, cycle: Cycle, *, user=None) -> ImportResult:
    """Check, score and store an upload-template file for ``cycle``; re-uploads update in place.

    Raises :class:`InputError` with every issue (and ``annotated_path``) and writes nothing when
    any row is wrong, including a 学籍号 not in the registry.  With ``user``, every row must also be
    a pupil of the user's school or county (``accounts.scoping``, checked inside the write
    transaction); rows outside are reported with their row number and nothing is written.
    """
    path = Path(path)
    try:
        upload = read_fitness_file(path)
    except InputError as exc:
        try:
            raw, _ = read_raw(path)
            exc.annotated_path = _annotate(raw, exc.issues, path.name)
        except InputError:
            pass
        raise
    records = upload.records
    ids = records["student_id"].to_list()
    pupil_of = _pupil_ids(ids)
    unknown = records.filter(~pl.col("student_id").is_in(list(pupil_of)))
    if unknown.height:
        issues = [Issue("学籍号不在本系统名册中", "学籍号 is not in the registry", file=path.name, row=int(r),
                        column="学籍号", value=s) for r, s in unknown.select("__row__", "student_id").iter_rows()]
        exc = InputError(issues, f"{path.name}: {len(issues)} 个学籍号不在名册中，未写入任何数据 / "
                                 f"{len(issues)} pupils not in the registry; nothing was written")
        exc.annotated_path = _annotate(upload.raw, issues, path.name)
        raise exc
    scored = score_fitness(records)
    pks = list(pupil_of.values())  # in chunks: SQLite's default limit is 32,766 parameters per statement
    existing = {p for k in range(0, len(pks), _CHUNK) for p in FitnessRecord.objects.filter(
        cycle=cycle, pupil_id__in=pks[k:k + _CHUNK]).values_list("pupil_id", flat=True)}
    cols = ["student_id", "grade", "sex", "exempt", *MEASURES, "bmi", "bmi_score", "bmi_class", *ITEM_SCORE_KEYS,
            "standard_score", "bonus_score", "total_score", "rating", "complete", "vision_class",
            "vision_left_class", "vision_right_class"]
    flat = scored.select(cols).with_columns(pl.col(pl.Enum).cast(pl.String))
    rows = _record_rows(flat, cycle.pk, pupil_of, path.name[:255])
    with transaction.atomic():
        if user is not None:
            _refuse_outside(user, records, pupil_of, path.name)
        _upsert(rows)
        touch(cycle.pk)  # the cycle's cached dashboards are stale
    updated = sum(1 for pid in pupil_of.values() if pid in existing)
    return ImportResult(path.name, len(rows), len(rows) - updated, updated, upload.warnings)


def _refuse_outside(user, records: pl.DataFrame, pupil_of: dict[str, int], file_name: str) -> None:
    """Raise :class:`InputError` naming every row whose pupil ``user`` may not upload fitness for."""
    pks = sorted(set(pupil_of.values()))
    allowed = {p for k in range(0, len(pks), _CHUNK) for p in restrict(
        Pupil.objects.filter(pk__in=pks[k:k + _CHUNK]), user, "fitness.upload").values_list("id", flat=True)}
    outside = [(int(r), s) for r, s in records.select("__row__", "student_id").iter_rows()
               if pupil_of[s] not in allowed]
    if outside:
        raise InputError([Issue("该学生不属于您的学校或区县", "pupil outside your school or county", file=file_name,
                                row=r, column="学籍号", value=s) for r, s in outside],
                         f"{file_name}: {len(outside)} 名学生不属于您的学校或区县，未写入任何数据 / "
                         f"{len(outside)} pupils outside your school or county; nothing was written")


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
