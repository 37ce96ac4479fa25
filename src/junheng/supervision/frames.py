"""Frame statistics of a test-room recording: decode with OpenCV, keep one frame per sample
period, and compute per sampled frame (vectorised over chunks of frames):

* ``brightness`` — mean grey level (0–255) of the frame;
* ``contrast`` — standard deviation of the grey levels (a covered lens gives a flat picture);
* ``diff`` — mean absolute grey-level difference to the previous sampled frame (null for the first);
* ``changed`` — share of pixels whose grey level moved by more than ``pixel_threshold``;
* ``thumb`` — an 8×8 thumbnail (mean grey of each block): the frame's fingerprint, compared
  across seconds to tell a moved camera from a passing person;
* ``align`` — how far the view has moved from the reference frame (% of the width; ORB features
  and a RANSAC homography, :class:`_Aligner`): a shifted, turned or drifting camera.

Frames are converted to grey and shrunk to at most ``WORK_WIDTH`` pixels wide (area averaging)
before anything is computed, so sensor noise averages out and a 1080p stream costs little more
than a small one.  Decoding is OpenCV's (FFmpeg inside the wheel); a skipped frame is only
``grab()``-ed, never converted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from junheng.exceptions import InputError, Issue, ParameterError

WORK_WIDTH = 160
ALIGN_WIDTH = 320  # the copy in which ORB features are matched to the reference frame
THUMB = 8
_CHUNK = 256

Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class VideoInfo:
    """What the container says about a recording (``duration_s``: the last frame's time stamp plus
    one frame, so a gap in the time stamps counts as time)."""

    path: str
    native_fps: float
    frames: int
    width: int
    height: int
    duration_s: float


def _noop(fraction: float, message: str) -> None:
    return None


def _open(path: Path):
    import cv2

    if not path.is_file():
        raise InputError([Issue("文件不存在", "file not found", file=path.name)])
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise InputError([Issue("无法读取视频（格式不受支持或文件已损坏）",
                                "cannot read the video (unsupported format or damaged file)", file=path.name)])
    return cap


class _Sampler:
    """The frames of an open capture kept at one per ``period`` seconds of video time, as
    ``(t_s, frame)``: the first frame at or after each multiple of the period, timed by the frame's
    own presentation time stamp from the container (a gap in the recording stays a gap); a backend
    without time stamps (or one going backwards) falls back to the frame rate.  Skipped frames are
    only ``grab()``-ed.  After the loop, ``frames`` and ``last_t`` describe the whole file."""

    def __init__(self, cap, period: float) -> None:
        import cv2

        self.cap, self.period = cap, period
        native = cap.get(cv2.CAP_PROP_FPS) or 0.0
        self.native = native if native > 0 else 25.0  # containers without a rate: the common PAL camera rate
        self.total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        self.frames, self.last_t = 0, -1.0

    def __iter__(self):
        import cv2

        cap, next_t = self.cap, 0.0
        while cap.grab():
            t = cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
            if not (np.isfinite(t) and t > self.last_t) or (self.frames > 0 and t == 0.0):
                t = self.last_t + 1.0 / self.native if self.frames else 0.0
            self.last_t = t
            self.frames += 1
            if t + 1e-9 < next_t:
                continue
            ok, frame = cap.retrieve()
            if not ok:
                break
            yield t, frame
            next_t = (int(t / self.period + 1e-6) + 1) * self.period

    def info(self, path: Path, width: int, height: int) -> VideoInfo:
        if self.frames == 0:
            raise InputError([Issue("视频中没有可读取的画面", "the video has no readable frame", file=path.name)])
        return VideoInfo(path=str(path), native_fps=float(self.native), frames=self.frames, width=width,
                         height=height, duration_s=self.last_t + 1.0 / self.native)


def _stats(block: np.ndarray, prev: np.ndarray | None, pixel_threshold: float) -> dict[str, np.ndarray]:
    """Statistics of ``block`` (n, h, w) uint8 frames; ``prev`` is the frame before the block."""
    f = block.astype(np.float32)
    n = f.shape[0]
    brightness = f.mean(axis=(1, 2))
    contrast = f.std(axis=(1, 2))
    before = np.concatenate([prev[None].astype(np.float32), f[:-1]]) if prev is not None else \
        np.concatenate([f[:1], f[:-1]])
    delta = np.abs(f - before)
    diff = delta.mean(axis=(1, 2))
    changed = (delta > pixel_threshold).mean(axis=(1, 2))
    if prev is None:
        diff[0], changed[0] = np.nan, np.nan
    h, w = f.shape[1:]
    hh, ww = h - h % THUMB, w - w % THUMB
    thumb = f[:, :hh, :ww].reshape(n, THUMB, hh // THUMB, THUMB, ww // THUMB).mean(axis=(2, 4))
    return {"brightness": brightness, "contrast": contrast, "diff": diff, "changed": changed,
            "thumb": np.rint(thumb).astype(np.uint8).reshape(n, THUMB * THUMB)}


class _Aligner:
    """Where the camera points, against a reference frame: ORB features (OpenCV) of each kept frame
    matched to those of the first usable frame (bright, textured, ≥ 40 features), a homography
    fitted with RANSAC, and the mean displacement of the frame's four corners and centre under it,
    in % of the frame's width.  People moving in the room are outliers to RANSAC; a covered lens
    or too few inliers (< 15) gives NaN."""

    def __init__(self) -> None:
        import cv2

        self.orb = cv2.ORB_create(nfeatures=400, edgeThreshold=8, patchSize=15, fastThreshold=10)
        self.matcher = cv2.BFMatcher(cv2.NORM_HAMMING, crossCheck=True)
        self.ref = None

    def __call__(self, grey: np.ndarray) -> float:
        import cv2

        h, w = grey.shape
        scale = ALIGN_WIDTH / w
        img = cv2.resize(grey, (ALIGN_WIDTH, max(8, round(h * scale))),
                         interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
        if img.mean() < 30 or img.std() < 8:
            return float("nan")
        kp, des = self.orb.detectAndCompute(img, None)
        if des is None or len(kp) < 40:
            return float("nan")
        if self.ref is None:
            self.ref = (kp, des, img.shape)
            return 0.0
        rk, rd, (rh, rw) = self.ref
        matches = self.matcher.match(rd, des)
        if len(matches) < 15:
            return float("nan")
        src = np.float32([rk[m.queryIdx].pt for m in matches])
        dst = np.float32([kp[m.trainIdx].pt for m in matches])
        hmat, inliers = cv2.findHomography(src, dst, cv2.RANSAC, 3.0)
        if hmat is None or inliers is None or inliers.sum() < 15:
            return float("nan")
        pts = np.float32([[0, 0], [rw, 0], [rw, rh], [0, rh], [rw / 2, rh / 2]])[:, None, :]
        moved = cv2.perspectiveTransform(pts, hmat)[:, 0, :] - pts[:, 0, :]
        return float(np.hypot(moved[:, 0], moved[:, 1]).mean() / rw * 100)


def frame_statistics(path: str | Path, fps: float = 1.0, *, pixel_threshold: float = 25.0,
                     progress: Progress | None = None,
                     on_frame: Callable[[float, np.ndarray], None] | None = None) -> tuple[pl.DataFrame, VideoInfo]:
    """The statistics frame (``t_s, brightness, contrast, diff, changed, thumb``; one row per
    sampled frame, ``t_s`` seconds from the start of the file) and the video's :class:`VideoInfo`.

    Times are the frames' presentation time stamps from the container (``CAP_PROP_POS_MSEC``), not
    frame count ÷ average rate, so a stretch the camera did not record (a gap in the time stamps)
    keeps its length and later times stay true.  One frame is kept per ``1/fps`` seconds of video
    time (the first frame at or after each multiple of the period).  ``on_frame(t_s, frame)`` is called
    with every kept frame as decoded (e.g. a :class:`junheng.supervision.people.FaceCounter`), so other
    per-frame work shares this one decoding pass.  A file OpenCV cannot open raises :class:`InputError`."""
    import cv2

    if not fps > 0:
        raise ParameterError(f"采样频率须大于 0 / fps must be > 0; got {fps}")
    path = Path(path)
    report = progress or _noop
    cap = _open(path)
    try:
        sampler = _Sampler(cap, 1.0 / fps)
        width, height = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        scale = min(1.0, WORK_WIDTH / max(width, 1))
        size = (max(THUMB, round(width * scale)), max(THUMB, round(height * scale)))
        parts: list[dict[str, np.ndarray]] = []
        times: list[float] = []
        aligned: list[float] = []
        aligner = _Aligner()
        frames: list[np.ndarray] = []
        prev = None
        for t, frame in sampler:
            if on_frame is not None:
                on_frame(t, frame)
            grey = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY) if frame.ndim == 3 else frame
            aligned.append(aligner(grey))
            if grey.shape[1] != size[0] or grey.shape[0] != size[1]:
                grey = cv2.resize(grey, size, interpolation=cv2.INTER_AREA)
            frames.append(grey)
            times.append(t)
            if len(times) % 10 == 0:
                report(sampler.frames / sampler.total if sampler.total else 0.0, f"{t:.0f} s")
            if len(frames) == _CHUNK:
                parts.append(_stats(np.stack(frames), prev, pixel_threshold))
                prev = frames[-1]
                frames = []
        if frames:
            parts.append(_stats(np.stack(frames), prev, pixel_threshold))
    finally:
        cap.release()
    info = sampler.info(path, width, height)
    report(1.0, f"{sampler.last_t:.0f} s")
    cols = {k: np.concatenate([p[k] for p in parts]) for k in ("brightness", "contrast", "diff", "changed")}
    thumbs = np.concatenate([p["thumb"] for p in parts])
    stats = pl.DataFrame({"t_s": np.asarray(times, dtype=np.float64),
                          **{k: v.astype(np.float64) for k, v in cols.items()}}).with_columns(
        pl.Series("align", np.asarray(aligned, dtype=np.float64)).fill_nan(None),
        pl.col("diff").fill_nan(None), pl.col("changed").fill_nan(None),
        pl.Series("thumb", thumbs, dtype=pl.Array(pl.UInt8, THUMB * THUMB)))
    return stats, info


__all__ = ["VideoInfo", "frame_statistics"]
