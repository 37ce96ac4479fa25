"""What the sampler's frame skipping may drop: with key frames further apart than a sample period
``_FFmpegSampler`` decodes H.264 with ``-skip_frame bidir`` (every B-frame skipped). That keeps the I-
and P-frames exact only when no P-frame refers to a B-frame — true of x264's pyramid
(``test_with_sparse_key_frames_b_frames_are_not_decoded_and_the_samples_stay_true`` in
test_flags.py), not of x265's, whose P-frames refer to its reference B-frames: skipped, they decode
to garbage (FFmpeg: "Could not find ref with POC …"; review of 7 December 2026, 09:45 UTC: the
40 kept frames of a 6 s clip were 38 grey levels off the full decoding at the median, 55 at worst).
Since 09:58 UTC other codecs are decoded with ``-skip_frame noref`` (only what nothing refers to)."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest


def _has_x265() -> bool:
    if shutil.which("ffmpeg") is None or shutil.which("ffprobe") is None:
        return False
    out = subprocess.run(["ffmpeg", "-hide_banner", "-encoders"], capture_output=True, text=True).stdout
    return "libx265" in out


@pytest.mark.skipif(not _has_x265(), reason="ffmpeg without libx265")
def test_hevc_samples_with_sparse_key_frames_are_the_fully_decoded_pictures(tmp_path):
    """H.265 (x265, a key frame every 2 s, 3 B-frames in a pyramid) sampled at 1/s: each sample is
    the very picture of the full decoding (without the de-blocking filter, as the sampler decodes)
    at its time stamp. Oracle: ffmpeg's full decoding and ffprobe's frame times."""
    from junheng.supervision.frames import _FFmpegSampler

    clip = tmp_path / "gop2s.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
                    "testsrc2=s=320x240:r=25:d=6,noise=alls=8:allf=t", "-c:v", "libx265", "-preset", "fast",
                    "-x265-params", "keyint=50:min-keyint=50:scenecut=0:bframes=3:b-pyramid=1:log-level=error",
                    "-pix_fmt", "yuv420p", str(clip)], check=True)
    probe = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                            "frame=pts_time,pict_type", "-of", "csv=p=0", str(clip)],
                           capture_output=True, text=True, check=True).stdout.split()
    types = {round(float(t), 3): kind for t, kind in (row.split(",")[:2] for row in probe)}
    assert "B" in types.values()
    full = subprocess.run(["ffmpeg", "-v", "error", "-skip_loop_filter", "all", "-i", str(clip), "-f", "rawvideo",
                           "-pix_fmt", "gray", "-"], capture_output=True, check=True).stdout
    full = np.frombuffer(full, np.uint8).reshape(-1, 240, 320)
    sampler = _FFmpegSampler(clip, 1.0, 320, colour=False)
    assert not sampler.keys_only
    samples = [(t, frame.copy()) for t, frame in sampler]
    assert len(samples) == 6
    order = sorted(types)
    off = [float(np.abs(frame.astype(int) - full[order.index(round(t, 3))]).mean()) for t, frame in samples]
    assert max(off) == 0.0, off
