"""Two choices in the fitness readers' checks, each against the alternative it replaced, in one run
(CPU milliseconds, the median of 40 calls, Polars on one thread so that other load on the machine
counts less):

- ``template_io``: is any 学籍号 repeated?  A count of distinct packed keys (``n_unique``) first,
  the per-row mark (``is_duplicated``) only when the count says so — on 200,000 well-formed,
  distinct ids (the usual file);
- ``quantize.normalize_series``: which cells need normalising?  A literal search for the
  characters (``str.contains_any``, Aho–Corasick) against the same test as a regex character
  class (``str.contains``) — on 200,000 numbers as read, one cell in 1,000 with full-width marks.

The two tests must agree on every cell.  ``JUNHENG_BENCH_ROWS`` changes the size.

    POLARS_MAX_THREADS=1 .venv/bin/python benchmarks/run.py fitness_checks
"""

from __future__ import annotations

import os
import statistics
import time

ROWS = int(os.environ.get("JUNHENG_BENCH_ROWS", "200000"))


def _cpu_ms(f, reps: int = 40) -> float:
    out = []
    for _ in range(reps):
        t = time.process_time()
        f()
        out.append(time.process_time() - t)
    return statistics.median(out) * 1e3


def main() -> None:
    import numpy as np
    import polars as pl

    from junheng.fitness.quantize import NEEDS_NORMALIZING, NORMALIZED_CHARS
    from junheng.registry.codes import check_char, student_id_keys

    bodies = [f"4101022011{k:07d}" for k in range(ROWS)]
    _, packed = student_id_keys(pl.Series("sid", ["G" + b + check_char(b) for b in bodies]))
    keys = pl.Series(packed)
    count, mark = _cpu_ms(keys.n_unique), _cpu_ms(keys.is_duplicated)
    print(f"template_io, {ROWS:,} ids: n_unique {count:.2f} ms CPU, is_duplicated {mark:.2f} ms "
          f"(ratio {mark / count:.1f}×)")

    values = [f"{x:.1f}" for x in np.random.default_rng(1).normal(150, 20, ROWS)]
    for i in range(0, ROWS, 1000):
        values[i] = "１５０.５"
    cells = pl.Series("x", values)
    assert cells.str.contains_any(NORMALIZED_CHARS).equals(cells.str.contains(NEEDS_NORMALIZING))
    literal = _cpu_ms(lambda: cells.str.contains_any(NORMALIZED_CHARS))
    regex = _cpu_ms(lambda: cells.str.contains(NEEDS_NORMALIZING))
    print(f"quantize, {ROWS:,} cells: contains_any {literal:.2f} ms CPU, regex class {regex:.2f} ms "
          f"(ratio {regex / literal:.1f}×)")


if __name__ == "__main__":
    main()
