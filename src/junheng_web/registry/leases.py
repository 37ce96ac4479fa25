"""Leased locks beside the page cache, for the single flight of registry.freshness: one caller at a
time computes a missing value, whatever the cache backend.

A lock is a row (database cache), a file (file cache) or an entry (in-memory cache) holding its
owner's token and the end of its lease.  Three operations, each atomic among every process that
shares the cache:

* ``claim`` — take the lock if nobody holds it or its holder's lease has lapsed (a holder that was
  killed, or hung past its lease, is taken over);
* ``renew`` — extend the lease, only if the caller still holds it (the heartbeat while it computes);
* ``release`` — give it up, only if the caller still holds it (a release never deletes a lock that
  another caller took over).

Django's ``cache.add`` is none of these: on the file cache it is a look followed by a write (two
threads or processes both get True), on the database cache a ``SELECT`` then an ``INSERT`` or an
``UPDATE`` of an expired row, with any database error taken as "not added" (docs/deploy.md § 2
has the counts), and no backend's ``delete`` checks the owner.  The database store therefore writes the cache table itself with single conditional
statements (a unique key for the claim, ``WHERE expires < now`` for a take-over, ``WHERE value =
token`` for renew and release); the file store does each operation under an exclusive ``flock``
of one guard file in the cache folder; the in-memory store under a thread lock (one process).

None of it runs inside a caller's ``transaction.atomic`` (:func:`refuse_inside_transaction`: a
clear error, on every backend)."""

from __future__ import annotations

import base64
import fcntl
import hashlib
import os
import pickle
import threading
import time
from pathlib import Path

from django.core.cache import caches
from django.core.cache.backends.db import DatabaseCache
from django.core.cache.backends.filebased import FileBasedCache
from django.core.cache.backends.locmem import LocMemCache
from django.db import connections, router, transaction


class InsideTransaction(RuntimeError):
    """A single flight (or a lease) asked for inside a caller's ``transaction.atomic`` — a bug of
    the caller, refused (:func:`refuse_inside_transaction`)."""


def refuse_inside_transaction(what: str) -> None:
    """Refuse ``what`` (a single flight, a lock operation) while any database connection is inside a
    caller's ``transaction.atomic``.  Inside one, the database store's lock row — and the database
    cache's value, which ``cache.set`` writes on the same connection — stay invisible to every other
    process until the caller commits (and go with a rollback): the others would claim the same lock
    and compute the same value alongside.  Refused rather than claimed on a separate autocommit
    connection: that would make the lock visible but not the value (waiters would wait for a value
    they cannot see, then compute it again), and a second connection's write waits on the caller's
    own transaction — on SQLite, one writer at a time, until "database is locked"; on PostgreSQL, for
    ever, behind a lock row the caller's transaction deleted (``cache.clear``).  Refused on every
    backend, so the mistake shows where it is made (a test on SQLite's in-memory cache), not only
    in production on the database cache.  No caller needs it: compute outside the transaction, or
    after it (``transaction.on_commit``).  A test case's own transaction (pytest-django, Django's
    ``TestCase``) is not a caller's — the rule of Django's ``atomic(durable=True)``: only the
    innermost block counts, and a test's blocks are marked ``_from_testcase``."""
    for connection in connections.all(initialized_only=True):
        if connection.atomic_blocks and not connection.atomic_blocks[-1]._from_testcase:
            raise InsideTransaction(
                f"{what}：不能在数据库事务（transaction.atomic，数据库 {connection.alias}）中调用 / {what} cannot run "
                f"inside transaction.atomic (database {connection.alias!r}): its lock and its value would stay "
                "invisible to other processes until the transaction commits, and each would compute the same "
                "value; call it outside the transaction or in transaction.on_commit")


def lease_seconds() -> float:
    """Seconds a lock holder's lease lasts without a heartbeat: ``JUNHENG_SINGLE_FLIGHT_LEASE``
    (default 30).  The holder renews it every third of that while it computes, so a computation may
    take as long as it needs; a holder that dies is taken over at most this long after its last renewal."""
    return float(os.environ.get("JUNHENG_SINGLE_FLIGHT_LEASE", "30"))


class _MemoryStore:
    """The in-memory cache's locks (one process: its threads)."""

    _guard = threading.Lock()
    _locks: dict[int, dict[str, tuple[str, float]]] = {}  # per cache (its entries' dict): per name, token and lease end

    def __init__(self, cache: LocMemCache):
        self._held = self._locks.setdefault(id(cache._cache), {})

    def claim(self, name: str, token: str, lease: float) -> bool:
        with self._guard:
            held = self._held.get(name)
            if held is not None and held[1] > time.monotonic():
                return False
            self._held[name] = (token, time.monotonic() + lease)
            return True

    def renew(self, name: str, token: str, lease: float) -> bool:
        with self._guard:
            if self._held.get(name, ("",))[0] != token:
                return False
            self._held[name] = (token, time.monotonic() + lease)
            return True

    def release(self, name: str, token: str) -> None:
        with self._guard:
            if self._held.get(name, ("",))[0] == token:
                del self._held[name]


class _FileStore:
    """The file cache's locks: one small file per lock in ``<cache folder>/locks`` (token and the
    lease's end in seconds since the epoch), every read-and-write of one under the exclusive flock of
    ``locks/.guard`` — atomic among the processes of the machine that shares the folder."""

    def __init__(self, folder: str):
        self.folder = Path(folder) / "locks"

    def _path(self, name: str) -> Path:
        return self.folder / hashlib.sha256(name.encode()).hexdigest()

    def _guarded(self, name: str, change):
        self.folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.folder / ".guard", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            path = self._path(name)
            try:
                token, until = path.read_text().split()
                held = (token, float(until))
            except (FileNotFoundError, ValueError):
                held = None
            return change(path, held)
        finally:
            os.close(fd)  # closing the descriptor drops the flock

    @staticmethod
    def _write(path: Path, token: str, lease: float) -> None:
        part = path.with_suffix(".part")
        part.write_text(f"{token} {time.time() + lease!r}")
        os.replace(part, path)

    def claim(self, name: str, token: str, lease: float) -> bool:
        def change(path, held):
            if held is not None and held[1] > time.time():
                return False
            self._write(path, token, lease)
            return True
        return self._guarded(name, change)

    def renew(self, name: str, token: str, lease: float) -> bool:
        def change(path, held):
            if held is None or held[0] != token:
                return False
            self._write(path, token, lease)
            return True
        return self._guarded(name, change)

    def release(self, name: str, token: str) -> None:
        def change(path, held):
            if held is not None and held[0] == token:
                path.unlink(missing_ok=True)
        self._guarded(name, change)


# the database's own clock ``seconds`` from now, in SQL, and the parameter that says how far — in the
# form the cache table's ``expires`` column holds (SQLite: text, as Django writes it; 'now' and
# statement_timestamp() are one instant for the whole statement)
_DB_CLOCK = {
    "postgresql": ("statement_timestamp() + make_interval(secs => %s)", float),
    "sqlite": ("(strftime('%%Y-%%m-%%d %%H:%%M:%%f', 'now', %s) || '000')", lambda seconds: f"{seconds:+.3f} seconds"),
}


class _DatabaseStore:
    """The database cache's locks: rows of its own table (``cache.get`` of a lock's key gives the
    holder's token), each operation one statement: a claim is an ``INSERT … ON CONFLICT DO
    NOTHING`` (the key is unique: one of two claims inserts) or else an ``UPDATE … WHERE expires < now`` of a lapsed row (after a
    concurrent take-over commits, PostgreSQL re-checks the condition and updates nothing; SQLite
    runs one writer at a time).

    A lease's end and the "now" it is checked against are the database's clock, in the statement
    itself (``statement_timestamp()``; SQLite's ``'now'``), never an application server's: several
    gunicorn machines whose clocks disagree still agree on whether a lease has lapsed, as there is
    one clock.  (The file and in-memory stores are one machine's, so one clock already.)"""

    def __init__(self, cache: DatabaseCache):
        self.cache = cache
        vendor = connections[router.db_for_write(cache.cache_model_class)].vendor
        if vendor not in _DB_CLOCK:
            raise NotImplementedError(f"single flight has no database clock for {vendor}; use PostgreSQL or SQLite")
        self._clock, self._seconds = _DB_CLOCK[vendor]

    def _run(self, sql: str, params: list) -> int:
        db = router.db_for_write(self.cache.cache_model_class)
        connection = connections[db]
        table = connection.ops.quote_name(self.cache._table)
        with transaction.atomic(using=db), connection.cursor() as cursor:  # (a savepoint in a test case's transaction)
            cursor.execute(sql.format(table=table), params)
            return cursor.rowcount

    def _row(self, name: str, token: str) -> tuple[str, str]:
        return self.cache.make_and_validate_key(name), base64.b64encode(pickle.dumps(token, pickle.HIGHEST_PROTOCOL)).decode()

    def claim(self, name: str, token: str, lease: float) -> bool:
        key, value = self._row(name, token)
        # ON CONFLICT DO NOTHING (PostgreSQL; SQLite >= 3.24): a held lock's claim — every waiter's
        # retry — is no failed INSERT (an error in PostgreSQL's log and a dead row each time)
        if self._run(f"INSERT INTO {{table}} (cache_key, value, expires) VALUES (%s, %s, {self._clock}) "
                     "ON CONFLICT (cache_key) DO NOTHING", [key, value, self._seconds(lease)]) == 1:
            return True
        return self._run(f"UPDATE {{table}} SET value = %s, expires = {self._clock} WHERE cache_key = %s "
                         f"AND expires < {self._clock}", [value, self._seconds(lease), key, self._seconds(0)]) == 1

    def renew(self, name: str, token: str, lease: float) -> bool:
        key, value = self._row(name, token)
        return self._run(f"UPDATE {{table}} SET expires = {self._clock} WHERE cache_key = %s AND value = %s",
                         [self._seconds(lease), key, value]) == 1

    def release(self, name: str, token: str) -> None:
        key, value = self._row(name, token)
        self._run("DELETE FROM {table} WHERE cache_key = %s AND value = %s", [key, value])


def store(cache=None):
    """The lock store of ``cache`` (default: the page cache).  Only the backends settings.py
    offers have one; any other backend is refused rather than locked unsafely, and so is a caller
    inside ``transaction.atomic`` (:func:`refuse_inside_transaction`)."""
    refuse_inside_transaction("single flight lock")
    backend = cache or caches["default"]
    if isinstance(backend, DatabaseCache):
        return _DatabaseStore(backend)
    if isinstance(backend, FileBasedCache):
        return _FileStore(backend._dir)
    if isinstance(backend, LocMemCache):
        return _MemoryStore(backend)
    raise NotImplementedError(f"single flight has no atomic lock for the cache backend {type(backend).__name__}; "
                              "use JUNHENG_CACHE=db, file or locmem")
