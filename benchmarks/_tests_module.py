"""Benchmarks reuse the tests' simulators: a module under tests/ loaded by its path (tests/ is not
a package)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1] / "tests"


def load(relpath: str, name: str):
    spec = importlib.util.spec_from_file_location(name, TESTS / relpath)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
