"""Rule-based flags on the frame statistics of a recording and on the session's schedule.

Every rule is a threshold on a per-sample statistic (``frames.frame_statistics``) held for a
minimum time; the thresholds are the fields of :class:`FlagParameters` and are explained in
``docs/methods/video-flags.md``.  A flag is a time interval::

    start_s, end_s   seconds (video time for picture flags; from the scheduled start for schedule flags)
    kind             covered | frozen | loop | still | camera_moved | gap | lighting | occluded | late_start
                     | early_end | missing
    severity         serious | warning
    score            0–1, how far past its threshold the evidence is (1 = as strong as it gets)
    detail           what the evidence says, in Chinese and English, where a rule has more to say than
                     its kind (the camera's clock: the earlier time a replay shows), else empty

A flag is a question for a reviewer, never a verdict: only a reviewer's confirmation of a
*serious* flag makes a session invalid (the platform's business, not the core's).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace

import numpy as np
import polars as pl

from junheng.exceptions import ParameterError
from junheng.supervision.frames import chance_share, changed_median, matched_share
from junheng.supervision.osd import STAND_S, clock_flags, clock_running, merge_clock_flags

KINDS = ("covered", "frozen", "loop", "still", "camera_moved", "gap", "lighting", "occluded", "late_start", "early_end",
         "missing")
SEVERITIES = ("serious", "warning")
FLAG_SCHEMA = {"start_s": pl.Float64, "end_s": pl.Float64, "kind": pl.String, "severity": pl.String,
               "score": pl.Float64, "detail": pl.String}


def flag_frame(rows: list[dict]) -> pl.DataFrame:
    """The flags ``rows`` (dicts; keys beyond :data:`FLAG_SCHEMA` dropped) as a frame, ``detail``
    empty where a rule gave none."""
    if not rows:
        return _empty()
    return pl.DataFrame(rows, schema=FLAG_SCHEMA).with_columns(pl.col("detail").fill_null(""))


def check_thresholds(params) -> None:
    """Every field of the threshold dataclass ``params`` must be a finite number ≥ 0."""
    for f in fields(params):
        v = getattr(params, f.name)
        if not (isinstance(v, int | float) and np.isfinite(v) and v >= 0):
            raise ParameterError(f"阈值 {f.name} 须为非负数 / threshold {f.name} must be a non-negative number; "
                                 f"got {v!r}")


@dataclass(frozen=True)
class FlagParameters:
    """Thresholds of the flag rules (grey levels 0–255, shares 0–1, durations in seconds)."""

    dark_brightness: float = 30.0  # covered/dark: mean grey below this …
    flat_contrast: float = 8.0  # … or grey-level SD below this (a lens covered by a hand or paper)
    covered_min_s: float = 5.0
    covered_serious_s: float = 30.0
    frozen_diff: float = 0.5  # frozen: mean |Δgrey| to the previous sample at most this (a live sensor is noisier)
    frozen_min_s: float = 10.0
    frozen_serious_s: float = 30.0
    still_changed: float = 0.002  # no motion: share of changed pixels at most this …
    still_min_s: float = 600.0  # … for 10 minutes (pupils writing a test always move a little)
    moved_changed: float = 0.3  # camera moved: at least this share of pixels change at once …
    moved_thumb_diff: float = 12.0  # … and the 8×8 fingerprint still differs this much …
    moved_persist_s: float = 2.0  # … this long afterwards (a person passing the lens does not)
    moved_align_pct: float = 1.5  # camera moved: the view is this far (% of the width) from the reference frame …
    moved_align_min_s: float = 4.0  # … for at least this long (large moving things can fool the fit briefly)
    loop_thumb_diff: float = 1.0  # loop: the fingerprints match those of an earlier stretch within this …
    loop_min_lag_s: float = 10.0  # … at least this much earlier …
    loop_min_s: float = 10.0  # … for this long, while the picture moves (a replayed recording)
    loop_serious_s: float = 30.0
    loop_ratio: float = 0.6  # loop (fine fingerprints): a sample matches its copy L earlier within this × its own
    loop_min_step: float = 0.3  # … step from the sample before, which must be at least this (RMS grey levels) …
    loop_max_lag_s: float = 3600.0  # … for lags up to this (an hour)
    refilm_corr: float = 0.6  # loop (re-filmed): the registered picture's motion correlates with that L earlier this well …
    refilm_peak: float = 0.7  # … the median over a run of such windows at least this when the view moved onto a screen …
    refilm_alone: float = 0.9  # … else at least this
    refilm_window_s: float = 6.0  # … (windows of at least this, or loop_min_s)
    refilm_motion: float = 2.0  # … over windows of loop_min_s whose motion is at least this × the sensor noise's
    screen_lift: float = 15.0  # loop (a screen filmed): the room at another scale, its dark end lifted by this
    screen_contrast: float = 0.9  # … (grey levels) and its contrast at most this × the reference's, for loop_min_s,
    screen_match: float = 0.8  # … the registered view correlating with the reference at least this well
    sparse_updates: float = 0.5  # footage whose picture repeats in at least this share of samples (a camera
    sparse_factor: float = 3.0  # … that stores a new picture every R s): frozen needs ≥ this × R …
    sparse_serious_factor: float = 6.0  # … and is serious from this × R
    baseline_s: float = 60.0  # lighting/occluded: the room's reference picture = the median of its first minute …
    light_ratio: float = 0.6  # lighting: mean brightness below this × (or above 1 / this ×) the reference …
    light_min_s: float = 5.0  # … for at least this long
    occluded_ratio: float = 0.4  # occluded: blocks of the 8×8 fingerprint darker than this × their reference …
    occluded_share: float = 0.15  # … covering at least this share of the picture (but not all of it: lighting) …
    occluded_min_s: float = 5.0  # … for at least this long
    ts_gap_s: float = 5.0  # gap: the recording's time stamps jump by more than this between two frames …
    ts_gap_serious_s: float = 60.0  # … serious from this
    gap_tolerance_s: float = 60.0  # schedule: late start, early end or a hole longer than this
    gap_serious_s: float = 300.0

    def __post_init__(self) -> None:
        check_thresholds(self)
        for share in ("still_changed", "moved_changed", "sparse_updates", "light_ratio", "occluded_ratio",
                      "occluded_share", "loop_ratio", "refilm_corr", "refilm_peak", "refilm_alone", "screen_contrast",
                      "screen_match"):
            if getattr(self, share) > 1:
                raise ParameterError(f"阈值 {share} 须在 0 与 1 之间 / threshold {share} must be between 0 and 1; "
                                     f"got {getattr(self, share)!r}")

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def _empty() -> pl.DataFrame:
    return pl.DataFrame(schema=FLAG_SCHEMA)


def _runs(mask: np.ndarray, breaks: np.ndarray | None = None) -> list[tuple[int, int]]:
    """(first, last) indices of the runs of True in ``mask``; a run is cut before every index where
    ``breaks`` is True (a sample after a hole in the time stamps starts a new run)."""
    padded = np.concatenate([[False], mask, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    runs = list(zip(edges[::2], edges[1::2] - 1))
    if breaks is None or not breaks.any():
        return runs
    cut = np.flatnonzero(breaks)
    out = []
    for i, j in runs:
        inner = cut[(cut > i) & (cut <= j)].tolist()
        out += list(zip([i, *inner], [*(k - 1 for k in inner), j]))
    return out


def _holes(t: np.ndarray, gap_s: float, period: float) -> np.ndarray:
    """True at each sample that follows a hole in the time stamps longer than ``gap_s`` and two
    periods (the ``gap`` rule's, or a people rule's window): :func:`_runs` cuts a run there."""
    return np.r_[False, np.diff(t) > max(gap_s, 2 * period)]


def _on_grid(t: np.ndarray, holes: np.ndarray, period: float, max_lag_s: float) -> tuple[np.ndarray, np.ndarray]:
    """The samples on a grid without holes, for the rules that count lags and windows in samples
    (replay, re-filmed replay, echo, coarse loop): each hole in the time stamps (``holes``, as
    :func:`_holes`) is filled with round(length ÷ period) − 1 placeholder samples — at most one more
    than the longest lag, beyond which nothing across the hole is compared anyway — so that a lag
    of k samples is k periods on both sides of a hole, and no run or window bridges it.  The
    placeholders in all are bounded by the larger of the samples' count and two such longest holes
    (a crafted file of sample pairs an hour apart asked for 3,600 a pair: gigabytes of fingerprints
    from a few kilobytes): past that budget each later hole gets one placeholder — it still ends
    every run, but a lag across it is counted short (such a recording carries a ``gap`` flag per
    hole anyway).  Returns the index of the real sample each grid position repeats (a placeholder:
    the one before the hole) and whether it is a placeholder."""
    n = len(t)
    extra = np.zeros(n, np.int64)
    if holes.any():
        k = np.flatnonzero(holes)
        cap = int(np.floor(max_lag_s / period + 1e-9)) + 2
        # capped as floats first: a bogus stamp (1e30 s) must not overflow the integer count
        need = np.clip(np.round(np.minimum((t[k] - t[k - 1]) / period, cap + 1.0)) - 1, 1, cap).astype(np.int64)
        spare = max(n, 2 * cap) - len(k)  # beyond one placeholder a hole
        extra[k] = np.where(np.cumsum(need - 1) <= spare, need, 1)
    at = np.repeat(np.arange(n), extra + 1)
    fill = np.ones(len(at), bool)
    fill[np.cumsum(extra + 1) - 1] = False  # the real sample comes after its hole's placeholders
    at = np.where(fill, np.maximum(at - 1, 0), at)
    return at, fill


def _grid_times(t: np.ndarray, at: np.ndarray, fill: np.ndarray, period: float) -> np.ndarray:
    """The time of each grid position of :func:`_on_grid`: a placeholder k periods after the real
    sample before its hole (always before the sample after the hole)."""
    if not fill.any():
        return t
    pos = np.arange(len(at))
    last_real = np.maximum.accumulate(np.where(fill, -1, pos))
    return t[at] + np.where(fill, (pos - last_real) * period, 0.0)


def _period(t: np.ndarray) -> float:
    return float(np.median(np.diff(t))) if len(t) > 1 else 1.0


def _interval_flags(t, mask, *, kind, min_s, serious_s, score, period, from_previous=False,
                    breaks=None) -> list[dict]:
    """Runs of ``mask`` lasting at least ``min_s``.  A run of samples i..j covers
    [t_i, t_j + period); a change statistic (``from_previous``) describes the step from the sample
    before, so its run starts one period earlier.  ``breaks``: see :func:`_runs` (a run never
    bridges a hole in the recording: its length is the time seen)."""
    out = []
    for i, j in _runs(mask, breaks):
        start = t[i] - period if from_previous else t[i]
        end = t[j] + period
        if end - start + 1e-9 < min_s:
            continue
        out.append({"start_s": max(0.0, float(start)), "end_s": float(end), "kind": kind,
                    "severity": "serious" if end - start + 1e-9 >= serious_s else "warning",
                    "score": float(np.clip(np.nanmean(score[i:j + 1]), 0, 1))})
    return out


def _loop_flags(t: np.ndarray, thumb: np.ndarray, changed: np.ndarray, p: FlagParameters,
                period: float) -> list[dict]:
    """Stretches that replay an earlier stretch: for some lag L ≥ ``loop_min_lag_s``, every
    sample's fingerprint is within ``loop_thumb_diff`` of the fingerprint L earlier, for at least
    ``loop_min_s``, while the picture moves (``changed`` > ``still_changed`` at both ends) and moves
    clearly more from sample to sample (median step ≥ 2 × ``loop_thumb_diff``) than it differs from
    its earlier copy.  Candidate lags come from equal coarse fingerprints (grey // 32), found by
    sorting, so the cost grows as n log n, not n²."""
    n = len(t)
    min_lag = max(1, int(np.ceil(p.loop_min_lag_s / period - 1e-9)))
    min_run = max(1, int(np.ceil(p.loop_min_s / period - 1e-9)))
    if n <= min_lag + 1:
        return []
    moving = np.isfinite(changed) & (changed > p.still_changed)
    weights = np.random.default_rng(0).integers(1, 2**62, size=thumb.shape[1], dtype=np.uint64)
    keys = ((thumb // 32).astype(np.uint64) * weights).sum(axis=1)  # (uint64 arithmetic wraps: a hash)
    order = np.argsort(keys, kind="stable")
    same = keys[order[1:]] == keys[order[:-1]]
    cur, prev = order[1:][same], order[:-1][same]
    lags = cur - prev
    ok = (lags >= min_lag) & moving[cur] & moving[prev]
    if not ok.any():
        return []
    values, counts = np.unique(lags[ok], return_counts=True)
    candidates = values[np.argsort(-counts, kind="stable")][:10]
    candidates = [int(v) for v in candidates if counts[values == v][0] >= max(2, min_run // 2)]
    step = np.r_[np.inf, np.abs(np.diff(thumb, axis=0)).mean(axis=1)]
    out: list[dict] = []
    for lag in candidates:
        d = np.full(n, np.inf)
        d[lag:] = np.abs(thumb[lag:] - thumb[:-lag]).mean(axis=1)
        mask = (d <= p.loop_thumb_diff) & moving & np.r_[np.zeros(lag, bool), moving[:-lag]]
        for i, j in _runs(mask):
            if j - i + 1 < min_run or np.median(step[i:j + 1]) < 2 * p.loop_thumb_diff:
                continue
            start, end = float(t[i]), float(t[j] + period)
            if any(start < f["end_s"] and f["start_s"] < end for f in out):
                continue
            out.append({"start_s": start, "end_s": end, "kind": "loop",
                        "severity": "serious" if end - start + 1e-9 >= p.loop_serious_s else "warning",
                        "score": float(np.clip(1 - np.mean(d[i:j + 1]) / max(p.loop_thumb_diff, 1e-9), 0, 1))})
    return out


def _rms(a: np.ndarray) -> np.ndarray:
    return np.sqrt(np.mean(np.square(a, dtype=np.float32), axis=-1, dtype=np.float64))


def _bracket(f: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """RMS of ``f`` minus its best fit on the segment between ``a`` and ``b`` (row-wise): the frame
    between two sampled frames of an earlier stretch, whatever the replay's phase to the samples."""
    d, e = a - b, f - b
    alpha = np.clip((e * d).sum(axis=1) / np.maximum((d * d).sum(axis=1), 1e-6), 0, 1)
    return _rms(e - alpha[:, None] * d)


def _replay_flags(t: np.ndarray, fine: np.ndarray, covered: np.ndarray, p: FlagParameters,
                  period: float) -> list[dict]:
    """Stretches that replay an earlier stretch of the same recording, found on the fine (32×24)
    fingerprints, so a low-motion room counts: for one lag L (``loop_min_lag_s`` ≤ L ≤
    ``loop_max_lag_s``), each sample is closer to the stretch L earlier — the best point between the
    two samples around t − L, since a replay need not keep the sampling's phase — than
    ``loop_ratio`` × its own step from the sample before (RMS over the 768 blocks; the median of
    this ratio over five samples centred on it), that step being
    at least ``loop_min_step`` (the picture changes: a frozen picture is ``frozen``'s), for at least
    ``loop_min_s``.  Two tiers: the same frames (in phase: the median block differs from its copy by
    at most a quarter of the noise, i.e. of the median block's step, and the share of blocks that do
    reaches half-way from its share against unrelated samples,
    :func:`~junheng.supervision.frames.chance_share`, to all), or any phase, where the lag
    must also *not* match in the ``loop_min_s`` just before the run (median ratio > 1.5 ×
    ``loop_ratio``: a replay starts, a periodic motion of the room goes on) and match at least 1.5 ×
    better than at any other lag (:func:`_unique_lag`).  A live room never comes back that close: its sensor noise is new in every frame
    (a motionless room: the copy is as far as the step, ratio ≈ 0.9), and moving pupils do not
    repeat their moves at one fixed lag.  Candidate lags: for every sample, the closest earlier
    sample in a 64-dimensional random projection of the fingerprints (a BLAS product per block of
    rows); the lags (±1 sample) seen most often are checked in full."""
    n = len(t)
    min_lag = max(1, int(np.ceil(p.loop_min_lag_s / period - 1e-9)))
    max_lag = max(min_lag, int(np.floor(p.loop_max_lag_s / period + 1e-9)))
    min_run = max(2, int(np.ceil(p.loop_min_s / period - 1e-9)))
    if n <= min_lag + 2:
        return []
    f = fine.astype(np.float32)
    step = np.r_[np.inf, _rms(f[1:] - f[:-1])]
    live = ~covered & np.r_[False, ~covered[:-1]] & (step >= p.loop_min_step) & np.isfinite(step)
    proj = f @ (np.random.default_rng(0).standard_normal((f.shape[1], 64)).astype(np.float32) / 8.0)
    sq = (proj * proj).sum(axis=1)
    lags: list[np.ndarray] = []
    for i0 in range(min_lag, n, 512):
        rows = np.arange(i0, min(n, i0 + 512))
        lo = max(0, i0 - max_lag)
        d2 = sq[rows, None] + sq[None, lo:rows[-1]] - 2 * proj[rows] @ proj[lo:rows[-1]].T
        lag = rows[:, None] - np.arange(lo, rows[-1])[None, :]
        d2[(lag < min_lag) | (lag > max_lag)] = np.inf
        best = np.argmin(d2, axis=1)
        close = np.sqrt(np.maximum(d2[np.arange(len(rows)), best], 0) / f.shape[1]) <= step[rows]
        keep = close & live[rows]
        lags.append(lag[np.arange(len(rows)), best][keep])
    found = np.concatenate(lags) if lags else np.empty(0, np.int64)
    if found.size == 0:
        return []
    counts = np.bincount(found, minlength=max_lag + 2)
    support = counts + np.r_[0, counts[:-1]] + np.r_[counts[1:], 0]
    support[:min_lag] = 0
    candidates = [int(v) for v in np.argsort(-support, kind="stable")[:10] if support[v] >= max(2, min_run // 2)]
    # the noise: the median step of the blocks that changed (whole grey levels, so ≥ 1 where any did)
    noise = np.r_[np.inf, changed_median(f[1:], f[:-1], f[:-1])]
    chance = chance_share(f, noise, min_lag)
    beyond = chance + 0.5 * (1 - chance)  # a copy in phase: half-way from chance to every block
    out: list[dict] = []
    for lag in candidates:
        i = np.arange(lag + 1, n)
        src = i - lag
        nxt = np.minimum(src + 1, n - 1)
        back = [src, src - 1] + ([nxt] if lag - 1 >= min_lag else [])
        # tier 1, the same frames (in phase): most blocks equal their copy far more closely than noise allows
        # … and clearly more of them than match an unrelated sample of this recording (frames.chance_share)
        same = np.full(n, False)
        same[i] = (np.min([changed_median(f[i], f[j], f[i - 1]) for j in back], axis=0) <= 0.25 * noise[i]) \
            & (np.max([matched_share(f[i], f[j], f[i - 1], noise[i]) for j in back], axis=0) >= beyond[i])
        # tier 2, any phase: close to the segment between two samples of the copy, relative to the step
        raw, ratio = _lag_ratio(f, step, lag, min_lag)
        source_live = np.r_[np.zeros(lag, bool), live[:-lag] | ~covered[:-lag]]
        mask = live & source_live & (same | (ratio <= p.loop_ratio))
        for a, b in _runs(mask):
            ok = same | (raw <= p.loop_ratio)  # the run's ends: samples that match by themselves
            while a < b and not ok[a]:
                a += 1
            while b > a and not ok[b]:
                b -= 1
            if b - a + 1 < min_run:
                continue
            if np.mean(same[a:b + 1]) < 0.5:  # not the same frames: the room must not repeat itself at this lag
                before = np.arange(a - min_run, a)  # … just before (a replay starts; a periodic motion goes on)
                if before[0] - lag - 1 < 0 or not live[before].all() or np.median(raw[before]) <= 1.5 * p.loop_ratio:
                    continue
                if not _unique_lag(f, step, ratio, a, b, lag, min_lag, max_lag):
                    continue  # … nor at several lags (a fan, a swinging lamp)
                if _repeats_elsewhere(f, step, live, covered, lag, a, b, min_run, min_lag, p.loop_ratio):
                    continue  # … nor elsewhere in the recording, at L or L/k (a periodic motion cut up by events)
            start, end = float(t[a]), float(t[b] + period)
            if any(start < o["end_s"] and o["start_s"] < end for o in out):
                continue
            score = float(np.clip(1 - np.mean(np.minimum(ratio[a:b + 1], p.loop_ratio) * ~same[a:b + 1])
                                  / max(p.loop_ratio, 1e-9), 0, 1))
            out.append({"start_s": start, "end_s": end, "kind": "loop",
                        "severity": "serious" if end - start + 1e-9 >= p.loop_serious_s else "warning",
                        "score": score})
    return out


def _echo_flags(t: np.ndarray, fine: np.ndarray, covered: np.ndarray, lag: np.ndarray, ratio: np.ndarray,
                match: np.ndarray | None, p: FlagParameters, period: float) -> list[dict]:
    """Stretches whose every sample is an *echo* of one earlier frame at one lag: the frame itself
    played again, found among all decoded frames (``echo_lag``, ``echo_ratio`` of
    :func:`junheng.supervision.frames.frame_statistics`), so at any phase to the sampling.  A sample
    echoes when it changes (step ≥ ``loop_min_step``, not covered) and its closest earlier frame
    (``loop_min_lag_s`` ≤ lag ≤ ``loop_max_lag_s``) differs from it by at most a quarter of the
    sensor's noise (ratio ≤ 0.25: a live room's noise is new in every frame, ratio ≈ 1) and either
    the share of its changed blocks that match lies at least half-way from this recording's chance
    share to all (``echo_match`` ≥ 0.5) or a sample one or two away echoes at the same lag (within
    10 ms; ``match`` None: neither asked, as before the column); a run of
    such samples at least ``loop_min_s`` long (its lag may change: a copy of a stretch that itself
    held a copy echoes the latest of the equal frames).  A live sample between two samples that
    echo at the same lag (within 10 ms) counts with them: its twin may simply not have been decoded
    — with key frames further apart than the sample period each group of pictures is decoded only
    up to its last sample (``frames.TRUNCATE_GROUPS``), and B-frames are not decoded at all, so a
    sample whose twin lies after the last sample of its group, or is a B-frame, has none to find.
    Of the samples of one group of pictures, whatever the lag, at least one has its twin among the
    decoded frames when the group holds at least two samples (their twins lie a sample period
    apart, and the decoded part of a group is at least its length less a period), so a replay
    echoes at least every other sample (docs/methods/video-flags.md, "Decoding less")."""
    f = fine.astype(np.float32)
    step = np.r_[np.inf, _rms(f[1:] - f[:-1])]
    live = ~covered & np.r_[False, ~covered[:-1]] & np.isfinite(step) & (step >= p.loop_min_step)
    lag = np.where(np.isfinite(lag), lag, -1.0)
    echo = live & np.isfinite(ratio) & (np.nan_to_num(ratio, nan=np.inf) <= 0.25) \
        & (lag >= p.loop_min_lag_s - 1e-6) & (lag <= p.loop_max_lag_s + 1e-6)
    if match is not None:  # … and beyond chance: a still room's rounded blocks match any frame half the time,
        # or at the lag of an echo one or two samples away (a copy re-encoded at high quality matches only
        # ≈ 0.4–0.7 of the way; the closest of thousands of unrelated frames lies at a lag of its own)
        agree = np.zeros_like(echo)
        for d in (1, 2):
            same = echo[d:] & echo[:-d] & (np.abs(lag[d:] - lag[:-d]) <= 0.01)
            agree[d:] |= same
            agree[:-d] |= same
        echo &= (np.nan_to_num(match, nan=-np.inf) >= 0.5) | agree
    bridged = echo.copy()  # a live sample between two echoes at one lag: its twin was not decoded
    bridged[1:-1] |= live[1:-1] & echo[:-2] & echo[2:] & (np.abs(lag[:-2] - lag[2:]) <= 0.01)
    min_run = max(2, int(np.ceil(p.loop_min_s / period - 1e-9)))
    out: list[dict] = []
    for i, j in _runs(bridged):  # the lag may change within a run: a copy of a stretch that held a copy
        if j - i + 1 < min_run:
            continue
        start, end = float(t[i]), float(t[j] + period)
        out.append({"start_s": start, "end_s": end, "kind": "loop",
                    "severity": "serious" if end - start + 1e-9 >= p.loop_serious_s else "warning",
                    "score": float(np.clip(1 - np.mean(ratio[i:j + 1][echo[i:j + 1]]) / 0.25, 0, 1))})
    return out


REG_SHAPE = (24, 32)  # the registered fingerprint (``frames.REG``): rows × columns of block means
SUB = 4  # the re-filmed replay rule looks between samples at quarter steps
SCREEN_ZOOM = 0.05  # a view of the room 5 % smaller or larger than the reference's: a screen showing it
REFILM_BLUR = 1.5  # its blocks are blurred by a Gaussian of this SD (blocks): a replay between two samples still matches


def _blur_matrix(n: int, sd: float) -> np.ndarray:
    x = np.arange(n)
    k = np.exp(-0.5 * ((x[:, None] - x[None, :]) / sd) ** 2)
    return (k / k.sum(axis=1, keepdims=True)).astype(np.float32)


def _motion_series(reg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The registered fingerprints (n, 768) made comparable across a re-filming: each picture's
    blocks minus their median ÷ their interquartile range (brightness and contrast, and roughly
    gamma, drop out), blurred by ``REFILM_BLUR`` blocks; and each sample's noise variance per
    blurred block: the lower quartile of the absolute steps from the sample before over the blocks
    (at least a quarter of them do not move, even when the blur spreads six pupils' sway over half
    the picture) as a normal SD, halved in variance (two pictures' noise), squared."""
    g = reg.astype(np.float32)
    q25, q50, q75 = np.percentile(g, [25, 50, 75], axis=1)
    g = (g - q50[:, None]) / np.maximum(q75 - q25, 1.0)[:, None]
    by, bx = _blur_matrix(REG_SHAPE[0], REFILM_BLUR), _blur_matrix(REG_SHAPE[1], REFILM_BLUR)
    # two matrix products (rows, then columns): the three-operand einsum ran as one unoptimised loop
    # over (n, y, k, x, j), ≈ 1 ms a sample — an hour's recording spent 4 CPU s here
    x = ((by @ g.reshape(len(g), *REG_SHAPE)) @ bx.T).reshape(len(g), -1).astype(np.float64)
    sd = np.quantile(np.abs(np.diff(x, axis=0)), 0.25, axis=1) / 0.3186 / np.sqrt(2)  # |N(0, σ)|: q25 = 0.3186 σ
    sd = np.r_[sd[:1], sd] if len(sd) else np.zeros(len(x))
    return x, sd ** 2


class _Windows:
    """Windows of ``w`` consecutive samples of the motion series ``x`` and of the same series
    between samples (``SUB`` steps per sample: sub-step h = SUB·q + j is the picture
    x[q] + j/SUB · (x[q+1] − x[q]), part of the way to the next sample), each minus its own mean
    picture (what stood still in the window — the room, a screen's moiré, its bezel — drops out).
    ``corr(i, h)``: the correlation of the window ending at sample i with the window ending at
    sub-step h, its pictures ``SUB`` sub-steps apart (the same spacing in time): 1 when the one's
    motion is the other's, ≈ 0 for unrelated motion or noise.  Nothing between samples is stored:
    every sum over such a window is the interpolation of two windows of samples."""

    def __init__(self, x: np.ndarray, w: int) -> None:
        self.x, self.w, n = x, w, len(x)
        self.sx = self._sums(x)  # window sums, the window ending at each sample
        self.mx = self.sx / w
        self.px = self._sums((x * x).sum(axis=1))  # … of the squared norms
        self.qx = self._sums(np.r_[(x[:-1] * x[1:]).sum(axis=1), 0.0])  # … of <x[k], x[k+1]>
        self.mm = np.r_[(self.mx[:-1] * self.mx[1:]).sum(axis=1), 0.0]  # <mx[q], mx[q+1]>
        self.ex = np.maximum(self.px - w * (self.mx * self.mx).sum(axis=1), 0.0)
        self.ex[:w - 1] = 0.0
        self.n = n

    def _sums(self, a: np.ndarray) -> np.ndarray:
        c = np.cumsum(np.concatenate([np.zeros((1, *a.shape[1:])), a]), axis=0)
        out = c[1:].copy()
        out[self.w:] -= c[1:-self.w]
        return out

    def _source(self, h: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For sub-steps h: their sample q, fraction f, and whether a whole window ends there."""
        q, f = h // SUB, (h % SUB) / SUB
        ok = (q >= self.w - 1) & (q < self.n) & ((f == 0) | (q + 1 < self.n))
        return np.clip(q, 0, self.n - 1), f, ok

    def energy(self, h: np.ndarray) -> np.ndarray:
        """The energy (sum of squares about the window's mean picture) of the windows ending at h."""
        q, f, ok = self._source(h)
        q1 = np.minimum(q + 1, self.n - 1)
        g = 1 - f
        sq = g * g * self.px[q] + 2 * f * g * self.qx[q] + f * f * self.px[q1]
        mean2 = g * g * (self.mx[q] ** 2).sum(axis=1) + 2 * f * g * self.mm[q] + f * f * (self.mx[q1] ** 2).sum(axis=1)
        return np.where(ok, np.maximum(sq - self.w * mean2, 0.0), 0.0)

    def _dot(self, i: np.ndarray, j: np.ndarray) -> np.ndarray:
        return sum((self.x[i - k] * self.x[j - k]).sum(axis=1) for k in range(self.w))

    def corr(self, i: np.ndarray, h: np.ndarray) -> np.ndarray:
        q, f, ok = self._source(h)
        ok &= (i >= self.w - 1) & (i < self.n)
        if not ok.any():
            return np.full(len(i), np.nan)
        i = np.where(ok, i, self.w - 1)
        q = np.where(ok, q, self.w - 1)
        q1 = np.minimum(q + 1, self.n - 1)
        dot = (1 - f) * (self._dot(i, q) - self.w * (self.mx[i] * self.mx[q]).sum(axis=1)) \
            + f * (self._dot(i, q1) - self.w * (self.mx[i] * self.mx[q1]).sum(axis=1))
        out = dot / np.sqrt(np.maximum(self.ex[i] * self.energy(np.where(ok, h, SUB * (self.w - 1))), 1e-12))
        return np.where(ok, out, np.nan)

    def best(self, rows: np.ndarray, min_h: int, max_h: int, source_ok: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For each window end in ``rows`` (consecutive), the lag in sub-steps (``min_h`` …
        ``max_h`` back, to a window whose ``source_ok``) of the best correlation, and that
        correlation: two matrix products per block of rows (float32), the window sums by shifted
        slices, each sub-step an interpolation of the sample windows either side."""
        w, x, n = self.w, self.x, self.n
        r0, r1 = int(rows[0]), int(rows[-1]) + 1
        c1 = min(n, (SUB * (r1 - 1) - min_h) // SUB + 2)
        if c1 <= w - 1:
            return np.zeros(len(rows), np.int64), np.full(len(rows), np.nan)
        lo = r0 - w + 1  # (rows before the first sample: zeros; their windows are not used)
        xs = x.astype(np.float32)
        prod = np.zeros((r1 - lo, c1), np.float32)
        prod[max(0, -lo):] = xs[max(0, lo):r1] @ xs[:c1].T
        dot = np.zeros((r1 - r0, c1), np.float32)
        for k in range(w):
            a = r0 - k - lo
            dot[:, k:] += prod[a:a + r1 - r0, :c1 - k]
        dot -= w * (self.mx[r0:r1].astype(np.float32) @ self.mx[:c1].astype(np.float32).T)
        best_c = np.full(r1 - r0, -np.inf)
        best_h = np.zeros(r1 - r0, np.int64)
        cols = np.arange(c1)
        for j in range(SUB):
            f = j / SUB
            h = SUB * cols + j
            d = (1 - f) * dot + f * np.c_[dot[:, 1:], np.zeros((r1 - r0, 1), np.float32)] if j else dot
            c = d / np.sqrt(np.maximum(self.ex[r0:r1, None] * self.energy(h)[None, :], 1e-12))
            lag = SUB * np.arange(r0, r1)[:, None] - h[None, :]
            valid = np.zeros(len(h), bool)
            inside = h < len(source_ok)
            valid[inside] = source_ok[h[inside]]
            c[(lag < min_h) | (lag > max_h) | ~valid[None, :] | ~self._source(h)[2][None, :]] = -np.inf
            k = np.argmax(c, axis=1)
            v = c[np.arange(r1 - r0), k]
            better = v > best_c
            best_c[better], best_h[better] = v[better], h[k[better]]
        return SUB * np.arange(r0, r1) - best_h, np.where(np.isfinite(best_c), best_c, np.nan)


def _refilm_flags(t: np.ndarray, reg: np.ndarray, covered: np.ndarray, zoom: np.ndarray, p: FlagParameters,
                  period: float) -> list[dict]:
    """Stretches that replay an earlier stretch *re-filmed* — a camera pointed at a screen playing
    old footage of the room, or the footage re-encoded, rescaled, its brightness shifted — so that
    neither a frame nor its noise repeats.  The evidence is the *sequence of motion* repeating, not
    the picture (a motionless room looks like itself at every moment): on the registered
    fingerprints (``reg``: each sample warped back to the reference view, ``frames._Aligner``),
    photometrically normalised and blurred (:func:`_motion_series`), windows of
    max(``loop_min_s``, ``refilm_window_s``), each minus its own mean picture, are correlated with
    the earlier windows, also those between samples (:class:`_Windows`).  A window *echoes* at lag L
    (``loop_min_lag_s`` … ``loop_max_lag_s``, in quarter samples) when both it and its source move
    — their energy at least ``refilm_motion`` × that of the sensor's noise, no sample covered — and
    their correlation is at least ``refilm_corr`` (at L or a quarter sample either side).  A run of
    echoing window ends at one lag (gaps of up to half a window closed) is a replay when

    * the median correlation of its echoing windows is at least ``refilm_peak`` when the view
      moved onto a screen as the run began (:func:`_onto_screen`: in most samples of the run's
      first window the room is seen at another scale, in most of the window before it not), else at least
      ``refilm_alone`` (footage re-encoded or re-noised in place: only the motion shows it);
    * it *starts*: none of the ``w`` windows before it echoes, and at least two of them moved and
      had a source at L (the view moving onto a screen as the run began is start enough: a
      replay copying the first seconds of the recording has nothing before it to compare);
    * the room does not do the same elsewhere: outside the run (one window either side) at most one
      moving window echoes at L or at L/2 … L/8 (a fan, a swinging lamp, pupils swaying at their
      own rhythm, a path the picture comes back to).

    The flag covers the run's windows: from the first sample of its first window to its last."""
    n = len(t)
    w = max(2, int(np.ceil(max(p.loop_min_s, p.refilm_window_s) / period - 1e-9)))
    min_h = max(1, int(np.ceil(SUB * p.loop_min_lag_s / period - 1e-9)))
    max_h = max(min_h, int(np.floor(SUB * p.loop_max_lag_s / period + 1e-9)))
    if n < 2 * w + 2 or reg.shape[1] != REG_SHAPE[0] * REG_SHAPE[1] or (n - 1) * period < p.loop_min_lag_s:
        return []
    x, noise = _motion_series(reg)
    win = _Windows(x, w)
    clear = np.convolve(covered.astype(float), np.ones(w))[:n] == 0
    floor = np.convolve(noise, np.ones(w))[:n] * x.shape[1]
    moving = clear & (win.ex >= p.refilm_motion * floor) & (np.arange(n) >= w - 1)
    source_ok = np.zeros((n, SUB), bool)  # a window between samples moves when those at both ends do
    source_ok[:, 0] = moving
    source_ok[:-1, 1:] = (moving[:-1] & moving[1:])[:, None]
    source_ok = source_ok.reshape(-1)
    lags = []
    for r0 in range(0, n, 256):
        rows = np.arange(r0, min(n, r0 + 256))
        lag, value = win.best(rows, min_h, max_h, source_ok)
        keep = moving[rows] & (np.nan_to_num(value, nan=-1.0) >= p.refilm_corr)
        lags.append(lag[keep])
    found = np.concatenate(lags)
    if found.size == 0:
        return []
    counts = np.bincount(found, minlength=max_h + 2)
    support = counts + np.r_[0, counts[:-1]] + np.r_[counts[1:], 0]
    candidates = [int(v) for v in np.argsort(-support, kind="stable")[:30] if support[v] >= 2]
    ends = np.arange(n)

    def match(h_lag: int, at: np.ndarray) -> np.ndarray:  # the best correlation at h_lag ± 1 sub-step
        best = np.full(len(at), -np.inf)
        for d in (-1, 0, 1):
            h = SUB * at - (h_lag + d)
            c = win.corr(at, h)
            src = np.zeros(len(at), bool)
            inside = (h >= 0) & (h < len(source_ok))
            src[inside] = source_ok[h[inside]]
            best = np.maximum(best, np.where(src & np.isfinite(c), c, -np.inf))
        return best

    def echo(h_lag: int) -> np.ndarray:
        return moving & (match(h_lag, ends) >= p.refilm_corr)

    out: list[dict] = []
    for h_lag in candidates:
        mask = echo(h_lag)
        closed = mask.copy()
        for a, b in _runs(~mask):  # a moment of little motion inside a replay does not cut it in two
            if a > 0 and b < n - 1 and b - a + 1 <= w // 2:
                closed[a:b + 1] = True
        for a, b in _runs(closed):
            if np.count_nonzero(mask[a:b + 1]) < 2:
                continue
            c = match(h_lag, ends[a:b + 1])
            peak = float(np.median(c[mask[a:b + 1]]))
            screen = _onto_screen(zoom, a - w + 1, a, w)
            if peak < (p.refilm_peak if screen else p.refilm_alone):
                continue
            before = np.arange(max(0, a - w), a)  # the replay starts: just before, the room moved and did not echo
            seen = before[moving[before] & (SUB * before - h_lag - 1 >= SUB * (w - 1))]  # … with a source at L
            if mask[before].any() or (len(seen) < 2 and not screen):  # (a screen filmed from then on: its start)
                continue
            elsewhere = np.ones(n, bool)
            elsewhere[max(0, a - w):b + w + 1] = False
            harmonics = [int(round(h_lag / k)) for k in range(1, 9) if round(h_lag / k) >= min_h]
            if any(np.count_nonzero((mask if k == h_lag else echo(k)) & elsewhere) >= 2 for k in harmonics):
                continue
            start, end = float(t[a - w + 1]), float(t[b] + period)
            if any(start < o["end_s"] and o["start_s"] < end for o in out):
                continue
            out.append({"start_s": start, "end_s": end, "kind": "loop",
                        "severity": "serious" if end - start + 1e-9 >= p.loop_serious_s else "warning",
                        "score": float(np.clip((peak - p.refilm_peak) / max(1 - p.refilm_peak, 1e-9), 0, 1)),
                        "screen": screen})
    return out


def _tone_fit(reg: np.ndarray, ref: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each registered picture's tones against the reference picture's: (match, contrast, lift) —
    the correlation of their blocks (how well the registration put the room where it was), the
    ratio of their SDs (the contrast, whatever the registration), and the grey levels added at the
    reference's dark end (its 10th percentile block) by the tone map with that contrast that keeps
    the mean: mean(reg) + contrast × (dark − mean(ref)) − dark."""
    g = reg.astype(np.float64)
    x = ref - ref.mean()
    gc = g - g.mean(axis=1, keepdims=True)
    sd_ref = max(float(np.sqrt((x * x).mean())), 1e-9)
    sd = np.sqrt((gc * gc).mean(axis=1))
    match = (gc @ x) / len(x) / np.maximum(sd * sd_ref, 1e-9)
    contrast = sd / sd_ref
    dark = float(np.percentile(ref, 10))
    return match, contrast, g.mean(axis=1) + contrast * (dark - ref.mean()) - dark


def _screen_flags(t: np.ndarray, reg: np.ndarray, covered: np.ndarray, zoom: np.ndarray, p: FlagParameters,
                  period: float, breaks: np.ndarray | None = None) -> list[dict]:
    """A camera filming a *screen* that shows the room, whatever the room does (a motionless room
    too, where no motion is left to match): for at least ``loop_min_s`` the room is seen at another
    scale (``zoom`` off 1 by ≥ ``SCREEN_ZOOM``, as :func:`_onto_screen`) *and* in the tones of a
    picture shown and filmed again — on the registered fingerprints (the view warped back to the
    reference) against the reference picture (the median of the uncovered samples of the first
    ``baseline_s``, :func:`_tone_fit`): the registration good (blocks correlating at least
    ``screen_match``: a failed fit of a moved camera gives a low correlation, and a picture that
    does not match cannot be judged by its tones), the contrast at most ``screen_contrast`` × the
    reference's and the dark end lifted by at least ``screen_lift`` grey levels.  A screen's black is never
    the sensor's black (its backlight leaks, the room reflects on it) and its picture passes a second
    tone curve (the display's, then the camera's): contrast falls and the shadows rise together.  A
    camera moved, turned, zoomed or drifting keeps the room's tones (contrast ≈ 1, lift ≈ 0); dimmed
    lights scale them (contrast < 1) but lift nothing and keep the scale."""
    if reg.shape[1] != REG_SHAPE[0] * REG_SHAPE[1] or not np.isfinite(zoom).any():
        return []
    base = ~covered & (t <= t[0] + p.baseline_s) & np.isfinite(zoom) & (np.abs(zoom - 1) < SCREEN_ZOOM)
    if base.sum() < 3:
        return []
    match, contrast, lift = _tone_fit(reg, np.median(reg[base].astype(np.float64), axis=0))
    screen = ~covered & np.isfinite(zoom) & (np.abs(zoom - 1) >= SCREEN_ZOOM) & (match >= p.screen_match) \
        & (lift >= p.screen_lift) & (contrast <= p.screen_contrast)
    out = _interval_flags(t, screen, kind="loop", min_s=p.loop_min_s, serious_s=p.loop_serious_s,
                          score=np.clip(lift / (2 * max(p.screen_lift, 1e-9)), 0, 1), period=period, breaks=breaks)
    for f in out:
        f["screen"] = True  # a camera_moved within it is that screen (:func:`_screen_moves`)
    return out


def _not_within(found: list[dict], flags: list[dict]) -> list[dict]:
    """The flags of ``found`` that overlap none of ``flags`` (a later replay rule adds only what the
    earlier ones missed)."""
    return [f for f in found if not any(f["start_s"] < o["end_s"] and o["start_s"] < f["end_s"] for o in flags)]


def _onto_screen(zoom: np.ndarray, a: int, b: int, w: int) -> bool:
    """Whether the view shows the room at another scale (``zoom``, the registering homography's:
    off 1 by at least ``SCREEN_ZOOM``) for most of samples a..b (of those registered at all) but
    not for most of the ``w`` samples before a: a camera pointed at a screen showing the room (a
    camera turned or shifted keeps the scale)."""
    off = np.where(np.isfinite(zoom), np.abs(zoom - 1) >= SCREEN_ZOOM, np.nan)
    run, before = off[a:b + 1], off[max(0, a - w):a]
    if not np.isfinite(run).any() or not np.isfinite(before).any():
        return False
    return bool(np.nanmean(run) >= 0.5 and np.nanmean(before) < 0.5)


def _lag_ratio(f: np.ndarray, step: np.ndarray, lag: int, min_lag: int) -> tuple[np.ndarray, np.ndarray]:
    """Each sample's distance to the stretch ``lag`` samples back — the best point between the
    samples L and L + 1 back (and L − 1 and L, when L − 1 ≥ ``min_lag``) — ÷ its own step, raw and
    as the median of five samples centred on it (a moment of little motion does not break a run,
    and the edges of a clean run stay where they are); inf where there is nothing that far back."""
    n = len(f)
    raw = np.full(n, np.inf)
    if lag + 1 >= n:
        return raw, raw.copy()
    i = np.arange(lag + 1, n)
    src = i - lag
    match = _bracket(f[i], f[src], f[src - 1])
    if lag - 1 >= min_lag:  # the copy may lie between L − 1 and L samples back too
        match = np.minimum(match, _bracket(f[i], f[src], f[np.minimum(src + 1, n - 1)]))
    raw[i] = match / np.maximum(step[i], 1e-6)
    smooth = np.median(np.lib.stride_tricks.sliding_window_view(np.r_[np.inf, np.inf, raw, np.inf, np.inf], 5),
                       axis=1)
    return raw, smooth


def _repeats_elsewhere(f: np.ndarray, step: np.ndarray, live: np.ndarray, covered: np.ndarray, lag: int, a: int,
                       b: int, min_run: int, min_lag: int, limit: float, harmonics: int = 4) -> bool:
    """Whether the picture matches the stretch L back — or L/2, L/3, L/4 back (a periodic motion
    matches at every multiple of its period) — outside samples a..b too (``min_run`` samples either
    side left out): at least ``min_run`` / 2 (and 2) samples whose smoothed ratio
    (:func:`_lag_ratio`) is at most ``limit``, where both they and their copy are live.  A replay
    copies one stretch once; a room's own periodic motion (a pendulum, a turning fan, a toy) matches
    at its period wherever the room is seen twice — which an interruption (a hidden lens, the
    lights, a shift) can cut into runs that each look like a replay starting (the stretch before
    is the interruption), at a lag the room is seen at only once, so its period is checked too."""
    for k in range(1, harmonics + 1):
        sub = int(round(lag / k))
        if sub < min_lag:
            break
        ratio = _lag_ratio(f, step, sub, min_lag)[1]
        valid = live & np.r_[np.zeros(sub, bool), live[:-sub] | ~covered[:-sub]]
        valid[max(0, a - min_run):b + min_run + 1] = False
        if int(np.count_nonzero(valid & (ratio <= limit))) >= max(2, min_run // 2):
            return True
    return False


def _unique_lag(f: np.ndarray, step: np.ndarray, ratio: np.ndarray, a: int, b: int, lag: int, min_lag: int,
                max_lag: int) -> bool:
    """Whether samples a..b match the stretch ``lag`` back clearly better than any other earlier
    stretch: the median over the run of the ratio at ``lag`` (``ratio``) is at most 2/3 of that of
    the best other lag (|L′ − lag| > 2; plain RMS distance ÷ step).  A replay copies one stretch;
    a periodic motion of the room (a fan, a swinging lamp) matches at every multiple of its period."""
    rows = np.arange(a, b + 1)
    sq = (f * f).sum(axis=1)
    d = np.sqrt(np.maximum(sq[rows, None] + sq[None, :] - 2 * f[rows] @ f.T, 0) / f.shape[1])
    plain = d / np.maximum(step[rows], 1e-6)[:, None]
    lags = np.array([v for v in range(min_lag, max_lag + 1) if abs(v - lag) > 2 and v <= rows[-1]])
    if lags.size == 0:
        return True
    j = rows[:, None] - lags[None, :]
    other = np.where(j >= 0, plain[np.arange(len(rows))[:, None], np.maximum(j, 0)], np.nan)
    with np.errstate(all="ignore"):
        best_other = np.nanmin(np.nanmedian(other, axis=0))
    return bool(np.median(ratio[rows]) <= best_other * 2 / 3)


def update_interval(t: np.ndarray, repeat: np.ndarray, period: float, p: FlagParameters) -> float | None:
    """The interval R (seconds) at which a sparse camera stores a new picture, or None for ordinary
    footage.  Sparse: at least ``sparse_updates`` of the samples repeat the one before (``repeat``),
    in runs ended by a new picture; R = the median length of those runs plus one period, when it is
    at least two periods (keyframe-only or time-lapse recordings)."""
    if len(t) < 4 or repeat.mean() < p.sparse_updates:
        return None
    runs = [(i, j) for i, j in _runs(repeat) if j + 1 < len(t) and not repeat[j + 1]]
    if len(runs) < 3:
        return None
    r = float(np.median([t[j] - t[i] for i, j in runs])) + 2 * period  # the run, the sample before, the new one
    return r if r >= 2 * period else None


def _light_flags(t, bright, thumb, covered, stats, p: FlagParameters, period: float, breaks=None) -> list[dict]:
    """Lighting change and partial occlusion against the room's reference picture: the median
    fingerprint of the uncovered samples of the first ``baseline_s`` seconds.

    * lighting — the mean brightness leaves [``light_ratio``, 1 / ``light_ratio``] × the reference's
      for ≥ ``light_min_s`` (not covered: a dimmed room still shows the room);
    * occluded — between ``occluded_share`` and 85 % of the fingerprint's blocks are darker than
      ``occluded_ratio`` × their reference for ≥ ``occluded_min_s``, the brightness itself within the
      lighting band, and the view not moved (``align``): a hand or an object over part of the lens."""
    base = ~covered & (t <= t[0] + p.baseline_s)
    if base.sum() < 3:
        return []
    ref = np.median(thumb[base], axis=0)
    ref_bright = float(np.median(bright[base]))
    if ref_bright <= 0:
        return []
    ratio = bright / ref_bright
    off = ~covered & ((ratio < p.light_ratio) | (ratio > 1 / p.light_ratio))
    out = _interval_flags(t, off, kind="lighting", min_s=p.light_min_s, serious_s=np.inf,
                          score=np.clip(np.abs(np.log(np.maximum(ratio, 1e-6))) / np.log(1 / p.light_ratio) - 1, 0, 1),
                          period=period, breaks=breaks)
    dark = (thumb < p.occluded_ratio * np.maximum(ref, 1.0)[None, :]).mean(axis=1)
    moved = np.zeros(len(t), bool)
    if "align" in stats.columns:
        align = stats["align"].fill_null(np.nan).to_numpy()
        moved = np.isfinite(align) & (align >= p.moved_align_pct)
    part = ~covered & ~off & ~moved & (dark >= p.occluded_share) & (dark <= 0.85)
    out += _interval_flags(t, part, kind="occluded", min_s=p.occluded_min_s, serious_s=np.inf, score=dark,
                           period=period, breaks=breaks)
    return out


def _clock_ticks_over(frozen: np.ndarray, running: np.ndarray | None, t: np.ndarray,
                      holes: np.ndarray) -> np.ndarray:
    """``frozen`` without the runs over which the camera's clock runs (``running``,
    :func:`osd.clock_running`) in at least half the samples that lie ``STAND_S`` or more into the
    run (earlier ones compare with a sample from before the run): a picture that repeats while
    the camera's clock ticks is live — a still room whose sensor noise the encoder turned into
    repeated frames (H.264 at CRF 28), not a frozen feed, which stops its clock too.  Those samples
    are the still rule's; a still room played again is the clock's ``loop``."""
    if running is None:
        return frozen
    out = frozen.copy()
    for a, b in _runs(frozen, holes):
        inside = (t[a:b + 1] >= (t[a - 1] if a else t[a]) + STAND_S - 0.3)  # the run's picture began a sample before a
        if inside.any() and float(np.mean(running[a:b + 1][inside])) >= 0.5:
            out[a:b + 1] = False
    return out


def detect_flags(stats: pl.DataFrame, params: FlagParameters | None = None) -> pl.DataFrame:
    """The picture flags of one recording from its statistics frame (``frame_statistics``).

    * covered — brightness < ``dark_brightness`` or contrast < ``flat_contrast`` for ≥ ``covered_min_s``;
    * frozen — not covered, ``diff`` ≤ ``frozen_diff`` for ≥ ``frozen_min_s`` (for sparse footage that
      stores a picture every R s, :func:`update_interval`: ≥ ``sparse_factor`` × R);
    * gap — the time stamps jump by more than ``ts_gap_s`` (and two periods) between samples;
    * lighting, occluded — against the room's reference picture (:func:`_light_flags`);
    * loop — a moving stretch whose fingerprints repeat an earlier stretch (:func:`_loop_flags`);
    * still — neither covered nor frozen, ``changed`` ≤ ``still_changed`` for ≥ ``still_min_s``;
    * camera_moved — ``changed`` ≥ ``moved_changed`` at sample i, and the fingerprint at i+p
      (p = ``moved_persist_s``) still differs by ≥ ``moved_thumb_diff`` grey levels on average
      from both i−1 and i−1−p (none of them covered), consecutive such samples one flag; and, with the
      ``align`` column, every stretch
      of at least ``moved_align_min_s`` in which the view lies ≥ ``moved_align_pct`` % of the width
      from the reference frame (ORB + homography: a shift, a turn, a slow drift), which replaces
      an overlapping fingerprint flag; a fingerprint flag after which the view still aligns with the
      reference (lights changed, a hand over part of the lens) is dropped.

    Severity: covered, frozen and loop are serious from ``covered_serious_s`` / ``frozen_serious_s``
    / ``loop_serious_s`` on, else warnings; still and camera_moved are warnings.  Sorted by start, then kind."""
    p = params or FlagParameters()
    if stats.height == 0:
        return _empty()
    t = stats["t_s"].to_numpy()
    period = _period(t)
    bright = stats["brightness"].to_numpy()
    contrast = stats["contrast"].to_numpy()
    diff = stats["diff"].fill_null(np.inf).to_numpy()
    changed = stats["changed"].fill_null(np.inf).to_numpy()
    thumb = stats["thumb"].to_numpy().astype(np.float32).reshape(stats.height, -1)

    covered = (bright < p.dark_brightness) | (contrast < p.flat_contrast)
    cover_score = np.maximum(1 - bright / max(p.dark_brightness, 1e-9), 1 - contrast / max(p.flat_contrast, 1e-9))
    frozen = ~covered & (diff <= p.frozen_diff)
    refresh = update_interval(t, frozen, period, p)
    frozen_min, frozen_serious = p.frozen_min_s, p.frozen_serious_s
    if refresh is not None:  # a camera storing a picture every R s: a repeat shorter than a few R is normal
        frozen_min = max(frozen_min, p.sparse_factor * refresh)
        frozen_serious = max(frozen_serious, p.sparse_serious_factor * refresh)
    frozen_score = 1 - diff / max(p.frozen_diff, 1e-9) if p.frozen_diff > 0 else np.ones_like(diff)
    holes = _holes(t, p.ts_gap_s, period)
    osd = None
    if "osd" in stats.columns and stats["osd"].null_count() < stats.height:  # the camera's clock (supervision.osd)
        osd = stats["osd"].to_numpy().reshape(stats.height, -1)  # every sample's, or none (frames.frame_statistics)
        frozen = _clock_ticks_over(frozen, clock_running(t, osd), t, holes)
    # a frozen run needs its first frame (the sample before) uncovered too: a picture that stops
    # changing at the moment the lens is uncovered is the lens, not the feed
    still = ~covered & ~frozen & (changed <= p.still_changed)
    still_score = 1 - changed / p.still_changed if p.still_changed > 0 else np.ones_like(changed)

    flags = _interval_flags(t, covered, kind="covered", min_s=p.covered_min_s, serious_s=p.covered_serious_s,
                            score=cover_score, period=period, breaks=holes)
    flags += _interval_flags(t, frozen, kind="frozen", min_s=frozen_min, serious_s=frozen_serious,
                             score=frozen_score, period=period, from_previous=True, breaks=holes)
    for k in np.flatnonzero(np.diff(t) > max(p.ts_gap_s, 2 * period)):  # nothing recorded in between
        length = float(t[k + 1] - t[k] - period)
        flags.append({"start_s": float(t[k] + period), "end_s": float(t[k + 1]), "kind": "gap",
                      "severity": "serious" if length >= p.ts_gap_serious_s else "warning",
                      "score": float(min(1.0, length / max(p.ts_gap_serious_s, 1e-9)))})
    flags += _interval_flags(t, still, kind="still", min_s=p.still_min_s, serious_s=np.inf,
                             score=still_score, period=period, from_previous=True, breaks=holes)

    # the replay rules count lags and windows in samples: on a grid without holes (:func:`_on_grid`)
    at, fill = _on_grid(t, holes, period, p.loop_max_lag_s)
    hidden = covered[at] | fill  # nothing recorded: no sample's motion, nobody's copy, and a run ends there
    if "fine" in stats.columns:  # the fine fingerprints: low-motion rooms too
        tg = _grid_times(t, at, fill, period)
        fine = stats["fine"].to_numpy().reshape(stats.height, -1)[at]
        loops = []
        if "echo_lag" in stats.columns:  # every decoded frame's fingerprint: a replay at any phase
            def echo_column(name: str) -> np.ndarray:
                return np.where(fill, np.nan, stats[name].fill_null(np.nan).to_numpy()[at])

            loops = _echo_flags(tg, fine, hidden, echo_column("echo_lag"), echo_column("echo_ratio"),
                                echo_column("echo_match") if "echo_match" in stats.columns else None, p, period)
        loops += _not_within(_replay_flags(tg, fine, hidden, p, period), loops)
        if "reg" in stats.columns:  # the registered fingerprints: a replay filmed off a screen, re-encoded
            reg = stats["reg"].to_numpy().reshape(stats.height, -1)
            zoom = stats["zoom"].fill_null(np.nan).to_numpy() if "zoom" in stats.columns else np.full(len(t), np.nan)
            loops += _not_within(_refilm_flags(tg, reg[at], hidden, np.where(fill, np.nan, zoom[at]), p, period), loops)
            loops += _not_within(_screen_flags(t, reg, covered, zoom, p, period, holes), loops)
        flags += loops
    else:
        flags += _loop_flags(_grid_times(t, at, fill, period), thumb[at], np.where(fill, 0.0, changed[at]), p, period)
    if osd is not None:
        # a camera storing a picture every R s shows its clock standing for R s: frozen's sparse thresholds
        stand = replace(p, frozen_min_s=frozen_min, frozen_serious_s=frozen_serious)
        moving = np.isfinite(changed) & (changed > p.still_changed)  # a clock standing over a live picture: the overlay
        flags = merge_clock_flags(flags, clock_flags(t, osd, covered, stand, period, holes, moving))

    lag = max(1, int(round(p.moved_persist_s / period)))
    n = stats.height
    i = np.arange(1, max(1, n - lag))
    if len(i):
        # the view after must differ from the view before, both just before the change and
        # ``lag`` earlier: a transient (a person at the lens, a view that snaps back) is not a move
        earlier = np.maximum(i - 1 - lag, 0)
        persist = np.minimum(np.abs(thumb[i + lag] - thumb[i - 1]).mean(axis=1),
                             np.abs(thumb[i + lag] - thumb[earlier]).mean(axis=1))
        moved = (changed[i] >= p.moved_changed) & (persist >= p.moved_thumb_diff) \
            & ~covered[i - 1] & ~covered[i] & ~covered[i + lag] & ~covered[earlier]
        for a, b in _runs(moved):  # consecutive steps (a turn over several samples): one flag
            ka, kb = i[a], i[b]
            flags.append({"start_s": float(t[ka - 1]), "end_s": float(t[kb]), "kind": "camera_moved",
                          "severity": "warning", "score": float(min(1.0, changed[ka:kb + 1].max()))})
    flags += _light_flags(t, bright, thumb, covered, stats, p, period, holes)
    if "align" in stats.columns:  # alignment to the reference frame: shifted, turned, drifting
        align = stats["align"].fill_null(np.nan).to_numpy()
        far = np.isfinite(align) & (align >= p.moved_align_pct) & ~covered
        aligned = _interval_flags(t, far, kind="camera_moved", min_s=max(p.moved_persist_s, p.moved_align_min_s),
                                  serious_s=np.inf,
                                  score=np.minimum(1.0, align / (4 * max(p.moved_align_pct, 1e-9))), period=period,
                                  breaks=holes)
        lag_s = max(period, p.moved_persist_s)

        def settled(f):  # the view a moment after the change still matches the reference: lights, not a move
            k = int(np.searchsorted(t, f["end_s"] + lag_s - 1e-9))
            return k < len(t) and np.isfinite(align[k]) and align[k] < p.moved_align_pct

        flags = [f for f in flags if f["kind"] != "camera_moved"
                 or not (settled(f) or any(f["start_s"] < a["end_s"] and a["start_s"] < f["end_s"] + period
                                           for a in aligned))]
        flags += aligned
    flags = _screen_moves(flags, max(p.loop_min_s, p.refilm_window_s), p)
    return flag_frame(flags).sort("start_s", "kind")


def _screen_moves(flags: list[dict], slack: float, p: FlagParameters) -> list[dict]:
    """A camera filming a screen that replays the room sees the room smaller or shifted: a moved
    view (``camera_moved``) that lies within a re-filmed replay (``_refilm_flags``, ± ``slack``
    seconds: one window) is that screen, not a second event; it is dropped and the replay's
    interval becomes the union of the two (the view changes the moment the screen is filmed, so its
    edges are the sharper ones)."""
    screens = [f for f in flags if f.get("screen")]
    out = []
    for f in flags:
        f.pop("screen", None)
        if f["kind"] == "camera_moved":
            inside = [s for s in screens if s["start_s"] - slack <= f["start_s"] and f["end_s"] <= s["end_s"] + slack]
            if inside:
                s = inside[0]
                s["start_s"], s["end_s"] = min(s["start_s"], f["start_s"]), max(s["end_s"], f["end_s"])
                s["severity"] = "serious" if s["end_s"] - s["start_s"] + 1e-9 >= p.loop_serious_s else "warning"
                continue
        out.append(f)
    return out


def schedule_flags(recorded: list[tuple[float, float]], scheduled_s: float,
                   params: FlagParameters | None = None) -> pl.DataFrame:
    """Gaps between the recordings of a session and its schedule.

    ``recorded``: the (start, end) of each recording in seconds from the scheduled start;
    ``scheduled_s``: the scheduled length of the session.  Flags (seconds from the scheduled
    start): late_start [0, first start), early_end [last end, scheduled_s), missing (a hole between
    recordings inside the schedule), each when longer than ``gap_tolerance_s``; serious from
    ``gap_serious_s`` on.  With no recording at all, the whole session is missing."""
    p = params or FlagParameters()
    if not scheduled_s > 0:
        raise ParameterError(f"场次时长须大于 0 / the session's length must be > 0; got {scheduled_s}")
    spans = sorted((max(0.0, a), min(scheduled_s, b)) for a, b in recorded if b > a)
    spans = [(a, b) for a, b in spans if b > a]
    holes: list[tuple[float, float, str]] = []
    if not spans:
        holes.append((0.0, scheduled_s, "missing"))
    else:
        holes.append((0.0, spans[0][0], "late_start"))
        reach = spans[0][1]
        for a, b in spans[1:]:
            if a > reach:
                holes.append((reach, a, "missing"))
            reach = max(reach, b)
        holes.append((reach, scheduled_s, "early_end"))
    rows = [{"start_s": a, "end_s": b, "kind": k, "severity": "serious" if b - a >= p.gap_serious_s else "warning",
             "score": float(min(1.0, (b - a) / p.gap_serious_s)) if p.gap_serious_s > 0 else 1.0}
            for a, b, k in holes if b - a > p.gap_tolerance_s]
    return flag_frame(rows)


__all__ = ["FLAG_SCHEMA", "KINDS", "SEVERITIES", "FlagParameters", "detect_flags", "schedule_flags"]
