"""summarize_parquet makes jemalloc Arrow's default memory pool while it streams (process-wide state):
it is in force during the run, and the previous default comes back after a run that succeeds, that
refuses the file, that fails midway, and after runs that overlap in two threads."""

from __future__ import annotations

import threading

import polars as pl
import pyarrow as pa
import pytest

from junheng.exceptions import InputError
from junheng.fitness import stream
from junheng.synth.fitness import fitness_results

try:
    pa.jemalloc_memory_pool()
    JEMALLOC = True
except NotImplementedError:
    JEMALLOC = False

pytestmark = pytest.mark.skipif(not JEMALLOC or pa.default_memory_pool().backend_name == "jemalloc",
                                reason="needs a pyarrow with jemalloc and another default pool")


def _file(tmp_path, bad_grade=False, name="f.parquet"):
    frame = fitness_results(pl.DataFrame({"student_id": ["1", "2"], "grade": [1, 2], "sex": [1, 2]}), 1)
    if bad_grade:  # a grade that is no grade code
        frame = frame.with_columns(grade=pl.Series([1, 99]).cast(frame["grade"].dtype))
    path = tmp_path / name
    frame.drop("student_id").write_parquet(path)
    return path


def _watch(monkeypatch, also=None):
    """Record the default pool's backend each time a task sums its batches (``also`` runs then)."""
    seen, original = [], stream.sum_batches

    def watched(*args, **kwargs):
        seen.append(pa.default_memory_pool().backend_name)
        if also:
            also()
        return original(*args, **kwargs)

    monkeypatch.setattr(stream, "sum_batches", watched)
    return seen


def test_jemalloc_is_the_default_pool_while_the_file_streams_and_not_after(tmp_path, monkeypatch):
    before = pa.default_memory_pool().backend_name
    seen = _watch(monkeypatch)
    stream.summarize_parquet(_file(tmp_path), ["grade"])
    assert seen and set(seen) == {"jemalloc"}
    assert pa.default_memory_pool().backend_name == before


def test_the_default_pool_comes_back_after_a_refused_file_and_after_a_failure_midway(tmp_path, monkeypatch):
    before = pa.default_memory_pool().backend_name
    with pytest.raises(InputError):  # a grade that is no grade code: refused after the pool closed
        stream.summarize_parquet(_file(tmp_path, bad_grade=True), ["grade"])
    assert pa.default_memory_pool().backend_name == before

    def fail():
        raise RuntimeError("a fault in a worker thread")

    _watch(monkeypatch, also=fail)
    with pytest.raises(RuntimeError, match="worker thread"):
        stream.summarize_parquet(_file(tmp_path, name="g.parquet"), ["grade"])
    assert pa.default_memory_pool().backend_name == before


def test_overlapping_runs_in_two_threads_share_one_swap(tmp_path, monkeypatch):
    """The first run to finish must not restore the default under the other, still streaming."""
    before = pa.default_memory_pool().backend_name
    first_in, second_done = threading.Event(), threading.Event()
    waiting = threading.local()

    def hold_the_first():  # the first run's task waits (once) until the second run has finished
        if not getattr(waiting, "done", False) and not first_in.is_set():
            waiting.done = True
            first_in.set()
            assert second_done.wait(30)

    seen = _watch(monkeypatch, also=hold_the_first)
    path = _file(tmp_path)
    errors = []

    def first():
        try:
            stream.summarize_parquet(path, ["grade"], threads=1)
        except Exception as exc:  # noqa: BLE001 (reported by the assertion below)
            errors.append(exc)

    thread = threading.Thread(target=first)
    thread.start()
    assert first_in.wait(30)
    stream.summarize_parquet(path, ["grade"], threads=1)
    assert pa.default_memory_pool().backend_name == "jemalloc"  # the first run still streams
    second_done.set()
    thread.join(30)
    assert errors == [] and set(seen) == {"jemalloc"}
    assert pa.default_memory_pool().backend_name == before
