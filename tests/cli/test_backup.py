"""``junheng backup`` / ``junheng restore`` (issue 12.10): a backup taken, the database changed, the
backup restored — the database is exactly as it was at the backup; a file that is not a backup of
this kind is refused and changes nothing.  On SQLite always; on PostgreSQL when a server is given
(``JUNHENG_TEST_DATABASE_URL``, as at CI), in a throw-away database of its own."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import uuid
from urllib.parse import urlparse, urlunparse

import pytest

SNIPPET = """
from junheng_web.bootstrap import setup
setup()
from junheng_web.registry.models import Region
{body}
"""


def _py(env: dict, body: str) -> str:
    out = subprocess.run([sys.executable, "-c", SNIPPET.format(body=body)], env=env, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def _cli(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "junheng_cli.main", *args], env=env, capture_output=True, text=True,
                          timeout=300)


def _codes(env) -> str:
    return _py(env, "print(','.join(Region.objects.order_by('code').values_list('code', flat=True)))")


def _round_trip(env: dict, backup_file, wrong_file) -> None:
    _py(env, "Region.objects.create(code='410000', level='province', name='河南省')")
    out = _cli(env, "backup", str(backup_file))
    assert out.returncode == 0, out.stderr
    assert stat.S_IMODE(backup_file.stat().st_mode) == 0o600
    _py(env, "Region.objects.create(code='410100', level='city', name='郑州市'); "
             "Region.objects.filter(code='410000').update(name='改过的')")
    assert _codes(env) == "410000,410100"
    wrong_file.write_bytes(b"SQLite format 3\x00 but not really" if "sqlite" in str(backup_file) else b"PGDMP junk")
    bad = _cli(env, "restore", "--yes", str(wrong_file))
    assert bad.returncode == 2 and "Traceback" not in bad.stderr, bad.stderr
    assert _codes(env) == "410000,410100"  # nothing changed by the refused restore
    out = _cli(env, "restore", "--yes", str(backup_file))
    assert out.returncode == 0, out.stderr
    assert _py(env, "print(list(Region.objects.order_by('code').values_list('code', 'name')))") == \
        "[('410000', '河南省')]"


def test_sqlite_backup_and_restore(tmp_path):
    env = {**os.environ, "JUNHENG_HOME": str(tmp_path / "home")}
    env.pop("JUNHENG_DATABASE_URL", None)
    _round_trip(env, tmp_path / "backup.sqlite3", tmp_path / "wrong.sqlite3")


def test_sqlite_restore_refuses_without_confirmation(tmp_path):
    env = {**os.environ, "JUNHENG_HOME": str(tmp_path / "home")}
    env.pop("JUNHENG_DATABASE_URL", None)
    _py(env, "Region.objects.create(code='410000', level='province', name='河南省')")
    assert _cli(env, "backup", str(tmp_path / "b.sqlite3")).returncode == 0
    out = subprocess.run([sys.executable, "-m", "junheng_cli.main", "restore", str(tmp_path / "b.sqlite3")], env=env,
                         input="n\n", capture_output=True, text=True, timeout=120)
    assert out.returncode != 0 and "丢失" in out.stdout


def _server_url() -> str | None:
    for name in ("JUNHENG_TEST_DATABASE_URL", "JUNHENG_DATABASE_URL"):
        url = os.environ.get(name, "")
        if url.startswith(("postgres://", "postgresql://")):
            return url
    return None


@pytest.mark.skipif(_server_url() is None, reason="no PostgreSQL server (JUNHENG_TEST_DATABASE_URL)")
def test_postgresql_backup_and_restore(tmp_path):
    import psycopg

    base = urlparse(_server_url())
    name = f"junheng_restore_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(urlunparse(base), autocommit=True) as con:
        con.execute(f'CREATE DATABASE "{name}"')
    try:
        env = {**os.environ, "JUNHENG_HOME": str(tmp_path / "home"),
               "JUNHENG_DATABASE_URL": urlunparse(base._replace(path="/" + name))}
        _round_trip(env, tmp_path / "backup.pgdump", tmp_path / "wrong.pgdump")
    finally:
        with psycopg.connect(urlunparse(base), autocommit=True) as con:
            con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
