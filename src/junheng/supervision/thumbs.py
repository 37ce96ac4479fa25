"""Small pictures of a recording for the reviewer's timeline, taken in the analysis's own decoding
pass: :class:`Thumbnails` is an ``on_frame`` callback that keeps a JPEG of each sampled frame
(``width`` pixels wide), bounded — beyond ``limit`` pictures every other one is dropped and only
every second later sample is kept, so a long recording keeps at most ``limit`` evenly spaced ones —
and :meth:`Thumbnails.pick` chooses those nearest to the flags' times and a timeline.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from junheng.exceptions import ParameterError


class Thumbnails:
    def __init__(self, width: int = 192, limit: int = 2400, quality: int = 70) -> None:
        if not (16 <= width <= 1920 and limit >= 2 and 10 <= quality <= 100):
            raise ParameterError(f"缩略图参数无效 / invalid thumbnail parameters: width={width}, limit={limit}, "
                                 f"quality={quality}")
        self.width, self.limit, self.quality = width, limit, quality
        self.kept: list[tuple[float, bytes]] = []
        self._stride, self._seen = 1, 0

    def __call__(self, t: float, frame: np.ndarray) -> None:
        import cv2

        self._seen += 1
        if (self._seen - 1) % self._stride:
            return
        h, w = frame.shape[:2]
        small = cv2.resize(frame, (self.width, max(2, round(h * self.width / w))), interpolation=cv2.INTER_AREA) \
            if w > self.width else frame
        ok, buf = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, self.quality])
        if ok:
            self.kept.append((float(t), buf.tobytes()))
        if len(self.kept) > self.limit:
            self.kept = self.kept[::2]
            self._stride *= 2

    def pick(self, times: Iterable[float], timeline: int = 24) -> list[tuple[float, bytes]]:
        """The kept pictures nearest to each of ``times`` and ``timeline`` evenly spaced ones,
        sorted by time, each once."""
        if not self.kept:
            return []
        kept_t = np.asarray([t for t, _ in self.kept])
        want = set(np.linspace(0, len(self.kept) - 1, min(timeline, len(self.kept))).round().astype(int).tolist())
        for t in times:
            want.add(int(np.argmin(np.abs(kept_t - t))))
        return [self.kept[i] for i in sorted(want)]


__all__ = ["Thumbnails"]
