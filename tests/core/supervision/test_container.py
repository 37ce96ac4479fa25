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
