"""The wall-clock start a recording declares: its container's ``creation_time`` tag (UTC by the
MP4/QuickTime and Matroska conventions; most cameras and recorders write when they started, some
when they stopped), read by ffprobe from the file's header with the container's duration. Only a
default — a start given by a person always wins — and :func:`clock_start` decides which reading of
the tag is plausible against the session's schedule (docs/guide/video.md)."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
from pathlib import Path

from junheng.supervision.frames import media_arg


def declared_start(path: str | Path) -> dt.datetime | None:
    """The container's ``creation_time`` (format tag, else the first stream's) as an aware UTC
    datetime; None without ffprobe, without the tag, or when it does not parse."""
    return declared_times(path)[0]


def declared_times(path: str | Path) -> tuple[dt.datetime | None, float | None]:
    """(``creation_time`` as :func:`declared_start`, the container's duration in seconds or None),
    by one ffprobe run (60 s at most: past it, nothing is declared)."""
    exe = shutil.which("ffprobe")
    if exe is None:
        return None, None
    try:
        res = subprocess.run([exe, "-v", "error", "-show_entries",
                              "format=duration:format_tags=creation_time:stream_tags=creation_time", "-of", "json",
                              media_arg(path)], capture_output=True, text=True, timeout=60)
        info = json.loads(res.stdout or "{}") if res.returncode == 0 else {}
    except (OSError, subprocess.TimeoutExpired, ValueError):
        return None, None
    if not isinstance(info, dict):
        return None, None
    try:
        duration = float(info.get("format", {}).get("duration"))
        duration = duration if 0 <= duration < float("inf") else None
    except (TypeError, ValueError):
        duration = None
    tags = [info.get("format", {}).get("tags", {})] + [s.get("tags", {}) for s in info.get("streams", [])]
    for raw in (t.get("creation_time") for t in tags):
        if not raw:
            continue
        try:
            at = dt.datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
            at = at.replace(tzinfo=dt.UTC) if at.tzinfo is None else at.astimezone(dt.UTC)
        except (ValueError, OverflowError):  # OverflowError: 0001-01-01T00:00+05:00 has no UTC datetime
            continue
        if at.year > 1970:  # an unset camera clock writes 0 (1970) or 1904-01-01 (QuickTime's epoch)
            return at, duration
    return None, duration


EARLY = dt.timedelta(hours=1)


def clock_start(declared: dt.datetime | None, duration_s: float | None, starts_at: dt.datetime,
                ends_at: dt.datetime, *, early: dt.timedelta = EARLY) -> tuple[dt.datetime | None, str]:
    """Which reading of a declared ``creation_time`` to believe for a recording of ``duration_s``
    seconds of a session scheduled ``starts_at`` … ``ends_at``: ``(start, reading)``.

    * ``"start"`` — the tag is when recording started (the MP4/Matroska convention): the recording
      covers [declared, declared + duration];
    * ``"stop"`` — the tag is when it stopped (some devices write the file's closing time): it covers
      [declared − duration, declared].

    A reading is plausible when its start lies between ``early`` before the scheduled start and the
    scheduled end; of the plausible readings, the one whose span overlaps the scheduled window more
    wins, the ``start`` reading on a tie (a short recording inside the session reads both ways
    equally well: the convention decides).  ``(None, "none")`` when nothing is declared or neither
    reading is plausible (the caller uses the scheduled start).  Without a duration only the start
    reading is judged."""
    if declared is None:
        return None, "none"
    readings = [("start", declared)]
    if duration_s is not None and duration_s > 0:
        readings.append(("stop", declared - dt.timedelta(seconds=duration_s)))
    length = dt.timedelta(seconds=duration_s or 0.0)
    best: tuple[dt.timedelta, str, dt.datetime] | None = None
    for name, start in readings:
        if not starts_at - early <= start <= ends_at:
            continue
        overlap = max(dt.timedelta(0), min(start + length, ends_at) - max(start, starts_at))
        if best is None or overlap > best[0]:
            best = (overlap, name, start)
    return (best[2], best[1]) if best is not None else (None, "none")
