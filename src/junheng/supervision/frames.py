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

Frames are converted to grey and shrunk to at most ``WORK_WIDTH`` pixels wide (area averaging;
through the alignment's 320 px copy when that is exactly twice the size, :func:`_work_frame`)
before anything is computed, so sensor noise averages out and a 1080p stream costs little more
than a small one.  Decoding is ffmpeg's where it is installed (:class:`_FFmpegSampler`: one process a
file, the samples chosen, scaled and converted inside it), else OpenCV's (FFmpeg inside the wheel; a
skipped frame is only ``grab()``-ed, never converted).
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import polars as pl

from junheng.exceptions import InputError, Issue, ParameterError
from junheng.supervision.osd import ClockReader
from junheng.supervision.procs import PROBE_S, Deadline, decode_limit

WORK_WIDTH = 160
ALIGN_WIDTH = 320  # the copy in which ORB features are matched to the reference frame
RANSAC_ITERS = 500  # the homography's RANSAC draws at most (OpenCV's default: 2,000)
# ORB alignment at most once per this many seconds of video while the view is at home (within REG_MIN_PCT of
# the reference); the samples in between keep the last alignment. 0: every sample (:class:`_Aligner`)
ALIGN_EVERY_S = 1.0
THUMB = 8
FINE = (32, 24)  # the fine fingerprint (replay detection): 32×24 block means of the work frame
ECHO = (16, 12)  # the echo fingerprint: 16×12 block means of *every* decoded frame (ffmpeg), not only the samples
REG = (32, 24)  # the registered fingerprint (re-filmed replays): 32×24 block means of the view warped to the reference
REG_MIN_PCT = 0.5  # … warped only when the view lies this far (% of the width) from the reference
# The statistics frame's columns (:func:`frame_statistics`): those a user may be given (the CLI's
# ``--stats``; docs/guide/video.md) and those only the rules read (the fine and registered
# fingerprints, 768 values a sample).  Every column is one or the other (tests/core/supervision).
PUBLIC_COLUMNS = ("t_s", "brightness", "contrast", "diff", "changed", "align", "zoom", "thumb", "echo_lag",
                  "echo_ratio")
# osd: the camera's clock region of each sample (supervision.osd); echo_match: the echo against chance (_echoes)
INTERNAL_COLUMNS = ("fine", "reg", "osd", "echo_match")
# H.264 with key frames further apart than the sample period: each group of pictures decoded only up to
# its last sample (:meth:`_FFmpegSampler.truncation`); with B-frames only if TRUNCATE_WITH_B_FRAMES — there
# the replay rules' echo fingerprints lose evidence that full decoding keeps (docs/methods/video-flags.md)
TRUNCATE_GROUPS = True
TRUNCATE_WITH_B_FRAMES = False
ECHO_MIN_S, ECHO_MAX_S = 1.0, 3600.0  # the earlier frames a sample's echo is looked for among (seconds back)
ECHO_CHANCE_S = 10.0  # an echo's chance share: against samples at least this far (``loop_min_lag_s``'s default)
_CHUNK = 256
MAX_PIXELS = 8192 * 8192  # a larger picture is refused by its header (an 8K camera has 35 megapixels)
MAX_PACKETS = 24 * 3600 * 120  # more video packets (24 h at 120 frames/s) are refused while ffprobe lists them

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
    osd_region: tuple[int, int, int, int] | None = None  # the burned-in clock (x, y, w, h px of the sampled frame)


def _noop(fraction: float, message: str) -> None:
    return None


def _check_size(path: Path, width: int, height: int) -> None:
    """Refuse a picture larger than ``MAX_PIXELS`` before anything is decoded: every decoded frame
    is that size in the decoder's memory, and a small file can declare a huge one."""
    if width * height > MAX_PIXELS:
        raise InputError([Issue(f"视频分辨率过大（最多 {MAX_PIXELS / 1e6:.0f} 百万像素）",
                                f"the video's picture is too large (at most {MAX_PIXELS / 1e6:.0f} megapixels)",
                                file=path.name, value=f"{width}×{height}")])


def _open(path: Path):
    import cv2

    if not path.is_file():
        raise InputError([Issue("文件不存在", "file not found", file=path.name)])
    cap = cv2.VideoCapture(media_arg(path))
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

    def done(self, t: float) -> float:
        """The share of the file read so far (frames grabbed ÷ the container's frame count)."""
        return min(1.0, self.frames / self.total) if self.total else 0.0

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


def _usable(img: np.ndarray) -> bool:
    """Whether a grey uint8 picture is bright and textured enough to align: mean grey level at least 30
    and standard deviation (of the population) at least 8.  Decided exactly in whole numbers from the
    sum and the sum of squares (OpenCV's, whole numbers exact in float64 up to 2⁵³: a 320×180 copy's
    squares stay under 2³²): ``n·Σx² − (Σx)² ≥ 64·n²`` is ``std ≥ 8`` with no rounding, at a twentieth of
    the cost of ``img.mean()`` and ``img.std()`` (≈ 0.1 ms a 320 px sample: float64 copies)."""
    import cv2

    n, total, squares = img.size, int(cv2.sumElems(img)[0]), int(cv2.norm(img, cv2.NORM_L2SQR))
    return total >= 30 * n and n * squares - total * total >= 64 * n * n


def _work_frame(grey: np.ndarray, view: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The sample's work frame (``size``: at most ``WORK_WIDTH`` wide), by area averaging: of the
    alignment's copy ``view`` when that is an area-shrunk (or the same) picture exactly twice the work
    size — OpenCV's 2 × 2 mean, ≈ 0.005 ms, against ≈ 0.55 ms for shrinking a 768 px frame 4.8 times —
    else of the sampled frame ``grey`` itself.  Both are the means of the same source pixels; going
    through the 320 px copy rounds once more (a pixel moves by at most one grey level)."""
    import cv2

    if grey.shape[1] == size[0] and grey.shape[0] == size[1]:
        return grey
    if grey.shape[1] >= view.shape[1] and view.shape[1] == 2 * size[0] and view.shape[0] == 2 * size[1]:
        grey = view
    return cv2.resize(grey, size, interpolation=cv2.INTER_AREA)


class _Aligner:
    """Where the camera points, against a reference frame: ORB features (OpenCV) of each kept frame
    matched to those of the first usable frame (bright, textured, ≥ 40 features), a homography
    fitted with RANSAC, and the mean displacement of the frame's four corners and centre under it,
    in % of the frame's width.  People moving in the room are outliers to RANSAC; a covered lens
    or too few inliers (< 15) gives NaN.

    Given the sample's time ``t``, the features are matched at most once per ``ALIGN_EVERY_S`` seconds
    (the first sample at or after each multiple) while the view is at home (the last alignment finite and
    under ``REG_MIN_PCT``): a sample in between keeps that alignment (and its homography); a dark or flat
    sample is NaN as always, and once the view is away (or unknown) every sample is aligned.  At one
    sample a second every sample is aligned; at two, half of the at-home ones (ORB is ≈ 5 ms a sample)."""

    def __init__(self) -> None:
        import cv2

        self.orb = cv2.ORB_create(nfeatures=400, edgeThreshold=8, patchSize=15, fastThreshold=10)
        self.matcher = cv2.BFMatcher(cv2.NORM_HAMMING, crossCheck=True)
        self.ref = None
        self.view: np.ndarray | None = None  # the last frame at ALIGN_WIDTH and its homography from the reference
        self.usable = False  # … whether it is bright and textured (:func:`_usable`)
        self.hmat: np.ndarray | None = None
        self.ref_small: np.ndarray | None = None
        self.warp: np.ndarray | None = None  # the last ECC homography (half size), while the view is away
        self.zoom = float("nan")  # … and its scale (1: the room as large as in the reference)
        self.last = float("nan")  # the last alignment by features, and the time from which the next is due
        self.due = 0.0

    def __call__(self, grey: np.ndarray, t: float | None = None) -> float:
        import cv2

        h, w = grey.shape
        scale = ALIGN_WIDTH / w
        img = cv2.resize(grey, (ALIGN_WIDTH, max(8, round(h * scale))),
                         interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
        self.view, self.usable = img, _usable(img)
        if not self.usable:
            self.hmat, self.last = None, float("nan")
            return float("nan")
        if t is not None and t + 1e-9 < self.due and np.isfinite(self.last) and self.last < REG_MIN_PCT:
            return self.last  # at home half a period ago: the same alignment (and homography)
        if t is not None and ALIGN_EVERY_S > 0:
            self.due = (int(t / ALIGN_EVERY_S + 1e-6) + 1) * ALIGN_EVERY_S
        self.last = self._features(img)
        return self.last

    def _features(self, img: np.ndarray) -> float:
        """The alignment of ``img`` (at ``ALIGN_WIDTH``) by ORB features; sets ``hmat``."""
        import cv2

        self.hmat = None
        kp, des = self.orb.detectAndCompute(img, None)
        if des is None or len(kp) < 40:
            return float("nan")
        if self.ref is None:
            self.ref = (kp, des, img.shape)
            self.ref_small = cv2.resize(img, (img.shape[1] // 2, img.shape[0] // 2),
                                        interpolation=cv2.INTER_AREA).astype(np.float32)
            return 0.0
        rk, rd, (rh, rw) = self.ref
        matches = self.matcher.match(rd, des)
        if len(matches) < 15:
            return float("nan")
        src = np.float32([rk[m.queryIdx].pt for m in matches])
        dst = np.float32([kp[m.trainIdx].pt for m in matches])
        # at most RANSAC_ITERS draws: ≥ 32 % inliers need fewer at 99.5 % confidence; a featureless room's
        # few, ambiguous matches ran to OpenCV's 2,000 (≈ 12 ms a sample) for no usable homography
        hmat, inliers = cv2.findHomography(src, dst, cv2.RANSAC, 3.0, maxIters=RANSAC_ITERS, confidence=0.995)
        if hmat is None or inliers is None or inliers.sum() < 15:
            return float("nan")
        pts = np.float32([[0, 0], [rw, 0], [rw, rh], [0, rh], [rw / 2, rh / 2]])[:, None, :]
        moved = cv2.perspectiveTransform(pts, hmat)[:, 0, :] - pts[:, 0, :]
        self.hmat = hmat
        return float(np.hypot(moved[:, 0], moved[:, 1]).mean() / rw * 100)

    def registered(self, align: float) -> np.ndarray:
        """The last frame seen, in the reference frame's geometry, as its ``REG`` block means (grey,
        uint8).  When the view lies at least ``REG_MIN_PCT`` % of the width from the reference (a
        moved camera, or a camera filming a screen that plays old footage: smaller, shifted,
        tilted), the features' homography is refined on the pictures themselves at half size
        (OpenCV's ECC, which a change of brightness and contrast does not disturb; on blurred,
        re-encoded pictures the features alone are off by several %) and the frame is warped back
        by it; when the features find no homography (NaN) right after such a frame, ECC starts from
        that frame's.  Else the frame is taken as it is (RANSAC's sub-pixel jitter would be new
        change in every sample)."""
        import cv2

        img = self.view
        moved = bool(np.isfinite(align) and align >= REG_MIN_PCT)
        half = np.diag([0.5, 0.5, 1.0])
        if moved and self.hmat is not None:
            start = (half @ self.hmat @ np.linalg.inv(half)).astype(np.float32)
        elif not np.isfinite(align) and self.warp is not None and self.usable:
            start = self.warp
        else:
            self.warp = None
            self.zoom = 1.0 if np.isfinite(align) else float("nan")
            return cv2.resize(img, REG, interpolation=cv2.INTER_AREA)
        small = cv2.resize(img, (img.shape[1] // 2, img.shape[0] // 2), interpolation=cv2.INTER_AREA)
        try:
            warp = cv2.findTransformECC(self.ref_small, small.astype(np.float32), start.copy(), cv2.MOTION_HOMOGRAPHY,
                                        (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 30, 1e-4), None, 3)[1]
        except cv2.error:  # ECC did not converge: the features' homography (or the last one)
            warp = start
        self.warp = warp
        self.zoom = float(np.sqrt(abs(np.linalg.det(warp[:2, :2].astype(np.float64)))))
        img = cv2.warpPerspective(small, warp, self.ref_small.shape[::-1], flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                                  borderMode=cv2.BORDER_REPLICATE)
        return cv2.resize(img, REG, interpolation=cv2.INTER_AREA)


class _FFmpegSampler:
    """The same sampling as :class:`_Sampler` done inside an ``ffmpeg`` process (one per file), so
    that no Python runs per decoded frame: ffprobe reads the container's packet time stamps and key
    flags (demuxing only); ffmpeg decodes with one thread, keeps the first frame of each sample
    period (``select``), scales it (area averaging) to ``width`` pixels wide (never up), converts it
    to grey (or BGR for a face detector) and writes it raw to a pipe, while ``showinfo`` reports
    its time stamp.  Decoding is cut where it cannot change a sample:

    * ``-skip_frame nokey`` when every key frame lies within one sample period of the next (and of
      the end): the key frames alone give a frame in every period;
    * otherwise, for H.264, ``-skip_frame bidir`` (every B-frame, and any frame nothing refers to: a B-frame
      may be a reference, but x264's pyramid refers to it only from other B-frames, so the kept I-
      and P-frames decode to the very same pictures — tested against full decoding; a kept sample
      may be two frames later than the first frame of its period; 540 instead of 1,020 of 1,500
      frames decoded on a stream with two B-frames, ≈ 0.5 CPU-s less a minute of 720p) and
      ``-skip_loop_filter all`` (the de-blocking filter smooths block edges; the statistics average
      over blocks of ≥ 8 pixels); for any other codec ``-skip_frame noref`` (only the frames nothing
      refers to: x265's P-frames refer to its reference B-frames, which ``bidir`` would drop — every
      sample that is not a key frame was garbage) and the same de-blocking skip;
    * and for H.264 without B-frames (by default; :data:`TRUNCATE_GROUPS`, :data:`TRUNCATE_WITH_B_FRAMES`),
      each group of pictures only up to its last sample (:meth:`truncation`): ffmpeg then reads
      a stream copy without the packets after it, on a pipe from a second ffmpeg.

    With ``echo``, a second branch of the same filter graph shrinks *every* decoded frame (not only
    the kept ones) to its 16×12 block means (``ECHO``, grey) and writes them to a second pipe with
    their time stamps (:meth:`echoes`): the frames between two samples, so a replayed stretch can
    be matched to the very frames it copies whatever its phase to the sampling.

    A time stamp missing from the container falls back to the frame rate, as with OpenCV."""

    def __init__(self, path: Path, period: float, width: int, colour: bool, echo: bool = False) -> None:
        self.path, self.period, self.colour, self.echo = path, period, colour, echo
        self._echo_times: list[float] = []
        self._echo_data = bytearray()
        probe = _probe(path)
        self.native, self.src_w, self.src_h = probe["fps"], probe["width"], probe["height"]
        self.start, self.packet_times, self.keys = probe["start"], probe["times"], probe["keys"]
        self.codec, self.reorder = probe["codec"], probe["reorder"]
        self.decode_times, self.key_at, self.unplaced = probe["decode"], probe["key_at"], probe["unplaced"]
        self.total = len(self.packet_times)
        w = min(int(width), self.src_w)
        self.out_w = max(2, w - w % 2)
        self.out_h = max(2, int(round(self.src_h * self.out_w / self.src_w / 2)) * 2)
        ends = np.r_[self.keys, self.packet_times[-1] if self.total else 0.0]
        self.keys_only = len(self.keys) >= 2 and float(np.max(np.diff(ends))) <= period + 1e-6 and self.keys[0] <= 1e-6
        self.drop = self.truncation() if TRUNCATE_GROUPS else None
        self.frames, self.last_t = 0, -1.0

    def truncation(self) -> str | None:
        """The packets no sample needs, as the drop expression of FFmpeg's ``noise`` bit-stream filter
        (run on a stream copy before decoding, :meth:`copy_command`), or None to decode as today.

        Only for H.264 whose key frames are further apart than the sample period, the first at the
        start, and without B-frames (``has_b_frames`` 0) unless ``TRUNCATE_WITH_B_FRAMES``: B-frames
        are not decoded (``-skip_frame bidir``), so of the frames a truncated group keeps only the
        I- and P-frames are there for the replay rules' echo fingerprints, and a replay's twins can
        miss them at every phase (docs/methods/video-flags.md, "Decoding less").  In each group of pictures the last sample
        is the first decoded frame at or after the last multiple of the period before the next key
        frame (or the file's end): the first packet, in decoding order, at or after that time whose
        time stamp is the group's latest so far (an I- or P-frame: a B-frame comes after a later
        P-frame).  The group's packets are kept up to that one plus the stream's reordering depth
        (``has_b_frames``), counted in decoding order; keeping the same count in every group (the
        most any group needs) is what the expression can say: a counter in its register 0 (``st``
        and ``ld`` persist from packet to packet), reset at each key frame.  Not by time stamp:
        FFmpeg 5.1 hands the filter time stamps in the output container's time base but reports the
        input's as ``tb`` (NUT: 4× too late on an MP4 of 1/12800)."""
        keys, p = self.keys, self.period
        if self.reorder and not TRUNCATE_WITH_B_FRAMES:
            return None
        if self.unplaced:  # a packet without a time stamp: the filter's count would not be the listing's
            return None
        if self.codec != "h264" or self.keys_only or len(self.key_at) < 2 or keys[0] > 1e-6 or self.key_at[0] != 0:
            return None
        if float(np.min(np.diff(np.r_[keys, self.packet_times[-1]]))) <= p + 1e-6:
            return None  # a key frame in some period: little to gain
        t = self.decode_times
        bounds = np.r_[self.key_at, len(t)]
        need = 0
        for a, b in zip(bounds[:-1], bounds[1:]):
            group = t[a:b]
            decoded = group >= np.maximum.accumulate(group)  # I- and P-frames: a B-frame comes after a later P
            bucket = np.floor(group / p + 1e-6)  # the sample period each frame falls in (as ``select``)
            last = np.flatnonzero(decoded & (bucket == bucket[decoded].max()))[0]
            need = max(need, int(last) + self.reorder)
        if need >= int(np.max(np.diff(bounds[:-1]), initial=0)) - 1:
            return None  # nothing to drop in any whole group: decode as today
        return f"st(0,if(key,0,ld(0)+1));gt(ld(0),{need})"

    def command(self, echo_fd: int | None = None) -> list[str]:
        import shutil

        # B-frames are skipped only in H.264 (x264's reference B-frames serve only other B-frames);
        # elsewhere (H.265: P-frames refer to reference B-frames) only the frames nothing refers to
        between = "bidir" if self.codec == "h264" else "noref"
        skip = ["-skip_frame", "nokey"] if self.keys_only else ["-skip_frame", between, "-skip_loop_filter", "all"]
        p, s = self.period, self.start
        bucket = f"floor((%s-{s:.6f})/{p:.9f}+1e-6)"
        select = (f"select='isnan(prev_selected_t)+gte({bucket % 't'}\\,{bucket % 'prev_selected_t'}+1)'")
        # showinfo only for the time stamps: its checksums and plane statistics (on by default) cost
        # ≈ 0.9 ms a 768 px colour sample, 0.05–0.1 CPU s a minute (docs/methods/video-flags.md, "ffmpeg's side")
        vf = (f"{select},scale={self.out_w}:{self.out_h}:flags=area,format={'bgr24' if self.colour else 'gray'},"
              "showinfo@sample=checksum=0")
        # truncated (``self.drop``): the stream copy without the dropped packets comes in on the pipe
        source = ["-copyts", *(["-f", "nut", "-i", "pipe:0"] if self.drop else ["-nostdin", "-i", media_arg(self.path)])]
        head = [shutil.which("ffmpeg") or "ffmpeg", "-hide_banner", "-loglevel", "info", "-threads", "1", *skip,
                *source]
        raw = ["-fps_mode", "passthrough", "-f", "rawvideo"]
        if echo_fd is None:
            return [*head, "-map", "0:v:0", "-an", "-sn", "-dn", "-filter_threads", "1", "-vf", vf, *raw, "pipe:1"]
        graph = (f"[0:v:0]split=2[a][b];[a]{vf}[out];"
                 f"[b]scale={ECHO[0]}:{ECHO[1]}:flags=area,format=gray,showinfo@echo=checksum=0[echo]")
        return [*head, "-filter_complex_threads", "1", "-filter_complex", graph,
                "-map", "[out]", *raw, "pipe:1", "-map", "[echo]", *raw, f"pipe:{echo_fd}"]

    def copy_command(self) -> list[str]:
        """The stream copy that drops the packets no sample needs (:meth:`truncation`), to NUT on its
        standard output: the container's time stamps kept as they are (``-copyts``, ``-avoid_negative_ts
        disabled``: else the copy would start at 0, not at the file's first time stamp)."""
        import shutil

        return [shutil.which("ffmpeg") or "ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-copyts",
                "-i", media_arg(self.path), "-map", "0:v:0", "-c", "copy", "-bsf:v", f"noise=drop='{self.drop}'",
                "-avoid_negative_ts", "disabled", "-f", "nut", "pipe:1"]

    def __iter__(self):
        import queue
        import subprocess
        import tempfile
        import threading

        channels = 3 if self.colour else 1
        size = self.out_w * self.out_h * channels
        echo_r = echo_w = None
        if self.echo:
            echo_r, echo_w = os.pipe()
        copy = copy_log = None
        try:
            if self.drop:
                copy_log = tempfile.TemporaryFile()  # its errors: a file, so a stream of them never blocks it
                copy = subprocess.Popen(self.copy_command(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                        stderr=copy_log)
            proc = subprocess.Popen(self.command(echo_w), stdin=copy.stdout if copy else None, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, bufsize=0, pass_fds=(echo_w,) if self.echo else ())
        except BaseException:
            if copy is not None:
                copy.kill()
                copy.wait()
            if copy_log is not None:
                copy_log.close()
            raise
        finally:
            if echo_w is not None:
                os.close(echo_w)
            if copy is not None:
                copy.stdout.close()  # the decoder holds it now
        _widen_pipe(proc.stdout, size)
        stamps: queue.Queue = queue.Queue()
        errors: list[str] = []

        def read_stderr() -> None:  # the time stamp of each kept frame (and the last error lines)
            # buffered: the pipe is unbuffered (bufsize=0, for the frames), and lines of an unbuffered
            # stream are read a byte per system call (≈ 0.2 CPU-s a minute of 25 fps echo lines)
            for raw in io.BufferedReader(proc.stderr, 1 << 16):
                line = raw.decode("utf-8", "replace")
                m = _SHOWINFO.search(line)
                if m and m.group(1) == "echo":  # "NOPTS" (no time stamp): kept as NaN, dropped by echoes()
                    self._echo_times.append(_seconds(m.group(2)))
                elif m:
                    stamps.put(m.group(2))
                elif "showinfo" not in line:
                    errors[:] = [*errors[-4:], line.strip()]
            stamps.put(None)

        def read_echo() -> None:  # every decoded frame's 16×12 fingerprint
            with os.fdopen(echo_r, "rb", buffering=0) as stream:
                while chunk := stream.read(1 << 16):
                    self._echo_data.extend(chunk)

        reader = threading.Thread(target=read_stderr, daemon=True)
        reader.start()
        echo_reader = threading.Thread(target=read_echo, daemon=True) if self.echo else None
        if echo_reader is not None:
            echo_reader.start()
        limit = decode_limit(float(self.packet_times[-1]) if self.total else None)
        with Deadline(proc, limit, self.path, "ffmpeg"):  # a hung ffmpeg is killed: InputError, not a silent end
            try:
                while True:
                    buf = read_up_to(proc.stdout, size)
                    if len(buf) < size:  # the end (a part frame is dropped)
                        break
                    stamp = stamps.get(timeout=60)
                    try:
                        t = float(stamp) - self.start
                    except (TypeError, ValueError):
                        t = float("nan")
                    if not (np.isfinite(t) and t > self.last_t) or (self.frames > 0 and t == 0.0):
                        t = self.last_t + 1.0 / self.native if self.frames else 0.0
                    self.last_t = t
                    self.frames += 1
                    shape = (self.out_h, self.out_w, 3) if self.colour else (self.out_h, self.out_w)
                    frame = np.frombuffer(buf, dtype=np.uint8).reshape(shape)
                    frame.flags.writeable = False  # one buffer a frame, never reused; read-only as before
                    yield t, frame
            finally:
                if proc.poll() is None:
                    proc.kill()
                proc.wait()
                if copy is not None:  # it ends when the decoder does (a closed pipe), or is ended
                    try:
                        copy.wait(timeout=5)
                    except subprocess.TimeoutExpired:
                        copy.kill()
                        copy.wait()
                    copy_log.seek(0)
                    errors[:] = [*errors, *copy_log.read(1 << 16).decode("utf-8", "replace").strip().splitlines()[-2:]]
                    copy_log.close()
                reader.join(timeout=5)
                if echo_reader is not None:
                    echo_reader.join(timeout=5)
        if self.frames == 0 and (proc.returncode not in (0, None) or (copy is not None and copy.returncode != 0)):
            raise InputError([Issue("无法读取视频（格式不受支持或文件已损坏）",
                                    "cannot read the video (unsupported format or damaged file)", file=self.path.name,
                                    value=" / ".join(errors[-2:])[:200])])

    def done(self, t: float) -> float:
        """The share of the file read when the sample at ``t`` s is kept (``frames`` counts samples
        here, not decoded frames: by time against the last packet's)."""
        end = float(self.packet_times[-1]) if self.total else 0.0
        return min(1.0, max(0.0, t / end)) if end > 0 else 0.0

    def echoes(self) -> tuple[np.ndarray, np.ndarray] | None:
        """Every decoded frame's time (s from the file's first frame) and 16×12 grey fingerprint
        (uint8, one row each), when sampled with ``echo``; else None."""
        if not self.echo:
            return None
        size = ECHO[0] * ECHO[1]
        m = min(len(self._echo_times), len(self._echo_data) // size)
        times = np.asarray(self._echo_times[:m], dtype=np.float64) - self.start
        data = np.frombuffer(self._echo_data, dtype=np.uint8, count=m * size).reshape(m, size)  # a view: data[order] copies
        keep = np.flatnonzero(np.isfinite(times))  # frames without a time stamp cannot be placed
        order = keep[np.argsort(times[keep], kind="stable")]  # _echoes searches the times: sorted
        return times[order], data[order]

    def info(self, path: Path, width: int, height: int) -> VideoInfo:
        if self.frames == 0:
            raise InputError([Issue("视频中没有可读取的画面", "the video has no readable frame", file=path.name)])
        last = float(self.packet_times[-1]) if self.total else self.last_t
        return VideoInfo(path=str(path), native_fps=float(self.native), frames=max(self.total, self.frames),
                         width=width, height=height, duration_s=max(last, self.last_t) + 1.0 / self.native)


_SHOWINFO = __import__("re").compile(r"\[showinfo@(\w+) @ [^]]*\]\s*n:\s*\d+\s+pts:\s*\S+\s+pts_time:(\S+)")


def _seconds(text: str) -> float:
    """A showinfo ``pts_time`` as seconds; NaN for ``NOPTS`` or anything else that is not a number
    (a ValueError here would end the thread that drains ffmpeg's stderr, and ffmpeg would stall)."""
    try:
        return float(text)
    except ValueError:
        return float("nan")


def _widen_pipe(stream, size: int) -> None:
    """Let the pipe hold a whole frame (Linux: ``F_SETPIPE_SZ``, up to the system's limit, 1 MiB
    unprivileged) instead of 64 KiB: a 768×432 colour frame then crosses in a few reads, not 16
    reads and as many switches between ffmpeg and Python.  Elsewhere, or refused: left as it is."""
    try:
        import fcntl

        fcntl.fcntl(stream.fileno(), getattr(fcntl, "F_SETPIPE_SZ", 1031), min(size, 1 << 20))
    except (ImportError, OSError, ValueError):
        pass


def read_up_to(stream, size: int) -> bytearray:
    """Up to ``size`` bytes of ``stream`` read straight into one new buffer (no joining of pieces):
    fewer only at its end."""
    buf = bytearray(size)
    got = 0
    with memoryview(buf) as view:
        while got < size:
            n = stream.readinto(view[got:])
            if not n:
                break
            got += n
    del buf[got:]
    return buf


def media_arg(path: str | Path) -> str:
    """A file's name as FFmpeg (ffprobe, ffmpeg, OpenCV's capture) must be given it: absolute, so a
    name starting with ``-`` is not read as an option nor ``name:rest`` as a protocol (``subfile:``,
    ``concat:``, ``http:`` …) — the file itself is opened, whatever it is called."""
    return str(Path(path).absolute())


class _closing:
    """Closes a process's output and ends it (killed if still running) when the block is left."""

    def __init__(self, proc) -> None:
        self.proc = proc

    def __enter__(self):
        return self.proc

    def __exit__(self, *exc) -> None:
        self.proc.stdout.close()
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


def _probe(path: Path) -> dict:
    """Width, height, frame rate and the packets' presentation times (s, sorted, from 0) and key
    frames of the first video stream, by one ffprobe run (demuxing only, nothing decoded; ffprobe
    lists the packets first and the stream's header line last).  A second process for the header
    cost as much CPU as listing an hour's packets (≈ 0.06 s: loading FFmpeg's libraries)."""
    import shutil
    import subprocess
    from array import array

    bad = InputError([Issue("无法读取视频（格式不受支持或文件已损坏）",
                            "cannot read the video (unsupported format or damaged file)", file=path.name)])
    exe = shutil.which("ffprobe") or "ffprobe"
    st: dict[str, str] = {}
    unplaced = 0  # packets without a time stamp (not in the lists)
    times, keys, key_at = array("d"), array("d"), array("q")  # read line by line, 8 bytes a packet: never the whole listing at once
    proc = subprocess.Popen([exe, "-v", "error", "-select_streams", "v:0", "-show_entries",
                             "stream=codec_name,width,height,avg_frame_rate,r_frame_rate,has_b_frames:packet=pts_time,flags",
                             "-of", "compact", media_arg(path)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True)
    with Deadline(proc, PROBE_S, path, "ffprobe"), _closing(proc):  # a hung ffprobe is killed: InputError
        for line in proc.stdout:
            kind, _, rest = line.rstrip("\n").partition("|")
            if kind != "packet":
                if kind == "stream" and not st:  # the first video stream's
                    st = dict(item.partition("=")[::2] for item in rest.split("|"))
                continue
            stamp, _, flags = rest.partition("|")  # "pts_time=…|flags=…" (a line a packet: kept cheap)
            try:
                t = float(stamp.partition("=")[2])
            except ValueError:
                unplaced += 1
                continue
            times.append(t)
            if "K" in flags:
                keys.append(t)
                key_at.append(len(times) - 1)
            if len(times) > MAX_PACKETS:
                raise InputError([Issue(f"视频的帧数过多（最多 {MAX_PACKETS} 帧）",
                                        f"the video has too many frames (at most {MAX_PACKETS})", file=path.name,
                                        value=f"> {MAX_PACKETS}")])
    try:
        width, height = int(st.get("width", "")), int(st.get("height") or 0)
    except ValueError:
        raise bad from None
    if width <= 0:  # no video stream, or not a file ffprobe can open
        raise bad
    _check_size(path, width, height)

    def rate(text: str | None) -> float:
        try:
            num, _, den = (text or "0/0").partition("/")
            return float(num) / float(den or 1)
        except (ValueError, ZeroDivisionError):
            return 0.0

    fps = rate(st.get("avg_frame_rate")) or rate(st.get("r_frame_rate"))
    decode = np.asarray(times, dtype=np.float64)  # in decoding order, as listed
    times_a = np.sort(decode)
    start = float(times_a[0]) if len(times_a) else 0.0
    try:
        reorder = min(max(int(st.get("has_b_frames") or 0), 0), 16)
    except ValueError:
        reorder = 16
    return {"width": width, "height": height, "codec": st.get("codec_name", ""), "reorder": reorder,
            "fps": fps if 0 < fps < 1000 else 25.0, "start": start, "times": times_a - start,
            "decode": decode - start, "key_at": np.asarray(key_at, dtype=np.int64), "unplaced": unplaced,
            "keys": np.sort(np.asarray(keys, dtype=np.float64)) - start}


def _ffmpeg_available() -> bool:
    import shutil

    return shutil.which("ffmpeg") is not None and shutil.which("ffprobe") is not None


def sampled_frames(path: str | Path, fps: float = 1.0, *, width: int = 640, colour: bool = True,
                   decoder: str = "auto", echo: bool = False):
    """The sampler of ``path`` at ``fps`` samples per second: iterate for ``(t_s, frame)``, then
    ``.info(path, w, h)``; ``decoder`` ``"ffmpeg"`` (frames at most ``width`` pixels wide, grey
    unless ``colour``), ``"opencv"`` (full-size BGR frames, every frame decoded: the old path) or
    ``"auto"`` (ffmpeg when installed).  ``echo``: the ffmpeg sampler also keeps every decoded frame's
    16×12 fingerprint (``sampler.echoes()``).  Also returns a closer for the OpenCV capture."""
    import cv2

    if not fps > 0:
        raise ParameterError(f"采样频率须大于 0 / fps must be > 0; got {fps}")
    if decoder not in ("auto", "ffmpeg", "opencv"):
        raise ParameterError(f"decoder 须为 auto、ffmpeg 或 opencv / decoder must be auto, ffmpeg or opencv; got {decoder!r}")
    path = Path(path)
    if not path.is_file():
        raise InputError([Issue("文件不存在", "file not found", file=path.name)])
    if decoder == "ffmpeg" or (decoder == "auto" and _ffmpeg_available()):
        sampler = _FFmpegSampler(path, 1.0 / fps, width, colour, echo)
        return sampler, (sampler.src_w, sampler.src_h), (lambda: None)
    cap = _open(path)
    size = (int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))
    try:
        _check_size(path, *size)
    except InputError:
        cap.release()
        raise
    sampler = _Sampler(cap, 1.0 / fps)
    return sampler, size, cap.release


def frame_statistics(path: str | Path, fps: float = 1.0, *, pixel_threshold: float = 25.0,
                     progress: Progress | None = None,
                     on_frame: Callable[[float, np.ndarray], None] | None = None,
                     frame_width: int | None = None, decoder: str = "auto",
                     echo: bool = True,
                     osd_region: tuple[float, float, float, float] | None = None) -> tuple[pl.DataFrame, VideoInfo]:
    """The statistics frame (``t_s, brightness, contrast, diff, changed, thumb, align, fine,
    echo_lag, echo_ratio, echo_match``; one row per sampled frame, ``t_s`` seconds from the start of
    the file) and the video's :class:`VideoInfo`.

    Times are the frames' presentation time stamps from the container, not frame count ÷ average
    rate, so a stretch the camera did not record (a gap in the time stamps) keeps its length and
    later times stay true.  One frame is kept per ``1/fps`` seconds of video time (the first frame
    at or after each multiple of the period).  ``on_frame(t_s, frame)`` is called with every kept
    frame — BGR, ``frame_width`` pixels wide (never enlarged) with the ffmpeg decoder, full size
    with OpenCV's; default: the callback's own ``width`` attribute, e.g. a
    :class:`junheng.supervision.people.FaceCounter`'s detector input width), so other per-frame work shares this one decoding
    pass.  ``decoder``: see :func:`sampled_frames`.  With ``echo`` (and the ffmpeg decoder), every
    decoded frame's 16×12 fingerprint is kept for the sample's *echo* (:func:`_echoes`: the closest
    earlier decoded frame, ``echo_lag`` seconds back, how close, ``echo_ratio``, and how far beyond
    chance, ``echo_match``); else all three are null.  ``osd``: the pixels of the camera's burned-in clock in each sample
    (:class:`junheng.supervision.osd.ClockReader`: found in the samples, or ``osd_region`` as shares
    of the frame), null throughout when no clock was found; ``VideoInfo.osd_region`` says where.
    A file that cannot be opened raises :class:`InputError`."""
    import cv2

    path = Path(path)
    report = progress or _noop
    if frame_width is None:
        frame_width = int(getattr(on_frame, "width", ALIGN_WIDTH))
    sampler, (width, height), close = sampled_frames(path, fps, width=max(frame_width, ALIGN_WIDTH) if on_frame
                                                     else ALIGN_WIDTH, colour=on_frame is not None, decoder=decoder,
                                                     echo=echo)
    # OpenCV's own threads for pictures this small (a 768-wide frame, ORB on 320) cost more CPU in
    # hand-offs than they save: one thread while the recording is read (the same results), ≈ 6 %
    # of the Python side's CPU; restored after
    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        src_w, src_h = width, height
        scale = min(1.0, WORK_WIDTH / max(src_w, 1))
        size = (max(THUMB, round(src_w * scale)), max(THUMB, round(src_h * scale)))
        parts: list[dict[str, np.ndarray]] = []
        times: list[float] = []
        aligned: list[float] = []
        fine: list[np.ndarray] = []
        registered: list[np.ndarray] = []
        zooms: list[float] = []
        aligner = _Aligner()
        clock = ClockReader(osd_region)
        frames: list[np.ndarray] = []
        prev = None
        for t, frame in sampler:
            if on_frame is not None:
                on_frame(t, frame)
            grey = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY) if frame.ndim == 3 else frame
            clock(t, grey)
            aligned.append(aligner(grey, t))
            registered.append(aligner.registered(aligned[-1]))
            zooms.append(aligner.zoom)
            grey = _work_frame(grey, aligner.view, size)
            fine.append(cv2.resize(grey, FINE, interpolation=cv2.INTER_AREA) if grey.shape[1] >= FINE[0]
                        else cv2.resize(grey, FINE, interpolation=cv2.INTER_LINEAR))
            frames.append(grey)
            times.append(t)
            if len(times) % 10 == 0:
                report(sampler.done(t), f"{t:.0f} s")
            if len(frames) == _CHUNK:
                parts.append(_stats(np.stack(frames), prev, pixel_threshold))
                prev = frames[-1]
                frames = []
        if frames:
            parts.append(_stats(np.stack(frames), prev, pixel_threshold))
    finally:
        cv2.setNumThreads(threads)
        close()
    crops, region = clock.crops()
    info = replace(sampler.info(path, width, height), osd_region=region)
    report(1.0, f"{sampler.last_t:.0f} s")
    cols = {k: np.concatenate([p[k] for p in parts]) for k in ("brightness", "contrast", "diff", "changed")}
    thumbs = np.concatenate([p["thumb"] for p in parts])
    stats = pl.DataFrame({"t_s": np.asarray(times, dtype=np.float64),
                          **{k: v.astype(np.float64) for k, v in cols.items()}}).with_columns(
        pl.Series("align", np.asarray(aligned, dtype=np.float64)).fill_nan(None),
        pl.Series("zoom", np.asarray(zooms, dtype=np.float64)).fill_nan(None),
        pl.col("diff").fill_nan(None), pl.col("changed").fill_nan(None),
        pl.Series("thumb", thumbs, dtype=pl.Array(pl.UInt8, THUMB * THUMB)),
        pl.Series("fine", np.stack(fine).reshape(len(fine), -1), dtype=pl.Array(pl.UInt8, FINE[0] * FINE[1])),
        pl.Series("reg", np.stack(registered).reshape(len(registered), -1), dtype=pl.Array(pl.UInt8, REG[0] * REG[1])))
    every = sampler.echoes() if isinstance(sampler, _FFmpegSampler) else None
    if every is not None:
        from threadpoolctl import threadpool_limits

        # one BLAS thread: the search's (64 × window) products are too small for OpenBLAS's workers, whose
        # spinning cost ≈ 7× the products' CPU (180 s, 1 s keys at 2 samples/s: 0.108 → 0.015 CPU s; the same result)
        with threadpool_limits(1, user_api="blas"):
            lag, ratio, match = _echoes(stats["t_s"].to_numpy(), *every)
    else:
        lag, ratio, match = (np.full(stats.height, np.nan),) * 3
    return stats.with_columns(pl.Series("echo_lag", lag, dtype=pl.Float64).fill_nan(None),
                              pl.Series("echo_ratio", ratio, dtype=pl.Float64).fill_nan(None),
                              pl.Series("echo_match", match, dtype=pl.Float64).fill_nan(None),
                              # one fixed-width array a sample (as fine, reg), zero-width nulls without a clock
                              pl.Series("osd", crops, dtype=pl.Array(pl.UInt8, crops.shape[1])) if crops is not None
                              else pl.Series("osd", [None] * stats.height, dtype=pl.Array(pl.UInt8, 0))), info


def changed_blocks(x: np.ndarray, before: np.ndarray) -> np.ndarray:
    """Row by row, the blocks in which ``x`` differs from ``before`` by at least one grey level (the
    fingerprints are whole numbers), or every block of a row where none does."""
    moved = np.abs(x - before) >= 0.5
    moved[~moved.any(axis=1)] = True
    return moved


def changed_median(x: np.ndarray, copy: np.ndarray, before: np.ndarray) -> np.ndarray:
    """Row by row, the median of |``x`` − ``copy``| over the blocks in which ``x`` differs from
    ``before`` by at least one grey level (the fingerprints are whole numbers): the blocks that moved
    or carry fresh noise; over all blocks where none does.  A camera at its real resolution averages
    hundreds of pixels into each block, so its noise rounds away and the still background is the same
    number in any two frames: over all blocks, that background would be the median and make any two
    frames of a live room look like copies."""
    moved = changed_blocks(x, before)
    d = np.where(moved, np.abs(x - copy), np.inf)
    d.sort(axis=1)
    count, rows = moved.sum(axis=1), np.arange(len(d))
    return (d[rows, (count - 1) // 2] + d[rows, count // 2]) / 2


def matched_share(x: np.ndarray, copy: np.ndarray, before: np.ndarray | None, noise: np.ndarray,
                  moved: np.ndarray | None = None) -> np.ndarray:
    """Row by row, the share of the blocks that changed since ``before`` (:func:`changed_blocks`; or
    ``moved``, those blocks found already) in which ``x`` lies within a
    quarter of ``noise`` of ``copy``."""
    if moved is None:
        moved = changed_blocks(x, before)
    near = moved & (np.abs(x - copy) <= (0.25 * np.asarray(noise)).astype(x.dtype)[:, None])
    return np.count_nonzero(near, axis=1) / np.count_nonzero(moved, axis=1)


CHANCE_PAIRS = 24  # the unrelated samples each sample is matched against (:func:`chance_share`)


def chance_share(f: np.ndarray, noise: np.ndarray, min_lag: int) -> np.ndarray:
    """Each sample's share of matching blocks (:func:`matched_share`) against samples of the same
    recording that are no copy of it: the median over :data:`CHANCE_PAIRS` samples at least
    ``min_lag`` away (offsets spread evenly over the recording, taken cyclically, so a replay's one
    source among them does not move the median).  A live room's fresh noise keeps it near 0.2; a
    motionless room filmed at a resolution whose block means round the noise away to whole grey
    levels flips the same few blocks back and forth, so about half of them match *any* other
    sample (issue #16: 0.5 on a 720p room with sensor noise σ 3, H.264) — a copy, in phase (the
    replay rule's first tier) or at any phase (the echo), must be measured against that."""
    n = len(f)
    if n < 2 * min_lag + 2:
        return np.zeros(n)
    offsets = np.unique(np.linspace(min_lag, n - min_lag, CHANCE_PAIRS).round().astype(np.int64))
    i = np.arange(1, n)
    x = f[i]
    moved = changed_blocks(x, f[:-1])  # found once for every pair
    shares = [matched_share(x, f[(i + o) % n], None, noise[i], moved) for o in offsets]
    return np.r_[0.0, np.median(shares, axis=0)]


def _echoes(t: np.ndarray, times: np.ndarray, prints: np.ndarray,
            block: int = 64) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each sample's *echo*: the earlier decoded frame (``ECHO_MIN_S`` to ``ECHO_MAX_S`` seconds
    back, any frame, not only samples; of equal ones the latest) whose 16×12 fingerprint is closest to the sample's own
    (searched in a 32-dimensional random projection, a matrix product per block of samples), as
    ``lag`` (seconds back) and ``ratio`` = the median |difference| to it over the blocks that changed
    since the previous sample (:func:`changed_median`) ÷ the median |difference| over all 192 blocks
    to the decoded frame just before the sample (the sensor's noise; at least 0.25 grey levels).  A
    frame played again is the same picture with the same noise (ratio ≈ 0); any other frame of a live
    room differs at least by the noise (ratio ≈ 1) or, where the noise rounds away, in the blocks
    that move.  And ``match``: where the share of those blocks within a quarter of the noise of the
    echo (:func:`matched_share`) lies from this recording's *chance* share (:func:`chance_share`,
    against samples at least :data:`ECHO_CHANCE_S` away; 0) to every block (1) — a motionless room
    whose noise rounds away flips the same few blocks, so about half of them match any frame, and
    the closest of thousands of earlier frames then has ratio 0 by chance (issue #16).
    NaN where a sample's frame is not among the decoded frames or has no frame that far back."""
    n, m = len(t), len(times)
    lag, ratio, match = np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
    if m < 2 or n == 0:
        return lag, ratio, match
    def f(idx: np.ndarray) -> np.ndarray:  # only the rows compared are cast (not every frame at once)
        return prints[idx].astype(np.float32)

    own = np.clip(np.searchsorted(times, t - 1e-4), 0, m - 1)
    has = (np.abs(times[own] - t) <= 1e-3) & (own >= 1)
    before = np.where(np.r_[False, has[:-1]], np.r_[0, own[:-1]], own - 1)  # the previous sample's frame
    x = f(own)  # the samples' own fingerprints, and their noise
    noise = np.maximum(np.median(np.abs(x - f(np.maximum(own - 1, 0))), axis=1), 0.25)
    period = float(np.median(np.diff(t))) if n > 1 else 1.0
    chance = chance_share(x, noise, max(1, int(np.ceil(ECHO_CHANCE_S / max(period, 1e-6) - 1e-9))))
    basis = np.random.default_rng(0).standard_normal((prints.shape[1], 32)).astype(np.float32) / np.sqrt(32)
    proj = np.empty((m, 32), np.float32)
    for a in range(0, m, 4096):
        proj[a:a + 4096] = prints[a:a + 4096].astype(np.float32) @ basis
    sq = (proj * proj).sum(axis=1)
    rows = np.flatnonzero(has)
    for r0 in range(0, len(rows), block):
        r = rows[r0:r0 + block]
        k = own[r]
        lo = int(np.searchsorted(times, t[r[0]] - ECHO_MAX_S - 1e-6))
        hi = int(np.searchsorted(times, t[r[-1]] - ECHO_MIN_S + 1e-6, side="right"))
        if hi <= lo:
            continue
        d2 = proj[k] @ proj[lo:hi].T  # one (rows × window) matrix, updated in place
        d2 *= -2
        d2 += sq[None, lo:hi]
        d2 += sq[k, None]
        first = np.searchsorted(times, t[r] - ECHO_MAX_S - 1e-6) - lo  # each row's own window [first, last)
        last = np.searchsorted(times, t[r] - ECHO_MIN_S + 1e-6, side="right") - lo
        for row, (a, b) in enumerate(zip(first, last)):
            d2[row, :max(a, 0)] = np.inf
            d2[row, max(b, 0):] = np.inf
        d2 = d2[:, ::-1]  # ties (a copy of a copy): the latest frame
        best = d2.shape[1] - 1 - np.argmin(d2, axis=1)
        d2 = d2[:, ::-1]
        fine = np.isfinite(d2[np.arange(len(r)), best])
        r, j = r[fine], lo + best[fine]
        echo, previous = f(j), f(before[r])
        lag[r] = t[r] - times[j]
        ratio[r] = changed_median(x[r], echo, previous) / noise[r]
        match[r] = (matched_share(x[r], echo, previous, noise[r]) - chance[r]) / np.maximum(1 - chance[r], 1e-9)
    return lag, ratio, match


def public_statistics(stats: pl.DataFrame) -> pl.DataFrame:
    """The columns of a statistics frame that are meant for people (:data:`PUBLIC_COLUMNS`)."""
    return stats.select(PUBLIC_COLUMNS)


__all__ = ["INTERNAL_COLUMNS", "PUBLIC_COLUMNS", "VideoInfo", "frame_statistics", "public_statistics", "sampled_frames"]
