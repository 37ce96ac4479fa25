"""The platform's settings for a test run, with a throw-away ``JUNHENG_HOME``.

pytest-django imports this module before any conftest, so the SQLite file, uploads, annotated
workbooks and reports of a test run never land in the working tree's ``var/``. Subprocesses
(the CLI, the server of the browser tests) inherit the same folder through the environment.
"""

import os
import tempfile
from pathlib import Path

os.environ.setdefault("JUNHENG_HOME", tempfile.mkdtemp(prefix="junheng-test-"))
# Under pytest-xdist (`make test` runs `-n 2`) each worker process gets a folder of its own under the
# run's JUNHENG_HOME (it inherits the controller's): their SQLite files, uploads and reports never
# meet.  (Each worker's test database is its own too: the SQLite file below, PostgreSQL test_<name>_gwN.)
_WORKER = os.environ.get("PYTEST_XDIST_WORKER")
if _WORKER and Path(os.environ["JUNHENG_HOME"]).name != _WORKER:
    os.environ["JUNHENG_HOME"] = str(Path(os.environ["JUNHENG_HOME"]) / _WORKER)
    Path(os.environ["JUNHENG_HOME"]).mkdir(parents=True, exist_ok=True)
if _WORKER:
    # The cores shared out between the workers, so that two workers' BLAS, OpenMP, Numba and Polars
    # threads, each as many as the machine has cores, do not spin against each other.  (The "1.4×
    # slower" once given here came with no command, 05b4989; a re-run on 2026-12-07 at d79d615 under
    # load 11–17 did not show it — docs/dev/testing.md.)  Set here, before any of them is imported
    # (pytest-django reads this module first).
    _THREADS = str(max(1, (os.cpu_count() or 1) // int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))))
    for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS",
                  "POLARS_MAX_THREADS"):
        os.environ.setdefault(_name, _THREADS)
os.environ.setdefault("JUNHENG_SECURE", "0")  # the test client and live servers speak plain HTTP

from junheng_web.settings import *  # noqa: E402,F403
from junheng_web.settings import DATABASES, STATIC_ROOT  # noqa: E402

if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # The SQLite test database is a file in this run's (this worker's) JUNHENG_HOME, not Django's
    # shared-cache in-memory default.  The browser tests' live server answers on threads of its own, and
    # with an in-memory database Django hands each of them the test's one connection object: two
    # requests at once shared one transaction's savepoints ("no such savepoint"), and reads failed at
    # once on shared-cache table locks instead of waiting ("database table is locked").  With a file
    # each thread has a connection of its own, sees what the others committed and waits for a writer,
    # as on the platform's own SQLite file: settings.database_from_url's OPTIONS (WAL, FULL sync, a 30 s
    # busy timeout) apply to the test database too.  (Under xdist pytest-django appends _gwN.)
    DATABASES["default"]["TEST"] = {"NAME": str(Path(os.environ["JUNHENG_HOME"]) / "test-database.sqlite3")}

Path(STATIC_ROOT).mkdir(parents=True, exist_ok=True)  # WhiteNoise warns about a missing STATIC_ROOT
