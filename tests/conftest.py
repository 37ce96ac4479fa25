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


@pytest.fixture(scope="session", autouse=True)
def _subprocess_settings():
    """This process runs on tests.django_settings (the same settings, JUNHENG_HOME set first);
    subprocesses (the CLI, the browser tests' server) read the platform's own settings module and
    find the same JUNHENG_HOME in their environment.  Set where the tests run, not at import: a
    pytest-xdist controller's environment is its workers', and they must start on tests.django_settings."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "junheng_web.settings"


def _fixture_module(name: str, relpath: str):
    """A helper module under tests/fixtures/, loaded by path (tests/ is not a package)."""
    spec = importlib.util.spec_from_file_location(name, FIXTURES / relpath)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


# The fixtures through which a test reaches the Django test database (besides the ``django_db`` mark;
# ``live_server`` asks for ``transactional_db`` at run time, so it is named here itself).
DATABASE_FIXTURES = {"db", "transactional_db", "django_db_reset_sequences", "django_db_serialized_rollback",
                     "django_db_setup", "live_server"}


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Mark ``database`` every test that uses the Django test database (the ``django_db`` mark, or a
    fixture that needs the database, such as tests/web's ``world``).  `make test` re-runs these — and
    only these — on PostgreSQL: a test without the database runs the same code on either engine.
    (Before the other conftests' hooks: tests/web's ``integration`` mark is made from this one.)"""
    for item in items:
        if item.get_closest_marker("django_db") or DATABASE_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.database)


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


def _cli_refused(result, code: int = 2, *said: str) -> str:
    """Assert a ``CliRunner`` result is a deliberate refusal: the command left through ``sys.exit(code)``
    (click's ``exit_code`` is 1 for any other exception, and the exception is kept in ``result.exception``,
    never written to ``result.output`` — so ``"Traceback" not in result.output`` alone is always true),
    no traceback was printed by the command itself, and each of ``said`` is in the output.  Returns the output."""
    exc = result.exception
    assert isinstance(exc, SystemExit) and exc.code == code, (
        f"expected a refusal with exit code {code}, got exit code {result.exit_code} and {exc!r}", result.output[-800:])
    assert "Traceback" not in result.output, result.output[-800:]
    for text in said:
        assert text in result.output, (text, result.output[-800:])
    return result.output


@pytest.fixture(scope="session")
def cli_refused():
    """``cli_refused(result, code=2, *texts)``: the command refused with that exit code (a ``SystemExit``, not a
    crash) and said each text (see ``_cli_refused``)."""
    return _cli_refused
