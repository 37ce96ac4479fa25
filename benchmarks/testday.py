"""Test day under load (issue 15, "Measure"): simulated pupils driven by locust against gunicorn.

**Site node** (2 cores, SQLite): the platform on SQLite under gunicorn (2 workers × 4 threads, as a
school laptop would run it), one test site with ``BENCH_TESTDAY_PUPILS`` pupils (default 300) in
rooms of 30, each with a 24-item 数学 booklet of the original bank (``junheng.synth.bank``).  Every
pupil signs in (``GET /test/``, ``POST /test/``), confirms, opens the test page, then sends answer
changes one by one as the page does: at the real rate — 36 changes in a 60-minute test (24 items
and some second thoughts), one every 100 s per pupil — and at 5× that rate (one every 20 s).
Prints p50/p99 per endpoint for both rates; the goal is p99 < 100 ms at the real rate.

**Central mode** (``BENCH_TESTDAY_CENTRAL=1``, PostgreSQL): the same app under gunicorn on a
throw-away PostgreSQL (``benchmarks/web.py``'s ``Postgres``), pupils without think time: first
everyone signs in, then everyone sends answers as fast as the server takes them.  Prints
requests/s and requests per CPU-second of the server's processes (gunicorn workers + PostgreSQL)
— requests/s per core — for sign-in and answers, the figures docs/guide/delivery.md sizes the
province's test day with.

**The idle poll** (both modes, a phase of its own after the others): pupils who have signed in and
opened the test page, each asking ``GET /test/status/?lease=n&at=ms`` every ``BENCH_TESTDAY_POLL``
seconds as an idle page does (default 10, the page's ``JUNHENG_PUPIL_POLL_SECONDS``, which the
server gets too, so its heartbeat spans are those of that period).  The server's CPU is taken only
after every poller has signed in and polled once, so it is the polls' alone: prints polls per
server CPU-second (gunicorn, + PostgreSQL in central mode).  A shorter period with fewer pupils is
the same load per poll as the page's 10 s with more (each poll's heartbeat write depends only on
the period, which the server is told).

The baseline in the same run is the sign-in page (a template, no database work): each endpoint's
p99 is printed as a ratio to it.  The load generator runs on the same machine and takes CPU from
the server: the figures are an upper bound of the server's latency for that reason.

``python benchmarks/run.py testday`` (env BENCH_TESTDAY_PUPILS, BENCH_TESTDAY_SECONDS — seconds per
rate after the last pupil has signed in, default 240 —, BENCH_TESTDAY_SPAWN — sign-ins per second,
default 2 —, BENCH_TESTDAY_WORKERS, BENCH_TESTDAY_CENTRAL, BENCH_TESTDAY_POLL, BENCH_TESTDAY_ONLY_POLL=1 — the poll
phase alone —, BENCH_TESTDAY_KEEP_ALIVE — gunicorn's ``--keep-alive``, default the site node's —,
BENCH_TESTDAY_CONN_MAX_AGE — the database connections' ``CONN_MAX_AGE``, default the platform's).  Needs locust (the bench extra).
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from _cpu import cpu_of  # benchmarks/ is on the path

from junheng_cli.site import keep_alive_seconds

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
PUPILS = int(os.environ.get("BENCH_TESTDAY_PUPILS", "300"))
SECONDS = float(os.environ.get("BENCH_TESTDAY_SECONDS", "240"))
WORKERS = int(os.environ.get("BENCH_TESTDAY_WORKERS", "2"))
CENTRAL = os.environ.get("BENCH_TESTDAY_CENTRAL", "") not in ("", "0")
ROOM = 30
REAL_INTERVAL = 100.0  # seconds between one pupil's answer changes at the real rate
SPAWN = float(os.environ.get("BENCH_TESTDAY_SPAWN", "2"))  # pupils signing in per second (300 in 2.5 minutes)
POLL = float(os.environ.get("BENCH_TESTDAY_POLL", "10"))  # seconds between an idle page's status polls
ONLY_POLL = os.environ.get("BENCH_TESTDAY_ONLY_POLL", "") not in ("", "0")  # the poll phase alone (an A/B of it)
KEEP_ALIVE = os.environ.get("BENCH_TESTDAY_KEEP_ALIVE", "")  # gunicorn's --keep-alive (default: the site node's)
CONN_MAX_AGE = os.environ.get("BENCH_TESTDAY_CONN_MAX_AGE", "")  # the database's CONN_MAX_AGE (default: the platform's)


def _web():
    spec = importlib.util.spec_from_file_location("bench_web", HERE / "web.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def seed(out: Path) -> None:
    """The site, its sessions (open now for two hours), pupils, booklets and login codes; writes
    the codes to ``out`` (run in a subprocess: the load generator's gevent must not patch Django)."""
    import polars as pl

    from junheng.registry.codes import check_char
    from junheng.synth import synth_tests
    from junheng_web.bootstrap import setup

    setup()
    from django.utils import timezone

    from junheng_web.assessment.services import store_test
    from junheng_web.registry.models import Cycle, Pupil, Region, School
    from junheng_web.testsites.models import TestSession, TestSite
    from junheng_web.testsites.services import store_login_codes

    n = 3 * PUPILS  # the two rates and the poll phase each sign in their own pupils (a pupil signs in once)
    prov = Region.objects.create(code="410000", level="province", name="河南省")
    city = Region.objects.create(code="410100", level="city", name="郑州市", parent=prov)
    county = Region.objects.create(code="410102", level="county", name="中原区", parent=city)
    school = School.objects.create(code="4101020001", name="甲小学", county=county, stage="小学", location="城区",
                                   enrol_g6=n)
    cycle = Cycle.objects.create(year=2022, grade=6, subjects=["数学"], name="2022 年六年级监测")
    ids = []
    for k in range(n):
        body = f"410102201103{k:05d}"
        ids.append("G" + body + check_char(body))
    Pupil.objects.bulk_create(Pupil(student_id=s, name=f"学生{k}", sex=1 + k % 2, birth_date=dt.date(2011, 3, 1),
                                    school=school, grade=6) for k, s in enumerate(ids))
    test = synth_tests(2022, subjects=("数学",))
    store_test(cycle, test.bank, test.designs, test.blocks,
               pl.DataFrame({"student_id": ids, "school_code": [school.code] * n, "subject": ["数学"] * n}),
               seed=7)
    site = TestSite.objects.create(cycle=cycle, county=county, code="T01", name="甲测试点")
    now = timezone.now()
    codes = {}
    for room in range(0, n, ROOM):
        session = TestSession.objects.create(site=site, subject="数学", room=str(room // ROOM + 1),
                                             starts_at=now - dt.timedelta(minutes=5), ends_at=now + dt.timedelta(hours=2))
        chunk = ids[room:room + ROOM]
        room_codes = [f"{uuid.uuid4().int % 10**8:08d}".translate(str.maketrans("0123456789", "ACDEFGHJKM"))
                      for _ in chunk]
        store_login_codes(session, pl.DataFrame({"student_id": chunk, "code": room_codes}))
        codes.update(dict(zip(chunk, room_codes)))
    out.write_text(json.dumps(list(codes.values())), encoding="utf-8")


def _serve(env: dict, port: int, web) -> subprocess.Popen:
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "junheng_web.wsgi", "-b", f"127.0.0.1:{port}",
                               "-w", str(WORKERS), "--threads", "4", "--timeout", "120", "--log-level", "warning",
                               # connections kept open past a poll period, as the site node keeps them
                               # (junheng_cli.site.keep_alive_seconds) and nginx the browsers' (75 s): at
                               # gunicorn's default 2 s a client asking every 2 s reused a connection the
                               # server was closing (2–6 % of requests reset; docs/guide/delivery.md)
                               "--keep-alive", KEEP_ALIVE or str(keep_alive_seconds(POLL))],
                              env=env, cwd=ROOT)
    try:
        web.wait_until_up(f"http://127.0.0.1:{port}")
    except BaseException:
        server.terminate()
        raise
    return server


def _pupil_class(codes: list[str], interval: float | None, *, poll: bool = False):
    """A locust user that behaves like the test page (see the module docstring): it answers every
    ``interval`` seconds (``None``: as fast as served), or with ``poll`` it only asks the idle
    page's status every ``interval`` seconds."""
    from locust import HttpUser, constant, constant_pacing, task
    from locust.exception import StopUser

    pool = iter(codes)

    class Pupil(HttpUser):
        abstract = True
        wait_time = constant_pacing(interval) if interval else constant(0)

        def on_start(self) -> None:
            self.code = next(pool)
            page = self.client.get("/test/", name="GET /test/ (sign-in page)").text
            token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
            self.client.post("/test/", {"code": self.code, "csrfmiddlewaretoken": token},
                             headers={"Referer": self.host + "/test/"}, name="POST /test/ (sign in)",
                             allow_redirects=False)
            self.client.get("/test/confirm/", name="GET /test/confirm/")
            with self.client.get("/test/take/", name="GET /test/take/", catch_response=True) as r:
                token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', r.text)
                found = re.search(r'<script id="delivery-data" type="application/json">(.*?)</script>', r.text, re.S)
                if not (token and found):
                    r.failure(f"no test page: {r.status_code} {r.text[:80]!r}")
                    raise StopUser()
            self.token, data = token.group(1), json.loads(found.group(1))
            self.lease, self.items, self.seq = data["lease"], [i for i in data["items"]], data["max_seq"]

    class Poller(Pupil):
        @task
        def status(self) -> None:
            if BASELINE["on"]:  # the in-run baseline: the same pages asking a file-backed view (all middleware)
                with self.client.get("/test/sw.js", name="GET /test/sw.js (baseline)", catch_response=True) as r:
                    if r.status_code != 200:
                        r.failure(f"baseline: {r.status_code} {r.error or ''}")
                return
            with self.client.get(f"/test/status/?lease={self.lease}&at={int(time.time() * 1000)}",
                                 name="GET /test/status/ (poll)", catch_response=True) as r:
                if r.status_code != 200 or r.json().get("moved") is not False:
                    r.failure(f"poll: {r.status_code} {r.error or r.text[:120]!r}")

    class Answerer(Pupil):
        @task
        def answer(self) -> None:
            item = self.items[self.seq % len(self.items)]
            raw = "ABCD"[self.seq % 4] if item["format"] == "single_choice" else str(self.seq)
            self.seq += 1
            change = {"id": str(uuid.uuid4()), "item": item["id"], "raw": raw, "seq": self.seq, "lease": self.lease,
                      "at": int(time.time() * 1000)}
            with self.client.post("/test/answers/", json={"lease": self.lease, "answers": [change]},
                                  headers={"X-CSRFToken": self.token, "Referer": self.host + "/test/take/"},
                                  name="POST /test/answers/", catch_response=True) as r:
                if r.status_code != 200 or r.json().get("ack") != [change["id"]]:
                    r.failure(f"not acknowledged: {r.status_code} {r.text[:120]}")

    return Poller if poll else Answerer


class SignInOnly:
    """Central mode, phase 1: sign-ins as fast as they are served (each user signs in once per loop)."""

    @staticmethod
    def make(codes: list[str]):
        from locust import HttpUser, constant, task

        class Signer(HttpUser):
            wait_time = constant(0)

            @task
            def sign_in(self) -> None:
                code = codes[int(uuid.uuid4().int % len(codes))]
                self.client.cookies.clear()
                page = self.client.get("/test/", name="GET /test/ (sign-in page)").text
                token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
                self.client.post("/test/", {"code": code, "csrfmiddlewaretoken": token},
                                 headers={"Referer": self.host + "/test/"}, name="POST /test/ (sign in)",
                                 allow_redirects=False)

        return Signer


def _drive(base: str, user_class, n: int, seconds: float, spawn_rate: float):
    """Run ``n`` users for ``seconds`` after they have all started; returns locust's stats and the
    wall time of the measured part (the ramp-up is measured too: sign-ins happen there)."""
    import gevent
    from locust.env import Environment

    env = Environment(user_classes=[user_class], host=base)
    runner = env.create_local_runner()
    t0 = time.perf_counter()
    runner.start(n, spawn_rate=spawn_rate)
    gevent.sleep(n / spawn_rate + seconds)
    runner.quit()
    return env.stats, time.perf_counter() - t0


BASELINE = {"on": False}  # the poll phase's pages ask the baseline request instead of the status


def _polls(base: str, codes: list[str], pids: list[int], where: str) -> None:
    """The idle poll's phase: ``len(codes)`` pages polling every ``POLL`` seconds; the server's CPU
    over ``SECONDS`` / 2 once every page has opened and polled (the sign-ins are not counted), and
    before it, over as long, the same pages asking ``/test/sw.js`` at the same pace instead — the
    in-run baseline: a request that passes all the middleware and reads no database (a file kept
    in memory), so the ratio poll / baseline is the poll's cost in units of the cheapest page."""
    import gevent
    from locust.env import Environment

    env = Environment(user_classes=[_pupil_class(codes, POLL, poll=True)], host=base)
    runner = env.create_local_runner()
    runner.start(len(codes), spawn_rate=max(SPAWN, 10))
    while env.stats.get("GET /test/take/", "GET").num_requests < len(codes):  # every page open (a loaded
        gevent.sleep(1)  # machine signs in slower than the spawn rate)
    gevent.sleep(POLL + 1)
    measured = {}
    for phase in ("baseline", "poll"):
        BASELINE["on"] = phase == "baseline"
        gevent.sleep(POLL)  # every page has switched
        env.stats.reset_all()
        cpu0, load0, t0 = cpu_of(*pids), os.getloadavg()[0], time.perf_counter()
        gevent.sleep(max(SECONDS / 2, 3 * POLL))
        cpu, wall = cpu_of(*pids) - cpu0, time.perf_counter() - t0
        rows = _print(phase, env.stats, wall)  # before stopping the users (their cut requests are no failures)
        name = "GET /test/sw.js (baseline)" if phase == "baseline" else "GET /test/status/ (poll)"
        sent, _rps, _p50, _p99, failed = rows.get(name, (0, 0, 0, 0, 0))
        count = sent - failed  # a failed request is a connection the server had closed: never served
        measured[phase] = 1000 * cpu / max(count, 1)
        print(f"  -- {where} {phase}: {len(codes)} pages every {POLL:g} s, {count} served in {wall:.0f} s; server CPU "
              f"{cpu:.1f} s = {measured[phase]:.2f} ms a request, {count / max(cpu, 1e-9):.0f} per server "
              f"CPU-second; machine load average {load0:.1f} → {os.getloadavg()[0]:.1f}")
    runner.quit()
    print(f"  -- {where} poll / baseline CPU per request: {measured['poll'] / max(measured['baseline'], 1e-9):.2f}×")


def _print(label: str, stats, wall: float) -> dict:
    out = {}
    for (name, _method), e in sorted(stats.entries.items()):
        if not e.num_requests:
            continue
        p50, p99 = e.get_response_time_percentile(0.5), e.get_response_time_percentile(0.99)
        out[name] = (e.num_requests, e.num_requests / wall, p50, p99, e.num_failures)
        print(f"  {label:<18} {name:<28} {e.num_requests:>6} req {e.num_requests / wall:7.1f} req/s  "
              f"p50 {p50:6.0f} ms  p99 {p99:6.0f} ms  failures {e.num_failures}")
    for err in sorted(stats.errors.values(), key=lambda x: -x.occurrences)[:5]:
        print(f"  {label:<18} failure ×{err.occurrences}: {err.name}: {str(err.error)[:120]}")
    return out


def main() -> None:
    try:
        import locust  # noqa: F401
    except ImportError:
        raise SystemExit("locust is not installed (pip install -e '.[bench]')") from None
    home = Path(tempfile.mkdtemp(prefix="junheng-bench-testday."))
    codes_file = home / "codes.json"
    web = _web()
    pg = web.Postgres() if CENTRAL else None
    url = pg.__enter__() if pg else None
    try:
        env = {**os.environ, "JUNHENG_HOME": str(home), "JUNHENG_DEBUG": "0", "JUNHENG_SECURE": "0",
               "JUNHENG_ALLOWED_HOSTS": "127.0.0.1,localhost", "DJANGO_SETTINGS_MODULE": "junheng_web.settings",
               "PYTHONPATH": str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", ""),
               "JUNHENG_PUPIL_POLL_SECONDS": f"{POLL:g}"}
        env.pop("JUNHENG_DATABASE_URL", None)
        if url:
            env["JUNHENG_DATABASE_URL"] = url
        if CONN_MAX_AGE:  # an A/B of persistent connections: the platform's settings with this one changed
            (home / "bench_settings.py").write_text(
                "from junheng_web.settings import *  # noqa: F403\n"
                f"DATABASES['default']['CONN_MAX_AGE'] = {float(CONN_MAX_AGE)!r}  # noqa: F405\n", encoding="utf-8")
            env["DJANGO_SETTINGS_MODULE"] = "bench_settings"
            env["PYTHONPATH"] = str(home) + os.pathsep + env["PYTHONPATH"]
        t = time.perf_counter()
        subprocess.run([sys.executable, __file__, "seed", str(codes_file)], env=env, check=True, cwd=ROOT)
        codes = json.loads(codes_file.read_text(encoding="utf-8"))
        print(f"  seeded {len(codes)} pupils ({PUPILS} per phase) in {len(codes) // ROOM} rooms, 24-item 数学 booklets "
              f"({time.perf_counter() - t:.1f} s); {'PostgreSQL' if url else 'SQLite'}; gunicorn {WORKERS} workers × 4 "
              f"threads, keep-alive {KEEP_ALIVE or keep_alive_seconds(POLL)} s, CONN_MAX_AGE "
              f"{CONN_MAX_AGE or 'the platform’s'}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        port = web._free_port()
        server = _serve(env, port, web)
        base = f"http://127.0.0.1:{port}"
        try:
            if ONLY_POLL:
                _polls(base, codes[2 * PUPILS:3 * PUPILS], [server.pid] + (_pg_pids(pg) if pg else []),
                       "central" if CENTRAL else "site node")
            elif CENTRAL:
                _central(base, codes, [server.pid] + (_pg_pids(pg) if pg else []))
            else:
                _site(base, codes, [server.pid])
        finally:
            server.terminate()
            server.wait(timeout=30)
    finally:
        if pg:
            pg.__exit__(None, None, None)
        import shutil

        shutil.rmtree(home, ignore_errors=True)


def _pg_pids(pg) -> list[int]:
    pid_file = Path(pg.data) / "postmaster.pid"
    return [int(pid_file.read_text().split()[0])] if pid_file.exists() else []


def _site(base: str, codes: list[str], pids: list[int]) -> None:
    """Both rates; besides the latencies, the server's CPU per request and its share of the node's
    two cores — what the latency would be made of on a laptop that runs nothing else."""
    results = {}
    for label, interval in (("real rate (1/100 s)", REAL_INTERVAL), ("5× rate (1/20 s)", REAL_INTERVAL / 5)):
        chosen = codes[:PUPILS] if not results else codes[PUPILS:2 * PUPILS]  # a pupil signs in once
        cpu0, load0 = cpu_of(*pids), os.getloadavg()[0]
        stats, wall = _drive(base, _pupil_class(chosen, interval), len(chosen), SECONDS, spawn_rate=SPAWN)
        cpu = cpu_of(*pids) - cpu0
        total = sum(e.num_requests for e in stats.entries.values())
        print(f"  -- {label}: {len(chosen)} pupils, {total} requests in {wall:.0f} s; server CPU {cpu:.1f} s = "
              f"{1000 * cpu / max(total, 1):.1f} ms per request, {100 * cpu / wall / 2:.1f} % of 2 cores; "
              f"machine load average {load0:.1f} → {os.getloadavg()[0]:.1f}")
        results[label] = _print(label, stats, wall)
    sign_page = results["real rate (1/100 s)"].get("GET /test/ (sign-in page)")
    if sign_page:
        base_p99 = sign_page[3]
        for label, rows in results.items():
            for name, (_n, _rps, _p50, p99, _f) in rows.items():
                print(f"  ratio {label:<18} {name:<28} p99 / sign-in page p99 = {p99 / max(base_p99, 1):5.1f}×")
    real = results["real rate (1/100 s)"]
    worst = max(v[3] for v in real.values())
    print(f"  goal p99 < 100 ms at the real rate: worst endpoint p99 {worst:.0f} ms — {'met' if worst < 100 else 'NOT met'}")
    _polls(base, codes[2 * PUPILS:3 * PUPILS], pids, "site node")


def _central(base: str, codes: list[str], pids: list[int]) -> None:
    """Requests per server CPU-second: the CPU of gunicorn and PostgreSQL over each phase, divided
    into its main requests (the sign-in POSTs; the answer POSTs, whose phase also has each user's
    one sign-in at its start)."""
    n = min(len(codes), 60)
    for label, user, main_name in (("sign-in", SignInOnly.make(codes), "POST /test/ (sign in)"),
                                   ("answers", _pupil_class(codes[:n], None), "POST /test/answers/")):
        cpu0 = cpu_of(*pids)
        stats, wall = _drive(base, user, n, SECONDS / 4, spawn_rate=20)
        cpu = cpu_of(*pids) - cpu0
        rows = _print(label, stats, wall)
        count, rps = rows[main_name][0], rows[main_name][1]
        print(f"  -- central {label}: {rps:.1f} {main_name} per s with {n} clients; {count / max(cpu, 1e-9):.1f} per "
              f"server CPU-second (gunicorn + PostgreSQL used {cpu:.0f} CPU-s in {wall:.0f} s)")
    _polls(base, codes[2 * PUPILS:3 * PUPILS], pids, "central")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "seed":
        seed(Path(sys.argv[2]))
    else:
        main()
