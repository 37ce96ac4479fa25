"""Registry import speed: rows/s importing a 1-million-pupil roster from CSV and from xlsx.

Into SQLite (always) and PostgreSQL (when ``JUNHENG_BENCH_DATABASE_URL`` is set), each in its own
process (Django binds one database per process). The baseline, measured in the same run on the
same database, is the per-row ORM path — ``Pupil(...).save()`` for 5,000 new pupils (and
``update_or_create`` for 2,000, the per-row form of an idempotent upsert); the ratio is bulk
rows/s over ORM rows/s. ``JUNHENG_BENCH_ROWS`` changes the size (default 1,000,000).

Many small files (the demo's registry stage: one roster per county): the synthetic province at
``JUNHENG_BENCH_SCALE`` (default 0.3: ~9,000 schools), its first ``JUNHENG_BENCH_FILES`` rosters
(default 20) imported into an empty registry and then again (nothing changes), by the current
path and by the previous per-file lookups (``_import_baseline``: every school as a Polars frame,
the ORM's ``__in`` for 学籍号 registered elsewhere), alternating, twice each; the ratio is the
baseline's CPU seconds over the current path's. ``JUNHENG_BENCH_ROWS=0`` runs only this case.

    .venv/bin/python benchmarks/run.py import
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROWS = int(os.environ.get("JUNHENG_BENCH_ROWS", "1000000"))
ORM_ROWS = 5_000
ORM_UPSERT_ROWS = 2_000
SCALE = float(os.environ.get("JUNHENG_BENCH_SCALE", "0.3"))
FILES = int(os.environ.get("JUNHENG_BENCH_FILES", "20"))
REPEATS = 2


def make_files(folder: Path, n: int) -> tuple[Path, Path, Path]:
    """A school list and an n-row roster (CSV in GB18030 and xlsx) of valid, plausible pupils."""
    import polars as pl

    from junheng.io import xlsx_bytes  # the synthetic province's fast sheet writer
    from junheng.registry.codes import check_chars
    from junheng.registry.schemas import PUPILS
    from junheng.registry.validate import divisions

    counties = divisions().filter(pl.col("level") == "county")["code"].unique().sort().to_list()
    k = len(counties)
    per_county = 12
    schools = pl.DataFrame({"i": range(k * per_county)}).select(
        学校标识码=pl.format("2141{}", pl.col("i").cast(pl.String).str.zfill(6)),
        学校名称=pl.format("第{}小学", pl.col("i")),
        区县代码=pl.col("i").map_elements(lambda i: counties[i % k], return_dtype=pl.String),
        办学类型=pl.lit("小学"), 城乡类型=pl.lit("城区"), 是否教学点=pl.lit("否"))
    schools_path = folder / "schools.csv"
    schools.write_csv(schools_path)
    i = pl.int_range(0, n, eager=True).alias("i")
    f = pl.DataFrame(i).with_columns(
        county=pl.col("i") % k, day=(pl.col("i") // k) % 365, seq=pl.col("i") // (k * 365))
    f = f.with_columns(
        birth=pl.date(2010, 9, 1) + pl.duration(days=pl.col("day")),
        county_code=pl.col("county").replace_strict(dict(enumerate(counties)), return_dtype=pl.String),
        school=pl.col("county") + k * ((pl.col("i") // k) % per_county))
    body = pl.concat_str([pl.col("county_code"), pl.col("birth").dt.strftime("%Y%m%d"),
                          pl.col("seq").cast(pl.String).str.zfill(3)])
    f = f.with_columns(body=body)
    f = f.with_columns(check=check_chars(f["body"]))
    roster = f.select(
        student_id=pl.concat_str([pl.lit("J"), pl.col("body"), pl.col("check")]),
        name=pl.format("学生{}", pl.col("i")),
        sex=(pl.col("i") % 2 + 1).cast(pl.String),
        birth_date=pl.col("birth").dt.strftime("%Y-%m-%d"),
        ethnicity=pl.lit("01"),
        school_code=pl.format("2141{}", pl.col("school").cast(pl.String).str.zfill(6)),
        grade=pl.lit("6"),
        class_code=pl.format("60{}", (pl.col("i") // (k * per_county)) % 6 + 1),
        class_name=pl.format("六({})班", (pl.col("i") // (k * per_county)) % 6 + 1),
    ).rename({c.field: c.header for c in PUPILS.columns})
    csv_path = folder / "pupils.csv"
    csv_path.write_bytes(roster.write_csv().encode("gb18030"))
    xlsx_path = folder / "pupils.xlsx"
    xlsx_path.write_bytes(xlsx_bytes(roster, roster.columns, "学生"))
    return schools_path, csv_path, xlsx_path


def worker(folder: Path) -> dict:
    """Run in a child process whose environment names the database."""
    from junheng_web.bootstrap import setup

    setup()
    from django.db import connection, transaction

    from junheng.io import read_table
    from junheng.registry.validate import validate_pupils
    from junheng_web.registry import services
    from junheng_web.registry.models import Pupil, School

    def wipe():
        with connection.cursor() as cur:
            cur.execute("DELETE FROM registry_pupil")
            cur.execute("DELETE FROM registry_schoolclass")

    out = {"vendor": connection.vendor}
    services.import_schools(folder / "schools.csv")
    wipe()
    for label, name in (("csv", "pupils.csv"), ("xlsx", "pupils.xlsx")):
        wipe()
        t = time.perf_counter()
        r = services.import_pupils(folder / name)
        out[f"{label}_s"] = time.perf_counter() - t
        out[f"{label}_created"] = r.created
    t = time.perf_counter()
    r = services.import_pupils(folder / "pupils.csv")
    out["rerun_s"], out["rerun_unchanged"] = time.perf_counter() - t, r.unchanged

    # baseline: per-row ORM on a subsample of the same validated rows
    frame, _ = validate_pupils(read_table(folder / "pupils.csv"))
    sub = frame.head(ORM_ROWS + ORM_UPSERT_ROWS)
    ids = dict(School.objects.values_list("code", "pk"))
    wipe()
    rows = list(sub.head(ORM_ROWS).iter_rows(named=True))
    t = time.perf_counter()
    with transaction.atomic():
        for row in rows:
            Pupil(student_id=row["student_id"], name=row["name"], sex=row["sex"], birth_date=row["birth_date"],
                  ethnicity=row["ethnicity"] or "", school_id=ids[row["school_code"]], grade=row["grade"]).save()
    out["orm_save_s"] = time.perf_counter() - t
    rows = list(sub.tail(ORM_UPSERT_ROWS).iter_rows(named=True))
    t = time.perf_counter()
    with transaction.atomic():
        for row in rows:
            Pupil.objects.update_or_create(student_id=row["student_id"], defaults=dict(
                name=row["name"], sex=row["sex"], birth_date=row["birth_date"], ethnicity=row["ethnicity"] or "",
                school_id=ids[row["school_code"]], grade=row["grade"]))
    out["orm_upsert_s"] = time.perf_counter() - t
    return out


def _cpu() -> float:
    import resource

    r = resource.getrusage(resource.RUSAGE_SELF)  # every thread of this process (Polars' pool too)
    return r.ru_utime + r.ru_stime


def small_files_worker(folder: Path) -> dict:
    """Import the synthetic province's first FILES rosters by the current and the baseline path."""
    from junheng_web.bootstrap import setup

    setup()
    from django.db import connection

    from junheng_web.registry import services

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import _import_baseline

    current = (services._school_ids, services._registered_elsewhere)
    baseline = (_import_baseline.school_ids, _import_baseline.registered_elsewhere)
    services.import_schools(folder / "schools.xlsx")
    files = sorted((folder / "rosters").glob("*.csv"))[:FILES]
    out: dict = {"vendor": connection.vendor, "files": len(files), "cpu": {}, "rows": 0}
    for _ in range(REPEATS):
        for label, (schools, elsewhere) in (("baseline", baseline), ("current", current)):
            services._school_ids, services._registered_elsewhere = schools, elsewhere
            with connection.cursor() as cur:
                cur.execute("DELETE FROM registry_pupil")
                cur.execute("DELETE FROM registry_schoolclass")
            for phase in ("import", "reimport"):
                c, created, changed = _cpu(), 0, 0
                for f in files:
                    r = services.import_pupils(f)
                    created, changed = created + r.created, changed + r.created + r.updated
                cpu = _cpu() - c
                if phase == "reimport" and changed:
                    raise SystemExit(f"{label}: the second import changed {changed} pupils")
                if phase == "import":
                    out["rows"] = created
                key = f"{label}_{phase}"
                out["cpu"][key] = min(out["cpu"].get(key, cpu), cpu)
    services._school_ids, services._registered_elsewhere = current
    return out


def _report_small(res: dict) -> None:
    cpu = res["cpu"]
    for phase in ("import", "reimport"):
        b, c = cpu[f"baseline_{phase}"], cpu[f"current_{phase}"]
        print(f"  [{res['vendor']}] {res['files']} small rosters ({res['rows']:,} pupils), {phase}: "
              f"{c:.2f} CPU-s ({c / res['files'] * 1000:.0f} ms/file) vs baseline lookups {b:.2f} CPU-s "
              f"— ×{b / c:.2f}")


def _report(res: dict, n: int) -> None:
    orm = ORM_ROWS / res["orm_save_s"]
    upsert = ORM_UPSERT_ROWS / res["orm_upsert_s"]
    print(f"  [{res['vendor']}] per-row ORM save(): {orm:,.0f} rows/s; update_or_create: {upsert:,.0f} rows/s (baseline)")
    for label in ("csv", "xlsx"):
        rate = n / res[f"{label}_s"]
        print(f"  [{res['vendor']}] bulk import {label:4s}: {n:,} rows in {res[f'{label}_s']:.1f} s = {rate:,.0f} rows/s "
              f"(created {res[f'{label}_created']:,}); ×{rate / orm:.1f} vs save(), ×{rate / upsert:.1f} vs update_or_create")
    print(f"  [{res['vendor']}] re-import of the same CSV: {res['rerun_s']:.1f} s, unchanged {res['rerun_unchanged']:,}, "
          f"{n / res['rerun_s']:,.0f} rows/s")


def _run_worker(flag: str, folder: Path, url: str) -> dict:
    env = {**os.environ, "JUNHENG_DATABASE_URL": url, "JUNHENG_HOME": str(folder / "home")}
    proc = subprocess.run([sys.executable, __file__, flag, str(folder)], env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        print(proc.stderr[-3000:])
        raise SystemExit(proc.returncode)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def small_files() -> None:
    from junheng_cli.synth import write_synthetic

    with tempfile.TemporaryDirectory(prefix="junheng-bench-import-small-") as tmp:
        folder = Path(tmp)
        manifest = write_synthetic(folder, SCALE, 2022)
        print(f"  synthetic province at scale {SCALE}: {manifest['schools']['rows']:,} schools, "
              f"{manifest['pupils']:,} pupils in {len(manifest['rosters'])} rosters")
        _report_small(_run_worker("--small-worker", folder, f"sqlite:///{folder / 'bench.sqlite3'}"))


def main() -> None:
    small_files()
    if ROWS <= 0:
        return
    with tempfile.TemporaryDirectory(prefix="junheng-bench-import-") as tmp:
        folder = Path(tmp)
        t = time.perf_counter()
        _, csv_path, xlsx_path = make_files(folder, ROWS)
        print(f"  generated {ROWS:,} pupils: CSV {csv_path.stat().st_size / 1e6:.0f} MB (GB18030), "
              f"xlsx {xlsx_path.stat().st_size / 1e6:.0f} MB in {time.perf_counter() - t:.1f} s")
        targets = [("sqlite", f"sqlite:///{folder / 'bench.sqlite3'}")]
        if os.environ.get("JUNHENG_BENCH_DATABASE_URL"):
            targets.append(("postgresql", os.environ["JUNHENG_BENCH_DATABASE_URL"]))
        else:
            print("  (PostgreSQL skipped: set JUNHENG_BENCH_DATABASE_URL=postgresql://… to measure it)")
        for _, url in targets:
            _report(_run_worker("--worker", folder, url), ROWS)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--worker":
        print(json.dumps(worker(Path(sys.argv[2]))))
    elif len(sys.argv) == 3 and sys.argv[1] == "--small-worker":
        print(json.dumps(small_files_worker(Path(sys.argv[2]))))
    else:
        main()
