"""The WSGI entry point gunicorn loads (issue 14, the dashboards under load): a worker imports the
views while it starts, not in its first request — after a restart with a hundred operators online,
every worker's first requests waited for its 1.5–1.8 CPU-seconds of imports (docs/deploy.md § 4)."""

from __future__ import annotations

import os
import subprocess
import sys


def test_loading_the_application_imports_the_views(tmp_path):
    probe = ("import sys; import junheng_web.wsgi; "
             "print(all(m in sys.modules for m in ('junheng_web.cycles.dashboard_views', 'polars')))")
    env = {**os.environ, "JUNHENG_HOME": str(tmp_path), "DJANGO_SETTINGS_MODULE": "junheng_web.settings"}
    env.pop("JUNHENG_DATABASE_URL", None)
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "True"
