"""The platform's database, online, to one file and back (``junheng backup`` / ``junheng restore``
call these; the CLI only parses and prints).

- SQLite: SQLite's online backup API (``sqlite3.Connection.backup``) copies a consistent snapshot
  while the server keeps answering; the copy is checked (``PRAGMA integrity_check``) before it
  replaces an earlier backup.  Restore copies the backup into the live database the same way
  (one step, under SQLite's lock), after checking that the file is a junheng database.
- PostgreSQL: ``pg_dump --format=custom`` and ``pg_restore --clean --if-exists --single-transaction``
  (all or nothing: a failed restore leaves the database as it was).

The database is the one of ``JUNHENG_DATABASE_URL`` / ``JUNHENG_HOME`` (as for ``junheng serve``).
The installation's ``$JUNHENG_HOME/secret_key`` is not in the backup: keep a copy of it apart
(login codes and sessions depend on it), and keep uploads under ``$JUNHENG_HOME/media`` with
the file backups of the machine (docs/deploy.md).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from django.conf import settings

from junheng.exceptions import JunhengError

SQLITE_MAGIC = b"SQLite format 3\x00"
PGDUMP_MAGIC = b"PGDMP"


def _database() -> dict:
    return settings.DATABASES["default"]


def _pg_env(db: dict) -> tuple[list[str], dict]:
    args = ["--dbname", db["NAME"]]
    for flag, key in (("--host", "HOST"), ("--port", "PORT"), ("--username", "USER")):
        if db.get(key):
            args += [flag, str(db[key])]
    env = {**os.environ}
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = db["PASSWORD"]
    return args, env


def _tool(name: str) -> str:
    found = shutil.which(name) or next((str(p) for p in sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"),
                                                                   reverse=True)), None)
    if not found:
        raise JunhengError(f"找不到 {name}（请安装 postgresql-client）/ {name} not found (install postgresql-client)")
    return found


def _run(cmd: list[str], env: dict, what: str) -> None:
    out = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise JunhengError(f"{what} 失败 / failed: {out.stderr.strip()[-2000:]}")


def _check_sqlite_file(path: Path) -> None:
    """A SQLite file that passes the integrity check and holds junheng's tables."""
    with open(path, "rb") as f:
        if f.read(16) != SQLITE_MAGIC:
            raise JunhengError(f"{path}: 不是 SQLite 备份文件 / not a SQLite backup")
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        ok = con.execute("PRAGMA integrity_check").fetchone()[0]
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    except sqlite3.DatabaseError as e:
        raise JunhengError(f"{path}: 备份文件已损坏 / the backup is damaged: {e}") from None
    finally:
        con.close()
    if ok != "ok":
        raise JunhengError(f"{path}: 备份文件已损坏 / the backup is damaged: {ok}")
    if not {"django_migrations", "registry_pupil"} <= tables:
        raise JunhengError(f"{path}: 不是 junheng 数据库的备份 / not a backup of a junheng database")


def backup_database(out: Path) -> str:
    """Write the backup to ``out``; returns the engine's name."""
    db = _database()
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.partial")
    try:
        if db["ENGINE"].endswith("sqlite3"):
            src = sqlite3.connect(db["NAME"], timeout=30)
            dst = sqlite3.connect(tmp)
            try:
                src.backup(dst, pages=4096)  # in steps: writers are blocked for one step at a time only
            finally:
                dst.close()
                src.close()
            _check_sqlite_file(tmp)
            kind = "sqlite"
        elif db["ENGINE"].endswith("postgresql"):
            args, env = _pg_env(db)
            _run([_tool("pg_dump"), "--format=custom", "--no-owner", "--file", str(tmp), *args], env, "pg_dump")
            kind = "postgresql"
        else:
            raise JunhengError(f"不支持的数据库 / unsupported database engine {db['ENGINE']}")
        os.chmod(tmp, 0o600)  # pupils' records: readable by the owner only
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return kind


def restore_database(src: Path) -> str:
    """Replace the live database's content with the backup ``src``; returns the engine's name."""
    db = _database()
    if not src.is_file():
        raise JunhengError(f"{src}: 文件不存在 / no such file")
    with open(src, "rb") as f:
        head = f.read(16)
    if db["ENGINE"].endswith("sqlite3"):
        if head.startswith(PGDUMP_MAGIC):
            raise JunhengError(f"{src}: PostgreSQL 的备份不能恢复到 SQLite / a PostgreSQL backup cannot be restored into SQLite")
        _check_sqlite_file(src)
        from_con = sqlite3.connect(f"file:{src}?mode=ro", uri=True)
        to_con = sqlite3.connect(db["NAME"], timeout=60)
        try:
            from_con.backup(to_con)  # one step: the live database changes all at once
        finally:
            to_con.close()
            from_con.close()
        return "sqlite"
    if db["ENGINE"].endswith("postgresql"):
        if not head.startswith(PGDUMP_MAGIC):
            raise JunhengError(f"{src}: 不是 pg_dump 自定义格式的备份 / not a pg_dump custom-format backup")
        args, env = _pg_env(db)
        _run([_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--single-transaction",
              "--exit-on-error", *args, str(src)], env, "pg_restore")
        return "postgresql"
    raise JunhengError(f"不支持的数据库 / unsupported database engine {db['ENGINE']}")
