"""The cost of ``synchronous=FULL`` (issue 12.10) on the two write paths it protects, SQLite in WAL.

- test day: the answers API commits small batches (one request = one transaction of a few answer
  rows into a table shaped like ``delivery_answer``, with its index);
- import: one transaction of many roster rows.

Measured with ``synchronous=NORMAL`` (the baseline, the former setting) and ``FULL`` (now) on the
same machine and disk, in the same run; prints commits/s, rows/s and the ratio FULL/NORMAL.
``python benchmarks/run.py durability`` (env: BENCH_DURABILITY_COMMITS, BENCH_DURABILITY_ROWS).
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
import time
import uuid
from pathlib import Path

COMMITS = int(os.environ.get("BENCH_DURABILITY_COMMITS", "2000"))
ROWS = int(os.environ.get("BENCH_DURABILITY_ROWS", "200000"))
ANSWERS_PER_REQUEST = 3


def _connect(path: Path, sync: str) -> sqlite3.Connection:
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute(f"PRAGMA synchronous={sync}")
    con.execute("CREATE TABLE IF NOT EXISTS answer (id TEXT PRIMARY KEY, attempt TEXT, item INTEGER, raw TEXT, "
                "seq INTEGER, received_at TEXT)")
    con.execute("CREATE INDEX IF NOT EXISTS answer_k ON answer (attempt, item, seq)")
    con.execute("CREATE TABLE IF NOT EXISTS pupil (student_id TEXT PRIMARY KEY, name TEXT, school INTEGER, "
                "sex TEXT, birth TEXT)")
    return con


def _answers(con: sqlite3.Connection) -> float:
    attempt, seq = uuid.uuid4().hex, 0
    t0 = time.perf_counter()
    for _ in range(COMMITS):
        con.execute("BEGIN")
        for _ in range(ANSWERS_PER_REQUEST):
            seq += 1
            con.execute("INSERT INTO answer VALUES (?, ?, ?, ?, ?, datetime('now'))",
                        (uuid.uuid4().hex, attempt, seq % 40, "B", seq))
        con.execute("COMMIT")
    return COMMITS / (time.perf_counter() - t0)


def _import(con: sqlite3.Connection) -> float:
    rows = [(f"G{k:018d}", f"学生{k}", k % 500, "男女"[k % 2], "2011-03-01") for k in range(ROWS)]
    t0 = time.perf_counter()
    con.execute("BEGIN")
    con.executemany("INSERT INTO pupil VALUES (?, ?, ?, ?, ?)", rows)
    con.execute("COMMIT")
    return ROWS / (time.perf_counter() - t0)


def main() -> None:
    results = {}
    with tempfile.TemporaryDirectory(prefix="junheng-bench-sync.", dir=os.environ.get("BENCH_TMPDIR")) as tmp:
        for sync in ("NORMAL", "FULL"):
            con = _connect(Path(tmp) / f"{sync}.sqlite3", sync)
            results[sync] = (_answers(con), _import(con))
            con.close()
    for sync, (commits, rows) in results.items():
        print(f"synchronous={sync:<6}  answers: {commits:8.0f} commits/s ({ANSWERS_PER_REQUEST} rows each)   "
              f"import: {rows:9.0f} rows/s ({ROWS:,} rows, one transaction)")
    n, f = results["NORMAL"], results["FULL"]
    print(f"FULL / NORMAL: answers {f[0] / n[0]:.2f}×, import {f[1] / n[1]:.2f}× the throughput")


if __name__ == "__main__":
    main()
