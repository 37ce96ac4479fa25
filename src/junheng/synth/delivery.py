"""Simulated browser-test sessions as the server sees them: every answer's stamp and arrival, the
pages' heartbeats and each pupil's stops — honest pages that lose their network, and crafted
requests that stamp answers early.  The null model of the backdated-answers rules
(:mod:`junheng.supervision.arrivals`; docs/methods/response-forensics.md, § backdated answers).

An honest page (``delivery.js``), as modelled:

* a pupil gives ``items`` answers at uniform times in the session, none during the room's pause;
  a written answer reaches the queue up to 1 s after its stamp (the text box's debounce); the
  stamp is the page's clock corrected to the server's, off by a constant N(0, ``skew_sd_s``²);
* the queue is first in, first out, sent at once while online and retried every 5 s (the page's
  ``setInterval(flush, 5000)``) while offline; a request takes a log-normal time (median
  ``latency_s``, log-sd 1; one in a hundred takes 5–60 s more: a congested link);
* outages: each pupil's own at ``outage_rate_h`` per hour, the whole room's at
  ``room_outage_rate_h`` per hour; log-normal lengths (median ``outage_median_s``, log-sd
  ``outage_log_sd``);
* heartbeats every ``poll_s`` while online with an empty queue; the server counts one only when it
  arrives within ``prompt_s`` of its stamp (a request held by a failing link is not evidence), and
  records spans as the platform does (``junheng_web.delivery.services.record_contact``), coarsely:
  a heartbeat within ``gap_s`` (2.5 polls) of the newest span's *recorded* end continues that span,
  whose end moves only when older than ``step_share`` × ``gap_s`` (12.5 s at the 10 s poll: a write
  in two polls); else it starts a span.  So a recorded span ends up to a step before the page's last
  heartbeat, and a silence is measured from the recorded end (until 2026-12-07 the simulation kept
  exact span ends, and its catch rates were an upper bound for the platform's coarser record);
* stops: half the sessions have a room pause of 1–5 minutes at a uniform time in the middle half;
  time-up at the end (moved by the pause).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

T0 = dt.datetime(2026, 6, 1, 1, 0, tzinfo=dt.UTC)  # 09:00 in Beijing


@dataclass(frozen=True)
class PageModel:
    minutes: float = 60.0
    items: int = 40
    skew_sd_s: float = 0.3
    latency_s: float = 0.08
    outage_rate_h: float = 1.0
    room_outage_rate_h: float = 0.5
    outage_median_s: float = 60.0
    outage_log_sd: float = 1.2
    poll_s: float = 10.0
    prompt_s: float = 5.0  # the platform's PROMPT_S
    gap_polls: float = 2.5  # a span's gap in poll periods (the platform's contact_gap_s)
    step_share: float = 0.5  # the platform's STEP_SHARE: a recorded end moves when older than this × gap

    @property
    def gap_s(self) -> float:
        return self.gap_polls * self.poll_s


def _latency(rng, n, m: PageModel) -> np.ndarray:
    lat = m.latency_s * np.exp(rng.normal(0, 1, n))
    return lat + np.where(rng.random(n) < 0.01, rng.uniform(5, 60, n), 0.0)


def _outages(rng, end: float, rate_h: float, m: PageModel) -> np.ndarray:
    k = rng.poisson(rate_h * end / 3600)
    start = rng.uniform(0, end, k)
    return np.column_stack([start, start + m.outage_median_s * np.exp(rng.normal(0, m.outage_log_sd, k))])


def _offline_until(t: np.ndarray, outages: np.ndarray) -> np.ndarray:
    """For each time: the end of the (merged) outage it falls in, else itself."""
    out = t.copy()
    for _ in range(len(outages)):  # chained outages: repeat until no time falls in one
        inside = (outages[:, 0][None, :] <= out[:, None]) & (out[:, None] < outages[:, 1][None, :])
        if not inside.any():
            break
        out = np.where(inside.any(axis=1), np.where(inside, outages[:, 1][None, :], -np.inf).max(axis=1), out)
    return out


def _page(rng, m: PageModel, end: float, pause: tuple[float, float] | None, room: np.ndarray):
    """One honest page: (stamps, arrivals, heartbeat arrivals) in seconds from the start."""
    outages = np.vstack([room, _outages(rng, end, m.outage_rate_h, m)]) if len(room) else _outages(rng, end, m.outage_rate_h, m)
    given = np.sort(rng.uniform(0, end, m.items))
    if pause:
        given = given[(given < pause[0]) | (given >= pause[1])]
    stamp = given + rng.normal(0, m.skew_sd_s)
    queued = given + np.where(rng.random(len(given)) < 0.2, rng.uniform(0, 1.0, len(given)), 0.0)
    order = np.argsort(queued, kind="stable")
    stamp, queued = stamp[order], queued[order]
    back = _offline_until(queued, outages)
    send = np.where(back > queued, back + rng.uniform(0, 5, len(queued)), queued)  # the next 5 s retry
    arrival = np.maximum.accumulate(send + _latency(rng, len(send), m))  # first in, first out
    acked = np.maximum.accumulate(arrival + _latency(rng, len(send), m))
    polls = np.arange(rng.uniform(0, m.poll_s), end, m.poll_s)  # a closed page sends none
    busy = np.searchsorted(queued, polls, side="right")  # answers queued before each poll …
    done = np.searchsorted(acked, polls, side="right")  # … and acknowledged by then
    online = _offline_until(polls, outages) == polls
    polls = polls[online & (busy == done)]
    lat = _latency(rng, len(polls), m)
    late = _offline_until(polls + lat, outages) > polls + lat  # the link failed under the request
    beats = (polls + lat)[(lat <= m.prompt_s) & ~late]
    return stamp, arrival, beats


def _spans(beats: np.ndarray, gap: float, step: float) -> list[tuple[float, float]]:
    """The spans the platform records from counted heartbeats arriving at ``beats`` (seconds), as
    ``record_contact`` does: each heartbeat, in order of arrival, continues the newest span if that
    span's recorded end is within ``gap`` before it — moving the end to it only when the end is older
    than ``step`` — and otherwise starts a span.  One page of :func:`_spans_of_pages`."""
    _page_of, first, last = _spans_of_pages([beats], gap, step)
    return list(zip(first, last, strict=True))


def _spans_of_pages(pages: list[np.ndarray], gap: float, step: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_spans` of every page at once, in array operations over all their heartbeats: the
    page of each span, its first and its recorded last heartbeat, pages in order, spans in time.

    A heartbeat changes the record (moves the end, or starts a span) exactly when the recorded end
    ``e`` is older than it by more than ``step`` or ``gap`` — ``e < max(b - step, b - gap)`` — and the
    end then becomes that heartbeat.  So the record's points are a chain: the page's first heartbeat,
    then each time the first later one past that bound (``nxt``); the chain is followed for all pages
    at once by pointer doubling (``log2`` of the longest page steps), and cut into spans where a point
    is not within ``gap`` of the one before (``b - gap <= e`` fails).  The comparisons are the
    recording loop's own expressions, so the floating-point results are the loop's."""
    sizes = np.array([np.size(b) for b in pages], dtype=np.int64)
    n = int(sizes.sum())
    if n == 0:
        return np.empty(0, np.int64), np.empty(0), np.empty(0)
    b = np.concatenate([np.sort(np.asarray(x, dtype=float)) for x in pages])
    page = np.repeat(np.arange(len(pages)), sizes)
    start = np.concatenate([[0], np.cumsum(sizes)[:-1]])[page]  # each heartbeat's page's first index
    end = start + sizes[page]
    bound = np.maximum(b - step, b - gap)  # b[j] changes a record ending at b[i] when bound[j] > b[i]
    nxt = np.full(n + 1, n, dtype=np.int64)  # n: none (the page's chain ends)
    todo, d = np.arange(n), 1
    while todo.size:  # the nearest such j: a few heartbeats ahead, looked for at every distance at once
        j = todo + d
        inside = j < end[todo]
        found = np.zeros(todo.size, dtype=bool)
        found[inside] = bound[j[inside]] > b[todo[inside]]
        nxt[todo[found]] = j[found]
        todo, d = todo[inside & ~found], d + 1
    t = np.arange(n) - start  # the chain's t-th point of each page, for every t below its size
    at = start.copy()
    jump, k = nxt, 0
    while (1 << k) < int(sizes.max()):
        at = np.where(t & (1 << k), jump[at], at)
        jump, k = jump[jump], k + 1
    keep = at < n
    points, of = b[at[keep]], page[keep]
    new = np.ones(points.size, dtype=bool)
    new[1:] = (of[1:] != of[:-1]) | ~(points[1:] - gap <= points[:-1])
    first = np.flatnonzero(new)
    last = np.append(first[1:] - 1, points.size - 1)
    return of[first], points[first], points[last]


def honest_delivery(sessions: int = 100, pupils: int = 40, random_state: int = 0,
                    model: PageModel | None = None) -> dict[str, pl.DataFrame]:
    """``sessions`` simulated sessions of ``pupils`` honest pages: ``arrivals``, ``contacts`` and
    ``stops`` frames for :func:`junheng.supervision.arrivals.late_answers` (person ids
    ``s{session}-p{pupil}``, one lease each)."""
    m = model or PageModel()
    rng = np.random.default_rng(random_state)
    arrivals, stops, beats_of, people = [], [], [], []

    def at(sec):
        return [T0 + dt.timedelta(seconds=float(x)) for x in np.atleast_1d(sec)]

    for s in range(sessions):
        pause = None
        if rng.random() < 0.5:
            p0 = rng.uniform(0.25, 0.75) * m.minutes * 60
            pause = (p0, p0 + rng.uniform(60, 300))
        end = m.minutes * 60 + (pause[1] - pause[0] if pause else 0.0)
        room = _outages(rng, end, m.room_outage_rate_h, m)
        for k in range(pupils):
            pid = f"s{s}-p{k}"
            stamp, arrival, beats = _page(rng, m, end, pause, room)
            arrivals.append(pl.DataFrame({"person_id": pid, "lease": 1, "item_id": [f"I{j + 1}" for j in range(len(stamp))],
                                          "at": at(stamp), "received_at": at(arrival)}))
            beats_of.append(beats)
            people.append(pid)
            stops.append(pl.DataFrame({"person_id": pid, "at": at([end] + ([pause[0]] if pause else [])),
                                       "what": ["time_up"] + (["pause"] if pause else [])}))
    of, first, last = _spans_of_pages(beats_of, m.gap_s, m.step_share * m.gap_s)
    contacts = pl.DataFrame({"person_id": [people[k] for k in of], "lease": 1, "first_at": at(first),
                             "last_at": at(last), "gap_s": m.gap_s}) if of.size else None
    schema_t = pl.Datetime("us", "UTC")
    return {"arrivals": pl.concat(arrivals).with_columns(pl.col("lease").cast(pl.Int64), pl.col("at", "received_at").cast(schema_t)),
            "contacts": contacts.with_columns(pl.col("lease").cast(pl.Int64), pl.col("first_at", "last_at").cast(schema_t))
            if contacts is not None else None,
            "stops": pl.concat(stops).with_columns(pl.col("at").cast(schema_t))}


def backdate(frames: dict[str, pl.DataFrame], *, back_s: float, share: float = 1.0, after_end_s: float | None = None,
             random_state: int = 1) -> tuple[dict[str, pl.DataFrame], list[str]]:
    """``frames`` with one crafted answer added to ``share`` of the pupils: sent at a uniform time of
    the pupil's session and stamped ``back_s`` before it, or sent ``after_end_s`` after its time-up
    and stamped ``back_s`` before the time-up.
    Returns the frames and the pupils who got one."""
    rng = np.random.default_rng(random_state)
    stops = frames["stops"]
    ends = stops.filter(pl.col("what") == "time_up").select("person_id", pl.col("at").alias("end"))
    who = ends.filter(pl.Series(rng.random(ends.height) < share))
    n = who.height
    if after_end_s is None:  # during the session, stamped back_s before it was sent
        sent = [e - dt.timedelta(seconds=float(u) * (e - T0).total_seconds())
                for e, u in zip(who["end"], rng.uniform(0, 1, n), strict=True)]
        stamped = [t - dt.timedelta(seconds=back_s) for t in sent]
    else:  # after time-up, stamped back_s before it
        sent = [e + dt.timedelta(seconds=after_end_s) for e in who["end"]]
        stamped = [e - dt.timedelta(seconds=back_s) for e in who["end"]]
    crafted = pl.DataFrame({"person_id": who["person_id"], "lease": 1, "item_id": "X",
                            "at": stamped, "received_at": sent},
                           schema={"person_id": pl.String, "lease": pl.Int64, "item_id": pl.String,
                                   "at": pl.Datetime("us", "UTC"), "received_at": pl.Datetime("us", "UTC")})
    return {**frames, "arrivals": pl.concat([frames["arrivals"], crafted])}, who["person_id"].to_list()


__all__ = ["PageModel", "backdate", "honest_delivery"]
