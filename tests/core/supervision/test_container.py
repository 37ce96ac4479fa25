"""``junheng.supervision.declared_start``: the container's ``creation_time`` as ffprobe prints it.
The tag is whatever the file says (a crafted or broken file): a time whose UTC value falls outside
the datetime range is no start — never an OverflowError out of an upload."""

from __future__ import annotations

import datetime as dt
import json
import subprocess

import pytest

from junheng.supervision import container


def _probe(monkeypatch, *times: str) -> None:
    out = json.dumps({"format": {"tags": {"creation_time": times[0]}},
                      "streams": [{"tags": {"creation_time": t}} for t in times[1:]]})
    monkeypatch.setattr(container.shutil, "which", lambda _name: "/usr/bin/ffprobe")
    monkeypatch.setattr(container.subprocess, "run",
                        lambda *a, **k: subprocess.CompletedProcess(a, 0, stdout=out, stderr=""))


@pytest.mark.parametrize("raw", ["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00"])
def test_a_creation_time_beyond_the_datetime_range_is_no_start(monkeypatch, raw):
    _probe(monkeypatch, raw)
    assert container.declared_start("x.mkv") is None


def test_the_next_tag_is_read_after_one_that_does_not_convert(monkeypatch):
    _probe(monkeypatch, "0001-01-01T00:00:00+05:00", "2026-05-12T01:00:70Z", "2026-05-12T09:01:10+08:00")
    assert container.declared_start("x.mkv") == dt.datetime(2026, 5, 12, 1, 1, 10, tzinfo=dt.UTC)


S = dt.datetime(2026, 5, 12, 1, 0, tzinfo=dt.UTC)  # a session scheduled 01:00–02:00 UTC
E = S + dt.timedelta(hours=1)


def _at(minutes: float) -> dt.datetime:
    return S + dt.timedelta(minutes=minutes)


@pytest.mark.parametrize(("declared", "minutes", "start", "reading"), [
    # a camera that writes its start: started 5 min late, ran 55 min — [01:05, 02:00] overlaps 55 min;
    # read as a stop it would be [00:10, 01:05], 5 min: the start reading
    (5, 55, 5, "start"),
    # a camera that writes its stop: started 5 min late, stopped at 02:00 — read as a start it is
    # [02:00, 02:55] (its start at the scheduled end passed the old check) overlapping nothing; as
    # a stop [01:05, 02:00], 55 min: the stop reading, so the late start is seen
    (60, 55, 5, "stop"),
    # stopped at 01:50 after 60 min: as a start [01:50, 02:50] 10 min, as a stop [00:50, 01:50] 50 min
    (50, 60, -10, "stop"),
    # a 10-minute recording inside the session reads both ways equally (10 min): the convention
    (20, 10, 20, "start"),
    # as a start too late (after the scheduled end), as a stop too early (more than an hour before)
    (61, 200, None, "none"),
    # far from the session either way (a camera on another time zone): neither
    (480, 55, None, "none"),
    # the edges of the plausible starts (container.EARLY, an hour before the scheduled start, up to
    # the scheduled end): a start exactly an hour early is still one (it overlaps nothing, and its
    # stop reading, 01:55 before, is not plausible); a minute earlier is none
    (-60, 55, -60, "start"),
    (-61, 55, None, "none"),
])
def test_the_creation_time_is_read_as_a_start_or_a_stop_by_the_schedule(declared, minutes, start, reading):
    got = container.clock_start(_at(declared), minutes * 60.0, S, E)
    assert got == ((_at(start) if start is not None else None), reading)


def test_without_a_duration_or_a_tag_only_the_start_reading_is_judged():
    assert container.clock_start(_at(60), None, S, E) == (_at(60), "start")  # as before: its start ≤ the end
    assert container.clock_start(_at(61), None, S, E) == (None, "none")
    assert container.clock_start(None, 300.0, S, E) == (None, "none")


def test_the_duration_comes_from_the_same_probe(monkeypatch):
    out = json.dumps({"format": {"duration": "3300.040000", "tags": {"creation_time": "2026-05-12T02:00:00Z"}}})
    monkeypatch.setattr(container.shutil, "which", lambda _name: "/usr/bin/ffprobe")
    monkeypatch.setattr(container.subprocess, "run",
                        lambda *a, **k: subprocess.CompletedProcess(a, 0, stdout=out, stderr=""))
    assert container.declared_times("x.mp4") == (dt.datetime(2026, 5, 12, 2, 0, tzinfo=dt.UTC), 3300.04)
