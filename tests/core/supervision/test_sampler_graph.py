"""The ffmpeg sampler's filter graph (``_FFmpegSampler.command``): what each branch computes, checked
against an independent decoding (ffmpeg's whole decoding to raw YUV, block means in NumPy)."""

from __future__ import annotations

import re
import shutil
import subprocess

import numpy as np
import pytest

pytestmark = pytest.mark.skipif(shutil.which("ffmpeg") is None or shutil.which("ffprobe") is None,
                                reason="ffmpeg not installed")


def _clip(tmp_path, gop: int):
    clip = tmp_path / f"gop{gop}.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=s=320x240:r=25:d=4,noise=alls=6:allf=t",
                    "-c:v", "libx264", "-preset", "veryfast", "-g", str(gop), "-keyint_min", str(gop),
                    "-sc_threshold", "0", "-bf", "0", "-pix_fmt", "yuv420p", str(clip)], check=True)
    return clip


@pytest.mark.parametrize("colour", [True, False])
def test_showinfo_is_asked_for_time_stamps_only(tmp_path, colour):
    """``showinfo`` is in the graph only for each frame's time stamp; by default it also computes an
    Adler-32 checksum and the mean and deviation of every plane of every frame it sees — ≈ 0.9 ms a
    768 px colour sample, 0.05–0.1 CPU s a minute for numbers nobody reads. Every showinfo of the
    graph (the samples' and the echo frames') has ``checksum=0``; fails on the old graph."""
    from junheng.supervision.frames import _FFmpegSampler

    sampler = _FFmpegSampler(_clip(tmp_path, 25), 1.0, 160, colour, echo=True)
    for cmd in (sampler.command(), sampler.command(5)):
        graph = cmd[cmd.index("-filter_complex") + 1] if "-filter_complex" in cmd else cmd[cmd.index("-vf") + 1]
        found = re.findall(r"showinfo@\w+(=[^,;\[]*)?", graph)
        assert found and all(opts == "=checksum=0" for opts in found), graph


def test_samples_and_echo_prints_against_a_whole_decoding(tmp_path):
    """A 4 s clip with key frames 2 s apart (no B-frames: decoded up to each group's last sample) at 1
    sample/s: the samples lie at the whole decoding's first frame of each second, and each echo print
    (16×12 grey block means of every decoded frame) is the NumPy block mean of that frame's luma
    stretched from the video range 16–235 to 0–255, within 2.5 grey levels (swscale's area filter is
    not an exact box: 1.4 at most and 0.3 at the median here, up to 3 on 720p). Oracle: ffmpeg's decoding of every frame to raw YUV (without the
    de-blocking filter, as the sampler decodes) and ffprobe's frame times."""
    from junheng.supervision.frames import ECHO, _FFmpegSampler

    clip = _clip(tmp_path, 50)
    times = [float(t.split(",")[0]) for t in subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "frame=pts_time", "-of", "csv=p=0",
         str(clip)], capture_output=True, text=True, check=True).stdout.split()]
    raw = subprocess.run(["ffmpeg", "-v", "error", "-skip_loop_filter", "all", "-i", str(clip), "-f", "rawvideo",
                          "-pix_fmt", "yuv420p", "-"], capture_output=True, check=True).stdout
    luma = np.frombuffer(raw, np.uint8).reshape(-1, 240 * 320 * 3 // 2)[:, :240 * 320].reshape(-1, 240, 320)
    assert len(luma) == len(times) == 100
    sampler = _FFmpegSampler(clip, 1.0, 320, colour=False, echo=True)
    assert sampler.drop is not None  # the truncated decoding (both pipes, the stream copy) is the one tried
    samples = list(sampler)
    assert [round(t, 3) for t, _ in samples] == [0.0, 1.0, 2.0, 3.0]
    echo_t, prints = sampler.echoes()
    assert 8 <= len(echo_t) < 100 and prints.shape == (len(echo_t), ECHO[0] * ECHO[1])
    at = np.searchsorted(np.round(times, 4), np.round(echo_t, 4))
    assert np.allclose(np.asarray(times)[at], echo_t)
    blocks = luma[at].reshape(-1, ECHO[1], 240 // ECHO[1], ECHO[0], 320 // ECHO[0]).mean(axis=(2, 4))
    want = np.clip((blocks - 16.0) * 255.0 / 219.0, 0, 255).reshape(len(at), -1)
    off = np.abs(prints.astype(float) - want)
    assert off.max() <= 2.5 and np.median(off) <= 0.75, (off.max(), np.median(off))
