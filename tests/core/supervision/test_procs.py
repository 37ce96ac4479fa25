"""Wall-clock limits on the FFmpeg processes that read a recording: a fake ffprobe or ffmpeg on
PATH that hangs (sleeps) is killed at its deadline, and the reader raises a bilingual InputError
naming the file — it neither waits forever nor ends silently with what it had read."""

from __future__ import annotations

import os
import shutil
import subprocess
import time

import pytest

from junheng.exceptions import InputError
from junheng.supervision import audio, frames, procs

pytestmark = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg not installed")


def _clip(tmp_path):
    """Three seconds of a test picture with a tone (MJPEG + PCM in AVI)."""
    out = tmp_path / "room 1.avi"
    subprocess.run([shutil.which("ffmpeg"), "-v", "error", "-f", "lavfi", "-i", "testsrc=size=64x48:rate=5",
                    "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=8000", "-t", "3", "-c:v", "mjpeg",
                    "-c:a", "pcm_s16le", str(out)], check=True)
    return out


def _hanging(tmp_path, monkeypatch, name: str) -> None:
    """A ``name`` on PATH before the real one that sleeps for a minute (the real other tool stays)."""
    fake = tmp_path / "bin"
    fake.mkdir(exist_ok=True)
    exe = fake / name
    exe.write_text("#!/bin/sh\nexec sleep 60\n")
    exe.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake}{os.pathsep}{os.environ['PATH']}")


def _refused(excinfo, tool: str, limit: float) -> None:
    issue = excinfo.value.issues[0]
    assert issue.file == "room 1.avi"
    assert tool in issue.rule_en and "timed out" in issue.rule_en and f"{limit:.0f} s" in issue.rule_en
    assert "超时" in issue.rule_zh and tool in issue.rule_zh


def test_a_hanging_ffprobe_is_killed_at_its_limit(tmp_path, monkeypatch):
    clip = _clip(tmp_path)
    _hanging(tmp_path, monkeypatch, "ffprobe")
    monkeypatch.setattr(frames, "PROBE_S", 1.0)
    monkeypatch.setattr(audio, "PROBE_S", 1.0)
    began = time.monotonic()
    with pytest.raises(InputError) as excinfo:
        frames.frame_statistics(clip, 1.0, decoder="ffmpeg")
    _refused(excinfo, "ffprobe", 1.0)
    with pytest.raises(InputError) as excinfo:  # the sound's probe too (it had no limit at all)
        audio.audio_levels(clip)
    _refused(excinfo, "ffprobe", 1.0)
    assert time.monotonic() - began < 20  # two limits of 1 s, not two sleeps of 60 s


def test_a_hanging_ffmpeg_is_killed_at_a_limit_scaled_to_the_duration(tmp_path, monkeypatch):
    clip = _clip(tmp_path)
    _hanging(tmp_path, monkeypatch, "ffmpeg")
    asked: list[float | None] = []

    def limit(duration):
        asked.append(duration)
        return 1.0

    monkeypatch.setattr(frames, "decode_limit", limit)
    monkeypatch.setattr(audio, "decode_limit", limit)
    began = time.monotonic()
    with pytest.raises(InputError) as excinfo:
        frames.frame_statistics(clip, 1.0, decoder="ffmpeg")
    _refused(excinfo, "ffmpeg", 1.0)
    with pytest.raises(InputError) as excinfo:
        audio.audio_levels(clip)
    _refused(excinfo, "ffmpeg", 1.0)
    assert time.monotonic() - began < 20
    # each limit was asked for the recording's duration (the picture's last packet, 2.8 s at 5 fps;
    # the container's 3 s for the sound)
    assert asked[0] == pytest.approx(2.8, abs=0.01) and asked[1] == pytest.approx(3.0, abs=0.1), asked


def test_the_decoding_limit_grows_with_the_duration():
    assert procs.decode_limit(0) == procs.DECODE_BASE_S
    assert procs.decode_limit(3600) == procs.DECODE_BASE_S + procs.DECODE_FACTOR * 3600
    assert procs.decode_limit(None) == procs.decode_limit(24 * 3600) == procs.decode_limit(float("inf"))
    # a duration the file claims (its last packet's time stamp, the container's header): a bogus
    # 1e9 s gave 127 years of wall clock — no limit at all; beyond a day, as for a day
    assert procs.decode_limit(1e9) == procs.decode_limit(24 * 3600) == procs.DECODE_BASE_S + procs.DECODE_FACTOR * 86400
    assert procs.decode_limit(-5) == procs.decode_limit(None)


def test_a_reading_within_its_limit_is_untouched(tmp_path):
    """The real tools, the default limits: the clip is read whole (15 samples … 3 s of sound)."""
    clip = _clip(tmp_path)
    stats, _ = frames.frame_statistics(clip, 5.0, decoder="ffmpeg")
    assert stats.height == 15
    assert audio.audio_levels(clip).height == 3


@pytest.mark.skipif(not os.path.exists(f"/proc/{os.getpid()}/task/{os.getpid()}/children"),
                    reason="the kernel lists no children in /proc (Linux's CONFIG_PROC_CHILDREN)")
def test_a_hanging_tool_that_forks_is_killed_with_its_children(tmp_path, monkeypatch):
    """A wrapper script in place of ffprobe that runs the hanging program as its child (no ``exec``):
    killing the wrapper alone left the child holding the output pipe, so the reader waited for the
    child's own end (30 s here; forever for a real hang) although the limit was 1 s, and the child
    lived on. The whole tree is killed at the limit: the reader returns within seconds and the child
    is gone."""
    clip = _clip(tmp_path)
    fake = tmp_path / "bin"
    fake.mkdir()
    marker = tmp_path / "child.pid"
    (fake / "ffprobe").write_text(f"#!/bin/sh\nsleep 30 &\necho $! > '{marker}'\nwait\n")
    (fake / "ffprobe").chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setattr(frames, "PROBE_S", 1.0)
    began = time.monotonic()
    with pytest.raises(InputError) as excinfo:
        frames.frame_statistics(clip, 1.0, decoder="ffmpeg")
    _refused(excinfo, "ffprobe", 1.0)
    assert time.monotonic() - began < 10
    child = int(marker.read_text())
    for _ in range(50):  # the child, killed: gone, or a zombie until whoever adopted it reaps it
        try:
            with open(f"/proc/{child}/stat") as stat:
                if stat.read().rpartition(")")[2].split()[0] == "Z":
                    break
        except FileNotFoundError:
            break
        time.sleep(0.1)
    else:
        pytest.fail(f"the wrapper's child {child} still runs")
