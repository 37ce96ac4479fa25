"""The census path (Parquet → score → aggregate) on each engine, against the eager path.

``python benchmarks/run.py census`` (``BENCH_CENSUS_N`` overrides the 5,000,000 records;
``BENCH_CENSUS_SPARK=0`` skips Spark).

The same records (in random county, grade and sex order: every record's group and score tables
are a cache miss away from the last one's) are written twice:

* the census layout, :func:`junheng.io.write_census_parquet` (dictionary-encoded columns, pages
  not compressed, required fields — a missing measure is NaN —, row groups of 2^17) — the file the
  figures are judged on;
* Polars' default writer (zstd, floats stored plain), row groups of 2^17 — what ``write_table``
  and most tools write; the local engine is timed on it too.

* eager (baseline): ``pl.read_parquet`` → :func:`score_fitness` (every score column of every
  record) → :func:`summarize` — the whole scored frame in memory;
* local engine: :func:`junheng.fitness.stream.summarize_parquet` — row groups read, scored
  and reduced to group sums by a thread per core, the scored records never materialised;
* spark engine: :func:`junheng.engine.spark.summarize_spark` in local mode on this machine's
  cores (session start-up excluded, printed apart) — the same batch function in ``mapInArrow``;
* checks: local and Spark tables equal (exactly, no weights), the two files' tables equal
  exactly, eager equal to 1e-9.

The compiled (numba) functions are cached on disk (``cache=True``): the first call in a process
loads them (printed apart, with the import); a run right after installing compiles them once.
Figures per wall second and per CPU-second of this process (Spark's executors run in the
JVM's Python workers, so for Spark only wall time and the per-core rate are given); the
national year of 2×10^8 records is extrapolated from the per-core rate.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow.parquet as pq
from _fitness_baseline import records

from junheng.fitness import score_fitness, summarize
from junheng.fitness.stream import census_columns, summarize_parquet
from junheng.io import write_census_parquet

N = int(os.environ.get("BENCH_CENSUS_N", 5_000_000))
SPARK = os.environ.get("BENCH_CENSUS_SPARK", "1") != "0"
BY = ["county_code", "grade", "sex"]
YEAR = 2e8


def _timed(fn):
    t, c = time.perf_counter(), time.process_time()
    r = fn()
    return r, time.perf_counter() - t, time.process_time() - c


def main() -> None:
    cores = os.cpu_count() or 1
    print(f"records: {N:,}, grouped by {', '.join(BY)}; cores: {cores}")
    with tempfile.TemporaryDirectory() as tmp:
        path, plain = Path(tmp) / "census.parquet", Path(tmp) / "polars-default.parquet"
        rng = np.random.default_rng(7)
        counties = pl.Series("county_code", (410100 + rng.integers(0, 157, N)).astype(np.int32))
        frame = records(N).with_columns(counties)
        write_census_parquet(frame, path)
        frame.write_parquet(plain, row_group_size=1 << 17)
        del frame
        print(f"  (Parquet: census layout {path.stat().st_size / 1e6:.0f} MB; Polars' default "
              f"{plain.stat().st_size / 1e6:.0f} MB)")
        # numba's compiled functions are cached on disk: the first call loads them (or compiles, once)
        _, first_s, _ = _timed(lambda: summarize_parquet(path, BY))
        print(f"  first call in the process (numba import + cached compiled code loaded): {first_s:.2f} s")

        eager, e_s, e_cpu = _timed(lambda: summarize(score_fitness(pl.read_parquet(path)), BY))
        print(f"eager (baseline)          : {e_s:7.2f} s  {N / e_s / 1e6:6.2f} M records/s "
              f"({N / e_cpu / 1e6:.2f} M per CPU-second)")
        local, l_s, l_cpu = min((_timed(lambda: summarize_parquet(path, BY)) for _ in range(3)), key=lambda r: r[1])
        print(f"local engine, streamed    : {l_s:7.2f} s  {N / l_s / 1e6:6.2f} M records/s "
              f"({N / l_cpu / 1e6:.2f} M per CPU-second)  ratio {e_s / l_s:5.1f}× the eager path  (best of 3)")
        other, p_s, p_cpu = min((_timed(lambda: summarize_parquet(plain, BY)) for _ in range(3)), key=lambda r: r[1])
        print(f"  the same on Polars' default file: {p_s:.2f} s  {N / p_s / 1e6:.2f} M records/s "
              f"({N / p_cpu / 1e6:.2f} M per CPU-second)")
        for c in eager.columns:
            if eager[c].dtype.is_float():
                np.testing.assert_allclose(local[c].to_numpy(), eager[c].to_numpy(), rtol=1e-9, equal_nan=True)
        assert other.equals(local), "the two layouts gave different tables"
        print(f"  local engine = eager path on all {local.height} groups × {local.width} columns (rtol 1e-9); "
              "both files' tables equal exactly")
        # one thread, best of 3 CPU-seconds: the compiled batch path, the NumPy reference batch path, reading alone
        one = min(_timed(lambda: summarize_parquet(path, BY, threads=1))[2] for _ in range(3))
        ref = min(_timed(lambda: summarize_parquet(path, BY, threads=1, engine="numpy"))[2] for _ in range(3))
        read = {}
        for name, f in (("census", path), ("polars", plain)):
            pf = pq.ParquetFile(f)
            cols = census_columns(pf.schema_arrow.names, BY, None)
            read[name] = min(_timed(lambda pf=pf, cols=cols: [b for b in pf.iter_batches(batch_size=1 << 17, columns=cols,
                                                                                          use_threads=False) if not b.num_rows])[2]
                             for _ in range(3))
        print(f"one thread: compiled {one:.2f} CPU-s ({N / one / 1e6:.2f} M per CPU-second, {one / N * 1e6:.3f} "
              f"µs a record), NumPy reference {ref:.2f} CPU-s ({ref / one:.1f}×); reading the {len(cols)} needed "
              f"columns alone {read['census']:.2f} CPU-s ({read['census'] / N * 1e6:.3f} µs a record; Polars' "
              f"default file {read['polars']:.2f} CPU-s, {read['polars'] / N * 1e6:.3f} µs); the goal of "
              "10 M records/s on 2 cores = 5 M per CPU-second = 0.2 µs a record")
        _two_thread_probes(path, cols)

        if not SPARK:
            return
        try:
            from junheng.engine.spark import session, summarize_spark
        except ImportError:
            print("spark engine: pyspark not installed (pip install 'junheng[spark]')")
            return
        (spark, s_start, _) = _timed(lambda: session("junheng-bench"))
        try:
            summarize_spark(str(path), BY, spark=spark)  # warm the Python workers
            dist, s_s, _ = _timed(lambda: summarize_spark(str(path), BY, spark=spark))
        finally:
            spark.stop()
        per_core = N / s_s / cores
        print(f"spark engine, local[{cores}]  : {s_s:7.2f} s  {N / s_s / 1e6:6.2f} M records/s "
              f"({per_core / 1e6:.2f} M per core-second; session start {s_start:.1f} s)  "
              f"ratio {l_s / s_s:5.2f}× the local engine")
        print(f"  spark table equals the local engine's exactly: {dist.equals(local)}")
        for minutes in (10, 30):
            need = YEAR / (per_core * minutes * 60)
            print(f"  a national year (2×10^8 records) in {minutes} min needs ≈ {need:.1f} executor cores "
                  f"at this rate")


def _two_thread_probes(path: Path, cols: list[str]) -> None:
    """Why a record costs more CPU on two threads than on one (issue #14): the same work alone and
    twice at once on two threads, CPU-seconds per unit of work (best of 5; 1.00× = the two cores
    do not slow each other) — register-only
    arithmetic (no memory: shared execution units, e.g. hyperthreads of one host core), random
    updates of group-sum rows the census's size (2826 groups × 89 Int64 = 2 MB a thread: cache and
    memory shared), the whole batch path (reading included) as one task a thread; and on one thread
    the compiled pass with every record in one group against the file's 2826 (what the group
    rows' cache misses cost)."""
    from concurrent.futures import ThreadPoolExecutor

    from numba import njit

    from junheng.fitness import _fused
    from junheng.fitness import stream as st

    @njit(nogil=True)
    def alu(k):
        x = np.uint64(1)
        for _ in range(k):
            x = x * np.uint64(6364136223846793005) + np.uint64(1442695040888963407)
        return x

    @njit(nogil=True)
    def rows(acc, k):
        x = np.uint64(7)
        for _ in range(k):
            x = x * np.uint64(6364136223846793005) + np.uint64(1442695040888963407)
            g = np.int64(x >> np.uint64(33)) % acc.shape[0]
            for j in range(0, acc.shape[1], 8):  # a record touches about one slot a cache line of its row
                acc[g, j] += 1
        return x

    def both(fn, make):
        args = [make(), make()]
        fn(*args[0])
        one = min(_timed(lambda: fn(*args[0]))[2] for _ in range(5))
        with ThreadPoolExecutor(2) as pool:
            two = min(_timed(lambda: list(pool.map(lambda a: fn(*a), args)))[2] for _ in range(5))
        return two / (2 * one)

    r_alu = both(alu, lambda: (200_000_000,))
    r_rows = both(rows, lambda: (np.zeros((2826, 89), np.int64), 5_000_000))
    f = pq.ParquetFile(path)
    batches = list(f.iter_batches(batch_size=1 << 17, columns=cols, use_threads=False))[:16]
    prepped, keys, cache = [], {}, {}
    for b in batches:
        grade, sex, _ = st._grade_sex(b, 0, None, [])
        gid, gmap = st._compiled_group_ids(b, BY, keys, cache)
        table_rows = np.empty(b.num_rows, np.int64)
        _fused.grade_sex_rows(grade, sex, table_rows)  # the score tables' row of each record, as the census does
        prepped.append((table_rows, gid, gmap, st._exempt(b, b.num_rows), st._stacked_units(b, b.num_rows)))
    n = sum(b.num_rows for b in batches)

    def pass_(one_group):
        sums = _fused.Sums()
        sums.grow_to(len(keys))
        for r, gid, gmap, ex, stacked in prepped:
            sums.add(r, gid, np.zeros_like(gmap) if one_group else gmap, None, ex, *stacked)

    real, single = (min(_timed(lambda o=o: pass_(o))[2] for _ in range(5)) for o in (False, True))

    def whole(_=None):  # read → check → ids → units → pass over the first 16 row groups, one task, own handle
        g = pq.ParquetFile(path)
        sums, own = _fused.Sums(), {}
        for b in g.iter_batches(batch_size=1 << 17, row_groups=range(min(16, g.num_row_groups)), columns=cols,
                                use_threads=False):
            grade, sex, _ = st._grade_sex(b, 0, None, [])
            st._add_fused(sums, b, BY, None, own, grade, sex)

    r_whole = both(whole, lambda: (None,))
    print(f"two threads, the same work twice at once, CPU per unit of work: register-only arithmetic {r_alu:.2f}× "
          f"that of one thread alone, random updates of 2 MB of group rows {r_rows:.2f}× (1.00× = the cores do not "
          f"slow each other), the whole batch path (read, checks, ids, units, pass; one task a thread) {r_whole:.2f}×; "
          "one thread, "
          f"the compiled pass {real / n * 1e9:.0f} ns a record over {len(keys)} groups, {single / n * 1e9:.0f} ns "
          "with every record in one group (the group rows' cache misses: the difference)")


if __name__ == "__main__":
    main()
