"""Saving the demo's sampled pupils (about 168,000 rows per cycle at scale 1, saved twice): the
platform's path (``sampling.services._save_pupils``: one batched ``executemany`` from the frame's
rows) against the baseline it replaced (``bulk_create`` of one ``SampledPupil`` model object per
pupil), measured in the same run on the same rows, each inside a transaction that is rolled back.
The rows come from a real demo sample: the synthetic province at ``JUNHENG_BENCH_SCALE`` (default
0.05) imported into a fresh SQLite database and sampled, in a child process of its own
(Django binds one database per process).  CPU seconds (``time.process_time``), best of
``JUNHENG_BENCH_REPEAT`` (default 2).  The ratio is baseline seconds over platform seconds.

    .venv/bin/python benchmarks/run.py sample_save
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = """
import contextlib, io, os, sys, time
from pathlib import Path
import polars as pl
from junheng_cli.demo import DemoContext
from junheng_cli.demo import province, registry
from junheng_cli.demo.sample import _save_sample_to_db, sample_stage

ctx = DemoContext(out=Path(sys.argv[1]), scale=float(sys.argv[2]), seed=2022)
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    province.demo_stage(ctx)
    registry.demo_stage(ctx)
    import junheng_cli.demo.sample as stage
    stage._refusals = lambda *a: None  # the sample alone; replacements are not measured
    sample_stage(ctx)

from django.db import transaction
from junheng_web.sampling import services
from junheng_web.sampling.models import SampledPupil, SampledSchool, SampleRun

run = SampleRun.objects.order_by("-id").first()
cycle = run.cycle
pupils = pl.DataFrame(list(SampledPupil.objects.filter(run=run).order_by("id").values_list(
    "pupil_id", "sampled_school__school__code", "subject", "pupil_order", "school_weight", "pupil_weight",
    "base_weight")), orient="row", schema=["pupil_pk", "school_code", "subject", "pupil_order", "school_weight",
                                             "pupil_weight", "base_weight"])
schools = {s.school.code: s for s in SampledSchool.objects.filter(run=run).select_related("school")}


def per_object(run, cycle, pupils, schools):
    SampledPupil.objects.bulk_create(
        (SampledPupil(run=run, cycle=cycle, pupil_id=r["pupil_pk"], sampled_school=schools[r["school_code"]],
                      subject=r["subject"], pupil_order=r["pupil_order"], school_weight=r["school_weight"],
                      pupil_weight=r["pupil_weight"], base_weight=r["base_weight"])
         for r in pupils.iter_rows(named=True)), batch_size=5000)


def timed(save):
    with transaction.atomic():
        SampledPupil.objects.filter(run=run).delete()
        t = time.process_time()
        save(run, cycle, pupils, schools)
        s = time.process_time() - t
        stored = list(SampledPupil.objects.filter(run=run).order_by("pupil_id").values_list(
            "pupil_id", "sampled_school_id", "subject", "pupil_order", "school_weight", "pupil_weight", "base_weight",
            "weight", "responded"))
        transaction.set_rollback(True)
    return s, stored


repeat = int(os.environ.get("JUNHENG_BENCH_REPEAT", "2"))
base = [timed(per_object) for _ in range(repeat)]
new = [timed(services._save_pupils) for _ in range(repeat)]
assert base[0][1] == new[0][1] and len(new[0][1]) == pupils.height, "the two paths stored different rows"
print(pupils.height, min(s for s, _ in base), min(s for s, _ in new))
"""


def main() -> None:
    scale = os.environ.get("JUNHENG_BENCH_SCALE", "0.05")
    src = Path(__file__).resolve().parents[1] / "src"
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "JUNHENG_DATABASE_URL")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(src), os.environ.get("PYTHONPATH", "")]))
    with tempfile.TemporaryDirectory(prefix="junheng-bench-sample-save-") as tmp:
        env["JUNHENG_HOME"] = str(Path(tmp) / "var")
        out = subprocess.run([sys.executable, "-c", CHILD, tmp, scale], env=env, check=True, capture_output=True,
                             text=True)
    n, base, new = out.stdout.split()[-3:]
    n, base, new = int(n), float(base), float(new)
    print(f"saving {n:,} sampled pupils (scale {scale}): one model object per pupil (bulk_create, baseline) "
          f"{base:.2f} CPU s, batched executemany from the frame {new:.2f} CPU s; ratio {base / new:.1f}×")


if __name__ == "__main__":
    main()
