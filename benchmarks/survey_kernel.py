"""Benchmark: the replicate group-sum kernel behind every survey estimate (report tables, CLI, web).

``Grouping.products`` (one BLAS thread while it runs) against the same kernel with BLAS threads as
OpenBLAS picks (``Grouping.products_free``, the kernel before), in the same run, on the shapes the
report tables use: 168,000 pupils × 81 weight columns (full + 80 JK2 replicates); a proportion of 4
categories, 5 plausible values, and plain sums; by county (157 groups), by county × sex × location
(942), by sex (2) and over everything (1).  CPU seconds (all threads counted) and wall seconds,
best of 3 each; the two results are compared (max relative difference) before the times print.

    python benchmarks/run.py survey_kernel          (BENCH_SURVEY_PUPILS=… to change the size)
"""

from __future__ import annotations

import os
import time

import numpy as np

from junheng.survey._groups import Grouping


def _best(f, *args, reps: int = 3) -> tuple[float, float, np.ndarray]:
    cpu = wall = float("inf")
    for _ in range(reps):
        c, t = time.process_time(), time.perf_counter()
        out = f(*args)
        cpu, wall = min(cpu, time.process_time() - c), min(wall, time.perf_counter() - t)
    return cpu, wall, out


def main() -> None:
    n = int(os.environ.get("BENCH_SURVEY_PUPILS", "168000"))
    rng = np.random.default_rng(1)
    m = rng.uniform(5, 15, (n, 81))
    county = np.sort(rng.integers(0, 157, n))
    sex, loc = rng.integers(0, 2, n), rng.integers(0, 3, n)
    valid = rng.random(n) > 0.05
    cat = rng.choice(4, n, p=[.15, .4, .38, .07])
    work = {"proportion (4 categories)": [None, *[(cat == c).astype(float) for c in range(4)]],
            "mean of 5 PVs": [None, *[rng.normal(500, 80, n) for _ in range(5)]],
            "sums": [None]}
    groupings = {"county": (county, 157), "county × sex × location": ((county * 2 + sex) * 3 + loc, 942),
                 "sex": (sex, 2), "all": (np.zeros(n, dtype=np.int64), 1)}
    print(f"{n} pupils × 81 weight columns; cores {os.cpu_count()}, load average {os.getloadavg()[0]:.1f}")
    tot = np.zeros(4)
    for gname, (gid, n_g) in groupings.items():
        grp = Grouping(gid, n_g, valid)
        for wname, xs in work.items():
            c0, w0, before = _best(grp.products_free, xs, m)
            c1, w1, now = _best(grp.products, xs, m)
            rel = float(np.max(np.abs(now - before) / np.maximum(np.abs(before), 1e-300)))
            tot += (c0, w0, c1, w1)
            print(f"{gname:<24} {wname:<26} before {c0 * 1e3:6.1f} ms CPU {w0 * 1e3:7.1f} ms wall | "
                  f"now {c1 * 1e3:6.1f} ms CPU {w1 * 1e3:6.1f} ms wall | CPU ratio {c0 / c1:4.1f}× | rel. diff {rel:.0e}")
    print(f"all 12 shapes: before {tot[0]:.2f} s CPU {tot[1]:.2f} s wall; now {tot[2]:.2f} s CPU {tot[3]:.2f} s wall; "
          f"ratio {tot[0] / tot[2]:.1f}× CPU, {tot[1] / tot[3]:.1f}× wall")


if __name__ == "__main__":
    main()
