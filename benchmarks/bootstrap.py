"""Creating a new SQLite database (the demo's first step, a first ``junheng serve``): every table
from the current models and the migrations recorded (``junheng_web.bootstrap.setup``) against the
baseline of replaying every migration (``manage.py migrate``), measured in the same run, each in
its own process on its own fresh database (Django binds one database per process).  The ratio is
migrate seconds over set-up seconds.  ``JUNHENG_BENCH_REPEAT`` repeats each (default 2; the best
is kept).

    .venv/bin/python benchmarks/run.py bootstrap
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPEAT = int(os.environ.get("JUNHENG_BENCH_REPEAT", "2"))

_DJANGO = """
import os, time
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "junheng_web.settings")
import django
django.setup()
from django.conf import settings
os.makedirs(os.path.dirname(settings.DATABASES["default"]["NAME"]), exist_ok=True)
t = time.perf_counter()
"""

MIGRATE = _DJANGO + """
from django.core.management import call_command
call_command("migrate", interactive=False, verbosity=0)
print(time.perf_counter() - t)
"""

SETUP = _DJANGO + """
from junheng_web.bootstrap import setup
setup()
print(time.perf_counter() - t)
"""


def _seconds(code: str) -> float:
    """Seconds of the database creation alone (Django's start-up excluded), in a new process."""
    with tempfile.TemporaryDirectory(prefix="junheng-bench-bootstrap-") as home:
        env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "JUNHENG_DATABASE_URL")}
        env["JUNHENG_HOME"] = home
        out = subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True)
        return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    src = Path(__file__).resolve().parents[1] / "src"
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(src), os.environ.get("PYTHONPATH", "")]))
    t0 = time.perf_counter()
    migrate = min(_seconds(MIGRATE) for _ in range(REPEAT))
    setup = min(_seconds(SETUP) for _ in range(REPEAT))
    print(f"new SQLite database: replaying the migrations {migrate:.2f} s (baseline), "
          f"from the models + migrations recorded {setup:.2f} s; ratio {migrate / setup:.1f}× "
          f"({time.perf_counter() - t0:.0f} s in all)")


if __name__ == "__main__":
    main()
