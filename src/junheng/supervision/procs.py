"""Wall-clock limits on the FFmpeg processes that read a recording (ffprobe, ffmpeg).

A damaged or hostile file can make ffprobe or ffmpeg hang (a stream that never ends, a network
protocol that waits, a demuxer looping on broken packets); a worker that waits for it forever holds
its job and its slot.  Every process that reads a recording therefore runs under a deadline:

* probing (demuxing only: the header, the packet list): ``PROBE_S`` seconds, whatever the file;
* decoding: ``DECODE_BASE_S`` + ``DECODE_FACTOR`` × the recording's duration.  The clock runs
  while the caller works on each sample too (picture statistics, the people detector), so the limit
  is for the whole analysis of the file: it runs at 7–22× real time on an idle core
  (docs/methods/video-flags.md), so 4 s of wall clock per second of recording — 30–90× slower than
  that, a machine starved far beyond the deployment's sizing — is a hang, not a slow machine.

Past its deadline the process is killed, with any process it started (a wrapper script's child
would hold the pipe open), and the reader raises :class:`InputError` naming the file
and the limit, in Chinese and English (the job fails cleanly; nothing half-read is kept).
"""

from __future__ import annotations

import glob
import os
import signal
import threading
from pathlib import Path

from junheng.exceptions import InputError, Issue

PROBE_S = 120.0
DECODE_BASE_S = 120.0
DECODE_FACTOR = 4.0


def decode_limit(duration_s: float | None) -> float:
    """Seconds of wall clock allowed to decode a recording of ``duration_s`` seconds (unknown, not
    finite or longer than a day: as for a 24-hour recording — the duration is the file's own claim,
    and a bogus 1e9 s would lift the limit altogether)."""
    day = 24 * 3600.0
    d = min(duration_s, day) if duration_s is not None and 0 <= duration_s < float("inf") else day
    return DECODE_BASE_S + DECODE_FACTOR * d


def timed_out(path: str | Path, what: str, limit_s: float) -> InputError:
    """The error for a process killed at its deadline."""
    return InputError([Issue(f"读取录像超时：{what} 在 {limit_s:.0f} 秒内未完成（文件可能已损坏）",
                             f"reading the recording timed out: {what} did not finish within {limit_s:.0f} s "
                             "(the file may be damaged)", file=Path(path).name, value=f"> {limit_s:.0f} s")])


def _descendants(pid: int) -> list[int]:
    """The processes started by ``pid``, their children and so on (Linux: ``/proc/PID/task/*/children``;
    elsewhere none).  FFmpeg's tools do not fork, but a wrapper script in their place may run one as its
    child: killed alone, the wrapper leaves the child holding the output pipe, and the reader waits for
    the child's own end however late the limit fired."""
    out: list[int] = []
    todo = [pid]
    while todo and len(out) < 1000:
        parent = todo.pop()
        for task in glob.glob(f"/proc/{parent}/task/*/children"):
            try:
                with open(task) as listing:
                    found = [int(c) for c in listing.read().split()]
            except (OSError, ValueError):
                continue
            out += found
            todo += found
    return out


class Deadline:
    """``with Deadline(proc, limit_s, path, what):`` kills ``proc`` (a ``subprocess.Popen``) when it
    runs longer than ``limit_s`` seconds of wall clock from entering the block, and on leaving the
    block raises :func:`timed_out` if it did (in place of whatever the killed pipe caused inside)."""

    def __init__(self, proc, limit_s: float, path: str | Path, what: str) -> None:
        self.proc, self.limit_s, self.path, self.what = proc, limit_s, path, what
        self.fired = threading.Event()
        self._timer = threading.Timer(limit_s, self._kill)
        self._timer.daemon = True

    def _kill(self) -> None:
        if self.proc.poll() is None:
            self.fired.set()
            for pid in _descendants(self.proc.pid):  # a wrapper's children would hold the pipes open
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:  # gone meanwhile
                    pass
            self.proc.kill()

    def __enter__(self) -> Deadline:
        self._timer.start()
        return self

    def __exit__(self, kind, value, tb) -> bool:
        self._timer.cancel()
        if self.fired.is_set():
            raise timed_out(self.path, self.what, self.limit_s) from value
        return False


__all__ = ["DECODE_BASE_S", "DECODE_FACTOR", "PROBE_S", "Deadline", "decode_limit", "timed_out"]
