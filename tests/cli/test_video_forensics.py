"""``junheng video forensics``: files in (answers, key, IRT items, seating plan, browser events),
flags out — planted copiers and a rapid guesser found in a simulated room; a missing column exits 2."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import polars as pl
from click.testing import CliRunner

from junheng.io import write_table
from junheng_cli.main import cli

SIM = Path(__file__).resolve().parents[1] / "core" / "supervision" / "test_forensics.py"


def _sim():
    spec = importlib.util.spec_from_file_location("forensics_sim", SIM)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def test_forensics_from_files(tmp_path):
    sim = _sim()
    rng = np.random.default_rng(3)
    items, key, g = sim._bank(rng)
    persons, theta, raw, seating = sim._honest(rng, 4, items, key, g)
    raw[9] = raw[10]  # pupil 9 copies every answer of the neighbour on the right
    ev, starts = sim._events(rng, persons, raw, rng.normal(0, 0.3, len(persons)))
    at = ev["at"].to_numpy().reshape(len(persons), 40).copy()
    at[30] = np.cumsum(rng.uniform(1, 3, 40))  # pupil 30 answers everything in 1–3 s
    ev = ev.with_columns(pl.Series("at", at.ravel()))
    files = {"raw.csv": sim._long(persons, raw), "key.csv": sim._keyframe(key), "items.csv": items,
             "plan.csv": seating.rename({"person_id": "student_id"}), "events.csv": ev, "starts.csv": starts}
    for name, frame in files.items():
        write_table(frame, tmp_path / name)
    r = run("video", "forensics", "--responses", tmp_path / "raw.csv", "--key", tmp_path / "key.csv",
            "--items", tmp_path / "items.csv", "--seating", tmp_path / "plan.csv", "--events", tmp_path / "events.csv",
            "--starts", tmp_path / "starts.csv", "-o", tmp_path / "flags.csv")
    assert r.exit_code == 0, r.output
    flags = pl.read_csv(tmp_path / "flags.csv", infer_schema=False)
    copying = flags.filter(pl.col("kind") == "copying")
    assert (persons[9], persons[10]) in set(zip(copying["person_id"], copying["other_id"]))
    assert flags.filter(pl.col("kind") == "rapid")["person_id"].to_list() == [persons[30]]
    # a level stricter than the serious one (10⁻⁶): the serious level follows it down, not an error
    r = run("video", "forensics", "--responses", tmp_path / "raw.csv", "--key", tmp_path / "key.csv",
            "--items", tmp_path / "items.csv", "--seating", tmp_path / "plan.csv", "--alpha", "1e-8",
            "-o", tmp_path / "strict.csv")
    assert r.exit_code == 0, r.output
    strict = pl.read_csv(tmp_path / "strict.csv", infer_schema=False)
    assert set(strict["severity"]) <= {"serious"} and (strict["p_value"].cast(pl.Float64) < 1e-8).all()
    write_table(files["key.csv"].drop("key"), tmp_path / "bad.csv")
    r = run("video", "forensics", "--responses", tmp_path / "raw.csv", "--key", tmp_path / "bad.csv",
            "--items", tmp_path / "items.csv", "--seating", tmp_path / "plan.csv", "-o", tmp_path / "f2.csv")
    assert r.exit_code == 2 and "key" in r.output and not (tmp_path / "f2.csv").exists()


def test_bad_cells_are_reported_by_file_row_column_and_value(tmp_path):
    """The inputs are read through junheng.io: a number or a time that does not parse is not
    silently dropped (it was a null before) — every such cell is named, exit 2, nothing written."""
    sim = _sim()
    rng = np.random.default_rng(5)
    items, key, g = sim._bank(rng)
    persons, theta, raw, seating = sim._honest(rng, 1, items, key, g)
    ev, starts = sim._events(rng, persons, raw, rng.normal(0, 0.3, len(persons)))
    t0 = pl.datetime(2026, 6, 1, 9)
    # times as date-times, the way a site's export writes them; one cell typed by hand
    ev = ev.with_columns((t0 + pl.duration(milliseconds=(pl.col("at") * 1000).cast(pl.Int64)))
                         .dt.strftime("%Y-%m-%d %H:%M:%S%.3f").alias("at"))
    ev = ev.with_columns(pl.when(pl.int_range(pl.len()) == 6).then(pl.lit("九点半")).otherwise(pl.col("at")).alias("at"))
    items = items.with_columns(pl.col("a").cast(pl.String))
    items = items.with_columns(pl.when(pl.int_range(pl.len()).is_in([2, 5])).then(pl.lit("1,5x"))
                               .otherwise(pl.col("a")).alias("a"))
    files = {"raw.csv": sim._long(persons, raw), "key.csv": sim._keyframe(key), "items.csv": items,
             "plan.csv": seating, "events.csv": ev}
    for name, frame in files.items():
        write_table(frame, tmp_path / name)
    r = run("video", "forensics", "--responses", tmp_path / "raw.csv", "--key", tmp_path / "key.csv",
            "--items", tmp_path / "items.csv", "--seating", tmp_path / "plan.csv", "-o", tmp_path / "f.csv")
    assert r.exit_code == 2 and not (tmp_path / "f.csv").exists()
    assert "items.csv" in r.output and "第4行" in r.output and "第7行" in r.output and "1,5x" in r.output
    assert "must be a number" in r.output
    r = run("video", "forensics", "--events", tmp_path / "events.csv", "-o", tmp_path / "f.csv")
    assert r.exit_code == 2 and "events.csv" in r.output and "第8行" in r.output and "九点半" in r.output
    # the same file without the bad cell reads its date-times and finds the timing statistics' inputs
    write_table(ev.filter(pl.int_range(pl.len()) != 6), tmp_path / "events.csv")
    r = run("video", "forensics", "--events", tmp_path / "events.csv", "-o", tmp_path / "f.csv")
    assert r.exit_code == 0, r.output
    r = run("video", "forensics", "--seating", tmp_path / "raw.csv", "-o", tmp_path / "f.csv")
    assert r.exit_code == 2 and "room" in r.output
