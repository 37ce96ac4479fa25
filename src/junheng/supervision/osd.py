"""The camera's burned-in clock (OSD, on-screen display) as replay evidence.

Exam-room cameras burn the date and time (``2022-06-18 09:31:07``, often with the room's name)
into every frame.  Footage played again shows the clock of when it was filmed: its clock image
repeats one seen earlier in the recording while the container's time stamps run on; a picture
fed from a still (or a stuck feed) shows a clock that stands.  High-contrast text survives
re-encoding where a room's sensor noise does not (a re-encoded copy of a motionless room is new
noise, so the fingerprints of :mod:`junheng.supervision.flags` have nothing to match), so the
clock still shows the repeat.  No OCR: images of the clock region are compared with each other.

* :func:`find_clock` — the clock's region, found from the sampled frames alone: the compact area
  whose pixels change at (nearly) every second of container time while the picture a whole
  10 s later matches again (the seconds' units digit: a fan or a swaying pupil changes as often,
  but does not come back after exactly ten seconds), widened to the left over ``HH:MM:``;
* :class:`ClockReader` — the per-sample hook of ``frames.frame_statistics``: keeps the first
  samples until the region is found (or given), then only the region's pixels of each sample;
* :func:`clock_flags` — the evidence: a stretch whose clock images match those of samples more
  than ``MIN_LAG_S`` earlier (``loop``), a stretch whose clock stands while the time stamps
  run (``frozen``); the margin is calibrated on the recording itself (its own second-to-second
  changes).

The method, its thresholds and its evaluation: docs/methods/video-flags.md, "The camera's clock".
"""

from __future__ import annotations

import math

import numpy as np

from junheng.exceptions import ParameterError

STAND_S = 2.0  # a clock stands when its image is that of STAND_S seconds before
MIN_LAG_S = 2.5  # a clock image seen again at least this much later repeats (two samples of one second lie < 1 s apart)
PROBE_SAMPLES = 120  # the region is searched in the first this many samples (60–120 s at 2–1 samples/s)
PROBE_MIN_S = 24.0  # … which must span at least this (two turns of the seconds' units digit and more)
STRONG = 40.0  # a pixel "changed" between two samples: its grey level moved by more than this (text is high-contrast)
CHANGE_RATE = 0.15  # … in at least this share of the 1-s steps: a candidate pixel of the seconds' digit
BACK_RATIO = 0.9  # … and 10 s apart in at most this × as many (the digit is back; a fan next to it is not)
TICK_SHARE = 0.65  # the candidate area changed in at least this share of the 1-s steps (the clock ticks; pairs 0.7 s
#   apart where B-frames are skipped can show one second twice) …
OTHER_SHARE = 0.7  # … and 2–9 s apart in at least this share (another digit) …
TEN_SHARE = 0.7  # … but matched 10 s apart in at least this share (the same units digit again)
MIN_HEIGHT = 5  # … of at least this many rows grown by a pixel each side (a digit 3 px tall; a few pixels of one are not it)
MAX_AREAS = 24  # … of at most this many candidate areas (the most changing)
WINDOW_S = 10.0  # … in some stretch of this many seconds (of first samples of its pairs)
EXACT = 0.1  # two samples this close to a whole number of seconds apart are that apart (a frame's jitter)
EDGE = 1 / 6  # … lying in the top or bottom this share of the rows (cameras draw their clock at an edge; a clock
#   in the scene — a projector's countdown, a wall clock — lies in the picture, and its stops are no evidence)
CHARS = 8.5  # the region: this many character pitches left of the seconds' right edge (HH:MM:SS)
MARGIN = 0.35  # a clock image repeats when it differs from an earlier one by at most this × a tick's difference
TICK_QUANTILE = 10  # … a tick's difference: this percentile of the recording's 1-s differences (its smallest ticks)
MIN_TICK = 60.0  # a clock whose smallest ticks differ by less (grey levels, the peak difference) is not resolved
PEAK = 3  # the difference of two clock images: the mean of their this many largest absolute pixel differences
MAX_REPEAT = 0.5  # a "clock" whose images repeat in more than this share of the samples is none (a periodic motion) …
FROM_START_S = 10.0  # … when its first repeat shows the clock of the recording's first this many seconds (a short
#   clip looped over most of the recording repeats as much, but its first repeat shows a later time)
MOVING_SHARE = 0.5  # a clock standing while the picture moves in at least this share of its samples: the overlay hung
CANDIDATES = 4  # the earlier samples closest in a random projection, compared in full
PROJECT = 48  # dimensions of that projection


def _pairs(t: np.ndarray, lag: float, tol: float = 0.3) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs (i, j), j after i, whose time stamps lie ``lag`` ± ``tol`` seconds apart (the
    sample nearest t_i + lag).  The tolerance is wide: with B-frames skipped, samples 1 s apart on
    the grid lie 0.8 and 1.2 s apart in turn (a kept sample may be two frames late)."""
    if len(t) < 2:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    j = np.clip(np.searchsorted(t, t + lag), 1, len(t) - 1)
    j = np.where(np.abs(t[j - 1] - t - lag) < np.abs(t[j] - t - lag), j - 1, j)
    ok = (np.abs(t[j] - t - lag) <= tol) & (j > np.arange(len(t)))
    return np.flatnonzero(ok), j[ok]


def _another_digit(span: np.ndarray) -> np.ndarray:
    """Where two samples ``span`` seconds apart must show another seconds' units digit whatever the
    clock's phase: the ticks between them — ``round(span)`` within ``EXACT`` of a whole second, else
    ``floor`` or ``ceil`` by the phase — are never a multiple of ten (nor none).  With B-frames
    skipped, samples on a 1-s grid lie 0.8 and 1.2 s apart in turn: when the clock ticks in the
    0.2 s between, every 0.8-s pair shows one second twice (half the 1-s pairs), and every 9.2-s pair
    ten ticks."""
    whole = np.round(span)
    near = np.abs(span - whole) <= EXACT
    lo, hi = np.where(near, whole, np.floor(span)), np.where(near, whole, np.ceil(span))
    return (lo % 10 != 0) & (hi % 10 != 0)


def _changed(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Where two uint8 images differ by more than ``STRONG`` grey levels (no int16 copies)."""
    return np.maximum(a, b) - np.minimum(a, b) > STRONG


def _ticks_like_a_clock(pixels: np.ndarray, t: np.ndarray) -> bool:
    """Whether the area ``pixels`` (K samples × its pixels) behaves like the seconds' units digit in
    some stretch of ``WINDOW_S`` seconds: for the samples of the stretch, the area changed (a pixel
    past ``STRONG``) against the sample 1 s later in ≥ ``TICK_SHARE`` of them and against the samples
    2, 3, … 9 s later in ≥ ``OTHER_SHARE`` each, and is back 10 s later in ≥ ``TEN_SHARE``.  In a
    stretch, not over the whole probe: footage played again inside the probe makes the clock jump,
    and the pairs across a jump do not keep the digit's ten-second rhythm."""
    k = len(t)
    start = np.arange(k)
    end = np.searchsorted(t, t + WINDOW_S)  # the samples of the stretch from each sample on
    alive = end - start >= 4  # the stretches still passing every lag tried
    for lag in (10, *range(1, 10)):  # 10 s first: a face or a fan fails it, and the other lags are not needed
        i, j = _pairs(t, float(lag))
        if lag < 10:  # only pairs whose span cannot hold a whole ten ticks (nor none) must show another digit
            clear = _another_digit(t[j] - t[i])
            i, j = i[clear], j[clear]
        changed = _changed(pixels[i], pixels[j]).any(axis=1)
        need = np.zeros(k + 1, np.float32)  # 1 where the pair behaves as a clock's, 0 where not, as running sums
        have = np.zeros(k + 1, np.float32)  # … 1 where there is a pair
        need[i + 1] = ~changed if lag == 10 else changed
        have[i + 1] = 1
        need, have = np.cumsum(need), np.cumsum(have)
        got, had = need[end] - need[start], have[end] - have[start]
        share = TEN_SHARE if lag == 10 else TICK_SHARE if lag == 1 else OTHER_SHARE
        alive &= (had >= 2) & (got >= np.float32(share) * np.maximum(had, 1))
        if not alive.any():
            return False
    return True


def find_clock(frames: np.ndarray, t: np.ndarray) -> tuple[int, int, int, int] | None:
    """The clock's region ``(x, y, w, h)`` in the pixels of ``frames`` (K × H × W grey, sampled at
    times ``t`` s), or None when no clock is seen.

    1. pixels whose grey level moves by more than ``STRONG`` in at least ``CHANGE_RATE`` of the
       pairs of samples 1 s apart (a seconds' digit's strokes; a still room's noise and a passing
       pupil do not) and, in pairs 10 s apart, in at most ``BACK_RATIO`` times as many (the
       digit is back; a fan next to the clock is not), grown by a pixel and cut into connected areas;
    2. an area is the seconds' units digit when, over its pixels, the picture changes in at
       least ``TICK_SHARE`` of the 1-s pairs, in ``OTHER_SHARE`` of the pairs 2–9 s apart each, and
       is back (no pixel past ``STRONG``) in ``TEN_SHARE`` of the pairs 10 s apart, for the pairs
       starting in some stretch of ``WINDOW_S`` (:func:`_ticks_like_a_clock`; of the pairs 1–9 s
       apart only those that show another digit whatever the clock's phase, :func:`_another_digit`) —
       the units digit comes back every ten seconds; a fan, a swinging lamp or a swaying pupil changes
       as often but does not; and it lies in the top or bottom ``EDGE`` of the rows, where cameras draw
       their clock (a projector's countdown or a wall clock inside the scene ticks as well);
    3. the region: that digit's rows (± 1 px) and ``CHARS`` character pitches to the left of its
       right edge (the pitch from the digit's width and height), so it holds ``HH:MM:SS``; of
       several such areas the one back 10 s later in most of the probe's 10-s pairs (a swaying
       pupil passes the stretch test by chance, not the whole probe), then the one changing most."""
    k, h, w = frames.shape
    if k < 8 or t[-1] - t[0] < PROBE_MIN_S:
        return None
    import cv2

    def rate(lag: float) -> tuple[np.ndarray, int]:  # per pixel: the share of pairs lag s apart it changed in
        i, j = _pairs(t, lag)
        count = np.zeros((h, w), np.uint8)  # at most PROBE_SAMPLES − 1 pairs
        step = np.empty((h, w), np.uint8)
        for a, b in zip(i.tolist(), j.tolist()):  # uint8 in place, pair by pair (int16 copies cost 15× as much)
            cv2.absdiff(frames[a], frames[b], dst=step)
            cv2.threshold(step, STRONG, 1, cv2.THRESH_BINARY, dst=step)
            cv2.add(count, step, dst=count)
        return count.astype(np.float32) / max(len(i), 1), len(i)

    tick, n1 = rate(1.0)
    back, n10 = rate(10.0)
    if n1 < 8 or n10 < 6:
        return None
    # a digit's pixel changes from second to second and is back ten seconds later; a fan's is not back
    cand = ((tick >= CHANGE_RATE) & (back <= BACK_RATIO * tick)).astype(np.uint8)
    if not cand.any():
        return None
    n, labels, boxes, _ = cv2.connectedComponentsWithStats(cv2.dilate(cand, np.ones((3, 3), np.uint8)), connectivity=8)
    found = []
    weight = np.bincount(labels.ravel(), weights=tick.ravel(), minlength=n)
    i10, j10 = _pairs(t, 10.0)
    for c in (np.argsort(weight[1:])[::-1][:MAX_AREAS] + 1).tolist():  # a busy room: its most changing areas
        x, y, bw, bh, _area = (int(v) for v in boxes[c])
        if bh < MIN_HEIGHT or bh > h / 4 or bw < 3 or bw > w / 4 or bw > 2 * bh:  # (grown by a pixel each side)
            continue
        if y + bh > EDGE * h and y < (1 - EDGE) * h:  # inside the picture, not at its top or bottom edge
            continue
        # K × the area's pixels (the digit's strokes, neighbours), gathered from its box only
        pixels = np.ascontiguousarray(frames[:, y:y + bh, x:x + bw][:, labels[y:y + bh, x:x + bw] == c])
        if _ticks_like_a_clock(pixels, t):
            # back 10 s later over the whole probe, not only in a stretch: a clock's units digit is (but
            # across a replay's jumps), a swaying pupil that passed in a stretch is not (1 sample/s, low-motion
            # room: pupils 0.52–0.73 of the 10-s pairs, the clock 0.82 — and the pupil was taken, changing more)
            back_share = 1.0 - float(_changed(pixels[i10], pixels[j10]).any(axis=1).mean())
            found.append((back_share, float(weight[c]), x, y, bw, bh))
    if not found:
        return None
    _, _, x, y, bw, bh = max(found)
    pitch = max(bw - 1.0, 0.55 * (bh - 2))  # the area was grown by a pixel on every side
    right = min(w, x + bw)
    left = max(0, int(round(right - CHARS * pitch)))
    return left, y, right - left, bh


def check_region(region) -> tuple[float, float, float, float]:
    """``region`` (x, y, w, h as shares 0–1 of the frame's width and height, w and h above 0) as
    floats, or :class:`ParameterError` naming the value."""
    try:
        parts = tuple(float(v) for v in region)
    except (TypeError, ValueError):
        parts = ()
    if len(parts) != 4 or not all(math.isfinite(v) and 0 <= v <= 1 for v in parts) or parts[2] <= 0 or parts[3] <= 0:
        raise ParameterError(f"屏显时钟区域须为 4 个 0–1 之间的数 X,Y,W,H（画面宽高的比例，W、H 大于 0） / the clock's "
                             f"region must be four numbers 0–1, X,Y,W,H as shares of the frame (W, H above 0); "
                             f"got {region!r}")
    return parts  # type: ignore[return-value]


class ClockReader:
    """The per-sample hook of ``frames.frame_statistics``: ``reader(t, grey)`` for every sampled
    frame (grey, the same size throughout a recording).  The first ``PROBE_SAMPLES`` frames are
    kept until :func:`find_clock` has looked at them (or ``region`` is given: ``(x, y, w, h)`` as
    shares 0–1 of the frame's width and height, for a camera whose clock the search misses; else
    :class:`ParameterError`, :func:`check_region`); after
    that only the region's pixels of each sample.  :meth:`crops` returns the region's pixels of
    every sample (N × P, uint8) and the region in pixels, or ``(None, None)`` when no clock was
    found."""

    def __init__(self, region: tuple[float, float, float, float] | None = None) -> None:
        self.given = None if region is None else check_region(region)
        self.region: tuple[int, int, int, int] | None = None
        self.searched = False
        self.times: list[float] = []
        self.frames: np.ndarray | None = None  # the probe: PROBE_SAMPLES frames, filled in order
        self.rows: list[np.ndarray] = []

    def _cut(self, grey: np.ndarray) -> np.ndarray:
        x, y, w, h = self.region
        return np.ascontiguousarray(grey[y:y + h, x:x + w]).reshape(-1)

    def _search(self) -> None:
        self.searched = True
        probe = self.frames[:len(self.times)]
        if self.given is not None:
            hh, ww = probe.shape[1:]
            fx, fy, fw, fh = self.given
            x, y = int(round(fx * ww)), int(round(fy * hh))
            w, h = max(1, int(round(fw * ww))), max(1, int(round(fh * hh)))
            self.region = (min(x, ww - 1), min(y, hh - 1), min(w, ww - x), min(h, hh - y))
        else:
            self.region = find_clock(probe, np.asarray(self.times))
        if self.region is not None:
            self.rows = [self._cut(g) for g in probe]
        self.frames = None

    def __call__(self, t: float, grey: np.ndarray) -> None:
        if self.searched:
            if self.region is not None:
                self.rows.append(self._cut(grey))
            return
        if self.frames is None:
            self.frames = np.empty((PROBE_SAMPLES, *grey.shape), np.uint8)
        self.frames[len(self.times)] = grey
        self.times.append(t)
        if len(self.times) >= PROBE_SAMPLES:
            self._search()

    def crops(self) -> tuple[np.ndarray | None, tuple[int, int, int, int] | None]:
        if not self.searched and self.times:
            self._search()
        if self.region is None or not self.rows:
            return None, None
        return np.stack(self.rows), self.region


def _peak(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row by row, the mean of the ``PEAK`` largest absolute differences of ``a`` and ``b``
    (a changed digit moves a few pixels a lot; re-encoding moves many a little)."""
    d = np.abs(a.astype(np.float32) - b.astype(np.float32))
    k = min(PEAK, d.shape[1])
    return np.partition(d, d.shape[1] - k, axis=1)[:, -k:].mean(axis=1)


def _closest_earlier(x: np.ndarray, t: np.ndarray, min_lag: float, max_lag: float) -> tuple[np.ndarray, np.ndarray]:
    """For every row of ``x``, the earlier row (``min_lag`` ≤ Δt ≤ ``max_lag``) whose image differs
    least (:func:`_peak`), and that difference (inf when there is none): the ``CANDIDATES`` closest
    in a fixed random projection (``PROJECT`` dimensions; one matrix product per 512 rows) compared
    in full."""
    n, p = x.shape
    best = np.full(n, -1, np.int64)
    diff = np.full(n, np.inf, np.float32)
    if n < 2:
        return best, diff
    proj = np.random.default_rng(16).normal(size=(p, PROJECT)).astype(np.float32) / np.sqrt(PROJECT)
    xf = x.astype(np.float32)
    y = (xf - xf.mean(axis=0)) @ proj
    sq = (y * y).sum(axis=1)
    for a in range(0, n, 512):
        rows = np.arange(a, min(n, a + 512))
        d2 = sq[rows, None] + sq[None, :] - 2 * (y[rows] @ y.T)
        lag = t[rows, None] - t[None, :]
        d2[(lag < min_lag - 1e-6) | (lag > max_lag + 1e-6)] = np.inf
        k = min(CANDIDATES, n)
        near = np.argpartition(d2, k - 1, axis=1)[:, :k]
        ok = np.isfinite(np.take_along_axis(d2, near, axis=1))
        for c in range(k):
            r, j = rows[ok[:, c]], near[ok[:, c], c]
            if not len(r):
                continue
            d = _peak(x[r], x[j])
            better = d < diff[r]
            diff[r[better]], best[r[better]] = d[better], j[better]
    return best, diff


def clock_ticks(x: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, float]:
    """Each sample's difference (:func:`_peak`) from the sample 1 s before it (nan without one) and
    the recording's *tick*: the ``TICK_QUANTILE`` th percentile of those differences larger than a
    quarter of their median — how far apart the images of two consecutive seconds lie at the least
    (the smallest digit changes); a clock that stands or slips for less than half the recording does
    not move it."""
    step = np.full(len(t), np.nan, np.float32)
    i, j = _pairs(t, 1.0)
    if len(i):
        step[j] = _peak(x[j], x[i])
    ok = step[np.isfinite(step)]
    if len(ok) < 8:
        return step, float("nan")
    ticks = ok[ok > 0.25 * np.median(ok)]  # a clock standing (or two samples of one second) is no tick
    if not len(ticks):  # a region that never changes (a clock standing throughout, a blank band): no tick
        return step, float("nan")
    return step, float(np.percentile(ticks, TICK_QUANTILE))


def _legible_ticks(x: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, float] | None:
    """:func:`clock_ticks` of a clock that gives evidence: at least 8 samples and a tick of at least
    ``MIN_TICK`` (the seconds can be told apart); else None."""
    if len(t) < 8:
        return None
    step, tick = clock_ticks(x, t)
    return (step, tick) if np.isfinite(tick) and tick >= MIN_TICK else None


def _held(x: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each sample's clock difference (:func:`_peak`) from the sample ``STAND_S`` before it (nan
    without one), and those pairs' indices (earlier, later)."""
    i2, j2 = _pairs(t, STAND_S)
    held = np.full(len(t), np.nan, np.float32)
    held[j2] = _peak(x[j2], x[i2])
    return held, i2, j2


def clock_running(t: np.ndarray, x: np.ndarray) -> np.ndarray | None:
    """Per sample, True where the camera's clock shows another time than ``STAND_S`` before it (it
    differs by more than ``MARGIN`` × the recording's tick, :func:`clock_ticks`): the camera was
    live then, whatever the picture did.  None when the clock gives no evidence (fewer than 8
    samples, a tick below ``MIN_TICK``).  A clock played again runs too (its repeat is
    :func:`clock_flags`' ``loop``)."""
    ticks = _legible_ticks(x, t)
    if ticks is None:
        return None
    _, tick = ticks
    held, _, _ = _held(x, t)
    return np.isfinite(held) & (held > MARGIN * tick)


def clock_flags(t: np.ndarray, x: np.ndarray, covered: np.ndarray, p, period: float,
                breaks: np.ndarray | None = None, moving: np.ndarray | None = None) -> list[dict]:
    """The clock's evidence from its images ``x`` (N × P, :class:`ClockReader`) at times ``t``:

    * a sample *repeats* when its clock image differs from that of a sample ``MIN_LAG_S`` to
      ``loop_max_lag_s`` earlier by at most ``MARGIN`` × the recording's tick (:func:`clock_ticks`)
      — far closer than two different seconds ever are; its clock image itself still moves (it
      differs from the sample ``STAND_S`` before it by more than that: a clock that stands is the next
      rule's).  A run of repeating samples (a single sample missed between two at one lag, ± 1.5 s,
      is bridged; the lag may change within a run — a copy of a stretch that itself held a copy
      shows the older clock) of at least ``loop_min_s`` is a ``loop`` — footage played again, or the
      camera's clock set back — serious from ``loop_serious_s``;
    * a sample's clock *stands* when it differs from the sample ``STAND_S`` (2 s) before by at most
      that margin (1 s apart an honest clock can show one second twice when a sample is delayed by a
      skipped frame or two);
      a run of at least ``frozen_min_s`` is a ``frozen`` flag (the time stamps run, the clock does
      not: a still picture fed in, or a stuck feed), serious from ``frozen_serious_s`` — unless the
      picture moves (``moving``, True where the picture changed since the sample before) in at least
      ``MOVING_SHARE`` of the run's samples: then the footage is live and only the camera's overlay
      hung, a warning whatever its length, whose detail says so.

    A recording whose tick is below ``MIN_TICK`` (the clock's seconds cannot be told apart), or whose
    samples repeat in more than ``MAX_REPEAT`` of the recording from its start on (a repeat shows the
    clock of its first ``FROM_START_S`` seconds, as a periodic motion taken for a clock, or a region
    short of the minutes, repeats from one period in), gives none — a clip looped over most of the
    recording after an honest start is flagged.  Covered samples take no part; no run bridges a hole in the time stamps (``breaks``, True
    at the sample after one, as ``flags._holes``).  Each flag's ``detail`` names the times; a loop's names the
    earlier time whose clock it shows."""
    ticks = _legible_ticks(x, t)
    if ticks is None:
        return []
    step, tick = ticks
    limit = MARGIN * tick
    # the clock stands: its image 2 s before within the margin (1 s apart, a sample delayed by a skipped
    # frame or two and its neighbour not can show one second twice on an honest clock)
    held, i2, j2 = _held(x, t)
    stands = ~covered & np.isfinite(held) & (held <= limit)
    stands[j2] &= ~covered[i2]
    best, diff = _closest_earlier(x, t, MIN_LAG_S, p.loop_max_lag_s)
    repeat = ~covered & ~stands & (best >= 0) & (diff <= limit)
    repeat &= ~covered[np.maximum(best, 0)]
    lag = np.where(best >= 0, t - t[np.maximum(best, 0)], np.nan)
    if repeat.mean() > MAX_REPEAT:  # no clock repeats most of the time from its start on: what was taken for one is not
        live = t[~covered]  # the earliest time any repeat shows: the start for a periodic motion, whose every
        #   period repeats the one before; the looped clip's own start for footage played again
        if len(live) and float(np.min((t - lag)[repeat])) <= live[0] + FROM_START_S:
            return []
    out: list[dict] = []
    keep = repeat.copy()  # a single sample missed between two that repeat at one lag counts with them
    keep[1:-1] |= ~covered[1:-1] & repeat[:-2] & repeat[2:] & (np.abs(lag[:-2] - lag[2:]) <= 1.5 + period)
    for a, b in _runs_of(keep, breaks):
        # the lag may change within a run: a copy of a stretch that itself held a copy shows the older clock
        _add_loop(out, t, lag, repeat, diff, limit, a, b, p, period)
    for a, b in _runs_of(stands, breaks):
        s0, s1 = float(t[a] - STAND_S), float(t[b] + period)  # standing since the sample STAND_S before
        if s1 - s0 + 1e-9 < p.frozen_min_s:
            continue
        score = float(np.clip(1 - np.nanmean(held[a:b + 1]) / max(limit, 1e-9), 0, 1))
        if moving is not None and float(np.mean(moving[a:b + 1])) >= MOVING_SHARE:
            # the room moves under a clock that stands: live footage, the camera's overlay hung
            out.append({"start_s": max(0.0, s0), "end_s": s1, "kind": "frozen", "severity": "warning", "score": score,
                        "detail": f"屏显时钟停走而画面在动：录像 {_hms(s0)}–{_hms(s1)} 画面上的时钟不走，画面仍有动静"
                                  f"（摄像机的屏显叠加卡住，画面本身是实时的；请核对摄像机时钟）"
                                  f" / the on-screen clock stands from {_hms(s0)} to {_hms(s1)} (recording time) while "
                                  f"the picture moves: the camera's overlay hung, the footage itself is live (check "
                                  f"the camera's clock)"})
            continue
        out.append({"start_s": max(0.0, s0), "end_s": s1, "kind": "frozen",
                    "severity": "serious" if s1 - s0 + 1e-9 >= p.frozen_serious_s else "warning", "score": score,
                    "detail": f"屏显时钟停走：录像 {_hms(s0)}–{_hms(s1)} 画面上的时钟不走而录像时间在走（静止画面或卡住的信号）"
                              f" / the on-screen clock stands from {_hms(s0)} to {_hms(s1)} (recording time) while "
                              f"the recording's time stamps run (a still picture fed in, or a stuck feed)"})
    return out


def _runs_of(mask: np.ndarray, breaks: np.ndarray | None) -> list[tuple[int, int]]:
    """(first, last) of each run of True in ``mask``, cut before every True of ``breaks``."""
    cut = np.zeros(len(mask), bool) if breaks is None else np.asarray(breaks, bool)
    starts = np.flatnonzero(mask & (~np.r_[False, mask[:-1]] | cut))
    ends = np.flatnonzero(mask & (~np.r_[mask[1:], False] | np.r_[cut[1:], False]))
    return list(zip(starts.tolist(), ends.tolist()))


def merge_clock_flags(flags: list[dict], clock: list[dict]) -> list[dict]:
    """``flags`` (the picture rules') with the clock's (:func:`clock_flags`): a clock ``loop`` names
    the earlier time it shows, so it replaces the other replay rules' ``loop`` flags it overlaps; a
    clock ``frozen`` flag is added where the picture rule found no ``frozen`` (a still picture fed
    with fresh noise, a stuck overlay) and dropped where it did."""
    def overlaps(f: dict, g: dict) -> bool:
        return f["start_s"] < g["end_s"] and g["start_s"] < f["end_s"]

    loops = [c for c in clock if c["kind"] == "loop"]
    kept = [f for f in flags if f["kind"] != "loop" or not any(overlaps(f, c) for c in loops)]
    stands = [c for c in clock if c["kind"] == "frozen"
              and not any(f["kind"] == "frozen" and overlaps(f, c) for f in flags)]
    return kept + loops + stands


def _hms(s: float) -> str:
    s = max(0.0, s)
    return f"{int(s // 3600):d}:{int(s % 3600 // 60):02d}:{s % 60:04.1f}"


def _add_loop(out: list[dict], t, lag, repeat, diff, limit, a: int, b: int, p, period: float) -> None:
    r = np.flatnonzero(repeat[a:b + 1]) + a
    if not len(r):
        return
    a, b = int(r[0]), int(r[-1])  # the ends: samples that repeat by themselves
    start, end = float(t[a]), float(t[b] + period)
    if end - start + 1e-9 < p.loop_min_s:
        return
    lags = lag[r]
    med = float(np.median(lags))
    lo, hi = float(lags.min()), float(lags.max())
    parts_zh, parts_en = ("", "") if hi - lo <= 1.5 else (f"，各段早 {lo:.1f}–{hi:.1f} 秒不等", f"; {lo:.1f}–{hi:.1f} s in parts")
    out.append({"start_s": start, "end_s": end, "kind": "loop",
                "severity": "serious" if end - start + 1e-9 >= p.loop_serious_s else "warning",
                "score": float(np.clip(1 - np.mean(diff[r]) / max(limit, 1e-9), 0, 1)),
                "detail": f"屏显时钟重复：录像 {_hms(start)}–{_hms(end)} 画面上的时钟与录像 {_hms(start - med)}–"
                          f"{_hms(end - med)} 的相同（早 {med:.1f} 秒{parts_zh}）：重放的画面，或摄像机时钟被调回"
                          f" / the on-screen clock repeats: {_hms(start)}–{_hms(end)} (recording time) shows the clock "
                          f"of {_hms(start - med)}–{_hms(end - med)} ({med:.1f} s earlier{parts_en}): footage played again, or "
                          f"the camera's clock set back"})


__all__ = ["ClockReader", "check_region", "clock_flags", "clock_running", "clock_ticks", "find_clock",
           "merge_clock_flags"]
