"""Shared test set-up: every test run gets its own JUNHENG_HOME; fixtures are found relative to tests/."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

TESTS = Path(__file__).resolve().parent
FIXTURES = TESTS / "fixtures"

os.environ.setdefault("JUNHENG_HOME", tempfile.mkdtemp(prefix="junheng-test-"))
