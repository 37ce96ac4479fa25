"""Does the face detector's runtime change the evidence? The int8 graph on OpenVINO (the default)
and on onnxruntime (the fallback), on the same pictures and clips (docs/methods/video-flags.md,
Speed, "OpenVINO made the default"):

* faces found of 24 pasted (Matplotlib's photograph, which the int8 graph was not calibrated on) in a
  1280×720 back row at 40–96 px, the seed the speed benchmark's face table uses and
  ``JUNHENG_BENCH_SEEDS`` (default 10) more; and a set of 1,008 faces (36–64 px, 6 backgrounds of random
  brightness, every face dimmed or brightened); detections off a pasted face counted apart;
* the people flags of drawn clips (``JUNHENG_BENCH_CLIPS``, default 6, seeds of each; 0: none):
  empty seats, an extra person and no event at 6 pupils, crowding / an extra adult / no proctor, and
  24 pupils in a 720p back row of 48 and 52 px faces with empty seats or no event — analysed by
  ``frame_statistics`` with a ``FaceCounter`` at 1 sample/s and the tests' short thresholds; recall and
  precision against the planted events, the flags compared clip by clip, the counts sample by sample.

Costly (≈ 3.5 CPU min a runtime with the clips). Determinism is checked by running it twice.

    JUNHENG_BENCH_CLIPS=6 python benchmarks/run.py face_runtimes
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from _tests_module import load  # benchmarks/ is on the path

SEEDS = int(os.environ.get("JUNHENG_BENCH_SEEDS", "10"))
CLIPS = int(os.environ.get("JUNHENG_BENCH_CLIPS", "6"))


def _row(photo, size, rng, gain=None, bg=150.0):
    """24 faces ``size`` px wide on a noisy 1280×720 background of brightness ``bg`` (each face times
    its ``gain``), and where each one is."""
    import cv2
    import numpy as np

    img = np.clip(rng.normal(bg, 6, (720, 1280, 3)), 0, 255)
    f = cv2.resize(photo, (size, round(photo.shape[0] * size / photo.shape[1])), interpolation=cv2.INTER_AREA)
    where = []
    for k in range(24):
        x, y = 60 + 150 * (k % 8), 80 + 200 * (k // 8)
        img[y:y + f.shape[0], x:x + f.shape[1]] = np.clip(f * (1.0 if gain is None else gain[k]), 0, 255)
        where.append((x, y, x + f.shape[1], y + f.shape[0]))
    return img.astype(np.uint8), where


def _score(found, where) -> tuple[int, int]:
    """Pasted faces with a detection centred on them, and detections on none."""
    on, off = set(), 0
    for x1, y1, x2, y2, _ in found:
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        hit = [k for k, (a, b, c, d) in enumerate(where) if a <= cx <= c and b <= cy <= d]
        on.update(hit[:1])
        off += not hit
    return len(on), off


def _back_clip(path, photo, schedule, size, seed):
    """720p MJPEG at 2 fps, the first n of 24 back-row seats filled (``schedule`` [(from_s, to_s, n)])."""
    import cv2
    import numpy as np

    rng = np.random.default_rng(seed)
    f = cv2.resize(photo, (size, round(photo.shape[0] * size / photo.shape[1])), interpolation=cv2.INTER_AREA)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 2, (1280, 720))
    for a, b, n in schedule:
        for _ in range(round((b - a) * 2)):
            img = np.clip(rng.normal(150, 5, (720, 1280, 3)), 0, 255).astype(np.uint8)
            for k in range(n):
                dy, dx = rng.integers(0, 5, 2)
                x, y = 60 + 150 * (k % 8) + dx, 80 + 200 * (k // 8) + dy
                img[y:y + f.shape[0], x:x + f.shape[1]] = f
            writer.write(img)
    writer.release()
    return path


def _clips(people, photo, tmp: Path) -> dict:
    """The drawn clips: name → (path, expected pupils, planted events [(kind, from_s, to_s)])."""
    import numpy as np

    clips = {}
    for seed in range(1, CLIPS + 1):
        r = np.random.default_rng(seed)
        a, d = int(r.integers(8, 16)), int(r.integers(8, 14))
        for name, schedule, truth in (("empty", [(0, a, 6), (a, a + d, 2), (a + d, 40, 6)], [("empty_seats", a, a + d)]),
                                      ("extra", [(0, a, 6), (a, a + d, 9), (a + d, 40, 6)], [("extra_person", a, a + d)]),
                                      ("none", [(0, 40, 6)], [])):
            clips[f"{name}-{seed}"] = (people.people_clip(tmp / f"{name}{seed}.avi", schedule, seed=seed), 6, truth)
        b = int(r.integers(12, 20))
        crowd = [(0, b, 6, 0, 1), (b, b + 20, 6, 2, 1), (b + 20, b + 40, 6, 0, 2), (b + 40, b + 60, 6, 0, 0)]
        clips[f"crowd-{seed}"] = (people.crowd_clip(tmp / f"crowd{seed}.avi", crowd, seed=seed), 0,
                                  [("crowding", b, b + 20), ("extra_adult", b + 20, b + 40), ("no_proctor", b + 40, b + 60)])
        for size in (48, 52):
            clips[f"back{size}-empty-{seed}"] = (_back_clip(tmp / f"back{seed}-{size}.avi", photo, [
                (0, a, 24), (a, a + d, 8), (a + d, 40, 24)], size, seed), 24, [("empty_seats", a, a + d)])
            clips[f"back{size}-none-{seed}"] = (_back_clip(tmp / f"backn{seed}-{size}.avi", photo, [(0, 40, 24)], size,
                                                           seed + 100), 24, [])
    return clips


def main() -> None:
    import numpy as np

    from junheng.supervision.frames import frame_statistics
    from junheng.supervision.people import (
        FaceCounter,
        FaceDetector,
        PeopleParameters,
        box_flags,
        openvino_installed,
        people_flags,
    )

    if not openvino_installed():
        print("openvino is not installed: nothing to compare")
        return
    people = load("fixtures/people.py", "people_fixture")
    photo = people.face_photo()
    runtimes = ("openvino", "onnxruntime")
    detectors = {rt: FaceDetector(precision="int8", runtime=rt) for rt in runtimes}
    print(", ".join(d.graph["runtime"] for d in detectors.values()))
    print("| set | faces | " + " | ".join(f"found by {rt} (off a face)" for rt in runtimes) + " | pictures counted differently |")
    print("|---|---:|" + "---:|" * len(runtimes) + "---|")
    sets = {f"back row {size} px": [_row(photo, size, np.random.default_rng(seed))
                                     for seed in [size, *range(1000, 1000 + SEEDS)]]
            for size in (40, 44, 48, 52, 56, 64, 80, 96)}
    rng = np.random.default_rng(77)
    for size in (36, 40, 44, 48, 52, 56, 64):
        sets[f"1,008-face set, {size} px"] = [_row(photo, size, rng, rng.uniform(0.6, 1.3, 24), float(rng.uniform(60, 200)))
                                              for _ in range(6)]
    for name, pictures in sets.items():
        scores = {rt: [_score(detectors[rt](img), where) for img, where in pictures] for rt in runtimes}
        more = sum(a[0] > b[0] for a, b in zip(*scores.values()))
        fewer = sum(a[0] < b[0] for a, b in zip(*scores.values()))
        print(f"| {name} | {24 * len(pictures)} | " + " | ".join(
            f"{sum(s[0] for s in scores[rt])} ({sum(s[1] for s in scores[rt])})" for rt in runtimes)
            + f" | {more} more, {fewer} fewer on OpenVINO |")
    if not CLIPS:
        return
    params = PeopleParameters(window_s=0, empty_min_s=5, extra_min_s=5, crowd_min_s=10, adult_min_s=10,
                              no_proctor_min_s=15)
    with tempfile.TemporaryDirectory() as tmp:
        clips = _clips(people, photo, Path(tmp))
        seen = {}
        for rt in runtimes:
            c0 = time.process_time()
            for name, (path, expected, _) in clips.items():
                counter = FaceCounter(detectors[rt])
                frame_statistics(path, fps=1.0, on_frame=counter)
                counts = counter.frame()
                flags = box_flags(counts, counter.boxes, params)
                if expected:
                    flags = people_flags(counts, expected, params).vstack(flags)
                seen[rt, name] = (counts["faces"].to_list(), flags.select("kind", "start_s", "end_s", "severity").rows())
            print(f"{rt}: {len(clips)} clips in {time.process_time() - c0:.1f} CPU s")
    print("| runtime | planted events found | flags on a planted event |")
    print("|---|---:|---:|")
    for rt in runtimes:
        found = right = planted = raised = 0
        for name, (_, _, truth) in clips.items():
            flags = seen[rt, name][1]
            planted, raised = planted + len(truth), raised + len(flags)
            found += sum(any(f[0] == t[0] and f[1] < t[2] and t[1] < f[2] for f in flags) for t in truth)
            right += sum(any(f[0] == t[0] and f[1] < t[2] and t[1] < f[2] for t in truth) for f in flags)
        print(f"| {rt} | {found}/{planted} | {right}/{raised} |")
    same_flags = sum(seen["openvino", n][1] == seen["onnxruntime", n][1] for n in clips)
    a = [x for n in clips for x in seen["openvino", n][0]]
    b = [x for n in clips for x in seen["onnxruntime", n][0]]
    print(f"the same flags (kind, start, end, severity) in {same_flags} of {len(clips)} clips; counts differ at "
          f"{sum(x != y for x, y in zip(a, b))} of {len(a)} samples (OpenVINO more at {sum(x > y for x, y in zip(a, b))}); "
          f"faces counted {sum(a)} on OpenVINO, {sum(b)} on onnxruntime")
