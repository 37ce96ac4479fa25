"""The platform's settings for a test run, with a throw-away ``JUNHENG_HOME``.

pytest-django imports this module before any conftest, so the SQLite file, uploads, annotated
workbooks and reports of a test run never land in the working tree's ``var/``. Subprocesses
(the CLI, the server of the browser tests) inherit the same folder through the environment.
"""

import os
import tempfile
from pathlib import Path

os.environ.setdefault("JUNHENG_HOME", tempfile.mkdtemp(prefix="junheng-test-"))
os.environ.setdefault("JUNHENG_SECURE", "0")  # the test client and live servers speak plain HTTP

from junheng_web.settings import *  # noqa: E402,F403
from junheng_web.settings import STATIC_ROOT  # noqa: E402

Path(STATIC_ROOT).mkdir(parents=True, exist_ok=True)  # WhiteNoise warns about a missing STATIC_ROOT
