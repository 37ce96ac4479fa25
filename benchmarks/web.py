"""Load on the web platform: concurrent simulated operators against gunicorn + PostgreSQL.

Starts a throw-away PostgreSQL server (as .ci/run does) and gunicorn on loopback, seeds a
cycle (20 counties × 5 sampled schools × 30 pupils, half of them with fitness records), signs in
100 operators (80 school operators, 20 county users) and lets them work at once for a fixed
time: school operators open the upload page, upload a 30-row fitness file (the request stores it
and queues a job; ``manage.py runjobs`` workers check, score and store it, as in production), poll
the job's status every 0.5 s until it is done and open the job page; county users open the
collection-progress page and the county fitness dashboard.  "upload → result" is the time from
sending the file to the job being done.  Prints requests/s and p50/p99
latency per page, against a baseline measured in the same run: the same 100 clients on the
sign-in page (no database work beyond the session), and one county user plus one school operator alone ("1+1").

``python benchmarks/run.py web`` (env: BENCH_WEB_SECONDS, BENCH_WEB_OPERATORS, BENCH_WEB_WORKERS).
"""

from __future__ import annotations

import http.cookiejar
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
import uuid
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SECONDS = float(os.environ.get("BENCH_WEB_SECONDS", "20"))
OPERATORS = int(os.environ.get("BENCH_WEB_OPERATORS", "100"))
WORKERS = int(os.environ.get("BENCH_WEB_WORKERS", str(2 * (os.cpu_count() or 2) + 1)))
JOB_WORKERS = int(os.environ.get("BENCH_WEB_JOB_WORKERS", "2"))
COUNTIES, SCHOOLS_PER_COUNTY, PUPILS_PER_SCHOOL = 20, 5, 30
PASSWORD = "bench password 2022!"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(base: str, tries: int = 200) -> None:
    """Wait until the server at ``base`` answers its sign-in page."""
    for _ in range(tries):
        try:
            urllib.request.urlopen(base + "/accounts/login/", timeout=2)
            return
        except OSError:
            time.sleep(0.2)


class Postgres:
    """A throw-away PostgreSQL server in a temporary folder (fsync off: a benchmark, not a store)."""

    def __init__(self) -> None:
        bins = sorted(Path("/usr/lib/postgresql").glob("*/bin"))
        if not bins:
            raise SystemExit("PostgreSQL binaries not found (scripts/ensure-system-deps)")
        self.bin = bins[-1]
        self.data = Path(tempfile.mkdtemp(prefix="junheng-bench-pg."))
        self.port = _free_port()
        self.root = os.getuid() == 0
        if self.root:
            shutil.chown(self.data, "postgres")

    def _run(self, *args: str) -> None:
        cmd = [str(self.bin / args[0]), *args[1:]]
        if self.root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)

    def __enter__(self) -> str:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8")
        self._run("pg_ctl", "-D", str(self.data), "-w", "-l", str(self.data / "log"), "-o",
                  f"-p {self.port} -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off "
                  f"-c full_page_writes=off -c max_connections=300", "start")
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "junheng")
        return f"postgresql://postgres@127.0.0.1:{self.port}/junheng"

    def __exit__(self, *exc) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.data, ignore_errors=True)


def seed(home: Path) -> dict:
    """The cycle, sample, fitness records and accounts; returns the operators and upload files."""
    import datetime as dt

    import polars as pl

    from junheng.fitness import national_upload, write_table
    from junheng.registry.codes import check_char
    from junheng.synth.fitness import fitness_results
    from junheng_web.bootstrap import setup

    setup()
    from django.contrib.auth.hashers import make_password

    from junheng_web.accounts.models import User
    from junheng_web.fitness.services import import_fitness
    from junheng_web.registry.models import Cycle, Pupil, Region, School
    from junheng_web.sampling.models import SampledPupil, SampledSchool, SampleRun

    prov = Region.objects.create(code="410000", level="province", name="河南省")
    cities = [Region.objects.create(code=f"41{c:02d}00", level="city", name=f"市{c}", parent=prov) for c in (1, 2)]
    cycle = Cycle.objects.create(year=2022, grade=6, subjects=["语文", "数学", "英语", "科学"])
    run = SampleRun.objects.create(cycle=cycle, seed=1)
    pw = make_password(PASSWORD)
    operators, files = [], {}
    folder = home / "bench-files"
    folder.mkdir(parents=True, exist_ok=True)
    for k in range(COUNTIES):
        city = cities[k % 2]
        county = Region.objects.create(code=f"{city.code[:4]}{k + 2:02d}", level="county", name=f"县{k}", parent=city)
        operators.append(("county", User.objects.create(username=f"county-{county.code}", role="county",
                                                        region=county, password=pw).username, county.code))
        for s in range(SCHOOLS_PER_COUNTY):
            school = School.objects.create(code=f"{county.code}{s:04d}", name=f"学校{k}-{s}", county=county,
                                           stage="小学", location="城区", enrol_g6=60)
            ss = SampledSchool.objects.create(run=run, cycle=cycle, school=school, role="sampled",
                                              stratum=county.code, sort_order=s, mos=60, school_weight=2.0)
            pupils = []
            for p in range(PUPILS_PER_SCHOOL):
                body = f"{county.code}2011{s:02d}{p:05d}"
                pupils.append(Pupil(student_id="G" + body + check_char(body), name=f"生{p}", sex=1 + p % 2,
                                    birth_date=dt.date(2011, 3, 1), school=school, grade=6))
            Pupil.objects.bulk_create(pupils)
            SampledPupil.objects.bulk_create(
                SampledPupil(run=run, cycle=cycle, pupil=p, sampled_school=ss, subject="语文", pupil_order=i,
                             school_weight=2.0, pupil_weight=2.0, base_weight=4.0) for i, p in enumerate(pupils))
            roster = pl.DataFrame({"student_id": [p.student_id for p in pupils], "name": [p.name for p in pupils],
                                   "sex": [p.sex for p in pupils], "grade": [6] * len(pupils)})
            path = write_table(national_upload(fitness_results(roster, s), mask=False),
                               folder / f"{school.code}.csv")
            if s % 2 == 0:
                import_fitness(path, cycle)
            user = User.objects.create(username=f"school-{school.code}", role="school", school=school, password=pw)
            operators.append(("school", user.username, school.code))
            files[user.username] = path
    schools = [o for o in operators if o[0] == "school"]
    counties = [o for o in operators if o[0] == "county"]
    n_school = max(OPERATORS - len(counties), 0)
    return {"cycle": cycle.pk, "operators": counties[:OPERATORS] + schools[:n_school], "files": files}


class Operator:
    """One signed-in browser: a cookie jar, the CSRF token, timed requests."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar),
                                                  _NoRedirect())

    def _csrf(self) -> str:
        return next(c.value for c in self.jar if c.name == "csrftoken")

    def request(self, path: str, data: bytes | None = None, headers: dict | None = None) -> tuple[int, str, str]:
        req = urllib.request.Request(self.base + path, data=data, headers={"Referer": self.base + "/",
                                                                           **(headers or {})})
        try:
            with self.opener.open(req, timeout=120) as r:
                return r.status, r.headers.get("Location", ""), r.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as e:
            return e.code, e.headers.get("Location", ""), e.read().decode("utf-8", "replace")

    def login(self, username: str) -> None:
        self.request("/accounts/login/")
        body = urllib.parse.urlencode({"username": username, "password": PASSWORD,
                                       "csrfmiddlewaretoken": self._csrf()}).encode()
        status, loc, _ = self.request("/accounts/login/", body)
        if status != 302:
            raise RuntimeError(f"sign-in of {username} failed: {status}")

    def upload(self, path: str, file: Path) -> tuple[int, str]:
        boundary = uuid.uuid4().hex
        parts = [f"--{boundary}\r\nContent-Disposition: form-data; name=\"csrfmiddlewaretoken\"\r\n\r\n"
                 f"{self._csrf()}\r\n".encode(),
                 f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file.name}\"\r\n"
                 f"Content-Type: text/csv\r\n\r\n".encode(), file.read_bytes(), f"\r\n--{boundary}--\r\n".encode()]
        status, loc, _ = self.request(path, b"".join(parts),
                                      {"Content-Type": f"multipart/form-data; boundary={boundary}"})
        return status, loc


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _work(op: Operator, kind: str, key: str, files: dict, username: str, cycle: int, until: float,
          timings: dict, errors: list) -> None:
    while time.perf_counter() < until:
        if kind == "school":
            steps = [("upload page", lambda: op.request(f"/cycles/{cycle}/upload/fitness/")[:2]),
                     ("upload (30 rows)", lambda: op.upload(f"/cycles/{cycle}/upload/fitness/", files[username]))]
        else:
            steps = [("progress", lambda: op.request(f"/cycles/{cycle}/progress/")[:2]),
                     ("county dashboard", lambda: op.request(f"/cycles/{cycle}/dashboard/{key}/")[:2])]
        for name, step in steps:
            t = time.perf_counter()
            status, loc = step()
            timings[name].append(time.perf_counter() - t)
            if status not in (200, 302):
                errors.append((name, status))
            if name.startswith("upload (") and loc:
                sent = t
                while True:
                    t = time.perf_counter()
                    status, _, body = op.request(loc + "status.json")
                    timings["job status (JSON)"].append(time.perf_counter() - t)
                    if status != 200 or '"finished": true' in body:
                        break
                    time.sleep(0.5)
                timings["upload → result"].append(time.perf_counter() - sent)
                if '"status": "done"' not in body:
                    errors.append(("job", body[:80]))
                t = time.perf_counter()
                status, _ = op.request(loc)[:2]
                timings["job page"].append(time.perf_counter() - t)
                if status != 200:
                    errors.append(("job page", status))


def _baseline(op: Operator, until: float, timings: dict, errors: list) -> None:
    while time.perf_counter() < until:
        t = time.perf_counter()
        status = op.request("/accounts/login/")[0]
        timings["sign-in page (baseline)"].append(time.perf_counter() - t)
        if status != 200:
            errors.append(("baseline", status))


def _run(threads: list[threading.Thread]) -> float:
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - t0


def _report(label: str, timings: dict, wall: float) -> dict:
    out = {}
    for name, ts in sorted(timings.items()):
        a = np.array(ts)
        out[name] = (len(a) / wall, np.percentile(a, 50) * 1000, np.percentile(a, 99) * 1000)
        print(f"  {label:<22} {name:<26} {len(a):>6} req  {len(a) / wall:8.1f} req/s  "
              f"p50 {out[name][1]:7.1f} ms  p99 {out[name][2]:7.1f} ms")
    return out


def main() -> None:
    home = Path(tempfile.mkdtemp(prefix="junheng-bench-web."))
    with Postgres() as url:
        env = {**os.environ, "JUNHENG_HOME": str(home), "JUNHENG_DATABASE_URL": url, "JUNHENG_JOBS_EAGER": "0",
               "JUNHENG_DEBUG": "1", "DJANGO_SETTINGS_MODULE": "junheng_web.settings"}
        os.environ.update({k: env[k] for k in ("JUNHENG_HOME", "JUNHENG_DATABASE_URL", "JUNHENG_JOBS_EAGER")})
        t = time.perf_counter()
        world = seed(home)
        print(f"  seeded {COUNTIES} counties, {COUNTIES * SCHOOLS_PER_COUNTY} schools, "
              f"{COUNTIES * SCHOOLS_PER_COUNTY * PUPILS_PER_SCHOOL} sampled pupils in {time.perf_counter() - t:.1f} s")
        port = _free_port()
        server = subprocess.Popen([sys.executable, "-m", "gunicorn", "junheng_web.wsgi", "-b", f"127.0.0.1:{port}",
                                   "-w", str(WORKERS), "--threads", "4", "--timeout", "120", "--log-level",
                                   "warning"], env=env, cwd=ROOT)
        job_workers = [subprocess.Popen([sys.executable, "-m", "junheng_web.manage", "runjobs", "--poll", "0.2"],
                                        env=env, cwd=ROOT, stdout=subprocess.DEVNULL) for _ in range(JOB_WORKERS)]
        try:
            base = f"http://127.0.0.1:{port}"
            wait_until_up(base)
            ops = []
            t = time.perf_counter()
            for kind, username, key in world["operators"]:
                op = Operator(base)
                op.login(username)
                ops.append((op, kind, key, username))
            print(f"  {len(ops)} operators signed in ({time.perf_counter() - t:.1f} s, argon2); gunicorn "
                  f"{WORKERS} workers × 4 threads, {JOB_WORKERS} job workers; {SECONDS:.0f} s per phase; "
                  f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
            results = {}
            for label, which in (("1+1 operators", "solo"), (f"{len(ops)} operators", "all")):
                timings, errors = defaultdict(list), []
                until = time.perf_counter() + SECONDS
                chosen = ops[:1] + [o for o in ops if o[1] == "school"][:1] if which == "solo" else ops
                threads = [threading.Thread(target=_work, args=(op, kind, key, world["files"], username,
                                                                world["cycle"], until, timings, errors))
                           for op, kind, key, username in chosen]
                wall = _run(threads)
                total = sum(len(v) for v in timings.values())
                print(f"  -- {label}: {total} requests in {wall:.1f} s = {total / wall:.1f} req/s; "
                      f"errors {len(errors)} {sorted(set(errors))[:5]}")
                results[label] = _report(label, timings, wall)
            timings, errors = defaultdict(list), []
            until = time.perf_counter() + SECONDS / 2
            wall = _run([threading.Thread(target=_baseline, args=(op, until, timings, errors)) for op, *_ in ops])
            base_stats = _report(f"{len(ops)} clients", timings, wall)["sign-in page (baseline)"]
            print(f"  -- baseline errors {len(errors)}")
            many = results[f"{len(ops)} operators"]
            for name, (_rps, _p50, p99) in sorted(many.items()):
                print(f"  ratio {name:<24} p99 / sign-in-page p99 = {p99 / base_stats[2]:6.1f}×;  "
                      f"p99 {len(ops)} ops / 1+1 ops = {p99 / results['1+1 operators'].get(name, (0, 0, p99))[2]:6.1f}×")
        finally:
            for proc in (server, *job_workers):
                proc.terminate()
            for proc in (server, *job_workers):
                proc.wait(timeout=30)
            shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
