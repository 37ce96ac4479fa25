"""Sound against the room's baseline: clips whose audio track is drawn with known talking
(tests/fixtures/video.py ``room_sound``); the flags must be exactly the talking drawn, each boundary
within one second (the window)."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from junheng.exceptions import InputError, ParameterError
from junheng.supervision.audio import AudioParameters, audio_flags, audio_levels

pytestmark = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg not installed")


def _clip(video, tmp_path, talking, seconds=90, **kw):
    picture = video.make_clip(tmp_path / "pic.avi", seconds, fps=5)
    return video.with_sound(picture, tmp_path / "room.mkv", video.room_sound(seconds, talking, **kw))


def test_levels_are_the_rms_of_each_second(video, tmp_path):
    levels = audio_levels(_clip(video, tmp_path, [(30, 50)]))
    assert levels.height == 90 and levels["t_s"].to_list()[:3] == [0.0, 1.0, 2.0]
    quiet = levels.filter((levels["t_s"] < 25) | (levels["t_s"] > 55))["level_db"].to_numpy()
    loud = levels.filter((levels["t_s"] >= 31) & (levels["t_s"] < 49))["level_db"].to_numpy()
    # drawn at −50 dBFS and about −22 dBFS (AAC changes a level by well under 2 dB)
    assert np.all(np.abs(quiet + 50) < 2.5) and np.all(loud > -30)


def test_talking_in_a_silent_test_is_found(video, tmp_path):
    flags = audio_flags(audio_levels(_clip(video, tmp_path, [(30, 50), (70, 75)])))
    # 30–50 s (20 s) is found; 70–75 s (5 s) is shorter than min_s = 10 s
    assert flags["kind"].to_list() == ["sound"]
    assert abs(flags["start_s"][0] - 30) <= 1 and abs(flags["end_s"][0] - 50) <= 1
    assert flags["severity"][0] == "warning" and 0 < flags["score"][0] <= 1
    shorter = audio_flags(audio_levels(_clip(video, tmp_path, [(30, 50), (70, 75)])), AudioParameters(min_s=4))
    assert len(shorter) == 2


@pytest.mark.parametrize("quiet_db", [-50.0, -35.0])
def test_a_quiet_room_is_not_flagged_whatever_its_level(video, tmp_path, quiet_db):
    assert audio_flags(audio_levels(_clip(video, tmp_path, [], quiet_db=quiet_db))).is_empty()


def test_a_talk_quieter_than_the_margin_is_not_flagged(video, tmp_path):
    # a whisper 8 dB above the room: below the 12 dB margin
    levels = audio_levels(_clip(video, tmp_path, [(30, 60)], voice_db=-42.0))
    assert audio_flags(levels).is_empty()
    assert audio_flags(levels, AudioParameters(margin_db=4)).height == 1


def test_no_sound_track_and_bad_input(video, tmp_path):
    assert audio_levels(video.make_clip(tmp_path / "mute.avi", 5)).is_empty()
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video")
    with pytest.raises(InputError) as exc:
        audio_levels(bad)
    assert exc.value.issues[0].file == "bad.mp4"
    with pytest.raises(ParameterError):
        AudioParameters(margin_db=-1)


@pytest.mark.parametrize("name", ["-report.mkv", "subfile:room.mkv"])
def test_a_file_named_like_an_option_or_a_protocol_is_read_as_the_file(video, tmp_path, monkeypatch, name):
    """ffprobe read ``-report.mkv`` as an option and ``subfile:room.mkv`` as a protocol: the
    recording was refused as damaged (or another file read). Given absolute, the file is read."""
    from junheng.supervision.frames import frame_statistics

    clip = _clip(video, tmp_path, [(2, 4)], seconds=6)
    clip.rename(tmp_path / name)
    monkeypatch.chdir(tmp_path)
    assert audio_levels(name).height == 6
    stats, info = frame_statistics(name, 1.0, decoder="ffmpeg")
    assert stats.height == 6 and info.width > 0
    # the packets' time stamps too (the second ffprobe call was given the bare name: no packets,
    # so the frame count was the samples' and the length ended at the last sample)
    assert info.frames == 30 and info.duration_s == pytest.approx(6.0)


def test_echo_frames_without_a_time_stamp_are_dropped_not_fatal():
    """showinfo prints ``pts_time:NOPTS`` for a frame without a time stamp: the stderr reader used
    float() on it — the thread died and ffmpeg stalled on a full pipe. Now NaN, dropped, the rest
    ordered by time for the echo search."""
    from junheng.supervision.frames import ECHO, _FFmpegSampler, _seconds

    assert np.isnan(_seconds("NOPTS")) and _seconds("1.25") == 1.25
    sampler = _FFmpegSampler.__new__(_FFmpegSampler)
    size = ECHO[0] * ECHO[1]
    sampler.echo, sampler.start = True, 0.0
    sampler._echo_times = [0.0, _seconds("NOPTS"), 0.2, 0.1]
    sampler._echo_data = bytearray(b"".join(bytes([k]) * size for k in range(4)))
    times, prints = sampler.echoes()
    assert times.tolist() == [0.0, 0.1, 0.2] and prints[:, 0].tolist() == [0, 3, 2]


def test_a_gap_in_the_sound_is_read_in_bounded_memory(tmp_path):
    """The gaps in a sound track's time stamps are filled with silence (so seconds stay the
    recording's): a 30 kB file whose sound jumps an hour ahead decoded to an hour of PCM, kept whole
    in memory twice over (543 MB for one hour; a day's jump would end the worker). The sound is now
    read a block of windows at a time; ``max_s`` stops it at the picture's length."""
    import subprocess
    import tracemalloc

    clip = tmp_path / "gap.mkv"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "sine=frequency=300:duration=4",
                    "-af", "asetpts='if(gte(T,2),PTS+3600/TB,PTS)'", "-c:a", "aac", str(clip)], check=True)
    tracemalloc.start()
    try:
        levels = audio_levels(clip)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert levels.height == 3604 and peak < 40e6, peak
    assert (levels["level_db"][3:3601] == -90.0).all() and (levels["level_db"][:2] > -25).all()  # the sine: 1/8 of full scale
    short = audio_levels(clip, max_s=10)
    assert short.height == 10 and short["level_db"].to_list() == levels["level_db"][:10].to_list()
