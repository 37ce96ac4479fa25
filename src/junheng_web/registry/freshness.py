"""How fresh the cached pages of a cycle are: a per-cycle *epoch* in the shared cache, moved by
every service that writes a cycle's results (fitness import, score store, weights), which the
dashboards' cache keys include — so a page computed before an import is never served after it.
Writes by other paths (the admin) show within ``JUNHENG_DASHBOARD_FRESHNESS`` seconds, the
lifetime of a page's data stamp (cycles.dashboards)."""

from __future__ import annotations

import os
import time

from django.core.cache import cache
from django.db import transaction


def _key(cycle_id: int) -> str:
    return f"junheng:epoch:{cycle_id}"


def epoch(cycle_id: int) -> int:
    """The cycle's current epoch (0 until the first write through a service)."""
    return cache.get(_key(cycle_id)) or 0


def touch(cycle_id: int) -> None:
    """The cycle's results are changing: every cached page of it is stale — now, and again when
    the writing transaction commits (a page computed in between, from the data before the commit,
    is not kept under the new epoch)."""
    cache.set(_key(cycle_id), time.time_ns(), None)
    transaction.on_commit(lambda: cache.set(_key(cycle_id), time.time_ns(), None))


def freshness() -> float:
    """Seconds a page's data stamp (or the progress counts) may be reused: ``JUNHENG_DASHBOARD_FRESHNESS``
    (default 10; 0: recomputed on every request)."""
    return float(os.environ.get("JUNHENG_DASHBOARD_FRESHNESS", "10"))


def fresh(key: str, compute):
    """``compute()``, kept in the shared cache under ``key`` and renewed when older than
    :func:`freshness` — by one request only: while it renews, the others get the previous value
    (no stampede of a hundred operators recomputing the same aggregates at once).  With
    freshness 0 it is computed every time."""
    ttl = freshness()
    if ttl <= 0:
        return compute()
    hit = cache.get(key)
    if hit is not None:
        value, at = hit
        if time.time() - at < ttl or not cache.add(f"{key}:renewing", 1, 300):
            return value  # fresh, or another request is renewing it
    try:
        value = compute()
        cache.set(key, (value, time.time()), 7 * 24 * 3600)
    finally:
        cache.delete(f"{key}:renewing")
    return value
