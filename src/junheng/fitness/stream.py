"""Census-scale scoring and aggregation, batch by batch: read → score → partial sums → merge.

:func:`summarize_parquet` reads a Parquet file of canonical records in record batches, scores
each batch with the same kernel as :func:`~junheng.fitness.score_fitness`, turns it into
mergeable group sums (:func:`~junheng.fitness.aggregate.partial_sums`) and adds them up. Each
batch fits in cache and batches run on a thread pool, so a year of national data streams
through one machine; on a cluster the same :func:`batch_partials` runs per partition
(Spark ``mapInArrow``) and the partials are summed by key.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from junheng.exceptions import ParameterError
from junheng.fitness.aggregate import finish, partial_sums
from junheng.fitness.items import HEIGHT, ITEMS, WEIGHT, Item
from junheng.fitness.kernel import score_arrays
from junheng.fitness.quantize import MISSING, float_to_units, units_expr
from junheng.fitness.vision import pupil_vision_class
from junheng.io import open_parquet

_VISION = Item("vision", "视力", "vision", "", 10, "higher_better", 0, 5.3)


def _units(col: pa.ChunkedArray | pa.Array, item: Item) -> np.ndarray:
    t = col.type
    if pa.types.is_floating(t):
        return float_to_units(col.to_numpy(zero_copy_only=False), item.scale)
    if pa.types.is_integer(t):
        q = _int_with_missing(col)
        if item.scale != 1:
            q = np.where(q == MISSING, MISSING, q * item.scale).astype(np.int32)
        return q
    s = pl.from_arrow(col).alias("x")  # text and anything else: the exact parser
    return s.to_frame().select(units_expr("x", s.dtype, item.scale, time=item.time_format)
                               .fill_null(MISSING)).to_series().to_numpy()


def _int_with_missing(col: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """An Arrow integer column as Int32 with :data:`MISSING` for nulls, straight from its buffers."""
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    if col.null_count:  # pyarrow would convert a nullable int column to floats; read the buffers instead
        bitmap = np.frombuffer(col.buffers()[0], dtype=np.uint8)
        valid = np.unpackbits(bitmap, bitorder="little", count=col.offset + len(col))[col.offset:].astype(bool)
        data = np.frombuffer(col.buffers()[1], dtype=col.type.to_pandas_dtype())[col.offset:col.offset + len(col)]
        return np.where(valid, data, MISSING).astype(np.int32)
    return col.to_numpy(zero_copy_only=False).astype(np.int32)


def _group_ids(batch: pa.RecordBatch, by: Sequence[str]) -> tuple[np.ndarray, list[tuple]]:
    """Dense group ids of a batch by hashing (Arrow dictionary encoding), and each group's key."""
    codes = np.zeros(batch.num_rows, dtype=np.int64)
    dicts = []
    radix = 1
    for c in by:
        enc = pc.dictionary_encode(batch.column(c), null_encoding="encode")
        idx = enc.indices.to_numpy(zero_copy_only=False).astype(np.int64)
        codes += idx * radix
        dicts.append((enc.dictionary, radix, len(enc.dictionary)))
        radix *= max(len(enc.dictionary), 1)
    enc = pc.dictionary_encode(pa.array(codes))
    gid = enc.indices.to_numpy(zero_copy_only=False).astype(np.intp)
    # each group's key decoded from its packed code column by column (Arrow take), not code by code
    combo = enc.dictionary.to_numpy(zero_copy_only=False)
    parts = [d.take(pa.array((combo // r) % max(m, 1))).to_pylist() for d, r, m in dicts]
    return gid, list(zip(*parts))


def batch_partials(batch: pa.RecordBatch, by: Sequence[str], weight: str | None,
                   key_index: dict[tuple, int], *, engine: str = "auto") -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Score one record batch and return its group sums plus the global id of each local group.

    ``key_index`` maps group keys to global ids and is extended with new keys (callers that run
    batches in parallel give each its own dict and reconcile keys afterwards). ``engine``:
    ``"numpy"`` (the reference kernel and bincount sums), ``"fused"`` (one compiled pass, needs
    numba) or ``"auto"`` (fused when numba is installed).
    """
    from junheng.fitness import _fused

    n = batch.num_rows
    names = set(batch.schema.names)
    grade = batch.column("grade").to_numpy(zero_copy_only=False).astype(np.int32)
    sex = batch.column("sex").to_numpy(zero_copy_only=False).astype(np.int32)
    values = {i.field: _units(batch.column(i.field), i) for i in (HEIGHT, WEIGHT, *ITEMS) if i.field in names}
    exempt = (batch.column("exempt").to_numpy(zero_copy_only=False).astype(bool) if "exempt" in names
              else np.zeros(n, bool))
    missing = np.full(n, MISSING, np.int32)
    v_left = _units(batch.column("vision_left"), _VISION) if "vision_left" in names else missing
    v_right = _units(batch.column("vision_right"), _VISION) if "vision_right" in names else missing
    if by:
        gid, local_keys = _group_ids(batch, by)
    else:
        gid, local_keys = np.zeros(n, np.intp), [()]
    w = batch.column(weight).to_numpy(zero_copy_only=False).astype(np.float64) if weight else None
    ids = np.array([key_index.setdefault(k, len(key_index)) for k in local_keys], dtype=np.intp)
    if engine == "fused" or (engine == "auto" and _fused.AVAILABLE):
        if not _fused.AVAILABLE:
            raise ParameterError("engine='fused' needs numba")
        p = _fused.fused_partials(grade, sex, np.asarray(gid), len(local_keys), w, exempt, values, v_left, v_right)
        return p, ids
    r = score_arrays(grade, sex, values, threads=1)
    vision = pupil_vision_class(v_left, v_right)
    complete = r["complete"] & ~exempt
    scores = {i.score_field: np.where(exempt, -1, r[i.score_field]) for i in ITEMS}
    units = {i.score_field: values[i.field] for i in ITEMS if i.field in values}
    p = partial_sums(
        gid.astype(np.intp), len(local_keys), w, complete=complete, exempt=exempt, rating=r["rating"],
        total_tenths=np.maximum(r["total_tenths"], 0), bmi_class=np.where(exempt, -1, r["bmi_class"]),
        bmi_tenths=np.maximum(r["bmi"], 0), vision_class=vision, item_scores=scores, item_units=units,
    )
    return p, ids


def summarize_parquet(
    path: str | Path,
    by: Sequence[str] = ("grade", "sex"),
    *,
    weight: str | None = None,
    batch_rows: int = 1 << 17,
    threads: int | None = None,
    engine: str = "auto",
) -> pl.DataFrame:
    """Read → score → aggregate a Parquet file of canonical fitness records, batch by batch.

    Gives the same table as ``summarize(score_fitness(pl.read_parquet(path)), by)`` (rows in
    sorted key order) without holding the scored file in memory.
    """
    pf = open_parquet(path)
    names = set(pf.schema_arrow.names)
    for c in ("grade", "sex", *by, *([weight] if weight else [])):
        if c not in names:
            raise ParameterError(f"summarize_parquet: {Path(path).name} has no column {c!r}")
    cols = census_columns(list(names), by, weight)
    threads = threads or min(4, os.cpu_count() or 1)
    n_groups = pf.metadata.num_row_groups
    if n_groups == 0:
        raise ParameterError(f"summarize_parquet: {Path(path).name} holds no records")
    # tasks of whole row groups, each read by its own file handle: decoding runs on every core too
    per_task = max(1, -(-n_groups // (4 * threads)))
    tasks = [list(range(i, min(i + per_task, n_groups))) for i in range(0, n_groups, per_task)]

    def work(row_groups: list[int]):
        f = open_parquet(path)
        return sum_batches(f.iter_batches(batch_size=batch_rows, row_groups=row_groups, columns=cols,
                                          use_threads=False), by, weight, engine=engine)

    with ThreadPoolExecutor(threads) as pool:
        results = [r for r in pool.map(work, tasks) if r[0]]
    if not results:
        raise ParameterError(f"summarize_parquet: {Path(path).name} holds no records")
    key_index: dict[tuple, int] = {}
    for keys, _ in results:
        for k in keys:
            key_index.setdefault(k, len(key_index))
    total = _scatter_sum(len(key_index), ((np.array([key_index[k] for k in keys], dtype=np.intp), part)
                                          for keys, part in results))
    return table_from_partials(list(key_index), total, by)


def sum_batches(batches, by: Sequence[str], weight: str | None, *,
                engine: str = "auto") -> tuple[list[tuple], dict[str, np.ndarray]]:
    """Score record batches and add up their group sums: (group keys, sums with a row per key).

    One task of the local engine (a run of row groups) and one Spark partition each run this."""
    key_index: dict[tuple, int] = {}
    chunks = []
    for batch in batches:
        if batch.num_rows:
            chunks.append(batch_partials(batch, by, weight, key_index, engine=engine))
    return list(key_index), _scatter_sum(len(key_index), ((ids, p) for p, ids in chunks))


def _scatter_sum(n: int, parts) -> dict[str, np.ndarray]:
    """Group sums over ``n`` keys from ``(ids, sums)`` parts, each part's rows added at its ``ids``
    (distinct within one part, so a fancy-indexed ``+=`` adds every row)."""
    total = {name: np.zeros((n, width) if width > 1 else n) for name, width in partial_layout()}
    for ids, part in parts:
        for name in total:
            total[name][ids] += part[name]
    return total


def table_from_partials(keys: list[tuple], total: dict[str, np.ndarray], by: Sequence[str]) -> pl.DataFrame:
    """The summary table from merged group sums: one row per key (sorted by ``by``), the statistics
    of :func:`~junheng.fitness.aggregate.finish`. Every engine ends here."""
    stats = pl.DataFrame(finish(total), nan_to_null=True)
    if not by:
        return stats
    frame = pl.DataFrame(keys, schema=list(by), orient="row")
    return pl.concat([frame, stats], how="horizontal").sort(list(by))


def partial_layout() -> list[tuple[str, int]]:
    """The group sums every batch yields, as (name, width): width 4 for the per-level arrays
    (ratings, BMI classes, vision levels, item score bands), 1 for the others — the columns an
    engine that ships partials between machines flattens them into."""
    out = [("n_records", 1), ("n_exempt", 1), ("n_incomplete", 1), ("n_tested", 1), ("W_rating", 4), ("W_total", 1),
           ("W_bmi_class", 4), ("W_bmi", 1), ("n_vision", 1), ("W_vision", 4)]
    for item in ITEMS:
        f = item.score_field
        out += [(f"W_{f}_level", 4), (f"{f}_n", 1), (f"W_{f}_score", 1), (f"W_{f}_units", 1)]
    return out


def census_columns(names: Sequence[str], by: Sequence[str], weight: str | None) -> list[str]:
    """The columns the census path reads from a file with columns ``names`` (present ones only)."""
    want = ("grade", "sex", "exempt", "height_cm", "weight_kg", *(i.field for i in ITEMS), "vision_left",
            "vision_right", *by, *([weight] if weight else []))
    return list(dict.fromkeys(c for c in want if c in set(names)))


__all__ = ["batch_partials", "census_columns", "partial_layout", "sum_batches", "summarize_parquet", "table_from_partials"]
