"""People counting speed at 720p: ``JUNHENG_BENCH_SECONDS`` (default 30) seconds of 1280×720 at
25 fps (MPEG-4 part 2, OpenCV's writer) drawn from tests/fixtures/people.py (12 faces of Matplotlib's
Grace Hopper photograph, scaled up), analysed by ``count_faces`` at 1 and 2 samples per second with
the detector's input 640 and 320 pixels wide.  The baseline in the same run is decoding the file
alone (every frame ``grab``-bed, the floor of any analysis).  Prints seconds, × real time, and the
faces found (12 expected in every sample).

    .venv/bin/python benchmarks/run.py people
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from _tests_module import load  # benchmarks/ is on the path

SECONDS = int(os.environ.get("JUNHENG_BENCH_SECONDS", "30"))


def main() -> None:
    import cv2
    import numpy as np

    from junheng.supervision.people import FaceDetector, count_faces

    people = load("fixtures/people.py", "people_fixture")
    rng = np.random.default_rng(2026)
    face = people.face_photo()
    frames = [cv2.resize(people.room_frame(12, rng, face), (1280, 720)) for _ in range(25)]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "room720.mp4"
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 25, (1280, 720))
        for k in range(SECONDS * 25):
            writer.write(frames[(k * 7) % 25])
        writer.release()
        t0 = time.perf_counter()
        cap = cv2.VideoCapture(str(path))
        n = 0
        while cap.grab():
            n += 1
        cap.release()
        decode = time.perf_counter() - t0
        print(f"decode only: {n} frames of 1280×720 in {decode:.2f} s = {SECONDS / decode:.1f}× real time")
        for width in (640, 320):
            detector = FaceDetector(input_width=width)
            for fps in (1.0, 2.0):
                t0 = time.perf_counter()
                counts, _ = count_faces(path, fps, detector=detector)
                took = time.perf_counter() - t0
                faces = counts["faces"].to_numpy()
                print(f"count_faces input {width} px, {fps:g} samples/s: {took:.2f} s = {SECONDS / took:.1f}× real "
                      f"time ({took / decode:.2f}× decoding); faces per sample min {faces.min()} median "
                      f"{np.median(faces):g} max {faces.max()} (12 drawn)")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
