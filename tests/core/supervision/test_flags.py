"""Picture and schedule flags against the oracle: synthetic clips drawn with known events
(tests/fixtures/video.py); the flags found must be exactly the events drawn, each boundary
within one sample period."""

from __future__ import annotations

import dataclasses

import numpy as np
import polars as pl
import pytest

from junheng.exceptions import InputError, ParameterError
from junheng.supervision import (
    FLAG_SCHEMA,
    FlagParameters,
    analyse_video,
    detect_flags,
    frame_statistics,
    schedule_flags,
)

FPS = 2.0  # one sample every 0.5 s: the tolerance of every boundary
SHORT = FlagParameters(covered_min_s=2, covered_serious_s=10, frozen_min_s=2, frozen_serious_s=10, still_min_s=3,
                       moved_persist_s=1, loop_min_s=3, loop_min_lag_s=2, loop_serious_s=10)


def _found(flags: pl.DataFrame) -> list[tuple]:
    return [(r["kind"], r["start_s"], r["end_s"], r["severity"]) for r in flags.iter_rows(named=True)]


def _match(flags: pl.DataFrame, expected: list[tuple], tol: float = 1 / FPS) -> None:
    found = _found(flags)
    assert [f[0] for f in found] == [e[0] for e in expected], found
    for (kind, a, b, sev), (_, ea, eb, esev) in zip(found, expected):
        assert abs(a - ea) <= tol + 1e-9 and abs(b - eb) <= tol + 1e-9, (kind, a, b, ea, eb)
        assert sev == esev, (kind, sev)


@pytest.fixture(scope="module")
def events_clip(video, tmp_path_factory):
    events = [("black", 4, 8), ("frozen", 12, 16), ("still", 19, 23), ("shift", 26)]
    return video.make_clip(tmp_path_factory.mktemp("clips") / "events.avi", 30, events)


def test_it_finds_exactly_the_drawn_events(events_clip):
    flags, info = analyse_video(events_clip, FPS, SHORT)
    assert flags.schema == pl.Schema(FLAG_SCHEMA)
    assert info.duration_s == pytest.approx(30.0) and info.frames == 300
    _match(flags, [("covered", 4, 8, "warning"), ("frozen", 12, 16, "warning"), ("still", 19, 23, "warning"),
                   ("camera_moved", 26, 30, "warning")])  # away from the reference view from 26 s to the end


def test_it_flags_nothing_in_a_normal_room(video, tmp_path):
    flags, _ = analyse_video(video.make_clip(tmp_path / "normal.avi", 40), FPS, SHORT)
    assert flags.is_empty()


def test_it_finds_a_replayed_stretch(video, tmp_path):
    """14–20 s replays 2–8 s (a looped recording), 26–38 s replays 6–18 s: warning, then serious."""
    clip = video.make_clip(tmp_path / "loop.avi", 40, [("loop", 14, 20, 12), ("loop", 26, 38, 20)])
    flags, _ = analyse_video(clip, FPS, SHORT)
    _match(flags, [("loop", 14, 20, "warning"), ("loop", 26, 38, "serious")])
    # the lag must be at least loop_min_lag_s: with 25 s, only 34–38 s counts — it replays 14–18 s,
    # itself a replay of 2–6 s, 32 s earlier
    later = analyse_video(clip, FPS, dataclasses.replace(SHORT, loop_min_lag_s=25))[0]
    _match(later, [("loop", 34, 38, "warning")])
    assert analyse_video(clip, FPS, dataclasses.replace(SHORT, loop_min_lag_s=33))[0].is_empty()


def test_long_stretches_are_serious_and_short_ones_are_not_flagged(video, tmp_path):
    clip = video.make_clip(tmp_path / "long.avi", 36, [("black", 1, 2), ("black", 4, 16), ("frozen", 20, 32)])
    flags, _ = analyse_video(clip, FPS, SHORT)
    # the one-second black flicker (1–2 s) is shorter than covered_min_s
    _match(flags, [("covered", 4, 16, "serious"), ("frozen", 20, 32, "serious")])


def test_a_passing_person_is_not_a_moved_camera(video, tmp_path):
    """A large change that is gone a second later (the shift lasts 0.5 s) is not camera_moved."""
    clip = video.make_clip(tmp_path / "pass.avi", 10, [("shift", 5, 5.5)])
    flags, _ = analyse_video(clip, FPS, SHORT)
    assert flags.is_empty()


def test_default_thresholds_are_longer(events_clip):
    flags, _ = analyse_video(events_clip, FPS)
    # the 4 s black stretch is shorter than covered_min_s = 5 s; the 4 s still one than 600 s
    assert flags["kind"].to_list() == ["camera_moved"]


def test_sampling_rate_sets_the_period(events_clip):
    from junheng.supervision.frames import INTERNAL_COLUMNS, PUBLIC_COLUMNS

    stats, _ = frame_statistics(events_clip, 1.0)
    # every column is declared public (for people) or internal (for the rules), never both
    assert sorted(stats.columns) == sorted(PUBLIC_COLUMNS + INTERNAL_COLUMNS)
    assert not set(PUBLIC_COLUMNS) & set(INTERNAL_COLUMNS)
    assert stats["t_s"].to_list() == [float(k) for k in range(30)]
    assert stats["thumb"].dtype == pl.Array(pl.UInt8, 64)
    assert stats["diff"][0] is None


def test_statistics_of_a_known_frame(video, tmp_path):
    """Brightness and contrast of the covered stretch: grey 6 with noise σ 4 (clipped at 0)."""
    stats, _ = frame_statistics(video.make_clip(tmp_path / "dark.avi", 3, [("black", 0, 3)]), 1.0)
    assert np.all(np.abs(stats["brightness"].to_numpy() - 6) < 2.5)
    assert np.all(stats["contrast"].to_numpy() < 5)


def test_unreadable_files_are_input_errors(tmp_path):
    bad = tmp_path / "not-a-video.mp4"
    bad.write_bytes(b"this is not a video")
    with pytest.raises(InputError) as exc:
        frame_statistics(bad)
    assert exc.value.issues[0].file == "not-a-video.mp4"
    with pytest.raises(InputError, match="file not found"):
        frame_statistics(tmp_path / "missing.mp4")


def test_parameters_are_checked():
    with pytest.raises(ParameterError, match="frozen_diff"):
        FlagParameters(frozen_diff=-1)
    with pytest.raises(ParameterError, match="moved_changed"):
        FlagParameters(moved_changed=2)
    with pytest.raises(ParameterError, match="fps"):
        frame_statistics("x.mp4", fps=0)


def test_schedule_gaps_hand_worked():
    """A 3600 s session recorded from 120 s to 1800 s and from 1830 s to 3400 s (hand-worked):
    late start 0–120 (warning), the 30 s hole is within tolerance, early end 3400–3600 (warning)."""
    p = FlagParameters(gap_tolerance_s=60, gap_serious_s=300)
    flags = schedule_flags([(1830, 3400), (120, 1800)], 3600, p)
    assert _found(flags) == [("late_start", 0.0, 120.0, "warning"), ("early_end", 3400.0, 3600.0, "warning")]
    flags = schedule_flags([(0, 1000), (1500, 3600)], 3600, p)
    assert _found(flags) == [("missing", 1000.0, 1500.0, "serious")]
    assert flags["score"].to_list() == [1.0]
    assert _found(schedule_flags([], 3600, p)) == [("missing", 0.0, 3600.0, "serious")]
    assert schedule_flags([(-30, 3700)], 3600, p).is_empty()  # started early, ended late: fine


def test_detect_flags_on_an_empty_frame():
    empty = pl.DataFrame(schema={"t_s": pl.Float64, "brightness": pl.Float64, "contrast": pl.Float64,
                                 "diff": pl.Float64, "changed": pl.Float64, "thumb": pl.Array(pl.UInt8, 64)})
    assert detect_flags(empty).is_empty()


def test_keyframe_only_footage_is_not_frozen_but_a_real_freeze_in_it_is(video, tmp_path):
    # a camera storing a picture every 5 s for 120 s: repeats of 5 s are its normal rhythm
    clip = video.make_clip(tmp_path / "sparse.avi", 120, [("sparse", 0, 120, 5)], fps=5)
    stats, _ = frame_statistics(clip, 1.0)
    params = FlagParameters(frozen_min_s=3, frozen_serious_s=60)
    assert detect_flags(stats, params).filter(pl.col("kind") == "frozen").height == 0
    plain = dataclasses.replace(params, sparse_updates=1.0)  # the rule without the rhythm: a flag every 5 s
    assert detect_flags(stats, plain).filter(pl.col("kind") == "frozen").height >= 20
    # the feed stops for 40 s inside the same footage: found (≥ 3 × 5 s), and only it
    clip = video.make_clip(tmp_path / "sparse-frozen.avi", 120, [("sparse", 0, 50, 5), ("frozen", 50, 90),
                                                                  ("sparse", 90, 120, 5)], fps=5)
    stats, _ = frame_statistics(clip, 1.0)
    frozen = detect_flags(stats, params).filter(pl.col("kind") == "frozen")
    assert frozen.height == 1 and abs(frozen["start_s"][0] - 50) <= 5 and abs(frozen["end_s"][0] - 90) <= 5


@pytest.mark.skipif(__import__("shutil").which("ffmpeg") is None, reason="ffmpeg not installed")
def test_times_come_from_the_time_stamps_and_a_gap_is_flagged(video, tmp_path):
    clip = video.make_clip(tmp_path / "plain.avi", 40, [("black", 30, 36)], fps=10)
    gapped = video.with_gap(clip, tmp_path / "gap.mkv", at=20, gap=120)
    stats, info = frame_statistics(gapped, FPS)
    assert info.duration_s == pytest.approx(160, abs=0.2)  # 40 s of pictures + 120 s not recorded
    flags = detect_flags(stats, SHORT)
    _match(flags, [("gap", 20, 140, "serious"), ("covered", 150, 156, "warning")])


def test_a_turned_or_drifting_camera_is_found_by_alignment(video, tmp_path):
    clip = video.make_clip(tmp_path / "turn.avi", 30, [("rotate", 12, 3.0)])
    flags, _ = analyse_video(clip, FPS, SHORT)
    _match(flags, [("camera_moved", 12, 30, "warning")])
    # a slow drift of 10 px over 20 s: no single step is large, the distance to the reference is
    clip = video.make_clip(tmp_path / "drift.avi", 40, [("drift", 10, 30, 10)])
    stats, _ = frame_statistics(clip, FPS)
    assert stats.filter(pl.col("t_s") < 10)["align"].max() < 0.5
    flags = detect_flags(stats, SHORT)
    assert flags["kind"].to_list() == ["camera_moved"]
    assert 10 <= flags["start_s"][0] <= 16 and flags["end_s"][0] == pytest.approx(40)


def test_at_two_samples_a_second_a_view_at_home_is_aligned_once_a_second(video, tmp_path, monkeypatch):
    """The ORB alignment (≈ 4 ms a sample) runs on the first sample of each second while the view is
    at home (``frames.ALIGN_EVERY_S``); the sample between keeps that second's alignment.  Once the
    view is away every sample is aligned, so a turn is found at its time as before."""
    from junheng.supervision import frames

    aligned_at: list[float] = []
    features = frames._Aligner._features
    monkeypatch.setattr(frames._Aligner, "_features", lambda self, img: aligned_at.append(len(aligned_at)) or
                        features(self, img))
    clip = video.make_clip(tmp_path / "turn.avi", 30, [("rotate", 12, 3.0)])
    stats, _ = frame_statistics(clip, FPS)
    flags = detect_flags(stats, SHORT)
    _match(flags, [("camera_moved", 12, 30, "warning")])
    assert stats.height == 60
    # 12 of the 24 samples before the turn, all 36 after it (± the sample the turn lands on)
    assert 47 <= len(aligned_at) <= 49, len(aligned_at)
    home = stats.filter(pl.col("t_s") < 12)["align"].to_numpy()
    assert (home[1::2] == home[0::2]).all() and home.max() < 0.5
    assert stats.filter(pl.col("t_s") >= 13)["align"].min() >= 1.5
    # every sample aligned with ALIGN_EVERY_S = 0 (as before): the same flag
    aligned_at.clear()
    monkeypatch.setattr(frames, "ALIGN_EVERY_S", 0.0)
    stats, _ = frame_statistics(clip, FPS)
    assert len(aligned_at) == 60
    _match(detect_flags(stats, SHORT), [("camera_moved", 12, 30, "warning")])


def test_dimmed_lights_and_a_hand_over_part_of_the_lens(video, tmp_path):
    clip = video.make_clip(tmp_path / "light.avi", 60, [("dim", 15, 25, 0.35), ("hand", 35, 45)])
    flags, _ = analyse_video(clip, FPS, dataclasses.replace(SHORT, baseline_s=10))
    _match(flags, [("lighting", 15, 25, "warning"), ("occluded", 35, 45, "warning")])
    # lights off (× 0.12) is a covered lens, not a lighting change
    clip = video.make_clip(tmp_path / "off.avi", 30, [("dim", 15, 25, 0.12)])
    flags, _ = analyse_video(clip, FPS, dataclasses.replace(SHORT, baseline_s=10))
    assert flags["kind"].to_list() == ["covered"]


@pytest.mark.parametrize("lag", [12.0, 12.3, 17.7])
def test_a_replay_in_a_low_motion_room_is_found_whatever_its_phase(video, tmp_path, lag):
    """Six pupils swaying by ±2 px (no one crosses the room): 30–45 s replays the stretch ``lag``
    earlier; 12.3 s and 17.7 s are not multiples of the 0.5 s sample period (out of phase the
    boundaries are exact to two samples: the copy is matched between samples)."""
    clip = video.make_clip(tmp_path / "low.avi", 60, [("loop", 30, 45, lag)], motion="low")
    flags, _ = analyse_video(clip, FPS, dataclasses.replace(SHORT, still_min_s=600))
    _match(flags, [("loop", 30, 45, "serious")], tol=1.0 if lag % 0.5 else 0.5)


@pytest.mark.parametrize("motion", ["low", "none"])
def test_a_live_low_motion_or_motionless_room_is_no_replay(video, tmp_path, motion):
    """The same rooms live for 90 s: nothing (the motionless room repeats its picture, but its
    sensor noise is new in every frame)."""
    clip = video.make_clip(tmp_path / f"{motion}.avi", 90, [], motion=motion, seed=11)
    flags, _ = analyse_video(clip, FPS, dataclasses.replace(SHORT, still_min_s=600))
    assert flags.is_empty(), flags


@pytest.mark.parametrize("lag", [15.0, 12.3, 17.7, 13.1])
def test_a_replay_of_a_motionless_room_is_found_by_its_noise_at_any_phase(video, tmp_path, lag):
    """Frame for frame the same noise: in phase (15 s at 0.5 s samples) the sampled frames themselves
    repeat; out of phase (12.3, 17.7, 13.1 s) the sampled frame is a frame *between* two earlier
    samples, found among every decoded frame's fingerprint (the echo)."""
    clip = video.make_clip(tmp_path / "still-loop.avi", 60, [("loop", 30, 45, lag)], motion="none")
    flags, _ = analyse_video(clip, FPS, dataclasses.replace(SHORT, still_min_s=600))
    _match(flags, [("loop", 30, 45, "serious")])


def test_out_of_phase_a_motionless_replay_needs_the_echo(video, tmp_path):
    """Without the per-frame fingerprints (``echo=False``: only the samples) the same replay 12.3 s
    back is invisible — the sampled frames never repeat — so the echo is what finds it."""
    clip = video.make_clip(tmp_path / "still-loop.avi", 60, [("loop", 30, 45, 12.3)], motion="none")
    stats, _ = frame_statistics(clip, FPS)
    assert stats["echo_lag"].null_count() < stats.height
    inside = stats.filter((pl.col("t_s") >= 30) & (pl.col("t_s") < 45))
    assert (inside["echo_ratio"] <= 0.25).all() and ((inside["echo_lag"] - 12.3).abs() < 0.06).all()
    outside = stats.filter((pl.col("t_s") >= 2) & (pl.col("t_s") < 29))
    assert (outside["echo_ratio"] > 0.5).all()  # a live motionless room: new noise in every frame
    blind, _ = frame_statistics(clip, FPS, echo=False)
    assert blind["echo_lag"].null_count() == blind.height
    params = dataclasses.replace(SHORT, still_min_s=600)
    assert detect_flags(blind, params).is_empty()
    _match(detect_flags(stats, params), [("loop", 30, 45, "serious")])


def test_echoes_of_hand_made_fingerprints():
    """Frames 0.1 s apart with fresh noise; frames 200–299 are frames 77–176 again (12.3 s back)."""
    from junheng.supervision.frames import _echoes

    rng = np.random.default_rng(1)
    times = np.arange(400) / 10
    prints = np.clip(120 + rng.normal(0, 3, (400, 192)), 0, 255).astype(np.uint8)
    prints[200:300] = prints[77:177]
    t = times[::5]
    lag, ratio, match = _echoes(t, times, prints)
    copy = (t >= 20) & (t < 30)
    np.testing.assert_allclose(lag[copy], 12.3, atol=1e-9)
    assert (ratio[copy] == 0).all() and (ratio[~copy & (t >= 1)] > 0.5).all()
    assert (match[copy] == 1).all() and (match[~copy & (t >= 1)] < 0.5).all()  # every changed block, far beyond chance
    assert np.isnan(lag[t < 1]).all()  # nothing a second back yet


def test_a_periodic_motion_cut_by_an_event_is_no_replay(video, tmp_path, monkeypatch):
    """The drawn pupil's path comes back every ≈ 16.8 s. With the room still from 28 to 38 s, the
    motion after it (39–58 s) matches the stretch 33 s earlier — seen only once at that lag, and the
    stretch before it (the still room) does not match: it looks like a replay starting. It is the
    room's own period: before the event the room matches itself 16.8 s back (L/2), so no loop.
    Without that check (``_repeats_elsewhere`` off) the false loop comes back."""
    from junheng.supervision import flags as flag_rules

    clip = video.make_clip(tmp_path / "still.avi", 60, [("still", 28, 38)], seed=101)
    stats, _ = frame_statistics(clip, FPS)
    params = dataclasses.replace(SHORT, baseline_s=10)
    _match(detect_flags(stats, params), [("still", 28, 38, "warning")])
    monkeypatch.setattr(flag_rules, "_repeats_elsewhere", lambda *a, **k: False)
    assert "loop" in detect_flags(stats, params)["kind"].to_list()


@pytest.mark.parametrize("motion", ["fan", "pendulum"])
def test_a_fan_or_a_swinging_lamp_is_no_replay(video, tmp_path, motion):
    """A room's own repeating motion (a fan turning every 0.9 s, a lamp swinging every 2.4 s) matches
    itself at every multiple of its period: no loop in 60 s."""
    clip = video.make_clip(tmp_path / f"{motion}.avi", 60, [], motion=motion, seed=12)
    flags, _ = analyse_video(clip, FPS, dataclasses.replace(SHORT, still_min_s=600))
    assert flags.is_empty(), flags


def _coarse_stats(thumbs: np.ndarray, changed: float = 0.05) -> pl.DataFrame:
    """Stored statistics of the older kind (8×8 fingerprints, no fine ones): one sample a second,
    a lit, contrasted, changing picture."""
    n = len(thumbs)
    return pl.DataFrame({"t_s": np.arange(n, dtype=float), "brightness": np.full(n, 120.0),
                         "contrast": np.full(n, 50.0), "diff": np.full(n, 10.0), "changed": np.full(n, changed)}
                        ).with_columns(pl.Series("thumb", thumbs.astype(np.uint8), dtype=pl.Array(pl.UInt8, 64)))


def _loops(flags: pl.DataFrame) -> list[tuple]:
    return [(r["start_s"], r["end_s"], r["severity"]) for r in flags.filter(pl.col("kind") == "loop").iter_rows(named=True)]


def test_coarse_fingerprints_hand_worked_replay_lag_and_motion_rules():
    """Without fine fingerprints the coarse rule decides (``_loop_flags``).  Hand-made: a fresh
    random 8×8 picture every second; seconds 40–49 are seconds 20–29 again (lag 20 s, 10 s long)."""
    rng = np.random.default_rng(7)
    thumbs = rng.integers(0, 256, (60, 64))
    thumbs[40:50] = thumbs[20:30]
    stats = _coarse_stats(thumbs)
    assert _loops(detect_flags(stats, SHORT)) == [(40.0, 50.0, "serious")]
    assert _loops(detect_flags(stats, dataclasses.replace(SHORT, loop_serious_s=11))) == [(40.0, 50.0, "warning")]
    # the lag must be at least loop_min_lag_s: a copy 20 s back is no replay when 21 s are required
    assert _loops(detect_flags(stats, dataclasses.replace(SHORT, loop_min_lag_s=21))) == []
    # shorter than loop_min_s: nothing
    assert _loops(detect_flags(stats, dataclasses.replace(SHORT, loop_min_s=11))) == []
    # a motionless room (changed at most still_changed) repeats itself trivially: no replay
    assert _loops(detect_flags(_coarse_stats(thumbs, changed=0.0), SHORT)) == []


def test_coarse_fingerprints_a_picture_that_does_not_change_is_no_replay():
    """The sensor reports change (noise) but the fingerprint barely moves: one pixel flickers between
    31 and 32 grey (the coarse keys of the two pictures differ, so lag 2 s is a candidate and matches
    exactly), yet the picture moves less from sample to sample (1/64 grey) than twice the match
    tolerance — no loop."""
    thumbs = np.full((60, 64), 100)
    thumbs[:, 0] = np.where(np.arange(60) % 2, 32, 31)
    assert _loops(detect_flags(_coarse_stats(thumbs), SHORT)) == []


def _low_noise_room(n: int, size: int, rng, moving: int = 12) -> np.ndarray:
    """Fingerprints of a live room seen by a camera at its real resolution: each block mean averages
    hundreds of pixels, so the sensor's noise rounds away and the still background is the same whole
    number in every frame; ``moving`` blocks (pupils writing) take new values all the time, never
    repeating a frame."""
    prints = np.tile(rng.integers(60, 200, size), (n, 1)).astype(np.uint8)
    prints[:, :moving] = rng.integers(100, 240, (n, moving))
    return prints


def test_an_echo_in_a_low_noise_room_is_judged_on_the_blocks_that_changed():
    """At 640×480 the 16×12 block means carry no noise: the median block of any two frames is the
    background, equal, so every live sample had echo_ratio 0 — a 'copy' (measured on a drawn 640×480
    room, H.264 and MJPEG alike). On the blocks that changed since the previous sample the live frames
    differ from their echo; a frame played again still matches exactly."""
    from junheng.supervision.frames import _echoes

    rng = np.random.default_rng(4)
    times = np.arange(600) / 10
    prints = _low_noise_room(600, 192, rng)
    prints[400:500] = prints[177:277]  # 40–50 s replays 17.7–27.7 s
    t = times[::10]
    lag, ratio, _ = _echoes(t, times, prints)
    copy = (t >= 41) & (t < 50)
    live = ~copy & (t >= 2) & ~((t >= 40) & (t < 41))
    assert (ratio[copy] == 0).all() and np.allclose(lag[copy], 22.3)
    assert (ratio[live] > 1).all(), ratio[live]


def test_a_low_noise_live_room_is_no_replay_in_phase():
    """The replay rule's first tier (the same frames: the median block within a quarter of the noise
    of its copy) met every live sample of a low-noise room at any lag — the noise there is 0, and so
    is the median block's difference (the background). Judged on the blocks that changed, only the
    real copy (60–80 s = 20–40 s) is found."""
    from junheng.supervision.flags import _replay_flags

    rng = np.random.default_rng(5)
    n = 120
    fine = _low_noise_room(n, 768, rng, moving=40)
    fine[60:80] = fine[20:40]
    t = np.arange(n, dtype=np.float64)
    p = FlagParameters()
    found = _replay_flags(t, fine, np.zeros(n, bool), p, 1.0)
    assert [(f["start_s"], f["end_s"]) for f in found] == [(60.0, 80.0)], found
    del fine  # and without the copy: nothing
    fine = _low_noise_room(n, 768, np.random.default_rng(5), moving=40)
    assert _replay_flags(t, fine, np.zeros(n, bool), p, 1.0) == []


@pytest.mark.parametrize("decoder", ["ffmpeg", "opencv"])
def test_progress_reaches_the_end_of_the_recording(video, tmp_path, decoder):
    """The job page's bar: the share of the recording done. With ffmpeg it was the samples kept ÷
    the file's frames — 0.1 at the end of a 10 fps clip sampled once a second, then a jump to 1."""
    clip = video.make_clip(tmp_path / "p.avi", 40)
    seen: list[float] = []
    frame_statistics(clip, 1.0, progress=lambda f, m: seen.append(f), decoder=decoder)
    assert seen[-1] == 1.0 and seen == sorted(seen)
    assert 0.85 <= seen[-2] < 1.0, seen


def _stats(t: np.ndarray, bright: np.ndarray) -> pl.DataFrame:
    """A statistics frame by hand: a textured, moving room (``bright`` its mean grey level)."""
    n = len(t)
    rng = np.random.default_rng(3)
    thumb = np.clip(bright[:, None] + rng.normal(0, 20, (n, 64)), 0, 255).astype(np.uint8)
    return pl.DataFrame({"t_s": t, "brightness": bright, "contrast": np.where(bright < 30, 2.0, 40.0),
                         "diff": np.r_[np.nan, np.full(n - 1, 5.0)], "changed": np.r_[np.nan, np.full(n - 1, 0.05)]}
                        ).with_columns(pl.Series("thumb", thumb, dtype=pl.Array(pl.UInt8, 64)),
                                       pl.col("diff").fill_nan(None), pl.col("changed").fill_nan(None))


def test_a_run_does_not_bridge_a_gap_in_the_time_stamps():
    """The lens dark for the last 3 s before a 120 s hole in the recording and the first 3 s after:
    the two runs were one, 17–143 s, a serious 'covered' of 126 s, though 6 s were seen (each below
    covered_min_s). The hole is the gap flag's; a run ends at it."""
    t = np.r_[np.arange(20.0), 140 + np.arange(20.0)]
    bright = np.full(40, 120.0)
    bright[17:23] = 5.0
    flags = detect_flags(_stats(t, bright))
    assert _found(flags) == [("gap", 20.0, 140.0, "serious")], _found(flags)
    bright[10:23] = 5.0  # 10 s before the hole: a warning for those 10 s only
    assert _found(detect_flags(_stats(t, bright))) == [("covered", 10.0, 20.0, "warning"),
                                                      ("gap", 20.0, 140.0, "serious")]


@pytest.mark.parametrize(("before", "after", "hole", "column", "moving", "quiet", "quiet_samples", "expected"), [
    (40, 40, 120, "diff", 5.0, 0.0, (28, 46), [("frozen", 27.0, 40.0, "warning"), ("gap", 40.0, 160.0, "serious")]),
    (700, 300, 300, "changed", 0.05, 0.001, (50, 750),
     [("still", 49.0, 700.0, "warning"), ("gap", 700.0, 1000.0, "serious")]),
], ids=["frozen", "still"])
def test_frozen_and_still_runs_do_not_bridge_a_hole_either(before, after, hole, column, moving, quiet, quiet_samples,
                                                           expected):
    """The same rule for the change statistics (a run starts one period before its first sample).
    Frozen: the picture repeats for 12 samples before a 120 s hole (39 s was the last) and 6 after it:
    [27, 40) is a 13 s warning, the 6 s after the hole ([159, 166), the first step reaches back over
    the hole to 159) below frozen_min_s; one run would have been [27, 166), 139 s, serious. Still:
    no motion for 650 samples before a 300 s hole and 50 after: [49, 700) a warning, the 51 s after
    nothing; one run would have been [49, 1050)."""
    n = before + after
    t = np.r_[np.arange(float(before)), before + hole + np.arange(float(after))]
    values = np.r_[np.nan, np.full(n - 1, moving)]
    values[slice(*quiet_samples)] = quiet
    stats = _stats(t, np.full(n, 120.0)).with_columns(pl.Series(column, values).fill_nan(None))
    assert _found(detect_flags(stats)) == expected


@pytest.mark.parametrize("decoder", ["ffmpeg", "opencv"])
def test_a_picture_too_large_is_refused_before_decoding(video, tmp_path, monkeypatch, decoder):
    """A frame's size was never checked: a small MJPEG or HEVC file can declare a picture of hundreds
    of megapixels, each decoded frame that size in the decoder's memory (and in Python's, full size,
    with OpenCV). Above MAX_PIXELS the file is refused by what its header says, naming the size."""
    from junheng.supervision import frames

    clip = video.make_clip(tmp_path / "big.avi", 3)  # 96 × 72
    monkeypatch.setattr(frames, "MAX_PIXELS", 96 * 72 - 1)
    with pytest.raises(InputError) as exc:
        frame_statistics(clip, 1.0, decoder=decoder)
    issue = exc.value.issues[0]
    assert issue.file == "big.avi" and issue.value == "96×72" and "分辨率" in issue.rule_zh, issue
    monkeypatch.setattr(frames, "MAX_PIXELS", 96 * 72)
    assert frame_statistics(clip, 1.0, decoder=decoder)[0].height == 3


def test_a_file_with_too_many_packets_is_refused_while_they_are_listed(video, tmp_path, monkeypatch):
    """ffprobe's list of the packets' time stamps was read whole into memory (text, then a list of
    floats): a file of millions of tiny packets needed gigabytes before anything was decided. The list
    is now read line by line into a compact array and refused past MAX_PACKETS (24 h at 120 frames/s)."""
    from junheng.supervision import frames

    clip = video.make_clip(tmp_path / "many.avi", 3)  # 30 frames
    monkeypatch.setattr(frames, "MAX_PACKETS", 29)
    with pytest.raises(InputError) as exc:
        frame_statistics(clip, 1.0, decoder="ffmpeg")
    issue = exc.value.issues[0]
    assert issue.file == "many.avi" and "帧" in issue.rule_zh and "frames" in issue.rule_en, issue
    monkeypatch.setattr(frames, "MAX_PACKETS", 30)
    assert frame_statistics(clip, 1.0, decoder="ffmpeg")[1].frames == 30


def test_a_camera_turning_over_several_samples_is_one_flag():
    """Without the alignment (a room too dark for ORB features, or statistics without ``align``), a
    camera turning over three samples met the fingerprint rule at each of them: three camera_moved
    flags back to back, [9, 10], [10, 11], [11, 12], three items in the reviewer's queue for one event.
    Consecutive steps are one flag over the whole turn."""
    t = np.arange(30.0)
    stats = _stats(t, np.full(30, 120.0))
    rng = np.random.default_rng(8)
    views = [rng.integers(40, 220, 64) for _ in range(4)]  # the view before, during (2) and after the turn
    thumb = np.stack([views[min(3, max(0, k - 9))] for k in range(30)]).astype(np.uint8)
    changed = np.r_[np.nan, np.full(29, 0.05)]
    changed[10:13] = 0.6
    stats = stats.with_columns(pl.Series("thumb", thumb, dtype=pl.Array(pl.UInt8, 64)),
                               pl.Series("changed", changed).fill_nan(None))
    found = [f for f in _found(detect_flags(stats)) if f[0] == "camera_moved"]
    assert found == [("camera_moved", 9.0, 12.0, "warning")], found


def _drawn_prints(n: int, seed: int, path: str = "walk") -> np.ndarray:
    """Hand-made registered fingerprints (n samples of 24×32 block means): a textured room, a
    bright 3×3-block pupil that wanders (a random walk, never the same path twice) or circles
    (``path="circle"``: every 8 samples), and sensor noise of SD 1.5 — before any re-filming."""
    rng = np.random.default_rng(seed)
    room = rng.uniform(60, 200, (24, 32))
    if path == "walk":
        steps = rng.normal(0, 1.2, (n, 2))
        pos = np.cumsum(steps, axis=0)
        pos = np.abs((pos + [10, 14]) % [38, 54] - [19, 27]) + [1, 1]  # reflected into the room
    else:
        angle = 2 * np.pi * np.arange(n) / 8
        pos = np.c_[11 + 6 * np.sin(angle), 15 + 8 * np.cos(angle)]
    frames = np.repeat(room[None], n, axis=0)
    for k, (y, x) in enumerate(np.round(pos).astype(int)):
        frames[k, y:y + 3, x:x + 3] = 250.0
    return frames


def _refilmed(frames: np.ndarray) -> np.ndarray:
    """Frames shown on a screen and filmed again, as the registered fingerprint sees them: another
    gamma, contrast and brightness (the geometry is undone by the registration; the fresh noise
    comes with :func:`_prints_stats`)."""
    return 255 * (np.clip(frames, 0, 255) / 255) ** 0.8 * 0.85 + 12


def _prints_stats(frames: np.ndarray, rng: np.random.Generator, zoom: np.ndarray) -> tuple:
    noisy = np.clip(frames + rng.normal(0, 1.5, frames.shape), 0, 255).astype(np.uint8)
    n = len(frames)
    return np.arange(n) * 0.5, noisy.reshape(n, -1), np.zeros(n, bool), zoom


def test_refilmed_replay_hand_made_prints():
    """Samples 70–93 (35–47 s) replay samples 30–53 (20 s back) re-filmed: another gamma,
    contrast and brightness and fresh noise, so no block repeats; the screen shows the room 6 %
    smaller (zoom 0.94).  The motion repeats: one loop, 35–47 s (± 3 s).  Without the change of
    scale the motion alone must match as closely as ``refilm_alone``; a motionless room
    or one whose pupil circles every 4 s, filmed the same way, is no replay."""
    from junheng.supervision.flags import _refilm_flags

    rng = np.random.default_rng(5)
    frames = _drawn_prints(120, 3)
    frames[70:94] = _refilmed(frames[30:54])
    zoom = np.ones(120)
    zoom[70:94] = 0.94
    p = dataclasses.replace(SHORT, baseline_s=10)
    found = _refilm_flags(*_prints_stats(frames, rng, zoom), p, 0.5)
    assert len(found) == 1, found
    assert abs(found[0]["start_s"] - 35) <= 3 and abs(found[0]["end_s"] - 47) <= 3, found
    assert found[0]["severity"] == "serious"
    # the room at its own scale (no screen seen): the motion alone must match at least refilm_alone
    strict = dataclasses.replace(p, refilm_alone=0.99)
    assert len(_refilm_flags(*_prints_stats(frames, rng, zoom), strict, 0.5)) == 1
    assert _refilm_flags(*_prints_stats(frames, rng, np.ones(120)), strict, 0.5) == []
    # a motionless room (noise only) and a circling pupil, the same "screen" in the middle: nothing
    still = np.repeat(np.random.default_rng(4).uniform(60, 200, (1, 24, 32)), 120, axis=0)
    still[70:94] = _refilmed(still[30:54])
    assert _refilm_flags(*_prints_stats(still, rng, zoom), p, 0.5) == []
    circle = _drawn_prints(120, 3, path="circle")
    circle[70:94] = _refilmed(circle[30:54])
    assert _refilm_flags(*_prints_stats(circle, rng, zoom), p, 0.5) == []


@pytest.mark.parametrize("lag", [12.3, 15.7])
def test_a_replay_refilmed_off_a_screen_is_found(video, tmp_path, lag, monkeypatch):
    """24–36 s is the footage of ``lag`` s earlier played on a screen and filmed off it (smaller
    and shifted, gamma, blur, moiré, fresh noise, JPEG: ``refilm`` of the fixture): one serious
    loop over 24–36 s, the moved view (the screen) folded into it.  Without the re-filmed (motion)
    rule the screen rule still finds it by the screen's tones; without both the replay is missed —
    only the moved view is seen."""
    from junheng.supervision import flags as flag_rules

    clip = video.make_clip(tmp_path / "refilm.avi", 60, [("refilm", 24, 36, lag)], seed=101)
    stats, _ = frame_statistics(clip, FPS)
    params = dataclasses.replace(SHORT, baseline_s=10)
    _match(detect_flags(stats, params), [("loop", 24, 36, "serious")], tol=1.0)
    monkeypatch.setattr(flag_rules, "_refilm_flags", lambda *a, **k: [])
    _match(detect_flags(stats, params), [("loop", 24, 36, "serious")], tol=1.0)
    monkeypatch.setattr(flag_rules, "_screen_flags", lambda *a, **k: [])
    assert detect_flags(stats, params)["kind"].to_list() == ["camera_moved"]


def test_a_turned_camera_in_a_periodic_room_is_no_refilmed_replay(video, tmp_path):
    """The drawn pupil's path comes back every ≈ 16.8 s, and the camera turns by 3° at 19 s: the
    registered room then echoes itself 16.8 s back from the first moment it can — but the room is
    seen at its own scale (no screen) and the echo does not *start*: only camera_moved."""
    clip = video.make_clip(tmp_path / "turn.avi", 60, [("rotate", 19, 3.0)], seed=301)
    flags, _ = analyse_video(clip, FPS, dataclasses.replace(SHORT, baseline_s=10))
    assert flags["kind"].to_list() == ["camera_moved"], flags


def test_echoes_do_not_copy_every_fingerprint_to_floats():
    """Every decoded frame's fingerprint is 192 bytes; the echo search cast all of them to float32
    at once (4× their size) besides the projection: 300,000 frames (3 h at 30 frames/s) meant a quarter
    of a gigabyte more. Only the rows compared are cast now: the peak is a few times the fingerprints' own size."""
    import tracemalloc

    from junheng.supervision.frames import _echoes

    rng = np.random.default_rng(2)
    m = 60_000
    times = np.arange(m) / 25
    prints = rng.integers(0, 255, (m, 192), dtype=np.uint8)
    t = times[::25]
    tracemalloc.start()
    try:
        lag, ratio, _ = _echoes(t, times, prints)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * prints.nbytes, (peak, prints.nbytes)  # (183 MB before: 16×)
    assert np.isfinite(ratio[t >= 1]).all()


@pytest.mark.integration
@pytest.mark.skipif(__import__("shutil").which("ffmpeg") is None, reason="ffmpeg not installed")
def test_the_issues_keyframe_only_footage_at_the_default_thresholds(tmp_path):
    """The issue's case as a user meets it: 12 minutes of H.264 whose picture changes only at a key
    frame every 20 s (a live, noisy room in between repeated exactly), analysed at the defaults and
    1 sample/s — 36 false frozen warnings by the plain rule, none now; the same footage stopped for
    3 minutes is one serious frozen flag there."""
    import subprocess

    def clip(name: str, keep: str) -> str:
        out = tmp_path / name
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
                        f"testsrc2=s=320x240:r=10:d=720,noise=alls=12:allf=t,select='{keep}',fps=10",
                        "-c:v", "libx264", "-g", "200", "-preset", "veryfast", str(out)], check=True)
        return str(out)

    stats, info = frame_statistics(clip("kf.mp4", r"not(mod(n\,200))"), 1.0)
    assert info.duration_s == pytest.approx(720, abs=0.2) and detect_flags(stats).is_empty(), _found(detect_flags(stats))
    plain = detect_flags(stats, FlagParameters(sparse_updates=1.0))  # the rule without the camera's rhythm
    assert plain["kind"].to_list() == ["frozen"] * 36
    stats, _ = frame_statistics(clip("kf-stop.mp4", r"not(mod(n\,200))*not(between(t\,300\,480))"), 1.0)
    found = _found(detect_flags(stats))
    assert [f[0] for f in found] == ["frozen"] and found[0][3] == "serious"
    # it ends a period after its last still sample; B-frames are not decoded (key frames 20 s apart), so a
    # sample may be the P-frame 0.2 s into its second (x264's P-frames here are 0.4 s apart): ≤ 1 s late
    assert 280 <= found[0][1] <= 300 and 480 <= found[0][2] <= 501, found


def _fine_stats(t: np.ndarray, fine: np.ndarray) -> pl.DataFrame:
    """:func:`_stats` (a lit room) with the fine 32×24 fingerprints ``fine`` of each sample."""
    return _stats(t, np.full(len(t), 120.0)).with_columns(
        pl.Series("fine", fine.astype(np.uint8), dtype=pl.Array(pl.UInt8, fine.shape[1])))


def test_a_replay_run_does_not_bridge_a_hole_and_its_lag_is_in_seconds():
    """A low-noise room sampled every second, a 100 s hole in its time stamps after sample 99 (t 99 →
    200). Samples 85–114 are samples 15–44 played again: before the hole (t 85–99) 70 s back, after it
    (t 201–214 = samples 101–114) 170 s back — the recorder's lag, not 70 samples. The replay rule
    counted samples: one loop over [85, 215), 115 s of which 100 unrecorded. Each side of the hole is
    its own run: [85, 100) and [201, 215) (the first sample after the hole has no step to judge), and
    the gap flag between them."""
    rng = np.random.default_rng(6)
    fine = _low_noise_room(200, 768, rng, moving=40)
    fine[85:115] = fine[15:45]
    t = np.r_[np.arange(100.0), 200 + np.arange(100.0)]
    found = [(k, s, e) for k, s, e, _ in _found(detect_flags(_fine_stats(t, fine)))]
    assert found == [("loop", 85.0, 100.0), ("gap", 100.0, 200.0), ("loop", 201.0, 215.0)], found
    # a 3 s hole between a copy and its source: 10 samples back is 13 s back. Longer than loop_max_lag_s
    # (9 s; the rule looks up to two samples further, for a copy out of phase) — no replay (counted in
    # samples it was one); with 13 s allowed, the copy after the hole (its first sample has no step to
    # judge): [104, 113), within a sample
    t = np.r_[np.arange(100.0), 103 + np.arange(100.0)]
    fine = _low_noise_room(200, 768, np.random.default_rng(6), moving=40)
    fine[100:110] = fine[90:100]
    params = FlagParameters(ts_gap_s=2, loop_min_s=8, loop_min_lag_s=5, loop_max_lag_s=9)
    assert [f for f in _found(detect_flags(_fine_stats(t, fine), params)) if f[0] == "loop"] == []
    params = dataclasses.replace(params, loop_max_lag_s=13)
    found = [f[:3] for f in _found(detect_flags(_fine_stats(t, fine), params)) if f[0] == "loop"]
    assert len(found) == 1 and found[0][1] == 104.0 and 112.0 <= found[0][2] <= 113.0, found


def test_the_same_frames_tier_measures_the_noise_on_the_blocks_that_changed():
    """The replay rule's first tier (the same frames, in phase) compares a sample's distance to its
    copy with a quarter of the noise: the median step of the blocks that *changed* since the sample
    before. A low-noise room (the background the same whole number in every frame, 40 of 768 blocks
    moving) whose seconds 0–19 are played again at 30–49 s after a re-encoding that moved each
    moving block by up to one grey level: the copy is within 1 of the original, the changed blocks'
    step is tens of grey levels — the same frames. The second tier cannot take it: there is no
    stretch a lag back before the copy to show that it *starts*. Measured over all blocks the noise
    would be the background's 0, and a copy that is not bit-exact never the same frames: missed."""
    from junheng.supervision.flags import _replay_flags

    rng = np.random.default_rng(8)
    n = 80
    fine = _low_noise_room(n, 768, rng, moving=40).astype(np.int16)
    fine[30:50] = fine[0:20]
    fine[30:50, :40] += rng.integers(-1, 2, (20, 40))  # the re-encoding: ± 1 grey level on the moving blocks
    t = np.arange(n, dtype=np.float64)
    found = _replay_flags(t, np.clip(fine, 0, 255).astype(np.uint8), np.zeros(n, bool), FlagParameters(), 1.0)
    assert len(found) == 1 and 30 <= found[0]["start_s"] <= 32 and found[0]["end_s"] == 50, found
    # the oracle of the threshold: on the changed blocks the noise is the moving blocks' step (tens of
    # grey levels); over all blocks it is 0 in every sample
    from junheng.supervision.frames import changed_median

    f = fine.astype(np.float32)
    assert np.median(changed_median(f[1:], f[:-1], f[:-1])) > 20
    assert np.median(np.abs(f[1:] - f[:-1]), axis=1).max() == 0


@pytest.mark.skipif(__import__("shutil").which("ffmpeg") is None, reason="ffmpeg not installed")
def test_with_sparse_key_frames_b_frames_are_not_decoded_and_the_samples_stay_true(tmp_path):
    """Key frames 2 s apart and B-frames (x264's pyramid: some B-frames are references), sampled at
    1/s: no key frame in every period, so the decoder skips frames — every B-frame (``-skip_frame
    bidir``; no I- or P-frame refers to one), not only the frames nothing refers to. Oracle: ffprobe's
    picture types and ffmpeg's full decoding of the same file. The fingerprints of every decoded frame
    are exactly the I- and P-frames', and each sample is the very picture of the fully
    decoded frame at its time stamp (decoded, as the sampler does, without the de-blocking filter:
    skipping the B-frames changes no other frame)."""
    import subprocess

    from junheng.supervision.frames import _FFmpegSampler

    clip = tmp_path / "gop2s.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
                    "testsrc2=s=320x240:r=25:d=8,noise=alls=8:allf=t", "-c:v", "libx264", "-preset", "veryfast",
                    "-g", "50", "-keyint_min", "50", "-sc_threshold", "0", "-bf", "2", "-pix_fmt", "yuv420p",
                    str(clip)], check=True)
    probe = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                            "frame=pts_time,pict_type", "-of", "csv=p=0", str(clip)],
                           capture_output=True, text=True, check=True).stdout.split()
    types = {round(float(t), 3): kind for t, kind in (row.split(",")[:2] for row in probe)}
    assert sorted(set(types.values())) == ["B", "I", "P"]
    full = subprocess.run(["ffmpeg", "-v", "error", "-skip_loop_filter", "all", "-i", str(clip), "-f", "rawvideo", "-pix_fmt", "gray", "-"],
                          capture_output=True, check=True).stdout
    full = np.frombuffer(full, np.uint8).reshape(-1, 240, 320)
    sampler = _FFmpegSampler(clip, 1.0, 320, colour=False, echo=True)
    assert not sampler.keys_only
    samples = [(t, frame.copy()) for t, frame in sampler]
    assert len(samples) == 8
    echo_times, _ = sampler.echoes()
    assert sorted(round(t, 3) for t in echo_times) == sorted(t for t, kind in types.items() if kind != "B")
    order = sorted(types)
    for t, frame in samples:
        assert types[round(t, 3)] != "B"
        assert np.array_equal(frame, full[order.index(round(t, 3))]), t


def test_a_screen_filmed_in_place_of_the_room_is_found_even_when_nothing_moves():
    """A motionless room (noise only) whose samples 70–93 (35–47 s) show it on a screen filmed
    again: 6 % smaller (zoom 0.94), another gamma, contrast and brightness (:func:`_refilmed`:
    contrast ≈ 0.78, the dark end (74 grey) lifted by ≈ 19) — nothing moves, so no motion can match,
    but the tones are those of a screen: one loop, 35–47 s. The oracle of the tones: the fit
    recovers the drawn change (gain and lift computed by hand from ``_refilmed``). A camera zoomed
    or moved closer (scale alone), dimmed lights (gain 0.35, nothing lifted, with or without a
    change of scale) and the screen's tones at the room's own scale (footage re-toned in place:
    the motion rule's) are none."""
    from junheng.supervision.flags import _screen_flags, _tone_fit

    rng = np.random.default_rng(9)
    still = np.repeat(np.random.default_rng(4).uniform(60, 200, (1, 24, 32)), 120, axis=0)
    zoom = np.ones(120)
    zoom[70:94] = 0.94
    p = dataclasses.replace(SHORT, baseline_s=10)

    def found(frames, zoom):
        t, reg, covered, z = _prints_stats(frames, rng, zoom)
        return [(f["start_s"], f["end_s"]) for f in _screen_flags(t, reg, covered, z, p, 0.5)]

    screen = still.copy()
    screen[70:94] = _refilmed(still[70:94])
    assert found(screen, zoom) == [(35.0, 47.0)]
    # the tones against the hand-computed change: _refilmed maps grey v to 255 (v/255)^0.8 × 0.85 + 12
    ref = still[0].reshape(-1)
    v = _refilmed(ref)
    match, contrast, lift = _tone_fit(v.reshape(1, -1), ref)
    dark = np.percentile(ref, 10)
    assert match[0] == pytest.approx(np.corrcoef(v, ref)[0, 1]) and contrast[0] == pytest.approx(v.std() / ref.std())
    assert lift[0] == pytest.approx(v.mean() + contrast[0] * (dark - ref.mean()) - dark)
    assert lift[0] > p.screen_lift and contrast[0] < p.screen_contrast and match[0] > 0.99
    assert found(still, zoom) == []  # zoomed: the room's own tones
    dim = still.copy()
    dim[70:94] *= 0.35
    assert found(dim, zoom) == [] and found(dim, np.ones(120)) == []
    assert found(screen, np.ones(120)) == []  # the screen's tones at the room's own scale
    # through detect_flags: the motionless screen is one loop, the moved view folded into it
    t, reg, _, z = _prints_stats(screen, rng, zoom)
    n = len(t)
    stats = _stats(t, np.full(n, 120.0)).with_columns(
        pl.Series("fine", np.zeros((n, 768), np.uint8), dtype=pl.Array(pl.UInt8, 768)),
        pl.Series("reg", reg, dtype=pl.Array(pl.UInt8, 768)), pl.Series("zoom", z))
    loops = detect_flags(stats, p).filter(pl.col("kind") == "loop")
    assert loops.select("start_s", "end_s").rows() == [(35.0, 47.0)]


def test_holes_fill_a_bounded_grid_whatever_the_time_stamps():
    """A crafted recording: pairs of samples 1 s apart, each pair an hour after the one before (the
    median step 1 s, so every hour is a hole of 3,599 s). Each hole filled up to loop_max_lag_s
    (3,600 samples) gave 1,000 pairs 3.6 million grid positions — 11 GB of fine fingerprints as
    float32: a few kilobytes of file exhausting a worker. The placeholders in all are bounded by
    the larger of the samples' count and two holes' worth (2 × (3,600 + 2)), the first holes keep
    their full length (a lag across them is still in periods), and every hole still has a
    placeholder (no run or window bridges it). A bogus stamp (1e30 s after the one before) fills one
    hole like any other, without an integer overflow."""
    from junheng.supervision.flags import _holes, _on_grid

    pairs = 1000
    t = (np.arange(pairs)[:, None] * 3600.0 + np.array([0.0, 1.0])[None, :]).ravel()
    holes = _holes(t, 5.0, 1.0)
    assert holes.sum() == pairs - 1
    at, fill = _on_grid(t, holes, 1.0, 3600.0)
    cap = 3600 + 2
    assert len(at) - len(t) <= max(len(t), 2 * cap), len(at)
    assert fill.sum() == len(at) - len(t) and (~fill).sum() == len(t)
    real = np.flatnonzero(~fill)
    assert (at[real] == np.arange(len(t))).all()  # the real samples in order, each once
    gaps = np.diff(real) - 1  # placeholders before each real sample
    assert gaps[1] == 3598 and (gaps[1::2] >= 1).all() and (gaps[::2] == 0).all()  # the first hole whole; none bridged
    # one absurd stamp: one capped hole, no overflow to a negative count
    t = np.r_[np.arange(10.0), 1e30]
    at, fill = _on_grid(t, _holes(t, 5.0, 1.0), 1.0, 3600.0)
    assert fill.sum() == cap and len(at) == 11 + cap
    # a short recording with a few ordinary holes is filled exactly as before
    t = np.r_[np.arange(10.0), 20 + np.arange(10.0), 100 + np.arange(10.0)]
    at, fill = _on_grid(t, _holes(t, 5.0, 1.0), 1.0, 3600.0)
    assert fill.sum() == 10 + 70


def test_a_hole_is_longer_than_the_gap_rule_and_two_periods():
    """Hand-worked: at 1 sample/s with gap_s 5, a step of 6 s is a hole and one of 5 s is not; at
    one sample every 10 s (0.1/s) the ordinary 10 s step is no hole although it exceeds gap_s —
    only a step over two periods (20 s) is: a sparse sampling must not cut every run at every sample."""
    from junheng.supervision.flags import _holes

    t = np.array([0.0, 1, 2, 7, 13, 14])
    assert _holes(t, 5.0, 1.0).tolist() == [False, False, False, False, True, False]
    t = np.array([0.0, 10, 20, 30, 51, 61])
    assert _holes(t, 5.0, 10.0).tolist() == [False, False, False, False, True, False]


def test_the_screen_rule_on_honest_tone_changes_with_a_change_of_scale():
    """The screen rule's honest neighbours, each with the view 6 % off scale for 12 s (a zoom, a
    camera pushed closer) in a motionless room: the camera's exposure raised by 1.3 and by 1.6 with
    the bright blocks clipped at 255 (contrast ≥ 1: the tones of a brighter room), a veil of
    0.9 v + 15 (contrast 0.9, lift 7.5) and a shadow gamma of 0.8 (contrast 0.92) — no loop. The
    documented false alarm, gamma 0.7 (the shadows lifted by wide dynamic range: contrast 0.87, lift
    35 — a screen's tones) is one: the rule cannot tell them apart, so docs/methods/video-flags.md
    says so and a reviewer must look. Oracle of the tones: _tone_fit's formula by hand (the test
    above); here only which side of the thresholds each change lies."""
    from junheng.supervision.flags import _screen_flags

    rng = np.random.default_rng(12)
    still = np.repeat(np.random.default_rng(4).uniform(60, 200, (1, 24, 32)), 120, axis=0)
    zoom = np.ones(120)
    zoom[70:94] = 0.94
    p = dataclasses.replace(SHORT, baseline_s=10)

    def found(change):
        frames = still.copy()
        frames[70:94] = change(still[70:94])
        t, reg, covered, z = _prints_stats(frames, rng, zoom)
        return [(f["start_s"], f["end_s"]) for f in _screen_flags(t, reg, covered, z, p, 0.5)]

    assert found(lambda v: np.minimum(v * 1.3, 255)) == []
    assert found(lambda v: np.minimum(v * 1.6, 255)) == []
    assert found(lambda v: 0.9 * v + 15) == []
    assert found(lambda v: 255 * (v / 255) ** 0.8) == []
    assert found(lambda v: 255 * (v / 255) ** 0.7) == [(35.0, 47.0)]
    # the camera turned to a bright plain wall (its registration fails: blocks unrelated to the room).
    # By tones alone a screen: SD ≈ 8.7 against the room's ≈ 40 (contrast ≈ 0.2), the room's dark end
    # (≈ 75) raised to ≈ 168; but its blocks correlate with the room's ≈ 0 (768 independent blocks:
    # |r| < 0.15), far below screen_match: no loop
    wall = np.random.default_rng(13).uniform(165, 195, (24, 24 * 32)).reshape(24, 24, 32)
    assert found(lambda v: wall) == []


def test_the_screen_rules_reference_is_the_room_at_its_own_scale():
    """The reference tones are the median of the baseline's samples *at the room's own scale*: a
    recording that opens on the screen (samples 0–13, 0–7 s, zoom 0.94, its tones :func:`_refilmed`)
    for most of its 10 s baseline (21 samples) and shows the room for the 7 samples after. Judged
    against the room those 7 give, both stretches on the screen are loops, [0, 7) and [35, 47); had
    the screen's samples been the reference (their 14 of 21 the median), the screen would be the
    room's tones and neither found."""
    from junheng.supervision.flags import _screen_flags

    rng = np.random.default_rng(14)
    still = np.repeat(np.random.default_rng(4).uniform(60, 200, (1, 24, 32)), 120, axis=0)
    zoom = np.ones(120)
    frames = still.copy()
    for a, b in ((0, 14), (70, 94)):
        zoom[a:b] = 0.94
        frames[a:b] = _refilmed(still[a:b])
    t, reg, covered, z = _prints_stats(frames, rng, zoom)
    found = _screen_flags(t, reg, covered, z, dataclasses.replace(SHORT, baseline_s=10), 0.5)
    assert [(f["start_s"], f["end_s"]) for f in found] == [(0.0, 7.0), (35.0, 47.0)]


def test_a_still_room_whose_noise_rounds_to_whole_levels_is_no_replay_in_phase():
    """Issue #16: a motionless room whose block means round its noise away flips the same few blocks
    between two whole grey levels, so about half of the blocks that changed match *any* other sample
    and the first tier's median block "equals its copy" at every lag by chance — the old rule found 3
    to 5 replays in 90 such samples.  Against the share matching unrelated samples, only the real copy
    is found (oracle: the stretch copied, 60–75 s = 20–35 s), and without it nothing."""
    from junheng.supervision.flags import _replay_flags

    t, p = np.arange(90, dtype=np.float64), FlagParameters()
    for seed in range(5):
        rng = np.random.default_rng(seed)
        fine = np.round(rng.uniform(60, 200, 768) + rng.normal(0, 0.25, (90, 768))).astype(np.uint8)
        assert _replay_flags(t, fine, np.zeros(90, bool), p, 1.0) == [], seed
        fine[60:75] = fine[20:35]
        found = _replay_flags(t, fine, np.zeros(90, bool), p, 1.0)
        assert [(f["start_s"], f["end_s"]) for f in found] == [(60.0, 75.0)], (seed, found)


def _rounded_still_room(seed: int, seconds: int = 90, fps: int = 25, replay: tuple[int, int, int] | None = None):
    """A motionless room at a camera's resolution, every decoded frame: each 32×24 block's mean carries
    noise of 0.3 grey levels, rounded to whole levels (the fine print), and the 16×12 echo print is the
    2×2 blocks' mean, rounded; ``replay`` (a, b, lag): the frames of a to b seconds are those ``lag``
    frames earlier.  Returns the frames' times, fine and echo prints."""
    rng = np.random.default_rng(seed)
    n = seconds * fps
    v = rng.uniform(60, 200, (1, 24, 32)) + rng.normal(0, 0.3, (n, 24, 32))
    if replay is not None:
        a, b, lag = replay
        v[a * fps:b * fps] = v[a * fps - lag:b * fps - lag]
    fine = np.round(v).reshape(n, -1).astype(np.uint8)
    echo = np.round(v.reshape(n, 12, 2, 16, 2).mean(axis=(2, 4))).reshape(n, -1).astype(np.uint8)
    return np.arange(n) / fps, fine, echo


def test_a_still_room_whose_noise_rounds_to_whole_levels_echoes_no_replay():
    """Issue #16: the echo rule (every decoded frame's 16×12 print, at any phase) in a motionless room
    whose block means round the noise away: the closest of a thousand earlier frames equals about half
    of the samples on most blocks that changed (ratio 0) by chance, and the old rule strung twelve of
    them into a false `loop` (seed 1: 68–80 s) and stretched a real replay's ends by chance echoes
    (57–75, 59–79 s). Measured against the share of those blocks matching unrelated samples, no sample
    of the live room is an echo; with 60–75 s replaying the frames 40.28 s earlier (off the sample
    grid), exactly that stretch is found (oracle: the frames copied)."""
    from junheng.supervision.flags import _echo_flags
    from junheng.supervision.frames import _echoes

    p = FlagParameters()
    for seed in range(5):
        for replay in (None, (60, 75, 40 * 25 + 7)):
            times, fine, prints = _rounded_still_room(seed, replay=replay)
            t = times[::25]
            lag, ratio, match = _echoes(t, times, prints)
            found = _echo_flags(t, fine[::25], np.zeros(len(t), bool), lag, ratio, match, p, 1.0)
            assert [(f["start_s"], f["end_s"]) for f in found] == ([(60.0, 75.0)] if replay else []), (seed, found)


def test_a_re_encoded_copy_below_the_chance_bar_echoes_at_one_lag():
    """A copy re-encoded at high quality is not the very frame: at CRF 12 about 0.4–0.7 of the way
    from chance to every block matches (measured on the evaluation's motionless rooms), so
    ``echo_match`` ≥ 0.5 alone would cut a real replay short.  Oracle: the rounded room's 60–75 s
    copied from 40.28 s earlier with one in ten of the blocks that change off by a grey level —
    ``echo_match`` below 0.5 for most samples, nearly every one at the copy's lag — is found (to
    within its last sample, whose closest frame lies in the copy itself); the same samples at lags
    that disagree (as the closest of unrelated frames do) are none."""
    from junheng.supervision.flags import _echo_flags
    from junheng.supervision.frames import _echoes

    times, fine, prints = _rounded_still_room(2, replay=(60, 75, 40 * 25 + 7))
    rng = np.random.default_rng(0)
    flips = prints.std(axis=0) > 0  # the blocks whose mean lies near a half level: the ones that change
    off = (rng.random((15 * 25, 192)) < 0.1) & flips
    prints[60 * 25:75 * 25] = (prints[60 * 25:75 * 25] + off).astype(np.uint8)  # the copy re-encoded
    t = times[::25]
    lag, ratio, match = _echoes(t, times, prints)
    inside = (t >= 60) & (t < 75)
    twin = inside & (np.abs(lag - 40.28) < 1e-6) & (ratio <= 0.25)
    assert twin.sum() >= 12 and np.mean(match[twin] < 0.5) > 0.5, match[inside]
    p = FlagParameters()
    found = _echo_flags(t, fine[::25], np.zeros(len(t), bool), lag, ratio, match, p, 1.0)
    assert len(found) == 1 and found[0]["start_s"] == 60.0 and 74.0 <= found[0]["end_s"] <= 75.0, found
    scattered = np.where(inside, 20.0 + np.arange(len(t)) * 0.37, lag)  # the same samples, lags of their own
    assert _echo_flags(t, fine[::25], np.zeros(len(t), bool), scattered, ratio, match, p, 1.0) == []


def test_a_still_720p_room_in_h264_is_no_replay(tmp_path):
    """Issue #16 (two reviewers): a 720p room with nothing but sensor noise (σ 3), H.264 CRF 23 with a
    key frame every second, analysed at 1 sample/s with the default rules — no flag at all (the old
    rule raised `loop` on 13–28, 39–49 and 50–60 s of this very clip: nothing was replayed)."""
    import subprocess

    import cv2

    rng = np.random.default_rng(5)
    room = cv2.resize(rng.integers(60, 200, size=(18, 32)).astype(np.uint8), (1280, 720),
                      interpolation=cv2.INTER_NEAREST).astype(np.float32)
    clip = tmp_path / "still720.mp4"
    proc = subprocess.Popen(["ffmpeg", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "gray", "-s", "1280x720",
                             "-r", "10", "-i", "-", "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-g", "10",
                             "-keyint_min", "10", "-sc_threshold", "0", "-bf", "0", "-pix_fmt", "yuv420p", str(clip)],
                            stdin=subprocess.PIPE)
    for _ in range(600):
        proc.stdin.write(np.clip(room + rng.normal(0, 3, size=room.shape), 0, 255).astype(np.uint8).tobytes())
    proc.stdin.close()
    assert proc.wait() == 0
    flags, _ = analyse_video(clip, 1.0)
    assert flags.is_empty(), flags
