"""Benchmarks that need the platform's database run their ``--worker`` half in a subprocess on a
throw-away SQLite file and ``JUNHENG_HOME``; the worker prints its result as JSON on its last line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path


def run_worker(script: str, prefix: str) -> dict:
    """Run ``script --worker`` on a fresh SQLite database; its last line of output, parsed."""
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        env = {**os.environ, "JUNHENG_DATABASE_URL": f"sqlite:///{Path(tmp) / 'bench.sqlite3'}",
               "JUNHENG_HOME": str(Path(tmp) / "home")}
        proc = subprocess.run([sys.executable, script, "--worker"], env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            print(proc.stderr[-3000:])
            raise SystemExit(proc.returncode)
        return json.loads(proc.stdout.strip().splitlines()[-1])
