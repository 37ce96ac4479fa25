"""junheng.supervision — the video supervision of test sessions (视频监督): a recording in, frame
statistics and flags (time intervals for a reviewer) out.  Pure: no Django, no database.

- frames: :func:`frame_statistics` decodes a recording with OpenCV, keeps one frame per sample
  period and computes brightness, contrast, change to the previous sample and an 8×8 fingerprint;
- flags: :class:`FlagParameters` (the declared thresholds), :func:`detect_flags` (covered/dark,
  frozen picture, no motion, camera moved) and :func:`schedule_flags` (late start, early end,
  missing stretches against the session's schedule);
- :func:`analyse_video` = both steps for one file;
- people: faces per sampled frame with CenterFace through onnxruntime (:func:`count_faces`, the
  ``video`` extra) and the ``empty_seats``/``extra_person`` rules against the pupils expected
  (:func:`people_flags`); onnxruntime and onnx are imported only when a detector is built;
- audio: the sound's level per second against the room's baseline (:func:`audio_levels`,
  :func:`audio_flags`: talking in a silent test);
- thumbs: small pictures of the sampled frames for the reviewer's timeline (:class:`Thumbnails`,
  taken in the same decoding pass);
- arrivals: backdated answers — answers that reached the server long after their stamps while the
  page was online, or after a pause or time-up by more than an outage allows (:func:`late_answers`);
- forensics: answer copying between seat neighbours (Wollack's ω, identical incorrect answers),
  response-time anomalies and wrong-to-right answer changes as flags (:func:`forensic_flags`,
  ``docs/methods/response-forensics.md``).

Methods and thresholds: ``docs/methods/video-flags.md``.
"""

from __future__ import annotations

import os

# onnxruntime (1.32, Linux wheels) has Microsoft's 1DS usage telemetry on by default: importing it writes
# a device id and a queue of events (a "ProcessInfo" event: OS, Python, network type) under
# ~/.cache/Microsoft/DeveloperTools/.onnxruntime/ and looks up mobile.events.data.microsoft.com to send
# them. ORT_DISABLE_TELEMETRY=1, set before the import, turns all of it off (no files, no look-up);
# onnxruntime is imported only under this package, so setting it here covers every detector. An
# operator's own value (0: on) is kept. docs/deploy.md, ORT_DISABLE_TELEMETRY.
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl

from junheng.supervision.arrivals import STOP_NAMES, late_answers, late_flags
from junheng.supervision.audio import AUDIO_KINDS, AudioParameters, audio_flags, audio_levels
from junheng.supervision.container import clock_start, declared_start, declared_times
from junheng.supervision.flags import (
    FLAG_SCHEMA,
    KINDS,
    SEVERITIES,
    FlagParameters,
    detect_flags,
    schedule_flags,
)
from junheng.supervision.forensics import (
    FORENSIC_FLAG_SCHEMA,
    FORENSIC_KINDS,
    ForensicsParameters,
    change_anomalies,
    changes_from_events,
    changes_from_omr,
    copying_indices,
    forensic_flags,
    timing_anomalies,
    timing_pairs,
)
from junheng.supervision.frames import (
    Progress,
    VideoInfo,
    frame_statistics,
    public_statistics,
    sampled_frames,
)
from junheng.supervision.osd import check_region
from junheng.supervision.people import (
    PEOPLE_KINDS,
    FaceCounter,
    FaceDetector,
    PeopleParameters,
    auto_precision,
    box_flags,
    count_faces,
    model_path,
    people_flags,
)
from junheng.supervision.thumbs import Thumbnails


def analyse_video(path: str | Path, fps: float = 1.0, params: FlagParameters | None = None, *,
                  progress: Progress | None = None,
                  on_frame: Callable[[float, np.ndarray], None] | None = None,
                  frame_width: int | None = None, decoder: str = "auto",
                  osd_region: tuple[float, float, float, float] | None = None) -> tuple[pl.DataFrame, VideoInfo]:
    """The picture flags of the recording at ``path`` (``FLAG_SCHEMA``) and its :class:`VideoInfo`;
    ``on_frame``, ``frame_width``, ``decoder`` and ``osd_region`` (the camera's clock given by hand) as in
    :func:`frame_statistics` (e.g. a :class:`FaceCounter`)."""
    stats, info = frame_statistics(path, fps, progress=progress, on_frame=on_frame, frame_width=frame_width,
                                   decoder=decoder, osd_region=osd_region)
    return detect_flags(stats, params), info


__all__ = [
    "AUDIO_KINDS",
    "STOP_NAMES",
    "AudioParameters",
    "Thumbnails",
    "audio_flags",
    "audio_levels",
    "sampled_frames",
    "PEOPLE_KINDS",
    "FaceCounter",
    "FaceDetector",
    "PeopleParameters",
    "auto_precision",
    "box_flags",
    "count_faces",
    "model_path",
    "people_flags",
    "FLAG_SCHEMA",
    "FORENSIC_FLAG_SCHEMA",
    "FORENSIC_KINDS",
    "ForensicsParameters",
    "change_anomalies",
    "changes_from_events",
    "changes_from_omr",
    "check_region",
    "clock_start",
    "declared_start",
    "declared_times",
    "copying_indices",
    "forensic_flags",
    "late_answers",
    "late_flags",
    "timing_anomalies",
    "timing_pairs",
    "KINDS",
    "SEVERITIES",
    "FlagParameters",
    "VideoInfo",
    "analyse_video",
    "detect_flags",
    "frame_statistics",
    "public_statistics",
    "schedule_flags",
]
