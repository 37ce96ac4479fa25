"""The pupils' sign-in by login code with thousands of sessions open at once (issue 15.2).

Seeds a throw-away SQLite database with ``BENCH_SIGNIN_SESSIONS`` sessions open now (the demo has
23,288 on test day), each with ``BENCH_SIGNIN_CODES`` login codes, and times
``delivery.services.find_login`` for right and wrong codes:

- keyed (now): the code's lookup key (an HMAC under the server secret) finds its rows in one
  indexed query, then the salted hash is checked;
- unkeyed (the baseline, in the same run): the same rows with ``lookup`` emptied, as rows stored
  before the key existed are — the code hashed once per open session and looked up among those
  hashes, which is what every sign-in cost before.

Prints milliseconds per sign-in (median of the repetitions, CPU and wall) and the ratio
unkeyed / keyed.  ``python benchmarks/run.py signin`` (env: BENCH_SIGNIN_SESSIONS,
BENCH_SIGNIN_CODES, BENCH_SIGNIN_REPEAT).
"""

from __future__ import annotations

import json
import os
import sys
import time

from _django_worker import run_worker  # benchmarks/ is on the path

SESSIONS = int(os.environ.get("BENCH_SIGNIN_SESSIONS", "5000"))
CODES = int(os.environ.get("BENCH_SIGNIN_CODES", "8"))
REPEAT = int(os.environ.get("BENCH_SIGNIN_REPEAT", "20"))


def _timed(fn) -> tuple[float, float]:
    c, w = time.process_time(), time.perf_counter()
    fn()
    return time.process_time() - c, time.perf_counter() - w


def worker() -> dict:
    from junheng_web.bootstrap import setup

    setup()
    import datetime as dt

    import numpy as np
    from django.utils import timezone

    from junheng.materials import hash_code
    from junheng_web.delivery.services import find_login
    from junheng_web.registry.models import Cycle, Region
    from junheng_web.testsites.models import LoginCode, TestSession, TestSite
    from junheng_web.testsites.services import code_lookup, code_salt

    now = timezone.now()
    county = Region.objects.create(code="410101", level="county", name="基准县")
    cycle = Cycle.objects.create(year=2030, grade=6, subjects=["语文"])
    site = TestSite.objects.create(cycle=cycle, county=county, code="T1", name="基准测试点")
    TestSession.objects.bulk_create([TestSession(site=site, subject="语文", room=f"{k:05d}",
                                                 starts_at=now - dt.timedelta(minutes=5),
                                                 ends_at=now + dt.timedelta(hours=2)) for k in range(SESSIONS)])
    sessions = list(TestSession.objects.select_related("site"))
    rng = np.random.default_rng(15)
    alphabet = np.array(list("34679ACDEFGHJKMNPQRTWXY"))
    codes = ["".join(c) for c in alphabet[rng.integers(0, len(alphabet), size=(SESSIONS * CODES, 8))]]
    rows = [LoginCode(session=s, student_id=f"{k:05d}{j:02d}", code_hash=hash_code(codes[k * CODES + j], code_salt(s)),
                      lookup=code_lookup(codes[k * CODES + j]))
            for k, s in enumerate(sessions) for j in range(CODES)]
    LoginCode.objects.bulk_create(rows, batch_size=5000)
    right = [codes[int(i)] for i in rng.choice(len(codes), size=2 * REPEAT, replace=False)]
    wrong = ["".join(c) for c in alphabet[rng.integers(0, len(alphabet), size=(REPEAT, 8))]]
    wrong = [w for w in wrong if w not in set(codes)]

    def measure(label: str, right_codes: list[str]) -> dict:
        out = {}
        for kind, batch in (("right", right_codes), ("wrong", wrong)):
            cpu, wall = [], []
            for code in batch:
                found: list = []
                c, w = _timed(lambda code=code, found=found: found.append(find_login(code, now=now)))
                assert (found[0] is not None) == (kind == "right"), (label, kind, code)
                cpu.append(c)
                wall.append(w)
            out[kind] = {"cpu_ms": 1000 * float(np.median(cpu)), "wall_ms": 1000 * float(np.median(wall))}
        return out

    keyed = measure("keyed", right[:REPEAT])
    LoginCode.objects.update(lookup=None)
    unkeyed = measure("unkeyed", right[REPEAT:])  # each right code once: its first sign-in writes its key
    return {"sessions": SESSIONS, "codes": SESSIONS * CODES, "keyed": keyed, "unkeyed": unkeyed}


def main() -> None:
    r = run_worker(__file__, "junheng-bench-signin-")
    print(f"  {r['sessions']:,} sessions open, {r['codes']:,} login codes (SQLite); median of {REPEAT} sign-ins")
    print(f"  {'':8} {'unkeyed (old) ms':>18} {'keyed (new) ms':>16} {'ratio':>8}")
    for kind in ("right", "wrong"):
        for what in ("cpu_ms", "wall_ms"):
            old, new = r["unkeyed"][kind][what], r["keyed"][kind][what]
            print(f"  {kind + ' ' + what[:-3]:8} {old:18.2f} {new:16.2f} {old / max(new, 1e-6):7.0f}×")


if __name__ == "__main__":
    if sys.argv[1:] == ["--worker"]:
        print(json.dumps(worker()))
    else:
        main()
