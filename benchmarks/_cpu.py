"""CPU seconds of server processes a benchmark drives from outside (gunicorn, PostgreSQL)."""

from __future__ import annotations


def cpu_of(*pids: int) -> float:
    """User + system CPU seconds so far of each process in ``pids``, its live descendants and the
    children it has already reaped; a process that is gone counts 0."""
    import psutil

    total = 0.0
    for pid in pids:
        try:
            p = psutil.Process(pid)
            t = p.cpu_times()
            total += t.user + t.system + t.children_user + t.children_system
            kids = p.children(recursive=True)
        except psutil.NoSuchProcess:
            continue
        for c in kids:
            try:
                ct = c.cpu_times()
                total += ct.user + ct.system
            except psutil.NoSuchProcess:
                pass
    return total
