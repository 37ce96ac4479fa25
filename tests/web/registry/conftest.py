from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

_MAKER = Path(__file__).resolve().parents[2] / "fixtures" / "registry" / "make_files.py"


@pytest.fixture(scope="session")
def make():
    """The fixture-file generator ``tests/fixtures/registry/make_files.py`` as a module."""
    spec = importlib.util.spec_from_file_location("registry_make_files", _MAKER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
