"""The cost of the camera's clock (``junheng.supervision.osd``) on 720p footage.

A minute of 1280×720 H.264 at 25 fps (libx264 veryfast, CRF 23, a key frame every second, no
B-frames): a textured still room with sensor noise and the clock burned in at the top left the way
cameras draw it (the fixture's 3×5 font at 4× scale: characters 12×20 px), analysed by
``frame_statistics`` at 1 and 2 samples/s with the clock reader on and off (``frames.ClockReader``
replaced by one that keeps nothing), alternating, ``JUNHENG_BENCH_ROUNDS`` rounds (default 3):
process CPU seconds per minute of video, medians, and the clock's share.  Then the clock's own work
on recordings of 10 and 60 minutes (its search of earlier samples grows with the square of the
samples): the region's pixels of every sample, repeated from the minute, through ``clock_flags``.

    JUNHENG_BENCH_ROUNDS=3 .venv/bin/python benchmarks/run.py osd
"""

from __future__ import annotations

import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from _tests_module import load  # benchmarks/ is on the path

ROUNDS = int(os.environ.get("JUNHENG_BENCH_ROUNDS", "3"))


def _clip(path: Path, seconds: int = 60, fps: int = 25) -> Path:
    import cv2
    import numpy as np

    video = load("fixtures/video.py", "video_fixture")
    rng = np.random.default_rng(5)
    room = cv2.resize(rng.integers(60, 200, size=(18, 32)).astype(np.uint8), (1280, 720),
                      interpolation=cv2.INTER_NEAREST).astype(np.float32)
    proc = subprocess.Popen(["ffmpeg", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "gray", "-s", "1280x720",
                             "-r", str(fps), "-i", "-", "-c:v", "libx264", "-preset", "veryfast", "-crf", "23",
                             "-g", str(fps), "-keyint_min", str(fps), "-sc_threshold", "0", "-bf", "0",
                             "-pix_fmt", "yuv420p", str(path)], stdin=subprocess.PIPE)
    small = np.zeros((9, 80), np.uint8)
    for k in range(seconds * fps):
        frame = np.clip(room + rng.normal(0, 3, size=room.shape), 0, 255).astype(np.uint8)
        small[:] = 0
        video.draw_clock(small, 34260 + int(k / fps + 0.4))
        band = np.kron(small, np.ones((4, 4), np.uint8))
        ink = band > 0  # the band and the characters, 4× as large, at (16, 16)
        frame[16:16 + band.shape[0], 16:16 + band.shape[1]][ink] = band[ink]
        proc.stdin.write(frame.tobytes())
    proc.stdin.close()
    assert proc.wait() == 0
    return path


class _NoClock:
    def __init__(self, region=None) -> None:
        pass

    def __call__(self, t, grey) -> None:
        pass

    def crops(self):
        return None, None


def main() -> None:
    import numpy as np

    from junheng.supervision import FlagParameters, detect_flags, frame_statistics
    from junheng.supervision import frames as frame_module
    from junheng.supervision.osd import ClockReader, clock_flags

    with tempfile.TemporaryDirectory() as tmp:
        clip = _clip(Path(tmp) / "clock720.mp4")
        for fps in (1.0, 2.0):
            cpu: dict[bool, list[float]] = {True: [], False: []}
            stats = None
            for _ in range(ROUNDS):
                for on in (False, True):
                    frame_module.ClockReader = ClockReader if on else _NoClock
                    c0 = time.process_time()
                    got, info = frame_statistics(clip, fps)
                    flags = detect_flags(got)
                    cpu[on].append(time.process_time() - c0)
                    if on:
                        stats = got
            frame_module.ClockReader = ClockReader
            off, on = statistics.median(cpu[False]), statistics.median(cpu[True])
            print(f"720p, {fps:g} samples/s: CPU s per minute without the clock {off:.2f}, with {on:.2f} "
                  f"(rounds {[round(v, 2) for v in cpu[False]]} / {[round(v, 2) for v in cpu[True]]}); "
                  f"clock region {info.osd_region}, flags {flags['kind'].to_list()}")
            x = stats["osd"].to_numpy().reshape(stats.height, -1)
            t = stats["t_s"].to_numpy()
            for minutes in (1, 10, 60):
                xx = np.tile(x, (minutes, 1))  # the minute again and again: the search's cost, not its verdict
                tt = np.concatenate([t + 60 * r for r in range(minutes)])
                c0 = time.process_time()
                clock_flags(tt, xx, np.zeros(len(tt), bool), FlagParameters(), 1 / fps)
                print(f"  clock_flags over {minutes} min ({len(tt)} samples of {x.shape[1]} px): "
                      f"{time.process_time() - c0:.3f} CPU s")


if __name__ == "__main__":
    main()
