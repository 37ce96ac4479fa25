"""The wall-clock start a recording declares: its container's ``creation_time`` tag (UTC by the
MP4/QuickTime and Matroska conventions; cameras and recorders write when they started), read by
ffprobe from the file's header. Only a default — a start given by a person always wins — and the
caller decides whether it is plausible (docs/guide/video.md)."""

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
    exe = shutil.which("ffprobe")
    if exe is None:
        return None
    try:
        res = subprocess.run([exe, "-v", "error", "-show_entries",
                              "format_tags=creation_time:stream_tags=creation_time", "-of", "json", media_arg(path)],
                             capture_output=True, text=True, timeout=60)
        info = json.loads(res.stdout or "{}") if res.returncode == 0 else {}
    except (OSError, subprocess.TimeoutExpired, ValueError):
        return None
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
            return at
    return None
