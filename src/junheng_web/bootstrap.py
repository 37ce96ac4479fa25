"""Set Django up from outside a request (the CLI, scripts): settings, then migrate a new database."""

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
            call_command("migrate", interactive=False, verbosity=verbosity)
