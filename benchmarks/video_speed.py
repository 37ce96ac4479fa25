"""The analysis's speed at 720p with people detection (issue 16: ≥ 20× real time per core at
1–2 samples per second).  ``JUNHENG_BENCH_SECONDS`` (default 60) seconds of 1280×720 at 25 fps,
H.264 (libx264, ffmpeg), drawn from tests/fixtures/people.py (12 faces of Matplotlib's Grace
Hopper photograph, each jittered every frame, sensor noise) on a still room of grey blocks (walls,
desks: until 7 December 2026 08:59 UTC the room was flat grey, so the alignment's features lay only
on the 12 identical, independently jittered faces and its RANSAC ran to its 2,000-iteration cap,
≈ 12 ms a sample, whenever the sample was not the reference's twin — which depended on which of the
25 cycled frames the decoder's skipping landed on: with key frames every second always the same
one, with key frames 2 s apart every other one), encoded twice: a camera-like stream
with a key frame every second and no B-frames, and one with a key frame every 2 s and B-frames.

Each file is analysed by ``analyse_video`` with a ``FaceCounter`` in the same pass, all in the same
run:

* the old path: OpenCV decoding every frame at full size, the detector's graph as shipped at 640 px;
* the old default (until 7 December 2026): ffmpeg decoding (key frames only when they come at least
  once per sample period; else non-reference frames and the de-blocking filter skipped), the frame
  scaled inside ffmpeg to the detector's width, the float graph with weights folded
  (``people._graph``) at 640 px;
* the default: the same with the graph quantised to int8 (``people._int8_graph``: static, calibrated
  on drawn faces — never on the photograph judged here) at 768 px, where it finds at least as many
  small faces as the float graph at 640 px (face table below), on OpenVINO (the default runtime of the
  int8 graph where ``openvino`` is installed); the same graph on onnxruntime (the fallback,
  ``JUNHENG_FACE_RUNTIME=onnxruntime``); int8 at 640 px for comparison;
* the default at 2 picture samples per second: the detector once per second (``FaceCounter``'s
  default ``period_s=1``), and on every sample (``period_s=0``);
* no detector at all (a callback that only takes the 768 px frame): what decoding and the picture
  statistics alone cost, the floor under every detector.
* the default detector with the opt-in region of interest (``FaceCounter(full_every=10)``: only the
  part round the faces seen so far is searched between whole searches).

The int8 graph is built (or read from the cache) before the clock starts, and every detector is
run once on a blank 1280×720 picture before it (OpenVINO compiles its graph for a shape at its first
picture, ≈ 0.6 CPU s once per process, as onnxruntime's session is made when the detector is).  The run ends with the detectors alone: CPU
milliseconds a picture of onnxruntime and OpenVINO on the same 768×448 pictures, alternating picture
by picture (the machine is shared), and the faces each finds of 24 pasted, by face width.

Per minute of video (a test session's recording is an hour; the clip is a minute): the old default,
the default at 1 and 2 samples/s and the no-detector row are also run on a ``JUNHENG_BENCH_LONG`` s
clip (default 180; 0: not) of the same stream, alternating with the short one ``JUNHENG_BENCH_ROUNDS``
times (default 3; the table's run is the short clip's first); the medians give the CPU a further minute
costs ((long − short) ÷ the minutes between them: the steady state an hour-long recording sees) and what
is paid once a file (the short clip's CPU less its minutes at that rate).  Then the once-a-file parts
measured alone: ffprobe's packet list, ffmpeg's start-up, a fresh Python's imports, the detector's session.

``JUNHENG_BENCH_DECODING=1``: only the A/B of decoding each group of pictures whole or up to its
last sample (``frames.TRUNCATE_GROUPS``) — the default and no-detector rows at 1 and 2 samples/s on
both streams, each pair run back to back ``JUNHENG_BENCH_ROUNDS`` times (default 3), the medians
printed (the machine is shared: A and B in the same minute).

``JUNHENG_BENCH_RUNTIMES=1``: only the whole analysis on OpenVINO against onnxruntime, both streams at
1 and 2 samples/s, a new counter and detector for each analysis (as the platform makes one per
recording), the runtimes back to back ``JUNHENG_BENCH_ROUNDS`` times (medians, and whether their face
counts agreed at every sample).

``JUNHENG_BENCH_REGION=1``: only the region of interest against the whole picture at every sample,
alternating ``JUNHENG_BENCH_ROUNDS`` times, on the benchmark's room (whose 25 cycled pictures make
every 1 s sample the same picture) and on a room filmed from near the ceiling (faces in a band, a new
picture at every sample); each room's share of samples a difference detector could skip; and the
faces found of 24 in a band, whole picture against the region, at three margins (does the region
change what the network finds?).

The real-time factor per core is the video's seconds ÷ the CPU seconds spent (this process and
its ffmpeg/ffprobe children: user + system), so a loaded machine does not flatter or hurt it much; the
wall-clock factor is printed too.  Faces found per sample are printed against the 12 drawn.

    .venv/bin/python benchmarks/run.py video_speed
"""

from __future__ import annotations

import os
import resource
import subprocess
import tempfile
import time
from importlib.util import find_spec
from pathlib import Path

from _tests_module import load  # benchmarks/ is on the path

SECONDS = int(os.environ.get("JUNHENG_BENCH_SECONDS", "60"))
LONG = int(os.environ.get("JUNHENG_BENCH_LONG", "180"))  # the longer clip of the per-minute rows; 0: none
ROUNDS = int(os.environ.get("JUNHENG_BENCH_ROUNDS", "3"))  # the alternating runs of each A/B


def _cpu() -> float:
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def _encode(path: Path, frames, gop: int, bframes: int, seconds: int = SECONDS) -> None:
    proc = subprocess.Popen(["ffmpeg", "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt", "bgr24", "-s", "1280x720",
                             "-r", "25", "-i", "pipe:0", "-c:v", "libx264", "-preset", "veryfast", "-crf", "23",
                             "-g", str(gop), "-keyint_min", str(gop), "-sc_threshold", "0", "-bf", str(bframes),
                             "-pix_fmt", "yuv420p", str(path)], stdin=subprocess.PIPE)
    for k in range(seconds * 25):
        proc.stdin.write(frames[(k * 7) % len(frames)].tobytes())
    proc.stdin.close()
    assert proc.wait() == 0


def main() -> None:
    import cv2
    import numpy as np

    from junheng.supervision import FaceCounter, FaceDetector, analyse_video

    people = load("fixtures/people.py", "people_fixture")
    rng = np.random.default_rng(2026)
    face = people.face_photo()
    room = np.kron(rng.integers(60, 200, size=(9, 16)), np.ones((40, 40))).astype(np.float32)  # walls, desks, boards
    frames = [cv2.resize(_room_frame(people, room, rng, face), (1280, 720)) for _ in range(25)]
    runs = []
    margins: dict[tuple, tuple] = {}
    decoding = bool(os.environ.get("JUNHENG_BENCH_DECODING"))
    with tempfile.TemporaryDirectory() as tmp:
        files = {"key frame every 1 s, no B-frames": Path(tmp) / "cam1s.mp4",
                 "key frame every 2 s, B-frames": Path(tmp) / "cam2s.mp4"}
        _encode(files["key frame every 1 s, no B-frames"], frames, 25, 0)
        _encode(files["key frame every 2 s, B-frames"], frames, 50, 2)
        print(f"{SECONDS} s of 1280×720 H.264 at 25 fps, 12 faces drawn; CPU = this process + ffmpeg children; "
              f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        if decoding:
            _decoding_ab(files)
            return
        if os.environ.get("JUNHENG_BENCH_REGION"):
            _region_ab(files["key frame every 1 s, no B-frames"], people, face, tmp)
            return
        if os.environ.get("JUNHENG_BENCH_RUNTIMES"):
            _runtime_ab(files)
            return
        long_files = {}
        if LONG > SECONDS:
            long_files = {label: path.with_name(f"{path.stem}_{LONG}s.mp4") for label, path in files.items()}
            _encode(long_files["key frame every 1 s, no B-frames"], frames, 25, 0, LONG)
            _encode(long_files["key frame every 2 s, B-frames"], frames, 50, 2, LONG)
        print("| stream | path | picture samples/s | detector input | CPU s | × real time per core | wall × | faces min/median |")
        print("|---|---|---:|---:|---:|---:|---:|---|")
        for label, path in files.items():
            for name, decoder, width, fps, every, fold, precision, runtime in (
                    ("old path (OpenCV, every frame, graph as shipped)", "opencv", 640, 1.0, 0.0, False, "float", "auto"),
                    (OLD, "ffmpeg", 640, 1.0, 0.0, True, "float", "auto"),
                    (NEW, "ffmpeg", 768, 1.0, 0.0, True, "int8", "auto"),
                    (REGION, "ffmpeg", 768, 1.0, 0.0, True, "int8", "auto"),
                    (OV, "ffmpeg", 768, 1.0, 0.0, True, "int8", "onnxruntime"),
                    ("ffmpeg, int8 at 640 px", "ffmpeg", 640, 1.0, 0.0, True, "int8", "auto"),
                    (NEW + ", faces 1/s", "ffmpeg", 768, 2.0, 1.0, True, "int8", "auto"),
                    (OV + ", faces 1/s", "ffmpeg", 768, 2.0, 1.0, True, "int8", "onnxruntime"),
                    ("int8, 768 px, faces on every sample", "ffmpeg", 768, 2.0, 0.0, True, "int8", "auto"),
                    (NONE, "ffmpeg", 768, 1.0, 0.0, True, None, None)):
                if name.startswith(OV.split("{runtime}")[0]) and not OPENVINO:
                    continue  # without openvino the default rows are onnxruntime's already
                if precision is None:
                    counter = _Frames(width)
                else:
                    detector = FaceDetector(input_width=width, threshold=0.4, fold_weights=fold, precision=precision,
                                            runtime=runtime)
                    detector(np.zeros((720, 1280, 3), np.uint8))  # OpenVINO compiles for the shape: not timed
                    counter = FaceCounter(detector, period_s=every, full_every=10 if name == REGION else 1)
                    name = name.replace("{runtime}", detector.graph["runtime"])
                c0, t0 = _cpu(), time.perf_counter()
                _, info = analyse_video(path, fps, on_frame=counter, decoder=decoder)
                cpu, wall = _cpu() - c0, time.perf_counter() - t0
                faces = counter.frame()["faces"].to_numpy() if precision else None
                if label in long_files and fps in MARGINAL.get(name, ()):
                    margins[(label, name, fps)] = _per_minute(long_files[label], path, fps, counter, decoder, cpu)
                runs.append((label, name, fps, SECONDS / cpu, cpu))
                seen = f"{faces.min()}/{np.median(faces):g}" if faces is not None else "–"
                print(f"| {label} | {name} | {fps:g} | {width} | {cpu:.2f} | {SECONDS / cpu:.1f} | {SECONDS / wall:.1f} | "
                      f"{seen} |")
        for label in files:
            rate = {(r[1], r[2]): r for r in runs if r[0] == label}
            floor = rate[(NONE, 1.0)]
            new, old, region = rate[(NEW, 1.0)], rate[(OLD, 1.0)], rate[(REGION, 1.0)]
            on_ov = next((r for (n, f), r in rate.items() if n.startswith(OV.split("{runtime}")[0]) and f == 1.0), None)
            print(f"{label}, 1 sample/s: the default is {new[3] / old[3]:.2f}× the old default's speed (same run); "
                  f"detector {new[4] - floor[4]:.2f} (with the opt-in region of interest {region[4] - floor[4]:.2f}) "
                  f"against {old[4] - floor[4]:.2f} CPU s, decoding and picture "
                  f"statistics {floor[4]:.2f} CPU s (alone {floor[3]:.1f}× real time)"
                  + (f"; on onnxruntime (the fallback) {on_ov[3] / new[3]:.2f}× the default's speed, detector "
                     f"{on_ov[4] - floor[4]:.2f} CPU s" if on_ov else ""))
        if margins:
            _print_margins(margins, files, long_files)
    _runtimes(frames)
    _smallest_faces(people.face_photo())


def _decoding_ab(files: dict) -> None:
    """Each group of pictures decoded whole or only up to its last sample, back to back (module
    docstring, ``JUNHENG_BENCH_DECODING``): median CPU s of each path and their ratio."""
    import numpy as np

    from junheng.supervision import FaceCounter, FaceDetector, analyse_video
    from junheng.supervision import frames as frame_module

    print("| stream | path | picture samples/s | groups decoded | CPU s (median) | × real time per core | runs |")
    print("|---|---|---:|---|---:|---:|---|")
    default = frame_module.TRUNCATE_GROUPS, frame_module.TRUNCATE_WITH_B_FRAMES
    frame_module.TRUNCATE_WITH_B_FRAMES = True  # measured with B-frames too (off by default)
    try:
        for label, path in files.items():
            for name, fps, every, detector in ((NEW, 1.0, 0.0, True), (NEW + ", faces 1/s", 2.0, 1.0, True),
                                               (NONE, 1.0, 0.0, False), (NONE + ", 2/s", 2.0, 0.0, False)):
                cpu: dict[bool, list[float]] = {False: [], True: []}
                for k in range(ROUNDS):
                    for truncate in ((False, True) if k % 2 == 0 else (True, False)):
                        frame_module.TRUNCATE_GROUPS = truncate
                        counter = FaceCounter(FaceDetector(input_width=768, threshold=0.4, precision="int8"),
                                              period_s=every) if detector else _Frames(768)
                        c0 = _cpu()
                        analyse_video(path, fps, on_frame=counter, decoder="ffmpeg")
                        cpu[truncate].append(_cpu() - c0)
                for truncate in (False, True):
                    med = float(np.median(cpu[truncate]))
                    print(f"| {label} | {name} | {fps:g} | {'up to the last sample' if truncate else 'whole'} | "
                          f"{med:.2f} | {SECONDS / med:.1f} | {', '.join(f'{c:.2f}' for c in cpu[truncate])} |")
                print(f"| {label} | {name} | {fps:g} | truncated ÷ whole | "
                      f"{np.median(cpu[True]) / np.median(cpu[False]):.2f} | | |")
    finally:
        frame_module.TRUNCATE_GROUPS, frame_module.TRUNCATE_WITH_B_FRAMES = default


def _runtime_ab(files: dict) -> None:
    """The whole analysis with the int8 detector on OpenVINO (the default) and on onnxruntime (the
    fallback, ``JUNHENG_FACE_RUNTIME=onnxruntime``), both streams at 1 and 2 samples/s (faces once a
    second), the two runtimes back to back (which goes first alternating) ``JUNHENG_BENCH_ROUNDS``
    times; each analysis builds its own ``FaceCounter`` and detector, as the platform does for every
    recording (OpenVINO's compilation, once per process, is paid before the clock starts). Median CPU s
    of 60 s, the faces each found, and whether the two runtimes' counts were equal at every sample."""
    import numpy as np

    from junheng.supervision import FaceCounter, FaceDetector, analyse_video

    if not OPENVINO:
        print("OpenVINO is not installed: no runtime A/B")
        return
    for runtime in ("openvino", "onnxruntime"):
        FaceDetector(precision="int8", runtime=runtime)(np.zeros((720, 1280, 3), np.uint8))
    print(f"\nthe runtimes A/B: CPU s of {SECONDS} s, {ROUNDS} rounds, medians; load average {os.getloadavg()[0]:.1f}")
    print("| stream | picture samples/s | OpenVINO | onnxruntime | onnxruntime ÷ OpenVINO | counts alike | runs (OpenVINO; onnxruntime) |")
    print("|---|---:|---:|---:|---:|---|---|")
    for label, path in files.items():
        for fps in (1.0, 2.0):
            cpu = {"openvino": [], "onnxruntime": []}
            counts = {}
            for k in range(ROUNDS):
                for runtime in (("openvino", "onnxruntime") if k % 2 == 0 else ("onnxruntime", "openvino")):
                    c0 = _cpu()
                    counter = FaceCounter(FaceDetector(precision="int8", runtime=runtime))
                    analyse_video(path, fps, on_frame=counter)
                    cpu[runtime].append(_cpu() - c0)
                    counts.setdefault(runtime, counter.frame()["faces"].to_list())
            ov, ort = (float(np.median(cpu[r])) for r in ("openvino", "onnxruntime"))
            alike = "yes" if counts["openvino"] == counts["onnxruntime"] else "no"
            runs = "; ".join(", ".join(f"{c:.2f}" for c in cpu[r]) for r in ("openvino", "onnxruntime"))
            print(f"| {label} | {fps:g} | {ov:.2f} ({SECONDS / ov:.1f}×) | {ort:.2f} ({SECONDS / ort:.1f}×) | "
                  f"{ort / ov:.2f} | {alike} | {runs} |")


def _ceiling_frame(people, room, rng, faces):
    """A 640×360 BGR frame of a room filmed from near the ceiling at the front: the back wall and
    the board above the back row (the top 100 rows), three rows of four pupils whose faces grow
    towards the camera (40, 48 and 58 px wide at 640 px: 80, 96 and 116 px at 720p), desks and the
    floor near the camera below them (the bottom 90 rows), no face outside that band; the still room
    of ``room``, each face jittered by up to 4 px, sensor noise."""
    import numpy as np

    frame = np.repeat(room[:, :, None], 3, axis=2) + rng.normal(0, 4, (*room.shape, 3))
    frame = frame.clip(0, 255).astype(np.uint8)
    for row, (y, face) in enumerate(zip((105, 150, 205), faces)):
        fh, fw = face.shape[:2]
        for k in range(4):
            x = 60 + 150 * k + 20 * row
            dy, dx = rng.integers(0, 5, size=2)
            frame[y + dy:y + dy + fh, x + dx:x + dx + fw] = face
    return frame


def _region_ab(path: Path, people, face, tmp: str) -> None:
    """The region of interest against the whole picture at every sample (``FaceCounter(full_every=10)``
    against ``full_every=1``), alternating, ``JUNHENG_BENCH_ROUNDS`` rounds (default 3), on the
    benchmark's room and on a room filmed from near the ceiling (:func:`_ceiling_frame`), each 60 s,
    a key frame every second, 1 sample/s: median CPU s of the whole analysis, the share of the picture
    searched and whether the two gave the same count at every sample."""
    import cv2
    import numpy as np

    from junheng.supervision import FaceCounter, FaceDetector, analyse_video
    from junheng.supervision.people import CHANGE_GREY

    rng = np.random.default_rng(7)
    room = np.kron(rng.integers(60, 200, size=(9, 16)), np.ones((40, 40))).astype(np.float32)
    faces = [cv2.resize(face, (w, round(face.shape[0] * w / face.shape[1])), interpolation=cv2.INTER_AREA)
             for w in (40, 48, 58)]
    ceiling = Path(tmp) / "ceiling.mp4"
    # 24 pictures, not 25: at one sample a second the samples are different pictures (fresh noise and
    # jitter), where the benchmark's room, 25 pictures cycled, shows the same picture at every sample
    _encode(ceiling, [cv2.resize(_ceiling_frame(people, room, rng, faces), (1280, 720)) for _ in range(24)], 25, 0)
    detector = FaceDetector(input_width=768, threshold=0.4, precision="int8", runtime="onnxruntime")
    print("| room | faces searched | CPU s (median) | × real time per core | runs | share searched (mean) | "
          "largest change outside the part (grey levels) | faces min/median | samples counted alike |")
    print("|---|---|---:|---:|---|---:|---:|---|---|")
    for room_name, clip in (("the benchmark's room (faces from the top rows; the same picture at every sample)", path),
                            ("room filmed from near the ceiling (a new picture at every sample)", ceiling)):
        cpu: dict[int, list[float]] = {1: [], 10: []}
        counts: dict[int, list[int]] = {}
        searched: dict[int, float] = {}
        changed: dict[int, str] = {}
        still = _Still()
        for k in range(ROUNDS):
            for every in ((1, 10) if k % 2 == 0 else (10, 1)):
                counter = FaceCounter(detector, full_every=every)
                c0 = _cpu()
                analyse_video(clip, 1.0, on_frame=counter, decoder="ffmpeg")
                cpu[every].append(_cpu() - c0)
                if k == 0 and every == 1:
                    analyse_video(clip, 1.0, on_frame=still, decoder="ffmpeg")  # not timed
                counts[every], searched[every] = counter.counts, float(np.mean(counter.searched))
                changed[every] = f"{max(counter.changed):.2f}" if counter.changed else "–"
        same = sum(a == b for a, b in zip(counts[1], counts[10]))
        for every in (1, 10):
            med = float(np.median(cpu[every]))
            name = "whole picture at every sample" if every == 1 else "**region**, whole every 10th sample"
            print(f"| {room_name} | {name} | {med:.2f} | {SECONDS / med:.1f} | "
                  f"{', '.join(f'{c:.2f}' for c in cpu[every])} | {searched[every]:.2f} | {changed[every]} | "
                  f"{min(counts[every])}/{np.median(counts[every]):g} | {same}/{len(counts[1])} |")
        print(f"| {room_name} | region ÷ whole | {np.median(cpu[10]) / np.median(cpu[1]):.2f} | | | | | | |")
        print(f"| {room_name} | difference detector: samples whose every 32 px tile changed ≤ "
              f"{CHANGE_GREY:g} grey levels since the last sample (the network could be skipped) | "
              f"{sum(m <= CHANGE_GREY for m in still.largest)} of {len(still.largest)} | | | | "
              f"largest tile change: median {np.median(still.largest):.1f} | | |")
    _region_faces(detector, face)


class _Still:
    """A frame callback measuring a difference detector (NoScope's idea): for each sample, the
    largest mean absolute change of a 32 × 32 tile since the previous sample (the quarter-size grey
    picture, as ``FaceCounter``'s change trigger)."""

    width = 768

    def __init__(self) -> None:
        self.largest: list[float] = []
        self._last = None

    def __call__(self, t: float, frame) -> None:
        from junheng.supervision.people import FaceCounter

        quarter = FaceCounter._quarter(frame)
        if self._last is not None:
            self.largest.append(float(FaceCounter.tile_changes(quarter, self._last).max()))
        self._last = quarter


def _region_faces(detector, face, draws: int = 10) -> None:
    """Does the region change what the network finds?  24 faces of one width in two rows of twelve
    (y 260 and 390 of a 1280×720 frame: a band, so the region is a part of the picture), ``draws``
    noise draws; faces found by the whole search and by ``FaceCounter(full_every=10)`` (the first
    draw searched whole, the rest in the part) on the same pictures, for three margins."""
    import cv2
    import numpy as np

    from junheng.supervision import FaceCounter

    print(f"\nfaces found of 24 × {draws - 1} pictures, whole picture against the region (the first picture of "
          "each run, searched whole, left out)")
    print("| margin (input px) | face width (720p px) | whole | region | pictures counted differently | "
          "share searched |")
    print("|---:|---:|---:|---:|---:|---:|")
    rng = np.random.default_rng(5)
    for margin in (32, 64, 128):
        for width in (44, 48, 56, 64):
            f = cv2.resize(face, (width, round(face.shape[0] * width / face.shape[1])), interpolation=cv2.INTER_AREA)
            counter = FaceCounter(detector, period_s=0, full_every=10, margin=margin)
            whole = []
            for k in range(draws):
                img = np.clip(rng.normal(150, 6, (720, 1280, 3)), 0, 255).astype(np.uint8)
                for j in range(24):
                    x, y = 40 + 100 * (j % 12), 260 + 130 * (j // 12)
                    img[y:y + f.shape[0], x:x + f.shape[1]] = f
                img = cv2.resize(img, (768, 432), interpolation=cv2.INTER_AREA)
                whole.append(len(detector(img)))
                counter(float(k), img)
            differ = sum(a != b for a, b in zip(whole[1:], counter.counts[1:]))
            print(f"| {margin} | {width} | {sum(whole[1:])} | {sum(counter.counts[1:])} | {differ} | "
                  f"{np.mean(counter.searched[1:]):.2f} |")


def _per_minute(long_path: Path, short_path: Path, fps: float, counter, decoder: str, first: float) -> tuple:
    """The same row on the ``LONG`` s clip and again on the ``SECONDS`` s one, alternating
    ``JUNHENG_BENCH_ROUNDS`` times (default 3; the table's run is the short clip's first): the median
    CPU s of each length.  The difference ÷ the minutes between them is the CPU a further minute of
    video costs (what an hour-long recording pays a minute); the short clip's CPU less its minutes at
    that rate is what is paid once per file."""
    import numpy as np

    from junheng.supervision import FaceCounter, analyse_video

    cpu = {"short": [first], "long": []}
    for k in range(ROUNDS):
        for which in (("long", "short") if k % 2 == 0 else ("short", "long")):
            if which == "short" and len(cpu["short"]) > k:
                continue
            fresh = FaceCounter(counter.detector, period_s=counter.period_s) if isinstance(counter, FaceCounter) \
                else counter
            c0 = _cpu()
            analyse_video(long_path if which == "long" else short_path, fps, on_frame=fresh, decoder=decoder)
            cpu[which].append(_cpu() - c0)
    short, long = float(np.median(cpu["short"])), float(np.median(cpu["long"]))
    minute = (long - short) / ((LONG - SECONDS) / 60)
    return short, long, minute, short - minute * SECONDS / 60, cpu


def _fixed_parts(files: dict, long_files: dict) -> None:
    """What a file pays once, measured alone (CPU s of the child process): ffprobe's packet listing
    of each length, ffmpeg's start-up (libraries, opening the file, one frame decoded), Python's
    set-up (a fresh interpreter importing the analysis, OpenCV, Polars and onnxruntime), the
    detector's session."""
    import sys

    from junheng.supervision import FaceDetector
    from junheng.supervision.frames import _probe

    def child(cmd: list[str]) -> float:
        c0 = _cpu()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return _cpu() - c0

    label = "key frame every 2 s, B-frames"
    probe = []
    for path in (files[label], long_files[label]):
        c0 = _cpu()
        _probe(path)
        probe.append(_cpu() - c0)
    start = child(["ffmpeg", "-nostdin", "-v", "error", "-threads", "1", "-i", str(files[label]), "-frames:v", "1",
                   "-f", "null", "-"])
    python = child([sys.executable, "-c", "import cv2, polars, onnxruntime, junheng.supervision"])
    c0 = time.process_time()
    detector = FaceDetector(input_width=768, threshold=0.4, precision="int8")
    made = time.process_time() - c0
    import numpy as np

    c0 = time.process_time()
    detector(np.zeros((432, 768, 3), np.uint8))
    first = time.process_time() - c0
    c0 = time.process_time()
    detector(np.zeros((432, 768, 3), np.uint8))
    second = time.process_time() - c0
    print(f"paid once a file, measured alone (CPU s): ffprobe's packet list {probe[0]:.3f} ({SECONDS} s) and "
          f"{probe[1]:.3f} ({LONG} s); ffmpeg start-up with one frame decoded {start:.3f}; Python set-up (a fresh "
          f"interpreter importing the analysis) {python:.2f}; the int8 detector's session {made:.3f} (graph cached), "
          f"its first picture {first:.3f} against {second:.3f} for the next")


def _print_margins(margins: dict, files: dict, long_files: dict) -> None:
    print(f"\nper minute of video: the same rows on {SECONDS} s and {LONG} s clips of the same stream, alternating, "
          f"{ROUNDS} runs of each (medians); a further minute costs (CPU {LONG} s − CPU {SECONDS} s) ÷ "
          f"{(LONG - SECONDS) / 60:g} min, paid once a file = CPU {SECONDS} s − {SECONDS / 60:g} min × that")
    print(f"| stream | path | picture samples/s | CPU s, {SECONDS} s (× real time) | CPU s, {LONG} s | CPU s a further "
          "minute | × real time per core at the margin | paid once a file, CPU s | runs |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---|")
    for (label, name, fps), (short, long, minute, once, cpu) in margins.items():
        runs = "; ".join(f"{k}: " + ", ".join(f"{c:.2f}" for c in v) for k, v in cpu.items())
        print(f"| {label} | {name} | {fps:g} | {short:.2f} ({SECONDS / short:.1f}×) | {long:.2f} | {minute:.2f} | "
              f"**{60 / minute:.1f}** | {once:.2f} | {runs} |")
    for label in files:
        new, old = margins.get((label, NEW, 1.0)), margins.get((label, OLD, 1.0))
        if new and old:
            print(f"{label}, 1 sample/s, at the margin: the default is {old[2] / new[2]:.2f}× the old default's speed "
                  f"(same run; {new[2]:.2f} against {old[2]:.2f} CPU s a minute)")
    _fixed_parts(files, long_files)


OLD = "old default (ffmpeg, float, 640 px)"
NEW = "**default** (ffmpeg, int8, 768 px)"
REGION = "int8, 768 px, region of interest (opt-in: FaceCounter(full_every=10))"
OV = "int8, 768 px on {runtime} (the fallback, JUNHENG_FACE_RUNTIME=onnxruntime)"
OPENVINO = find_spec("openvino") is not None


def _runtimes(frames, rounds: int = int(os.environ.get("JUNHENG_BENCH_PICTURES", "100"))) -> None:
    """The int8 detector alone on each runtime: CPU ms a picture (this process), the benchmark's
    25 room pictures in turn, shrunk to 768×432 first as ffmpeg hands them over (the rows above),
    onnxruntime and OpenVINO alternating picture by picture (which goes first alternating too), after
    3 pictures each of warming up."""
    import cv2
    import numpy as np

    from junheng.supervision import FaceDetector

    if not OPENVINO:
        print("\nOpenVINO is not installed: no runtime comparison")
        return
    frames = [cv2.resize(frame, (768, 432), interpolation=cv2.INTER_AREA) for frame in frames]
    detectors = {name: FaceDetector(precision="int8", runtime=name) for name in ("onnxruntime", "openvino")}
    spent = {name: [] for name in detectors}
    for detector in detectors.values():
        for frame in frames[:3]:
            detector(frame)
    for k in range(rounds):
        for name in (("onnxruntime", "openvino") if k % 2 == 0 else ("openvino", "onnxruntime")):
            c0 = time.process_time()
            detectors[name](frames[k % len(frames)])
            spent[name].append(time.process_time() - c0)
    ms = {name: 1000 * float(np.mean(t)) for name, t in spent.items()}
    print(f"\nthe int8 detector alone, {rounds} pictures of 768×432 each, alternating (CPU ms a picture, "
          f"load average {os.getloadavg()[0]:.1f}):")
    print("| runtime | CPU ms a picture (mean) | median | speed against onnxruntime |")
    print("|---|---:|---:|---:|")
    for name, detector in detectors.items():
        print(f"| {detector.graph['runtime']} | {ms[name]:.2f} | {1000 * float(np.median(spent[name])):.2f} | "
              f"{ms['onnxruntime'] / ms[name]:.2f}× |")
NONE = "no detector (decoding + picture statistics)"
MARGINAL = {OLD: (1.0,), NEW: (1.0,), NEW + ", faces 1/s": (2.0,), NONE: (1.0,)}  # rows also run on the long clip


def _room_frame(people, room, rng, face):
    """A 640×360 BGR frame: the room's still blocks (what a camera's alignment holds on to), the 12
    faces at the first seats each jittered by up to 4 px (as ``people.room_frame``), sensor noise."""
    import numpy as np

    frame = np.repeat(room[:, :, None], 3, axis=2) + rng.normal(0, 4, (*room.shape, 3))
    frame = frame.clip(0, 255).astype(np.uint8)
    fh, fw = face.shape[:2]
    for y, x in people.SEATS[:12]:
        dy, dx = rng.integers(0, 5, size=2)
        frame[y + dy:y + dy + fh, x + dx:x + dx + fw] = face
    return frame


class _Frames:
    """A frame callback that only takes the frame (as wide as a detector would get it)."""

    def __init__(self, width: int) -> None:
        self.width = width

    def __call__(self, t: float, frame) -> None:
        return None


def _smallest_faces(face) -> None:
    """How small a face each detector width and precision still finds: the photograph pasted 24 times
    at each width (pixels of a 1280×720 frame) on a flat noisy background."""
    import cv2
    import numpy as np

    from junheng.supervision import FaceDetector

    rng = np.random.default_rng(5)
    sizes = (40, 48, 56, 64, 80, 96)
    print("\nfaces found of 24 pasted, by face width in a 1280×720 frame (threshold 0.4)")
    print("| detector input | weights | " + " | ".join(f"{s} px" for s in sizes) + " |")
    print("|---:|---|" + "---:|" * len(sizes))
    frames = []
    for s in sizes:
        img = np.clip(rng.normal(150, 6, (720, 1280, 3)), 0, 255).astype(np.uint8)
        f = cv2.resize(face, (s, round(face.shape[0] * s / face.shape[1])), interpolation=cv2.INTER_AREA)
        for k in range(24):
            x, y = 60 + 150 * (k % 8), 80 + 200 * (k // 8)
            img[y:y + f.shape[0], x:x + f.shape[1]] = f
        frames.append(img)
    for width in (640, 768):
        for precision, runtime in (("float", "onnxruntime"), ("int8", "onnxruntime"), ("int8", "openvino")):
            if runtime == "openvino" and not OPENVINO:
                continue
            detector = FaceDetector(input_width=width, threshold=0.4, precision=precision, runtime=runtime)
            print(f"| {width} | {precision}, {runtime} | " + " | ".join(str(len(detector(img))) for img in frames) + " |")

if __name__ == "__main__":
    main()
