"""The registry roster import's per-file lookups as they were before the many-small-files
speed-up (issue 14), kept for ``benchmarks/import.py``'s in-run baseline: the school lookup
built a Polars frame of every registered school for each file, and the 学籍号-registered-elsewhere
check went through the ORM's ``student_id__in`` (every value prepared in Python)."""

from __future__ import annotations

import polars as pl


def school_ids(codes: list[str] | None = None) -> dict[str, int]:
    """Every registered school (``codes`` ignored: the current path looks up only those)."""
    from junheng_web.registry import importers
    from junheng_web.registry.models import School

    known = importers.fetch_frame(f"SELECT code, id FROM {School._meta.db_table}", schema={"id": pl.Int64})
    return dict(zip(known["code"].to_list(), known["id"].to_list()))


def registered_elsewhere(frame: pl.DataFrame) -> pl.DataFrame:
    from junheng_web.registry.models import Pupil

    want = dict(zip(frame["student_id"].to_list(), frame["school_id"].to_list()))
    ids, out = sorted(want), []
    for k in range(0, len(ids), 5000):
        out += [(sid, pk, code, name) for sid, pk, code, name in Pupil.objects.filter(student_id__in=ids[k:k + 5000])
                .values_list("student_id", "school_id", "school__code", "school__name") if want[sid] != pk]
    return pl.DataFrame(out, schema={"student_id": pl.String, "school": pl.Int64, "code": pl.String, "name": pl.String},
                        orient="row")
