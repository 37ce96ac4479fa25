"""Sound in the room against its own baseline: talking in a silent test.

The recording's first audio stream is decoded by ffmpeg to mono 16-bit PCM at 8 kHz (gaps in its
time stamps filled with silence, ``aresample=async``, so seconds stay the recording's seconds) and
cut into windows of ``window_s``; each window's level is its RMS in dB relative to full scale
(dBFS; digital silence −90).  The room's baseline is a low quantile of those levels over the whole
recording (``baseline_quantile``: the level the room is quieter than a quarter of the time — the
quiet room, not its average, which talking would raise); a stretch louder than the baseline by
``margin_db`` for at least ``min_s`` (pauses shorter than ``bridge_s`` bridged: speech pauses
between words) is a ``sound`` flag.  Methods: ``docs/methods/video-flags.md``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import polars as pl

from junheng.exceptions import InputError, Issue, ParameterError
from junheng.supervision.flags import FLAG_SCHEMA, _interval_flags, _runs, check_thresholds, flag_frame
from junheng.supervision.frames import media_arg, read_up_to
from junheng.supervision.procs import PROBE_S, Deadline, decode_limit, timed_out

AUDIO_KINDS = ("sound",)
RATE = 8000
SILENCE_DB = -90.0


@dataclass(frozen=True)
class AudioParameters:
    """Thresholds of the sound rule (dB, seconds)."""

    window_s: float = 1.0  # one level per second
    baseline_quantile: float = 0.25  # the room's baseline: this quantile of the levels of the recording
    floor_db: float = 60.0  # a baseline below −this dBFS counts as −this (a near-silent microphone)
    margin_db: float = 12.0  # sound: louder than the baseline by this (4× the amplitude) …
    min_s: float = 10.0  # … for at least this long …
    bridge_s: float = 2.0  # … pauses shorter than this (between words) bridged

    def __post_init__(self) -> None:
        check_thresholds(self)
        if not 0 < self.window_s or self.baseline_quantile > 1:
            raise ParameterError("声音阈值无效 / invalid sound thresholds: window_s must be > 0 and "
                                 f"baseline_quantile between 0 and 1; got {self.window_s!r}, {self.baseline_quantile!r}")

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def audio_levels(path: str | Path, window_s: float = 1.0, *, max_s: float | None = None) -> pl.DataFrame:
    """``t_s, level_db``: the level of each ``window_s`` of the recording's first audio stream
    (``t_s`` its start, seconds from the start of the file); an empty frame when the file has no
    audio.  The sound is read from ffmpeg a block of windows at a time (a jump in its time stamps
    becomes silence, however long: memory stays small) and, with ``max_s``, no further than that
    many seconds (the picture's length).  A file ffmpeg cannot read raises :class:`InputError`."""
    import json
    import shutil
    import subprocess
    import tempfile

    path = Path(path)
    if not window_s > 0:
        raise ParameterError(f"window_s 须大于 0 / window_s must be > 0; got {window_s}")
    if max_s is not None and not max_s >= 0:
        raise ParameterError(f"max_s 须为非负数 / max_s must be ≥ 0; got {max_s}")
    if not path.is_file():
        raise InputError([Issue("文件不存在", "file not found", file=path.name)])
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise ParameterError("未安装 ffmpeg，无法分析声音 / ffmpeg is not installed: no sound analysis")
    try:  # the first audio stream's index and the file's duration (for the decoding's time limit)
        probe = subprocess.run([shutil.which("ffprobe") or "ffprobe", "-v", "error", "-select_streams", "a:0",
                                "-show_entries", "stream=index:format=duration", "-of", "json", media_arg(path)],
                               capture_output=True, text=True, timeout=PROBE_S)
        info = json.loads(probe.stdout or "{}") if probe.returncode == 0 else None
    except subprocess.TimeoutExpired:
        raise timed_out(path, "ffprobe", PROBE_S) from None
    except ValueError:
        info = None
    empty = pl.DataFrame(schema={"t_s": pl.Float64, "level_db": pl.Float64})
    if not isinstance(info, dict):
        raise InputError([Issue("无法读取视频（格式不受支持或文件已损坏）",
                                "cannot read the video (unsupported format or damaged file)", file=path.name)])
    if not info.get("streams"):
        return empty
    try:
        duration = float(info.get("format", {}).get("duration"))
    except (TypeError, ValueError):
        duration = None
    if max_s is not None:
        duration = max_s if duration is None else min(duration, max_s)
    size = max(1, int(round(window_s * RATE)))
    limit = None if max_s is None else int(max_s * RATE // size)  # whole windows wanted at most
    sums: list[np.ndarray] = []
    n, stopped = 0, False
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen([ffmpeg, "-nostdin", "-v", "error", "-i", media_arg(path), "-map", "0:a:0", "-vn",
                                 "-ac", "1", "-af", f"aresample={RATE}:async=1:first_pts=0", "-ar", str(RATE), "-f",
                                 "s16le", "pipe:1"], stdout=subprocess.PIPE, stderr=err)
        with Deadline(proc, decode_limit(duration), path, "ffmpeg"):  # a hung ffmpeg is killed: InputError
            try:
                while limit is None or n < limit:
                    want = 256 if limit is None else min(256, limit - n)
                    buf = read_up_to(proc.stdout, want * size * 2)
                    pcm = np.frombuffer(buf, dtype="<i2", count=len(buf) // (2 * size) * size).astype(np.int64)  # whole windows, no copy
                    if len(pcm):
                        sums.append((pcm.reshape(-1, size) ** 2).sum(axis=1))
                        n += len(pcm) // size
                    if len(buf) < want * size * 2:
                        break
                else:
                    stopped = True
            finally:
                proc.stdout.close()
                if proc.poll() is None:
                    proc.kill()
                proc.wait()
        err.seek(0)
        message = err.read()[-400:].decode("utf-8", "replace").strip()
    if proc.returncode != 0 and not stopped:
        raise InputError([Issue("无法读取录像中的声音", "cannot decode the recording's sound", file=path.name,
                                value=message[-200:])])
    if n == 0:
        return empty
    rms = np.sqrt(np.concatenate(sums) / size) / 32768.0
    level = np.where(rms > 0, 20 * np.log10(np.maximum(rms, 1e-12)), SILENCE_DB)
    return pl.DataFrame({"t_s": np.arange(n) * size / RATE, "level_db": np.maximum(level, SILENCE_DB)})


def audio_flags(levels: pl.DataFrame, params: AudioParameters | None = None) -> pl.DataFrame:
    """``sound`` flags (``FLAG_SCHEMA``, warnings) from :func:`audio_levels`: stretches louder than
    the room's baseline + ``margin_db`` for at least ``min_s`` (pauses < ``bridge_s`` bridged).
    Score: the mean excess over the margin ÷ the margin, at most 1."""
    p = params or AudioParameters()
    if levels.height == 0:
        return pl.DataFrame(schema=FLAG_SCHEMA)
    t = levels["t_s"].to_numpy().astype(np.float64)
    level = levels["level_db"].to_numpy().astype(np.float64)
    period = float(np.median(np.diff(t))) if len(t) > 1 else p.window_s
    baseline = max(float(np.quantile(level, p.baseline_quantile)), -p.floor_db)
    loud = level >= baseline + p.margin_db
    bridged = loud.copy()
    for a, b in _runs(~loud):  # short quiet stretches between loud ones
        if a > 0 and b < len(loud) - 1 and (b - a + 1) * period < p.bridge_s:
            bridged[a:b + 1] = True
    excess = np.clip((level - baseline - p.margin_db) / max(p.margin_db, 1e-9), 0, 1)
    out = _interval_flags(t, bridged, kind="sound", min_s=p.min_s, serious_s=np.inf, score=excess, period=period)
    return flag_frame(out)


__all__ = ["AUDIO_KINDS", "AudioParameters", "audio_flags", "audio_levels"]
