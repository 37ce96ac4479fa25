"""The camera's burned-in clock as replay evidence (``junheng.supervision.osd``).

Oracles: the clock is drawn by the fixture (tests/fixtures/video.py ``draw_clock``: where it is and
which second it shows is known), the replays are the fixture's copies of earlier frames *with*
their old clock; H.264 at CRF 23 is the case the picture rules miss (docs/methods/video-flags.md:
0 of 20 motionless-room replays off the sample grid)."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess

import numpy as np
import polars as pl
import pytest

from junheng.exceptions import ParameterError
from junheng.supervision import FlagParameters, detect_flags, frame_statistics
from junheng.supervision.flags import _clock_ticks_over
from junheng.supervision.osd import ClockReader, check_region, clock_flags, clock_running, find_clock

needs_ffmpeg = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs ffmpeg")
SHORT = FlagParameters(covered_min_s=2, covered_serious_s=10, frozen_min_s=2, frozen_serious_s=10, still_min_s=600,
                       moved_persist_s=1, loop_min_s=3, loop_min_lag_s=2, loop_serious_s=10, baseline_s=10)
HH_LEFT, SS_RIGHT = 2 + 4 * 11, 2 + 4 * 18 + 3  # the fixture's clock: "2022-06-18 HH:MM:SS" from x = 2, pitch 4


def _h264(src, out, gop: int = 20, bframes: int = 2):
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(src), "-c:v", "libx264", "-preset", "veryfast", "-crf",
                    "23", "-g", str(gop), "-keyint_min", str(gop), "-sc_threshold", "0", "-bf", str(bframes),
                    "-pix_fmt", "yuv420p", str(out)], check=True)
    return out


def _clock_images(video, seconds: list[int], noise: float = 8.0, seed: int = 1) -> np.ndarray:
    """The fixture's clock (a band of 9 × 80 px) showing each of ``seconds``, with a re-encoding's
    error (uniform ± ``noise`` grey levels) on every pixel."""
    rng = np.random.default_rng(seed)
    out = []
    for s in seconds:
        img = np.full((9, 80), 120, np.uint8)
        video.draw_clock(img, s)
        out.append(np.clip(img + rng.uniform(-noise, noise, img.shape), 0, 255).astype(np.uint8).reshape(-1))
    return np.stack(out)


def test_a_repeated_and_a_standing_clock_are_flagged_with_the_earlier_time(video):
    """Hand-made clock images at 1 sample/s: 09:59:50 on, the hour rolling over at 10 s; at 30–41 s
    the clock of 15 s earlier (a replay), at 45–56 s the same second throughout (a clock standing
    while the time stamps run).  One ``loop`` [30, 42) naming 15 s earlier, one ``frozen`` [45, 57) (from the last
    sample whose clock was right)."""
    start = 9 * 3600 + 59 * 60 + 50
    shown = [start + k for k in range(70)]
    shown[30:42] = [start + k - 15 for k in range(30, 42)]
    shown[45:57] = [start + 45] * 12
    x = _clock_images(video, shown)
    t = np.arange(70, dtype=float)
    got = sorted(clock_flags(t, x, np.zeros(70, bool), SHORT, 1.0), key=lambda f: f["start_s"])
    assert [(f["kind"], f["start_s"], f["end_s"]) for f in got] == [("loop", 30.0, 42.0), ("frozen", 45.0, 57.0)]
    assert "15.0 s earlier" in got[0]["detail"] and "0:00:15.0–0:00:27.0" in got[0]["detail"]
    assert got[0]["severity"] == "serious" and got[1]["severity"] == "serious"  # 12 s ≥ 10 s
    # the honest clock alone (the hour and the minutes rolling over, the seconds' digits coming back
    # every 10 and 60 s): nothing
    honest = _clock_images(video, [start + k for k in range(130)])
    assert clock_flags(np.arange(130, dtype=float), honest, np.zeros(130, bool), SHORT, 1.0) == []


def test_a_clock_whose_seconds_cannot_be_told_apart_gives_no_evidence(video):
    """A region with no legible clock (the digits blurred into the band): its ticks are below
    ``MIN_TICK``, and a repeat of its images says nothing."""
    x = _clock_images(video, [0] * 40, noise=20)
    assert clock_flags(np.arange(40, dtype=float), x, np.zeros(40, bool), SHORT, 1.0) == []


@needs_ffmpeg
@pytest.mark.parametrize("motion", ["square", "fan"])
def test_the_clock_region_is_found_and_holds_hh_mm_ss(video, tmp_path, motion):
    """With the clock burned in, the region found covers ``HH:MM:SS`` (and no more rows than the
    band); a fan turning next to it (top right, crossing the band's end) does not take its place;
    without the clock nothing is found and the ``osd`` column is null.  The column is one fixed-width
    array a sample (the region's pixels; zero-width without a clock), not a list column."""
    clip = video.make_clip(tmp_path / "osd.avi", 40, [], seed=11, motion=motion, osd=True)
    stats, info = frame_statistics(clip, 2.0)
    x, y, w, h = info.osd_region
    assert x <= HH_LEFT and x + w >= SS_RIGHT and x + w <= 80 and 0 <= y <= 2 and 7 <= y + h <= 9
    assert stats["osd"].null_count() == 0 and len(stats["osd"][0]) == w * h
    assert stats.schema["osd"] == pl.Array(pl.UInt8, w * h)
    plain = video.make_clip(tmp_path / "plain.avi", 40, [], seed=11, motion=motion)
    stats, info = frame_statistics(plain, 2.0)
    assert info.osd_region is None and stats["osd"].null_count() == stats.height
    assert stats.schema["osd"] == pl.Array(pl.UInt8, 0)


@needs_ffmpeg
def test_a_motionless_room_replayed_in_h264_is_found_by_its_clock(video, tmp_path, monkeypatch):
    """The evaluation's lost case: a motionless room replayed at a lag off the sample grid (12.7 s),
    H.264 CRF 23 with a key frame every 2 s and 2 B-frames, 2 samples/s.  The clock finds it —
    one serious ``loop`` over the replay (± one sample), naming 12.7 s earlier (± a sample) — and
    without the clock's rule the picture rules find nothing (the finding of the methods page)."""
    from junheng.supervision import flags as flag_rules

    clip = _h264(video.make_clip(tmp_path / "r.avi", 44, [("loop", 22, 34, 12.7)], seed=5, motion="none", osd=True),
                 tmp_path / "r.mp4")
    stats, _ = frame_statistics(clip, 2.0)
    flags = detect_flags(stats, SHORT)
    loops = flags.filter(flags["kind"] == "loop").to_dicts()
    assert len(loops) == 1 and flags.height == 1, flags
    assert abs(loops[0]["start_s"] - 22) <= 0.5 and abs(loops[0]["end_s"] - 34) <= 0.5
    assert loops[0]["severity"] == "serious"
    lag = float(loops[0]["detail"].split("(")[-1].split(" s earlier")[0])
    assert abs(lag - 12.7) <= 0.5
    monkeypatch.setattr(flag_rules, "clock_flags", lambda *a, **k: [])
    assert detect_flags(stats, SHORT).height == 0


@needs_ffmpeg
@pytest.mark.parametrize("motion", ["none", "low", "square", "pendulum"])
def test_honest_h264_rooms_with_a_clock_raise_nothing(video, tmp_path, motion):
    """A live room with the clock burned in, H.264 CRF 23: the clock is found and raises nothing
    (its images 2.5 s – 40 s apart never match)."""
    clip = _h264(video.make_clip(tmp_path / "h.avi", 44, [], seed=8, motion=motion, osd=True), tmp_path / "h.mp4")
    stats, info = frame_statistics(clip, 2.0)
    assert info.osd_region is not None
    params = dataclasses.replace(SHORT, still_min_s=3) if motion == "square" else SHORT
    assert detect_flags(stats, params).height == 0


def test_a_given_region_is_cut_without_a_search():
    """``ClockReader(region)`` (shares of the frame) keeps exactly those pixels of every sample,
    whatever the picture shows; without a region and without a clock it keeps nothing."""
    rng = np.random.default_rng(3)
    frames = [rng.integers(0, 256, (40, 100), dtype=np.uint8) for _ in range(12)]
    reader = ClockReader((0.5, 0.25, 0.3, 0.5))
    for k, f in enumerate(frames):
        reader(float(k), f)
    crops, region = reader.crops()
    assert region == (50, 10, 30, 20)
    assert np.array_equal(crops, np.stack([f[10:30, 50:80].reshape(-1) for f in frames]))
    assert find_clock(np.stack(frames), np.arange(12.0)) is None  # too short to see a clock tick 10 s apart
    plain = ClockReader()
    for k, f in enumerate(frames):
        plain(float(k), f)
    assert plain.crops() == (None, None)


@pytest.mark.parametrize("bad", [(0.1, 0.2, 0.3), (-0.1, 0, 0.2, 0.1), (0, 0, 1.5, 0.1), (0, 0, 0, 0.1),
                                 (0, 0, float("nan"), 0.1), ("a", 0, 0.1, 0.1)])
def test_a_bad_given_region_is_refused_by_the_core(bad):
    """The Python API refuses what the CLI refuses (a negative share cut a wrapped or empty picture)."""
    with pytest.raises(ParameterError, match="X,Y,W,H"):
        ClockReader(bad)
    assert check_region(["0.45", "0", "0.4", "0.12"]) == (0.45, 0.0, 0.4, 0.12)


def test_a_clip_looped_over_most_of_the_recording_is_flagged_but_a_region_short_of_the_minutes_is_not(video):
    """Hand-made clock images at 1 sample/s, default parameters.  An honest clock for 4 minutes, then
    its last minute played again and again for 6: the samples repeat in 60 % of the recording, more
    than ``MAX_REPEAT`` — yet the repeats start 3 minutes in, which no periodic motion does, so one
    serious ``loop`` [240, 600) naming an earlier time (the old rule gave nothing: the most blatant replay
    silenced the clock).  A region holding only ``SS`` of an honest clock repeats as much, from its
    first minute on: nothing."""
    start = 9 * 3600 + 31 * 60
    shown = [start + k for k in range(240)] + [start + 180 + k % 60 for k in range(360)]
    got = clock_flags(np.arange(600, dtype=float), _clock_images(video, shown), np.zeros(600, bool),
                      FlagParameters(), 1.0)
    assert [(f["kind"], f["start_s"], f["end_s"], f["severity"]) for f in got] == [("loop", 240.0, 600.0, "serious")]
    assert "s earlier" in got[0]["detail"]
    seconds_only = _clock_images(video, [start + k for k in range(600)]).reshape(600, 9, 80)[:, :, SS_RIGHT - 8:]
    assert clock_flags(np.arange(600, dtype=float), np.ascontiguousarray(seconds_only).reshape(600, -1),
                       np.zeros(600, bool), FlagParameters(), 1.0) == []


@needs_ffmpeg
def test_at_one_sample_a_second_a_swaying_pupil_is_not_taken_for_the_clock(video, tmp_path):
    """The platform's rate, 1 sample/s, a low-motion room (pupils swaying at 3–7 s rhythms) with the
    clock burned in and 30 s replayed 41.3 s late, H.264 CRF 23 (key frame every 2 s, 2 B-frames):
    a pupil's area passes the ten-second test in some stretch and changes more than the digit, and was
    taken for the clock (region at y 12, no flag); the clock is the area back 10 s later over the
    whole probe — its region is the band at the top, and the replay is one ``loop`` naming 41.3 s."""
    clip = _h264(video.make_clip(tmp_path / "r.avi", 120, [("loop", 70, 100, 41.3)], seed=8, motion="low", osd=True),
                 tmp_path / "r.mp4")
    stats, info = frame_statistics(clip, 1.0)
    x, y, w, h = info.osd_region
    assert x <= HH_LEFT and x + w >= SS_RIGHT and 0 <= y <= 2 and 7 <= y + h <= 9
    loops = detect_flags(stats, FlagParameters()).filter(pl.col("kind") == "loop").to_dicts()
    assert len(loops) == 1 and abs(loops[0]["start_s"] - 70) <= 1 and abs(loops[0]["end_s"] - 100) <= 1
    assert abs(float(loops[0]["detail"].split("(")[-1].split(" s earlier")[0]) - 41.3) <= 1


def test_a_clock_standing_over_a_moving_picture_is_a_hung_overlay_not_frozen_footage(video):
    """Hand-made clock images at 1 sample/s, the clock standing at 45–56 s.  Over a still picture
    (nothing moves: a still picture fed in with fresh noise) it is a serious ``frozen``, as before;
    over a picture that moves (pupils writing) the footage is live and only the camera's overlay hung:
    a ``frozen`` *warning* whose detail says so, however long (the old rule: serious)."""
    start = 9 * 3600 + 59 * 60 + 50
    shown = [start + k for k in range(70)]
    shown[45:57] = [start + 45] * 12
    x, t, covered = _clock_images(video, shown), np.arange(70, dtype=float), np.zeros(70, bool)
    still = clock_flags(t, x, covered, SHORT, 1.0, moving=np.zeros(70, bool))
    assert [(f["kind"], f["severity"]) for f in still] == [("frozen", "serious")]
    assert "still picture fed in" in still[0]["detail"]
    live = clock_flags(t, x, covered, SHORT, 1.0, moving=np.ones(70, bool))
    assert [(f["kind"], f["severity"], f["start_s"], f["end_s"]) for f in live] == [("frozen", "warning", 45.0, 57.0)]
    assert "overlay hung" in live[0]["detail"] and "画面仍有动静" in live[0]["detail"]
    half = np.ones(70, bool)
    half[:53] = False  # moving in 4 of the 10 samples standing (47–56: the clock of 2 s before): a still picture
    assert clock_flags(t, x, covered, SHORT, 1.0, moving=half)[0]["severity"] == "serious"


@needs_ffmpeg
@pytest.mark.parametrize("motion, severity", [("square", "warning"), ("none", "serious")])
def test_a_stuck_overlay_in_a_live_room_is_a_warning_and_in_a_still_room_serious(video, tmp_path, motion, severity):
    """The fixture's camera with its clock standing at 30–45 s (``osd_stuck``), H.264 CRF 23, 2 samples/s:
    in a room where the pupil moves, one ``frozen`` warning naming the hung overlay; in a motionless
    room (nothing tells it from a still picture fed in), one serious ``frozen``.  Nothing else."""
    clip = _h264(video.make_clip(tmp_path / "s.avi", 60, [("osd_stuck", 30, 45)], seed=8, motion=motion, osd=True),
                 tmp_path / "s.mp4")
    stats, info = frame_statistics(clip, 2.0)
    assert info.osd_region is not None
    params = dataclasses.replace(SHORT, still_min_s=600)
    flags = detect_flags(stats, params).to_dicts()
    assert [(f["kind"], f["severity"]) for f in flags] == [("frozen", severity)], flags
    assert abs(flags[0]["start_s"] - 30) <= 1.5 and abs(flags[0]["end_s"] - 45) <= 1.5
    assert ("overlay hung" in flags[0]["detail"]) == (severity == "warning")


@needs_ffmpeg
def test_at_one_sample_a_second_with_b_frames_the_clock_ticking_between_samples_is_found(video, tmp_path):
    """1 sample/s on H.264 with B-frames skipped: the samples lie 0.8 and 1.2 s apart in turn, and this
    clip's clock (seed 10) ticks in the 0.2 s between, so every 0.8-s pair shows one second twice —
    half the 1-s pairs, below ``TICK_SHARE`` — and every 9.2-s pair ten ticks: the clock was not found
    and the replay of the motionless room was missed.  Pairs whose span may hold no tick, or ten,
    prove nothing and are left out: the region is the band, the replay one ``loop`` naming 17.3 s."""
    clip = _h264(video.make_clip(tmp_path / "r.avi", 60, [("loop", 40, 52, 17.3)], seed=10, motion="none", osd=True),
                 tmp_path / "r.mp4")
    stats, info = frame_statistics(clip, 1.0)
    assert info.osd_region is not None
    x, y, w, h = info.osd_region
    assert x <= HH_LEFT and x + w >= SS_RIGHT and 0 <= y <= 2 and 7 <= y + h <= 9
    flags = detect_flags(stats, dataclasses.replace(SHORT, still_min_s=600)).to_dicts()
    assert [f["kind"] for f in flags] == ["loop"], flags
    assert abs(flags[0]["start_s"] - 40) <= 1.5 and abs(flags[0]["end_s"] - 52) <= 1.5
    assert abs(float(flags[0]["detail"].split("(")[-1].split(" s earlier")[0]) - 17.3) <= 1


@needs_ffmpeg
@pytest.mark.parametrize("fps", [1.0, 2.0])
def test_a_countdown_in_the_scene_is_not_taken_for_the_camera_s_clock(video, tmp_path, fps):
    """A projector's countdown on the front wall (filmed: in the picture, under the sensor noise, twice
    the OSD's size), 35 s left at the start, standing at 00:00 from 35 s, in a room with the moving
    pupil and the camera's clock: its units digit ticks and comes back every 10 s as the OSD's does,
    changes more, and was taken for the clock even where the OSD was found too (``frozen`` from 35 s
    on; with the replay a ``loop`` from 41 s to 54 s and more ``frozen``).  The clock is the area at the
    frame's top or bottom edge (``EDGE``): no flag on the honest clip, and the replay planted at 40–52 s
    is one ``loop`` naming 17.3 s."""
    params = dataclasses.replace(SHORT, still_min_s=600)
    for events in ([("countdown", 0, 60, 35)], [("countdown", 0, 60, 35), ("loop", 40, 52, 17.3)]):
        clip = _h264(video.make_clip(tmp_path / "c.avi", 60, events, seed=10, motion="square", osd=True),
                     tmp_path / "c.mp4")
        stats, info = frame_statistics(clip, fps)
        x, y, w, h = info.osd_region
        assert 0 <= y <= 2 and 7 <= y + h <= 9, info.osd_region
        flags = detect_flags(stats, params).to_dicts()
        if len(events) == 1:
            assert flags == []
        else:
            assert [f["kind"] for f in flags] == ["loop"], flags
            assert abs(flags[0]["start_s"] - 40) <= 1.5 and abs(flags[0]["end_s"] - 52) <= 1.5
            assert abs(float(flags[0]["detail"].split("(")[-1].split(" s earlier")[0]) - 17.3) <= 1


def test_a_repeating_picture_under_a_ticking_clock_is_a_still_room_not_frozen(video):
    """Issue #16: the picture rule's ``frozen`` mask over 10–50 s at 1 sample/s (the encoder repeating a
    still room's frames).  Under hand-made clock images that tick every second the run is dropped (the
    camera was live: its samples are the still rule's); under a clock standing over the same stretch (a
    frozen feed stops its clock too) and with no legible clock (no evidence) the run is kept; a run
    shorter than ``STAND_S`` (no sample of it compares with another of it) is kept."""
    start = 9 * 3600 + 59 * 60 + 50
    t = np.arange(70, dtype=float)
    frozen = np.zeros(70, bool)
    frozen[10:50] = True
    frozen[60] = True
    ticking = _clock_images(video, [start + k for k in range(70)])
    standing = [start + k for k in range(70)]
    standing[9:50] = [start + 9] * 41
    running = clock_running(t, ticking)
    assert running is not None and running[2:].all() and not running[:2].any()
    kept = _clock_ticks_over(frozen, running, t, np.zeros(70, bool))
    assert not kept[10:50].any() and kept[60]
    stands = _clock_ticks_over(frozen, clock_running(t, _clock_images(video, standing)), t, np.zeros(70, bool))
    assert (stands == frozen).all()
    blurred = np.full((70, 9 * 80), 120, np.uint8)  # no legible clock: no evidence either way
    assert clock_running(t, blurred) is None
    assert (_clock_ticks_over(frozen, None, t, np.zeros(70, bool)) == frozen).all()


def _still_720p(video, path, seconds: int, clock: bool, seed: int = 1):
    """A 720p room with nothing but sensor noise (σ 3), 25 fps, H.264 CRF 28 with a key frame every 2 s
    and 2 B-frames (the encoder turns the noise into repeated frames), with the camera's clock
    (the fixture's, at 4× its font) or without."""
    import cv2

    rng = np.random.default_rng(seed)
    room = cv2.resize(rng.integers(60, 200, size=(18, 32)).astype(np.uint8), (1280, 720),
                      interpolation=cv2.INTER_NEAREST).astype(np.float32)
    proc = subprocess.Popen(["ffmpeg", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "gray", "-s", "1280x720",
                             "-r", "25", "-i", "-", "-c:v", "libx264", "-preset", "veryfast", "-crf", "28", "-g", "50",
                             "-keyint_min", "50", "-sc_threshold", "0", "-bf", "2", "-pix_fmt", "yuv420p", str(path)],
                            stdin=subprocess.PIPE)
    small = np.zeros((9, 80), np.uint8)
    for k in range(seconds * 25):
        frame = np.clip(room + 3 * rng.standard_normal(size=room.shape, dtype=np.float32), 0, 255).astype(np.uint8)
        if clock:
            small[:] = 0
            video.draw_clock(small, 34260 + int(k / 25 + 0.4))
            band = np.kron(small, np.ones((4, 4), np.uint8))
            ink = band > 0
            frame[16:16 + band.shape[0], 16:16 + band.shape[1]][ink] = band[ink]
        proc.stdin.write(frame.tobytes())
    proc.stdin.close()
    assert proc.wait() == 0
    return path


@needs_ffmpeg
def test_a_still_720p_room_at_crf_28_with_the_camera_s_clock_is_not_frozen(video, tmp_path):
    """Issue #16 (echofp): a still room (noise only, as at night) in 720p H.264 CRF 28 — the encoder
    repeats its frames, so the picture rule sees a frozen picture (here 2–18 and 18–32 s before the fix).
    The camera's clock ticks throughout: no ``frozen`` at 1 sample/s with the default rules.  The same
    room without a clock is ``frozen`` (a motionless room cannot be told from a frozen picture by its
    pixels alone: docs/methods/video-flags.md)."""
    from junheng.supervision import analyse_video

    flags, info = analyse_video(_still_720p(video, tmp_path / "clock.mp4", 45, True), 1.0)
    assert info.osd_region is not None
    assert flags.is_empty(), flags
    bare, _ = analyse_video(_still_720p(video, tmp_path / "bare.mp4", 45, False), 1.0)
    assert "frozen" in bare["kind"].to_list()
