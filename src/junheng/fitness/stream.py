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
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from junheng.exceptions import InputError, Issue, ParameterError, raise_for
from junheng.fitness.aggregate import (
    MAX_ISSUES,
    WEIGHT_RULE,
    bad_records_message,
    finish,
    invalid_weights,
    partial_sums,
)
from junheng.fitness.items import CENSUS_MEASURES, HEIGHT, ITEMS, WEIGHT, Item
from junheng.fitness.kernel import score_arrays
from junheng.fitness.quantize import MISSING, UNITS_MAX, float_to_units, units_expr
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
            q = np.where(q == MISSING, MISSING, np.clip(q.astype(np.int64) * item.scale, -UNITS_MAX, UNITS_MAX))
            q = q.astype(np.int32)
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
        return np.where(valid, _saturate(data), MISSING)  # Int8/Int16 data: widen first, or MISSING wraps
    return _saturate(col.to_numpy(zero_copy_only=False))


def _saturate(data: np.ndarray) -> np.ndarray:
    """Whole numbers as Int32, beyond ±:data:`UNITS_MAX` saturated (a cast would wrap 2³² + 5 round to 5)."""
    if data.dtype.itemsize < 4 or data.dtype == np.int32:
        return data.astype(np.int32)
    if data.dtype.kind == "u":
        return np.minimum(data, UNITS_MAX).astype(np.int32)
    return np.clip(data, -UNITS_MAX, UNITS_MAX).astype(np.int32)


_PACKED_MAX = 1 << 62  # per-column codes packed into one Int64 only while the product of their ranges stays below
_NAN = float("nan")  # the one NaN of every group key: a key is a dict key, and NaN != NaN unless it is the same object


def _float_keys(batch: pa.RecordBatch, by: Sequence[str]) -> list[int]:
    return [j for j, c in enumerate(by) if pa.types.is_floating(batch.schema.field(c).type)]


def _key_batch(batch: pa.RecordBatch, by: Sequence[str]) -> pa.RecordBatch:
    """``batch`` with its float key columns made canonical, as Polars' group-by (the eager path)
    groups them: −0.0 is 0.0 (Arrow's hashing tells the two apart, and one group's records would
    be summed twice into one key or lost) and every NaN the same NaN. Other batches as they are."""
    floats = _float_keys(batch, by)
    if not floats:
        return batch
    columns = list(batch.columns)
    for j in floats:
        k = batch.schema.get_field_index(by[j])
        col = pc.add(columns[k], pa.scalar(0.0, columns[k].type))  # −0.0 + 0.0 = 0.0; NaN stays NaN
        columns[k] = pc.if_else(pc.is_nan(col), pa.scalar(_NAN, col.type), col)
    return pa.RecordBatch.from_arrays(columns, schema=batch.schema)


def _key_tuples(keys, float_keys: list[int]) -> list[tuple]:
    """Group keys as tuples, a float NaN as :data:`_NAN` (the same key in every batch and thread)."""
    if not float_keys:
        return list(keys)
    return [tuple(_NAN if j in float_keys and v is not None and v != v else v for j, v in enumerate(k)) for k in keys]


def _grouped_ids(batch: pa.RecordBatch, by: Sequence[str]) -> tuple[np.ndarray, list[tuple]]:
    """Group ids (in order of first appearance) and keys by Polars' group-by on the key columns
    themselves: for key columns whose ranges multiply beyond :data:`_PACKED_MAX` (packed codes would
    wrap round and decode to keys that are not in the file)."""
    frame = pl.from_arrow(batch.select(list(by)))
    groups = frame.with_row_index("\0i").group_by(list(by), maintain_order=True).agg(pl.col("\0i"))
    rows = groups["\0i"]
    gid = np.empty(batch.num_rows, np.int64)
    gid[rows.explode().to_numpy()] = np.repeat(np.arange(groups.height), rows.list.len().to_numpy())
    return gid, _key_tuples(groups.select(list(by)).rows(), _float_keys(batch, by))


def _group_ids(batch: pa.RecordBatch, by: Sequence[str]) -> tuple[np.ndarray, list[tuple]]:
    """Dense group ids of a batch by hashing (Arrow dictionary encoding), and each group's key."""
    encoded = [pc.dictionary_encode(batch.column(c), null_encoding="encode") for c in by]
    if int(np.prod([float(max(len(e.dictionary), 1)) for e in encoded])) >= _PACKED_MAX:
        gid, keys = _grouped_ids(batch, by)
        return gid.astype(np.intp), keys
    codes = np.zeros(batch.num_rows, dtype=np.int64)
    dicts = []
    radix = 1
    for enc in encoded:
        idx = enc.indices.to_numpy(zero_copy_only=False).astype(np.int64)
        codes += idx * radix
        dicts.append((enc.dictionary, radix, len(enc.dictionary)))
        radix *= max(len(enc.dictionary), 1)
    enc = pc.dictionary_encode(pa.array(codes))
    gid = enc.indices.to_numpy(zero_copy_only=False).astype(np.intp)
    # each group's key decoded from its packed code column by column (Arrow take), not code by code
    combo = enc.dictionary.to_numpy(zero_copy_only=False)
    parts = [d.take(pa.array((combo // r) % max(m, 1))).to_pylist() for d, r, m in dicts]
    return gid, _key_tuples(zip(*parts), _float_keys(batch, by))


_DENSE_RADIX = 1 << 16  # an integer key column of at most this range is coded by subtraction, not hashing
_DENSE_TABLE = 1 << 22  # packed key ranges up to this size are looked up in a direct table


def _compiled_group_ids(batch: pa.RecordBatch, by: Sequence[str], key_index: dict[tuple, int],
                        cache: dict, scratch=None) -> tuple[np.ndarray, np.ndarray]:
    """Group ids for the compiled path: (local id per record, global id per local id — from
    ``key_index``, extended with new keys).

    Integer key columns without nulls are coded as ``value − min`` (one compiled min/max pass),
    other columns by Arrow's hashing; the packed codes get local ids through a direct table
    (:func:`junheng.fitness._fused.dense_ids`). When every key column is such an integer column,
    ``cache`` (one per task) keeps packed code → global id for the batch's code layout, so the
    keys of the groups already seen are never rebuilt as Python tuples. ``scratch`` (a
    :meth:`junheng.fitness._fused.Sums.scratch`) supplies reused working arrays."""
    from junheng.fitness import _fused

    n = batch.num_rows
    buffer = scratch or (lambda _name, shape, dtype: np.empty(shape, dtype))
    codes = buffer("codes", (len(by), n), np.int64)
    decoders = []
    mult = np.ones(len(by), np.int64)
    total = 1
    for j, c in enumerate(by):
        col = batch.column(c)
        dense = pa.types.is_integer(col.type) and col.null_count == 0
        if dense:
            x = col.to_numpy()
            lo, hi = _fused.min_max(x)
            radix = int(hi - lo + 1)
            dense = radix <= _DENSE_RADIX
        if dense:
            np.subtract(x, lo, out=codes[j], casting="unsafe")
            decoders.append((int(lo), None, radix))
        else:
            enc = pc.dictionary_encode(col, null_encoding="encode")
            codes[j] = enc.indices.to_numpy(zero_copy_only=False)
            radix = max(len(enc.dictionary), 1)
            decoders.append((0, enc.dictionary, radix))
        mult[j] = total
        total *= radix
        if total >= _PACKED_MAX:  # the packed code would wrap round: group on the columns themselves
            gid, keys = _grouped_ids(batch, by)
            return gid, np.array([key_index.setdefault(k, len(key_index)) for k in keys], np.int64)
    if total <= _DENSE_TABLE:
        gid = buffer("gid", (n,), np.int64)
        first = np.empty(min(n, total), np.int64)
        first = first[: _fused.dense_ids(codes, mult, np.full(total, -1, np.int32), gid, first)]
    else:
        first, gid = np.unique(mult @ codes, return_inverse=True)
    layout = tuple((lo, radix) for lo, _, radix in decoders) if all(d is None for _, d, _ in decoders) else None
    known = cache.get(layout) if layout is not None and total <= _DENSE_TABLE else None
    if known is None:
        known = np.full(total, -1, np.int64) if layout is not None and total <= _DENSE_TABLE else None
        if known is not None:
            if len(cache) >= 8:  # key ranges that differ from batch to batch: keep memory bounded
                cache.clear()
            cache[layout] = known
    gmap = known[first] if known is not None else np.full(first.shape[0], -1, np.int64)
    new = np.flatnonzero(gmap < 0)
    if new.size:
        parts = []
        for (lo, dictionary, radix), m in zip(decoders, mult):
            code = (first[new] // m) % radix
            parts.append([c + lo for c in code.tolist()] if dictionary is None  # (Python ints: UInt64 keys ≥ 2⁶³)
                         else dictionary.take(pa.array(code)).to_pylist())
        gmap[new] = [key_index.setdefault(k, len(key_index)) for k in _key_tuples(zip(*parts), _float_keys(batch, by))]
        if known is not None:
            known[first[new]] = gmap[new]
    return gid, gmap


def _codes(batch: pa.RecordBatch, name: str) -> tuple[np.ndarray, np.ndarray]:
    """``grade`` or ``sex`` as Int32 (any integer, float or text column) and where it holds no whole number."""
    col = batch.column(name)
    t = col.type
    if pa.types.is_integer(t):
        v = _int_with_missing(col)
        return v, v == MISSING
    if pa.types.is_floating(t):
        x = col.to_numpy(zero_copy_only=False)
        with np.errstate(invalid="ignore"):
            whole = np.isfinite(x) & (x == np.round(x)) & (np.abs(x) < 1e9)
        return np.where(whole, x, 0).astype(np.int32), ~whole
    s = pl.from_arrow(col).cast(pl.String).str.strip_chars().cast(pl.Int32, strict=False)
    return s.fill_null(0).to_numpy(), s.is_null().to_numpy()


_RULES = {"grade": ("年级应为 1–9 的整数", "grade must be a whole number 1–9"),
          "sex": ("性别应为 1（男）或 2（女）", "sex must be 1 (male) or 2 (female)")}


def _grade_sex(batch: pa.RecordBatch, first_row: int | None, file: str | None,
               issues: list[Issue], weight: str | None = None) -> tuple[np.ndarray, np.ndarray, int]:
    """Grade and sex as Int32, checked, and the weight column if any: every bad record is appended
    to ``issues`` (file, record number = ``first_row`` + its place + 1, column, value, rule) up to
    :data:`MAX_ISSUES`; returns (grade, sex, number of bad records)."""
    grade, g_odd = _codes(batch, "grade")
    sex, s_odd = _codes(batch, "sex")
    bad_g = g_odd | (grade < 1) | (grade > 9)
    bad_s = s_odd | ((sex != 1) & (sex != 2))
    bad_w = invalid_weights(_weights(batch, weight)) if weight else False
    bad = bad_g | bad_s | bad_w
    n_bad = int(bad.sum())
    if n_bad:
        rules = {**_RULES, weight: WEIGHT_RULE} if weight else _RULES
        for i in np.flatnonzero(bad)[: max(0, MAX_ISSUES - len(issues))]:
            for name, flag in (("grade", bad_g), ("sex", bad_s), *(((weight, bad_w),) if weight else ())):
                if flag is not False and flag[i]:
                    issues.append(Issue(*rules[name], file=file, column=name, value=batch.column(name)[int(i)].as_py(),
                                        row=None if first_row is None else first_row + int(i) + 1))
    return grade, sex, n_bad


_MEASURES = (HEIGHT, WEIGHT, *ITEMS, _VISION, _VISION)  # in CENSUS_MEASURES' order: height, weight, the items, both eyes


def _stacked_units(batch: pa.RecordBatch, n: int,
                   out: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Height, weight, the items and both eyes' acuity as one (16 + 2, n) Int32 array of
    resolution units (compiled conversion for float and integer columns, read from their Arrow
    buffers; the exact text parser for text), the items present, and the two acuity rows.
    ``out``: a (16 + 2, ≥ n) Int32 array to fill (reused from batch to batch)."""
    from junheng.fitness import _fused

    names = set(batch.schema.names)
    measures, fields = _MEASURES, CENSUS_MEASURES
    out = np.empty((len(fields), n), np.int32) if out is None else out
    for k, (f, item) in enumerate(zip(fields, measures)):
        if f not in names:
            out[k] = MISSING
            continue
        col = batch.column(f)
        t = col.type
        if pa.types.is_floating(t) and t != pa.float16():
            tol = 1e-3 if t == pa.float32() else 1e-7
            bitmap, data = col.buffers()[0], col.buffers()[1]
            x = np.frombuffer(data, dtype=t.to_pandas_dtype())[col.offset:col.offset + n]
            if col.null_count and bitmap is not None:
                _fused.float_units_valid(x, np.frombuffer(bitmap, np.uint8), col.offset, item.scale, 0.5 + tol, out[k])
            else:
                _fused.float_units(x, item.scale, 0.5 + tol, out[k])
        elif pa.types.is_integer(t):
            bitmap, data = col.buffers()[0], col.buffers()[1]
            x = np.frombuffer(data, dtype=t.to_pandas_dtype())[col.offset:col.offset + n]
            has = bool(col.null_count) and bitmap is not None
            _fused.int_units(x, np.frombuffer(bitmap, np.uint8) if has else np.zeros(1, np.uint8), col.offset, has,
                             item.scale, out[k])
        else:
            out[k] = _units(col, item)
    has_value = np.array([i.field in names for i in ITEMS])
    return out, has_value, out[-2], out[-1]


def _exempt(batch: pa.RecordBatch, n: int) -> np.ndarray:
    if "exempt" not in batch.schema.names:
        return np.zeros(n, bool)
    return pc.fill_null(batch.column("exempt").cast(pa.bool_()), False).to_numpy(zero_copy_only=False)


def _weights(batch: pa.RecordBatch, weight: str | None) -> np.ndarray | None:
    """The weight column as Float64, a null read as 0 — as :func:`~junheng.fitness.aggregate.summarize`
    reads it: the record adds nothing to a weighted rate or mean (not NaN to its whole group)."""
    if not weight:
        return None
    return pc.fill_null(batch.column(weight).cast(pa.float64()), 0.0).to_numpy(zero_copy_only=False)


def _use_fused(engine: str) -> bool:
    from junheng.fitness import _fused

    if engine == "fused" and not _fused.AVAILABLE:
        raise ParameterError("engine='fused' needs numba")
    return engine == "fused" or (engine == "auto" and _fused.AVAILABLE)


def _add_fused(sums, batch: pa.RecordBatch, by: Sequence[str], weight: str | None, key_index: dict[tuple, int],
               grade: np.ndarray, sex: np.ndarray) -> None:
    """Add one checked batch into ``sums`` (:class:`junheng.fitness._fused.Sums`), its groups
    numbered by ``key_index`` (extended with new keys)."""
    from junheng.fitness import _fused

    n = batch.num_rows
    if by:
        gid, gmap = _compiled_group_ids(_key_batch(batch, by), by, key_index, sums.key_cache, sums.scratch)
    else:
        gid, gmap = np.zeros(n, np.int64), np.array([key_index.setdefault((), len(key_index))], np.int64)
    sums.grow_to(len(key_index))
    stacked, has_value, v_left, v_right = _stacked_units(batch, n, sums.scratch("units", (len(CENSUS_MEASURES), n), np.int32))
    rows = sums.scratch("rows", (n,), np.int64)
    _fused.grade_sex_rows(grade, sex, rows)
    sums.add(rows, gid, gmap, _weights(batch, weight), _exempt(batch, n), stacked, has_value, v_left, v_right)


def batch_partials(batch: pa.RecordBatch, by: Sequence[str], weight: str | None,
                   key_index: dict[tuple, int], *, engine: str = "auto", first_row: int | None = None,
                   file: str | None = None) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Score one record batch and return its group sums plus the global id of each local group.

    ``key_index`` maps group keys to global ids and is extended with new keys (callers that run
    batches in parallel give each its own dict and reconcile keys afterwards). ``engine``:
    ``"numpy"`` (the reference kernel and bincount sums), ``"fused"`` (compiled, needs numba)
    or ``"auto"`` (fused when numba is installed). A record whose grade or sex is not a valid
    code is an :class:`InputError` naming ``file`` and the record (``first_row`` + its place + 1).
    """
    from junheng.fitness import _fused

    issues: list[Issue] = []
    grade, sex, n_bad = _grade_sex(batch, first_row, file, issues, weight)
    raise_for(issues, bad_records_message(file, n_bad, weight))
    if _use_fused(engine):
        local: dict[tuple, int] = {}
        sums = _fused.Sums()
        _add_fused(sums, batch, by, weight, local, grade, sex)
        ids = np.array([key_index.setdefault(k, len(key_index)) for k in local], dtype=np.intp)
        return sums.partials(), ids
    n = batch.num_rows
    names = set(batch.schema.names)
    values = {i.field: _units(batch.column(i.field), i) for i in (HEIGHT, WEIGHT, *ITEMS) if i.field in names}
    exempt = _exempt(batch, n)
    missing = np.full(n, MISSING, np.int32)
    v_left = _units(batch.column("vision_left"), _VISION) if "vision_left" in names else missing
    v_right = _units(batch.column("vision_right"), _VISION) if "vision_right" in names else missing
    gid, local_keys = _group_ids(_key_batch(batch, by), by) if by else (np.zeros(n, np.intp), [()])
    ids = np.array([key_index.setdefault(k, len(key_index)) for k in local_keys], dtype=np.intp)
    r = score_arrays(grade, sex, values, threads=1)
    vision = pupil_vision_class(v_left, v_right)
    complete = r["complete"] & ~exempt
    scores = {i.score_field: np.where(exempt, -1, r[i.score_field]) for i in ITEMS}
    units = {i.score_field: values.get(i.field, missing) for i in ITEMS}  # (no column: never scored, adds 0)
    p = partial_sums(
        gid.astype(np.intp), len(local_keys), _weights(batch, weight), complete=complete, exempt=exempt,
        rating=r["rating"], total_tenths=np.maximum(r["total_tenths"], 0),
        bmi_class=np.where(exempt, -1, r["bmi_class"]), bmi_tenths=np.maximum(r["bmi"], 0), vision_class=vision,
        item_scores=scores, item_units=units,
    )
    return p, ids


def census_issues(names: Sequence[str], by: Sequence[str], weight: str | None, file: str | None) -> list[Issue]:
    """The columns a census file lacks, as issues (file, column, rule) in Chinese and English."""
    have = set(names)
    issues = [Issue(f"缺少必需列“{c}”", f"required column {c} is missing", file=file, column=c)
              for c in ("grade", "sex") if c not in have]
    issues += [Issue(f"没有分组列“{c}”（--by）", f"no grouping column {c} (--by)", file=file, column=c)
               for c in by if c not in have and c not in ("grade", "sex")]
    if weight and weight not in have:
        issues.append(Issue(f"没有权重列“{weight}”（--weight）", f"no weight column {weight} (--weight)", file=file,
                            column=weight))
    if issues:
        shown = ", ".join(list(names)[:40])
        issues = [Issue(f"{i.rule_zh}；文件中的列：{shown}", f"{i.rule_en}; the file's columns: {shown}", file=i.file,
                        column=i.column) for i in issues]
    return issues


def require_census_columns(names: Sequence[str], by: Sequence[str], weight: str | None, file: str) -> None:
    """Raise :class:`InputError` with every :func:`census_issues` of ``file``, if any."""
    raise_for(census_issues(names, by, weight, file),
              f"{file}: 缺少汇总所需的列 / {file}: columns the census needs are missing")


def no_records(file: str) -> InputError:
    """The error for a census file without a record."""
    return InputError(Issue("文件中没有记录", "the file holds no records", file=file))


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
    sorted key order) without holding the scored file in memory. A missing column, or records
    whose grade or sex is not a valid code (every one listed with its record number, 1 = the
    file's first record), are an :class:`InputError`; nothing is summarised then.
    """
    file = Path(path).name
    with open_parquet(path) as pf:  # the footer only: the worker threads read through their own handles
        names = pf.schema_arrow.names
        require_census_columns(names, by, weight, file)
        cols = census_columns(list(names), by, weight)
        n_groups = pf.metadata.num_row_groups
        if n_groups == 0 or pf.metadata.num_rows == 0:
            raise no_records(file)
        first = np.concatenate([[0], np.cumsum([pf.metadata.row_group(i).num_rows for i in range(n_groups)])])
    threads = threads or min(4, os.cpu_count() or 1)
    # compiled engine: one set of group sums per worker thread, kept across its tasks (allocated, paged
    # in and merged once a thread, not once a task; the sums and key tables stay warm in its cache)
    per_thread: list[_ThreadSums] | None = [] if _use_fused(engine) else None
    # tasks of whole row groups, each worker thread reading through its own file handle: decoding runs on every core too
    tasks = _tasks(first, batch_rows) if per_thread is not None else _even_tasks(n_groups, threads)
    local = threading.local()
    handles: list = []  # the worker threads' file handles, closed once the pool is done

    def work(row_groups: list[int]):
        f = getattr(local, "file", None)
        if f is None:  # one handle a worker thread (its footer parsed once), not one a task
            f = local.file = open_parquet(path)
            handles.append(f)
        into = None
        if per_thread is not None:
            into = getattr(local, "sums", None)
            if into is None:
                into = local.sums = _ThreadSums()
                per_thread.append(into)
        # one row group a call: an iter_batches over several row groups keeps what it has read until it
        # ends (the NumPy engine's tasks of n/8 row groups: peak RSS 397 → 501 MB from 4 to 16 million
        # records, growing with the file; one a call, flat — docs/guide/census.md "Memory")
        batches = (b for g in row_groups for b in f.iter_batches(batch_size=batch_rows, row_groups=[g], columns=cols,
                                                                 use_threads=False))
        try:
            return sum_batches(batches, by, weight, engine=engine, first_row=int(first[row_groups[0]]), file=file,
                               into=into)
        except InputError as exc:
            return exc

    try:
        with _steady_memory_pool(), ThreadPoolExecutor(threads) as pool:
            done = list(pool.map(work, tasks))
    finally:
        for f in handles:
            f.close()
    failed = [r for r in done if isinstance(r, InputError)]
    if failed:
        n_bad = sum(getattr(e, "n_bad", len(e.errors)) for e in failed)
        raise InputError([i for e in failed for i in e.issues][:MAX_ISSUES], bad_records_message(file, n_bad, weight))
    if per_thread is not None:
        return _merged_table(per_thread, by, file)
    results = [r for r in done if r[0]]
    if not results:
        raise no_records(file)
    key_index = _key_index(keys for keys, _ in results)
    total = _scatter_sum(len(key_index), ((np.array([key_index[k] for k in keys], dtype=np.intp), part)
                                          for keys, part in results))
    return table_from_partials(list(key_index), total, by)


def _key_index(key_lists) -> dict[tuple, int]:
    key_index: dict[tuple, int] = {}
    for keys in key_lists:
        for k in keys:
            key_index.setdefault(k, len(key_index))
    return key_index


def _merged_table(per_thread: list[_ThreadSums], by: Sequence[str], file: str) -> pl.DataFrame:
    """The worker threads' compiled sums added row by row into one set (two arrays, not one
    array per statistic a thread), then the table."""
    from junheng.fitness import _fused

    used = [t for t in per_thread if t.keys]
    if not used:
        raise no_records(file)
    key_index = _key_index(t.keys for t in used)
    merged = _fused.Sums(capacity=len(key_index))
    merged.grow_to(len(key_index))
    for t in used:
        merged.merge(t.sums, np.fromiter((key_index[k] for k in t.keys), np.intp, len(t.keys)))
    return table_from_partials(list(key_index), merged.partials(), by)


def _tasks(first: np.ndarray, batch_rows: int) -> list[list[int]]:
    """Runs of consecutive row groups (``first``: each group's first record, then the total) of at
    least ``batch_rows`` records each, or one row group each where they are that big.

    Small tasks keep both threads busy to the end: with a thread's sums, key tables and file handle
    kept across its tasks, a task costs no more than its batches (one thread, 2,000,000 records:
    0.188–0.195 CPU-µs a record with tasks of one row group, 0.188–0.200 with four), while the thread
    that finishes first waits for the other's last task — a quarter of the file per thread made that
    wait 4–85 ms on two threads (busy machine, 2,000,000 records), one row group 0–50 ms
    (docs/guide/census.md)."""
    tasks, start = [], 0
    for g in range(1, len(first)):
        if first[g] - first[start] >= batch_rows or g == len(first) - 1:
            tasks.append(list(range(start, g)))
            start = g
    return tasks


def _even_tasks(n_groups: int, threads: int) -> list[list[int]]:
    """Four tasks a thread (the NumPy engine returns sums a task: fewer, larger tasks to merge)."""
    per_task = max(1, -(-n_groups // (4 * threads)))
    return [list(range(i, min(i + per_task, n_groups))) for i in range(0, n_groups, per_task)]


_POOL_LOCK = threading.Lock()
_POOL_USERS: list = []  # (the default pool to restore) while summarize_parquet runs in this process


@contextmanager
def _steady_memory_pool():
    """Arrow's jemalloc pool as the default while a census file streams, where the build has it.

    Every batch's decoded columns are freed and allocated again a few ms later. Arrow's default
    mimalloc returns freed memory to the system after ~10 ms and then faults it back in as fresh
    huge pages, which the kernel zeroes: on a busy machine (load ≈ 17 on 2 cores) 15.6 % of the
    census path's CPU was in ``clear_page_erms``, 4.3 % with jemalloc, which keeps freed memory ~1 s
    (perf, docs/guide/census.md); on a quiet machine batches are mostly reused in time and the two
    cost the same. Buffers remember their pool, so restoring the previous default afterwards is
    safe; nested or concurrent runs share one swap."""
    with _POOL_LOCK:
        if not _POOL_USERS:
            previous = pa.default_memory_pool()
            try:
                pool = pa.jemalloc_memory_pool()
            except NotImplementedError:  # a pyarrow built without jemalloc: keep the default
                pool = None
            if pool is not None and previous.backend_name != "jemalloc":
                pa.set_memory_pool(pool)
            _POOL_USERS.append(previous)
        else:
            _POOL_USERS.append(None)
    try:
        yield
    finally:
        with _POOL_LOCK:
            previous = _POOL_USERS.pop()
            if not _POOL_USERS and previous is not None:
                pa.set_memory_pool(previous)


class _ThreadSums:
    """A worker thread's group keys (key → id) and compiled group sums, added to by each of its tasks."""

    def __init__(self) -> None:
        from junheng.fitness import _fused

        self.keys: dict[tuple, int] = {}
        self.sums = _fused.Sums()


_FOLD_EVERY = 4  # the NumPy engine adds up a task's per-batch sums every this many batches


def sum_batches(batches, by: Sequence[str], weight: str | None, *, engine: str = "auto",
                first_row: int | None = None, file: str | None = None,
                into: _ThreadSums | None = None) -> tuple[list[tuple], dict[str, np.ndarray]] | None:
    """Score record batches and add up their group sums: (group keys, sums with a row per key).
    With ``into`` (compiled engine only) the sums are added into it instead and None is returned.

    One task of the local engine (a run of row groups starting at record ``first_row``) and one
    Spark partition each run this. Every batch's grade and sex are checked first; records with
    invalid codes are collected over all batches and raised at the end as one
    :class:`InputError` (with ``n_bad``, the number of bad records)."""
    from junheng.fitness import _fused

    fused = _use_fused(engine)
    key_index: dict[tuple, int] = into.keys if into is not None and fused else {}
    issues: list[Issue] = []
    n_bad = 0
    row = first_row
    sums = (into.sums if into is not None else _fused.Sums()) if fused else None
    chunks = []
    for batch in batches:
        if not batch.num_rows:
            continue
        grade, sex, bad = _grade_sex(batch, row, file, issues, weight)
        n_bad += bad
        if row is not None:
            row += batch.num_rows
        if n_bad:
            continue  # the table will not be given: only the checks go on
        if fused:
            _add_fused(sums, batch, by, weight, key_index, grade, sex)
        else:
            chunks.append(batch_partials(batch, by, weight, key_index, engine=engine))
            if len(chunks) == _FOLD_EVERY:  # a batch's sums are a few MB: fold them, or a task holds one set a batch
                chunks = [(_scatter_sum(len(key_index), ((ids, p) for p, ids in chunks)), np.arange(len(key_index)))]
    if n_bad:
        exc = InputError(issues, bad_records_message(file, n_bad, weight))
        exc.n_bad = n_bad  # type: ignore[attr-defined]
        raise exc
    if fused:
        return None if into is not None else (list(key_index), sums.partials())
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


__all__ = ["MAX_ISSUES", "batch_partials", "census_columns", "census_issues", "no_records", "partial_layout", "require_census_columns", "sum_batches", "summarize_parquet", "table_from_partials"]
