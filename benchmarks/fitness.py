"""Fitness scoring at census scale: the LUT kernel vs a per-record Python scorer, and end to end.

``python benchmarks/run.py fitness`` (``BENCH_FITNESS_N`` overrides the 10 million records).

1. kernel: :func:`junheng.fitness.kernel.score_arrays` on quantised Int32 arrays of N mixed-grade
   records (all items, BMI, bonus, 标准分, 等级), in 128K-record batches on a thread pool (as the
   engine runs it) and as one call over all N;
2. baseline: a straightforward per-record scorer (dictionary look-ups and a walk down the
   threshold list in a Python loop, the way typical calculators are written) on a subsample,
   in the same run; the two must agree on every subsampled record;
3. end to end: read Parquet → score → aggregate by grade × sex, streamed in record batches
   (:func:`junheng.fitness.stream.summarize_parquet`, with the fused numba pass and with the NumPy
   kernel + bincount sums), and the in-memory path
   (``pl.read_parquet`` → :func:`score_fitness` → :func:`summarize`) on the same file.
"""

from __future__ import annotations

import os
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import polars as pl
from _fitness_baseline import python_scorer, records  # noqa: E402  (benchmarks/ is on the path)

from junheng.fitness import score_fitness, summarize
from junheng.fitness.items import HEIGHT, ITEMS, WEIGHT
from junheng.fitness.kernel import score_arrays
from junheng.fitness.quantize import MISSING
from junheng.fitness.standard import load_standard
from junheng.fitness.stream import summarize_parquet

N = int(os.environ.get("BENCH_FITNESS_N", 10_000_000))
SUB = 100_000


def _quantised(df: pl.DataFrame) -> dict[str, np.ndarray]:
    from junheng.fitness.quantize import to_units

    out = {}
    for item in (HEIGHT, WEIGHT, *ITEMS):
        out[item.field] = to_units(df[item.field], item.scale).fill_null(MISSING).to_numpy().astype(np.int32)
    return out


def main() -> None:
    print(f"records: {N:,} mixed grades 1–9, both sexes; cores: {os.cpu_count()}")
    t = time.perf_counter()
    df = records(N)
    q = _quantised(df)
    grade = df["grade"].to_numpy().astype(np.int8)
    sex = df["sex"].to_numpy().astype(np.int8)
    print(f"  (data prepared in {time.perf_counter() - t:.1f} s)")
    load_standard()

    # the kernel as an engine runs it: record batches of 128K, one per worker thread
    step = 1 << 17
    threads = min(4, os.cpu_count() or 1)

    def one(i: int) -> int:
        sl = slice(i, min(i + step, N))
        return int(score_arrays(grade[sl], sex[sl], {k: v[sl] for k, v in q.items()}, threads=1)["complete"].sum())

    t, c = time.perf_counter(), time.process_time()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, range(0, N, step)))
    kernel_s, kernel_cpu = time.perf_counter() - t, time.process_time() - c
    kernel_rps = N / kernel_s
    print(f"kernel, 128K-record batches   : {kernel_s:7.2f} s  {kernel_rps / 1e6:8.1f} M records/s ({threads} threads; "
          f"{N / kernel_cpu / 1e6:.1f} M records per CPU-second)")
    t = time.perf_counter()
    out = score_arrays(grade, sex, q)
    one_s = time.perf_counter() - t
    print(f"kernel, one call on N records : {one_s:7.2f} s  {N / one_s / 1e6:8.1f} M records/s")
    scorer = python_scorer()
    fields = ["grade", "sex", "height_cm", "weight_kg", *(i.field for i in ITEMS)]
    sub = {k: (q[k][:SUB] if k in q else (grade if k == "grade" else sex)[:SUB]) for k in fields}
    recs = [{k: (None if (k not in ("grade", "sex") and sub[k][i] == MISSING) else int(sub[k][i])) for k in fields}
            for i in range(SUB)]
    t, c = time.perf_counter(), time.process_time()
    base = [scorer(r) for r in recs]
    base_s, base_cpu = time.perf_counter() - t, time.process_time() - c
    base_rps = SUB / base_s
    print(f"per-record Python scorer      : {base_s:7.2f} s  {base_rps / 1e6:8.3f} M records/s (on {SUB:,})")
    want = np.array([-1 if b[0] is None else b[0] for b in base])
    got = out["total_tenths"][:SUB]
    agree = int((want == got).sum())
    print(f"agreement on the subsample    : {agree:,}/{SUB:,}")
    print(f"ratio kernel / per-record     : {kernel_rps / base_rps:8.0f}× wall, "
          f"{(N / kernel_cpu) / (SUB / base_cpu):.0f}× per CPU-second")

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fitness.parquet"
        df.write_parquet(path)
        del out
        from junheng.fitness._fused import AVAILABLE

        df.head(1000).write_parquet(Path(tmp) / "warm.parquet")
        for engine in (["fused"] if AVAILABLE else []):  # load (or compile) the cached batch pass before timing
            summarize_parquet(Path(tmp) / "warm.parquet", ["grade", "sex"], engine=engine)
        for engine in (["fused"] if AVAILABLE else []) + ["numpy"]:
            t, c = time.perf_counter(), time.process_time()
            table = summarize_parquet(path, ["grade", "sex"], engine=engine)
            e2e_s, e2e_cpu = time.perf_counter() - t, time.process_time() - c
            print(f"end to end, streamed, {engine:<6}  : {e2e_s:7.2f} s  {N / e2e_s / 1e6:8.1f} M records/s "
                  f"({N / e2e_cpu / 1e6:.1f} M per CPU-second; {table.height} groups; "
                  f"national year of 2×10^8 ≈ {2e8 / (N / e2e_s):.0f} s)")
        t = time.perf_counter()
        scored = score_fitness(pl.read_parquet(path))
        table = summarize(scored, ["grade", "sex"])
        mem_s = time.perf_counter() - t
        print(f"end to end, in memory         : {mem_s:7.2f} s  {N / mem_s / 1e6:8.1f} M records/s")


if __name__ == "__main__":
    main()
