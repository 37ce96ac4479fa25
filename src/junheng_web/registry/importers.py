"""Bulk upsert of a Polars frame into a registry table, by natural key, in set-based SQL.

The rows are first staged in a temporary table shaped like the target (``CREATE TEMP TABLE …
AS SELECT … WITH NO DATA`` / ``WHERE 0``): on PostgreSQL with ``COPY … FROM STDIN``, on SQLite
with one batched ``executemany``. Then three statements do the work whatever the size:
count the new and the unchanged rows (null-safe comparison of every column), and
``INSERT … SELECT … ON CONFLICT (key) DO UPDATE SET … WHERE <something changed>`` — so a row
that did not change is not rewritten. Never one ORM save per row.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass

import polars as pl
from django.db import connection

STAGE = "junheng_import_stage"
BATCH = 50_000


@dataclass(frozen=True)
class UpsertCounts:
    created: int
    updated: int
    unchanged: int


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _same(a: str, b: str) -> str:
    """Null-safe equality in the current database's dialect."""
    if connection.vendor == "postgresql":
        return f"{a} IS NOT DISTINCT FROM {b}"
    return f"{a} IS {b}"


def _differs(a: str, b: str) -> str:
    if connection.vendor == "postgresql":
        return f"{a} IS DISTINCT FROM {b}"
    return f"{a} IS NOT {b}"


def stage(table: str, frame: pl.DataFrame, progress: Callable[[int], None] | None = None) -> None:
    """(Re)create the temporary stage shaped like ``table``'s columns ``frame.columns`` and load ``frame``."""
    cols = ", ".join(_q(c) for c in frame.columns)
    with connection.cursor() as cur:
        cur.execute(f"DROP TABLE IF EXISTS {STAGE}")
        if connection.vendor == "postgresql":
            cur.execute(f"CREATE TEMP TABLE {STAGE} ON COMMIT DROP AS SELECT {cols} FROM {_q(table)} WITH NO DATA")
            for start in range(0, frame.height, BATCH * 4):
                part = frame.slice(start, BATCH * 4)
                buf = io.BytesIO()
                part.write_csv(buf, include_header=False, null_value="\\N", date_format="%Y-%m-%d")
                with cur.cursor.copy(f"COPY {STAGE} ({cols}) FROM STDIN WITH (FORMAT csv, NULL '\\N')") as cp:
                    cp.write(buf.getvalue())
                if progress:
                    progress(part.height)
        else:
            # a large page cache keeps the unique index's B-tree in memory while a million keys go in
            cur.execute("PRAGMA cache_size = -262144")
            cur.execute(f"CREATE TEMP TABLE {STAGE} AS SELECT {cols} FROM {_q(table)} WHERE 0")
            marks = ", ".join(["?"] * frame.width)
            sql = f"INSERT INTO {STAGE} ({cols}) VALUES ({marks})"
            raw = cur.cursor  # the sqlite3 cursor: '?' parameters, no per-row Python wrapper
            text = frame.with_columns(pl.col(c).dt.to_string("%Y-%m-%d")
                                      for c, t in frame.schema.items() if t == pl.Date)
            for start in range(0, text.height, BATCH):
                part = text.slice(start, BATCH)
                raw.executemany(sql, part.iter_rows())
                if progress:
                    progress(part.height)


def drop_stage() -> None:
    with connection.cursor() as cur:
        cur.execute(f"DROP TABLE IF EXISTS {STAGE}")


def upsert_staged(table: str, key: tuple[str, ...], columns: list[str], *, touch: tuple[str, ...] = ()) -> UpsertCounts:
    """Upsert the staged rows into ``table`` by ``key``; returns created / updated / unchanged.

    Columns in ``touch`` (e.g. ``updated_at``) are written with the others but never compared: a
    row whose other columns are unchanged keeps its old ``touch`` values."""
    t = _q(table)
    values = [c for c in columns if c not in key and c not in touch]
    on = " AND ".join(f"p.{_q(k)} = s.{_q(k)}" for k in key)
    same = " AND ".join(_same(f"p.{_q(c)}", f"s.{_q(c)}") for c in values) or "1=1"
    with connection.cursor() as cur:
        cur.execute(f"SELECT COUNT(*) FROM {STAGE}")
        total = cur.fetchone()[0]
        cur.execute(f"SELECT COUNT(*) FROM {STAGE} s WHERE NOT EXISTS (SELECT 1 FROM {t} p WHERE {on})")
        created = cur.fetchone()[0]
        cur.execute(f"SELECT COUNT(*) FROM {STAGE} s JOIN {t} p ON {on} WHERE {same}")
        unchanged = cur.fetchone()[0]
        cols = ", ".join(_q(c) for c in columns)
        if values:
            sets = ", ".join(f"{_q(c)} = excluded.{_q(c)}" for c in (*values, *touch))
            changed = " OR ".join(_differs(f"{t}.{_q(c)}", f"excluded.{_q(c)}") for c in values)
            action = f"DO UPDATE SET {sets} WHERE {changed}"
        else:
            action = "DO NOTHING"
        keys = ", ".join(_q(k) for k in key)
        # in key order: the unique index is filled sequentially, not page by random page
        cur.execute(f"INSERT INTO {t} ({cols}) SELECT {cols} FROM {STAGE} WHERE 1=1 ORDER BY {keys} "
                    f"ON CONFLICT ({keys}) {action}")
    return UpsertCounts(created=created, updated=total - created - unchanged, unchanged=unchanged)


def fetch_rows(sql: str, params: list | tuple = ()) -> list[tuple]:
    """One query through the connection's cursor → its rows as tuples (no ORM objects)."""
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


def fetch_rows_in(sql: str, values: list, chunk: int = 5000) -> list[tuple]:
    """:func:`fetch_rows` of ``sql`` whose ``{values}`` is a list of placeholders, for every one of
    ``values`` — in chunks of ``chunk`` (SQLite takes at most 32,766 parameters a statement), plain
    SQL (the ORM's ``__in`` prepares each value in Python: a roster's ten thousand cost most of its
    import); the rows of every chunk together."""
    rows: list[tuple] = []
    for k in range(0, len(values), chunk):
        part = values[k:k + chunk]
        rows += fetch_rows(sql.format(values=", ".join(["%s"] * len(part))), part)
    return rows


def fetch_pairs(sql: str, params: list | tuple = ()) -> dict:
    """One two-column query → ``{first: second}`` (e.g. a code → id lookup), no frame built."""
    return dict(fetch_rows(sql, params))


def fetch_frame(sql: str, params: list | tuple = (), schema: dict | None = None) -> pl.DataFrame:
    """One query through the connection's cursor → a Polars frame (no ORM objects)."""
    with connection.cursor() as cur:
        cur.execute(sql, params)
        names = [d[0] for d in cur.description]
        rows = cur.fetchall()
    if schema is None:
        return pl.DataFrame(rows, schema=names, orient="row")
    return pl.DataFrame(rows, schema={n: schema.get(n, pl.String) for n in names}, orient="row", strict=False)
