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


def _types_and_full(clip, w: int, h: int) -> tuple[dict, list, np.ndarray]:
    """ffprobe's picture type of every frame by its time (s from the first frame) and ffmpeg's full
    decoding (every frame, without the de-blocking filter, as the sampler decodes) in time order."""
    probe = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                            "frame=pts_time,pict_type", "-of", "csv=p=0", str(clip)],
                           capture_output=True, text=True, check=True).stdout.split()
    rows = [(float(t), kind) for t, kind in (row.split(",")[:2] for row in probe)]
    start = min(t for t, _ in rows)
    types = {round(t - start, 3): kind for t, kind in rows}
    full = subprocess.run(["ffmpeg", "-v", "error", "-skip_loop_filter", "all", "-i", str(clip), "-f", "rawvideo",
                           "-pix_fmt", "gray", "-"], capture_output=True, check=True).stdout
    return types, sorted(types), np.frombuffer(full, np.uint8).reshape(-1, h, w)


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg not installed")
@pytest.mark.parametrize(("fmt", "rate", "gop", "bframes", "fps"), [
    ("mpegts", "30000/1001", 60, 3, 1.0),  # key frames 2 s apart, B-frames; MPEG-TS starts at 1.4 s, not 0
    ("mp4", "25", 25, 0, 2.0),  # key frames 1 s apart, no B-frames, 2 samples/s
])
def test_truncated_groups_decode_to_the_very_samples_of_the_full_decoding(tmp_path, monkeypatch, fmt, rate, gop,
                                                                          bframes, fps):
    """H.264 with key frames further apart than the sample period, each group of pictures decoded only
    up to its last sample (``frames.TRUNCATE_GROUPS``: the packets after it dropped from a stream copy
    before decoding; by default only without B-frames, here with them too). Oracle: ffprobe's picture types and ffmpeg's full decoding of the same file —
    the samples are the first I- or P-frame of each sample period (B-frames are not decoded), each
    the very picture of the full decoding at its time stamp; fewer frames are decoded than without
    truncation (the echo fingerprints), none of them a B-frame. The MPEG-TS file starts at 1.4 s: the
    decoder keeps the container's time stamps (``-copyts``; until 7 December 2026 it
    shifted them to 0 while the sampler subtracted the start again, and the first samples of such a
    file came 1/fps apart at 0, 0.033, 0.067 s)."""
    from junheng.supervision import frames

    clip = tmp_path / f"clip.{'ts' if fmt == 'mpegts' else fmt}"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
                    f"testsrc2=s=320x240:r={rate}:d=8,noise=alls=8:allf=t", "-c:v", "libx264", "-preset", "veryfast",
                    "-g", str(gop), "-keyint_min", str(gop), "-sc_threshold", "0", "-bf", str(bframes),
                    "-pix_fmt", "yuv420p", "-f", fmt, str(clip)], check=True)
    types, order, full = _types_and_full(clip, 320, 240)
    monkeypatch.setattr(frames, "TRUNCATE_GROUPS", False)
    whole = frames._FFmpegSampler(clip, 1.0 / fps, 320, colour=False, echo=True)
    assert whole.drop is None
    untruncated = [round(t, 3) for t, _ in whole]  # MPEG-TS: true only since the decoder keeps the time stamps
    monkeypatch.setattr(frames, "TRUNCATE_GROUPS", True)
    assert (frames._FFmpegSampler(clip, 1.0 / fps, 320, colour=False).drop is None) == (bframes > 0)  # the default
    monkeypatch.setattr(frames, "TRUNCATE_WITH_B_FRAMES", True)
    sampler = frames._FFmpegSampler(clip, 1.0 / fps, 320, colour=False, echo=True)
    assert sampler.drop is not None
    samples = [(t, frame.copy()) for t, frame in sampler]
    decoded = [t for t in order if types[t] != "B"]
    want = [next(t for t in decoded if t >= k / fps - 1e-6) for k in range(int(8 * fps))]
    assert [round(t, 3) for t, _ in samples] == want == untruncated
    for t, frame in samples:
        assert np.array_equal(frame, full[order.index(round(t, 3))]), t
    echo_times, _ = sampler.echoes()
    assert all(types[round(t, 3)] != "B" for t in echo_times)
    assert len(echo_times) < 0.75 * len(whole.echoes()[0])


def _echo_case(pattern: str, lags: tuple[float, float]) -> list[tuple[float, float]]:
    """``_echo_flags`` on 120 live samples (0.5 s apart, a new random fingerprint each) whose samples
    50–73 (25–37 s) follow ``pattern`` repeated: ``e`` echoes (ratio 0 and every changed block
    equal, ``echo_match`` 1: the very frame again) at ``lags[0]`` or ``lags[1]`` in turn, ``-`` has no
    twin among the decoded frames (its closest earlier frame is another picture: ratio 1, a lag of
    7.1 s)."""
    from junheng.supervision import FlagParameters
    from junheng.supervision.flags import _echo_flags

    rng = np.random.default_rng(3)
    n = 120
    t = np.arange(n) * 0.5
    fine = rng.integers(40, 200, (n, 768)).astype(np.uint8)
    lag, ratio = np.full(n, 7.1), np.ones(n)
    echoes = 0
    for k in range(50, 74):
        if pattern[(k - 50) % len(pattern)] == "e":
            lag[k], ratio[k] = lags[echoes % 2], 0.0
            echoes += 1
    p = FlagParameters(loop_min_s=3, loop_min_lag_s=2)
    return [(f["start_s"], f["end_s"]) for f in _echo_flags(t, fine, np.zeros(n, bool), lag, ratio,
                                                                    np.where(ratio == 0, 1.0, 0.0), p, 0.5)]


def test_a_replay_echoing_at_every_other_sample_is_still_found():
    """Each group of pictures decoded only up to its last sample (no B-frames: two samples a group,
    key frames 1 s apart at 2 samples/s), a replay's twins are decoded for one sample of each group
    at most lags and never for the other: the replay echoes at every other sample.  The echo rule
    takes a sample between two echoes at the same lag as part of the run (oracle: the pattern drawn
    by hand); echoes at two different lags in turn, or one sample in three, are no replay."""
    assert _echo_case("e", (13.3, 13.3)) == [(25.0, 37.0)]  # every sample: as before
    assert _echo_case("e-", (13.3, 13.3)) == [(25.0, 36.5)]  # every other sample: found (the last one is a gap)
    assert _echo_case("e-", (13.3, 9.8)) == []  # every other sample, lags that disagree: no copy of one stretch
    assert _echo_case("e--", (13.3, 13.3)) == []  # one in three: two in a row without a twin


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg not installed")
def test_a_replay_in_a_motionless_room_is_found_in_truncated_h264(tmp_path, video):
    """A motionless room (sensor noise only) replayed 20–30 s at a lag of 12.7 s (off the 0.5 s sample
    grid), encoded as lossless H.264 (the noise survives: a replayed frame is the very picture again)
    with a key frame every second and no B-frames, analysed at 2 samples/s: each group of pictures is
    decoded only up to its last sample (the default), so only every other sample finds its twin —
    one loop flag over the replay, none elsewhere (oracle: the event drawn by the fixture)."""
    from junheng.supervision import FlagParameters, analyse_video
    from junheng.supervision.frames import _FFmpegSampler

    avi = video.make_clip(tmp_path / "still.avi", 40, [("loop", 20, 30, 12.7)], seed=101, motion="none")
    clip = tmp_path / "still.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(avi), "-c:v", "libx264", "-preset", "veryfast", "-crf", "0",
                    "-g", "10", "-keyint_min", "10", "-sc_threshold", "0", "-bf", "0", "-pix_fmt", "yuv420p", str(clip)],
                   check=True)
    assert _FFmpegSampler(clip, 0.5, 320, colour=False).drop is not None
    p = FlagParameters(covered_min_s=2, covered_serious_s=10, frozen_min_s=2, frozen_serious_s=10, still_min_s=600,
                       moved_persist_s=1, loop_min_s=3, loop_min_lag_s=2, loop_serious_s=10, baseline_s=10)
    flags, _ = analyse_video(clip, 2.0, p)
    loops = [(f["start_s"], f["end_s"]) for f in flags.iter_rows(named=True) if f["kind"] == "loop"]
    assert len(loops) == 1 and loops[0][0] <= 21 and loops[0][1] >= 29, loops
    assert set(flags["kind"].to_list()) == {"loop"}


def test_no_truncation_when_a_packet_has_no_time_stamp(monkeypatch):
    """The bit-stream filter counts every packet from each key frame; the listing the count was worked
    out on leaves out packets without a time stamp, so then the counts would disagree and a sample's
    own packet could be dropped: such a stream is decoded whole. Oracle: a hand-made listing of two
    groups of 25 packets at 25 fps, samples at 2/s (the first 13 packets of a group are needed)."""
    from junheng.supervision import frames

    monkeypatch.setattr(frames, "TRUNCATE_GROUPS", True)
    sampler = frames._FFmpegSampler.__new__(frames._FFmpegSampler)
    sampler.period, sampler.native, sampler.codec, sampler.reorder, sampler.keys_only = 0.5, 25.0, "h264", 0, False
    sampler.decode_times = sampler.packet_times = np.arange(50) / 25.0
    sampler.keys, sampler.key_at = np.array([0.0, 1.0]), np.array([0, 25])
    sampler.unplaced = 0
    assert sampler.truncation() == "st(0,if(key,0,ld(0)+1));gt(ld(0),13)"  # packet 13 of a group: 0.52 s, the 2nd sample
    sampler.unplaced = 1
    assert sampler.truncation() is None
