"""Video flags on an evaluation set of generated clips with planted events (the drawing of
tests/fixtures/video.py: a textured room, sensor noise, a moving pupil): per event kind,
``JUNHENG_BENCH_CLIPS`` clips (default 6) of 60 s at 10 fps with one event at a random time, plus
as many clips without any event, sparse (keyframe-only) clips and clips with a pupil only; a
flag of the event's kind overlapping the event is a hit, every other flag of a kind is a false
alarm. Thresholds: the tests' short ones (durations of seconds, not minutes; in the low-motion and
motionless rooms the still rule keeps its 600 s).  Replays in rooms where little moves, talking on a
sound track (``audio_flags``) and live low-motion and motionless rooms, replays of a motionless room at each phase to the sampling, re-filmed replays (fresh
noise on the copy), replays re-filmed off a screen (``refilm``), a fan and a swinging lamp are part of
the set (``JUNHENG_BENCH_ONLY=text``: only the planted rows whose name contains it, while iterating;
``JUNHENG_BENCH_NO_REFILM=1``: the re-filmed replay rule switched off, for the table's "before";
``JUNHENG_BENCH_NO_SCREEN=1``: the screen rule (a view at another scale in a screen's tones) off).  Prints the
precision/recall table of docs/methods/video-flags.md and the analysis speed.

``JUNHENG_BENCH_H264=1``: instead, the replay rows (every planted ``loop``) and the clips without an
event, each re-encoded as H.264 (libx264 veryfast, CRF ``JUNHENG_BENCH_CRF``, default 23) with sparse key frames — every 2 s with
2 B-frames (analysed at 1 and 2 samples/s) and every 1 s without B-frames (2 samples/s) — and
analysed twice: every group of pictures decoded as far as the sampler's frame skipping allows
(``frames.TRUNCATE_GROUPS`` off) and only up to its last sample (on, with B-frames too).  Prints recall per planted
row and ``loop`` precision for each, and whether the samples' fingerprints were the same both ways
(the echo fingerprints of the frames between samples are what truncation drops).

``JUNHENG_BENCH_OSD=1`` (with ``JUNHENG_BENCH_H264=1``): every clip of that selection carries the camera's
burned-in clock (tests/fixtures/video.py ``osd``; a replay copies the earlier frames with their old clock),
and the event-free clips are drawn twice, with and without it; each clip is analysed once, decoded the
default way (``junheng.supervision.osd``: the clock's evidence).  Prints the same tables and, per row, in
how many clips the clock's region was found.  ``JUNHENG_BENCH_NEGATIVES=1``: the event-free clips also
when ``JUNHENG_BENCH_ONLY`` selects rows (e.g. ``JUNHENG_BENCH_ONLY=none-at-all`` for those alone).

    .venv/bin/python benchmarks/run.py video
    JUNHENG_BENCH_H264=1 .venv/bin/python benchmarks/run.py video
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
import time
from pathlib import Path

from _tests_module import load  # benchmarks/ is on the path

CLIPS = int(os.environ.get("JUNHENG_BENCH_CLIPS", "6"))
NEGATIVES = (("no event (with a quiet sound track)", [], "square"),
             ("sparse footage (1 picture / 5 s)", [("sparse", 0, 60, 5)], "square"),
             ("a live low-motion room", [], "low"), ("a live motionless room", [], "none"),
             ("a ceiling fan (0.9 s a turn)", [], "fan"), ("a swinging lamp (2.4 s a swing)", [], "pendulum"))
PHASES = (0.1, 0.2, 0.3, 0.4)  # a replay's lag past a whole 0.5 s sample period


def main() -> None:
    import numpy as np

    from junheng.supervision import FlagParameters, analyse_video, audio_flags, audio_levels

    video = load("fixtures/video.py", "video_fixture")
    if os.environ.get("JUNHENG_BENCH_NO_REFILM"):  # the table's "before": the re-filmed replay rule off
        from junheng.supervision import flags as flag_rules

        flag_rules._refilm_flags = lambda *args, **kwargs: []
    if os.environ.get("JUNHENG_BENCH_NO_SCREEN"):  # before the screen rule (tones of a re-filmed screen)
        from junheng.supervision import flags as flag_rules

        flag_rules._screen_flags = lambda *args, **kwargs: []
    params = FlagParameters(covered_min_s=2, covered_serious_s=10, frozen_min_s=2, frozen_serious_s=10, still_min_s=3,
                            moved_persist_s=1, loop_min_s=3, loop_min_lag_s=2, loop_serious_s=10, baseline_s=10)
    # rooms where (almost) nothing moves are `still` by design: there the still rule keeps its default
    quiet_params = dataclasses.replace(params, still_min_s=600)
    rng = np.random.default_rng(2026)
    plans = {  # kind: (flag kind, events at a)
        "covered": ("covered", lambda a: [("black", a, a + 8)]),
        "frozen": ("frozen", lambda a: [("frozen", a, a + 8)]),
        "still": ("still", lambda a: [("still", a, a + 10)]),
        "loop": ("loop", lambda a: [("loop", a, a + 8, 15)]),
        "shift 24 px": ("camera_moved", lambda a: [("shift", a)]),
        "turn 3°": ("camera_moved", lambda a: [("rotate", a, 3.0)]),
        "drift 10 px / 20 s": ("camera_moved", lambda a: [("drift", a, a + 20, 10)]),
        "lights × 0.35": ("lighting", lambda a: [("dim", a, a + 10, 0.35)]),
        "hand over 40 %": ("occluded", lambda a: [("hand", a, a + 10)]),
    }
    # replays in rooms where little moves: six pupils swaying ±2 px, or nothing but sensor noise; the
    # lag a multiple of the 0.1 s frame but not of the 0.5 s sample period ("off the sample grid")
    off_grid = lambda: float(rng.integers(100, 200) * 0.1 + 0.2)  # noqa: E731
    plans["replay, low-motion room, lag off the sample grid"] = ("loop", lambda a: [("loop", a, a + 12, off_grid())],
                                                                  "low")
    plans["replay, motionless room, lag on the sample grid"] = ("loop", lambda a: [("loop", a, a + 12, 15.0)], "none")
    plans["replay, motionless room, lag off the sample grid"] = ("loop", lambda a: [("loop", a, a + 12, off_grid())],
                                                                  "none")
    for phase in PHASES:  # the same, at each phase to the sampling: lag = 10–19.5 s + phase
        plans[f"replay, motionless room, lag k × 0.5 s + {phase:g} s"] = (
            "loop", lambda a, phase=phase: [("loop", a, a + 12, float(rng.integers(20, 40)) * 0.5 + phase)], "none")
    plans["replay re-filmed (fresh noise σ 4), lag off the sample grid"] = (
        "loop", lambda a: [("loop", a, a + 12, off_grid(), 4.0)])
    plans["replay re-filmed (fresh noise σ 4), low-motion room, lag off the sample grid"] = (
        "loop", lambda a: [("loop", a, a + 12, off_grid(), 4.0)], "low")
    # re-filmed off a screen (tests/fixtures/video.py ``refilm``): smaller and shifted, gamma, contrast,
    # brightness, blur, moiré, fresh noise, JPEG — nothing of the copy repeats but the motion
    plans["replay re-filmed off a screen, lag off the sample grid"] = (
        "loop", lambda a: [("refilm", a, a + 12, off_grid())])
    plans["replay re-filmed off a screen, low-motion room, lag off the sample grid"] = (
        "loop", lambda a: [("refilm", a, a + 12, off_grid())], "low")
    plans["replay re-filmed off a screen, motionless room, lag off the sample grid"] = (
        "loop", lambda a: [("refilm", a, a + 12, off_grid())], "none")
    plans["replay, room with a swinging lamp, lag off the sample grid"] = (
        "loop", lambda a: [("loop", a, a + 12, off_grid())], "pendulum")
    only = os.environ.get("JUNHENG_BENCH_ONLY")  # while iterating: the rows whose name contains this
    if only:
        plans = {k: v for k, v in plans.items() if only in k}
    if os.environ.get("JUNHENG_BENCH_H264"):
        _h264_table(video, {k: v for k, v in plans.items() if v[0] == "loop"}, params, quiet_params, rng, bool(only))
        return
    if shutil.which("ffmpeg") and not only:
        plans["gap 60 s"] = ("gap", None)
        plans["talking 15 s (sound track)"] = ("sound", "talk")
    rows, seconds, analysed = [], 0.0, 0.0
    found_all: list[tuple[str, list]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, (kind, make, *room) in plans.items():
            for k in range(CLIPS):
                a = float(rng.integers(18, 30))
                path = Path(tmp) / f"{kind}-{k}.avi"
                motion = room[0] if room else "square"
                if make == "talk":
                    picture = video.make_clip(path, 60, [], seed=100 + k)
                    clip = video.with_sound(picture, Path(tmp) / f"talk-{k}.mkv",
                                            video.room_sound(60, [(a, a + 15)], seed=k))
                    span = (a, a + 15)
                elif make is None:
                    clip = video.make_clip(path, 60, [], seed=100 + k)
                    clip = video.with_gap(clip, Path(tmp) / f"gap-{k}.mkv", at=a, gap=60)
                    span = (a, a + 60)
                else:
                    events = make(a)
                    clip = video.make_clip(path, 60, events, seed=100 + k, motion=motion)
                    ev = events[0]
                    span = (a, 60.0 if ev[0] in ("shift", "rotate") else (ev[2] if ev[0] != "drift" else 60.0))
                t0 = time.perf_counter()
                flags, info = analyse_video(clip, 2.0, params if motion == "square" else quiet_params)
                if make == "talk":
                    flags = flags.vstack(audio_flags(audio_levels(clip)))
                analysed += time.perf_counter() - t0
                seconds += info.duration_s
                found_all.append((name, [(r["kind"], r["start_s"], r["end_s"]) for r in flags.iter_rows(named=True)]))
                hit = any(f[0] == kind and f[1] < span[1] and span[0] < f[2] for f in found_all[-1][1])
                rows.append((name, kind, hit, span))
        for name, events, motion in NEGATIVES if not only else ():
            for k in range(CLIPS):
                clip = video.make_clip(Path(tmp) / f"none-{len(events)}-{k}.avi", 60, events, seed=200 + k,
                                       motion=motion)
                t0 = time.perf_counter()
                flags, info = analyse_video(clip, 2.0, params if motion == "square" else quiet_params)
                if shutil.which("ffmpeg") and motion == "square" and not events:  # a quiet room's sound too
                    quiet = video.with_sound(clip, Path(tmp) / f"quiet-{k}.mkv", video.room_sound(60, [], seed=50 + k))
                    flags = flags.vstack(audio_flags(audio_levels(quiet)))
                analysed += time.perf_counter() - t0
                seconds += info.duration_s
                found_all.append((name, [(r["kind"], r["start_s"], r["end_s"]) for r in flags.iter_rows(named=True)]))
    print(f"video evaluation set: {len(found_all)} clips of 60 s (96×72, 10 fps), {CLIPS} per planted event, 2 samples/s")
    print("| planted event | expected flag | clips | recall |")
    print("|---|---|---:|---:|")
    for name, (kind, *_) in plans.items():
        sub = [r for r in rows if r[0] == name]
        print(f"| {name} | `{kind}` | {len(sub)} | {sum(r[2] for r in sub)}/{len(sub)} |")
    # precision per flag kind: a flag is right when it overlaps a planted event that expects its kind
    spans = [(r[1], r[3]) for r in rows] + [(None, None)] * (len(found_all) - len(rows))
    print("| flag | flags raised | on a planted event of that kind | precision |")
    print("|---|---:|---:|---:|")
    for kind in sorted({k for k, *_ in plans.values()}):
        raised = right = 0
        for (_, flags), (want, span) in zip(found_all, spans, strict=True):
            for f in flags:
                if f[0] != kind:
                    continue
                raised += 1
                right += want == kind and f[1] < span[1] and span[0] < f[2]
        print(f"| `{kind}` | {raised} | {right} | {right / raised if raised else float('nan'):.2f} |")
    false = [(clip, f) for (clip, flags), (want, span) in zip(found_all, spans, strict=True) for f in flags
             if not (want == f[0] and f[1] < span[1] and span[0] < f[2])]
    for clip, f in false:
        print(f"false alarm: `{f[0]}` {f[1]:.1f}–{f[2]:.1f} s in a clip of \"{clip}\"")
    for name, *_ in NEGATIVES:
        n = sum(len(f) for c, f in found_all if c == name)
        print(f"| (clips with {name}) | {n} flags in {CLIPS} clips | | |")
    print(f"video speed: {seconds:.0f} s of clips analysed in {analysed:.1f} s ({seconds / analysed:.0f}× real time at 96×72)")


STREAMS = (("key frame every 2 s, 2 B-frames", 20, 2, 1.0), ("key frame every 2 s, 2 B-frames", 20, 2, 2.0),
           ("key frame every 1 s, no B-frames", 10, 0, 2.0))  # (name, key interval in frames at 10 fps, B, samples/s)


CRF = os.environ.get("JUNHENG_BENCH_CRF", "23")  # the H.264 rows' quality (23: x264's default; 0: lossless)


def _h264(clip: Path, out: Path, gop: int, bframes: int) -> Path:
    import subprocess

    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(clip), "-c:v", "libx264", "-preset", "veryfast", "-crf", CRF,
                    "-g", str(gop), "-keyint_min", str(gop), "-sc_threshold", "0", "-bf", str(bframes),
                    "-pix_fmt", "yuv420p", str(out)], check=True)
    return out


def _h264_table(video, plans: dict, params, quiet_params, rng, only: bool) -> None:
    """The replay rows and the honest clips as H.264 with sparse key frames, analysed with every
    group of pictures decoded (as far as the frame skipping allows) and truncated after its last
    sample (``JUNHENG_BENCH_H264``, module docstring)."""
    from junheng.supervision import detect_flags, frame_statistics
    from junheng.supervision import frames as frame_module

    osd = bool(os.environ.get("JUNHENG_BENCH_OSD"))
    clips = []  # (row, span or None, motion, clip path)
    with tempfile.TemporaryDirectory() as tmp:
        for name, (_, make, *room) in plans.items():
            for k in range(CLIPS):
                a = float(rng.integers(18, 30))
                events = make(a)
                motion = room[0] if room else "square"
                path = video.make_clip(Path(tmp) / f"r{len(clips)}.avi", 60, events, seed=100 + k, motion=motion,
                                       osd=osd)
                clips.append((name + (", with the camera's clock" if osd else ""), (a, events[0][2]), motion, path))
        for name, events, motion in NEGATIVES if not only or os.environ.get("JUNHENG_BENCH_NEGATIVES") else ():
            for clock in ((True, False) if osd else (False,)):
                for k in range(CLIPS):
                    path = video.make_clip(Path(tmp) / f"n{len(clips)}.avi", 60, events, seed=200 + k, motion=motion,
                                           osd=clock)
                    clips.append((name + (", with the camera's clock" if clock else ""), None, motion, path))
        plans = {c[0]: None for c in clips if c[1] is not None}
        found_clock: dict[str, int] = {}
        found: dict[tuple, list] = {}
        same: dict[tuple, int] = {}
        cpu: dict[tuple, float] = {}
        for label, gop, bframes, fps in STREAMS:
            for i, (_name, _span, motion, path) in enumerate(clips):
                mp4 = Path(tmp) / f"{path.stem}-g{gop}b{bframes}.mp4"
                if not mp4.exists():
                    _h264(path, mp4, gop, bframes)
                stats = {}
                frame_module.TRUNCATE_WITH_B_FRAMES = not osd  # measured with B-frames too (the clock: the default)
                for truncate in ((True,) if osd else (False, True)):
                    frame_module.TRUNCATE_GROUPS = truncate
                    c0 = time.process_time()
                    stats[truncate], _ = frame_statistics(mp4, fps)
                    cpu[(label, fps, truncate)] = cpu.get((label, fps, truncate), 0.0) + time.process_time() - c0
                    flags = detect_flags(stats[truncate], params if motion == "square" else quiet_params)
                    found[(label, fps, truncate, i)] = [(r["kind"], r["start_s"], r["end_s"])
                                                        for r in flags.iter_rows(named=True)]
                    if osd:
                        for r in flags.iter_rows(named=True):
                            if r["detail"]:
                                print(f"  {label}, {fps:g}/s, {_name}: {r['kind']} {r['start_s']:.1f}–{r['end_s']:.1f} s "
                                      f"(planted {_span}): {r['detail'].split(' / ')[-1]}")
                frame_module.TRUNCATE_GROUPS, frame_module.TRUNCATE_WITH_B_FRAMES = True, False  # the defaults
                found_clock[_name] = found_clock.get(_name, 0) + int(stats[True]["osd"].null_count() == 0)
                if osd:  # one decoding: the rows "all decoded" repeat the default's
                    stats[False] = stats[True]
                    found[(label, fps, False, i)] = found[(label, fps, True, i)]
                    cpu[(label, fps, False)] = cpu.get((label, fps, False), 0.0)
                a, b = stats[False], stats[True]
                same[(label, fps)] = same.get((label, fps), 0) + int(
                    a["t_s"].to_list() == b["t_s"].to_list() and a["fine"].to_list() == b["fine"].to_list())
    print(f"replay rows on H.264 with sparse key frames: {CLIPS} clips a row of 60 s (96×72, 10 fps), libx264 veryfast "
          f"CRF {CRF}; all decoded / truncated after each group's last sample")
    print("| planted event | stream | samples/s | clips | recall, all decoded | recall, truncated |")
    print("|---|---|---:|---:|---:|---:|")
    for label, _, _, fps in STREAMS:
        for name in plans:
            rows = [i for i, c in enumerate(clips) if c[0] == name]
            hits = [sum(any(f[0] == "loop" and f[1] < clips[i][1][1] and clips[i][1][0] < f[2]
                            for f in found[(label, fps, tr, i)]) for i in rows) for tr in (False, True)]
            print(f"| {name} | {label} | {fps:g} | {len(rows)} | {hits[0]}/{len(rows)} | {hits[1]}/{len(rows)} |")
    for name, n in found_clock.items():
        print(f"clock region found: {name}: {n} of {sum(c[0] == name for c in clips) * len(STREAMS)} analyses")
    print("| stream | samples/s | decoding | `loop` flags | on a planted replay | precision | other flags on "
          "event-free clips | samples identical | CPU s of this process |")
    print("|---|---:|---|---:|---:|---:|---:|---:|---:|")
    for label, _, _, fps in STREAMS:
        for tr in (False, True):
            raised = right = other = 0
            for i, (_name, span, *_r) in enumerate(clips):
                for f in found[(label, fps, tr, i)]:
                    if f[0] == "loop":
                        raised += 1
                        right += span is not None and f[1] < span[1] and span[0] < f[2]
                    elif span is None:
                        other += 1
            print(f"| {label} | {fps:g} | {'truncated' if tr else 'all'} | {raised} | {right} | "
                  f"{right / raised if raised else float('nan'):.2f} | {other} | {same[(label, fps)]}/{len(clips)} | "
                  f"{cpu[(label, fps, tr)]:.1f} |")
        for tr in (False, True):
            for i, (name, span, *_r) in enumerate(clips):
                for f in found[(label, fps, tr, i)]:
                    if f[0] == "loop" and not (span is not None and f[1] < span[1] and span[0] < f[2]):
                        print(f"false `loop` ({label}, {fps:g}/s, {'truncated' if tr else 'all'}): "
                              f"{f[1]:.1f}–{f[2]:.1f} s in a clip of \"{name}\"")


if __name__ == "__main__":
    main()
