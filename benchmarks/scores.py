"""Benchmark: the pupils' scores on the platform — 170,000 pupils (SQLite, a fresh database).

- ``store_scores`` (validate every row, stage, one ``INSERT … ON CONFLICT … DO UPDATE … WHERE
  changed``) for new scores, for the same scores again (nothing rewritten) and with 10 % changed,
  against a baseline measured in the same run: Django's ``bulk_create`` of the same rows as model
  objects into an empty table (no validation, no upsert);
- the academic dashboard of the province (per subject and city: the PV mean and six level shares,
  5 plausible values × 80 replicate weights by Rubin's rules), of a city and of a county, against
  the baseline of one ``junheng.survey.mean`` of the five PVs over all pupils on the same design.

    .venv/bin/python benchmarks/run.py scores          (BENCH_SCORES_PUPILS=… to change the size)
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

N = int(os.environ.get("BENCH_SCORES_PUPILS", "170000"))
SUBJECTS = ["语文", "数学", "英语", "科学"]
FIXTURE = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "academic.py"


def _scores_for():
    spec = importlib.util.spec_from_file_location("academic_fixture", FIXTURE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.scores_for


def _seed():
    """160 counties in 18 cities, N pupils in schools of 30, all sampled; returns (cycle, cities, counties)."""
    from junheng_web.registry.models import Cycle, Pupil, Region, School
    from junheng_web.sampling.models import SampledPupil, SampledSchool, SampleRun

    prov = Region.objects.create(code="410000", level="province", name="省")
    cities = [Region.objects.create(code=f"41{c:02d}00", level="city", name=f"市{c}", parent=prov) for c in range(1, 19)]
    counties = [Region.objects.create(code=f"41{c // 9 + 1:02d}{c % 9 + 1:02d}", level="county", name=f"县{c}",
                                      parent=cities[c // 9]) for c in range(160)]
    schools = School.objects.bulk_create([School(code=f"41{k:08d}", name=f"校{k}", county=counties[k % 160], stage="小学",
                                                 location="城区", enrol_g6=30) for k in range(N // 30 + 1)])
    Pupil.objects.bulk_create([Pupil(student_id=f"G41{i:016d}", name="x", sex=1 + i % 2, birth_date=dt.date(2011, 1, 1),
                                     school=schools[i // 30], grade=6) for i in range(N)], batch_size=5000)
    cycle = Cycle.objects.create(year=2022, grade=6, subjects=SUBJECTS)
    run = SampleRun.objects.create(cycle=cycle, seed=1)
    sampled = SampledSchool.objects.bulk_create([
        SampledSchool(run=run, cycle=cycle, school=s, role="sampled", stratum=s.county.code, sort_order=k, mos=30)
        for k, s in enumerate(schools)])
    ids = dict(Pupil.objects.values_list("student_id", "id"))
    SampledPupil.objects.bulk_create([
        SampledPupil(run=run, cycle=cycle, pupil_id=ids[f"G41{i:016d}"], sampled_school=sampled[i // 30],
                     subject=SUBJECTS[i % 4], pupil_order=i % 30, school_weight=1, pupil_weight=1, base_weight=1)
        for i in range(N)], batch_size=5000)
    return cycle, cities, counties, schools


def _timed(fn):
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def main() -> None:
    home = tempfile.mkdtemp(prefix="junheng-bench-scores.")
    os.environ["JUNHENG_HOME"] = home
    try:
        _main()
    finally:
        shutil.rmtree(home, ignore_errors=True)


def _main() -> None:
    from junheng_web.bootstrap import setup

    setup()
    from junheng.survey import ReplicateDesign, mean
    from junheng_web.assessment.models import PupilScore
    from junheng_web.assessment.scores import store_scores
    from junheng_web.cycles.dashboards import compute_academic_dashboard
    from junheng_web.sampling.services import design, store_weights

    t0 = time.perf_counter()
    cycle, cities, counties, schools = _seed()
    ids = [f"G41{i:016d}" for i in range(N)]
    frame = _scores_for()(pl.DataFrame({"student_id": ids, "subject": [SUBJECTS[i % 4] for i in range(N)]}))
    print(f"set-up: {N:,} sampled pupils in {len(schools):,} schools, 160 counties ({time.perf_counter() - t0:.1f} s)")

    pupil_ids = dict(PupilScore._meta.get_field("pupil").related_model.objects.values_list("student_id", "id"))
    objs = [PupilScore(cycle=cycle, pupil_id=pupil_ids[r["student_id"]], subject=r["subject"], theta=r["theta_eap"],
                       theta_se=r["theta_se"], scale_score=r["scale_score"], level=r["level"],
                       **{f"pv{k}": r[f"pv{k}"] for k in range(1, 6)},
                       **{f"level_pv{k}": r[f"level_pv{k}"] for k in range(1, 6)}) for r in frame.iter_rows(named=True)]
    base, _ = _timed(lambda: PupilScore.objects.bulk_create(objs, batch_size=5000))
    PupilScore.objects.all().delete()
    changed = frame.with_columns(pl.when(pl.int_range(pl.len()) % 10 == 0).then(pl.col("theta_se") + 0.01)
                                 .otherwise(pl.col("theta_se")).alias("theta_se"))
    print(f"baseline bulk_create of {N:,} model objects: {base:.2f} s")
    for label, f in (("new", frame), ("same again", frame), ("10 % changed", changed)):
        secs, r = _timed(lambda f=f: store_scores(cycle, f))
        print(f"store_scores, {label}: {secs:.2f} s ({r.created:,} created, {r.updated:,} updated, "
              f"{r.unchanged:,} unchanged) — {secs / base:.2f} × the baseline")

    rng = np.random.default_rng(1)
    w = pl.DataFrame({"student_id": ids, "school_code": [schools[i // 30].code for i in range(N)],
                      "weight": np.full(N, 9.0)}).with_columns(
        *[pl.Series(f"rep_{r}", 9.0 * rng.choice([0.0, 2.0, 1.0], N, p=[0.0125, 0.0125, 0.975])) for r in range(1, 81)])
    secs, _ = _timed(lambda: store_weights(cycle, w))
    print(f"store_weights ({N:,} pupils, 80 replicates): {secs:.2f} s")
    from junheng_web.assessment.scores import scores_frame

    d: ReplicateDesign = design(cycle, scores_frame(cycle))
    base, _ = _timed(lambda: mean(d, pv=[f"pv{k}" for k in range(1, 6)]))
    print(f"baseline: one PV mean over all pupils on the same design: {base:.2f} s")
    for label, region in (("province (by city)", None), ("a city (by county)", cities[0]),
                          ("a county (by school)", counties[0])):
        secs, data = _timed(lambda region=region: compute_academic_dashboard(cycle, region))
        print(f"academic dashboard, {label}: {secs:.2f} s, {len(data['parts'])} rows — {secs / base:.1f} × the baseline")
