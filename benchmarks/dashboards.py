"""The province dashboards under load (issue 14, "province dashboards" row): gunicorn + PostgreSQL.

Starts a throw-away PostgreSQL server, fills it with the demo's own stages (synthetic province →
registry import → sample → fitness → academic scores → weights, at ``BENCH_DASH_SCALE`` of the
demo: 1 ≈ 168,000 sampled pupils), starts gunicorn on loopback and lets ``BENCH_DASH_OPERATORS``
(default 100) signed-in operators — 40 % province, 30 % city and 30 % county users — view the
result pages of their own region over and over: the fitness dashboard, the academic dashboard and
the collection progress.  A *page view* is what a browser does: the page's HTML, then the JSON its
chart draws (``data-src``); the static files (CSS, JS, ECharts) are in the browser's cache after
the first view and are not fetched.

Two workloads, each run against each server configuration:

* **stress** — no think time: every operator clicks again the moment a page has arrived (a closed
  loop), so the server is saturated and p99 ≈ operators ÷ throughput.  This is not how a hundred
  people use dashboards; it measures the throughput ceiling.
* **stress-new** (``BENCH_DASH_NEW_SECONDS`` > 0) — the stress workload with a new connection per
  request, as nginx opens one to gunicorn per request (docs/deploy.md: ``proxy_pass`` without an
  upstream ``keepalive``): gunicorn's gthread worker keeps a kept-alive connection to itself, so a
  client connected straight to gunicorn stays in one worker's queue however long it is, while a new
  connection is accepted by whichever worker is free.
* **realistic** — each operator reads a page before opening the next: a think time drawn uniformly
  from ``BENCH_DASH_THINK`` seconds (default ``5-15``, mean 10 s), each operator starting at a
  random moment of the first think time (no synchronised burst).  Why 5–15 s: a dashboard page is
  four or five headline figures, a chart and a table of the region's parts (up to 18 cities or a
  city's counties); reading the figures and finding one's own county takes a person several
  seconds at the least, and web analytics usually put the median time on such a page at 10–30 s —
  so 5–15 s is a heavy, not a light, use of the dashboards (100 operators ≈ 10 page views/s).
  **The goal (p99 < 1 s at 100 operators) is judged on this workload.**

The clients are cheap and kept apart from the server: they run in a separate process
(``--clients``), one thread per operator with one keep-alive connection each (``http.client``),
and read each body as bytes without decoding or parsing it.

The server configurations (``BENCH_DASH_CONFIGS``, default ``uncached,cached``):

* ``uncached`` — the pages as they were before issue 14: the figures cached per gunicorn process in
  local memory (``JUNHENG_CACHE=locmem``, Django's default), nothing shared, every stamp and
  every page rendered on every request (``JUNHENG_DASHBOARD_FRESHNESS=0``);
* ``cached`` — this tree as deployed: the shared cache (``JUNHENG_CACHE=db``), the figures
  precomputed after the data changed (``manage.py warm_dashboards``, which the import jobs run
  themselves), the pages' bodies rendered once per version of their figures;
* ``baseline`` — the ``cached`` configuration run from another source tree,
  ``BENCH_DASH_BASELINE_SRC`` (e.g. ``git worktree add /tmp/base <commit>`` and its ``src``): an
  in-run before/after of two commits on the same data and clients.

Prints per configuration and workload: p50/p99 and requests/s per page (and of its chart's JSON),
response sizes, the CPU seconds of gunicorn, of PostgreSQL and of the clients per page view, and
the ratios against the first configuration.
``python benchmarks/run.py dashboards`` (env: BENCH_DASH_SCALE, BENCH_DASH_SECONDS (stress,
default 30), BENCH_DASH_THINK_SECONDS (realistic, default 60), BENCH_DASH_THINK,
BENCH_DASH_OPERATORS, BENCH_DASH_WORKERS, BENCH_DASH_CONFIGS, BENCH_DASH_BASELINE_SRC, BENCH_DASH_PRELOAD,
BENCH_DASH_DATABASE_URL: a database this benchmark seeded before).
"""

from __future__ import annotations

import http.client
import importlib.util
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
from _cpu import cpu_of  # benchmarks/ is on the path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[0]
SCALE = float(os.environ.get("BENCH_DASH_SCALE", "0.1"))
SECONDS = float(os.environ.get("BENCH_DASH_SECONDS", "30"))
THINK_SECONDS = float(os.environ.get("BENCH_DASH_THINK_SECONDS", "60"))
# the stress workload again, each request on a new connection (BENCH_DASH_NEW_SECONDS, default 0: not run)
NEW_SECONDS = float(os.environ.get("BENCH_DASH_NEW_SECONDS", "0"))
THINK = tuple(float(x) for x in os.environ.get("BENCH_DASH_THINK", "5-15").split("-"))  # seconds a person reads a page
OPERATORS = int(os.environ.get("BENCH_DASH_OPERATORS", "100"))
WORKERS = int(os.environ.get("BENCH_DASH_WORKERS", str(2 * (os.cpu_count() or 2) + 1)))
CONFIGS = os.environ.get("BENCH_DASH_CONFIGS", "uncached,cached").split(",")
BASELINE_SRC = os.environ.get("BENCH_DASH_BASELINE_SRC")
# gunicorn --preload (as docs/deploy.md runs it): the application — every view — is imported once, in
# the master, before the workers fork; BENCH_DASH_PRELOAD=0 runs without it
PRELOAD = ["--preload"] if os.environ.get("BENCH_DASH_PRELOAD", "1") != "0" else []
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


def _pages(cycle: int, code: str | None) -> list[tuple[str, str, str]]:
    """(name, page, the JSON its chart loads) of an operator's three pages."""
    region = f"{code}/" if code else ""
    json_region = f"/{code}.json" if code else ".json"
    return [("fitness dashboard", f"/cycles/{cycle}/dashboard/{region}", f"/cycles/{cycle}/dashboard{json_region}"),
            ("academic dashboard", f"/cycles/{cycle}/academic/{region}", f"/cycles/{cycle}/academic{json_region}"),
            ("progress", f"/cycles/{cycle}/progress/", f"/cycles/{cycle}/progress.json")]


# ---- the clients (a separate process: ``dashboards.py --clients`` reads its orders on stdin) ----

def _get(conn_box: list, host: str, port: int, path: str, cookie: str, close: bool = False) -> tuple[int | str, int]:
    """GET ``path`` on the operator's keep-alive connection (reopened when the server closed it) —
    or, with ``close``, on a connection of its own, as nginx opens one to gunicorn per request:
    (status, body bytes); the body is read, not decoded."""
    for attempt in (0, 1):
        if conn_box[0] is None:
            conn_box[0] = http.client.HTTPConnection(host, port, timeout=120)
        conn = conn_box[0]
        try:
            conn.request("GET", path, headers={"Cookie": cookie, "Accept-Encoding": "identity",
                                               **({"Connection": "close"} if close else {})})
            resp = conn.getresponse()
            body = resp.read()
            if resp.getheader("Connection", "").lower() == "close":
                conn.close()
                conn_box[0] = None
            return resp.status, len(body)
        except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
            conn.close()
            conn_box[0] = None
            if attempt:
                return "closed", 0
        except OSError:  # a timeout (120 s): counted with its time, as an error
            conn.close()
            conn_box[0] = None
            return "timeout", 0
    return "closed", 0


def _operator(orders: dict, cookie: str, code: str | None, rng: random.Random, out: dict, lock) -> None:
    host, port, until, think = orders["host"], orders["port"], orders["until"], orders["think"]
    box: list = [None]
    mine = defaultdict(list)
    if think:  # a random start within the first think time
        time.sleep(rng.uniform(0, think[1]))
    while time.time() < until:
        for name, page, data in _pages(orders["cycle"], code):
            if time.time() >= until:
                break
            for label, path in ((name, page), (f"{name} JSON", data)):
                t = time.perf_counter()
                started = time.time() - orders["start"]
                status, size = _get(box, host, port, path, cookie, orders["close"])
                mine[label].append((time.perf_counter() - t, status, size, started))
            if think:
                time.sleep(rng.uniform(*think))
    with lock:
        for k, v in mine.items():
            out[k].extend(v)


def clients_main() -> None:
    orders = json.load(sys.stdin)
    out, lock = defaultdict(list), threading.Lock()
    threads = [threading.Thread(target=_operator, args=(orders, cookie, code, random.Random(i), out, lock))
               for i, (cookie, code) in enumerate(orders["operators"])]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ru = resource.getrusage(resource.RUSAGE_SELF)
    json.dump({"timings": out, "cpu": ru.ru_utime + ru.ru_stime}, sys.stdout)


# ---- the server side ----

def _postmaster(url: str) -> int | None:
    """The PID of the PostgreSQL server of ``url`` if it runs on this machine (its data folder's
    postmaster.pid), for its CPU seconds."""
    import psycopg

    try:
        with psycopg.connect(url) as conn:
            data = conn.execute("SHOW data_directory").fetchone()[0]
        return int((Path(data) / "postmaster.pid").read_text().split()[0])
    except Exception:  # noqa: BLE001 (a remote or unreadable server: its CPU is not counted)
        return None


def _sessions(world: dict) -> list[tuple[str, str | None]]:
    """A signed-in session per operator, made as Django's test client's ``force_login`` makes one
    (a hundred sign-ins would spend a minute of CPU on password hashing, which is not what is
    measured); the sessions live in the database, so every configuration's server accepts them.
    (Cookie header, region code) per operator."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    from junheng_web.accounts.models import User

    users = {u.username: u for u in User.objects.filter(username__in=[n for n, _ in world["operators"]])}
    out = []
    for username, code in world["operators"]:
        user = users[username]
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        out.append((f"{settings.SESSION_COOKIE_NAME}={session.session_key}", code))
    return out


def _configs(env: dict) -> list[tuple[str, dict, bool]]:
    """(name, server environment, precompute the pages first) of each configuration to run."""
    baseline = ("baseline", {**env, "JUNHENG_CACHE": "db", "PYTHONPATH": BASELINE_SRC}, True)
    out = []
    for name in CONFIGS:
        if name == "uncached":
            out.append((name, {**env, "JUNHENG_CACHE": "locmem", "JUNHENG_DASHBOARD_FRESHNESS": "0"}, False))
        elif name == "cached":
            out.append((name, {**env, "JUNHENG_CACHE": "db"}, True))
        elif name == "baseline":
            if not BASELINE_SRC:
                raise SystemExit("BENCH_DASH_CONFIGS has baseline: set BENCH_DASH_BASELINE_SRC to a tree's src folder")
            out.append(baseline)
        else:
            raise SystemExit(f"unknown configuration {name!r} (uncached, cached, baseline)")
    if BASELINE_SRC and "baseline" not in CONFIGS:
        out.insert(0, baseline)
    return out


def _phase(web, label: str, env: dict, world: dict, sessions: list, warm: bool, pg: int | None) -> dict:
    """Run both workloads against one server configuration; returns {workload: {page: figures}}."""
    from django.core.cache import cache

    cache.clear()  # nothing left by another configuration
    port = web._free_port()
    if warm:  # what the import jobs do after an import: the pages of the regions the operators open
        t = time.perf_counter()
        codes = sorted({code or "province" for _, code in world["operators"]})
        subprocess.run([sys.executable, "-m", "junheng_web.manage", "warm_dashboards",
                        *[a for c in codes for a in ("--region", c)]], env=env, cwd=ROOT, check=True)
        print(f"  {label}: dashboards precomputed in {time.perf_counter() - t:.1f} s", flush=True)
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "junheng_web.wsgi", "-b", f"127.0.0.1:{port}",
                               "-w", str(WORKERS), "--threads", "4", "--timeout", "300", "--keep-alive", "20",
                               *PRELOAD, "--log-level", "warning"], env=env, cwd=ROOT)
    results = {}
    try:
        web.wait_until_up(f"http://127.0.0.1:{port}")
        for workload, seconds, think, close in (("stress", SECONDS, None, False), ("stress-new", NEW_SECONDS, None, True),
                                                ("realistic", THINK_SECONDS, THINK, False)):
            if seconds <= 0:
                continue
            results[workload] = _run(label, workload, port, seconds, think, world, sessions, server.pid, pg, close)
    finally:
        server.terminate()
        server.wait(timeout=60)
    return results


def _run(label: str, workload: str, port: int, seconds: float, think, world: dict, sessions: list,
         server_pid: int, pg: int | None, close: bool = False) -> dict:
    orders = {"host": "127.0.0.1", "port": port, "cycle": world["cycle"], "start": time.time(),
              "until": time.time() + seconds,
              "think": think, "close": close, "operators": sessions}
    cpu0 = (cpu_of(server_pid), cpu_of(pg) if pg else 0.0)
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--clients"], input=json.dumps(orders),
                          capture_output=True, text=True, check=True)
    wall = time.perf_counter() - t0
    server_cpu, pg_cpu = cpu_of(server_pid) - cpu0[0], (cpu_of(pg) - cpu0[1]) if pg else float("nan")
    got = json.loads(proc.stdout)
    timings = got["timings"]
    views = sum(len(v) for k, v in timings.items() if not k.endswith("JSON"))
    total = sum(len(v) for v in timings.values())
    errors = sorted({(k, r[1]) for k, v in timings.items() for r in v if r[1] != 200})
    think_text = (f"think {think[0]:g}–{think[1]:g} s" if think else "no think time") + (", a new connection per request" if close else "")
    print(f"  -- {label} / {workload} ({think_text}): {len(sessions)} operators, {views} page views "
          f"({total} requests) in {wall:.1f} s = {total / wall:.1f} req/s; errors {len(errors)} {errors[:5]}; "
          f"load average {os.getloadavg()[0]:.1f}", flush=True)
    print(f"     CPU per page view: gunicorn {1000 * server_cpu / max(views, 1):.1f} ms, PostgreSQL "
          f"{1000 * pg_cpu / max(views, 1):.1f} ms, clients {1000 * got['cpu'] / max(views, 1):.1f} ms "
          f"(gunicorn {server_cpu:.1f} s, PostgreSQL {pg_cpu:.1f} s, clients {got['cpu']:.1f} s in all)", flush=True)
    out = {}
    for name, rows in sorted(timings.items()):
        a = np.array([r[0] for r in rows]) * 1000
        size = np.median([r[2] for r in rows])
        out[name] = (len(a) / wall, np.percentile(a, 50), np.percentile(a, 99))
        print(f"  {label:<9} {workload:<9} {name:<24} {len(a):>6} req {out[name][0]:6.1f} req/s  "
              f"p50 {out[name][1]:8.1f} ms  p99 {out[name][2]:8.1f} ms  {size / 1024:7.1f} KiB", flush=True)
    pages = np.concatenate([np.array([r[0] for r in v]) for k, v in timings.items() if not k.endswith("JSON")]) * 1000
    out["all pages"] = (len(pages) / wall, np.percentile(pages, 50), np.percentile(pages, 99))
    print(f"  {label:<9} {workload:<9} {'all pages (HTML)':<24} {len(pages):>6} req {out['all pages'][0]:6.1f} req/s  "
          f"p50 {out['all pages'][1]:8.1f} ms  p99 {out['all pages'][2]:8.1f} ms", flush=True)
    _timeline(timings, seconds)
    return out


def _timeline(timings: dict, seconds: float) -> None:
    """When the slow requests were sent: per sixth of the run, the requests started then (HTML and
    JSON), their p50, p99 and slowest — a tail from the first seconds (cold workers, first
    renderings) reads differently from one spread over the run (queueing, renewals)."""
    rows = np.array([(r[3], r[0]) for v in timings.values() for r in v if len(r) > 3])
    if not len(rows):
        return
    step = seconds / 6
    for k in range(6):
        lat = rows[(rows[:, 0] >= k * step) & (rows[:, 0] < (k + 1) * step), 1] * 1000
        if len(lat):
            print(f"     sent {k * step:5.1f}–{(k + 1) * step:5.1f} s: {len(lat):>6} req  p50 {np.percentile(lat, 50):8.1f} ms"
                  f"  p99 {np.percentile(lat, 99):8.1f} ms  max {lat.max():8.1f} ms  over 1 s {int((lat > 1000).sum())}",
                  flush=True)


def main() -> None:
    web = _web()
    home = Path(tempfile.mkdtemp(prefix="junheng-bench-dash."))
    with (_Existing(REUSE) if REUSE else web.Postgres()) as url:
        (home / "var" / "staticfiles").mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "JUNHENG_HOME": str(home / "var"), "JUNHENG_DATABASE_URL": url, "JUNHENG_DEBUG": "0",
               "JUNHENG_SECURE": "0", "JUNHENG_ALLOWED_HOSTS": "127.0.0.1,localhost",
               "DJANGO_SETTINGS_MODULE": "junheng_web.settings"}
        os.environ.update({k: env[k] for k in ("JUNHENG_HOME", "JUNHENG_DATABASE_URL", "DJANGO_SETTINGS_MODULE")})
        t = time.perf_counter()
        from junheng_web.bootstrap import setup

        setup()
        world = _operators() if REUSE else seed(home / "demo")
        print(f"  seeded the demo at scale {SCALE} in {time.perf_counter() - t:.1f} s; gunicorn {WORKERS} workers × 4 "
              f"threads{' --preload' if PRELOAD else ''}; stress {SECONDS:.0f} s and realistic {THINK_SECONDS:.0f} s per configuration on "
              f"{os.cpu_count()} cores", flush=True)
        sessions = _sessions(world)
        pg = _postmaster(url)
        results = {label: _phase(web, label, cfg_env, world, sessions, warm, pg)
                   for label, cfg_env, warm in _configs(env)}
        labels = list(results)
        for label in labels[1:]:
            for workload in ("stress", "stress-new", "realistic"):
                b, a = results[labels[0]].get(workload, {}), results[label].get(workload, {})
                for name in b:
                    if name in a:
                        print(f"  ratio {labels[0]}/{label} {workload:<9} {name:<24} p50 {b[name][1] / a[name][1]:7.1f}×  "
                              f"p99 {b[name][2] / a[name][2]:7.1f}×  req/s {a[name][0] / b[name][0]:6.2f}×  "
                              f"(p99 {label} {a[name][2]:.0f} ms)")
        last = results[labels[-1]].get("realistic", {}).get("all pages")
        if last:
            print(f"  goal (realistic workload, {OPERATORS} operators): p99 < 1000 ms — {labels[-1]}: p99 "
                  f"{last[2]:.0f} ms: {'met' if last[2] < 1000 else 'NOT met'}")
    shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    if sys.argv[1:] == ["--clients"]:
        clients_main()
    else:
        main()
