"""Shared test set-up: every test run gets its own JUNHENG_HOME; fixtures are found relative to tests/."""

from __future__ import annotations

import importlib.util
import os
import sys
import tempfile
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
FIXTURES = TESTS / "fixtures"

os.environ.setdefault("JUNHENG_HOME", tempfile.mkdtemp(prefix="junheng-test-"))
# This process runs on tests.django_settings (the same settings, JUNHENG_HOME set first);
# subprocesses (the CLI, the browser tests' server) read the platform's own settings module
# and find the same JUNHENG_HOME in their environment.
os.environ["DJANGO_SETTINGS_MODULE"] = "junheng_web.settings"


def _fixture_module(name: str, relpath: str):
    """A helper module under tests/fixtures/, loaded by path (tests/ is not a package)."""
    spec = importlib.util.spec_from_file_location(name, FIXTURES / relpath)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def make():
    """The registry fixture-file generator ``tests/fixtures/registry/make_files.py``."""
    return _fixture_module("registry_make_files", "registry/make_files.py")


@pytest.fixture(scope="session")
def academic():
    """The surveyed-province builder and score generator ``tests/fixtures/academic.py``."""
    return _fixture_module("academic_fixture", "academic.py")


@pytest.fixture(scope="session")
def province_data():
    """Resource figures and a whole-province registry ``tests/fixtures/province.py``."""
    return _fixture_module("province_fixture", "province.py")


@pytest.fixture(scope="session")
def video():
    """The synthetic test-room clip maker ``tests/fixtures/video.py`` (``video.make_clip``)."""
    return _fixture_module("video_fixture", "video.py")


@pytest.fixture(scope="session")
def hostile():
    """The hostile-input corpus builder ``tests/fixtures/hostile.py`` (``hostile.build(folder, headers, rows)``)."""
    return _fixture_module("hostile_fixture", "hostile.py")
