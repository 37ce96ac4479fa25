"""junheng_web.bootstrap: a new SQLite database created from the models has the schema, content
types, permissions and migration records of one built by replaying every migration."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

_MIGRATE = """
import os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "junheng_web.settings")
import django
django.setup()
from django.conf import settings
os.makedirs(os.path.dirname(settings.DATABASES["default"]["NAME"]), exist_ok=True)
from django.core.management import call_command
call_command("migrate", interactive=False, verbosity=0)
"""

_SETUP = """
from junheng_web.bootstrap import setup
setup()
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
e = MigrationExecutor(connection)
assert not e.migration_plan(e.loader.graph.leaf_nodes()), "migrations left to apply"
"""


def _build(home: Path, code: str) -> Path:
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "JUNHENG_DATABASE_URL")}
    env["JUNHENG_HOME"] = str(home)
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=600)
    return home / "junheng.sqlite3"


def _schema(path: Path) -> dict:
    """Tables (columns: name, type, not null, default, primary key; foreign keys), indexes (by
    table, columns, uniqueness and partial condition — names may differ), content types,
    permissions and the applied migrations."""
    con = sqlite3.connect(path)
    out: dict = {}
    for typ, name, tbl, sql in con.execute("SELECT type, name, tbl_name, sql FROM sqlite_master "
                                           "WHERE name NOT LIKE 'sqlite_%'"):
        if typ == "table":
            cols = sorted((r[1], r[2].lower(), r[3], r[4], r[5]) for r in con.execute(f"PRAGMA table_info('{name}')"))
            fks = sorted(tuple(r[2:5]) for r in con.execute(f"PRAGMA foreign_key_list('{name}')"))
            out[("table", name)] = (cols, fks)
        elif typ == "index":
            cols = tuple(r[2] for r in con.execute(f"PRAGMA index_info('{name}')"))
            unique = next(r[2] for r in con.execute(f"PRAGMA index_list('{tbl}')") if r[1] == name)
            where = re.search(r"WHERE (.*)$", sql or "")
            out[("index", tbl, cols, unique, where.group(1) if where else None)] = True
    out["content_types"] = sorted(con.execute("SELECT app_label, model FROM django_content_type"))
    out["permissions"] = sorted(con.execute(
        "SELECT t.app_label, t.model, p.codename, p.name FROM auth_permission p "
        "JOIN django_content_type t ON t.id = p.content_type_id"))
    out["migrations"] = sorted(con.execute("SELECT app, name FROM django_migrations"))
    return out


def test_new_database_from_models_equals_the_migrated_one(tmp_path):
    migrated = _schema(_build(tmp_path / "migrated", _MIGRATE))
    fast = _schema(_build(tmp_path / "fast", _SETUP))
    assert len(migrated["migrations"]) > 20 and len(migrated) > 100
    assert sorted(fast, key=str) == sorted(migrated, key=str)
    for key in migrated:
        assert fast[key] == migrated[key], key
