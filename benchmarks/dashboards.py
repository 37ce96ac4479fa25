"""The province dashboards under load (issue 14, "province dashboards" row): gunicorn + PostgreSQL.

Starts a throw-away PostgreSQL server, fills it with the demo's own stages (synthetic province →
registry import → sample → fitness → academic scores → weights, at ``BENCH_DASH_SCALE`` of the
demo: 1 ≈ 168,000 sampled pupils), starts gunicorn on loopback and lets ``BENCH_DASH_OPERATORS``
(default 100) signed-in operators — province, city and county users — open the result pages with
no think time: the fitness dashboard, the academic dashboard and the collection progress of their
own region (the province users the province's).

Two phases in the same run, same data, same server, same clients:

* **before** — the pages as they were: the figures cached per gunicorn process in local memory
  (``JUNHENG_CACHE=locmem``, Django's default), each process computing each page once, and
  the cache stamp (aggregate queries over the region's records) checked on every request;
* **after** — the shared cache (``JUNHENG_CACHE=db``: one cache table for every gunicorn process
  and machine), the figures precomputed once after the data changed
  (``manage.py warm_dashboards``, which the import jobs run themselves), and the stamps read
  from the cycle's data version.

Prints p50/p99 and requests/s per page and the before/after ratio.
``python benchmarks/run.py dashboards`` (env: BENCH_DASH_SCALE, BENCH_DASH_SECONDS,
BENCH_DASH_OPERATORS, BENCH_DASH_WORKERS).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[0]
SCALE = float(os.environ.get("BENCH_DASH_SCALE", "0.1"))
SECONDS = float(os.environ.get("BENCH_DASH_SECONDS", "30"))
OPERATORS = int(os.environ.get("BENCH_DASH_OPERATORS", "100"))
WORKERS = int(os.environ.get("BENCH_DASH_WORKERS", str(2 * (os.cpu_count() or 2) + 1)))
THINK = float(os.environ.get("BENCH_DASH_THINK", "0"))  # seconds an operator reads a page (0: saturation)
REUSE = os.environ.get("BENCH_DASH_DATABASE_URL")  # a database this benchmark seeded before (skips seeding)
PASSWORD = "bench password 2022!"


def _web():
    spec = importlib.util.spec_from_file_location("bench_web_helpers", HERE / "web.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def seed(out: Path) -> dict:
    """The demo's stages up to the weights, into the database of ``JUNHENG_DATABASE_URL``; the
    operators (province, city, county users) with their regions."""
    from junheng_cli.demo import DemoContext
    from junheng_cli.demo.academic import demo_stage as academic
    from junheng_cli.demo.fitness import demo_stage as fitness
    from junheng_cli.demo.province import demo_stage as province
    from junheng_cli.demo.registry import demo_stage as registry
    from junheng_cli.demo.sample import sample_stage, weights_stage

    ctx = DemoContext(out=out, scale=SCALE, seed=2022)
    for stage in (province, registry, sample_stage, fitness, academic, weights_stage):
        t = time.perf_counter()
        stage(ctx)
        print(f"  seed: {stage.__module__.rsplit('.', 1)[-1]}.{stage.__name__} {time.perf_counter() - t:.1f} s",
              flush=True)
    from django.contrib.auth.hashers import make_password

    from junheng_web.accounts.models import User
    from junheng_web.registry.models import Cycle, Region

    pw = make_password(PASSWORD)
    cycle = Cycle.objects.order_by("-year").first()
    cities = list(Region.objects.filter(level="city").order_by("code"))
    counties = list(Region.objects.filter(level="county").order_by("code"))
    ops = []
    for i in range(OPERATORS):
        if i % 10 < 4:
            user = User.objects.create(username=f"prov-{i}", role="province_analyst", password=pw)
            ops.append((user.username, None))
        elif i % 10 < 7:
            city = cities[i % len(cities)]
            user = User.objects.create(username=f"city-{i}", role="city", region=city, password=pw)
            ops.append((user.username, city.code))
        else:
            county = counties[i % len(counties)]
            user = User.objects.create(username=f"county-{i}", role="county", region=county, password=pw)
            ops.append((user.username, county.code))
    return {"cycle": cycle.pk, "operators": ops}


class _Existing:
    def __init__(self, url: str) -> None:
        self.url = url

    def __enter__(self) -> str:
        return self.url

    def __exit__(self, *exc) -> None:
        pass


def _operators() -> dict:
    from junheng_web.accounts.models import User
    from junheng_web.registry.models import Cycle

    ops = [(u.username, u.region.code if u.region_id else None)
           for u in User.objects.filter(username__regex=r"^(prov|city|county)-[0-9]+$").select_related("region")]
    return {"cycle": Cycle.objects.order_by("-year").first().pk, "operators": ops[:OPERATORS]}


def _pages(cycle: int, code: str | None) -> list[tuple[str, str]]:
    region = f"{code}/" if code else ""
    return [("fitness dashboard", f"/cycles/{cycle}/dashboard/{region}"),
            ("academic dashboard", f"/cycles/{cycle}/academic/{region}"),
            ("progress", f"/cycles/{cycle}/progress/")]


_rng = __import__("random").Random(7)


def _work(op, cycle: int, code: str | None, until: float, timings: dict, errors: list) -> None:
    while time.perf_counter() < until:
        for name, path in _pages(cycle, code):
            t = time.perf_counter()
            try:
                status = op.request(path)[0]
            except OSError:  # a timeout (120 s): counted with its time, as an error
                status = "timeout"
            timings[name].append(time.perf_counter() - t)
            if status != 200:
                errors.append((name, status))
            if THINK:
                time.sleep(THINK * (0.5 + _rng.random()))


def _phase(web, label: str, env: dict, world: dict, warm: bool) -> dict:
    port = web._free_port()
    if warm:  # what the import jobs do after an import: the pages of the regions the operators open
        t = time.perf_counter()
        codes = sorted({code or "province" for _, code in world["operators"]})
        subprocess.run([sys.executable, "-m", "junheng_web.manage", "warm_dashboards",
                        *[a for c in codes for a in ("--region", c)]], env=env, cwd=ROOT, check=True)
        print(f"  {label}: dashboards precomputed in {time.perf_counter() - t:.1f} s", flush=True)
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "junheng_web.wsgi", "-b", f"127.0.0.1:{port}",
                               "-w", str(WORKERS), "--threads", "4", "--timeout", "300", "--log-level", "warning"],
                              env=env, cwd=ROOT)
    try:
        base = f"http://127.0.0.1:{port}"
        web.wait_until_up(base)
        ops = []
        for username, code in world["operators"]:
            op = web.Operator(base)
            op.login(username)
            ops.append((op, code))
        timings, errors = defaultdict(list), []
        until = time.perf_counter() + SECONDS
        threads = [threading.Thread(target=_work, args=(op, world["cycle"], code, until, timings, errors))
                   for op, code in ops]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - t0
        total = sum(len(v) for v in timings.values())
        print(f"  -- {label}: {len(ops)} operators, {total} requests in {wall:.1f} s = {total / wall:.1f} req/s; "
              f"errors {len(errors)} {sorted(set(errors))[:5]}; load average {os.getloadavg()[0]:.1f}", flush=True)
        out = {}
        for name, ts in sorted(timings.items()):
            a = np.array(ts) * 1000
            out[name] = (len(a) / wall, np.percentile(a, 50), np.percentile(a, 99))
            print(f"  {label:<7} {name:<20} {len(a):>6} req {out[name][0]:7.1f} req/s  p50 {out[name][1]:8.1f} ms  "
                  f"p99 {out[name][2]:8.1f} ms", flush=True)
        allt = np.concatenate([np.array(v) for v in timings.values()]) * 1000
        out["all pages"] = (len(allt) / wall, np.percentile(allt, 50), np.percentile(allt, 99))
        return out
    finally:
        server.terminate()
        server.wait(timeout=60)


def main() -> None:
    web = _web()
    home = Path(tempfile.mkdtemp(prefix="junheng-bench-dash."))
    with (_Existing(REUSE) if REUSE else web.Postgres()) as url:
        (home / "var" / "staticfiles").mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "JUNHENG_HOME": str(home / "var"), "JUNHENG_DATABASE_URL": url, "JUNHENG_DEBUG": "0",
               "JUNHENG_SECURE": "0", "JUNHENG_ALLOWED_HOSTS": "127.0.0.1,localhost",
               "DJANGO_SETTINGS_MODULE": "junheng_web.settings"}
        os.environ.update({k: env[k] for k in ("JUNHENG_HOME", "JUNHENG_DATABASE_URL")})
        t = time.perf_counter()
        from junheng_web.bootstrap import setup

        setup()
        if REUSE:
            world = _operators()
        else:
            world = seed(home / "demo")
        print(f"  seeded the demo at scale {SCALE} in {time.perf_counter() - t:.1f} s; gunicorn {WORKERS} workers × 4 "
              f"threads; {SECONDS:.0f} s per phase on {os.cpu_count()} cores", flush=True)
        before = _phase(web, "before", {**env, "JUNHENG_CACHE": "locmem", "JUNHENG_DASHBOARD_FRESHNESS": "0"},
                        world, warm=False)
        after = _phase(web, "after", {**env, "JUNHENG_CACHE": "db"}, world, warm=True)
        for name in before:
            b, a = before[name], after.get(name)
            if a:
                print(f"  ratio {name:<20} p50 before/after {b[1] / a[1]:7.1f}×  p99 before/after {b[2] / a[2]:7.1f}×  "
                      f"req/s after/before {a[0] / b[0]:6.1f}×  (p99 after {a[2]:.0f} ms)")
    shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
