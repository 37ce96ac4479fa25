"""The per-sample picture statistics (``frames.frame_statistics``) after each cut of their cost: the
same numbers as their definition computes them, on real decoded pictures."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

from junheng.supervision import frames
from junheng.supervision.frames import _usable, frame_statistics

pytestmark = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg not installed")


class _Wide:
    """A frame callback that only takes the 768 px colour frame (as the face counter gets it)."""

    width = 768

    def __call__(self, t: float, frame: np.ndarray) -> None:
        return None


@pytest.fixture(scope="module")
def camera_clip(video, tmp_path_factory):
    """20 s of the fixture's room at 1280×720 H.264 (a key frame every second): lights dimmed to a fifth 4–8 s (dark but textured
    samples), the camera shifted from 13 s (a view away from the reference: the registered print warped)."""
    tmp = tmp_path_factory.mktemp("stats")
    avi = video.make_clip(tmp / "room.avi", 20, [("dim", 4, 8, 0.2), ("shift", 13)], seed=11)
    clip = tmp / "room.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(avi), "-vf", "scale=1280:720", "-c:v", "libx264",
                    "-preset", "veryfast", "-crf", "23", "-g", "10", "-bf", "0", "-pix_fmt", "yuv420p", str(clip)],
                   check=True)
    return clip


def _by_definition(img: np.ndarray) -> bool:
    return bool(img.mean() >= 30 and img.std() >= 8)


def test_a_picture_is_usable_exactly_as_its_mean_and_deviation_say():
    """Mean ≥ 30 and population standard deviation ≥ 8, at and either side of both bounds."""
    half = np.zeros((10, 20), np.uint8)
    for low, high, expected in ((22, 38, True),  # mean 30, deviation exactly 8
                                (23, 38, False),  # deviation 7.5
                                (21, 37, False),  # deviation 8, mean 29
                                (22, 39, True),  # mean 30.5, deviation 8.5
                                (0, 255, True)):
        half[:, :10], half[:, 10:] = low, high
        assert _usable(half) is expected, (low, high)
        assert _by_definition(half) is expected, (low, high)
    assert not _usable(np.full((180, 320), 200, np.uint8))
    assert not _usable(np.zeros((180, 320), np.uint8))


def test_usable_agrees_with_the_mean_and_deviation_on_every_sample(camera_clip):
    sampler, _, _ = frames.sampled_frames(camera_clip, 2.0, width=320, colour=False)
    seen = [(_usable(grey), _by_definition(grey)) for _, grey in sampler]
    assert len(seen) == 40 and all(a == b for a, b in seen)
    assert sum(not a for a, _ in seen) >= 6  # the dark samples are among them


@pytest.mark.parametrize("fps", [1.0, 2.0])
def test_the_statistics_equal_those_computed_by_the_definitions(camera_clip, monkeypatch, fps):
    """The whole statistics frame of the 768 px path equals the one computed with the plain
    definitions (NumPy's mean and standard deviation for the dark or flat test)."""
    fast, _ = frame_statistics(camera_clip, fps, on_frame=_Wide())
    monkeypatch.setattr(frames, "_usable", _by_definition)
    plain, _ = frame_statistics(camera_clip, fps, on_frame=_Wide())
    assert fast.height == 20 * fps
    assert fast["align"].null_count() >= 4 * fps  # the dark stretch is not aligned
    assert fast.filter(fast["t_s"] >= 14)["align"].min() >= 0.5  # the shifted view is away: ECC warps it
    assert fast.equals(plain, null_equal=True)


def _area(n: int, m: int) -> np.ndarray:
    """The m × n matrix of area averaging n pixels into m: row i the share of each source pixel
    inside [i·n/m, (i + 1)·n/m), divided by the width n/m."""
    edges = np.arange(m + 1) * n / m
    lo, hi = np.arange(n), np.arange(n) + 1
    overlap = np.clip(np.minimum(hi[None], edges[1:, None]) - np.maximum(lo[None], edges[:-1, None]), 0, None)
    return overlap / (n / m)


def test_the_work_frame_is_the_area_mean_of_the_source_pixels(camera_clip):
    """From a 768 px frame the work frame is taken from the 320 px alignment copy (a 2 × 2 mean):
    every pixel within one grey level of the exact mean of the source pixels it covers (computed in
    float64: 4.8 × 4.8 pixels of the 768 px grey frame), and the sampled frame's own direct shrinking
    within half of one; a 320 px sample (no face counter) gives the very frame shrunk directly."""
    import cv2

    sampler, _, _ = frames.sampled_frames(camera_clip, 2.0, width=768, colour=True)
    worst = []
    for _, frame in sampler:
        grey = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        assert grey.shape == (432, 768)
        view = cv2.resize(grey, (320, 180), interpolation=cv2.INTER_AREA)
        work = frames._work_frame(grey, view, (160, 90))
        exact = _area(432, 90) @ grey @ _area(768, 160).T
        pairs = view.reshape(90, 2, 160, 2).astype(np.int64).sum(axis=(1, 3))
        assert (work == (pairs + 2) // 4).all()  # the 2 × 2 mean of the copy, rounded half up
        worst.append(np.abs(work - exact).max())
        assert np.abs(cv2.resize(grey, (160, 90), interpolation=cv2.INTER_AREA) - exact).max() <= 0.5 + 1e-4
        assert np.array_equal(frames._work_frame(view, view, (160, 90)),
                              cv2.resize(view, (160, 90), interpolation=cv2.INTER_AREA))
    assert len(worst) == 40 and max(worst) <= 1.0 + 1e-4  # (OpenCV's weights are float32)
    # a size the copy is not twice of: the frame itself, directly
    odd = np.arange(300 * 500, dtype=np.uint32).reshape(300, 500).astype(np.uint8)
    copy = cv2.resize(odd, (320, 192), interpolation=cv2.INTER_AREA)
    assert np.array_equal(frames._work_frame(odd, copy, (160, 97)),
                          cv2.resize(odd, (160, 97), interpolation=cv2.INTER_AREA))


def test_a_320_px_sample_gives_the_statistics_of_the_direct_shrinking(camera_clip, monkeypatch):
    """Without a face counter ffmpeg gives 320 px grey samples: the work frame through the copy is the
    one shrunk directly, so the whole statistics frame is the same."""
    import cv2

    fast, _ = frame_statistics(camera_clip, 2.0)
    monkeypatch.setattr(frames, "_work_frame", lambda grey, view, size: cv2.resize(grey, size, interpolation=cv2.INTER_AREA))
    assert fast.equals(frame_statistics(camera_clip, 2.0)[0], null_equal=True)


def test_the_echo_search_on_one_blas_thread_finds_the_same_echoes(camera_clip):
    """``frame_statistics`` searches the echoes with one BLAS thread (``threadpoolctl``): the lags and
    ratios (and how far beyond chance) are those of the search run with the library's own threads."""
    from junheng.supervision.frames import _echoes, _FFmpegSampler

    stats, _ = frame_statistics(camera_clip, 2.0)
    sampler = _FFmpegSampler(camera_clip, 0.5, 320, colour=False, echo=True)
    t = np.array([s for s, _ in sampler])
    lag, ratio, match = _echoes(t, *sampler.echoes())
    assert np.isfinite(lag).sum() >= 30
    assert np.array_equal(stats["echo_lag"].fill_null(np.nan).to_numpy(), lag, equal_nan=True)
    assert np.array_equal(stats["echo_ratio"].fill_null(np.nan).to_numpy(), ratio, equal_nan=True)
    assert np.array_equal(stats["echo_match"].fill_null(np.nan).to_numpy(), match, equal_nan=True)
