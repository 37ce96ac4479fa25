"""Set Django up from outside a request (the CLI, scripts): settings, then migrate a new database.

A brand-new SQLite database (no table at all: the demo's, a first ``junheng serve``) is created
from the current models in one pass and every migration recorded as applied — what Django's test
runner does for a test database — instead of replaying the migrations one by one, which renders
the model state of every app at every step (about 20 s of the demo's set-up; no migration of the
project runs Python or SQL of its own, so the schema is the same: ``tests/web/test_bootstrap.py``
compares the two).  An existing database is migrated as always.
"""

from __future__ import annotations

import os

_ready = False


def setup(migrate: bool = True, verbosity: int = 0) -> None:
    """Configure Django; when ``migrate`` is true, create and migrate the database if needed."""
    global _ready
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "junheng_web.settings")
    import django

    if not _ready:
        django.setup()
        _ready = True
    if migrate:
        from django.conf import settings
        from django.core.management import call_command
        from django.db import connection
        from django.db.migrations.executor import MigrationExecutor

        db = settings.DATABASES["default"]
        if db["ENGINE"].endswith("sqlite3"):
            os.makedirs(os.path.dirname(os.path.abspath(db["NAME"])), exist_ok=True)
        executor = MigrationExecutor(connection)
        if executor.migration_plan(executor.loader.graph.leaf_nodes()):
            if connection.vendor == "sqlite" and not connection.introspection.table_names():
                create_from_models(verbosity)
            else:
                call_command("migrate", interactive=False, verbosity=verbosity)


def create_from_models(verbosity: int = 0) -> None:
    """Create every table of a new, empty database from the current models (``migrate
    --run-syncdb`` with the migration modules switched off), then record every migration as
    applied (``migrate --fake``), so later migrations apply as usual."""
    from django.apps import apps
    from django.core.management import call_command
    from django.test.utils import override_settings

    with override_settings(MIGRATION_MODULES={a.label: None for a in apps.get_app_configs()}):
        call_command("migrate", run_syncdb=True, interactive=False, verbosity=verbosity)
    call_command("migrate", fake=True, interactive=False, verbosity=verbosity)
    # the faked migrations ran no RunPython: make what cycles/0005_cache_table makes (the shared page
    # cache's table, whichever cache the settings use now)
    call_command("createcachetable", "junheng_cache", verbosity=verbosity)
